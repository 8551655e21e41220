//! The fast path of door calls, in the manner of seL4's fastpath:
//! `door_call(d, params)` without descriptors to a door with an idle server
//! thread, and the server's `door_return(data, size, NULL, 0)` back to its
//! waiting caller when the results fit the caller's rbuf (or there are
//! none, for `params == NULL`).
//!
//! These are the round trips an RPC system makes most, and the general
//! path spends most of its time on what they lack (descriptor lists,
//! result mappings, outcome records). Each function here is a chain of
//! guards with one point of no return: it checks that its case applies and
//! returns `None`, having changed nothing, when it does not; the kernel
//! then takes the general path ([`DoorSystem::door_call_into`],
//! [`DoorSystem::door_return_into`]), which gives the answer (an error such
//! as EFAULT or E2BIG, a wait, a mapping for large results). When it
//! applies, it makes exactly the state change the general path makes, and
//! describes the bytes the kernel copies just as the general path's
//! outcome would, with the tokens of the ranges involved
//! ([`UserMemory::locate`]: found just now, or found writable when nothing
//! was unmapped since), so the kernel reaches them without looking them up
//! again. The differential tests in `tests/fastpath.rs` run random
//! operation sequences through both and compare every result, every copy
//! and the whole state after each step.

use crate::descriptors::DoorId;
use crate::dispatch::{ARG_SIZE, arg_floor, layout, locate_top};
use crate::outcome::{StackArea, UNPLACED, UserMemory};
use crate::system::{CallState, Door, Invocation, PoolKey, ReplyTo, ThreadKey};
use crate::{CallParams, Cred, DoorSystem, Pid, Tid};
use abi::{DOOR_PRIVATE, DoorArg, invocation};

/// The thread making a door call through [`DoorSystem::try_fast_call`],
/// as the kernel knows it (it holds the thread's record at hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastCaller {
    /// Its record in the door logic.
    pub key: ThreadKey,
    /// Its process.
    pub pid: Pid,
    /// Its process's credentials.
    pub cred: Cred,
}

/// An invocation started by [`DoorSystem::try_fast_call`]: how the kernel
/// resumes the server thread (see `abi::invocation`), after copying the
/// arguments (`regs[2]` bytes from the caller's `door_arg_t` `data_ptr`,
/// token [`FastUpcall::from`], to `regs[1]` in the server's process, in
/// the range of [`FastUpcall::to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastUpcall {
    /// The server thread, taken from its pool.
    pub server: Tid,
    /// Its handle ([`DoorSystem::create_thread`]).
    pub server_handle: u64,
    /// Its process.
    pub server_pid: Pid,
    /// The thread's stack pointer: the bottom of its argument area.
    pub sp: u64,
    /// `rax`: [`invocation::RUN`], or [`invocation::DEPLETED_SHARED`] when
    /// this call took the last idle thread of a shared pool.
    pub status: u64,
    /// cookie, argument pointer, size, descriptor pointer, count, procedure.
    pub regs: [u64; 6],
    /// The token of the argument bytes ([`UserMemory::locate`];
    /// [`UNPLACED`] for a call without `door_arg_t`).
    pub from: u64,
    /// The token and start of a range of the server's memory where the
    /// arguments go (the top of its area, found writable when it was
    /// registered, nothing unmapped since); `(UNPLACED, 0)` for none.
    pub to: (u64, u64),
}

/// The caller's side of a door_return through
/// [`DoorSystem::try_fast_return`]: its door_call returns 0 once the kernel
/// has copied the results (the `size` bytes at the server's `data`, in the
/// range of [`FastReply::from`]) to [`ResultPlace::rbuf`] and written
/// [`ResultPlace::arg`] back to the caller's `door_arg_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastReply {
    /// The caller, to switch straight back to.
    pub caller: Tid,
    /// Its handle ([`DoorSystem::create_thread`]).
    pub caller_handle: u64,
    /// Its process.
    pub caller_pid: Pid,
    /// Where the results go; `None` for a call with `params == NULL`
    /// (which gets none).
    pub place: Option<ResultPlace>,
    /// The token and start of a range of the server's memory that holds
    /// the results ([`UserMemory::locate`]: the results themselves, or the
    /// top of the thread's area); `(UNPLACED, 0)` for none.
    pub from: (u64, u64),
}

/// Where a call's results go: in its rbuf, described by its `door_arg_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultPlace {
    /// The caller's `door_arg_t`.
    pub params: u64,
    /// Its rbuf, where the results go.
    pub rbuf: u64,
    /// Its rsize.
    pub rsize: u64,
    /// The tokens of the `door_arg_t` and of the whole rbuf found at the
    /// call ([`UserMemory::locate`]), if nothing was unmapped since;
    /// [`UNPLACED`] otherwise.
    pub params_at: u64,
    pub rbuf_at: u64,
}

impl ResultPlace {
    /// The `door_arg_t` written back for `size` bytes of results.
    #[inline(always)]
    pub fn arg(&self, size: u64) -> DoorArg {
        DoorArg {
            data_ptr: self.rbuf,
            data_size: size,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: self.rbuf,
            rsize: self.rsize,
        }
    }
}

impl<C: Copy> DoorSystem<C> {
    /// `door_call(fd, params)` by thread `me` when it can start at once,
    /// `fd` naming door `id` in its process's table (the kernel looked it
    /// up, [`crate::Descriptors::get`]): the thread is running (in the
    /// process the kernel says), the door is callable, the call passes no
    /// descriptors and its argument size is within the door's
    /// DATA_MIN..DATA_MAX, its `door_arg_t`, argument bytes and rbuf can be
    /// accessed, the door's pool has an idle thread (of a private pool: one
    /// that stays idle, since a depleted private pool hands the server its
    /// door_info in memory), and the arguments fit that thread's area.
    /// `None`, with nothing changed, otherwise. Records are reached by the
    /// keys that the kernel and other records hold for them, checked for
    /// their generation in debug builds only (`Records::live_mut`).
    #[inline(always)]
    pub fn try_fast_call<M: UserMemory>(
        &mut self,
        mem: &M,
        me: FastCaller,
        id: DoorId,
        params: Option<&CallParams>,
    ) -> Option<FastUpcall> {
        let FastCaller { key: me, pid, cred } = me;
        // The caller's record is reached once, with the server's (below).
        // The door is there: the caller's descriptor holds a reference.
        let door = self.doors.live_mut(id);
        let size = params.map_or(0, |p| p.arg.data_size);
        let sizes_fit = door.data_min <= size && size <= door.data_max.min(self.cfg.max_data);
        if !door.callable() || !sizes_fit {
            return None;
        }
        // The tokens of the argument bytes, the door_arg_t and rbuf.
        let (mut from, mut at) = (UNPLACED, (UNPLACED, UNPLACED));
        // A call with arguments or a place for results compares where it
        // finds them with the current unmap epoch (a null call does not).
        let mut epoch = 0;
        if let Some(p) = params {
            epoch = mem.epoch();
            let a = &p.arg;
            if a.desc_num != 0 {
                return None;
            }
            let located = p.locate(mem, pid)?;
            (from, at) = (located.data, (located.params, located.rbuf));
        }
        let private = door.attrs & DOOR_PRIVATE != 0;
        let pool = match private {
            true => &mut door.pool,
            // A callable door's server process is alive.
            false => &mut self.procs.live_mut(door.server_proc).pool,
        };
        let server = *pool.idle.last()?;
        let depleted = pool.idle.len() == 1;
        if depleted && private {
            return None;
        }
        // Both records are there (the kernel's thread, a pool's); a thread
        // that calls is not idle (its record is checked below), so they are
        // two.
        let (caller, s) = self.threads.live_pair_mut(me, server)?;
        if caller.pid != pid || caller.idle.is_some() || caller.call.is_some() {
            return None;
        }
        // An idle thread's area passed the layout of a null invocation
        // when it was registered.
        let (sp, data_addr, to) = match size {
            0 => (s.null_sp, s.null_sp, (UNPLACED, 0)),
            // Its layout with arguments, from where they end (the layout
            // without them worked that out).
            _ => {
                let data_addr = s.arg_end.checked_sub(size)? & !15;
                if data_addr < s.arg_floor {
                    return None;
                }
                let to = match s.stack_epoch == epoch && data_addr >= s.top.1 {
                    true => s.top,
                    false => (UNPLACED, 0),
                };
                (data_addr, data_addr, to)
            }
        };
        // Commit: nothing below can fail.
        pool.idle.pop();
        door.active += 1;
        let (cookie, pc) = (door.cookie, door.pc);
        caller.call = Some(CallState::Active(server));
        s.idle = None;
        s.serving = Some(Invocation {
            door: id,
            caller: Some(me),
            unref: false,
            reply: params.map(|p| ReplyTo::of(p, epoch, at)),
            caller_pid: pid,
            cred,
            cancelled: false,
        });
        Some(FastUpcall {
            server: s.tid,
            server_handle: s.handle,
            server_pid: s.pid,
            sp,
            status: match depleted {
                true => invocation::DEPLETED_SHARED,
                false => invocation::RUN,
            },
            regs: [cookie, data_addr, size, 0, 0, pc],
            from,
            to,
        })
    }

    /// `door_return(data, size, desc_ptr, 0)` with argument area `stack`
    /// by thread `me` when it ends a call whose caller still waits and
    /// whose results fit where they go (no results for `params == NULL`;
    /// at most rsize bytes, so no new mapping), the result bytes can be
    /// read and the caller's `door_arg_t` and rbuf written, the area is
    /// valid, and the thread parks idle (its pool has no queued work; a
    /// bound thread's door is not revoked): the invocation ends and the
    /// thread parks, as [`DoorSystem::door_return_into`] has it. `None`,
    /// with nothing changed, otherwise (and when ending the invocation has
    /// more to do: the door's last reference is gone, or an unreferenced
    /// notice is due).
    #[inline(always)]
    pub fn try_fast_return<M: UserMemory>(
        &mut self,
        mem: &M,
        me: ThreadKey,
        data: u64,
        size: u64,
        stack: StackArea,
    ) -> Option<FastReply> {
        let t = self.threads.live_mut(me);
        if t.idle.is_some() || t.call.is_some() {
            return None;
        }
        let i = t.serving.as_ref()?;
        let caller = i.caller?;
        if i.unref {
            return None;
        }
        let (door, caller_pid) = (i.door, i.caller_pid);
        // The area registered last passed these checks, and is still
        // writable if nothing was unmapped since (an empty area never
        // passes).
        // Otherwise it is registered anew: the layout without arguments
        // and the token of its top worked out.
        let epoch = mem.epoch();
        let mut anew = None;
        if stack != t.stack || t.stack_epoch != epoch || stack.size == 0 {
            let null = layout(stack, 0, 0, self.cfg.stack_reserve)?;
            if !mem.accessible(t.pid, stack.base, stack.size, true) {
                return None;
            }
            let floor = arg_floor(stack, self.cfg.stack_reserve);
            anew = Some((null, floor, locate_top(mem, t.pid, stack)));
        }
        // No results at address 0 (the null return) need no check;
        // results in the top of the area (an echo of the arguments, a
        // buffer in the procedure's frame) are where its token says.
        let from = match data | size {
            0 => (UNPLACED, 0),
            _ => {
                // The top runs from its start to the end of the area.
                let top = anew.map_or(t.top, |(.., top)| top);
                let end = stack.base.wrapping_add(stack.size);
                let (at, len) = (data.wrapping_sub(top.1), end.wrapping_sub(top.1));
                match top.0 != UNPLACED && at < len && size <= len - at {
                    true => top,
                    false => (mem.locate(t.pid, data, size, false)?, data),
                }
            }
        };
        let place = match &i.reply {
            None if size > 0 => return None,
            None => None,
            Some(r) => {
                // The door_arg_t and rbuf found writable at the call
                // still are, where they were, if nothing was unmapped
                // since.
                let fresh = r.epoch == epoch;
                let ok = size <= r.rsize
                    && size <= self.cfg.max_data
                    && (fresh
                        || mem.accessible(caller_pid, r.params_addr, ARG_SIZE, true)
                            && mem.accessible(caller_pid, r.rbuf, size, true));
                if !ok {
                    return None;
                }
                let (params_at, rbuf_at) = match fresh {
                    true => (r.params_at, r.rbuf_at),
                    false => (UNPLACED, UNPLACED),
                };
                Some(ResultPlace {
                    params: r.params_addr,
                    rbuf: r.rbuf,
                    rsize: r.rsize,
                    params_at,
                    rbuf_at,
                })
            }
        };
        // The door whose invocation ends, the pool the thread parks in,
        // and the pool's key; each record reached once.
        let (bind, proc) = (t.bind, t.proc);
        let ends_simply = |d: &Door<C>| d.refs > 0 && !d.unref.deferred;
        let (key, pool, active) = match bind {
            // The invocation holds its door (its count of active ones), and
            // a thread's process outlives it.
            None => {
                let d = self.doors.live_mut(door);
                if !ends_simply(d) {
                    return None;
                }
                let pool = &mut self.procs.live_mut(proc).pool;
                (PoolKey::Shared(proc), pool, &mut d.active)
            }
            Some(bound) if bound == door => {
                let d = self.doors.live_mut(door);
                if !ends_simply(d) || d.revoked {
                    return None;
                }
                (PoolKey::Private(bound), &mut d.pool, &mut d.active)
            }
            Some(bound) => {
                let (d, b) = self.doors.pair_mut(door, bound)?;
                if !ends_simply(d) || b.revoked {
                    return None;
                }
                (PoolKey::Private(bound), &mut b.pool, &mut d.active)
            }
        };
        if !pool.queue.is_empty() {
            return None;
        }
        // Commit: the same steps as the general path.
        pool.idle.push(me);
        *active -= 1;
        (t.serving, t.idle) = (None, Some(key));
        if let Some((null, floor, top)) = anew {
            (t.stack, t.stack_epoch) = (stack, epoch);
            (t.null_sp, t.arg_end) = (null.sp, null.desc_addr);
            (t.arg_floor, t.top) = (floor, top);
        }
        let c = self.threads.live_mut(caller);
        c.call = None;
        Some(FastReply {
            caller: c.tid,
            caller_handle: c.handle,
            caller_pid,
            place,
            from,
        })
    }
}
