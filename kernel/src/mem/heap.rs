//! The kernel heap: `linked_list_allocator` over physically contiguous
//! frames, reached through the physical-memory window.

use super::{PAGE_SIZE, frames, phys_to_virt};
use linked_list_allocator::LockedHeap;

/// Heap size: the records of up to `MAX_PROCESSES` processes, their
/// descriptor tables (at most `MAX_TABLE_SLOTS` slots, 16 MiB, up to twice
/// that with the tables' spare capacity), doors
/// (`MAX_DOORS`), waiting calls' descriptors (`MAX_QUEUED_DESCS`), threads
/// (`MAX_THREADS`, live or exited and not joined: up to 6.5 MiB), and
/// argument buffers of several MiB.
const HEAP_BYTES: u64 = 64 << 20;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

pub fn init() {
    let phys = frames::alloc_contiguous_uninit(HEAP_BYTES / PAGE_SIZE)
        .expect("no memory for the kernel heap");
    // SAFETY: the frames were just allocated for the heap and are never freed.
    unsafe { HEAP.lock().init(phys_to_virt(phys), HEAP_BYTES as usize) };
}
