//! Support code for the test programs in `src/bin/` (not part of the
//! runtime proper): a per-process failure counter with [`check!`](crate::check)
//! and [`fail`], the checks the door tests repeat (errno expectations,
//! bounded waits, child processes), and the helpers their server procedures
//! share (the invocation's arguments as slices, replying, descriptor
//! entries).
//!
//! A failed check prints `<program>: FAIL [pid N]: <what>` and is counted;
//! [`verdict`] turns the count into the exit status (printing
//! `<program>: ok` when nothing failed).
//!
//! The submodules hold what a group of programs shares: [`dcall`] the
//! two-process harness of the door_call error-code programs, [`dargs`] the
//! door and client helpers of the door_arg_t contract programs, [`dpool`]
//! the doors, pools and create procedure of the door_server_create programs.

use crate::door::safe::Door;
use crate::door::{
    DOOR_DESCRIPTOR, DOOR_RELEASE, DOOR_UNREF_DATA, door_arg_t, door_desc_t, door_info,
    door_info_t, door_return, errno,
};
use crate::sys::Errno;
use crate::{arg, println, process, thread};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

pub mod dargs;
pub mod dcall;
pub mod dpool;

static FAILURES: AtomicU32 = AtomicU32::new(0);

/// The program's name (its argument 0), as failure reports begin.
fn program() -> &'static str {
    arg(0).unwrap_or("?")
}

/// Reports a failed check (`<program>: FAIL [pid N]: <what>`) and counts it.
pub fn fail(what: fmt::Arguments) {
    println!("{}: FAIL [pid {}]: {what}", program(), process::getpid());
    FAILURES.fetch_add(1, SeqCst);
}

/// How many checks failed in this process so far.
pub fn failures() -> u32 {
    FAILURES.load(SeqCst)
}

/// Reports, through [`fail`](crate::testkit::fail), a condition that does
/// not hold: `check!(cond, "format", args...)`.
#[macro_export]
macro_rules! check {
    ($c:expr, $($f:tt)+) => {
        if !$c {
            $crate::testkit::fail(format_args!($($f)+));
        }
    };
}

/// Returns `Err(format!(...))` from the enclosing function (which returns a
/// [`Outcome`](crate::testkit::Outcome)) when the condition does not hold.
#[macro_export]
macro_rules! ensure {
    ($c:expr, $($a:tt)*) => {
        if !$c {
            return Err(alloc::format!($($a)*));
        }
    };
}

/// The result of a check that stops at its first problem (see
/// [`ensure!`](crate::ensure)).
pub type Outcome = Result<(), String>;

/// The exit status of this process: 0 when no check failed (printing
/// `<program>: ok` if `announce`), else 1 (printing the count).
pub fn verdict(announce: bool) -> i32 {
    match failures() {
        0 => {
            if announce {
                println!("{}: ok", program());
            }
            0
        }
        n => {
            println!("{}[{}]: {n} check(s) failed", program(), process::getpid());
            1
        }
    }
}

/// `ret` must be -1 with errno `want`.
pub fn expect_err(ret: i32, want: Errno, what: &str) {
    let e = errno();
    check!(
        ret == -1 && e == want,
        "{what}: got {ret} errno {} ({e}), want -1 {}",
        e.name(),
        want.name()
    );
}

/// `ret` must not be negative (the call succeeded); returns it.
pub fn expect_ok(what: &str, ret: i32) -> i32 {
    check!(ret >= 0, "{what}: failed with {}", errno().name());
    ret
}

/// `got` must equal `want`.
pub fn expect_eq<T: PartialEq + fmt::Debug>(what: &str, got: T, want: T) {
    check!(got == want, "{what}: got {got:?}, expected {want:?}");
}

/// Polls `f` once a timer tick, at most `ticks` times; returns its last
/// answer (a failure is reported by the caller, not a hang).
pub fn wait_until(ticks: u64, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..ticks {
        if f() {
            return true;
        }
        process::sleep_ticks(1);
    }
    f()
}

/// Spawns this program again with arguments `args` and the descriptors
/// `fds` (a failure is reported).
pub fn spawn(args: &[&str], fds: &[i32]) -> Option<u32> {
    match process::spawn_with_fds(program(), args, fds) {
        Ok(p) => Some(p),
        Err(e) => {
            fail(format_args!("spawn {args:?}: {e:?}"));
            None
        }
    }
}

/// Waits for child `pid` (named `what`), which must exit with status 0.
pub fn wait_child(what: &str, pid: u32) {
    match process::wait(Some(pid)) {
        Ok((_, 0)) => {}
        Ok((_, s)) => fail(format_args!("{what} exited with status {s}")),
        Err(e) => fail(format_args!("wait for {what}: {e:?}")),
    }
}

/// Argument `i` as a number (-1 when absent or not a number).
pub fn num_arg(i: usize) -> i64 {
    arg(i).and_then(|s| s.parse().ok()).unwrap_or(-1)
}

/// door_info of `fd`, or the errno.
pub fn info(fd: i32) -> Result<door_info_t, Errno> {
    let mut i = door_info_t::default();
    match door_info(fd, &mut i) {
        0 => Ok(i),
        _ => Err(errno()),
    }
}

/// The uniquifier of the door `d` (0 after a reported failure).
pub fn uniq(d: i32) -> u64 {
    match info(d) {
        Ok(i) => i.di_uniquifier,
        Err(e) => {
            fail(format_args!("door_info({d}) failed with {}", e.name()));
            0
        }
    }
}

/// Descriptor `d` must be open (`live`) or closed (EBADF).
pub fn expect_live(what: &str, d: i32, live: bool) {
    match (live, info(d)) {
        (true, Ok(_)) | (false, Err(Errno::EBADF)) => {}
        (true, Err(e)) => fail(format_args!(
            "{what}: descriptor {d} should still be open, door_info: {}",
            e.name()
        )),
        (false, Err(e)) => fail(format_args!("{what}: door_info({d}) errno {}", e.name())),
        (false, Ok(_)) => fail(format_args!(
            "{what}: descriptor {d} should have been closed"
        )),
    }
}

/// A descriptor entry passing `fd` (closed by the pass if `release`).
pub fn desc(fd: i32, release: bool) -> door_desc_t {
    door_desc_t::new(fd, DOOR_DESCRIPTOR | if release { DOOR_RELEASE } else { 0 })
}

/// A server invocation's argument data as a slice (empty for an
/// unreferenced invocation). Only for the `argp` and `size` the kernel
/// passed the server procedure.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // the kernel vouches for them
pub fn data<'a>(argp: *mut u8, size: usize) -> &'a [u8] {
    if size == 0 || argp.is_null() || argp as u64 == DOOR_UNREF_DATA {
        &[]
    } else {
        // SAFETY: the kernel laid out `size` argument bytes at `argp`.
        unsafe { core::slice::from_raw_parts(argp, size) }
    }
}

/// A server invocation's data and descriptors as slices. Only for the
/// arguments the kernel passed the server procedure.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // the kernel vouches for them
pub fn args<'a>(
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) -> (&'a [u8], &'a [door_desc_t]) {
    let descs = if n == 0 || dp.is_null() {
        &[][..]
    } else {
        // SAFETY: the kernel laid out `n` descriptor entries at `dp`.
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    };
    (data(argp, size), descs)
}

/// Ends the invocation with `data` and `descs`. If door_return fails, the
/// client gets "bad: door_return failed with <errno>" instead.
pub fn reply(data: &[u8], descs: &[door_desc_t]) {
    let mut descs: Vec<door_desc_t> = descs.to_vec();
    door_return(
        data.as_ptr() as *mut u8,
        data.len(),
        descs.as_mut_ptr(),
        descs.len() as u32,
    );
    let msg = format!("bad: door_return failed with {}", errno().name());
    door_return(msg.as_ptr() as *mut u8, msg.len(), null_mut(), 0);
}

/// Calls door `fd`; the result data and descriptors, or the errno.
pub fn call_full(
    fd: i32,
    data: &[u8],
    descs: &[door_desc_t],
) -> Result<(Vec<u8>, Vec<door_desc_t>), Errno> {
    Door::from_fd(fd)
        .call(data, descs)
        .map(|r| (r.data, r.descs))
}

/// Calls door `fd`; the result data, or the errno.
pub fn call(fd: i32, data: &[u8], descs: &[door_desc_t]) -> Result<Vec<u8>, Errno> {
    call_full(fd, data, descs).map(|r| r.0)
}

/// Calls `d` and expects `want` with no descriptors back.
pub fn call_expect(what: &str, d: i32, data: &[u8], descs: &[door_desc_t], want: &[u8]) {
    match call_full(d, data, descs) {
        Ok((r, rd)) => check!(
            r == want && rd.is_empty(),
            "{what}: reply {:?} with {} descriptors, expected {:?}",
            String::from_utf8_lossy(&r),
            rd.len(),
            String::from_utf8_lossy(want)
        ),
        Err(e) => fail(format_args!("{what}: door_call failed with {}", e.name())),
    }
}

/// Calls `d` and expects it to fail with `want`.
pub fn call_err(what: &str, d: i32, data: &[u8], descs: &[door_desc_t], want: Errno) {
    match call_full(d, data, descs) {
        Err(e) => check!(
            e == want,
            "{what}: errno {}, expected {}",
            e.name(),
            want.name()
        ),
        Ok((r, _)) => fail(format_args!(
            "{what}: succeeded ({:?}), expected {}",
            String::from_utf8_lossy(&r),
            want.name()
        )),
    }
}

/// The little-endian word at byte `at` of `b`.
pub fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Starts a server thread with a `stack`-byte stack that parks in
/// door_return (for a door_server_create procedure). If door_return fails,
/// the thread calls `failed` with the errno and ends.
pub fn spawn_server_thread(stack: usize, failed: fn(Errno)) -> Result<u32, Errno> {
    thread::spawn_with_stack(stack, move || {
        door_return(null_mut(), 0, null_mut(), 0);
        failed(errno());
        0
    })
    .map(|h| h.tid())
}

/// door_call arguments for `data` (no descriptors) with results in `rbuf`.
pub fn arg_for(data: &[u8], rbuf: &mut [u8]) -> door_arg_t {
    door_arg_t {
        data_ptr: data.as_ptr() as u64,
        data_size: data.len() as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: rbuf.as_mut_ptr() as u64,
        rsize: rbuf.len() as u64,
    }
}
