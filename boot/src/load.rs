//! Loading the kernel: its ELF segments into the higher half, all physical
//! memory at the offset its `BootloaderConfig` asks for, a stack with a guard
//! page, the `BootInfo` (memory map, ramdisk), and the jump.

use crate::console;
use crate::frames::Bump;
use crate::multiboot::Info;
use bootloader_api::BootInfo;
use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::info::{MemoryRegion, MemoryRegionKind, Optional, TlsTemplate};
use core::arch::asm;
use core::convert::Infallible;
use kernel::elf::Elf;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as F, PhysFrame,
    Size2MiB, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

const PAGE: u64 = 4096;
const ONE_MIB: u64 = 1 << 20;
/// Where physical memory goes when the kernel leaves the choice to us.
const DEFAULT_PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Where the kernel's boot stack goes (above a guard page).
const STACK_BASE: u64 = 0xffff_ff00_0000_0000;
const MAX_OUT_REGIONS: usize = 256;

unsafe extern "C" {
    static __image_start: u8;
    static __bss_end: u8;
}

fn fail<T>(why: &'static str) -> Result<T, &'static str> {
    Err(why)
}

/// Loads the kernel and jumps to it; returns only with the reason it could not.
pub fn boot(info: &Info) -> Result<Infallible, &'static str> {
    let [kernel_mod, bootfs_mod, ..] = info.modules() else {
        return fail("need two modules: -initrd \"kernel.elf,bootfs.img\"");
    };
    // SAFETY: QEMU loaded the module there (below 4 GiB, identity-mapped).
    let kernel = unsafe {
        core::slice::from_raw_parts(
            kernel_mod.start as *const u8,
            (kernel_mod.end - kernel_mod.start) as usize,
        )
    };
    let elf = Elf::parse(kernel, DEFAULT_PHYS_OFFSET, u64::MAX)
        .or(fail("module 0 is not a higher-half x86_64 kernel ELF"))?;
    let config = match elf.section(".bootloader-config") {
        Some(bytes) => {
            BootloaderConfig::deserialize(bytes).or(fail("bad .bootloader-config section"))?
        }
        None => BootloaderConfig::new_default(),
    };
    // Linker-script symbols: only their addresses are used.
    let image = (&raw const __image_start as u64, &raw const __bss_end as u64);
    let reserved = [
        (0, ONE_MIB),
        image,
        (kernel_mod.start, kernel_mod.end),
        (bootfs_mod.start, bootfs_mod.end),
    ];
    let mut bump = Bump::new(info.regions(), &reserved).ok_or("no free memory for the loader")?;

    // NX bits in the kernel's tables need EFER.NXE.
    // SAFETY: setting NXE only changes how page-table bit 63 is read; no
    // current mapping sets it.
    unsafe { Efer::update(|f| f.insert(EferFlags::NO_EXECUTE_ENABLE)) };

    let pml4_frame = bump.allocate_frame().ok_or("out of memory")?;
    // SAFETY: a fresh zeroed frame, identity-mapped, used only as this table.
    let pml4 = unsafe { &mut *(pml4_frame.start_address().as_u64() as *mut PageTable) };
    // SAFETY: all physical memory the loader touches is identity-mapped.
    let mut table = unsafe { OffsetPageTable::new(pml4, VirtAddr::new(0)) };

    for seg in elf.segments() {
        let pages = (seg.page_end() - seg.page_start()) / PAGE;
        let base = bump
            .alloc_contiguous(pages)
            .ok_or("out of memory for the kernel image")?;
        let data = elf.segment_data(&seg);
        // SAFETY: `base` has room for all pages of the segment.
        unsafe {
            let dst = (base + seg.vaddr - seg.page_start()) as *mut u8;
            core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
        }
        let mut flags = F::PRESENT;
        if seg.writable() {
            flags |= F::WRITABLE;
        }
        if !seg.executable() {
            flags |= F::NO_EXECUTE;
        }
        for i in 0..pages {
            map4k(
                &mut table,
                &mut bump,
                seg.page_start() + i * PAGE,
                base + i * PAGE,
                flags,
            )?;
        }
    }

    let phys_offset = match config.mappings.physical_memory {
        Some(Mapping::FixedAddress(addr)) => addr,
        _ => DEFAULT_PHYS_OFFSET,
    };
    // The window covers the first 4 GiB (RAM and the devices below it) and
    // all RAM above; not reserved ranges far beyond, such as the 12 GiB QEMU
    // reports below 1 TiB, which would take half a million mappings.
    let phys_end = info
        .regions()
        .iter()
        .filter(|r| r.kind == 1)
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .max(4 << 30)
        .next_multiple_of(2 * ONE_MIB);
    for phys in (0..phys_end).step_by(2 * ONE_MIB as usize) {
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(phys_offset + phys));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: maps physical memory to where the kernel asked for it.
        unsafe {
            table.map_to(
                page,
                frame,
                F::PRESENT | F::WRITABLE | F::NO_EXECUTE,
                &mut bump,
            )
        }
        .or(fail("cannot map physical memory"))?
        .ignore();
    }

    let stack_pages = config.kernel_stack_size.div_ceil(PAGE);
    let stack_phys = bump
        .alloc_contiguous(stack_pages)
        .ok_or("out of memory for the kernel stack")?;
    let stack_bottom = STACK_BASE + PAGE; // one unmapped guard page below
    for i in 0..stack_pages {
        map4k(
            &mut table,
            &mut bump,
            stack_bottom + i * PAGE,
            stack_phys + i * PAGE,
            F::PRESENT | F::WRITABLE | F::NO_EXECUTE,
        )?;
    }
    // The loader keeps running for a few instructions after the switch.
    for addr in (image.0..image.1).step_by(PAGE as usize) {
        map4k(&mut table, &mut bump, addr, addr, F::PRESENT | F::WRITABLE)?;
    }

    // Make the physical-memory window visible to the loader as well, so the
    // boot information can be written through the addresses the kernel uses.
    let window = usize::from(VirtAddr::new(phys_offset).p4_index());
    let (current, _) = Cr3::read();
    // SAFETY: the active PML4 is identity-mapped; the entry copied points to
    // tables mapping plain RAM, and CR3 is reloaded to flush the TLB.
    unsafe {
        let active = &mut *(current.start_address().as_u64() as *mut PageTable);
        active[window] = table.level_4_table()[window].clone();
        Cr3::write(current, Cr3Flags::empty());
    }

    let info_phys = bump
        .alloc_contiguous(4)
        .ok_or("out of memory for the boot information")?;
    let boot_info = (phys_offset + info_phys) as *mut BootInfo;
    let regions_ptr = (phys_offset + info_phys + PAGE) as *mut MemoryRegion;
    let used = bump.used();
    let all_reserved = [reserved[0], reserved[1], reserved[2], reserved[3], used];
    let mut count = 0;
    memory_map(info, &all_reserved, |region| {
        if count < MAX_OUT_REGIONS {
            // SAFETY: three pages after the BootInfo hold MAX_OUT_REGIONS entries.
            unsafe { regions_ptr.add(count).write(region) };
            count += 1;
        }
    });
    // SAFETY: the regions were just written; the memory stays reserved for
    // the kernel's lifetime (it is reported as Bootloader memory).
    let regions = unsafe { core::slice::from_raw_parts_mut(regions_ptr, count) };
    let mut bi = BootInfo::new(regions.into());
    bi.physical_memory_offset = Optional::Some(phys_offset);
    bi.ramdisk_addr = Optional::Some(phys_offset + bootfs_mod.start);
    bi.ramdisk_len = bootfs_mod.end - bootfs_mod.start;
    bi.kernel_addr = kernel_mod.start;
    bi.kernel_len = kernel_mod.end - kernel_mod.start;
    bi.kernel_stack_bottom = stack_bottom;
    bi.kernel_stack_len = stack_pages * PAGE;
    bi.tls_template = match elf.tls() {
        Some((start_addr, file_size, mem_size)) => Optional::Some(TlsTemplate {
            start_addr,
            file_size,
            mem_size,
        }),
        None => Optional::None,
    };
    // SAFETY: the frames at `info_phys` are ours and mapped at `boot_info`.
    unsafe { boot_info.write(bi) };
    console::line(format_args!(
        "kernel {} KiB, ramdisk {} KiB, {} memory regions; entering kernel",
        kernel.len() / 1024,
        (bootfs_mod.end - bootfs_mod.start) / 1024,
        count
    ));

    let stack_top = stack_bottom + stack_pages * PAGE;
    // SAFETY: the new tables map the kernel, its stack, the boot information
    // and this code; the kernel entry takes the BootInfo pointer in RDI and
    // never returns. The pushed zero is a null return address.
    unsafe {
        asm!(
            "mov cr3, {pml4}",
            "mov rsp, {stack}",
            "push 0",
            "jmp {entry}",
            pml4 = in(reg) pml4_frame.start_address().as_u64(),
            stack = in(reg) stack_top,
            entry = in(reg) elf.entry(),
            in("rdi") boot_info,
            options(noreturn)
        )
    }
}

fn map4k(
    table: &mut OffsetPageTable,
    bump: &mut Bump,
    virt: u64,
    phys: u64,
    flags: F,
) -> Result<(), &'static str> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::containing_address(PhysAddr::new(phys));
    // SAFETY: the frames mapped belong to the kernel image, its stack or the
    // loader, each mapped once.
    unsafe { table.map_to(page, frame, flags, bump) }
        .or(fail("cannot map a kernel page"))?
        .ignore();
    Ok(())
}

/// Emits the memory map the kernel sees, sorted: the firmware's regions, with
/// usable RAM inside a `reserved` range reported as `Bootloader`.
fn memory_map(info: &Info, reserved: &[(u64, u64)], mut emit: impl FnMut(MemoryRegion)) {
    let mut cuts = [0u64; 2 * (64 + 8)];
    let mut n = 0;
    for r in info.regions() {
        cuts[n] = r.start;
        cuts[n + 1] = r.end;
        n += 2;
    }
    for (s, e) in reserved {
        cuts[n] = *s;
        cuts[n + 1] = *e;
        n += 2;
    }
    let cuts = &mut cuts[..n];
    cuts.sort_unstable();
    let mut pending: Option<MemoryRegion> = None;
    for w in cuts.windows(2) {
        let (start, end) = (w[0], w[1]);
        if start == end {
            continue;
        }
        let Some(r) = info
            .regions()
            .iter()
            .find(|r| r.start <= start && end <= r.end)
        else {
            continue;
        };
        let kind = if r.kind != 1 {
            MemoryRegionKind::UnknownBios(r.kind)
        } else if reserved.iter().any(|(s, e)| *s <= start && end <= *e) {
            MemoryRegionKind::Bootloader
        } else {
            MemoryRegionKind::Usable
        };
        match &mut pending {
            Some(p) if p.kind == kind && p.end == start => p.end = end,
            _ => {
                if let Some(p) = pending.take() {
                    emit(p);
                }
                pending = Some(MemoryRegion { start, end, kind });
            }
        }
    }
    if let Some(p) = pending {
        emit(p);
    }
}
