//! The program heap: `linked_list_allocator` over one region that grows by
//! mapping more pages right after its end (`mem_map` at a fixed address).

use crate::sys::{Errno, check, syscall3};
use abi::{Sys, prot};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// Where the heap starts in every program.
const HEAP_BASE: usize = 0x0000_2000_0000_0000;
/// Smallest growth step.
const GROW_MIN: usize = 256 * 1024;
const PAGE: usize = 4096;

/// Maps `len` bytes of zeroed memory (at `fixed`, or anywhere for 0).
pub fn map(len: usize, fixed: usize) -> Result<usize, Errno> {
    check(syscall3(Sys::MemMap, len, prot::READ | prot::WRITE, fixed))
}

/// Unmaps an area returned by [`map`] (or a door result area).
pub fn unmap(addr: usize, len: usize) -> Result<(), Errno> {
    check(crate::sys::syscall2(Sys::MemUnmap, addr, len)).map(|_| ())
}

struct Grower {
    heap: Heap,
    mapped: usize,
}

impl Grower {
    fn grow(&mut self, need: usize) -> bool {
        let step = (need + PAGE * 2).max(GROW_MIN).next_multiple_of(PAGE);
        if map(step, HEAP_BASE + self.mapped).is_err() {
            return false;
        }
        if self.mapped == 0 {
            // SAFETY: the region was just mapped for the heap alone.
            unsafe { self.heap.init(HEAP_BASE as *mut u8, step) };
        } else {
            // SAFETY: the new pages follow the heap's end directly.
            unsafe { self.heap.extend(step) };
        }
        self.mapped += step;
        true
    }
}

struct UserHeap(Mutex<Grower>);

// SAFETY: allocation is delegated to `linked_list_allocator` under a lock.
unsafe impl GlobalAlloc for UserHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut g = self.0.lock();
        loop {
            if g.mapped > 0
                && let Ok(p) = g.heap.allocate_first_fit(layout)
            {
                return p.as_ptr();
            }
            if !g.grow(layout.size() + layout.align()) {
                return core::ptr::null_mut();
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { self.0.lock().heap.deallocate(p, layout) };
        }
    }
}

#[global_allocator]
static HEAP: UserHeap = UserHeap(Mutex::new(Grower {
    heap: Heap::empty(),
    mapped: 0,
}));
