//! Waiting for descriptors: `poll`, `ppoll`, `select` and `pselect6`
//! (decoding and `fd_set` bitmaps: `kernel::linux::select`). Files,
//! directories and devices are always ready (as Linux says of regular
//! files); a pipe or FIFO as its contents and ends say, a socket as its two
//! directions say (`kernel::socket::Stream::readiness`); a door never
//! (nothing to read or write). With nothing ready a call looks again at every timer
//! tick until its timeout passes, or a signal to handle comes (EINTR; never
//! restarted). `ppoll` and `pselect6` wait with the signal mask they are
//! given, as `rt_sigsuspend` does: interrupted, the handler runs with the
//! thread's own mask saved in its frame; otherwise the own mask comes back
//! before the call returns, so a signal it blocks stays pending.

use super::SysResult;
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::{self, SCHED};
use abi::Errno;
use abi::fs::Timespec;
use abi::linux::Timeval;
use kernel::cap::Capability;
use kernel::fifo::Access;
use kernel::linux::select::{
    self, FdSets, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM,
};
use kernel::linux::signal::{SIGSET_SIZE, settable_mask};

/// Most entries of one `poll`.
const POLL_MAX: u64 = 4096;

/// What `poll` reports of `fd` for `events` (POLLNVAL if it is not open).
fn revents(fd: i32, events: i16) -> i16 {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let (readable, writable, extra) = match g.objects().cap(pid, fd) {
        Err(_) => return POLLNVAL,
        Ok(Capability::Door(_)) => (false, false, 0),
        Ok(Capability::Pipe(id, end)) => {
            let r = g.objects().caps.pipes.readiness(id);
            match end {
                kernel::pipe::End::Read => (r.readable, false, if r.hangup { POLLHUP } else { 0 }),
                kernel::pipe::End::Write => (false, r.writable, if r.broken { POLLERR } else { 0 }),
            }
        }
        Ok(Capability::Socket(end)) => {
            let r = end.readiness(&g.objects().caps.pipes);
            (r.readable, r.writable, if r.hangup { POLLHUP } else { 0 })
        }
        Ok(Capability::Fifo(ofd, access)) => {
            let caps = &g.objects().caps;
            let r = caps.pipes.readiness(caps.fifo(ofd, access).pipe);
            match access {
                Access::Read => (r.readable, false, if r.hangup { POLLHUP } else { 0 }),
                Access::Write => (false, r.writable, if r.broken { POLLERR } else { 0 }),
                Access::Both => (r.readable, r.writable, 0),
            }
        }
        Ok(_) => (true, true, 0),
    };
    let mut ready = extra;
    if readable {
        ready |= events & (POLLIN | POLLRDNORM);
    }
    if writable {
        ready |= events & (POLLOUT | POLLWRNORM);
    }
    ready
}

/// When a wait gives up.
#[derive(Clone, Copy)]
enum Until {
    /// Never (no timeout).
    Forever,
    /// After one look (a zero timeout).
    Now,
    /// At timer tick `tick`, the first at or after monotonic time `ns`.
    Tick { tick: u64, ns: u64 },
}

impl Until {
    /// A timeout of `ns` from now (`None`: none).
    fn after(ns: Option<u64>) -> Until {
        match ns {
            None => Until::Forever,
            Some(0) => Until::Now,
            Some(ns) => {
                let mut g = SCHED.lock();
                let ns = g.monotonic_ns().saturating_add(ns);
                Until::Tick {
                    tick: g.tick_at(ns),
                    ns,
                }
            }
        }
    }

    /// The time left, for a timeout that is neither none nor zero (what
    /// Linux writes back).
    fn left(self) -> Option<u64> {
        let Until::Tick { tick, ns } = self else {
            return None;
        };
        let mut g = SCHED.lock();
        Some(match g.ticks() >= tick {
            true => 0,
            false => ns.saturating_sub(g.monotonic_ns()),
        })
    }
}

/// Calls `look` (told whether it is the first look), which returns how
/// many descriptors are ready, until one is or `until` says; EINTR if a
/// signal to handle comes first.
fn wait_ready(until: Until, mut look: impl FnMut(bool) -> SysResult) -> SysResult {
    let mut first = true;
    loop {
        let ready = look(first)?;
        first = false;
        let g = SCHED.lock();
        let over = match until {
            Until::Forever => false,
            Until::Now => true,
            Until::Tick { tick, .. } => g.ticks() >= tick,
        };
        if ready > 0 || over {
            return Ok(ready);
        }
        let next = g.ticks() + 1;
        drop(g);
        if !task::sleep_until(next) {
            return Err(Errno::EINTR);
        }
    }
}

/// `poll`'s or `ppoll`'s array of `count` `struct pollfd` at `fds`:
/// EINVAL beyond `POLL_MAX` entries, EFAULT unless it can be written.
fn pollfds(fds: u64, count: u64) -> Result<UserSlice<u8>, Errno> {
    if count > POLL_MAX {
        return Err(Errno::EINVAL);
    }
    let list = UserSlice::<u8>::new(fds, count * 8)?;
    list.check(SCHED.lock().current_space(), true)?;
    Ok(list)
}

/// Waits until an entry of `list` is ready, writing every entry's
/// `revents` at each look.
fn poll_list(list: UserSlice<u8>, until: Until) -> SysResult {
    wait_ready(until, |_| {
        let mut bytes = list.read_all(SCHED.lock().current_space())?;
        let mut ready = 0;
        for entry in bytes.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = i16::from_le_bytes([entry[4], entry[5]]);
            let got = if fd < 0 { 0 } else { revents(fd, events) };
            ready += u64::from(got != 0);
            entry[6..8].copy_from_slice(&got.to_le_bytes());
        }
        list.write_bytes(SCHED.lock().current_space(), &bytes)?;
        Ok(ready)
    })
}

/// `poll(fds, n, timeout)`: `timeout` in milliseconds, negative: none.
pub fn poll(fds: u64, count: u64, timeout: i32) -> SysResult {
    let list = pollfds(fds, count)?;
    let ms = u64::try_from(timeout).ok();
    poll_list(list, Until::after(ms.map(|ms| ms * 1_000_000)))
}

/// A timeout argument of `ppoll` or `pselect6`: `None` for a null pointer.
fn timespec_arg(addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = UserPtr::<Timespec>::new(addr)?.read(SCHED.lock().current_space())?;
    select::timespec_ns(ts).map(Some)
}

/// Writes the time left at `addr` for a timeout that is neither none nor
/// zero, as Linux does; a pointer that cannot be written is ignored (the
/// wait is over: Linux ignores it too).
fn write_left<T: abi::Wire>(addr: u64, until: Until, encode: fn(u64) -> T) {
    if let Some(left) = until.left()
        && let Ok(ptr) = UserPtr::<T>::new(addr)
    {
        let _ = ptr.write(SCHED.lock().current_space(), &encode(left));
    }
}

/// A signal mask argument of `ppoll` or `pselect6` (`None`: a null
/// pointer, the mask stays): EINVAL for a size other than a `sigset_t`'s.
fn sigmask_arg(addr: u64, size: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = UserPtr::<u64>::new(addr)?.read(SCHED.lock().current_space())?;
    Ok(Some(mask))
}

/// Runs `wait` with `mask` (if any) as the running thread's signal mask:
/// the thread's own comes back unless the wait was interrupted (then the
/// handler's frame holds it and `task::deliver_signals` puts it back).
fn with_mask(mask: Option<u64>, wait: impl FnOnce() -> SysResult) -> SysResult {
    let Some(mask) = mask else {
        return wait();
    };
    {
        let mut g = SCHED.lock();
        let signals = &mut g.current_linux_thread().ok_or(Errno::ENOSYS)?.signals;
        signals.saved_mask = Some(signals.mask);
        signals.mask = settable_mask(mask);
    }
    let result = wait();
    if result != Err(Errno::EINTR) {
        let mut g = SCHED.lock();
        if let Some(thread) = g.current_linux_thread()
            && let Some(own) = thread.signals.saved_mask.take()
        {
            thread.signals.mask = own;
        }
    }
    result
}

/// `ppoll(fds, n, timeout, sigmask, sigsetsize)`: `poll` with a `timespec`
/// timeout (its time left written back) and a mask for the wait.
pub fn ppoll(fds: u64, count: u64, timeout: u64, sigmask: u64, size: u64) -> SysResult {
    let ns = timespec_arg(timeout)?;
    let mask = sigmask_arg(sigmask, size)?;
    let list = pollfds(fds, count)?;
    let until = Until::after(ns);
    let result = with_mask(mask, || poll_list(list, until));
    write_left(timeout, until, select::timespec_of);
    result
}

/// `select`'s descriptor sets, as read, and where to write them back.
struct Sets {
    sets: FdSets,
    out: [Option<UserSlice<u8>>; 3],
}

impl Sets {
    /// The sets of `nfds` descriptors at `ptrs` (read, write, except; 0: none):
    /// EINVAL for a bad `nfds`, EFAULT for a set that cannot be read and
    /// written.
    fn new(nfds: u64, ptrs: [u64; 3]) -> Result<Sets, Errno> {
        let nfds = select::nfds_arg(nfds as i32)?;
        let bytes = select::set_bytes(nfds);
        let mut out = [None; 3];
        let mut read = [None, None, None];
        let mut g = SCHED.lock();
        let space = g.current_space();
        for (i, &addr) in ptrs.iter().enumerate().filter(|(_, a)| **a != 0) {
            let slice = UserSlice::<u8>::new(addr, bytes)?;
            slice.check(space, true)?;
            read[i] = Some(slice.read_all(space)?);
            out[i] = Some(slice);
        }
        let sets = FdSets::new(nfds, read).ok_or(Errno::EFAULT)?;
        Ok(Sets { sets, out })
    }

    /// Waits until a descriptor of the sets is ready as they ask, then
    /// writes the answer back: EBADF if one is not open at the first look
    /// (one closed meanwhile is not ready).
    fn wait(&self, until: Until) -> SysResult {
        let wanted = self.sets.wanted();
        let mut answer = None;
        let count = wait_ready(until, |first| {
            let mut got = alloc::vec::Vec::with_capacity(wanted.len());
            for &(fd, events) in &wanted {
                match revents(fd, events) {
                    POLLNVAL if first => return Err(Errno::EBADF),
                    POLLNVAL => got.push((fd, 0)),
                    ready => got.push((fd, ready)),
                }
            }
            let (count, sets) = self.sets.answer(&got);
            answer = Some(sets);
            Ok(count)
        })?;
        let mut g = SCHED.lock();
        let space = g.current_space();
        for (slice, set) in self.out.iter().zip(answer.into_iter().flatten()) {
            if let (Some(slice), Some(set)) = (slice, set) {
                slice.write_bytes(space, &set)?;
            }
        }
        Ok(count)
    }
}

/// `select(nfds, readfds, writefds, exceptfds, timeout)`: the time left is
/// written back to `timeout`, as Linux does.
pub fn select(a: [u64; 6]) -> SysResult {
    let [nfds, read, write, except, timeout, _] = a;
    let ns = match timeout {
        0 => None,
        addr => {
            let tv = UserPtr::<Timeval>::new(addr)?.read(SCHED.lock().current_space())?;
            Some(select::timeval_ns(tv)?)
        }
    };
    let until = Until::after(ns);
    let result = Sets::new(nfds, [read, write, except]).and_then(|sets| sets.wait(until));
    write_left(timeout, until, select::timeval_of);
    result
}

/// `pselect6(nfds, readfds, writefds, exceptfds, timeout, sigpack)`:
/// `select` with a `timespec` timeout (its time left written back) and, if
/// `sigpack` (a `{ const sigset_t *mask; size_t size; }`) names one, a mask
/// for the wait.
pub fn pselect6(a: [u64; 6]) -> SysResult {
    let [nfds, read, write, except, timeout, sigpack] = a;
    let ns = timespec_arg(timeout)?;
    let mask = match sigpack {
        0 => None,
        addr => {
            let pack = UserSlice::<u64>::new(addr, 2)?.read_all(SCHED.lock().current_space())?;
            sigmask_arg(pack[0], pack[1])?
        }
    };
    let until = Until::after(ns);
    let result = Sets::new(nfds, [read, write, except])
        .and_then(|sets| with_mask(mask, || sets.wait(until)));
    write_left(timeout, until, select::timespec_of);
    result
}
