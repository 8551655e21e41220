//! Pipe children: processes that exercise what the fuzz threads cannot
//! (their pipes never block, so no draw of theirs can hang a thread):
//! blocking pipes, with plans drawn from the seed and exact answers.
//!
//! `fuzz pipes SEED INDEX` runs [`ROUNDS`] rounds, each one of:
//! - streams: 1 to 3 writer threads and 1 to 3 reader threads on one
//!   pipe, writes of every size (atomic ones up to `PIPE_BUF`, larger ones
//!   that block while the pipe is full), reads of every size that block
//!   while it is empty; the readers must get every byte once, each
//!   writer's in order and (with one reader) every write of up to
//!   `PIPE_BUF` bytes in one piece, then end of file; or the readers stop
//!   part-way and close, and the writers must then get a short count or
//!   EPIPE, never sooner;
//! - a reader blocked on an empty pipe while another thread closes its
//!   descriptor (the call holds the pipe: the write that follows reaches
//!   it, and the descriptor is gone after), makes the pipe non-blocking
//!   (the write still wakes it, the next read is EAGAIN), or closes the
//!   last write end (end of file); `door_abort` of the blocked thread is
//!   EINVAL and leaves it be;
//! - a pipe to another process (`fuzz pipe-peer SEED INDEX ROUND`, given
//!   one end as its descriptor 0): it writes a stream and exits, which
//!   must end the reader's wait with end of file; or it reads part of a
//!   stream and exits, which must end the writer's wait with a short count
//!   or EPIPE;
//! - (the last round, at times) threads blocked reading an empty pipe and
//!   writing a full one when the process exits: the kernel must free
//!   everything (init's leak check).
//!
//! A finding prints `fuzz: FINDING` and the child exits with status 1.

use crate::fuzzer::finding;
use crate::rng::{Rng, mix};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use spin::Mutex;
use userland::abi::Errno;
use userland::abi::fs::{F_SETFL, O_CLOEXEC, O_NONBLOCK, PIPE_BUF};
use userland::door::door_abort;
use userland::fs::{close, dup, fcntl, pipe2, read_fd, write_fd};
use userland::{process, thread};

/// Rounds per pipe child.
const ROUNDS: u64 = 3;
/// Bytes a pipe holds.
const PIPE_SIZE: usize = 64 * 1024;

/// A round's random numbers (the peer draws the same).
fn round_rng(seed: u64, index: u64, round: u64) -> Rng {
    Rng::new(mix(mix(mix(seed, 0x9193), index), round))
}

/// A finding of this child (`seed` for the report); false.
fn fail(seed: u64, what: core::fmt::Arguments) -> bool {
    finding(seed, format_args!("pipe child: {what}"));
    false
}

/// Runs pipe child `index`; its exit status.
pub fn run(seed: u64, index: u64) -> i32 {
    let mut ok = true;
    for round in 0..ROUNDS {
        let mut rng = round_rng(seed, index, round);
        let last = round + 1 == ROUNDS;
        ok &= match rng.below(if last { 7 } else { 6 }) {
            0 | 1 => stream(seed, &mut rng, false),
            2 => stream(seed, &mut rng, true),
            3 => blocked_reader(seed, &mut rng),
            4 | 5 => peer(seed, index, round),
            _ => die_blocked(seed),
        };
    }
    i32::from(!ok)
}

/// Sizes of writes adding up to `total`: small, atomic, larger than
/// `PIPE_BUF`, larger than the pipe.
fn chunks(rng: &mut Rng, total: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = total;
    while left > 0 {
        let size = match rng.below(6) {
            0 => 1 + rng.below(64) as usize,
            1 | 2 => 1 + rng.below(PIPE_BUF as u64) as usize,
            3 => PIPE_BUF,
            4 => PIPE_BUF + 1 + rng.below(16384) as usize,
            _ => rng.pick(&[PIPE_SIZE, PIPE_SIZE + 4464]),
        };
        sizes.push(size.min(left));
        left -= size.min(left);
    }
    sizes
}

/// Byte `k` of writer `w`'s stream.
fn byte(w: usize, k: usize) -> u8 {
    ((w << 5) | (k % 32)) as u8
}

/// What the single reader of a stream checks: each writer's bytes in
/// order, and each write of up to `PIPE_BUF` bytes in one piece.
struct Order {
    plans: Vec<Vec<usize>>,
    /// Per writer: bytes seen, the write they are in and how far into it,
    /// and where in the stream its last byte was.
    seen: Vec<(usize, usize, usize, usize)>,
    at: usize,
}

impl Order {
    fn new(plans: Vec<Vec<usize>>) -> Order {
        let seen = vec![(0, 0, 0, 0); plans.len()];
        Order { plans, seen, at: 0 }
    }

    /// Takes the next byte of the stream; what is wrong with it.
    fn take(&mut self, b: u8) -> Option<&'static str> {
        let w = usize::from(b >> 5);
        let at = self.at;
        self.at += 1;
        let (Some(plan), Some((k, chunk, within, last))) =
            (self.plans.get(w), self.seen.get_mut(w))
        else {
            return Some("a byte no writer wrote");
        };
        let Some(&size) = plan.get(*chunk) else {
            return Some("more bytes than a writer wrote");
        };
        if b != byte(w, *k) {
            return Some("a writer's bytes out of order");
        }
        if *within > 0 && size <= PIPE_BUF && *last + 1 != at {
            return Some("a write of at most PIPE_BUF bytes split");
        }
        *k += 1;
        *last = at;
        *within += 1;
        if *within == size {
            (*chunk, *within) = (*chunk + 1, 0);
        }
        None
    }
}

/// Writers and readers on one blocking pipe (see the module
/// documentation); `quit`: the readers stop part-way.
fn stream(seed: u64, rng: &mut Rng, quit: bool) -> bool {
    let writers = 1 + rng.below(3) as usize;
    let readers = 1 + rng.below(3) as usize;
    let Ok((r, w)) = pipe2(rng.pick(&[0, O_CLOEXEC])) else {
        return fail(seed, format_args!("pipe2 failed"));
    };
    let plans: Vec<Vec<usize>> = (0..writers)
        .map(|_| {
            let total = rng.below(100_000) as usize;
            chunks(rng, total)
        })
        .collect();
    let total: usize = plans.iter().flatten().sum();
    let quit_after = quit.then(|| rng.below(total as u64 / 2 + 1) as usize);
    let stopped = Arc::new(AtomicBool::new(false));
    let read_total = Arc::new(AtomicU64::new(0));
    let order = Arc::new(Mutex::new(Order::new(plans.clone())));
    let mut threads = Vec::new();
    for (i, plan) in plans.iter().cloned().enumerate() {
        let (fd, stopped) = (dup(w), stopped.clone());
        let spawned = thread::spawn(move || {
            let Ok(fd) = fd else { return u64::MAX };
            let mut k = 0;
            for size in plan {
                let bytes: Vec<u8> = (k..k + size).map(|k| byte(i, k)).collect();
                match write_fd(fd, &bytes) {
                    Ok(n) if n == size => k += n,
                    Ok(n) if stopped.load(SeqCst) => {
                        k += n;
                        break;
                    }
                    Err(Errno::EPIPE) if stopped.load(SeqCst) => break,
                    _ => k = usize::MAX,
                }
                if k == usize::MAX {
                    break;
                }
            }
            let _ = close(fd);
            k as u64
        });
        threads.push((true, spawned));
    }
    for _ in 0..readers {
        let (fd, stopped, read_total, order) =
            (dup(r), stopped.clone(), read_total.clone(), order.clone());
        let mut reader_rng = Rng::new(rng.next());
        let single = readers == 1;
        let spawned = thread::spawn(move || {
            let Ok(fd) = fd else { return 1 };
            let mut buf = vec![0u8; PIPE_SIZE + 4464];
            let mut problem = 0;
            loop {
                let size = reader_rng.pick(&[1, 7, 512, PIPE_BUF, 20000, buf.len()]);
                let n = match read_fd(fd, &mut buf[..size]) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(_) => {
                        problem = 2;
                        break;
                    }
                };
                if single {
                    let mut order = order.lock();
                    if buf[..n].iter().any(|&b| order.take(b).is_some()) {
                        problem = 3;
                    }
                }
                let so_far = read_total.fetch_add(n as u64, SeqCst) + n as u64;
                if quit_after.is_some_and(|q| so_far as usize >= q) {
                    stopped.store(true, SeqCst);
                }
                if stopped.load(SeqCst) {
                    break;
                }
            }
            let _ = close(fd);
            problem
        });
        threads.push((false, spawned));
    }
    let (_, _) = (close(r), close(w));
    let mut ok = true;
    let mut written = 0;
    for (i, (writer, handle)) in threads.into_iter().enumerate() {
        let Ok(handle) = handle else {
            return fail(seed, format_args!("no thread for the stream"));
        };
        let value = handle.join().unwrap_or(u64::MAX);
        match (writer, value) {
            (true, u64::MAX) => ok = fail(seed, format_args!("writer {i} failed")),
            (true, n) => written += n as usize,
            (false, 0) => {}
            (false, problem) => {
                ok = fail(seed, format_args!("reader failed ({problem})"));
            }
        }
    }
    let read = read_total.load(SeqCst) as usize;
    let whole = if quit {
        read <= written
    } else {
        read == total && written == total
    };
    if !whole {
        ok = fail(
            seed,
            format_args!("{total} bytes to write, {written} written, {read} read (quit: {quit})"),
        );
    }
    ok
}

/// A reader blocked on an empty pipe while this thread acts on the pipe
/// (see the module documentation).
fn blocked_reader(seed: u64, rng: &mut Rng) -> bool {
    let Ok((r, w)) = pipe2(0) else {
        return fail(seed, format_args!("pipe2 failed"));
    };
    let Ok(r2) = dup(r) else {
        return fail(seed, format_args!("dup failed"));
    };
    let variant = rng.below(3);
    let data: Vec<u8> = (0..1 + rng.below(PIPE_BUF as u64) as usize)
        .map(|i| i as u8 ^ 0x5a)
        .collect();
    let want = data.clone();
    let started = Arc::new(AtomicBool::new(false));
    let reading = started.clone();
    // The reader most often blocks before this thread acts; if it is
    // slower, its read comes after, with the answer that order gives.
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; PIPE_BUF];
        reading.store(true, SeqCst);
        let first = read_fd(r2, &mut buf);
        let first_bytes = first.map(|n| buf[..n] == want[..]);
        let second = read_fd(r2, &mut buf[..1]);
        let ok = match (variant, first_bytes, second) {
            (0, Ok(true), Err(Errno::EBADF)) => true,
            (0, Err(Errno::EBADF), Err(Errno::EBADF)) => true,
            (1, Ok(true), Err(Errno::EAGAIN)) => true,
            (1, Err(Errno::EAGAIN), Ok(1) | Err(Errno::EAGAIN)) => true,
            (2, Ok(false), Ok(0)) => first == Ok(0),
            _ => false,
        };
        if variant != 0 {
            let _ = close(r2);
        }
        u64::from(!ok)
    });
    let Ok(reader) = reader else {
        return fail(seed, format_args!("no reader thread"));
    };
    while !started.load(SeqCst) {
        process::yield_now();
    }
    process::sleep_ticks(3);
    let mut ok = true;
    if door_abort(reader.tid()) != -1 || userland::door::errno() != Errno::EINVAL {
        ok = fail(seed, format_args!("door_abort of a thread reading a pipe"));
    }
    match variant {
        0 => {
            let closed = close(r2);
            let wrote = write_fd(w, &data);
            ok &= closed.is_ok() && wrote == Ok(data.len());
        }
        1 => {
            let set = fcntl(r, F_SETFL, O_NONBLOCK as usize);
            let wrote = write_fd(w, &data);
            ok &= set.is_ok() && wrote == Ok(data.len());
        }
        _ => ok &= close(w).is_ok(),
    }
    if reader.join() != Ok(0) {
        ok = fail(
            seed,
            format_args!("the blocked reader (variant {variant}) got a wrong answer"),
        );
    }
    let _ = close(r);
    if variant != 2 {
        let _ = close(w);
    }
    ok || fail(
        seed,
        format_args!("acting on a pipe with a blocked reader (variant {variant})"),
    )
}

/// Byte `k` of the stream a peer of round `round` moves.
fn peer_byte(round: u64, k: usize) -> u8 {
    (k.wrapping_mul(7) as u64 + round) as u8
}

/// What a peer does: (whether it writes, the bytes it moves, the bytes
/// the other side offers when the peer reads).
fn peer_plan(seed: u64, index: u64, round: u64) -> (bool, usize, usize) {
    let mut rng = Rng::new(mix(round_rng(seed, index, round).next(), 0x9e37));
    let writes = rng.chance(50);
    let len = rng.below(150_000) as usize;
    (
        writes,
        len,
        len + PIPE_SIZE + 1 + rng.below(20_000) as usize,
    )
}

/// A pipe to a peer process (see the module documentation).
fn peer(seed: u64, index: u64, round: u64) -> bool {
    let (writes, len, offered) = peer_plan(seed, index, round);
    let Ok((r, w)) = pipe2(0) else {
        return fail(seed, format_args!("pipe2 failed"));
    };
    let (given, kept) = if writes { (w, r) } else { (r, w) };
    let (s, i, n) = (
        alloc::format!("{seed}"),
        alloc::format!("{index}"),
        alloc::format!("{round}"),
    );
    let spawned = process::spawn_with_fds("fuzz", &["pipe-peer", &s, &i, &n], &[given]);
    let _ = close(given);
    let Ok(pid) = spawned else {
        let _ = close(kept);
        return fail(seed, format_args!("could not start a pipe peer"));
    };
    let mut ok = true;
    let mut moved = 0;
    let mut buf = vec![0u8; 20000];
    if writes {
        loop {
            match read_fd(kept, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    ok &= buf[..n]
                        .iter()
                        .enumerate()
                        .all(|(j, &b)| b == peer_byte(round, moved + j));
                    moved += n;
                }
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        ok &= moved == len;
    } else {
        while moved < offered {
            let n = (offered - moved).min(buf.len());
            for (j, b) in buf[..n].iter_mut().enumerate() {
                *b = peer_byte(round, moved + j);
            }
            match write_fd(kept, &buf[..n]) {
                Ok(m) if m == n => moved += m,
                Ok(m) => {
                    moved += m;
                    break;
                }
                Err(Errno::EPIPE) => break,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        ok &= moved >= len && moved < offered;
    }
    let _ = close(kept);
    let status = process::wait(Some(pid)).map(|(_, status)| status);
    if !ok || status != Ok(0) {
        return fail(
            seed,
            format_args!(
                "a pipe to a peer (peer writes: {writes}, {len} bytes): moved {moved}, \
                 peer {status:?}"
            ),
        );
    }
    true
}

/// The peer of [`peer`]: moves its stream through descriptor 0; exits 0
/// if every byte was right.
pub fn run_peer(seed: u64, index: u64, round: u64) -> i32 {
    let (writes, len, _) = peer_plan(seed, index, round);
    let mut buf = vec![0u8; 20000];
    let mut moved = 0;
    while moved < len {
        let n = (len - moved).min(buf.len());
        let done = if writes {
            for (j, b) in buf[..n].iter_mut().enumerate() {
                *b = peer_byte(round, moved + j);
            }
            write_fd(0, &buf[..n])
        } else {
            read_fd(0, &mut buf[..n]).map(|m| {
                let right = buf[..m]
                    .iter()
                    .enumerate()
                    .all(|(j, &b)| b == peer_byte(round, moved + j));
                if right { m } else { usize::MAX }
            })
        };
        match done {
            Ok(m) if m > 0 && m != usize::MAX => moved += m,
            _ => return 1,
        }
    }
    0
}

/// Threads blocked on a pipe when the process exits (returns only if
/// that cannot be set up).
fn die_blocked(seed: u64) -> bool {
    let pipes = (pipe2(0), pipe2(0));
    let (Ok((r1, _w1)), Ok((_r2, w2))) = pipes else {
        return fail(seed, format_args!("pipe2 failed"));
    };
    let full = vec![0u8; PIPE_SIZE];
    if write_fd(w2, &full) != Ok(PIPE_SIZE) {
        return fail(
            seed,
            format_args!("a blocking write into an empty pipe fell short"),
        );
    }
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 16];
        let _ = read_fd(r1, &mut buf);
        0
    });
    let writer = thread::spawn(move || {
        let _ = write_fd(w2, &[1; 100]);
        0
    });
    if reader.is_err() || writer.is_err() {
        return fail(seed, format_args!("no thread to block"));
    }
    process::sleep_ticks(3);
    process::exit(0)
}
