//! The process half of the property test's model: door_info as each
//! process sees a door (its owner, liveness, attributes, references),
//! door_unbind, fork (the child gets a copy of the table and one thread,
//! invalidly bound when the forking thread is bound) and exec (the
//! process's doors die, its other threads exit).

use super::{PIDS, Run, is_token, pid_of};
use crate::{Errno, Pid, Tid};
use abi::{DOOR_CREATE_MASK, DOOR_IS_UNREF, DOOR_LOCAL, DOOR_REVOKED};
use std::vec::Vec;

impl Run {
    /// Process `pid` exited or executed another image: its doors are dead.
    pub(super) fn orphan_doors_of(&mut self, pid: Pid) {
        for (u, s) in &self.m.server_of {
            if *s == pid {
                self.m.dead.insert(*u);
                self.m.orphaned.insert(*u);
            }
        }
    }

    /// Whether thread `tid` is parked or blocked in a call (it cannot make
    /// a system call).
    pub(super) fn stopped(&self, tid: Tid) -> bool {
        self.m.blocked.contains(&tid) || self.m.s.parked.contains_key(&tid)
    }

    /// door_unbind by `tid`: drops a binding, valid or not (once).
    pub(super) fn unbind(&mut self, tid: Tid) {
        let r = self.w.sys.door_unbind(tid);
        if !self.m.threads.contains(&tid) {
            return assert_eq!(r, Err(Errno::ESRCH));
        }
        if self.stopped(tid) {
            return assert_eq!(r, Err(Errno::EINVAL));
        }
        let s = &mut self.m.s;
        if s.invbound.remove(&tid) || s.bound.remove(&tid).is_some() {
            assert_eq!(r, Ok(()));
        } else {
            assert_eq!(r, Err(Errno::EBADF));
        }
    }

    /// door_info by `tid` on its process's k-th descriptor: the door's
    /// owner, liveness, attributes and reference count as the model has
    /// them (a door stays its creator's across fork).
    pub(super) fn info(&mut self, tid: Tid, k: usize) {
        let pid = pid_of(tid);
        let fd = self.pick(pid, k);
        let r = self.w.door_info(tid, fd);
        if !self.m.threads.contains(&tid) {
            return assert_eq!(r, Err(Errno::ESRCH));
        }
        let u = match self.m.tables[&pid].get(&fd) {
            Some(&u) if !is_token(u) => u,
            _ => return assert_eq!(r, Err(Errno::EBADF)),
        };
        let info = r.unwrap();
        let (server, gone) = (self.m.server_of[&u], self.m.orphaned.contains(&u));
        assert_eq!({ info.di_target }, if gone { -1 } else { server as i32 });
        assert_eq!({ info.di_uniquifier }, u);
        let attrs = { info.di_attributes };
        assert_eq!(attrs & DOOR_CREATE_MASK, self.m.s.doors[&u].attrs);
        let local = !gone && server == pid;
        assert_eq!(attrs & DOOR_LOCAL != 0, local, "DOOR_LOCAL of {u} in {pid}");
        assert_eq!(attrs & DOOR_REVOKED != 0, self.m.dead.contains(&u));
        let single = self.model_refs().get(&u) == Some(&1);
        assert_eq!(attrs & DOOR_IS_UNREF != 0, single);
    }

    /// fork by `tid`: the next unborn process gets a copy of the table and
    /// one thread, invalidly bound if `tid` is bound.
    pub(super) fn fork(&mut self, tid: Tid) {
        let Some(&child) = PIDS.iter().find(|p| !self.m.born.contains(p)) else {
            return;
        };
        let (pid, child_tid) = (pid_of(tid), child * 10);
        let r = self.w.fork(pid, tid, child, child_tid);
        if !self.m.threads.contains(&tid) {
            return assert_eq!(r, Err(Errno::ESRCH));
        }
        if self.stopped(tid) {
            return assert_eq!(r, Err(Errno::EINVAL));
        }
        assert_eq!(r, Ok(()));
        self.m.born.insert(child);
        let table = self.m.tables[&pid].clone();
        self.m.tables.insert(child, table);
        self.m.threads.insert(child_tid);
        let s = &mut self.m.s;
        if s.bound.contains_key(&tid) || s.invbound.contains(&tid) {
            s.invbound.insert(child_tid);
        }
    }

    /// exec by `tid`: its process's doors die and its other threads exit;
    /// `tid` is left serving nothing, bound to nothing.
    pub(super) fn exec(&mut self, tid: Tid) {
        let pid = pid_of(tid);
        let r = self.w.exec(pid, tid);
        if !self.m.threads.contains(&tid) {
            return assert_eq!(r, Err(Errno::ESRCH));
        }
        if self.stopped(tid) {
            return assert_eq!(r, Err(Errno::EINVAL));
        }
        assert_eq!(r, Ok(()));
        self.m.s.exiting = true;
        let others: Vec<Tid> = self.m.threads.iter().copied().collect();
        for t in others.into_iter().filter(|&t| pid_of(t) == pid && t != tid) {
            self.thread_gone(t);
        }
        self.sched_gone(tid);
        self.orphan_doors_of(pid);
    }
}
