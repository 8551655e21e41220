//! The fuzz area on disk: the coordinator makes [`FUZZ_DIR`]; each worker
//! its area, the fixtures of [`model::NODES`] (unprivileged workers), and
//! its threads' homes; the fuzz threads sweep their junk directories now
//! and then; and the coordinator removes each mortal worker's area after
//! it ends and the whole tree at the end (detaching the doors left over
//! names), which must leave nothing behind.

use crate::fuzzer::{Ctx, Expect};
use crate::model::{AREA_MODE, NODES, USER};
use crate::paths::{FUZZ_DIR, area, home};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use userland::abi::fs::{
    AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_WRONLY,
    S_IFDIR, S_IFDOOR, S_IFMT, Stat, decode_dirents64,
};
use userland::abi::{Errno, Sys};
use userland::sys::{check, syscall};

/// A descriptor as a register value.
fn reg(fd: i32) -> usize {
    fd as isize as usize
}

/// `call` on `dirfd` and the bytes `path`, then `rest`.
fn at(call: Sys, dirfd: i32, path: &[u8], rest: [usize; 3]) -> Result<usize, Errno> {
    let args = [
        reg(dirfd),
        path.as_ptr() as usize,
        path.len(),
        rest[0],
        rest[1],
        rest[2],
    ];
    check(syscall(call, args))
}

fn chdir(path: &str) -> Result<(), Errno> {
    check(syscall(
        Sys::Chdir,
        [path.as_ptr() as usize, path.len(), 0, 0, 0, 0],
    ))
    .map(|_| ())
}

/// Ticks [`room`] waits at most for space in the file system.
const ROOM_PATIENCE: u64 = 1000;

/// Runs `make` (a call that takes a node or a page of the file system)
/// again while it fails with ENOSPC, a tick apart, for a while: another
/// worker filling the file system (`fill.rs`) takes every node and page
/// for a moment and gives them back, and a mortal worker that ended in
/// the middle of its fill leaves them until the coordinator removes its
/// area. (A fill is itself judged; here the space is only needed.)
fn room<T>(mut make: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    for _ in 0..ROOM_PATIENCE {
        match make() {
            Err(Errno::ENOSPC) => userland::process::sleep_ticks(1),
            done => return done,
        }
    }
    make()
}

fn mkdir(path: &str, mode: u32) -> Result<(), Errno> {
    room(|| at(Sys::Mkdirat, AT_FDCWD, path.as_bytes(), [0o700, 0, 0]))?;
    at(
        Sys::Fchmodat,
        AT_FDCWD,
        path.as_bytes(),
        [mode as usize, 0, 0],
    )
    .map(|_| ())
}

fn make_file(path: &str, mode: u32, contents: &[u8]) -> Result<(), Errno> {
    let flags = O_WRONLY | O_CREAT | O_EXCL;
    let fd = room(|| {
        at(
            Sys::Openat,
            AT_FDCWD,
            path.as_bytes(),
            [flags as usize, 0o600, 0],
        )
    })? as i32;
    let wrote = room(|| {
        check(syscall(
            Sys::Write,
            [reg(fd), contents.as_ptr() as usize, contents.len(), 0, 0, 0],
        ))
    });
    check(syscall(Sys::Close, [reg(fd), 0, 0, 0, 0, 0]))?;
    wrote?;
    at(
        Sys::Fchmodat,
        AT_FDCWD,
        path.as_bytes(),
        [mode as usize, 0, 0],
    )
    .map(|_| ())
}

/// Makes the fuzz area (the coordinator, as root).
pub fn make_root() -> Result<(), Errno> {
    mkdir(FUZZ_DIR, 0o755)
}

/// Makes worker `worker`'s area, as root: the area, and for an
/// `unprivileged` one the fixtures, after which the worker becomes
/// [`USER`]; then the homes of `threads` threads with their junk
/// directories and the names of [`crate::paths::NAMES`]; and enters the
/// area. The error and what it was making.
pub fn make_area(worker: usize, threads: usize, unprivileged: bool) -> Result<(), String> {
    let area = area(worker);
    let mode = if unprivileged { AREA_MODE } else { 0o777 };
    mkdir(&area, mode).map_err(|e| format!("{area}: {e:?}"))?;
    if unprivileged {
        for node in NODES.iter().filter(|n| n.fixture) {
            let path = format!("{area}/{}", node.path);
            let made = match node.dir {
                true => mkdir(&path, node.mode),
                false => make_file(&path, node.mode, b"#!/bin/none: no program\n"),
            };
            made.map_err(|e| format!("{path}: {e:?}"))?;
        }
        check(syscall(Sys::Seteuid, [USER, 0, 0, 0, 0, 0]))
            .map_err(|e| format!("seteuid: {e:?}"))?;
    }
    for slot in 0..threads {
        let home = home(worker, slot);
        let home_mode = if unprivileged { 0o755 } else { 0o777 };
        mkdir(&home, home_mode).map_err(|e| format!("{home}: {e:?}"))?;
        for name in ["j", "d0", "d1", "d1/d2"] {
            let dir = format!("{home}/{name}");
            mkdir(&dir, 0o777).map_err(|e| format!("{dir}: {e:?}"))?;
        }
        for name in ["f0", "f1", "f2", "d0/f0"] {
            let file = format!("{home}/{name}");
            make_file(&file, 0o666, b"").map_err(|e| format!("{file}: {e:?}"))?;
        }
    }
    chdir(&area).map_err(|e| format!("chdir {area}: {e:?}"))
}

/// The names in the directory `dirfd` opened (but `.` and `..`).
fn names(dirfd: i32) -> Result<Vec<Vec<u8>>, Errno> {
    let mut names = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = check(syscall(
            Sys::Getdents64,
            [reg(dirfd), buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        ))?;
        if n == 0 {
            return Ok(names);
        }
        for (_, name) in decode_dirents64(&buf[..n]) {
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
    }
}

/// Removes `name` in the directory `dirfd` opened, and everything below
/// it, detaching any door attached over a node first (which takes
/// entering the directory: `fdetach` takes a path). The error and where.
fn remove_at(dirfd: i32, name: &[u8]) -> Result<(), (Vec<u8>, Errno)> {
    let fail = |e| (name.to_vec(), e);
    let mut stat = Stat::default();
    let stat_ptr = &raw mut stat as usize;
    at(
        Sys::Fstatat,
        dirfd,
        name,
        [stat_ptr, AT_SYMLINK_NOFOLLOW as usize, 0],
    )
    .map_err(fail)?;
    if stat.st_mode & S_IFMT == S_IFDOOR {
        check(syscall(Sys::Fchdir, [reg(dirfd), 0, 0, 0, 0, 0])).map_err(fail)?;
        let args = [name.as_ptr() as usize, name.len(), 0, 0, 0, 0];
        check(syscall(Sys::Fdetach, args)).map_err(fail)?;
        at(
            Sys::Fstatat,
            dirfd,
            name,
            [stat_ptr, AT_SYMLINK_NOFOLLOW as usize, 0],
        )
        .map_err(fail)?;
    }
    if stat.st_mode & S_IFMT != S_IFDIR {
        return at(Sys::Unlinkat, dirfd, name, [0; 3])
            .map(|_| ())
            .map_err(fail);
    }
    let flags = (O_RDONLY | O_DIRECTORY) as usize;
    let inner = at(Sys::Openat, dirfd, name, [flags, 0, 0]).map_err(fail)? as i32;
    let result = names(inner).map_err(fail).and_then(|names| {
        names.iter().try_for_each(|n| {
            remove_at(inner, n).map_err(|(path, e)| ([name, b"/", &path].concat(), e))
        })
    });
    check(syscall(Sys::Close, [reg(inner), 0, 0, 0, 0, 0])).map_err(fail)?;
    result?;
    at(Sys::Unlinkat, dirfd, name, [AT_REMOVEDIR as usize, 0, 0])
        .map(|_| ())
        .map_err(fail)
}

/// Removes `path` (a directory) and everything below it, as root; then
/// `path` must be gone. What went wrong.
pub fn remove_tree(path: &str) -> Result<(), String> {
    let (parent, name) = path.rsplit_once('/').expect("an absolute path");
    let parent = if parent.is_empty() { "/" } else { parent };
    let flags = (O_RDONLY | O_DIRECTORY) as usize;
    let dirfd = at(Sys::Openat, AT_FDCWD, parent.as_bytes(), [flags, 0, 0])
        .map_err(|e| format!("{parent}: {e:?}"))? as i32;
    let removed = remove_at(dirfd, name.as_bytes());
    check(syscall(Sys::Close, [reg(dirfd), 0, 0, 0, 0, 0]))
        .map_err(|e| format!("closing {parent}: {e:?}"))?;
    chdir("/").map_err(|e| format!("chdir /: {e:?}"))?;
    removed.map_err(|(at, e)| format!("{parent}/{}: {e:?}", String::from_utf8_lossy(&at)))?;
    let mut stat = Stat::default();
    match at(
        Sys::Fstatat,
        AT_FDCWD,
        path.as_bytes(),
        [&raw mut stat as usize, 0, 0],
    ) {
        Err(Errno::ENOENT) => Ok(()),
        other => Err(format!(
            "{path} is still there after its removal ({other:?})"
        )),
    }
}

impl Ctx {
    /// Empties the thread's junk directory (as far as the process's
    /// current rights and the modes the calls set allow) and makes it
    /// again if a call removed it.
    pub fn sweep_junk(&mut self) {
        let junk = format!("{}/j", home(self.worker, self.slot));
        let flags = (O_RDONLY | O_DIRECTORY) as usize;
        let args = [
            reg(AT_FDCWD),
            junk.as_ptr() as usize,
            junk.len(),
            flags,
            0,
            0,
        ];
        let dirfd = self.issue_nr(Sys::Openat.number(), args, Expect::Any);
        if dirfd < 0 {
            let args = [
                reg(AT_FDCWD),
                junk.as_ptr() as usize,
                junk.len(),
                0o777,
                0,
                0,
            ];
            self.issue_nr(Sys::Mkdirat.number(), args, Expect::Any);
            return;
        }
        if let Ok(found) = crate::fds::shared(|| names(dirfd as i32)) {
            for name in found {
                crate::fds::shared(|| remove_at(dirfd as i32, &name)).ok();
            }
        }
        let home = home(self.worker, self.slot);
        let args = [reg(AT_FDCWD), home.as_ptr() as usize, home.len(), 0, 0, 0];
        self.issue_nr(Sys::Chdir.number(), args, Expect::Any);
        self.issue_nr(
            Sys::Close.number(),
            [dirfd as usize, 0, 0, 0, 0, 0],
            Expect::Value(0),
        );
    }
}
