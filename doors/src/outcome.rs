//! What the door logic asks of the kernel: the [`UserMemory`] trait it calls
//! during validation, and the outcomes and [`Event`]s it hands back for the
//! kernel to carry out (switch threads, copy bytes, wake callers).

use crate::{Errno, Pid, Tid};
use abi::{DOOR_UNREF_DATA, DoorArg, DoorDesc, DoorInfo, invocation};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The token of [`UserMemory::locate`] for a range it gives none for.
pub const UNPLACED: u64 = u64::MAX;

/// Access to user address spaces, supplied by the kernel.
///
/// The door logic only asks questions and maps result areas; the kernel
/// copies the bytes afterwards, following the outcome. All checks happen
/// before any door state changes.
pub trait UserMemory {
    /// Whether `len` bytes at `addr` in process `pid` can be read (or, with
    /// `write`, written) by the kernel on the process's behalf. An empty
    /// range at address 0 (a NULL buffer of size 0) always can.
    fn accessible(&self, pid: Pid, addr: u64, len: u64, write: bool) -> bool;
    /// [`UserMemory::accessible`], with a token when it is: a word by
    /// which the kernel reaches the range again without looking it up,
    /// valid while [`UserMemory::epoch`] stays the same (the kernel's is
    /// the physical address of a range within one page). The door logic
    /// only carries tokens to the kernel; [`UNPLACED`] is none.
    fn locate(&self, pid: Pid, addr: u64, len: u64, write: bool) -> Option<u64> {
        self.accessible(pid, addr, len, write).then_some(UNPLACED)
    }
    /// Reads `n` `door_desc_t` entries at `addr` in process `pid`.
    /// `Err(EFAULT)` when they cannot be read.
    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno>;
    /// A number that changes whenever memory that was accessible may have
    /// stopped being so (an unmap anywhere): a range found accessible at
    /// one value is still accessible while the value stays the same.
    fn epoch(&self) -> u64;
    /// Maps `len` bytes (a multiple of the page size) of new zero-filled
    /// memory into process `pid`; returns the address, or `None` if the
    /// mapping cannot be made. Called only once nothing else can fail.
    fn map_zeroed(&mut self, pid: Pid, len: u64) -> Option<u64>;
}

/// A server thread's registered argument area (from door_return).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StackArea {
    /// Lowest address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

/// Where an invocation's pieces go in the server thread's [`StackArea`], from
/// the top down: door_info slot, descriptors, data; the stack pointer
/// starts below the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ArgLayout {
    /// Where the depleted private pool's `door_info_t` goes (48 bytes).
    pub info_addr: u64,
    /// Where the descriptors go.
    pub desc_addr: u64,
    /// Where the argument bytes go.
    pub data_addr: u64,
    /// Initial stack pointer of the server thread (16-byte aligned).
    pub sp: u64,
}

/// Why a door's server process must run its door_server_create procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depleted {
    /// The process's shared pool (create_proc gets NULL).
    Shared,
    /// A private pool; create_proc gets this door's information.
    Private(DoorInfo),
}

/// Bytes to copy from the caller into the server's argument area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgCopy {
    /// The caller's process.
    pub from_pid: Pid,
    /// Source address in the caller.
    pub from: u64,
    /// Number of bytes (to [`ArgLayout::data_addr`]).
    pub len: u64,
}

/// An invocation a server thread starts: the kernel copies the arguments,
/// writes `descs` (and a depleted private pool's door_info) at the
/// addresses of `layout`, and resumes `server` with `rsp = layout.sp` and
/// the registers of [`Upcall::entry_status`] and [`Upcall::entry_regs`].
///
/// The default value is a placeholder for [`crate::DoorSystem::door_call_into`]
/// to fill (it describes no real invocation).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Upcall {
    /// The server thread.
    pub server: Tid,
    /// Its process.
    pub server_pid: Pid,
    /// The calling thread (`None` for an unreferenced invocation).
    pub caller: Option<Tid>,
    /// The door's unique id.
    pub door: u64,
    /// Where everything goes.
    pub layout: ArgLayout,
    /// Argument bytes to copy (`None`: none, e.g. an unreferenced invocation).
    pub copy: Option<ArgCopy>,
    /// Descriptors, already installed in the server's table.
    pub descs: Vec<DoorDesc>,
    /// Set when this dispatch took the last idle thread of the pool.
    pub depleted: Option<Depleted>,
    /// The door's cookie.
    pub cookie: u64,
    /// The door's server procedure.
    pub pc: u64,
}

impl Upcall {
    /// What the server thread's `rax` says when it starts this invocation
    /// (see `abi::invocation`): run it, or first run door_server_create's
    /// procedure for a depleted shared pool (`DEPLETED_SHARED`) or private
    /// pool (the address of its door_info).
    pub fn entry_status(&self) -> u64 {
        match self.depleted {
            None => invocation::RUN,
            Some(Depleted::Shared) => invocation::DEPLETED_SHARED,
            Some(Depleted::Private(_)) => self.layout.info_addr,
        }
    }

    /// The server thread's `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9` when it
    /// starts this invocation: cookie, argument pointer and size, descriptor
    /// pointer and count, server procedure (see `abi::invocation`).
    pub fn entry_regs(&self) -> [u64; 6] {
        let argp = match self.caller {
            None => DOOR_UNREF_DATA,
            Some(_) => self.layout.data_addr,
        };
        let desc_ptr = match self.descs.is_empty() {
            true => 0,
            false => self.layout.desc_addr,
        };
        [
            self.cookie,
            argp,
            self.copy.map_or(0, |c| c.len),
            desc_ptr,
            self.descs.len() as u64,
            self.pc,
        ]
    }
}

/// Result of [`crate::DoorSystem::door_call`].
#[derive(Clone, Debug, PartialEq, Eq)]
// Returned by value once per operation; boxing the upcall would put an
// allocation on the call path.
#[allow(clippy::large_enum_variant)]
pub enum CallOutcome {
    /// Block the caller and switch the CPU straight to `upcall.server`
    /// (scheduler handoff). The caller is resumed by the server's
    /// door_return ([`ReturnOutcome::reply`]) or by [`Event::CallFailed`].
    Handoff(Upcall),
    /// No server thread is idle: block the caller. A parking server thread
    /// takes the call later; the caller is resumed as above.
    Wait,
}

/// Result of [`crate::DoorSystem::door_call_into`]: what
/// [`CallOutcome`] says, without the upcall (which is written in place).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Called {
    /// As [`CallOutcome::Handoff`], with the upcall in the caller's buffer.
    Handoff,
    /// As [`CallOutcome::Wait`] (the buffer is unchanged).
    Wait,
}

/// Results on their way to a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The server process (source of the bytes).
    pub server_pid: Pid,
    /// Result bytes in the server.
    pub from: u64,
    /// Number of result bytes.
    pub len: u64,
    /// Where the bytes go in the caller.
    pub data_addr: u64,
    /// Where the descriptors go in the caller.
    pub desc_addr: u64,
    /// The descriptors, already installed in the caller's table.
    pub descs: Vec<DoorDesc>,
    /// A new zero-filled area mapped into the caller for the results
    /// (address, length); the caller unmaps it with `mem_unmap`.
    pub mapped: Option<(u64, u64)>,
    /// The updated `door_arg_t` and where to write it (`None` when the call
    /// had `params == NULL`).
    pub arg: Option<(u64, DoorArg)>,
}

/// The caller's side of a door_return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The caller thread to switch straight back to.
    pub caller: Tid,
    /// Its process.
    pub caller_pid: Pid,
    /// `Ok`: copy the results as described, door_call returns 0.
    /// `Err(EOVERFLOW)`: no result area could be mapped; `Err(EFAULT)`: the
    /// caller's `door_arg_t` or rbuf is no longer writable. On `Err` the
    /// results are discarded (DOOR_RELEASE descriptors closed) and the
    /// caller's door_call fails with that error.
    pub result: Result<Delivery, Errno>,
}

/// What the returning server thread does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// It is parked, idle in its pool: block it.
    Park,
    /// It took a waiting invocation: it runs this upcall (on the run queue
    /// if the CPU goes to a caller first). Boxed: this is the rare path, and
    /// an inline upcall would make every return outcome three times larger.
    Serve(Box<Upcall>),
    /// It could not park (its bound door is gone and it is now unbound):
    /// its door_return fails with this error.
    Fail(Errno),
}

/// Result of [`crate::DoorSystem::door_return`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnOutcome {
    /// The caller to resume, or `None` when there is none (a first park, an
    /// unreferenced invocation, an abandoned call): results were discarded
    /// and DOOR_RELEASE descriptors closed.
    pub reply: Option<Reply>,
    /// The server thread's fate.
    pub next: Next,
}

/// Something the kernel must do that arose as a side effect of an operation
/// (see [`crate::DoorSystem::pop_event`]); drain them after every call into
/// the door logic.
#[derive(Clone, Debug, PartialEq, Eq)]
// Returned by value once per operation; boxing the upcall would put an
// allocation on the call path.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// Thread `caller`, blocked in door_call, is done: make it runnable with
    /// `-errno` as the result.
    CallFailed { caller: Tid, errno: Errno },
    /// An idle server thread got an invocation (an unreferenced notice):
    /// make it runnable through the run queue, starting the upcall.
    Dispatch(Upcall),
    /// The client of the invocation `server` serves abandoned it and the door
    /// lacks DOOR_NO_CANCEL: deliver the cancellation notice (the thread's
    /// `door_cancelled()` now returns 1; the kernel may also abort a
    /// door_call the thread is blocked in).
    Cancel { server: Tid },
    /// Idle server thread `tid` left its pool: its private door was revoked
    /// or freed (the thread is now unbound; EBADF), its argument area was
    /// unmapped (EFAULT), or a signal interrupted it (EINTR, still bound).
    /// Its door_return fails with `errno`.
    ParkFailed { tid: Tid, errno: Errno },
}

/// Counters for leak accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stats {
    /// Door objects alive.
    pub doors: usize,
    /// Invocations being served.
    pub invocations: usize,
    /// Callers waiting for a server thread.
    pub waiting: usize,
    /// Descriptors the waiting callers' messages carry.
    pub queued_descs: usize,
}
