//! The loader's only output: raw writes to the first serial port, and the
//! failure exit through QEMU's `isa-debug-exit` device.

use core::fmt::{self, Write};
use x86_64::instructions::port::Port;

/// The kernel-failure exit value of the QEMU exit contract
/// (`abi::exit_code::FAILURE`; the loader stays free of the heap
/// that the `doors` crate needs, so it names the value itself).
const FAILURE: u32 = 0x11;

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            let mut data = Port::<u8>::new(0x3f8);
            let mut status = Port::<u8>::new(0x3fd);
            // SAFETY: COM1's data and line-status registers; the loader is
            // the only code running.
            unsafe {
                while status.read() & 0x20 == 0 {}
                data.write(b);
            }
        }
        Ok(())
    }
}

/// Prints one line prefixed with `boot: `.
pub fn line(args: fmt::Arguments) {
    let _ = writeln!(Serial, "boot: {args}");
}

/// Reports why booting failed and exits QEMU with the failure code.
pub fn fail(args: fmt::Arguments) -> ! {
    line(format_args!("error: {args}"));
    let mut exit = Port::<u32>::new(0xf4);
    // SAFETY: writing the isa-debug-exit port ends the emulator.
    unsafe { exit.write(FAILURE) };
    loop {
        x86_64::instructions::hlt();
    }
}
