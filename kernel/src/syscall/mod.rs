//! The system-call layer: decodes the registers of a [`TrapFrame`], checks
//! every argument (user pointers through [`UserSlice`] and [`UserPtr`]),
//! and only then acts. Bad input gets an error code; nothing a program
//! passes can fault or hang the kernel. Every handler's outcome is a
//! [`Resume`], applied to the trap frame in one place ([`dispatch`]). The
//! door calls are in [`door`], the calls on files, pipes and descriptors
//! in [`file`], the process calls (fork, execve, wait4, kill, limits) in
//! [`process`] (their handlers take decoded arguments), the Linux
//! personality's calls in [`linux`].
//!
//! A Linux program's call numbers below [`NATIVE_BASE`] are Linux's; at
//! and above it they are native, as for any program, so libdoor (C) makes
//! the native door calls. Errors reach a Linux program with Linux's
//! numbers, native programs get illumos's.

mod door;
mod file;
mod linux;
mod process;

use crate::arch::traps::TrapFrame;
use crate::mem::PAGE_SIZE;
use crate::mem::space::{MapError, USER_END, USER_START};
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::{self, Resume, SCHED};
use abi::fs::PATH_MAX;
use abi::{
    DEBUG_WRITE_MAX, Errno, MAX_ARGS, MAX_ARGS_BYTES, MEM_MAP_MAX, NATIVE_BASE, SpawnArgs, Sys,
    exit_code, kstat, prot, trace,
};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use kernel::cap::MAX_CAPACITY;

/// Longest `sleep_ticks`.
const MAX_SLEEP: u64 = 1_000_000;
/// Longest path read from user memory (longer ones are ENAMETOOLONG).
const PATH_READ_MAX: u64 = 4096;
/// Most trace records one call copies out.
const TRACE_READ_MAX: u64 = 1024;

/// What most system calls return: a value, or an error.
type SysResult = Result<u64, Errno>;

/// Runs the system call of `frame` (the entry stub calls it, or tracing's
/// recording dispatcher does).
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    // The door fast paths, ahead of everything (and of the general path's
    // stack frame): when they apply they leave through the other side's
    // user mode; otherwise nothing has changed, and they go on to the
    // general path.
    match frame.rax {
        rax if rax == Sys::DoorCall.number() as u64 => door::fast_call(frame),
        rax if rax == Sys::DoorReturn.number() as u64 => door::fast_return(frame),
        _ => dispatch_general(frame),
    }
}

/// Runs the system call of `frame` beyond the door fast paths.
#[inline(never)]
fn dispatch_general(frame: &mut TrapFrame) {
    let a = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let resume = match Sys::try_from(frame.rax as usize) {
        Ok(call) => invoke(call, a, frame),
        Err(()) => return not_native(frame, a),
    };
    resume.apply(frame, errors_are_linux);
    task::check_exiting();
}

/// Whether the running thread's errors take Linux's numbers (asked only
/// for an error).
#[cold]
fn errors_are_linux() -> bool {
    SCHED.lock().current_is_linux()
}

/// A call number [`Sys`] does not name: a Linux program's own calls (below
/// [`NATIVE_BASE`]: they take the thread's pending signals on their way
/// out), else ENOSYS with a log line. Kept out of line, so the native path
/// stays short.
#[inline(never)]
fn not_native(frame: &mut TrapFrame, a: [u64; 6]) {
    let nr = frame.rax as usize;
    if nr < NATIVE_BASE && SCHED.lock().current_is_linux() {
        return linux::run(nr, a, frame);
    }
    crate::warn!(
        "process {} called unknown system call {:#x}",
        SCHED.lock().current_pid(),
        frame.rax
    );
    Resume::Return(Err(Errno::ENOSYS)).apply(frame, errors_are_linux);
    task::check_exiting();
}

/// Runs system call `call` with arguments `a` (from `frame`, which fork
/// copies and execve rewrites).
fn invoke(call: Sys, a: [u64; 6], frame: &mut TrapFrame) -> Resume {
    match call {
        Sys::Exit => task::exit_process(a[0] as i32),
        Sys::DebugWrite => debug_write(a[0], a[1]).into(),
        Sys::Yield => {
            task::yield_now();
            Ok(0).into()
        }
        Sys::GetPid => Ok(u64::from(SCHED.lock().current_pid())).into(),
        Sys::GetTid => Ok(u64::from(SCHED.lock().current_tid())).into(),
        Sys::Spawn => spawn(a[0]).into(),
        Sys::Wait => process::wait(a[0] as i64).into(),
        Sys::ThreadCreate => thread_create(a[0], a[1], a[2]).into(),
        Sys::ThreadExit => task::exit_thread(a[0], (a[2] > 0).then_some((a[1], a[2]))),
        Sys::ThreadDetach => u32::try_from(a[0])
            .map_err(|_| Errno::ESRCH)
            .and_then(task::detach_thread)
            .map(|()| 0)
            .into(),
        Sys::ThreadJoin => thread_join(a[0], a[1]).into(),
        Sys::MemMap => mem_map(a[0], a[1], a[2]).into(),
        Sys::MemUnmap => mem_unmap(a[0], a[1]).into(),
        Sys::Shutdown => shutdown(a[0]).into(),
        Sys::Kstat => kstat(a[0]).into(),
        Sys::SleepTicks => sleep(a[0]).into(),
        Sys::DoorCreate => door::door_create(a[0], a[1], a[2]).into(),
        Sys::DoorCall => door::door_call(a[0], a[1]).into(),
        Sys::DoorReturn => door::door_return(a),
        Sys::DoorInfo => door::door_info(a[0], a[1]).into(),
        Sys::DoorRevoke => door::door_revoke(a[0]).into(),
        Sys::DoorSetparam => door::door_setparam(a[0], a[1], a[2]).into(),
        Sys::DoorGetparam => door::door_getparam(a[0], a[1], a[2]).into(),
        Sys::DoorUcred => door::door_ucred(a[0]).into(),
        Sys::DoorCred => door::door_cred(a[0]).into(),
        Sys::DoorBind => door::door_bind(a[0]).into(),
        Sys::DoorUnbind => door::door_unbind().into(),
        Sys::DoorCancelled => door::door_cancelled().into(),
        Sys::DoorAbort => door::door_abort(a[0]).into(),
        Sys::DoorHandoff => door::door_handoff(a[0]).into(),
        Sys::Seteuid => process::seteuid(a[0]).into(),
        Sys::GetLimit => process::get_limit(a[0], a[1]).into(),
        Sys::SetLimit => process::set_limit(a[0], a[1], a[2]).into(),
        Sys::Fork => process::fork(frame).into(),
        Sys::Execve => process::execve_native(a[0], frame).into(),
        Sys::Wait4 => int_arg(a[0])
            .and_then(|pid| process::wait4(pid, a[1], u32_arg(a[2])?, 0))
            .into(),
        Sys::Kill => int_arg(a[0])
            .and_then(|pid| process::kill(pid, int_arg(a[1])?))
            .into(),
        Sys::Alarm => process::alarm(a[0]).into(),
        Sys::Pause => task::pause().into(),
        Sys::GetPpid => process::getppid().into(),
        Sys::Setuid => process::setuid(a[0]).into(),
        Sys::Prlimit => process::prlimit_native(a[0], a[1], a[2], a[3]).into(),
        Sys::SetTls => set_tls(a[0]).into(),
        Sys::Trace => trace(a[0], a[1], a[2], a[3]).into(),
        call @ (Sys::Fattach
        | Sys::Fdetach
        | Sys::Close
        | Sys::Dup
        | Sys::Openat
        | Sys::Read
        | Sys::Write
        | Sys::Pread
        | Sys::Pwrite
        | Sys::Lseek
        | Sys::Fstat
        | Sys::Fstatat
        | Sys::Getdents64
        | Sys::Ftruncate
        | Sys::Fchmod
        | Sys::Fchmodat
        | Sys::Mkdirat
        | Sys::Unlinkat
        | Sys::Renameat
        | Sys::Faccessat
        | Sys::Chdir
        | Sys::Fchdir
        | Sys::Getcwd
        | Sys::Umask
        | Sys::Pipe2
        | Sys::Dup3
        | Sys::Fcntl) => file_call(call, a).into(),
    }
}

/// Decodes the registers of a call on files, pipes or descriptors (the
/// calls [`invoke`] sends here) and runs its handler in [`file`].
fn file_call(call: Sys, a: [u64; 6]) -> SysResult {
    match call {
        Sys::Fattach => file::fattach(fd_arg(a[0])?, &path_arg(a[1], a[2])?),
        Sys::Fdetach => file::fdetach(&path_arg(a[0], a[1])?),
        Sys::Close => file::close(fd_arg(a[0])?),
        Sys::Dup => file::dup(fd_arg(a[0])?),
        Sys::Openat => file::openat(
            fd_arg(a[0])?,
            &path_arg(a[1], a[2])?,
            u32_arg(a[3])?,
            u32_arg(a[4])?,
        ),
        Sys::Read => file::read(fd_arg(a[0])?, a[1], a[2]),
        Sys::Write => file::write(fd_arg(a[0])?, a[1], a[2]),
        Sys::Pread => file::pread(fd_arg(a[0])?, a[1], a[2], a[3] as i64),
        Sys::Pwrite => file::pwrite(fd_arg(a[0])?, a[1], a[2], a[3] as i64),
        Sys::Lseek => file::lseek(fd_arg(a[0])?, a[1] as i64, u32_arg(a[2])?),
        Sys::Fstat => file::fstat(fd_arg(a[0])?, a[1]),
        Sys::Fstatat => file::fstatat(fd_arg(a[0])?, &path_arg(a[1], a[2])?, a[3], u32_arg(a[4])?),
        Sys::Getdents64 => file::getdents64(fd_arg(a[0])?, a[1], a[2]),
        Sys::Ftruncate => file::ftruncate(fd_arg(a[0])?, a[1] as i64),
        Sys::Fchmod => file::fchmod(fd_arg(a[0])?, u32_arg(a[1])?),
        Sys::Fchmodat => file::fchmodat(fd_arg(a[0])?, &path_arg(a[1], a[2])?, u32_arg(a[3])?),
        Sys::Mkdirat => file::mkdirat(fd_arg(a[0])?, &path_arg(a[1], a[2])?, u32_arg(a[3])?),
        Sys::Unlinkat => file::unlinkat(fd_arg(a[0])?, &path_arg(a[1], a[2])?, u32_arg(a[3])?),
        Sys::Renameat => file::renameat(
            fd_arg(a[0])?,
            &path_arg(a[1], a[2])?,
            fd_arg(a[3])?,
            &path_arg(a[4], a[5])?,
        ),
        Sys::Faccessat => file::faccessat(
            fd_arg(a[0])?,
            &path_arg(a[1], a[2])?,
            u32_arg(a[3])?,
            u32_arg(a[4])?,
        ),
        Sys::Chdir => file::chdir(&path_arg(a[0], a[1])?),
        Sys::Fchdir => file::fchdir(fd_arg(a[0])?),
        Sys::Getcwd => file::getcwd(a[0], a[1]),
        Sys::Umask => file::umask(a[0] as u32),
        Sys::Pipe2 => file::pipe2(a[0], u32_arg(a[1])?),
        Sys::Dup3 => file::dup3(fd_arg(a[0])?, fd_arg(a[1])?, u32_arg(a[2])?),
        Sys::Fcntl => file::fcntl(fd_arg(a[0])?, u32_arg(a[1])?, a[2]),
        other => unreachable!("{other:?} is not a call on files"),
    }
}

/// A descriptor argument: an `int` in a 64-bit register.
fn fd_arg(reg: u64) -> Result<i32, Errno> {
    i32::try_from(reg as i64).map_err(|_| Errno::EBADF)
}

/// An `int` argument (a pid, a signal): EINVAL beyond 32 bits.
fn int_arg(reg: u64) -> Result<i32, Errno> {
    i32::try_from(reg as i64).map_err(|_| Errno::EINVAL)
}

/// A flags or mode argument: EINVAL beyond 32 bits.
fn u32_arg(reg: u64) -> Result<u32, Errno> {
    u32::try_from(reg).map_err(|_| Errno::EINVAL)
}

/// Reads a path argument.
pub(crate) fn path_arg(ptr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    if len > PATH_READ_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    UserSlice::<u8>::new(ptr, len)?.read_all(SCHED.lock().current_space())
}

fn debug_write(ptr: u64, len: u64) -> SysResult {
    let len = len.min(DEBUG_WRITE_MAX as u64);
    let bytes = UserSlice::<u8>::new(ptr, len)?.read_all(SCHED.lock().current_space())?;
    crate::log::write_bytes(&bytes);
    Ok(len)
}

fn spawn(args_ptr: u64) -> SysResult {
    let mut g = SCHED.lock();
    let space = g.current_space();
    let sa = UserPtr::<SpawnArgs>::new(args_ptr)?.read(space)?;
    if sa.name_len >= PATH_MAX as u64 {
        return Err(Errno::ENAMETOOLONG);
    }
    if sa.args_len > MAX_ARGS_BYTES as u64 {
        return Err(Errno::E2BIG);
    }
    if sa.descs_len > MAX_CAPACITY as u64 {
        return Err(Errno::EINVAL);
    }
    let name = UserSlice::<u8>::new(sa.name_ptr, sa.name_len)?.read_all(space)?;
    let blob = UserSlice::<u8>::new(sa.args_ptr, sa.args_len)?.read_all(space)?;
    let fds = UserSlice::<i32>::new(sa.descs_ptr, sa.descs_len)?.read_all(space)?;
    let parent = g.current_pid();
    drop(g);
    let name = core::str::from_utf8(&name).map_err(|_| Errno::EINVAL)?;
    if blob.last().is_some_and(|&b| b != 0) {
        return Err(Errno::EINVAL);
    }
    let args: Vec<&[u8]> = match blob.split_last() {
        Some((_, body)) => body.split(|&b| b == 0).collect(),
        None => Vec::new(),
    };
    if args.len() >= MAX_ARGS {
        return Err(Errno::E2BIG);
    }
    task::spawn(parent, name, &args, &fds).map(u64::from)
}

fn thread_create(entry: u64, arg: u64, stack_top: u64) -> SysResult {
    if !(USER_START..USER_END).contains(&entry) || !(USER_START..=USER_END).contains(&stack_top) {
        return Err(Errno::EINVAL);
    }
    let frame = task::user_frame(entry, stack_top, arg, 0);
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    g.add_user_thread(pid, &frame).map(u64::from)
}

fn thread_join(tid: u64, value_ptr: u64) -> SysResult {
    let tid = u32::try_from(tid).map_err(|_| Errno::ESRCH)?;
    let out = match value_ptr {
        0 => None,
        addr => Some(UserPtr::<u64>::new(addr)?),
    };
    let value = task::join_thread(tid)?;
    if let Some(out) = out {
        out.write(SCHED.lock().current_space(), &value)?;
    }
    Ok(0)
}

fn mem_map(len: u64, protection: u64, fixed: u64) -> SysResult {
    let known = (prot::READ | prot::WRITE | prot::EXEC) as u64;
    if len == 0 || len > MEM_MAP_MAX || protection & !known != 0 || !fixed.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let fixed = match fixed {
        0 => None,
        a if a >= USER_START
            && a.checked_add(pages * PAGE_SIZE)
                .is_some_and(|e| e <= USER_END) =>
        {
            Some(a)
        }
        _ => return Err(Errno::EINVAL),
    };
    let writable = protection & prot::WRITE as u64 != 0;
    let executable = protection & prot::EXEC as u64 != 0;
    match SCHED
        .lock()
        .current_space()
        .map_area(fixed, pages, writable, executable)
    {
        Ok(addr) => Ok(addr),
        Err(MapError::OutOfMemory) => Err(Errno::ENOMEM),
        Err(MapError::AlreadyMapped) => Err(Errno::EINVAL),
    }
}

fn mem_unmap(addr: u64, len: u64) -> SysResult {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    match g.unmap(pid, addr, len) {
        true => Ok(0),
        false => Err(Errno::EINVAL),
    }
}

fn shutdown(code: u64) -> SysResult {
    if SCHED.lock().current_pid() != 1 {
        return Err(Errno::EPERM);
    }
    if code == 0 || code > 0x7f {
        return Err(Errno::EINVAL);
    }
    crate::info!("shutdown requested by init: exit code {code:#x}");
    crate::arch::qemu_exit(code as u32)
}

fn kstat(which: u64) -> SysResult {
    let mut g = SCHED.lock();
    let (procs, threads) = g.counts();
    let ticks = g.ticks();
    let objects = g.objects();
    let (fs, pipes) = (objects.caps.fs.usage(), objects.caps.pipes.usage());
    Ok(match which as usize {
        kstat::PROCESSES => procs as u64,
        kstat::THREADS => threads as u64,
        kstat::FREE_FRAMES => crate::mem::frames::free_count(),
        kstat::TIMER_TICKS => ticks,
        kstat::DOORS => objects.doors.stats().doors as u64,
        kstat::DESCRIPTORS => objects.caps.descriptors() as u64,
        kstat::OPEN_FILES => fs.ofds as u64,
        kstat::PIPES => pipes.pipes as u64,
        kstat::FILE_PAGES => fs.pages as u64,
        kstat::FS_NODES => fs.nodes as u64,
        kstat::ATTACHED_DOORS => objects.attached_only_doors() as u64,
        kstat::SHARED_FRAMES => crate::mem::frames::shared_count(),
        kstat::BOOT_TSC => task::BOOT_TSC.load(Ordering::Relaxed),
        kstat::DOOR_HANDOFFS => task::HANDOFFS.load(Ordering::Relaxed),
        kstat::DOOR_FAST_PATHS => door::FAST_PATHS.load(Ordering::Relaxed),
        kstat::DOOR_WAITING => g.door_waiting() as u64,
        kstat::FIRST_USER_TSC => task::FIRST_USER_TSC.load(Ordering::Relaxed),
        _ => return Err(Errno::EINVAL),
    })
}

fn sleep(ticks: u64) -> SysResult {
    if ticks > MAX_SLEEP {
        return Err(Errno::EINVAL);
    }
    task::sleep(ticks);
    Ok(0)
}

fn set_tls(base: u64) -> SysResult {
    if base >= USER_END {
        return Err(Errno::EINVAL);
    }
    SCHED.lock().set_fs_base(base);
    Ok(0)
}

/// Kernel event tracing (`abi::trace::op`), for init alone (called a few
/// times a boot: kept out of line, away from the door calls).
#[cold]
fn trace(op: u64, a: u64, b: u64, c: u64) -> SysResult {
    let (pid, tid) = {
        let g = SCHED.lock();
        (g.current_pid(), g.current_tid())
    };
    if pid != 1 {
        return Err(Errno::EPERM);
    }
    match op as usize {
        trace::op::START => crate::trace::start(a, b, tid).map(|()| 0),
        trace::op::STOP => Ok(crate::trace::stop()),
        trace::op::LOST => Ok(crate::trace::lost()),
        trace::op::READ => {
            let records = crate::trace::read(c, b.min(TRACE_READ_MAX))?;
            let out = UserSlice::<trace::Record>::new(a, records.len() as u64)?;
            out.write_all(SCHED.lock().current_space(), &records)?;
            Ok(records.len() as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The QEMU exit value init uses for a program's status (re-exported for
/// the kernel's own failure path).
pub const KERNEL_FAILURE: u32 = exit_code::FAILURE;
