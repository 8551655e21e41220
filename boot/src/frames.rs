//! The loader's physical frame allocator: a bump allocator growing down from
//! the top of the largest free stretch of RAM below 4 GiB (which the loader
//! can reach through its identity mapping). Whatever it hands out is reported
//! to the kernel as `Bootloader` memory.

use crate::multiboot::Region;
use x86_64::PhysAddr;
use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};

const PAGE: u64 = 4096;
const IDENTITY_LIMIT: u64 = 4 << 30;

pub struct Bump {
    next: u64,
    floor: u64,
    top: u64,
}

impl Bump {
    /// Picks the largest stretch of usable RAM that lies above every
    /// `reserved` range it overlaps.
    pub fn new(regions: &[Region], reserved: &[(u64, u64)]) -> Option<Bump> {
        regions
            .iter()
            .filter(|r| r.kind == 1)
            .map(|r| {
                let floor = reserved
                    .iter()
                    .filter(|(s, e)| *s < r.end && r.start < *e)
                    .map(|(_, e)| *e)
                    .fold(r.start, u64::max)
                    .next_multiple_of(PAGE);
                let top = r.end.min(IDENTITY_LIMIT) & !(PAGE - 1);
                (floor, top)
            })
            .filter(|(floor, top)| top > floor)
            .max_by_key(|(floor, top)| top - floor)
            .map(|(floor, top)| Bump {
                next: top,
                floor,
                top,
            })
    }

    /// `n` zeroed, physically contiguous frames; returns the lowest address.
    pub fn alloc_contiguous(&mut self, n: u64) -> Option<u64> {
        let start = self.next.checked_sub(n * PAGE)?;
        if start < self.floor {
            return None;
        }
        self.next = start;
        // SAFETY: the range is free RAM below 4 GiB (identity-mapped), and
        // handed out only once.
        unsafe { core::ptr::write_bytes(start as *mut u8, 0, (n * PAGE) as usize) };
        Some(start)
    }

    /// The physical range handed out so far.
    pub fn used(&self) -> (u64, u64) {
        (self.next, self.top)
    }
}

// SAFETY: every frame returned is unused, zeroed and returned only once.
unsafe impl FrameAllocator<Size4KiB> for Bump {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        self.alloc_contiguous(1)
            .map(|a| PhysFrame::containing_address(PhysAddr::new(a)))
    }
}
