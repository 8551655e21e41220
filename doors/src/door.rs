//! Operations on door objects that do not move data: door_create,
//! door_info, door_revoke, door_setparam/getparam, door_ucred/door_cred,
//! door_bind/door_unbind.

use crate::descriptors::{Descriptors, DoorId};
use crate::outcome::{Depleted, Event};
use crate::system::{Created, Door, Pending, Pool, PoolKey, UnrefState};
use crate::{DoorSystem, Errno, Fd, Pid, Tid};
use abi::{
    DOOR_CREATE_MASK, DOOR_IS_UNREF, DOOR_LOCAL, DOOR_PARAM_DATA_MAX, DOOR_PARAM_DATA_MIN,
    DOOR_PARAM_DESC_MAX, DOOR_PRIVATE, DOOR_QUERY, DOOR_REFUSE_DESC, DOOR_REVOKED, DOOR_UNREF,
    DOOR_UNREF_MULTI, DoorCred, DoorInfo, Ucred,
};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

impl<C: Copy> DoorSystem<C> {
    /// door_create: a door served by `pid` with server procedure `pc`,
    /// `cookie` and `attributes`. Errors: EINVAL (unknown bits, or UNREF
    /// with UNREF_MULTI), EMFILE, ENFILE (`max_doors` doors exist); ESRCH
    /// for an unknown process.
    pub fn door_create<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        pc: u64,
        cookie: u64,
        attributes: u32,
    ) -> Result<Created, Errno> {
        let server_proc = self.procs.find(pid).ok_or(Errno::ESRCH)?;
        let both = DOOR_UNREF | DOOR_UNREF_MULTI;
        if attributes & !DOOR_CREATE_MASK != 0 || attributes & both == both {
            return Err(Errno::EINVAL);
        }
        if caps.room(pid) == 0 {
            return Err(Errno::EMFILE);
        }
        if self.doors.len() >= self.cfg.max_doors {
            return Err(Errno::ENFILE);
        }
        let refuse = attributes & DOOR_REFUSE_DESC != 0;
        let door = Door {
            server: pid,
            server_proc,
            server_alive: true,
            pc,
            cookie,
            attrs: attributes,
            revoked: false,
            uniq: self.next_uniq,
            refs: 0,
            active: 0,
            data_min: 0,
            data_max: u64::MAX,
            desc_max: if refuse { 0 } else { i32::MAX as u32 },
            unref: UnrefState::default(),
            pool: Pool::default(),
        };
        self.next_uniq += 1;
        let id = self.doors.insert(door);
        self.add_ref(id);
        let fd = caps.install(pid, D::for_door(id));
        let p = self.procs.get_mut(&pid).expect("process vanished");
        let create_server = if attributes & DOOR_PRIVATE != 0 {
            Some(Depleted::Private(self.info_of(id, pid)))
        } else if !p.shared_server_created {
            p.shared_server_created = true;
            Some(Depleted::Shared)
        } else {
            None
        };
        Ok(Created { fd, create_server })
    }

    /// The door_info record of `id` as process `asker` sees it.
    pub(crate) fn info_of(&self, id: DoorId, asker: Pid) -> DoorInfo {
        let d = self.door(id);
        let mut attrs = d.attrs;
        if d.server == asker && d.server_alive {
            attrs |= DOOR_LOCAL;
        }
        if d.revoked {
            attrs |= DOOR_REVOKED;
        }
        if d.refs == 1 {
            attrs |= DOOR_IS_UNREF;
        }
        DoorInfo {
            di_target: if d.server_alive { d.server as i32 } else { -1 },
            di_proc: d.pc,
            di_data: d.cookie,
            di_attributes: attrs,
            di_uniquifier: d.uniq,
            di_resv: [0; 4],
        }
    }

    /// door_info for thread `tid`. `fd == DOOR_QUERY` means the door the
    /// thread is serving, else the door it is bound to. Errors: EBADF (not a
    /// door; DOOR_QUERY from a thread serving and bound to nothing); ESRCH
    /// (unknown thread). EFAULT for the output is the kernel's copyout.
    pub fn door_info<D: Descriptors<Cap = C>>(
        &self,
        caps: &D,
        tid: Tid,
        fd: Fd,
    ) -> Result<DoorInfo, Errno> {
        let t = self.threads.get(&tid).ok_or(Errno::ESRCH)?;
        let id = if fd == DOOR_QUERY {
            let serving = t.serving.as_ref().map(|inv| inv.door);
            serving
                .or(t.bind.filter(|&b| self.doors.get(b).is_some()))
                .ok_or(Errno::EBADF)?
        } else {
            self.lookup(caps, t.pid, fd)?
        };
        Ok(self.info_of(id, t.pid))
    }

    /// door_revoke by process `pid`: EBADF (not a door, or already revoked),
    /// EPERM (`pid` did not create it). Closes `fd`, wakes the door's waiting
    /// callers with EBADF and drops its pending notices; running calls
    /// complete.
    pub fn door_revoke<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        fd: Fd,
    ) -> Result<(), Errno> {
        let id = self.lookup(caps, pid, fd)?;
        let d = self.door(id);
        if d.revoked {
            return Err(Errno::EBADF);
        }
        if d.server != pid {
            return Err(Errno::EPERM);
        }
        self.revoke_door(caps, id);
        self.close(caps, pid, fd)
    }

    /// Marks `id` revoked: queued calls fail with EBADF, queued or deferred
    /// notices are dropped, idle threads of its private pool are released.
    pub(crate) fn revoke_door<D: Descriptors<Cap = C>>(&mut self, caps: &mut D, id: DoorId) {
        let d = self.door_mut(id);
        d.revoked = true;
        d.unref.deferred = false;
        let key = d.pool_key(id);
        let private = matches!(key, PoolKey::Private(_));
        let pool = self.pool_mut(key);
        let mut ours = Vec::new();
        let mut rest = VecDeque::new();
        for p in pool.queue.drain(..) {
            let door = match &p {
                Pending::Call { door, .. } => *door,
                Pending::Unref(door) => *door,
            };
            if door == id {
                ours.push(p)
            } else {
                rest.push_back(p)
            }
        }
        pool.queue = rest;
        let idle = if private {
            core::mem::take(&mut pool.idle)
        } else {
            Vec::new()
        };
        // Hold the door while failing its work, so it cannot be freed midway.
        self.door_mut(id).refs += 1;
        for p in ours {
            self.queued_descs -= p.descs();
            self.fail_pending(caps, p, Errno::EBADF);
        }
        self.release_idle(idle);
        self.door_mut(id).refs -= 1;
        self.maybe_free(id);
    }

    /// Fails queued work: a waiting caller gets `errno`, a notice is dropped.
    pub(crate) fn fail_pending<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        p: Pending<C>,
        errno: Errno,
    ) {
        match p {
            Pending::Call { caller, door, msg } => {
                let c = self.threads.at_mut(caller);
                c.call = None;
                let caller = c.tid;
                self.events.push_back(Event::CallFailed { caller, errno });
                self.drop_message(caps, door, msg.descs);
            }
            Pending::Unref(door) => {
                self.door_mut(door).unref.queued = false;
                self.maybe_free(door);
            }
        }
    }

    /// Releases an undelivered call's in-flight references and its activity.
    pub(crate) fn drop_message<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        door: DoorId,
        descs: Vec<C>,
    ) {
        for cap in descs {
            self.release(caps, cap);
        }
        self.door_mut(door).active -= 1;
        self.end_activity(door);
    }

    /// door_setparam by process `pid`. Errors: EBADF (not a door, or
    /// revoked), EPERM (not the door's server), EINVAL (unknown parameter,
    /// or min above max), ERANGE (DESC_MAX above INT_MAX), ENOTSUP (non-zero
    /// DESC_MAX with DOOR_REFUSE_DESC).
    pub fn door_setparam<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &D,
        pid: Pid,
        fd: Fd,
        param: i32,
        value: u64,
    ) -> Result<(), Errno> {
        let id = self.lookup(caps, pid, fd)?;
        let d = self.door_mut(id);
        if d.revoked {
            return Err(Errno::EBADF);
        }
        if d.server != pid {
            return Err(Errno::EPERM);
        }
        match param {
            DOOR_PARAM_DESC_MAX => {
                if value > i32::MAX as u64 {
                    return Err(Errno::ERANGE);
                }
                if d.attrs & DOOR_REFUSE_DESC != 0 && value != 0 {
                    return Err(Errno::ENOTSUP);
                }
                d.desc_max = value as u32;
            }
            DOOR_PARAM_DATA_MIN if value > d.data_max => return Err(Errno::EINVAL),
            DOOR_PARAM_DATA_MIN => d.data_min = value,
            DOOR_PARAM_DATA_MAX if value < d.data_min => return Err(Errno::EINVAL),
            DOOR_PARAM_DATA_MAX => d.data_max = value,
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    /// door_getparam (also on revoked doors). Errors: EBADF, EINVAL (unknown
    /// parameter). Values fit the 64-bit result, so EOVERFLOW cannot arise;
    /// EFAULT is the kernel's copyout.
    pub fn door_getparam<D: Descriptors<Cap = C>>(
        &self,
        caps: &D,
        pid: Pid,
        fd: Fd,
        param: i32,
    ) -> Result<u64, Errno> {
        let d = self.door(self.lookup(caps, pid, fd)?);
        match param {
            DOOR_PARAM_DESC_MAX => Ok(d.desc_max as u64),
            DOOR_PARAM_DATA_MIN => Ok(d.data_min),
            DOOR_PARAM_DATA_MAX => Ok(d.data_max),
            _ => Err(Errno::EINVAL),
        }
    }

    /// door_ucred: the immediate caller of the invocation `tid` serves (the
    /// kernel, pid 0, for an unreferenced invocation). EINVAL when not
    /// serving, ESRCH for an unknown thread.
    pub fn door_ucred(&self, tid: Tid) -> Result<Ucred, Errno> {
        let t = self.threads.get(&tid).ok_or(Errno::ESRCH)?;
        let i = t.serving.as_ref().ok_or(Errno::EINVAL)?;
        Ok(Ucred {
            uc_pid: i.caller_pid as i32,
            uc_euid: i.cred.euid,
            uc_egid: i.cred.egid,
            uc_ruid: i.cred.ruid,
            uc_rgid: i.cred.rgid,
            uc_resv: [0; 3],
        })
    }

    /// door_cred: door_ucred in the older `door_cred_t` form.
    pub fn door_cred(&self, tid: Tid) -> Result<DoorCred, Errno> {
        let u = self.door_ucred(tid)?;
        Ok(DoorCred {
            dc_euid: u.uc_euid,
            dc_egid: u.uc_egid,
            dc_ruid: u.uc_ruid,
            dc_rgid: u.uc_rgid,
            dc_pid: u.uc_pid,
            dc_resv: [0; 4],
        })
    }

    /// door_bind: thread `tid` joins `fd`'s private pool at its next park,
    /// replacing any earlier binding (an invalid one too). Errors: EBADF (not a door, or
    /// revoked), EINVAL (not DOOR_PRIVATE, or another process's door).
    pub fn door_bind<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &D,
        tid: Tid,
        fd: Fd,
    ) -> Result<(), Errno> {
        let pid = self.running_thread(tid)?;
        let id = self.lookup(caps, pid, fd)?;
        let d = self.door(id);
        if d.revoked {
            return Err(Errno::EBADF);
        }
        if d.attrs & DOOR_PRIVATE == 0 || d.server != pid {
            return Err(Errno::EINVAL);
        }
        let t = self.threads.get_mut(&tid).expect("thread vanished");
        (t.bind, t.bound_invalid) = (Some(id), false);
        Ok(())
    }

    /// door_unbind: drops `tid`'s binding, or the invalid binding a fork
    /// child's thread inherited (see `fork`). EBADF if it has neither.
    pub fn door_unbind(&mut self, tid: Tid) -> Result<(), Errno> {
        self.running_thread(tid)?;
        let t = self.threads.get_mut(&tid).expect("thread vanished");
        if core::mem::take(&mut t.bound_invalid) {
            return Ok(());
        }
        t.bind.take().map(|_| ()).ok_or(Errno::EBADF)
    }
}
