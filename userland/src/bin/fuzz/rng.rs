//! The fuzzer's own pseudo-random numbers: SplitMix64, which is small,
//! fast, and good enough to drive a campaign; the same seed gives the same
//! sequence on every run. [`Rng::boundary`] draws the integers that break
//! code: zero, ones, sign and width limits, powers of two and their
//! neighbours, page multiples off by one.

/// A SplitMix64 generator.
pub struct Rng(u64);

/// Mixes two words into a seed (a SplitMix64 step over their sum).
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0, 0)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index into a slice of length `n` (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// A value that breaks code more often than a uniform one.
    pub fn boundary(&mut self) -> u64 {
        let bit = self.below(64);
        match self.below(12) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => 1 << bit,
            4 => (1u64 << bit).wrapping_sub(1),
            5 => (1u64 << bit).wrapping_add(1),
            6 => i32::MAX as u64 + self.below(3) - 1,
            7 => u32::MAX as u64 + self.below(3) - 1,
            8 => i64::MAX as u64 + self.below(3) - 1,
            9 => (self.below(64) * 4096)
                .wrapping_add(self.below(3))
                .wrapping_sub(1),
            10 => self.below(256),
            _ => self.next(),
        }
    }
}

/// One of `items`, for choices computed with `rng` itself (they are made
/// before `rng` is borrowed for the choice).
pub fn choose<T: Copy, const N: usize>(items: [T; N], rng: &mut Rng) -> T {
    rng.pick(&items)
}
