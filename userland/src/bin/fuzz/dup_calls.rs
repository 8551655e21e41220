//! How the fuzzer makes the calls that make, place and close descriptors:
//! `close`, `dup`, `dup3`, `fcntl` (every command) and `pipe2`.
//!
//! A descriptor a call makes from an own one (or a pipe) is handled inside
//! [`fds::exclusive`]: moved to an own number, put in the pool (then its
//! description is shared) or closed. `dup3` places only own descriptors
//! at own numbers, and no call clears `O_NONBLOCK` of a pipe or of a pool
//! descriptor, so every pipe end in a fuzz process stays non-blocking.

use crate::fd_calls::{decode_fd, fd_arg, own_desc};
use crate::fds;
use crate::fuzzer::{Ctx, Expect};
use crate::mem::Access;
use crate::model::{Stage, Stages};
use crate::own::{BASE, Desc, Kind, OwnFd};
use crate::paths::{bad_fd, undecodable_fd};
use userland::abi::Errno;
use userland::abi::fs::{
    F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_APPEND, O_CLOEXEC,
    O_CREAT, O_DIRECTORY, O_NONBLOCK, O_WRONLY,
};

/// Table slots no capacity a campaign sets reaches (the descriptor limit
/// stays below 2560).
const BEYOND_CAPACITY: usize = 2560;

/// `decode(value)` of a 32-bit argument: EINVAL beyond 32 bits.
fn u32_stage(value: usize) -> Stage {
    match u32::try_from(value) {
        Ok(_) => Stage::Pass,
        Err(_) => Stage::Fail(Errno::EINVAL),
    }
}

pub fn close(c: &mut Ctx) {
    let pick = c.rng.index(1 << 16);
    match c.rng.below(10) {
        0..=4 => {
            let d = c.fd();
            if c.issue([d, 0, 0, 0, 0, 0], Expect::Any) == 0 {
                fds::closed(&mut c.rng, d as i32);
            }
        }
        5..=7 => {
            let extra = c.own.fds().filter(|o| o.slot >= BASE).nth(pick % 8);
            match extra {
                Some(OwnFd { fd, slot, .. }) => {
                    c.issue([fd as usize, 0, 0, 0, 0, 0], Expect::Value(0));
                    c.closed_own(slot);
                }
                None => {
                    let bad = bad_fd(c);
                    c.issue([bad, 0, 0, 0, 0, 0], Expect::Errno(Errno::EBADF));
                }
            }
        }
        8 => {
            let bad = bad_fd(c);
            c.issue([bad, 0, 0, 0, 0, 0], Expect::Errno(Errno::EBADF));
        }
        _ => {
            let bad = undecodable_fd(c);
            c.issue([bad, 0, 0, 0, 0, 0], Expect::Errno(Errno::EBADF));
        }
    }
}

/// Deals with `fd`, a new duplicate of own description `desc` (inside
/// [`fds::exclusive`]): puts it in the pool (a shareable description),
/// keeps it as an own descriptor, or closes it.
fn new_duplicate(c: &mut Ctx, fd: i32, desc: u32) {
    match c.rng.below(3) {
        0 if c.own.desc(desc).shareable() => c.share(fd, desc),
        1 => {
            c.place_own(fd, desc, false);
            c.issue_nr(
                userland::abi::Sys::Close.number(),
                [fd as usize, 0, 0, 0, 0, 0],
                Expect::Value(0),
            );
        }
        _ => {
            c.issue_nr(
                userland::abi::Sys::Close.number(),
                [fd as usize, 0, 0, 0, 0, 0],
                Expect::Value(0),
            );
        }
    }
}

pub fn dup(c: &mut Ctx) {
    let fd = fd_arg(c, |_| true);
    match own_desc(c, fd) {
        Some((own, _)) => fds::exclusive(|| {
            let ret = c.issue([fd.value(), 0, 0, 0, 0, 0], Expect::SuccessOr(&[]));
            if ret >= 0 {
                new_duplicate(c, ret as i32, own.desc);
            }
        }),
        None => {
            let mut s = Stages::new();
            s.then(fd.decode()).then(fd.lookup());
            let ret = c.issue([fd.value(), 0, 0, 0, 0, 0], s.expect(Expect::Any));
            fds::add(&mut c.rng, ret as i32);
        }
    }
}

/// The `new` argument of a `dup3`.
#[derive(Clone, Copy)]
enum New {
    /// A free own number (slot, number).
    Free(usize, i32),
    /// A taken own number (not one of the first own descriptors).
    Taken(usize, i32),
    /// `old` itself.
    Same,
    /// Negative, or a slot beyond the capacity: EBADF.
    Bad(usize),
    /// No `int`.
    Undecodable(usize),
    /// A pool descriptor.
    Pool(usize),
}

pub fn dup3(c: &mut Ctx) {
    let old = fd_arg(c, |_| true);
    let own = own_desc(c, old);
    let pick = c.rng.index(1 << 16);
    let taken = c
        .own
        .fds()
        .filter(|o| o.slot >= BASE && Some(o.fd) != own.map(|(o, _)| o.fd))
        .nth(pick % 8);
    let new = match c.rng.below(10) {
        0..=3 if own.is_some() => match c.free_own() {
            Some((slot, number)) => New::Free(slot, number),
            None => New::Same,
        },
        4 | 5 if own.is_some() && taken.is_some() => {
            let taken = taken.expect("checked");
            New::Taken(taken.slot, taken.fd)
        }
        6 => New::Same,
        7 => {
            let beyond =
                (BEYOND_CAPACITY + c.rng.below(1000) as usize) | (c.rng.below(64) as usize) << 12;
            New::Bad(
                c.rng
                    .pick(&[-1isize as usize, i32::MIN as isize as usize, beyond]),
            )
        }
        8 => New::Undecodable(undecodable_fd(c)),
        _ if own.is_none_or(|(_, d)| d.shareable()) => New::Pool(fds::target(&mut c.rng)),
        _ => New::Same,
    };
    let new_value = match new {
        New::Free(_, fd) | New::Taken(_, fd) => fd as usize,
        New::Same => old.value(),
        New::Bad(v) | New::Undecodable(v) | New::Pool(v) => v,
    };
    let flags = match c.rng.below(8) {
        0..=3 => 0,
        4 | 5 => O_CLOEXEC as usize,
        6 => c
            .rng
            .pick(&[O_NONBLOCK as usize, 1, (O_CLOEXEC | O_APPEND) as usize]),
        _ => c.rng.pick(&[1 << 32, u64::MAX as usize]),
    };
    let mut s = Stages::new();
    s.then(old.decode())
        .then(decode_fd(new_value))
        .then(u32_stage(flags))
        .then(
            match flags & !(O_CLOEXEC as usize) != 0 || new_value as i32 == old.value() as i32 {
                true => Stage::Fail(Errno::EINVAL),
                false => Stage::Pass,
            },
        )
        .then(old.lookup())
        .then(match new {
            New::Bad(_) => Stage::Fail(Errno::EBADF),
            New::Pool(_) => Stage::Unknown,
            _ => Stage::Pass,
        });
    let args = [old.value(), new_value, flags, 0, 0, 0];
    let ret = c.issue(args, s.expect(Expect::Value(new_value as isize)));
    if ret < 0 || ret as usize != new_value {
        return;
    }
    let Some((own, _)) = own else { return };
    let cloexec = flags != 0;
    match new {
        New::Free(slot, fd) => c.added_own(slot, fd, own.desc, cloexec),
        New::Taken(slot, _) => c.replaced_own(slot, own.desc, cloexec),
        New::Pool(_) => c.own.shared(own.desc),
        New::Same | New::Bad(_) | New::Undecodable(_) => {}
    }
}

pub fn fcntl(c: &mut Ctx) {
    let fd = fd_arg(c, |_| true);
    let own = own_desc(c, fd);
    let cmd = c.rng.pick(&[
        F_DUPFD as usize,
        F_DUPFD_CLOEXEC as usize,
        F_GETFD as usize,
        F_SETFD as usize,
        F_GETFL as usize,
        F_GETFL as usize,
        F_SETFL as usize,
        F_SETFL as usize,
        5,
        1031,
        u32::MAX as usize,
        1 << 32,
    ]);
    let (small, beyond) = (
        c.rng.below(64) as usize,
        BEYOND_CAPACITY + c.rng.below(1000) as usize,
    );
    let mut arg = match cmd as u32 {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            c.rng
                .pick(&[0, small, 257, 511, beyond, -1isize as usize, 1 << 40])
        }
        F_SETFL => (c.rng.next() as usize) & c.rng.pick(&[0x7ff_ffff, usize::MAX]),
        _ => c.rng.boundary() as usize,
    };
    let pipe = matches!(
        own,
        Some((
            _,
            Desc {
                kind: Kind::Pipe(..),
                ..
            }
        ))
    );
    if cmd as u32 == F_SETFL && (own.is_none() || pipe) {
        // No pipe end of a fuzz process ever blocks.
        arg |= O_NONBLOCK as usize;
    }
    let mut s = Stages::new();
    s.then(fd.decode()).then(u32_stage(cmd)).then(fd.lookup());
    let success = match (own, cmd as u32) {
        (None, _) => Expect::Any,
        (Some(_), _) if cmd > u32::MAX as usize => Expect::Any,
        // Free slots abound below 400 (the own numbers' first slot); near
        // the capacity (512 at least) they may run out (EMFILE).
        (Some(_), F_DUPFD | F_DUPFD_CLOEXEC) => match arg as i64 {
            ..0 => Expect::Errno(Errno::EINVAL),
            0..300 => Expect::SuccessOr(&[]),
            300..2560 => Expect::Any,
            _ => Expect::Errno(Errno::EINVAL),
        },
        (Some((own, _)), F_GETFD) => Expect::Value(isize::from(own.cloexec)),
        (Some((_, desc)), F_GETFL) if !desc.shared => Expect::Value(desc.status_flags() as isize),
        (Some(_), F_GETFL) => Expect::SuccessOr(&[]),
        (Some(_), F_SETFD | F_SETFL) => Expect::Value(0),
        (Some(_), _) => Expect::Errno(Errno::EINVAL),
    };
    let args = [fd.value(), cmd, arg, 0, 0, 0];
    let dup = matches!(cmd as u32, F_DUPFD | F_DUPFD_CLOEXEC) && cmd <= u32::MAX as usize;
    let Some((own, desc)) = own else {
        let ret = c.issue(args, s.expect(success));
        if dup {
            fds::add(&mut c.rng, ret as i32);
        }
        return;
    };
    if dup {
        fds::exclusive(|| {
            let ret = c.issue(args, s.expect(success));
            if ret >= 0 {
                c.check(
                    ret as usize >= arg,
                    format_args!("F_DUPFD from {arg} gave {ret}"),
                );
                new_duplicate(c, ret as i32, own.desc);
            }
        });
        return;
    }
    let ret = c.issue(args, s.expect(success));
    if ret < 0 {
        return;
    }
    match cmd as u32 {
        F_GETFL => c.check(
            ret as u32 & 3 == desc.access,
            format_args!("F_GETFL gave {ret:#x} for access mode {}", desc.access),
        ),
        F_SETFD => {
            let cloexec = arg & FD_CLOEXEC as usize != 0;
            if let Some(entry) = c.own.entry_mut(own.slot) {
                entry.cloexec = cloexec;
            }
        }
        F_SETFL => {
            let flags = arg as u32;
            let desc = c.own.desc_mut(own.desc);
            match desc.kind {
                Kind::Door => {}
                Kind::Pipe(..) => desc.nonblock = flags & O_NONBLOCK != 0,
                _ => {
                    desc.append = flags & O_APPEND != 0;
                    desc.nonblock = flags & O_NONBLOCK != 0;
                }
            }
        }
        _ => {}
    }
}

pub fn pipe2(c: &mut Ctx) {
    let flags = match c.rng.below(8) {
        0..=3 => O_NONBLOCK as usize,
        4 => (O_NONBLOCK | O_CLOEXEC) as usize,
        5 | 6 => {
            let bad = c
                .rng
                .pick(&[O_APPEND, O_DIRECTORY, O_WRONLY, 1 << 31, O_CREAT]);
            (O_NONBLOCK | bad) as usize
        }
        _ => c.rng.pick(&[(1 << 32) | O_NONBLOCK as usize, usize::MAX]),
    };
    let out = c.ptr(8);
    let mut s = Stages::new();
    s.then(u32_stage(flags))
        .then(match out.access {
            Access::Write => Stage::Pass,
            _ => Stage::Fail(Errno::EFAULT),
        })
        .then(match flags & !((O_NONBLOCK | O_CLOEXEC) as usize) {
            0 => Stage::Pass,
            _ => Stage::Fail(Errno::EINVAL),
        });
    let expect = s.expect(Expect::ValueOr(0, &[Errno::ENFILE]));
    fds::exclusive(|| {
        if c.issue([out.addr, flags, 0, 0, 0, 0], expect) != 0 {
            return;
        }
        match c.scratch.get::<[i32; 2]>(out.addr) {
            Some(ends) => c.adopt_pipe(ends, flags as u32),
            None => c.check(
                false,
                format_args!("pipe2 succeeded with an unwritable pointer"),
            ),
        }
    });
}
