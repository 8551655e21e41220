//! Linux's memory calls: anonymous `mmap` (with hints, `MAP_FIXED` and
//! PROT_NONE reservations; `MAP_SHARED` areas stay shared across fork,
//! `mem::space::cow`), `munmap` and `mprotect` of any page range,
//! `mremap` in place, `brk`, and `madvise` (accepted: advice changes
//! nothing here). Anonymous memory is demand-zero: these calls record
//! areas and charge the memory limit, and each page takes a zeroed frame
//! at its first touch (`mem::space`), so none of them zeroes memory, and
//! `MAP_POPULATE` is accepted and ignored (it would make one call zero up
//! to the whole memory limit with interrupts off). Every change that takes memory or
//! access away goes through `Sched::unmap_range`/`Sched::protect`, which
//! tell the door logic (an idle door server thread whose stack area is
//! gone leaves its pool).

use super::SysResult;
use crate::mem::space::{MapError, USER_END, USER_START};
use crate::task::SCHED;
use abi::Errno;
use kernel::linux::mm::{self, BrkChange, Placement, Prot};

const USER: (u64, u64) = (USER_START, USER_END);

fn map_error(_: MapError) -> Errno {
    Errno::ENOMEM
}

/// `mmap(addr, len, prot, flags, fd, offset)`.
pub fn mmap(a: [u64; 6]) -> SysResult {
    let req = mm::decode_mmap(a[0], a[1], a[2], a[3], a[5], USER)?;
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let space = g.current_space();
    let (start, replaces) = match req.placement {
        Placement::Fixed(at) => (at, !space.is_free(at, req.len)),
        Placement::FixedNoReplace(at) if !space.is_free(at, req.len) => {
            return Err(Errno::EEXIST);
        }
        Placement::FixedNoReplace(at) => (at, false),
        Placement::Hint(h) => (
            space.free_place(Some(h), req.len).ok_or(Errno::ENOMEM)?,
            false,
        ),
        Placement::Anywhere => (space.free_place(None, req.len).ok_or(Errno::ENOMEM)?, false),
    };
    // Check everything before unmapping what MAP_FIXED replaces.
    let released = if replaces {
        space.counted_in(start, req.len)
    } else {
        0
    };
    if !space.fits_limit(req.len, released) || !space.has_room_for_areas(3) {
        return Err(Errno::ENOMEM);
    }
    if replaces {
        g.unmap_range(pid, start, req.len);
    }
    g.current_space()
        .map_range(start, req.len, req.prot, req.shared)
        .map_err(map_error)?;
    Ok(start)
}

/// `munmap(addr, len)`: any page range; unmapping nothing is no error.
pub fn munmap(addr: u64, len: u64) -> SysResult {
    let range = mm::decode_range(addr, len, false, USER)?.ok_or(Errno::EINVAL)?;
    let mut g = SCHED.lock();
    if !g.current_space().has_room_for_areas(1) {
        return Err(Errno::ENOMEM);
    }
    let pid = g.current_pid();
    g.unmap_range(pid, range.start, range.len);
    Ok(0)
}

/// `mprotect(addr, len, prot)`: every page of the range must be mapped
/// (ENOMEM otherwise, as Linux says).
pub fn mprotect(addr: u64, len: u64, prot: u64) -> SysResult {
    let prot = Prot::decode(prot)?;
    let Some(range) = mm::decode_range(addr, len, true, USER)? else {
        return Ok(0);
    };
    let mut g = SCHED.lock();
    let space = g.current_space();
    if !space.is_mapped(range.start, range.len) || !space.has_room_for_areas(2) {
        return Err(Errno::ENOMEM);
    }
    g.protect(range.start, range.len, prot);
    Ok(0)
}

/// `madvise(addr, len, advice)`: checked like Linux checks it, and
/// otherwise accepted: no advice changes what a program reads
/// (MADV_DONTNEED included: this kernel keeps the contents and the frames
/// of touched pages, which Linux allows only for shared mappings, so a
/// program relying on zeros after it must not use it here; the C
/// libraries use it only to give memory back).
pub fn madvise(addr: u64, len: u64, advice: u64) -> SysResult {
    let Some(range) = mm::decode_range(addr, len, true, USER)? else {
        return Ok(0);
    };
    if advice > 100 {
        return Err(Errno::EINVAL);
    }
    let mut g = SCHED.lock();
    if !g.current_space().is_mapped(range.start, range.len) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// `mremap(old, old_len, new_len, flags, new_addr)`: shrinking, and
/// growing in place. A mapping that would have to move is ENOMEM, even with
/// MREMAP_MAYMOVE (C libraries then allocate, copy and free instead). A
/// shared mapping's growth is shared with the children of later forks
/// only (`AddressSpace::grow_area`).
pub fn mremap(a: [u64; 6]) -> SysResult {
    let req = mm::decode_mremap(a[0], a[1], a[2], a[3], USER)?;
    let old = req.old;
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let space = g.current_space();
    let Some((start, len, _)) = space.area_containing(old.start) else {
        return Err(Errno::EFAULT);
    };
    if old.end() > start + len {
        return Err(Errno::EFAULT);
    }
    if req.new_len <= old.len {
        if req.new_len < old.len {
            if !space.has_room_for_areas(1) {
                return Err(Errno::ENOMEM);
            }
            g.unmap_range(pid, old.start + req.new_len, old.len - req.new_len);
        }
        return Ok(old.start);
    }
    let extra = req.new_len - old.len;
    let grows_in_place = old.end() == start + len
        && old.end().checked_add(extra).is_some_and(|e| e <= USER_END)
        && space.is_free(old.end(), extra);
    if !grows_in_place {
        return Err(Errno::ENOMEM);
    }
    space.grow_area(old.end(), extra).map_err(map_error)?;
    Ok(old.start)
}

/// `brk(addr)`: moves the program break and returns the new one; on any
/// failure (below the start, no room, no memory) returns the current break
/// unchanged, as Linux does. `brk(0)` asks for the current break.
pub fn brk(addr: u64) -> SysResult {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let Some(state) = g.current_linux_process() else {
        return Err(Errno::ENOSYS);
    };
    let brk = state.brk;
    let Some(change) = brk.plan(addr, USER_END) else {
        return Ok(brk.current);
    };
    match change {
        BrkChange::Stay => {}
        BrkChange::Grow(r) => {
            let space = g.current_space();
            if !space.is_free(r.start, r.len) || !space.has_room_for_areas(1) {
                return Ok(brk.current);
            }
            // The heap stays one area: grow the one below if there is one
            // (a private one: a shared mapping put in its place stays as
            // it is).
            let grown = r.start > brk.start
                && !space.is_shared(r.start - 1)
                && space.grow_area(r.start, r.len).is_ok();
            if !grown
                && space
                    .map_range(r.start, r.len, Prot::READ_WRITE, false)
                    .is_err()
            {
                return Ok(brk.current);
            }
        }
        BrkChange::Shrink(r) => {
            if !g.current_space().has_room_for_areas(1) {
                return Ok(brk.current);
            }
            g.unmap_range(pid, r.start, r.len);
        }
    }
    if let Some(state) = g.current_linux_process() {
        state.brk.current = addr;
    }
    Ok(addr)
}
