//! `syscall`/`sysret` entry. The stub switches to the current thread's
//! kernel stack, builds the same [`TrapFrame`] layout as an interrupt would,
//! calls the dispatcher, and returns with `sysretq`.
//!
//! The callee-saved registers (rbx, rbp, r12 to r15) get slots in the frame
//! but are neither saved nor restored here: the dispatcher, like any Rust
//! function, gives them back as it found them (a context switch on the
//! way saves them with the kernel context), and no system call reads or
//! changes them in the frame. Their slots hold garbage in a syscall frame.

use super::gdt::SELECTORS;
use super::traps::TrapFrame;
use core::arch::naked_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// `TrapFrame::vector` of a frame built by a syscall (not an IDT vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

/// Top of the running thread's kernel stack (read by the entry stub).
static KERNEL_RSP: AtomicU64 = AtomicU64::new(0);
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

/// Makes `top` the stack the next syscall runs on.
pub fn set_kernel_stack(top: u64) {
    KERNEL_RSP.store(top, Ordering::Relaxed);
}

#[unsafe(naked)]
unsafe extern "C" fn syscall_entry() {
    naked_asm!(
        "mov [rip + {user_rsp}], rsp",
        "mov rsp, [rip + {kernel_rsp}]",
        "push 0x1b",                      // ss: user data, RPL 3
        "push qword ptr [rip + {user_rsp}]",
        "push r11",                       // rflags
        "push 0x23",                      // cs: user code, RPL 3
        "push rcx",                       // rip
        "push 0",
        "push {vector}",
        "push rax",
        "sub rsp, 8",                     // rbx
        "push rcx",
        "push rdx",
        "push rsi",
        "push rdi",
        "sub rsp, 8",                     // rbp
        "push r8",
        "push r9",
        "push r10",
        "push r11",
        "sub rsp, 32",                    // r12..r15
        "mov rdi, rsp",
        "call {dispatch}",
        "add rsp, 32",
        "pop r11",
        "pop r10",
        "pop r9",
        "pop r8",
        "add rsp, 8",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop rcx",
        "add rsp, 8",
        "pop rax",
        "add rsp, 16",
        "pop rcx",                        // rip
        "add rsp, 8",
        "pop r11",                        // rflags
        "pop rsp",
        "sysretq",
        user_rsp = sym USER_RSP,
        kernel_rsp = sym KERNEL_RSP,
        vector = const SYSCALL_VECTOR,
        dispatch = sym syscall_dispatch,
    )
}

extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    crate::syscall::dispatch(frame);
}
