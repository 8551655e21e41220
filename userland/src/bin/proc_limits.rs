//! Resource limits under QEMU (`getrlimit`/`setrlimit`):
//! - RLIMIT_NOFILE is the descriptor table's size: EMFILE at the limit,
//!   inherited by a fork child; a door_return delivering a descriptor to a
//!   caller whose table is full fails with EMFILE (the server learns it,
//!   nothing is installed), and a door_call passing one to a server whose
//!   table is full fails with EMFILE, the descriptor staying open; raising
//!   the limit (root) lets them through;
//! - RLIMIT_AS and RLIMIT_DATA are the memory limit: mem_map beyond is
//!   ENOMEM;
//! - RLIMIT_STACK is the fixed main stack; other resources are unlimited;
//! - errors: EINVAL (unknown resource, soft above hard, an unlimited
//!   resource set to a limit), EPERM (raising without root).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, Ordering::SeqCst};
use userland::abi::fs::O_RDWR;
use userland::abi::kstat::DESCRIPTORS;
use userland::abi::rlimit::{self, Rlimit};
use userland::abi::{MAIN_STACK_SIZE, limit};
use userland::door::safe::{Door, Response};
use userland::door::{door_create, door_desc_t, door_return, errno};
use userland::fs::{self, close, write_fd};
use userland::testkit::procs::{Baton, expect_exit, fork_child};
use userland::testkit::{call, call_full, desc, expect_eq, verdict};
use userland::{Errno, heap, process};

userland::entry!(main);

fn one(value: u64) -> Rlimit {
    Rlimit {
        rlim_cur: value,
        rlim_max: value,
    }
}

fn descriptors() -> u64 {
    process::kstat(DESCRIPTORS).unwrap_or(0)
}

fn main() -> i32 {
    nofile();
    memory_and_the_rest();
    door_descriptors_into_a_full_table();
    verdict(true)
}

/// Open descriptors of this process (its table's used slots): the count
/// the limit is set to, to fill the table.
fn open_count() -> u64 {
    (0..64)
        .filter(|&fd| fs::fcntl(fd, userland::abi::fs::F_GETFD, 0).is_ok())
        .count() as u64
}

fn nofile() {
    expect_eq(
        "the default",
        process::getrlimit(rlimit::NOFILE),
        Ok(one(limit::DEFAULT_DESCRIPTORS)),
    );
    let open = open_count();
    expect_eq(
        "setrlimit",
        process::setrlimit(rlimit::NOFILE, one(open + 2)),
        Ok(()),
    );
    expect_eq(
        "getrlimit",
        process::getrlimit(rlimit::NOFILE),
        Ok(one(open + 2)),
    );
    let a = fs::open("/dev/null", O_RDWR, 0).expect("first");
    let b = fs::open("/dev/null", O_RDWR, 0).expect("second");
    expect_eq(
        "at the limit",
        fs::open("/dev/null", O_RDWR, 0),
        Err(Errno::EMFILE),
    );
    expect_eq("dup at the limit", fs::dup(a), Err(Errno::EMFILE));
    let child = fork_child("inherited limit", || {
        expect_eq(
            "the child's limit",
            process::getrlimit(rlimit::NOFILE),
            Ok(one(open + 2)),
        );
        expect_eq(
            "the child's table is full too",
            fs::dup(a),
            Err(Errno::EMFILE),
        );
        expect_eq("setuid", process::setuid(1000), Ok(()));
        expect_eq(
            "lowering is free",
            process::setrlimit(rlimit::NOFILE, one(open + 1)),
            Ok(()),
        );
        expect_eq(
            "raising takes root",
            process::setrlimit(rlimit::NOFILE, one(open + 2)),
            Err(Errno::EPERM),
        );
        0
    });
    expect_exit("inherited limit", child, 0);
    for fd in [a, b] {
        close(fd).expect("close");
    }
    expect_eq(
        "back up (root)",
        process::setrlimit(rlimit::NOFILE, one(limit::DEFAULT_DESCRIPTORS)),
        Ok(()),
    );
}

fn memory_and_the_rest() {
    let memory = process::get_limit(0, limit::MEMORY).expect("memory limit");
    expect_eq("RLIMIT_AS", process::getrlimit(rlimit::AS), Ok(one(memory)));
    expect_eq(
        "RLIMIT_DATA",
        process::getrlimit(rlimit::DATA),
        Ok(one(memory)),
    );
    let child = fork_child("memory", || {
        expect_eq(
            "setrlimit(AS)",
            process::setrlimit(rlimit::AS, one(64 * 1024)),
            Ok(()),
        );
        expect_eq(
            "RLIMIT_DATA follows",
            process::getrlimit(rlimit::DATA),
            Ok(one(64 * 1024)),
        );
        expect_eq(
            "a map beyond",
            heap::map(1 << 20, 0).map(|_| ()),
            Err(Errno::ENOMEM),
        );
        0
    });
    expect_exit("memory", child, 0);
    expect_eq(
        "the stack",
        process::getrlimit(rlimit::STACK),
        Ok(one(MAIN_STACK_SIZE)),
    );
    expect_eq(
        "the stack as it is",
        process::setrlimit(rlimit::STACK, one(MAIN_STACK_SIZE)),
        Ok(()),
    );
    expect_eq(
        "another stack",
        process::setrlimit(rlimit::STACK, one(1 << 20)),
        Err(Errno::EINVAL),
    );
    let cpu = 0;
    expect_eq(
        "unlimited",
        process::getrlimit(cpu),
        Ok(one(rlimit::INFINITY)),
    );
    expect_eq(
        "limiting it",
        process::setrlimit(cpu, one(10)),
        Err(Errno::EINVAL),
    );
    expect_eq(
        "unknown resource",
        process::getrlimit(rlimit::NLIMITS),
        Err(Errno::EINVAL),
    );
    let upside_down = Rlimit {
        rlim_cur: 10,
        rlim_max: 5,
    };
    expect_eq(
        "soft above hard",
        process::setrlimit(rlimit::NOFILE, upside_down),
        Err(Errno::EINVAL),
    );
}

/// A descriptor the server (in the child) returns to the caller.
static GIFT: AtomicI32 = AtomicI32::new(-1);

/// Returns [`GIFT`]; if door_return fails, returns the errno's name.
extern "C" fn giver(_: *mut c_void, _: *mut u8, _: usize, _: *mut door_desc_t, _: u32) {
    let mut d = [desc(GIFT.load(SeqCst), false)];
    door_return(b"gift".as_ptr() as *mut u8, 4, d.as_mut_ptr(), 1);
    let e = errno().name();
    door_return(e.as_ptr() as *mut u8, e.len(), null_mut(), 0);
}

fn door_descriptors_into_a_full_table() {
    let collector = Door::create(0, |inv| {
        Response::data(format!("{}", inv.descs.len()).into_bytes())
    })
    .expect("collector");
    let (go, back) = (Baton::new(), Baton::new());
    let child = fork_child("server", || {
        GIFT.store(fs::open("/dev/null", O_RDWR, 0).expect("gift"), SeqCst);
        let d = door_create(giver, null_mut(), 0);
        let sent = call(collector.fd(), b"", &[desc(d, false)]);
        expect_eq("pass the giver", sent.as_deref(), Ok(&b"1"[..]));
        // A full table here: a descriptor passed in fails with EMFILE.
        let open = open_count();
        process::setrlimit(rlimit::NOFILE, one(open)).expect("fill the table");
        back.pass();
        go.take();
        0
    });
    back.take();
    // The giver arrived as the collector's descriptor (the highest open).
    let giver_fd = (0..64)
        .rev()
        .find(|&fd| userland::testkit::info(fd).is_ok_and(|i| i.di_target == child as i32));
    let Some(giver_fd) = giver_fd else {
        userland::testkit::fail(format_args!("the child's giver door did not arrive"));
        go.pass();
        expect_exit("server", child, 0);
        return;
    };
    // The child's table is full: a passed descriptor is refused, and stays.
    let null = fs::open("/dev/null", O_RDWR, 0).expect("open");
    let before = descriptors();
    expect_eq(
        "passing into a full table",
        call(giver_fd, b"", &[desc(null, false)]),
        Err(Errno::EMFILE),
    );
    expect_eq(
        "the passed descriptor is still open",
        write_fd(null, b"x"),
        Ok(1),
    );
    expect_eq("nothing moved", descriptors(), before);
    // This table full: the results' descriptor is refused, nothing lost.
    let open = open_count();
    process::setrlimit(rlimit::NOFILE, one(open)).expect("fill this table");
    match call_full(giver_fd, b"", &[]) {
        Ok((data, descs)) => {
            expect_eq("the server's door_return", data.as_slice(), &b"EMFILE"[..]);
            expect_eq("descriptors installed", descs.len(), 0);
        }
        Err(e) => userland::testkit::fail(format_args!("the call failed: {}", e.name())),
    }
    expect_eq("no descriptor lost or gained", descriptors(), before);
    process::setrlimit(rlimit::NOFILE, one(limit::DEFAULT_DESCRIPTORS)).expect("raise");
    match call_full(giver_fd, b"", &[]) {
        Ok((data, descs)) if data == b"gift" && descs.len() == 1 => {
            let fd = descs[0].d_descriptor;
            expect_eq("the gift works", write_fd(fd, b"x"), Ok(1));
            close(fd).expect("close");
        }
        other => userland::testkit::fail(format_args!("with room: {other:?}")),
    }
    go.pass();
    expect_exit("server", child, 0);
    for fd in [null, giver_fd] {
        close(fd).expect("close");
    }
    go.close();
    back.close();
    collector.close().expect("close");
}
