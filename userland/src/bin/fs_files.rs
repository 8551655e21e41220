//! Files, directories and devices under QEMU, across processes:
//! - a file written by one process is read by another by path; a
//!   descriptor handed over at spawn shares its offset with the parent;
//! - offsets: `lseek`, `O_APPEND`, `pread`/`pwrite` (which leave the
//!   offset), holes, `ftruncate`, `fstat` sizes and `st_blocks`;
//! - a removed file stays readable and writable through open descriptors,
//!   and its pages go back when the last one closes;
//! - `/bin` holds the boot archive read-only: listed with `getdents64`,
//!   readable, EROFS to change; programs start by path (`/bin/hello`,
//!   relative from the current directory, a copy in `/tmp`), by bare name
//!   from anywhere, and not without an execute bit (EACCES) or when not
//!   ELF (ENOEXEC);
//! - current directories (`chdir`, `fchdir`, `getcwd`, relative paths) and
//!   the umask, both inherited by a child;
//! - `/dev/null`, `/dev/zero`, `/dev/console`;
//! - `dup2`, `dup3`, `fcntl` (F_DUPFD, descriptor and status flags).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use userland::Errno;
use userland::abi::kstat::FILE_PAGES;
use userland::fs::{self, *};
use userland::testkit::{self, *};
use userland::{arg, check, println, process};

userland::entry!(main);

const DIR: &str = "/tmp/fs_files";
/// The console, as init hands it over.
const STDIO: [i32; 3] = [0, 1, 2];

fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// `r`'s value; an error fails the check (and the value is the default).
fn ok<T: Default>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| {
        fail(format_args!("{what}: {e:?}"));
        T::default()
    })
}

/// `r`'s value; an error ends the program (nothing after it can run).
fn must<T>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| panic!("fs_files: {what}: {e:?}"))
}

/// Runs this program as a child with `args` and the descriptors `fds`
/// after the console; it must exit 0.
fn child(what: &str, args: &[&str], fds: &[i32]) {
    let all: Vec<i32> = STDIO.iter().chain(fds).copied().collect();
    if let Some(pid) = testkit::spawn(args, &all) {
        wait_child(what, pid);
    }
}

fn across_processes() {
    ok("write a", fs::write(&path("a"), b"written by the parent"));
    child(
        "reader",
        &["read", &path("a"), "written by the parent"],
        &[],
    );
    // The child's file, read here.
    child("writer", &["write", &path("b"), "from the child"], &[]);
    expect_eq(
        "the child's file",
        fs::read(&path("b")),
        Ok(b"from the child".to_vec()),
    );
    // A descriptor handed over shares its offset.
    let f = must("open a", File::open(&path("a")));
    child("offset", &["offset"], &[f.fd()]);
    let mut buf = [0u8; 6];
    expect_eq("read after the child's", f.read(&mut buf), Ok(6));
    expect_eq("at the shared offset", &buf, b" by th");
}

fn offsets() {
    let f = must(
        "open c",
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path("c")),
    );
    ok("write", f.write_all(b"0123456789"));
    expect_eq("lseek SEEK_CUR", f.seek(0, SEEK_CUR), Ok(10));
    expect_eq("lseek SEEK_SET", f.seek(2, SEEK_SET), Ok(2));
    let mut buf = [0u8; 3];
    expect_eq("read", f.read(&mut buf), Ok(3));
    expect_eq("read bytes", &buf, b"234");
    expect_eq("pread", f.read_at(&mut buf, 7), Ok(3));
    expect_eq("pread bytes", &buf, b"789");
    expect_eq("pread leaves the offset", f.seek(0, SEEK_CUR), Ok(5));
    expect_eq("pwrite", f.write_at(b"AB", 1), Ok(2));
    expect_eq("lseek SEEK_END", f.seek(-2, SEEK_END), Ok(8));
    expect_eq("lseek before 0", f.seek(-1, SEEK_SET), Err(Errno::EINVAL));
    expect_eq("lseek bad whence", f.seek(0, 7), Err(Errno::EINVAL));
    expect_eq("contents", fs::read(&path("c")), Ok(b"0AB3456789".to_vec()));
    // A hole reads as zeros and holds no pages.
    expect_eq("write past the end", f.write_at(b"end", 3 * 4096), Ok(3));
    let st = ok("fstat", f.metadata());
    expect_eq("size with a hole", st.st_size, 3 * 4096 + 3);
    expect_eq("blocks: two pages of 8 sectors", st.st_blocks, 16);
    let mut hole = vec![0xffu8; 100];
    expect_eq("read in the hole", f.read_at(&mut hole, 5000), Ok(100));
    check!(hole.iter().all(|&b| b == 0), "a hole reads as zeros");
    ok("ftruncate", f.set_len(4));
    expect_eq(
        "size after ftruncate",
        f.metadata().map(|s| s.st_size),
        Ok(4),
    );
    expect_eq("read past the end", f.read_at(&mut buf, 10), Ok(0));
    // O_APPEND writes at the end whatever the offset.
    let app = must(
        "open append",
        OpenOptions::new().append(true).open(&path("c")),
    );
    expect_eq("seek the appender", app.seek(0, SEEK_SET), Ok(0));
    ok("append", app.write_all(b"++"));
    expect_eq("appended", fs::read(&path("c")), Ok(b"0AB3++".to_vec()));
    expect_eq(
        "F_GETFL",
        fcntl(app.fd(), F_GETFL, 0).map(|f| f as u32),
        Ok(O_WRONLY | O_APPEND),
    );
    ok("F_SETFL", fcntl(app.fd(), F_SETFL, 0).map(|_| ()));
    expect_eq("seek", app.seek(0, SEEK_SET), Ok(0));
    ok("write at 0", app.write_all(b"!"));
    expect_eq(
        "without O_APPEND",
        fs::read(&path("c")),
        Ok(b"!AB3++".to_vec()),
    );
}

fn removed_while_open() {
    let before = process::kstat(FILE_PAGES).unwrap_or(0);
    let f = must(
        "open d",
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path("d")),
    );
    ok("write d", f.write_all(&[7u8; 3 * 4096]));
    ok("unlink d", fs::unlink(&path("d")));
    expect_eq(
        "stat after unlink",
        fs::stat(&path("d")).map(|_| ()),
        Err(Errno::ENOENT),
    );
    expect_eq(
        "nlink after unlink",
        f.metadata().map(|s| s.st_nlink),
        Ok(0),
    );
    ok("write after unlink", f.write_all(b"more"));
    let mut buf = [0u8; 4];
    expect_eq("read after unlink", f.read_at(&mut buf, 3 * 4096), Ok(4));
    expect_eq("what was written after unlink", &buf, b"more");
    // This program is the only one writing files in its boot.
    expect_eq(
        "pages held while open",
        process::kstat(FILE_PAGES).ok(),
        Some(before + 4),
    );
    drop(f);
    expect_eq(
        "pages given back at the last close",
        process::kstat(FILE_PAGES).ok(),
        Some(before),
    );
}

fn bin() {
    let entries = ok("read_dir /bin", fs::read_dir("/bin"));
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for want in [".", "..", "init", "hello", "fs_files", "boot.args"] {
        check!(names.contains(&want), "/bin lists {want}: {names:?}");
    }
    for e in &entries {
        let want = if e.name.starts_with('.') {
            DT_DIR
        } else {
            DT_REG
        };
        check!(e.kind == want, "/bin/{} has type {}", e.name, e.kind);
    }
    println!("fs_files: /bin holds {} entries", entries.len() - 2);
    let hello = ok("read /bin/hello", fs::read("/bin/hello"));
    check!(hello.starts_with(b"\x7fELF"), "/bin/hello is an ELF file");
    let st = ok("stat /bin/hello", fs::stat("/bin/hello"));
    expect_eq("size of /bin/hello", st.st_size as usize, hello.len());
    expect_eq("mode of /bin/hello", st.st_mode, S_IFREG | 0o555);
    expect_eq(
        "write /bin/hello",
        fs::open("/bin/hello", O_WRONLY, 0),
        Err(Errno::EROFS),
    );
    expect_eq(
        "create in /bin",
        fs::open("/bin/new", O_CREAT | O_WRONLY, 0o644),
        Err(Errno::EROFS),
    );
    expect_eq(
        "unlink /bin/hello",
        fs::unlink("/bin/hello"),
        Err(Errno::EROFS),
    );
    expect_eq("rmdir /bin", fs::rmdir("/bin"), Err(Errno::EBUSY));
    // Programs by path.
    let run = |what: &str, name: &str| match process::spawn_with_fds(name, &[], &STDIO) {
        Ok(pid) => expect_eq(what, process::wait(Some(pid)).map(|(_, s)| s), Ok(0)),
        Err(e) => fail(format_args!("{what}: spawn {name}: {e:?}")),
    };
    run("/bin/hello", "/bin/hello");
    ok("chdir /bin", fs::chdir("/bin"));
    run("./hello from /bin", "./hello");
    ok("chdir /tmp", fs::chdir("/tmp"));
    run("hello from /tmp", "hello");
    run("../bin/hello from /tmp", "../bin/hello");
    let copy = path("hello");
    ok("copy /bin/hello", fs::write(&copy, &hello));
    ok("chmod 0755", fs::chmod(&copy, 0o755));
    run("a copy in /tmp", &copy);
    ok("chmod 0644", fs::chmod(&copy, 0o644));
    expect_eq(
        "spawn without x",
        process::spawn(&copy, &[]),
        Err(Errno::EACCES),
    );
    expect_eq(
        "spawn a directory",
        process::spawn("/tmp", &[]),
        Err(Errno::EACCES),
    );
    expect_eq(
        "spawn boot.args",
        process::spawn("boot.args", &[]),
        Err(Errno::ENOEXEC),
    );
    expect_eq(
        "spawn a missing one",
        process::spawn("/tmp/none", &[]),
        Err(Errno::ENOENT),
    );
    ok("chdir /", fs::chdir("/"));
}

fn directories() {
    ok("mkdir e", fs::mkdir(&path("e"), 0o777));
    ok("chdir e", fs::chdir(&path("e")));
    expect_eq("getcwd", fs::getcwd(), Ok(path("e")));
    ok("write x", fs::write("x", b"relative"));
    expect_eq(
        "read by absolute path",
        fs::read(&path("e/x")),
        Ok(b"relative".to_vec()),
    );
    ok("chdir ..", fs::chdir(".."));
    expect_eq("getcwd after ..", fs::getcwd(), Ok(String::from(DIR)));
    let e = must(
        "open e",
        OpenOptions::new()
            .read(true)
            .custom_flags(O_DIRECTORY)
            .open("e"),
    );
    expect_eq(
        "openat e/x",
        openat(e.fd(), "x", O_RDONLY, 0).map(close),
        Ok(Ok(())),
    );
    ok("fchdir", fs::fchdir(e.fd()));
    expect_eq("getcwd after fchdir", fs::getcwd(), Ok(path("e")));
    let old = fs::umask(0o077);
    expect_eq("the default umask", old, 0o022);
    // The child starts here, with this umask, and makes a file.
    child("cwd", &["cwd", &path("e")], &[]);
    let st = ok("stat the child's file", fs::stat(&path("e/child")));
    expect_eq(
        "mode under the inherited umask",
        st.st_mode,
        S_IFREG | 0o600,
    );
    fs::umask(old);
    expect_eq(
        "rmdir not empty",
        fs::rmdir(&path("e")),
        Err(Errno::ENOTEMPTY),
    );
    for name in ["x", "child"] {
        ok("unlink", fs::unlink(name));
    }
    ok("rmdir e", fs::rmdir(&path("e")));
    expect_eq(
        "getcwd of a removed directory",
        fs::getcwd(),
        Err(Errno::ENOENT),
    );
    expect_eq(
        "create in a removed directory",
        fs::write("y", b""),
        Err(Errno::ENOENT),
    );
    ok("chdir /", fs::chdir("/"));
    ok("rename", fs::rename(&path("b"), &path("b2")));
    expect_eq(
        "renamed",
        fs::read(&path("b2")),
        Ok(b"from the child".to_vec()),
    );
}

fn devices() {
    let null = ok("open /dev/null", fs::open("/dev/null", O_RDWR, 0));
    let mut buf = [1u8; 64];
    expect_eq("read /dev/null", read_fd(null, &mut buf), Ok(0));
    expect_eq("write /dev/null", write_fd(null, &buf), Ok(64));
    let zero = ok("open /dev/zero", fs::open("/dev/zero", O_RDONLY, 0));
    expect_eq("read /dev/zero", read_fd(zero, &mut buf), Ok(64));
    check!(buf.iter().all(|&b| b == 0), "/dev/zero gives zeros");
    let console = ok("open /dev/console", fs::open("/dev/console", O_WRONLY, 0));
    expect_eq(
        "write /dev/console",
        write_fd(console, b"fs_files: written to /dev/console\n"),
        Ok(34),
    );
    expect_eq(
        "lseek /dev/console",
        lseek(console, 0, SEEK_SET),
        Err(Errno::ESPIPE),
    );
    let st = ok("fstat /dev/zero", fstat(zero));
    expect_eq(
        "/dev/zero is a character device",
        st.st_mode,
        S_IFCHR | 0o666,
    );
    for fd in [null, zero, console] {
        ok("close", close(fd));
    }
}

fn descriptors() {
    let f = ok("open a", fs::open(&path("a"), O_RDONLY | O_CLOEXEC, 0));
    expect_eq(
        "O_CLOEXEC kept",
        fcntl(f, F_GETFD, 0),
        Ok(FD_CLOEXEC as usize),
    );
    let g = ok("F_DUPFD", fcntl(f, F_DUPFD, 20)) as i32;
    expect_eq("F_DUPFD takes the lowest at or above", g, 20);
    expect_eq("a dup is not close-on-exec", fcntl(g, F_GETFD, 0), Ok(0));
    expect_eq("dup2 onto itself", dup2(g, g), Ok(g));
    expect_eq("dup2", dup2(f, 30), Ok(30));
    expect_eq("dup3 with O_CLOEXEC", dup3(f, 31, O_CLOEXEC), Ok(31));
    expect_eq("dup3 flags", fcntl(31, F_GETFD, 0), Ok(FD_CLOEXEC as usize));
    expect_eq("dup3 onto itself", dup3(f, f, 0), Err(Errno::EINVAL));
    let mut buf = [0u8; 7];
    expect_eq("read through 30", read_fd(30, &mut buf), Ok(7));
    expect_eq("the offset is shared", read_fd(g, &mut buf[..3]), Ok(3));
    expect_eq("bytes at the shared offset", &buf[..3], b" by");
    for fd in [f, g, 30, 31] {
        ok("close", close(fd));
    }
}

fn main() -> i32 {
    match arg(1) {
        None => {}
        Some("read") => {
            let (p, want) = (arg(2).unwrap_or(""), arg(3).unwrap_or(""));
            expect_eq(
                "the parent's file",
                fs::read(p),
                Ok(want.as_bytes().to_vec()),
            );
            return testkit::verdict(false);
        }
        Some("write") => {
            ok(
                "write",
                fs::write(arg(2).unwrap_or(""), arg(3).unwrap_or("").as_bytes()),
            );
            return testkit::verdict(false);
        }
        Some("offset") => {
            let mut buf = [0u8; 7];
            expect_eq(
                "read through the inherited descriptor",
                read_fd(3, &mut buf),
                Ok(7),
            );
            expect_eq("what the child read", &buf, b"written");
            return testkit::verdict(false);
        }
        Some("cwd") => {
            expect_eq(
                "the inherited current directory",
                fs::getcwd(),
                Ok(String::from(arg(2).unwrap_or(""))),
            );
            expect_eq("the inherited umask", fs::umask(0o077), 0o077);
            ok("create child", fs::write("child", b""));
            return testkit::verdict(false);
        }
        Some(other) => {
            println!("fs_files: unknown role {other}");
            return 2;
        }
    }
    ok("mkdir", fs::mkdir(DIR, 0o755));
    across_processes();
    offsets();
    removed_while_open();
    bin();
    directories();
    devices();
    descriptors();
    for name in ["a", "b2", "c", "hello"] {
        ok("unlink", fs::unlink(&path(name)));
    }
    ok("rmdir", fs::rmdir(DIR));
    testkit::verdict(true)
}
