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
//! The exit code: the first program in plan order that did not pass decides
//! (not started, killed after a fault, leaked, or its exit status); when
//! every program passed, a leak of the whole run still fails it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use userland::abi::fs::O_RDWR;
use userland::abi::{
    BOOT_ARGS_FILE, BOOT_ARGS_TOGETHER, BOOT_DIR, INIT_NO_LEAKS, INIT_RESULT, INIT_START,
    KILLED_BASE, Sys, exit_code, kstat, verdict,
};
use userland::sys::{rdtsc, syscall1};
use userland::{fs, println, process};

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
    Leak,
    Status(i32),
}

impl End {
    fn of(status: i32, leaked: bool) -> End {
        match status {
            0 if leaked => End::Leak,
            0 => End::Pass,
            s if (KILLED_BASE..KILLED_BASE + 32).contains(&s) => End::Fault,
            s => End::Status(s),
        }
    }

    fn verdict(self) -> &'static str {
        match self {
            End::Pass => verdict::PASS,
            End::NotStarted => verdict::NOT_STARTED,
            End::Fault => verdict::FAULT,
            End::Leak => verdict::LEAK,
            End::Status(_) => verdict::FAIL,
        }
    }

    fn exit_code(self) -> u32 {
        match self {
            End::Pass => exit_code::SUCCESS,
            End::NotStarted => exit_code::NOT_STARTED,
            End::Fault => exit_code::KILLED,
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
        let status = match process::wait(p.pid) {
            Ok((_, status)) => status,
            Err(e) => {
                println!("init: lost program {}: {e:?}", p.index);
                shutdown(exit_code::FAILURE);
            }
        };
        let tsc = rdtsc() - t0;
        text.clear();
        let leaked = leaks(&before, &counters(), &mut text);
        let end = End::of(status, leaked);
        report(p, end, status, &text, tsc);
        ends.push(end);
    }
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
    let mut programs: Vec<Program> = lines
        .filter(|l| *l != BOOT_ARGS_TOGETHER)
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
    let before = counters();
    if all_together {
        together(&mut programs, &mut ends);
    } else {
        one_after_another(&mut programs, &mut ends);
    }
    let leaked = leaks(&before, &counters(), &mut text);
    if leaked {
        println!("init: leak: {text} (after all programs, against before the first)");
    } else {
        println!(
            "{INIT_NO_LEAKS} (processes, threads, frames, doors, descriptors, open files, pipes back to their starting counts)"
        );
    }
    let first_failure = ends.iter().copied().find(|e| *e != End::Pass);
    let code = match first_failure {
        Some(end) => end.exit_code(),
        None if leaked => exit_code::LEAK,
        None => exit_code::SUCCESS,
    };
    shutdown(code)
}
