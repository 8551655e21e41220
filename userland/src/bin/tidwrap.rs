//! Tids under QEMU, round a slot's every generation: a thread exits and
//! is not joined; then threads are made and joined one after the other
//! until every slot they get has been used 2^32 / 32768 times more, the
//! number of uses after which a slot's tids repeat. The slot of the
//! unjoined thread is not among them (its tid is held by its exit value):
//! no thread gets its tid, and joining it still gives its own exit value.
//! Then, joined, its slot is used again under a new tid.
#![no_std]
#![no_main]

use alloc::collections::BTreeMap;
use userland::abi::Sys;
use userland::heap::map;
use userland::sys::{check, syscall3};
use userland::testkit::{expect_eq, fail, verdict};
use userland::{Errno, println, thread};

extern crate alloc;

userland::entry!(main);

/// Slots in the thread table (a tid is `slot + SLOTS * generation`).
const SLOTS: u32 = 1 << 15;
/// Uses of a slot before its tids repeat.
const GENERATIONS: u32 = 1 << 17;
/// The unjoined thread's exit value.
const VALUE: usize = 0x7a11;

/// A thread's whole life: it exits at once with its argument.
extern "C" fn quit(value: usize) -> ! {
    syscall3(Sys::ThreadExit, value, 0, 0);
    unreachable!("thread_exit returned")
}

/// Starts a thread on the stack ending at `top` that exits with `value`.
fn start(top: usize, value: usize) -> Result<u32, Errno> {
    check(syscall3(
        Sys::ThreadCreate,
        quit as *const () as usize,
        value,
        top,
    ))
    .map(|t| t as u32)
}

fn main() -> i32 {
    let stacks = map(2 * 4096, 0).expect("stacks");
    // The entry sees its stack as if called: 16-byte aligned minus 8. The
    // unjoined thread has a stack of its own; the others take turns.
    let unjoined = start(stacks + 4096 - 8, VALUE).expect("the unjoined thread");
    let top = stacks + 2 * 4096 - 8;
    let mut uses: BTreeMap<u32, u32> = BTreeMap::new();
    let mut made = 0u64;
    while uses.is_empty() || uses.values().any(|&n| n <= GENERATIONS) {
        let tid = match start(top, 0) {
            Ok(tid) => tid,
            Err(e) => {
                fail(format_args!("thread_create: {}", e.name()));
                return verdict(true);
            }
        };
        made += 1;
        if tid == unjoined {
            fail(format_args!(
                "thread {made} got the unjoined thread's tid {tid}"
            ));
            return verdict(true);
        }
        *uses.entry(tid % SLOTS).or_default() += 1;
        expect_eq("join", thread::join_raw(tid), Ok(0));
    }
    expect_eq(
        "the unjoined thread's slot was not used",
        uses.contains_key(&(unjoined % SLOTS)),
        false,
    );
    println!(
        "tidwrap: {} slots each used over {GENERATIONS} times, never under the unjoined tid",
        uses.len()
    );
    expect_eq(
        "joining the unjoined thread",
        thread::join_raw(unjoined),
        Ok(VALUE as u64),
    );
    // Its slot is free again: after the others, the next thread gets it.
    let mut reused = None;
    for _ in 0..=uses.len() {
        let tid = start(top, 1).expect("a thread after the join");
        expect_eq("join", thread::join_raw(tid), Ok(1));
        if tid % SLOTS == unjoined % SLOTS {
            reused = Some(tid);
            break;
        }
    }
    match reused {
        Some(tid) if tid != unjoined => {
            println!("tidwrap: once joined, its slot is used again under a new tid")
        }
        other => fail(format_args!("its slot after the join: {other:?}")),
    }
    verdict(true)
}
