//! [`Pids`]: process ids. They count up from 1 (init is pid 1) to
//! [`PID_MAX`] (a `pid_t` is an `i32`: no pid may look negative) and then
//! start again from 1, skipping every pid still in use: a process's, live
//! or a zombie not yet waited for, a process group's or a session's. So a pid, like a
//! tid (`kernel::slots`), is never handed out while anything still names
//! an earlier process by it. Until the first wrap no pid needs checking:
//! every pid above the last one handed out is new.

/// The largest pid.
pub const PID_MAX: u32 = i32::MAX as u32;

/// The pid counter; pids are at most `MAX`.
pub struct Pids<const MAX: u32 = PID_MAX> {
    /// The last pid handed out (0 before the first).
    last: u32,
    /// The counter has started again from 1 at least once.
    wrapped: bool,
}

impl<const MAX: u32> Pids<MAX> {
    pub const fn new() -> Self {
        Pids {
            last: 0,
            wrapped: false,
        }
    }

    /// The pid the next process gets (see [`Pids::take`]): the first after
    /// the last one handed out for which `in_use` is false (asked only
    /// after a wrap). `None` if every pid is in use.
    pub fn next(&self, in_use: impl Fn(u32) -> bool) -> Option<u32> {
        let (mut pid, mut wrapped) = (self.last, self.wrapped);
        for _ in 0..MAX {
            pid = match pid >= MAX {
                true => {
                    wrapped = true;
                    1
                }
                false => pid + 1,
            };
            if !wrapped || !in_use(pid) {
                return Some(pid);
            }
        }
        None
    }

    /// Hands out `pid`, found by [`Pids::next`].
    pub fn take(&mut self, pid: u32) {
        if pid <= self.last {
            self.wrapped = true;
        }
        self.last = pid;
    }
}

impl<const MAX: u32> Default for Pids<MAX> {
    fn default() -> Self {
        Pids::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    #[test]
    fn pids_count_up_from_one_then_wrap_skipping_those_in_use() {
        let mut pids: Pids<5> = Pids::new();
        let in_use: BTreeSet<u32> = [1, 3].into();
        let mut handed = Vec::new();
        for _ in 0..8 {
            let pid = pids.next(|p| in_use.contains(&p)).expect("a free pid");
            pids.take(pid);
            handed.push(pid);
        }
        assert_eq!(handed, [1, 2, 3, 4, 5, 2, 4, 5]);
        assert_eq!(pids.next(|_| true), None, "every pid in use");
    }

    #[test]
    fn the_largest_pid_is_a_positive_pid_t() {
        let mut pids: Pids = Pids::new();
        pids.take(PID_MAX);
        assert!(i32::try_from(PID_MAX).is_ok());
        assert_eq!(pids.next(|p| p == 1), Some(2), "init keeps pid 1");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Spawn,
        /// Ends (and reaps) the process at this index of those alive.
        Reap(usize),
        /// Makes a process the group leader of another (its pgid kept
        /// after it is reaped).
        Join(usize, usize),
    }

    proptest! {
        /// Against a model of processes (pid, pgid) with pids up to 7: a
        /// new pid is never a live process's or a group's, a failed
        /// allocation means all of 1..=7 are, and allocation goes in
        /// order from the last pid.
        #[test]
        fn a_pid_in_use_is_never_handed_out(
            ops in proptest::collection::vec(prop_oneof![
                3 => Just(Op::Spawn),
                2 => any::<usize>().prop_map(Op::Reap),
                1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Join(a, b)),
            ], 1..200),
        ) {
            let mut pids: Pids<7> = Pids::new();
            let mut procs: Vec<(u32, u32)> = Vec::new();
            let mut last = 0;
            for op in ops {
                let used: BTreeSet<u32> = procs.iter().flat_map(|&(p, g)| [p, g]).collect();
                match op {
                    Op::Spawn => match pids.next(|p| used.contains(&p)) {
                        Some(pid) => {
                            prop_assert!((1..=7).contains(&pid) && !used.contains(&pid));
                            let skipped = (1..7).map(|k| (last + k - 1) % 7 + 1)
                                .take_while(|&p| p != pid);
                            for p in skipped {
                                prop_assert!(used.contains(&p), "pid {} skipped", p);
                            }
                            pids.take(pid);
                            last = pid;
                            procs.push((pid, pid));
                        }
                        None => prop_assert_eq!(used.len(), 7),
                    },
                    _ if procs.is_empty() => {}
                    Op::Reap(i) => {
                        procs.remove(i % procs.len());
                    }
                    Op::Join(a, b) => {
                        let leader = procs[a % procs.len()].1;
                        let n = procs.len();
                        procs[b % n].1 = leader;
                    }
                }
            }
        }
    }
}
