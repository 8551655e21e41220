//! User pointers are claims, not memory: a [`UserSlice`] is an address range
//! a program named, and only the checked copies here turn it into bytes.
//! Each copy walks the owning address space's page tables page by page and
//! goes through the physical window, so a bad pointer is `EFAULT`, never a
//! kernel fault, and the kernel can copy between two processes' memories
//! without switching address spaces.

use super::space::{AddressSpace, USER_END};
use super::{PAGE_SIZE, phys_to_virt};
use alloc::vec::Vec;
use doors::abi::errno::EFAULT;
use doors::wire::Wire;

/// A range of user memory named by a program.
#[derive(Clone, Copy, Debug)]
pub struct UserSlice {
    addr: u64,
    len: u64,
}

impl UserSlice {
    /// Checks only that the range lies in the user half (mapping is checked
    /// at copy time).
    pub fn new(addr: u64, len: u64) -> Result<UserSlice, isize> {
        match addr.checked_add(len) {
            Some(end) if end <= USER_END => Ok(UserSlice { addr, len }),
            _ => Err(EFAULT),
        }
    }

    /// Visits the range page by page as `(physical address, offset in
    /// the slice, chunk length)`, after checking every page first.
    fn chunks(
        &self,
        space: &AddressSpace,
        write: bool,
        mut f: impl FnMut(u64, usize, usize),
    ) -> Result<(), isize> {
        // Check the whole range before touching any of it, so a failed copy
        // has no effect.
        self.check(space, write)?;
        let end = self.addr + self.len;
        let mut at = self.addr;
        while at < end {
            let chunk = (PAGE_SIZE - at % PAGE_SIZE).min(end - at);
            let phys = space.translate(at, write).ok_or(EFAULT)?;
            f(phys, (at - self.addr) as usize, chunk as usize);
            at += chunk;
        }
        Ok(())
    }

    /// Checks that every page of the range is mapped for user access (and
    /// writable, when `write` is asked).
    #[inline]
    pub fn check(&self, space: &AddressSpace, write: bool) -> Result<(), isize> {
        if space.covers(self.addr, self.len, write) {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }

    /// Copies the user bytes into `buf` (which must be `len` long).
    pub fn read(&self, space: &AddressSpace, buf: &mut [u8]) -> Result<(), isize> {
        assert_eq!(buf.len() as u64, self.len);
        self.chunks(space, false, |phys, off, n| {
            // SAFETY: `phys..phys+n` is a mapped user page's memory, read
            // through the window; `buf` has room.
            unsafe {
                core::ptr::copy_nonoverlapping(phys_to_virt(phys), buf[off..].as_mut_ptr(), n)
            }
        })
    }

    /// The user bytes as a vector.
    pub fn read_vec(&self, space: &AddressSpace) -> Result<Vec<u8>, isize> {
        let mut v = alloc::vec![0; self.len as usize];
        self.read(space, &mut v)?;
        Ok(v)
    }

    /// Copies `data` (which must be `len` long) into user memory.
    pub fn write(&self, space: &AddressSpace, data: &[u8]) -> Result<(), isize> {
        assert_eq!(data.len() as u64, self.len);
        self.chunks(space, true, |phys, off, n| {
            // SAFETY: a mapped, writable user page, written through the window.
            unsafe { core::ptr::copy_nonoverlapping(data[off..].as_ptr(), phys_to_virt(phys), n) }
        })
    }
}

impl UserSlice {
    /// Copies `data` into user memory that may be read-only to the program
    /// (the loader filling code and constant segments).
    pub fn load(&self, space: &AddressSpace, data: &[u8]) -> Result<(), isize> {
        assert_eq!(data.len() as u64, self.len);
        self.chunks(space, false, |phys, off, n| {
            // SAFETY: a mapped user page, written through the window.
            unsafe { core::ptr::copy_nonoverlapping(data[off..].as_ptr(), phys_to_virt(phys), n) }
        })
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
) -> Result<(), isize> {
    let from = UserSlice::new(src_addr, len)?;
    let to = UserSlice::new(dst_addr, len)?;
    from.check(src, false)?;
    to.check(dst, true)?;
    let mut done = 0;
    while done < len {
        let (s, d) = (src_addr + done, dst_addr + done);
        let n = (PAGE_SIZE - s % PAGE_SIZE)
            .min(PAGE_SIZE - d % PAGE_SIZE)
            .min(len - done);
        let ps = src.translate(s, false).ok_or(EFAULT)?;
        let pd = dst.translate(d, true).ok_or(EFAULT)?;
        // SAFETY: both ranges lie within single mapped user pages (checked
        // above), reached through the window; they may be the same memory,
        // hence `copy` rather than `copy_nonoverlapping`.
        unsafe { core::ptr::copy(phys_to_virt(ps), phys_to_virt(pd), n as usize) };
        done += n;
    }
    Ok(())
}

/// Reads an ABI structure at a user address.
pub fn read_wire<T: Wire>(space: &AddressSpace, addr: u64) -> Result<T, isize> {
    let mut buf = [0u8; 64];
    UserSlice::new(addr, T::SIZE as u64)?.read(space, &mut buf[..T::SIZE])?;
    Ok(T::decode(&buf[..T::SIZE]))
}

/// Writes an ABI structure at a user address.
pub fn write_wire<T: Wire>(space: &AddressSpace, addr: u64, value: &T) -> Result<(), isize> {
    let mut buf = [0u8; 64];
    value.encode(&mut buf[..T::SIZE]);
    UserSlice::new(addr, T::SIZE as u64)?.write(space, &buf[..T::SIZE])
}
