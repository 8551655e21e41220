//! Named pipes (FIFOs), as POSIX and Linux have them: a FIFO node of the
//! file system ([`crate::fs`], made by `mknod`) whose openers share one
//! pipe ([`crate::pipe`]). The node remembers the pipe while any end of it
//! is open ([`Fs::fifo_pipe`]); the first opener makes it, and once every
//! end is closed the pipe, with whatever it still held, is gone: the next
//! open makes a new one.
//!
//! An open makes an open-file description of the node (its access mode
//! and status flags, `O_NONBLOCK` among them, are the description's, as
//! `fstat` is the node's) and takes the pipe ends its access mode says:
//! the read end (`O_RDONLY`), the write end (`O_WRONLY`) or both
//! (`O_RDWR`). Whether it waits ([`step`]), as Linux:
//! - `O_RDONLY` waits until a writer has opened the FIFO, unless one has
//!   it open now or the open is `O_NONBLOCK`;
//! - `O_WRONLY` waits until a reader has opened it, unless one has it open
//!   now; with `O_NONBLOCK` and no reader it fails: ENXIO;
//! - `O_RDWR` never waits.
//!
//! A waiting opener already holds its end (so a non-blocking writer sees
//! a reader waiting as a reader, as on Linux) and waits for the other
//! end's count of opens ([`Pipes::opens`]) to move, so a partner that
//! opens and closes again before the waiter runs still releases it.
//! Reads, writes, `poll`, end of file and EPIPE are then the pipe's.

use crate::fs::{Cred, Fs, OfdId};
use crate::io::PageStore;
use crate::pipe::{End, PipeId, Pipes, Wake};
use abi::Errno;
use abi::fs::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY};

/// The ends of its pipe an open of a FIFO holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    Both,
}

impl Access {
    /// The access an `open` with `flags` asks for (valid flags: `O_RDONLY`,
    /// `O_WRONLY` or `O_RDWR`).
    pub fn of_flags(flags: u32) -> Access {
        match flags & O_ACCMODE {
            O_RDONLY => Access::Read,
            O_WRONLY => Access::Write,
            _ => Access::Both,
        }
    }

    /// The pipe ends it holds.
    pub fn ends(self) -> &'static [End] {
        match self {
            Access::Read => &[End::Read],
            Access::Write => &[End::Write],
            Access::Both => &[End::Read, End::Write],
        }
    }
}

/// An open FIFO, as a descriptor names it: its description and the ends
/// of its pipe it holds (one reference each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fifo {
    pub ofd: OfdId,
    pub pipe: PipeId,
    pub access: Access,
}

/// What an open of a FIFO does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// It completes.
    Open,
    /// It waits for the other side to open.
    Wait,
    /// ENXIO: a non-blocking write-only open with no reader.
    NoReader,
}

/// The decision of the module documentation, for an open with `access`,
/// non-blocking or not, while some reader (`readers`) or writer
/// (`writers`) holds the FIFO open (waiting openers included).
pub fn step(access: Access, nonblock: bool, readers: bool, writers: bool) -> Step {
    match access {
        Access::Both => Step::Open,
        Access::Read if writers || nonblock => Step::Open,
        Access::Write if readers => Step::Open,
        Access::Write if nonblock => Step::NoReader,
        Access::Read | Access::Write => Step::Wait,
    }
}

/// An opener that waits: it holds its end already, and waits at it for
/// the other end's opens to move past `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub at: End,
    pub since: u64,
}

impl Waiting {
    /// Whether the other side has opened since the wait began.
    pub fn partner_came<S: PageStore>(self, pipes: &Pipes<S>, fifo: Fifo) -> bool {
        let other = match self.at {
            End::Read => End::Write,
            End::Write => End::Read,
        };
        pipes.opens(fifo.pipe, other) != self.since
    }
}

impl Fifo {
    /// Opens the FIFO whose new description `open` made is `ofd`, as
    /// `flags` say: takes the node's pipe (a new one, owned by `owner`, if
    /// it has none) and the ends the access asks for; `wake` gets the
    /// wakeups due (the other side's waiters). The open holds one
    /// reference to the description (the one `open` made) and to each of
    /// its ends; with [`Waiting`] it must wait before it completes.
    /// Errors (the description is released, nothing else changed): ENXIO
    /// ([`Step::NoReader`]), ENFILE (no pipe left).
    pub fn open<S: PageStore, D: Copy>(
        fs: &mut Fs<S, D>,
        pipes: &mut Pipes<S>,
        ofd: OfdId,
        flags: u32,
        owner: Cred,
        mut wake: impl FnMut(PipeId, Wake),
    ) -> Result<(Fifo, Option<Waiting>), Errno> {
        let access = Access::of_flags(flags);
        let existing = fs.fifo_pipe(ofd);
        let held = |end| existing.is_some_and(|id| pipes.is_held(id, end));
        let decision = step(
            access,
            flags & O_NONBLOCK != 0,
            held(End::Read),
            held(End::Write),
        );
        let pipe = match (decision, existing) {
            (Step::NoReader, _) => Err(Errno::ENXIO),
            (_, Some(id)) => Ok(id),
            (_, None) => pipes.create_unopened(owner),
        };
        let pipe = match pipe {
            Ok(id) => id,
            Err(e) => {
                fs.release(ofd);
                return Err(e);
            }
        };
        fs.set_fifo_pipe(ofd, Some(pipe));
        for &end in access.ends() {
            wake(pipe, pipes.open_end(pipe, end));
        }
        let fifo = Fifo { ofd, pipe, access };
        let waiting = (decision == Step::Wait).then(|| {
            let at = access.ends()[0];
            let other = match at {
                End::Read => End::Write,
                End::Write => End::Read,
            };
            Waiting {
                at,
                since: pipes.opens(pipe, other),
            }
        });
        Ok((fifo, waiting))
    }

    /// One more reference (a descriptor, or a thread blocked on it).
    pub fn retain<S: PageStore, D: Copy>(self, fs: &mut Fs<S, D>, pipes: &mut Pipes<S>) {
        fs.retain(self.ofd);
        for &end in self.access.ends() {
            pipes.retain(self.pipe, end);
        }
    }

    /// One reference fewer; `wake` gets the wakeups due (the last of a
    /// side gone). When the pipe goes with it, the node forgets it.
    pub fn release<S: PageStore, D: Copy>(
        self,
        fs: &mut Fs<S, D>,
        pipes: &mut Pipes<S>,
        mut wake: impl FnMut(PipeId, Wake),
    ) {
        for &end in self.access.ends() {
            wake(self.pipe, pipes.release(self.pipe, end));
        }
        if !pipes.exists(self.pipe) {
            fs.set_fifo_pipe(self.ofd, None);
        }
        fs.release(self.ofd);
    }
}

#[cfg(test)]
mod tests;
