//! How processes end and are reaped: exit, faults and signals (`kill`, and
//! alarms: a signal takes its default action, `kernel::signal`, or, for
//! a Linux program, is made pending as `task::signals` says), `pause`,
//! zombies kept until their parent's `wait4` (SIGCHLD tells a parent with
//! a handler), and orphans adopted by init. Ending a process ends its threads as exit does, so its door
//! calls and the calls its threads serve end as on exit (callers get EINTR,
//! servers a cancellation notice). Also process groups and sessions
//! (`setpgid`, `setsid`, `getpgid`, `getsid`: the rules are
//! `kernel::session`'s), and the groups an exit or a move orphans with a
//! member stopped, hung up (`task::job`).

use super::{
    CpuTicks, HANDOFF_OFF, Process, RETURN_CHECKS, SCHED, Sched, State, Wait, block, exit_thread,
};
use crate::arch::timer::HZ;
use crate::mem::space::AddressSpace;
use abi::Errno;
use abi::signal::SIGALRM;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use kernel::job::Job;
use kernel::linux::pending::{CLD_EXITED, CLD_KILLED, Full, Info};
use kernel::session::{self, Change, INIT, Member};
use kernel::signal::{self, Death, Ids};
use kernel::wait::{Child, Reap, Waited, reap};

impl Sched {
    /// Every process (zombies too) as `kernel::session` sees it.
    pub(super) fn session_members(&self) -> Vec<Member> {
        self.procs
            .values()
            .map(|p| Member {
                pid: p.pid,
                parent: p.parent,
                pgid: p.pgid,
                sid: p.sid,
                execed: p.execed,
                stopped: p.job.is_stopped(),
                exited: p.space.is_none(),
            })
            .collect()
    }

    /// `setpgid(pid, pgid)` by the running process (`session::setpgid`);
    /// a group it orphans with a member stopped is hung up.
    pub fn setpgid(&mut self, pid: i32, pgid: i32) -> Result<(), Errno> {
        let me = self.current_pid();
        let (target, group) = session::setpgid(me, pid, pgid, &self.session_members())?;
        let sid = self.process(target).ok_or(Errno::ESRCH)?.sid;
        let orphaned = self.orphaned_by(Change::Move {
            pid: target,
            pgid: group,
            sid,
        });
        if let Some(p) = self.procs.get_mut(&target) {
            p.pgid = group;
        }
        self.hang_up(&orphaned);
        Ok(())
    }

    /// `setsid()` by the running process (`session::setsid`): it leads a
    /// new session and a new group, both named by its pid, returned; a
    /// group it orphans with a member stopped is hung up.
    pub fn setsid(&mut self) -> Result<u32, Errno> {
        let me = self.current_pid();
        let sid = session::setsid(me, &self.session_members())?;
        let orphaned = self.orphaned_by(Change::Move {
            pid: me,
            pgid: sid,
            sid,
        });
        let p = self.procs.get_mut(&me).ok_or(Errno::ESRCH)?;
        (p.pgid, p.sid) = (sid, sid);
        self.hang_up(&orphaned);
        Ok(sid)
    }

    /// `getpgid(pid)` by the running process (0: itself).
    pub fn getpgid(&self, pid: i32) -> Result<u32, Errno> {
        session::getpgid(self.current_pid(), pid, &self.session_members())
    }

    /// `getsid(pid)` by the running process (0: itself).
    pub fn getsid(&self, pid: i32) -> Result<u32, Errno> {
        session::getsid(self.current_pid(), pid, &self.session_members())
    }

    /// Ends process `pid` as `death` says: every thread but the running one
    /// is destroyed now; if the running thread is not the process's, the
    /// process is finished at once (the running thread, if it is the
    /// process's, ends on its way back to user mode). Idempotent: the first
    /// death wins, and a zombie stays as it is.
    pub fn kill_process(&mut self, pid: u32, death: Death) {
        let current = self.current;
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.space.is_none() {
            return;
        }
        if p.death.is_none() {
            p.death = Some(death);
            p.dying = true;
            RETURN_CHECKS.fetch_add(1, Ordering::Relaxed);
        }
        let others: Vec<u32> = p
            .threads
            .iter()
            .copied()
            .filter(|&t| t != current)
            .collect();
        p.threads.retain(|&t| t == current);
        for tid in others {
            crate::trace::thread_exit(tid, pid);
            self.destroy_thread(tid);
        }
        if self.procs.get(&pid).is_some_and(|p| p.threads.is_empty()) {
            self.finish_process(pid);
        }
    }

    /// The last thread is gone: free the address space, make the process a
    /// zombie for its parent (or drop it if nobody will wait), give its
    /// children to init, hang up the groups that orphans with a member
    /// stopped, wake whoever waits for them.
    pub(super) fn finish_process(&mut self, pid: u32) {
        let orphaned = self.orphaned_by(Change::Exit(pid));
        self.objects().exit_process(pid);
        self.handle_events();
        self.alarms.remove(&pid);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.space = None;
        p.exited_threads.clear(&mut self.threads);
        if core::mem::take(&mut p.dying) {
            RETURN_CHECKS.fetch_sub(1, Ordering::Relaxed);
        }
        if core::mem::replace(&mut p.job, Job::RUNNING).is_stopped() {
            super::job::count_stopped(false);
        }
        if !core::mem::replace(&mut p.handoff, true) {
            HANDOFF_OFF.fetch_sub(1, Ordering::Relaxed);
        }
        let (parent, uid) = (p.parent, p.cred.ruid);
        let death = *p.death.get_or_insert(Death::Exit(0));
        crate::trace::process_exit(pid, death.status());
        crate::debug!("process {pid} ({}) ended: {death:?}", p.name);
        self.adopt_children(pid);
        self.hang_up(&orphaned);
        if parent == 0 || !self.procs.contains_key(&parent) {
            self.procs.remove(&pid);
            return;
        }
        let (code, status) = match death {
            Death::Exit(code) => (CLD_EXITED, code),
            Death::Fault(vector) => (CLD_KILLED, signal::fault_signal(vector)),
            Death::Signal(sig) => (CLD_KILLED, sig),
        };
        // A standard signal: it never queues.
        let _ = self.signal_process(parent, Info::child(code, pid, uid, status));
        self.wake_waiters(parent);
    }

    /// Gives the children of `pid` (which is ending) to init, which reaps
    /// them; with no init (init itself ends) nobody will wait, so zombies
    /// go at once and the others when they end.
    fn adopt_children(&mut self, pid: u32) {
        let adopter = match pid != INIT && self.procs.contains_key(&INIT) {
            true => INIT,
            false => 0,
        };
        let mut zombie_adopted = false;
        let mut gone = Vec::new();
        for child in self.procs.values_mut().filter(|c| c.parent == pid) {
            child.parent = adopter;
            if child.space.is_none() {
                zombie_adopted = true;
                gone.push(child.pid);
            }
        }
        if adopter == 0 {
            for z in gone {
                self.procs.remove(&z);
            }
        } else if zombie_adopted {
            self.wake_waiters(adopter);
        }
    }

    /// Charges the timer tick that just came to the running thread and its
    /// process (the idle thread has no process).
    pub(super) fn charge_tick(&mut self) {
        let Some(t) = self.threads.get_mut(self.current) else {
            return;
        };
        t.cpu_ticks += 1;
        let pid = t.pid;
        if let Some(p) = self.procs.get_mut(&pid) {
            p.cpu.own += 1;
        }
    }

    /// The running thread's CPU time in timer ticks, and its process's.
    pub fn cpu_ticks(&self) -> (u64, CpuTicks) {
        let Some(t) = self.threads.get(self.current) else {
            return (0, CpuTicks::default());
        };
        let process = self
            .procs
            .get(&t.pid)
            .map_or(CpuTicks::default(), |p| p.cpu);
        (t.cpu_ticks, process)
    }

    /// Wakes the threads of `pid` waiting for a child.
    pub(super) fn wake_waiters(&mut self, pid: u32) {
        let waiters: Vec<u32> = self
            .threads
            .values()
            .filter(|t| t.pid == pid && t.state == State::Blocked(Wait::Child))
            .map(|t| t.tid)
            .collect();
        for w in waiters {
            self.wake(w);
        }
    }

    /// `kill(pid, sig)` by the running process (see `kernel::signal::kill`
    /// for whom it names and may signal): each process it reaches gets the
    /// signal (`Sched::signal_process`: its default action, or pending for
    /// a handler or a mask that blocks it); a zombie is left as it is.
    /// The saved user id is the real one here (no set-user-ID programs).
    pub fn kill(&mut self, pid: i32, sig: i32) -> Result<(), Errno> {
        let (targets, me, uid) = self.kill_targets(pid, sig)?;
        for target in targets {
            // Beyond MAX_QUEUED_SIGNALS a real-time signal pending already
            // stays as it is: Linux, too, loses the instance `kill` sent.
            let _ = self.signal_process(target, Info::user(sig as u32, me, uid));
        }
        Ok(())
    }

    /// `rt_sigqueueinfo(pid, sig, info)` by the running process, `info`
    /// as read from the caller: as `kill` to the process `pid` alone (only
    /// a positive pid names one: ESRCH otherwise), with `info`. EPERM for
    /// an `info` that would pass for the kernel's or `kill`'s (a code that
    /// is not negative, or SI_TKILL) sent to another process, as Linux;
    /// EAGAIN when the instance would be queued and the system has no
    /// room ([`abi::MAX_QUEUED_SIGNALS`]).
    pub fn sigqueue(&mut self, pid: i32, info: Info) -> Result<(), Errno> {
        if pid <= 0 {
            return Err(Errno::ESRCH);
        }
        if info.impersonates() && pid as u32 != self.current_pid() {
            return Err(Errno::EPERM);
        }
        let (targets, ..) = self.kill_targets(pid, info.signo as i32)?;
        for target in targets {
            self.signal_process(target, info)
                .map_err(|Full| Errno::EAGAIN)?;
        }
        Ok(())
    }

    /// The processes `kill(pid, sig)` by the running process sends to
    /// (see `kernel::signal::kill` for whom it names and may signal; none
    /// for signal 0), with the sender's pid and real uid.
    fn kill_targets(&self, pid: i32, sig: i32) -> Result<(Vec<u32>, u32, u32), Errno> {
        let ids = |p: &Process| Ids {
            ruid: p.cred.ruid,
            euid: p.cred.euid,
            suid: p.cred.ruid,
        };
        let all: Vec<signal::Process> = self
            .procs
            .values()
            .map(|p| signal::Process {
                pid: p.pid,
                pgid: p.pgid,
                ids: ids(p),
            })
            .collect();
        let me = self.current_pid();
        let sender = all
            .iter()
            .find(|p| p.pid == me)
            .copied()
            .ok_or(Errno::ESRCH)?;
        let targets = signal::kill(pid, sig, &sender, &all)?;
        Ok((targets, me, sender.ids.ruid))
    }

    /// `alarm(seconds)` for the running process: SIGALRM after `seconds`
    /// (0 cancels). Returns the seconds the previous alarm had
    /// left, rounded up (0 if none).
    pub fn set_alarm(&mut self, seconds: u32) -> u64 {
        let hz = u64::from(HZ);
        let left = self.set_alarm_ticks(u64::from(seconds) * hz);
        left.map_or(0, |ticks| ticks.div_ceil(hz))
    }

    /// Sets the running process's alarm to ring after `ticks` timer ticks
    /// (0 cancels it); the ticks the previous one had left, if there was
    /// one.
    pub fn set_alarm_ticks(&mut self, ticks: u64) -> Option<u64> {
        let pid = self.current_pid();
        let previous = match ticks {
            0 => self.alarms.remove(&pid),
            t => self.alarms.insert(pid, self.ticks + t),
        };
        previous.map(|at| at.saturating_sub(self.ticks))
    }

    /// Sends SIGALRM to the processes whose alarm is due at tick `now`.
    pub(super) fn ring_alarms(&mut self, now: u64) {
        let due: Vec<u32> = self
            .alarms
            .iter()
            .filter(|&(_, &at)| at <= now)
            .map(|(&pid, _)| pid)
            .collect();
        for pid in due {
            self.alarms.remove(&pid);
            // A standard signal: it never queues.
            let _ = self.signal_process(pid, Info::kernel(SIGALRM as u32));
        }
    }
}

/// Ends the running process with `status` (all its threads).
pub fn exit_process(status: i32) -> ! {
    {
        let mut g = SCHED.lock();
        let pid = g.current_pid();
        g.kill_process(pid, Death::Exit(status));
    }
    exit_thread(0, None)
}

/// Called before returning to user mode: a thread whose process is ending
/// does not go back, nor one whose process is stopped until it continues.
#[inline(always)]
pub fn check_exiting() {
    if RETURN_CHECKS.load(Ordering::Relaxed) != 0 {
        exit_if_dying();
    }
}

/// Waits while the running thread's process is stopped
/// (`task::job`), then ends the thread if its process is ending.
#[cold]
fn exit_if_dying() {
    let g = super::job::wait_while_stopped(SCHED.lock());
    let pid = g.current_pid();
    let exiting = g.procs.get(&pid).is_some_and(|p| p.death.is_some());
    drop(g);
    if exiting {
        exit_thread(0, None);
    }
}

/// `wait4(pid, options)` by the running process (which children `pid`
/// names, and the errors, are `kernel::wait::reap`'s): blocks until one of
/// them has exited (or, as `options` ask, stopped or continued), unless
/// WNOHANG; EINTR if a signal comes to handle first. What is found is
/// first handed to `deliver` with the caller's address space, the wait
/// status and the child's CPU time, its reaped children's included (to
/// store its status and usage): if that fails, the error is returned and
/// nothing changes; otherwise a zombie is reaped (its CPU time added to
/// the caller's children's), a stop or a continue counts as reported, and
/// the child's pid and what it did are returned. `Ok(None)`: WNOHANG and
/// nothing to report.
pub fn wait4(
    pid: i32,
    options: u32,
    deliver: impl Fn(&AddressSpace, i32, u64) -> Result<(), Errno>,
) -> Result<Option<(u32, Waited)>, Errno> {
    loop {
        let mut g = SCHED.lock();
        let me = g.current_pid();
        let pgid = g.process(me).map_or(0, |p| p.pgid);
        let children: Vec<Child> = g
            .procs
            .values()
            .filter(|p| p.parent == me)
            .map(|p| Child {
                pid: p.pid,
                pgid: p.pgid,
                exited: p.space.is_none(),
                job: p.job,
            })
            .collect();
        match reap(pid, options, pgid, &children)? {
            Reap::Child(z) => {
                let (death, cpu) = g
                    .process(z)
                    .map_or((None, 0), |p| (p.death, p.cpu.own + p.cpu.children));
                let ended = Waited::Ended(death.unwrap_or(Death::Exit(0)));
                deliver(g.current_space(), ended.wait_status(), cpu)?;
                g.procs.remove(&z);
                if let Some(parent) = g.procs.get_mut(&me) {
                    parent.cpu.children += cpu;
                }
                return Ok(Some((z, ended)));
            }
            Reap::Changed(child, report) => {
                let changed = Waited::Changed(report);
                let cpu = g.process(child).map_or(0, |p| p.cpu.own + p.cpu.children);
                deliver(g.current_space(), changed.wait_status(), cpu)?;
                if let Some(p) = g.procs.get_mut(&child) {
                    p.job.reported();
                }
                return Ok(Some((child, changed)));
            }
            Reap::NotYet => return Ok(None),
            Reap::Block if g.interrupted() => return Err(Errno::EINTR),
            Reap::Block => block(g, Wait::Child),
        }
    }
}

/// `pause()`: blocks the running thread until it has a signal to handle
/// (then EINTR: the handler runs on the way out), or its process ends. A
/// native program has no handlers: it waits for its end.
pub fn pause() -> Result<u64, Errno> {
    loop {
        let g = SCHED.lock();
        if g.interrupted() {
            return Err(Errno::EINTR);
        }
        block(g, Wait::Pause);
    }
}
