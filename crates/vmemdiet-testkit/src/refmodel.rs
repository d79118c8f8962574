//! A plain reference model of folio reference counts under GUP (kernel brief §4.1), written
//! from the brief alone: a map from folio to expected `_refcount` and `_pincount`.
//!
//! - FOLL_GET × n: refcount += n.
//! - FOLL_PIN × n: order-0 folio refcount += 1024·n; large folio refcount += n, pincount += n.
//! - unpin / put undo exactly that.
//! - A DAX-folio mapping (6.15+) holds one reference per leaf that maps the folio.
//! - `folio_maybe_dma_pinned`: large → pincount > 0; order-0 → refcount ≥ 1024.

use std::collections::HashMap;

/// `GUP_PIN_COUNTING_BIAS`.
pub const BIAS: i64 = 1024;

/// Expected counts of every folio of a device.
#[derive(Debug, Clone)]
pub struct RefModel {
    /// Pages per folio (1 for order-0).
    pub folio_pages: u64,
    /// head pfn → (refcount, pincount).
    counts: HashMap<u64, (i64, i64)>,
}

impl RefModel {
    /// `nr_pages` pages from `first_pfn` in folios of `folio_pages`, each at the idle refcount
    /// `base` (1 for device-dax) and pincount 0.
    #[must_use]
    pub fn new(first_pfn: u64, nr_pages: u64, folio_pages: u64, base: i64) -> RefModel {
        let counts = (0..nr_pages / folio_pages)
            .map(|i| (first_pfn + i * folio_pages, (base, 0)))
            .collect();
        RefModel {
            folio_pages,
            counts,
        }
    }

    /// The head pfn of the folio holding `pfn`.
    #[must_use]
    pub fn head(&self, pfn: u64) -> u64 {
        pfn - pfn % self.folio_pages
    }

    fn entry(&mut self, pfn: u64) -> &mut (i64, i64) {
        let h = self.head(pfn);
        self.counts
            .get_mut(&h)
            .expect("pfn inside the modelled device")
    }

    /// FOLL_PIN of each pfn in `pfns`.
    pub fn pin(&mut self, pfns: &[u64]) {
        let large = self.folio_pages > 1;
        for &p in pfns {
            let e = self.entry(p);
            if large {
                e.0 += 1;
                e.1 += 1;
            } else {
                e.0 += BIAS;
            }
        }
    }

    /// Unpin of each pfn in `pfns`.
    pub fn unpin(&mut self, pfns: &[u64]) {
        let large = self.folio_pages > 1;
        for &p in pfns {
            let e = self.entry(p);
            if large {
                e.0 -= 1;
                e.1 -= 1;
            } else {
                e.0 -= BIAS;
            }
        }
    }

    /// FOLL_GET of each pfn.
    pub fn get(&mut self, pfns: &[u64]) {
        for &p in pfns {
            self.entry(p).0 += 1;
        }
    }

    /// `put_page` of each pfn.
    pub fn put(&mut self, pfns: &[u64]) {
        for &p in pfns {
            self.entry(p).0 -= 1;
        }
    }

    /// A leaf mapping of the folio holding `pfn` was added (`delta` = 1) or removed (−1).
    pub fn map(&mut self, pfn: u64, delta: i64) {
        self.entry(pfn).0 += delta;
    }

    /// Expected (refcount, pincount) of the folio with head `head`.
    #[must_use]
    pub fn expected(&self, head: u64) -> (i64, i64) {
        self.counts[&head]
    }

    /// `folio_maybe_dma_pinned` as the model sees it.
    #[must_use]
    pub fn maybe_dma_pinned(&self, head: u64) -> bool {
        let (r, p) = self.counts[&head];
        if self.folio_pages > 1 {
            p > 0
        } else {
            r >= BIAS
        }
    }

    /// Heads of all folios.
    pub fn heads(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order0_pins_use_the_bias_and_large_folios_the_pincount() {
        let mut m = RefModel::new(0, 4, 1, 1);
        m.pin(&[2, 2, 2]);
        assert_eq!(m.expected(2), (1 + 3 * 1024, 0));
        assert!(m.maybe_dma_pinned(2));
        let mut m = RefModel::new(512, 1024, 512, 1);
        m.pin(&(600..700).collect::<Vec<_>>());
        assert_eq!(m.expected(512), (101, 100));
        m.unpin(&(600..700).collect::<Vec<_>>());
        assert!(!m.maybe_dma_pinned(512));
    }
}
