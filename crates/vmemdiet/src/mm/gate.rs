//! The lockless-walker gate of GUP-fast: what `local_irq_save` in `gup_fast` and the
//! TLB-shootdown IPI (or RCU table freeing, `tlb_remove_table`) in munmap achieve together
//! (`mm/gup.c`, `mm/mmu_gather.c`).
//!
//! The gate is generic over its [`Primitives`] so that this very code, not a copy, is what the
//! shuttle model test (`crates/vmemdiet-testkit/tests/gup_race_model.rs`, INV-7) explores:
//! `FastGate` is `FastGate<Std>` everywhere else. See [`crate::sync`] for why this is a type
//! parameter and not a feature-switched import.

use crate::sync::{AtomicU64 as _, Mutex as _, Ordering, Primitives, Std};

/// The lockless-walker gate: what `local_irq_save` in GUP-fast and the TLB-shootdown IPI (or
/// RCU table freeing) in munmap achieve together. GUP-fast walks inside [`FastGate::enter`];
/// munmap calls [`FastGate::synchronize`] after clearing entries and before freeing page-table
/// frames, so no walker can still be reading a table that is freed.
///
/// `P` picks the atomics and lock: [`Std`] (the default) in the library, `Shuttle` in the model
/// test.
#[derive(Debug, Default)]
pub struct FastGate<P: Primitives = Std> {
    /// Bumped by every `synchronize`; its low bit names the reader counter new walkers join.
    phase: P::AtomicU64,
    /// Walkers inside the gate, per phase parity.
    readers: [P::AtomicU64; 2],
    /// Serializes `synchronize` calls, so two writers never flip the phase under each other.
    writer: P::Mutex,
}

/// A GUP-fast critical section.
#[derive(Debug)]
pub struct GateGuard<'g, P: Primitives = Std> {
    gate: &'g FastGate<P>,
    phase: usize,
}

impl<P: Primitives> FastGate<P> {
    /// Enters a lockless walk.
    pub fn enter(&self) -> GateGuard<'_, P> {
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
        let _w = self.writer.lock();
        #[allow(clippy::cast_possible_truncation)]
        let old = (self.phase.fetch_add(1, Ordering::SeqCst) & 1) as usize;
        while self.readers[old].load(Ordering::SeqCst) != 0 {
            P::yield_now();
        }
    }
}

impl<P: Primitives> Drop for GateGuard<'_, P> {
    fn drop(&mut self) {
        self.gate.readers[self.phase].fetch_sub(1, Ordering::SeqCst);
    }
}
