//! Threads: create, join (with results), shared memory between threads
//! under preemption, the join errors, and whole-process effects: `exit`
//! from one thread ends the others, and a fault in any thread kills the
//! process.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use userland::abi::{KILLED_BASE, Sys};
use userland::sys::{Errno, check, syscall3};
use userland::{arg, println, process, thread};

userland::entry!(main);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Child modes: a process whose main thread exits while another thread
/// sleeps, and one whose second thread faults while main waits.
fn child(mode: &str) -> i32 {
    match mode {
        "exit" => {
            thread::spawn(|| {
                process::sleep_ticks(100_000);
                0
            })
            .expect("spawn sleeper");
            process::exit(7)
        }
        "fault" => {
            let h = thread::spawn(|| {
                // SAFETY: a deliberate bad read: the kernel kills the process.
                unsafe { core::ptr::read_volatile(0x10 as *const u64) }
            })
            .expect("spawn faulter");
            let _ = h.join();
            3
        }
        _ => 2,
    }
}

fn run_child(mode: &str) -> i32 {
    let pid = process::spawn("threads", &[mode]).expect("spawn child");
    process::wait(Some(pid)).expect("wait child").1
}

fn main() -> i32 {
    if let Some(mode) = arg(1) {
        return child(mode);
    }
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            thread::spawn(move || {
                for _ in 0..20_000 {
                    COUNTER.fetch_add(1, Ordering::Relaxed);
                }
                (1..=1000u64).map(|x| x * (i + 1)).sum()
            })
            .expect("spawn")
        })
        .collect();
    let tids: Vec<u32> = handles.iter().map(|h| h.tid()).collect();
    let results: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().expect("join"))
        .collect();
    for (i, r) in results.iter().enumerate() {
        if *r != 500_500 * (i as u64 + 1) {
            println!("threads: thread {i} returned {r}");
            return 1;
        }
    }
    if COUNTER.load(Ordering::Relaxed) != 80_000 {
        println!("threads: counter is {}", COUNTER.load(Ordering::Relaxed));
        return 1;
    }
    let join = thread::join_raw;
    if join(tids[0]) != Err(Errno::ESRCH)
        || join(thread::gettid()) != Err(Errno::EDEADLK)
        || join(99_999) != Err(Errno::ESRCH)
    {
        println!("threads: join errors wrong");
        return 1;
    }
    let bad_entry = check(syscall3(
        Sys::ThreadCreate,
        0xffff_ffff_8000_0000,
        0,
        0x1000_0000,
    ));
    if bad_entry != Err(Errno::EINVAL) {
        println!("threads: kernel entry point accepted: {bad_entry:?}");
        return 1;
    }
    let (exit, fault) = (run_child("exit"), run_child("fault"));
    if exit != 7 || fault != KILLED_BASE + 14 {
        println!("threads: exit with a live thread gave {exit}, a faulting thread gave {fault}");
        return 1;
    }
    println!("threads: 4 threads joined with correct results; exit and faults end every thread");
    0
}
