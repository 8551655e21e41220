//! INTERIM, until the file system's calls are merged: descriptors 1 and 2
//! write to the kernel console, `poll` reports 0 to 2 ready, and
//! `open`/`openat` of an absolute path open the door attached there (the
//! flat fattach name space).

use super::SysResult;
use crate::mem::user::UserSlice;
use crate::task::SCHED;
use abi::linux::Iovec;
use abi::{DEBUG_WRITE_MAX, Errno};

/// Most entries of one `writev` (Linux's `IOV_MAX`).
const IOV_MAX: u64 = 1024;

fn console(fd: u64) -> Result<(), Errno> {
    match fd {
        1 | 2 => Ok(()),
        _ => Err(Errno::EBADF),
    }
}

pub fn write(fd: u64, buf: u64, len: u64) -> SysResult {
    console(fd)?;
    super::super::debug_write(buf, len)
}

pub fn writev(fd: u64, iov: u64, count: u64) -> SysResult {
    console(fd)?;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let list = UserSlice::<Iovec>::new(iov, count)?.read_all(SCHED.lock().current_space())?;
    let mut done = 0;
    for v in list {
        let len = v.iov_len.min(DEBUG_WRITE_MAX as u64);
        let bytes =
            UserSlice::<u8>::new(v.iov_base, len)?.read_all(SCHED.lock().current_space())?;
        crate::log::write_bytes(&bytes);
        done += len;
    }
    Ok(done)
}

pub fn open(path: u64) -> SysResult {
    let len = super::path_arg(path)?.len() as u64;
    super::super::door::open(path, len)
}

pub fn openat(_dirfd: u64, path: u64) -> SysResult {
    open(path)
}

/// Most entries of one `poll`.
const POLL_MAX: u64 = 1024;

/// `struct pollfd` as three little-endian fields.
fn pollfd(b: &[u8]) -> (i32, i16) {
    (
        i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        i16::from_le_bytes([b[4], b[5]]),
    )
}

const POLLIN: i16 = 1;
const POLLOUT: i16 = 4;
const POLLNVAL: i16 = 0x20;

pub fn poll(fds: u64, count: u64) -> SysResult {
    if count > POLL_MAX {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    let space = g.current_space();
    let list = UserSlice::<u8>::new(fds, count * 8)?;
    let mut bytes = list.read_all(space)?;
    let mut ready = 0;
    for entry in bytes.chunks_exact_mut(8) {
        let (fd, events) = pollfd(entry);
        let revents = match fd {
            0..=2 => events & (POLLIN | POLLOUT),
            f if f < 0 => 0,
            _ => POLLNVAL,
        };
        ready += u64::from(revents != 0);
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
    }
    list.write_bytes(space, &bytes)?;
    Ok(ready)
}
