//! Kernel stacks: one per thread, each in its own slot of a reserved region
//! of the shared upper half, with an unmapped guard page below it so an
//! overflow faults instead of corrupting memory.

use super::PAGE_SIZE;
use super::frames::{self, KernelFrames};
use super::space::kernel_mapper;
use alloc::vec::Vec;
use spin::Mutex;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags as F, PhysFrame, Size4KiB};
use x86_64::{PhysAddr, VirtAddr};

/// Base of the kernel-stack region (its own top-level slot, 508).
const REGION: u64 = 0xffff_fe00_0000_0000;
/// Pages of stack per thread.
const STACK_PAGES: u64 = 5;
/// Slot size: a guard page, the stack, and spare unmapped pages.
const SLOT: u64 = 8 * PAGE_SIZE;

struct Slots {
    free: Vec<u64>,
    next: u64,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    free: Vec::new(),
    next: 0,
});

/// Most kernel stacks that exist at once: the idle thread's and one for
/// each of `abi::MAX_THREADS` threads (an exited thread's stack is freed
/// before any system call runs, by the next thread to run).
const MAX_SLOTS: u64 = abi::MAX_THREADS as u64 + 1;

/// Creates the page tables of the whole region up front (by mapping and
/// unmapping one page per 2 MiB), before any address space exists: every
/// space then shares the stacks mapped later, and creating threads never
/// allocates page tables that outlive them (which keeps the free-frame
/// count an exact leak check).
pub fn init() {
    let mut mapper = kernel_mapper();
    let chunk = 512 * PAGE_SIZE;
    // What the pages map for that moment: physical frame 0, which the frame
    // allocator never hands out; nothing reads or writes it through them.
    // (Writable, as the tables made on the way inherit these flags.)
    let nothing = PhysFrame::containing_address(PhysAddr::new(0));
    for base in (REGION..REGION + MAX_SLOTS * SLOT).step_by(chunk as usize) {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(base));
        // SAFETY: a guard-page address of the region, mapped only for a
        // moment and never accessed.
        let flush = unsafe {
            mapper.map_to(
                page,
                nothing,
                F::PRESENT | F::WRITABLE | F::NO_EXECUTE,
                &mut KernelFrames,
            )
        }
        .expect("the kernel stack region is free");
        flush.flush();
        let (_, flush) = mapper.unmap(page).expect("just mapped");
        flush.flush();
    }
}

/// A mapped kernel stack; unmapped and freed on drop.
pub struct KernelStack {
    slot: u64,
    /// The address just above it (kept: every door handoff reads it).
    top: u64,
}

impl KernelStack {
    pub fn new() -> Option<KernelStack> {
        let slot = {
            let mut s = SLOTS.lock();
            match s.free.pop() {
                Some(slot) => slot,
                None if s.next < MAX_SLOTS => {
                    s.next += 1;
                    s.next - 1
                }
                None => return None,
            }
        };
        let base = REGION + slot * SLOT + PAGE_SIZE;
        let top = base + STACK_PAGES * PAGE_SIZE;
        let mut mapper = kernel_mapper();
        for i in 0..STACK_PAGES {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(base + i * PAGE_SIZE));
            let mapped = frames::alloc().and_then(|frame| {
                // SAFETY: a fresh frame mapped at an unused stack page.
                unsafe {
                    mapper.map_to(
                        page,
                        frame,
                        F::PRESENT | F::WRITABLE | F::NO_EXECUTE,
                        &mut KernelFrames,
                    )
                }
                .ok()
                .map(|flush| flush.flush())
            });
            if mapped.is_none() {
                drop(KernelStack { slot, top });
                return None;
            }
        }
        Some(KernelStack { slot, top })
    }

    /// The (16-byte aligned) address just above the stack.
    #[inline(always)]
    pub fn top(&self) -> u64 {
        self.top
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        let base = REGION + self.slot * SLOT + PAGE_SIZE;
        let mut mapper = kernel_mapper();
        for i in 0..STACK_PAGES {
            let page = Page::<Size4KiB>::containing_address(VirtAddr::new(base + i * PAGE_SIZE));
            if let Ok((frame, flush)) = mapper.unmap(page) {
                flush.flush();
                frames::free(frame);
            }
        }
        SLOTS.lock().free.push(self.slot);
    }
}
