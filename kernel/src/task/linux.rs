//! The scheduler's side of the Linux personality: the Linux state of
//! threads and processes, memory changes that the door logic must hear of,
//! futex waits and wakes, sleeping until a tick (both cut short by a
//! signal to handle), and a Linux thread's exit (clearing its tid word and
//! waking whoever waits on it, as `pthread_join` and musl's thread list
//! expect).

use super::{SCHED, Sched, Wait, block, exit_thread};
use crate::arch::cpu::rdtsc;
use crate::mem::user::UserPtr;
use abi::Errno;
use alloc::boxed::Box;
use kernel::cap::Numbering;
use kernel::linux::futex::{self, Key};
use kernel::linux::mm::Prot;
use kernel::linux::{LinuxProcess, LinuxThread};
use kernel::signal::Death;
use spin::MutexGuard;

impl Sched {
    /// Whether the running thread belongs to a Linux program.
    #[inline]
    pub fn current_is_linux(&self) -> bool {
        self.running().is_some_and(|t| t.linux.is_some())
    }

    /// The running thread's Linux state (`None` for a native thread).
    pub fn current_linux_thread(&mut self) -> Option<&mut LinuxThread> {
        let cur = self.current;
        self.threads.get_mut(cur)?.linux.as_deref_mut()
    }

    /// The running process's Linux state (`None` for a native process).
    pub fn current_linux_process(&mut self) -> Option<&mut LinuxProcess> {
        let pid = self.current_pid();
        self.procs.get_mut(&pid)?.linux.as_deref_mut()
    }

    /// Makes thread `tid` a Linux thread with `state`, starting with FS
    /// base `fs_base` if given. Linux threads leave no exit value behind
    /// (their joiners wait on the tid word instead), so the kernel keeps
    /// them detached.
    pub fn make_linux_thread(&mut self, tid: u32, state: LinuxThread, fs_base: Option<u64>) {
        if let Some(t) = self.threads.get_mut(tid) {
            t.linux = Some(Box::new(state));
            t.detached = true;
            if let Some(base) = fs_base {
                t.fs_base = base;
            }
        }
    }

    /// Gives process `pid` and its only thread `tid` the personality of
    /// their image: a Linux program's state (its data ending at
    /// `linux_end`: its `brk` starts there) and POSIX descriptor numbers,
    /// or none and numbers with generations for a native program.
    /// A Linux program replacing a Linux program (`execve`) keeps what
    /// Linux keeps of the signal state ([`LinuxProcess::after_exec`],
    /// [`ThreadSignals::after_exec`](kernel::linux::signal::ThreadSignals::after_exec));
    /// anything else starts afresh.
    pub fn set_personality(&mut self, pid: u32, tid: u32, linux_end: Option<u64>) {
        let old = self.procs.get_mut(&pid).and_then(|p| p.linux.take());
        let signals = self
            .threads
            .get_mut(tid)
            .and_then(|t| t.linux.take())
            .map(|l| l.signals.after_exec());
        if let Some(p) = self.procs.get_mut(&pid) {
            p.linux = linux_end.map(|end| {
                Box::new(match old {
                    Some(old) => old.after_exec(end),
                    None => LinuxProcess::new(end),
                })
            });
        }
        match linux_end {
            Some(_) => {
                let state = LinuxThread {
                    clear_child_tid: 0,
                    signals: signals.unwrap_or_default(),
                };
                self.make_linux_thread(tid, state, None)
            }
            None => {
                if let Some(t) = self.threads.get_mut(tid) {
                    t.detached = false;
                }
            }
        }
        let numbering = match linux_end {
            Some(_) => Numbering::Posix,
            None => Numbering::Generations,
        };
        self.objects().caps.set_numbering(pid, numbering);
    }

    /// The running thread's FS base.
    pub fn fs_base(&self) -> u64 {
        self.threads.get(self.current).map_or(0, |t| t.fs_base)
    }

    /// Whether thread `tid` belongs to process `pid`.
    pub fn is_thread_of(&self, tid: u32, pid: u32) -> bool {
        self.threads.get(tid).is_some_and(|t| t.pid == pid)
    }

    /// Unmaps every page of `[start, start + len)` of process `pid`; idle
    /// door server threads whose area was there leave their pools.
    pub fn unmap_range(&mut self, pid: u32, start: u64, len: u64) {
        let Some(space) = self.procs.get_mut(&pid).and_then(|p| p.space.as_mut()) else {
            return;
        };
        if space.unmap_range(start, len) {
            self.objects().doors.unmapped(pid, start, len);
            self.handle_events();
        }
    }

    /// Gives `[start, start + len)` of the running process (mapped: the
    /// caller checked) access `prot`. When access is taken away, idle door
    /// server threads whose area was there leave their pools, as for an
    /// unmap.
    pub fn protect(&mut self, start: u64, len: u64, prot: Prot) {
        let pid = self.current_pid();
        if self.current_space().protect_range(start, len, prot) {
            self.objects().doors.unmapped(pid, start, len);
            self.handle_events();
        }
    }

    /// The key of the running process's futex at user address `addr`
    /// ([`futex::key`]): for a futex that is not `private` in a shared
    /// mapping, its page is made present first (a zeroed frame, if
    /// untouched), so that every thread keys it by the same physical
    /// address. Errors: EFAULT (not readable), ENOMEM (no frame).
    pub fn futex_key(&mut self, addr: u64, private: bool) -> Result<Key, Errno> {
        let pid = self.current_pid();
        let space = self.current_space();
        let phys = match !private && space.is_shared(addr) {
            true => {
                space.ready(addr, 4, false)?;
                space.translate(addr, false)
            }
            false => None,
        };
        Ok(futex::key(pid, addr, private, phys))
    }

    /// Wakes up to `n` (at least one) threads waiting on `key` whose bitset
    /// meets `bitset`; returns how many.
    pub fn futex_wake(&mut self, key: Key, n: i32, bitset: u32) -> usize {
        let woken = self.futexes.wake(key, n, bitset);
        for &tid in &woken {
            self.sleepers.remove(tid);
            self.wake(tid);
        }
        woken.len()
    }

    /// FUTEX_REQUEUE: wakes up to `n` waiters of `from`, moves up to
    /// `requeue` of the others to `to`; returns how many were woken plus
    /// how many moved (Linux's result).
    pub fn futex_requeue(&mut self, from: Key, to: Key, n: i32, requeue: u32) -> usize {
        let (woken, moved) = self.futexes.requeue(from, to, n, requeue);
        for &tid in &woken {
            self.sleepers.remove(tid);
            self.wake(tid);
        }
        woken.len() + moved
    }

    /// Monotonic time, in nanoseconds since the first timer tick.
    pub fn monotonic_ns(&mut self) -> u64 {
        self.clock.monotonic(rdtsc())
    }

    /// Real time, in nanoseconds since 1970.
    pub fn realtime_ns(&mut self) -> u64 {
        self.clock.realtime(rdtsc())
    }

    /// Real time at monotonic 0, in nanoseconds since 1970.
    pub fn clock_epoch(&self) -> u64 {
        self.clock.epoch()
    }

    /// Sets real time from the CMOS clock's reading (seconds since 1970).
    pub fn set_realtime(&mut self, unix_seconds: u64) {
        let now = self.monotonic_ns();
        self.clock.set_realtime(unix_seconds, now);
    }

    /// The timer tick at which monotonic time reaches `ns`.
    pub fn tick_at(&self, ns: u64) -> u64 {
        self.clock.tick_at(ns)
    }
}

/// Blocks the running thread on futex `key` (whose word the caller found
/// holding the expected value, under this same lock) until a wake whose
/// bitset meets `bitset` (0), timer tick `deadline` (ETIMEDOUT), or a
/// signal to handle (EINTR).
pub fn futex_wait(
    mut g: MutexGuard<'static, Sched>,
    key: Key,
    bitset: u32,
    deadline: Option<u64>,
) -> Result<u64, Errno> {
    let tid = g.current;
    if deadline.is_some_and(|tick| tick <= g.ticks) {
        return Err(Errno::ETIMEDOUT);
    }
    if g.interrupted() {
        return Err(Errno::EINTR);
    }
    g.futexes.wait(key, tid, bitset);
    if let Some(tick) = deadline {
        g.sleepers.insert(tick, tid);
    }
    loop {
        block(g, Wait::Futex);
        g = SCHED.lock();
        // No longer queued: a wake took it off.
        if !g.futexes.remove(tid) {
            g.sleepers.remove(tid);
            return Ok(0);
        }
        if deadline.is_some_and(|tick| tick <= g.ticks) {
            return Err(Errno::ETIMEDOUT);
        }
        if g.interrupted() {
            g.sleepers.remove(tid);
            return Err(Errno::EINTR);
        }
        g.futexes.wait(key, tid, bitset);
    }
}

/// Sleeps until timer tick `tick` (returns at once if it has passed);
/// false if a signal to handle cut it short.
pub fn sleep_until(tick: u64) -> bool {
    let mut g = SCHED.lock();
    let cur = g.current;
    loop {
        g.sleepers.remove(cur);
        if tick <= g.ticks {
            return true;
        }
        if g.interrupted() {
            return false;
        }
        g.sleepers.insert(tick, cur);
        block(g, Wait::Sleep);
        g = SCHED.lock();
    }
}

/// Ends the running Linux thread: stores 0 at its clear-child-tid address
/// (if any; a bad address is ignored, as Linux does) and wakes one futex
/// waiter there (a futex that is not private, as Linux's wake). When it
/// is its process's last thread, `status` is the process's exit status.
pub fn exit_linux_thread(status: i32) -> ! {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let clear = g.current_linux_thread().map_or(0, |t| t.clear_child_tid);
    if clear != 0 {
        if let Ok(word) = UserPtr::<u32>::new(clear) {
            let _ = word.write(g.current_space(), &0);
        }
        if let Ok(key) = g.futex_key(clear, false) {
            g.futex_wake(key, 1, u32::MAX);
        }
    }
    let cur = g.current;
    if let Some(p) = g.procs.get_mut(&pid)
        && p.threads == [cur]
    {
        p.death.get_or_insert(Death::Exit(status));
    }
    drop(g);
    exit_thread(0, None)
}
