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
//! - write: EPIPE when no read end is left (the Linux personality then
//!   sends the writer SIGPIPE); a write of at most
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

impl PipeId {
    /// The other pipe of a pair [`Pipes::create_pair`] made.
    pub const fn partner(self) -> PipeId {
        PipeId(self.0 ^ 1)
    }
}

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

/// What `poll` sees of a pipe: whether a read or a write would go ahead
/// without blocking, and whether the other side is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Readiness {
    /// A read goes ahead: bytes are queued, or no write end is left.
    pub readable: bool,
    /// A write of [`PIPE_BUF`] bytes goes ahead (or fails at once, with no
    /// read end left).
    pub writable: bool,
    /// No write end is left (`POLLHUP` at the read end).
    pub hangup: bool,
    /// No read end is left (`POLLERR` at the write end).
    pub broken: bool,
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
    /// Shut down (a socket's `shutdown`): the end acts as closed for the
    /// other side, and for its own holders (reads see end of file once
    /// empty, writes EPIPE), while its references stay counted.
    shut: bool,
    /// Times the end was opened as a FIFO's ([`Pipes::open_end`]), which
    /// an opener waiting for this side watches.
    opens: u64,
}

impl EndState {
    /// No holder can use it any more.
    fn closed(&self) -> bool {
        self.refs == 0 || self.shut
    }
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
        self.insert(id, owner, nonblock);
        Ok(id)
    }

    /// Two new pipes, each the other's [`PipeId::partner`] (a socket pair
    /// is made of them), as [`Pipes::create`] makes them; the first's id.
    /// ENFILE unless both fit.
    pub fn create_pair(&mut self, owner: Cred, nonblock: bool) -> Result<PipeId, Errno> {
        if self.pipes.len() + 2 > self.max_pipes {
            return Err(Errno::ENFILE);
        }
        // An even id and the odd one after it.
        let first = PipeId(self.next_id.next_multiple_of(2));
        self.next_id = first.0 + 2;
        self.insert(first, owner, nonblock);
        self.insert(first.partner(), owner, nonblock);
        Ok(first)
    }

    /// Stores an empty pipe `id` with one reference to each end.
    fn insert(&mut self, id: PipeId, owner: Cred, nonblock: bool) {
        let end = EndState {
            refs: 1,
            nonblock,
            shut: false,
            opens: 0,
        };
        let pipe = Pipe {
            slots: core::array::from_fn(|_| None),
            head: 0,
            len: 0,
            ends: [end; 2],
            owner,
        };
        self.pipes.insert(id, pipe);
    }

    /// A named pipe's (a FIFO's) pipe: like [`Pipes::create`] but with no
    /// end open yet; each opener opens its ends with [`Pipes::open_end`]
    /// (so the pipe goes with the last end released). Errors: ENFILE.
    pub fn create_unopened(&mut self, owner: Cred) -> Result<PipeId, Errno> {
        let id = self.create(owner, false)?;
        self.pipe_mut(id).ends.iter_mut().for_each(|e| e.refs = 0);
        Ok(id)
    }

    /// A FIFO's opener takes `end` of `id`: one more reference to it,
    /// counted as an open; returns whom to wake: the threads parked at
    /// the other side (an opener waiting for this side among them).
    pub fn open_end(&mut self, id: PipeId, end: End) -> Wake {
        let state = self.pipe_mut(id).end(end);
        state.refs += 1;
        state.opens += 1;
        match end {
            End::Read => Wake::Writers,
            End::Write => Wake::Readers,
        }
    }

    /// How many times `end` of `id` was opened by [`Pipes::open_end`].
    pub fn opens(&self, id: PipeId, end: End) -> u64 {
        self.pipe(id).ends[end as usize].opens
    }

    /// Whether any reference to `end` of `id` is held.
    pub fn is_held(&self, id: PipeId, end: End) -> bool {
        self.pipe(id).ends[end as usize].refs > 0
    }

    /// Whether pipe `id` still exists (the last release of both ends frees it).
    pub fn exists(&self, id: PipeId) -> bool {
        self.pipes.contains_key(&id)
    }

    /// Counts one more descriptor naming `end` of `id`.
    pub fn retain(&mut self, id: PipeId, end: End) {
        self.pipe_mut(id).end(end).refs += 1;
    }

    /// Drops a descriptor naming `end` of `id`. When the last of a side
    /// goes, the other side's parked threads must wake (end of file or
    /// EPIPE); when both sides are gone the pipe and its pages go.
    #[inline(always)]
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

    /// Shuts `end` of `id` down (a socket's `shutdown`): reads at the read
    /// end see end of file once it is empty, writes at the write end fail
    /// with EPIPE, whichever end was shut; its references stay counted.
    /// True when it was not shut before: the threads parked at either end
    /// must wake to see it.
    pub fn shutdown(&mut self, id: PipeId, end: End) -> bool {
        let state = self.pipe_mut(id).end(end);
        !core::mem::replace(&mut state.shut, true)
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
            let [read, write] = &pipe.ends;
            return if read.shut || write.closed() || sink.remaining() == 0 {
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
        let [read, write] = &pipe.ends;
        if read.closed() || write.shut {
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

    /// What `poll` sees of pipe `id`.
    pub fn readiness(&self, id: PipeId) -> Readiness {
        let pipe = self.pipe(id);
        let [read, write] = pipe.ends;
        let hangup = write.closed();
        let broken = read.closed();
        Readiness {
            readable: pipe.len > 0 || hangup || read.shut,
            writable: PIPE_CAPACITY - pipe.len >= PIPE_BUF || broken || write.shut,
            hangup,
            broken,
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
mod tests;
