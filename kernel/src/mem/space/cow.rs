//! Copy-on-write (the bookkeeping is `kernel::cow`, in the frame
//! allocator): [`AddressSpace::fork`] gives a child new page tables whose
//! leaves map the parent's frames, and takes the write bit off the
//! writable leaves of both, so no byte of user memory is copied; a write
//! to such a page then breaks the share, in the CPU's page fault
//! ([`AddressSpace::user_fault`]) or before the kernel writes into user
//! memory ([`AddressSpace::fault_in`]): the frame is taken over if no other
//! space maps it any more, or copied into a new one. Without a free frame
//! nothing changes and the write fails. The pages of shared areas
//! (`MAP_SHARED`) are not copy-on-write: the child maps their frames
//! writable too, and their untouched pages take their frames in the parent
//! first, so that every page of the area is one frame for both.

use super::{AddressSpace, MapError, UNMAP_EPOCH, table_at};
use crate::mem::frames::{self, Frames};
use crate::mem::{PAGE_SIZE, phys_to_virt};
use core::sync::atomic::Ordering;
use kernel::cow::{ForkLeaf, NoFrame, fork_leaf, protect_keeps_write_off};
use x86_64::VirtAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as F, PhysFrame};

/// What the walk of a fork needs to know of the parent.
struct Fork<'a> {
    parent: &'a AddressSpace,
    /// Ranges the child gets copies of instead of shares.
    private: &'a [(u64, u64)],
    /// The parent has shared areas (else no leaf needs its area looked up).
    has_shared: bool,
}

impl Fork<'_> {
    fn is_private(&self, addr: u64) -> bool {
        self.private
            .iter()
            .any(|&(base, len)| (base..base.saturating_add(len)).contains(&addr))
    }

    /// How the child gets the parent's present leaf at `addr`.
    fn leaf(&self, addr: u64) -> ForkLeaf {
        let shared = self.has_shared && self.parent.is_shared(addr);
        fork_leaf(shared, self.is_private(addr))
    }
}

impl AddressSpace {
    /// A copy of this space for a fork child: the same areas and limits,
    /// every page shared copy-on-write, except the pages in `private`
    /// (`(address, length)` ranges), which the child gets copies of at once
    /// (the argument areas of idle door server threads, which the kernel
    /// writes into when an invocation arrives, where it could not fail for
    /// want of memory), and the pages of shared areas, mapped writable in
    /// both ([`fork_leaf`]; the untouched ones take their zeroed frames
    /// here first). Costs a walk of the page tables: time and frames grow
    /// with the pages mapped, not with their bytes, but for the untouched
    /// pages of shared areas. Errors (this space keeps its contents; some
    /// of its pages may have become copy-on-write, some untouched pages of
    /// shared areas may have taken their frames): OutOfMemory.
    pub fn fork(&self, private: &[(u64, u64)]) -> Result<AddressSpace, MapError> {
        let has_shared = self.areas.values().any(|a| a.shared);
        if has_shared {
            self.populate_shared()
                .map_err(|NoFrame| MapError::OutOfMemory)?;
        }
        let mut child = AddressSpace::new().ok_or(MapError::OutOfMemory)?;
        child.areas = self.areas.clone();
        child.next_map = self.next_map;
        child.mapped = self.mapped;
        child.map_limit = self.map_limit;
        child.lazy.set(self.lazy.get());
        self.forked.set(true);
        child.forked.set(true);
        // A range accepted for writing may hold copy-on-write pages now.
        self.forget_caches();
        // Pages the door logic found writable may need a copy now.
        UNMAP_EPOCH.fetch_add(1, Ordering::Relaxed);
        let walk = Fork {
            parent: self,
            private,
            has_shared,
        };
        let copied = {
            let mut guard = frames::lock();
            let frames = guard.as_mut().expect("frames initialised at boot");
            copy_tables(
                frames,
                &walk,
                table_at(self.pml4),
                table_at(child.pml4),
                4,
                0,
            )
        };
        if Cr3::read().0 == self.pml4 {
            // SAFETY: reloading the active root flushes the write bits the
            // walk took away.
            unsafe { Cr3::write(self.pml4, Cr3Flags::empty()) };
        }
        copied.map(|()| child)
    }

    /// Gives every absent page of the shared areas a zeroed frame (with its
    /// area's access), so that a fork maps it in both spaces: an untouched
    /// page has no frame to share. Err: no free frame (the pages done keep
    /// theirs, as if touched).
    fn populate_shared(&self) -> Result<(), NoFrame> {
        for (&start, area) in self.areas.iter().filter(|(_, a)| a.shared) {
            for addr in (start..start + area.len).step_by(PAGE_SIZE as usize) {
                if self.leaf(addr).is_none() {
                    self.demand_zero(addr, area.prot)?;
                }
            }
        }
        Ok(())
    }

    /// Whether `addr` lies in an area the program may write.
    fn is_writable_area(&self, addr: u64) -> bool {
        self.area_at(addr)
            .is_some_and(|(_, a)| a.prot.read && a.prot.write)
    }

    /// The flags page `addr` may take now instead of `flags` (a change of
    /// protection): in a forked space a page of a private area without the
    /// write bit keeps it off, so that its first write breaks its share (or
    /// takes the frame over) in the fault; a shared area's page takes the
    /// flags as they are ([`protect_keeps_write_off`]).
    pub(super) fn protect_flags(&self, addr: u64, flags: F) -> F {
        let forked = self.forked.get();
        let keep_off = forked
            && self.leaf(addr).is_some_and(|e| {
                let writable = e.flags().contains(F::WRITABLE);
                protect_keeps_write_off(self.is_shared(addr), forked, writable)
            });
        match keep_off {
            true => flags - F::WRITABLE,
            false => flags,
        }
    }

    /// Gives leaf `entry` (mapping user page `addr` of a writable area) its
    /// write bit, breaking its share first.
    pub(super) fn make_writable(
        &self,
        entry: &mut PageTableEntry,
        addr: u64,
    ) -> Result<(), NoFrame> {
        let flags = entry.flags();
        if flags.contains(F::WRITABLE) {
            return Ok(());
        }
        let frame = PhysFrame::containing_address(entry.addr());
        let copy = {
            let mut guard = frames::lock();
            let frames = guard.as_mut().expect("frames initialised at boot");
            frames.break_share(frame)?
        };
        match copy {
            None => entry.set_flags(flags | F::WRITABLE),
            Some(copy) => entry.set_addr(copy.start_address(), flags | F::WRITABLE),
        }
        if Cr3::read().0 == self.pml4 {
            x86_64::instructions::tlb::flush(VirtAddr::new(addr));
        }
        Ok(())
    }

    /// The present leaf that maps user address `addr`.
    pub(super) fn leaf(&self, addr: u64) -> Option<&'static mut PageTableEntry> {
        let mut table = table_at(self.pml4);
        for level in (1..4).rev() {
            let entry = &table[((addr >> (12 + 9 * level)) & 0x1ff) as usize];
            if !entry.flags().contains(F::PRESENT) {
                return None;
            }
            table = table_at(PhysFrame::containing_address(entry.addr()));
        }
        let entry = &mut table[((addr >> 12) & 0x1ff) as usize];
        entry.flags().contains(F::PRESENT).then_some(entry)
    }
}

/// Copies the entries of the parent's `table` at `level` (4 = PML4, lower
/// half only), which maps from address `base`, into the child's `copy`:
/// new tables below, and leaves as [`Fork::leaf`] says: the parent's frames
/// with the same flags (shared areas) or without the write bit, which the
/// parent's leaves lose too (copy-on-write), or copies (private pages).
fn copy_tables(
    frames: &mut Frames,
    walk: &Fork,
    table: &mut PageTable,
    copy: &mut PageTable,
    level: u32,
    base: u64,
) -> Result<(), MapError> {
    let entries = if level == 4 { 0..256 } else { 0..512 };
    for i in entries {
        let entry = &mut table[i];
        let flags = entry.flags();
        if !flags.contains(F::PRESENT) {
            continue;
        }
        let addr = base + ((i as u64) << (12 + 9 * (level - 1)));
        let frame = PhysFrame::containing_address(entry.addr());
        if level > 1 {
            let lower = frames.alloc().ok_or(MapError::OutOfMemory)?;
            copy[i].set_addr(lower.start_address(), flags);
            copy_tables(
                frames,
                walk,
                table_at(frame),
                table_at(lower),
                level - 1,
                addr,
            )?;
            continue;
        }
        match walk.leaf(addr) {
            ForkLeaf::Shared => {
                frames.share(frame).map_err(|_| MapError::OutOfMemory)?;
                copy[i].set_addr(frame.start_address(), flags);
            }
            ForkLeaf::CopyOnWrite => {
                frames.share(frame).map_err(|_| MapError::OutOfMemory)?;
                let shared = flags - F::WRITABLE;
                entry.set_flags(shared);
                copy[i].set_addr(frame.start_address(), shared);
            }
            ForkLeaf::Copied => {
                let own = copy_page(frames, frame)?;
                let own_flags = match walk.parent.is_writable_area(addr) {
                    true => flags | F::WRITABLE,
                    false => flags,
                };
                copy[i].set_addr(own.start_address(), own_flags);
            }
        }
    }
    Ok(())
}

/// A fresh frame holding a copy of user page `frame`.
fn copy_page(frames: &mut Frames, frame: PhysFrame) -> Result<PhysFrame, MapError> {
    let own = frames.alloc().ok_or(MapError::OutOfMemory)?;
    // SAFETY: two whole frames reached through the window: the parent's
    // page and the child's fresh one.
    unsafe {
        core::ptr::copy_nonoverlapping(
            phys_to_virt(frame.start_address().as_u64()),
            phys_to_virt(own.start_address().as_u64()),
            PAGE_SIZE as usize,
        )
    };
    Ok(own)
}
