//! No program can make the CPU read segment descriptors from its own
//! memory. A selector with the table bit set (TI) refers to the LDT, and an
//! LDT register that was never loaded keeps its reset state (base 0, limit
//! 0xffff): the descriptor would come from user address `index * 8`. A
//! program maps the page at 0x1000, writes a ring-3 data segment
//! descriptor there (LDT index 512) and loads it into DS; another loads an
//! LDT selector whose descriptor would be in the unmapped page 0. With a
//! null LDT both must be refused with #GP (status 128 + 13).
#![no_std]
#![no_main]

use core::arch::asm;
use userland::abi::{KILLED_BASE, Sys, prot};
use userland::sys::syscall3;
use userland::testkit::{expect_eq, fail, spawn, verdict};
use userland::{arg, println, process};

userland::entry!(main);

/// The first page a program may map, and the LDT index whose descriptor
/// would be at its start.
const LOW_PAGE: usize = 0x1000;
const INDEX: u16 = (LOW_PAGE / 8) as u16;
/// A present, writable, ring-3 data segment (base 0, limit 4 GiB).
const DATA_DPL3: u64 = 0x00cf_f200_0000_ffff;

/// An LDT selector for `index` with RPL 3.
const fn ldt_selector(index: u16) -> u16 {
    index << 3 | 0b100 | 3
}

/// Loads `selector` into DS; returns only if the CPU accepted it.
fn load_ds(selector: u16) {
    // SAFETY: DS is unused in 64-bit code (flat addressing); if the load
    // succeeds the null selector is put back before any Rust code runs.
    unsafe { asm!("mov ds, {0:x}", "mov ds, {1:x}", in(reg) selector, in(reg) 0u16) };
}

fn child(mode: &str) -> i32 {
    match mode {
        "mapped" => {
            let ret = syscall3(Sys::MemMap, 4096, prot::READ | prot::WRITE, LOW_PAGE);
            if ret != LOW_PAGE as isize {
                println!("ldt: mapping {LOW_PAGE:#x} returned {ret}");
                return 1;
            }
            // SAFETY: the page was just mapped writable for this process.
            unsafe { (LOW_PAGE as *mut u64).write(DATA_DPL3) };
            load_ds(ldt_selector(INDEX));
            println!("ldt: DS was loaded from a descriptor in user memory");
        }
        _ => {
            load_ds(ldt_selector(4));
            println!("ldt: DS was loaded from an LDT selector");
        }
    }
    2
}

fn main() -> i32 {
    if let Some(mode) = arg(1) {
        return child(mode);
    }
    for mode in ["mapped", "unmapped"] {
        let Some(pid) = spawn(&[mode], &[]) else {
            continue;
        };
        match process::wait(Some(pid)) {
            Ok((_, status)) => expect_eq(mode, status, KILLED_BASE + 13),
            Err(e) => fail(format_args!("{mode}: wait: {e:?}")),
        }
    }
    verdict(true)
}
