//! The EXAMPLE programs of door_server_create(3C) and door_bind(3C) as user
//! programs, following the C closely, with a driver around each that calls
//! the doors and checks who served.
//!
//! - role `create`: door_server_create(3C) Example 1: `my_create` makes every
//!   server thread with an 8 KiB stack (`thr_create(NULL, 8192, my_thread,
//!   ...)`) and the thread parks in `door_return(NULL, 0, NULL, 0)`. Three
//!   concurrent callers must each be served by such a thread.
//! - role `bind`: door_bind(3C) Example 1: two DOOR_PRIVATE doors `d1`
//!   (`foo`) and `d2` (`bar`); `my_create` starts a thread running
//!   `my_server_create(dip->di_proc)`, which waits until both doors exist,
//!   records `foo` or `bar` as thread-specific data and binds itself to `d1`
//!   or `d2`. A child process (role `bind_client`) calls both doors from
//!   three threads each at once; `foo` and `bar` check they run on a thread
//!   bound to their own door.
//!
//! POSIX cancellation (`pthread_setcancelstate`) has no counterpart here:
//! this kernel's cancellation notice is `door_cancelled()`, which a server
//! only sees when it asks.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering::SeqCst};
use spin::Mutex;
use userland::door::safe::Door;
use userland::door::{
    DOOR_PRIVATE, DOOR_QUERY, door_bind, door_create, door_desc_t, door_info, door_info_t,
    door_return, door_server_create, errno,
};
use userland::testkit::*;
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_examples";
/// Bound on every wait, in timer ticks (100 Hz).
const PATIENCE: u64 = 1000;

/// Returns `data` to the caller; only comes back if door_return failed.
fn reply(data: &[u8]) {
    let e = door_return(data.as_ptr() as *mut u8, data.len(), null_mut(), 0);
    check!(false, "door_return failed: {e} ({})", errno().name());
}

fn main() -> i32 {
    match arg(1) {
        Some("create") => create_example(),
        Some("bind") => bind_example(),
        Some("bind_client") => bind_client(),
        _ => driver(),
    }
}

fn driver() -> i32 {
    let mut status = 0;
    for role in ["create", "bind"] {
        let pid = process::spawn(P, &[role]).expect("spawn");
        let (_, s) = process::wait(Some(pid)).expect("wait");
        println!("{P}: example `{role}` exited with {s}");
        if s != 0 {
            status = 1;
        }
    }
    if status == 0 {
        println!("{P}: ok");
    }
    status
}

// ---------------------------------------------------------------------------
// door_server_create(3C), Example 1: server threads with an 8k stack.
// ---------------------------------------------------------------------------

/// Stack size the example gives its server threads.
const SMALL_STACK: usize = 8192;
/// Threads `my_create` started, and how many of those failed door_return.
static CREATED: AtomicU32 = AtomicU32::new(0);
static RETURN_FAILED: AtomicU32 = AtomicU32::new(0);
/// Invocations of `echo` running now, and served in total.
static ACTIVE: AtomicU32 = AtomicU32::new(0);
static SERVED: AtomicU32 = AtomicU32::new(0);
const CREATE_CALLERS: u32 = 3;

/// `void *my_thread(void *arg)`.
fn my_thread() -> u64 {
    // pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL): nothing to do.
    door_return(null_mut(), 0, null_mut(), 0);
    // Only reached if door_return failed.
    RETURN_FAILED.fetch_add(1, SeqCst);
    fail(format_args!(
        "door_return on an {SMALL_STACK}-byte server thread stack failed with {}",
        errno().name()
    ));
    0
}

/// `void my_create(door_info_t *dip)`.
extern "C" fn my_create(_dip: *mut door_info_t) {
    CREATED.fetch_add(1, SeqCst);
    // thr_create(NULL, 8192, my_thread, NULL, THR_BOUND | THR_DETACHED, NULL);
    if let Err(e) = thread::spawn_with_stack(SMALL_STACK, my_thread) {
        check!(false, "thr_create of an 8k server thread failed: {e:?}");
    }
}

/// The door's server procedure: runs on a thread `my_create` made, stays
/// until all callers are in (so each needs its own thread), replies with
/// its stack size.
extern "C" fn echo(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let stack = thread::current_stack().1;
    ACTIVE.fetch_add(1, SeqCst);
    let all_in = wait_until(PATIENCE, || ACTIVE.load(SeqCst) >= CREATE_CALLERS);
    SERVED.fetch_add(1, SeqCst);
    // SAFETY: the kernel laid out `size` argument bytes at `argp`.
    let arg = unsafe { core::slice::from_raw_parts(argp, size) };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&(stack as u64).to_le_bytes());
    out[8] = arg.first().copied().unwrap_or(0xff);
    out[9] = all_in as u8;
    reply(&out);
}

fn create_example() -> i32 {
    // (void) door_server_create(my_create);
    let old = door_server_create(Some(my_create));
    check!(
        old.is_none(),
        "first door_server_create returned a procedure"
    );
    let d = door_create(echo, null_mut(), 0);
    check!(d >= 0, "door_create: {}", errno().name());
    check!(
        CREATED.load(SeqCst) == 1,
        "door_create of the first door ran my_create {} times, expected 1",
        CREATED.load(SeqCst)
    );
    let clients: Vec<_> = (0..CREATE_CALLERS)
        .map(|i| {
            thread::spawn(move || {
                let r = Door::from_fd(d).call(&[i as u8], &[]);
                match r {
                    Ok(reply) if reply.data.len() == 10 => {
                        let stack = u64::from_le_bytes(reply.data[..8].try_into().unwrap());
                        check!(
                            stack == SMALL_STACK as u64,
                            "call {i} served on a {stack}-byte stack, expected {SMALL_STACK}"
                        );
                        check!(
                            reply.data[8] == i as u8,
                            "call {i} got another call's reply"
                        );
                        check!(
                            reply.data[9] == 1,
                            "call {i}: the callers were not served at once"
                        );
                    }
                    Ok(reply) => check!(false, "call {i}: reply of {} bytes", reply.data.len()),
                    Err(e) => check!(false, "call {i} failed: {e:?}"),
                }
                0
            })
            .expect("spawn client")
        })
        .collect();
    // A server thread whose door_return failed leaves the callers waiting
    // forever: stop then instead of hanging.
    let done = wait_until(PATIENCE, || {
        SERVED.load(SeqCst) == CREATE_CALLERS || RETURN_FAILED.load(SeqCst) > 0
    });
    if RETURN_FAILED.load(SeqCst) > 0 || !done {
        check!(
            done,
            "calls not served after {PATIENCE} ticks ({} served)",
            SERVED.load(SeqCst)
        );
        process::exit(1);
    }
    for c in clients {
        c.join().expect("join");
    }
    // One thread at door_create, one more each time a call took the last
    // idle thread: 1 + 3.
    let created = CREATED.load(SeqCst);
    check!(
        created == 1 + CREATE_CALLERS,
        "my_create ran {created} times, expected {}",
        1 + CREATE_CALLERS
    );
    println!(
        "{P}: door_server_create example: {CREATE_CALLERS} calls on {SMALL_STACK}-byte server threads, my_create ran {created} times"
    );
    (failures() != 0) as i32
}

// ---------------------------------------------------------------------------
// door_bind(3C), Example 1: private server pools for two doors.
// ---------------------------------------------------------------------------

/// `thread_key_t door_key` with its per-thread values.
static DOOR_KEY: Mutex<BTreeMap<u32, usize>> = Mutex::new(BTreeMap::new());
static D1: AtomicI32 = AtomicI32::new(-1);
static D2: AtomicI32 = AtomicI32::new(-1);
/// my_create calls per door (by server procedure), and invocations.
static CREATE_FOO: AtomicU32 = AtomicU32::new(0);
static CREATE_BAR: AtomicU32 = AtomicU32::new(0);
static CREATE_OTHER: AtomicU32 = AtomicU32::new(0);
static ACTIVE_FOO: AtomicU32 = AtomicU32::new(0);
static ACTIVE_BAR: AtomicU32 = AtomicU32::new(0);
const BIND_CALLERS: u32 = 3;

fn thr_setspecific(value: usize) {
    DOOR_KEY.lock().insert(thread::gettid(), value);
}

fn thr_getspecific() -> usize {
    DOOR_KEY.lock().get(&thread::gettid()).copied().unwrap_or(0)
}

/// `static void *my_server_create(void *arg)`.
fn my_server_create(arg: usize) -> u64 {
    // Wait for d1 & d2 to be initialized (the C example's cond_wait).
    while D1.load(SeqCst) == -1 || D2.load(SeqCst) == -1 {
        process::sleep_ticks(1);
    }
    if arg == foo as *const () as usize {
        // Bind thread with pool associated with d1.
        thr_setspecific(foo as *const () as usize);
        if door_bind(D1.load(SeqCst)) < 0 {
            println!("{P}: door_bind: {}", errno().name());
            process::exit(-1);
        }
    } else if arg == bar as *const () as usize {
        // Bind thread to d2 thread pool.
        thr_setspecific(bar as *const () as usize);
        if door_bind(D2.load(SeqCst)) < 0 {
            println!("{P}: door_bind: {}", errno().name());
            process::exit(-1);
        }
    }
    // pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL): nothing to do.
    door_return(null_mut(), 0, null_mut(), 0); // Wait for door invocation.
    check!(
        false,
        "door_return of a bound thread failed: {}",
        errno().name()
    );
    0
}

/// `static void my_create(door_info_t *dip)`.
extern "C" fn my_bind_create(dip: *mut door_info_t) {
    // The pools here are all private, so dip is never NULL.
    if dip.is_null() {
        CREATE_OTHER.fetch_add(1, SeqCst);
        check!(false, "my_create called for the shared pool");
        return;
    }
    // SAFETY: the library passes a valid door_info_t for a private pool.
    let info = unsafe { *dip };
    let proc_ = info.di_proc as usize;
    if proc_ == foo as *const () as usize {
        CREATE_FOO.fetch_add(1, SeqCst);
    } else if proc_ == bar as *const () as usize {
        CREATE_BAR.fetch_add(1, SeqCst);
    } else {
        CREATE_OTHER.fetch_add(1, SeqCst);
    }
    check!(
        info.di_attributes & DOOR_PRIVATE != 0,
        "my_create's door_info lacks DOOR_PRIVATE"
    );
    // Pass the door identity information to the create function:
    // thr_create(NULL, 0, my_server_create, (void *)dip->di_proc, ...).
    if let Err(e) = thread::spawn(move || my_server_create(proc_)) {
        check!(false, "thr_create failed: {e:?}");
    }
}

/// The work of `foo` and `bar`: must run on a thread bound to its door
/// (thread-specific data and door_info(DOOR_QUERY) agree), with all the
/// callers of its door at once, each on its own thread.
fn pool_work(me: usize, door: i32, active: &AtomicU32, tag: u8) {
    let tsd = thr_getspecific();
    let mut info = door_info_t::default();
    let q = door_info(DOOR_QUERY, &mut info);
    let mut d_info = door_info_t::default();
    door_info(door, &mut d_info);
    let right_thread = tsd == me;
    let right_door = q == 0 && { info.di_uniquifier } == { d_info.di_uniquifier };
    active.fetch_add(1, SeqCst);
    let all_in = wait_until(PATIENCE, || active.load(SeqCst) >= BIND_CALLERS);
    let tid = thread::gettid();
    let mut out = [0u8; 8];
    out[0] = tag;
    out[1] = right_thread as u8;
    out[2] = right_door as u8;
    out[3] = all_in as u8;
    out[4..].copy_from_slice(&tid.to_le_bytes());
    reply(&out);
}

/// `extern void foo(void *, char *, size_t, door_desc_t *, uint_t)`.
extern "C" fn foo(_c: *mut c_void, _a: *mut u8, _s: usize, _dp: *mut door_desc_t, _n: u32) {
    pool_work(
        foo as *const () as usize,
        D1.load(SeqCst),
        &ACTIVE_FOO,
        b'f',
    );
}

/// `extern void bar(void *, char *, size_t, door_desc_t *, uint_t)`.
extern "C" fn bar(_c: *mut c_void, _a: *mut u8, _s: usize, _dp: *mut door_desc_t, _n: u32) {
    pool_work(
        bar as *const () as usize,
        D2.load(SeqCst),
        &ACTIVE_BAR,
        b'b',
    );
}

fn bind_example() -> i32 {
    // main(): (void) door_server_create(my_create); thr_keycreate(&door_key, NULL);
    door_server_create(Some(my_bind_create));
    let d1 = door_create(foo, null_mut(), DOOR_PRIVATE); // Private pool.
    D1.store(d1, SeqCst);
    let d2 = door_create(bar, null_mut(), DOOR_PRIVATE); // Private pool.
    D2.store(d2, SeqCst);
    check!(d1 >= 0 && d2 >= 0, "door_create: {d1} {d2}");
    check!(
        CREATE_FOO.load(SeqCst) == 1 && CREATE_BAR.load(SeqCst) == 1,
        "each private door_create must run my_create once with its door: foo {} bar {}",
        CREATE_FOO.load(SeqCst),
        CREATE_BAR.load(SeqCst)
    );
    // while (1) pause(); -- here: let a client process call both doors.
    let pid = process::spawn_with_fds(P, &["bind_client"], &[d1, d2]).expect("spawn client");
    let (_, status) = process::wait(Some(pid)).expect("wait");
    check!(status == 0, "bind_client exited with {status}");
    // Each pool: one thread at door_create, one more per call that took
    // its last idle thread (three concurrent calls: three).
    let (f, b, o) = (
        CREATE_FOO.load(SeqCst),
        CREATE_BAR.load(SeqCst),
        CREATE_OTHER.load(SeqCst),
    );
    check!(
        f == 1 + BIND_CALLERS && b == 1 + BIND_CALLERS && o == 0,
        "my_create calls: foo {f}, bar {b}, other {o}; expected {0}, {0}, 0",
        1 + BIND_CALLERS
    );
    println!("{P}: door_bind example: my_create ran {f} times for d1, {b} for d2");
    (failures() != 0) as i32
}

fn bind_client() -> i32 {
    let mut clients = Vec::new();
    for (fd, tag) in [(0, b'f'), (1, b'b')] {
        for i in 0..BIND_CALLERS {
            clients.push(
                thread::spawn(move || match Door::from_fd(fd).call(&[], &[]) {
                    Ok(r) if r.data.len() == 8 => {
                        let tid = u32::from_le_bytes(r.data[4..].try_into().unwrap());
                        check!(
                            r.data[0] == tag,
                            "door {fd} call {i}: served by the other door"
                        );
                        check!(
                            r.data[1] == 1,
                            "door {fd} call {i}: thread {tid} has the wrong thread-specific data"
                        );
                        check!(
                            r.data[2] == 1,
                            "door {fd} call {i}: thread {tid} serves another door"
                        );
                        check!(
                            r.data[3] == 1,
                            "door {fd} call {i}: callers not served at once"
                        );
                        tid as u64
                    }
                    Ok(r) => {
                        check!(false, "door {fd} call {i}: {} bytes", r.data.len());
                        0
                    }
                    Err(e) => {
                        check!(false, "door {fd} call {i} failed: {e:?}");
                        0
                    }
                })
                .expect("spawn"),
            );
        }
    }
    let mut tids: Vec<u64> = clients
        .into_iter()
        .map(|c| c.join().expect("join"))
        .collect();
    tids.sort_unstable();
    tids.dedup();
    check!(
        tids.len() == 2 * BIND_CALLERS as usize,
        "{} distinct server threads for {} concurrent calls",
        tids.len(),
        2 * BIND_CALLERS
    );
    (failures() != 0) as i32
}
