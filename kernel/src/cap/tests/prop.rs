//! The property test of the capability layer: random open / pipe /
//! door_create / dup / dup2 / close / pass through a door (both ways, with
//! and without DOOR_RELEASE) / fattach / fdetach / chdir / rmdir and mkdir
//! / pipe write / exec / exit sequences, with the real door logic, file
//! system and pipes, against a model of every table: each step's result,
//! every descriptor, the number of live objects of every kind and the pipe
//! wakeups must be what the model says, and once every process has exited
//! and every attachment is gone, nothing is left. Each process's table
//! numbers descriptors with generations or as POSIX (chosen at random, and
//! again at each exec): in a POSIX table every new descriptor, a received
//! one too, must be the lowest free number.

use super::*;
use abi::{DOOR_DESCRIPTOR, DOOR_RELEASE, DoorArg};
use doors::{CallOutcome, CallParams, Next, ReturnArgs, StackArea};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::format;
use std::vec;

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
    /// The client executes a program with POSIX numbering (true) or not.
    Exec(usize, bool),
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
        1 => p.clone().prop_map(Op::Exit),
        1 => (p, any::<bool>()).prop_map(|(p, posix)| Op::Exec(p, posix)),
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
    /// How each process's table numbers new descriptors.
    numbering: BTreeMap<Pid, Numbering>,
}

fn numbering(posix: bool) -> Numbering {
    if posix {
        Numbering::Posix
    } else {
        Numbering::Generations
    }
}

impl World {
    /// The server and clients, each numbering as `posix` says (server
    /// first).
    fn new(posix: [bool; 4]) -> World {
        let numbering: BTreeMap<Pid, Numbering> = [SERVER]
            .into_iter()
            .chain(CLIENTS)
            .zip(posix.map(numbering))
            .collect();
        let mut o = objects();
        o.create_process(SERVER, CAPACITY).unwrap();
        o.caps.set_numbering(SERVER, numbering[&SERVER]);
        o.doors.create_thread(SERVER, SERVER_TID, 0).unwrap();
        for i in 0..FILES {
            let fd = o
                .open_fd(SERVER, ROOT, AT_FDCWD, &file(i), O_CREAT, 0o644)
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
            numbering,
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
        self.o.caps.set_numbering(pid, self.numbering[&pid]);
        self.o.doors.create_thread(pid, tid_of(pid), 0).unwrap();
        self.tables
            .insert(pid, BTreeMap::from([(0, Capability::Door(self.door))]));
    }

    /// Records `fd`, new in `pid`'s table and naming `cap`; with POSIX
    /// numbering it must be the lowest free number.
    fn add(&mut self, pid: Pid, fd: Fd, cap: Capability) {
        let table = self.tables.get_mut(&pid).unwrap();
        if self.numbering[&pid] == Numbering::Posix {
            let index = |fd: Fd| fd & (MAX_CAPACITY as i32 - 1);
            let lowest = (0..).find(|&i| !table.keys().any(|&f| index(f) == i));
            assert_eq!(Some(fd), lowest, "{pid}'s new descriptor");
        }
        assert_eq!(table.insert(fd, cap), None, "{fd} of {pid} was open");
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
            located: None,
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
                    .open_fd(pid(p), ROOT, AT_FDCWD, &path, flags, 0)
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
                self.add(pid(p), fd, cap);
            }
            Op::Pipe(p) => {
                let alive: BTreeSet<PipeId> = self.pipe_ends().keys().map(|&(id, _)| id).collect();
                let made = self.o.pipe(pid(p), ROOT, O_NONBLOCK);
                if alive.len() == PIPES {
                    assert_eq!(made, Err(Errno::ENFILE), "a pipe beyond the limit");
                    return;
                }
                let (r, w) = made.unwrap();
                self.add(pid(p), r, self.o.cap(pid(p), r).unwrap());
                self.add(pid(p), w, self.o.cap(pid(p), w).unwrap());
            }
            Op::DoorCreate(p) => {
                let created = self
                    .o
                    .doors
                    .door_create(&mut self.o.caps, pid(p), 0x1000, 0, 0);
                let fd = created.unwrap().fd;
                let cap = self.o.cap(pid(p), fd).unwrap();
                self.add(pid(p), fd, cap);
            }
            Op::Dup(p, k) => {
                if let Some((fd, cap)) = self.pick(pid(p), k) {
                    let new = self.o.dup(pid(p), fd, 0, false).unwrap();
                    self.add(pid(p), new, cap);
                }
            }
            Op::Dup2(p, k, slot) => {
                if let Some((fd, cap)) = self.pick(pid(p), k) {
                    let table = self.tables.get_mut(&pid(p)).unwrap();
                    let index = |fd: Fd| fd & (MAX_CAPACITY as i32 - 1);
                    // Another number holding the slot makes `slot` stale
                    // (with generations), or taken (POSIX numbering).
                    let held = table.keys().any(|&f| index(f) == slot && f != slot);
                    let expected = match held {
                        true => Err(Errno::EBADF),
                        false => Ok(slot),
                    };
                    assert_eq!(self.o.dup2(pid(p), fd, slot, false), expected);
                    if !held && fd != slot {
                        table.remove(&slot);
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
                self.add(SERVER, new, cap);
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
                self.add(pid(p), new, cap);
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
            Op::Exec(p, posix) => {
                self.o.exec(pid(p), tid_of(pid(p))).unwrap();
                self.o.caps.set_numbering(pid(p), numbering(posix));
                self.numbering.insert(pid(p), numbering(posix));
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
    fn descriptors_of_every_kind_are_counted(
        posix in any::<[bool; 4]>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let mut w = World::new(posix);
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
