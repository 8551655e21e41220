//! Boot and system-call benchmarks, meant for `cargo run -- bench` (QEMU
//! with `-icount shift=0`, where the time-stamp counter counts executed
//! instructions). Prints `BENCH name value unit` lines.
#![no_std]
#![no_main]

use userland::abi::kstat::{BOOT_TSC, FIRST_USER_TSC};
use userland::abi::sys;
use userland::sys::{rdtsc, syscall0};
use userland::{println, process};

userland::entry!(main);

const ROUNDS: u64 = 10_000;

fn main() -> i32 {
    let boot = process::kstat(BOOT_TSC).unwrap_or(0);
    let first_user = process::kstat(FIRST_USER_TSC).unwrap_or(0);
    println!(
        "BENCH kernel_entry_to_first_user_instruction {} instructions",
        first_user - boot
    );
    for _ in 0..100 {
        syscall0(sys::GETPID);
    }
    let t0 = rdtsc();
    for _ in 0..ROUNDS {
        syscall0(sys::GETPID);
    }
    let t1 = rdtsc();
    println!(
        "BENCH null_syscall_round_trip {} instructions",
        (t1 - t0) / ROUNDS
    );
    0
}
