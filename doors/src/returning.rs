//! door_return: checking a server thread's results and delivering them to
//! its caller, ending invocations, and parking the thread in its pool (or
//! handing it the work queued there).

use crate::descriptors::Descriptors;
use crate::dispatch::{
    ARG_SIZE, DESC_SIZE, Passed, Taken, arg_floor, layout, locate_top, parse_descs, release_fds,
    round_up,
};
use crate::outcome::{Delivery, Next, Reply, ReturnOutcome, StackArea, Upcall, UserMemory};
use crate::system::{Pending, PoolKey, ReplyTo, ThreadKey};
use crate::{DoorSystem, Errno, Pid, ReturnArgs, Tid};
use abi::DoorArg;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// How a parking thread fared (see `DoorSystem::park`).
enum Parked {
    /// It is idle in its pool.
    Idle,
    /// Its bound door is gone (it is now unbound).
    Fail(Errno),
    /// Work is queued in its pool.
    Busy(PoolKey),
}

/// The invocation a returning thread serves, whose caller still waits.
struct Live {
    caller: ThreadKey,
    caller_pid: Pid,
    reply_to: Option<ReplyTo>,
}

/// A door_return's results, checked.
struct Results<C> {
    passed: Vec<Passed<C>>,
    /// Bytes from the start of the results to the descriptors.
    data_span: u64,
    /// Bytes data and descriptors take.
    need: u64,
    /// Length of the new mapping they go in; 0 when they fit rbuf.
    map_len: u64,
}

impl<C: Copy> DoorSystem<C> {
    /// door_return by thread `tid`. EINVAL, before anything else, for a
    /// fork child's thread bound to an invalid door (see `fork`). Registers
    /// `ret.stack` (EINVAL if it cannot hold an empty invocation, EFAULT if
    /// not writable). If the
    /// thread serves a call whose caller is still there, checks in order:
    /// E2BIG (more than `max_desc_per_msg` descriptors or `max_data`
    /// bytes), EFAULT (data or descriptors
    /// unreadable), EINVAL (bad entry), E2BIG (results for `params ==
    /// NULL`), EMFILE (caller's table cannot take the descriptors); on error
    /// nothing changes and the thread keeps serving. Otherwise results are
    /// discarded and DOOR_RELEASE descriptors closed. Then the thread parks.
    pub fn door_return<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &mut M,
        caps: &mut D,
        tid: Tid,
        ret: ReturnArgs,
    ) -> Result<ReturnOutcome, Errno> {
        let mut out = ReturnOutcome {
            reply: None,
            next: Next::Park,
        };
        self.door_return_into(mem, caps, tid, ret, &mut out)?;
        Ok(out)
    }

    /// [`DoorSystem::door_return`] for the kernel's hot path: the outcome is
    /// written into `out` (a reused buffer, any previous contents are
    /// replaced) instead of being returned by value; on `Err`, `out` is left
    /// as it was.
    pub fn door_return_into<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &mut M,
        caps: &mut D,
        tid: Tid,
        ret: ReturnArgs,
        out: &mut ReturnOutcome,
    ) -> Result<(), Errno> {
        let me = self.running_thread_key(tid)?;
        let t = self.threads.at(me);
        if t.bound_invalid {
            return Err(Errno::EINVAL);
        }
        let pid = t.pid;
        layout(ret.stack, 0, 0, self.cfg.stack_reserve).ok_or(Errno::EINVAL)?;
        if !mem.accessible(pid, ret.stack.base, ret.stack.size, true) {
            return Err(Errno::EFAULT);
        }
        let live = t.serving.as_ref().and_then(|i| {
            i.caller.map(|caller| Live {
                caller,
                caller_pid: i.caller_pid,
                reply_to: i.reply,
            })
        });
        let Some(live) = live else {
            self.discard_results(mem, caps, pid, &ret);
            self.end_invocation(me);
            out.reply = None;
            out.next = self.returned(mem, caps, me, ret.stack);
            return Ok(());
        };
        let results = self.check_results(mem, caps, pid, &live, &ret)?;
        out.reply = Some(self.reply(mem, caps, me, pid, live, results, &ret));
        out.next = self.returned(mem, caps, me, ret.stack);
        Ok(())
    }

    /// The checks of door_return's results for a live caller (see
    /// door_return); nothing changes.
    #[inline(always)]
    fn check_results<M: UserMemory, D: Descriptors<Cap = C>>(
        &self,
        mem: &M,
        caps: &D,
        pid: Pid,
        live: &Live,
        ret: &ReturnArgs,
    ) -> Result<Results<C>, Errno> {
        if ret.desc_num > self.cfg.max_desc_per_msg || ret.data_size > self.cfg.max_data {
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
        let passed = parse_descs(caps, pid, &raw)?;
        let n = raw.len() as u64;
        if live.reply_to.is_none() && (ret.data_size > 0 || n > 0) {
            return Err(Errno::E2BIG);
        }
        if n > 0 && caps.room(live.caller_pid) < n as usize {
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
        let map_len = match live.reply_to {
            Some(r) if need > r.rsize => round_up(need, self.cfg.page_size).ok_or(Errno::E2BIG)?,
            _ => 0,
        };
        Ok(Results {
            passed,
            data_span,
            need,
            map_len,
        })
    }

    /// Delivers checked results to a live caller and ends the invocation.
    #[allow(clippy::too_many_arguments)]
    fn reply<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &mut M,
        caps: &mut D,
        me: ThreadKey,
        pid: Pid,
        live: Live,
        results: Results<C>,
        ret: &ReturnArgs,
    ) -> Reply {
        let Results {
            passed,
            data_span,
            need,
            map_len,
        } = results;
        let (caller_pid, n) = (live.caller_pid, passed.len() as u64);
        let placed = match live.reply_to {
            None => Ok(None),
            Some(r) if map_len == 0 => {
                let ok = mem.accessible(caller_pid, r.params_addr, ARG_SIZE, true)
                    && mem.accessible(caller_pid, r.rbuf, need, true);
                if ok {
                    Ok(Some((r, r.rbuf, r.rsize, None)))
                } else {
                    Err(Errno::EFAULT)
                }
            }
            Some(r) => {
                if !mem.accessible(caller_pid, r.params_addr, ARG_SIZE, true) {
                    Err(Errno::EFAULT)
                } else {
                    match mem.map_zeroed(caller_pid, map_len) {
                        Some(addr) => Ok(Some((r, addr, map_len, Some((addr, map_len))))),
                        None => Err(Errno::EOVERFLOW),
                    }
                }
            }
        };
        // Commit: install in the caller first (so passing a door back does
        // not make its count dip), then close the server's released copies.
        let result = placed.map(|placed| {
            let descs = if passed.is_empty() {
                Vec::new()
            } else {
                let sent: Vec<C> = passed.iter().map(|p| p.cap).collect();
                for &cap in &sent {
                    self.retain(caps, cap);
                }
                self.deliver_descs(caps, caller_pid, &sent)
            };
            let (data_addr, desc_addr, arg) = match placed {
                None => (0, 0, None),
                Some((r, area, size, _)) => {
                    let desc_addr = if n > 0 { area + data_span } else { 0 };
                    let arg = DoorArg {
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
        self.close_released(caps, pid, &passed);
        self.end_invocation(me);
        Reply {
            caller: self.tid(live.caller),
            caller_pid,
            result,
        }
    }

    /// Results nobody receives: DOOR_RELEASE descriptors that can be read
    /// and are live are closed; nothing else happens.
    fn discard_results<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        pid: Pid,
        ret: &ReturnArgs,
    ) {
        if ret.desc_num == 0 || ret.desc_num > self.cfg.max_desc_per_msg {
            return;
        }
        if let Ok(raw) = mem.read_descs(pid, ret.desc_ptr, ret.desc_num) {
            for fd in release_fds(caps, pid, &raw) {
                self.close(caps, pid, fd)
                    .expect("release of a checked descriptor");
            }
        }
    }

    /// Ends the invocation thread `server` serves, if any: its caller (if
    /// any) is no longer blocked in it.
    #[inline(always)]
    pub(crate) fn end_invocation(&mut self, server: ThreadKey) {
        let Some(i) = self.threads.at_mut(server).serving.take() else {
            return;
        };
        if let Some(c) = i.caller {
            self.threads.at_mut(c).call = None;
        }
        self.finish_invocation(i.door, i.unref);
    }

    /// Finishes a door_return: parks thread `me` with argument area
    /// `stack`, found writable just now; what it does next.
    #[inline(always)]
    pub(crate) fn returned<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        me: ThreadKey,
        stack: StackArea,
    ) -> Next {
        let null = layout(stack, 0, 0, self.cfg.stack_reserve);
        let (null_sp, arg_end) = null.map_or((0, 0), |l| (l.sp, l.desc_addr));
        let t = self.threads.at_mut(me);
        (t.arg_end, t.top) = (arg_end, locate_top(mem, t.pid, stack));
        t.arg_floor = arg_floor(stack, self.cfg.stack_reserve);
        t.stack = stack;
        t.stack_epoch = mem.epoch();
        t.null_sp = null_sp;
        match self.park(me) {
            Parked::Idle => Next::Park,
            Parked::Fail(errno) => Next::Fail(errno),
            Parked::Busy(pool) => self.serve_queued(mem, caps, me, pool),
        }
    }

    /// Parks thread `me`, done serving, in its pool (the bound door's
    /// private pool, else its process's shared pool), unless work is
    /// queued there.
    #[inline(always)]
    fn park(&mut self, me: ThreadKey) -> Parked {
        let t = self.threads.at_mut(me);
        let key = match t.bind {
            Some(d) => match self.doors.get(d) {
                Some(door) if !door.revoked => PoolKey::Private(d),
                _ => {
                    t.bind = None;
                    return Parked::Fail(Errno::EBADF);
                }
            },
            None => PoolKey::Shared(t.proc),
        };
        let pool = match key {
            PoolKey::Shared(proc) => &mut self.procs.at_mut(proc).pool,
            PoolKey::Private(d) => &mut self.doors.get_mut(d).expect("checked just now").pool,
        };
        if !pool.queue.is_empty() {
            return Parked::Busy(key);
        }
        pool.idle.push(me);
        self.threads.at_mut(me).idle = Some(key);
        Parked::Idle
    }

    /// Parking thread `tid` takes the work queued in pool `key` (calls that
    /// do not fit it, or whose arguments are gone, fail), or parks there
    /// when none is left. A failed call may take the last reference to the
    /// door whose private pool it is with it: the door is freed, and the
    /// thread, unbound, fails as a door_return to a freed bound door does
    /// (EBADF).
    fn serve_queued<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        me: ThreadKey,
        pool: PoolKey,
    ) -> Next {
        let mut up = Box::<Upcall>::default();
        loop {
            let queued = match pool {
                PoolKey::Shared(_) => Some(self.pool_mut(pool)),
                PoolKey::Private(d) => self.doors.get_mut(d).map(|d| &mut d.pool),
            };
            let Some(queued) = queued else {
                self.threads.at_mut(me).bind = None;
                return Next::Fail(Errno::EBADF);
            };
            let Some(p) = queued.queue.pop_front() else {
                break;
            };
            self.queued_descs -= p.descs();
            if self.try_start(mem, caps, me, p, &mut up) {
                return Next::Serve(up);
            }
        }
        self.pool_mut(pool).idle.push(me);
        self.threads.at_mut(me).idle = Some(pool);
        Next::Park
    }

    /// Gives queued work to parking thread `server` (the pool has no other
    /// idle thread, so the dispatch depletes it), writing its upcall into
    /// `up`; false if there was none to start. A call fails instead when
    /// its argument bytes can no longer be read (EFAULT: another thread of
    /// the caller unmapped them while it waited), or when it does not fit
    /// the thread's area (E2BIG) or the server's table (EMFILE); nothing of
    /// it reaches the server then.
    fn try_start<M: UserMemory, D: Descriptors<Cap = C>>(
        &mut self,
        mem: &M,
        caps: &mut D,
        server: ThreadKey,
        p: Pending<C>,
        up: &mut Upcall,
    ) -> bool {
        let (caller, door, msg) = match p {
            Pending::Unref(id) => {
                *up = self.start_unref(server, id, true);
                return true;
            }
            Pending::Call { caller, door, msg } => (caller, door, msg),
        };
        let n = msg.descs.len();
        let t = self.threads.at(server);
        let readable = mem.accessible(msg.caller_pid, msg.data_ptr, msg.data_size, false);
        let fits = layout(t.stack, msg.data_size, n as u32, self.cfg.stack_reserve);
        let checked = match (readable, fits) {
            (false, _) => Err(Errno::EFAULT),
            (true, None) => Err(Errno::E2BIG),
            (true, Some(_)) if caps.room(t.pid) < n => Err(Errno::EMFILE),
            (true, Some(layout)) => Ok(layout),
        };
        match checked {
            Ok(layout) => {
                let server = Taken { server, layout };
                self.start_call(caps, caller, server, door, msg, true, up);
                true
            }
            Err(errno) => {
                self.fail_pending(caps, Pending::Call { caller, door, msg }, errno);
                false
            }
        }
    }
}
