//! [`ExitValues`]: the exit values of a process's threads that nobody has
//! joined yet. Each holds its thread's tid in the thread table
//! ([`Slots::hold`]) until it is taken (a join, a detach) or dropped (the
//! process ends or execs), so no new thread gets that tid meanwhile: a
//! join by tid finds the thread it names, never a later one (the rule of
//! `kernel::slots`). A thread waiting to join holds the tid it waits for
//! the same way, until it looks again.

use crate::slots::Slots;
use alloc::collections::BTreeMap;

/// Exit values by tid, each tid held in the thread table.
#[derive(Default)]
pub struct ExitValues(BTreeMap<u32, u64>);

impl ExitValues {
    pub const fn new() -> Self {
        ExitValues(BTreeMap::new())
    }

    /// Keeps `value` as the exit value of thread `tid` (whose record is in
    /// `threads`, or whose tid is held), holding `tid`. Nothing if `tid`
    /// names neither; a second value for `tid` replaces the first.
    pub fn keep<T, const C: u32, const G: u32>(
        &mut self,
        threads: &mut Slots<T, C, G>,
        tid: u32,
        value: u64,
    ) {
        if let Some(kept) = self.0.get_mut(&tid) {
            *kept = value;
        } else if threads.hold(tid) {
            self.0.insert(tid, value);
        }
    }

    /// Takes the exit value of thread `tid`, releasing `tid`.
    pub fn take<T, const C: u32, const G: u32>(
        &mut self,
        threads: &mut Slots<T, C, G>,
        tid: u32,
    ) -> Option<u64> {
        let value = self.0.remove(&tid)?;
        threads.release(tid);
        Some(value)
    }

    /// Drops every value, releasing their tids.
    pub fn clear<T, const C: u32, const G: u32>(&mut self, threads: &mut Slots<T, C, G>) {
        for tid in core::mem::take(&mut self.0).into_keys() {
            threads.release(tid);
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// A thread table of 3 slots whose tids repeat after 3 uses, so that
    /// tids wrap within a few dozen operations. Records are serial numbers
    /// (one per thread ever made), which also serve as exit values.
    type Table = Slots<u64, 4, 3>;

    #[test]
    fn an_unjoined_exit_value_keeps_its_tid_through_the_wrap() {
        let mut threads = Table::new();
        let mut exited = ExitValues::new();
        let first = threads.insert(0).expect("room");
        exited.keep(&mut threads, first, 0);
        threads.remove(first);
        // Threads come and go in the other slots, round their generations.
        for serial in 1..20 {
            let tid = threads.insert(serial).expect("room");
            assert_ne!(tid, first, "thread {serial} got the unjoined tid");
            threads.remove(tid);
        }
        assert_eq!(exited.take(&mut threads, first), Some(0));
        assert_eq!(exited.take(&mut threads, first), None, "taken");
        let tids: Vec<u32> = (0..3).map(|_| threads.insert(9).expect("room")).collect();
        assert!(
            tids.iter().any(|t| t % 4 == first % 4),
            "its slot is free again"
        );
    }

    #[test]
    fn clearing_releases_every_tid() {
        let mut threads = Table::new();
        let mut exited = ExitValues::new();
        for serial in 0..3 {
            let tid = threads.insert(serial).expect("room");
            exited.keep(&mut threads, tid, serial);
            threads.remove(tid);
        }
        assert_eq!(threads.insert(3), None, "every slot held");
        exited.clear(&mut threads);
        assert!(exited.is_empty());
        assert!(threads.insert(3).is_some());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Create,
        /// A live thread exits, leaving its value unless detached.
        Exit(usize),
        /// A thread joins a tid ever handed out: takes its value if kept.
        Join(usize),
        /// Detaches a tid: a kept value is dropped, a live thread flagged.
        Detach(usize),
        /// A live thread starts waiting to join another live thread.
        Wait(usize, usize),
        /// A waiting thread looks again (woken, or destroyed).
        Look(usize),
        /// The process ends (or execs): its kept values are dropped.
        End,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Create),
            3 => any::<usize>().prop_map(Op::Exit),
            2 => any::<usize>().prop_map(Op::Join),
            1 => any::<usize>().prop_map(Op::Detach),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Wait(a, b)),
            1 => any::<usize>().prop_map(Op::Look),
            1 => Just(Op::End),
        ]
    }

    /// A thread of the model.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Life {
        Live {
            detached: bool,
        },
        /// Exited; its value kept until taken.
        Exited,
        Gone,
    }

    proptest! {
        /// Threads made, exiting, joined, detached and waited for, as the
        /// kernel does it, against a model that knows each thread by its
        /// serial number: no two reachable records (a live thread, a kept
        /// exit value, a waiter's target) share a tid, a tid's lookup finds
        /// the thread it was given to or nothing, and a join takes the
        /// value of the thread it names.
        #[test]
        fn tids_name_one_thread_while_anything_names_them(
            ops in proptest::collection::vec(op(), 1..400),
        ) {
            let mut threads = Table::new();
            let mut exited = ExitValues::new();
            // By serial: its tid and its life.
            let mut model: Vec<(u32, Life)> = Vec::new();
            // Waiters: (waiting serial, target tid, target serial).
            let mut waiters: Vec<(u64, u32, u64)> = Vec::new();
            let with = |model: &Vec<(u32, Life)>, f: &dyn Fn(Life) -> bool| -> Vec<u64> {
                (0..model.len() as u64).filter(|&s| f(model[s as usize].1)).collect()
            };
            for op in ops {
                let live = with(&model, &|l| matches!(l, Life::Live { .. }));
                match op {
                    Op::Create => {
                        let serial = model.len() as u64;
                        if let Some(tid) = threads.insert(serial) {
                            model.push((tid, Life::Live { detached: false }));
                        }
                    }
                    _ if model.is_empty() => {}
                    Op::Exit(i) if !live.is_empty() => {
                        let serial = live[i % live.len()];
                        let (tid, life) = model[serial as usize];
                        let detached = life == Life::Live { detached: true };
                        if !detached {
                            exited.keep(&mut threads, tid, serial);
                        }
                        prop_assert_eq!(threads.remove(tid), Some(serial));
                        // A waiter that exits (is destroyed) drops its hold.
                        for &(_, held, _) in waiters.iter().filter(|w| w.0 == serial) {
                            prop_assert!(threads.release(held));
                        }
                        waiters.retain(|w| w.0 != serial);
                        model[serial as usize].1 = if detached { Life::Gone } else { Life::Exited };
                    }
                    Op::Exit(_) => {}
                    Op::Join(i) | Op::Detach(i) => {
                        let (tid, _) = model[i % model.len()];
                        let named = model.iter().position(|&(t, l)| t == tid && l == Life::Exited);
                        let taken = exited.take(&mut threads, tid);
                        prop_assert_eq!(taken, named.map(|s| s as u64));
                        if let Some(s) = named {
                            model[s].1 = Life::Gone;
                        }
                        if let Op::Detach(_) = op
                            && let Some(&s) = live.iter().find(|&&s| model[s as usize].0 == tid)
                        {
                            model[s as usize].1 = Life::Live { detached: true };
                        }
                    }
                    Op::Wait(a, b) if !live.is_empty() => {
                        let (joiner, target) = (live[a % live.len()], live[b % live.len()]);
                        let tid = model[target as usize].0;
                        if joiner != target && !waiters.iter().any(|w| w.0 == joiner) {
                            prop_assert!(threads.hold(tid));
                            waiters.push((joiner, tid, target));
                        }
                    }
                    Op::Wait(..) => {}
                    Op::Look(i) if !waiters.is_empty() => {
                        let (_, tid, target) = waiters.remove(i % waiters.len());
                        prop_assert!(threads.release(tid));
                        // What the joiner finds under the tid is its target.
                        if let Some(&serial) = threads.get(tid) {
                            prop_assert_eq!(serial, target);
                        }
                        if model[target as usize].1 != Life::Exited {
                            prop_assert_eq!(exited.take(&mut threads, tid), None);
                        }
                    }
                    Op::Look(_) => {}
                    Op::End => {
                        exited.clear(&mut threads);
                        for (_, life) in model.iter_mut().filter(|(_, l)| *l == Life::Exited) {
                            *life = Life::Gone;
                        }
                    }
                }
                // Reachable records: live threads, kept values, waiters'
                // targets that are not live (a live target is its own).
                let mut reachable: Vec<(u32, u64)> = Vec::new();
                for (serial, &(tid, life)) in model.iter().enumerate() {
                    if life != Life::Gone {
                        reachable.push((tid, serial as u64));
                    }
                }
                for &(_, tid, target) in &waiters {
                    reachable.push((tid, target));
                }
                for &(tid, serial) in &reachable {
                    prop_assert!(
                        reachable.iter().all(|&(t, s)| t != tid || s == serial),
                        "tid {} names two threads", tid
                    );
                }
                for (serial, &(tid, life)) in model.iter().enumerate() {
                    let found = threads.get(tid).copied();
                    match life {
                        Life::Live { .. } => prop_assert_eq!(found, Some(serial as u64)),
                        _ => prop_assert!(found.is_none_or(|s| s > serial as u64)),
                    }
                }
                prop_assert_eq!(exited.len(), model.iter().filter(|m| m.1 == Life::Exited).count());
            }
        }
    }
}
