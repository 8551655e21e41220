//! Doors across fork, as illumos defines them, under QEMU:
//! - inherited descriptors name the parent's doors: the child's calls reach
//!   the parent's server threads, door_info gives the parent's pid without
//!   DOOR_LOCAL, door_revoke and door_setparam are EPERM, door_bind EINVAL;
//!   the doors the child creates are its own, served by its own threads;
//! - a forked child serving a door (attached to a path) called by its
//!   parent, then killed: the door is revoked;
//! - the child's descriptor counts for unreferenced notices: the notice
//!   comes when the child exits;
//! - door_bind(3C)'s rule: a bound thread's fork child is bound to an
//!   invalid door (door_return EINVAL) until door_unbind;
//! - fork while another thread is in a door call: the call is not
//!   duplicated and completes in the parent;
//! - a server killed mid-call (its caller gets EINTR), and a client killed
//!   mid-call (its server sees door_cancelled).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use spin::Mutex;
use userland::abi::signal::{SIGKILL, SIGTERM};
use userland::abi::{
    DOOR_IS_UNREF, DOOR_LOCAL, DOOR_PARAM_DATA_MAX, DOOR_PRIVATE, DOOR_REVOKED, DOOR_UNREF, Ucred,
};
use userland::door::safe::{Door, Response, detach_file};
use userland::door::{
    door_bind, door_cancelled, door_return, door_revoke, door_setparam, door_ucred, door_unbind,
};
use userland::fs::{close, write_fd};
use userland::testkit::procs::{Baton, expect_exit, expect_signal, fork_child};
use userland::testkit::{call, desc, expect_eq, expect_err, fail, info, verdict, wait_until};
use userland::{Errno, check, process, thread};

userland::entry!(main);

fn main() -> i32 {
    inherited_descriptors();
    forked_server();
    unref_counts_the_child();
    door_bind_rule();
    fork_during_a_call();
    killed_mid_call();
    verdict(true)
}

/// The caller's pid, as the server sees it.
fn caller_pid() -> Vec<u8> {
    let mut cred = Ucred::default();
    door_ucred(&mut cred);
    cred.uc_pid.to_le_bytes().to_vec()
}

fn pid_in(reply: Result<Vec<u8>, Errno>) -> Option<u32> {
    let bytes = reply.ok()?;
    Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))
}

fn inherited_descriptors() {
    let me = process::getpid();
    let door = Door::create(0, |_| Response::data(caller_pid())).expect("door");
    let private = Door::create(DOOR_PRIVATE, |_| Response::default()).expect("private door");
    let (d, p) = (door.fd(), private.fd());
    let child = fork_child("inherited", || {
        let mine = process::getpid();
        expect_eq(
            "the parent's server sees the child call",
            pid_in(call(d, b"", &[])),
            Some(mine),
        );
        let i = info(d).unwrap_or_default();
        expect_eq("di_target in the child", i.di_target, me as i32);
        expect_eq("DOOR_LOCAL in the child", i.di_attributes & DOOR_LOCAL, 0);
        expect_err(
            door_revoke(d),
            Errno::EPERM,
            "door_revoke of the parent's door",
        );
        expect_err(
            door_setparam(d, DOOR_PARAM_DATA_MAX, 8),
            Errno::EPERM,
            "door_setparam",
        );
        expect_err(
            door_bind(p),
            Errno::EINVAL,
            "door_bind to the parent's private door",
        );
        let own = Door::create(0, |_| Response::data(caller_pid())).expect("the child's door");
        let i = own.info().unwrap_or_default();
        expect_eq("its own door's di_target", i.di_target, mine as i32);
        expect_eq(
            "its own door is local",
            i.di_attributes & DOOR_LOCAL,
            DOOR_LOCAL,
        );
        expect_eq(
            "served by its own thread",
            pid_in(call(own.fd(), b"", &[])),
            Some(mine),
        );
        0
    });
    expect_exit("inherited", child, 0);
    let i = door.info().unwrap_or_default();
    expect_eq(
        "DOOR_LOCAL in the parent",
        i.di_attributes & DOOR_LOCAL,
        DOOR_LOCAL,
    );
    expect_eq("the parent's call", pid_in(call(d, b"", &[])), Some(me));
    door.close().expect("close");
    private.close().expect("close");
}

const SERVER_PATH: &str = "/tmp/proc_doors_server";

/// A forked child serves a door its parent calls, then is killed.
fn forked_server() {
    let child = fork_child("server", || {
        let door = Door::create(0, |_| Response::data(caller_pid())).expect("door");
        door.attach_file(SERVER_PATH).expect("fattach");
        process::pause()
    });
    let opened = wait_until(500, || {
        Door::open(SERVER_PATH).is_ok_and(|d| d.close().is_ok())
    });
    check!(opened, "the child's door at {SERVER_PATH}");
    let door = Door::open(SERVER_PATH).expect("open the child's door");
    let me = process::getpid();
    expect_eq(
        "the child serves its parent",
        pid_in(call(door.fd(), b"", &[])),
        Some(me),
    );
    expect_eq(
        "its server",
        door.info().map(|i| i.di_target),
        Ok(child as i32),
    );
    expect_eq(
        "kill the server",
        process::kill(child as i32, SIGTERM),
        Ok(()),
    );
    expect_signal("the server", child, SIGTERM);
    let i = door.info().unwrap_or_default();
    check!(
        i.di_target == -1 && i.di_attributes & DOOR_REVOKED != 0,
        "the dead server's door: {i:?}"
    );
    expect_eq("a call to it", call(door.fd(), b"", &[]), Err(Errno::EBADF));
    door.close().expect("close");
    detach_file(SERVER_PATH).expect("fdetach");
}

static UNREFS: AtomicU32 = AtomicU32::new(0);

/// The child's descriptor is a reference: the notice waits for its exit.
fn unref_counts_the_child() {
    let door = Door::create(DOOR_UNREF, |inv| {
        if inv.is_unref() {
            UNREFS.fetch_add(1, SeqCst);
        }
        Response::default()
    })
    .expect("door");
    let unreferenced = |door: &Door| {
        door.info()
            .is_ok_and(|i| i.di_attributes & DOOR_IS_UNREF != 0)
    };
    check!(unreferenced(&door), "one descriptor: unreferenced");
    let go = Baton::new();
    let child = fork_child("holder", || {
        go.take();
        0
    });
    check!(!unreferenced(&door), "the child's copy is a reference");
    process::sleep_ticks(5);
    expect_eq("no notice while the child holds it", UNREFS.load(SeqCst), 0);
    go.pass();
    expect_exit("holder", child, 0);
    check!(
        wait_until(500, || UNREFS.load(SeqCst) == 1),
        "the notice after the child's exit"
    );
    check!(unreferenced(&door), "unreferenced again");
    go.close();
    door.close().expect("close");
}

/// door_bind(3C): "the child's thread will be bound to an invalid door".
fn door_bind_rule() {
    let private = Door::create(DOOR_PRIVATE, |_| Response::default()).expect("private door");
    expect_eq("door_bind", door_bind(private.fd()), 0);
    let child = fork_child("bound", || {
        expect_err(
            door_return(null_mut(), 0, null_mut(), 0),
            Errno::EINVAL,
            "door_return when bound to an invalid door",
        );
        expect_eq("door_unbind", door_unbind(), 0);
        expect_err(door_unbind(), Errno::EBADF, "a second door_unbind");
        0
    });
    expect_exit("bound", child, 0);
    expect_eq("the parent's binding", door_unbind(), 0);
    private.close().expect("close");
}

static RELEASE: AtomicBool = AtomicBool::new(false);
static SLOW_CALLS: AtomicU32 = AtomicU32::new(0);

/// fork while another thread is in a door call: the call is not copied.
fn fork_during_a_call() {
    let slow = Door::create(0, |inv| {
        if inv.data == b"wait" {
            SLOW_CALLS.fetch_add(1, SeqCst);
            while !RELEASE.load(SeqCst) {
                process::sleep_ticks(1);
            }
        }
        Response::data(b"done".to_vec())
    })
    .expect("slow door");
    let fd = slow.fd();
    let caller = thread::spawn(move || match call(fd, b"wait", &[]) {
        Ok(r) if r == b"done" => 0,
        _ => 1,
    })
    .expect("caller thread");
    check!(
        wait_until(500, || SLOW_CALLS.load(SeqCst) == 1),
        "the thread's call"
    );
    let child = fork_child("fork during a call", || {
        expect_eq(
            "the child's own call",
            call(fd, b"quick", &[]).as_deref(),
            Ok(&b"done"[..]),
        );
        0
    });
    expect_exit("fork during a call", child, 0);
    RELEASE.store(true, SeqCst);
    expect_eq("the thread's call completed once", caller.join(), Ok(0));
    expect_eq("calls served", SLOW_CALLS.load(SeqCst), 1);
    slow.close().expect("close");
}

static PASSED: Mutex<Option<i32>> = Mutex::new(None);
static SERVING: AtomicBool = AtomicBool::new(false);
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// A server killed while serving its caller's call, and a client killed
/// while its call is served.
fn killed_mid_call() {
    let collector = Door::create(0, |inv| {
        *PASSED.lock() = inv.descs.first().map(|d| d.d_descriptor);
        Response::default()
    })
    .expect("collector");
    let (r, w) = userland::fs::pipe().expect("pipe");
    let server = fork_child("server killed mid-call", || {
        let stuck = Door::create(0, move |_| {
            let _ = write_fd(w, b"s");
            process::pause()
        })
        .expect("door");
        let sent = call(collector.fd(), b"", &[desc(stuck.fd(), false)]);
        check!(sent.is_ok(), "pass the door: {sent:?}");
        process::pause()
    });
    check!(
        wait_until(500, || PASSED.lock().is_some()),
        "the server's door"
    );
    let stuck = PASSED.lock().take().unwrap_or(-1);
    let caller = thread::spawn(move || match call(stuck, b"", &[]) {
        Err(Errno::EINTR) => 0,
        other => {
            fail(format_args!(
                "a call to a server killed mid-call: {other:?}"
            ));
            1
        }
    })
    .expect("caller thread");
    expect_eq(
        "the server started",
        userland::fs::read_fd(r, &mut [0u8; 1]),
        Ok(1),
    );
    expect_eq(
        "kill the server",
        process::kill(server as i32, SIGKILL),
        Ok(()),
    );
    expect_eq("the caller got EINTR", caller.join(), Ok(0));
    expect_signal("the server", server, SIGKILL);
    for fd in [stuck, r, w] {
        close(fd).expect("close");
    }
    collector.close().expect("close");

    let patient = Door::create(0, |_| {
        SERVING.store(true, SeqCst);
        let cancelled = wait_until(1000, || door_cancelled() == 1);
        CANCELLED.store(cancelled, SeqCst);
        Response::default()
    })
    .expect("patient door");
    let fd = patient.fd();
    let client = fork_child("client killed mid-call", || {
        let _ = call(fd, b"", &[]);
        fail(format_args!("the call returned"));
        1
    });
    check!(
        wait_until(500, || SERVING.load(SeqCst)),
        "the client's call"
    );
    expect_eq(
        "kill the client",
        process::kill(client as i32, SIGTERM),
        Ok(()),
    );
    expect_signal("the client", client, SIGTERM);
    check!(
        wait_until(1000, || CANCELLED.load(SeqCst)),
        "the server saw door_cancelled"
    );
    patient.close().expect("close");
}
