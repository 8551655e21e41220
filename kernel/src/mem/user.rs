//! User pointers are allegations, not memory: a [`UserSlice<T>`] is a range
//! of `T`s a program named, and only the checked copies here turn it into
//! values. Each copy walks the owning address space's page tables page by
//! page and goes through the physical window, so a bad pointer is `EFAULT`,
//! never a kernel fault, and the kernel can copy between two processes'
//! memories without switching address spaces. Values cross in their
//! [`Wire`] encoding (C layout, zeroed padding), never reinterpreted.
//! Files and pipes read into a [`UserSink`] and write from a
//! [`UserSource`]: a byte range checked whole when made, so a transfer
//! never fails halfway. Every check that finds a page not ready has the
//! space resolve the range ([`AddressSpace::fault_in`]: demand-zero pages
//! get their zeroed frames, copy-on-write pages to be written are taken
//! over or copied) and looks again, so the kernel reads zeros from an
//! untouched page and breaks sharing before any write starts.

use super::space::{AddressSpace, USER_END};
use super::{PAGE_SIZE, phys_to_virt};
use abi::{Buffer, Errno, Wire};
use alloc::vec::Vec;
use core::marker::PhantomData;
use doors::UNPLACED;
use kernel::io::{Sink, Source};

/// The longest range [`Range::check`] checks in the page tables (above it,
/// the list of areas is quicker).
const CHECK_BY_WALK: u64 = 8 * PAGE_SIZE;

/// A range of user memory named by a program, in bytes.
#[derive(Clone, Copy, Debug)]
struct Range {
    addr: u64,
    len: u64,
}

impl Range {
    /// Checks only that the range lies in the user half (mapping is checked
    /// at copy time).
    fn new(addr: u64, len: u64) -> Result<Range, Errno> {
        match addr.checked_add(len) {
            Some(end) if end <= USER_END => Ok(Range { addr, len }),
            _ => Err(Errno::EFAULT),
        }
    }

    /// Checks that every page of the range is mapped for user access (and
    /// writable, when `write` is asked), resolving its first touches:
    /// from the page tables for a short range, from the space's list of
    /// areas (which remembers the range it accepted last) for a long one,
    /// such as the stack area of a door server thread that the door logic
    /// checks at every return. Errors: EFAULT, ENOMEM (no frame for a
    /// page).
    #[inline(always)]
    fn check(&self, space: &AddressSpace, write: bool) -> Result<(), Errno> {
        ready(space, self.addr, self.len, write)
    }

    /// [`Range::check`] for an empty range or one that crosses a page
    /// boundary.
    #[inline(never)]
    fn ready_across_pages(&self, space: &AddressSpace, write: bool) -> Result<(), Errno> {
        match self.len {
            0 => Ok(()),
            len if len <= CHECK_BY_WALK => walked_ready(space, self.addr, len, write),
            len => space.ready(self.addr, len, write),
        }
    }

    /// Visits the range as physically contiguous pieces `(physical
    /// address, offset in the range, length)`, after checking every page
    /// first (so a failed copy has no effect; first touches resolved). The
    /// checks are the page tables' own: a walk that reads one entry per
    /// page.
    fn pieces(
        &self,
        space: &AddressSpace,
        write: bool,
        mut f: impl FnMut(u64, usize, usize),
    ) -> Result<(), Errno> {
        if self.len == 0 {
            return Ok(());
        }
        if within_page(self.addr, self.len) {
            let phys = translate_ready(space, self.addr, self.len, write)?;
            f(phys, 0, self.len as usize);
            return Ok(());
        }
        walked_ready(space, self.addr, self.len, write)?;
        let mut walk = space.walk();
        let mut done = 0;
        while done < self.len {
            let (phys, n) = walk
                .piece(self.addr + done, self.len - done, write)
                .ok_or(Errno::EFAULT)?;
            f(phys, done as usize, n as usize);
            done += n;
        }
        Ok(())
    }

    /// Copies the user bytes into `buf` (exactly `len` long).
    fn read(&self, space: &AddressSpace, buf: &mut [u8]) -> Result<(), Errno> {
        assert_eq!(buf.len() as u64, self.len);
        self.pieces(space, false, |phys, off, n| {
            // SAFETY: `phys..phys+n` is mapped user memory (checked), read
            // through the window; `buf` has room.
            unsafe {
                core::ptr::copy_nonoverlapping(phys_to_virt(phys), buf[off..].as_mut_ptr(), n)
            }
        })
    }

    /// Copies `data` (exactly `len` long) into user memory; with `load`,
    /// also into pages the program may only read (the loader filling code
    /// and constants).
    fn write(&self, space: &AddressSpace, data: &[u8], load: bool) -> Result<(), Errno> {
        assert_eq!(data.len() as u64, self.len);
        self.pieces(space, !load, |phys, off, n| {
            // SAFETY: mapped user memory (writable unless loading, checked),
            // written through the window.
            unsafe { core::ptr::copy_nonoverlapping(data[off..].as_ptr(), phys_to_virt(phys), n) }
        })
    }
}

/// `count` values of type `T` at a user address.
#[derive(Clone, Copy, Debug)]
pub struct UserSlice<T> {
    range: Range,
    count: u64,
    _values: PhantomData<T>,
}

impl<T: Wire> UserSlice<T> {
    /// `count` values at `addr`: EFAULT unless they lie in the user half.
    pub fn new(addr: u64, count: u64) -> Result<Self, Errno> {
        let len = count.checked_mul(T::SIZE as u64).ok_or(Errno::EFAULT)?;
        Ok(UserSlice {
            range: Range::new(addr, len)?,
            count,
            _values: PhantomData,
        })
    }

    /// The user address of value `i`.
    pub fn addr_of(&self, i: u64) -> u64 {
        self.range.addr + i * T::SIZE as u64
    }

    /// Checks that the whole range can be read (or written).
    pub fn check(&self, space: &AddressSpace, write: bool) -> Result<(), Errno> {
        self.range.check(space, write)
    }

    /// Value `i` (`i < count`).
    #[inline(always)]
    pub fn read(&self, space: &AddressSpace, i: u64) -> Result<T, Errno> {
        assert!(i < self.count, "read past a user slice");
        let addr = self.addr_of(i);
        if within_page(addr, T::SIZE as u64) {
            // Decoded straight from the window (a door_call's door_arg_t).
            let phys = translate_ready(space, addr, T::SIZE as u64, false)?;
            // SAFETY: `SIZE` bytes of mapped user memory in one page,
            // reached through the window; nothing writes them meanwhile
            // (one CPU, interrupts off), and any bytes are valid `u8`s.
            let bytes = unsafe { core::slice::from_raw_parts(phys_to_virt(phys), T::SIZE) };
            return Ok(T::decode(bytes));
        }
        let mut b = T::Bytes::zeroed();
        Range {
            addr,
            len: T::SIZE as u64,
        }
        .read(space, b.as_mut())?;
        Ok(T::decode(b.as_ref()))
    }

    /// All the values.
    pub fn read_all(&self, space: &AddressSpace) -> Result<Vec<T>, Errno> {
        let mut bytes = alloc::vec![0; self.range.len as usize];
        self.range.read(space, &mut bytes)?;
        Ok(bytes.chunks_exact(T::SIZE).map(T::decode).collect())
    }

    /// Writes `value` as value `i` (`i < count`).
    #[inline(always)]
    pub fn write(&self, space: &AddressSpace, i: u64, value: &T) -> Result<(), Errno> {
        assert!(i < self.count, "write past a user slice");
        let addr = self.addr_of(i);
        if within_page(addr, T::SIZE as u64) {
            // Encoded straight into the window (a door_arg_t written back).
            let phys = translate_ready(space, addr, T::SIZE as u64, true)?;
            // SAFETY: `SIZE` bytes of mapped, writable user memory in one
            // page, reached through the window; no reference to them
            // exists meanwhile (one CPU, interrupts off).
            let out = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(phys), T::SIZE) };
            value.encode(out);
            return Ok(());
        }
        Range {
            addr,
            len: T::SIZE as u64,
        }
        .write(space, value.to_bytes().as_ref(), false)
    }

    /// Writes `values` (exactly `count` of them), all or nothing.
    pub fn write_all(&self, space: &AddressSpace, values: &[T]) -> Result<(), Errno> {
        assert_eq!(values.len() as u64, self.count);
        // Door replies write their (mostly empty) descriptor lists.
        if values.is_empty() {
            return Ok(());
        }
        let mut bytes = alloc::vec![0; self.range.len as usize];
        for (v, out) in values.iter().zip(bytes.chunks_exact_mut(T::SIZE)) {
            v.encode(out);
        }
        self.range.write(space, &bytes, false)
    }
}

impl UserSlice<u8> {
    /// Copies `data` (exactly `count` long) into user memory.
    pub fn write_bytes(&self, space: &AddressSpace, data: &[u8]) -> Result<(), Errno> {
        self.range.write(space, data, false)
    }

    /// Copies `data` into user memory that may be read-only to the program
    /// (the loader filling code and constant segments).
    pub fn load(&self, space: &AddressSpace, data: &[u8]) -> Result<(), Errno> {
        self.range.write(space, data, true)
    }
}

impl UserSlice<u8> {
    /// The range as the destination of a read: EFAULT unless every page is
    /// mapped writable. Valid while `space` is borrowed (nothing can unmap
    /// it meanwhile: the kernel holds its lock).
    pub fn sink<'a>(&self, space: &'a AddressSpace) -> Result<UserSink<'a>, Errno> {
        self.range.check(space, true)?;
        Ok(UserSink {
            space,
            at: self.range.addr,
            end: self.range.addr + self.range.len,
        })
    }

    /// The range as the source of a write: EFAULT unless every page is
    /// mapped readable.
    pub fn source<'a>(&self, space: &'a AddressSpace) -> Result<UserSource<'a>, Errno> {
        self.range.check(space, false)?;
        Ok(UserSource {
            space,
            at: self.range.addr,
            end: self.range.addr + self.range.len,
        })
    }
}

/// Visits `len` bytes of checked user memory from `at` page by page as
/// `(kernel pointer, offset, chunk length)`.
fn each_page(
    space: &AddressSpace,
    at: u64,
    len: usize,
    write: bool,
    mut f: impl FnMut(*mut u8, usize, usize),
) {
    let mut walk = space.walk();
    let mut done = 0;
    while done < len {
        let addr = at + done as u64;
        let chunk = ((PAGE_SIZE - addr % PAGE_SIZE) as usize).min(len - done);
        let phys = walk
            .translate(addr, write)
            .expect("a page of a checked user range is unmapped");
        f(phys_to_virt(phys), done, chunk);
        done += chunk;
    }
}

/// A checked user buffer that a read fills, from its start.
pub struct UserSink<'a> {
    space: &'a AddressSpace,
    at: u64,
    end: u64,
}

impl Sink for UserSink<'_> {
    fn remaining(&self) -> usize {
        (self.end - self.at) as usize
    }

    fn put(&mut self, bytes: &[u8]) {
        assert!(bytes.len() <= self.remaining(), "put past a user sink");
        each_page(self.space, self.at, bytes.len(), true, |to, off, n| {
            // SAFETY: `to..to+n` is a mapped, writable user page (the range
            // was checked when the sink was made, under the lock that
            // every unmap takes), reached through the window.
            unsafe { core::ptr::copy_nonoverlapping(bytes[off..].as_ptr(), to, n) }
        });
        self.at += bytes.len() as u64;
    }
}

/// A checked user buffer that a write consumes, from its start.
pub struct UserSource<'a> {
    space: &'a AddressSpace,
    at: u64,
    end: u64,
}

impl Source for UserSource<'_> {
    fn remaining(&self) -> usize {
        (self.end - self.at) as usize
    }

    fn take(&mut self, out: &mut [u8]) {
        assert!(out.len() <= self.remaining(), "take past a user source");
        each_page(self.space, self.at, out.len(), false, |from, off, n| {
            // SAFETY: `from..from+n` is a mapped user page (checked when the
            // source was made, under the lock every unmap takes), reached
            // through the window; `out` has room.
            unsafe { core::ptr::copy_nonoverlapping(from, out[off..].as_mut_ptr(), n) }
        });
        self.at += out.len() as u64;
    }
}

/// One value of type `T` at a user address.
#[derive(Clone, Copy, Debug)]
pub struct UserPtr<T>(UserSlice<T>);

impl<T: Wire> UserPtr<T> {
    /// The value at `addr`: EFAULT unless it lies in the user half.
    pub fn new(addr: u64) -> Result<Self, Errno> {
        UserSlice::new(addr, 1).map(UserPtr)
    }

    pub fn read(&self, space: &AddressSpace) -> Result<T, Errno> {
        self.0.read(space, 0)
    }

    /// The value at the token `at` ([`locate`]; not [`UNPLACED`]) of
    /// `SIZE` bytes found accessible while the unmap epoch was what it is
    /// now.
    #[inline(always)]
    pub fn read_at(at: u64) -> T {
        // SAFETY: `at` is the physical address of `SIZE` bytes of mapped
        // user memory in one page (the caller's token), which stayed so as
        // no unmap happened since; reached through the window, nothing
        // writes them meanwhile (one CPU, interrupts off), and any bytes
        // are valid `u8`s.
        let bytes = unsafe { core::slice::from_raw_parts(phys_to_virt(at), T::SIZE) };
        T::decode(bytes)
    }

    /// Writes `value` at the token `at` ([`locate`]) of `SIZE` writable
    /// bytes (not [`UNPLACED`]), found while the unmap epoch was what it
    /// is now.
    #[inline(always)]
    pub fn write_located(at: u64, value: &T) {
        // SAFETY: `at` is the physical address of `SIZE` bytes of mapped,
        // writable user memory in one page (the caller's token), which
        // stayed so as no unmap happened since; reached through the
        // window, no reference to them exists meanwhile.
        let out = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(at), T::SIZE) };
        value.encode(out);
    }

    /// Checks that the value can be read (or written).
    pub fn check(&self, space: &AddressSpace, write: bool) -> Result<(), Errno> {
        self.0.check(space, write)
    }

    /// The value at `addr`, which a call writes once it has done its work,
    /// checked writable now so that the call fails before changing
    /// anything.
    pub fn writable(addr: u64, space: &AddressSpace) -> Result<Self, Errno> {
        let ptr = Self::new(addr)?;
        ptr.check(space, true)?;
        Ok(ptr)
    }

    pub fn write(&self, space: &AddressSpace, value: &T) -> Result<(), Errno> {
        self.0.write(space, 0, value)
    }
}

/// Whether `len` bytes at user address `addr` of `space` can be read (or,
/// with `write`, written), first touches resolved: an empty range can if
/// it lies in the user half; a range within one page, with one page-table
/// entry (the few small ranges of a door call).
#[inline(always)]
pub fn accessible(space: &AddressSpace, addr: u64, len: u64, write: bool) -> bool {
    ready(space, addr, len, write).is_ok()
}

/// [`accessible`], with the range's token when it is: its physical address
/// when it lies in one page, [`UNPLACED`] when it does not (or is empty).
/// A range found writable stays where it is until the next unmap
/// (`space::unmap_epoch`: unmaps, forks and exits count), so the token
/// stays valid until then (the door fast path copies to a caller's rbuf
/// and writes its `door_arg_t` at the return by the tokens of the call).
#[inline(always)]
pub fn locate(space: &AddressSpace, addr: u64, len: u64, write: bool) -> Option<u64> {
    match one_page(addr, len) {
        true => translate_ready(space, addr, len, write).ok(),
        false => Range::new(addr, len)
            .and_then(|r| r.ready_across_pages(space, write))
            .ok()
            .map(|()| UNPLACED),
    }
}

/// No page ([`WritablePages`]): no user address's page number.
const NO_PAGE: u64 = u64::MAX;

/// Pages of one thread's memory found writable, with their frames (tokens
/// of whole pages, [`locate`]), and the unmap epoch at which they were:
/// the pages of the `door_arg_t`, the rbuf and the arguments of its last
/// door_call through the fast path, so that a thread calling again with
/// the same buffers finds them without a look at its space. A page found
/// writable stays where it is until the next unmap
/// (`space::unmap_epoch`: unmaps, reducing protections, forks and the ends
/// of spaces count, exec too), so pages remembered at another epoch are
/// never used.
#[derive(Clone, Copy, Debug)]
pub struct WritablePages {
    epoch: u64,
    /// `(page number, frame address)`; [`NO_PAGE`] for none.
    pages: [(u64, u64); 3],
    /// The last call's `door_arg_t` address ([`NO_PAGE`] for none), its
    /// ranges `[data_ptr, data_size, rbuf, rsize]` and their tokens
    /// `[door_arg_t, arguments, rbuf]`, each in a remembered page, or
    /// checked across pages, or empty.
    last: (u64, [u64; 4], [u64; 3]),
}

impl WritablePages {
    /// None remembered.
    pub const NONE: WritablePages = WritablePages {
        epoch: 0,
        pages: [(NO_PAGE, 0); 3],
        last: (NO_PAGE, [0; 4], [0; 3]),
    };

    /// The token of the `door_arg_t` at `addr`, if the last call's was
    /// there at unmap epoch `epoch` (the current one).
    #[inline(always)]
    pub fn last_params(&self, epoch: u64, addr: u64) -> Option<u64> {
        (self.epoch == epoch && self.last.0 == addr).then_some(self.last.2[0])
    }

    /// The tokens `[door_arg_t, arguments, rbuf]` of the last call's
    /// ranges, if `ranges` are the same (its `door_arg_t` being where
    /// [`WritablePages::last_params`] found it).
    #[inline(always)]
    pub fn last_ranges(&self, ranges: [u64; 4]) -> Option<[u64; 3]> {
        let last = self.last.1;
        // Word by word (an array compare would call memcmp).
        let same = (last[0] == ranges[0]) & (last[1] == ranges[1])
            && (last[2] == ranges[2]) & (last[3] == ranges[3]);
        same.then_some(self.last.2)
    }

    /// Remembers a call with the `door_arg_t` at `addr`, its `ranges`
    /// (as for [`WritablePages::last_ranges`]) and their `tokens`, found
    /// at unmap epoch `epoch` (the current one), when the `door_arg_t` has
    /// a token (lies in one page) and the arguments' token is no page's
    /// found only readable (a copy-on-write page may move without an
    /// unmap); the others were found writable.
    #[inline(always)]
    pub fn remember_call(&mut self, epoch: u64, addr: u64, ranges: [u64; 4], tokens: [u64; 3]) {
        let data = tokens[1];
        let steady = data == UNPLACED
            || self.epoch == epoch
                && (self.pages.iter())
                    .any(|&(page, frame)| page != NO_PAGE && frame == data & !(PAGE_SIZE - 1));
        if !steady || tokens[0] == UNPLACED {
            return;
        }
        if self.epoch != epoch {
            *self = WritablePages {
                epoch,
                ..WritablePages::NONE
            };
        }
        self.last = (addr, ranges, tokens);
    }

    /// [`locate`] of `len` bytes at `addr` in the space that `space` gives
    /// (looked up only when needed), at unmap epoch `epoch` (the current
    /// one): a range within one remembered page has its token without a
    /// look (writable, so readable too; the slots looked at in the order
    /// `order`), and the page of one found writable (even when only
    /// reading was asked) is remembered as slot `order[0]`.
    #[inline(always)]
    pub fn locate<'a>(
        &mut self,
        space: impl FnOnce() -> Option<&'a AddressSpace>,
        epoch: u64,
        (addr, len): (u64, u64),
        write: bool,
        order: [usize; 3],
    ) -> Option<u64> {
        if !one_page(addr, len) {
            let range = Range::new(addr, len).ok()?;
            // An empty range in the user half needs no look.
            if len > 0 {
                range.ready_across_pages(space()?, write).ok()?;
            }
            return Some(UNPLACED);
        }
        let page = addr / PAGE_SIZE;
        if self.epoch == epoch {
            for i in order {
                let (remembered, frame) = self.pages[i];
                if page == remembered {
                    return Some(frame | (addr % PAGE_SIZE));
                }
            }
        }
        let space = space()?;
        let at = match space.translate(addr, true) {
            Some(at) => at,
            None => {
                let at = translate_ready(space, addr, len, write).ok()?;
                if !write {
                    return Some(at);
                }
                at
            }
        };
        if self.epoch != epoch {
            *self = WritablePages {
                epoch,
                ..WritablePages::NONE
            };
        }
        self.pages[order[0]] = (page, at & !(PAGE_SIZE - 1));
        Some(at)
    }
}

/// Checks that `len` bytes at user address `addr` of `space` can be read
/// (or written), resolving first touches. Errors: EFAULT, ENOMEM.
#[inline(always)]
fn ready(space: &AddressSpace, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
    match one_page(addr, len) {
        true => translate_ready(space, addr, len, write).map(|_| ()),
        false => Range::new(addr, len)?.ready_across_pages(space, write),
    }
}

/// The physical address behind user address `addr`, whose `len` bytes
/// (`len > 0`) lie in its page, for reading (or writing): when the page is
/// not ready, the space resolves its first touch and it is looked at
/// again. Errors: EFAULT, ENOMEM.
#[inline(always)]
fn translate_ready(space: &AddressSpace, addr: u64, len: u64, write: bool) -> Result<u64, Errno> {
    if let Some(phys) = space.translate(addr, write) {
        return Ok(phys);
    }
    space.fault_in(addr, len, write)?;
    space.translate(addr, write).ok_or(Errno::EFAULT)
}

/// Checks in the page tables that every page of `[addr, addr + len)`
/// (`len > 0`, in the user half) can be read (or written): when one is
/// not ready, the space resolves the range's first touches and it is
/// walked again. Errors: EFAULT, ENOMEM.
fn walked_ready(space: &AddressSpace, addr: u64, len: u64, write: bool) -> Result<(), Errno> {
    if space.walk().mapped(addr, len, write) {
        return Ok(());
    }
    space.fault_in(addr, len, write)?;
    match space.walk().mapped(addr, len, write) {
        true => Ok(()),
        false => Err(Errno::EFAULT),
    }
}

/// Copies `len` bytes from `src_addr` in `src` to `dst_addr` in `dst` (two
/// possibly different address spaces) through the physical window, after
/// checking every page of both ranges (first touches resolved). The copy goes in pieces as long as
/// both sides are physically contiguous, so a copy between buffers whose
/// frames were allocated in order is one `memmove`; each side's page-table
/// entries are read twice (to check, to copy), one each per page.
#[inline(always)]
pub fn copy_between(
    src: &AddressSpace,
    src_addr: u64,
    dst: &AddressSpace,
    dst_addr: u64,
    len: u64,
) -> Result<(), Errno> {
    copy(src, src_addr, dst, dst_addr, len, true)
}

/// Copies `len` bytes from `src_addr` in `src` (token `from`, from
/// [`locate`]) to `dst_addr` in `dst`: ranges found accessible just now,
/// under the lock every unmap takes (the door fast path's copies). The
/// source is not looked up again when it has a token; otherwise the pages
/// are not checked again before the copy, only translated as it goes, so a
/// page that is not mapped after all (a kernel bug) ends it with EFAULT
/// halfway.
#[inline(always)]
pub fn copy_located_from(
    from: u64,
    src: &AddressSpace,
    src_addr: u64,
    dst: &AddressSpace,
    dst_addr: u64,
    len: u64,
) -> Result<(), Errno> {
    if from == UNPLACED || !one_page(dst_addr, len) {
        return copy(src, src_addr, dst, dst_addr, len, false);
    }
    let dest = translate_ready(dst, dst_addr, len, true)?;
    copy_physical(from, dest, len);
    Ok(())
}

/// Copies `len` bytes between two ranges of user memory by their tokens
/// (not [`UNPLACED`]; [`locate`]), each of at least `len` bytes, found
/// while the unmap epoch was what it is now (the destination writable).
#[inline(always)]
pub fn copy_tokens(from: u64, to: u64, len: u64) {
    copy_physical(from, to, len);
}

/// Copies `len` bytes from `src_addr` in `src` (a range without a token,
/// checked whole first) to the writable range of at least `len` bytes with
/// token `to` (not [`UNPLACED`]), found while the unmap epoch was what it
/// is now: a door's results into its caller's rbuf without looking the
/// caller's space up, arguments into the top of a server thread's area.
#[inline(always)]
pub fn copy_located_to(src: &AddressSpace, src_addr: u64, to: u64, len: u64) -> Result<(), Errno> {
    Range::new(src_addr, len)?.pieces(src, false, |phys, off, n| {
        copy_physical(phys, to + off as u64, n as u64)
    })
}

/// [`copy_between`], checking every page first only with `check` (a copy
/// within one page on each side is checked as it is translated anyway).
#[inline(always)]
fn copy(
    src: &AddressSpace,
    src_addr: u64,
    dst: &AddressSpace,
    dst_addr: u64,
    len: u64,
    check: bool,
) -> Result<(), Errno> {
    if one_page(src_addr, len) && one_page(dst_addr, len) {
        let source = translate_ready(src, src_addr, len, false)?;
        let dest = translate_ready(dst, dst_addr, len, true)?;
        copy_physical(source, dest, len);
        return Ok(());
    }
    copy_in_pieces(src, src_addr, dst, dst_addr, len, check)
}

/// [`copy_between`] for an empty copy or one that crosses a page boundary
/// on either side; with `check`, every page of both ranges is checked
/// first.
#[inline(never)]
fn copy_in_pieces(
    src: &AddressSpace,
    src_addr: u64,
    dst: &AddressSpace,
    dst_addr: u64,
    len: u64,
    check: bool,
) -> Result<(), Errno> {
    Range::new(src_addr, len)?;
    Range::new(dst_addr, len)?;
    if len == 0 {
        return Ok(());
    }
    if check {
        walked_ready(src, src_addr, len, false)?;
        walked_ready(dst, dst_addr, len, true)?;
    }
    let (mut from, mut to) = (src.walk(), dst.walk());
    // The physically contiguous pieces of each side not copied yet.
    let (mut source, mut dest) = ((0, 0), (0, 0));
    let mut done = 0;
    while done < len {
        if source.1 == 0 {
            source = from
                .piece(src_addr + done, len - done, false)
                .ok_or(Errno::EFAULT)?;
        }
        if dest.1 == 0 {
            dest = to
                .piece(dst_addr + done, len - done, true)
                .ok_or(Errno::EFAULT)?;
        }
        let n = source.1.min(dest.1);
        copy_physical(source.0, dest.0, n);
        source = (source.0 + n, source.1 - n);
        dest = (dest.0 + n, dest.1 - n);
        done += n;
    }
    Ok(())
}

/// Whether `[addr, addr + len)` (`len > 0`) lies in one page.
#[inline(always)]
fn within_page(addr: u64, len: u64) -> bool {
    addr % PAGE_SIZE + len <= PAGE_SIZE
}

/// Whether `[addr, addr + len)` is not empty and lies in one page (so it
/// lies in the user half if `addr` does).
#[inline(always)]
fn one_page(addr: u64, len: u64) -> bool {
    len.wrapping_sub(1) < PAGE_SIZE - addr % PAGE_SIZE
}

/// Copies `len` bytes of user memory at physical address `from` to `to`,
/// through the window. Under icount a call of `memmove` costs about 20
/// instructions besides its `rep movsq` (one per 8 bytes), so the bytes of
/// a door call move here: up to 32 of them as whole words, all read before
/// any is written; more with `rep movsq` and a last word for the bytes
/// beyond the last 8 (read first). A destination that starts inside the
/// source (the same memory, a server returning part of its caller's
/// buffer) is left to `memmove`, which copies such ranges backwards.
#[inline(always)]
fn copy_physical(from: u64, to: u64, len: u64) {
    let (src, dst) = (phys_to_virt(from), phys_to_virt(to));
    if len > 32 && to.wrapping_sub(from) >= len {
        // SAFETY: the callers checked that both ranges are mapped user
        // memory, `len` bytes each, reached through the window; the
        // destination does not start inside the source (tested above).
        unsafe { copy_forward(src, dst, len as usize) }
    } else if (8..=32).contains(&len) {
        let len = len as usize;
        match len <= 16 {
            // SAFETY: as above; two words cover 8 to 16 bytes.
            true => unsafe { copy_words::<2>(src, dst, len) },
            // SAFETY: as above; four words cover 17 to 32 bytes.
            false => unsafe { copy_words::<4>(src, dst, len) },
        }
    } else {
        // SAFETY: as above; the ranges may overlap, hence `copy`.
        unsafe { core::ptr::copy(src, dst, len as usize) }
    }
}

/// Copies `len` bytes (at least 8) from `src` to `dst` with `rep movsq`,
/// forwards, and the last 8 bytes as a word read before the copy.
///
/// # Safety
/// `src` and `dst` are valid for `len` bytes each (reads and writes), and
/// `dst` does not lie in `src + 1 .. src + len` (a forward copy would read
/// bytes it wrote).
#[inline(always)]
unsafe fn copy_forward(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: `len >= 8`; the caller's `src` has `len` bytes.
    let last = unsafe { src.add(len - 8).cast::<u64>().read_unaligned() };
    // SAFETY: `len / 8` words at `src` and `dst`, within the caller's
    // ranges; a forward copy of ranges that overlap only with `dst`
    // below `src` reads each byte before it is written. The direction flag
    // is clear (as Rust code runs).
    unsafe {
        core::arch::asm!(
            "rep movsq",
            inout("rcx") len / 8 => _,
            inout("rsi") src => _,
            inout("rdi") dst => _,
            options(nostack, preserves_flags)
        )
    };
    // SAFETY: as for the read, for `dst`.
    unsafe { dst.add(len - 8).cast::<u64>().write_unaligned(last) };
}

/// Copies `len` bytes (`4 * N <= len <= 8 * N`, `N` even) from `src` to
/// `dst` as `N` unaligned words: the first half of them from the start,
/// the second half ending at `len` (they overlap when `len < 8 * N`). All
/// are read before any is written.
///
/// # Safety
/// `src` and `dst` are valid for `len` bytes each (reads and writes).
#[inline(always)]
unsafe fn copy_words<const N: usize>(src: *const u8, dst: *mut u8, len: usize) {
    let half = N / 2;
    let at = |i: usize| match i < half {
        true => i * 8,
        false => len - (N - i) * 8,
    };
    let mut words = [0u64; N];
    for (i, w) in words.iter_mut().enumerate() {
        // SAFETY: `at(i) + 8 <= len`; the caller's `src` has `len` bytes.
        *w = unsafe { src.add(at(i)).cast::<u64>().read_unaligned() };
    }
    for (i, w) in words.iter().enumerate() {
        // SAFETY: as above, for `dst`.
        unsafe { dst.add(at(i)).cast::<u64>().write_unaligned(*w) };
    }
}
