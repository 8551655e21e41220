//! The kernel's physical frame allocator: the host-tested
//! [`kernel::frames::FrameBitmap`] over the boot memory map, behind a lock.
//! Frames come back zeroed, so no data leaks between processes.

use super::{PAGE_SIZE, phys_to_virt};
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use kernel::frames::{FrameBitmap, words_for};
use spin::Mutex;
use x86_64::PhysAddr;
use x86_64::structures::paging::{FrameAllocator, FrameDeallocator, PhysFrame, Size4KiB};

static FRAMES: Mutex<Option<FrameBitmap<'static>>> = Mutex::new(None);

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
    let bytes = (words_for(frame_count) * 8) as u64;
    let home = usable()
        .find(|r| r.start >= PAGE_SIZE && r.end - r.start >= bytes)
        .expect("no room for the frame bitmap");
    // SAFETY: the first `bytes` of a usable region, reachable through the
    // physical window, handed to the bitmap for the kernel's lifetime (and
    // reserved in it below).
    let storage = unsafe {
        core::slice::from_raw_parts_mut(
            phys_to_virt(home.start) as *mut u64,
            words_for(frame_count),
        )
    };
    let mut bitmap = FrameBitmap::new(storage, frame_count);
    for r in usable() {
        bitmap.release_range(r.start.div_ceil(PAGE_SIZE), r.end / PAGE_SIZE);
    }
    bitmap.reserve_range(0, 1);
    bitmap.reserve_range(
        home.start / PAGE_SIZE,
        (home.start + bytes).div_ceil(PAGE_SIZE),
    );
    *FRAMES.lock() = Some(bitmap);
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

/// One zeroed frame.
pub fn alloc() -> Option<PhysFrame> {
    let frame = FRAMES.lock().as_mut()?.alloc()?;
    zero(frame, 1);
    Some(PhysFrame::containing_address(PhysAddr::new(
        frame * PAGE_SIZE,
    )))
}

/// `count` physically contiguous frames, not zeroed (for the kernel's own
/// heap, which never hands out memory it did not write); returns the
/// physical address.
pub fn alloc_contiguous_uninit(count: u64) -> Option<u64> {
    let frame = FRAMES.lock().as_mut()?.alloc_contiguous(count)?;
    Some(frame * PAGE_SIZE)
}

/// Gives a frame back. Freeing a free frame is a kernel bug.
pub fn free(frame: PhysFrame) {
    let n = frame.start_address().as_u64() / PAGE_SIZE;
    let mut guard = FRAMES.lock();
    if let Some(bitmap) = guard.as_mut()
        && let Err(e) = bitmap.free(n)
    {
        drop(guard);
        panic!("double free of physical frame {:#x}", e.0 * PAGE_SIZE);
    }
}

/// Frames currently free.
pub fn free_count() -> u64 {
    FRAMES.lock().as_ref().map_or(0, |b| b.free_count())
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
