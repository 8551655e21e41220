//! The door round trip that `cargo run -- profile [SIZE]` takes apart
//! instruction by instruction (QEMU logs every instruction it executes; the
//! runner finds where each went). `door_profile SIZE` creates a door (a
//! null server for SIZE 0, else an echo server) and spawns
//! `door_profile client SIZE` with it as descriptor 0, which makes
//! [`WARM_UP`] calls, then [`ROUNDS`] calls between two calls of
//! [`profile_mark`]: each call with SIZE bytes of arguments and as many of
//! results, as `bench` makes them, through [`profile_call`].
//!
//! The client prints `PROFILE mark=ADDR call=ADDR rounds=N size=SIZE`
//! first: the runner cuts the log at the two marks and into round trips
//! where [`profile_call`] starts.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use core::ffi::c_void;
use core::ptr::null_mut;
use userland::abi::Sys;
use userland::door::{self, door_arg_t, door_desc_t};
use userland::sys::syscall0;
use userland::{arg, println, process};

userland::entry!(main);

/// Calls made before the profiled ones (the caches of the fast path warm).
const WARM_UP: usize = 100;
/// Profiled round trips.
const ROUNDS: usize = 16;
/// The most argument bytes a profiled call carries.
const MAX_SIZE: usize = 4096;

extern "C" fn null_server(_: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    door::door_return(null_mut(), 0, null_mut(), 0);
}

extern "C" fn echo_server(_: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    door::door_return(argp, size, null_mut(), 0);
}

/// Where the profiled calls start and end: a system call of its own, so
/// the runner sees it in the log.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn profile_mark() {
    syscall0(Sys::GetPid);
}

/// One round trip on door 0: `params` NULL without arguments, else
/// `size` bytes from `data` with results into `results`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn profile_call(data: *mut u8, results: *mut u8, size: usize) -> i32 {
    if size == 0 {
        return door::door_call(0, null_mut());
    }
    let mut arg = door_arg_t {
        data_ptr: data as u64,
        data_size: size as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: results as u64,
        rsize: size as u64,
    };
    door::door_call(0, &mut arg)
}

fn client(size: usize) -> i32 {
    let mut data = alloc::vec![7u8; size.max(1)];
    let mut results = alloc::vec![0u8; size.max(1)];
    let mut call = || {
        if profile_call(data.as_mut_ptr(), results.as_mut_ptr(), size) != 0 {
            println!("door_profile: door_call failed: {}", door::errno());
            process::exit(1);
        }
    };
    for _ in 0..WARM_UP {
        call();
    }
    println!(
        "PROFILE mark={:#x} call={:#x} rounds={ROUNDS} size={size}",
        profile_mark as *const () as usize, profile_call as *const () as usize
    );
    profile_mark();
    for _ in 0..ROUNDS {
        call();
    }
    profile_mark();
    0
}

fn main() -> i32 {
    let size_arg = match arg(1) {
        Some("client") => arg(2),
        other => other,
    };
    let size = match size_arg.map(str::parse::<usize>) {
        None => 0,
        Some(Ok(size)) if size <= MAX_SIZE => size,
        Some(_) => {
            println!("door_profile: the size is a number of bytes up to {MAX_SIZE}");
            return 2;
        }
    };
    if arg(1) == Some("client") {
        return client(size);
    }
    let server = match size {
        0 => null_server as door::ServerProc,
        _ => echo_server,
    };
    let d = door::door_create(server, null_mut(), 0);
    if d < 0 {
        println!("door_profile: door_create failed: {}", door::errno());
        return 1;
    }
    let size = format!("{size}");
    let Ok(pid) = process::spawn_with_fds("door_profile", &["client", &size], &[d]) else {
        println!("door_profile: cannot spawn the client");
        return 1;
    };
    match process::wait(Some(pid)) {
        Ok((_, 0)) => 0,
        _ => 1,
    }
}
