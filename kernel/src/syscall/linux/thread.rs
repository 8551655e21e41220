//! Threads as C libraries make them: `clone` with the thread flags,
//! `set_tid_address`, `futex` (wait and wake with bitsets and timeouts,
//! requeue), `arch_prctl` for the TLS base, a thread's `exit`; and
//! `sched_getaffinity` and `wait4`.

use super::{SysResult, int_arg, process};
use crate::arch::traps::TrapFrame;
use crate::mem::space::USER_END;
use crate::mem::user::UserPtr;
use crate::task::{self, SCHED};
use abi::Errno;
use abi::fs::Timespec;
use kernel::clock::NANOS;
use kernel::linux::LinuxThread;
use kernel::linux::clone;

/// `clone(flags, stack, parent_tid, child_tid, tls)`: a new thread of the
/// calling process that returns from `clone` with 0 in `rax`, the given
/// stack (the caller's if 0) and otherwise the caller's registers. Its
/// signal mask is the caller's; it has no alternate signal stack.
pub fn clone(a: [u64; 6], frame: &TrapFrame) -> SysResult {
    let spec = clone::decode(a[0]).inspect_err(|&e| {
        if e == Errno::ENOSYS {
            super::log_unsupported("clone of a process (fork and vfork are) or of a namespace");
        }
    })?;
    let [_, stack, parent_tid, child_tid, tls, _] = a;
    let stack = if stack == 0 { frame.rsp } else { stack };
    if stack > USER_END || spec.settls && tls >= USER_END {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let space = g.current_space();
    let tid_word = |addr: u64| UserPtr::<u32>::writable(addr, space);
    let parent_word = spec
        .parent_settid
        .then(|| tid_word(parent_tid))
        .transpose()?;
    let child_word = spec.child_settid.then(|| tid_word(child_tid)).transpose()?;
    if spec.child_cleartid && child_tid >= USER_END {
        return Err(Errno::EFAULT);
    }
    let signals = g
        .current_linux_thread()
        .map(|t| t.signals.mask)
        .unwrap_or(0);
    let child = TrapFrame {
        rax: 0,
        rsp: stack,
        ..*frame
    };
    let tid = g.add_user_thread(pid, &child)?;
    let mut state = LinuxThread::default();
    state.signals.mask = signals;
    if spec.child_cleartid {
        state.clear_child_tid = child_tid;
    }
    g.make_linux_thread(tid, state, spec.settls.then_some(tls));
    let space = g.current_space();
    for word in [parent_word, child_word].into_iter().flatten() {
        // Checked writable above, under this same lock.
        word.write(space, &tid)?;
    }
    Ok(u64::from(tid))
}

/// `exit(status)`: ends the calling thread (the process with its last).
pub fn exit(status: u64) -> ! {
    task::exit_linux_thread((status & 0xff) as i32)
}

/// `set_tid_address(addr)`: at the thread's exit, 0 is stored at `addr`
/// and a futex waiter there woken; returns the thread's id. EFAULT (where
/// Linux would store it and fail silently later) for an address outside
/// the user half.
pub fn set_tid_address(addr: u64) -> SysResult {
    if addr >= USER_END {
        return Err(Errno::EFAULT);
    }
    let mut g = SCHED.lock();
    let tid = g.current_tid();
    if let Some(t) = g.current_linux_thread() {
        t.clear_child_tid = addr;
    }
    Ok(u64::from(tid))
}

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// Whether futex operation `op` with timeout argument `timeout` is a wait
/// without a timeout (which SA_RESTART restarts after a handler).
pub fn is_untimed_wait(op: u64, timeout: u64) -> bool {
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && timeout == 0
}

/// A futex word's address: EINVAL unless 4-byte aligned, EFAULT outside
/// the user half.
fn futex_addr(addr: u64) -> Result<u64, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    UserPtr::<u32>::new(addr)?;
    Ok(addr)
}

/// A `struct timespec` argument: EFAULT, or EINVAL for a negative time or
/// nanoseconds out of range.
pub fn timespec_arg(addr: u64) -> Result<Timespec, Errno> {
    let ts = UserPtr::<Timespec>::new(addr)?.read(SCHED.lock().current_space())?;
    if ts.tv_sec < 0 || !(0..NANOS as i64).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

/// A timespec as nanoseconds (saturating: a time too far away is never).
pub fn nanos(ts: Timespec) -> u64 {
    (ts.tv_sec as u64)
        .saturating_mul(NANOS)
        .saturating_add(ts.tv_nsec as u64)
}

/// `futex(addr, op, val, timeout | val2, addr2, val3)`: FUTEX_WAIT (a
/// relative timeout, CLOCK_MONOTONIC), FUTEX_WAIT_BITSET (an absolute one,
/// CLOCK_MONOTONIC or with FUTEX_CLOCK_REALTIME real time), FUTEX_WAKE,
/// FUTEX_WAKE_BITSET, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE. A futex is its
/// process's own, but for one without FUTEX_PRIVATE_FLAG in a shared
/// mapping, which every process mapping the page shares (`Sched::futex_key`).
/// Timeouts end at a timer tick (10 ms), never before the time asked.
pub fn futex(a: [u64; 6]) -> SysResult {
    let [addr, op, val, timeout, addr2, val3] = a;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    if realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT {
        return Err(Errno::ENOSYS);
    }
    let addr = futex_addr(addr)?;
    let val = val as u32;
    let bitset = match cmd {
        FUTEX_WAIT_BITSET | FUTEX_WAKE_BITSET if val3 as u32 == 0 => return Err(Errno::EINVAL),
        FUTEX_WAIT_BITSET | FUTEX_WAKE_BITSET => val3 as u32,
        _ => u32::MAX,
    };
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = match timeout {
                0 => None,
                t => Some(timespec_arg(t)?),
            };
            let mut g = SCHED.lock();
            let key = g.futex_key(addr, private)?;
            let word = UserPtr::<u32>::new(addr)?.read(g.current_space())?;
            if word != val {
                return Err(Errno::EAGAIN);
            }
            let tick = deadline.map(|ts| {
                let ns = nanos(ts);
                let mono = match (cmd, realtime) {
                    (FUTEX_WAIT, _) => g.monotonic_ns().saturating_add(ns),
                    (_, true) => ns.saturating_sub(g.clock_epoch()),
                    _ => ns,
                };
                g.tick_at(mono)
            });
            task::futex_wait(g, key, bitset, tick)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let mut g = SCHED.lock();
            let key = g.futex_key(addr, private)?;
            Ok(g.futex_wake(key, val as i32, bitset) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let to = futex_addr(addr2)?;
            let mut g = SCHED.lock();
            let (from, to) = (g.futex_key(addr, private)?, g.futex_key(to, private)?);
            if cmd == FUTEX_CMP_REQUEUE {
                let word = UserPtr::<u32>::new(addr)?.read(g.current_space())?;
                if word != val3 as u32 {
                    return Err(Errno::EAGAIN);
                }
            }
            let requeue = u32::try_from(timeout as i32).map_err(|_| Errno::EINVAL)?;
            Ok(g.futex_requeue(from, to, val as i32, requeue) as u64)
        }
        _ => Err(Errno::ENOSYS),
    }
}

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

/// `arch_prctl(code, addr)`: ARCH_SET_FS (EPERM outside the user half, as
/// Linux) and ARCH_GET_FS; the GS base and the rest are EINVAL.
pub fn arch_prctl(code: u64, addr: u64) -> SysResult {
    match code {
        ARCH_SET_FS if addr >= USER_END => Err(Errno::EPERM),
        ARCH_SET_FS => {
            SCHED.lock().set_fs_base(addr);
            Ok(0)
        }
        ARCH_GET_FS => {
            let mut g = SCHED.lock();
            let base = g.fs_base();
            UserPtr::<u64>::new(addr)?.write(g.current_space(), &base)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_getaffinity(tid, size, mask)`: one CPU. `tid` 0 or a thread of
/// the calling process (ESRCH otherwise); EINVAL when `size` is smaller
/// than a mask word or not a multiple of one. Returns the bytes written.
pub fn sched_getaffinity(tid: u64, size: u64, mask: u64) -> SysResult {
    if size < 8 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let tid = int_arg(tid);
    if tid != 0 && !u32::try_from(tid).is_ok_and(|t| g.is_thread_of(t, pid)) {
        return Err(Errno::ESRCH);
    }
    UserPtr::<u64>::new(mask)?.write(g.current_space(), &1)?;
    Ok(8)
}

/// `wait4(pid, status, options, rusage)`: the native call's handler
/// (`syscall::process`), with `rusage` (the child's CPU time) if asked
/// for.
pub fn wait4(pid: u64, status: u64, options: u64, rusage: u64) -> SysResult {
    let options = u32::try_from(options).map_err(|_| Errno::EINVAL)?;
    process::wait4(int_arg(pid), status, options, rusage)
}
