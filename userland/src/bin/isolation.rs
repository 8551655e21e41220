//! Address-space isolation: a child cannot see its parent's memory (the
//! same address is unmapped, or its own fresh page, in the child) nor
//! kernel memory (reading it kills the reader), and system calls refuse
//! kernel pointers.
#![no_std]
#![no_main]

use userland::Errno;
use userland::abi::{KILLED_BASE, Sys};
use userland::heap::map;
use userland::sys::syscall2;
use userland::{arg, println, process};

userland::entry!(main);

const SECRET: u64 = 0x5ec7_e75e_c7e7_5ec7;
const KERNEL: u64 = 0xffff_ffff_8000_0000;
const PF: i32 = KILLED_BASE + 14;

fn parse(s: &str) -> usize {
    usize::from_str_radix(s, 16).unwrap_or(0)
}

fn child(mode: &str, addr: usize) -> i32 {
    // SAFETY (reads below): deliberate reads of addresses this process may
    // not have; the kernel kills it if they are not mapped.
    match mode {
        "read" => {
            let v = unsafe { core::ptr::read_volatile(addr as *const u64) };
            println!("isolation: child read {v:#x} at {addr:#x}");
            if v == SECRET { 10 } else { 11 }
        }
        "own" => {
            let mine = map(4096, addr).expect("map at the parent's address");
            let v = unsafe { core::ptr::read_volatile(mine as *const u64) };
            if v == 0 { 0 } else { 12 }
        }
        "kernel" => {
            let v = unsafe { core::ptr::read_volatile(KERNEL as *const u64) };
            println!("isolation: child read kernel memory {v:#x}");
            13
        }
        _ => 2,
    }
}

fn run(mode: &str, addr: usize) -> i32 {
    let hex = alloc::format!("{addr:x}");
    let pid = process::spawn("isolation", &[mode, &hex]).expect("spawn");
    process::wait(Some(pid)).expect("wait").1
}

extern crate alloc;

fn main() -> i32 {
    if let (Some(mode), Some(addr)) = (arg(1), arg(2)) {
        return child(mode, parse(addr));
    }
    let page = map(4096, 0).expect("map");
    // SAFETY: a page this process just mapped.
    unsafe { core::ptr::write_volatile(page as *mut u64, SECRET) };
    let checks = [("read", page, PF), ("own", page, 0), ("kernel", 0, PF)];
    for (mode, addr, want) in checks {
        let got = run(mode, addr);
        if got != want {
            println!("isolation: {mode} child ended with {got}, expected {want}");
            return 1;
        }
    }
    let r = syscall2(Sys::DebugWrite, KERNEL as usize, 16);
    if r != Errno::EFAULT.raw() {
        println!("isolation: debug_write of kernel memory returned {r}");
        return 1;
    }
    println!("isolation: parent memory and kernel memory are out of reach");
    0
}
