//! door_return's side of the contract (doors-semantics.md, "door_return"):
//!
//! - its errors, each leaving the thread serving the same invocation (it
//!   then reports the errno in its results): E2BIG (data or descriptors for
//!   a caller that passed params == NULL), EFAULT (bad data pointer, bad
//!   descriptor pointer), EINVAL (an entry without DOOR_DESCRIPTOR, or with
//!   a bad descriptor), EMFILE (the caller's descriptor table is full when
//!   descriptors are returned: an error for the server, never a silent
//!   drop); a failed door_return does not close its DOOR_RELEASE
//!   descriptors;
//! - with no caller left (the client process exited, or was killed by a
//!   fault, while the server was inside the call), door_return does not
//!   fail: the results are discarded, DOOR_RELEASE descriptors are closed,
//!   and the server keeps serving; likewise when the calling thread
//!   abandoned the call with door_abort (its rbuf must stay untouched).
//!
//! The parent serves; the checks run from a child process (and, except
//! EMFILE, within the parent too).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::{null_mut, read_unaligned};
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering};
use userland::Errno;
use userland::abi::{KILLED_BASE, kstat};
use userland::door::*;
use userland::testkit::{Outcome as R, info, wait_until};
use userland::{arg, ensure, println, process, thread};

userland::entry!(main);

const COOKIE_MAIN: usize = 1;
const COOKIE_NULL: usize = 2;
const PENDING: i64 = -1000;
/// Results of the 'S' request (which nobody receives).
static BIG: [u8; 10_000] = [0x5a; 10_000];

static MAIN_FD: AtomicI32 = AtomicI32::new(-1);
static NULL_E_DATA: AtomicI64 = AtomicI64::new(PENDING);
static NULL_E_DESC: AtomicI64 = AtomicI64::new(PENDING);
/// The 'S' request: 0 idle, 1 inside the call, 2 told to return.
static STATE: AtomicU32 = AtomicU32::new(0);
static S_RESULT: AtomicI64 = AtomicI64::new(PENDING);
static S_FD: AtomicI32 = AtomicI32::new(-1);

fn reply(bytes: &[u8]) {
    door_return(bytes.as_ptr() as *mut u8, bytes.len(), null_mut(), 0);
}

/// Tries `door_return` with these results; it must fail: returns errno (0
/// cannot happen: on success door_return does not come back).
fn try_return(data: *const u8, size: usize, descs: &mut [door_desc_t]) -> u8 {
    let p = if descs.is_empty() {
        null_mut()
    } else {
        descs.as_mut_ptr()
    };
    door_return(data as *mut u8, size, p, descs.len() as u32);
    errno().code() as u8
}

extern "C" fn server(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    _n: u32,
) {
    let main = MAIN_FD.load(Ordering::SeqCst);
    if cookie as usize == COOKIE_NULL {
        // The caller passed params == NULL: no results may go back.
        NULL_E_DATA.store(PENDING, Ordering::SeqCst);
        NULL_E_DESC.store(PENDING, Ordering::SeqCst);
        door_return(b"data".as_ptr() as *mut u8, 4, null_mut(), 0);
        NULL_E_DATA.store(errno().code() as i64, Ordering::SeqCst);
        let mut d = door_desc_t::new(main, DOOR_DESCRIPTOR);
        door_return(null_mut(), 0, &mut d, 1);
        NULL_E_DESC.store(errno().code() as i64, Ordering::SeqCst);
        door_return(null_mut(), 0, null_mut(), 0);
        return;
    }
    // SAFETY: `size` bytes at `argp`.
    let op = if size == 0 { 0 } else { unsafe { *argp } };
    match op {
        b'P' => reply(b"pong"),
        b'Q' => {
            let a = NULL_E_DATA.load(Ordering::SeqCst).to_le_bytes();
            let b = NULL_E_DESC.load(Ordering::SeqCst).to_le_bytes();
            let mut out = [0u8; 16];
            out[..8].copy_from_slice(&a);
            out[8..].copy_from_slice(&b);
            reply(&out);
        }
        b'F' => {
            let x = b"x";
            let e1 = try_return(0x1000 as *const u8, 16, &mut []);
            let e2 = try_return(0xffff_8000_0000_0000u64 as *const u8, 8, &mut []);
            let e3 = door_return(x.as_ptr() as *mut u8, 1, 0x1000 as *mut door_desc_t, 1);
            let e3 = if e3 == -1 { errno().code() as u8 } else { 0 };
            let d = dup(main);
            let mut rel = [door_desc_t::new(d, DOOR_DESCRIPTOR | DOOR_RELEASE)];
            let e4 = try_return(0x1000 as *const u8, 16, &mut rel);
            let open = info(d).is_ok() as u8;
            close(d);
            reply(&[e1, e2, e3, e4, open]);
        }
        b'I' => {
            let d = dup(main);
            let e1 = try_return(x_ptr(), 1, &mut [door_desc_t::new(d, 0)]);
            let e2 = try_return(x_ptr(), 1, &mut [door_desc_t::new(0x7ff, DOOR_DESCRIPTOR)]);
            let c = dup(main);
            close(c);
            let e3 = try_return(x_ptr(), 1, &mut [door_desc_t::new(c, DOOR_DESCRIPTOR)]);
            let mut two = [
                door_desc_t::new(d, DOOR_DESCRIPTOR | DOOR_RELEASE),
                door_desc_t::new(c, DOOR_DESCRIPTOR),
            ];
            let e4 = try_return(x_ptr(), 1, &mut two);
            let open = info(d).is_ok() as u8;
            close(d);
            reply(&[e1, e2, e3, e4, open]);
        }
        b'M' => {
            let d = dup(main);
            let mut rel = [door_desc_t::new(d, DOOR_DESCRIPTOR | DOOR_RELEASE)];
            let e = try_return(b"desc".as_ptr(), 4, &mut rel);
            let open = info(d).is_ok() as u8;
            close(d);
            reply(&[b'!', e, open]);
        }
        b'S' => {
            let d = dup(main);
            S_FD.store(d, Ordering::SeqCst);
            S_RESULT.store(PENDING, Ordering::SeqCst);
            STATE.store(1, Ordering::SeqCst);
            let mut waited = 0;
            while STATE.load(Ordering::SeqCst) != 2 && waited < 2000 {
                process::sleep_ticks(1);
                waited += 1;
            }
            let mut rel = [door_desc_t::new(d, DOOR_DESCRIPTOR | DOOR_RELEASE)];
            let e = try_return(BIG.as_ptr(), BIG.len(), &mut rel);
            S_RESULT.store(i64::from(e), Ordering::SeqCst);
            close(d);
            reply(b"S: door_return failed");
        }
        b'Y' => {
            // The caller of 'S' aborted its call: let 'S' return, and wait
            // until it has.
            STATE.store(2, Ordering::SeqCst);
            let d = S_FD.load(Ordering::SeqCst);
            let mut waited = 0;
            while info(d).is_ok() && S_RESULT.load(Ordering::SeqCst) == PENDING && waited < 2000 {
                process::sleep_ticks(1);
                waited += 1;
            }
            reply(b"y");
        }
        b'W' => {
            let mut waited = 0;
            while STATE.load(Ordering::SeqCst) != 1 && waited < 2000 {
                process::sleep_ticks(1);
                waited += 1;
            }
            reply(if waited < 2000 { b"w" } else { b"timeout" });
        }
        _ => reply(b"unknown request"),
    }
}

fn x_ptr() -> *const u8 {
    b"x".as_ptr()
}

struct Reply {
    data: Vec<u8>,
    descs: Vec<door_desc_t>,
}

fn call(d: i32, data: &[u8]) -> Result<Reply, String> {
    let mut rbuf = [0u8; 256];
    let mut a = door_arg_t {
        data_ptr: data.as_ptr() as u64,
        data_size: data.len() as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: rbuf.as_mut_ptr() as u64,
        rsize: rbuf.len() as u64,
    };
    if door_call(d, &mut a) != 0 {
        return Err(format!(
            "door_call({:?}) failed with {}",
            core::str::from_utf8(data),
            errno().name()
        ));
    }
    ensure!(
        a.rbuf == rbuf.as_ptr() as u64,
        "a small reply did not land in rbuf"
    );
    // SAFETY: the kernel wrote the results there.
    let out = unsafe {
        Reply {
            data: core::slice::from_raw_parts(a.data_ptr as *const u8, a.data_size as usize)
                .to_vec(),
            descs: (0..a.desc_num as usize)
                .map(|i| read_unaligned((a.desc_ptr as *const door_desc_t).add(i)))
                .collect(),
        }
    };
    Ok(out)
}

fn errs(v: &[u8]) -> Vec<&'static str> {
    v.iter()
        .map(|&e| Errno::from_code(u16::from(e)).name())
        .collect()
}

/// door_return's errors, seen through what the server reports.
fn client(who: &str, main: i32, null: i32, table_full: bool) -> R {
    let r = call(main, b"P")?;
    ensure!(r.data == b"pong", "{who}: ping: {:?}", r.data);

    // EFAULT: data unmapped, data in the kernel half, descriptors unmapped,
    // and a DOOR_RELEASE descriptor stays open when the return fails.
    let r = call(main, b"F")?;
    let want = [
        Errno::EFAULT.code() as u8,
        Errno::EFAULT.code() as u8,
        Errno::EFAULT.code() as u8,
        Errno::EFAULT.code() as u8,
        1,
    ];
    ensure!(
        r.data == want && r.descs.is_empty(),
        "{who}: door_return EFAULT cases gave {:?} (DOOR_RELEASE descriptor open: {:?}), expected 4 x EFAULT and open",
        errs(&r.data[..r.data.len().min(4)]),
        r.data.get(4)
    );
    println!("dcall_return: {who}: EFAULT (bad data or descriptor pointer)");

    // EINVAL: no DOOR_DESCRIPTOR, a never-opened descriptor, a closed one,
    // and a DOOR_RELEASE entry beside a bad one (stays open).
    let r = call(main, b"I")?;
    let want = [
        Errno::EINVAL.code() as u8,
        Errno::EINVAL.code() as u8,
        Errno::EINVAL.code() as u8,
        Errno::EINVAL.code() as u8,
        1,
    ];
    ensure!(
        r.data == want && r.descs.is_empty(),
        "{who}: door_return EINVAL cases gave {:?} (DOOR_RELEASE descriptor open: {:?}), expected 4 x EINVAL and open",
        errs(&r.data[..r.data.len().min(4)]),
        r.data.get(4)
    );
    println!("dcall_return: {who}: EINVAL (bad door_desc_t entries)");

    // E2BIG: the caller passed params == NULL.
    ensure!(
        door_call(null, null_mut()) == 0,
        "{who}: door_call(NULL params) failed with {}",
        errno().name()
    );
    let r = call(main, b"Q")?;
    ensure!(r.data.len() == 16, "{who}: Q reply {:?}", r.data);
    let e_data = i64::from_le_bytes(r.data[..8].try_into().unwrap());
    let e_desc = i64::from_le_bytes(r.data[8..].try_into().unwrap());
    let show = |e: i64| {
        if e == PENDING {
            "success"
        } else {
            Errno::from_code(e as u16).name()
        }
    };
    ensure!(
        e_data == Errno::E2BIG.code() as i64 && e_desc == Errno::E2BIG.code() as i64,
        "{who}: door_return to a NULL-params caller: data {}, descriptor {}; expected E2BIG twice",
        show(e_data),
        show(e_desc)
    );
    println!("dcall_return: {who}: E2BIG (results for a caller with params == NULL)");

    if table_full {
        // EMFILE: this process's table is full; the server must be told.
        let mut fillers = Vec::new();
        let stop = loop {
            let d = dup(main);
            if d < 0 {
                break errno();
            }
            fillers.push(d);
        };
        let full = call(main, b"M");
        for &d in &fillers {
            close(d);
        }
        ensure!(
            stop == Errno::EMFILE && !fillers.is_empty(),
            "{who}: filling the table stopped with {}",
            stop.name()
        );
        let r = full?;
        ensure!(
            r.descs.is_empty(),
            "{who}: a descriptor arrived in a full table"
        );
        ensure!(
            r.data.len() == 3 && r.data[0] == b'!',
            "{who}: with a full table the server's door_return succeeded: reply {:?} with {} descriptors (a silent drop)",
            core::str::from_utf8(&r.data),
            r.descs.len()
        );
        ensure!(
            u16::from(r.data[1]) == Errno::EMFILE.code() && r.data[2] == 1,
            "{who}: door_return into a full table gave {} (DOOR_RELEASE descriptor open: {}), expected EMFILE and open",
            Errno::from_code(u16::from(r.data[1])).name(),
            r.data[2]
        );
        // With room, the descriptor arrives.
        let r = call(main, b"M")?;
        ensure!(
            r.data == b"desc" && r.descs.len() == 1,
            "{who}: with room: reply {:?} with {} descriptors",
            core::str::from_utf8(&r.data),
            r.descs.len()
        );
        let fd = r.descs[0].d_descriptor;
        let mut info = door_info_t::default();
        let mut mine = door_info_t::default();
        ensure!(
            door_info(fd, &mut info) == 0 && door_info(main, &mut mine) == 0 && {
                info.di_uniquifier
            } == {
                mine.di_uniquifier
            },
            "{who}: the returned descriptor does not name the door"
        );
        close(fd);
        println!("dcall_return: {who}: EMFILE (the caller's table is full), no silent drop");
    }
    Ok(())
}

/// A client thread abandons its call (door_abort) while the server is
/// inside it; the server's late results must not reach it.
fn victim_abort() -> i32 {
    let rbuf: &'static mut [u8] = alloc::vec![0xeeu8; 16384].leak();
    let (rptr, rlen) = (rbuf.as_mut_ptr() as u64, rbuf.len() as u64);
    let h = thread::spawn(move || {
        let req = [b'S'];
        let mut a = door_arg_t {
            data_ptr: req.as_ptr() as u64,
            data_size: 1,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: rptr,
            rsize: rlen,
        };
        if door_call(0, &mut a) == 0 {
            0
        } else {
            errno().code() as u64
        }
    });
    let Ok(h) = h else { return 2 };
    match call(0, b"W") {
        Ok(r) if r.data == b"w" => {}
        _ => return 3,
    }
    if door_abort(h.tid()) != 0 {
        println!(
            "dcall_return: FAIL: door_abort of a thread being served: {}",
            errno().name()
        );
        return 4;
    }
    let got = Errno::from_code(h.join().unwrap_or(0) as u16);
    if got != Errno::EINTR {
        println!(
            "dcall_return: FAIL: the aborted call returned {}, expected EINTR",
            if got.code() == 0 {
                "success"
            } else {
                got.name()
            }
        );
        return 5;
    }
    match call(0, b"Y") {
        Ok(r) if r.data == b"y" => {}
        _ => return 6,
    }
    if rbuf.iter().any(|&b| b != 0xee) {
        println!("dcall_return: FAIL: results of an abandoned call were written to its rbuf");
        return 7;
    }
    0
}

/// A client process whose call is in progress when it goes away.
fn victim(mode: &str) -> i32 {
    if mode == "abort" {
        return victim_abort();
    }
    let h = thread::spawn(|| {
        let _ = call(0, b"S");
        0
    });
    if h.is_err() {
        return 2;
    }
    match call(0, b"W") {
        Ok(r) if r.data == b"w" => {}
        _ => return 3,
    }
    if mode == "fault" {
        // SAFETY: a deliberate bad read: the kernel kills this process.
        unsafe { core::ptr::read_volatile(0x10 as *const u64) };
    }
    // Returning ends the process, and with it the thread in door_call.
    0
}

/// The caller of an invocation disappears; the server's door_return must
/// not fail, its DOOR_RELEASE descriptor is closed, nothing leaks.
fn no_caller(mode: &str, main: i32) -> R {
    let descs_before = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    STATE.store(0, Ordering::SeqCst);
    let pid = process::spawn_with_fds("dcall_return", &["victim", mode], &[main])
        .map_err(|e| format!("spawn: {e:?}"))?;
    let (_, status) = process::wait(Some(pid)).map_err(|e| format!("wait: {e:?}"))?;
    let want = if mode == "fault" { KILLED_BASE + 14 } else { 0 };
    // 'S' was running when the victim went (for "abort", the victim itself
    // already let it return through 'Y').
    let want_state = if mode == "abort" { 2 } else { 1 };
    let in_call = STATE.load(Ordering::SeqCst) == want_state;
    STATE.store(2, Ordering::SeqCst);
    ensure!(
        status == want && in_call,
        "victim ({mode}) exited with {status} (expected {want}), server inside the call: {in_call}"
    );
    let d = S_FD.load(Ordering::SeqCst);
    wait_until(1000, || {
        S_RESULT.load(Ordering::SeqCst) != PENDING || info(d).is_err()
    });
    let e = S_RESULT.load(Ordering::SeqCst);
    ensure!(
        e == PENDING,
        "door_return with no caller left failed with {}",
        Errno::from_code(e as u16).name()
    );
    ensure!(
        info(d).is_err(),
        "door_return with no caller left did not close its DOOR_RELEASE descriptor"
    );
    let descs_after = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    ensure!(
        descs_after == descs_before,
        "descriptors: {descs_before} before the victim, {descs_after} after"
    );
    // The server keeps serving.
    let r = call(main, b"P")?;
    ensure!(r.data == b"pong", "ping afterwards: {:?}", r.data);
    println!("dcall_return: no caller left ({mode}): results discarded, the server goes on");
    Ok(())
}

fn main() -> i32 {
    match arg(1) {
        Some("victim") => return victim(arg(2).unwrap_or("exit")),
        Some("client") => {
            return match client("child", 0, 1, true) {
                Ok(()) => 0,
                Err(e) => {
                    println!("dcall_return: FAIL: {e}");
                    1
                }
            };
        }
        _ => {}
    }
    let main = door_create(server, COOKIE_MAIN as *mut c_void, 0);
    let null = door_create(server, COOKIE_NULL as *mut c_void, 0);
    if main < 0 || null < 0 {
        println!("dcall_return: FAIL: door_create: {}", errno().name());
        return 1;
    }
    MAIN_FD.store(main, Ordering::SeqCst);
    let mut failed = 0;
    let mut run = |what: &str, r: R| {
        if let Err(e) = r {
            println!("dcall_return: FAIL: {what}: {e}");
            failed += 1;
        }
    };
    run("local", client("local", main, null, false));
    let child = (|| -> R {
        let pid = process::spawn_with_fds("dcall_return", &["client"], &[main, null])
            .map_err(|e| format!("spawn: {e:?}"))?;
        let (_, status) = process::wait(Some(pid)).map_err(|e| format!("wait: {e:?}"))?;
        ensure!(status == 0, "client child exited with {status}");
        Ok(())
    })();
    run("child", child);
    run("victim exits", no_caller("exit", main));
    run("victim killed", no_caller("fault", main));
    run("caller aborted", no_caller("abort", main));
    if failed == 0 {
        println!("dcall_return: ok");
        0
    } else {
        println!("dcall_return: FAIL: {failed} group(s) of checks failed");
        1
    }
}
