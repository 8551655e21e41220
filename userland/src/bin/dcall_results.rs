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
//! check last (after lowering its memory limit to 0).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use userland::Errno;
use userland::abi::kstat;
use userland::door::*;
use userland::heap::unmap;
use userland::testkit::dargs::{
    self, Buf, COOKIE_MAIN, COOKIE_NULL, DESC, PATTERN, PENDING, bytes_at, call,
    child_then_final_echo, descs_at, r_request, reversed, section, serve_main, server, take_desc,
};
use userland::testkit::dcall::info_of;
use userland::testkit::{Outcome as R, arg_for};
use userland::{ensure, println, process};

userland::entry!(main);

const PAGE: usize = 4096;

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
            errno().name()
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
            rec[3] == Errno::E2BIG.code() as i64,
            "NULL params: server's door_return with data gave {} (expected E2BIG)",
            if rec[3] == PENDING {
                "success"
            } else {
                Errno::from_code(rec[3] as u16).name()
            }
        );
        ensure!(
            rec[4] == Errno::E2BIG.code() as i64,
            "NULL params: server's door_return with a descriptor gave {} (expected E2BIG)",
            if rec[4] == PENDING {
                "success"
            } else {
                Errno::from_code(rec[4] as u16).name()
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
            Errno::from_code(rec[3] as u16).name()
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
    process::set_limit(0, userland::abi::limit::MEMORY, 0).expect("lower the memory limit");
    let descs_before = process::kstat(kstat::DESCRIPTORS).unwrap_or(0);
    let req = r_request(10_000, 1);
    let mut rbuf = Buf([0x55u8; 64]);
    let rptr = rbuf.0.as_ptr() as u64;
    let mut a = arg_for(&req, &mut rbuf.0);
    let r = door_call(main, &mut a);
    ensure!(
        r == -1 && errno() == Errno::EOVERFLOW,
        "results beyond rsize with no room to map them: door_call gave {r} ({}), expected EOVERFLOW",
        errno().name()
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

fn child() -> R {
    client("child", 0, 1)?;
    overflow(0)
}

fn parent() -> R {
    let main = door_create(server, COOKIE_MAIN as *mut c_void, 0);
    let null = door_create(server, COOKIE_NULL as *mut c_void, 0);
    ensure!(main >= 0 && null >= 0, "door_create failed");
    serve_main(main)?;
    client("local", main, null)?;
    child_then_final_echo(&["child"], &[main, null], main)
}

fn main() -> i32 {
    dargs::run("dcall_results", parent, child)
}
