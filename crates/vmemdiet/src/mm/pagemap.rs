//! What `include/linux/memremap.h` and `mm.h` share between memremap, sparse-vmemmap and memmap
//! init: `struct dev_pagemap`, `struct vmem_altmap`, the populate contexts and
//! `vmemmap_can_optimize`. A leaf: it depends on no other mm module but the profile switches,
//! so the modules that implement memremap, populate and init depend on it and not on each other
//! in a cycle.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::addr::{Order, Pfn};
use crate::arch::Geometry;
use crate::mm::profile::{DaxDedup, Switches};

/// `struct vmem_altmap`: memmap carved from the start of the device by a bump allocator.
#[derive(Debug)]
pub struct VmemAltmap {
    /// First pfn the altmap describes (subsection aligned).
    pub base_pfn: Pfn,
    /// Pfns at the base that are not for the memmap (the info block, alignment padding).
    pub reserve: u64,
    /// Pfns available for the memmap after `reserve`.
    pub free: u64,
    /// `end_pfn`: the end of the device range the altmap lives in (exclusive here).
    pub end_pfn: Pfn,
    /// Pfns handed out (`alloc`).
    alloc: AtomicU64,
    /// Pfns skipped to align allocations (`align`).
    align: AtomicU64,
}

impl VmemAltmap {
    /// A fresh altmap.
    #[must_use]
    pub fn new(base_pfn: Pfn, reserve: u64, free: u64, end_pfn: Pfn) -> VmemAltmap {
        VmemAltmap {
            base_pfn,
            reserve,
            free,
            end_pfn,
            alloc: AtomicU64::new(0),
            align: AtomicU64::new(0),
        }
    }

    /// `altmap_cross_boundary` (ppc64): whether the `nr` pfns from `pfn` reach outside the
    /// device, so their memmap must not live on it.
    #[must_use]
    pub fn crosses_boundary(&self, pfn: Pfn, nr: u64) -> bool {
        pfn < self.base_pfn || pfn.as_u64() + nr > self.end_pfn.as_u64()
    }

    /// `vmem_altmap_offset`: pfns from `base_pfn` to the first device page that is not memmap.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.reserve + self.free
    }

    /// Pfns currently allocated.
    #[must_use]
    pub fn allocated(&self) -> u64 {
        self.alloc.load(Ordering::Acquire)
    }

    /// The bump allocator's state: pfns handed out, and pfns skipped for alignment.
    pub(crate) fn bump_state(&self) -> (u64, u64) {
        (
            self.alloc.load(Ordering::Acquire),
            self.align.load(Ordering::Acquire),
        )
    }

    /// Records an allocation of `nr` pfns after `pad` pfns of alignment padding.
    pub(crate) fn bump(&self, nr: u64, pad: u64) {
        self.alloc.fetch_add(nr, Ordering::AcqRel);
        self.align.fetch_add(pad, Ordering::AcqRel);
    }

    /// `vmem_altmap_free`: gives back `nr` pfns (the bump allocator only counts them).
    #[doc(alias = "vmem_altmap_free")]
    pub(crate) fn free_block(&self, nr: u64) {
        self.alloc.fetch_sub(nr, Ordering::AcqRel);
    }
}

/// `enum memory_type`: device-dax, and the GPU and PCI drivers' types (memmap in DRAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryType {
    /// `MEMORY_DEVICE_GENERIC`: device-dax.
    Generic,
    /// `MEMORY_DEVICE_PRIVATE`: HMM device memory the CPU cannot reach (memmap only).
    Private,
    /// `MEMORY_DEVICE_COHERENT`: CPU-coherent device memory.
    Coherent,
    /// `MEMORY_DEVICE_PCI_P2PDMA`: a PCI BAR for peer-to-peer DMA.
    PciP2pdma,
}

/// `struct dev_pagemap`.
#[derive(Debug)]
pub struct DevPagemap {
    /// Identifier (the simulated `pgmap` pointer is derived from it).
    pub id: u64,
    pub ty: MemoryType,
    /// `ranges[]` as `[start, end)` pfns.
    pub ranges: Vec<(Pfn, Pfn)>,
    /// `vmemmap_shift`: pages are compound of this order.
    pub vmemmap_shift: Order,
    /// `altmap` (valid when `PGMAP_ALTMAP_VALID`).
    pub altmap: Option<VmemAltmap>,
    /// The `percpu_ref` count of live references.
    pub(crate) refs: AtomicU64,
    /// References memremap took up front (dropped by memunmap).
    pub(crate) base_refs: AtomicU64,
    /// `nr_range`: ranges onlined so far (the range being onlined while populating).
    pub(crate) nr_range: AtomicUsize,
    /// User mappings of these pages that exist now.
    pub(crate) mappings: AtomicU64,
    /// Set once any page was mapped to user space (only then can pages be pinned).
    pub(crate) ever_mapped: AtomicBool,
}

/// What to map: the arguments of `memremap_pages` that we model.
#[derive(Debug)]
pub struct PagemapParams {
    pub ty: MemoryType,
    pub ranges: Vec<(Pfn, Pfn)>,
    pub vmemmap_shift: Order,
    pub altmap: Option<VmemAltmap>,
}

impl DevPagemap {
    /// A pagemap for `params` with identifier `id`, holding its own reference, no range
    /// onlined yet.
    #[must_use]
    pub(crate) fn new(id: u64, params: PagemapParams) -> DevPagemap {
        DevPagemap {
            id,
            ty: params.ty,
            ranges: params.ranges,
            vmemmap_shift: params.vmemmap_shift,
            altmap: params.altmap,
            refs: AtomicU64::new(1),
            base_refs: AtomicU64::new(1),
            nr_range: AtomicUsize::new(0),
            mappings: AtomicU64::new(0),
            ever_mapped: AtomicBool::new(false),
        }
    }

    /// `pgmap_vmemmap_nr`: pfns per compound page.
    #[must_use]
    pub fn vmemmap_nr(&self) -> u64 {
        self.vmemmap_shift.nr_pages()
    }

    /// The value stored as the `pgmap` pointer in struct pages: an even kernel address unique to
    /// this pgmap.
    #[must_use]
    pub fn pointer(&self, g: &Geometry) -> u64 {
        g.page_offset.as_u64() + self.id * 0x200
    }

    /// Live references (`percpu_ref`).
    #[must_use]
    pub fn refs(&self) -> u64 {
        self.refs.load(Ordering::Acquire)
    }

    /// `get_dev_pagemap` reference.
    pub fn get(&self) {
        self.refs.fetch_add(1, Ordering::AcqRel);
    }

    /// `put_dev_pagemap`.
    pub fn put(&self) {
        self.refs.fetch_sub(1, Ordering::AcqRel);
    }

    /// A user mapping of these pages was created.
    pub fn map_get(&self) {
        self.ever_mapped.store(true, Ordering::Release);
        self.mappings.fetch_add(1, Ordering::AcqRel);
    }

    /// A user mapping of these pages was removed.
    pub fn map_put(&self) {
        self.mappings.fetch_sub(1, Ordering::AcqRel);
    }

    /// Total pfns of all ranges.
    #[must_use]
    pub fn nr_pages(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e.distance_from(*s)).sum()
    }
}

/// The compound-page context of a populate call: the pgmap's `vmemmap_shift` and the start of
/// the range being onlined (`pgmap->ranges[pgmap->nr_range]`).
#[derive(Debug, Clone, Copy)]
pub struct CompoundCtx {
    pub order: Order,
    pub range_start: Pfn,
}

/// What populate needs to know about the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct PopulateCtx<'a> {
    pub altmap: Option<&'a VmemAltmap>,
    pub compound: Option<CompoundCtx>,
}

/// `vmemmap_can_optimize`: dedup applies when the profile dedups, struct page is a power of two,
/// pages are compound with more vmemmap pages than the reserve (6.5+) or than one (5.19), and
/// there is no altmap (unless the profile dedups with the altmap too).
#[must_use]
pub fn vmemmap_can_optimize(g: &Geometry, sw: &Switches, altmap: bool, order: Order) -> bool {
    let v = g.vmemmap_pages_for(order.nr_pages());
    let min = if sw.reserve_nr_rule {
        g.vmemmap_reserve_nr
    } else {
        1
    };
    sw.dax_dedup != DaxDedup::None
        && sw.compound_devmap
        && g.struct_page_size.is_power_of_two()
        && order.get() > 0
        && v > min
        && (!altmap || sw.altmap_dedup)
}
