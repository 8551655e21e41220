//! The system calls on files, directories, devices, pipes and sockets,
//! and the descriptor calls (close, dup, dup2/dup3, fcntl). Each handler takes
//! decoded arguments — descriptors as `i32`, paths as bytes, flags and
//! modes as `u32`, offsets as `i64`, user buffers as an address and a
//! length — so that the native calls (decoded in `syscall/mod.rs`) and a
//! Linux personality can share them; errors are [`Errno`]s (`.linux()`
//! gives Linux's numbers).
//!
//! The logic is the capability layer's (`kernel::cap`, over `kernel::fs`
//! and `kernel::pipe`), which checks everything before it changes
//! anything. This module adds what needs the machine: user buffers as a
//! checked [`UserSink`](crate::mem::user::UserSink) or
//! [`UserSource`](crate::mem::user::UserSource) (the whole range checked
//! first, so a copy never fails halfway), the console, and blocking on
//! pipes (FIFO opens waiting for the other side among them). One call
//! moves at most [`IO_MAX`] bytes (a larger request gets a short count),
//! which bounds how long it runs with interrupts off.

use super::SysResult;
use crate::mem::user::{UserPtr, UserSlice, UserSource};
use crate::task::{self, Objects, SCHED, Sched, Wait};
use abi::fs::{AT_EACCESS, IO_MAX, Stat};
use abi::{DEBUG_WRITE_MAX, Errno};
use alloc::vec;
use doors::Pid;
use kernel::cap::{Capability, FifoOpen, Open};
use kernel::fs::{Cred, Written};
use kernel::io::Source;
use kernel::pipe::{End, PipeId};
use spin::MutexGuard;

type Guard = MutexGuard<'static, Sched>;

/// Runs `op` on the objects for the calling process (its pid and
/// effective ids), then carries out the events it caused.
fn with_objects<T>(
    op: impl FnOnce(&mut Objects, Pid, Cred) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let mut g = SCHED.lock();
    let (pid, cred) = (g.current_pid(), g.current_cred().into());
    let result = op(g.objects(), pid, cred);
    g.handle_events();
    result
}

/// What descriptor `fd` of the calling process names (EBADF if nothing).
fn cap_of(g: &mut Guard, fd: i32) -> Result<Capability, Errno> {
    let pid = g.current_pid();
    g.objects().cap(pid, fd)
}

/// `count` bytes at `addr` (EFAULT outside the user half), at most
/// [`IO_MAX`].
fn io_buffer(addr: u64, count: u64) -> Result<UserSlice<u8>, Errno> {
    UserSlice::new(addr, count.min(IO_MAX as u64))
}

/// What a transfer may do beyond its description's flags: the flags of
/// `send` and `recv` (`MSG_DONTWAIT`, `MSG_WAITALL`); none for `read` and
/// `write`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Transfer {
    /// Never block, whatever the description says.
    pub dont_wait: bool,
    /// A read goes on (blocking) until the buffer is full, end of file, an
    /// error or a signal.
    pub wait_all: bool,
}

/// A transfer that may block on a pipe end (a pipe's, or the one a socket
/// reads or writes through). While blocked, the thread holds a reference
/// to what its descriptor names (so closing its descriptors, even from
/// another thread, leaves the pipe as it is until the call ends), and the
/// kernel releases it if the thread is destroyed meanwhile.
struct Parked {
    cap: Capability,
    /// A write (else a read).
    write: bool,
    /// `MSG_DONTWAIT`.
    dont_wait: bool,
    held: bool,
}

impl Parked {
    /// A read of `cap` (`write`: false) or a write, as `transfer` says.
    fn new(cap: Capability, write: bool, transfer: Transfer) -> Self {
        Parked {
            cap,
            write,
            dont_wait: transfer.dont_wait,
            held: false,
        }
    }

    /// The pipe end it waits at, if it may wait.
    fn at(&self, g: &mut Guard) -> Option<(PipeId, End)> {
        let caps = &g.objects().caps;
        match self.write {
            false => caps.read_wait(self.cap),
            true => caps.write_wait(self.cap),
        }
    }

    /// Whether "would block" means blocking: at a pipe end, without
    /// `MSG_DONTWAIT`, on a description that is not `O_NONBLOCK` (asked
    /// each time: another thread may change it).
    fn may_block(&self, g: &mut Guard) -> bool {
        !self.dont_wait && self.cap.may_wait(self.write) && !g.objects().nonblocking(self.cap)
    }

    /// Blocks until the pipe's other side acts; returns the lock again.
    fn block(&mut self, mut g: Guard) -> Guard {
        let (id, end) = self.at(&mut g).expect("only transfers at a pipe end block");
        if !self.held {
            g.objects().retain(self.cap);
            g.set_holds(Some(self.cap));
            self.held = true;
        }
        task::block(g, Wait::Pipe(id, end));
        SCHED.lock()
    }

    /// Ends the call with `result`, dropping the reference held.
    fn finish(self, mut g: Guard, result: SysResult) -> SysResult {
        if self.held {
            g.set_holds(None);
            g.objects().release(self.cap);
            g.handle_events();
        }
        result
    }
}

/// Writes what `source` holds (at most [`DEBUG_WRITE_MAX`] bytes, in one
/// piece so that lines stay whole) to the console; returns how many.
fn write_console(source: &mut UserSource) -> usize {
    let mut bytes = vec![0; source.remaining().min(DEBUG_WRITE_MAX)];
    source.take(&mut bytes);
    crate::log::write_bytes(&bytes);
    bytes.len()
}

/// `openat`: a FIFO's open may wait for the other side ([`open_fifo`]).
pub fn openat(dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SysResult {
    let mut g = SCHED.lock();
    let (pid, cred) = (g.current_pid(), g.current_cred().into());
    let opened = g.objects().open(pid, cred, dirfd, path, flags, mode);
    g.handle_events();
    match opened? {
        Open::Done(fd) => Ok(fd as u64),
        Open::Wait(open) => open_fifo(g, pid, open),
    }
}

/// Waits until the other side of the FIFO opens, then completes `open`
/// (its descriptor); a signal to handle gives it up (EINTR). While it
/// waits the thread holds what the open holds (its description and pipe
/// end), which the kernel releases if the thread is destroyed meanwhile.
fn open_fifo(mut g: Guard, pid: Pid, open: FifoOpen) -> SysResult {
    g.set_holds(Some(open.cap()));
    let (id, end) = open.wait_at();
    let result = loop {
        if g.objects().fifo_partner_came(open) {
            g.set_holds(None);
            break g.objects().fifo_opened(pid, open).map(|fd| fd as u64);
        }
        if g.interrupted() {
            g.set_holds(None);
            g.objects().release(open.cap());
            break Err(Errno::EINTR);
        }
        task::block(g, Wait::Pipe(id, end));
        g = SCHED.lock();
    };
    g.handle_events();
    result
}

/// `mknodat`: a FIFO or an empty regular file (see `Fs::mknod`).
pub fn mknodat(dirfd: i32, path: &[u8], mode: u32) -> SysResult {
    with_objects(|o, pid, cred| o.mknod(pid, cred, dirfd, path, mode)).map(|()| 0)
}

pub fn close(fd: i32) -> SysResult {
    with_objects(|o, pid, _| o.close(pid, fd)).map(|()| 0)
}

pub fn dup(fd: i32) -> SysResult {
    with_objects(|o, pid, _| o.dup(pid, fd, 0, false)).map(|fd| fd as u64)
}

pub fn dup3(old: i32, new: i32, flags: u32) -> SysResult {
    with_objects(|o, pid, _| o.dup3(pid, old, new, flags)).map(|fd| fd as u64)
}

pub fn fcntl(fd: i32, cmd: u32, arg: u64) -> SysResult {
    with_objects(|o, pid, _| o.fcntl(pid, fd, cmd, arg))
}

/// `read`: blocks on an empty pipe or socket (unless `O_NONBLOCK`) until
/// data, or a signal to handle (EINTR).
pub fn read(fd: i32, buf: u64, count: u64) -> SysResult {
    read_with(fd, buf, count, Transfer::default())
}

/// [`read`] as `transfer` says (`recv`'s flags; see [`read_fully`] for
/// `wait_all`).
pub fn read_with(fd: i32, buf: u64, count: u64, transfer: Transfer) -> SysResult {
    if transfer.wait_all {
        return read_fully(fd, buf, count, transfer);
    }
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().check_readable(cap)?;
    let buf = io_buffer(buf, count)?;
    let mut parked = Parked::new(cap, false, transfer);
    loop {
        let (objects, space) = g.file_env();
        let read = buf
            .sink(space)
            .and_then(|mut sink| objects.read(cap, &mut sink));
        g.handle_events();
        match read {
            Err(Errno::EAGAIN) if parked.may_block(&mut g) => {
                if g.interrupted() {
                    return parked.finish(g, Err(Errno::EINTR));
                }
                g = parked.block(g)
            }
            read => return parked.finish(g, read.map(|n| n as u64)),
        }
    }
}

/// `recv` with MSG_WAITALL: reads (blocking as [`read`] does) until
/// `count` bytes (at most [`IO_MAX`]) have come, end of file, an error or
/// a signal to handle; the count so far if any came, else the error.
fn read_fully(fd: i32, buf: u64, count: u64, transfer: Transfer) -> SysResult {
    let len = io_buffer(buf, count).map(|_| count.min(IO_MAX as u64))?;
    let once = Transfer {
        wait_all: false,
        ..transfer
    };
    let mut done = 0;
    while done < len {
        match read_with(fd, buf + done, len - done, once) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// `write`: a file takes all of it or nothing; a blocking pipe or socket
/// takes it all (parking while full) unless its reader goes, which ends
/// the call with the count so far (EPIPE if nothing was written), or a
/// signal to handle comes (the count so far; EINTR if nothing was
/// written).
pub fn write(fd: i32, buf: u64, count: u64) -> SysResult {
    write_with(fd, buf, count, Transfer::default())
}

/// [`write`] as `transfer` says (`send`'s `MSG_DONTWAIT`).
pub fn write_with(fd: i32, buf: u64, count: u64, transfer: Transfer) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().check_writable(cap)?;
    let len = io_buffer(buf, count).map(|_| count.min(IO_MAX as u64))?;
    let mut done = 0;
    let mut parked = Parked::new(cap, true, transfer);
    loop {
        let rest = UserSlice::<u8>::new(buf + done, len - done)?;
        let (objects, space) = g.file_env();
        let wrote =
            rest.source(space)
                .and_then(|mut source| match objects.write(cap, &mut source)? {
                    Written::Bytes(n) => Ok(n as u64),
                    Written::Console => Ok(write_console(&mut source) as u64),
                });
        g.handle_events();
        match wrote {
            Ok(n) => {
                done += n;
                if done == len || !parked.may_block(&mut g) {
                    return parked.finish(g, Ok(done));
                }
            }
            Err(Errno::EAGAIN) if parked.may_block(&mut g) => {
                if g.interrupted() {
                    let result = if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EINTR)
                    };
                    return parked.finish(g, result);
                }
                g = parked.block(g)
            }
            Err(_) if done > 0 => return parked.finish(g, Ok(done)),
            Err(e) => return parked.finish(g, Err(e)),
        }
    }
}

/// EINVAL for a negative offset, ESPIPE unless `cap` has one.
fn positioned(cap: Capability, offset: i64) -> Result<(), Errno> {
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    cap.ofd().map(|_| ()).ok_or(Errno::ESPIPE)
}

pub fn pread(fd: i32, buf: u64, count: u64, offset: i64) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().check_readable(cap)?;
    positioned(cap, offset)?;
    let buf = io_buffer(buf, count)?;
    let (objects, space) = g.file_env();
    let mut sink = buf.sink(space)?;
    objects.pread(cap, offset, &mut sink).map(|n| n as u64)
}

pub fn pwrite(fd: i32, buf: u64, count: u64, offset: i64) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().check_writable(cap)?;
    positioned(cap, offset)?;
    let buf = io_buffer(buf, count)?;
    let (objects, space) = g.file_env();
    let mut source = buf.source(space)?;
    objects.pwrite(cap, offset, &mut source).map(|n| n as u64)
}

pub fn lseek(fd: i32, offset: i64, whence: u32) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().lseek(cap, offset, whence)
}

/// Writes `stat` at `out` in the calling process.
fn put_stat(out: u64, stat: &Stat) -> SysResult {
    UserPtr::<Stat>::new(out)?.write(SCHED.lock().current_space(), stat)?;
    Ok(0)
}

pub fn fstat(fd: i32, out: u64) -> SysResult {
    let stat = {
        let mut g = SCHED.lock();
        let cap = cap_of(&mut g, fd)?;
        g.objects().fstat(cap)
    };
    put_stat(out, &stat)
}

pub fn fstatat(dirfd: i32, path: &[u8], out: u64, flags: u32) -> SysResult {
    let stat = with_objects(|o, pid, cred| o.stat(pid, cred, dirfd, path, flags))?;
    put_stat(out, &stat)
}

pub fn getdents64(fd: i32, buf: u64, count: u64) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    if !matches!(cap, Capability::Dir(_)) {
        return Err(Errno::ENOTDIR);
    }
    let buf = io_buffer(buf, count)?;
    let (objects, space) = g.file_env();
    let mut sink = buf.sink(space)?;
    objects.getdents(cap, &mut sink).map(|n| n as u64)
}

pub fn ftruncate(fd: i32, len: i64) -> SysResult {
    let mut g = SCHED.lock();
    let cap = cap_of(&mut g, fd)?;
    g.objects().truncate(cap, len).map(|()| 0)
}

pub fn fchmod(fd: i32, mode: u32) -> SysResult {
    let mut g = SCHED.lock();
    let cred = g.current_cred().into();
    let cap = cap_of(&mut g, fd)?;
    g.objects().fchmod(cred, cap, mode).map(|()| 0)
}

pub fn fchmodat(dirfd: i32, path: &[u8], mode: u32) -> SysResult {
    with_objects(|o, pid, cred| o.chmod(pid, cred, dirfd, path, mode)).map(|()| 0)
}

pub fn mkdirat(dirfd: i32, path: &[u8], mode: u32) -> SysResult {
    with_objects(|o, pid, cred| o.mkdir(pid, cred, dirfd, path, mode)).map(|()| 0)
}

pub fn unlinkat(dirfd: i32, path: &[u8], flags: u32) -> SysResult {
    with_objects(|o, pid, cred| o.unlink(pid, cred, dirfd, path, flags)).map(|()| 0)
}

pub fn renameat(from_dirfd: i32, from: &[u8], to_dirfd: i32, to: &[u8]) -> SysResult {
    with_objects(|o, pid, cred| o.rename(pid, cred, (from_dirfd, from), (to_dirfd, to))).map(|()| 0)
}

/// `faccessat`: with the real ids, or the effective ones with
/// [`AT_EACCESS`] (other flags: EINVAL).
pub fn faccessat(dirfd: i32, path: &[u8], mode: u32, flags: u32) -> SysResult {
    if flags & !AT_EACCESS != 0 {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let ids = g.current_cred();
    let cred = match flags {
        AT_EACCESS => ids.into(),
        _ => Cred::real(ids),
    };
    let pid = g.current_pid();
    g.objects().access(pid, cred, dirfd, path, mode).map(|()| 0)
}

pub fn chdir(path: &[u8]) -> SysResult {
    with_objects(|o, pid, cred| o.chdir(pid, cred, path)).map(|()| 0)
}

pub fn fchdir(fd: i32) -> SysResult {
    with_objects(|o, pid, cred| o.fchdir(pid, cred, fd)).map(|()| 0)
}

/// `getcwd`: the path and a NUL at `buf`; returns their length. ERANGE
/// when `size` is too small.
pub fn getcwd(buf: u64, size: u64) -> SysResult {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let mut path = g.objects().getcwd(pid)?;
    path.push(0);
    let len = path.len() as u64;
    if size < len {
        return Err(Errno::ERANGE);
    }
    UserSlice::<u8>::new(buf, len)?.write_bytes(g.current_space(), &path)?;
    Ok(len)
}

pub fn umask(mask: u32) -> SysResult {
    with_objects(|o, pid, _| o.umask(pid, mask)).map(u64::from)
}

/// `pipe2`: the read and write descriptors at `fds` (checked first).
pub fn pipe2(fds: u64, flags: u32) -> SysResult {
    let out = UserSlice::<i32>::new(fds, 2)?;
    let mut g = SCHED.lock();
    out.check(g.current_space(), true)?;
    let (pid, cred) = (g.current_pid(), g.current_cred().into());
    let (read, write) = g.objects().pipe(pid, cred, flags)?;
    out.write_all(g.current_space(), &[read, write])
        .expect("a checked user range is writable");
    Ok(0)
}

pub fn fattach(fd: i32, path: &[u8]) -> SysResult {
    with_objects(|o, pid, cred| o.fattach(pid, cred, fd, path)).map(|()| 0)
}

/// `socketpair(AF_UNIX, SOCK_STREAM, 0)`: the two descriptors at `fds`
/// (checked first).
pub fn socketpair(fds: u64, nonblock: bool, cloexec: bool) -> SysResult {
    let out = UserSlice::<i32>::new(fds, 2)?;
    let mut g = SCHED.lock();
    out.check(g.current_space(), true)?;
    let (pid, cred) = (g.current_pid(), g.current_cred().into());
    let (a, b) = g.objects().socketpair(pid, cred, nonblock, cloexec)?;
    out.write_all(g.current_space(), &[a, b])
        .expect("a checked user range is writable");
    Ok(0)
}

pub fn shutdown(fd: i32, how: u32) -> SysResult {
    with_objects(|o, pid, _| o.shutdown(pid, fd, how)).map(|()| 0)
}

pub fn fdetach(path: &[u8]) -> SysResult {
    with_objects(|o, pid, cred| o.fdetach(pid, cred, path)).map(|()| 0)
}
