//! Linux's calls on files, directories, devices, pipes and descriptors,
//! carried out by the handlers the native calls use (`syscall::file`): the
//! file ABI's values are Linux's already (`abi::fs`), so flags, modes,
//! `struct stat` and `getdents64` records pass through untranslated. This
//! module adds Linux's conventions: NUL-terminated paths, the older calls
//! (`open`, `stat`, `mkdir`, `mknod`, `unlink`, ...) as their `*at` forms with
//! `AT_FDCWD`, `statx`, `readv`/`writev`, and `ioctl(TIOCGWINSZ)`,
//! which answers for the console (a terminal of 80 by 24) and is ENOTTY
//! for everything else.

use super::super::file::{self, Transfer};
use super::signal::sigpipe;
use super::{SysResult, int_arg, nr, path_arg};
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::SCHED;
use abi::Errno;
use abi::fs::{
    AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, IO_MAX, O_CREAT, O_NONBLOCK,
    O_TRUNC, O_WRONLY, Stat,
};
use abi::linux::Iovec;
use kernel::cap::Capability;
use kernel::fs::Device;

/// Runs Linux file call `call` with arguments `a`; `None` if it is not one.
pub fn dispatch(call: usize, a: [u64; 6]) -> Option<SysResult> {
    let fd = |i: usize| int_arg(a[i]);
    let flags = |i: usize| a[i] as u32;
    Some(match call {
        nr::READ => file::read(fd(0), a[1], a[2]),
        nr::WRITE => sigpipe(file::write(fd(0), a[1], a[2])),
        nr::OPEN => path_arg(a[0]).and_then(|p| file::openat(AT_FDCWD, &p, flags(1), flags(2))),
        nr::CREAT => path_arg(a[0])
            .and_then(|p| file::openat(AT_FDCWD, &p, O_CREAT | O_WRONLY | O_TRUNC, flags(1))),
        nr::OPENAT => path_arg(a[1]).and_then(|p| file::openat(fd(0), &p, flags(2), flags(3))),
        nr::CLOSE => file::close(fd(0)),
        nr::STAT => path_arg(a[0]).and_then(|p| file::fstatat(AT_FDCWD, &p, a[1], 0)),
        nr::LSTAT => {
            path_arg(a[0]).and_then(|p| file::fstatat(AT_FDCWD, &p, a[1], AT_SYMLINK_NOFOLLOW))
        }
        nr::FSTAT => file::fstat(fd(0), a[1]),
        nr::NEWFSTATAT => path_arg(a[1]).and_then(|p| file::fstatat(fd(0), &p, a[2], flags(3))),
        nr::STATX => statx(fd(0), a[1], flags(2), a[3] as u32, a[4]),
        nr::LSEEK => file::lseek(fd(0), a[1] as i64, flags(2)),
        nr::IOCTL => ioctl(fd(0), a[1] as u32, a[2]),
        nr::PREAD64 => file::pread(fd(0), a[1], a[2], a[3] as i64),
        nr::PWRITE64 => file::pwrite(fd(0), a[1], a[2], a[3] as i64),
        nr::READV => vectored(fd(0), a[1], a[2], Direction::Read, Transfer::default()),
        nr::WRITEV => sigpipe(vectored(
            fd(0),
            a[1],
            a[2],
            Direction::Write,
            Transfer::default(),
        )),
        nr::ACCESS => path_arg(a[0]).and_then(|p| file::faccessat(AT_FDCWD, &p, flags(1), 0)),
        nr::FACCESSAT => path_arg(a[1]).and_then(|p| file::faccessat(fd(0), &p, flags(2), 0)),
        nr::FACCESSAT2 => {
            path_arg(a[1]).and_then(|p| file::faccessat(fd(0), &p, flags(2), flags(3)))
        }
        nr::PIPE => file::pipe2(a[0], 0),
        nr::PIPE2 => file::pipe2(a[0], flags(1)),
        nr::DUP => file::dup(fd(0)),
        nr::DUP2 => dup2(fd(0), fd(1)),
        nr::DUP3 => file::dup3(fd(0), fd(1), flags(2)),
        nr::FCNTL => file::fcntl(fd(0), flags(1), a[2]),
        nr::FSYNC | nr::FDATASYNC => file::fcntl(fd(0), abi::fs::F_GETFD, 0).map(|_| 0),
        nr::FTRUNCATE => file::ftruncate(fd(0), a[1] as i64),
        nr::TRUNCATE => truncate(a[0], a[1] as i64),
        nr::GETDENTS64 => file::getdents64(fd(0), a[1], a[2]),
        nr::GETCWD => file::getcwd(a[0], a[1]),
        nr::CHDIR => path_arg(a[0]).and_then(|p| file::chdir(&p)),
        nr::FCHDIR => file::fchdir(fd(0)),
        nr::RENAME => two_paths(a[0], a[1])
            .and_then(|(from, to)| file::renameat(AT_FDCWD, &from, AT_FDCWD, &to)),
        nr::RENAMEAT | nr::RENAMEAT2 if call == nr::RENAMEAT || a[4] == 0 => {
            two_paths(a[1], a[3]).and_then(|(from, to)| file::renameat(fd(0), &from, fd(2), &to))
        }
        nr::RENAMEAT2 => Err(Errno::EINVAL),
        nr::MKDIR => path_arg(a[0]).and_then(|p| file::mkdirat(AT_FDCWD, &p, flags(1))),
        nr::MKDIRAT => path_arg(a[1]).and_then(|p| file::mkdirat(fd(0), &p, flags(2))),
        nr::MKNOD => path_arg(a[0]).and_then(|p| file::mknodat(AT_FDCWD, &p, flags(1))),
        nr::MKNODAT => path_arg(a[1]).and_then(|p| file::mknodat(fd(0), &p, flags(2))),
        nr::RMDIR => path_arg(a[0]).and_then(|p| file::unlinkat(AT_FDCWD, &p, AT_REMOVEDIR)),
        nr::UNLINK => path_arg(a[0]).and_then(|p| file::unlinkat(AT_FDCWD, &p, 0)),
        nr::UNLINKAT => path_arg(a[1]).and_then(|p| file::unlinkat(fd(0), &p, flags(2))),
        nr::CHMOD => path_arg(a[0]).and_then(|p| file::fchmodat(AT_FDCWD, &p, flags(1))),
        nr::FCHMOD => file::fchmod(fd(0), flags(1)),
        nr::FCHMODAT => path_arg(a[1]).and_then(|p| file::fchmodat(fd(0), &p, flags(2))),
        nr::READLINK => readlink(AT_FDCWD, a[0]),
        nr::READLINKAT => readlink(fd(0), a[1]),
        nr::UMASK => file::umask(flags(0)),
        _ => return None,
    })
}

fn two_paths(from: u64, to: u64) -> Result<(alloc::vec::Vec<u8>, alloc::vec::Vec<u8>), Errno> {
    Ok((path_arg(from)?, path_arg(to)?))
}

/// `dup2(old, new)`: as `dup3(old, new, 0)`, but `old == new` is no error
/// when `old` is open (it returns `new`).
fn dup2(old: i32, new: i32) -> SysResult {
    if old == new {
        return file::fcntl(old, abi::fs::F_GETFD, 0).map(|_| new as u64);
    }
    file::dup3(old, new, 0)
}

/// `truncate(path, len)`: the file opened for writing (so the caller needs
/// write permission), truncated, closed. The open does not block: a FIFO
/// (which only a FIFO's open would refuse with ENXIO) is EINVAL, as any
/// other file that is not a regular one.
fn truncate(path: u64, len: i64) -> SysResult {
    let path = path_arg(path)?;
    let fd = match file::openat(AT_FDCWD, &path, O_WRONLY | O_NONBLOCK, 0) {
        Err(Errno::ENXIO) => return Err(Errno::EINVAL),
        opened => opened? as i32,
    };
    let done = file::ftruncate(fd, len);
    file::close(fd)?;
    done
}

/// `readlink`: there are no symbolic links, so a path that exists is not
/// one (EINVAL), and one that does not gives its lookup's error.
fn readlink(dirfd: i32, path: u64) -> SysResult {
    let path = path_arg(path)?;
    let stat = {
        let mut g = SCHED.lock();
        let (pid, cred) = (g.current_pid(), g.current_cred().into());
        g.objects()
            .stat(pid, cred, dirfd, &path, AT_SYMLINK_NOFOLLOW)
    };
    stat.and(Err(Errno::EINVAL))
}

/// Which way a `readv`/`writev` goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Read,
    Write,
}

/// Most entries of one `readv`/`writev` (Linux's `IOV_MAX`).
const IOV_MAX: u64 = 1024;

/// `readv`/`writev` (and `recvmsg`/`sendmsg`, as `transfer` says): each
/// entry in turn, stopping at a short transfer. A read stops too before
/// an entry that would block (a pipe emptied by the entries before): only
/// the first may wait, as on Linux (all of them with `MSG_WAITALL`). Like
/// `read` and `write`, one call moves at most `IO_MAX` bytes in all (a
/// short count beyond), which bounds how long it runs with interrupts off.
pub(super) fn vectored(
    fd: i32,
    iov: u64,
    count: u64,
    dir: Direction,
    transfer: Transfer,
) -> SysResult {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let list = UserSlice::<Iovec>::new(iov, count)?.read_all(SCHED.lock().current_space())?;
    if list
        .iter()
        .try_fold(0u64, |sum, v| sum.checked_add(v.iov_len))
        .is_none_or(|sum| sum > i64::MAX as u64)
    {
        return Err(Errno::EINVAL);
    }
    let mut done = 0;
    for (i, v) in list.iter().enumerate().filter(|(_, v)| v.iov_len > 0) {
        let budget = IO_MAX as u64 - done;
        let reading_on = i > 0 && dir == Direction::Read && done > 0;
        if budget == 0 || reading_on && !transfer.wait_all && !readable_now(fd) {
            break;
        }
        let len = v.iov_len.min(budget);
        let moved = match dir {
            Direction::Read => file::read_with(fd, v.iov_base, len, transfer),
            Direction::Write => file::write_with(fd, v.iov_base, len, transfer),
        };
        match moved {
            Ok(n) => {
                done += n;
                if n < v.iov_len {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Whether a read of `fd` goes ahead without blocking.
fn readable_now(fd: i32) -> bool {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    match g.objects().cap(pid, fd) {
        Ok(Capability::Pipe(id, _)) => g.objects().caps.pipes.readiness(id).readable,
        Ok(Capability::Fifo(ofd, access)) => {
            let caps = &g.objects().caps;
            caps.pipes.readiness(caps.fifo(ofd, access).pipe).readable
        }
        Ok(Capability::Socket(end)) => end.readiness(&g.objects().caps.pipes).readable,
        _ => true,
    }
}

const TIOCGWINSZ: u32 = 0x5413;

/// `ioctl(fd, request, arg)`: TIOCGWINSZ on the console gives 24 rows of
/// 80 columns (so C libraries treat it as the terminal it is, and
/// line-buffer their output there); everything else is ENOTTY.
fn ioctl(fd: i32, request: u32, arg: u64) -> SysResult {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let cap = g.objects().cap(pid, fd)?;
    match (cap, request) {
        (Capability::Device(_, Device::Console), TIOCGWINSZ) => {
            // struct winsize: rows, columns, x and y pixels.
            let size: u64 = 24 | (80 << 16);
            UserPtr::<u64>::new(arg)?.write(g.current_space(), &size)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// `statx`'s mask: every basic field (STATX_BASIC_STATS), no birth time.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `statx` flags besides the `fstatat` ones: AT_NO_AUTOMOUNT and the sync
/// type (nothing is remote here, so they change nothing).
const STATX_IGNORED_FLAGS: u32 = 0x800 | 0x6000;
const STATX_RESERVED: u32 = 0x8000_0000;
/// `sizeof(struct statx)`.
const STATX_SIZE: usize = 256;

/// `statx(dirfd, path, flags, mask, buf)`: the basic fields, whatever the
/// mask asks (`stx_mask` says which are filled).
fn statx(dirfd: i32, path: u64, flags: u32, mask: u32, out: u64) -> SysResult {
    let lookup = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;
    if flags & !(lookup | STATX_IGNORED_FLAGS) != 0 || mask & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(path)?;
    let out = UserSlice::<u8>::new(out, STATX_SIZE as u64)?;
    let stat = {
        let mut g = SCHED.lock();
        let (pid, cred) = (g.current_pid(), g.current_cred().into());
        g.objects().stat(pid, cred, dirfd, &path, flags & lookup)?
    };
    out.write_bytes(SCHED.lock().current_space(), &statx_bytes(&stat))?;
    Ok(0)
}

/// A `struct statx` holding `st`.
fn statx_bytes(st: &Stat) -> [u8; STATX_SIZE] {
    let mut b = [0u8; STATX_SIZE];
    let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
    let major = |dev: u64| (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32;
    let minor = |dev: u64| ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32;
    put(0, &STATX_BASIC_STATS.to_le_bytes());
    put(4, &(st.st_blksize as u32).to_le_bytes());
    put(16, &(st.st_nlink as u32).to_le_bytes());
    put(20, &st.st_uid.to_le_bytes());
    put(24, &st.st_gid.to_le_bytes());
    put(28, &(st.st_mode as u16).to_le_bytes());
    put(32, &st.st_ino.to_le_bytes());
    put(40, &st.st_size.to_le_bytes());
    put(48, &st.st_blocks.to_le_bytes());
    for (at, sec, nsec) in [
        (64, st.st_atime, st.st_atime_nsec),
        (96, st.st_ctime, st.st_ctime_nsec),
        (112, st.st_mtime, st.st_mtime_nsec),
    ] {
        put(at, &sec.to_le_bytes());
        put(at + 8, &(nsec as u32).to_le_bytes());
    }
    put(128, &major(st.st_rdev).to_le_bytes());
    put(132, &minor(st.st_rdev).to_le_bytes());
    put(136, &major(st.st_dev).to_le_bytes());
    put(140, &minor(st.st_dev).to_le_bytes());
    b
}
