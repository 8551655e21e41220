//! Wild children: processes that load random values into every register
//! (RFLAGS with `popfq`, RSP last) and jump to an address where no
//! instruction can run: null, unmapped, non-executable stack, heap and
//! data, the kernel half, the top page, non-canonical; or load a bad
//! selector into a segment register (CS by a far jump); or run one
//! `syscall` with random registers followed by `ud2`. The kernel must
//! kill each with a fault report, status 128 + vector. A child's [`Plan`]
//! follows from the seed and its index, so the coordinator knows which
//! vector to expect.
//!
//! (Not `iretq`, which would set everything at once: QEMU's TCG reads an
//! `iretq` frame with supervisor accesses even at CPL 3, which SMAP
//! refuses on user pages, so every such child would die of a #PF there.)

use crate::mem::{KERNEL_IMAGE, KERNEL_WINDOW, MAP_REGION, NON_CANONICAL, PAGE, TOP_PAGE};
use crate::rng::{Rng, mix};
use crate::table::TABLE;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::arch::naked_asm;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use userland::abi::{Sys, prot};
use userland::sys::syscall3;

/// Where a wild child jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    NullPage,
    Unmapped,
    Stack,
    Heap,
    DataPage,
    KernelWindow,
    KernelImage,
    TopPage,
    NonCanonical,
    BadSelector,
    Syscall,
}

const TARGETS: [Target; 11] = [
    Target::NullPage,
    Target::Unmapped,
    Target::Stack,
    Target::Heap,
    Target::DataPage,
    Target::KernelWindow,
    Target::KernelImage,
    Target::TopPage,
    Target::NonCanonical,
    Target::BadSelector,
    Target::Syscall,
];

/// The segment register a [`Target::BadSelector`] child loads: CS by a
/// far jump, the others by a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    Cs,
    Ss,
    Ds,
    Es,
    Fs,
    Gs,
}

const SEGMENTS: [Segment; 6] = [
    Segment::Cs,
    Segment::Ss,
    Segment::Ds,
    Segment::Es,
    Segment::Fs,
    Segment::Gs,
];

/// Selectors the CPU must refuse (all with RPL 3): as code (null, kernel
/// code and data, user data, the TSS, an LDT one, beyond the GDT), as
/// stack (null, kernel code and data, user code, an LDT one, beyond), and
/// as data (kernel code and data, the TSS, an LDT one, beyond; null is
/// allowed there).
const BAD_CS: [u64; 7] = [0x03, 0x0b, 0x13, 0x1b, 0x2b, 0x27, 0xfffb];
const BAD_SS: [u64; 6] = [0x03, 0x0b, 0x13, 0x23, 0x27, 0xfffb];
const BAD_DATA: [u64; 5] = [0x0b, 0x13, 0x2b, 0x27, 0xfffb];
/// RFLAGS bits a program may try to set (`popfq` ignores the privileged
/// ones at CPL 3), the single-step flag, and the bit that is always 1.
const FLAGS: u64 = 0x003f_7fd5;
const TRAP_FLAG: u64 = 1 << 8;
const FLAGS_FIXED: u64 = 0x2;
/// Where a wild child maps its page (no register value drawn hits it).
const PAGE_AT: usize = MAP_REGION + 0x1234_5000;

/// Vectors: debug, invalid opcode, general protection, page fault.
const DB: i32 = 1;
const UD: i32 = 6;
const GP: i32 = 13;
const PF: i32 = 14;

/// What a wild child does.
#[derive(Debug)]
pub struct Plan {
    target: Target,
    /// rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 to r15.
    regs: [u64; 15],
    rflags: u64,
    rsp: u64,
    /// For [`Target::BadSelector`]: the register and the selector.
    segment: Segment,
    selector: u64,
    /// A random offset within the target's range.
    offset: u64,
}

/// The plan of wild child `index` of campaign `seed`.
pub fn plan(seed: u64, index: u64) -> Plan {
    let mut rng = Rng::new(mix(mix(seed, 0x3d11d), index));
    let target = rng.pick(&TARGETS);
    let mut regs: [u64; 15] = core::array::from_fn(|_| rng.boundary());
    if target == Target::Syscall {
        let wild: Vec<usize> = TABLE.iter().filter(|e| e.wild).map(|e| e.nr()).collect();
        regs[0] = rng.pick(&wild) as u64;
    }
    let segment = rng.pick(&SEGMENTS);
    let selector = match segment {
        Segment::Cs => rng.pick(&BAD_CS),
        Segment::Ss => rng.pick(&BAD_SS),
        _ => rng.pick(&BAD_DATA),
    };
    // Single-stepping stops a child before its target: TF is kept one
    // time in four.
    let mut rflags = rng.next() & FLAGS | FLAGS_FIXED;
    if rng.chance(75) {
        rflags &= !TRAP_FLAG;
    }
    Plan {
        target,
        regs,
        rflags,
        rsp: rng.boundary(),
        segment,
        selector,
        offset: rng.next(),
    }
}

impl Plan {
    /// The vector the kernel must report for this child: with TF set, the
    /// single-step trap after the instruction that follows `popfq`.
    pub fn vector(&self) -> i32 {
        match self.target {
            _ if self.rflags & TRAP_FLAG != 0 => DB,
            Target::NonCanonical | Target::BadSelector => GP,
            Target::Syscall => UD,
            _ => PF,
        }
    }
}

/// Runs wild child `index` of campaign `seed`; never returns.
pub fn run(seed: u64, index: u64) -> ! {
    let plan = plan(seed, index);
    let local = 0u64;
    let heap = Box::new(0u64);
    let within = |len: u64| (plan.offset % len) as usize;
    let rip = match plan.target {
        Target::NullPage => within(PAGE as u64),
        Target::Unmapped | Target::BadSelector => 0x0000_6000_0000_0000 + within(1 << 40),
        Target::Stack => core::hint::black_box(&local) as *const u64 as usize,
        Target::Heap => &*heap as *const u64 as usize,
        Target::DataPage => {
            let page = map(prot::READ | prot::WRITE);
            fill(page, plan.offset);
            page + within(PAGE as u64)
        }
        Target::KernelWindow => KERNEL_WINDOW + within(1 << 40),
        Target::KernelImage => KERNEL_IMAGE + within(1 << 28),
        Target::TopPage => TOP_PAGE + within(PAGE as u64),
        Target::NonCanonical => NON_CANONICAL + within(0xffff_0000_0000_0000),
        Target::Syscall => {
            let page = map(prot::READ | prot::WRITE | prot::EXEC);
            // syscall; ud2
            // SAFETY: the page was just mapped writable for this process.
            unsafe { (page as *mut [u8; 4]).write([0x0f, 0x05, 0x0f, 0x0b]) };
            page
        }
    };
    for (slot, &value) in FRAME.iter().zip(&plan.regs) {
        slot.store(value, Relaxed);
    }
    for (slot, value) in FRAME[15..]
        .iter()
        .zip([rip as u64, plan.rflags, plan.rsp, plan.selector])
    {
        slot.store(value, Relaxed);
    }
    // The far pointer's offset: the target, truncated to 32 bits.
    FRAME[19].store(plan.selector << 32 | (rip as u64 & 0xffff_ffff), Relaxed);
    match (plan.target, plan.segment) {
        (Target::BadSelector, Segment::Cs) => launch_cs(),
        (Target::BadSelector, Segment::Ss) => launch_ss(),
        (Target::BadSelector, Segment::Ds) => launch_ds(),
        (Target::BadSelector, Segment::Es) => launch_es(),
        (Target::BadSelector, Segment::Fs) => launch_fs(),
        (Target::BadSelector, Segment::Gs) => launch_gs(),
        _ => launch(),
    }
}

/// Maps one page at [`PAGE_AT`] with `protection`.
fn map(protection: usize) -> usize {
    let ret = syscall3(Sys::MemMap, PAGE, protection, PAGE_AT);
    assert!(ret > 0, "wild child: mem_map failed with {ret}");
    ret as usize
}

/// Random bytes over the page at `page`.
fn fill(page: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    for word in 0..PAGE / 8 {
        // SAFETY: the page was just mapped writable for this process.
        unsafe { (page as *mut u64).add(word).write(rng.next()) };
    }
}

/// What the launch code loads: rax to r15 (without rsp), rip, rflags,
/// rsp, a stack selector, and a far pointer (32-bit offset, selector).
static FRAME: [AtomicU64; 20] = [const { AtomicU64::new(0) }; 20];

/// Loads the registers from [`FRAME`] (rflags, then rsp last), then runs
/// `$last`, which must fault (or trap): the process dies there, so the
/// function never returns to Rust code.
macro_rules! launch {
    ($name:ident, $last:literal) => {
        #[unsafe(naked)]
        extern "C" fn $name() -> ! {
            naked_asm!(
                "mov rax, [rip + {f}]",
                "mov rbx, [rip + {f} + 8]",
                "mov rcx, [rip + {f} + 16]",
                "mov rdx, [rip + {f} + 24]",
                "mov rsi, [rip + {f} + 32]",
                "mov rdi, [rip + {f} + 40]",
                "mov rbp, [rip + {f} + 48]",
                "mov r8, [rip + {f} + 56]",
                "mov r9, [rip + {f} + 64]",
                "mov r10, [rip + {f} + 72]",
                "mov r11, [rip + {f} + 80]",
                "mov r12, [rip + {f} + 88]",
                "mov r13, [rip + {f} + 96]",
                "mov r14, [rip + {f} + 104]",
                "mov r15, [rip + {f} + 112]",
                "push qword ptr [rip + {f} + 128]",
                "popfq",
                "mov rsp, [rip + {f} + 136]",
                $last,
                "ud2",
                f = sym FRAME,
            )
        }
    };
}

launch!(launch, "jmp qword ptr [rip + {f} + 120]");
launch!(launch_cs, "jmp fword ptr [rip + {f} + 152]");
launch!(launch_ss, "mov ss, word ptr [rip + {f} + 144]");
launch!(launch_ds, "mov ds, word ptr [rip + {f} + 144]");
launch!(launch_es, "mov es, word ptr [rip + {f} + 144]");
launch!(launch_fs, "mov fs, word ptr [rip + {f} + 144]");
launch!(launch_gs, "mov gs, word ptr [rip + {f} + 144]");
