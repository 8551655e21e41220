//! CPU feature setup (NX, SMEP, SMAP, UMIP, FPU/SSE for user code) and small
//! instructions the kernel needs: the time-stamp counter, FPU state areas.

use core::arch::asm;
use core::arch::x86_64::{__cpuid, _rdtsc};
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Which protections were switched on (reported at boot).
pub struct Features {
    pub smep: bool,
    pub smap: bool,
    pub umip: bool,
}

pub fn init() -> Features {
    let leaf7 = __cpuid(7);
    let features = Features {
        smep: leaf7.ebx & (1 << 7) != 0,
        smap: leaf7.ebx & (1 << 20) != 0,
        umip: leaf7.ecx & (1 << 2) != 0,
    };
    // SAFETY: enabling NX, syscall, FPU/SSE for user mode and the
    // protections the CPU reports; the kernel never touches user memory
    // directly (it copies through the physical-memory window), so SMAP holds.
    unsafe {
        Efer::update(|f| {
            f.insert(EferFlags::NO_EXECUTE_ENABLE | EferFlags::SYSTEM_CALL_EXTENSIONS)
        });
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            f.insert(
                Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR | Cr0Flags::WRITE_PROTECT,
            );
        });
        Cr4::update(|f| {
            f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            if features.smep {
                f.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
            }
            if features.smap {
                f.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
                super::traps::clear_ac_on_entry();
            }
            if features.umip {
                f.insert(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION);
            }
        });
    }
    features
}

/// The time-stamp counter (under `-icount shift=0`: instructions executed).
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { _rdtsc() }
}

/// A random number from the CPU's RDRAND instruction, if it has one (and
/// it delivers within a few tries).
pub fn rdrand() -> Option<u64> {
    if __cpuid(1).ecx & (1 << 30) == 0 {
        return None;
    }
    (0..10).find_map(|_| {
        let mut value = 0u64;
        // SAFETY: the CPU has RDRAND (checked above); it writes only `value`.
        let ok = unsafe { core::arch::x86_64::_rdrand64_step(&mut value) };
        (ok == 1).then_some(value)
    })
}

/// Loads the FS base register (user thread-local storage) with `base`, a
/// lower-half address (the system calls that set one check it).
#[inline(always)]
pub fn set_fs_base(base: u64) {
    // SAFETY: IA32_FS_BASE takes any canonical address, and a lower-half
    // one is canonical, so the write cannot fault; it changes how user
    // code addresses its thread-local storage, nothing of the kernel's.
    unsafe {
        asm!(
            "wrmsr",
            in("ecx") FS_BASE_MSR,
            in("eax") base as u32,
            in("edx") (base >> 32) as u32,
            options(nostack, preserves_flags),
        )
    };
}

/// The FS base MSR.
const FS_BASE_MSR: u32 = 0xc000_0100;

/// One thread's saved x87/SSE state, in `fxsave` format.
#[repr(C, align(16))]
pub struct FpuState([u8; 512]);

impl FpuState {
    /// The state a new thread starts with: all exceptions masked.
    pub fn new() -> FpuState {
        let mut area = [0u8; 512];
        area[0..2].copy_from_slice(&0x037fu16.to_le_bytes()); // FCW
        area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes()); // MXCSR
        FpuState(area)
    }

    /// The `fxsave` image (what a signal frame records).
    pub fn bytes(&self) -> &[u8; 512] {
        &self.0
    }

    /// A state from an `fxsave` image whose MXCSR has no bit outside
    /// [`mxcsr_mask`] (checked by the caller: `fxrstor` faults otherwise).
    pub fn from_bytes(image: &[u8; 512]) -> FpuState {
        FpuState(*image)
    }
}

/// The MXCSR bits this CPU accepts (from `fxsave`'s MXCSR_MASK field;
/// 0xffbf where the CPU leaves it 0, as Intel documents).
pub fn mxcsr_mask() -> u32 {
    let mut state = FpuState::new();
    save_fpu(&mut state);
    match u32::from_le_bytes([state.0[28], state.0[29], state.0[30], state.0[31]]) {
        0 => 0xffbf,
        mask => mask,
    }
}

/// Saves the running thread's x87/SSE registers (live in the CPU while it
/// runs: the kernel uses no floating point) into `state` (fork copies them
/// into the child's thread).
pub fn save_fpu(state: &mut FpuState) {
    // SAFETY: a 512-byte, 16-byte aligned area; fxsave64 only writes it.
    unsafe { asm!("fxsave64 [{}]", in(reg) state.0.as_mut_ptr(), options(nostack)) };
}

/// Loads `state` into the x87/SSE registers (exec starts the new image
/// with a fresh state).
pub fn load_fpu(state: &FpuState) {
    // SAFETY: a 512-byte, 16-byte aligned area in fxsave format (made by
    // `FpuState::new` or `save_fpu`, so its reserved MXCSR bits are clear).
    unsafe { asm!("fxrstor64 [{}]", in(reg) state.0.as_ptr(), options(nostack, readonly)) };
}
