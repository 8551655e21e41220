//! Cancellation and death: what happens when either side of a call goes
//! away.
//!
//! - A: a client process exits while its call is being served: the serving
//!   thread's door_cancelled() returns 1 (0 with DOOR_NO_CANCEL), and its
//!   door_return discards the results (a DOOR_RELEASE descriptor among them
//!   is closed) without error: the thread parks and serves the next call.
//! - B: door_abort(tid) from another thread of the client: the same for
//!   the server, EINTR for the aborted caller; EAGAIN when the caller was
//!   still waiting for a server thread; ESRCH / EINVAL errors.
//! - C: a server process exits mid-call: the caller being served gets
//!   EINTR, a caller waiting for a server thread gets EBADF, later calls
//!   get EBADF, door_info reports di_target == -1 (and DOOR_REVOKED).
//! - D: a server procedure that returns instead of calling door_return:
//!   its caller (another process) gets EINTR, the thread is gone, and the
//!   server process serves the next call.
//! - E: door_revoke while callers wait (two local threads and a child
//!   process): all get EBADF; a call already running completes normally.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};
use userland::Errno;
use userland::door::safe::Door;
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_IS_UNREF, DOOR_NO_CANCEL, DOOR_PRIVATE, DOOR_RELEASE, DOOR_REVOKED,
    close, door_abort, door_bind, door_cancelled, door_create, door_desc_t, door_info, door_info_t,
    door_return, door_revoke, door_server_create, dup, errno,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_death";
const PATIENCE: u64 = 1000;

fn settle() {
    process::sleep_ticks(30);
}

/// A call's outcome: Ok(reply bytes) or Err(errno).
fn call(fd: i32, msg: &[u8]) -> Result<Vec<u8>, Errno> {
    Door::from_fd(fd).call(msg, &[]).map(|r| r.data)
}

fn info(fd: i32) -> door_info_t {
    let mut i = door_info_t::default();
    check!(
        door_info(fd, &mut i) == 0,
        "door_info({fd}): {}",
        errno().name()
    );
    i
}

extern "C" fn no_threads(_dip: *mut door_info_t) {}

/// Starts a server thread (bound to `bind` if not -1) parked in door_return.
fn spawn_server(bind: i32) -> u32 {
    thread::spawn(move || {
        if bind >= 0 {
            check!(
                door_bind(bind) == 0,
                "door_bind({bind}): {}",
                errno().name()
            );
        }
        door_return(null_mut(), 0, null_mut(), 0);
        check!(
            false,
            "door_return of a new server thread: {}",
            errno().name()
        );
        0
    })
    .expect("spawn server thread")
    .tid()
}

// ---------------------------------------------------------------------------
// The control door: handshakes with child processes.
// ---------------------------------------------------------------------------

const OP_STATUS: u8 = 0; // -> [a call on K/K_NC is being served]
const OP_DEPOSIT: u8 = 1; // with one descriptor: X of the dying server
const OP_X_WORKING: u8 = 2; // the dying server serves the first call
const OP_MAY_DIE: u8 = 3; // -> [1 when the dying server may exit]

static X_FD: AtomicI32 = AtomicI32::new(-1);
static X_WORKING: AtomicBool = AtomicBool::new(false);
static MAY_DIE: AtomicBool = AtomicBool::new(false);

extern "C" fn control(_c: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    // SAFETY: the kernel laid out `size` bytes at `argp`, `n` entries at `dp`.
    let (args, descs) = unsafe {
        (
            core::slice::from_raw_parts(argp, size),
            if n == 0 {
                &[][..]
            } else {
                core::slice::from_raw_parts(dp, n as usize)
            },
        )
    };
    let mut out = [0u8; 1];
    match args.first().copied() {
        Some(OP_STATUS) => out[0] = WORKING.load(SeqCst) as u8,
        Some(OP_DEPOSIT) if descs.len() == 1 => X_FD.store(descs[0].d_descriptor, SeqCst),
        Some(OP_X_WORKING) => X_WORKING.store(true, SeqCst),
        Some(OP_MAY_DIE) => out[0] = MAY_DIE.load(SeqCst) as u8,
        _ => check!(false, "control: bad request {args:?} with {n} descriptors"),
    }
    door_return(out.as_mut_ptr(), 1, null_mut(), 0);
    check!(false, "control: door_return failed: {}", errno().name());
}

// ---------------------------------------------------------------------------
// A and B: abandoned calls on K (cancellable) and K_NC (DOOR_NO_CANCEL).
// ---------------------------------------------------------------------------

/// The invocation on K/K_NC: being served; its client is gone; what
/// door_cancelled() said then; door_return came back (an error).
static WORKING: AtomicBool = AtomicBool::new(false);
static GONE: AtomicBool = AtomicBool::new(false);
static CANCELLED: AtomicI32 = AtomicI32::new(-2);
static RETURN_FAILED: AtomicU32 = AtomicU32::new(0);
/// A door passed back with DOOR_RELEASE in the discarded results.
static REL_FD: AtomicI32 = AtomicI32::new(-1);

const OP_WORK: u8 = 1;

extern "C" fn worker(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    let tid = thread::gettid();
    if args.first() != Some(&OP_WORK) {
        door_return(&tid as *const u32 as *mut u8, 4, null_mut(), 0);
        return;
    }
    check!(
        door_cancelled() == 0,
        "door_cancelled() is 1 while the client still waits"
    );
    WORKING.store(true, SeqCst);
    let gone = wait_until(PATIENCE, || GONE.load(SeqCst));
    check!(gone, "the client never went away");
    CANCELLED.store(door_cancelled(), SeqCst);
    // Results with a DOOR_RELEASE descriptor: nobody receives them.
    let rel = dup(REL_FD.load(SeqCst));
    let mut desc = [door_desc_t::new(rel, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    door_return(&tid as *const u32 as *mut u8, 4, desc.as_mut_ptr(), 1);
    RETURN_FAILED.fetch_add(1, SeqCst);
    fail(format_args!(
        "door_return after the client left failed: {}",
        errno().name()
    ));
}

#[derive(Clone, Copy, PartialEq)]
enum Leave {
    ProcessExit,
    Abort,
}

/// Runs one abandoned call on `fd` (served only by `server_tid`), checks
/// door_cancelled() == `want` and the discarded door_return.
fn abandoned(fd: i32, ctl: i32, server_tid: u32, leave: Leave, want: i32, what: &str) {
    WORKING.store(false, SeqCst);
    GONE.store(false, SeqCst);
    CANCELLED.store(-2, SeqCst);
    let rel = REL_FD.load(SeqCst);
    match leave {
        Leave::ProcessExit => {
            let pid = process::spawn_with_fds(P, &["victim"], &[fd, ctl]).expect("spawn victim");
            let (_, st) = process::wait(Some(pid)).expect("wait victim");
            check!(
                st == 3,
                "{what}: victim exited with {st}, expected 3 (exit mid-call)"
            );
        }
        Leave::Abort => {
            let caller = thread::spawn(move || match call(fd, &[OP_WORK]) {
                Ok(_) => 0,
                Err(e) => u64::from(e.code()),
            })
            .expect("spawn caller");
            check!(
                wait_until(PATIENCE, || WORKING.load(SeqCst)),
                "{what}: never served"
            );
            let r = door_abort(caller.tid());
            check!(r == 0, "{what}: door_abort: {}", errno().name());
            let e = Errno::from_code(caller.join().unwrap_or(0) as u16);
            check!(
                e == Errno::EINTR,
                "{what}: the aborted caller got {}, expected EINTR",
                e.name()
            );
        }
    }
    GONE.store(true, SeqCst);
    check!(
        wait_until(PATIENCE, || CANCELLED.load(SeqCst) != -2),
        "{what}: server never checked"
    );
    let got = CANCELLED.load(SeqCst);
    check!(
        got == want,
        "{what}: door_cancelled() returned {got}, expected {want}"
    );
    // The results were discarded: the released descriptor is closed, so
    // the door has one reference again.
    let closed = wait_until(PATIENCE, || info(rel).di_attributes & DOOR_IS_UNREF != 0);
    check!(
        closed,
        "{what}: the DOOR_RELEASE descriptor of discarded results was not closed"
    );
    // The only server thread parked again: it serves the next call.
    match call(fd, &[0]) {
        Ok(d) => check!(
            d == server_tid.to_le_bytes(),
            "{what}: next call served by {d:?}, expected thread {server_tid}"
        ),
        Err(e) => check!(false, "{what}: next call failed: {}", e.name()),
    }
    check!(
        RETURN_FAILED.load(SeqCst) == 0,
        "{what}: door_return failed"
    );
}

/// Child: descriptors 0 = K or K_NC, 1 = control. Calls 0 on a thread,
/// exits with 3 while that call is being served.
fn victim() -> i32 {
    let _caller = thread::spawn(|| {
        let r = call(0, &[OP_WORK]);
        println!("{P}: FAIL: victim's call returned {r:?}");
        process::exit(9)
    })
    .expect("spawn");
    let served = wait_until(PATIENCE, || call(1, &[OP_STATUS]) == Ok(alloc::vec![1]));
    if !served {
        println!("{P}: FAIL: victim's call never served");
        return 1;
    }
    process::exit(3)
}

// ---------------------------------------------------------------------------
// C: a server process that dies mid-call.
// ---------------------------------------------------------------------------

extern "C" fn x_proc(_c: *mut c_void, _a: *mut u8, _s: usize, _dp: *mut door_desc_t, _n: u32) {
    let _ = call(0, &[OP_X_WORKING]);
    let told = wait_until(PATIENCE, || call(0, &[OP_MAY_DIE]) == Ok(alloc::vec![1]));
    if !told {
        println!("{P}: FAIL: dying server never told to die");
    }
    process::exit(5)
}

/// Child: descriptor 0 = control. Serves door X with one thread and dies
/// in the middle of its first call.
fn dying_server() -> i32 {
    door_server_create(Some(no_threads));
    let x = door_create(x_proc, null_mut(), 0);
    spawn_server(-1);
    let d = [door_desc_t::new(x, DOOR_DESCRIPTOR)];
    if Door::from_fd(0).call(&[OP_DEPOSIT], &d).is_err() {
        return 1;
    }
    process::sleep_ticks(2 * PATIENCE);
    println!("{P}: FAIL: dying server still alive");
    1
}

// ---------------------------------------------------------------------------
// D and E: procedures that return, revocation.
// ---------------------------------------------------------------------------

const OP_RETURN: u8 = 1; // the procedure returns without door_return
const OP_HOLD: u8 = 2;
static HOLD_STARTED: AtomicBool = AtomicBool::new(false);
static HOLD_RELEASE: AtomicBool = AtomicBool::new(false);
/// The thread whose procedure returned without door_return.
static RETURNED_TID: AtomicU32 = AtomicU32::new(0);

extern "C" fn plain(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    match args.first().copied() {
        Some(OP_RETURN) => {
            RETURNED_TID.store(thread::gettid(), SeqCst);
            return;
        }
        Some(OP_HOLD) => {
            HOLD_STARTED.store(true, SeqCst);
            check!(
                wait_until(PATIENCE, || HOLD_RELEASE.load(SeqCst)),
                "held call never released"
            );
        }
        _ => {}
    }
    let tid = thread::gettid();
    door_return(&tid as *const u32 as *mut u8, 4, null_mut(), 0);
    check!(false, "door_return failed: {}", errno().name());
}

/// Child: descriptor 0 = R. The first call's procedure returns without
/// door_return; the second is served normally.
fn ret_client() -> i32 {
    let first = call(0, &[OP_RETURN]);
    check!(
        first == Err(Errno::EINTR),
        "call whose procedure returned: {first:?}, expected Err(EINTR)"
    );
    if let Err(e) = first {
        println!(
            "{P}: a procedure that returned gave its caller {}",
            e.name()
        );
    }
    let second = call(0, &[0]);
    check!(
        second.as_ref().is_ok_and(|d| d.len() == 4),
        "next call: {second:?}"
    );
    (failures() != 0) as i32
}

/// Child: descriptor 0 = W (no server thread). Exits 0 if its call fails
/// with EBADF.
fn waiter() -> i32 {
    let r = call(0, &[0]);
    if r == Err(Errno::EBADF) {
        0
    } else {
        println!("{P}: FAIL: waiting child's call on a revoked door: {r:?}, expected EBADF");
        1
    }
}

fn main() -> i32 {
    match arg(1) {
        Some("victim") => return victim(),
        Some("dying_server") => return dying_server(),
        Some("ret_client") => return ret_client(),
        Some("waiter") => return waiter(),
        _ => {}
    }
    door_server_create(Some(no_threads));
    let ctl = door_create(control, null_mut(), 0);
    let rel = door_create(plain, null_mut(), 0);
    REL_FD.store(rel, SeqCst);
    let k = door_create(worker, null_mut(), DOOR_PRIVATE);
    let k_nc = door_create(worker, null_mut(), DOOR_PRIVATE | DOOR_NO_CANCEL);
    check!(ctl >= 0 && rel >= 0 && k >= 0 && k_nc >= 0, "door_create");
    for _ in 0..3 {
        spawn_server(-1);
    }
    let tk = spawn_server(k);
    let tnc = spawn_server(k_nc);

    // A: the client process exits mid-call.
    abandoned(k, ctl, tk, Leave::ProcessExit, 1, "client exit, K");
    abandoned(k_nc, ctl, tnc, Leave::ProcessExit, 0, "client exit, K_NC");
    println!("{P}: A (client process exits mid-call: cancellation notice, results discarded) done");

    // B: door_abort by another thread of the client.
    abandoned(k, ctl, tk, Leave::Abort, 1, "door_abort, K");
    abandoned(k_nc, ctl, tnc, Leave::Abort, 0, "door_abort, K_NC");
    let w = door_create(plain, null_mut(), DOOR_PRIVATE);
    let waiting = thread::spawn(move || match call(w, &[0]) {
        Ok(_) => 0,
        Err(e) => u64::from(e.code()),
    })
    .expect("spawn");
    // Until the thread is blocked in its door_call, door_abort says EINVAL.
    let aborted = wait_until(PATIENCE, || {
        let r = door_abort(waiting.tid());
        check!(
            r == 0 || errno() == Errno::EINVAL,
            "door_abort of a waiting caller: {}",
            errno().name()
        );
        r == 0
    });
    check!(
        aborted,
        "door_abort never found the caller in its door_call"
    );
    let e = Errno::from_code(waiting.join().unwrap_or(0) as u16);
    check!(
        e == Errno::EAGAIN,
        "aborted waiting caller got {}, expected EAGAIN",
        e.name()
    );
    let r = door_abort(thread::gettid());
    check!(
        r == -1 && errno() == Errno::EINVAL,
        "door_abort of a thread not in a door_call: {r} {}",
        errno().name()
    );
    let r = door_abort(tk);
    check!(
        r == -1 && errno() == Errno::EINVAL,
        "door_abort of a parked server thread: {r} {}",
        errno().name()
    );
    let r = door_abort(0x7fff_fff0);
    check!(
        r == -1 && errno() == Errno::ESRCH,
        "door_abort of no thread: {r} {}",
        errno().name()
    );
    check!(close(w) == 0, "close W");
    println!("{P}: B (door_abort: EINTR served, EAGAIN waiting, ESRCH/EINVAL) done");

    // C: the server process dies mid-call.
    let pid = process::spawn_with_fds(P, &["dying_server"], &[ctl]).expect("spawn dying server");
    check!(
        wait_until(PATIENCE, || X_FD.load(SeqCst) >= 0),
        "the dying server never sent its door"
    );
    let x = X_FD.load(SeqCst);
    let a = thread::spawn(move || call(x, &[0]).err().map_or(0, |e| u64::from(e.code())))
        .expect("spawn");
    check!(
        wait_until(PATIENCE, || X_WORKING.load(SeqCst)),
        "the dying server never served"
    );
    let b = thread::spawn(move || call(x, &[0]).err().map_or(0, |e| u64::from(e.code())))
        .expect("spawn");
    settle();
    MAY_DIE.store(true, SeqCst);
    let (_, st) = process::wait(Some(pid)).expect("wait dying server");
    check!(st == 5, "dying server exited with {st}, expected 5");
    let ea = Errno::from_code(a.join().unwrap_or(0) as u16);
    let eb = Errno::from_code(b.join().unwrap_or(0) as u16);
    check!(
        ea == Errno::EINTR,
        "caller being served when the server died got {}, expected EINTR",
        ea.name()
    );
    check!(
        eb == Errno::EBADF,
        "caller waiting when the server died got {}, expected EBADF",
        eb.name()
    );
    let later = call(x, &[0]);
    check!(
        later == Err(Errno::EBADF),
        "call after the server died: {later:?}, expected EBADF"
    );
    let xi = info(x);
    check!(
        { xi.di_target } == -1,
        "door_info after the server died: di_target {}",
        { xi.di_target }
    );
    check!(
        xi.di_attributes & DOOR_REVOKED != 0,
        "door_info after the server died lacks DOOR_REVOKED"
    );
    check!(close(x) == 0, "close X");
    println!(
        "{P}: C (server dies mid-call: EINTR, EBADF for waiting and later calls, di_target -1) done"
    );

    // D: a procedure that returns instead of calling door_return.
    let r = door_create(plain, null_mut(), 0);
    let pid = process::spawn_with_fds(P, &["ret_client"], &[r]).expect("spawn ret_client");
    let (_, st) = process::wait(Some(pid)).expect("wait ret_client");
    check!(st == 0, "ret_client exited with {st}");
    match call(r, &[0]) {
        Ok(d) => check!(d.len() == 4, "local call after D: {d:?}"),
        Err(e) => check!(false, "local call after D: {}", e.name()),
    }
    // The thread that returned from its procedure has ended.
    let gone = RETURNED_TID.load(SeqCst);
    let r = door_abort(gone);
    check!(
        gone != 0 && r == -1 && errno() == Errno::ESRCH,
        "thread {gone} whose procedure returned: door_abort gives {r} {} (ESRCH expected: thread gone)",
        errno().name()
    );
    println!("{P}: D (procedure returning without door_return) done");

    // E: revoke while callers wait; a running call completes.
    let w = door_create(plain, null_mut(), DOOR_PRIVATE);
    let locals: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || call(w, &[0]).err().map_or(0, |e| u64::from(e.code())))
                .expect("spawn")
        })
        .collect();
    let pid = process::spawn_with_fds(P, &["waiter"], &[w]).expect("spawn waiter");
    settle();
    check!(door_revoke(w) == 0, "door_revoke(W): {}", errno().name());
    for (i, h) in locals.into_iter().enumerate() {
        let e = Errno::from_code(h.join().unwrap_or(0) as u16);
        check!(
            e == Errno::EBADF,
            "waiting local caller {i} after revoke got {}, expected EBADF",
            e.name()
        );
    }
    let (_, st) = process::wait(Some(pid)).expect("wait waiter");
    check!(st == 0, "waiting child exited with {st}");
    let v = door_create(plain, null_mut(), 0);
    let v2 = dup(v);
    let running =
        thread::spawn(move || call(v, &[OP_HOLD]).map_or(0, |d| d.len() as u64)).expect("spawn");
    check!(
        wait_until(PATIENCE, || HOLD_STARTED.load(SeqCst)),
        "held call on V never started"
    );
    check!(door_revoke(v) == 0, "door_revoke(V): {}", errno().name());
    HOLD_RELEASE.store(true, SeqCst);
    check!(
        running.join() == Ok(4),
        "a call running during door_revoke did not complete normally"
    );
    let later = call(v2, &[0]);
    check!(
        later == Err(Errno::EBADF),
        "call on a revoked door: {later:?}, expected EBADF"
    );
    let vi = info(v2);
    check!(
        vi.di_attributes & DOOR_REVOKED != 0 && { vi.di_target } == process::getpid() as i32,
        "door_info of revoked V: attributes {:#x}, target {}",
        { vi.di_attributes },
        { vi.di_target }
    );
    check!(close(v2) == 0, "close V dup");
    println!("{P}: E (revoke wakes waiting callers with EBADF, running call completes) done");

    testkit::verdict(true)
}
