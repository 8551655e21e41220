//! fork and exec in the capability layer: the whole descriptor table
//! copied into a child (every kind, the same descriptors, close-on-exec
//! flags and the table's numbering kept; each copy is one more reference to its object, counted by
//! its kind, so an open-file description is shared as POSIX says), and the
//! close-on-exec descriptors closed by exec. The door logic is told first
//! (see `doors`' `fork` module for what fork and exec do to doors).

use super::{Holder, Objects};
use crate::io::PageStore;
use abi::Errno;
use alloc::vec::Vec;
use doors::{Pid, ThreadKey, Tid};

impl<S: PageStore> Objects<S> {
    /// fork by thread `forker` of `parent`: `child` gets a copy of the
    /// parent's table (every kind: a file's, directory's or device's
    /// open-file description and a pipe's end are shared, one more
    /// reference each), its current directory (one more reference) and its
    /// umask, and one thread, `child_tid` (its kernel record's handle
    /// `child_handle`: `doors::DoorSystem::create_thread`), whose
    /// door-logic key is returned. Errors (nothing created): EAGAIN (the
    /// copy's slots would take the tables beyond `max_slots`), ESRCH (no
    /// process `parent`, or `forker` is not its thread), EINVAL (`forker`
    /// is parked or blocked in a door call; `child` or `child_tid`
    /// exists).
    pub fn fork(
        &mut self,
        parent: Pid,
        forker: Tid,
        child: Pid,
        child_tid: Tid,
        child_handle: u64,
    ) -> Result<ThreadKey, Errno> {
        let holder = self.caps.holder(parent)?;
        if self.caps.holders.contains_key(&child) {
            return Err(Errno::EINVAL);
        }
        if holder.table.slots() > self.caps.spare() {
            return Err(Errno::EAGAIN);
        }
        let copy = Holder {
            table: holder.table.clone(),
            cwd: holder.cwd,
            umask: holder.umask,
        };
        let key = self
            .doors
            .fork_process(parent, forker, child, child_tid, child_handle)?;
        for (_, entry) in copy.table.iter() {
            self.retain(entry.cap);
        }
        self.caps.fs.retain_node(copy.cwd);
        self.caps.slots += copy.table.slots();
        self.caps.holders.insert(child, copy);
        Ok(key)
    }

    /// exec by thread `tid` of `pid`: the door logic first (the process's
    /// doors are revoked, its other threads leave; `tid` gets a fresh
    /// record, whose key is returned), then the close-on-exec descriptors
    /// of every kind are closed. The current directory and umask stay.
    /// Errors (nothing changes): ESRCH (no such process or thread), EINVAL
    /// (`tid` is parked or blocked in a door call).
    pub fn exec(&mut self, pid: Pid, tid: Tid) -> Result<ThreadKey, Errno> {
        let table = &self.caps.holder(pid)?.table;
        let cloexec: Vec<_> = table
            .iter()
            .filter(|(_, entry)| entry.cloexec)
            .map(|(fd, _)| fd)
            .collect();
        let key = self.doors.exec_process(&mut self.caps, pid, tid)?;
        for fd in cloexec {
            self.close(pid, fd).expect("a descriptor listed just now");
        }
        Ok(key)
    }
}
