//! [`Records`]: the process and thread records of the door logic. Each has
//! an id the kernel chose (a pid or tid, looked up by hashing through a
//! [`Registry`]) and a stable [`Key`] into a [`Slab`], which the records use
//! to name each other (a pool's idle threads, a caller and the server
//! thread holding its invocation, a thread's process) and which the kernel
//! keeps for the fast path: reaching a record by key is an index and a
//! generation check, no hashing.

use crate::registry::Registry;
use crate::slab::{Key, Slab};

/// Records of `T`, each under an id and a key.
pub(crate) struct Records<T> {
    slab: Slab<T>,
    ids: Registry<Key>,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Records {
            slab: Slab::default(),
            ids: Registry::default(),
        }
    }
}

impl<T> Records<T> {
    /// Stores `value` under `id`; its key. `None` (nothing stored) if `id`
    /// is taken.
    pub fn insert(&mut self, id: u32, value: T) -> Option<Key> {
        if self.ids.contains_key(&id) {
            return None;
        }
        let key = self.slab.insert(value);
        self.ids.insert(id, key);
        Some(key)
    }

    /// Removes and returns the record under `id`.
    pub fn remove(&mut self, id: &u32) -> Option<T> {
        let key = self.ids.remove(id)?;
        self.slab.remove(key)
    }

    /// The key of the record under `id`.
    #[inline]
    pub fn find(&self, id: u32) -> Option<Key> {
        self.ids.get(&id).copied()
    }

    #[inline]
    pub fn contains_key(&self, id: &u32) -> bool {
        self.ids.contains_key(id)
    }

    /// The record under `id`.
    #[inline]
    pub fn get(&self, id: &u32) -> Option<&T> {
        self.slab.get(self.find(*id)?)
    }

    /// The record under `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: &u32) -> Option<&mut T> {
        let key = self.find(*id)?;
        self.slab.get_mut(key)
    }

    /// The record with key `key`, mutably (`None` once it is removed).
    #[inline(always)]
    pub fn by_key_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slab.get_mut(key)
    }

    /// [`Records::at_mut`] with the generation checked in debug builds
    /// only (the door fast path's lookups: `Slab::live`).
    #[inline(always)]
    pub fn live_mut(&mut self, key: Key) -> &mut T {
        self.slab.live_mut(key)
    }

    /// The records with live keys `a` and `b` ([`Records::live_mut`]),
    /// both mutably, unless they are one record.
    #[inline(always)]
    pub fn live_pair_mut(&mut self, a: Key, b: Key) -> Option<(&mut T, &mut T)> {
        self.slab.live_pair_mut(a, b)
    }

    /// The record with key `key`, which must be live (a key held by another
    /// record, or by the kernel for a live thread).
    #[inline(always)]
    pub fn at(&self, key: Key) -> &T {
        self.slab.get(key).expect("a live record's key")
    }

    /// [`Records::at`], mutably.
    #[inline(always)]
    pub fn at_mut(&mut self, key: Key) -> &mut T {
        self.slab.get_mut(key).expect("a live record's key")
    }

    /// All records with their keys.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slab.iter()
    }

    /// The id of the record with key `key`.
    #[cfg(test)]
    pub fn id_of(&self, key: Key) -> u32 {
        let ids = self.ids.iter();
        *ids.into_iter()
            .find(|(_, k)| **k == key)
            .expect("a live key")
            .0
    }

    /// All records.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slab.iter().map(|(_, v)| v)
    }
}

impl<T> core::ops::Index<&u32> for Records<T> {
    type Output = T;

    fn index(&self, id: &u32) -> &T {
        self.get(id).expect("no record with this id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys_name_the_same_records() {
        let mut r = Records::default();
        let a = r.insert(10, 'a').unwrap();
        let b = r.insert(20, 'b').unwrap();
        assert_eq!(r.insert(10, 'x'), None, "a taken id");
        assert_eq!(r.by_key_mut(a).copied(), Some('a'));
        assert_eq!(r.get(&10), Some(&'a'));
        assert_eq!(r.find(20), Some(b));
        assert_eq!(r.remove(&10), Some('a'));
        assert_eq!(r.by_key_mut(a), None, "a key outlives nothing");
        let c = r.insert(10, 'c').unwrap();
        assert_ne!(a, c);
        assert_eq!(r.id_of(c), 10);
        assert_eq!(r.values().count(), 2);
        assert_eq!(r[&20], 'b');
    }
}
