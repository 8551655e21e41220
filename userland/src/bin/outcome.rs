//! Ends in the way its first argument names, so the runner's tests can see
//! each class of result reach the host:
//!
//! - `outcome fault`: writes through a null pointer (killed, status 142);
//! - `outcome panic`: panics (status 101);
//! - `outcome hang`: sleeps forever with a timer pending (a timeout);
//! - `outcome block`: parks its only thread as a door server nobody calls,
//!   so every thread is blocked (the kernel reports a deadlock);
//! - `outcome leak`: attaches a door to a name and exits 0 without
//!   detaching it, so the door outlives the process (init reports a leak);
//! - `outcome cat PATH`: prints the boot file system file `PATH` and exits 0
//!   (1 when it is missing).
#![no_std]
#![no_main]

extern crate alloc;

use userland::abi::Sys;
use userland::door::safe::{Door, Response, serve_forever};
use userland::println;
use userland::sys::{check, syscall4};

userland::entry!(main);

fn main() -> i32 {
    match userland::arg(1).unwrap_or_default() {
        "fault" => fault(),
        "panic" => panic!("outcome: panicking as asked"),
        "hang" => loop {
            userland::process::sleep_ticks(1000);
        },
        "block" => block(),
        "leak" => leak(),
        "cat" => cat(userland::arg(2).unwrap_or_default()),
        other => {
            println!("outcome: unknown case `{other}` (fault, panic, hang, block, leak, cat PATH)");
            2
        }
    }
}

#[inline(never)]
fn fault() -> i32 {
    let null = core::ptr::null_mut::<u64>();
    // SAFETY: deliberately invalid: the write faults and the kernel kills
    // the process, which is what this case is for.
    unsafe { null.write_volatile(1) };
    0
}

fn block() -> i32 {
    let _door = Door::create(0, |_| Response::data(alloc::vec::Vec::new()));
    println!("outcome: serving a door nobody knows of");
    serve_forever()
}

fn leak() -> i32 {
    let door = Door::create(0, |_| Response::data(alloc::vec::Vec::new()));
    match door.and_then(|d| d.attach("/outcome/leak")) {
        Ok(()) => {
            println!("outcome: left a door attached at /outcome/leak");
            0
        }
        Err(e) => {
            println!("outcome: could not attach a door: {e:?}");
            1
        }
    }
}

fn cat(path: &str) -> i32 {
    let mut buf = [0u8; 256];
    let read = check(syscall4(
        Sys::BootfsRead,
        path.as_ptr() as usize,
        path.len(),
        buf.as_mut_ptr() as usize,
        buf.len(),
    ));
    match read {
        Ok(n) => {
            let text = core::str::from_utf8(&buf[..n.min(buf.len())]).unwrap_or("(not UTF-8)");
            println!("outcome: {path} holds {n} bytes: {}", text.trim_end());
            0
        }
        Err(e) => {
            println!("outcome: cannot read {path}: {e:?}");
            1
        }
    }
}
