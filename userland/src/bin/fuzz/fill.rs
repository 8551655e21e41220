//! Filling the file system: once in a campaign, the first fuzz thread of
//! each worker writes a file in its junk directory until the file
//! system's page limit answers ENOSPC (a write that does not fit writes
//! nothing: the size stays, and a write into pages the file holds still
//! fits), truncates it (then a write fits again, unless other threads
//! filled the space meanwhile), and makes directories there until the
//! node limit (or anything else) stops it, then removes them. Only this
//! thread names these files, so the sizes are certain.

use crate::fuzzer::{Ctx, Expect};
use crate::mem::SCRATCH_RW;
use crate::paths::home;
use alloc::format;
use userland::abi::fs::{
    AT_FDCWD, AT_REMOVEDIR, FS_MAX_NODES, FS_MAX_PAGES, O_CREAT, O_TRUNC, O_WRONLY, Stat,
};
use userland::abi::{Errno, Sys};

/// Bytes per write while filling.
const CHUNK: usize = SCRATCH_RW;

impl Ctx {
    fn path_call(&mut self, call: Sys, path: &str, rest: [usize; 3], expect: Expect) -> isize {
        let args = [
            AT_FDCWD as isize as usize,
            path.as_ptr() as usize,
            path.len(),
            rest[0],
            rest[1],
            rest[2],
        ];
        self.issue_nr(call.number(), args, expect)
    }

    /// The size of the file `fd` opened.
    fn size_of(&mut self, fd: usize) -> i64 {
        let mut stat = Stat::default();
        let args = [fd, &raw mut stat as usize, 0, 0, 0, 0];
        self.issue_nr(Sys::Fstat.number(), args, Expect::Value(0));
        stat.st_size
    }

    /// Fills the file system's pages, then its nodes, and frees them.
    pub fn fill(&mut self) {
        let junk = format!("{}/j", home(self.worker, self.slot));
        let file = format!("{junk}/fill");
        let flags = (O_WRONLY | O_CREAT | O_TRUNC) as usize;
        let fd = self.path_call(Sys::Openat, &file, [flags, 0o600, 0], Expect::Any);
        if fd >= 0 {
            self.fill_pages(fd as usize);
            self.issue_nr(
                Sys::Close.number(),
                [fd as usize, 0, 0, 0, 0, 0],
                Expect::Value(0),
            );
            self.path_call(Sys::Unlinkat, &file, [0; 3], Expect::Any);
        }
        self.fill_nodes(&junk);
    }

    fn fill_pages(&mut self, fd: usize) {
        let buf = self.scratch.slot(&mut self.rng, CHUNK, false);
        let write = [fd, buf, CHUNK, 0, 0, 0];
        let mut written = 0;
        for _ in 0..FS_MAX_PAGES * 4096 / CHUNK + 2 {
            let ret = self.issue_nr(
                Sys::Write.number(),
                write,
                Expect::ValueOr(CHUNK as isize, &[Errno::ENOSPC]),
            );
            if ret < 0 {
                let size = self.size_of(fd);
                self.check(
                    size == written,
                    format_args!("a write refused with ENOSPC left the size {size}, not {written}"),
                );
                // Pages the file holds take a write even now.
                let args = [fd, buf, 1, 0, 0, 0];
                let expect = match written {
                    0 => Expect::ValueOr(1, &[Errno::ENOSPC]),
                    _ => Expect::Value(1),
                };
                self.issue_nr(Sys::Pwrite.number(), args, expect);
                break;
            }
            written += CHUNK as i64;
        }
        let truncate = [fd, 0, 0, 0, 0, 0];
        self.issue_nr(Sys::Ftruncate.number(), truncate, Expect::Value(0));
        let args = [fd, buf, CHUNK, 0, 0, 0];
        let expect = Expect::ValueOr(CHUNK as isize, &[Errno::ENOSPC]);
        self.issue_nr(Sys::Pwrite.number(), args, expect);
        self.issue_nr(Sys::Ftruncate.number(), truncate, Expect::Value(0));
    }

    /// Makes directories until one fails (the process's rights, which
    /// other threads change, may stop it before the limit does), then
    /// removes them (whatever is left goes with the next sweep).
    fn fill_nodes(&mut self, junk: &str) {
        let rmdir = AT_REMOVEDIR as usize;
        let mut made = 0;
        while made < FS_MAX_NODES {
            let dir = format!("{junk}/n{made}");
            if self.path_call(Sys::Mkdirat, &dir, [0o700, 0, 0], Expect::Any) != 0 {
                break;
            }
            made += 1;
        }
        for n in 0..made {
            let dir = format!("{junk}/n{n}");
            self.path_call(Sys::Unlinkat, &dir, [rmdir, 0, 0], Expect::Any);
        }
    }
}
