//! EMFILE in descriptor passing, both directions, between two processes
//! under QEMU (P, the parent, and S, the server it spawns):
//! - client -> server: S fills its table; P's door_call passing a
//!   descriptor to S's door fails with EMFILE (the descriptor stays P's
//!   without DOOR_RELEASE, is closed with it); once S frees one slot, one
//!   descriptor passes and two still fail;
//! - server -> client: P fills its table; S's door_return passing a
//!   descriptor fails with EMFILE (S's DOOR_RELEASE copy stays open), S
//!   reports it to P in data, nothing is installed in P; once P frees one
//!   slot the descriptor arrives and works.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use spin::Mutex;
use userland::Errno;
use userland::door::{
    DOOR_DESCRIPTOR, close, door_create, door_desc_t, door_return, door_ucred, dup, errno, ucred_t,
};
use userland::testkit::{self, *};
use userland::{arg, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_full";

/// Dups `d` until the table is full (checking that the failure is EMFILE).
fn fill(what: &str, d: i32, into: &mut Vec<i32>) {
    for _ in 0..5000 {
        let r = dup(d);
        if r == -1 {
            expect_eq(what, errno().name(), "EMFILE");
            return;
        }
        into.push(r);
    }
    fail(format_args!("{what}: 5000 dups without EMFILE"));
}

// ---------------------------------------------------------------------------
// P: the parent, with the registry door DR.
// ---------------------------------------------------------------------------

static DS: AtomicI32 = AtomicI32::new(-1);
static S_PID: AtomicI32 = AtomicI32::new(-1);

/// DR: "full" + S's door DS, once S's table is full.
extern "C" fn serve_p(_: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    let (data, descs) = args(argp, size, dp, n);
    let mut cred = ucred_t::default();
    if data != b"full" || descs.len() != 1 || door_ucred(&mut cred) != 0 {
        return reply(b"bad: expected \"full\" with one descriptor", &[]);
    }
    let fd = descs[0].d_descriptor;
    match info(fd).ok() {
        Some(i) if i.di_target == cred.uc_pid => {}
        _ => return reply(b"bad: DS is not served by its sender", &[]),
    }
    S_PID.store(cred.uc_pid, Ordering::SeqCst);
    DS.store(fd, Ordering::SeqCst);
    reply(b"ok", &[])
}

fn role_p() {
    let dr = expect_ok(
        "door_create(DR)",
        door_create(serve_p, core::ptr::null_mut(), 0),
    );
    let s = match process::spawn_with_fds(NAME, &["s"], &[dr]) {
        Ok(pid) => pid,
        Err(e) => {
            fail(format_args!("spawn S: {e:?}"));
            return;
        }
    };
    let mut ticks = 0;
    while DS.load(Ordering::SeqCst) < 0 && ticks < 1000 {
        process::sleep_ticks(1);
        ticks += 1;
    }
    let ds = DS.load(Ordering::SeqCst);
    if ds < 0 {
        fail(format_args!("S never registered"));
        return;
    }
    let s_pid = S_PID.load(Ordering::SeqCst);
    expect_eq("pid of S", s_pid, s as i32);
    let uds = info(ds).ok().map_or(0, |i| i.di_uniquifier);

    // Client -> server with S's table full: EMFILE, reported to the caller.
    let x = expect_ok("dup(DR)", dup(dr));
    call_err(
        "pass to a full table",
        ds,
        b"sink",
        &[desc(x, false)],
        Errno::EMFILE,
    );
    expect_live("EMFILE without DOOR_RELEASE", x, true);
    call_err(
        "pass released to a full table",
        ds,
        b"sink",
        &[desc(x, true)],
        Errno::EMFILE,
    );
    expect_live("DOOR_RELEASE entry of an EMFILE call", x, false);
    call_expect("call without descriptors", ds, b"sink", &[], b"sunk 0");
    // One free slot: one descriptor passes, two do not.
    call_expect("S frees one slot", ds, b"free", &[], b"freed");
    let (x, y) = (expect_ok("dup", dup(dr)), expect_ok("dup", dup(dr)));
    call_err(
        "two descriptors, one free slot",
        ds,
        b"sink",
        &[desc(x, false), desc(y, false)],
        Errno::EMFILE,
    );
    call_expect(
        "one descriptor, one free slot",
        ds,
        b"sink",
        &[desc(x, true)],
        b"sunk 1",
    );
    expect_live("released after the pass", x, false);
    call_expect("S fills its table again", ds, b"fill", &[], b"filled");
    call_err(
        "pass to a refilled table",
        ds,
        b"sink",
        &[desc(y, false)],
        Errno::EMFILE,
    );
    expect_ok("close(y)", close(y));

    // Server -> client with P's table full: S's door_return fails with
    // EMFILE, S keeps its copy and says so; nothing lands in P's table.
    let mut mine = Vec::new();
    fill("P fills its table", dr, &mut mine);
    for (req, what) in [(b"give".as_slice(), "released"), (b"give-kept", "kept")] {
        match call_full(ds, req, &[]) {
            Ok((data, descs)) => {
                let want = b"door_return EMFILE, still open";
                if data != want || !descs.is_empty() {
                    fail(format_args!(
                        "{what} result to a full table: reply {:?} with {} descriptors, expected {:?}",
                        String::from_utf8_lossy(&data),
                        descs.len(),
                        String::from_utf8_lossy(want)
                    ));
                }
            }
            Err(e) => fail(format_args!(
                "{what} result to a full table: door_call {}",
                e.name()
            )),
        }
    }
    let r = dup(dr);
    if r != -1 || errno() != Errno::EMFILE {
        fail(format_args!(
            "P's table should still be full after the refused results (dup gave {r})"
        ));
        if r >= 0 {
            mine.push(r);
        }
    }
    // One free slot: the descriptor arrives and works.
    expect_ok("P frees one slot", close(mine.pop().unwrap_or(-1)));
    match call_full(ds, b"give", &[]) {
        Ok((data, descs)) if data == b"given" && descs.len() == 1 => {
            let d = descs[0];
            let (attrs, fd, id) = (d.d_attributes, d.d_descriptor, d.d_id);
            if attrs & DOOR_DESCRIPTOR == 0 {
                fail(format_args!("received d_attributes {attrs:#x}"));
            }
            match info(fd).ok() {
                Some(i) => {
                    expect_eq("d_id of the received DS", id, i.di_uniquifier);
                    expect_eq("uniquifier of the received DS", i.di_uniquifier, uds);
                    expect_eq("di_target of the received DS", i.di_target, s_pid);
                }
                None => fail(format_args!("received descriptor {fd}: {}", errno().name())),
            }
            call_expect("call the received DS", fd, b"sink", &[], b"sunk 0");
            mine.push(fd);
        }
        Ok((data, descs)) => fail(format_args!(
            "give with one free slot: {:?} with {} descriptors",
            String::from_utf8_lossy(&data),
            descs.len()
        )),
        Err(e) => fail(format_args!("give with one free slot: {}", e.name())),
    }
    for d in mine {
        expect_ok("close", close(d));
    }

    call_expect("tell S to quit", ds, b"quit", &[], b"bye");
    match process::wait(Some(s)) {
        Ok((_, 0)) => {}
        Ok((_, st)) => fail(format_args!("S exited with status {st}")),
        Err(e) => fail(format_args!("wait for S: {e:?}")),
    }
    expect_ok("close(DS)", close(ds));
    expect_ok("close(DR)", close(dr));
}

// ---------------------------------------------------------------------------
// S: serves DS with a full table.
// ---------------------------------------------------------------------------

static QUIT: AtomicBool = AtomicBool::new(false);
static S_DS: AtomicI32 = AtomicI32::new(-1);
/// S's extra descriptors (dups of DS) that keep its table full.
static EXTRA: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Tries to return DS (a dup with DOOR_RELEASE for "give", DS itself
/// without it for "give-kept"); reports a failed door_return in the data.
fn give(release: bool) {
    let fd = if release {
        let fd = EXTRA.lock().pop();
        match fd {
            Some(fd) => fd,
            None => return reply(b"bad: no descriptor to give", &[]),
        }
    } else {
        S_DS.load(Ordering::SeqCst)
    };
    let mut descs = [desc(fd, release)];
    door_return(b"given".as_ptr() as *mut u8, 5, descs.as_mut_ptr(), 1);
    // Not delivered: the client's table is full.
    let e = errno();
    let open = info(fd).ok().is_some();
    if release && open {
        EXTRA.lock().push(fd);
    }
    let msg = format!(
        "door_return {}, {}",
        e.name(),
        if open { "still open" } else { "closed" }
    );
    reply(msg.as_bytes(), &[])
}

extern "C" fn serve_s(_: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    let (data, descs) = args(argp, size, dp, n);
    match data {
        b"free" => {
            // (The lock guard must be gone before reply: door_return does
            // not come back.)
            let fd = EXTRA.lock().pop();
            match fd {
                Some(fd) if close(fd) == 0 => reply(b"freed", &[]),
                _ => reply(b"bad: nothing to free", &[]),
            }
        }
        b"fill" => {
            let ds = S_DS.load(Ordering::SeqCst);
            let mut v = Vec::new();
            fill("S refills its table", ds, &mut v);
            EXTRA.lock().extend(v);
            reply(b"filled", &[])
        }
        b"give" => give(true),
        b"give-kept" => give(false),
        b"quit" => {
            QUIT.store(true, Ordering::SeqCst);
            reply(b"bye", &[])
        }
        _ => {
            for d in descs {
                let fd = d.d_descriptor;
                if d.d_attributes & DOOR_DESCRIPTOR == 0 || close(fd) != 0 {
                    return reply(b"bad: received entry", &[]);
                }
            }
            reply(format!("sunk {}", descs.len()).as_bytes(), &[])
        }
    }
}

fn role_s() {
    let dr = 0;
    let ds = expect_ok(
        "S door_create",
        door_create(serve_s, core::ptr::null_mut(), 0),
    );
    S_DS.store(ds, Ordering::SeqCst);
    let mut v = Vec::new();
    fill("S fills its table", ds, &mut v);
    let held = v.len() + 2;
    EXTRA.lock().extend(v);
    println!("{NAME}: S's table is full with {held} descriptors");
    // Passing a descriptor needs no slot of the sender's.
    call_expect("S registers DS", dr, b"full", &[desc(ds, false)], b"ok");
    let mut ticks = 0;
    while !QUIT.load(Ordering::SeqCst) && ticks < 2000 {
        process::sleep_ticks(1);
        ticks += 1;
    }
    if !QUIT.load(Ordering::SeqCst) {
        fail(format_args!("S: never told to quit"));
    }
    // Let the server thread finish its "bye" door_return first.
    process::sleep_ticks(5);
}

fn main() -> i32 {
    match arg(1) {
        None => role_p(),
        Some("s") => role_s(),
        Some(other) => {
            println!("{NAME}: unknown role {other}");
            return 2;
        }
    }
    testkit::verdict(arg(1).is_none())
}
