//! The door_call error codes of doors-semantics.md that come from the call
//! itself (its arguments, the door, the server thread), each with its own
//! check, across two processes (and within one where noted):
//!
//! - E2BIG: the arguments do not fit the server thread's stack area (the
//!   server's pool threads have 32 KiB stacks: door_server_create +
//!   thread::spawn_with_stack);
//! - EAGAIN: a caller waiting for a server thread (none is free: a
//!   DOOR_PRIVATE door without bound threads) is aborted with door_abort
//!   (across processes and within one);
//! - EBADF: not a descriptor, a closed descriptor, a revoked door (within
//!   one process and across two), a door whose server exited;
//! - EFAULT: bad params pointer, bad data_ptr, bad desc_ptr, bad rbuf;
//! - EINTR: the server process exits while serving the call;
//! - EINVAL: a door_desc_t without DOOR_DESCRIPTOR, or with a bad descriptor.
//!
//! (EMFILE, ENFILE, ENOBUFS and ENOTSUP, the server's limits, are checked by
//! dcall_limits, EOVERFLOW by dcall_results.) Where a failing call carries a
//! DOOR_RELEASE descriptor, the check also verifies it is closed, except on
//! EFAULT and EBADF where it must stay open.
//!
//! The parent is the client. It serves a registry door (descriptor 0 of the
//! child) through which the server child hands over its doors and parks its
//! main thread until the parent lets it exit.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec;
use core::ptr::null_mut;
use userland::Errno;
use userland::door::*;
use userland::testkit::dcall::{
    self, call, expect_err, expect_ok, expect_raw, info_of, let_child_exit, parent_server, reap,
    released, section, spare,
};
use userland::testkit::{Outcome as R, arg_for};
use userland::{ensure, process, thread};

userland::entry!(main);

/// Fits a 32 KiB area (the kernel keeps a page of it for the procedure).
const FITS: usize = 4000;
/// Does not fit it (more than the area less that page).
const TOO_BIG: usize = 30_000;

/// The child's doors, in the order it registers them with the parent (the
/// last is the one its `V` request revokes).
const D_MAIN: usize = 0;
const D_PRIV: usize = 1;
const D_REV: usize = 2;

fn e2big(main: i32) -> R {
    let fits = vec![b'E'; FITS];
    expect_ok(
        "arguments that fit the server's stack area",
        main,
        &fits,
        &[],
    )?;
    let big = vec![b'E'; TOO_BIG];
    expect_err(
        "arguments larger than the server's stack area",
        main,
        &big,
        &[],
        Errno::E2BIG,
    )?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    expect_err(
        "too big, with a DOOR_RELEASE descriptor",
        main,
        &big,
        &rel,
        Errno::E2BIG,
    )?;
    released("E2BIG", s, true)?;
    let s = spare()?;
    let many = vec![door_desc_t::new(s, DOOR_DESCRIPTOR); 2000];
    let r = expect_err(
        "2000 descriptors (48000 bytes of entries)",
        main,
        b"E",
        &many,
        Errno::E2BIG,
    );
    close(s);
    r?;
    // The same, with a DOOR_RELEASE entry among them. A count above the
    // kernel's hard per-message limit is refused before the descriptor
    // array is even read (as illumos does with door_max_desc), so, like
    // EFAULT and EBADF, this E2BIG leaves the descriptor open.
    let (s, rel) = (spare()?, spare()?);
    let mut many = vec![door_desc_t::new(s, DOOR_DESCRIPTOR); 2000];
    many[0] = door_desc_t::new(rel, DOOR_DESCRIPTOR | DOOR_RELEASE);
    let r = expect_err(
        "2000 descriptors, one with DOOR_RELEASE",
        main,
        b"E",
        &many,
        Errno::E2BIG,
    );
    close(s);
    r?;
    released("E2BIG with 2000 descriptors", rel, false)?;
    expect_ok("a call that fits, afterwards", main, &fits, &[])
}

/// A call to `d` (which has no free server thread) on another thread is
/// aborted while it waits: EAGAIN, and its DOOR_RELEASE descriptor is gone.
fn eagain_on(what: &str, d: i32) -> R {
    let s = spare()?;
    let h = thread::spawn(move || {
        let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
        match call(d, b"Ewaiting", &rel) {
            Ok(_) => 0,
            Err(e) => u64::from(e.code()),
        }
    })
    .map_err(|e| format!("{what}: thread::spawn: {e:?}"))?;
    let mut aborted = false;
    for _ in 0..1000 {
        if door_abort(h.tid()) == 0 {
            aborted = true;
            break;
        }
        let e = errno();
        ensure!(
            e == Errno::EINVAL,
            "{what}: door_abort failed with {} (expected EINVAL until the thread waits)",
            e.name()
        );
        process::sleep_ticks(1);
    }
    ensure!(
        aborted,
        "{what}: the calling thread never was in door_call (or its call ended)"
    );
    let got = h.join().map_err(|e| format!("{what}: join: {e:?}"))? as u16;
    ensure!(
        got == Errno::EAGAIN.code(),
        "{what}: the aborted waiting call returned {}, expected EAGAIN",
        if got == 0 {
            "success"
        } else {
            Errno::from_code(got).name()
        }
    );
    released(what, s, true)
}

fn eagain(private: i32) -> R {
    eagain_on("across processes", private)?;
    let local = door_create(parent_server, null_mut(), DOOR_PRIVATE);
    ensure!(local >= 0, "door_create(DOOR_PRIVATE) failed");
    let r = eagain_on("within one process", local);
    door_revoke(local);
    r
}

fn ebadf(main: i32, rev: i32) -> R {
    let mut rbuf = [0u8; 16];
    let msg = *b"E1";
    let mut a = arg_for(&msg, &mut rbuf);
    for d in [-1, 0x7ff, 0x7fff_ffff, DOOR_QUERY] {
        expect_raw(&format!("not a descriptor ({d})"), d, &mut a, Errno::EBADF)?;
    }
    let d = spare()?;
    close(d);
    expect_err("closed descriptor", d, b"E1", &[], Errno::EBADF)?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    expect_err(
        "closed descriptor, with a DOOR_RELEASE descriptor",
        d,
        b"E1",
        &rel,
        Errno::EBADF,
    )?;
    released("EBADF", s, false)?;

    // Revoked within one process: the other descriptor of the door.
    let own = door_create(parent_server, null_mut(), 0);
    ensure!(own >= 0, "door_create failed");
    let other = dup(own);
    expect_ok("own door before revocation", other, b"E2", &[])?;
    ensure!(
        door_revoke(own) == 0,
        "door_revoke failed with {}",
        errno().name()
    );
    let r = expect_err(
        "door revoked by this process",
        other,
        b"E2",
        &[],
        Errno::EBADF,
    );
    let revoked = info_of(other).map(|i| i.di_attributes & DOOR_REVOKED != 0);
    close(other);
    r?;
    ensure!(revoked?, "door_info of the revoked door lacks DOOR_REVOKED");

    // Revoked by its server, another process.
    expect_ok("the child's door before revocation", rev, b"E3", &[])?;
    match call(main, b"V", &[]) {
        Ok(r) if r == [0] => {}
        Ok(r) => {
            return Err(format!(
                "the child's door_revoke failed: {}",
                Errno::from_code(r[0] as u16).name()
            ));
        }
        Err(e) => return Err(format!("asking the child to revoke: {}", e.name())),
    }
    expect_err(
        "door revoked by its server process",
        rev,
        b"E3",
        &[],
        Errno::EBADF,
    )?;
    let info = info_of(rev)?;
    let (attrs, target) = (info.di_attributes, info.di_target);
    ensure!(
        attrs & DOOR_REVOKED != 0 && target > 0,
        "door_info of the child's revoked door: attributes {attrs:#x} target {target}"
    );
    Ok(())
}

fn efault(main: i32) -> R {
    let msg = *b"Efault";
    let mut rbuf = [0u8; 64];
    expect_raw(
        "params unmapped",
        main,
        0x1000 as *mut door_arg_t,
        Errno::EFAULT,
    )?;
    expect_raw(
        "params in the kernel half",
        main,
        0xffff_8000_0000_0000u64 as *mut door_arg_t,
        Errno::EFAULT,
    )?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0x1000;
    expect_raw("data_ptr unmapped", main, &mut a, Errno::EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0xffff_8000_0000_0000;
    expect_raw("data_ptr in the kernel half", main, &mut a, Errno::EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.rbuf = 0x1000;
    expect_raw("rbuf unmapped", main, &mut a, Errno::EFAULT)?;
    let mut a = arg_for(&msg, &mut rbuf);
    a.desc_ptr = 0x1000;
    a.desc_num = 1;
    expect_raw("desc_ptr unmapped", main, &mut a, Errno::EFAULT)?;
    let s = spare()?;
    let rel = [door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)];
    let mut a = arg_for(&msg, &mut rbuf);
    a.data_ptr = 0x1000;
    a.desc_ptr = rel.as_ptr() as u64;
    a.desc_num = 1;
    expect_raw(
        "data_ptr unmapped, with a DOOR_RELEASE descriptor",
        main,
        &mut a,
        Errno::EFAULT,
    )?;
    released("EFAULT", s, false)?;
    expect_ok("a good call afterwards", main, &msg, &[])
}

fn einval(main: i32) -> R {
    let s = spare()?;
    let r = expect_err(
        "door_desc_t without DOOR_DESCRIPTOR",
        main,
        b"E",
        &[door_desc_t::new(s, 0)],
        Errno::EINVAL,
    );
    close(s);
    r?;
    expect_err(
        "door_desc_t with a descriptor never opened",
        main,
        b"E",
        &[door_desc_t::new(0x7ff, DOOR_DESCRIPTOR)],
        Errno::EINVAL,
    )?;
    let c = spare()?;
    close(c);
    expect_err(
        "door_desc_t with a closed descriptor",
        main,
        b"E",
        &[door_desc_t::new(c, DOOR_DESCRIPTOR)],
        Errno::EINVAL,
    )?;
    let s = spare()?;
    let descs = [
        door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE),
        door_desc_t::new(c, DOOR_DESCRIPTOR),
    ];
    expect_err(
        "a DOOR_RELEASE entry and a bad one",
        main,
        b"E",
        &descs,
        Errno::EINVAL,
    )?;
    released("EINVAL", s, true)
}

/// The server process exits while serving a call: EINTR; later calls
/// EBADF, and door_info reports di_target -1.
fn eintr(main: i32, child: u32) -> R {
    let h = thread::spawn(move || match call(main, b"H", &[]) {
        Ok(_) => 0,
        Err(e) => u64::from(e.code()),
    })
    .map_err(|e| format!("thread::spawn: {e:?}"))?;
    let mut hung = false;
    for _ in 0..1000 {
        if dcall::hung() {
            hung = true;
            break;
        }
        process::sleep_ticks(1);
    }
    let_child_exit();
    ensure!(hung, "the child never started serving the hanging call");
    let got = h.join().map_err(|e| format!("join: {e:?}"))? as u16;
    let (_, status) = reap(child).map_err(|e| format!("wait: {e:?}"))?;
    ensure!(
        got == Errno::EINTR.code(),
        "call in progress when the server exited: {}, expected EINTR",
        if got == 0 {
            "success"
        } else {
            Errno::from_code(got).name()
        }
    );
    ensure!(status == 0, "the server child exited with {status}");
    expect_err(
        "a call after the server exited",
        main,
        b"E",
        &[],
        Errno::EBADF,
    )?;
    let info = info_of(main)?;
    let (target, attrs) = (info.di_target, info.di_attributes);
    ensure!(
        target == -1,
        "door_info after the server exited: di_target {target}, expected -1"
    );
    ensure!(
        attrs & DOOR_REVOKED != 0,
        "door_info after the server exited: attributes {attrs:#x} lack DOOR_REVOKED"
    );
    Ok(())
}

fn main() -> i32 {
    dcall::run(
        "dcall_errors",
        [0, DOOR_PRIVATE, 0],
        |_| Ok(()),
        |reg_fds, child| {
            let d = |i: usize| reg_fds[i];
            section("E2BIG", || e2big(d(D_MAIN)));
            section("EAGAIN", || eagain(d(D_PRIV)));
            section("EBADF", || ebadf(d(D_MAIN), d(D_REV)));
            section("EFAULT", || efault(d(D_MAIN)));
            section("EINVAL", || einval(d(D_MAIN)));
            section("EINTR", || eintr(d(D_MAIN), child));
        },
    )
}
