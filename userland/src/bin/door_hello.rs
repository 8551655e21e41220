//! Smoke test of doors: a door called within its own process and from a
//! child process that received the descriptor at spawn.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use userland::door::safe::{Door, Response};
use userland::{arg, println, process};

userland::entry!(main);

fn main() -> i32 {
    if arg(1) == Some("child") {
        let door = Door::from_fd(0);
        let reply = door.call(b"from the child", &[]).expect("child call");
        println!(
            "door_hello: child got {:?}",
            core::str::from_utf8(&reply.data)
        );
        return if reply.data == b"dlihc eht morf" {
            0
        } else {
            1
        };
    }
    let door = Door::create(0, |inv| {
        Response::data(inv.data.iter().rev().copied().collect::<Vec<u8>>())
    })
    .expect("door_create");
    let reply = door.call(b"hello door", &[]).expect("call");
    println!(
        "door_hello: local call got {:?}",
        core::str::from_utf8(&reply.data)
    );
    if reply.data != b"rood olleh" {
        return 1;
    }
    let pid = process::spawn_with_fds("door_hello", &["child"], &[door.fd()]).expect("spawn");
    let (_, status) = process::wait(Some(pid)).expect("wait");
    println!("door_hello: child exited with {status}");
    status
}
