//! Threads: `spawn` runs a closure on a new thread with its own stack (a
//! `mem_map` area, so an unmapped guard page sits beyond it); `join` waits
//! for it and returns its result. Each thread's stack extent is kept in its
//! thread control block, because a door server thread lends its stack to the
//! kernel as the area where invocations are laid out.

use crate::heap::{map, unmap};
use crate::sys::{Errno, check, syscall1, syscall3};
use abi::{MAIN_STACK_SIZE, MAIN_STACK_TOP, Sys};
use alloc::boxed::Box;

/// Stack size of threads made by [`spawn`].
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

type Job = Box<dyn FnOnce() -> u64 + Send>;

struct Start {
    job: Job,
    stack: (usize, usize),
}

/// A running thread; join it to get its result.
pub struct JoinHandle {
    tid: u32,
    stack: (usize, usize),
}

extern "C" fn thread_start(start: usize) -> ! {
    // SAFETY: `spawn_with_stack` passed a `Box<Start>` it leaked for this
    // thread alone.
    let start = unsafe { Box::from_raw(start as *mut Start) };
    crate::tcb::install(start.stack.0, start.stack.1);
    let value = (start.job)();
    exit(value)
}

/// Ends the calling thread with `value` (what `join` returns).
pub fn exit(value: u64) -> ! {
    crate::tcb::release();
    syscall1(Sys::ThreadExit, value as usize);
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
    let start = Box::new(Start {
        job: Box::new(f),
        stack: (base, size),
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
        let v = check(syscall1(Sys::ThreadJoin, self.tid as usize))?;
        let _ = unmap(self.stack.0, self.stack.1);
        Ok(v as u64)
    }
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
