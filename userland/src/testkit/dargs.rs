//! What the door_arg_t contract programs (dcall_contract, dcall_results)
//! share: their doors' server procedure, the requests it serves, the
//! helpers their client checks use, and the program's frame ([`run`]):
//! the parent serves the doors and runs the client checks itself, then
//! spawns a child (argument `child`) that runs them from another process.
//!
//! [`server`] serves the main door (cookie [`COOKIE_MAIN`], or any other
//! but [`COOKIE_NULL`]). Requests (first data byte):
//! - `E`: echo: returns the data reversed and every descriptor received
//!   (given back with DOOR_RELEASE), after checking each names the main door;
//! - `R len:u32 n:u8` ([`r_request`]): returns `len` bytes of [`PATTERN`]
//!   and `n` new descriptors for the main door;
//! - `Q`: returns the NULL door's record (5 little-endian i64).
//!
//! The NULL door (cookie [`COOKIE_NULL`]) always tries to return data, then
//! a descriptor, then nothing, and records what it was given and what
//! door_return said.

use super::Outcome;
use super::arg_for;
use super::dcall::info_of;
use crate::door::{
    DOOR_DESCRIPTOR, DOOR_RELEASE, close, door_arg_t, door_call, door_desc_t, door_info,
    door_info_t, door_return, dup, errno,
};
use crate::{arg, ensure, println, process};
use alloc::format;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::{null_mut, read_unaligned};
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;

/// The size of a descriptor entry.
pub const DESC: usize = core::mem::size_of::<door_desc_t>();
/// The main door's cookie.
pub const COOKIE_MAIN: usize = 0x1111;
/// The NULL door's cookie.
pub const COOKIE_NULL: usize = 0x2222;
/// "Not set": the door_return this value stands for did not come back.
pub const PENDING: i64 = -1000;

const fn pattern() -> [u8; 16384] {
    let mut p = [0u8; 16384];
    let mut i = 0;
    while i < p.len() {
        p[i] = ((i * 7 + 3) % 251) as u8 | 1;
        i += 1;
    }
    p
}
/// Result data of the 'R' request: byte `i` is `PATTERN[i]` (never zero).
pub static PATTERN: [u8; 16384] = pattern();

static MAIN_FD: AtomicI32 = AtomicI32::new(-1);
static MAIN_UNIQ: AtomicU64 = AtomicU64::new(0);
// What the NULL door's server saw and got in its last invocation.
static NULL_CALLS: AtomicI64 = AtomicI64::new(0);
static NULL_SIZE: AtomicI64 = AtomicI64::new(PENDING);
static NULL_NDESC: AtomicI64 = AtomicI64::new(PENDING);
static NULL_E_DATA: AtomicI64 = AtomicI64::new(PENDING);
static NULL_E_DESC: AtomicI64 = AtomicI64::new(PENDING);

/// Returns `bytes` to the caller (the server procedure ends there).
fn reply(bytes: &[u8]) {
    door_return(bytes.as_ptr() as *mut u8, bytes.len(), null_mut(), 0);
}

/// The server procedure of every door here (see the module doc).
pub extern "C" fn server(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) {
    if cookie as usize == COOKIE_NULL {
        null_server(size, n);
    } else {
        main_server(argp, size, dp, n);
    }
}

/// The NULL door: always tries to return data, then a descriptor, then
/// nothing; records what it was given and what door_return said.
fn null_server(size: usize, n: u32) {
    NULL_SIZE.store(size as i64, Ordering::SeqCst);
    NULL_NDESC.store(i64::from(n), Ordering::SeqCst);
    NULL_E_DATA.store(PENDING, Ordering::SeqCst);
    NULL_E_DESC.store(PENDING, Ordering::SeqCst);
    NULL_CALLS.fetch_add(1, Ordering::SeqCst);
    door_return(b"xyz".as_ptr() as *mut u8, 3, null_mut(), 0);
    NULL_E_DATA.store(errno().code() as i64, Ordering::SeqCst);
    let mut d = door_desc_t::new(MAIN_FD.load(Ordering::SeqCst), DOOR_DESCRIPTOR);
    door_return(null_mut(), 0, &mut d, 1);
    NULL_E_DESC.store(errno().code() as i64, Ordering::SeqCst);
    door_return(null_mut(), 0, null_mut(), 0);
}

/// The main door (its requests are in the module doc).
fn main_server(argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    // SAFETY: the kernel laid out `size` bytes and `n` entries there, in
    // this thread's stack area.
    let data: &mut [u8] = if size == 0 {
        &mut []
    } else {
        unsafe { core::slice::from_raw_parts_mut(argp, size) }
    };
    let descs: &mut [door_desc_t] = if n == 0 {
        &mut []
    } else {
        unsafe { core::slice::from_raw_parts_mut(dp, n as usize) }
    };
    match data.first().copied() {
        Some(b'E') => {
            let uniq = MAIN_UNIQ.load(Ordering::SeqCst);
            let mut good = true;
            for d in descs.iter() {
                let mut info = door_info_t::default();
                let fd = d.d_descriptor;
                let ok = d.d_attributes & DOOR_DESCRIPTOR != 0
                    && door_info(fd, &mut info) == 0
                    && info.di_uniquifier == uniq
                    && d.d_id == uniq;
                good &= ok;
            }
            if !good {
                for d in descs.iter() {
                    close(d.d_descriptor);
                }
                return reply(b"server: bad descriptor received");
            }
            data.reverse();
            for d in descs.iter_mut() {
                d.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
            }
            door_return(argp, size, dp, n);
            reply(b"server: echo door_return failed");
        }
        Some(b'R') if size >= 6 => {
            let len = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) as usize;
            let nd = usize::from(data[5]).min(4);
            if len > PATTERN.len() {
                return reply(b"server: R too long");
            }
            let mut out = [door_desc_t::default(); 4];
            for o in out.iter_mut().take(nd) {
                *o = door_desc_t::new(
                    dup(MAIN_FD.load(Ordering::SeqCst)),
                    DOOR_DESCRIPTOR | DOOR_RELEASE,
                );
            }
            door_return(
                PATTERN.as_ptr() as *mut u8,
                len,
                out.as_mut_ptr(),
                nd as u32,
            );
            for o in out.iter().take(nd) {
                close(o.d_descriptor);
            }
            reply(b"server: R door_return failed");
        }
        Some(b'Q') => {
            let rec = [
                NULL_CALLS.load(Ordering::SeqCst),
                NULL_SIZE.load(Ordering::SeqCst),
                NULL_NDESC.load(Ordering::SeqCst),
                NULL_E_DATA.load(Ordering::SeqCst),
                NULL_E_DESC.load(Ordering::SeqCst),
            ];
            let mut out = [0u8; 40];
            for (i, v) in rec.iter().enumerate() {
                out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            reply(&out);
        }
        _ => reply(b"server: unknown request"),
    }
}

/// Makes `main` (served by [`server`]) the door the main server's
/// descriptors and checks name.
pub fn serve_main(main: i32) -> Outcome {
    MAIN_FD.store(main, Ordering::SeqCst);
    MAIN_UNIQ.store(info_of(main)?.di_uniquifier, Ordering::SeqCst);
    Ok(())
}

/// A 16-byte aligned buffer (so descriptor entries in it are aligned too).
#[repr(C, align(16))]
pub struct Buf<const N: usize>(pub [u8; N]);

/// door_call of `d` with `a`, which must succeed.
pub fn call(what: &str, d: i32, a: &mut door_arg_t) -> Outcome {
    if door_call(d, a) != 0 {
        return Err(format!("{what}: door_call failed with {}", errno().name()));
    }
    Ok(())
}

/// The `R` request for `len` bytes and `nd` descriptors.
pub fn r_request(len: u32, nd: u8) -> [u8; 6] {
    let l = len.to_le_bytes();
    [b'R', l[0], l[1], l[2], l[3], nd]
}

/// Checks a received descriptor entry names the main door, then closes it.
pub fn take_desc(what: &str, d: door_desc_t, uniq: u64) -> Outcome {
    let (attrs, fd, id) = (d.d_attributes, d.d_descriptor, d.d_id);
    ensure!(
        attrs & DOOR_DESCRIPTOR != 0,
        "{what}: received entry lacks DOOR_DESCRIPTOR (attributes {attrs:#x})"
    );
    ensure!(
        id == uniq,
        "{what}: received d_id {id}, the door's id is {uniq}"
    );
    let info = info_of(fd).map_err(|e| format!("{what}: received descriptor: {e}"))?;
    let got = info.di_uniquifier;
    ensure!(
        got == uniq,
        "{what}: received descriptor {fd} names door {got}, expected {uniq}"
    );
    ensure!(close(fd) == 0, "{what}: close({fd}) failed");
    Ok(())
}

/// The `n` descriptor entries the kernel wrote at `ptr`.
pub fn descs_at(ptr: u64, n: usize) -> Vec<door_desc_t> {
    // SAFETY: the kernel wrote `n` entries at `ptr` (inside the result area).
    (0..n)
        .map(|i| unsafe { read_unaligned((ptr as *const door_desc_t).add(i)) })
        .collect()
}

/// The `n` result bytes the kernel wrote at `ptr`.
pub fn bytes_at(ptr: u64, n: usize) -> &'static [u8] {
    // SAFETY: the kernel wrote `n` bytes at `ptr` (the result area).
    unsafe { core::slice::from_raw_parts(ptr as *const u8, n) }
}

/// `data` reversed (what the `E` request returns).
pub fn reversed(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

static FAILED: AtomicU32 = AtomicU32::new(0);
static PROGRAM: Mutex<&str> = Mutex::new("?");

/// Runs one group of checks; a failure is reported and counted, and the
/// next group still runs.
pub fn section(who: &str, name: &str, f: impl FnOnce() -> Outcome) {
    if let Err(e) = f() {
        println!("{}: FAIL: {who}: {name}: {e}", *PROGRAM.lock());
        FAILED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns the child (arguments `args`, descriptors `fds`) and waits for
/// it; then `main` must still serve.
pub fn child_then_final_echo(args: &[&str], fds: &[i32], main: i32) -> Outcome {
    let p = *PROGRAM.lock();
    let pid = process::spawn_with_fds(p, args, fds).map_err(|e| format!("spawn: {e:?}"))?;
    let (_, status) = process::wait(Some(pid)).map_err(|e| format!("wait: {e:?}"))?;
    if status != 0 {
        println!("{p}: FAIL: child exited with status {status}");
        FAILED.fetch_add(1, Ordering::SeqCst);
    }
    // Still serving after everything the child did.
    let args = *b"Elast";
    let mut rbuf = [0u8; 64];
    let mut a = arg_for(&args, &mut rbuf);
    call("final echo", main, &mut a)?;
    ensure!(
        a.data_size == 5 && bytes_at(a.data_ptr, 5) == b"tsalE",
        "final echo: reply {:?}",
        core::str::from_utf8(bytes_at(a.data_ptr, a.data_size as usize))
    );
    Ok(())
}

/// The whole program `p`: `child` with argument `child`, else `parent`;
/// either way the verdict over its result and the failed sections.
pub fn run(p: &'static str, parent: fn() -> Outcome, child: fn() -> Outcome) -> i32 {
    *PROGRAM.lock() = p;
    let is_child = arg(1) == Some("child");
    let result = if is_child { child() } else { parent() };
    let failed = FAILED.load(Ordering::SeqCst);
    match result {
        Ok(()) if failed == 0 => {
            if !is_child {
                println!("{p}: ok");
            }
            0
        }
        Ok(()) if is_child => {
            println!("{p}: child: {failed} group(s) of checks failed");
            1
        }
        Ok(()) => {
            println!("{p}: FAIL: {failed} group(s) of checks failed");
            1
        }
        Err(e) => {
            println!("{p}: FAIL: {e}");
            1
        }
    }
}
