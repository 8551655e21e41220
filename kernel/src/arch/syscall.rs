//! `syscall`/`sysret` entry. The stub switches to the current thread's
//! kernel stack (the TSS's RSP0, as for an interrupt), saves the user
//! registers in the same [`TrapFrame`] layout as an interrupt would (all
//! but rcx and r11, which the instruction itself overwrites with the return
//! address and flags: their slots keep what this thread's earlier traps
//! left there), calls the dispatcher, and leaves through
//! [`syscall_exit`], which restores them from the frame and returns with
//! `sysretq` (`rcx` and `r11` carry the return address and flags, as the
//! instruction needs).
//!
//! A thread blocked in a door operation does not keep a kernel context: it
//! is resumed by loading its trap frame, with its outcome written into it
//! (see `task::door_park`), through `syscall_exit` as well.

use super::gdt::SELECTORS;
use super::traps::TrapFrame;
use core::arch::naked_asm;
use core::mem::offset_of;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// `TrapFrame::vector` of a frame built by a syscall (not an IDT vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// The function the entry stub calls with the trap frame: the dispatcher,
/// or tracing's recording one (an indirect call costs what a direct one
/// does, so tracing off costs nothing here).
static DISPATCHER: AtomicPtr<()> = AtomicPtr::new(crate::syscall::dispatch as *mut ());

/// Makes `dispatcher` the function system calls enter.
pub fn set_dispatcher(dispatcher: extern "C" fn(&mut TrapFrame)) {
    DISPATCHER.store(dispatcher as *mut (), Ordering::Relaxed);
}

/// The user stack pointer while the stub switches stacks.
static USER_RSP: AtomicU64 = AtomicU64::new(0);

pub fn init() {
    let s = SELECTORS.get().expect("GDT before syscalls");
    Star::write(s.user_code, s.user_data, s.kernel_code, s.kernel_data)
        .expect("GDT layout fits sysret");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    // Every flag clear on entry, as Linux's mask does: interrupts off,
    // string direction forward, no single-step, AC clear so SMAP stays in
    // force, and no NT (a user NT carried into the kernel would make the
    // `iretq` of whichever thread runs next take a #GP in ring 0). The
    // user's flags come back from r11 at `sysretq`.
    SFMask::write(RFlags::all());
}

#[unsafe(naked)]
unsafe extern "C" fn syscall_entry() {
    naked_asm!(
        "mov [rip + {user_rsp}], rsp",
        "mov rsp, [rip + {tss} + {rsp0}]", // the running thread's kernel stack
        "push 0x1b",                      // ss: user data, RPL 3
        "push qword ptr [rip + {user_rsp}]",
        "push r11",                       // rflags
        "push 0x23",                      // cs: user code, RPL 3
        "push rcx",                       // rip
        "push 0",
        "push {vector}",
        "sub rsp, 16", // r11, rcx: clobbered by the instruction itself
        "push rax",
        "push rbx",
        "push rdx",
        "push rsi",
        "push rdi",
        "push rbp",
        "push r8",
        "push r9",
        "push r10",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov rdi, rsp",
        "call qword ptr [rip + {dispatcher}]",
        "jmp {exit}",
        user_rsp = sym USER_RSP,
        tss = sym super::gdt::TSS,
        rsp0 = const super::gdt::TSS_RSP0,
        vector = const SYSCALL_VECTOR,
        dispatcher = sym DISPATCHER,
        exit = sym syscall_exit,
    )
}

/// Returns to user mode from the system-call trap frame at `rsp`: restores
/// every register it holds and `sysretq`s to its `rip` with its `rflags`
/// (which `sysretq` takes from rcx and r11: the frame's own rcx and r11
/// are skipped, with the vector and error code; rip, rflags and the user
/// stack pointer are loaded, not popped).
///
/// # Safety
/// Jumped to (not called) with `rsp` at a syscall trap frame on the running
/// thread's kernel stack, interrupts off.
#[unsafe(naked)]
pub unsafe extern "C" fn syscall_exit() -> ! {
    naked_asm!(
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rbp",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop rbx",
        "pop rax",
        "mov rcx, [rsp + {rip}]",
        "mov r11, [rsp + {rflags}]",
        "mov rsp, [rsp + {rsp}]",
        "sysretq",
        rip = const offset_of!(TrapFrame, rip) - offset_of!(TrapFrame, r11),
        rflags = const offset_of!(TrapFrame, rflags) - offset_of!(TrapFrame, r11),
        rsp = const offset_of!(TrapFrame, rsp) - offset_of!(TrapFrame, r11),
    )
}
