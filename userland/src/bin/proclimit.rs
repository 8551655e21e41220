//! Process limits: a process may have at most `limit::CHILDREN` children
//! (spawn fails with EAGAIN beyond, and works again once they have exited),
//! and the system at most `MAX_PROCESSES` processes: many parents each
//! below their own limit still stop there. Children stay alive until the
//! parent attaches a door at "/tmp/proclimit.done" (a handshake through
//! the file system, no timing involved); each middle child reports how
//! many children it could start by calling the door at
//! "/tmp/proclimit.count".
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use userland::abi::{MAX_PROCESSES, kstat, limit};
use userland::door::safe::{Door, Response, detach_file};
use userland::sys::Errno;
use userland::{arg, println, process};

userland::entry!(main);

const DONE: &str = "/tmp/proclimit.done";
const COUNT: &str = "/tmp/proclimit.count";

/// Waits for the parent's go-ahead.
fn wait_done() {
    while Door::open(DONE).map(Door::close).is_err() {
        process::sleep_ticks(1);
    }
}

/// Spawns leaf children until refused; returns them and the refusal.
fn spawn_all(mode: &str) -> (Vec<u32>, Option<Errno>) {
    let mut children = Vec::new();
    let refused = loop {
        match process::spawn("proclimit", &[mode]) {
            Ok(pid) => children.push(pid),
            Err(e) => break Some(e),
        }
        if children.len() > MAX_PROCESSES {
            break None;
        }
    };
    (children, refused)
}

fn reap(children: &[u32]) {
    for &pid in children {
        process::wait(Some(pid)).expect("wait child");
    }
}

/// Middle children that reported, those refused with EAGAIN, and the
/// leaves they started.
static REPORTS: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static STARTED: AtomicUsize = AtomicUsize::new(0);

fn main() -> i32 {
    match arg(1) {
        Some("leaf") => {
            wait_done();
            return 0;
        }
        Some("middle") => {
            let (leaves, refused) = spawn_all("leaf");
            let count = Door::open(COUNT).expect("open the count door");
            let mut report = (leaves.len() as u32).to_le_bytes().to_vec();
            report.push(u8::from(refused == Some(Errno::EAGAIN)));
            count.call(&report, &[]).expect("report");
            wait_done();
            reap(&leaves);
            return 0;
        }
        _ => {}
    }
    let own = process::get_limit(0, limit::CHILDREN).expect("get_limit");
    if own != limit::DEFAULT_CHILDREN {
        println!("proclimit: children limit {own}, expected the default");
        return 1;
    }
    // One parent: its own limit binds.
    let (children, refused) = spawn_all("leaf");
    let per_process_ok = refused == Some(Errno::EAGAIN) && children.len() as u64 == own;
    let done = Door::create(0, |_| Response::default()).expect("door_create");
    done.attach_file(DONE).expect("fattach");
    reap(&children);
    detach_file(DONE).expect("fdetach");
    if !per_process_ok {
        println!(
            "proclimit: spawn stopped after {} children with {refused:?}; expected {own} then EAGAIN",
            children.len()
        );
        return 1;
    }
    // Many parents, each below its own limit: the system's binds.
    let counter = Door::create(0, |inv| {
        let n = u32::from_le_bytes(inv.data[..4].try_into().unwrap_or_default());
        STARTED.fetch_add(n as usize, Ordering::SeqCst);
        if inv.data.get(4) == Some(&1) {
            REFUSED.fetch_add(1, Ordering::SeqCst);
        }
        REPORTS.fetch_add(1, Ordering::SeqCst);
        Response::default()
    })
    .expect("door_create");
    counter.attach_file(COUNT).expect("fattach");
    let existing = process::kstat(kstat::PROCESSES).expect("kstat") as usize;
    let (middles, refused) = spawn_all("middle");
    while REPORTS.load(Ordering::SeqCst) < middles.len() {
        process::sleep_ticks(1);
    }
    let at_the_limit = process::kstat(kstat::PROCESSES).expect("kstat") as usize;
    let started = middles.len() + STARTED.load(Ordering::SeqCst);
    done.attach_file(DONE).expect("fattach");
    reap(&middles);
    detach_file(DONE).expect("fdetach");
    detach_file(COUNT).expect("fdetach");
    let expected = MAX_PROCESSES - existing;
    let all_refused =
        refused == Some(Errno::EAGAIN) && REFUSED.load(Ordering::SeqCst) == middles.len();
    if at_the_limit != MAX_PROCESSES || started != expected || !all_refused {
        println!(
            "proclimit: {started} processes started, {at_the_limit} existed, refusals {refused:?} and {} of {}; expected {expected}, {MAX_PROCESSES}, all EAGAIN",
            REFUSED.load(Ordering::SeqCst),
            middles.len()
        );
        return 1;
    }
    let again = process::spawn("hello", &[]).and_then(|pid| process::wait(Some(pid)));
    if !matches!(again, Ok((_, 0))) {
        println!("proclimit: spawning after the children exited gave {again:?}");
        return 1;
    }
    println!(
        "proclimit: ok ({own} children each, {MAX_PROCESSES} in all, then EAGAIN; spawning works again after they exit)"
    );
    0
}
