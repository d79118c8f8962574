//! The physical limits benchmarks compare against (design README §5): the unavoidable memory
//! traffic of an operation, timed on this machine in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The largest buffer a limit measurement touches (in 64-bit words); larger byte counts make
/// several passes.
const MAX_WORDS: usize = 1 << 27;

/// The largest buffer a limit measurement allocates, in bytes.
pub const MAX_BYTES: u64 = (MAX_WORDS as u64) * 8;

/// A reusable buffer for timing plain loads and stores.
#[derive(Debug, Default)]
pub struct MemLimit {
    buf: Vec<u64>,
}

impl MemLimit {
    /// A limit meter with no buffer yet.
    #[must_use]
    pub fn new() -> MemLimit {
        MemLimit::default()
    }

    /// Makes the buffer at least `bytes` long (capped), touching it outside any timed region,
    /// like the frames a warmed-up simulation reuses. Returns the words to cover.
    fn prepare(&mut self, bytes: u64) -> u64 {
        let words = bytes.div_ceil(8);
        let want = usize::try_from(words).unwrap_or(usize::MAX).min(MAX_WORDS);
        if self.buf.len() < want {
            self.buf = vec![1u64; want];
        }
        words
    }

    /// Time to write `bytes` bytes with plain stores, the least any code writing that much
    /// memory can take.
    pub fn write(&mut self, bytes: u64) -> Duration {
        let mut left = self.prepare(bytes);
        let t = Instant::now();
        while left > 0 && !self.buf.is_empty() {
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            self.buf[..n].fill(0x5a5a_5a5a_5a5a_5a5a);
            black_box(&mut self.buf);
            left -= n as u64;
        }
        t.elapsed()
    }

    /// Time to do `n` atomic increments of one word: the least `n` `get_page` calls on one
    /// frame can take (populate takes a reference on the reused frame for every PTE mapping it).
    pub fn atomics(&mut self, n: u64) -> Duration {
        let word = std::sync::atomic::AtomicU64::new(0);
        let t = Instant::now();
        for _ in 0..n {
            black_box(&word).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let d = t.elapsed();
        black_box(word.into_inner());
        d
    }

    /// Time to read `bytes` bytes (summing 64-bit words), the least any code reading that much
    /// memory can take: the limit of unpinning N pages is reading their N pointers.
    pub fn read(&mut self, bytes: u64) -> Duration {
        let mut left = self.prepare(bytes);
        let t = Instant::now();
        let mut acc = 0u64;
        while left > 0 && !self.buf.is_empty() {
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            acc = self.buf[..n].iter().fold(acc, |a, &w| a.wrapping_add(w));
            left -= n as u64;
        }
        black_box(acc);
        t.elapsed()
    }
}
