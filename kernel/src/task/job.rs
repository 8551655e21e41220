//! Job control in the scheduler (what a stop or a continue is, and what
//! the parent learns, are `kernel::job`'s rules): no thread of a stopped
//! process runs, in user mode or in the kernel. A thread whose turn comes
//! on the run queue is set aside instead (`Sched::pop_ready`), a door
//! call or return that would hand the CPU to one goes through the run
//! queue instead (`Sched::direct_switch_to`), and the running thread that
//! stopped its own process waits on its way back to user mode
//! ([`wait_while_stopped`]). Threads blocked in the kernel stay blocked;
//! woken, they are set aside in their turn. SIGCONT puts the threads set
//! aside back on the run queue. The parent learns each change: SIGCHLD
//! (unless SA_NOCLDSTOP) and its waits in `wait4`, woken. In an orphaned
//! group SIGTSTP, SIGTTIN and SIGTTOU do not stop, and a group orphaned
//! with a member stopped is hung up (SIGHUP, then SIGCONT: the rules are
//! `kernel::session`'s).

use super::switch::set_aside;
use super::{HANDOFF_OFF, RETURN_CHECKS, SCHED, STOPPED, Sched, State};
use abi::signal::{SIGCONT, SIGHUP};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use kernel::job::{self, Report};
use kernel::linux::pending::{CLD_CONTINUED, CLD_STOPPED, Info};
use kernel::session::{self, Change};
use spin::MutexGuard;

impl Sched {
    /// What sending signal `sig` to process `pid` does first, whatever
    /// its action (Linux's `prepare_signal`): SIGCONT continues the
    /// process and discards its pending stop signals, a stop signal
    /// discards its pending SIGCONT.
    pub(super) fn prepare_signal(&mut self, pid: u32, sig: u32) {
        let discarded = job::discarded_by(sig);
        if discarded == 0 {
            return;
        }
        for s in (1..=64).filter(|&s| discarded & (1 << (s - 1)) != 0) {
            self.discard_signal(pid, s);
        }
        if sig == SIGCONT as u32 {
            self.continue_process(pid);
        }
    }

    /// Stops process `pid` by signal `sig` (nothing for one stopped
    /// already, ending, or a zombie, and the signal discarded for SIGTSTP,
    /// SIGTTIN or SIGTTOU in an orphaned group), and tells its parent.
    pub(super) fn stop_process(&mut self, pid: u32, sig: u32) {
        if session::discards_stop(sig, pid, &self.session_members()) {
            crate::debug!("process {pid}: signal {sig} discarded in an orphaned group");
            return;
        }
        let Sched { procs, threads, .. } = self;
        let Some(p) = procs
            .get_mut(&pid)
            .filter(|p| p.death.is_none() && p.space.is_some())
        else {
            return;
        };
        let Some(report) = p.job.stop(sig) else {
            return;
        };
        count_stopped(true);
        for &tid in &p.threads {
            if let Some(t) = threads.get_mut(tid) {
                t.stopped = true;
            }
        }
        crate::debug!("process {pid} ({}) stopped by signal {sig}", p.name);
        self.tell_parent(pid, report);
    }

    /// Continues process `pid` if it is stopped: its threads set aside go
    /// back on the run queue; its parent is told.
    fn continue_process(&mut self, pid: u32) {
        let Sched {
            procs,
            threads,
            ready,
            ..
        } = self;
        let Some(p) = procs.get_mut(&pid) else {
            return;
        };
        let Some(report) = p.job.resume() else {
            return;
        };
        count_stopped(false);
        for &tid in &p.threads {
            if let Some(t) = threads.get_mut(tid) {
                t.stopped = false;
                if t.state == State::Stopped {
                    t.state = State::Ready;
                    ready.push(tid);
                }
            }
        }
        crate::debug!("process {pid} ({}) continued", p.name);
        self.tell_parent(pid, report);
    }

    /// The groups that `change`, about to be made, orphans with a member
    /// stopped (`session::hang_ups`; none while no process is stopped).
    pub(super) fn orphaned_by(&self, change: Change) -> Vec<u32> {
        if STOPPED.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        session::hang_ups(change, &self.session_members())
    }

    /// Sends SIGHUP, then SIGCONT, to every process of the groups
    /// `orphaned` (Linux's `kill_orphaned_pgrp`).
    pub(super) fn hang_up(&mut self, orphaned: &[u32]) {
        if orphaned.is_empty() {
            return;
        }
        for sig in [SIGHUP, SIGCONT] {
            let members: Vec<u32> = self
                .procs
                .values()
                .filter(|p| orphaned.contains(&p.pgid))
                .map(|p| p.pid)
                .collect();
            for pid in members {
                // Standard signals: they never queue.
                let _ = self.signal_process(pid, Info::kernel(sig as u32));
            }
        }
    }

    /// Tells the parent of process `pid` that it stopped or continued: a
    /// SIGCHLD (CLD_STOPPED or CLD_CONTINUED) unless its action has
    /// SA_NOCLDSTOP (a native parent has no handler: it is ignored), and
    /// its threads waiting in `wait4` wake to look.
    fn tell_parent(&mut self, pid: u32, report: Report) {
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        let (parent, uid) = (p.parent, p.cred.ruid);
        let Some(linux) = self.procs.get(&parent).map(|p| p.linux.as_deref()) else {
            return;
        };
        if linux.is_some_and(|l| l.actions.told_of_child_stops()) {
            let code = match report {
                Report::Stopped(_) => CLD_STOPPED,
                Report::Continued => CLD_CONTINUED,
            };
            let info = Info::child(code, pid, uid, report.signal());
            // A standard signal: it never queues.
            let _ = self.signal_process(parent, info);
        }
        self.wake_waiters(parent);
    }
}

/// Counts a process that stops (`true`) or is stopped no more (`false`,
/// continued or ended) where the hot paths look: the choice of the next
/// thread, door switches, the return to user mode.
pub(super) fn count_stopped(stopped: bool) {
    for counter in [&STOPPED, &HANDOFF_OFF, &RETURN_CHECKS] {
        match stopped {
            true => counter.fetch_add(1, Ordering::Relaxed),
            false => counter.fetch_sub(1, Ordering::Relaxed),
        };
    }
}

/// On the way back to user mode: while the running thread's process is
/// stopped (it stopped itself, or took a stop signal it had blocked),
/// the thread is set aside, until the process continues; `g` is released
/// meanwhile (a thread set aside that is killed never comes back).
pub(super) fn wait_while_stopped(mut g: MutexGuard<'static, Sched>) -> MutexGuard<'static, Sched> {
    loop {
        let pid = g.current_pid();
        if !g.procs.get(&pid).is_some_and(|p| p.job.is_stopped()) {
            return g;
        }
        set_aside(g);
        g = SCHED.lock();
    }
}
