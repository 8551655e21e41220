//! Door system calls. Each decodes its registers and user structures, asks
//! the door logic (which validates everything before it changes anything),
//! then carries out the outcome: for door_call and door_return that means
//! parking the calling thread (`task::door_park`: it keeps no kernel
//! context, and resumes in user mode with the outcome its waker writes) and
//! handing the CPU straight to the server thread or back to the caller.

use super::{SysResult, fd_arg};
use crate::arch::traps::TrapFrame;
use crate::mem::pages::FrameStore;
use crate::mem::user::UserPtr;
use crate::task::{self, Entry, Leave, Resume, SCHED, Sched, Wait};
use abi::{DOOR_CREATE_RUN_SERVER_CREATE, DoorArg, DoorCred, DoorInfo, Errno, Ucred};
use core::sync::atomic::{AtomicU64, Ordering};
use doors::{CallParams, Called, DoorSystem, Next, ReturnArgs, ReturnOutcome, StackArea, Upcall};
use kernel::cap::{CapSpace, Capability};
use spin::MutexGuard;

/// Door calls and returns that took the null-call fast path
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
    let created = with_doors(|d, caps, pid, _| d.door_create(caps, pid, pc, cookie, attributes))?;
    let flag = match created.create_server {
        Some(_) => DOOR_CREATE_RUN_SERVER_CREATE as u64,
        None => 0,
    };
    Ok(created.fd as u64 | flag)
}

/// `door_call(d, NULL)` through the door logic's fast path, when it
/// applies (see [`DoorSystem::try_null_call`]): the caller parks and the
/// server thread starts at once. Returns, with nothing changed, otherwise.
#[inline(never)]
pub fn fast_call(frame: &TrapFrame) {
    let Ok(d) = fd_arg(frame.rdi) else { return };
    if frame.rsi != 0 {
        return;
    }
    let mut g = SCHED.lock();
    let Some(me) = g.current_door_key() else {
        return;
    };
    let cred = g.current_cred();
    let (doors, caps, _) = g.door_env();
    let Some(up) = doors.try_null_call(caps, me, cred, d) else {
        return;
    };
    FAST_PATHS.fetch_add(1, Ordering::Relaxed);
    let resume = Resume::Invocation(Entry {
        sp: up.sp,
        status: up.status,
        regs: up.regs,
    });
    task::door_park(
        g,
        Leave::Blocked(Wait::DoorCall),
        Some((up.server, &resume)),
    )
}

/// `door_return(NULL, 0, NULL, 0)` through the door logic's fast path,
/// when it applies (see [`DoorSystem::try_null_return`]): the thread parks
/// and the caller resumes at once. Returns, with nothing changed,
/// otherwise.
#[inline(never)]
pub fn fast_return(frame: &TrapFrame) {
    if (frame.rdi | frame.rsi | frame.r10) != 0 {
        return;
    }
    let stack = StackArea {
        base: frame.r8,
        size: frame.r9,
    };
    let mut g = SCHED.lock();
    let Some(me) = g.current_door_key() else {
        return;
    };
    let (doors, _, memory) = g.door_env();
    let Some(caller) = doors.try_null_return(&memory, me, stack) else {
        return;
    };
    FAST_PATHS.fetch_add(1, Ordering::Relaxed);
    let done = Resume::Return(Ok(0));
    task::door_park(g, Leave::Blocked(Wait::DoorPark), Some((caller, &done)))
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
            Some(CallParams { addr, arg })
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
    with_doors(|doors, caps, pid, _| doors.door_revoke(caps, pid, d)).map(|()| 0)
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
