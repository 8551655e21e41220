//! Time: `clock_gettime` and `clock_getres` (real time from the CMOS clock
//! at boot, monotonic time from the timer with the TSC between ticks),
//! `gettimeofday`, `time`, and sleeping (`nanosleep`, `clock_nanosleep`),
//! which ends at the first timer tick (10 ms) at or after the time asked,
//! never before, unless a signal to handle cuts it short (EINTR, with the
//! time left for a relative sleep). Per-process and per-thread CPU-time clocks are not kept
//! (EINVAL).

use super::SysResult;
use super::thread::{nanos, timespec_arg};
use crate::mem::user::UserPtr;
use crate::task::{self, SCHED, Sched};
use abi::Errno;
use abi::fs::Timespec;
use abi::linux::Timeval;
use kernel::clock::NANOS;

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const CLOCK_TAI: u64 = 11;
const TIMER_ABSTIME: u64 = 1;

/// The clocks there are: real time (and TAI, which is the same here) or
/// monotonic (boot time too: nothing is suspended here).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Real,
    Monotonic,
}

fn clock_arg(id: u64) -> Result<Clock, Errno> {
    match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => Ok(Clock::Real),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(Clock::Monotonic)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn now(g: &mut Sched, clock: Clock) -> u64 {
    match clock {
        Clock::Real => g.realtime_ns(),
        Clock::Monotonic => g.monotonic_ns(),
    }
}

fn timespec(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NANOS) as i64,
        tv_nsec: (ns % NANOS) as i64,
    }
}

/// `clock_gettime(clock, ts)`.
pub fn clock_gettime(id: u64, ts: u64) -> SysResult {
    let clock = clock_arg(id)?;
    let mut g = SCHED.lock();
    let value = timespec(now(&mut g, clock));
    UserPtr::<Timespec>::new(ts)?.write(g.current_space(), &value)?;
    Ok(0)
}

/// `clock_getres(clock, res)`: 1 ns for the fine clocks (the TSC's
/// resolution is finer), one tick for the coarse ones.
pub fn clock_getres(id: u64, res: u64) -> SysResult {
    clock_arg(id)?;
    if res == 0 {
        return Ok(0);
    }
    let ns = match id {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => NANOS / u64::from(crate::arch::timer::HZ),
        _ => 1,
    };
    UserPtr::<Timespec>::new(res)?.write(SCHED.lock().current_space(), &timespec(ns))?;
    Ok(0)
}

/// `gettimeofday(tv, tz)`: the time zone, if asked for, is UTC.
pub fn gettimeofday(tv: u64, tz: u64) -> SysResult {
    let mut g = SCHED.lock();
    let ns = g.realtime_ns();
    let space = g.current_space();
    if tz != 0 {
        UserPtr::<u64>::new(tz)?.write(space, &0)?;
    }
    if tv != 0 {
        let value = Timeval {
            tv_sec: (ns / NANOS) as i64,
            tv_usec: (ns % NANOS / 1000) as i64,
        };
        UserPtr::<Timeval>::new(tv)?.write(space, &value)?;
    }
    Ok(0)
}

/// `time(t)`: seconds since 1970, also stored at `t` if given.
pub fn time(t: u64) -> SysResult {
    let mut g = SCHED.lock();
    let seconds = g.realtime_ns() / NANOS;
    if t != 0 {
        UserPtr::<u64>::new(t)?.write(g.current_space(), &seconds)?;
    }
    Ok(seconds)
}

/// Sleeps until monotonic time `deadline`: EINTR if a signal to handle
/// comes first, with the time left stored at `rem` if not 0 (EFAULT if it
/// cannot be).
fn sleep_until(deadline: u64, rem: u64) -> SysResult {
    let tick = SCHED.lock().tick_at(deadline);
    if task::sleep_until(tick) {
        return Ok(0);
    }
    if rem != 0 {
        let mut g = SCHED.lock();
        let left = timespec(deadline.saturating_sub(g.monotonic_ns()));
        UserPtr::<Timespec>::new(rem)?.write(g.current_space(), &left)?;
    }
    Err(Errno::EINTR)
}

/// `nanosleep(req, rem)`.
pub fn nanosleep(req: u64, rem: u64) -> SysResult {
    let ns = nanos(timespec_arg(req)?);
    let deadline = SCHED.lock().monotonic_ns().saturating_add(ns);
    sleep_until(deadline, rem)
}

/// `clock_nanosleep(clock, flags, req, rem)`: relative, or absolute with
/// TIMER_ABSTIME (on the real-time clock: until it reads `req`; `rem` is
/// not written then).
pub fn clock_nanosleep(id: u64, flags: u64, req: u64, rem: u64) -> SysResult {
    let clock = clock_arg(id)?;
    if flags & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let ns = nanos(timespec_arg(req)?);
    let mut g = SCHED.lock();
    let (deadline, rem) = match (flags & TIMER_ABSTIME != 0, clock) {
        (false, _) => (g.monotonic_ns().saturating_add(ns), rem),
        (true, Clock::Monotonic) => (ns, 0),
        (true, Clock::Real) => (ns.saturating_sub(g.clock_epoch()), 0),
    };
    drop(g);
    sleep_until(deadline, rem)
}
