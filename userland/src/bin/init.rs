//! init, process 1: opens the console as its descriptors 0, 1 and 2, runs
//! the plan in the boot archive's `boot.args` (`/bin/boot.args`: one
//! program per line, name and arguments), one program after another, or
//! all at once when the plan has the `@together` line, and turns the
//! result into the QEMU exit code. Each program gets the console as its
//! descriptors 0, 1 and 2 and starts in `/`. A plan's names are archive
//! members: a bare name is a program of `/bin`, a name with a `/` a path
//! under `/bin`.
//!
//! For each program it prints a `START` line as it starts it and a `RESULT`
//! line when it is gone (format: `abi::INIT_RESULT`), so a log can be
//! split per program and graded line by line. It also checks that the
//! programs leaked nothing: the kernel's counts of processes, threads,
//! free physical frames, doors, descriptors, open files and pipes must be
//! back where they were, after each program when they run one after
//! another and after all of them in any case. What persists by design is
//! left out: files (their frames count as free; a file left in `/tmp`
//! stays, as on a disk) and doors that only fattach attachments hold (an
//! attachment persists like a mount until `fdetach`).
//!
//! init adopts the orphans programs leave (as every Unix init does) and
//! reaps them; one still running when its program's leak check comes is
//! that program's leak.
//!
//! The exit code: the first program in plan order that did not pass decides
//! (not started, killed after a fault, terminated by a signal, leaked, or
//! its exit status); when every program passed, a leak of the whole run
//! still fails it.
//!
//! With an `@trace` line in the plan (`abi::trace::BOOT_ARGS_TRACE`), init
//! has the kernel record events from before the first program until after
//! the last, then prints the records (`abi::trace`) before shutting down.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use userland::abi::fs::O_RDWR;
use userland::abi::signal::{SIGRT_LAST, wait::WNOHANG};
use userland::abi::trace::{self, BOOT_ARGS_RECORDS, BOOT_ARGS_SYSCALLS, BOOT_ARGS_TRACE, Record};
use userland::abi::{
    BOOT_ARGS_FILE, BOOT_ARGS_TOGETHER, BOOT_DIR, DEBUG_WRITE_MAX, INIT_NO_LEAKS, INIT_RESULT,
    INIT_START, KILLED_BASE, SIGNALED_BASE, Sys, exit_code, kstat, verdict,
};
use userland::sys::{check, rdtsc, syscall, syscall1};
use userland::{fs, io, println, process};

userland::entry!(main);

/// The descriptors every program gets: the console as 0, 1 and 2.
const STDIO: [i32; 3] = [0, 1, 2];

fn shutdown(code: u32) -> ! {
    syscall1(Sys::Shutdown, code as usize);
    process::exit(1)
}

/// Opens the console as descriptors 0, 1 and 2 (one open file, as a
/// terminal's). Without them, output goes through `debug_write`.
fn open_console() {
    let opened = fs::open("/dev/console", O_RDWR, 0).and_then(|fd| {
        let out = fs::dup(fd)?;
        let err = fs::dup(fd)?;
        Ok([fd, out, err])
    });
    if opened != Ok(STDIO) {
        println!("init: /dev/console did not open as 0, 1, 2: {opened:?}");
        shutdown(exit_code::FAILURE);
    }
}

/// A counter: its name in result lines and how to read it.
type Counter = (&'static str, fn() -> u64);

/// The kernel counters that must return to their starting values.
const COUNTERS: [Counter; 7] = [
    ("processes", || count(kstat::PROCESSES)),
    ("threads", || count(kstat::THREADS)),
    // Frames holding file data count as free: files persist.
    ("free_frames", || {
        count(kstat::FREE_FRAMES) + count(kstat::FILE_PAGES)
    }),
    // Doors only attachments hold are not leaks: attachments persist.
    ("doors", || {
        count(kstat::DOORS) - count(kstat::ATTACHED_DOORS)
    }),
    ("descriptors", || count(kstat::DESCRIPTORS)),
    ("open_files", || count(kstat::OPEN_FILES)),
    ("pipes", || count(kstat::PIPES)),
];

type Counts = [u64; COUNTERS.len()];

fn count(which: usize) -> u64 {
    process::kstat(which).unwrap_or(u64::MAX)
}

fn counters() -> Counts {
    COUNTERS.map(|(_, get)| get())
}

/// Writes `counter:±n` for each counter that changed (`after - before`:
/// free frames count down when frames leak), or `none`, into `out`;
/// returns whether any changed.
fn leaks(before: &Counts, after: &Counts, out: &mut String) -> bool {
    let start = out.len();
    for (i, (what, _)) in COUNTERS.iter().enumerate() {
        if before[i] != after[i] {
            let sep = if out.len() > start { "," } else { "" };
            let diff = after[i] as i64 - before[i] as i64;
            let _ = write!(out, "{sep}{what}:{diff:+}");
        }
    }
    if out.len() == start {
        out.push_str("none");
        return false;
    }
    true
}

/// One line of the plan.
struct Program<'a> {
    /// 1-based position in the plan.
    index: usize,
    /// The whole line: name and arguments.
    line: &'a str,
    pid: Option<u32>,
}

/// How a program ended, in the exit-code order of precedence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Pass,
    NotStarted,
    Fault,
    Killed,
    Leak,
    Status(i32),
}

impl End {
    fn of(status: i32, leaked: bool) -> End {
        match status {
            0 if leaked => End::Leak,
            0 => End::Pass,
            s if (KILLED_BASE..KILLED_BASE + 32).contains(&s) => End::Fault,
            s if (SIGNALED_BASE + 1..=SIGNALED_BASE + SIGRT_LAST).contains(&s) => End::Killed,
            s => End::Status(s),
        }
    }

    fn verdict(self) -> &'static str {
        match self {
            End::Pass => verdict::PASS,
            End::NotStarted => verdict::NOT_STARTED,
            End::Fault => verdict::FAULT,
            End::Killed => verdict::KILLED,
            End::Leak => verdict::LEAK,
            End::Status(_) => verdict::FAIL,
        }
    }

    fn exit_code(self) -> u32 {
        match self {
            End::Pass => exit_code::SUCCESS,
            End::NotStarted => exit_code::NOT_STARTED,
            End::Fault => exit_code::KILLED,
            End::Killed => exit_code::SIGNALED,
            End::Leak => exit_code::LEAK,
            End::Status(s) => exit_code::for_status(s),
        }
    }
}

fn start(p: &mut Program) -> Result<(), String> {
    println!("{INIT_START}{} cmd={}", p.index, p.line);
    let mut words = p.line.split_whitespace();
    let name = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let path = match name.contains('/') && !name.starts_with('/') {
        true => format!("{BOOT_DIR}/{name}"),
        false => String::from(name),
    };
    match process::spawn_with_fds(&path, &args, &STDIO) {
        Ok(pid) => {
            p.pid = Some(pid);
            Ok(())
        }
        Err(e) => Err(String::from(e.name())),
    }
}

fn report_not_started(p: &Program, error: &str) {
    println!(
        "{INIT_RESULT}{} {} status=- leaks=unchecked tsc=- error={error} cmd={}",
        p.index,
        verdict::NOT_STARTED,
        p.line
    );
}

fn report(p: &Program, end: End, status: i32, leaks: &str, tsc: u64) {
    println!(
        "{INIT_RESULT}{} {} status={status} leaks={leaks} tsc={tsc} cmd={}",
        p.index,
        end.verdict(),
        p.line
    );
}

/// Runs the programs one after another, each with its own leak check.
fn one_after_another(programs: &mut [Program], ends: &mut Vec<End>) {
    let mut text = String::with_capacity(128);
    for p in programs.iter_mut() {
        let before = counters();
        let t0 = rdtsc();
        if let Err(e) = start(p) {
            report_not_started(p, &e);
            ends.push(End::NotStarted);
            continue;
        }
        let status = loop {
            match process::wait(None) {
                Ok((pid, status)) if Some(pid) == p.pid => break status,
                Ok(_) => {} // an orphan init adopted
                Err(e) => {
                    println!("init: lost program {}: {e:?}", p.index);
                    shutdown(exit_code::FAILURE);
                }
            }
        };
        let tsc = rdtsc() - t0;
        reap_orphans();
        text.clear();
        let leaked = leaks(&before, &counters(), &mut text);
        let end = End::of(status, leaked);
        report(p, end, status, &text, tsc);
        ends.push(end);
    }
}

/// Reaps the orphans init adopted that have exited (the processes a
/// program's children left behind).
fn reap_orphans() {
    while let Ok(Some(_)) = process::wait4(-1, WNOHANG) {}
}

/// Starts every program, then reports each as it exits.
fn together(programs: &mut [Program], ends: &mut Vec<End>) {
    ends.resize(programs.len(), End::Pass);
    let t0 = rdtsc();
    let mut running = 0;
    for (i, p) in programs.iter_mut().enumerate() {
        match start(p) {
            Ok(()) => running += 1,
            Err(e) => {
                report_not_started(p, &e);
                ends[i] = End::NotStarted;
            }
        }
    }
    while running > 0 {
        let Ok((pid, status)) = process::wait(None) else {
            break;
        };
        let Some(i) = programs.iter().position(|p| p.pid == Some(pid)) else {
            continue;
        };
        running -= 1;
        let end = End::of(status, false);
        report(&programs[i], end, status, "unchecked", rdtsc() - t0);
        ends[i] = end;
    }
}

/// `trace(op, a, b, c)`.
fn trace(op: usize, a: usize, b: usize, c: usize) -> Result<usize, userland::Errno> {
    check(syscall(Sys::Trace, [op, a, b, c, 0, 0]))
}

/// Starts tracing as the plan's `@trace` line asks (`line` without the
/// directive): `syscalls`, `records=N`. Whether it started.
fn start_trace(words: &str) -> bool {
    let mut flags = 0;
    let mut records = 0;
    for word in words.split_whitespace() {
        match word.strip_prefix(BOOT_ARGS_RECORDS) {
            Some(n) => records = n.parse().unwrap_or(usize::MAX),
            None if word == BOOT_ARGS_SYSCALLS => flags |= trace::SYSCALLS as usize,
            None => println!("init: trace: unknown option `{word}`"),
        }
    }
    match trace(trace::op::START, records, flags, 0) {
        Ok(_) => true,
        Err(e) => {
            println!("init: trace: cannot start: {}", e.name());
            false
        }
    }
}

/// Stops tracing and prints the records (`abi::trace`), in as few console
/// writes as fit.
fn dump_trace() {
    let held = trace(trace::op::STOP, 0, 0, 0).unwrap_or(0);
    let lost = trace(trace::op::LOST, 0, 0, 0).unwrap_or(0);
    println!("{}{} records={held} lost={lost}", trace::LINE, trace::BEGIN);
    let mut records = alloc::vec![Record::default(); 512];
    let mut text = String::with_capacity(2 * DEBUG_WRITE_MAX);
    let mut from = 0;
    while from < held {
        let ptr = records.as_mut_ptr() as usize;
        let n = match trace(trace::op::READ, ptr, records.len(), from) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for r in &records[..n] {
            let _ = writeln!(text, "{}{r}", trace::LINE);
            if text.len() >= DEBUG_WRITE_MAX {
                let _ = io::write(text.as_bytes());
                text.clear();
            }
        }
        from += n;
    }
    let _ = io::write(text.as_bytes());
    println!("{}{}", trace::LINE, trace::END);
}

fn main() -> i32 {
    open_console();
    let plan = format!("{BOOT_DIR}/{BOOT_ARGS_FILE}");
    let Some(text) = fs::read(&plan).ok().and_then(|b| String::from_utf8(b).ok()) else {
        println!("init: no readable {plan} in the boot file system");
        shutdown(exit_code::NOT_STARTED);
    };
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let all_together = lines.clone().any(|l| l == BOOT_ARGS_TOGETHER);
    let trace_words = lines.clone().find_map(|l| {
        let (directive, rest) = l.split_once(' ').unwrap_or((l, ""));
        (directive == BOOT_ARGS_TRACE).then_some(rest)
    });
    let mut programs: Vec<Program> = lines
        .filter(|l| *l != BOOT_ARGS_TOGETHER && !l.starts_with(BOOT_ARGS_TRACE))
        .enumerate()
        .map(|(i, line)| Program {
            index: i + 1,
            line,
            pid: None,
        })
        .collect();
    if programs.is_empty() {
        println!("init: {BOOT_ARGS_FILE} names no program");
        shutdown(exit_code::NOT_STARTED);
    }
    let mut ends = Vec::with_capacity(programs.len());
    let mut text = String::with_capacity(128);
    let traced = trace_words.is_some_and(start_trace);
    let before = counters();
    if all_together {
        together(&mut programs, &mut ends);
    } else {
        one_after_another(&mut programs, &mut ends);
    }
    reap_orphans();
    let leaked = leaks(&before, &counters(), &mut text);
    if leaked {
        println!("init: leak: {text} (after all programs, against before the first)");
    } else {
        println!(
            "{INIT_NO_LEAKS} (processes, threads, frames, doors, descriptors, open files, pipes back to their starting counts)"
        );
    }
    if traced {
        dump_trace();
    }
    let first_failure = ends.iter().copied().find(|e| *e != End::Pass);
    let code = match first_failure {
        Some(end) => end.exit_code(),
        None if leaked => exit_code::LEAK,
        None => exit_code::SUCCESS,
    };
    shutdown(code)
}
