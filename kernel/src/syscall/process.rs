//! The process calls: fork, execve, wait4 (and the native `wait`), kill,
//! alarm, pause, the ids (getppid, setuid, seteuid) and the limits
//! (`get_limit`/`set_limit` and `prlimit` over them). Each handler takes
//! decoded arguments, so the native calls and a Linux personality share
//! them; the decoding of the native calls' blocks is here too.

use super::{SysResult, path_arg};
use crate::arch::timer::HZ;
use crate::arch::traps::TrapFrame;
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::{self, SCHED};
use abi::rlimit::{self, Rlimit};
use abi::{Errno, ExecArgs, MAIN_STACK_SIZE, MAX_ARGS, MAX_ARGS_BYTES, limit};
use alloc::vec::Vec;
use kernel::cap::MAX_CAPACITY;
use kernel::clock::NANOS;
use kernel::wait::Waited;

/// `fork()`: the child's pid (the child's thread returns 0).
pub fn fork(frame: &TrapFrame) -> SysResult {
    SCHED.lock().fork_current(frame).map(u64::from)
}

/// The native `execve(&ExecArgs)`: reads the block, the path and the
/// NUL-ended strings, then [`execve`].
pub fn execve_native(block: u64, frame: &mut TrapFrame) -> SysResult {
    let ea = UserPtr::<ExecArgs>::new(block)?.read(SCHED.lock().current_space())?;
    let path = path_arg(ea.path_ptr, ea.path_len)?;
    let args = strings(ea.args_ptr, ea.args_len)?;
    let env = strings(ea.env_ptr, ea.env_len)?;
    let split = |blob: &[u8]| -> Vec<Vec<u8>> {
        match blob.split_last() {
            Some((_, body)) => body.split(|&b| b == 0).map(<[u8]>::to_vec).collect(),
            None => Vec::new(),
        }
    };
    let (args, env) = (split(&args), split(&env));
    if args.len() > MAX_ARGS || env.len() > MAX_ARGS {
        return Err(Errno::E2BIG);
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let env: Vec<&[u8]> = env.iter().map(Vec::as_slice).collect();
    execve(&path, &args, &env, frame)
}

/// A block of NUL-ended strings: E2BIG beyond [`MAX_ARGS_BYTES`], EINVAL
/// unless it ends with a NUL.
fn strings(ptr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    if len > MAX_ARGS_BYTES as u64 {
        return Err(Errno::E2BIG);
    }
    let blob = UserSlice::<u8>::new(ptr, len)?.read_all(SCHED.lock().current_space())?;
    match blob.last() {
        Some(&b) if b != 0 => Err(Errno::EINVAL),
        _ => Ok(blob),
    }
}

/// `execve(path, args, env)`: on success the thread leaves through
/// `frame`, rewritten to enter the new program (and the result, 0, goes
/// into its `rax`). Errors leave the caller unchanged.
pub fn execve(path: &[u8], args: &[&[u8]], env: &[&[u8]], frame: &mut TrapFrame) -> SysResult {
    task::exec(path, args, env, frame).map(|()| 0)
}

/// `wait4(pid, status_ptr, options, rusage_ptr)`: the pid of the child
/// reaped (or reported stopped or continued; 0 with WNOHANG and nothing
/// to report), its wait status stored at `status_ptr` and its `struct
/// rusage` (its CPU time and its reaped children's) at `rusage_ptr`,
/// unless 0 (EFAULT, only when there is a child to report, keeps it
/// unreaped or unreported).
pub fn wait4(pid: i32, status_ptr: u64, options: u32, rusage_ptr: u64) -> SysResult {
    // The pointers are looked at only when a child is there to report (as
    // Linux: no child, ECHILD whatever they are).
    let deliver = |space: &_, status: i32, cpu: u64| {
        if status_ptr != 0 {
            UserPtr::<i32>::new(status_ptr)?.write(space, &status)?;
        }
        if rusage_ptr != 0 {
            let usage = UserSlice::<u8>::new(rusage_ptr, RUSAGE_SIZE)?;
            usage.write_bytes(space, &rusage_of(cpu))?;
        }
        Ok(())
    };
    let reaped = task::wait4(pid, options, deliver)?;
    Ok(reaped.map_or(0, |(child, _)| u64::from(child)))
}

/// `sizeof(struct rusage)` on x86-64: two timevals, then 14 longs.
pub(super) const RUSAGE_SIZE: u64 = 144;
/// Nanoseconds of a timer tick.
pub(super) const TICK_NS: u64 = NANOS / HZ as u64;

/// The `struct rusage` bytes for `ticks` timer ticks of CPU time (all of
/// it user time: CPU time is sampled by timer ticks, see
/// `Sched::cpu_ticks`); the other fields are not kept (0).
pub(super) fn rusage_of(ticks: u64) -> [u8; RUSAGE_SIZE as usize] {
    let us = ticks * (TICK_NS / 1000);
    let mut bytes = [0; RUSAGE_SIZE as usize];
    bytes[0..8].copy_from_slice(&(us / 1_000_000).to_le_bytes());
    bytes[8..16].copy_from_slice(&(us % 1_000_000).to_le_bytes());
    bytes
}

/// The native `wait(pid)` (-1: any child): `(pid << 32) | status`, the
/// status being the native one (exit status, `KILLED_BASE + vector`,
/// `SIGNALED_BASE + signal`).
pub fn wait(pid: i64) -> SysResult {
    let pid = i32::try_from(pid).map_err(|_| Errno::ECHILD)?;
    let (child, waited) = task::wait4(pid, 0, |_, _, _| Ok(()))?.ok_or(Errno::ECHILD)?;
    let status = match waited {
        Waited::Ended(death) => death.status(),
        Waited::Changed(report) => report.wait_status(),
    };
    Ok((u64::from(child) << 32) | u64::from(status as u32))
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> SysResult {
    SCHED.lock().kill(pid, sig).map(|()| 0)
}

/// `alarm(seconds)`: the seconds left of the previous alarm.
pub fn alarm(seconds: u64) -> SysResult {
    let seconds = u32::try_from(seconds).map_err(|_| Errno::EINVAL)?;
    Ok(SCHED.lock().set_alarm(seconds))
}

/// `getppid()`.
pub fn getppid() -> SysResult {
    let g = SCHED.lock();
    let pid = g.current_pid();
    Ok(u64::from(g.process(pid).map_or(0, |p| p.parent)))
}

/// `setuid(uid)`: with euid 0, real and effective ids become `uid`;
/// otherwise the effective id may only become the real one.
pub fn setuid(uid: u64) -> SysResult {
    let uid = u32::try_from(uid).map_err(|_| Errno::EINVAL)?;
    let mut g = SCHED.lock();
    let mut cred = g.current_cred();
    match cred.euid {
        0 => cred.ruid = uid,
        _ if uid != cred.ruid => return Err(Errno::EPERM),
        _ => {}
    }
    cred.euid = uid;
    g.set_current_cred(cred);
    Ok(0)
}

/// seteuid: with euid 0 any id may be taken; otherwise only the real id.
pub fn seteuid(uid: u64) -> SysResult {
    let uid = u32::try_from(uid).map_err(|_| Errno::EINVAL)?;
    let mut g = SCHED.lock();
    let mut cred = g.current_cred();
    if cred.euid != 0 && uid != cred.ruid {
        return Err(Errno::EPERM);
    }
    cred.euid = uid;
    g.set_current_cred(cred);
    Ok(0)
}

/// The process a limit call names: the caller (`pid` 0, or its own pid) or
/// one of its children; whether it is a child.
fn limit_target(g: &task::Sched, pid: u64) -> Result<(u32, bool), Errno> {
    let me = g.current_pid();
    match u32::try_from(pid).map_err(|_| Errno::ESRCH)? {
        0 => Ok((me, false)),
        p if p == me => Ok((me, false)),
        p if g
            .process(p)
            .is_some_and(|c| c.parent == me && c.space.is_some()) =>
        {
            Ok((p, true))
        }
        _ => Err(Errno::ESRCH),
    }
}

pub fn get_limit(pid: u64, resource: u64) -> SysResult {
    let mut g = SCHED.lock();
    let (pid, _) = limit_target(&g, pid)?;
    let p = g.process(pid).ok_or(Errno::ESRCH)?;
    Ok(match resource as usize {
        limit::THREADS => p.limits.threads,
        limit::CHILDREN => p.limits.children,
        limit::MEMORY => p.space.as_ref().map_or(0, |s| s.map_limit()),
        limit::DESCRIPTORS => {
            let table = g.objects().caps.table(pid);
            table.map_or(0, |t| t.capacity() as u64)
        }
        _ => return Err(Errno::EINVAL),
    })
}

pub fn set_limit(pid: u64, resource: u64, value: u64) -> SysResult {
    let current = get_limit(pid, resource)?;
    // get_limit returns a limit as a non-negative result: a larger value
    // would come back as an error.
    if value > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let (pid, child) = limit_target(&g, pid)?;
    if (child || value > current) && g.current_cred().euid != 0 {
        return Err(Errno::EPERM);
    }
    let p = g.process_mut(pid).ok_or(Errno::ESRCH)?;
    match resource as usize {
        limit::THREADS => p.limits.threads = value,
        limit::CHILDREN => p.limits.children = value,
        limit::MEMORY => {
            if let Some(s) = p.space.as_mut() {
                s.set_map_limit(value)
            }
        }
        limit::DESCRIPTORS => {
            let value = usize::try_from(value).map_err(|_| Errno::EINVAL)?;
            if value > MAX_CAPACITY {
                return Err(Errno::EINVAL);
            }
            if let Some(t) = g.objects().caps.table_mut(pid) {
                t.set_capacity(value);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// The kernel limit behind resource limit `resource`, if one is.
fn kernel_limit(resource: u32) -> Option<usize> {
    match resource {
        rlimit::NOFILE => Some(limit::DESCRIPTORS),
        rlimit::AS | rlimit::DATA => Some(limit::MEMORY),
        rlimit::NPROC => Some(limit::THREADS),
        _ => None,
    }
}

/// `prlimit(pid, resource, new)`: the limit before the call, after setting
/// it to `new` if given. Each limit is one value, reported as both soft and
/// hard; setting takes the soft one, under the rules of `set_limit`
/// (lowering is free; raising, or a child's, takes euid 0). RLIMIT_NOFILE
/// is the descriptor table's size (EMFILE beyond), RLIMIT_AS and
/// RLIMIT_DATA the memory limit, RLIMIT_NPROC the thread limit (Linux
/// counts threads there), RLIMIT_STACK the fixed main stack; every other
/// resource is unlimited. Errors: EINVAL (unknown resource, soft
/// above hard, a value that cannot be set), EPERM, ESRCH.
pub fn prlimit(pid: u64, resource: u32, new: Option<Rlimit>) -> Result<Rlimit, Errno> {
    if resource >= rlimit::NLIMITS {
        return Err(Errno::EINVAL);
    }
    let kind = kernel_limit(resource);
    // The kernel's limits stop at i64::MAX: RLIM_INFINITY stands for it.
    let current = match kind {
        Some(kind) => match get_limit(pid, kind as u64)? {
            v if v >= i64::MAX as u64 => rlimit::INFINITY,
            v => v,
        },
        None if resource == rlimit::STACK => MAIN_STACK_SIZE,
        None => rlimit::INFINITY,
    };
    if let Some(new) = new {
        if new.rlim_cur > new.rlim_max {
            return Err(Errno::EINVAL);
        }
        match kind {
            Some(kind) => {
                let value = new.rlim_cur.min(i64::MAX as u64);
                set_limit(pid, kind as u64, value)?;
            }
            None if new.rlim_cur == current => {}
            None => return Err(Errno::EINVAL),
        }
    }
    Ok(Rlimit {
        rlim_cur: current,
        rlim_max: current,
    })
}

/// The native `prlimit(pid, resource, new_ptr, old_ptr)`: both pointers
/// are checked before anything changes.
pub fn prlimit_native(pid: u64, resource: u64, new_ptr: u64, old_ptr: u64) -> SysResult {
    let resource = u32::try_from(resource).map_err(|_| Errno::EINVAL)?;
    let mut g = SCHED.lock();
    let space = g.current_space();
    let new = match new_ptr {
        0 => None,
        addr => Some(UserPtr::<Rlimit>::new(addr)?.read(space)?),
    };
    let old = match old_ptr {
        0 => None,
        addr => {
            let p = UserPtr::<Rlimit>::new(addr)?;
            UserSlice::<Rlimit>::new(addr, 1)?.check(space, true)?;
            Some(p)
        }
    };
    drop(g);
    let before = prlimit(pid, resource, new)?;
    if let Some(p) = old {
        p.write(SCHED.lock().current_space(), &before)?;
    }
    Ok(0)
}
