//! Signal handlers of Linux programs: delivery on the way back to user
//! mode, the frame and `rt_sigreturn`, masks, interrupted and restarted
//! calls, faults caught by handlers, waiting for signals (sigwait,
//! sigtimedwait), what execve keeps, and hostile frames killed cleanly.
//! Every run also checks that nothing leaked.

use qemu::{Outcome, Verdict, test_program};

/// The C exercises (see `userland/c/c_signals.c`).
#[test]
fn c_signals() {
    let report = test_program("c_signals", &[]);
    report
        .expect_success()
        .assert_line("c_signals: SIGUSR1/SIGUSR2 ping-pong with sigsuspend ok")
        .assert_line("c_signals: alarm interrupts a pipe read (EINTR) ok")
        .assert_line("c_signals: a pipe read restarted with SA_RESTART ok")
        .assert_line("c_signals: pause and nanosleep interrupted ok")
        .assert_line("c_signals: wait4 restarted with SA_RESTART, else EINTR ok")
        .assert_line("c_signals: a SIGCHLD handler ok")
        .assert_line("c_signals: siglongjmp out of a SIGSEGV handler ok")
        .assert_line("c_signals: a handler that fixes the page re-runs the write ok")
        .assert_line("c_signals: a stack overflow caught on the alternate stack ok")
        .assert_line("c_signals: a handler on the alternate stack ok")
        .assert_line("c_signals: deferred signals with masks and sigpending ok")
        .assert_line("c_signals: SA_NODEFER nests, else the signal waits ok")
        .assert_line("c_signals: SA_RESETHAND runs the handler once ok")
        .assert_line("c_signals: registers and FPU state kept across handlers ok")
        .assert_line("c_signals: setuid with another thread alive ok")
        .assert_line("c_signals: sigwait in a thread takes a signal every thread blocks ok")
        .assert_line("c_signals: sigwaitinfo names the sender in another process ok")
        .assert_line("c_signals: sigtimedwait times out with EAGAIN, never early ok")
        .assert_line("c_signals: a {0, 0} poll takes what is pending, the thread's own first ok")
        .assert_line("c_signals: a handled signal interrupts sigtimedwait (EINTR) ok")
        .assert_line("c_signals: sigtimedwait's bad arguments ok")
        .assert_line(
            "c_signals exec: ignored stays ignored, handlers reset, mask and pending kept ok",
        )
        .assert_line("c_signals: execve keeps the mask, pending and ignored signals ok")
        .assert_line("c_signals: done");
    assert!(
        report.kernel_errors().is_empty(),
        "{:?}",
        report.kernel_errors()
    );
}

/// Real-time signals queue (see `userland/c/c_sigqueue.c`): sigqueue's
/// values one instance each in Linux's order, from another process and to
/// a thread, kill queueing them too, the system's bound, Linux's errors.
#[test]
fn c_sigqueue() {
    let report = test_program("c_sigqueue", &[]);
    report
        .expect_success()
        .assert_line("c_sigqueue: each instance once, in Linux's order, with its value ok")
        .assert_line("c_sigqueue: a handler runs once per instance, oldest first ok")
        .assert_line("c_sigqueue: kill queues a real-time signal too ok")
        .assert_line("c_sigqueue: another process's values arrive in order ok")
        .assert_line("c_sigqueue: rt_tgsigqueueinfo to a thread ok")
        .assert_line(&format!(
            "c_sigqueue: {} instances queue, then EAGAIN; kill then merges ok",
            abi::MAX_QUEUED_SIGNALS + 1
        ))
        .assert_line("c_sigqueue: a discarded signal's instances make room ok")
        .assert_line("c_sigqueue: Linux's errors ok")
        .assert_line("c_sigqueue: done");
    assert!(
        report.kernel_errors().is_empty(),
        "{:?}",
        report.kernel_errors()
    );
}

/// Hostile `rt_sigreturn` frames and actions: each child ends with
/// SIGSEGV and the kernel's report; a frame's flags are sanitised (TF is
/// allowed, as on Linux: it traps).
#[test]
fn c_sigreturn() {
    test_program("c_sigreturn", &[])
        .expect_success()
        .assert_line("rt_sigreturn: cannot read the frame at 0x8")
        .assert_line("rt_sigreturn: rip 0xffff800000000000 is not a user address")
        .assert_line("rt_sigreturn: MXCSR 0xffffffff has reserved bits set")
        .assert_line("rt_sigreturn: cannot read the FPU state")
        .assert_line("cannot deliver signal 10: the action has no SA_RESTORER")
        .assert_line("cannot deliver signal 10: handler address 0xffff800000000000")
        .assert_line("cannot deliver signal 10: cannot write the frame")
        .assert_line("c_sigreturn: hostile frames and actions end with SIGSEGV")
        .assert_line("#DB debug (vector 1)")
        .assert_line("c_sigreturn: a frame's flags are tamed")
        .assert_line("c_sigreturn: done");
}

/// Job control (see `userland/c/c_jobs.c`): stop signals stop a whole
/// process until SIGCONT, as waitpid (WUNTRACED, WCONTINUED) and SIGCHLD
/// report; handled, ignored, blocked and self-sent stop signals; a
/// stopped process killed; a group continued; a native program; a
/// stopped door server served once continued; orphaned groups hung up,
/// and not stopped by SIGTSTP, SIGTTIN, SIGTTOU.
#[test]
fn c_jobs() {
    let report = test_program("c_jobs", &[]);
    report
        .expect_success()
        .assert_line(
            "c_jobs: SIGSTOP stops a writer (reported once, no bytes), SIGCONT lets it go on ok",
        )
        .assert_line("c_jobs: a stopped child killed with SIGKILL is reaped ok")
        .assert_line("c_jobs: SIGTSTP with a handler runs it, SIGTTIN ignored does nothing ok")
        .assert_line("c_jobs: SIGTSTP at its default action stops; SIGTERM then SIGCONT ends it ok")
        .assert_line("c_jobs: a blocked SIGTSTP stops the child when it unblocks it ok")
        .assert_line("c_jobs: a child that raises SIGSTOP stops there ok")
        .assert_line(
            "c_jobs: sigsuspend stopped by a signal it unblocks waits on once continued ok",
        )
        .assert_line("c_jobs: SIGCHLD with CLD_STOPPED and CLD_CONTINUED ok")
        .assert_line("c_jobs: no SIGCHLD for stops with SA_NOCLDSTOP, one for the end ok")
        .assert_line("c_jobs: kill(-pgid, SIGCONT) continues a stopped group ok")
        .assert_line("c_jobs: a native program stops and continues ok")
        .assert_line("c_jobs: a call to a stopped door server waits for SIGCONT, then is served ok")
        .assert_line("c_jobs: a group orphaned with members stopped gets SIGHUP, then SIGCONT ok")
        .assert_line(
            "c_jobs: in an orphaned group SIGTSTP, SIGTTIN, SIGTTOU do not stop, SIGSTOP does ok",
        )
        .assert_line("c_jobs: done");
    assert!(
        report.kernel_errors().is_empty(),
        "{:?}",
        report.kernel_errors()
    );
}

/// A program that stops itself while its parent (init) waits for it:
/// nothing is left to send SIGCONT and no timer is pending, so the
/// kernel reports a deadlock, naming the stopped thread (a stopped
/// process is not one on Linux, where a terminal could still continue
/// it; nothing here could).
#[test]
fn c_jobs_stopped_with_nobody_left_is_a_deadlock() {
    let report = test_program("c_jobs", &["alone"]);
    report
        .expect_outcome(Outcome::Deadlock)
        .assert_line("deadlock: every thread is blocked or stopped")
        .assert_line("(init) thread")
        .assert_line("waits for a child process to exit")
        .assert_line("(c_jobs) thread")
        .assert_line("is stopped: it waits for SIGCONT");
    report.expect_program(1, Verdict::Unfinished, None);
}
