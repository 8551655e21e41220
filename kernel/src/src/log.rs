//! The kernel console: COM1 through `uart_16550`, with log levels. Everything
//! the kernel and user programs print ends up here, and the host runner
//! reads it from QEMU's serial output.

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550Tty};

static CONSOLE: Mutex<Option<Uart16550Tty<PioBackend>>> = Mutex::new(None);

/// Message importance; messages below [`MAX_LEVEL`] are dropped.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

/// The most detailed level printed.
pub const MAX_LEVEL: Level = Level::Info;

/// Sets up COM1. Before this, output is dropped.
pub fn init() {
    // SAFETY: 0x3f8 is COM1 on a PC, and only this console uses it.
    let tty = unsafe { Uart16550Tty::new_port(0x3f8, Config::default()) };
    *CONSOLE.lock() = tty.ok();
}

/// Writes raw bytes (user output), as text where they are UTF-8.
pub fn write_bytes(bytes: &[u8]) {
    if let Some(c) = CONSOLE.lock().as_mut() {
        for chunk in bytes.utf8_chunks() {
            let _ = c.write_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                let _ = c.write_str("\u{fffd}");
            }
        }
    }
}

#[doc(hidden)]
pub fn print(level: Level, args: fmt::Arguments) {
    if level > MAX_LEVEL {
        return;
    }
    let tag = match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
    };
    if let Some(c) = CONSOLE.lock().as_mut() {
        let _ = writeln!(c, "[{tag}] {args}");
    }
}

/// Breaks the console lock (used only by the panic path, which never returns).
pub fn force_unlock() {
    // SAFETY: called with interrupts off on the only CPU by code that never
    // gives the console back to the interrupted holder.
    unsafe { CONSOLE.force_unlock() };
}

#[macro_export]
macro_rules! error { ($($a:tt)*) => { $crate::log::print($crate::log::Level::Error, format_args!($($a)*)) } }
#[macro_export]
macro_rules! warn { ($($a:tt)*) => { $crate::log::print($crate::log::Level::Warn, format_args!($($a)*)) } }
#[macro_export]
macro_rules! info { ($($a:tt)*) => { $crate::log::print($crate::log::Level::Info, format_args!($($a)*)) } }
#[macro_export]
macro_rules! debug { ($($a:tt)*) => { $crate::log::print($crate::log::Level::Debug, format_args!($($a)*)) } }
