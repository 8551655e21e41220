//! A fuzz thread's own descriptors: objects it opened itself (its home
//! directory, files, devices, a door, pipe ends), whose kind, access mode,
//! flags and offset it knows, so that the calls on them can be judged
//! exactly, and the bytes queued in its pipes.
//!
//! Each is moved (`dup3`) to a number of the thread's own range: table
//! slots from [`PRIVATE_BASE`] with generations of at least [`GEN_FIRST`],
//! which no draw of another thread can name (they draw small numbers,
//! powers of two and their neighbours, other generations of known
//! descriptors, which all sit in low slots) and no slot reaches by reuse.
//! The move happens inside [`fds::exclusive`], from the call that makes the
//! descriptor on, so no other thread of the process can name, close or
//! duplicate it before. A closed own number stays dead: the thread never
//! places a descriptor there again, so every call on it is EBADF.
//!
//! A description may be shared: a duplicate put in the process's pool,
//! which door calls pass to other processes. From then on its offset and
//! status flags, and the bytes of its pipe, may change under the thread,
//! so the judgement weakens. Every pipe end stays non-blocking: nothing
//! in a fuzz process clears `O_NONBLOCK` of a pipe.

use crate::fds;
use crate::fuzzer::{Ctx, Expect};
use crate::paths;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use userland::abi::fs::{
    AT_FDCWD, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC,
    O_WRONLY,
};
use userland::abi::{Errno, Sys};

/// The first table slot of the own numbers: thread `slot` has [`SLOTS`]
/// slots from `PRIVATE_BASE + slot * SLOTS`. Draws reach slots 0 to 257,
/// 511 to 513 and powers of two; `F_DUPFD` from 257 lands a few dozen
/// slots above it at most (the pool holds 48 descriptors).
pub const PRIVATE_BASE: usize = 400;
/// Own descriptors per thread.
pub const SLOTS: usize = 24;
/// Slots of the descriptors a thread opens first ([`Ctx::setup_own`]),
/// which no call closes or replaces (so every kind stays at hand).
pub const BASE: usize = 10;
/// Generations of the own numbers: far above any a slot reaches by reuse,
/// below the table's limit of 2^19.
pub const GEN_FIRST: u32 = 1 << 18;
const GEN_END: u32 = 1 << 19;
/// Bits of a descriptor that hold the table slot.
const INDEX_BITS: u32 = 12;

const _: () = assert!(PRIVATE_BASE + crate::THREADS * SLOTS <= 510);

/// A device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    Null,
    Zero,
    Console,
}

/// A pipe end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Read,
    Write,
}

/// What an own descriptor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Door,
    Dir,
    /// A regular file (`boot`: a program of `/bin`, read-only).
    File {
        boot: bool,
    },
    Device(Dev),
    /// An end of the thread's pipe `id` (see [`Own::pipe`]).
    Pipe(u32, End),
}

/// Where an own description came from, which says who may change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Made by this thread: its files `p0`, `p1`, its pipes, its door.
    Mine,
    /// Opened by a name of the fuzz area (which any thread may change).
    Area,
    /// The thread's home directory.
    Home,
    /// Root's: a device, a directory outside the area, a fixture.
    System,
    /// `/bin` or a program in it (read-only).
    Boot,
}

/// An open-file description the thread's own descriptors name.
#[derive(Clone, Copy, Debug)]
pub struct Desc {
    pub kind: Kind,
    pub origin: Origin,
    /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    pub access: u32,
    pub append: bool,
    pub nonblock: bool,
    /// A duplicate went to the pool (see the module documentation).
    pub shared: bool,
    /// The offset (a file) or listing cookie (a directory), while known.
    pub offset: Option<u64>,
    /// Own descriptors naming it.
    refs: u32,
}

impl Desc {
    pub fn new(kind: Kind, origin: Origin, flags: u32) -> Desc {
        let seekable = matches!(kind, Kind::File { .. } | Kind::Dir);
        Desc {
            kind,
            origin,
            access: flags & 3,
            append: flags & O_APPEND != 0,
            nonblock: flags & O_NONBLOCK != 0,
            shared: false,
            offset: seekable.then_some(0),
            refs: 0,
        }
    }

    /// Whether it may go to the pool: what any thread may change anyway
    /// (never a device, which would let others print or change `/dev`
    /// for everyone, nor the home directory, fixtures or `/bin`).
    pub fn shareable(&self) -> bool {
        matches!(self.origin, Origin::Mine | Origin::Area)
    }

    /// `fcntl(F_GETFL)` of it, while not shared.
    pub fn status_flags(&self) -> u32 {
        let mut flags = self.access;
        if self.append {
            flags |= O_APPEND;
        }
        if self.nonblock {
            flags |= O_NONBLOCK;
        }
        flags
    }

    pub fn readable(&self) -> bool {
        match self.kind {
            Kind::Door | Kind::Pipe(_, End::Write) => false,
            Kind::Pipe(_, End::Read) => true,
            _ => self.access != O_WRONLY,
        }
    }

    pub fn writable(&self) -> bool {
        match self.kind {
            Kind::Door | Kind::Pipe(_, End::Read) => false,
            Kind::Pipe(_, End::Write) => true,
            _ => self.access != O_RDONLY,
        }
    }
}

/// A pipe the thread made.
pub struct Pipe {
    /// The bytes queued, while the pipe is not shared.
    pub queued: VecDeque<u8>,
    /// An end of it went to the pool (for good: the other process may
    /// keep it).
    pub shared: bool,
}

/// One own descriptor.
#[derive(Clone, Copy, Debug)]
pub struct OwnFd {
    pub slot: usize,
    pub fd: i32,
    pub desc: u32,
    pub cloexec: bool,
}

/// A thread's own descriptors, descriptions and pipes.
pub struct Own {
    first: usize,
    entries: [Option<OwnFd>; SLOTS],
    descs: BTreeMap<u32, Desc>,
    pipes: BTreeMap<u32, Pipe>,
    next_id: u32,
    next_gen: u32,
    /// Own numbers closed.
    dead: Vec<i32>,
}

impl Own {
    pub fn new(slot: usize) -> Own {
        Own {
            first: PRIVATE_BASE + slot * SLOTS,
            entries: [None; SLOTS],
            descs: BTreeMap::new(),
            pipes: BTreeMap::new(),
            next_id: 0,
            next_gen: GEN_FIRST,
            dead: Vec::new(),
        }
    }

    /// A fresh own number for slot `slot`.
    fn number(&mut self, slot: usize) -> i32 {
        let generation = self.next_gen;
        self.next_gen = if generation + 1 == GEN_END {
            GEN_FIRST
        } else {
            generation + 1
        };
        ((generation << INDEX_BITS) | (self.first + slot) as u32) as i32
    }

    pub fn desc(&self, id: u32) -> &Desc {
        &self.descs[&id]
    }

    pub fn desc_mut(&mut self, id: u32) -> &mut Desc {
        self.descs.get_mut(&id).expect("an own description")
    }

    pub fn pipe(&self, id: u32) -> &Pipe {
        &self.pipes[&id]
    }

    pub fn pipe_mut(&mut self, id: u32) -> &mut Pipe {
        self.pipes.get_mut(&id).expect("an own pipe")
    }

    /// How many own descriptors name `end` of pipe `id`.
    pub fn ends(&self, id: u32, end: End) -> u32 {
        self.descs
            .values()
            .filter(|d| d.kind == Kind::Pipe(id, end))
            .map(|d| d.refs)
            .sum()
    }

    /// Whether `end` of pipe `id` is certainly gone: no own descriptor
    /// names it and none was ever shared.
    pub fn end_gone(&self, id: u32, end: End) -> bool {
        !self.pipe(id).shared && self.ends(id, end) == 0
    }

    /// The own descriptors, in slot order.
    pub fn fds(&self) -> impl Iterator<Item = OwnFd> + '_ {
        self.entries.iter().flatten().copied()
    }

    /// An own descriptor whose description passes `want`.
    pub fn find(&self, pick: usize, want: impl Fn(&Desc) -> bool) -> Option<OwnFd> {
        let found: Vec<OwnFd> = self.fds().filter(|o| want(&self.descs[&o.desc])).collect();
        (!found.is_empty()).then(|| found[pick % found.len()])
    }

    /// Own descriptor `slot`, to change its descriptor flag.
    pub fn entry_mut(&mut self, slot: usize) -> Option<&mut OwnFd> {
        self.entries[slot].as_mut()
    }

    /// A dead own number, if any.
    pub fn dead(&self, pick: usize) -> Option<i32> {
        (!self.dead.is_empty()).then(|| self.dead[pick % self.dead.len()])
    }

    fn new_desc(&mut self, desc: Desc) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        if let Kind::Pipe(pipe, _) = desc.kind {
            self.pipes.entry(pipe).or_insert(Pipe {
                queued: VecDeque::new(),
                shared: false,
            });
        }
        self.descs.insert(id, desc);
        id
    }

    /// A pipe id for a new pipe.
    pub fn new_pipe(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Forgets descriptor `slot` (closed or replaced); its description
    /// and pipe go when nothing names them.
    fn forget(&mut self, slot: usize) {
        let Some(entry) = self.entries[slot].take() else {
            return;
        };
        self.dead.push(entry.fd);
        if self.dead.len() > 16 {
            self.dead.remove(0);
        }
        let desc = self.desc_mut(entry.desc);
        desc.refs -= 1;
        if desc.refs > 0 {
            return;
        }
        let kind = desc.kind;
        self.descs.remove(&entry.desc);
        if let Kind::Pipe(pipe, _) = kind
            && !self
                .descs
                .values()
                .any(|d| matches!(d.kind, Kind::Pipe(p, _) if p == pipe))
        {
            self.pipes.remove(&pipe);
        }
    }

    /// Marks description `id` (and its pipe) shared.
    pub fn shared(&mut self, id: u32) {
        let desc = self.desc_mut(id);
        desc.shared = true;
        desc.offset = None;
        if let Kind::Pipe(pipe, _) = desc.kind {
            self.pipe_mut(pipe).shared = true;
        }
    }

    /// A free slot, if any (the first descriptors take the first
    /// [`BASE`] slots).
    fn free_slot(&self) -> Option<usize> {
        (0..SLOTS).find(|&s| self.entries[s].is_none())
    }
}

impl Ctx {
    /// Opens the thread's first own descriptors (inside
    /// [`fds::exclusive`]): its home directory, `/dev/null` (read and
    /// write), `/dev/zero` and `/dev/console` (read only: nothing a fuzz
    /// thread does can print), `p0` (read and write) and `p1` (write only,
    /// appending) in its home, `p0` again read-only, a duplicate of door
    /// `door`, and a non-blocking pipe.
    pub fn setup_own(&mut self, door: i32) {
        fds::exclusive(|| {
            let home = paths::home(self.worker, self.slot);
            let dir = O_RDONLY | O_DIRECTORY;
            let home_fd = self.open_base(AT_FDCWD, home.as_bytes(), dir, Kind::Dir, Origin::Home);
            for (path, flags, dev) in [
                ("/dev/null", O_RDWR, Dev::Null),
                ("/dev/zero", O_RDONLY, Dev::Zero),
                ("/dev/console", O_RDONLY, Dev::Console),
            ] {
                self.open_base(
                    AT_FDCWD,
                    path.as_bytes(),
                    flags,
                    Kind::Device(dev),
                    Origin::System,
                );
            }
            let file = Kind::File { boot: false };
            if let Some(home_fd) = home_fd {
                for (name, flags) in [
                    ("p0", O_RDWR | O_CREAT | O_TRUNC),
                    ("p1", O_WRONLY | O_CREAT | O_APPEND),
                    ("p0", O_RDONLY),
                ] {
                    self.open_base(home_fd, name.as_bytes(), flags, file, Origin::Mine);
                }
            }
            let copy = self.issue_nr(
                Sys::Dup.number(),
                [door as usize, 0, 0, 0, 0, 0],
                Expect::SuccessOr(&[]),
            );
            if copy >= 0 {
                let desc = Desc::new(Kind::Door, Origin::Mine, O_RDWR);
                self.adopt(copy as i32, desc);
            }
            self.make_pipe(O_NONBLOCK);
        });
    }

    /// Opens `path` from `dirfd` with `flags` and adopts it as `kind`;
    /// its own number. A full file system (ENOSPC) leaves it out.
    fn open_base(
        &mut self,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        kind: Kind,
        origin: Origin,
    ) -> Option<i32> {
        let args = [
            dirfd as isize as usize,
            path.as_ptr() as usize,
            path.len(),
            flags as usize,
            0o644,
            0,
        ];
        let expect = match flags & O_CREAT {
            0 => Expect::SuccessOr(&[]),
            _ => Expect::SuccessOr(&[Errno::ENOSPC]),
        };
        let fd = self.issue_nr(Sys::Openat.number(), args, expect);
        (fd >= 0).then(|| self.adopt(fd as i32, Desc::new(kind, origin, flags)))?
    }

    /// Makes a pipe (`flags` must hold `O_NONBLOCK`) and adopts both ends
    /// (inside [`fds::exclusive`]).
    fn make_pipe(&mut self, flags: u32) {
        let mut ends = [-1i32; 2];
        let ret = self.issue_nr(
            Sys::Pipe2.number(),
            [ends.as_mut_ptr() as usize, flags as usize, 0, 0, 0, 0],
            Expect::SuccessOr(&[Errno::ENFILE]),
        );
        if ret == 0 {
            self.adopt_pipe(ends, flags);
        }
    }

    /// Adopts the ends `ends` (read, write) of a new pipe made with
    /// `flags` (inside [`fds::exclusive`]).
    pub fn adopt_pipe(&mut self, ends: [i32; 2], flags: u32) {
        let pipe = self.own.new_pipe();
        for (fd, end, access) in [
            (ends[0], End::Read, O_RDONLY),
            (ends[1], End::Write, O_WRONLY),
        ] {
            let desc = Desc::new(Kind::Pipe(pipe, end), Origin::Mine, access | flags);
            self.adopt(fd, desc);
        }
    }

    /// Makes `fd` (just made, inside [`fds::exclusive`]) an own descriptor
    /// of a new description `desc`: moves it to an own number and closes
    /// `fd`. Its own number.
    pub fn adopt(&mut self, fd: i32, desc: Desc) -> Option<i32> {
        let id = self.own.new_desc(desc);
        let own = self.place_own(fd, id, false);
        self.issue_nr(
            Sys::Close.number(),
            [fd as isize as usize, 0, 0, 0, 0, 0],
            Expect::Value(0),
        );
        if own.is_none() && self.own.desc(id).refs == 0 {
            self.own.descs.remove(&id);
        }
        own
    }

    /// Duplicates `fd` (naming own description `desc`) to an own number,
    /// with `O_CLOEXEC` if `cloexec`; the number. When every slot is
    /// taken, one (not of the first descriptors) is closed first.
    pub fn place_own(&mut self, fd: i32, desc: u32, cloexec: bool) -> Option<i32> {
        // Counted first, so that emptying a slot cannot end `desc`.
        self.own.desc_mut(desc).refs += 1;
        let slot = match self.own.free_slot() {
            Some(slot) => slot,
            None => {
                let slot = BASE + self.rng.index(SLOTS - BASE);
                self.close_own(slot);
                slot
            }
        };
        let number = self.own.number(slot);
        let flags = if cloexec { O_CLOEXEC } else { 0 };
        let ret = self.issue_nr(
            Sys::Dup3.number(),
            [
                fd as isize as usize,
                number as usize,
                flags as usize,
                0,
                0,
                0,
            ],
            Expect::Value(number as isize),
        );
        if ret != number as isize {
            self.own.desc_mut(desc).refs -= 1;
            return None;
        }
        self.own.entries[slot] = Some(OwnFd {
            slot,
            fd: number,
            desc,
            cloexec,
        });
        Some(number)
    }

    /// Closes own descriptor `slot` (if open), which must work.
    pub fn close_own(&mut self, slot: usize) {
        if let Some(entry) = self.own.entries[slot] {
            self.issue_nr(
                Sys::Close.number(),
                [entry.fd as usize, 0, 0, 0, 0, 0],
                Expect::Value(0),
            );
            self.own.forget(slot);
        }
    }

    /// Records that own descriptor `slot` was closed by a call.
    pub fn closed_own(&mut self, slot: usize) {
        self.own.forget(slot);
    }

    /// Records that own descriptor `slot` now names what own description
    /// `desc` is (a `dup3` onto it), with `O_CLOEXEC` if `cloexec`.
    pub fn replaced_own(&mut self, slot: usize, desc: u32, cloexec: bool) {
        let fd = self.own.entries[slot].expect("an own descriptor").fd;
        self.own.desc_mut(desc).refs += 1;
        self.own.forget(slot);
        self.own.dead.retain(|&d| d != fd);
        self.own.entries[slot] = Some(OwnFd {
            slot,
            fd,
            desc,
            cloexec,
        });
    }

    /// Records that `fd` (a duplicate of own description `desc`) went to
    /// the pool.
    pub fn share(&mut self, fd: i32, desc: u32) {
        self.own.shared(desc);
        fds::add(&mut self.rng, fd);
    }

    /// A new own descriptor `slot` for own description `desc` at number
    /// `fd` (a `dup3` to a free own number).
    pub fn added_own(&mut self, slot: usize, fd: i32, desc: u32, cloexec: bool) {
        self.own.dead.retain(|&d| d != fd);
        self.own.entries[slot] = Some(OwnFd {
            slot,
            fd,
            desc,
            cloexec,
        });
        self.own.desc_mut(desc).refs += 1;
    }

    /// A free own slot and a fresh number for it, if a slot is free.
    pub fn free_own(&mut self) -> Option<(usize, i32)> {
        let slot = self.own.free_slot()?;
        Some((slot, self.own.number(slot)))
    }

    /// Closes every own descriptor (at the end of the run).
    pub fn close_all_own(&mut self) {
        for slot in 0..SLOTS {
            self.close_own(slot);
        }
    }
}
