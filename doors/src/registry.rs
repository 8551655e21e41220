//! [`Registry`]: the records of processes and threads, keyed by their ids
//! (the door logic's, and the kernel's own).
//!
//! Every door call and return looks up several of them, so this is a small
//! open-addressing hash table specialised for `u32` keys: Fibonacci hashing
//! into a power-of-two array of slots, linear probing, at most half full,
//! and backward-shift deletion (no tombstones). A lookup is a multiply, a
//! shift and usually one key comparison. It is unseeded, so instruction
//! counts are reproducible run to run.

use alloc::vec::Vec;

/// Slots of an empty registry (a power of two).
const MIN_SLOTS: usize = 8;

/// Where a value sits in a [`Registry`]: found once by [`Registry::find`],
/// then used for cheap repeated access. Valid until the next insert or
/// remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At(usize);

impl At {
    /// A position no value is at: a hint ([`Registry::get_hinted`]) that
    /// has yet to be learnt.
    pub const NOWHERE: At = At(usize::MAX);
}

/// Values keyed by `u32` ids, in no particular order.
///
/// Invariants: `slots.len()` is a power of two `>= MIN_SLOTS` and equals
/// `1 << (64 - shift)`; `2 * len <= slots.len()`; every key sits in the run
/// of occupied slots that starts at its home slot ([`Registry::home`]).
pub struct Registry<T> {
    slots: Vec<Option<(u32, T)>>,
    shift: u32,
    len: usize,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Registry<T> {
    /// An empty registry; it allocates at its first insert (so it can
    /// initialise a `static`).
    pub const fn new() -> Self {
        Registry {
            slots: Vec::new(),
            shift: 64,
            len: 0,
        }
    }

    fn with_slots(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        Registry {
            slots: (0..n).map(|_| None).collect(),
            shift: 64 - n.trailing_zeros(),
            len: 0,
        }
    }

    /// The slot where the probe for `key` starts (out of range when there
    /// are no slots).
    #[inline(always)]
    fn home(&self, key: u32) -> usize {
        u64::from(key)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_shr(self.shift) as usize
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Where the value under `key` is.
    #[inline(always)]
    pub fn find(&self, key: u32) -> Option<At> {
        let mut i = self.home(key);
        loop {
            match self.slots.get(i)? {
                Some((k, _)) if *k == key => return Some(At(i)),
                Some(_) => i = (i + 1) & self.mask(),
                None => return None,
            }
        }
    }

    /// The value at `at`.
    #[inline(always)]
    pub fn at(&self, at: At) -> &T {
        &self.slots[at.0]
            .as_ref()
            .expect("stale registry position")
            .1
    }

    /// The value at `at`, mutably.
    #[inline(always)]
    pub fn at_mut(&mut self, at: At) -> &mut T {
        &mut self.slots[at.0]
            .as_mut()
            .expect("stale registry position")
            .1
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn contains_key(&self, key: &u32) -> bool {
        self.find(*key).is_some()
    }

    #[inline(always)]
    pub fn get(&self, key: &u32) -> Option<&T> {
        let mut i = self.home(*key);
        loop {
            match self.slots.get(i)? {
                Some((k, v)) if k == key => return Some(v),
                Some(_) => i = (i + 1) & self.mask(),
                None => return None,
            }
        }
    }

    /// The value under `key`, looked for first at `hint` (where it was
    /// found last time; any position will do, it is checked), which is
    /// set to where it is when it was elsewhere: a lookup that finds it
    /// there is an index and one key comparison, with no hashing.
    #[inline(always)]
    pub fn get_hinted(&self, hint: &mut At, key: u32) -> Option<&T> {
        match self.slots.get(hint.0) {
            Some(Some((k, v))) if *k == key => Some(v),
            _ => self.get_and_hint(hint, key),
        }
    }

    /// [`Registry::get_hinted`] when the hint was wrong.
    #[cold]
    #[inline(never)]
    fn get_and_hint(&self, hint: &mut At, key: u32) -> Option<&T> {
        let at = self.find(key)?;
        *hint = at;
        Some(self.at(at))
    }

    #[inline(always)]
    pub fn get_mut(&mut self, key: &u32) -> Option<&mut T> {
        let at = self.find(*key)?;
        match &mut self.slots[at.0] {
            Some((_, v)) => Some(v),
            None => None,
        }
    }

    /// Stores `value` under `key`, returning the value it replaces.
    pub fn insert(&mut self, key: u32, value: T) -> Option<T> {
        if let Some(at) = self.find(key) {
            return Some(core::mem::replace(self.at_mut(at), value));
        }
        if 2 * (self.len + 1) > self.slots.len() {
            let mut bigger = Self::with_slots((2 * self.slots.len()).max(MIN_SLOTS));
            for (k, v) in self.slots.drain(..).flatten() {
                bigger.place(k, v);
            }
            *self = bigger;
        }
        self.place(key, value);
        None
    }

    /// Puts an absent `key` in the first free slot of its probe sequence.
    fn place(&mut self, key: u32, value: T) {
        let mut i = self.home(key);
        while self.slots[i].is_some() {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = Some((key, value));
        self.len += 1;
    }

    /// Removes and returns the value under `key`.
    pub fn remove(&mut self, key: &u32) -> Option<T> {
        let mut hole = self.find(*key)?.0;
        let (_, value) = self.slots[hole].take().expect("found slot is occupied");
        self.len -= 1;
        // Shift later entries of the run back into the hole unless that
        // would put them before their home slot.
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask();
            let Some((k, _)) = &self.slots[j] else {
                return Some(value);
            };
            let home = self.home(*k);
            if (j.wrapping_sub(home) & self.mask()) >= (j.wrapping_sub(hole) & self.mask()) {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
    }

    /// All keys with their values.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.slots.iter())
    }

    /// All values.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().map(|(_, v)| v)
    }

    /// All values, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten().map(|(_, v)| v)
    }
}

impl<T> core::ops::Index<&u32> for Registry<T> {
    type Output = T;

    #[inline]
    fn index(&self, key: &u32) -> &T {
        self.get(key).expect("no record with this id")
    }
}

/// The keys and values of a [`Registry`].
pub struct Iter<'a, T>(core::slice::Iter<'a, Option<(u32, T)>>);

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (&'a u32, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.by_ref().flatten().next().map(|(k, v)| (k, v))
    }
}

impl<'a, T> IntoIterator for &'a Registry<T> {
    type Item = (&'a u32, &'a T);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec;

    #[test]
    fn behaves_like_a_map_through_growth_and_removal() {
        let mut r = Registry::default();
        let mut m = BTreeMap::new();
        // Keys that collide in few slots, and spread ones.
        let keys: Vec<u32> = (0..200u32)
            .map(|i| if i % 3 == 0 { i << 20 } else { i * 7 + 1 })
            .collect();
        for (n, &k) in keys.iter().enumerate() {
            assert_eq!(r.insert(k, n), m.insert(k, n));
            if n % 4 == 3 {
                let gone = keys[n / 2];
                assert_eq!(r.remove(&gone), m.remove(&gone));
            }
            assert_eq!(r.iter().count(), m.len());
        }
        for &k in &keys {
            assert_eq!(r.get(&k), m.get(&k));
            assert_eq!(r.contains_key(&k), m.contains_key(&k));
        }
        let mut all: Vec<(u32, usize)> = r.iter().map(|(&k, &v)| (k, v)).collect();
        all.sort_unstable();
        assert_eq!(all, m.into_iter().collect::<Vec<_>>());
        for k in keys {
            r.remove(&k);
        }
        assert!(r.is_empty());
        assert_eq!(r.get(&1), None);
    }

    #[test]
    fn hinted_lookups_find_what_lookups_do_through_stale_hints() {
        let mut r = Registry::default();
        let mut m = BTreeMap::new();
        let keys: Vec<u32> = (0..120u32)
            .map(|i| if i % 2 == 0 { i << 16 } else { i * 13 + 5 })
            .collect();
        // One hint per key, kept across inserts and removals that move
        // values (growth, backward shifts).
        let mut hints = vec![At::NOWHERE; keys.len()];
        for (n, &k) in keys.iter().enumerate() {
            r.insert(k, n);
            m.insert(k, n);
            if n % 3 == 2 {
                let gone = keys[n / 2];
                r.remove(&gone);
                m.remove(&gone);
            }
            for (i, &key) in keys[..=n].iter().enumerate() {
                assert_eq!(r.get_hinted(&mut hints[i], key), m.get(&key));
                if m.contains_key(&key) {
                    assert_eq!(Some(hints[i]), r.find(key), "the hint learnt");
                }
            }
        }
    }
}
