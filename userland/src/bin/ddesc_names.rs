//! fattach / fdetach / open under QEMU, across processes:
//! - R (root) attaches its door DN at two paths; a child X with no
//!   descriptors opens both (descriptors 0, 1: the same door), calls it,
//!   has R fdetach both paths, and its descriptors keep working while new
//!   opens fail with ENOENT;
//! - the errors: EBUSY (path already attached), ENOENT (empty path; open of
//!   a path with nothing attached), EINVAL (relative path; fdetach of a
//!   path with nothing attached), ENAMETOOLONG, EBADF (not a descriptor);
//! - EPERM: a child U that took euid 100 (seteuid) may not fattach R's
//!   door nor fdetach R's path, but may attach and detach its own door; a
//!   child V with euid 200 may open U's path but may neither fdetach it nor
//!   fattach U's door; root (R) may do both.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use userland::abi::errno::{self, EBADF, EBUSY, EINVAL, ENAMETOOLONG, ENOENT, EPERM};
use userland::door::safe::Door;
use userland::door::{
    close, door_create, door_desc_t, door_info, door_info_t, door_return, door_ucred, errno,
    fattach, fdetach, open, seteuid, ucred_t,
};
use userland::{arg, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_names";
const UID_U: u32 = 100;
const UID_V: u32 = 200;

static FAILS: AtomicU32 = AtomicU32::new(0);

macro_rules! fail {
    ($($t:tt)*) => {{
        println!("{}[{}]: FAIL: {}", NAME, process::getpid(), format_args!($($t)*));
        FAILS.fetch_add(1, Ordering::SeqCst);
    }};
}

fn expect_eq<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) {
    if got != want {
        fail!("{what}: got {got:?}, expected {want:?}");
    }
}

fn expect_ok(what: &str, ret: i32) -> i32 {
    if ret < 0 {
        fail!("{what}: failed with {}", errno::name(errno()));
    }
    ret
}

fn expect_err(what: &str, ret: i32, want: isize) {
    if ret != -1 {
        fail!(
            "{what}: returned {ret}, expected -1 with {}",
            errno::name(want)
        );
    } else if errno() != want {
        fail!(
            "{what}: errno {}, expected {}",
            errno::name(errno()),
            errno::name(want)
        );
    }
}

fn info(d: i32) -> Option<door_info_t> {
    let mut i = door_info_t::default();
    (door_info(d, &mut i) == 0).then_some(i)
}

/// Checks that `fd` names the door with uniquifier `u` served by `target`.
fn expect_door(what: &str, fd: i32, u: u64, target: i32) {
    match info(fd) {
        Some(i) => {
            expect_eq(&format!("{what}: uniquifier"), i.di_uniquifier, u);
            expect_eq(&format!("{what}: di_target"), i.di_target, target);
        }
        None => fail!("{what}: door_info({fd}) {}", errno::name(errno())),
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

fn call(d: i32, data: &[u8]) -> Result<Vec<u8>, isize> {
    Door::from_fd(d)
        .call(data, &[])
        .map(|r| r.data)
        .map_err(|e| e.0)
}

fn call_expect(what: &str, d: i32, data: &[u8], want: &[u8]) {
    match call(d, data) {
        Ok(r) if r == want => {}
        Ok(r) => fail!(
            "{what}: reply {:?}, expected {:?}",
            String::from_utf8_lossy(&r),
            String::from_utf8_lossy(want)
        ),
        Err(e) => fail!("{what}: door_call failed with {}", errno::name(e)),
    }
}

fn num(i: usize) -> i64 {
    arg(i).and_then(|s| s.parse().ok()).unwrap_or(-1)
}

/// The server procedure of every door here: "<tag>:<caller pid>:<data>",
/// plus R's requests ("detach", "attached", "done?") when the cookie is 'N'.
extern "C" fn serve(cookie: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    let tag = cookie as u8 as char;
    // SAFETY: the kernel laid out `size` bytes there.
    let data = if size == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(argp, size) }
    };
    let mut cred = ucred_t::default();
    if door_ucred(&mut cred) != 0 {
        return reply(b"bad: door_ucred");
    }
    match (tag, data) {
        ('N', b"detach") => {
            let a = fdetach("/ddesc/a");
            let b = fdetach("/ddesc/b");
            if a == 0 && b == 0 {
                reply(b"detached")
            } else {
                reply(format!("bad: fdetach {a} {b}: {}", errno::name(errno())).as_bytes())
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

fn wait_child(what: &str, pid: u32) {
    match process::wait(Some(pid)) {
        Ok((_, 0)) => {}
        Ok((_, s)) => fail!("{what} exited with status {s}"),
        Err(e) => fail!("wait for {what}: {e:?}"),
    }
}

// ---------------------------------------------------------------------------
// R: root, the door DN.
// ---------------------------------------------------------------------------

static ATTACHED: AtomicBool = AtomicBool::new(false);
static DONE: AtomicBool = AtomicBool::new(false);
static U_PID: AtomicI32 = AtomicI32::new(-1);

fn role_r() {
    let me = process::getpid() as i32;
    let dn = create(b'N');
    let other = create(b'O');
    let un = info(dn).map_or(0, |i| i.di_uniquifier);
    let long = |n: usize| {
        let mut s = String::from("/");
        s.extend(core::iter::repeat_n('x', n - 1));
        s
    };

    // One door at several paths; a taken path is EBUSY.
    expect_ok("fattach /ddesc/a", fattach(dn, "/ddesc/a"));
    expect_ok("fattach /ddesc/b", fattach(dn, "/ddesc/b"));
    expect_err("fattach at a taken path", fattach(dn, "/ddesc/a"), EBUSY);
    expect_err(
        "fattach another door at a taken path",
        fattach(other, "/ddesc/b"),
        EBUSY,
    );
    // Path errors.
    expect_err("fattach empty path", fattach(other, ""), ENOENT);
    expect_err("fattach relative path", fattach(other, "ddesc/rel"), EINVAL);
    expect_err("fattach relative path (2)", fattach(other, "x"), EINVAL);
    expect_err(
        "fattach 1100-byte path",
        fattach(other, &long(1100)),
        ENAMETOOLONG,
    );
    expect_err(
        "fattach 5000-byte path",
        fattach(other, &long(5000)),
        ENAMETOOLONG,
    );
    let stale = create(b'S');
    expect_ok("close(stale)", close(stale));
    expect_err(
        "fattach a closed descriptor",
        fattach(stale, "/ddesc/s"),
        EBADF,
    );
    expect_err("fattach descriptor -1", fattach(-1, "/ddesc/s"), EBADF);
    expect_err(
        "fattach a forged descriptor",
        fattach(0x7ff0_0000, "/ddesc/s"),
        EBADF,
    );
    // A long but acceptable path works.
    let ok_path = long(200);
    expect_ok("fattach 200-byte path", fattach(other, &ok_path));
    let o = expect_ok("open 200-byte path", open(&ok_path));
    call_expect(
        "call through the 200-byte path",
        o,
        b"hi",
        format!("O:{me}:hi").as_bytes(),
    );
    expect_ok("close", close(o));
    expect_ok("fdetach 200-byte path", fdetach(&ok_path));
    expect_err("fdetach nothing attached", fdetach("/ddesc/none"), EINVAL);
    expect_err("fdetach empty path", fdetach(""), ENOENT);
    expect_err("fdetach relative path", fdetach("ddesc/a"), EINVAL);
    expect_err("fdetach 1100-byte path", fdetach(&long(1100)), ENAMETOOLONG);
    expect_err("open nothing attached", open("/ddesc/none"), ENOENT);
    expect_err("open empty path", open(""), ENOENT);
    expect_err("open relative path", open("ddesc/a"), EINVAL);
    expect_err("open 1100-byte path", open(&long(1100)), ENAMETOOLONG);
    expect_err("open 5000-byte path", open(&long(5000)), ENAMETOOLONG);
    // The failed fattach calls attached nothing.
    expect_err("open after failed fattach", open("/ddesc/s"), ENOENT);
    expect_err("fdetach after failed fattach", fdetach("/ddesc/s"), EINVAL);

    // X opens both paths, then has us fdetach them.
    match process::spawn_with_fds(NAME, &["open", &format!("{me}"), &format!("{un}")], &[]) {
        Ok(pid) => wait_child("X", pid),
        Err(e) => fail!("spawn X: {e:?}"),
    }
    expect_err("open /ddesc/a after fdetach", open("/ddesc/a"), ENOENT);
    expect_err("fdetach /ddesc/a again", fdetach("/ddesc/a"), EINVAL);
    // The path can be attached again.
    expect_ok("fattach /ddesc/a again", fattach(other, "/ddesc/a"));
    let o = expect_ok("open /ddesc/a again", open("/ddesc/a"));
    call_expect(
        "the new door at /ddesc/a",
        o,
        b"x",
        format!("O:{me}:x").as_bytes(),
    );
    expect_ok("close", close(o));
    expect_ok("fdetach /ddesc/a", fdetach("/ddesc/a"));

    // Permissions.
    expect_ok("fattach /ddesc/root", fattach(dn, "/ddesc/root"));
    let u =
        match process::spawn_with_fds(NAME, &["user", &format!("{me}"), &format!("{un}")], &[dn]) {
            Ok(pid) => pid,
            Err(e) => {
                fail!("spawn U: {e:?}");
                return;
            }
        };
    let mut ticks = 0;
    while !ATTACHED.load(Ordering::SeqCst) && ticks < 1000 {
        process::sleep_ticks(1);
        ticks += 1;
    }
    if !ATTACHED.load(Ordering::SeqCst) {
        fail!("U never attached its door");
    } else {
        let u_pid = U_PID.load(Ordering::SeqCst);
        expect_eq("pid of U", u_pid, u as i32);
        let uf = expect_ok("open /ddesc/u1", open("/ddesc/u1"));
        let uu = info(uf).map_or(0, |i| i.di_uniquifier);
        expect_door("U's door opened by R", uf, uu, u_pid);
        call_expect(
            "R calls U's door",
            uf,
            b"hi",
            format!("U:{me}:hi").as_bytes(),
        );
        expect_err("open /ddesc/u2 (U detached it)", open("/ddesc/u2"), ENOENT);
        // V (euid 200): may open U's path, but not detach it nor attach
        // U's door.
        match process::spawn_with_fds(
            NAME,
            &[
                "other",
                &format!("{me}"),
                &format!("{un}"),
                &format!("{u_pid}"),
                &format!("{uu}"),
            ],
            &[],
        ) {
            Ok(pid) => wait_child("V", pid),
            Err(e) => fail!("spawn V: {e:?}"),
        }
        // Root may attach a door another user created, and detach a path
        // another user attached.
        expect_ok("root fattach of U's door", fattach(uf, "/ddesc/r-u"));
        let again = expect_ok("open /ddesc/r-u", open("/ddesc/r-u"));
        expect_door("U's door at R's path", again, uu, u_pid);
        expect_ok("close", close(again));
        expect_ok("root fdetach of its path", fdetach("/ddesc/r-u"));
        expect_ok("root fdetach of U's path", fdetach("/ddesc/u1"));
        expect_err("open /ddesc/u1 after fdetach", open("/ddesc/u1"), ENOENT);
        call_expect(
            "U's door after fdetach",
            uf,
            b"after",
            format!("U:{me}:after").as_bytes(),
        );
        expect_ok("close(uf)", close(uf));
    }
    DONE.store(true, Ordering::SeqCst);
    wait_child("U", u);
    expect_ok("fdetach /ddesc/root", fdetach("/ddesc/root"));
    expect_err(
        "open /ddesc/root after fdetach",
        open("/ddesc/root"),
        ENOENT,
    );
    expect_ok("close(other)", close(other));
    expect_ok("close(dn)", close(dn));
}

// ---------------------------------------------------------------------------
// X: opens R's door by its paths.
// ---------------------------------------------------------------------------

fn role_x() {
    let me = process::getpid();
    let (r_pid, un) = (num(2) as i32, num(3) as u64);
    let a = open("/ddesc/a");
    expect_eq("X's first descriptor (open /ddesc/a)", a, 0);
    let b = open("/ddesc/b");
    expect_eq("X's second descriptor (open /ddesc/b)", b, 1);
    let a2 = expect_ok("open /ddesc/a twice", open("/ddesc/a"));
    if a2 == a {
        fail!("a second open gave the same descriptor {a}");
    }
    for (what, fd) in [("/ddesc/a", a), ("/ddesc/b", b), ("/ddesc/a again", a2)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"hello", format!("N:{me}:hello").as_bytes());
    }
    expect_ok("close(a2)", close(a2));
    // R detaches both paths: the open descriptors keep working.
    call_expect("ask R to fdetach", a, b"detach", b"detached");
    for (what, fd) in [("/ddesc/a after fdetach", a), ("/ddesc/b after fdetach", b)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"still", format!("N:{me}:still").as_bytes());
    }
    expect_err("open /ddesc/a after fdetach", open("/ddesc/a"), ENOENT);
    expect_err("open /ddesc/b after fdetach", open("/ddesc/b"), ENOENT);
    expect_err(
        "fdetach /ddesc/b after fdetach",
        fdetach("/ddesc/b"),
        EINVAL,
    );
    expect_ok("close(a)", close(a));
    expect_ok("close(b)", close(b));
}

// ---------------------------------------------------------------------------
// U: euid 100, holds R's door DN as descriptor 0.
// ---------------------------------------------------------------------------

fn role_u() {
    let (r_pid, un) = (num(2) as i32, num(3) as u64);
    let dn = 0;
    expect_door("U's descriptor 0", dn, un, r_pid);
    expect_ok("U seteuid(100)", seteuid(UID_U));
    expect_err("U fattach of R's door", fattach(dn, "/ddesc/u-root"), EPERM);
    expect_err("U fdetach of R's path", fdetach("/ddesc/root"), EPERM);
    expect_err(
        "open after the refused fattach",
        open("/ddesc/u-root"),
        ENOENT,
    );
    // Open needs no permission.
    let r = expect_ok("U open /ddesc/root", open("/ddesc/root"));
    expect_door("R's door opened by U", r, un, r_pid);
    expect_ok("close", close(r));
    // Its own door: attach, attach again elsewhere, detach one.
    let du = create(b'U');
    expect_ok("U fattach /ddesc/u1", fattach(du, "/ddesc/u1"));
    expect_ok("U fattach /ddesc/u2", fattach(du, "/ddesc/u2"));
    expect_err("U fattach at R's path", fattach(du, "/ddesc/root"), EBUSY);
    expect_ok("U fdetach its own /ddesc/u2", fdetach("/ddesc/u2"));
    expect_ok("U close(du)", close(du));
    call_expect("U tells R", dn, b"attached", b"ok");
    let mut ticks = 0;
    loop {
        match call(dn, b"done?") {
            Ok(r) if r == b"yes" => break,
            Ok(r) if r == b"no" => {}
            Ok(r) => {
                fail!("U: done? answered {:?}", String::from_utf8_lossy(&r));
                break;
            }
            Err(e) => {
                fail!("U: done?: {}", errno::name(e));
                break;
            }
        }
        if ticks > 1000 {
            fail!("U: R never finished");
            break;
        }
        process::sleep_ticks(2);
        ticks += 2;
    }
}

// ---------------------------------------------------------------------------
// V: euid 200, no descriptors.
// ---------------------------------------------------------------------------

fn role_v() {
    let me = process::getpid();
    let (u_pid, uu) = (num(4) as i32, num(5) as u64);
    expect_ok("V seteuid(200)", seteuid(UID_V));
    expect_err("V seteuid(100) (not root any more)", seteuid(UID_U), EPERM);
    expect_err("V fdetach of U's path", fdetach("/ddesc/u1"), EPERM);
    expect_err("V fdetach of R's path", fdetach("/ddesc/root"), EPERM);
    let f = expect_ok("V open /ddesc/u1", open("/ddesc/u1"));
    expect_eq("V's first descriptor", f, 0);
    expect_door("U's door opened by V", f, uu, u_pid);
    call_expect("V calls U's door", f, b"v", format!("U:{me}:v").as_bytes());
    expect_err("V fattach of U's door", fattach(f, "/ddesc/v"), EPERM);
    expect_err("open after the refused fattach", open("/ddesc/v"), ENOENT);
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
    let fails = FAILS.load(Ordering::SeqCst);
    if fails != 0 {
        println!("{NAME}[{}]: {fails} check(s) failed", process::getpid());
        return 1;
    }
    if arg(1).is_none() {
        println!("{NAME}: ok");
    }
    0
}
