//! `select`, `pselect6` and `ppoll`'s decoding (the kernel image's
//! `syscall::linux::poll` waits): `fd_set` bitmaps, what a descriptor's
//! `poll` events mean to `select`, and the timeouts, with Linux's rules.
//!
//! An `fd_set` is an array of 64-bit words, descriptor `fd` being bit
//! `fd % 64` of word `fd / 64`; a call reads (and writes back) the words
//! that hold the first `nfds` bits, and the answer clears every other bit
//! of them. `select`'s three sets ask whether a descriptor is readable,
//! writable or has an exceptional condition, as Linux maps `poll`'s
//! events: readable is POLLIN, POLLRDNORM, POLLHUP or POLLERR; writable
//! POLLOUT, POLLWRNORM or POLLERR; exceptional POLLPRI (which nothing
//! here reports). The count returned is the number of bits set in all
//! three answers.

use abi::Errno;
use abi::fs::Timespec;
use abi::linux::Timeval;
use alloc::vec;
use alloc::vec::Vec;

pub const POLLIN: i16 = 0x1;
pub const POLLPRI: i16 = 0x2;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
pub const POLLNVAL: i16 = 0x20;
pub const POLLRDNORM: i16 = 0x40;
pub const POLLWRNORM: i16 = 0x100;

/// Bits of an `fd_set`: `select`'s largest `nfds`.
pub const FD_SETSIZE: u64 = 1024;

const NANOS: i64 = 1_000_000_000;
const MICROS: i64 = 1_000_000;

/// `select`'s `nfds`: EINVAL if negative or beyond `FD_SETSIZE` (Linux
/// takes a larger one up to its table's size: C libraries' `fd_set` has
/// `FD_SETSIZE` bits).
pub fn nfds_arg(nfds: i32) -> Result<u64, Errno> {
    u64::try_from(nfds)
        .ok()
        .filter(|&n| n <= FD_SETSIZE)
        .ok_or(Errno::EINVAL)
}

/// Bytes of each `fd_set` a `select` of `nfds` descriptors reads and writes.
pub const fn set_bytes(nfds: u64) -> u64 {
    nfds.div_ceil(64) * 8
}

/// Which of `select`'s sets: read, write, except.
const SETS: usize = 3;

/// A descriptor's `poll` events (`revents`) as `select` reads them:
/// readable, writable, exceptional.
pub const fn select_bits(revents: i16) -> [bool; SETS] {
    [
        revents & (POLLIN | POLLRDNORM | POLLHUP | POLLERR) != 0,
        revents & (POLLOUT | POLLWRNORM | POLLERR) != 0,
        revents & POLLPRI != 0,
    ]
}

/// The three sets of a `select` of `nfds` descriptors (`None`: a null
/// pointer), each `set_bytes(nfds)` bytes.
pub struct FdSets {
    nfds: u64,
    sets: [Option<Vec<u8>>; SETS],
}

impl FdSets {
    /// The sets as read; `None` if one is not `set_bytes(nfds)` long.
    pub fn new(nfds: u64, sets: [Option<Vec<u8>>; SETS]) -> Option<FdSets> {
        let bytes = set_bytes(nfds) as usize;
        if sets.iter().flatten().any(|s| s.len() != bytes) {
            return None;
        }
        Some(FdSets { nfds, sets })
    }

    /// Whether bit `fd` is set in `set`.
    fn has(set: &[u8], fd: u64) -> bool {
        set[(fd / 8) as usize] & (1 << (fd % 8)) != 0
    }

    /// The descriptors below `nfds` that some set names, and the events
    /// `poll` should report of them, in order.
    pub fn wanted(&self) -> Vec<(i32, i16)> {
        let events = [POLLIN | POLLRDNORM, POLLOUT | POLLWRNORM, POLLPRI];
        (0..self.nfds)
            .filter_map(|fd| {
                let asked = self
                    .sets
                    .iter()
                    .zip(events)
                    .filter(|(set, _)| set.as_deref().is_some_and(|s| Self::has(s, fd)))
                    .fold(0, |all, (_, e)| all | e);
                (asked != 0).then_some((fd as i32, asked))
            })
            .collect()
    }

    /// The answer to the sets, given each wanted descriptor's `revents`
    /// (from [`FdSets::wanted`]'s list, in its order): the number of bits
    /// set, and the sets to write back (a bit set where it was asked and
    /// is ready; every other bit clear).
    pub fn answer(&self, revents: &[(i32, i16)]) -> (u64, [Option<Vec<u8>>; SETS]) {
        let bytes = set_bytes(self.nfds) as usize;
        let mut out: [Option<Vec<u8>>; SETS] =
            core::array::from_fn(|i| self.sets[i].as_ref().map(|_| vec![0; bytes]));
        let mut count = 0;
        for &(fd, got) in revents {
            let fd = fd as u64;
            for (i, ready) in select_bits(got).into_iter().enumerate() {
                let asked = self.sets[i].as_deref().is_some_and(|s| Self::has(s, fd));
                if let Some(set) = out[i].as_mut().filter(|_| ready && asked) {
                    set[(fd / 8) as usize] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
        (count, out)
    }
}

/// `select`'s timeout as nanoseconds, as Linux reads a `timeval`:
/// microseconds beyond a second count as seconds; EINVAL if the time is
/// negative (or out of range).
pub fn timeval_ns(tv: Timeval) -> Result<u64, Errno> {
    let sec = tv.tv_sec.checked_add(tv.tv_usec / MICROS);
    let nsec = tv.tv_usec % MICROS * 1000;
    timespec_ns(Timespec {
        tv_sec: sec.ok_or(Errno::EINVAL)?,
        tv_nsec: nsec,
    })
}

/// A `pselect6`/`ppoll` timeout as nanoseconds (saturating: a time too far
/// away is never): EINVAL for a negative time or nanoseconds out of range.
pub fn timespec_ns(ts: Timespec) -> Result<u64, Errno> {
    if ts.tv_sec < 0 || !(0..NANOS).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(NANOS as u64)
        .saturating_add(ts.tv_nsec as u64))
}

/// The time left, `ns`, as a `timespec`.
pub const fn timespec_of(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / NANOS as u64) as i64,
        tv_nsec: (ns % NANOS as u64) as i64,
    }
}

/// The time left, `ns`, as a `timeval` (whole microseconds, rounded down).
pub const fn timeval_of(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / NANOS as u64) as i64,
        tv_usec: (ns % NANOS as u64 / 1000) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set_of(nfds: u64, fds: &[u64]) -> Vec<u8> {
        let mut words = vec![0u64; set_bytes(nfds) as usize / 8];
        for &fd in fds {
            words[(fd / 64) as usize] |= 1 << (fd % 64);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn nfds_is_0_to_fd_setsize_and_sets_are_whole_words() {
        assert_eq!(nfds_arg(0), Ok(0));
        assert_eq!(nfds_arg(1024), Ok(1024));
        for bad in [-1, 1025, i32::MIN, i32::MAX] {
            assert_eq!(nfds_arg(bad), Err(Errno::EINVAL));
        }
        assert_eq!(set_bytes(0), 0);
        assert_eq!(set_bytes(1), 8);
        assert_eq!(set_bytes(64), 8);
        assert_eq!(set_bytes(65), 16);
        assert_eq!(set_bytes(1024), 128);
        assert!(FdSets::new(65, [Some(vec![0; 8]), None, None]).is_none());
    }

    #[test]
    fn poll_events_map_to_select_as_linux_does() {
        assert_eq!(select_bits(POLLIN), [true, false, false]);
        assert_eq!(select_bits(POLLHUP), [true, false, false], "end of file");
        assert_eq!(select_bits(POLLERR), [true, true, false]);
        assert_eq!(select_bits(POLLOUT | POLLWRNORM), [false, true, false]);
        assert_eq!(select_bits(POLLPRI), [false, false, true]);
        assert_eq!(select_bits(POLLNVAL), [false, false, false]);
        assert_eq!(select_bits(0), [false, false, false]);
    }

    #[test]
    fn only_asked_and_ready_bits_come_back_below_nfds() {
        let nfds = 70;
        let read = set_of(nfds, &[0, 3, 69]);
        let write = set_of(nfds, &[3, 5]);
        let mut beyond = set_of(nfds, &[0]);
        beyond[9] |= 0x80; // fd 79: past nfds, in the words read
        let sets = FdSets::new(nfds, [Some(read), Some(write), Some(beyond)]).expect("sizes");
        let wanted = sets.wanted();
        assert_eq!(
            wanted,
            [
                (0, POLLIN | POLLRDNORM | POLLPRI),
                (3, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM),
                (5, POLLOUT | POLLWRNORM),
                (69, POLLIN | POLLRDNORM),
            ]
        );
        let revents = [(0, POLLIN), (3, POLLOUT), (5, POLLERR), (69, POLLHUP)];
        let (count, [r, w, e]) = sets.answer(&revents);
        assert_eq!(count, 4);
        assert_eq!(r, Some(set_of(nfds, &[0, 69])), "5's error was not asked");
        assert_eq!(w, Some(set_of(nfds, &[3, 5])));
        assert_eq!(e, Some(set_of(nfds, &[])), "fd 79 cleared");
        let none = FdSets::new(nfds, [None, Some(set_of(nfds, &[1])), None]).expect("sizes");
        assert_eq!(
            none.answer(&[(1, 0)]),
            (0, [None, Some(set_of(nfds, &[])), None])
        );
    }

    #[test]
    fn timeouts_are_checked_as_linux_does() {
        let tv = |tv_sec, tv_usec| Timeval { tv_sec, tv_usec };
        assert_eq!(timeval_ns(tv(0, 0)), Ok(0));
        assert_eq!(timeval_ns(tv(1, 500)), Ok(1_000_500_000));
        assert_eq!(
            timeval_ns(tv(0, 2_500_000)),
            Ok(2_500_000_000),
            "whole seconds"
        );
        assert_eq!(timeval_ns(tv(-1, 2_000_000)), Ok(1_000_000_000));
        assert_eq!(timeval_ns(tv(-1, 0)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(tv(0, -1)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(tv(i64::MAX, 1_000_000)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(tv(i64::MAX, 0)), Ok(u64::MAX), "saturates");
        let ts = |tv_sec, tv_nsec| Timespec { tv_sec, tv_nsec };
        assert_eq!(timespec_ns(ts(2, 999_999_999)), Ok(2_999_999_999));
        for bad in [ts(-1, 0), ts(0, -1), ts(0, 1_000_000_000)] {
            assert_eq!(timespec_ns(bad), Err(Errno::EINVAL));
        }
        assert_eq!(timespec_of(2_000_000_001), ts(2, 1));
        assert_eq!(timeval_of(2_000_001_999), tv(2, 1));
    }

    proptest! {
        /// Against a model of sets as sets of descriptors: `wanted` lists
        /// exactly the descriptors below `nfds` some set names, and the
        /// answer holds in each set exactly the asked descriptors whose
        /// events make them ready for it, counting them.
        #[test]
        fn answers_match_a_model_of_descriptor_sets(
            nfds in 0u64..=200,
            asked in proptest::collection::vec(
                proptest::option::of(proptest::collection::btree_set(0u64..256, 0..20)), 3),
            events in proptest::collection::vec(any::<i16>(), 200),
        ) {
            let model: Vec<Option<BTreeSet<u64>>> = asked.iter()
                .map(|s| s.as_ref().map(|s| s.iter().copied().filter(|&fd| fd < nfds).collect()))
                .collect();
            let bytes = set_bytes(nfds);
            let raw: [Option<Vec<u8>>; 3] = core::array::from_fn(|i| asked[i].as_ref().map(|s| {
                let mut words = vec![0u64; bytes as usize / 8];
                for &fd in s.iter().filter(|&&fd| fd < bytes * 8) {
                    words[(fd / 64) as usize] |= 1 << (fd % 64);
                }
                words.iter().flat_map(|w| w.to_le_bytes()).collect()
            }));
            let sets = FdSets::new(nfds, raw).expect("sizes");
            let wanted = sets.wanted();
            let named: BTreeSet<u64> = model.iter().flatten().flatten().copied().collect();
            prop_assert_eq!(wanted.iter().map(|&(fd, _)| fd as u64).collect::<BTreeSet<_>>(), named);
            let revents: Vec<(i32, i16)> =
                wanted.iter().map(|&(fd, _)| (fd, events[fd as usize])).collect();
            let (count, out) = sets.answer(&revents);
            let mut total = 0;
            for i in 0..3 {
                let Some(asked) = &model[i] else {
                    prop_assert!(out[i].is_none());
                    continue;
                };
                let got = out[i].as_ref().expect("an answer for each set");
                prop_assert_eq!(got.len() as u64, bytes);
                for fd in 0..bytes * 8 {
                    let bit = got[(fd / 8) as usize] & (1 << (fd % 8)) != 0;
                    let ready = asked.contains(&fd) && select_bits(events[fd as usize])[i];
                    prop_assert_eq!(bit, ready, "set {} fd {}", i, fd);
                    total += u64::from(ready);
                }
            }
            prop_assert_eq!(count, total);
        }
    }
}
