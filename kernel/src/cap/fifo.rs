//! Named pipes for a process ([`crate::fifo`]): `mknod`, and the open of
//! a FIFO, which may have to wait for the other side. A waiting open is a
//! [`FifoOpen`]: it holds its description and pipe end as one capability
//! (which the waiting thread holds, so that its death releases it), and
//! becomes a descriptor only once it completes ([`Objects::fifo_opened`]).

use super::{CapSpace, Capability, Objects, note};
use crate::fifo::{Fifo, Waiting};
use crate::fs::{Cred, OfdId};
use crate::io::PageStore;
use crate::pipe::{End, PipeId};
use abi::Errno;
use abi::fs::{S_IALLUGO, S_IFMT};
use doors::{Fd, Pid};

/// What `open` came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// The new descriptor.
    Done(Fd),
    /// A FIFO open that waits for the other side to open.
    Wait(FifoOpen),
}

/// A FIFO open waiting for the other side: what it holds, what it waits
/// for, and the close-on-exec flag its descriptor gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FifoOpen {
    pub fifo: Fifo,
    pub waiting: Waiting,
    pub cloexec: bool,
}

impl FifoOpen {
    /// The reference the open holds (one capability: released once, with
    /// [`Objects::release`], if the open is given up).
    pub fn cap(self) -> Capability {
        Capability::Fifo(self.fifo.ofd, self.fifo.access)
    }

    /// The pipe end it waits at: the wakeups of an open of the other side
    /// come there.
    pub fn wait_at(self) -> (PipeId, End) {
        (self.fifo.pipe, self.waiting.at)
    }
}

impl<S: PageStore> Objects<S> {
    /// Opens the FIFO whose description `open` made (see [`Fifo::open`]),
    /// recording the wakeups it causes.
    pub(super) fn open_fifo(
        &mut self,
        ofd: OfdId,
        flags: u32,
        cred: Cred,
    ) -> Result<(Fifo, Option<Waiting>), Errno> {
        let CapSpace {
            fs, pipes, wakes, ..
        } = &mut self.caps;
        Fifo::open(fs, pipes, ofd, flags, cred, |id, wake| {
            note(wakes, id, wake)
        })
    }

    /// Whether the waiting `open` may complete: the other side has opened
    /// since it began.
    pub fn fifo_partner_came(&self, open: FifoOpen) -> bool {
        open.waiting.partner_came(&self.caps.pipes, open.fifo)
    }

    /// Completes the waiting `open`: its descriptor, in `pid`'s lowest free
    /// slot. Errors (its reference released): EMFILE, ENFILE (the table
    /// filled while it waited).
    pub fn fifo_opened(&mut self, pid: Pid, open: FifoOpen) -> Result<Fd, Errno> {
        if let Err(e) = self.caps.check_room(pid, 1) {
            self.release(open.cap());
            return Err(e);
        }
        Ok(self.install(pid, open.cap(), open.cloexec))
    }

    /// `mknodat`: the node `mode`'s type says (see [`crate::fs::Fs::mknod`]),
    /// with its permission bits less the umask. Errors: those of
    /// [`Objects::start`] and [`crate::fs::Fs::mknod`].
    pub fn mknod(
        &mut self,
        pid: Pid,
        cred: Cred,
        dirfd: Fd,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let at = self.start(pid, dirfd, path)?;
        let umask = self.caps.holder(pid)?.umask;
        let mode = mode & S_IFMT | mode & S_IALLUGO & !umask;
        self.caps.fs.mknod(cred, at, path, mode)
    }
}
