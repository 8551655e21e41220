//! The kernel side of doors. The door logic (`doors::DoorSystem`, tested on
//! the host) lives inside the scheduler state, under the same lock, with the
//! capability layer (`kernel::cap`, see `objects.rs`); this module gives it
//! access to user memory ([`Spaces`]; [`ProcessMemory`], the running
//! process's alone, on the fast path) and carries out what it decides:
//! copying arguments into a server thread's stack area and results back to
//! the caller (the side effects it reports as events are carried out in
//! `objects.rs`). Switching threads is left to the callers
//! (`syscall::door`), which hand the CPU straight from caller to server and
//! back.

use super::{Process, Resume, Sched, Thread};
use crate::mem::PAGE_SIZE;
use crate::mem::pages::FrameStore;
use crate::mem::space::AddressSpace;
use crate::mem::user::{
    UserPtr, UserSlice, WritablePages, copy_between, copy_located_from, copy_located_to,
    copy_tokens,
};
use abi::{DoorArg, DoorDesc, DoorInfo, Errno, Wire};
use alloc::vec::Vec;
use core::cell::Cell;
use core::ptr::NonNull;
use doors::{
    At, CallParams, Cred, Depleted, DoorSystem, Located, Pid, Registry, Reply, ResultPlace,
    ThreadKey, UNPLACED, Upcall, UserMemory,
};
use kernel::cap::{CapSpace, Capability};

/// The door logic's view of user memory: every process's address space.
pub struct Spaces<'a>(&'a mut Registry<Process>);

impl Spaces<'_> {
    fn space(&self, pid: Pid) -> Option<&AddressSpace> {
        space_of(self.0, pid)
    }
}

/// Process `pid`'s address space.
#[inline(always)]
fn space_of(procs: &Registry<Process>, pid: Pid) -> Option<&AddressSpace> {
    procs.get(&pid).and_then(|p| p.space.as_ref())
}

/// One process's memory, as the door fast path sees it: the fast path asks
/// only about the running process's memory (a question about another
/// process's is answered no, and the general path takes the call), reads
/// no descriptors and maps nothing.
pub struct ProcessMemory<'a> {
    pid: Pid,
    procs: &'a Registry<Process>,
    /// Its address space, once looked up (a null call never needs it).
    space: Cell<Option<&'a AddressSpace>>,
}

impl<'a> ProcessMemory<'a> {
    /// Process `pid`'s memory, among `procs`.
    #[inline(always)]
    pub fn new(procs: &'a Registry<Process>, pid: Pid) -> Self {
        ProcessMemory {
            pid,
            procs,
            space: Cell::new(None),
        }
    }

    /// The `door_arg_t` at `addr`, if it can be read and written, with
    /// where its ranges are when they are all accessible (so the door logic
    /// need not look for them again): in the calling thread's `pages` (the
    /// pages of its last call's `door_arg_t`, rbuf and arguments,
    /// remembered anew), else by a look at the space.
    #[inline(always)]
    pub fn read_params(&self, addr: u64, pages: &mut WritablePages) -> Option<CallParams> {
        let epoch = crate::mem::space::unmap_epoch();
        // The same buffers as the last call's: their tokens at once.
        if let Some(at) = pages.last_params(epoch, addr) {
            let arg = UserPtr::<DoorArg>::read_at(at);
            let ranges = [arg.data_ptr, arg.data_size, arg.rbuf, arg.rsize];
            if let Some([params, data, rbuf]) = pages.last_ranges(ranges) {
                let located = Some(Located { params, data, rbuf });
                return Some(CallParams { addr, arg, located });
            }
        }
        let space = || self.space();
        // Slots: the door_arg_t's page, the rbuf's, the arguments' (most
        // often the rbuf's too).
        let params = (addr, DoorArg::SIZE as u64);
        let params = pages.locate(space, epoch, params, true, [0, 1, 2])?;
        let arg = match params {
            UNPLACED => UserPtr::<DoorArg>::new(addr)
                .ok()?
                .read(self.space()?)
                .ok()?,
            at => UserPtr::<DoorArg>::read_at(at),
        };
        let rbuf = pages.locate(space, epoch, (arg.rbuf, arg.rsize), true, [1, 2, 0])?;
        let data = (arg.data_ptr, arg.data_size);
        let data = pages.locate(space, epoch, data, false, [2, 1, 0])?;
        let ranges = [arg.data_ptr, arg.data_size, arg.rbuf, arg.rsize];
        pages.remember_call(epoch, addr, ranges, [params, data, rbuf]);
        let located = Some(Located { params, data, rbuf });
        Some(CallParams { addr, arg, located })
    }

    /// Its address space.
    #[inline(always)]
    pub fn space(&self) -> Option<&'a AddressSpace> {
        if let Some(space) = self.space.get() {
            return Some(space);
        }
        let space = space_of(self.procs, self.pid)?;
        self.space.set(Some(space));
        Some(space)
    }
}

impl UserMemory for ProcessMemory<'_> {
    #[inline(always)]
    fn accessible(&self, pid: Pid, addr: u64, len: u64, write: bool) -> bool {
        let Some(space) = self.space().filter(|_| pid == self.pid) else {
            return false;
        };
        crate::mem::user::accessible(space, addr, len, write)
    }

    #[inline(always)]
    fn locate(&self, pid: Pid, addr: u64, len: u64, write: bool) -> Option<u64> {
        let space = self.space().filter(|_| pid == self.pid)?;
        crate::mem::user::locate(space, addr, len, write)
    }

    fn read_descs(&self, _: Pid, _: u64, _: u32) -> Result<Vec<DoorDesc>, Errno> {
        Err(Errno::EFAULT)
    }

    #[inline(always)]
    fn epoch(&self) -> u64 {
        crate::mem::space::unmap_epoch()
    }

    fn map_zeroed(&mut self, _: Pid, _: u64) -> Option<u64> {
        None
    }
}

/// Copies a fast door_call's `len` argument bytes from `from` in the
/// caller's memory `src` (token `from_at`, [`UNPLACED`] for none) to `to`
/// in the server's process (`server_pid`), in the range with token and
/// start `top` (the top of the server thread's area, found writable when
/// it was registered; `(UNPLACED, 0)` for none): by the tokens when there
/// are both (neither space even looked up), else through the spaces. The
/// door logic checked both ranges (an idle thread's area stays writable),
/// under the same lock, so the copy cannot fail.
#[inline(always)]
pub fn copy_arguments(
    procs: &Registry<Process>,
    src: &ProcessMemory,
    (from, from_at): (u64, u64),
    (server_pid, to, top): (Pid, u64, (u64, u64)),
    len: u64,
) {
    let copied = match (from_at, top) {
        (at, _) if at != UNPLACED && top.0 != UNPLACED => {
            copy_tokens(at, token_of(top, to), len);
            Ok(())
        }
        _ => copy_arguments_by_spaces(procs, src, (from, from_at), (server_pid, to, top), len),
    };
    if let Err(e) = copied {
        copy_failed(len, e);
    }
}

/// [`copy_arguments`] when the source or the destination has no token:
/// through the spaces.
#[inline(always)]
fn copy_arguments_by_spaces(
    procs: &Registry<Process>,
    src: &ProcessMemory,
    (from, from_at): (u64, u64),
    (server_pid, to, top): (Pid, u64, (u64, u64)),
    len: u64,
) -> Result<(), Errno> {
    let own = src.space().ok_or(Errno::EFAULT)?;
    match top {
        (UNPLACED, _) => {
            let dst = space_of(procs, server_pid).ok_or(Errno::EFAULT)?;
            copy_located_from(from_at, own, from, dst, to, len)
        }
        // The source has no token.
        top => copy_located_to(own, from, token_of(top, to), len),
    }
}

/// The token of user address `addr` in the range whose start `start` has
/// token `at` (not [`UNPLACED`]): tokens are physical addresses, and the
/// range goes on in its page.
#[inline(always)]
fn token_of((at, start): (u64, u64), addr: u64) -> u64 {
    at + (addr - start)
}

/// A door copy failed on ranges the door logic checked: a kernel bug.
#[cold]
#[inline(never)]
fn copy_failed(len: u64, e: Errno) -> ! {
    panic!("door copy of {len} bytes failed ({e:?}) on ranges the door logic checked")
}

/// Delivers a fast door_return's `len` results at `from` in the running
/// process's memory `src` (in the range with token and start `from_at`)
/// to the caller (process `caller_pid`) as `place` says: copies them into
/// its rbuf and writes its `door_arg_t` back, by the tokens the door logic
/// found (for the results, and at the call for the rbuf and `door_arg_t`:
/// nothing unmapped since, the rbuf in one page) when it has them, without
/// even looking either space up; else through the spaces. The door logic
/// checked every range, under this same lock, so nothing can fail.
#[inline(always)]
pub fn deliver_results(
    procs: &Registry<Process>,
    src: &ProcessMemory,
    from: u64,
    from_at: (u64, u64),
    len: u64,
    caller_pid: Pid,
    place: ResultPlace,
) {
    let delivered = deliver(procs, src, from, from_at, len, caller_pid, place);
    if let Err(e) = delivered {
        copy_failed(len, e);
    }
}

/// [`deliver_results`], failing with EFAULT or ENOMEM if the door logic
/// was wrong.
#[inline(always)]
fn deliver(
    procs: &Registry<Process>,
    src: &ProcessMemory,
    from: u64,
    from_at: (u64, u64),
    len: u64,
    caller_pid: Pid,
    place: ResultPlace,
) -> Result<(), Errno> {
    let caller = || space_of(procs, caller_pid).ok_or(Errno::EFAULT);
    let own = || src.space().ok_or(Errno::EFAULT);
    if len > 0 {
        match (from_at, place.rbuf_at) {
            (from_at, UNPLACED) => {
                let from_at = match from_at {
                    (UNPLACED, _) => UNPLACED,
                    range => token_of(range, from),
                };
                copy_located_from(from_at, own()?, from, caller()?, place.rbuf, len)?
            }
            // The whole rbuf (at least `len` bytes) lies in one page.
            ((UNPLACED, _), rbuf_at) => copy_located_to(own()?, from, rbuf_at, len)?,
            (range, rbuf_at) => copy_tokens(token_of(range, from), rbuf_at, len),
        }
    }
    let arg = place.arg(len);
    match place.params_at {
        UNPLACED => UserPtr::<DoorArg>::new(place.params)?.write(caller()?, &arg),
        params_at => {
            UserPtr::<DoorArg>::write_located(params_at, &arg);
            Ok(())
        }
    }
}

impl UserMemory for Spaces<'_> {
    fn accessible(&self, pid: Pid, addr: u64, len: u64, write: bool) -> bool {
        let Some(space) = self.space(pid) else {
            return false;
        };
        UserSlice::<u8>::new(addr, len).is_ok_and(|s| s.check(space, write).is_ok())
    }

    fn locate(&self, pid: Pid, addr: u64, len: u64, write: bool) -> Option<u64> {
        crate::mem::user::locate(self.space(pid)?, addr, len, write)
    }

    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        let space = self.space(pid).ok_or(Errno::EFAULT)?;
        UserSlice::<DoorDesc>::new(addr, u64::from(n))?.read_all(space)
    }

    fn epoch(&self) -> u64 {
        crate::mem::space::unmap_epoch()
    }

    fn map_zeroed(&mut self, pid: Pid, len: u64) -> Option<u64> {
        let space = self.0.get_mut(&pid)?.space.as_mut()?;
        space
            .map_area(None, len.div_ceil(PAGE_SIZE), true, false)
            .ok()
    }
}

impl Sched {
    /// The door logic, the descriptor tables and the user memory it may
    /// inspect, at once.
    #[inline]
    pub fn door_env(
        &mut self,
    ) -> (
        &mut DoorSystem<Capability>,
        &mut CapSpace<FrameStore>,
        Spaces<'_>,
    ) {
        let objects = self.objects.as_mut().expect("objects initialised at boot");
        (
            &mut objects.doors,
            &mut objects.caps,
            Spaces(&mut self.procs),
        )
    }

    /// What the door fast path works with (`None`: the running thread has
    /// no record, which cannot happen).
    #[inline(always)]
    pub fn fast_door_env(&mut self) -> Option<FastDoorEnv<'_>> {
        // SAFETY: `running` points to the boxed record of the running
        // thread (set with `current`); a record is freed only once its
        // thread no longer runs (`destroy_thread`, and the switch away
        // from a dead one), and `&mut self` is held for as long as the
        // reference lives, so nothing else reaches the record meanwhile.
        let me = unsafe { &mut *self.running.0?.as_ptr() };
        let objects = self.objects.as_mut().expect("objects initialised at boot");
        Some(FastDoorEnv {
            doors: &mut objects.doors,
            caps: &objects.caps,
            procs: &self.procs,
            me,
        })
    }

    /// Decides how thread `tid`'s door operation ends.
    pub fn set_resume(&mut self, tid: u32, resume: Resume) {
        if let Some(t) = self.threads.get_mut(tid) {
            t.resume = resume;
        }
    }

    /// How thread `tid`'s door operation ends (it is taken: the next one
    /// starts out interrupted).
    pub fn take_resume(&mut self, tid: u32) -> Resume {
        self.threads
            .get_mut(tid)
            .map_or(Resume::INTERRUPTED, |t| t.take_resume())
    }

    /// Writes an invocation into the server thread's stack area (arguments,
    /// descriptors, door_info of a depleted private pool); returns how the
    /// thread starts it. The door logic checked every range right before
    /// (an idle thread's area stays writable: unmaps take threads out of
    /// their pools; a caller's arguments are checked when its call starts),
    /// under this same lock, so the copies cannot fail.
    pub fn deliver_upcall(&mut self, up: &Upcall) -> Resume {
        let procs = &self.procs;
        let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
        let nothing_to_write = up.copy.is_none() && up.descs.is_empty() && up.depleted.is_none();
        if !nothing_to_write {
            let written = (|| -> Result<(), Errno> {
                let server = space(up.server_pid).ok_or(Errno::EFAULT)?;
                let l = &up.layout;
                if let Some(c) = up.copy {
                    let caller = space(c.from_pid).ok_or(Errno::EFAULT)?;
                    copy_between(caller, c.from, server, l.data_addr, c.len)?;
                }
                let n = up.descs.len() as u64;
                UserSlice::<DoorDesc>::new(l.desc_addr, n)?.write_all(server, &up.descs)?;
                if let Some(Depleted::Private(info)) = &up.depleted {
                    UserPtr::<DoorInfo>::new(l.info_addr)?.write(server, info)?;
                }
                Ok(())
            })();
            if let Err(e) = written {
                panic!(
                    "door upcall to thread {} failed ({e:?}) on ranges the door logic checked",
                    up.server
                );
            }
        }
        Resume::Invocation(super::Entry {
            sp: up.layout.sp,
            status: up.entry_status(),
            regs: up.entry_regs(),
        })
    }

    /// Copies a door_return's results into the caller; returns what its
    /// door_call returns.
    pub fn deliver_reply(&mut self, reply: &Reply) -> Resume {
        let result = match &reply.result {
            Err(e) => Err(*e),
            Ok(d) => {
                let procs = &self.procs;
                let space = |pid: Pid| procs.get(&pid).and_then(|p| p.space.as_ref());
                (|| -> Result<u64, Errno> {
                    if d.len == 0 && d.descs.is_empty() && d.arg.is_none() {
                        return Ok(0);
                    }
                    let caller = space(reply.caller_pid).ok_or(Errno::EFAULT)?;
                    if d.len > 0 {
                        let server = space(d.server_pid).ok_or(Errno::EFAULT)?;
                        copy_between(server, d.from, caller, d.data_addr, d.len)?;
                    }
                    let n = d.descs.len() as u64;
                    UserSlice::<DoorDesc>::new(d.desc_addr, n)?.write_all(caller, &d.descs)?;
                    if let Some((addr, arg)) = &d.arg {
                        UserPtr::<DoorArg>::new(*addr)?.write(caller, arg)?;
                    }
                    Ok(0)
                })()
            }
        };
        Resume::Return(result)
    }
}

/// What the door fast path works with: the door logic, the descriptor
/// tables, the processes (for their memories), and the running thread's
/// record.
pub struct FastDoorEnv<'a> {
    pub doors: &'a mut DoorSystem<Capability>,
    pub caps: &'a CapSpace<FrameStore>,
    pub procs: &'a Registry<Process>,
    pub me: &'a mut Thread,
}

/// A thread parked in a door operation that a door switch resumes: its id,
/// and its record when a door fast path found it (else the switch looks it
/// up by id).
#[derive(Clone, Copy)]
pub struct DoorTarget {
    pub tid: u32,
    pub(super) record: Option<NonNull<Thread>>,
}

impl DoorTarget {
    /// Thread `tid`, to look up by id.
    pub fn by_id(tid: u32) -> Self {
        DoorTarget { tid, record: None }
    }

    /// Thread `tid` as a door fast path found it: with the handle its door
    /// record holds ([`Thread::door_handle`]), no lookup.
    ///
    /// # Safety
    /// `handle` is the handle of thread `tid`'s door record, read under the
    /// hold of the `SCHED` lock the switch happens in: the kernel gives
    /// each door record its thread's handle, and removes the door record
    /// (`exit_thread`) before it frees the thread's, so the record is live.
    #[inline(always)]
    pub unsafe fn handed_back(tid: u32, handle: u64) -> Self {
        // SAFETY: a handle is the address of a boxed record, never null.
        let record = unsafe { NonNull::new_unchecked(handle as *mut Thread) };
        DoorTarget {
            tid,
            record: Some(record),
        }
    }
}

impl Thread {
    /// What the door logic calls this record (`DoorSystem::create_thread`):
    /// its address, which stays put (records are boxed).
    pub fn door_handle(&self) -> u64 {
        core::ptr::from_ref(self) as u64
    }

    /// Its record in the door logic (`None` for the idle thread).
    #[inline(always)]
    pub fn door_key(&self) -> Option<ThreadKey> {
        self.door_key
    }

    /// Its process's credentials.
    #[inline(always)]
    pub fn cred(&self) -> Cred {
        self.cred
    }

    /// Where its process's descriptor table was last found (a hint).
    #[inline(always)]
    pub fn caps_at(&mut self) -> &mut At {
        &mut self.caps_at
    }

    /// The pages of its last fast door_call's `door_arg_t`, rbuf and arguments.
    #[inline(always)]
    pub fn door_pages(&mut self) -> &mut WritablePages {
        &mut self.door_pages
    }

    /// How its pending door operation ends; the next one starts out
    /// interrupted.
    #[inline]
    pub fn take_resume(&mut self) -> Resume {
        core::mem::replace(&mut self.resume, Resume::INTERRUPTED)
    }
}
