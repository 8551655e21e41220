//! Raw system calls: the `syscall` instruction with the register convention
//! of `doors::abi`. Everything else in the runtime is built on these.

use core::arch::asm;

/// An error number returned by the kernel (see `doors::abi::errno`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub isize);

impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "{}", doors::abi::errno::name(self.0))
    }
}

/// Turns a raw return value into a result.
pub fn check(ret: isize) -> Result<usize, Errno> {
    if ret < 0 {
        Err(Errno(-ret))
    } else {
        Ok(ret as usize)
    }
}

/// Issues system call `nr` with up to six arguments; returns the raw value.
#[inline(always)]
pub fn syscall(nr: usize, a: [usize; 6]) -> isize {
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

pub fn syscall0(nr: usize) -> isize {
    syscall(nr, [0; 6])
}
pub fn syscall1(nr: usize, a0: usize) -> isize {
    syscall(nr, [a0, 0, 0, 0, 0, 0])
}
pub fn syscall2(nr: usize, a0: usize, a1: usize) -> isize {
    syscall(nr, [a0, a1, 0, 0, 0, 0])
}
pub fn syscall3(nr: usize, a0: usize, a1: usize, a2: usize) -> isize {
    syscall(nr, [a0, a1, a2, 0, 0, 0])
}
pub fn syscall4(nr: usize, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    syscall(nr, [a0, a1, a2, a3, 0, 0])
}

/// The time-stamp counter (under `-icount shift=0`: instructions executed).
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}
