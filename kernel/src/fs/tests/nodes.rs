//! `mknod`: FIFOs and regular files, the types refused, its errors, and
//! what a FIFO node is to the other calls (stat, listings, open, seeks,
//! programs, removal and renaming).

use super::*;
use crate::pipe::Pipes;

fn mknod(fs: &mut TestFs, cred: Cred, path: &str, mode: u32) -> Result<(), Errno> {
    fs.mknod(cred, fs.root(), path.as_bytes(), mode)
}

#[test]
fn mknod_makes_fifos_and_regular_files() {
    let mut fs = new_fs();
    mknod(&mut fs, ALICE, "/tmp/p", S_IFIFO | 0o640).unwrap();
    let st = stat(&fs, BOB, "/tmp/p").unwrap();
    assert_eq!(
        (st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size),
        (S_IFIFO | 0o640, 1000, 100, 1, 0)
    );
    mknod(&mut fs, ALICE, "/tmp/f", S_IFREG | 0o600).unwrap();
    mknod(&mut fs, ALICE, "/tmp/g", 0o600).unwrap();
    for path in ["/tmp/f", "/tmp/g"] {
        let st = stat(&fs, ALICE, path).unwrap();
        assert_eq!((st.st_mode, st.st_size), (S_IFREG | 0o600, 0));
    }
    let listed = list(&mut fs, "/tmp", 4096);
    assert!(listed.contains(&(b"p".to_vec(), DT_FIFO)));
    assert!(listed.contains(&(b"f".to_vec(), DT_REG)));
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 3);
    fs.audit();
}

#[test]
fn mknod_errors_come_in_linuxs_order() {
    let mut fs = new_fs();
    mknod(&mut fs, ALICE, "/tmp/p", S_IFIFO | 0o644).unwrap();
    let cases: &[(&str, u32, Errno)] = &[
        ("/tmp/x", 0o170000 | 0o644, Errno::EINVAL),
        ("/tmp/p", 0o030000, Errno::EINVAL),
        ("/tmp/x", S_IFDIR | 0o755, Errno::EPERM),
        ("/tmp/p", S_IFIFO, Errno::EEXIST),
        ("/tmp/p", S_IFCHR, Errno::EEXIST),
        ("/tmp", S_IFIFO, Errno::EEXIST),
        ("/tmp/none/x", S_IFIFO, Errno::ENOENT),
        ("/tmp/p/x", S_IFIFO, Errno::ENOTDIR),
        ("/tmp/x/", S_IFIFO, Errno::ENOENT),
        ("/bin/x", S_IFIFO, Errno::EROFS),
        ("/dev/x", S_IFIFO, Errno::EACCES),
        ("/tmp/x", S_IFCHR | 0o600, Errno::EPERM),
        ("/tmp/x", S_IFBLK | 0o600, Errno::EPERM),
        ("/tmp/x", S_IFSOCK | 0o600, Errno::EPERM),
    ];
    for &(path, mode, errno) in cases {
        assert_eq!(
            mknod(&mut fs, ALICE, path, mode),
            Err(errno),
            "{path} {mode:o}"
        );
    }
    assert_eq!(
        mknod(&mut fs, Cred::ROOT, "/dev/x", S_IFCHR | 0o600),
        Err(Errno::EPERM),
        "no device nodes, even for root"
    );
    let long = std::format!("/tmp/{}", "n".repeat(NAME_MAX + 1));
    assert_eq!(
        mknod(&mut fs, ALICE, &long, S_IFIFO),
        Err(Errno::ENAMETOOLONG)
    );
    let mut full = with_limits(64, INITIAL_NODES);
    assert_eq!(
        mknod(&mut full, ALICE, "/tmp/p", S_IFIFO),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1);
    fs.audit();
}

#[test]
fn a_fifo_opens_as_a_description_that_moves_no_bytes_itself() {
    let mut fs = new_fs();
    mknod(&mut fs, ALICE, "/tmp/p", S_IFIFO | 0o600).unwrap();
    assert_eq!(open(&mut fs, BOB, "/tmp/p", O_RDONLY), Err(Errno::EACCES));
    assert_eq!(
        open(&mut fs, ALICE, "/tmp/p", O_RDONLY | O_DIRECTORY),
        Err(Errno::ENOTDIR)
    );
    let root = fs.root();
    let Ok(Opened::Fifo(ofd)) = fs.open(ALICE, root, b"/tmp/p", O_WRONLY | O_NONBLOCK, 0) else {
        panic!("not a FIFO");
    };
    assert_eq!(fs.status_flags(ofd), O_WRONLY | O_NONBLOCK);
    assert_eq!(fs.fstat(ofd).st_mode, S_IFIFO | 0o600);
    assert_eq!(fs.lseek(ofd, 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(write(&mut fs, ofd, b"x"), Err(Errno::ESPIPE));
    assert_eq!(pread(&fs, ofd, 0, 1), Err(Errno::EBADF));
    assert_eq!(
        fs.executable(Cred::ROOT, root, b"/tmp/p"),
        Err(Errno::EACCES)
    );

    // The node remembers a pipe while told to, and goes with its last
    // holder once removed.
    let mut pipes = Pipes::new(VecStore::default(), 1);
    let pipe = pipes.create_unopened(ALICE).unwrap();
    assert_eq!(fs.fifo_pipe(ofd), None);
    fs.set_fifo_pipe(ofd, Some(pipe));
    assert_eq!(fs.fifo_pipe(ofd), Some(pipe));
    fs.rename(ALICE, root, b"/tmp/p", root, b"/tmp/q").unwrap();
    assert_eq!(stat(&fs, ALICE, "/tmp/q").unwrap().st_mode, S_IFIFO | 0o600);
    fs.unlink(ALICE, root, b"/tmp/q").unwrap();
    assert_eq!(fs.fstat(ofd).st_nlink, 0);
    assert_eq!(fs.usage().nodes, INITIAL_NODES + 1);
    fs.release(ofd);
    assert_eq!(fs.usage().nodes, INITIAL_NODES);
    fs.audit();
}
