//! Pipes under QEMU, between processes and threads:
//! - a child writes and exits: the parent reads everything, then end of
//!   file once every write end is closed (its own too);
//! - a blocked reader wakes when data comes, a blocked writer when room
//!   does; reads are partial (what is queued, up to the buffer);
//! - a reader that goes away: a writer blocked on a full pipe gets the
//!   count it wrote, then EPIPE (there are no signals: no SIGPIPE);
//! - `O_NONBLOCK` (from `pipe2` or `fcntl`): EAGAIN on an empty or full
//!   pipe, a partial write of more than `PIPE_BUF` bytes when some room is
//!   left, all or nothing for `PIPE_BUF` bytes or fewer;
//! - writes of `PIPE_BUF` bytes from two processes at once never mix;
//! - a thread blocked on a pipe holds its end: another thread closing the
//!   descriptor does not end the wait;
//! - `fstat` of an end is a FIFO with the bytes queued as its size.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use userland::Errno;
use userland::fs::*;
use userland::testkit::{self, *};
use userland::{arg, check, println, process, thread};

userland::entry!(main);

/// The console, as init hands it over.
const STDIO: [i32; 3] = [0, 1, 2];
/// Records each writer of the atomicity test writes.
const RECORDS: usize = 64;
/// What the capacity of a pipe is (the kernel's `PIPE_CAPACITY`).
const CAPACITY: usize = 64 * 1024;

fn must<T>(what: &str, r: Result<T, Errno>) -> T {
    r.unwrap_or_else(|e| panic!("pipes: {what}: {e:?}"))
}

/// Starts this program with `args`, the console and `fds` (as 3, 4, ...).
fn start(args: &[&str], fds: &[i32]) -> Option<u32> {
    let all: Vec<i32> = STDIO.iter().chain(fds).copied().collect();
    testkit::spawn(args, &all)
}

/// Reads until end of file.
fn read_all(fd: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 3000];
    loop {
        match read_fd(fd, &mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                fail(format_args!("read: {e:?}"));
                return out;
            }
        }
    }
}

fn end_of_file() {
    let (r, w) = must("pipe", pipe());
    let Some(pid) = start(&["write", "3"], &[w]) else {
        return;
    };
    must("close the parent's write end", close(w));
    let got = read_all(r);
    let want: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    expect_eq("the child's bytes, then end of file", got.len(), want.len());
    check!(got == want, "the bytes came out as they went in");
    expect_eq("end of file again", read_fd(r, &mut [0u8; 4]), Ok(0));
    wait_child("writer", pid);
    must("close", close(r));
}

fn blocking() {
    let (r, w) = must("pipe", pipe());
    // A reader blocked on the empty pipe wakes when a child writes.
    let Some(pid) = start(&["late", "3"], &[w]) else {
        return;
    };
    let mut buf = [0u8; 100];
    expect_eq("a blocked read gets what came", read_fd(r, &mut buf), Ok(5));
    expect_eq("the late bytes", &buf[..5], b"late!");
    wait_child("late writer", pid);
    // Partial reads.
    expect_eq("write 100", write_fd(w, &[9u8; 100]), Ok(100));
    expect_eq("read 30 of 100", read_fd(r, &mut buf[..30]), Ok(30));
    let st = must("fstat", fstat(r));
    expect_eq("a FIFO", st.st_mode & S_IFMT, S_IFIFO);
    expect_eq("its size is what is queued", st.st_size, 70);
    expect_eq("the rest", read_fd(r, &mut buf), Ok(70));
    // A writer blocked on a full pipe wakes when a child reads.
    expect_eq(
        "fill the pipe",
        write_fd(w, &vec![1u8; CAPACITY]),
        Ok(CAPACITY),
    );
    let Some(pid) = start(&["drain", "3", "1000"], &[r]) else {
        return;
    };
    expect_eq(
        "a blocked write goes on when room comes",
        write_fd(w, &[2u8; 1000]),
        Ok(1000),
    );
    wait_child("drainer", pid);
    must("close", close(r));
    must("close", close(w));
}

fn broken_pipe() {
    let (r, w) = must("pipe", pipe());
    expect_eq("fill", write_fd(w, &vec![1u8; CAPACITY]), Ok(CAPACITY));
    // The child reads 1000 bytes, waits for them to be written again, and
    // exits with the only read end left.
    let Some(pid) = start(&["drain", "3", "1000"], &[r]) else {
        return;
    };
    must("close the parent's read end", close(r));
    let big = vec![3u8; 5000];
    expect_eq(
        "a blocked write ends with the count written when the reader goes",
        write_fd(w, &big),
        Ok(1000),
    );
    expect_eq("then EPIPE", write_fd(w, b"x"), Err(Errno::EPIPE));
    wait_child("drainer", pid);
    must("close", close(w));
    let (r, w) = must("pipe", pipe());
    must("close", close(r));
    expect_eq("no reader: EPIPE", write_fd(w, b"x"), Err(Errno::EPIPE));
    expect_eq("an empty write is 0", write_fd(w, b""), Ok(0));
    must("close", close(w));
}

fn nonblocking() {
    let (r, w) = must("pipe2", pipe2(O_NONBLOCK));
    expect_eq(
        "F_GETFL",
        fcntl(r, F_GETFL, 0).map(|f| f as u32),
        Ok(O_RDONLY | O_NONBLOCK),
    );
    let mut buf = [0u8; 16];
    expect_eq(
        "read an empty pipe",
        read_fd(r, &mut buf),
        Err(Errno::EAGAIN),
    );
    expect_eq(
        "fill",
        write_fd(w, &vec![1u8; CAPACITY - 100]),
        Ok(CAPACITY - 100),
    );
    expect_eq(
        "PIPE_BUF bytes into 100",
        write_fd(w, &[2u8; PIPE_BUF]),
        Err(Errno::EAGAIN),
    );
    expect_eq(
        "more than PIPE_BUF: what fits",
        write_fd(w, &[2u8; PIPE_BUF + 1]),
        Ok(100),
    );
    expect_eq("a full pipe", write_fd(w, b"x"), Err(Errno::EAGAIN));
    // F_SETFL turns it off for one end only (ends are separate open files).
    must("F_SETFL", fcntl(r, F_SETFL, 0));
    expect_eq(
        "the write end keeps O_NONBLOCK",
        fcntl(w, F_GETFL, 0).map(|f| f as u32),
        Ok(O_WRONLY | O_NONBLOCK),
    );
    let mut all = vec![0u8; CAPACITY];
    expect_eq("drain", read_fd(r, &mut all), Ok(CAPACITY));
    must("F_SETFL on", fcntl(r, F_SETFL, O_NONBLOCK as usize));
    expect_eq("empty again", read_fd(r, &mut buf), Err(Errno::EAGAIN));
    must("close the write end", close(w));
    expect_eq(
        "no writer: end of file, not EAGAIN",
        read_fd(r, &mut buf),
        Ok(0),
    );
    must("close", close(r));
}

fn atomic_writes() {
    let (r, w) = must("pipe", pipe());
    let a = start(&["records", "3", "65"], &[w]);
    let b = start(&["records", "3", "66"], &[w]);
    must("close the parent's write end", close(w));
    let got = read_all(r);
    expect_eq("bytes from both writers", got.len(), 2 * RECORDS * PIPE_BUF);
    let mut counts = [0usize; 2];
    for (i, record) in got.chunks(PIPE_BUF).enumerate() {
        let first = record[0];
        if !record.iter().all(|&b| b == first) || !(65..=66).contains(&first) {
            fail(format_args!("record {i} mixes writers"));
            break;
        }
        counts[usize::from(first - 65)] += 1;
    }
    expect_eq("records of each writer", counts, [RECORDS, RECORDS]);
    for pid in [a, b].into_iter().flatten() {
        wait_child("record writer", pid);
    }
    must("close", close(r));
}

fn held_while_blocked() {
    let (r, w) = must("pipe", pipe());
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 8];
        match read_fd(r, &mut buf) {
            Ok(n) if &buf[..n] == b"held" => 1,
            other => {
                println!("pipes: the blocked reader got {other:?}");
                0
            }
        }
    });
    let reader = must("thread", reader);
    // Let the reader block, then close its descriptor under it.
    process::sleep_ticks(3);
    must("close the read descriptor", close(r));
    expect_eq(
        "the descriptor is gone",
        read_fd(r, &mut [0u8; 1]),
        Err(Errno::EBADF),
    );
    expect_eq(
        "the blocked reader keeps the pipe readable",
        write_fd(w, b"held"),
        Ok(4),
    );
    expect_eq("the reader got the bytes", reader.join(), Ok(1));
    expect_eq("now nobody reads", write_fd(w, b"x"), Err(Errno::EPIPE));
    must("close", close(w));
}

/// The children's roles; `fd` is the pipe end they were handed.
fn role(name: &str) -> i32 {
    let fd = testkit::num_arg(2) as i32;
    match name {
        "write" => {
            let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
            for chunk in data.chunks(777) {
                expect_eq("write", write_fd(fd, chunk), Ok(chunk.len()));
            }
        }
        "late" => {
            process::sleep_ticks(3);
            expect_eq("late write", write_fd(fd, b"late!"), Ok(5));
        }
        "drain" => {
            // Reads `n` bytes of a full pipe, and leaves once the parent's
            // blocked write has filled it again.
            let n = testkit::num_arg(3) as usize;
            let mut buf = vec![0u8; n];
            process::sleep_ticks(3);
            expect_eq("drain", read_fd(fd, &mut buf), Ok(n));
            let full = || fstat(fd).is_ok_and(|st| st.st_size as usize == CAPACITY);
            check!(
                wait_until(1000, full),
                "the parent never filled the pipe again"
            );
        }
        "records" => {
            let byte = testkit::num_arg(3) as u8;
            let record = [byte; PIPE_BUF];
            for _ in 0..RECORDS {
                expect_eq("record", write_fd(fd, &record), Ok(PIPE_BUF));
                process::yield_now();
            }
        }
        other => {
            println!("pipes: unknown role {other}");
            return 2;
        }
    }
    testkit::verdict(false)
}

fn main() -> i32 {
    if let Some(name) = arg(1) {
        return role(name);
    }
    end_of_file();
    blocking();
    broken_pipe();
    nonblocking();
    atomic_writes();
    held_while_blocked();
    testkit::verdict(true)
}
