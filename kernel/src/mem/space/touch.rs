//! First touches of user pages. A page of an accessible area may be absent:
//! Linux programs' anonymous memory (`mmap`, `brk`, `mremap` growth, and
//! PROT_NONE pages given access) is demand-zero, its frame allocated and
//! zeroed when the page is first touched. And after a fork, a page may be
//! copy-on-write. Both are resolved here, in one place each for the two
//! kinds of touch: the CPU's page fault ([`AddressSpace::user_fault`]) and
//! the kernel's access to user memory ([`AddressSpace::fault_in`], which
//! `mem::user` calls when a check finds a page not ready). Without a free
//! frame nothing changes: the faulting process is killed, the kernel access
//! fails with ENOMEM.

use super::{AddressSpace, USER_END, page_flags};
use crate::mem::PAGE_SIZE;
use crate::mem::frames::{self, KernelFrames};
use abi::Errno;
use kernel::cow::{AreaAccess, NoFrame, Touch, touch};
use kernel::linux::mm::Prot;
use x86_64::VirtAddr;
use x86_64::structures::paging::{Mapper, Page, PageTableFlags as F, Size4KiB};

impl AddressSpace {
    /// The CPU faulted on user address `addr` (writing, with `write`):
    /// true if the page was absent in an accessible area (now a zeroed
    /// frame, with the area's access) or copy-on-write in a writable one
    /// (now writable), so the instruction can run again; false if the
    /// fault is the program's. A page given a frame here that the access
    /// may not touch (a write to a read-only area) faults again, as it
    /// would have had it been present from the start. Err: no free frame
    /// (nothing changed).
    pub fn user_fault(&self, addr: u64, write: bool) -> Result<bool, NoFrame> {
        match self.resolve(addr, write)? {
            Touch::DemandZero | Touch::BreakShare => Ok(true),
            Touch::Ready | Touch::Fault => Ok(false),
        }
    }

    /// Does what an access to user page `addr` needs ([`touch`]); returns
    /// what that was.
    fn resolve(&self, addr: u64, write: bool) -> Result<Touch, NoFrame> {
        let area = self.area_at(addr).map(|(_, a)| a.prot);
        let access = area.map(|prot| AreaAccess {
            read: prot.read,
            write: prot.write,
        });
        let leaf = self.leaf(addr);
        let needed = touch(
            access,
            leaf.as_ref().map(|e| e.flags().contains(F::WRITABLE)),
            write,
        );
        match (needed, area, leaf) {
            (Touch::DemandZero, Some(prot), _) => self.demand_zero(addr, prot)?,
            (Touch::BreakShare, _, Some(entry)) => self.make_writable(entry, addr)?,
            _ => {}
        }
        Ok(needed)
    }

    /// Makes `[addr, addr + len)` ready for the kernel to read (or, with
    /// `write`, to write): each absent page gets a zeroed frame, and each
    /// copy-on-write page to be written is taken over or copied. Called
    /// when a check of the range found a page not ready; costs one test in
    /// a space with neither kind of page. Errors: EFAULT when the range
    /// does not lie in areas with the access (nothing changes), ENOMEM when
    /// no frame is free (pages done before keep their frames, zeroed or
    /// with the same contents). Its work is bounded by what is mapped,
    /// whatever `len` a program passed.
    #[inline(always)]
    pub fn fault_in(&self, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
        match self.lazy.get() || (write && self.forked.get()) {
            true => self.fault_in_pages(addr, len, write),
            false => Ok(()),
        }
    }

    /// [`Self::fault_in`] in a space that may have pages to resolve.
    #[cold]
    #[inline(never)]
    fn fault_in_pages(&self, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len).is_none_or(|end| end > USER_END)
            || !self.covers_uncached(addr, len, write)
        {
            return Err(Errno::EFAULT);
        }
        let end = addr + len;
        let mut page = addr & !(PAGE_SIZE - 1);
        while page < end {
            match self.resolve(page, write) {
                Ok(Touch::Fault) => return Err(Errno::EFAULT),
                Ok(_) => page += PAGE_SIZE,
                Err(NoFrame) => return Err(Errno::ENOMEM),
            }
        }
        Ok(())
    }

    /// Gives absent user page `addr` a zeroed frame with access `prot`.
    pub(super) fn demand_zero(&self, addr: u64, prot: Prot) -> Result<(), NoFrame> {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
        let frame = frames::alloc().ok_or(NoFrame)?;
        let parents = F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE;
        // SAFETY: a fresh frame mapped into user space only, at a page of
        // this space that maps nothing.
        let mapped = unsafe {
            self.mapper().map_to_with_table_flags(
                page,
                frame,
                page_flags(prot),
                parents,
                &mut KernelFrames,
            )
        };
        match mapped {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(_) => {
                frames::free(frame);
                Err(NoFrame)
            }
        }
    }
}
