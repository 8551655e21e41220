//! Moving invocations: door_call (checks, then a scheduler handoff to an
//! idle server thread or queueing), argument layout, descriptor translation
//! between tables, unreferenced notice delivery, abandoning calls
//! (cancellation), and idle threads leaving their pools (unmapped areas,
//! signals). door_return is in `returning`.
//!
//! The most common calls take the fast path (`fastpath.rs`) instead; here
//! each record is looked up once (registry positions and slab keys are
//! passed on), descriptor work is skipped for empty lists, and the upcall
//! is built in place in the returned outcome.

use crate::descriptors::{Descriptors, DoorId};
use crate::outcome::{
    ArgCopy, ArgLayout, CallOutcome, Called, Depleted, Event, StackArea, UNPLACED, Upcall,
    UserMemory,
};
use crate::system::{CallState, Invocation, Message, Pending, PoolKey, ReplyTo, ThreadKey};
use crate::{CallParams, Cred, DoorSystem, Errno, Fd, KERNEL_PID, Pid, Tid};
use abi::{
    DOOR_DESCRIPTOR, DOOR_NO_CANCEL, DOOR_PRIVATE, DOOR_REFUSE_DESC, DOOR_RELEASE, DoorArg,
    DoorDesc, DoorInfo,
};
use alloc::vec::Vec;

pub(crate) const DESC_SIZE: u64 = core::mem::size_of::<DoorDesc>() as u64;
const INFO_SIZE: u64 = core::mem::size_of::<DoorInfo>() as u64;
pub(crate) const ARG_SIZE: u64 = core::mem::size_of::<DoorArg>() as u64;

/// The alignment of the block at the top of a server thread's area that
/// the door logic asks a token for: a page, where small arguments land.
const AREA_TOP: u64 = 4096;

/// The top of `area` (not empty) that [`crate::system::Thread::top`]
/// stands for: from the last [`AREA_TOP`]-aligned address in it (or its
/// base) to its end; its start and length.
#[inline(always)]
fn area_top(area: StackArea) -> (u64, u64) {
    let end = area.base.wrapping_add(area.size);
    let start = (end.wrapping_sub(1) & !(AREA_TOP - 1)).max(area.base);
    (start, end.wrapping_sub(start))
}

/// The token and start of the top of `area` of process `pid`, found
/// writable just now (`UNPLACED` when the memory gives none).
#[inline(always)]
pub(crate) fn locate_top<M: UserMemory>(mem: &M, pid: Pid, area: StackArea) -> (u64, u64) {
    let (start, len) = area_top(area);
    (mem.locate(pid, start, len, true).unwrap_or(UNPLACED), start)
}

/// The lowest address an invocation's arguments may start at in `area`,
/// keeping `reserve` bytes free at its bottom (saturating: nothing starts
/// above an area that ends the address space).
#[inline(always)]
pub(crate) fn arg_floor(area: StackArea, reserve: u64) -> u64 {
    area.base.saturating_add(reserve)
}

/// Places an invocation with `data` bytes and `ndesc` descriptors in `area`,
/// keeping `reserve` bytes free at the bottom; `None` if it does not fit.
#[inline]
pub(crate) fn layout(area: StackArea, data: u64, ndesc: u32, reserve: u64) -> Option<ArgLayout> {
    let top = area.base.checked_add(area.size)?;
    let info_addr = top.checked_sub(INFO_SIZE)? & !7;
    let desc_addr = info_addr.checked_sub(ndesc as u64 * DESC_SIZE)? & !7;
    let data_addr = desc_addr.checked_sub(data)? & !15;
    (data_addr >= arg_floor(area, reserve)).then_some(ArgLayout {
        info_addr,
        desc_addr,
        data_addr,
        sp: data_addr,
    })
}

/// The idle thread a checked call goes to.
pub(crate) struct Taken {
    pub server: ThreadKey,
    /// Where the invocation goes in its area.
    pub layout: ArgLayout,
}

/// What door_call's checks found.
struct Checked<C> {
    passed: Vec<Passed<C>>,
    /// The idle thread taking the call, if any (else the call waits).
    server: Option<Taken>,
}

/// A descriptor entry of a call or return, checked against the sender's
/// table: the capability it passes (any kind of object).
pub(crate) struct Passed<C> {
    pub fd: Fd,
    pub cap: C,
    pub release: bool,
}

/// Whether a descriptor entry is well formed: DOOR_DESCRIPTOR, optionally
/// DOOR_RELEASE, nothing else.
fn well_formed(d: &DoorDesc) -> bool {
    let attrs = d.d_attributes;
    attrs & DOOR_DESCRIPTOR != 0 && attrs & !(DOOR_DESCRIPTOR | DOOR_RELEASE) == 0
}

/// Checks `raw` against `pid`'s table: every entry is well formed and names
/// an open descriptor (of any kind), and a DOOR_RELEASE descriptor appears
/// once. EINVAL otherwise.
#[inline]
pub(crate) fn parse_descs<D: Descriptors>(
    caps: &D,
    pid: Pid,
    raw: &[DoorDesc],
) -> Result<Vec<Passed<D::Cap>>, Errno> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    parse_some_descs(caps, pid, raw)
}

/// [`parse_descs`] for a non-empty `raw` (kept out of line).
fn parse_some_descs<D: Descriptors>(
    caps: &D,
    pid: Pid,
    raw: &[DoorDesc],
) -> Result<Vec<Passed<D::Cap>>, Errno> {
    let mut out: Vec<Passed<D::Cap>> = Vec::with_capacity(raw.len());
    for d in raw {
        if !well_formed(d) {
            return Err(Errno::EINVAL);
        }
        let fd = d.d_descriptor;
        let cap = caps.get(pid, fd).ok_or(Errno::EINVAL)?;
        let release = d.d_attributes & DOOR_RELEASE != 0;
        if out.iter().any(|p| p.fd == fd && (p.release || release)) {
            return Err(Errno::EINVAL);
        }
        out.push(Passed { fd, cap, release });
    }
    Ok(out)
}

/// The open descriptors that well-formed DOOR_RELEASE entries of `raw` pass
/// (each once): what a failed call closes. A malformed entry passes
/// nothing, so its descriptor stays open.
pub(crate) fn release_fds<D: Descriptors>(caps: &D, pid: Pid, raw: &[DoorDesc]) -> Vec<Fd> {
    let mut fds: Vec<Fd> = raw
        .iter()
        .filter(|d| {
            well_formed(d)
                && d.d_attributes & DOOR_RELEASE != 0
                && caps.get(pid, d.d_descriptor).is_some()
        })
        .map(|d| d.d_descriptor)
        .collect();
    fds.sort_unstable();
    fds.dedup();
    fds
}

pub(crate) fn round_up(x: u64, to: u64) -> Option<u64> {
    x.checked_add(to - 1).map(|v| v / to * to)
}

impl<C: Copy> DoorSystem<C> {
    /// door_call by thread `tid`, of a process with credentials `cred`, on
    /// descriptor `fd`; `params` is `None` for `params == NULL`. EFAULT for reading `door_arg_t` itself is the
    /// kernel's. Checks, in order: EBADF (not a door, revoked, server gone);
    /// E2BIG (more than `max_desc_per_msg` descriptors or `max_data`
    /// bytes); EFAULT (door_arg_t
    /// not writable, data not readable, descriptors not readable, rbuf not
    /// writable); then, closing the DOOR_RELEASE descriptors on failure:
    /// EINVAL (bad entry), ENOTSUP (DOOR_REFUSE_DESC), ENFILE (DESC_MAX),
    /// ENOBUFS (DATA_MIN..DATA_MAX), E2BIG (does not fit the idle server
    /// thread's area), EMFILE (server table cannot take the descriptors),
    /// EAGAIN (the call would wait, and its descriptors would take the
    /// queued calls beyond `max_queued_descs`).
    pub fn door_call<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        tid: Tid,
        cred: Cred,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Result<CallOutcome, Errno> {
        let mut up = Upcall::default();
        Ok(
            match self.door_call_into(mem, caps, tid, cred, fd, params, &mut up)? {
                Called::Handoff => CallOutcome::Handoff(up),
                Called::Wait => CallOutcome::Wait,
            },
        )
    }

    /// [`DoorSystem::door_call`] for the kernel's hot path: on
    /// [`Called::Handoff`] the upcall is written into `up` (a reused buffer,
    /// any previous contents are replaced) instead of being returned by
    /// value; on `Wait` or `Err`, `up` is left as it was.
    #[allow(clippy::too_many_arguments)]
    pub fn door_call_into<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        tid: Tid,
        cred: Cred,
        fd: Fd,
        params: Option<CallParams>,
        up: &mut Upcall,
    ) -> Result<Called, Errno> {
        let caller = self.running_thread_key(tid)?;
        let pid = self.threads.at(caller).pid;
        let id = self.lookup(caps, pid, fd)?;
        if !self.door(id).callable() {
            return Err(Errno::EBADF);
        }
        let arg = params.map(|p| p.arg).unwrap_or_default();
        if arg.desc_num > self.cfg.max_desc_per_msg || arg.data_size > self.cfg.max_data {
            return Err(Errno::E2BIG);
        }
        let mut at = (UNPLACED, UNPLACED);
        if let Some(p) = params {
            let located = p.locate(mem, pid).ok_or(Errno::EFAULT)?;
            at = (located.params, located.rbuf);
        }
        let raw = if arg.desc_num > 0 {
            mem.read_descs(pid, arg.desc_ptr, arg.desc_num)?
        } else {
            Vec::new()
        };
        let checked = match self.check_call(caps, id, &arg, &raw, pid) {
            Ok(v) => v,
            Err(e) => {
                for fd in release_fds(caps, pid, &raw) {
                    self.close(caps, pid, fd)
                        .expect("release of a checked descriptor");
                }
                return Err(e);
            }
        };
        // Commit: nothing below can fail.
        let door = self.door_mut(id);
        door.active += 1;
        let key = door.pool_key(id);
        let passed = checked.passed;
        for p in &passed {
            self.retain(caps, p.cap);
        }
        let msg = Message {
            data_ptr: arg.data_ptr,
            data_size: arg.data_size,
            descs: passed.iter().map(|p| p.cap).collect(),
            reply: params.map(|p| ReplyTo::of(&p, mem.epoch(), at)),
            caller_pid: pid,
            cred,
        };
        let Some(server) = checked.server else {
            self.queued_descs += msg.descs.len();
            self.pool_mut(key).queue.push_back(Pending::Call {
                caller,
                door: id,
                msg,
            });
            self.threads.at_mut(caller).call = Some(CallState::Waiting(key));
            self.close_released(caps, pid, &passed);
            return Ok(Called::Wait);
        };
        let pool = self.pool_mut(key);
        pool.idle.pop();
        let depleted = pool.idle.is_empty();
        self.start_call(caps, caller, server, id, msg, depleted, up);
        self.close_released(caps, pid, &passed);
        Ok(Called::Handoff)
    }

    /// Closes the DOOR_RELEASE descriptors of a delivered message.
    #[inline]
    pub(crate) fn close_released<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        passed: &[Passed<C>],
    ) {
        for p in passed.iter().filter(|p| p.release) {
            self.close(caps, pid, p.fd)
                .expect("release of a checked descriptor");
        }
    }

    /// The checks of door_call that close DOOR_RELEASE descriptors when they
    /// fail.
    #[inline(always)]
    fn check_call<D: Descriptors<Cap = C>>(
        &self,
        caps: &D,
        id: DoorId,
        arg: &DoorArg,
        raw: &[DoorDesc],
        pid: Pid,
    ) -> Result<Checked<C>, Errno> {
        let passed = parse_descs(caps, pid, raw)?;
        let d = self.door(id);
        let n = raw.len() as u32;
        if n > 0 && d.attrs & DOOR_REFUSE_DESC != 0 {
            return Err(Errno::ENOTSUP);
        }
        if n > d.desc_max {
            return Err(Errno::ENFILE);
        }
        if arg.data_size < d.data_min || arg.data_size > d.data_max {
            return Err(Errno::ENOBUFS);
        }
        // The server process holds the shared pool and the table that takes
        // the descriptors; a null call to a private door needs neither.
        let shared = (d.attrs & DOOR_PRIVATE == 0).then_some(d.server_proc);
        let pool = match shared {
            Some(proc) => &self.procs.at(proc).pool,
            None => &d.pool,
        };
        let server = match pool.idle.last() {
            Some(&server) => {
                let stack = self.threads.at(server).stack;
                let layout =
                    layout(stack, arg.data_size, n, self.cfg.stack_reserve).ok_or(Errno::E2BIG)?;
                Some(Taken { server, layout })
            }
            None => None,
        };
        if n > 0 && caps.room(d.server) < n as usize {
            return Err(Errno::EMFILE);
        }
        if server.is_none() && self.queued_descs + n as usize > self.cfg.max_queued_descs {
            return Err(Errno::EAGAIN);
        }
        Ok(Checked { passed, server })
    }

    /// Starts a validated call of `caller` (thread and position) on the
    /// idle-taken thread `server`: installs the descriptors in the server's
    /// table and records the invocation; writes the upcall into `up`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn start_call<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        caller: ThreadKey,
        server: Taken,
        id: DoorId,
        msg: Message<C>,
        depleted: bool,
        up: &mut Upcall,
    ) {
        let c = self.threads.at_mut(caller);
        c.call = Some(CallState::Active(server.server));
        let caller_tid = c.tid;
        let s = self.threads.at_mut(server.server);
        s.idle = None;
        s.serving = Some(Invocation {
            door: id,
            caller: Some(caller),
            unref: false,
            reply: msg.reply,
            caller_pid: msg.caller_pid,
            cred: msg.cred,
            cancelled: false,
        });
        let (server_tid, server_pid) = (s.tid, s.pid);
        let descs = self.deliver_descs(caps, server_pid, &msg.descs);
        let copy = (msg.data_size > 0).then_some(ArgCopy {
            from_pid: msg.caller_pid,
            from: msg.data_ptr,
            len: msg.data_size,
        });
        self.upcall(
            server_tid,
            server_pid,
            id,
            Some(caller_tid),
            server.layout,
            copy,
            descs,
            depleted,
            up,
        )
    }

    /// Moves in-flight references into `pid`'s table (the reference moves,
    /// the count does not change) and describes them for the receiver: a
    /// door with its attributes and id, any other object as a plain
    /// DOOR_DESCRIPTOR entry (as illumos's `door_insert`).
    #[inline]
    pub(crate) fn deliver_descs<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        passed: &[C],
    ) -> Vec<DoorDesc> {
        if passed.is_empty() {
            return Vec::new();
        }
        self.deliver_some_descs(caps, pid, passed)
    }

    /// [`DoorSystem::deliver_descs`] for a non-empty `passed` (kept out of
    /// line).
    fn deliver_some_descs<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        passed: &[C],
    ) -> Vec<DoorDesc> {
        let mut out = Vec::with_capacity(passed.len());
        for &cap in passed {
            let fd = caps.install(pid, cap);
            let desc = match D::door(cap) {
                Some(d) => {
                    let info = self.info_of(d, pid);
                    let mut desc = DoorDesc::new(fd, DOOR_DESCRIPTOR | info.di_attributes);
                    desc.d_id = info.di_uniquifier;
                    desc
                }
                None => DoorDesc::new(fd, DOOR_DESCRIPTOR),
            };
            out.push(desc);
        }
        out
    }

    /// Writes into `up` what the kernel needs to start an invocation of door
    /// `id` on thread `server` of process `server_pid`; `caller` is `None`
    /// for an unreferenced notice.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn upcall(
        &self,
        server: Tid,
        server_pid: Pid,
        id: DoorId,
        caller: Option<Tid>,
        layout: ArgLayout,
        copy: Option<ArgCopy>,
        descs: Vec<DoorDesc>,
        depleted: bool,
        up: &mut Upcall,
    ) {
        let d = self.door(id);
        let private = d.attrs & DOOR_PRIVATE != 0;
        up.server = server;
        up.server_pid = server_pid;
        up.caller = caller;
        up.door = d.uniq;
        up.layout = layout;
        up.copy = copy;
        up.depleted = depleted.then(|| {
            if private {
                Depleted::Private(self.info_of(id, server_pid))
            } else {
                Depleted::Shared
            }
        });
        up.cookie = d.cookie;
        up.pc = d.pc;
        up.descs = descs;
    }

    /// Queues an unreferenced notice for `id`, or hands it to an idle thread
    /// of its pool right away ([`Event::Dispatch`]).
    pub(crate) fn queue_unref(&mut self, id: DoorId) {
        let d = self.door_mut(id);
        d.unref.queued = true;
        let key = d.pool_key(id);
        let pool = self.pool_mut(key);
        match pool.idle.pop() {
            Some(server) => {
                let depleted = pool.idle.is_empty();
                let up = self.start_unref(server, id, depleted);
                self.events.push_back(Event::Dispatch(up));
            }
            None => pool.queue.push_back(Pending::Unref(id)),
        }
    }

    pub(crate) fn start_unref(&mut self, server: ThreadKey, id: DoorId, depleted: bool) -> Upcall {
        let d = self.door_mut(id);
        d.unref.queued = false;
        d.unref.running = true;
        let t = self.threads.at_mut(server);
        t.idle = None;
        t.serving = Some(Invocation {
            door: id,
            caller: None,
            unref: true,
            reply: None,
            caller_pid: KERNEL_PID,
            cred: Cred::default(),
            cancelled: false,
        });
        let (server_tid, server_pid) = (t.tid, t.pid);
        let lay = layout(t.stack, 0, 0, self.cfg.stack_reserve)
            .expect("a parked thread's area fits an empty invocation");
        let mut up = Upcall::default();
        self.upcall(
            server_tid,
            server_pid,
            id,
            None,
            lay,
            None,
            Vec::new(),
            depleted,
            &mut up,
        );
        up
    }

    /// Abandons the door_call of thread `tid` (process `pid`): it fails with
    /// EAGAIN if still waiting, EINTR if being served (the server is
    /// cancelled unless DOOR_NO_CANCEL). Errors: ESRCH (no such thread in
    /// `pid`), EINVAL (not in a door_call).
    pub fn abort_call<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        tid: Tid,
    ) -> Result<(), Errno> {
        let key = self.threads.find(tid).ok_or(Errno::ESRCH)?;
        let t = self.threads.at_mut(key);
        if t.pid != pid {
            return Err(Errno::ESRCH);
        }
        let call = t.call.take().ok_or(Errno::EINVAL)?;
        let errno = match call {
            CallState::Waiting(_) => Errno::EAGAIN,
            CallState::Active(_) => Errno::EINTR,
        };
        self.abandon(caps, key, call);
        self.events
            .push_back(Event::CallFailed { caller: tid, errno });
        Ok(())
    }

    /// The caller `key` gives up its call: a queued call is withdrawn, an
    /// invocation loses its caller and its server is cancelled.
    pub(crate) fn abandon<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        key: ThreadKey,
        call: CallState,
    ) {
        match call {
            CallState::Waiting(pool) => {
                let q = &mut self.pool_mut(pool).queue;
                let found = q.iter().enumerate().find_map(|(i, p)| match p {
                    Pending::Call { caller, door, .. } if *caller == key => Some((i, *door)),
                    _ => None,
                });
                let (pos, door) = found.expect("waiting caller not queued");
                if let Some(Pending::Call { msg, .. }) = q.remove(pos) {
                    self.queued_descs -= msg.descs.len();
                    self.drop_message(caps, door, msg.descs);
                }
            }
            CallState::Active(server) => {
                let s = self.threads.at_mut(server);
                let server_tid = s.tid;
                let i = s.serving.as_mut().expect("active call without invocation");
                i.caller = None;
                let no_cancel =
                    self.doors.get(i.door).expect("door of an invocation").attrs & DOOR_NO_CANCEL;
                if no_cancel == 0 {
                    i.cancelled = true;
                    self.events.push_back(Event::Cancel { server: server_tid });
                }
            }
        }
    }

    /// Process `pid` can no longer write `len` bytes at `base` (an unmap):
    /// its idle server threads whose argument area overlaps them leave
    /// their pools, and their door_return fails with EFAULT. So an idle
    /// thread's area is always writable, and an invocation is only ever
    /// laid out where the kernel can write it.
    pub fn unmapped(&mut self, pid: Pid, base: u64, len: u64) {
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        let end = base.saturating_add(len);
        let lost: Vec<(ThreadKey, PoolKey)> = p
            .threads
            .iter()
            .filter_map(|&key| {
                let t = self.threads.at(key);
                let area_end = t.stack.base.saturating_add(t.stack.size);
                let overlaps = t.stack.base < end && base < area_end;
                t.idle.filter(|_| overlaps).map(|pool| (key, pool))
            })
            .collect();
        for (key, pool) in lost {
            self.leave_pool(key, pool, Errno::EFAULT);
        }
    }

    /// Thread `tid`, idle in its pool, is interrupted (a signal's handler
    /// is to run in it): it leaves its pool, keeping its binding, and its
    /// door_return fails with EINTR (ParkFailed); a door_return(NULL, 0,
    /// NULL, 0) parks it again. Until then its pool lacks it, as a pool
    /// whose thread serves an invocation. False, nothing changed, for a
    /// thread that is not idle (or unknown).
    pub fn interrupt_idle(&mut self, tid: Tid) -> bool {
        let Some(key) = self.threads.find(tid) else {
            return false;
        };
        let Some(pool) = self.threads.at(key).idle else {
            return false;
        };
        self.leave_pool(key, pool, Errno::EINTR);
        true
    }

    /// Idle thread `key` leaves `pool`, its door_return failing with `errno`.
    fn leave_pool(&mut self, key: ThreadKey, pool: PoolKey, errno: Errno) {
        self.pool_mut(pool).idle.retain(|&x| x != key);
        let t = self.threads.at_mut(key);
        t.idle = None;
        let tid = t.tid;
        self.events.push_back(Event::ParkFailed { tid, errno });
    }

    /// Whether thread `tid` serves an invocation whose client abandoned it
    /// and whose door lacks DOOR_NO_CANCEL (the `door_cancelled()` syscall).
    pub fn is_cancelled(&self, tid: Tid) -> bool {
        let serving = self.threads.get(&tid).and_then(|t| t.serving.as_ref());
        serving.is_some_and(|i| i.cancelled)
    }
}
