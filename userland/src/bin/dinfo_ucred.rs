//! door_ucred and door_cred under QEMU, across three processes: the server
//! sees the pid and credentials of the immediate caller (each process takes
//! its own euid with seteuid, so the reported euid tells them apart); in a
//! chain A -> B -> C, C sees B, not A, and B still sees A after its nested
//! call; the kernel (pid 0) for an unreferenced invocation; EINVAL outside
//! an invocation; EFAULT for a bad buffer.
//!
//! Roles: no argument is A (the parent). `b` gets A's mailbox as
//! descriptor 0 and C's door as descriptor 1; `c` gets the mailbox as 0.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use spin::Mutex;
use userland::Errno;
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_UNREF, DOOR_UNREF_DATA, close, door_create, door_cred, door_cred_t,
    door_desc_t, door_return, door_ucred, dup, errno, seteuid, ucred_t,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process};

userland::entry!(main);

const NAME: &str = "dinfo_ucred";

/// The effective user ids A, B and C take.
const EUID_A: u32 = 1001;
const EUID_B: u32 = 2002;
const EUID_C: u32 = 3003;

/// Credentials as a server saw them: door_ucred's and door_cred's records,
/// or their errnos (as a negative pid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Seen {
    pid: i32,
    euid: u32,
    egid: u32,
    ruid: u32,
    rgid: u32,
}

const SEEN_SIZE: usize = 20;

impl Seen {
    fn bytes(&self) -> [u8; SEEN_SIZE] {
        let mut b = [0u8; SEEN_SIZE];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.euid.to_le_bytes());
        b[8..12].copy_from_slice(&self.egid.to_le_bytes());
        b[12..16].copy_from_slice(&self.ruid.to_le_bytes());
        b[16..20].copy_from_slice(&self.rgid.to_le_bytes());
        b
    }

    fn from(b: &[u8]) -> Seen {
        let at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        Seen {
            pid: at(0) as i32,
            euid: at(4),
            egid: at(8),
            ruid: at(12),
            rgid: at(16),
        }
    }
}

/// What door_ucred reports now (errno as `-pid` on failure).
fn ucred_now() -> Seen {
    let mut u = ucred_t::default();
    if door_ucred(&mut u) != 0 {
        return Seen {
            pid: -(errno().code() as i32),
            ..Seen::default()
        };
    }
    check!(
        u.uc_resv == [0; 3],
        "door_ucred: reserved fields {:?}",
        u.uc_resv
    );
    Seen {
        pid: u.uc_pid,
        euid: u.uc_euid,
        egid: u.uc_egid,
        ruid: u.uc_ruid,
        rgid: u.uc_rgid,
    }
}

/// What door_cred reports now (errno as `-pid` on failure).
fn cred_now() -> Seen {
    let mut c = door_cred_t::default();
    if door_cred(&mut c) != 0 {
        return Seen {
            pid: -(errno().code() as i32),
            ..Seen::default()
        };
    }
    Seen {
        pid: c.dc_pid,
        euid: c.dc_euid,
        egid: c.dc_egid,
        ruid: c.dc_ruid,
        rgid: c.dc_rgid,
    }
}

/// The errnos of door_ucred and door_cred with bad buffers, in a server
/// thread during an invocation (each must be EFAULT).
fn bad_buffers() -> [u8; 8] {
    let bad = [
        0usize,
        0x1000,
        0xffff_8000_0000_0000,
        proc_server as *const () as usize,
    ];
    let mut out = [0u8; 8];
    for (k, &p) in bad.iter().enumerate() {
        out[k] = match door_ucred(p as *mut ucred_t) {
            0 => 0,
            _ => errno().code() as u8,
        };
        out[4 + k] = match door_cred(p as *mut door_cred_t) {
            0 => 0,
            _ => errno().code() as u8,
        };
    }
    out
}

/// The descriptor of B's or C's door in this process (B: C's door, A: both,
/// filled by the mailbox).
static PEER_B: AtomicI32 = AtomicI32::new(-1);
static PEER_C: AtomicI32 = AtomicI32::new(-1);
/// Set by a "quit" call: the process may exit.
static QUIT: AtomicBool = AtomicBool::new(false);
/// What the unreferenced invocation saw.
static UNREF_SEEN: Mutex<Option<(Seen, Seen)>> = Mutex::new(None);

/// A's mailbox: data `b` or `c` with one descriptor, the door of B or C.
extern "C" fn proc_mail(_c: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    let tag = data(argp, size).first().copied();
    if n == 1 {
        // SAFETY: the kernel laid out `n` descriptor entries at `dp`.
        let fd = unsafe { (*dp).d_descriptor };
        match tag {
            Some(b'b') => PEER_B.store(fd, SeqCst),
            Some(b'c') => PEER_C.store(fd, SeqCst),
            _ => {
                close(fd);
            }
        }
    }
    door_return(null_mut(), 0, null_mut(), 0);
}

/// The doors of B and C (and A's UNREF door). "who": the caller as seen
/// by door_ucred and door_cred, then the bad-buffer errnos (48 bytes).
/// "chain" (B only): B's view of its caller, C's reply to a nested call,
/// B's view again after it (2 * 40 + 48 + 40 bytes). "quit": lets the
/// process exit.
extern "C" fn proc_server(
    _c: *mut c_void,
    argp: *mut u8,
    size: usize,
    _d: *mut door_desc_t,
    _n: u32,
) {
    if argp as u64 == DOOR_UNREF_DATA {
        *UNREF_SEEN.lock() = Some((ucred_now(), cred_now()));
        door_return(null_mut(), 0, null_mut(), 0);
        return;
    }
    let mut out: Vec<u8> = Vec::new();
    let who = |out: &mut Vec<u8>| {
        out.extend_from_slice(&ucred_now().bytes());
        out.extend_from_slice(&cred_now().bytes());
    };
    match data(argp, size) {
        b"who" => {
            who(&mut out);
            out.extend_from_slice(&bad_buffers());
        }
        b"chain" => {
            who(&mut out);
            match call(PEER_C.load(SeqCst), b"who", &[]) {
                Ok(r) => out.extend_from_slice(&r),
                Err(e) => fail(format_args!("B: nested call to C: {}", e.name())),
            }
            who(&mut out);
        }
        b"quit" => QUIT.store(true, SeqCst),
        _ => {}
    }
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
}

fn main() -> i32 {
    let ok = match arg(1) {
        None => parent(),
        Some(r @ ("b" | "c")) => child(r),
        Some(r) => {
            println!("{NAME}: unknown role {r}");
            false
        }
    };
    if ok {
        testkit::verdict(arg(1).is_none())
    } else {
        1
    }
}

/// door_ucred and door_cred from a thread serving nothing: EINVAL.
fn expect_not_serving(who: &str) {
    let mut u = ucred_t::default();
    let mut c = door_cred_t::default();
    expect_err(
        door_ucred(&mut u),
        Errno::EINVAL,
        &alloc::format!("{who}: door_ucred outside an invocation"),
    );
    expect_err(
        door_cred(&mut c),
        Errno::EINVAL,
        &alloc::format!("{who}: door_cred outside an invocation"),
    );
}

/// B or C: takes its euid, creates its door, mails it to A, serves until
/// told to quit.
fn child(role: &str) -> bool {
    let euid = if role == "b" { EUID_B } else { EUID_C };
    check!(
        seteuid(euid) == 0,
        "{role}: seteuid({euid}) from euid 0: {}",
        errno().name()
    );
    if role == "b" {
        PEER_C.store(1, SeqCst);
    }
    let d = door_create(proc_server, null_mut(), 0);
    check!(d >= 0, "{role}: door_create: {}", errno().name());
    let desc = door_desc_t::new(d, DOOR_DESCRIPTOR);
    if let Err(e) = call(0, role.as_bytes(), &[desc]) {
        fail(format_args!("{role}: mailbox call: {}", e.name()));
        return false;
    }
    expect_not_serving(role);
    wait_until(1000, || QUIT.load(SeqCst));
    check!(QUIT.load(SeqCst), "{role}: never told to quit");
    true
}

/// Waits (bounded) until the mailbox got a door in `slot`.
fn wait_door(slot: &AtomicI32, role: &str) -> Option<i32> {
    if wait_until(500, || slot.load(SeqCst) >= 0) {
        return Some(slot.load(SeqCst));
    }
    fail(format_args!("{role} never mailed its door"));
    None
}

/// `s` must be the credentials of process `pid` with effective id `euid`
/// (real ids and group ids 0, inherited from init).
fn expect_seen(s: Seen, pid: u32, euid: u32, what: &str) {
    let want = Seen {
        pid: pid as i32,
        euid,
        egid: 0,
        ruid: 0,
        rgid: 0,
    };
    if s.pid < 0 {
        fail(format_args!(
            "{what}: failed with {}",
            Errno::from_code(s.pid.unsigned_abs() as u16).name()
        ));
    } else {
        check!(s == want, "{what}: saw {s:?}, want {want:?}");
    }
}

/// Checks a "who" reply: the caller as door_ucred and door_cred report it,
/// and EFAULT for every bad buffer.
fn expect_who(r: &[u8], pid: u32, euid: u32, what: &str) {
    if r.len() != 2 * SEEN_SIZE + 8 {
        fail(format_args!("{what}: reply of {} bytes", r.len()));
        return;
    }
    expect_seen(
        Seen::from(&r[..SEEN_SIZE]),
        pid,
        euid,
        &alloc::format!("{what}: door_ucred"),
    );
    expect_seen(
        Seen::from(&r[SEEN_SIZE..2 * SEEN_SIZE]),
        pid,
        euid,
        &alloc::format!("{what}: door_cred"),
    );
    for (k, &e) in r[2 * SEEN_SIZE..].iter().enumerate() {
        let f = if k < 4 { "door_ucred" } else { "door_cred" };
        check!(
            u16::from(e) == Errno::EFAULT.code(),
            "{what}: {f} with bad buffer {}: errno {} ({e}), want EFAULT",
            k % 4,
            Errno::from_code(e as u16).name()
        );
    }
}

fn parent() -> bool {
    let a = process::getpid();
    expect_not_serving("A");
    let m = door_create(proc_mail, null_mut(), 0);
    check!(m >= 0, "door_create(mailbox): {}", errno().name());

    // C first, then B (which gets C's door).
    let c_pid = spawn(&["c"], &[m]);
    let dc = c_pid.and_then(|_| wait_door(&PEER_C, "C"));
    let b_pid = match dc {
        Some(dc) => spawn(&["b"], &[m, dc]),
        None => None,
    };
    let db = b_pid.and_then(|_| wait_door(&PEER_B, "B"));
    check!(
        seteuid(EUID_A) == 0,
        "A: seteuid({EUID_A}): {}",
        errno().name()
    );

    if let (Some(b), Some(_), Some(db), Some(dc)) = (b_pid, c_pid, db, dc) {
        // A -> C: C sees A.
        match call(dc, b"who", &[]) {
            Ok(r) => expect_who(&r, a, EUID_A, "A -> C"),
            Err(e) => fail(format_args!("A -> C: {}", e.name())),
        }
        // A -> B -> C: B sees A (before and after its nested call), C sees B.
        match call(db, b"chain", &[]) {
            Ok(r) if r.len() == 4 * SEEN_SIZE + 2 * SEEN_SIZE + 8 => {
                let b_view = &r[..2 * SEEN_SIZE];
                let c_view = &r[2 * SEEN_SIZE..4 * SEEN_SIZE + 8];
                let b_after = &r[4 * SEEN_SIZE + 8..];
                for (part, when) in [(b_view, "before"), (b_after, "after")] {
                    expect_seen(
                        Seen::from(&part[..SEEN_SIZE]),
                        a,
                        EUID_A,
                        &alloc::format!("A -> B, door_ucred {when} the nested call"),
                    );
                    expect_seen(
                        Seen::from(&part[SEEN_SIZE..]),
                        a,
                        EUID_A,
                        &alloc::format!("A -> B, door_cred {when} the nested call"),
                    );
                }
                expect_who(c_view, b, EUID_B, "A -> B -> C, at C");
            }
            Ok(r) => fail(format_args!("A -> B -> C: reply of {} bytes", r.len())),
            Err(e) => fail(format_args!("A -> B -> C: {}", e.name())),
        }
        // The euid reported is the caller's at the time of the call.
        check!(seteuid(0) == 0, "A: seteuid(0) back: {}", errno().name());
        match call(dc, b"who", &[]) {
            Ok(r) => expect_who(&r, a, 0, "A (euid 0 again) -> C"),
            Err(e) => fail(format_args!("A -> C again: {}", e.name())),
        }
    }

    // An unreferenced invocation: the kernel's credentials (pid 0).
    let u = door_create(proc_server, null_mut(), DOOR_UNREF);
    let u2 = dup(u);
    check!(u >= 0 && close(u2) == 0, "UNREF door: {}", errno().name());
    let mut seen = None;
    for _ in 0..500 {
        seen = *UNREF_SEEN.lock();
        if seen.is_some() {
            break;
        }
        process::sleep_ticks(1);
    }
    match seen {
        Some((uc, dc)) => {
            expect_seen(uc, 0, 0, "unreferenced invocation, door_ucred");
            expect_seen(dc, 0, 0, "unreferenced invocation, door_cred");
        }
        None => fail(format_args!("no unreferenced invocation")),
    }

    // Let B and C go.
    for (fd, pid, role) in [(db, b_pid, "B"), (dc, c_pid, "C")] {
        let Some(pid) = pid else { continue };
        if let Some(fd) = fd
            && let Err(e) = call(fd, b"quit", &[])
        {
            fail(format_args!("quit {role}: {}", e.name()));
        }
        match process::wait(Some(pid)) {
            Ok((_, 0)) => {}
            Ok((_, s)) => fail(format_args!("{role} exited with {s}")),
            Err(e) => fail(format_args!("wait {role}: {e:?}")),
        }
        if let Some(fd) = fd {
            check!(close(fd) == 0, "close({role}'s door)");
        }
    }
    expect_not_serving("A, at the end");
    for fd in [m, u] {
        check!(close(fd) == 0, "close({fd})");
    }
    true
}
