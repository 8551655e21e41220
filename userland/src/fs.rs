//! Files, directories and pipes: the raw system calls (each returning a
//! `Result`, with paths as `&str`) and an idiomatic layer over them —
//! [`File`] (closed when dropped) opened with [`OpenOptions`], and
//! [`read`], [`write`], [`read_dir`] for whole files and directories, as
//! `std::fs` has them. The flag and mode values and [`Stat`] are `abi::fs`'s
//! (Linux's).

use crate::sys::{Errno, check, syscall, syscall1, syscall2, syscall3, syscall4};
use abi::Sys;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub use abi::fs::*;

fn fd_result(ret: isize) -> Result<i32, Errno> {
    check(ret).map(|fd| fd as i32)
}

fn unit(ret: isize) -> Result<(), Errno> {
    check(ret).map(|_| ())
}

/// A descriptor as a register value (negative ones, such as
/// [`AT_FDCWD`], sign-extended).
fn reg(fd: i32) -> usize {
    fd as isize as usize
}

/// `openat(dirfd, path, flags, mode)`: a new descriptor.
pub fn openat(dirfd: i32, path: &str, flags: u32, mode: u32) -> Result<i32, Errno> {
    fd_result(syscall(
        Sys::Openat,
        [
            reg(dirfd),
            path.as_ptr() as usize,
            path.len(),
            flags as usize,
            mode as usize,
            0,
        ],
    ))
}

/// `open(path, flags, mode)` from the current directory.
pub fn open(path: &str, flags: u32, mode: u32) -> Result<i32, Errno> {
    openat(AT_FDCWD, path, flags, mode)
}

pub fn close(fd: i32) -> Result<(), Errno> {
    unit(syscall1(Sys::Close, reg(fd)))
}

pub fn read_fd(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    check(syscall3(
        Sys::Read,
        reg(fd),
        buf.as_mut_ptr() as usize,
        buf.len(),
    ))
}

pub fn write_fd(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    check(syscall3(
        Sys::Write,
        reg(fd),
        data.as_ptr() as usize,
        data.len(),
    ))
}

pub fn pread(fd: i32, buf: &mut [u8], offset: i64) -> Result<usize, Errno> {
    check(syscall4(
        Sys::Pread,
        reg(fd),
        buf.as_mut_ptr() as usize,
        buf.len(),
        offset as usize,
    ))
}

pub fn pwrite(fd: i32, data: &[u8], offset: i64) -> Result<usize, Errno> {
    check(syscall4(
        Sys::Pwrite,
        reg(fd),
        data.as_ptr() as usize,
        data.len(),
        offset as usize,
    ))
}

/// `lseek`: the new offset.
pub fn lseek(fd: i32, offset: i64, whence: u32) -> Result<u64, Errno> {
    check(syscall3(
        Sys::Lseek,
        reg(fd),
        offset as usize,
        whence as usize,
    ))
    .map(|o| o as u64)
}

pub fn fstat(fd: i32) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    unit(syscall2(Sys::Fstat, reg(fd), &mut st as *mut Stat as usize))?;
    Ok(st)
}

pub fn fstatat(dirfd: i32, path: &str, flags: u32) -> Result<Stat, Errno> {
    let mut st = Stat::default();
    unit(syscall(
        Sys::Fstatat,
        [
            reg(dirfd),
            path.as_ptr() as usize,
            path.len(),
            &mut st as *mut Stat as usize,
            flags as usize,
            0,
        ],
    ))?;
    Ok(st)
}

pub fn stat(path: &str) -> Result<Stat, Errno> {
    fstatat(AT_FDCWD, path, 0)
}

/// `getdents64`: records (see [`decode_dirents64`]) into `buf`; 0 at the end.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    check(syscall3(
        Sys::Getdents64,
        reg(fd),
        buf.as_mut_ptr() as usize,
        buf.len(),
    ))
}

pub fn ftruncate(fd: i32, len: i64) -> Result<(), Errno> {
    unit(syscall2(Sys::Ftruncate, reg(fd), len as usize))
}

pub fn fchmod(fd: i32, mode: u32) -> Result<(), Errno> {
    unit(syscall2(Sys::Fchmod, reg(fd), mode as usize))
}

pub fn fchmodat(dirfd: i32, path: &str, mode: u32) -> Result<(), Errno> {
    unit(syscall4(
        Sys::Fchmodat,
        reg(dirfd),
        path.as_ptr() as usize,
        path.len(),
        mode as usize,
    ))
}

pub fn chmod(path: &str, mode: u32) -> Result<(), Errno> {
    fchmodat(AT_FDCWD, path, mode)
}

pub fn mkdirat(dirfd: i32, path: &str, mode: u32) -> Result<(), Errno> {
    unit(syscall4(
        Sys::Mkdirat,
        reg(dirfd),
        path.as_ptr() as usize,
        path.len(),
        mode as usize,
    ))
}

pub fn mkdir(path: &str, mode: u32) -> Result<(), Errno> {
    mkdirat(AT_FDCWD, path, mode)
}

pub fn unlinkat(dirfd: i32, path: &str, flags: u32) -> Result<(), Errno> {
    unit(syscall4(
        Sys::Unlinkat,
        reg(dirfd),
        path.as_ptr() as usize,
        path.len(),
        flags as usize,
    ))
}

pub fn unlink(path: &str) -> Result<(), Errno> {
    unlinkat(AT_FDCWD, path, 0)
}

pub fn rmdir(path: &str) -> Result<(), Errno> {
    unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
}

pub fn renameat(from_dirfd: i32, from: &str, to_dirfd: i32, to: &str) -> Result<(), Errno> {
    unit(syscall(
        Sys::Renameat,
        [
            reg(from_dirfd),
            from.as_ptr() as usize,
            from.len(),
            reg(to_dirfd),
            to.as_ptr() as usize,
            to.len(),
        ],
    ))
}

pub fn rename(from: &str, to: &str) -> Result<(), Errno> {
    renameat(AT_FDCWD, from, AT_FDCWD, to)
}

pub fn faccessat(dirfd: i32, path: &str, mode: u32, flags: u32) -> Result<(), Errno> {
    unit(syscall(
        Sys::Faccessat,
        [
            reg(dirfd),
            path.as_ptr() as usize,
            path.len(),
            mode as usize,
            flags as usize,
            0,
        ],
    ))
}

/// `access`: checked with the real ids.
pub fn access(path: &str, mode: u32) -> Result<(), Errno> {
    faccessat(AT_FDCWD, path, mode, 0)
}

pub fn chdir(path: &str) -> Result<(), Errno> {
    unit(syscall2(Sys::Chdir, path.as_ptr() as usize, path.len()))
}

pub fn fchdir(fd: i32) -> Result<(), Errno> {
    unit(syscall1(Sys::Fchdir, reg(fd)))
}

/// The current directory's absolute path.
pub fn getcwd() -> Result<String, Errno> {
    let mut buf = vec![0u8; PATH_MAX];
    let len = check(syscall2(Sys::Getcwd, buf.as_mut_ptr() as usize, buf.len()))?;
    buf.truncate(len.saturating_sub(1));
    String::from_utf8(buf).map_err(|_| Errno::EINVAL)
}

/// Sets the file mode creation mask; returns the old one.
pub fn umask(mask: u32) -> u32 {
    syscall1(Sys::Umask, mask as usize) as u32
}

/// `pipe2(flags)`: `(read end, write end)`.
pub fn pipe2(flags: u32) -> Result<(i32, i32), Errno> {
    let mut fds = [-1i32; 2];
    unit(syscall2(
        Sys::Pipe2,
        fds.as_mut_ptr() as usize,
        flags as usize,
    ))?;
    Ok((fds[0], fds[1]))
}

/// A pipe: `(read end, write end)`.
pub fn pipe() -> Result<(i32, i32), Errno> {
    pipe2(0)
}

pub fn dup(fd: i32) -> Result<i32, Errno> {
    fd_result(syscall1(Sys::Dup, reg(fd)))
}

pub fn dup3(old: i32, new: i32, flags: u32) -> Result<i32, Errno> {
    fd_result(syscall3(Sys::Dup3, reg(old), reg(new), flags as usize))
}

/// `dup2`: [`dup3`] without flags, except that `old == new` only checks
/// that `old` is open.
pub fn dup2(old: i32, new: i32) -> Result<i32, Errno> {
    if old == new {
        return fcntl(old, F_GETFD, 0).map(|_| new);
    }
    dup3(old, new, 0)
}

pub fn fcntl(fd: i32, cmd: u32, arg: usize) -> Result<usize, Errno> {
    check(syscall3(Sys::Fcntl, reg(fd), cmd as usize, arg))
}

/// An open descriptor of a file, directory, device or pipe end, closed
/// when dropped.
#[derive(Debug)]
pub struct File {
    fd: i32,
}

impl File {
    /// Opens `path` for reading.
    pub fn open(path: &str) -> Result<File, Errno> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens `path` for writing, created (0666 less the umask) or
    /// truncated.
    pub fn create(path: &str) -> Result<File, Errno> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    /// Takes ownership of descriptor `fd`.
    pub fn from_fd(fd: i32) -> File {
        File { fd }
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Gives the descriptor up without closing it.
    pub fn into_fd(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }

    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        read_fd(self.fd, buf)
    }

    /// Reads until the end.
    pub fn read_to_end(&self) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 4096];
        loop {
            match self.read(&mut chunk)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&chunk[..n]),
            }
        }
    }

    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        write_fd(self.fd, data)
    }

    /// Writes all of `data` (in as many calls as it takes).
    pub fn write_all(&self, mut data: &[u8]) -> Result<(), Errno> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        pread(self.fd, buf, offset as i64)
    }

    pub fn write_at(&self, data: &[u8], offset: u64) -> Result<usize, Errno> {
        pwrite(self.fd, data, offset as i64)
    }

    /// `lseek(offset, whence)`: the new offset.
    pub fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        lseek(self.fd, offset, whence)
    }

    pub fn metadata(&self) -> Result<Stat, Errno> {
        fstat(self.fd)
    }

    pub fn set_len(&self, len: u64) -> Result<(), Errno> {
        ftruncate(self.fd, len as i64)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = close(self.fd);
    }
}

/// How to open a file, as `std::fs::OpenOptions` says it.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    flags: u32,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Nothing asked for yet; created files get mode 0666 (less the umask).
    pub fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            flags: 0,
            mode: 0o666,
        }
    }

    pub fn read(mut self, on: bool) -> Self {
        self.read = on;
        self
    }

    pub fn write(mut self, on: bool) -> Self {
        self.write = on;
        self
    }

    fn flag(mut self, flag: u32, on: bool) -> Self {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
        self
    }

    /// Every write goes to the end (implies writing).
    pub fn append(self, on: bool) -> Self {
        let write = self.write || on;
        self.flag(O_APPEND, on).write(write)
    }

    pub fn truncate(self, on: bool) -> Self {
        self.flag(O_TRUNC, on)
    }

    pub fn create(self, on: bool) -> Self {
        self.flag(O_CREAT, on)
    }

    /// Creates the file, failing with EEXIST if it exists.
    pub fn create_new(self, on: bool) -> Self {
        self.flag(O_CREAT | O_EXCL, on)
    }

    /// The mode a created file gets (before the umask).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Other `O_*` flags (`O_NONBLOCK`, `O_DIRECTORY`, `O_CLOEXEC`, ...).
    pub fn custom_flags(mut self, flags: u32) -> Self {
        self.flags |= flags;
        self
    }

    /// The `open` flags these options make.
    pub fn flags(&self) -> u32 {
        let access = match (self.read, self.write) {
            (_, false) => O_RDONLY,
            (false, true) => O_WRONLY,
            (true, true) => O_RDWR,
        };
        access | self.flags
    }

    pub fn open(&self, path: &str) -> Result<File, Errno> {
        open(path, self.flags(), self.mode).map(File::from_fd)
    }
}

/// A whole file's contents.
pub fn read(path: &str) -> Result<Vec<u8>, Errno> {
    File::open(path)?.read_to_end()
}

/// Makes `path` hold `data` (created or truncated).
pub fn write(path: &str, data: &[u8]) -> Result<(), Errno> {
    File::create(path)?.write_all(data)
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub ino: u64,
    /// `DT_*`.
    pub kind: u8,
}

/// Every entry of directory `fd` from its offset on (`.` and `..`
/// included).
pub fn entries(fd: i32) -> Result<Vec<DirEntry>, Errno> {
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::new();
    loop {
        let n = getdents64(fd, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        for (head, name) in decode_dirents64(&buf[..n]) {
            out.push(DirEntry {
                name: String::from_utf8_lossy(name).into_owned(),
                ino: head.d_ino,
                kind: head.d_type,
            });
        }
    }
}

/// The entries of directory `path` (`.` and `..` included).
pub fn read_dir(path: &str) -> Result<Vec<DirEntry>, Errno> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(O_DIRECTORY)
        .open(path)?;
    entries(dir.fd())
}
