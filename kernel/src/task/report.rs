//! What happens on an exception: from user mode the process is reported and
//! killed (status `KILLED_BASE + vector`) and everything else goes on; in
//! the kernel it is a bug, reported with the same detail, and a panic.

use super::{SCHED, exit_thread};
use crate::arch::traps::{TrapFrame, exception_name, fault_address};
use abi::KILLED_BASE;
use alloc::string::String;

/// `(pid, tid, name)` of the running thread, if the scheduler is not locked.
fn who() -> (u32, u32, String) {
    match SCHED.try_lock() {
        Some(g) => {
            let pid = g.current_pid();
            let name = g
                .process(pid)
                .map_or_else(|| String::from("kernel"), |p| p.name.clone());
            (pid, g.current_tid(), name)
        }
        None => (0, 0, String::from("?")),
    }
}

fn cr2_for(vector: u64) -> u64 {
    if vector == 14 { fault_address() } else { 0 }
}

pub fn on_user_exception(frame: &TrapFrame) {
    let (pid, tid, name) = who();
    crate::error!(
        "user fault: process {pid} ({name}) thread {tid}: {} (vector {}) at rip={:#x} error={:#x} cr2={:#x}; process killed",
        exception_name(frame.vector),
        frame.vector,
        frame.rip,
        frame.error,
        cr2_for(frame.vector),
    );
    SCHED
        .lock()
        .kill_process(pid, KILLED_BASE + frame.vector as i32);
    exit_thread(0, None);
}

pub fn on_kernel_exception(frame: &TrapFrame) {
    let (pid, tid, name) = who();
    panic!(
        "kernel exception {} (vector {}) at rip={:#x} error={:#x} cr2={:#x} rsp={:#x} in process {pid} ({name}) thread {tid}",
        exception_name(frame.vector),
        frame.vector,
        frame.rip,
        frame.error,
        cr2_for(frame.vector),
        frame.rsp,
    );
}
