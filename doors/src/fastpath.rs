//! The fast path of the null door call, in the manner of seL4's fastpath:
//! `door_call(d, NULL)` to a door with an idle server thread, and the
//! server's `door_return(NULL, 0, NULL, 0)` back to its waiting caller.
//!
//! These are the round trips an RPC system makes most, and the general
//! path spends most of its time on what they lack (argument areas, result
//! placement, descriptor lists, outcome records). Each function here checks
//! that its case applies and returns `None`, having changed nothing, when it
//! does not; the kernel then takes the general path
//! ([`DoorSystem::door_call_into`], [`DoorSystem::door_return_into`]), which
//! gives the same answer. When it applies, it makes exactly the state
//! change the general path makes. The differential tests in
//! `tests/fastpath.rs` run random operation sequences through both and
//! compare every result and the final state.

use crate::descriptors::Descriptors;
use crate::dispatch::layout;
use crate::outcome::{StackArea, UserMemory};
use crate::system::{CallState, Invocation, PoolKey, ThreadKey};
use crate::{Cred, DoorSystem, Fd, Pid, Tid};
use abi::{DOOR_PRIVATE, invocation};

/// A null invocation started by [`DoorSystem::try_null_call`]: how the
/// kernel resumes the server thread (see `abi::invocation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NullUpcall {
    /// The server thread, taken from its pool.
    pub server: Tid,
    /// Its process.
    pub server_pid: Pid,
    /// The thread's stack pointer: the bottom of its (empty) argument area.
    pub sp: u64,
    /// `rax`: [`invocation::RUN`], or [`invocation::DEPLETED_SHARED`] when
    /// this call took the last idle thread of a shared pool.
    pub status: u64,
    /// cookie, argument pointer, size, descriptor pointer, count, procedure.
    pub regs: [u64; 6],
}

impl<C: Copy> DoorSystem<C> {
    /// `door_call(fd, NULL)` by thread `me` (of a process with credentials
    /// `cred`) when it can start at once: the thread is running, `fd` names
    /// a callable door that accepts an empty argument (DATA_MIN 0), and its
    /// pool has an idle thread (a private pool: one that stays idle, since a
    /// depleted private pool hands the server its door_info in memory).
    /// `None`, with nothing changed, otherwise.
    #[inline]
    pub fn try_null_call<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &D,
        me: ThreadKey,
        cred: Cred,
        fd: Fd,
    ) -> Option<NullUpcall> {
        let caller = self.threads.by_key(me)?;
        if caller.idle.is_some() || caller.call.is_some() {
            return None;
        }
        let pid = caller.pid;
        let id = D::door(caps.get(pid, fd)?)?;
        let door = self.doors.get_mut(id)?;
        if !door.callable() || door.data_min > 0 {
            return None;
        }
        let private = door.attrs & DOOR_PRIVATE != 0;
        let pool = match private {
            true => &mut door.pool,
            false => &mut self.procs.by_key_mut(door.server_proc)?.pool,
        };
        let server = *pool.idle.last()?;
        let depleted = pool.idle.len() == 1;
        if depleted && private {
            return None;
        }
        let area = layout(self.threads.at(server).stack, 0, 0, self.cfg.stack_reserve)?;
        // Commit: nothing below can fail.
        pool.idle.pop();
        door.active += 1;
        let (cookie, pc) = (door.cookie, door.pc);
        self.threads.at_mut(me).call = Some(CallState::Active(server));
        let s = self.threads.at_mut(server);
        s.idle = None;
        s.serving = Some(Invocation {
            door: id,
            caller: Some(me),
            unref: false,
            reply: None,
            caller_pid: pid,
            cred,
            cancelled: false,
        });
        Some(NullUpcall {
            server: s.tid,
            server_pid: s.pid,
            sp: area.sp,
            status: match depleted {
                true => invocation::DEPLETED_SHARED,
                false => invocation::RUN,
            },
            regs: [cookie, area.data_addr, 0, 0, 0, pc],
        })
    }

    /// `door_return(NULL, 0, desc_ptr, 0)` with argument area `stack` by
    /// thread `me` when it ends a call made with `params == NULL` whose
    /// caller still waits, the area is valid, and the thread parks idle
    /// (its pool has no queued work; a bound thread's door is not revoked):
    /// the invocation ends (the caller's door_call returns 0, with nothing
    /// to copy) and the thread parks, as [`DoorSystem::door_return_into`]
    /// has it. Returns the caller. `None`, with nothing changed, otherwise
    /// (and when ending the invocation has more to do: the door's last
    /// reference is gone, or an unreferenced notice is due).
    #[inline]
    pub fn try_null_return<M: UserMemory>(
        &mut self,
        mem: &M,
        me: ThreadKey,
        stack: StackArea,
    ) -> Option<Tid> {
        let t = self.threads.by_key(me)?;
        if t.idle.is_some() || t.call.is_some() {
            return None;
        }
        let i = t.serving.as_ref()?;
        let caller = i.caller?;
        if i.reply.is_some() || i.unref {
            return None;
        }
        let door = i.door;
        // The area registered last passed these checks, and is still
        // writable if nothing was unmapped since (an empty area never
        // passes). The results are empty at address 0, always accessible.
        let epoch = mem.epoch();
        if stack != t.stack || t.stack_epoch != epoch || stack.size == 0 {
            layout(stack, 0, 0, self.cfg.stack_reserve)?;
            if !mem.accessible(t.pid, stack.base, stack.size, true) {
                return None;
            }
        }
        let d = self.doors.get(door)?;
        if d.refs == 0 || d.unref.deferred {
            return None;
        }
        let (key, pool) = match t.bind {
            None => (
                PoolKey::Shared(t.proc),
                &mut self.procs.by_key_mut(t.proc)?.pool,
            ),
            Some(bound) => {
                let b = self.doors.get_mut(bound).filter(|b| !b.revoked)?;
                (PoolKey::Private(bound), &mut b.pool)
            }
        };
        if !pool.queue.is_empty() {
            return None;
        }
        // Commit: the same steps as the general path for empty results.
        pool.idle.push(me);
        self.door_mut(door).active -= 1;
        let t = self.threads.at_mut(me);
        (t.serving, t.idle) = (None, Some(key));
        (t.stack, t.stack_epoch) = (stack, epoch);
        let c = self.threads.at_mut(caller);
        c.call = None;
        Some(c.tid)
    }
}
