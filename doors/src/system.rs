//! The door state of the whole machine ([`DoorSystem`]), its bookkeeping
//! types, and the operations on processes, threads and door references:
//! process and thread creation and exit, reference counting and the
//! triggers of unreferenced notices.

use crate::descriptors::{Descriptors, DoorId};
use crate::outcome::{Event, StackArea, Stats};
use crate::records::Records;
use crate::slab::{Key, Slab};
use crate::{Errno, Fd, Pid, Tid};
use abi::{DOOR_PRIVATE, DOOR_UNREF, DOOR_UNREF_MULTI};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Names a thread's record in the door logic: the kernel keeps it to reach
/// the record without hashing on the fast path.
pub type ThreadKey = Key;
/// Names a process's record in the door logic.
pub(crate) type ProcKey = Key;

/// Tunables of a [`DoorSystem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Hard limit on descriptors in one call or return (E2BIG beyond,
    /// checked before the descriptor array is even read).
    pub max_desc_per_msg: u32,
    /// Bytes of a server thread's stack area that must stay free below the
    /// arguments (E2BIG when the arguments would eat into them).
    pub stack_reserve: u64,
    /// Page size used to round result mappings.
    pub page_size: u64,
    /// Most bytes of data one call or return carries (E2BIG beyond, checked
    /// with the descriptor count): it bounds the copying one system call
    /// does.
    pub max_data: u64,
    /// Most doors that exist at once (door_create: ENFILE beyond): it
    /// bounds the kernel heap their records take.
    pub max_doors: usize,
    /// Most descriptors that calls waiting in a queue carry, all together
    /// (door_call: EAGAIN beyond, when the call would wait): it bounds the
    /// kernel heap their messages take.
    pub max_queued_descs: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_desc_per_msg: 256,
            stack_reserve: 0,
            page_size: 4096,
            max_data: abi::DOOR_DATA_MAX,
            max_doors: abi::MAX_DOORS,
            max_queued_descs: abi::MAX_QUEUED_DESCS,
        }
    }
}

/// A process's credentials, as door_ucred reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cred {
    pub euid: u32,
    pub egid: u32,
    pub ruid: u32,
    pub rgid: u32,
}

/// `door_arg_t` of a door_call with the user address it was read from (the
/// updated copy is written back there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallParams {
    /// Address of the caller's `door_arg_t`.
    pub addr: u64,
    /// Its contents.
    pub arg: abi::DoorArg,
    /// Where its ranges are, when the kernel found them accessible as it
    /// read it, just now (`None` when it did not look).
    pub located: Option<Located>,
}

/// The tokens ([`crate::UserMemory::locate`]) of a door_call's ranges,
/// each found accessible: its `door_arg_t` and rbuf writable, its
/// argument bytes readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    pub params: u64,
    pub data: u64,
    pub rbuf: u64,
}

impl CallParams {
    /// Where its ranges are, if the `door_arg_t` and rbuf can be written
    /// and the argument bytes read (looked for unless the kernel did).
    #[inline(always)]
    pub(crate) fn locate<M: crate::UserMemory>(&self, mem: &M, pid: Pid) -> Option<Located> {
        if let Some(located) = self.located {
            return Some(located);
        }
        let a = &self.arg;
        Some(Located {
            params: mem.locate(pid, self.addr, crate::dispatch::ARG_SIZE, true)?,
            data: mem.locate(pid, a.data_ptr, a.data_size, false)?,
            rbuf: mem.locate(pid, a.rbuf, a.rsize, true)?,
        })
    }
}

/// Arguments of door_return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReturnArgs {
    pub data_ptr: u64,
    pub data_size: u64,
    pub desc_ptr: u64,
    pub desc_num: u32,
    /// Where the thread's next invocation is laid out.
    pub stack: StackArea,
}

/// Result of door_create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Created {
    /// The new descriptor.
    pub fd: Fd,
    /// Set when the library must run door_server_create's procedure now.
    pub create_server: Option<crate::Depleted>,
}

/// A pool of server threads: the process's shared one or a private door's.
///
/// Invariant: `idle` and `queue` are never both non-empty (a parking thread
/// takes queued work first; new work takes an idle thread first).
pub(crate) struct Pool<C> {
    /// Parked threads, the most recently parked last (taken first).
    pub idle: Vec<ThreadKey>,
    /// Work waiting for a thread, oldest first.
    pub queue: VecDeque<Pending<C>>,
}

impl<C> Default for Pool<C> {
    fn default() -> Self {
        Pool {
            idle: Vec::new(),
            queue: VecDeque::new(),
        }
    }
}

/// Names a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKey {
    Shared(ProcKey),
    Private(DoorId),
}

/// Work waiting in a pool's queue.
pub(crate) enum Pending<C> {
    /// A caller blocked until a server thread parks. Counts in the door's
    /// `active`.
    Call {
        caller: ThreadKey,
        door: DoorId,
        msg: Message<C>,
    },
    /// An unreferenced notice (the door's `unref.queued` is set).
    Unref(DoorId),
}

impl<C> Pending<C> {
    /// Descriptors its message carries (counted in
    /// [`DoorSystem::queued_descs`] while it is queued).
    pub fn descs(&self) -> usize {
        match self {
            Pending::Call { msg, .. } => msg.descs.len(),
            Pending::Unref(_) => 0,
        }
    }
}

/// Where a call's results go (absent when door_call got `params == NULL`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReplyTo {
    pub params_addr: u64,
    pub rbuf: u64,
    pub rsize: u64,
    /// [`crate::UserMemory::epoch`] when the `door_arg_t` and the whole
    /// rbuf were found writable (at door_call): while it stays the same,
    /// they still are.
    pub epoch: u64,
    /// The tokens of the `door_arg_t` and of the whole rbuf
    /// ([`crate::UserMemory::locate`]), valid at `epoch`.
    pub params_at: u64,
    pub rbuf_at: u64,
}

impl ReplyTo {
    /// Where the results of a call with `params` go; its `door_arg_t` and
    /// rbuf were found writable at `epoch`, with tokens `at`.
    #[inline(always)]
    pub fn of(params: &CallParams, epoch: u64, at: (u64, u64)) -> ReplyTo {
        ReplyTo {
            params_addr: params.addr,
            rbuf: params.arg.rbuf,
            rsize: params.arg.rsize,
            epoch,
            params_at: at.0,
            rbuf_at: at.1,
        }
    }
}

/// A validated call on its way to a server thread.
///
/// Invariant: each capability in `descs` holds one counted reference to its
/// object (in flight).
pub(crate) struct Message<C> {
    pub data_ptr: u64,
    pub data_size: u64,
    /// The capabilities passed, in order.
    pub descs: Vec<C>,
    pub reply: Option<ReplyTo>,
    /// The calling process and its credentials when it called.
    pub caller_pid: Pid,
    pub cred: Cred,
}

/// Unreferenced-notice state of a door.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct UnrefState {
    /// A notice was queued or deferred at least once (DOOR_UNREF fires once).
    pub fired: bool,
    /// A notice waits for the active calls (or a running notice) to finish.
    pub deferred: bool,
    /// A notice is queued in the pool (not yet on a thread).
    pub queued: bool,
    /// A notice is being served.
    pub running: bool,
}

/// A door object.
///
/// Invariants: `refs` = descriptors naming it + references the kernel holds
/// ([`DoorSystem::add_ref`], e.g. fattach) + in-flight message entries; `active` = its waiting calls + calls being served; the
/// door is freed as soon as `refs == 0`, `active == 0` and no notice is
/// queued or running; `pool` is used only for DOOR_PRIVATE doors.
pub(crate) struct Door<C> {
    pub server: Pid,
    pub server_proc: ProcKey,
    /// False once the server process has exited (di_target -1).
    pub server_alive: bool,
    pub pc: u64,
    pub cookie: u64,
    /// Creation attributes.
    pub attrs: u32,
    pub revoked: bool,
    pub uniq: u64,
    pub refs: u32,
    pub active: u32,
    pub data_min: u64,
    pub data_max: u64,
    pub desc_max: u32,
    pub unref: UnrefState,
    pub pool: Pool<C>,
}

impl<C> Door<C> {
    /// Whether calls may still reach the server.
    #[inline]
    pub fn callable(&self) -> bool {
        !self.revoked && self.server_alive
    }

    #[inline]
    pub fn pool_key(&self, id: DoorId) -> PoolKey {
        if self.attrs & DOOR_PRIVATE != 0 {
            PoolKey::Private(id)
        } else {
            PoolKey::Shared(self.server_proc)
        }
    }

    /// Whether a drop to one reference should produce a notice now.
    fn wants_unref(&self) -> bool {
        let multi = self.attrs & DOOR_UNREF_MULTI != 0;
        let once = self.attrs & DOOR_UNREF != 0;
        self.callable()
            && !self.unref.queued
            && !self.unref.deferred
            && (multi || (once && !self.unref.fired))
    }
}

pub(crate) struct Process<C> {
    pub pool: Pool<C>,
    /// The first non-private door_create already asked for create_proc.
    pub shared_server_created: bool,
    pub threads: Vec<ThreadKey>,
}

/// What a thread is blocked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallState {
    /// Queued in a pool, no server thread yet.
    Waiting(PoolKey),
    /// Being served by this thread (which holds the invocation).
    Active(ThreadKey),
}

/// A thread as the door logic sees it.
///
/// Invariants: a thread is in at most one of: idle in a pool (`idle`),
/// blocked in a call (`call`), running. `serving` may coexist with `call`
/// (a nested call made while serving), never with `idle`.
pub(crate) struct Thread {
    pub tid: Tid,
    /// The kernel's word for its own record of the thread, given at
    /// [`DoorSystem::create_thread`] and handed back by the fast paths
    /// with the thread to switch to, so the kernel needs no lookup.
    pub handle: u64,
    pub pid: Pid,
    pub proc: ProcKey,
    pub idle: Option<PoolKey>,
    pub call: Option<CallState>,
    /// The invocation it serves (a thread serves one at a time).
    pub serving: Option<Invocation>,
    /// door_bind target; takes effect at the next park.
    pub bind: Option<DoorId>,
    /// Bound to an invalid door: the thread is a fork child's copy of a
    /// bound thread (illumos's DOOR_INVBOUND). Its door_return fails with
    /// EINVAL until door_unbind (which then succeeds once) or door_bind
    /// clears it. Never set together with `bind`.
    pub bound_invalid: bool,
    pub stack: StackArea,
    /// [`crate::UserMemory::epoch`] when `stack` was found writable.
    pub stack_epoch: u64,
    /// Where an invocation without arguments or descriptors starts in
    /// `stack` (its stack pointer and argument address), worked out when
    /// `stack` was registered (0 before), so a null call needs no layout.
    pub null_sp: u64,
    /// Where the arguments of an invocation without descriptors end in
    /// `stack` (below the door_info slot), worked out with `null_sp` (0
    /// before).
    pub arg_end: u64,
    /// The lowest address arguments may start at in `stack` (above the
    /// reserve: `crate::dispatch::arg_floor`), worked out with `arg_end`.
    pub arg_floor: u64,
    /// The token ([`crate::UserMemory::locate`]) and start of the top of
    /// `stack` (`crate::dispatch::area_top`, where small arguments land),
    /// found with it at `stack_epoch`; `(UNPLACED, 0)` for none.
    pub top: (u64, u64),
}

/// An invocation being served, held by its server thread.
#[derive(Debug)]
///
/// Invariant: if `caller` is set, `threads[caller].call` is
/// `Active(the server thread)`.
pub(crate) struct Invocation {
    pub door: DoorId,
    /// The caller, or `None` (unreferenced notice, or the caller abandoned it).
    pub caller: Option<ThreadKey>,
    pub unref: bool,
    pub reply: Option<ReplyTo>,
    /// What door_ucred reports: the calling process and its credentials
    /// when it called ([`crate::KERNEL_PID`] and zeros for a notice). Kept when the
    /// caller abandons the call.
    pub caller_pid: Pid,
    pub cred: Cred,
    /// A cancellation notice was sent to the server thread.
    pub cancelled: bool,
}

/// All door state of the machine. See the crate documentation for how the
/// kernel drives it.
///
/// `C` is the kernel's capability type ([`Descriptors::Cap`]): messages
/// carry capabilities of any kind.
pub struct DoorSystem<C> {
    pub(crate) cfg: Config,
    pub(crate) procs: Records<Process<C>>,
    pub(crate) threads: Records<Thread>,
    pub(crate) doors: Slab<Door<C>>,
    pub(crate) next_uniq: u64,
    pub(crate) events: VecDeque<Event>,
    /// Descriptors the messages of queued calls carry, all queues together
    /// (at most `cfg.max_queued_descs`).
    pub(crate) queued_descs: usize,
}

impl<C: Copy> DoorSystem<C> {
    /// An empty system.
    pub fn new(cfg: Config) -> Self {
        DoorSystem {
            cfg,
            procs: Records::default(),
            threads: Records::default(),
            doors: Slab::default(),
            next_uniq: 1,
            events: VecDeque::new(),
            queued_descs: 0,
        }
    }

    /// Whether side effects wait for [`DoorSystem::pop_event`].
    #[inline]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next side effect the kernel must carry out, oldest first.
    pub fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Leak-accounting counters.
    pub fn stats(&self) -> Stats {
        Stats {
            doors: self.doors.len(),
            invocations: self
                .threads
                .values()
                .filter(|t| t.serving.is_some())
                .count(),
            waiting: self
                .threads
                .values()
                .filter(|t| matches!(t.call, Some(CallState::Waiting(_))))
                .count(),
            queued_descs: self.queued_descs,
        }
    }

    /// Registers process `pid`. EINVAL if it exists.
    pub fn create_process(&mut self, pid: Pid) -> Result<(), Errno> {
        let process = Process {
            pool: Pool::default(),
            shared_server_created: false,
            threads: Vec::new(),
        };
        self.procs.insert(pid, process).ok_or(Errno::EINVAL)?;
        Ok(())
    }

    /// Registers thread `tid` of process `pid`, whose kernel record the
    /// kernel calls `handle` (handed back by the fast paths, never looked
    /// into); returns the key the kernel keeps for the fast path. Errors:
    /// ESRCH (no process), EINVAL (`tid` exists).
    pub fn create_thread(&mut self, pid: Pid, tid: Tid, handle: u64) -> Result<ThreadKey, Errno> {
        let proc = self.procs.find(pid).ok_or(Errno::ESRCH)?;
        let t = Thread {
            tid,
            handle,
            pid,
            proc,
            idle: None,
            call: None,
            serving: None,
            bind: None,
            bound_invalid: false,
            stack: StackArea::default(),
            stack_epoch: 0,
            null_sp: 0,
            arg_end: 0,
            arg_floor: 0,
            top: (crate::UNPLACED, 0),
        };
        let key = self.threads.insert(tid, t).ok_or(Errno::EINVAL)?;
        self.procs.at_mut(proc).threads.push(key);
        Ok(key)
    }

    /// The running thread `tid`'s process. ESRCH if unknown, EINVAL if the
    /// thread is parked or blocked in a call (it cannot make a syscall).
    #[inline]
    pub(crate) fn running_thread(&self, tid: Tid) -> Result<Pid, Errno> {
        self.running_thread_key(tid)
            .map(|key| self.threads.at(key).pid)
    }

    /// The key of the running thread `tid` (errors as
    /// [`DoorSystem::running_thread`]).
    #[inline]
    pub(crate) fn running_thread_key(&self, tid: Tid) -> Result<ThreadKey, Errno> {
        let key = self.threads.find(tid).ok_or(Errno::ESRCH)?;
        let t = self.threads.at(key);
        if t.idle.is_some() || t.call.is_some() {
            return Err(Errno::EINVAL);
        }
        Ok(key)
    }

    /// The thread id of the thread record `key`.
    #[inline]
    pub(crate) fn tid(&self, key: ThreadKey) -> Tid {
        self.threads.at(key).tid
    }

    /// The door descriptor `fd` of `pid` names (EBADF if it is not open or
    /// names another kind of object).
    #[inline]
    pub(crate) fn lookup<D: Descriptors<Cap = C>>(
        &self,
        caps: &D,
        pid: Pid,
        fd: Fd,
    ) -> Result<DoorId, Errno> {
        caps.get(pid, fd).and_then(D::door).ok_or(Errno::EBADF)
    }

    #[inline]
    pub(crate) fn door(&self, id: DoorId) -> &Door<C> {
        self.doors.get(id).expect("door id of a freed door")
    }

    #[inline]
    pub(crate) fn door_mut(&mut self, id: DoorId) -> &mut Door<C> {
        self.doors.get_mut(id).expect("door id of a freed door")
    }

    #[inline]
    pub(crate) fn pool_mut(&mut self, key: PoolKey) -> &mut Pool<C> {
        match key {
            PoolKey::Shared(proc) => &mut self.procs.at_mut(proc).pool,
            PoolKey::Private(d) => &mut self.door_mut(d).pool,
        }
    }

    /// One more reference to door `id` (a descriptor the kernel's
    /// capability layer copied, or a reference it holds itself, such as an
    /// fattach name). Panics if the door is gone: the caller holds a
    /// reference, so it cannot be.
    pub fn add_ref(&mut self, id: DoorId) {
        self.door_mut(id).refs += 1;
    }

    /// How many references door `id` has (descriptors, the kernel's own
    /// such as fattach attachments, messages in flight); `None` if it is
    /// gone.
    pub fn references(&self, id: DoorId) -> Option<u32> {
        self.doors.get(id).map(|d| d.refs)
    }

    /// Door `id`'s uniquifier (`di_uniquifier`); `None` if it is gone.
    pub fn uniquifier(&self, id: DoorId) -> Option<u64> {
        self.doors.get(id).map(|d| d.uniq)
    }

    /// One more reference to the object `cap` names.
    #[inline]
    pub(crate) fn retain<D: Descriptors<Cap = C>>(&mut self, caps: &mut D, cap: C) {
        match D::door(cap) {
            Some(id) => self.add_ref(id),
            None => caps.retain(cap),
        }
    }

    /// One reference fewer to the object `cap` names.
    pub(crate) fn release<D: Descriptors<Cap = C>>(&mut self, caps: &mut D, cap: C) {
        match D::door(cap) {
            Some(id) => self.drop_ref(id),
            None => caps.release(cap),
        }
    }

    /// Closes descriptor `fd` of `pid` (EBADF if it is not open).
    pub(crate) fn close<D: Descriptors<Cap = C>>(
        &mut self,
        caps: &mut D,
        pid: Pid,
        fd: Fd,
    ) -> Result<(), Errno> {
        let cap = caps.remove(pid, fd).ok_or(Errno::EBADF)?;
        self.release(caps, cap);
        Ok(())
    }

    /// Drops one reference to door `id`: queues (or defers) an
    /// unreferenced notice when exactly one reference is left, frees the
    /// door at zero. Panics if the door is gone.
    pub fn drop_ref(&mut self, id: DoorId) {
        let d = self.door_mut(id);
        d.refs -= 1;
        if d.refs == 1 && d.wants_unref() {
            d.unref.fired = true;
            if d.active > 0 || d.unref.running {
                d.unref.deferred = true;
            } else {
                self.queue_unref(id);
            }
        }
        self.maybe_free(id);
    }

    /// Called when a call or notice on `id` ends: delivers a deferred notice
    /// once nothing is active, and frees the door if nothing holds it.
    pub(crate) fn end_activity(&mut self, id: DoorId) {
        let d = self.door_mut(id);
        if d.active == 0 && !d.unref.running && d.unref.deferred {
            d.unref.deferred = false;
            if d.callable() {
                self.queue_unref(id);
            }
        }
        self.maybe_free(id);
    }

    /// Frees `id` if no reference, call or notice holds it. Idle threads of
    /// its private pool lose their binding and are told (ParkFailed).
    pub(crate) fn maybe_free(&mut self, id: DoorId) {
        let d = self.door(id);
        if d.refs > 0 || d.active > 0 || d.unref.queued || d.unref.running {
            return;
        }
        let door = self.doors.remove(id).expect("freeing a freed door");
        debug_assert!(door.pool.queue.is_empty());
        self.release_idle(door.pool.idle);
    }

    /// Idle threads whose private pool is gone: unbound, door_return fails.
    pub(crate) fn release_idle(&mut self, idle: Vec<ThreadKey>) {
        for key in idle {
            let t = self.threads.at_mut(key);
            t.idle = None;
            t.bind = None;
            let tid = t.tid;
            self.events.push_back(Event::ParkFailed {
                tid,
                errno: Errno::EBADF,
            });
        }
    }

    /// Ends thread `tid` (unknown ids are ignored): its outgoing call is
    /// abandoned (the server is cancelled), the caller of the invocation it
    /// serves gets EINTR, it leaves its pool.
    pub fn exit_thread<D: Descriptors<Cap = C>>(&mut self, caps: &mut D, tid: Tid) {
        let Some(key) = self.threads.find(tid) else {
            return;
        };
        if let Some(call) = self.threads.at(key).call {
            self.abandon(caps, key, call);
        }
        let t = self.threads.remove(&tid).expect("found just now");
        if let Some(p) = self.procs.by_key_mut(t.proc) {
            p.threads.retain(|&x| x != key);
        }
        if let Some(pool) = t.idle {
            self.pool_mut(pool).idle.retain(|&x| x != key);
        }
        if let Some(inv) = t.serving {
            if let Some(caller) = inv.caller {
                let c = self.threads.at_mut(caller);
                c.call = None;
                let caller = c.tid;
                self.events.push_back(Event::CallFailed {
                    caller,
                    errno: Errno::EINTR,
                });
            }
            self.finish_invocation(inv.door, inv.unref);
        }
    }

    /// Bookkeeping when an invocation of `door` ends.
    #[inline]
    pub(crate) fn finish_invocation(&mut self, door: DoorId, unref: bool) {
        let d = self.door_mut(door);
        if unref {
            d.unref.running = false;
        } else {
            d.active -= 1;
        }
        // Still referenced, no notice waiting: nothing else can change.
        if d.refs > 0 && !d.unref.deferred {
            return;
        }
        self.end_activity(door);
    }

    /// Ends process `pid`: its doors are revoked with di_target -1 (waiting
    /// callers get EBADF), its threads exit (their callers get EINTR, their
    /// calls are abandoned). No event it queues names one of its own
    /// threads. The kernel closes the process's descriptors afterwards
    /// (ordinary closes: they may send unreferenced notices to other
    /// processes).
    pub fn exit_process<D: Descriptors<Cap = C>>(&mut self, caps: &mut D, pid: Pid) {
        let Some(proc) = self.procs.find(pid) else {
            return;
        };
        let threads = self.procs.at(proc).threads.clone();
        // The order keeps every event addressed to a thread that survives:
        // idle threads leave their pools (no notice or ParkFailed goes to
        // them), the doors stop accepting work (no new notices), the threads
        // exit (their own calls are withdrawn silently, their callers get
        // EINTR), and only then are the doors revoked (waiting callers, all
        // in other processes now, get EBADF).
        for &key in &threads {
            if let Some(pool) = self.threads.at_mut(key).idle.take() {
                self.pool_mut(pool).idle.retain(|&x| x != key);
            }
        }
        let own: Vec<DoorId> = self
            .doors
            .iter()
            .filter(|(_, d)| d.server_proc == proc)
            .map(|(k, _)| k)
            .collect();
        for &id in &own {
            self.door_mut(id).server_alive = false;
        }
        for key in threads {
            let tid = self.tid(key);
            self.exit_thread(caps, tid);
        }
        for &id in &own {
            // Doors whose last activity ended with their threads are gone.
            if self.doors.get(id).is_some() {
                self.revoke_door(caps, id);
            }
        }
        // Notices between the process's own threads (a Cancel sent by one
        // exiting thread to another) have no one left to receive them.
        let threads = &self.threads;
        self.events.retain(|e| {
            let tid = match e {
                Event::CallFailed { caller, .. } => *caller,
                Event::Dispatch(up) => up.server,
                Event::Cancel { server } => *server,
                Event::ParkFailed { tid, .. } => *tid,
            };
            threads.contains_key(&tid)
        });
        let p = self.procs.remove(&pid).expect("process vanished");
        debug_assert!(p.pool.idle.is_empty() && p.pool.queue.is_empty());
    }
}
