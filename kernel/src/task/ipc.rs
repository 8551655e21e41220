//! The kernel side of doors. The door logic (`doors::DoorSystem`, tested on
//! the host) lives inside the scheduler state, under the same lock; this
//! module gives it access to user memory ([`Spaces`]) and carries out what
//! it decides: copying arguments into a server thread's stack area and
//! results back to the caller, and the side effects it reports as events.
//! Switching threads is left to the callers (`syscall::doors`), which hand
//! the CPU straight from caller to server and back.

use super::{Process, Sched};
use crate::mem::PAGE_SIZE;
use crate::mem::space::AddressSpace;
use crate::mem::user::{UserSlice, copy_between, write_wire};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use doors::abi::DoorDesc;
use doors::abi::errno::{EFAULT, EINTR};
use doors::wire::Wire;
use doors::{Config, Depleted, DoorSystem, Errno, Event, Pid, Registry, Reply, Upcall, UserMemory};

/// Whether door calls and returns hand the CPU straight to the other side
/// (the default) or wake it through the run queue (for the benchmark that
/// measures what the handoff gains).
pub static HANDOFF: AtomicBool = AtomicBool::new(true);

/// Bytes of a server thread's stack area that must stay free below the
/// arguments, for the server procedure's own frames (one page: the 8 KiB
/// server stacks of door_server_create(3C)'s example still take small
/// arguments; a larger stack is the server's choice, as in illumos).
const STACK_RESERVE: u64 = 4096;

/// How a parked server thread starts an invocation (see
/// `doors::abi::invocation`): its stack pointer, `rax`, and the cookie,
/// argument pointer and size, descriptor pointer and count, and server
/// procedure for `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`.
#[derive(Clone, Copy)]
pub struct Entry {
    pub sp: u64,
    pub status: u64,
    pub regs: [u64; 6],
}

/// The door logic's view of user memory: every process's address space.
pub struct Spaces<'a>(&'a mut Registry<Process>);

impl Spaces<'_> {
    fn space(&self, pid: Pid) -> Option<&AddressSpace> {
        self.0.get(&pid).and_then(|p| p.space.as_ref())
    }
}

impl UserMemory for Spaces<'_> {
    fn accessible(&self, pid: Pid, addr: u64, len: u64, write: bool) -> bool {
        let Some(space) = self.space(pid) else {
            return false;
        };
        UserSlice::new(addr, len).is_ok_and(|s| s.check(space, write).is_ok())
    }

    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        let space = self.space(pid).ok_or(Errno(EFAULT))?;
        let bytes = UserSlice::new(addr, u64::from(n) * DoorDesc::SIZE as u64)
            .and_then(|s| s.read_vec(space))
            .map_err(Errno)?;
        Ok(bytes
            .chunks_exact(DoorDesc::SIZE)
            .map(DoorDesc::decode)
            .collect())
    }

    fn epoch(&self) -> u64 {
        crate::mem::space::unmap_epoch()
    }

    fn map_zeroed(&mut self, pid: Pid, len: u64) -> Option<u64> {
        let space = self.0.get_mut(&pid)?.space.as_mut()?;
        space
            .map_area(None, len.div_ceil(PAGE_SIZE), true, false)
            .ok()
    }
}

impl Sched {
    /// Sets up the door system (once, at boot).
    pub fn init_doors(&mut self) {
        let cfg = Config {
            stack_reserve: STACK_RESERVE,
            page_size: PAGE_SIZE,
            ..Config::default()
        };
        self.doors = Some(DoorSystem::new(cfg));
    }

    /// The door logic.
    pub fn doors(&mut self) -> &mut DoorSystem {
        self.doors
            .as_mut()
            .expect("door system initialised at boot")
    }

    /// The door logic together with the user memory it may inspect.
    pub fn doors_and_memory(&mut self) -> (&mut DoorSystem, Spaces<'_>) {
        (
            self.doors
                .as_mut()
                .expect("door system initialised at boot"),
            Spaces(&mut self.procs),
        )
    }

    /// What a thread's pending door_call or door_return will return.
    pub fn door_result(&self, tid: u32) -> isize {
        self.threads.get(&tid).map_or(-EINTR, |t| t.door_result())
    }

    pub fn set_door_result(&mut self, tid: u32, value: isize) {
        if let Some(t) = self.threads.get_mut(&tid) {
            t.door_ret = value;
        }
    }

    /// Takes the invocation a server thread was given while parked.
    pub fn take_upcall(&mut self, tid: u32) -> Option<Entry> {
        self.threads.get_mut(&tid).and_then(|t| t.take_upcall())
    }

    /// Writes an invocation into the server thread's stack area (arguments,
    /// descriptors, door_info of a depleted private pool) and records how
    /// the thread starts it.
    pub fn deliver_upcall(&mut self, up: &Upcall) {
        let procs = &self.procs;
        let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
        let nothing_to_write = up.copy.is_none() && up.descs.is_empty() && up.depleted.is_none();
        let result = (|| -> Result<(), isize> {
            if nothing_to_write {
                return Ok(());
            }
            let server = space(up.server_pid).ok_or(EFAULT)?;
            let l = &up.layout;
            if let Some(c) = up.copy {
                copy_between(
                    space(c.from_pid).ok_or(EFAULT)?,
                    c.from,
                    server,
                    l.data_addr,
                    c.len,
                )?;
            }
            for (i, d) in up.descs.iter().enumerate() {
                write_wire(server, l.desc_addr + (i * DoorDesc::SIZE) as u64, d)?;
            }
            if let Some(Depleted::Private(info)) = &up.depleted {
                write_wire(server, l.info_addr, info)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // The door logic checked these ranges before committing; a
            // failure here is a kernel bug, reported rather than hidden.
            crate::error!(
                "door upcall to thread {} could not be written: errno {e}",
                up.server
            );
        }
        let entry = Entry {
            sp: up.layout.sp,
            status: up.entry_status(),
            regs: up.entry_regs(),
        };
        if let Some(t) = self.threads.get_mut(&up.server) {
            t.upcall = Some(entry);
        }
    }

    /// Copies a door_return's results into the caller and sets what its
    /// door_call returns.
    pub fn deliver_reply(&mut self, reply: &Reply) {
        let value = match &reply.result {
            Err(e) => -e.0,
            Ok(d) => {
                let procs = &self.procs;
                let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
                let copied = (|| -> Result<(), isize> {
                    if d.len == 0 && d.descs.is_empty() && d.arg.is_none() {
                        return Ok(());
                    }
                    let caller = space(reply.caller_pid).ok_or(EFAULT)?;
                    if d.len > 0 {
                        copy_between(
                            space(d.server_pid).ok_or(EFAULT)?,
                            d.from,
                            caller,
                            d.data_addr,
                            d.len,
                        )?;
                    }
                    for (i, desc) in d.descs.iter().enumerate() {
                        write_wire(caller, d.desc_addr + (i * DoorDesc::SIZE) as u64, desc)?;
                    }
                    if let Some((addr, arg)) = &d.arg {
                        write_wire(caller, *addr, arg)?;
                    }
                    Ok(())
                })();
                match copied {
                    Ok(()) => 0,
                    Err(e) => -e,
                }
            }
        };
        self.set_door_result(reply.caller, value);
    }

    /// Carries out the side effects the door logic queued.
    #[inline]
    pub fn handle_door_events(&mut self) {
        if self.doors.as_ref().is_some_and(DoorSystem::has_events) {
            self.drain_door_events();
        }
    }

    fn drain_door_events(&mut self) {
        while let Some(event) = self.doors.as_mut().and_then(DoorSystem::pop_event) {
            match event {
                Event::CallFailed { caller, errno } | Event::ParkFailed { tid: caller, errno } => {
                    self.set_door_result(caller, -errno.0);
                    self.wake(caller);
                }
                Event::Dispatch(up) => {
                    self.deliver_upcall(&up);
                    self.wake(up.server);
                }
                // The notice is the thread's `door_cancelled()` state, which
                // the door logic keeps; nothing to interrupt here.
                Event::Cancel { .. } => {}
            }
        }
    }
}

/// Whether door operations use the direct handoff.
pub fn handoff_enabled() -> bool {
    HANDOFF.load(Ordering::Relaxed)
}

impl super::Thread {
    /// What its pending door_call or door_return returns.
    pub fn door_result(&self) -> isize {
        self.door_ret
    }

    /// Takes the invocation it was given while parked.
    pub fn take_upcall(&mut self) -> Option<Entry> {
        self.upcall.take()
    }
}
