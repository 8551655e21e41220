//! Door system calls. Each decodes its registers and user structures, asks
//! the door logic (which validates everything before it changes anything),
//! then carries out the outcome: for door_call and door_return that means
//! handing the CPU straight to the server thread or back to the caller.

use super::{SysResult, fd_arg};
use crate::mem::pages::FrameStore;
use crate::mem::user::UserPtr;
use crate::task::{self, Entry, Resume, SCHED, Sched, Wait};
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

pub fn door_call(d: u64, params_ptr: u64) -> Resume {
    match door_call_checked(d, params_ptr) {
        Ok(resume) => resume,
        Err(e) => Resume::Return(Err(e)),
    }
}

fn door_call_checked(d: u64, params_ptr: u64) -> Result<Resume, Errno> {
    let d = fd_arg(d)?;
    let mut g = SCHED.lock();
    let (tid, cred) = (g.current_tid(), g.current_cred());
    let params = match params_ptr {
        0 => {
            let (doors, caps, _) = g.door_env();
            if let Some(up) = doors.try_null_call(caps, tid, cred, d) {
                FAST_PATHS.fetch_add(1, Ordering::Relaxed);
                let entry = Entry {
                    sp: up.sp,
                    status: up.status,
                    regs: up.regs,
                };
                let resume = Resume::Invocation(entry);
                return Ok(task::door_handoff(g, Wait::DoorCall, up.server, resume));
            }
            None
        }
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
    Ok(match called? {
        Called::Handoff => {
            g.deliver_upcall(&up);
            task::handoff(g, Wait::DoorCall, up.server)
        }
        Called::Wait => task::door_wait(g, Wait::DoorCall),
    })
}

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
    let fast = match (ret.data_ptr, ret.data_size, ret.desc_num) {
        (0, 0, 0) => {
            let (doors, caps, memory) = g.door_env();
            doors.try_null_return(&memory, caps, tid, ret.stack)
        }
        _ => None,
    };
    if let Some((caller, next)) = fast {
        FAST_PATHS.fetch_add(1, Ordering::Relaxed);
        g.handle_events();
        let done = Resume::Return(Ok(0));
        return match next {
            Next::Park => Ok(task::door_handoff(g, Wait::DoorPark, caller, done)),
            next => {
                g.set_resume(caller, done);
                after_return(g, tid, Some(caller), next)
            }
        };
    }
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
    let caller = out.reply.as_ref().map(|r| r.caller);
    if let Some(r) = &out.reply {
        g.deliver_reply(r);
    }
    after_return(g, tid, caller, out.next)
}

/// What a returning server thread does once its results are delivered (to
/// `caller`, if any): park (and come back with its next invocation), serve
/// the invocation it took, or fail.
fn after_return(
    mut g: MutexGuard<'static, Sched>,
    tid: u32,
    caller: Option<u32>,
    next: Next,
) -> Result<Resume, Errno> {
    match next {
        Next::Park => Ok(match caller {
            Some(c) => task::handoff(g, Wait::DoorPark, c),
            None => task::door_wait(g, Wait::DoorPark),
        }),
        Next::Serve(up) => {
            g.deliver_upcall(&up);
            match caller {
                Some(c) => task::yield_to(g, c),
                None => drop(g),
            }
            Ok(SCHED.lock().take_resume(tid))
        }
        Next::Fail(e) => {
            if let Some(c) = caller {
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
