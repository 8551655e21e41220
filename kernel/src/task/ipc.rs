//! The kernel side of doors. The door logic (`doors::DoorSystem`, tested on
//! the host) lives inside the scheduler state, under the same lock, with the
//! capability layer (`kernel::cap`, see `objects.rs`); this module gives it
//! access to user memory ([`Spaces`]) and carries out what it decides:
//! copying arguments into a server thread's stack area and results back to
//! the caller (the side effects it reports as events are carried out in
//! `objects.rs`). Switching threads is left to the callers
//! (`syscall::door`), which hand the CPU straight from caller to server and
//! back.

use super::{Process, Resume, Sched, Thread};
use crate::mem::PAGE_SIZE;
use crate::mem::pages::FrameStore;
use crate::mem::space::AddressSpace;
use crate::mem::user::{UserPtr, UserSlice, copy_between};
use abi::{DoorArg, DoorDesc, DoorInfo, Errno};
use alloc::vec::Vec;
use doors::{Depleted, DoorSystem, Pid, Registry, Reply, Upcall, UserMemory};
use kernel::cap::{CapSpace, Capability};

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
        UserSlice::<u8>::new(addr, len).is_ok_and(|s| s.check(space, write).is_ok())
    }

    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        let space = self.space(pid).ok_or(Errno::EFAULT)?;
        UserSlice::<DoorDesc>::new(addr, u64::from(n))?.read_all(space)
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
    /// The door logic, the descriptor tables and the user memory it may
    /// inspect, at once.
    #[inline]
    pub fn door_env(
        &mut self,
    ) -> (
        &mut DoorSystem<Capability>,
        &mut CapSpace<FrameStore>,
        Spaces<'_>,
    ) {
        let objects = self.objects.as_mut().expect("objects initialised at boot");
        (
            &mut objects.doors,
            &mut objects.caps,
            Spaces(&mut self.procs),
        )
    }

    /// Decides how thread `tid`'s door operation ends.
    pub fn set_resume(&mut self, tid: u32, resume: Resume) {
        if let Some(t) = self.threads.get_mut(tid) {
            t.resume = resume;
        }
    }

    /// How thread `tid`'s door operation ends (it is taken: the next one
    /// starts out interrupted).
    pub fn take_resume(&mut self, tid: u32) -> Resume {
        self.threads
            .get_mut(tid)
            .map_or(Resume::INTERRUPTED, |t| t.take_resume())
    }

    /// Writes an invocation into the server thread's stack area (arguments,
    /// descriptors, door_info of a depleted private pool); returns how the
    /// thread starts it. The door logic checked every range right before
    /// (an idle thread's area stays writable: unmaps take threads out of
    /// their pools; a caller's arguments are checked when its call starts),
    /// under this same lock, so the copies cannot fail.
    pub fn deliver_upcall(&mut self, up: &Upcall) -> Resume {
        let procs = &self.procs;
        let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
        let nothing_to_write = up.copy.is_none() && up.descs.is_empty() && up.depleted.is_none();
        if !nothing_to_write {
            let written = (|| -> Result<(), Errno> {
                let server = space(up.server_pid).ok_or(Errno::EFAULT)?;
                let l = &up.layout;
                if let Some(c) = up.copy {
                    let caller = space(c.from_pid).ok_or(Errno::EFAULT)?;
                    copy_between(caller, c.from, server, l.data_addr, c.len)?;
                }
                let n = up.descs.len() as u64;
                UserSlice::<DoorDesc>::new(l.desc_addr, n)?.write_all(server, &up.descs)?;
                if let Some(Depleted::Private(info)) = &up.depleted {
                    UserPtr::<DoorInfo>::new(l.info_addr)?.write(server, info)?;
                }
                Ok(())
            })();
            if let Err(e) = written {
                panic!(
                    "door upcall to thread {} failed ({e:?}) on ranges the door logic checked",
                    up.server
                );
            }
        }
        Resume::Invocation(super::Entry {
            sp: up.layout.sp,
            status: up.entry_status(),
            regs: up.entry_regs(),
        })
    }

    /// Copies a door_return's results into the caller; returns what its
    /// door_call returns.
    pub fn deliver_reply(&mut self, reply: &Reply) -> Resume {
        let result = match &reply.result {
            Err(e) => Err(*e),
            Ok(d) => {
                let procs = &self.procs;
                let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
                (|| -> Result<u64, Errno> {
                    if d.len == 0 && d.descs.is_empty() && d.arg.is_none() {
                        return Ok(0);
                    }
                    let caller = space(reply.caller_pid).ok_or(Errno::EFAULT)?;
                    if d.len > 0 {
                        let server = space(d.server_pid).ok_or(Errno::EFAULT)?;
                        copy_between(server, d.from, caller, d.data_addr, d.len)?;
                    }
                    let n = d.descs.len() as u64;
                    UserSlice::<DoorDesc>::new(d.desc_addr, n)?.write_all(caller, &d.descs)?;
                    if let Some((addr, arg)) = &d.arg {
                        UserPtr::<DoorArg>::new(*addr)?.write(caller, arg)?;
                    }
                    Ok(0)
                })()
            }
        };
        Resume::Return(result)
    }
}

impl Thread {
    /// How its pending door operation ends; the next one starts out
    /// interrupted.
    #[inline]
    pub fn take_resume(&mut self) -> Resume {
        core::mem::replace(&mut self.resume, Resume::INTERRUPTED)
    }
}
