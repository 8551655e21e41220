//! door_info(3C) under QEMU, across two processes: every field of
//! `door_info_t` (di_target, also -1 once the server process exited;
//! di_proc; di_data; di_attributes with the creation attributes, DOOR_LOCAL
//! only for the server process, DOOR_REVOKED, DOOR_IS_UNREF exactly when one
//! descriptor refers to the door; di_uniquifier unique across processes and
//! never reused after a door is freed), DOOR_QUERY from a server thread
//! during an invocation (and from a thread serving nothing), and the errors
//! EBADF and EFAULT.
//!
//! Roles: no argument is the parent; `peer N` is a child that received the
//! parent's doors as descriptors 0..N and the parent's mailbox door as N.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::SeqCst};
use spin::Mutex;
use userland::Errno;
use userland::abi::kstat;
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_IS_UNREF, DOOR_LOCAL, DOOR_NO_CANCEL, DOOR_PRIVATE, DOOR_QUERY,
    DOOR_REFUSE_DESC, DOOR_REVOKED, DOOR_UNREF, DOOR_UNREF_MULTI, close, door_create, door_desc_t,
    door_info, door_info_t, door_return, dup, errno,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process};

userland::entry!(main);

const NAME: &str = "dinfo_info";

/// Cookie of door A (di_data must report it unchanged, all 64 bits).
const COOKIE_A: u64 = 0x1234_5678_9abc_def0;
/// Cookies of the doors with creation attributes: COOKIE_BASE + index.
const COOKIE_BASE: u64 = 0xfeed_0000_0000_0100;
/// Cookie of the peer's own door.
const COOKIE_C: u64 = 0x00c0_ffee;
/// Creation attributes of the peer's own door.
const ATTRS_C: u32 = DOOR_NO_CANCEL;
/// Every creation attribute, alone and combined.
const ATTRS: [u32; 8] = [
    DOOR_UNREF,
    DOOR_PRIVATE,
    DOOR_UNREF_MULTI,
    DOOR_REFUSE_DESC,
    DOOR_NO_CANCEL,
    DOOR_PRIVATE | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
    DOOR_UNREF | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
    DOOR_UNREF_MULTI | DOOR_NO_CANCEL | DOOR_REFUSE_DESC,
];
/// Index in ATTRS of a door the peer calls with "query" (not private: a
/// private door here has no bound thread to serve it).
const QUERY_IDX: usize = 4;

const INFO_SIZE: usize = 48;

fn info_bytes(i: &door_info_t) -> [u8; INFO_SIZE] {
    let mut b = [0u8; INFO_SIZE];
    b[0..4].copy_from_slice(&{ i.di_target }.to_le_bytes());
    b[4..12].copy_from_slice(&{ i.di_proc }.to_le_bytes());
    b[12..20].copy_from_slice(&{ i.di_data }.to_le_bytes());
    b[20..24].copy_from_slice(&{ i.di_attributes }.to_le_bytes());
    b[24..32].copy_from_slice(&{ i.di_uniquifier }.to_le_bytes());
    b
}

fn info_from(b: &[u8]) -> door_info_t {
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    door_info_t {
        di_target: u32_at(0) as i32,
        di_proc: u64_at(4),
        di_data: u64_at(12),
        di_attributes: u32_at(20),
        di_uniquifier: u64_at(24),
        di_resv: [0; 4],
    }
}

/// door_info of `fd`, counting a failure as a check failure.
fn must_info(fd: i32, what: &str) -> door_info_t {
    info(fd).unwrap_or_else(|e| {
        fail(format_args!("door_info({what}) failed: {}", e.name()));
        door_info_t::default()
    })
}

/// The server procedure of the parent's doors. "query": returns door_info
/// (DOOR_QUERY) as seen by this server thread (48 bytes), or the errno (8
/// bytes). Anything else (unreferenced notices too): no results.
extern "C" fn proc_a(_c: *mut c_void, argp: *mut u8, size: usize, _d: *mut door_desc_t, _n: u32) {
    let mut out = [0u8; INFO_SIZE];
    let mut len = 0;
    if data(argp, size) == b"query" {
        let mut i = door_info_t::default();
        if door_info(DOOR_QUERY, &mut i) == 0 {
            out = info_bytes(&i);
            len = INFO_SIZE;
        } else {
            out[..8].copy_from_slice(&(errno().code() as u64).to_le_bytes());
            len = 8;
        }
    }
    door_return(out.as_mut_ptr(), len, null_mut(), 0);
}

/// The server procedure of the peer's door (never called: only its address
/// matters, as di_proc).
extern "C" fn proc_c(_c: *mut c_void, _a: *mut u8, _s: usize, _d: *mut door_desc_t, _n: u32) {
    door_return(null_mut(), 0, null_mut(), 0);
}

/// What the parent's mailbox received: the data, the descriptor, and the
/// parent's door_info of that descriptor taken during the invocation (the
/// sender was blocked in its call, hence alive).
static MAIL_DATA: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static MAIL_FD: AtomicI32 = AtomicI32::new(-1);
static MAIL_VIEW: Mutex<Option<door_info_t>> = Mutex::new(None);
static MAIL_COUNT: AtomicU32 = AtomicU32::new(0);
/// The parent's doors handed to the peer, and the parent's door_info of
/// each taken by the mailbox during the peer's call (the peer holds its
/// copies then).
static SHARED_FDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static SHARED_VIEWS: Mutex<Vec<Result<door_info_t, Errno>>> = Mutex::new(Vec::new());

extern "C" fn proc_mail(_c: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    *MAIL_DATA.lock() = data(argp, size).to_vec();
    if n == 1 {
        // SAFETY: the kernel laid out `n` descriptor entries at `dp`.
        let d = unsafe { *dp };
        MAIL_FD.store(d.d_descriptor, SeqCst);
        *MAIL_VIEW.lock() = info(d.d_descriptor).ok();
    }
    let views = SHARED_FDS.lock().iter().map(|&fd| info(fd)).collect();
    *SHARED_VIEWS.lock() = views;
    MAIL_COUNT.fetch_add(1, SeqCst);
    door_return(null_mut(), 0, null_mut(), 0);
}

fn create(pc: userland::door::ServerProc, cookie: u64, attrs: u32) -> i32 {
    let fd = door_create(pc, cookie as *mut c_void, attrs);
    if fd < 0 {
        fail(format_args!(
            "door_create(attrs {attrs:#x}) failed: {}",
            errno().name()
        ));
    }
    fd
}

/// Checks every field of `i` against what is expected.
fn expect_info(i: &door_info_t, target: i32, pc: u64, cookie: u64, attrs: u32, what: &str) {
    check!(
        { i.di_target } == target,
        "{what}: di_target {} want {target}",
        { i.di_target }
    );
    check!({ i.di_proc } == pc, "{what}: di_proc {:#x} want {pc:#x}", {
        i.di_proc
    });
    check!(
        { i.di_data } == cookie,
        "{what}: di_data {:#x} want {cookie:#x}",
        { i.di_data }
    );
    check!(
        { i.di_attributes } == attrs,
        "{what}: di_attributes {:#x} want {attrs:#x}",
        { i.di_attributes }
    );
}

fn main() -> i32 {
    let ok = match arg(1) {
        None => parent(),
        Some("peer") => peer(arg(2).and_then(|s| s.parse().ok()).unwrap_or(0)),
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

/// The child: checks what it sees of the parent's doors (no DOOR_LOCAL,
/// the server's pid, DOOR_QUERY in the parent's server thread), creates a
/// door of its own and mails the parent its views and that door.
fn peer(n: usize) -> bool {
    let me = process::getpid() as i32;
    let mut views = Vec::new();
    let mut uniqs = Vec::new();
    for fd in 0..n as i32 {
        let i = must_info(fd, "peer: received door");
        check!(
            { i.di_attributes } & DOOR_LOCAL == 0,
            "peer: DOOR_LOCAL on the parent's door {fd}: {:#x}",
            { i.di_attributes }
        );
        check!(
            { i.di_target } != me,
            "peer: parent's door {fd} reports the peer as its server"
        );
        uniqs.push(i.di_uniquifier);
        views.extend_from_slice(&info_bytes(&i));
    }
    // DOOR_QUERY in the parent's server thread, serving this peer's call:
    // the served door, with DOOR_LOCAL (the server process asks).
    for (fd, what) in [(0, "door A"), (1 + QUERY_IDX as i32, "attribute door")] {
        let view = info_from(&views[fd as usize * INFO_SIZE..][..INFO_SIZE]);
        match call(fd, b"query", &[]) {
            Ok(r) if r.len() == INFO_SIZE => {
                let q = info_from(&r);
                expect_info(
                    &q,
                    view.di_target,
                    view.di_proc,
                    view.di_data,
                    view.di_attributes | DOOR_LOCAL,
                    "peer: DOOR_QUERY of the serving thread",
                );
                check!(
                    { q.di_uniquifier } == { view.di_uniquifier },
                    "peer: DOOR_QUERY on {what} gave uniquifier {} want {}",
                    { q.di_uniquifier },
                    { view.di_uniquifier }
                );
            }
            Ok(r) if r.len() == 8 => fail(format_args!(
                "peer: DOOR_QUERY in the server failed: {}",
                Errno::from_code(u64::from_le_bytes(r[..8].try_into().unwrap()) as u16).name()
            )),
            Ok(r) => fail(format_args!("peer: query reply of {} bytes", r.len())),
            Err(e) => fail(format_args!("peer: call {what}: {}", e.name())),
        }
    }
    // A door of this process: DOOR_LOCAL here, and a uniquifier no door of
    // the parent has.
    let c = create(proc_c, COOKIE_C, ATTRS_C);
    let ic = must_info(c, "peer: own door");
    expect_info(
        &ic,
        me,
        proc_c as *const () as usize as u64,
        COOKIE_C,
        ATTRS_C | DOOR_LOCAL | DOOR_IS_UNREF,
        "peer: own door",
    );
    check!(
        !uniqs.contains(&{ ic.di_uniquifier }),
        "peer: own door's uniquifier {} is also one of the parent's doors",
        { ic.di_uniquifier }
    );
    // Mail the views and the door (kept open here: two references while
    // the parent looks at it).
    let mailbox = n as i32;
    let desc = door_desc_t::new(c, DOOR_DESCRIPTOR);
    if let Err(e) = call(mailbox, &views, &[desc]) {
        fail(format_args!("peer: mailbox call: {}", e.name()));
    }
    true
}

fn parent() -> bool {
    let me = process::getpid() as i32;
    let pa = proc_a as *const () as usize as u64;
    let mut seen: Vec<u64> = Vec::new();

    // Door A: every field, DOOR_LOCAL and DOOR_IS_UNREF with one descriptor.
    let a = create(proc_a, COOKIE_A, 0);
    let ia = must_info(a, "A");
    expect_info(&ia, me, pa, COOKIE_A, DOOR_LOCAL | DOOR_IS_UNREF, "A");
    seen.push(ia.di_uniquifier);

    // A second descriptor: not DOOR_IS_UNREF; the same door through both.
    let a2 = dup(a);
    check!(a2 >= 0 && a2 != a, "dup(A) gave {a2}");
    let ia2 = must_info(a2, "dup of A");
    expect_info(&ia2, me, pa, COOKIE_A, DOOR_LOCAL, "dup of A");
    expect_info(&must_info(a, "A"), me, pa, COOKIE_A, DOOR_LOCAL, "A, dup'd");
    check!(
        { ia2.di_uniquifier } == { ia.di_uniquifier },
        "dup of A: uniquifier {} want {}",
        { ia2.di_uniquifier },
        { ia.di_uniquifier }
    );
    check!(close(a2) == 0, "close(dup of A)");
    expect_info(
        &must_info(a, "A"),
        me,
        pa,
        COOKIE_A,
        DOOR_LOCAL | DOOR_IS_UNREF,
        "A, dup closed",
    );

    // Every creation attribute is reported, with DOOR_LOCAL and
    // DOOR_IS_UNREF; every door has its own uniquifier.
    let mut doors = Vec::new();
    for (k, &attrs) in ATTRS.iter().enumerate() {
        let fd = create(proc_a, COOKIE_BASE + k as u64, attrs);
        let i = must_info(fd, "attribute door");
        expect_info(
            &i,
            me,
            pa,
            COOKIE_BASE + k as u64,
            attrs | DOOR_LOCAL | DOOR_IS_UNREF,
            "attribute door",
        );
        check!(
            !seen.contains(&{ i.di_uniquifier }),
            "door with attrs {attrs:#x}: uniquifier {} already used",
            { i.di_uniquifier }
        );
        seen.push(i.di_uniquifier);
        doors.push(fd);
    }

    // DOOR_QUERY in a server thread of this process: the door served.
    for fd in [a, doors[QUERY_IDX]] {
        let want = must_info(fd, "query target");
        match call(fd, b"query", &[]) {
            Ok(r) if r.len() == INFO_SIZE => {
                let q = info_from(&r);
                expect_info(
                    &q,
                    me,
                    pa,
                    want.di_data,
                    want.di_attributes,
                    "local DOOR_QUERY",
                );
                check!(
                    { q.di_uniquifier } == { want.di_uniquifier },
                    "local DOOR_QUERY: uniquifier {} want {}",
                    { q.di_uniquifier },
                    { want.di_uniquifier }
                );
            }
            Ok(r) => fail(format_args!("local query reply of {} bytes", r.len())),
            Err(e) => fail(format_args!("local query call: {}", e.name())),
        }
    }
    // DOOR_QUERY from a thread that serves nothing and is bound to nothing.
    let mut scratch = door_info_t::default();
    expect_err(
        door_info(DOOR_QUERY, &mut scratch),
        Errno::EBADF,
        "door_info(DOOR_QUERY) outside an invocation",
    );

    // The peer gets A, the attribute doors and the mailbox.
    let m = create(proc_mail, 0, 0);
    let mut fds = Vec::from([a]);
    fds.extend_from_slice(&doors);
    let n = fds.len();
    fds.push(m);
    *SHARED_FDS.lock() = fds[..n].to_vec();
    let n_arg = alloc::format!("{n}");
    let child = match process::spawn_with_fds(NAME, &["peer", &n_arg], &fds) {
        Ok(p) => p as i32,
        Err(e) => {
            fail(format_args!("spawn peer: {e:?}"));
            return false;
        }
    };
    match process::wait(Some(child as u32)) {
        Ok((_, 0)) => {}
        Ok((_, s)) => fail(format_args!("peer exited with {s}")),
        Err(e) => fail(format_args!("wait peer: {e:?}")),
    }
    check!(
        MAIL_COUNT.load(SeqCst) == 1,
        "mailbox got {} calls",
        MAIL_COUNT.load(SeqCst)
    );

    // While the peer held its copies (during its call), two descriptors
    // referred to each door: no DOOR_IS_UNREF.
    let views = core::mem::take(&mut *SHARED_VIEWS.lock());
    check!(
        views.len() == n,
        "mailbox took {} views of the shared doors, want {n}",
        views.len()
    );
    for (k, v) in views.iter().enumerate() {
        let (cookie, attrs) = match k {
            0 => (COOKIE_A, 0),
            k => (COOKIE_BASE + k as u64 - 1, ATTRS[k - 1]),
        };
        match v {
            Ok(v) => expect_info(v, me, pa, cookie, attrs | DOOR_LOCAL, "shared door"),
            Err(e) => fail(format_args!("door_info(shared door {k}): {}", (*e).name())),
        }
    }

    // The peer's views of the parent's doors: the parent's pid, di_proc,
    // di_data, the creation attributes alone (not the server, two
    // descriptors), the same uniquifiers.
    let data = core::mem::take(&mut *MAIL_DATA.lock());
    check!(
        data.len() == n * INFO_SIZE,
        "peer sent {} bytes of views, want {}",
        data.len(),
        n * INFO_SIZE
    );
    for (k, chunk) in data.chunks_exact(INFO_SIZE).enumerate() {
        let v = info_from(chunk);
        let (cookie, attrs) = match k {
            0 => (COOKIE_A, 0),
            k => (COOKIE_BASE + k as u64 - 1, ATTRS[k - 1]),
        };
        expect_info(&v, me, pa, cookie, attrs, "peer's view");
        check!(
            { v.di_uniquifier } == seen[k],
            "peer's view of door {k}: uniquifier {} want {}",
            { v.di_uniquifier },
            seen[k]
        );
    }

    // The peer's door as the parent saw it while the peer was alive (in its
    // call): the peer's pid, its procedure and cookie, not DOOR_LOCAL, two
    // descriptors (the peer's and ours); a uniquifier of its own.
    let c = MAIL_FD.load(SeqCst);
    let cv = *MAIL_VIEW.lock();
    let uc = match cv {
        Some(v) => {
            expect_info(
                &v,
                child,
                proc_c as *const () as usize as u64,
                COOKIE_C,
                ATTRS_C,
                "peer's door, peer alive",
            );
            check!(
                !seen.contains(&{ v.di_uniquifier }),
                "peer's door: uniquifier {} is also a parent door's",
                { v.di_uniquifier }
            );
            seen.push(v.di_uniquifier);
            v.di_uniquifier
        }
        None => {
            fail(format_args!("no door_info of the peer's door (fd {c})"));
            0
        }
    };
    // The peer has exited: di_target -1, revoked, ours is the only
    // descriptor; still the same door.
    if c >= 0 {
        let i = must_info(c, "peer's door after its exit");
        check!(
            { i.di_target } == -1,
            "peer's door after exit: di_target {} want -1",
            { i.di_target }
        );
        check!(
            { i.di_attributes } == ATTRS_C | DOOR_REVOKED | DOOR_IS_UNREF,
            "peer's door after exit: di_attributes {:#x} want {:#x}",
            { i.di_attributes },
            ATTRS_C | DOOR_REVOKED | DOOR_IS_UNREF
        );
        check!(
            { i.di_uniquifier } == uc,
            "peer's door after exit: uniquifier {} want {uc}",
            { i.di_uniquifier }
        );
        check!(close(c) == 0, "close(peer's door)");
    }

    // The peer's descriptors are gone: one descriptor per door again.
    expect_info(
        &must_info(a, "A"),
        me,
        pa,
        COOKIE_A,
        DOOR_LOCAL | DOOR_IS_UNREF,
        "A, peer gone",
    );
    for (k, &fd) in doors.iter().enumerate() {
        expect_info(
            &must_info(fd, "attribute door"),
            me,
            pa,
            COOKIE_BASE + k as u64,
            ATTRS[k] | DOOR_LOCAL | DOOR_IS_UNREF,
            "attribute door, peer gone",
        );
    }

    // Uniquifiers are never reused, even after the door is freed (and its
    // slot can be taken again).
    for round in 0..4 {
        let before = process::kstat(kstat::DOORS).unwrap_or(0);
        let x = create(proc_a, round, 0);
        let ix = must_info(x, "fresh door");
        check!(
            !seen.contains(&{ ix.di_uniquifier }),
            "round {round}: fresh door reuses uniquifier {}",
            { ix.di_uniquifier }
        );
        seen.push(ix.di_uniquifier);
        check!(close(x) == 0, "close(fresh door)");
        let after = process::kstat(kstat::DOORS).unwrap_or(0);
        check!(
            after == before,
            "round {round}: {after} doors after freeing, {before} before creating"
        );
        // The freed door's descriptor is gone.
        expect_err(
            door_info(x, &mut scratch),
            Errno::EBADF,
            "door_info on a closed descriptor",
        );
    }

    // EBADF: descriptors that name no door.
    for fd in [999, -1, 1_000_000, i32::MAX] {
        expect_err(
            door_info(fd, &mut scratch),
            Errno::EBADF,
            "door_info(bad fd)",
        );
    }
    // EFAULT: the output is not writable user memory.
    let bad: [(usize, &str); 5] = [
        (0, "NULL"),
        (0x1000, "unmapped page"),
        (0xffff_8000_0000_0000, "kernel address"),
        (proc_a as *const () as usize, "program text"),
        (0x0000_7fff_ffff_fff0, "straddling the user-space end"),
    ];
    for (p, what) in bad {
        expect_err(
            door_info(a, p as *mut door_info_t),
            Errno::EFAULT,
            &alloc::format!("door_info(A, {what})"),
        );
    }
    // The failed calls changed nothing.
    expect_info(
        &must_info(a, "A"),
        me,
        pa,
        COOKIE_A,
        DOOR_LOCAL | DOOR_IS_UNREF,
        "A at the end",
    );

    for fd in fds {
        check!(close(fd) == 0, "close({fd})");
    }
    true
}
