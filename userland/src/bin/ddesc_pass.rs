//! Descriptor passing with DOOR_DESCRIPTOR between three processes, under
//! QEMU:
//! - A creates door DA and a registry door DR, spawns B and C with DR.
//! - B registers its doors with A by passing them (client -> server, with
//!   DOOR_RELEASE: B keeps no descriptor for them) in one call on DR.
//! - A passes DA to B in the arguments of a call on B's door DB (A -> B);
//!   B calls DA with it at once.
//! - C gets DB from A in the results of a call on DR (A -> C), then DA from
//!   B in the results of a call on DB with DOOR_RELEASE (B -> C, B's copy is
//!   closed), calls DA (A serves it, seeing C as the caller) and passes it
//!   back to A (C -> A, released: C's copy is closed; A sees DOOR_LOCAL).
//!
//! Every received descriptor is checked: DOOR_DESCRIPTOR set, d_id equal to
//! door_info's di_uniquifier and to the door's known uniquifier, di_target
//! the serving process.
//!
//! Then A checks the failures of door_call with descriptors, against B's
//! doors: EINVAL (entry without DOOR_DESCRIPTOR, stale or negative
//! descriptor), ENOTSUP (DOOR_REFUSE_DESC door), ENFILE (above
//! DOOR_PARAM_DESC_MAX), ENOBUFS (below DOOR_PARAM_DATA_MIN); a
//! DOOR_RELEASE descriptor is closed after a successful pass and after
//! these failures, but not after EFAULT or EBADF.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use userland::Errno;
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_LOCAL, DOOR_PARAM_DATA_MIN, DOOR_PARAM_DESC_MAX, DOOR_REFUSE_DESC,
    DOOR_RELEASE, close, door_arg_t, door_call, door_create, door_desc_t, door_getparam,
    door_revoke, door_setparam, door_ucred, dup, errno, ucred_t,
};
use userland::testkit::{self, *};
use userland::{arg, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_pass";
const KERNEL_ADDR: u64 = 0xffff_8000_0000_0000;

/// Checks a received descriptor entry; returns its descriptor. A problem is
/// described in the returned error (servers send it back to their client).
fn check_received(desc: &door_desc_t, want_uniq: u64, want_target: i32) -> Result<i32, String> {
    let (attrs, fd, id) = (desc.d_attributes, desc.d_descriptor, desc.d_id);
    if attrs & DOOR_DESCRIPTOR == 0 || attrs & DOOR_RELEASE != 0 {
        return Err(format!("received d_attributes {attrs:#x}"));
    }
    let Some(i) = info(fd).ok() else {
        return Err(format!(
            "received descriptor {fd}: door_info {}",
            errno().name()
        ));
    };
    let (u, target) = (i.di_uniquifier, i.di_target);
    if id != u {
        return Err(format!("d_id {id} but di_uniquifier {u}"));
    }
    if u != want_uniq {
        return Err(format!("uniquifier {u}, expected {want_uniq}"));
    }
    if target != want_target {
        return Err(format!("di_target {target}, expected {want_target}"));
    }
    Ok(fd)
}

// ---------------------------------------------------------------------------
// Process A: owns DA and the registry DR.
// ---------------------------------------------------------------------------

/// B's doors as A received them: DB, DREF, DMIN, DONE (-1 until registered).
static B_DOORS: [AtomicI32; 4] = [const { AtomicI32::new(-1) }; 4];
static UA: AtomicU64 = AtomicU64::new(0);
/// Set when C has passed DA back.
static BACK: AtomicBool = AtomicBool::new(false);

/// DA: answers "A:<caller pid>:" + the data.
extern "C" fn serve_a(_: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    let (data, descs) = args(argp, size, dp, n);
    let mut cred = ucred_t::default();
    if door_ucred(&mut cred) != 0 || !descs.is_empty() {
        return reply(b"bad: door_ucred or descriptors in DA", &[]);
    }
    let mut out = format!("A:{}:", cred.uc_pid).into_bytes();
    out.extend_from_slice(data);
    reply(&out, &[]);
}

/// DR: "register" (B's four doors), "get-b" (DB in the results), "back" (DA
/// returned by C).
extern "C" fn serve_registry(
    _: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    let (data, descs) = args(argp, size, dp, n);
    match data {
        b"register" => {
            // The doors are served by the caller, B.
            let mut cred = ucred_t::default();
            if door_ucred(&mut cred) != 0 {
                return reply(b"bad: door_ucred", &[]);
            }
            let b_pid = cred.uc_pid;
            if descs.len() != 4 {
                return reply(format!("bad: {} descriptors", descs.len()).as_bytes(), &[]);
            }
            let mut seen = Vec::new();
            for (i, d) in descs.iter().enumerate() {
                let id = d.d_id;
                let fd = match check_received(d, id, b_pid) {
                    Ok(fd) => fd,
                    Err(e) => return reply(format!("bad: entry {i}: {e}").as_bytes(), &[]),
                };
                if seen.contains(&id) {
                    return reply(b"bad: two entries with one uniquifier", &[]);
                }
                seen.push(id);
                B_DOORS[i].store(fd, Ordering::SeqCst);
            }
            reply(b"ok", &[])
        }
        b"get-b" => {
            let db = B_DOORS[0].load(Ordering::SeqCst);
            reply(b"db", &[desc(db, false)])
        }
        b"back" => {
            let ua = UA.load(Ordering::SeqCst);
            let me = process::getpid() as i32;
            if descs.len() != 1 {
                return reply(b"bad: expected one descriptor", &[]);
            }
            let fd = match check_received(&descs[0], ua, me) {
                Ok(fd) => fd,
                Err(e) => return reply(format!("bad: {e}").as_bytes(), &[]),
            };
            let local = info(fd).ok().map_or(0, |i| i.di_attributes) & DOOR_LOCAL;
            if local == 0 {
                return reply(b"bad: DA back home without DOOR_LOCAL", &[]);
            }
            if close(fd) != 0 {
                return reply(b"bad: close of the returned DA", &[]);
            }
            BACK.store(true, Ordering::SeqCst);
            reply(b"ok", &[])
        }
        _ => reply(b"bad: unknown request", &[]),
    }
}

fn role_a() {
    let me = process::getpid();
    let da = expect_ok(
        "door_create(DA)",
        door_create(serve_a, core::ptr::null_mut(), 0),
    );
    let dr = expect_ok(
        "door_create(DR)",
        door_create(serve_registry, core::ptr::null_mut(), 0),
    );
    let ua = uniq(da);
    UA.store(ua, Ordering::SeqCst);

    // B: registers DB, DREF, DMIN, DONE with us.
    let b = match process::spawn_with_fds(NAME, &["b", &format!("{me}"), &format!("{ua}")], &[dr]) {
        Ok(pid) => pid,
        Err(e) => {
            fail(format_args!("spawn B: {e:?}"));
            return;
        }
    };
    let mut waited = 0;
    while B_DOORS[3].load(Ordering::SeqCst) < 0 && waited < 1000 {
        process::sleep_ticks(1);
        waited += 1;
    }
    let [db, dref, dmin, done] = B_DOORS.each_ref().map(|a| a.load(Ordering::SeqCst));
    if done < 0 {
        fail(format_args!("B never registered its doors"));
        return;
    }
    let ub = uniq(db);
    println!("{NAME}: A (pid {me}) holds B's doors {db} {dref} {dmin} {done}");

    // A -> B in the arguments: B checks it and calls DA with it.
    call_expect("pass DA to B", db, b"take", &[desc(da, false)], b"ok");
    expect_live("DA passed without DOOR_RELEASE", da, true);

    // C: gets DB from us, DA from B, calls DA, passes it back.
    let c = match process::spawn_with_fds(
        NAME,
        &[
            "c",
            &format!("{me}"),
            &format!("{ua}"),
            &format!("{b}"),
            &format!("{ub}"),
        ],
        &[dr],
    ) {
        Ok(pid) => pid,
        Err(e) => {
            fail(format_args!("spawn C: {e:?}"));
            return;
        }
    };
    wait_child("C", c);
    if !BACK.load(Ordering::SeqCst) {
        fail(format_args!("C never passed DA back"));
    }

    errors(da, db, dref, dmin, done, ua);

    call_expect("tell B to quit", db, b"quit", &[], b"bye");
    wait_child("B", b);
    // B is gone: its doors are revoked (di_target -1), calls are EBADF.
    if let Ok(i) = info(db) {
        expect_eq("di_target of DB after B exited", i.di_target, -1);
    }
    call_err("call DB after B exited", db, b"x", &[], Errno::EBADF);
    for d in [db, dref, dmin, done, da, dr] {
        expect_ok("final close", close(d));
    }
}

/// door_call failures with descriptors, against B's doors. The entries
/// passed are dups of DA (B checks their uniquifier).
fn errors(da: i32, db: i32, dref: i32, dmin: i32, done: i32, ua: u64) {
    let fresh = || expect_ok("dup(DA)", dup(da));

    // A successful pass with DOOR_RELEASE closes the sender's copy.
    let x = fresh();
    call_expect(
        "pass with DOOR_RELEASE",
        db,
        b"sink",
        &[desc(x, true)],
        b"sunk 1",
    );
    expect_live("released after a successful pass", x, false);
    // Without it the sender keeps its copy; several entries in one call.
    let (x, y) = (fresh(), fresh());
    call_expect(
        "pass two without DOOR_RELEASE",
        db,
        b"sink",
        &[desc(x, false), desc(y, false)],
        b"sunk 2",
    );
    expect_live("kept after a pass without DOOR_RELEASE (1)", x, true);
    expect_live("kept after a pass without DOOR_RELEASE (2)", y, true);

    // EINVAL: an entry without DOOR_DESCRIPTOR; a stale descriptor; a
    // negative one. The entries without DOOR_RELEASE stay open.
    call_err(
        "entry without DOOR_DESCRIPTOR",
        db,
        b"sink",
        &[door_desc_t::new(x, 0)],
        Errno::EINVAL,
    );
    expect_live("entry without DOOR_DESCRIPTOR", x, true);
    let stale = fresh();
    expect_ok("close(stale)", close(stale));
    call_err(
        "stale descriptor",
        db,
        b"sink",
        &[desc(stale, false)],
        Errno::EINVAL,
    );
    call_err(
        "negative descriptor",
        db,
        b"sink",
        &[desc(-1, false)],
        Errno::EINVAL,
    );
    call_err(
        "forged descriptor",
        db,
        b"sink",
        &[desc(0x7fff_0000, false)],
        Errno::EINVAL,
    );
    // ... and a DOOR_RELEASE entry next to a bad one is released.
    call_err(
        "released entry next to an invalid one",
        db,
        b"sink",
        &[desc(y, true), desc(stale, false)],
        Errno::EINVAL,
    );
    expect_live("DOOR_RELEASE entry of an EINVAL call", y, false);

    // ENOTSUP: descriptors to a DOOR_REFUSE_DESC door (released anyway).
    let mut v = usize::MAX;
    expect_ok(
        "door_getparam(DREF, DESC_MAX)",
        door_getparam(dref, DOOR_PARAM_DESC_MAX, &mut v),
    );
    expect_eq("DESC_MAX of a DOOR_REFUSE_DESC door", v, 0);
    call_err(
        "descriptor to DOOR_REFUSE_DESC",
        dref,
        b"sink",
        &[desc(x, false)],
        Errno::ENOTSUP,
    );
    expect_live("ENOTSUP without DOOR_RELEASE", x, true);
    let y = fresh();
    call_err(
        "released to DOOR_REFUSE_DESC",
        dref,
        b"sink",
        &[desc(y, true)],
        Errno::ENOTSUP,
    );
    expect_live("DOOR_RELEASE entry of an ENOTSUP call", y, false);
    call_expect(
        "DOOR_REFUSE_DESC door without descriptors",
        dref,
        b"sink",
        &[],
        b"sunk 0",
    );

    // ENFILE: above DOOR_PARAM_DESC_MAX (1 on DONE).
    expect_ok(
        "door_getparam(DONE, DESC_MAX)",
        door_getparam(done, DOOR_PARAM_DESC_MAX, &mut v),
    );
    expect_eq("DESC_MAX of DONE", v, 1);
    let y = fresh();
    call_err(
        "two descriptors, DESC_MAX 1",
        done,
        b"sink",
        &[desc(x, false), desc(y, false)],
        Errno::ENFILE,
    );
    expect_live("ENFILE without DOOR_RELEASE (1)", x, true);
    expect_live("ENFILE without DOOR_RELEASE (2)", y, true);
    call_err(
        "two released descriptors, DESC_MAX 1",
        done,
        b"sink",
        &[desc(x, true), desc(y, true)],
        Errno::ENFILE,
    );
    expect_live("DOOR_RELEASE entry of an ENFILE call (1)", x, false);
    expect_live("DOOR_RELEASE entry of an ENFILE call (2)", y, false);
    let x = fresh();
    call_expect(
        "one descriptor, DESC_MAX 1",
        done,
        b"sink",
        &[desc(x, true)],
        b"sunk 1",
    );
    expect_live("released to DONE", x, false);

    // ENOBUFS: below DOOR_PARAM_DATA_MIN (8 on DMIN); released anyway.
    let x = fresh();
    call_err(
        "2 bytes, DATA_MIN 8",
        dmin,
        b"ab",
        &[desc(x, false)],
        Errno::ENOBUFS,
    );
    expect_live("ENOBUFS without DOOR_RELEASE", x, true);
    call_err(
        "2 bytes released, DATA_MIN 8",
        dmin,
        b"ab",
        &[desc(x, true)],
        Errno::ENOBUFS,
    );
    expect_live("DOOR_RELEASE entry of an ENOBUFS call", x, false);
    let x = fresh();
    call_expect(
        "8 bytes, DATA_MIN 8",
        dmin,
        b"sink....",
        &[desc(x, false)],
        b"sunk 1",
    );

    // EFAULT: the DOOR_RELEASE descriptor is NOT closed.
    let descs = [desc(x, true)];
    let mut rbuf = [0u8; 64];
    let good = door_arg_t {
        data_ptr: b"sink".as_ptr() as u64,
        data_size: 4,
        desc_ptr: descs.as_ptr() as u64,
        desc_num: 1,
        rbuf: rbuf.as_mut_ptr() as u64,
        rsize: rbuf.len() as u64,
    };
    for (what, bad) in [
        (
            "unreadable data",
            door_arg_t {
                data_ptr: KERNEL_ADDR,
                ..good
            },
        ),
        (
            "unwritable rbuf",
            door_arg_t {
                rbuf: KERNEL_ADDR,
                ..good
            },
        ),
    ] {
        let mut a = bad;
        let r = door_call(db, &mut a);
        if r != -1 || errno() != Errno::EFAULT {
            fail(format_args!(
                "{what}: door_call {r}, errno {}, expected EFAULT",
                errno().name()
            ));
        }
        expect_live(
            &format!("DOOR_RELEASE entry of an EFAULT call ({what})"),
            x,
            true,
        );
    }

    // EBADF: a stale door descriptor, a revoked door: NOT closed either.
    call_err(
        "call on a stale descriptor",
        stale,
        b"sink",
        &[desc(x, true)],
        Errno::EBADF,
    );
    expect_live("DOOR_RELEASE entry of an EBADF call (stale)", x, true);
    let r = expect_ok(
        "door_create(R)",
        door_create(serve_a, core::ptr::null_mut(), 0),
    );
    let r2 = expect_ok("dup(R)", dup(r));
    expect_ok("door_revoke(R)", door_revoke(r));
    call_err(
        "call on a revoked door",
        r2,
        b"sink",
        &[desc(x, true)],
        Errno::EBADF,
    );
    expect_live("DOOR_RELEASE entry of an EBADF call (revoked)", x, true);
    expect_ok("close(R2)", close(r2));

    // The descriptors that survived still work and still are DA.
    expect_eq("uniquifier of a surviving entry", uniq(x), ua);
    call_expect(
        "call DA through a surviving entry",
        x,
        b"hi",
        &[],
        format!("A:{}:hi", process::getpid()).as_bytes(),
    );
    expect_ok("close(x)", close(x));
    if info(da).is_err() {
        fail(format_args!("DA itself was closed by the error cases"));
    }
}

// ---------------------------------------------------------------------------
// Process B: serves DB (and DREF, DMIN, DONE: all "sink" doors).
// ---------------------------------------------------------------------------

static QUIT: AtomicBool = AtomicBool::new(false);
/// DA as B received it from A.
static B_DA: AtomicI32 = AtomicI32::new(-1);
static B_ARGS: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];

/// DB: "take" (DA from A), "give" (DA to C, released), "quit"; anything
/// else: "sink" (checks and closes every received descriptor).
extern "C" fn serve_b(_: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    let (data, descs) = args(argp, size, dp, n);
    let a_pid = B_ARGS[0].load(Ordering::SeqCst) as i32;
    let ua = B_ARGS[1].load(Ordering::SeqCst);
    match data {
        b"take" => {
            if descs.len() != 1 {
                return reply(b"bad: expected one descriptor", &[]);
            }
            let fd = match check_received(&descs[0], ua, a_pid) {
                Ok(fd) => fd,
                Err(e) => return reply(format!("bad: {e}").as_bytes(), &[]),
            };
            // Usable at once: a nested call from this server thread to A.
            let want = format!("A:{}:from-b", process::getpid());
            match call_full(fd, b"from-b", &[]) {
                Ok((r, _)) if r == want.as_bytes() => {}
                Ok((r, _)) => {
                    return reply(
                        format!("bad: DA answered {:?}", String::from_utf8_lossy(&r)).as_bytes(),
                        &[],
                    );
                }
                Err(e) => {
                    return reply(format!("bad: call DA: {}", e.name()).as_bytes(), &[]);
                }
            }
            B_DA.store(fd, Ordering::SeqCst);
            reply(b"ok", &[])
        }
        b"give" => {
            let fd = B_DA.load(Ordering::SeqCst);
            reply(b"da", &[desc(fd, true)])
        }
        b"quit" => {
            QUIT.store(true, Ordering::SeqCst);
            reply(b"bye", &[])
        }
        _ => {
            for d in descs {
                let fd = match check_received(d, ua, a_pid) {
                    Ok(fd) => fd,
                    Err(e) => return reply(format!("bad: {e}").as_bytes(), &[]),
                };
                if close(fd) != 0 {
                    return reply(b"bad: close of a received descriptor", &[]);
                }
            }
            reply(format!("sunk {}", descs.len()).as_bytes(), &[])
        }
    }
}

fn role_b() {
    B_ARGS[0].store(num_arg(2) as u64, Ordering::SeqCst);
    B_ARGS[1].store(num_arg(3) as u64, Ordering::SeqCst);
    let dr = 0;
    let create = |attrs| {
        expect_ok(
            "B door_create",
            door_create(serve_b, core::ptr::null_mut(), attrs),
        )
    };
    let db = create(0);
    let dref = create(DOOR_REFUSE_DESC);
    let dmin = create(0);
    let done = create(0);
    expect_ok("DATA_MIN 8", door_setparam(dmin, DOOR_PARAM_DATA_MIN, 8));
    expect_ok("DESC_MAX 1", door_setparam(done, DOOR_PARAM_DESC_MAX, 1));
    let mine = [db, dref, dmin, done];
    // Client -> server: all four in one call, released.
    let entries = mine.map(|d| desc(d, true));
    call_expect("register with A", dr, b"register", &entries, b"ok");
    for d in mine {
        expect_live("B's door after passing it with DOOR_RELEASE", d, false);
    }
    let mut ticks = 0;
    while !QUIT.load(Ordering::SeqCst) && ticks < 2000 {
        process::sleep_ticks(1);
        ticks += 1;
    }
    if !QUIT.load(Ordering::SeqCst) {
        fail(format_args!("B: never told to quit"));
    }
    // The server thread set QUIT just before its reply: if a tick let
    // this thread see it first, one more tick lets that thread (ready)
    // finish the reply before the process ends (an exit during the reply
    // would end A's call with EINTR, as door_call(3C) says).
    process::sleep_ticks(1);
    // DA went to C with DOOR_RELEASE: B's copy is closed.
    let da = B_DA.load(Ordering::SeqCst);
    if da < 0 {
        fail(format_args!("B: never got DA"));
    } else {
        expect_live("B's DA after giving it with DOOR_RELEASE", da, false);
    }
    // Let the server thread finish its "bye" door_return before the
    // process (and DB) goes.
    process::sleep_ticks(5);
}

// ---------------------------------------------------------------------------
// Process C.
// ---------------------------------------------------------------------------

fn role_c() {
    let me = process::getpid();
    let (a_pid, ua, b_pid, ub) = (
        num_arg(2) as i32,
        num_arg(3) as u64,
        num_arg(4) as i32,
        num_arg(5) as u64,
    );
    let dr = 0;
    // A -> C in the results: DB.
    let db = match call_full(dr, b"get-b", &[]) {
        Ok((data, descs)) if data == b"db" && descs.len() == 1 => {
            match check_received(&descs[0], ub, b_pid) {
                Ok(fd) => fd,
                Err(e) => {
                    fail(format_args!("C: DB from A: {e}"));
                    return;
                }
            }
        }
        Ok((data, descs)) => {
            fail(format_args!(
                "C: get-b answered {:?} with {} descriptors",
                String::from_utf8_lossy(&data),
                descs.len()
            ));
            return;
        }
        Err(e) => {
            fail(format_args!("C: get-b: {}", e.name()));
            return;
        }
    };
    // B -> C in the results, released by B: DA.
    let da = match call_full(db, b"give", &[]) {
        Ok((data, descs)) if data == b"da" && descs.len() == 1 => {
            match check_received(&descs[0], ua, a_pid) {
                Ok(fd) => fd,
                Err(e) => {
                    fail(format_args!("C: DA from B: {e}"));
                    return;
                }
            }
        }
        Ok((data, descs)) => {
            fail(format_args!(
                "C: give answered {:?} with {} descriptors",
                String::from_utf8_lossy(&data),
                descs.len()
            ));
            return;
        }
        Err(e) => {
            fail(format_args!("C: give: {}", e.name()));
            return;
        }
    };
    let local = info(da).ok().map_or(DOOR_LOCAL, |i| i.di_attributes) & DOOR_LOCAL;
    expect_eq("C: DOOR_LOCAL of DA", local, 0);
    // C calls DA; A serves it and sees C as its caller.
    call_expect(
        "C calls DA",
        da,
        b"from-c",
        &[],
        format!("A:{me}:from-c").as_bytes(),
    );
    // C -> A in the arguments, released: C's copy is closed.
    call_expect(
        "C passes DA back to A",
        dr,
        b"back",
        &[desc(da, true)],
        b"ok",
    );
    expect_live("C's DA after passing it back with DOOR_RELEASE", da, false);
    expect_ok("C close(DB)", close(db));
}

fn main() -> i32 {
    match arg(1) {
        None => role_a(),
        Some("b") => role_b(),
        Some("c") => role_c(),
        Some(other) => {
            println!("{NAME}: unknown role {other}");
            return 2;
        }
    }
    testkit::verdict(arg(1).is_none())
}
