//! `struct folio` and the reference arithmetic of GUP (`mm/gup.c` `try_grab_folio_fast`,
//! `try_grab_folio`, `gup_put_folio`; `include/linux/mm.h`; kernel brief §4.1).
//!
//! A [`Folio`] can only be obtained from [`page_folio`], which resolves the head, so "add a pin
//! to a tail" cannot be written.

use std::sync::atomic::Ordering;

use crate::machine::Fault;
use crate::mm::page::{FolioTail, Memmap, Page, PagePtr, PG_DIRTY, PG_HEAD};

/// `GUP_PIN_COUNTING_BIAS`: a pin on an order-0 folio adds this much to its refcount.
pub const GUP_PIN_COUNTING_BIAS: i32 = 1 << 10;

/// A folio: a head page (or an order-0 page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folio(PagePtr);

/// `page_folio`: the folio `page` belongs to.
pub fn page_folio(mm: &mut Memmap<'_>, page: PagePtr) -> Result<Folio, Fault> {
    mm.compound_head(page).map(Folio)
}

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
}

impl Folio {
    /// The head page.
    #[must_use]
    pub fn head(self) -> PagePtr {
        self.0
    }

    fn head_page<'m>(self, mm: &mut Memmap<'m>) -> Result<&'m Page, Fault> {
        mm.page(self.0)
    }

    /// True for a compound (large) folio.
    pub fn is_large(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        Ok(self.head_page(mm)?.flags() & PG_HEAD != 0)
    }

    /// `folio_nr_pages`.
    pub fn nr_pages(self, mm: &mut Memmap<'_>) -> Result<u64, Fault> {
        if !self.is_large(mm)? {
            return Ok(1);
        }
        let g = mm.geometry();
        Ok(FolioTail(mm.page(self.0.nth(g, 1))?).nr_pages())
    }

    /// `folio_ref_count`.
    pub fn ref_count(self, mm: &mut Memmap<'_>) -> Result<i32, Fault> {
        Ok(self.head_page(mm)?.ref_count())
    }

    /// `folio_pincount` (0 for small folios, which have none).
    pub fn pincount(self, mm: &mut Memmap<'_>) -> Result<i64, Fault> {
        if !self.is_large(mm)? {
            return Ok(0);
        }
        let g = mm.geometry();
        Ok(FolioTail(mm.page(self.0.nth(g, 1))?).pincount())
    }

    /// `folio_maybe_dma_pinned`: exact for large folios (`_pincount > 0`), fuzzy for small ones
    /// (`_refcount ≥ GUP_PIN_COUNTING_BIAS`).
    pub fn maybe_dma_pinned(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        if self.is_large(mm)? {
            Ok(self.pincount(mm)? > 0)
        } else {
            Ok(self.ref_count(mm)? >= GUP_PIN_COUNTING_BIAS)
        }
    }

    /// `folio_ref_try_add`: adds `n` unless the count is 0 (being freed) or would overflow.
    fn ref_try_add(self, mm: &mut Memmap<'_>, n: i32, st: &mut RefStats) -> Result<bool, Fault> {
        let page = self.head_page(mm)?;
        st.refcount_atomics += 1;
        // AcqRel: a successful grab orders before the caller's re-check of the page table (the
        // kernel's full barrier after the grab); pairs with the put that drops the count.
        let r = page
            .refcount
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                if c <= 0 {
                    None
                } else {
                    c.checked_add(n)
                }
            });
        Ok(r.is_ok())
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
        let refs_i = i32::try_from(refs).unwrap_or(i32::MAX);
        let large = self.is_large(mm)?;
        let add = match (kind, large) {
            (RefKind::Pin, false) => match refs_i.checked_mul(GUP_PIN_COUNTING_BIAS) {
                Some(v) => v,
                None => return Ok(false),
            },
            _ => refs_i,
        };
        if !self.ref_try_add(mm, add, st)? {
            return Ok(false);
        }
        if kind == RefKind::Pin && large {
            let g = mm.geometry();
            let t1 = mm.page_mut(self.0.nth(g, 1))?;
            t1.private.fetch_add(u64::from(refs), Ordering::AcqRel);
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
        let refs_i = i32::try_from(refs).unwrap_or(i32::MAX);
        let large = self.is_large(mm)?;
        let sub = if kind == RefKind::Pin {
            if large {
                let g = mm.geometry();
                let t1 = mm.page_mut(self.0.nth(g, 1))?;
                t1.private.fetch_sub(u64::from(refs), Ordering::AcqRel);
                st.pincount_atomics += 1;
                refs_i
            } else {
                refs_i.saturating_mul(GUP_PIN_COUNTING_BIAS)
            }
        } else {
            refs_i
        };
        st.refcount_atomics += 1;
        // Release: everything done with the pages happens before the reference is dropped.
        self.head_page(mm)?
            .refcount
            .fetch_sub(sub, Ordering::AcqRel);
        Ok(())
    }

    /// Marks the folio dirty if it is not already (`folio_mark_dirty` under the folio lock; the
    /// unlocked "already dirty" check may race with writeback, harmlessly).
    pub fn mark_dirty(self, mm: &mut Memmap<'_>, st: &mut RefStats) -> Result<(), Fault> {
        let p = self.head_page(mm)?;
        if p.flags() & PG_DIRTY == 0 {
            mm.page_mut(self.0)?
                .flags
                .fetch_or(PG_DIRTY, Ordering::AcqRel);
            st.dirtied += 1;
        }
        Ok(())
    }
}
