//! Futex wait queues: which threads wait on which user word, in arrival
//! order, with the bitset each waits for (FUTEX_WAIT_BITSET). The kernel
//! checks the word's value and blocks the thread under the scheduler lock
//! (one CPU, interrupts off), so "compare and queue" is atomic; this module
//! is the bookkeeping: wake, requeue, and forgetting a thread that stops
//! waiting for another reason (a timeout, or its process died).
//!
//! A queue is keyed by process and address ([`key`]), but for a futex
//! without FUTEX_PRIVATE_FLAG whose word lies in a shared mapping
//! (`MAP_SHARED`, shared with the processes forked since): that one is
//! keyed by the word's physical address, so a wake in one process reaches
//! waiters in another, as process-shared semaphores and mutexes need.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

/// A futex: the process and the user address of its word, or [`SHARED`]
/// and the word's physical address.
pub type Key = (u32, u64);

/// The process part of the keys of shared futexes: no process has it
/// (pids count up from 1).
pub const SHARED: u32 = 0;

/// The key of the futex whose word is at user address `addr` of process
/// `pid`: the process's own, unless the futex is not `private` and the
/// word lies in a page of a shared mapping, at physical address
/// `shared_phys`; then the physical address, the same in every process
/// that maps the page. (A frame freed and reused while a thread still
/// waits on it can give that thread a spurious wake, which futex callers
/// allow for: they check their word again.)
pub fn key(pid: u32, addr: u64, private: bool, shared_phys: Option<u64>) -> Key {
    match (private, shared_phys) {
        (false, Some(phys)) => (SHARED, phys),
        _ => (pid, addr),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiter {
    tid: u32,
    bitset: u32,
}

/// Every waiting thread, by futex.
///
/// Invariants: a thread waits on at most one futex; `of` maps exactly the
/// waiting threads to their key; no queue is empty.
#[derive(Default)]
pub struct Futexes {
    queues: BTreeMap<Key, VecDeque<Waiter>>,
    of: BTreeMap<u32, Key>,
}

/// How many waiters a wake count wakes, as Linux counts: at least one, even
/// for 0 or a negative count.
fn wake_count(n: i32) -> usize {
    n.max(1) as usize
}

impl Futexes {
    pub const fn new() -> Self {
        Futexes {
            queues: BTreeMap::new(),
            of: BTreeMap::new(),
        }
    }

    /// Queues thread `tid` on `key`, woken by wakes whose bitset shares a
    /// bit with `bitset`. A thread already waiting is moved (it cannot
    /// wait twice).
    pub fn wait(&mut self, key: Key, tid: u32, bitset: u32) {
        self.remove(tid);
        self.queues
            .entry(key)
            .or_default()
            .push_back(Waiter { tid, bitset });
        self.of.insert(tid, key);
    }

    /// Wakes up to `n` (at least one) waiters of `key` whose bitset meets
    /// `bitset`, oldest first; returns them (no longer waiting).
    pub fn wake(&mut self, key: Key, n: i32, bitset: u32) -> Vec<u32> {
        let mut woken = Vec::new();
        let Some(queue) = self.queues.get_mut(&key) else {
            return woken;
        };
        let limit = wake_count(n);
        queue.retain(|w| {
            if woken.len() < limit && w.bitset & bitset != 0 {
                woken.push(w.tid);
                false
            } else {
                true
            }
        });
        if queue.is_empty() {
            self.queues.remove(&key);
        }
        for tid in &woken {
            self.of.remove(tid);
        }
        woken
    }

    /// FUTEX_REQUEUE: wakes up to `wake` waiters of `from` (at least one
    /// if any), then moves up to `requeue` of the rest to the end of `to`.
    /// Returns the woken threads and how many moved.
    pub fn requeue(&mut self, from: Key, to: Key, wake: i32, requeue: u32) -> (Vec<u32>, usize) {
        let woken = self.wake(from, wake, u32::MAX);
        if from == to {
            return (woken, 0);
        }
        let Some(queue) = self.queues.get_mut(&from) else {
            return (woken, 0);
        };
        let n = (requeue as usize).min(queue.len());
        let moved: Vec<Waiter> = queue.drain(..n).collect();
        if queue.is_empty() {
            self.queues.remove(&from);
        }
        for w in &moved {
            self.of.insert(w.tid, to);
        }
        self.queues.entry(to).or_default().extend(moved);
        (woken, n)
    }

    /// Forgets thread `tid` (its wait timed out, or it is going away);
    /// returns whether it was waiting.
    pub fn remove(&mut self, tid: u32) -> bool {
        let Some(key) = self.of.remove(&tid) else {
            return false;
        };
        if let Some(queue) = self.queues.get_mut(&key) {
            queue.retain(|w| w.tid != tid);
            if queue.is_empty() {
                self.queues.remove(&key);
            }
        }
        true
    }

    /// Whether thread `tid` waits on a futex.
    pub fn is_waiting(&self, tid: u32) -> bool {
        self.of.contains_key(&tid)
    }

    /// How many threads wait.
    pub fn waiters(&self) -> usize {
        self.of.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wakes_in_order_with_bitsets() {
        let mut f = Futexes::new();
        let k = (1, 0x1000);
        f.wait(k, 10, 0b01);
        f.wait(k, 11, 0b10);
        f.wait(k, 12, u32::MAX);
        f.wait((2, 0x1000), 20, u32::MAX);
        assert_eq!(f.wake(k, 1, 0b10), [11], "the bitset filters");
        assert_eq!(f.wake(k, 0, u32::MAX), [10], "a count of 0 wakes one");
        assert_eq!(f.wake(k, i32::MAX, u32::MAX), [12]);
        assert_eq!(f.wake(k, 1, u32::MAX), Vec::<u32>::new());
        assert!(
            f.is_waiting(20),
            "another process's futex at the same address"
        );
        assert!(f.remove(20));
        assert!(!f.remove(20));
        assert_eq!(f.waiters(), 0);
    }

    #[test]
    fn a_shared_futex_is_keyed_by_its_physical_address() {
        let (addr, phys) = (0x7000_0010, 0x12_3010);
        assert_eq!(key(3, addr, false, Some(phys)), (SHARED, phys));
        assert_eq!(
            key(4, addr + 0x1000, false, Some(phys)),
            key(3, addr, false, Some(phys)),
            "two processes mapping the page at different places"
        );
        assert_eq!(
            key(3, addr, true, Some(phys)),
            (3, addr),
            "FUTEX_PRIVATE_FLAG: the process's own"
        );
        assert_eq!(key(3, addr, false, None), (3, addr), "a private mapping");
        assert_ne!(key(3, addr, false, None), key(4, addr, false, None));
    }

    #[test]
    fn requeues_the_rest() {
        let mut f = Futexes::new();
        let (a, b) = ((1, 0x10), (1, 0x20));
        for tid in 1..=4 {
            f.wait(a, tid, u32::MAX);
        }
        f.wait(b, 9, u32::MAX);
        assert_eq!(f.requeue(a, b, 1, 2), (alloc::vec![1], 2));
        assert_eq!(f.wake(a, 10, u32::MAX), [4]);
        assert_eq!(f.wake(b, 10, u32::MAX), [9, 2, 3]);
        assert_eq!(f.waiters(), 0);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Wait(u8, u32, u32),
        Wake(u8, i32, u32),
        Requeue(u8, u8, i32, u32),
        Remove(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3u8, 0..6u32, 1..4u32).prop_map(|(k, t, b)| Op::Wait(k, t, b)),
            (0..3u8, -1..3i32, 1..4u32).prop_map(|(k, n, b)| Op::Wake(k, n, b)),
            (0..3u8, 0..3u8, -1..3i32, 0..3u32).prop_map(|(a, b, n, r)| Op::Requeue(a, b, n, r)),
            (0..6u32).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// The queues against a model: one list of (key, tid, bitset) in
        /// arrival order.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(op(), 0..60)) {
            let mut f = Futexes::new();
            let mut model: Vec<(Key, u32, u32)> = Vec::new();
            let key = |k: u8| (1, u64::from(k) * 4);
            for op in ops {
                match op {
                    Op::Wait(k, tid, bitset) => {
                        f.wait(key(k), tid, bitset);
                        model.retain(|w| w.1 != tid);
                        model.push((key(k), tid, bitset));
                    }
                    Op::Wake(k, n, bitset) => {
                        let mut expect = Vec::new();
                        model.retain(|w| {
                            let hit = w.0 == key(k) && w.2 & bitset != 0 && expect.len() < n.max(1) as usize;
                            if hit { expect.push(w.1); }
                            !hit
                        });
                        prop_assert_eq!(f.wake(key(k), n, bitset), expect);
                    }
                    Op::Requeue(a, b, n, r) => {
                        let mut woken = Vec::new();
                        model.retain(|w| {
                            let hit = w.0 == key(a) && woken.len() < n.max(1) as usize;
                            if hit { woken.push(w.1); }
                            !hit
                        });
                        let mut moved = 0;
                        if a != b {
                            let mut rest: Vec<(Key, u32, u32)> = Vec::new();
                            model.retain(|w| {
                                let hit = w.0 == key(a) && moved < r as usize;
                                if hit { moved += 1; rest.push((key(b), w.1, w.2)); }
                                !hit
                            });
                            model.extend(rest);
                        }
                        prop_assert_eq!(f.requeue(key(a), key(b), n, r), (woken, moved));
                    }
                    Op::Remove(tid) => {
                        let was = model.iter().any(|w| w.1 == tid);
                        model.retain(|w| w.1 != tid);
                        prop_assert_eq!(f.remove(tid), was);
                    }
                }
                prop_assert_eq!(f.waiters(), model.len());
                for tid in 0..6 {
                    prop_assert_eq!(f.is_waiting(tid), model.iter().any(|w| w.1 == tid));
                }
            }
        }
    }
}
