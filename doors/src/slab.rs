//! A generational arena: the storage for door objects and invocations.
//!
//! Keys carry the generation of the slot they were issued for, so a key kept
//! after its value was removed never finds the slot's next occupant.

use alloc::vec::Vec;

/// Names one value of a [`Slab`].
///
/// Invariant: `generation` is the generation the slot had when the value was
/// inserted; the slot's generation changes when the value is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    index: u32,
    generation: u32,
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Values addressed by [`Key`]s; freed slots are reused (last freed first).
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value`, returning its key.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return Key {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).expect("slab index overflow");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key {
            index,
            generation: 0,
        }
    }

    /// The value named by `key`, if it is still there.
    #[inline]
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.index as usize)?;
        if slot.generation == key.generation {
            slot.value.as_ref()
        } else {
            None
        }
    }

    /// The value named by `key`, mutably, if it is still there.
    #[inline]
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation == key.generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// The value named by `key`, mutably, which must be live (a key that
    /// another record, a reference or the kernel holds for a value still
    /// there): its generation is checked in debug builds only.
    #[inline(always)]
    pub fn live_mut(&mut self, key: Key) -> &mut T {
        let slot = &mut self.slots[key.index as usize];
        debug_assert_eq!(slot.generation, key.generation, "a stale key");
        slot.value.as_mut().expect("a live key")
    }

    /// The values named by `a` and `b`, both mutably, if both are still
    /// there and are two different values.
    #[inline(always)]
    pub fn pair_mut(&mut self, a: Key, b: Key) -> Option<(&mut T, &mut T)> {
        let (i, j) = (a.index as usize, b.index as usize);
        let (x, y) = match i < j {
            true => {
                let (low, high) = self.slots.split_at_mut_checked(j)?;
                (low.get_mut(i)?, high.first_mut()?)
            }
            false => {
                let (low, high) = self.slots.split_at_mut_checked(i)?;
                (high.first_mut()?, low.get_mut(j)?)
            }
        };
        if x.generation != a.generation || y.generation != b.generation {
            return None;
        }
        Some((x.value.as_mut()?, y.value.as_mut()?))
    }

    /// The values named by live keys `a` and `b` ([`Slab::live_mut`]), both
    /// mutably, unless they are one value.
    #[inline(always)]
    pub fn live_pair_mut(&mut self, a: Key, b: Key) -> Option<(&mut T, &mut T)> {
        let (i, j) = (a.index as usize, b.index as usize);
        if i == j {
            return None;
        }
        let (x, y) = match i < j {
            true => {
                let (low, high) = self.slots.split_at_mut(j);
                (&mut low[i], &mut high[0])
            }
            false => {
                let (low, high) = self.slots.split_at_mut(i);
                (&mut high[0], &mut low[j])
            }
        };
        debug_assert_eq!(x.generation, a.generation, "a stale key");
        debug_assert_eq!(y.generation, b.generation, "a stale key");
        let live = "a live key";
        Some((x.value.as_mut().expect(live), y.value.as_mut().expect(live)))
    }

    /// Removes and returns the value named by `key`.
    #[inline]
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation || slot.value.is_none() {
            return None;
        }
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        slot.value.take()
    }

    /// Number of values stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// All stored values with their keys.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.value.as_ref().map(|v| {
                (
                    Key {
                        index: i as u32,
                        generation: s.generation,
                    },
                    v,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_key_does_not_find_the_slots_next_value() {
        let mut s = Slab::default();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
        let c = s.insert(3);
        assert_eq!(s.remove(c), Some(3));
        assert_eq!(s.remove(c), None);
        assert_eq!(s.get(c), None);
        assert_eq!(s.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn pair_mut_gives_two_live_values_only() {
        let mut s = Slab::default();
        let (a, b) = (s.insert(1), s.insert(2));
        let (x, y) = s.pair_mut(a, b).expect("two live values");
        (*x, *y) = (*x + 10, *y + 20);
        assert_eq!((s.get(a), s.get(b)), (Some(&11), Some(&22)));
        assert!(s.pair_mut(a, a).is_none(), "the same value twice");
        assert_eq!(s.remove(b), Some(22));
        assert!(s.pair_mut(a, b).is_none(), "a removed value");
        let c = s.insert(3);
        assert!(s.pair_mut(a, b).is_none(), "a stale key to a reused slot");
        assert!(s.pair_mut(c, a).is_some());
    }

    #[test]
    fn live_keys_reach_their_values() {
        let mut s = Slab::default();
        let (a, b) = (s.insert(1), s.insert(2));
        *s.live_mut(a) += 10;
        let (y, x) = s.live_pair_mut(b, a).expect("two values");
        (*x, *y) = (*x + 100, *y + 200);
        assert_eq!((s.get(a), s.get(b)), (Some(&111), Some(&202)));
        assert!(s.live_pair_mut(a, a).is_none(), "one value twice");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a stale key")]
    fn stale_live_key_panics_in_debug_builds() {
        let mut s = Slab::default();
        let a = s.insert(1);
        s.remove(a);
        s.insert(2);
        s.live_mut(a);
    }
}
