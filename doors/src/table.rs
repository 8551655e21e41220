//! Per-process descriptor (capability) tables.
//!
//! A descriptor is a positive `i32`: the low [`INDEX_BITS`] bits are the slot
//! index and the bits above them the slot's generation, which changes every
//! time the slot is freed. A stale descriptor (its slot was closed and maybe
//! reused) or a forged one therefore fails to resolve, which the callers turn
//! into `EBADF`. The first use of slot `i` has generation 0, so a fresh table
//! hands out `0, 1, 2, ...` like Unix.
//!
//! Each entry names a door (the only kernel object with descriptors so far)
//! and is one counted reference to it.

use crate::Fd;
use crate::slab::Key;
use alloc::vec::Vec;

/// Bits of a descriptor that hold the slot index.
pub const INDEX_BITS: u32 = 12;
/// The largest table capacity the descriptor encoding allows.
pub const MAX_CAPACITY: usize = 1 << INDEX_BITS;
/// Generations wrap at this value, keeping descriptors positive `i32`s.
const GEN_LIMIT: u32 = 1 << (31 - INDEX_BITS);

#[derive(Clone, Copy)]
struct Slot {
    generation: u32,
    door: Option<Key>,
}

/// One process's descriptors.
///
/// Invariants: `used` equals the number of slots holding a door; `slots.len()
/// <= capacity <= MAX_CAPACITY`; every slot's `generation < GEN_LIMIT`.
pub struct Table {
    slots: Vec<Slot>,
    used: usize,
    capacity: usize,
}

fn encode(index: usize, generation: u32) -> Fd {
    ((generation << INDEX_BITS) | index as u32) as Fd
}

impl Table {
    /// An empty table holding at most `capacity` descriptors.
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity <= MAX_CAPACITY,
            "descriptor table capacity too large"
        );
        Table {
            slots: Vec::new(),
            used: 0,
            capacity,
        }
    }

    #[inline]
    fn slot_of(&self, fd: Fd) -> Option<usize> {
        if fd < 0 {
            return None;
        }
        let index = (fd as u32 & (MAX_CAPACITY as u32 - 1)) as usize;
        let generation = fd as u32 >> INDEX_BITS;
        let slot = self.slots.get(index)?;
        (slot.generation == generation && slot.door.is_some()).then_some(index)
    }

    /// The door descriptor `fd` names, if it is live.
    #[inline]
    pub fn get(&self, fd: Fd) -> Option<Key> {
        self.slot_of(fd).and_then(|i| self.slots[i].door)
    }

    /// How many more descriptors fit.
    #[inline]
    pub fn free_slots(&self) -> usize {
        self.capacity - self.used
    }

    /// Number of live descriptors.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Stores `door` in the lowest free slot; `None` when the table is full.
    pub fn insert(&mut self, door: Key) -> Option<Fd> {
        if self.used == self.capacity {
            return None;
        }
        let index = match self.slots.iter().position(|s| s.door.is_none()) {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    door: None,
                });
                self.slots.len() - 1
            }
        };
        self.slots[index].door = Some(door);
        self.used += 1;
        Some(encode(index, self.slots[index].generation))
    }

    /// Frees descriptor `fd`, returning the door it named.
    pub fn remove(&mut self, fd: Fd) -> Option<Key> {
        let i = self.slot_of(fd)?;
        let slot = &mut self.slots[i];
        slot.generation = (slot.generation + 1) % GEN_LIMIT;
        self.used -= 1;
        slot.door.take()
    }

    /// All live descriptors with their doors, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Fd, Key)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.door.map(|d| (encode(i, s.generation), d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slab::Slab;

    fn key() -> Key {
        Slab::default().insert(())
    }

    #[test]
    fn fresh_table_hands_out_small_integers_and_reuse_changes_generation() {
        let mut t = Table::new(4);
        let k = key();
        assert_eq!(t.insert(k), Some(0));
        assert_eq!(t.insert(k), Some(1));
        assert_eq!(t.remove(0), Some(k));
        let again = t.insert(k).unwrap();
        assert_ne!(again, 0);
        assert_eq!(again & (MAX_CAPACITY as i32 - 1), 0);
        assert_eq!(t.get(0), None, "stale descriptor must not resolve");
        assert_eq!(t.get(again), Some(k));
    }

    #[test]
    fn full_table_refuses_and_forged_descriptors_do_not_resolve() {
        let mut t = Table::new(2);
        let k = key();
        t.insert(k);
        t.insert(k);
        assert_eq!(t.free_slots(), 0);
        assert_eq!(t.insert(k), None);
        assert_eq!(t.get(-1), None);
        assert_eq!(t.get(7 << INDEX_BITS), None);
        assert_eq!(t.get(3), None);
        assert_eq!(t.remove(5), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn generation_wraps_but_descriptors_stay_positive() {
        let mut t = Table::new(1);
        let k = key();
        for _ in 0..GEN_LIMIT + 3 {
            let fd = t.insert(k).unwrap();
            assert!(fd >= 0);
            t.remove(fd).unwrap();
        }
        assert_eq!(t.len(), 0);
    }
}
