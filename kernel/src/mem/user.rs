//! User pointers are allegations, not memory: a [`UserSlice<T>`] is a range
//! of `T`s a program named, and only the checked copies here turn it into
//! values. Each copy walks the owning address space's page tables page by
//! page and goes through the physical window, so a bad pointer is `EFAULT`,
//! never a kernel fault, and the kernel can copy between two processes'
//! memories without switching address spaces. Values cross in their
//! [`Wire`] encoding (C layout, zeroed padding), never reinterpreted.
//! Files and pipes read into a [`UserSink`] and write from a
//! [`UserSource`]: a byte range checked whole when made, so a transfer
//! never fails halfway.

use super::space::{AddressSpace, USER_END};
use super::{PAGE_SIZE, phys_to_virt};
use abi::{Buffer, Errno, Wire};
use alloc::vec::Vec;
use core::marker::PhantomData;
use kernel::io::{Sink, Source};

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
    /// writable, when `write` is asked).
    #[inline]
    fn check(&self, space: &AddressSpace, write: bool) -> Result<(), Errno> {
        if space.covers(self.addr, self.len, write) {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Visits the range page by page as `(physical address, offset in the
    /// range, chunk length)`, after checking every page first (so a failed
    /// copy has no effect).
    fn chunks(
        &self,
        space: &AddressSpace,
        write: bool,
        mut f: impl FnMut(u64, usize, usize),
    ) -> Result<(), Errno> {
        self.check(space, write)?;
        let end = self.addr + self.len;
        let mut at = self.addr;
        while at < end {
            let chunk = (PAGE_SIZE - at % PAGE_SIZE).min(end - at);
            let phys = space.translate(at, write).ok_or(Errno::EFAULT)?;
            f(phys, (at - self.addr) as usize, chunk as usize);
            at += chunk;
        }
        Ok(())
    }

    /// Copies the user bytes into `buf` (exactly `len` long).
    fn read(&self, space: &AddressSpace, buf: &mut [u8]) -> Result<(), Errno> {
        assert_eq!(buf.len() as u64, self.len);
        self.chunks(space, false, |phys, off, n| {
            // SAFETY: `phys..phys+n` is a mapped user page's memory, read
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
        self.chunks(space, !load, |phys, off, n| {
            // SAFETY: a mapped user page (writable unless loading),
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
    pub fn read(&self, space: &AddressSpace, i: u64) -> Result<T, Errno> {
        assert!(i < self.count, "read past a user slice");
        let mut b = T::Bytes::zeroed();
        Range {
            addr: self.addr_of(i),
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
    pub fn write(&self, space: &AddressSpace, i: u64, value: &T) -> Result<(), Errno> {
        assert!(i < self.count, "write past a user slice");
        Range {
            addr: self.addr_of(i),
            len: T::SIZE as u64,
        }
        .write(space, value.to_bytes().as_ref(), false)
    }

    /// Writes `values` (exactly `count` of them), all or nothing.
    pub fn write_all(&self, space: &AddressSpace, values: &[T]) -> Result<(), Errno> {
        assert_eq!(values.len() as u64, self.count);
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
    let mut done = 0;
    while done < len {
        let addr = at + done as u64;
        let chunk = ((PAGE_SIZE - addr % PAGE_SIZE) as usize).min(len - done);
        let phys = space
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

    pub fn write(&self, space: &AddressSpace, value: &T) -> Result<(), Errno> {
        self.0.write(space, 0, value)
    }
}

/// Copies `len` bytes from `src_addr` in `src` to `dst_addr` in `dst` (two
/// possibly different address spaces), page by page through the physical
/// window, after checking every page of both ranges.
pub fn copy_between(
    src: &AddressSpace,
    src_addr: u64,
    dst: &AddressSpace,
    dst_addr: u64,
    len: u64,
) -> Result<(), Errno> {
    Range::new(src_addr, len)?.check(src, false)?;
    Range::new(dst_addr, len)?.check(dst, true)?;
    let mut done = 0;
    while done < len {
        let (s, d) = (src_addr + done, dst_addr + done);
        let n = (PAGE_SIZE - s % PAGE_SIZE)
            .min(PAGE_SIZE - d % PAGE_SIZE)
            .min(len - done);
        let ps = src.translate(s, false).ok_or(Errno::EFAULT)?;
        let pd = dst.translate(d, true).ok_or(Errno::EFAULT)?;
        // SAFETY: both ranges lie within single mapped user pages (checked
        // above), reached through the window; they may be the same memory,
        // hence `copy` rather than `copy_nonoverlapping`.
        unsafe { core::ptr::copy(phys_to_virt(ps), phys_to_virt(pd), n as usize) };
        done += n;
    }
    Ok(())
}
