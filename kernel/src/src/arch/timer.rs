//! The preemption timer: the legacy PIC remapped to vectors 32..48 with only
//! IRQ 0 unmasked, and the PIT firing it at [`HZ`].

use x86_64::instructions::port::Port;

/// Timer interrupts per second.
pub const HZ: u32 = 100;
const PIT_FREQUENCY: u32 = 1_193_182;

fn outb(port: u16, value: u8) {
    // SAFETY: PIC and PIT ports, programmed only from this module.
    unsafe { Port::<u8>::new(port).write(value) };
}

pub fn init() {
    // ICW1..ICW4 for both PICs: vectors 32 and 40, cascade on IRQ 2, 8086 mode.
    for (cmd, data, offset, cascade) in [(0x20, 0x21, 32, 4), (0xa0, 0xa1, 40, 2)] {
        outb(cmd, 0x11);
        outb(data, offset);
        outb(data, cascade);
        outb(data, 0x01);
    }
    outb(0x21, 0xfe); // only IRQ 0
    outb(0xa1, 0xff);
    let divisor = (PIT_FREQUENCY / HZ) as u16;
    outb(0x43, 0x34); // channel 0, lobyte/hibyte, rate generator
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
}

/// Acknowledges interrupt `irq` at the PIC(s).
pub fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        outb(0xa0, 0x20);
    }
    outb(0x20, 0x20);
}
