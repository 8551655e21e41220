//! Running another thread. One primitive, [`switch_to`], runs a chosen
//! thread directly (picking from the run queue is a separate step), so a
//! door call can hand the CPU from caller to server and back without the
//! run queue.
//!
//! A thread resumes in one of two ways. A thread that blocked in kernel code
//! (join, sleep, wait) resumes its saved kernel context. A thread parked in
//! a door operation ([`door_park`]) keeps no kernel context: it resumes
//! straight in user mode from its system-call trap frame, with its outcome
//! (a [`Resume`], decided by whoever wakes it) written into that frame. The
//! door fast path makes the most of it: [`jump`] leaves the caller's kernel
//! stack for good and enters the server's user mode at once.

use super::{
    DEAD_PENDING, DoorTarget, FIRST_USER_TSC, HANDOFFS, Resume, SCHED, Sched, State, Thread, Wait,
};
use crate::arch::cpu::{self, FpuState, rdtsc};
use crate::arch::gdt;
use crate::arch::switch::{jump_to_user, switch, switch_to_user};
use crate::arch::traps::TrapFrame;
use crate::mem::space::activate_root;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;
use spin::MutexGuard;

/// Switches from the running thread to `next`, releasing the lock; returns
/// when the running thread is switched back to.
pub(super) fn switch_locked(g: MutexGuard<'static, Sched>, next: u32) {
    switch_to(g, next, |_| {});
}

/// Loads thread `n`'s processor state, as the running thread from now on
/// (the previous one ran in process `prev_pid`): its FS base, its address
/// space (kept, with the TLB, within one process), its kernel stack (whose
/// top is `top`) for traps and system calls.
#[inline(always)]
fn load(n: &Thread, prev_pid: u32, top: u64) {
    cpu::set_fs_base(n.fs_base);
    if n.pid != prev_pid
        && let Some(root) = n.root
    {
        // SAFETY: `n` can run, so its process's space is alive.
        unsafe { activate_root(root) };
    }
    gdt::set_kernel_stack(top);
}

/// The trap frame thread `t`, parked in a door operation, resumes from (at
/// the top of its kernel stack, `top`), with `resume` written into it; its
/// address.
#[inline(always)]
fn resume_frame(t: &Thread, top: u64, resume: &Resume) -> u64 {
    let addr = top - size_of::<TrapFrame>() as u64;
    // SAFETY: the thread is not running, and a door operation is always a
    // system call, whose trap frame sits at the top of the thread's kernel
    // stack; nothing else refers to it.
    let frame = unsafe { &mut *(addr as *mut TrapFrame) };
    resume.apply(frame, || t.linux.is_some());
    addr
}

/// [`switch_locked`], applying `leave` to the running thread's record while
/// it is at hand. `next` was just taken from the run queue, or was blocked.
fn switch_to(mut g: MutexGuard<'static, Sched>, next: u32, leave: impl FnOnce(&mut Thread)) {
    let prev = g.current;
    let p = match g.threads.get_mut(prev) {
        Some(t) => t,
        // The previous thread was already freed (cannot happen: dead
        // threads are freed only by the next thread to run).
        None => panic!("switch from unknown thread {prev}"),
    };
    leave(p);
    if prev == next {
        p.state = State::Running;
        return;
    }
    let (prev_rsp, prev_fpu, prev_pid) = (&raw mut p.rsp, &raw mut *p.fpu, p.pid);
    let s = &mut *g;
    let n = s.make_current(next).expect("switch to unknown thread");
    crate::trace::switch(next, n.pid);
    n.state = State::Running;
    let next_fpu = &raw const *n.fpu;
    let top = n.kstack.top();
    let frame = core::mem::take(&mut n.to_user).then(|| {
        let resume = n.take_resume();
        resume_frame(n, top, &resume)
    });
    let next_rsp = n.rsp;
    load(n, prev_pid, top);
    drop(g);
    // SAFETY: both threads' records are boxed and stay alive across the
    // switch (a dead thread is freed only by the next thread to run, in
    // `after_switch`); `next_rsp` was saved by `switch` or prepared, or
    // `frame` is the next thread's trap frame with its outcome in it.
    unsafe {
        match frame {
            Some(frame) => switch_to_user(prev_rsp, frame, prev_fpu, next_fpu),
            None => switch(prev_rsp, next_rsp, prev_fpu, next_fpu),
        }
    }
    after_switch();
}

/// Runs on the new thread right after every switch: frees dead threads.
#[inline]
pub extern "C" fn after_switch() {
    if DEAD_PENDING.load(Ordering::Relaxed) {
        free_dead_threads();
    }
}

/// Frees the threads that exited (the switch away from them is over).
#[cold]
fn free_dead_threads() {
    if DEAD_PENDING.swap(false, Ordering::Relaxed) {
        let mut g = SCHED.lock();
        let dead: Vec<Box<Thread>> = core::mem::take(&mut g.dead)
            .into_iter()
            .filter_map(|tid| g.threads.remove(tid))
            .collect();
        drop(g);
        drop(dead);
    }
}

/// Runs on a thread parked in a door operation right after the switch to
/// it, before it resumes in user mode from its trap frame `frame`: frees
/// dead threads, and a Linux thread takes its pending signals (a signal
/// that interrupted its door call runs its handler before door_call
/// returns, as on illumos).
pub extern "C" fn after_switch_to_user(frame: &mut TrapFrame) {
    after_switch();
    super::deliver_signals(frame, None);
}

/// Runs first on a new user thread: finishes the switch, and notes the
/// first entry to user mode since boot (for the boot benchmark).
pub extern "C" fn user_thread_entry() {
    after_switch();
    if FIRST_USER_TSC.load(Ordering::Relaxed) == 0 {
        FIRST_USER_TSC.store(rdtsc(), Ordering::Relaxed);
    }
}

/// Blocks the running thread until [`Sched::wake`]; `g` is released meanwhile.
pub fn block(mut g: MutexGuard<'static, Sched>, wait: Wait) {
    let next = g.pick_next();
    switch_to(g, next, |t| t.state = State::Blocked(wait));
}

/// Sets the running thread aside ([`State::Stopped`]: its process is
/// stopped) until its process continues; `g` is released meanwhile.
pub(super) fn set_aside(mut g: MutexGuard<'static, Sched>) {
    let next = g.pick_next();
    switch_to(g, next, |t| t.state = State::Stopped);
}

/// How the running thread leaves the CPU in a door operation.
#[derive(Clone, Copy, Debug)]
pub enum Leave {
    /// It waits (for an invocation, or for its call's end).
    Blocked(Wait),
    /// It can run on (a server thread that took queued work, while its
    /// caller gets the CPU first).
    Ready,
}

/// The running thread parks in a door operation: it leaves the CPU as
/// `leave` says, keeping no kernel context (nothing on its kernel stack may
/// be needed again), and resumes in user mode from its trap frame with the
/// outcome its waker decides. `target`, if any (a thread parked in a door
/// operation too), is resumed with `resume`: at once (direct handoff) unless
/// the process of either side turned the handoff off, then through the run
/// queue.
#[inline(always)]
pub fn door_park(
    mut g: MutexGuard<'static, Sched>,
    leave: Leave,
    target: Option<(u32, &Resume)>,
) -> ! {
    let target = target.map(|(tid, resume)| (DoorTarget::by_id(tid), resume));
    let parked = g.current_thread().park(leave);
    door_leave(g, parked, target)
}

/// What is left of the running thread once it parked in a door operation
/// ([`Thread::park`]): what the switch away from it needs.
#[derive(Clone, Copy)]
pub struct Parked {
    leave: Leave,
    fpu: *mut FpuState,
    pid: u32,
}

impl Thread {
    /// Parks this thread, the running one, in a door operation as `leave`
    /// says (the first half of [`door_park`], for a caller that holds its
    /// record); [`door_leave`] then leaves the CPU.
    #[inline(always)]
    pub fn park(&mut self, leave: Leave) -> Parked {
        self.to_user = true;
        self.state = match leave {
            Leave::Blocked(wait) => State::Blocked(wait),
            Leave::Ready => State::Ready,
        };
        Parked {
            leave,
            fpu: &raw mut *self.fpu,
            pid: self.pid,
        }
    }
}

/// The second half of [`door_park`]: the running thread, `parked`, leaves
/// the CPU, to `target` if any.
#[inline(always)]
pub fn door_leave(
    mut g: MutexGuard<'static, Sched>,
    parked: Parked,
    target: Option<(DoorTarget, &Resume)>,
) -> ! {
    let cur = g.current;
    let prev = (parked.fpu, parked.pid);
    if let Leave::Ready = parked.leave {
        g.ready.push(cur);
    }
    let next = match target {
        Some((target, resume)) if g.direct_switch_to(target.tid) => {
            HANDOFFS.fetch_add(1, Ordering::Relaxed);
            jump(g, prev, target, resume)
        }
        Some((target, resume)) => wake_door_thread(&mut g, target.tid, *resume),
        None => {
            crate::trace::door_alone(matches!(parked.leave, Leave::Blocked(Wait::DoorCall)));
            g.pick_next()
        }
    };
    if next == cur {
        g.ready.remove(cur);
        let resume = g.take_resume(cur);
        jump(g, prev, DoorTarget::by_id(cur), &resume)
    }
    switch_to(g, next, |_| {});
    unreachable!("a thread parked in a door operation resumed its kernel context")
}

/// Resumes `target`, a thread parked in a door operation, with `resume`
/// through the run queue (a process turned the handoff off); returns the
/// next thread to run.
#[cold]
fn wake_door_thread(g: &mut Sched, target: u32, resume: Resume) -> u32 {
    crate::trace::door_wake(target, &resume);
    g.set_resume(target, resume);
    g.wake(target);
    g.pick_next()
}

/// Runs `target`, a thread parked in a door operation (blocked, or ready and
/// then taken off the run queue), at once: it starts from its trap frame
/// with `resume` written in. The running thread (whose FPU area and process
/// `prev` gives) leaves its kernel context for good (it was parked, or is
/// `target` itself).
#[inline(always)]
fn jump(
    mut g: MutexGuard<'static, Sched>,
    prev: (*mut FpuState, u32),
    target: DoorTarget,
    resume: &Resume,
) -> ! {
    let (prev_fpu, prev_pid) = prev;
    let s = &mut *g;
    let record = match target.record {
        Some(record) => record,
        None => NonNull::from(
            &mut **s
                .threads
                .get_mut(target.tid)
                .expect("jump to unknown thread"),
        ),
    };
    // SAFETY: a live thread's record: looked up just now, or a door
    // target's (see `DoorTarget`).
    let n = unsafe { s.make_current_at(record) };
    crate::trace::handoff(n, resume);
    assert!(
        core::mem::take(&mut n.to_user),
        "jump to thread {}, which is not parked in a door operation",
        target.tid
    );
    let was_ready = core::mem::replace(&mut n.state, State::Running) == State::Ready;
    let top = n.kstack.top();
    let frame = resume_frame(n, top, resume);
    let next_fpu = &raw const *n.fpu;
    load(n, prev_pid, top);
    if was_ready {
        s.ready.remove(target.tid);
    }
    drop(g);
    // SAFETY: the caller parked the running thread (or it is `target`), so
    // nothing on this kernel stack is needed again; `frame` is `target`'s
    // trap frame with its outcome in it; both FPU areas live in boxed
    // records of live threads.
    unsafe { jump_to_user(frame, prev_fpu, next_fpu) }
}

/// Gives the CPU to the next ready thread, if any.
pub fn yield_now() {
    let mut g = SCHED.lock();
    let Some(next) = g.pop_ready() else { return };
    let cur = g.current;
    if cur != g.idle
        && let Some(t) = g.threads.get_mut(cur)
    {
        t.state = State::Ready;
        g.ready.push(cur);
    }
    switch_locked(g, next);
}
