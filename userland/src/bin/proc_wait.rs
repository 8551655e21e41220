//! wait4, kill, alarm and pause under QEMU:
//! - wait4 for a pid, any child, the process group, a group by id; WNOHANG
//!   while the child runs; statuses as WIFEXITED/WEXITSTATUS (low 8 bits),
//!   WIFSIGNALED/WTERMSIG (kill, alarm, a fault as SIGSEGV); ECHILD for a
//!   non-child and with no children; EINVAL for unknown options; a bad
//!   status pointer keeps the child;
//! - a zombie stays until waited for (kill(pid, 0) finds it); an orphan
//!   is adopted by init (its getppid becomes 1) and reaped by it;
//! - kill: default actions (SIGTERM and SIGKILL terminate, SIGCHLD does
//!   nothing, a stop signal stops a native process and SIGCONT continues
//!   it, as WUNTRACED and WCONTINUED report), kill(pid, 0) probes, init
//!   is not killed, ESRCH for no such process, EINVAL for a bad signal,
//!   EPERM for another user's process (after setuid), a process may kill
//!   itself;
//! - alarm ends the process with SIGALRM; alarm returns what the previous
//!   one had left, alarm(0) cancels; pause blocks until the process is
//!   killed.
#![no_std]
#![no_main]

extern crate alloc;

use userland::abi::kstat::PROCESSES;
use userland::abi::signal::wait::{self, WCONTINUED, WNOHANG, WUNTRACED};
use userland::abi::signal::*;
use userland::fs::{close, pipe, read_fd, write_fd};
use userland::sys::{check, syscall3};
use userland::testkit::procs::{Baton, expect_exit, expect_signal, fork_child, wait_status};
use userland::testkit::{expect_eq, verdict, wait_until};
use userland::{Errno, abi::Sys, check, process};

userland::entry!(main);

fn main() -> i32 {
    statuses();
    whom_wait4_reaps();
    zombies_and_orphans();
    kill_rules();
    alarm_and_pause();
    verdict(true)
}

/// Exit codes (low 8 bits), signals, faults as their signal.
fn statuses() {
    let exited = fork_child("exit 3", || 3);
    expect_exit("exit 3", exited, 3);
    let big = fork_child("exit 261", || 256 + 5);
    expect_exit("exit 261 (low 8 bits)", big, 5);
    let faulted = fork_child("fault", || {
        // SAFETY: deliberately invalid: the fault is what is tested.
        unsafe { core::ptr::null_mut::<u64>().write_volatile(1) };
        0
    });
    let status = wait_status("fault", faulted);
    check!(
        wait::if_signaled(status) && wait::term_sig(status) == SIGSEGV && !wait::core_dump(status),
        "a fault's status {status:#x}"
    );
}

/// Which child wait4 reaps, WNOHANG, ECHILD, EINVAL, EFAULT.
fn whom_wait4_reaps() {
    expect_eq("no children", process::wait4(-1, 0), Err(Errno::ECHILD));
    expect_eq(
        "pid 1 is no child",
        process::wait4(1, 0),
        Err(Errno::ECHILD),
    );
    let go = Baton::new();
    let slow = fork_child("slow", || {
        go.take();
        9
    });
    expect_eq(
        "WNOHANG while it runs",
        process::wait4(slow as i32, WNOHANG),
        Ok(None),
    );
    expect_eq(
        "unknown options",
        process::wait4(-1, 0x40),
        Err(Errno::EINVAL),
    );
    let quick = fork_child("quick", || 4);
    match process::wait4(-1, 0) {
        Ok(Some((pid, status))) => {
            expect_eq("any child: the one that exited", pid, quick);
            expect_eq("its status", wait::exit_status(status), 4);
        }
        other => check!(false, "wait4(-1): {other:?}"),
    }
    // A bad status pointer: EFAULT once it has exited, and it stays.
    go.pass();
    let bad = check(syscall3(Sys::Wait4, slow as usize, 0x10, 0));
    expect_eq("wait4 with a bad status pointer", bad, Err(Errno::EFAULT));
    let mine = process::getpid() as i32;
    match process::wait4(0, 0) {
        Ok(Some((pid, status))) => {
            expect_eq("the group's child", pid, slow);
            expect_eq("its status", wait::exit_status(status), 9);
        }
        other => check!(false, "wait4(0): {other:?}"),
    }
    let grouped = fork_child("group", || 2);
    let by_group = process::wait4(-mine, 0).map(|r| r.map(|(pid, s)| (pid, wait::exit_status(s))));
    expect_eq(
        "wait4(-pgid): a spawned program leads its group",
        by_group,
        Ok(Some((grouped, 2))),
    );
    expect_eq(
        "a group with no children",
        process::wait4(-99_999, 0),
        Err(Errno::ECHILD),
    );
    go.close();
}

/// A zombie stays until waited for; an orphan goes to init.
fn zombies_and_orphans() {
    // The child's exit closes its copy of the write end: end of file means
    // it has ended (its last thread is gone), a zombie now.
    let (r, w) = pipe().expect("pipe");
    let zombie = fork_child("zombie", || 0);
    close(w).expect("close");
    expect_eq(
        "end of file at the child's end",
        read_fd(r, &mut [0u8; 1]),
        Ok(0),
    );
    close(r).expect("close");
    let procs = process::kstat(PROCESSES).unwrap_or(0);
    expect_eq("kill(zombie, 0)", process::kill(zombie as i32, 0), Ok(()));
    expect_eq(
        "kill(zombie, SIGKILL) is no error",
        process::kill(zombie as i32, SIGKILL),
        Ok(()),
    );
    expect_exit("the zombie keeps its status", zombie, 0);
    expect_eq(
        "one process fewer",
        process::kstat(PROCESSES).unwrap_or(0),
        procs - 1,
    );
    expect_eq(
        "reaped: gone",
        process::kill(zombie as i32, 0),
        Err(Errno::ESRCH),
    );

    let (r, w) = pipe().expect("pipe");
    let me = process::getpid();
    let middle = fork_child("middle", || {
        let grandchild = fork_child("orphan", || {
            let adopted = wait_until(500, || process::getppid() == 1);
            check!(adopted, "the orphan's parent: {}", process::getppid());
            let ppid = process::getppid().to_le_bytes();
            expect_eq("report", write_fd(w, &ppid), Ok(4));
            0
        });
        expect_eq("the middle's child", process::getppid(), me);
        expect_eq("report", write_fd(w, &grandchild.to_le_bytes()), Ok(4));
        0
    });
    expect_exit("middle", middle, 0);
    close(w).expect("close");
    let mut word = [0u8; 4];
    expect_eq("the orphan's pid", read_fd(r, &mut word), Ok(4));
    let orphan = u32::from_le_bytes(word) as i32;
    expect_eq("the orphan's report", read_fd(r, &mut word), Ok(4));
    expect_eq("the orphan's new parent", u32::from_le_bytes(word), 1);
    expect_eq(
        "not this process's child",
        process::wait4(orphan, 0),
        Err(Errno::ECHILD),
    );
    check!(
        wait_until(500, || process::kill(orphan, 0) == Err(Errno::ESRCH)),
        "init did not reap the orphan"
    );
    close(r).expect("close");
}

/// Default actions, probes, permissions.
fn kill_rules() {
    let victim = fork_child("victim", || process::pause());
    expect_eq("probe", process::kill(victim as i32, 0), Ok(()));
    for ignored in [SIGCHLD, SIGCONT, SIGURG, SIGWINCH] {
        expect_eq(
            "an ignored signal",
            process::kill(victim as i32, ignored),
            Ok(()),
        );
    }
    expect_eq(
        "a stop signal",
        process::kill(victim as i32, SIGSTOP),
        Ok(()),
    );
    expect_eq(
        "stopped",
        process::wait4(victim as i32, WUNTRACED),
        Ok(Some((victim, (SIGSTOP << 8) | 0x7f))),
    );
    expect_eq("continue", process::kill(victim as i32, SIGCONT), Ok(()));
    expect_eq(
        "continued",
        process::wait4(victim as i32, WCONTINUED),
        Ok(Some((victim, 0xffff))),
    );
    expect_eq(
        "no such signal",
        process::kill(victim as i32, 65),
        Err(Errno::EINVAL),
    );
    expect_eq(
        "no such process",
        process::kill(99_999, SIGTERM),
        Err(Errno::ESRCH),
    );
    expect_eq(
        "still there",
        process::wait4(victim as i32, WNOHANG),
        Ok(None),
    );
    expect_eq("SIGTERM", process::kill(victim as i32, SIGTERM), Ok(()));
    expect_signal("SIGTERM", victim, SIGTERM);

    let procs = process::kstat(PROCESSES).unwrap_or(0);
    expect_eq(
        "init ignores even SIGKILL",
        process::kill(1, SIGKILL),
        Ok(()),
    );
    expect_eq("processes", process::kstat(PROCESSES).unwrap_or(0), procs);

    // Another user's processes: EPERM, even for a probe.
    let root_child = fork_child("root's", || process::pause());
    let me = process::getpid() as i32;
    let user = fork_child("user 1000", || {
        expect_eq("setuid", process::setuid(1000), Ok(()));
        expect_eq("back to root", process::setuid(0), Err(Errno::EPERM));
        expect_eq(
            "kill root's process",
            process::kill(root_child as i32, SIGKILL),
            Err(Errno::EPERM),
        );
        expect_eq(
            "probe root's process",
            process::kill(me, 0),
            Err(Errno::EPERM),
        );
        expect_eq("kill init", process::kill(1, SIGTERM), Err(Errno::EPERM));
        expect_eq(
            "kill -1 with nobody to signal",
            process::kill(-1, SIGKILL),
            Ok(()),
        );
        let own = fork_child("user 1000's own", || process::pause());
        expect_eq("kill its own", process::kill(own as i32, SIGKILL), Ok(()));
        expect_signal("its own", own, SIGKILL);
        0
    });
    expect_exit("user 1000", user, 0);
    expect_eq(
        "root's child survived",
        process::wait4(root_child as i32, WNOHANG),
        Ok(None),
    );
    expect_eq("SIGKILL", process::kill(root_child as i32, SIGKILL), Ok(()));
    expect_signal("SIGKILL", root_child, SIGKILL);

    let suicide = fork_child("itself", || {
        let _ = process::kill(process::getpid() as i32, SIGUSR1);
        0
    });
    expect_signal("a process killing itself", suicide, SIGUSR1);
}

/// alarm's return value and cancelling, its default action, pause.
fn alarm_and_pause() {
    let timed = fork_child("alarm", || {
        expect_eq("first alarm", process::alarm(5), 0);
        let left = process::alarm(1);
        check!(left == 5 || left == 4, "the first alarm had {left} s left");
        process::pause()
    });
    expect_signal("alarm", timed, SIGALRM);
    let cancelled = fork_child("cancelled", || {
        process::alarm(1);
        expect_eq("alarm(0) returns what was left", process::alarm(0), 1);
        process::sleep_ticks(150);
        0
    });
    expect_exit("a cancelled alarm", cancelled, 0);
}
