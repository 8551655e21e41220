//! Door calls hand the CPU straight from caller to server and back: with a
//! server thread idle, every round trip is exactly two direct switches (the
//! kernel counts them), both within one process and across processes; with
//! the handoff turned off (the benchmark knob) calls still work but no
//! switch is direct. Null calls (`params == NULL`, nothing returned) take
//! the kernel's fast path on both legs; a call with a `door_arg_t` takes the
//! general path, and hands off all the same.
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::ptr::null_mut;
use userland::abi::kstat::{DOOR_FAST_PATHS, DOOR_HANDOFFS};
use userland::door::{self, door_desc_t};
use userland::{Errno, arg, println, process};

userland::entry!(main);

const CALLS: u64 = 100;

extern "C" fn null_server(_: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    door::door_return(null_mut(), 0, null_mut(), 0);
}

fn handoffs() -> u64 {
    process::kstat(DOOR_HANDOFFS).expect("kstat")
}

fn fast_paths() -> u64 {
    process::kstat(DOOR_FAST_PATHS).expect("kstat")
}

/// Makes `CALLS` calls on `d` with an (empty) `door_arg_t`; returns the
/// direct switches and the fast-path legs they made.
fn param_calls(d: i32) -> Result<(u64, u64), Errno> {
    let mut rbuf = [0u8; 16];
    let (h, f) = (handoffs(), fast_paths());
    for _ in 0..CALLS {
        let mut arg = door::door_arg_t {
            rbuf: rbuf.as_mut_ptr() as u64,
            rsize: rbuf.len() as u64,
            ..Default::default()
        };
        if door::door_call(d, &mut arg) != 0 {
            return Err(door::errno());
        }
    }
    Ok((handoffs() - h, fast_paths() - f))
}

/// Makes `CALLS` null calls on `d`; returns the direct switches and the
/// fast-path legs they made.
fn calls(d: i32) -> Result<(u64, u64), Errno> {
    // The first call may find the pool's only thread busy being created.
    if door::door_call(d, null_mut()) != 0 {
        return Err(door::errno());
    }
    let (h, f) = (handoffs(), fast_paths());
    for _ in 0..CALLS {
        if door::door_call(d, null_mut()) != 0 {
            return Err(door::errno());
        }
    }
    Ok((handoffs() - h, fast_paths() - f))
}

fn check(what: &str, got: Result<(u64, u64), Errno>, want: (u64, u64)) -> bool {
    if got != Ok(want) {
        println!(
            "door_handoff: {what}: {got:?} (direct switches, fast-path legs), expected {want:?}"
        );
        return false;
    }
    true
}

fn main() -> i32 {
    let both = (2 * CALLS, 2 * CALLS);
    if arg(1) == Some("client") {
        let ok = check("across processes", calls(0), both);
        return if ok { 0 } else { 1 };
    }
    let d = door::door_create(null_server, null_mut(), 0);
    let mut ok = check("within a process", calls(d), both);
    ok &= check("calls with door_arg_t", param_calls(d), (2 * CALLS, 0));
    let pid = process::spawn_with_fds("door_handoff", &["client"], &[d]).expect("spawn");
    ok &= process::wait(Some(pid)).expect("wait").1 == 0;
    door::door_handoff(false);
    ok &= check("through the run queue", calls(d), (0, 2 * CALLS));
    door::door_handoff(true);
    if !ok {
        return 1;
    }
    println!("door_handoff: ok ({CALLS} calls, 2 direct switches each)");
    0
}
