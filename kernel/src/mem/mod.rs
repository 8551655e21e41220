//! Memory: physical frames, the kernel heap, address spaces, kernel stacks,
//! the frames behind files and pipes, and checked access to user memory.
//! All physical memory is reachable through one window at [`phys_offset`]
//! (set up by the boot loader); the kernel reads and writes user memory
//! only through that window after walking the user's page tables, never
//! through user addresses.

pub mod frames;
pub mod heap;
pub mod kstack;
pub mod pages;
pub mod space;
pub mod user;

use core::sync::atomic::{AtomicU64, Ordering};

static PHYS_OFFSET: AtomicU64 = AtomicU64::new(0);

/// Where physical address 0 appears in the kernel's address space.
pub fn phys_offset() -> u64 {
    PHYS_OFFSET.load(Ordering::Relaxed)
}

/// The kernel address of physical address `phys`.
pub fn phys_to_virt(phys: u64) -> *mut u8 {
    (phys_offset() + phys) as *mut u8
}

pub const PAGE_SIZE: u64 = 4096;

/// Sets up frames, heap, the kernel address space and kernel stacks.
pub fn init(boot_info: &bootloader_api::BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the boot loader maps physical memory");
    PHYS_OFFSET.store(offset, Ordering::Relaxed);
    frames::init(&boot_info.memory_regions);
    heap::init();
    space::init_kernel_space();
    kstack::init();
}
