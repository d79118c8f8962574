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
}

impl Tlb {
    /// A cold TLB for pages of `1 << page_shift` bytes.
    #[must_use]
    pub fn new(page_shift: u32) -> Tlb {
        // Generation 0 is never current (the machine starts at 1), so all entries miss.
        Tlb {
            entries: [Entry::default(); ENTRIES],
            page_shift,
        }
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
