//! What fork and exec do to a process's door state, as illumos does it
//! (`door_fork`, `door_exit` and `door_slam` in its doorfs sources, and
//! `forklwp`, `exitlwps` and the exec path that call them).
//!
//! * **fork** is illumos's `fork1`: the child gets a copy of the calling
//!   thread only. Its door record is a fresh one: no call in progress, not
//!   serving (an invocation the forking thread serves stays the parent's),
//!   not bound, not idle in any pool; the child's shared pool is empty, so
//!   it has none of the parent's server threads. If the forking thread is
//!   bound (door_bind, or itself an invalidly bound fork child), the
//!   child's thread is *invalidly bound*: its door_return fails with EINVAL
//!   until it calls door_unbind, which succeeds once and clears the mark
//!   (or door_bind, which replaces it), as door_bind(3C) says. Threads of
//!   the parent blocked in door calls are not disturbed (fork1 does not
//!   interrupt them; only forkall does).
//!
//!   Doors stay their creator's: the child's inherited descriptors name
//!   the parent's doors (door_info in the child: di_target the parent's
//!   pid, no DOOR_LOCAL; door_revoke and door_setparam: EPERM; door_bind:
//!   EINVAL), and its calls reach the parent's server threads. The
//!   capability layer copies the descriptor table and counts one more
//!   reference per door descriptor ([`DoorSystem::add_ref`]), so the
//!   child's descriptors keep a door referenced until it closes them or
//!   exits (its exit closes them: ordinary closes, which may send
//!   unreferenced notices). Doors the child creates are its own; its first
//!   non-private door_create asks for the door_server_create procedure, as
//!   illumos's libc does once per process (it tracks the pid).
//! * **exec** replaces the image: as on exit, every door the process
//!   created is revoked with its server gone (di_target -1; callers in the
//!   middle of a call get EINTR, waiting ones EBADF), and every other
//!   thread exits. The calling thread keeps its id with a fresh door
//!   record: the caller of an invocation it was serving gets EINTR, its
//!   binding is dropped. The capability layer then closes the
//!   close-on-exec descriptors (door_create marks its descriptor so).

use crate::descriptors::Descriptors;
use crate::{DoorSystem, Errno, Pid, ThreadKey, Tid};
use alloc::vec::Vec;

impl<C: Copy> DoorSystem<C> {
    /// fork by thread `forker` of process `parent`: registers process
    /// `child` with one thread, `child_tid` (the forking thread's copy,
    /// whose kernel record is `child_handle`: see
    /// [`DoorSystem::create_thread`]), and returns that thread's key. Errors (nothing changes): ESRCH
    /// (`forker` unknown or not a thread of `parent`), EINVAL (`forker` is
    /// parked or blocked in a call, or `child` or `child_tid` exists).
    ///
    /// The kernel's capability layer copies the descriptor table and counts
    /// the copied door references itself.
    pub fn fork_process(
        &mut self,
        parent: Pid,
        forker: Tid,
        child: Pid,
        child_tid: Tid,
        child_handle: u64,
    ) -> Result<ThreadKey, Errno> {
        let key = self.thread_of(parent, forker)?;
        let t = self.threads.at(key);
        if self.procs.contains_key(&child) || self.threads.contains_key(&child_tid) {
            return Err(Errno::EINVAL);
        }
        let bound_invalid = t.bind.is_some() || t.bound_invalid;
        self.create_process(child)?;
        let copy = self.create_thread(child, child_tid, child_handle)?;
        self.threads.at_mut(copy).bound_invalid = bound_invalid;
        Ok(copy)
    }

    /// exec by thread `tid` of process `pid`: the process's doors are
    /// revoked and its other threads exit as at exit; `tid` stays with a
    /// fresh door record (keeping its handle), whose key is returned (the
    /// old key names nothing). Events this queues never name a thread of `pid`. Errors
    /// (nothing changes): ESRCH (`tid` unknown or not of `pid`), EINVAL
    /// (`tid` is parked or blocked in a call).
    ///
    /// The kernel's capability layer closes the close-on-exec descriptors
    /// afterwards (ordinary closes).
    pub fn exec_process<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        tid: Tid,
    ) -> Result<ThreadKey, Errno> {
        let handle = self.threads.at(self.thread_of(pid, tid)?).handle;
        self.exit_process(caps, pid);
        self.create_process(pid)?;
        self.create_thread(pid, tid, handle)
    }

    /// The argument areas (`(base, size)`) of process `pid`'s idle server
    /// threads: the kernel writes an invocation there without a further
    /// check, so a fork must not leave them sharing pages copy-on-write.
    pub fn idle_areas(&self, pid: Pid) -> Vec<(u64, u64)> {
        let Some(p) = self.procs.get(&pid) else {
            return Vec::new();
        };
        p.threads
            .iter()
            .map(|&key| self.threads.at(key))
            .filter(|t| t.idle.is_some())
            .map(|t| (t.stack.base, t.stack.size))
            .collect()
    }

    /// The key of running thread `tid` of process `pid`: ESRCH if there is
    /// no such thread in `pid`, EINVAL if it is parked or blocked in a call.
    fn thread_of(&self, pid: Pid, tid: Tid) -> Result<ThreadKey, Errno> {
        match self.threads.get(&tid) {
            Some(t) if t.pid == pid => self.running_thread_key(tid),
            _ => Err(Errno::ESRCH),
        }
    }
}
