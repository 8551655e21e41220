//! Program output: `print!`/`println!` format into a buffer and write whole
//! lines to descriptor 1 (one `write` each, so lines from different
//! threads do not mix). init gives the programs it runs the console as
//! descriptors 0, 1 and 2; a process whose descriptor 1 takes no writes
//! (a child given only doors, say) writes through `debug_write` to the
//! console instead, so its output and failure reports still reach it.

use crate::fs;
use crate::sys::{Errno, check, syscall2};
use abi::Sys;
use core::fmt::{self, Write};
use spin::Mutex;

/// The descriptor output goes to.
const STDOUT: i32 = 1;

/// Writes `bytes` to the kernel console with `debug_write` (in as many
/// calls as it takes).
fn debug_write(bytes: &[u8]) -> Result<(), Errno> {
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

/// Writes raw bytes to standard output, or to the console when descriptor
/// 1 is not open for writing (EBADF).
pub fn write(bytes: &[u8]) -> Result<(), Errno> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match fs::write_fd(STDOUT, rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::EBADF) => return debug_write(rest),
            Err(e) => return Err(e),
        }
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
