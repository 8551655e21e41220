//! [`Slots`]: records under ids that say where they are. An id is a slot
//! index plus a reuse count (`index + CAPACITY * generation`), so finding a
//! record is an index and one compare, with no hashing: the thread table is
//! one (the door fast path does not look threads up: the door logic hands
//! it the address of the thread's record).
//!
//! Ids of fresh slots count up from 1; a freed slot is reused last-freed
//! last (so an id comes back only after every other free slot was used),
//! under a new id. Id 0 names nothing.
//!
//! The rule that keeps ids unambiguous: an id is never handed out while
//! anything still names an earlier record under it. A slot's ids repeat
//! after `GENERATIONS` uses (131,072 for the thread table), so whoever
//! keeps an id beyond its record's removal (a thread's exit value until it
//! is joined, a thread waiting to join it) first [`Slots::hold`]s it and
//! [`Slots::release`]s it when done: a slot with holds is not reused,
//! whatever its generation. A held slot is one with no record, so lookups
//! cost what they did; and since the slot stays taken, inserting searches
//! no set of kept ids (there is none). Holders are bounded by their owners
//! (`abi::MAX_THREADS` counts unjoined exit values; each waiting joiner is
//! a live thread), far below `CAPACITY`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// How many records the thread table holds at most.
pub const CAPACITY: u32 = 1 << 15;

/// How many uses of a thread table slot before its ids repeat: every
/// `u32` is an id.
pub const GENERATIONS: u32 = 1 << 17;

struct Slot<T> {
    /// The id of the record in it, or of the last one.
    id: u32,
    /// How many holders keep `id` from being handed out again.
    holds: u32,
    value: Option<T>,
}

/// Records of `T` under self-locating ids: `C` slots (`C` - 1 usable,
/// slot 0 never is), each used `G` times before its ids repeat.
///
/// Invariant: slot `i` holds a record only under an id `≡ i (mod C)`, and
/// ids are below `C * G`; `free` lists exactly the slots other than slot 0
/// with neither a record nor holds.
pub struct Slots<T, const C: u32 = CAPACITY, const G: u32 = GENERATIONS> {
    slots: Vec<Slot<T>>,
    free: VecDeque<u32>,
    len: usize,
}

impl<T, const C: u32, const G: u32> Slots<T, C, G> {
    /// Ids fit a `u32`; there is a slot besides slot 0, and a second use.
    const SHAPE: () = assert!(C >= 2 && G >= 2 && C as u64 * G as u64 <= 1 << 32);

    pub const fn new() -> Self {
        let () = Self::SHAPE;
        Slots {
            slots: Vec::new(),
            free: VecDeque::new(),
            len: 0,
        }
    }

    /// Stores `value` under a new id; `None` (and `value` dropped) when
    /// all `C` - 1 slots have a record or holds.
    pub fn insert(&mut self, value: T) -> Option<u32> {
        if self.slots.is_empty() {
            self.slots.push(Slot {
                id: 0,
                holds: 0,
                value: None,
            });
        }
        let id = match self.free.pop_front() {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                let next = (u64::from(slot.id) + u64::from(C)) % (u64::from(C) * u64::from(G));
                slot.id = next as u32;
                slot.value = Some(value);
                slot.id
            }
            None => {
                let index = u32::try_from(self.slots.len()).ok()?;
                if index >= C {
                    return None;
                }
                self.slots.push(Slot {
                    id: index,
                    holds: 0,
                    value: Some(value),
                });
                index
            }
        };
        self.len += 1;
        Some(id)
    }

    /// The record under `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        match self.slots.get((id % C) as usize) {
            Some(slot) if slot.id == id => slot.value.as_ref(),
            _ => None,
        }
    }

    /// The record under `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        match self.slots.get_mut((id % C) as usize) {
            Some(slot) if slot.id == id => slot.value.as_mut(),
            _ => None,
        }
    }

    /// Removes and returns the record under `id`; its slot is reused once
    /// `id` has no holds.
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let index = id % C;
        let slot = self.slots.get_mut(index as usize)?;
        if slot.id != id {
            return None;
        }
        let value = slot.value.take()?;
        if slot.holds == 0 {
            self.free.push_back(index);
        }
        self.len -= 1;
        Some(value)
    }

    /// Keeps `id` from being handed out again, even once its record is
    /// removed, until a matching [`Slots::release`]. False (nothing held)
    /// if `id` names neither a record nor a held id.
    pub fn hold(&mut self, id: u32) -> bool {
        match self.slots.get_mut((id % C) as usize) {
            Some(slot) if slot.id == id && (slot.value.is_some() || slot.holds > 0) => {
                slot.holds += 1;
                true
            }
            _ => false,
        }
    }

    /// Drops one hold of `id`; its slot is reused once it has neither a
    /// record nor holds. False if `id` has no holds.
    pub fn release(&mut self, id: u32) -> bool {
        let index = id % C;
        match self.slots.get_mut(index as usize) {
            Some(slot) if slot.id == id && slot.holds > 0 => {
                slot.holds -= 1;
                if slot.holds == 0 && slot.value.is_none() {
                    self.free.push_back(index);
                }
                true
            }
            _ => false,
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        self.get(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All records.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|s| s.value.as_ref())
    }

    /// All records, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(|s| s.value.as_mut())
    }
}

impl<T, const C: u32, const G: u32> Default for Slots<T, C, G> {
    fn default() -> Self {
        Slots::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn fresh_ids_count_up_from_one_and_reused_slots_get_new_ids() {
        let mut s: Slots<char> = Slots::new();
        assert_eq!(s.insert('a'), Some(1));
        assert_eq!(s.insert('b'), Some(2));
        assert_eq!(s.remove(1), Some('a'));
        assert_eq!(s.get(1), None);
        assert_eq!(s.insert('c'), Some(1 + CAPACITY), "slot 1, second use");
        assert_eq!(s.get(1 + CAPACITY), Some(&'c'));
        assert_eq!(s.get(0), None);
        assert_eq!(s.remove(1), None, "the old id names nothing");
    }

    #[test]
    fn full_table_refuses_and_the_oldest_free_slot_goes_first() {
        let mut s: Slots<u32> = Slots::new();
        for i in 1..CAPACITY {
            assert_eq!(s.insert(i), Some(i));
        }
        assert_eq!(s.insert(0), None);
        assert_eq!(s.len(), (CAPACITY - 1) as usize);
        s.remove(7);
        s.remove(3);
        assert_eq!(s.insert(70), Some(7 + CAPACITY));
        assert_eq!(s.insert(30), Some(3 + CAPACITY));
    }

    #[test]
    fn the_thread_tables_ids_repeat_after_every_u32() {
        let mut s: Slots<()> = Slots::new();
        assert_eq!(s.insert(()), Some(1));
        // Slot 1 at its last use: the id below 2^32 that is 1 mod CAPACITY.
        s.slots[1].id = u32::MAX - CAPACITY + 2;
        s.remove(u32::MAX - CAPACITY + 2);
        assert_eq!(s.insert(()), Some(1), "after 2^32 / CAPACITY uses");
    }

    #[test]
    fn ids_repeat_after_g_uses_of_a_slot() {
        let mut s: Slots<u8, 2, 3> = Slots::new();
        let mut ids = Vec::new();
        for _ in 0..4 {
            let id = s.insert(0).expect("room");
            ids.push(id);
            s.remove(id);
        }
        assert_eq!(ids, [1, 3, 5, 1]);
    }

    #[test]
    fn a_held_id_is_not_handed_out_again_until_released() {
        let mut s: Slots<u8, 4, 2> = Slots::new();
        assert_eq!(
            [s.insert(1), s.insert(2), s.insert(3)],
            [Some(1), Some(2), Some(3)]
        );
        assert!(s.hold(1) && s.hold(1), "two holders");
        assert_eq!(s.remove(1), Some(1));
        assert_eq!(s.get(1), None, "a held id names no record");
        assert_eq!(s.insert(9), None, "slot 1 is held, the others taken");
        s.remove(2);
        s.remove(3);
        // Slots 2 and 3 go round their generations; slot 1 is never reused.
        for _ in 0..10 {
            let id = s.insert(0).expect("room");
            assert_ne!(id % 4, 1);
            s.remove(id);
        }
        assert!(s.release(1));
        assert_eq!(s.insert(0).map(|id| id % 4), Some(2), "still held once");
        assert!(s.release(1));
        assert!(!s.release(1), "no holds left");
        assert!(!s.hold(1), "nothing to hold");
        assert_eq!(s.insert(0).map(|id| id % 4), Some(3));
        assert_eq!(s.insert(0), Some(5), "slot 1 again, at its next use");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(usize),
        Hold(usize),
        Release(usize),
        Lookup(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<u8>().prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::Hold),
            1 => any::<usize>().prop_map(Op::Release),
            1 => (0u32..16).prop_map(Op::Lookup),
        ]
    }

    proptest! {
        /// Against a map of records and a count of holds per id, in a
        /// table of 3 slots whose ids repeat after 3 uses (so ids wrap
        /// often): an id is never handed out while it has a record or
        /// holds, insert fails exactly when every slot has one or the
        /// other, and lookups (of live, removed and arbitrary ids), holds,
        /// releases and counts agree.
        #[test]
        fn behaves_like_a_map_with_holds(ops in proptest::collection::vec(op(), 1..400)) {
            let mut s: Slots<u8, 4, 3> = Slots::new();
            let mut model = BTreeMap::new();
            let mut holds: BTreeMap<u32, u32> = BTreeMap::new();
            let mut issued = Vec::new();
            for op in ops {
                let pick = |i: usize| issued[i % issued.len()];
                match op {
                    Op::Insert(v) => {
                        let taken: std::collections::BTreeSet<u32> =
                            model.keys().chain(holds.keys()).map(|id| id % 4).collect();
                        match s.insert(v) {
                            Some(id) => {
                                prop_assert!(id != 0 && id < 12);
                                prop_assert!(!model.contains_key(&id) && !holds.contains_key(&id));
                                prop_assert!(!taken.contains(&(id % 4)));
                                model.insert(id, v);
                                if !issued.contains(&id) {
                                    issued.push(id);
                                }
                            }
                            None => prop_assert_eq!(taken.len(), 3),
                        }
                    }
                    _ if issued.is_empty() => {}
                    Op::Remove(i) => prop_assert_eq!(s.remove(pick(i)), model.remove(&pick(i))),
                    Op::Hold(i) => {
                        let id = pick(i);
                        let can = model.contains_key(&id) || holds.contains_key(&id);
                        prop_assert_eq!(s.hold(id), can);
                        if can {
                            *holds.entry(id).or_default() += 1;
                        }
                    }
                    Op::Release(i) => {
                        let id = pick(i);
                        let held = holds.get(&id).copied().unwrap_or(0);
                        prop_assert_eq!(s.release(id), held > 0);
                        match held {
                            0 => {}
                            1 => { holds.remove(&id); }
                            n => { holds.insert(id, n - 1); }
                        }
                    }
                    Op::Lookup(id) => prop_assert_eq!(s.get(id), model.get(&id)),
                }
                for id in &issued {
                    prop_assert_eq!(s.get(*id), model.get(id));
                }
                prop_assert_eq!(s.len(), model.len());
                prop_assert_eq!(s.values().count(), model.len());
            }
        }
    }
}
