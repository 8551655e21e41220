//! Signals of the Linux personality: what `rt_sigaction` keeps (each
//! signal's action and flags), `rt_sigprocmask` (each thread's mask),
//! `sigaltstack` (each thread's alternate stack), and the rules a delivery
//! follows: a signal's disposition (ignored, its default action, or a
//! handler), the mask a handler runs with (the thread's, `sa_mask`, and
//! the signal itself unless SA_NODEFER), SA_RESETHAND, which calls a
//! handler's SA_RESTART restarts ([`Restart`]), and that SIGKILL and
//! SIGSTOP can be neither caught, ignored nor blocked. Pending sets are
//! [`super::pending`]'s, the frame a handler runs on [`super::sigframe`]'s.

use super::pending::{Pending, bit};
use abi::Errno;
use abi::linux::{SigStack, Sigaction};

/// Signals are numbered 1 to this.
pub const NSIG: usize = 64;
pub const SIGKILL: u32 = 9;
pub const SIGSTOP: u32 = 19;
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
/// The only `sigsetsize` Linux accepts on x86-64.
pub const SIGSET_SIZE: u64 = 8;
pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const SS_AUTODISARM: i32 = 1 << 31;
/// SIGCHLD's flag: no SIGCHLD when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 1;
/// The smallest alternate stack Linux accepts on x86-64.
pub const MINSIGSTKSZ: u64 = 2048;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The signals no mask blocks.
const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

/// What a signal does when it arrives with its default action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Ignore,
    /// The process ends (for core-dumping signals too: there are no cores).
    Terminate,
    /// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: the process stops until
    /// SIGCONT (`kernel::job`).
    Stop,
}

/// The default action of signal `sig` (1..=64), as signal(7) lists it.
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        // SIGCHLD, SIGCONT (which continues the process when it is sent,
        // whatever its action), SIGURG, SIGWINCH.
        17 | 18 | 23 | 28 => DefaultAction::Ignore,
        // SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
        19..=22 => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// A signal number from a register: 1..=64, else EINVAL.
pub fn signal_arg(sig: u64) -> Result<u32, Errno> {
    match u32::try_from(sig) {
        Ok(s) if (1..=NSIG as u32).contains(&s) => Ok(s),
        _ => Err(Errno::EINVAL),
    }
}

/// A process's signal actions.
#[derive(Clone)]
pub struct Actions {
    table: [Sigaction; NSIG],
}

impl Actions {
    /// Every signal at its default action.
    pub fn new() -> Actions {
        Actions {
            table: [Sigaction::default(); NSIG],
        }
    }

    /// `rt_sigaction(sig, new, old)`: returns the old action, installing
    /// `new` if given. EINVAL for SIGKILL and SIGSTOP (whose actions cannot
    /// change). SIGKILL and SIGSTOP cannot be masked in `sa_mask` either:
    /// their bits are dropped, as Linux does.
    pub fn exchange(&mut self, sig: u32, new: Option<Sigaction>) -> Result<Sigaction, Errno> {
        let slot = &mut self.table[sig as usize - 1];
        let old = *slot;
        if let Some(mut new) = new {
            if sig == SIGKILL || sig == SIGSTOP {
                return Err(Errno::EINVAL);
            }
            new.sa_mask &= !UNBLOCKABLE;
            *slot = new;
        }
        Ok(old)
    }

    /// What signal `sig` (1..=64) does now.
    pub fn disposition(&self, sig: u32) -> Disposition {
        let action = self.table[sig as usize - 1];
        match action.sa_handler {
            _ if sig == SIGKILL || sig == SIGSTOP => Disposition::Default(default_action(sig)),
            SIG_DFL => Disposition::Default(default_action(sig)),
            SIG_IGN => Disposition::Ignore,
            _ => Disposition::Handler(action),
        }
    }

    /// Whether signal `sig`, sent now, is dropped: ignored, or ignored by
    /// default (a pending one is dropped when its action becomes so).
    pub fn discards(&self, sig: u32) -> bool {
        matches!(
            self.disposition(sig),
            Disposition::Ignore | Disposition::Default(DefaultAction::Ignore)
        )
    }

    /// Whether a child's stop or continue sends it SIGCHLD: its SIGCHLD
    /// action has no SA_NOCLDSTOP (ignored, it is dropped as any).
    pub fn told_of_child_stops(&self) -> bool {
        self.table[abi::signal::SIGCHLD as usize - 1].sa_flags & SA_NOCLDSTOP == 0
    }

    /// The signals it [`discards`](Actions::discards).
    pub fn discarded(&self) -> u64 {
        (1..=NSIG as u32)
            .filter(|&sig| self.discards(sig))
            .fold(0, |set, sig| set | bit(sig))
    }

    /// The actions after `execve`, as Linux: a handler becomes SIG_DFL
    /// (the program that installed it is gone), SIG_IGN stays SIG_IGN
    /// (SIGCHLD's too), and every action loses its flags, mask and
    /// restorer.
    pub fn after_exec(&self) -> Actions {
        let mut actions = Actions::new();
        for (new, old) in actions.table.iter_mut().zip(&self.table) {
            if old.sa_handler == SIG_IGN {
                new.sa_handler = SIG_IGN;
            }
        }
        actions
    }

    /// The handler of `sig` for a delivery now, if it has one; with
    /// SA_RESETHAND the action goes back to the default (as Linux, the
    /// handler still runs with `sig` blocked unless SA_NODEFER).
    pub fn take_handler(&mut self, sig: u32) -> Option<Sigaction> {
        let Disposition::Handler(action) = self.disposition(sig) else {
            return None;
        };
        if action.sa_flags & SA_RESETHAND != 0 {
            self.table[sig as usize - 1] = Sigaction::default();
        }
        Some(action)
    }
}

/// What a signal does when it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// SIG_IGN: nothing.
    Ignore,
    /// SIG_DFL: its default action.
    Default(DefaultAction),
    /// A handler runs.
    Handler(Sigaction),
}

/// The mask a handler of `sig` with `action` runs with, for a thread whose
/// mask is `mask`: that, `sa_mask`, and `sig` unless SA_NODEFER.
pub fn handler_mask(mask: u64, action: &Sigaction, sig: u32) -> u64 {
    let own = match action.sa_flags & SA_NODEFER {
        0 => bit(sig),
        _ => 0,
    };
    (mask | action.sa_mask | own) & !UNBLOCKABLE
}

/// What a system call interrupted by a handled signal does (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// It is restarted if the handler has SA_RESTART (read and write on
    /// pipes, wait4, a futex wait without a timeout).
    OnSaRestart,
    /// It fails with EINTR whatever the flags (pause, sigsuspend, sleeps,
    /// a futex wait with a timeout, poll, and every other call).
    Never,
}

/// Whether a call of class `restart`, interrupted by a handler with
/// `flags`, is restarted.
pub fn restarts(restart: Restart, flags: u64) -> bool {
    restart == Restart::OnSaRestart && flags & SA_RESTART != 0
}

impl Default for Actions {
    fn default() -> Self {
        Actions::new()
    }
}

/// `rt_sigprocmask(how, set)` on mask `old`: the new mask (SIGKILL and
/// SIGSTOP can never be blocked). EINVAL for an unknown `how`.
pub fn new_mask(old: u64, how: u64, set: u64) -> Result<u64, Errno> {
    let mask = match how {
        SIG_BLOCK => old | set,
        SIG_UNBLOCK => old & !set,
        SIG_SETMASK => set,
        _ => return Err(Errno::EINVAL),
    };
    Ok(mask & !UNBLOCKABLE)
}

/// A mask read from a program (`rt_sigsuspend`, `rt_sigreturn`):
/// SIGKILL and SIGSTOP are never blocked.
pub fn settable_mask(mask: u64) -> u64 {
    mask & !UNBLOCKABLE
}

/// Whether `sp` is on the alternate stack `stack` (as Linux decides it).
pub fn on_stack(stack: &SigStack, sp: u64) -> bool {
    sp > stack.ss_sp && sp - stack.ss_sp <= stack.ss_size
}

/// The alternate stack a handler with `flags` runs on for a thread whose
/// stack pointer is `sp`: `(base, size)` if the action has SA_ONSTACK,
/// `stack` is enabled and `sp` is not on it already.
pub fn handler_stack(stack: &SigStack, flags: u64, sp: u64) -> Option<(u64, u64)> {
    let enabled = stack.ss_flags & SS_DISABLE == 0 && stack.ss_size != 0;
    (flags & SA_ONSTACK != 0 && enabled && !on_stack(stack, sp))
        .then_some((stack.ss_sp, stack.ss_size))
}

/// The `stack_t` a signal frame records: the thread's alternate stack,
/// with SS_ONSTACK if `sp` is on it (SS_DISABLE if it has none).
pub fn saved_stack(stack: &SigStack, sp: u64) -> SigStack {
    let flags = match stack.ss_size {
        0 => SS_DISABLE,
        _ if on_stack(stack, sp) => SS_ONSTACK | (stack.ss_flags & SS_AUTODISARM),
        _ => stack.ss_flags & SS_AUTODISARM,
    };
    SigStack {
        ss_flags: flags,
        ..*stack
    }
}

/// `sigaltstack(new)`: the stack to record. EINVAL for unknown flags (or
/// SS_ONSTACK asked for), ENOMEM for an enabled stack smaller than
/// [`MINSIGSTKSZ`]. A disabled stack is recorded as all zeros but
/// `SS_DISABLE`, as Linux reports it.
pub fn check_altstack(new: SigStack) -> Result<SigStack, Errno> {
    let mode = new.ss_flags & !SS_AUTODISARM;
    match mode {
        SS_DISABLE => Ok(SigStack {
            ss_sp: 0,
            ss_flags: SS_DISABLE,
            ss_size: 0,
        }),
        0 | SS_ONSTACK if new.ss_size < MINSIGSTKSZ => Err(Errno::ENOMEM),
        // Linux accepts SS_ONSTACK as a request for 0.
        0 | SS_ONSTACK => Ok(SigStack {
            ss_flags: new.ss_flags & SS_AUTODISARM,
            ..new
        }),
        _ => Err(Errno::EINVAL),
    }
}

/// A thread's signal state: its mask, alternate stack and pending signals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSignals {
    pub mask: u64,
    pub altstack: SigStack,
    /// Signals sent to this thread (tgkill, faults).
    pub pending: Pending,
    /// The mask to restore once a handler has run (`rt_sigsuspend`
    /// replaced it while it waits): the one its signal frame records.
    pub saved_mask: Option<u64>,
}

impl ThreadSignals {
    /// No signal blocked, no alternate stack.
    pub const fn new() -> ThreadSignals {
        ThreadSignals {
            mask: 0,
            altstack: SigStack {
                ss_sp: 0,
                ss_flags: SS_DISABLE,
                ss_size: 0,
            },
            pending: Pending::new(),
            saved_mask: None,
        }
    }

    /// The state a forked thread starts with: this one's mask and
    /// alternate stack, nothing pending.
    pub fn forked(&self) -> ThreadSignals {
        ThreadSignals {
            mask: self.mask,
            altstack: self.altstack,
            pending: Pending::new(),
            saved_mask: None,
        }
    }
}

impl ThreadSignals {
    /// What the thread that calls `execve` keeps, as Linux: its mask and
    /// pending signals; its alternate stack (in the old image) is gone.
    pub fn after_exec(&self) -> ThreadSignals {
        ThreadSignals {
            mask: self.mask,
            pending: self.pending.clone(),
            ..ThreadSignals::new()
        }
    }
}

impl Default for ThreadSignals {
    fn default() -> Self {
        ThreadSignals::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_kept_and_returned() {
        let mut a = Actions::new();
        let ignore = Sigaction {
            sa_handler: SIG_IGN,
            ..Sigaction::default()
        };
        assert_eq!(a.exchange(13, Some(ignore)), Ok(Sigaction::default()));
        assert_eq!(a.exchange(13, None), Ok(ignore));
        assert_eq!(a.disposition(13), Disposition::Ignore, "SIGPIPE ignored");
        assert!(a.discards(13));
        assert_eq!(
            a.disposition(6),
            Disposition::Default(DefaultAction::Terminate)
        );
        assert!(a.discards(17), "SIGCHLD is ignored by default");
        let handler = Sigaction {
            sa_handler: 0x40_1000,
            sa_mask: u64::MAX,
            ..Sigaction::default()
        };
        a.exchange(11, Some(handler)).unwrap();
        let stored = a.exchange(11, None).unwrap();
        assert_eq!(stored.sa_mask, !(1 << 8) & !(1 << 18));
        assert_eq!(a.disposition(11), Disposition::Handler(stored));
        assert!(!a.discards(11));
        assert_eq!(a.exchange(SIGKILL, Some(ignore)), Err(Errno::EINVAL));
        assert_eq!(a.exchange(SIGSTOP, None), Ok(Sigaction::default()));
        assert_eq!(
            a.disposition(SIGKILL),
            Disposition::Default(DefaultAction::Terminate)
        );
    }

    #[test]
    fn handlers_masks_and_resethand() {
        let mut a = Actions::new();
        let once = Sigaction {
            sa_handler: 0x40_1000,
            sa_flags: SA_RESETHAND | SA_RESTORER,
            sa_mask: 1 << 1,
            ..Sigaction::default()
        };
        a.exchange(10, Some(once)).unwrap();
        assert_eq!(a.take_handler(10), Some(once));
        assert_eq!(
            a.disposition(10),
            Disposition::Default(DefaultAction::Terminate)
        );
        assert_eq!(a.take_handler(10), None, "reset to the default");
        assert_eq!(
            handler_mask(1 << 4, &once, 10),
            (1 << 4) | (1 << 1) | (1 << 9)
        );
        let nodefer = Sigaction {
            sa_flags: SA_NODEFER,
            sa_mask: u64::MAX,
            ..once
        };
        assert_eq!(handler_mask(0, &nodefer, 10), !(1 << 8) & !(1 << 18));
        assert_eq!(
            handler_mask(
                0,
                &Sigaction {
                    sa_flags: SA_NODEFER,
                    ..once
                },
                10
            ),
            1 << 1
        );
        let again = Sigaction {
            sa_flags: SA_RESTART,
            ..once
        };
        a.exchange(12, Some(again)).unwrap();
        assert_eq!(a.take_handler(12), Some(again));
        assert_eq!(a.take_handler(12), Some(again), "kept without SA_RESETHAND");
        assert!(restarts(Restart::OnSaRestart, SA_RESTART));
        assert!(!restarts(Restart::OnSaRestart, 0));
        assert!(!restarts(Restart::Never, SA_RESTART));
        assert_eq!(settable_mask(u64::MAX), !(1 << 8) & !(1 << 18));
    }

    #[test]
    fn which_stack_a_handler_runs_on() {
        let alt = SigStack {
            ss_sp: 0x10_0000,
            ss_flags: 0,
            ss_size: 0x4000,
        };
        let off = SigStack {
            ss_sp: 0,
            ss_flags: SS_DISABLE,
            ss_size: 0,
        };
        assert_eq!(
            handler_stack(&alt, SA_ONSTACK, 0x7000_0000),
            Some((0x10_0000, 0x4000))
        );
        assert_eq!(handler_stack(&alt, 0, 0x7000_0000), None, "no SA_ONSTACK");
        assert_eq!(
            handler_stack(&alt, SA_ONSTACK, 0x10_2000),
            None,
            "on it already"
        );
        assert_eq!(handler_stack(&off, SA_ONSTACK, 0x7000_0000), None);
        assert_eq!(saved_stack(&alt, 0x10_2000).ss_flags, SS_ONSTACK);
        assert_eq!(saved_stack(&alt, 0x7000_0000).ss_flags, 0);
        assert_eq!(saved_stack(&off, 0x7000_0000).ss_flags, SS_DISABLE);
        assert!(on_stack(&alt, 0x10_4000) && !on_stack(&alt, 0x10_0000));
    }

    #[test]
    fn masks_and_numbers() {
        assert_eq!(new_mask(0b1, SIG_BLOCK, 0b10), Ok(0b11));
        assert_eq!(new_mask(0b11, SIG_UNBLOCK, 0b1), Ok(0b10));
        assert_eq!(
            new_mask(0b11, SIG_SETMASK, u64::MAX),
            Ok(!(1 << 8) & !(1 << 18))
        );
        assert_eq!(new_mask(0, 3, 0), Err(Errno::EINVAL));
        assert_eq!(signal_arg(0), Err(Errno::EINVAL));
        assert_eq!(signal_arg(65), Err(Errno::EINVAL));
        assert_eq!(signal_arg(64), Ok(64));
    }

    #[test]
    fn what_exec_keeps() {
        let mut a = Actions::new();
        let ignore = Sigaction {
            sa_handler: SIG_IGN,
            sa_flags: SA_RESTART | SA_RESTORER,
            sa_mask: 0b110,
            sa_restorer: 0x40_2000,
        };
        let handler = Sigaction {
            sa_handler: 0x40_1000,
            ..ignore
        };
        a.exchange(10, Some(ignore)).unwrap();
        a.exchange(17, Some(ignore)).unwrap();
        a.exchange(12, Some(handler)).unwrap();
        a.exchange(15, Some(handler)).unwrap();
        a.exchange(2, Some(Sigaction::default())).unwrap();
        let after = a.after_exec();
        let bare_ignore = Sigaction {
            sa_handler: SIG_IGN,
            ..Sigaction::default()
        };
        for sig in 1..=NSIG as u32 {
            let expected = match sig {
                10 | 17 => bare_ignore,
                _ => Sigaction::default(),
            };
            assert_eq!(
                after.clone().exchange(sig, None),
                Ok(expected),
                "signal {sig}"
            );
        }
        assert_eq!(after.disposition(10), Disposition::Ignore);
        assert_eq!(
            after.disposition(12),
            Disposition::Default(DefaultAction::Terminate)
        );
        assert_eq!(
            after.discarded(),
            bit(10) | bit(17) | bit(18) | bit(23) | bit(28)
        );

        let mut pending = Pending::new();
        let info = super::super::pending::Info::user(12, 3, 0);
        pending.add(info, false).unwrap();
        let thread = ThreadSignals {
            mask: 0b1010,
            altstack: SigStack {
                ss_sp: 0x10_0000,
                ss_flags: SS_AUTODISARM,
                ss_size: 0x4000,
            },
            pending: pending.clone(),
            saved_mask: Some(0),
        };
        let kept = thread.after_exec();
        assert_eq!(kept.mask, 0b1010);
        assert_eq!(kept.pending, pending);
        assert_eq!(kept.altstack, ThreadSignals::new().altstack);
        assert_eq!(kept.saved_mask, None);
    }

    #[test]
    fn alternate_stacks() {
        let s = |sp, flags, size| SigStack {
            ss_sp: sp,
            ss_flags: flags,
            ss_size: size,
        };
        assert_eq!(check_altstack(s(0x1000, 0, 8192)), Ok(s(0x1000, 0, 8192)));
        assert_eq!(check_altstack(s(0x1000, 0, 100)), Err(Errno::ENOMEM));
        assert_eq!(check_altstack(s(9, SS_DISABLE, 1)), Ok(s(0, SS_DISABLE, 0)));
        assert_eq!(check_altstack(s(0x1000, 4, 8192)), Err(Errno::EINVAL));
        assert_eq!(
            check_altstack(s(0x1000, SS_AUTODISARM, 8192)),
            Ok(s(0x1000, SS_AUTODISARM, 8192))
        );
    }

    #[test]
    fn sa_nocldstop_on_sigchld_alone_keeps_stops_quiet() {
        let mut a = Actions::new();
        assert!(a.told_of_child_stops(), "by default");
        let quiet = Sigaction {
            sa_handler: 0x40_1000,
            sa_flags: SA_NOCLDSTOP | SA_RESTORER,
            ..Sigaction::default()
        };
        a.exchange(10, Some(quiet)).unwrap();
        assert!(a.told_of_child_stops(), "SIGUSR1's flags do not count");
        a.exchange(17, Some(quiet)).unwrap();
        assert!(!a.told_of_child_stops());
        assert!(a.after_exec().told_of_child_stops(), "exec drops the flags");
    }
}
