//! The physical limits benchmarks compare against (design README §5): the unavoidable memory
//! traffic of an operation, timed on this machine in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The largest buffer a limit measurement writes; larger byte counts make several passes.
const MAX_BUFFER: usize = 1 << 30;

/// A reusable buffer for timing plain loads and stores.
#[derive(Debug, Default)]
pub struct MemLimit {
    buf: Vec<u8>,
}

impl MemLimit {
    /// A limit meter with no buffer yet.
    #[must_use]
    pub fn new() -> MemLimit {
        MemLimit::default()
    }

    /// Time to write `bytes` bytes with plain stores (memset), the least any code writing that
    /// much memory can take. The buffer is allocated (and faulted in) on first use, outside the
    /// timed region, like the frames a warmed-up simulation reuses.
    pub fn write(&mut self, bytes: u64) -> Duration {
        let want = usize::try_from(bytes).unwrap_or(usize::MAX).min(MAX_BUFFER);
        if self.buf.len() < want {
            self.buf = vec![1u8; want];
        }
        let mut left = bytes;
        let t = Instant::now();
        while left > 0 {
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len().max(1));
            if self.buf.is_empty() {
                break;
            }
            self.buf[..n].fill(0x5a);
            black_box(&mut self.buf);
            left -= n as u64;
        }
        t.elapsed()
    }

    /// Time to read `bytes` bytes (summing 64-bit words), the least any code reading that much
    /// memory can take: the limit of unpinning N pages is reading their N pointers.
    pub fn read(&mut self, bytes: u64) -> Duration {
        let want = usize::try_from(bytes).unwrap_or(usize::MAX).min(MAX_BUFFER);
        if self.buf.len() < want {
            self.buf = vec![1u8; want];
        }
        let mut left = bytes;
        let t = Instant::now();
        let mut acc = 0u64;
        while left > 0 && !self.buf.is_empty() {
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            acc = self.buf[..n].chunks_exact(8).fold(acc, |a, c| {
                a.wrapping_add(u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            });
            left -= n as u64;
        }
        black_box(acc);
        t.elapsed()
    }
}
