//! Time: `clock_gettime` and `clock_getres` (real time from the CMOS clock
//! at boot, monotonic time from the timer with the TSC between ticks),
//! `gettimeofday`, `time`, and sleeping (`nanosleep`, `clock_nanosleep`),
//! which ends at the first timer tick (10 ms) at or after the time asked,
//! never before, unless a signal to handle cuts it short (EINTR, with the
//! time left for a relative sleep). CPU time (`CLOCK_PROCESS_CPUTIME_ID`,
//! `CLOCK_THREAD_CPUTIME_ID`, `getrusage`, `times`) is sampled: each timer
//! tick is charged to the thread it finds running, so it counts in whole
//! ticks (10 ms), all of it user time; another process's or thread's CPU
//! clock (a negative clock id) is EINVAL.

use super::super::process::{RUSAGE_SIZE, TICK_NS, rusage_of};
use super::SysResult;
use super::thread::{nanos, timespec_arg};
use crate::mem::user::{UserPtr, UserSlice};
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
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_TAI: u64 = 11;
const TIMER_ABSTIME: u64 = 1;
const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

/// The clocks there are: real time (and TAI, which is the same here),
/// monotonic (boot time too: nothing is suspended here), and the calling
/// process's and thread's CPU time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Real,
    Monotonic,
    ProcessCpu,
    ThreadCpu,
}

fn clock_arg(id: u64) -> Result<Clock, Errno> {
    match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => Ok(Clock::Real),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(Clock::Monotonic)
        }
        CLOCK_PROCESS_CPUTIME_ID => Ok(Clock::ProcessCpu),
        CLOCK_THREAD_CPUTIME_ID => Ok(Clock::ThreadCpu),
        _ => Err(Errno::EINVAL),
    }
}

fn now(g: &mut Sched, clock: Clock) -> u64 {
    let (thread, process) = g.cpu_ticks();
    match clock {
        Clock::Real => g.realtime_ns(),
        Clock::Monotonic => g.monotonic_ns(),
        Clock::ProcessCpu => process.own * TICK_NS,
        Clock::ThreadCpu => thread * TICK_NS,
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
/// resolution is finer), one tick for the coarse ones and CPU time.
pub fn clock_getres(id: u64, res: u64) -> SysResult {
    let clock = clock_arg(id)?;
    if res == 0 {
        return Ok(0);
    }
    let coarse = matches!(id, CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE);
    let ns = match coarse || matches!(clock, Clock::ProcessCpu | Clock::ThreadCpu) {
        true => TICK_NS,
        false => 1,
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
/// not written then). Not on a CPU-time clock: EINVAL for the thread's
/// (as Linux), ENOTSUP for the process's (Linux's sleeps until the
/// process has run that long; not here).
pub fn clock_nanosleep(id: u64, flags: u64, req: u64, rem: u64) -> SysResult {
    let clock = clock_arg(id)?;
    match clock {
        Clock::ThreadCpu => return Err(Errno::EINVAL),
        Clock::ProcessCpu => return Err(Errno::ENOTSUP),
        Clock::Real | Clock::Monotonic => {}
    }
    if flags & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let ns = nanos(timespec_arg(req)?);
    let mut g = SCHED.lock();
    let (deadline, rem) = match (flags & TIMER_ABSTIME != 0, clock) {
        (false, _) => (g.monotonic_ns().saturating_add(ns), rem),
        (true, Clock::Real) => (ns.saturating_sub(g.clock_epoch()), 0),
        (true, _) => (ns, 0),
    };
    drop(g);
    sleep_until(deadline, rem)
}

/// `getrusage(who, usage)`: RUSAGE_SELF (the process), RUSAGE_THREAD or
/// RUSAGE_CHILDREN (the children it has reaped, with theirs); EINVAL for
/// another `who`.
pub fn getrusage(who: u64, usage: u64) -> SysResult {
    let mut g = SCHED.lock();
    let (thread, process) = g.cpu_ticks();
    let ticks = match who as i32 {
        RUSAGE_SELF => process.own,
        RUSAGE_THREAD => thread,
        RUSAGE_CHILDREN => process.children,
        _ => return Err(Errno::EINVAL),
    };
    let out = UserSlice::<u8>::new(usage, RUSAGE_SIZE)?;
    out.write_bytes(g.current_space(), &rusage_of(ticks))?;
    Ok(0)
}

/// `times(buf)`: the process's CPU time and its reaped children's in
/// clock ticks (`sysconf(_SC_CLK_TCK)` is 100, the timer's rate: all of it
/// user time), stored at `buf` if not NULL; returns the ticks since boot.
pub fn times(buf: u64) -> SysResult {
    let mut g = SCHED.lock();
    let (_, process) = g.cpu_ticks();
    if buf != 0 {
        let tms = [process.own, 0, process.children, 0];
        UserSlice::<u64>::new(buf, 4)?.write_all(g.current_space(), &tms)?;
    }
    Ok(g.ticks())
}
