//! Doors: the IPC primitive of this kernel, as in Solaris and illumos.
//!
//! This crate is the whole door logic as plain Rust that builds and is
//! tested on the host: door objects, server thread pools, waiting callers,
//! invocations, descriptor passing, unreferenced notices, cancellation,
//! parameters and credentials. The semantics are those of
//! `shared/reference/` (the illumos man pages and doors-semantics.md). The
//! ABI it implements is the `abi` crate's.
//!
//! # Integration with the kernel
//!
//! The kernel runs on one CPU with interrupts disabled in kernel code, so it
//! keeps one [`DoorSystem`] behind its big lock and calls `&mut self` methods
//! from its syscall handlers; there is no locking inside.
//!
//! * **Processes and threads.** The kernel owns them; it tells the door logic
//!   about them with [`DoorSystem::create_process`],
//!   [`DoorSystem::create_thread`], [`DoorSystem::exit_thread`],
//!   [`DoorSystem::exit_process`], [`DoorSystem::fork_process`] and
//!   [`DoorSystem::exec_process`] (what fork and exec do to doors: module
//!   `fork`). Process 0 is the kernel ([`KERNEL_PID`]).
//! * **Descriptors.** The descriptor tables are the kernel's capability
//!   layer, which names objects of every kind; the door logic reaches them
//!   through the [`Descriptors`] trait (a door operation on a descriptor of
//!   another kind is EBADF; descriptor passing carries any kind). It counts
//!   the references to doors itself: the capability layer calls
//!   [`DoorSystem::add_ref`] and [`DoorSystem::drop_ref`] when it copies or
//!   closes a door descriptor, or holds a door elsewhere (an fattach
//!   attachment).
//! * **Memory.** An idle server thread's argument area is always writable:
//!   the kernel reports every unmap ([`DoorSystem::unmapped`]), and threads
//!   whose area it takes leave their pools. A queued call's argument bytes
//!   are checked again when a server thread takes it. So an invocation is
//!   only ever laid out where the kernel can read and write it.
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
//!   [`Upcall::depleted`] is set; the server thread starts with a status
//!   saying so (and the door_info of a private pool), and the library runs
//!   its door_server_create procedure before the server procedure.
//!   door_create reports the same for the first non-private door of a process
//!   and for every private one ([`Created::create_server`]).
//! * **Cancellation.** A client that abandons a call (its thread or process
//!   exits, or [`DoorSystem::abort_call`]) leaves the invocation without a
//!   caller; unless the door has DOOR_NO_CANCEL the serving thread gets
//!   [`Event::Cancel`] and [`DoorSystem::is_cancelled`] reports it. Its later
//!   door_return discards the results.
//! * **Leak accounting.** [`DoorSystem::stats`] counts live doors,
//!   invocations and waiting callers.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod descriptors;
mod dispatch;
mod door;
mod fastpath;
mod fork;
mod outcome;
mod records;
mod registry;
mod returning;
mod slab;
mod system;

#[cfg(test)]
mod tests;

pub use abi::Errno;
pub use descriptors::{Descriptors, DoorId};
pub use fastpath::{FastCaller, FastReply, FastUpcall, ResultPlace};
pub use outcome::{
    ArgCopy, ArgLayout, CallOutcome, Called, Delivery, Depleted, Event, Next, Reply, ReturnOutcome,
    StackArea, Stats, UNPLACED, Upcall, UserMemory,
};
pub use registry::{At, Registry};
pub use system::{CallParams, Config, Created, Cred, DoorSystem, Located, ReturnArgs, ThreadKey};

/// A process id (0 is the kernel).
pub type Pid = u32;
/// A thread id.
pub type Tid = u32;
/// A descriptor: a non-negative `i32` (its encoding is the kernel capability
/// layer's).
pub type Fd = i32;

/// The kernel's process id, reported by door_ucred in unreferenced
/// invocations.
pub const KERNEL_PID: Pid = 0;
