//! How threads end and are joined: exit leaves an exit value (unless the
//! thread is detached) that one join or detach takes, and wakes the
//! threads waiting to join. Exit values and waiting joiners hold their
//! tids in the thread table (`kernel::joins`), so a join finds the thread
//! its tid named, never a later one under the same tid.

use super::{DEAD_PENDING, SCHED, State, Wait, block, switch_locked};
use abi::Errno;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Ends the running thread with `value`, first unmapping the `mem_map`
/// area `unmap` (its own stack, for a detached thread) if it is one; ends
/// its process too when it is the last thread.
pub fn exit_thread(value: u64, unmap: Option<(u64, u64)>) -> ! {
    let mut g = SCHED.lock();
    let tid = g.current;
    let pid = g.current_pid();
    crate::trace::thread_exit(tid, pid);
    if let Some((addr, len)) = unmap {
        g.unmap(pid, addr, len);
    }
    let detached = g.threads.get(tid).is_some_and(|t| t.detached);
    let sched = &mut *g;
    if let Some(p) = sched.procs.get_mut(&pid) {
        p.threads.retain(|&t| t != tid);
        if !detached {
            p.exited_threads.keep(&mut sched.threads, tid, value);
        }
    }
    let objects = g.objects();
    objects.doors.exit_thread(&mut objects.caps, tid);
    g.handle_events();
    let joiners: Vec<u32> = g
        .threads
        .values()
        .filter(|t| t.state == State::Blocked(Wait::Join(tid)))
        .map(|t| t.tid)
        .collect();
    for j in joiners {
        g.wake(j);
    }
    if g.procs.get(&pid).is_some_and(|p| p.threads.is_empty()) {
        g.finish_process(pid);
    }
    if let Some(t) = g.threads.get_mut(tid) {
        t.state = State::Dead;
    }
    g.dead.push(tid);
    DEAD_PENDING.store(true, Ordering::Relaxed);
    let next = g.pick_next();
    switch_locked(g, next);
    unreachable!("a dead thread was resumed");
}

/// Waits for thread `tid` of the running process; returns its exit value.
pub fn join_thread(tid: u32) -> Result<u64, Errno> {
    loop {
        let mut g = SCHED.lock();
        let sched = &mut *g;
        // The tid held since it blocked still names the thread it waited
        // for (or its exit value, or nothing): looking now is safe.
        let waited = sched.current_thread().joining.take();
        if let Some(waited) = waited {
            sched.threads.release(waited);
        }
        if tid == sched.current {
            return Err(Errno::EDEADLK);
        }
        let pid = sched.current_pid();
        let p = sched.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if let Some(v) = p.exited_threads.take(&mut sched.threads, tid) {
            return Ok(v);
        }
        if !p.threads.contains(&tid) {
            return Err(Errno::ESRCH);
        }
        if sched.threads.get(tid).is_some_and(|t| t.detached) {
            return Err(Errno::EINVAL);
        }
        sched.threads.hold(tid);
        sched.current_thread().joining = Some(tid);
        block(g, Wait::Join(tid));
    }
}

/// Thread `tid` of the running process leaves no exit value behind; an
/// exited one's value is dropped now. ESRCH: no such thread (or already
/// detached).
pub fn detach_thread(tid: u32) -> Result<(), Errno> {
    let mut g = SCHED.lock();
    let sched = &mut *g;
    let pid = sched.current_pid();
    let p = sched.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    if p.exited_threads.take(&mut sched.threads, tid).is_some() {
        return Ok(());
    }
    if !p.threads.contains(&tid) {
        return Err(Errno::ESRCH);
    }
    match g.threads.get_mut(tid) {
        Some(t) if !t.detached => {
            t.detached = true;
            Ok(())
        }
        _ => Err(Errno::ESRCH),
    }
}
