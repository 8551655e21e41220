//! Open-file descriptions: what `open` makes and descriptors name. Each
//! holds a node, an offset (for a directory: the `getdents64` cookie), the
//! access mode and the status flags `O_APPEND` and `O_NONBLOCK`, and
//! counts the descriptors that share it (dup, passing through a door,
//! inheritance). Reads and writes of regular files move the shared offset;
//! `pread`/`pwrite` do not (and `pwrite` writes at its offset even with
//! `O_APPEND`, as POSIX and illumos say; Linux appends). A FIFO's
//! description holds its node and flags; its bytes go through the pipe
//! the node remembers ([`Fs::fifo_pipe`]), so the calls here that move
//! bytes or offsets refuse it (ESPIPE).

use super::file::ZEROS;
use super::node::Kind;
use super::{Cred, Device, Fs, MAX_OFFSET, NodeId, OfdId, dir};
use crate::io::{PAGE_SIZE, PageStore, Sink, Source};
use crate::pipe::PipeId;
use abi::Errno;
use abi::fs::{
    Dirent64Head, NAME_MAX, O_ACCMODE, O_APPEND, O_RDONLY, O_SETFL_MASK, O_WRONLY, SEEK_CUR,
    SEEK_END, SEEK_SET, Stat, dirent64_reclen, encode_dirent64,
};
use alloc::vec::Vec;

pub(super) struct Ofd {
    pub node: NodeId,
    pub offset: u64,
    /// The access mode and the status flags ([`O_ACCMODE`] |
    /// [`O_SETFL_MASK`] bits).
    pub flags: u32,
    /// Descriptors that name it.
    pub refs: u32,
}

impl Ofd {
    fn readable(&self) -> bool {
        self.flags & O_ACCMODE != O_WRONLY
    }

    fn writable(&self) -> bool {
        self.flags & O_ACCMODE != O_RDONLY
    }
}

/// What [`Fs::write`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Wrote this many bytes.
    Bytes(usize),
    /// The description is the console, open for writing: the kernel writes
    /// the source's bytes to it.
    Console,
}

impl<S: PageStore, D: Copy> Fs<S, D> {
    fn ofd(&self, id: OfdId) -> &Ofd {
        self.ofds.get(&id).expect("unknown open-file description")
    }

    fn ofd_mut(&mut self, id: OfdId) -> &mut Ofd {
        self.ofds
            .get_mut(&id)
            .expect("unknown open-file description")
    }

    /// A new description of `node` with one reference.
    pub(super) fn new_ofd(&mut self, node: NodeId, flags: u32) -> OfdId {
        let id = OfdId(self.next_id);
        self.next_id += 1;
        self.node_mut(node).refs += 1;
        let ofd = Ofd {
            node,
            offset: 0,
            flags: flags & (O_ACCMODE | O_SETFL_MASK),
            refs: 1,
        };
        self.ofds.insert(id, ofd);
        id
    }

    /// Counts one more descriptor naming `ofd`.
    pub fn retain(&mut self, ofd: OfdId) {
        self.ofd_mut(ofd).refs += 1;
    }

    /// Drops one descriptor naming `ofd`; the last one closes it (and an
    /// unlinked file goes away with its last description).
    pub fn release(&mut self, ofd: OfdId) {
        let entry = self.ofd_mut(ofd);
        entry.refs -= 1;
        if entry.refs == 0 {
            let node = self
                .ofds
                .remove(&ofd)
                .expect("unknown open-file description")
                .node;
            self.unref_node(node);
        }
    }

    /// The access mode and status flags (`fcntl(F_GETFL)`).
    pub fn status_flags(&self, ofd: OfdId) -> u32 {
        self.ofd(ofd).flags
    }

    /// Sets `O_APPEND` and `O_NONBLOCK` as `flags` has them; other bits are
    /// ignored, as Linux's `fcntl(F_SETFL)` does.
    pub fn set_status_flags(&mut self, ofd: OfdId, flags: u32) {
        let entry = self.ofd_mut(ofd);
        entry.flags = entry.flags & !O_SETFL_MASK | flags & O_SETFL_MASK;
    }

    /// The pipe the FIFO that `ofd` opened shares among its openers, if
    /// it has one now (see [`Fs::set_fifo_pipe`]).
    pub fn fifo_pipe(&self, ofd: OfdId) -> Option<PipeId> {
        match self.node(self.ofd(ofd).node).kind {
            Kind::Fifo(pipe) => pipe,
            _ => None,
        }
    }

    /// Makes the FIFO that `ofd` opened remember `pipe` (the capability
    /// layer's, made at the first open of an end) or forget it (`None`,
    /// once every end is closed).
    pub fn set_fifo_pipe(&mut self, ofd: OfdId, pipe: Option<PipeId>) {
        let node = self.ofd(ofd).node;
        match &mut self.node_mut(node).kind {
            Kind::Fifo(held) => *held = pipe,
            _ => panic!("not a FIFO"),
        }
    }

    /// The directory `ofd` opened (for `openat`-style calls and `fchdir`):
    /// ENOTDIR if it is not one.
    pub fn ofd_dir(&self, ofd: OfdId) -> Result<NodeId, Errno> {
        let node = self.ofd(ofd).node;
        self.node(node).as_dir().map(|_| node).ok_or(Errno::ENOTDIR)
    }

    /// `read`: from the shared offset, which moves past the bytes read.
    /// Errors: EBADF (not open for reading), EISDIR. 0 is end of file.
    pub fn read(&mut self, ofd: OfdId, sink: &mut impl Sink) -> Result<usize, Errno> {
        let entry = self.ofd(ofd);
        if !entry.readable() {
            return Err(Errno::EBADF);
        }
        let (node, offset) = (entry.node, entry.offset);
        let n = self.read_at(node, offset, sink)?;
        if self.seekable(node) {
            self.ofd_mut(ofd).offset = offset + n as u64;
        }
        Ok(n)
    }

    /// `pread`: at `offset`; the shared offset stays. Errors: EBADF,
    /// EISDIR, EINVAL (negative offset), ESPIPE (the console).
    pub fn pread(&self, ofd: OfdId, offset: i64, sink: &mut impl Sink) -> Result<usize, Errno> {
        let entry = self.ofd(ofd);
        if !entry.readable() {
            return Err(Errno::EBADF);
        }
        let offset = self.positioned(entry.node, offset)?;
        self.read_at(entry.node, offset, sink)
    }

    /// `write`: at the shared offset (at the end with `O_APPEND`), which
    /// moves past the bytes written. All of the source is written, or
    /// nothing. Errors: EBADF (not open for writing), ENOSPC (page limit),
    /// EFBIG (at the largest offset).
    pub fn write(&mut self, ofd: OfdId, source: &mut impl Source) -> Result<Written, Errno> {
        let entry = self.ofd(ofd);
        if !entry.writable() {
            return Err(Errno::EBADF);
        }
        let (node, append) = (entry.node, entry.flags & O_APPEND != 0);
        if let Kind::Device(Device::Console) = self.node(node).kind {
            return Ok(Written::Console);
        }
        let offset = match &self.node(node).kind {
            Kind::File(data) if append => data.size(),
            _ => entry.offset,
        };
        let n = self.write_at(node, offset, source)?;
        if self.seekable(node) {
            self.ofd_mut(ofd).offset = offset + n as u64;
        }
        Ok(Written::Bytes(n))
    }

    /// `pwrite`: at `offset`, whatever `O_APPEND` says; the shared offset
    /// stays. Errors: those of [`Fs::write`], EINVAL (negative offset),
    /// ESPIPE (the console).
    pub fn pwrite(
        &mut self,
        ofd: OfdId,
        offset: i64,
        source: &mut impl Source,
    ) -> Result<usize, Errno> {
        let entry = self.ofd(ofd);
        if !entry.writable() {
            return Err(Errno::EBADF);
        }
        let node = entry.node;
        let offset = self.positioned(node, offset)?;
        self.write_at(node, offset, source)
    }

    /// `lseek`: returns the new offset. Regular files: from the start, the
    /// offset or the end; EINVAL for another `whence` or a result below 0
    /// or above `i64::MAX`. Directories: `SEEK_SET` to a cookie a listing
    /// returned (0: the start) or `SEEK_CUR`. `/dev/null` and `/dev/zero`
    /// stay at 0 (as Linux); the console: ESPIPE.
    pub fn lseek(&mut self, ofd: OfdId, offset: i64, whence: u32) -> Result<u64, Errno> {
        let entry = self.ofd(ofd);
        let end = match &self.node(entry.node).kind {
            Kind::File(data) => Some(data.size()),
            Kind::Boot(bytes) => Some(bytes.len() as u64),
            Kind::Dir(_) => None,
            Kind::Device(Device::Console) | Kind::Fifo(_) => return Err(Errno::ESPIPE),
            Kind::Device(_) => {
                return match whence {
                    SEEK_SET | SEEK_CUR | SEEK_END => Ok(0),
                    _ => Err(Errno::EINVAL),
                };
            }
        };
        let base = match (whence, end) {
            (SEEK_SET, _) => 0,
            (SEEK_CUR, _) => entry.offset,
            (SEEK_END, Some(end)) => end,
            _ => return Err(Errno::EINVAL),
        };
        let target = i64::try_from(base)
            .ok()
            .and_then(|base| base.checked_add(offset))
            .and_then(|t| u64::try_from(t).ok())
            .ok_or(Errno::EINVAL)?;
        self.ofd_mut(ofd).offset = target;
        Ok(target)
    }

    /// `ftruncate`: sets the size of the regular file to `len`, dropping
    /// the pages beyond it (a larger size adds a hole). Errors: EINVAL
    /// (negative length, not a regular file, or not open for writing, as
    /// Linux says).
    pub fn truncate(&mut self, ofd: OfdId, len: i64) -> Result<(), Errno> {
        let entry = self.ofd(ofd);
        let node = entry.node;
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        if !entry.writable() || !matches!(self.node(node).kind, Kind::File(_)) {
            return Err(Errno::EINVAL);
        }
        self.truncate_node(node, len);
        Ok(())
    }

    /// `fstat`.
    pub fn fstat(&self, ofd: OfdId) -> Stat {
        let node = self.ofd(ofd).node;
        self.node(node).stat(node)
    }

    /// `fchmod`: sets the permission, set-id and sticky bits of `mode`.
    /// Errors: EROFS, EPERM (not the owner or root).
    pub fn fchmod(&mut self, cred: Cred, ofd: OfdId, mode: u32) -> Result<(), Errno> {
        let node = self.ofd(ofd).node;
        self.chmod_node(cred, node, mode)
    }

    /// `getdents64`: as many `linux_dirent64` records as `sink` takes,
    /// from the description's cookie on (`.` and `..` first); returns the
    /// bytes written, 0 at the end. Errors: ENOTDIR, EINVAL (`sink` too
    /// small for the next record), ENOENT (the directory was removed).
    pub fn getdents(&mut self, ofd: OfdId, sink: &mut impl Sink) -> Result<usize, Errno> {
        let entry = self.ofd(ofd);
        let (id, start) = (entry.node, entry.offset);
        let node = self.node(id);
        let dir = node.as_dir().ok_or(Errno::ENOTDIR)?;
        if !node.linked {
            return Err(Errno::ENOENT);
        }
        let parent = self.dotdot(id)?;
        let dots = [(dir::DOT, &b"."[..], id), (dir::DOTDOT, b"..", parent)];
        let entries = dots
            .into_iter()
            .filter(|&(c, _, _)| c > start)
            .chain(dir.entries_after(start));
        let mut record = [0u8; dirent64_reclen(NAME_MAX)];
        let (mut written, mut cookie) = (0, start);
        for (next, name, child) in entries {
            let head = Dirent64Head {
                d_ino: child.0,
                d_off: next as i64,
                d_reclen: 0,
                d_type: self.node(child).d_type(),
            };
            let len = encode_dirent64(&mut record, head, name).expect("record buffer too small");
            if len > sink.remaining() {
                if written == 0 {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            sink.put(&record[..len]);
            written += len;
            cookie = next;
        }
        self.ofd_mut(ofd).offset = cookie;
        Ok(written)
    }

    /// Whether reads and writes move a description's offset (regular files).
    fn seekable(&self, node: NodeId) -> bool {
        matches!(self.node(node).kind, Kind::File(_) | Kind::Boot(_))
    }

    /// A positioned call's offset: EINVAL if negative, ESPIPE on the
    /// console.
    fn positioned(&self, node: NodeId, offset: i64) -> Result<u64, Errno> {
        if let Kind::Device(Device::Console) | Kind::Fifo(_) = self.node(node).kind {
            return Err(Errno::ESPIPE);
        }
        u64::try_from(offset).map_err(|_| Errno::EINVAL)
    }

    fn read_at(&self, node: NodeId, offset: u64, sink: &mut impl Sink) -> Result<usize, Errno> {
        Ok(match &self.node(node).kind {
            Kind::Dir(_) => return Err(Errno::EISDIR),
            Kind::File(data) => data.read(&self.store, offset, sink),
            Kind::Boot(bytes) => {
                let start = bytes
                    .len()
                    .min(usize::try_from(offset).unwrap_or(usize::MAX));
                let chunk = &bytes[start..][..sink.remaining().min(bytes.len() - start)];
                sink.put(chunk);
                chunk.len()
            }
            Kind::Device(Device::Zero) => {
                let n = sink.remaining();
                let mut left = n;
                while left > 0 {
                    let chunk = left.min(PAGE_SIZE);
                    sink.put(&ZEROS[..chunk]);
                    left -= chunk;
                }
                n
            }
            Kind::Device(Device::Null | Device::Console) => 0,
            Kind::Fifo(_) => return Err(Errno::ESPIPE),
        })
    }

    /// Writes all of `source` at `offset` (or nothing, on error).
    fn write_at(
        &mut self,
        node: NodeId,
        offset: u64,
        source: &mut impl Source,
    ) -> Result<usize, Errno> {
        let len = source.remaining() as u64;
        let data = match &self.node(node).kind {
            Kind::File(data) => data,
            Kind::Device(Device::Null | Device::Zero) => return Ok(len as usize),
            Kind::Device(Device::Console) | Kind::Fifo(_) => return Err(Errno::ESPIPE),
            Kind::Dir(_) => return Err(Errno::EISDIR),
            Kind::Boot(_) => return Err(Errno::EROFS),
        };
        if len == 0 {
            return Ok(0);
        }
        if offset.checked_add(len).is_none_or(|end| end > MAX_OFFSET) {
            return Err(Errno::EFBIG);
        }
        let missing = data.missing_pages(offset, len);
        let fresh = self.alloc_pages(missing)?;
        let now = self.now;
        let Fs { store, nodes, .. } = self;
        let node = nodes.get_mut(&node).expect("unknown file system node");
        let Kind::File(data) = &mut node.kind else {
            unreachable!("checked above")
        };
        data.write(store, fresh, offset, len, source);
        node.touch(now);
        Ok(len as usize)
    }

    /// `count` fresh pages, counted as held: ENOSPC (nothing taken) if the
    /// limit or the store says no.
    fn alloc_pages(&mut self, count: usize) -> Result<Vec<S::Page>, Errno> {
        self.check_page_room(count)?;
        let mut pages = Vec::with_capacity(count);
        for _ in 0..count {
            match self.store.alloc() {
                Some(page) => pages.push(page),
                None => {
                    for page in pages {
                        self.store.free(page);
                    }
                    return Err(Errno::ENOSPC);
                }
            }
        }
        self.pages += count;
        Ok(pages)
    }

    /// Sets a regular file's size and stamps the change.
    pub(super) fn truncate_node(&mut self, node: NodeId, len: u64) {
        let now = self.now;
        let Fs {
            store,
            nodes,
            pages,
            ..
        } = self;
        let entry = nodes.get_mut(&node).expect("unknown file system node");
        let Kind::File(data) = &mut entry.kind else {
            unreachable!("truncating a node that is not a regular file")
        };
        *pages -= data.truncate(store, len);
        entry.touch(now);
    }
}
