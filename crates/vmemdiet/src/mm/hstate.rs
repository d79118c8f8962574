//! HugeTLB pool state (`struct hstate`, `include/linux/hugetlb.h`): the huge page sizes and one
//! pool per size. State only; `mm/hugetlb.rs` grows, shrinks and optimizes the pools.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};

use crate::addr::{ByteSize, Order, Pfn};
use crate::arch::Geometry;

/// A huge page size (`struct hstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HugeSize {
    /// A PMD leaf (2 MiB on x86-64).
    Pmd,
    /// A PUD leaf (1 GiB on x86-64).
    Pud,
}

impl HugeSize {
    /// The huge page size for an alignment, if the arch maps leaves of that size (no PUD
    /// leaves on arm64 16K/64K).
    #[must_use]
    pub fn from_align(g: &Geometry, align: ByteSize) -> Option<HugeSize> {
        [HugeSize::Pmd, HugeSize::Pud]
            .into_iter()
            .filter(|s| *s == HugeSize::Pmd || g.pud_leaves)
            .find(|s| s.bytes(g) == align)
    }
    /// Compound order.
    #[must_use]
    pub const fn order(self, g: &Geometry) -> Order {
        match self {
            HugeSize::Pmd => Order::new(g.pmd_order()),
            HugeSize::Pud => Order::new(g.pud_order()),
        }
    }
    /// Bytes.
    #[must_use]
    pub const fn bytes(self, g: &Geometry) -> ByteSize {
        match self {
            HugeSize::Pmd => g.pmd_size(),
            HugeSize::Pud => g.pud_size(),
        }
    }
}

/// Pool state of one size.
#[derive(Debug, Default)]
pub(crate) struct Hstate {
    pub(crate) free: Vec<Pfn>,
    /// Pages in the pool (free + in use).
    pub(crate) nr: u64,
    /// In use pages waiting for their last reference to go (pinned after unmap).
    pub(crate) deferred: Vec<Pfn>,
}

/// Counters of HVO work.
#[derive(Debug, Default)]
pub struct HugetlbStats {
    /// PMD-mapped vmemmap blocks split into PTE tables.
    pub split_pmds: AtomicU64,
    /// Huge pages whose vmemmap is optimized now.
    pub optimized: AtomicU64,
}

/// The HugeTLB subsystem: one pool per size.
#[derive(Debug, Default)]
pub struct Hugetlb {
    pub(crate) pools: Mutex<HashMap<HugeSize, Hstate>>,
    pub stats: HugetlbStats,
}

impl Hugetlb {
    /// Pages in the pool of `size` (`nr_hugepages`).
    #[must_use]
    pub fn nr_hugepages(&self, size: HugeSize) -> u64 {
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&size)
            .map_or(0, |h| h.nr)
    }
    /// Free pages in the pool of `size` (`free_hugepages`).
    #[must_use]
    pub fn free_hugepages(&self, size: HugeSize) -> u64 {
        self.pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&size)
            .map_or(0, |h| h.free.len() as u64)
    }
}
