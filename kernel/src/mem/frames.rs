//! The kernel's physical frame allocator: the host-tested
//! [`kernel::frames::FrameBitmap`] over the boot memory map, and beside it
//! the copy-on-write counts ([`kernel::cow::ShareCounts`]) of the frames
//! user pages map, both behind one lock and both carved from memory at
//! boot. Frames come back zeroed, so no data leaks between processes.
//!
//! A user page's frame is given back with [`release`] (freed by its last
//! mapping); every other frame (page tables, kernel stacks, the pages of
//! files and pipes) with [`free`].

use super::{PAGE_SIZE, phys_to_virt};
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use kernel::cow::{Broken, NoFrame, Release, Saturated, ShareCounts};
use kernel::frames::{FrameBitmap, words_for};
use spin::{Mutex, MutexGuard};
use x86_64::PhysAddr;
use x86_64::structures::paging::{FrameAllocator, FrameDeallocator, PhysFrame, Size4KiB};

/// The frames and their share counts.
pub struct Frames {
    bitmap: FrameBitmap<'static>,
    shares: ShareCounts<'static>,
}

static FRAMES: Mutex<Option<Frames>> = Mutex::new(None);

pub fn init(regions: &MemoryRegions) {
    let usable = || {
        regions
            .iter()
            .filter(|r| r.kind == MemoryRegionKind::Usable)
    };
    let frame_count = usable()
        .map(|r| r.end / PAGE_SIZE)
        .max()
        .expect("no usable memory");
    let bitmap_bytes = (words_for(frame_count) * 8) as u64;
    let bytes = bitmap_bytes + frame_count * 2;
    let home = usable()
        .find(|r| r.start >= PAGE_SIZE && r.end - r.start >= bytes)
        .expect("no room for the frame bitmap and share counts");
    // SAFETY: the first `bytes` of a usable region, reachable through the
    // physical window, handed to the bitmap (then the share counts, at an
    // 8-byte aligned offset) for the kernel's lifetime, and reserved in the
    // bitmap below.
    let (bits, counts) = unsafe {
        (
            core::slice::from_raw_parts_mut(
                phys_to_virt(home.start) as *mut u64,
                words_for(frame_count),
            ),
            core::slice::from_raw_parts_mut(
                phys_to_virt(home.start + bitmap_bytes) as *mut u16,
                frame_count as usize,
            ),
        )
    };
    let mut bitmap = FrameBitmap::new(bits, frame_count);
    for r in usable() {
        bitmap.release_range(r.start.div_ceil(PAGE_SIZE), r.end / PAGE_SIZE);
    }
    bitmap.reserve_range(0, 1);
    bitmap.reserve_range(
        home.start / PAGE_SIZE,
        (home.start + bytes).div_ceil(PAGE_SIZE),
    );
    *FRAMES.lock() = Some(Frames {
        bitmap,
        shares: ShareCounts::new(counts),
    });
}

fn zero(frame: u64, count: u64) {
    // SAFETY: freshly allocated frames, reachable through the window.
    unsafe {
        core::ptr::write_bytes(
            phys_to_virt(frame * PAGE_SIZE),
            0,
            (count * PAGE_SIZE) as usize,
        )
    };
}

fn phys_frame(n: u64) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(n * PAGE_SIZE))
}

fn number(frame: PhysFrame) -> u64 {
    frame.start_address().as_u64() / PAGE_SIZE
}

/// The allocator, locked for a run of operations (a fork's walk of a whole
/// address space takes the lock once).
pub fn lock() -> MutexGuard<'static, Option<Frames>> {
    FRAMES.lock()
}

impl Frames {
    /// One zeroed frame.
    pub fn alloc(&mut self) -> Option<PhysFrame> {
        let frame = self.bitmap.alloc()?;
        zero(frame, 1);
        Some(phys_frame(frame))
    }

    /// Gives a frame back. Freeing a free frame is a kernel bug.
    pub fn free(&mut self, frame: PhysFrame) {
        if let Err(e) = self.bitmap.free(number(frame)) {
            panic!("double free of physical frame {:#x}", e.0 * PAGE_SIZE);
        }
    }

    /// One more user page maps `frame` (fork). On `Err` nothing changed.
    pub fn share(&mut self, frame: PhysFrame) -> Result<(), Saturated> {
        self.shares.share(number(frame))
    }

    /// One user page mapping `frame` is gone; the last one frees it.
    pub fn release(&mut self, frame: PhysFrame) {
        if self.shares.release(number(frame)) == Release::Free {
            self.free(frame);
        }
    }

    /// A write to a copy-on-write page mapping `frame`: the frame is taken
    /// over, or a new frame holds a copy of the page (the caller maps it).
    pub fn break_share(&mut self, frame: PhysFrame) -> Result<Option<PhysFrame>, NoFrame> {
        let bitmap = &mut self.bitmap;
        match self.shares.break_share(number(frame), || bitmap.alloc())? {
            Broken::TookOver => Ok(None),
            Broken::Copied { to } => {
                // SAFETY: `to` is a fresh frame, `frame` a mapped user
                // page's; both are whole pages reached through the window.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        phys_to_virt(frame.start_address().as_u64()),
                        phys_to_virt(to * PAGE_SIZE),
                        PAGE_SIZE as usize,
                    )
                };
                Ok(Some(phys_frame(to)))
            }
        }
    }
}

/// One zeroed frame.
pub fn alloc() -> Option<PhysFrame> {
    FRAMES.lock().as_mut()?.alloc()
}

/// `count` physically contiguous frames, not zeroed (for the kernel's own
/// heap, which never hands out memory it did not write); returns the
/// physical address.
pub fn alloc_contiguous_uninit(count: u64) -> Option<u64> {
    let frame = FRAMES.lock().as_mut()?.bitmap.alloc_contiguous(count)?;
    Some(frame * PAGE_SIZE)
}

/// Gives a frame back. Freeing a free frame is a kernel bug.
pub fn free(frame: PhysFrame) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        frames.free(frame);
    }
}

/// One user page mapping `frame` is gone (see [`Frames::release`]).
pub fn release(frame: PhysFrame) {
    if let Some(frames) = FRAMES.lock().as_mut() {
        frames.release(frame);
    }
}

/// Frames currently free.
pub fn free_count() -> u64 {
    FRAMES.lock().as_ref().map_or(0, |f| f.bitmap.free_count())
}

/// Frames more than one user page maps (copy-on-write, after fork).
pub fn shared_count() -> u64 {
    FRAMES
        .lock()
        .as_ref()
        .map_or(0, |f| f.shares.shared_frames())
}

/// The allocator as the `x86_64` crate's page-table code wants it.
pub struct KernelFrames;

impl FrameDeallocator<Size4KiB> for KernelFrames {
    // SAFETY (of the trait's contract): callers pass only page-table frames
    // they no longer use; `free` checks for double frees.
    unsafe fn deallocate_frame(&mut self, frame: PhysFrame<Size4KiB>) {
        free(frame);
    }
}

// SAFETY: frames come from the bitmap, each handed out once.
unsafe impl FrameAllocator<Size4KiB> for KernelFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        alloc()
    }
}
