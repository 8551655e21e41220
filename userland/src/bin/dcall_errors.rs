//! The door_call error codes of doors-semantics.md that come from the call
//! itself (its arguments, the door, the server thread), each with its own
//! check, across two processes (and within one where noted):
//!
//! - E2BIG: the arguments do not fit the server thread's stack area (the
//!   server's pool threads have 32 KiB stacks: door_server_create +
//!   thread::spawn_with_stack);
//! - EAGAIN: a caller waiting for a server thread (none is free: a
//!   DOOR_PRIVATE door without bound threads) is aborted with door_abort
//!   (across processes and within one);
//! - EBADF: not a descriptor, a closed descriptor, a revoked door (within
//!   one process and across two), a door whose server exited;
//! - EFAULT: bad params pointer, bad data_ptr, bad desc_ptr, bad rbuf;
//! - EINTR: the server process exits while serving the call;
//! - EINVAL: a door_desc_t without DOOR_DESCRIPTOR, or with a bad descriptor.
//!
//! (EMFILE, ENFILE, ENOBUFS and ENOTSUP, the server's limits, are checked by
//! dcall_limits, EOVERFLOW by dcall_results.) Where a failing call carries a
//! DOOR_RELEASE descriptor, the check also verifies it is closed, except on
//! EFAULT and EBADF where it must stay open.
//!
//! The parent is the client. It serves a registry door (descriptor 0 of the
//! child) through which the server child hands over its doors and parks its
//! main thread until the parent lets it exit.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use spin::Mutex;
use userland::abi::errno::{self, E2BIG, EAGAIN, EBADF, EFAULT, EINTR, EINVAL};
use userland::door::*;
use userland::testkit::{Outcome as R, arg_for, info, spawn_server_thread};
use userland::{arg, ensure, println, process, thread};

userland::entry!(main);

fn info_of(d: i32) -> Result<door_info_t, String> {
    info(d).map_err(|e| format!("door_info({d}) failed with {}", errno::name(e)))
}

/// Stack size of the server child's pool threads.
const SMALL_STACK: usize = 32 * 1024;
/// Fits a 32 KiB area (the kernel keeps a page of it for the procedure).
const FITS: usize = 4000;
/// Does not fit it (more than the area less that page).
const TOO_BIG: usize = 30_000;

// ---------------------------------------------------------------------------
// The server child.
// ---------------------------------------------------------------------------

/// The child's doors, in the order it registers them with the parent.
const D_MAIN: usize = 0;
const D_PRIV: usize = 1;
const D_REV: usize = 2;
const NDOORS: usize = 3;

static CHILD_DOORS: Mutex<[i32; NDOORS]> = Mutex::new([-1; NDOORS]);

/// The child's door_server_create procedure: pool threads with small stacks.
extern "C" fn small_create(_info: *mut door_info_t) {
    let _ = spawn_server_thread(SMALL_STACK, |_| {});
}

fn reply(bytes: &[u8]) {
    door_return(bytes.as_ptr() as *mut u8, bytes.len(), null_mut(), 0);
}

/// "ok", the number of descriptors and the data size received.
fn ok_reply(n: u32, size: usize) {
    let s = (size as u32).to_le_bytes();
    reply(&[b'o', b'k', n as u8, s[0], s[1], s[2], s[3]]);
}

/// The child's server procedure (all its doors). Requests by first byte:
/// `E` echo (closes received descriptors, replies [`ok_reply`]); `H` tells
/// the parent it is serving, then never returns; `V` revokes the D_REV door.
extern "C" fn child_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    // SAFETY: the kernel laid out `n` entries at `dp`.
    let descs: &[door_desc_t] = if n == 0 {
        &[]
    } else {
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    };
    for d in descs {
        close(d.d_descriptor);
    }
    // SAFETY: `size` bytes at `argp`.
    let op = if size == 0 { 0 } else { unsafe { *argp } };
    match op {
        b'H' => {
            let mut rbuf = [0u8; 16];
            let msg = [b'h'];
            let mut a = arg_for(&msg, &mut rbuf);
            door_call(0, &mut a);
            loop {
                process::sleep_ticks(10);
            }
        }
        b'V' => {
            let d = CHILD_DOORS.lock()[D_REV];
            let r = door_revoke(d);
            reply(&[if r == 0 { 0 } else { errno() as u8 }]);
        }
        _ => ok_reply(n, size),
    }
}

fn server_child() -> i32 {
    door_server_create(Some(small_create));
    let mut doors = [-1; NDOORS];
    let attrs = [0, DOOR_PRIVATE, 0];
    for (i, d) in doors.iter_mut().enumerate() {
        *d = door_create(child_server, i as *mut c_void, attrs[i]);
        if *d < 0 {
            println!(
                "dcall_errors: server: door_create failed: {}",
                errno::name(errno())
            );
            return 2;
        }
    }
    *CHILD_DOORS.lock() = doors;
    let descs: Vec<door_desc_t> = doors
        .iter()
        .map(|&d| door_desc_t::new(d, DOOR_DESCRIPTOR))
        .collect();
    let mut rbuf = [0u8; 16];
    let msg = [b'G'];
    let mut a = arg_for(&msg, &mut rbuf);
    a.desc_ptr = descs.as_ptr() as u64;
    a.desc_num = NDOORS as u32;
    if door_call(0, &mut a) != 0 {
        println!(
            "dcall_errors: server: registering failed: {}",
            errno::name(errno())
        );
        return 4;
    }
    // Park until the parent lets this process exit.
    let msg = [b'P'];
    let mut a = arg_for(&msg, &mut rbuf);
    if door_call(0, &mut a) != 0 {
        println!(
            "dcall_errors: server: park failed: {}",
            errno::name(errno())
        );
        return 5;
    }
    0
}

// ---------------------------------------------------------------------------
// The parent: registry door and client checks.
// ---------------------------------------------------------------------------

static REG: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static REGISTERED: AtomicBool = AtomicBool::new(false);
static CHILD_EXIT: AtomicBool = AtomicBool::new(false);
static HUNG: AtomicBool = AtomicBool::new(false);
static WAITED: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicU32 = AtomicU32::new(0);
static LOCAL_FD: AtomicI32 = AtomicI32::new(-1);

/// The parent's server procedure: `G` registers the child's doors, `P`
/// parks the child until CHILD_EXIT, `h` notes the child is serving a
/// hanging call; anything else is an echo ([`ok_reply`]).
extern "C" fn parent_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    // SAFETY: as in child_server.
    let descs: &[door_desc_t] = if n == 0 {
        &[]
    } else {
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    };
    let op = if size == 0 { 0 } else { unsafe { *argp } };
    match op {
        b'G' => {
            *REG.lock() = descs.iter().map(|d| d.d_descriptor).collect();
            REGISTERED.store(true, Ordering::SeqCst);
            reply(&[]);
        }
        b'P' => {
            while !CHILD_EXIT.load(Ordering::SeqCst) {
                process::sleep_ticks(1);
            }
            reply(&[]);
        }
        b'h' => {
            HUNG.store(true, Ordering::SeqCst);
            reply(&[]);
        }
        _ => {
            for d in descs {
                close(d.d_descriptor);
            }
            ok_reply(n, size)
        }
    }
}

/// Calls `d` with `data` and `descs`; the reply data, or the errno.
fn call(d: i32, data: &[u8], descs: &[door_desc_t]) -> Result<Vec<u8>, isize> {
    let mut rbuf = [0u8; 64];
    let mut a = arg_for(data, &mut rbuf);
    a.desc_ptr = descs.as_ptr() as u64;
    a.desc_num = descs.len() as u32;
    if door_call(d, &mut a) != 0 {
        return Err(errno());
    }
    // SAFETY: the results are at data_ptr (rbuf: every reply here fits).
    let out = unsafe { core::slice::from_raw_parts(a.data_ptr as *const u8, a.data_size as usize) }
        .to_vec();
    if a.rbuf != rbuf.as_ptr() as u64 {
        let _ = userland::heap::unmap(a.rbuf as usize, a.rsize as usize);
    }
    Ok(out)
}

fn expect_ok(what: &str, d: i32, data: &[u8], descs: &[door_desc_t]) -> R {
    let want = {
        let s = (data.len() as u32).to_le_bytes();
        [b'o', b'k', descs.len() as u8, s[0], s[1], s[2], s[3]]
    };
    match call(d, data, descs) {
        Ok(r) if r == want => Ok(()),
        Ok(r) => Err(format!("{what}: unexpected reply {r:?}, expected {want:?}")),
        Err(e) => Err(format!("{what}: door_call failed with {}", errno::name(e))),
    }
}

fn expect_err(what: &str, d: i32, data: &[u8], descs: &[door_desc_t], want: isize) -> R {
    match call(d, data, descs) {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: door_call failed with {}, expected {}",
            errno::name(e),
            errno::name(want)
        )),
        Ok(r) => Err(format!(
            "{what}: door_call succeeded (reply {r:?}), expected {}",
            errno::name(want)
        )),
    }
}

/// A raw door_call that must fail with `want`.
fn expect_raw(what: &str, d: i32, params: *mut door_arg_t, want: isize) -> R {
    let r = door_call(d, params);
    ensure!(
        r == -1 && errno() == want,
        "{what}: door_call gave {r} ({}), expected {}",
        if r == -1 {
            errno::name(errno())
        } else {
            "success"
        },
        errno::name(want)
    );
    Ok(())
}

/// A new descriptor for the registry door, to pass around.
fn spare() -> Result<i32, String> {
    let d = dup(LOCAL_FD.load(Ordering::SeqCst));
    ensure!(d >= 0, "dup failed with {}", errno::name(errno()));
    Ok(d)
}

/// A failing call closed (or, for EFAULT/EBADF, kept) its DOOR_RELEASE descriptor.
fn released(what: &str, d: i32, closed: bool) -> R {
    let open = info(d).is_ok();
    if open {
        close(d);
    }
    ensure!(
        open != closed,
        "{what}: the DOOR_RELEASE descriptor was {} (expected {})",
        if open { "left open" } else { "closed" },
        if closed { "closed" } else { "left open" }
    );
    Ok(())
}

fn section(name: &str, f: impl FnOnce() -> R) {
    match f() {
        Ok(()) => println!("dcall_errors: {name}: ok"),
        Err(e) => {
            println!("dcall_errors: FAIL: {name}: {e}");
            FAILED.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn e2big(main: i32) -> R {
    let fits = vec![b'E'; FITS];
    expect_ok(
        "arguments that fit the server's stack area",
        main,
        &fits,
        &[],
    )?;
    let big = vec![b'E'; TOO_BIG];
    expect_err(
        "arguments larger than the server's stack area",
        main,
        &big,
        &[],
        E2BIG,
    )?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    expect_err(
        "too big, with a DOOR_RELEASE descriptor",
        main,
        &big,
        &rel,
        E2BIG,
    )?;
    released("E2BIG", s, true)?;
    let s = spare()?;
    let many = vec![door_desc_t::new(s, DOOR_DESCRIPTOR); 2000];
    let r = expect_err(
        "2000 descriptors (48000 bytes of entries)",
        main,
        b"E",
        &many,
        E2BIG,
    );
    close(s);
    r?;
    // The same, with a DOOR_RELEASE entry among them. A count above the
    // kernel's hard per-message limit is refused before the descriptor
    // array is even read (as illumos does with door_max_desc), so, like
    // EFAULT and EBADF, this E2BIG leaves the descriptor open.
    let (s, rel) = (spare()?, spare()?);
    let mut many = vec![door_desc_t::new(s, DOOR_DESCRIPTOR); 2000];
    many[0] = door_desc_t::new(rel, DOOR_DESCRIPTOR | DOOR_RELEASE);
    let r = expect_err(
        "2000 descriptors, one with DOOR_RELEASE",
        main,
        b"E",
        &many,
        E2BIG,
    );
    close(s);
    r?;
    released("E2BIG with 2000 descriptors", rel, false)?;
    expect_ok("a call that fits, afterwards", main, &fits, &[])
}

/// A call to `d` (which has no free server thread) on another thread is
/// aborted while it waits: EAGAIN, and its DOOR_RELEASE descriptor is gone.
fn eagain_on(what: &str, d: i32) -> R {
    let s = spare()?;
    let h = thread::spawn(move || {
        let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
        match call(d, b"Ewaiting", &rel) {
            Ok(_) => 0,
            Err(e) => e as u64,
        }
    })
    .map_err(|e| format!("{what}: thread::spawn: {e:?}"))?;
    let mut aborted = false;
    for _ in 0..1000 {
        if door_abort(h.tid()) == 0 {
            aborted = true;
            break;
        }
        let e = errno();
        ensure!(
            e == EINVAL,
            "{what}: door_abort failed with {} (expected EINVAL until the thread waits)",
            errno::name(e)
        );
        process::sleep_ticks(1);
    }
    ensure!(
        aborted,
        "{what}: the calling thread never was in door_call (or its call ended)"
    );
    let got = h.join().map_err(|e| format!("{what}: join: {e:?}"))? as isize;
    ensure!(
        got == EAGAIN,
        "{what}: the aborted waiting call returned {}, expected EAGAIN",
        if got == 0 {
            "success"
        } else {
            errno::name(got)
        }
    );
    released(what, s, true)
}

fn eagain(private: i32) -> R {
    eagain_on("across processes", private)?;
    let local = door_create(parent_server, null_mut(), DOOR_PRIVATE);
    ensure!(local >= 0, "door_create(DOOR_PRIVATE) failed");
    let r = eagain_on("within one process", local);
    door_revoke(local);
    r
}

fn ebadf(main: i32, rev: i32) -> R {
    let mut rbuf = [0u8; 16];
    let msg = *b"E1";
    let mut a = arg_for(&msg, &mut rbuf);
    for d in [-1, 0x7ff, 0x7fff_ffff, DOOR_QUERY] {
        expect_raw(&format!("not a descriptor ({d})"), d, &mut a, EBADF)?;
    }
    let d = spare()?;
    close(d);
    expect_err("closed descriptor", d, b"E1", &[], EBADF)?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    expect_err(
        "closed descriptor, with a DOOR_RELEASE descriptor",
        d,
        b"E1",
        &rel,
        EBADF,
    )?;
    released("EBADF", s, false)?;

    // Revoked within one process: the other descriptor of the door.
    let own = door_create(parent_server, null_mut(), 0);
    ensure!(own >= 0, "door_create failed");
    let other = dup(own);
    expect_ok("own door before revocation", other, b"E2", &[])?;
    ensure!(
        door_revoke(own) == 0,
        "door_revoke failed with {}",
        errno::name(errno())
    );
    let r = expect_err("door revoked by this process", other, b"E2", &[], EBADF);
    let revoked = info_of(other).map(|i| i.di_attributes & DOOR_REVOKED != 0);
    close(other);
    r?;
    ensure!(revoked?, "door_info of the revoked door lacks DOOR_REVOKED");

    // Revoked by its server, another process.
    expect_ok("the child's door before revocation", rev, b"E3", &[])?;
    match call(main, b"V", &[]) {
        Ok(r) if r == [0] => {}
        Ok(r) => {
            return Err(format!(
                "the child's door_revoke failed: {}",
                errno::name(r[0] as isize)
            ));
        }
        Err(e) => return Err(format!("asking the child to revoke: {}", errno::name(e))),
    }
    expect_err("door revoked by its server process", rev, b"E3", &[], EBADF)?;
    let info = info_of(rev)?;
    let (attrs, target) = (info.di_attributes, info.di_target);
    ensure!(
        attrs & DOOR_REVOKED != 0 && target > 0,
        "door_info of the child's revoked door: attributes {attrs:#x} target {target}"
    );
    Ok(())
}

fn efault(main: i32) -> R {
    let msg = *b"Efault";
    let mut rbuf = [0u8; 64];
    expect_raw("params unmapped", main, 0x1000 as *mut door_arg_t, EFAULT)?;
    expect_raw(
        "params in the kernel half",
        main,
        0xffff_8000_0000_0000u64 as *mut door_arg_t,
        EFAULT,
    )?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0x1000;
    expect_raw("data_ptr unmapped", main, &mut a, EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0xffff_8000_0000_0000;
    expect_raw("data_ptr in the kernel half", main, &mut a, EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.rbuf = 0x1000;
    expect_raw("rbuf unmapped", main, &mut a, EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.desc_ptr = 0x1000;
    a.desc_num = 1;
    expect_raw("desc_ptr unmapped", main, &mut a, EFAULT)?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0x1000;
    a.desc_ptr = rel.as_ptr() as u64;
    a.desc_num = 1;
    expect_raw(
        "data_ptr unmapped, with a DOOR_RELEASE descriptor",
        main,
        &mut a,
        EFAULT,
    )?;
    released("EFAULT", s, false)?;
    expect_ok("a good call afterwards", main, &msg, &[])
}

fn einval(main: i32) -> R {
    let s = spare()?;
    let r = expect_err(
        "door_desc_t without DOOR_DESCRIPTOR",
        main,
        b"E",
        &[door_desc_t::new(s, 0)],
        EINVAL,
    );
    close(s);
    r?;
    expect_err(
        "door_desc_t with a descriptor never opened",
        main,
        b"E",
        &[door_desc_t::new(0x7ff, DOOR_DESCRIPTOR)],
        EINVAL,
    )?;
    let c = spare()?;
    close(c);
    expect_err(
        "door_desc_t with a closed descriptor",
        main,
        b"E",
        &[door_desc_t::new(c, DOOR_DESCRIPTOR)],
        EINVAL,
    )?;
    let s = spare()?;
    let descs = [
        door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE),
        door_desc_t::new(c, DOOR_DESCRIPTOR),
    ];
    expect_err(
        "a DOOR_RELEASE entry and a bad one",
        main,
        b"E",
        &descs,
        EINVAL,
    )?;
    released("EINVAL", s, true)
}

/// The server process exits while serving a call: EINTR; later calls
/// EBADF, and door_info reports di_target -1.
fn eintr(main: i32, child: u32) -> R {
    let h = thread::spawn(move || match call(main, b"H", &[]) {
        Ok(_) => 0,
        Err(e) => e as u64,
    })
    .map_err(|e| format!("thread::spawn: {e:?}"))?;
    let mut hung = false;
    for _ in 0..1000 {
        if HUNG.load(Ordering::SeqCst) {
            hung = true;
            break;
        }
        process::sleep_ticks(1);
    }
    CHILD_EXIT.store(true, Ordering::SeqCst);
    ensure!(hung, "the child never started serving the hanging call");
    let got = h.join().map_err(|e| format!("join: {e:?}"))? as isize;
    let (_, status) = process::wait(Some(child)).map_err(|e| format!("wait: {e:?}"))?;
    WAITED.store(true, Ordering::SeqCst);
    ensure!(
        got == EINTR,
        "call in progress when the server exited: {}, expected EINTR",
        if got == 0 {
            "success"
        } else {
            errno::name(got)
        }
    );
    ensure!(status == 0, "the server child exited with {status}");
    expect_err("a call after the server exited", main, b"E", &[], EBADF)?;
    let info = info_of(main)?;
    let (target, attrs) = (info.di_target, info.di_attributes);
    ensure!(
        target == -1,
        "door_info after the server exited: di_target {target}, expected -1"
    );
    ensure!(
        attrs & DOOR_REVOKED != 0,
        "door_info after the server exited: attributes {attrs:#x} lack DOOR_REVOKED"
    );
    Ok(())
}

fn main() -> i32 {
    if arg(1) == Some("server") {
        return server_child();
    }
    let reg = door_create(parent_server, null_mut(), 0);
    if reg < 0 {
        println!("dcall_errors: FAIL: door_create: {}", errno::name(errno()));
        return 1;
    }
    LOCAL_FD.store(reg, Ordering::SeqCst);
    let child = match process::spawn_with_fds("dcall_errors", &["server"], &[reg]) {
        Ok(p) => p,
        Err(e) => {
            println!("dcall_errors: FAIL: spawn: {e:?}");
            return 1;
        }
    };
    for _ in 0..1000 {
        if REGISTERED.load(Ordering::SeqCst) {
            break;
        }
        process::sleep_ticks(1);
    }
    let reg_fds = REG.lock().clone();
    if reg_fds.len() != NDOORS {
        println!(
            "dcall_errors: FAIL: the server child registered {} doors",
            reg_fds.len()
        );
        CHILD_EXIT.store(true, Ordering::SeqCst);
        let _ = process::wait(Some(child));
        return 1;
    }
    let d = |i: usize| reg_fds[i];
    section("E2BIG", || e2big(d(D_MAIN)));
    section("EAGAIN", || eagain(d(D_PRIV)));
    section("EBADF", || ebadf(d(D_MAIN), d(D_REV)));
    section("EFAULT", || efault(d(D_MAIN)));
    section("EINVAL", || einval(d(D_MAIN)));
    section("EINTR", || eintr(d(D_MAIN), child));
    CHILD_EXIT.store(true, Ordering::SeqCst);
    if !WAITED.load(Ordering::SeqCst) {
        let _ = process::wait(Some(child));
    }
    match FAILED.load(Ordering::SeqCst) {
        0 => {
            println!("dcall_errors: ok");
            0
        }
        n => {
            println!("dcall_errors: FAIL: {n} error code check(s) failed");
            1
        }
    }
}
