//! Moving invocations: door_call (checks, then a scheduler handoff to an
//! idle server thread or queueing), argument layout, descriptor translation
//! between tables, unreferenced notice delivery, and abandoning calls
//! (cancellation). door_return is in `returning`.
//!
//! The null call is the hot path: each record is looked up once (registry
//! positions and slab keys are passed on), descriptor work is skipped for
//! empty lists, and the upcall is built in place in the returned outcome.

use crate::abi::{self, DoorDesc, DoorResults};
use crate::outcome::{
    ArgCopy, ArgLayout, CallOutcome, Called, Depleted, Event, StackArea, Upcall, UserMemory,
};
use crate::registry::At;
use crate::system::{CallState, DoorId, Invocation, Message, Pending, ReplyTo};
use crate::{CallParams, Cred, DoorSystem, Errno, Fd, KERNEL_PID, Pid, Tid};
use alloc::vec::Vec;

pub(crate) const DESC_SIZE: u64 = core::mem::size_of::<DoorDesc>() as u64;
const INFO_SIZE: u64 = core::mem::size_of::<abi::DoorInfo>() as u64;
pub(crate) const ARG_SIZE: u64 = core::mem::size_of::<abi::DoorArg>() as u64;

/// Places an invocation with `data` bytes and `ndesc` descriptors in `area`,
/// keeping `reserve` bytes free at the bottom; `None` if it does not fit.
#[inline]
pub(crate) fn layout(area: StackArea, data: u64, ndesc: u32, reserve: u64) -> Option<ArgLayout> {
    let top = area.base.checked_add(area.size)?;
    let info_addr = top.checked_sub(INFO_SIZE)? & !7;
    let desc_addr = info_addr.checked_sub(ndesc as u64 * DESC_SIZE)? & !7;
    let data_addr = desc_addr.checked_sub(data)? & !15;
    let floor = area.base.checked_add(reserve)?;
    (data_addr >= floor).then_some(ArgLayout {
        info_addr,
        desc_addr,
        data_addr,
        sp: data_addr,
    })
}

/// The idle thread a checked call goes to.
pub(crate) struct Taken {
    pub server: Tid,
    /// Where the server thread is in the thread registry.
    pub at: At,
    /// Where the invocation goes in its area.
    pub layout: ArgLayout,
}

/// What door_call's checks found.
struct Checked {
    passed: Vec<Passed>,
    /// Where the server process is, for a door of its shared pool.
    shared: Option<At>,
    /// The idle thread taking the call, if any (else the call waits).
    server: Option<Taken>,
}

/// A descriptor entry of a call or return, checked against the sender's table.
pub(crate) struct Passed {
    pub fd: Fd,
    pub door: DoorId,
    pub release: bool,
}

/// Checks `raw` against `pid`'s table: every entry has DOOR_DESCRIPTOR, no
/// unknown bits, a live descriptor, and a DOOR_RELEASE descriptor appears
/// once. EINVAL otherwise.
#[inline]
pub(crate) fn parse_descs(
    sys: &DoorSystem,
    pid: Pid,
    raw: &[DoorDesc],
) -> Result<Vec<Passed>, Errno> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    parse_some_descs(sys, pid, raw)
}

/// [`parse_descs`] for a non-empty `raw` (kept out of line).
fn parse_some_descs(sys: &DoorSystem, pid: Pid, raw: &[DoorDesc]) -> Result<Vec<Passed>, Errno> {
    let mut out: Vec<Passed> = Vec::with_capacity(raw.len());
    for d in raw {
        let attrs = d.d_attributes;
        if attrs & abi::DOOR_DESCRIPTOR == 0
            || attrs & !(abi::DOOR_DESCRIPTOR | abi::DOOR_RELEASE) != 0
        {
            return Err(Errno::EINVAL);
        }
        let fd = d.d_descriptor;
        let door = sys.lookup(pid, fd).map_err(|_| Errno::EINVAL)?;
        let release = attrs & abi::DOOR_RELEASE != 0;
        if out.iter().any(|p| p.fd == fd && (p.release || release)) {
            return Err(Errno::EINVAL);
        }
        out.push(Passed { fd, door, release });
    }
    Ok(out)
}

/// The live DOOR_RELEASE descriptors of `raw` (each once): what a failed
/// call closes.
pub(crate) fn release_fds(sys: &DoorSystem, pid: Pid, raw: &[DoorDesc]) -> Vec<Fd> {
    let mut fds: Vec<Fd> = raw
        .iter()
        .filter(|d| {
            d.d_attributes & abi::DOOR_RELEASE != 0 && sys.lookup(pid, d.d_descriptor).is_ok()
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

impl DoorSystem {
    /// door_call by thread `tid` on descriptor `fd`; `params` is `None` for
    /// `params == NULL`. EFAULT for reading `door_arg_t` itself is the
    /// kernel's. Checks, in order: EBADF (not a door, revoked, server gone);
    /// E2BIG (more than `max_desc_per_msg` descriptors); EFAULT (door_arg_t
    /// not writable, data not readable, descriptors not readable, rbuf not
    /// writable); then, closing the DOOR_RELEASE descriptors on failure:
    /// EINVAL (bad entry), ENOTSUP (DOOR_REFUSE_DESC), ENFILE (DESC_MAX),
    /// ENOBUFS (DATA_MIN..DATA_MAX), E2BIG (does not fit the idle server
    /// thread's area), EMFILE (server table cannot take the descriptors).
    pub fn door_call<M: UserMemory>(
        &mut self,
        mem: &M,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Result<CallOutcome, Errno> {
        let mut up = Upcall::default();
        Ok(match self.door_call_into(mem, tid, fd, params, &mut up)? {
            Called::Handoff => CallOutcome::Handoff(up),
            Called::Wait => CallOutcome::Wait,
        })
    }

    /// [`DoorSystem::door_call`] for the kernel's hot path: on
    /// [`Called::Handoff`] the upcall is written into `up` (a reused buffer,
    /// any previous contents are replaced) instead of being returned by
    /// value; on `Wait` or `Err`, `up` is left as it was.
    pub fn door_call_into<M: UserMemory>(
        &mut self,
        mem: &M,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
        up: &mut Upcall,
    ) -> Result<Called, Errno> {
        let caller_at = self.running_thread_at(tid)?;
        let pid = self.threads.at(caller_at).pid;
        let caller = self.procs.get(&pid).ok_or(Errno::EBADF)?;
        let id = caller.table.get(fd).ok_or(Errno::EBADF)?;
        let cred = caller.cred;
        if !self.door(id).callable() {
            return Err(Errno::EBADF);
        }
        let arg = params.map(|p| p.arg).unwrap_or_default();
        if arg.desc_num > self.cfg.max_desc_per_msg {
            return Err(Errno::E2BIG);
        }
        if let Some(p) = params {
            let ok = mem.accessible(pid, p.addr, ARG_SIZE, true)
                && mem.accessible(pid, arg.data_ptr, arg.data_size, false)
                && mem.accessible(pid, arg.rbuf, arg.rsize, true);
            if !ok {
                return Err(Errno::EFAULT);
            }
        }
        let raw = if arg.desc_num > 0 {
            mem.read_descs(pid, arg.desc_ptr, arg.desc_num)?
        } else {
            Vec::new()
        };
        let checked = match self.check_call(id, &arg, &raw, pid) {
            Ok(v) => v,
            Err(e) => {
                for fd in release_fds(self, pid, &raw) {
                    self.close(pid, fd)
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
            self.door_mut(p.door).refs += 1;
        }
        let msg = Message {
            data_ptr: arg.data_ptr,
            data_size: arg.data_size,
            descs: passed.iter().map(|p| p.door).collect(),
            reply: params.map(|p| ReplyTo {
                params_addr: p.addr,
                rbuf: arg.rbuf,
                rsize: arg.rsize,
            }),
            caller_pid: pid,
            cred,
        };
        let pool = match checked.shared {
            Some(at) => &mut self.procs.at_mut(at).pool,
            None => &mut self.door_mut(id).pool,
        };
        let Some(server) = checked.server else {
            pool.queue.push_back(Pending::Call {
                caller: tid,
                door: id,
                msg,
            });
            self.threads.at_mut(caller_at).call = Some(CallState::Waiting(key));
            self.release(pid, &passed);
            return Ok(Called::Wait);
        };
        pool.idle.pop();
        let depleted = pool.idle.is_empty();
        self.start_call((tid, caller_at), server, id, msg, depleted, up);
        self.release(pid, &passed);
        Ok(Called::Handoff)
    }

    /// Closes the DOOR_RELEASE descriptors of a delivered message.
    #[inline]
    pub(crate) fn release(&mut self, pid: Pid, passed: &[Passed]) {
        for p in passed.iter().filter(|p| p.release) {
            self.close(pid, p.fd)
                .expect("release of a checked descriptor");
        }
    }

    /// The checks of door_call that close DOOR_RELEASE descriptors when they
    /// fail.
    #[inline(always)]
    fn check_call(
        &self,
        id: DoorId,
        arg: &abi::DoorArg,
        raw: &[DoorDesc],
        pid: Pid,
    ) -> Result<Checked, Errno> {
        let passed = parse_descs(self, pid, raw)?;
        let d = self.door(id);
        let n = raw.len() as u32;
        if n > 0 && d.attrs & abi::DOOR_REFUSE_DESC != 0 {
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
        let shared = if d.attrs & abi::DOOR_PRIVATE == 0 {
            Some(self.procs.find(d.server).expect("server process gone"))
        } else {
            None
        };
        let pool = match shared {
            Some(at) => &self.procs.at(at).pool,
            None => &d.pool,
        };
        let server = match pool.idle.last() {
            Some(&server) => {
                let at = self.threads.find(server).expect("idle thread unknown");
                let stack = self.threads.at(at).stack;
                let layout =
                    layout(stack, arg.data_size, n, self.cfg.stack_reserve).ok_or(Errno::E2BIG)?;
                Some(Taken { server, at, layout })
            }
            None => None,
        };
        if n > 0 && self.procs[&d.server].table.free_slots() < n as usize {
            return Err(Errno::EMFILE);
        }
        Ok(Checked {
            passed,
            shared,
            server,
        })
    }

    /// Starts a validated call of `caller` (thread and position) on the
    /// idle-taken thread `server`: installs the descriptors in the server's
    /// table and records the invocation; writes the upcall into `up`.
    #[inline(always)]
    pub(crate) fn start_call(
        &mut self,
        (caller, caller_at): (Tid, At),
        server: Taken,
        id: DoorId,
        msg: Message,
        depleted: bool,
        up: &mut Upcall,
    ) {
        let inv = self.invs.insert(Invocation {
            door: id,
            server: server.server,
            caller: Some(caller),
            unref: false,
            reply: msg.reply,
            caller_pid: msg.caller_pid,
            cred: msg.cred,
            cancelled: false,
        });
        self.threads.at_mut(caller_at).call = Some(CallState::Active(inv));
        let s = self.threads.at_mut(server.at);
        s.idle = None;
        s.serving = Some(inv);
        let server_pid = s.pid;
        let descs = self.deliver_descs(server_pid, &msg.descs);
        let copy = (msg.data_size > 0).then_some(ArgCopy {
            from_pid: msg.caller_pid,
            from: msg.data_ptr,
            len: msg.data_size,
        });
        let (tid, layout) = (server.server, server.layout);
        self.upcall(
            tid,
            server_pid,
            id,
            Some(caller),
            layout,
            copy,
            descs,
            depleted,
            up,
        )
    }

    /// Moves in-flight references into `pid`'s table (the reference moves,
    /// the count does not change) and describes them for the receiver.
    #[inline]
    pub(crate) fn deliver_descs(&mut self, pid: Pid, doors: &[DoorId]) -> Vec<DoorDesc> {
        if doors.is_empty() {
            return Vec::new();
        }
        self.deliver_some_descs(pid, doors)
    }

    /// [`DoorSystem::deliver_descs`] for a non-empty `doors` (kept out of
    /// line).
    fn deliver_some_descs(&mut self, pid: Pid, doors: &[DoorId]) -> Vec<DoorDesc> {
        let mut out = Vec::with_capacity(doors.len());
        for &d in doors {
            let fd = self.install(pid, d);
            self.door_mut(d).refs -= 1;
            let info = self.info_of(d, pid);
            let mut desc = DoorDesc::new(fd, abi::DOOR_DESCRIPTOR | info.di_attributes);
            desc.d_id = info.di_uniquifier;
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
        let private = d.attrs & abi::DOOR_PRIVATE != 0;
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
        up.results = DoorResults {
            cookie: d.cookie,
            data_ptr: if caller.is_none() {
                abi::DOOR_UNREF_DATA
            } else {
                layout.data_addr
            },
            data_size: copy.map_or(0, |c| c.len),
            desc_ptr: if descs.is_empty() {
                0
            } else {
                layout.desc_addr
            },
            desc_num: descs.len() as u64,
            pc: d.pc,
            nservers: if depleted { 0 } else { 1 },
            door_info: if depleted && private {
                layout.info_addr
            } else {
                0
            },
        };
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

    pub(crate) fn start_unref(&mut self, server: Tid, id: DoorId, depleted: bool) -> Upcall {
        let d = self.door_mut(id);
        d.unref.queued = false;
        d.unref.running = true;
        let inv = self.invs.insert(Invocation {
            door: id,
            server,
            caller: None,
            unref: true,
            reply: None,
            caller_pid: KERNEL_PID,
            cred: Cred::default(),
            cancelled: false,
        });
        let t = self.threads.get_mut(&server).expect("server vanished");
        t.idle = None;
        t.serving = Some(inv);
        let server_pid = t.pid;
        let lay = layout(t.stack, 0, 0, self.cfg.stack_reserve)
            .expect("a parked thread's area fits an empty invocation");
        let mut up = Upcall::default();
        self.upcall(
            server,
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
    pub fn abort_call(&mut self, pid: Pid, tid: Tid) -> Result<(), Errno> {
        let t = self
            .threads
            .get_mut(&tid)
            .filter(|t| t.pid == pid)
            .ok_or(Errno::ESRCH)?;
        let call = t.call.take().ok_or(Errno::EINVAL)?;
        let errno = match call {
            CallState::Waiting(_) => Errno::EAGAIN,
            CallState::Active(_) => Errno::EINTR,
        };
        self.abandon(tid, call);
        self.events
            .push_back(Event::CallFailed { caller: tid, errno });
        Ok(())
    }

    /// The caller `tid` gives up its call: a queued call is withdrawn, an
    /// invocation loses its caller and its server is cancelled.
    pub(crate) fn abandon(&mut self, tid: Tid, call: CallState) {
        match call {
            CallState::Waiting(key) => {
                let q = &mut self.pool_mut(key).queue;
                let found = q.iter().enumerate().find_map(|(i, p)| match p {
                    Pending::Call { caller, door, .. } if *caller == tid => Some((i, *door)),
                    _ => None,
                });
                let (pos, door) = found.expect("waiting caller not queued");
                if let Some(Pending::Call { msg, .. }) = q.remove(pos) {
                    self.drop_message(door, msg.descs);
                }
            }
            CallState::Active(inv) => {
                let i = self
                    .invs
                    .get_mut(inv)
                    .expect("active call without invocation");
                i.caller = None;
                let no_cancel = self.doors.get(i.door).expect("door of an invocation").attrs
                    & abi::DOOR_NO_CANCEL;
                if no_cancel == 0 {
                    i.cancelled = true;
                    let server = i.server;
                    self.events.push_back(Event::Cancel { server });
                }
            }
        }
    }

    /// Whether thread `tid` serves an invocation whose client abandoned it
    /// and whose door lacks DOOR_NO_CANCEL (the `door_cancelled()` syscall).
    pub fn is_cancelled(&self, tid: Tid) -> bool {
        let serving = self.threads.get(&tid).and_then(|t| t.serving);
        serving
            .and_then(|inv| self.invs.get(inv))
            .is_some_and(|i| i.cancelled)
    }
}
