//! Scheduler queues: the FIFO of ready threads and the list of sleepers
//! ordered by wake-up tick. Pure bookkeeping over thread ids, so the rules
//! (no thread queued twice, FIFO order, expiry order) are tested on the host.

use alloc::collections::{BTreeSet, VecDeque};

/// Ready threads in FIFO order.
///
/// Invariant: a thread id appears at most once.
#[derive(Default)]
pub struct ReadyQueue {
    queue: VecDeque<u32>,
}

impl ReadyQueue {
    pub const fn new() -> Self {
        ReadyQueue {
            queue: VecDeque::new(),
        }
    }

    /// Appends `tid` unless it is already queued; returns whether it was added.
    pub fn push(&mut self, tid: u32) -> bool {
        if self.queue.contains(&tid) {
            return false;
        }
        self.queue.push_back(tid);
        true
    }

    pub fn pop(&mut self) -> Option<u32> {
        self.queue.pop_front()
    }

    /// Takes `tid` out of the queue (a thread that dies while ready).
    pub fn remove(&mut self, tid: u32) -> bool {
        let before = self.queue.len();
        self.queue.retain(|&t| t != tid);
        before != self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

/// Sleeping threads keyed by the tick they wake at.
#[derive(Default)]
pub struct SleepQueue {
    sleepers: BTreeSet<(u64, u32)>,
}

impl SleepQueue {
    pub const fn new() -> Self {
        SleepQueue {
            sleepers: BTreeSet::new(),
        }
    }

    pub fn insert(&mut self, wake_tick: u64, tid: u32) {
        self.sleepers.insert((wake_tick, tid));
    }

    /// Forgets `tid` (woken early or killed).
    pub fn remove(&mut self, tid: u32) {
        self.sleepers.retain(|&(_, t)| t != tid);
    }

    /// Whether no thread sleeps.
    pub fn is_empty(&self) -> bool {
        self.sleepers.is_empty()
    }

    /// The next thread whose wake-up tick is at or before `now`.
    pub fn pop_expired(&mut self, now: u64) -> Option<u32> {
        let &(tick, tid) = self.sleepers.first()?;
        if tick > now {
            return None;
        }
        self.sleepers.pop_first();
        Some(tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_queue_is_fifo_without_duplicates() {
        let mut q = ReadyQueue::default();
        assert!(q.push(1) && q.push(2) && q.push(3));
        assert!(!q.push(2), "already queued");
        assert_eq!(q.len(), 3);
        assert!(q.remove(2));
        assert!(!q.remove(2));
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn sleepers_wake_in_tick_order() {
        let mut s = SleepQueue::default();
        s.insert(30, 1);
        s.insert(10, 2);
        s.insert(20, 3);
        s.insert(20, 4);
        assert_eq!(s.pop_expired(5), None);
        assert_eq!(s.pop_expired(20), Some(2));
        s.remove(3);
        assert_eq!(s.pop_expired(20), Some(4));
        assert_eq!(s.pop_expired(20), None);
        assert_eq!(s.pop_expired(100), Some(1));
        assert!(s.is_empty());
    }
}
