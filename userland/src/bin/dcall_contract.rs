//! The door_create attributes and the door_arg_t contract of door_call /
//! door_return (doors-semantics.md, "door_call"), within one process and
//! across two:
//!
//! - door_create accepts every attribute (DOOR_UNREF, DOOR_PRIVATE,
//!   DOOR_UNREF_MULTI, DOOR_REFUSE_DESC, DOOR_NO_CANCEL) and door_info
//!   reports it; unknown bits and DOOR_UNREF|DOOR_UNREF_MULTI are EINVAL.
//! - Arguments in, results out through rbuf: data_ptr/desc_ptr point into
//!   rbuf, results of exactly rsize bytes stay there, the descriptors at
//!   rbuf + roundup(data_size, sizeof(door_desc_t)) (at rbuf itself after
//!   zero bytes of data); one buffer as argument and result buffer.
//!
//! (params == NULL, results larger than rsize and EOVERFLOW are checked by
//! dcall_results.) The parent serves the main door and runs the client
//! checks on it itself, then spawns a child (descriptors 0 = main door,
//! 1 = a door with attributes) that runs the same checks from another
//! process.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use userland::Errno;
use userland::abi::kstat;
use userland::door::*;
use userland::heap::unmap;
use userland::testkit::dargs::{
    self, Buf, COOKIE_MAIN, DESC, PATTERN, bytes_at, call, child_then_final_echo, descs_at,
    r_request, reversed, section, serve_main, server, take_desc,
};
use userland::testkit::dcall::info_of;
use userland::testkit::{Outcome as R, arg_for};
use userland::{arg, ensure, println, process};

userland::entry!(main);

fn expect_closed(what: &str, d: i32) -> R {
    let mut info = door_info_t::default();
    let r = door_info(d, &mut info);
    ensure!(
        r == -1 && errno() == Errno::EBADF,
        "{what}: descriptor {d} should be closed, door_info gave {r} ({})",
        errno().name()
    );
    Ok(())
}

/// The door_arg_t contract, from whichever process holds `main` and `null`.
fn client(who: &str, main: i32) -> R {
    let uniq = info_of(main)?.di_uniquifier;

    // 1. Arguments in, results out in rbuf (no descriptors).
    section(who, "basic", || -> R {
        let args = *b"Ehello, door contract";
        let mut rbuf = Buf([0xaau8; 256]);
        let rptr = rbuf.0.as_ptr() as u64;
        let mut a = arg_for(&args, &mut rbuf.0);
        call("echo", main, &mut a)?;
        ensure!(
            a.rbuf == rptr && a.rsize == 256,
            "echo: rbuf/rsize changed to {:#x}/{} (was {rptr:#x}/256)",
            a.rbuf,
            a.rsize
        );
        ensure!(
            a.data_ptr == rptr,
            "echo: data_ptr {:#x} is not rbuf {rptr:#x}",
            a.data_ptr
        );
        ensure!(
            a.data_size == args.len() as u64 && a.desc_num == 0,
            "echo: data_size {} desc_num {}",
            a.data_size,
            a.desc_num
        );
        ensure!(
            rbuf.0[..args.len()] == reversed(&args)[..],
            "echo: rbuf holds {:?}",
            &rbuf.0[..args.len()]
        );
        ensure!(
            args == *b"Ehello, door contract",
            "echo: the argument buffer was modified"
        );
        println!("dcall_contract: {who}: arguments in, results out in rbuf");
        Ok(())
    });

    // Results of exactly rsize bytes (no descriptors) fit in rbuf,
    // whatever their size modulo sizeof(door_desc_t).
    section(who, "exact-rsize", || -> R {
        let args = *b"Ehello, door contract";
        for len in [21usize, 5] {
            let mut rbuf = Buf([0u8; 32]);
            let rptr = rbuf.0.as_ptr() as u64;
            let mut a = arg_for(&args[..len], &mut rbuf.0[..len]);
            call("echo into exactly rsize", main, &mut a)?;
            let moved = a.rbuf != rptr;
            let (got_rbuf, got_rsize) = (a.rbuf, a.rsize);
            if moved {
                let _ = unmap(got_rbuf as usize, got_rsize as usize);
            }
            ensure!(
                !moved && got_rsize == len as u64 && a.data_ptr == rptr,
                "{len} bytes of results into rsize {len}: moved to a new area {got_rbuf:#x}+{got_rsize} (rbuf was {rptr:#x}); results that fit rbuf must stay there"
            );
            ensure!(
                rbuf.0[..len] == reversed(&args[..len])[..],
                "echo into exactly rsize: data {:?}",
                &rbuf.0[..len]
            );
        }
        println!("dcall_contract: {who}: results of exactly rsize bytes stay in rbuf");
        Ok(())
    });

    // 2. Descriptors both ways: after the data, at rbuf + roundup(size, 24).
    section(who, "descriptors", || -> R {
        let keep = dup(main);
        let give = dup(main);
        ensure!(keep >= 0 && give >= 0, "dup failed");
        let args: Vec<u8> = (0..30u8)
            .map(|i| if i == 0 { b'E' } else { b'a' + i % 26 })
            .collect();
        let descs = [
            door_desc_t::new(keep, DOOR_DESCRIPTOR),
            door_desc_t::new(give, DOOR_DESCRIPTOR | DOOR_RELEASE),
        ];
        let mut rbuf = Buf([0u8; 512]);
        let rptr = rbuf.0.as_ptr() as u64;
        let mut a = arg_for(&args, &mut rbuf.0);
        a.desc_ptr = descs.as_ptr() as u64;
        a.desc_num = 2;
        call("echo+descs", main, &mut a)?;
        ensure!(
            a.rbuf == rptr && a.data_ptr == rptr && a.data_size == 30,
            "echo+descs: rbuf {:#x} data_ptr {:#x} data_size {} (rbuf was {rptr:#x})",
            a.rbuf,
            a.data_ptr,
            a.data_size
        );
        ensure!(
            a.desc_num == 2 && a.desc_ptr == rptr + 48,
            "echo+descs: desc_num {} desc_ptr {:#x}, expected 2 at rbuf + 48 = {:#x}",
            a.desc_num,
            a.desc_ptr,
            rptr + 48
        );
        ensure!(
            bytes_at(a.data_ptr, 30) == &reversed(&args)[..],
            "echo+descs: data {:?}",
            core::str::from_utf8(bytes_at(a.data_ptr, a.data_size as usize))
        );
        let got = descs_at(a.desc_ptr, 2);
        ensure!(
            got[0].d_descriptor != got[1].d_descriptor,
            "echo+descs: both results name descriptor {}",
            { got[0].d_descriptor }
        );
        for d in got {
            take_desc("echo+descs", d, uniq)?;
        }
        expect_closed("DOOR_RELEASE argument", give)?;
        ensure!(
            info_of(keep)?.di_uniquifier == uniq,
            "argument without DOOR_RELEASE lost"
        );
        close(keep);
        println!("dcall_contract: {who}: descriptors after the data at rbuf + roundup(size, 24)");
        Ok(())
    });

    // 3. Zero bytes of data and a descriptor: the descriptor at rbuf itself.
    section(who, "zero-data", || -> R {
        let req = r_request(0, 1);
        let mut rbuf = Buf([0u8; 128]);
        let rptr = rbuf.0.as_ptr() as u64;
        let mut a = arg_for(&req, &mut rbuf.0);
        call("R(0,1)", main, &mut a)?;
        ensure!(
            a.rbuf == rptr && a.data_size == 0 && a.desc_num == 1 && a.desc_ptr == rptr,
            "R(0,1): rbuf {:#x} data_size {} desc_num {} desc_ptr {:#x} (rbuf was {rptr:#x})",
            a.rbuf,
            a.data_size,
            a.desc_num,
            a.desc_ptr
        );
        take_desc("R(0,1)", descs_at(a.desc_ptr, 1)[0], uniq)?;
        Ok(())
    });

    // 4. One buffer as argument and result buffer (data and descriptors
    //    taken from it, results written over them).
    section(who, "shared-buffer", || -> R {
        let mut buf = Buf([0u8; 512]);
        let base = buf.0.as_ptr() as u64;
        let args: Vec<u8> = (0..30u8)
            .map(|i| if i == 0 { b'E' } else { b'A' + i % 26 })
            .collect();
        buf.0[..30].copy_from_slice(&args);
        let (d1, d2) = (dup(main), dup(main));
        ensure!(d1 >= 0 && d2 >= 0, "dup failed");
        for (i, d) in [d1, d2].into_iter().enumerate() {
            let e = door_desc_t::new(d, DOOR_DESCRIPTOR);
            // SAFETY: inside `buf`, 16-byte aligned base + 48 + 24 i.
            unsafe { (buf.0.as_mut_ptr().add(48 + i * DESC) as *mut door_desc_t).write(e) };
        }
        let mut a = door_arg_t {
            data_ptr: base,
            data_size: 30,
            desc_ptr: base + 48,
            desc_num: 2,
            rbuf: base,
            rsize: 512,
        };
        call("shared buffer echo", main, &mut a)?;
        ensure!(
            a.rbuf == base && a.data_ptr == base && a.data_size == 30,
            "shared buffer: rbuf {:#x} data_ptr {:#x} size {} (buffer {base:#x})",
            a.rbuf,
            a.data_ptr,
            a.data_size
        );
        ensure!(
            buf.0[..30] == reversed(&args)[..],
            "shared buffer: data {:?}",
            &buf.0[..30]
        );
        ensure!(
            a.desc_num == 2 && a.desc_ptr == base + 48,
            "shared buffer: desc_num {} desc_ptr {:#x}",
            a.desc_num,
            a.desc_ptr
        );
        for d in descs_at(a.desc_ptr, 2) {
            ensure!(
                d.d_descriptor != d1 && d.d_descriptor != d2,
                "shared buffer: result entry still names the argument descriptor"
            );
            take_desc("shared buffer", d, uniq)?;
        }
        close(d1);
        close(d2);

        // Results bigger than the arguments, in the same buffer.
        let req = r_request(200, 1);
        buf.0[..6].copy_from_slice(&req);
        let mut a = door_arg_t {
            data_ptr: base,
            data_size: 6,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: base,
            rsize: 512,
        };
        call("shared buffer R(200,1)", main, &mut a)?;
        ensure!(
            a.rbuf == base && a.data_ptr == base && a.data_size == 200,
            "shared buffer R: rbuf {:#x} data_ptr {:#x} size {}",
            a.rbuf,
            a.data_ptr,
            a.data_size
        );
        ensure!(
            buf.0[..200] == PATTERN[..200],
            "shared buffer R: data differs"
        );
        ensure!(
            a.desc_num == 1 && a.desc_ptr == base + 216,
            "shared buffer R: desc_num {} desc_ptr {:#x}, expected 1 at {:#x}",
            a.desc_num,
            a.desc_ptr,
            base + 216
        );
        take_desc("shared buffer R", descs_at(a.desc_ptr, 1)[0], uniq)?;
        println!("dcall_contract: {who}: one buffer for arguments and results");
        Ok(())
    });

    Ok(())
}

/// door_create's attributes as door_info reports them; EINVAL cases.
fn attributes() -> R {
    let me = process::getpid() as i32;
    let all = [
        0,
        DOOR_UNREF,
        DOOR_PRIVATE,
        DOOR_UNREF_MULTI,
        DOOR_REFUSE_DESC,
        DOOR_NO_CANCEL,
        DOOR_UNREF | DOOR_PRIVATE | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
        DOOR_UNREF_MULTI | DOOR_PRIVATE | DOOR_REFUSE_DESC | DOOR_NO_CANCEL,
    ];
    let mut seen: Vec<u64> = Vec::new();
    for (i, &attrs) in all.iter().enumerate() {
        let cookie = 0x5000 + i;
        let d = door_create(server, cookie as *mut c_void, attrs);
        ensure!(
            d >= 0,
            "door_create(attributes {attrs:#x}) failed with {}",
            errno().name()
        );
        let info = info_of(d)?;
        let (got, target, pc, data, uniq) = (
            info.di_attributes,
            info.di_target,
            info.di_proc,
            info.di_data,
            info.di_uniquifier,
        );
        let want = attrs | DOOR_LOCAL | DOOR_IS_UNREF;
        ensure!(
            got == want,
            "door_info of a door created with {attrs:#x}: attributes {got:#x}, expected {want:#x}"
        );
        ensure!(
            target == me && pc == server as *const () as u64 && data == cookie as u64,
            "door_info: target {target} proc {pc:#x} data {data:#x}"
        );
        ensure!(!seen.contains(&uniq), "door_info: uniquifier {uniq} reused");
        seen.push(uniq);
        let mut v = 0usize;
        ensure!(
            door_getparam(d, DOOR_PARAM_DESC_MAX, &mut v) == 0,
            "door_getparam failed"
        );
        let want_max = if attrs & DOOR_REFUSE_DESC != 0 {
            0
        } else {
            i32::MAX as usize
        };
        ensure!(
            v == want_max,
            "attributes {attrs:#x}: DESC_MAX {v}, expected {want_max}"
        );
        ensure!(
            door_revoke(d) == 0,
            "door_revoke failed with {}",
            errno().name()
        );
    }
    let doors = process::kstat(kstat::DOORS).unwrap_or(0);
    let descs = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    let bad = [
        DOOR_LOCAL,
        DOOR_REVOKED,
        DOOR_IS_UNREF,
        0x100,
        0x8000_0000,
        DOOR_DESCRIPTOR,
        DOOR_RELEASE,
        DOOR_PRIVATE | 0x200,
        DOOR_UNREF | DOOR_UNREF_MULTI,
        DOOR_UNREF | DOOR_UNREF_MULTI | DOOR_PRIVATE,
    ];
    for attrs in bad {
        let r = door_create(server, null_mut(), attrs);
        ensure!(
            r == -1 && errno() == Errno::EINVAL,
            "door_create(attributes {attrs:#x}) gave {r} ({}), expected EINVAL",
            errno().name()
        );
    }
    let (doors2, descs2) = (
        process::kstat(kstat::DOORS).unwrap_or(0),
        process::kstat(kstat::DESCRIPTORS).unwrap_or(0),
    );
    ensure!(
        doors2 == doors && descs2 == descs,
        "failed door_create calls left doors {doors}->{doors2}, descriptors {descs}->{descs2}"
    );
    println!("dcall_contract: door_create attributes reported by door_info; bad ones EINVAL");
    Ok(())
}

const PASSED_ATTRS: u32 = DOOR_PRIVATE | DOOR_REFUSE_DESC | DOOR_NO_CANCEL;

fn child() -> R {
    let parent: i32 = arg(2).and_then(|s| s.parse().ok()).unwrap_or(-1);
    let info = info_of(0)?;
    let (t, a) = (info.di_target, info.di_attributes);
    ensure!(
        t == parent && a == 0,
        "child: door_info of the main door: target {t} attributes {a:#x}, expected {parent} and 0"
    );
    let info = info_of(1)?;
    let (t, a) = (info.di_target, info.di_attributes);
    ensure!(
        t == parent && a == PASSED_ATTRS,
        "child: door_info of a passed door: target {t} attributes {a:#x}, expected {parent} and {PASSED_ATTRS:#x}"
    );
    client("child", 0)
}

fn parent() -> R {
    attributes()?;
    let main = door_create(server, COOKIE_MAIN as *mut c_void, 0);
    let passed = door_create(server, null_mut(), PASSED_ATTRS);
    ensure!(main >= 0 && passed >= 0, "door_create failed");
    serve_main(main)?;
    client("local", main)?;
    let me = format!("{}", process::getpid());
    child_then_final_echo(&["child", &me], &[main, passed], main)
}

fn main() -> i32 {
    dargs::run("dcall_contract", parent, child)
}
