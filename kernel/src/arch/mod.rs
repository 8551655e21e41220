//! Everything that touches the x86_64 hardware directly lives below this
//! module: segment and interrupt tables, trap and syscall entry, context
//! switching, the timer, CPU features and the QEMU exit port. The rest of the
//! kernel calls the safe functions here and never writes `asm!` itself.

pub mod cpu;
pub mod gdt;
pub mod switch;
pub mod syscall;
pub mod timer;
pub mod traps;

use x86_64::instructions::port::Port;

/// Ends the emulator with `code` (see `abi::exit_code`).
pub fn qemu_exit(code: u32) -> ! {
    let mut port = Port::<u32>::new(0xf4);
    // SAFETY: isa-debug-exit's port; writing it stops QEMU.
    unsafe { port.write(code) };
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
