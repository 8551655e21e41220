//! The result side of the door_arg_t contract of door_call / door_return
//! (doors-semantics.md, "door_call"), within one process and across two:
//! params == NULL (no arguments, no results, and the server's door_return
//! with data or descriptors fails with E2BIG); results larger than rsize in
//! a new zero-filled, page-rounded mapping that the caller unmaps (also
//! with rbuf NULL and rsize 0), results of exactly rsize bytes with a
//! descriptor still in rbuf; EOVERFLOW when that mapping cannot be made.
//!
//! (The door_create attributes and the rest of the contract are checked by
//! dcall_contract.) The parent serves two doors and runs the client checks
//! on them itself, then spawns a child (descriptors 0 = main door, 1 = NULL
//! door) that runs the same checks from another process and the EOVERFLOW
//! check last (after `mem_limit(0)`).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::{null_mut, read_unaligned};
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};
use userland::abi::errno::{self, E2BIG, EOVERFLOW};
use userland::abi::kstat;
use userland::door::*;
use userland::heap::unmap;
use userland::testkit::{Outcome as R, arg_for, info};
use userland::{arg, ensure, println, process};

userland::entry!(main);

fn info_of(d: i32) -> Result<door_info_t, String> {
    info(d).map_err(|e| format!("door_info({d}) failed with {}", errno::name(e)))
}

const DESC: usize = core::mem::size_of::<door_desc_t>();
const PAGE: usize = 4096;
const COOKIE_MAIN: usize = 0x1111;
const COOKIE_NULL: usize = 0x2222;
/// "Not set": the door_return this value stands for did not come back.
const PENDING: i64 = -1000;

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
static PATTERN: [u8; 16384] = pattern();

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

extern "C" fn server(
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
    NULL_E_DATA.store(errno() as i64, Ordering::SeqCst);
    let mut d = door_desc_t::new(MAIN_FD.load(Ordering::SeqCst), DOOR_DESCRIPTOR);
    door_return(null_mut(), 0, &mut d, 1);
    NULL_E_DESC.store(errno() as i64, Ordering::SeqCst);
    door_return(null_mut(), 0, null_mut(), 0);
}

/// The main door. Requests (first data byte):
/// - `E`: echo: returns the data reversed and every descriptor received
///   (given back with DOOR_RELEASE), after checking each names the main door;
/// - `R len:u32 n:u8`: returns `len` bytes of PATTERN and `n` new
///   descriptors for the main door;
/// - `Q`: returns the NULL door's record (5 little-endian i64).
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

/// A 16-byte aligned buffer (so descriptor entries in it are aligned too).
#[repr(C, align(16))]
struct Buf<const N: usize>([u8; N]);

fn call(what: &str, d: i32, a: &mut door_arg_t) -> R {
    if door_call(d, a) != 0 {
        return Err(format!(
            "{what}: door_call failed with {}",
            errno::name(errno())
        ));
    }
    Ok(())
}

fn r_request(len: u32, nd: u8) -> [u8; 6] {
    let l = len.to_le_bytes();
    [b'R', l[0], l[1], l[2], l[3], nd]
}

/// Checks a received descriptor entry names the main door, then closes it.
fn take_desc(what: &str, d: door_desc_t, uniq: u64) -> R {
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

fn descs_at(ptr: u64, n: usize) -> Vec<door_desc_t> {
    // SAFETY: the kernel wrote `n` entries at `ptr` (inside the result area).
    (0..n)
        .map(|i| unsafe { read_unaligned((ptr as *const door_desc_t).add(i)) })
        .collect()
}

fn bytes_at(ptr: u64, n: usize) -> &'static [u8] {
    // SAFETY: the kernel wrote `n` bytes at `ptr` (the result area).
    unsafe { core::slice::from_raw_parts(ptr as *const u8, n) }
}

fn reversed(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

fn roundup(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// The NULL door's record, read through the main door.
fn null_record(main: i32) -> Result<[i64; 5], String> {
    let mut rbuf = [0u8; 64];
    let q = [b'Q'];
    let mut a = arg_for(&q, &mut rbuf);
    call("Q", main, &mut a)?;
    ensure!(a.data_size == 40, "Q: reply of {} bytes", a.data_size);
    let b = bytes_at(a.data_ptr, 40);
    let mut rec = [0i64; 5];
    for (i, r) in rec.iter_mut().enumerate() {
        *r = i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    }
    Ok(rec)
}

static FAILED: AtomicU32 = AtomicU32::new(0);

/// Runs one group of checks; a failure is reported and counted, and the
/// next group still runs.
fn section(who: &str, name: &str, f: impl FnOnce() -> R) {
    if let Err(e) = f() {
        println!("dcall_results: FAIL: {who}: {name}: {e}");
        FAILED.fetch_add(1, Ordering::SeqCst);
    }
}

/// The door_arg_t contract, from whichever process holds `main` and `null`.
fn client(who: &str, main: i32, null: i32) -> R {
    let uniq = info_of(main)?.di_uniquifier;

    // 5. params == NULL: no arguments; the server cannot return data or
    //    descriptors (E2BIG) and the call completes once it returns nothing.
    section(who, "null-params", || -> R {
        let before = null_record(main)?;
        let r = door_call(null, null_mut());
        ensure!(
            r == 0,
            "door_call(NULL params) failed with {}",
            errno::name(errno())
        );
        let rec = null_record(main)?;
        ensure!(
            rec[0] == before[0] + 1,
            "NULL params: the server ran {} times",
            rec[0] - before[0]
        );
        ensure!(
            rec[1] == 0 && rec[2] == 0,
            "NULL params: the server got {} bytes and {} descriptors",
            rec[1],
            rec[2]
        );
        ensure!(
            rec[3] == E2BIG as i64,
            "NULL params: server's door_return with data gave {} (expected E2BIG)",
            if rec[3] == PENDING {
                "success"
            } else {
                errno::name(rec[3] as isize)
            }
        );
        ensure!(
            rec[4] == E2BIG as i64,
            "NULL params: server's door_return with a descriptor gave {} (expected E2BIG)",
            if rec[4] == PENDING {
                "success"
            } else {
                errno::name(rec[4] as isize)
            }
        );
        // The same server with a door_arg_t: its data arrives.
        let mut rbuf = [0u8; 64];
        let mut a = arg_for(&[], &mut rbuf);
        call("NULL door with params", null, &mut a)?;
        ensure!(
            a.data_size == 3 && bytes_at(a.data_ptr, 3) == b"xyz",
            "NULL door with params: got {} bytes",
            a.data_size
        );
        let rec = null_record(main)?;
        ensure!(
            rec[3] == PENDING,
            "NULL door with params: the server's door_return failed ({})",
            errno::name(rec[3] as isize)
        );
        println!("dcall_results: {who}: NULL params: no arguments, results refused with E2BIG");
        Ok(())
    });

    // 6. Results larger than rsize: a new zero-filled, page-rounded mapping.
    section(who, "large-results", || -> R {
        for (len, rsize) in [(10_000usize, 64usize), (40, 71)] {
            let nd = 1usize;
            let req = r_request(len as u32, nd as u8);
            let mut small = Buf([0x55u8; 128]);
            let sptr = small.0.as_ptr() as u64;
            let mut a = arg_for(&req, &mut small.0[..rsize]);
            call("R (overflow)", main, &mut a)?;
            let span = roundup(len, DESC);
            let need = span + nd * DESC;
            ensure!(
                a.rbuf != sptr,
                "R({len}) into rsize {rsize}: results left in the caller's buffer"
            );
            ensure!(
                (a.rbuf as usize).is_multiple_of(PAGE) && a.rsize as usize == roundup(need, PAGE),
                "R({len}): new area {:#x}+{}, expected a page-aligned {} bytes",
                a.rbuf,
                a.rsize,
                roundup(need, PAGE)
            );
            ensure!(
                a.data_ptr == a.rbuf && a.data_size == len as u64,
                "R({len}): data_ptr {:#x} size {} (area {:#x})",
                a.data_ptr,
                a.data_size,
                a.rbuf
            );
            ensure!(
                a.desc_num == nd as u32 && a.desc_ptr == a.rbuf + span as u64,
                "R({len}): desc_num {} desc_ptr {:#x}, expected area + {span}",
                a.desc_num,
                a.desc_ptr
            );
            let area = bytes_at(a.rbuf, a.rsize as usize);
            ensure!(area[..len] == PATTERN[..len], "R({len}): data differs");
            ensure!(
                area[len..span].iter().all(|&b| b == 0) && area[need..].iter().all(|&b| b == 0),
                "R({len}): the new area is not zero beyond the results"
            );
            ensure!(
                small.0.iter().all(|&b| b == 0x55),
                "R({len}): the caller's too-small buffer was written"
            );
            take_desc("R (overflow)", descs_at(a.desc_ptr, 1)[0], uniq)?;
            if let Err(e) = unmap(a.rbuf as usize, a.rsize as usize) {
                return Err(format!("R({len}): unmapping the result area: {e:?}"));
            }
            ensure!(
                unmap(a.rbuf as usize, a.rsize as usize).is_err(),
                "R({len}): the result area could be unmapped twice"
            );
        }
        Ok(())
    });
    // No result buffer at all (rbuf NULL, rsize 0): any results are mapped.
    section(who, "no-rbuf", || -> R {
        let req = r_request(100, 0);
        let mut a = door_arg_t {
            data_ptr: req.as_ptr() as u64,
            data_size: req.len() as u64,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: 0,
            rsize: 0,
        };
        call("R(100) with rbuf NULL", main, &mut a)?;
        ensure!(
            a.rbuf != 0 && a.rsize == PAGE as u64 && a.data_ptr == a.rbuf && a.data_size == 100,
            "R(100) with rbuf NULL: area {:#x}+{} data_ptr {:#x} size {}",
            a.rbuf,
            a.rsize,
            a.data_ptr,
            a.data_size
        );
        let area = bytes_at(a.rbuf, PAGE);
        ensure!(
            area[..100] == PATTERN[..100] && area[100..].iter().all(|&b| b == 0),
            "R(100) with rbuf NULL: wrong contents"
        );
        if let Err(e) = unmap(a.rbuf as usize, a.rsize as usize) {
            return Err(format!("unmapping the result area: {e:?}"));
        }
        println!("dcall_results: {who}: rbuf NULL, rsize 0: results in a new area");
        Ok(())
    });

    // Exactly rsize bytes of results still fit in rbuf.
    section(who, "exact-fit", || -> R {
        let req = r_request(40, 1);
        let mut rbuf = Buf([0u8; 128]);
        let rptr = rbuf.0.as_ptr() as u64;
        let mut a = arg_for(&req, &mut rbuf.0[..72]);
        call("R(40,1) into 72 bytes", main, &mut a)?;
        ensure!(
            a.rbuf == rptr && a.rsize == 72 && a.desc_ptr == rptr + 48,
            "R(40,1) into exactly 72 bytes: rbuf {:#x} rsize {} desc_ptr {:#x} (rbuf was {rptr:#x})",
            a.rbuf,
            a.rsize,
            a.desc_ptr
        );
        ensure!(rbuf.0[..40] == PATTERN[..40], "R(40,1): data differs");
        take_desc("R(40,1)", descs_at(a.desc_ptr, 1)[0], uniq)?;
        Ok(())
    });
    println!("dcall_results: {who}: large results in a new zero-filled page-rounded area");
    Ok(())
}

/// EOVERFLOW: the result area cannot be mapped (the caller's map limit is
/// 0); nothing is delivered, the server goes on serving.
fn overflow(main: i32) -> R {
    // Leave room in the heap for what follows, then forbid new mappings.
    drop(vec![0u8; 128 * 1024]);
    process::mem_limit(0);
    let descs_before = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    let req = r_request(10_000, 1);
    let mut rbuf = Buf([0x55u8; 64]);
    let rptr = rbuf.0.as_ptr() as u64;
    let mut a = arg_for(&req, &mut rbuf.0);
    let r = door_call(main, &mut a);
    ensure!(
        r == -1 && errno() == EOVERFLOW,
        "results beyond rsize with no room to map them: door_call gave {r} ({}), expected EOVERFLOW",
        errno::name(errno())
    );
    let descs_after = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    ensure!(
        descs_after == descs_before,
        "EOVERFLOW: descriptors {descs_before} before, {descs_after} after (a result descriptor leaked)"
    );
    // The server goes on; results that fit need no mapping.
    let args = *b"Eafter overflow";
    let mut rbuf = Buf([0u8; 256]);
    let mut a = arg_for(&args, &mut rbuf.0);
    call("echo after EOVERFLOW", main, &mut a)?;
    ensure!(
        bytes_at(a.data_ptr, a.data_size as usize) == &reversed(&args)[..],
        "echo after EOVERFLOW: wrong reply"
    );
    let req = r_request(100, 1);
    let mut a = arg_for(&req, &mut rbuf.0);
    call("R(100,1) after EOVERFLOW", main, &mut a)?;
    ensure!(
        a.data_size == 100 && a.desc_num == 1 && a.desc_ptr == a.rbuf + 120,
        "R(100,1) after EOVERFLOW: size {} desc_num {}",
        a.data_size,
        a.desc_num
    );
    let uniq = info_of(main)?.di_uniquifier;
    take_desc("R(100,1) after EOVERFLOW", descs_at(a.desc_ptr, 1)[0], uniq)?;
    let _ = rptr;
    println!("dcall_results: child: EOVERFLOW when the result area cannot be mapped");
    Ok(())
}

fn child() -> i32 {
    let result = (|| -> R {
        client("child", 0, 1)?;
        overflow(0)
    })();
    let failed = FAILED.load(Ordering::SeqCst);
    match result {
        Ok(()) if failed == 0 => 0,
        Ok(()) => {
            println!("dcall_results: child: {failed} group(s) of checks failed");
            1
        }
        Err(e) => {
            println!("dcall_results: FAIL: {e}");
            1
        }
    }
}

fn main() -> i32 {
    if arg(1) == Some("child") {
        return child();
    }
    let result = (|| -> R {
        let main = door_create(server, COOKIE_MAIN as *mut c_void, 0);
        let null = door_create(server, COOKIE_NULL as *mut c_void, 0);
        ensure!(main >= 0 && null >= 0, "door_create failed");
        MAIN_FD.store(main, Ordering::SeqCst);
        MAIN_UNIQ.store(info_of(main)?.di_uniquifier, Ordering::SeqCst);
        client("local", main, null)?;
        let pid = process::spawn_with_fds("dcall_results", &["child"], &[main, null])
            .map_err(|e| format!("spawn: {e:?}"))?;
        let (_, status) = process::wait(Some(pid)).map_err(|e| format!("wait: {e:?}"))?;
        if status != 0 {
            println!("dcall_results: FAIL: child exited with status {status}");
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
    })();
    let failed = FAILED.load(Ordering::SeqCst);
    match result {
        Ok(()) if failed == 0 => {
            println!("dcall_results: ok");
            0
        }
        Ok(()) => {
            println!("dcall_results: FAIL: {failed} group(s) of checks failed");
            1
        }
        Err(e) => {
            println!("dcall_results: FAIL: {e}");
            1
        }
    }
}
