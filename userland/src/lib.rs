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

static ARGS: Once<(usize, usize)> = Once::new();

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

/// Where the kernel starts a program: `rdi` = argument table, `rsi` = count.
#[unsafe(no_mangle)]
extern "C" fn _start(argv: *const UserArg, argc: usize) -> ! {
    ARGS.call_once(|| (argv as usize, argc));
    let (base, size) = thread::main_stack();
    tcb::install(base, size, None);
    // SAFETY: `__user_main` is defined by the program through `entry!`.
    let status = unsafe { __user_main() };
    process::exit(status)
}

/// The program's arguments; the first is its name.
pub fn args() -> impl Iterator<Item = &'static str> {
    let (argv, argc) = ARGS.get().copied().unwrap_or((0, 0));
    (0..argc).map(move |i| {
        // SAFETY: the kernel placed `argc` entries at `argv`, each naming
        // bytes on the stack that stay there for the program's lifetime.
        let bytes = unsafe {
            let a = *(argv as *const UserArg).add(i);
            core::slice::from_raw_parts(a.ptr as *const u8, a.len as usize)
        };
        core::str::from_utf8(bytes).unwrap_or("")
    })
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
