//! Server pools: the process's shared pool and one private pool per
//! DOOR_PRIVATE door (door_bind(3C)).
//!
//! The server process installs a door_server_create procedure that starts
//! no thread, so the test decides exactly which threads serve: T1 bound to
//! P1, T2 bound to P2, T3 (and later T4) in the shared pool. Every server
//! procedure reports gettid() and checks that the thread belongs to the
//! pool the door must use. Phases:
//! - A: errors: EBADF (not a door; a revoked door), EINVAL (not private;
//!   another process's door, in the child), door_unbind when not bound
//!   EBADF; binding to another door unbinds implicitly (door_info
//!   (DOOR_QUERY) names the bound door).
//! - B: each door is served by its own pool, from this process and from a
//!   child process.
//! - C: a call on the shared door waits while the shared pool is busy, even
//!   with idle bound threads; a new shared thread serves it.
//! - D: a call on a private door waits while its bound thread is busy, even
//!   with idle shared threads; it runs once the bound thread parks again.
//! - E: door_bind during an invocation takes effect at the thread's next
//!   door_return (the thread leaves the shared pool for P2's).
//! - F: door_unbind during an invocation: back to the shared pool.
//! - G: a thread that binds P1 then P2 serves P2 only.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering::SeqCst};
use spin::Mutex;
use userland::Errno;
use userland::door::safe::Door;
use userland::door::{
    DOOR_LOCAL, DOOR_PRIVATE, DOOR_QUERY, DOOR_REVOKED, door_bind, door_create, door_desc_t,
    door_info, door_info_t, door_return, door_revoke, door_server_create, door_unbind, dup, errno,
};
use userland::testkit::{self, *};
use userland::thread::JoinHandle;
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_bind";
const PATIENCE: u64 = 1000;

/// Tags of the doors (their cookies) and of the pools.
const SHARED: u8 = b'S';
const PRIV1: u8 = b'1';
const PRIV2: u8 = b'2';

/// Operations a call asks of the server procedure (first argument byte).
const OP_TID: u8 = 0;
const OP_BIND: u8 = 1; // second byte: door tag
const OP_UNBIND: u8 = 2;
const OP_HOLD: u8 = 3; // second byte: hold key

static S_FD: AtomicI32 = AtomicI32::new(-1);
static P1_FD: AtomicI32 = AtomicI32::new(-1);
static P2_FD: AtomicI32 = AtomicI32::new(-1);

/// Which pool each server thread is in (what the server procedures check).
static POOL_OF: Mutex<BTreeMap<u32, u8>> = Mutex::new(BTreeMap::new());
static CREATE_CALLS: AtomicU32 = AtomicU32::new(0);
/// Held invocations: started and released bits by key.
static STARTED: AtomicU32 = AtomicU32::new(0);
static RELEASED: AtomicU32 = AtomicU32::new(0);

fn fd_of(tag: u8) -> i32 {
    match tag {
        SHARED => S_FD.load(SeqCst),
        PRIV1 => P1_FD.load(SeqCst),
        PRIV2 => P2_FD.load(SeqCst),
        _ => -1,
    }
}

/// The create procedure: counts, starts nothing (the test starts threads).
extern "C" fn no_threads(_info: *mut door_info_t) {
    CREATE_CALLS.fetch_add(1, SeqCst);
}

/// The server procedure of all three doors (the cookie is the door's tag).
/// Replies `[door tag, op result (errno or 0), pool violation, tid x4]`.
extern "C" fn server(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    let door = cookie as usize as u8;
    let tid = thread::gettid();
    let pool = POOL_OF.lock().get(&tid).copied().unwrap_or(0);
    let wrong_pool = pool != door;
    if wrong_pool {
        fail(format_args!(
            "thread {tid} of pool {:?} serves door {:?}",
            pool as char, door as char
        ));
    }
    // The door being served, as door_info(DOOR_QUERY) reports it.
    let mut q = door_info_t::default();
    let mut d = door_info_t::default();
    let same = door_info(DOOR_QUERY, &mut q) == 0 && door_info(fd_of(door), &mut d) == 0 && {
        q.di_uniquifier
    } == {
        d.di_uniquifier
    };
    check!(
        same,
        "door_info(DOOR_QUERY) in an invocation of {:?} names another door",
        door as char
    );
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    let mut res = 0u8;
    match (args.first().copied(), args.get(1).copied()) {
        (Some(OP_BIND), Some(target)) => {
            if door_bind(fd_of(target)) == 0 {
                POOL_OF.lock().insert(tid, target);
            } else {
                res = errno().code() as u8;
            }
        }
        (Some(OP_UNBIND), _) => {
            if door_unbind() == 0 {
                POOL_OF.lock().insert(tid, SHARED);
            } else {
                res = errno().code() as u8;
            }
        }
        (Some(OP_HOLD), Some(key)) => {
            STARTED.fetch_or(1 << key, SeqCst);
            let released = wait_until(PATIENCE, || RELEASED.load(SeqCst) & (1 << key) != 0);
            check!(released, "held call {key} never released");
        }
        _ => {}
    }
    let mut out = [0u8; 7];
    out[0] = door;
    out[1] = res;
    out[2] = wrong_pool as u8;
    out[3..].copy_from_slice(&tid.to_le_bytes());
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
    check!(false, "door_return failed: {}", errno().name());
}

/// A successful call's reply: (door tag, op result, tid).
type Served = (u8, u8, u32);

fn call(fd: i32, msg: &[u8]) -> Result<Served, Errno> {
    let r = Door::from_fd(fd).call(msg, &[])?;
    if r.data.len() != 7 {
        fail(format_args!("reply of {} bytes", r.data.len()));
        return Err(Errno::EIO);
    }
    Ok((
        r.data[0],
        r.data[1],
        u32::from_le_bytes(r.data[3..7].try_into().unwrap()),
    ))
}

/// Calls `fd` and returns the serving thread, checking the door and result.
fn call_tid(fd: i32, msg: &[u8], what: &str) -> u32 {
    match call(fd, msg) {
        Ok((_, res, tid)) => {
            check!(
                res == 0,
                "{what}: operation failed with {}",
                Errno::from_code(u16::from(res)).name()
            );
            tid
        }
        Err(e) => {
            check!(false, "{what}: door_call failed: {}", e.name());
            0
        }
    }
}

/// Starts a server thread bound (in order) to the doors `binds`, parked in
/// door_return. Returns its tid.
fn spawn_server(binds: &'static [u8]) -> u32 {
    let h = thread::spawn(move || {
        let tid = thread::gettid();
        let mut pool = SHARED;
        for &b in binds {
            let r = door_bind(fd_of(b));
            check!(
                r == 0,
                "door_bind({:?}) failed: {}",
                b as char,
                errno().name()
            );
            // door_info(DOOR_QUERY) on a bound thread that serves nothing
            // names the bound door: the newest binding replaced the older.
            let mut q = door_info_t::default();
            let mut d = door_info_t::default();
            let ok = door_info(DOOR_QUERY, &mut q) == 0 && door_info(fd_of(b), &mut d) == 0 && {
                q.di_uniquifier
            }
                == { d.di_uniquifier };
            check!(
                ok,
                "after door_bind({:?}), door_info(DOOR_QUERY) names another door",
                b as char
            );
            pool = b;
        }
        POOL_OF.lock().insert(tid, pool);
        door_return(null_mut(), 0, null_mut(), 0);
        check!(
            false,
            "door_return of a new server thread failed: {}",
            errno().name()
        );
        0
    })
    .expect("spawn server thread");
    h.tid()
}

/// Results of calls made on other threads, by slot.
static DONE: [AtomicBool; 8] = [const { AtomicBool::new(false) }; 8];
static RESULT: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// Calls `fd` with `msg` from a new thread; the result lands in `slot`.
fn call_async(slot: usize, fd: i32, msg: Vec<u8>) -> JoinHandle {
    DONE[slot].store(false, SeqCst);
    thread::spawn(move || {
        let v = match call(fd, &msg) {
            Ok((tag, res, tid)) => (u64::from(tag) << 40) | (u64::from(res) << 32) | u64::from(tid),
            Err(e) => (1 << 63) | u64::from(e.code()),
        };
        RESULT[slot].store(v, SeqCst);
        DONE[slot].store(true, SeqCst);
        0
    })
    .expect("spawn caller")
}

/// Waits for the call in `slot`; returns the serving thread (0 on error).
fn finish(slot: usize, h: JoinHandle, what: &str) -> u32 {
    h.join().expect("join caller");
    let v = RESULT[slot].load(SeqCst);
    if v >> 63 != 0 {
        check!(
            false,
            "{what}: door_call failed: {}",
            Errno::from_code(v as u16).name()
        );
        return 0;
    }
    check!((v >> 32) & 0xff == 0, "{what}: operation failed");
    v as u32
}

/// Starts a held call (OP_HOLD with `key`) and waits until it is being served.
fn hold(slot: usize, fd: i32, key: u8) -> JoinHandle {
    let h = call_async(slot, fd, alloc::vec![OP_HOLD, key]);
    let started = wait_until(PATIENCE, || STARTED.load(SeqCst) & (1 << key) != 0);
    check!(started, "held call {key} never started");
    h
}

fn release(key: u8) {
    RELEASED.fetch_or(1 << key, SeqCst);
}

/// Lets other threads run for a while (they block if they must wait).
fn settle() {
    process::sleep_ticks(20);
}

fn main() -> i32 {
    if arg(1) == Some("child") {
        return child();
    }
    let prev = door_server_create(Some(no_threads));
    check!(
        prev.is_none(),
        "door_server_create: the first call must return the default (None)"
    );
    let s = door_create(server, SHARED as usize as *mut c_void, 0);
    let p1 = door_create(server, PRIV1 as usize as *mut c_void, DOOR_PRIVATE);
    let p2 = door_create(server, PRIV2 as usize as *mut c_void, DOOR_PRIVATE);
    check!(s >= 0 && p1 >= 0 && p2 >= 0, "door_create: {s} {p1} {p2}");
    S_FD.store(s, SeqCst);
    P1_FD.store(p1, SeqCst);
    P2_FD.store(p2, SeqCst);

    // Phase A: errors, on the main thread (not a server thread).
    expect_err(
        door_bind(77),
        Errno::EBADF,
        "door_bind on a descriptor that is not open",
    );
    expect_err(
        door_bind(s),
        Errno::EINVAL,
        "door_bind on a door without DOOR_PRIVATE",
    );
    expect_err(door_unbind(), Errno::EBADF, "door_unbind when not bound");
    let p3 = door_create(server, b'3' as usize as *mut c_void, DOOR_PRIVATE);
    let p3_dup = dup(p3);
    check!(p3 >= 0 && p3_dup >= 0, "door_create/dup of P3");
    check!(door_revoke(p3) == 0, "door_revoke(P3): {}", errno().name());
    let mut info = door_info_t::default();
    check!(
        door_info(p3_dup, &mut info) == 0 && info.di_attributes & DOOR_REVOKED != 0,
        "door_info of revoked P3 lacks DOOR_REVOKED"
    );
    expect_err(
        door_bind(p3_dup),
        Errno::EBADF,
        "door_bind on a revoked private door",
    );
    expect_err(
        door_bind(p3),
        Errno::EBADF,
        "door_bind on the descriptor door_revoke closed",
    );
    check!(userland::door::close(p3_dup) == 0, "close P3 dup");
    // Binding P1 then P2: the second replaces the first (one unbind
    // suffices, and DOOR_QUERY names P2).
    check!(door_bind(p1) == 0, "door_bind(P1): {}", errno().name());
    check!(
        door_bind(p2) == 0,
        "door_bind(P2) while bound to P1: {}",
        errno().name()
    );
    let mut q = door_info_t::default();
    let mut d2 = door_info_t::default();
    check!(
        door_info(DOOR_QUERY, &mut q) == 0 && door_info(p2, &mut d2) == 0 && { q.di_uniquifier }
            == { d2.di_uniquifier },
        "door_info(DOOR_QUERY) after binding P1 then P2 does not name P2"
    );
    check!(
        door_unbind() == 0,
        "door_unbind after rebinding: {}",
        errno().name()
    );
    expect_err(
        door_unbind(),
        Errno::EBADF,
        "second door_unbind (binding to P2 had replaced P1's)",
    );
    expect_err(
        door_info(DOOR_QUERY, &mut q),
        Errno::EBADF,
        "door_info(DOOR_QUERY) on a thread neither serving nor bound",
    );
    println!("{P}: phase A (bind/unbind errors, implicit unbind) done");

    // Phase B: one thread per pool; each door served by its pool only.
    let t1 = spawn_server(&[PRIV1]);
    let t2 = spawn_server(&[PRIV2]);
    let t3 = spawn_server(&[]);
    for round in 0..3 {
        let got = [
            call_tid(p1, &[OP_TID], "P1"),
            call_tid(p2, &[OP_TID], "P2"),
            call_tid(s, &[OP_TID], "S"),
        ];
        check!(
            got == [t1, t2, t3],
            "round {round}: P1, P2, S served by {got:?}, expected {:?}",
            [t1, t2, t3]
        );
    }
    let args: [String; 3] = [format!("{t1}"), format!("{t2}"), format!("{t3}")];
    let pid = process::spawn_with_fds(P, &["child", &args[0], &args[1], &args[2]], &[s, p1, p2])
        .expect("spawn child");
    let (_, status) = process::wait(Some(pid)).expect("wait child");
    check!(status == 0, "child exited with {status}");
    println!("{P}: phase B (each door served by its own pool, locally and from a child) done");

    // Phase C: the shared pool is busy; idle bound threads do not serve S.
    let h0 = hold(0, s, 0);
    let h1 = call_async(1, s, alloc::vec![OP_TID]);
    settle();
    check!(
        call_tid(p1, &[OP_TID], "P1 in C") == t1,
        "P1 not served by T1 in phase C"
    );
    check!(
        call_tid(p2, &[OP_TID], "P2 in C") == t2,
        "P2 not served by T2 in phase C"
    );
    settle();
    check!(
        !DONE[1].load(SeqCst),
        "a call on the shared door completed while the only shared thread was busy"
    );
    let t4 = spawn_server(&[]);
    let got = finish(1, h1, "waiting S call");
    check!(
        got == t4,
        "the waiting S call was served by {got}, expected the new shared thread {t4}"
    );
    release(0);
    let got = finish(0, h0, "held S call");
    check!(got == t3, "held S call served by {got}, expected {t3}");
    println!("{P}: phase C (shared door waits for a shared thread) done");

    // Phase D: P1's thread is busy; idle shared threads do not serve P1.
    let h0 = hold(0, p1, 1);
    let h1 = call_async(1, p1, alloc::vec![OP_TID]);
    settle();
    let got = call_tid(s, &[OP_TID], "S in D");
    check!(
        got == t3 || got == t4,
        "S in phase D served by {got}, not a shared thread"
    );
    check!(
        call_tid(p2, &[OP_TID], "P2 in D") == t2,
        "P2 not served by T2 in phase D"
    );
    settle();
    check!(
        !DONE[1].load(SeqCst),
        "a call on P1 completed while P1's only bound thread was busy"
    );
    release(1);
    let got = finish(0, h0, "held P1 call");
    check!(got == t1, "held P1 call served by {got}, expected {t1}");
    let got = finish(1, h1, "waiting P1 call");
    check!(
        got == t1,
        "waiting P1 call served by {got}, expected {t1} once it parked"
    );
    println!("{P}: phase D (private door waits for its bound thread) done");

    // Phase E: a shared thread binds to P2 while serving; from its next
    // door_return it is in P2's pool.
    let bind_p2 = [OP_BIND, PRIV2];
    let (tag, res, tx) = call(s, &bind_p2).unwrap_or((0, 0xff, 0));
    check!(
        tag == SHARED && res == 0,
        "S op bind(P2): tag {tag} result {res}"
    );
    check!(
        tx == t3 || tx == t4,
        "bind(P2) served by {tx}, not a shared thread"
    );
    let ty = if tx == t3 { t4 } else { t3 };
    for _ in 0..3 {
        let got = call_tid(s, &[OP_TID], "S after bind");
        check!(
            got == ty,
            "S served by {got} after {tx} bound to P2 (expected {ty})"
        );
    }
    let h0 = hold(0, p2, 2);
    let h1 = hold(1, p2, 3);
    release(2);
    release(3);
    let mut got = [finish(0, h0, "P2 hold a"), finish(1, h1, "P2 hold b")];
    got.sort_unstable();
    let mut want = [t2, tx];
    want.sort_unstable();
    check!(
        got == want,
        "two concurrent P2 calls served by {got:?}, expected {want:?}"
    );
    println!("{P}: phase E (door_bind takes effect at the next door_return) done");

    // Phase F: a P2 thread unbinds while serving: back in the shared pool.
    let tz = call_tid(p2, &[OP_UNBIND], "P2 op unbind");
    check!(
        tz == t2 || tz == tx,
        "unbind served by {tz}, not a P2 thread"
    );
    let tw = if tz == t2 { tx } else { t2 };
    let h0 = hold(0, s, 4);
    let h1 = hold(1, s, 5);
    release(4);
    release(5);
    let mut got = [finish(0, h0, "S hold a"), finish(1, h1, "S hold b")];
    got.sort_unstable();
    let mut want = [ty, tz];
    want.sort_unstable();
    check!(
        got == want,
        "two concurrent S calls served by {got:?}, expected {want:?}"
    );
    for _ in 0..2 {
        let got = call_tid(p2, &[OP_TID], "P2 after unbind");
        check!(
            got == tw,
            "P2 served by {got} after {tz} unbound (expected {tw})"
        );
    }
    println!("{P}: phase F (door_unbind during an invocation) done");

    // Phase G: a thread that binds P1 then P2 is in P2's pool only.
    let t5 = spawn_server(&[PRIV1, PRIV2]);
    let h0 = hold(0, p1, 6);
    let h1 = call_async(1, p1, alloc::vec![OP_TID]);
    let h2 = hold(2, p2, 7);
    let h3 = hold(3, p2, 8);
    settle();
    check!(
        !DONE[1].load(SeqCst),
        "a second P1 call was served: the rebound thread stayed in P1"
    );
    release(7);
    release(8);
    let mut got = [finish(2, h2, "P2 hold c"), finish(3, h3, "P2 hold d")];
    got.sort_unstable();
    let mut want = [tw, t5];
    want.sort_unstable();
    check!(
        got == want,
        "two concurrent P2 calls served by {got:?}, expected {want:?}"
    );
    release(6);
    check!(finish(0, h0, "P1 hold") == t1, "P1 hold not served by T1");
    check!(
        finish(1, h1, "P1 waiting") == t1,
        "waiting P1 call not served by T1"
    );
    println!("{P}: phase G (binding another door unbinds implicitly) done");

    check!(
        CREATE_CALLS.load(SeqCst) > 0,
        "the create procedure was never called"
    );
    testkit::verdict(true)
}

/// The child: descriptors 0 = S, 1 = P1, 2 = P2 of the parent; arguments
/// the parent's T1, T2, T3.
fn child() -> i32 {
    let want: Vec<u32> = (2..5)
        .map(|i| arg(i).and_then(|a| a.parse().ok()).unwrap_or(0))
        .collect();
    for round in 0..3 {
        let got = [
            call_tid(1, &[OP_TID], "child P1"),
            call_tid(2, &[OP_TID], "child P2"),
            call_tid(0, &[OP_TID], "child S"),
        ];
        check!(
            got[..] == want[..],
            "child round {round}: P1, P2, S served by {got:?}, expected {want:?}"
        );
    }
    // Another process's private door: EINVAL; its shared door: EINVAL.
    expect_err(
        door_bind(1),
        Errno::EINVAL,
        "door_bind on another process's private door",
    );
    expect_err(
        door_bind(0),
        Errno::EINVAL,
        "door_bind on another process's shared door",
    );
    expect_err(
        door_unbind(),
        Errno::EBADF,
        "door_unbind in the child (never bound)",
    );
    let mut info = door_info_t::default();
    check!(
        door_info(1, &mut info) == 0
            && info.di_attributes & DOOR_PRIVATE != 0
            && info.di_attributes & DOOR_LOCAL == 0,
        "door_info of the parent's P1 in the child: attributes {:#x}",
        { info.di_attributes }
    );
    (failures() != 0) as i32
}
