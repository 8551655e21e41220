//! Tests of FIFO opens over the real file system and pipes: the decision
//! table, waits that a partner's open ends (even one already closed),
//! errors that leave nothing behind, and a property test of opens, closes
//! (waiting opens given up among them), reads, writes, removal and
//! re-creation against a model of each FIFO's readers, writers, waiters
//! and bytes.

use super::*;
use crate::fs::{Limits, Opened};
use crate::io::testing::VecStore;
use abi::fs::{O_RDWR, S_IFIFO};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

type TestFs = Fs<VecStore, u32>;

const ALICE: Cred = Cred {
    euid: 1000,
    egid: 100,
};
const PATH: &[u8] = b"/tmp/fifo";

/// What [`Fifo::open`] returns.
type Opening = Result<(Fifo, Option<Waiting>), Errno>;

fn world(max_pipes: usize) -> (TestFs, Pipes<VecStore>) {
    let limits = Limits {
        max_pages: 64,
        max_nodes: 64,
        max_ofds: 64,
    };
    let mut fs = Fs::new(VecStore::default(), limits);
    let root = fs.root();
    fs.mknod(ALICE, root, PATH, S_IFIFO | 0o600).unwrap();
    (fs, Pipes::new(VecStore::default(), max_pipes))
}

/// Opens the FIFO at [`PATH`] as `flags` say; the wakeups it caused.
fn open(fs: &mut TestFs, pipes: &mut Pipes<VecStore>, flags: u32) -> (Opening, Vec<Wake>) {
    let root = fs.root();
    let Ok(Opened::Fifo(ofd)) = fs.open(ALICE, root, PATH, flags, 0) else {
        panic!("no FIFO at {PATH:?}");
    };
    let mut wakes = Vec::new();
    let opened = Fifo::open(fs, pipes, ofd, flags, ALICE, |_, wake| wakes.push(wake));
    (opened, wakes)
}

fn close(fs: &mut TestFs, pipes: &mut Pipes<VecStore>, fifo: Fifo) -> Vec<Wake> {
    let mut wakes = Vec::new();
    fifo.release(fs, pipes, |_, wake| wakes.push(wake));
    wakes.retain(|&w| w != Wake::Nobody);
    wakes
}

#[test]
fn the_decisions_are_linuxs() {
    use Access::*;
    // (access, nonblock, a reader, a writer) -> step
    let cases = [
        (Read, false, false, false, Step::Wait),
        (Read, false, true, false, Step::Wait),
        (Read, false, false, true, Step::Open),
        (Read, true, false, false, Step::Open),
        (Write, false, false, false, Step::Wait),
        (Write, false, false, true, Step::Wait),
        (Write, false, true, false, Step::Open),
        (Write, true, false, false, Step::NoReader),
        (Write, true, false, true, Step::NoReader),
        (Write, true, true, false, Step::Open),
        (Both, false, false, false, Step::Open),
        (Both, true, false, false, Step::Open),
    ];
    for (access, nonblock, readers, writers, expected) in cases {
        assert_eq!(
            step(access, nonblock, readers, writers),
            expected,
            "{access:?} nonblock {nonblock} readers {readers} writers {writers}"
        );
    }
    assert_eq!(Access::of_flags(O_RDONLY | O_NONBLOCK), Read);
    assert_eq!(Access::of_flags(O_WRONLY), Write);
    assert_eq!(Access::of_flags(O_RDWR), Both);
}

#[test]
fn a_waiting_reader_is_released_by_a_writer_that_came_and_went() {
    let (mut fs, mut pipes) = world(4);
    let (opened, wakes) = open(&mut fs, &mut pipes, O_RDONLY);
    let (reader, Some(waiting)) = opened.unwrap() else {
        panic!("a reader without a writer waits");
    };
    assert_eq!(wakes, [Wake::Writers]);
    assert_eq!(waiting.at, End::Read);
    assert!(!waiting.partner_came(&pipes, reader));
    // A non-blocking writer sees the waiting reader, and wakes it.
    let (opened, wakes) = open(&mut fs, &mut pipes, O_WRONLY | O_NONBLOCK);
    let (writer, None) = opened.unwrap() else {
        panic!("a writer with a reader opens at once");
    };
    assert_eq!((writer.pipe, wakes), (reader.pipe, vec![Wake::Readers]));
    assert_eq!(close(&mut fs, &mut pipes, writer), [Wake::Readers]);
    assert!(waiting.partner_came(&pipes, reader));
    assert_eq!(close(&mut fs, &mut pipes, reader), []);
    assert_eq!(pipes.usage().pipes, 0);
    assert_eq!(fs.usage().ofds, 0);
}

#[test]
fn errors_release_the_description_and_make_no_pipe() {
    let (mut fs, mut pipes) = world(1);
    let (opened, wakes) = open(&mut fs, &mut pipes, O_WRONLY | O_NONBLOCK);
    assert_eq!((opened, wakes), (Err(Errno::ENXIO), vec![]));
    assert_eq!((fs.usage().ofds, pipes.usage().pipes), (0, 0));
    let taken = pipes.create(ALICE, false).unwrap();
    let (opened, _) = open(&mut fs, &mut pipes, O_RDWR);
    assert_eq!(opened, Err(Errno::ENFILE));
    assert_eq!((fs.usage().ofds, pipes.usage().pipes), (0, 1));
    let _ = pipes.release(taken, End::Read);
    let _ = pipes.release(taken, End::Write);
}

#[test]
fn the_bytes_go_with_the_last_end_and_the_next_open_gets_a_new_pipe() {
    let (mut fs, mut pipes) = world(4);
    let (opened, _) = open(&mut fs, &mut pipes, O_RDWR);
    let (both, None) = opened.unwrap() else {
        panic!("O_RDWR never waits");
    };
    let moved = pipes.write(both.pipe, &mut &b"stale"[..]).unwrap();
    assert_eq!(moved.bytes, 5);
    assert_eq!(pipes.usage().pages, 1);
    close(&mut fs, &mut pipes, both);
    assert_eq!(pipes.usage(), crate::pipe::PipeUsage { pipes: 0, pages: 0 });
    let (opened, _) = open(&mut fs, &mut pipes, O_RDWR | O_NONBLOCK);
    let (again, None) = opened.unwrap() else {
        panic!("O_RDWR never waits");
    };
    assert_ne!(again.pipe, both.pipe);
    let mut buf = [0; 8];
    assert_eq!(
        pipes.read(again.pipe, &mut &mut buf[..]),
        Err(Errno::EAGAIN)
    );
    close(&mut fs, &mut pipes, again);
}

#[derive(Clone, Debug)]
enum Op {
    Open {
        flags: u32,
    },
    /// Closes handle `k` (a waiting open is given up).
    Close {
        k: usize,
    },
    Write {
        k: usize,
        len: usize,
    },
    Read {
        k: usize,
        len: usize,
    },
    /// Removes the name (open handles keep their FIFO), or makes it again.
    Rename {
        remove: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let flags = prop_oneof![
        Just(O_RDONLY),
        Just(O_WRONLY),
        Just(O_RDWR),
        Just(O_RDONLY | O_NONBLOCK),
        Just(O_WRONLY | O_NONBLOCK),
    ];
    let k = 0..8usize;
    prop_oneof![
        4 => flags.prop_map(|flags| Op::Open { flags }),
        3 => k.clone().prop_map(|k| Op::Close { k }),
        2 => (k.clone(), 1..300usize).prop_map(|(k, len)| Op::Write { k, len }),
        2 => (k, 1..300usize).prop_map(|(k, len)| Op::Read { k, len }),
        1 => any::<bool>().prop_map(|remove| Op::Rename { remove }),
    ]
}

/// The model of one FIFO node: its holders (waiting ones included) and
/// the bytes its pipe holds.
#[derive(Default)]
struct Node {
    readers: usize,
    writers: usize,
    bytes: VecDeque<u8>,
}

/// A handle: its FIFO, its node in the model, and whether it waits
/// (for the other side's opens to pass `since`) and was released.
struct Handle {
    fifo: Fifo,
    node: usize,
    waiting: Option<(Waiting, bool)>,
}

struct Run {
    fs: TestFs,
    pipes: Pipes<VecStore>,
    nodes: Vec<Node>,
    /// The node the path names, if any.
    named: Option<usize>,
    handles: Vec<Handle>,
    next_byte: u8,
}

impl Run {
    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Open { flags } => {
                let Some(n) = self.named else {
                    let root = self.fs.root();
                    prop_assert_eq!(
                        self.fs.open(ALICE, root, PATH, flags, 0),
                        Err(Errno::ENOENT)
                    );
                    return Ok(());
                };
                let access = Access::of_flags(flags);
                let node = &mut self.nodes[n];
                let expected = step(
                    access,
                    flags & O_NONBLOCK != 0,
                    node.readers > 0,
                    node.writers > 0,
                );
                let (opened, wakes) = open(&mut self.fs, &mut self.pipes, flags);
                if expected == Step::NoReader {
                    prop_assert_eq!(opened, Err(Errno::ENXIO));
                    return Ok(());
                }
                let (fifo, waiting) = opened.unwrap();
                prop_assert_eq!(waiting.is_some(), expected == Step::Wait);
                prop_assert_eq!(wakes.len(), access.ends().len());
                if node.readers + node.writers == 0 {
                    node.bytes.clear();
                }
                for end in access.ends() {
                    match end {
                        End::Read => node.readers += 1,
                        End::Write => node.writers += 1,
                    }
                }
                // An open of a side releases the other side's waiters.
                for h in &mut self.handles {
                    if let Some((w, released)) = &mut h.waiting
                        && h.node == n
                        && access.ends().iter().any(|&end| end != w.at)
                    {
                        *released = true;
                    }
                }
                self.handles.push(Handle {
                    fifo,
                    node: n,
                    waiting: waiting.map(|w| (w, false)),
                });
            }
            Op::Close { k } => {
                if k >= self.handles.len() {
                    return Ok(());
                }
                let h = self.handles.remove(k);
                close(&mut self.fs, &mut self.pipes, h.fifo);
                let node = &mut self.nodes[h.node];
                for end in h.fifo.access.ends() {
                    match end {
                        End::Read => node.readers -= 1,
                        End::Write => node.writers -= 1,
                    }
                }
            }
            Op::Write { k, len } => {
                let Some(h) = self.handles.get(k) else {
                    return Ok(());
                };
                if h.waiting.is_some() || h.fifo.access == Access::Read {
                    return Ok(());
                }
                let bytes: Vec<u8> = (0..len)
                    .map(|i| self.next_byte.wrapping_add(i as u8))
                    .collect();
                self.next_byte = self.next_byte.wrapping_add(len as u8);
                let node = &mut self.nodes[h.node];
                let wrote = self.pipes.write(h.fifo.pipe, &mut &bytes[..]);
                if node.readers == 0 {
                    prop_assert_eq!(wrote, Err(Errno::EPIPE));
                } else {
                    prop_assert_eq!(wrote.map(|m| m.bytes), Ok(len));
                    node.bytes.extend(bytes);
                }
            }
            Op::Read { k, len } => {
                let Some(h) = self.handles.get(k) else {
                    return Ok(());
                };
                if h.waiting.is_some() || h.fifo.access == Access::Write {
                    return Ok(());
                }
                let node = &mut self.nodes[h.node];
                let mut buf = vec![0; len];
                let read = self
                    .pipes
                    .read(h.fifo.pipe, &mut &mut buf[..])
                    .map(|m| m.bytes);
                if node.bytes.is_empty() && node.writers > 0 {
                    prop_assert_eq!(read, Err(Errno::EAGAIN));
                } else {
                    let n = len.min(node.bytes.len());
                    let expected: Vec<u8> = node.bytes.drain(..n).collect();
                    prop_assert_eq!(read, Ok(n));
                    prop_assert_eq!(&buf[..n], &expected[..]);
                }
            }
            Op::Rename { remove } => {
                let root = self.fs.root();
                match (remove, self.named) {
                    (true, Some(_)) => {
                        self.fs.unlink(ALICE, root, PATH).unwrap();
                        self.named = None;
                    }
                    (false, None) => {
                        self.fs.mknod(ALICE, root, PATH, S_IFIFO | 0o600).unwrap();
                        self.nodes.push(Node::default());
                        self.named = Some(self.nodes.len() - 1);
                    }
                    _ => {}
                }
            }
        }
        self.check()
    }

    /// Waiters see their partner exactly when the model says it came, a
    /// handle whose partner came completes, and pipes exist exactly for
    /// the nodes someone holds.
    fn check(&mut self) -> Result<(), TestCaseError> {
        for h in &mut self.handles {
            if let Some((waiting, released)) = h.waiting {
                prop_assert_eq!(waiting.partner_came(&self.pipes, h.fifo), released);
                if released {
                    h.waiting = None;
                }
            }
        }
        let held = self
            .nodes
            .iter()
            .filter(|n| n.readers + n.writers > 0)
            .count();
        prop_assert_eq!(self.pipes.usage().pipes, held);
        Ok(())
    }
}

proptest! {
    #[test]
    fn fifo_opens_behave_like_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let (fs, pipes) = world(8);
        let mut run = Run {
            fs,
            pipes,
            nodes: vec![Node::default()],
            named: Some(0),
            handles: Vec::new(),
            next_byte: 0,
        };
        for op in &ops {
            run.step(op)?;
        }
        while !run.handles.is_empty() {
            run.step(&Op::Close { k: 0 })?;
        }
        prop_assert_eq!(run.pipes.usage(), crate::pipe::PipeUsage { pipes: 0, pages: 0 });
        prop_assert_eq!(run.fs.usage().ofds, 0);
        let named = usize::from(run.named.is_some());
        prop_assert_eq!(run.fs.usage().nodes, 7 + named);
    }
}
