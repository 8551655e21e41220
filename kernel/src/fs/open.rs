//! `open` (with creation and truncation) and finding a program to spawn.
//!
//! Open rules, checked in Linux's order: flags (EINVAL), room for one more
//! open-file description (ENFILE, even for a door), the path (ENOENT,
//! ENOTDIR, EACCES, ENAMETOOLONG), then for an existing node EEXIST
//! (`O_CREAT|O_EXCL`), EISDIR (a directory with write access, `O_TRUNC` or
//! `O_CREAT`), ENOTDIR (`O_DIRECTORY` or a trailing slash on something
//! else), EROFS, EACCES; for a new file ENOENT (no `O_CREAT`, or the
//! directory was removed), EISDIR (trailing slash), EROFS, EACCES (no
//! write permission on the directory), ENOSPC (node limit). `O_TRUNC`
//! needs write permission even with `O_RDONLY` (and then truncates, as
//! Linux does). A new file is opened with the access asked for whatever
//! its mode says. `O_CREAT|O_DIRECTORY` is EINVAL (as Linux since 6.4).
//!
//! A path with a door attached opens the door, after the access asked
//! for is checked against the covered node's owner and mode (so the
//! covered file's permissions say who may open the door, as with
//! illumos's namefs); `O_CREAT`, `O_TRUNC` and the rest do nothing to it.
//!
//! A FIFO opens as a description like a file's (its access checked the
//! same way; `O_TRUNC` does nothing to it, as Linux); waiting for the
//! other side and the pipe its openers share are the capability layer's.

use super::file::FileData;
use super::node::Kind;
use super::path::{Last, Path};
use super::{Cred, Device, Fs, NodeId, OfdId};
use crate::io::PageStore;
use abi::Errno;
use abi::fs::{
    O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_TRUNC, O_VALID, O_WRONLY, R_OK, W_OK, X_OK,
};

/// What [`Fs::open`] opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened<D> {
    /// A regular file (also a program in `/bin`).
    File(OfdId),
    /// A directory (only ever open for reading).
    Dir(OfdId),
    /// A device.
    Device(OfdId, Device),
    /// A FIFO (its pipe: [`Fs::fifo_pipe`]).
    Fifo(OfdId),
    /// The door attached at the path (no description is made).
    Door(D),
}

/// A program [`Fs::executable`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Executable {
    /// A program of the boot image: its bytes.
    Boot(&'static [u8]),
    /// A regular file, opened for reading for the kernel to load (it
    /// releases the description when done).
    File(OfdId),
}

/// EINVAL unless `open` accepts `flags`: only known bits, a valid access
/// mode, and not `O_CREAT` with `O_DIRECTORY`.
pub fn check_open_flags(flags: u32) -> Result<(), Errno> {
    if flags & !O_VALID != 0
        || flags & O_ACCMODE == O_ACCMODE
        || flags & O_CREAT != 0 && flags & O_DIRECTORY != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl<S: PageStore, D: Copy> Fs<S, D> {
    /// `open(path, flags, mode)` relative to `at`; `mode` (umask already
    /// applied) is used when the file is created. Errors: see the module
    /// documentation.
    pub fn open(
        &mut self,
        cred: Cred,
        at: NodeId,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<Opened<D>, Errno> {
        check_open_flags(flags)?;
        self.check_ofd_room()?;
        let creat = flags & O_CREAT != 0;
        let path = Path::parse(path)?;
        let (dir, last) = self.resolve_parent(cred, at, &path)?;
        let existing = match last {
            Last::Name(name) => self.dir(dir).lookup(name),
            other => Some(self.lookup_last(dir, other)?),
        };
        match (existing, last) {
            (Some(node), _) => {
                if creat && flags & O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                self.open_node(cred, node, flags, path.trailing_slash())
            }
            (None, Last::Name(name)) => {
                if !creat {
                    return Err(Errno::ENOENT);
                }
                if path.trailing_slash() {
                    return Err(Errno::EISDIR);
                }
                self.check_create(cred, dir)?;
                let node = self.insert_node(Kind::File(FileData::new()), mode, cred);
                self.link(dir, name, node);
                Ok(Opened::File(self.new_ofd(node, flags)))
            }
            (None, _) => unreachable!("only a name can be missing"),
        }
    }

    /// Whether `cred` may make an entry in directory `dir`: ENOENT (the
    /// directory was removed), EROFS, EACCES, ENOSPC (node limit).
    pub(super) fn check_create(&self, cred: Cred, dir: NodeId) -> Result<(), Errno> {
        let node = self.node(dir);
        if !node.linked {
            return Err(Errno::ENOENT);
        }
        node.check_access(cred, W_OK | X_OK)?;
        self.check_node_room()
    }

    /// Opens the existing `node` (see the module documentation).
    fn open_node(
        &mut self,
        cred: Cred,
        node: NodeId,
        flags: u32,
        must_be_dir: bool,
    ) -> Result<Opened<D>, Errno> {
        let entry = self.node(node);
        let truncate = flags & O_TRUNC != 0;
        let want = match flags & O_ACCMODE {
            O_RDONLY => R_OK,
            O_WRONLY => W_OK,
            _ => R_OK | W_OK,
        } | if truncate { W_OK } else { 0 };
        if let Some(door) = entry.door {
            if flags & O_DIRECTORY != 0 || must_be_dir {
                return Err(Errno::ENOTDIR);
            }
            return if entry.permits(cred, want) {
                Ok(Opened::Door(door))
            } else {
                Err(Errno::EACCES)
            };
        }
        match entry.kind {
            Kind::Dir(_) => {
                if want & W_OK != 0 || flags & O_CREAT != 0 {
                    return Err(Errno::EISDIR);
                }
                entry.check_access(cred, want)?;
                Ok(Opened::Dir(self.new_ofd(node, flags)))
            }
            _ if flags & O_DIRECTORY != 0 || must_be_dir => Err(Errno::ENOTDIR),
            Kind::Device(device) => {
                entry.check_access(cred, want)?;
                Ok(Opened::Device(self.new_ofd(node, flags), device))
            }
            Kind::Fifo(_) => {
                entry.check_access(cred, want)?;
                Ok(Opened::Fifo(self.new_ofd(node, flags)))
            }
            Kind::File(_) | Kind::Boot(_) => {
                entry.check_access(cred, want)?;
                if truncate && matches!(entry.kind, Kind::File(_)) {
                    self.truncate_node(node, 0);
                }
                Ok(Opened::File(self.new_ofd(node, flags)))
            }
        }
    }

    /// The program at `path`, for spawning it: it must be a regular file
    /// the caller may execute (root too needs an execute bit). Errors: those
    /// of paths, EACCES (not a regular file, a door attached, or no execute
    /// permission).
    pub fn executable(&mut self, cred: Cred, at: NodeId, path: &[u8]) -> Result<Executable, Errno> {
        let node = self.resolve(cred, at, path)?;
        let entry = self.node(node);
        if entry.door.is_some() || !entry.permits(cred, X_OK) {
            return Err(Errno::EACCES);
        }
        match entry.kind {
            Kind::Boot(bytes) => Ok(Executable::Boot(bytes)),
            Kind::File(_) => Ok(Executable::File(self.new_ofd(node, O_RDONLY))),
            Kind::Dir(_) | Kind::Device(_) | Kind::Fifo(_) => Err(Errno::EACCES),
        }
    }
}
