//! [`Slots`]: records under ids that say where they are. An id is a slot
//! index plus a reuse count (`index + CAPACITY * generation`), so finding a
//! record is an index and one compare, with no hashing: the thread table is
//! one, and the door fast path looks threads up by id on every call.
//!
//! Ids of fresh slots count up from 1; a freed slot is reused last-freed
//! last (so an id comes back only after every other free slot was used),
//! under a new id. Id 0 names nothing.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// How many records a [`Slots`] holds at most (ids are `u32`, and a slot's
/// ids repeat after `2^32 / CAPACITY` reuses).
pub const CAPACITY: u32 = 1 << 15;

struct Slot<T> {
    /// The id of the record in it, or of the last one.
    id: u32,
    value: Option<T>,
}

/// Records of `T` under self-locating ids.
///
/// Invariant: slot `i` holds a record only under an id `≡ i (mod CAPACITY)`;
/// `free` lists exactly the empty slots other than slot 0 (never used).
pub struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: VecDeque<u32>,
    len: usize,
}

impl<T> Slots<T> {
    pub const fn new() -> Self {
        Slots {
            slots: Vec::new(),
            free: VecDeque::new(),
            len: 0,
        }
    }

    /// Stores `value` under a new id; `None` (and `value` dropped) when
    /// all [`CAPACITY`] - 1 slots are taken.
    pub fn insert(&mut self, value: T) -> Option<u32> {
        if self.slots.is_empty() {
            self.slots.push(Slot { id: 0, value: None });
        }
        let id = match self.free.pop_front() {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                slot.id = slot.id.wrapping_add(CAPACITY);
                slot.value = Some(value);
                slot.id
            }
            None => {
                let index = u32::try_from(self.slots.len()).ok()?;
                if index >= CAPACITY {
                    return None;
                }
                self.slots.push(Slot {
                    id: index,
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
        match self.slots.get((id % CAPACITY) as usize) {
            Some(slot) if slot.id == id => slot.value.as_ref(),
            _ => None,
        }
    }

    /// The record under `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        match self.slots.get_mut((id % CAPACITY) as usize) {
            Some(slot) if slot.id == id => slot.value.as_mut(),
            _ => None,
        }
    }

    /// Removes and returns the record under `id`.
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let index = id % CAPACITY;
        let slot = self.slots.get_mut(index as usize)?;
        if slot.id != id {
            return None;
        }
        let value = slot.value.take()?;
        self.free.push_back(index);
        self.len -= 1;
        Some(value)
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

impl<T> Default for Slots<T> {
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
        let mut s = Slots::new();
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
        let mut s = Slots::new();
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

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8),
        Remove(usize),
        Lookup(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<u8>().prop_map(Op::Insert),
            any::<usize>().prop_map(Op::Remove),
            any::<u32>().prop_map(Op::Lookup),
        ]
    }

    proptest! {
        /// Against a map: ids are never live twice, lookups (of live,
        /// removed and arbitrary ids) agree, and so do counts.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..300)) {
            let mut s = Slots::new();
            let mut model = BTreeMap::new();
            let mut issued = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(v) => {
                        let id = s.insert(v).expect("room");
                        prop_assert!(id != 0 && !model.contains_key(&id));
                        model.insert(id, v);
                        issued.push(id);
                    }
                    Op::Remove(i) if !issued.is_empty() => {
                        let id = issued[i % issued.len()];
                        prop_assert_eq!(s.remove(id), model.remove(&id));
                    }
                    Op::Remove(_) => {}
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
