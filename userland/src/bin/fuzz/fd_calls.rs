//! How the fuzzer makes the calls on descriptors of every kind: `read`,
//! `write`, `pread`, `pwrite`, `lseek`, `fstat`, `getdents64`,
//! `ftruncate`, `fchmod`, `fchdir` (`close`, `dup`, `dup3`, `fcntl` and
//! `pipe2` are in [`crate::dup_calls`]).
//!
//! A descriptor argument ([`FdArg`]) is one of the thread's own (whose
//! kind, access mode, offset and pipe bytes it knows: the result is judged
//! exactly, contents included), a value naming nothing (EBADF), one that
//! is no `int` (EBADF as it is decoded), or one of the pool (anything).
//! Buffers come from every pointer class with counts from every size
//! class, huge ones included (a call moves at most `IO_MAX` bytes, and
//! the whole range must be mapped).

use crate::fuzzer::{Ctx, Expect};
use crate::mem::{self, Access, Ptr, SCRATCH_RW};
use crate::model::{Stage, Stages};
use crate::own::{Desc, Dev, End, Kind, Origin, OwnFd};
use crate::paths::{bad_fd, undecodable_fd};
use userland::abi::Errno;
use userland::abi::fs::{
    IO_MAX, PIPE_BUF, S_IFCHR, S_IFDIR, S_IFDOOR, S_IFIFO, S_IFMT, S_IFREG, SEEK_CUR, SEEK_END,
    SEEK_SET, Stat, decode_dirents64, dirent64_reclen, makedev,
};

/// Bytes a pipe holds.
const PIPE_SIZE: usize = 64 * 1024;

/// A descriptor argument.
#[derive(Clone, Copy, Debug)]
pub enum FdArg {
    Own(OwnFd),
    /// Names nothing open: EBADF when looked up.
    Bad(usize),
    /// No `int`: EBADF as it is decoded.
    Undecodable(usize),
    /// From the pool: anything.
    Pool(usize),
}

impl FdArg {
    pub fn value(self) -> usize {
        match self {
            FdArg::Own(own) => own.fd as usize,
            FdArg::Bad(v) | FdArg::Undecodable(v) | FdArg::Pool(v) => v,
        }
    }

    /// Decoding it.
    pub fn decode(self) -> Stage {
        decode_fd(self.value())
    }

    /// Looking it up in the table.
    pub fn lookup(self) -> Stage {
        match self {
            FdArg::Own(_) => Stage::Pass,
            FdArg::Bad(_) | FdArg::Undecodable(_) => Stage::Fail(Errno::EBADF),
            FdArg::Pool(_) => Stage::Unknown,
        }
    }
}

/// Decoding descriptor argument `value`: EBADF unless it is an `int`.
pub fn decode_fd(value: usize) -> Stage {
    match i32::try_from(value as i64) {
        Ok(_) => Stage::Pass,
        Err(_) => Stage::Fail(Errno::EBADF),
    }
}

/// A descriptor argument: most often an own one, preferably one `want`
/// takes.
pub fn fd_arg(c: &mut Ctx, want: impl Fn(&Desc) -> bool) -> FdArg {
    let pick = c.rng.index(1 << 16);
    let own = match c.rng.below(20) {
        0..=9 => c.own.find(pick, want),
        10..=12 => c.own.find(pick, |_| true),
        13..=14 => return FdArg::Bad(bad_fd(c)),
        15 => return FdArg::Undecodable(undecodable_fd(c)),
        _ => None,
    };
    match own {
        Some(own) => FdArg::Own(own),
        None => FdArg::Pool(c.fd()),
    }
}

/// The own descriptor and a copy of its description, if `fd` is one.
pub fn own_desc(c: &Ctx, fd: FdArg) -> Option<(OwnFd, Desc)> {
    match fd {
        FdArg::Own(own) => Some((own, *c.own.desc(own.desc))),
        _ => None,
    }
}

/// Whether the kernel may store `span` bytes at `buf`.
fn sink(buf: Ptr, span: usize) -> Stage {
    match buf.access {
        Access::Write => Stage::Pass,
        Access::Read if span == 0 => Stage::Pass,
        Access::Read | Access::Bad => Stage::Fail(Errno::EFAULT),
        Access::Unknown => Stage::Unknown,
    }
}

/// Whether the kernel may take bytes from `buf`.
fn source(buf: Ptr) -> Stage {
    match buf.access {
        Access::Write | Access::Read => Stage::Pass,
        Access::Bad => Stage::Fail(Errno::EFAULT),
        Access::Unknown => Stage::Unknown,
    }
}

fn check(ok: bool) -> Stage {
    if ok {
        Stage::Pass
    } else {
        Stage::Fail(Errno::EBADF)
    }
}

/// A buffer for `span` bytes: most often in the scratch area, else from
/// every class.
pub fn io_buf(c: &mut Ctx, span: usize) -> Ptr {
    if span <= SCRATCH_RW && c.rng.chance(60) {
        let misalign = c.rng.chance(30);
        let addr = c.scratch.slot(&mut c.rng, span, misalign);
        Ptr {
            addr,
            access: Access::Write,
        }
    } else {
        c.ptr(span)
    }
}

/// A byte count: every size class, and the pipe and transfer bounds.
fn io_count(c: &mut Ctx) -> usize {
    if c.rng.chance(70) {
        mem::size(&mut c.rng)
    } else {
        c.rng
            .pick(&[0, PIPE_BUF, PIPE_BUF + 1, PIPE_SIZE, IO_MAX, IO_MAX + 1])
    }
}

/// A file offset: small, around a page, huge, negative, the largest.
fn offset_arg(c: &mut Ctx) -> i64 {
    match c.rng.below(6) {
        0 | 1 => c.rng.below(3 * 4096) as i64,
        2 => c.rng.pick(&[-1, i64::MIN, -4096]),
        3 => c.rng.pick(&[i64::MAX, i64::MAX - 4096, 1 << 40]),
        _ => c.rng.boundary() as i64,
    }
}

/// What a read of `span` bytes from own pipe `id` gives.
fn pipe_read(c: &Ctx, id: u32, span: usize) -> Expect {
    let pipe = c.own.pipe(id);
    if pipe.shared {
        return Expect::SuccessOr(&[Errno::EAGAIN]);
    }
    let queued = pipe.queued.len();
    match () {
        _ if span == 0 => Expect::Value(0),
        _ if queued > 0 => Expect::Value(span.min(queued) as isize),
        _ if c.own.end_gone(id, End::Write) => Expect::Value(0),
        _ => Expect::Errno(Errno::EAGAIN),
    }
}

/// What a non-blocking write of `span` bytes to own pipe `id` gives.
fn pipe_write(c: &Ctx, id: u32, span: usize) -> Expect {
    let pipe = c.own.pipe(id);
    if pipe.shared {
        return Expect::SuccessOr(&[Errno::EAGAIN, Errno::EPIPE]);
    }
    let room = PIPE_SIZE - pipe.queued.len();
    match () {
        _ if span == 0 => Expect::Value(0),
        _ if c.own.end_gone(id, End::Read) => Expect::Errno(Errno::EPIPE),
        _ if span <= PIPE_BUF && room < span || room == 0 => Expect::Errno(Errno::EAGAIN),
        _ => Expect::Value(span.min(room) as isize),
    }
}

/// What writing `span` bytes at `offset` (if known) of a file gives.
fn file_write(offset: Option<u64>, span: usize) -> Expect {
    match offset {
        _ if span == 0 => Expect::Value(0),
        Some(at) if at.saturating_add(span as u64) > i64::MAX as u64 => Expect::Errno(Errno::EFBIG),
        Some(_) => Expect::ValueOr(span as isize, &[Errno::ENOSPC]),
        None => Expect::ValueOr(span as isize, &[Errno::ENOSPC, Errno::EFBIG]),
    }
}

pub fn read(c: &mut Ctx) {
    let fd = fd_arg(c, Desc::readable);
    let count = io_count(c);
    let span = count.min(IO_MAX);
    let buf = io_buf(c, span);
    let own = own_desc(c, fd);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        s.then(check(desc.readable())).then(sink(buf, span));
        success = match desc.kind {
            Kind::Dir => Expect::Errno(Errno::EISDIR),
            Kind::Device(Dev::Null | Dev::Console) => Expect::Value(0),
            Kind::Device(Dev::Zero) => Expect::Value(span as isize),
            Kind::Pipe(id, _) => pipe_read(c, id, span),
            Kind::File { .. } | Kind::Door => Expect::SuccessOr(&[]),
        };
    }
    let ret = c.issue([fd.value(), buf.addr, count, 0, 0, 0], s.expect(success));
    if ret < 0 {
        return;
    }
    let n = ret as usize;
    c.check(n <= span, format_args!("read {n} bytes of {span}"));
    let Some((_, desc)) = own else { return };
    let got = c.scratch.read(buf.addr, n);
    match desc.kind {
        Kind::Device(Dev::Zero) => c.check(
            got.is_none_or(|b| b.iter().all(|&x| x == 0)),
            format_args!("/dev/zero gave bytes other than zeros"),
        ),
        Kind::Pipe(id, _) if !c.own.pipe(id).shared => {
            let queued = &mut c.own.pipe_mut(id).queued;
            let want: alloc::vec::Vec<u8> = queued.drain(..n.min(queued.len())).collect();
            c.check(
                got.is_none_or(|b| b == want),
                format_args!("a pipe gave other bytes than were written to it"),
            );
        }
        _ => advance(c, fd, n),
    }
}

/// Moves the known offset of own descriptor `fd` by `n` bytes.
fn advance(c: &mut Ctx, fd: FdArg, n: usize) {
    if let FdArg::Own(own) = fd {
        let desc = c.own.desc_mut(own.desc);
        if matches!(desc.kind, Kind::File { .. }) {
            desc.offset = desc.offset.map(|at| at + n as u64);
        }
    }
}

pub fn write(c: &mut Ctx) {
    let fd = fd_arg(c, Desc::writable);
    let count = io_count(c);
    let span = count.min(IO_MAX);
    let buf = io_buf(c, span);
    let own = own_desc(c, fd);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        s.then(check(desc.writable())).then(source(buf));
        success = match desc.kind {
            Kind::Device(_) => Expect::Value(span as isize),
            Kind::Pipe(id, _) => pipe_write(c, id, span),
            Kind::File { .. } if desc.append => file_write(None, span),
            Kind::File { .. } => file_write(desc.offset, span),
            Kind::Dir | Kind::Door => Expect::SuccessOr(&[]),
        };
    }
    let ret = c.issue([fd.value(), buf.addr, count, 0, 0, 0], s.expect(success));
    if ret < 0 {
        return;
    }
    let n = ret as usize;
    c.check(n <= span, format_args!("wrote {n} bytes of {span}"));
    let Some((own, desc)) = own else { return };
    match desc.kind {
        Kind::Pipe(id, _) if !c.own.pipe(id).shared => match c.scratch.peek(buf.addr, n) {
            Some(bytes) => c.own.pipe_mut(id).queued.extend(bytes),
            None => c.own.pipe_mut(id).shared = true,
        },
        Kind::File { .. } if desc.append => c.own.desc_mut(own.desc).offset = None,
        _ => advance(c, fd, n),
    }
}

pub fn pread(c: &mut Ctx) {
    let fd = fd_arg(c, Desc::readable);
    let (count, offset) = (io_count(c), offset_arg(c));
    let span = count.min(IO_MAX);
    let buf = io_buf(c, span);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own_desc(c, fd) {
        s.then(check(desc.readable()))
            .then(if offset < 0 {
                Stage::Fail(Errno::EINVAL)
            } else {
                Stage::Pass
            })
            .then(match desc.kind {
                Kind::Pipe(..) => Stage::Fail(Errno::ESPIPE),
                _ => Stage::Pass,
            })
            .then(sink(buf, span));
        success = match desc.kind {
            Kind::Device(Dev::Console) => Expect::Errno(Errno::ESPIPE),
            Kind::Dir => Expect::Errno(Errno::EISDIR),
            Kind::Device(Dev::Null) => Expect::Value(0),
            Kind::Device(Dev::Zero) => Expect::Value(span as isize),
            _ => Expect::SuccessOr(&[]),
        };
    }
    let args = [fd.value(), buf.addr, count, offset as usize, 0, 0];
    let ret = c.issue(args, s.expect(success));
    c.check(
        ret <= span as isize,
        format_args!("read {ret} bytes of {span}"),
    );
}

pub fn pwrite(c: &mut Ctx) {
    let fd = fd_arg(c, Desc::writable);
    let (count, offset) = (io_count(c), offset_arg(c));
    let span = count.min(IO_MAX);
    let buf = io_buf(c, span);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own_desc(c, fd) {
        s.then(check(desc.writable()))
            .then(if offset < 0 {
                Stage::Fail(Errno::EINVAL)
            } else {
                Stage::Pass
            })
            .then(match desc.kind {
                Kind::Pipe(..) => Stage::Fail(Errno::ESPIPE),
                _ => Stage::Pass,
            })
            .then(source(buf));
        success = match desc.kind {
            Kind::Device(_) => Expect::Value(span as isize),
            _ => file_write(Some(offset as u64), span),
        };
    }
    let args = [fd.value(), buf.addr, count, offset as usize, 0, 0];
    let ret = c.issue(args, s.expect(success));
    c.check(
        ret <= span as isize,
        format_args!("wrote {ret} bytes of {span}"),
    );
}

pub fn lseek(c: &mut Ctx) {
    let fd = fd_arg(c, |d| matches!(d.kind, Kind::File { .. } | Kind::Dir));
    let offset = offset_arg(c);
    let whence = c.rng.pick(&[
        SEEK_SET as usize,
        SEEK_SET as usize,
        SEEK_CUR as usize,
        SEEK_END as usize,
        3,
        u32::MAX as usize,
        1 << 32,
    ]);
    let valid = whence <= SEEK_END as usize;
    let mut s = Stages::new();
    s.then(fd.decode())
        .then(match u32::try_from(whence) {
            Ok(_) => Stage::Pass,
            Err(_) => Stage::Fail(Errno::EINVAL),
        })
        .then(fd.lookup());
    let own = own_desc(c, fd);
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        let base = match (whence as u32, desc.kind) {
            (SEEK_SET, _) => Some(0),
            (SEEK_CUR, _) => desc.offset,
            _ => None,
        };
        let target = base
            .and_then(|b| i64::try_from(b).ok())
            .map(|b| b.checked_add(offset).filter(|&t| t >= 0));
        success = match desc.kind {
            Kind::Pipe(..) | Kind::Door | Kind::Device(Dev::Console) => {
                Expect::Errno(Errno::ESPIPE)
            }
            Kind::Device(_) if valid => Expect::Value(0),
            Kind::Dir if whence as u32 == SEEK_END => Expect::Errno(Errno::EINVAL),
            _ if !valid => Expect::Errno(Errno::EINVAL),
            _ => match target {
                Some(Some(t)) => Expect::Value(t as isize),
                Some(None) => Expect::Errno(Errno::EINVAL),
                None => Expect::Any,
            },
        };
    }
    let ret = c.issue(
        [fd.value(), offset as usize, whence, 0, 0, 0],
        s.expect(success),
    );
    if let Some((own, desc)) = own
        && ret >= 0
        && !desc.shared
        && matches!(desc.kind, Kind::File { .. } | Kind::Dir)
    {
        c.own.desc_mut(own.desc).offset = Some(ret as u64);
    }
}

/// The `st_mode` file type and `st_dev` an own description's `fstat`
/// reports.
fn stat_type(kind: Kind) -> (u32, u64) {
    match kind {
        Kind::Door => (S_IFDOOR, makedev(0, 3)),
        Kind::Dir => (S_IFDIR, makedev(0, 1)),
        Kind::File { .. } => (S_IFREG, makedev(0, 1)),
        Kind::Device(_) => (S_IFCHR, makedev(0, 1)),
        Kind::Pipe(..) => (S_IFIFO, makedev(0, 2)),
    }
}

pub fn fstat(c: &mut Ctx) {
    let fd = fd_arg(c, |_| true);
    let out = io_buf(c, size_of::<Stat>());
    let own = own_desc(c, fd);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup()).then(sink(out, 1));
    let ret = c.issue(
        [fd.value(), out.addr, 0, 0, 0, 0],
        s.expect(Expect::Value(0)),
    );
    if ret != 0 {
        return;
    }
    if let (Some((_, desc)), Some(stat)) = (own, c.scratch.get::<Stat>(out.addr)) {
        check_stat(c, &desc, &stat);
    }
}

/// Checks what `fstat` of own description `desc` reported.
pub fn check_stat(c: &mut Ctx, desc: &Desc, stat: &Stat) {
    let (file_type, dev) = stat_type(desc.kind);
    let rdev = match desc.kind {
        Kind::Device(Dev::Null) => makedev(1, 3),
        Kind::Device(Dev::Zero) => makedev(1, 5),
        Kind::Device(Dev::Console) => makedev(5, 1),
        _ => 0,
    };
    let mode_ok = match desc.kind {
        Kind::Door => stat.st_mode == S_IFDOOR | 0o777,
        Kind::Pipe(..) => stat.st_mode == S_IFIFO | 0o600,
        _ => stat.st_mode & S_IFMT == file_type,
    };
    let size_ok = match desc.kind {
        Kind::Pipe(id, _) if !c.own.pipe(id).shared => {
            stat.st_size == c.own.pipe(id).queued.len() as i64
        }
        _ => stat.st_size >= 0,
    };
    c.check(
        mode_ok && size_ok && stat.st_dev == dev && stat.st_rdev == rdev,
        format_args!("fstat of {:?} reported {stat:?}", desc.kind),
    );
}

pub fn getdents64(c: &mut Ctx) {
    let fd = fd_arg(c, |d| d.kind == Kind::Dir);
    let count = if c.rng.chance(30) {
        c.rng.below(64) as usize
    } else {
        mem::size(&mut c.rng)
    };
    let span = count.min(IO_MAX);
    let buf = io_buf(c, span);
    let own = own_desc(c, fd);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        s.then(match desc.kind {
            Kind::Dir => Stage::Pass,
            _ => Stage::Fail(Errno::ENOTDIR),
        })
        .then(sink(buf, span));
        let small = span < dirent64_reclen(userland::abi::fs::NAME_MAX);
        success = match (desc.origin, small) {
            (Origin::Area, true) => Expect::SuccessOr(&[Errno::ENOENT, Errno::EINVAL]),
            (Origin::Area, false) => Expect::SuccessOr(&[Errno::ENOENT]),
            (_, true) => Expect::SuccessOr(&[Errno::EINVAL]),
            (_, false) => Expect::SuccessOr(&[]),
        };
    }
    let ret = c.issue([fd.value(), buf.addr, count, 0, 0, 0], s.expect(success));
    if ret <= 0 {
        return;
    }
    let n = ret as usize;
    let Some(bytes) = c.scratch.read(buf.addr, n) else {
        return;
    };
    let (mut total, mut last) = (0, None);
    for (head, name) in decode_dirents64(&bytes) {
        total += usize::from(head.d_reclen);
        c.check(
            !name.is_empty() && !name.contains(&b'/') && head.d_reclen % 8 == 0,
            format_args!("getdents64 gave a malformed record {head:?} {name:?}"),
        );
        last = Some(head.d_off);
    }
    c.check(
        total == n,
        format_args!("getdents64 returned {n} bytes, records of {total}"),
    );
    if let (Some((own, desc)), Some(cookie)) = (own, last)
        && !desc.shared
    {
        c.own.desc_mut(own.desc).offset = Some(cookie as u64);
    }
}

pub fn ftruncate(c: &mut Ctx) {
    let fd = fd_arg(c, |d| matches!(d.kind, Kind::File { .. }));
    let len = match c.rng.below(4) {
        0 => c.rng.below(3 * 4096) as i64,
        1 => c.rng.pick(&[-1, i64::MIN]),
        2 => c.rng.pick(&[i64::MAX, 1 << 40]),
        _ => c.rng.boundary() as i64,
    };
    let own = own_desc(c, fd);
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    if let Some((_, desc)) = own {
        let file = desc.kind == Kind::File { boot: false } && desc.writable();
        s.then(match len >= 0 && file {
            true => Stage::Pass,
            false => Stage::Fail(Errno::EINVAL),
        });
    }
    let ret = c.issue(
        [fd.value(), len as usize, 0, 0, 0, 0],
        s.expect(Expect::Value(0)),
    );
    // The size is certain while no file of the thread's own went to the
    // pool (only its own descriptors can reach `p0` and `p1`).
    let unshared = c.own.fds().all(|o| !c.own.desc(o.desc).shared);
    if let Some((own, desc)) = own
        && ret == 0
        && desc.origin == Origin::Mine
        && unshared
    {
        let mut stat = Stat::default();
        let args = [own.fd as usize, &raw mut stat as usize, 0, 0, 0, 0];
        c.issue_nr(userland::abi::Sys::Fstat.number(), args, Expect::Value(0));
        c.check(
            stat.st_size == len,
            format_args!("ftruncate to {len}, then fstat said {}", stat.st_size),
        );
    }
}

pub fn fchmod(c: &mut Ctx) {
    let fd = fd_arg(c, |d| d.origin != Origin::System);
    let mut mode = match c.rng.below(8) {
        0 => c.rng.boundary() as usize,
        _ => c.rng.below(0o10000) as usize,
    };
    let own = own_desc(c, fd);
    if let Some((_, desc)) = own {
        match desc.origin {
            // Root could change a node every process uses.
            Origin::System if !c.unprivileged => return,
            // The home must stay the thread's to use.
            Origin::Home => mode |= 0o777,
            _ => {}
        }
    }
    let mut s = Stages::new();
    s.then(fd.decode())
        .then(match u32::try_from(mode) {
            Ok(_) => Stage::Pass,
            Err(_) => Stage::Fail(Errno::EINVAL),
        })
        .then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        success = match (desc.kind, desc.origin) {
            (Kind::Door | Kind::Pipe(..), _) => Expect::Errno(Errno::EINVAL),
            (_, Origin::Boot) => Expect::Errno(Errno::EROFS),
            (_, Origin::System) => Expect::Errno(Errno::EPERM),
            (_, Origin::Home | Origin::Mine) if c.unprivileged => Expect::Value(0),
            _ => Expect::Any,
        };
    }
    c.issue([fd.value(), mode, 0, 0, 0, 0], s.expect(success));
}

pub fn fchdir(c: &mut Ctx) {
    let fd = fd_arg(c, |d| d.kind == Kind::Dir && d.origin != Origin::System);
    let own = own_desc(c, fd);
    if let Some((_, desc)) = own
        && desc.kind == Kind::Dir
        && desc.origin == Origin::System
    {
        // Relative paths from `/` or `/tmp` could make things outside the
        // area.
        return;
    }
    let mut s = Stages::new();
    s.then(fd.decode()).then(fd.lookup());
    let mut success = Expect::Any;
    if let Some((_, desc)) = own {
        success = match (desc.kind, desc.origin) {
            (Kind::Dir, Origin::Home | Origin::Boot) => Expect::Value(0),
            (Kind::Dir, _) => Expect::Any,
            _ => Expect::Errno(Errno::ENOTDIR),
        };
    }
    c.issue([fd.value(), 0, 0, 0, 0, 0], s.expect(success));
}
