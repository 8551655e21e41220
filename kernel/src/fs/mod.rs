//! The RAM file system mounted at `/`: directories, regular files, device
//! nodes, FIFOs and the read-only programs of the boot image, with owners and
//! permission bits checked as POSIX says, open-file descriptions, and doors
//! attached over paths (fattach) with illumos's rules. Pure bookkeeping:
//! file contents live in pages of a [`PageStore`], transfers go through a
//! [`Sink`](crate::io::Sink) or [`Source`](crate::io::Source), and the
//! kernel does everything that touches hardware or other subsystems.
//!
//! # What the kernel calls
//!
//! - [`Fs::new`] at boot (it makes `/`, `/tmp` (1777), `/dev` with `null`,
//!   `zero` and `console`, and `/bin` (0555)), then [`Fs::add_boot_file`]
//!   for each member of the boot archive; [`Fs::set_time`] whenever the
//!   clock should move on (timestamps use the last value set).
//! - Paths are byte strings resolved from a directory node `at` (the
//!   caller's current directory, or an `openat`-style directory from
//!   [`Fs::ofd_dir`]); absolute paths ignore it. Every path call takes the
//!   caller's [`Cred`] (effective ids, or real ids for `access`).
//! - Current directories: a process holds a node; [`Fs::root`] plus
//!   [`Fs::retain_node`] for the first, [`Fs::chdir`] or [`Fs::fchdir`]
//!   (they return the new node retained) and [`Fs::release_node`] for the
//!   old one, [`Fs::getcwd`]. A process's exit releases its node.
//! - [`Fs::open`] gives an [`Opened`]: an open-file description
//!   ([`OfdId`]) of a file, directory or device, or the door attached at
//!   the path. Descriptions are counted: [`Fs::retain`] for each further
//!   descriptor that names one (dup, passing, inheritance), [`Fs::release`]
//!   for each one closed; the last release closes it. Then
//!   [`Fs::read`]/[`Fs::write`]/[`Fs::pread`]/[`Fs::pwrite`]/[`Fs::lseek`]/
//!   [`Fs::truncate`]/[`Fs::fstat`]/[`Fs::fchmod`]/[`Fs::getdents`] and the
//!   status flags ([`Fs::status_flags`], [`Fs::set_status_flags`]).
//! - FIFOs: [`Fs::mknod`] makes one; [`Fs::open`] gives its description
//!   ([`Opened::Fifo`]), and the node remembers the pipe its openers share
//!   ([`Fs::fifo_pipe`], [`Fs::set_fifo_pipe`]; the pipe is the
//!   capability layer's, see [`crate::fifo`]).
//! - By path: [`Fs::stat`], [`Fs::access`], [`Fs::mkdir`], [`Fs::rmdir`],
//!   [`Fs::unlink`], [`Fs::rename`], [`Fs::chmod`], [`Fs::executable`] (to
//!   spawn a program by path).
//! - Doors: [`Fs::attach`], [`Fs::detach`], [`Fs::attachments`].
//! - Leak checks: [`Fs::usage`].
//!
//! # What stays with the kernel
//!
//! Applying the umask to `mode` before `open`/`mkdir`; the descriptor flag
//! `O_CLOEXEC`; writing to the console when [`Fs::write`] says
//! [`Written::Console`]; counting the references that attachments hold on
//! their doors (one per successful [`Fs::attach`], dropped with the door
//! [`Fs::detach`] returns); `stat` of doors ([`Statted::Door`]); bounding
//! open-file descriptions, which its descriptor tables do (each holds at
//! least one descriptor, or is the transient one of
//! [`Fs::executable`]).
//!
//! # Rules
//!
//! Errors are POSIX's, with illumos's or Linux's choice where they differ
//! (said where it matters). Every call checks everything before it changes
//! anything, so an error leaves the file system as it was. Unknown node or
//! description ids are kernel bugs and panic; user input never does.
//! Bounds: at most `max_pages` pages of file data and `max_nodes` nodes
//! (the initial ones included), then ENOSPC; `max_ofds` open-file
//! descriptions made by `open`, then ENFILE; names of at most
//! [`NAME_MAX`](abi::fs::NAME_MAX) bytes and paths shorter than
//! [`PATH_MAX`](abi::fs::PATH_MAX), else ENAMETOOLONG. Access times are
//! not kept (as with `noatime`): `st_atime` is the creation time.

mod attach;
mod dir;
mod file;
mod names;
mod node;
mod ofd;
mod open;
mod path;
#[cfg(test)]
mod tests;

pub use names::Statted;
pub use node::Device;
pub use ofd::Written;
pub use open::{Executable, Opened, check_open_flags};

use crate::io::PageStore;
use abi::Errno;
use abi::fs::Timespec;
use alloc::collections::BTreeMap;
use dir::Dir;
use node::{Kind, Node};
use ofd::Ofd;

/// The identity a permission check is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cred {
    pub euid: u32,
    pub egid: u32,
}

impl Cred {
    /// The superuser: passes every read, write and search check.
    pub const ROOT: Cred = Cred { euid: 0, egid: 0 };

    /// A process's real ids, as the identity checked (`access`).
    pub fn real(cred: doors::Cred) -> Cred {
        Cred {
            euid: cred.ruid,
            egid: cred.rgid,
        }
    }

    fn is_root(self) -> bool {
        self.euid == 0
    }
}

/// A process's effective ids, the identity checked.
impl From<doors::Cred> for Cred {
    fn from(cred: doors::Cred) -> Cred {
        Cred {
            euid: cred.euid,
            egid: cred.egid,
        }
    }
}

/// Names a node (file, directory, device); its value is the inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u64);

/// Names an open-file description. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfdId(u64);

/// The bounds of a file system.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Pages of file data, all files together.
    pub max_pages: usize,
    /// Nodes, the ones made at creation included.
    pub max_nodes: usize,
    /// Open-file descriptions `open` makes (ENFILE beyond).
    pub max_ofds: usize,
}

/// What a file system holds now (for the kernel's leak check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Pages of file data.
    pub pages: usize,
    /// Nodes, including removed ones still open.
    pub nodes: usize,
    /// Open-file descriptions.
    pub ofds: usize,
    /// Doors attached over paths.
    pub attachments: usize,
}

/// The device number `st_dev` reports for every node.
pub const DEV: u64 = abi::fs::makedev(0, 1);

/// The largest file size and offset (`off_t`'s maximum).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// A RAM file system whose file data lives in pages of `S` and over whose
/// paths doors of type `D` can be attached (the kernel's door handle; the
/// file system only stores and returns it).
pub struct Fs<S: PageStore, D: Copy> {
    store: S,
    nodes: BTreeMap<NodeId, Node<S::Page, D>>,
    ofds: BTreeMap<OfdId, Ofd>,
    limits: Limits,
    /// Pages held by all files.
    pages: usize,
    next_id: u64,
    now: Timespec,
    root: NodeId,
    bin: NodeId,
}

impl<S: PageStore, D: Copy> Fs<S, D> {
    /// The file system as at boot: `/` (0755), `/tmp` (1777), `/dev`
    /// (0755) with `null`, `zero` and `console` (0666), `/bin` (0555), all
    /// owned by root, timestamps at time 0.
    pub fn new(store: S, limits: Limits) -> Self {
        let mut fs = Fs {
            store,
            nodes: BTreeMap::new(),
            ofds: BTreeMap::new(),
            limits,
            pages: 0,
            next_id: 1,
            now: Timespec::default(),
            root: NodeId(1),
            bin: NodeId(1),
        };
        let root = fs.insert_node(Kind::Dir(Dir::new()), 0o755, Cred::ROOT);
        fs.node_mut(root).linked = true;
        fs.root = root;
        fs.make_child(root, b"tmp", Kind::Dir(Dir::new()), 0o1777);
        let dev = fs.make_child(root, b"dev", Kind::Dir(Dir::new()), 0o755);
        for (name, device) in [
            (&b"null"[..], Device::Null),
            (b"zero", Device::Zero),
            (b"console", Device::Console),
        ] {
            fs.make_child(dev, name, Kind::Device(device), 0o666);
        }
        fs.bin = fs.make_child(root, b"bin", Kind::Dir(Dir::new()), 0o555);
        fs.node_mut(fs.bin).read_only = true;
        fs
    }

    /// Puts a member of the boot archive at `/bin/path`: a read-only file
    /// (0555, root's) whose contents are `bytes` themselves (no pages),
    /// in read-only directories (0555) made as its path needs them.
    /// Errors (nothing added): ENAMETOOLONG, EINVAL (an empty, `.` or `..`
    /// component, or a NUL), EEXIST (the path is taken), ENOTDIR (a
    /// component is a file), ENOSPC (node limit).
    pub fn add_boot_file(&mut self, path: &[u8], bytes: &'static [u8]) -> Result<(), Errno> {
        let is_slash = |&b: &u8| b == b'/';
        path.split(is_slash).try_for_each(path::check_name)?;
        let (dirs, name) = match path.iter().rposition(is_slash) {
            Some(slash) => (&path[..slash], &path[slash + 1..]),
            None => (&path[..0], path),
        };
        let dirs = || dirs.split(is_slash).filter(|_| !dirs.is_empty());
        let mut dir = Some(self.bin);
        let mut missing = 0;
        for part in dirs() {
            match dir.and_then(|d| self.dir(d).lookup(part)) {
                Some(next) if self.node(next).as_dir().is_none() => return Err(Errno::ENOTDIR),
                Some(next) => dir = Some(next),
                None => {
                    dir = None;
                    missing += 1;
                }
            }
        }
        if self.nodes.len() + missing >= self.limits.max_nodes {
            let taken = dir.is_some_and(|d| self.dir(d).lookup(name).is_some());
            return Err(if taken { Errno::EEXIST } else { Errno::ENOSPC });
        }
        let mut at = self.bin;
        for part in dirs() {
            at = match self.dir(at).lookup(part) {
                Some(next) => next,
                None => self.make_child(at, part, Kind::Dir(Dir::new()), 0o555),
            };
        }
        // The name is looked for once, as the entry is made (a directory
        // made just now cannot have it; none was made when it is taken).
        let file = self.insert_node(Kind::Boot(bytes), 0o555, Cred::ROOT);
        if !self.try_link(at, name, file) {
            self.nodes.remove(&file);
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    /// Sets the clock that timestamps changes from now on.
    pub fn set_time(&mut self, now: Timespec) {
        self.now = now;
    }

    /// The root directory.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// Counts one more holder of `node` (a current directory): it stays
    /// valid, even once removed, until [`Fs::release_node`].
    pub fn retain_node(&mut self, node: NodeId) {
        self.node_mut(node).refs += 1;
    }

    /// Drops a holder counted by [`Fs::retain_node`] (or returned by
    /// [`Fs::chdir`]); a removed node goes away with its last holder.
    pub fn release_node(&mut self, node: NodeId) {
        self.unref_node(node);
    }

    /// What the file system holds now.
    pub fn usage(&self) -> Usage {
        Usage {
            pages: self.pages,
            nodes: self.nodes.len(),
            ofds: self.ofds.len(),
            attachments: self.nodes.values().filter(|n| n.door.is_some()).count(),
        }
    }

    // Node bookkeeping shared by the submodules.

    fn node(&self, id: NodeId) -> &Node<S::Page, D> {
        self.nodes.get(&id).expect("unknown file system node")
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node<S::Page, D> {
        self.nodes.get_mut(&id).expect("unknown file system node")
    }

    /// The directory `id` (which must be one).
    fn dir(&self, id: NodeId) -> &Dir {
        self.node(id).as_dir().expect("not a directory")
    }

    /// ENOSPC unless one more node fits.
    fn check_node_room(&self) -> Result<(), Errno> {
        if self.nodes.len() >= self.limits.max_nodes {
            Err(Errno::ENOSPC)
        } else {
            Ok(())
        }
    }

    /// ENFILE unless `open` may make one more open-file description.
    fn check_ofd_room(&self) -> Result<(), Errno> {
        if self.ofds.len() >= self.limits.max_ofds {
            Err(Errno::ENFILE)
        } else {
            Ok(())
        }
    }

    /// ENOSPC unless `count` more pages fit.
    fn check_page_room(&self, count: usize) -> Result<(), Errno> {
        match self.pages.checked_add(count) {
            Some(total) if total <= self.limits.max_pages => Ok(()),
            _ => Err(Errno::ENOSPC),
        }
    }

    /// A new unnamed node owned by `owner`.
    fn insert_node(&mut self, kind: Kind<S::Page>, mode: u32, owner: Cred) -> NodeId {
        let id = NodeId(self.next_id);
        self.next_id += 1;
        self.nodes
            .insert(id, Node::new(kind, mode, owner, self.now));
        id
    }

    /// A new node named `name` in `parent` (which has no such entry), owned
    /// by root.
    fn make_child(
        &mut self,
        parent: NodeId,
        name: &[u8],
        kind: Kind<S::Page>,
        mode: u32,
    ) -> NodeId {
        let id = self.insert_node(kind, mode, Cred::ROOT);
        self.link(parent, name, id);
        id
    }

    /// Enters `child` in `parent` as `name` (which must be new) and stamps
    /// the change; `child` is read-only if `parent` is.
    fn link(&mut self, parent: NodeId, name: &[u8], child: NodeId) {
        assert!(
            self.try_link(parent, name, child),
            "directory entry made twice"
        );
    }

    /// [`Fs::link`] unless `parent` has `name` already (false, nothing
    /// changed): the name is looked for once, as the entry is made.
    fn try_link(&mut self, parent: NodeId, name: &[u8], child: NodeId) -> bool {
        let now = self.now;
        let is_dir = self.node(child).as_dir().is_some();
        let parent_node = self.node_mut(parent);
        let read_only = parent_node.read_only;
        let entries = parent_node.as_dir_mut().expect("not a directory");
        if !entries.try_insert(name, child, is_dir) {
            return false;
        }
        parent_node.touch(now);
        let child_node = self.node_mut(child);
        child_node.linked = true;
        child_node.read_only |= read_only;
        if let Some(dir) = child_node.as_dir_mut() {
            dir.set_place(Some(parent), name);
        }
        true
    }

    /// Takes `name` (naming `child`) out of `parent`; `child` goes away now
    /// if nothing holds it.
    fn unlink_entry(&mut self, parent: NodeId, name: &[u8], child: NodeId) {
        let now = self.now;
        let is_dir = self.node(child).as_dir().is_some();
        let parent_node = self.node_mut(parent);
        parent_node
            .as_dir_mut()
            .expect("not a directory")
            .remove(name, is_dir);
        parent_node.touch(now);
        let child_node = self.node_mut(child);
        child_node.linked = false;
        child_node.ctime = now;
        if let Some(dir) = child_node.as_dir_mut() {
            dir.set_place(None, b"");
        }
        self.free_if_unused(child);
    }

    /// Drops one holder of `id`.
    fn unref_node(&mut self, id: NodeId) {
        let node = self.node_mut(id);
        node.refs = node
            .refs
            .checked_sub(1)
            .expect("node released more than retained");
        self.free_if_unused(id);
    }

    /// Frees `id` and its pages if it has neither a name nor a holder.
    fn free_if_unused(&mut self, id: NodeId) {
        let node = self.node(id);
        if node.linked || node.refs > 0 {
            return;
        }
        let node = self.nodes.remove(&id).expect("unknown file system node");
        if let Kind::File(data) = node.kind {
            self.pages -= data.free(&mut self.store);
        }
    }
}
