//! Signals, as far as this kernel has them: no handler ever runs. What C
//! libraries do with signals at start and around threads still works, and
//! honestly: `rt_sigaction` records each signal's action and gives the old
//! one back, `rt_sigprocmask` keeps each thread's mask, `sigaltstack` each
//! thread's alternate stack — the state a program sets is the state it
//! reads back, it just never takes part in a delivery. A signal a process
//! sends itself (`raise`, `abort`) takes its default action: ignored, or
//! the end of the process with status `128 + signal`, as a shell reports
//! it. A fault still kills the process with the kernel's report (no
//! SIGSEGV handler runs).

use abi::Errno;
use abi::linux::{SigStack, Sigaction};

/// Signals are numbered 1 to this.
pub const NSIG: usize = 64;
pub const SIGKILL: u32 = 9;
pub const SIGSTOP: u32 = 19;
pub const SIG_IGN: u64 = 1;
/// The only `sigsetsize` Linux accepts on x86-64.
pub const SIGSET_SIZE: u64 = 8;
pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;
pub const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
pub const SS_AUTODISARM: i32 = 1 << 31;
/// The smallest alternate stack Linux accepts on x86-64.
pub const MINSIGSTKSZ: u64 = 2048;

/// The bit of signal `sig` in a mask.
fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// What a signal does when it arrives with its default action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Ignore,
    /// The process ends (for core-dumping signals too: there are no cores).
    Terminate,
    /// SIGSTOP and friends: there is no job control here, so nothing.
    Stop,
}

/// The default action of signal `sig` (1..=64), as signal(7) lists it.
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        // SIGCHLD, SIGCONT, SIGURG, SIGWINCH.
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
            new.sa_mask &= !(bit(SIGKILL) | bit(SIGSTOP));
            *slot = new;
        }
        Ok(old)
    }

    /// Whether signal `sig`, sent to the process now, ends it: its action
    /// is not SIG_IGN and its default action is to terminate. A handler
    /// cannot run here, so a signal with one installed ends the process
    /// too (the kernel says so in its log).
    pub fn terminates(&self, sig: u32) -> bool {
        sig == SIGKILL
            || self.table[sig as usize - 1].sa_handler != SIG_IGN
                && default_action(sig) == DefaultAction::Terminate
    }

    /// Whether a handler (not SIG_DFL, not SIG_IGN) is installed for `sig`.
    pub fn has_handler(&self, sig: u32) -> bool {
        self.table[sig as usize - 1].sa_handler > SIG_IGN
    }
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
    Ok(mask & !(bit(SIGKILL) | bit(SIGSTOP)))
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

/// A thread's signal state: its mask and alternate stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSignals {
    pub mask: u64,
    pub altstack: SigStack,
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
        assert!(!a.terminates(13), "SIGPIPE ignored");
        assert!(a.terminates(6), "SIGABRT by default");
        assert!(!a.terminates(17), "SIGCHLD is ignored by default");
        let handler = Sigaction {
            sa_handler: 0x40_1000,
            sa_mask: u64::MAX,
            ..Sigaction::default()
        };
        a.exchange(11, Some(handler)).unwrap();
        assert!(a.has_handler(11) && !a.has_handler(13));
        let stored = a.exchange(11, None).unwrap();
        assert_eq!(stored.sa_mask, !(1 << 8) & !(1 << 18));
        assert!(a.terminates(11), "a handler cannot run");
        assert_eq!(a.exchange(SIGKILL, Some(ignore)), Err(Errno::EINVAL));
        assert_eq!(a.exchange(SIGSTOP, None), Ok(Sigaction::default()));
        assert!(a.terminates(SIGKILL));
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
}
