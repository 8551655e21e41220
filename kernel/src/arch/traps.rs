//! Interrupt and exception entry. Each vector has a tiny assembly stub that
//! pushes a uniform [`TrapFrame`] and calls [`trap_dispatch`]; the frame is
//! also what `syscall` entry builds, so a thread's user state always sits at
//! the top of its kernel stack in one format.
//!
//! No user RFLAGS bit reaches kernel code: the CPU clears TF, NT, RF and IF
//! when it delivers an interrupt or exception through these interrupt gates,
//! and the common stub clears DF (`cld`) and AC (`clac`, when the CPU has
//! SMAP: a user AC would switch SMAP off in the kernel). NT in particular
//! must never be set in ring 0, where the next `iretq` would take a #GP.

use super::gdt::DOUBLE_FAULT_IST;
use core::arch::{global_asm, naked_asm};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::registers::rflags::{self, RFlags};
use x86_64::structures::idt::InterruptDescriptorTable;

/// Vector of the timer interrupt (PIC IRQ 0 after remapping).
pub const TIMER_VECTOR: u8 = 32;
/// Vectors with a stub: the 32 exceptions and the 16 PIC interrupts.
const STUBS: usize = 48;

/// Whether trap entry clears AC with `clac` (only when the CPU has SMAP:
/// elsewhere the instruction is undefined, and AC means nothing in ring 0).
static CLEAR_AC: AtomicBool = AtomicBool::new(false);

/// Makes every trap entry clear AC (call once SMAP is on).
pub fn clear_ac_on_entry() {
    CLEAR_AC.store(true, Ordering::Relaxed);
}

/// User (or kernel) register state at a trap or syscall, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rax: u64,
    // Next to each other and to `vector`: the system-call exit skips them
    // in one step (`sysretq` takes rip and rflags from rcx and r11).
    pub r11: u64,
    pub rcx: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Whether the trap came from ring 3.
    pub fn is_user_mode(&self) -> bool {
        self.cs & 3 == 3
    }
}

global_asm!(
    r#"
    .macro STUB n
    .if \n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30
    .else
        push 0
    .endif
        push \n
        jmp trap_common
    .endm

    .section .text
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    trap_stub_\n:
        STUB \n
    .endr

    .section .rodata
    .global trap_stub_table
    trap_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
        .quad trap_stub_\n
    .endr

    .section .text
trap_common:
    cmp byte ptr [rip + {clear_ac}], 0
    je 1f
    clac
1:
    push rcx
    push r11
    push rax
    push rbx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call trap_dispatch
    .global trap_return
trap_return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rbx
    pop rax
    pop r11
    pop rcx
    add rsp, 16
    iretq
"#,
    clear_ac = sym CLEAR_AC,
);

unsafe extern "C" {
    static trap_stub_table: [u64; STUBS];
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

pub fn init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // SAFETY: each address is the stub for its own vector, which saves
        // a full frame and returns with iretq.
        unsafe {
            let stub = |v: usize| VirtAddr::new(trap_stub_table[v]);
            for v in
                (0u8..STUBS as u8).filter(|v| matches!(v, 0..=7 | 9 | 16 | 19 | 20 | 28 | 32..))
            {
                idt[v].set_handler_addr(stub(v as usize));
            }
            idt.double_fault
                .set_handler_addr(stub(8))
                .set_stack_index(DOUBLE_FAULT_IST);
            idt.invalid_tss.set_handler_addr(stub(10));
            idt.segment_not_present.set_handler_addr(stub(11));
            idt.stack_segment_fault.set_handler_addr(stub(12));
            idt.general_protection_fault.set_handler_addr(stub(13));
            idt.page_fault.set_handler_addr(stub(14));
            idt.alignment_check.set_handler_addr(stub(17));
            idt.machine_check.set_handler_addr(stub(18));
            idt.cp_protection_exception.set_handler_addr(stub(21));
            idt.vmm_communication_exception.set_handler_addr(stub(29));
            idt.security_exception.set_handler_addr(stub(30));
        }
        idt
    });
    idt.load();
}

/// Short names of the exceptions, for reports.
pub fn exception_name(vector: u64) -> &'static str {
    const NAMES: [&str; 22] = [
        "#DE divide error",
        "#DB debug",
        "NMI",
        "#BP breakpoint",
        "#OF overflow",
        "#BR bound range",
        "#UD invalid opcode",
        "#NM device not available",
        "#DF double fault",
        "coprocessor overrun",
        "#TS invalid TSS",
        "#NP segment not present",
        "#SS stack-segment fault",
        "#GP general protection",
        "#PF page fault",
        "reserved",
        "#MF x87 floating point",
        "#AC alignment check",
        "#MC machine check",
        "#XM SIMD floating point",
        "#VE virtualization",
        "#CP control protection",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("exception")
}

/// The faulting address of the last page fault.
pub fn fault_address() -> u64 {
    Cr2::read_raw()
}

/// Panics if a user RFLAGS bit that changes how kernel code runs (NT, TF,
/// DF, and AC where SMAP is on) survived the entry from user mode.
fn assert_no_user_flags() {
    let mut forbidden = RFlags::NESTED_TASK | RFlags::TRAP_FLAG | RFlags::DIRECTION_FLAG;
    if CLEAR_AC.load(Ordering::Relaxed) {
        forbidden |= RFlags::ALIGNMENT_CHECK;
    }
    let flags = rflags::read();
    assert!(
        !flags.intersects(forbidden),
        "user RFLAGS {flags:?} reached kernel code"
    );
}

#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    if frame.is_user_mode() {
        assert_no_user_flags();
    }
    match frame.vector {
        v if v == u64::from(TIMER_VECTOR) => {
            super::timer::end_of_interrupt(0);
            crate::task::on_timer_tick(frame);
        }
        33..=47 => super::timer::end_of_interrupt((frame.vector - 32) as u8),
        _ if frame.is_user_mode() => crate::task::on_user_exception(frame),
        _ => crate::task::on_kernel_exception(frame),
    }
    if frame.is_user_mode() {
        crate::task::deliver_signals(frame, None);
    }
}

/// Leaves the kernel for good into user mode with every register `frame`
/// holds, through `iretq` (so rcx and r11 come back too, which `sysretq`
/// would overwrite: what `rt_sigreturn` needs).
///
/// # Safety
/// `frame` is the trap frame at the top of the running thread's kernel
/// stack, with user code and stack segments and a user `rip`; nothing
/// else on that stack is needed again (no lock held, nothing to drop).
#[unsafe(naked)]
pub unsafe extern "C" fn return_to_user(frame: *const TrapFrame) -> ! {
    naked_asm!("mov rsp, rdi", "jmp trap_return")
}
