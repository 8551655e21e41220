//! execve under QEMU (the new image is `proc_image`):
//! - a forked child keeps a door descriptor across exec (cleared of
//!   close-on-exec) and the new image calls the parent's door through it,
//!   with its arguments and environment; the descriptor door_create made
//!   (close-on-exec, as illumos's) is closed in the new image;
//! - exec revokes the doors the process created (di_target -1, calls
//!   EBADF), while the new image runs;
//! - exec from a process with other threads (one blocked in a door call to
//!   this process) ends them: the image runs alone, nothing is left;
//! - a relative path is found from the current directory;
//! - a Linux program (C) replaces a native one; a descriptor with a
//!   generation (its slot used before) keeps its number there, while the
//!   Linux image's new descriptors get POSIX numbers (`c_fdnum carried`);
//! - every error leaves the caller as it was: ENOENT, EACCES (a directory,
//!   a file without execute permission), ENOEXEC (garbage, an ELF cut
//!   short that is still being written), E2BIG, EFAULT, ENAMETOOLONG; its
//!   threads, doors, descriptors and memory all still work.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;
use userland::abi::fs::{F_SETFD, O_CREAT, O_RDWR, O_WRONLY};
use userland::abi::{DOOR_REVOKED, Sys};
use userland::door::safe::{Door, Response};
use userland::fs::{self, close, pipe, write_fd};
use userland::sys::{check, syscall1};
use userland::testkit::procs::{Baton, expect_exit, fork_child};
use userland::testkit::{call, desc, expect_eq, fail, info, verdict, wait_until};
use userland::{Errno, check, println, process, thread};

userland::entry!(main);

const IMAGE: &str = "/bin/proc_image";

fn main() -> i32 {
    let door = Door::create(0, |inv| match inv.data {
        b"ping" => Response::data(b"pong".to_vec()),
        other => Response::data(other.to_vec()),
    })
    .expect("door");
    keeps_a_door(door.fd());
    revokes_its_doors(door.fd());
    ends_the_other_threads();
    relative_path();
    a_linux_program();
    a_linux_program_keeps_a_number();
    errors_leave_the_caller_unharmed(door.fd());
    door.close().expect("close the door");
    verdict(true)
}

/// The new image calls the parent's door through a descriptor kept open.
fn keeps_a_door(door: i32) {
    let child = fork_child("keep a door", || {
        let kept = fs::dup2(door, 10).expect("dup2");
        expect_eq(
            "a dup is not close-on-exec",
            fs::fcntl(kept, F_SETFD, 0),
            Ok(0),
        );
        let (kept, closed) = (format!("{kept}"), format!("{door}"));
        let env = format!("DOOR_FD={kept}");
        let e = process::execve(
            IMAGE,
            &["proc_image", "call", &kept, &closed],
            &["WHO=exec", &env],
        );
        fail(format_args!("execve failed with {}", e.name()));
        1
    });
    expect_exit("the new image", child, 0);
}

/// The door the child passed back before exec.
static PASSED: Mutex<Option<i32>> = Mutex::new(None);

/// The child's door is revoked by its exec, while the new image runs.
fn revokes_its_doors(_door: i32) {
    let collector = Door::create(0, |inv| {
        if let Some(d) = inv.descs.first() {
            *PASSED.lock() = Some(d.d_descriptor);
        }
        Response::default()
    })
    .expect("collector door");
    let (r, w) = pipe().expect("pipe");
    let child = fork_child("revoke", || {
        let own = Door::create(0, |_| Response::data(b"child".to_vec())).expect("child door");
        expect_eq(
            "call the child's own door",
            call(own.fd(), b"", &[]).as_deref(),
            Ok(&b"child"[..]),
        );
        let sent = call(collector.fd(), b"", &[desc(own.fd(), false)]);
        check!(sent.is_ok(), "pass the child's door: {sent:?}");
        close(w).expect("close");
        let fd = format!("{r}");
        let e = process::execve(IMAGE, &["proc_image", "wait", &fd], &[]);
        fail(format_args!("execve failed with {}", e.name()));
        1
    });
    let _ = close(r);
    let passed = wait_until(500, || PASSED.lock().is_some());
    let Some(d) = passed.then(|| PASSED.lock().take()).flatten() else {
        fail(format_args!("the child passed no door"));
        return;
    };
    // The child is running its new image (it waits on the pipe).
    let revoked = wait_until(500, || info(d).is_ok_and(|i| i.di_target == -1));
    check!(revoked, "the child's door after its exec: {:?}", info(d));
    let i = info(d).unwrap_or_default();
    check!(
        i.di_attributes & DOOR_REVOKED != 0,
        "revoked: {:#x}",
        i.di_attributes
    );
    expect_eq(
        "a call to the revoked door",
        call(d, b"", &[]),
        Err(Errno::EBADF),
    );
    close(w).expect("close");
    expect_exit("the waiting image", child, 0);
    close(d).expect("close");
    collector.close().expect("close");
}

/// exec ends the other threads, one of them blocked in a door call.
fn ends_the_other_threads() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let slow = Door::create(0, |_| {
        CALLS.fetch_add(1, Ordering::SeqCst);
        process::sleep_ticks(50);
        Response::data(b"slow".to_vec())
    })
    .expect("slow door");
    let served = Baton::new();
    let child = fork_child("threads", || {
        let slow = slow.fd();
        let caller = thread::spawn(move || {
            let _ = call(slow, b"", &[]);
            0
        });
        let sleeper = thread::spawn(|| {
            loop {
                process::sleep_ticks(1);
            }
        });
        check!(caller.is_ok() && sleeper.is_ok(), "threads");
        served.take();
        let e = process::execve(IMAGE, &["proc_image", "exit", "5"], &[]);
        fail(format_args!("execve failed with {}", e.name()));
        1
    });
    check!(
        wait_until(500, || CALLS.load(Ordering::SeqCst) > 0),
        "the child's call"
    );
    served.pass();
    expect_exit("the image of a threaded process", child, 5);
    served.close();
    slow.close().expect("close");
}

/// A bare name is a path from the current directory (`execv`: with this
/// program's environment, none here).
fn relative_path() {
    let child = fork_child("relative", || {
        fs::chdir("/bin").expect("chdir");
        let e = process::execv("proc_image", &["proc_image", "exit", "3"]);
        fail(format_args!(
            "execve of a relative path failed with {}",
            e.name()
        ));
        1
    });
    expect_exit("relative path", child, 3);
}

/// A Linux program (C, musl) in place of this native one.
fn a_linux_program() {
    let child = fork_child("linux", || {
        let e = process::execve("/bin/c_hello", &["c_hello", "from", "proc_exec"], &[]);
        fail(format_args!(
            "execve of a Linux program failed with {}",
            e.name()
        ));
        1
    });
    expect_exit("the Linux program", child, 0);
}

/// A descriptor whose slot was used before carries a generation; the
/// Linux image keeps it under that number (`c_fdnum carried` checks it).
fn a_linux_program_keeps_a_number() {
    let child = fork_child("carried", || {
        let first = fs::open("/dev/null", O_RDWR, 0).expect("open");
        close(first).expect("close");
        let carried = fs::open("/dev/null", O_RDWR, 0).expect("open again");
        expect_eq("the same slot", carried & 0xfff, first & 0xfff);
        expect_eq("another number", carried == first, false);
        let number = format!("{carried}");
        let e = process::execve("/bin/c_fdnum", &["c_fdnum", "carried", &number], &[]);
        fail(format_args!("execve of c_fdnum failed with {}", e.name()));
        1
    });
    expect_exit("c_fdnum carried", child, 0);
}

static STOP: AtomicBool = AtomicBool::new(false);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Every failed exec leaves the caller as it was.
fn errors_leave_the_caller_unharmed(door: i32) {
    let ticker = thread::spawn(|| {
        while !STOP.load(Ordering::Relaxed) {
            TICKS.fetch_add(1, Ordering::Relaxed);
            process::sleep_ticks(1);
        }
        0
    })
    .expect("ticker");
    let data = vec![0x5au8; 3 * 4096];
    let file = fs::open("/tmp/proc_exec_plain", O_CREAT | O_RDWR, 0o644).expect("plain file");
    write_fd(file, b"#!/bin/sh\n").expect("write");
    let garbage = fs::open("/tmp/proc_exec_garbage", O_CREAT | O_WRONLY, 0o755).expect("garbage");
    write_fd(garbage, &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0xff, 0xff]).expect("write");
    close(garbage).expect("close");
    // An ELF still being written: its first page only, the file open.
    let image = fs::read(IMAGE).expect("read the image");
    let half = fs::open("/tmp/proc_exec_half", O_CREAT | O_WRONLY, 0o755).expect("half");
    write_fd(half, &image[..4096]).expect("write");

    let many: Vec<String> = (0..40).map(|i| format!("{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let long = "x".repeat(5000);
    let cases: [(&str, &str, &[&str], Errno); 8] = [
        (
            "missing file",
            "/bin/no_such_program",
            &["x"],
            Errno::ENOENT,
        ),
        ("directory", "/tmp", &["x"], Errno::EACCES),
        (
            "not executable",
            "/tmp/proc_exec_plain",
            &["x"],
            Errno::EACCES,
        ),
        ("garbage", "/tmp/proc_exec_garbage", &["x"], Errno::ENOEXEC),
        (
            "a file being written",
            "/tmp/proc_exec_half",
            &["x"],
            Errno::ENOEXEC,
        ),
        ("too many arguments", IMAGE, &many, Errno::E2BIG),
        ("too long an argument", IMAGE, &[&long], Errno::E2BIG),
        ("too long a path", &long, &["x"], Errno::ENAMETOOLONG),
    ];
    for (what, path, args, want) in cases {
        let before = TICKS.load(Ordering::Relaxed);
        expect_eq(what, process::execve(path, args, &[]), want);
        expect_eq(
            "the door after a failed exec",
            call(door, b"ping", &[]).as_deref(),
            Ok(&b"pong"[..]),
        );
        check!(data.iter().all(|&b| b == 0x5a), "{what}: memory changed");
        expect_eq(
            "the file after a failed exec",
            fs::lseek(file, 0, 1),
            Ok(10),
        );
        check!(
            wait_until(500, || TICKS.load(Ordering::Relaxed) > before),
            "{what}: the other thread stopped"
        );
    }
    let bad = check(syscall1(Sys::Execve, 0x10));
    expect_eq("a bad argument block", bad.map(|_| ()), Err(Errno::EFAULT));
    STOP.store(true, Ordering::Relaxed);
    expect_eq("join the ticker", ticker.join().is_ok(), true);
    for fd in [file, half] {
        close(fd).expect("close");
    }
    for path in [
        "/tmp/proc_exec_plain",
        "/tmp/proc_exec_garbage",
        "/tmp/proc_exec_half",
    ] {
        fs::unlink(path).expect("unlink");
    }
    println!("proc_exec: every failed exec left the caller working");
}
