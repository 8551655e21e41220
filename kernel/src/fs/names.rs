//! Calls on names: `stat`, `access`, `mkdir`, `mknod`, `unlink`, `rmdir`, `rename`,
//! `chmod`, and current directories (`chdir`, `fchdir`, `getcwd`).
//!
//! Removing or renaming needs write and search permission on the
//! directory, and in a sticky directory (`/tmp`) ownership of the entry or
//! the directory (EPERM otherwise). `/` and `/bin` are mount points (EBUSY
//! to remove or rename; everything in `/bin` is EROFS), and so is a path
//! with a door attached (EBUSY). Errors come in Linux's order; where POSIX
//! allows a choice Linux's is taken (EISDIR from `unlink` of a directory,
//! which musl's `remove` relies on; ENOTEMPTY), except that a last
//! component `.` or `..` is EINVAL for `rename` as POSIX and illumos say.

use super::dir::Dir;
use super::file::FileData;
use super::node::Kind;
use super::path::{Last, Path};
use super::{Cred, Fs, NodeId, OfdId};
use crate::io::PageStore;
use abi::Errno;
use abi::fs::{
    F_OK, PATH_MAX, R_OK, S_IALLUGO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK,
    Stat, W_OK, X_OK,
};
use alloc::vec::Vec;

/// What [`Fs::stat`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statted<D> {
    Node(Stat),
    /// A door is attached at the path. As illumos's namefs does, the
    /// kernel reports the door (`S_IFDOOR`, its own size and number) with
    /// the permission bits, owner and times of the covered node, given here.
    Door(D, Stat),
}

impl<S: PageStore, D: Copy> Fs<S, D> {
    /// `stat`. Errors: those of paths.
    pub fn stat(&self, cred: Cred, at: NodeId, path: &[u8]) -> Result<Statted<D>, Errno> {
        let node = self.resolve(cred, at, path)?;
        let entry = self.node(node);
        let stat = entry.stat(node);
        Ok(match entry.door {
            Some(door) => Statted::Door(door, stat),
            None => Statted::Node(stat),
        })
    }

    /// `access`: whether `cred` (the real ids, for `access` itself) may
    /// access `path` as `mode` (`F_OK` or bits of `R_OK`, `W_OK`, `X_OK`)
    /// says. Errors: EINVAL (other bits), those of paths, EROFS, EACCES.
    pub fn access(&self, cred: Cred, at: NodeId, path: &[u8], mode: u32) -> Result<(), Errno> {
        if mode & !(R_OK | W_OK | X_OK) != 0 {
            return Err(Errno::EINVAL);
        }
        let node = self.resolve(cred, at, path)?;
        if mode == F_OK {
            return Ok(());
        }
        self.node(node).check_access(cred, mode)
    }

    /// Where a new entry named by `path` goes: its directory and name.
    /// Errors: those of paths, EEXIST (the name is taken, or `path` names
    /// no new entry: `.`, `..`, `/`).
    fn new_entry<'p>(
        &self,
        cred: Cred,
        at: NodeId,
        path: &Path<'p>,
    ) -> Result<(NodeId, &'p [u8]), Errno> {
        let (dir, last) = self.resolve_parent(cred, at, path)?;
        let Last::Name(name) = last else {
            return Err(Errno::EEXIST);
        };
        if self.dir(dir).lookup(name).is_some() {
            return Err(Errno::EEXIST);
        }
        Ok((dir, name))
    }

    /// `mkdir` (`mode`: umask already applied). Errors: those of paths,
    /// EEXIST, ENOENT (the directory was removed), EROFS, EACCES, ENOSPC.
    pub fn mkdir(&mut self, cred: Cred, at: NodeId, path: &[u8], mode: u32) -> Result<(), Errno> {
        let path = Path::parse(path)?;
        let (dir, name) = self.new_entry(cred, at, &path)?;
        self.check_create(cred, dir)?;
        let node = self.insert_node(Kind::Dir(Dir::new()), mode, cred);
        self.link(dir, name, node);
        Ok(())
    }

    /// `mknod`: a FIFO (`S_IFIFO`) or an empty regular file (`S_IFREG` or
    /// no type) named `path`, with the permission bits of `mode` (umask
    /// already applied), owned by `cred`. Errors, in Linux's order: EINVAL
    /// (an unknown type), EPERM (`S_IFDIR`: `mkdir` makes directories),
    /// those of paths, EEXIST, ENOENT (a trailing slash, or the directory
    /// was removed), EROFS, EACCES, ENOSPC, then EPERM for device and
    /// socket nodes (`S_IFCHR`, `S_IFBLK`, `S_IFSOCK`), which this file
    /// system cannot hold, whoever asks.
    pub fn mknod(&mut self, cred: Cred, at: NodeId, path: &[u8], mode: u32) -> Result<(), Errno> {
        let file_type = mode & S_IFMT;
        let kind = match file_type {
            0 | S_IFREG => Some(Kind::File(FileData::new())),
            S_IFIFO => Some(Kind::Fifo(None)),
            S_IFCHR | S_IFBLK | S_IFSOCK => None,
            S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let path = Path::parse(path)?;
        let (dir, name) = self.new_entry(cred, at, &path)?;
        if path.trailing_slash() {
            return Err(Errno::ENOENT);
        }
        self.check_create(cred, dir)?;
        let kind = kind.ok_or(Errno::EPERM)?;
        let node = self.insert_node(kind, mode & S_IALLUGO, cred);
        self.link(dir, name, node);
        Ok(())
    }

    /// `unlink` of a file (or device). Errors: those of paths, EISDIR (a
    /// directory, or `.`/`..`/`/`), ENOTDIR (a trailing slash), EROFS,
    /// EACCES, EPERM (sticky), EBUSY (a door is attached).
    pub fn unlink(&mut self, cred: Cred, at: NodeId, path: &[u8]) -> Result<(), Errno> {
        let path = Path::parse(path)?;
        let (dir, last) = self.resolve_parent(cred, at, &path)?;
        let Last::Name(name) = last else {
            return Err(Errno::EISDIR);
        };
        let node = self.lookup_last(dir, last)?;
        let is_dir = self.node(node).as_dir().is_some();
        if path.trailing_slash() {
            return Err(if is_dir {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        self.check_remove(cred, dir, node)?;
        if is_dir {
            return Err(Errno::EISDIR);
        }
        self.check_not_busy(node)?;
        self.unlink_entry(dir, name, node);
        Ok(())
    }

    /// `rmdir`. Errors: those of paths, EINVAL (last component `.`),
    /// ENOTEMPTY (`..`), EBUSY (`/`, `/bin`, a door attached), ENOTDIR,
    /// EROFS, EACCES, EPERM (sticky), ENOTEMPTY. A removed directory that
    /// is some process's current directory stays valid, empty, until
    /// released.
    pub fn rmdir(&mut self, cred: Cred, at: NodeId, path: &[u8]) -> Result<(), Errno> {
        let path = Path::parse(path)?;
        let (dir, last) = self.resolve_parent(cred, at, &path)?;
        let name = match last {
            Last::Name(name) => name,
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
            Last::Root => return Err(Errno::EBUSY),
        };
        let node = self.lookup_last(dir, last)?;
        self.check_remove(cred, dir, node)?;
        let victim = self.node(node).as_dir().ok_or(Errno::ENOTDIR)?;
        self.check_not_busy(node)?;
        if !victim.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.unlink_entry(dir, name, node);
        Ok(())
    }

    /// `rename(from, to)`, each relative to its own directory: moves a file
    /// or directory, replacing what `to` names (a file by a file, an empty
    /// directory by a directory). Renaming a node onto itself does nothing.
    /// Errors: those of paths, EINVAL (`.`/`..` as a last component),
    /// EBUSY (`/` as one), ENOENT, ENOTDIR (a trailing slash on a
    /// non-directory), EINVAL (a directory moved under itself), EBUSY
    /// (`/bin`, or a door attached at either path), EROFS, EACCES
    /// (including a directory moved to another parent without write
    /// permission on it), EPERM (sticky), ENOTDIR/EISDIR (a directory and
    /// a non-directory), ENOTEMPTY.
    pub fn rename(
        &mut self,
        cred: Cred,
        from_at: NodeId,
        from: &[u8],
        to_at: NodeId,
        to: &[u8],
    ) -> Result<(), Errno> {
        let (from, to) = (Path::parse(from)?, Path::parse(to)?);
        let (from_dir, from_last) = self.resolve_parent(cred, from_at, &from)?;
        let (to_dir, to_last) = self.resolve_parent(cred, to_at, &to)?;
        let (from_name, to_name) = match (from_last, to_last) {
            (Last::Name(a), Last::Name(b)) => (a, b),
            (Last::Root, _) | (_, Last::Root) => return Err(Errno::EBUSY),
            _ => return Err(Errno::EINVAL),
        };
        let node = self.lookup_last(from_dir, from_last)?;
        let is_dir = self.node(node).as_dir().is_some();
        if !is_dir && (from.trailing_slash() || to.trailing_slash()) {
            return Err(Errno::ENOTDIR);
        }
        let target = self.dir(to_dir).lookup(to_name);
        if target == Some(node) {
            return Ok(());
        }
        if is_dir && self.is_within(to_dir, node) {
            return Err(Errno::EINVAL);
        }
        self.check_not_busy(node)?;
        if let Some(target) = target {
            self.check_not_busy(target)?;
        }
        self.check_remove(cred, from_dir, node)?;
        match target {
            Some(target) => {
                self.check_remove(cred, to_dir, target)?;
                match (is_dir, self.node(target).as_dir().is_some()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    _ => {}
                }
            }
            None => {
                let dir = self.node(to_dir);
                if !dir.linked {
                    return Err(Errno::ENOENT);
                }
                dir.check_access(cred, W_OK | X_OK)?;
            }
        }
        if is_dir && from_dir != to_dir {
            self.node(node).check_access(cred, W_OK)?;
        }
        if let Some(target) = target {
            if self
                .node(target)
                .as_dir()
                .is_some_and(|dir| !dir.is_empty())
            {
                return Err(Errno::ENOTEMPTY);
            }
            self.unlink_entry(to_dir, to_name, target);
        }
        let now = self.now;
        let source_dir = self.node_mut(from_dir);
        source_dir
            .as_dir_mut()
            .expect("not a directory")
            .remove(from_name, is_dir);
        source_dir.touch(now);
        self.link(to_dir, to_name, node);
        self.node_mut(node).ctime = now;
        Ok(())
    }

    /// `chmod`: sets the permission, set-id and sticky bits of `mode`.
    /// Errors: those of paths, EROFS, EPERM (not the owner or root).
    pub fn chmod(&mut self, cred: Cred, at: NodeId, path: &[u8], mode: u32) -> Result<(), Errno> {
        let node = self.resolve(cred, at, path)?;
        self.chmod_node(cred, node, mode)
    }

    pub(super) fn chmod_node(&mut self, cred: Cred, node: NodeId, mode: u32) -> Result<(), Errno> {
        let entry = self.node(node);
        if entry.read_only {
            return Err(Errno::EROFS);
        }
        entry.check_owner(cred)?;
        let now = self.now;
        let entry = self.node_mut(node);
        entry.mode = mode & abi::fs::S_IALLUGO;
        entry.ctime = now;
        Ok(())
    }

    /// `chdir`: the directory at `path`, retained for the caller (who
    /// releases its old one). Errors: those of paths, ENOTDIR (also when a
    /// door covers it), EACCES (no search permission).
    pub fn chdir(&mut self, cred: Cred, at: NodeId, path: &[u8]) -> Result<NodeId, Errno> {
        let node = self.resolve(cred, at, path)?;
        self.node(node).walkable_dir()?;
        self.enter(cred, node)
    }

    /// `fchdir`: the directory `ofd` opened (covered by a door since or
    /// not), retained as by [`Fs::chdir`]. Errors: ENOTDIR, EACCES.
    pub fn fchdir(&mut self, cred: Cred, ofd: OfdId) -> Result<NodeId, Errno> {
        let node = self.ofd_dir(ofd)?;
        self.enter(cred, node)
    }

    fn enter(&mut self, cred: Cred, node: NodeId) -> Result<NodeId, Errno> {
        self.check_search(cred, node)?;
        self.retain_node(node);
        Ok(node)
    }

    /// `getcwd`: the absolute path of directory `dir`. Errors: ENOENT (it
    /// or a directory above it was removed), ENAMETOOLONG (PATH_MAX or
    /// more bytes).
    pub fn getcwd(&self, dir: NodeId) -> Result<Vec<u8>, Errno> {
        let mut names = Vec::new();
        let mut at = dir;
        while at != self.root {
            let node = self.node(at);
            if !node.linked {
                return Err(Errno::ENOENT);
            }
            let entry = node.as_dir().expect("a current directory is a directory");
            names.push(entry.name());
            at = entry.parent().expect("a named directory has a parent");
        }
        let len = names
            .iter()
            .map(|name| name.len() + 1)
            .sum::<usize>()
            .max(1);
        if len >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut path = Vec::with_capacity(len);
        for name in names.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        Ok(path)
    }

    /// Whether `cred` may take `node` out of directory `dir`: EROFS,
    /// EACCES, EPERM (sticky).
    fn check_remove(&self, cred: Cred, dir: NodeId, node: NodeId) -> Result<(), Errno> {
        let parent = self.node(dir);
        parent.check_access(cred, W_OK | X_OK)?;
        parent.check_sticky(cred, self.node(node))
    }

    /// EBUSY for a mount point (`/`, `/bin`) or a node with a door attached.
    pub(super) fn check_not_busy(&self, node: NodeId) -> Result<(), Errno> {
        if node == self.root || node == self.bin || self.node(node).door.is_some() {
            Err(Errno::EBUSY)
        } else {
            Ok(())
        }
    }

    /// Whether directory `dir` is `ancestor` or below it.
    fn is_within(&self, dir: NodeId, ancestor: NodeId) -> bool {
        let mut at = Some(dir);
        while let Some(node) = at {
            if node == ancestor {
                return true;
            }
            at = self.dir(node).parent();
        }
        false
    }
}
