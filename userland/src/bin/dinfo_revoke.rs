//! door_revoke under QEMU, across three processes: EPERM for a process that
//! did not create the door (a child that received it), EBADF for
//! descriptors that name no door, the revoking process's descriptor is
//! closed, a caller waiting for a server thread (none idle) is woken with
//! EBADF, a call already running completes normally, later calls get EBADF
//! (in every process), and door_info reports DOOR_REVOKED.
//!
//! Roles: no argument is the parent. `running` and `waiting` are children
//! that get the revoked door R as descriptor 0 and the parent's control door
//! K as descriptor 1.
#![no_std]
#![no_main]

extern crate alloc;

use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI64, Ordering::SeqCst};
use userland::Errno;
use userland::door::{
    DOOR_IS_UNREF, DOOR_LOCAL, DOOR_PRIVATE, DOOR_REVOKED, close, door_bind, door_call,
    door_create, door_desc_t, door_info, door_info_t, door_return, door_revoke, dup, errno,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const NAME: &str = "dinfo_revoke";

/// di_attributes of `fd` (0 after a reported failure).
fn attrs(fd: i32, what: &str) -> u32 {
    match info(fd) {
        Ok(i) => i.di_attributes,
        Err(e) => {
            fail(format_args!("door_info({what}): {}", e.name()));
            0
        }
    }
}

/// Set by R's server thread when it starts serving "block".
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Set by the parent to let the running call finish.
static RELEASE: AtomicBool = AtomicBool::new(false);
/// Set (to the errno) when the door_return of R's server thread after the
/// running call returns; 0 while that call is still being served.
static R_RETURN: AtomicI64 = AtomicI64::new(0);
/// Set by K's server when the `waiting` child is about to call R.
static READY: AtomicBool = AtomicBool::new(false);

/// R's server procedure: "block" waits until the parent releases it, then
/// returns "done". R is DOOR_PRIVATE with one bound thread, so while it
/// runs no thread of R is idle.
extern "C" fn proc_r(_c: *mut c_void, argp: *mut u8, size: usize, _d: *mut door_desc_t, _n: u32) {
    if data(argp, size) == b"block" {
        RUNNING.store(true, SeqCst);
        while !RELEASE.load(SeqCst) {
            process::sleep_ticks(1);
        }
    }
    let mut out = *b"done";
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
    // Not parked (the door this thread is bound to was revoked): the thread
    // ends when this procedure returns.
    R_RETURN.store(errno().code() as i64, SeqCst);
}

/// K's server procedure: "ready" from the `waiting` child.
extern "C" fn proc_k(_c: *mut c_void, argp: *mut u8, size: usize, _d: *mut door_desc_t, _n: u32) {
    if data(argp, size) == b"ready" {
        READY.store(true, SeqCst);
    }
    door_return(null_mut(), 0, null_mut(), 0);
}

fn main() -> i32 {
    let ok = match arg(1) {
        None => parent(),
        Some("running") => running(),
        Some("waiting") => waiting(),
        Some(r) => {
            println!("{NAME}: unknown role {r}");
            false
        }
    };
    if ok {
        testkit::verdict(arg(1).is_none())
    } else {
        1
    }
}

/// A child that did not create R may not revoke it: EPERM, and its
/// descriptor stays open and usable.
fn check_eperm(role: &str) {
    expect_err(
        door_revoke(0),
        Errno::EPERM,
        &alloc::format!("{role}: door_revoke of the parent's door"),
    );
    let a = attrs(0, "R after EPERM");
    check!(
        a == DOOR_PRIVATE,
        "{role}: R after a failed revoke: di_attributes {a:#x} want {DOOR_PRIVATE:#x}"
    );
}

/// The child whose call is being served when R is revoked: it completes
/// normally; the next call gets EBADF.
fn running() -> bool {
    check_eperm("running");
    match call(0, b"block", &[]) {
        Ok(r) => check!(
            r == b"done",
            "running: call completed with {:?}, want \"done\"",
            r
        ),
        Err(e) => fail(format_args!(
            "running: the call in progress at the revoke failed with {}",
            e.name()
        )),
    }
    expect_err(
        door_call(0, null_mut()),
        Errno::EBADF,
        "running: call after revoke",
    );
    let a = attrs(0, "R after revoke");
    check!(
        a == DOOR_PRIVATE | DOOR_REVOKED,
        "running: R after revoke: di_attributes {a:#x} want {:#x}",
        DOOR_PRIVATE | DOOR_REVOKED
    );
    // Revoking needs the creator, revoked or not.
    check!(
        door_revoke(0) == -1,
        "running: door_revoke of a revoked door of another process succeeded"
    );
    true
}

/// The child whose call waits for R's server thread (busy with the
/// `running` child's call) when R is revoked: woken with EBADF.
fn waiting() -> bool {
    check_eperm("waiting");
    if let Err(e) = call(1, b"ready", &[]) {
        fail(format_args!("waiting: ready call: {}", e.name()));
    }
    // No thread of R is idle: this call waits until the revoke.
    match call(0, b"wait", &[]) {
        Ok(r) => fail(format_args!(
            "waiting: the waiting call succeeded with {:?}, want EBADF",
            r
        )),
        Err(e) => check!(
            e == Errno::EBADF,
            "waiting: the waiting call failed with {}, want EBADF",
            e.name()
        ),
    }
    let a = attrs(0, "R after revoke");
    check!(
        a == DOOR_PRIVATE | DOOR_REVOKED,
        "waiting: R after revoke: di_attributes {a:#x} want {:#x}",
        DOOR_PRIVATE | DOOR_REVOKED
    );
    true
}

fn wait_ok(pid: Option<u32>, role: &str) {
    if let Some(pid) = pid {
        wait_child(role, pid);
    }
}

/// Sleeps until `flag` is set (bounded: a failure is reported, not a hang).
fn wait_flag(flag: &AtomicBool, what: &str) -> bool {
    let set = wait_until(500, || flag.load(SeqCst));
    check!(set, "timed out waiting for {what}");
    set
}

fn parent() -> bool {
    // EBADF: nothing to revoke.
    for fd in [999, -1, i32::MAX] {
        expect_err(door_revoke(fd), Errno::EBADF, "door_revoke(bad fd)");
    }
    let k = door_create(proc_k, null_mut(), 0);
    let r = door_create(proc_r, null_mut(), DOOR_PRIVATE);
    check!(k >= 0 && r >= 0, "door_create: K {k}, R {r}");
    // The closed descriptor of a door: EBADF too.
    let gone = dup(k);
    check!(close(gone) == 0, "close(dup of K)");
    expect_err(door_revoke(gone), Errno::EBADF, "door_revoke(closed fd)");

    // R's only server thread.
    let server = thread::spawn(move || {
        if door_bind(r) != 0 {
            fail(format_args!("door_bind(R): {}", errno().name()));
            return 1;
        }
        door_return(null_mut(), 0, null_mut(), 0);
        fail(format_args!("first door_return: {}", errno().name()));
        1
    });
    // Not joined: after the revoke its door_return may fail (EBADF, the
    // thread ends) or park it for good; process exit ends it either way.
    if let Err(e) = server {
        fail(format_args!("spawn server thread: {e:?}"));
        return false;
    }

    // `running`'s call occupies R's only thread.
    let run_pid = spawn(&["running"], &[r, k]);
    if !wait_flag(&RUNNING, "the running call to start") {
        RELEASE.store(true, SeqCst);
        wait_ok(run_pid, "running");
        return false;
    }
    // `waiting` calls R and waits for a server thread.
    let wait_pid = spawn(&["waiting"], &[r, k]);
    wait_flag(&READY, "the waiting child's handshake");
    process::sleep_ticks(20);

    // Revoke, keeping a second descriptor to look at the door.
    let r2 = dup(r);
    check!(r2 >= 0, "dup(R): {}", errno().name());
    let before = attrs(r2, "R before the revoke");
    check!(
        before == DOOR_PRIVATE | DOOR_LOCAL,
        "R before the revoke: di_attributes {before:#x} want {:#x}",
        DOOR_PRIVATE | DOOR_LOCAL
    );
    check!(
        door_revoke(r) == 0,
        "door_revoke(R) failed: {}",
        errno().name()
    );
    // The revoking process's descriptor is closed.
    let mut scratch = door_info_t::default();
    expect_err(
        door_info(r, &mut scratch),
        Errno::EBADF,
        "door_info on the revoked descriptor",
    );
    expect_err(close(r), Errno::EBADF, "close of the revoked descriptor");
    let after = attrs(r2, "R after the revoke");
    check!(
        after == DOOR_PRIVATE | DOOR_LOCAL | DOOR_REVOKED,
        "R after the revoke: di_attributes {after:#x} want {:#x}",
        DOOR_PRIVATE | DOOR_LOCAL | DOOR_REVOKED
    );
    expect_err(
        door_call(r2, null_mut()),
        Errno::EBADF,
        "call of the revoked door",
    );

    // The waiting caller was woken with EBADF while the running call is
    // still in progress (it has not been released yet).
    wait_ok(wait_pid, "waiting");
    check!(
        !RELEASE.load(SeqCst) && R_RETURN.load(SeqCst) == 0,
        "the running call ended before the waiting caller was woken"
    );
    // Now the running call completes normally.
    RELEASE.store(true, SeqCst);
    wait_ok(run_pid, "running");
    // Both children are gone: ours is the only descriptor.
    let last = attrs(r2, "R at the end");
    check!(
        last == DOOR_PRIVATE | DOOR_LOCAL | DOOR_REVOKED | DOOR_IS_UNREF,
        "R at the end: di_attributes {last:#x} want {:#x}",
        DOOR_PRIVATE | DOOR_LOCAL | DOOR_REVOKED | DOOR_IS_UNREF
    );
    expect_err(door_call(r2, null_mut()), Errno::EBADF, "later call of R");
    check!(close(r2) == 0, "close(dup of R)");

    // A revoked door with no running call: its only descriptor is closed
    // by the revoke, so the door is gone.
    let x = door_create(proc_k, null_mut(), 0);
    check!(door_revoke(x) == 0, "door_revoke(x): {}", errno().name());
    expect_err(close(x), Errno::EBADF, "close after door_revoke");
    check!(close(k) == 0, "close(K)");
    true
}
