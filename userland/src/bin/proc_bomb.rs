//! A fork bomb under QEMU: every process forks until fork fails, and no
//! process ends before the bomb is over, so the system fills up to its
//! process limit (`abi::MAX_PROCESSES`); fork then fails with EAGAIN, also
//! for this program, which is not part of the bomb. Once the bomb is
//! released everything is reaped, and a fork works again.
#![no_std]
#![no_main]

extern crate alloc;

use userland::abi::MAX_PROCESSES;
use userland::abi::kstat::PROCESSES;
use userland::fs::{close, pipe, read_fd};
use userland::testkit::procs::{expect_exit, fork_child};
use userland::testkit::{expect_eq, fail, verdict, wait_until};
use userland::{Errno, check, println, process};

userland::entry!(main);

fn processes() -> u64 {
    process::kstat(PROCESSES).unwrap_or(0)
}

/// Forks until fork fails (each child does the same), then waits for the
/// end of file on `release` (whose write end only the test holds), reaps
/// its children; 0 if every failure was EAGAIN and every child's 0.
fn bomb(release: i32) -> i32 {
    let mut status = 0;
    loop {
        match process::fork() {
            Ok(0) => process::exit(bomb(release)),
            Ok(_) => {}
            Err(Errno::EAGAIN) => break,
            Err(e) => {
                println!("proc_bomb: fork failed with {}", e.name());
                status = 1;
                break;
            }
        }
    }
    let _ = read_fd(release, &mut [0u8; 1]);
    while let Ok(Some((_, s))) = process::wait4(-1, 0) {
        if s != 0 {
            status = 1;
        }
    }
    status
}

fn main() -> i32 {
    let before = processes();
    let (release, hold) = pipe().expect("pipe");
    let bomber = fork_child("bomb", || {
        close(hold).expect("close");
        bomb(release)
    });
    let full = wait_until(3000, || processes() >= MAX_PROCESSES as u64);
    check!(full, "the bomb stopped at {} processes", processes());
    expect_eq(
        "fork when the system is full",
        process::fork().map(|_| ()),
        Err(Errno::EAGAIN),
    );
    println!(
        "proc_bomb: {} processes, fork fails with EAGAIN",
        processes()
    );
    close(hold).expect("close");
    close(release).expect("close");
    expect_exit("the bomb", bomber, 0);
    expect_eq("every process reaped", processes(), before);
    let after = fork_child("after the bomb", || 0);
    if after == 0 {
        fail(format_args!("fork after the bomb"));
    }
    expect_exit("after the bomb", after, 0);
    verdict(true)
}
