//! Unreferenced invocations (DOOR_UNREF, DOOR_UNREF_MULTI of
//! door_create(3C)).
//!
//! - A (DOOR_UNREF): a door that never had more than one reference gets no
//!   notice; after a dup, closing the dup (one reference left) fires it
//!   exactly once, however often that repeats. door_info reports
//!   DOOR_IS_UNREF exactly when one reference exists. Closing the last
//!   descriptor of a door that never had two fires nothing.
//! - In every notice: argp == DOOR_UNREF_DATA, size 0, no descriptors,
//!   door_ucred reports pid 0 (the kernel), door_info(DOOR_QUERY) reports
//!   DOOR_IS_UNREF.
//! - B (DOOR_UNREF_MULTI): five dup/close cycles, five notices.
//! - C: the notice waits until an active call on the door finishes.
//! - D: descriptors closed by a process's exit count: a child holding the
//!   door exits, the notice fires.
//! - E: the notice of a DOOR_PRIVATE door runs on its bound thread.
#![no_std]
#![no_main]

extern crate alloc;

use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use userland::door::safe::Door;
use userland::door::{
    DOOR_IS_UNREF, DOOR_PRIVATE, DOOR_QUERY, DOOR_UNREF, DOOR_UNREF_DATA, DOOR_UNREF_MULTI, close,
    door_bind, door_create, door_desc_t, door_info, door_info_t, door_return, door_ucred, dup,
    errno, ucred_t,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_unref";
const PATIENCE: u64 = 1000;

fn settle() {
    process::sleep_ticks(20);
}

/// Doors by index (the cookie).
const A: usize = 0; // DOOR_UNREF
const A0: usize = 1; // DOOR_UNREF, never dup'd
const B: usize = 2; // DOOR_UNREF_MULTI
const C: usize = 3; // DOOR_UNREF, call active
const D: usize = 4; // DOOR_UNREF_MULTI, held by a child that exits
const E: usize = 5; // DOOR_PRIVATE | DOOR_UNREF
const DOORS: usize = 6;

/// Notices per door, and what the last one saw.
static NOTICES: [AtomicU32; DOORS] = [const { AtomicU32::new(0) }; DOORS];
static NOTICE_TID: [AtomicU32; DOORS] = [const { AtomicU32::new(0) }; DOORS];
static NOTICE_SEQ: [AtomicU64; DOORS] = [const { AtomicU64::new(0) }; DOORS];
/// Global event order (notices and call returns).
static SEQ: AtomicU64 = AtomicU64::new(1);
/// The call on door C: started, may return, returning at SEQ value.
static C_STARTED: AtomicBool = AtomicBool::new(false);
static C_RELEASE: AtomicBool = AtomicBool::new(false);
static C_RETURN_SEQ: AtomicU64 = AtomicU64::new(0);

extern "C" fn server(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    let door = cookie as usize;
    if argp as u64 == DOOR_UNREF_DATA {
        check!(
            size == 0 && dp.is_null() && n == 0,
            "door {door}: notice with size {size}, dp {dp:?}, {n} descriptors"
        );
        let mut cred = ucred_t::default();
        let r = door_ucred(&mut cred);
        check!(
            r == 0,
            "door {door}: door_ucred in a notice failed: {}",
            errno().name()
        );
        check!(
            cred.uc_pid == 0,
            "door {door}: door_ucred in a notice reports pid {}, expected 0 (the kernel)",
            cred.uc_pid
        );
        let mut q = door_info_t::default();
        let r = door_info(DOOR_QUERY, &mut q);
        check!(
            r == 0 && q.di_attributes & DOOR_IS_UNREF != 0 && q.di_data == door as u64,
            "door {door}: door_info(DOOR_QUERY) in a notice: result {r}, door {}, attributes {:#x} (DOOR_IS_UNREF expected)",
            { q.di_data },
            { q.di_attributes }
        );
        NOTICE_TID[door].store(thread::gettid(), SeqCst);
        NOTICE_SEQ[door].store(SEQ.fetch_add(1, SeqCst), SeqCst);
        NOTICES[door].fetch_add(1, SeqCst);
        door_return(null_mut(), 0, null_mut(), 0);
        check!(
            false,
            "door_return after a notice failed: {}",
            errno().name()
        );
        return;
    }
    if door == C {
        C_STARTED.store(true, SeqCst);
        let ok = wait_until(PATIENCE, || C_RELEASE.load(SeqCst));
        check!(ok, "the call on C was never released");
        C_RETURN_SEQ.store(SEQ.fetch_add(1, SeqCst), SeqCst);
    }
    let tid = thread::gettid();
    door_return(&tid as *const u32 as *mut u8, 4, null_mut(), 0);
    check!(false, "door_return failed: {}", errno().name());
}

fn make(door: usize, attrs: u32) -> i32 {
    let fd = door_create(server, door as *mut c_void, attrs);
    check!(fd >= 0, "door_create {door}: {}", errno().name());
    fd
}

fn is_unref(fd: i32) -> bool {
    let mut info = door_info_t::default();
    check!(
        door_info(fd, &mut info) == 0,
        "door_info({fd}): {}",
        errno().name()
    );
    info.di_attributes & DOOR_IS_UNREF != 0
}

fn notices(door: usize) -> u32 {
    NOTICES[door].load(SeqCst)
}

fn expect_notices(door: usize, want: u32, what: &str) {
    if want > notices(door) {
        wait_until(PATIENCE, || notices(door) >= want);
    } else {
        settle();
    }
    check!(
        notices(door) == want,
        "{what}: {} notices, expected {want}",
        notices(door)
    );
}

/// dup then close: the count goes to two and back to one.
fn cycle(fd: i32) {
    let d = dup(fd);
    check!(d >= 0, "dup: {}", errno().name());
    check!(
        !is_unref(fd),
        "door_info reports DOOR_IS_UNREF with two descriptors"
    );
    check!(close(d) == 0, "close: {}", errno().name());
}

fn main() -> i32 {
    if arg(1) == Some("child") {
        // Holds door D as descriptor 0; uses it, then exits without closing.
        let r = Door::from_fd(0).call(&[], &[]);
        return if r.is_ok() { 0 } else { 1 };
    }

    // A: DOOR_UNREF fires once.
    let a = make(A, DOOR_UNREF);
    check!(
        is_unref(a),
        "a new door (one descriptor) lacks DOOR_IS_UNREF"
    );
    expect_notices(A, 0, "A before any dup (never had two references)");
    cycle(a);
    expect_notices(A, 1, "A after the first dup/close");
    check!(
        is_unref(a),
        "A lacks DOOR_IS_UNREF with one descriptor left"
    );
    cycle(a);
    cycle(a);
    expect_notices(
        A,
        1,
        "A after two more dup/close cycles (DOOR_UNREF fires once)",
    );
    let a0 = make(A0, DOOR_UNREF);
    expect_notices(A0, 0, "A0 with its only descriptor");
    check!(close(a0) == 0, "close A0");
    expect_notices(
        A0,
        0,
        "A0 after closing its only descriptor (zero references)",
    );
    println!("{P}: A (DOOR_UNREF once, DOOR_IS_UNREF, notice contents) done");

    // B: DOOR_UNREF_MULTI fires at each drop to one.
    let b = make(B, DOOR_UNREF_MULTI);
    for i in 1..=5 {
        cycle(b);
        expect_notices(B, i, "B dup/close cycle");
    }
    expect_notices(B, 5, "B after five cycles");
    println!("{P}: B (DOOR_UNREF_MULTI five times) done");

    // C: the notice waits for the active call.
    let c = make(C, DOOR_UNREF);
    let c2 = dup(c);
    let caller = thread::spawn(move || Door::from_fd(c).call(&[], &[]).is_ok() as u64)
        .expect("spawn caller");
    check!(
        wait_until(PATIENCE, || C_STARTED.load(SeqCst)),
        "the call on C never started"
    );
    check!(close(c2) == 0, "close C dup");
    expect_notices(C, 0, "C while a call is active");
    C_RELEASE.store(true, SeqCst);
    check!(caller.join() == Ok(1), "the call on C failed");
    expect_notices(C, 1, "C after the call finished");
    check!(
        NOTICE_SEQ[C].load(SeqCst) > C_RETURN_SEQ.load(SeqCst),
        "C's notice ran before the active call returned"
    );
    println!("{P}: C (notice deferred until the active call finished) done");

    // D: a child's exit closes its descriptor.
    let d = make(D, DOOR_UNREF_MULTI);
    let pid = process::spawn_with_fds(P, &["child"], &[d]).expect("spawn child");
    let (_, st) = process::wait(Some(pid)).expect("wait child");
    check!(st == 0, "child exited with {st}");
    expect_notices(D, 1, "D after the child holding it exited");
    println!("{P}: D (process exit counts as a close) done");

    // E: a private door's notice runs on its bound thread.
    let e = make(E, DOOR_PRIVATE | DOOR_UNREF);
    let bound = thread::spawn(move || {
        check!(door_bind(e) == 0, "door_bind(E): {}", errno().name());
        door_return(null_mut(), 0, null_mut(), 0);
        check!(false, "door_return of E's thread: {}", errno().name());
        0
    })
    .expect("spawn bound thread");
    let bound_tid = bound.tid();
    // The bound thread has parked once a call is served by it.
    let served = Door::from_fd(e).call(&[], &[]).map(|r| r.data);
    check!(
        served.as_deref() == Ok(&bound_tid.to_le_bytes()[..]),
        "call on E not served by its bound thread {bound_tid}: {served:?}"
    );
    cycle(e);
    expect_notices(E, 1, "E after dup/close");
    let t = NOTICE_TID[E].load(SeqCst);
    check!(
        t == bound_tid,
        "E's notice ran on thread {t}, expected its bound thread {bound_tid}"
    );
    println!("{P}: E (private door's notice on its bound thread) done");

    for fd in [a, b, c, d, e] {
        check!(close(fd) == 0, "close {fd}");
    }
    testkit::verdict(true)
}
