//! Door stress, nested and concurrent calls.
//!
//! Processes: the parent A, and children B and C that create their doors
//! and hand them to A by calling A's registration door with the descriptor.
//! - Across processes: A calls B; B's procedure calls C; results flow back
//!   (A -> B -> C). And a chain that comes back to its start: A -> B -> C ->
//!   A's leaf door, served by a server thread of A while A's calling thread
//!   waits. Every hop checks with door_ucred that its immediate caller is
//!   the process before it, and the results carry the path they took.
//! - Within one process: A's main thread calls A's outer door, whose
//!   procedure (on a server thread of A) calls A's inner door (on yet another
//!   server thread); and a door of A that calls itself 8 levels deep, which
//!   needs 8 server threads at once (made on demand by the default
//!   door_server_create procedure at each depletion).
//! - Concurrency: 6 threads of A call B's door at the same time (chains of 2
//!   and 3 hops, plus A's own outer door), 150 calls each, every result
//!   checked; B reports how many of its invocations were in flight at once.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use userland::door::{
    DOOR_DESCRIPTOR, door_arg_t, door_call, door_create, door_desc_t, door_return, door_revoke,
    door_ucred, errno, ucred_t,
};
use userland::testkit::{arg_for, word};
use userland::{arg, println, process, thread};

userland::entry!(main);

// Operations (word 0 of a request).
const OP_LEAF_A: u64 = 1;
const OP_C_LEAF: u64 = 2;
const OP_C_CALL_A: u64 = 3;
const OP_B_CHAIN2: u64 = 4;
const OP_B_CHAIN3: u64 = 5;
const OP_B_STATS: u64 = 6;
const OP_QUIT: u64 = 7;
const OP_OUTER: u64 = 8;
const OP_INNER: u64 = 9;
const OP_RECURSE: u64 = 10;

/// Request: op, x, pid of A, pid of B, pid of C, depth.
const REQ_WORDS: usize = 6;
/// Response: value, path, aux, error (0: every hop's checks passed).
const RESP_WORDS: usize = 4;

const CLIENTS: u64 = 6;
const CALLS_EACH: u64 = 150;
const DEPTH: u64 = 8;

/// Checks that failed on this process's server side.
static FAILED: AtomicU64 = AtomicU64::new(0);
/// Children: set by OP_QUIT; the main thread exits when it sees it.
static QUIT: AtomicU64 = AtomicU64::new(0);
/// B: invocations in flight now, and the most seen at once.
static INFLIGHT: AtomicU64 = AtomicU64::new(0);
static MAX_INFLIGHT: AtomicU64 = AtomicU64::new(0);
/// A: the doors B and C registered, and A's own doors used by procedures.
static B_DOOR: AtomicI32 = AtomicI32::new(-1);
static C_DOOR: AtomicI32 = AtomicI32::new(-1);
static INNER_DOOR: AtomicI32 = AtomicI32::new(-1);
static RECURSE_DOOR: AtomicI32 = AtomicI32::new(-1);

fn fa(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}
fn fb(x: u64) -> u64 {
    x.rotate_left(7).wrapping_add(0xb)
}
fn fc(x: u64) -> u64 {
    x ^ 0x00c0_ffee
}
fn fouter(x: u64) -> u64 {
    x.wrapping_mul(0x1_0001)
}
fn finner(x: u64) -> u64 {
    x.wrapping_add(0x1234_5678)
}
fn frec(v: u64, depth: u64) -> u64 {
    v.wrapping_mul(5).wrapping_add(depth)
}

/// Calls `door` with the words of `req`; the results must arrive in this
/// call's rbuf (they fit).
fn call(door: i32, req: [u64; REQ_WORDS]) -> Result<[u64; RESP_WORDS], &'static str> {
    let mut args = [0u8; REQ_WORDS * 8];
    for (k, v) in req.into_iter().enumerate() {
        args[k * 8..k * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    let mut rbuf = [0u8; 64];
    let mut a = arg_for(&args, &mut rbuf);
    if door_call(door, &mut a) != 0 {
        println!(
            "dstress_nested: door_call op {} failed: {}",
            req[0],
            errno().name()
        );
        return Err("door_call");
    }
    if a.rbuf != rbuf.as_ptr() as u64
        || a.data_ptr != a.rbuf
        || a.data_size != (RESP_WORDS * 8) as u64
    {
        println!(
            "dstress_nested: op {}: {} result bytes at {:#x} (rbuf {:p})",
            req[0],
            a.data_size,
            a.data_ptr,
            rbuf.as_ptr()
        );
        return Err("results not as returned");
    }
    Ok(core::array::from_fn(|k| word(&rbuf, k * 8)))
}

/// Returns `resp` from a server procedure (does not return on success).
fn reply(resp: [u64; RESP_WORDS]) {
    let mut out = [0u8; RESP_WORDS * 8];
    for (k, v) in resp.into_iter().enumerate() {
        out[k * 8..k * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    door_return(out.as_mut_ptr(), out.len(), core::ptr::null_mut(), 0);
    FAILED.fetch_add(1, Ordering::SeqCst);
    println!("dstress_nested: door_return failed: {}", errno().name());
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

/// Decodes a request; None (counted as a failure) if malformed.
fn request(argp: *mut u8, size: usize) -> Option<[u64; REQ_WORDS]> {
    if size != REQ_WORDS * 8 {
        FAILED.fetch_add(1, Ordering::SeqCst);
        println!("dstress_nested: request of {size} bytes");
        return None;
    }
    // SAFETY: the kernel laid out `size` argument bytes at `argp`.
    let a = unsafe { core::slice::from_raw_parts(argp, size) };
    Some(core::array::from_fn(|k| word(a, k * 8)))
}

/// The immediate caller's pid must be `want`.
fn caller_is(want: u64, who: &str) -> bool {
    let mut uc = ucred_t::default();
    if door_ucred(&mut uc) != 0 {
        println!(
            "dstress_nested: {who}: door_ucred failed: {}",
            errno().name()
        );
        return false;
    }
    if uc.uc_pid as u64 != want {
        println!(
            "dstress_nested: {who}: immediate caller pid {} (want {want})",
            uc.uc_pid
        );
        return false;
    }
    true
}

/// A failed check inside a procedure: counted here and reported to the
/// caller through the error word.
fn fail(what: &str) -> [u64; RESP_WORDS] {
    FAILED.fetch_add(1, Ordering::SeqCst);
    println!("dstress_nested: server {}: {what}", process::getpid());
    [0, 0, 0, 1]
}

// ----------------------------------------------------------------------- C

extern "C" fn c_proc(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let resp = match req[0] {
        OP_C_LEAF if caller_is(req[3], "C") => [fc(req[1]), 0xc, 0, 0],
        OP_C_CALL_A if caller_is(req[3], "C") => {
            let mut sub = req;
            sub[0] = OP_LEAF_A;
            // Descriptor 1 of C: A's leaf door.
            match call(1, sub) {
                Ok(r) if r[3] == 0 => [fc(r[0]), (r[1] << 4) | 0xc, 0, 0],
                Ok(_) => fail("A's leaf reported an error"),
                Err(e) => fail(e),
            }
        }
        OP_QUIT => {
            QUIT.store(1, Ordering::SeqCst);
            [0, 0, 0, 0]
        }
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

// ----------------------------------------------------------------------- B

extern "C" fn b_proc(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let resp = match req[0] {
        op @ (OP_B_CHAIN2 | OP_B_CHAIN3) if caller_is(req[2], "B") => {
            let now = INFLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            MAX_INFLIGHT.fetch_max(now, Ordering::SeqCst);
            // Until two invocations have overlapped, let the other callers
            // in while this one is in flight.
            let mut n = 0;
            while MAX_INFLIGHT.load(Ordering::SeqCst) < 2 && n < 200 {
                process::yield_now();
                n += 1;
            }
            let mut sub = req;
            sub[0] = if op == OP_B_CHAIN2 {
                OP_C_LEAF
            } else {
                OP_C_CALL_A
            };
            // Descriptor 1 of B: C's door.
            let r = match call(1, sub) {
                Ok(r) if r[3] == 0 => [fb(r[0]), (r[1] << 4) | 0xb, 0, 0],
                Ok(_) => fail("C reported an error"),
                Err(e) => fail(e),
            };
            INFLIGHT.fetch_sub(1, Ordering::SeqCst);
            r
        }
        OP_B_STATS => [MAX_INFLIGHT.load(Ordering::SeqCst), 0, 0, 0],
        OP_QUIT => {
            QUIT.store(1, Ordering::SeqCst);
            [0, 0, 0, 0]
        }
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

/// B or C: create the door, register it with A (descriptor 0), serve until
/// told to quit.
fn child(
    tag: u64,
    proc_: extern "C" fn(*mut c_void, *mut u8, usize, *mut door_desc_t, u32),
) -> i32 {
    let d = door_create(proc_, core::ptr::null_mut(), 0);
    if d < 0 {
        println!(
            "dstress_nested: child door_create failed: {}",
            errno().name()
        );
        return 1;
    }
    let args = tag.to_le_bytes();
    let mut desc = [door_desc_t::new(d, DOOR_DESCRIPTOR)];
    let mut rbuf = [0u8; 8];
    let mut a = door_arg_t {
        data_ptr: args.as_ptr() as u64,
        data_size: 8,
        desc_ptr: desc.as_mut_ptr() as u64,
        desc_num: 1,
        rbuf: rbuf.as_mut_ptr() as u64,
        rsize: rbuf.len() as u64,
    };
    if door_call(0, &mut a) != 0 || a.data_size != 0 {
        println!("dstress_nested: registration failed: {}", errno().name());
        return 1;
    }
    while QUIT.load(Ordering::SeqCst) == 0 {
        process::sleep_ticks(1);
    }
    // The server thread set QUIT just before its reply: if a tick let
    // this thread see it first, one more tick lets that thread (ready)
    // finish the reply before the process ends (an exit during the reply
    // would end the caller's call with EINTR, as door_call(3C) says).
    process::sleep_ticks(1);
    match FAILED.load(Ordering::SeqCst) {
        0 => 0,
        n => {
            println!(
                "dstress_nested: child {}: {n} failed checks",
                process::getpid()
            );
            1
        }
    }
}

// ----------------------------------------------------------------------- A

/// Registration: the data says who (b'B' or b'C'), the descriptor is its door.
extern "C" fn register(_c: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    if size == 8 && n == 1 {
        // SAFETY: the kernel laid out 8 bytes at `argp` and one entry at `dp`.
        let (tag, desc) = unsafe { (core::ptr::read_unaligned(argp as *const u64), *dp) };
        let fd = desc.d_descriptor;
        match tag {
            0xb => B_DOOR.store(fd, Ordering::SeqCst),
            0xc => C_DOOR.store(fd, Ordering::SeqCst),
            _ => {
                FAILED.fetch_add(1, Ordering::SeqCst);
            }
        }
    } else {
        FAILED.fetch_add(1, Ordering::SeqCst);
        println!("dstress_nested: registration with {size} bytes and {n} descriptors");
    }
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

extern "C" fn a_leaf(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let resp = match req[0] {
        OP_LEAF_A if caller_is(req[4], "A leaf") => [fa(req[1]), 0xa, 0, 0],
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

/// A's outer door: calls A's inner door from this server thread.
extern "C" fn a_outer(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let me = u64::from(thread::gettid());
    let resp = match req[0] {
        OP_OUTER if caller_is(req[2], "A outer") => {
            let mut sub = req;
            sub[0] = OP_INNER;
            match call(INNER_DOOR.load(Ordering::SeqCst), sub) {
                Ok(r) if r[3] == 0 => [fouter(r[0]), (r[1] << 4) | 0xe, (me << 32) | r[2], 0],
                Ok(_) => fail("inner reported an error"),
                Err(e) => fail(e),
            }
        }
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

extern "C" fn a_inner(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, _n: u32) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let resp = match req[0] {
        OP_INNER if caller_is(req[2], "A inner") => {
            [finner(req[1]), 0x1, u64::from(thread::gettid()), 0]
        }
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

/// Calls its own door `depth` levels deep (each level on another server
/// thread of A); path counts the levels.
extern "C" fn a_recurse(
    _c: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    let Some(req) = request(argp, size) else {
        return reply([0, 0, 0, 1]);
    };
    let resp = match req[0] {
        OP_RECURSE if caller_is(req[2], "A recurse") => {
            let depth = req[5];
            if depth == 0 {
                [req[1], 0, 0, 0]
            } else {
                let mut sub = req;
                sub[5] = depth - 1;
                match call(RECURSE_DOOR.load(Ordering::SeqCst), sub) {
                    Ok(r) if r[3] == 0 => [frec(r[0], depth), r[1] + 1, 0, 0],
                    Ok(_) => fail("a deeper level reported an error"),
                    Err(e) => fail(e),
                }
            }
        }
        _ => fail("bad op or caller"),
    };
    reply(resp)
}

fn make_door(
    p: extern "C" fn(*mut c_void, *mut u8, usize, *mut door_desc_t, u32),
) -> Result<i32, &'static str> {
    match door_create(p, core::ptr::null_mut(), 0) {
        d if d >= 0 => Ok(d),
        _ => {
            println!("dstress_nested: door_create failed: {}", errno().name());
            Err("door_create")
        }
    }
}

/// Waits (a tick at a time) until `slot` holds a descriptor.
fn await_registration(slot: &AtomicI32, who: &str) -> Result<i32, &'static str> {
    for _ in 0..2000 {
        let fd = slot.load(Ordering::SeqCst);
        if fd >= 0 {
            return Ok(fd);
        }
        process::sleep_ticks(1);
    }
    println!("dstress_nested: {who} never registered its door");
    Err("registration")
}

struct Pids {
    a: u64,
    b: u64,
    c: u64,
}

fn expect(what: &str, got: [u64; RESP_WORDS], value: u64, path: u64) -> Result<(), &'static str> {
    if got[3] != 0 || got[0] != value || got[1] != path {
        println!(
            "dstress_nested: {what}: value {:#x} path {:#x} error {} (want {value:#x}, {path:#x}, 0)",
            got[0], got[1], got[3]
        );
        return Err("wrong result");
    }
    Ok(())
}

fn chain2(b: i32, p: &Pids, x: u64) -> Result<(), &'static str> {
    let r = call(b, [OP_B_CHAIN2, x, p.a, p.b, p.c, 0])?;
    expect("A->B->C", r, fb(fc(x)), 0xcb)
}

fn chain3(b: i32, p: &Pids, x: u64) -> Result<(), &'static str> {
    let r = call(b, [OP_B_CHAIN3, x, p.a, p.b, p.c, 0])?;
    expect("A->B->C->A", r, fb(fc(fa(x))), 0xacb)
}

/// A's main thread -> outer door (server thread T1) -> inner door (T2).
fn local(outer: i32, p: &Pids, x: u64) -> Result<(u64, u64), &'static str> {
    let r = call(outer, [OP_OUTER, x, p.a, p.b, p.c, 0])?;
    expect("A->A->A", r, fouter(finner(x)), 0x1e)?;
    Ok((r[2] >> 32, r[2] & 0xffff_ffff))
}

fn parent() -> Result<(), &'static str> {
    let reg = make_door(register)?;
    let leaf = make_door(a_leaf)?;
    let outer = make_door(a_outer)?;
    INNER_DOOR.store(make_door(a_inner)?, Ordering::SeqCst);
    RECURSE_DOOR.store(make_door(a_recurse)?, Ordering::SeqCst);
    let pid_c =
        process::spawn_with_fds("dstress_nested", &["c"], &[reg, leaf]).map_err(|_| "spawn C")?;
    let c = await_registration(&C_DOOR, "C")?;
    let pid_b =
        process::spawn_with_fds("dstress_nested", &["b"], &[reg, c]).map_err(|_| "spawn B")?;
    let b = await_registration(&B_DOOR, "B")?;
    let p = Pids {
        a: u64::from(process::getpid()),
        b: u64::from(pid_b),
        c: u64::from(pid_c),
    };

    // Across processes, from A's main thread.
    chain2(b, &p, 42)?;
    println!("dstress_nested: A -> B -> C: ok");
    chain3(b, &p, 4242)?;
    println!("dstress_nested: A -> B -> C -> A (A's leaf on a server thread of A): ok");

    // Within A: main -> outer (server thread) -> inner (another server thread).
    let main_tid = u64::from(thread::gettid());
    let (t_outer, t_inner) = local(outer, &p, 7)?;
    if t_outer == main_tid || t_inner == main_tid || t_outer == t_inner {
        println!("dstress_nested: main {main_tid}, outer served by {t_outer}, inner by {t_inner}");
        return Err("local nested calls not on distinct server threads");
    }
    println!(
        "dstress_nested: A -> A -> A (main {main_tid}, server threads {t_outer} and {t_inner}): ok"
    );

    // A door of A calling itself DEPTH levels deep.
    let x = 99;
    let r = call(
        RECURSE_DOOR.load(Ordering::SeqCst),
        [OP_RECURSE, x, p.a, p.b, p.c, DEPTH],
    )?;
    let want = (1..=DEPTH).fold(x, frec);
    expect("recursion", r, want, DEPTH)?;
    println!("dstress_nested: a door calling itself {DEPTH} levels deep: ok");

    // Concurrent clients.
    let handles: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let p = Pids {
                a: p.a,
                b: p.b,
                c: p.c,
            };
            thread::spawn(move || {
                for i in 0..CALLS_EACH {
                    let x = t * 1_000_000 + i;
                    let r = match i % 4 {
                        0 | 2 => chain2(b, &p, x),
                        1 => chain3(b, &p, x),
                        _ => local(outer, &p, x).map(|_| ()),
                    };
                    if let Err(e) = r {
                        println!("dstress_nested: client thread {t}, call {i}: {e}");
                        return 1;
                    }
                }
                0
            })
            .expect("spawn client thread")
        })
        .collect();
    let mut bad = 0;
    for h in handles {
        if h.join() != Ok(0) {
            bad += 1;
        }
    }
    if bad != 0 {
        return Err("a client thread failed");
    }
    let stats = call(b, [OP_B_STATS, 0, p.a, p.b, p.c, 0])?;
    println!(
        "dstress_nested: {CLIENTS} threads x {CALLS_EACH} calls checked; B had up to {} invocations in flight",
        stats[0]
    );
    if stats[0] < 2 {
        return Err("B never had two invocations in flight at once");
    }

    // Stop the children and collect them.
    for (d, who) in [(b, "B"), (c, "C")] {
        let r = call(d, [OP_QUIT, 0, p.a, p.b, p.c, 0])?;
        if r[3] != 0 {
            println!("dstress_nested: {who} refused to quit");
            return Err("quit");
        }
    }
    for (pid, who) in [(pid_b, "B"), (pid_c, "C")] {
        let (_, status) = process::wait(Some(pid)).map_err(|_| "wait")?;
        if status != 0 {
            println!("dstress_nested: {who} exited with {status}");
            return Err("a child failed");
        }
    }
    let failed = FAILED.load(Ordering::SeqCst);
    if failed != 0 {
        println!("dstress_nested: {failed} failed checks in A's procedures");
        return Err("A's procedures");
    }
    for d in [
        reg,
        leaf,
        outer,
        INNER_DOOR.load(Ordering::SeqCst),
        RECURSE_DOOR.load(Ordering::SeqCst),
    ] {
        if door_revoke(d) != 0 {
            return Err("door_revoke");
        }
    }
    Ok(())
}

fn main() -> i32 {
    match arg(1) {
        Some("b") => child(0xb, b_proc),
        Some("c") => child(0xc, c_proc),
        _ => match parent() {
            Ok(()) => {
                println!("dstress_nested: ok");
                0
            }
            Err(e) => {
                println!("dstress_nested: FAILED: {e}");
                1
            }
        },
    }
}
