//! The door_call error codes of doors-semantics.md that come from the
//! server's limits, each with its own check, across two processes:
//!
//! - EMFILE: the server's descriptor table is full and descriptors are passed;
//! - ENFILE: more descriptors than DOOR_PARAM_DESC_MAX;
//! - ENOBUFS: data_size outside DATA_MIN..DATA_MAX;
//! - ENOTSUP: descriptors sent to a DOOR_REFUSE_DESC door.
//!
//! (The other error codes are checked by dcall_errors, EOVERFLOW by
//! dcall_results.) Where a failing call carries a DOOR_RELEASE descriptor,
//! the check also verifies it is closed.
//!
//! The parent is the client. It serves a registry door (descriptor 0 of the
//! child) through which the server child hands over its doors and parks its
//! main thread until the parent lets it exit.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use spin::Mutex;
use userland::abi::errno::{self, EMFILE, ENFILE, ENOBUFS, ENOTSUP};
use userland::door::*;
use userland::testkit::{Outcome as R, arg_for, info, spawn_server_thread};
use userland::{arg, ensure, println, process};

userland::entry!(main);

/// Stack size of the server child's pool threads.
const SMALL_STACK: usize = 32 * 1024;

// ---------------------------------------------------------------------------
// The server child.
// ---------------------------------------------------------------------------

/// The child's doors, in the order it registers them with the parent.
const D_MAIN: usize = 0;
const D_LIM: usize = 1;
const D_REFUSE: usize = 2;
const NDOORS: usize = 3;

static FILLED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// The child's door_server_create procedure: pool threads with small stacks.
extern "C" fn small_create(_info: *mut door_info_t) {
    let _ = spawn_server_thread(SMALL_STACK, |_| {});
}

fn reply(bytes: &[u8]) {
    door_return(bytes.as_ptr() as *mut u8, bytes.len(), null_mut(), 0);
}

/// "ok", the number of descriptors and the data size received.
fn ok_reply(n: u32, size: usize) {
    let s = (size as u32).to_le_bytes();
    reply(&[b'o', b'k', n as u8, s[0], s[1], s[2], s[3]]);
}

/// The child's server procedure (all its doors). Requests by first byte:
/// `E` echo (closes received descriptors, replies [`ok_reply`]); `F` fills
/// the descriptor table; `U` empties it again.
extern "C" fn child_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    // SAFETY: the kernel laid out `n` entries at `dp`.
    let descs: &[door_desc_t] = if n == 0 {
        &[]
    } else {
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    };
    for d in descs {
        close(d.d_descriptor);
    }
    // SAFETY: `size` bytes at `argp`.
    let op = if size == 0 { 0 } else { unsafe { *argp } };
    match op {
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
            reply(&[c[0], c[1], c[2], c[3], stop as u8]);
        }
        b'U' => {
            let mut filled = FILLED.lock();
            for &d in filled.iter() {
                close(d);
            }
            let c = (filled.len() as u32).to_le_bytes();
            filled.clear();
            drop(filled);
            reply(&c);
        }
        _ => ok_reply(n, size),
    }
}

fn server_child() -> i32 {
    door_server_create(Some(small_create));
    let mut doors = [-1; NDOORS];
    let attrs = [0, 0, DOOR_REFUSE_DESC];
    for (i, d) in doors.iter_mut().enumerate() {
        *d = door_create(child_server, i as *mut c_void, attrs[i]);
        if *d < 0 {
            println!(
                "dcall_limits: server: door_create failed: {}",
                errno::name(errno())
            );
            return 2;
        }
    }
    let lim = doors[D_LIM];
    if door_setparam(lim, DOOR_PARAM_DESC_MAX, 1) != 0
        || door_setparam(lim, DOOR_PARAM_DATA_MIN, 4) != 0
        || door_setparam(lim, DOOR_PARAM_DATA_MAX, 64) != 0
    {
        println!(
            "dcall_limits: server: door_setparam failed: {}",
            errno::name(errno())
        );
        return 3;
    }
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
        println!(
            "dcall_limits: server: registering failed: {}",
            errno::name(errno())
        );
        return 4;
    }
    // Park until the parent lets this process exit.
    let msg = [b'P'];
    let mut a = arg_for(&msg, &mut rbuf);
    if door_call(0, &mut a) != 0 {
        println!(
            "dcall_limits: server: park failed: {}",
            errno::name(errno())
        );
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
static FAILED: AtomicU32 = AtomicU32::new(0);
static LOCAL_FD: AtomicI32 = AtomicI32::new(-1);

/// The parent's server procedure: `G` registers the child's doors, `P`
/// parks the child until CHILD_EXIT; anything else is an echo
/// ([`ok_reply`]).
extern "C" fn parent_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    // SAFETY: as in child_server.
    let descs: &[door_desc_t] = if n == 0 {
        &[]
    } else {
        unsafe { core::slice::from_raw_parts(dp, n as usize) }
    };
    let op = if size == 0 { 0 } else { unsafe { *argp } };
    match op {
        b'G' => {
            *REG.lock() = descs.iter().map(|d| d.d_descriptor).collect();
            REGISTERED.store(true, Ordering::SeqCst);
            reply(&[]);
        }
        b'P' => {
            while !CHILD_EXIT.load(Ordering::SeqCst) {
                process::sleep_ticks(1);
            }
            reply(&[]);
        }
        _ => {
            for d in descs {
                close(d.d_descriptor);
            }
            ok_reply(n, size)
        }
    }
}

/// Calls `d` with `data` and `descs`; the reply data, or the errno.
fn call(d: i32, data: &[u8], descs: &[door_desc_t]) -> Result<Vec<u8>, isize> {
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
        let _ = userland::heap::unmap(a.rbuf as usize, a.rsize as usize);
    }
    Ok(out)
}

fn expect_ok(what: &str, d: i32, data: &[u8], descs: &[door_desc_t]) -> R {
    let want = {
        let s = (data.len() as u32).to_le_bytes();
        [b'o', b'k', descs.len() as u8, s[0], s[1], s[2], s[3]]
    };
    match call(d, data, descs) {
        Ok(r) if r == want => Ok(()),
        Ok(r) => Err(format!("{what}: unexpected reply {r:?}, expected {want:?}")),
        Err(e) => Err(format!("{what}: door_call failed with {}", errno::name(e))),
    }
}

fn expect_err(what: &str, d: i32, data: &[u8], descs: &[door_desc_t], want: isize) -> R {
    match call(d, data, descs) {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: door_call failed with {}, expected {}",
            errno::name(e),
            errno::name(want)
        )),
        Ok(r) => Err(format!(
            "{what}: door_call succeeded (reply {r:?}), expected {}",
            errno::name(want)
        )),
    }
}

/// A raw door_call that must fail with `want`.
fn expect_raw(what: &str, d: i32, params: *mut door_arg_t, want: isize) -> R {
    let r = door_call(d, params);
    ensure!(
        r == -1 && errno() == want,
        "{what}: door_call gave {r} ({}), expected {}",
        if r == -1 {
            errno::name(errno())
        } else {
            "success"
        },
        errno::name(want)
    );
    Ok(())
}

/// A new descriptor for the registry door, to pass around.
fn spare() -> Result<i32, String> {
    let d = dup(LOCAL_FD.load(Ordering::SeqCst));
    ensure!(d >= 0, "dup failed with {}", errno::name(errno()));
    Ok(d)
}

/// A failing call closed (or, for EFAULT/EBADF, kept) its DOOR_RELEASE descriptor.
fn released(what: &str, d: i32, closed: bool) -> R {
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

fn section(name: &str, f: impl FnOnce() -> R) {
    match f() {
        Ok(()) => println!("dcall_limits: {name}: ok"),
        Err(e) => {
            println!("dcall_limits: FAIL: {name}: {e}");
            FAILED.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn emfile(main: i32) -> R {
    let filled = match call(main, b"F", &[]) {
        Ok(r) if r.len() == 5 => {
            let n = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            ensure!(
                n > 0 && isize::from(r[4]) == EMFILE,
                "the child filled {n} slots and then got {}, expected EMFILE",
                errno::name(isize::from(r[4]))
            );
            n
        }
        Ok(r) => return Err(format!("fill: reply {r:?}")),
        Err(e) => return Err(format!("fill: {}", errno::name(e))),
    };
    let checks = (|| -> R {
        let s = spare()?;
        let r = expect_err(
            "a descriptor to a server whose table is full",
            main,
            b"E",
            &[door_desc_t::new(s, DOOR_DESCRIPTOR)],
            EMFILE,
        );
        let open = info(s).is_ok();
        close(s);
        r?;
        ensure!(
            open,
            "EMFILE: a descriptor passed without DOOR_RELEASE was closed"
        );
        let s = spare()?;
        expect_err(
            "a DOOR_RELEASE descriptor to a full table",
            main,
            b"E",
            &[door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)],
            EMFILE,
        )?;
        released("EMFILE", s, true)?;
        expect_ok("no descriptors while the table is full", main, b"E", &[])
    })();
    let emptied = match call(main, b"U", &[]) {
        Ok(r) if r.len() == 4 => u32::from_le_bytes([r[0], r[1], r[2], r[3]]),
        Ok(r) => return Err(format!("unfill: reply {r:?}")),
        Err(e) => return Err(format!("unfill: {}", errno::name(e))),
    };
    checks?;
    ensure!(emptied == filled, "unfill closed {emptied} of {filled}");
    let s = spare()?;
    let r = expect_ok(
        "a descriptor once the table has room",
        main,
        b"E",
        &[door_desc_t::new(s, DOOR_DESCRIPTOR)],
    );
    close(s);
    r
}

fn param(d: i32, p: i32) -> Result<usize, String> {
    let mut v = 0usize;
    ensure!(
        door_getparam(d, p, &mut v) == 0,
        "door_getparam({p}) failed with {}",
        errno::name(errno())
    );
    Ok(v)
}

fn enfile(lim: i32) -> R {
    let max = param(lim, DOOR_PARAM_DESC_MAX)?;
    ensure!(max == 1, "DESC_MAX is {max}, the server set 1");
    let (a, b) = (spare()?, spare()?);
    let r = expect_err(
        "two descriptors, DESC_MAX 1",
        lim,
        b"Eenfile",
        &[
            door_desc_t::new(a, DOOR_DESCRIPTOR),
            door_desc_t::new(b, DOOR_DESCRIPTOR),
        ],
        ENFILE,
    );
    close(a);
    close(b);
    r?;
    let (a, b) = (spare()?, spare()?);
    expect_err(
        "two DOOR_RELEASE descriptors, DESC_MAX 1",
        lim,
        b"Eenfile",
        &[
            door_desc_t::new(a, DOOR_DESCRIPTOR | DOOR_RELEASE),
            door_desc_t::new(b, DOOR_DESCRIPTOR | DOOR_RELEASE),
        ],
        ENFILE,
    )?;
    released("ENFILE (first)", a, true)?;
    released("ENFILE (second)", b, true)?;
    let a = spare()?;
    let r = expect_ok(
        "one descriptor, DESC_MAX 1",
        lim,
        b"Eenfile",
        &[door_desc_t::new(a, DOOR_DESCRIPTOR)],
    );
    close(a);
    r
}

fn enobufs(lim: i32) -> R {
    let (min, max) = (
        param(lim, DOOR_PARAM_DATA_MIN)?,
        param(lim, DOOR_PARAM_DATA_MAX)?,
    );
    ensure!(
        min == 4 && max == 64,
        "DATA_MIN {min} DATA_MAX {max}, the server set 4 and 64"
    );
    let data = [b'E'; 65];
    expect_err("3 bytes, DATA_MIN 4", lim, &data[..3], &[], ENOBUFS)?;
    expect_err("65 bytes, DATA_MAX 64", lim, &data[..65], &[], ENOBUFS)?;
    expect_raw(
        "params NULL (0 bytes), DATA_MIN 4",
        lim,
        null_mut(),
        ENOBUFS,
    )?;
    let s = spare()?;
    expect_err(
        "3 bytes with a DOOR_RELEASE descriptor",
        lim,
        &data[..3],
        &[door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)],
        ENOBUFS,
    )?;
    released("ENOBUFS", s, true)?;
    expect_ok("4 bytes", lim, &data[..4], &[])?;
    expect_ok("64 bytes", lim, &data[..64], &[])
}

fn enotsup(refuse: i32) -> R {
    let max = param(refuse, DOOR_PARAM_DESC_MAX)?;
    ensure!(
        max == 0,
        "DESC_MAX of a DOOR_REFUSE_DESC door is {max}, expected 0"
    );
    let s = spare()?;
    let r = expect_err(
        "a descriptor to a DOOR_REFUSE_DESC door",
        refuse,
        b"E",
        &[door_desc_t::new(s, DOOR_DESCRIPTOR)],
        ENOTSUP,
    );
    close(s);
    r?;
    let s = spare()?;
    expect_err(
        "a DOOR_RELEASE descriptor to a DOOR_REFUSE_DESC door",
        refuse,
        b"E",
        &[door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)],
        ENOTSUP,
    )?;
    released("ENOTSUP", s, true)?;
    expect_ok(
        "no descriptors to a DOOR_REFUSE_DESC door",
        refuse,
        b"E",
        &[],
    )
}

fn main() -> i32 {
    if arg(1) == Some("server") {
        return server_child();
    }
    let reg = door_create(parent_server, null_mut(), 0);
    if reg < 0 {
        println!("dcall_limits: FAIL: door_create: {}", errno::name(errno()));
        return 1;
    }
    LOCAL_FD.store(reg, Ordering::SeqCst);
    let child = match process::spawn_with_fds("dcall_limits", &["server"], &[reg]) {
        Ok(p) => p,
        Err(e) => {
            println!("dcall_limits: FAIL: spawn: {e:?}");
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
            "dcall_limits: FAIL: the server child registered {} doors",
            reg_fds.len()
        );
        CHILD_EXIT.store(true, Ordering::SeqCst);
        let _ = process::wait(Some(child));
        return 1;
    }
    let d = |i: usize| reg_fds[i];
    section("EMFILE", || emfile(d(D_MAIN)));
    section("ENFILE", || enfile(d(D_LIM)));
    section("ENOBUFS", || enobufs(d(D_LIM)));
    section("ENOTSUP", || enotsup(d(D_REFUSE)));
    CHILD_EXIT.store(true, Ordering::SeqCst);
    let _ = process::wait(Some(child));
    match FAILED.load(Ordering::SeqCst) {
        0 => {
            println!("dcall_limits: ok");
            0
        }
        n => {
            println!("dcall_limits: FAIL: {n} error code check(s) failed");
            1
        }
    }
}
