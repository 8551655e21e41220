//! Host tests of the capability layer with the real door logic, file
//! system and pipes (over a [`VecStore`]): the calls of `files.rs` and
//! their errors here, and a property test against a model in `prop`.

mod fifo;
mod fork;
mod prop;
mod slots;

use super::*;
use crate::fs::{Cred, Limits, Written};
use crate::io::testing::VecStore;
use abi::DoorDesc;
use abi::fs::*;
use doors::{Config, UserMemory};
use std::collections::BTreeMap;
use std::vec::Vec;

type TestObjects = Objects<VecStore>;

const ROOT: Cred = Cred::ROOT;
const CAPACITY: usize = DEFAULT_CAPACITY;
/// Nodes at creation: `/`, `/tmp`, `/dev`, three devices, `/bin`.
const INITIAL_NODES: usize = 7;

impl TestObjects {
    /// `Objects::open` for opens that never wait (no FIFO opened so that
    /// it must): the descriptor.
    fn open_fd(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<Fd, Errno> {
        match self.open(pid, cred, dirfd, path, flags, mode)? {
            Open::Done(fd) => Ok(fd),
            Open::Wait(open) => panic!("the open of {path:?} waits: {open:?}"),
        }
    }
}

/// User memory that is all accessible; descriptor arrays by (pid, address).
#[derive(Default)]
struct Mem {
    descs: BTreeMap<(Pid, u64), Vec<DoorDesc>>,
}

impl UserMemory for Mem {
    fn accessible(&self, _: Pid, _: u64, _: u64, _: bool) -> bool {
        true
    }
    fn read_descs(&self, pid: Pid, addr: u64, n: u32) -> Result<Vec<DoorDesc>, Errno> {
        let descs = self.descs.get(&(pid, addr)).ok_or(Errno::EFAULT)?;
        Ok(descs[..n as usize].to_vec())
    }
    fn epoch(&self) -> u64 {
        0
    }
    fn map_zeroed(&mut self, _: Pid, _: u64) -> Option<u64> {
        None
    }
}

/// Pipes that exist at once at most in [`objects`].
const PIPES: usize = 16;

fn objects() -> TestObjects {
    let fs = Fs::new(
        VecStore::default(),
        Limits {
            max_pages: 64,
            max_nodes: 64,
            max_ofds: 1024,
        },
    );
    Objects {
        doors: DoorSystem::new(Config::default()),
        caps: CapSpace::new(fs, Pipes::new(VecStore::default(), PIPES)),
    }
}

fn door_of(o: &TestObjects, pid: Pid, fd: Fd) -> DoorId {
    match o.cap(pid, fd) {
        Ok(Capability::Door(id)) => id,
        other => panic!("descriptor {fd} of {pid} is {other:?}"),
    }
}

#[test]
fn open_checks_flags_and_room_before_creating() {
    let mut o = objects();
    o.create_process(1, 1).unwrap();
    let bad = O_CREAT | O_DIRECTORY;
    assert_eq!(
        o.open_fd(1, ROOT, AT_FDCWD, b"/tmp/x", bad, 0),
        Err(Errno::EINVAL)
    );
    let fd = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/x", O_CREAT | O_RDWR, 0o666)
        .unwrap();
    assert_eq!(
        o.open_fd(1, ROOT, AT_FDCWD, b"/tmp/y", O_CREAT | O_RDWR, 0o666),
        Err(Errno::EMFILE)
    );
    assert_eq!(
        o.stat(1, ROOT, AT_FDCWD, b"/tmp/y", 0),
        Err(Errno::ENOENT),
        "a full table creates nothing"
    );
    assert_eq!(o.pipe(1, ROOT, 0), Err(Errno::EMFILE));
    assert_eq!(o.caps.pipes.usage().pipes, 0);
    let st = o.fstat(o.cap(1, fd).unwrap());
    assert_eq!(st.st_mode, S_IFREG | 0o644, "the umask (022) applies");
}

#[test]
fn paths_start_at_the_directory_a_descriptor_names() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    o.mkdir(1, ROOT, AT_FDCWD, b"/tmp/d", 0o755).unwrap();
    let dir = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/d", O_DIRECTORY, 0)
        .unwrap();
    let file = o
        .open_fd(1, ROOT, dir, b"f", O_CREAT | O_WRONLY, 0o600)
        .unwrap();
    assert!(o.stat(1, ROOT, AT_FDCWD, b"/tmp/d/f", 0).is_ok());
    assert_eq!(
        o.open_fd(1, ROOT, file, b"g", O_CREAT, 0),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(o.open_fd(1, ROOT, 99, b"g", O_CREAT, 0), Err(Errno::EBADF));
    assert!(
        o.open_fd(1, ROOT, 99, b"/tmp/d/f", O_RDONLY, 0).is_ok(),
        "an absolute path ignores dirfd"
    );
    assert_eq!(
        o.open_fd(1, ROOT, dir, b"", O_RDONLY, 0),
        Err(Errno::ENOENT)
    );
    let (r, _) = o.pipe(1, ROOT, 0).unwrap();
    assert_eq!(o.mkdir(1, ROOT, r, b"e", 0o755), Err(Errno::ENOTDIR));
    // fstatat with AT_EMPTY_PATH: the descriptor itself, of any kind.
    let st = o.stat(1, ROOT, r, b"", AT_EMPTY_PATH).unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFIFO);
    assert_eq!(o.stat(1, ROOT, r, b"", 0), Err(Errno::ENOENT));
    assert_eq!(o.stat(1, ROOT, r, b"x", 0x8000), Err(Errno::EINVAL));
    // The current directory moves; getcwd follows.
    o.chdir(1, ROOT, b"/tmp/d").unwrap();
    assert_eq!(o.getcwd(1).unwrap(), b"/tmp/d");
    assert!(o.stat(1, ROOT, AT_FDCWD, b"f", 0).is_ok());
    let root = o.open_fd(1, ROOT, AT_FDCWD, b"/", O_RDONLY, 0).unwrap();
    o.fchdir(1, ROOT, root).unwrap();
    assert_eq!(o.getcwd(1).unwrap(), b"/");
    assert_eq!(o.fchdir(1, ROOT, file), Err(Errno::ENOTDIR));
}

#[test]
fn a_child_inherits_the_current_directory_and_umask() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    o.mkdir(1, ROOT, AT_FDCWD, b"/tmp/home", 0o777).unwrap();
    o.chdir(1, ROOT, b"/tmp/home").unwrap();
    assert_eq!(o.umask(1, 0o1077), Ok(DEFAULT_UMASK));
    o.spawn(1, 2, &[], CAPACITY).unwrap();
    assert_eq!(o.getcwd(2).unwrap(), b"/tmp/home");
    assert_eq!(
        o.umask(2, 0o022),
        Ok(0o077),
        "only permission bits are kept"
    );
    // The directory goes only when its last holder does.
    o.chdir(1, ROOT, b"/").unwrap();
    o.unlink(1, ROOT, AT_FDCWD, b"/tmp/home", AT_REMOVEDIR)
        .unwrap();
    assert_eq!(o.getcwd(2), Err(Errno::ENOENT));
    let nodes = o.caps.fs.usage().nodes;
    o.exit_process(2);
    assert_eq!(o.caps.fs.usage().nodes, nodes - 1);
}

#[test]
fn fcntl_and_dup3() {
    let mut o = objects();
    o.create_process(1, 8).unwrap();
    let fd = o
        .open_fd(1, ROOT, AT_FDCWD, b"/dev/null", O_RDWR | O_CLOEXEC, 0)
        .unwrap();
    assert_eq!(o.fcntl(1, fd, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.fcntl(1, fd, F_SETFD, 0), Ok(0));
    assert_eq!(o.fcntl(1, fd, F_GETFD, 0), Ok(0));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, 5), Ok(5));
    assert_eq!(o.fcntl(1, fd, F_DUPFD_CLOEXEC, 5), Ok(6));
    assert_eq!(o.fcntl(1, 6, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, 8), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, fd, F_DUPFD, u64::MAX), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, fd, 999, 0), Err(Errno::EINVAL));
    assert_eq!(o.fcntl(1, 3, F_GETFD, 0), Err(Errno::EBADF));
    assert_eq!(o.fcntl(1, fd, F_GETFL, 0), Ok(u64::from(O_RDWR)));
    o.fcntl(1, fd, F_SETFL, u64::from(O_NONBLOCK | O_APPEND | O_TRUNC))
        .unwrap();
    assert_eq!(
        o.fcntl(1, 5, F_GETFL, 0),
        Ok(u64::from(O_RDWR | O_NONBLOCK | O_APPEND)),
        "status flags belong to the shared description"
    );
    assert_eq!(o.dup3(1, fd, fd, 0), Err(Errno::EINVAL));
    assert_eq!(o.dup3(1, fd, 2, O_APPEND), Err(Errno::EINVAL));
    assert_eq!(o.dup3(1, fd, 2, O_CLOEXEC), Ok(2));
    assert_eq!(o.fcntl(1, 2, F_GETFD, 0), Ok(u64::from(FD_CLOEXEC)));
    assert_eq!(o.dup3(1, fd, 8, 0), Err(Errno::EBADF), "beyond the table");
    assert_eq!(o.dup3(1, 7, 2, 0), Err(Errno::EBADF));
    let (r, w) = o.pipe(1, ROOT, O_NONBLOCK).unwrap();
    assert_eq!(o.status_flags(o.cap(1, w).unwrap()), O_WRONLY | O_NONBLOCK);
    assert_eq!(o.pipe(1, ROOT, O_APPEND), Err(Errno::EINVAL));
    assert_eq!(o.status_flags(o.cap(1, r).unwrap()), O_RDONLY | O_NONBLOCK);
    let d = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    assert_eq!(o.fcntl(1, d, F_GETFL, 0), Ok(u64::from(O_RDWR)));
}

#[test]
fn transfers_need_the_right_kind_and_access() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let wo = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/f", O_CREAT | O_WRONLY, 0o644)
        .unwrap();
    let dir = o.open_fd(1, ROOT, AT_FDCWD, b"/tmp", O_RDONLY, 0).unwrap();
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let door = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    let cap = |o: &TestObjects, fd| o.cap(1, fd).unwrap();
    let mut buf = [0u8; 8];
    for fd in [wo, w, door] {
        assert_eq!(o.read(cap(&o, fd), &mut &mut buf[..]), Err(Errno::EBADF));
    }
    for fd in [r, door] {
        let written = o.write(cap(&o, fd), &mut &b"x"[..]);
        assert_eq!(written, Err(Errno::EBADF));
    }
    assert_eq!(o.read(cap(&o, dir), &mut &mut buf[..]), Err(Errno::EISDIR));
    assert_eq!(o.read(cap(&o, r), &mut &mut buf[..]), Err(Errno::EAGAIN));
    assert_eq!(o.lseek(cap(&o, r), 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(o.lseek(cap(&o, door), 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(
        o.pread(cap(&o, r), 0, &mut &mut buf[..]),
        Err(Errno::ESPIPE)
    );
    assert_eq!(
        o.getdents(cap(&o, wo), &mut &mut buf[..]),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(o.truncate(cap(&o, w), 0), Err(Errno::EINVAL));
    assert_eq!(o.truncate(cap(&o, dir), 0), Err(Errno::EINVAL));
    assert_eq!(o.fchmod(ROOT, cap(&o, door), 0o600), Err(Errno::EINVAL));
    assert_eq!(o.fchmod(ROOT, cap(&o, r), 0o600), Err(Errno::EINVAL));
    assert_eq!(o.write(cap(&o, w), &mut &b"ab"[..]), Ok(Written::Bytes(2)));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    assert_eq!(o.read(cap(&o, r), &mut &mut buf[..]), Ok(2));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Writers));
    let st = o.fstat(cap(&o, door));
    assert_eq!(
        (st.st_mode, st.st_dev, st.st_ino),
        (
            S_IFDOOR | 0o777,
            DOOR_DEV,
            o.doors.uniquifier(door_of(&o, 1, door)).unwrap()
        )
    );
}

#[test]
fn closing_the_last_end_of_a_side_wakes_the_other_side() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let w2 = o.dup(1, w, 0, false).unwrap();
    o.close(1, w).unwrap();
    assert!(!o.caps.has_wakes(), "a writer is left");
    o.close(1, w2).unwrap();
    let Ok(Capability::Pipe(id, End::Read)) = o.cap(1, r) else {
        panic!("not a read end")
    };
    assert_eq!(o.caps.pop_wake(), Some((id, Wake::Readers)));
    assert_eq!(o.read(o.cap(1, r).unwrap(), &mut &mut [0u8; 4][..]), Ok(0));
    // A thread's hold keeps an end alive after its descriptors close.
    let (r, w) = o.pipe(1, ROOT, 0).unwrap();
    let held = o.cap(1, r).unwrap();
    o.retain(held);
    o.close(1, r).unwrap();
    assert!(!o.caps.has_wakes());
    assert_eq!(
        o.write(o.cap(1, w).unwrap(), &mut &b"x"[..]),
        Ok(Written::Bytes(1))
    );
    o.release(held);
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Readers));
    assert_eq!(o.caps.pop_wake().map(|(_, w)| w), Some(Wake::Writers));
    assert_eq!(
        o.write(o.cap(1, w).unwrap(), &mut &b"x"[..]),
        Err(Errno::EPIPE)
    );
}

#[test]
fn fattach_holds_a_door_reference_and_takes_only_doors() {
    let mut o = objects();
    o.create_process(1, CAPACITY).unwrap();
    let file = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/f", O_CREAT | O_RDWR, 0o644)
        .unwrap();
    assert_eq!(o.fattach(1, ROOT, file, b"/tmp/f"), Err(Errno::EINVAL));
    assert_eq!(o.fattach(1, ROOT, 77, b"/tmp/f"), Err(Errno::EBADF));
    let d = o
        .doors
        .door_create(&mut o.caps, 1, 0x1000, 0, 0)
        .unwrap()
        .fd;
    let id = door_of(&o, 1, d);
    o.fattach(1, ROOT, d, b"/tmp/f").unwrap();
    assert_eq!(o.doors.references(id), Some(2));
    let opened = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/f", O_RDONLY, 0)
        .unwrap();
    assert_eq!(o.cap(1, opened), Ok(Capability::Door(id)));
    let st = o.stat(1, ROOT, AT_FDCWD, b"/tmp/f", 0).unwrap();
    assert_eq!(st.st_mode, S_IFDOOR | 0o644);
    o.close(1, opened).unwrap();
    o.close(1, d).unwrap();
    assert_eq!(o.attached_only_doors(), 1);
    o.exit_process(1);
    assert_eq!(o.doors.stats().doors, 1, "the attachment keeps the door");
    o.fdetach(0, ROOT, b"/tmp/f").unwrap();
    assert_eq!((o.doors.stats().doors, o.attached_only_doors()), (0, 0));
}

#[test]
fn programs_are_found_in_bin_or_by_path() {
    static ELF: &[u8] = b"\x7fELF program";
    let mut o = objects();
    o.caps.fs.add_boot_file(b"prog", ELF).unwrap();
    o.caps.fs.add_boot_file(b"tools/tool", ELF).unwrap();
    assert_eq!(o.program(0, ROOT, b"prog", 100), Ok(Program::Boot(ELF)));
    assert_eq!(
        o.program(0, ROOT, b"/bin/tools/tool", 100),
        Ok(Program::Boot(ELF))
    );
    assert_eq!(o.program(0, ROOT, b"tool", 100), Err(Errno::ENOENT));
    o.create_process(1, CAPACITY).unwrap();
    o.chdir(1, ROOT, b"/bin").unwrap();
    assert_eq!(o.program(1, ROOT, b"./prog", 100), Ok(Program::Boot(ELF)));
    assert_eq!(
        o.program(1, ROOT, b"tools", 100),
        Err(Errno::EACCES),
        "a bare name is looked up in /bin, whatever the current directory"
    );
    let fd = o
        .open_fd(1, ROOT, AT_FDCWD, b"/tmp/copy", O_CREAT | O_WRONLY, 0o755)
        .unwrap();
    o.write(o.cap(1, fd).unwrap(), &mut &ELF[..]).unwrap();
    let copy = Program::File(ELF.to_vec());
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 100), Ok(copy));
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 4), Err(Errno::ENOMEM));
    assert_eq!(o.caps.fs.usage().ofds, 1, "only the descriptor's");
    o.fchmod(ROOT, o.cap(1, fd).unwrap(), 0o644).unwrap();
    assert_eq!(o.program(1, ROOT, b"/tmp/copy", 100), Err(Errno::EACCES));
    assert_eq!(o.program(1, ROOT, b"/tmp", 100), Err(Errno::EACCES));
    // execve's lookup takes a bare name as a path from the current directory.
    o.chdir(1, ROOT, b"/bin/tools").unwrap();
    assert_eq!(o.program_at(1, ROOT, b"tool", 100), Ok(Program::Boot(ELF)));
    assert_eq!(o.program_at(1, ROOT, b"prog", 100), Err(Errno::ENOENT));
}
