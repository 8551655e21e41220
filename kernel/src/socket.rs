//! Stream sockets as `socketpair(AF_UNIX, SOCK_STREAM, 0)` makes them:
//! two connected ends, each reading what the other writes, bytes in order
//! with no message boundaries. A pair is two pipes, one each way
//! ([`crate::pipe`]): an end ([`Stream`]) holds the read end of the pipe
//! it receives on and the write end of the pipe it sends on, so reads,
//! writes, blocking, wakeups, `O_NONBLOCK` and the pages are the pipes'.
//! What a socket adds: one descriptor for both directions, `shutdown` of
//! either direction (the pipe end is shut, its references stay counted:
//! the peer reads end of file once the bytes sent are read, or gets EPIPE
//! writing), and its own type in `fstat` and `poll`.
//!
//! A descriptor naming an end is one reference to each of its two pipe
//! ends; closing the last one closes both directions for the peer.

use crate::fs::Cred;
use crate::io::PageStore;
use crate::pipe::{End, PIPE_DEV, PipeId, Pipes, Readiness};
use abi::Errno;
use abi::fs::{O_NONBLOCK, O_RDWR, PIPE_BUF, S_IFSOCK, Stat};
use abi::linux::socket::{SHUT_RD, SHUT_RDWR, SHUT_WR};

/// One end of a connected stream socket pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stream {
    /// The pipe it receives on (it holds the read end).
    pub rx: PipeId,
    /// The pipe it sends on (it holds the write end).
    pub tx: PipeId,
}

impl Stream {
    /// A connected pair of ends, each named by one reference, both
    /// `O_NONBLOCK` if `nonblock`. ENFILE when two more pipes do not fit
    /// (checked before either is made).
    pub fn pair<S: PageStore>(
        pipes: &mut Pipes<S>,
        owner: Cred,
        nonblock: bool,
    ) -> Result<(Stream, Stream), Errno> {
        if pipes.room() < 2 {
            return Err(Errno::ENFILE);
        }
        let there = pipes.create(owner, nonblock)?;
        let back = pipes.create(owner, nonblock)?;
        Ok((
            Stream {
                rx: back,
                tx: there,
            },
            Stream {
                rx: there,
                tx: back,
            },
        ))
    }

    /// The pipe end a read waits on, and the one a write waits on.
    pub const fn read_end(self) -> (PipeId, End) {
        (self.rx, End::Read)
    }

    pub const fn write_end(self) -> (PipeId, End) {
        (self.tx, End::Write)
    }

    /// Counts one more descriptor naming this end.
    pub fn retain<S: PageStore>(self, pipes: &mut Pipes<S>) {
        pipes.retain(self.rx, End::Read);
        pipes.retain(self.tx, End::Write);
    }

    /// `shutdown(how)`: the pipe ends it shuts (EINVAL for another `how`);
    /// the threads parked at either end of each must wake.
    pub fn shutdown<S: PageStore>(
        self,
        pipes: &mut Pipes<S>,
        how: u32,
    ) -> Result<impl Iterator<Item = PipeId>, Errno> {
        let (read, write) = match how {
            SHUT_RD => (true, false),
            SHUT_WR => (false, true),
            SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let rx = read && pipes.shutdown(self.rx, End::Read);
        let tx = write && pipes.shutdown(self.tx, End::Write);
        Ok([(rx, self.rx), (tx, self.tx)]
            .into_iter()
            .filter_map(|(shut, id)| shut.then_some(id)))
    }

    /// What `poll` sees, as Linux's: readable as its receiving pipe's
    /// read end (bytes, end of file, or its own reads shut), writable as
    /// its sending pipe's write end (a write with the peer gone fails at
    /// once); hung up (`POLLHUP`) once both directions are over (either end
    /// of each pipe closed or shut), never broken (no `POLLERR`).
    pub fn readiness<S: PageStore>(self, pipes: &Pipes<S>) -> Readiness {
        let rx = pipes.readiness(self.rx);
        let tx = pipes.readiness(self.tx);
        Readiness {
            readable: rx.readable,
            writable: tx.writable,
            hangup: (rx.hangup || rx.broken) && (tx.hangup || tx.broken),
            broken: false,
        }
    }

    /// Open for reading and writing; `O_NONBLOCK` as set.
    pub fn status_flags<S: PageStore>(self, pipes: &Pipes<S>) -> u32 {
        O_RDWR | pipes.status_flags(self.rx, End::Read) & O_NONBLOCK
    }

    /// Sets `O_NONBLOCK` as `flags` has it (for both directions).
    pub fn set_status_flags<S: PageStore>(self, pipes: &mut Pipes<S>, flags: u32) {
        pipes.set_status_flags(self.rx, End::Read, flags);
        pipes.set_status_flags(self.tx, End::Write, flags);
    }

    /// `fstat`: a socket (0777, as Linux's), its creator's, size 0.
    pub fn stat<S: PageStore>(self, pipes: &Pipes<S>) -> Stat {
        let rx = pipes.stat(self.rx);
        Stat {
            st_dev: PIPE_DEV,
            st_mode: S_IFSOCK | 0o777,
            st_size: 0,
            st_blksize: PIPE_BUF as i64,
            ..rx
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::testing::VecStore;
    use crate::pipe::Wake;
    use std::vec;
    use std::vec::Vec;

    const OWNER: Cred = Cred {
        euid: 100,
        egid: 200,
    };

    fn send(pipes: &mut Pipes<VecStore>, end: Stream, bytes: &[u8]) -> Result<usize, Errno> {
        pipes.write(end.tx, &mut &bytes[..]).map(|m| m.bytes)
    }

    fn recv(pipes: &mut Pipes<VecStore>, end: Stream, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0; len];
        let moved = pipes.read(end.rx, &mut &mut buf[..])?;
        buf.truncate(moved.bytes);
        Ok(buf)
    }

    #[test]
    fn each_end_reads_what_the_other_writes() {
        let mut pipes = Pipes::new(VecStore::default(), 4);
        let (a, b) = Stream::pair(&mut pipes, OWNER, false).unwrap();
        assert_eq!(send(&mut pipes, a, b"ping"), Ok(4));
        assert_eq!(send(&mut pipes, b, b"pong"), Ok(4));
        assert_eq!(recv(&mut pipes, b, 16).unwrap(), b"ping");
        assert_eq!(recv(&mut pipes, a, 16).unwrap(), b"pong");
        assert_eq!(recv(&mut pipes, a, 16), Err(Errno::EAGAIN));
        assert!(a.readiness(&pipes).writable && !a.readiness(&pipes).readable);
        assert_eq!(a.status_flags(&pipes), O_RDWR);
        a.set_status_flags(&mut pipes, O_NONBLOCK);
        assert_eq!(a.status_flags(&pipes), O_RDWR | O_NONBLOCK);
        assert_eq!(b.status_flags(&pipes), O_RDWR, "each end its own");
        assert_eq!(a.stat(&pipes).st_mode, S_IFSOCK | 0o777);
    }

    #[test]
    fn a_pair_needs_two_pipes() {
        let mut pipes = Pipes::new(VecStore::default(), 3);
        let _ = Stream::pair(&mut pipes, OWNER, false).unwrap();
        assert_eq!(Stream::pair(&mut pipes, OWNER, false), Err(Errno::ENFILE));
        assert_eq!(pipes.usage().pipes, 2, "nothing made when it fails");
    }

    #[test]
    fn shutting_a_direction_down() {
        let mut pipes = Pipes::new(VecStore::default(), 4);
        let (a, b) = Stream::pair(&mut pipes, OWNER, false).unwrap();
        assert_eq!(send(&mut pipes, a, b"last"), Ok(4));
        let shut: Vec<PipeId> = a.shutdown(&mut pipes, SHUT_WR).unwrap().collect();
        assert_eq!(shut, [a.tx]);
        assert_eq!(send(&mut pipes, a, b"x"), Err(Errno::EPIPE));
        assert_eq!(recv(&mut pipes, b, 16).unwrap(), b"last", "sent bytes stay");
        assert_eq!(recv(&mut pipes, b, 16).unwrap(), b"", "then end of file");
        assert!(b.readiness(&pipes).readable && !b.readiness(&pipes).hangup);
        assert_eq!(
            send(&mut pipes, b, b"still"),
            Ok(5),
            "the other way is open"
        );
        assert_eq!(a.shutdown(&mut pipes, SHUT_WR).unwrap().count(), 0, "once");
        assert_eq!(a.shutdown(&mut pipes, 3).err(), Some(Errno::EINVAL));

        let shut: Vec<PipeId> = a.shutdown(&mut pipes, SHUT_RD).unwrap().collect();
        assert_eq!(shut, [a.rx]);
        assert_eq!(
            recv(&mut pipes, a, 16).unwrap(),
            b"still",
            "queued bytes first"
        );
        assert_eq!(recv(&mut pipes, a, 16).unwrap(), b"", "then end of file");
        assert_eq!(send(&mut pipes, b, b"x"), Err(Errno::EPIPE), "nobody reads");
        assert!(a.readiness(&pipes).hangup && b.readiness(&pipes).hangup);
    }

    #[test]
    fn closing_an_end_ends_both_directions_for_the_peer() {
        let mut pipes = Pipes::new(VecStore::default(), 4);
        let (a, b) = Stream::pair(&mut pipes, OWNER, false).unwrap();
        a.retain(&mut pipes);
        assert_eq!(pipes.release(a.rx, End::Read), Wake::Nobody);
        assert_eq!(pipes.release(a.tx, End::Write), Wake::Nobody);
        assert_eq!(recv(&mut pipes, b, 1), Err(Errno::EAGAIN), "a dup remains");
        assert_eq!(pipes.release(a.rx, End::Read), Wake::Writers);
        assert_eq!(pipes.release(a.tx, End::Write), Wake::Readers);
        assert_eq!(recv(&mut pipes, b, 1).unwrap(), b"");
        assert_eq!(send(&mut pipes, b, b"x"), Err(Errno::EPIPE));
        assert!(b.readiness(&pipes).hangup);
        let _ = pipes.release(b.rx, End::Read);
        let _ = pipes.release(b.tx, End::Write);
        assert_eq!(pipes.usage().pipes, 0);
    }
}
