//! Threads: `spawn` runs a closure on a new thread with its own stack (a
//! `mem_map` area, so an unmapped guard page sits beyond it); `join` waits
//! for it and returns its result.

use crate::heap::{map, unmap};
use crate::sys::{Errno, check, syscall0, syscall1, syscall3};
use alloc::boxed::Box;
use doors::abi::sys;

const STACK_SIZE: usize = 64 * 1024;

type Job = Box<dyn FnOnce() -> u64 + Send>;

/// A running thread; join it to get its result.
pub struct JoinHandle {
    tid: u32,
    stack: usize,
}

extern "C" fn thread_start(job: usize) -> ! {
    // SAFETY: `spawn` passed a `Box<Job>` it leaked for this thread alone.
    let job = unsafe { Box::from_raw(job as *mut Job) };
    let value = job();
    syscall1(sys::THREAD_EXIT, value as usize);
    unreachable!("thread_exit returned")
}

/// Starts `f` on a new thread.
pub fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Result<JoinHandle, Errno> {
    let stack = map(STACK_SIZE, 0)?;
    let job: Box<Job> = Box::new(Box::new(f));
    let raw = Box::into_raw(job) as usize;
    // The entry sees the stack as if called: 16-byte aligned minus 8.
    let top = stack + STACK_SIZE - 8;
    match check(syscall3(
        sys::THREAD_CREATE,
        thread_start as *const () as usize,
        raw,
        top,
    )) {
        Ok(tid) => Ok(JoinHandle {
            tid: tid as u32,
            stack,
        }),
        Err(e) => {
            // SAFETY: the thread was not created, so the job is still ours.
            drop(unsafe { Box::from_raw(raw as *mut Job) });
            let _ = unmap(stack, STACK_SIZE);
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
        let v = check(syscall1(sys::THREAD_JOIN, self.tid as usize))?;
        let _ = unmap(self.stack, STACK_SIZE);
        Ok(v as u64)
    }
}

pub fn gettid() -> u32 {
    syscall0(sys::GETTID) as u32
}
