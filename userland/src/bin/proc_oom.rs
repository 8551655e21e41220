//! Copy-on-write under memory exhaustion, under QEMU: a forked child takes
//! every free frame (mapping memory until none is left), then
//! - writes to pages it shares with its parent: no frame for the copy, so
//!   the kernel ends it (SIGKILL, with a report) and nothing else;
//! - or has the kernel write into such pages (a pipe read): the read fails
//!   with ENOMEM and changes nothing; once it gives its memory back the
//!   read works.
//!
//! The parent's copy of the pages never changes, and every frame comes
//! back.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use userland::abi::kstat::FREE_FRAMES;
use userland::abi::signal::SIGKILL;
use userland::abi::{MEM_MAP_MAX, limit};
use userland::fs::{close, pipe, read_fd, write_fd};
use userland::testkit::procs::{expect_exit, expect_signal, fork_child};
use userland::testkit::{expect_eq, verdict};
use userland::{Errno, check, heap, println, process};

userland::entry!(main);

const PAGE: usize = 4096;
/// Pages written (or read into) in the child: more than exhaustion leaves.
const PAGES: usize = 64;

fn free_frames() -> u64 {
    process::kstat(FREE_FRAMES).unwrap_or(0)
}

/// The areas a child maps to take every free frame.
struct Hoard {
    areas: [(usize, usize); 64],
    count: usize,
}

impl Hoard {
    /// Maps memory in halving sizes until not even a page can be mapped
    /// (after raising this process's memory limit: it is root).
    fn take_everything() -> Hoard {
        process::set_limit(0, limit::MEMORY, i64::MAX as u64).expect("raise the memory limit");
        let mut hoard = Hoard {
            areas: [(0, 0); 64],
            count: 0,
        };
        let mut size = MEM_MAP_MAX as usize;
        while size >= PAGE && hoard.count < hoard.areas.len() {
            match heap::map(size, 0) {
                Ok(addr) => {
                    hoard.areas[hoard.count] = (addr, size);
                    hoard.count += 1;
                }
                Err(_) => size /= 2,
            }
        }
        hoard
    }

    fn give_back(&mut self) {
        for &(addr, len) in &self.areas[..self.count] {
            heap::unmap(addr, len).expect("unmap");
        }
        self.count = 0;
    }
}

/// Writes to every page of the stack this process may use, so the
/// stack's pages are its own before memory runs out.
#[inline(never)]
fn own_the_stack() {
    let mut block = [0u8; 96 * 1024];
    for page in block.chunks_mut(PAGE) {
        // SAFETY: a plain write to a local array, kept by `volatile`.
        unsafe { core::ptr::write_volatile(&mut page[0], 1) };
    }
}

fn main() -> i32 {
    let mut shared = vec![7u8; PAGES * PAGE];
    // A first child, so what the kernel sets up once for a new thread's
    // stack is not counted below.
    let first = fork_child("first", || 0);
    expect_exit("the first child", first, 0);
    let before = free_frames();
    let (r, w) = pipe().expect("pipe");

    let writer = fork_child("writer", || {
        own_the_stack();
        let _hoard = Hoard::take_everything();
        for page in shared.chunks_mut(PAGE) {
            // SAFETY: a plain write, kept by `volatile`: the copy-on-write
            // fault is the point.
            unsafe { core::ptr::write_volatile(&mut page[0], 9) };
        }
        println!("proc_oom: FAIL: every copy found a frame");
        1
    });
    expect_signal("the writer, out of memory", writer, SIGKILL);
    check!(shared.iter().all(|&b| b == 7), "the parent's pages changed");

    expect_eq("write", write_fd(w, b"data"), Ok(4));
    let reader = fork_child("reader", || {
        own_the_stack();
        let mut hoard = Hoard::take_everything();
        let got = read_fd(r, &mut shared[..]);
        hoard.give_back();
        expect_eq(
            "a kernel write with no frame for the copy",
            got,
            Err(Errno::ENOMEM),
        );
        check!(
            shared.iter().all(|&b| b == 7),
            "the failed read changed the buffer"
        );
        expect_eq(
            "the read with memory back",
            read_fd(r, &mut shared[..]),
            Ok(4),
        );
        expect_eq("what it read", &shared[..4], &b"data"[..]);
        0
    });
    expect_exit("the reader", reader, 0);
    check!(shared.iter().all(|&b| b == 7), "the parent's pages changed");
    for fd in [r, w] {
        close(fd).expect("close");
    }
    expect_eq(
        "free frames after both (and the pipe)",
        free_frames(),
        before,
    );
    verdict(true)
}
