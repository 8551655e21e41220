//! Moving invocations: door_call, door_return, parking server threads in
//! their pools, handing work to them (scheduler handoff or queueing),
//! descriptor translation between tables, result placement, unreferenced
//! notice delivery, and abandoning calls (cancellation).

use crate::abi::{self, DoorDesc, DoorResults};
use crate::outcome::{
    ArgCopy, ArgLayout, CallOutcome, Delivery, Depleted, Event, Next, Reply, ReturnOutcome,
    StackArea, Upcall, UserMemory,
};
use crate::system::{
    CallState, DoorId, InvId, Invocation, KERNEL_UCRED, Message, Pending, PoolKey, ReplyTo,
};
use crate::{CallParams, DoorSystem, Errno, Fd, Pid, ReturnArgs, Tid};
use alloc::vec::Vec;

const DESC_SIZE: u64 = core::mem::size_of::<DoorDesc>() as u64;
const INFO_SIZE: u64 = core::mem::size_of::<abi::DoorInfo>() as u64;
const RESULTS_SIZE: u64 = core::mem::size_of::<DoorResults>() as u64;
const ARG_SIZE: u64 = core::mem::size_of::<abi::DoorArg>() as u64;

/// Places an invocation with `data` bytes and `ndesc` descriptors in `area`,
/// keeping `reserve` bytes free at the bottom; `None` if it does not fit.
pub(crate) fn layout(area: StackArea, data: u64, ndesc: u32, reserve: u64) -> Option<ArgLayout> {
    let top = area.base.checked_add(area.size)?;
    let info_addr = top.checked_sub(INFO_SIZE)? & !7;
    let desc_addr = info_addr.checked_sub(ndesc as u64 * DESC_SIZE)? & !7;
    let data_addr = desc_addr.checked_sub(data)? & !15;
    let results_addr = data_addr.checked_sub(RESULTS_SIZE)? & !15;
    let floor = area.base.checked_add(reserve)?;
    (results_addr >= floor).then_some(ArgLayout {
        info_addr,
        desc_addr,
        data_addr,
        results_addr,
        sp: results_addr,
    })
}

/// A descriptor entry of a call or return, checked against the sender's table.
struct Passed {
    fd: Fd,
    door: DoorId,
    release: bool,
}

/// Checks `raw` against `pid`'s table: every entry has DOOR_DESCRIPTOR, no
/// unknown bits, a live descriptor, and a DOOR_RELEASE descriptor appears
/// once. EINVAL otherwise.
fn parse_descs(sys: &DoorSystem, pid: Pid, raw: &[DoorDesc]) -> Result<Vec<Passed>, Errno> {
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
fn release_fds(sys: &DoorSystem, pid: Pid, raw: &[DoorDesc]) -> Vec<Fd> {
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

fn round_up(x: u64, to: u64) -> Option<u64> {
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
        let pid = self.running_thread(tid)?;
        let id = self.lookup(pid, fd)?;
        let door = self.door(id);
        if !door.callable() {
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
        let checked = self.check_call(id, &arg, &raw, pid);
        let (passed, server) = match checked {
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
        for p in &passed {
            self.door_mut(p.door).refs += 1;
        }
        let reply = params.map(|p| ReplyTo {
            params_addr: p.addr,
            rbuf: arg.rbuf,
            rsize: arg.rsize,
        });
        let msg = Message {
            data_ptr: arg.data_ptr,
            data_size: arg.data_size,
            descs: passed.iter().map(|p| p.door).collect(),
            reply,
            cred: self.ucred_of(pid),
        };
        let outcome = match server {
            Some(server) => {
                let pool = self.pool_mut(key);
                pool.idle.pop();
                let depleted = pool.idle.is_empty();
                CallOutcome::Handoff(self.start_call(server, tid, id, msg, depleted))
            }
            None => {
                self.pool_mut(key).queue.push_back(Pending::Call {
                    caller: tid,
                    door: id,
                    msg,
                });
                self.threads.get_mut(&tid).expect("caller vanished").call =
                    Some(CallState::Waiting(key));
                CallOutcome::Wait
            }
        };
        for p in passed.iter().filter(|p| p.release) {
            self.close(pid, p.fd)
                .expect("release of a checked descriptor");
        }
        Ok(outcome)
    }

    /// The checks of door_call that close DOOR_RELEASE descriptors when they
    /// fail. Returns the entries and the idle thread that will serve.
    fn check_call(
        &self,
        id: DoorId,
        arg: &abi::DoorArg,
        raw: &[DoorDesc],
        pid: Pid,
    ) -> Result<(Vec<Passed>, Option<Tid>), Errno> {
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
        let pool = match d.pool_key(id) {
            PoolKey::Shared(p) => &self.procs[&p].pool,
            PoolKey::Private(_) => &d.pool,
        };
        let server = pool.idle.last().copied();
        if let Some(s) = server {
            layout(
                self.threads[&s].stack,
                arg.data_size,
                n,
                self.cfg.stack_reserve,
            )
            .ok_or(Errno::E2BIG)?;
        }
        if self.procs[&d.server].table.free_slots() < n as usize {
            return Err(Errno::EMFILE);
        }
        Ok((passed, server))
    }

    /// Starts a validated call on idle-taken thread `server`: installs the
    /// descriptors in the server's table and records the invocation.
    fn start_call(
        &mut self,
        server: Tid,
        caller: Tid,
        id: DoorId,
        msg: Message,
        depleted: bool,
    ) -> Upcall {
        let server_pid = self.threads[&server].pid;
        let n = msg.descs.len() as u32;
        let lay = layout(
            self.threads[&server].stack,
            msg.data_size,
            n,
            self.cfg.stack_reserve,
        )
        .expect("layout checked before dispatch");
        let descs = self.deliver_descs(server_pid, &msg.descs);
        let inv = self.invs.insert(Invocation {
            door: id,
            server,
            caller: Some(caller),
            unref: false,
            reply: msg.reply,
            cred: msg.cred,
            cancelled: false,
        });
        self.threads.get_mut(&caller).expect("caller vanished").call = Some(CallState::Active(inv));
        let caller_pid = self.threads[&caller].pid;
        let copy = (msg.data_size > 0).then_some(ArgCopy {
            from_pid: caller_pid,
            from: msg.data_ptr,
            len: msg.data_size,
        });
        self.make_upcall(server, inv, lay, copy, descs, depleted)
    }

    /// Moves in-flight references into `pid`'s table (the reference moves,
    /// the count does not change) and describes them for the receiver.
    fn deliver_descs(&mut self, pid: Pid, doors: &[DoorId]) -> Vec<DoorDesc> {
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

    /// Marks `server` as serving `inv` and builds what the kernel needs.
    fn make_upcall(
        &mut self,
        server: Tid,
        inv: InvId,
        layout: ArgLayout,
        copy: Option<ArgCopy>,
        descs: Vec<DoorDesc>,
        depleted: bool,
    ) -> Upcall {
        let t = self.threads.get_mut(&server).expect("server vanished");
        t.idle = None;
        t.serving = Some(inv);
        let server_pid = t.pid;
        let invocation = self.invs.get(inv).expect("invocation vanished");
        let unref = invocation.unref;
        let caller = invocation.caller;
        let d = self.door(invocation.door);
        let depleted = depleted.then(|| match d.pool_key(invocation.door) {
            PoolKey::Shared(_) => Depleted::Shared,
            PoolKey::Private(id) => Depleted::Private(self.info_of(id, server_pid)),
        });
        let results = DoorResults {
            cookie: d.cookie,
            data_ptr: if unref {
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
            nservers: if depleted.is_some() { 0 } else { 1 },
            door_info: if matches!(depleted, Some(Depleted::Private(_))) {
                layout.info_addr
            } else {
                0
            },
        };
        Upcall {
            server,
            server_pid,
            caller,
            door: d.uniq,
            layout,
            copy,
            descs,
            depleted,
            results,
        }
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

    fn start_unref(&mut self, server: Tid, id: DoorId, depleted: bool) -> Upcall {
        let d = self.door_mut(id);
        d.unref.queued = false;
        d.unref.running = true;
        let lay = layout(self.threads[&server].stack, 0, 0, self.cfg.stack_reserve)
            .expect("a parked thread's area fits an empty invocation");
        let inv = self.invs.insert(Invocation {
            door: id,
            server,
            caller: None,
            unref: true,
            reply: None,
            cred: KERNEL_UCRED,
            cancelled: false,
        });
        self.make_upcall(server, inv, lay, None, Vec::new(), depleted)
    }

    /// door_return by thread `tid`. Registers `ret.stack` (EINVAL if it
    /// cannot hold an empty invocation, EFAULT if not writable). If the
    /// thread serves a call whose caller is still there, checks in order:
    /// E2BIG (more than `max_desc_per_msg`), EFAULT (data or descriptors
    /// unreadable), EINVAL (bad entry), E2BIG (results for `params ==
    /// NULL`), EMFILE (caller's table cannot take the descriptors); on error
    /// nothing changes and the thread keeps serving. Otherwise results are
    /// discarded and DOOR_RELEASE descriptors closed. Then the thread parks.
    pub fn door_return<M: UserMemory>(
        &mut self,
        mem: &mut M,
        tid: Tid,
        ret: ReturnArgs,
    ) -> Result<ReturnOutcome, Errno> {
        let pid = self.running_thread(tid)?;
        layout(ret.stack, 0, 0, self.cfg.stack_reserve).ok_or(Errno::EINVAL)?;
        if !mem.accessible(pid, ret.stack.base, ret.stack.size, true) {
            return Err(Errno::EFAULT);
        }
        let serving = self.threads[&tid].serving;
        let live = serving.and_then(|inv| {
            let i = self.invs.get(inv).expect("serving a gone invocation");
            i.caller.map(|c| (inv, c, i.reply))
        });
        let reply = match live {
            Some((inv, caller, reply_to)) => {
                Some(self.reply(mem, pid, inv, caller, reply_to, &ret)?)
            }
            None => {
                self.discard_results(mem, pid, &ret);
                if let Some(inv) = serving {
                    self.end_invocation(tid, inv);
                }
                None
            }
        };
        self.threads.get_mut(&tid).expect("thread vanished").stack = ret.stack;
        let next = self.park(tid);
        Ok(ReturnOutcome { reply, next })
    }

    /// Validates and delivers results to a live caller (see door_return).
    fn reply<M: UserMemory>(
        &mut self,
        mem: &mut M,
        pid: Pid,
        inv: InvId,
        caller: Tid,
        reply_to: Option<ReplyTo>,
        ret: &ReturnArgs,
    ) -> Result<Reply, Errno> {
        if ret.desc_num > self.cfg.max_desc_per_msg {
            return Err(Errno::E2BIG);
        }
        if !mem.accessible(pid, ret.data_ptr, ret.data_size, false) {
            return Err(Errno::EFAULT);
        }
        let raw = if ret.desc_num > 0 {
            mem.read_descs(pid, ret.desc_ptr, ret.desc_num)?
        } else {
            Vec::new()
        };
        let passed = parse_descs(self, pid, &raw)?;
        let caller_pid = self.threads[&caller].pid;
        let n = raw.len() as u64;
        if reply_to.is_none() && (ret.data_size > 0 || n > 0) {
            return Err(Errno::E2BIG);
        }
        if self.procs[&caller_pid].table.free_slots() < n as usize {
            return Err(Errno::EMFILE);
        }
        // Placement: in rbuf if it fits, else a new page-rounded mapping.
        // Descriptors follow the data at the next door_desc_t boundary; with
        // none, the data alone must fit (as illumos's door_results()).
        let data_span = if n > 0 {
            round_up(ret.data_size, DESC_SIZE).ok_or(Errno::E2BIG)?
        } else {
            ret.data_size
        };
        let need = data_span.checked_add(n * DESC_SIZE).ok_or(Errno::E2BIG)?;
        let result = match reply_to {
            None => Ok(None),
            Some(r) if need <= r.rsize => {
                let ok = mem.accessible(caller_pid, r.params_addr, ARG_SIZE, true)
                    && mem.accessible(caller_pid, r.rbuf, need, true);
                if ok {
                    Ok(Some((r, r.rbuf, r.rsize, None)))
                } else {
                    Err(Errno::EFAULT)
                }
            }
            Some(r) => {
                let len = round_up(need, self.cfg.page_size).ok_or(Errno::E2BIG)?;
                if !mem.accessible(caller_pid, r.params_addr, ARG_SIZE, true) {
                    Err(Errno::EFAULT)
                } else {
                    match mem.map_zeroed(caller_pid, len) {
                        Some(addr) => Ok(Some((r, addr, len, Some((addr, len))))),
                        None => Err(Errno::EOVERFLOW),
                    }
                }
            }
        };
        // Commit: install in the caller first (so passing a door back does
        // not make its count dip), then close the server's released copies.
        let result = result.map(|placed| {
            let doors: Vec<DoorId> = passed.iter().map(|p| p.door).collect();
            for &d in &doors {
                self.door_mut(d).refs += 1;
            }
            let descs = self.deliver_descs(caller_pid, &doors);
            let (data_addr, desc_addr, arg) = match placed {
                None => (0, 0, None),
                Some((r, area, size, _)) => {
                    let desc_addr = if n > 0 { area + data_span } else { 0 };
                    let arg = abi::DoorArg {
                        data_ptr: area,
                        data_size: ret.data_size,
                        desc_ptr: desc_addr,
                        desc_num: n as u32,
                        rbuf: area,
                        rsize: size,
                    };
                    (area, desc_addr, Some((r.params_addr, arg)))
                }
            };
            Delivery {
                server_pid: pid,
                from: ret.data_ptr,
                len: ret.data_size,
                data_addr,
                desc_addr,
                descs,
                mapped: placed.and_then(|p| p.3),
                arg,
            }
        });
        for p in passed.iter().filter(|p| p.release) {
            self.close(pid, p.fd)
                .expect("release of a checked descriptor");
        }
        let server = self.invs.get(inv).expect("invocation vanished").server;
        self.end_invocation(server, inv);
        Ok(Reply {
            caller,
            caller_pid,
            result,
        })
    }

    /// Results nobody receives: DOOR_RELEASE descriptors that can be read
    /// and are live are closed; nothing else happens.
    fn discard_results<M: UserMemory>(&mut self, mem: &M, pid: Pid, ret: &ReturnArgs) {
        if ret.desc_num == 0 || ret.desc_num > self.cfg.max_desc_per_msg {
            return;
        }
        if let Ok(raw) = mem.read_descs(pid, ret.desc_ptr, ret.desc_num) {
            for fd in release_fds(self, pid, &raw) {
                self.close(pid, fd)
                    .expect("release of a checked descriptor");
            }
        }
    }

    /// Removes invocation `inv` served by `server`; its caller (if any) is
    /// no longer blocked in it.
    fn end_invocation(&mut self, server: Tid, inv: InvId) {
        let i = self.invs.remove(inv).expect("ending a gone invocation");
        self.threads
            .get_mut(&server)
            .expect("server vanished")
            .serving = None;
        if let Some(c) = i.caller {
            self.threads.get_mut(&c).expect("caller vanished").call = None;
        }
        self.finish_invocation(i.door, i.unref);
    }

    /// Parks thread `tid` in its pool (the bound door's private pool, else
    /// its process's shared pool), taking queued work first.
    fn park(&mut self, tid: Tid) -> Next {
        let t = self.threads.get_mut(&tid).expect("thread vanished");
        let key = match t.bind {
            Some(d) => match self.doors.get(d) {
                Some(door) if !door.revoked => PoolKey::Private(d),
                _ => {
                    t.bind = None;
                    return Next::Fail(Errno::EBADF);
                }
            },
            None => PoolKey::Shared(t.pid),
        };
        while let Some(p) = self.pool_mut(key).queue.pop_front() {
            if let Some(up) = self.try_start(tid, p) {
                return Next::Serve(up);
            }
        }
        self.pool_mut(key).idle.push(tid);
        self.threads.get_mut(&tid).expect("thread vanished").idle = Some(key);
        Next::Park
    }

    /// Gives queued work to parking thread `server` (the pool has no other
    /// idle thread, so the dispatch depletes it). A call that does not fit
    /// the thread's area (E2BIG) or the server's table (EMFILE) fails.
    fn try_start(&mut self, server: Tid, p: Pending) -> Option<Upcall> {
        match p {
            Pending::Unref(id) => Some(self.start_unref(server, id, true)),
            Pending::Call { caller, door, msg } => {
                let n = msg.descs.len();
                let fits = layout(
                    self.threads[&server].stack,
                    msg.data_size,
                    n as u32,
                    self.cfg.stack_reserve,
                );
                let room = self.procs[&self.threads[&server].pid].table.free_slots() >= n;
                match (fits, room) {
                    (Some(_), true) => Some(self.start_call(server, caller, door, msg, true)),
                    (fits, _) => {
                        let errno = if fits.is_none() {
                            Errno::E2BIG
                        } else {
                            Errno::EMFILE
                        };
                        self.fail_pending(Pending::Call { caller, door, msg }, errno);
                        None
                    }
                }
            }
        }
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
