//! What the process tests (fork, exec, wait, kill) share: a child that runs
//! a closure, the wait statuses they expect, and a pipe to pace two
//! processes.

use crate::fs::{close, pipe, read_fd, write_fd};
use crate::process;
use crate::testkit::{fail, failures};
use abi::signal::wait;

/// Forks a child that runs `f` and exits with its status (1 if a check
/// failed in it); returns the child's pid (0 after a reported failure).
pub fn fork_child(what: &str, f: impl FnOnce() -> i32) -> u32 {
    let before = failures();
    match process::fork() {
        Ok(0) => {
            let status = f();
            process::exit(if failures() > before { 1 } else { status })
        }
        Ok(pid) => pid,
        Err(e) => {
            fail(format_args!("{what}: fork failed with {}", e.name()));
            0
        }
    }
}

/// Waits for child `pid`; its wait status (-1 after a reported failure).
pub fn wait_status(what: &str, pid: u32) -> i32 {
    match process::wait4(pid as i32, 0) {
        Ok(Some((child, status))) if child == pid => status,
        other => {
            fail(format_args!("{what}: wait4({pid}) gave {other:?}"));
            -1
        }
    }
}

/// Child `pid` must exit with `code`.
pub fn expect_exit(what: &str, pid: u32, code: i32) {
    let status = wait_status(what, pid);
    if !(wait::if_exited(status) && wait::exit_status(status) == code) {
        fail(format_args!(
            "{what}: status {status:#x}, expected an exit with {code}"
        ));
    }
}

/// Child `pid` must be terminated by signal `sig`.
pub fn expect_signal(what: &str, pid: u32, sig: i32) {
    let status = wait_status(what, pid);
    if !(wait::if_signaled(status) && wait::term_sig(status) == sig) {
        fail(format_args!(
            "{what}: status {status:#x}, expected termination by signal {sig}"
        ));
    }
}

/// A pipe that paces two processes: one end each way is all they use.
pub struct Baton {
    read: i32,
    write: i32,
}

impl Baton {
    pub fn new() -> Baton {
        let (read, write) = pipe().expect("a pipe for the baton");
        Baton { read, write }
    }

    /// Passes the baton (one byte).
    pub fn pass(&self) {
        if write_fd(self.write, b"b") != Ok(1) {
            fail(format_args!("baton: write failed"));
        }
    }

    /// Waits for the baton; false at end of file (no writer left).
    pub fn take(&self) -> bool {
        read_fd(self.read, &mut [0u8; 1]) == Ok(1)
    }

    /// Closes both ends (in each process that holds them).
    pub fn close(self) {
        let _ = close(self.read);
        let _ = close(self.write);
    }
}

impl Default for Baton {
    fn default() -> Self {
        Baton::new()
    }
}
