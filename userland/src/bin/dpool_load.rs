//! door_server_create(3C): pools that grow on demand, a create procedure
//! that starts server threads, under load from a child process (the create
//! procedure's return values and when it runs are checked by dpool_create).
//! Each role runs in its own process, spawned by the main one:
//!
//! - role `ondemand`: a create procedure that starts one server thread per
//!   call; a child process makes 12 calls at once (twice): 13 create calls
//!   and 12 distinct server threads in round one, none in round two.
//! - role `mixed`: a shared door and two private doors side by side under
//!   load from 12 client threads of a child; every invocation checks that
//!   its thread belongs to the right pool; replies are checked.
//! - role `nobind`: a private door whose create procedure makes threads
//!   that never bind: its callers wait (still blocked after the shared pool
//!   has served other calls) and complete once a bound thread appears.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering::SeqCst};
use spin::Mutex;
use userland::abi::errno::name;
use userland::door::safe::Door;
use userland::door::{
    DOOR_PRIVATE, door_bind, door_create, door_desc_t, door_info, door_info_t, door_return,
    door_server_create, errno,
};
use userland::testkit::{self, *};
use userland::thread::JoinHandle;
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_load";
const PATIENCE: u64 = 1000;

fn settle() {
    process::sleep_ticks(20);
}

fn status() -> i32 {
    (failures() != 0) as i32
}

// ---------------------------------------------------------------------------
// Doors, pools and the create procedure.
// ---------------------------------------------------------------------------

/// Door tags (cookies); a thread's pool is the tag of its door, or SHARED.
const SHARED: u8 = b'S';
const PRIV1: u8 = b'1';
const PRIV2: u8 = b'2';
const NOBIND: u8 = b'N';

/// Descriptor of each door by tag, and tag by door_info uniquifier.
static FDS: Mutex<BTreeMap<u8, i32>> = Mutex::new(BTreeMap::new());
static TAG_OF_UNIQ: Mutex<BTreeMap<u64, u8>> = Mutex::new(BTreeMap::new());
/// Which pool each server thread is in.
static POOL_OF: Mutex<BTreeMap<u32, u8>> = Mutex::new(BTreeMap::new());

fn fd_of(tag: u8) -> i32 {
    FDS.lock().get(&tag).copied().unwrap_or(-1)
}

fn uniq(fd: i32) -> u64 {
    let mut info = door_info_t::default();
    check!(
        door_info(fd, &mut info) == 0,
        "door_info({fd}): {}",
        name(errno())
    );
    info.di_uniquifier
}

/// Creates a door served by [`server`] with tag `tag`.
fn create(tag: u8, attrs: u32) -> i32 {
    let fd = door_create(server, tag as usize as *mut c_void, attrs);
    check!(fd >= 0, "door_create({:?}): {}", tag as char, name(errno()));
    FDS.lock().insert(tag, fd);
    TAG_OF_UNIQ.lock().insert(uniq(fd), tag);
    fd
}

/// What the create procedure does.
const MODE_COUNT: u8 = 0; // count only, start nothing
const MODE_SPAWN: u8 = 1; // one thread per call, bound for a private pool
const MODE_SPAWN_NOBIND: u8 = 2; // one thread per call, never bound
static MODE: AtomicU8 = AtomicU8::new(MODE_COUNT);
static CREATE_CALLS: AtomicU32 = AtomicU32::new(0);
static THREADS_MADE: AtomicU32 = AtomicU32::new(0);
/// Threads about to park in door_return for the first time.
static PARKING: AtomicU32 = AtomicU32::new(0);
/// Create calls per thread since its last invocation started:
/// (calls, uniquifier of the last door_info or 0 for NULL).
static CREATE_ON: Mutex<BTreeMap<u32, (u32, u64)>> = Mutex::new(BTreeMap::new());

extern "C" fn my_create(dip: *mut door_info_t) {
    CREATE_CALLS.fetch_add(1, SeqCst);
    let u = if dip.is_null() {
        0
    } else {
        // SAFETY: the library passes a valid door_info_t for a private pool.
        unsafe { *dip }.di_uniquifier
    };
    {
        let mut on = CREATE_ON.lock();
        let e = on.entry(thread::gettid()).or_insert((0, 0));
        e.0 += 1;
        e.1 = u;
    }
    match MODE.load(SeqCst) {
        MODE_SPAWN if u != 0 => {
            spawn_server(Pool::Uniq(u));
        }
        MODE_SPAWN | MODE_SPAWN_NOBIND => {
            spawn_server(Pool::Shared);
        }
        _ => {}
    }
}

enum Pool {
    Shared,
    /// Bind to the door with this tag.
    Tag(u8),
    /// Bind to the door with this uniquifier (once its descriptor is known:
    /// the create procedure runs inside door_create).
    Uniq(u64),
}

/// Starts a server thread for `pool`, parked in door_return. Returns its tid.
fn spawn_server(pool: Pool) -> u32 {
    THREADS_MADE.fetch_add(1, SeqCst);
    let h = thread::spawn(move || {
        let tag = match pool {
            Pool::Shared => None,
            Pool::Tag(t) => Some(t),
            Pool::Uniq(u) => {
                let known = wait_until(PATIENCE, || TAG_OF_UNIQ.lock().contains_key(&u));
                check!(known, "door {u} never got its descriptor");
                TAG_OF_UNIQ.lock().get(&u).copied()
            }
        };
        let tid = thread::gettid();
        match tag {
            Some(t) => {
                let r = door_bind(fd_of(t));
                check!(r == 0, "door_bind({:?}): {}", t as char, name(errno()));
                POOL_OF.lock().insert(tid, t);
            }
            None => {
                POOL_OF.lock().insert(tid, SHARED);
            }
        }
        PARKING.fetch_add(1, SeqCst);
        door_return(null_mut(), 0, null_mut(), 0);
        check!(
            false,
            "door_return of a new server thread: {}",
            name(errno())
        );
        0
    })
    .expect("spawn server thread");
    h.tid()
}

/// Operations (first argument byte).
const OP_TID: u8 = 0;
const OP_BARRIER: u8 = 2; // count
const OP_ECHO: u8 = 3; // data...
const OP_SPAWN_BOUND: u8 = 4; // door tag
const OP_SYNC: u8 = 5; // waits until every thread made has parked

static ACTIVE: AtomicU32 = AtomicU32::new(0);
static SERVED: [AtomicU32; 5] = [const { AtomicU32::new(0) }; 5];
static SERVERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn served_index(tag: u8) -> usize {
    match tag {
        SHARED => 0,
        PRIV1 => 1,
        PRIV2 => 2,
        NOBIND => 3,
        _ => 4,
    }
}

/// The server procedure of every door here. Replies `[tag, wrong pool,
/// create calls on this thread just before, 0, tid x4, create's
/// uniquifier x8, payload...]`.
extern "C" fn server(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    let door = cookie as usize as u8;
    let tid = thread::gettid();
    let created = CREATE_ON.lock().remove(&tid).unwrap_or((0, 0));
    let pool = POOL_OF.lock().get(&tid).copied().unwrap_or(0);
    let wrong_pool = pool != door;
    if wrong_pool {
        fail(format_args!(
            "thread {tid} of pool {:?} serves door {:?}",
            pool as char, door as char
        ));
    }
    let sync = args_first(argp, size) == Some(OP_SYNC);
    if !sync {
        SERVED[served_index(door)].fetch_add(1, SeqCst);
        SERVERS.lock().push(tid);
    }
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    let mut out = Vec::with_capacity(16 + size);
    out.extend_from_slice(&[door, wrong_pool as u8, created.0 as u8, 0]);
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&created.1.to_le_bytes());
    match (args.first().copied(), args.get(1).copied()) {
        (Some(OP_BARRIER), Some(n)) => {
            ACTIVE.fetch_add(1, SeqCst);
            let ok = wait_until(PATIENCE, || ACTIVE.load(SeqCst) >= u32::from(n));
            check!(
                ok,
                "only {} of {n} calls were served at once",
                ACTIVE.load(SeqCst)
            );
            out[3] = ok as u8;
        }
        (Some(OP_ECHO), _) => out.extend(args[1..].iter().rev()),
        (Some(OP_SYNC), _) => {
            // Each thread counts itself just before its first door_return;
            // once all have, the few that have not yet entered it are the
            // only runnable threads while this one sleeps.
            let ok = wait_until(PATIENCE, || {
                PARKING.load(SeqCst) == THREADS_MADE.load(SeqCst)
            });
            check!(ok, "server threads never reached door_return");
            process::sleep_ticks(2);
        }
        (Some(OP_SPAWN_BOUND), Some(t)) => {
            let new = spawn_server(Pool::Tag(t));
            out.extend_from_slice(&new.to_le_bytes());
        }
        _ => {}
    }
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
    check!(false, "door_return failed: {}", name(errno()));
}

fn args_first(argp: *mut u8, size: usize) -> Option<u8> {
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    (size > 0).then(|| unsafe { *argp })
}

/// A reply, decoded.
#[derive(Clone, Debug, Default)]
struct Served {
    door: u8,
    created: u8,
    flag: u8,
    tid: u32,
    create_uniq: u64,
    payload: Vec<u8>,
}

fn call(fd: i32, msg: &[u8]) -> Result<Served, isize> {
    let r = Door::from_fd(fd).call(msg, &[]).map_err(|e| e.0)?;
    if r.data.len() < 16 {
        check!(false, "reply of {} bytes", r.data.len());
        return Err(0);
    }
    check!(r.data[1] == 0, "served by a thread of the wrong pool");
    Ok(Served {
        door: r.data[0],
        created: r.data[2],
        flag: r.data[3],
        tid: u32::from_le_bytes(r.data[4..8].try_into().unwrap()),
        create_uniq: u64::from_le_bytes(r.data[8..16].try_into().unwrap()),
        payload: r.data[16..].to_vec(),
    })
}

fn call_ok(fd: i32, msg: &[u8], what: &str) -> Served {
    call(fd, msg).unwrap_or_else(|e| {
        check!(false, "{what}: door_call failed: {}", name(e));
        Served::default()
    })
}

static DONE: [AtomicBool; 8] = [const { AtomicBool::new(false) }; 8];
static RESULT: Mutex<[Option<Result<Served, isize>>; 8]> = Mutex::new([const { None }; 8]);

fn call_async(slot: usize, fd: i32, msg: Vec<u8>) -> JoinHandle {
    DONE[slot].store(false, SeqCst);
    thread::spawn(move || {
        let r = call(fd, &msg);
        RESULT.lock()[slot] = Some(r);
        DONE[slot].store(true, SeqCst);
        0
    })
    .expect("spawn caller")
}

fn finish(slot: usize, h: JoinHandle, what: &str) -> Served {
    h.join().expect("join caller");
    match RESULT.lock()[slot].take() {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            check!(false, "{what}: door_call failed: {}", name(e));
            Served::default()
        }
        None => {
            check!(false, "{what}: no result");
            Served::default()
        }
    }
}

// ---------------------------------------------------------------------------
// The main process: spawns the roles.
// ---------------------------------------------------------------------------

fn main() -> i32 {
    match arg(1) {
        Some("ondemand") => return ondemand(),
        Some("ondemand_client") => return ondemand_client(),
        Some("mixed") => return mixed(),
        Some("mixed_client") => return mixed_client(),
        Some("nobind") => return nobind(),
        Some("nobind_client") => return nobind_client(),
        _ => {}
    }
    for role in ["ondemand", "mixed", "nobind"] {
        let pid = process::spawn(P, &[role]).expect("spawn role");
        let (_, s) = process::wait(Some(pid)).expect("wait role");
        check!(s == 0, "role `{role}` exited with {s}");
    }
    testkit::verdict(true)
}

// ---------------------------------------------------------------------------
// Role `ondemand`: 12 parallel callers, threads made on demand.
// ---------------------------------------------------------------------------

const PARALLEL: u8 = 12;

fn ondemand() -> i32 {
    MODE.store(MODE_SPAWN, SeqCst);
    door_server_create(Some(my_create));
    let s = create(SHARED, 0);
    check!(
        CREATE_CALLS.load(SeqCst) == 1 && THREADS_MADE.load(SeqCst) == 1,
        "door_create: {} create calls, {} threads",
        CREATE_CALLS.load(SeqCst),
        THREADS_MADE.load(SeqCst)
    );
    let pid = process::spawn_with_fds(P, &["ondemand_client"], &[s]).expect("spawn client");
    let (_, st) = process::wait(Some(pid)).expect("wait client");
    check!(st == 0, "ondemand_client exited with {st}");
    let mut tids = SERVERS.lock().clone();
    let calls = tids.len();
    tids.sort_unstable();
    tids.dedup();
    let (c, t) = (CREATE_CALLS.load(SeqCst), THREADS_MADE.load(SeqCst));
    println!(
        "{P}: {calls} calls ({PARALLEL} at once, twice): {c} create calls, {t} threads made, {} distinct server threads",
        tids.len()
    );
    check!(
        calls == 2 * PARALLEL as usize,
        "{calls} invocations, expected {}",
        2 * PARALLEL
    );
    // One at door_create, one per dispatch of round one (each took the last
    // idle thread), none in round two (13 idle threads for 12 calls).
    check!(
        c == 1 + u32::from(PARALLEL),
        "{c} create calls, expected {}",
        1 + PARALLEL
    );
    check!(t == c, "{t} threads made for {c} create calls");
    check!(
        tids.len() >= PARALLEL as usize && tids.len() <= t as usize,
        "{} distinct server threads, expected {PARALLEL}..={t}",
        tids.len()
    );
    status()
}

fn ondemand_client() -> i32 {
    for round in 0..2u8 {
        let callers: Vec<JoinHandle> = (0..PARALLEL)
            .map(|i| {
                thread::spawn(move || {
                    // The barrier counts invocations since the start: all
                    // of this round's must be in at once.
                    let target = PARALLEL * (round + 1);
                    let r = call_ok(0, &[OP_BARRIER, target], "parallel call");
                    check!(r.flag == 1, "round {round} call {i}: the calls were not all served at once");
                    let want = if round == 0 { 1 } else { 0 };
                    check!(
                        r.created == want && r.create_uniq == 0,
                        "round {round} call {i}: {} create calls on the serving thread, expected {want}",
                        r.created
                    );
                    u64::from(r.tid)
                })
                .expect("spawn caller")
            })
            .collect();
        let mut tids: Vec<u64> = callers.into_iter().map(|h| h.join().unwrap_or(0)).collect();
        tids.sort_unstable();
        tids.dedup();
        check!(
            tids.len() == PARALLEL as usize,
            "round {round}: {} distinct server threads for {PARALLEL} concurrent calls",
            tids.len()
        );
        // Let the thread made at the last dispatch of the round park (this
        // call takes one of twelve idle threads: no create call).
        if round == 0 {
            let r = call_ok(0, &[OP_SYNC], "sync");
            check!(r.created == 0, "the sync call ran the create procedure");
        }
    }
    status()
}

// ---------------------------------------------------------------------------
// Role `mixed`: shared and private doors side by side under load.
// ---------------------------------------------------------------------------

const MIXED_THREADS: usize = 4; // per door
const MIXED_CALLS: usize = 25; // per thread

fn mixed() -> i32 {
    MODE.store(MODE_SPAWN, SeqCst);
    door_server_create(Some(my_create));
    let s = create(SHARED, 0);
    let p1 = create(PRIV1, DOOR_PRIVATE);
    let p2 = create(PRIV2, DOOR_PRIVATE);
    let pid = process::spawn_with_fds(P, &["mixed_client"], &[s, p1, p2]).expect("spawn client");
    let (_, st) = process::wait(Some(pid)).expect("wait client");
    check!(st == 0, "mixed_client exited with {st}");
    let want = (MIXED_THREADS * MIXED_CALLS) as u32;
    let got = [0, 1, 2].map(|i| SERVED[i].load(SeqCst));
    check!(
        got == [want; 3],
        "served per door (S, P1, P2): {got:?}, expected {want} each"
    );
    let pools = POOL_OF.lock().clone();
    let per = |t: u8| pools.values().filter(|&&p| p == t).count();
    println!(
        "{P}: mixed load: {got:?} calls; pools grew to {} shared, {} P1, {} P2 threads",
        per(SHARED),
        per(PRIV1),
        per(PRIV2)
    );
    check!(
        per(PRIV1) >= 1 && per(PRIV2) >= 1 && per(SHARED) >= 1,
        "a pool has no thread"
    );
    status()
}

fn mixed_client() -> i32 {
    let mut callers = Vec::new();
    for (fd, tag) in [(0, SHARED), (1, PRIV1), (2, PRIV2)] {
        for t in 0..MIXED_THREADS {
            callers.push(
                thread::spawn(move || {
                    for i in 0..MIXED_CALLS {
                        let msg = [OP_ECHO, tag, t as u8, i as u8, 0x5a];
                        let r = call_ok(fd, &msg, "mixed call");
                        let want: Vec<u8> = msg[1..].iter().rev().copied().collect();
                        check!(
                            r.door == tag && r.payload == want,
                            "door {:?} thread {t} call {i}: reply from {:?} with {:?}",
                            tag as char,
                            r.door as char,
                            r.payload
                        );
                    }
                    0
                })
                .expect("spawn caller"),
            );
        }
    }
    for h in callers {
        h.join().expect("join");
    }
    status()
}

// ---------------------------------------------------------------------------
// Role `nobind`: a private door whose threads never bind.
// ---------------------------------------------------------------------------

const NOBIND_CALLERS: usize = 3;

fn nobind() -> i32 {
    // Threads made for the private door go to the shared pool.
    MODE.store(MODE_SPAWN_NOBIND, SeqCst);
    door_server_create(Some(my_create));
    let s = create(SHARED, 0);
    let n = create(NOBIND, DOOR_PRIVATE);
    check!(
        THREADS_MADE.load(SeqCst) == 2,
        "{} threads made at door_create",
        THREADS_MADE.load(SeqCst)
    );
    let pid = process::spawn_with_fds(P, &["nobind_client"], &[s, n]).expect("spawn client");
    let (_, st) = process::wait(Some(pid)).expect("wait client");
    check!(st == 0, "nobind_client exited with {st}");
    check!(
        SERVED[served_index(NOBIND)].load(SeqCst) == NOBIND_CALLERS as u32,
        "the private door served {} calls, expected {NOBIND_CALLERS}",
        SERVED[served_index(NOBIND)].load(SeqCst)
    );
    status()
}

fn nobind_client() -> i32 {
    let callers: Vec<JoinHandle> = (0..NOBIND_CALLERS)
        .map(|i| call_async(i, 1, vec![OP_TID]))
        .collect();
    settle();
    // The shared pool (which holds the threads made for the private door)
    // serves other calls meanwhile.
    let mut shared_tids = Vec::new();
    for _ in 0..5 {
        let r = call_ok(0, &[OP_TID], "shared call");
        check!(
            r.door == SHARED,
            "shared call answered by {:?}",
            r.door as char
        );
        shared_tids.push(r.tid);
    }
    settle();
    let done = (0..NOBIND_CALLERS)
        .filter(|&i| DONE[i].load(SeqCst))
        .count();
    check!(
        done == 0,
        "{done} calls on a private door with no bound thread completed (served by shared threads)"
    );
    // Now a bound thread appears: the callers complete, all on it.
    let r = call_ok(0, &[OP_SPAWN_BOUND, NOBIND], "spawn bound thread");
    let bound = r
        .payload
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()));
    for (i, h) in callers.into_iter().enumerate() {
        let r = finish(i, h, "private call");
        check!(
            r.door == NOBIND,
            "private call {i} answered by {:?}",
            r.door as char
        );
        check!(
            r.tid == bound,
            "private call {i} served by {}, expected the bound thread {bound}",
            r.tid
        );
    }
    status()
}
