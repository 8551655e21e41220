//! An object bomb under QEMU: a fork bomb fills the system to its process
//! limit, and every process of it then fills its descriptor table with new
//! doors, then with new open-file descriptions (of `/dev/null`), until
//! that fails. Across 256 processes that is far more of both than the
//! kernel heap holds; the system-wide limits (`abi::MAX_DOORS`,
//! `abi::fs::MAX_OPEN_FILES`) stop them first, with ENFILE, also for this
//! program, which is not part of the bomb (it used to end in a kernel
//! panic: no memory for the doors' records). Once the bomb is released
//! everything is reaped, and doors and files can be made again.
#![no_std]
#![no_main]

use userland::abi::fs::{MAX_OPEN_FILES, O_RDONLY};
use userland::abi::kstat::{DOORS, OPEN_FILES, PROCESSES};
use userland::abi::{MAX_DOORS, MAX_PROCESSES, Sys};
use userland::fs::{close, open, pipe, read_fd};
use userland::sys::{check, syscall3};
use userland::testkit::procs::{expect_exit, fork_child};
use userland::testkit::{expect_eq, verdict, wait_until};
use userland::{Errno, check, println, process};

userland::entry!(main);

fn count(stat: usize) -> u64 {
    process::kstat(stat).unwrap_or(0)
}

/// A new door (never called: no server procedure runs), by the raw call,
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

/// Forks until fork fails (each child does the same), fills its table
/// with doors, then with open files, then waits for the end of file on
/// `release` (whose write end only the test holds) and reaps its children;
/// 0 if every failure was the expected one and every child's 0.
fn bomb(release: i32) -> i32 {
    let mut status = 0;
    loop {
        match process::fork() {
            Ok(0) => process::exit(bomb(release)),
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
    let _ = read_fd(release, &mut [0u8; 1]);
    while let Ok(Some((_, s))) = process::wait4(-1, 0) {
        if s != 0 {
            status = 1;
        }
    }
    status
}

fn main() -> i32 {
    let (processes, doors, files) = (count(PROCESSES), count(DOORS), count(OPEN_FILES));
    let (release, hold) = pipe().expect("pipe");
    let bomber = fork_child("bomb", || {
        close(hold).expect("close");
        bomb(release)
    });
    let full = wait_until(6000, || {
        count(PROCESSES) >= MAX_PROCESSES as u64
            && count(DOORS) >= MAX_DOORS as u64
            && count(OPEN_FILES) >= MAX_OPEN_FILES as u64
    });
    check!(
        full,
        "the bomb stopped at {} processes, {} doors, {} open files",
        count(PROCESSES),
        count(DOORS),
        count(OPEN_FILES)
    );
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
    close(hold).expect("close");
    close(release).expect("close");
    expect_exit("the bomb", bomber, 0);
    expect_eq("every process reaped", count(PROCESSES), processes);
    expect_eq("every door gone", count(DOORS), doors);
    expect_eq("every open file gone", count(OPEN_FILES), files);
    let door = new_door().expect("door_create after the bomb");
    close(door).expect("close");
    let file = open("/dev/null", O_RDONLY, 0).expect("open after the bomb");
    close(file).expect("close");
    verdict(true)
}
