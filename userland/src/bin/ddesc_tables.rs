//! Descriptor (capability) tables under QEMU, in one process and across a
//! spawn:
//! - a descriptor carries its slot's generation: the old value of a closed
//!   and reused slot, forged values, negative values and values that do not
//!   fit an `int` are EBADF for door_info, door_call, close, dup, fattach,
//!   door_revoke;
//! - close (EBADF the second time), dup (a second working descriptor; the
//!   door survives closing the first);
//! - a full table: EMFILE from door_create, dup and open, and a freed slot
//!   is usable again;
//! - (the parent runs as a child of the program, so that its table starts
//!   empty: init hands every program the console as 0, 1 and 2);
//! - a spawned child holds exactly the descriptors handed to it, as 0, 1,
//!   ... in order: the parent's other descriptor values are EBADF in the
//!   child, it can call the doors it holds but not revoke them.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use userland::abi::Sys;
use userland::door::{
    DOOR_LOCAL, DOOR_PARAM_DESC_MAX, close, door_arg_t, door_call, door_create, door_desc_t,
    door_info, door_info_t, door_return, door_revoke, door_setparam, dup, errno, fattach, fdetach,
    open,
};
use userland::sys::{Errno, syscall1, syscall2};
use userland::testkit::{self, *};
use userland::{arg, println, process};

userland::entry!(main);

const NAME: &str = "ddesc_tables";
/// Bits of a descriptor holding the slot index (doors/src/table.rs).
const INDEX_MASK: i32 = (1 << 12) - 1;
const PATH: &str = "/tmp/ddesc_tables.c";

/// Replies with its cookie (a tag naming the door) as 8 bytes.
extern "C" fn tag_server(cookie: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    let mut tag = (cookie as u64).to_le_bytes();
    door_return(tag.as_mut_ptr(), 8, core::ptr::null_mut(), 0);
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

fn create(tag: u64) -> i32 {
    door_create(tag_server, tag as *mut c_void, 0)
}

/// Calls `d` with no arguments; returns the tag it answers with, or errno.
fn call_tag(d: i32) -> Result<u64, Errno> {
    let mut rbuf = [0u8; 64];
    let mut a = door_arg_t {
        rbuf: rbuf.as_mut_ptr() as u64,
        rsize: rbuf.len() as u64,
        ..Default::default()
    };
    if door_call(d, &mut a) == -1 {
        return Err(errno());
    }
    if a.data_size != 8 || a.desc_num != 0 || a.data_ptr != rbuf.as_ptr() as u64 {
        fail(format_args!(
            "call on {d}: results {} bytes, {} descriptors at {:#x}",
            a.data_size, a.desc_num, a.data_ptr
        ));
        return Err(Errno::EIO);
    }
    Ok(u64::from_le_bytes(rbuf[..8].try_into().unwrap()))
}

fn expect_tag(what: &str, d: i32, tag: u64) {
    match call_tag(d) {
        Ok(t) if t == tag => {}
        Ok(t) => fail(format_args!(
            "{what}: call on {d} answered tag {t}, expected {tag}"
        )),
        Err(e) => fail(format_args!("{what}: call on {d} failed with {}", e.name())),
    }
}

/// Every descriptor operation on `d` must be EBADF.
fn expect_dead(what: &str, d: i32) {
    let mut i = door_info_t::default();
    expect_err(
        door_info(d, &mut i),
        Errno::EBADF,
        &format!("{what}: door_info({d})"),
    );
    match call_tag(d) {
        Err(Errno::EBADF) => {}
        Err(e) => fail(format_args!(
            "{what}: door_call({d}) errno {}, expected EBADF",
            e.name()
        )),
        Ok(t) => fail(format_args!(
            "{what}: door_call({d}) reached door tag {t}, expected EBADF"
        )),
    }
    expect_err(
        door_call(d, core::ptr::null_mut()),
        Errno::EBADF,
        &format!("{what}: door_call({d}, NULL)"),
    );
    expect_err(dup(d), Errno::EBADF, &format!("{what}: dup({d})"));
    expect_err(
        fattach(d, PATH),
        Errno::EBADF,
        &format!("{what}: fattach({d})"),
    );
    expect_err(
        door_revoke(d),
        Errno::EBADF,
        &format!("{what}: door_revoke({d})"),
    );
    expect_err(close(d), Errno::EBADF, &format!("{what}: close({d})"));
}

/// Makes the file the parent attaches a door over, runs the parent in a
/// process of its own (so its table starts empty: this one holds the
/// console init handed over as 0, 1 and 2), and removes the file.
fn top() {
    if let Err(e) = userland::fs::write(PATH, b"") {
        fail(format_args!("creating {PATH}: {e:?}"));
    }
    if let Some(pid) = testkit::spawn(&["parent"], &[]) {
        wait_child("parent", pid);
    }
    if let Err(e) = userland::fs::unlink(PATH) {
        fail(format_args!("removing {PATH}: {e:?}"));
    }
}

fn parent() {
    let me = process::getpid() as i32;

    // A fresh table hands out 0, 1, 2 (lowest free slot, generation 0).
    let a = create(1);
    let b = create(2);
    let c = create(3);
    expect_eq("first descriptors of a fresh table", [a, b, c], [0, 1, 2]);
    expect_tag("door a", a, 1);
    expect_tag("door b", b, 2);
    expect_tag("door c", c, 3);
    match info(a).ok() {
        Some(i) => {
            expect_eq("di_target of an own door", i.di_target, me);
            expect_eq(
                "DOOR_LOCAL of an own door",
                i.di_attributes & DOOR_LOCAL,
                DOOR_LOCAL,
            );
        }
        None => fail(format_args!("door_info(a) failed with {}", errno().name())),
    }

    // close; a second close is EBADF; the slot's old value stays dead once
    // the slot is reused.
    expect_ok("close(b)", close(b));
    expect_err(close(b), Errno::EBADF, "second close(b)");
    expect_dead("closed b", b);
    let b2 = create(4);
    println!("{NAME}: slot of b ({b}) reused as {b2}");
    if b2 == b {
        fail(format_args!(
            "reused slot handed out the old value {b} again"
        ));
    }
    expect_eq(
        "slot index of the reused descriptor",
        b2 & INDEX_MASK,
        b & INDEX_MASK,
    );
    expect_dead("old value of a reused slot", b);
    expect_tag("new door in the reused slot", b2, 4);

    // Forged and negative values, and values that do not fit an int.
    let forged = [
        b2 ^ (1 << 20),
        1 << 12,
        b2 + (1 << 12),
        7,
        INDEX_MASK,
        0x7fff_ffff,
    ];
    for f in forged {
        expect_dead("forged descriptor", f);
    }
    for n in [-1, -2, -3, -4096, i32::MIN] {
        expect_dead("negative descriptor", n);
    }
    for raw in [(1u64 << 32) | a as u64, (1u64 << 63) | c as u64] {
        let mut i = door_info_t::default();
        let r = syscall2(Sys::DoorInfo, raw as usize, &mut i as *mut _ as usize);
        expect_eq(&format!("raw door_info({raw:#x})"), r, Errno::EBADF.raw());
        let r = syscall1(Sys::Close, raw as usize);
        expect_eq(&format!("raw close({raw:#x})"), r, Errno::EBADF.raw());
    }
    // None of that touched the live descriptors.
    expect_tag("a after the forgeries", a, 1);
    expect_tag("b2 after the forgeries", b2, 4);
    expect_tag("c after the forgeries", c, 3);

    // dup: a second descriptor for the same door, which survives closing
    // the first.
    let d = expect_ok("dup(a)", dup(a));
    if d == a {
        fail(format_args!("dup returned the same descriptor {d}"));
    }
    expect_eq("uniquifier of the dup", uniq(d), uniq(a));
    expect_tag("call through the dup", d, 1);
    expect_ok("close(a)", close(a));
    expect_dead("a after closing it (dup kept)", a);
    expect_tag("dup after closing the original", d, 1);
    let ua = uniq(d);

    // A full table: EMFILE from dup, door_create and open.
    expect_ok("fattach(c)", fattach(c, PATH));
    let mut extra: Vec<i32> = Vec::new();
    loop {
        let r = dup(c);
        if r == -1 {
            expect_eq("errno when the table fills", errno().name(), "EMFILE");
            break;
        }
        extra.push(r);
        if extra.len() > 5000 {
            fail(format_args!("5000 dups without EMFILE"));
            break;
        }
    }
    println!(
        "{NAME}: table full after {} dups (3 other descriptors held)",
        extra.len()
    );
    expect_err(dup(d), Errno::EMFILE, "dup on a full table");
    expect_err(create(9), Errno::EMFILE, "door_create on a full table");
    expect_err(open(PATH), Errno::EMFILE, "open on a full table");
    expect_tag("call with a full table", c, 3);
    // One freed slot takes exactly one more descriptor, whatever makes it.
    expect_ok("close one dup", close(extra.pop().unwrap_or(-1)));
    let o = expect_ok("open after freeing a slot", open(PATH));
    expect_eq("uniquifier of the opened door", uniq(o), uniq(c));
    expect_err(
        create(9),
        Errno::EMFILE,
        "door_create on a full table again",
    );
    expect_ok("close(o)", close(o));
    let e = expect_ok("door_create after freeing a slot", create(5));
    expect_err(dup(c), Errno::EMFILE, "dup on a full table again");
    for x in extra.drain(..) {
        expect_ok("close a dup", close(x));
    }
    expect_ok("fdetach", fdetach(PATH));
    expect_tag("door e", e, 5);

    // Spawn: stale and negative descriptors cannot be handed over.
    for (what, fds) in [("a stale", [c, b]), ("a negative", [c, -1])] {
        match process::spawn_with_fds(NAME, &["never"], &fds) {
            Err(Errno::EBADF) => {}
            Err(e) => fail(format_args!(
                "spawn handing {what} descriptor: {e:?}, expected EBADF"
            )),
            Ok(pid) => {
                fail(format_args!(
                    "spawn handing {what} descriptor succeeded, expected EBADF"
                ));
                let _ = process::wait(Some(pid));
            }
        }
    }

    // The child gets c and d (in that order) as 0 and 1, and nothing else.
    let handed = [c, d];
    let kept = [b2, e];
    let mut args: Vec<String> = Vec::new();
    args.push("child".into());
    args.push(format!("{me}"));
    args.push(format!("{}", uniq(c)));
    args.push(format!("{ua}"));
    for v in handed.iter().chain(kept.iter()) {
        args.push(format!("{v}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    println!("{NAME}: parent holds c={c} d={d} b2={b2} e={e}; hands over [c, d]");
    match process::spawn_with_fds(NAME, &argv, &handed) {
        Ok(pid) => match process::wait(Some(pid)) {
            Ok((_, 0)) => {}
            Ok((_, s)) => fail(format_args!("child exited with status {s}")),
            Err(e) => fail(format_args!("wait: {e:?}")),
        },
        Err(e) => fail(format_args!("spawn: {e:?}")),
    }
    // The child's use and exit left the parent's descriptors alone.
    expect_tag("c after the child", c, 3);
    expect_tag("d after the child", d, 1);
    for x in [c, d, b2, e] {
        expect_ok("final close", close(x));
    }
}

fn child() {
    let parent_pid = num_arg(2) as i32;
    let (uc, ud) = (num_arg(3) as u64, num_arg(4) as u64);
    let parent_values: Vec<i32> = (5..9).map(|i| num_arg(i) as i32).collect();

    // Descriptor 0 is the parent's c (tag 3), 1 its d (tag 1).
    for (fd, u, tag) in [(0, uc, 3), (1, ud, 1)] {
        match info(fd).ok() {
            Some(i) => {
                expect_eq(
                    &format!("uniquifier of child descriptor {fd}"),
                    i.di_uniquifier,
                    u,
                );
                expect_eq(
                    &format!("di_target of child descriptor {fd}"),
                    i.di_target,
                    parent_pid,
                );
                expect_eq(
                    &format!("DOOR_LOCAL of child descriptor {fd}"),
                    i.di_attributes & DOOR_LOCAL,
                    0,
                );
            }
            None => fail(format_args!(
                "child: door_info({fd}) failed with {}",
                errno().name()
            )),
        }
        expect_tag(&format!("child descriptor {fd}"), fd, tag);
    }
    // Nothing else: the next slots and the parent's other values are dead.
    for fd in [2, 3, 4] {
        expect_dead("child slot never handed", fd);
    }
    for v in parent_values {
        if v == 0 || v == 1 {
            continue;
        }
        expect_dead("parent's descriptor value in the child", v);
    }
    // It may use what it holds but not revoke or configure another's door.
    expect_err(
        door_revoke(0),
        Errno::EPERM,
        "child door_revoke of the parent's door",
    );
    expect_err(
        door_setparam(1, DOOR_PARAM_DESC_MAX, 1),
        Errno::EPERM,
        "child door_setparam of the parent's door",
    );
    // Its own next descriptor is slot 2.
    let x = expect_ok("child dup(0)", dup(0));
    expect_eq("child's first new descriptor", x, 2);
    expect_tag("child dup", x, 3);
    expect_ok("child close(dup)", close(x));
    expect_ok("child close(0)", close(0));
    expect_dead("child descriptor 0 after close", 0);
    expect_tag("child descriptor 1 after closing 0", 1, 1);
}

fn main() -> i32 {
    match arg(1) {
        Some("child") => child(),
        Some("parent") => parent(),
        Some(other) => {
            println!("{NAME}: unknown role {other}");
            return 2;
        }
        None => top(),
    }
    testkit::verdict(arg(1).is_none())
}
