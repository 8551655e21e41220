//! Files under QEMU, the errors: every call checks everything before it
//! changes anything.
//! - bad pointers (EFAULT: in the kernel, unmapped, read-only for a read,
//!   a buffer whose second page is missing: nothing moves), bad flags and
//!   arguments (EINVAL), descriptors of the wrong kind or access (EBADF,
//!   EISDIR, ENOTDIR, ESPIPE), path errors (ENOENT, ENOTDIR, EEXIST,
//!   ENOTEMPTY, EISDIR, ENAMETOOLONG), ERANGE, a full table (EMFILE), and
//!   a transfer larger than `IO_MAX` getting a short count;
//! - permissions in a child that took euid 1000: owner, group and others'
//!   bits, search permission, the sticky `/tmp`, chmod by its owner only
//!   (EPERM), `access` with the real ids and `AT_EACCESS` with the
//!   effective ones, EROFS before EACCES;
//! - a full file system (ENOSPC): the page limit filled with writes that
//!   are all or nothing, overwriting still allowed, the space back only at
//!   the last close of a removed file; and the node limit.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use userland::Errno;
use userland::abi::kstat::{DESCRIPTORS, FILE_PAGES, FS_NODES};
use userland::abi::{Sys, limit};
use userland::door::seteuid;
use userland::fs::{self, *};
use userland::sys::syscall;
use userland::testkit::{self, *};
use userland::{arg, check, heap, println, process};

userland::entry!(main);

const DIR: &str = "/tmp/fs_errors";
const KERNEL: usize = 0xffff_ffff_8000_0000;
const UNMAPPED: usize = 0x0000_3000_0000_0000;
static READ_ONLY: [u8; 64] = [0; 64];

fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// `r`'s value; an error ends the program (nothing after it can run).
fn must<T>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| panic!("fs_errors: {what}: {e:?}"))
}

/// A raw system call's result, as the runtime reports it.
fn raw(call: Sys, a: [usize; 6]) -> Result<usize, Errno> {
    Errno::check(syscall(call, a))
}

fn count(which: usize) -> u64 {
    process::kstat(which).unwrap_or(u64::MAX)
}

fn bad_pointers() {
    let zero = must("open /dev/zero", fs::open("/dev/zero", O_RDONLY, 0));
    let file = must("open f", fs::open(&path("f"), O_CREAT | O_RDWR, 0o644));
    let ro = READ_ONLY.as_ptr() as usize;
    for (what, buf) in [
        ("kernel", KERNEL),
        ("unmapped", UNMAPPED),
        ("read-only", ro),
    ] {
        let r = raw(Sys::Read, [zero as usize, buf, 16, 0, 0, 0]);
        expect_eq(&format!("read into {what} memory"), r, Err(Errno::EFAULT));
    }
    let r = raw(Sys::Write, [file as usize, KERNEL, 16, 0, 0, 0]);
    expect_eq("write from kernel memory", r, Err(Errno::EFAULT));
    // A buffer whose second page is not mapped: nothing is written.
    let page = must("map", heap::map(4096, 0));
    let r = raw(Sys::Write, [file as usize, page, 8192, 0, 0, 0]);
    expect_eq("write from a half-mapped buffer", r, Err(Errno::EFAULT));
    expect_eq("nothing was written", fstat(file).map(|s| s.st_size), Ok(0));
    let r = raw(Sys::Read, [zero as usize, page, 8192, 0, 0, 0]);
    expect_eq("read into a half-mapped buffer", r, Err(Errno::EFAULT));
    must("unmap", heap::unmap(page, 4096));
    let r = raw(Sys::Fstat, [file as usize, 0, 0, 0, 0, 0]);
    expect_eq("fstat to null", r, Err(Errno::EFAULT));
    let p = path("f");
    let r = raw(
        Sys::Fstatat,
        [AT_FDCWD as usize, p.as_ptr() as usize, p.len(), ro, 0, 0],
    );
    expect_eq("fstatat into read-only memory", r, Err(Errno::EFAULT));
    let r = raw(Sys::Openat, [AT_FDCWD as usize, KERNEL, 8, 0, 0, 0]);
    expect_eq("open with a kernel path", r, Err(Errno::EFAULT));
    // A failed pipe2 leaves no descriptor behind (only this program runs).
    let before = count(DESCRIPTORS);
    let r = raw(Sys::Pipe2, [ro, 0, 0, 0, 0, 0]);
    expect_eq("pipe2 into read-only memory", r, Err(Errno::EFAULT));
    expect_eq(
        "no descriptor after a failed pipe2",
        count(DESCRIPTORS),
        before,
    );
    let mut small = [0u8; 1];
    let r = raw(Sys::Getcwd, [small.as_mut_ptr() as usize, 1, 0, 0, 0, 0]);
    expect_eq("getcwd of / into 1 byte", r, Err(Errno::ERANGE));
    // More than IO_MAX at once: a short count.
    let big = vec![5u8; IO_MAX + 4096];
    expect_eq("a write beyond IO_MAX", write_fd(file, &big), Ok(IO_MAX));
    let mut back = vec![0u8; IO_MAX + 4096];
    expect_eq(
        "a read beyond IO_MAX",
        pread(file, &mut back, 0),
        Ok(IO_MAX),
    );
    must("close", close(zero));
    must("close", close(file));
}

fn bad_arguments() {
    let f = path("f");
    for (what, flags) in [
        ("O_ACCMODE", O_ACCMODE),
        ("an unknown bit", 0x4000_0000),
        ("O_CREAT|O_DIRECTORY", O_CREAT | O_DIRECTORY),
    ] {
        expect_eq(
            &format!("open with {what}"),
            fs::open(&f, flags, 0),
            Err(Errno::EINVAL),
        );
    }
    expect_eq(
        "unlinkat flags",
        unlinkat(AT_FDCWD, &f, 1),
        Err(Errno::EINVAL),
    );
    expect_eq(
        "fstatat flags",
        fstatat(AT_FDCWD, &f, 0x8000).map(|_| ()),
        Err(Errno::EINVAL),
    );
    expect_eq("pipe2 flags", pipe2(O_APPEND), Err(Errno::EINVAL));
    expect_eq(
        "faccessat flags",
        faccessat(AT_FDCWD, &f, R_OK, 1),
        Err(Errno::EINVAL),
    );
    expect_eq("access mode", access(&f, 8), Err(Errno::EINVAL));
    let fd = must("open", fs::open(&f, O_RDONLY, 0));
    expect_eq("fcntl command", fcntl(fd, 99, 0), Err(Errno::EINVAL));
    expect_eq("dup3 flags", dup3(fd, 40, O_APPEND), Err(Errno::EINVAL));
    expect_eq("lseek whence", lseek(fd, 0, 9), Err(Errno::EINVAL));
    expect_eq(
        "pread at -1",
        pread(fd, &mut [0u8; 4], -1),
        Err(Errno::EINVAL),
    );
    expect_eq("ftruncate read-only", ftruncate(fd, 0), Err(Errno::EINVAL));
    must("close", close(fd));
    let mut tiny = [0u8; 10];
    let dir = must("open dir", fs::open(DIR, O_RDONLY, 0));
    expect_eq(
        "getdents into 10 bytes",
        getdents64(dir, &mut tiny),
        Err(Errno::EINVAL),
    );
    must("close", close(dir));
}

fn wrong_kinds() {
    let f = path("f");
    let wo = must("open wo", fs::open(&f, O_WRONLY, 0));
    let ro = must("open ro", fs::open(&f, O_RDONLY, 0));
    let dir = must("open dir", fs::open(DIR, O_RDONLY, 0));
    let (r, w) = must("pipe", pipe());
    let door = userland::door::door_create(null_server, core::ptr::null_mut(), 0);
    let mut buf = [0u8; 8];
    for (what, fd) in [("write-only file", wo), ("write end", w), ("door", door)] {
        expect_eq(
            &format!("read a {what}"),
            read_fd(fd, &mut buf),
            Err(Errno::EBADF),
        );
    }
    for (what, fd) in [
        ("read-only file", ro),
        ("directory", dir),
        ("read end", r),
        ("door", door),
    ] {
        expect_eq(
            &format!("write a {what}"),
            write_fd(fd, b"x"),
            Err(Errno::EBADF),
        );
    }
    expect_eq(
        "read a directory",
        read_fd(dir, &mut buf),
        Err(Errno::EISDIR),
    );
    expect_eq("lseek a pipe", lseek(r, 0, SEEK_SET), Err(Errno::ESPIPE));
    expect_eq("lseek a door", lseek(door, 0, SEEK_SET), Err(Errno::ESPIPE));
    expect_eq("pread a pipe", pread(r, &mut buf, 0), Err(Errno::ESPIPE));
    expect_eq("pwrite a pipe", pwrite(w, b"x", 0), Err(Errno::ESPIPE));
    expect_eq(
        "getdents a file",
        getdents64(ro, &mut buf),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "getdents a pipe",
        getdents64(r, &mut buf),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "ftruncate a directory",
        ftruncate(dir, 0),
        Err(Errno::EINVAL),
    );
    expect_eq("ftruncate a pipe", ftruncate(w, 0), Err(Errno::EINVAL));
    expect_eq("fchmod a pipe", fchmod(r, 0o600), Err(Errno::EINVAL));
    expect_eq("fchdir to a file", fchdir(ro), Err(Errno::ENOTDIR));
    expect_eq("fchdir to a pipe", fchdir(r), Err(Errno::ENOTDIR));
    expect_eq(
        "openat from a file",
        openat(ro, "x", O_RDONLY, 0),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "openat from a door",
        openat(door, "x", O_RDONLY, 0),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "fstat a pipe",
        fstat(r).map(|s| s.st_mode & S_IFMT),
        Ok(S_IFIFO),
    );
    expect_eq(
        "fstat a door",
        fstat(door).map(|s| s.st_mode & S_IFMT),
        Ok(S_IFDOOR),
    );
    for fd in [wo, ro, dir, r, w, door] {
        must("close", close(fd));
    }
    for (what, fd) in [("closed", wo), ("negative", -5), ("forged", 0x7ff0_0000)] {
        expect_eq(
            &format!("read a {what} descriptor"),
            read_fd(fd, &mut buf),
            Err(Errno::EBADF),
        );
        expect_eq(
            &format!("fstat a {what} descriptor"),
            fstat(fd).map(|_| ()),
            Err(Errno::EBADF),
        );
        expect_eq(
            &format!("close a {what} descriptor"),
            close(fd),
            Err(Errno::EBADF),
        );
    }
}

extern "C" fn null_server(
    _: *mut core::ffi::c_void,
    _: *mut u8,
    _: usize,
    _: *mut userland::door::door_desc_t,
    _: u32,
) {
    userland::door::door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

fn path_errors() {
    let f = path("f");
    expect_eq(
        "open a missing file",
        fs::open(&path("none"), O_RDONLY, 0),
        Err(Errno::ENOENT),
    );
    expect_eq(
        "open through a file",
        fs::open(&format!("{f}/x"), O_RDONLY, 0),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "a trailing slash on a file",
        fs::stat(&format!("{f}/")).map(|_| ()),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "O_EXCL on an existing file",
        fs::open(&f, O_CREAT | O_EXCL, 0),
        Err(Errno::EEXIST),
    );
    expect_eq(
        "mkdir an existing file",
        fs::mkdir(&f, 0o755),
        Err(Errno::EEXIST),
    );
    expect_eq(
        "open a directory for writing",
        fs::open(DIR, O_WRONLY, 0),
        Err(Errno::EISDIR),
    );
    expect_eq("unlink a directory", fs::unlink(DIR), Err(Errno::EISDIR));
    expect_eq("rmdir a file", fs::rmdir(&f), Err(Errno::ENOTDIR));
    expect_eq(
        "O_DIRECTORY on a file",
        fs::open(&f, O_DIRECTORY, 0),
        Err(Errno::ENOTDIR),
    );
    expect_eq(
        "rmdir a full directory",
        fs::rmdir(DIR),
        Err(Errno::ENOTEMPTY),
    );
    expect_eq(
        "move a directory into itself",
        fs::rename(DIR, &path("sub")),
        Err(Errno::EINVAL),
    );
    expect_eq(
        "an empty path",
        fs::open("", O_RDONLY, 0),
        Err(Errno::ENOENT),
    );
    let long_name = path(&"n".repeat(256));
    expect_eq(
        "a 256-byte name",
        fs::open(&long_name, O_CREAT, 0),
        Err(Errno::ENAMETOOLONG),
    );
    let long_path = format!("/{}", "d/".repeat(600));
    expect_eq(
        "a 1201-byte path",
        fs::stat(&long_path).map(|_| ()),
        Err(Errno::ENAMETOOLONG),
    );
}

fn table_full() {
    let limit = must("get_limit", process::get_limit(0, limit::DESCRIPTORS));
    // Three open (the console, as init hands it over) and room for three.
    must("set_limit", process::set_limit(0, limit::DESCRIPTORS, 6));
    let a = must("open 1", fs::open("/dev/null", O_RDONLY, 0));
    let b = must("open 2", fs::open("/dev/null", O_RDONLY, 0));
    expect_eq(
        "pipe with one slot free",
        pipe().map(|_| ()),
        Err(Errno::EMFILE),
    );
    let c = must("open 3", fs::open("/dev/null", O_RDONLY, 0));
    expect_eq(
        "open on a full table",
        fs::open("/dev/null", O_RDONLY, 0),
        Err(Errno::EMFILE),
    );
    expect_eq(
        "creating on a full table",
        fs::open(&path("new"), O_CREAT, 0o644),
        Err(Errno::EMFILE),
    );
    expect_eq(
        "nothing was created",
        fs::stat(&path("new")).map(|_| ()),
        Err(Errno::ENOENT),
    );
    expect_eq("dup on a full table", dup(a), Err(Errno::EMFILE));
    for fd in [a, b, c] {
        must("close", close(fd));
    }
    must(
        "set_limit back",
        process::set_limit(0, limit::DESCRIPTORS, limit),
    );
}

/// As euid 1000 (real uid still 0): the permission checks.
fn as_user() -> i32 {
    expect_eq("seteuid(1000)", seteuid(1000), 0);
    expect_eq(
        "read a 0600 file of root's",
        fs::open(&path("secret"), O_RDONLY, 0),
        Err(Errno::EACCES),
    );
    let public = fs::open(&path("public"), O_RDONLY, 0);
    check!(public.is_ok(), "read a 0644 file of root's: {public:?}");
    expect_eq(
        "write a 0644 file of root's",
        fs::open(&path("public"), O_WRONLY, 0),
        Err(Errno::EACCES),
    );
    expect_eq(
        "create in a 0755 directory of root's",
        fs::open(&path("mine"), O_CREAT, 0o644),
        Err(Errno::EACCES),
    );
    expect_eq(
        "mkdir in it",
        fs::mkdir(&path("d"), 0o755),
        Err(Errno::EACCES),
    );
    expect_eq(
        "unlink in it",
        fs::unlink(&path("public")),
        Err(Errno::EACCES),
    );
    expect_eq(
        "search a 0700 directory",
        fs::stat(&path("closed/f")).map(|_| ()),
        Err(Errno::EACCES),
    );
    expect_eq(
        "chmod a file of root's",
        fs::chmod(&path("public"), 0o666),
        Err(Errno::EPERM),
    );
    expect_eq(
        "write in /bin",
        fs::open("/bin/new", O_CREAT, 0o644),
        Err(Errno::EROFS),
    );
    // The sticky /tmp: a file of root's, even writable by all, stays.
    expect_eq(
        "unlink root's file in /tmp",
        fs::unlink("/tmp/fs_errors.root"),
        Err(Errno::EPERM),
    );
    expect_eq(
        "rename root's file in /tmp",
        fs::rename("/tmp/fs_errors.root", "/tmp/x"),
        Err(Errno::EPERM),
    );
    let own = "/tmp/fs_errors.own";
    let made = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(own);
    check!(made.is_ok(), "create in /tmp: {made:?}");
    drop(made);
    let st = fs::stat(own);
    expect_eq(
        "owner of a new file",
        st.map(|s| (s.st_uid, s.st_mode)),
        Ok((1000, S_IFREG | 0o640)),
    );
    expect_eq("chmod of one's own file", fs::chmod(own, 0o600), Ok(()));
    expect_eq(
        "the owner's bits apply",
        fs::chmod(own, 0o200).and(fs::open(own, O_RDONLY, 0)),
        Err(Errno::EACCES),
    );
    expect_eq("unlink one's own file", fs::unlink(own), Ok(()));
    // access() checks with the real ids (root), AT_EACCESS the effective.
    expect_eq(
        "access with the real ids",
        access(&path("secret"), R_OK),
        Ok(()),
    );
    expect_eq(
        "faccessat AT_EACCESS",
        faccessat(AT_FDCWD, &path("secret"), R_OK, AT_EACCESS),
        Err(Errno::EACCES),
    );
    expect_eq("access F_OK", access(&path("secret"), F_OK), Ok(()));
    testkit::verdict(false)
}

fn full_file_system() {
    let before = count(FILE_PAGES);
    let room = FS_MAX_PAGES as u64 - before;
    let fill = must("create fill", File::create(&path("fill")));
    let chunk = vec![1u8; IO_MAX];
    let mut written = 0u64;
    // Writes are all or nothing: a chunk that does not fit writes nothing.
    for size in [IO_MAX, 4096] {
        loop {
            match fill.write(&chunk[..size]) {
                Ok(n) => written += n as u64,
                Err(Errno::ENOSPC) => break,
                Err(e) => {
                    fail(format_args!("filling: {e:?}"));
                    return;
                }
            }
        }
    }
    println!("fs_errors: the file system took {written} bytes ({room} pages were free)");
    expect_eq("filled to the page limit", written, room * 4096);
    expect_eq("every page held", count(FILE_PAGES), FS_MAX_PAGES as u64);
    expect_eq("one byte more", fill.write(b"x"), Err(Errno::ENOSPC));
    expect_eq(
        "overwriting needs no page",
        fill.write_at(b"over", 0),
        Ok(4),
    );
    let other = must("create other", File::create(&path("other")));
    expect_eq("another file", other.write(b"x"), Err(Errno::ENOSPC));
    must("unlink fill", fs::unlink(&path("fill")));
    expect_eq(
        "still full while open",
        other.write(b"x"),
        Err(Errno::ENOSPC),
    );
    drop(fill);
    expect_eq("the pages are back", count(FILE_PAGES), before);
    expect_eq("room again", other.write(b"x"), Ok(1));
    drop(other);
    must("unlink other", fs::unlink(&path("other")));
    // The node limit.
    let nodes = must(
        "mkdir nodes",
        fs::mkdir(&path("nodes"), 0o755).map(|_| count(FS_NODES)),
    );
    let mut made = 0u64;
    let refused = loop {
        match fs::open(&path(&format!("nodes/{made}")), O_CREAT, 0o644).and_then(close) {
            Ok(()) => made += 1,
            Err(e) => break e,
        }
    };
    expect_eq("creating past the node limit", refused, Errno::ENOSPC);
    expect_eq(
        "files made up to the limit",
        made,
        FS_MAX_NODES as u64 - nodes,
    );
    expect_eq(
        "mkdir past the limit",
        fs::mkdir(&path("nodes/d"), 0o755),
        Err(Errno::ENOSPC),
    );
    for i in 0..made {
        must("unlink", fs::unlink(&path(&format!("nodes/{i}"))));
    }
    must("rmdir nodes", fs::rmdir(&path("nodes")));
}

fn main() -> i32 {
    if arg(1) == Some("user") {
        return as_user();
    }
    must("mkdir", fs::mkdir(DIR, 0o755));
    bad_pointers();
    bad_arguments();
    wrong_kinds();
    path_errors();
    table_full();
    for (name, mode) in [("secret", 0o600), ("public", 0o644)] {
        drop(must(
            "create",
            OpenOptions::new()
                .write(true)
                .create(true)
                .mode(mode)
                .open(&path(name)),
        ));
    }
    must("mkdir closed", fs::mkdir(&path("closed"), 0o700));
    must("create closed/f", fs::write(&path("closed/f"), b""));
    must(
        "create a file of root's in /tmp",
        fs::write("/tmp/fs_errors.root", b""),
    );
    must("chmod", fs::chmod("/tmp/fs_errors.root", 0o666));
    if let Some(pid) = testkit::spawn(&["user"], &[0, 1, 2]) {
        wait_child("the euid 1000 child", pid);
    }
    full_file_system();
    for name in ["f", "secret", "public", "closed/f"] {
        must("unlink", fs::unlink(&path(name)));
    }
    must("rmdir closed", fs::rmdir(&path("closed")));
    must("unlink", fs::unlink("/tmp/fs_errors.root"));
    must("rmdir", fs::rmdir(DIR));
    testkit::verdict(true)
}
