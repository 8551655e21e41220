//! The capability layer: every process's descriptor table ([`Table`]),
//! whose entries name objects of every kind ([`Capability`]), and the
//! operations that work the same for every kind — close, dup, placement at
//! a chosen descriptor (dup2), inheritance by a new process, and closing
//! everything at exit — with reference counting per kind.
//!
//! The door logic (`doors::DoorSystem`) is one kind's module: it reaches
//! the tables through [`doors::Descriptors`] (implemented by [`CapSpace`])
//! and counts door references itself; [`Objects`] holds both and gives each
//! kind its arm.
//!
//! Adding a kind of object: its module (its state and operations), an arm
//! in [`Capability`], its arms in [`CapSpace::retain`]/[`CapSpace::release`]
//! (how references to it are counted), and its system calls.

mod table;

pub use table::{Entry, INDEX_BITS, MAX_CAPACITY, Table};

use abi::Errno;
use alloc::vec::Vec;
use doors::{Descriptors, DoorId, DoorSystem, Fd, Pid, Registry};

/// What a descriptor names. A capability held in a table or in a door
/// message in flight is one counted reference to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// A door (references counted by the door logic).
    Door(DoorId),
}

/// Descriptors per process unless a limit says otherwise.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Every process's descriptor table, and the objects of every kind but
/// doors.
#[derive(Default)]
pub struct CapSpace {
    tables: Registry<Table<Capability>>,
}

impl CapSpace {
    /// An empty space (it allocates at its first table, so it can
    /// initialise a `static`).
    pub const fn new() -> Self {
        CapSpace {
            tables: Registry::new(),
        }
    }

    /// Process `pid`'s table, if it has one.
    pub fn table(&self, pid: Pid) -> Option<&Table<Capability>> {
        self.tables.get(&pid)
    }

    /// Process `pid`'s table, mutably.
    pub fn table_mut(&mut self, pid: Pid) -> Option<&mut Table<Capability>> {
        self.tables.get_mut(&pid)
    }

    /// Descriptors open in all tables (for leak checks).
    pub fn descriptors(&self) -> usize {
        self.tables.values().map(Table::len).sum()
    }
}

impl Descriptors for CapSpace {
    type Cap = Capability;

    #[inline]
    fn door(cap: Capability) -> Option<DoorId> {
        match cap {
            Capability::Door(id) => Some(id),
        }
    }

    #[inline]
    fn for_door(id: DoorId) -> Capability {
        Capability::Door(id)
    }

    #[inline]
    fn get(&self, pid: Pid, fd: Fd) -> Option<Capability> {
        self.tables.get(&pid)?.get(fd)
    }

    fn room(&self, pid: Pid) -> usize {
        self.tables.get(&pid).map_or(0, Table::room)
    }

    fn install(&mut self, pid: Pid, cap: Capability) -> Fd {
        self.tables
            .get_mut(&pid)
            .and_then(|t| t.insert(cap))
            .expect("install without room")
    }

    fn remove(&mut self, pid: Pid, fd: Fd) -> Option<Capability> {
        self.tables.get_mut(&pid)?.remove(fd)
    }

    fn retain(&mut self, cap: Capability) {
        match cap {
            Capability::Door(_) => unreachable!("the door logic counts door references"),
        }
    }

    fn release(&mut self, cap: Capability) {
        match cap {
            Capability::Door(_) => unreachable!("the door logic counts door references"),
        }
    }
}

/// The objects of the machine behind the descriptors: the door logic and
/// the capability space, with the kind-independent descriptor operations.
pub struct Objects {
    pub doors: DoorSystem<Capability>,
    pub caps: CapSpace,
}

impl Objects {
    /// One more reference to `cap`'s object.
    pub fn retain(&mut self, cap: Capability) {
        match cap {
            Capability::Door(id) => self.doors.add_ref(id),
        }
    }

    /// One reference fewer to `cap`'s object (the last one frees it).
    pub fn release(&mut self, cap: Capability) {
        match cap {
            Capability::Door(id) => self.doors.drop_ref(id),
        }
    }

    /// Gives process `pid` an empty table (for `capacity` descriptors) and
    /// registers it with the door logic. EINVAL if it exists.
    pub fn create_process(&mut self, pid: Pid, capacity: usize) -> Result<(), Errno> {
        if self.caps.tables.contains_key(&pid) {
            return Err(Errno::EINVAL);
        }
        self.doors.create_process(pid)?;
        self.caps.tables.insert(pid, Table::new(capacity));
        Ok(())
    }

    /// Registers `child` with copies of exactly the descriptors `fds` of
    /// `parent`, as its descriptors 0, 1, ... (a spawned program's).
    /// Errors (nothing created): EBADF (a descriptor is not open), EMFILE
    /// (more than `capacity`), EINVAL (`child` exists).
    pub fn spawn(
        &mut self,
        parent: Pid,
        child: Pid,
        fds: &[Fd],
        capacity: usize,
    ) -> Result<(), Errno> {
        let table = self.caps.table(parent).ok_or(Errno::ESRCH)?;
        let caps = fds
            .iter()
            .map(|&fd| table.get(fd).ok_or(Errno::EBADF))
            .collect::<Result<Vec<_>, _>>()?;
        if caps.len() > capacity {
            return Err(Errno::EMFILE);
        }
        self.create_process(child, capacity)?;
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
    /// `cloexec`. Errors: EBADF, EMFILE (EINVAL when `lowest` is beyond the
    /// table).
    pub fn dup(&mut self, pid: Pid, fd: Fd, lowest: usize, cloexec: bool) -> Result<Fd, Errno> {
        let table = self.caps.table(pid).ok_or(Errno::EBADF)?;
        let cap = table.get(fd).ok_or(Errno::EBADF)?;
        if lowest >= table.capacity() {
            return Err(Errno::EINVAL);
        }
        let table = self.caps.table_mut(pid).ok_or(Errno::EBADF)?;
        let new = table
            .insert_from(lowest, Entry { cap, cloexec })
            .ok_or(Errno::EMFILE)?;
        self.retain(cap);
        Ok(new)
    }

    /// Makes descriptor `new` of `pid` name what `old` names (dup2): a
    /// descriptor open at `new` is closed first; `new == old` only checks
    /// `old`. Errors: EBADF (`old` not open, or `new` negative or beyond
    /// the table).
    pub fn dup2(&mut self, pid: Pid, old: Fd, new: Fd, cloexec: bool) -> Result<Fd, Errno> {
        let table = self.caps.table_mut(pid).ok_or(Errno::EBADF)?;
        let cap = table.get(old).ok_or(Errno::EBADF)?;
        if new == old {
            return Ok(new);
        }
        let replaced = table
            .insert_at(new, Entry { cap, cloexec })
            .ok_or(Errno::EBADF)?;
        self.retain(cap);
        if let Some(old_entry) = replaced {
            self.release(old_entry.cap);
        }
        Ok(new)
    }

    /// Ends process `pid`: the door logic first (its doors are revoked,
    /// its threads leave), then every descriptor it held is closed.
    pub fn exit_process(&mut self, pid: Pid) {
        self.doors.exit_process(&mut self.caps, pid);
        let Some(table) = self.caps.tables.remove(&pid) else {
            return;
        };
        for (_, entry) in table.iter() {
            self.release(entry.cap);
        }
    }
}
