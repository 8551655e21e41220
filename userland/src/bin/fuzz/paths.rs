//! Paths and directory arguments for the calls on names. Everything a
//! campaign makes lies in the fuzz area, [`FUZZ_DIR`]: worker `w` has
//! `/tmp/fuzz/w` and its thread `s` the home `/tmp/fuzz/w/s`, where the
//! thread's files `p0` and `p1` ([`crate::own`]), the names any thread's
//! paths use ([`NAMES`]), and `j/`, where names of random bytes go, lie.
//!
//! A path is drawn from every class: the area's names (absolute, or
//! relative to the directory argument), names of random bytes, odd ones
//! (empty, `/`, `//`, `.`), too long ones and too long names, ones with a
//! NUL, ones through a file or a missing directory, the nodes of known
//! state of [`model::NODES`], each at a scratch address (misaligned at
//! times) or a bad one, with its length or another one. [`PathArg`] says
//! what is certain about it, stage by stage (decoding, where the walk
//! starts, parsing, resolving).
//!
//! No path lets a call make or change anything outside the area: names of
//! random bytes and long names lie in the home, relative paths start from
//! a directory of the area, and a node of known state is only drawn for a
//! call that cannot change it.

use crate::fuzzer::Ctx;
use crate::mem::Access;
use crate::model::{self, NODES, Node, Stage, Who};
use crate::own::{Desc, Kind, Origin};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use userland::abi::Errno;
use userland::abi::fs::{AT_FDCWD, PATH_MAX};

/// The fuzz area.
pub const FUZZ_DIR: &str = "/tmp/fuzz";

/// Names in every home that the paths of any thread name (made with the
/// home; then the calls make and remove them).
pub const NAMES: [&str; 7] = ["f0", "f1", "f2", "d0", "d1", "d0/f0", "d1/d2"];

/// A name no call makes: renames to it must fail before making it.
pub const NOWHERE: &str = "nx";

/// Longest path the kernel reads (longer: ENAMETOOLONG before reading).
const PATH_READ_MAX: usize = 4096;

/// Worker `worker`'s area.
pub fn area(worker: usize) -> String {
    format!("{FUZZ_DIR}/{worker}")
}

/// The home of thread `slot` of worker `worker`.
pub fn home(worker: usize, slot: usize) -> String {
    format!("{FUZZ_DIR}/{worker}/{slot}")
}

/// Who may be making the calls of `c`'s process.
pub fn whos(c: &Ctx) -> &'static [Who] {
    if c.unprivileged {
        &[Who::User]
    } else {
        &[Who::Root, Who::User]
    }
}

/// A directory argument of an `*at` call.
#[derive(Clone, Copy, Debug)]
pub enum DirArg {
    /// `AT_FDCWD`: the current directory (always in the area or `/bin`).
    Cwd,
    /// An own directory.
    Dir(i32),
    /// An own descriptor of another kind.
    NotDir(i32),
    /// A value naming nothing open.
    Bad(usize),
    /// A value that is no `int`: EBADF as it is decoded.
    Undecodable(usize),
    /// A pool descriptor: anything.
    Pool(usize),
}

impl DirArg {
    pub fn value(self) -> usize {
        match self {
            DirArg::Cwd => AT_FDCWD as isize as usize,
            DirArg::Dir(fd) | DirArg::NotDir(fd) => fd as usize,
            DirArg::Bad(v) | DirArg::Undecodable(v) | DirArg::Pool(v) => v,
        }
    }

    /// Decoding the argument.
    pub fn decode(self) -> Stage {
        crate::fd_calls::decode_fd(self.value())
    }

    /// Starting a relative path from it.
    fn start(self) -> Stage {
        match self {
            DirArg::Cwd | DirArg::Dir(_) => Stage::Pass,
            DirArg::NotDir(_) => Stage::Fail(Errno::ENOTDIR),
            DirArg::Bad(_) | DirArg::Undecodable(_) => Stage::Fail(Errno::EBADF),
            DirArg::Pool(_) => Stage::Unknown,
        }
    }
}

/// A descriptor value naming nothing open (for calls on descriptors,
/// where `AT_FDCWD` is one too): a dead own number, a negative one, or one
/// whose table slot is beyond any capacity a campaign sets.
pub fn bad_fd(c: &mut Ctx) -> usize {
    let pick = c.rng.index(1 << 16);
    if c.rng.chance(30)
        && let Some(dead) = c.own.dead(pick)
    {
        return dead as usize;
    }
    if c.rng.chance(40) {
        return c.rng.pick(&[-1, -2, -101, AT_FDCWD, i32::MIN]) as isize as usize;
    }
    let slot = 2600 + c.rng.below(1400) as usize;
    let generation = c.rng.below(1 << 19) as usize;
    generation << 12 | slot
}

/// A directory argument naming nothing open (`AT_FDCWD` names the
/// current directory there).
fn bad_dirfd(c: &mut Ctx) -> usize {
    match bad_fd(c) {
        v if v == AT_FDCWD as isize as usize => -1isize as usize,
        v => v,
    }
}

/// A value that is no `int` (EBADF as a descriptor argument).
pub fn undecodable_fd(c: &mut Ctx) -> usize {
    c.rng.pick(&[
        1 << 32,
        (1 << 32) | 3,
        u32::MAX as usize,
        AT_FDCWD as u32 as usize,
        i64::MAX as usize,
        i32::MIN as u32 as usize,
    ])
}

/// A directory argument from every class.
pub fn dir_arg(c: &mut Ctx) -> DirArg {
    let pick = c.rng.index(1 << 16);
    match c.rng.below(10) {
        0..=2 => DirArg::Cwd,
        3..=6 => match c
            .own
            .find(pick, |d| d.kind == Kind::Dir && d.origin != Origin::System)
        {
            Some(own) => DirArg::Dir(own.fd),
            None => DirArg::Cwd,
        },
        7 => match c.own.find(pick, |d| d.kind != Kind::Dir) {
            Some(own) => DirArg::NotDir(own.fd),
            None => DirArg::Bad(bad_dirfd(c)),
        },
        8 => match c.rng.below(3) {
            0 => DirArg::Undecodable(undecodable_fd(c)),
            1 => DirArg::Pool(c.fd()),
            _ => DirArg::Bad(bad_dirfd(c)),
        },
        _ => DirArg::Pool(c.fd()),
    }
}

/// What is certain about a path argument.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// Nothing past where the walk starts (names of the area, odd bytes).
    Unknown,
    /// Parsing it fails with this error (before any path is resolved).
    Unparsable(Errno),
    /// Resolving it fails with this error, whoever asks.
    Unresolvable(Errno),
    /// A node of known state.
    Node(&'static Node),
    /// A name no node has in the thread's home.
    Missing,
}

/// A path argument: a pointer and a length, and what is certain about it.
pub struct PathArg {
    pub addr: usize,
    pub len: usize,
    /// Whether the kernel can read the bytes (`Access::Unknown`: an empty
    /// path at a bad address).
    access: Access,
    /// The bytes the kernel reads, when they are certain.
    bytes: Option<Vec<u8>>,
    pub target: Target,
}

impl PathArg {
    /// Decoding the pointer and length.
    pub fn decode(&self) -> Stage {
        if self.len > PATH_READ_MAX {
            return Stage::Fail(Errno::ENAMETOOLONG);
        }
        match self.access {
            Access::Bad => Stage::Fail(Errno::EFAULT),
            Access::Unknown => Stage::Unknown,
            Access::Read | Access::Write => Stage::Pass,
        }
    }

    /// Where the walk starts: ENOENT for an empty path, the directory
    /// argument for a relative one.
    pub fn start(&self, dir: DirArg) -> Stage {
        match self.bytes.as_deref() {
            Some([]) => Stage::Fail(Errno::ENOENT),
            Some([b'/', ..]) => Stage::Pass,
            Some(_) => dir.start(),
            None => Stage::Unknown,
        }
    }

    /// Whether the path is empty (when that is certain).
    pub fn is_empty(&self) -> bool {
        self.bytes.as_deref() == Some(&[])
    }

    /// Parsing it.
    pub fn parse(&self) -> Stage {
        match self.target {
            Target::Unparsable(e) => Stage::Fail(e),
            Target::Unknown => Stage::Unknown,
            Target::Unresolvable(_) | Target::Node(_) | Target::Missing => Stage::Pass,
        }
    }

    /// Resolving the directory that holds it (parsed); a node of known
    /// state is left to the call's own rules.
    pub fn resolve(&self) -> Stage {
        match self.target {
            Target::Unresolvable(e) | Target::Unparsable(e) => Stage::Fail(e),
            Target::Unknown => Stage::Unknown,
            Target::Node(_) | Target::Missing => Stage::Pass,
        }
    }

    /// The node of known state it names.
    pub fn node(&self) -> Option<&'static Node> {
        match self.target {
            Target::Node(node) => Some(node),
            _ => None,
        }
    }
}

/// A name of `len` random bytes.
fn random_name(c: &mut Ctx, len: usize) -> Vec<u8> {
    (0..len).map(|_| c.rng.next() as u8).collect()
}

/// A path from every class; a node of known state only if `allow` lets
/// it (else a name of the area). For a call that `changes` what it names,
/// the length passed is always the path's (a shorter one could name
/// something outside the area).
pub fn path(c: &mut Ctx, changes: bool, allow: impl Fn(&Node) -> bool) -> PathArg {
    path_in(c, None, changes, allow)
}

/// As [`path`], with the bytes in scratch page `page` if given (a call
/// taking two paths keeps them apart).
pub fn path_in(
    c: &mut Ctx,
    page: Option<usize>,
    changes: bool,
    allow: impl Fn(&Node) -> bool,
) -> PathArg {
    let home = home(c.worker, c.slot);
    let relative = c.rng.chance(40);
    let name = NAMES[c.rng.index(NAMES.len())];
    let area_name = |relative: bool| match relative {
        true => name.into(),
        false => format!("{home}/{name}").into_bytes(),
    };
    let (bytes, target) = match c.rng.below(18) {
        0..=6 => (area_name(relative), Target::Unknown),
        7 => {
            let (w, s) = (
                c.rng.below(crate::WORKERS),
                c.rng.below(crate::THREADS as u64),
            );
            (
                format!("{FUZZ_DIR}/{w}/{s}/{name}").into_bytes(),
                Target::Unknown,
            )
        }
        8 => {
            let len = c.rng.below(64) as usize;
            let mut bytes = match relative {
                true => b"j/".to_vec(),
                false => format!("{home}/j/").into_bytes(),
            };
            bytes.extend(random_name(c, len));
            (bytes, Target::Unknown)
        }
        9 => {
            let odd: &[u8] = c.rng.pick(&[&b""[..], b"relative", b"\xff\xfe"]);
            (odd.to_vec(), Target::Unknown)
        }
        10 => {
            // Long names in the junk directory; too long ones anywhere.
            let n = c.rng.pick(&[1, 200, 255, 256, 300]);
            let mut bytes = format!("{home}/j/").into_bytes();
            bytes.resize(bytes.len() + n, b'a');
            let target = match n {
                256.. => Target::Unparsable(Errno::ENAMETOOLONG),
                _ => Target::Unknown,
            };
            (bytes, target)
        }
        11 => {
            let n = c.rng.pick(&[PATH_MAX - 1, PATH_MAX, PATH_MAX + 1, 3000]);
            let mut bytes = b"/tmp/".to_vec();
            while bytes.len() < n {
                bytes.extend_from_slice(b"a/");
            }
            bytes.truncate(n);
            let target = match n {
                PATH_MAX.. => Target::Unparsable(Errno::ENAMETOOLONG),
                _ => Target::Unresolvable(Errno::ENOENT),
            };
            (bytes, target)
        }
        12 => {
            let with_nul: &[u8] = c.rng.pick(&[&b"/tmp\0x"[..], b"/\0", b"/bin/fuzz\0"]);
            (with_nul.to_vec(), Target::Unparsable(Errno::EINVAL))
        }
        13 => {
            let (path, errno) = c.rng.pick(&[
                ("/bin/fuzz/x", Errno::ENOTDIR),
                ("/bin/boot.args/x/y", Errno::ENOTDIR),
                ("/tmp/fuzz/none/x", Errno::ENOENT),
                ("/dev/null/x", Errno::ENOTDIR),
            ]);
            (path.as_bytes().to_vec(), Target::Unresolvable(errno))
        }
        _ => match known_node(c, &allow) {
            Some((bytes, node)) => (bytes, Target::Node(node)),
            None => (area_name(relative), Target::Unknown),
        },
    };
    place_path(c, bytes, target, page, changes)
}

/// A node of known state `allow` lets the call name, and its path.
fn known_node(c: &mut Ctx, allow: &impl Fn(&Node) -> bool) -> Option<(Vec<u8>, &'static Node)> {
    let unprivileged = c.unprivileged;
    let usable: Vec<&'static Node> = NODES
        .iter()
        .filter(|n| (unprivileged || !n.fixture) && allow(n))
        .collect();
    if usable.is_empty() {
        return None;
    }
    let node = usable[c.rng.index(usable.len())];
    let bytes = match (node.fixture, node.root) {
        (true, _) => format!("{}/{}", area(c.worker), node.path).into_bytes(),
        (false, true) => c.rng.pick(&[&b"/"[..], b"//"]).to_vec(),
        (false, false) => node.path.as_bytes().to_vec(),
    };
    Some((bytes, node))
}

/// The path `bytes` (at an address in scratch page `page` or a bad one),
/// naming what `target` says.
pub fn fixed(c: &mut Ctx, page: usize, bytes: Vec<u8>, target: Target) -> PathArg {
    place_path(c, bytes, target, Some(page), true)
}

/// Puts `bytes` in the scratch area (or names a bad address for them) and
/// picks the length to pass: most often theirs, which keeps `target`;
/// else (unless `exact`) another, so that the kernel reads other bytes or
/// past the scratch area (into the unmapped page after it).
fn place_path(
    c: &mut Ctx,
    bytes: Vec<u8>,
    target: Target,
    page: Option<usize>,
    exact: bool,
) -> PathArg {
    let at = c.place_in(&bytes, page);
    if exact || c.rng.chance(92) {
        let known = matches!(at.access, Access::Write);
        return PathArg {
            addr: at.addr,
            len: bytes.len(),
            access: at.access,
            bytes: known.then_some(bytes),
            target,
        };
    }
    let len = c
        .rng
        .pick(&[0, 1, bytes.len() + 1, PATH_READ_MAX, PATH_READ_MAX + 1]);
    let read = c.scratch.read(at.addr, len);
    let access = match (&read, at.access) {
        (_, Access::Bad | Access::Unknown) if len == 0 => Access::Unknown,
        (Some(_), _) => Access::Read,
        (None, _) => Access::Bad,
    };
    PathArg {
        addr: at.addr,
        len,
        access,
        bytes: read,
        target: Target::Unknown,
    }
}

/// A path of the area this thread may make a descriptor of: the kind
/// and origin its adoption gives (when certain), for `openat`.
pub fn adoption(path: &PathArg) -> Option<(Kind, Origin)> {
    let node = path.node()?;
    Some(match (node.device, node.dir) {
        (Some(dev), _) => (Kind::Device(dev), Origin::System),
        (None, true) if node.read_only => (Kind::Dir, Origin::Boot),
        (None, true) => (Kind::Dir, Origin::System),
        (None, false) if node.read_only => (Kind::File { boot: true }, Origin::Boot),
        (None, false) => (Kind::File { boot: false }, Origin::System),
    })
}

/// A description for what `openat` of `path` with `flags` opened, given
/// the file type `fstat` reported (`None`: not a type an own descriptor
/// can have).
pub fn opened(path: &PathArg, flags: u32, file_type: u32) -> Option<Desc> {
    use userland::abi::fs::{S_IFDIR, S_IFDOOR, S_IFMT, S_IFREG};
    let (kind, origin) = match adoption(path) {
        Some(known) => known,
        None => match file_type & S_IFMT {
            S_IFREG => (Kind::File { boot: false }, Origin::Area),
            S_IFDIR => (Kind::Dir, Origin::Area),
            S_IFDOOR => (Kind::Door, Origin::Area),
            _ => return None,
        },
    };
    let flags = if kind == Kind::Door {
        userland::abi::fs::O_RDWR
    } else {
        flags
    };
    Some(Desc::new(kind, origin, flags))
}

/// The nodes a call that would change them may name: those `check`
/// fails on for every caller in `whos`.
pub fn unchanging(
    whos: &'static [Who],
    check: impl Fn(&Node, Who) -> Result<(), Errno>,
) -> impl Fn(&Node) -> bool {
    move |node: &Node| !model::would_succeed(whos, |w| check(node, w))
}
