//! A small software TLB: a per-CPU cache of vmemmap translations.
//!
//! Every struct page access translates a kernel virtual address; the TLB makes the common case
//! a tag compare, as on hardware. It is flushed by generation: `flush_tlb_kernel_range` bumps the
//! machine's generation and every entry of an older generation misses.

use crate::addr::{Pfn, VirtAddr};

const ENTRIES: usize = 64;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    vpn: u64,
    pfn: Pfn,
    writable: bool,
    gen: u64,
}

/// One CPU's TLB. Not shared: each thread that touches struct pages owns one.
#[derive(Debug, Clone)]
pub struct Tlb {
    entries: [Entry; ENTRIES],
    /// Translations served from the cache.
    pub hits: u64,
    /// Translations that walked the page tables.
    pub misses: u64,
}

impl Default for Tlb {
    fn default() -> Self {
        // Generation 0 is never current (the machine starts at 1), so all entries miss.
        Tlb {
            entries: [Entry::default(); ENTRIES],
            hits: 0,
            misses: 0,
        }
    }
}

impl Tlb {
    /// A cold TLB.
    #[must_use]
    pub fn new() -> Tlb {
        Tlb::default()
    }

    fn slot(vpn: u64) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let i = (vpn as usize) % ENTRIES;
        i
    }

    /// The cached frame for virtual page `va >> 12`, if current.
    #[must_use]
    pub fn lookup(&mut self, va: VirtAddr, gen: u64, write: bool) -> Option<Pfn> {
        let vpn = va.0 >> 12;
        let e = self.entries[Self::slot(vpn)];
        if e.gen == gen && e.vpn == vpn && (e.writable || !write) {
            self.hits += 1;
            Some(e.pfn)
        } else {
            self.misses += 1;
            None
        }
    }

    /// Caches a translation made at generation `gen`.
    pub fn fill(&mut self, va: VirtAddr, pfn: Pfn, writable: bool, gen: u64) {
        let vpn = va.0 >> 12;
        self.entries[Self::slot(vpn)] = Entry {
            vpn,
            pfn,
            writable,
            gen,
        };
    }
}
