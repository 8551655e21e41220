//! fattach and fdetach over real paths, with the rules of illumos's namefs
//! (`nm_mount`, `nm_unmount`): a door covers the node a path names, and
//! `open` of any path to that node yields the door until it is detached.
//! The same door may be attached at several paths. Descriptions opened
//! through the path before the door came (or after it went) are not
//! affected. While covered, the node cannot be removed or renamed (EBUSY),
//! and a path cannot go through it (ENOTDIR).
//!
//! The file system only stores the door handle; the kernel checks that
//! the descriptor is a door (EINVAL otherwise) before calling
//! [`Fs::attach`], counts the reference each attachment holds (taken when
//! it succeeds, dropped with the handle [`Fs::detach`] returns) and sees
//! every held handle through [`Fs::attachments`].

use super::{Cred, Fs, NodeId};
use crate::io::PageStore;
use abi::Errno;
use abi::fs::W_OK;

impl<S: PageStore, D: Copy> Fs<S, D> {
    /// `fattach(door, path)`. Errors, in illumos's order: those of paths
    /// (ENOENT, ENOTDIR, EACCES, ENAMETOOLONG), EBUSY (a door is attached
    /// there already, or the path is `/` or `/bin`), EPERM (the caller is
    /// neither the node's owner nor root), EACCES (the owner lacks write
    /// permission on it, as illumos's fattach(3C) says). A removed
    /// directory (a current directory, which `.` still names) is ENOENT:
    /// no name leads to it, and it goes away with its last holder, which
    /// would take the attachment's door reference with it.
    pub fn attach(&mut self, cred: Cred, at: NodeId, path: &[u8], door: D) -> Result<(), Errno> {
        let node = self.resolve(cred, at, path)?;
        if !self.node(node).linked {
            return Err(Errno::ENOENT);
        }
        self.check_not_busy(node)?;
        let entry = self.node(node);
        entry.check_owner(cred)?;
        if !entry.permits(cred, W_OK) {
            return Err(Errno::EACCES);
        }
        self.node_mut(node).door = Some(door);
        Ok(())
    }

    /// `fdetach(path)`: takes the door off and returns it. Errors: those
    /// of paths, EINVAL (no door attached), EPERM (the caller is neither
    /// the covered node's owner nor root).
    pub fn detach(&mut self, cred: Cred, at: NodeId, path: &[u8]) -> Result<D, Errno> {
        let node = self.resolve(cred, at, path)?;
        let entry = self.node(node);
        let door = entry.door.ok_or(Errno::EINVAL)?;
        entry.check_owner(cred)?;
        self.node_mut(node).door = None;
        Ok(door)
    }

    /// The doors attached now, one per attachment.
    pub fn attachments(&self) -> impl Iterator<Item = D> + '_ {
        self.nodes.values().filter_map(|node| node.door)
    }
}
