//! Kernel event tracing (`abi::trace`): a ring of records in the kernel
//! heap, made when tracing starts and filled by hooks where the events
//! happen (no allocation while recording; the oldest records give way when
//! it is full).
//!
//! Each hook is a tiny inline function: while tracing is off it costs one
//! compare of [`RECORDING`] with memory and a branch that is not taken; the
//! recording itself is out of line. A door round trip's fast path meets
//! one hook per leg ([`handoff`]). System calls cost nothing even then: the
//! entry stub calls the dispatcher through a pointer, which tracing points
//! at a recording dispatcher ([`crate::arch::syscall::set_dispatcher`]).

use crate::arch::cpu::rdtsc;
use crate::arch::syscall::set_dispatcher;
use crate::arch::traps::TrapFrame;
use crate::task::{Resume, Thread};
use abi::trace::{
    BEGIN, DEFAULT_RECORDS, END, INVOKE_DEPLETED, INVOKE_UNREF, Kind, LINE, MAX_RECORDS,
    NAME_RECORDS, Record, SYSCALLS,
};
use abi::{DOOR_UNREF_DATA, Errno, invocation};
use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use doors::Upcall;
use spin::Mutex;

/// Whether events are being recorded: read by every hook as a plain load,
/// which folds into one `cmp` with memory (an atomic load takes two
/// instructions); written by [`start`] and [`stop`] only.
static mut RECORDING: bool = false;

/// The thread running now, as the last recorded switch says.
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// The records: `records` fills up to its capacity, then each new record
/// replaces the oldest (`written` counts them all).
struct Ring {
    records: Vec<Record>,
    written: u64,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    records: Vec::new(),
    written: 0,
});

impl Ring {
    fn push(&mut self, record: Record) {
        let capacity = self.records.capacity();
        if self.records.len() < capacity {
            self.records.push(record);
        } else if capacity > 0 {
            self.records[(self.written % capacity as u64) as usize] = record;
        }
        self.written += 1;
    }

    /// Records overwritten since tracing started.
    fn lost(&self) -> u64 {
        self.written - self.records.len() as u64
    }

    /// Held record `i`, 0 the oldest.
    fn get(&self, i: usize) -> Record {
        let oldest = (self.lost() % self.records.len().max(1) as u64) as usize;
        self.records[(oldest + i) % self.records.len()]
    }
}

#[inline(always)]
fn on() -> bool {
    // SAFETY: one CPU, and kernel code runs with interrupts off, so no
    // write (in `set_recording`) overlaps this read.
    unsafe { (&raw const RECORDING).read() }
}

fn set_recording(on: bool) {
    // SAFETY: as in `on`.
    unsafe { (&raw mut RECORDING).write(on) }
}

/// Appends a record of `kind` (the recording half of every hook).
#[cold]
#[inline(never)]
fn emit(kind: Kind, a: u64, b: u64) {
    let record = Record {
        ts: rdtsc(),
        kind: kind as u32,
        tid: RUNNING.load(Relaxed),
        a,
        b,
    };
    RING.lock().push(record);
}

/// Starts recording into a new, empty ring of `records` records (0: the
/// default size); `flags` may ask for system calls. `running` is the
/// calling thread.
pub fn start(records: u64, flags: u64, running: u32) -> Result<(), Errno> {
    let records = match records {
        0 => DEFAULT_RECORDS,
        n if n <= MAX_RECORDS => n,
        _ => return Err(Errno::EINVAL),
    };
    if flags & !SYSCALLS != 0 {
        return Err(Errno::EINVAL);
    }
    stop();
    let mut ring = Vec::new();
    ring.try_reserve_exact(records as usize)
        .map_err(|_| Errno::ENOMEM)?;
    *RING.lock() = Ring {
        records: ring,
        written: 0,
    };
    RUNNING.store(running, Relaxed);
    if flags & SYSCALLS != 0 {
        set_dispatcher(traced_dispatcher);
    }
    set_recording(true);
    Ok(())
}

/// Stops recording; returns the number of records held.
pub fn stop() -> u64 {
    set_recording(false);
    set_dispatcher(crate::syscall::dispatch);
    RING.lock().records.len() as u64
}

/// Records overwritten since tracing started.
pub fn lost() -> u64 {
    RING.lock().lost()
}

/// Up to `n` held records from the `from`th (0 the oldest). EBUSY while
/// recording.
pub fn read(from: u64, n: u64) -> Result<Vec<Record>, Errno> {
    if on() {
        return Err(Errno::EBUSY);
    }
    let ring = RING.lock();
    let held = ring.records.len() as u64;
    let from = from.min(held);
    Ok((from..held.min(from.saturating_add(n)))
        .map(|i| ring.get(i as usize))
        .collect())
}

/// Stops recording, if on, and prints the records as init would (for a
/// boot that ends in a deadlock, where init cannot).
pub fn dump() {
    if !on() {
        return;
    }
    let held = stop();
    let ring = RING.lock();
    let mut text = format!("{LINE}{BEGIN} records={held} lost={}\n", ring.lost());
    for i in 0..held as usize {
        let _ = writeln!(text, "{LINE}{}", ring.get(i));
        if text.len() >= 4096 {
            crate::log::write_bytes(text.as_bytes());
            text.clear();
        }
    }
    let _ = writeln!(text, "{LINE}{END}");
    crate::log::write_bytes(text.as_bytes());
}

/// The system-call dispatcher while system calls are traced.
extern "C" fn traced_dispatcher(frame: &mut TrapFrame) {
    emit(Kind::Syscall, frame.rax, frame.rdi);
    crate::syscall::dispatch(frame);
}

/// The CPU switches to thread `tid` of process `pid`.
#[inline(always)]
pub fn switch(tid: u32, pid: u32) {
    if on() {
        switched(tid, pid);
    }
}

#[cold]
#[inline(never)]
fn switched(tid: u32, pid: u32) {
    emit(Kind::Switch, u64::from(tid), u64::from(pid));
    RUNNING.store(tid, Relaxed);
}

/// A door call or return hands the CPU straight to thread `target`,
/// which resumes with `resume`: the one hook of each leg of a door round
/// trip's fast path.
#[inline(always)]
pub fn handoff(target: &Thread, resume: &Resume) {
    if on() {
        // A copy made here keeps the caller's `resume` out of memory when
        // tracing is off (its address escapes only on this branch).
        let resume = *resume;
        handed_off(target, &resume);
    }
}

#[cold]
#[inline(never)]
fn handed_off(target: &Thread, resume: &Resume) {
    // A thread parked in a door operation may resume itself: no switch.
    if target.tid == RUNNING.load(Relaxed) {
        return;
    }
    door_leg(target.tid, resume);
    emit(Kind::Handoff, u64::from(target.tid), 0);
    switched(target.tid, target.pid);
}

/// A door call or return wakes thread `target` through the run queue,
/// to resume with `resume`.
#[inline(always)]
pub fn door_wake(target: u32, resume: &Resume) {
    if on() {
        door_leg(target, resume);
    }
}

/// What the running thread's door operation does for `target`: start an
/// invocation (a door call), or end its call (a door return).
#[cold]
#[inline(never)]
fn door_leg(target: u32, resume: &Resume) {
    match resume {
        Resume::Invocation(entry) => {
            let [_, argp, .., pc] = entry.regs;
            emit(Kind::DoorCall, u64::from(target), pc);
            let caller = RUNNING.load(Relaxed);
            let depleted = entry.status != invocation::RUN;
            invoked(
                target,
                (argp != DOOR_UNREF_DATA).then_some(caller),
                depleted,
            );
        }
        Resume::Return(_) => emit(Kind::DoorReturn, u64::from(target), 0),
    }
}

/// The running thread leaves the CPU in a door operation with nobody to
/// resume: its call waits for a server thread (`waiting`), or it parks in
/// its pool with no call to answer.
#[inline(always)]
pub fn door_alone(waiting: bool) {
    if on() {
        match waiting {
            true => emit(Kind::DoorWait, 0, 0),
            false => emit(Kind::DoorReturn, 0, 0),
        }
    }
}

/// The running server thread takes a call that waited (`up`) as its next
/// invocation; `answered` when its door_return answered a call (whose
/// [`handoff`] or [`door_wake`] follows), else it answered none.
#[inline(always)]
pub fn serve(up: &Upcall, answered: bool) {
    if on() {
        if !answered {
            emit(Kind::DoorReturn, 0, 0);
        }
        invoked(up.server, up.caller, up.depleted.is_some());
    }
}

/// An idle server thread gets an invocation through the run queue (an
/// unreferenced one, when `up.caller` is `None`).
#[inline(always)]
pub fn dispatch(up: &Upcall) {
    if on() {
        invoked(up.server, up.caller, up.depleted.is_some());
    }
}

/// The running server thread's door_return answered the call of `caller`
/// (if any) but failed itself.
#[inline(always)]
pub fn door_return(caller: Option<u32>) {
    if on() {
        emit(Kind::DoorReturn, u64::from(caller.unwrap_or(0)), 0);
    }
}

/// Server thread `server` starts an invocation for the call of `caller`
/// (`None`: an unreferenced invocation); `depleted` when it took the last
/// idle thread of its pool.
#[cold]
#[inline(never)]
fn invoked(server: u32, caller: Option<u32>, depleted: bool) {
    let mut flags = 0;
    if depleted {
        flags |= INVOKE_DEPLETED;
    }
    if caller.is_none() {
        flags |= INVOKE_UNREF;
    }
    let caller = u64::from(caller.unwrap_or(0));
    emit(Kind::Invoke, u64::from(server), caller | flags << 32);
}

/// The running thread created door descriptor `fd`; `create_server` when
/// its process runs its door_server_create procedure now.
#[inline(always)]
pub fn door_create(fd: i32, create_server: bool) {
    if on() {
        emit(Kind::DoorCreate, fd as u64, u64::from(create_server));
    }
}

/// The running thread revoked the door of its descriptor `fd`.
#[inline(always)]
pub fn revoke(fd: i32) {
    if on() {
        emit(Kind::Revoke, fd as u64, 0);
    }
}

/// The door call of thread `caller` ended with `errno`, without results.
#[inline(always)]
pub fn call_failed(caller: u32, errno: Errno) {
    if on() {
        emit(Kind::CallFailed, u64::from(caller), u64::from(errno.code()));
    }
}

/// Process `pid`, called `name`, started as a child of `parent`.
#[inline(always)]
pub fn spawn(pid: u32, parent: u32, name: &str) {
    if on() {
        spawned(pid, parent, name);
    }
}

#[cold]
#[inline(never)]
fn spawned(pid: u32, parent: u32, name: &str) {
    emit(Kind::Spawn, u64::from(pid), u64::from(parent));
    let mut bytes = [0u8; 16 * NAME_RECORDS];
    let n = name.len().min(bytes.len());
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    for chunk in bytes.chunks_exact(16) {
        let word = |at: usize| u64::from_le_bytes(chunk[at..at + 8].try_into().unwrap_or_default());
        emit(Kind::Name, word(0), word(8));
    }
}

/// Thread `tid` of process `pid` was created.
#[inline(always)]
pub fn thread_create(tid: u32, pid: u32) {
    if on() {
        emit(Kind::ThreadCreate, u64::from(tid), u64::from(pid));
    }
}

/// Thread `tid` of process `pid` exited (or was ended with its process).
#[inline(always)]
pub fn thread_exit(tid: u32, pid: u32) {
    if on() {
        emit(Kind::ThreadExit, u64::from(tid), u64::from(pid));
    }
}

/// Process `pid` ended with `status`.
#[inline(always)]
pub fn process_exit(pid: u32, status: i32) {
    if on() {
        emit(Kind::ProcessExit, u64::from(pid), status as u32 as u64);
    }
}
