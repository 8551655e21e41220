//! Linux's socket calls for the one kind of socket there is here: the
//! connected stream pairs of `socketpair(AF_UNIX, SOCK_STREAM, 0)`
//! (`kernel::socket`, on two pipes). `send`/`recv` (`sendto`/`recvfrom`
//! without an address) and `sendmsg`/`recvmsg` (their iovecs, no control
//! data) are `write`/`read` with Linux's flags: `MSG_DONTWAIT` never
//! blocks, `MSG_WAITALL` reads until the buffer is full (or end of file,
//! an error, a signal), `MSG_NOSIGNAL` keeps SIGPIPE from a write the
//! peer will never read. The calls on a descriptor that is not a socket
//! are ENOTSOCK, as Linux.

use super::super::file::{self, Transfer};
use super::file::{Direction, vectored};
use super::signal::sigpipe;
use super::{SysResult, int_arg};
use crate::mem::user::UserPtr;
use crate::task::SCHED;
use abi::Errno;
use abi::linux::Msghdr;
use abi::linux::socket::{
    AF_UNIX, MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_WAITALL, SOCK_CLOEXEC,
    SOCK_NONBLOCK, SOCK_STREAM, SOCK_TYPE_MASK,
};
use kernel::cap::Capability;

/// `MSG_OOB` and `MSG_PEEK`: flags of a kind of transfer there is not here.
const UNSUPPORTED: u32 = 0x1 | 0x2;

/// `socketpair(domain, type, protocol, sv)`: EAFNOSUPPORT for a domain
/// other than AF_UNIX, ESOCKTNOSUPPORT for a type other than SOCK_STREAM
/// (datagram and sequenced-packet pairs are not made here), EINVAL for
/// flags other than SOCK_NONBLOCK and SOCK_CLOEXEC, EPROTONOSUPPORT for
/// a protocol other than 0 (or AF_UNIX, as Linux takes).
pub fn socketpair(domain: u64, kind: u64, protocol: u64, sv: u64) -> SysResult {
    let (domain, kind, protocol) = (domain as u32, kind as u32, protocol as u32);
    if domain != AF_UNIX {
        return Err(Errno::EAFNOSUPPORT);
    }
    if kind & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if kind & SOCK_TYPE_MASK != SOCK_STREAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != 0 && protocol != AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let (nonblock, cloexec) = (kind & SOCK_NONBLOCK != 0, kind & SOCK_CLOEXEC != 0);
    file::socketpair(sv, nonblock, cloexec)
}

/// `shutdown(fd, how)`.
pub fn shutdown(fd: u64, how: u64) -> SysResult {
    file::shutdown(int_arg(fd), how as u32)
}

/// ENOTSOCK unless `fd` names a socket (EBADF if nothing).
fn socket(fd: i32) -> Result<(), Errno> {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    match g.objects().cap(pid, fd)? {
        Capability::Socket(_) => Ok(()),
        _ => Err(Errno::ENOTSOCK),
    }
}

/// The transfer `flags` asks for (ENOTSUP for MSG_OOB and MSG_PEEK; the
/// flags Linux's stream sockets ignore are ignored).
fn transfer(flags: u32) -> Result<Transfer, Errno> {
    if flags & UNSUPPORTED != 0 {
        return Err(Errno::ENOTSUP);
    }
    Ok(Transfer {
        dont_wait: flags & MSG_DONTWAIT != 0,
        wait_all: flags & MSG_WAITALL != 0,
    })
}

/// A write's `result`, with SIGPIPE unless `flags` has MSG_NOSIGNAL.
fn sent(result: SysResult, flags: u32) -> SysResult {
    match flags & MSG_NOSIGNAL {
        0 => sigpipe(result),
        _ => result,
    }
}

/// `sendto(fd, buf, len, flags, addr, addrlen)` (`send`): EISCONN with an
/// address (the pair is connected).
pub fn sendto(a: [u64; 6]) -> SysResult {
    let (fd, flags) = (int_arg(a[0]), a[3] as u32);
    socket(fd)?;
    if a[4] != 0 {
        return Err(Errno::EISCONN);
    }
    let transfer = transfer(flags)?;
    sent(file::write_with(fd, a[1], a[2], transfer), flags)
}

/// `recvfrom(fd, buf, len, flags, addr, addrlen)` (`recv`): the peer has
/// no address, so `*addrlen` (if asked) becomes 0.
pub fn recvfrom(a: [u64; 6]) -> SysResult {
    let (fd, flags) = (int_arg(a[0]), a[3] as u32);
    socket(fd)?;
    let transfer = transfer(flags)?;
    let addrlen = match (a[4], a[5]) {
        (0, _) | (_, 0) => None,
        (_, at) => Some(UserPtr::<u32>::writable(at, SCHED.lock().current_space())?),
    };
    let read = file::read_with(fd, a[1], a[2], transfer)?;
    if let Some(addrlen) = addrlen {
        addrlen.write(SCHED.lock().current_space(), &0)?;
    }
    Ok(read)
}

/// The `struct msghdr` at `at`, its iovecs what moves: EISCONN with an
/// address for a send, ENOTSUP with control data (descriptors travel in
/// door calls here, not over sockets).
fn message(at: u64, sending: bool) -> Result<Msghdr, Errno> {
    let msg = UserPtr::<Msghdr>::new(at)?.read(SCHED.lock().current_space())?;
    if sending && msg.msg_name != 0 && msg.msg_namelen != 0 {
        return Err(Errno::EISCONN);
    }
    if sending && msg.msg_controllen != 0 {
        return Err(Errno::ENOTSUP);
    }
    Ok(msg)
}

/// `sendmsg(fd, msg, flags)`.
pub fn sendmsg(fd: u64, msg: u64, flags: u64) -> SysResult {
    let (fd, flags) = (int_arg(fd), flags as u32);
    socket(fd)?;
    let transfer = transfer(flags)?;
    let msg = message(msg, true)?;
    let moved = vectored(fd, msg.msg_iov, msg.msg_iovlen, Direction::Write, transfer);
    sent(moved, flags)
}

/// `recvmsg(fd, msg, flags)`: the peer has no address and sends no
/// control data, so `msg_namelen`, `msg_controllen` and `msg_flags`
/// come back 0.
pub fn recvmsg(fd: u64, at: u64, flags: u64) -> SysResult {
    let (fd, flags) = (int_arg(fd), flags as u32);
    socket(fd)?;
    let transfer = transfer(flags & !MSG_CMSG_CLOEXEC)?;
    let msg = message(at, false)?;
    let out = UserPtr::<Msghdr>::writable(at, SCHED.lock().current_space())?;
    let read = vectored(fd, msg.msg_iov, msg.msg_iovlen, Direction::Read, transfer)?;
    let back = Msghdr {
        msg_namelen: 0,
        msg_controllen: 0,
        msg_flags: 0,
        ..msg
    };
    out.write(SCHED.lock().current_space(), &back)?;
    Ok(read)
}
