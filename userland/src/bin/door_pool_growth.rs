//! The default door_server_create procedure does not create threads without
//! bound: with 4 client threads calling one door back to back (caller and
//! server handing the CPU to each other, so a newly made thread waits in the
//! run queue), the server process ends up with at most one server thread
//! per concurrent caller plus the one it may be starting, however many calls
//! are made.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use spin::Mutex;
use userland::abi::kstat::THREADS;
use userland::door::safe::{Door, Response};
use userland::{arg, println, process, thread};

userland::entry!(main);

const CLIENTS: usize = 4;
const CALLS: u32 = 50;

/// Threads that served a call.
static SERVERS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn client() -> i32 {
    let threads: Vec<_> = (0..CLIENTS as u32)
        .map(|c| {
            thread::spawn(move || {
                let door = Door::from_fd(0);
                let mut bad = 0;
                for i in 0..CALLS {
                    let msg = [c as u8, i as u8];
                    match door.call(&msg, &[]) {
                        Ok(r) if r.data == msg => {}
                        _ => bad += 1,
                    }
                }
                bad
            })
            .expect("client thread")
        })
        .collect();
    let bad: u64 = threads.into_iter().map(|t| t.join().expect("join")).sum();
    if bad == 0 { 0 } else { 1 }
}

fn main() -> i32 {
    if arg(1) == Some("client") {
        return client();
    }
    let before = process::kstat(THREADS).expect("kstat");
    let door = Door::create(0, |inv| {
        SERVERS.lock().insert(thread::gettid());
        Response::data(inv.data.to_vec())
    })
    .expect("door_create");
    let pid =
        process::spawn_with_fds("door_pool_growth", &["client"], &[door.fd()]).expect("spawn");
    let (_, status) = process::wait(Some(pid)).expect("wait");
    let served = SERVERS.lock().len();
    // Every thread made since the door was created is a server thread of
    // this process (the client is gone).
    let made = process::kstat(THREADS).expect("kstat") - before;
    if status != 0 || served == 0 || made > CLIENTS as u64 + 1 {
        println!(
            "door_pool_growth: client status {status}; {made} server threads made, {served} served, for {CLIENTS} callers"
        );
        return 1;
    }
    println!(
        "door_pool_growth: ok ({made} server threads made, {served} served, for {CLIENTS} callers)"
    );
    0
}
