//! Door copies across pages. The kernel copies arguments and results
//! through the page tables, in one piece while both sides go on in the
//! next physical page; it checks short ranges in the page tables and long
//! ones against the mapped areas. Checked within one process:
//! - echoes of 1 byte to 50 pages (among them the sizes around the 8-,
//!   16-, 32- and 64-byte bounds of the kernel's word copies), at offsets
//!   all over a page, from and to buffers in different areas, arrive
//!   exact, and the bytes around the result buffer stay as they were;
//! - the same from buffers whose frames are likely out of order (areas
//!   mapped into the holes of unmapped ones);
//! - results that overlap their own rbuf in the caller's memory (a server
//!   of the same process returning them from there), a few bytes below or
//!   above it, arrive as they were;
//! - arguments, or a result buffer, that run off the end of their area
//!   into the unmapped page after it fail with EFAULT before the server
//!   runs, leaving the result buffer as it was: a short range and a long
//!   one, and arguments that start in the page of the result buffer; so
//!   does a read-only result buffer;
//! - a thread's calls find the pages and buffers of their last
//!   `door_arg_t`, result buffer and arguments without a look at the page
//!   tables, until anything is unmapped: a result buffer unmapped after a
//!   call fails with EFAULT at the next, and after a fork (the pages
//!   copy-on-write, the child keeping the frames) a call with the same
//!   `door_arg_t`, arguments and result buffer reads and writes the
//!   caller's own copies, arguments read from a page still shared are
//!   read from the caller's own copy once it has written it, and a
//!   `door_arg_t` across two pages is found again at each call.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use userland::abi::{Sys, prot};
use userland::door::{
    door_arg_t, door_call, door_create, door_desc_t, door_info_t, door_return, door_server_create,
    errno,
};
use userland::fs::{close, pipe, read_fd};
use userland::sys::{Errno, check, syscall3};
use userland::testkit::{expect_eq, spawn_server_thread, verdict};
use userland::{check, heap, println, process};

userland::entry!(main);

const PAGE: usize = 4096;
/// Stack of each server thread: room for the largest arguments.
const SERVER_STACK: usize = 1 << 20;
/// The largest echo (beyond what the page tables check: the area list).
const LARGEST: usize = 50 * PAGE;
/// Bytes of each area that stay untouched around the result buffer.
const MARGIN: usize = 64;

/// Invocations of the echo server.
static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The echo server procedure: its arguments are its results.
extern "C" fn echo(_: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    INVOCATIONS.fetch_add(1, SeqCst);
    door_return(argp, size, null_mut(), 0);
}

/// The procedure of the door whose results its caller names: its 16
/// argument bytes are their address and length (in this process).
extern "C" fn named(_: *mut c_void, argp: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    // SAFETY: every caller of this door sends 16 bytes.
    let (at, len) = unsafe {
        (
            argp.cast::<usize>().read_unaligned(),
            argp.add(8).cast::<usize>().read_unaligned(),
        )
    };
    door_return(at as *mut u8, len, null_mut(), 0);
}

/// Results that overlap their own rbuf in the caller's memory, starting a
/// little below or above it: the rbuf ends up holding them as they were
/// (the kernel copies them through the same memory, forwards or
/// backwards as the overlap needs).
fn overlapping(d: i32, area: usize) {
    for len in [16, 40, 100, 1000] {
        for shift in [-8isize, -3, 5, 8] {
            let from = area + MARGIN;
            let rbuf = from.wrapping_add_signed(shift);
            fill(bytes_mut(area, len + 2 * MARGIN), len ^ shift as usize);
            let want: Vec<u8> = bytes(from, len).to_vec();
            let named = [from, len];
            let mut arg = door_arg_t {
                data_ptr: named.as_ptr() as u64,
                data_size: 16,
                desc_ptr: 0,
                desc_num: 0,
                rbuf: rbuf as u64,
                rsize: len as u64,
            };
            let ret = door_call(d, &mut arg);
            check!(
                ret == 0,
                "overlapping results of {len} bytes shifted {shift}: {}",
                errno().name()
            );
            check!(
                bytes(rbuf, len) == want.as_slice(),
                "overlapping results of {len} bytes shifted {shift} came out wrong"
            );
        }
    }
}

/// The door_server_create procedure: server threads with big stacks.
extern "C" fn create(_: *mut door_info_t) {
    let started = spawn_server_thread(SERVER_STACK, |e| {
        println!("dcopy: server thread: door_return failed: {}", e.name());
    });
    check!(started.is_ok(), "server thread: {started:?}");
}

/// An area of `len` bytes mapped with `protection`.
fn map(len: usize, protection: usize) -> usize {
    check(syscall3(Sys::MemMap, len, protection, 0)).expect("mem_map")
}

/// `len` bytes of user memory at `addr`, to read.
fn bytes<'a>(addr: usize, len: usize) -> &'a [u8] {
    // SAFETY: every caller names memory it mapped, and holds no other
    // reference to it while this one lives.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// `len` bytes of user memory at `addr`, to write.
fn bytes_mut<'a>(addr: usize, len: usize) -> &'a mut [u8] {
    // SAFETY: as for `bytes`.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

/// A pattern no two nearby sizes and offsets share.
fn fill(buf: &mut [u8], seed: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i.wrapping_mul(31) ^ seed.wrapping_mul(7) ^ (i >> 8)) as u8;
    }
}

/// door_call of `d` with the arguments at `data` and the result buffer at
/// `rbuf` (`len` bytes each).
fn call(d: i32, data: usize, rbuf: usize, len: usize) -> Result<door_arg_t, Errno> {
    let mut arg = door_arg_t {
        data_ptr: data as u64,
        data_size: len as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: rbuf as u64,
        rsize: len as u64,
    };
    match door_call(d, &mut arg) {
        0 => Ok(arg),
        _ => Err(errno()),
    }
}

/// Echoes `len` bytes from offset `from` of area `src` into offset `to` of
/// area `dst` (each big enough), checking the results and the margins.
fn echo_once(d: i32, (src, from): (usize, usize), (dst, to): (usize, usize), len: usize) {
    let seed = len ^ (from << 4) ^ (to << 16);
    fill(bytes_mut(src + from, len), seed);
    bytes_mut(dst + to - MARGIN, len + 2 * MARGIN).fill(0xa5);
    match call(d, src + from, dst + to, len) {
        Err(e) => check!(false, "echo of {len} bytes at {from}/{to}: {}", e.name()),
        Ok(arg) => {
            check!(
                (arg.rbuf, arg.data_size) == ((dst + to) as u64, len as u64),
                "echo of {len} bytes at {from}/{to}: results at {:#x}, {} bytes",
                arg.rbuf,
                arg.data_size
            );
            check!(
                bytes(dst + to, len) == bytes(src + from, len),
                "echo of {len} bytes at {from}/{to}: the results differ"
            );
            let untouched = |at: usize| bytes(at, MARGIN).iter().all(|&x| x == 0xa5);
            check!(
                untouched(dst + to - MARGIN) && untouched(dst + to + len),
                "echo of {len} bytes at {from}/{to}: bytes around rbuf changed"
            );
        }
    }
}

/// Echoes of many sizes and offsets between areas `src` and `dst`.
fn echoes(d: i32, src: usize, dst: usize) {
    let sizes = [
        1,
        8,
        13,
        16,
        17,
        32,
        33,
        64,
        65,
        100,
        PAGE - 1,
        PAGE,
        PAGE + 1,
        3 * PAGE + 5,
        9 * PAGE,
        LARGEST,
    ];
    for len in sizes {
        for from in [MARGIN, 100, PAGE - 3, PAGE / 2] {
            for to in [MARGIN, PAGE - 1, 2 * PAGE - 7] {
                echo_once(d, (src, from), (dst, to), len);
            }
        }
    }
}

/// An area whose frames likely do not follow each other: the frame
/// allocator hands out the lowest free frames first, and every other page
/// of a run of one-page areas is unmapped first (the others stay).
fn scattered(len: usize) -> usize {
    let pages: Vec<usize> = (0..16)
        .map(|_| map(PAGE, prot::READ | prot::WRITE))
        .collect();
    for page in pages.iter().step_by(2) {
        heap::unmap(*page, PAGE).expect("unmap a page");
    }
    map(len, prot::READ | prot::WRITE)
}

/// A call that must fail with EFAULT before the server runs, leaving the
/// `rsize` bytes at `rbuf` as they were.
fn expect_efault(what: &str, d: i32, data: usize, rbuf: usize, len: usize, rsize: usize) {
    let before = INVOCATIONS.load(SeqCst);
    let saved: Vec<u8> = bytes(rbuf, rsize).to_vec();
    let mut arg = door_arg_t {
        data_ptr: data as u64,
        data_size: len as u64,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: rbuf as u64,
        rsize: len as u64,
    };
    let ret = door_call(d, &mut arg);
    expect_eq(what, (ret, errno()), (-1, Errno::EFAULT));
    expect_eq(
        &alloc::format!("{what}: invocations"),
        INVOCATIONS.load(SeqCst),
        before,
    );
    check!(bytes(rbuf, rsize) == saved, "{what}: rbuf changed");
}

/// A call of `d` with its `door_arg_t` at `args`, 16 bytes of arguments
/// at `data` and of results at `rbuf`; returns what door_call returned.
fn call_at(d: i32, args: usize, data: usize, rbuf: usize) -> i32 {
    let arg = door_arg_t {
        data_ptr: data as u64,
        data_size: 16,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: rbuf as u64,
        rsize: 16,
    };
    // SAFETY: `args` is mapped, writable and aligned for a door_arg_t.
    unsafe { (args as *mut door_arg_t).write(arg) };
    // SAFETY: as above.
    door_call(d, unsafe { &mut *(args as *mut door_arg_t) })
}

/// [`call_at`] with `rbuf` cleared first, which must succeed with the
/// arguments as results.
fn echo_at(what: &str, d: i32, args: usize, data: usize, rbuf: usize) {
    bytes_mut(rbuf, 16).fill(0);
    let ret = call_at(d, args, data, rbuf);
    check!(ret == 0, "{what}: {}", errno().name());
    check!(
        bytes(rbuf, 16) == bytes(data, 16),
        "{what}: the results differ"
    );
}

/// The pages and buffers a thread's calls remember (its last
/// `door_arg_t`'s, result buffer's and arguments') are not used once
/// anything was unmapped: a result buffer unmapped after a call fails with
/// EFAULT at the next call; after a fork, whose child keeps the frames of
/// the pages (copy-on-write) while this process writes its own copies, a
/// call with the same `door_arg_t`, arguments and result buffer reads and
/// writes this process's copies; arguments read from a page still shared
/// copy-on-write are read again from this process's own copy once it has
/// written it. A `door_arg_t` across two pages is found again each time.
fn remembered_pages(d: i32) {
    let rw = prot::READ | prot::WRITE;
    let (args, data, rbuf) = (map(PAGE, rw), map(PAGE, rw), map(PAGE, rw));
    echo_at("before the unmap", d, args, data, rbuf);
    heap::unmap(rbuf, PAGE).expect("unmap the result buffer");
    let before = INVOCATIONS.load(SeqCst);
    // The same door_arg_t at the same place.
    let ret = call_at(d, args, data, rbuf);
    let what = "rbuf unmapped after a call";
    expect_eq(what, (ret, errno()), (-1, Errno::EFAULT));
    expect_eq(what, INVOCATIONS.load(SeqCst), before);
    let data = data + MARGIN;

    let across = map(2 * PAGE, rw) + PAGE - 24;
    for seed in [1, 2] {
        fill(bytes_mut(data, 16), seed);
        echo_at("door_arg_t across pages", d, across, data, 512 + across);
    }

    // One page holds the door_arg_t, the arguments and the result buffer;
    // more arguments are in a page of their own.
    let page = map(PAGE, rw);
    let (args, data, rbuf) = (page, page + 256, page + 512);
    let own = map(PAGE, rw);
    fill(bytes_mut(own, 16), 1);
    fill(bytes_mut(data, 16), 1);
    echo_at("call in one page", d, args, data, rbuf);
    let (waiting, end) = pipe().expect("pipe");
    let child = process::fork().expect("fork");
    if child == 0 {
        // Keeps the frames of the pages until the parent is done.
        close(end).expect("close");
        let mut byte = [0u8; 1];
        let _ = read_fd(waiting, &mut byte);
        process::exit(0);
    }
    fill(bytes_mut(data, 16), 2);
    echo_at("call in one page after a fork", d, args, data, rbuf);
    echo_at("arguments shared with the child", d, args, own, rbuf);
    fill(bytes_mut(own, 16), 3);
    echo_at("arguments written after the fork", d, args, own, rbuf);
    close(end).expect("close");
    close(waiting).expect("close");
    let status = process::wait(Some(child)).map(|(_, s)| s);
    expect_eq("the child", status, Ok(0));
}

fn main() -> i32 {
    door_server_create(Some(create));
    let d = door_create(echo, null_mut(), 0);
    check!(d >= 0, "door_create: {}", errno().name());
    let area = LARGEST + 3 * PAGE;
    let (src, dst) = (
        map(area, prot::READ | prot::WRITE),
        map(area, prot::READ | prot::WRITE),
    );
    echoes(d, src, dst);
    println!("dcopy: echoes of 1 byte to 50 pages at offsets all over a page are exact");
    echoes(d, scattered(area), scattered(area));
    println!("dcopy: so are echoes between areas whose frames are out of order");
    let results = door_create(named, null_mut(), 0);
    check!(results >= 0, "door_create: {}", errno().name());
    overlapping(results, src);
    println!("dcopy: results that overlap their own rbuf arrive as they were");

    // Off the end of an area: the unmapped page after it (a guard).
    let short = map(2 * PAGE, prot::READ | prot::WRITE);
    let long = map(12 * PAGE, prot::READ | prot::WRITE);
    let rbuf = map(LARGEST, prot::READ | prot::WRITE);
    bytes_mut(rbuf, LARGEST).fill(0x5a);
    let len = 2 * PAGE;
    expect_efault(
        "short arguments off the end",
        d,
        short + PAGE + 8,
        rbuf,
        len,
        len,
    );
    let len = 13 * PAGE;
    expect_efault("long arguments off the end", d, long + 8, rbuf, len, len);
    // Arguments that start in the page of the rbuf (the kernel takes a
    // range within that page from the rbuf's look) and run off the end.
    let beside = short + PAGE + 64;
    bytes_mut(beside, 16).fill(0x5a);
    let mut arg = door_arg_t {
        data_ptr: (short + 2 * PAGE - 8) as u64,
        data_size: 16,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: beside as u64,
        rsize: 16,
    };
    let ret = door_call(d, &mut arg);
    expect_eq(
        "arguments beside the rbuf, off the end",
        (ret, errno()),
        (-1, Errno::EFAULT),
    );
    check!(
        bytes(beside, 16).iter().all(|&b| b == 0x5a),
        "arguments beside the rbuf, off the end: rbuf changed"
    );
    expect_efault(
        "short rbuf off the end",
        d,
        rbuf,
        short + PAGE + 8,
        2 * PAGE,
        0,
    );
    expect_efault("long rbuf off the end", d, rbuf, long + 8, 13 * PAGE, 0);
    let read_only = map(12 * PAGE, prot::READ);
    expect_efault("short read-only rbuf", d, rbuf, read_only, 16, 0);
    expect_efault("long read-only rbuf", d, rbuf, read_only, 12 * PAGE, 0);
    println!("dcopy: ranges off the end of their area, or read-only results, fail with EFAULT");
    remembered_pages(d);
    println!("dcopy: remembered pages are not used after an unmap or a fork");
    verdict(true)
}
