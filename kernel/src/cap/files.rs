//! Calls on names and descriptors of every kind, for one process: where a
//! path starts (`dirfd`, `AT_FDCWD`, absolute), open, pipe, socketpair
//! and shutdown, fattach and
//! fdetach, current directories, the calls on names, stat, the status and
//! descriptor flags (`fcntl`), `dup3`, finding a program to spawn, and the
//! transfers (read, write, their positioned forms, seek, truncate,
//! listing) dispatched on the kind of object.
//!
//! Each call takes decoded arguments (paths as bytes, flags as numbers)
//! and checks everything before it changes anything; user memory reaches
//! it only as a [`Sink`] or [`Source`] whose range the kernel checked.
//! Pipe reads and writes say EAGAIN when they would block; the kernel
//! blocks the caller unless the description is non-blocking
//! ([`Objects::nonblocking`]). The wakeups they cause are recorded in the
//! capability space ([`super::CapSpace::pop_wake`]).
//!
//! Errors on descriptors of the wrong kind: a transfer on a door, or on a
//! pipe end or description not open for it, is EBADF; a positioned call
//! or seek on a pipe or door is ESPIPE; listing what is not a directory is
//! ENOTDIR; truncating what is not a regular file, or changing the mode of
//! a pipe or door, is EINVAL; a directory where a path starts must be a
//! directory (ENOTDIR).

use super::fifo::{FifoOpen, Open};
use super::{Capability, Entry, Objects};
use crate::fs::{self, Cred, Executable, NodeId, Opened, Statted, Written};
use crate::io::{PageStore, Sink, Source};
use crate::pipe::{End, PipeId, Wake};
use crate::socket::Stream;
use abi::Errno;
use abi::fs::{
    AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD,
    F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_ACCMODE, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR,
    O_WRONLY, S_IALLUGO, S_IFDOOR, Stat, makedev,
};
use alloc::vec;
use alloc::vec::Vec;
use doors::{Descriptors, DoorId, Fd, Pid};

/// The device number `st_dev` reports for doors.
pub const DOOR_DEV: u64 = makedev(0, 3);

/// The mode bits `mkdir` keeps (before the umask): permissions and sticky.
const MKDIR_MODE: u32 = 0o1777;

/// A program found for `spawn`.
#[derive(Debug, PartialEq, Eq)]
pub enum Program {
    /// A member of the boot archive: its bytes.
    Boot(&'static [u8]),
    /// A regular file: a copy of its bytes.
    File(Vec<u8>),
}

impl<S: PageStore> Objects<S> {
    /// What descriptor `fd` of `pid` names: EBADF if it is not open.
    pub fn cap(&self, pid: Pid, fd: Fd) -> Result<Capability, Errno> {
        self.caps.get(pid, fd).ok_or(Errno::EBADF)
    }

    /// `pid`'s current directory.
    pub fn cwd(&self, pid: Pid) -> Result<NodeId, Errno> {
        self.caps.holder(pid).map(|h| h.cwd)
    }

    /// The directory `path` is resolved from: the current directory for
    /// [`AT_FDCWD`], the directory `dirfd` opened otherwise, and `/` for an
    /// absolute path (whoever asks: the kernel, pid 0, has no current
    /// directory). Errors: ENOENT (empty path), EBADF, ENOTDIR.
    pub fn start(&self, pid: Pid, dirfd: Fd, path: &[u8]) -> Result<NodeId, Errno> {
        match path.first() {
            None => Err(Errno::ENOENT),
            Some(b'/') => Ok(self.caps.fs.root()),
            Some(_) if dirfd == AT_FDCWD => self.cwd(pid),
            Some(_) => match self.cap(pid, dirfd)? {
                Capability::Dir(ofd) => self.caps.fs.ofd_dir(ofd),
                _ => Err(Errno::ENOTDIR),
            },
        }
    }

    /// Puts `cap` (a reference already counted) in `pid`'s lowest free
    /// slot; the caller checked that there is room.
    pub(super) fn install(&mut self, pid: Pid, cap: Capability, cloexec: bool) -> Fd {
        self.caps
            .insert_from(pid, 0, Entry { cap, cloexec })
            .expect("install without room")
    }

    /// `openat`: the new descriptor, or a FIFO open that must wait
    /// ([`Open::Wait`], see [`Objects::fifo_opened`]). A created file gets
    /// `mode` less the umask. Errors: EINVAL (flags), EMFILE, ENFILE (no
    /// new table slot: [`super::CapSpace::check_room`]), those of
    /// [`Objects::start`] and [`fs::Fs::open`], and for a FIFO those of
    /// [`Fifo::open`].
    pub fn open(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<Open, Errno> {
        fs::check_open_flags(flags)?;
        self.caps.check_room(pid, 1)?;
        let at = self.start(pid, dirfd, path)?;
        let umask = self.caps.holder(pid)?.umask;
        let cloexec = flags & O_CLOEXEC != 0;
        let cap = match self
            .caps
            .fs
            .open(cred, at, path, flags, mode & S_IALLUGO & !umask)?
        {
            Opened::File(ofd) => Capability::File(ofd),
            Opened::Dir(ofd) => Capability::Dir(ofd),
            Opened::Device(ofd, device) => Capability::Device(ofd, device),
            Opened::Door(id) => {
                self.doors.add_ref(id);
                Capability::Door(id)
            }
            Opened::Fifo(ofd) => match self.open_fifo(ofd, flags, cred)? {
                (fifo, None) => Capability::Fifo(fifo.ofd, fifo.access),
                (fifo, Some(waiting)) => {
                    return Ok(Open::Wait(FifoOpen {
                        fifo,
                        waiting,
                        cloexec,
                    }));
                }
            },
        };
        Ok(Open::Done(self.install(pid, cap, cloexec)))
    }

    /// `pipe2`: the read and the write descriptor of a new pipe. Errors:
    /// EINVAL (flags other than `O_NONBLOCK` and `O_CLOEXEC`), EMFILE,
    /// ENFILE (no pipe left, or no new table slot).
    pub fn pipe(&mut self, pid: Pid, cred: Cred, flags: u32) -> Result<(Fd, Fd), Errno> {
        if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        self.caps.check_room(pid, 2)?;
        let id = self.caps.pipes.create(cred, flags & O_NONBLOCK != 0)?;
        let cloexec = flags & O_CLOEXEC != 0;
        let read = self.install(pid, Capability::Pipe(id, End::Read), cloexec);
        let write = self.install(pid, Capability::Pipe(id, End::Write), cloexec);
        Ok((read, write))
    }

    /// `socketpair(AF_UNIX, SOCK_STREAM, 0)`: the descriptors of the two
    /// ends of a new connected stream socket pair ([`crate::socket`]),
    /// both `O_NONBLOCK` if `nonblock`, close-on-exec if `cloexec`.
    /// Errors: EMFILE, ENFILE (no two pipes left, or no new table slot).
    pub fn socketpair(
        &mut self,
        pid: Pid,
        cred: Cred,
        nonblock: bool,
        cloexec: bool,
    ) -> Result<(Fd, Fd), Errno> {
        self.caps.check_room(pid, 2)?;
        let (a, b) = Stream::pair(&mut self.caps.pipes, cred, nonblock)?;
        let a = self.install(pid, Capability::Socket(a), cloexec);
        let b = self.install(pid, Capability::Socket(b), cloexec);
        Ok((a, b))
    }

    /// `shutdown(fd, how)`: the socket stops receiving (SHUT_RD), sending
    /// (SHUT_WR) or both (SHUT_RDWR), for every descriptor naming it; its
    /// peer then reads end of file, or gets EPIPE writing. Errors: EBADF,
    /// ENOTSOCK (not a socket), EINVAL (another `how`).
    pub fn shutdown(&mut self, pid: Pid, fd: Fd, how: u32) -> Result<(), Errno> {
        let Capability::Socket(end) = self.cap(pid, fd)? else {
            return Err(Errno::ENOTSOCK);
        };
        let shut: Vec<PipeId> = end.shutdown(&mut self.caps.pipes, how)?.collect();
        for id in shut {
            self.caps.note_wake(id, Wake::Readers);
            self.caps.note_wake(id, Wake::Writers);
        }
        Ok(())
    }

    /// `fattach`: door `fd` over `path`; the attachment holds a door
    /// reference. Errors: EBADF, EINVAL (not a door), those of
    /// [`fs::Fs::attach`].
    pub fn fattach(&mut self, pid: Pid, cred: Cred, fd: Fd, path: &[u8]) -> Result<(), Errno> {
        let Capability::Door(id) = self.cap(pid, fd)? else {
            return Err(Errno::EINVAL);
        };
        let at = self.start(pid, AT_FDCWD, path)?;
        self.caps.fs.attach(cred, at, path, id)?;
        self.doors.add_ref(id);
        Ok(())
    }

    /// `fdetach`: takes the door off `path` and drops the attachment's
    /// reference. Errors: those of [`fs::Fs::detach`].
    pub fn fdetach(&mut self, pid: Pid, cred: Cred, path: &[u8]) -> Result<(), Errno> {
        let at = self.start(pid, AT_FDCWD, path)?;
        let id = self.caps.fs.detach(cred, at, path)?;
        self.doors.drop_ref(id);
        Ok(())
    }

    /// Makes `node` (retained for the caller) `pid`'s current directory.
    fn enter(&mut self, pid: Pid, node: NodeId) -> Result<(), Errno> {
        let holder = self.caps.holder_mut(pid)?;
        let old = core::mem::replace(&mut holder.cwd, node);
        self.caps.fs.release_node(old);
        Ok(())
    }

    /// `chdir`. Errors: those of [`fs::Fs::chdir`].
    pub fn chdir(&mut self, pid: Pid, cred: Cred, path: &[u8]) -> Result<(), Errno> {
        let at = self.start(pid, AT_FDCWD, path)?;
        let node = self.caps.fs.chdir(cred, at, path)?;
        self.enter(pid, node)
    }

    /// `fchdir`. Errors: EBADF, ENOTDIR, EACCES.
    pub fn fchdir(&mut self, pid: Pid, cred: Cred, fd: Fd) -> Result<(), Errno> {
        let Capability::Dir(ofd) = self.cap(pid, fd)? else {
            return Err(Errno::ENOTDIR);
        };
        let node = self.caps.fs.fchdir(cred, ofd)?;
        self.enter(pid, node)
    }

    /// `getcwd`: the current directory's absolute path. Errors: ENOENT (it
    /// was removed), ENAMETOOLONG.
    pub fn getcwd(&self, pid: Pid) -> Result<Vec<u8>, Errno> {
        self.caps.fs.getcwd(self.cwd(pid)?)
    }

    /// `umask`: sets `pid`'s mask to `mask & 0o777`; returns the old one.
    pub fn umask(&mut self, pid: Pid, mask: u32) -> Result<u32, Errno> {
        let holder = self.caps.holder_mut(pid)?;
        Ok(core::mem::replace(&mut holder.umask, mask & 0o777))
    }

    /// `mkdirat` with `mode` less the umask. Errors: those of
    /// [`Objects::start`] and [`fs::Fs::mkdir`].
    pub fn mkdir(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let at = self.start(pid, dirfd, path)?;
        let umask = self.caps.holder(pid)?.umask;
        self.caps
            .fs
            .mkdir(cred, at, path, mode & MKDIR_MODE & !umask)
    }

    /// `unlinkat`: `rmdir` with [`AT_REMOVEDIR`], else `unlink`. Errors:
    /// EINVAL (other flags), those of the calls.
    pub fn unlink(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let at = self.start(pid, dirfd, path)?;
        match flags {
            AT_REMOVEDIR => self.caps.fs.rmdir(cred, at, path),
            _ => self.caps.fs.unlink(cred, at, path),
        }
    }

    /// `renameat`. Errors: those of [`fs::Fs::rename`].
    pub fn rename(
        &mut self,
        pid: Pid,
        cred: Cred,
        (from_dirfd, from): (Fd, &[u8]),
        (to_dirfd, to): (Fd, &[u8]),
    ) -> Result<(), Errno> {
        let from_at = self.start(pid, from_dirfd, from)?;
        let to_at = self.start(pid, to_dirfd, to)?;
        self.caps.fs.rename(cred, from_at, from, to_at, to)
    }

    /// `fchmodat`. Errors: those of [`fs::Fs::chmod`].
    pub fn chmod(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let at = self.start(pid, dirfd, path)?;
        self.caps.fs.chmod(cred, at, path, mode)
    }

    /// `faccessat` for `cred` (the real ids, or the effective ones).
    /// Errors: those of [`fs::Fs::access`].
    pub fn access(
        &self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let at = self.start(pid, dirfd, path)?;
        self.caps.fs.access(cred, at, path, mode)
    }

    /// `fstatat`. Flags: [`AT_SYMLINK_NOFOLLOW`] (no effect),
    /// [`AT_EMPTY_PATH`] (an empty path: what `dirfd` names, of any kind).
    /// Errors: EINVAL (other flags), EBADF, those of paths.
    pub fn stat(
        &self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        flags: u32,
    ) -> Result<Stat, Errno> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
            return match dirfd {
                AT_FDCWD => self.stat(pid, cred, dirfd, b".", 0),
                fd => Ok(self.fstat(self.cap(pid, fd)?)),
            };
        }
        let at = self.start(pid, dirfd, path)?;
        Ok(match self.caps.fs.stat(cred, at, path)? {
            Statted::Node(stat) => stat,
            Statted::Door(id, covered) => Stat {
                st_mode: S_IFDOOR | covered.st_mode & S_IALLUGO,
                st_nlink: 1,
                ..self.door_stat(id, covered)
            },
        })
    }

    /// `fstat` of what `cap` names. A door reports `S_IFDOOR` with mode
    /// 0777, owner root, size 0 and zero times (as illumos's doorfs), and
    /// its uniquifier as inode number.
    pub fn fstat(&self, cap: Capability) -> Stat {
        match cap {
            Capability::Door(id) => {
                let plain = Stat {
                    st_mode: S_IFDOOR | 0o777,
                    st_nlink: 1,
                    ..Stat::default()
                };
                self.door_stat(id, plain)
            }
            Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => {
                self.caps.fs.fstat(ofd)
            }
            Capability::Pipe(id, _) => self.caps.pipes.stat(id),
            Capability::Socket(end) => end.stat(&self.caps.pipes),
            Capability::Fifo(ofd, _) => self.caps.fs.fstat(ofd),
        }
    }

    /// `base` with door `id`'s device, inode number and size.
    fn door_stat(&self, id: DoorId, base: Stat) -> Stat {
        Stat {
            st_dev: DOOR_DEV,
            st_ino: self.doors.uniquifier(id).unwrap_or(0),
            st_size: 0,
            st_blocks: 0,
            st_rdev: 0,
            ..base
        }
    }

    /// The access mode and status flags of what `cap` names (a door is
    /// open for reading and writing).
    pub fn status_flags(&self, cap: Capability) -> u32 {
        match cap {
            Capability::Door(_) => O_RDWR,
            Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => {
                self.caps.fs.status_flags(ofd)
            }
            Capability::Pipe(id, end) => self.caps.pipes.status_flags(id, end),
            Capability::Socket(end) => end.status_flags(&self.caps.pipes),
            Capability::Fifo(ofd, _) => self.caps.fs.status_flags(ofd),
        }
    }

    /// Whether a transfer on `cap` that would block fails with EAGAIN
    /// instead.
    pub fn nonblocking(&self, cap: Capability) -> bool {
        self.status_flags(cap) & O_NONBLOCK != 0
    }

    /// `fcntl(fd, cmd, arg)`. Errors: EBADF, EINVAL (unknown command, a
    /// negative or too large `F_DUPFD` argument), EMFILE.
    pub fn fcntl(&mut self, pid: Pid, fd: Fd, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let table = self.caps.table_mut(pid).ok_or(Errno::EBADF)?;
        let entry = table.entry(fd).ok_or(Errno::EBADF)?;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let lowest = usize::try_from(arg as i64).map_err(|_| Errno::EINVAL)?;
                self.dup(pid, fd, lowest, cmd == F_DUPFD_CLOEXEC)
                    .map(|new| new as u64)
            }
            F_GETFD => Ok(if entry.cloexec {
                u64::from(FD_CLOEXEC)
            } else {
                0
            }),
            F_SETFD => {
                table.set_cloexec(fd, arg & u64::from(FD_CLOEXEC) != 0);
                Ok(0)
            }
            F_GETFL => Ok(u64::from(self.status_flags(entry.cap))),
            F_SETFL => {
                let flags = arg as u32;
                match entry.cap {
                    Capability::Door(_) => {}
                    Capability::File(ofd) | Capability::Dir(ofd) | Capability::Device(ofd, _) => {
                        self.caps.fs.set_status_flags(ofd, flags)
                    }
                    Capability::Pipe(id, end) => self.caps.pipes.set_status_flags(id, end, flags),
                    Capability::Socket(end) => end.set_status_flags(&mut self.caps.pipes, flags),
                    Capability::Fifo(ofd, _) => self.caps.fs.set_status_flags(ofd, flags),
                }
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `dup3(old, new, flags)`. Errors: EINVAL (flags other than
    /// `O_CLOEXEC`, `old == new`), EBADF.
    pub fn dup3(&mut self, pid: Pid, old: Fd, new: Fd, flags: u32) -> Result<Fd, Errno> {
        if flags & !O_CLOEXEC != 0 || old == new {
            return Err(Errno::EINVAL);
        }
        self.dup2(pid, old, new, flags != 0)
    }

    /// The program `name` names, for `spawn`: a path when it holds a `/`
    /// (relative to the current directory), else `/bin/name`. Errors: those
    /// of [`Objects::program_at`].
    pub fn program(
        &mut self,
        pid: Pid,
        cred: Cred,
        name: &[u8],
        max: usize,
    ) -> Result<Program, Errno> {
        if name.contains(&b'/') {
            return self.program_at(pid, cred, name, max);
        }
        let in_bin = [abi::BOOT_DIR.as_bytes(), b"/", name].concat();
        self.program_at(pid, cred, &in_bin, max)
    }

    /// The program at `path` (relative to the current directory), for
    /// `spawn` and `execve`. A regular file's bytes are copied (at most
    /// `max` of them): the program is what the file holds at this moment.
    /// Errors: those of paths, EACCES (not executable, or not a regular
    /// file), ENOMEM (larger than `max`).
    pub fn program_at(
        &mut self,
        pid: Pid,
        cred: Cred,
        path: &[u8],
        max: usize,
    ) -> Result<Program, Errno> {
        let at = self.start(pid, AT_FDCWD, path)?;
        match self.caps.fs.executable(cred, at, path)? {
            Executable::Boot(bytes) => Ok(Program::Boot(bytes)),
            Executable::File(ofd) => {
                let size = self.caps.fs.fstat(ofd).st_size as usize;
                let bytes = match size <= max {
                    true => {
                        let mut bytes = vec![0; size];
                        let read = self.caps.fs.pread(ofd, 0, &mut &mut bytes[..]);
                        read.map(|n| {
                            bytes.truncate(n);
                            bytes
                        })
                    }
                    false => Err(Errno::ENOMEM),
                };
                self.caps.fs.release(ofd);
                bytes.map(Program::File)
            }
        }
    }

    /// EBADF unless `cap` may be read from: a file, directory, device or
    /// FIFO open for reading, a pipe's read end, or a socket.
    pub fn check_readable(&self, cap: Capability) -> Result<(), Errno> {
        let ok = match cap {
            Capability::Door(_) | Capability::Pipe(_, End::Write) => false,
            Capability::Pipe(_, End::Read) | Capability::Socket(_) => true,
            _ => self.status_flags(cap) & O_ACCMODE != O_WRONLY,
        };
        if ok { Ok(()) } else { Err(Errno::EBADF) }
    }

    /// EBADF unless `cap` may be written to: a file, device or FIFO open
    /// for writing, a pipe's write end, or a socket.
    pub fn check_writable(&self, cap: Capability) -> Result<(), Errno> {
        let ok = match cap {
            Capability::Door(_) | Capability::Pipe(_, End::Read) => false,
            Capability::Pipe(_, End::Write) | Capability::Socket(_) => true,
            _ => self.status_flags(cap) & O_ACCMODE != O_RDONLY,
        };
        if ok { Ok(()) } else { Err(Errno::EBADF) }
    }

    /// `read` from what `cap` names into `sink`. Errors: EBADF, EISDIR,
    /// EAGAIN (an empty pipe with a writer).
    pub fn read(&mut self, cap: Capability, sink: &mut impl Sink) -> Result<usize, Errno> {
        self.check_readable(cap)?;
        let id = match cap {
            Capability::Pipe(id, _) => id,
            Capability::Fifo(ofd, access) => self.caps.fifo(ofd, access).pipe,
            Capability::Socket(end) => end.rx(),
            other => {
                let ofd = other.ofd().expect("a file system object");
                return self.caps.fs.read(ofd, sink);
            }
        };
        let moved = self.caps.pipes.read(id, sink)?;
        self.caps.note_wake(id, moved.wake);
        Ok(moved.bytes)
    }

    /// `write` of `source` to what `cap` names. Errors: EBADF, ENOSPC,
    /// EFBIG, EPIPE, EAGAIN (a full pipe), ENOMEM (no page for a pipe).
    pub fn write(&mut self, cap: Capability, source: &mut impl Source) -> Result<Written, Errno> {
        self.check_writable(cap)?;
        let id = match cap {
            Capability::Pipe(id, _) => id,
            Capability::Fifo(ofd, access) => self.caps.fifo(ofd, access).pipe,
            Capability::Socket(end) => end.tx(),
            other => {
                let ofd = other.ofd().expect("a file system object");
                return self.caps.fs.write(ofd, source);
            }
        };
        let moved = self.caps.pipes.write(id, source)?;
        self.caps.note_wake(id, moved.wake);
        Ok(Written::Bytes(moved.bytes))
    }

    /// The description of a positioned call or seek: ESPIPE for pipes and
    /// doors.
    fn seekable(cap: Capability) -> Result<fs::OfdId, Errno> {
        cap.ofd().ok_or(Errno::ESPIPE)
    }

    /// `pread`. Errors: EBADF, ESPIPE, EINVAL, EISDIR.
    pub fn pread(
        &self,
        cap: Capability,
        offset: i64,
        sink: &mut impl Sink,
    ) -> Result<usize, Errno> {
        self.check_readable(cap)?;
        self.caps.fs.pread(Self::seekable(cap)?, offset, sink)
    }

    /// `pwrite`. Errors: EBADF, ESPIPE, EINVAL, ENOSPC, EFBIG.
    pub fn pwrite(
        &mut self,
        cap: Capability,
        offset: i64,
        source: &mut impl Source,
    ) -> Result<usize, Errno> {
        self.check_writable(cap)?;
        self.caps.fs.pwrite(Self::seekable(cap)?, offset, source)
    }

    /// `lseek`. Errors: ESPIPE, EINVAL.
    pub fn lseek(&mut self, cap: Capability, offset: i64, whence: u32) -> Result<u64, Errno> {
        self.caps.fs.lseek(Self::seekable(cap)?, offset, whence)
    }

    /// `getdents64`. Errors: ENOTDIR, EINVAL, ENOENT.
    pub fn getdents(&mut self, cap: Capability, sink: &mut impl Sink) -> Result<usize, Errno> {
        match cap {
            Capability::Dir(ofd) => self.caps.fs.getdents(ofd, sink),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// `ftruncate`. Errors: EINVAL.
    pub fn truncate(&mut self, cap: Capability, len: i64) -> Result<(), Errno> {
        match cap {
            Capability::File(ofd) => self.caps.fs.truncate(ofd, len),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `fchmod` (of a FIFO: its node's). Errors: EINVAL (a pipe, socket
    /// or door), EPERM, EROFS.
    pub fn fchmod(&mut self, cred: Cred, cap: Capability, mode: u32) -> Result<(), Errno> {
        match cap {
            Capability::Fifo(ofd, _) => self.caps.fs.fchmod(cred, ofd, mode),
            other => match other.ofd() {
                Some(ofd) => self.caps.fs.fchmod(cred, ofd, mode),
                None => Err(Errno::EINVAL),
            },
        }
    }
}
