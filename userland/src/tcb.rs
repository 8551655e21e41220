//! Thread control blocks: every thread's FS base points at its own block
//! (set with `set_tls` when the thread starts), so the runtime reads the
//! thread's id, stack extent and last door error with one `fs:` load instead
//! of a system call.

use crate::sys::{syscall0, syscall1};
use crate::thread::Fate;
use abi::{Errno, Sys};
use alloc::boxed::Box;
use core::arch::asm;

#[repr(C)]
struct Tcb {
    /// The block's own address (what `fs:[0]` reads).
    this: usize,
    tid: u32,
    stack_base: usize,
    stack_size: usize,
    errno: Errno,
    /// Who cleans up after the thread (none for the main thread).
    fate: Option<Fate>,
}

/// Gives the calling thread its block; call first thing on every thread.
pub fn install(stack_base: usize, stack_size: usize, fate: Option<Fate>) {
    let tid = syscall0(Sys::GetTid) as u32;
    let block = Box::leak(Box::new(Tcb {
        this: 0,
        tid,
        stack_base,
        stack_size,
        errno: Errno::from_code(0),
        fate,
    }));
    block.this = block as *mut Tcb as usize;
    syscall1(Sys::SetTls, block.this);
}

/// Frees the calling thread's block (just before it exits); returns who
/// cleans up after the thread.
pub fn release() -> Option<Fate> {
    let p = current();
    syscall1(Sys::SetTls, 0);
    // SAFETY: the block was leaked by `install` for this thread alone, and
    // FS no longer points at it.
    unsafe { Box::from_raw(p) }.fate
}

fn current() -> *mut Tcb {
    let p: usize;
    // SAFETY: `install` ran on this thread, so fs:[0] holds the block's address.
    // Pure: the block's address never changes, so reads can be merged.
    unsafe {
        asm!("mov {}, fs:[0]", out(reg) p, options(nostack, pure, readonly, preserves_flags))
    };
    p as *mut Tcb
}

/// The calling thread's id.
pub fn tid() -> u32 {
    // SAFETY: the block lives as long as the thread.
    unsafe { (*current()).tid }
}

/// The calling thread's stack extent.
pub fn stack() -> (usize, usize) {
    // SAFETY: as above.
    unsafe { ((*current()).stack_base, (*current()).stack_size) }
}

/// The calling thread's last door error.
pub fn errno() -> Errno {
    // SAFETY: as above.
    unsafe { (*current()).errno }
}

/// In a fork child: its thread has a new id.
pub(crate) fn after_fork() {
    let tid = syscall0(Sys::GetTid) as u32;
    // SAFETY: as above; only this thread touches its block.
    unsafe { (*current()).tid = tid };
}

pub fn set_errno(e: Errno) {
    // SAFETY: as above; only this thread touches its block.
    unsafe { (*current()).errno = e };
}
