//! Host tests of the capability layer with the real door logic, file
//! system and pipes (over a [`VecStore`]): the calls of `files.rs` and
//! their errors, and a property test of random open / pipe / door_create /
//! dup / dup2 / close / pass through a door (both ways, with and without
//! DOOR_RELEASE) / fattach / fdetach / chdir / pipe write / exit sequences
//! against a model of every table: each step's result, every descriptor,
//! the number of live objects of every kind and the pipe wakeups must be
//! what the model says, and once every process has exited and every
//! attachment is gone, nothing is left.

use super::*;
use crate::fs::{Cred, Limits, Written};
use crate::io::testing::VecStore;
use abi::fs::*;
use abi::{DOOR_DESCRIPTOR, DOOR_RELEASE, DoorArg, DoorDesc};
use doors::{CallOutcome, CallParams, Config, Next, ReturnArgs, StackArea, UserMemory};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::vec;
use std::vec::Vec;

type TestObjects = Objects<VecStore>;

const ROOT: Cred = Cred::ROOT;
const CAPACITY: usize = DEFAULT_CAPACITY;
/// Nodes at creation: `/`, `/tmp`, `/dev`, three devices, `/bin`.
const INITIAL_NODES: usize = 7;

/// User memory that is all accessible; descriptor arrays by (pid, address).
#[derive(Default)]
struct Mem {
    descs: BTreeMap<(Pid, u64), Vec<DoorDesc>>,
}

impl UserMemory for Mem {
    fn accessible(&self, _: Pid, _: u64, _: u64, _: bool) -> bool {
        true
    }
    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        let descs = self.descs.get(&(pid, addr)).ok_or(Errno::EFAULT)?;
        Ok(descs[..n as usize].to_vec())
    }
    fn epoch(&self) -> u64 {
        0
    }
    fn map_zeroed(&mut self, _: Pid, _: u64) -> Option<u64> {
        None
    }
}

fn objects() -> TestObjects {
    let fs = Fs::new(
        VecStore::default(),
        Limits {
            max_pages: 64,
            max_nodes: 64,
        },
    );
    Objects {
        doors: DoorSystem::new(Config::default()),
        caps: CapSpace::new(fs, Pipes::new(VecStore::default(), 16)),
    }
}

fn door_of(o: &TestObjects, pid: Pid, fd: Fd) -> DoorId {
    match o.cap(pid, fd) {
        Ok(Capability::Door(id)) => id,
        other => panic!("descriptor {fd} of {pid} is {other:?}"),
    }
}

#[test]
fn open_checks_flags_and_room_before_creating() {
    let mut o = objects();
    o.create_process(1, 1).unwrap();
    let bad = O_CREAT | O_DIRECTORY;
    assert_eq!(
        o.open(1, ROOT, AT_FDCWD, b"/tmp/x", bad, 0),
        Err(Errno::EINVAL)
    );
    let fd = o
        .open(1, ROOT, AT_FDCWD, b"/tmp/x", O_CREAT | O_RDWR, 0o666)
        .unwrap();
    assert_eq!(
        o.open(1, ROOT, AT_FDCWD, b"/tmp/y", O_CREAT | O_RDWR, 0o666),
        Err(Errno::EMFILE)
    );
    assert_eq!(
        o.stat(1, ROOT, AT_FDCWD, b"/tmp/y", 0),
        Err(Errno::ENOENT),
        "a full table creates nothing"
    );
    assert_eq!(o.pipe(1, ROOT, 0), Err(Errno::EMFILE));
    assert_eq!(o.caps.pipes.usage().pipes, 0);
    let st = o.fstat(o.cap(1, fd).unwrap());
    assert_eq!(st.st_mode, S_IFREG | 0o644, "the umask (022) applies");
}

#[test]
fn paths_start_at_the_directory_a_descriptor_names() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    o.mkdir(1, ROOT, AT_FDCWD, b"/tmp/d", 0o755).unwrap();
    let dir = o
        .open(1, ROOT, AT_FDCWD, b"/tmp/d", O_DIRECTORY, 0)
        .unwrap();
    let file = o
        .open(1, ROOT, dir, b"f", O_CREAT | O_WRONLY, 0o600)
        .unwrap();
    assert!(o.stat(1, ROOT, AT_FDCWD, b"/tmp/d/f", 0).is_ok());
    assert_eq!(o.open(1, ROOT, file, b"g", O_CREAT, 0), Err(Errno::ENOTDIR));
    assert_eq!(o.open(1, ROOT, 99, b"g", O_CREAT, 0), Err(Errno::EBADF));
    assert!(
        o.open(1, ROOT, 99, b"/tmp/d/f", O_RDONLY, 0).is_ok(),
        "an absolute path ignores dirfd"
    );
    assert_eq!(o.open(1, ROOT, dir, b"", O_RDONLY, 0), Err(Errno::ENOENT));
    let (r, _) = o.pipe(1, ROOT, 0).unwrap();
    assert_eq!(o.mkdir(1, ROOT, r, b"e", 0o755), Err(Errno::ENOTDIR));
    // fstatat with AT_EMPTY_PATH: the descriptor itself, of any kind.
    let st = o.stat(1, ROOT, r, b"", AT_EMPTY_PATH).unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFIFO);
    assert_eq!(o.stat(1, ROOT, r, b"", 0), Err(Errno::ENOENT));
    assert_eq!(o.stat(1, ROOT, r, b"x", 0x8000), Err(Errno::EINVAL));
    // The current directory moves; getcwd follows.
    o.chdir(1, ROOT, b"/tmp/d").unwrap();
    assert_eq!(o.getcwd(1).unwrap(), b"/tmp/d");
    assert!(o.stat(1, ROOT, AT_FDCWD, b"f", 0).is_ok());
    let root = o.open(1, ROOT, AT_FDCWD, b"/", O_RDONLY, 0).unwrap();
    o.fchdir(1, ROOT, root).unwrap();
    assert_eq!(o.getcwd(1).unwrap(), b"/");
    assert_eq!(o.fchdir(1, ROOT, file), Err(Errno::ENOTDIR));
}

#[test]
fn a_child_inherits_the_current_directory_and_umask() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    o.mkdir(1, ROOT, AT_FDCWD, b"/tmp/home", 0o777).unwrap();
    o.chdir(1, ROOT, b"/tmp/home").unwrap();
    assert_eq!(o.umask(1, 0o1077), Ok(DEFAULT_UMASK));
    o.spawn(1, 2, &[], CAPACITY).unwrap();
    assert_eq!(o.getcwd(2).unwrap(), b"/tmp/home");
    assert_eq!(
        o.umask(2, 0o022),
        Ok(0o077),
        "only permission bits are kept"
    );
    // The directory goes only when its last holder does.
    o.chdir(1, ROOT, b"/").unwrap();
    o.unlink(1, ROOT, AT_FDCWD, b"/tmp/home", AT_REMOVEDIR)
        .unwrap();
    assert_eq!(o.getcwd(2), Err(Errno::ENOENT));
    let nodes = o.caps.fs.usage().nodes;
    o.exit_process(2);
    assert_eq!(o.caps.fs.usage().nodes, nodes - 1);
}

#[test]
fn fcntl_and_dup3() {
    let mut o = objects();
    o.create_process(1, 8).unwrap();
    let fd = o
        .open(1, ROOT, AT_FDCWD, b"/dev/null", O_RDWR | O_CLOEXEC, 0)
        .unwrap();
    assert_eq!(o.fcntl(1, fd, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.fcntl(1, fd, F_SETFD, 0), Ok(0));
    assert_eq!(o.fcntl(1, fd, F_GETFD, 0), Ok(0));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, 5), Ok(5));
    assert_eq!(o.fcntl(1, fd, F_DUPFD_CLOEXEC, 5), Ok(6));
    assert_eq!(o.fcntl(1, 6, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, 8), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, u64::MAX), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, fd, 999, 0), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, 3, F_GETFD, 0), Err(Errno::EBADF));
    assert_eq!(o.fcntl(1, fd, F_GETFL, 0), Ok(u64::from(O_RDWR)));
    o.fcntl(1, fd, F_SETFL, u64::from(O_NONBLOCK | O_APPEND | O_TRUNC))
        .unwrap();
    assert_eq!(
        o.fcntl(1, 5, F_GETFL, 0),
        Ok(u64::from(O_RDWR | O_NONBLOCK | O_APPEND)),
        "status flags belong to the shared description"
    );
    assert_eq!(o.dup3(1, fd, fd, 0), Err(Errno::EINVAL));
    assert_eq!(o.dup3(1, fd, 2, O_APPEND), Err(Errno::EINVAL));
    assert_eq!(o.dup3(1, fd, 2, O_CLOEXEC), Ok(2));
    assert_eq!(o.fcntl(1, 2, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.dup3(1, fd, 8, 0), Err(Errno::EBADF), "beyond the table");
    assert_eq!(o.dup3(1, 7, 2, 0), Err(Errno::EBADF));
    let (r, w) = o.pipe(1, ROOT, O_NONBLOCK).unwrap();
    assert_eq!(o.status_flags(o.cap(1, w).unwrap()), O_WRONLY | O_NONBLOCK);
    assert_eq!(o.pipe(1, ROOT, O_APPEND), Err(Errno::EINVAL));
    assert_eq!(o.status_flags(o.cap(1, r).unwrap()), O_RDONLY | O_NONBLOCK);
    let d = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    assert_eq!(o.fcntl(1, d, F_GETFL, 0), Ok(u64::from(O_RDWR)));
}

#[test]
fn transfers_need_the_right_kind_and_access() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let wo = o
        .open(1, ROOT, AT_FDCWD, b"/tmp/f", O_CREAT | O_WRONLY, 0o644)
        .unwrap();
    let dir = o.open(1, ROOT, AT_FDCWD, b"/tmp", O_RDONLY, 0).unwrap();
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let door = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    let cap = |o: &TestObjects, fd| o.cap(1, fd).unwrap();
    let mut buf = [0u8; 8];
    for fd in [wo, w, door] {
        assert_eq!(o.read(cap(&o, fd), &mut &mut buf[..]), Err(Errno::EBADF));
    }
    for fd in [r, door] {
        let written = o.write(cap(&o, fd), &mut &b"x"[..]);
        assert_eq!(written, Err(Errno::EBADF));
    }
    assert_eq!(o.read(cap(&o, dir), &mut &mut buf[..]), Err(Errno::EISDIR));
    assert_eq!(o.read(cap(&o, r), &mut &mut buf[..]), Err(Errno::EAGAIN));
    assert_eq!(o.lseek(cap(&o, r), 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(o.lseek(cap(&o, door), 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(
        o.pread(cap(&o, r), 0, &mut &mut buf[..]),
        Err(Errno::ESPIPE)
    );
    assert_eq!(
        o.getdents(cap(&o, wo), &mut &mut buf[..]),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(o.truncate(cap(&o, w), 0), Err(Errno::EINVAL));
    assert_eq!(o.truncate(cap(&o, dir), 0), Err(Errno::EINVAL));
    assert_eq!(o.fchmod(ROOT, cap(&o, door), 0o600), Err(Errno::EINVAL));
    assert_eq!(o.fchmod(ROOT, cap(&o, r), 0o600), Err(Errno::EINVAL));
    assert_eq!(o.write(cap(&o, w), &mut &b"ab"[..]), Ok(Written::Bytes(2)));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    assert_eq!(o.read(cap(&o, r), &mut &mut buf[..]), Ok(2));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Writers));
    let st = o.fstat(cap(&o, door));
    assert_eq!(
        (st.st_mode, st.st_dev, st.st_ino),
        (
            S_IFDOOR | 0o777,
            DOOR_DEV,
            o.doors.uniquifier(door_of(&o, 1, door)).unwrap()
        )
    );
}

#[test]
fn closing_the_last_end_of_a_side_wakes_the_other_side() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let w2 = o.dup(1, w, 0, false).unwrap();
    o.close(1, w).unwrap();
    assert!(!o.caps.has_wakes(), "a writer is left");
    o.close(1, w2).unwrap();
    let Ok(Capability::Pipe(id, End::Read)) = o.cap(1, r) else {
        panic!("not a read end")
    };
    assert_eq!(o.caps.pop_wake(), Some((id, Wake::Readers)));
    assert_eq!(o.read(o.cap(1, r).unwrap(), &mut &mut [0u8; 4][..]), Ok(0));
    // A thread's hold keeps an end alive after its descriptors close.
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let held = o.cap(1, r).unwrap();
    o.retain(held);
    o.close(1, r).unwrap();
    assert!(!o.caps.has_wakes());
    assert_eq!(
        o.write(o.cap(1, w).unwrap(), &mut &b"x"[..]),
        Ok(Written::Bytes(1))
    );
    o.release(held);
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Writers));
    assert_eq!(
        o.write(o.cap(1, w).unwrap(), &mut &b"x"[..]),
        Err(Errno::EPIPE)
    );
}

#[test]
fn fattach_holds_a_door_reference_and_takes_only_doors() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let file = o
        .open(1, ROOT, AT_FDCWD, b"/tmp/f", O_CREAT | O_RDWR, 0o644)
        .unwrap();
    assert_eq!(o.fattach(1, ROOT, file, b"/tmp/f"), Err(Errno::EINVAL));
    assert_eq!(o.fattach(1, ROOT, 77, b"/tmp/f"), Err(Errno::EBADF));
    let d = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    let id = door_of(&o, 1, d);
    o.fattach(1, ROOT, d, b"/tmp/f").unwrap();
    assert_eq!(o.doors.references(id), Some(2));
    let opened = o.open(1, ROOT, AT_FDCWD, b"/tmp/f", O_RDONLY, 0).unwrap();
    assert_eq!(o.cap(1, opened), Ok(Capability::Door(id)));
    let st = o.stat(1, ROOT, AT_FDCWD, b"/tmp/f", 0).unwrap();
    assert_eq!(st.st_mode, S_IFDOOR | 0o644);
    o.close(1, opened).unwrap();
    o.close(1, d).unwrap();
    assert_eq!(o.attached_only_doors(), 1);
    o.exit_process(1);
    assert_eq!(o.doors.stats().doors, 1, "the attachment keeps the door");
    o.fdetach(0, ROOT, b"/tmp/f").unwrap();
    assert_eq!((o.doors.stats().doors, o.attached_only_doors()), (0, 0));
}

#[test]
fn programs_are_found_in_bin_or_by_path() {
    static ELF: &[u8] = b"\x7fELF program";
    let mut o = objects();
    o.caps.fs.add_boot_file(b"prog", ELF).unwrap();
    o.caps.fs.add_boot_file(b"tools/tool", ELF).unwrap();
    assert_eq!(o.program(0, ROOT, b"prog", 100), Ok(Program::Boot(ELF)));
    assert_eq!(
        o.program(0, ROOT, b"/bin/tools/tool", 100),
        Ok(Program::Boot(ELF))
    );
    assert_eq!(o.program(0, ROOT, b"tool", 100), Err(Errno::ENOENT));
    o.create_process(1, CAPACITY).unwrap();
    o.chdir(1, ROOT, b"/bin").unwrap();
    assert_eq!(o.program(1, ROOT, b"./prog", 100), Ok(Program::Boot(ELF)));
    assert_eq!(
        o.program(1, ROOT, b"tools", 100),
        Err(Errno::EACCES),
        "a bare name is looked up in /bin, whatever the current directory"
    );
    let fd = o
        .open(1, ROOT, AT_FDCWD, b"/tmp/copy", O_CREAT | O_WRONLY, 0o755)
        .unwrap();
    o.write(o.cap(1, fd).unwrap(), &mut &ELF[..]).unwrap();
    let copy = Program::File(ELF.to_vec());
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 100), Ok(copy));
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 4), Err(Errno::ENOMEM));
    assert_eq!(o.caps.fs.usage().ofds, 1, "only the descriptor's");
    o.fchmod(ROOT, o.cap(1, fd).unwrap(), 0o644).unwrap();
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 100), Err(Errno::EACCES));
    assert_eq!(o.program(1, ROOT, b"/tmp", 100), Err(Errno::EACCES));
}

// ---------------------------------------------------------------------------
// The property test.
// ---------------------------------------------------------------------------

/// The server process: it holds the door every client calls.
const SERVER: Pid = 9;
const SERVER_TID: u32 = 90;
/// The clients.
const CLIENTS: [Pid; 3] = [1, 2, 3];
/// Files doors may be attached over.
const FILES: usize = 3;

fn tid_of(pid: Pid) -> u32 {
    pid * 10
}

fn file(i: usize) -> Vec<u8> {
    format!("/tmp/f{i}").into_bytes()
}

#[derive(Clone, Debug)]
enum Op {
    /// Open file `0..FILES`, `/tmp` (FILES) or `/dev/null` (FILES + 1).
    Open(usize, usize),
    Pipe(usize),
    DoorCreate(usize),
    Dup(usize, usize),
    Dup2(usize, usize, i32),
    Close(usize, usize),
    /// Pass a descriptor to the server with a door call.
    Pass(usize, usize, bool),
    /// The server passes one of what it holds back, released.
    Back(usize, usize),
    Attach(usize, usize, usize),
    Detach(usize),
    /// Into `/tmp/d` (true) or `/`.
    Chdir(usize, bool),
    /// Removes `/tmp/d` (true) or makes it again.
    Dir(bool),
    PipeWrite(usize, usize),
    /// The client exits and is started again by the server, with the door.
    Exit(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..CLIENTS.len();
    let k = 0..16usize;
    prop_oneof![
        3 => (p.clone(), 0..FILES + 2).prop_map(|(p, w)| Op::Open(p, w)),
        2 => p.clone().prop_map(Op::Pipe),
        1 => p.clone().prop_map(Op::DoorCreate),
        2 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Dup(p, k)),
        1 => (p.clone(), k.clone(), 0..8i32).prop_map(|(p, k, s)| Op::Dup2(p, k, s)),
        3 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close(p, k)),
        3 => (p.clone(), k.clone(), any::<bool>()).prop_map(|(p, k, r)| Op::Pass(p, k, r)),
        2 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Back(p, k)),
        1 => (p.clone(), k.clone(), 0..FILES).prop_map(|(p, k, f)| Op::Attach(p, k, f)),
        1 => (0..FILES).prop_map(Op::Detach),
        2 => (p.clone(), any::<bool>()).prop_map(|(p, d)| Op::Chdir(p, d)),
        1 => any::<bool>().prop_map(Op::Dir),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::PipeWrite(p, k)),
        1 => p.prop_map(Op::Exit),
    ]
}

/// What the model says every table holds, and the attachments.
struct World {
    o: TestObjects,
    mem: Mem,
    tables: BTreeMap<Pid, BTreeMap<Fd, Capability>>,
    attached: BTreeMap<usize, DoorId>,
    /// The door every client calls.
    door: DoorId,
    /// Bytes queued in each pipe.
    queued: BTreeMap<PipeId, usize>,
    /// Whether `/tmp/d` exists.
    dir: bool,
}

impl World {
    fn new() -> World {
        let mut o = objects();
        o.create_process(SERVER, CAPACITY).unwrap();
        o.doors.create_thread(SERVER, SERVER_TID).unwrap();
        for i in 0..FILES {
            let fd = o
                .open(SERVER, ROOT, AT_FDCWD, &file(i), O_CREAT, 0o644)
                .unwrap();
            o.close(SERVER, fd).unwrap();
        }
        o.mkdir(SERVER, ROOT, AT_FDCWD, b"/tmp/d", 0o755).unwrap();
        let fd = o
            .doors
            .door_create(&mut o.caps, SERVER, 0x1000, 0, 0)
            .unwrap()
            .fd;
        let door = door_of(&o, SERVER, fd);
        let mut world = World {
            o,
            mem: Mem::default(),
            tables: BTreeMap::from([(SERVER, BTreeMap::from([(fd, Capability::Door(door))]))]),
            attached: BTreeMap::new(),
            door,
            queued: BTreeMap::new(),
            dir: true,
        };
        world.park();
        for pid in CLIENTS {
            world.start(pid);
        }
        world
    }

    /// The server thread parks (after serving, with `descs` as results).
    fn park(&mut self) -> Option<doors::Reply> {
        self.park_with(&[])
    }

    fn park_with(&mut self, descs: &[DoorDesc]) -> Option<doors::Reply> {
        self.mem.descs.insert((SERVER, 0x5000), descs.to_vec());
        let ret = ReturnArgs {
            data_ptr: 0,
            data_size: 0,
            desc_ptr: 0x5000,
            desc_num: descs.len() as u32,
            stack: StackArea {
                base: 0x10_0000,
                size: 0x1_0000,
            },
        };
        let out = self
            .o
            .doors
            .door_return(&mut self.mem, &mut self.o.caps, SERVER_TID, ret)
            .unwrap();
        assert_eq!(out.next, Next::Park);
        out.reply
    }

    /// Starts client `pid` from the server, holding the door as 0.
    fn start(&mut self, pid: Pid) {
        let door_fd = self.fd_of(SERVER, Capability::Door(self.door)).unwrap();
        self.o.spawn(SERVER, pid, &[door_fd], CAPACITY).unwrap();
        self.o.doors.create_thread(pid, tid_of(pid)).unwrap();
        self.tables
            .insert(pid, BTreeMap::from([(0, Capability::Door(self.door))]));
    }

    /// A descriptor of `pid` that names `cap`.
    fn fd_of(&self, pid: Pid, cap: Capability) -> Option<Fd> {
        self.tables[&pid]
            .iter()
            .find(|&(_, &c)| c == cap)
            .map(|(&fd, _)| fd)
    }

    /// The `k`-th descriptor of `pid` (wrapping), if it has any.
    fn pick(&self, pid: Pid, k: usize) -> Option<(Fd, Capability)> {
        let table = &self.tables[&pid];
        let n = table.len();
        (n > 0).then(|| table.iter().nth(k % n).map(|(&fd, &c)| (fd, c)))?
    }

    /// Holders of each end of each pipe, by the model.
    fn pipe_ends(&self) -> BTreeMap<(PipeId, End), usize> {
        let mut ends = BTreeMap::new();
        for cap in self.tables.values().flat_map(|t| t.values()) {
            if let Capability::Pipe(id, end) = *cap {
                *ends.entry((id, end)).or_default() += 1;
            }
        }
        ends
    }

    /// Calls the door from `pid` with `descs`; the server gets them.
    fn call(&mut self, pid: Pid, descs: &[DoorDesc]) -> Option<Vec<DoorDesc>> {
        let via = self.fd_of(pid, Capability::Door(self.door))?;
        self.mem.descs.insert((pid, 0x3000), descs.to_vec());
        let params = CallParams {
            addr: 0x2000,
            arg: DoorArg {
                data_ptr: 0,
                data_size: 0,
                desc_ptr: 0x3000,
                desc_num: descs.len() as u32,
                rbuf: 0x4000,
                rsize: 64,
            },
        };
        let called = self.o.doors.door_call(
            &self.mem,
            &mut self.o.caps,
            tid_of(pid),
            doors::Cred::default(),
            via,
            Some(params),
        );
        match called.unwrap() {
            CallOutcome::Handoff(up) => Some(up.descs),
            CallOutcome::Wait => panic!("the server thread is idle"),
        }
    }

    fn step(&mut self, op: &Op) {
        let pid = |p: usize| CLIENTS[p];
        match *op {
            Op::Open(p, which) => {
                let (path, flags) = match which {
                    w if w < FILES => (file(w), O_RDWR),
                    w if w == FILES => (b"/tmp".to_vec(), O_RDONLY),
                    _ => (b"/dev/null".to_vec(), O_RDWR),
                };
                let fd = self
                    .o
                    .open(pid(p), ROOT, AT_FDCWD, &path, flags, 0)
                    .unwrap();
                let cap = self.o.cap(pid(p), fd).unwrap();
                let expected = match (which, cap) {
                    (w, Capability::Door(id)) if w < FILES => self.attached.get(&w) == Some(&id),
                    (w, Capability::File(_)) if w < FILES => !self.attached.contains_key(&w),
                    (FILES, Capability::Dir(_)) => true,
                    (_, Capability::Device(_, Device::Null)) => which == FILES + 1,
                    _ => false,
                };
                assert!(expected, "open {which} gave {cap:?}");
                self.tables.get_mut(&pid(p)).unwrap().insert(fd, cap);
            }
            Op::Pipe(p) => {
                let (r, w) = self.o.pipe(pid(p), ROOT, O_NONBLOCK).unwrap();
                let table = self.tables.get_mut(&pid(p)).unwrap();
                table.insert(r, self.o.cap(pid(p), r).unwrap());
                table.insert(w, self.o.cap(pid(p), w).unwrap());
            }
            Op::DoorCreate(p) => {
                let created = self
                    .o
                    .doors
                    .door_create(&mut self.o.caps, pid(p), 0x1000, 0, 0);
                let fd = created.unwrap().fd;
                let cap = self.o.cap(pid(p), fd).unwrap();
                self.tables.get_mut(&pid(p)).unwrap().insert(fd, cap);
            }
            Op::Dup(p, k) => {
                if let Some((fd, cap)) = self.pick(pid(p), k) {
                    let new = self.o.dup(pid(p), fd, 0, false).unwrap();
                    self.tables.get_mut(&pid(p)).unwrap().insert(new, cap);
                }
            }
            Op::Dup2(p, k, slot) => {
                if let Some((fd, cap)) = self.pick(pid(p), k) {
                    assert_eq!(self.o.dup2(pid(p), fd, slot, false), Ok(slot));
                    let table = self.tables.get_mut(&pid(p)).unwrap();
                    if fd != slot {
                        let index = |fd: Fd| fd & (MAX_CAPACITY as i32 - 1);
                        table.retain(|&f, _| index(f) != slot);
                        table.insert(slot, cap);
                    }
                }
            }
            Op::Close(p, k) => {
                if let Some((fd, _)) = self.pick(pid(p), k) {
                    self.o.close(pid(p), fd).unwrap();
                    self.tables.get_mut(&pid(p)).unwrap().remove(&fd);
                }
            }
            Op::Pass(p, k, release) => {
                let Some((fd, cap)) = self.pick(pid(p), k) else {
                    return;
                };
                let flags = DOOR_DESCRIPTOR | if release { DOOR_RELEASE } else { 0 };
                let Some(got) = self.call(pid(p), &[DoorDesc::new(fd, flags)]) else {
                    return;
                };
                if release {
                    self.tables.get_mut(&pid(p)).unwrap().remove(&fd);
                }
                let new = got[0].d_descriptor;
                assert_eq!(self.o.cap(SERVER, new), Ok(cap));
                self.tables.get_mut(&SERVER).unwrap().insert(new, cap);
                assert!(self.park().is_some());
            }
            Op::Back(p, k) => {
                let door = Capability::Door(self.door);
                let held: Vec<(Fd, Capability)> = self.tables[&SERVER]
                    .iter()
                    .filter(|&(_, &c)| c != door)
                    .map(|(&fd, &c)| (fd, c))
                    .collect();
                if held.is_empty() || self.call(pid(p), &[]).is_none() {
                    return;
                }
                let (fd, cap) = held[k % held.len()];
                let desc = DoorDesc::new(fd, DOOR_DESCRIPTOR | DOOR_RELEASE);
                let reply = self.park_with(&[desc]).unwrap();
                let new = reply.result.unwrap().descs[0].d_descriptor;
                self.tables.get_mut(&SERVER).unwrap().remove(&fd);
                assert_eq!(self.o.cap(pid(p), new), Ok(cap));
                self.tables.get_mut(&pid(p)).unwrap().insert(new, cap);
            }
            Op::Attach(p, k, f) => {
                let Some((fd, cap)) = self.pick(pid(p), k) else {
                    return;
                };
                let expect = match cap {
                    Capability::Door(_) if self.attached.contains_key(&f) => Err(Errno::EBUSY),
                    Capability::Door(id) => {
                        self.attached.insert(f, id);
                        Ok(())
                    }
                    _ => Err(Errno::EINVAL),
                };
                assert_eq!(self.o.fattach(pid(p), ROOT, fd, &file(f)), expect);
            }
            Op::Detach(f) => {
                let expect = match self.attached.remove(&f) {
                    Some(_) => Ok(()),
                    None => Err(Errno::EINVAL),
                };
                assert_eq!(self.o.fdetach(SERVER, ROOT, &file(f)), expect);
            }
            Op::Chdir(p, into_d) => {
                let path: &[u8] = if into_d { b"/tmp/d" } else { b"/" };
                let expect = if into_d && !self.dir {
                    Err(Errno::ENOENT)
                } else {
                    Ok(())
                };
                assert_eq!(self.o.chdir(pid(p), ROOT, path), expect);
            }
            Op::Dir(remove) => {
                let made = match remove {
                    true => self
                        .o
                        .unlink(SERVER, ROOT, AT_FDCWD, b"/tmp/d", AT_REMOVEDIR),
                    false => self.o.mkdir(SERVER, ROOT, AT_FDCWD, b"/tmp/d", 0o755),
                };
                let expect = match (remove, self.dir) {
                    (true, false) => Err(Errno::ENOENT),
                    (false, true) => Err(Errno::EEXIST),
                    _ => Ok(()),
                };
                assert_eq!(made, expect);
                self.dir = !remove;
            }
            Op::PipeWrite(p, k) => {
                let Some((_, cap @ Capability::Pipe(id, End::Write))) = self.pick(pid(p), k) else {
                    return;
                };
                let readers = self.pipe_ends().get(&(id, End::Read)).copied();
                let queued = self.queued.entry(id).or_default();
                let expect = match readers {
                    None => Err(Errno::EPIPE),
                    Some(_) if *queued + 1000 > crate::pipe::PIPE_CAPACITY => Err(Errno::EAGAIN),
                    Some(_) => {
                        *queued += 1000;
                        Ok(Written::Bytes(1000))
                    }
                };
                assert_eq!(self.o.write(cap, &mut &[7u8; 1000][..]), expect);
            }
            Op::Exit(p) => {
                self.o.exit_process(pid(p));
                self.tables.remove(&pid(p));
                self.start(pid(p));
            }
        }
    }

    /// The real tables and object counts are the model's.
    fn check(&self) {
        for (&pid, table) in &self.tables {
            assert_eq!(self.o.caps.table(pid).unwrap().len(), table.len(), "{pid}");
            for (&fd, &cap) in table {
                assert_eq!(self.o.cap(pid, fd), Ok(cap), "descriptor {fd} of {pid}");
            }
        }
        let caps: BTreeSet<Capability> = self
            .tables
            .values()
            .flat_map(|t| t.values().copied())
            .collect();
        let ofds: BTreeSet<_> = caps.iter().filter_map(|c| c.ofd()).collect();
        let pipes: BTreeSet<_> = caps
            .iter()
            .filter_map(|c| match c {
                Capability::Pipe(id, _) => Some(id),
                _ => None,
            })
            .collect();
        let held: BTreeSet<DoorId> = caps
            .iter()
            .filter_map(|c| match c {
                Capability::Door(id) => Some(*id),
                _ => None,
            })
            .collect();
        let doors: BTreeSet<DoorId> = held.iter().chain(self.attached.values()).copied().collect();
        let attached_only = doors.iter().filter(|d| !held.contains(d)).count();
        assert_eq!(
            self.o.caps.descriptors(),
            self.tables.values().map(BTreeMap::len).sum()
        );
        assert_eq!(
            self.o.caps.fs.usage().ofds,
            ofds.len(),
            "open-file descriptions"
        );
        assert_eq!(self.o.caps.pipes.usage().pipes, pipes.len(), "pipes");
        assert_eq!(self.o.doors.stats().doors, doors.len(), "doors");
        assert_eq!(
            self.o.attached_only_doors(),
            attached_only,
            "attached-only doors"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn descriptors_of_every_kind_are_counted(ops in proptest::collection::vec(op(), 1..80)) {
        let mut w = World::new();
        w.check();
        for op in &ops {
            let before = w.pipe_ends();
            let alive: BTreeSet<PipeId> = before.keys().map(|&(id, _)| id).collect();
            w.step(op);
            let after = w.pipe_ends();
            let mut expected = BTreeSet::new();
            for &(id, end) in before.keys() {
                let other = match end { End::Read => End::Write, End::Write => End::Read };
                if !after.contains_key(&(id, end)) && after.contains_key(&(id, other)) {
                    expected.insert((id, if end == End::Read { Wake::Writers } else { Wake::Readers }));
                }
            }
            let woken: BTreeSet<(PipeId, Wake)> = core::iter::from_fn(|| w.o.caps.pop_wake()).collect();
            let died: BTreeSet<PipeId> = alive.iter().filter(|&&id| !after.keys().any(|&(p, _)| p == id)).copied().collect();
            prop_assert!(expected.is_subset(&woken), "{op:?}: woke {woken:?}, expected {expected:?}");
            for (id, wake) in &woken {
                let written = matches!(op, Op::PipeWrite(..)) && *wake == Wake::Readers;
                prop_assert!(expected.contains(&(*id, *wake)) || died.contains(id) || written, "{op:?}: woke {id:?} {wake:?}");
            }
            w.check();
        }
        // Everything goes with the processes and the attachments.
        for pid in CLIENTS.into_iter().chain([SERVER]) {
            w.o.exit_process(pid);
            w.tables.remove(&pid);
        }
        for f in 0..FILES {
            let _ = w.o.fdetach(SERVER, ROOT, &file(f));
        }
        w.attached.clear();
        w.check();
        prop_assert_eq!(w.o.caps.descriptors(), 0);
        prop_assert_eq!(w.o.doors.stats().doors, 0);
        let fs = w.o.caps.fs.usage();
        prop_assert_eq!((fs.ofds, fs.pages, fs.attachments), (0, 0, 0));
        let dir = usize::from(w.dir);
        prop_assert_eq!(fs.nodes, INITIAL_NODES + FILES + dir, "the files and /tmp/d persist");
        prop_assert_eq!(w.o.caps.pipes.usage().pipes, 0);
        prop_assert_eq!(w.o.caps.pipes.usage().pages, 0);
    }
}
