//! The user/kernel ABI, defined once: system call numbers ([`Sys`]), error
//! numbers ([`Errno`]), the structures that cross the boundary with their
//! exact C layouts and byte encodings ([`Wire`]), and the exit codes of a
//! boot. The kernel, the door logic and the user runtime all import this
//! leaf crate, so the sides cannot disagree (the idea of Hubris's
//! `sys/abi`).
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod door;
mod errno;
pub mod fs;
mod sys;
mod wire;

pub use door::*;
pub use errno::Errno;
pub use sys::{NATIVE_BASE, Sys};
pub use wire::{Buffer, Wire};

/// Protection bits for [`Sys::MemMap`].
pub mod prot {
    pub const READ: usize = 1;
    pub const WRITE: usize = 2;
    pub const EXEC: usize = 4;
}

/// Which counter [`Sys::Kstat`] returns.
pub mod kstat {
    pub const PROCESSES: usize = 0;
    pub const THREADS: usize = 1;
    pub const FREE_FRAMES: usize = 2;
    pub const TIMER_TICKS: usize = 3;
    pub const DESCRIPTORS: usize = 4;
    pub const DOORS: usize = 5;
    /// Time-stamp counter when the kernel was entered.
    pub const BOOT_TSC: usize = 6;
    /// Time-stamp counter just before the first user instruction ran.
    pub const FIRST_USER_TSC: usize = 7;
    /// Direct switches between a door caller and a server thread so far
    /// (each leg of a handed-off call counts once).
    pub const DOOR_HANDOFFS: usize = 8;
    /// Door calls and returns that took the null-call fast path so far
    /// (each leg counts once).
    pub const DOOR_FAST_PATHS: usize = 9;
}

/// Argument block of [`Sys::Spawn`].
///
/// `args` points to `args_len` bytes holding the arguments, each ended by a
/// NUL byte. `descs` lists descriptors of the caller that the child receives,
/// in order, as its descriptors 0, 1, ... (a child starts with nothing else).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpawnArgs {
    pub name_ptr: u64,
    pub name_len: u64,
    pub args_ptr: u64,
    pub args_len: u64,
    pub descs_ptr: u64,
    pub descs_len: u64,
}

/// Where a new program finds its arguments: `rdi` points to `argc` entries
/// of this type (on its stack), `rsi` is `argc`. Argument 0 is the program name.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UserArg {
    pub ptr: u64,
    pub len: u64,
}

/// Top of a program's main-thread stack (the kernel maps it; the doors
/// library uses its extent as the main thread's door stack area).
pub const MAIN_STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Size of the main-thread stack; the page below it stays unmapped.
pub const MAIN_STACK_SIZE: u64 = 256 * 1024;

/// The boot file system file that holds the command line init runs: one
/// program per line, its arguments separated by spaces.
pub const BOOT_ARGS_FILE: &str = "boot.args";

/// The start of the line init prints when, after the programs ran, the
/// kernel's counts of processes, threads, frames, doors and descriptors are
/// back at their starting values (the host runner looks for it).
pub const INIT_NO_LEAKS: &str = "init: no leaks";

/// Most processes that exist at once (zombies included). The bound keeps
/// the kernel heap, which holds every process's records (descriptor table,
/// doors, areas), from running out whatever programs do.
pub const MAX_PROCESSES: usize = 128;

/// Most arguments (including the name) a spawned program gets.
pub const MAX_ARGS: usize = 32;
/// Most bytes of argument text a spawned program gets.
pub const MAX_ARGS_BYTES: usize = 4096;

/// Exit statuses the kernel gives a process it kills: `KILLED_BASE + vector`
/// for an exception (like a shell's `128 + signal`).
pub const KILLED_BASE: i32 = 128;

/// QEMU exit contract (`isa-debug-exit`: the host sees `(value << 1) | 1`).
pub mod exit_code {
    /// Everything passed: the host sees 33.
    pub const SUCCESS: u32 = 0x10;
    /// The kernel failed (panic, or init could not run): the host sees 35.
    pub const FAILURE: u32 = 0x11;
    /// A program was killed by the kernel after a fault: the host sees 37.
    pub const KILLED: u32 = 0x12;
    /// A program exited with status `s` in `1..=STATUS_MAX`: the value is
    /// `STATUS_BASE + s`, so the host sees `((STATUS_BASE + s) << 1) | 1`.
    pub const STATUS_BASE: u32 = 0x20;
    /// Statuses above this are reported as `STATUS_BASE + STATUS_MAX`.
    pub const STATUS_MAX: u32 = 0x5f;

    /// The value init writes for a program's exit status.
    pub fn for_status(status: i32) -> u32 {
        match status {
            0 => SUCCESS,
            s if (super::KILLED_BASE..super::KILLED_BASE + 32).contains(&s) => KILLED,
            s if s > 0 && (s as u32) <= STATUS_MAX => STATUS_BASE + s as u32,
            _ => STATUS_BASE + STATUS_MAX,
        }
    }
}
