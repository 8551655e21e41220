//! Segments: the GDT (kernel and user code/data laid out as `syscall`/`sysret`
//! require), the TSS whose RSP0 is the current thread's kernel stack, and a
//! null LDT.

use core::arch::asm;
use core::ptr::addr_of_mut;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot for the double-fault handler.
pub const DOUBLE_FAULT_IST: u16 = 0;
const IST_STACK_SIZE: usize = 16 * 1024;

static mut DOUBLE_FAULT_STACK: [u128; IST_STACK_SIZE / 16] = [0; IST_STACK_SIZE / 16];
/// The task-state segment; its RSP0 is also where the system-call entry
/// finds the running thread's kernel stack.
pub(super) static mut TSS: TaskStateSegment = TaskStateSegment::new();
/// Where RSP0 sits in [`TSS`].
pub(super) const TSS_RSP0: usize = core::mem::offset_of!(TaskStateSegment, privilege_stack_table);
static GDT: Once<GlobalDescriptorTable> = Once::new();

/// Selectors; user selectors carry RPL 3.
pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
}
pub static SELECTORS: Once<Selectors> = Once::new();

pub fn init() {
    let tss = addr_of_mut!(TSS);
    // SAFETY: runs once at boot before interrupts; the IST stack is used
    // only by the double-fault handler.
    unsafe {
        let top = VirtAddr::from_ptr(addr_of_mut!(DOUBLE_FAULT_STACK)) + IST_STACK_SIZE as u64;
        (*tss).interrupt_stack_table[DOUBLE_FAULT_IST as usize] = top;
    }
    let mut sel = None;
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a static that lives forever.
        let tss_sel = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
        sel = Some((
            Selectors {
                kernel_code,
                kernel_data,
                user_data,
                user_code,
            },
            tss_sel,
        ));
        gdt
    });
    gdt.load();
    let (selectors, tss_sel) = sel.expect("gdt initialised twice");
    // SAFETY: the selectors index the GDT just loaded; a null LDT
    // selector is always valid for `lldt`.
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(selectors.kernel_data);
        ES::set_reg(selectors.kernel_data);
        load_tss(tss_sel);
        // A null LDT: the LDT register otherwise keeps its reset state
        // (base 0, limit 0xffff), and a program's LDT selectors would make
        // the CPU read descriptors, call gates included, from user memory
        // at 0..0xffff. With a null LDT they take a #GP.
        asm!("lldt {0:x}", in(reg) 0u16, options(nostack, preserves_flags));
    }
    SELECTORS.call_once(|| selectors);
}

/// Points RSP0 (the stack for interrupts from ring 3, and for system calls)
/// at `top`, a kernel stack top (canonical: it is taken as it is, neither
/// checked nor truncated, on the switch path).
pub fn set_kernel_stack(top: u64) {
    // SAFETY: `top` is the top of a kernel stack, in the kernel's half of
    // the address space, so canonical; single CPU with interrupts off in
    // the kernel: nothing reads the TSS concurrently except the CPU on the
    // next ring switch.
    unsafe { (*addr_of_mut!(TSS)).privilege_stack_table[0] = VirtAddr::new_unsafe(top) };
}
