//! The two-process harness of the door_call error-code programs
//! (dcall_errors, dcall_limits): the parent is the client and serves a
//! registry door (descriptor 0 of the child), through which a server child
//! hands over its [`NDOORS`] doors and parks its main thread until the
//! parent lets it exit. [`run`] is the whole program; the checks report
//! through [`section`] and use the call helpers here.
//!
//! The child's doors all run one server procedure. Requests by first byte:
//! `E` (or anything else) echo: closes the received descriptors and replies
//! "ok", their count and the data size; `H` tells the parent it is serving,
//! then never returns; `V` revokes the child's last door; `F` fills the
//! child's descriptor table (replies the count and the errno that stopped
//! it); `U` empties it again (replies the count closed).

use super::{Outcome, arg_for, info, spawn_server_thread};
use crate::Errno;
use crate::door::{
    DOOR_DESCRIPTOR, close, door_arg_t, door_call, door_create, door_desc_t, door_info_t,
    door_return, door_revoke, door_server_create, dup, errno,
};
use crate::{arg, ensure, println, process};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use spin::Mutex;

/// How many doors the server child registers.
pub const NDOORS: usize = 3;

/// Stack size of the server child's pool threads.
const SMALL_STACK: usize = 32 * 1024;

/// door_info of `d`, or a message naming the errno.
pub fn info_of(d: i32) -> Result<door_info_t, String> {
    info(d).map_err(|e| format!("door_info({d}) failed with {}", e.name()))
}

// ---------------------------------------------------------------------------
// The server child.
// ---------------------------------------------------------------------------

static CHILD_DOORS: Mutex<[i32; NDOORS]> = Mutex::new([-1; NDOORS]);
static FILLED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// The child's door_server_create procedure: pool threads with small stacks.
extern "C" fn small_create(_info: *mut door_info_t) {
    let _ = spawn_server_thread(SMALL_STACK, |_| {});
}

/// Ends the invocation with `bytes` (no descriptors).
fn answer(bytes: &[u8]) {
    door_return(bytes.as_ptr() as *mut u8, bytes.len(), null_mut(), 0);
}

/// "ok", the number of descriptors and the data size received.
fn ok_reply(n: u32, size: usize) {
    let s = (size as u32).to_le_bytes();
    answer(&[b'o', b'k', n as u8, s[0], s[1], s[2], s[3]]);
}

/// The descriptor entries of an invocation.
fn received<'a>(dp: *mut door_desc_t, n: u32) -> &'a [door_desc_t] {
    if n == 0 {
        &[]
    } else {
        // SAFETY: the kernel laid out `n` entries at `dp`.
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    }
}

/// The first data byte of an invocation (0 without data).
fn op(argp: *mut u8, size: usize) -> u8 {
    // SAFETY: `size` bytes at `argp`.
    if size == 0 { 0 } else { unsafe { *argp } }
}

/// The child's server procedure (all its doors; see the module doc).
extern "C" fn child_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    for d in received(dp, n) {
        close(d.d_descriptor);
    }
    match op(argp, size) {
        b'H' => {
            let mut rbuf = [0u8; 16];
            let msg = [b'h'];
            let mut a = arg_for(&msg, &mut rbuf);
            door_call(0, &mut a);
            loop {
                process::sleep_ticks(10);
            }
        }
        b'V' => {
            let d = CHILD_DOORS.lock()[NDOORS - 1];
            let r = door_revoke(d);
            answer(&[if r == 0 { 0 } else { errno().code() as u8 }]);
        }
        b'F' => {
            let mut filled = FILLED.lock();
            let stop = loop {
                let d = dup(0);
                if d < 0 {
                    break errno();
                }
                filled.push(d);
            };
            let c = (filled.len() as u32).to_le_bytes();
            drop(filled);
            answer(&[c[0], c[1], c[2], c[3], stop.code() as u8]);
        }
        b'U' => {
            let mut filled = FILLED.lock();
            for &d in filled.iter() {
                close(d);
            }
            let c = (filled.len() as u32).to_le_bytes();
            filled.clear();
            drop(filled);
            answer(&c);
        }
        _ => ok_reply(n, size),
    }
}

/// The server child of program `p`: creates its doors with `attrs`, runs
/// `setup` on them (which names the step that failed), registers them with
/// the parent and parks. The exit status says which step failed.
fn server_child(
    p: &str,
    attrs: [u32; NDOORS],
    setup: fn(&[i32; NDOORS]) -> Result<(), &'static str>,
) -> i32 {
    door_server_create(Some(small_create));
    let mut doors = [-1; NDOORS];
    for (i, d) in doors.iter_mut().enumerate() {
        *d = door_create(child_server, i as *mut c_void, attrs[i]);
        if *d < 0 {
            println!("{p}: server: door_create failed: {}", errno().name());
            return 2;
        }
    }
    if let Err(step) = setup(&doors) {
        println!("{p}: server: {step} failed: {}", errno().name());
        return 3;
    }
    *CHILD_DOORS.lock() = doors;
    let descs: Vec<door_desc_t> = doors
        .iter()
        .map(|&d| door_desc_t::new(d, DOOR_DESCRIPTOR))
        .collect();
    let mut rbuf = [0u8; 16];
    let msg = [b'G'];
    let mut a = arg_for(&msg, &mut rbuf);
    a.desc_ptr = descs.as_ptr() as u64;
    a.desc_num = NDOORS as u32;
    if door_call(0, &mut a) != 0 {
        println!("{p}: server: registering failed: {}", errno().name());
        return 4;
    }
    // Park until the parent lets this process exit.
    let msg = [b'P'];
    let mut a = arg_for(&msg, &mut rbuf);
    if door_call(0, &mut a) != 0 {
        println!("{p}: server: park failed: {}", errno().name());
        return 5;
    }
    0
}

// ---------------------------------------------------------------------------
// The parent: registry door and client checks.
// ---------------------------------------------------------------------------

static REG: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static REGISTERED: AtomicBool = AtomicBool::new(false);
static CHILD_EXIT: AtomicBool = AtomicBool::new(false);
static HUNG: AtomicBool = AtomicBool::new(false);
static WAITED: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicU32 = AtomicU32::new(0);
static LOCAL_FD: AtomicI32 = AtomicI32::new(-1);
static PROGRAM: Mutex<&str> = Mutex::new("?");

/// The parent's server procedure: `G` registers the child's doors, `P`
/// parks the child until it may exit, `h` notes the child is serving a
/// hanging call; anything else is an echo like the child's.
pub extern "C" fn parent_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    let descs = received(dp, n);
    match op(argp, size) {
        b'G' => {
            *REG.lock() = descs.iter().map(|d| d.d_descriptor).collect();
            REGISTERED.store(true, Ordering::SeqCst);
            answer(&[]);
        }
        b'P' => {
            while !CHILD_EXIT.load(Ordering::SeqCst) {
                process::sleep_ticks(1);
            }
            answer(&[]);
        }
        b'h' => {
            HUNG.store(true, Ordering::SeqCst);
            answer(&[]);
        }
        _ => {
            for d in descs {
                close(d.d_descriptor);
            }
            ok_reply(n, size)
        }
    }
}

/// Whether the child has started serving a hanging (`H`) call.
pub fn hung() -> bool {
    HUNG.load(Ordering::SeqCst)
}

/// Lets the server child's parked main thread return (and the child exit).
pub fn let_child_exit() {
    CHILD_EXIT.store(true, Ordering::SeqCst);
}

/// Waits for the server child; once that succeeds, [`run`] does not wait
/// for it again.
pub fn reap(child: u32) -> Result<(u32, i32), crate::Errno> {
    let r = process::wait(Some(child));
    if r.is_ok() {
        WAITED.store(true, Ordering::SeqCst);
    }
    r
}

/// Calls `d` with `data` and `descs`; the reply data, or the errno.
pub fn call(d: i32, data: &[u8], descs: &[door_desc_t]) -> Result<Vec<u8>, Errno> {
    let mut rbuf = [0u8; 64];
    let mut a = arg_for(data, &mut rbuf);
    a.desc_ptr = descs.as_ptr() as u64;
    a.desc_num = descs.len() as u32;
    if door_call(d, &mut a) != 0 {
        return Err(errno());
    }
    // SAFETY: the results are at data_ptr (rbuf: every reply here fits).
    let out = unsafe { core::slice::from_raw_parts(a.data_ptr as *const u8, a.data_size as usize) }
        .to_vec();
    if a.rbuf != rbuf.as_ptr() as u64 {
        let _ = crate::heap::unmap(a.rbuf as usize, a.rsize as usize);
    }
    Ok(out)
}

/// An echo call to `d` must succeed with the reply for `data` and `descs`.
pub fn expect_ok(what: &str, d: i32, data: &[u8], descs: &[door_desc_t]) -> Outcome {
    let want = {
        let s = (data.len() as u32).to_le_bytes();
        [b'o', b'k', descs.len() as u8, s[0], s[1], s[2], s[3]]
    };
    match call(d, data, descs) {
        Ok(r) if r == want => Ok(()),
        Ok(r) => Err(format!("{what}: unexpected reply {r:?}, expected {want:?}")),
        Err(e) => Err(format!("{what}: door_call failed with {}", e.name())),
    }
}

/// A call to `d` must fail with `want`.
pub fn expect_err(what: &str, d: i32, data: &[u8], descs: &[door_desc_t], want: Errno) -> Outcome {
    match call(d, data, descs) {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: door_call failed with {}, expected {}",
            e.name(),
            want.name()
        )),
        Ok(r) => Err(format!(
            "{what}: door_call succeeded (reply {r:?}), expected {}",
            want.name()
        )),
    }
}

/// A raw door_call that must fail with `want`.
pub fn expect_raw(what: &str, d: i32, params: *mut door_arg_t, want: Errno) -> Outcome {
    let r = door_call(d, params);
    ensure!(
        r == -1 && errno() == want,
        "{what}: door_call gave {r} ({}), expected {}",
        if r == -1 { errno().name() } else { "success" },
        want.name()
    );
    Ok(())
}

/// A new descriptor for the registry door, to pass around.
pub fn spare() -> Result<i32, String> {
    let d = dup(LOCAL_FD.load(Ordering::SeqCst));
    ensure!(d >= 0, "dup failed with {}", errno().name());
    Ok(d)
}

/// A failing call closed (or, for EFAULT/EBADF, kept) its DOOR_RELEASE descriptor.
pub fn released(what: &str, d: i32, closed: bool) -> Outcome {
    let open = info(d).is_ok();
    if open {
        close(d);
    }
    ensure!(
        open != closed,
        "{what}: the DOOR_RELEASE descriptor was {} (expected {})",
        if open { "left open" } else { "closed" },
        if closed { "closed" } else { "left open" }
    );
    Ok(())
}

/// Runs one error code's checks: prints `<program>: <name>: ok`, or the
/// failure (counted).
pub fn section(name: &str, f: impl FnOnce() -> Outcome) {
    let p = *PROGRAM.lock();
    match f() {
        Ok(()) => println!("{p}: {name}: ok"),
        Err(e) => {
            println!("{p}: FAIL: {name}: {e}");
            FAILED.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The whole program `p`: as the server child (argument `server`), creates
/// doors with `attrs` and runs `setup` on them; as the parent, spawns the
/// child and runs `checks` with the child's doors (in the order created)
/// and its pid, then reports the verdict.
pub fn run(
    p: &'static str,
    attrs: [u32; NDOORS],
    setup: fn(&[i32; NDOORS]) -> Result<(), &'static str>,
    checks: impl FnOnce(&[i32], u32),
) -> i32 {
    if arg(1) == Some("server") {
        return server_child(p, attrs, setup);
    }
    *PROGRAM.lock() = p;
    let reg = door_create(parent_server, null_mut(), 0);
    if reg < 0 {
        println!("{p}: FAIL: door_create: {}", errno().name());
        return 1;
    }
    LOCAL_FD.store(reg, Ordering::SeqCst);
    let child = match process::spawn_with_fds(p, &["server"], &[reg]) {
        Ok(pid) => pid,
        Err(e) => {
            println!("{p}: FAIL: spawn: {e:?}");
            return 1;
        }
    };
    for _ in 0..1000 {
        if REGISTERED.load(Ordering::SeqCst) {
            break;
        }
        process::sleep_ticks(1);
    }
    let reg_fds = REG.lock().clone();
    if reg_fds.len() != NDOORS {
        println!(
            "{p}: FAIL: the server child registered {} doors",
            reg_fds.len()
        );
        let_child_exit();
        let _ = process::wait(Some(child));
        return 1;
    }
    checks(&reg_fds, child);
    let_child_exit();
    if !WAITED.load(Ordering::SeqCst) {
        let _ = process::wait(Some(child));
    }
    match FAILED.load(Ordering::SeqCst) {
        0 => {
            println!("{p}: ok");
            0
        }
        n => {
            println!("{p}: FAIL: {n} error code check(s) failed");
            1
        }
    }
}
