//! What `cargo run` shows: programs in ring 3 with their own address
//! spaces, threads, and a faulting program that is killed while the rest
//! goes on.
#![no_std]
#![no_main]

use userland::{arg, println, process, thread};

userland::entry!(main);

fn main() -> i32 {
    if arg(1) == Some("crash") {
        // SAFETY: a deliberate bad read to show fault containment.
        unsafe { core::ptr::read_volatile(0x1234_0000 as *const u8) };
        return 0;
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
    0
}
