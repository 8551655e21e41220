//! Per-process limits (`abi::limit`): memory has a default share, threads
//! count exited ones nobody joined, detached threads leave nothing behind,
//! a process may lower its own limits but only euid 0 raises them or
//! changes a child's.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use userland::abi::{MEM_MAP_MAX, kstat, limit};
use userland::door::safe::{Door, Response, detach_file};
use userland::door::seteuid;
use userland::sys::Errno;
use userland::{arg, heap, println, process, thread};

userland::entry!(main);

const DONE: &str = "/tmp/limits.done";

macro_rules! check {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            println!("limits: FAIL: {}", format_args!($($msg)*));
            return 1;
        }
    };
}

/// A thread returning `value`, started as soon as the thread limit allows
/// (`None` if it never does).
fn spawn_when_room(value: u64) -> Option<thread::JoinHandle> {
    for _ in 0..100_000 {
        match thread::spawn(move || value) {
            Ok(h) => return Some(h),
            Err(_) => process::yield_now(),
        }
    }
    None
}

fn main() -> i32 {
    if arg(1) == Some("child") {
        while Door::open(DONE).map(Door::close).is_err() {
            process::sleep_ticks(1);
        }
        return 0;
    }
    // Memory: a share of what there is, and mapping stops there.
    let memory = process::get_limit(0, limit::MEMORY).expect("get_limit");
    let free = process::kstat(kstat::FREE_FRAMES).expect("kstat") * 4096;
    check!(
        memory > 0 && memory < free,
        "memory limit {memory} of {free} free bytes"
    );
    let mut areas = Vec::new();
    let refused = loop {
        match heap::map(MEM_MAP_MAX as usize, 0) {
            Ok(a) => areas.push(a),
            Err(e) => break e,
        }
    };
    let mapped = areas.len() as u64 * MEM_MAP_MAX;
    for a in areas {
        heap::unmap(a, MEM_MAP_MAX as usize).expect("unmap");
    }
    check!(
        refused == Errno::ENOMEM && mapped <= memory && mapped + 2 * MEM_MAP_MAX > memory,
        "mapped {mapped} of a {memory}-byte limit, then {refused:?}"
    );
    check!(
        heap::map(MEM_MAP_MAX as usize + 4096, 0) == Err(Errno::EINVAL),
        "a map above MEM_MAP_MAX"
    );

    // Threads: exited ones nobody joined count.
    process::set_limit(0, limit::THREADS, 8).expect("lower the thread limit");
    let mut kept = Vec::new();
    let refused = loop {
        match thread::spawn(|| 7) {
            Ok(h) => kept.push(h),
            Err(e) => break e,
        }
    };
    check!(
        refused == Errno::EAGAIN && kept.len() == 7,
        "{} threads besides main, then {refused:?}; expected 7 then EAGAIN",
        kept.len()
    );
    for h in kept {
        check!(h.join() == Ok(7), "join");
    }
    // Detached threads leave nothing: many more than the limit, one after
    // another, all start.
    for i in 0..2000 {
        check!(
            spawn_when_room(0).is_some(),
            "detached thread {i} never started"
        );
    }
    // They left no exit values: with room for one more thread, one starts
    // as soon as they have ended.
    process::set_limit(0, limit::THREADS, 2).expect("lower the thread limit");
    check!(
        spawn_when_room(1).is_some_and(|h| h.join() == Ok(1)),
        "no thread starts under a limit of 2 after the detached ones ended"
    );

    // Who may change limits.
    check!(
        process::set_limit(0, limit::THREADS, 16) == Ok(()),
        "root raises its own limit"
    );
    let child = process::spawn("limits", &["child"]).expect("spawn");
    check!(
        process::set_limit(child, limit::CHILDREN, 3) == Ok(()),
        "root lowers a child's limit"
    );
    check!(
        process::get_limit(child, limit::CHILDREN) == Ok(3),
        "the child's limit"
    );
    check!(
        process::get_limit(1, limit::THREADS) == Err(Errno::ESRCH),
        "init is no child of this process"
    );
    check!(seteuid(5) == 0, "seteuid(5)");
    check!(
        process::set_limit(0, limit::THREADS, 32) == Err(Errno::EPERM),
        "euid 5 raises its own limit"
    );
    check!(
        process::set_limit(child, limit::CHILDREN, 2) == Err(Errno::EPERM),
        "euid 5 changes a child's limit"
    );
    check!(
        process::set_limit(0, limit::THREADS, 12) == Ok(()),
        "euid 5 lowers its own limit"
    );
    check!(seteuid(0) == 0, "back to euid 0");
    check!(
        process::set_limit(0, 99, 1) == Err(Errno::EINVAL),
        "an unknown resource"
    );
    let done = Door::create(0, |_| Response::default()).expect("door_create");
    done.attach_file(DONE).expect("fattach");
    process::wait(Some(child)).expect("wait");
    detach_file(DONE).expect("fdetach");
    println!(
        "limits: ok (memory {memory} bytes, 7 + main threads, detached threads leave nothing)"
    );
    0
}
