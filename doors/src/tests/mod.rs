//! Host tests of the door logic: a fake [`UserMemory`] and a small harness
//! ([`World`]) shared by the behaviour tests and the property test.

mod basics;
mod calls;
mod fastpath;
mod pools;
mod prop;

use crate::abi::{self, DoorArg, DoorDesc};
use crate::{
    CallOutcome, CallParams, Config, Cred, DoorSystem, Errno, Event, Fd, Next, Pid, ReturnArgs,
    ReturnOutcome, StackArea, Tid, Upcall, UserMemory,
};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Addresses at or above this are not mapped in any process.
pub const BAD: u64 = 0xdead_0000_0000;

/// A fake address space: everything below [`BAD`] is accessible; descriptor
/// arrays are stored per (pid, address); mappings succeed unless `map_fails`.
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
    fn accessible(&self, _pid: Pid, addr: u64, len: u64, _write: bool) -> bool {
        let hole = |&(s, e): &(u64, u64)| addr < e && addr + len > s;
        addr.checked_add(len).is_some_and(|end| end <= BAD) && !self.holes.iter().any(hole)
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

/// The stack area thread `tid` registers.
pub fn stack(tid: Tid) -> StackArea {
    StackArea {
        base: 0x1000_0000 + tid as u64 * 0x10_0000,
        size: 0x1_0000,
    }
}

/// A door system with helpers named after the syscalls.
pub struct World {
    pub sys: DoorSystem,
    pub mem: Mem,
}

pub const PC: u64 = 0x40_1000;

impl World {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(cfg: Config) -> Self {
        World {
            sys: DoorSystem::new(cfg),
            mem: Mem::default(),
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
        self.sys.create_process(pid, c).unwrap();
        for &t in tids {
            self.sys.create_thread(pid, t).unwrap();
        }
    }

    pub fn create(&mut self, pid: Pid, cookie: u64, attrs: u32) -> Fd {
        self.sys.door_create(pid, PC, cookie, attrs).unwrap().fd
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
        self.sys.door_return(&mut self.mem, tid, r)
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
        }
    }

    pub fn call(
        &mut self,
        tid: Tid,
        fd: Fd,
        params: Option<CallParams>,
    ) -> Result<CallOutcome, Errno> {
        self.sys.door_call(&self.mem, tid, fd, params)
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

    pub fn door_of(&self, pid: Pid, fd: Fd) -> u64 {
        self.sys.door(self.sys.lookup(pid, fd).unwrap()).uniq
    }

    pub fn refs(&self, pid: Pid, fd: Fd) -> u32 {
        self.sys.door(self.sys.lookup(pid, fd).unwrap()).refs
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
