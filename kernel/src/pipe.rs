//! Pipes: a bounded byte queue from a write end to a read end, kept in
//! pages of a [`PageStore`] that are taken as data arrives and given back
//! as it is read (one page stays while the pipe lives, so a ping-pong of
//! small messages allocates nothing).
//!
//! A pipe has exactly two open-file descriptions, its ends; each counts the
//! descriptors naming it ([`Pipes::retain`], [`Pipes::release`]) and keeps
//! its own `O_NONBLOCK`. Semantics (POSIX, with Linux's `PIPE_BUF`):
//! - read: the bytes queued, up to what the sink takes; 0 (end of file)
//!   when empty and no write end is left; EAGAIN when empty with a writer.
//! - write: EPIPE when no read end is left (there are no signals, so no
//!   SIGPIPE: the error is all a writer gets); a write of at most
//!   [`PIPE_BUF`] bytes is atomic (all of it, or EAGAIN while the room is
//!   short); a larger one writes what fits (EAGAIN if nothing does).
//!
//! # What the kernel does
//! EAGAIN means "would block". On a blocking end the kernel parks the
//! thread on the pipe's readers or writers and retries when woken; a
//! blocking write of more than `PIPE_BUF` bytes goes on (parking as
//! needed) until all is written or EPIPE comes, and returns the count so
//! far. Every call returns whom to wake ([`Wake`]): the other side's
//! parked threads, which may now progress. A parked thread must hold a
//! reference to its end (retained before parking, released after) so the
//! pipe cannot vanish under it, as Linux's blocked calls hold their file.

use crate::fs::Cred;
use crate::io::{PAGE_SIZE, PageStore, Sink, Source};
use abi::Errno;
use abi::fs::{O_NONBLOCK, O_RDONLY, O_WRONLY, PIPE_BUF, S_IFIFO, Stat, makedev};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Bytes a pipe holds at most.
pub const PIPE_CAPACITY: usize = 64 * 1024;
const SLOTS: usize = PIPE_CAPACITY / PAGE_SIZE;

/// The device number `st_dev` reports for pipes.
pub const PIPE_DEV: u64 = makedev(0, 2);

/// Names a pipe. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipeId(u64);

/// One end of a pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    Read,
    Write,
}

/// Threads to wake after a pipe call: those parked on the pipe's read or
/// write end, which may now make progress.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wake {
    Nobody,
    /// Data arrived, or the last write end went (end of file).
    Readers,
    /// Room was made, or the last read end went (EPIPE).
    Writers,
}

/// What a read or write moved.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    pub bytes: usize,
    pub wake: Wake,
}

/// What the pipes hold now (for the kernel's leak check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipeUsage {
    pub pipes: usize,
    pub pages: usize,
}

#[derive(Clone, Copy)]
struct EndState {
    refs: u32,
    nonblock: bool,
}

struct Pipe<P> {
    /// The ring's pages; slot `i` holds ring bytes `i * PAGE_SIZE..`.
    slots: [Option<P>; SLOTS],
    /// Ring position of the first unread byte.
    head: usize,
    /// Unread bytes.
    len: usize,
    ends: [EndState; 2],
    owner: Cred,
}

impl<P> Pipe<P> {
    fn end(&mut self, end: End) -> &mut EndState {
        &mut self.ends[end as usize]
    }

    /// Whether slot `slot` holds unread bytes.
    fn live(&self, slot: usize) -> bool {
        let start = slot * PAGE_SIZE;
        self.len > 0
            && (self.head / PAGE_SIZE == slot
                || (start + PIPE_CAPACITY - self.head) % PIPE_CAPACITY < self.len)
    }

    /// The slots a write of `n` bytes fills that have no page yet.
    fn missing_slots(&self, n: usize) -> Vec<usize> {
        let tail = (self.head + self.len) % PIPE_CAPACITY;
        let mut slots = Vec::new();
        let mut at = 0;
        while at < n {
            let slot = (tail + at) % PIPE_CAPACITY / PAGE_SIZE;
            if self.slots[slot].is_none() && !slots.contains(&slot) {
                slots.push(slot);
            }
            at += PAGE_SIZE - (tail + at) % PAGE_SIZE;
        }
        slots
    }
}

/// Every pipe, their pages, and the bound on how many exist.
pub struct Pipes<S: PageStore> {
    store: S,
    pipes: BTreeMap<PipeId, Pipe<S::Page>>,
    next_id: u64,
    max_pipes: usize,
    pages: usize,
}

impl<S: PageStore> Pipes<S> {
    /// No pipes yet; at most `max_pipes` at once (so at most
    /// `max_pipes * PIPE_CAPACITY` bytes of pages).
    pub fn new(store: S, max_pipes: usize) -> Self {
        Pipes {
            store,
            pipes: BTreeMap::new(),
            next_id: 1,
            max_pipes,
            pages: 0,
        }
    }

    fn pipe(&self, id: PipeId) -> &Pipe<S::Page> {
        self.pipes.get(&id).expect("unknown pipe")
    }

    fn pipe_mut(&mut self, id: PipeId) -> &mut Pipe<S::Page> {
        self.pipes.get_mut(&id).expect("unknown pipe")
    }

    /// `pipe()`: a new pipe with one reference to each end, both
    /// `O_NONBLOCK` if `nonblock`. ENFILE when `max_pipes` exist (the
    /// system-wide limit; no memory is taken until data is written).
    pub fn create(&mut self, owner: Cred, nonblock: bool) -> Result<PipeId, Errno> {
        if self.pipes.len() >= self.max_pipes {
            return Err(Errno::ENFILE);
        }
        let id = PipeId(self.next_id);
        self.next_id += 1;
        let end = EndState { refs: 1, nonblock };
        let pipe = Pipe {
            slots: core::array::from_fn(|_| None),
            head: 0,
            len: 0,
            ends: [end; 2],
            owner,
        };
        self.pipes.insert(id, pipe);
        Ok(id)
    }

    /// Counts one more descriptor naming `end` of `id`.
    pub fn retain(&mut self, id: PipeId, end: End) {
        self.pipe_mut(id).end(end).refs += 1;
    }

    /// Drops a descriptor naming `end` of `id`. When the last of a side
    /// goes, the other side's parked threads must wake (end of file or
    /// EPIPE); when both sides are gone the pipe and its pages go.
    pub fn release(&mut self, id: PipeId, end: End) -> Wake {
        let pipe = self.pipe_mut(id);
        let state = pipe.end(end);
        state.refs = state
            .refs
            .checked_sub(1)
            .expect("pipe end released more than retained");
        if state.refs > 0 {
            return Wake::Nobody;
        }
        if pipe.ends.iter().all(|e| e.refs == 0) {
            let pipe = self.pipes.remove(&id).expect("unknown pipe");
            for page in pipe.slots.into_iter().flatten() {
                self.store.free(page);
                self.pages -= 1;
            }
            return Wake::Nobody;
        }
        match end {
            End::Read => Wake::Writers,
            End::Write => Wake::Readers,
        }
    }

    /// `read` from the read end (see the module documentation). Errors:
    /// EAGAIN (empty, a write end is open).
    pub fn read(&mut self, id: PipeId, sink: &mut impl Sink) -> Result<Moved, Errno> {
        let Pipes {
            store,
            pipes,
            pages,
            ..
        } = self;
        let pipe = pipes.get_mut(&id).expect("unknown pipe");
        if pipe.len == 0 {
            return if pipe.ends[End::Write as usize].refs == 0 || sink.remaining() == 0 {
                Ok(Moved {
                    bytes: 0,
                    wake: Wake::Nobody,
                })
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = pipe.len.min(sink.remaining());
        let mut done = 0;
        while done < n {
            let within = pipe.head % PAGE_SIZE;
            let chunk = (PAGE_SIZE - within).min(n - done);
            let page = pipe.slots[pipe.head / PAGE_SIZE]
                .as_ref()
                .expect("unread bytes without a page");
            sink.put(&store.bytes(page)[within..within + chunk]);
            pipe.head = (pipe.head + chunk) % PIPE_CAPACITY;
            pipe.len -= chunk;
            done += chunk;
        }
        if pipe.len == 0 {
            // Start over at slot 0, keeping one page there for the next write.
            pipe.head = 0;
            if let Some(held) = pipe.slots.iter().position(Option::is_some) {
                pipe.slots.swap(0, held);
            }
        }
        for slot in 0..SLOTS {
            let keep = pipe.live(slot) || pipe.len == 0 && slot == 0;
            if !keep && let Some(page) = pipe.slots[slot].take() {
                store.free(page);
                *pages -= 1;
            }
        }
        Ok(Moved {
            bytes: n,
            wake: if n > 0 { Wake::Writers } else { Wake::Nobody },
        })
    }

    /// `write` to the write end (see the module documentation). Errors:
    /// EPIPE (no read end), EAGAIN (no room), ENOMEM (the store has no
    /// page; nothing is written).
    pub fn write(&mut self, id: PipeId, source: &mut impl Source) -> Result<Moved, Errno> {
        let want = source.remaining();
        let pipe = self.pipe(id);
        if want == 0 {
            return Ok(Moved {
                bytes: 0,
                wake: Wake::Nobody,
            });
        }
        if pipe.ends[End::Read as usize].refs == 0 {
            return Err(Errno::EPIPE);
        }
        let room = PIPE_CAPACITY - pipe.len;
        if room == 0 || want <= PIPE_BUF && room < want {
            return Err(Errno::EAGAIN);
        }
        let n = want.min(room);
        let missing = pipe.missing_slots(n);
        let mut fresh = Vec::with_capacity(missing.len());
        for _ in &missing {
            match self.store.alloc() {
                Some(page) => fresh.push(page),
                None => {
                    for page in fresh {
                        self.store.free(page);
                    }
                    return Err(Errno::ENOMEM);
                }
            }
        }
        self.pages += fresh.len();
        let Pipes { store, pipes, .. } = self;
        let pipe = pipes.get_mut(&id).expect("unknown pipe");
        for (slot, page) in missing.into_iter().zip(fresh) {
            pipe.slots[slot] = Some(page);
        }
        let mut at = (pipe.head + pipe.len) % PIPE_CAPACITY;
        let mut done = 0;
        while done < n {
            let within = at % PAGE_SIZE;
            let chunk = (PAGE_SIZE - within).min(n - done);
            let page = pipe.slots[at / PAGE_SIZE]
                .as_ref()
                .expect("page just provided");
            source.take(&mut store.bytes_mut(page)[within..within + chunk]);
            at = (at + chunk) % PIPE_CAPACITY;
            done += chunk;
        }
        pipe.len += n;
        Ok(Moved {
            bytes: n,
            wake: Wake::Readers,
        })
    }

    /// The access mode and status flags of `end` (`fcntl(F_GETFL)`).
    pub fn status_flags(&self, id: PipeId, end: End) -> u32 {
        let access = match end {
            End::Read => O_RDONLY,
            End::Write => O_WRONLY,
        };
        let nonblock = self.pipe(id).ends[end as usize].nonblock;
        access | if nonblock { O_NONBLOCK } else { 0 }
    }

    /// Sets `O_NONBLOCK` of `end` as `flags` has it (other bits are
    /// ignored, as Linux's `fcntl(F_SETFL)` does).
    pub fn set_status_flags(&mut self, id: PipeId, end: End, flags: u32) {
        self.pipe_mut(id).end(end).nonblock = flags & O_NONBLOCK != 0;
    }

    /// `fstat` of either end: a FIFO (0600, its creator's) whose size is
    /// the bytes queued (as illumos reports), timestamps 0.
    pub fn stat(&self, id: PipeId) -> Stat {
        let pipe = self.pipe(id);
        Stat {
            st_dev: PIPE_DEV,
            st_ino: id.0,
            st_nlink: 1,
            st_mode: S_IFIFO | 0o600,
            st_uid: pipe.owner.euid,
            st_gid: pipe.owner.egid,
            st_size: pipe.len as i64,
            st_blksize: PIPE_BUF as i64,
            ..Stat::default()
        }
    }

    /// What the pipes hold now.
    pub fn usage(&self) -> PipeUsage {
        PipeUsage {
            pipes: self.pipes.len(),
            pages: self.pages,
        }
    }
}

#[cfg(test)]
mod tests {
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
}
