//! Host tests of the copy-on-write bookkeeping: the counts themselves, the
//! decisions of a touch, of fork and of a protection change, and a property
//! test that drives them as the kernel does (map eagerly or demand-zero,
//! private or shared, read, write, change the protection, unmap, fork with
//! or without a page to copy at once, exit over simulated page tables and
//! the real frame bitmap, every access decided by [`touch`], every fork by
//! [`fork_leaf`]) and checks every step against a model that knows nothing
//! of frames: which pages hold what, which were never touched, which pages
//! must still share one copy (copy-on-write, or for good: a shared area's
//! pages, whose writes every holder sees), and so how many frames are in
//! use.

use super::*;
use crate::frames::FrameBitmap;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

#[test]
fn a_frame_is_freed_by_its_last_mapping_only() {
    let mut storage = [7u16; 8];
    let mut s = ShareCounts::new(&mut storage);
    assert_eq!((s.mappings(3), s.shared_frames()), (1, 0), "storage zeroed");
    s.share(3).unwrap();
    s.share(3).unwrap();
    s.share(5).unwrap();
    assert_eq!((s.mappings(3), s.mappings(5), s.shared_frames()), (3, 2, 2));
    assert_eq!(s.release(3), Release::Kept);
    assert_eq!(s.release(3), Release::Kept);
    assert!(!s.is_shared(3));
    assert_eq!(s.shared_frames(), 1);
    assert_eq!(s.release(3), Release::Free);
    assert_eq!(s.release(5), Release::Kept);
    assert_eq!(s.release(5), Release::Free);
    assert_eq!(s.shared_frames(), 0);
}

#[test]
fn a_write_takes_an_unshared_frame_over_without_allocating() {
    let mut storage = [0u16; 4];
    let mut s = ShareCounts::new(&mut storage);
    let r = s.break_share(2, || panic!("no copy needed"));
    assert_eq!(r, Ok(Broken::TookOver));
}

#[test]
fn a_write_copies_a_shared_frame_or_fails_changing_nothing() {
    let mut storage = [0u16; 4];
    let mut s = ShareCounts::new(&mut storage);
    s.share(1).unwrap();
    assert_eq!(s.break_share(1, || None), Err(NoFrame));
    assert_eq!(s.mappings(1), 2, "a failed copy changes nothing");
    assert_eq!(s.break_share(1, || Some(3)), Ok(Broken::Copied { to: 3 }));
    assert_eq!((s.mappings(1), s.mappings(3), s.shared_frames()), (1, 1, 0));
    // The other mapping now owns frame 1 alone.
    assert_eq!(s.break_share(1, || None), Ok(Broken::TookOver));
}

#[test]
fn counts_that_cannot_grow_refuse_the_share() {
    let mut storage = [0u16; 1];
    let mut s = ShareCounts::new(&mut storage);
    for _ in 0..u16::MAX {
        s.share(0).unwrap();
    }
    assert_eq!(s.share(0), Err(Saturated(0)));
    assert_eq!(s.mappings(0), u32::from(u16::MAX) + 1);
    assert_eq!(s.share(1), Err(Saturated(1)), "beyond the storage");
    assert_eq!(s.release(1), Release::Free);
    assert_eq!(s.shared_frames(), 1);
}

/// Every case of [`touch`] against its rules, stated separately: no access
/// the area does not allow; an absent page takes a frame; only a write to
/// a read-only leaf of a writable area breaks a share.
#[test]
fn a_touch_needs_what_its_area_and_leaf_say() {
    let areas = [
        None,
        Some((false, false)),
        Some((true, false)),
        Some((true, true)),
    ];
    for area in areas {
        for leaf in [None, Some(false), Some(true)] {
            for write in [false, true] {
                let access = area.map(|(read, write)| AreaAccess { read, write });
                let allowed = area.is_some_and(|(r, w)| r && (w || !write));
                let expected = match (area.is_some_and(|(r, _)| r), leaf) {
                    (false, _) => Touch::Fault,
                    (true, None) => Touch::DemandZero,
                    (true, Some(false)) if write && allowed => Touch::BreakShare,
                    (true, Some(_)) if allowed => Touch::Ready,
                    (true, Some(_)) => Touch::Fault,
                };
                assert_eq!(
                    touch(access, leaf, write),
                    expected,
                    "{area:?} {leaf:?} {write}"
                );
            }
        }
    }
}

#[test]
fn fork_shares_shared_pages_copies_private_ones_and_else_copies_on_write() {
    assert_eq!(fork_leaf(true, false), ForkLeaf::Shared);
    assert_eq!(
        fork_leaf(true, true),
        ForkLeaf::Shared,
        "a private range does not un-share a shared page"
    );
    assert_eq!(fork_leaf(false, true), ForkLeaf::Copied);
    assert_eq!(fork_leaf(false, false), ForkLeaf::CopyOnWrite);
}

#[test]
fn a_protection_change_keeps_the_write_bit_off_only_where_a_write_may_copy() {
    for shared in [false, true] {
        for forked in [false, true] {
            for writable in [false, true] {
                let may_be_copy_on_write = !shared && forked && !writable;
                assert_eq!(
                    protect_keeps_write_off(shared, forked, writable),
                    may_be_copy_on_write,
                    "{shared} {forked} {writable}"
                );
            }
        }
    }
}

/// Frames in the simulated machine (frame 0 is reserved, as at boot).
const FRAMES: u64 = 24;
/// Pages per address space.
const PAGES: u64 = 6;

/// A page-table leaf.
#[derive(Clone, Copy, Debug)]
struct Leaf {
    frame: u64,
    writable: bool,
}

/// A page's area: whether it is writable, and shared.
#[derive(Clone, Copy, Debug)]
struct AreaM {
    writable: bool,
    shared: bool,
}

/// A simulated address space: its leaves, each page's area, and whether
/// it took part in a fork.
#[derive(Clone, Default)]
struct Space {
    leaves: BTreeMap<u64, Leaf>,
    areas: BTreeMap<u64, AreaM>,
    forked: bool,
}

/// Why a simulated access failed.
#[derive(Debug, PartialEq, Eq)]
enum AccessError {
    /// The page's area does not allow it.
    Violation,
    /// No frame for the page or the copy.
    NoFrame,
}

/// The kernel's side, simulated: page tables, the frame allocator, the
/// share counts and the bytes of each frame (one number per page).
struct Machine<'a> {
    frames: FrameBitmap<'a>,
    shares: ShareCounts<'a>,
    bytes: BTreeMap<u64, u64>,
    spaces: BTreeMap<u32, Space>,
}

impl Machine<'_> {
    /// Maps a fresh page holding `value` (mem_map, or loading a program).
    fn map(&mut self, s: u32, page: u64, writable: bool, value: u64) -> Result<(), NoFrame> {
        let frame = self.frames.alloc().ok_or(NoFrame)?;
        self.bytes.insert(frame, value);
        let space = self.spaces.get_mut(&s).unwrap();
        space.leaves.insert(page, Leaf { frame, writable });
        let shared = false;
        space.areas.insert(page, AreaM { writable, shared });
        Ok(())
    }

    /// Records a demand-zero page: its area only (a Linux mmap, private or
    /// shared).
    fn map_lazy(&mut self, s: u32, page: u64, writable: bool, shared: bool) {
        let area = AreaM { writable, shared };
        self.spaces.get_mut(&s).unwrap().areas.insert(page, area);
    }

    /// A protection change of a page's area (mprotect): a present leaf
    /// takes the write bit as the area, unless [`protect_keeps_write_off`].
    fn protect(&mut self, s: u32, page: u64, writable: bool) {
        let space = self.spaces.get_mut(&s).unwrap();
        let area = space.areas.get_mut(&page).unwrap();
        area.writable = writable;
        let (shared, forked) = (area.shared, space.forked);
        if let Some(leaf) = space.leaves.get_mut(&page) {
            leaf.writable = writable && !protect_keeps_write_off(shared, forked, leaf.writable);
        }
    }

    /// The contents of a present page.
    fn peek(&self, s: u32, page: u64) -> u64 {
        self.bytes[&self.spaces[&s].leaves[&page].frame]
    }

    /// Makes page `page` ready for an access (a write, with `write`) as
    /// the kernel does, [`touch`] deciding: an absent page takes a zeroed
    /// frame, a copy-on-write leaf breaks its share; returns its frame.
    fn access(&mut self, s: u32, page: u64, write: bool) -> Result<u64, AccessError> {
        loop {
            let space = &self.spaces[&s];
            let area = space.areas.get(&page).map(|a| AreaAccess {
                read: true,
                write: a.writable,
            });
            let leaf = space.leaves.get(&page).copied();
            let frame = match touch(area, leaf.map(|l| l.writable), write) {
                Touch::Ready => return Ok(leaf.unwrap().frame),
                Touch::Fault => return Err(AccessError::Violation),
                Touch::DemandZero => {
                    let frame = self.frames.alloc().ok_or(AccessError::NoFrame)?;
                    self.bytes.insert(frame, 0);
                    frame
                }
                Touch::BreakShare => {
                    let leaf = leaf.unwrap();
                    let frames = &mut self.frames;
                    let broken = self.shares.break_share(leaf.frame, || frames.alloc());
                    match broken.map_err(|NoFrame| AccessError::NoFrame)? {
                        Broken::TookOver => leaf.frame,
                        Broken::Copied { to } => {
                            self.bytes.insert(to, self.bytes[&leaf.frame]);
                            to
                        }
                    }
                }
            };
            let leaf = Leaf {
                frame,
                writable: area.unwrap().write,
            };
            self.spaces.get_mut(&s).unwrap().leaves.insert(page, leaf);
        }
    }

    fn read(&mut self, s: u32, page: u64) -> Result<u64, AccessError> {
        let frame = self.access(s, page, false)?;
        Ok(self.bytes[&frame])
    }

    fn write(&mut self, s: u32, page: u64, value: u64) -> Result<(), AccessError> {
        let frame = self.access(s, page, true)?;
        self.bytes.insert(frame, value);
        Ok(())
    }

    /// Removes a page and its leaf if present, freeing its frame if it was
    /// the last mapping.
    fn unmap(&mut self, s: u32, page: u64) {
        let space = self.spaces.get_mut(&s).unwrap();
        space.areas.remove(&page);
        let Some(leaf) = space.leaves.remove(&page) else {
            return;
        };
        if self.shares.release(leaf.frame) == Release::Free {
            self.frames.free(leaf.frame).unwrap();
            self.bytes.remove(&leaf.frame);
        }
    }

    /// Copies space `s` into a new space `child` as the kernel's fork: the
    /// untouched pages of shared areas take zeroed frames first, then each
    /// leaf goes as [`fork_leaf`] says (`private`: the page to copy at
    /// once). Without a frame the fork fails: the child is gone, the parent
    /// keeps its contents (the frames it took, the write bits it lost).
    fn fork(&mut self, s: u32, child: u32, private: Option<u64>) -> Result<(), NoFrame> {
        let parent = self.spaces.get_mut(&s).unwrap();
        parent.forked = true;
        for (&page, area) in &parent.areas {
            if area.shared && !parent.leaves.contains_key(&page) {
                let frame = self.frames.alloc().ok_or(NoFrame)?;
                self.bytes.insert(frame, 0);
                let writable = area.writable;
                parent.leaves.insert(page, Leaf { frame, writable });
            }
        }
        let mut copy = Space {
            leaves: BTreeMap::new(),
            areas: parent.areas.clone(),
            forked: true,
        };
        for (&page, leaf) in parent.leaves.iter_mut() {
            let area = parent.areas[&page];
            let own = match fork_leaf(area.shared, private == Some(page)) {
                ForkLeaf::Shared => {
                    self.shares.share(leaf.frame).unwrap();
                    *leaf
                }
                ForkLeaf::CopyOnWrite => {
                    self.shares.share(leaf.frame).unwrap();
                    leaf.writable = false;
                    *leaf
                }
                ForkLeaf::Copied => match self.frames.alloc() {
                    Some(frame) => {
                        self.bytes.insert(frame, self.bytes[&leaf.frame]);
                        let writable = area.writable;
                        Leaf { frame, writable }
                    }
                    None => {
                        for leaf in copy.leaves.values() {
                            if self.shares.release(leaf.frame) == Release::Free {
                                self.frames.free(leaf.frame).unwrap();
                                self.bytes.remove(&leaf.frame);
                            }
                        }
                        return Err(NoFrame);
                    }
                },
            };
            copy.leaves.insert(page, own);
        }
        self.spaces.insert(child, copy);
        Ok(())
    }

    fn exit(&mut self, s: u32) {
        let pages: Vec<u64> = self.spaces[&s].areas.keys().copied().collect();
        for page in pages {
            self.unmap(s, page);
        }
        self.spaces.remove(&s);
    }
}

/// A page as the model sees it: its contents, its area, and the version
/// of its contents (pages with the same version must share one frame;
/// none for a page never touched, which has no frame and reads as zero).
/// A shared area's page keeps its version when written: every holder
/// sees the write.
#[derive(Clone, Copy, Debug)]
struct PageM {
    value: u64,
    writable: bool,
    shared: bool,
    version: Option<u64>,
}

#[derive(Default)]
struct Model {
    spaces: BTreeMap<u32, BTreeMap<u64, PageM>>,
    /// Frames not holding any version.
    free: u64,
    next_version: u64,
}

impl Model {
    /// Pages holding `version`.
    fn holders(&self, version: Option<u64>) -> usize {
        let pages = self.spaces.values().flat_map(|s| s.values());
        pages.filter(|p| p.version == version).count()
    }

    fn new_version(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }

    /// Page `page` of space `s`, now touched: a frame of its own.
    fn touch(&mut self, s: u32, page: u64) {
        self.free -= 1;
        let version = Some(self.new_version());
        let p = self.spaces.get_mut(&s).unwrap().get_mut(&page).unwrap();
        p.version = version;
    }

    /// A write of `value` to every page holding `version`.
    fn write_everywhere(&mut self, version: Option<u64>, value: u64) {
        let pages = self.spaces.values_mut().flat_map(|s| s.values_mut());
        for p in pages.filter(|p| p.version == version) {
            p.value = value;
        }
    }

    /// A page stops holding its version; the last holder frees a frame.
    fn drop_page(&mut self, s: u32, page: u64) {
        let p = self.spaces.get_mut(&s).unwrap().remove(&page).unwrap();
        if p.version.is_some() && self.holders(p.version) == 0 {
            self.free += 1;
        }
    }

    fn exit(&mut self, s: u32) {
        let pages: Vec<u64> = self.spaces[&s].keys().copied().collect();
        for page in pages {
            self.drop_page(s, page);
        }
        self.spaces.remove(&s);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Map {
        s: usize,
        page: u64,
        writable: bool,
        value: u64,
    },
    MapLazy {
        s: usize,
        page: u64,
        writable: bool,
        shared: bool,
    },
    Protect {
        s: usize,
        page: u64,
        writable: bool,
    },
    Read {
        s: usize,
        page: u64,
    },
    Write {
        s: usize,
        page: u64,
        value: u64,
    },
    Unmap {
        s: usize,
        page: u64,
    },
    Fork {
        s: usize,
        private: Option<u64>,
    },
    Exit {
        s: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..8usize;
    let page = 0..PAGES;
    prop_oneof![
        4 => (s.clone(), page.clone(), proptest::bool::weighted(0.8), 1..1000u64)
            .prop_map(|(s, page, writable, value)| Op::Map { s, page, writable, value }),
        4 => (s.clone(), page.clone(), proptest::bool::weighted(0.8), any::<bool>())
            .prop_map(|(s, page, writable, shared)| Op::MapLazy { s, page, writable, shared }),
        2 => (s.clone(), page.clone(), any::<bool>())
            .prop_map(|(s, page, writable)| Op::Protect { s, page, writable }),
        3 => (s.clone(), page.clone()).prop_map(|(s, page)| Op::Read { s, page }),
        6 => (s.clone(), page.clone(), 1..1000u64)
            .prop_map(|(s, page, value)| Op::Write { s, page, value }),
        2 => (s.clone(), page.clone()).prop_map(|(s, page)| Op::Unmap { s, page }),
        2 => (s.clone(), proptest::option::weighted(0.3, page.clone()))
            .prop_map(|(s, private)| Op::Fork { s, private }),
        1 => s.prop_map(|s| Op::Exit { s }),
    ]
}

/// Runs `ops` from one space with nothing mapped; checks after every step
/// and that exiting every space gives every frame back.
fn run(ops: &[Op]) {
    let mut bits = [0u64; 1];
    let mut counts = [0u16; FRAMES as usize];
    let mut frames = FrameBitmap::new(&mut bits, FRAMES);
    frames.release_range(1, FRAMES);
    let initial = frames.free_count();
    let mut m = Machine {
        frames,
        shares: ShareCounts::new(&mut counts),
        bytes: BTreeMap::new(),
        spaces: BTreeMap::from([(1, Space::default())]),
    };
    let mut model = Model {
        spaces: BTreeMap::from([(1, BTreeMap::new())]),
        free: initial,
        ..Model::default()
    };
    let mut next_space = 2;
    for op in ops {
        let live: Vec<u32> = model.spaces.keys().copied().collect();
        if live.is_empty() {
            break;
        }
        let pick = |i: usize| live[i % live.len()];
        match *op {
            Op::Map {
                s,
                page,
                writable,
                value,
            } => {
                let s = pick(s);
                if model.spaces[&s].contains_key(&page) {
                    continue;
                }
                let r = m.map(s, page, writable, value);
                if model.free == 0 {
                    assert_eq!(r, Err(NoFrame));
                } else {
                    assert_eq!(r, Ok(()));
                    model.free -= 1;
                    let version = Some(model.new_version());
                    let p = PageM {
                        value,
                        writable,
                        shared: false,
                        version,
                    };
                    model.spaces.get_mut(&s).unwrap().insert(page, p);
                }
            }
            Op::MapLazy {
                s,
                page,
                writable,
                shared,
            } => {
                let s = pick(s);
                if model.spaces[&s].contains_key(&page) {
                    continue;
                }
                m.map_lazy(s, page, writable, shared);
                let p = PageM {
                    value: 0,
                    writable,
                    shared,
                    version: None,
                };
                model.spaces.get_mut(&s).unwrap().insert(page, p);
            }
            Op::Protect { s, page, writable } => {
                let s = pick(s);
                if let Some(p) = model.spaces.get_mut(&s).unwrap().get_mut(&page) {
                    m.protect(s, page, writable);
                    p.writable = writable;
                }
            }
            Op::Read { s, page } => {
                let s = pick(s);
                let Some(p) = model.spaces[&s].get(&page).copied() else {
                    assert_eq!(m.read(s, page), Err(AccessError::Violation));
                    continue;
                };
                let r = m.read(s, page);
                if p.version.is_some() {
                    assert_eq!(r, Ok(p.value));
                } else if model.free == 0 {
                    // The touching process is killed.
                    assert_eq!(r, Err(AccessError::NoFrame));
                    m.exit(s);
                    model.exit(s);
                } else {
                    assert_eq!(r, Ok(0), "an untouched page reads as zero");
                    model.touch(s, page);
                }
            }
            Op::Write { s, page, value } => {
                let s = pick(s);
                let Some(p) = model.spaces[&s].get(&page).copied() else {
                    assert_eq!(m.write(s, page, value), Err(AccessError::Violation));
                    continue;
                };
                let r = m.write(s, page, value);
                // A new frame for an untouched page, or a copy of a page
                // shared copy-on-write (never of a shared area's page).
                let untouched = p.version.is_none();
                let copy = !untouched && !p.shared && model.holders(p.version) > 1;
                if (untouched || copy && p.writable) && model.free == 0 {
                    // The faulting process is killed.
                    assert_eq!(r, Err(AccessError::NoFrame));
                    m.exit(s);
                    model.exit(s);
                } else if !p.writable {
                    // Even so, the untouched page took its frame first.
                    assert_eq!(r, Err(AccessError::Violation));
                    if untouched {
                        model.touch(s, page);
                    }
                } else {
                    assert_eq!(r, Ok(()));
                    if untouched || copy {
                        model.touch(s, page);
                    }
                    let version = model.spaces[&s][&page].version;
                    match p.shared {
                        true => model.write_everywhere(version, value),
                        false => {
                            model
                                .spaces
                                .get_mut(&s)
                                .unwrap()
                                .get_mut(&page)
                                .unwrap()
                                .value = value
                        }
                    }
                }
            }
            Op::Unmap { s, page } => {
                let s = pick(s);
                if model.spaces[&s].contains_key(&page) {
                    m.unmap(s, page);
                    model.drop_page(s, page);
                }
            }
            Op::Fork { s, private } => {
                let s = pick(s);
                let r = m.fork(s, next_space, private);
                // The untouched pages of shared areas take frames in page
                // order, then the private page (if present, and not a
                // shared area's) is copied.
                let pages = &model.spaces[&s];
                let untouched: Vec<u64> = pages
                    .iter()
                    .filter(|(_, p)| p.shared && p.version.is_none())
                    .map(|(&page, _)| page)
                    .collect();
                let copied = private.filter(|page| {
                    pages
                        .get(page)
                        .is_some_and(|p| !p.shared && p.version.is_some())
                });
                let needed = untouched.len() as u64 + u64::from(copied.is_some());
                let enough = model.free >= needed;
                for &page in untouched.iter().take(model.free as usize) {
                    model.touch(s, page);
                }
                if !enough {
                    assert_eq!(r, Err(NoFrame));
                    check(&m, &model);
                    continue;
                }
                assert_eq!(r, Ok(()));
                let mut copy = model.spaces[&s].clone();
                if let Some(page) = copied {
                    model.free -= 1;
                    copy.get_mut(&page).unwrap().version = Some(model.new_version());
                }
                model.spaces.insert(next_space, copy);
                next_space += 1;
            }
            Op::Exit { s } => {
                let s = pick(s);
                m.exit(s);
                model.exit(s);
            }
        }
        check(&m, &model);
    }
    let live: Vec<u32> = model.spaces.keys().copied().collect();
    for s in live {
        m.exit(s);
        model.exit(s);
        check(&m, &model);
    }
    assert_eq!(m.frames.free_count(), initial, "every frame given back");
    assert_eq!(m.shares.shared_frames(), 0);
    assert!(m.bytes.is_empty());
}

/// The machine against the model: contents, frames in use, share counts,
/// and which pages share a frame.
fn check(m: &Machine, model: &Model) {
    assert_eq!(
        m.spaces.keys().collect::<Vec<_>>(),
        model.spaces.keys().collect::<Vec<_>>()
    );
    assert_eq!(m.frames.free_count(), model.free, "frames in use");
    let mut leaves_of: BTreeMap<u64, u32> = BTreeMap::new();
    let mut frame_of_version: BTreeMap<u64, u64> = BTreeMap::new();
    let mut shared_of: BTreeMap<u64, bool> = BTreeMap::new();
    for (s, pages) in &model.spaces {
        let space = &m.spaces[s];
        assert_eq!(space.areas.len(), pages.len());
        let touched = pages.values().filter(|p| p.version.is_some()).count();
        assert_eq!(space.leaves.len(), touched, "a leaf per touched page");
        for (&page, p) in pages {
            let Some(version) = p.version else {
                assert!(!space.leaves.contains_key(&page), "untouched: no leaf");
                continue;
            };
            assert_eq!(m.peek(*s, page), p.value, "space {s} page {page}");
            let leaf = space.leaves[&page];
            assert!(
                p.writable || !leaf.writable,
                "a read-only area's leaf is read-only"
            );
            assert!(
                !p.shared || leaf.writable == p.writable,
                "a writable shared area's leaf is writable: no write copies it"
            );
            let first = *shared_of.entry(version).or_insert(p.shared);
            assert_eq!(
                first, p.shared,
                "a frame is a shared area's or a private one's"
            );
            *leaves_of.entry(leaf.frame).or_default() += 1;
            let frame = *frame_of_version.entry(version).or_insert(leaf.frame);
            assert_eq!(frame, leaf.frame, "pages of one version share one frame");
        }
    }
    let versions: BTreeSet<u64> = frame_of_version.values().copied().collect();
    assert_eq!(
        versions.len(),
        frame_of_version.len(),
        "one frame per version"
    );
    for (&frame, &n) in &leaves_of {
        assert_eq!(m.shares.mappings(frame), n, "share count of frame {frame}");
    }
    let shared = leaves_of.values().filter(|&&n| n > 1).count() as u64;
    assert_eq!(m.shares.shared_frames(), shared);
    for space in m.spaces.values() {
        for (page, leaf) in &space.leaves {
            assert!(
                !leaf.writable || space.areas[page].shared || leaves_of[&leaf.frame] == 1,
                "a private writable leaf's frame is mapped nowhere else"
            );
        }
    }
    assert_eq!(
        m.bytes.keys().collect::<BTreeSet<_>>(),
        leaves_of.keys().collect::<BTreeSet<_>>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn copy_on_write_keeps_contents_isolated_and_frames_exact(
        ops in proptest::collection::vec(op(), 1..150)
    ) {
        run(&ops);
    }
}
