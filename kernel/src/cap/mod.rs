//! The capability layer: every process's descriptor table ([`Table`],
//! numbering its descriptors with generations for a native program and
//! POSIX's way for a Linux one: [`Numbering`], [`CapSpace::set_numbering`]),
//! whose entries name objects of every kind ([`Capability`]), the
//! per-process state that goes with them (current directory, umask), and
//! the operations that work the same for every kind — close, dup,
//! placement at a chosen descriptor (dup2), inheritance by a new process
//! (spawn, fork), closing the close-on-exec descriptors at exec and
//! everything at exit — with reference counting per kind.
//!
//! Each kind's module holds its objects and their operations: the door
//! logic (`doors::DoorSystem`, which counts door references itself and
//! reaches the tables through [`doors::Descriptors`], implemented by
//! [`CapSpace`]), the file system ([`crate::fs`]: files, directories,
//! devices), the pipes ([`crate::pipe`]), the stream sockets made of
//! them ([`crate::socket`]) and the named pipes that join the two
//! ([`crate::fifo`]). [`CapSpace`] owns the tables,
//! the file system and the pipes, so the door logic's descriptor passing
//! counts references to every kind; [`Objects`] adds the door logic. The
//! calls on names and files are in [`files`](self) (`files.rs`).
//!
//! Adding a kind of object: its module (its state and operations), an arm
//! in [`Capability`], its arms in [`CapSpace::retain`]/[`CapSpace::release`]
//! (how references to it are counted) and in the few per-kind `match`es of
//! `files.rs` (stat, status flags, reads and writes), and its system calls.
//!
//! Pipe wakeups that a release causes (the last writer gone: readers see
//! end of file; the last reader gone: writers get EPIPE) are recorded here
//! ([`CapSpace::pop_wake`]); the kernel drains them with the door events.

mod fifo;
mod files;
mod fork;
mod table;
#[cfg(test)]
mod tests;

pub use fifo::{FifoOpen, Open};
pub use files::{DOOR_DEV, Program};
pub use table::{Entry, INDEX_BITS, MAX_CAPACITY, Numbering, Placed, Table};

use crate::fifo::{Access, Fifo};
use crate::fs::{Device, Fs, NodeId, OfdId};
use crate::io::PageStore;
use crate::pipe::{End, PipeId, Pipes, Wake};
use crate::socket::Stream;
use abi::Errno;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use doors::{At, Descriptors, DoorId, DoorSystem, Fd, Pid, Registry};

/// What a descriptor names. A capability held in a table, in a door
/// message in flight, or by a thread blocked on it is one counted
/// reference to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Capability {
    /// A door (references counted by the door logic).
    Door(DoorId),
    /// An open regular file (also a program of `/bin`).
    File(OfdId),
    /// An open directory.
    Dir(OfdId),
    /// An open device.
    Device(OfdId, Device),
    /// One end of a pipe.
    Pipe(PipeId, End),
    /// One end of a connected stream socket pair.
    Socket(Stream),
    /// An open named pipe: its description and the ends of its pipe it
    /// holds (the pipe is its node's, [`CapSpace::fifo`]: kept out of the
    /// capability, which stays 16 bytes, as every descriptor slot's size
    /// follows it).
    Fifo(OfdId, Access),
}

impl Capability {
    /// Whether a transfer on it may wait at a pipe end when it would
    /// block: a read (`write`: false) of a pipe's read end, a write to
    /// its write end, either on a socket or a FIFO open that way
    /// ([`CapSpace::read_wait`]/[`CapSpace::write_wait`] say where).
    #[inline]
    pub fn may_wait(self, write: bool) -> bool {
        match self {
            Capability::Pipe(_, end) => (end == End::Write) == write,
            Capability::Socket(_) => true,
            Capability::Fifo(_, access) => match access {
                Access::Both => true,
                Access::Read => !write,
                Access::Write => write,
            },
            _ => false,
        }
    }

    /// The open-file description of a file, directory or device: what
    /// seeks and positioned calls use (a FIFO's has no offset: ESPIPE).
    pub fn ofd(self) -> Option<OfdId> {
        match self {
            Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => Some(ofd),
            Capability::Door(_)
            | Capability::Pipe(..)
            | Capability::Socket(_)
            | Capability::Fifo(..) => None,
        }
    }
}

/// Descriptors per process unless a limit says otherwise.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The umask of the first process (others inherit their parent's).
pub const DEFAULT_UMASK: u32 = 0o022;

/// One process's holdings: its descriptors and its current directory.
struct Holder {
    table: Table<Capability>,
    /// Its current directory (a reference the file system counts).
    cwd: NodeId,
    /// Its file mode creation mask.
    umask: u32,
}

/// Every process's descriptor table and current directory, and the
/// objects of every kind but doors: the file system and the pipes.
pub struct CapSpace<S: PageStore> {
    holders: Registry<Holder>,
    pub fs: Fs<S, DoorId>,
    pub pipes: Pipes<S>,
    /// Pipe wakeups releases caused, oldest first.
    wakes: VecDeque<(PipeId, Wake)>,
    /// Slots of all tables together ([`Table::slots`]).
    slots: usize,
    /// Most slots all tables may have together (`abi::MAX_TABLE_SLOTS`).
    pub max_slots: usize,
}

impl<S: PageStore> CapSpace<S> {
    /// No processes yet; objects live in `fs` and `pipes`.
    pub fn new(fs: Fs<S, DoorId>, pipes: Pipes<S>) -> Self {
        CapSpace {
            holders: Registry::new(),
            fs,
            pipes,
            wakes: VecDeque::new(),
            slots: 0,
            max_slots: abi::MAX_TABLE_SLOTS,
        }
    }

    /// Process `pid`'s table, if it has one.
    pub fn table(&self, pid: Pid) -> Option<&Table<Capability>> {
        self.holders.get(&pid).map(|h| &h.table)
    }

    /// Process `pid`'s table, mutably.
    pub fn table_mut(&mut self, pid: Pid) -> Option<&mut Table<Capability>> {
        self.holders.get_mut(&pid).map(|h| &mut h.table)
    }

    /// Makes `pid`'s table number new descriptors `numbering`'s way (the
    /// kernel: POSIX numbering for a Linux program, from its start or its
    /// exec; generations for a native one). A fork's copy keeps its
    /// parent's. Nothing happens if there is no such process.
    pub fn set_numbering(&mut self, pid: Pid, numbering: Numbering) {
        if let Some(holder) = self.holders.get_mut(&pid) {
            holder.table.set_numbering(numbering);
        }
    }

    /// Slots all tables may still add.
    fn spare(&self) -> usize {
        self.max_slots.saturating_sub(self.slots)
    }

    /// Slots of all tables together.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Whether `pid`'s table takes `n` more descriptors: EMFILE if not
    /// (its limit), ENFILE if the tables together may not grow enough
    /// (`max_slots`).
    pub fn check_room(&self, pid: Pid, n: usize) -> Result<(), Errno> {
        let table = &self.holder(pid)?.table;
        if table.room() < n {
            Err(Errno::EMFILE)
        } else if table.room_within(self.spare()) < n {
            Err(Errno::ENFILE)
        } else {
            Ok(())
        }
    }

    /// Stores `entry` in `pid`'s lowest free slot at or above `lowest`.
    /// Errors: EBADF (no such table), EMFILE (none fits), ENFILE (a new
    /// slot would take the tables beyond `max_slots`).
    pub fn insert_from(
        &mut self,
        pid: Pid,
        lowest: usize,
        entry: Entry<Capability>,
    ) -> Result<Fd, Errno> {
        let spare = self.spare();
        let table = &mut self.holders.get_mut(&pid).ok_or(Errno::EBADF)?.table;
        let (fd, growth) = table.insert_within(lowest, entry, spare)?;
        self.slots += growth;
        Ok(fd)
    }

    /// Descriptors open in all tables (for leak checks).
    pub fn descriptors(&self) -> usize {
        self.holders.values().map(|h| h.table.len()).sum()
    }

    /// Whether pipe wakeups wait for [`CapSpace::pop_wake`].
    #[inline]
    pub fn has_wakes(&self) -> bool {
        !self.wakes.is_empty()
    }

    /// The next pipe wakeup the kernel must carry out: the threads parked
    /// on that side of that pipe may now progress.
    pub fn pop_wake(&mut self) -> Option<(PipeId, Wake)> {
        self.wakes.pop_front()
    }

    /// Records that `wake` is due on pipe `id`.
    #[inline]
    pub fn note_wake(&mut self, id: PipeId, wake: Wake) {
        note(&mut self.wakes, id, wake);
    }

    /// The open FIFO a [`Capability::Fifo`] names, with its pipe: its
    /// node's, which the node keeps while the open holds its ends.
    pub fn fifo(&self, ofd: OfdId, access: Access) -> Fifo {
        let pipe = self
            .fs
            .fifo_pipe(ofd)
            .expect("an open FIFO's node has its pipe");
        Fifo { ofd, pipe, access }
    }

    /// The pipe end a read of `cap` waits at when it would block: a pipe's
    /// read end, the pipe a socket receives on, a FIFO's pipe.
    pub fn read_wait(&self, cap: Capability) -> Option<(PipeId, End)> {
        match cap {
            Capability::Pipe(id, End::Read) => Some((id, End::Read)),
            Capability::Socket(end) => Some(end.read_end()),
            Capability::Fifo(ofd, Access::Read | Access::Both) => {
                Some((self.fifo(ofd, Access::Read).pipe, End::Read))
            }
            _ => None,
        }
    }

    /// The pipe end a write to `cap` waits at when it would block: a
    /// pipe's write end, the pipe a socket sends on, a FIFO's pipe.
    pub fn write_wait(&self, cap: Capability) -> Option<(PipeId, End)> {
        match cap {
            Capability::Pipe(id, End::Write) => Some((id, End::Write)),
            Capability::Socket(end) => Some(end.write_end()),
            Capability::Fifo(ofd, Access::Write | Access::Both) => {
                Some((self.fifo(ofd, Access::Write).pipe, End::Write))
            }
            _ => None,
        }
    }

    fn holder(&self, pid: Pid) -> Result<&Holder, Errno> {
        self.holders.get(&pid).ok_or(Errno::ESRCH)
    }

    fn holder_mut(&mut self, pid: Pid) -> Result<&mut Holder, Errno> {
        self.holders.get_mut(&pid).ok_or(Errno::ESRCH)
    }
}

/// Records in `wakes` that `wake` is due on pipe `id`.
#[inline]
fn note(wakes: &mut VecDeque<(PipeId, Wake)>, id: PipeId, wake: Wake) {
    if wake != Wake::Nobody {
        wakes.push_back((id, wake));
    }
}

impl<S: PageStore> CapSpace<S> {
    /// The door descriptor `fd` of process `pid` names, its table looked
    /// for first at `hint` (the door fast path's lookup: with the right
    /// hint, no hashing; see [`Registry::get_hinted`]).
    #[inline(always)]
    pub fn door_hinted(&self, hint: &mut At, pid: Pid, fd: Fd) -> Option<DoorId> {
        Self::door(self.holders.get_hinted(hint, pid)?.table.get(fd)?)
    }
}

impl<S: PageStore> Descriptors for CapSpace<S> {
    type Cap = Capability;

    #[inline]
    fn door(cap: Capability) -> Option<DoorId> {
        match cap {
            Capability::Door(id) => Some(id),
            _ => None,
        }
    }

    #[inline]
    fn for_door(id: DoorId) -> Capability {
        Capability::Door(id)
    }

    #[inline(always)]
    fn get(&self, pid: Pid, fd: Fd) -> Option<Capability> {
        self.holders.get(&pid)?.table.get(fd)
    }

    fn room(&self, pid: Pid) -> usize {
        let spare = self.spare();
        self.holders
            .get(&pid)
            .map_or(0, |h| h.table.room_within(spare))
    }

    fn install(&mut self, pid: Pid, cap: Capability) -> Fd {
        let cloexec = false;
        self.insert_from(pid, 0, Entry { cap, cloexec })
            .expect("install without room")
    }

    fn remove(&mut self, pid: Pid, fd: Fd) -> Option<Capability> {
        self.holders.get_mut(&pid)?.table.remove(fd)
    }

    fn retain(&mut self, cap: Capability) {
        match cap {
            Capability::Door(_) => unreachable!("the door logic counts door references"),
            Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => {
                self.fs.retain(ofd)
            }
            Capability::Pipe(id, end) => self.pipes.retain(id, end),
            Capability::Socket(end) => end.retain(&mut self.pipes),
            Capability::Fifo(ofd, access) => {
                let fifo = self.fifo(ofd, access);
                fifo.retain(&mut self.fs, &mut self.pipes)
            }
        }
    }

    fn release(&mut self, cap: Capability) {
        match cap {
            Capability::Door(_) => unreachable!("the door logic counts door references"),
            Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => {
                self.fs.release(ofd)
            }
            Capability::Pipe(id, end) => {
                let wake = self.pipes.release(id, end);
                self.note_wake(id, wake);
            }
            Capability::Socket(end) => {
                for (id, side) in [end.read_end(), end.write_end()] {
                    let wake = self.pipes.release(id, side);
                    self.note_wake(id, wake);
                }
            }
            Capability::Fifo(ofd, access) => {
                let fifo = self.fifo(ofd, access);
                let CapSpace {
                    fs, pipes, wakes, ..
                } = self;
                fifo.release(fs, pipes, |id, wake| note(wakes, id, wake));
            }
        }
    }
}

/// The objects of the machine behind the descriptors: the door logic and
/// the capability space, with the kind-independent descriptor operations.
pub struct Objects<S: PageStore> {
    pub doors: DoorSystem<Capability>,
    pub caps: CapSpace<S>,
}

impl<S: PageStore> Objects<S> {
    /// One more reference to `cap`'s object.
    pub fn retain(&mut self, cap: Capability) {
        match cap {
            Capability::Door(id) => self.doors.add_ref(id),
            other => self.caps.retain(other),
        }
    }

    /// One reference fewer to `cap`'s object (the last one frees it).
    pub fn release(&mut self, cap: Capability) {
        match cap {
            Capability::Door(id) => self.doors.drop_ref(id),
            other => self.caps.release(other),
        }
    }

    /// Gives process `pid` (the first, with no parent) an empty table for
    /// `capacity` descriptors, `/` as its current directory and the
    /// default umask, and registers it with the door logic. EINVAL if it
    /// exists.
    pub fn create_process(&mut self, pid: Pid, capacity: usize) -> Result<(), Errno> {
        let root = self.caps.fs.root();
        self.add_holder(pid, capacity, root, DEFAULT_UMASK)
    }

    fn add_holder(
        &mut self,
        pid: Pid,
        capacity: usize,
        cwd: NodeId,
        umask: u32,
    ) -> Result<(), Errno> {
        if self.caps.holders.contains_key(&pid) {
            return Err(Errno::EINVAL);
        }
        self.doors.create_process(pid)?;
        self.caps.fs.retain_node(cwd);
        let holder = Holder {
            table: Table::new(capacity),
            cwd,
            umask,
        };
        self.caps.holders.insert(pid, holder);
        Ok(())
    }

    /// Registers `child` with copies of exactly the descriptors `fds` of
    /// `parent`, as its descriptors 0, 1, ... (a spawned program's), and
    /// the parent's current directory and umask. Errors (nothing
    /// created): ESRCH (no parent), EBADF (a descriptor is not open),
    /// EMFILE (more than `capacity`), ENFILE (their slots would take the
    /// tables beyond `max_slots`), EINVAL (`child` exists).
    pub fn spawn(
        &mut self,
        parent: Pid,
        child: Pid,
        fds: &[Fd],
        capacity: usize,
    ) -> Result<(), Errno> {
        let holder = self.caps.holder(parent)?;
        let caps = fds
            .iter()
            .map(|&fd| holder.table.get(fd).ok_or(Errno::EBADF))
            .collect::<Result<Vec<_>, _>>()?;
        if caps.len() > capacity {
            return Err(Errno::EMFILE);
        }
        if caps.len() > self.caps.spare() {
            return Err(Errno::ENFILE);
        }
        let (cwd, umask) = (holder.cwd, holder.umask);
        self.add_holder(child, capacity, cwd, umask)?;
        for cap in caps {
            self.retain(cap);
            self.caps.install(child, cap);
        }
        Ok(())
    }

    /// Closes descriptor `fd` of `pid`. EBADF if it is not open.
    pub fn close(&mut self, pid: Pid, fd: Fd) -> Result<(), Errno> {
        let cap = self.caps.remove(pid, fd).ok_or(Errno::EBADF)?;
        self.release(cap);
        Ok(())
    }

    /// A new descriptor of `pid` for what `fd` names, the lowest free one
    /// at or above `lowest` (dup, F_DUPFD), with the close-on-exec flag
    /// `cloexec`. Errors: EBADF, EMFILE, ENFILE (a new slot would take the
    /// tables beyond `max_slots`), EINVAL (`lowest` is beyond the table).
    pub fn dup(&mut self, pid: Pid, fd: Fd, lowest: usize, cloexec: bool) -> Result<Fd, Errno> {
        let table = self.caps.table(pid).ok_or(Errno::EBADF)?;
        let cap = table.get(fd).ok_or(Errno::EBADF)?;
        if lowest >= table.capacity() {
            return Err(Errno::EINVAL);
        }
        let new = self.caps.insert_from(pid, lowest, Entry { cap, cloexec })?;
        self.retain(cap);
        Ok(new)
    }

    /// Makes descriptor `new` of `pid` name what `old` names (dup2): a
    /// descriptor open at `new` is closed first; `new == old` only checks
    /// `old`. Errors: EBADF (`old` not open, or `new` negative, beyond the
    /// table, stale or its slot taken: [`Table::insert_at`]), ENFILE
    /// (`new`'s slot would be new, beyond `max_slots`).
    pub fn dup2(&mut self, pid: Pid, old: Fd, new: Fd, cloexec: bool) -> Result<Fd, Errno> {
        let spare = self.caps.spare();
        let table = self.caps.table_mut(pid).ok_or(Errno::EBADF)?;
        let cap = table.get(old).ok_or(Errno::EBADF)?;
        if new == old {
            return Ok(new);
        }
        let placed = table.insert_at(new, Entry { cap, cloexec }, spare)?;
        self.caps.slots += placed.growth;
        self.retain(cap);
        if let Some(old_entry) = placed.replaced {
            self.release(old_entry.cap);
        }
        Ok(new)
    }

    /// Ends process `pid`: the door logic first (its doors are revoked,
    /// its threads leave), then every descriptor it held is closed and its
    /// current directory released.
    pub fn exit_process(&mut self, pid: Pid) {
        self.doors.exit_process(&mut self.caps, pid);
        let Some(holder) = self.caps.holders.remove(&pid) else {
            return;
        };
        self.caps.slots -= holder.table.slots();
        for (_, entry) in holder.table.iter() {
            self.release(entry.cap);
        }
        self.caps.fs.release_node(holder.cwd);
    }

    /// Doors that nothing but fattach attachments holds (the leak check
    /// leaves them out: an attachment persists like a mount).
    pub fn attached_only_doors(&self) -> usize {
        let mut attached: Vec<DoorId> = self.caps.fs.attachments().collect();
        attached.sort_unstable();
        let mut count = 0;
        for group in attached.chunk_by(|a, b| a == b) {
            let refs = self.doors.references(group[0]);
            if refs == Some(group.len() as u32) {
                count += 1;
            }
        }
        count
    }
}
