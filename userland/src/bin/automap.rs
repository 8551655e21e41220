//! `mem_map` without a fixed address finds room around fixed mappings: a
//! program that maps a page inside the range where the kernel would place
//! its next automatic mapping can still map memory, start threads (whose
//! stacks are automatic mappings) and receive door results in a mapped
//! area.
#![no_std]
#![no_main]

extern crate alloc;

use userland::abi::{Sys, prot};
use userland::door::safe::{Door, Response};
use userland::sys::{syscall2, syscall3};
use userland::testkit::{expect_eq, fail, verdict};
use userland::{println, thread};

userland::entry!(main);

const PAGE: usize = 4096;
const RW: usize = prot::READ | prot::WRITE;

fn map(len: usize, fixed: usize) -> isize {
    syscall3(Sys::MemMap, len, RW, fixed)
}

fn main() -> i32 {
    // The next automatic mapping goes after this one and its guard page;
    // put a fixed page one page beyond that.
    let probe = map(PAGE, 0);
    if probe <= 0 {
        println!("automap: automatic mem_map failed: {probe}");
        return 1;
    }
    let next = probe as usize + 2 * PAGE;
    let fixed = map(PAGE, next + PAGE);
    if fixed != (next + PAGE) as isize {
        println!(
            "automap: fixed mem_map at {:#x} failed: {fixed}",
            next + PAGE
        );
        return 1;
    }
    for round in 0..3 {
        let ret = map(3 * PAGE, 0);
        if ret <= 0 {
            fail(format_args!("automatic mem_map {round} failed: {ret}"));
        } else {
            expect_eq("unmap", syscall2(Sys::MemUnmap, ret as usize, 3 * PAGE), 0);
        }
    }
    match thread::spawn(|| 7) {
        Ok(t) => expect_eq("thread result", t.join().ok(), Some(7)),
        Err(e) => fail(format_args!("thread::spawn: {e:?}")),
    }
    // Results larger than the caller's buffer go to an automatic mapping.
    match Door::create(0, |_| Response::data(alloc::vec![5u8; 3 * PAGE])) {
        Ok(door) => match door.call(b"big", &[]) {
            Ok(reply) => expect_eq("result bytes", reply.data.len(), 3 * PAGE),
            Err(e) => fail(format_args!("door call with a mapped result: {e:?}")),
        },
        Err(e) => fail(format_args!("door_create: {e:?}")),
    }
    verdict(true)
}
