//! Linux's memory calls decoded: `mmap`, `mprotect`, `munmap`, `mremap`
//! and `brk` arguments checked and turned into page ranges and
//! protections, with Linux's error for each bad argument, before anything
//! changes. The kernel's address space carries them out.

use abi::Errno;

const PAGE: u64 = 4096;

pub const PROT_READ: u64 = 1;
pub const PROT_WRITE: u64 = 2;
pub const PROT_EXEC: u64 = 4;
pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_32BIT: u64 = 0x40;
pub const MAP_GROWSDOWN: u64 = 0x100;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_HUGETLB: u64 = 0x4_0000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
pub const MREMAP_MAYMOVE: u64 = 1;
pub const MREMAP_FIXED: u64 = 2;
pub const MREMAP_DONTUNMAP: u64 = 4;

/// Access to a range of pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };
    pub const READ_WRITE: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// A `PROT_*` value: EINVAL for bits other than READ, WRITE and EXEC
    /// (PROT_GROWSDOWN/UP included: no mapping grows here). As on x86,
    /// write and execute access imply read access.
    pub fn decode(prot: u64) -> Result<Prot, Errno> {
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Prot {
            read: prot != 0,
            write: prot & PROT_WRITE != 0,
            exec: prot & PROT_EXEC != 0,
        })
    }

    /// Whether `self` allows everything `other` does.
    pub fn covers(self, other: Prot) -> bool {
        (self.read || !other.read) && (self.write || !other.write) && (self.exec || !other.exec)
    }
}

/// `[start, start + len)`, page aligned, inside the user range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub len: u64,
}

impl Range {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }

    pub fn pages(&self) -> u64 {
        self.len / PAGE
    }
}

/// Where an `mmap` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Wherever there is room.
    Anywhere,
    /// At this address if there is room there, else anywhere.
    Hint(u64),
    /// Exactly here, replacing what was mapped.
    Fixed(u64),
    /// Exactly here, EEXIST if anything is mapped there.
    FixedNoReplace(u64),
}

/// An anonymous `mmap`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    pub placement: Placement,
    pub len: u64,
    pub prot: Prot,
    /// `MAP_SHARED`: the pages stay shared with the processes forked
    /// later, writes seen by all; else (`MAP_PRIVATE`) a fork makes them
    /// copy-on-write.
    pub shared: bool,
}

/// The page-rounded length of `len` bytes: ENOMEM when it overflows or
/// cannot fit in the user range.
fn page_len(len: u64, (user_start, user_end): (u64, u64)) -> Result<u64, Errno> {
    match len.checked_next_multiple_of(PAGE) {
        Some(l) if l <= user_end - user_start => Ok(l),
        _ => Err(Errno::ENOMEM),
    }
}

/// Decodes `mmap(addr, len, prot, flags, fd, offset)` for the user range
/// `[user_start, user_end)`. Only anonymous mappings exist here; a file
/// mapping is ENODEV. `MAP_SHARED` ones are shared with the children that
/// fork makes (and theirs), `MAP_PRIVATE` ones copy-on-write. As Linux:
/// an anonymous `MAP_SHARED_VALIDATE` is EINVAL (validation is for file
/// mappings, which report unknown flags with EOPNOTSUPP), and so is a
/// shared `MAP_GROWSDOWN`.
pub fn decode_mmap(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    offset: u64,
    (user_start, user_end): (u64, u64),
) -> Result<MapRequest, Errno> {
    let kind = flags & MAP_TYPE;
    if len == 0
        || !(MAP_SHARED..=MAP_SHARED_VALIDATE).contains(&kind)
        || !offset.is_multiple_of(PAGE)
        || flags & (MAP_HUGETLB | MAP_32BIT) != 0
    {
        return Err(Errno::EINVAL);
    }
    let prot = Prot::decode(prot)?;
    if flags & MAP_ANONYMOUS == 0 {
        return Err(Errno::ENODEV);
    }
    let shared = kind == MAP_SHARED;
    if kind == MAP_SHARED_VALIDATE || shared && flags & MAP_GROWSDOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_len(len, (user_start, user_end))?;
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let placement = if fixed {
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        if addr < user_start || addr > user_end - len {
            return Err(Errno::ENOMEM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            Placement::FixedNoReplace(addr)
        } else {
            Placement::Fixed(addr)
        }
    } else {
        let hint = addr & !(PAGE - 1);
        if hint >= user_start && hint <= user_end - len {
            Placement::Hint(hint)
        } else {
            Placement::Anywhere
        }
    };
    Ok(MapRequest {
        placement,
        len,
        prot,
        shared,
    })
}

/// Decodes the range of `munmap`/`mprotect`/`madvise(addr, len)`: EINVAL
/// for an unaligned address or (munmap) an empty range, ENOMEM for a range
/// outside the user range (mprotect and madvise; munmap says EINVAL).
pub fn decode_range(
    addr: u64,
    len: u64,
    empty_ok: bool,
    (user_start, user_end): (u64, u64),
) -> Result<Option<Range>, Errno> {
    if !addr.is_multiple_of(PAGE) || (len == 0 && !empty_ok) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(None);
    }
    let bad_range = if empty_ok {
        Errno::ENOMEM
    } else {
        Errno::EINVAL
    };
    let len = page_len(len, (user_start, user_end)).map_err(|_| bad_range)?;
    if addr < user_start || addr > user_end - len {
        return Err(if empty_ok {
            Errno::ENOMEM
        } else {
            Errno::EINVAL
        });
    }
    Ok(Some(Range { start: addr, len }))
}

/// An `mremap`, decoded: the old range, the new length, and whether the
/// mapping may move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remap {
    pub old: Range,
    pub new_len: u64,
    pub may_move: bool,
}

/// Decodes `mremap(old, old_len, new_len, flags, new_addr)`. Moving to a
/// chosen address (`MREMAP_FIXED`, `MREMAP_DONTUNMAP`) is not supported
/// (EINVAL); an `old_len` of 0 (duplicating a shared mapping) neither.
pub fn decode_mremap(
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    bounds: (u64, u64),
) -> Result<Remap, Errno> {
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
        || flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
        || new_len == 0
        || old_len == 0
    {
        return Err(Errno::EINVAL);
    }
    let old = decode_range(old, old_len, false, bounds)?.ok_or(Errno::EINVAL)?;
    let new_len = page_len(new_len, bounds)?;
    Ok(Remap {
        old,
        new_len,
        may_move: flags & MREMAP_MAYMOVE != 0,
    })
}

/// A process's program break: the heap that `brk` grows, from the page
/// after its highest loaded segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Brk {
    /// Where the break started (it never goes below).
    pub start: u64,
    /// The current break (any byte address at or above `start`).
    pub current: u64,
}

/// What moving the break needs of the address space: pages to map, or to
/// unmap (both page aligned), besides recording the new break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrkChange {
    /// Nothing to map or unmap (the same pages, or a query).
    Stay,
    Grow(Range),
    Shrink(Range),
}

impl Brk {
    pub fn new(start: u64) -> Brk {
        Brk {
            start,
            current: start,
        }
    }

    /// What `brk(new)` asks for: `None` if it cannot be granted (below the
    /// start, or beyond `limit`), in which case Linux's brk returns the
    /// current break unchanged.
    pub fn plan(&self, new: u64, limit: u64) -> Option<BrkChange> {
        if new < self.start || new > limit {
            return None;
        }
        let round = |a: u64| a.next_multiple_of(PAGE);
        let (old_end, new_end) = (round(self.current), round(new));
        Some(match new_end.cmp(&old_end) {
            core::cmp::Ordering::Equal => BrkChange::Stay,
            core::cmp::Ordering::Greater => BrkChange::Grow(Range {
                start: old_end,
                len: new_end - old_end,
            }),
            core::cmp::Ordering::Less => BrkChange::Shrink(Range {
                start: new_end,
                len: old_end - new_end,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: (u64, u64) = (0x1000, 0x8000_0000_0000);

    #[test]
    fn decodes_anonymous_maps() {
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let r = decode_mmap(0, 5000, PROT_READ | PROT_WRITE, anon, 0, USER).unwrap();
        assert_eq!(r.placement, Placement::Anywhere);
        assert_eq!(r.len, 8192);
        assert_eq!(r.prot, Prot::READ_WRITE);
        let r = decode_mmap(0x20_0123, 1, 0, anon, 0, USER).unwrap();
        assert_eq!(r.placement, Placement::Hint(0x20_0000));
        assert_eq!(r.prot, Prot::NONE);
        let r = decode_mmap(0x20_0000, 1, PROT_EXEC, anon | MAP_FIXED, 0, USER).unwrap();
        assert_eq!(r.placement, Placement::Fixed(0x20_0000));
        assert!(r.prot.read && r.prot.exec && !r.prot.write);
        let r = decode_mmap(0x20_0000, 1, 0, anon | MAP_FIXED_NOREPLACE, 0, USER).unwrap();
        assert_eq!(r.placement, Placement::FixedNoReplace(0x20_0000));
        let populate = decode_mmap(0, 1 << 30, PROT_READ, anon | MAP_POPULATE, 0, USER);
        assert_eq!(
            populate.map(|r| r.len),
            Ok(1 << 30),
            "MAP_POPULATE is accepted (and ignored: pages come at first touch)"
        );
        assert!(!r.shared, "MAP_PRIVATE");
        let kernel_hint = decode_mmap(0xffff_8000_0000_0000, 1, 0, anon, 0, USER).unwrap();
        assert_eq!(
            kernel_hint.placement,
            Placement::Anywhere,
            "a bad hint is only a hint"
        );
    }

    #[test]
    fn refuses_bad_maps_with_linux_errors() {
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        let e = |addr, len, prot, flags, off| decode_mmap(addr, len, prot, flags, off, USER).err();
        assert_eq!(e(0, 0, 0, anon, 0), Some(Errno::EINVAL), "empty");
        assert_eq!(e(0, 1, 0, MAP_ANONYMOUS, 0), Some(Errno::EINVAL), "no type");
        assert_eq!(e(0, 1, 8, anon, 0), Some(Errno::EINVAL), "unknown prot");
        assert_eq!(
            e(0, 1, 0, anon, 100),
            Some(Errno::EINVAL),
            "unaligned offset"
        );
        assert_eq!(e(0, u64::MAX, 0, anon, 0), Some(Errno::ENOMEM), "huge");
        assert_eq!(
            e(0, 1 << 47, 0, anon, 0),
            Some(Errno::ENOMEM),
            "the whole user half"
        );
        assert_eq!(e(0x1001, 1, 0, anon | MAP_FIXED, 0), Some(Errno::EINVAL));
        assert_eq!(
            e(0, 1, 0, anon | MAP_FIXED, 0),
            Some(Errno::ENOMEM),
            "page 0"
        );
        let kernel = 0xffff_ffff_8000_0000;
        assert_eq!(e(kernel, 1, 0, anon | MAP_FIXED, 0), Some(Errno::ENOMEM));
        assert_eq!(e(0, 1, 0, MAP_PRIVATE, 0), Some(Errno::ENODEV), "a file");
    }

    #[test]
    fn keeps_shared_maps_apart_from_private_ones() {
        let d = |flags| decode_mmap(0, 5000, PROT_READ | PROT_WRITE, flags, 0, USER);
        let shared = d(MAP_SHARED | MAP_ANONYMOUS).unwrap();
        assert!(shared.shared);
        assert_eq!((shared.len, shared.prot), (8192, Prot::READ_WRITE));
        assert!(!d(MAP_PRIVATE | MAP_ANONYMOUS).unwrap().shared);
        let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE;
        let fixed = decode_mmap(0x20_0000, 1, PROT_READ, flags, 0, USER).unwrap();
        assert!(fixed.shared, "other flags keep the type");
        assert_eq!(fixed.placement, Placement::Fixed(0x20_0000));
        assert_eq!(
            d(MAP_SHARED_VALIDATE | MAP_ANONYMOUS),
            Err(Errno::EINVAL),
            "Linux validates only file mappings: an anonymous one is EINVAL"
        );
        assert_eq!(
            d(MAP_SHARED_VALIDATE),
            Err(Errno::ENODEV),
            "a file, validated or not"
        );
        assert_eq!(d(MAP_SHARED), Err(Errno::ENODEV), "a shared file");
        assert_eq!(
            d(MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN),
            Err(Errno::EINVAL),
            "a shared mapping cannot grow down"
        );
        let down = d(MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN);
        assert!(down.is_ok_and(|r| !r.shared), "a private one may ask");
        assert_eq!(d(0x08 | MAP_ANONYMOUS), Err(Errno::EINVAL), "no other type");
    }

    #[test]
    fn decodes_ranges() {
        assert_eq!(
            decode_range(0x2000, 1, false, USER),
            Ok(Some(Range {
                start: 0x2000,
                len: 0x1000
            }))
        );
        assert_eq!(decode_range(0x2001, 1, false, USER), Err(Errno::EINVAL));
        assert_eq!(decode_range(0x2000, 0, false, USER), Err(Errno::EINVAL));
        assert_eq!(decode_range(0x2000, 0, true, USER), Ok(None));
        let kernel = 0xffff_ffff_8000_0000;
        assert_eq!(decode_range(kernel, 4096, true, USER), Err(Errno::ENOMEM));
        assert_eq!(decode_range(kernel, 4096, false, USER), Err(Errno::EINVAL));
        assert_eq!(
            decode_range(0x1000, u64::MAX, true, USER),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn decodes_remaps() {
        let r = decode_mremap(0x2000, 4096, 10000, MREMAP_MAYMOVE, USER).unwrap();
        assert_eq!(r.new_len, 12288);
        assert!(r.may_move);
        assert_eq!(
            decode_mremap(0x2000, 4096, 8192, MREMAP_FIXED, USER),
            Err(Errno::EINVAL)
        );
        assert_eq!(decode_mremap(0x2000, 4096, 0, 0, USER), Err(Errno::EINVAL));
        assert_eq!(
            decode_mremap(0x2000, 4096, u64::MAX, 0, USER),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn plans_the_break() {
        let mut brk = Brk::new(0x40_5000);
        assert_eq!(brk.plan(0x40_4fff, u64::MAX), None, "below the start");
        assert_eq!(brk.plan(0x40_5000, u64::MAX), Some(BrkChange::Stay));
        assert_eq!(
            brk.plan(0x40_6001, u64::MAX),
            Some(BrkChange::Grow(Range {
                start: 0x40_5000,
                len: 0x2000
            }))
        );
        assert_eq!(brk.plan(0x50_0000, 0x48_0000), None, "beyond the limit");
        brk.current = 0x40_6001;
        assert_eq!(brk.plan(0x40_6fff, u64::MAX), Some(BrkChange::Stay));
        assert_eq!(
            brk.plan(0x40_5000, u64::MAX),
            Some(BrkChange::Shrink(Range {
                start: 0x40_5000,
                len: 0x2000
            }))
        );
    }
}
