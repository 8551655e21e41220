//! Property test: random sequences of open (creating, exclusive,
//! truncating, appending), read, write, pread, pwrite, lseek, ftruncate,
//! fstat, close, dup, passing a description to another process, process
//! exit, unlink, mkdir, rmdir, rename and stat, run against a model: paths
//! name files or directories; files hold bytes and the set of pages
//! written; descriptions hold their file, offset and flags and are shared
//! by dups and passes. Every result is compared with the model's, the
//! bookkeeping is audited and its usage compared after every step, and at
//! the end everything is closed and removed and pages and nodes are back
//! at their starting counts: nothing leaks.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::string::String;

const PATHS: [&str; 6] = [
    "/tmp/a",
    "/tmp/b",
    "/tmp/d",
    "/tmp/d/a",
    "/tmp/d/e",
    "/tmp/d/e/c",
];
const PROCESSES: usize = 2;
const MAX_PAGES: usize = 12;
const MAX_NODES: usize = INITIAL_NODES + 5;
const PAGE: u64 = crate::io::PAGE_SIZE as u64;
const USER: Cred = ALICE;
const OFFSETS: [i64; 11] = [0, 1, 100, 4095, 4096, 5000, 8191, 12000, 20000, 40000, -1];

#[derive(Clone, Debug)]
enum Op {
    Open {
        p: usize,
        path: usize,
        access: u32,
        creat: bool,
        excl: bool,
        trunc: bool,
        append: bool,
    },
    Close {
        p: usize,
        k: usize,
    },
    Dup {
        p: usize,
        k: usize,
    },
    Pass {
        p: usize,
        k: usize,
        release: bool,
    },
    Exit {
        p: usize,
    },
    Read {
        p: usize,
        k: usize,
        len: usize,
    },
    Write {
        p: usize,
        k: usize,
        len: usize,
        seed: u8,
    },
    Pread {
        p: usize,
        k: usize,
        off: usize,
        len: usize,
    },
    Pwrite {
        p: usize,
        k: usize,
        off: usize,
        len: usize,
        seed: u8,
    },
    Seek {
        p: usize,
        k: usize,
        off: usize,
        whence: u32,
    },
    Truncate {
        p: usize,
        k: usize,
        off: usize,
    },
    Fstat {
        p: usize,
        k: usize,
    },
    Unlink {
        path: usize,
    },
    Mkdir {
        path: usize,
    },
    Rmdir {
        path: usize,
    },
    Rename {
        from: usize,
        to: usize,
    },
    Stat {
        path: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PROCESSES;
    let k = 0..6usize;
    let path = 0..PATHS.len();
    let len = prop_oneof![0..16usize, 0..9000usize];
    let off = 0..OFFSETS.len();
    prop_oneof![
        6 => (p.clone(), path.clone(), 0..3u32, any::<bool>(), proptest::bool::weighted(0.2),
              proptest::bool::weighted(0.2), proptest::bool::weighted(0.3))
            .prop_map(|(p, path, access, creat, excl, trunc, append)|
                Op::Open { p, path, access, creat, excl, trunc, append }),
        2 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Close { p, k }),
        1 => (p.clone(), k.clone()).prop_map(|(p, k)| Op::Dup { p, k }),
        1 => (p.clone(), k.clone(), any::<bool>()).prop_map(|(p, k, release)| Op::Pass { p, k, release }),
        1 => p.clone().prop_map(|p| Op::Exit { p }),
        3 => (p.clone(), k.clone(), len.clone()).prop_map(|(p, k, len)| Op::Read { p, k, len }),
        4 => (p.clone(), k.clone(), len.clone(), any::<u8>())
            .prop_map(|(p, k, len, seed)| Op::Write { p, k, len, seed }),
        2 => (p.clone(), k.clone(), off.clone(), len.clone())
            .prop_map(|(p, k, off, len)| Op::Pread { p, k, off, len }),
        2 => (p.clone(), k.clone(), off.clone(), len, any::<u8>())
            .prop_map(|(p, k, off, len, seed)| Op::Pwrite { p, k, off, len, seed }),
        2 => (p.clone(), k.clone(), off.clone(), 0..3u32)
            .prop_map(|(p, k, off, whence)| Op::Seek { p, k, off, whence }),
        1 => (p.clone(), k.clone(), off).prop_map(|(p, k, off)| Op::Truncate { p, k, off }),
        1 => (p, k).prop_map(|(p, k)| Op::Fstat { p, k }),
        2 => path.clone().prop_map(|path| Op::Unlink { path }),
        2 => path.clone().prop_map(|path| Op::Mkdir { path }),
        1 => path.clone().prop_map(|path| Op::Rmdir { path }),
        2 => (path.clone(), path.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        1 => path.prop_map(|path| Op::Stat { path }),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    File(usize),
    Dir(usize),
}

#[derive(Default)]
struct File {
    data: Vec<u8>,
    pages: BTreeSet<u64>,
    linked: bool,
    /// Descriptions naming it.
    open: u32,
    ino: u64,
}

#[derive(Default)]
struct Directory {
    linked: bool,
    open: u32,
    ino: u64,
}

struct Description {
    target: Entry,
    offset: i64,
    flags: u32,
    refs: u32,
}

/// What the file system should hold, and what each process's descriptors name.
#[derive(Default)]
struct Model {
    names: Map<String, Entry>,
    files: Vec<File>,
    dirs: Vec<Directory>,
    ofds: Vec<Description>,
    /// Per process: (the description, its model index).
    handles: [Vec<(OfdId, usize)>; PROCESSES],
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add((i * 7) as u8)).collect()
}

impl Model {
    fn pages(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.linked || f.open > 0)
            .map(|f| f.pages.len())
            .sum()
    }

    fn nodes(&self) -> usize {
        let files = self.files.iter().filter(|f| f.linked || f.open > 0).count();
        let dirs = self.dirs.iter().filter(|d| d.linked || d.open > 0).count();
        INITIAL_NODES + files + dirs
    }

    /// The errors of the directories above `path` (below `/tmp`).
    fn parent_error(&self, path: &str) -> Result<(), Errno> {
        for (at, _) in path.match_indices('/').skip(2) {
            match self.names.get(&path[..at]) {
                None => return Err(Errno::ENOENT),
                Some(Entry::File(_)) => return Err(Errno::ENOTDIR),
                Some(Entry::Dir(_)) => {}
            }
        }
        Ok(())
    }

    fn children(&self, dir: &str) -> usize {
        let prefix = std::format!("{dir}/");
        self.names
            .keys()
            .filter(|name| name.starts_with(&prefix))
            .count()
    }

    fn subdirs(&self, dir: &str) -> u64 {
        let prefix = std::format!("{dir}/");
        let direct =
            |name: &String| name.starts_with(&prefix) && !name[prefix.len()..].contains('/');
        let dirs = self
            .names
            .iter()
            .filter(|(name, e)| direct(name) && matches!(e, Entry::Dir(_)));
        dirs.count() as u64
    }

    fn unname(&mut self, entry: Entry) {
        match entry {
            Entry::File(f) => self.files[f].linked = false,
            Entry::Dir(d) => self.dirs[d].linked = false,
        }
    }

    /// Writes `bytes` at `offset` of file `f` if the pages fit.
    fn write(&mut self, f: usize, offset: usize, bytes: &[u8]) -> Result<usize, Errno> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let first = offset as u64 / PAGE;
        let last = (offset + bytes.len() - 1) as u64 / PAGE;
        let fresh: Vec<u64> = (first..=last)
            .filter(|p| !self.files[f].pages.contains(p))
            .collect();
        if self.pages() + fresh.len() > MAX_PAGES {
            return Err(Errno::ENOSPC);
        }
        let file = &mut self.files[f];
        file.pages.extend(fresh);
        if file.data.len() < offset + bytes.len() {
            file.data.resize(offset + bytes.len(), 0);
        }
        file.data[offset..offset + bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    }

    fn truncate(&mut self, f: usize, len: usize) {
        let file = &mut self.files[f];
        file.data.resize(len, 0);
        file.pages.retain(|&p| p < (len as u64).div_ceil(PAGE));
    }

    /// Drops a reference to description `o`.
    fn release(&mut self, o: usize) {
        self.ofds[o].refs -= 1;
        if self.ofds[o].refs == 0 {
            match self.ofds[o].target {
                Entry::File(f) => self.files[f].open -= 1,
                Entry::Dir(d) => self.dirs[d].open -= 1,
            }
        }
    }
}

/// The file system and the model, stepped together.
struct Run {
    fs: TestFs,
    model: Model,
}

impl Run {
    fn handle(&self, p: usize, k: usize) -> Option<(OfdId, usize)> {
        let handles = &self.model.handles[p];
        (!handles.is_empty()).then(|| handles[k % handles.len()])
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let root = self.fs.root();
        match *op {
            Op::Open {
                p,
                path,
                access,
                creat,
                excl,
                trunc,
                append,
            } => {
                let path = PATHS[path];
                let flags = access
                    | if creat { O_CREAT } else { 0 }
                    | if excl { O_EXCL } else { 0 }
                    | if trunc { O_TRUNC } else { 0 }
                    | if append { O_APPEND } else { 0 };
                let got = self.fs.open(USER, root, path.as_bytes(), flags, 0o644);
                let expect = self.open(path, flags);
                match (got, expect) {
                    (Ok(Opened::File(ofd)), Ok(Entry::File(f))) => {
                        if self.model.files[f].ino == 0 {
                            self.model.files[f].ino = self.fs.fstat(ofd).st_ino;
                        }
                        self.add(p, ofd, Entry::File(f), flags);
                    }
                    (Ok(Opened::Dir(ofd)), Ok(Entry::Dir(d))) => {
                        self.add(p, ofd, Entry::Dir(d), flags)
                    }
                    (Err(got), Err(expect)) => prop_assert_eq!(got, expect),
                    (got, expect) => {
                        prop_assert!(false, "open {path}: {got:?}, expected {expect:?}")
                    }
                }
            }
            Op::Close { p, k } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let handles = &mut self.model.handles[p];
                    handles.remove(handles.iter().position(|&h| h == (ofd, o)).unwrap());
                    self.fs.release(ofd);
                    self.model.release(o);
                }
            }
            Op::Dup { p, k } => {
                if let Some(h) = self.handle(p, k) {
                    self.fs.retain(h.0);
                    self.model.ofds[h.1].refs += 1;
                    self.model.handles[p].push(h);
                }
            }
            Op::Pass { p, k, release } => {
                if let Some(h) = self.handle(p, k) {
                    self.fs.retain(h.0);
                    self.model.ofds[h.1].refs += 1;
                    self.model.handles[(p + 1) % PROCESSES].push(h);
                    if release {
                        self.step(&Op::Close { p, k })?;
                    }
                }
            }
            Op::Exit { p } => {
                for (ofd, o) in core::mem::take(&mut self.model.handles[p]) {
                    self.fs.release(ofd);
                    self.model.release(o);
                }
            }
            Op::Read { p, k, len } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let got = read(&mut self.fs, ofd, len);
                    let expect = self.read(o, None, len);
                    if let Ok(bytes) = &expect {
                        self.model.ofds[o].offset += bytes.len() as i64;
                    }
                    prop_assert_eq!(got, expect);
                }
            }
            Op::Pread { p, k, off, len } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let off = OFFSETS[off];
                    prop_assert_eq!(pread(&self.fs, ofd, off, len), self.read(o, Some(off), len));
                }
            }
            Op::Write { p, k, len, seed } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let bytes = data(len, seed);
                    let got = write(&mut self.fs, ofd, &bytes);
                    prop_assert_eq!(got, self.write(o, None, &bytes));
                }
            }
            Op::Pwrite {
                p,
                k,
                off,
                len,
                seed,
            } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let (off, bytes) = (OFFSETS[off], data(len, seed));
                    let got = self.fs.pwrite(ofd, off, &mut &bytes[..]);
                    prop_assert_eq!(got, self.write(o, Some(off), &bytes));
                }
            }
            Op::Seek { p, k, off, whence } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let off = OFFSETS[off];
                    let got = self.fs.lseek(ofd, off, whence);
                    let ofd_model = &self.model.ofds[o];
                    let base = match (whence, ofd_model.target) {
                        (SEEK_SET, _) => Some(0),
                        (SEEK_CUR, _) => Some(ofd_model.offset),
                        (_, Entry::File(f)) => Some(self.model.files[f].data.len() as i64),
                        (_, Entry::Dir(_)) => None,
                    };
                    let expect = match base.map(|b| b + off) {
                        Some(target) if target >= 0 => {
                            self.model.ofds[o].offset = target;
                            Ok(target as u64)
                        }
                        _ => Err(Errno::EINVAL),
                    };
                    prop_assert_eq!(got, expect);
                }
            }
            Op::Truncate { p, k, off } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let len = OFFSETS[off];
                    let ofd_model = &self.model.ofds[o];
                    let expect = match ofd_model.target {
                        Entry::File(f) if len >= 0 && ofd_model.flags & O_ACCMODE != O_RDONLY => {
                            self.model.truncate(f, len as usize);
                            Ok(())
                        }
                        _ => Err(Errno::EINVAL),
                    };
                    prop_assert_eq!(self.fs.truncate(ofd, len), expect);
                }
            }
            Op::Fstat { p, k } => {
                if let Some((ofd, o)) = self.handle(p, k) {
                    let st = self.fs.fstat(ofd);
                    match self.model.ofds[o].target {
                        Entry::File(f) => {
                            let file = &self.model.files[f];
                            prop_assert_eq!(st.st_mode, S_IFREG | 0o644);
                            prop_assert_eq!(st.st_size as usize, file.data.len());
                            prop_assert_eq!(st.st_nlink, u64::from(file.linked));
                            prop_assert_eq!(st.st_ino, file.ino);
                            prop_assert_eq!(st.st_blocks as usize, file.pages.len() * 8);
                        }
                        Entry::Dir(d) => {
                            prop_assert_eq!(st.st_mode, S_IFDIR | 0o755);
                            prop_assert_eq!(st.st_ino, self.model.dirs[d].ino);
                        }
                    }
                }
            }
            Op::Unlink { path } => {
                let path = PATHS[path];
                let expect =
                    self.model
                        .parent_error(path)
                        .and_then(|()| match self.model.names.get(path) {
                            None => Err(Errno::ENOENT),
                            Some(Entry::Dir(_)) => Err(Errno::EISDIR),
                            Some(&Entry::File(f)) => {
                                self.model.names.remove(path);
                                self.model.files[f].linked = false;
                                Ok(())
                            }
                        });
                prop_assert_eq!(self.fs.unlink(USER, root, path.as_bytes()), expect);
            }
            Op::Mkdir { path } => {
                let path = PATHS[path];
                let expect = self.model.parent_error(path).and_then(|()| {
                    if self.model.names.contains_key(path) {
                        Err(Errno::EEXIST)
                    } else if self.model.nodes() >= MAX_NODES {
                        Err(Errno::ENOSPC)
                    } else {
                        Ok(())
                    }
                });
                prop_assert_eq!(self.fs.mkdir(USER, root, path.as_bytes(), 0o755), expect);
                if expect.is_ok() {
                    let ino = stat(&self.fs, USER, path).unwrap().st_ino;
                    self.model.dirs.push(Directory {
                        linked: true,
                        open: 0,
                        ino,
                    });
                    self.model
                        .names
                        .insert(path.into(), Entry::Dir(self.model.dirs.len() - 1));
                }
            }
            Op::Rmdir { path } => {
                let path = PATHS[path];
                let expect =
                    self.model
                        .parent_error(path)
                        .and_then(|()| match self.model.names.get(path) {
                            None => Err(Errno::ENOENT),
                            Some(Entry::File(_)) => Err(Errno::ENOTDIR),
                            Some(_) if self.model.children(path) > 0 => Err(Errno::ENOTEMPTY),
                            Some(&entry) => {
                                self.model.names.remove(path);
                                self.model.unname(entry);
                                Ok(())
                            }
                        });
                prop_assert_eq!(self.fs.rmdir(USER, root, path.as_bytes()), expect);
            }
            Op::Rename { from, to } => {
                let (from, to) = (PATHS[from], PATHS[to]);
                let expect = self.rename(from, to);
                prop_assert_eq!(
                    self.fs
                        .rename(USER, root, from.as_bytes(), root, to.as_bytes()),
                    expect
                );
            }
            Op::Stat { path } => {
                let path = PATHS[path];
                let got = stat(&self.fs, USER, path);
                let expect = self
                    .model
                    .parent_error(path)
                    .and_then(|()| self.model.names.get(path).copied().ok_or(Errno::ENOENT));
                match (got, expect) {
                    (Ok(st), Ok(Entry::File(f))) => {
                        let file = &self.model.files[f];
                        prop_assert_eq!(
                            (st.st_ino, st.st_size as usize),
                            (file.ino, file.data.len())
                        );
                        prop_assert_eq!(st.st_mode, S_IFREG | 0o644);
                    }
                    (Ok(st), Ok(Entry::Dir(d))) => {
                        prop_assert_eq!(st.st_ino, self.model.dirs[d].ino);
                        prop_assert_eq!(st.st_nlink, 2 + self.model.subdirs(path));
                    }
                    (got, expect) => prop_assert_eq!(got.map(|_| ()), expect.map(|_| ())),
                }
            }
        }
        Ok(())
    }

    fn add(&mut self, p: usize, ofd: OfdId, target: Entry, flags: u32) {
        match target {
            Entry::File(f) => self.model.files[f].open += 1,
            Entry::Dir(d) => self.model.dirs[d].open += 1,
        }
        self.model.ofds.push(Description {
            target,
            offset: 0,
            flags,
            refs: 1,
        });
        self.model.handles[p].push((ofd, self.model.ofds.len() - 1));
    }

    /// What `open` should do, applied to the model (but the description).
    fn open(&mut self, path: &str, flags: u32) -> Result<Entry, Errno> {
        let model = &mut self.model;
        model.parent_error(path)?;
        match model.names.get(path).copied() {
            Some(_) if flags & O_CREAT != 0 && flags & O_EXCL != 0 => Err(Errno::EEXIST),
            Some(Entry::Dir(d)) => {
                if flags & (O_ACCMODE | O_TRUNC | O_CREAT) != 0 {
                    Err(Errno::EISDIR)
                } else {
                    Ok(Entry::Dir(d))
                }
            }
            Some(Entry::File(f)) => {
                if flags & O_TRUNC != 0 {
                    model.truncate(f, 0);
                }
                Ok(Entry::File(f))
            }
            None if flags & O_CREAT == 0 => Err(Errno::ENOENT),
            None if model.nodes() >= MAX_NODES => Err(Errno::ENOSPC),
            None => {
                model.files.push(File {
                    linked: true,
                    ..File::default()
                });
                let entry = Entry::File(model.files.len() - 1);
                model.names.insert(path.into(), entry);
                Ok(entry)
            }
        }
    }

    /// What a read (at the description's offset, or at `at`) should give.
    fn read(&self, o: usize, at: Option<i64>, len: usize) -> Result<Vec<u8>, Errno> {
        let ofd = &self.model.ofds[o];
        if ofd.flags & O_ACCMODE == O_WRONLY {
            return Err(Errno::EBADF);
        }
        if at.is_some_and(|off| off < 0) {
            return Err(Errno::EINVAL);
        }
        let Entry::File(f) = ofd.target else {
            return Err(Errno::EISDIR);
        };
        let data = &self.model.files[f].data;
        let start = (at.unwrap_or(ofd.offset) as usize).min(data.len());
        Ok(data[start..(start + len).min(data.len())].to_vec())
    }

    /// What a write should do, applied to the model.
    fn write(&mut self, o: usize, at: Option<i64>, bytes: &[u8]) -> Result<usize, Errno> {
        let ofd = &self.model.ofds[o];
        if ofd.flags & O_ACCMODE == O_RDONLY {
            return Err(Errno::EBADF);
        }
        if at.is_some_and(|off| off < 0) {
            return Err(Errno::EINVAL);
        }
        let Entry::File(f) = ofd.target else {
            unreachable!("directories are not open for writing");
        };
        let offset = match at {
            Some(off) => off as usize,
            None if ofd.flags & O_APPEND != 0 => self.model.files[f].data.len(),
            None => ofd.offset as usize,
        };
        let n = self.model.write(f, offset, bytes)?;
        if at.is_none() {
            self.model.ofds[o].offset = (offset + n) as i64;
        }
        Ok(n)
    }

    /// What `rename` should do, applied to the model.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        let model = &mut self.model;
        model.parent_error(from)?;
        model.parent_error(to)?;
        let source = *model.names.get(from).ok_or(Errno::ENOENT)?;
        if from == to {
            return Ok(());
        }
        let is_dir = matches!(source, Entry::Dir(_));
        if is_dir && to.starts_with(&std::format!("{from}/")) {
            return Err(Errno::EINVAL);
        }
        if let Some(&target) = model.names.get(to) {
            match (is_dir, target) {
                (true, Entry::File(_)) => return Err(Errno::ENOTDIR),
                (false, Entry::Dir(_)) => return Err(Errno::EISDIR),
                (true, _) if model.children(to) > 0 => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            model.names.remove(to);
            model.unname(target);
        }
        let prefix = std::format!("{from}/");
        let moved: Vec<String> = model
            .names
            .keys()
            .filter(|n| *n == from || n.starts_with(&prefix))
            .cloned()
            .collect();
        for name in moved {
            let entry = model.names.remove(&name).unwrap();
            model
                .names
                .insert(std::format!("{to}{}", &name[from.len()..]), entry);
        }
        Ok(())
    }

    /// Compares what the file system holds with the model's counts.
    fn check_usage(&self) -> Result<(), TestCaseError> {
        let extra_holders = self.fs.audit();
        prop_assert!(extra_holders.is_empty());
        let usage = self.fs.usage();
        prop_assert_eq!(usage.pages, self.model.pages());
        prop_assert_eq!(usage.nodes, self.model.nodes());
        prop_assert_eq!(
            usage.ofds,
            self.model.ofds.iter().filter(|o| o.refs > 0).count()
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_file_system_behaves_like_its_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut run = Run { fs: with_limits(MAX_PAGES, MAX_NODES), model: Model::default() };
        for op in &ops {
            run.step(op)?;
            run.check_usage()?;
        }
        for p in 0..PROCESSES {
            run.step(&Op::Exit { p })?;
        }
        let mut names: Vec<String> = run.model.names.keys().cloned().collect();
        names.sort_by_key(|name| core::cmp::Reverse(name.len()));
        let root = run.fs.root();
        for name in names {
            match run.model.names[&name] {
                Entry::File(_) => run.fs.unlink(USER, root, name.as_bytes()).unwrap(),
                Entry::Dir(_) => run.fs.rmdir(USER, root, name.as_bytes()).unwrap(),
            }
        }
        let usage = run.fs.usage();
        prop_assert_eq!(usage, Usage { pages: 0, nodes: INITIAL_NODES, ofds: 0, attachments: 0 });
        prop_assert_eq!(run.fs.store.in_use, 0);
    }
}
