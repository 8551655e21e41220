//! User RFLAGS never reach kernel code: a program sets NT (nested task) and
//! AC (alignment check) with `popfq` and enters the kernel every way it
//! can — by `syscall`, by a timer interrupt while it spins, and by a fault —
//! and each time the kernel goes on to switch to another thread that was
//! preempted (and so returns to user mode through `iretq`, which takes a
//! #GP in ring 0 when NT is set). The flags must also come back unchanged
//! to the program after a system call. A `syscall` with TF set single-steps
//! into user mode only (the child is killed with #DB), never the kernel.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use userland::abi::{KILLED_BASE, Sys};
use userland::testkit::{expect_eq, fail, spawn, verdict};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

/// RFLAGS bits: trap (single-step), nested task, alignment check.
const TF: u64 = 1 << 8;
const NT: u64 = 1 << 14;
const AC: u64 = 1 << 18;

/// Counts the spinner's loop iterations (so others see it ran).
static SPINS: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// A thread that never makes a system call: every switch away from it is a
/// timer preemption, so every switch back returns through `iretq`.
fn start_spinner() -> thread::JoinHandle {
    STOP.store(false, SeqCst);
    thread::spawn(|| {
        while !STOP.load(SeqCst) {
            SPINS.fetch_add(1, SeqCst);
        }
        0
    })
    .expect("spawn spinner")
}

/// Issues `call` with `flags` set in RFLAGS around the `syscall`; returns
/// the result and the RFLAGS seen right after it (cleared again before
/// returning to Rust code).
fn syscall_with_flags(call: Sys, arg0: usize, flags: u64) -> (isize, u64) {
    let ret: isize;
    let after: u64;
    // SAFETY: only RFLAGS bits that compiled code does not depend on are
    // set (NT, AC), and they are cleared before the block ends; the system
    // call itself clobbers rcx and r11 as declared.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], {flags}",
            "popfq",
            "syscall",
            "pushfq",
            "pop {after}",
            "pushfq",
            "and qword ptr [rsp], {clear}",
            "popfq",
            flags = in(reg) flags,
            clear = in(reg) !flags,
            after = out(reg) after,
            inlateout("rax") call.number() as isize => ret,
            in("rdi") arg0,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    (ret, after)
}

/// Spins with `flags` set until the spinner has run `rounds` more times
/// than now, which takes timer preemptions of this thread (each an
/// interrupt entry with the flags set) and switches to the spinner.
fn spin_with_flags(flags: u64, rounds: u64) {
    let target = SPINS.load(SeqCst) + rounds;
    // SAFETY: as in `syscall_with_flags`: only NT and AC, cleared again
    // before the block ends; the loop only reads memory.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], {flags}",
            "popfq",
            "2:",
            "cmp [{spins}], {target}",
            "jb 2b",
            "pushfq",
            "and qword ptr [rsp], {clear}",
            "popfq",
            flags = in(reg) flags,
            clear = in(reg) !flags,
            spins = in(reg) SPINS.as_ptr(),
            target = in(reg) target,
        );
    }
}

/// Child: sets NT and AC and executes `ud2`; the kernel kills it (#UD).
fn fault_with_flags() -> ! {
    // SAFETY: the process ends at `ud2`; nothing runs with the flags set.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], {flags}",
            "popfq",
            "ud2",
            flags = in(reg) NT | AC,
            options(noreturn)
        )
    }
}

/// Child: sets TF right before a `syscall`; the single-step trap after it
/// must hit the child in user mode (#DB), not the kernel.
fn syscall_with_trap_flag() -> i32 {
    syscall_with_flags(Sys::GetPid, 0, TF);
    println!("userflags: single-stepping over a system call did not trap");
    1
}

fn expect_killed(what: &str, args: &[&str], vector: i32) {
    let Some(pid) = spawn(args, &[]) else { return };
    match process::wait(Some(pid)) {
        Ok((_, status)) => expect_eq(what, status, KILLED_BASE + vector),
        Err(e) => fail(format_args!("{what}: wait: {e:?}")),
    }
}

fn main() -> i32 {
    match arg(1) {
        Some("fault") => fault_with_flags(),
        Some("step") => return syscall_with_trap_flag(),
        _ => {}
    }
    let spinner = start_spinner();

    // By syscall: yields with NT and AC set switch to the preempted spinner.
    for round in 0..20 {
        let before = SPINS.load(SeqCst);
        let (ret, after) = syscall_with_flags(Sys::Yield, 0, NT | AC);
        expect_eq("yield with NT|AC", ret, 0);
        check!(
            after & (NT | AC) == NT | AC,
            "round {round}: RFLAGS {after:#x} after the syscall lost NT or AC"
        );
        if round == 19 {
            check!(SPINS.load(SeqCst) > before, "the spinner never ran");
        }
    }
    let (pid, _) = syscall_with_flags(Sys::GetPid, 0, NT | AC);
    expect_eq("getpid with NT|AC", pid as u32, process::getpid());
    println!("userflags: syscalls with NT|AC set: ok");

    // By timer interrupt: spin with the flags until the spinner ran in
    // between (several preemptions each way).
    for _ in 0..5 {
        spin_with_flags(NT | AC, 1000);
    }
    println!("userflags: timer interrupts with NT|AC set: ok");

    // By fault: the kernel kills the child and switches to another thread.
    for _ in 0..3 {
        expect_killed("ud2 with NT|AC", &["fault"], 6);
    }
    println!("userflags: faults with NT|AC set: ok");

    expect_killed("syscall with TF", &["step"], 1);
    println!("userflags: syscall with TF set: ok");

    STOP.store(true, SeqCst);
    expect_eq("spinner", spinner.join().ok(), Some(0));
    verdict(true)
}
