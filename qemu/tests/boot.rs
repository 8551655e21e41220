//! One test per user program: each boots the kernel in QEMU with that program
//! as the one init runs, and checks the outcome and the serial log. A hang
//! fails after `qemu::TEST_TIMEOUT` and shows the log.

use qemu::{Outcome, test_program};

#[test]
fn hello() {
    test_program("hello", &[])
        .expect_success()
        .assert_line("hello from ring 3");
}

/// The status a program exits with reaches the host through init and QEMU.
#[test]
fn exit_status() {
    test_program("exit_status", &["42"])
        .expect_outcome(Outcome::ProgramStatus(42))
        .expect_no_leaks();
}

/// Children that fault (#PF, #GP, #UD, divide error) are killed and reported;
/// the parent sees that and goes on.
#[test]
fn fault() {
    test_program("fault", &[])
        .expect_success()
        .assert_line("user fault");
}

/// A process cannot read another's memory or the kernel's.
#[test]
fn isolation() {
    test_program("isolation", &[]).expect_success();
}

#[test]
fn threads() {
    test_program("threads", &[]).expect_success();
}

#[test]
fn heap() {
    test_program("heap", &[]).expect_success();
}

/// Two processes run at once; a spinning one does not starve the other.
#[test]
fn preempt() {
    test_program("preempt", &[]).expect_success();
}

/// Bad syscall numbers and pointers get errors, not kernel faults.
#[test]
fn badsys() {
    test_program("badsys", &[]).expect_success();
}

/// FPU/SSE state survives switches between threads.
#[test]
fn fpu() {
    test_program("fpu", &[]).expect_success();
}

/// The demo `cargo run` boots: threads, a contained fault, and doors between
/// two processes (by descriptor and by path).
#[test]
fn demo() {
    test_program("demo", &[])
        .expect_success()
        .assert_line("demo: threads joined, results add up to 60")
        .assert_line("was killed (status 142)")
        .assert_line("hello, doors, from door server pid")
        .assert_line("demo: /tmp/demo.upper answered Ok(\"SHOUT\")");
}

/// Spawning stops with EAGAIN at the process limit and works again later.
#[test]
fn proclimit() {
    test_program("proclimit", &[])
        .expect_success()
        .assert_line("proclimit: ok");
}

#[test]
fn limits() {
    test_program("limits", &[])
        .expect_success()
        .assert_line("limits: ok");
}
