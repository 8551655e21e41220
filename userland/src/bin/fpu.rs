//! FPU/SSE state is per thread: several threads each keep their own values
//! in xmm registers across many switches (yields and preemption), and
//! find them intact.
#![no_std]
#![no_main]

use core::arch::asm;
use userland::{println, process, thread};

userland::entry!(main);

/// Loads `seed`-derived values into xmm0..xmm3, switches away many times,
/// and returns how many registers came back changed.
fn churn(seed: u64) -> u64 {
    let mut bad = 0;
    for round in 0..200u64 {
        let v = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ round;
        // SAFETY: SSE is enabled for user mode; the asm uses only xmm0..3.
        unsafe {
            asm!("movq xmm0, {v}", "movq xmm1, {v}", "movq xmm2, {v}", "movq xmm3, {v}", v = in(reg) v)
        };
        process::yield_now();
        let mut x = 0u64;
        for i in 0..2000u64 {
            x = core::hint::black_box(x.wrapping_add(i));
        }
        let (a, b, c, d): (u64, u64, u64, u64);
        // SAFETY: reads the registers set above.
        unsafe {
            asm!("movq {a}, xmm0", "movq {b}, xmm1", "movq {c}, xmm2", "movq {d}, xmm3", a = out(reg) a, b = out(reg) b, c = out(reg) c, d = out(reg) d)
        };
        bad += [a, b, c, d].iter().filter(|&&r| r != v).count() as u64;
    }
    bad
}

fn main() -> i32 {
    let handles: [_; 3] =
        core::array::from_fn(|i| thread::spawn(move || churn(i as u64 + 1)).expect("spawn"));
    let mut bad = churn(100);
    for h in handles {
        bad += h.join().expect("join");
    }
    if bad != 0 {
        println!("fpu: {bad} register values were lost across switches");
        return 1;
    }
    println!("fpu: xmm state survived 800 switches in 4 threads");
    0
}
