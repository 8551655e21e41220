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
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use userland::Errno;
use userland::door::{
    close, door_create, door_desc_t, door_return, door_ucred, errno, fattach, fdetach, open,
    seteuid, ucred_t,
};
use userland::testkit::{self, *};
use userland::{arg, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_names";
const UID_U: u32 = 100;
const UID_V: u32 = 200;

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

fn role_r() {
    let me = process::getpid() as i32;
    let dn = create(b'N');
    let other = create(b'O');
    let un = info(dn).ok().map_or(0, |i| i.di_uniquifier);
    let long = |n: usize| {
        let mut s = String::from("/");
        s.extend(core::iter::repeat_n('x', n - 1));
        s
    };

    // One door at several paths; a taken path is EBUSY.
    expect_ok("fattach /ddesc/a", fattach(dn, "/ddesc/a"));
    expect_ok("fattach /ddesc/b", fattach(dn, "/ddesc/b"));
    expect_err(
        fattach(dn, "/ddesc/a"),
        Errno::EBUSY,
        "fattach at a taken path",
    );
    expect_err(
        fattach(other, "/ddesc/b"),
        Errno::EBUSY,
        "fattach another door at a taken path",
    );
    // Path errors.
    expect_err(fattach(other, ""), Errno::ENOENT, "fattach empty path");
    expect_err(
        fattach(other, "ddesc/rel"),
        Errno::EINVAL,
        "fattach relative path",
    );
    expect_err(
        fattach(other, "x"),
        Errno::EINVAL,
        "fattach relative path (2)",
    );
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
    let stale = create(b'S');
    expect_ok("close(stale)", close(stale));
    expect_err(
        fattach(stale, "/ddesc/s"),
        Errno::EBADF,
        "fattach a closed descriptor",
    );
    expect_err(
        fattach(-1, "/ddesc/s"),
        Errno::EBADF,
        "fattach descriptor -1",
    );
    expect_err(
        fattach(0x7ff0_0000, "/ddesc/s"),
        Errno::EBADF,
        "fattach a forged descriptor",
    );
    // A long but acceptable path works.
    let ok_path = long(200);
    expect_ok("fattach 200-byte path", fattach(other, &ok_path));
    let o = expect_ok("open 200-byte path", open(&ok_path));
    call_expect(
        "call through the 200-byte path",
        o,
        b"hi",
        &[],
        format!("O:{me}:hi").as_bytes(),
    );
    expect_ok("close", close(o));
    expect_ok("fdetach 200-byte path", fdetach(&ok_path));
    expect_err(
        fdetach("/ddesc/none"),
        Errno::EINVAL,
        "fdetach nothing attached",
    );
    expect_err(fdetach(""), Errno::ENOENT, "fdetach empty path");
    expect_err(fdetach("ddesc/a"), Errno::EINVAL, "fdetach relative path");
    expect_err(
        fdetach(&long(1100)),
        Errno::ENAMETOOLONG,
        "fdetach 1100-byte path",
    );
    expect_err(open("/ddesc/none"), Errno::ENOENT, "open nothing attached");
    expect_err(open(""), Errno::ENOENT, "open empty path");
    expect_err(open("ddesc/a"), Errno::EINVAL, "open relative path");
    expect_err(
        open(&long(1100)),
        Errno::ENAMETOOLONG,
        "open 1100-byte path",
    );
    expect_err(
        open(&long(5000)),
        Errno::ENAMETOOLONG,
        "open 5000-byte path",
    );
    // The failed fattach calls attached nothing.
    expect_err(open("/ddesc/s"), Errno::ENOENT, "open after failed fattach");
    expect_err(
        fdetach("/ddesc/s"),
        Errno::EINVAL,
        "fdetach after failed fattach",
    );

    // X opens both paths, then has us fdetach them.
    match process::spawn_with_fds(NAME, &["open", &format!("{me}"), &format!("{un}")], &[]) {
        Ok(pid) => wait_child("X", pid),
        Err(e) => fail(format_args!("spawn X: {e:?}")),
    }
    expect_err(
        open("/ddesc/a"),
        Errno::ENOENT,
        "open /ddesc/a after fdetach",
    );
    expect_err(fdetach("/ddesc/a"), Errno::EINVAL, "fdetach /ddesc/a again");
    // The path can be attached again.
    expect_ok("fattach /ddesc/a again", fattach(other, "/ddesc/a"));
    let o = expect_ok("open /ddesc/a again", open("/ddesc/a"));
    call_expect(
        "the new door at /ddesc/a",
        o,
        b"x",
        &[],
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
                fail(format_args!("spawn U: {e:?}"));
                return;
            }
        };
    let mut ticks = 0;
    while !ATTACHED.load(Ordering::SeqCst) && ticks < 1000 {
        process::sleep_ticks(1);
        ticks += 1;
    }
    if !ATTACHED.load(Ordering::SeqCst) {
        fail(format_args!("U never attached its door"));
    } else {
        let u_pid = U_PID.load(Ordering::SeqCst);
        expect_eq("pid of U", u_pid, u as i32);
        let uf = expect_ok("open /ddesc/u1", open("/ddesc/u1"));
        let uu = info(uf).ok().map_or(0, |i| i.di_uniquifier);
        expect_door("U's door opened by R", uf, uu, u_pid);
        call_expect(
            "R calls U's door",
            uf,
            b"hi",
            &[],
            format!("U:{me}:hi").as_bytes(),
        );
        expect_err(
            open("/ddesc/u2"),
            Errno::ENOENT,
            "open /ddesc/u2 (U detached it)",
        );
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
            Err(e) => fail(format_args!("spawn V: {e:?}")),
        }
        // Root may attach a door another user created, and detach a path
        // another user attached.
        expect_ok("root fattach of U's door", fattach(uf, "/ddesc/r-u"));
        let again = expect_ok("open /ddesc/r-u", open("/ddesc/r-u"));
        expect_door("U's door at R's path", again, uu, u_pid);
        expect_ok("close", close(again));
        expect_ok("root fdetach of its path", fdetach("/ddesc/r-u"));
        expect_ok("root fdetach of U's path", fdetach("/ddesc/u1"));
        expect_err(
            open("/ddesc/u1"),
            Errno::ENOENT,
            "open /ddesc/u1 after fdetach",
        );
        call_expect(
            "U's door after fdetach",
            uf,
            b"after",
            &[],
            format!("U:{me}:after").as_bytes(),
        );
        expect_ok("close(uf)", close(uf));
    }
    DONE.store(true, Ordering::SeqCst);
    wait_child("U", u);
    expect_ok("fdetach /ddesc/root", fdetach("/ddesc/root"));
    expect_err(
        open("/ddesc/root"),
        Errno::ENOENT,
        "open /ddesc/root after fdetach",
    );
    expect_ok("close(other)", close(other));
    expect_ok("close(dn)", close(dn));
}

// ---------------------------------------------------------------------------
// X: opens R's door by its paths.
// ---------------------------------------------------------------------------

fn role_x() {
    let me = process::getpid();
    let (r_pid, un) = (num_arg(2) as i32, num_arg(3) as u64);
    let a = open("/ddesc/a");
    expect_eq("X's first descriptor (open /ddesc/a)", a, 0);
    let b = open("/ddesc/b");
    expect_eq("X's second descriptor (open /ddesc/b)", b, 1);
    let a2 = expect_ok("open /ddesc/a twice", open("/ddesc/a"));
    if a2 == a {
        fail(format_args!("a second open gave the same descriptor {a}"));
    }
    for (what, fd) in [("/ddesc/a", a), ("/ddesc/b", b), ("/ddesc/a again", a2)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"hello", &[], format!("N:{me}:hello").as_bytes());
    }
    expect_ok("close(a2)", close(a2));
    // R detaches both paths: the open descriptors keep working.
    call_expect("ask R to fdetach", a, b"detach", &[], b"detached");
    for (what, fd) in [("/ddesc/a after fdetach", a), ("/ddesc/b after fdetach", b)] {
        expect_door(what, fd, un, r_pid);
        call_expect(what, fd, b"still", &[], format!("N:{me}:still").as_bytes());
    }
    expect_err(
        open("/ddesc/a"),
        Errno::ENOENT,
        "open /ddesc/a after fdetach",
    );
    expect_err(
        open("/ddesc/b"),
        Errno::ENOENT,
        "open /ddesc/b after fdetach",
    );
    expect_err(
        fdetach("/ddesc/b"),
        Errno::EINVAL,
        "fdetach /ddesc/b after fdetach",
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
        fattach(dn, "/ddesc/u-root"),
        Errno::EPERM,
        "U fattach of R's door",
    );
    expect_err(
        fdetach("/ddesc/root"),
        Errno::EPERM,
        "U fdetach of R's path",
    );
    expect_err(
        open("/ddesc/u-root"),
        Errno::ENOENT,
        "open after the refused fattach",
    );
    // Open needs no permission.
    let r = expect_ok("U open /ddesc/root", open("/ddesc/root"));
    expect_door("R's door opened by U", r, un, r_pid);
    expect_ok("close", close(r));
    // Its own door: attach, attach again elsewhere, detach one.
    let du = create(b'U');
    expect_ok("U fattach /ddesc/u1", fattach(du, "/ddesc/u1"));
    expect_ok("U fattach /ddesc/u2", fattach(du, "/ddesc/u2"));
    expect_err(
        fattach(du, "/ddesc/root"),
        Errno::EBUSY,
        "U fattach at R's path",
    );
    expect_ok("U fdetach its own /ddesc/u2", fdetach("/ddesc/u2"));
    expect_ok("U close(du)", close(du));
    call_expect("U tells R", dn, b"attached", &[], b"ok");
    let mut ticks = 0;
    loop {
        match call(dn, b"done?", &[]) {
            Ok(r) if r == b"yes" => break,
            Ok(r) if r == b"no" => {}
            Ok(r) => {
                fail(format_args!(
                    "U: done? answered {:?}",
                    String::from_utf8_lossy(&r)
                ));
                break;
            }
            Err(e) => {
                fail(format_args!("U: done?: {}", e.name()));
                break;
            }
        }
        if ticks > 1000 {
            fail(format_args!("U: R never finished"));
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
    let (u_pid, uu) = (num_arg(4) as i32, num_arg(5) as u64);
    expect_ok("V seteuid(200)", seteuid(UID_V));
    expect_err(
        seteuid(UID_U),
        Errno::EPERM,
        "V seteuid(100) (not root any more)",
    );
    expect_err(fdetach("/ddesc/u1"), Errno::EPERM, "V fdetach of U's path");
    expect_err(
        fdetach("/ddesc/root"),
        Errno::EPERM,
        "V fdetach of R's path",
    );
    let f = expect_ok("V open /ddesc/u1", open("/ddesc/u1"));
    expect_eq("V's first descriptor", f, 0);
    expect_door("U's door opened by V", f, uu, u_pid);
    call_expect(
        "V calls U's door",
        f,
        b"v",
        &[],
        format!("U:{me}:v").as_bytes(),
    );
    expect_err(
        fattach(f, "/ddesc/v"),
        Errno::EPERM,
        "V fattach of U's door",
    );
    expect_err(
        open("/ddesc/v"),
        Errno::ENOENT,
        "open after the refused fattach",
    );
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
