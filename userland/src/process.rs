//! Processes: exit, spawn a program (a path, or a name looked up in
//! `/bin`), wait for it.

use crate::sys::{Errno, check, syscall0, syscall1, syscall2, syscall3};
use abi::{SpawnArgs, Sys};
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
    let mut blob = Vec::new();
    for a in args {
        blob.extend_from_slice(a.as_bytes());
        blob.push(0);
    }
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
