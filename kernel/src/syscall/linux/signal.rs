//! Signals without handlers (see `kernel::linux::signal`): actions, masks
//! and alternate stacks are kept and read back; a signal a process sends
//! itself takes its default action, so `abort()` ends the process with
//! status 134 (128 + SIGABRT) and `raise(SIGCHLD)` does nothing. A process
//! can signal only itself here (EPERM for another).

use super::{SysResult, int_arg};
use crate::mem::user::UserPtr;
use crate::task::SCHED;
use abi::Errno;
use abi::linux::{SigStack, Sigaction};
use kernel::linux::signal::{self, SIGSET_SIZE};

/// `rt_sigaction(sig, act, oact, sigsetsize)`.
pub fn rt_sigaction(sig: u64, act: u64, oact: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let sig = signal::signal_arg(sig)?;
    let mut g = SCHED.lock();
    let space = g.current_space();
    let new = match act {
        0 => None,
        addr => Some(UserPtr::<Sigaction>::new(addr)?.read(space)?),
    };
    let out = match oact {
        0 => None,
        addr => {
            let p = UserPtr::<Sigaction>::new(addr)?;
            p.check(space, true)?;
            Some(p)
        }
    };
    let state = g.current_linux_process().ok_or(Errno::ENOSYS)?;
    let old = state.actions.exchange(sig, new)?;
    if let Some(p) = out {
        p.write(g.current_space(), &old)?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oset, sigsetsize)`.
pub fn rt_sigprocmask(how: u64, set: u64, oset: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let space = g.current_space();
    let new = match set {
        0 => None,
        addr => Some(UserPtr::<u64>::new(addr)?.read(space)?),
    };
    let out = match oset {
        0 => None,
        addr => {
            let p = UserPtr::<u64>::new(addr)?;
            p.check(space, true)?;
            Some(p)
        }
    };
    let thread = g.current_linux_thread().ok_or(Errno::ENOSYS)?;
    let old = thread.signals.mask;
    if let Some(set) = new {
        thread.signals.mask = signal::new_mask(old, how, set)?;
    }
    if let Some(p) = out {
        p.write(g.current_space(), &old)?;
    }
    Ok(0)
}

/// `sigaltstack(ss, old)`.
pub fn sigaltstack(ss: u64, old: u64) -> SysResult {
    let mut g = SCHED.lock();
    let space = g.current_space();
    let new = match ss {
        0 => None,
        addr => Some(signal::check_altstack(
            UserPtr::<SigStack>::new(addr)?.read(space)?,
        )?),
    };
    let out = match old {
        0 => None,
        addr => {
            let p = UserPtr::<SigStack>::new(addr)?;
            p.check(space, true)?;
            Some(p)
        }
    };
    let thread = g.current_linux_thread().ok_or(Errno::ENOSYS)?;
    let previous = thread.signals.altstack;
    if let Some(stack) = new {
        thread.signals.altstack = stack;
    }
    if let Some(p) = out {
        p.write(g.current_space(), &previous)?;
    }
    Ok(0)
}

/// Sends signal `sig` (already checked) to the calling process: its
/// default action ends the process with status `128 + sig` (the calling
/// thread ends on its way back to user mode), unless the signal is
/// ignored. Signal 0 only checks that the target exists.
fn signal_self(sig: u32) -> SysResult {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let state = g.current_linux_process().ok_or(Errno::ENOSYS)?;
    if !state.actions.terminates(sig) {
        return Ok(0);
    }
    let handler = state.actions.has_handler(sig);
    let name = g.process(pid).map_or("?", |p| p.name.as_str());
    crate::warn!(
        "process {pid} ({name}) ends on signal {sig}{}",
        if handler {
            " (its handler cannot run: this kernel runs no signal handlers)"
        } else {
            ""
        }
    );
    g.kill_process(pid, abi::KILLED_BASE + sig as i32);
    Ok(0)
}

/// A signal argument of kill/tkill/tgkill: 0 (a check only) or 1..=64.
fn kill_signal(sig: u64) -> Result<Option<u32>, Errno> {
    match sig {
        0 => Ok(None),
        s => signal::signal_arg(s).map(Some),
    }
}

/// `kill(pid, sig)`: `pid` is the caller's (or 0, its process group, which
/// holds only itself here).
pub fn kill(pid: u64, sig: u64) -> SysResult {
    let sig = kill_signal(sig)?;
    let pid = int_arg(pid);
    let me = SCHED.lock().current_pid();
    if pid != 0 && u32::try_from(pid) != Ok(me) {
        return Err(if pid > 0 && SCHED.lock().process(pid as u32).is_some() {
            Errno::EPERM
        } else {
            Errno::ESRCH
        });
    }
    sig.map_or(Ok(0), signal_self)
}

/// `tgkill(tgid, tid, sig)` (`tkill` without `tgid`): `tid` must be a
/// thread of the caller's process (ESRCH otherwise); the signal goes to
/// the process.
pub fn tgkill(tgid: Option<u64>, tid: u64, sig: u64) -> SysResult {
    let sig = kill_signal(sig)?;
    let g = SCHED.lock();
    let me = g.current_pid();
    let tid = u32::try_from(int_arg(tid))
        .ok()
        .filter(|&t| t > 0)
        .ok_or(Errno::EINVAL)?;
    let group_ok = tgid.is_none_or(|t| u32::try_from(int_arg(t)) == Ok(me));
    if !group_ok || !g.is_thread_of(tid, me) {
        return Err(Errno::ESRCH);
    }
    drop(g);
    sig.map_or(Ok(0), signal_self)
}
