//! door_server_create(3C): the create procedure and when it runs, in one
//! process (pools that grow on demand under load are checked by dpool_load).
//!
//! - phase A: door_server_create returns the previous procedure (None for
//!   the default); the create procedure runs at the first non-private
//!   door_create (NULL door_info) and not at the second, and at every
//!   private door_create (that door's door_info), on the calling thread.
//! - phase B: a dispatch that leaves idle threads does not call it; the one
//!   that takes the last idle thread of a pool runs it on the serving thread
//!   before the server procedure (NULL for the shared pool, the door's
//!   door_info for a private pool); with no thread made and none idle, a
//!   caller waits until a thread parks.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use spin::Mutex;
use userland::abi::errno::name;
use userland::door::safe::Door;
use userland::door::{
    CreateProc, DOOR_PRIVATE, door_bind, door_create, door_desc_t, door_info, door_info_t,
    door_return, door_server_create, errno,
};
use userland::testkit::{self, *};
use userland::thread::JoinHandle;
use userland::{check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_create";
const PATIENCE: u64 = 1000;

fn settle() {
    process::sleep_ticks(20);
}

// ---------------------------------------------------------------------------
// Doors, pools and the create procedure.
// ---------------------------------------------------------------------------

/// Door tags (cookies); a thread's pool is the tag of its door, or SHARED.
const SHARED: u8 = b'S';
const SHARED2: u8 = b's';
const PRIV1: u8 = b'1';
const PRIV2: u8 = b'2';

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

static CREATE_CALLS: AtomicU32 = AtomicU32::new(0);
static CREATE_NULL: AtomicU32 = AtomicU32::new(0);
/// Create calls per thread since its last invocation started:
/// (calls, uniquifier of the last door_info or 0 for NULL).
static CREATE_ON: Mutex<BTreeMap<u32, (u32, u64)>> = Mutex::new(BTreeMap::new());
/// The last door_info the create procedure got, whole.
static LAST_INFO: Mutex<Option<door_info_t>> = Mutex::new(None);

/// The create procedure: counts its calls and starts no thread.
extern "C" fn my_create(dip: *mut door_info_t) {
    CREATE_CALLS.fetch_add(1, SeqCst);
    let u = if dip.is_null() {
        CREATE_NULL.fetch_add(1, SeqCst);
        0
    } else {
        // SAFETY: the library passes a valid door_info_t for a private pool.
        let info = unsafe { *dip };
        *LAST_INFO.lock() = Some(info);
        info.di_uniquifier
    };
    {
        let mut on = CREATE_ON.lock();
        let e = on.entry(thread::gettid()).or_insert((0, 0));
        e.0 += 1;
        e.1 = u;
    }
}

/// Another create procedure, for the return-value checks.
extern "C" fn other_create(_dip: *mut door_info_t) {}

enum Pool {
    Shared,
    /// Bind to the door with this tag.
    Tag(u8),
}

/// Starts a server thread for `pool`, parked in door_return. Returns its tid.
fn spawn_server(pool: Pool) -> u32 {
    let h = thread::spawn(move || {
        let tag = match pool {
            Pool::Shared => None,
            Pool::Tag(t) => Some(t),
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
const OP_HOLD: u8 = 1; // key

static STARTED: AtomicU32 = AtomicU32::new(0);
static RELEASED: AtomicU32 = AtomicU32::new(0);

/// The server procedure of every door here. Replies `[tag, wrong pool,
/// create calls on this thread just before, 0, tid x4, create's
/// uniquifier x8]`; an `OP_HOLD` call first waits for its release.
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
    let want_pool = if door == SHARED2 { SHARED } else { door };
    let wrong_pool = pool != want_pool;
    if wrong_pool {
        fail(format_args!(
            "thread {tid} of pool {:?} serves door {:?}",
            pool as char, door as char
        ));
    }
    // SAFETY: the kernel laid out `size` bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&[door, wrong_pool as u8, created.0 as u8, 0]);
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&created.1.to_le_bytes());
    if let (Some(OP_HOLD), Some(key)) = (args.first().copied(), args.get(1).copied()) {
        STARTED.fetch_or(1 << key, SeqCst);
        let ok = wait_until(PATIENCE, || RELEASED.load(SeqCst) & (1 << key) != 0);
        check!(ok, "held call {key} never released");
    }
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
    check!(false, "door_return failed: {}", name(errno()));
}

/// A reply, decoded.
#[derive(Clone, Debug, Default)]
struct Served {
    created: u8,
    tid: u32,
    create_uniq: u64,
}

fn call(fd: i32, msg: &[u8]) -> Result<Served, isize> {
    let r = Door::from_fd(fd).call(msg, &[]).map_err(|e| e.0)?;
    if r.data.len() < 16 {
        check!(false, "reply of {} bytes", r.data.len());
        return Err(0);
    }
    check!(r.data[1] == 0, "served by a thread of the wrong pool");
    Ok(Served {
        created: r.data[2],
        tid: u32::from_le_bytes(r.data[4..8].try_into().unwrap()),
        create_uniq: u64::from_le_bytes(r.data[8..16].try_into().unwrap()),
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

fn hold(slot: usize, fd: i32, key: u8) -> JoinHandle {
    let h = call_async(slot, fd, vec![OP_HOLD, key]);
    let ok = wait_until(PATIENCE, || STARTED.load(SeqCst) & (1 << key) != 0);
    check!(ok, "held call {key} never started");
    h
}

fn release(key: u8) {
    RELEASED.fetch_or(1 << key, SeqCst);
}

// ---------------------------------------------------------------------------
// The main process: phases A and B.
// ---------------------------------------------------------------------------

fn main() -> i32 {
    phase_a();
    phase_b();
    testkit::verdict(true)
}

fn addr(f: Option<CreateProc>) -> usize {
    f.map_or(0, |f| f as usize)
}

fn phase_a() {
    // door_server_create returns the previous procedure; None is the default.
    let prev = door_server_create(Some(other_create));
    check!(
        prev.is_none(),
        "first door_server_create returned {:#x}",
        addr(prev)
    );
    let prev = door_server_create(Some(my_create));
    check!(
        addr(prev) == other_create as *const () as usize,
        "door_server_create returned {:#x}, expected other_create {:#x}",
        addr(prev),
        other_create as *const () as usize
    );
    let prev = door_server_create(None);
    check!(
        addr(prev) == my_create as *const () as usize,
        "door_server_create returned {:#x}, expected my_create",
        addr(prev)
    );
    let prev = door_server_create(Some(my_create));
    check!(
        prev.is_none(),
        "door_server_create after restoring the default returned {:#x}",
        addr(prev)
    );

    // The first non-private door_create runs the create procedure with NULL,
    // on the calling thread; the second does not.
    let me = thread::gettid();
    create(SHARED, 0);
    check!(
        CREATE_CALLS.load(SeqCst) == 1 && CREATE_NULL.load(SeqCst) == 1,
        "first non-private door_create: {} create calls ({} with NULL), expected 1 (1)",
        CREATE_CALLS.load(SeqCst),
        CREATE_NULL.load(SeqCst)
    );
    check!(
        CREATE_ON.lock().remove(&me) == Some((1, 0)),
        "the create procedure did not run on the thread calling door_create"
    );
    create(SHARED2, 0);
    check!(
        CREATE_CALLS.load(SeqCst) == 1,
        "second non-private door_create ran the create procedure ({} calls)",
        CREATE_CALLS.load(SeqCst)
    );
    // Every private door_create runs it with that door's door_info.
    for (i, tag) in [PRIV1, PRIV2].into_iter().enumerate() {
        let fd = create(tag, DOOR_PRIVATE);
        let calls = CREATE_CALLS.load(SeqCst);
        check!(
            calls == 2 + i as u32,
            "private door_create {:?}: {calls} create calls, expected {}",
            tag as char,
            2 + i
        );
        let info = LAST_INFO.lock().take().unwrap_or_default();
        let mut d = door_info_t::default();
        door_info(fd, &mut d);
        check!(
            { info.di_uniquifier } == { d.di_uniquifier }
                && info.di_proc == server as *const () as usize as u64
                && info.di_data == u64::from(tag)
                && info.di_attributes & DOOR_PRIVATE != 0
                && info.di_target == process::getpid() as i32,
            "create procedure's door_info for {:?}: target {} proc {:#x} data {:#x} attrs {:#x} uniq {} (door: {})",
            tag as char,
            { info.di_target },
            { info.di_proc },
            { info.di_data },
            { info.di_attributes },
            { info.di_uniquifier },
            { d.di_uniquifier }
        );
        check!(
            CREATE_ON.lock().remove(&me) == Some((1, d.di_uniquifier)),
            "private door_create: create procedure not run on the calling thread"
        );
    }
    check!(
        CREATE_NULL.load(SeqCst) == 1,
        "NULL create calls: {}",
        CREATE_NULL.load(SeqCst)
    );
    println!("{P}: phase A (door_server_create return values, create calls at door_create) done");
}

fn phase_b() {
    let (s, p1) = (fd_of(SHARED), fd_of(PRIV1));
    // Two threads in each pool (MODE_COUNT: the create procedure starts none).
    let shared = [spawn_server(Pool::Shared), spawn_server(Pool::Shared)];
    let bound = [
        spawn_server(Pool::Tag(PRIV1)),
        spawn_server(Pool::Tag(PRIV1)),
    ];
    for (fd, threads, want_uniq, what) in
        [(s, shared, 0, "shared"), (p1, bound, uniq(p1), "private")]
    {
        // Warm-up: both threads serve a call at once and return, so both
        // are parked (door_return parks before the caller resumes).
        let w0 = hold(2, fd, 2);
        let w1 = hold(3, fd, 3);
        release(2);
        release(3);
        let mut got = [
            finish(2, w0, "warm-up 0").tid,
            finish(3, w1, "warm-up 1").tid,
        ];
        got.sort_unstable();
        let mut want = threads;
        want.sort_unstable();
        check!(
            got == want,
            "{what}: warm-up calls served by {got:?}, expected {want:?}"
        );
        let before = CREATE_CALLS.load(SeqCst);
        // Two idle: the first call leaves one, no create call.
        let h0 = hold(0, fd, 0);
        // The second takes the last idle thread: the create procedure runs
        // on it before the server procedure.
        let h1 = hold(1, fd, 1);
        check!(
            CREATE_CALLS.load(SeqCst) == before + 1,
            "{what}: {} create calls for two dispatches from two idle threads, expected 1",
            CREATE_CALLS.load(SeqCst) - before
        );
        // A third caller: no thread made, none idle: it waits.
        let h2 = call_async(2, fd, vec![OP_TID]);
        settle();
        check!(
            !DONE[2].load(SeqCst),
            "{what}: a call completed with no idle server thread"
        );
        release(0);
        let a = finish(0, h0, "hold 0");
        let c = finish(2, h2, "waiting call");
        release(1);
        let b = finish(1, h1, "hold 1");
        check!(
            a.created == 0,
            "{what}: the first dispatch (one thread left idle) ran the create procedure"
        );
        check!(
            b.created == 1 && b.create_uniq == want_uniq,
            "{what}: dispatch of the last idle thread: {} create calls on its thread before the server procedure (door_info {}), expected 1 ({want_uniq})",
            b.created,
            b.create_uniq
        );
        let mut got = [a.tid, b.tid];
        got.sort_unstable();
        let mut want = threads;
        want.sort_unstable();
        check!(
            got == want,
            "{what}: held calls served by {got:?}, expected {want:?}"
        );
        check!(
            c.tid == a.tid,
            "{what}: the waiting call was served by {}, expected {} (the thread that parked)",
            c.tid,
            a.tid
        );
        // Taken from the queue by a parking thread with no other idle: a
        // depleting dispatch too.
        check!(
            c.created == 1 && c.create_uniq == want_uniq,
            "{what}: waiting call's dispatch ran {} create calls (door_info {})",
            c.created,
            c.create_uniq
        );
        check!(
            CREATE_CALLS.load(SeqCst) == before + 2,
            "{what}: {} create calls in this phase, expected 2",
            CREATE_CALLS.load(SeqCst) - before
        );
        RELEASED.store(0, SeqCst);
        STARTED.store(0, SeqCst);
    }
    println!(
        "{P}: phase B (create procedure at depletion, callers wait for a parking thread) done"
    );
}
