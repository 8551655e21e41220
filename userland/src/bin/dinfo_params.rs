//! door_setparam/door_getparam under QEMU, across two processes: the
//! defaults of DOOR_PARAM_DATA_MIN (0), DOOR_PARAM_DATA_MAX (SIZE_MAX) and
//! DOOR_PARAM_DESC_MAX (INT_MAX, 0 for DOOR_REFUSE_DESC), the limits
//! enforced on calls (ENOBUFS, ENFILE, ENOTSUP; checked before a server
//! thread is chosen; ignored by unreferenced invocations for DATA_MIN), in
//! the server's process and in another, and every error: setparam EBADF,
//! EPERM (a child that received the door), EINVAL (unknown parameter, min
//! above max), ENOTSUP, ERANGE; getparam EBADF, EFAULT, EINVAL.
//!
//! Roles: no argument is the parent; `client` is a child that gets the
//! doors D (DATA 4..=8), N (DESC_MAX 1), Z (DESC_MAX 0), RD (REFUSE_DESC)
//! and P (a door to pass) as descriptors 0..=4.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, Ordering::SeqCst};
use userland::Errno;
use userland::door::safe::Door;
use userland::door::{
    DOOR_DESCRIPTOR, DOOR_PARAM_DATA_MAX, DOOR_PARAM_DATA_MIN, DOOR_PARAM_DESC_MAX, DOOR_PRIVATE,
    DOOR_REFUSE_DESC, DOOR_UNREF, DOOR_UNREF_DATA, close, door_create, door_desc_t, door_getparam,
    door_return, door_revoke, door_setparam, dup, errno,
};
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

const NAME: &str = "dinfo_params";

const PARAMS: [(i32, &str); 3] = [
    (DOOR_PARAM_DESC_MAX, "DESC_MAX"),
    (DOOR_PARAM_DATA_MAX, "DATA_MAX"),
    (DOOR_PARAM_DATA_MIN, "DATA_MIN"),
];
/// Parameter numbers that name no parameter.
const BAD_PARAMS: [i32; 5] = [0, 4, -1, 100, i32::MIN];
const INT_MAX: usize = i32::MAX as usize;

fn pname(param: i32) -> &'static str {
    PARAMS.iter().find(|p| p.0 == param).map_or("?", |p| p.1)
}

/// door_getparam, or the errno.
fn get(fd: i32, param: i32) -> Result<usize, Errno> {
    let mut v = 0usize;
    match door_getparam(fd, param, &mut v) {
        0 => Ok(v),
        _ => Err(errno()),
    }
}

/// The parameter must read `want`.
fn expect_param(fd: i32, param: i32, want: usize, what: &str) {
    match get(fd, param) {
        Ok(v) => check!(
            v == want,
            "{what}: {} is {v:#x}, want {want:#x}",
            pname(param)
        ),
        Err(e) => fail(format_args!(
            "{what}: door_getparam({}) failed: {}",
            pname(param),
            e.name()
        )),
    }
}

fn expect_set(fd: i32, param: i32, value: usize, what: &str) {
    let r = door_setparam(fd, param, value);
    check!(
        r == 0,
        "{what}: door_setparam({}, {value:#x}) failed: {}",
        pname(param),
        errno().name()
    );
    expect_param(fd, param, value, what);
}

/// Calls `fd` with `len` bytes and `descs`; the server answers with the
/// size and descriptor count it received (16 bytes).
fn call(fd: i32, len: usize, descs: &[door_desc_t]) -> Result<(u64, u64), Errno> {
    let data = alloc::vec![0x5au8; len];
    let r = Door::from_fd(fd).call(&data, descs)?;
    if r.data.len() != 16 {
        fail(format_args!("reply of {} bytes, want 16", r.data.len()));
        return Ok((u64::MAX, u64::MAX));
    }
    Ok((
        u64::from_le_bytes(r.data[..8].try_into().unwrap()),
        u64::from_le_bytes(r.data[8..].try_into().unwrap()),
    ))
}

/// The call must be served and the server must have seen `len` bytes and
/// all the descriptors.
fn expect_call_ok(fd: i32, len: usize, descs: &[door_desc_t], what: &str) {
    match call(fd, len, descs) {
        Ok((l, n)) => check!(
            l == len as u64 && n == descs.len() as u64,
            "{what}: server saw {l} bytes and {n} descriptors, want {len} and {}",
            descs.len()
        ),
        Err(e) => fail(format_args!("{what}: call failed with {}", e.name())),
    }
}

fn expect_call_err(fd: i32, len: usize, descs: &[door_desc_t], want: Errno, what: &str) {
    match call(fd, len, descs) {
        Ok((l, n)) => fail(format_args!(
            "{what}: call served ({l} bytes, {n} descriptors), want {}",
            want.name()
        )),
        Err(e) => check!(
            e == want,
            "{what}: call failed with {}, want {}",
            e.name(),
            want.name()
        ),
    }
}

/// Set when an unreferenced invocation reaches the server.
static UNREF_SEEN: AtomicBool = AtomicBool::new(false);

/// The server of every door here: returns (size, descriptor count) and
/// closes the descriptors it received.
extern "C" fn echo(_c: *mut c_void, argp: *mut u8, size: usize, dp: *mut door_desc_t, n: u32) {
    if argp as u64 == DOOR_UNREF_DATA {
        UNREF_SEEN.store(true, SeqCst);
        door_return(null_mut(), 0, null_mut(), 0);
        return;
    }
    for k in 0..n as usize {
        // SAFETY: the kernel laid out `n` descriptor entries at `dp`.
        let d = unsafe { *dp.add(k) };
        close(d.d_descriptor);
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&(size as u64).to_le_bytes());
    out[8..].copy_from_slice(&u64::from(n).to_le_bytes());
    door_return(out.as_mut_ptr(), out.len(), null_mut(), 0);
}

fn create(attrs: u32) -> i32 {
    let fd = door_create(echo, null_mut::<c_void>(), attrs);
    check!(fd >= 0, "door_create({attrs:#x}): {}", errno().name());
    fd
}

fn main() -> i32 {
    let ok = match arg(1) {
        None => parent(),
        Some("client") => client(),
        Some(r) => {
            println!("{NAME}: unknown role {r}");
            false
        }
    };
    if ok {
        testkit::verdict(arg(1).is_none())
    } else {
        1
    }
}

/// The limits the parent set, as the client must see and meet them.
fn check_limits(d: i32, n: i32, z: i32, rd: i32, p: i32, who: &str) {
    let what = |s: &str| alloc::format!("{who}: {s}");
    expect_param(d, DOOR_PARAM_DATA_MIN, 4, &what("D"));
    expect_param(d, DOOR_PARAM_DATA_MAX, 8, &what("D"));
    expect_param(d, DOOR_PARAM_DESC_MAX, INT_MAX, &what("D"));
    expect_param(n, DOOR_PARAM_DESC_MAX, 1, &what("N"));
    expect_param(z, DOOR_PARAM_DESC_MAX, 0, &what("Z"));
    expect_param(rd, DOOR_PARAM_DESC_MAX, 0, &what("RD"));

    // DATA_MIN..=DATA_MAX: ENOBUFS outside, served inside.
    for len in [0, 1, 3, 9, 4096] {
        expect_call_err(
            d,
            len,
            &[],
            Errno::ENOBUFS,
            &what(&alloc::format!("D, {len} bytes")),
        );
    }
    for len in [4, 5, 8] {
        expect_call_ok(d, len, &[], &what(&alloc::format!("D, {len} bytes")));
    }
    // DESC_MAX: ENFILE above it.
    let one = door_desc_t::new(p, DOOR_DESCRIPTOR);
    expect_call_err(n, 0, &[one, one], Errno::ENFILE, &what("N, 2 descriptors"));
    expect_call_ok(n, 0, &[one], &what("N, 1 descriptor"));
    expect_call_ok(n, 3, &[], &what("N, no descriptor"));
    expect_call_err(z, 0, &[one], Errno::ENFILE, &what("Z, 1 descriptor"));
    expect_call_ok(z, 0, &[], &what("Z, no descriptor"));
    // DOOR_REFUSE_DESC: ENOTSUP.
    expect_call_err(rd, 0, &[one], Errno::ENOTSUP, &what("RD, 1 descriptor"));
    expect_call_ok(rd, 2, &[], &what("RD, no descriptor"));
    // The failed calls left the passed descriptor open.
    check!(
        get(p, DOOR_PARAM_DESC_MAX).is_ok(),
        "{who}: P closed by the failed calls"
    );
}

/// The child: the parent's limits apply to its calls; it may read the
/// parameters but not set them (EPERM, whatever the value).
fn client() -> bool {
    let (d, n, z, rd, p) = (0, 1, 2, 3, 4);
    check_limits(d, n, z, rd, p, "client");
    for (fd, door) in [(d, "D"), (n, "N"), (rd, "RD")] {
        for (param, pn) in PARAMS {
            for value in [0, 4, 8] {
                expect_err(
                    door_setparam(fd, param, value),
                    Errno::EPERM,
                    &alloc::format!("client: setparam({door}, {pn}, {value})"),
                );
            }
        }
    }
    // Nothing changed.
    check_limits(d, n, z, rd, p, "client, after EPERM");
    true
}

fn parent() -> bool {
    let d = create(0);
    let rd = create(DOOR_REFUSE_DESC);
    let n = create(0);
    let z = create(0);
    let p = create(0);

    // Defaults.
    for fd in [d, n, z, p] {
        expect_param(fd, DOOR_PARAM_DATA_MIN, 0, "default");
        expect_param(fd, DOOR_PARAM_DATA_MAX, usize::MAX, "default");
        expect_param(fd, DOOR_PARAM_DESC_MAX, INT_MAX, "default");
    }
    expect_param(rd, DOOR_PARAM_DATA_MIN, 0, "default, REFUSE_DESC");
    expect_param(rd, DOOR_PARAM_DATA_MAX, usize::MAX, "default, REFUSE_DESC");
    expect_param(rd, DOOR_PARAM_DESC_MAX, 0, "default, REFUSE_DESC");

    // Unknown parameters.
    let mut out = 0usize;
    for bad in BAD_PARAMS {
        expect_err(
            door_setparam(d, bad, 1),
            Errno::EINVAL,
            &alloc::format!("setparam(param {bad})"),
        );
        expect_err(
            door_getparam(d, bad, &mut out),
            Errno::EINVAL,
            &alloc::format!("getparam(param {bad})"),
        );
    }
    // ERANGE: DESC_MAX above INT_MAX; INT_MAX itself is fine.
    for v in [INT_MAX + 1, u32::MAX as usize, usize::MAX] {
        expect_err(
            door_setparam(d, DOOR_PARAM_DESC_MAX, v),
            Errno::ERANGE,
            &alloc::format!("setparam(DESC_MAX, {v:#x})"),
        );
    }
    expect_param(d, DOOR_PARAM_DESC_MAX, INT_MAX, "after ERANGE");
    expect_set(d, DOOR_PARAM_DESC_MAX, 3, "DESC_MAX 3");
    expect_set(d, DOOR_PARAM_DESC_MAX, INT_MAX, "DESC_MAX INT_MAX");
    // ENOTSUP: non-zero DESC_MAX on a REFUSE_DESC door; zero is fine.
    for v in [1, 5, INT_MAX] {
        expect_err(
            door_setparam(rd, DOOR_PARAM_DESC_MAX, v),
            Errno::ENOTSUP,
            &alloc::format!("setparam(REFUSE_DESC door, DESC_MAX {v})"),
        );
    }
    expect_param(rd, DOOR_PARAM_DESC_MAX, 0, "REFUSE_DESC after ENOTSUP");
    expect_set(rd, DOOR_PARAM_DESC_MAX, 0, "REFUSE_DESC, DESC_MAX 0");

    // Data limits: MIN above MAX is EINVAL either way round; equal is fine;
    // SIZE_MAX is a valid maximum.
    expect_set(d, DOOR_PARAM_DATA_MAX, 8, "DATA_MAX 8");
    expect_err(
        door_setparam(d, DOOR_PARAM_DATA_MIN, 9),
        Errno::EINVAL,
        "DATA_MIN 9 above DATA_MAX 8",
    );
    expect_param(d, DOOR_PARAM_DATA_MIN, 0, "after EINVAL");
    expect_set(d, DOOR_PARAM_DATA_MIN, 8, "DATA_MIN 8 = DATA_MAX");
    expect_set(d, DOOR_PARAM_DATA_MIN, 4, "DATA_MIN 4");
    expect_err(
        door_setparam(d, DOOR_PARAM_DATA_MAX, 3),
        Errno::EINVAL,
        "DATA_MAX 3 below DATA_MIN 4",
    );
    expect_param(d, DOOR_PARAM_DATA_MAX, 8, "after EINVAL");
    expect_set(z, DOOR_PARAM_DATA_MAX, usize::MAX, "DATA_MAX SIZE_MAX");
    expect_set(z, DOOR_PARAM_DATA_MIN, 1 << 40, "DATA_MIN 2^40");
    expect_set(z, DOOR_PARAM_DATA_MIN, 0, "DATA_MIN back to 0");
    expect_set(n, DOOR_PARAM_DESC_MAX, 1, "DESC_MAX 1");
    expect_set(z, DOOR_PARAM_DESC_MAX, 0, "DESC_MAX 0");

    // The limits hold in this process and in a child.
    check_limits(d, n, z, rd, p, "parent");
    match process::spawn_with_fds(NAME, &["client"], &[d, n, z, rd, p]) {
        Ok(pid) => match process::wait(Some(pid)) {
            Ok((_, 0)) => {}
            Ok((_, s)) => fail(format_args!("client exited with {s}")),
            Err(e) => fail(format_args!("wait client: {e:?}")),
        },
        Err(e) => fail(format_args!("spawn client: {e:?}")),
    }
    // The child's attempts changed nothing.
    check_limits(d, n, z, rd, p, "parent, after the client");

    // Limits are checked before a server thread is chosen: on a private
    // door with no thread at all, an out-of-range call fails at once
    // instead of waiting.
    let q = create(DOOR_PRIVATE);
    expect_set(q, DOOR_PARAM_DATA_MIN, 4, "private DATA_MIN 4");
    expect_set(q, DOOR_PARAM_DESC_MAX, 0, "private DESC_MAX 0");
    static Q_DONE: AtomicBool = AtomicBool::new(false);
    let t = thread::spawn(move || {
        expect_call_err(
            q,
            0,
            &[],
            Errno::ENOBUFS,
            "private door, no thread, 0 bytes",
        );
        let one = door_desc_t::new(p, DOOR_DESCRIPTOR);
        expect_call_err(
            q,
            4,
            &[one],
            Errno::ENFILE,
            "private door, no thread, 1 desc",
        );
        Q_DONE.store(true, SeqCst);
        0
    });
    match t {
        Ok(h) => {
            if wait_until(300, || Q_DONE.load(SeqCst)) {
                let _ = h.join();
            } else {
                fail(format_args!(
                    "a call outside the limits waited for a server thread"
                ));
            }
        }
        Err(e) => fail(format_args!("spawn thread: {e:?}")),
    }

    // Unreferenced invocations ignore DATA_MIN.
    let u = create(DOOR_UNREF);
    expect_set(u, DOOR_PARAM_DATA_MIN, 4, "UNREF door DATA_MIN 4");
    let u2 = dup(u);
    check!(close(u2) == 0, "close(dup of UNREF door)");
    check!(
        wait_until(300, || UNREF_SEEN.load(SeqCst)),
        "no unreferenced invocation on a door with DATA_MIN 4"
    );

    // EBADF: not a door; a revoked door (setparam; getparam still works).
    let gone = dup(p);
    check!(close(gone) == 0, "close(dup of P)");
    for fd in [999, -1, gone] {
        for (param, pn) in PARAMS {
            expect_err(
                door_setparam(fd, param, 0),
                Errno::EBADF,
                &alloc::format!("setparam(fd {fd}, {pn})"),
            );
            expect_err(
                door_getparam(fd, param, &mut out),
                Errno::EBADF,
                &alloc::format!("getparam(fd {fd}, {pn})"),
            );
        }
    }
    let r = create(0);
    let r2 = dup(r);
    check!(door_revoke(r) == 0, "door_revoke: {}", errno().name());
    for (param, pn) in PARAMS {
        expect_err(
            door_setparam(r2, param, 0),
            Errno::EBADF,
            &alloc::format!("setparam(revoked door, {pn})"),
        );
    }

    // getparam EFAULT: the output is not writable user memory.
    let bad: [(usize, &str); 4] = [
        (0, "NULL"),
        (0x1000, "unmapped page"),
        (0xffff_8000_0000_0000, "kernel address"),
        (echo as *const () as usize, "program text"),
    ];
    for (addr, what) in bad {
        for (param, pn) in PARAMS {
            expect_err(
                door_getparam(d, param, addr as *mut usize),
                Errno::EFAULT,
                &alloc::format!("getparam({pn}, {what})"),
            );
        }
    }

    let mut all = Vec::from([d, rd, n, z, p, q, u, r2]);
    all.sort_unstable();
    for fd in all {
        check!(close(fd) == 0, "close({fd}): {}", errno().name());
    }
    true
}
