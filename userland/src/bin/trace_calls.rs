//! A known program for the kernel trace test (`qemu/tests/trace.rs`): the
//! parent creates a door (its first, so the door_server_create procedure
//! runs), a child makes [`CALLS`] calls of 8 bytes on it, one after
//! another, and the parent revokes it once the child is gone. Also checks
//! that only init may use the trace system call (EPERM for anyone else).
#![no_std]
#![no_main]

extern crate alloc;

use userland::abi::{Sys, trace};
use userland::door::safe::{Door, Response};
use userland::sys::{Errno, check, syscall};
use userland::{arg, println, process};

userland::entry!(main);

/// Calls the child makes.
const CALLS: u8 = 4;

fn main() -> i32 {
    if arg(1) == Some("child") {
        let door = Door::from_fd(0);
        for i in 0..CALLS {
            let msg = [i; 8];
            match door.call(&msg, &[]) {
                Ok(reply) if reply.data == msg => {}
                other => {
                    println!("trace_calls: call {i}: {other:?}");
                    return 1;
                }
            }
        }
        return 0;
    }
    for op in [
        trace::op::START,
        trace::op::STOP,
        trace::op::READ,
        trace::op::LOST,
        99,
    ] {
        let got = check(syscall(Sys::Trace, [op, 0, 0, 0, 0, 0]));
        if got != Err(Errno::EPERM) {
            println!("trace_calls: trace op {op} from a program: {got:?}, expected EPERM");
            return 1;
        }
    }
    println!("trace_calls: only init may trace");
    let door = Door::create(0, |inv| Response::data(inv.data.to_vec())).expect("door_create");
    let pid = process::spawn_with_fds("trace_calls", &["child"], &[door.fd()]).expect("spawn");
    let (_, status) = process::wait(Some(pid)).expect("wait");
    if let Err(e) = door.revoke() {
        println!("trace_calls: door_revoke: {e:?}");
        return 1;
    }
    println!("trace_calls: child made {CALLS} calls, exited with {status}");
    status
}
