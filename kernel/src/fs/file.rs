//! A regular file's contents: a size and the pages that hold data, by page
//! index. Files are sparse: a page is allocated when a write first touches
//! it, and a range never written (a hole, or space a truncate added) reads
//! as zeros without holding pages.
//!
//! Invariant: every held page lies below the size (index `< ceil(size /
//! PAGE_SIZE)`), and its bytes at or beyond the size are zero, so growing
//! the file exposes only zeros.

use crate::io::{PAGE_SIZE, PageStore, Sink, Source};
use alloc::collections::BTreeMap;

const PAGE: u64 = PAGE_SIZE as u64;

/// Zeros for reading holes.
pub(super) static ZEROS: [u8; PAGE_SIZE] = [0; PAGE_SIZE];

pub(super) struct FileData<P> {
    size: u64,
    pages: BTreeMap<u64, P>,
}

impl<P> FileData<P> {
    pub fn new() -> Self {
        FileData {
            size: 0,
            pages: BTreeMap::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn pages_held(&self) -> usize {
        self.pages.len()
    }

    /// The pages a write of `len > 0` bytes at `offset` would add.
    pub fn missing_pages(&self, offset: u64, len: u64) -> usize {
        let (first, last) = (offset / PAGE, (offset + len - 1) / PAGE);
        let held = self.pages.range(first..=last).count() as u64;
        (last - first + 1 - held) as usize
    }

    /// Copies the bytes from `offset` up to the size (at most what `sink`
    /// takes) into `sink`; returns how many.
    pub fn read<S: PageStore<Page = P>>(
        &self,
        store: &S,
        offset: u64,
        sink: &mut impl Sink,
    ) -> usize {
        let end = self
            .size
            .min(offset.saturating_add(sink.remaining() as u64));
        let mut at = offset;
        while at < end {
            let within = (at % PAGE) as usize;
            let chunk = (PAGE_SIZE - within).min((end - at) as usize);
            let bytes = match self.pages.get(&(at / PAGE)) {
                Some(page) => &store.bytes(page)[within..within + chunk],
                None => &ZEROS[..chunk],
            };
            sink.put(bytes);
            at += chunk as u64;
        }
        (end.max(offset) - offset) as usize
    }

    /// Copies `len` bytes from `source` to `offset`, taking the pages it
    /// lacks from `fresh` (exactly [`FileData::missing_pages`] of them),
    /// and grows the size to cover them.
    pub fn write<S: PageStore<Page = P>>(
        &mut self,
        store: &mut S,
        fresh: impl IntoIterator<Item = P>,
        offset: u64,
        len: u64,
        source: &mut impl Source,
    ) {
        let mut fresh = fresh.into_iter();
        let end = offset + len;
        let mut at = offset;
        while at < end {
            let within = (at % PAGE) as usize;
            let chunk = (PAGE_SIZE - within).min((end - at) as usize);
            let page = self
                .pages
                .entry(at / PAGE)
                .or_insert_with(|| fresh.next().expect("too few fresh pages"));
            source.take(&mut store.bytes_mut(page)[within..within + chunk]);
            at += chunk as u64;
        }
        assert!(fresh.next().is_none(), "too many fresh pages");
        self.size = self.size.max(end);
    }

    /// Sets the size to `len`, freeing the pages wholly beyond it and
    /// zeroing the rest of the last one; returns how many pages it freed.
    pub fn truncate<S: PageStore<Page = P>>(&mut self, store: &mut S, len: u64) -> usize {
        let beyond = self.pages.split_off(&len.div_ceil(PAGE));
        let freed = beyond.len();
        for (_, page) in beyond {
            store.free(page);
        }
        if len < self.size
            && let Some(page) = self.pages.get(&(len / PAGE))
        {
            store.bytes_mut(page)[(len % PAGE) as usize..].fill(0);
        }
        self.size = len;
        freed
    }

    /// Gives every page back; returns how many.
    pub fn free<S: PageStore<Page = P>>(self, store: &mut S) -> usize {
        let count = self.pages.len();
        for (_, page) in self.pages {
            store.free(page);
        }
        count
    }

    /// Checks the invariant (tests).
    #[cfg(test)]
    pub fn audit<S: PageStore<Page = P>>(&self, store: &S) {
        for (&index, page) in &self.pages {
            assert!(
                index < self.size.div_ceil(PAGE),
                "page {index} beyond the size"
            );
            let start = self.size.saturating_sub(index * PAGE).min(PAGE) as usize;
            assert!(
                store.bytes(page)[start..].iter().all(|&b| b == 0),
                "bytes beyond the size are not zero"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::testing::{VecPage, VecStore};
    use std::vec;
    use std::vec::Vec;

    fn write(data: &mut FileData<VecPage>, store: &mut VecStore, offset: u64, bytes: &[u8]) {
        let fresh: Vec<_> = (0..data.missing_pages(offset, bytes.len() as u64))
            .map(|_| store.alloc().unwrap())
            .collect();
        data.write(store, fresh, offset, bytes.len() as u64, &mut &bytes[..]);
        data.audit(store);
    }

    fn read(data: &FileData<VecPage>, store: &VecStore, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0xee; len];
        let n = data.read(store, offset, &mut &mut buf[..]);
        buf.truncate(n);
        buf
    }

    #[test]
    fn sparse_writes_hold_only_the_pages_they_touch() {
        let (mut store, mut data) = (VecStore::default(), FileData::new());
        write(&mut data, &mut store, 3 * PAGE - 2, b"abcd");
        assert_eq!(data.size(), 3 * PAGE + 2);
        assert_eq!(data.pages_held(), 2);
        assert_eq!(read(&data, &store, 0, 4), [0; 4], "a hole reads as zeros");
        assert_eq!(read(&data, &store, 3 * PAGE - 3, 10), b"\0abcd");
        assert_eq!(read(&data, &store, 5 * PAGE, 10), b"");
        assert_eq!(data.missing_pages(0, 3 * PAGE), 2);
    }

    #[test]
    fn truncation_frees_pages_and_zeroes_the_tail() {
        let (mut store, mut data) = (VecStore::default(), FileData::new());
        write(&mut data, &mut store, 0, &[7; 2 * PAGE_SIZE + 5]);
        assert_eq!(data.truncate(&mut store, PAGE + 1), 1);
        data.audit(&store);
        assert_eq!(store.in_use, 2);
        // Growing again shows zeros where the data was cut.
        assert_eq!(data.truncate(&mut store, 3 * PAGE), 0);
        assert_eq!(read(&data, &store, PAGE, 3), [7, 0, 0]);
        assert_eq!(data.free(&mut store), 2);
        assert_eq!(store.in_use, 0);
    }
}
