//! Memory the fuzzer hands the kernel. Every pointer a fuzz thread passes
//! comes from here and is one of: inside the thread's own scratch area
//! (the only memory a call may write, so the fuzzer's heap and stacks are
//! never touched), read-only (the scratch area's read-only page, or the
//! program's constants), or bad: null, kernel, non-canonical, unmapped, the
//! unmappable top page, wrapping, or straddling into an unmapped page.
//! [`Access`] says which, so that a call that succeeds with a bad pointer
//! is a finding.

use crate::rng::Rng;
use alloc::vec;
use alloc::vec::Vec;
use userland::abi::{Sys, USER_END, Wire, prot};
use userland::sys::{Errno, check, syscall3};

pub const PAGE: usize = 4096;
/// Read-write bytes of a scratch area; a read-only page follows them, and
/// an unmapped page follows that.
pub const SCRATCH_RW: usize = 16 * PAGE;
/// Thread `i`'s scratch area is at `SCRATCH_BASE + i * STRIDE`, its
/// fixed `mem_map`s at `MAP_REGION + i * STRIDE` (nothing else is there).
const SCRATCH_BASE: usize = 0x0000_5000_0000_0000;
pub const MAP_REGION: usize = 0x0000_4000_0000_0000;
pub const STRIDE: usize = 1 << 32;
/// Thread `i`'s areas that threads it makes unmap as they end:
/// [`STUB_AREAS`] places [`STUB_AREA_STRIDE`] bytes apart from
/// `STUB_REGION + i * STRIDE` (nothing else maps or unmaps there).
pub const STUB_REGION: usize = MAP_REGION + (1 << 30);
pub const STUB_AREAS: usize = 64;
pub const STUB_AREA_STRIDE: usize = 16 * PAGE;
/// Never mapped by anyone.
const UNMAPPED: usize = 0x0000_6000_0000_0000;
/// The last user page, which the kernel never maps.
pub const TOP_PAGE: usize = USER_END as usize;
pub const KERNEL_WINDOW: usize = 0xffff_8000_0000_0000;
pub const KERNEL_IMAGE: usize = 0xffff_ffff_8000_0000;
pub const NON_CANONICAL: usize = 0x0000_8000_0000_0000;

/// Readable constants with varied bytes (read-only pointers, and the
/// data servers reply with).
pub static CONSTANTS: [u8; 16 * PAGE] = pattern();

const fn pattern() -> [u8; 16 * PAGE] {
    let mut bytes = [0; 16 * PAGE];
    let mut i = 0;
    while i < bytes.len() {
        bytes[i] = (i * 131 % 251) as u8;
        i += 1;
    }
    bytes
}

/// What the kernel may do with the bytes a pointer names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// Read and write.
    Write,
    /// Read only.
    Read,
    /// Neither: a call that must use them has to fail.
    Bad,
    /// Not known (an empty range at a bad address, or a range past the
    /// constants): no expectation.
    Unknown,
}

/// A pointer for a given length, and what it allows.
#[derive(Clone, Copy)]
pub struct Ptr {
    pub addr: usize,
    pub access: Access,
}

/// An address no call may use for even one byte.
pub fn bad_addr(rng: &mut Rng) -> usize {
    let offset = rng.below(1 << 30) as usize;
    match rng.below(7) {
        // Not 0, which some calls take as "none".
        0 => 1 + rng.below(PAGE as u64 - 1) as usize,
        1 => KERNEL_WINDOW + offset,
        2 => KERNEL_IMAGE + offset % (1 << 28),
        3 => NON_CANONICAL + offset,
        4 => rng.pick(&[
            1usize << 63,
            usize::MAX - offset % PAGE,
            0x0000_ffff_ffff_f000,
        ]),
        5 => UNMAPPED + offset,
        _ => TOP_PAGE + offset % PAGE,
    }
}

/// An address beyond user space (kernel, non-canonical, the top page).
pub fn beyond_user(rng: &mut Rng) -> usize {
    let offset = rng.below(1 << 30) as usize;
    rng.pick(&[
        KERNEL_WINDOW + offset,
        KERNEL_IMAGE + offset % (1 << 28),
        NON_CANONICAL + offset,
        TOP_PAGE + offset % PAGE,
        usize::MAX - offset % PAGE,
    ])
}

/// The bytes of an ABI structure (padding zeroed).
pub fn wire<T: Wire>(value: &T) -> Vec<u8> {
    let mut bytes = vec![0; T::SIZE];
    value.encode(&mut bytes);
    bytes
}

/// A length: mostly small, sometimes around a page or the scratch size,
/// sometimes huge.
pub fn size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=3 => rng.below(128) as usize,
        4 | 5 => rng.below(PAGE as u64 * 2) as usize,
        6 => PAGE * rng.below(4) as usize + rng.pick(&[0, 1, PAGE - 1]),
        7 => rng.below(SCRATCH_RW as u64 + PAGE as u64) as usize,
        _ => rng.boundary() as usize,
    }
}

/// An offset in `0..=room`, a multiple of 8 unless `misalign`.
fn offset(rng: &mut Rng, room: usize, misalign: bool) -> usize {
    (if misalign {
        rng.below(room as u64 + 1)
    } else {
        rng.below(room as u64 / 8 + 1) * 8
    }) as usize
}

/// One fuzz thread's scratch area.
pub struct Scratch {
    base: usize,
}

impl Scratch {
    /// Maps thread `index`'s area: read-write pages, then a read-only one.
    pub fn map(index: usize) -> Result<Scratch, Errno> {
        let base = SCRATCH_BASE + index * STRIDE;
        let rw = prot::READ | prot::WRITE;
        check(syscall3(Sys::MemMap, SCRATCH_RW, rw, base))?;
        check(syscall3(Sys::MemMap, PAGE, prot::READ, base + SCRATCH_RW))?;
        Ok(Scratch { base })
    }

    /// Whether `[addr, addr + len)` lies in the read-write part.
    pub fn holds(&self, addr: usize, len: usize) -> bool {
        addr >= self.base
            && addr
                .checked_add(len)
                .is_some_and(|e| e <= self.base + SCRATCH_RW)
    }

    /// A place for `len` bytes in the read-write part (`len` must fit),
    /// 8-byte aligned unless `misalign`.
    pub fn slot(&self, rng: &mut Rng, len: usize, misalign: bool) -> usize {
        self.base + offset(rng, SCRATCH_RW - len, misalign)
    }

    /// A place for `len` bytes (at most a page) within page `page` of the
    /// read-write part, 8-byte aligned unless `misalign`.
    pub fn slot_in(&self, rng: &mut Rng, page: usize, len: usize, misalign: bool) -> usize {
        self.base + page * PAGE + offset(rng, PAGE - len, misalign)
    }

    /// Copies `bytes` to `addr` (which [`holds`](Self::holds) them).
    pub fn write(&mut self, addr: usize, bytes: &[u8]) {
        assert!(self.holds(addr, bytes.len()), "scratch write out of range");
        // SAFETY: the range is in this thread's scratch area, mapped
        // read-write, which nothing else in the program uses.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
    }

    /// The value at `addr`, if the scratch area holds it.
    pub fn get<T: Copy>(&self, addr: usize) -> Option<T> {
        // SAFETY: as in `write`; any bit pattern is a valid `T` for the
        // plain ABI structures read here.
        self.holds(addr, size_of::<T>())
            .then(|| unsafe { (addr as *const T).read_unaligned() })
    }

    /// A copy of `[addr, addr + len)`, if the scratch area (its read-only
    /// page included) holds it.
    pub fn read(&self, addr: usize, len: usize) -> Option<Vec<u8>> {
        let end = self.base + SCRATCH_RW + PAGE;
        let inside = addr >= self.base && addr.checked_add(len).is_some_and(|e| e <= end);
        // SAFETY: the scratch area is mapped readable for the whole run,
        // and only this thread (and the kernel, in its calls) writes it.
        inside.then(|| unsafe { core::slice::from_raw_parts(addr as *const u8, len) }.to_vec())
    }

    /// A copy of `[addr, addr + len)`, if the scratch area or the
    /// constants hold it.
    pub fn peek(&self, addr: usize, len: usize) -> Option<Vec<u8>> {
        let constants = CONSTANTS.as_ptr() as usize;
        self.read(addr, len).or_else(|| {
            let offset = addr.checked_sub(constants)?;
            CONSTANTS
                .get(offset..offset.checked_add(len)?)
                .map(<[u8]>::to_vec)
        })
    }

    /// Random bytes over `[addr, addr + len)` (which it holds).
    pub fn scribble(&mut self, rng: &mut Rng, addr: usize, len: usize) {
        assert!(self.holds(addr, len), "scratch write out of range");
        for at in (addr..addr + len).step_by(8) {
            let word = rng.next().to_le_bytes();
            let n = (addr + len - at).min(8);
            self.write(at, &word[..n]);
        }
    }

    /// A pointer for `len` bytes, from every class.
    pub fn ptr(&self, rng: &mut Rng, len: usize) -> Ptr {
        let (addr, access) = match rng.below(16) {
            0..=6 if len <= SCRATCH_RW => {
                let misalign = rng.chance(30);
                (self.slot(rng, len, misalign), Access::Write)
            }
            7 if len <= PAGE => (
                self.base + SCRATCH_RW + rng.below((PAGE - len) as u64 + 1) as usize,
                Access::Read,
            ),
            8 if len <= CONSTANTS.len() => {
                let at = rng.below((CONSTANTS.len() - len) as u64 + 1) as usize;
                (CONSTANTS.as_ptr() as usize + at, Access::Read)
            }
            9 if len > 1 => {
                // Straddles from the read-write pages into the read-only one.
                let before = 1 + rng.below(len.min(SCRATCH_RW) as u64 - 1) as usize;
                let access = if len - before <= PAGE {
                    Access::Read
                } else {
                    Access::Bad
                };
                (self.base + SCRATCH_RW - before, access)
            }
            10 if len > 1 => {
                // Straddles from the read-only page into the unmapped one.
                let before = 1 + rng.below(len.min(PAGE) as u64 - 1) as usize;
                (self.base + SCRATCH_RW + PAGE - before, Access::Bad)
            }
            _ => (bad_addr(rng), Access::Bad),
        };
        let access = match access {
            Access::Bad if len == 0 => Access::Unknown,
            a => a,
        };
        Ptr { addr, access }
    }
}
