//! Page-range operations on an address space, for Linux programs: mapping
//! at a chosen place, unmapping or re-protecting any page range (splitting
//! the areas it cuts), and growing an area in place. The pages these make
//! accessible are demand-zero: the call records the area and charges the
//! memory limit, and a page takes a zeroed frame at its first touch
//! ([`super::touch`]), so no call here allocates or zeroes user memory.
//! Callers check every argument first (and tell the door logic about
//! access taken away: `Sched::unmap_range`, `Sched::protect`); these
//! operations complete, or (the memory limit) change nothing.

use super::{AddressSpace, Area, MapError, UNMAP_EPOCH, USER_END, USER_START, page_flags};
use crate::mem::PAGE_SIZE;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use kernel::linux::mm::Prot;
use x86_64::VirtAddr;
use x86_64::structures::paging::{Mapper, Page, Size4KiB};

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

    /// Whether `addr` lies in a shared area (`MAP_SHARED`).
    pub fn is_shared(&self, addr: u64) -> bool {
        self.area_at(addr).is_some_and(|(_, a)| a.shared)
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
    /// counted area with access `prot`, of demand-zero pages, `shared`
    /// with the children of later forks or private. ENOMEM beyond the
    /// memory limit.
    pub fn map_range(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
        shared: bool,
    ) -> Result<(), MapError> {
        if !self.fits_limit(len, 0) {
            return Err(MapError::OutOfMemory);
        }
        self.lazy.set(true);
        self.areas.insert(
            start,
            Area {
                len,
                prot,
                counted: true,
                shared,
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
    /// the caller with [`AddressSpace::is_mapped`]) access `prot`. Absent
    /// pages stay absent (demand-zero once accessible); pages that lose
    /// access keep their frames; copy-on-write pages (never a shared
    /// area's, [`AddressSpace::protect_flags`]) get their write bit
    /// at their first write. Returns whether any access was taken away.
    pub fn protect_range(&mut self, start: u64, len: u64, prot: Prot) -> bool {
        let end = start + len;
        self.split_at(start);
        self.split_at(end);
        let inside: Vec<(u64, Area)> = self.overlapping(start, end).collect();
        if prot.read {
            self.lazy.set(true);
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
        reduced
    }

    /// Grows the counted area that ends at `end` by `extra` bytes of
    /// demand-zero pages, in place (the pages after it are free: checked by
    /// the caller). ENOMEM beyond the memory limit, or when the area there
    /// is not a counted one. A shared area stays shared: its new pages are
    /// shared with the children of later forks, not with the spaces that
    /// map the area already (their areas keep their length).
    pub fn grow_area(&mut self, end: u64, extra: u64) -> Result<(), MapError> {
        let (s, a) = self
            .area_at(end - 1)
            .filter(|(s, a)| s + a.len == end && a.counted)
            .ok_or(MapError::OutOfMemory)?;
        if !self.fits_limit(extra, 0) {
            return Err(MapError::OutOfMemory);
        }
        self.lazy.set(true);
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
