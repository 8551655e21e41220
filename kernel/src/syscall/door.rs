//! Door system calls. Each decodes its registers and user structures, asks
//! the door logic (which validates everything before it changes anything),
//! then carries out the outcome: for door_call and door_return that means
//! parking the calling thread (`task::door_park`: it keeps no kernel
//! context, and resumes in user mode with the outcome its waker writes) and
//! handing the CPU straight to the server thread or back to the caller.
//! `syscall::dispatch` sends door_call and door_return here first, to the
//! fast paths (the door logic's `try_fast_call`/`try_fast_return`: the
//! most common calls and returns, with their copies), which go on to the
//! general path when they decline.

use super::{SysResult, fd_arg};
use crate::arch::traps::TrapFrame;
use crate::mem::pages::FrameStore;
use crate::mem::user::UserPtr;
use crate::task::{
    self, DoorTarget, Entry, FastDoorEnv, Leave, ProcessMemory, Resume, SCHED, Sched, Wait,
    copy_arguments, deliver_results,
};
use crate::trace;
use abi::{DOOR_CREATE_RUN_SERVER_CREATE, DoorArg, DoorCred, DoorInfo, Errno, Ucred};
use core::sync::atomic::{AtomicU64, Ordering};
use doors::{
    CallParams, Called, DoorSystem, FastCaller, Next, ReturnArgs, ReturnOutcome, StackArea, Upcall,
};
use kernel::cap::{CapSpace, Capability};
use spin::MutexGuard;

/// Door calls and returns that took the fast path
/// (`kstat::DOOR_FAST_PATHS`).
pub static FAST_PATHS: AtomicU64 = AtomicU64::new(0);

/// Runs `op` on the door logic for the calling thread (with its process and
/// the descriptor tables), then carries out the events it queued.
fn with_doors<T>(
    op: impl FnOnce(
        &mut DoorSystem<Capability>,
        &mut CapSpace<FrameStore>,
        u32,
        u32,
    ) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let mut g = SCHED.lock();
    let (pid, tid) = (g.current_pid(), g.current_tid());
    let objects = g.objects();
    let r = op(&mut objects.doors, &mut objects.caps, pid, tid);
    g.handle_events();
    r
}

pub fn door_create(pc: u64, cookie: u64, attributes: u64) -> SysResult {
    let attributes = u32::try_from(attributes).map_err(|_| Errno::EINVAL)?;
    let created = with_doors(|d, caps, pid, _| {
        let created = d.door_create(caps, pid, pc, cookie, attributes)?;
        // Close-on-exec, as door_create(3C) says: the door dies with the
        // image at exec anyway.
        if let Some(table) = caps.table_mut(pid) {
            table.set_cloexec(created.fd, true);
        }
        Ok(created)
    })?;
    trace::door_create(created.fd, created.create_server.is_some());
    let flag = match created.create_server {
        Some(_) => DOOR_CREATE_RUN_SERVER_CREATE as u64,
        None => 0,
    };
    Ok(created.fd as u64 | flag)
}

/// door_call: through the fast path when it applies, else the general
/// path. The null call (`params == NULL`, no memory to check or copy) and
/// the call with a `door_arg_t` have a fast path each, compiled apart.
#[inline(always)]
pub fn fast_call(frame: &mut TrapFrame) {
    match frame.rsi {
        0 => fast_null_call(frame),
        _ => fast_data_call(frame),
    }
}

/// [`fast_call`] with `params == NULL`.
#[inline(never)]
fn fast_null_call(frame: &mut TrapFrame) {
    try_fast_call(frame, None);
    super::dispatch_general(frame)
}

/// [`fast_call`] with a `door_arg_t`.
#[inline(never)]
fn fast_data_call(frame: &mut TrapFrame) {
    try_fast_call(frame, Some(frame.rsi));
    super::dispatch_general(frame)
}

/// door_return: through the fast path when it applies, else the general
/// path. A return without results and one with results have a fast path
/// each, compiled apart.
#[inline(always)]
pub fn fast_return(frame: &mut TrapFrame) {
    match frame.rdi | frame.rsi {
        0 => fast_empty_return(frame),
        _ => fast_data_return(frame),
    }
}

/// [`fast_return`] with no results (`data` NULL, `size` 0).
#[inline(never)]
fn fast_empty_return(frame: &mut TrapFrame) {
    try_fast_return(frame, 0, 0);
    super::dispatch_general(frame)
}

/// [`fast_return`] with results.
#[inline(never)]
fn fast_data_return(frame: &mut TrapFrame) {
    try_fast_return(frame, frame.rdi, frame.rsi);
    super::dispatch_general(frame)
}

/// `door_call(d, params)` (`params`: the address of the `door_arg_t`, if
/// any) through the door logic's fast path, when it applies (see
/// [`DoorSystem::try_fast_call`]): the arguments are copied, the caller
/// parks and the server thread starts at once. Returns, with nothing
/// changed, otherwise.
#[inline(always)]
fn try_fast_call(frame: &TrapFrame, params: Option<u64>) {
    // A descriptor is a non-negative int (the general path answers the
    // rest).
    let Ok(d) = i32::try_from(frame.rdi) else {
        return;
    };
    // Nothing holds the lock on a system call's way in (one CPU, and
    // interrupts off in the kernel): trying it is taking it, one compare
    // less than a lock that would spin.
    let Some(mut g) = SCHED.try_lock() else {
        return;
    };
    let Some(FastDoorEnv {
        doors,
        caps,
        procs,
        me,
    }) = g.fast_door_env()
    else {
        return;
    };
    let Some(key) = me.door_key() else { return };
    let pid = me.pid;
    let caller = FastCaller {
        key,
        pid,
        cred: me.cred(),
    };
    let Some(door) = caps.door_hinted(me.caps_at(), pid, d) else {
        return;
    };
    let memory = ProcessMemory::new(procs, pid);
    let (up, data_ptr) = match params {
        None => (doors.try_fast_call(&memory, caller, door, None), 0),
        Some(addr) => {
            let Some(params) = memory.read_params(addr, me.door_pages()) else {
                return;
            };
            let up = doors.try_fast_call(&memory, caller, door, Some(&params));
            (up, params.arg.data_ptr)
        }
    };
    let Some(up) = up else { return };
    if params.is_some() {
        let (to, len) = (up.regs[1], up.regs[2]);
        copy_arguments(
            procs,
            &memory,
            (data_ptr, up.from),
            (up.server_pid, to, up.to),
            len,
        );
    }
    let parked = me.park(Leave::Blocked(Wait::DoorCall));
    FAST_PATHS.fetch_add(1, Ordering::Relaxed);
    let resume = Resume::Invocation(Entry {
        sp: up.sp,
        status: up.status,
        regs: up.regs,
    });
    // SAFETY: the door logic handed the server's handle back just now,
    // under this hold of the lock.
    let server = unsafe { DoorTarget::handed_back(up.server, up.server_handle) };
    task::door_leave(g, parked, Some((server, &resume)))
}

/// `door_return(data, size, desc_ptr, 0)` (`data` and `size` as in
/// `frame`) through the door logic's fast path, when it applies (see
/// [`DoorSystem::try_fast_return`]): the results are copied, the thread
/// parks and the caller resumes at once. Returns, with nothing changed,
/// otherwise.
#[inline(always)]
fn try_fast_return(frame: &TrapFrame, data: u64, size: u64) {
    if frame.r10 != 0 {
        return;
    }
    let stack = StackArea {
        base: frame.r8,
        size: frame.r9,
    };
    let Some(mut g) = SCHED.try_lock() else {
        return;
    };
    let Some(FastDoorEnv {
        doors, procs, me, ..
    }) = g.fast_door_env()
    else {
        return;
    };
    let Some(key) = me.door_key() else { return };
    let pid = me.pid;
    let memory = ProcessMemory::new(procs, pid);
    let Some(reply) = doors.try_fast_return(&memory, key, data, size, stack) else {
        return;
    };
    if let Some(place) = reply.place {
        deliver_results(
            procs,
            &memory,
            data,
            reply.from,
            size,
            reply.caller_pid,
            place,
        );
    }
    let parked = me.park(Leave::Blocked(Wait::DoorPark));
    FAST_PATHS.fetch_add(1, Ordering::Relaxed);
    let done = Resume::Return(Ok(0));
    // SAFETY: the door logic handed the caller's handle back just now,
    // under this hold of the lock.
    let caller = unsafe { DoorTarget::handed_back(reply.caller, reply.caller_handle) };
    task::door_leave(g, parked, Some((caller, &done)))
}

/// door_call: returns only when it fails at once; otherwise the calling
/// thread parks until the call ends.
pub fn door_call(d: u64, params_ptr: u64) -> SysResult {
    let d = fd_arg(d)?;
    let mut g = SCHED.lock();
    let (tid, cred) = (g.current_tid(), g.current_cred());
    let params = match params_ptr {
        0 => None,
        addr => {
            let arg = UserPtr::<DoorArg>::new(addr)?.read(g.current_space())?;
            Some(CallParams {
                addr,
                arg,
                located: None,
            })
        }
    };
    // Beyond the fast path. Filled in place: the upcall is large, and
    // moving it costs copies.
    let mut up = Upcall::default();
    let called = {
        let (doors, caps, memory) = g.door_env();
        doors.door_call_into(&memory, caps, tid, cred, d, params, &mut up)
    };
    g.handle_events();
    let server = match called? {
        Called::Handoff => Some((up.server, g.deliver_upcall(&up))),
        Called::Wait => None,
    };
    drop(up);
    let server = server.as_ref().map(|(tid, resume)| (*tid, resume));
    task::door_park(g, Leave::Blocked(Wait::DoorCall), server)
}

/// door_return: returns only when it fails, or when the thread, done with
/// its invocation, starts a queued one at once; otherwise it parks.
pub fn door_return(a: [u64; 6]) -> Resume {
    match door_return_checked(a) {
        Ok(resume) => resume,
        Err(e) => Resume::Return(Err(e)),
    }
}

fn door_return_checked(a: [u64; 6]) -> Result<Resume, Errno> {
    let ret = ReturnArgs {
        data_ptr: a[0],
        data_size: a[1],
        desc_ptr: a[2],
        desc_num: u32::try_from(a[3]).map_err(|_| Errno::EINVAL)?,
        stack: StackArea {
            base: a[4],
            size: a[5],
        },
    };
    let mut g = SCHED.lock();
    let tid = g.current_tid();
    // Beyond the fast path. Filled in place: the outcome is large, and
    // moving it costs copies.
    let mut out = ReturnOutcome {
        reply: None,
        next: Next::Park,
    };
    let returned = {
        let (doors, caps, mut memory) = g.door_env();
        doors.door_return_into(&mut memory, caps, tid, ret, &mut out)
    };
    g.handle_events();
    returned?;
    let caller = out.reply.map(|r| (r.caller, g.deliver_reply(&r)));
    after_return(g, tid, caller, out.next)
}

/// What a returning server thread does once its results are delivered (to
/// `caller`, which resumes with the outcome given, if there is one): park
/// (and come back with its next invocation), serve the invocation it took
/// (after the caller, if any, has run), or fail.
fn after_return(
    mut g: MutexGuard<'static, Sched>,
    tid: u32,
    caller: Option<(u32, Resume)>,
    next: Next,
) -> Result<Resume, Errno> {
    match next {
        Next::Park => {
            let caller = caller.as_ref().map(|(tid, resume)| (*tid, resume));
            task::door_park(g, Leave::Blocked(Wait::DoorPark), caller)
        }
        Next::Serve(up) => {
            trace::serve(&up, caller.is_some());
            let own = g.deliver_upcall(&up);
            drop(up);
            match caller {
                Some(caller) => {
                    g.set_resume(tid, own);
                    task::door_park(g, Leave::Ready, Some((caller.0, &caller.1)))
                }
                None => Ok(own),
            }
        }
        Next::Fail(e) => {
            trace::door_return(caller.as_ref().map(|(c, _)| *c));
            if let Some((c, done)) = caller {
                g.set_resume(c, done);
                g.wake(c);
            }
            Err(e)
        }
    }
}

pub fn door_info(d: u64, info_ptr: u64) -> SysResult {
    let d = fd_arg(d)?;
    let info = with_doors(|doors, caps, _, tid| doors.door_info(caps, tid, d))?;
    UserPtr::<DoorInfo>::new(info_ptr)?.write(SCHED.lock().current_space(), &info)?;
    Ok(0)
}

pub fn door_revoke(d: u64) -> SysResult {
    let d = fd_arg(d)?;
    with_doors(|doors, caps, pid, _| doors.door_revoke(caps, pid, d))?;
    trace::revoke(d);
    Ok(0)
}

pub fn door_setparam(d: u64, param: u64, value: u64) -> SysResult {
    let d = fd_arg(d)?;
    let param = i32::try_from(param as i64).map_err(|_| Errno::EINVAL)?;
    with_doors(|doors, caps, pid, _| doors.door_setparam(caps, pid, d, param, value)).map(|()| 0)
}

pub fn door_getparam(d: u64, param: u64, out: u64) -> SysResult {
    let d = fd_arg(d)?;
    let param = i32::try_from(param as i64).map_err(|_| Errno::EINVAL)?;
    let value = with_doors(|doors, caps, pid, _| doors.door_getparam(caps, pid, d, param))?;
    UserPtr::<u64>::new(out)?.write(SCHED.lock().current_space(), &value)?;
    Ok(0)
}

pub fn door_ucred(out: u64) -> SysResult {
    let cred = with_doors(|doors, _, _, tid| doors.door_ucred(tid))?;
    UserPtr::<Ucred>::new(out)?.write(SCHED.lock().current_space(), &cred)?;
    Ok(0)
}

pub fn door_cred(out: u64) -> SysResult {
    let cred = with_doors(|doors, _, _, tid| doors.door_cred(tid))?;
    UserPtr::<DoorCred>::new(out)?.write(SCHED.lock().current_space(), &cred)?;
    Ok(0)
}

pub fn door_bind(d: u64) -> SysResult {
    let d = fd_arg(d)?;
    with_doors(|doors, caps, _, tid| doors.door_bind(caps, tid, d)).map(|()| 0)
}

pub fn door_unbind() -> SysResult {
    with_doors(|doors, _, _, tid| doors.door_unbind(tid)).map(|()| 0)
}

pub fn door_cancelled() -> SysResult {
    with_doors(|doors, _, _, tid| Ok(u64::from(doors.is_cancelled(tid))))
}

pub fn door_abort(target: u64) -> SysResult {
    let target = u32::try_from(target).map_err(|_| Errno::ESRCH)?;
    with_doors(|doors, caps, pid, _| doors.abort_call(caps, pid, target)).map(|()| 0)
}

pub fn door_handoff(on: u64) -> SysResult {
    let on = match on {
        0 => false,
        1 => true,
        _ => return Err(Errno::EINVAL),
    };
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    g.set_handoff(pid, on);
    Ok(0)
}
