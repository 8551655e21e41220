//! A node: what a name stands for (directory, regular file, boot program,
//! device, FIFO), with its owner, permission bits, timestamps, holders, and the
//! door attached over it; the permission check of POSIX.

use super::dir::Dir;
use super::file::FileData;
use super::{Cred, DEV, NodeId};
use crate::io::PAGE_SIZE;
use crate::pipe::PipeId;
use abi::Errno;
use abi::fs::{
    DT_CHR, DT_DIR, DT_FIFO, DT_REG, S_IALLUGO, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_ISVTX, Stat,
    Timespec, W_OK, X_OK, makedev,
};

/// The devices under `/dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Device {
    /// Reads give end of file; writes are discarded.
    Null,
    /// Reads give zeros; writes are discarded.
    Zero,
    /// The serial console: the kernel writes it; reads give end of file.
    Console,
}

impl Device {
    /// Its Linux device number (`st_rdev`).
    fn rdev(self) -> u64 {
        match self {
            Device::Null => makedev(1, 3),
            Device::Zero => makedev(1, 5),
            Device::Console => makedev(5, 1),
        }
    }
}

pub(super) enum Kind<P> {
    Dir(Dir),
    File(FileData<P>),
    /// A program of the boot image: its bytes, never changed.
    Boot(&'static [u8]),
    Device(Device),
    /// A named pipe (`mknod`): the pipe its openers share while any end
    /// of it is open, which the capability layer makes and forgets.
    Fifo(Option<PipeId>),
}

pub(super) struct Node<P, D> {
    pub kind: Kind<P>,
    /// Permission, set-id and sticky bits ([`S_IALLUGO`]).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Whether a directory entry names it (the root always counts as named).
    pub linked: bool,
    /// Open-file descriptions and current directories that hold it.
    pub refs: u32,
    /// In `/bin`: nothing about it may change (EROFS).
    pub read_only: bool,
    /// The door attached over it (fattach), which `open` yields instead.
    pub door: Option<D>,
    pub created: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl<P, D> Node<P, D> {
    pub fn new(kind: Kind<P>, mode: u32, owner: Cred, now: Timespec) -> Self {
        Node {
            kind,
            mode: mode & S_IALLUGO,
            uid: owner.euid,
            gid: owner.egid,
            linked: false,
            refs: 0,
            read_only: false,
            door: None,
            created: now,
            mtime: now,
            ctime: now,
        }
    }

    pub fn as_dir(&self) -> Option<&Dir> {
        match &self.kind {
            Kind::Dir(dir) => Some(dir),
            _ => None,
        }
    }

    pub fn as_dir_mut(&mut self) -> Option<&mut Dir> {
        match &mut self.kind {
            Kind::Dir(dir) => Some(dir),
            _ => None,
        }
    }

    /// The directory a path names when it must name one (trailing slash,
    /// `chdir`): ENOTDIR if this is not a directory or a door covers it.
    pub fn walkable_dir(&self) -> Result<&Dir, Errno> {
        match (&self.kind, &self.door) {
            (Kind::Dir(dir), None) => Ok(dir),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Marks its contents changed.
    pub fn touch(&mut self, now: Timespec) {
        self.mtime = now;
        self.ctime = now;
    }

    /// Whether `cred` may access it as `want` says (bits of R_OK, W_OK,
    /// X_OK): the owner's, group's or others' bits, whichever class the
    /// caller is in first. Root may read and write anything and search
    /// any directory, but executes a file only if some execute bit is set.
    pub fn permits(&self, cred: Cred, want: u32) -> bool {
        if cred.is_root() {
            return want & X_OK == 0 || self.as_dir().is_some() || self.mode & 0o111 != 0;
        }
        let bits = if cred.euid == self.uid {
            self.mode >> 6
        } else if cred.egid == self.gid {
            self.mode >> 3
        } else {
            self.mode
        };
        bits & want == want
    }

    /// [`Node::permits`] as an error: EROFS for writing a read-only node
    /// (checked first, as Linux does), EACCES.
    pub fn check_access(&self, cred: Cred, want: u32) -> Result<(), Errno> {
        if want & W_OK != 0 && self.read_only {
            return Err(Errno::EROFS);
        }
        if self.permits(cred, want) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// EPERM unless `cred` owns it or is root (chmod, fattach, fdetach).
    pub fn check_owner(&self, cred: Cred) -> Result<(), Errno> {
        if cred.is_root() || cred.euid == self.uid {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// The sticky-directory rule for removing or renaming `child` out of
    /// this directory: EPERM unless the directory is not sticky, or `cred`
    /// is root or owns the directory or the child.
    pub fn check_sticky(&self, cred: Cred, child: &Self) -> Result<(), Errno> {
        let sticky = self.mode & S_ISVTX != 0;
        if !sticky || cred.is_root() || cred.euid == self.uid || cred.euid == child.uid {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// The `getdents64` type of its entries.
    pub fn d_type(&self) -> u8 {
        match self.kind {
            Kind::Dir(_) => DT_DIR,
            Kind::File(_) | Kind::Boot(_) => DT_REG,
            Kind::Device(_) => DT_CHR,
            Kind::Fifo(_) => DT_FIFO,
        }
    }

    /// Its `stat`, as node `id`.
    pub fn stat(&self, id: NodeId) -> Stat {
        let (file_type, size, pages, nlink, rdev) = match &self.kind {
            Kind::Dir(dir) => (
                S_IFDIR,
                dir.len() as u64,
                0,
                2 + u64::from(dir.subdirs()),
                0,
            ),
            Kind::File(data) => (S_IFREG, data.size(), data.pages_held(), 1, 0),
            Kind::Boot(bytes) => (S_IFREG, bytes.len() as u64, 0, 1, 0),
            Kind::Device(device) => (S_IFCHR, 0, 0, 1, device.rdev()),
            Kind::Fifo(_) => (S_IFIFO, 0, 0, 1, 0),
        };
        let stamp = |t: Timespec| (t.tv_sec, t.tv_nsec);
        let (atime, atime_nsec) = stamp(self.created);
        let (mtime, mtime_nsec) = stamp(self.mtime);
        let (ctime, ctime_nsec) = stamp(self.ctime);
        Stat {
            st_dev: DEV,
            st_ino: id.0,
            st_nlink: if self.linked { nlink } else { 0 },
            st_mode: file_type | self.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            st_rdev: rdev,
            st_size: size as i64,
            st_blksize: PAGE_SIZE as i64,
            st_blocks: (pages * PAGE_SIZE / 512) as i64,
            st_atime: atime,
            st_atime_nsec: atime_nsec,
            st_mtime: mtime,
            st_mtime_nsec: mtime_nsec,
            st_ctime: ctime,
            st_ctime_nsec: ctime_nsec,
            st_reserved: [0; 3],
        }
    }
}
