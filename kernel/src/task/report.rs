//! What happens on an exception: from user mode the process is reported and
//! killed (status `KILLED_BASE + vector`) and everything else goes on,
//! unless it was the first touch of a demand-zero page or a write to a
//! copy-on-write page, which is resolved (or, with no frame free for it,
//! ends the process as SIGKILL), or a Linux program has a handler for the
//! fault's signal that the thread does not block: the handler runs (on the
//! way back to user mode, `task::signals`), and returning from it runs the
//! faulting instruction again. In the kernel it is a bug, reported with
//! the same detail, and a panic. And the deadlock report: what each
//! thread waits for when none can ever run again.

use super::{SCHED, Sched, State, Wait, exit_thread};
use crate::arch::traps::{TrapFrame, exception_name, fault_address};
use abi::signal::SIGKILL;
use alloc::string::String;
use kernel::cow::NoFrame;
use kernel::linux::pending::Info;
use kernel::pipe::End;
use kernel::signal::Death;

/// Page-fault error bits: the page was present, the access a write, from
/// user mode.
const PF_PRESENT: u64 = 0b001;
const PF_WRITE: u64 = 0b010;
const PF_USER: u64 = 0b100;

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
    if frame.vector == 14 && frame.error & PF_USER != 0 {
        let addr = fault_address();
        let write = frame.error & PF_WRITE != 0;
        let resolved = SCHED.lock().current_space().user_fault(addr, write);
        match resolved {
            Ok(true) => return,
            Ok(false) => {}
            Err(NoFrame) => no_frame(frame, addr),
        }
    }
    let info = Info::of_fault(
        frame.vector as u8,
        frame.error,
        cr2_for(frame.vector),
        frame.rip,
    );
    if SCHED.lock().catch_fault(info) {
        crate::debug!(
            "user fault: {} (vector {}) at rip={:#x} goes to the handler of signal {}",
            exception_name(frame.vector),
            frame.vector,
            frame.rip,
            info.signo
        );
        return;
    }
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
        .kill_process(pid, Death::Fault(frame.vector as u8));
    exit_thread(0, None);
}

/// A write to a copy-on-write page found no free frame for the copy, or
/// the first touch of a demand-zero page none for the page: the faulting
/// process ends as Linux's out-of-memory killer ends one, by SIGKILL;
/// everything else goes on.
fn no_frame(frame: &TrapFrame, addr: u64) -> ! {
    let (pid, tid, name) = who();
    let need = match frame.error & PF_PRESENT {
        0 => "give the demand-zero page a frame",
        _ => "copy the copy-on-write page",
    };
    crate::error!(
        "user fault: process {pid} ({name}) thread {tid}: no free memory to {need} at rip={:#x} cr2={addr:#x}; process killed (SIGKILL)",
        frame.rip,
    );
    SCHED.lock().kill_process(pid, Death::Signal(SIGKILL));
    exit_thread(0, None)
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

/// Prints the deadlock report: one line per blocked or stopped thread.
/// A stopped process counts as blocked: with no timer pending and nothing
/// else to run, nobody is left to send it SIGCONT.
pub(super) fn report_deadlock(g: &Sched) {
    crate::error!("deadlock: every thread is blocked or stopped and no timer is pending");
    for t in g.threads.values().filter(|t| t.tid != g.idle) {
        let name = g.process(t.pid).map_or("?", |p| p.name.as_str());
        let wait = match t.state {
            State::Blocked(wait) => wait,
            State::Stopped => {
                crate::error!(
                    "deadlock: process {} ({name}) thread {} is stopped: it waits for SIGCONT",
                    t.pid,
                    t.tid
                );
                continue;
            }
            State::Ready | State::Running | State::Dead => continue,
        };
        let what = match wait {
            Wait::Join(tid) => alloc::format!("to join thread {tid}"),
            Wait::Child => "for a child process to exit".into(),
            Wait::Pause => "for a signal (pause) with no alarm pending".into(),
            Wait::Sleep => "for a timer".into(),
            Wait::DoorCall => "for its door call to return".into(),
            Wait::DoorPark => "for a door invocation (idle server thread)".into(),
            Wait::Pipe(id, End::Read) => alloc::format!("to read from pipe {id:?}"),
            Wait::Pipe(id, End::Write) => alloc::format!("to write to pipe {id:?}"),
            Wait::Futex => "for a futex wake".into(),
            Wait::Signal(set) => alloc::format!("for a signal of {set:#x} (sigtimedwait)"),
        };
        crate::error!(
            "deadlock: process {} ({name}) thread {} waits {what}",
            t.pid,
            t.tid
        );
    }
}
