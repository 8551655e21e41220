//! Bad system calls get error codes, never a kernel fault: unknown numbers,
//! null, kernel and unmapped pointers, read-only buffers, bad sizes and
//! flags, and calls reserved to init.
#![no_std]
#![no_main]

use userland::abi::errno::*;
use userland::abi::{SpawnArgs, sys};
use userland::println;
use userland::sys::syscall;

userland::entry!(main);

const KERNEL: usize = 0xffff_ffff_8000_0000;
const UNMAPPED: usize = 0x0000_3000_0000_0000;
static READ_ONLY: [u8; 64] = [0; 64];

fn main() -> i32 {
    let name = "hello";
    // Longer than any boot file system name (ustar: 155 + 1 + 100 bytes).
    let long_name = "n".repeat(300);
    let spawn_of = |name: &str| SpawnArgs {
        name_ptr: name.as_ptr() as u64,
        name_len: name.len() as u64,
        args_ptr: 0,
        args_len: 0,
        descs_ptr: 0,
        descs_len: 0,
    };
    let bad_name_ptr = SpawnArgs {
        name_ptr: KERNEL as u64,
        ..spawn_of(name)
    };
    let missing = spawn_of("no_such_program");
    let not_elf = spawn_of("boot.args");
    let too_long = spawn_of(&long_name);
    let unterminated_args = SpawnArgs {
        args_ptr: name.as_ptr() as u64,
        args_len: 3,
        ..spawn_of(name)
    };
    let p = |s: &SpawnArgs| s as *const SpawnArgs as usize;
    let ro = READ_ONLY.as_ptr() as usize;
    let boot_args = "boot.args";
    let cases: [(&str, usize, [usize; 6], isize); 24] = [
        ("unknown number", 999, [0; 6], ENOSYS),
        ("huge number", usize::MAX, [0; 6], ENOSYS),
        ("write null", sys::DEBUG_WRITE, [0, 10, 0, 0, 0, 0], EFAULT),
        (
            "write kernel",
            sys::DEBUG_WRITE,
            [KERNEL, 10, 0, 0, 0, 0],
            EFAULT,
        ),
        (
            "write unmapped",
            sys::DEBUG_WRITE,
            [UNMAPPED, 10, 0, 0, 0, 0],
            EFAULT,
        ),
        (
            "write wrapping",
            sys::DEBUG_WRITE,
            [usize::MAX - 4, 10, 0, 0, 0, 0],
            EFAULT,
        ),
        (
            "write too long",
            sys::DEBUG_WRITE,
            [ro, 1 << 30, 0, 0, 0, 0],
            EINVAL,
        ),
        ("spawn null", sys::SPAWN, [0; 6], EFAULT),
        (
            "spawn kernel name",
            sys::SPAWN,
            [p(&bad_name_ptr), 0, 0, 0, 0, 0],
            EFAULT,
        ),
        (
            "spawn missing",
            sys::SPAWN,
            [p(&missing), 0, 0, 0, 0, 0],
            ENOENT,
        ),
        (
            "spawn non-ELF",
            sys::SPAWN,
            [p(&not_elf), 0, 0, 0, 0, 0],
            ENOEXEC,
        ),
        (
            "spawn long name",
            sys::SPAWN,
            [p(&too_long), 0, 0, 0, 0, 0],
            ENAMETOOLONG,
        ),
        (
            "spawn bad args",
            sys::SPAWN,
            [p(&unterminated_args), 0, 0, 0, 0, 0],
            EINVAL,
        ),
        (
            "wait no child",
            sys::WAIT,
            [usize::MAX, 0, 0, 0, 0, 0],
            ECHILD,
        ),
        ("map zero", sys::MEM_MAP, [0, 3, 0, 0, 0, 0], EINVAL),
        (
            "map bad prot",
            sys::MEM_MAP,
            [4096, 0x80, 0, 0, 0, 0],
            EINVAL,
        ),
        (
            "map unaligned",
            sys::MEM_MAP,
            [4096, 3, 0x1234, 0, 0, 0],
            EINVAL,
        ),
        (
            "map kernel",
            sys::MEM_MAP,
            [4096, 3, KERNEL, 0, 0, 0],
            EINVAL,
        ),
        (
            "unmap bogus",
            sys::MEM_UNMAP,
            [UNMAPPED, 4096, 0, 0, 0, 0],
            EINVAL,
        ),
        (
            "shutdown not init",
            sys::SHUTDOWN,
            [0x10, 0, 0, 0, 0, 0],
            EPERM,
        ),
        ("kstat bogus", sys::KSTAT, [999, 0, 0, 0, 0, 0], EINVAL),
        (
            "read into rodata",
            sys::BOOTFS_READ,
            [boot_args.as_ptr() as usize, boot_args.len(), ro, 64, 0, 0],
            EFAULT,
        ),
        (
            "read into kernel",
            sys::BOOTFS_READ,
            [
                boot_args.as_ptr() as usize,
                boot_args.len(),
                KERNEL,
                64,
                0,
                0,
            ],
            EFAULT,
        ),
        (
            "sleep forever",
            sys::SLEEP_TICKS,
            [usize::MAX, 0, 0, 0, 0, 0],
            EINVAL,
        ),
    ];
    let mut failed = 0;
    for (what, nr, args, want) in cases {
        let got = syscall(nr, args);
        if got != -want {
            println!(
                "badsys: {what}: got {got}, expected -{} ({})",
                want,
                name_of(want)
            );
            failed += 1;
        }
    }
    if failed > 0 {
        return 1;
    }
    println!(
        "badsys: {} bad calls all got their error codes",
        cases.len()
    );
    0
}

fn name_of(e: isize) -> &'static str {
    userland::abi::errno::name(e)
}

extern crate alloc;
