//! Copy-on-write bookkeeping: how many address spaces map each physical
//! frame, so that fork can share a process's pages instead of copying them
//! and every frame is freed exactly once, when its last mapping goes (the
//! leak check compares free frames before and after).
//!
//! How the kernel uses it (the page-table walking is the image's):
//!
//! * **fork** copies the parent's page tables into new tables for the
//!   child; every present user leaf then maps its frame in both spaces
//!   ([`ShareCounts::share`]), and a writable leaf loses its write bit in
//!   both (the area stays writable: that is what marks the page
//!   copy-on-write). Read-only pages are shared the same way. No byte of
//!   user memory is copied, so fork costs a walk of the mapped pages.
//!   Pages of a shared area (`MAP_SHARED`) are mapped in the child to the
//!   same frames with the same flags, write bit kept in both: writes by
//!   either are seen by both, and by later forks' children ([`fork_leaf`]).
//!   Their untouched pages take their zeroed frames in the parent first,
//!   so that they too are shared.
//! * **A write** to a page whose area is writable but whose leaf is not
//!   (the CPU's write fault, or the kernel writing into user memory)
//!   breaks the share ([`ShareCounts::break_share`]): a frame no other
//!   space maps any longer is taken over (the write bit comes back, nothing
//!   is copied); a frame still shared is copied into a new frame that
//!   replaces it in this space alone. Without a free frame the write
//!   fails and nothing changes: the faulting process is the one killed
//!   (a system call whose kernel write fails so returns ENOMEM).
//!   A write to a page whose area is read-only is a protection fault, as
//!   before.
//! * **A first touch** of a page the kernel has not given a frame yet
//!   (demand-zero: the anonymous memory of Linux programs), by the program
//!   or by the kernel, gives it a zeroed frame of its own, with its area's
//!   access; fork copies only present leaves, so an untouched page stays
//!   untouched in parent and child (but for shared areas' pages, which
//!   take their frames at the fork). [`touch`] decides what an access
//!   needs, for the CPU's page fault and the kernel's accesses alike.
//! * **A protection change** that makes a page writable gives its leaf
//!   the write bit, except a leaf of a private area without it in a space
//!   that took part in a fork: it may be copy-on-write, and its first
//!   write decides ([`protect_keeps_write_off`]). So a leaf of a writable
//!   shared area is always writable, and no write ever copies one.
//! * **Unmapping** a page (`mem_unmap`, exit, exec) releases its mapping
//!   ([`ShareCounts::release`]): the frame is freed only when no other
//!   space maps it.
//!
//! A frame mapped by one space only has no entry to update (its count is
//! zero "extra" mappings), so processes that never fork pay nothing, and
//! the counts need no heap: their storage is carved from memory at boot,
//! two bytes per frame, like the frame bitmap's.

/// A frame's share count cannot grow (more mappings than the counter
/// holds, or a frame beyond the counts' storage): the fork that asked must
/// fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saturated(pub u64);

/// What releasing one mapping of a frame leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// It was the last mapping: the caller frees the frame.
    Free,
    /// Other spaces still map the frame: it stays.
    Kept,
}

/// How a write to a copy-on-write page was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// No other space maps the frame: the writer owns it, and its leaf
    /// becomes writable again.
    TookOver,
    /// The frame is still shared: the caller copies its page into frame
    /// `to` (taken from the allocator, counted here as this space's alone)
    /// and maps `to` writable in its place. The old frame lost this mapping.
    Copied { to: u64 },
}

/// The access a user page's area allows (a page outside every area has
/// none). Write access implies read access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaAccess {
    pub read: bool,
    pub write: bool,
}

/// What an access to a user page needs before it can go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// Nothing: the page may be accessed as it is.
    Ready,
    /// The page is absent from an accessible area (demand-zero): it takes
    /// a zeroed frame with its area's access, and the access is tried
    /// again.
    DemandZero,
    /// A write to a copy-on-write page: [`ShareCounts::break_share`], the
    /// leaf made writable, and the access tried again.
    BreakShare,
    /// The area does not allow the access: the program's fault (EFAULT for
    /// the kernel's access).
    Fault,
}

/// What an access (a write, with `write`) to a page needs, given its
/// area's access (`None` outside every area) and its leaf (`None` absent,
/// else whether it is writable). An absent page of an accessible area
/// takes its frame whatever the access, so that a write to a read-only
/// area faults on a present page, as it did before pages came at first
/// touch.
pub fn touch(area: Option<AreaAccess>, leaf: Option<bool>, write: bool) -> Touch {
    let Some(area) = area.filter(|a| a.read) else {
        return Touch::Fault;
    };
    match leaf {
        None => Touch::DemandZero,
        Some(_) if write && !area.write => Touch::Fault,
        Some(false) if write => Touch::BreakShare,
        Some(_) => Touch::Ready,
    }
}

/// How fork gives the child a present leaf of the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkLeaf {
    /// The same frame with the same flags in both: a shared area's page,
    /// whose writes both must see ([`ShareCounts::share`]).
    Shared,
    /// The same frame, the write bit taken off both leaves: copy-on-write
    /// ([`ShareCounts::share`]).
    CopyOnWrite,
    /// A copy of the page in a frame of the child's own, at once.
    Copied,
}

/// How fork gives the child a present leaf: a page of a shared area stays
/// shared (even in `private`, a range the child gets copies of: a shared
/// page is present and writable in both, which is all a copy would give);
/// another page in `private` is copied; every other is copy-on-write.
pub fn fork_leaf(shared_area: bool, private: bool) -> ForkLeaf {
    match (shared_area, private) {
        (true, _) => ForkLeaf::Shared,
        (false, true) => ForkLeaf::Copied,
        (false, false) => ForkLeaf::CopyOnWrite,
    }
}

/// Whether a present leaf keeps its write bit off when a protection change
/// makes its area writable: a leaf without it of a private area in a space
/// that took part in a fork may be copy-on-write, so its first write must
/// fault and break the share. A shared area's leaf takes the bit (its
/// frame is written by every mapper, never copied).
pub fn protect_keeps_write_off(shared_area: bool, forked: bool, leaf_writable: bool) -> bool {
    forked && !leaf_writable && !shared_area
}

/// No frame was free for a copy: nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFrame;

/// The number of extra mappings (beyond the first) of each frame.
///
/// Invariant: for every frame mapped in user space, `extra[frame] + 1` is
/// the number of leaves that map it (in all address spaces); every other
/// frame's count is zero. `shared` is the number of frames whose count is
/// not zero.
pub struct ShareCounts<'a> {
    extra: &'a mut [u16],
    shared: u64,
}

impl<'a> ShareCounts<'a> {
    /// Counts over frames `0..storage.len()`, all unshared.
    pub fn new(storage: &'a mut [u16]) -> Self {
        storage.fill(0);
        ShareCounts {
            extra: storage,
            shared: 0,
        }
    }

    /// How many leaves map `frame` (one when it is not shared; also one for
    /// a frame nobody maps: the counts know only about sharing).
    pub fn mappings(&self, frame: u64) -> u32 {
        self.count(frame).map_or(1, |n| u32::from(n) + 1)
    }

    /// Whether more than one leaf maps `frame`.
    pub fn is_shared(&self, frame: u64) -> bool {
        self.count(frame).is_some_and(|n| n > 0)
    }

    /// Frames mapped by more than one leaf (for leak accounting: zero once
    /// every forked process has exited).
    pub fn shared_frames(&self) -> u64 {
        self.shared
    }

    fn count(&self, frame: u64) -> Option<u16> {
        self.extra.get(usize::try_from(frame).ok()?).copied()
    }

    fn slot(&mut self, frame: u64) -> Option<&mut u16> {
        self.extra.get_mut(usize::try_from(frame).ok()?)
    }

    /// `frame` is mapped by one more leaf (fork copying a parent's leaf
    /// into the child). On `Err` nothing changed.
    pub fn share(&mut self, frame: u64) -> Result<(), Saturated> {
        let n = self.slot(frame).ok_or(Saturated(frame))?;
        let more = n.checked_add(1).ok_or(Saturated(frame))?;
        *n = more;
        if more == 1 {
            self.shared += 1;
        }
        Ok(())
    }

    /// One leaf mapping `frame` is gone (unmap, exit, exec): whether the
    /// frame must be freed now.
    pub fn release(&mut self, frame: u64) -> Release {
        match self.slot(frame) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if *n == 0 {
                    self.shared -= 1;
                }
                Release::Kept
            }
            _ => Release::Free,
        }
    }

    /// A write to a copy-on-write page mapping `frame`: takes it over when
    /// no other leaf maps it, else takes a frame from `alloc` for the
    /// writer's copy (`Err(NoFrame)`, nothing changed, when there is none).
    pub fn break_share(
        &mut self,
        frame: u64,
        alloc: impl FnOnce() -> Option<u64>,
    ) -> Result<Broken, NoFrame> {
        if !self.is_shared(frame) {
            return Ok(Broken::TookOver);
        }
        let to = alloc().ok_or(NoFrame)?;
        let kept = self.release(frame);
        debug_assert_eq!(kept, Release::Kept);
        Ok(Broken::Copied { to })
    }
}

#[cfg(test)]
mod tests;
