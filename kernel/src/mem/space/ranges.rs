//! Page-range operations on an address space, for Linux programs: mapping
//! at a chosen place (with PROT_NONE reservations that take no frames),
//! unmapping or re-protecting any page range (splitting the areas it cuts),
//! and growing an area in place. Callers check every argument first (and
//! tell the door logic about access taken away: `Sched::unmap_range`,
//! `Sched::protect`); these operations either complete or, on running out
//! of memory, leave the mappings as they were.

use super::{AddressSpace, Area, MapError, UNMAP_EPOCH, USER_END, USER_START, page_flags};
use crate::mem::PAGE_SIZE;
use crate::mem::frames::{self, KernelFrames};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use kernel::linux::mm::Prot;
use x86_64::VirtAddr;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags as F, Size4KiB};

/// Most areas one space holds. Each unmap or protection change inside an
/// area can split it, and every area is a kernel record: the bound keeps a
/// program from filling the kernel heap (ENOMEM beyond it, like Linux's
/// `vm.max_map_count`).
pub const MAX_AREAS: usize = 1024;

fn page(addr: u64) -> Page<Size4KiB> {
    Page::containing_address(VirtAddr::new(addr))
}

impl AddressSpace {
    /// The area containing `addr`: its start, length and protection.
    pub fn area_containing(&self, addr: u64) -> Option<(u64, u64, Prot)> {
        self.area_at(addr).map(|(start, a)| (start, a.len, a.prot))
    }

    /// Whether every page of `[start, start + len)` lies in some area.
    pub fn is_mapped(&self, start: u64, len: u64) -> bool {
        let end = start + len;
        let mut at = start;
        while at < end {
            match self.area_at(at) {
                Some((s, a)) => at = s + a.len,
                None => return false,
            }
        }
        true
    }

    /// Whether no page of `[start, start + len)` lies in an area.
    pub fn is_free(&self, start: u64, len: u64) -> bool {
        let end = start + len;
        self.areas
            .range(..end)
            .next_back()
            .is_none_or(|(&s, a)| s + a.len <= start)
    }

    /// Bytes of counted areas inside `[start, start + len)`.
    pub fn counted_in(&self, start: u64, len: u64) -> u64 {
        let end = start + len;
        self.overlapping(start, end)
            .filter(|(_, a)| a.counted)
            .map(|(s, a)| (s + a.len).min(end) - s.max(start))
            .sum()
    }

    /// Whether `extra` more areas fit (see [`MAX_AREAS`]).
    pub fn has_room_for_areas(&self, extra: usize) -> bool {
        self.areas.len() + extra <= MAX_AREAS
    }

    /// Whether `len` more counted bytes fit the memory limit once
    /// `released` counted bytes are unmapped.
    pub fn fits_limit(&self, len: u64, released: u64) -> bool {
        self.mapped - released + len <= self.map_limit
    }

    /// A free place for `len` bytes: `hint` if it is a free user range,
    /// else the next one of the kernel's choice (with an unmapped page
    /// before and after it, see `room`).
    pub fn free_place(&mut self, hint: Option<u64>, len: u64) -> Option<u64> {
        if let Some(h) = hint
            && h >= USER_START
            && h.checked_add(len).is_some_and(|end| end <= USER_END)
            && self.is_free(h, len)
        {
            return Some(h);
        }
        let at = self.room(len)?;
        self.next_map = at + len + PAGE_SIZE;
        Some(at)
    }

    /// The areas that overlap `[start, end)`.
    fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, Area)> + '_ {
        let first = self.area_at(start).map_or(start, |(s, _)| s);
        self.areas
            .range(first..end)
            .map(|(&s, &a)| (s, a))
            .filter(move |(s, a)| s + a.len > start)
    }

    /// Splits the area strictly containing `addr` (if any) at `addr`.
    fn split_at(&mut self, addr: u64) {
        if let Some((s, a)) = self.area_at(addr)
            && s < addr
        {
            let head = addr - s;
            self.areas.insert(s, Area { len: head, ..a });
            self.areas.insert(
                addr,
                Area {
                    len: a.len - head,
                    ..a
                },
            );
            self.forget_caches();
        }
    }

    /// Maps `[start, start + len)` (free, checked by the caller) as one
    /// counted area with access `prot`: zeroed pages, or none at all for a
    /// PROT_NONE reservation. ENOMEM beyond the memory limit.
    pub fn map_range(&mut self, start: u64, len: u64, prot: Prot) -> Result<(), MapError> {
        if !self.fits_limit(len, 0) {
            return Err(MapError::OutOfMemory);
        }
        if prot.read {
            self.populate(start, len / PAGE_SIZE, prot)?;
        }
        self.areas.insert(
            start,
            Area {
                len,
                prot,
                counted: true,
            },
        );
        self.mapped += len;
        self.forget_caches();
        Ok(())
    }

    /// Unmaps every page of `[start, start + len)`, whatever area it is in
    /// (splitting the areas the range cuts); returns whether anything was
    /// mapped there.
    pub fn unmap_range(&mut self, start: u64, len: u64) -> bool {
        let end = start + len;
        if self.overlapping(start, end).next().is_none() {
            return false;
        }
        self.split_at(start);
        self.split_at(end);
        let inside: Vec<(u64, Area)> = self.overlapping(start, end).collect();
        for (s, a) in inside {
            self.areas.remove(&s);
            if a.counted {
                self.mapped -= a.len;
            }
            self.unmap_pages(s, a.len / PAGE_SIZE);
        }
        self.forget_caches();
        UNMAP_EPOCH.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Gives every page of `[start, start + len)` (all mapped: checked by
    /// the caller with [`AddressSpace::is_mapped`]) access `prot`. Pages
    /// that become accessible for the first time are zeroed frames; pages
    /// that lose access keep their frames; copy-on-write pages get their
    /// write bit at their first write. Returns whether any access was
    /// taken away. On running out of frames nothing changed but the split.
    pub fn protect_range(&mut self, start: u64, len: u64, prot: Prot) -> Result<bool, MapError> {
        let end = start + len;
        self.split_at(start);
        self.split_at(end);
        let inside: Vec<(u64, Area)> = self.overlapping(start, end).collect();
        if prot.read {
            self.fill_reserved(&inside)?;
        }
        let flags = page_flags(prot);
        let mut mapper = self.mapper();
        for p in Page::range(page(start), page(end)) {
            let flags = self.protect_flags(p.start_address().as_u64(), flags);
            // SAFETY: a user page of this space, present (or skipped); its
            // frame stays, only its access changes.
            if let Ok(flush) = unsafe { mapper.update_flags(p, flags) } {
                flush.flush();
            }
        }
        let mut reduced = false;
        for (s, a) in inside {
            reduced |= !prot.covers(a.prot);
            self.areas.insert(s, Area { prot, ..a });
        }
        self.forget_caches();
        if reduced {
            UNMAP_EPOCH.fetch_add(1, Ordering::Relaxed);
        }
        Ok(reduced)
    }

    /// Gives every absent page of the PROT_NONE areas `inside` a zeroed
    /// frame (still without user access); on failure frees the ones it gave.
    fn fill_reserved(&mut self, inside: &[(u64, Area)]) -> Result<(), MapError> {
        let mut mapper = self.mapper();
        let mut added: Vec<u64> = Vec::new();
        let hidden = page_flags(Prot::NONE);
        let parents = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
        let absent = inside
            .iter()
            .filter(|(_, a)| !a.prot.read)
            .flat_map(|&(s, a)| Page::range(page(s), page(s + a.len)));
        let mut failed = false;
        for p in absent {
            if mapper.translate_page(p).is_ok() {
                continue;
            }
            let Some(frame) = frames::alloc() else {
                failed = true;
                break;
            };
            // SAFETY: a fresh frame mapped into user space only.
            match unsafe {
                mapper.map_to_with_table_flags(p, frame, hidden, parents, &mut KernelFrames)
            } {
                Ok(flush) => flush.flush(),
                Err(_) => {
                    frames::free(frame);
                    failed = true;
                    break;
                }
            }
            added.push(p.start_address().as_u64());
        }
        if !failed {
            return Ok(());
        }
        for addr in added {
            self.unmap_pages(addr, 1);
        }
        Err(MapError::OutOfMemory)
    }

    /// Grows the counted area that ends at `end` by `extra` bytes, in place
    /// (the pages after it are free: checked by the caller). ENOMEM beyond
    /// the memory limit, or when the area there is not a counted one.
    pub fn grow_area(&mut self, end: u64, extra: u64) -> Result<(), MapError> {
        let (s, a) = self
            .area_at(end - 1)
            .filter(|(s, a)| s + a.len == end && a.counted)
            .ok_or(MapError::OutOfMemory)?;
        if !self.fits_limit(extra, 0) {
            return Err(MapError::OutOfMemory);
        }
        if a.prot.read {
            self.populate(end, extra / PAGE_SIZE, a.prot)?;
        }
        self.areas.insert(
            s,
            Area {
                len: a.len + extra,
                ..a
            },
        );
        self.mapped += extra;
        self.forget_caches();
        Ok(())
    }
}
