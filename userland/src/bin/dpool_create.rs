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

use alloc::vec;
use core::sync::atomic::Ordering::SeqCst;
use userland::door::{CreateProc, DOOR_PRIVATE, door_info, door_info_t, door_server_create};
use userland::testkit;
use userland::testkit::dpool::{
    CREATE_CALLS, CREATE_NULL, CREATE_ON, DONE, LAST_INFO, OP_TID, PRIV1, PRIV2, Pool, SHARED,
    SHARED2, call_async, create, fd_of, finish, hold, my_create, release, reset_holds, server_addr,
    settle, spawn_server, uniq,
};
use userland::{check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_create";
/// Another create procedure, for the return-value checks.
extern "C" fn other_create(_dip: *mut door_info_t) {}

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
                && info.di_proc == server_addr()
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
        reset_holds();
    }
    println!(
        "{P}: phase B (create procedure at depletion, callers wait for a parking thread) done"
    );
}
