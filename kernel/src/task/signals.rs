//! Signal delivery for the Linux personality. A signal sent is dropped,
//! made pending — for the process (`kill`, `alarm`, SIGCHLD) or for one
//! thread (`tgkill`, a fault) — or ends the process, as Linux decides it
//! (`kernel::linux::pending::to_process`, `to_thread`): pending when a
//! handler takes it or a mask blocks it, and a thread of the process that
//! waits for it (`rt_sigtimedwait`) or that its handler interrupts (in
//! pause, a sleep, wait4, a pipe, a futex, a door call, idle in
//! door_return) is woken if no runnable one can take it. A
//! thread takes its pending signals when it returns to user mode: at the
//! end of each of its Linux system calls (which may restart the call, for
//! a handler with SA_RESTART) and of each interrupt or exception taken in
//! user mode. Taking one builds Linux's `rt_sigframe` on the user stack
//! (or the alternate stack) and enters the handler; `rt_sigreturn` takes
//! the frame back. A frame that cannot be written, or a hostile one given
//! back, ends the process with SIGSEGV and a report. `rt_sigtimedwait`
//! takes a signal of its set instead ([`wait_signal`]). Native programs
//! have no handlers: a signal takes its default action, as before. A
//! stop signal at its default action stops the process, SIGCONT
//! continues it (`task::job`).

use super::{SCHED, Sched, State, Thread, Wait, block, check_exiting, exit_thread};
use crate::arch::cpu::{self, FpuState};
use crate::arch::syscall::SYSCALL_VECTOR;
use crate::arch::traps::{TrapFrame, return_to_user};
use crate::mem::space::USER_END;
use crate::mem::user::UserSlice;
use abi::Errno;
use abi::linux::Sigaction;
use abi::signal::SIGSEGV;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use kernel::linux::LinuxProcess;
use kernel::linux::pending::{self, Effect, Full, Info, Run, Sent};
use kernel::linux::sigframe::{self, BadFrame, FPU_SIZE, Placement, Regs, SIGFRAME_SIZE, Saved};
use kernel::linux::signal::{
    self as rules, DefaultAction, Disposition, Restart, SA_RESTORER, ThreadSignals,
};
use kernel::signal::Death;
use spin::MutexGuard;

/// A Linux system call ending, as its signal delivery sees it: its number
/// (to restart it) and what an interruption does to it.
#[derive(Clone, Copy, Debug)]
pub struct Interrupted {
    pub nr: u64,
    pub restart: Restart,
}

/// What thread `t` is doing, as the choice of a thread to take a signal
/// sees it.
fn run_of(t: &Thread) -> Run {
    match t.state {
        State::Ready | State::Running | State::Stopped => Run::Runnable,
        State::Blocked(Wait::Signal(set)) => Run::Waiting(set),
        State::Blocked(
            Wait::Pause
            | Wait::Sleep
            | Wait::Child
            | Wait::Pipe(..)
            | Wait::Futex
            | Wait::DoorCall
            | Wait::DoorPark,
        ) => Run::Interruptible,
        State::Blocked(Wait::Join(_)) | State::Dead => Run::Uninterruptible,
    }
}

/// What `disposition` makes of a signal sent.
fn effect(disposition: Disposition) -> Effect {
    match disposition {
        Disposition::Handler(_) => Effect::Handle,
        Disposition::Default(DefaultAction::Terminate) => Effect::Terminate,
        Disposition::Default(DefaultAction::Stop) => Effect::Stop,
        Disposition::Ignore | Disposition::Default(DefaultAction::Ignore) => Effect::Ignore,
    }
}

impl Sched {
    /// What signal `sig` does to process `pid` now.
    fn disposition(&self, pid: u32, sig: u32) -> Disposition {
        match self.procs.get(&pid).and_then(|p| p.linux.as_deref()) {
            Some(linux) => linux.actions.disposition(sig),
            None => Disposition::Default(rules::default_action(sig)),
        }
    }

    /// Instances of real-time signals queued behind the first of their
    /// signal, all processes and threads together.
    fn queued_signals(&self) -> usize {
        let processes = self.procs.values().filter_map(|p| p.linux.as_deref());
        let threads = self.threads.values().filter_map(|t| t.linux.as_deref());
        processes.map(|l| l.pending.queued()).sum::<usize>()
            + threads.map(|l| l.signals.pending.queued()).sum::<usize>()
    }

    /// Whether `set` can take `sig`: it would not queue an instance, or
    /// the system has room for one more ([`abi::MAX_QUEUED_SIGNALS`]).
    fn room_for(&self, set: &pending::Pending, sig: u32) -> bool {
        !set.queues(sig) || self.queued_signals() < abi::MAX_QUEUED_SIGNALS
    }

    /// Sends `info.signo` to process `pid` (a zombie ignores it): first
    /// what job control does whatever its action (SIGCONT continues it,
    /// [`Sched::prepare_signal`]), then as [`pending::to_process`] says:
    /// dropped, pending (waking a thread that waits for it or that its
    /// handler interrupts), the end of the process, or its stop. A
    /// native process has no masks: its default action.
    /// `Full`, with nothing changed, when a real-time signal pending
    /// already would be queued again and the system has no room
    /// ([`abi::MAX_QUEUED_SIGNALS`]): `kill` then leaves the pending
    /// instance alone, as Linux does, and `sigqueue` fails.
    pub fn signal_process(&mut self, pid: u32, info: Info) -> Result<(), Full> {
        let sig = info.signo;
        if self.procs.get(&pid).is_none_or(|p| p.space.is_none()) {
            return Ok(());
        }
        self.prepare_signal(pid, sig);
        let effect = effect(self.disposition(pid, sig));
        let Some(p) = self.procs.get(&pid) else {
            return Ok(());
        };
        let Some(linux) = p.linux.as_deref() else {
            match effect {
                Effect::Terminate => self.kill_process(pid, Death::Signal(sig as i32)),
                Effect::Stop => self.stop_process(pid, sig),
                Effect::Handle | Effect::Ignore => {}
            }
            return Ok(());
        };
        let room = self.room_for(&linux.pending, sig);
        let threads: Vec<(u32, u64, Run)> = p
            .threads
            .iter()
            .filter_map(|&tid| {
                let t = self.threads.get(tid)?;
                let mask = t.linux.as_deref().map_or(0, |l| l.signals.mask);
                Some((tid, mask, run_of(t)))
            })
            .collect();
        let runs: Vec<(u64, Run)> = threads.iter().map(|&(_, m, r)| (m, r)).collect();
        match pending::to_process(sig, effect, &runs) {
            Sent::Dropped => {}
            Sent::Fatal => self.kill_process(pid, Death::Signal(sig as i32)),
            Sent::Stop => self.stop_process(pid, sig),
            Sent::Pending { wake } => {
                if let Some(linux) = self
                    .procs
                    .get_mut(&pid)
                    .and_then(|p| p.linux.as_deref_mut())
                {
                    linux.pending.add(info, room)?;
                }
                if let Some(i) = wake {
                    self.interrupt(threads[i].0);
                }
            }
        }
        Ok(())
    }

    /// Sends `info.signo` to thread `tid` alone, as [`pending::to_thread`]
    /// says (the end of the process for a default action that terminates,
    /// as on Linux); `Full` as [`Sched::signal_process`] says.
    pub fn signal_thread(&mut self, tid: u32, info: Info) -> Result<(), Full> {
        let sig = info.signo;
        let Some(t) = self.threads.get(tid) else {
            return Ok(());
        };
        let pid = t.pid;
        if t.linux.is_none() {
            return self.signal_process(pid, info);
        }
        self.prepare_signal(pid, sig);
        let Some(t) = self.threads.get(tid) else {
            return Ok(());
        };
        let Some(linux) = t.linux.as_deref() else {
            return Ok(());
        };
        let (mask, room) = (
            linux.signals.mask,
            self.room_for(&linux.signals.pending, sig),
        );
        let effect = effect(self.disposition(pid, sig));
        match pending::to_thread(sig, effect, mask, run_of(t)) {
            Sent::Dropped => {}
            Sent::Fatal => self.kill_process(pid, Death::Signal(sig as i32)),
            Sent::Stop => self.stop_process(pid, sig),
            Sent::Pending { wake } => {
                if let Some(linux) = self
                    .threads
                    .get_mut(tid)
                    .and_then(|t| t.linux.as_deref_mut())
                {
                    linux.signals.pending.add(info, room)?;
                }
                if wake.is_some() {
                    self.interrupt(tid);
                }
            }
        }
        Ok(())
    }

    /// Wakes thread `tid`, blocked where a handled signal interrupts it, or
    /// in `rt_sigtimedwait` for the signal. A door_call fails as
    /// door_call(3C) says of an interrupted call: EAGAIN while it waits for
    /// a server thread, EINTR once served (the server is cancelled unless
    /// the door has DOOR_NO_CANCEL); it is not restarted. A server thread
    /// idle in door_return leaves its pool and its door_return fails with
    /// EINTR (libdoor parks it again, as illumos's libc does). Either
    /// takes the signal as it resumes in user mode
    /// ([`after_switch_to_user`](super::after_switch_to_user)). Other
    /// waits end, and their calls see the signal ([`Sched::interrupted`]).
    fn interrupt(&mut self, tid: u32) {
        let Some(t) = self.threads.get(tid) else {
            return;
        };
        let (pid, state) = (t.pid, t.state);
        let objects = self.objects();
        // The door logic's event (CallFailed, ParkFailed) wakes the thread
        // with the error.
        let told = match state {
            State::Blocked(Wait::DoorCall) => objects
                .doors
                .abort_call(&mut objects.caps, pid, tid)
                .is_ok(),
            State::Blocked(Wait::DoorPark) => objects.doors.interrupt_idle(tid),
            _ => return self.wake(tid),
        };
        if told {
            self.handle_events();
        }
    }

    /// Drops signal `sig` wherever it is pending in process `pid` (its
    /// action became one that discards it, as POSIX says).
    pub fn discard_signal(&mut self, pid: u32, sig: u32) {
        if let Some(linux) = self
            .procs
            .get_mut(&pid)
            .and_then(|p| p.linux.as_deref_mut())
        {
            linux.pending.discard(sig);
        }
        for t in self.threads.values_mut().filter(|t| t.pid == pid) {
            if let Some(linux) = t.linux.as_deref_mut() {
                linux.signals.pending.discard(sig);
            }
        }
    }

    /// The signals pending for the running thread or its process.
    pub fn pending_signals(&self) -> u64 {
        let Some(thread) = self.threads.get(self.current) else {
            return 0;
        };
        let own = thread
            .linux
            .as_deref()
            .map_or(0, |l| l.signals.pending.set());
        let process = self.procs.get(&thread.pid).and_then(|p| p.linux.as_deref());
        own | process.map_or(0, |l| l.pending.set())
    }

    /// A fault of the running thread, `info`: if its process has a handler
    /// for the signal and the thread does not block it, the signal is made
    /// pending for the thread (taken first, on the way back to user mode)
    /// and true returned; false: the fault kills, as without a handler.
    pub fn catch_fault(&mut self, info: Info) -> bool {
        let pid = self.current_pid();
        let Disposition::Handler(_) = self.disposition(pid, info.signo) else {
            return false;
        };
        let Some(linux) = self.current_linux_thread() else {
            return false;
        };
        if linux.signals.mask & pending::bit(info.signo) != 0 {
            return false;
        }
        // A fault's signal is a standard one: it never queues.
        linux.signals.pending.add(info, false).is_ok()
    }

    /// Whether the running thread has a signal to take (a wait it is in
    /// ends with EINTR): one its mask lets through that its process does
    /// not ignore (an ignored one pending, sent while blocked, is dropped
    /// on the way to user mode instead).
    pub fn interrupted(&self) -> bool {
        let Some(thread) = self.threads.get(self.current) else {
            return false;
        };
        let Some(linux) = thread.linux.as_deref() else {
            return false;
        };
        let Some(process) = self.procs.get(&thread.pid).and_then(|p| p.linux.as_deref()) else {
            return false;
        };
        let (own, shared, mask) = (&linux.signals.pending, &process.pending, linux.signals.mask);
        pending::deliverable(own, shared, mask)
            && pending::deliverable(own, shared, mask | process.actions.discarded())
    }

    /// The running thread's signal state and its process's Linux state
    /// (`None` for a native thread).
    fn current_signal_state(&mut self) -> Option<(&mut ThreadSignals, &mut LinuxProcess)> {
        let t = self.threads.get_mut(self.current)?;
        let thread = t.linux.as_deref_mut()?;
        let process = self.procs.get_mut(&t.pid)?.linux.as_deref_mut()?;
        Some((&mut thread.signals, process))
    }

    /// Takes the running thread's pending signal of `set`
    /// ([`pending::take_waited`]), if it has one.
    fn take_waited(&mut self, set: u64) -> Option<Info> {
        let (thread, process) = self.current_signal_state()?;
        pending::take_waited(&mut thread.pending, &mut process.pending, set)
    }

    /// Takes the running thread's next signal, if it has one to take.
    fn take_signal(&mut self) -> Option<Info> {
        let (thread, process) = self.current_signal_state()?;
        pending::dequeue(&mut thread.pending, &mut process.pending, thread.mask)
    }

    /// Enters the handler `action` of signal `info.signo` from `frame`:
    /// the frame goes on the user stack (or the alternate one), then the
    /// thread's mask becomes the handler's. Errors (nothing changed but
    /// the memory below the stack): why the frame cannot be written.
    fn enter_handler(
        &mut self,
        frame: &mut TrapFrame,
        info: &Info,
        action: &Sigaction,
    ) -> Result<(), String> {
        if action.sa_flags & SA_RESTORER == 0 {
            return Err("the action has no SA_RESTORER".into());
        }
        if action.sa_handler >= USER_END {
            return Err(format!("handler address {:#x}", action.sa_handler));
        }
        let cur = self.current;
        let linux = self
            .threads
            .get(cur)
            .and_then(|t| t.linux.as_deref())
            .ok_or_else(|| String::from("not a Linux thread"))?;
        let signals = &linux.signals;
        let alt = rules::handler_stack(&signals.altstack, action.sa_flags, frame.rsp);
        let place = Placement::new(frame.rsp, alt)
            .ok_or_else(|| format!("no room for the frame below sp={:#x}", frame.rsp))?;
        let syscall = frame.vector == SYSCALL_VECTOR;
        let regs = Regs {
            r8: frame.r8,
            r9: frame.r9,
            r10: frame.r10,
            // A system call leaves its return address and flags in rcx
            // and r11 (the frame's slots hold older values).
            r11: if syscall { frame.rflags } else { frame.r11 },
            r12: frame.r12,
            r13: frame.r13,
            r14: frame.r14,
            r15: frame.r15,
            rdi: frame.rdi,
            rsi: frame.rsi,
            rbp: frame.rbp,
            rbx: frame.rbx,
            rdx: frame.rdx,
            rax: frame.rax,
            rcx: if syscall { frame.rip } else { frame.rcx },
            rsp: frame.rsp,
            rip: frame.rip,
            rflags: frame.rflags,
        };
        let (trapno, err) = if syscall {
            (0, 0)
        } else {
            (frame.vector, frame.error)
        };
        let cr2 = match info.detail {
            pending::Detail::Fault { addr } if frame.vector == 14 => addr,
            _ => 0,
        };
        let mut fpu = FpuState::new();
        cpu::save_fpu(&mut fpu);
        let saved = Saved {
            regs,
            trapno,
            err,
            cr2,
            info: *info,
            mask: signals.saved_mask.unwrap_or(signals.mask),
            stack: rules::saved_stack(&signals.altstack, frame.rsp),
            restorer: action.sa_restorer,
            fpu: fpu.bytes(),
        };
        let bytes = sigframe::encode(&place, &saved);
        UserSlice::<u8>::new(place.frame, place.size())
            .and_then(|s| s.write_bytes(self.current_space(), &bytes))
            .map_err(|_| format!("cannot write the frame at {:#x}", place.frame))?;
        let signals = &mut self
            .current_linux_thread()
            .expect("checked a Linux thread above")
            .signals;
        signals.saved_mask = None;
        signals.mask = rules::handler_mask(signals.mask, action, info.signo);
        if signals.altstack.ss_flags & rules::SS_AUTODISARM != 0 {
            signals.altstack = rules::check_altstack(abi::linux::SigStack {
                ss_sp: 0,
                ss_flags: rules::SS_DISABLE,
                ss_size: 0,
            })
            .expect("a disabled stack is valid");
        }
        frame.rsp = place.frame;
        frame.rip = action.sa_handler;
        frame.rdi = u64::from(info.signo);
        frame.rsi = place.siginfo();
        frame.rdx = place.ucontext();
        frame.rax = 0;
        frame.rflags = Regs::handler_flags(frame.rflags);
        cpu::load_fpu(&FpuState::new());
        Ok(())
    }

    /// Takes the frame `rt_sigreturn` finds at the running thread's stack
    /// pointer into `frame`, with the mask, FPU state and alternate stack
    /// it records; errors: why the frame is refused (nothing changed).
    fn restore_frame(&mut self, frame: &mut TrapFrame) -> Result<(), String> {
        let at = frame.rsp.wrapping_sub(8);
        let space = self.current_space();
        let unreadable = |_| format!("cannot read the frame at {at:#x}");
        let bytes = UserSlice::<u8>::new(at, SIGFRAME_SIZE as u64)
            .and_then(|s| s.read_all(space))
            .map_err(unreadable)?;
        let mut head = [0u8; SIGFRAME_SIZE];
        head.copy_from_slice(&bytes);
        let restored = sigframe::decode(&head, USER_END).map_err(refused)?;
        let fpu = match restored.fpstate {
            0 => FpuState::new(),
            addr => {
                let image = UserSlice::<u8>::new(addr, FPU_SIZE as u64)
                    .and_then(|s| s.read_all(space))
                    .map_err(|_| format!("cannot read the FPU state at {addr:#x}"))?;
                let mut fx = [0u8; FPU_SIZE];
                fx.copy_from_slice(&image);
                sigframe::check_fpu(&fx, cpu::mxcsr_mask()).map_err(refused)?;
                FpuState::from_bytes(&fx)
            }
        };
        let r = restored.regs;
        (frame.r8, frame.r9, frame.r10, frame.r11) = (r.r8, r.r9, r.r10, r.r11);
        (frame.r12, frame.r13, frame.r14, frame.r15) = (r.r12, r.r13, r.r14, r.r15);
        (frame.rdi, frame.rsi, frame.rbp, frame.rbx) = (r.rdi, r.rsi, r.rbp, r.rbx);
        (frame.rdx, frame.rax, frame.rcx, frame.rsp) = (r.rdx, r.rax, r.rcx, r.rsp);
        (frame.rip, frame.rflags) = (r.rip, r.rflags);
        cpu::load_fpu(&fpu);
        let signals = &mut self
            .current_linux_thread()
            .ok_or_else(|| String::from("not a Linux thread"))?
            .signals;
        signals.mask = rules::settable_mask(restored.mask);
        signals.saved_mask = None;
        // As Linux: the alternate stack comes back unless the thread is
        // on it (a bad one is left as it is).
        if !rules::on_stack(&signals.altstack, r.rsp)
            && let Ok(stack) = rules::check_altstack(restored.stack)
        {
            signals.altstack = stack;
        }
        Ok(())
    }
}

/// `rt_sigtimedwait` for the running thread: waits until a signal of
/// `set` is pending for it or its process (whatever its mask) and takes
/// it. EAGAIN once timer tick `deadline` has come (`None`: no timeout),
/// EINTR when a signal to handle comes first (its handler runs on the way
/// out).
pub fn wait_signal(set: u64, deadline: Option<u64>) -> Result<Info, Errno> {
    let mut g = SCHED.lock();
    let cur = g.current;
    loop {
        g.sleepers.remove(cur);
        if let Some(info) = g.take_waited(set) {
            return Ok(info);
        }
        if deadline.is_some_and(|tick| tick <= g.ticks) {
            return Err(Errno::EAGAIN);
        }
        if g.interrupted() {
            return Err(Errno::EINTR);
        }
        if let Some(tick) = deadline {
            g.sleepers.insert(tick, cur);
        }
        block(g, Wait::Signal(set));
        g = SCHED.lock();
    }
}

/// Why a frame was refused, for the report.
fn refused(bad: BadFrame) -> String {
    match bad {
        BadFrame::Rip(rip) => format!("rip {rip:#x} is not a user address"),
        BadFrame::Mxcsr(mxcsr) => format!("MXCSR {mxcsr:#x} has reserved bits set"),
    }
}

/// Ends the running process with SIGSEGV because a signal frame could not
/// be built or taken back, with a report; the thread ends.
fn bad_frame(mut g: MutexGuard<'static, Sched>, what: &str, why: &str) -> ! {
    let (pid, tid) = (g.current_pid(), g.current);
    let name = g.process(pid).map_or("?", |p| p.name.as_str());
    crate::error!(
        "user fault: process {pid} ({name}) thread {tid}: {what}: {why}; process killed (SIGSEGV)"
    );
    g.kill_process(pid, Death::Signal(SIGSEGV));
    drop(g);
    exit_thread(0, None)
}

/// Takes the running thread's pending signals on its way back to user mode
/// with `frame` (a Linux thread's; nothing for a native one): each runs
/// its handler (the frames nest) unless ignored meanwhile, or ends or
/// stops the process by its default action (a call that failed with
/// EINTR for a stop alone is restarted once the process continues). `call`: the Linux system call ending
/// here, which a handler with SA_RESTART may restart.
pub fn deliver_signals(frame: &mut TrapFrame, call: Option<Interrupted>) {
    let mut g = SCHED.lock();
    if !g.current_is_linux() {
        return;
    }
    let mut call = call;
    let eintr = (-i64::from(Errno::EINTR.linux())) as u64;
    let mut stopped = false;
    while let Some(info) = g.take_signal() {
        let sig = info.signo;
        let pid = g.current_pid();
        let handler = g
            .current_linux_process()
            .and_then(|p| p.actions.take_handler(sig));
        let Some(action) = handler else {
            match g.disposition(pid, sig) {
                Disposition::Default(DefaultAction::Terminate) => {
                    g.kill_process(pid, Death::Signal(sig as i32));
                    drop(g);
                    exit_thread(0, None);
                }
                // A stop signal it had blocked: the process stops now,
                // the thread until it continues.
                Disposition::Default(DefaultAction::Stop) => {
                    g.stop_process(pid, sig);
                    g = super::job::wait_while_stopped(g);
                    stopped = true;
                }
                _ => {}
            }
            continue;
        };
        if let Some(call) = call.take()
            && frame.rax == eintr
            && rules::restarts(call.restart, action.sa_flags)
        {
            frame.rip -= 2;
            frame.rax = call.nr;
        }
        if let Err(why) = g.enter_handler(frame, &info, &action) {
            bad_frame(g, &format!("cannot deliver signal {sig}"), &why);
        }
    }
    // A call a stop ended (rt_sigsuspend that unblocked a pending stop
    // signal) with no handler run after it starts again, as on Linux.
    if let Some(call) = call.filter(|_| stopped && frame.rax == eintr) {
        frame.rip -= 2;
        frame.rax = call.nr;
    }
    // rt_sigsuspend's mask comes back when no handler took its place.
    if let Some(thread) = g.current_linux_thread()
        && let Some(mask) = thread.signals.saved_mask.take()
    {
        thread.signals.mask = mask;
    }
}

/// `rt_sigreturn`: the running thread goes back to what the frame at its
/// stack pointer records (a bad frame ends the process with SIGSEGV),
/// takes any signal its restored mask lets through, and returns to user
/// mode with every register restored.
pub fn sigreturn(frame: &mut TrapFrame) -> ! {
    let mut g = SCHED.lock();
    if let Err(why) = g.restore_frame(frame) {
        bad_frame(g, "rt_sigreturn", &why);
    }
    drop(g);
    check_exiting();
    deliver_signals(frame, None);
    // SAFETY: `frame` is the system call's trap frame at the top of this
    // thread's kernel stack (user segments, a user rip: checked by the
    // decoding); no lock is held and nothing is left to drop.
    unsafe { return_to_user(frame) }
}
