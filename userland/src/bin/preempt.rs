//! Preemption: a process that spins without ever making a system call does
//! not starve another. The spinner runs for SPIN_TICKS timer ticks; a
//! worker started after it must finish well before the spinner does.
#![no_std]
#![no_main]

use userland::abi::kstat::TIMER_TICKS;
use userland::{arg, println, process};

userland::entry!(main);

const SPIN_TICKS: u64 = 200;

fn ticks() -> u64 {
    process::kstat(TIMER_TICKS).unwrap_or(0)
}

fn main() -> i32 {
    match arg(1) {
        Some("spin") => {
            let end = ticks() + SPIN_TICKS;
            let mut x = 0u64;
            // Reading the tick counter is the only system call in the loop
            // every few million iterations; the spin itself never yields.
            while ticks() < end {
                for _ in 0..1_000_000 {
                    x = core::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            }
            return 0;
        }
        Some("work") => {
            let mut x = 0u64;
            for i in 0..1_000_000u64 {
                x = core::hint::black_box(x ^ i);
            }
            return 0;
        }
        _ => {}
    }
    let start = ticks();
    let spinner = process::spawn("preempt", &["spin"]).expect("spawn spinner");
    let worker = process::spawn("preempt", &["work"]).expect("spawn worker");
    let (_, status) = process::wait(Some(worker)).expect("wait worker");
    let done = ticks() - start;
    if status != 0 || done >= SPIN_TICKS {
        println!(
            "preempt: worker finished after {done} ticks (status {status}); the spinner starved it"
        );
        return 1;
    }
    let (_, status) = process::wait(Some(spinner)).expect("wait spinner");
    println!("preempt: worker finished after {done} ticks while the spinner ran {SPIN_TICKS}");
    status
}
