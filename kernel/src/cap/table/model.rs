//! The property test of [`Table`] against a model: random inserts (from
//! a lowest number), removes, dup2 placements, lookups, switches between
//! the two numberings and capacity changes. The model is the set of open
//! numbers; it says every result exactly, except the generation a table
//! numbering with generations picks, of which it checks that the number
//! was never closed before (a stale number never comes back by itself).

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

/// Slot indices the numbers name (a little beyond the capacities).
const INDICES: usize = 10;

/// A number to use: an open one (the k-th), a closed one (the k-th), or
/// one made of an index and a generation (or -1).
#[derive(Clone, Debug)]
enum Num {
    Open(usize),
    Closed(usize),
    Made(usize, u32),
    Negative,
}

#[derive(Clone, Debug)]
enum Op {
    /// Insert from this lowest number.
    Insert(usize),
    Remove(Num),
    /// dup2 onto this number.
    Place(Num),
    Get(Num),
    Numbering(Numbering),
    Capacity(usize),
}

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![
        3 => (0..8usize).prop_map(Num::Open),
        1 => (0..8usize).prop_map(Num::Closed),
        3 => (0..INDICES, prop_oneof![3 => Just(0u32), 1 => 1..3u32])
            .prop_map(|(i, g)| Num::Made(i, g)),
        1 => Just(Num::Negative),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let numbering = prop_oneof![Just(Numbering::Generations), Just(Numbering::Posix)];
    prop_oneof![
        6 => prop_oneof![4 => Just(0usize), 1 => 0..INDICES].prop_map(Op::Insert),
        5 => num().prop_map(Op::Remove),
        3 => num().prop_map(Op::Place),
        2 => num().prop_map(Op::Get),
        1 => numbering.prop_map(Op::Numbering),
        1 => (4..9usize).prop_map(Op::Capacity),
    ]
}

struct Model {
    open: BTreeMap<i32, u32>,
    /// Every number closed so far.
    closed: BTreeSet<i32>,
    numbering: Numbering,
    capacity: usize,
    /// The next value to store.
    next: u32,
}

fn index(fd: i32) -> usize {
    fd as usize & (MAX_CAPACITY - 1)
}

impl Model {
    fn resolve(&self, n: &Num) -> i32 {
        match *n {
            Num::Open(k) if !self.open.is_empty() => {
                *self.open.keys().nth(k % self.open.len()).unwrap()
            }
            Num::Closed(k) if !self.closed.is_empty() => {
                *self.closed.iter().nth(k % self.closed.len()).unwrap()
            }
            Num::Made(i, g) => encode(i, g),
            Num::Negative => -1,
            Num::Open(_) | Num::Closed(_) => 0,
        }
    }

    /// The lowest free index at or above `lowest` that an insert takes.
    fn lowest_free(&self, lowest: usize) -> Option<usize> {
        if self.open.len() >= self.capacity {
            return None;
        }
        let held: BTreeSet<usize> = self.open.keys().map(|&fd| index(fd)).collect();
        (lowest..self.capacity).find(|i| !held.contains(i))
    }

    /// What dup2 onto `fd` gives: the replaced value, or the error.
    fn place(&self, fd: i32) -> Result<Option<u32>, Errno> {
        if fd < 0 || index(fd) >= self.capacity {
            return Err(Errno::EBADF);
        }
        if let Some(&old) = self.open.get(&fd) {
            return Ok(Some(old));
        }
        let posix = self.numbering == Numbering::Posix;
        let plain = fd < MAX_CAPACITY as i32;
        let held = self.open.keys().any(|&other| index(other) == index(fd));
        match held || (posix && !plain) {
            true => Err(Errno::EBADF),
            false => Ok(None),
        }
    }

    fn step(&mut self, t: &mut Table<u32>, op: &Op) {
        let value = self.next;
        self.next += 1;
        match op {
            Op::Insert(lowest) => {
                let got = t.insert_from(
                    *lowest,
                    Entry {
                        cap: value,
                        cloexec: false,
                    },
                );
                let expected = self.lowest_free(*lowest);
                assert_eq!(got.map(index), expected, "{op:?}");
                if let Some(fd) = got {
                    match self.numbering {
                        Numbering::Posix => assert_eq!(fd as usize, index(fd), "a plain number"),
                        Numbering::Generations => {
                            assert!(!self.closed.contains(&fd), "{fd} was closed before")
                        }
                    }
                    self.open.insert(fd, value);
                }
            }
            Op::Remove(n) => {
                let fd = self.resolve(n);
                let expected = self.open.remove(&fd);
                assert_eq!(t.remove(fd), expected, "{op:?} ({fd})");
                if expected.is_some() {
                    self.closed.insert(fd);
                }
            }
            Op::Place(n) => {
                let fd = self.resolve(n);
                let expected = self.place(fd);
                let got = t.insert_at(
                    fd,
                    Entry {
                        cap: value,
                        cloexec: false,
                    },
                    usize::MAX,
                );
                let got = got.map(|p| p.replaced.map(|e| e.cap));
                assert_eq!(got, expected, "{op:?} ({fd})");
                if expected.is_ok() {
                    self.open.insert(fd, value);
                }
            }
            Op::Get(n) => {
                let fd = self.resolve(n);
                assert_eq!(t.get(fd), self.open.get(&fd).copied(), "{op:?} ({fd})");
            }
            Op::Numbering(numbering) => {
                t.set_numbering(*numbering);
                self.numbering = *numbering;
            }
            Op::Capacity(capacity) => {
                t.set_capacity(*capacity);
                self.capacity = *capacity;
            }
        }
    }

    fn check(&self, t: &Table<u32>) {
        let held: Vec<(i32, u32)> = t.iter().map(|(fd, e)| (fd, e.cap)).collect();
        assert!(held.is_sorted_by_key(|&(fd, _)| index(fd)), "in slot order");
        assert_eq!(held.into_iter().collect::<BTreeMap<_, _>>(), self.open);
        assert_eq!(t.len(), self.open.len());
        assert_eq!(t.room(), self.capacity.saturating_sub(self.open.len()));
        assert_eq!(t.numbering(), self.numbering);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_table_is_its_model_in_both_numberings(
        posix in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let numbering = if posix { Numbering::Posix } else { Numbering::Generations };
        let mut t = Table::new(6);
        t.set_numbering(numbering);
        let mut model = Model {
            open: BTreeMap::new(),
            closed: BTreeSet::new(),
            numbering,
            capacity: 6,
            next: 0,
        };
        for op in &ops {
            model.step(&mut t, op);
            model.check(&t);
        }
    }
}
