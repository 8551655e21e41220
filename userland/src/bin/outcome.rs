//! Ends in the way its first argument names, so the runner's tests can see
//! each class of result reach the host:
//!
//! - `outcome fault`: writes through a null pointer (killed, status 142);
//! - `outcome panic`: panics (status 101);
//! - `outcome hang`: sleeps forever with a timer pending (a timeout);
//! - `outcome block`: parks its only thread as a door server nobody calls,
//!   so every thread is blocked (the kernel reports a deadlock);
//! - `outcome leak`: starts a child that stays blocked on a pipe it holds
//!   both ends of, and exits 0, so a process outlives the program (init
//!   reports a leak);
//! - `outcome cat PATH`: prints the file `PATH` and exits 0 (1 when it
//!   cannot be read).
#![no_std]
#![no_main]

extern crate alloc;

use userland::door::safe::{Door, Response, serve_forever};
use userland::{fs, println, process};

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
        "orphan" => orphan(),
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
    match process::spawn("outcome", &["orphan"]) {
        Ok(pid) => {
            println!("outcome: left process {pid} behind");
            0
        }
        Err(e) => {
            println!("outcome: could not start a child: {e:?}");
            1
        }
    }
}

/// Blocks forever: nobody else holds the pipe's write end.
fn orphan() -> i32 {
    let Ok((read, _write)) = fs::pipe() else {
        return 1;
    };
    let _ = fs::read_fd(read, &mut [0u8; 1]);
    1
}

fn cat(path: &str) -> i32 {
    match fs::read(path) {
        Ok(bytes) => {
            let text = core::str::from_utf8(&bytes).unwrap_or("(not UTF-8)");
            println!(
                "outcome: {path} holds {} bytes: {}",
                bytes.len(),
                text.trim_end()
            );
            0
        }
        Err(e) => {
            println!("outcome: cannot read {path}: {e:?}");
            1
        }
    }
}
