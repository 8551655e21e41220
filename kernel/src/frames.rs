//! Physical frame bookkeeping: one bit per 4 KiB frame (set = in use), with
//! counts kept exact so the kernel can report free frames for leak checks.
//! The bitmap's storage comes from the caller (the kernel carves it out of
//! the memory map at boot), so this logic needs no heap and runs on the host.

/// A frame was freed that was not in use (a kernel bug: reported, not ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoubleFree(pub u64);

/// Frame allocator state over frames `0..frame_count`.
///
/// Invariants: `free` equals the number of clear bits below `frame_count`;
/// every frame below `hint` is in use (so [`FrameBitmap::alloc`] starts
/// looking there, past the kernel heap and whatever else boot took).
pub struct FrameBitmap<'a> {
    bits: &'a mut [u64],
    frame_count: u64,
    free: u64,
    hint: u64,
}

/// Words of storage needed to track `frame_count` frames.
pub const fn words_for(frame_count: u64) -> usize {
    frame_count.div_ceil(64) as usize
}

impl<'a> FrameBitmap<'a> {
    /// Starts with every frame in use; add RAM with [`Self::release_range`].
    pub fn new(bits: &'a mut [u64], frame_count: u64) -> Self {
        let frame_count = frame_count.min(bits.len() as u64 * 64);
        bits.fill(u64::MAX);
        FrameBitmap {
            bits,
            frame_count,
            free: 0,
            hint: 0,
        }
    }

    fn is_used(&self, frame: u64) -> bool {
        self.bits[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, used: bool) {
        let word = &mut self.bits[(frame / 64) as usize];
        if used {
            *word |= 1 << (frame % 64);
        } else {
            *word &= !(1 << (frame % 64));
        }
    }

    /// Marks frames `start..end` free (frames beyond the bitmap are ignored;
    /// frames already free stay free).
    pub fn release_range(&mut self, start: u64, end: u64) {
        self.mark_range(start, end, false);
        self.hint = self.hint.min(start);
    }

    /// Marks frames `start..end` in use (for memory taken before the
    /// allocator existed, such as the bitmap itself).
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        self.mark_range(start, end, true);
        if (start..end).contains(&self.hint) {
            self.hint = end;
        }
    }

    /// Sets frames `start..end` used or free a word at a time, keeping
    /// `free` exact (boot marks all of memory this way).
    fn mark_range(&mut self, start: u64, end: u64, used: bool) {
        let end = end.min(self.frame_count);
        let mut f = start;
        while f < end {
            let bit = f % 64;
            let n = (64 - bit).min(end - f);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            let word = &mut self.bits[(f / 64) as usize];
            let were_used = match *word & mask {
                0 => 0,
                m if m == mask => n,
                m => u64::from(m.count_ones()),
            };
            if used {
                *word |= mask;
                self.free -= n - were_used;
            } else {
                *word &= !mask;
                self.free += were_used;
            }
            f += n;
        }
    }

    /// The lowest free frame, marked used.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.free == 0 {
            return None;
        }
        let first = (self.hint / 64) as usize;
        for i in first..self.bits.len() {
            let w = self.bits[i];
            if w != u64::MAX {
                let frame = i as u64 * 64 + u64::from((!w).trailing_zeros());
                if frame < self.frame_count {
                    self.set(frame, true);
                    self.free -= 1;
                    self.hint = frame + 1;
                    return Some(frame);
                }
            }
        }
        None
    }

    /// `n` consecutive free frames, marked used; returns the first.
    pub fn alloc_contiguous(&mut self, n: u64) -> Option<u64> {
        if n == 0 || n > self.free {
            return None;
        }
        let mut run = 0;
        let mut f = 0;
        while f < self.frame_count {
            // Whole words at once where they are all used or all free.
            let word = self.bits[(f / 64) as usize];
            if f % 64 == 0 && f + 64 <= self.frame_count && (word == 0 || word == u64::MAX) {
                if word == u64::MAX {
                    run = 0;
                } else if run + 64 >= n {
                    let start = f - run;
                    self.reserve_range(start, start + n);
                    return Some(start);
                } else {
                    run += 64;
                }
                f += 64;
                continue;
            }
            run = if self.is_used(f) { 0 } else { run + 1 };
            if run == n {
                let start = f + 1 - n;
                self.reserve_range(start, f + 1);
                return Some(start);
            }
            f += 1;
        }
        None
    }

    /// Gives a frame back.
    pub fn free(&mut self, frame: u64) -> Result<(), DoubleFree> {
        if frame >= self.frame_count || !self.is_used(frame) {
            return Err(DoubleFree(frame));
        }
        self.set(frame, false);
        self.free += 1;
        self.hint = self.hint.min(frame);
        Ok(())
    }

    /// Frames currently free.
    pub fn free_count(&self) -> u64 {
        self.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::vec::Vec;

    #[test]
    fn starts_full_and_counts_releases() {
        let mut bits = [0u64; 4];
        let mut fb = FrameBitmap::new(&mut bits, 200);
        assert_eq!(fb.free_count(), 0);
        assert_eq!(fb.alloc(), None);
        fb.release_range(10, 20);
        fb.release_range(15, 25); // overlap counted once
        assert_eq!(fb.free_count(), 15);
        fb.release_range(190, 1000); // clipped to the bitmap
        assert_eq!(fb.free_count(), 25);
        fb.reserve_range(10, 12);
        assert_eq!(fb.free_count(), 23);
    }

    #[test]
    fn ranges_across_words_keep_counts_exact() {
        let mut bits = [0u64; 4];
        let mut fb = FrameBitmap::new(&mut bits, 256);
        fb.release_range(30, 200);
        assert_eq!(fb.free_count(), 170);
        fb.reserve_range(60, 130);
        assert_eq!(fb.free_count(), 100);
        fb.release_range(0, 256);
        assert_eq!(fb.free_count(), 256);
        fb.reserve_range(63, 65);
        assert_eq!(fb.free_count(), 254);
        let got: Vec<u64> = core::iter::from_fn(|| fb.alloc()).collect();
        assert_eq!(got.len(), 254);
        assert!(!got.contains(&63) && !got.contains(&64));
    }

    #[test]
    fn contiguous_runs_across_many_words() {
        let mut bits = [0u64; 8];
        let mut fb = FrameBitmap::new(&mut bits, 512);
        fb.release_range(10, 100); // 90 free, then a hole
        fb.release_range(130, 512); // 382 free
        assert_eq!(
            fb.alloc_contiguous(91),
            Some(130),
            "does not fit before the hole"
        );
        assert_eq!(fb.alloc_contiguous(90), Some(10));
        assert_eq!(fb.alloc_contiguous(200), Some(221));
        assert_eq!(fb.alloc_contiguous(92), None, "only 91 left");
        assert_eq!(fb.alloc_contiguous(91), Some(421));
        assert_eq!(fb.free_count(), 0);
    }

    #[test]
    fn alloc_and_free_are_exact() {
        let mut bits = [0u64; 2];
        let mut fb = FrameBitmap::new(&mut bits, 128);
        fb.release_range(1, 128);
        let mut seen = HashSet::new();
        while let Some(f) = fb.alloc() {
            assert!((1..128).contains(&f));
            assert!(seen.insert(f), "frame {f} handed out twice");
        }
        assert_eq!(seen.len(), 127);
        assert_eq!(fb.free_count(), 0);
        fb.free(77).unwrap();
        assert_eq!(fb.free(77), Err(DoubleFree(77)));
        assert_eq!(fb.free(128), Err(DoubleFree(128)), "beyond the bitmap");
        assert_eq!(fb.alloc(), Some(77));
    }

    #[test]
    fn contiguous_runs_skip_holes() {
        let mut bits = [0u64; 1];
        let mut fb = FrameBitmap::new(&mut bits, 64);
        fb.release_range(0, 3);
        fb.release_range(5, 12);
        assert_eq!(fb.alloc_contiguous(4), Some(5));
        assert_eq!(fb.free_count(), 6);
        assert_eq!(fb.alloc_contiguous(4), None, "only runs of 3 left");
        assert_eq!(fb.alloc_contiguous(3), Some(0));
        assert_eq!(fb.alloc_contiguous(0), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Release(u64, u64),
        Reserve(u64, u64),
        Alloc,
        Contiguous(u64),
        Free(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..200, 0u64..80).prop_map(|(s, n)| Op::Release(s, s + n)),
            (0u64..200, 0u64..80).prop_map(|(s, n)| Op::Reserve(s, s + n)),
            Just(Op::Alloc),
            Just(Op::Alloc),
            (0u64..70).prop_map(Op::Contiguous),
            (0u64..200).prop_map(Op::Free),
        ]
    }

    proptest! {
        /// Against a model (one flag per frame): counts stay exact, `alloc`
        /// gives the lowest free frame, `alloc_contiguous` the lowest run.
        #[test]
        fn behaves_like_a_set_of_used_frames(ops in proptest::collection::vec(op(), 1..80)) {
            const FRAMES: u64 = 190;
            let mut bits = [0u64; 3];
            let mut fb = FrameBitmap::new(&mut bits, FRAMES);
            let mut used = [true; FRAMES as usize];
            for op in ops {
                match op {
                    Op::Release(s, e) | Op::Reserve(s, e) => {
                        let now_used = matches!(op, Op::Reserve(..));
                        match now_used {
                            true => fb.reserve_range(s, e),
                            false => fb.release_range(s, e),
                        }
                        for f in s..e.min(FRAMES) {
                            used[f as usize] = now_used;
                        }
                    }
                    Op::Alloc => {
                        let lowest = used.iter().position(|u| !u).map(|f| f as u64);
                        prop_assert_eq!(fb.alloc(), lowest);
                        if let Some(f) = lowest {
                            used[f as usize] = true;
                        }
                    }
                    Op::Contiguous(n) => {
                        let lowest = (0..FRAMES.saturating_sub(n) + 1)
                            .find(|&s| n > 0 && (s..s + n).all(|f| !used[f as usize]));
                        prop_assert_eq!(fb.alloc_contiguous(n), lowest);
                        for f in lowest.map_or(0..0, |s| s..s + n) {
                            used[f as usize] = true;
                        }
                    }
                    Op::Free(f) => {
                        let was_used = used.get(f as usize) == Some(&true);
                        prop_assert_eq!(fb.free(f).is_ok(), was_used);
                        if was_used {
                            used[f as usize] = false;
                        }
                    }
                }
                let free = used.iter().filter(|u| !**u).count() as u64;
                prop_assert_eq!(fb.free_count(), free);
            }
        }
    }
}
