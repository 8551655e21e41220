//! Console output: `print!`/`println!` format into a buffer and hand whole
//! lines to the kernel console, so lines from different threads do not mix.

use crate::sys::{Errno, check, syscall2};
use abi::Sys;
use core::fmt::{self, Write};
use spin::Mutex;

/// Writes raw bytes to the console (in as many system calls as it takes).
pub fn write(bytes: &[u8]) -> Result<(), Errno> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = check(syscall2(
            Sys::DebugWrite,
            rest.as_ptr() as usize,
            rest.len(),
        ))?;
        rest = &rest[n..];
    }
    Ok(())
}

struct LineBuffer {
    buf: [u8; 256],
    len: usize,
}

impl LineBuffer {
    fn flush(&mut self) {
        if self.len > 0 {
            // Nothing to do if the console refuses: the line is lost.
            let _ = write(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for LineBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

static OUT: Mutex<LineBuffer> = Mutex::new(LineBuffer {
    buf: [0; 256],
    len: 0,
});

#[doc(hidden)]
pub fn print(args: fmt::Arguments) {
    let mut out = OUT.lock();
    let _ = out.write_fmt(args);
    out.flush();
}

#[macro_export]
macro_rules! print { ($($a:tt)*) => { $crate::io::print(format_args!($($a)*)) } }
#[macro_export]
macro_rules! println {
    () => { $crate::io::print(format_args!("\n")) };
    ($($a:tt)*) => { $crate::io::print(format_args!("{}\n", format_args!($($a)*))) };
}
