//! Where file contents and pipe buffers live in the kernel: physical
//! frames, as the [`PageStore`] of the file system and the pipes. This is
//! the one place that turns a frame into a byte array.

use super::{PAGE_SIZE, frames, phys_to_virt};
use kernel::io::{self, PageStore};
use x86_64::structures::paging::PhysFrame;

const _: () = assert!(PAGE_SIZE as usize == io::PAGE_SIZE);

/// Frames from the kernel's allocator (zeroed when taken).
pub struct FrameStore;

/// A frame held for file data or a pipe buffer. Not `Clone`: it is the
/// frame's only owner, and gives it back through [`FrameStore::free`].
pub struct FramePage(PhysFrame);

impl FramePage {
    fn bytes(&self) -> *mut [u8; io::PAGE_SIZE] {
        phys_to_virt(self.0.start_address().as_u64()).cast()
    }
}

impl PageStore for FrameStore {
    type Page = FramePage;

    fn alloc(&mut self) -> Option<FramePage> {
        frames::alloc().map(FramePage)
    }

    fn free(&mut self, page: FramePage) {
        frames::free(page.0);
    }

    fn bytes<'a>(&'a self, page: &'a FramePage) -> &'a [u8; io::PAGE_SIZE] {
        // SAFETY: the frame is mapped through the physical window and owned
        // by `page` alone (the allocator hands a frame out once and takes it
        // back only by consuming its page), so it stays allocated while
        // `page` is borrowed. A mutable view comes only from `bytes_mut`,
        // which borrows the store that owns the page mutably, so none
        // exists while this shared one lives.
        unsafe { &*page.bytes() }
    }

    fn bytes_mut<'a>(&'a mut self, page: &'a FramePage) -> &'a mut [u8; io::PAGE_SIZE] {
        // SAFETY: as in `bytes`; the store that owns the page is borrowed
        // mutably for as long as the view lives, so it is the only view of
        // the frame.
        unsafe { &mut *page.bytes() }
    }
}
