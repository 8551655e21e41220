//! The user/kernel ABI, defined once: system call numbers ([`Sys`]), error
//! numbers ([`Errno`]), the structures that cross the boundary with their
//! exact C layouts and byte encodings ([`Wire`]), signal numbers and wait
//! statuses ([`signal`]), and the exit codes of a boot. The kernel, the door logic and the user runtime all import this
//! leaf crate, so the sides cannot disagree (the idea of Hubris's
//! `sys/abi`).
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod door;
mod errno;
pub mod fs;
pub mod linux;
pub mod signal;
mod sys;
pub mod trace;
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
    /// Door calls and returns that took the kernel's fast path so far
    /// (each leg counts once): calls without descriptors to a door with an
    /// idle server thread, returns whose results fit the caller's rbuf.
    pub const DOOR_FAST_PATHS: usize = 9;
    /// Door calls waiting for a server thread now.
    pub const DOOR_WAITING: usize = 10;
    /// Open-file descriptions (of files, directories and devices).
    pub const OPEN_FILES: usize = 11;
    /// Pipes.
    pub const PIPES: usize = 12;
    /// Pages (frames) holding file data.
    pub const FILE_PAGES: usize = 13;
    /// Nodes of the file system (files, directories, devices; removed ones
    /// still open included).
    pub const FS_NODES: usize = 14;
    /// Doors that nothing but fattach attachments holds (a door left
    /// attached after its server exited, like a mounted file, is not a
    /// leak).
    pub const ATTACHED_DOORS: usize = 15;
    /// Frames that more than one address space maps (copy-on-write pages
    /// after a fork; none once the forked processes have exited or
    /// written to every page).
    pub const SHARED_FRAMES: usize = 16;
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

/// Argument block of [`Sys::Execve`].
///
/// `path` names the program. `args` points to `args_len` bytes holding
/// the arguments (argument 0 first, as the caller wants the program to see
/// its name), `env` to `env_len` bytes holding the environment
/// (`NAME=value` strings); each string is ended by a NUL byte. At most
/// [`MAX_ARGS`] strings and [`MAX_ARGS_BYTES`] bytes each.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExecArgs {
    pub path_ptr: u64,
    pub path_len: u64,
    pub args_ptr: u64,
    pub args_len: u64,
    pub env_ptr: u64,
    pub env_len: u64,
}

/// Where a new program finds its arguments: `rdi` points to `argc` entries
/// of this type (on its stack), `rsi` is `argc`; its environment likewise,
/// `rdx` and `rcx` (empty for a spawned program). Argument 0 is the
/// program name.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserArg {
    pub ptr: u64,
    pub len: u64,
}

/// The ELF note that marks a native program (the user runtime adds it to
/// every program it links): name `"doors"`, type [`NATIVE_NOTE_TYPE`], in a
/// `PT_NOTE` segment. A program without it is a Linux x86-64 program, run
/// by the kernel's Linux personality.
pub const NATIVE_NOTE_NAME: &[u8] = b"doors";
/// The type of the [`NATIVE_NOTE_NAME`] note (its 4-byte descriptor holds
/// the ABI version, 1).
pub const NATIVE_NOTE_TYPE: u32 = 1;
/// User addresses are below this: the lower canonical half without its
/// last page, which is never mapped (so no `syscall` instruction can end at
/// the non-canonical 0x0000_8000_0000_0000, where `sysretq` would fault in
/// ring 0 on Intel CPUs). Mappings, thread entries and user pointers at or
/// beyond it are refused.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;

/// Top of a program's main-thread stack (the kernel maps it; the doors
/// library uses its extent as the main thread's door stack area).
pub const MAIN_STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Size of the main-thread stack; the page below it stays unmapped.
pub const MAIN_STACK_SIZE: u64 = 256 * 1024;
/// The top of the main stack that holds a program's arguments and
/// environment (and, for a Linux program, its auxiliary vector): the rest
/// of the main stack is what the doors libraries lend as the main thread's
/// door stack area. It holds what `execve` may pass: [`MAX_ARGS`] strings
/// of arguments and as many of environment, [`MAX_ARGS_BYTES`] bytes each,
/// with their tables.
pub const MAIN_STACK_ARGS_RESERVE: u64 = 16 * 1024;

/// The boot archive's member that holds the plan init runs: one program
/// per line (its name, then its arguments, separated by spaces), blank lines
/// and lines starting with `#` ignored, and [`BOOT_ARGS_TOGETHER`] as a line
/// of its own to start every program at once instead of one after another.
pub const BOOT_ARGS_FILE: &str = "boot.args";
/// Where the boot archive appears: member `NAME` is the read-only file
/// `BOOT_DIR/NAME` (so the programs are `/bin/hello`, ...).
pub const BOOT_DIR: &str = "/bin";
/// The `boot.args` line that makes init start all programs together.
pub const BOOT_ARGS_TOGETHER: &str = "@together";

/// The start of the line init prints when, after the programs ran, the
/// kernel's counts of processes, threads, frames, doors, descriptors, open
/// files and pipes are back at their starting values (the host runner
/// looks for it).
pub const INIT_NO_LEAKS: &str = "init: no leaks";
/// The start of the line init prints as it starts program `index` (from 1,
/// in plan order): `START <index> cmd=<name> [args...]`.
pub const INIT_START: &str = "START ";
/// The start of init's result line for one program:
/// `RESULT <index> <verdict> status=<status|-> leaks=<leaks> tsc=<ticks|->
/// [error=<errno>] cmd=<name> [args...]`, where the verdict is one of
/// [`verdict`], `leaks` is `none`, `unchecked` (programs run together) or
/// `counter:±n,...` (the change of each kernel counter that did not return
/// to its starting value), and `tsc` counts time-stamp ticks from start to exit
/// (guest instructions under `-icount shift=0`). Fields may be added before
/// `cmd=`, which always comes last.
pub const INIT_RESULT: &str = "RESULT ";

/// The verdicts of init's result line.
pub mod verdict {
    /// Exited with status 0 and (run alone) leaked nothing.
    pub const PASS: &str = "pass";
    /// Exited with another status (101 is a Rust panic).
    pub const FAIL: &str = "fail";
    /// Killed by the kernel after a fault (status `KILLED_BASE + vector`).
    pub const FAULT: &str = "fault";
    /// Exited with status 0 but left kernel objects behind.
    pub const LEAK: &str = "leak";
    /// Could not be started (`error=` says why: ENOENT, ENOEXEC, ...).
    pub const NOT_STARTED: &str = "not-started";
    /// Terminated by a signal (status `SIGNALED_BASE + signal`).
    pub const KILLED: &str = "killed";
}

/// Most processes that exist at once (zombies included). The bound keeps
/// the kernel heap, which holds every process's records (descriptor table,
/// doors, areas), from running out whatever programs do; the per-process
/// [`limit::CHILDREN`] binds first.
pub const MAX_PROCESSES: usize = 256;

/// Most threads that exist at once, all processes together, counting
/// exited ones nobody joined (as [`limit::THREADS`] counts them in one
/// process): thread_create, a Linux clone of a thread, fork and spawn fail
/// with EAGAIN beyond. Every live thread has a kernel stack (5 frames) and
/// up to about 1.6 KiB of kernel heap (its records in the kernel and the
/// door logic: 6.5 MiB for all); an exited one's value stays on the heap
/// (about 20 bytes) until joined. Without the bound a root process that
/// raised its thread limit and never joined its threads filled the kernel
/// heap with their exit values: after a million the kernel's allocations
/// slowed to a crawl, and the heap's end is a kernel panic (test
/// `threadbomb`).
pub const MAX_THREADS: usize = 4096;

/// Most instances of real-time signals queued behind the first pending
/// instance of their signal, all processes and threads together (Linux
/// bounds them per user with `RLIMIT_SIGPENDING`): `sigqueue` fails with
/// EAGAIN beyond, and a `kill` beyond leaves the pending instance alone,
/// as Linux. Each takes about 32 bytes of kernel heap.
pub const MAX_QUEUED_SIGNALS: usize = 4096;

/// Most doors that exist at once, all processes together (door_create:
/// ENFILE beyond). Like [`MAX_PROCESSES`] it keeps the kernel heap from
/// running out: every process's descriptor table full of doors would need
/// more heap than the kernel has.
pub const MAX_DOORS: usize = 16384;

/// Most descriptor-table slots that exist at once, all processes together
/// (a table takes a slot for every descriptor number up to its highest
/// one ever used; 32 bytes of kernel heap each: 16 MiB, at most twice
/// that with the spare capacity of growing tables). A
/// descriptor that would need a new slot beyond it fails with ENFILE
/// (open, dup, dup3, fcntl's F_DUPFD, pipe, spawn; EMFILE where the door
/// logic installs descriptors: door_create, and door_call and door_return
/// passing them; EAGAIN for a fork, whose copy of the table needs the
/// parent's slots). 256 tables of the default 1,024 fit twice over; 256
/// raised to 4,096 by root ran the kernel heap out (a kernel panic).
pub const MAX_TABLE_SLOTS: usize = 1 << 19;

/// Most descriptors that door calls waiting for a server thread carry, all
/// together (door_call: EAGAIN beyond, when the call would wait). A
/// waiting call holds its descriptors' references on the kernel heap until
/// a server takes it: 256 processes with thousands of threads each waiting
/// with 256 descriptors would need more heap than the kernel has.
pub const MAX_QUEUED_DESCS: usize = 16384;

/// Most bytes one [`Sys::DebugWrite`] (or a `write` to the console) writes.
pub const DEBUG_WRITE_MAX: usize = 4096;

/// Largest single [`Sys::MemMap`] (bigger maps are several calls): it
/// bounds the time one system call runs with interrupts off.
pub const MEM_MAP_MAX: u64 = 16 << 20;
/// Most bytes of data one door_call or door_return carries (E2BIG beyond):
/// it bounds the copying one system call does with interrupts off.
pub const DOOR_DATA_MAX: u64 = 16 << 20;

/// Per-process limits ([`Sys::GetLimit`], [`Sys::SetLimit`]): what one
/// process may take of what all share. A spawned child starts with its
/// parent's limits.
pub mod limit {
    /// Threads alive plus exited ones nobody joined (thread_create: EAGAIN).
    pub const THREADS: usize = 0;
    /// Bytes of `mem_map` areas and door result areas (mem_map: ENOMEM,
    /// door_call: EOVERFLOW).
    pub const MEMORY: usize = 1;
    /// Children alive plus exited ones not yet waited for (spawn: EAGAIN).
    pub const CHILDREN: usize = 2;
    /// Open descriptors (EMFILE).
    pub const DESCRIPTORS: usize = 3;

    /// Default threads per process.
    pub const DEFAULT_THREADS: u64 = 1024;
    /// Default children per process.
    pub const DEFAULT_CHILDREN: u64 = 64;
    /// Default descriptors per process.
    pub const DEFAULT_DESCRIPTORS: u64 = 1024;
    /// Default memory per process, as a fraction of the memory free at
    /// boot: `1 / MEMORY_SHARE` of it.
    pub const MEMORY_SHARE: u64 = 4;
}

/// Most arguments (including the name) a spawned program gets.
pub const MAX_ARGS: usize = 32;
/// Most bytes of argument text a spawned program gets.
pub const MAX_ARGS_BYTES: usize = 4096;

/// Exit statuses the kernel gives a process it kills: `KILLED_BASE + vector`
/// for an exception (like a shell's `128 + signal`).
pub const KILLED_BASE: i32 = 128;
/// The status the native `wait` (and init's result line) gives a process
/// a signal terminated (kill, alarm, no memory for a copy-on-write page):
/// `SIGNALED_BASE + signal`, 161 to 224, apart from the faults'
/// `KILLED_BASE + vector` (a shell's `128 + signal` would collide with
/// them). `wait4` reports the signal itself (`WTERMSIG`).
pub const SIGNALED_BASE: i32 = 160;

/// Resource limits of [`Sys::Prlimit`] (and Linux's `prlimit64`):
/// Linux's numbers and `struct rlimit`. Each limit is one value, reported
/// as both the soft and the hard limit.
pub mod rlimit {
    pub use crate::linux::Rlimit;

    /// Bytes of data (the memory limit, [`super::limit::MEMORY`]).
    pub const DATA: u32 = 2;
    /// The main stack's size (fixed).
    pub const STACK: u32 = 3;
    /// Processes of the user for Linux; threads of the process here
    /// ([`super::limit::THREADS`]), which Linux counts there too.
    pub const NPROC: u32 = 6;
    /// Descriptors (the table size, [`super::limit::DESCRIPTORS`]).
    pub const NOFILE: u32 = 7;
    /// Bytes of address space (the memory limit too).
    pub const AS: u32 = 9;
    /// Resources Linux numbers (those not listed above are unlimited here).
    pub const NLIMITS: u32 = 16;
    /// No limit.
    pub const INFINITY: u64 = u64::MAX;
}

/// QEMU exit contract (`isa-debug-exit`: the host sees `(value << 1) | 1`,
/// so a value has 7 bits). The value says how the boot ended; init's
/// [`super::INIT_RESULT`] lines carry each program's exact status.
pub mod exit_code {
    /// Everything passed: the host sees 33.
    pub const SUCCESS: u32 = 0x10;
    /// The kernel failed (a panic or kernel exception): the host sees 35.
    pub const FAILURE: u32 = 0x11;
    /// A program was killed by the kernel after a fault: the host sees 37.
    pub const KILLED: u32 = 0x12;
    /// The programs left kernel objects behind: the host sees 39.
    pub const LEAK: u32 = 0x13;
    /// Every thread blocked with no timer pending, so nothing could ever
    /// run again (the kernel writes it): the host sees 41.
    pub const DEADLOCK: u32 = 0x14;
    /// Init could not start a program or read its plan: the host sees 43.
    pub const NOT_STARTED: u32 = 0x15;
    /// A program was terminated by a signal: the host sees 45.
    pub const SIGNALED: u32 = 0x16;
    /// A program exited with status `s` in `1..STATUS_MAX`: the value is
    /// `STATUS_BASE + s`, so the host sees `((STATUS_BASE + s) << 1) | 1`.
    pub const STATUS_BASE: u32 = 0x20;
    /// `STATUS_BASE + STATUS_MAX` stands for every status from `STATUS_MAX`
    /// up and for negative ones (a panic's 101 among them): the exact value
    /// is in init's result line.
    pub const STATUS_MAX: u32 = 0x5f;

    /// The value init writes for a program's exit status.
    pub fn for_status(status: i32) -> u32 {
        match status {
            0 => SUCCESS,
            s if (super::KILLED_BASE..super::KILLED_BASE + 32).contains(&s) => KILLED,
            s if (super::SIGNALED_BASE + 1..=super::SIGNALED_BASE + 64).contains(&s) => SIGNALED,
            s if s > 0 && (s as u32) < STATUS_MAX => STATUS_BASE + s as u32,
            _ => STATUS_BASE + STATUS_MAX,
        }
    }
}
