//! The last page of the user half stays unmappable: a `syscall` in its
//! last two bytes would return (`sysretq`) to the non-canonical address
//! 0x0000_8000_0000_0000, which on Intel CPUs is a #GP in ring 0 on the
//! user's stack (CVE-2012-0217). `mem_map` refuses it with EINVAL, and no
//! other call accepts an address in it; the page below works, and a
//! `syscall` at its very end returns to the unmapped top page, a #PF in
//! user mode.
#![no_std]
#![no_main]

use core::arch::asm;
use userland::abi::{Errno, KILLED_BASE, Sys, prot};
use userland::sys::{check, syscall2, syscall3};
use userland::testkit::{expect_eq, fail, failures, spawn, verdict};
use userland::{arg, println, process};

userland::entry!(main);

/// The last page below the non-canonical hole.
const TOP_PAGE: usize = 0x0000_7fff_ffff_f000;
const PAGE: usize = 4096;
const RWX: usize = prot::READ | prot::WRITE | prot::EXEC;

/// Maps one read-write-execute page at `at` with `syscall` (0f 05) in its
/// last two bytes and jumps there; the kernel returns right after it.
fn syscall_at_end_of(at: usize) -> Result<(), Errno> {
    check(syscall3(Sys::MemMap, PAGE, RWX, at))?;
    let last_two = (at + PAGE - 2) as *mut [u8; 2];
    // SAFETY: the page was just mapped writable for this process alone;
    // the jump runs `syscall` (getpid) and then whatever follows the
    // page, which is unmapped: the kernel kills this process there.
    unsafe {
        last_two.write([0x0f, 0x05]);
        asm!("jmp {to}", to = in(reg) last_two, in("rax") Sys::GetPid.number(), options(noreturn));
    }
}

/// Runs `mode` in a child; expects it killed with `vector` (or exiting 0
/// when `vector` is `None`).
fn child(mode: &str, vector: Option<i32>) {
    let Some(pid) = spawn(&[mode], &[]) else {
        return;
    };
    match process::wait(Some(pid)) {
        Ok((_, status)) => expect_eq(mode, status, vector.map_or(0, |v| KILLED_BASE + v)),
        Err(e) => fail(format_args!("{mode}: wait: {e:?}")),
    }
}

fn main() -> i32 {
    match arg(1) {
        // With the top page refused there is nothing to jump to.
        Some("top") => match syscall_at_end_of(TOP_PAGE) {
            Err(Errno::EINVAL) => return 0,
            Err(e) => {
                println!("toppage: mapping the top page: {e}, expected EINVAL");
                return 1;
            }
            Ok(()) => unreachable!("the jump does not come back"),
        },
        Some("below") => {
            if let Err(e) = syscall_at_end_of(TOP_PAGE - PAGE) {
                println!("toppage: mapping the page below the top: {e}");
            }
            return 1;
        }
        _ => {}
    }
    let cases = [
        ("top page", PAGE, TOP_PAGE),
        ("two pages up to the top", 2 * PAGE, TOP_PAGE - PAGE),
        ("the non-canonical hole", PAGE, TOP_PAGE + PAGE),
    ];
    for (what, len, at) in cases {
        let ret = syscall3(Sys::MemMap, len, RWX, at);
        expect_eq(what, ret, Errno::EINVAL.raw());
        if ret >= 0 {
            syscall2(Sys::MemUnmap, at, len);
        }
    }
    let entry = syscall3(Sys::ThreadCreate, TOP_PAGE + PAGE - 2, 0, TOP_PAGE);
    expect_eq("thread entry in the top page", entry, Errno::EINVAL.raw());
    let write = syscall2(Sys::DebugWrite, TOP_PAGE, 1);
    expect_eq("write from the top page", write, Errno::EFAULT.raw());
    if failures() == 0 {
        println!("toppage: the top page is refused: ok");
    }

    child("top", None);
    let before = failures();
    child("below", Some(14));
    if failures() == before {
        println!("toppage: syscall at the end of the page below: #PF in user mode: ok");
    }
    verdict(true)
}
