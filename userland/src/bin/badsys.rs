//! Bad system calls get error codes, never a kernel fault: unknown numbers,
//! null, kernel and unmapped pointers, read-only buffers, bad sizes and
//! flags, and calls reserved to init.
#![no_std]
#![no_main]

use userland::Errno;
use userland::abi::{NATIVE_BASE, SpawnArgs, Sys};
use userland::println;
use userland::sys::raw_syscall;

userland::entry!(main);

const KERNEL: usize = 0xffff_ffff_8000_0000;
const UNMAPPED: usize = 0x0000_3000_0000_0000;
static READ_ONLY: [u8; 64] = [0; 64];

fn main() -> i32 {
    let name = "hello";
    // Its one name is longer than NAME_MAX (255).
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
    let cases: [(&str, usize, [usize; 6], Errno); 24] = [
        ("Linux number", 1, [0; 6], Errno::ENOSYS),
        (
            "unknown native number",
            NATIVE_BASE + 999,
            [0; 6],
            Errno::ENOSYS,
        ),
        ("huge number", usize::MAX, [0; 6], Errno::ENOSYS),
        (
            "write null",
            Sys::DebugWrite.number(),
            [0, 10, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "write kernel",
            Sys::DebugWrite.number(),
            [KERNEL, 10, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "write unmapped",
            Sys::DebugWrite.number(),
            [UNMAPPED, 10, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "write wrapping",
            Sys::DebugWrite.number(),
            [usize::MAX - 4, 10, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        ("spawn null", Sys::Spawn.number(), [0; 6], Errno::EFAULT),
        (
            "spawn kernel name",
            Sys::Spawn.number(),
            [p(&bad_name_ptr), 0, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "spawn missing",
            Sys::Spawn.number(),
            [p(&missing), 0, 0, 0, 0, 0],
            Errno::ENOENT,
        ),
        (
            "spawn non-ELF",
            Sys::Spawn.number(),
            [p(&not_elf), 0, 0, 0, 0, 0],
            Errno::ENOEXEC,
        ),
        (
            "spawn long name",
            Sys::Spawn.number(),
            [p(&too_long), 0, 0, 0, 0, 0],
            Errno::ENAMETOOLONG,
        ),
        (
            "spawn bad args",
            Sys::Spawn.number(),
            [p(&unterminated_args), 0, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "wait no child",
            Sys::Wait.number(),
            [usize::MAX, 0, 0, 0, 0, 0],
            Errno::ECHILD,
        ),
        (
            "map zero",
            Sys::MemMap.number(),
            [0, 3, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "map bad prot",
            Sys::MemMap.number(),
            [4096, 0x80, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "map unaligned",
            Sys::MemMap.number(),
            [4096, 3, 0x1234, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "map kernel",
            Sys::MemMap.number(),
            [4096, 3, KERNEL, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "unmap bogus",
            Sys::MemUnmap.number(),
            [UNMAPPED, 4096, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "shutdown not init",
            Sys::Shutdown.number(),
            [0x10, 0, 0, 0, 0, 0],
            Errno::EPERM,
        ),
        (
            "kstat bogus",
            Sys::Kstat.number(),
            [999, 0, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
        (
            "getcwd into rodata",
            Sys::Getcwd.number(),
            [ro, 64, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "getcwd into kernel",
            Sys::Getcwd.number(),
            [KERNEL, 64, 0, 0, 0, 0],
            Errno::EFAULT,
        ),
        (
            "sleep forever",
            Sys::SleepTicks.number(),
            [usize::MAX, 0, 0, 0, 0, 0],
            Errno::EINVAL,
        ),
    ];
    let mut failed = 0;
    for (what, nr, args, want) in cases {
        let got = raw_syscall(nr, args);
        if got != want.raw() {
            println!(
                "badsys: {what}: got {got}, expected {} ({want:?})",
                want.raw()
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

extern crate alloc;
