//! Doors: the IPC primitive of this kernel, as in Solaris and illumos.
//!
//! This crate holds the user/kernel ABI ([`abi`]) and the whole door logic as
//! plain Rust that builds and is tested on the host: descriptor (capability)
//! tables, door objects, server thread pools, waiting callers, invocations,
//! descriptor passing, unreferenced notices, cancellation, the fattach name
//! space, parameters and credentials. The semantics are those of
//! `shared/reference/` (the illumos man pages and doors-semantics.md).
//!
//! # Integration with the kernel
//!
//! The kernel runs on one CPU with interrupts disabled in kernel code, so it
//! keeps one [`DoorSystem`] behind its big lock and calls `&mut self` methods
//! from its syscall handlers; there is no locking inside.
//!
//! * **Processes and threads.** The kernel owns them; it tells the door logic
//!   about them with [`DoorSystem::create_process`] (init),
//!   [`DoorSystem::spawn`] (a child gets exactly the listed descriptors, as
//!   0, 1, ...), [`DoorSystem::create_thread`], [`DoorSystem::exit_thread`]
//!   and [`DoorSystem::exit_process`]. Process 0 is the kernel
//!   ([`KERNEL_PID`]).
//! * **Decode, then invoke.** Every operation validates all its arguments
//!   (asking [`UserMemory`] about user addresses) before it changes anything,
//!   so an `Err` leaves the state as it was, except where the semantics
//!   demand an effect on failure (DOOR_RELEASE descriptors of a failed
//!   door_call are closed unless the error is EFAULT or EBADF).
//! * **Outcomes.** [`DoorSystem::door_call`] returns a [`CallOutcome`]:
//!   `Handoff(upcall)` (block the caller, switch straight to the server
//!   thread, no run queue) or `Wait` (block the caller).
//!   [`DoorSystem::door_return`] returns a [`ReturnOutcome`]: the caller to
//!   switch straight back to with where its results go (or none: results
//!   discarded), and whether the server thread parks, immediately serves a
//!   waiting invocation, or fails. The kernel copies the bytes described in
//!   [`Upcall`] and [`Delivery`]. On the hot path the kernel calls
//!   [`DoorSystem::door_call_into`] and [`DoorSystem::door_return_into`]
//!   instead, which write the upcall and the outcome into buffers it reuses
//!   rather than returning them by value.
//! * **Events.** Effects on threads other than the one making the call (a
//!   waiting caller woken with EBADF by a revoke, a caller failed with EINTR
//!   by a dying server, an unreferenced notice dispatched to an idle thread,
//!   a cancellation notice) are queued as [`Event`]s; the kernel drains them
//!   with [`DoorSystem::pop_event`] after every call.
//! * **Depletion.** When a dispatch takes the last idle thread of a pool,
//!   [`Upcall::depleted`] is set; the kernel passes `nservers == 0` (and the
//!   door_info of a private pool) in [`abi::DoorResults`] and the library runs
//!   its door_server_create procedure before the server procedure.
//!   door_create reports the same for the first non-private door of a process
//!   and for every private one ([`Created::create_server`]).
//! * **Cancellation.** A client that abandons a call (its thread or process
//!   exits, or [`DoorSystem::abort_call`]) leaves the invocation without a
//!   caller; unless the door has DOOR_NO_CANCEL the serving thread gets
//!   [`Event::Cancel`] and [`DoorSystem::is_cancelled`] reports it. Its later
//!   door_return discards the results.
//! * **Leak accounting.** [`DoorSystem::stats`] counts live doors,
//!   descriptors, attachments, invocations and waiting callers.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod abi;
mod dispatch;
mod door;
mod fastpath;
mod names;
mod outcome;
mod registry;
mod returning;
mod slab;
mod system;
mod table;
pub mod wire;

#[cfg(test)]
mod tests;

pub use fastpath::NullUpcall;
pub use outcome::{
    ArgCopy, ArgLayout, CallOutcome, Called, Delivery, Depleted, Event, Next, Reply, ReturnOutcome,
    StackArea, Stats, Upcall, UserMemory,
};
pub use registry::Registry;
pub use system::{CallParams, Config, Created, Cred, DoorSystem, ReturnArgs};
pub use table::MAX_CAPACITY;

/// A process id (0 is the kernel).
pub type Pid = u32;
/// A thread id.
pub type Tid = u32;
/// A descriptor: a non-negative `i32` (see the table encoding).
pub type Fd = i32;

/// The kernel's process id, reported by door_ucred in unreferenced
/// invocations.
pub const KERNEL_PID: Pid = 0;

/// An error number with its illumos value ([`abi::errno`]); the syscall
/// returns `-errno.0`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub isize);

impl Errno {
    pub const EPERM: Errno = Errno(abi::errno::EPERM);
    pub const ENOENT: Errno = Errno(abi::errno::ENOENT);
    pub const ESRCH: Errno = Errno(abi::errno::ESRCH);
    pub const EINTR: Errno = Errno(abi::errno::EINTR);
    pub const E2BIG: Errno = Errno(abi::errno::E2BIG);
    pub const EBADF: Errno = Errno(abi::errno::EBADF);
    pub const EAGAIN: Errno = Errno(abi::errno::EAGAIN);
    pub const EFAULT: Errno = Errno(abi::errno::EFAULT);
    pub const EBUSY: Errno = Errno(abi::errno::EBUSY);
    pub const EINVAL: Errno = Errno(abi::errno::EINVAL);
    pub const ENFILE: Errno = Errno(abi::errno::ENFILE);
    pub const EMFILE: Errno = Errno(abi::errno::EMFILE);
    pub const ERANGE: Errno = Errno(abi::errno::ERANGE);
    pub const ENOTSUP: Errno = Errno(abi::errno::ENOTSUP);
    pub const ENAMETOOLONG: Errno = Errno(abi::errno::ENAMETOOLONG);
    pub const EOVERFLOW: Errno = Errno(abi::errno::EOVERFLOW);
    pub const ENOBUFS: Errno = Errno(abi::errno::ENOBUFS);
}

impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(abi::errno::name(self.0))
    }
}
