//! Benchmarks, meant for `cargo run -- bench` (QEMU with `-icount shift=0`,
//! where the time-stamp counter counts executed instructions). Prints
//! `BENCH name value unit` lines:
//! - kernel entry to the first user instruction, and a null system call;
//! - a null door_call round trip within one process and across processes,
//!   and through the run queue instead of the direct handoff, alone and
//!   with other threads ready to run (where the run queue makes the server
//!   wait its turn);
//! - round trips carrying 16, 64 and 256 bytes, 1 KiB and 64 KiB of
//!   arguments and as many bytes of results (an echo server);
//! - a plain copy of 1 KiB and 64 KiB in user memory, with the routine the
//!   kernel's copies use (`memmove`: `rep movsq` between byte moves) and
//!   with `rep movsb`, to read the copying rows against (under icount
//!   each repetition of a `rep` instruction counts as one instruction);
//! - the null cross-process call with 1, 100 and 1,000 doors and server
//!   threads in the server process, and with 1,000 of each and 100
//!   processes alive (idle ones, each blocked reading a pipe);
//! - beside them, a 1-byte and a 1 KiB ping-pong over two pipes between
//!   two processes (as the doors paper compared doors with pipes);
//! - the longest single native system calls (they run with interrupts
//!   off): `mem_map` and `mem_unmap` of `MEM_MAP_MAX`, `write` and `read`
//!   of `IO_MAX` bytes of a file, and a door call carrying
//!   `DOOR_DATA_MAX` bytes of arguments and as many of results (the
//!   longest of all: two copies of 16 MiB);
//! - fork, exit and wait of a process with 1 MiB and with 64 MiB of
//!   touched memory (copy-on-write: the cost follows the page tables).
//!
//! The parent process is the door server; each measurement runs in a child
//! (`bench client MODE`) that gets the doors as its descriptors 0, 1, ...;
//! the pipe child (`bench echo`) gets a pipe's read end as 0 and another's
//! write end as 1 and sends back what it reads; the idle children
//! (`bench idle`) get a pipe's read end as 0 and exit at its end of file.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::hint::black_box;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};
use userland::abi::fs::{IO_MAX, O_CREAT, O_RDWR};
use userland::abi::kstat::{BOOT_TSC, FIRST_USER_TSC, PROCESSES};
use userland::abi::{DOOR_DATA_MAX, DOOR_PRIVATE, MEM_MAP_MAX, Sys, limit};
use userland::door::{self, door_arg_t, door_desc_t, door_info_t};
use userland::fs::{self, close, pipe, read_fd, write_fd};
use userland::sys::{rdtsc, syscall0};
use userland::{arg, heap, println, process, thread};

userland::entry!(main);

const ROUNDS: u64 = 10_000;
const COPY_ROUNDS: u64 = 1_000;
/// Sizes of arguments and results of the copying round trips.
const DATA_SIZES: [(&str, usize); 5] = [
    ("16B", 16),
    ("64B", 64),
    ("256B", 256),
    ("1KiB", 1024),
    ("64KiB", 64 * 1024),
];
/// Sizes of the plain copies.
const COPY_SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("64KiB", 64 * 1024)];
/// Stack of the extra server threads of the scaling runs.
const SMALL_STACK: usize = 48 * 1024;
/// Threads of the busy process, each yielding in a loop.
const BUSY_THREADS: usize = 8;
/// Yields each busy thread makes (more than a run-queue measurement uses).
const BUSY_YIELDS: u64 = 25_000;
/// Processes alive in the loaded run (init, this one, the client, and idle
/// ones).
const LOADED_PROCESSES: u64 = 100;

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

/// The echo server procedure: its arguments are its results.
extern "C" fn echo_server(_: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    door::door_return(argp, size, null_mut(), 0);
}

/// Calls with `size` argument bytes to the echo server, whose `size` bytes
/// of results land in a buffer of that size; returns instructions per
/// round trip.
fn data_calls(d: i32, size: usize, rounds: u64) -> u64 {
    let mut data = alloc::vec![7u8; size];
    let mut results = alloc::vec![0u8; size];
    let mut call = || {
        let mut arg = door_arg_t {
            data_ptr: data.as_mut_ptr() as u64,
            data_size: size as u64,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: results.as_mut_ptr() as u64,
            rsize: size as u64,
        };
        let called = door::door_call(d, &mut arg);
        if called == 0 && (arg.rbuf, arg.data_size) != (results.as_ptr() as u64, size as u64) {
            println!("bench: results of {size} bytes did not land in the caller's buffer");
            process::exit(1);
        }
        called
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

/// Copies `len` bytes with `rep movsb`.
fn rep_movsb(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the caller's buffers hold `len` bytes each.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rsi") src => _,
            inout("rdi") dst => _,
            inout("rcx") len => _,
            options(nostack, preserves_flags)
        )
    }
}

/// Copies `len` bytes with the routine of the kernel's copies:
/// compiler_builtins' `memmove`, which the kernel and user programs of
/// this target share.
fn memmove(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the caller's buffers hold `len` bytes each.
    unsafe { core::ptr::copy(black_box(src), black_box(dst), len) }
}

/// Instructions per copy of `len` bytes with `copy` between two buffers.
fn copy_cost(len: usize, copy: fn(*const u8, *mut u8, usize)) -> u64 {
    let src = alloc::vec![7u8; len];
    let mut dst = alloc::vec![0u8; len];
    copy(src.as_ptr(), dst.as_mut_ptr(), len);
    let t0 = rdtsc();
    for _ in 0..COPY_ROUNDS {
        copy(src.as_ptr(), dst.as_mut_ptr(), len);
    }
    let cost = (rdtsc() - t0) / COPY_ROUNDS;
    if dst != src {
        println!("bench: a copy of {len} bytes came out wrong");
        process::exit(1);
    }
    cost
}

/// The plain copies the copying round trips compare with.
fn copies() {
    for (name, len) in COPY_SIZES {
        println!(
            "BENCH copy_{name}_kernel_routine {} instructions",
            copy_cost(len, memmove)
        );
        println!(
            "BENCH copy_{name}_rep_movsb {} instructions",
            copy_cost(len, rep_movsb)
        );
    }
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
        "fork" => return forks(),
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
            for (name, size) in DATA_SIZES {
                let rounds = if size > 256 { COPY_ROUNDS } else { ROUNDS };
                println!(
                    "BENCH door_{name}_cross_process {} instructions",
                    data_calls(1, size, rounds)
                );
            }
        }
        // `DOORS` or `DOORS_PROCESSES`: the doors are descriptors 0, 1, ...
        n => {
            let (count, processes) = n.split_once('_').unwrap_or((n, ""));
            let count: i32 = count.parse().unwrap_or(1);
            let doors: Vec<i32> = (0..count).collect();
            let cost = null_calls(&doors, ROUNDS);
            match processes {
                "" => println!("BENCH door_null_{count}_doors {cost} instructions"),
                p => println!("BENCH door_null_{count}_doors_{p}_processes {cost} instructions"),
            }
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

/// An idle child: blocks reading descriptor 0 until its end of file.
fn idle() -> i32 {
    let mut byte = [0u8; 1];
    match read_fd(0, &mut byte) {
        Ok(0) => 0,
        _ => 1,
    }
}

/// The null call with `doors` (of as many server threads) and
/// [`LOADED_PROCESSES`] processes alive: idle children wait on a pipe
/// meanwhile.
fn loaded(doors: &[i32]) {
    process::set_limit(0, limit::CHILDREN, 2 * LOADED_PROCESSES).expect("children limit");
    let (waiting, end) = pipe().expect("pipe");
    let mut children = Vec::new();
    // The client makes one more.
    while process::kstat(PROCESSES).expect("kstat") + 1 < LOADED_PROCESSES {
        let pid = process::spawn_with_fds("bench", &["idle"], &[waiting]).expect("spawn idle");
        children.push(pid);
    }
    close(waiting).expect("close");
    spawn_client(&format!("{}_{LOADED_PROCESSES}", doors.len()), doors);
    close(end).expect("close");
    for pid in children {
        let (_, status) = process::wait(Some(pid)).expect("wait idle");
        if status != 0 {
            println!("bench: an idle child failed with {status}");
            process::exit(1);
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

/// Rounds of fork, exit and wait per size.
const FORK_ROUNDS: u64 = 20;

/// fork + exit + wait with `mib` MiB of memory mapped and written (one
/// byte per page: every page is present); instructions per round.
fn fork_exit_wait(mib: usize) -> u64 {
    let chunk = MEM_MAP_MAX as usize;
    let areas: Vec<usize> = (0..(mib << 20).div_ceil(chunk))
        .map(|_| heap::map(chunk.min(mib << 20), 0).expect("map"))
        .collect();
    let len = chunk.min(mib << 20);
    for &a in &areas {
        for page in (a..a + len).step_by(4096) {
            // SAFETY: a page of the area just mapped.
            unsafe { (page as *mut u8).write_volatile(1) };
        }
    }
    let round = || match process::fork() {
        Ok(0) => process::exit(0),
        Ok(pid) => {
            if process::wait4(pid as i32, 0).map(|r| r.map(|(_, s)| s)) != Ok(Some(0)) {
                println!("bench: the forked child failed");
                process::exit(1);
            }
        }
        Err(e) => {
            println!("bench: fork failed: {e:?}");
            process::exit(1);
        }
    };
    for _ in 0..3 {
        round();
    }
    let t0 = rdtsc();
    for _ in 0..FORK_ROUNDS {
        round();
    }
    let per_round = (rdtsc() - t0) / FORK_ROUNDS;
    for a in areas {
        heap::unmap(a, len).expect("unmap");
    }
    per_round
}

/// The fork rows, in a process of their own (no doors, no other threads).
fn forks() -> i32 {
    process::set_limit(0, limit::MEMORY, i64::MAX as u64).expect("memory for the fork rows");
    for mib in [1, 64] {
        println!(
            "BENCH fork_exit_wait_{mib}MiB_touched {} instructions",
            fork_exit_wait(mib)
        );
    }
    0
}

fn spawn_client(mode: &str, fds: &[i32]) {
    let pid = process::spawn_with_fds("bench", &["client", mode], fds).expect("spawn client");
    let (_, status) = process::wait(Some(pid)).expect("wait client");
    if status != 0 {
        println!("bench: client {mode} failed with {status}");
        process::exit(1);
    }
}

/// Instructions of one call of `f`.
fn one_call<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let t0 = rdtsc();
    let r = f();
    (rdtsc() - t0, r)
}

/// Where the server thread of the largest door call runs: an area of
/// twice `DOOR_DATA_MAX` (two `mem_map` areas side by side), as (base,
/// length).
static LARGEST_AREA: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// A create procedure that makes no thread: the largest door call's
/// private pool has only the thread [`largest_door_call`] gives it.
extern "C" fn no_threads(_: *mut door_info_t) {}

/// The echo server of the largest door call: returns its arguments, and
/// parks again on its large area.
extern "C" fn largest_echo(
    _: *mut c_void,
    argp: *mut u8,
    size: usize,
    _: *mut door_desc_t,
    _: u32,
) {
    let [base, len] = LARGEST_AREA.each_ref().map(|a| a.load(Ordering::Relaxed));
    door::door_return_on(argp, size, null_mut(), 0, base, len);
}

/// Instructions of one door call (within this process, to a private door
/// served on a large area) carrying `DOOR_DATA_MAX` bytes of arguments
/// and as many of results: the longest system call there is.
fn largest_door_call() -> u64 {
    let len = DOOR_DATA_MAX as usize;
    let map = |fixed| userland::heap::map(len, fixed).expect("a 16 MiB area");
    let (data, results) = (map(0), map(0));
    let base = map(0);
    map(base + len);
    LARGEST_AREA[0].store(base, Ordering::Relaxed);
    LARGEST_AREA[1].store(2 * len, Ordering::Relaxed);
    let default = door::door_server_create(Some(no_threads));
    let d = door::door_create(largest_echo, null_mut(), DOOR_PRIVATE);
    door::door_server_create(default);
    thread::spawn_with_stack(SMALL_STACK, move || {
        door::door_bind(d);
        door::door_return_on(null_mut(), 0, null_mut(), 0, base, 2 * len);
        0
    })
    .expect("server thread");
    let call = || {
        let mut arg = door_arg_t {
            data_ptr: data as u64,
            data_size: len as u64,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: results as u64,
            rsize: len as u64,
        };
        let called = door::door_call(d, &mut arg);
        if called != 0 || (arg.rbuf, arg.data_size) != (results as u64, len as u64) {
            println!("bench: the door call of 16 MiB failed: {}", door::errno());
            process::exit(1);
        }
    };
    // The first call waits for the thread to park; the second is measured.
    call();
    let (cost, ()) = one_call(call);
    // The server thread stays parked on its area (its frames are there)
    // until this process ends.
    door::door_revoke(d);
    for area in [data, results] {
        userland::heap::unmap(area, len).expect("unmap");
    }
    cost
}

/// The longest single native system calls: how long one call can hold the
/// CPU with interrupts off.
fn longest_calls() {
    let len = MEM_MAP_MAX as usize;
    let (map, area) = one_call(|| userland::heap::map(len, 0).expect("a 16 MiB area"));
    let (unmap, r) = one_call(|| userland::heap::unmap(area, len));
    r.expect("unmap");
    println!("BENCH syscall_mem_map_16MiB {map} instructions");
    println!("BENCH syscall_mem_unmap_16MiB {unmap} instructions");
    let path = "/tmp/bench-io";
    let f = fs::open(path, O_CREAT | O_RDWR, 0o600).expect("a file");
    let mut buf = alloc::vec![7u8; IO_MAX];
    let (write, n) = one_call(|| write_fd(f, &buf));
    assert_eq!(n, Ok(IO_MAX));
    fs::lseek(f, 0, userland::abi::fs::SEEK_SET).expect("seek");
    let (read, n) = one_call(|| read_fd(f, &mut buf));
    assert_eq!(n, Ok(IO_MAX));
    close(f).expect("close");
    fs::unlink(path).expect("unlink");
    println!("BENCH syscall_write_256KiB_file {write} instructions");
    println!("BENCH syscall_read_256KiB_file {read} instructions");
    println!(
        "BENCH syscall_door_call_16MiB {} instructions",
        largest_door_call()
    );
}

fn main() -> i32 {
    match arg(1) {
        Some("client") => return client(arg(2).unwrap_or("null")),
        Some("busy") => return busy(),
        Some("echo") => return echo(),
        Some("idle") => return idle(),
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

    copies();
    longest_calls();

    let first = door::door_create(null_server, null_mut(), 0);
    println!(
        "BENCH door_null_same_process {} instructions",
        null_calls(&[first], ROUNDS)
    );
    let echo = door::door_create(echo_server, null_mut(), 0);
    spawn_client("null", &[first, echo]);
    door::door_revoke(echo);
    spawn_client("busy", &[first]);
    pipes();
    spawn_client("fork", &[]);

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
    loaded(&doors);
    0
}
