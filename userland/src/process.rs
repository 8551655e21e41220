//! Processes: exit, spawn a program (a path, or a name looked up in
//! `/bin`), wait for it; fork, exec, wait4, kill, alarm, pause, ids and
//! resource limits, with the C library's names.

use crate::sys::{Errno, check, syscall0, syscall1, syscall2, syscall3, syscall4};
use abi::rlimit::Rlimit;
use abi::{ExecArgs, SpawnArgs, Sys};
use alloc::vec::Vec;

/// Ends the process with `status`.
pub fn exit(status: i32) -> ! {
    syscall1(Sys::Exit, status as usize);
    unreachable!("exit returned")
}

pub fn getpid() -> u32 {
    syscall0(Sys::GetPid) as u32
}

/// Starts program `name` (a path when it holds a `/`, else a program of
/// `/bin`) with `args` and no descriptors; returns its pid.
pub fn spawn(name: &str, args: &[&str]) -> Result<u32, Errno> {
    spawn_with_fds(name, args, &[])
}

/// Starts program `name` with `args`, handing it copies of the descriptors
/// `fds` (they become its descriptors 0, 1, ...; it gets no others: list
/// 0, 1 and 2 first to give it this process's standard descriptors).
pub fn spawn_with_fds(name: &str, args: &[&str], fds: &[i32]) -> Result<u32, Errno> {
    let blob = strings(args);
    let sa = SpawnArgs {
        name_ptr: name.as_ptr() as u64,
        name_len: name.len() as u64,
        args_ptr: blob.as_ptr() as u64,
        args_len: blob.len() as u64,
        descs_ptr: fds.as_ptr() as u64,
        descs_len: fds.len() as u64,
    };
    check(syscall1(Sys::Spawn, &sa as *const SpawnArgs as usize)).map(|p| p as u32)
}

/// Waits for child `pid` (or any child with `None`); returns `(pid, status)`.
pub fn wait(pid: Option<u32>) -> Result<(u32, i32), Errno> {
    let arg = pid.map_or(-1i64, i64::from);
    let v = check(syscall1(Sys::Wait, arg as usize))?;
    Ok(((v >> 32) as u32, v as u32 as i32))
}

/// A kernel counter (see `abi::kstat`).
pub fn kstat(which: usize) -> Result<u64, Errno> {
    check(syscall1(Sys::Kstat, which)).map(|v| v as u64)
}

/// Sleeps for `ticks` timer ticks.
pub fn sleep_ticks(ticks: u64) {
    syscall1(Sys::SleepTicks, ticks as usize);
}

/// A limit of process `pid` (0: this one; see `abi::limit`).
pub fn get_limit(pid: u32, resource: usize) -> Result<u64, Errno> {
    check(syscall2(Sys::GetLimit, pid as usize, resource)).map(|v| v as u64)
}

/// Sets a limit of process `pid` (0: this one; see `abi::limit`).
pub fn set_limit(pid: u32, resource: usize, value: u64) -> Result<(), Errno> {
    check(syscall3(
        Sys::SetLimit,
        pid as usize,
        resource,
        value as usize,
    ))
    .map(|_| ())
}

pub fn yield_now() {
    syscall0(Sys::Yield);
}

/// `strings`, each ended by a NUL byte.
fn strings(strings: &[&str]) -> Vec<u8> {
    let mut blob = Vec::new();
    for a in strings {
        blob.extend_from_slice(a.as_bytes());
        blob.push(0);
    }
    blob
}

/// `fork()`: a new process with a copy of this thread only, of the memory
/// (copy-on-write), the descriptors, the current directory and the ids;
/// returns the child's pid here and 0 in the child. The runtime's locks
/// (output, door responses, heap) are held across the call, as illumos's
/// libc holds its own, so the child's copies are usable whatever other
/// threads were doing.
pub fn fork() -> Result<u32, Errno> {
    let ret = crate::io::while_held(|| {
        crate::door::safe::while_held(|| crate::heap::while_held(|| syscall0(Sys::Fork)))
    });
    let pid = check(ret)? as u32;
    if pid == 0 {
        crate::tcb::after_fork();
        crate::door::after_fork();
    }
    Ok(pid)
}

/// `execve(path, argv, envp)`: replaces this program with the one at
/// `path` (relative to the current directory), its arguments `argv`
/// (argument 0 first) and environment `envp` (`NAME=value`). Returns only
/// on failure, with the error; this process is then unchanged.
pub fn execve(path: &str, argv: &[&str], envp: &[&str]) -> Errno {
    let (args, env) = (strings(argv), strings(envp));
    let ea = ExecArgs {
        path_ptr: path.as_ptr() as u64,
        path_len: path.len() as u64,
        args_ptr: args.as_ptr() as u64,
        args_len: args.len() as u64,
        env_ptr: env.as_ptr() as u64,
        env_len: env.len() as u64,
    };
    match check(syscall1(Sys::Execve, &ea as *const ExecArgs as usize)) {
        Ok(_) => unreachable!("execve returned"),
        Err(e) => e,
    }
}

/// `execv(path, argv)`: [`execve`] with this program's environment.
pub fn execv(path: &str, argv: &[&str]) -> Errno {
    let env: Vec<&str> = crate::env().collect();
    execve(path, argv, &env)
}

/// `wait4(pid, &status, options, NULL)`: the pid and wait status
/// (`abi::signal::wait` reads it) of a child that exited (`pid` a child,
/// -1 any, 0 the process group's, `-pgid` a group's); `None` with
/// `WNOHANG` when none has.
pub fn wait4(pid: i32, options: u32) -> Result<Option<(u32, i32)>, Errno> {
    let mut status = 0i32;
    let ret = syscall3(
        Sys::Wait4,
        pid as isize as usize,
        &mut status as *mut i32 as usize,
        options as usize,
    );
    Ok(match check(ret)? {
        0 => None,
        child => Some((child as u32, status)),
    })
}

/// `kill(pid, sig)`: `sig` 0 only checks that `pid` exists and may be
/// signalled.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    check(syscall2(
        Sys::Kill,
        pid as isize as usize,
        sig as isize as usize,
    ))
    .map(|_| ())
}

/// `alarm(seconds)`: SIGALRM ends this process after `seconds` (0
/// cancels); the seconds the previous alarm had left.
pub fn alarm(seconds: u32) -> u32 {
    check(syscall1(Sys::Alarm, seconds as usize)).map_or(0, |s| s as u32)
}

/// `pause()`: waits until this process is terminated.
pub fn pause() -> ! {
    syscall0(Sys::Pause);
    unreachable!("pause returned")
}

/// `getppid()`: the parent's pid (1 once init adopted this process).
pub fn getppid() -> u32 {
    syscall0(Sys::GetPpid) as u32
}

/// `setuid(uid)`.
pub fn setuid(uid: u32) -> Result<(), Errno> {
    check(syscall1(Sys::Setuid, uid as usize)).map(|_| ())
}

/// `seteuid(uid)`.
pub fn seteuid(uid: u32) -> Result<(), Errno> {
    check(syscall1(Sys::Seteuid, uid as usize)).map(|_| ())
}

/// `getrlimit(resource)` (`abi::rlimit`).
pub fn getrlimit(resource: u32) -> Result<Rlimit, Errno> {
    let mut old = Rlimit::default();
    let out = &mut old as *mut Rlimit as usize;
    check(syscall4(Sys::Prlimit, 0, resource as usize, 0, out))?;
    Ok(old)
}

/// `setrlimit(resource, limit)`.
pub fn setrlimit(resource: u32, limit: Rlimit) -> Result<(), Errno> {
    let new = &limit as *const Rlimit as usize;
    check(syscall4(Sys::Prlimit, 0, resource as usize, new, 0)).map(|_| ())
}
