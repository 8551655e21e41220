//! The user-side runtime: program entry (`_start`), arguments, exit codes,
//! output, a heap, threads and processes, files and pipes ([`fs`]), doors
//! ([`door`]), over the raw system calls of [`sys`]. A program is a file in `src/bin/` that uses [`entry!`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use userland::println;
//! userland::entry!(main);
//! fn main() -> i32 {
//!     println!("hello");
//!     0
//! }
//! ```
//!
//! A panic prints its message and exits the process with status 101.
// no_std and the panic handler on bare metal only: a host `cargo check
// --workspace` (what editors run) then sees an ordinary std crate.
#![cfg_attr(target_os = "none", no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod door;
pub mod fs;
pub mod heap;
pub mod io;
pub mod process;
pub mod sys;
mod tcb;
pub mod testkit;
pub mod thread;

pub use abi;
pub use sys::Errno;

use abi::UserArg;
use spin::Once;

/// The argument table, the number of arguments and of environment strings
/// (which follow the arguments in the table).
static ARGS: Once<(usize, usize, usize)> = Once::new();

// The note that makes the kernel run a program as native (with the system
// calls of `abi::Sys` and arguments as `abi::UserArg`s) rather than as a
// Linux program: `abi::NATIVE_NOTE_NAME`, type `abi::NATIVE_NOTE_TYPE`, ABI
// version 1. `user.ld` keeps it in a PT_NOTE segment.
#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".pushsection .note.doors, \"a\", @note",
    ".balign 4",
    ".long 6, 4, {kind}",
    ".asciz \"doors\"",
    ".balign 4",
    ".long 1",
    ".popsection",
    kind = const abi::NATIVE_NOTE_TYPE,
);

/// Declares the program's `main` (a `fn() -> i32`; the result is the exit status).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __user_main() -> i32 {
            let f: fn() -> i32 = $main;
            f()
        }
    };
}

unsafe extern "Rust" {
    fn __user_main() -> i32;
}

/// Where the kernel starts a program: `rdi` = the table of the arguments
/// and then the environment, `rsi` = the number of arguments, `rdx` = the
/// number of environment strings.
#[unsafe(no_mangle)]
extern "C" fn _start(argv: *const UserArg, argc: usize, envc: usize) -> ! {
    ARGS.call_once(|| (argv as usize, argc, envc));
    let (base, size) = thread::main_stack();
    tcb::install(base, size, None);
    // SAFETY: `__user_main` is defined by the program through `entry!`.
    let status = unsafe { __user_main() };
    process::exit(status)
}

/// The strings of the start table from `from` on, `count` of them.
fn table(from: usize, count: usize) -> impl Iterator<Item = &'static str> {
    let argv = ARGS.get().map_or(0, |a| a.0);
    (from..from + count).map(move |i| {
        // SAFETY: the kernel placed the entries at `argv`, each naming
        // bytes on the stack that stay there for the program's lifetime.
        let bytes = unsafe {
            let a = *(argv as *const UserArg).add(i);
            core::slice::from_raw_parts(a.ptr as *const u8, a.len as usize)
        };
        core::str::from_utf8(bytes).unwrap_or("")
    })
}

/// The program's arguments; the first is its name.
pub fn args() -> impl Iterator<Item = &'static str> {
    let (_, argc, _) = ARGS.get().copied().unwrap_or((0, 0, 0));
    table(0, argc)
}

/// The program's environment (`NAME=value` strings, as execve passed
/// them; a spawned program has none).
pub fn env() -> impl Iterator<Item = &'static str> {
    let (_, argc, envc) = ARGS.get().copied().unwrap_or((0, 0, 0));
    table(argc, envc)
}

/// The value of environment variable `name`.
pub fn var(name: &str) -> Option<&'static str> {
    env().find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
}

/// Argument `i` (0 is the program name).
pub fn arg(i: usize) -> Option<&'static str> {
    args().nth(i)
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {info}");
    process::exit(101)
}
