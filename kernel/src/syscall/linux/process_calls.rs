//! Processes as C libraries make them: `fork` (and `vfork`, as a fork:
//! POSIX allows it, and the parent need not wait when the child has its
//! own copy), `execve` with NULL-ended arrays of argument and environment
//! strings, and `alarm` with `setitimer`'s real-time timer (what musl's
//! `alarm` calls). Each decodes Linux's arguments and hands them to the
//! native calls' handlers (`syscall::process`) or the scheduler.

use super::{SysResult, path_arg, process};
use crate::arch::timer::HZ;
use crate::arch::traps::TrapFrame;
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::SCHED;
use abi::linux::Timeval;
use abi::{Errno, MAX_ARGS, MAX_ARGS_BYTES};
use alloc::vec::Vec;

/// `fork()` / `vfork()`.
pub fn fork(frame: &TrapFrame) -> SysResult {
    process::fork(frame)
}

/// `execve(path, argv, envp)`: the arrays may be NULL (no strings, as Linux
/// allows). E2BIG beyond [`MAX_ARGS`] strings or [`MAX_ARGS_BYTES`] bytes
/// (with their NULs) in either array.
pub fn execve(path: u64, argv: u64, envp: u64, frame: &mut TrapFrame) -> SysResult {
    let path = path_arg(path)?;
    let args = strings(argv)?;
    let env = strings(envp)?;
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let env: Vec<&[u8]> = env.iter().map(Vec::as_slice).collect();
    process::execve(&path, &args, &env, frame)
}

/// `alarm(seconds)` (an `unsigned int`).
pub fn alarm(seconds: u64) -> SysResult {
    process::alarm(u64::from(seconds as u32))
}

/// `setitimer` of the real-time timer.
const ITIMER_REAL: u64 = 0;
const MICROS: u64 = 1_000_000;

/// `setitimer(ITIMER_REAL, new, old)`: the process's alarm, to the timer
/// tick (SIGALRM at expiry, as `alarm`). The other timers, and a periodic
/// one (a non-zero `it_interval`), are not supported: EINVAL. `old` (if
/// not NULL) gets what the previous alarm had left. Errors: EINVAL,
/// EFAULT.
pub fn setitimer(which: u64, new: u64, old: u64) -> SysResult {
    if which != ITIMER_REAL {
        super::log_unsupported("setitimer of a timer other than ITIMER_REAL");
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let space = g.current_space();
    // `struct itimerval`: the interval, then the value.
    let [interval, value] = match new {
        0 => [Timeval::default(); 2],
        addr => {
            let both = UserSlice::<Timeval>::new(addr, 2)?.read_all(space)?;
            [both[0], both[1]]
        }
    };
    let out = match old {
        0 => None,
        addr => {
            let out = UserSlice::<Timeval>::new(addr, 2)?;
            out.check(space, true)?;
            Some(out)
        }
    };
    let valid = |t: Timeval| t.tv_sec >= 0 && (0..MICROS as i64).contains(&t.tv_usec);
    if !valid(interval) || !valid(value) {
        return Err(Errno::EINVAL);
    }
    if interval != Timeval::default() {
        drop(g);
        super::log_unsupported("a periodic setitimer");
        return Err(Errno::EINVAL);
    }
    let tick = MICROS / u64::from(HZ);
    let micros = (value.tv_sec as u64)
        .saturating_mul(MICROS)
        .saturating_add(value.tv_usec as u64);
    let left = g.set_alarm_ticks(micros.div_ceil(tick)).unwrap_or(0);
    if let Some(out) = out {
        let left = left * tick;
        let value = Timeval {
            tv_sec: (left / MICROS) as i64,
            tv_usec: (left % MICROS) as i64,
        };
        out.write_all(g.current_space(), &[Timeval::default(), value])?;
    }
    Ok(0)
}

/// The strings of the NULL-ended array of `char *` at `array` (none for a
/// NULL array).
fn strings(array: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut strings = Vec::new();
    if array == 0 {
        return Ok(strings);
    }
    let mut budget = MAX_ARGS_BYTES;
    for i in 0u64.. {
        let at = array.checked_add(i * 8).ok_or(Errno::EFAULT)?;
        let ptr = UserPtr::<u64>::new(at)?.read(SCHED.lock().current_space())?;
        if ptr == 0 {
            break;
        }
        if strings.len() == MAX_ARGS {
            return Err(Errno::E2BIG);
        }
        let s = c_string(ptr, budget)?;
        budget -= s.len() + 1;
        strings.push(s);
    }
    Ok(strings)
}

/// The NUL-ended string at `addr`, without its NUL, if it fits in
/// `budget` bytes with it (E2BIG if not). Read a page at a time.
fn c_string(addr: u64, budget: usize) -> Result<Vec<u8>, Errno> {
    let mut s = Vec::new();
    let mut at = addr;
    while s.len() < budget {
        let chunk = (4096 - at % 4096).min((budget - s.len()) as u64);
        let bytes = UserSlice::<u8>::new(at, chunk)?.read_all(SCHED.lock().current_space())?;
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            s.extend_from_slice(&bytes[..end]);
            return Ok(s);
        }
        s.extend_from_slice(&bytes);
        at += chunk;
    }
    Err(Errno::E2BIG)
}
