//! The kernel image: entered through `bootloader_api::entry_point!` with a
//! `BootInfo` (memory map, physical-memory window, the boot file system as
//! ramdisk). It sets up the CPU, memory and the timer, puts the boot
//! archive under `/bin` in the file system, starts `/bin/init`, and becomes
//! the idle thread.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

mod arch;
mod log;
mod mem;
mod syscall;
mod task;

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{BootInfo, entry_point};
use core::sync::atomic::Ordering;

const CONFIG: BootloaderConfig = {
    let mut c = BootloaderConfig::new_default();
    c.mappings.physical_memory = Some(Mapping::Dynamic);
    c.kernel_stack_size = 64 * 1024;
    c
};

entry_point!(kernel_main, config = &CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    task::BOOT_TSC.store(arch::cpu::rdtsc(), Ordering::Relaxed);
    log::init();
    arch::gdt::init();
    arch::traps::init();
    let features = arch::cpu::init();
    mem::init(boot_info);
    let free = mem::frames::free_count() * mem::PAGE_SIZE;
    task::DEFAULT_MEMORY.store(free / abi::limit::MEMORY_SHARE, Ordering::Relaxed);
    arch::syscall::init();
    arch::timer::init();
    let (Some(ramdisk), len) = (boot_info.ramdisk_addr.into_option(), boot_info.ramdisk_len) else {
        panic!("no ramdisk: the boot file system is missing");
    };
    // SAFETY: the boot loader mapped the ramdisk there and reported it as
    // reserved memory, which the kernel never reuses.
    let image = unsafe { core::slice::from_raw_parts(ramdisk as *const u8, len as usize) };
    let archive = match kernel::bootfs::Bootfs::parse(image) {
        Ok(archive) => archive,
        Err(e) => panic!("the ramdisk is not a boot file system: {e:?}"),
    };
    info!(
        "doors kernel: {} MiB free, {} boot files, SMEP {}, SMAP {}, UMIP {}",
        (mem::frames::free_count() * mem::PAGE_SIZE) >> 20,
        archive.len(),
        features.smep,
        features.smap,
        features.umip
    );
    task::SCHED.lock().init_objects(archive);
    if let Err(e) = task::spawn(0, "init", &[], &[]) {
        panic!("cannot start init: {e:?}");
    }
    task::start()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    log::force_unlock();
    error!("KERNEL PANIC: {info}");
    arch::qemu_exit(syscall::KERNEL_FAILURE)
}
