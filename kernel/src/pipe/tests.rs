//! Tests of pipes: order, wakeups, ends closing and shut, atomic writes,
//! pages, and a model.

use super::*;
use crate::io::testing::VecStore;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::vec;

const OWNER: Cred = Cred {
    euid: 100,
    egid: 200,
};

fn pipes() -> Pipes<VecStore> {
    Pipes::new(VecStore::default(), 4)
}

fn write(pipes: &mut Pipes<VecStore>, id: PipeId, bytes: &[u8]) -> Result<usize, Errno> {
    pipes.write(id, &mut &bytes[..]).map(|moved| moved.bytes)
}

fn read(pipes: &mut Pipes<VecStore>, id: PipeId, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0; len];
    let moved = pipes.read(id, &mut &mut buf[..])?;
    buf.truncate(moved.bytes);
    Ok(buf)
}

#[test]
fn bytes_come_out_in_order_and_wake_the_other_side() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    let moved = pipes.write(id, &mut &b"hello"[..]).unwrap();
    assert_eq!(
        moved,
        Moved {
            bytes: 5,
            wake: Wake::Readers
        }
    );
    assert_eq!(write(&mut pipes, id, b" world"), Ok(6));
    let mut buf = [0; 4];
    let moved = pipes.read(id, &mut &mut buf[..]).unwrap();
    assert_eq!(
        (moved, &buf),
        (
            Moved {
                bytes: 4,
                wake: Wake::Writers
            },
            b"hell"
        )
    );
    assert_eq!(read(&mut pipes, id, 100).unwrap(), b"o world");
}

#[test]
fn readiness_follows_the_bytes_and_the_ends() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    let ready = |p: &Pipes<VecStore>| p.readiness(id);
    assert_eq!(
        ready(&pipes),
        Readiness {
            writable: true,
            ..Readiness::default()
        }
    );
    assert_eq!(write(&mut pipes, id, b"x"), Ok(1));
    assert!(ready(&pipes).readable && ready(&pipes).writable);
    let fill = vec![0u8; PIPE_CAPACITY - 1 - PIPE_BUF + 1];
    assert_eq!(write(&mut pipes, id, &fill), Ok(fill.len()));
    assert!(!ready(&pipes).writable, "less than PIPE_BUF of room");
    let _ = pipes.release(id, End::Write);
    let r = ready(&pipes);
    assert!(r.readable && r.hangup && !r.broken);
    assert_eq!(
        read(&mut pipes, id, PIPE_CAPACITY).unwrap().len(),
        fill.len() + 1
    );
    assert!(ready(&pipes).readable, "end of file reads at once");
    pipes.retain(id, End::Write);
    let _ = pipes.release(id, End::Read);
    let r = ready(&pipes);
    assert!(r.writable && r.broken && !r.hangup && !r.readable);
}

#[test]
fn an_empty_pipe_blocks_readers_until_the_last_writer_goes() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    assert_eq!(read(&mut pipes, id, 8), Err(Errno::EAGAIN));
    pipes.retain(id, End::Write);
    assert_eq!(
        pipes.release(id, End::Write),
        Wake::Nobody,
        "another writer remains"
    );
    write(&mut pipes, id, b"last").unwrap();
    assert_eq!(pipes.release(id, End::Write), Wake::Readers);
    assert_eq!(
        read(&mut pipes, id, 8).unwrap(),
        b"last",
        "queued data outlives the writer"
    );
    assert_eq!(read(&mut pipes, id, 8).unwrap(), b"", "then end of file");
    assert_eq!(read(&mut pipes, id, 0).unwrap(), b"");
}

#[test]
fn writing_with_no_reader_left_is_epipe() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    assert_eq!(pipes.release(id, End::Read), Wake::Writers);
    assert_eq!(write(&mut pipes, id, b"x"), Err(Errno::EPIPE));
    assert_eq!(
        write(&mut pipes, id, b""),
        Ok(0),
        "an empty write is 0 first"
    );
}

#[test]
fn small_writes_are_atomic_and_large_ones_partial() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    let big = vec![7u8; PIPE_CAPACITY - 100];
    assert_eq!(write(&mut pipes, id, &big), Ok(PIPE_CAPACITY - 100));
    assert_eq!(
        write(&mut pipes, id, &[1; 200]),
        Err(Errno::EAGAIN),
        "PIPE_BUF or less: all or nothing"
    );
    assert_eq!(write(&mut pipes, id, &[2; PIPE_BUF + 1]), Ok(100));
    assert_eq!(
        write(&mut pipes, id, &[3; PIPE_BUF + 1]),
        Err(Errno::EAGAIN),
        "full"
    );
    assert_eq!(write(&mut pipes, id, &[3; 1]), Err(Errno::EAGAIN));
    assert_eq!(read(&mut pipes, id, PIPE_CAPACITY - 100).unwrap(), big);
    assert_eq!(read(&mut pipes, id, 1000).unwrap(), [2; 100]);
}

#[test]
fn pages_follow_the_data_and_go_with_the_pipe() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, false).unwrap();
    assert_eq!(
        pipes.usage(),
        PipeUsage { pipes: 1, pages: 0 },
        "no memory until data comes"
    );
    write(&mut pipes, id, &[1; 3 * PAGE_SIZE]).unwrap();
    assert_eq!(pipes.usage().pages, 3);
    read(&mut pipes, id, PAGE_SIZE + 1).unwrap();
    assert_eq!(pipes.usage().pages, 2, "a page wholly read is given back");
    read(&mut pipes, id, 3 * PAGE_SIZE).unwrap();
    assert_eq!(
        pipes.usage().pages,
        1,
        "empty: one page stays for the next write"
    );
    write(&mut pipes, id, b"ping").unwrap();
    read(&mut pipes, id, 4).unwrap();
    assert_eq!(pipes.usage().pages, 1);
    assert_eq!(pipes.release(id, End::Read), Wake::Writers);
    assert_eq!(pipes.release(id, End::Write), Wake::Nobody);
    assert_eq!(pipes.usage(), PipeUsage { pipes: 0, pages: 0 });
    assert_eq!(pipes.store.in_use, 0);
}

#[test]
fn the_number_of_pipes_is_bounded() {
    let mut pipes = pipes();
    let ids: Vec<_> = (0..4)
        .map(|_| pipes.create(OWNER, false).unwrap())
        .collect();
    assert_eq!(pipes.create(OWNER, false), Err(Errno::ENFILE));
    let _ = pipes.release(ids[0], End::Read);
    assert_eq!(
        pipes.create(OWNER, false),
        Err(Errno::ENFILE),
        "half a pipe is still a pipe"
    );
    let _ = pipes.release(ids[0], End::Write);
    assert!(pipes.create(OWNER, false).is_ok());
}

#[test]
fn a_store_out_of_pages_fails_the_write_whole() {
    let mut pipes = Pipes::new(VecStore::with_capacity(2), 4);
    let id = pipes.create(OWNER, false).unwrap();
    assert_eq!(
        write(&mut pipes, id, &[5; 3 * PAGE_SIZE]),
        Err(Errno::ENOMEM)
    );
    assert_eq!(pipes.usage().pages, 0);
    assert_eq!(pipes.store.in_use, 0, "pages taken for it went back");
    assert_eq!(
        read(&mut pipes, id, 1),
        Err(Errno::EAGAIN),
        "nothing was queued"
    );
    assert_eq!(
        write(&mut pipes, id, &[5; 2 * PAGE_SIZE]),
        Ok(2 * PAGE_SIZE)
    );
}

#[test]
fn ends_keep_their_own_flags_and_stat_is_a_fifo() {
    let mut pipes = pipes();
    let id = pipes.create(OWNER, true).unwrap();
    assert_eq!(pipes.status_flags(id, End::Read), O_RDONLY | O_NONBLOCK);
    pipes.set_status_flags(id, End::Write, 0o2000);
    assert_eq!(pipes.status_flags(id, End::Write), O_WRONLY);
    assert_eq!(pipes.status_flags(id, End::Read), O_RDONLY | O_NONBLOCK);
    write(&mut pipes, id, b"abc").unwrap();
    let stat = pipes.stat(id);
    assert_eq!(stat.st_mode, S_IFIFO | 0o600);
    assert_eq!((stat.st_uid, stat.st_gid, stat.st_size), (100, 200, 3));
    let other = pipes.create(OWNER, false).unwrap();
    assert_ne!(pipes.stat(other).st_ino, stat.st_ino);
}

#[derive(Clone, Debug)]
enum Op {
    Write(usize, u8),
    Read(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![0..64usize, 4000..4200usize, 0..3 * PIPE_CAPACITY / 2];
    prop_oneof![
        (len.clone(), any::<u8>()).prop_map(|(n, seed)| Op::Write(n, seed)),
        len.prop_map(Op::Read),
    ]
}

proptest! {
    /// Random reads and writes against a `VecDeque`: every result is
    /// the one the rules predict, the bytes come out as they went in
    /// (across the ring's wrap), and pages follow the data.
    #[test]
    fn pipes_behave_like_a_bounded_queue(ops in proptest::collection::vec(op(), 1..60)) {
        let mut pipes = pipes();
        let id = pipes.create(OWNER, false).unwrap();
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                Op::Write(n, seed) => {
                    let data: Vec<u8> = (0..n).map(|i| seed.wrapping_add(i as u8)).collect();
                    let room = PIPE_CAPACITY - model.len();
                    let expect = if n == 0 {
                        Ok(0)
                    } else if room == 0 || n <= PIPE_BUF && room < n {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(n.min(room))
                    };
                    let got = write(&mut pipes, id, &data);
                    prop_assert_eq!(got, expect);
                    if let Ok(k) = got {
                        model.extend(&data[..k]);
                    }
                }
                Op::Read(n) => {
                    let got = read(&mut pipes, id, n);
                    if model.is_empty() && n > 0 {
                        prop_assert_eq!(got, Err(Errno::EAGAIN));
                    } else {
                        let k = n.min(model.len());
                        let expect: Vec<u8> = model.drain(..k).collect();
                        prop_assert_eq!(got, Ok(expect));
                    }
                }
            }
            let pages = pipes.usage().pages;
            prop_assert_eq!(pages, pipes.store.in_use);
            prop_assert!(pages <= model.len().div_ceil(PAGE_SIZE) + 1);
            prop_assert_eq!(pipes.stat(id).st_size as usize, model.len());
        }
        let _ = pipes.release(id, End::Write);
        let rest = read(&mut pipes, id, PIPE_CAPACITY).unwrap();
        prop_assert_eq!(rest, model.drain(..).collect::<Vec<u8>>());
        prop_assert_eq!(read(&mut pipes, id, 1).unwrap(), b"");
        let _ = pipes.release(id, End::Read);
        prop_assert_eq!(pipes.store.in_use, 0);
    }
}
