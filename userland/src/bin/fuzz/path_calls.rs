//! How the fuzzer makes the calls on names: `openat`, `fstatat`,
//! `fchmodat`, `mkdirat`, `unlinkat`, `renameat`, `faccessat`, `chdir`,
//! `getcwd`, `umask`, `fattach`, `fdetach`.
//!
//! Paths and directory arguments come from [`crate::paths`]; the result is
//! judged stage by stage ([`Stages`]): decoding, the flags, where the walk
//! starts, parsing, resolving, then the call's own rules for a node of
//! known state ([`crate::model`]). What `openat` opens becomes an own
//! descriptor of the kind `fstat` reports (or goes to the pool).

use crate::fd_calls::{FdArg, check_stat, fd_arg, io_buf, own_desc};
use crate::fds;
use crate::fuzzer::{Ctx, Expect};
use crate::mem::{Access, PAGE};
use crate::model::{Node, Stage, Stages, Who};
use crate::own::Kind;
use crate::paths::{
    self, DirArg, NOWHERE, PathArg, Target, dir_arg, path, path_in, unchanging, whos,
};
use alloc::format;
use userland::abi::fs::{
    AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O_ACCMODE, O_APPEND,
    O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK,
    O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, O_VALID, O_WRONLY, R_OK, S_IFCHR, S_IFDIR, S_IFMT, S_IFREG,
    Stat, W_OK, X_OK,
};
use userland::abi::{Errno, Sys};

/// EINVAL for a value beyond 32 bits (a flags or mode argument).
fn u32_stage(value: usize) -> Stage {
    match u32::try_from(value) {
        Ok(_) => Stage::Pass,
        Err(_) => Stage::Fail(Errno::EINVAL),
    }
}

/// A mode argument: permission bits, all of them, or beyond 32 bits.
fn mode_arg(c: &mut Ctx) -> usize {
    match c.rng.below(8) {
        0 => c.rng.pick(&[0, 0o7777, 0o777]),
        1 => c.rng.pick(&[1 << 32, usize::MAX]),
        _ => c.rng.below(0o10000) as usize,
    }
}

/// The stages every path call has: decoding the directory argument and
/// the path, then (after the call's own decoding and checks, `checks`)
/// where the walk starts and parsing.
fn path_stages(dir: DirArg, path: &PathArg, checks: &[Stage]) -> Stages {
    let mut s = Stages::new();
    s.then(dir.decode()).then(path.decode());
    for &check in checks {
        s.then(check);
    }
    s.then(path.start(dir)).then(path.parse());
    s
}

/// The call's rules for a node of known state (each caller in `whos`), or
/// the resolution of another path.
fn resolve(
    s: &mut Stages,
    path: &PathArg,
    whos: &[Who],
    rule: impl Fn(&Node, Who) -> Result<(), Errno>,
) {
    match path.node() {
        Some(node) => s.each(whos, |w| rule(node, w)),
        None => s.then(path.resolve()),
    };
}

/// `openat` flags: an access mode and any flags, sometimes invalid ones.
fn open_flags(c: &mut Ctx) -> usize {
    let mut flags = c
        .rng
        .pick(&[O_RDONLY, O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE]) as usize;
    for bit in [
        O_CREAT,
        O_EXCL,
        O_TRUNC,
        O_APPEND,
        O_NONBLOCK,
        O_CLOEXEC,
        O_DIRECTORY,
        O_NOFOLLOW,
        O_LARGEFILE,
        O_NOCTTY,
        O_SYNC,
    ] {
        if c.rng.chance(15) {
            flags |= bit as usize;
        }
    }
    if c.rng.chance(5) {
        flags |= c.rng.pick(&[1 << 31, 0o10000000, 0o20000000, 1 << 32]);
    }
    flags
}

pub fn openat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let (flags, mode) = (open_flags(c), mode_arg(c));
    let reading = flags & O_ACCMODE as usize == O_RDONLY as usize;
    // The console is opened for reading only: nothing a fuzz thread does
    // may print.
    let path = path(c, true, |n| {
        reading || n.device != Some(crate::own::Dev::Console)
    });
    let valid = flags & !(O_VALID as usize) == 0
        && flags & O_ACCMODE as usize != O_ACCMODE as usize
        && flags & (O_CREAT | O_DIRECTORY) as usize != (O_CREAT | O_DIRECTORY) as usize;
    let checks = [
        u32_stage(flags),
        u32_stage(mode),
        if valid {
            Stage::Pass
        } else {
            Stage::Fail(Errno::EINVAL)
        },
    ];
    let mut s = path_stages(dir, &path, &checks);
    resolve(&mut s, &path, whos(c), |n, w| n.open(w, flags as u32));
    let expect = s.expect(Expect::SuccessOr(&[]));
    let args = [dir.value(), path.addr, path.len, flags, mode, 0];
    fds::exclusive(|| {
        let fd = c.issue(args, expect);
        if fd >= 0 {
            opened(c, fd as i32, &path, flags as u32);
        }
    });
}

/// Deals with `fd`, which `openat` of `path` with `flags` just made
/// (inside [`fds::exclusive`]): an own descriptor of the kind `fstat`
/// reports (checked against the node's, if known), or one for the pool.
fn opened(c: &mut Ctx, fd: i32, path: &PathArg, flags: u32) {
    let mut stat = Stat::default();
    let args = [fd as usize, &raw mut stat as usize, 0, 0, 0, 0];
    c.issue_nr(Sys::Fstat.number(), args, Expect::Value(0));
    match paths::opened(path, flags, stat.st_mode) {
        Some(desc) if !desc.shareable() || c.rng.chance(70) => {
            check_stat(c, &desc, &stat);
            c.adopt(fd, desc);
        }
        Some(_) => fds::add(&mut c.rng, fd),
        None => {
            c.check(
                false,
                format_args!("openat of an area name opened {stat:?}"),
            );
            c.issue_nr(
                Sys::Close.number(),
                [fd as usize, 0, 0, 0, 0, 0],
                Expect::Value(0),
            );
        }
    }
}

/// `fstatat` flags.
fn stat_flags(c: &mut Ctx) -> usize {
    c.rng.pick(&[
        0,
        0,
        AT_SYMLINK_NOFOLLOW as usize,
        AT_EMPTY_PATH as usize,
        (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) as usize,
        0x400,
        1 << 32,
    ])
}

pub fn fstatat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let path = path(c, false, |_| true);
    let flags = stat_flags(c);
    let out = io_buf(c, size_of::<Stat>());
    let valid = flags & !((AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) as usize) == 0;
    let mut s = Stages::new();
    s.then(dir.decode())
        .then(path.decode())
        .then(u32_stage(flags))
        .then(if valid {
            Stage::Pass
        } else {
            Stage::Fail(Errno::EINVAL)
        });
    if path.is_empty() && flags & AT_EMPTY_PATH as usize != 0 {
        // The current directory is looked up as ".", which its mode may
        // forbid; a descriptor is reported whatever its kind.
        s.then(match dir {
            DirArg::Dir(_) | DirArg::NotDir(_) => Stage::Pass,
            DirArg::Bad(_) | DirArg::Undecodable(_) => Stage::Fail(Errno::EBADF),
            DirArg::Cwd | DirArg::Pool(_) => Stage::Unknown,
        });
    } else {
        s.then(path.start(dir)).then(path.parse());
        resolve(&mut s, &path, whos(c), |n, w| n.resolve(w));
    }
    s.then(match out.access {
        Access::Write => Stage::Pass,
        _ => Stage::Fail(Errno::EFAULT),
    });
    let args = [dir.value(), path.addr, path.len, out.addr, flags, 0];
    let ret = c.issue(args, s.expect(Expect::Value(0)));
    if let (0, Some(node), Some(stat)) = (ret, path.node(), c.scratch.get::<Stat>(out.addr)) {
        let file_type = match (node.dir, node.device) {
            (true, _) => S_IFDIR,
            (false, Some(_)) => S_IFCHR,
            (false, None) => S_IFREG,
        };
        c.check(
            stat.st_mode == file_type | node.mode && stat.st_uid == 0 && stat.st_gid == 0,
            format_args!("stat of {} reported {stat:?}", node.path),
        );
    }
}

pub fn fchmodat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let allow = unchanging(whos(c), Node::chmod);
    let path = path(c, true, allow);
    let mode = mode_arg(c);
    let mut s = path_stages(dir, &path, &[u32_stage(mode)]);
    resolve(&mut s, &path, whos(c), Node::chmod);
    let args = [dir.value(), path.addr, path.len, mode, 0, 0];
    c.issue(args, s.expect(Expect::Any));
}

pub fn mkdirat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let path = path(c, true, |_| true);
    let mode = mode_arg(c);
    let mut s = path_stages(dir, &path, &[u32_stage(mode)]);
    resolve(&mut s, &path, whos(c), Node::mkdir);
    let args = [dir.value(), path.addr, path.len, mode, 0, 0];
    c.issue(args, s.expect(Expect::Any));
}

pub fn unlinkat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let flags = c.rng.pick(&[0, 0, AT_REMOVEDIR as usize, 0x100, 1 << 32]);
    let rmdir = flags == AT_REMOVEDIR as usize;
    let rule = move |n: &Node, w: Who| if rmdir { n.rmdir(w) } else { n.unlink(w) };
    let allow = unchanging(whos(c), rule);
    let path = path(c, true, allow);
    let valid = flags & !(AT_REMOVEDIR as usize) == 0;
    let checks = [
        u32_stage(flags),
        if valid {
            Stage::Pass
        } else {
            Stage::Fail(Errno::EINVAL)
        },
    ];
    let mut s = path_stages(dir, &path, &checks);
    resolve(&mut s, &path, whos(c), rule);
    let args = [dir.value(), path.addr, path.len, flags, 0, 0];
    c.issue(args, s.expect(Expect::Any));
}

pub fn renameat(c: &mut Ctx) {
    let (from_dir, to_dir) = (dir_arg(c), dir_arg(c));
    let rule = |n: &Node, w: Who| n.rename_away(w, n.above_area());
    let allow = unchanging(whos(c), rule);
    let from = path_in(c, Some(0), true, allow);
    let (to, to_dir) = match from.target {
        Target::Node(_) => {
            let bytes = format!("{}/{NOWHERE}", paths::home(c.worker, c.slot)).into_bytes();
            (paths::fixed(c, 1, bytes, Target::Missing), DirArg::Cwd)
        }
        _ => (path_in(c, Some(1), true, |_| false), to_dir),
    };
    let mut s = Stages::new();
    s.then(from_dir.decode())
        .then(from.decode())
        .then(to_dir.decode())
        .then(to.decode())
        .then(from.start(from_dir))
        .then(to.start(to_dir))
        .then(from.parse())
        .then(to.parse());
    match from.node() {
        Some(node) => {
            s.each(whos(c), |w| node.resolve(w)).then(to.resolve());
            s.each(whos(c), |w| rule(node, w));
        }
        None => {
            s.then(from.resolve())
                .then(to.resolve())
                .then(Stage::Unknown);
        }
    }
    let args = [
        from_dir.value(),
        from.addr,
        from.len,
        to_dir.value(),
        to.addr,
        to.len,
    ];
    c.issue(args, s.expect(Expect::Any));
}

pub fn faccessat(c: &mut Ctx) {
    let dir = dir_arg(c);
    let path = path(c, false, |_| true);
    let mode = c.rng.pick(&[
        0,
        R_OK as usize,
        W_OK as usize,
        X_OK as usize,
        (R_OK | W_OK) as usize,
        (R_OK | W_OK | X_OK) as usize,
        8,
        1 << 32,
    ]);
    let flags = c.rng.pick(&[0, AT_EACCESS as usize, 0x100, 1 << 32]);
    // Without AT_EACCESS the real ids are checked: every process's is root.
    let whos: &[Who] = match flags == AT_EACCESS as usize {
        true => whos(c),
        false => &[Who::Root],
    };
    let mut s = Stages::new();
    s.then(dir.decode())
        .then(path.decode())
        .then(u32_stage(mode))
        .then(u32_stage(flags))
        .then(match flags & !(AT_EACCESS as usize) {
            0 => Stage::Pass,
            _ => Stage::Fail(Errno::EINVAL),
        })
        .then(path.start(dir))
        .then(match mode & !((R_OK | W_OK | X_OK) as usize) {
            0 => Stage::Pass,
            _ => Stage::Fail(Errno::EINVAL),
        })
        .then(path.parse());
    resolve(&mut s, &path, whos, |n, w| n.faccess(w, mode as u32));
    let args = [dir.value(), path.addr, path.len, mode, flags, 0];
    c.issue(args, s.expect(Expect::Value(0)));
}

pub fn chdir(c: &mut Ctx) {
    if c.rng.chance(10) {
        removed_cwd(c);
        return;
    }
    // Only into the area, `/bin` or a fixture: relative paths must never
    // make anything elsewhere.
    let whos = whos(c);
    let path = path(c, true, |n| {
        n.cwd_ok || !crate::model::would_succeed(whos, |w| n.chdir(w))
    });
    let mut s = path_stages(DirArg::Cwd, &path, &[]);
    resolve(&mut s, &path, whos, Node::chdir);
    c.issue([path.addr, path.len, 0, 0, 0, 0], s.expect(Expect::Any));
}

pub fn getcwd(c: &mut Ctx) {
    let size = match c.rng.below(6) {
        0 => c.rng.below(5) as usize,
        1 => c.rng.boundary() as usize,
        _ => c.rng.pick(&[12, 20, 64, PAGE]),
    };
    let buf = c.ptr(size.min(PAGE));
    let expect = match size {
        ..5 => Expect::OneOf(&[Errno::ERANGE, Errno::ENOENT]),
        _ => Expect::Any,
    };
    let ret = c.issue([buf.addr, size, 0, 0, 0, 0], expect);
    if ret <= 0 {
        return;
    }
    let n = ret as usize;
    // Only the path and its NUL are written: they must lie in the scratch
    // area's writable part.
    let got = c
        .scratch
        .holds(buf.addr, n)
        .then(|| c.scratch.read(buf.addr, n))
        .flatten();
    let ok = got.is_some_and(|path| {
        n <= size
            && path.last() == Some(&0)
            && (path.starts_with(b"/tmp/fuzz/") || path == b"/bin\0")
    });
    c.check(
        ok,
        format_args!("getcwd({size}) returned {n}, and the path is not where it should be"),
    );
}

pub fn umask(c: &mut Ctx) {
    let mask = match c.rng.below(4) {
        0 => c.rng.boundary() as usize,
        _ => c.rng.pick(&[0, 0o022, 0o077, 0o777]),
    };
    let old = c.issue([mask, 0, 0, 0, 0, 0], Expect::SuccessOr(&[]));
    c.check(
        (0..=0o777).contains(&old),
        format_args!("umask returned {old:#o}"),
    );
}

pub fn fattach(c: &mut Ctx) {
    let door = fd_arg(c, |d| d.kind == Kind::Door);
    let door = match door {
        FdArg::Pool(_) => FdArg::Pool(c.target()),
        other => other,
    };
    let allow = unchanging(whos(c), Node::fattach);
    let path = path(c, true, allow);
    let mut s = Stages::new();
    s.then(door.decode())
        .then(path.decode())
        .then(door.lookup());
    if let Some((_, desc)) = own_desc(c, door) {
        s.then(match desc.kind {
            Kind::Door => Stage::Pass,
            _ => Stage::Fail(Errno::EINVAL),
        });
    }
    s.then(path.start(DirArg::Cwd)).then(path.parse());
    resolve(&mut s, &path, whos(c), Node::fattach);
    c.issue(
        [door.value(), path.addr, path.len, 0, 0, 0],
        s.expect(Expect::Any),
    );
}

pub fn fdetach(c: &mut Ctx) {
    let path = path(c, false, |_| true);
    let mut s = path_stages(DirArg::Cwd, &path, &[]);
    resolve(&mut s, &path, whos(c), Node::fdetach);
    c.issue([path.addr, path.len, 0, 0, 0, 0], s.expect(Expect::Any));
}

/// A removed current directory, made, entered and removed inside
/// [`fds::exclusive`] (so no other thread of the process moves the current
/// directory, or changes the euid or umask, meanwhile): `.` still names it,
/// reporting no links, but nothing can be made in it, no door attached
/// over it, and `getcwd` finds no path (ENOENT); then back home.
fn removed_cwd(c: &mut Ctx) {
    let home = paths::home(c.worker, c.slot);
    let gone = format!("{home}/j/gone");
    let call = |c: &mut Ctx, sys: Sys, args: [usize; 6], expect: Expect| {
        c.issue_nr(sys.number(), args, expect)
    };
    let cwd = AT_FDCWD as isize as usize;
    let path = |p: &str| (p.as_ptr() as usize, p.len());
    fds::exclusive(|| {
        let (at, len) = path(&gone);
        if call(c, Sys::Mkdirat, [cwd, at, len, 0o700, 0, 0], Expect::Any) != 0 {
            return;
        }
        call(
            c,
            Sys::Fchmodat,
            [cwd, at, len, 0o777, 0, 0],
            Expect::Value(0),
        );
        if call(c, Sys::Chdir, [at, len, 0, 0, 0, 0], Expect::Value(0)) != 0 {
            return;
        }
        let rmdir = AT_REMOVEDIR as usize;
        if call(c, Sys::Unlinkat, [cwd, at, len, rmdir, 0, 0], Expect::Any) == 0 {
            let mut buf = [0u8; 64];
            let args = [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0];
            call(c, Sys::Getcwd, args, Expect::Errno(Errno::ENOENT));
            let (x, x_len) = path("x");
            let enoent = Expect::Errno(Errno::ENOENT);
            call(c, Sys::Mkdirat, [cwd, x, x_len, 0o777, 0, 0], enoent);
            let create = (O_CREAT | O_WRONLY) as usize;
            call(c, Sys::Openat, [cwd, x, x_len, create, 0o666, 0], enoent);
            let (dot, dot_len) = path(".");
            let door = c.own.find(0, |d| d.kind == Kind::Door);
            if let Some(door) = door {
                let args = [door.fd as usize, dot, dot_len, 0, 0, 0];
                call(c, Sys::Fattach, args, enoent);
            }
            let mut stat = Stat::default();
            let args = [cwd, dot, dot_len, &raw mut stat as usize, 0, 0];
            call(c, Sys::Fstatat, args, Expect::Value(0));
            c.check(
                stat.st_nlink == 0 && stat.st_mode & S_IFMT == S_IFDIR,
                format_args!("stat of a removed current directory reported {stat:?}"),
            );
        }
        let (home, home_len) = path(&home);
        call(c, Sys::Chdir, [home, home_len, 0, 0, 0, 0], Expect::Any);
    });
}
