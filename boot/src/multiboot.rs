//! Reading the multiboot (v1) information structure QEMU leaves in memory:
//! the physical memory map and the modules (kernel ELF, boot file system).

/// What a multiboot loader leaves in EAX.
pub const BOOT_MAGIC: u32 = 0x2BAD_B002;
const FLAG_MMAP: u32 = 1 << 6;
const FLAG_MODS: u32 = 1 << 3;
const MAX_REGIONS: usize = 64;
const MAX_MODULES: usize = 4;

/// One entry of the BIOS memory map (`kind` 1 is usable RAM).
#[derive(Clone, Copy, Default)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub kind: u32,
}

/// A module QEMU loaded (`-initrd "a,b"`), as a physical range.
#[derive(Clone, Copy, Default)]
pub struct Module {
    pub start: u64,
    pub end: u64,
}

/// The parts of the multiboot information the loader uses, copied out.
pub struct Info {
    regions: [Region; MAX_REGIONS],
    region_count: usize,
    modules: [Module; MAX_MODULES],
    module_count: usize,
}

/// Reads a `T` at a physical address.
///
/// # Safety
/// `addr` must be identity-mapped and hold a `T`.
unsafe fn read<T: Copy>(addr: u64) -> T {
    // SAFETY: as the caller promises; multiboot structures are not aligned.
    unsafe { core::ptr::read_unaligned(addr as *const T) }
}

impl Info {
    /// Copies the memory map and module list out of the information
    /// structure at `addr`.
    ///
    /// # Safety
    /// `addr` must be the multiboot information address, identity-mapped.
    pub unsafe fn read(addr: u64) -> Info {
        let mut info = Info {
            regions: [Region::default(); MAX_REGIONS],
            region_count: 0,
            modules: [Module::default(); MAX_MODULES],
            module_count: 0,
        };
        // SAFETY: every read below is a field of the information structure
        // or of the tables it points to, as the multiboot specification lays
        // them out; the caller guarantees the structure is there and mapped.
        unsafe {
            let flags: u32 = read(addr);
            if flags & FLAG_MMAP != 0 {
                let len = u64::from(read::<u32>(addr + 44));
                let base = u64::from(read::<u32>(addr + 48));
                let mut at = base;
                while at < base + len && info.region_count < MAX_REGIONS {
                    let size = u64::from(read::<u32>(at));
                    let start: u64 = read(at + 4);
                    let length: u64 = read(at + 12);
                    let kind: u32 = read(at + 20);
                    info.regions[info.region_count] = Region {
                        start,
                        end: start + length,
                        kind,
                    };
                    info.region_count += 1;
                    at += size + 4;
                }
            }
            if flags & FLAG_MODS != 0 {
                let count = read::<u32>(addr + 20) as usize;
                let base = u64::from(read::<u32>(addr + 24));
                for i in 0..count.min(MAX_MODULES) {
                    let at = base + 16 * i as u64;
                    info.modules[i] = Module {
                        start: u64::from(read::<u32>(at)),
                        end: u64::from(read::<u32>(at + 4)),
                    };
                }
                info.module_count = count.min(MAX_MODULES);
            }
        }
        info
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions[..self.region_count]
    }

    pub fn modules(&self) -> &[Module] {
        &self.modules[..self.module_count]
    }
}
