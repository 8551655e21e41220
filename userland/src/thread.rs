//! Threads: `spawn` runs a closure on a new thread with its own stack (a
//! `mem_map` area, so an unmapped guard page sits beyond it); `join` waits
//! for it and returns its result. Each thread's stack extent is kept in its
//! thread control block, because a door server thread lends its stack to the
//! kernel as the area where invocations are laid out.

use crate::heap::{map, unmap};
use crate::sys::{Errno, check, syscall1, syscall2, syscall3};
use abi::{MAIN_STACK_SIZE, MAIN_STACK_TOP, Sys};
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicU8, Ordering};

/// Stack size of threads made by [`spawn`].
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

type Job = Box<dyn FnOnce() -> u64 + Send>;

/// Who cleans up after a thread made by [`spawn`]: while it runs, its
/// handle may be joined ([`RUNNING`]) or dropped ([`DETACHED`]: the thread
/// unmaps its own stack as it exits and leaves no exit value); a thread
/// that exits first ([`EXITED`]) leaves both for its handle.
pub(crate) type Fate = Arc<AtomicU8>;
const RUNNING: u8 = 0;
const DETACHED: u8 = 1;
const EXITED: u8 = 2;

struct Start {
    job: Job,
    stack: (usize, usize),
    fate: Fate,
}

/// A running thread; join it to get its result. Dropping the handle
/// detaches the thread: it cleans up after itself when it ends.
pub struct JoinHandle {
    tid: u32,
    stack: (usize, usize),
    fate: Fate,
}

extern "C" fn thread_start(start: usize) -> ! {
    // SAFETY: `spawn_with_stack` passed a `Box<Start>` it leaked for this
    // thread alone.
    let start = unsafe { Box::from_raw(start as *mut Start) };
    crate::tcb::install(start.stack.0, start.stack.1, Some(start.fate));
    let value = (start.job)();
    exit(value)
}

/// Ends the calling thread with `value` (what `join` returns). A detached
/// thread unmaps its own stack on the way out.
pub fn exit(value: u64) -> ! {
    let (base, size) = crate::tcb::stack();
    let fate = crate::tcb::release();
    let detached = fate.is_some_and(|f| f.swap(EXITED, Ordering::AcqRel) == DETACHED);
    let (base, size) = if detached { (base, size) } else { (0, 0) };
    syscall3(Sys::ThreadExit, value as usize, base, size);
    unreachable!("thread_exit returned")
}

/// Starts `f` on a new thread with the default stack size.
pub fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Result<JoinHandle, Errno> {
    spawn_with_stack(DEFAULT_STACK_SIZE, f)
}

/// Starts `f` on a new thread with a stack of `size` bytes.
pub fn spawn_with_stack(
    size: usize,
    f: impl FnOnce() -> u64 + Send + 'static,
) -> Result<JoinHandle, Errno> {
    let base = map(size, 0)?;
    let size = size.next_multiple_of(4096);
    let fate = Fate::new(AtomicU8::new(RUNNING));
    let start = Box::new(Start {
        job: Box::new(f),
        stack: (base, size),
        fate: fate.clone(),
    });
    let raw = Box::into_raw(start) as usize;
    // The entry sees the stack as if called: 16-byte aligned minus 8.
    let top = base + size - 8;
    match check(syscall3(
        Sys::ThreadCreate,
        thread_start as *const () as usize,
        raw,
        top,
    )) {
        Ok(tid) => Ok(JoinHandle {
            tid: tid as u32,
            stack: (base, size),
            fate,
        }),
        Err(e) => {
            // SAFETY: the thread was not created, so the box is still ours.
            drop(unsafe { Box::from_raw(raw as *mut Start) });
            let _ = unmap(base, size);
            Err(e)
        }
    }
}

impl JoinHandle {
    pub fn tid(&self) -> u32 {
        self.tid
    }

    /// Waits for the thread; returns what its closure returned.
    pub fn join(self) -> Result<u64, Errno> {
        let this = ManuallyDrop::new(self);
        let joined = join_raw(this.tid);
        let _ = unmap(this.stack.0, this.stack.1);
        // SAFETY: `this` is never used again, and not dropped.
        drop(unsafe { core::ptr::read(&this.fate) });
        joined
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        if self.fate.swap(DETACHED, Ordering::AcqRel) == EXITED {
            // It ended first: its exit value and stack are ours to free.
            let _ = join_raw(self.tid);
            let _ = unmap(self.stack.0, self.stack.1);
        } else {
            // It frees its stack itself; the kernel keeps no exit value.
            let _ = check(syscall1(Sys::ThreadDetach, self.tid as usize));
        }
    }
}

/// Waits for thread `tid` of this process; its exit value.
pub fn join_raw(tid: u32) -> Result<u64, Errno> {
    let mut value = 0u64;
    check(syscall2(
        Sys::ThreadJoin,
        tid as usize,
        &raw mut value as usize,
    ))?;
    Ok(value)
}

pub fn gettid() -> u32 {
    crate::tcb::tid()
}

/// Top of the main stack kept out of the main thread's door area: the
/// kernel put the program's arguments there.
const ARGS_RESERVE: usize = 8 * 1024;

/// The main thread's stack extent that door invocations may use (all but
/// the arguments at its top).
pub(crate) fn main_stack() -> (usize, usize) {
    (
        (MAIN_STACK_TOP - MAIN_STACK_SIZE) as usize,
        MAIN_STACK_SIZE as usize - ARGS_RESERVE,
    )
}

/// The calling thread's stack extent `(base, size)` that door invocations
/// may use.
pub fn current_stack() -> (usize, usize) {
    crate::tcb::stack()
}
