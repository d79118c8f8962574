//! Paging and memory-model geometry per architecture, as data.
//!
//! Everything the rest of the model needs to know about an architecture is a constant here
//! (kernel brief §1.1): page size, `sizeof(struct page)`, section and subsection sizes, the
//! page-table shape and where the vmemmap lives. A new architecture is a new constant, not new
//! code paths.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::addr::{ByteSize, Pfn, PhysAddr, VirtAddr};

/// A page-table level: 1 is the PTE level, 2 the PMD, 3 the PUD, up to the root. Typed so a
/// level cannot be mixed up with an order or an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u32);

impl Level {
    /// The PTE level: entries map base pages.
    pub const PTE: Level = Level(1);
    /// The PMD level: entries map PTE tables or PMD leaves.
    pub const PMD: Level = Level(2);
    /// The PUD level: entries map PMD tables or PUD leaves.
    pub const PUD: Level = Level(3);

    /// Level `n` (1 = PTE). Panics on 0 (a model bug).
    #[must_use]
    pub const fn new(n: u32) -> Level {
        assert!(n >= 1, "page-table levels start at 1 (PTE)");
        Level(n)
    }

    /// The level number (1 = PTE).
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The level below (`None` below the PTE level).
    #[must_use]
    pub const fn below(self) -> Option<Level> {
        if self.0 > 1 {
            Some(Level(self.0 - 1))
        } else {
            None
        }
    }

    /// The level above.
    #[must_use]
    pub const fn above(self) -> Level {
        Level(self.0 + 1)
    }
}

/// The geometry of one architecture configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// The name users pass to `--arch`.
    pub name: &'static str,
    /// `PAGE_SHIFT`.
    pub page_shift: u32,
    /// `sizeof(struct page)`; dedup requires a power of two (brief §1.2, `is_power_of_2`).
    pub struct_page_size: u64,
    /// `SECTION_SIZE_BITS`.
    pub section_size_bits: u32,
    /// `SUBSECTION_SHIFT` (21 on every architecture).
    pub subsection_shift: u32,
    /// Page-table levels (4 on x86-64 without LA57, 5 with it).
    pub pt_levels: u32,
    /// Index bits per page-table level (9 on x86-64: 512 entries of 8 bytes).
    pub pt_index_bits: u32,
    /// `VMEMMAP_START`: virtual address of the struct page of pfn 0.
    pub vmemmap_base: VirtAddr,
    /// `MAX_PHYSMEM_BITS`: the vmemmap region describes `1 << max_physmem_bits` bytes.
    pub max_physmem_bits: u32,
    /// `VMEMMAP_RESERVE_NR`: vmemmap pages a compound page keeps unshared in the 5.19+ scheme.
    pub vmemmap_reserve_nr: u64,
    /// `PAGE_OFFSET`: the base of the direct map, where kernel objects such as a `dev_pagemap`
    /// live (the model derives pgmap pointers from it).
    pub page_offset: VirtAddr,
    /// `POISON_POINTER_DELTA`: added to poison values such as `TAIL_MAPPING`.
    pub poison_pointer_delta: u64,
    /// The largest buddy order of the frame allocator: large enough for the biggest huge page
    /// the pools hand out (the model's stand-in for `alloc_contig_pages` of gigantic pages).
    pub buddy_max_order: u32,
    /// Where firmware places RAM and device memory.
    pub platform: Platform,
}

/// The physical layout of a typical server of an architecture, as firmware presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// Low System RAM, `[start, end)`, below the PCI hole.
    pub low_ram: (PhysAddr, PhysAddr),
    /// Where System RAM resumes above the hole.
    pub high_ram_start: PhysAddr,
    /// The smallest RAM the model boots with.
    pub min_ram: ByteSize,
    /// Device (pmem/CXL) regions start at a multiple of this above RAM, as platform firmware
    /// places them; it also keeps their vmemmap out of the RAM's PMD tables.
    pub device_region_align: ByteSize,
}

/// x86-64 servers: RAM `[1 MiB, 2 GiB)` below the 2–4 GiB PCI hole, the rest from 4 GiB,
/// device regions on 64 GiB boundaries.
pub const X86_PLATFORM: Platform = Platform {
    low_ram: (PhysAddr::new(1 << 20), PhysAddr::new(2 << 30)),
    high_ram_start: PhysAddr::new(4 << 30),
    min_ram: ByteSize::gib(4),
    device_region_align: ByteSize::gib(64),
};

/// x86-64 with 4-level paging (the default): 4 KiB pages, 128 MiB sections, 64 TiB of
/// physical address space described by a 1 TiB vmemmap at `0xffffea0000000000`.
pub const X86_64: Geometry = Geometry {
    name: "x86_64",
    page_shift: 12,
    struct_page_size: 64,
    section_size_bits: 27,
    subsection_shift: 21,
    pt_levels: 4,
    pt_index_bits: 9,
    vmemmap_base: VirtAddr::new(0xffff_ea00_0000_0000),
    max_physmem_bits: 46,
    vmemmap_reserve_nr: 2,
    page_offset: VirtAddr::new(0xffff_8880_0000_0000),
    poison_pointer_delta: 0xdead_0000_0000_0000,
    buddy_max_order: 18,
    platform: X86_PLATFORM,
};

/// x86-64 with 5-level paging (LA57): same memory model, 4 PiB of physical address space,
/// vmemmap at `0xffd4000000000000`. Use it for devices beyond the 4-level 64 TiB limit.
pub const X86_64_LA57: Geometry = Geometry {
    name: "x86_64-la57",
    pt_levels: 5,
    vmemmap_base: VirtAddr::new(0xffd4_0000_0000_0000),
    max_physmem_bits: 52,
    page_offset: VirtAddr::new(0xff11_0000_0000_0000),
    ..X86_64
};

/// Every geometry `--arch` accepts.
pub const ALL: [Geometry; 2] = [X86_64, X86_64_LA57];

impl Geometry {
    /// `PAGE_SIZE`.
    #[must_use]
    pub const fn page_size(&self) -> u64 {
        1 << self.page_shift
    }
    /// Struct pages per vmemmap page (`K` in the brief): 64 on x86-64.
    #[must_use]
    pub const fn struct_pages_per_page(&self) -> u64 {
        self.page_size() / self.struct_page_size
    }
    /// `PAGES_PER_SECTION`.
    #[must_use]
    pub const fn pages_per_section(&self) -> u64 {
        1 << (self.section_size_bits - self.page_shift)
    }
    /// `PAGES_PER_SUBSECTION`.
    #[must_use]
    pub const fn pages_per_subsection(&self) -> u64 {
        1 << (self.subsection_shift - self.page_shift)
    }
    /// Section size in bytes.
    #[must_use]
    pub const fn section_size(&self) -> ByteSize {
        ByteSize::new(1 << self.section_size_bits)
    }
    /// Subsection size in bytes (the `memremap_pages` granularity).
    #[must_use]
    pub const fn subsection_size(&self) -> ByteSize {
        ByteSize::new(1 << self.subsection_shift)
    }
    /// Entries in one page-table page.
    #[must_use]
    pub const fn pt_entries(&self) -> u64 {
        1 << self.pt_index_bits
    }
    /// Bytes of virtual address space mapped by one entry at `level`.
    #[must_use]
    pub const fn level_span(&self, level: Level) -> u64 {
        1 << (self.page_shift + self.pt_index_bits * (level.0 - 1))
    }
    /// The root level of the page tables (PGD).
    #[must_use]
    pub const fn root_level(&self) -> Level {
        Level(self.pt_levels)
    }
    /// The index of `va` in a table at `level`.
    #[must_use]
    pub const fn pt_index(&self, va: VirtAddr, level: Level) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let i = ((va.as_u64() >> (self.page_shift + self.pt_index_bits * (level.0 - 1)))
            & (self.pt_entries() - 1)) as usize;
        i
    }
    /// `TAIL_MAPPING`: the poison in `mapping` of tail pages (`0x400 + POISON_POINTER_DELTA`).
    #[must_use]
    pub const fn tail_mapping(&self) -> u64 {
        0x400 + self.poison_pointer_delta
    }
    /// `SUBSECTIONS_PER_SECTION`.
    #[must_use]
    pub const fn subsections_per_section(&self) -> u64 {
        1 << (self.section_size_bits - self.subsection_shift)
    }
    /// `TASK_SIZE`: the top of the user half of the address space, less a guard page.
    #[must_use]
    pub const fn task_size(&self) -> VirtAddr {
        VirtAddr::new((1 << (self.va_bits() - 1)) - self.page_size())
    }
    /// `TASK_UNMAPPED_BASE` (`PAGE_ALIGN(TASK_SIZE / 3)`): where the legacy bottom-up mmap
    /// layout, which the model uses, places the first mapping.
    #[must_use]
    pub const fn task_unmapped_base(&self) -> VirtAddr {
        VirtAddr::new(self.task_size().as_u64() / 3).align_up(self.page_size())
    }
    /// Bytes of virtual address space the page tables translate (below the sign extension).
    #[must_use]
    pub const fn va_bits(&self) -> u32 {
        self.page_shift + self.pt_index_bits * self.pt_levels
    }
    /// `PMD_SIZE`: 2 MiB on x86-64.
    #[must_use]
    pub const fn pmd_size(&self) -> ByteSize {
        ByteSize::new(self.level_span(Level::PMD))
    }
    /// `PMD_ORDER`: base pages in a PMD leaf, as a buddy order (9 on x86-64).
    #[must_use]
    pub const fn pmd_order(&self) -> u32 {
        self.pt_index_bits
    }
    /// `PUD_ORDER`: base pages in a PUD leaf, as a buddy order (18 on x86-64).
    #[must_use]
    pub const fn pud_order(&self) -> u32 {
        2 * self.pt_index_bits
    }
    /// `PUD_SIZE`: 1 GiB on x86-64.
    #[must_use]
    pub const fn pud_size(&self) -> ByteSize {
        ByteSize::new(self.level_span(Level::PUD))
    }
    /// Physical address space the vmemmap can describe.
    #[must_use]
    pub const fn max_phys(&self) -> PhysAddr {
        PhysAddr::new(1 << self.max_physmem_bits)
    }
    /// `V(N)`: vmemmap pages needed to describe a compound page of `nr_pages` without dedup.
    #[must_use]
    pub const fn vmemmap_pages_for(&self, nr_pages: u64) -> u64 {
        (nr_pages * self.struct_page_size).div_ceil(self.page_size())
    }
    /// `pfn_to_page`: the struct page address of a pfn.
    #[must_use]
    pub const fn pfn_to_page_va(&self, pfn: Pfn) -> VirtAddr {
        self.vmemmap_base
            .offset(pfn.as_u64() * self.struct_page_size)
    }
    /// `page_to_pfn`: the pfn whose struct page is at `va` (which must be in the vmemmap).
    #[must_use]
    pub const fn page_va_to_pfn(&self, va: VirtAddr) -> Pfn {
        Pfn::new(va.distance_from(self.vmemmap_base) / self.struct_page_size)
    }
    /// `PHYS_PFN`.
    #[must_use]
    pub const fn phys_to_pfn(&self, pa: PhysAddr) -> Pfn {
        Pfn::new(pa.as_u64() >> self.page_shift)
    }
    /// `PFN_PHYS`.
    #[must_use]
    pub const fn pfn_to_phys(&self, pfn: Pfn) -> PhysAddr {
        PhysAddr::new(pfn.as_u64() << self.page_shift)
    }
    /// Base pages in `bytes` (which must be page aligned).
    #[must_use]
    pub const fn bytes_to_pages(&self, bytes: ByteSize) -> u64 {
        bytes.bytes() >> self.page_shift
    }
    /// Bytes in `pages` base pages.
    #[must_use]
    pub const fn pages_to_bytes(&self, pages: u64) -> ByteSize {
        ByteSize::new(pages << self.page_shift)
    }
}

/// Which geometry a run uses (`--arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Arch {
    /// x86-64, 4-level paging.
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    /// x86-64, 5-level paging.
    #[serde(rename = "x86_64-la57")]
    X86_64La57,
}

/// The `sizeof(struct page)` values a what-if may use (memdescs, kernel brief §9.9): today's 64
/// bytes and the powers of two on the way to an 8-byte descriptor.
pub const STRUCT_PAGE_SIZES: [u64; 4] = [64, 32, 16, 8];

impl Arch {
    /// This architecture's geometry with `sizeof(struct page)` = `struct_page_size` (one of
    /// [`STRUCT_PAGE_SIZES`]), interned so machines can hold it for their lifetime: at most one
    /// geometry per (arch, size) is ever made.
    ///
    /// # Panics
    /// On a size not in [`STRUCT_PAGE_SIZES`] (callers validate user input first).
    #[must_use]
    pub fn geometry_with(self, struct_page_size: u64) -> &'static Geometry {
        assert!(
            STRUCT_PAGE_SIZES.contains(&struct_page_size),
            "struct page size {struct_page_size} is not one of {STRUCT_PAGE_SIZES:?}"
        );
        let base = self.geometry();
        if base.struct_page_size == struct_page_size {
            return base;
        }
        static INTERNED: std::sync::Mutex<Vec<&'static Geometry>> =
            std::sync::Mutex::new(Vec::new());
        let mut interned = INTERNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(g) = interned
            .iter()
            .find(|g| g.name == base.name && g.struct_page_size == struct_page_size)
        {
            return g;
        }
        let g: &'static Geometry = Box::leak(Box::new(Geometry {
            struct_page_size,
            ..*base
        }));
        interned.push(g);
        g
    }

    /// The constants of this architecture.
    #[must_use]
    pub const fn geometry(self) -> &'static Geometry {
        match self {
            Arch::X86_64 => &X86_64,
            Arch::X86_64La57 => &X86_64_LA57,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.geometry().name)
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "x86_64" | "x86-64" => Ok(Arch::X86_64),
            "x86_64-la57" | "x86-64-la57" => Ok(Arch::X86_64La57),
            _ => Err(format!(
                "unknown architecture '{s}'; valid: {}",
                ALL.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_constants_match_the_brief() {
        let g = X86_64;
        assert_eq!(g.page_size(), 4096);
        assert_eq!(g.struct_pages_per_page(), 64);
        assert_eq!(g.pages_per_section(), 32768);
        assert_eq!(g.pages_per_subsection(), 512);
        assert_eq!(g.pmd_size(), ByteSize::mib(2));
        assert_eq!(g.pud_size(), ByteSize::gib(1));
        assert_eq!(g.vmemmap_pages_for(512), 8);
        assert_eq!(g.vmemmap_pages_for(1 << 18), 4096);
        // One section's memmap is exactly one PMD leaf of vmemmap.
        assert_eq!(
            g.pages_per_section() * g.struct_page_size,
            g.pmd_size().bytes()
        );
        // The 4-level vmemmap (1 TiB of VA) describes 64 TiB.
        assert_eq!(
            g.max_phys().as_u64() / g.page_size() * g.struct_page_size,
            ByteSize::TIB
        );
    }

    #[test]
    fn every_geometry_fits_the_model() {
        for g in ALL {
            assert!(
                g.subsections_per_section() <= 256,
                "{}: subsection bitmap",
                g.name
            );
            assert!(g.struct_page_size.is_power_of_two() || g.struct_page_size > 0);
            assert!(
                g.buddy_max_order >= g.pud_order(),
                "{}: gigantic pages",
                g.name
            );
            assert!(g.task_unmapped_base() < g.task_size());
        }
        assert_eq!(X86_64.tail_mapping(), 0xdead_0000_0000_0400);
        assert_eq!(X86_64.task_size().as_u64(), (1 << 47) - 4096);
    }
}
