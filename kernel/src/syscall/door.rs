//! Door system calls. Each decodes its registers and user structures, asks
//! the door logic (which validates everything before it changes anything),
//! then carries out the outcome: for door_call and door_return that means
//! handing the CPU straight to the server thread or back to the caller.

use super::SysResult;
use crate::arch::traps::TrapFrame;
use crate::mem::user::{UserSlice, read_wire, write_wire};
use crate::task::{self, Entry, Resume, SCHED, Sched, Wait};
use core::sync::atomic::{AtomicU64, Ordering};
use doors::abi::errno::{EBADF, EFAULT, EINTR, EINVAL, ENAMETOOLONG, ESRCH};
use doors::abi::{DOOR_CREATE_RUN_SERVER_CREATE, DoorArg};
use doors::{CallParams, Called, Errno, Next, ReturnArgs, ReturnOutcome, StackArea, Upcall};
use spin::MutexGuard;

/// Door calls and returns that took the null-call fast path
/// (`kstat::DOOR_FAST_PATHS`).
pub static FAST_PATHS: AtomicU64 = AtomicU64::new(0);

/// Longest path read from user memory (the door logic's own limit is lower,
/// so a longer one is ENAMETOOLONG either way).
const PATH_READ_MAX: u64 = 4096;

/// A descriptor argument: an `int` in a 64-bit register.
fn fd(reg: u64) -> Result<i32, isize> {
    i32::try_from(reg as i64).map_err(|_| EBADF)
}

fn errno(e: Errno) -> isize {
    e.0
}

/// Runs `op` on the door logic for the calling thread, then carries out the
/// events it queued.
fn with_doors<T>(
    op: impl FnOnce(&mut doors::DoorSystem, u32, u32) -> Result<T, Errno>,
) -> Result<T, isize> {
    let mut g = SCHED.lock();
    let (pid, tid) = (g.current_pid(), g.current_tid());
    let r = op(g.doors(), pid, tid);
    g.handle_door_events();
    r.map_err(errno)
}

pub fn door_create(pc: u64, cookie: u64, attributes: u64) -> SysResult {
    let attributes = u32::try_from(attributes).map_err(|_| EINVAL)?;
    let created = with_doors(|d, pid, _| d.door_create(pid, pc, cookie, attributes))?;
    let flag = if created.create_server.is_some() {
        DOOR_CREATE_RUN_SERVER_CREATE as u64
    } else {
        0
    };
    Ok(created.fd as u64 | flag)
}

pub fn door_call(d: u64, params_ptr: u64) -> SysResult {
    let d = fd(d)?;
    let mut g = SCHED.lock();
    let tid = g.current_tid();
    let result = match params_ptr {
        0 => match g.doors().try_null_call(tid, d) {
            Some(up) => {
                FAST_PATHS.fetch_add(1, Ordering::Relaxed);
                let entry = Entry {
                    sp: up.sp,
                    status: up.status,
                    regs: up.regs,
                };
                let resume = Resume::Invocation(entry);
                task::door_handoff(g, Wait::DoorCall, up.server, resume, |t| t.door_result())
            }
            None => door_call_general(g, tid, d, None)?,
        },
        addr => {
            let arg = read_wire::<DoorArg>(g.current_space(), addr)?;
            door_call_general(g, tid, d, Some(CallParams { addr, arg }))?
        }
    };
    match result {
        r if r < 0 => Err(-r),
        r => Ok(r as u64),
    }
}

/// door_call beyond the fast path; returns once the call is over, with
/// what it returns (`-errno` on failure).
fn door_call_general(
    mut g: MutexGuard<'static, Sched>,
    tid: u32,
    d: i32,
    params: Option<CallParams>,
) -> Result<isize, isize> {
    // Filled in place: the upcall is large, and moving it costs copies.
    let mut up = Upcall::default();
    let result = {
        let (doors, memory) = g.doors_and_memory();
        doors.door_call_into(&memory, tid, d, params, &mut up)
    };
    g.handle_door_events();
    g.set_door_result(tid, -EINTR);
    match result {
        Err(e) => return Err(e.0),
        Ok(Called::Handoff) => {
            g.deliver_upcall(&up);
            task::handoff(g, Wait::DoorCall, up.server);
        }
        Ok(Called::Wait) => task::block(g, Wait::DoorCall),
    }
    Ok(SCHED.lock().door_result(tid))
}

pub fn door_return(frame: &mut TrapFrame, a: [u64; 6]) -> SysResult {
    let ret = ReturnArgs {
        data_ptr: a[0],
        data_size: a[1],
        desc_ptr: a[2],
        desc_num: u32::try_from(a[3]).map_err(|_| EINVAL)?,
        stack: StackArea {
            base: a[4],
            size: a[5],
        },
    };
    let mut g = SCHED.lock();
    let tid = g.current_tid();
    let fast = match (ret.data_ptr, ret.data_size, ret.desc_num) {
        (0, 0, 0) => {
            let (doors, memory) = g.doors_and_memory();
            doors.try_null_return(&memory, tid, ret.stack)
        }
        _ => None,
    };
    if fast.is_some() {
        FAST_PATHS.fetch_add(1, Ordering::Relaxed);
    }
    let resumed = match fast {
        Some((caller, Next::Park)) => {
            g.handle_door_events();
            let resume = Resume::Result(0);
            task::door_handoff(g, Wait::DoorPark, caller, resume, |t| {
                (t.door_result(), t.take_upcall())
            })
        }
        Some((caller, next)) => {
            g.handle_door_events();
            g.set_door_result(caller, 0);
            after_return(g, tid, Some(caller), next)?;
            resumed(tid)
        }
        None => {
            door_return_general(g, tid, ret)?;
            resumed(tid)
        }
    };
    // Back with an invocation to start, or with the reason there is none.
    let (result, upcall) = resumed;
    match upcall {
        Some(entry) => {
            let [cookie, argp, size, descs, n_desc, pc] = entry.regs;
            frame.rsp = entry.sp;
            (frame.rdi, frame.rsi, frame.rdx) = (cookie, argp, size);
            (frame.r10, frame.r8, frame.r9) = (descs, n_desc, pc);
            Ok(entry.status)
        }
        None => Err(-result),
    }
}

/// What thread `tid`, back from a door operation, was left: what the
/// operation returns, and the invocation it was given.
fn resumed(tid: u32) -> (isize, Option<Entry>) {
    let mut g = SCHED.lock();
    (g.door_result(tid), g.take_upcall(tid))
}

/// door_return beyond the fast path; returns once the thread is resumed.
fn door_return_general(
    mut g: MutexGuard<'static, Sched>,
    tid: u32,
    ret: ReturnArgs,
) -> Result<(), isize> {
    // Filled in place: the outcome is large, and moving it costs copies.
    let mut out = ReturnOutcome {
        reply: None,
        next: Next::Park,
    };
    let result = {
        let (doors, mut memory) = g.doors_and_memory();
        doors.door_return_into(&mut memory, tid, ret, &mut out)
    };
    g.handle_door_events();
    if let Err(e) = result {
        return Err(e.0);
    }
    let caller = out.reply.as_ref().map(|r| r.caller);
    if let Some(r) = &out.reply {
        g.deliver_reply(r);
    }
    after_return(g, tid, caller, out.next)
}

/// What a returning server thread does once its results are delivered (to
/// `caller`, if any): park, serve the invocation it took, or fail.
fn after_return(
    mut g: MutexGuard<'static, Sched>,
    tid: u32,
    caller: Option<u32>,
    next: Next,
) -> Result<(), isize> {
    g.set_door_result(tid, -EINTR);
    match next {
        Next::Park => match caller {
            Some(c) => task::handoff(g, Wait::DoorPark, c),
            None => task::block(g, Wait::DoorPark),
        },
        Next::Serve(up) => {
            g.deliver_upcall(&up);
            match caller {
                Some(c) => task::yield_to(g, c),
                None => drop(g),
            }
        }
        Next::Fail(e) => {
            if let Some(c) = caller {
                g.wake(c);
            }
            return Err(e.0);
        }
    }
    Ok(())
}

pub fn door_info(d: u64, info_ptr: u64) -> SysResult {
    let d = fd(d)?;
    let info = with_doors(|doors, _, tid| doors.door_info(tid, d))?;
    write_wire(SCHED.lock().current_space(), info_ptr, &info)?;
    Ok(0)
}

pub fn door_revoke(d: u64) -> SysResult {
    let d = fd(d)?;
    with_doors(|doors, pid, _| doors.door_revoke(pid, d)).map(|()| 0)
}

pub fn door_setparam(d: u64, param: u64, value: u64) -> SysResult {
    let d = fd(d)?;
    let param = i32::try_from(param as i64).map_err(|_| EINVAL)?;
    with_doors(|doors, pid, _| doors.door_setparam(pid, d, param, value)).map(|()| 0)
}

pub fn door_getparam(d: u64, param: u64, out: u64) -> SysResult {
    let d = fd(d)?;
    let param = i32::try_from(param as i64).map_err(|_| EINVAL)?;
    let value = with_doors(|doors, pid, _| doors.door_getparam(pid, d, param))?;
    UserSlice::new(out, 8)?.write(SCHED.lock().current_space(), &value.to_le_bytes())?;
    Ok(0)
}

pub fn door_ucred(out: u64) -> SysResult {
    let cred = with_doors(|doors, _, tid| doors.door_ucred(tid))?;
    write_wire(SCHED.lock().current_space(), out, &cred)?;
    Ok(0)
}

pub fn door_cred(out: u64) -> SysResult {
    let cred = with_doors(|doors, _, tid| doors.door_cred(tid))?;
    write_wire(SCHED.lock().current_space(), out, &cred)?;
    Ok(0)
}

pub fn door_bind(d: u64) -> SysResult {
    let d = fd(d)?;
    with_doors(|doors, _, tid| doors.door_bind(tid, d)).map(|()| 0)
}

pub fn door_unbind() -> SysResult {
    with_doors(|doors, _, tid| doors.door_unbind(tid)).map(|()| 0)
}

pub fn door_cancelled() -> SysResult {
    with_doors(|doors, _, tid| Ok(u64::from(doors.is_cancelled(tid))))
}

pub fn door_abort(target: u64) -> SysResult {
    let target = u32::try_from(target).map_err(|_| ESRCH)?;
    with_doors(|doors, pid, _| doors.abort_call(pid, target)).map(|()| 0)
}

/// Reads a path argument.
fn path(ptr: u64, len: u64) -> Result<alloc::vec::Vec<u8>, isize> {
    if len > PATH_READ_MAX {
        return Err(ENAMETOOLONG);
    }
    UserSlice::new(ptr, len)?.read_vec(SCHED.lock().current_space())
}

pub fn fattach(d: u64, path_ptr: u64, path_len: u64) -> SysResult {
    let d = fd(d)?;
    let p = path(path_ptr, path_len)?;
    with_doors(|doors, pid, _| doors.fattach(pid, d, &p)).map(|()| 0)
}

pub fn fdetach(path_ptr: u64, path_len: u64) -> SysResult {
    let p = path(path_ptr, path_len)?;
    with_doors(|doors, pid, _| doors.fdetach(pid, &p)).map(|()| 0)
}

pub fn open(path_ptr: u64, path_len: u64) -> SysResult {
    let p = path(path_ptr, path_len)?;
    with_doors(|doors, pid, _| doors.open(pid, &p)).map(|fd| fd as u64)
}

pub fn close(d: u64) -> SysResult {
    let d = fd(d)?;
    with_doors(|doors, pid, _| doors.close(pid, d)).map(|()| 0)
}

pub fn dup(d: u64) -> SysResult {
    let d = fd(d)?;
    with_doors(|doors, pid, _| doors.dup(pid, d)).map(|fd| fd as u64)
}

pub fn seteuid(uid: u64) -> SysResult {
    let uid = u32::try_from(uid).map_err(|_| EINVAL)?;
    with_doors(|doors, pid, _| doors.set_euid(pid, uid)).map(|()| 0)
}

pub fn door_handoff(on: u64) -> SysResult {
    match on {
        0 | 1 => {
            task::HANDOFF.store(on == 1, Ordering::Relaxed);
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}

/// Reads the descriptor list of a spawn (`i32`s).
pub fn read_fds(ptr: u64, count: u64) -> Result<alloc::vec::Vec<i32>, isize> {
    if count > doors::MAX_CAPACITY as u64 {
        return Err(EINVAL);
    }
    let bytes = UserSlice::new(ptr, count * 4)?
        .read_vec(SCHED.lock().current_space())
        .map_err(|_| EFAULT)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
