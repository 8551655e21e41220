//! Random bytes for programs (a Linux program's `AT_RANDOM`, `getrandom`):
//! the CPU's RDRAND when it has one (QEMU's `-cpu max` does), else a
//! splitmix64 sequence mixed with the time-stamp counter. The fallback is
//! unpredictable enough for stack canaries and hash seeds, not for keys.

use crate::arch::cpu::{rdrand, rdtsc};
use core::sync::atomic::{AtomicU64, Ordering};

/// splitmix64's increment (the golden ratio).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

static STATE: AtomicU64 = AtomicU64::new(GOLDEN);

/// One random 64-bit number.
pub fn next_u64() -> u64 {
    if let Some(v) = rdrand() {
        return v;
    }
    let mut z = STATE.fetch_add(GOLDEN, Ordering::Relaxed) ^ rdtsc();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let bytes = next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}
