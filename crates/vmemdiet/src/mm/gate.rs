//! The lockless-walker gate of GUP-fast: what `local_irq_save` in `gup_fast` and the
//! TLB-shootdown IPI (or RCU table freeing, `tlb_remove_table`) in munmap achieve together
//! (`mm/gup.c`, `mm/mmu_gather.c`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The lockless-walker gate: what `local_irq_save` in GUP-fast and the TLB-shootdown IPI (or
/// RCU table freeing) in munmap achieve together. GUP-fast walks inside [`FastGate::enter`];
/// munmap calls [`FastGate::synchronize`] after clearing entries and before freeing page-table
/// frames, so no walker can still be reading a table that is freed.
#[derive(Debug, Default)]
pub struct FastGate {
    phase: AtomicU64,
    readers: [AtomicU64; 2],
    writer: Mutex<()>,
}

/// A GUP-fast critical section.
#[derive(Debug)]
pub struct GateGuard<'g> {
    gate: &'g FastGate,
    phase: usize,
}

impl FastGate {
    /// Enters a lockless walk.
    pub fn enter(&self) -> GateGuard<'_> {
        loop {
            #[allow(clippy::cast_possible_truncation)]
            let p = (self.phase.load(Ordering::SeqCst) & 1) as usize;
            self.readers[p].fetch_add(1, Ordering::SeqCst);
            // SeqCst pairs with the phase flip in `synchronize`: either the writer sees this
            // reader in the old phase's count, or this reader sees the new phase and retries.
            if (self.phase.load(Ordering::SeqCst) & 1) as usize == p {
                return GateGuard {
                    gate: self,
                    phase: p,
                };
            }
            self.readers[p].fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Waits until every walk that started before this call has finished.
    pub fn synchronize(&self) {
        let _w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        #[allow(clippy::cast_possible_truncation)]
        let old = (self.phase.fetch_add(1, Ordering::SeqCst) & 1) as usize;
        while self.readers[old].load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        self.gate.readers[self.phase].fetch_sub(1, Ordering::SeqCst);
    }
}
