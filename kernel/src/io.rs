//! What files and pipes share: the pages they keep data in ([`PageStore`])
//! and the two ends of a transfer to or from their caller ([`Sink`],
//! [`Source`]).
//!
//! Objects copy straight between their pages and the caller's memory: the
//! kernel implements `Sink` and `Source` over a user buffer whose pages it
//! has checked before the call (so a copy cannot fail halfway), and slices
//! implement them for buffers in the kernel and for tests.

/// Bytes in a page of a [`PageStore`].
pub const PAGE_SIZE: usize = 4096;

/// Where file contents and pipe buffers live: pages of [`PAGE_SIZE`] bytes.
/// The kernel implements it with physical frames (reached through its
/// physical-memory window), the host tests with a vector.
pub trait PageStore {
    /// Owns one page; dropping it without [`PageStore::free`] leaks the page.
    type Page;
    /// A page of zeros, or `None` when memory is exhausted.
    fn alloc(&mut self) -> Option<Self::Page>;
    /// Gives a page back.
    fn free(&mut self, page: Self::Page);
    /// The page's bytes.
    fn bytes<'a>(&'a self, page: &'a Self::Page) -> &'a [u8; PAGE_SIZE];
    /// The page's bytes, to change them.
    fn bytes_mut<'a>(&'a mut self, page: &'a Self::Page) -> &'a mut [u8; PAGE_SIZE];
}

/// Takes the bytes a read produces (the kernel: the caller's buffer).
pub trait Sink {
    /// How many more bytes it takes.
    fn remaining(&self) -> usize;
    /// Appends `bytes` (at most [`Sink::remaining`] of them).
    fn put(&mut self, bytes: &[u8]);
}

/// Gives the bytes a write consumes (the kernel: the caller's buffer).
pub trait Source {
    /// How many more bytes it has.
    fn remaining(&self) -> usize;
    /// Fills `out` with its next `out.len()` bytes (at most
    /// [`Source::remaining`]).
    fn take(&mut self, out: &mut [u8]);
}

impl Sink for &mut [u8] {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn put(&mut self, bytes: &[u8]) {
        let (head, tail) = core::mem::take(self).split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        *self = tail;
    }
}

impl Source for &[u8] {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn take(&mut self, out: &mut [u8]) {
        let (head, tail) = self.split_at(out.len());
        out.copy_from_slice(head);
        *self = tail;
    }
}

/// A [`PageStore`] over the heap, counting its pages, that can be told to
/// run out: the store of the host tests.
#[cfg(test)]
pub mod testing {
    use super::{PAGE_SIZE, PageStore};
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// A page of a [`VecStore`] (not `Clone`: it owns the page).
    #[derive(Debug, PartialEq, Eq)]
    pub struct VecPage(usize);

    #[derive(Default)]
    pub struct VecStore {
        slots: Vec<Option<Box<[u8; PAGE_SIZE]>>>,
        /// Pages handed out and not yet freed.
        pub in_use: usize,
        /// When set, allocations fail once this many pages are in use.
        pub capacity: Option<usize>,
    }

    impl VecStore {
        /// A store that runs out once `pages` are in use.
        pub fn with_capacity(pages: usize) -> Self {
            VecStore {
                capacity: Some(pages),
                ..VecStore::default()
            }
        }
    }

    impl PageStore for VecStore {
        type Page = VecPage;

        fn alloc(&mut self) -> Option<VecPage> {
            if self.capacity.is_some_and(|cap| self.in_use >= cap) {
                return None;
            }
            self.in_use += 1;
            let page = Some(Box::new([0; PAGE_SIZE]));
            match self.slots.iter().position(Option::is_none) {
                Some(i) => {
                    self.slots[i] = page;
                    Some(VecPage(i))
                }
                None => {
                    self.slots.push(page);
                    Some(VecPage(self.slots.len() - 1))
                }
            }
        }

        fn free(&mut self, page: VecPage) {
            self.slots[page.0].take().expect("page freed twice");
            self.in_use -= 1;
        }

        fn bytes<'a>(&'a self, page: &'a VecPage) -> &'a [u8; PAGE_SIZE] {
            self.slots[page.0].as_ref().expect("page not allocated")
        }

        fn bytes_mut<'a>(&'a mut self, page: &'a VecPage) -> &'a mut [u8; PAGE_SIZE] {
            self.slots[page.0].as_mut().expect("page not allocated")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::VecStore;
    use super::*;

    #[test]
    fn slices_are_sinks_and_sources() {
        let mut buf = [0u8; 6];
        let mut sink = &mut buf[..];
        sink.put(b"ab");
        sink.put(b"cd");
        assert_eq!(sink.remaining(), 2);
        assert_eq!(&buf, b"abcd\0\0");
        let mut source = &b"xyz"[..];
        let mut out = [0u8; 2];
        source.take(&mut out);
        assert_eq!(&out, b"xy");
        assert_eq!(source.remaining(), 1);
    }

    #[test]
    fn the_test_store_counts_and_runs_out() {
        let mut store = VecStore::with_capacity(1);
        let page = store.alloc().unwrap();
        assert!(store.bytes(&page).iter().all(|&b| b == 0));
        store.bytes_mut(&page)[0] = 7;
        assert!(store.alloc().is_none());
        store.free(page);
        assert_eq!(store.in_use, 0);
        let again = store.alloc().unwrap();
        assert_eq!(store.bytes(&again)[0], 0, "a new page is zeroed");
    }
}
