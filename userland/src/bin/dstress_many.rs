//! Door stress, many calls under preemption: a client process makes 100,000
//! door calls to the parent's echo door, with small arguments that change
//! every call and whose echo (and the server's running count) it checks
//! every time, while a third process spins on the CPU for the whole run
//! without system calls except a check-in every million iterations (a door
//! call to the parent's progress door). Only timer preemption lets the
//! spinner and the caller/server pair share the CPU.
//!
//! Checks: every echo; the server's count is exactly 100,000; the spinner
//! ran (counted its own iterations) and saw the client part-way through
//! (0 < count < 100,000) at its check-ins, i.e. it was scheduled in the
//! middle of the calls; it stops only when the parent tells it (after the
//! client is done), through the progress door's answer.
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use userland::abi::kstat::TIMER_TICKS;
use userland::door::{door_call, door_create, door_desc_t, door_return, door_revoke, errno};
use userland::testkit::{arg_for, word};
use userland::{arg, println, process};

userland::entry!(main);

const CALLS: u64 = 100_000;
/// Spinner iterations between two check-ins.
const SPIN_CHUNK: u64 = 1_000_000;
/// Most argument bytes the client sends.
const MAX_ARG: usize = 64;

/// Echo invocations served.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Echo invocations with a malformed request.
static BAD: AtomicU64 = AtomicU64::new(0);
/// Set by the parent once the client is done: the spinner's next check-in
/// tells it to stop.
static STOP: AtomicBool = AtomicBool::new(false);
/// The spinner's last report: iterations, check-ins, check-ins that saw the
/// client part-way, distinct part-way counts seen.
static SPUN: AtomicU64 = AtomicU64::new(0);
static CHECKINS: AtomicU64 = AtomicU64::new(0);
static MIDWAY: AtomicU64 = AtomicU64::new(0);
static DISTINCT: AtomicU64 = AtomicU64::new(0);

/// The echo: `count` (after this call) then the arguments reversed.
extern "C" fn echo(_c: *mut c_void, argp: *mut u8, size: usize, _dp: *mut door_desc_t, n: u32) {
    let count = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    let mut out = [0u8; 8 + MAX_ARG];
    let len = if size <= MAX_ARG && n == 0 {
        // SAFETY: the kernel laid out `size` argument bytes at `argp`.
        let args = unsafe { core::slice::from_raw_parts(argp, size) };
        out[..8].copy_from_slice(&count.to_le_bytes());
        for (o, a) in out[8..8 + size].iter_mut().zip(args.iter().rev()) {
            *o = *a;
        }
        8 + size
    } else {
        BAD.fetch_add(1, Ordering::SeqCst);
        0
    };
    door_return(out.as_mut_ptr(), len, core::ptr::null_mut(), 0);
    BAD.fetch_add(1, Ordering::SeqCst);
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

/// The spinner's check-in: arguments are its report (iterations,
/// check-ins, part-way sightings, distinct part-way counts); the answer is
/// the echo count and whether to stop.
extern "C" fn progress(
    _c: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    if size == 32 {
        // SAFETY: the kernel laid out `size` argument bytes at `argp`.
        let a = unsafe { core::slice::from_raw_parts(argp, size) };
        SPUN.store(word(a, 0), Ordering::SeqCst);
        CHECKINS.store(word(a, 8), Ordering::SeqCst);
        MIDWAY.store(word(a, 16), Ordering::SeqCst);
        DISTINCT.store(word(a, 24), Ordering::SeqCst);
    } else {
        BAD.fetch_add(1, Ordering::SeqCst);
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&COUNT.load(Ordering::SeqCst).to_le_bytes());
    out[8..].copy_from_slice(&u64::from(STOP.load(Ordering::SeqCst)).to_le_bytes());
    door_return(out.as_mut_ptr(), out.len(), core::ptr::null_mut(), 0);
    BAD.fetch_add(1, Ordering::SeqCst);
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

/// The arguments of call `i`: `i` then 0..=56 bytes that depend on it.
fn make_args(i: u64, buf: &mut [u8; MAX_ARG]) -> usize {
    let len = 8 + (i % 57) as usize;
    buf[..8].copy_from_slice(&i.to_le_bytes());
    for (j, b) in buf[8..len].iter_mut().enumerate() {
        *b = (i.wrapping_mul(31) as u8) ^ (j as u8).wrapping_mul(13) ^ 0xa5;
    }
    len
}

fn client() -> i32 {
    let door = 0;
    let mut args = [0u8; MAX_ARG];
    let mut rbuf = [0u8; 8 + MAX_ARG];
    let t0 = process::kstat(TIMER_TICKS).unwrap_or(0);
    for i in 0..CALLS {
        let len = make_args(i, &mut args);
        let mut a = arg_for(&args[..len], &mut rbuf);
        if door_call(door, &mut a) != 0 {
            println!(
                "dstress_many: call {i}: door_call failed: {}",
                errno().name()
            );
            return 1;
        }
        if a.rbuf != rbuf.as_ptr() as u64 || a.data_ptr != a.rbuf || a.data_size != 8 + len as u64 {
            println!(
                "dstress_many: call {i}: results at {:#x} size {} (rbuf {:p}, want size {})",
                a.data_ptr,
                a.data_size,
                rbuf.as_ptr(),
                8 + len
            );
            return 1;
        }
        let count = word(&rbuf, 0);
        if count != i + 1 {
            println!(
                "dstress_many: call {i}: server count {count} (want {})",
                i + 1
            );
            return 1;
        }
        if !rbuf[8..8 + len].iter().eq(args[..len].iter().rev()) {
            println!("dstress_many: call {i}: the echo differs from the {len} argument bytes");
            return 1;
        }
        if (i + 1) % 25_000 == 0 {
            println!("dstress_many: client: {} calls checked", i + 1);
        }
    }
    let ticks = process::kstat(TIMER_TICKS).unwrap_or(0) - t0;
    println!("dstress_many: client: {CALLS} calls in {ticks} timer ticks");
    0
}

/// One check-in at the progress door: sends the report, returns the echo
/// count and whether to stop.
fn checkin(door: i32, report: [u64; 4]) -> Option<(u64, bool)> {
    let mut args = [0u8; 32];
    for (k, v) in report.into_iter().enumerate() {
        args[k * 8..k * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    // Bigger than the 16-byte answer (dstress_big checks results that fill
    // rbuf exactly).
    let mut answer = [0u8; 32];
    let mut a = arg_for(&args, &mut answer);
    if door_call(door, &mut a) != 0 {
        println!("dstress_many: spinner: check-in failed: {}", errno().name());
        return None;
    }
    if a.data_size != 16 || a.data_ptr != answer.as_ptr() as u64 {
        println!(
            "dstress_many: spinner: check-in answer of {} bytes at {:#x}",
            a.data_size, a.data_ptr
        );
        return None;
    }
    Some((word(&answer, 0), word(&answer, 8) != 0))
}

fn spinner() -> i32 {
    let door = 0;
    let mut x = 1u64;
    let (mut spun, mut checkins, mut midway, mut distinct, mut last_mid) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    loop {
        for _ in 0..SPIN_CHUNK {
            x = core::hint::black_box(
                x.wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407),
            );
        }
        spun += SPIN_CHUNK;
        checkins += 1;
        let Some((count, stop)) = checkin(door, [spun, checkins, midway, distinct]) else {
            return 1;
        };
        if count > 0 && count < CALLS {
            midway += 1;
            if count != last_mid {
                distinct += 1;
                last_mid = count;
            }
        }
        if stop {
            // One last report with the final figures (not a check-in).
            if checkin(door, [spun, checkins, midway, distinct]).is_none() {
                return 1;
            }
            println!(
                "dstress_many: spinner: {spun} iterations, {checkins} check-ins, {midway} part-way ({distinct} distinct counts)"
            );
            return 0;
        }
    }
}

fn parent() -> Result<(), &'static str> {
    let echo_door = door_create(echo, core::ptr::null_mut(), 0);
    let progress_door = door_create(progress, core::ptr::null_mut(), 0);
    if echo_door < 0 || progress_door < 0 {
        println!("dstress_many: door_create failed: {}", errno().name());
        return Err("door_create");
    }
    let t0 = process::kstat(TIMER_TICKS).unwrap_or(0);
    let spin_pid = process::spawn_with_fds("dstress_many", &["spinner"], &[progress_door])
        .map_err(|_| "spawn spinner")?;
    let client_pid = process::spawn_with_fds("dstress_many", &["client"], &[echo_door])
        .map_err(|_| "spawn client")?;
    let (_, status) = process::wait(Some(client_pid)).map_err(|_| "wait client")?;
    let count = COUNT.load(Ordering::SeqCst);
    // The client is done: the spinner must still be running (it stops only
    // when told).
    STOP.store(true, Ordering::SeqCst);
    let (_, spin_status) = process::wait(Some(spin_pid)).map_err(|_| "wait spinner")?;
    let ticks = process::kstat(TIMER_TICKS).unwrap_or(0) - t0;
    if status != 0 {
        println!("dstress_many: client exited with {status}");
        return Err("client failed");
    }
    if spin_status != 0 {
        println!("dstress_many: spinner exited with {spin_status}");
        return Err("spinner failed");
    }
    if count != CALLS {
        println!("dstress_many: server counted {count} calls (want {CALLS})");
        return Err("call count");
    }
    let bad = BAD.load(Ordering::SeqCst);
    if bad != 0 {
        println!("dstress_many: {bad} malformed requests or failed door_returns");
        return Err("server-side failures");
    }
    let (spun, checkins, midway, distinct) = (
        SPUN.load(Ordering::SeqCst),
        CHECKINS.load(Ordering::SeqCst),
        MIDWAY.load(Ordering::SeqCst),
        DISTINCT.load(Ordering::SeqCst),
    );
    println!(
        "dstress_many: {count} calls; spinner: {spun} iterations in {checkins} check-ins, {midway} part-way, {distinct} distinct; {ticks} ticks"
    );
    if spun != checkins * SPIN_CHUNK || checkins == 0 {
        return Err("the spinner did not report its iterations");
    }
    // The spinner was scheduled in the middle of the calls, more than once:
    // it and the caller/server pair preempted each other.
    if distinct < 2 {
        return Err("the spinner did not run while the calls were under way");
    }
    if door_revoke(echo_door) != 0 || door_revoke(progress_door) != 0 {
        return Err("door_revoke");
    }
    Ok(())
}

fn main() -> i32 {
    match arg(1) {
        Some("client") => client(),
        Some("spinner") => spinner(),
        _ => match parent() {
            Ok(()) => {
                println!("dstress_many: ok");
                0
            }
            Err(e) => {
                println!("dstress_many: FAILED: {e}");
                1
            }
        },
    }
}
