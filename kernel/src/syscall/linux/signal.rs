//! The signal calls (the rules are `kernel::linux::signal`'s, delivery is
//! `task::signals`'): actions, masks and alternate stacks;
//! `rt_sigsuspend`, `rt_sigpending` and `rt_sigtimedwait`; `kill` (the
//! native call's handler, `Sched::kill`) and `tgkill`/`tkill` to a thread
//! of the caller; `rt_sigqueueinfo` and `rt_tgsigqueueinfo` (`sigqueue`),
//! whose real-time signals queue. A signal with a handler, or one that is blocked, is
//! made pending (a handler runs on the way back to user mode; a
//! `rt_sigtimedwait` takes one whatever its action); otherwise it takes
//! its default action unless ignored, so `abort()` ends the process as
//! SIGABRT (native status 160 + 6, `WTERMSIG` 6 for its parent) and
//! `raise(SIGCHLD)` does nothing.

use super::thread::{nanos, timespec_arg};
use super::{SysResult, int_arg, process};
use crate::mem::space::AddressSpace;
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::SCHED;
use abi::Errno;
use abi::linux::{SigStack, Sigaction};
use kernel::linux::pending::{Full, Info, SIGINFO_SIZE};
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
        addr => Some(UserPtr::<Sigaction>::writable(addr, space)?),
    };
    let state = g.current_linux_process().ok_or(Errno::ENOSYS)?;
    let old = state.actions.exchange(sig, new)?;
    if new.is_some() && state.actions.discards(sig) {
        let pid = g.current_pid();
        g.discard_signal(pid, sig);
    }
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
        addr => Some(UserPtr::<u64>::writable(addr, space)?),
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
        addr => Some(UserPtr::<SigStack>::writable(addr, space)?),
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

/// `rt_sigsuspend(mask, sigsetsize)`: waits with `mask` in place of the
/// thread's mask until a signal to handle comes; EINTR, the handler
/// running on the way out with the mask that was (which comes back when
/// it returns).
pub fn rt_sigsuspend(mask: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let mask = UserPtr::<u64>::new(mask)?.read(g.current_space())?;
    let signals = &mut g.current_linux_thread().ok_or(Errno::ENOSYS)?.signals;
    signals.saved_mask = Some(signals.mask);
    signals.mask = signal::settable_mask(mask);
    drop(g);
    crate::task::pause()
}

/// `rt_sigpending(set, sigsetsize)`: the signals pending for the thread or
/// its process that its mask blocks.
pub fn rt_sigpending(set: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let mask = g.current_linux_thread().ok_or(Errno::ENOSYS)?.signals.mask;
    let pending = g.pending_signals() & mask;
    UserPtr::<u64>::new(set)?.write(g.current_space(), &pending)?;
    Ok(0)
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`: waits until a
/// signal of `set` (SIGKILL and SIGSTOP left out) is pending for the
/// thread or its process, takes it and returns its number, its
/// `siginfo_t` stored at `info` if not 0. `timeout` (relative; 0: none)
/// ends the wait with EAGAIN at the first tick at or after it ({0, 0}
/// only looks). EINTR when a signal to handle comes first; never
/// restarted. Everything is checked before the wait (Linux finds a bad
/// `info` only once it has taken the signal, which is lost then).
pub fn rt_sigtimedwait(set: u64, info: u64, timeout: u64, size: u64) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let space = g.current_space();
    let set = signal::settable_mask(UserPtr::<u64>::new(set)?.read(space)?);
    let out = match info {
        0 => None,
        addr => {
            let slice = UserSlice::<u8>::new(addr, SIGINFO_SIZE as u64)?;
            slice.check(space, true)?;
            Some(slice)
        }
    };
    drop(g);
    let deadline = match timeout {
        0 => None,
        addr => {
            let ns = nanos(timespec_arg(addr)?);
            let mut g = SCHED.lock();
            Some(match ns {
                0 => g.ticks(),
                ns => {
                    let end = g.monotonic_ns().saturating_add(ns);
                    g.tick_at(end)
                }
            })
        }
    };
    let taken = crate::task::wait_signal(set, deadline)?;
    if let Some(slice) = out {
        slice.write_bytes(SCHED.lock().current_space(), &taken.encode())?;
    }
    Ok(u64::from(taken.signo))
}

/// A signal argument of tkill/tgkill: 0 (a check only) or 1..=64.
fn kill_signal(sig: u64) -> Result<Option<u32>, Errno> {
    match sig {
        0 => Ok(None),
        s => signal::signal_arg(s).map(Some),
    }
}

/// `kill(pid, sig)`: the native call's handler (`syscall::process`): a
/// signal takes its default action, or none for a program that ignores it.
pub fn kill(pid: u64, sig: u64) -> SysResult {
    process::kill(int_arg(pid), int_arg(sig))
}

/// `tgkill(tgid, tid, sig)` (`tkill` without `tgid`): `tid` must be a
/// thread of the caller's process (ESRCH otherwise); a handler runs on
/// that thread, a default action is the process's.
pub fn tgkill(tgid: Option<u64>, tid: u64, sig: u64) -> SysResult {
    let sig = kill_signal(sig)?;
    to_own_thread(tgid, tid, sig, |me, uid| {
        Info::tkill(sig.unwrap_or(0), me, uid)
    })
}

/// `rt_sigqueueinfo(pid, sig, info)` (`sigqueue`): `sig` with the
/// `siginfo_t` at `info` to process `pid`, as `Sched::sigqueue` says.
pub fn rt_sigqueueinfo(pid: u64, sig: u64, info: u64) -> SysResult {
    let sig = kill_signal(sig)?.unwrap_or(0);
    let mut g = SCHED.lock();
    let raw = read_siginfo(g.current_space(), info)?;
    g.sigqueue(int_arg(pid), Info::queued(sig, &raw))
        .map(|()| 0)
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: `sig` with the `siginfo_t`
/// at `info` to thread `tid` of process `tgid`, which must be a thread of
/// the caller's process as for `tgkill`; EPERM as `rt_sigqueueinfo` says,
/// EAGAIN when the system has no room to queue it.
pub fn rt_tgsigqueueinfo(tgid: u64, tid: u64, sig: u64, info: u64) -> SysResult {
    let sig = kill_signal(sig)?;
    let (raw, me) = {
        let mut g = SCHED.lock();
        (read_siginfo(g.current_space(), info)?, g.current_pid())
    };
    let info = Info::queued(sig.unwrap_or(0), &raw);
    if info.impersonates() && u32::try_from(int_arg(tgid)) != Ok(me) {
        return Err(Errno::EPERM);
    }
    to_own_thread(Some(tgid), tid, sig, |_, _| info)
}

/// `result` of a write to a pipe or socket, as Linux has it: EPIPE (the
/// reading side is gone) comes with SIGPIPE to the writing thread
/// (SI_USER from its own process: its default action ends the process).
pub fn sigpipe(result: SysResult) -> SysResult {
    if result == Err(Errno::EPIPE) {
        let mut g = SCHED.lock();
        let (tid, pid, uid) = (g.current_tid(), g.current_pid(), g.current_cred().ruid);
        // A standard signal: it never queues.
        let _ = g.signal_thread(tid, Info::user(abi::signal::SIGPIPE as u32, pid, uid));
    }
    result
}

/// The `siginfo_t` a program gives at `addr`.
fn read_siginfo(space: &AddressSpace, addr: u64) -> Result<[u8; SIGINFO_SIZE], Errno> {
    let bytes = UserSlice::<u8>::new(addr, SIGINFO_SIZE as u64)?.read_all(space)?;
    let mut raw = [0; SIGINFO_SIZE];
    raw.copy_from_slice(&bytes);
    Ok(raw)
}

/// Sends `sig` (none: signal 0, only the checks), with the info
/// `info_of(caller's pid, real uid)` makes, to thread `tid` of process
/// `tgid` (any process for `tkill`'s `None`), which must be the caller's:
/// EINVAL for a tid or tgid that is not positive, ESRCH for a thread that
/// is not the caller's, EAGAIN for one the system has no room to queue.
fn to_own_thread(
    tgid: Option<u64>,
    tid: u64,
    sig: Option<u32>,
    info_of: impl FnOnce(u32, u32) -> Info,
) -> SysResult {
    let positive = |id: u64| {
        u32::try_from(int_arg(id))
            .ok()
            .filter(|&id| id > 0)
            .ok_or(Errno::EINVAL)
    };
    let tid = positive(tid)?;
    let tgid = tgid.map(positive).transpose()?;
    let mut g = SCHED.lock();
    let me = g.current_pid();
    if tgid.is_some_and(|t| t != me) || !g.is_thread_of(tid, me) {
        return Err(Errno::ESRCH);
    }
    let uid = g.current_cred().ruid;
    if sig.is_some() {
        g.signal_thread(tid, info_of(me, uid))
            .map_err(|Full| Errno::EAGAIN)?;
    }
    Ok(0)
}
