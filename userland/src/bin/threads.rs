//! Threads: create, join (with results), shared memory between threads
//! under preemption, and the join errors.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use userland::abi::errno::{EDEADLK, EINVAL, ESRCH};
use userland::abi::sys;
use userland::sys::{Errno, check, syscall1, syscall3};
use userland::{println, thread};

userland::entry!(main);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn main() -> i32 {
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
    let join = |tid: u32| check(syscall1(sys::THREAD_JOIN, tid as usize));
    if join(tids[0]) != Err(Errno(ESRCH))
        || join(thread::gettid()) != Err(Errno(EDEADLK))
        || join(99_999) != Err(Errno(ESRCH))
    {
        println!("threads: join errors wrong");
        return 1;
    }
    let bad_entry = check(syscall3(
        sys::THREAD_CREATE,
        0xffff_ffff_8000_0000,
        0,
        0x1000_0000,
    ));
    if bad_entry != Err(Errno(EINVAL)) {
        println!("threads: kernel entry point accepted: {bad_entry:?}");
        return 1;
    }
    println!("threads: 4 threads joined with correct results");
    0
}
