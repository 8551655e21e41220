//! Host tests of the file system: every call and error path
//! (`files`, `names`, `attach`), and a property test against a model
//! (`prop`). Shared here: a file system over a [`VecStore`], identities,
//! helpers, and [`Fs::audit`], which checks the bookkeeping's invariants.

mod attach;
mod files;
mod names;
mod nodes;
mod prop;

use super::node::Kind;
use super::*;
use crate::io::testing::VecStore;
use abi::fs::*;
use std::collections::BTreeMap as Map;
use std::vec;
use std::vec::Vec;

/// Doors are plain numbers here.
type TestFs = Fs<VecStore, u32>;

const ALICE: Cred = Cred {
    euid: 1000,
    egid: 100,
};
/// In Alice's group.
const BOB: Cred = Cred {
    euid: 1001,
    egid: 100,
};
/// In no one's group.
const EVE: Cred = Cred {
    euid: 1002,
    egid: 200,
};

/// Nodes at creation: `/`, `/tmp`, `/dev`, three devices, `/bin`.
const INITIAL_NODES: usize = 7;

fn new_fs() -> TestFs {
    with_limits(64, 64)
}

fn with_limits(max_pages: usize, max_nodes: usize) -> TestFs {
    Fs::new(
        VecStore::default(),
        Limits {
            max_pages,
            max_nodes,
            max_ofds: 1024,
        },
    )
}

/// Opens `path` from `/` and returns the description (not for doors).
fn open(fs: &mut TestFs, cred: Cred, path: &str, flags: u32) -> Result<OfdId, Errno> {
    let root = fs.root();
    match fs.open(cred, root, path.as_bytes(), flags, 0o644)? {
        Opened::File(ofd) | Opened::Dir(ofd) | Opened::Device(ofd, _) | Opened::Fifo(ofd) => {
            Ok(ofd)
        }
        Opened::Door(door) => panic!("{path} opened door {door}"),
    }
}

/// Makes a file at `path` owned by `cred` with `mode` holding `contents`.
fn make_file(fs: &mut TestFs, cred: Cred, path: &str, mode: u32, contents: &[u8]) {
    let root = fs.root();
    let Opened::File(ofd) = fs
        .open(
            cred,
            root,
            path.as_bytes(),
            O_CREAT | O_EXCL | O_WRONLY,
            mode,
        )
        .unwrap()
    else {
        panic!("not a file");
    };
    assert_eq!(write(fs, ofd, contents), Ok(contents.len()));
    fs.release(ofd);
}

fn write(fs: &mut TestFs, ofd: OfdId, bytes: &[u8]) -> Result<usize, Errno> {
    match fs.write(ofd, &mut &bytes[..])? {
        Written::Bytes(n) => Ok(n),
        Written::Console => panic!("wrote to the console"),
    }
}

fn read(fs: &mut TestFs, ofd: OfdId, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0xee; len];
    let n = fs.read(ofd, &mut &mut buf[..])?;
    buf.truncate(n);
    Ok(buf)
}

fn pread(fs: &TestFs, ofd: OfdId, offset: i64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0xee; len];
    let n = fs.pread(ofd, offset, &mut &mut buf[..])?;
    buf.truncate(n);
    Ok(buf)
}

/// The whole contents of the file at `path`, read as root.
fn contents(fs: &mut TestFs, path: &str) -> Vec<u8> {
    let ofd = open(fs, Cred::ROOT, path, O_RDONLY).unwrap();
    let all = read(fs, ofd, 1 << 20).unwrap();
    fs.release(ofd);
    all
}

fn stat(fs: &TestFs, cred: Cred, path: &str) -> Result<Stat, Errno> {
    match fs.stat(cred, fs.root(), path.as_bytes())? {
        Statted::Node(stat) => Ok(stat),
        Statted::Door(door, _) => panic!("{path} has door {door}"),
    }
}

/// The names `getdents` lists for `path`, with their types, read with a
/// buffer of `buf` bytes at a time.
fn list(fs: &mut TestFs, path: &str, buf: usize) -> Vec<(Vec<u8>, u8)> {
    let ofd = open(fs, Cred::ROOT, path, O_RDONLY | O_DIRECTORY).unwrap();
    let mut names = Vec::new();
    loop {
        let mut bytes = vec![0; buf];
        let n = fs.getdents(ofd, &mut &mut bytes[..]).unwrap();
        if n == 0 {
            break;
        }
        for (head, name) in decode_dirents64(&bytes[..n]) {
            names.push((name.to_vec(), head.d_type));
        }
    }
    fs.release(ofd);
    names
}

fn mkdir(fs: &mut TestFs, cred: Cred, path: &str, mode: u32) -> Result<(), Errno> {
    fs.mkdir(cred, fs.root(), path.as_bytes(), mode)
}

fn unlink(fs: &mut TestFs, cred: Cred, path: &str) -> Result<(), Errno> {
    fs.unlink(cred, fs.root(), path.as_bytes())
}

fn rmdir(fs: &mut TestFs, cred: Cred, path: &str) -> Result<(), Errno> {
    fs.rmdir(cred, fs.root(), path.as_bytes())
}

fn rename(fs: &mut TestFs, cred: Cred, from: &str, to: &str) -> Result<(), Errno> {
    let root = fs.root();
    fs.rename(cred, root, from.as_bytes(), root, to.as_bytes())
}

fn chmod(fs: &mut TestFs, cred: Cred, path: &str, mode: u32) -> Result<(), Errno> {
    fs.chmod(cred, fs.root(), path.as_bytes(), mode)
}

impl TestFs {
    /// Checks the invariants of the bookkeeping: every description names
    /// a node, which counts it; every named node (but the root) is in
    /// exactly one directory, which its own parent and name agree with;
    /// every unnamed node is held; directory counts and page counts add
    /// up; file data keeps its invariant. Returns the holders of each node
    /// beyond its descriptions (current directories).
    fn audit(&self) -> Map<NodeId, u32> {
        let mut held: Map<NodeId, u32> = Map::new();
        for ofd in self.ofds.values() {
            assert!(ofd.refs > 0);
            *held.entry(ofd.node).or_default() += 1;
        }
        let mut named: Map<NodeId, usize> = Map::new();
        let mut pages = 0;
        for (&id, node) in &self.nodes {
            let counted = held.get(&id).copied().unwrap_or(0);
            assert!(
                node.refs >= counted,
                "node {id:?} counts fewer holders than descriptions"
            );
            assert!(
                node.linked || node.refs > 0,
                "node {id:?} is neither named nor held"
            );
            assert!(
                node.linked || node.door.is_none(),
                "a door is attached over node {id:?}, which no name leads to"
            );
            match &node.kind {
                Kind::Dir(dir) => {
                    let mut subdirs = 0;
                    for (_, name, child) in dir.entries_after(0) {
                        *named.entry(child).or_default() += 1;
                        let child = &self.nodes[&child];
                        assert!(child.linked);
                        if let Some(sub) = child.as_dir() {
                            subdirs += 1;
                            assert_eq!((sub.parent(), sub.name()), (Some(id), name));
                        }
                    }
                    assert_eq!(dir.subdirs(), subdirs);
                    assert!(
                        node.linked || dir.is_empty(),
                        "a removed directory keeps entries"
                    );
                }
                Kind::File(data) => {
                    data.audit(&self.store);
                    pages += data.pages_held();
                }
                Kind::Boot(_) | Kind::Device(_) | Kind::Fifo(_) => {}
            }
        }
        for (&id, node) in &self.nodes {
            let expected = usize::from(node.linked && id != self.root);
            assert_eq!(
                named.get(&id).copied().unwrap_or(0),
                expected,
                "entries naming {id:?}"
            );
        }
        assert_eq!(pages, self.pages);
        assert_eq!(
            self.store.in_use, self.pages,
            "pages held by files and by the store differ"
        );
        self.nodes
            .iter()
            .map(|(&id, node)| (id, node.refs - held.get(&id).copied().unwrap_or(0)))
            .filter(|&(_, extra)| extra > 0)
            .collect()
    }
}

#[test]
fn a_new_file_system_has_the_standard_tree() {
    let mut fs = new_fs();
    let root = stat(&fs, ALICE, "/").unwrap();
    assert_eq!(root.st_mode, S_IFDIR | 0o755);
    assert_eq!(root.st_nlink, 5, "., and the .. of tmp, dev and bin");
    assert_eq!(
        stat(&fs, ALICE, "/tmp").unwrap().st_mode,
        S_IFDIR | S_ISVTX | 0o777
    );
    assert_eq!(stat(&fs, ALICE, "/bin").unwrap().st_mode, S_IFDIR | 0o555);
    let null = stat(&fs, ALICE, "/dev/null").unwrap();
    assert_eq!(
        (null.st_mode, null.st_rdev),
        (S_IFCHR | 0o666, makedev(1, 3))
    );
    assert_eq!(
        stat(&fs, ALICE, "/dev/zero").unwrap().st_rdev,
        makedev(1, 5)
    );
    assert_eq!(
        stat(&fs, ALICE, "/dev/console").unwrap().st_rdev,
        makedev(5, 1)
    );
    assert_eq!((root.st_uid, root.st_gid, root.st_dev), (0, 0, DEV));
    let names = list(&mut fs, "/", 512);
    let expected: [(&[u8], u8); 5] = [
        (b".", DT_DIR),
        (b"..", DT_DIR),
        (b"tmp", DT_DIR),
        (b"dev", DT_DIR),
        (b"bin", DT_DIR),
    ];
    assert_eq!(names, expected.map(|(n, t)| (n.to_vec(), t)));
    let usage = fs.usage();
    assert_eq!(
        usage,
        Usage {
            pages: 0,
            nodes: INITIAL_NODES,
            ofds: 0,
            attachments: 0
        }
    );
    assert!(fs.audit().is_empty());
}
