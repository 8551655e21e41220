//! Hostile programs: the syscall fuzz campaign (`userland/src/bin/fuzz/`),
//! and the scenarios that broke the kernel before: user RFLAGS on every
//! kernel entry, `sysretq` to a non-canonical address, LDT selectors,
//! automatic mappings beside fixed ones, limits too large to read back, a
//! door attached over a removed directory.

use qemu::{Outcome, Run, test_program, test_run, test_timeout};

/// Calls each campaign boot makes (spread over 3 worker processes of 3
/// threads each, beside live door servers, wild children, mortal workers
/// and pipe children).
const CALLS: u64 = 200_000;

/// Boots one fuzz campaign under `-icount` (so it is the same run every
/// time, and a failure replays exactly) and expects it to find nothing:
/// no finding, no kernel failure, no leak. A campaign is the longest boot
/// of the suite (about half the default timeout on an idle machine), so it
/// gets three times the default: a busy machine slows it, never a hang,
/// which still ends it.
fn campaign(seed: u64) {
    let (seed_arg, calls_arg) = (seed.to_string(), CALLS.to_string());
    let report = test_run(Run {
        icount: true,
        timeout: Some(test_timeout() * 3),
        ..Run::new(&["fuzz", &seed_arg, &calls_arg])
    });
    if report.outcome != Outcome::Success {
        eprintln!("replay: cargo run -- --icount fuzz {seed} {CALLS}");
    }
    report
        .expect_success()
        .assert_line(&format!("fuzz: seed {seed}: {CALLS} calls and "))
        .assert_line("fuzz: ok");
}

#[test]
fn fuzz_seed_1() {
    campaign(1);
}

#[test]
fn fuzz_seed_2() {
    campaign(2);
}

#[test]
fn fuzz_seed_3() {
    campaign(3);
}

/// NT and AC set by a program survive no entry into the kernel (syscall,
/// timer interrupt, fault), and TF on a syscall traps in user mode.
#[test]
fn userflags() {
    test_program("userflags", &[])
        .expect_success()
        .assert_line("userflags: syscalls with NT|AC set: ok")
        .assert_line("userflags: timer interrupts with NT|AC set: ok")
        .assert_line("userflags: faults with NT|AC set: ok")
        .assert_line("userflags: syscall with TF set: ok");
}

/// The last user page cannot be mapped, so no `syscall` returns to the
/// non-canonical address after it; the page below still works.
#[test]
fn toppage() {
    test_program("toppage", &[])
        .expect_success()
        .assert_line("toppage: the top page is refused: ok")
        .assert_line("toppage: syscall at the end of the page below: #PF in user mode: ok");
}

/// LDT selectors fault (#GP): the CPU never reads descriptors from user
/// memory at the reset LDT base 0.
#[test]
fn ldt() {
    test_program("ldt", &[])
        .expect_success()
        .assert_line("ldt: ok");
}

/// Automatic mappings (and thread stacks, door result areas) find room
/// around a fixed mapping placed where the next one would go.
#[test]
fn automap() {
    test_program("automap", &[])
        .expect_success()
        .assert_line("automap: ok");
}

/// A limit above `i64::MAX`, which `get_limit` could not return, is
/// refused (EINVAL) even for euid 0, and the limit stays as it was.
#[test]
fn hugelimit() {
    test_program("hugelimit", &[])
        .expect_success()
        .assert_line("hugelimit: ok");
}

/// `fattach` over a removed directory (a current one, named `.`) is
/// ENOENT; the door reference an attachment there held used to leak with
/// the node (init's leak check: doors).
#[test]
fn attachgone() {
    test_program("attachgone", &[])
        .expect_success()
        .assert_line("attachgone: ok");
}
