//! The process limit: spawning fails with EAGAIN once `MAX_PROCESSES`
//! processes exist, and works again once some have exited. The children
//! stay alive until the parent names a door "/proclimit/done" (a handshake
//! through the kernel's door name space, no timing involved).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use userland::abi::{MAX_PROCESSES, kstat};
use userland::door::safe::{Door, Response};
use userland::sys::Errno;
use userland::{arg, println, process};

userland::entry!(main);

const DONE: &str = "/proclimit/done";

fn main() -> i32 {
    if arg(1) == Some("child") {
        while Door::open(DONE).map(Door::close).is_err() {
            process::sleep_ticks(1);
        }
        return 0;
    }
    let existing = process::kstat(kstat::PROCESSES).expect("kstat") as usize;
    let mut children = Vec::new();
    let refused = loop {
        match process::spawn("proclimit", &["child"]) {
            Ok(pid) => children.push(pid),
            Err(e) => break Some(e),
        }
        if children.len() > MAX_PROCESSES {
            break None;
        }
    };
    let expected = MAX_PROCESSES - existing;
    let done = Door::create(0, |_| Response::default()).expect("door_create");
    done.attach(DONE).expect("fattach");
    for &pid in &children {
        process::wait(Some(pid)).expect("wait child");
    }
    userland::door::fdetach(DONE);
    if refused != Some(Errno::EAGAIN) || children.len() != expected {
        println!(
            "proclimit: spawn stopped after {} children with {refused:?}; expected {expected} then EAGAIN",
            children.len()
        );
        return 1;
    }
    let again = process::spawn("hello", &[]).and_then(|pid| process::wait(Some(pid)));
    if !matches!(again, Ok((_, 0))) {
        println!("proclimit: spawning after the children exited gave {again:?}");
        return 1;
    }
    println!(
        "proclimit: ok ({expected} children, then EAGAIN; spawning works again after they exit)"
    );
    0
}
