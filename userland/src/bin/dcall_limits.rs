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
use core::ptr::null_mut;
use userland::Errno;
use userland::door::*;
use userland::ensure;
use userland::testkit::Outcome as R;
use userland::testkit::dcall::{
    self, call, expect_err, expect_ok, expect_raw, released, section, spare,
};
use userland::testkit::info;

userland::entry!(main);

/// The child's doors, in the order it registers them with the parent.
const D_MAIN: usize = 0;
const D_LIM: usize = 1;
const D_REFUSE: usize = 2;

/// The server child's setup: limits on the D_LIM door.
fn set_limits(doors: &[i32; dcall::NDOORS]) -> Result<(), &'static str> {
    let lim = doors[D_LIM];
    if door_setparam(lim, DOOR_PARAM_DESC_MAX, 1) != 0
        || door_setparam(lim, DOOR_PARAM_DATA_MIN, 4) != 0
        || door_setparam(lim, DOOR_PARAM_DATA_MAX, 64) != 0
    {
        return Err("door_setparam");
    }
    Ok(())
}

fn emfile(main: i32) -> R {
    let filled = match call(main, b"F", &[]) {
        Ok(r) if r.len() == 5 => {
            let n = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            ensure!(
                n > 0 && u16::from(r[4]) == Errno::EMFILE.code(),
                "the child filled {n} slots and then got {}, expected EMFILE",
                Errno::from_code(u16::from(r[4])).name()
            );
            n
        }
        Ok(r) => return Err(format!("fill: reply {r:?}")),
        Err(e) => return Err(format!("fill: {}", e.name())),
    };
    let checks = (|| -> R {
        let s = spare()?;
        let r = expect_err(
            "a descriptor to a server whose table is full",
            main,
            b"E",
            &[door_desc_t::new(s, DOOR_DESCRIPTOR)],
            Errno::EMFILE,
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
            Errno::EMFILE,
        )?;
        released("EMFILE", s, true)?;
        expect_ok("no descriptors while the table is full", main, b"E", &[])
    })();
    let emptied = match call(main, b"U", &[]) {
        Ok(r) if r.len() == 4 => u32::from_le_bytes([r[0], r[1], r[2], r[3]]),
        Ok(r) => return Err(format!("unfill: reply {r:?}")),
        Err(e) => return Err(format!("unfill: {}", e.name())),
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
        errno().name()
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
        Errno::ENFILE,
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
        Errno::ENFILE,
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
    expect_err("3 bytes, DATA_MIN 4", lim, &data[..3], &[], Errno::ENOBUFS)?;
    expect_err(
        "65 bytes, DATA_MAX 64",
        lim,
        &data[..65],
        &[],
        Errno::ENOBUFS,
    )?;
    expect_raw(
        "params NULL (0 bytes), DATA_MIN 4",
        lim,
        null_mut(),
        Errno::ENOBUFS,
    )?;
    let s = spare()?;
    expect_err(
        "3 bytes with a DOOR_RELEASE descriptor",
        lim,
        &data[..3],
        &[door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)],
        Errno::ENOBUFS,
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
        Errno::ENOTSUP,
    );
    close(s);
    r?;
    let s = spare()?;
    expect_err(
        "a DOOR_RELEASE descriptor to a DOOR_REFUSE_DESC door",
        refuse,
        b"E",
        &[door_desc_t::new(s, DOOR_DESCRIPTOR | DOOR_RELEASE)],
        Errno::ENOTSUP,
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
    dcall::run(
        "dcall_limits",
        [0, 0, DOOR_REFUSE_DESC],
        set_limits,
        |reg_fds, _| {
            let d = |i: usize| reg_fds[i];
            section("EMFILE", || emfile(d(D_MAIN)));
            section("ENFILE", || enfile(d(D_LIM)));
            section("ENOBUFS", || enobufs(d(D_LIM)));
            section("ENOTSUP", || enotsup(d(D_REFUSE)));
        },
    )
}
