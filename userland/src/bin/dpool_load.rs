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

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::SeqCst;
use userland::door::{DOOR_PRIVATE, door_server_create};
use userland::testkit::dpool::{
    CREATE_CALLS, DONE, MODE, MODE_SPAWN, MODE_SPAWN_NOBIND, NOBIND, OP_BARRIER, OP_ECHO,
    OP_SPAWN_BOUND, OP_SYNC, OP_TID, POOL_OF, PRIV1, PRIV2, SERVED, SERVERS, SHARED, Served,
    THREADS_MADE, call, call_async, create, finish, my_create, served_index, settle,
};
use userland::testkit::{self, *};
use userland::thread::JoinHandle;
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const P: &str = "dpool_load";

fn status() -> i32 {
    (failures() != 0) as i32
}

fn call_ok(fd: i32, msg: &[u8], what: &str) -> Served {
    call(fd, msg).unwrap_or_else(|e| {
        check!(false, "{what}: door_call failed: {}", e.name());
        Served::default()
    })
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
