//! The user/kernel ABI, defined once: syscall numbers, error codes, the
//! register convention, and the door structures with their exact illumos C
//! layouts. Both the kernel and the userland runtime import this module, so
//! the two sides cannot disagree (the idea of Hubris's `sys/abi`).
//!
//! # Calling convention
//! `syscall` with the number in `rax` and up to six arguments in `rdi`, `rsi`,
//! `rdx`, `r10`, `r8`, `r9`. The result comes back in `rax`: a value `>= 0` on
//! success, `-errno` on failure. `rcx` and `r11` are clobbered (the CPU uses
//! them); every other register is preserved.

/// Syscall numbers.
pub mod sys {
    /// `exit(status)`: ends the whole process with `status`.
    pub const EXIT: usize = 0;
    /// `debug_write(ptr, len)`: writes bytes to the kernel console.
    pub const DEBUG_WRITE: usize = 1;
    /// `yield()`: gives up the CPU to the next ready thread.
    pub const YIELD: usize = 2;
    /// `getpid()`: the calling process's id.
    pub const GETPID: usize = 3;
    /// `spawn(&SpawnArgs)`: starts a program from the boot file system;
    /// returns its pid. Errors: EFAULT, EINVAL, E2BIG, ENAMETOOLONG,
    /// ENOENT (no such program), ENOEXEC (not a valid program), EBADF (a
    /// descriptor to hand over is not open), ENOMEM, EAGAIN (already
    /// [`super::MAX_PROCESSES`] processes).
    pub const SPAWN: usize = 4;
    /// `wait(pid)`: waits for child `pid` (or any child, `pid == -1`) to exit;
    /// returns `(pid << 32) | (status as u32)`.
    pub const WAIT: usize = 5;
    /// `thread_create(entry, arg, stack_top)`: returns the new thread's id.
    /// The thread starts at `entry(arg)` with `rsp = stack_top`.
    pub const THREAD_CREATE: usize = 6;
    /// `thread_exit(value)`: ends the calling thread.
    pub const THREAD_EXIT: usize = 7;
    /// `thread_join(tid)`: waits for thread `tid` of this process; returns its exit value.
    pub const THREAD_JOIN: usize = 8;
    /// `mem_map(len, prot, fixed_addr)`: maps zeroed anonymous memory at
    /// `fixed_addr` (page aligned; 0 lets the kernel choose); returns its address.
    pub const MEM_MAP: usize = 9;
    /// `mem_unmap(addr, len)`: unmaps memory mapped by `mem_map` (or a door result area).
    pub const MEM_UNMAP: usize = 10;
    /// `gettid()`: the calling thread's id.
    pub const GETTID: usize = 11;
    /// `shutdown(code)`: only process 1 (init) may call it; exits QEMU with
    /// `code` (see [`super::exit_code`]). Others get `EPERM`.
    pub const SHUTDOWN: usize = 12;
    /// `bootfs_read(name_ptr, name_len, buf, buf_len)`: reads a file of the boot
    /// file system (such as [`super::BOOT_ARGS_FILE`]); returns its full length.
    pub const BOOTFS_READ: usize = 13;
    /// `kstat(which)`: kernel counters for tests and leak checks (see [`super::kstat`]).
    pub const KSTAT: usize = 14;
    /// `sleep_ticks(n)`: blocks the calling thread for `n` timer ticks.
    pub const SLEEP_TICKS: usize = 15;
    /// `door_create(proc, cookie, attributes)`: creates a door served by the
    /// calling process. Returns the new descriptor; bit
    /// [`super::DOOR_CREATE_RUN_SERVER_CREATE`] is also set when the library
    /// must run the process's door_server_create procedure now (the first
    /// non-private door of the process, and every private one).
    /// Errors: `EINVAL` (unknown attribute bits, or UNREF with UNREF_MULTI),
    /// `EMFILE`.
    pub const DOOR_CREATE: usize = 16;
    /// `door_call(d, params)`: `params` points to a [`super::DoorArg`] (or is 0
    /// for no arguments and no results). Returns 0 when the call completed;
    /// the results are described by the updated `*params`. Errors: see
    /// `door_call` in doors-semantics.md (E2BIG, EAGAIN, EBADF, EFAULT, EINTR,
    /// EINVAL, EMFILE, ENFILE, ENOBUFS, ENOTSUP, EOVERFLOW). DOOR_RELEASE
    /// descriptors are closed when the call fails, except on EFAULT, EBADF,
    /// and E2BIG for a descriptor count above the kernel's hard limit per
    /// message (refused before the array is read, as illumos's
    /// `door_max_desc`).
    pub const DOOR_CALL: usize = 17;
    /// `door_return(data_ptr, data_size, desc_ptr, desc_num, stack_base,
    /// stack_size)`: ends the invocation the thread is serving (if any),
    /// registers `[stack_base, stack_base + stack_size)` as the area where the
    /// next invocation's arguments are laid out, and parks the thread in its
    /// pool. Does not return on success: the thread resumes in its next
    /// invocation, on that area, with the fields of a [`super::DoorResults`]
    /// in registers (see [`super::invocation`]). Errors: E2BIG, EFAULT, EINVAL, EMFILE (nothing happened, the
    /// thread still serves its invocation); EBADF (the results were
    /// delivered, but the door the thread is bound to is gone: the thread is
    /// now unbound and did not park).
    pub const DOOR_RETURN: usize = 18;
    /// `door_info(d, info_ptr)`: fills the [`super::DoorInfo`] at `info_ptr`;
    /// `d` may be [`super::DOOR_QUERY`]. Errors: EBADF, EFAULT.
    pub const DOOR_INFO: usize = 19;
    /// `door_revoke(d)`: revokes a door this process created and closes `d`.
    /// Errors: EBADF, EPERM.
    pub const DOOR_REVOKE: usize = 20;
    /// `door_setparam(d, param, value)`: one of the `DOOR_PARAM_*` limits.
    /// Errors: EBADF, EPERM, EINVAL, ENOTSUP, ERANGE.
    pub const DOOR_SETPARAM: usize = 21;
    /// `door_getparam(d, param, out_ptr)`: stores the value (a `u64`) at
    /// `out_ptr`. Errors: EBADF, EINVAL, EFAULT.
    pub const DOOR_GETPARAM: usize = 22;
    /// `door_ucred(ucred_ptr)`: fills the [`super::Ucred`] of the immediate
    /// caller of the invocation this thread serves. Errors: EINVAL (not
    /// serving), EFAULT.
    pub const DOOR_UCRED: usize = 23;
    /// `door_cred(cred_ptr)`: the older form of `door_ucred`, filling a
    /// [`super::DoorCred`]. Errors: EINVAL, EFAULT.
    pub const DOOR_CRED: usize = 24;
    /// `door_bind(d)`: the calling thread joins the private pool of door `d`
    /// at its next door_return (leaving any previous binding). Errors: EBADF
    /// (not a door, or revoked), EINVAL (not DOOR_PRIVATE, or another
    /// process's door).
    pub const DOOR_BIND: usize = 25;
    /// `door_unbind()`: drops the calling thread's binding. Errors: EBADF (not
    /// bound).
    pub const DOOR_UNBIND: usize = 26;
    /// `door_cancelled()`: 1 if the client of the invocation this thread
    /// serves abandoned its call and the door lacks DOOR_NO_CANCEL (the
    /// cancellation notice of this kernel), else 0.
    pub const DOOR_CANCELLED: usize = 27;
    /// `door_abort(tid)`: abandons the door_call thread `tid` (of the calling
    /// process) is blocked in: it fails with EAGAIN if it was still waiting
    /// for a server thread, EINTR if it was being served (the server gets a
    /// cancellation notice). Errors: ESRCH (no such thread in this
    /// process), EINVAL (not in a door_call).
    pub const DOOR_ABORT: usize = 28;
    /// `fattach(d, path_ptr, path_len)`: names door `d` by `path` in the
    /// kernel's door name space. Errors: EBADF, EBUSY, EINVAL (relative
    /// path), ENAMETOOLONG, ENOENT (empty path), EPERM.
    pub const FATTACH: usize = 29;
    /// `fdetach(path_ptr, path_len)`: removes the name. Errors: EINVAL
    /// (nothing attached), ENAMETOOLONG, ENOENT (empty path), EPERM.
    pub const FDETACH: usize = 30;
    /// `open(path_ptr, path_len)`: a new descriptor for the door attached at
    /// `path`. Errors: ENOENT, EINVAL, ENAMETOOLONG, EMFILE.
    pub const OPEN: usize = 31;
    /// `close(d)`: closes a descriptor. Errors: EBADF.
    pub const CLOSE: usize = 32;
    /// `dup(d)`: a new descriptor for the same object. Errors: EBADF, EMFILE.
    pub const DUP: usize = 33;
    /// `door_handoff(on)`: benchmark knob for the whole system. With 1 (the
    /// default) door_call and door_return hand the CPU straight to the other
    /// side; with 0 they wake it through the run queue instead, so one run
    /// can measure what the handoff gains. Errors: EINVAL (not 0 or 1).
    pub const DOOR_HANDOFF: usize = 34;
    /// `seteuid(uid)`: sets the calling process's effective user id (what
    /// door_ucred reports, and what fattach's permission check uses). With
    /// euid 0 any id may be taken; otherwise only the real id. Errors: EPERM.
    pub const SETEUID: usize = 35;
    /// `mem_limit(bytes)`: lowers the cap on the calling process's
    /// `mem_map` memory, door result areas included (it cannot be raised;
    /// beyond it `mem_map` fails with ENOMEM and door_call with EOVERFLOW).
    pub const MEM_LIMIT: usize = 36;
    /// `set_tls(addr)`: sets the calling thread's FS base (its thread
    /// control block, read by the runtime with `mov rax, fs:[0]`). Errors:
    /// EINVAL (not a user address).
    pub const SET_TLS: usize = 37;
    /// Highest syscall number plus one.
    pub const COUNT: usize = 38;
}

/// Error numbers, with illumos values so that doors programs written against
/// illumos see the same codes.
pub mod errno {
    pub const EPERM: isize = 1;
    pub const ENOENT: isize = 2;
    pub const ESRCH: isize = 3;
    pub const EINTR: isize = 4;
    pub const E2BIG: isize = 7;
    pub const ENOEXEC: isize = 8;
    pub const EBADF: isize = 9;
    pub const ECHILD: isize = 10;
    pub const EAGAIN: isize = 11;
    pub const ENOMEM: isize = 12;
    pub const EFAULT: isize = 14;
    pub const EBUSY: isize = 16;
    pub const EINVAL: isize = 22;
    pub const ENFILE: isize = 23;
    pub const EMFILE: isize = 24;
    pub const ERANGE: isize = 34;
    pub const EDEADLK: isize = 45;
    pub const ENOTSUP: isize = 48;
    pub const ENAMETOOLONG: isize = 78;
    pub const EOVERFLOW: isize = 79;
    pub const ENOSYS: isize = 89;
    pub const ENOBUFS: isize = 132;

    /// The symbolic name of an error number, for messages.
    pub fn name(e: isize) -> &'static str {
        match e {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ESRCH => "ESRCH",
            EINTR => "EINTR",
            E2BIG => "E2BIG",
            ENOEXEC => "ENOEXEC",
            EBADF => "EBADF",
            ECHILD => "ECHILD",
            EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM",
            EFAULT => "EFAULT",
            EBUSY => "EBUSY",
            EINVAL => "EINVAL",
            ENFILE => "ENFILE",
            EMFILE => "EMFILE",
            ERANGE => "ERANGE",
            EDEADLK => "EDEADLK",
            ENOTSUP => "ENOTSUP",
            ENAMETOOLONG => "ENAMETOOLONG",
            EOVERFLOW => "EOVERFLOW",
            ENOSYS => "ENOSYS",
            ENOBUFS => "ENOBUFS",
            _ => "E?",
        }
    }
}

/// Protection bits for [`sys::MEM_MAP`].
pub mod prot {
    pub const READ: usize = 1;
    pub const WRITE: usize = 2;
    pub const EXEC: usize = 4;
}

/// Which counter [`sys::KSTAT`] returns.
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

/// Argument block of [`sys::SPAWN`].
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

/// The boot file system file that holds the plan init runs: one program
/// per line (its name, then its arguments, separated by spaces), blank lines
/// and lines starting with `#` ignored, and [`BOOT_ARGS_TOGETHER`] as a line
/// of its own to start every program at once instead of one after another.
pub const BOOT_ARGS_FILE: &str = "boot.args";
/// The `boot.args` line that makes init start all programs together.
pub const BOOT_ARGS_TOGETHER: &str = "@together";

/// The start of the line init prints when, after the programs ran, the
/// kernel's counts of processes, threads, frames, doors and descriptors are
/// back at their starting values (the host runner looks for it).
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
}

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
            s if s > 0 && (s as u32) < STATUS_MAX => STATUS_BASE + s as u32,
            _ => STATUS_BASE + STATUS_MAX,
        }
    }
}

// ---------------------------------------------------------------------------
// Doors: constants and structures with the illumos amd64 layouts.
// ---------------------------------------------------------------------------

/// Door attribute (door_create, door_info): one unreferenced invocation when
/// the reference count drops to one.
pub const DOOR_UNREF: u32 = 0x01;
/// Door attribute: the door has its own pool of server threads (door_bind).
pub const DOOR_PRIVATE: u32 = 0x02;
/// door_info only: the door's server is the asking process.
pub const DOOR_LOCAL: u32 = 0x04;
/// door_info only: the door has been revoked (or its server exited).
pub const DOOR_REVOKED: u32 = 0x08;
/// Door attribute: like DOOR_UNREF, but fires each time the count drops to one.
pub const DOOR_UNREF_MULTI: u32 = 0x10;
/// door_info only: exactly one reference to the door exists now.
pub const DOOR_IS_UNREF: u32 = 0x20;
/// Door attribute: calls carrying descriptors fail with ENOTSUP.
pub const DOOR_REFUSE_DESC: u32 = 0x40;
/// Door attribute: client aborts do not cancel the server thread.
pub const DOOR_NO_CANCEL: u32 = 0x80;
/// The attributes door_create accepts.
pub const DOOR_CREATE_MASK: u32 =
    DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC | DOOR_NO_CANCEL;
/// door_desc_t attribute: the entry carries a descriptor.
pub const DOOR_DESCRIPTOR: u32 = 0x10000;
/// door_desc_t attribute: close the sender's copy once passed.
pub const DOOR_RELEASE: u32 = 0x40000;
/// `argp` of an unreferenced invocation.
pub const DOOR_UNREF_DATA: u64 = 1;
/// door_info's descriptor meaning "the door this server thread serves (or is
/// bound to)".
pub const DOOR_QUERY: i32 = -2;
/// An invalid door descriptor.
pub const DOOR_INVAL: i32 = -1;
/// door_setparam/getparam: most descriptors per call.
pub const DOOR_PARAM_DESC_MAX: i32 = 1;
/// door_setparam/getparam: most argument bytes per call.
pub const DOOR_PARAM_DATA_MAX: i32 = 2;
/// door_setparam/getparam: fewest argument bytes per call.
pub const DOOR_PARAM_DATA_MIN: i32 = 3;
/// Set in the result of [`sys::DOOR_CREATE`] (above the descriptor, which is
/// a positive `i32`) when the library must run its door_server_create
/// procedure now.
pub const DOOR_CREATE_RUN_SERVER_CREATE: isize = 1 << 32;

/// How a server thread's `door_return` comes back with an invocation: the
/// stack pointer is set inside its registered stack area (16-byte aligned,
/// below the arguments) and the registers hold the invocation.
pub mod invocation {
    /// `rax`: what to do before the server procedure: [`RUN`] (just run
    /// it), [`DEPLETED_SHARED`] (this dispatch took the shared pool's last
    /// idle thread: run door_server_create's procedure with NULL first), or
    /// the address of the door's `door_info_t` in the stack area (a private
    /// pool was depleted). Errors come back negative, as always.
    pub const RUN: u64 = 1;
    pub const DEPLETED_SHARED: u64 = 2;
    // rdi = cookie, rsi = argp (DOOR_UNREF_DATA for an unreferenced
    // invocation), rdx = arg_size, r10 = desc_ptr, r8 = n_desc, r9 = the
    // server procedure.
}

/// `door_desc_t`: a descriptor passed in a door invocation.
///
/// In C the part after `d_attributes` is a union of `d_desc { int
/// d_descriptor; door_id_t d_id; }` and `int d_resv[5]`; under illumos's
/// `#pragma pack(4)` for amd64 that is 24 bytes, 4-byte aligned, with `d_id`
/// at offset 8. The union is spelled out as plain fields here (no unsafe
/// reads needed); `d_resv` is the union's unused tail.
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorDesc {
    /// `DOOR_DESCRIPTOR`, optionally with `DOOR_RELEASE`.
    pub d_attributes: u32,
    /// The descriptor (in the receiver's table once delivered).
    pub d_descriptor: i32,
    /// The door's unique id (filled in on delivery).
    pub d_id: u64,
    /// Reserved: the rest of the C union.
    pub d_resv: [i32; 2],
}

impl DoorDesc {
    /// An entry passing descriptor `d` with attributes `attributes`.
    pub const fn new(d: i32, attributes: u32) -> Self {
        DoorDesc {
            d_attributes: attributes,
            d_descriptor: d,
            d_id: 0,
            d_resv: [0; 2],
        }
    }
}

/// `door_info_t`, packed to 4 bytes as on illumos amd64 (`di_proc` at 4).
#[repr(C, packed(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorInfo {
    /// Server process id, or -1 if the server process has exited.
    pub di_target: i32,
    /// Server procedure.
    pub di_proc: u64,
    /// Cookie passed to the server procedure.
    pub di_data: u64,
    /// Creation attributes plus DOOR_LOCAL, DOOR_REVOKED, DOOR_IS_UNREF.
    pub di_attributes: u32,
    /// System-wide unique id of the door (never reused).
    pub di_uniquifier: u64,
    /// Reserved.
    pub di_resv: [i32; 4],
}

/// `door_arg_t`. illumos's `#pragma pack(4)` does not cover it, so it has the
/// natural amd64 layout: 48 bytes, `desc_num` followed by 4 bytes of padding.
/// Pointers are `u64` so the kernel and user space share one definition.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorArg {
    /// Argument data (on return: result data).
    pub data_ptr: u64,
    /// Argument size (on return: result size).
    pub data_size: u64,
    /// Argument descriptors (on return: result descriptors).
    pub desc_ptr: u64,
    /// Number of descriptors.
    pub desc_num: u32,
    /// Result buffer (on return: where the results are, possibly a new mapping).
    pub rbuf: u64,
    /// Result buffer size (on return: size of the area at `rbuf`).
    pub rsize: u64,
}

/// `door_cred_t` (the older door_cred interface).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorCred {
    pub dc_euid: u32,
    pub dc_egid: u32,
    pub dc_ruid: u32,
    pub dc_rgid: u32,
    pub dc_pid: i32,
    pub dc_resv: [i32; 4],
}

/// This kernel's `ucred_t` as filled by [`sys::DOOR_UCRED`] (illumos keeps
/// its ucred opaque; this one is a fixed 32-byte record).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ucred {
    /// Process id of the immediate caller (0: the kernel, for unreferenced
    /// invocations).
    pub uc_pid: i32,
    pub uc_euid: u32,
    pub uc_egid: u32,
    pub uc_ruid: u32,
    pub uc_rgid: u32,
    /// Reserved.
    pub uc_resv: [u32; 3],
}

/// What a server thread starts an invocation with (illumos's `struct
/// door_results`). The kernel hands the fields over in registers (see
/// [`invocation`]); the arguments and descriptors themselves are in the
/// thread's registered stack area.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DoorResults {
    /// The door's cookie.
    pub cookie: u64,
    /// Argument data (`DOOR_UNREF_DATA` for an unreferenced invocation).
    pub data_ptr: u64,
    /// Argument size.
    pub data_size: u64,
    /// Argument descriptors (already in the server's table).
    pub desc_ptr: u64,
    /// Number of descriptors.
    pub desc_num: u64,
    /// The server procedure.
    pub pc: u64,
    /// 0 when this dispatch took the last idle thread of the pool: run the
    /// door_server_create procedure first; 1 otherwise.
    pub nservers: i32,
    /// For a depleted private pool: the door's `door_info_t` (else 0).
    pub door_info: u64,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<DoorDesc>() == 24);
    assert!(align_of::<DoorDesc>() == 4);
    assert!(offset_of!(DoorDesc, d_attributes) == 0);
    assert!(offset_of!(DoorDesc, d_descriptor) == 4);
    assert!(offset_of!(DoorDesc, d_id) == 8);
    assert!(offset_of!(DoorDesc, d_resv) == 16);
    assert!(size_of::<DoorInfo>() == 48);
    assert!(align_of::<DoorInfo>() == 4);
    assert!(offset_of!(DoorInfo, di_target) == 0);
    assert!(offset_of!(DoorInfo, di_proc) == 4);
    assert!(offset_of!(DoorInfo, di_data) == 12);
    assert!(offset_of!(DoorInfo, di_attributes) == 20);
    assert!(offset_of!(DoorInfo, di_uniquifier) == 24);
    assert!(offset_of!(DoorInfo, di_resv) == 32);
    assert!(size_of::<DoorArg>() == 48);
    assert!(align_of::<DoorArg>() == 8);
    assert!(offset_of!(DoorArg, data_ptr) == 0);
    assert!(offset_of!(DoorArg, data_size) == 8);
    assert!(offset_of!(DoorArg, desc_ptr) == 16);
    assert!(offset_of!(DoorArg, desc_num) == 24);
    assert!(offset_of!(DoorArg, rbuf) == 32);
    assert!(offset_of!(DoorArg, rsize) == 40);
    assert!(size_of::<DoorCred>() == 36);
    assert!(offset_of!(DoorCred, dc_pid) == 16);
    assert!(size_of::<Ucred>() == 32);
    assert!(size_of::<DoorResults>() == 64);
    assert!(offset_of!(DoorResults, nservers) == 48);
    assert!(offset_of!(DoorResults, door_info) == 56);
};
