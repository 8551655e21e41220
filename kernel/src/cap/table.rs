//! A process's descriptor table.
//!
//! A table numbers its descriptors one of two ways ([`Numbering`]).
//!
//! **Generations** (native programs): a descriptor is a non-negative
//! `i32` whose low [`INDEX_BITS`] bits are the slot index and the bits
//! above them the slot's generation, which changes every time the slot is
//! freed. A stale descriptor (its slot was closed and maybe reused) or a
//! forged one therefore fails to resolve, which the callers turn into
//! `EBADF`. The first use of slot `i` has generation 0, so a fresh table
//! hands out `0, 1, 2, ...` like Unix. dup2 names its descriptor exactly,
//! as POSIX has it: onto an open descriptor (which it replaces), or onto a
//! free slot under the number's own generation (so `close(5); dup2(d, 5)`
//! works), but never onto a slot another descriptor holds under another
//! generation (EBADF: that number is stale, and taking the slot would
//! close the other descriptor). A slot never hands out a generation it
//! handed out before when it is freed, whatever dup2 named it meanwhile
//! (until generations wrap).
//!
//! **POSIX** (Linux programs): a descriptor is its slot's index
//! (generation 0), so a closed number is free for the next descriptor at
//! once and every new descriptor is the lowest free number, as POSIX
//! requires (`close(1); open(...)` gives 1). dup2 onto any number below
//! the capacity replaces what is open there. Descriptors a table held
//! under a generation when it switched to POSIX numbering (a Linux program
//! exec'd by a native one) keep their numbers until closed; their slots
//! are not free, so dup2 onto the plain number of such a slot is EBADF, as
//! with generations, rather than closing a descriptor under another
//! number (Linux's error for a number taken but not open, EBUSY, is one C
//! libraries retry for ever: musl's dup2 does); and a number with
//! generation bits that names no open descriptor is EBADF (beyond the
//! capacity, as Linux sees it). Lookups are the same in both numberings:
//! an index and a compare.
//!
//! Each entry holds what the descriptor names (a capability, `C`) and its
//! descriptor flags (close-on-exec).

use abi::Errno;
use alloc::vec::Vec;

/// Bits of a descriptor that hold the slot index.
pub const INDEX_BITS: u32 = 12;
/// The largest table capacity the descriptor encoding allows.
pub const MAX_CAPACITY: usize = 1 << INDEX_BITS;
/// Generations wrap at this value, keeping descriptors positive `i32`s.
const GEN_LIMIT: u32 = 1 << (31 - INDEX_BITS);

/// How a table numbers its descriptors (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numbering {
    /// The slot's index and its generation: a stale number fails to
    /// resolve (native programs).
    Generations,
    /// The slot's index alone, the lowest free one first (Linux programs).
    Posix,
}

/// What [`Table::insert_at`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Placed<C> {
    /// The entry it replaced (the number was open).
    pub replaced: Option<Entry<C>>,
    /// How many slots it added.
    pub growth: usize,
}

/// An open descriptor: what it names, and its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<C> {
    pub cap: C,
    /// FD_CLOEXEC: closed when the process executes another program.
    pub cloexec: bool,
}

#[derive(Clone, Copy)]
struct Slot<C> {
    /// The generation of the descriptor naming it (while it holds an
    /// entry), or of the next one (while it is free).
    generation: u32,
    /// The newest generation it has had (dup2 may name an older one).
    newest: u32,
    entry: Option<Entry<C>>,
}

impl<C> Slot<C> {
    const FRESH: Slot<C> = Slot {
        generation: 0,
        newest: 0,
        entry: None,
    };
}

/// One process's descriptors.
///
/// Invariants: `used` equals the number of slots holding an entry;
/// `slots.len() <= MAX_CAPACITY`; `used <= capacity` except after the
/// capacity was lowered below the number of open descriptors; every slot's
/// `generation < GEN_LIMIT` and `newest < GEN_LIMIT`; a free slot's
/// `generation` is `newest`, which no descriptor had since the slot was
/// last freed (POSIX numbering fills a slot under generation 0 instead).
#[derive(Clone)]
pub struct Table<C> {
    slots: Vec<Slot<C>>,
    used: usize,
    capacity: usize,
    numbering: Numbering,
}

fn encode(index: usize, generation: u32) -> i32 {
    ((generation << INDEX_BITS) | index as u32) as i32
}

/// A descriptor's slot index and generation (`None` for a negative one).
fn decode(fd: i32) -> Option<(usize, u32)> {
    let fd = u32::try_from(fd).ok()?;
    Some(((fd & (MAX_CAPACITY as u32 - 1)) as usize, fd >> INDEX_BITS))
}

impl<C: Copy> Table<C> {
    /// An empty table holding at most `capacity` descriptors, numbering
    /// them with generations.
    pub fn new(capacity: usize) -> Self {
        Table {
            slots: Vec::new(),
            used: 0,
            capacity: capacity.min(MAX_CAPACITY),
            numbering: Numbering::Generations,
        }
    }

    /// How the table numbers new descriptors.
    pub fn numbering(&self) -> Numbering {
        self.numbering
    }

    /// Numbers new descriptors `numbering`'s way from now on; open ones
    /// keep their numbers.
    pub fn set_numbering(&mut self, numbering: Numbering) {
        self.numbering = numbering;
    }

    #[inline]
    fn slot_of(&self, fd: i32) -> Option<usize> {
        let (index, generation) = decode(fd)?;
        let slot = self.slots.get(index)?;
        (slot.generation == generation && slot.entry.is_some()).then_some(index)
    }

    /// The entry of descriptor `fd`, if it is open.
    #[inline]
    pub fn entry(&self, fd: i32) -> Option<Entry<C>> {
        self.slot_of(fd).and_then(|i| self.slots[i].entry)
    }

    /// What descriptor `fd` names, if it is open.
    #[inline]
    pub fn get(&self, fd: i32) -> Option<C> {
        self.entry(fd).map(|e| e.cap)
    }

    /// Sets the close-on-exec flag of `fd`; false if it is not open.
    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> bool {
        match self.slot_of(fd) {
            Some(i) => {
                if let Some(e) = self.slots[i].entry.as_mut() {
                    e.cloexec = cloexec;
                }
                true
            }
            None => false,
        }
    }

    /// How many more descriptors fit.
    #[inline]
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.used)
    }

    /// How many more descriptors fit when the table may add at most
    /// `spare` slots: its free slots first, then new ones.
    pub fn room_within(&self, spare: usize) -> usize {
        let free = self.slots.len().saturating_sub(self.used);
        self.room().min(free.saturating_add(spare))
    }

    /// Slots the table has (open or free): what it takes in memory.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Most descriptors the table holds (RLIMIT_NOFILE).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (at most [`MAX_CAPACITY`]); open descriptors
    /// stay open even above it.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.min(MAX_CAPACITY);
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.used
    }

    /// True when no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Stores `entry` in the lowest free slot whose index is at least
    /// `lowest` and below the capacity; `None` when no such slot fits.
    pub fn insert_from(&mut self, lowest: usize, entry: Entry<C>) -> Option<i32> {
        let inserted = self.insert_within(lowest, entry, usize::MAX);
        inserted.ok().map(|(fd, _)| fd)
    }

    /// [`Table::insert_from`] when the table may add at most `spare` new
    /// slots: the descriptor and how many slots it added. Errors: ENFILE
    /// (it would add more than `spare`; checked first), EMFILE (no slot
    /// fits).
    pub fn insert_within(
        &mut self,
        lowest: usize,
        entry: Entry<C>,
        spare: usize,
    ) -> Result<(i32, usize), Errno> {
        let free = self
            .slots
            .iter()
            .take(self.capacity)
            .enumerate()
            .skip(lowest)
            .position(|(_, s)| s.entry.is_none())
            .map(|i| i + lowest);
        let len = self.slots.len();
        let growth = match free {
            Some(_) => 0,
            None => len.max(lowest) + 1 - len,
        };
        if growth > spare {
            return Err(Errno::ENFILE);
        }
        if self.used >= self.capacity || lowest >= self.capacity {
            return Err(Errno::EMFILE);
        }
        let index = match free {
            Some(i) => i,
            None => {
                let i = len.max(lowest);
                if i >= self.capacity {
                    return Err(Errno::EMFILE);
                }
                self.slots.resize(i + 1, Slot::FRESH);
                i
            }
        };
        let slot = &mut self.slots[index];
        if self.numbering == Numbering::Posix {
            slot.generation = 0;
        }
        slot.entry = Some(entry);
        self.used += 1;
        Ok((encode(index, slot.generation), growth))
    }

    /// Stores `cap` in the lowest free slot; `None` when the table is full.
    pub fn insert(&mut self, cap: C) -> Option<i32> {
        self.insert_from(
            0,
            Entry {
                cap,
                cloexec: false,
            },
        )
    }

    /// Stores `entry` under exactly descriptor `fd` (dup2) when the table
    /// may add at most `spare` new slots. Errors (nothing changed): EBADF
    /// (`fd` is negative, its slot lies beyond the capacity, another
    /// descriptor holds its slot, or with POSIX numbering it carries a
    /// generation and is not open), ENFILE (it would add more than `spare`
    /// slots). See the module's documentation.
    pub fn insert_at(
        &mut self,
        fd: i32,
        entry: Entry<C>,
        spare: usize,
    ) -> Result<Placed<C>, Errno> {
        let (index, generation) = decode(fd).ok_or(Errno::EBADF)?;
        if index >= self.capacity {
            return Err(Errno::EBADF);
        }
        let holder = self.slots.get(index).filter(|s| s.entry.is_some());
        let allowed = match holder {
            Some(held) => held.generation == generation,
            None => generation == 0 || self.numbering == Numbering::Generations,
        };
        if !allowed {
            return Err(Errno::EBADF);
        }
        let growth = (index + 1).saturating_sub(self.slots.len());
        if growth > spare {
            return Err(Errno::ENFILE);
        }
        if growth > 0 {
            self.slots.resize(index + 1, Slot::FRESH);
        }
        let slot = &mut self.slots[index];
        let replaced = slot.entry.replace(entry);
        if replaced.is_none() {
            self.used += 1;
        }
        slot.generation = generation;
        slot.newest = slot.newest.max(generation);
        Ok(Placed { replaced, growth })
    }

    /// Frees descriptor `fd`, returning what it named.
    pub fn remove(&mut self, fd: i32) -> Option<C> {
        let i = self.slot_of(fd)?;
        let slot = &mut self.slots[i];
        slot.newest = (slot.newest + 1) % GEN_LIMIT;
        slot.generation = slot.newest;
        self.used -= 1;
        slot.entry.take().map(|e| e.cap)
    }

    /// All open descriptors with their entries, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, Entry<C>)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.entry.map(|e| (encode(i, s.generation), e)))
    }
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cap: u32) -> Entry<u32> {
        Entry {
            cap,
            cloexec: false,
        }
    }

    /// dup2 with no bound on new slots: the entry it replaced.
    fn place(t: &mut Table<u32>, fd: i32, cap: u32) -> Result<Option<Entry<u32>>, Errno> {
        t.insert_at(fd, entry(cap), usize::MAX).map(|p| p.replaced)
    }

    #[test]
    fn fresh_table_hands_out_small_integers_and_reuse_changes_generation() {
        let mut t = Table::new(4);
        assert_eq!(t.insert(7), Some(0));
        assert_eq!(t.insert(8), Some(1));
        assert_eq!(t.remove(0), Some(7));
        let again = t.insert(9).unwrap();
        assert_ne!(again, 0);
        assert_eq!(again & (MAX_CAPACITY as i32 - 1), 0);
        assert_eq!(t.get(0), None, "stale descriptor must not resolve");
        assert_eq!(t.get(again), Some(9));
    }

    #[test]
    fn full_table_refuses_and_forged_descriptors_do_not_resolve() {
        let mut t = Table::new(2);
        t.insert(1);
        t.insert(1);
        assert_eq!(t.room(), 0);
        assert_eq!(t.insert(1), None);
        assert_eq!(t.get(-1), None);
        assert_eq!(t.get(7 << INDEX_BITS), None);
        assert_eq!(t.get(3), None);
        assert_eq!(t.remove(5), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn generation_wraps_but_descriptors_stay_positive() {
        let mut t = Table::new(1);
        for _ in 0..GEN_LIMIT + 3 {
            let fd = t.insert(1).unwrap();
            assert!(fd >= 0);
            t.remove(fd).unwrap();
        }
        assert!(t.is_empty());
    }

    #[test]
    fn insert_from_takes_the_lowest_free_slot_at_or_above() {
        let mut t = Table::new(8);
        assert_eq!(t.insert_from(3, entry(1)), Some(3));
        assert_eq!(t.insert_from(3, entry(2)), Some(4));
        assert_eq!(t.insert(3), Some(0), "slots below stay free");
        assert_eq!(t.insert_from(8, entry(4)), None, "beyond the capacity");
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn insert_at_replaces_and_takes_the_chosen_value() {
        let mut t = Table::new(8);
        let a = t.insert(1).unwrap();
        assert_eq!(place(&mut t, a, 2), Ok(Some(entry(1))));
        assert_eq!(t.get(a), Some(2));
        assert_eq!(t.len(), 1);
        assert_eq!(place(&mut t, 5, 3), Ok(None));
        assert_eq!(t.get(5), Some(3));
        assert_eq!(
            place(&mut t, 9, 4),
            Err(Errno::EBADF),
            "beyond the capacity"
        );
        assert_eq!(place(&mut t, -1, 4), Err(Errno::EBADF));
        assert_eq!(t.len(), 2);
        // A free slot takes the number dup2 names, with its generation...
        t.remove(5).unwrap();
        assert_eq!(place(&mut t, 5, 6), Ok(None));
        assert_eq!(t.get(5), Some(6));
        // ... but the next descriptor there gets a generation never used.
        t.remove(5).unwrap();
        let next = t.insert_from(5, entry(7)).unwrap();
        assert_eq!(next, 5 | (2 << INDEX_BITS));
        assert_eq!((t.get(5), t.get(5 | (1 << INDEX_BITS))), (None, None));
    }

    #[test]
    fn insert_at_never_takes_a_slot_another_descriptor_holds() {
        let mut t = Table::new(8);
        let a = t.insert(1).unwrap();
        t.remove(a).unwrap();
        let b = t.insert(2).unwrap();
        assert_eq!(b, a | (1 << INDEX_BITS), "the slot reused");
        assert_eq!(place(&mut t, a, 3), Err(Errno::EBADF), "a stale number");
        assert_eq!(t.get(b), Some(2), "the holder keeps its slot");
        assert_eq!(t.len(), 1);
        // Closing the holder frees the slot under a new generation, which
        // neither old number names.
        t.remove(b).unwrap();
        let c = t.insert(4).unwrap();
        assert!(c != a && c != b);
        assert_eq!((t.get(a), t.get(b), t.get(c)), (None, None, Some(4)));
    }

    #[test]
    fn cloexec_is_per_descriptor() {
        let mut t = Table::new(4);
        let a = t.insert(1).unwrap();
        let b = t.insert(1).unwrap();
        assert!(t.set_cloexec(a, true));
        assert!(t.entry(a).unwrap().cloexec && !t.entry(b).unwrap().cloexec);
        assert!(!t.set_cloexec(3, true));
    }

    #[test]
    fn lowering_the_capacity_keeps_open_descriptors() {
        let mut t = Table::new(4);
        for cap in 0..3 {
            t.insert(cap);
        }
        t.set_capacity(2);
        assert_eq!((t.len(), t.room()), (3, 0));
        assert_eq!(t.insert(9), None);
        assert_eq!(t.get(2), Some(2));
    }

    fn posix(capacity: usize) -> Table<u32> {
        let mut t = Table::new(capacity);
        t.set_numbering(Numbering::Posix);
        t
    }

    #[test]
    fn posix_numbers_are_indices_and_the_lowest_free_comes_first() {
        let mut t = posix(8);
        assert_eq!(
            [t.insert(10), t.insert(11), t.insert(12)],
            [Some(0), Some(1), Some(2)]
        );
        assert_eq!(t.remove(1), Some(11));
        assert_eq!(t.insert(13), Some(1), "a closed number at once");
        assert_eq!(t.get(1), Some(13));
        t.remove(0).unwrap();
        t.remove(2).unwrap();
        assert_eq!(
            t.insert_from(1, entry(14)),
            Some(2),
            "F_DUPFD: lowest at or above"
        );
        assert_eq!(t.insert_from(5, entry(15)), Some(5));
        assert_eq!(t.insert(16), Some(0));
        assert_eq!(t.insert(17), Some(3));
        assert_eq!(t.insert_from(5, entry(18)), Some(6));
        assert_eq!(t.insert_from(8, entry(19)), None, "beyond the capacity");
        let numbers: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 5, 6]);
        for _ in 0..3 {
            t.remove(3).unwrap();
            assert_eq!(t.insert(20), Some(3), "no generation ever");
        }
    }

    #[test]
    fn posix_dup2_replaces_or_takes_any_number_below_the_capacity() {
        let mut t = posix(8);
        t.insert(1).unwrap();
        t.insert(2).unwrap();
        assert_eq!(place(&mut t, 1, 3), Ok(Some(entry(2))), "replaced");
        assert_eq!(t.get(1), Some(3));
        assert_eq!(place(&mut t, 6, 4), Ok(None));
        assert_eq!((t.get(6), t.len(), t.slots()), (Some(4), 3, 7));
        assert_eq!(t.insert(5), Some(2), "below what dup2 took");
        assert_eq!(
            place(&mut t, 8, 6),
            Err(Errno::EBADF),
            "beyond the capacity"
        );
        assert_eq!(place(&mut t, -1, 6), Err(Errno::EBADF));
        let carried = 3 | (1 << INDEX_BITS);
        assert_eq!(place(&mut t, carried, 6), Err(Errno::EBADF), "a generation");
        assert_eq!(t.remove(6), Some(4));
        assert_eq!(t.insert_from(4, entry(7)), Some(4));
        assert_eq!(t.insert_from(4, entry(8)), Some(5));
        assert_eq!(
            t.insert_from(4, entry(9)),
            Some(6),
            "the closed number again"
        );
        assert_eq!(t.len(), 6);
        // New slots beyond the bound: ENFILE, after the number's checks.
        assert_eq!(
            t.insert_at(7, entry(10), 0).map(|p| p.replaced),
            Err(Errno::ENFILE)
        );
        let placed = t.insert_at(7, entry(10), 1).unwrap();
        assert_eq!((placed.replaced, placed.growth), (None, 1));
        assert_eq!(
            t.insert_at(-1, entry(11), 0).map(|p| p.growth),
            Err(Errno::EBADF)
        );
    }

    #[test]
    fn descriptors_with_generations_keep_their_numbers_under_posix_numbering() {
        let mut t = Table::new(8);
        let first = t.insert(1).unwrap();
        t.remove(first).unwrap();
        let carried = t.insert(2).unwrap();
        assert_eq!(carried, 1 << INDEX_BITS, "slot 0's second descriptor");
        assert_eq!(t.insert(3), Some(1));
        t.set_numbering(Numbering::Posix);
        assert_eq!(t.get(carried), Some(2), "still open under its number");
        assert_eq!(t.get(0), None);
        assert_eq!(t.insert(4), Some(2), "slot 0 is not free");
        // dup2 onto its plain number closes nothing; onto its own number
        // it replaces it.
        assert_eq!(place(&mut t, 0, 5), Err(Errno::EBADF));
        assert_eq!(t.get(carried), Some(2));
        assert_eq!(place(&mut t, carried, 6), Ok(Some(entry(2))));
        assert_eq!(t.get(carried), Some(6));
        assert_eq!(t.len(), 3);
        // Once closed, its slot gives the plain number.
        assert_eq!(t.remove(carried), Some(6));
        assert_eq!(t.insert(7), Some(0));
        assert_eq!(place(&mut t, carried, 8), Err(Errno::EBADF), "stale");
        // Back to generations (a native program exec'd): a slot freed now
        // gives a number it never gave.
        t.set_numbering(Numbering::Generations);
        t.remove(0).unwrap();
        let next = t.insert(9).unwrap();
        assert_eq!(next & (MAX_CAPACITY as i32 - 1), 0);
        assert!(next != 0 && next != first && next != carried);
        assert_eq!(
            (t.get(0), t.get(carried), t.get(next)),
            (None, None, Some(9))
        );
    }

    #[test]
    fn a_lowered_capacity_bounds_new_numbers_in_free_slots_too() {
        for numbering in [Numbering::Generations, Numbering::Posix] {
            let mut t = Table::new(6);
            t.set_numbering(numbering);
            for cap in 0..6 {
                t.insert(cap).unwrap();
            }
            for fd in [0, 1, 4] {
                t.remove(fd).unwrap();
            }
            t.set_capacity(4);
            assert_eq!(
                t.insert_from(2, entry(9)),
                None,
                "slot 4 is free but beyond"
            );
            assert_eq!(t.insert(9).map(|fd| fd & 0xfff), Some(0));
        }
    }
}
