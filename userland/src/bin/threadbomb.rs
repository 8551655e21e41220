//! A thread bomb under QEMU: as root this program raises its thread limit
//! as far as it goes and makes threads that exit at once, never joined,
//! until thread_create fails. The system-wide bound (`abi::MAX_THREADS`,
//! threads alive plus exited ones nobody joined) stops it with EAGAIN;
//! without it the exit values piled up on the kernel heap: its
//! allocations slowed to a crawl after a million, and the heap's end is a
//! kernel panic. At the bound fork and spawn fail with
//! EAGAIN too, a joined thread frees its place for exactly one more, and a
//! C program started with a few places free (`userland/c/c_threadbomb.c`)
//! makes exactly that many threads with pthread_create (a Linux clone)
//! before EAGAIN. Once every thread is joined, threads are made again.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use userland::abi::{MAX_THREADS, Sys, limit};
use userland::heap::map;
use userland::sys::{check, syscall3};
use userland::testkit::procs::expect_exit;
use userland::testkit::{expect_eq, fail, verdict};
use userland::{Errno, println, process, thread};

userland::entry!(main);

/// Bytes of stack each thread has (it makes one system call).
const STACK: usize = 1024;
/// Places at the bound the C program gets (its main thread takes one).
const FOR_C: usize = 8;

/// A thread's whole life: it exits at once with its argument as its value.
extern "C" fn quit(value: usize) -> ! {
    syscall3(Sys::ThreadExit, value, 0, 0);
    unreachable!("thread_exit returned")
}

/// The threads' stacks, one for each thread made (by index), and one more
/// (for the thread the bound refuses).
struct Stacks(usize);

impl Stacks {
    /// Starts a thread on stack `index` that exits with `index`; its tid.
    fn start(&self, index: usize) -> Result<u32, Errno> {
        // The entry sees its stack as if called: 16-byte aligned minus 8.
        let top = self.0 + (index + 1) * STACK - 8;
        check(syscall3(
            Sys::ThreadCreate,
            quit as *const () as usize,
            index,
            top,
        ))
        .map(|t| t as u32)
    }
}

/// Whether fork fails with EAGAIN (a child it made exits at once).
fn fork_refused() -> Result<u32, Errno> {
    match process::fork() {
        Ok(0) => process::exit(0),
        Ok(pid) => {
            expect_exit("a child forked at the bound", pid, 0);
            Ok(pid)
        }
        Err(e) => Err(e),
    }
}

fn main() -> i32 {
    process::set_limit(0, limit::THREADS, i64::MAX as u64).expect("raising the thread limit");
    let stacks = Stacks(map((MAX_THREADS + 1) * STACK, 0).expect("stacks"));
    // Every thread of the system counts, this one too: fewer than
    // MAX_THREADS can be made.
    let mut tids: Vec<u32> = Vec::new();
    let refusal = loop {
        if tids.len() == MAX_THREADS {
            break None;
        }
        match stacks.start(tids.len()) {
            Ok(tid) => tids.push(tid),
            Err(e) => break Some(e),
        }
    };
    expect_eq("thread_create at the bound", refusal, Some(Errno::EAGAIN));
    expect_eq("fork at the bound", fork_refused(), Err(Errno::EAGAIN));
    let spawned = process::spawn("hello", &[]);
    if let Ok(pid) = spawned {
        expect_exit("a program spawned at the bound", pid, 0);
    }
    expect_eq("spawn at the bound", spawned, Err(Errno::EAGAIN));
    if tids.len() <= FOR_C {
        fail(format_args!("only {} threads made", tids.len()));
        return verdict(true);
    }
    let last = tids.len() - 1;
    expect_eq("join", thread::join_raw(tids[last]), Ok(last as u64));
    match stacks.start(last) {
        Ok(tid) => tids[last] = tid,
        Err(e) => fail(format_args!("a joined thread's place: {}", e.name())),
    }
    expect_eq(
        "thread_create at the bound again",
        stacks.start(last + 1),
        Err(Errno::EAGAIN),
    );
    println!(
        "threadbomb: thread_create, fork and spawn fail with EAGAIN at {MAX_THREADS} threads \
         (exited ones nobody joined included)"
    );
    let (first, for_c) = tids.split_at(tids.len() - FOR_C);
    for (index, &tid) in for_c.iter().enumerate() {
        expect_eq(
            "join",
            thread::join_raw(tid),
            Ok((first.len() + index) as u64),
        );
    }
    let arg = format!("{}", FOR_C - 1);
    match process::spawn_with_fds("c_threadbomb", &[&arg], &[0, 1, 2]) {
        Ok(pid) => expect_exit("c_threadbomb", pid, 0),
        Err(e) => fail(format_args!("spawning c_threadbomb: {}", e.name())),
    }
    for (index, &tid) in first.iter().enumerate() {
        expect_eq("join", thread::join_raw(tid), Ok(index as u64));
    }
    let again = thread::spawn(|| 7).and_then(|t| t.join());
    expect_eq("a thread after the bomb", again, Ok(7));
    verdict(true)
}
