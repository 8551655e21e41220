//! Benchmarks, meant for `cargo run -- bench` (QEMU with `-icount shift=0`,
//! where the time-stamp counter counts executed instructions). Prints
//! `BENCH name value unit` lines:
//! - kernel entry to the first user instruction, and a null system call;
//! - a null door_call round trip within one process and across processes,
//!   with 1 KiB and 64 KiB arguments, and through the run queue instead of
//!   the direct handoff, alone and with other threads ready to run (where
//!   the run queue makes the server wait its turn);
//! - the null cross-process call with 1, 100 and 1,000 doors and server
//!   threads in the server process;
//! - beside them, a 1-byte and a 1 KiB ping-pong over two pipes between
//!   two processes (as the doors paper compared doors with pipes).
//!
//! The parent process is the door server; each measurement runs in a child
//! (`bench client MODE`) that gets the doors as its descriptors 0, 1, ...;
//! the pipe child (`bench echo`) gets a pipe's read end as 0 and another's
//! write end as 1 and sends back what it reads.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use userland::abi::Sys;
use userland::abi::kstat::{BOOT_TSC, FIRST_USER_TSC};
use userland::door::{self, door_arg_t, door_desc_t};
use userland::fs::{close, pipe, read_fd, write_fd};
use userland::sys::{rdtsc, syscall0};
use userland::{arg, println, process, thread};

userland::entry!(main);

const ROUNDS: u64 = 10_000;
const COPY_ROUNDS: u64 = 1_000;
/// Stack of the extra server threads of the scaling runs.
const SMALL_STACK: usize = 48 * 1024;
/// Threads of the busy process, each yielding in a loop.
const BUSY_THREADS: usize = 8;
/// Yields each busy thread makes (more than a run-queue measurement uses).
const BUSY_YIELDS: u64 = 25_000;

/// The null server procedure: no results.
extern "C" fn null_server(_: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    door::door_return(null_mut(), 0, null_mut(), 0);
}

/// Null calls on `doors` in turn; returns instructions per round trip.
fn null_calls(doors: &[i32], rounds: u64) -> u64 {
    for &d in doors.iter().cycle().take(100) {
        door::door_call(d, null_mut());
    }
    let t0 = rdtsc();
    for &d in doors.iter().cycle().take(rounds as usize) {
        if door::door_call(d, null_mut()) != 0 {
            println!("bench: door_call failed: {}", door::errno());
            process::exit(1);
        }
    }
    (rdtsc() - t0) / rounds
}

/// Calls with `size` argument bytes; returns instructions per round trip.
fn data_calls(d: i32, size: usize, rounds: u64) -> u64 {
    let mut data = alloc::vec![7u8; size];
    let mut call = || {
        let mut arg = door_arg_t {
            data_ptr: data.as_mut_ptr() as u64,
            data_size: size as u64,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: 0,
            rsize: 0,
        };
        door::door_call(d, &mut arg)
    };
    for _ in 0..10 {
        call();
    }
    let t0 = rdtsc();
    for _ in 0..rounds {
        if call() != 0 {
            println!(
                "bench: door_call with {size} bytes failed: {}",
                door::errno()
            );
            process::exit(1);
        }
    }
    (rdtsc() - t0) / rounds
}

/// A process whose threads keep the run queue full.
fn busy() -> i32 {
    let threads: Vec<_> = (0..BUSY_THREADS)
        .map(|_| {
            thread::spawn_with_stack(SMALL_STACK, || {
                for _ in 0..BUSY_YIELDS {
                    process::yield_now();
                }
                0
            })
            .expect("busy thread")
        })
        .collect();
    for t in threads {
        t.join().expect("join busy thread");
    }
    0
}

fn client(mode: &str) -> i32 {
    match mode {
        "busy" => {
            let pid = process::spawn("bench", &["busy"]).expect("spawn busy process");
            process::sleep_ticks(1);
            let with_handoff = null_calls(&[0], ROUNDS);
            door::door_handoff(false);
            let with_run_queue = null_calls(&[0], ROUNDS);
            door::door_handoff(true);
            println!("BENCH door_null_{BUSY_THREADS}_threads_ready {with_handoff} instructions");
            println!(
                "BENCH door_null_{BUSY_THREADS}_threads_ready_run_queue {with_run_queue} instructions"
            );
            process::wait(Some(pid)).expect("wait busy process");
        }
        "null" => {
            println!(
                "BENCH door_null_cross_process {} instructions",
                null_calls(&[0], ROUNDS)
            );
            door::door_handoff(false);
            println!(
                "BENCH door_null_cross_process_run_queue {} instructions",
                null_calls(&[0], ROUNDS)
            );
            door::door_handoff(true);
            println!(
                "BENCH door_1KiB_cross_process {} instructions",
                data_calls(0, 1024, COPY_ROUNDS)
            );
            println!(
                "BENCH door_64KiB_cross_process {} instructions",
                data_calls(0, 64 * 1024, COPY_ROUNDS)
            );
        }
        n => {
            let count: i32 = n.parse().unwrap_or(1);
            let doors: Vec<i32> = (0..count).collect();
            println!(
                "BENCH door_null_{count}_doors {} instructions",
                null_calls(&doors, ROUNDS)
            );
        }
    }
    0
}

/// The pipe child: sends back every message until end of file.
fn echo() -> i32 {
    let mut buf = [0u8; 1024];
    loop {
        match read_fd(0, &mut buf) {
            Ok(0) => return 0,
            Ok(n) if write_fd(1, &buf[..n]) == Ok(n) => {}
            _ => return 1,
        }
    }
}

/// Round trips of `size`-byte messages through the echo child; returns
/// instructions per round trip.
fn pipe_round_trips(to: i32, from: i32, size: usize, rounds: u64) -> u64 {
    let out = alloc::vec![7u8; size];
    let mut back = alloc::vec![0u8; size];
    let mut round = || {
        let sent = write_fd(to, &out) == Ok(size);
        let mut got = 0;
        while sent && got < size {
            match read_fd(from, &mut back[got..]) {
                Ok(n) if n > 0 => got += n,
                _ => break,
            }
        }
        if got != size {
            println!("bench: pipe round trip of {size} bytes failed");
            process::exit(1);
        }
    };
    for _ in 0..100 {
        round();
    }
    let t0 = rdtsc();
    for _ in 0..rounds {
        round();
    }
    (rdtsc() - t0) / rounds
}

/// The pipe ping-pong rows.
fn pipes() {
    let (there_r, there_w) = pipe().expect("pipe");
    let (back_r, back_w) = pipe().expect("pipe");
    let pid = process::spawn_with_fds("bench", &["echo"], &[there_r, back_w]).expect("spawn echo");
    for fd in [there_r, back_w] {
        close(fd).expect("close");
    }
    println!(
        "BENCH pipe_1B_cross_process {} instructions",
        pipe_round_trips(there_w, back_r, 1, ROUNDS)
    );
    println!(
        "BENCH pipe_1KiB_cross_process {} instructions",
        pipe_round_trips(there_w, back_r, 1024, COPY_ROUNDS)
    );
    close(there_w).expect("close");
    let (_, status) = process::wait(Some(pid)).expect("wait echo");
    close(back_r).expect("close");
    if status != 0 {
        println!("bench: echo failed with {status}");
        process::exit(1);
    }
}

fn spawn_client(mode: &str, fds: &[i32]) {
    let pid = process::spawn_with_fds("bench", &["client", mode], fds).expect("spawn client");
    let (_, status) = process::wait(Some(pid)).expect("wait client");
    if status != 0 {
        println!("bench: client {mode} failed with {status}");
        process::exit(1);
    }
}

fn main() -> i32 {
    match arg(1) {
        Some("client") => return client(arg(2).unwrap_or("null")),
        Some("busy") => return busy(),
        Some("echo") => return echo(),
        _ => {}
    }
    let boot = process::kstat(BOOT_TSC).unwrap_or(0);
    let first_user = process::kstat(FIRST_USER_TSC).unwrap_or(0);
    println!(
        "BENCH kernel_entry_to_first_user_instruction {} instructions",
        first_user - boot
    );
    for _ in 0..100 {
        syscall0(Sys::GetPid);
    }
    let t0 = rdtsc();
    for _ in 0..ROUNDS {
        syscall0(Sys::GetPid);
    }
    println!(
        "BENCH null_syscall_round_trip {} instructions",
        (rdtsc() - t0) / ROUNDS
    );

    let first = door::door_create(null_server, null_mut(), 0);
    println!(
        "BENCH door_null_same_process {} instructions",
        null_calls(&[first], ROUNDS)
    );
    spawn_client("null", &[first]);
    spawn_client("busy", &[first]);
    pipes();

    let mut doors = alloc::vec![first];
    for target in [1usize, 100, 1000] {
        while doors.len() < target {
            doors.push(door::door_create(null_server, null_mut(), 0));
            thread::spawn_with_stack(SMALL_STACK, || {
                door::door_return(null_mut(), 0, null_mut(), 0);
                0
            })
            .expect("server thread");
        }
        spawn_client(&format!("{target}"), &doors);
    }
    0
}
