//! [`Resume`]: how a thread goes back to user mode from a system call. A
//! handler returns one, and so does whoever wakes a thread blocked in a door
//! operation (it is stored in the thread's record until the thread runs);
//! the dispatcher applies it to the trap frame, in one place.

use crate::arch::traps::TrapFrame;
use abi::Errno;

/// How a parked door server thread starts an invocation (see
/// `abi::invocation`): its stack pointer, `rax`, and the cookie, argument
/// pointer and size, descriptor pointer and count, and server procedure for
/// `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub sp: u64,
    pub status: u64,
    pub regs: [u64; 6],
}

/// What a system call ends with.
#[derive(Clone, Copy, Debug)]
pub enum Resume {
    /// It returns this value, or fails with this error.
    Return(Result<u64, Errno>),
    /// A door server thread's door_return does not return: the thread
    /// starts an invocation.
    Invocation(Entry),
}

impl Resume {
    /// What a thread blocked in a door operation resumes with unless its
    /// waker decides otherwise (its door_call or door_return was
    /// interrupted).
    pub const INTERRUPTED: Resume = Resume::Return(Err(Errno::EINTR));

    /// Writes the outcome into the trap frame the thread returns with.
    #[inline]
    pub fn apply(&self, frame: &mut TrapFrame) {
        match *self {
            Resume::Return(Ok(value)) => frame.rax = value,
            Resume::Return(Err(e)) => frame.rax = e.raw() as u64,
            Resume::Invocation(entry) => {
                let [cookie, argp, size, descs, n_desc, pc] = entry.regs;
                frame.rsp = entry.sp;
                frame.rax = entry.status;
                (frame.rdi, frame.rsi, frame.rdx) = (cookie, argp, size);
                (frame.r10, frame.r8, frame.r9) = (descs, n_desc, pc);
            }
        }
    }
}

impl From<Result<u64, Errno>> for Resume {
    #[inline]
    fn from(result: Result<u64, Errno>) -> Resume {
        Resume::Return(result)
    }
}
