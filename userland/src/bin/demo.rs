//! What `cargo run` shows: programs in ring 3 with their own address
//! spaces, threads, a faulting program that is killed while the rest goes
//! on, and doors: a server process answering calls from a client process
//! that received the door descriptor, and a door found by its path.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use userland::door::safe::{Door, Response, detach_file};
use userland::{arg, println, process, thread};

userland::entry!(main);

/// Where the demo's second door is attached.
const UPPER: &str = "/tmp/demo.upper";

/// The client side: calls the door it was handed (descriptor 0), then the
/// door attached at [`UPPER`].
fn client() -> i32 {
    let greeter = Door::from_fd(0);
    let reply = greeter.call(b"doors", &[]).expect("door_call");
    println!(
        "demo: client (pid {}) got {:?}",
        process::getpid(),
        core::str::from_utf8(&reply.data)
    );
    let upper = Door::open(UPPER).expect("open the attached door");
    let reply = upper.call(b"shout", &[]).expect("door_call");
    println!(
        "demo: {UPPER} answered {:?}",
        core::str::from_utf8(&reply.data)
    );
    0
}

fn main() -> i32 {
    match arg(1) {
        Some("crash") => {
            // SAFETY: a deliberate bad read to show fault containment.
            unsafe { core::ptr::read_volatile(0x1234_0000 as *const u8) };
            return 0;
        }
        Some("client") => return client(),
        _ => {}
    }
    println!("demo: hello from pid {} in ring 3", process::getpid());
    let workers: [_; 3] = core::array::from_fn(|i| {
        thread::spawn(move || {
            println!(
                "demo: thread {} of pid {} running",
                thread::gettid(),
                process::getpid()
            );
            (i as u64 + 1) * 10
        })
        .expect("thread")
    });
    let sum: u64 = workers.into_iter().map(|h| h.join().expect("join")).sum();
    println!("demo: threads joined, results add up to {sum}");
    let pid = process::spawn("demo", &["crash"]).expect("spawn");
    let (_, status) = process::wait(Some(pid)).expect("wait");
    println!("demo: child {pid} was killed (status {status}); the system goes on");

    let me = process::getpid();
    let greeter = Door::create(0, move |inv| {
        Response::data(
            format!(
                "hello, {}, from door server pid {me}",
                core::str::from_utf8(inv.data).unwrap_or("?")
            )
            .into_bytes(),
        )
    })
    .expect("door_create");
    let upper = Door::create(0, |inv| {
        Response::data(
            inv.data
                .iter()
                .map(u8::to_ascii_uppercase)
                .collect::<Vec<u8>>(),
        )
    })
    .expect("door_create");
    upper.attach_file(UPPER).expect("fattach");
    let info = greeter.info().expect("door_info");
    println!("demo: door {} created (uniquifier {})", greeter.fd(), {
        info.di_uniquifier
    });
    let pid = process::spawn_with_fds("demo", &["client"], &[greeter.fd()]).expect("spawn client");
    let (_, status) = process::wait(Some(pid)).expect("wait client");
    println!("demo: door client {pid} exited with {status}");
    // An attachment keeps its door alive (as a revoked door once this
    // process is gone), so a tidy server takes it down.
    detach_file(UPPER).expect("fdetach");
    status
}
