//! fork under QEMU: the child returns 0 from a copy of the calling thread,
//! with its parent's id as `getppid`; its memory is a copy-on-write copy
//! (each side's writes stay its own, whether the program or the kernel
//! writes: `read`, `pipe2`, door results), shared until written (the frames
//! a fork takes are page tables, not pages; a written page costs one frame,
//! and every frame is back once the child is reaped); it inherits every
//! descriptor (one offset for a file, pipe ends that keep the pipe open),
//! the close-on-exec flags, the current directory, umask, ids and limits;
//! and fork from a process whose other threads allocate and print all the
//! time gives children whose heap and output work (the runtime holds its
//! locks across fork), without those threads.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use userland::abi::fs::{F_GETFD, FD_CLOEXEC, O_CLOEXEC, O_CREAT, O_RDWR, SEEK_CUR};
use userland::abi::kstat::{FREE_FRAMES, SHARED_FRAMES};
use userland::abi::{Sys, limit};
use userland::door::{door_arg_t, door_create, door_desc_t};
use userland::fs::{self, close, pipe, read_fd, write_fd};
use userland::sys::{check, syscall0, syscall2};
use userland::testkit::procs::{Baton, expect_exit, fork_child};
use userland::testkit::{expect_eq, fail, reply, verdict};
use userland::{Errno, check, println, process, thread};

userland::entry!(main);

const PAGE: usize = 4096;

fn frames() -> u64 {
    process::kstat(FREE_FRAMES).unwrap_or(0)
}

fn main() -> i32 {
    basics();
    memory_is_copied_on_write();
    frames_follow_the_writes();
    kernel_writes_break_sharing();
    descriptors_directory_and_limits();
    busy_threads_do_not_follow();
    verdict(true)
}

/// The child returns 0 with a fresh thread id; the parent gets its pid.
fn basics() {
    let me = process::getpid();
    let my_tid = syscall0(Sys::GetTid) as u32;
    let child = fork_child("basics", || {
        expect_eq("getppid in the child", process::getppid(), me);
        let tid = syscall0(Sys::GetTid) as u32;
        check!(tid != my_tid, "the child's thread has its own id ({tid})");
        expect_eq("the runtime's thread id", thread::gettid(), tid);
        7
    });
    check!(child != 0 && child != me, "fork returned {child}");
    expect_exit("basics", child, 7);
}

static FLAG: AtomicU64 = AtomicU64::new(1);

/// Data, heap and stack: each side sees only its own writes.
fn memory_is_copied_on_write() {
    let mut heap = vec![1u8; 16 * PAGE];
    let mut stack = [1u8; 256];
    let (to_child, to_parent) = (Baton::new(), Baton::new());
    let child = fork_child("cow", || {
        // The parent wrote before passing the baton: not seen here.
        to_child.take();
        check!(
            heap.iter().all(|&b| b == 1) && stack.iter().all(|&b| b == 1),
            "the child sees the parent's writes"
        );
        expect_eq("the flag in the child", FLAG.load(Ordering::Relaxed), 1);
        heap.fill(2);
        stack.fill(2);
        FLAG.store(2, Ordering::Relaxed);
        to_parent.pass();
        to_child.take();
        check!(
            heap.iter().all(|&b| b == 2) && stack.iter().all(|&b| b == 2),
            "the child's writes stay"
        );
        0
    });
    heap.fill(3);
    stack.fill(3);
    FLAG.store(3, Ordering::Relaxed);
    to_child.pass();
    to_parent.take();
    check!(
        heap.iter().all(|&b| b == 3) && stack.iter().all(|&b| b == 3),
        "the parent sees the child's writes"
    );
    expect_eq("the flag in the parent", FLAG.load(Ordering::Relaxed), 3);
    to_child.pass();
    expect_exit("cow", child, 0);
    to_child.close();
    to_parent.close();
}

/// A fork takes page tables, not pages; each page the child writes takes
/// one frame; the parent's later writes take the pages over; every frame
/// is back once the child is reaped.
fn frames_follow_the_writes() {
    const PAGES: usize = 256;
    let mut buf = vec![1u8; PAGES * PAGE];
    let (to_child, to_parent) = (Baton::new(), Baton::new());
    let before = frames();
    let child = fork_child("frames", || {
        to_child.take();
        for page in buf.chunks_mut(PAGE) {
            page[0] = 2;
        }
        to_parent.pass();
        to_child.take();
        0
    });
    let forked = frames();
    check!(
        before - forked < 64,
        "fork of 1 MiB took {} frames",
        before - forked
    );
    let shared = process::kstat(SHARED_FRAMES).unwrap_or(0);
    check!(shared >= PAGES as u64, "only {shared} frames shared");
    to_child.pass();
    to_parent.take();
    let written = frames();
    check!(
        forked - written >= PAGES as u64,
        "the child's writes took {} frames",
        forked - written
    );
    for page in buf.chunks_mut(PAGE) {
        page[0] = 3;
    }
    let taken_over = frames();
    check!(
        written - taken_over < 16,
        "taking the pages over took {} frames",
        written - taken_over
    );
    check!(buf.chunks(PAGE).all(|p| p[0] == 3 && p[1] == 1), "buffer");
    to_child.pass();
    expect_exit("frames", child, 0);
    to_child.close();
    to_parent.close();
    drop(buf);
    expect_eq("free frames after the child", frames(), before);
}

extern "C" fn echo_server(_: *mut c_void, argp: *mut u8, size: usize, _: *mut door_desc_t, _: u32) {
    reply(userland::testkit::data(argp, size), &[]);
}

/// Kernel writes into copy-on-write memory copy it first: a pipe read, the
/// descriptors of pipe2, door results into the child's buffer; the
/// parent's pages keep their contents.
fn kernel_writes_break_sharing() {
    let door = door_create(echo_server, null_mut(), 0);
    let mut buf = vec![b'p'; 2 * PAGE];
    let mut fds = [-1i32; 2];
    let mut results = [b'r'; 64];
    let (r, w) = pipe().expect("pipe");
    write_fd(w, b"from the pipe").expect("write");
    let child = fork_child("kernel writes", || {
        let n = read_fd(r, &mut buf[PAGE - 4..]).unwrap_or(0);
        expect_eq(
            "read into shared memory",
            &buf[PAGE - 4..PAGE - 4 + n],
            &b"from the pipe"[..],
        );
        let made = check(syscall2(Sys::Pipe2, fds.as_mut_ptr() as usize, 0));
        check!(
            made.is_ok() && fds[0] >= 0 && fds[1] >= 0,
            "pipe2 into shared memory: {fds:?}"
        );
        let mut arg = door_arg_t {
            data_ptr: b"echo".as_ptr() as u64,
            data_size: 4,
            desc_ptr: 0,
            desc_num: 0,
            rbuf: results.as_mut_ptr() as u64,
            rsize: results.len() as u64,
        };
        let called = userland::door::door_call(door, &mut arg);
        check!(
            called == 0 && &results[..4] == b"echo",
            "door results into shared memory"
        );
        0
    });
    expect_exit("kernel writes", child, 0);
    // A range far beyond what is mapped fails at once in a forked process
    // too (the kernel looks at the pages of the areas it lies in only).
    let mut huge = door_arg_t {
        data_ptr: 0,
        data_size: 0,
        desc_ptr: 0,
        desc_num: 0,
        rbuf: results.as_mut_ptr() as u64,
        rsize: 1 << 62,
    };
    let called = userland::door::door_call(door, &mut huge);
    let failed = (called, userland::door::errno());
    expect_eq("a result buffer of 2^62 bytes", failed, (-1, Errno::EFAULT));
    check!(
        buf.iter().all(|&b| b == b'p'),
        "the parent's buffer changed"
    );
    expect_eq("the parent's descriptor array", fds, [-1, -1]);
    check!(
        results.iter().all(|&b| b == b'r'),
        "the parent's result buffer changed"
    );
    for fd in [r, w, door] {
        close(fd).expect("close");
    }
}

/// Descriptors of every kind (one offset for a file, close-on-exec flags),
/// the current directory, umask, effective uid and limits come along.
fn descriptors_directory_and_limits() {
    fs::mkdir("/tmp/proc_fork", 0o755).expect("mkdir");
    let file = fs::open("/tmp/proc_fork/f", O_CREAT | O_RDWR | O_CLOEXEC, 0o644).expect("open");
    let (r, w) = pipe().expect("pipe");
    fs::chdir("/tmp/proc_fork").expect("chdir");
    let old_mask = fs::umask(0o077);
    process::set_limit(0, limit::THREADS, 77).expect("lower the thread limit");
    process::seteuid(1000).expect("seteuid");
    let child = fork_child("inheritance", || {
        expect_eq(
            "write through the inherited file",
            write_fd(file, b"abc"),
            Ok(3),
        );
        expect_eq(
            "close-on-exec flag",
            fs::fcntl(file, F_GETFD, 0),
            Ok(FD_CLOEXEC as usize),
        );
        expect_eq("cwd", fs::getcwd().as_deref(), Ok("/tmp/proc_fork"));
        expect_eq("umask", fs::umask(0), 0o077);
        expect_eq(
            "thread limit",
            process::get_limit(0, limit::THREADS),
            Ok(77),
        );
        let created = fs::open("/tmp/proc_fork/g", O_CREAT | O_RDWR, 0o644);
        expect_eq(
            "create as euid 1000 in root's directory",
            created,
            Err(Errno::EACCES),
        );
        expect_eq("pipe", write_fd(w, b"child"), Ok(5));
        0
    });
    process::seteuid(0).expect("back to root");
    process::set_limit(0, limit::THREADS, limit::DEFAULT_THREADS).expect("restore");
    fs::umask(old_mask);
    close(w).expect("close");
    expect_exit("inheritance", child, 0);
    expect_eq("the shared offset", fs::lseek(file, 0, SEEK_CUR), Ok(3));
    let mut got = [0u8; 8];
    expect_eq("the child's pipe write", read_fd(r, &mut got), Ok(5));
    expect_eq(
        "end of file once the child is gone",
        read_fd(r, &mut got),
        Ok(0),
    );
    for fd in [r, file] {
        close(fd).expect("close");
    }
    fs::chdir("/").expect("chdir /");
    fs::unlink("/tmp/proc_fork/f").expect("unlink");
    fs::rmdir("/tmp/proc_fork").expect("rmdir");
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Children of a process whose other threads allocate and print all the
/// time: their heap and output work, and those threads are not theirs.
fn busy_threads_do_not_follow() {
    let busy: Vec<_> = (0..2)
        .map(|i| {
            thread::spawn(move || {
                let mut rounds = 0u64;
                while !STOP.load(Ordering::Relaxed) {
                    let v: Vec<u64> = (0..64 + i).collect();
                    rounds += 1;
                    if rounds.is_multiple_of(100_000) {
                        println!(
                            "proc_fork: busy thread {i}: {rounds} rounds of {} allocations",
                            v.len()
                        );
                    }
                }
                0
            })
            .expect("busy thread")
        })
        .collect();
    let tids: Vec<u32> = busy.iter().map(|t| t.tid()).collect();
    let mut children = Vec::new();
    for round in 0..20 {
        children.push(fork_child("busy fork", || {
            let v: Vec<u8> = vec![round as u8; 10_000];
            println!("proc_fork: child {round} allocated {} bytes", v.len());
            for &tid in &tids {
                let joined = thread::join_raw(tid);
                expect_eq("join a thread of the parent", joined, Err(Errno::ESRCH));
            }
            0
        }));
        process::yield_now();
    }
    for child in children {
        expect_exit("busy fork", child, 0);
    }
    STOP.store(true, Ordering::Relaxed);
    for t in busy {
        if t.join().is_err() {
            fail(format_args!("join a busy thread"));
        }
    }
}
