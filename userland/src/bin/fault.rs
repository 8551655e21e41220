//! Faulting programs are killed and reported, and the rest goes on: spawns
//! one child per fault kind (#PF, #GP, #UD, #DE) next to a well-behaved
//! child, and checks each status is `KILLED_BASE + vector` and that the
//! well-behaved child finished normally.
#![no_std]
#![no_main]

use core::arch::asm;
use userland::abi::KILLED_BASE;
use userland::{arg, println, process};

userland::entry!(main);

fn child(kind: &str) -> i32 {
    // SAFETY (each block): deliberately faulting instructions; the kernel
    // kills this process before any of them completes.
    match kind {
        "pf" => unsafe {
            core::ptr::read_volatile(0xdead_0000 as *const u64);
        },
        "gp" => unsafe { asm!("hlt") },
        "ud" => unsafe { asm!("ud2") },
        "de" => unsafe {
            asm!("xor edx, edx", "xor ecx, ecx", "mov eax, 1", "div ecx", out("eax") _, out("edx") _, out("ecx") _)
        },
        "ok" => {
            process::sleep_ticks(5);
            return 0;
        }
        _ => return 2,
    }
    println!("fault: {kind} did not fault");
    3
}

fn main() -> i32 {
    if let Some(kind) = arg(1) {
        return child(kind);
    }
    let survivor = process::spawn("fault", &["ok"]).expect("spawn survivor");
    for (kind, vector) in [("pf", 14), ("gp", 13), ("ud", 6), ("de", 0)] {
        let pid = process::spawn("fault", &[kind]).expect("spawn faulting child");
        let (_, status) = process::wait(Some(pid)).expect("wait");
        if status != KILLED_BASE + vector {
            println!(
                "fault: {kind} child ended with {status}, expected {}",
                KILLED_BASE + vector
            );
            return 1;
        }
        println!("fault: {kind} child was killed with status {status}");
    }
    let (_, status) = process::wait(Some(survivor)).expect("wait survivor");
    if status != 0 {
        println!("fault: the well-behaved child ended with {status}");
        return 1;
    }
    println!("fault: all faults contained");
    0
}
