//! fuzz: a hostile campaign against the kernel, deterministic by seed.
//!
//! `fuzz SEED CALLS` is the coordinator: it makes the fuzz area
//! ([`area`]), serves live doors ([`servers`]), starts [`WORKERS`] copies
//! of itself in worker mode, each with [`THREADS`] fuzz threads issuing
//! CALLS random system calls in all (drawn from the one [`table`], with
//! boundary values: bad, read-only, misaligned and page-straddling
//! pointers, huge sizes, forged, closed and valid descriptors of every
//! kind, paths of every class, corrupt `door_arg_t` and descriptor arrays,
//! `door_return` from threads that serve nothing) beside their own door
//! servers, and meanwhile starts "wild" children ([`wild`]) that jump to
//! random addresses with random registers and must be killed with a fault
//! report, "mortal" workers that exit part-way through, and pipe children
//! ([`piper`]) that block on pipes. The last worker (and every other
//! mortal one) runs as user 1000, so permission checks have one answer.
//! Each fuzz thread has its own generator seeded from SEED, so a seed
//! makes the same random choices; under `--icount` the whole run repeats
//! exactly. At the end the coordinator removes the fuzz area, which must
//! leave nothing behind.
//!
//! A finding prints `fuzz: FINDING (seed SEED): ...` with the call that
//! showed it: a result a call cannot have (success with invalid
//! arguments, an unknown error number, a wrong value, changed flags), a
//! wild child that ended otherwise than killed with the expected vector,
//! a worker or pipe child that failed, or a fuzz thread that made no
//! progress for [`STALL_TICKS`] (the watchdog). A kernel panic or a leak
//! after the run (init's check) fails the boot itself; the first line of
//! the log names the seed.
//!
//! Other modes: `fuzz worker SEED INDEX CALLS`, `fuzz mortal SEED INDEX
//! CALLS`, `fuzz wild SEED INDEX`, `fuzz pipes SEED INDEX`, `fuzz
//! pipe-peer SEED INDEX ROUND`, and `fuzz quick` (exits 0 at once: what
//! fuzzed `spawn`s start).
#![no_std]
#![no_main]

extern crate alloc;

mod area;
mod calls;
mod door_calls;
mod dup_calls;
mod fd_calls;
mod fds;
mod fill;
mod fuzzer;
mod mem;
mod model;
mod own;
mod path_calls;
mod paths;
mod piper;
mod process_calls;
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
use userland::abi::kstat::{DOOR_FAST_PATHS, TIMER_TICKS};
use userland::abi::{KILLED_BASE, limit};
use userland::door::{DOOR_UNREF, door_create, door_revoke};
use userland::{println, process, thread};

userland::entry!(main);

/// Worker processes, and fuzz threads in each.
pub const WORKERS: u64 = 3;
pub const THREADS: usize = 3;
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
        ["pipes", seed, index] => match (num(seed), num(index)) {
            (Some(seed), Some(index)) => piper::run(seed, index),
            _ => usage(),
        },
        ["pipe-peer", seed, index, round] => match (num(seed), num(index), num(round)) {
            (Some(seed), Some(index), Some(round)) => piper::run_peer(seed, index, round),
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
/// above [`MORTAL`], pipe children above [`PIPES`]) and since when.
static WAITING: AtomicU64 = AtomicU64::new(0);
static WAITING_SINCE: AtomicU64 = AtomicU64::new(0);
const MORTAL: u64 = 1 << 32;
const PIPES: u64 = 2 << 32;

fn coordinator(seed: u64, calls: u64) -> i32 {
    let wild_children = 8 + calls / 20_000;
    println!(
        "fuzz: seed {seed}: {calls} calls by {WORKERS} workers x {THREADS} threads, \
         {wild_children} wild children (replay: cargo run -- --icount fuzz {seed} {calls}; \
         exactly this run if it had --icount too)"
    );
    servers::SEED.store(seed, Relaxed);
    servers::STREAM.store(seed, Relaxed);
    if let Err(e) = area::make_root() {
        finding(seed, format_args!("making {}: {e:?}", paths::FUZZ_DIR));
        return 1;
    }
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
        run_pipes(seed, index);
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
    if let Err(e) = area::remove_tree(paths::FUZZ_DIR) {
        finding(seed, format_args!("removing the fuzz area: {e}"));
    }
    let elapsed = ticks() - start;
    let fast = fast_paths() - fast_before;
    let findings = FINDINGS.load(Relaxed);
    println!(
        "fuzz: seed {seed}: {calls} calls and {killed}/{wild_children} wild children killed as \
         expected, {} mortal workers, {wild_children} pipe children, {fast} door legs on the \
         fast path, in {elapsed} ticks; {findings} findings",
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
    let area = paths::area(WORKERS as usize + index as usize);
    if let Err(e) = area::remove_tree(&area) {
        finding(
            seed,
            format_args!("removing mortal worker {index}'s area: {e}"),
        );
    }
}

/// Runs pipe child `index`, which must end with status 0.
fn run_pipes(seed: u64, index: u64) {
    let (s, i) = (alloc::format!("{seed}"), alloc::format!("{index}"));
    match run_child(seed, &["pipes", &s, &i], &[], PIPES + index + 1) {
        Some(0) | None => {}
        Some(status) => finding(
            seed,
            format_args!("pipe child {index} ended with status {status}"),
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
                w if w > PIPES => ("pipe child", w - PIPES - 1),
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

/// A worker: its area, fuzz threads, its own door servers, a watchdog.
/// A mortal one (its index counted after the others') exits from its
/// first fuzz thread part-way through. The last worker and the odd mortal
/// ones run as user 1000.
fn worker(seed: u64, index: u64, calls: u64, mortal: bool) -> i32 {
    let unprivileged = match mortal {
        true => index % 2 == 1,
        false => index == WORKERS - 1,
    };
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
    if let Err(e) = area::make_area(index as usize, THREADS, unprivileged) {
        finding(seed, format_args!("worker {index}: making its area: {e}"));
        return 1;
    }
    // The coordinator's doors, and one of its own (so its shared pool has
    // a server thread before the fuzzing takes memory).
    let own = door_create(servers::serve, servers::CHAOS as *mut c_void, 0);
    for fd in [0, 1, 2, 3, own] {
        fds::anchor(fd);
        fds::add(&mut rng, fd);
    }
    // Every thread's own descriptors are opened before any fuzzing (which
    // changes the umask and closes descriptors at random).
    let mut contexts = Vec::new();
    for slot in 0..THREADS {
        let scratch = Scratch::map(slot).expect("scratch area");
        let calls = share(calls, THREADS as u64, slot as u64);
        let mut ctx = Ctx::new(seed, index as usize, slot, scratch, unprivileged);
        ctx.exit_at = (mortal && slot == 0).then(|| rng.below(calls));
        ctx.fill_at = (!mortal && slot == 0).then(|| rng.below(calls));
        ctx.setup_own(own);
        contexts.push((ctx, calls));
    }
    let mut threads = Vec::new();
    for (mut ctx, calls) in contexts {
        let fuzz = thread::spawn(move || {
            ctx.run(calls);
            ctx.failed
        });
        threads.push(fuzz.expect("fuzz thread"));
    }
    thread::spawn(move || watch(seed, index)).expect("watchdog");
    let failed: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
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
