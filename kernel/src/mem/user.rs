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
        let mut at = self.addr;
        let end = self.addr + self.len;
        // Check every page before touching any, so a failed copy has no effect.
        while at < end {
            space.translate(at, write).ok_or(EFAULT)?;
            at = (at & !(PAGE_SIZE - 1)) + PAGE_SIZE;
        }
        let mut at = self.addr;
        while at < end {
            let chunk = (PAGE_SIZE - at % PAGE_SIZE).min(end - at);
            let phys = space.translate(at, write).ok_or(EFAULT)?;
            f(phys, (at - self.addr) as usize, chunk as usize);
            at += chunk;
        }
        Ok(())
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
