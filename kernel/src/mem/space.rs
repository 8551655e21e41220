//! Address spaces. The upper half (kernel image, physical window, kernel
//! stacks) is shared: every process's top-level table copies the kernel's
//! upper-half entries, whose lower tables never change. The lower half is
//! the process's own: user pages, each a frame it owns or (after fork)
//! shares with other spaces, copy-on-write or, for a `MAP_SHARED` area,
//! for good ([`cow`]), given back with it.
//! [`ranges`] adds what Linux programs need: mappings at chosen places,
//! unmapping and changing the protection of any page range (splitting
//! areas), growing and shrinking in place, with demand-zero pages that
//! take a frame at their first touch ([`touch`]).

mod cow;
mod ranges;
mod touch;

use super::frames::{self, Frames, KernelFrames};
use super::{PAGE_SIZE, phys_offset, phys_to_virt};
use abi::Errno;
use alloc::collections::BTreeMap;
use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::linux::mm::Prot;
use spin::Once;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as F, PhysFrame, Size4KiB,
    mapper::CleanUp,
};
use x86_64::{PhysAddr, VirtAddr};

/// User addresses are below this: the lower canonical half without its
/// last page. That page stays unmappable so that no `syscall` instruction
/// can end at the non-canonical boundary 0x0000_8000_0000_0000: `sysretq`
/// to such a return address takes a #GP in ring 0 on Intel CPUs, on the
/// user's stack (CVE-2012-0217). Every user address the kernel accepts
/// (mappings, program segments, thread entries and stacks, user copies)
/// is checked against this bound, so every `sysretq` returns to a
/// canonical address.
pub const USER_END: u64 = abi::USER_END;
/// Lowest address a user mapping may have (page 0 stays unmapped).
pub const USER_START: u64 = 0x1000;
/// Where `mem_map` places mappings when the caller does not choose.
const MAP_BASE: u64 = 0x0000_1000_0000_0000;

static KERNEL_PML4: Once<PhysFrame> = Once::new();

/// The kernel-only top-level table: the boot loader's, with its low
/// identity mapping removed.
pub fn init_kernel_space() {
    let (frame, _) = Cr3::read();
    // SAFETY: the active top-level table, reached through the window;
    // nothing in the kernel uses the loader's low mappings any more.
    let table = unsafe { &mut *(phys_to_virt(frame.start_address().as_u64()) as *mut PageTable) };
    for i in 0..256 {
        table[i].set_unused();
    }
    // SAFETY: reloading CR3 with the same table flushes the TLB.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    KERNEL_PML4.call_once(|| frame);
}

fn kernel_pml4() -> PhysFrame {
    *KERNEL_PML4.get().expect("kernel space initialised")
}

fn table_at(frame: PhysFrame) -> &'static mut PageTable {
    // SAFETY: page tables are frames owned by an address space (or the
    // kernel), reachable through the window; the kernel runs on one CPU
    // with interrupts off, so no two references are used at once.
    unsafe { &mut *(phys_to_virt(frame.start_address().as_u64()) as *mut PageTable) }
}

/// A page-table view of the kernel's own (upper-half) mappings.
pub fn kernel_mapper() -> OffsetPageTable<'static> {
    // SAFETY: the window maps all physical memory at `phys_offset`.
    unsafe { OffsetPageTable::new(table_at(kernel_pml4()), VirtAddr::new(phys_offset())) }
}

/// Switches to the kernel-only address space (for exiting processes).
pub fn activate_kernel() {
    // SAFETY: the kernel table maps everything the kernel uses.
    unsafe { Cr3::write(kernel_pml4(), Cr3Flags::empty()) };
}

/// Counts the unmaps of user memory in all address spaces, the ends of
/// whole spaces and forks (a page found writable may need a copy now): the
/// door logic's [`doors::UserMemory::epoch`], telling that a range found
/// accessible earlier still is.
static UNMAP_EPOCH: AtomicU64 = AtomicU64::new(0);

/// The current [`UNMAP_EPOCH`].
pub fn unmap_epoch() -> u64 {
    UNMAP_EPOCH.load(Ordering::Relaxed)
}

/// Makes the address space whose root table is `root` the current one.
///
/// # Safety
/// `root` must be the root of a live [`AddressSpace`].
pub unsafe fn activate_root(root: PhysFrame) {
    // SAFETY: the upper half of every space is the kernel's, so the kernel
    // keeps running; the caller promises the lower half is a live space's.
    unsafe { Cr3::write(root, Cr3Flags::empty()) };
}

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    OutOfMemory,
    AlreadyMapped,
}

/// A user address space.
///
/// Invariant: every present lower-half leaf maps a frame this space owns
/// or shares (counted by the frame allocator's share counts; released in
/// `Drop`) and lies in an area; `areas` lists the mapped ranges, disjoint.
/// A page of an accessible area (not PROT_NONE) is present with the
/// area's access, except that it may be absent, demand-zero (only in an
/// area a Linux call made or opened up, which `lazy` remembers), and that
/// a leaf without the write bit in a writable area is copy-on-write (only
/// after a fork, which `forked` remembers). Either kind takes its frame or
/// its write bit at the first touch ([`touch`]): by the program in its
/// page fault, by the kernel before it reads or writes (a range check
/// that finds a page not ready resolves the range and looks again). A
/// page of a PROT_NONE area is absent, or (once it was accessible) present
/// without user access, keeping its contents for a later `mprotect`. A
/// present page of a writable shared area is writable (never
/// copy-on-write: its frame may be mapped by other spaces, all writing
/// it).
pub struct AddressSpace {
    pml4: PhysFrame,
    areas: BTreeMap<u64, Area>,
    next_map: u64,
    /// The area `area_at` found last (a cache, cleared when an area goes).
    last_area: Cell<Option<(u64, Area)>>,
    /// The range `ready` accepted last, with its `write` (a cache: a
    /// server thread's argument area is checked at every door_return).
    /// Cleared with `last_area`, and by a fork.
    last_covered: Cell<Option<(u64, u64, bool)>>,
    /// The last-level page tables found last, as (2 MiB region, table),
    /// the latest walked to first (a cache for [`Walk`] and the checks of
    /// a door call: its `door_arg_t` on the stack, its buffers on the
    /// heap). Cleared whenever page tables may have been freed.
    leaves: Cell<[(u64, u64); 2]>,
    /// Bytes of `mem_map` areas (including door result areas) and their cap.
    mapped: u64,
    map_limit: u64,
    /// It took part in a fork, so it may have copy-on-write pages.
    forked: Cell<bool>,
    /// It may have demand-zero pages: a Linux call mapped or opened up an
    /// area without giving its pages frames.
    lazy: Cell<bool>,
}

/// A range of user pages with one protection.
#[derive(Clone, Copy)]
struct Area {
    len: u64,
    prot: Prot,
    /// Made by `mem_map`, a Linux `mmap` or `brk`: counted against the
    /// memory limit, and `mem_unmap` may remove it.
    counted: bool,
    /// A Linux `MAP_SHARED` mapping: a fork maps its pages in the child to
    /// the same frames, writable in both, instead of copy-on-write.
    shared: bool,
}

/// The protection of a native mapping.
fn prot_of(writable: bool, executable: bool) -> Prot {
    Prot {
        read: true,
        write: writable,
        exec: executable,
    }
}

/// The page-table flags of a page with access `prot`: present (its frame
/// is kept even without access), user-accessible unless PROT_NONE.
fn page_flags(prot: Prot) -> F {
    let mut flags = F::PRESENT;
    if prot.read {
        flags |= F::USER_ACCESSIBLE;
    }
    if prot.write {
        flags |= F::WRITABLE;
    }
    if !prot.exec {
        flags |= F::NO_EXECUTE;
    }
    flags
}

impl AddressSpace {
    pub fn new() -> Option<AddressSpace> {
        let pml4 = frames::alloc()?;
        let kernel = table_at(kernel_pml4());
        let table = table_at(pml4);
        for i in 256..512 {
            table[i] = kernel[i].clone();
        }
        Some(AddressSpace {
            pml4,
            areas: BTreeMap::new(),
            next_map: MAP_BASE,
            last_area: Cell::new(None),
            last_covered: Cell::new(None),
            leaves: Cell::new([NO_LEAF; 2]),
            mapped: 0,
            map_limit: u64::MAX,
            forked: Cell::new(false),
            lazy: Cell::new(false),
        })
    }

    fn mapper(&self) -> OffsetPageTable<'static> {
        // SAFETY: as in `kernel_mapper`.
        unsafe { OffsetPageTable::new(table_at(self.pml4), VirtAddr::new(phys_offset())) }
    }

    /// Maps `pages` fresh zeroed pages at `addr` (page aligned, user range
    /// checked by the caller) as one area; on failure nothing stays mapped.
    pub fn map_zeroed(
        &mut self,
        addr: u64,
        pages: u64,
        writable: bool,
        executable: bool,
    ) -> Result<(), MapError> {
        let prot = prot_of(writable, executable);
        self.populate(addr, pages, prot)?;
        let area = Area {
            len: pages * PAGE_SIZE,
            prot,
            counted: false,
            shared: false,
        };
        self.areas.insert(addr, area);
        Ok(())
    }

    /// Checks by the list of areas that `[addr, addr + len)` lies inside
    /// mapped areas (writable ones, when `write` is asked; an empty range
    /// always does), and makes its pages ready for the kernel's access
    /// ([`Self::fault_in`]). Errors: EFAULT, ENOMEM (no frame for a page).
    #[inline]
    pub fn ready(&self, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
        if self.last_covered.get() == Some((addr, len, write)) {
            return Ok(());
        }
        if !self.covers_uncached(addr, len, write) {
            return Err(Errno::EFAULT);
        }
        self.fault_in(addr, len, write)?;
        self.last_covered.set(Some((addr, len, write)));
        Ok(())
    }

    fn covers_uncached(&self, addr: u64, len: u64, write: bool) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut at = addr;
        while at < end {
            match self.area_at(at) {
                Some((start, a)) if a.prot.read && (a.prot.write || !write) => at = start + a.len,
                _ => return false,
            }
        }
        true
    }

    /// The area containing `addr`. The last one found is remembered: door
    /// calls check the same server stack area several times in a row, and
    /// a tree search grows with the number of areas.
    fn area_at(&self, addr: u64) -> Option<(u64, Area)> {
        if let Some((start, a)) = self.last_area.get()
            && (start..start + a.len).contains(&addr)
        {
            return Some((start, a));
        }
        let (&start, &a) = self.areas.range(..=addr).next_back()?;
        if start + a.len <= addr {
            return None;
        }
        self.last_area.set(Some((start, a)));
        Some((start, a))
    }

    /// Maps `pages` fresh zeroed pages at `addr` with access `prot`; on
    /// failure nothing stays mapped.
    fn populate(&mut self, addr: u64, pages: u64, prot: Prot) -> Result<(), MapError> {
        let flags = page_flags(prot);
        let parents = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
        let mut mapper = self.mapper();
        for i in 0..pages {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr + i * PAGE_SIZE));
            let failure = match frames::alloc() {
                None => Some(MapError::OutOfMemory),
                Some(frame) => {
                    // SAFETY: a fresh frame mapped into user space only.
                    match unsafe {
                        mapper.map_to_with_table_flags(
                            page,
                            frame,
                            flags,
                            parents,
                            &mut KernelFrames,
                        )
                    } {
                        Ok(flush) => {
                            flush.flush();
                            None
                        }
                        Err(e) => {
                            frames::free(frame);
                            Some(match e {
                                MapToError::FrameAllocationFailed => MapError::OutOfMemory,
                                _ => MapError::AlreadyMapped,
                            })
                        }
                    }
                }
            };
            if let Some(e) = failure {
                self.unmap_pages(addr, i);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unmaps `pages` pages at `addr` (pages not mapped are skipped),
    /// releasing their frames. Page tables left empty are freed.
    fn unmap_pages(&mut self, addr: u64, pages: u64) {
        if pages == 0 {
            return;
        }
        self.leaves.set([NO_LEAF; 2]);
        let mut mapper = self.mapper();
        for i in 0..pages {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr + i * PAGE_SIZE));
            if let Ok((frame, flush)) = mapper.unmap(page) {
                flush.flush();
                frames::release(frame);
            }
        }
        let first = Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
        let last = Page::containing_address(VirtAddr::new(addr + (pages - 1) * PAGE_SIZE));
        // SAFETY: lower-half page tables belong to this space alone (the
        // shared kernel half is outside the range), each used once.
        unsafe {
            mapper.clean_up_addr_range(Page::range_inclusive(first, last), &mut KernelFrames)
        };
    }

    /// A walk of this space's page tables for a run of translations.
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            space: self,
            region: u64::MAX,
            table: 0,
        }
    }

    /// The physical address behind user address `addr`, if it is mapped
    /// for user access (and writable, when `write` is asked): one entry
    /// read, through the cache of last-level tables (the few small ranges
    /// of a door call are each checked and copied this way).
    #[inline(always)]
    pub fn translate(&self, addr: u64, write: bool) -> Option<u64> {
        let leaf = entry(self.leaf_table(addr)?, (addr >> 12) & 0x1ff);
        let needed = Walk::needed(write);
        (leaf & needed == needed).then_some((leaf & ENTRY_ADDRESS) + (addr & 0xfff))
    }

    /// The last-level page table (physical address) that maps user address
    /// `addr`, if the levels above it are present for user access; for an
    /// address outside the user half, `None` or the table of a region that
    /// holds user pages, in which the address's page is never mapped (page
    /// 0, and the page from [`USER_END`] on: a region remembered is a user
    /// address's, so the range test is left to the first look at one).
    #[inline(always)]
    fn leaf_table(&self, addr: u64) -> Option<u64> {
        let region = addr >> 21;
        let [latest, earlier] = self.leaves.get();
        if latest.0 == region {
            return Some(latest.1);
        }
        match earlier.0 == region {
            true => Some(earlier.1),
            false => self.leaf_table_further(addr),
        }
    }

    /// [`Self::leaf_table`] when neither table remembered is the region's:
    /// its table becomes the latest, the latest the earlier one.
    #[inline(never)]
    fn leaf_table_further(&self, addr: u64) -> Option<u64> {
        if !(USER_START..USER_END).contains(&addr) {
            return None;
        }
        let [latest, _] = self.leaves.get();
        let table = self.walk_to_leaf(addr)?;
        self.leaves.set([(addr >> 21, table), latest]);
        Some(table)
    }

    /// [`Self::leaf_table`] from the top-level table.
    fn walk_to_leaf(&self, addr: u64) -> Option<u64> {
        // User space has only 4 KiB pages, and every level of a user
        // mapping carries USER (and WRITABLE for the parents), so the
        // leaf's flags decide.
        let mut table = self.pml4.start_address().as_u64();
        for level in (1..4).rev() {
            let entry = entry(table, (addr >> (12 + 9 * level)) & 0x1ff);
            if !F::from_bits_truncate(entry).contains(F::PRESENT | F::USER_ACCESSIBLE) {
                return None;
            }
            table = entry & ENTRY_ADDRESS;
        }
        Some(table)
    }

    /// Maps a `mem_map` area of `pages` pages, at `fixed` or where there is
    /// room ([`room`](Self::room)). Returns its address.
    pub fn map_area(
        &mut self,
        fixed: Option<u64>,
        pages: u64,
        writable: bool,
        executable: bool,
    ) -> Result<u64, MapError> {
        let len = pages * PAGE_SIZE;
        if self.mapped + len > self.map_limit {
            return Err(MapError::OutOfMemory);
        }
        let addr = match fixed {
            Some(a) => {
                let clash = self
                    .areas
                    .range(..a + len)
                    .next_back()
                    .is_some_and(|(&s, area)| s + area.len > a);
                if clash {
                    return Err(MapError::AlreadyMapped);
                }
                a
            }
            None => self.free_place(None, len).ok_or(MapError::OutOfMemory)?,
        };
        let prot = prot_of(writable, executable);
        self.populate(addr, pages, prot)?;
        self.areas.insert(
            addr,
            Area {
                len,
                prot,
                counted: true,
                shared: false,
            },
        );
        self.mapped += len;
        Ok(addr)
    }

    /// Where an automatic mapping of `len` bytes goes: the first address
    /// from `next_map` on with an unmapped page before and after it (so a
    /// stack there overflows into a guard page), skipping the areas, fixed
    /// ones included, that are in the way.
    fn room(&self, len: u64) -> Option<u64> {
        let mut at = self.next_map;
        loop {
            let end = at.checked_add(len)?.checked_add(PAGE_SIZE)?;
            if end > USER_END {
                return None;
            }
            match self.areas.range(..end).next_back() {
                Some((&start, area)) if start + area.len + PAGE_SIZE > at => {
                    at = start + area.len + PAGE_SIZE;
                }
                _ => return Some(at),
            }
        }
    }

    /// Unmaps the `mem_map` area that starts at `addr` and is `len` bytes
    /// (page rounded) long; false if there is no such area.
    pub fn unmap_area(&mut self, addr: u64, len: u64) -> bool {
        let matches = self
            .areas
            .get(&addr)
            .is_some_and(|a| a.counted && a.len == len.next_multiple_of(PAGE_SIZE));
        if !matches || len == 0 {
            return false;
        }
        self.areas.remove(&addr);
        self.forget_caches();
        UNMAP_EPOCH.fetch_add(1, Ordering::Relaxed);
        self.mapped -= len.next_multiple_of(PAGE_SIZE);
        self.unmap_pages(addr, len.div_ceil(PAGE_SIZE));
        true
    }

    /// Forgets the lookups remembered for `covers` (areas changed).
    fn forget_caches(&self) {
        self.last_area.set(None);
        self.last_covered.set(None);
    }

    /// The cap on `mem_map` bytes (door result areas included).
    pub fn map_limit(&self) -> u64 {
        self.map_limit
    }

    /// Sets the cap on `mem_map` bytes; areas mapped already stay.
    pub fn set_map_limit(&mut self, limit: u64) {
        self.map_limit = limit;
    }

    /// The root page table, for [`activate_root`] while the space lives.
    pub fn root(&self) -> PhysFrame {
        self.pml4
    }
}

/// An empty entry of [`AddressSpace::leaves`] (no user region is this).
const NO_LEAF: (u64, u64) = (u64::MAX, 0);

/// The address bits of a page-table entry.
const ENTRY_ADDRESS: u64 = 0x000f_ffff_ffff_f000;

/// Entry `index` of the page table at physical address `table`.
#[inline(always)]
fn entry(table: u64, index: u64) -> u64 {
    // SAFETY: `table` is a page table of a live space, reached through the
    // window; entries are plain u64s, and nothing changes them meanwhile
    // (the kernel runs on one CPU with interrupts off).
    unsafe { *(phys_to_virt(table + index * 8) as *const u64) }
}

/// Translations of user addresses of one space, remembering the last-level
/// table of the last one: consecutive pages (a copy going page by page)
/// cost one entry each instead of a four-level walk.
pub struct Walk<'a> {
    space: &'a AddressSpace,
    /// The 2 MiB region (address >> 21) that `table` maps.
    region: u64,
    /// Its last-level table (valid when `region` is not `u64::MAX`).
    table: u64,
}

impl Walk<'_> {
    /// The flags a user page needs (to be written, with `write`).
    #[inline(always)]
    fn needed(write: bool) -> u64 {
        match write {
            true => (F::PRESENT | F::USER_ACCESSIBLE | F::WRITABLE).bits(),
            false => (F::PRESENT | F::USER_ACCESSIBLE).bits(),
        }
    }

    /// The last-level table mapping user address `addr` (looked up once
    /// per 2 MiB region).
    #[inline]
    fn table_for(&mut self, addr: u64) -> Option<u64> {
        if !(USER_START..USER_END).contains(&addr) {
            return None;
        }
        if addr >> 21 != self.region {
            self.table = self.space.leaf_table(addr)?;
            self.region = addr >> 21;
        }
        Some(self.table)
    }

    /// The physical address behind user address `addr`, if it is mapped
    /// for user access (and writable, when `write` is asked).
    #[inline]
    pub fn translate(&mut self, addr: u64, write: bool) -> Option<u64> {
        let leaf = entry(self.table_for(addr)?, (addr >> 12) & 0x1ff);
        let needed = Self::needed(write);
        (leaf & needed == needed).then_some((leaf & ENTRY_ADDRESS) + (addr & 0xfff))
    }

    /// Whether every page of `[addr, addr + len)` is mapped for user access
    /// (and writable, when `write` is asked); `len > 0`, `addr + len` does
    /// not overflow.
    pub fn mapped(&mut self, addr: u64, len: u64, write: bool) -> bool {
        let needed = Self::needed(write);
        let (mut page, end) = (addr >> 12, (addr + len - 1) >> 12);
        while page <= end {
            let Some(table) = self.table_for(page << 12) else {
                return false;
            };
            // The pages of this region, one entry each.
            let last = end.min(page | 0x1ff);
            while page <= last {
                if entry(table, page & 0x1ff) & needed != needed {
                    return false;
                }
                page += 1;
            }
        }
        true
    }

    /// The physically contiguous piece of memory at user address `addr`,
    /// at most `len` bytes (`len > 0`): its physical address and length;
    /// `None` if the page of `addr` is not mapped as [`Self::translate`]
    /// wants.
    pub fn piece(&mut self, addr: u64, len: u64, write: bool) -> Option<(u64, u64)> {
        let phys = self.translate(addr, write)?;
        let first = PAGE_SIZE - addr % PAGE_SIZE;
        if first >= len {
            return Some((phys, len));
        }
        // The following pages of the same region, while they follow in
        // physical memory too: each entry must be the next frame's, with
        // the flags wanted.
        let needed = Self::needed(write);
        let index = ((addr >> 12) & 0x1ff) + 1;
        let pages = (len - first).div_ceil(PAGE_SIZE).min(512 - index);
        let mut next = (phys + first) | needed;
        let mut n = 0;
        while n < pages && entry(self.table, index + n) & (ENTRY_ADDRESS | needed) == next {
            next += PAGE_SIZE;
            n += 1;
        }
        Some((phys, (first + n * PAGE_SIZE).min(len)))
    }
}

/// Releases every lower-half page and frees every table under `table` at
/// `level` (4 = PML4).
fn free_lower(
    frames: &mut Frames,
    table: &mut PageTable,
    level: u8,
    entries: core::ops::Range<usize>,
) {
    for i in entries {
        let entry = &mut table[i];
        if !entry.flags().contains(F::PRESENT) {
            continue;
        }
        let frame = PhysFrame::containing_address(PhysAddr::new(entry.addr().as_u64()));
        if level > 1 {
            free_lower(frames, table_at(frame), level - 1, 0..512);
            frames.free(frame);
        } else {
            frames.release(frame);
        }
        entry.set_unused();
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        UNMAP_EPOCH.fetch_add(1, Ordering::Relaxed);
        let (active, _) = Cr3::read();
        if active == self.pml4 {
            activate_kernel();
        }
        let mut guard = frames::lock();
        let frames = guard.as_mut().expect("frames initialised at boot");
        free_lower(frames, table_at(self.pml4), 4, 0..256);
        frames.free(self.pml4);
    }
}
