//! Host tests of the door logic: a fake [`UserMemory`], a fake capability
//! layer ([`Caps`]) whose tables hold doors and tokens (objects of another
//! kind, such as files), and a small harness ([`World`]) shared by the
//! behaviour tests and the property tests.

mod basics;
mod calls;
mod fastpath;
mod fastpath_cases;
mod fork;
mod pools;
mod prop;

use crate::{
    CallOutcome, CallParams, Config, Created, Cred, Descriptors, DoorId, DoorSystem, Errno, Event,
    FastCaller, FastReply, FastUpcall, Fd, Next, Pid, ReturnArgs, ReturnOutcome, StackArea, Tid,
    Upcall, UserMemory,
};
use abi::{self, DoorArg, DoorCred, DoorDesc, DoorInfo, Ucred};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use std::format;
use std::string::String;

/// Addresses at or above this are not mapped in any process.
pub const BAD: u64 = 0xdead_0000_0000;
/// Addresses from this one up to [`BAD`] can be read but not written.
pub const READ_ONLY: u64 = 0xa000_0000_0000;

/// A fake address space: everything below [`READ_ONLY`] is accessible,
/// from there to [`BAD`] only for reading; descriptor arrays are stored
/// per (pid, address); mappings succeed unless `map_fails`.
#[derive(Default)]
pub struct Mem {
    pub descs: BTreeMap<(Pid, u64), Vec<DoorDesc>>,
    pub map_fails: bool,
    pub next_map: u64,
    pub maps: Vec<(Pid, u64, u64)>,
    /// Ranges `[start, end)` unmapped since the test began.
    pub holes: Vec<(u64, u64)>,
}

impl UserMemory for Mem {
    fn accessible(&self, _pid: Pid, addr: u64, len: u64, write: bool) -> bool {
        let hole = |&(s, e): &(u64, u64)| addr < e && addr + len > s;
        let limit = if write { READ_ONLY } else { BAD };
        addr.checked_add(len).is_some_and(|end| end <= limit) && !self.holes.iter().any(hole)
    }
    /// The token of an accessible range: its address inverted (so a test
    /// sees which range a token stands for).
    fn locate(&self, pid: Pid, addr: u64, len: u64, write: bool) -> Option<u64> {
        self.accessible(pid, addr, len, write).then_some(!addr)
    }
    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        match self.descs.get(&(pid, addr)) {
            Some(v) if v.len() >= n as usize => Ok(v[..n as usize].to_vec()),
            _ => Err(Errno::EFAULT),
        }
    }
    fn epoch(&self) -> u64 {
        self.holes.len() as u64
    }
    fn map_zeroed(&mut self, pid: Pid, len: u64) -> Option<u64> {
        if self.map_fails {
            return None;
        }
        self.next_map += 0x100_0000;
        let addr = 0x7000_0000_0000 + self.next_map;
        self.maps.push((pid, addr, len));
        Some(addr)
    }
}

/// What a fake descriptor names: a door, or a token standing for an object
/// of another kind (a file, a pipe end) whose references [`Caps`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    Door(DoorId),
    Token(u32),
}

/// A fake capability layer: per-process tables handing out the lowest free
/// descriptor, up to `capacity`.
pub struct Caps {
    pub tables: BTreeMap<Pid, Vec<Option<Cap>>>,
    pub capacity: usize,
    /// References to each token (tables and messages in flight).
    pub tokens: BTreeMap<u32, u32>,
}

impl Descriptors for Caps {
    type Cap = Cap;

    fn door(cap: Cap) -> Option<DoorId> {
        match cap {
            Cap::Door(d) => Some(d),
            Cap::Token(_) => None,
        }
    }
    fn for_door(id: DoorId) -> Cap {
        Cap::Door(id)
    }
    fn get(&self, pid: Pid, fd: Fd) -> Option<Cap> {
        let slot = usize::try_from(fd).ok()?;
        *self.tables.get(&pid)?.get(slot)?
    }
    fn room(&self, pid: Pid) -> usize {
        self.tables
            .get(&pid)
            .map_or(0, |t| self.capacity - t.iter().flatten().count())
    }
    fn install(&mut self, pid: Pid, cap: Cap) -> Fd {
        assert!(self.room(pid) > 0, "install into a full table");
        let t = self
            .tables
            .get_mut(&pid)
            .expect("install into a gone process");
        let slot = match t.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                t.push(None);
                t.len() - 1
            }
        };
        t[slot] = Some(cap);
        slot as Fd
    }
    fn remove(&mut self, pid: Pid, fd: Fd) -> Option<Cap> {
        let slot = usize::try_from(fd).ok()?;
        self.tables.get_mut(&pid)?.get_mut(slot)?.take()
    }
    fn retain(&mut self, cap: Cap) {
        match cap {
            Cap::Token(t) => *self.tokens.get_mut(&t).expect("retain of a dead token") += 1,
            Cap::Door(_) => panic!("the door logic counts door references itself"),
        }
    }
    fn release(&mut self, cap: Cap) {
        match cap {
            Cap::Token(t) => {
                let n = self.tokens.get_mut(&t).expect("release of a dead token");
                *n -= 1;
                if *n == 0 {
                    self.tokens.remove(&t);
                }
            }
            Cap::Door(_) => panic!("the door logic counts door references itself"),
        }
    }
}

impl Caps {
    /// Descriptors open in all tables.
    pub fn count(&self) -> usize {
        self.tables.values().flatten().flatten().count()
    }
}

/// The stack area thread `tid` registers.
/// The handle the tests' kernel gives thread `tid`'s record (not its id,
/// so a mix-up shows).
pub fn handle_of(tid: Tid) -> u64 {
    0x4000_0000_0000 + u64::from(tid) * 0x40
}

pub fn stack(tid: Tid) -> StackArea {
    StackArea {
        base: 0x1000_0000 + tid as u64 * 0x10_0000,
        size: 0x1_0000,
    }
}

/// A door system with a fake memory and capability layer, and helpers
/// named after the syscalls.
pub struct World {
    pub sys: DoorSystem<Cap>,
    pub mem: Mem,
    pub caps: Caps,
    pub creds: BTreeMap<Pid, Cred>,
    /// fattach names, each holding a door reference (as the kernel's file
    /// system does).
    pub names: BTreeMap<Vec<u8>, DoorId>,
    next_token: u32,
}

pub const PC: u64 = 0x40_1000;

/// Descriptors per process unless a test says otherwise.
pub const CAPACITY: usize = 1024;

impl World {
    pub fn new() -> Self {
        Self::with(Config::default(), CAPACITY)
    }

    pub fn with(cfg: Config, capacity: usize) -> Self {
        World {
            sys: DoorSystem::new(cfg),
            mem: Mem::default(),
            caps: Caps {
                tables: BTreeMap::new(),
                capacity,
                tokens: BTreeMap::new(),
            },
            creds: BTreeMap::new(),
            names: BTreeMap::new(),
            next_token: 1,
        }
    }

    /// Process `pid` (euid = pid) with threads `tids`.
    pub fn process(&mut self, pid: Pid, tids: &[Tid]) {
        let c = Cred {
            euid: pid,
            egid: pid + 100,
            ruid: pid,
            rgid: pid + 100,
        };
        self.sys.create_process(pid).unwrap();
        self.caps.tables.insert(pid, Vec::new());
        self.creds.insert(pid, c);
        for &t in tids {
            self.sys.create_thread(pid, t, handle_of(t)).unwrap();
        }
    }

    pub fn door_create(
        &mut self,
        pid: Pid,
        pc: u64,
        cookie: u64,
        attrs: u32,
    ) -> Result<Created, Errno> {
        self.sys.door_create(&mut self.caps, pid, pc, cookie, attrs)
    }

    pub fn create(&mut self, pid: Pid, cookie: u64, attrs: u32) -> Fd {
        self.door_create(pid, PC, cookie, attrs).unwrap().fd
    }

    /// A descriptor of `pid` for a new object of another kind (a token).
    pub fn token(&mut self, pid: Pid) -> Fd {
        let t = self.next_token;
        self.next_token += 1;
        self.caps.tokens.insert(t, 1);
        self.caps.install(pid, Cap::Token(t))
    }

    /// The references to the object `fd` of `pid` names.
    pub fn token_refs(&self, pid: Pid, fd: Fd) -> u32 {
        match self.caps.get(pid, fd) {
            Some(Cap::Token(t)) => self.caps.tokens[&t],
            other => panic!("{other:?} is not a token"),
        }
    }

    /// Drops one reference to `cap`, as the kernel's capability layer does.
    fn release(&mut self, cap: Cap) {
        match cap {
            Cap::Door(d) => self.sys.drop_ref(d),
            token => self.caps.release(token),
        }
    }

    pub fn close(&mut self, pid: Pid, fd: Fd) -> Result<(), Errno> {
        let cap = self.caps.remove(pid, fd).ok_or(Errno::EBADF)?;
        self.release(cap);
        Ok(())
    }

    pub fn dup(&mut self, pid: Pid, fd: Fd) -> Result<Fd, Errno> {
        self.copy(pid, pid, fd)
    }

    /// Copies descriptor `fd` of `from` into `to`'s table (as a spawn
    /// hands descriptors to a child); returns the new descriptor.
    pub fn give(&mut self, from: Pid, to: Pid, fd: Fd) -> Fd {
        self.copy(from, to, fd).unwrap()
    }

    fn copy(&mut self, from: Pid, to: Pid, fd: Fd) -> Result<Fd, Errno> {
        let cap = self.caps.get(from, fd).ok_or(Errno::EBADF)?;
        if self.caps.room(to) == 0 {
            return Err(Errno::EMFILE);
        }
        match cap {
            Cap::Door(d) => self.sys.add_ref(d),
            token => self.caps.retain(token),
        }
        Ok(self.caps.install(to, cap))
    }

    /// Names the door `fd` of `pid` by `name` (EBADF: not a door; EBUSY).
    pub fn fattach(&mut self, pid: Pid, fd: Fd, name: &[u8]) -> Result<(), Errno> {
        let d = self.sys.lookup(&self.caps, pid, fd)?;
        if self.names.contains_key(name) {
            return Err(Errno::EBUSY);
        }
        self.sys.add_ref(d);
        self.names.insert(name.to_vec(), d);
        Ok(())
    }

    pub fn fdetach(&mut self, name: &[u8]) -> Result<(), Errno> {
        let d = self.names.remove(name).ok_or(Errno::EINVAL)?;
        self.sys.drop_ref(d);
        Ok(())
    }

    /// A descriptor of `pid` for the door named `name`.
    pub fn open(&mut self, pid: Pid, name: &[u8]) -> Result<Fd, Errno> {
        let d = *self.names.get(name).ok_or(Errno::ENOENT)?;
        if !self.caps.tables.contains_key(&pid) {
            return Err(Errno::ESRCH);
        }
        if self.caps.room(pid) == 0 {
            return Err(Errno::EMFILE);
        }
        self.sys.add_ref(d);
        Ok(self.caps.install(pid, Cap::Door(d)))
    }

    pub fn door_info(&self, tid: Tid, fd: Fd) -> Result<DoorInfo, Errno> {
        self.sys.door_info(&self.caps, tid, fd)
    }

    pub fn door_revoke(&mut self, pid: Pid, fd: Fd) -> Result<(), Errno> {
        self.sys.door_revoke(&mut self.caps, pid, fd)
    }

    pub fn door_setparam(&mut self, pid: Pid, fd: Fd, param: i32, v: u64) -> Result<(), Errno> {
        self.sys.door_setparam(&self.caps, pid, fd, param, v)
    }

    pub fn door_getparam(&self, pid: Pid, fd: Fd, param: i32) -> Result<u64, Errno> {
        self.sys.door_getparam(&self.caps, pid, fd, param)
    }

    pub fn door_bind(&mut self, tid: Tid, fd: Fd) -> Result<(), Errno> {
        self.sys.door_bind(&self.caps, tid, fd)
    }

    pub fn door_ucred(&self, tid: Tid) -> Result<Ucred, Errno> {
        self.sys.door_ucred(tid)
    }

    pub fn door_cred(&self, tid: Tid) -> Result<DoorCred, Errno> {
        self.sys.door_cred(tid)
    }

    pub fn abort_call(&mut self, pid: Pid, tid: Tid) -> Result<(), Errno> {
        self.sys.abort_call(&mut self.caps, pid, tid)
    }

    pub fn exit_thread(&mut self, tid: Tid) {
        self.sys.exit_thread(&mut self.caps, tid)
    }

    /// Ends process `pid` as the kernel does: the door logic first, then
    /// its descriptors are closed.
    pub fn exit_process(&mut self, pid: Pid) {
        self.sys.exit_process(&mut self.caps, pid);
        let Some(table) = self.caps.tables.remove(&pid) else {
            return;
        };
        for cap in table.into_iter().flatten() {
            self.release(cap);
        }
        self.creds.remove(&pid);
    }

    /// fork by thread `forker` of `parent`, as the kernel does it: the door
    /// logic registers the child and its thread, the capability layer
    /// copies the whole table (same descriptors) and counts the copies.
    pub fn fork(
        &mut self,
        parent: Pid,
        forker: Tid,
        child: Pid,
        child_tid: Tid,
    ) -> Result<(), Errno> {
        let table = self.caps.tables.get(&parent).ok_or(Errno::ESRCH)?.clone();
        self.sys
            .fork_process(parent, forker, child, child_tid, handle_of(child_tid))?;
        for &cap in table.iter().flatten() {
            match cap {
                Cap::Door(d) => self.sys.add_ref(d),
                token => self.caps.retain(token),
            }
        }
        self.caps.tables.insert(child, table);
        self.creds.insert(child, self.creds[&parent]);
        Ok(())
    }

    /// exec by thread `tid` of `pid` (the door logic only: these fake
    /// tables have no close-on-exec flags).
    pub fn exec(&mut self, pid: Pid, tid: Tid) -> Result<(), Errno> {
        self.sys.exec_process(&mut self.caps, pid, tid).map(|_| ())
    }

    /// The credentials of thread `tid`'s process (none for a gone one).
    fn cred_of(&self, tid: Tid) -> Cred {
        let pid = self.sys.threads.get(&tid).map(|t| t.pid);
        pid.and_then(|p| self.creds.get(&p).copied())
            .unwrap_or_default()
    }

    /// Parks `tid` with nothing to return; asserts it went idle.
    pub fn park(&mut self, tid: Tid) {
        let out = self.ret(tid, 0, &[]).unwrap();
        assert_eq!(out.next, Next::Park);
    }

    pub fn ret(&mut self, tid: Tid, data: u64, descs: &[DoorDesc]) -> Result<ReturnOutcome, Errno> {
        let desc_ptr = 0x5000_0000 + tid as u64 * 0x1000;
        let pid = self.sys.threads[&tid].pid;
        self.mem.descs.insert((pid, desc_ptr), descs.to_vec());
        let r = ReturnArgs {
            data_ptr: 0x6000_0000,
            data_size: data,
            desc_ptr,
            desc_num: descs.len() as u32,
            stack: stack(tid),
        };
        self.sys.door_return(&mut self.mem, &mut self.caps, tid, r)
    }

    /// A door_arg_t with `data` argument bytes, `descs` and an rbuf of `rsize`.
    pub fn arg(&mut self, tid: Tid, data: u64, descs: &[DoorDesc], rsize: u64) -> CallParams {
        let desc_ptr = 0x3000_0000 + tid as u64 * 0x1000;
        let pid = self.sys.threads[&tid].pid;
        self.mem.descs.insert((pid, desc_ptr), descs.to_vec());
        CallParams {
            addr: 0x2000_0000 + tid as u64 * 0x100,
            arg: DoorArg {
                data_ptr: 0x4000_0000,
                data_size: data,
                desc_ptr,
                desc_num: descs.len() as u32,
                rbuf: 0x4800_0000,
                rsize,
            },
            located: None,
        }
    }

    pub fn call(
        &mut self,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Result<CallOutcome, Errno> {
        let cred = self.cred_of(tid);
        self.sys
            .door_call(&self.mem, &mut self.caps, tid, cred, fd, params)
    }

    /// The fast path's door_call.
    pub fn try_fast_call(
        &mut self,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Option<FastUpcall> {
        let cred = self.cred_of(tid);
        let me = FastCaller {
            key: self.sys.threads.find(tid)?,
            pid: self.sys.threads.get(&tid)?.pid,
            cred,
        };
        let id = Caps::door(self.caps.get(me.pid, fd)?)?;
        self.sys.try_fast_call(&self.mem, me, id, params.as_ref())
    }

    /// The fast path's door_return of `size` bytes at `data` (no
    /// descriptors).
    pub fn try_fast_return(
        &mut self,
        tid: Tid,
        data: u64,
        size: u64,
        stack: StackArea,
    ) -> Option<FastReply> {
        let me = self.sys.threads.find(tid)?;
        self.sys.try_fast_return(&self.mem, me, data, size, stack)
    }

    /// A null call (params with nothing in, 64-byte rbuf) that must hand off.
    pub fn call_handoff(&mut self, tid: Tid, fd: Fd) -> Upcall {
        let p = self.arg(tid, 0, &[], 64);
        match self.call(tid, fd, Some(p)).unwrap() {
            CallOutcome::Handoff(up) => up,
            CallOutcome::Wait => panic!("expected a handoff"),
        }
    }

    /// A null call that must wait.
    pub fn call_wait(&mut self, tid: Tid, fd: Fd) {
        let p = self.arg(tid, 0, &[], 64);
        assert_eq!(self.call(tid, fd, Some(p)).unwrap(), CallOutcome::Wait);
    }

    pub fn events(&mut self) -> Vec<Event> {
        core::iter::from_fn(|| self.sys.pop_event()).collect()
    }

    pub fn door_id(&self, pid: Pid, fd: Fd) -> DoorId {
        self.sys.lookup(&self.caps, pid, fd).unwrap()
    }

    pub fn door_of(&self, pid: Pid, fd: Fd) -> u64 {
        self.sys.door(self.door_id(pid, fd)).uniq
    }

    pub fn refs(&self, pid: Pid, fd: Fd) -> u32 {
        self.sys.door(self.door_id(pid, fd)).refs
    }
}

/// A descriptor entry passing `fd`.
pub fn pass(fd: Fd) -> DoorDesc {
    DoorDesc::new(fd, abi::DOOR_DESCRIPTOR)
}

/// A descriptor entry passing `fd` with DOOR_RELEASE.
pub fn pass_release(fd: Fd) -> DoorDesc {
    DoorDesc::new(fd, abi::DOOR_DESCRIPTOR | abi::DOOR_RELEASE)
}

/// Everything of the door state a program could observe, as text.
pub fn fingerprint(w: &World) -> String {
    let sys = &w.sys;
    let mut out = format!("{:?}\n", sys.stats());
    let mut threads: Vec<_> = sys.threads.values().collect();
    threads.sort_by_key(|t| t.tid);
    for t in threads {
        let invalid = if t.bound_invalid { " (invalid)" } else { "" };
        out += &format!(
            "thread {}: pid {} idle {:?} call {:?} serving {:?} bind {:?}{invalid} stack {:?} at {} sp {:#x} args to {:#x} top {:x?}\n",
            t.tid,
            t.pid,
            t.idle,
            t.call,
            t.serving,
            t.bind,
            t.stack,
            t.stack_epoch,
            t.null_sp,
            t.arg_end,
            t.top
        );
    }
    let mut procs: Vec<_> = sys
        .procs
        .iter()
        .map(|(k, p)| (sys.procs.id_of(k), p))
        .collect();
    procs.sort_by_key(|(pid, _)| *pid);
    for (pid, p) in procs {
        let fds: Vec<_> = (0..8).filter_map(|fd| w.caps.get(pid, fd)).collect();
        out += &format!(
            "process {pid}: fds {fds:?} idle {:?} queued {}\n",
            p.pool.idle,
            p.pool.queue.len()
        );
    }
    for (id, d) in sys.doors.iter() {
        let (refs, active, revoked, unref) = (d.refs, d.active, d.revoked, d.unref);
        let (idle, queued, data) = (&d.pool.idle, d.pool.queue.len(), d.data_min..=d.data_max);
        out += &format!(
            "door {id:?}: refs {refs} active {active} revoked {revoked} unref {unref:?} idle {idle:?} queued {queued} data {data:?}\n"
        );
    }
    out + &format!("mappings {:?}\n", w.mem.maps)
}
