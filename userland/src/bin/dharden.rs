//! Door hardening against hostile callers and careless servers:
//! - a call waiting for a server thread whose argument bytes another thread
//!   of the caller unmaps fails with EFAULT when a server thread takes it,
//!   and nothing of it (not even its passed descriptor) reaches the server;
//! - a malformed descriptor entry (DOOR_RELEASE without DOOR_DESCRIPTOR)
//!   fails with EINVAL and closes nothing it names;
//! - an idle server thread whose argument area is unmapped leaves its pool:
//!   its door_return fails with EFAULT;
//! - a call waiting for the bound thread of a private door, passing the
//!   door (its message then holds the door's last reference) with
//!   arguments that do not fit the thread's area, fails with E2BIG when
//!   the thread parks, and frees the door with its pool: the thread,
//!   unbound, gets EBADF from that door_return (the kernel panicked here
//!   once).
#![no_std]
#![no_main]

extern crate alloc;

use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use userland::abi::kstat;
use userland::door::{
    DOOR_PRIVATE, DOOR_RELEASE, close, door_arg_t, door_bind, door_call, door_create, door_desc_t,
    door_info, door_info_t, door_return, door_return_on, door_server_create, dup, errno,
};
use userland::testkit::{data, desc, expect_eq, expect_err, expect_ok, verdict, wait_until};
use userland::{Errno, check, heap, process, thread};

userland::entry!(main);

/// Invocations served, descriptors they carried; whether a held call may
/// finish; the errno of a server's door_return that failed.
static CALLS: AtomicU32 = AtomicU32::new(0);
static DESCS: AtomicU32 = AtomicU32::new(0);
static RELEASE: AtomicBool = AtomicBool::new(false);
static RETURN_FAILED: AtomicU32 = AtomicU32::new(0);

extern "C" fn server(_: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, n: u32) {
    CALLS.fetch_add(1, SeqCst);
    DESCS.fetch_add(n, SeqCst);
    if data(argp, size) == b"hold" {
        while !RELEASE.load(SeqCst) {
            process::yield_now();
        }
    }
    door_return(null_mut(), 0, null_mut(), 0);
    RETURN_FAILED.store(u32::from(errno().code()), SeqCst);
}

extern "C" fn no_threads(_: *mut door_info_t) {}

const PATIENCE: u64 = 500;

fn kstat(which: usize) -> u64 {
    process::kstat(which).expect("kstat")
}

fn call_with(d: i32, data: &[u8], descs: &mut [door_desc_t]) -> (i32, Errno) {
    let mut arg = door_arg_t {
        data_ptr: data.as_ptr() as u64,
        data_size: data.len() as u64,
        desc_ptr: descs.as_mut_ptr() as u64,
        desc_num: descs.len() as u32,
        rbuf: 0,
        rsize: 0,
    };
    let r = door_call(d, &mut arg);
    (r, errno())
}

/// A queued call loses its arguments.
fn unmapped_arguments(d: i32) {
    let holder = thread::spawn(move || call_with(d, b"hold", &mut []).0 as u64).expect("spawn");
    check!(
        wait_until(PATIENCE, || CALLS.load(SeqCst) == 1),
        "the held call was never served"
    );
    let before = kstat(kstat::DESCRIPTORS);
    let passed = expect_ok("dup", dup(d));
    let area = heap::map(4096, 0).expect("map");
    // SAFETY: a fresh mapping of 4096 bytes.
    unsafe { core::ptr::copy_nonoverlapping(b"args".as_ptr(), area as *mut u8, 4) };
    let caller = thread::spawn(move || {
        // SAFETY: the mapping stays until the main thread unmaps it, which
        // is what the test is about; only the kernel reads it.
        let args = unsafe { core::slice::from_raw_parts(area as *const u8, 4) };
        let (r, e) = call_with(d, args, &mut [desc(passed, true)]);
        if r == 0 { 0 } else { u64::from(e.code()) }
    })
    .expect("spawn");
    check!(
        wait_until(PATIENCE, || kstat(kstat::DOOR_WAITING) == 1),
        "the second call never waited for a server thread"
    );
    heap::unmap(area, 4096).expect("unmap");
    RELEASE.store(true, SeqCst);
    expect_eq("the held call", holder.join().ok(), Some(0));
    let failed = caller.join().ok().map(|e| Errno::from_code(e as u16));
    expect_eq(
        "the call whose arguments vanished",
        failed,
        Some(Errno::EFAULT),
    );
    expect_eq("invocations served", CALLS.load(SeqCst), 1);
    expect_eq("descriptors that reached the server", DESCS.load(SeqCst), 0);
    expect_eq(
        "descriptors open (the released one is gone, none was installed)",
        kstat(kstat::DESCRIPTORS),
        before,
    );
}

/// A malformed entry closes nothing.
fn malformed_entry(d: i32) {
    let named = expect_ok("dup", dup(d));
    let bad = door_desc_t::new(named, DOOR_RELEASE);
    let (r, e) = call_with(d, b"x", &mut [bad]);
    expect_err(
        if r == 0 { 0 } else { -1 },
        Errno::EINVAL,
        "DOOR_RELEASE without DOOR_DESCRIPTOR",
    );
    check!(e == Errno::EINVAL, "errno {e:?}");
    let mut info = door_info_t::default();
    expect_ok(
        "door_info of the descriptor the bad entry named",
        door_info(named, &mut info),
    );
}

/// Where the idle thread of the private door registered its area.
static AREA: AtomicU32 = AtomicU32::new(0);
static PARKING: AtomicBool = AtomicBool::new(false);

/// An idle thread's area goes away.
fn unmapped_area() {
    let p = door_create(server, null_mut(), DOOR_PRIVATE);
    expect_ok("door_create(private)", p);
    let len = 64 * 1024;
    let area = heap::map(len, 0).expect("map");
    let idle = thread::spawn(move || {
        if door_bind(p) != 0 {
            return 1;
        }
        PARKING.store(true, SeqCst);
        let r = door_return_on(null_mut(), 0, null_mut(), 0, area, len);
        AREA.store(u32::from(errno().code()), SeqCst);
        r as u64
    })
    .expect("spawn");
    check!(
        wait_until(PATIENCE, || PARKING.load(SeqCst)),
        "never parking"
    );
    process::sleep_ticks(1);
    heap::unmap(area, len).expect("unmap");
    let ended = wait_until(PATIENCE, || AREA.load(SeqCst) != 0);
    check!(
        ended,
        "the idle thread stayed in its pool after its area was unmapped"
    );
    if ended {
        expect_eq("its door_return", idle.join(), Ok(u64::MAX));
        expect_eq(
            "its errno",
            Errno::from_code(AREA.load(SeqCst) as u16),
            Errno::EFAULT,
        );
    }
}

/// A waiting call frees the private door whose bound thread parks.
fn freed_while_parking() {
    RELEASE.store(false, SeqCst);
    let served = CALLS.load(SeqCst);
    let p = door_create(server, null_mut(), DOOR_PRIVATE);
    expect_ok("door_create(private)", p);
    let bound = thread::spawn(move || {
        if door_bind(p) != 0 {
            return 1;
        }
        door_return(null_mut(), 0, null_mut(), 0);
        2
    })
    .expect("spawn");
    let holder = thread::spawn(move || call_with(p, b"hold", &mut []).0 as u64).expect("spawn");
    check!(
        wait_until(PATIENCE, || CALLS.load(SeqCst) == served + 1),
        "the held call was never served"
    );
    // More than the bound thread's stack area holds.
    let big = alloc::vec![7u8; 2 * thread::DEFAULT_STACK_SIZE];
    let passed = expect_ok("dup", dup(p));
    let caller = thread::spawn(move || {
        let (r, e) = call_with(p, &big, &mut [desc(passed, true)]);
        if r == 0 { 0 } else { u64::from(e.code()) }
    })
    .expect("spawn");
    check!(
        wait_until(PATIENCE, || kstat(kstat::DOOR_WAITING) == 1),
        "the large call never waited for the bound thread"
    );
    expect_ok("close", close(p));
    RELEASE.store(true, SeqCst);
    expect_eq("the held call", holder.join().ok(), Some(0));
    let failed = caller.join().ok().map(|e| Errno::from_code(e as u16));
    expect_eq("the call that did not fit", failed, Some(Errno::E2BIG));
    // The procedure returns when its door_return fails: the thread ends.
    expect_eq("the bound thread", bound.join().ok(), Some(0));
    expect_eq(
        "its door_return",
        Errno::from_code(RETURN_FAILED.load(SeqCst) as u16),
        Errno::EBADF,
    );
}

fn main() -> i32 {
    door_server_create(Some(no_threads));
    let d = expect_ok("door_create", door_create(server, null_mut(), 0));
    let _server = thread::spawn(|| {
        door_return(null_mut(), 0, null_mut(), 0);
        0
    })
    .expect("spawn server thread");
    unmapped_arguments(d);
    malformed_entry(d);
    unmapped_area();
    freed_while_parking();
    verdict(true)
}
