//! init, process 1: starts the programs named in the boot file system's
//! `boot.args` (one per line: name and arguments), waits for all of them,
//! and turns the first failing status (or success) into the QEMU exit code.
//!
//! It also checks that the programs leaked nothing: once they are all gone,
//! the kernel's counts of processes, threads, free physical frames, doors
//! and descriptors must
//! be back where they were before the first one started; if not, the run
//! fails with the kernel-failure code.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use userland::abi::{BOOT_ARGS_FILE, INIT_NO_LEAKS, Sys, exit_code, kstat};
use userland::sys::{check, syscall1, syscall4};
use userland::{println, process};

userland::entry!(main);

fn read_boot_args() -> Option<String> {
    let mut buf = alloc::vec![0u8; 4096];
    let name = BOOT_ARGS_FILE.as_bytes();
    let n = check(syscall4(
        Sys::BootfsRead,
        name.as_ptr() as usize,
        name.len(),
        buf.as_mut_ptr() as usize,
        buf.len(),
    ))
    .ok()?;
    buf.truncate(n.min(buf.len()));
    String::from_utf8(buf).ok()
}

fn shutdown(code: u32) -> ! {
    syscall1(Sys::Shutdown, code as usize);
    process::exit(1)
}

/// The kernel counters that must return to their starting values.
const COUNTERS: [(&str, usize); 5] = [
    ("processes", kstat::PROCESSES),
    ("threads", kstat::THREADS),
    ("free frames", kstat::FREE_FRAMES),
    ("doors", kstat::DOORS),
    ("descriptors", kstat::DESCRIPTORS),
];

fn counters() -> [u64; 5] {
    COUNTERS.map(|(_, which)| process::kstat(which).unwrap_or(u64::MAX))
}

fn main() -> i32 {
    let Some(text) = read_boot_args() else {
        println!("init: no {BOOT_ARGS_FILE} in the boot file system");
        shutdown(exit_code::FAILURE);
    };
    let mut running: Vec<(u32, String)> = Vec::with_capacity(text.lines().count());
    let before = counters();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match process::spawn(name, &args) {
            Ok(pid) => running.push((pid, String::from(line))),
            Err(e) => {
                println!("init: cannot start {name}: {e:?}");
                shutdown(exit_code::FAILURE);
            }
        }
    }
    let mut verdict = 0;
    while !running.is_empty() {
        let Ok((pid, status)) = process::wait(None) else {
            break;
        };
        let Some(i) = running.iter().position(|(p, _)| *p == pid) else {
            continue;
        };
        let (_, line) = running.swap_remove(i);
        println!("init: '{line}' (pid {pid}) exited with status {status}");
        if verdict == 0 {
            verdict = status;
        }
    }
    let after = counters();
    for (i, (what, _)) in COUNTERS.iter().enumerate() {
        if before[i] != after[i] {
            println!(
                "init: leak: {what} {} before the programs ran, {} after",
                before[i], after[i]
            );
            shutdown(exit_code::FAILURE);
        }
    }
    println!(
        "{INIT_NO_LEAKS} (processes, threads, frames, doors, descriptors back to their starting counts)"
    );
    shutdown(exit_code::for_status(verdict))
}
