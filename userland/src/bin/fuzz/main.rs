//! fuzz: a hostile campaign against the kernel, deterministic by seed.
//!
//! `fuzz SEED CALLS` is the coordinator: it serves live doors
//! ([`servers`]), starts [`WORKERS`] copies of itself in worker mode, each
//! with [`THREADS`] fuzz threads issuing CALLS random system calls in all
//! (drawn from the one [`table`], with boundary values: bad, read-only,
//! misaligned and page-straddling pointers, huge sizes, forged, closed and
//! valid descriptors, corrupt `door_arg_t` and descriptor arrays,
//! `door_return` from threads that serve nothing) beside their own door
//! servers, and meanwhile starts "wild" children ([`wild`]) that jump to
//! random addresses with random registers and must be killed with a fault
//! report, and "mortal" workers that exit part-way through. Each fuzz
//! thread has its own generator seeded from SEED, so a seed makes the same
//! random choices; under `--icount` the whole run repeats exactly.
//!
//! A finding prints `fuzz: FINDING (seed SEED): ...` with the call that
//! showed it: a result a call cannot have (success with invalid
//! arguments, an unknown error number, a wrong value, changed flags), a
//! wild child that ended otherwise than killed with the expected vector,
//! a worker that died, or a fuzz thread that made no progress for
//! [`STALL_TICKS`] (the watchdog). A kernel panic or a leak after the run
//! (init's check) fails the boot itself; the first line of the log names
//! the seed.
//!
//! Other modes: `fuzz worker SEED INDEX CALLS`, `fuzz mortal SEED INDEX
//! CALLS`, `fuzz wild SEED INDEX`, and `fuzz quick` (exits 0 at once: what
//! fuzzed `spawn`s start).
#![no_std]
#![no_main]

extern crate alloc;

mod calls;
mod door_calls;
mod fds;
mod fuzzer;
mod mem;
mod rng;
mod servers;
mod table;
mod wild;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use fuzzer::{Ctx, FINDINGS, MAX_THREADS, PROGRESS, finding};
use mem::Scratch;
use rng::{Rng, mix};
use spin::Mutex;
use userland::abi::kstat::{DOOR_FAST_PATHS, TIMER_TICKS};
use userland::abi::{KILLED_BASE, Sys, limit};
use userland::door::{DOOR_UNREF, door_create, door_revoke, seteuid};
use userland::sys::syscall2;
use userland::{println, process, thread};

userland::entry!(main);

/// Worker processes, and fuzz threads in each.
const WORKERS: u64 = 3;
const THREADS: usize = 3;
/// Each worker's cap on mapped memory ([`limit::MEMORY`]), so that the
/// workers leave memory for the rest.
pub const MEM_LIMIT: u64 = 32 << 20;
/// Ticks a fuzz thread or wild child may make no progress before the
/// watchdog reports it.
const STALL_TICKS: u64 = 1500;

const _: () = assert!(THREADS <= MAX_THREADS);

fn main() -> i32 {
    let args: Vec<&str> = userland::args().collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match args.get(1..).unwrap_or_default() {
        ["quick", ..] => 0,
        ["wild", seed, index] => match (num(seed), num(index)) {
            (Some(seed), Some(index)) => wild::run(seed, index),
            _ => usage(),
        },
        [mode @ ("worker" | "mortal"), seed, index, calls] => {
            match (num(seed), num(index), num(calls)) {
                (Some(seed), Some(index), Some(calls)) => {
                    worker(seed, index, calls, *mode == "mortal")
                }
                _ => usage(),
            }
        }
        [seed, calls] => match (num(seed), num(calls)) {
            (Some(seed), Some(calls)) => coordinator(seed, calls),
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> i32 {
    println!("usage: fuzz SEED CALLS");
    2
}

fn ticks() -> u64 {
    process::kstat(TIMER_TICKS).unwrap_or(0)
}

/// The share of `total` that part `index` of `parts` gets.
fn share(total: u64, parts: u64, index: u64) -> u64 {
    total / parts + u64::from(index < total % parts)
}

/// Calls of a mortal worker (it exits part-way through them).
const MORTAL_CALLS: u64 = 3000;

/// The child being waited for (index + 1, 0 for none; mortal workers
/// above [`MORTAL`]) and since when.
static WAITING: AtomicU64 = AtomicU64::new(0);
static WAITING_SINCE: AtomicU64 = AtomicU64::new(0);
const MORTAL: u64 = 1 << 32;

fn coordinator(seed: u64, calls: u64) -> i32 {
    let wild_children = 8 + calls / 20_000;
    println!(
        "fuzz: seed {seed}: {calls} calls by {WORKERS} workers x {THREADS} threads, \
         {wild_children} wild children (replay: cargo run -- --icount fuzz {seed} {calls}; \
         exactly this run if it had --icount too)"
    );
    servers::SEED.store(seed, Relaxed);
    servers::STREAM.store(seed, Relaxed);
    let start = ticks();
    let fast_paths = || process::kstat(DOOR_FAST_PATHS).unwrap_or(0);
    let fast_before = fast_paths();
    let kinds = [
        (servers::ECHO, 0),
        (servers::HUB, 0),
        (servers::SLOW, 0),
        (servers::ECHO, DOOR_UNREF),
    ];
    let doors: Vec<i32> = kinds
        .iter()
        .map(|&(kind, attrs)| door_create(servers::serve, kind as *mut c_void, attrs))
        .collect();
    let mut workers = Vec::new();
    for index in 0..WORKERS {
        let (s, i, c) = (
            alloc::format!("{seed}"),
            alloc::format!("{index}"),
            alloc::format!("{}", share(calls, WORKERS, index)),
        );
        match process::spawn_with_fds("fuzz", &["worker", &s, &i, &c], &doors) {
            Ok(pid) => workers.push((index, pid)),
            Err(e) => finding(seed, format_args!("could not start worker {index}: {e:?}")),
        }
    }
    thread::spawn(move || watch_children(seed)).expect("coordinator watchdog");
    let mut killed = 0;
    for index in 0..wild_children {
        killed += u64::from(run_wild(seed, index));
        if index % 2 == 1 {
            run_mortal(seed, index / 2, &doors);
        }
    }
    WAITING.store(0, Relaxed);
    for (index, pid) in workers {
        match process::wait(Some(pid)) {
            Ok((_, 0)) => {}
            Ok((_, status)) => finding(
                seed,
                format_args!("worker {index} (pid {pid}) ended with status {status}"),
            ),
            Err(e) => finding(seed, format_args!("waiting for worker {index}: {e:?}")),
        }
    }
    for fd in doors {
        door_revoke(fd);
    }
    let elapsed = ticks() - start;
    let fast = fast_paths() - fast_before;
    let findings = FINDINGS.load(Relaxed);
    println!(
        "fuzz: seed {seed}: {calls} calls and {killed}/{wild_children} wild children killed as \
         expected, {} mortal workers, {fast} door legs on the fast path, in {elapsed} ticks; \
         {findings} findings",
        wild_children / 2
    );
    if findings == 0 {
        println!("fuzz: ok");
        0
    } else {
        1
    }
}

/// Starts this program with `args` and descriptors `fds` (retrying while
/// memory or the process table is busy with the workers), marks it as
/// the child being waited for (`waiting`), and waits; its status.
fn run_child(seed: u64, args: &[&str], fds: &[i32], waiting: u64) -> Option<i32> {
    let pid = loop {
        match process::spawn_with_fds("fuzz", args, fds) {
            Ok(pid) => break pid,
            Err(_) => process::sleep_ticks(5),
        }
    };
    WAITING_SINCE.store(ticks(), Relaxed);
    WAITING.store(waiting, Relaxed);
    match process::wait(Some(pid)) {
        Ok((_, status)) => Some(status),
        Err(e) => {
            finding(
                seed,
                format_args!("waiting for {args:?} (pid {pid}): {e:?}"),
            );
            None
        }
    }
}

/// Runs mortal worker `index`: a worker that exits (from one of its fuzz
/// threads, while the others are in their calls) part-way through
/// [`MORTAL_CALLS`] calls. It must end with status 0.
fn run_mortal(seed: u64, index: u64, doors: &[i32]) {
    let (s, i, c) = (
        alloc::format!("{seed}"),
        alloc::format!("{index}"),
        alloc::format!("{MORTAL_CALLS}"),
    );
    let args = ["mortal", &s, &i, &c];
    match run_child(seed, &args, doors, MORTAL + index + 1) {
        Some(0) | None => {}
        Some(status) => finding(
            seed,
            format_args!("mortal worker {index} ended with status {status}"),
        ),
    }
}

/// Starts wild child `index` and checks how it ended; true if as expected.
fn run_wild(seed: u64, index: u64) -> bool {
    let (s, i) = (alloc::format!("{seed}"), alloc::format!("{index}"));
    let Some(status) = run_child(seed, &["wild", &s, &i], &[], index + 1) else {
        return false;
    };
    let plan = wild::plan(seed, index);
    let expected = KILLED_BASE + plan.vector();
    if status != expected {
        finding(
            seed,
            format_args!(
                "wild child {index} ended with status {status}, expected {expected}: {plan:x?}"
            ),
        );
    }
    status == expected
}

/// Reports a wild child or mortal worker that does not end (and ends the
/// campaign).
fn watch_children(seed: u64) -> u64 {
    loop {
        process::sleep_ticks(20);
        let waiting = WAITING.load(Relaxed);
        // Twice the workers' limit, so a stuck mortal worker's own
        // watchdog reports first, naming the call.
        if waiting > 0 && ticks() - WAITING_SINCE.load(Relaxed) > 2 * STALL_TICKS {
            let (what, index) = match waiting {
                w if w > MORTAL => ("mortal worker", w - MORTAL - 1),
                w => ("wild child", w - 1),
            };
            finding(
                seed,
                format_args!("{what} {index} did not end in {} ticks", 2 * STALL_TICKS),
            );
            process::exit(3);
        }
    }
}

/// Names fuzz threads attached doors to (detached at the end).
static ATTACHED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A worker: fuzz threads, its own door servers, a watchdog. A mortal one
/// (its index counted after the others') attaches no names (they would
/// outlive it) and exits from its first fuzz thread part-way through.
fn worker(seed: u64, index: u64, calls: u64, mortal: bool) -> i32 {
    let index = if mortal { WORKERS + index } else { index };
    let mut rng = Rng::new(mix(seed, index));
    servers::SEED.store(seed, Relaxed);
    servers::STREAM.store(mix(seed, index + 1), Relaxed);
    if let Err(e) = process::set_limit(0, limit::MEMORY, MEM_LIMIT) {
        finding(
            seed,
            format_args!("worker {index}: setting its memory limit: {e:?}"),
        );
    }
    // The coordinator's doors, and one of its own (so its shared pool has
    // a server thread before the fuzzing takes memory).
    let own = door_create(servers::serve, servers::CHAOS as *mut c_void, 0);
    for fd in [0, 1, 2, 3, own] {
        fds::anchor(fd);
        fds::add(&mut rng, fd);
    }
    let mut threads = Vec::new();
    for slot in 0..THREADS {
        let scratch = Scratch::map(slot).expect("scratch area");
        let calls = share(calls, THREADS as u64, slot as u64);
        let exit_at = (mortal && slot == 0).then(|| rng.below(calls));
        let fuzz = thread::spawn(move || {
            let mut ctx = Ctx::new(seed, index as usize, slot, scratch);
            ctx.names = !mortal;
            ctx.exit_at = exit_at;
            ctx.run(calls);
            ATTACHED.lock().append(&mut ctx.attached);
            ctx.failed
        });
        threads.push(fuzz.expect("fuzz thread"));
    }
    thread::spawn(move || watch(seed, index)).expect("watchdog");
    let failed: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    // Names outlive processes: take back every one attached (as root,
    // since the threads may have dropped privilege).
    seteuid(0);
    for path in ATTACHED.lock().drain(..) {
        syscall2(Sys::Fdetach, path.as_ptr() as usize, path.len());
    }
    let findings = FINDINGS.load(Relaxed);
    println!(
        "fuzz: worker {index}: {calls} calls ({failed} failed, as most should); {findings} findings"
    );
    i32::from(findings > 0)
}

/// The watchdog: reports a fuzz thread that makes no progress for
/// [`STALL_TICKS`], with the call it is in, and ends the worker.
fn watch(seed: u64, index: u64) -> u64 {
    let mut last = [(0, ticks()); THREADS];
    loop {
        process::sleep_ticks(20);
        let now = ticks();
        for (slot, (done, since)) in last.iter_mut().enumerate() {
            let p = &PROGRESS[slot];
            let now_done = p.done.load(Relaxed);
            if p.finished.load(Relaxed) || now_done != *done {
                (*done, *since) = (now_done, now);
            } else if now - *since > STALL_TICKS {
                let name = table::name(p.call.load(Relaxed));
                let args = p.args.each_ref().map(|a| a.load(Relaxed));
                finding(
                    seed,
                    format_args!(
                        "worker {index} thread {slot} (tid {}) made no progress for {STALL_TICKS} \
                         ticks, in call {now_done}: {name}({args:#x?})",
                        p.tid.load(Relaxed)
                    ),
                );
                process::exit(3);
            }
        }
    }
}
