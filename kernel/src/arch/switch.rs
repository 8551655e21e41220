//! Thread context switching. A thread that is not running is fully described
//! by its saved kernel stack pointer: [`switch`] pushes the callee-saved
//! registers on the old stack, saves the old user FPU state, and resumes the
//! new stack where it last called `switch` (or at a trampoline for a thread
//! that never ran). Nothing passes through a run queue here: the scheduler
//! decides who runs next, which is what makes direct handoff possible.

use super::cpu::FpuState;
use super::traps::TrapFrame;
use core::arch::naked_asm;

/// Words `switch` keeps on a stack below the return address.
const SAVED_REGS: usize = 6;

/// Switches from the current thread to another.
///
/// # Safety
/// `prev_rsp` and `prev_fpu` must belong to the running thread; `next_rsp`
/// must be a stack pointer saved by `switch` or made by one of the `prepare`
/// functions, with `next_fpu` that thread's FPU state, and the next thread's
/// kernel stack and address space must be live.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(
    prev_rsp: *mut u64,
    next_rsp: u64,
    prev_fpu: *mut FpuState,
    next_fpu: *const FpuState,
) {
    naked_asm!(
        "fxsave64 [rdx]",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "fxrstor64 [rcx]",
        "ret",
    )
}

/// Like [`switch`], but the next thread resumes in user mode from the
/// system-call trap frame at `frame` (on its kernel stack, its outcome
/// already written into it) instead of from a kernel context, once
/// `task::after_switch_to_user` has seen the frame (a signal handler may
/// be entered there).
///
/// # Safety
/// As for [`switch`], with `frame` a syscall trap frame at the top of the
/// next thread's live kernel stack.
#[unsafe(naked)]
pub unsafe extern "C" fn switch_to_user(
    prev_rsp: *mut u64,
    frame: u64,
    prev_fpu: *mut FpuState,
    next_fpu: *const FpuState,
) {
    naked_asm!(
        "fxsave64 [rdx]",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "fxrstor64 [rcx]",
        "mov rsp, rsi",
        "mov rdi, rsi",
        "call {after}",
        "jmp {exit}",
        after = sym crate::task::after_switch_to_user,
        exit = sym super::syscall::syscall_exit,
    )
}

/// Leaves the running kernel context for good (the running thread is parked
/// in a door operation and will be resumed from its own trap frame) and
/// enters user mode as the next thread, from the system-call trap frame at
/// `frame` (its outcome already written into it). Unlike the switches, it
/// has no exited thread to free (`task::after_switch`): the running thread
/// freed them when it got the CPU, and none exited since (an exiting thread
/// switches away at once, and never jumps).
///
/// # Safety
/// Nothing on the running kernel stack may be needed again; `frame` and
/// the FPU areas as for [`switch_to_user`].
#[unsafe(naked)]
pub unsafe extern "C" fn jump_to_user(
    frame: u64,
    prev_fpu: *mut FpuState,
    next_fpu: *const FpuState,
) -> ! {
    naked_asm!(
        "fxsave64 [rsi]",
        "fxrstor64 [rdx]",
        "mov rsp, rdi",
        "jmp {exit}",
        exit = sym super::syscall::syscall_exit,
    )
}

/// First code of a new user thread: finish the switch, then enter ring 3
/// through the trap frame at the top of its kernel stack.
#[unsafe(naked)]
unsafe extern "C" fn user_thread_start() {
    naked_asm!("call {entry}", "jmp trap_return", entry = sym crate::task::user_thread_entry)
}

/// First code of a new kernel thread: finish the switch, then call the
/// entry function the stack was prepared with (in r12).
#[unsafe(naked)]
unsafe extern "C" fn kernel_thread_start() {
    naked_asm!("call {after}", "call r12", "ud2", after = sym crate::task::after_switch)
}

/// Writes `words` below `top` and returns the new stack pointer.
///
/// # Safety
/// `top` must be the 16-byte aligned top of a mapped, unused kernel stack.
unsafe fn push_words(top: u64, words: &[u64]) -> u64 {
    let rsp = top - (words.len() * 8) as u64;
    // SAFETY: as the caller promises, the stack is mapped and unused.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), rsp as *mut u64, words.len()) };
    rsp
}

/// Prepares a fresh kernel stack so that switching to it enters user mode
/// with `frame`. Returns the stack pointer to give `switch`.
///
/// # Safety
/// As for [`push_words`].
pub unsafe fn prepare_user(top: u64, frame: &TrapFrame) -> u64 {
    let frame_at = top - size_of::<TrapFrame>() as u64;
    // SAFETY: the frame fits in the fresh stack (caller's promise).
    unsafe { (frame_at as *mut TrapFrame).write(*frame) };
    let mut words = [0u64; SAVED_REGS + 1];
    words[SAVED_REGS] = user_thread_start as *const () as u64;
    // SAFETY: below the frame, same stack.
    unsafe { push_words(frame_at, &words) }
}

/// Prepares a fresh kernel stack so that switching to it calls `entry`.
///
/// # Safety
/// As for [`push_words`].
pub unsafe fn prepare_kernel(top: u64, entry: extern "C" fn() -> !) -> u64 {
    // Order as `switch` pops: r15, r14, r13, r12, rbx, rbp, return address.
    // After `ret` the stack pointer is `top` again, 16-byte aligned for the
    // calls in `kernel_thread_start`.
    let words = [
        0,
        0,
        0,
        entry as *const () as u64,
        0,
        0,
        kernel_thread_start as *const () as u64,
    ];
    // SAFETY: as the caller promises.
    unsafe { push_words(top, &words) }
}
