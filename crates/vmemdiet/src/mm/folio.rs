//! The reference arithmetic of GUP on folios (`mm/gup.c` `try_grab_folio_fast`,
//! `try_grab_folio`, `gup_put_folio`; `include/linux/mm.h`; kernel brief §4.1). The
//! [`Folio`] type and its count primitives live with `struct page` in [`crate::mm::page`],
//! as `struct folio` lives in `mm_types.h`.

use crate::machine::Fault;
pub use crate::mm::page::{page_folio, Folio};
use crate::mm::page::{Memmap, PG_DIRTY, PG_REFERENCED};

/// `ZONE_MOVABLE` in this model's zone numbering (DMA32, NORMAL, MOVABLE, DEVICE).
pub const ZONE_MOVABLE: u64 = 2;

/// `GUP_PIN_COUNTING_BIAS`: a pin on an order-0 folio adds this much to its refcount.
pub const GUP_PIN_COUNTING_BIAS: i32 = 1 << 10;

/// Whether a reference is a plain get or a pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// `FOLL_GET`.
    Get,
    /// `FOLL_PIN`.
    Pin,
}

/// Counts of struct-page atomics, the cost GUP and unpin pay per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefStats {
    /// Atomic read-modify-writes of a folio's `_refcount` (grabs and puts).
    pub refcount_atomics: u64,
    /// Atomic read-modify-writes of a large folio's `_pincount`.
    pub pincount_atomics: u64,
    /// Folios marked dirty (`folio_mark_dirty` under the folio lock).
    pub dirtied: u64,
    /// Atomic bit operations on a folio's `PG_referenced` (`folio_set_referenced`,
    /// `folio_mark_accessed`).
    pub flag_atomics: u64,
}

impl Folio {
    /// `folio_maybe_dma_pinned`: exact for large folios (`_pincount > 0`), fuzzy for small ones
    /// (`_refcount ≥ GUP_PIN_COUNTING_BIAS`).
    pub fn maybe_dma_pinned(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        if self.is_large(mm)? {
            Ok(self.pincount(mm)? > 0)
        } else {
            Ok(self.ref_count(mm)? >= GUP_PIN_COUNTING_BIAS)
        }
    }

    /// `folio_is_longterm_pinnable`: false for folios in `ZONE_MOVABLE` (and CMA or
    /// device-coherent memory, which the model does not have), which a long-term pin would
    /// keep from moving; true for other RAM, HugeTLB and device-dax (`MEMORY_DEVICE_GENERIC`).
    pub fn is_longterm_pinnable(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        Ok(mm.page(self.head())?.zone() != ZONE_MOVABLE)
    }

    /// `try_grab_folio_fast` / `try_grab_folio` arithmetic: FOLL_GET adds `refs` to the
    /// refcount; FOLL_PIN adds `refs × 1024` on an order-0 folio, or `refs` to the refcount and
    /// `refs` to `_pincount` on a large one. Refuses (returns false, nothing changed) when the
    /// refcount is not positive or would overflow.
    pub fn try_grab(
        self,
        mm: &mut Memmap<'_>,
        refs: u32,
        kind: RefKind,
        st: &mut RefStats,
    ) -> Result<bool, Fault> {
        let Ok(refs_i) = i32::try_from(refs) else {
            return Ok(false);
        };
        let large = self.is_large(mm)?;
        let add = match (kind, large) {
            (RefKind::Pin, false) => match refs_i.checked_mul(GUP_PIN_COUNTING_BIAS) {
                Some(v) => v,
                None => return Ok(false),
            },
            (RefKind::Pin, true) | (RefKind::Get, _) => refs_i,
        };
        st.refcount_atomics += 1;
        if !self.ref_try_add(mm, add)? {
            return Ok(false);
        }
        if kind == RefKind::Pin && large {
            self.pincount_add(mm, refs)?;
            st.pincount_atomics += 1;
        }
        Ok(true)
    }

    /// `gup_put_folio`: undoes [`try_grab`](Self::try_grab) of `refs`.
    pub fn put(
        self,
        mm: &mut Memmap<'_>,
        refs: u32,
        kind: RefKind,
        st: &mut RefStats,
    ) -> Result<(), Fault> {
        let refs_i = i32::try_from(refs).expect("refs were grabbed as an i32");
        let large = self.is_large(mm)?;
        let sub = match (kind, large) {
            (RefKind::Pin, true) => {
                self.pincount_sub(mm, refs)?;
                st.pincount_atomics += 1;
                refs_i
            }
            (RefKind::Pin, false) => refs_i.saturating_mul(GUP_PIN_COUNTING_BIAS),
            (RefKind::Get, _) => refs_i,
        };
        st.refcount_atomics += 1;
        self.ref_sub(mm, sub)?;
        Ok(())
    }

    /// `folio_set_referenced`: an unconditional atomic `set_bit` of `PG_referenced` on the head
    /// (GUP-fast does it per 4 KiB page on devmap leaves up to 6.14, per PTE, and once per
    /// folio leaf from 6.15).
    pub fn set_referenced(self, mm: &mut Memmap<'_>, st: &mut RefStats) -> Result<(), Fault> {
        mm.page_mut(self.head())?.set_flags(PG_REFERENCED);
        st.flag_atomics += 1;
        Ok(())
    }

    /// `folio_mark_accessed` without MGLRU: the first access sets `PG_referenced`; the next
    /// one, on a folio that is not active, activates it and clears the bit again. Activation
    /// moves an LRU folio between lists, which the model does not have: device-dax folios are
    /// never on an LRU, so for them the bit only toggles.
    pub fn mark_accessed(self, mm: &mut Memmap<'_>, st: &mut RefStats) -> Result<(), Fault> {
        let head = mm.page_mut(self.head())?;
        if head.flags() & PG_REFERENCED == 0 {
            head.set_flags(PG_REFERENCED);
        } else {
            head.clear_flags(PG_REFERENCED);
        }
        st.flag_atomics += 1;
        Ok(())
    }

    /// Marks the folio dirty if it is not already (`folio_mark_dirty` under the folio lock; the
    /// unlocked "already dirty" check may race with writeback, harmlessly).
    pub fn mark_dirty(self, mm: &mut Memmap<'_>, st: &mut RefStats) -> Result<(), Fault> {
        if mm.page(self.head())?.flags() & PG_DIRTY == 0 {
            mm.page_mut(self.head())?.set_flags(PG_DIRTY);
            st.dirtied += 1;
        }
        Ok(())
    }
}
