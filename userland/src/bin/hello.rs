//! The smallest program: prints a line from ring 3 and exits with 0.
#![no_std]
#![no_main]

userland::entry!(main);

fn main() -> i32 {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs) };
    userland::println!(
        "hello from ring 3 (cs={cs:#x}, pid {})",
        userland::process::getpid()
    );
    if cs & 3 == 3 { 0 } else { 1 }
}
