//! What the door_server_create programs (dpool_create, dpool_load) share:
//! doors named by tags, server threads in pools, a create procedure
//! ([`my_create`]) that records its calls and starts threads as [`MODE`]
//! says, and the one server procedure of every door with its requests and
//! replies ([`Served`]), synchronous and asynchronous calls.
//!
//! Requests (first argument byte): [`OP_TID`] just replies; `OP_HOLD`
//! `key` waits for [`release`]; [`OP_BARRIER`] `n` waits until `n` calls
//! are in at once; [`OP_ECHO`] returns the rest reversed; [`OP_SPAWN_BOUND`]
//! `tag` starts a thread bound to that door (its tid is the payload);
//! [`OP_SYNC`] waits until every thread made has parked.

use super::{fail, wait_until};
use crate::Errno;
use crate::door::safe::Door;
use crate::door::{
    door_bind, door_create, door_desc_t, door_info, door_info_t, door_return, errno,
};
use crate::thread::JoinHandle;
use crate::{check, process, thread};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering::SeqCst};
use spin::Mutex;

/// How many ticks a wait here lasts at most.
pub const PATIENCE: u64 = 1000;

/// Gives other threads time to run (20 ticks).
pub fn settle() {
    process::sleep_ticks(20);
}

// ---------------------------------------------------------------------------
// Doors, pools and the create procedure.
// ---------------------------------------------------------------------------

/// The shared pool's tag, and a door's (cookie) served by it.
pub const SHARED: u8 = b'S';
/// A second door served by the shared pool.
pub const SHARED2: u8 = b's';
/// A private door's tag.
pub const PRIV1: u8 = b'1';
/// Another private door's tag.
pub const PRIV2: u8 = b'2';
/// A private door whose threads never bind.
pub const NOBIND: u8 = b'N';

/// Descriptor of each door by tag, and tag by door_info uniquifier.
static FDS: Mutex<BTreeMap<u8, i32>> = Mutex::new(BTreeMap::new());
static TAG_OF_UNIQ: Mutex<BTreeMap<u64, u8>> = Mutex::new(BTreeMap::new());
/// Which pool (tag) each server thread is in.
pub static POOL_OF: Mutex<BTreeMap<u32, u8>> = Mutex::new(BTreeMap::new());

/// The descriptor of the door with tag `tag` (-1 if none).
pub fn fd_of(tag: u8) -> i32 {
    FDS.lock().get(&tag).copied().unwrap_or(-1)
}

/// The uniquifier of door `fd` (a failure is reported).
pub fn uniq(fd: i32) -> u64 {
    let mut info = door_info_t::default();
    check!(
        door_info(fd, &mut info) == 0,
        "door_info({fd}): {}",
        errno().name()
    );
    info.di_uniquifier
}

/// Creates a door served by [`server`] with tag `tag`.
pub fn create(tag: u8, attrs: u32) -> i32 {
    let fd = door_create(server, tag as usize as *mut c_void, attrs);
    check!(
        fd >= 0,
        "door_create({:?}): {}",
        tag as char,
        errno().name()
    );
    FDS.lock().insert(tag, fd);
    TAG_OF_UNIQ.lock().insert(uniq(fd), tag);
    fd
}

/// [`MODE`]: the create procedure counts only, starts nothing.
const MODE_COUNT: u8 = 0;
/// [`MODE`]: one thread per call, bound for a private pool.
pub const MODE_SPAWN: u8 = 1;
/// [`MODE`]: one thread per call, never bound.
pub const MODE_SPAWN_NOBIND: u8 = 2;
/// What the create procedure does.
pub static MODE: AtomicU8 = AtomicU8::new(MODE_COUNT);
/// Calls of the create procedure.
pub static CREATE_CALLS: AtomicU32 = AtomicU32::new(0);
/// Calls of the create procedure with a NULL door_info.
pub static CREATE_NULL: AtomicU32 = AtomicU32::new(0);
/// Server threads started by [`spawn_server`].
pub static THREADS_MADE: AtomicU32 = AtomicU32::new(0);
/// Threads about to park in door_return for the first time.
static PARKING: AtomicU32 = AtomicU32::new(0);
/// Create calls per thread since its last invocation started:
/// (calls, uniquifier of the last door_info or 0 for NULL).
pub static CREATE_ON: Mutex<BTreeMap<u32, (u32, u64)>> = Mutex::new(BTreeMap::new());
/// The last door_info the create procedure got, whole.
pub static LAST_INFO: Mutex<Option<door_info_t>> = Mutex::new(None);

/// The create procedure: counts its calls (in [`CREATE_CALLS`],
/// [`CREATE_NULL`], [`CREATE_ON`], [`LAST_INFO`]) and starts a server
/// thread as [`MODE`] says.
#[allow(clippy::not_unsafe_ptr_arg_deref)] // the library vouches for `dip`
pub extern "C" fn my_create(dip: *mut door_info_t) {
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

/// The pool a new server thread joins.
pub enum Pool {
    /// The shared pool.
    Shared,
    /// Bind to the door with this tag.
    Tag(u8),
    /// Bind to the door with this uniquifier (once its descriptor is known:
    /// the create procedure runs inside door_create).
    Uniq(u64),
}

/// Starts a server thread for `pool`, parked in door_return. Returns its tid.
pub fn spawn_server(pool: Pool) -> u32 {
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
                check!(r == 0, "door_bind({:?}): {}", t as char, errno().name());
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
            errno().name()
        );
        0
    })
    .expect("spawn server thread");
    h.tid()
}

// ---------------------------------------------------------------------------
// The server procedure and its requests.
// ---------------------------------------------------------------------------

/// Request: just the reply.
pub const OP_TID: u8 = 0;
/// Request `[OP_HOLD, key]`: waits for `release(key)` first.
const OP_HOLD: u8 = 1;
/// Request `[OP_BARRIER, n]`: waits until `n` calls are in (flag 1 if so).
pub const OP_BARRIER: u8 = 2;
/// Request `[OP_ECHO, data...]`: the data reversed as payload.
pub const OP_ECHO: u8 = 3;
/// Request `[OP_SPAWN_BOUND, tag]`: a new thread bound to that door.
pub const OP_SPAWN_BOUND: u8 = 4;
/// Request: waits until every thread made has parked.
pub const OP_SYNC: u8 = 5;

static STARTED: AtomicU32 = AtomicU32::new(0);
static RELEASED: AtomicU32 = AtomicU32::new(0);
static ACTIVE: AtomicU32 = AtomicU32::new(0);
/// Calls served per door (by [`served_index`]), [`OP_SYNC`] not counted.
pub static SERVED: [AtomicU32; 5] = [const { AtomicU32::new(0) }; 5];
/// The thread that served each call, [`OP_SYNC`] not counted.
pub static SERVERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The [`SERVED`] entry of the door with tag `tag`.
pub fn served_index(tag: u8) -> usize {
    match tag {
        SHARED => 0,
        PRIV1 => 1,
        PRIV2 => 2,
        NOBIND => 3,
        _ => 4,
    }
}

/// The server procedure of every door here. Replies `[tag, wrong pool,
/// create calls on this thread just before, flag, tid x4, create's
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
    if args.first() != Some(&OP_SYNC) {
        SERVED[served_index(door)].fetch_add(1, SeqCst);
        SERVERS.lock().push(tid);
    }
    let mut out = Vec::with_capacity(16 + size);
    out.extend_from_slice(&[door, wrong_pool as u8, created.0 as u8, 0]);
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&created.1.to_le_bytes());
    match (args.first().copied(), args.get(1).copied()) {
        (Some(OP_HOLD), Some(key)) => {
            STARTED.fetch_or(1 << key, SeqCst);
            let ok = wait_until(PATIENCE, || RELEASED.load(SeqCst) & (1 << key) != 0);
            check!(ok, "held call {key} never released");
        }
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
    check!(false, "door_return failed: {}", errno().name());
}

/// The address of the server procedure (as door_info reports it).
pub fn server_addr() -> u64 {
    server as *const () as usize as u64
}

// ---------------------------------------------------------------------------
// Calls.
// ---------------------------------------------------------------------------

/// A reply, decoded.
#[derive(Clone, Debug, Default)]
pub struct Served {
    /// The tag of the door that served.
    pub door: u8,
    /// Create calls on the serving thread just before.
    pub created: u8,
    /// The request's flag ([`OP_BARRIER`]: all were in at once).
    pub flag: u8,
    /// The serving thread.
    pub tid: u32,
    /// The uniquifier of the create procedure's last door_info (0: NULL).
    pub create_uniq: u64,
    /// What follows the header.
    pub payload: Vec<u8>,
}

/// Calls door `fd` with `msg`; the decoded reply, or the errno (EIO after a
/// reported short reply).
pub fn call(fd: i32, msg: &[u8]) -> Result<Served, Errno> {
    let r = Door::from_fd(fd).call(msg, &[])?;
    if r.data.len() < 16 {
        check!(false, "reply of {} bytes", r.data.len());
        return Err(Errno::EIO);
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

/// Whether the asynchronous call in each slot has completed.
pub static DONE: [AtomicBool; 8] = [const { AtomicBool::new(false) }; 8];
static RESULT: Mutex<[Option<Result<Served, Errno>>; 8]> = Mutex::new([const { None }; 8]);

/// Calls `fd` with `msg` on a new thread; [`finish`] collects the result
/// from `slot`.
pub fn call_async(slot: usize, fd: i32, msg: Vec<u8>) -> JoinHandle {
    DONE[slot].store(false, SeqCst);
    thread::spawn(move || {
        let r = call(fd, &msg);
        RESULT.lock()[slot] = Some(r);
        DONE[slot].store(true, SeqCst);
        0
    })
    .expect("spawn caller")
}

/// Joins the caller `h` and returns its reply (a failure is reported).
pub fn finish(slot: usize, h: JoinHandle, what: &str) -> Served {
    h.join().expect("join caller");
    match RESULT.lock()[slot].take() {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            check!(false, "{what}: door_call failed: {}", e.name());
            Served::default()
        }
        None => {
            check!(false, "{what}: no result");
            Served::default()
        }
    }
}

/// Starts an `OP_HOLD` call with `key` in `slot` and waits until it is
/// being served.
pub fn hold(slot: usize, fd: i32, key: u8) -> JoinHandle {
    let h = call_async(slot, fd, vec![OP_HOLD, key]);
    let ok = wait_until(PATIENCE, || STARTED.load(SeqCst) & (1 << key) != 0);
    check!(ok, "held call {key} never started");
    h
}

/// Lets the held call `key` return.
pub fn release(key: u8) {
    RELEASED.fetch_or(1 << key, SeqCst);
}

/// Forgets which held calls started and were released.
pub fn reset_holds() {
    RELEASED.store(0, SeqCst);
    STARTED.store(0, SeqCst);
}
