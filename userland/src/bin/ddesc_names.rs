//! fattach / fdetach / open over files of the file system, across
//! processes, with illumos's rules (fattach(3C), namefs):
//! - R (root) makes files in `/tmp/ddesc` and attaches its door DN over two
//!   of them; a child X with no descriptors opens both (descriptors 0, 1:
//!   the same door), calls it, has R fdetach both, and its descriptors keep
//!   working while new opens give the files beneath again;
//! - the errors: EBUSY (a door attached there already, `/`, `/bin`;
//!   unlink and rename of a covered file), ENOENT (empty or missing path),
//!   ENOTDIR (a path through a file, or through the covered file), EINVAL
//!   (fattach of a descriptor that is no door: a file, a pipe end; fdetach
//!   of a file with nothing attached), ENAMETOOLONG, EBADF (not a
//!   descriptor); relative paths work from the current directory; a stat
//!   of a covered path is the door's (S_IFDOOR) with the file's owner and
//!   mode;
//! - permissions under seteuid: a child U (euid 100) may not fattach over
//!   or fdetach R's files (EPERM), may attach any door it holds over its
//!   own files, but not over its own file without write permission
//!   (EACCES); a child V (euid 200) may open U's path as its mode allows
//!   (EACCES for writing), but neither fdetach it nor attach over U's files
//!   (EPERM); root may do both;
//! - U's door stays attached after U exits: it opens as a revoked door,
//!   and only attachments hold it (kstat::ATTACHED_DOORS) until R
//!   detaches it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use userland::Errno;
use userland::abi::kstat::ATTACHED_DOORS;
use userland::door::{
    DOOR_REVOKED, close, door_call, door_create, door_desc_t, door_info_t, door_return, door_ucred,
    errno, fattach, fdetach, open, seteuid, ucred_t,
};
use userland::fs::{self, O_RDONLY, O_WRONLY, S_IFDOOR, S_IFMT, S_IFREG};
use userland::testkit::{self, *};
use userland::{arg, check, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_names";
const DIR: &str = "/tmp/ddesc";
const UID_U: u32 = 100;
const UID_V: u32 = 200;

/// `/tmp/ddesc/<name>`.
fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// Checks that `fd` names the door with uniquifier `u` served by `target`.
fn expect_door(what: &str, fd: i32, u: u64, target: i32) {
    match info(fd).ok() {
        Some(i) => {
            expect_eq(&format!("{what}: uniquifier"), i.di_uniquifier, u);
            expect_eq(&format!("{what}: di_target"), i.di_target, target);
        }
        None => fail(format_args!("{what}: door_info({fd}) {}", errno().name())),
    }
}

/// `path` opens as the plain file beneath (no door): fstat says a regular
/// file and door calls on it are EBADF.
fn expect_plain_file(what: &str, path: &str) {
    match fs::open(path, O_RDONLY, 0) {
        Ok(fd) => {
            let mode = fs::fstat(fd).map(|st| st.st_mode & S_IFMT);
            expect_eq(&format!("{what}: fstat type"), mode, Ok(S_IFREG));
            let mut i = door_info_t::default();
            expect_err(
                userland::door::door_info(fd, &mut i),
                Errno::EBADF,
                &format!("{what}: door_info"),
            );
            expect_err(
                door_call(fd, core::ptr::null_mut()),
                Errno::EBADF,
                &format!("{what}: door_call"),
            );
            expect_ok(&format!("{what}: close"), close(fd));
        }
        Err(e) => fail(format_args!("{what}: open {path}: {e:?}")),
    }
}

/// Makes the file `path` owned by the caller with `mode`.
fn make_file(path: &str, mode: u32) {
    let made = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .and_then(|f| f.set_len(0));
    if let Err(e) = made {
        fail(format_args!("create {path}: {e:?}"));
    }
}

fn reply(data: &[u8]) {
    door_return(
        data.as_ptr() as *mut u8,
        data.len(),
        core::ptr::null_mut(),
        0,
    );
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

/// The server procedure of every door here: "<tag>:<caller pid>:<data>",
/// plus R's requests ("detach", "attached", "done?") when the cookie is 'N'.
extern "C" fn serve(cookie: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    let tag = cookie as u8 as char;
    let data = testkit::data(argp, size);
    let mut cred = ucred_t::default();
    if door_ucred(&mut cred) != 0 {
        return reply(b"bad: door_ucred");
    }
    match (tag, data) {
        ('N', b"detach") => {
            let a = fdetach(&path("a"));
            let b = fdetach(&path("b"));
            if a == 0 && b == 0 {
                reply(b"detached")
            } else {
                reply(format!("bad: fdetach {a} {b}: {}", errno().name()).as_bytes())
            }
        }
        ('N', b"attached") => {
            if cred.uc_euid != UID_U {
                return reply(format!("bad: caller euid {}", cred.uc_euid).as_bytes());
            }
            U_PID.store(cred.uc_pid, Ordering::SeqCst);
            ATTACHED.store(true, Ordering::SeqCst);
            reply(b"ok")
        }
        ('N', b"done?") => reply(if DONE.load(Ordering::SeqCst) {
            b"yes"
        } else {
            b"no"
        }),
        _ => {
            let mut out = format!("{tag}:{}:", cred.uc_pid).into_bytes();
            out.extend_from_slice(data);
            reply(&out)
        }
    }
}

fn create(tag: u8) -> i32 {
    expect_ok(
        "door_create",
        door_create(serve, tag as usize as *mut c_void, 0),
    )
}

// ---------------------------------------------------------------------------
// R: root, the door DN.
// ---------------------------------------------------------------------------

static ATTACHED: AtomicBool = AtomicBool::new(false);
static DONE: AtomicBool = AtomicBool::new(false);
static U_PID: AtomicI32 = AtomicI32::new(-1);

/// The path errors and the rules of covered files, in R.
fn errors(dn: i32, other: i32) {
    let me = process::getpid() as i32;
    let (a, b) = (path("a"), path("b"));
    expect_err(fattach(dn, &a), Errno::EBUSY, "fattach at a covered file");
    expect_err(
        fattach(other, &b),
        Errno::EBUSY,
        "fattach another door at a covered file",
    );
    expect_err(fattach(other, "/"), Errno::EBUSY, "fattach at /");
    expect_err(fattach(other, "/bin"), Errno::EBUSY, "fattach at /bin");
    expect_err(fattach(other, ""), Errno::ENOENT, "fattach empty path");
    expect_err(
        fattach(other, &path("none")),
        Errno::ENOENT,
        "fattach a missing file",
    );
    expect_err(
        fattach(other, &path("plain/x")),
        Errno::ENOTDIR,
        "fattach through a file",
    );
    expect_err(
        fattach(other, &format!("{a}/x")),
        Errno::ENOTDIR,
        "fattach through a covered file",
    );
    let long = |n: usize| format!("/{}", "x".repeat(n - 1));
    expect_err(
        fattach(other, &long(1100)),
        Errno::ENAMETOOLONG,
        "fattach 1100-byte path",
    );
    expect_err(
        fattach(other, &long(5000)),
        Errno::ENAMETOOLONG,
        "fattach 5000-byte path",
    );
    expect_err(
        fattach(other, &path(&"n".repeat(256))),
        Errno::ENAMETOOLONG,
        "fattach a 256-byte name",
    );
    let stale = create(b'S');
    expect_ok("close(stale)", close(stale));
    let plain = path("plain");
    expect_err(
        fattach(stale, &plain),
        Errno::EBADF,
        "fattach a closed descriptor",
    );
    expect_err(fattach(-1, &plain), Errno::EBADF, "fattach descriptor -1");
    expect_err(
        fattach(0x7ff0_0000, &plain),
        Errno::EBADF,
        "fattach a forged descriptor",
    );
    // A descriptor of another kind is no door: EINVAL (untestable before
    // descriptors could name anything else).
    match fs::open(&plain, O_RDONLY, 0) {
        Ok(file) => {
            expect_err(fattach(file, &plain), Errno::EINVAL, "fattach of a file");
            expect_ok("close(file)", close(file));
        }
        Err(e) => fail(format_args!("open {plain}: {e:?}")),
    }
    match fs::pipe() {
        Ok((r, w)) => {
            expect_err(fattach(r, &plain), Errno::EINVAL, "fattach of a pipe end");
            expect_ok("close(r)", close(r));
            expect_ok("close(w)", close(w));
        }
        Err(e) => fail(format_args!("pipe: {e:?}")),
    }
    // A covered file: stat shows the door with the file's owner and mode;
    // it cannot be removed or renamed.
    match fs::stat(&a) {
        Ok(st) => {
            expect_eq(
                "stat of a covered file: type",
                st.st_mode & S_IFMT,
                S_IFDOOR,
            );
            expect_eq("stat of a covered file: mode", st.st_mode & 0o7777, 0o644);
            expect_eq("stat of a covered file: owner", st.st_uid, 0);
            expect_eq("stat of a covered file: ino", st.st_ino, uniq(dn));
        }
        Err(e) => fail(format_args!("stat {a}: {e:?}")),
    }
    expect_eq("unlink a covered file", fs::unlink(&a), Err(Errno::EBUSY));
    expect_eq(
        "rename a covered file",
        fs::rename(&a, &path("moved")),
        Err(Errno::EBUSY),
    );
    expect_eq(
        "rename onto a covered file",
        fs::rename(&plain, &a),
        Err(Errno::EBUSY),
    );
    // A long name and a relative path work.
    let long_name = path(&"l".repeat(200));
    make_file(&long_name, 0o644);
    expect_ok("fattach 200-byte name", fattach(other, &long_name));
    let o = expect_ok("open 200-byte name", open(&long_name));
    call_expect(
        "call through the 200-byte name",
        o,
        b"hi",
        &[],
        format!("O:{me}:hi").as_bytes(),
    );
    expect_ok("close", close(o));
    expect_ok("fdetach 200-byte name", fdetach(&long_name));
    expect_eq("unlink after fdetach", fs::unlink(&long_name), Ok(()));
    make_file(&path("rel"), 0o644);
    expect_eq("chdir", fs::chdir(DIR), Ok(()));
    expect_ok("fattach relative path", fattach(other, "rel"));
    let o = expect_ok("open relative path", open("./rel"));
    expect_eq("relative open gives the door", uniq(o), uniq(other));
    expect_ok("close", close(o));
    expect_ok("fdetach relative path", fdetach("../ddesc/rel"));
    expect_eq("chdir back", fs::chdir("/"), Ok(()));
    // fdetach errors.
    expect_err(
        fdetach(&plain),
        Errno::EINVAL,
        "fdetach with nothing attached",
    );
    expect_err(
        fdetach(&path("none")),
        Errno::ENOENT,
        "fdetach a missing file",
    );
    expect_err(fdetach(""), Errno::ENOENT, "fdetach empty path");
    expect_err(
        fdetach(&long(1100)),
        Errno::ENAMETOOLONG,
        "fdetach 1100-byte path",
    );
    // Failed fattach calls attached nothing.
    expect_plain_file("after the failed fattach calls", &plain);
    expect_err(
        fdetach(&plain),
        Errno::EINVAL,
        "fdetach after failed fattach",
    );
}

fn role_r() {
    let me = process::getpid() as i32;
    expect_eq("mkdir", fs::mkdir(DIR, 0o777), Ok(()));
    expect_eq("chmod", fs::chmod(DIR, 0o1777), Ok(()));
    for name in ["a", "b", "plain", "root", "rootfile"] {
        make_file(&path(name), 0o644);
    }
    let dn = create(b'N');
    let other = create(b'O');
    let un = uniq(dn);

    // One door at several paths.
    expect_ok("fattach a", fattach(dn, &path("a")));
    expect_ok("fattach b", fattach(dn, &path("b")));
    errors(dn, other);

    // X opens both paths, then has us fdetach them.
    match process::spawn_with_fds(NAME, &["open", &format!("{me}"), &format!("{un}")], &[]) {
        Ok(pid) => wait_child("X", pid),
        Err(e) => fail(format_args!("spawn X: {e:?}")),
    }
    expect_plain_file("a after fdetach", &path("a"));
    expect_err(fdetach(&path("a")), Errno::EINVAL, "fdetach a again");
    // The path can be attached again.
    expect_ok("fattach a again", fattach(other, &path("a")));
    let o = expect_ok("open a again", open(&path("a")));
    call_expect(
        "the new door at a",
        o,
        b"x",
        &[],
        format!("O:{me}:x").as_bytes(),
    );
    expect_ok("close", close(o));
    expect_ok("fdetach a", fdetach(&path("a")));

    // Permissions.
    expect_ok("fattach root", fattach(dn, &path("root")));
    let attached_only = process::kstat(ATTACHED_DOORS).unwrap_or(0);
    let u = match testkit::spawn(&["user", &format!("{me}"), &format!("{un}")], &[dn]) {
        Some(pid) => pid,
        None => return,
    };
    if !wait_until(1000, || ATTACHED.load(Ordering::SeqCst)) {
        fail(format_args!("U never attached its door"));
    }
    let u_pid = U_PID.load(Ordering::SeqCst);
    expect_eq("pid of U", u_pid, u as i32);
    let uf = expect_ok("open u1", open(&path("u1")));
    let uu = uniq(uf);
    expect_door("U's door opened by R", uf, uu, u_pid);
    call_expect(
        "R calls U's door",
        uf,
        b"hi",
        &[],
        format!("U:{me}:hi").as_bytes(),
    );
    expect_plain_file("u2 (U detached it)", &path("u2"));
    // V (euid 200): may open U's path as its mode allows, but not detach
    // it nor attach over U's files.
    if let Some(pid) = testkit::spawn(&["other", &format!("{u_pid}"), &format!("{uu}")], &[]) {
        wait_child("V", pid);
    }
    // Root may attach over another user's file, and detach a path another
    // user attached.
    expect_ok("root fattach over U's file", fattach(uf, &path("u5")));
    let again = expect_ok("open u5", open(&path("u5")));
    expect_door("U's door at U's file, attached by root", again, uu, u_pid);
    expect_ok("close", close(again));
    expect_ok("root fdetach of its attachment", fdetach(&path("u5")));
    expect_ok("root fdetach of U's attachment", fdetach(&path("u2b")));
    DONE.store(true, Ordering::SeqCst);
    wait_child("U", u);

    // U is gone; its door stays attached at u1, held by nothing but that
    // attachment, and opens revoked.
    expect_ok("close(uf)", close(uf));
    expect_eq(
        "doors only attachments hold: U's door too",
        process::kstat(ATTACHED_DOORS).ok(),
        Some(attached_only + 1),
    );
    let dead = expect_ok("open u1 after U exited", open(&path("u1")));
    match info(dead) {
        Ok(i) => {
            expect_eq("di_target of the dead server's door", i.di_target, -1);
            expect_eq(
                "DOOR_REVOKED of the dead server's door",
                i.di_attributes & DOOR_REVOKED,
                DOOR_REVOKED,
            );
            expect_eq("the attached door is U's", i.di_uniquifier, uu);
        }
        Err(e) => fail(format_args!("door_info of the dead door: {e:?}")),
    }
    call_err("call the dead server's door", dead, b"x", &[], Errno::EBADF);
    expect_ok("close(dead)", close(dead));
    expect_ok("root fdetach of the dead door", fdetach(&path("u1")));
    expect_eq(
        "the door went with its last attachment",
        process::kstat(ATTACHED_DOORS).ok(),
        Some(attached_only),
    );
    expect_ok("fdetach root", fdetach(&path("root")));
    expect_plain_file("root after fdetach", &path("root"));
    expect_ok("close(other)", close(other));
    expect_ok("close(dn)", close(dn));
    for entry in fs::read_dir(DIR).unwrap_or_default() {
        if entry.name != "." && entry.name != ".." {
            expect_eq(
                &format!("remove {}", entry.name),
                fs::unlink(&path(&entry.name)),
                Ok(()),
            );
        }
    }
    expect_eq("rmdir", fs::rmdir(DIR), Ok(()));
}

// ---------------------------------------------------------------------------
// X: opens R's door by its paths.
// ---------------------------------------------------------------------------

fn role_x() {
    let me = process::getpid();
    let (r_pid, un) = (num_arg(2) as i32, num_arg(3) as u64);
    let a = open(&path("a"));
    expect_eq("X's first descriptor (open a)", a, 0);
    let b = open(&path("b"));
    expect_eq("X's second descriptor (open b)", b, 1);
    let a2 = expect_ok("open a twice", open(&path("a")));
    if a2 == a {
        fail(format_args!("a second open gave the same descriptor {a}"));
    }
    for (what, fd) in [("a", a), ("b", b), ("a again", a2)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"hello", &[], format!("N:{me}:hello").as_bytes());
    }
    expect_ok("close(a2)", close(a2));
    // R detaches both paths: the open descriptors keep working.
    call_expect("ask R to fdetach", a, b"detach", &[], b"detached");
    for (what, fd) in [("a after fdetach", a), ("b after fdetach", b)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"still", &[], format!("N:{me}:still").as_bytes());
    }
    expect_plain_file("a after fdetach", &path("a"));
    expect_plain_file("b after fdetach", &path("b"));
    expect_err(
        fdetach(&path("b")),
        Errno::EINVAL,
        "fdetach b after fdetach",
    );
    expect_ok("close(a)", close(a));
    expect_ok("close(b)", close(b));
}

// ---------------------------------------------------------------------------
// U: euid 100, holds R's door DN as descriptor 0.
// ---------------------------------------------------------------------------

fn role_u() {
    let (r_pid, un) = (num_arg(2) as i32, num_arg(3) as u64);
    let dn = 0;
    expect_door("U's descriptor 0", dn, un, r_pid);
    expect_ok("U seteuid(100)", seteuid(UID_U));
    expect_err(
        fattach(dn, &path("rootfile")),
        Errno::EPERM,
        "U fattach over R's file",
    );
    expect_err(
        fdetach(&path("root")),
        Errno::EPERM,
        "U fdetach of R's path",
    );
    expect_plain_file("rootfile after the refused fattach", &path("rootfile"));
    // Open needs the covered file's read permission (0644: granted).
    let r = expect_ok("U open root", open(&path("root")));
    expect_door("R's door opened by U", r, un, r_pid);
    expect_ok("close", close(r));
    // Its own files: any door it holds may cover them, given write
    // permission.
    for name in ["u1", "u2", "u2b", "u3", "u4", "u5"] {
        make_file(&path(name), 0o644);
    }
    let du = create(b'U');
    expect_ok("U fattach u1", fattach(du, &path("u1")));
    expect_ok("U fattach u2", fattach(du, &path("u2")));
    expect_ok("U fattach u2b", fattach(du, &path("u2b")));
    expect_err(
        fattach(du, &path("root")),
        Errno::EBUSY,
        "U fattach at R's path",
    );
    expect_eq("U chmod u3 0444", fs::chmod(&path("u3"), 0o444), Ok(()));
    expect_err(
        fattach(du, &path("u3")),
        Errno::EACCES,
        "U fattach over its own file without write permission",
    );
    expect_ok(
        "U fattach R's door over its own file",
        fattach(dn, &path("u4")),
    );
    let r4 = expect_ok("U open u4", open(&path("u4")));
    expect_door("R's door at U's file", r4, un, r_pid);
    expect_ok("close", close(r4));
    expect_ok("U fdetach u4", fdetach(&path("u4")));
    expect_ok("U fdetach its own u2", fdetach(&path("u2")));
    expect_ok("U close(du)", close(du));
    call_expect("U tells R", dn, b"attached", &[], b"ok");
    let finished = wait_until(2000, || match call(dn, b"done?", &[]) {
        Ok(r) => r == b"yes",
        Err(_) => true,
    });
    check!(finished, "U: R never finished");
}

// ---------------------------------------------------------------------------
// V: euid 200, no descriptors.
// ---------------------------------------------------------------------------

fn role_v() {
    let me = process::getpid();
    let (u_pid, uu) = (num_arg(2) as i32, num_arg(3) as u64);
    expect_ok("V seteuid(200)", seteuid(UID_V));
    expect_err(
        seteuid(UID_U),
        Errno::EPERM,
        "V seteuid(100) (not root any more)",
    );
    expect_err(fdetach(&path("u1")), Errno::EPERM, "V fdetach of U's path");
    expect_err(
        fdetach(&path("root")),
        Errno::EPERM,
        "V fdetach of R's path",
    );
    let f = expect_ok("V open u1", open(&path("u1")));
    expect_eq("V's first descriptor", f, 0);
    expect_door("U's door opened by V", f, uu, u_pid);
    call_expect(
        "V calls U's door",
        f,
        b"v",
        &[],
        format!("U:{me}:v").as_bytes(),
    );
    expect_eq(
        "V open u1 for writing (0644: others may only read)",
        fs::open(&path("u1"), O_WRONLY, 0),
        Err(Errno::EACCES),
    );
    expect_err(
        fattach(f, &path("u5")),
        Errno::EPERM,
        "V fattach over U's file",
    );
    expect_plain_file("u5 after the refused fattach", &path("u5"));
    expect_ok("V close", close(f));
}

fn main() -> i32 {
    match arg(1) {
        None => role_r(),
        Some("open") => role_x(),
        Some("user") => role_u(),
        Some("other") => role_v(),
        Some(other) => {
            println!("{NAME}: unknown role {other}");
            return 2;
        }
    }
    testkit::verdict(arg(1).is_none())
}
