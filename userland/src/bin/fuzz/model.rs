//! What the file system calls must answer for nodes whose state the
//! fuzzer knows: root's directories and devices, `/bin`, and the fixtures
//! of unprivileged workers ([`NODES`]), which nothing in a campaign
//! changes. Each rule mirrors the kernel's documented order of checks
//! (`kernel/src/fs`) for a caller that is root or [`USER`] (whose group,
//! 0, is root's: root's nodes give it their group bits). A privileged
//! worker may be either at any moment, so a call is judged exactly only
//! where both get the same answer; calls that would succeed for root and
//! change a node are never made.
//!
//! [`Stages`] strings the checks of one call together: the first that
//! certainly fails gives the error, one whose outcome is unknown makes the
//! result unknown.

use crate::fuzzer::Expect;
use crate::own::Dev;
use userland::abi::Errno;
use userland::abi::fs::{
    O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_TRUNC, O_WRONLY, R_OK, S_ISVTX, W_OK, X_OK,
};

/// The user id unprivileged workers run as (their group stays 0).
pub const USER: usize = 1000;

/// Who makes a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Root,
    User,
}

/// A node of known state, owned by root (uid and gid 0).
#[derive(Debug)]
pub struct Node {
    /// Its path: absolute, or (a fixture) relative to the worker's area.
    pub path: &'static str,
    pub fixture: bool,
    pub dir: bool,
    /// Permission, set-id and sticky bits.
    pub mode: u32,
    /// In `/bin`.
    pub read_only: bool,
    /// `/` or `/bin` (mount points: EBUSY to remove or rename).
    pub busy: bool,
    /// The path is `/` (its last component is the root).
    pub root: bool,
    /// The mode and read-only flag of the directory holding it.
    pub parent: (u32, bool),
    /// Behind a directory [`Who::User`] may not search (EACCES).
    pub hidden: bool,
    pub device: Option<Dev>,
    /// A directory a process may take as its current one: relative
    /// paths from it cannot make anything outside the fuzz area.
    pub cwd_ok: bool,
}

const fn node(path: &'static str, dir: bool, mode: u32, parent: (u32, bool)) -> Node {
    Node {
        path,
        fixture: false,
        dir,
        mode,
        read_only: false,
        busy: false,
        root: false,
        parent,
        hidden: false,
        device: None,
        cwd_ok: false,
    }
}

const fn fixture(path: &'static str, dir: bool, mode: u32, parent: (u32, bool)) -> Node {
    Node {
        fixture: true,
        ..node(path, dir, mode, parent)
    }
}

const fn device(path: &'static str, dev: Dev) -> Node {
    Node {
        device: Some(dev),
        ..node(path, false, 0o666, (0o755, false))
    }
}

const fn bin(path: &'static str, dir: bool, parent: (u32, bool)) -> Node {
    Node {
        read_only: true,
        busy: dir,
        cwd_ok: dir,
        ..node(path, dir, 0o555, parent)
    }
}

/// The mode of an unprivileged worker's area (sticky, as `/tmp`).
pub const AREA_MODE: u32 = 0o1777;
const AREA: (u32, bool) = (AREA_MODE, false);

/// The nodes of known state. The fixtures' directories each hold a file,
/// so no directory here is empty.
pub static NODES: [Node; 19] = [
    Node {
        busy: true,
        root: true,
        ..node("/", true, 0o755, (0o755, false))
    },
    node("/tmp", true, 0o1777, (0o755, false)),
    node("/dev", true, 0o755, (0o755, false)),
    node("/tmp/fuzz", true, 0o755, (0o1777, false)),
    device("/dev/null", Dev::Null),
    device("/dev/zero", Dev::Zero),
    device("/dev/console", Dev::Console),
    bin("/bin", true, (0o755, false)),
    bin("/bin/fuzz", false, (0o555, true)),
    bin("/bin/boot.args", false, (0o555, true)),
    fixture("rootfile", false, 0o644, AREA),
    fixture("secret", false, 0o600, AREA),
    fixture("exec", false, 0o755, AREA),
    Node {
        cwd_ok: true,
        ..fixture("ro", true, 0o755, AREA)
    },
    fixture("ro/file", false, 0o666, (0o755, false)),
    fixture("locked", true, 0o700, AREA),
    Node {
        hidden: true,
        ..fixture("locked/inner", false, 0o644, (0o700, false))
    },
    Node {
        cwd_ok: true,
        ..fixture("sticky", true, 0o1777, AREA)
    },
    fixture("sticky/rootfile", false, 0o666, (0o1777, false)),
];

impl Node {
    /// Whether `who` may access it as `want` (bits of `R_OK`, `W_OK`,
    /// `X_OK`): root reads and writes anything and searches any directory
    /// but executes only with an execute bit; the user gets the group bits.
    pub fn permits(&self, who: Who, want: u32) -> bool {
        match who {
            Who::Root => want & X_OK == 0 || self.dir || self.mode & 0o111 != 0,
            Who::User => (self.mode >> 3) & want == want,
        }
    }

    /// [`Node::permits`] as an error: EROFS for writing a read-only node
    /// first, then EACCES.
    pub fn access(&self, who: Who, want: u32) -> Result<(), Errno> {
        if want & W_OK != 0 && self.read_only {
            return Err(Errno::EROFS);
        }
        if self.permits(who, want) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// Resolving its path.
    pub fn resolve(&self, who: Who) -> Result<(), Errno> {
        if self.hidden && who == Who::User {
            Err(Errno::EACCES)
        } else {
            Ok(())
        }
    }

    /// Whether `who` may remove it from its directory: EROFS, EACCES, and
    /// EPERM in a sticky directory (whose owner and the node's are root).
    fn removable(&self, who: Who) -> Result<(), Errno> {
        let (mode, read_only) = self.parent;
        let parent = Node {
            read_only,
            ..node("", true, mode, (0, false))
        };
        parent.access(who, W_OK | X_OK)?;
        if mode & S_ISVTX != 0 && who == Who::User {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// `open` of it with `flags` (valid ones).
    pub fn open(&self, who: Who, flags: u32) -> Result<(), Errno> {
        self.resolve(who)?;
        let create = flags & O_CREAT != 0;
        if create && flags & O_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let want = match flags & O_ACCMODE {
            O_RDONLY => R_OK,
            O_WRONLY => W_OK,
            _ => R_OK | W_OK,
        } | if flags & O_TRUNC != 0 { W_OK } else { 0 };
        if self.dir {
            if want & W_OK != 0 || create {
                return Err(Errno::EISDIR);
            }
        } else if flags & O_DIRECTORY != 0 {
            return Err(Errno::ENOTDIR);
        }
        self.access(who, want)
    }

    /// `access` of it with `mode` (valid bits) for `who`.
    pub fn faccess(&self, who: Who, mode: u32) -> Result<(), Errno> {
        self.resolve(who)?;
        if mode == 0 {
            return Ok(());
        }
        self.access(who, mode)
    }

    /// `mkdir` of its path: it exists.
    pub fn mkdir(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        Err(Errno::EEXIST)
    }

    /// `unlink` (Ok: it would be removed).
    pub fn unlink(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        if self.root {
            return Err(Errno::EISDIR);
        }
        self.removable(who)?;
        if self.dir {
            return Err(Errno::EISDIR);
        }
        if self.busy {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// `rmdir`: every directory here holds entries.
    pub fn rmdir(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        if self.root {
            return Err(Errno::EBUSY);
        }
        self.removable(who)?;
        if !self.dir {
            return Err(Errno::ENOTDIR);
        }
        if self.busy {
            return Err(Errno::EBUSY);
        }
        Err(Errno::ENOTEMPTY)
    }

    /// `chmod` (Ok: the mode would change).
    pub fn chmod(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        if self.read_only {
            return Err(Errno::EROFS);
        }
        match who {
            Who::Root => Ok(()),
            Who::User => Err(Errno::EPERM),
        }
    }

    /// `chdir` (Ok: it becomes the current directory).
    pub fn chdir(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        if !self.dir {
            return Err(Errno::ENOTDIR);
        }
        self.access(who, X_OK)
    }

    /// `fattach` of a door over it (Ok: it would be covered).
    pub fn fattach(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        if self.busy {
            return Err(Errno::EBUSY);
        }
        match who {
            Who::Root => Ok(()),
            Who::User => Err(Errno::EPERM),
        }
    }

    /// `fdetach`: nothing is attached here.
    pub fn fdetach(&self, who: Who) -> Result<(), Errno> {
        self.resolve(who)?;
        Err(Errno::EINVAL)
    }

    /// `rename` of it to a name no node has in a directory of the caller's
    /// own, below the area (`area`: whether it is a directory above that
    /// one). Ok: it would move.
    pub fn rename_away(&self, who: Who, above: bool) -> Result<(), Errno> {
        self.resolve(who)?;
        if self.root {
            return Err(Errno::EBUSY);
        }
        if self.dir && above {
            return Err(Errno::EINVAL);
        }
        if self.busy {
            return Err(Errno::EBUSY);
        }
        self.removable(who)?;
        if self.dir {
            self.access(who, W_OK)?;
        }
        Ok(())
    }

    /// Whether the fuzz area lies below it (`/`, `/tmp`, `/tmp/fuzz`).
    pub fn above_area(&self) -> bool {
        matches!(self.path, "/" | "/tmp" | "/tmp/fuzz")
    }
}

/// The outcome of one check of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// It certainly passes.
    Pass,
    /// It certainly fails with this error.
    Fail(Errno),
    /// Its outcome is not known.
    Unknown,
}

impl From<Result<(), Errno>> for Stage {
    fn from(result: Result<(), Errno>) -> Stage {
        match result {
            Ok(()) => Stage::Pass,
            Err(e) => Stage::Fail(e),
        }
    }
}

/// The checks of one call, in order (see the module documentation).
pub struct Stages(Option<Expect>);

impl Stages {
    pub fn new() -> Stages {
        Stages(None)
    }

    /// The next check (ignored once the outcome is settled).
    pub fn then(&mut self, stage: Stage) -> &mut Stages {
        if self.0.is_none() {
            self.0 = match stage {
                Stage::Pass => None,
                Stage::Fail(e) => Some(Expect::Errno(e)),
                Stage::Unknown => Some(Expect::Any),
            };
        }
        self
    }

    /// The check `check` gives for each caller the call may have; if they
    /// differ, the outcome is unknown.
    pub fn each(&mut self, whos: &[Who], check: impl Fn(Who) -> Result<(), Errno>) -> &mut Stages {
        let first = check(whos[0]);
        let stage = if whos.iter().all(|&w| check(w) == first) {
            first.into()
        } else {
            Stage::Unknown
        };
        self.then(stage)
    }

    /// What the result must be: `success` if every check passed.
    pub fn expect(&self, success: Expect) -> Expect {
        self.0.unwrap_or(success)
    }
}

/// Whether `check` succeeds for any caller in `whos` (a call that would
/// change a node of known state, never made).
pub fn would_succeed(whos: &[Who], check: impl Fn(Who) -> Result<(), Errno>) -> bool {
    whos.iter().any(|&w| check(w).is_ok())
}
