//! Door stress, big transfers: 1 MiB arguments and 1 MiB results between
//! processes, each checked on both sides against a pseudo-random pattern and
//! an FNV-1a 64 hash over every byte.
//!
//! The parent is the server. Its door_server_create procedure starts server
//! threads with 4 MiB stacks (the arguments are laid out in the server
//! thread's stack area), installed before the door is created so that the
//! first thread is already a big one. Children:
//! - `client`: calls with 1 MiB arguments; results larger than its 4 KiB
//!   rbuf arrive in a kernel-mapped, page-rounded area that it checks and
//!   unmaps (and its own mapped memory shows the area really went away); a
//!   call whose rbuf is the argument buffer itself gets the results in
//!   place; 4 MiB arguments do not fit the server stack area: E2BIG.
//! - `tight`: lowers its memory cap below what it has mapped, so a result
//!   area cannot be mapped: EOVERFLOW; the same call with an rbuf big
//!   enough succeeds.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use userland::Errno;
use userland::abi::limit::MEMORY;
use userland::door::{
    door_arg_t, door_call, door_create, door_desc_t, door_info_t, door_return, door_revoke,
    door_server_create, errno,
};
use userland::testkit::{arg_for, spawn_server_thread, word};
use userland::{arg, heap, println, process, thread};

userland::entry!(main);

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;
/// Stack of each server thread: room for 1 MiB of arguments and more.
const SERVER_STACK: usize = 4 * MIB;
/// Request header: seed, wanted result length, FNV of the body.
const REQ_HDR: usize = 24;
/// Response header: seed of its body, FNV of the whole request as the
/// server received it, FNV of the body.
const RESP_HDR: usize = 24;
/// The client's small result buffer.
const SMALL_RBUF: usize = 4096;

/// Invocations served with verified arguments.
static SERVED: AtomicU64 = AtomicU64::new(0);
/// Problems seen on the server side.
static FAILED: AtomicU64 = AtomicU64::new(0);
/// Server threads started by the create procedure.
static CREATED: AtomicU64 = AtomicU64::new(0);
/// Each server thread's last response, kept until its next invocation
/// (door_return copies it out and never comes back).
static RESPONSES: Mutex<BTreeMap<u32, Vec<u8>>> = Mutex::new(BTreeMap::new());

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64: the pattern generator (any seed works).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn fill(buf: &mut [u8], seed: u64) {
    let mut r = Rng(seed);
    for chunk in buf.chunks_mut(8) {
        let w = r.next().to_le_bytes();
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
}

/// The first offset where `buf` differs from the pattern of `seed`.
fn mismatch(buf: &[u8], seed: u64) -> Option<usize> {
    let mut r = Rng(seed);
    for (i, chunk) in buf.chunks(8).enumerate() {
        let w = r.next().to_le_bytes();
        if let Some(j) = chunk.iter().zip(w.iter()).position(|(a, b)| a != b) {
            return Some(i * 8 + j);
        }
    }
    None
}

fn put_word(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The seed of the response body for a request with `seed`.
fn response_seed(seed: u64) -> u64 {
    seed.rotate_left(17) ^ 0x005e_ed0f_7e57_0b1c
}

/// Fills `buf` (the whole argument area) as a request; returns the FNV of
/// all of it.
fn make_request(buf: &mut [u8], seed: u64, resp_len: usize) -> u64 {
    fill(&mut buf[REQ_HDR..], seed);
    let body = fnv1a(&buf[REQ_HDR..]);
    put_word(buf, 0, seed);
    put_word(buf, 8, resp_len as u64);
    put_word(buf, 16, body);
    fnv1a(buf)
}

/// Checks a request on the server side; returns the response to send.
fn serve(args: &[u8]) -> Result<Vec<u8>, &'static str> {
    if args.len() < REQ_HDR {
        return Err("request shorter than its header");
    }
    let seed = word(args, 0);
    let resp_len = word(args, 8) as usize;
    let body = &args[REQ_HDR..];
    if let Some(at) = mismatch(body, seed) {
        println!("dstress_big: server: request body differs from the pattern at {at}");
        return Err("request body is not the pattern of its seed");
    }
    if fnv1a(body) != word(args, 16) {
        return Err("request body hash differs from the client's");
    }
    if !(RESP_HDR..=2 * MIB).contains(&resp_len) {
        return Err("bad result length asked");
    }
    let mut resp = vec![0u8; resp_len];
    let rseed = response_seed(seed);
    fill(&mut resp[RESP_HDR..], rseed);
    let rbody = fnv1a(&resp[RESP_HDR..]);
    put_word(&mut resp, 0, rseed);
    put_word(&mut resp, 8, fnv1a(args));
    put_word(&mut resp, 16, rbody);
    Ok(resp)
}

extern "C" fn big_server(
    _cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    _dp: *mut door_desc_t,
    n_desc: u32,
) {
    // SAFETY: the kernel laid out `size` argument bytes at `argp`.
    let args = unsafe { core::slice::from_raw_parts(argp, size) };
    let resp = match serve(args) {
        Ok(r) if n_desc == 0 => {
            SERVED.fetch_add(1, Ordering::SeqCst);
            r
        }
        Ok(_) => {
            FAILED.fetch_add(1, Ordering::SeqCst);
            println!("dstress_big: server: unexpected descriptors ({n_desc})");
            b"BAD".to_vec()
        }
        Err(what) => {
            FAILED.fetch_add(1, Ordering::SeqCst);
            println!("dstress_big: server: {what} (size {size})");
            b"BAD".to_vec()
        }
    };
    let (ptr, len) = {
        let mut slots = RESPONSES.lock();
        let slot = slots.entry(thread::gettid()).or_default();
        *slot = resp;
        (slot.as_mut_ptr(), slot.len())
    };
    door_return(ptr, len, core::ptr::null_mut(), 0);
    FAILED.fetch_add(1, Ordering::SeqCst);
    println!(
        "dstress_big: server: door_return failed: {}",
        errno().name()
    );
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

/// The door_server_create procedure: server threads with big stacks.
extern "C" fn big_create(_info: *mut door_info_t) {
    match spawn_server_thread(SERVER_STACK, |e| {
        FAILED.fetch_add(1, Ordering::SeqCst);
        println!(
            "dstress_big: server thread: door_return failed: {}",
            e.name()
        );
    }) {
        Ok(_) => {
            CREATED.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) => {
            FAILED.fetch_add(1, Ordering::SeqCst);
            println!("dstress_big: create procedure: spawn failed: {e:?}");
        }
    }
}

/// Checks a response (at `data`, as the caller received it) to a request
/// with `seed` whose bytes hashed to `req_hash`.
fn check_response(
    data: &[u8],
    seed: u64,
    resp_len: usize,
    req_hash: u64,
) -> Result<(), &'static str> {
    if data.len() != resp_len {
        println!("dstress_big: result size {} (want {resp_len})", data.len());
        return Err("result size");
    }
    let rseed = response_seed(seed);
    if word(data, 0) != rseed {
        return Err("result seed differs");
    }
    if word(data, 8) != req_hash {
        return Err("the server's hash of the arguments differs from the client's");
    }
    let body = &data[RESP_HDR..];
    if let Some(at) = mismatch(body, rseed) {
        println!("dstress_big: result body differs from the pattern at {at}");
        return Err("result body is not the pattern");
    }
    if fnv1a(body) != word(data, 16) {
        return Err("result body hash differs from the server's");
    }
    Ok(())
}

/// The bytes of memory this process has mapped (its heap and result
/// areas), read from its memory limit: as root it may set the limit
/// anywhere, and one more page maps exactly when the limit leaves room for
/// it. This measures this process alone (the system's free-frame count
/// also moves with the server's heap).
fn mapped_bytes() -> u64 {
    let limit = process::get_limit(0, MEMORY).expect("get_limit");
    let page = PAGE as u64;
    let fits = |cap: u64| {
        process::set_limit(0, MEMORY, cap).expect("set_limit");
        match heap::map(PAGE, 0) {
            Ok(at) => {
                heap::unmap(at, PAGE).expect("unmap a probe page");
                true
            }
            Err(_) => false,
        }
    };
    // The smallest cap (in pages) that fits one more page.
    let (mut lo, mut hi) = (1, limit / page);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid * page) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    process::set_limit(0, MEMORY, limit).expect("restore the memory limit");
    (lo - 1) * page
}

/// One call whose results do not fit the small rbuf: checks where they
/// arrived, their content, and unmaps the area.
fn call_mapped(
    door: i32,
    req: &mut [u8],
    small: &mut [u8],
    seed: u64,
    resp_len: usize,
) -> Result<(), &'static str> {
    let req_hash = make_request(req, seed, resp_len);
    small.fill(0xee);
    let mut a = arg_for(req, small);
    if door_call(door, &mut a) != 0 {
        println!("dstress_big: door_call failed: {}", errno().name());
        return Err("door_call");
    }
    if a.rbuf == small.as_ptr() as u64 {
        return Err("results bigger than rbuf left in rbuf");
    }
    // Page rounded, holding the results (the descriptor array would start
    // at the next door_desc_t multiple, so that much padding may come on top).
    let rsize = a.rsize as usize;
    if !rsize.is_multiple_of(PAGE)
        || !a.rbuf.is_multiple_of(PAGE as u64)
        || rsize < resp_len
        || rsize >= resp_len + 24 + PAGE
    {
        println!(
            "dstress_big: result area {:#x}+{:#x} for {resp_len} bytes",
            a.rbuf, a.rsize
        );
        return Err("result area not a page-rounded area for the results");
    }
    if a.data_ptr != a.rbuf || a.data_size != resp_len as u64 || a.desc_num != 0 {
        println!(
            "dstress_big: data_ptr {:#x} size {} desc_num {} (area {:#x})",
            a.data_ptr, a.data_size, a.desc_num, a.rbuf
        );
        return Err("door_arg_t after the call");
    }
    if small.iter().any(|&b| b != 0xee) {
        return Err("the small rbuf was written although the results did not fit");
    }
    // SAFETY: the kernel mapped `rsize` bytes at `rbuf` for us.
    let area = unsafe { core::slice::from_raw_parts(a.rbuf as *const u8, a.rsize as usize) };
    check_response(&area[..resp_len], seed, resp_len, req_hash)?;
    if area[resp_len..].iter().any(|&b| b != 0) {
        return Err("the tail of the result area is not zero");
    }
    if let Err(e) = heap::unmap(a.rbuf as usize, a.rsize as usize) {
        println!("dstress_big: unmap of the result area: {e:?}");
        return Err("unmap of the result area");
    }
    Ok(())
}

fn client() -> Result<(), &'static str> {
    let door = 0;
    let mut req = vec![0u8; MIB];
    let mut small = vec![0u8; SMALL_RBUF];
    // Results of 1 MiB and of a size that is not a page multiple, each in a
    // kernel-mapped area.
    for (i, resp_len) in [MIB, MIB + 1000, MIB, MIB - 24].into_iter().enumerate() {
        call_mapped(door, &mut req, &mut small, 0x1000 + i as u64, resp_len)?;
        println!(
            "dstress_big: call {i}: 1 MiB arguments, {resp_len} result bytes in a mapped area: ok"
        );
    }
    // The result areas are really unmapped: this process maps exactly as
    // much after the calls as before (nothing here allocates meanwhile).
    const ROUNDS: u64 = 8;
    let before = mapped_bytes();
    for i in 0..ROUNDS {
        call_mapped(door, &mut req, &mut small, 0x2000 + i, MIB)?;
    }
    let after = mapped_bytes();
    println!("dstress_big: {before} bytes mapped before {ROUNDS} mapped results, {after} after");
    if after != before {
        return Err("result areas stay mapped after unmap");
    }
    // The argument buffer as result buffer: results land in place.
    let mut both = vec![0u8; MIB + PAGE];
    let seed = 0x3000;
    let req_hash = make_request(&mut both[..MIB], seed, MIB);
    let mut a = door_arg_t {
        data_ptr: both.as_ptr() as u64,
        data_size: MIB as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: both.as_mut_ptr() as u64,
        rsize: both.len() as u64,
    };
    if door_call(door, &mut a) != 0 {
        println!(
            "dstress_big: door_call (in place) failed: {}",
            errno().name()
        );
        return Err("door_call in place");
    }
    if a.rbuf != both.as_ptr() as u64 || a.rsize != both.len() as u64 || a.data_ptr != a.rbuf {
        println!(
            "dstress_big: in place: rbuf {:#x}+{:#x} data_ptr {:#x}",
            a.rbuf, a.rsize, a.data_ptr
        );
        return Err("results that fit were not delivered in rbuf");
    }
    check_response(&both[..a.data_size as usize], seed, MIB, req_hash)?;
    println!("dstress_big: 1 MiB results in the argument buffer itself: ok");
    // An rbuf of exactly the result size (1 MiB, not a multiple of
    // sizeof(door_desc_t)) holds the results: no mapping.
    let mut exact = vec![0u8; MIB];
    let seed = 0x3100;
    let req_hash = make_request(&mut req, seed, MIB);
    let mut a = arg_for(&req[..MIB], &mut exact);
    if door_call(door, &mut a) != 0 {
        println!(
            "dstress_big: door_call (exact rbuf) failed: {}",
            errno().name()
        );
        return Err("door_call with an exact rbuf");
    }
    if a.rbuf != exact.as_ptr() as u64 || a.rsize != exact.len() as u64 || a.data_ptr != a.rbuf {
        println!(
            "dstress_big: exact rbuf {:p}+{:#x}: results at {:#x} in an area {:#x}+{:#x}",
            exact.as_ptr(),
            exact.len(),
            a.data_ptr,
            a.rbuf,
            a.rsize
        );
        if a.rbuf != exact.as_ptr() as u64 {
            let _ = heap::unmap(a.rbuf as usize, a.rsize as usize);
        }
        return Err("results of exactly rsize bytes were not delivered in rbuf");
    }
    check_response(&exact[..a.data_size as usize], seed, MIB, req_hash)?;
    println!("dstress_big: 1 MiB results in an rbuf of exactly 1 MiB: ok");
    // Arguments that do not fit a 4 MiB server stack area: E2BIG.
    let huge = vec![0x5au8; SERVER_STACK];
    let mut a = door_arg_t {
        data_ptr: huge.as_ptr() as u64,
        data_size: huge.len() as u64,
        ..door_arg_t::default()
    };
    let r = door_call(door, &mut a);
    if r != -1 || errno() != Errno::E2BIG {
        println!(
            "dstress_big: 4 MiB arguments: door_call returned {r}, errno {}",
            errno().name()
        );
        return Err("arguments larger than the server stack area: want E2BIG");
    }
    println!("dstress_big: 4 MiB arguments: E2BIG: ok");
    // The door still works afterwards.
    call_mapped(door, &mut req, &mut small, 0x4000, MIB)?;
    Ok(())
}

/// A client whose memory cap leaves no room for a result area.
fn tight() -> Result<(), &'static str> {
    let door = 0;
    let mut req = vec![0u8; MIB];
    let mut rbuf = vec![0u8; MIB + PAGE];
    let mut small = vec![0u8; SMALL_RBUF];
    // No more mappings from now on (the heap does not grow below).
    process::set_limit(0, userland::abi::limit::MEMORY, 0).expect("lower the memory limit");
    let seed = 0x5000;
    make_request(&mut req, seed, MIB);
    let mut a = arg_for(&req[..MIB], &mut small);
    let r = door_call(door, &mut a);
    if r != -1 || errno() != Errno::EOVERFLOW {
        println!(
            "dstress_big: tight: door_call returned {r}, errno {}",
            errno().name()
        );
        return Err("no room for the result area: want EOVERFLOW");
    }
    println!("dstress_big: tight: results too big for rbuf and no room to map: EOVERFLOW: ok");
    let seed = 0x5001;
    let req_hash = make_request(&mut req, seed, MIB);
    let mut a = arg_for(&req[..MIB], &mut rbuf);
    if door_call(door, &mut a) != 0 {
        println!(
            "dstress_big: tight: door_call with a big rbuf failed: {}",
            errno().name()
        );
        return Err("door_call with a big enough rbuf");
    }
    if a.rbuf != rbuf.as_ptr() as u64 || a.data_ptr != a.rbuf {
        return Err("tight: results not in rbuf");
    }
    check_response(&rbuf[..a.data_size as usize], seed, MIB, req_hash)?;
    println!("dstress_big: tight: 1 MiB results in a big enough rbuf: ok");
    Ok(())
}

fn child(what: &str, f: fn() -> Result<(), &'static str>) -> i32 {
    match f() {
        Ok(()) => 0,
        Err(e) => {
            println!("dstress_big: {what}: FAILED: {e}");
            1
        }
    }
}

fn run(door: i32, role: &str) -> Result<(), &'static str> {
    let pid = process::spawn_with_fds("dstress_big", &[role], &[door]).map_err(|_| "spawn")?;
    let (_, status) = process::wait(Some(pid)).map_err(|_| "wait")?;
    if status != 0 {
        println!("dstress_big: {role} exited with {status}");
        return Err("a child failed");
    }
    Ok(())
}

fn parent() -> Result<(), &'static str> {
    if door_server_create(Some(big_create)).is_some() {
        return Err("door_server_create: a procedure was already installed");
    }
    let door = door_create(big_server, core::ptr::null_mut(), 0);
    if door < 0 {
        println!("dstress_big: door_create failed: {}", errno().name());
        return Err("door_create");
    }
    // The first non-private door runs the create procedure.
    if CREATED.load(Ordering::SeqCst) != 1 {
        return Err("the create procedure did not run at the first door_create");
    }
    run(door, "client")?;
    // 4 + 8 + 1 + 1 + 1 calls reached the server (not the E2BIG one).
    let served = SERVED.load(Ordering::SeqCst);
    if served != 15 {
        println!("dstress_big: served {served} (want 15)");
        return Err("served count after the client");
    }
    run(door, "tight")?;
    // The EOVERFLOW call was served too; its results were discarded.
    let served = SERVED.load(Ordering::SeqCst);
    if served != 17 {
        println!("dstress_big: served {served} (want 17)");
        return Err("served count after the tight client");
    }
    let failed = FAILED.load(Ordering::SeqCst);
    if failed != 0 {
        println!("dstress_big: {failed} server-side failures");
        return Err("server-side failures");
    }
    if door_revoke(door) != 0 {
        return Err("door_revoke");
    }
    println!(
        "dstress_big: {served} calls of 1 MiB each way verified, {} server threads",
        CREATED.load(Ordering::SeqCst)
    );
    Ok(())
}

fn main() -> i32 {
    match arg(1) {
        Some("client") => child("client", client),
        Some("tight") => child("tight", tight),
        _ => match parent() {
            Ok(()) => {
                println!("dstress_big: ok");
                0
            }
            Err(e) => {
                println!("dstress_big: FAILED: {e}");
                1
            }
        },
    }
}
