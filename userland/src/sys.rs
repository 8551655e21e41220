//! Raw system calls: the `syscall` instruction with the register convention
//! of `abi::Sys`. Everything else in the runtime is built on these.

use abi::Sys;
use core::arch::asm;

pub use abi::Errno;

/// Turns a raw return value into a result.
pub fn check(ret: isize) -> Result<usize, Errno> {
    Errno::check(ret)
}

/// Issues system call `call` with up to six arguments; returns the raw value.
#[inline(always)]
pub fn syscall(call: Sys, a: [usize; 6]) -> isize {
    raw_syscall(call.number(), a)
}

/// Issues system call number `nr`, which need not be one [`Sys`] names
/// (for programs that test how the kernel treats unknown numbers).
#[inline(always)]
pub fn raw_syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the kernel validates every argument; `syscall` clobbers only
    // rcx and r11 besides the result register.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

pub fn syscall0(call: Sys) -> isize {
    syscall(call, [0; 6])
}
pub fn syscall1(call: Sys, a0: usize) -> isize {
    syscall(call, [a0, 0, 0, 0, 0, 0])
}
pub fn syscall2(call: Sys, a0: usize, a1: usize) -> isize {
    syscall(call, [a0, a1, 0, 0, 0, 0])
}
pub fn syscall3(call: Sys, a0: usize, a1: usize, a2: usize) -> isize {
    syscall(call, [a0, a1, a2, 0, 0, 0])
}
pub fn syscall4(call: Sys, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    syscall(call, [a0, a1, a2, a3, 0, 0])
}

/// Issues system call `call`, which reads exactly two argument registers
/// (`rdi`, `rsi`), leaving the others as they are (a door call, where
/// every instruction counts).
#[inline(always)]
pub fn syscall_of_two(call: Sys, a0: usize, a1: usize) -> isize {
    let ret: isize;
    // SAFETY: the kernel validates both arguments and reads no others;
    // `syscall` clobbers only rcx and r11 besides the result register.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") call.number() as isize => ret,
            in("rdi") a0,
            in("rsi") a1,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// The time-stamp counter (under `-icount shift=0`: instructions executed).
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}
