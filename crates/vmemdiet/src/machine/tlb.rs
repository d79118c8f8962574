//! A small software TLB: a per-CPU cache of vmemmap translations.
//!
//! Every struct page access translates a kernel virtual address; the TLB makes the common case
//! a tag compare, as on hardware. It is flushed by generation: `flush_tlb_kernel_range` bumps the
//! machine's generation and every entry of an older generation misses.
//!
//! Beside it sits a one-entry paging-structure cache: the PTE table of the last miss, so that a
//! miss under the same PMD reads one entry instead of walking from the root (as x86's PDE cache
//! does). Freeing a page table is followed by the same flush, which drops it too.

use crate::addr::{Pfn, VirtAddr};
use crate::arch::{Geometry, Level};

const ENTRIES: usize = 64;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    vpn: u64,
    pfn: Pfn,
    /// Host address of the frame body, valid only for the machine `machine`.
    host: usize,
    writable: bool,
    gen: u64,
    machine: u64,
}

/// A cached translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cached {
    pub(super) pfn: Pfn,
    /// Host address of the frame body (see [`Tlb::fill`]).
    pub(super) host: usize,
}

/// One CPU's TLB. Not shared: each thread that touches struct pages owns one.
#[derive(Debug, Clone)]
pub struct Tlb {
    entries: [Entry; ENTRIES],
    /// `PAGE_SHIFT`: entries cache one base page each.
    page_shift: u32,
    /// `PMD_SHIFT`: the span of one PTE table.
    pmd_shift: u32,
    /// The paging-structure cache: the PTE table of the last miss.
    walk: WalkEntry,
}

/// The paging-structure cache's entry: the PTE table mapping the PMD-sized range `tag`.
#[derive(Debug, Clone, Copy, Default)]
struct WalkEntry {
    tag: u64,
    table: Pfn,
    gen: u64,
    machine: u64,
}

impl Tlb {
    /// A cold TLB for the pages and page tables of `g`.
    #[must_use]
    pub fn new(g: &Geometry) -> Tlb {
        // Generation 0 is never current (the machine starts at 1), so all entries miss.
        Tlb {
            entries: [Entry::default(); ENTRIES],
            page_shift: g.page_shift,
            pmd_shift: g.level_shift(Level::PMD),
            walk: WalkEntry::default(),
        }
    }

    /// The PTE table cached for `va` on machine `machine`, if current.
    #[must_use]
    #[inline]
    pub fn pte_table(&self, machine: u64, va: VirtAddr, gen: u64) -> Option<Pfn> {
        let w = self.walk;
        (w.gen == gen && w.machine == machine && w.tag == va.as_u64() >> self.pmd_shift)
            .then_some(w.table)
    }

    /// Caches `table` as the PTE table mapping `va`, seen at generation `gen`.
    pub fn fill_pte_table(&mut self, machine: u64, va: VirtAddr, table: Pfn, gen: u64) {
        self.walk = WalkEntry {
            tag: va.as_u64() >> self.pmd_shift,
            table,
            gen,
            machine,
        };
    }

    fn slot(vpn: u64) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let i = (vpn as usize) % ENTRIES;
        i
    }

    /// The cached translation of the virtual page of `va` on machine `machine`, if current.
    #[must_use]
    #[inline]
    pub fn lookup(&self, machine: u64, va: VirtAddr, gen: u64, write: bool) -> Option<Cached> {
        let vpn = va.as_u64() >> self.page_shift;
        let e = self.entries[Self::slot(vpn)];
        if e.gen == gen && e.vpn == vpn && e.machine == machine && (e.writable || !write) {
            Some(Cached {
                pfn: e.pfn,
                host: e.host,
            })
        } else {
            None
        }
    }

    /// Caches a translation of machine `machine` made at generation `gen`. `host` is the
    /// frame body's host address; the machine hands it back only to itself (the id check), and
    /// frame bodies live as long as their machine.
    pub fn fill(&mut self, machine: u64, va: VirtAddr, c: Cached, writable: bool, gen: u64) {
        let vpn = va.as_u64() >> self.page_shift;
        self.entries[Self::slot(vpn)] = Entry {
            vpn,
            pfn: c.pfn,
            host: c.host,
            writable,
            gen,
            machine,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    /// An entry serves the machine and generation it was filled for, read-only entries only
    /// reads; the paging-structure cache the same, for addresses under the same PMD.
    #[test]
    fn entries_hit_only_their_machine_generation_and_access() {
        let mut tlb = Tlb::new(&X86_64);
        let va = VirtAddr::new(0xffff_ea00_0000_1040);
        let c = Cached {
            pfn: Pfn::new(7),
            host: 0x1000,
        };
        tlb.fill(1, va, c, false, 3);
        assert_eq!(tlb.lookup(1, va, 3, false), Some(c));
        assert_eq!(
            tlb.lookup(1, VirtAddr::new(0xffff_ea00_0000_1ff8), 3, false),
            Some(c)
        );
        assert_eq!(tlb.lookup(2, va, 3, false), None, "another machine");
        assert_eq!(tlb.lookup(1, va, 4, false), None, "flushed");
        assert_eq!(tlb.lookup(1, va, 3, true), None, "read-only");
        assert_eq!(
            tlb.lookup(1, VirtAddr::new(0xffff_ea00_0000_2000), 3, false),
            None
        );
        tlb.fill_pte_table(1, va, Pfn::new(9), 3);
        assert_eq!(
            tlb.pte_table(1, VirtAddr::new(0xffff_ea00_001f_f000), 3),
            Some(Pfn::new(9))
        );
        assert_eq!(
            tlb.pte_table(1, VirtAddr::new(0xffff_ea00_0020_0000), 3),
            None
        );
        assert_eq!(tlb.pte_table(2, va, 3), None);
        assert_eq!(tlb.pte_table(1, va, 4), None);
    }
}
