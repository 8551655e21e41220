//! An object bomb under QEMU: a fork bomb fills the system to its process
//! limit, and every process of it then fills its descriptor table with new
//! doors, then with new open-file descriptions (of `/dev/null`), until
//! that fails; then (as root) raises its table to the largest there is,
//! starts threads whose door calls would wait on a door nobody serves,
//! each carrying the most descriptors a call carries, and fills the rest
//! of its table with duplicates. The system-wide limits stop it, also for
//! this program, which is not part of the bomb: `abi::MAX_DOORS` and
//! `abi::fs::MAX_OPEN_FILES` the doors and files with ENFILE (each used to
//! end in a kernel panic: no memory for their records),
//! `abi::MAX_TABLE_SLOTS` the duplicates with ENFILE (see also the C test
//! `c_tablebomb`), and `abi::MAX_QUEUED_DESCS` the waiting calls with
//! EAGAIN. Once the bomb is
//! released everything is reaped, and doors, files and waiting calls can
//! be made again.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};
use userland::abi::fs::{MAX_OPEN_FILES, O_RDONLY};
use userland::abi::kstat::{DOOR_WAITING, DOORS, OPEN_FILES, PROCESSES};
use userland::abi::{DoorArg, MAX_DOORS, MAX_PROCESSES, MAX_QUEUED_DESCS, Sys, limit};
use userland::fs::{close, dup, dup2, open, pipe, read_fd, write_fd};
use userland::sys::{check, syscall2, syscall3};
use userland::testkit::procs::{expect_exit, fork_child};
use userland::testkit::{desc, expect_eq, verdict, wait_until};
use userland::{Errno, check, println, process, thread};

userland::entry!(main);

/// The largest descriptor table (root may raise its limit that far).
const TABLE: u64 = 4096;
/// The most descriptors one door call carries.
const DESC_MAX: usize = 256;
/// Callers each bomb process starts (thread creation may fail first:
/// `abi::MAX_THREADS` threads exist).
const CALLERS: usize = 16;
/// Calls that wait with `DESC_MAX` descriptors each, all together.
const WAITING: u64 = (MAX_QUEUED_DESCS / DESC_MAX) as u64;

/// Set by a caller thread whose call ended other than with EAGAIN.
static CALL_FAILED: AtomicBool = AtomicBool::new(false);

fn count(stat: usize) -> u64 {
    process::kstat(stat).unwrap_or(0)
}

/// A new door (never served: no server procedure runs), by the raw call,
/// so that no server thread is started for it.
fn new_door() -> Result<i32, Errno> {
    check(syscall3(Sys::DoorCreate, 0x1000, 0, 0)).map(|fd| fd as i32)
}

/// Makes objects with `make` until it fails; 0 if it failed with EMFILE
/// (the table is full) or ENFILE (the system's limit).
fn fill(what: &str, mut make: impl FnMut() -> Result<i32, Errno>) -> i32 {
    loop {
        match make() {
            Ok(_) => {}
            Err(Errno::EMFILE | Errno::ENFILE) => return 0,
            Err(e) => {
                println!("objbomb: making {what} failed with {}", e.name());
                return 1;
            }
        }
    }
}

/// Calls door `d`, which nobody serves, passing it `DESC_MAX` times: the
/// call waits (until the process ends) unless the waiting calls carry
/// `MAX_QUEUED_DESCS` descriptors already (EAGAIN).
fn call_unserved(d: i32) -> Result<usize, Errno> {
    let descs = [desc(d, false); DESC_MAX];
    let mut arg = DoorArg {
        desc_ptr: descs.as_ptr() as u64,
        desc_num: DESC_MAX as u32,
        ..DoorArg::default()
    };
    check(syscall2(Sys::DoorCall, d as usize, &raw mut arg as usize))
}

/// A caller thread's work: [`call_unserved`], which may end only with
/// EAGAIN.
fn wait_on(d: i32) -> u64 {
    let r = call_unserved(d);
    if r != Err(Errno::EAGAIN) {
        println!("objbomb: a call to a door nobody serves ended with {r:?}");
        CALL_FAILED.store(true, Ordering::Relaxed);
    }
    0
}

/// Raises the table to `TABLE`, starts `CALLERS` threads calling door
/// `d`, and fills the table with duplicates of `d`; 0 if that went as
/// expected.
fn wait_with_descriptors(d: i32) -> i32 {
    if let Err(e) = process::set_limit(0, limit::DESCRIPTORS, TABLE) {
        println!("objbomb: raising the table failed with {}", e.name());
        return 1;
    }
    for _ in 0..CALLERS {
        match thread::spawn_with_stack(16 * 1024, move || wait_on(d)) {
            Ok(_) => {}
            Err(Errno::EAGAIN | Errno::ENOMEM) => break,
            Err(e) => {
                println!("objbomb: thread creation failed with {}", e.name());
                return 1;
            }
        }
    }
    fill("duplicates", || dup(d))
}

/// Forks until fork fails (each child does the same), fills its table
/// with doors and open files and has calls wait on door `unserved` with
/// descriptors, writes a byte to `ready`, then waits for the end of file
/// on `release` (whose write end only the test holds) and reaps its
/// children; 0 if every failure was the expected one and every child's 0.
fn bomb(release: i32, ready: i32, unserved: i32) -> i32 {
    let mut status = 0;
    loop {
        match process::fork() {
            Ok(0) => process::exit(bomb(release, ready, unserved)),
            Ok(_) => {}
            Err(Errno::EAGAIN) => break,
            Err(e) => {
                println!("objbomb: fork failed with {}", e.name());
                status = 1;
                break;
            }
        }
    }
    status |= fill("doors", new_door);
    status |= fill("open files", || open("/dev/null", O_RDONLY, 0));
    status |= wait_with_descriptors(unserved);
    write_fd(ready, &[1]).expect("write");
    let _ = read_fd(release, &mut [0u8; 1]);
    while let Ok(Some((_, s))) = process::wait4(-1, 0) {
        if s != 0 {
            status = 1;
        }
    }
    if CALL_FAILED.load(Ordering::Relaxed) {
        status = 1;
    }
    status
}

fn main() -> i32 {
    let unserved = new_door().expect("door_create");
    // The door's calls are checked against this table, which must take
    // their descriptors: free slots for them before the bomb takes every
    // slot the tables may have (`abi::MAX_TABLE_SLOTS`).
    process::set_limit(0, limit::DESCRIPTORS, TABLE).expect("raising the table");
    let last = 2 * DESC_MAX as i32;
    expect_eq("dup2", dup2(unserved, last), Ok(last));
    close(last).expect("close");
    let (processes, doors, files) = (count(PROCESSES), count(DOORS), count(OPEN_FILES));
    let (release, hold) = pipe().expect("pipe");
    let (ready, ready_in) = pipe().expect("pipe");
    let bomber = fork_child("bomb", || {
        close(hold).expect("close");
        close(ready).expect("close");
        bomb(release, ready_in, unserved)
    });
    close(ready_in).expect("close");
    let full = wait_until(6000, || count(PROCESSES) >= MAX_PROCESSES as u64);
    check!(full, "the bomb stopped at {} processes", count(PROCESSES));
    for _ in processes..count(PROCESSES) {
        expect_eq("a bomb process ready", read_fd(ready, &mut [0]), Ok(1));
    }
    let queue_full = wait_until(6000, || count(DOOR_WAITING) >= WAITING);
    check!(
        queue_full,
        "only {} calls wait with descriptors",
        count(DOOR_WAITING)
    );
    expect_eq("calls waiting", count(DOOR_WAITING), WAITING);
    expect_eq(
        "a call that would wait beyond the limit",
        call_unserved(unserved),
        Err(Errno::EAGAIN),
    );
    expect_eq("doors", count(DOORS), MAX_DOORS as u64);
    expect_eq("open files", count(OPEN_FILES), MAX_OPEN_FILES as u64);
    expect_eq("door_create at the limit", new_door(), Err(Errno::ENFILE));
    expect_eq(
        "open at the limit",
        open("/dev/null", O_RDONLY, 0),
        Err(Errno::ENFILE),
    );
    println!(
        "objbomb: {} processes, {} doors, {} open files: door_create and open fail with ENFILE",
        count(PROCESSES),
        count(DOORS),
        count(OPEN_FILES)
    );
    println!(
        "objbomb: {} calls wait with {DESC_MAX} descriptors each, beside tables of {TABLE}: \
         door_call fails with EAGAIN",
        count(DOOR_WAITING)
    );
    close(hold).expect("close");
    close(release).expect("close");
    expect_exit("the bomb", bomber, 0);
    expect_eq("every process reaped", count(PROCESSES), processes);
    expect_eq("every door gone", count(DOORS), doors);
    expect_eq("every open file gone", count(OPEN_FILES), files);
    expect_eq("no call waits", count(DOOR_WAITING), 0);
    let door = new_door().expect("door_create after the bomb");
    close(door).expect("close");
    let file = open("/dev/null", O_RDONLY, 0).expect("open after the bomb");
    close(file).expect("close");
    let waiter = thread::spawn_with_stack(16 * 1024, move || wait_on(unserved))
        .expect("a caller thread after the bomb");
    let waits = wait_until(6000, || count(DOOR_WAITING) == 1);
    check!(waits, "a call after the bomb does not wait");
    drop(waiter);
    close(ready).expect("close");
    verdict(true)
}
