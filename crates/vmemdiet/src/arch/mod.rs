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

/// The most page-table levels any geometry has (x86-64 LA57, riscv sv57, arm64 LPA2).
pub const MAX_LEVELS: usize = 5;

/// A kernel release, to date what an architecture supports and which profile a kernel is
/// (`6.6` = `KernelVersion::new(6, 6)`; stable point releases carry backports, `7.1.6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    major: u32,
    minor: u32,
    patch: u32,
}

impl KernelVersion {
    /// The oldest version the model knows: "every kernel".
    pub const ANY: KernelVersion = KernelVersion::new(0, 0);

    /// `major.minor`.
    #[must_use]
    pub const fn new(major: u32, minor: u32) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch: 0,
        }
    }

    /// `major.minor.patch`, a stable point release.
    #[must_use]
    pub const fn with_patch(major: u32, minor: u32, patch: u32) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }

    /// `self <= other`, usable in constants.
    #[must_use]
    pub const fn at_or_before(self, other: KernelVersion) -> bool {
        if self.major != other.major {
            return self.major < other.major;
        }
        if self.minor != other.minor {
            return self.minor < other.minor;
        }
        self.patch <= other.patch
    }

    /// The release without its point release (`7.1.6` → `7.1`).
    #[must_use]
    pub const fn series(self) -> KernelVersion {
        KernelVersion::new(self.major, self.minor)
    }

    /// The release a version string names: `6.17`, `v7.2`, `7.3.4+deb13-amd64` (`uname -r`),
    /// `6.12.0-55.el10.x86_64`, `7.4.0-rc1`. What follows the numbers is ignored.
    #[must_use]
    pub fn parse(s: &str) -> Option<KernelVersion> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut nums = s
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().ok());
        let (major, minor) = (nums.next()??, nums.next()??);
        // The patch is a third number only right after `major.minor.`.
        let patch = s
            .split_once('.')
            .and_then(|(_, rest)| rest.split_once('.'))
            .map(|(_, rest)| rest)
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            .and_then(|rest| {
                let d: String = rest.chars().take_while(char::is_ascii_digit).collect();
                d.parse().ok()
            })
            .unwrap_or(0);
        let digits_first = s.starts_with(|c: char| c.is_ascii_digit());
        (digits_first && s.contains('.')).then_some(KernelVersion::with_patch(major, minor, patch))
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

/// How an architecture's `vmemmap_populate()` maps the memmap when it is not deduplicated
/// (device-dax dedup always maps with base pages, `vmemmap_populate_compound_pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmemmapMap {
    /// x86-64 (`arch/x86/mm/init_64.c`) and arm64 4K (`arch/arm64/mm/mmu.c`): a whole section's
    /// memmap gets PMD leaves (`vmemmap_populate_hugepages`), less than a section base pages
    /// (`vmemmap_populate_basepages`), which take frames from the altmap on arm64 and never on
    /// x86.
    SectionLeaves {
        /// Whether base pages come from the altmap (arm64) or always from RAM (x86).
        basepages_altmap: bool,
    },
    /// arm64 16K and 64K (`arch/arm64/mm/mmu.c`: `!IS_ENABLED(CONFIG_ARM64_4K_PAGES)`): base
    /// pages always, from the altmap when there is one.
    BasePages,
    /// riscv (`arch/riscv/mm/init.c`): `vmemmap_populate_hugepages` for every range, so even a
    /// subsection's memmap gets a whole PMD leaf; an altmap that cannot supply one is ENOMEM.
    Leaves,
    /// ppc64 radix (`radix__vmemmap_populate`): a PMD leaf where the address is PMD-aligned and
    /// the leaf would describe only the device's own pfns (`altmap_cross_boundary`), else base
    /// pages (from the altmap if any).
    AlignedLeaves,
    /// ppc64 hash (`arch/powerpc/mm/init_64.c`: `__vmemmap_populate`): bolted blocks of the
    /// vmemmap page size (16 MiB, the hash PMD size), from the altmap only where the block
    /// describes the device's own pfns, else from RAM. The model keeps them as PMD-level
    /// leaves of the hash Linux page-table geometry; the real translation is in HPTEs.
    Bolted,
}

/// What an architecture's Kconfig and MMU offer, by kernel release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchFeatures {
    /// First release with ZONE_DEVICE and device-dax on the architecture.
    pub device_dax_since: KernelVersion,
    /// First release that deduplicates device-dax vmemmap (`ARCH_WANT_OPTIMIZE_DAX_VMEMMAP`,
    /// or its ungated 5.19 ancestor on x86); `None`: never.
    pub dax_dedup_since: Option<KernelVersion>,
    /// Releases with HugeTLB vmemmap optimization (`ARCH_WANT_OPTIMIZE_HUGETLB_VMEMMAP`):
    /// `[since, until)`; `None`: never.
    pub hvo: Option<(KernelVersion, Option<KernelVersion>)>,
    /// First release that offers a PUD-sized device-dax align
    /// (`HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD`, `has_transparent_pud_hugepage()`); `None`: never.
    pub pud_dax_since: Option<KernelVersion>,
    /// `memremap_compat_align()`: the granularity device memory is hot-added at.
    pub memremap_compat_align: ByteSize,
}

impl ArchFeatures {
    /// Device-dax exists in release `v`.
    #[must_use]
    pub fn device_dax(&self, v: KernelVersion) -> bool {
        v >= self.device_dax_since
    }
    /// Device-dax vmemmap dedup exists in release `v`.
    #[must_use]
    pub fn dax_dedup(&self, v: KernelVersion) -> bool {
        self.dax_dedup_since.is_some_and(|s| v >= s)
    }
    /// HVO exists in release `v`.
    #[must_use]
    pub fn hvo(&self, v: KernelVersion) -> bool {
        self.hvo
            .is_some_and(|(since, until)| v >= since && until.is_none_or(|u| v < u))
    }
    /// A PUD-sized device-dax align exists in release `v`.
    #[must_use]
    pub fn pud_dax(&self, v: KernelVersion) -> bool {
        self.pud_dax_since.is_some_and(|s| v >= s)
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
    /// Page-table levels (`CONFIG_PGTABLE_LEVELS`, or the run-time choice: LA57, sv39/48/57).
    pub pt_levels: u32,
    /// Index bits per level, PTE level first (`PTE_INDEX_SIZE`, `PMD_INDEX_SIZE`, ...); unused
    /// levels are 0.
    pub level_bits: [u32; MAX_LEVELS],
    /// log2 of the bytes the kernel allocates for one table of each level, PTE first: 3 +
    /// index bits, except ppc64 hash, whose PTE and PMD tables carry a second half of hash
    /// slot data. Tables smaller than a page are fragments of one (`pte_fragment_alloc`).
    pub table_shift: [u32; MAX_LEVELS],
    /// `VMEMMAP_START`: virtual address of the struct page of pfn 0.
    pub vmemmap_base: VirtAddr,
    /// `VMEMMAP_SIZE`: the vmemmap region, which bounds the pfns it can describe.
    pub vmemmap_size: ByteSize,
    /// `MAX_PHYSMEM_BITS`.
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
    /// Whether the MMU maps PUD leaves (1 GiB on 4K x86/arm64/riscv/ppc radix, 16 GiB on ppc
    /// hash); arm64 16K/64K have none (`pud_sect_supported()`).
    pub pud_leaves: bool,
    /// Where firmware places RAM and device memory.
    pub platform: Platform,
    /// How `vmemmap_populate()` maps memmap that is not deduplicated.
    pub vmemmap_map: VmemmapMap,
    /// What the architecture offers, by release.
    pub features: ArchFeatures,
    /// Where the numbers come from (kernel file: symbol).
    pub source: &'static str,
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

/// arm64 and riscv servers: DRAM from 2 GiB (`0x8000_0000`, the usual DRAM base of both),
/// contiguous; device regions on 64 GiB boundaries.
pub const DRAM_AT_2G_PLATFORM: Platform = Platform {
    low_ram: (PhysAddr::new(2 << 30), PhysAddr::new(4 << 30)),
    high_ram_start: PhysAddr::new(4 << 30),
    min_ram: ByteSize::gib(4),
    device_region_align: ByteSize::gib(64),
};

/// ppc64 (PowerNV/pSeries): RAM from 0, contiguous; device regions on 64 GiB boundaries.
pub const PPC64_PLATFORM: Platform = Platform {
    low_ram: (PhysAddr::new(0), PhysAddr::new(4 << 30)),
    high_ram_start: PhysAddr::new(4 << 30),
    min_ram: ByteSize::gib(4),
    device_region_align: ByteSize::gib(64),
};

mod arm64;
mod powerpc;
mod riscv;
mod x86;

pub use arm64::*;
pub use powerpc::*;
pub use riscv::*;
pub use x86::*;

/// Every geometry `--arch` accepts, in the order tables list them.
pub const ALL: [Geometry; 11] = [
    X86_64,
    X86_64_LA57,
    ARM64_4K,
    ARM64_16K,
    ARM64_64K,
    PPC64_RADIX_4K,
    PPC64_RADIX_64K,
    PPC64_HASH_64K,
    RISCV64_SV39,
    RISCV64_SV48,
    RISCV64_SV57,
];

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
    /// Index bits of a table at `level`.
    #[must_use]
    pub const fn level_bits_of(&self, level: Level) -> u32 {
        self.level_bits[(level.0 - 1) as usize]
    }
    /// Entries in one table at `level` (`PTRS_PER_PTE`, `PTRS_PER_PMD`, ...).
    #[must_use]
    pub const fn pt_entries(&self, level: Level) -> u64 {
        1 << self.level_bits_of(level)
    }
    /// Bytes the kernel allocates for one table at `level` (a fragment of a page where smaller).
    #[must_use]
    pub const fn table_bytes(&self, level: Level) -> u64 {
        1 << self.table_shift[(level.0 - 1) as usize]
    }
    /// The address bit where `level`'s index starts (`PMD_SHIFT` for the PMD level).
    #[must_use]
    pub const fn level_shift(&self, level: Level) -> u32 {
        let mut shift = self.page_shift;
        let mut l = 1;
        while l < level.0 {
            shift += self.level_bits[(l - 1) as usize];
            l += 1;
        }
        shift
    }
    /// Bytes of virtual address space mapped by one entry at `level`.
    #[must_use]
    pub const fn level_span(&self, level: Level) -> u64 {
        1 << self.level_shift(level)
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
        let i = ((va.as_u64() >> self.level_shift(level)) & (self.pt_entries(level) - 1)) as usize;
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
    /// Bits of virtual address the page tables translate (below the sign extension).
    #[must_use]
    pub const fn va_bits(&self) -> u32 {
        self.level_shift(Level(self.pt_levels + 1))
    }
    /// `PMD_SIZE`: 2 MiB on x86-64.
    #[must_use]
    pub const fn pmd_size(&self) -> ByteSize {
        ByteSize::new(self.level_span(Level::PMD))
    }
    /// `PMD_ORDER`: base pages in a PMD leaf, as a buddy order (9 on x86-64).
    #[must_use]
    pub const fn pmd_order(&self) -> u32 {
        self.level_bits[0]
    }
    /// `PUD_ORDER`: base pages in a PUD leaf, as a buddy order (18 on x86-64).
    #[must_use]
    pub const fn pud_order(&self) -> u32 {
        self.level_bits[0] + self.level_bits[1]
    }
    /// `PUD_SIZE`: 1 GiB on x86-64.
    #[must_use]
    pub const fn pud_size(&self) -> ByteSize {
        ByteSize::new(self.level_span(Level::PUD))
    }
    /// Physical address space with struct pages: `MAX_PHYSMEM_BITS`, or less where the vmemmap
    /// region is smaller (riscv Sv39: 4 GiB of vmemmap describe 256 GiB).
    #[must_use]
    pub const fn max_phys(&self) -> PhysAddr {
        let by_vmemmap = self.vmemmap_size.bytes() / self.struct_page_size * self.page_size();
        let by_bits = 1 << self.max_physmem_bits;
        PhysAddr::new(if by_vmemmap < by_bits {
            by_vmemmap
        } else {
            by_bits
        })
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
    /// arm64, 4 KiB pages, 48-bit VA.
    #[serde(rename = "arm64-4k")]
    Arm64_4k,
    /// arm64, 16 KiB pages, 48-bit VA.
    #[serde(rename = "arm64-16k")]
    Arm64_16k,
    /// arm64, 64 KiB pages, 48-bit VA.
    #[serde(rename = "arm64-64k")]
    Arm64_64k,
    /// ppc64 book3s, radix MMU, 4 KiB pages.
    #[serde(rename = "ppc64-radix-4k")]
    Ppc64Radix4k,
    /// ppc64 book3s, radix MMU, 64 KiB pages.
    #[serde(rename = "ppc64-radix-64k")]
    Ppc64Radix64k,
    /// ppc64 book3s, hash MMU, 64 KiB pages.
    #[serde(rename = "ppc64-hash-64k")]
    Ppc64Hash64k,
    /// riscv64, Sv39.
    #[serde(rename = "riscv64-sv39")]
    Riscv64Sv39,
    /// riscv64, Sv48.
    #[serde(rename = "riscv64-sv48")]
    Riscv64Sv48,
    /// riscv64, Sv57.
    #[serde(rename = "riscv64-sv57")]
    Riscv64Sv57,
    /// arm64, 4 KiB pages, 39-bit VA (`--va-bits 39`).
    #[serde(rename = "arm64-4k-va39")]
    Arm64_4kVa39,
    /// arm64, 4 KiB pages, 52-bit VA.
    #[serde(rename = "arm64-4k-va52")]
    Arm64_4kVa52,
    /// arm64, 16 KiB pages, 36-bit VA.
    #[serde(rename = "arm64-16k-va36")]
    Arm64_16kVa36,
    /// arm64, 16 KiB pages, 47-bit VA.
    #[serde(rename = "arm64-16k-va47")]
    Arm64_16kVa47,
    /// arm64, 16 KiB pages, 52-bit VA.
    #[serde(rename = "arm64-16k-va52")]
    Arm64_16kVa52,
    /// arm64, 64 KiB pages, 42-bit VA.
    #[serde(rename = "arm64-64k-va42")]
    Arm64_64kVa42,
    /// arm64, 64 KiB pages, 52-bit VA.
    #[serde(rename = "arm64-64k-va52")]
    Arm64_64kVa52,
}

/// The arm64 VA sizes other than the default 48 bits, by base arch: what `--va-bits` selects.
const VA_VARIANTS: [(Arch, u32, Arch); 7] = [
    (Arch::Arm64_4k, 39, Arch::Arm64_4kVa39),
    (Arch::Arm64_4k, 52, Arch::Arm64_4kVa52),
    (Arch::Arm64_16k, 36, Arch::Arm64_16kVa36),
    (Arch::Arm64_16k, 47, Arch::Arm64_16kVa47),
    (Arch::Arm64_16k, 52, Arch::Arm64_16kVa52),
    (Arch::Arm64_64k, 42, Arch::Arm64_64kVa42),
    (Arch::Arm64_64k, 52, Arch::Arm64_64kVa52),
];

/// Every `--arch` value, in the order of [`ALL`].
pub const ARCHES: [Arch; 11] = [
    Arch::X86_64,
    Arch::X86_64La57,
    Arch::Arm64_4k,
    Arch::Arm64_16k,
    Arch::Arm64_64k,
    Arch::Ppc64Radix4k,
    Arch::Ppc64Radix64k,
    Arch::Ppc64Hash64k,
    Arch::Riscv64Sv39,
    Arch::Riscv64Sv48,
    Arch::Riscv64Sv57,
];

impl Arch {
    /// The same arch at another VA size (`--va-bits`): arm64 offers 39/48/52 bits with 4K
    /// pages, 36/47/48/52 with 16K, 42/48/52 with 64K; elsewhere the VA size is the arch
    /// (x86_64-la57, riscv64-sv39/48/57).
    pub fn with_va_bits(self, bits: u32) -> Result<Arch, String> {
        let base = VA_VARIANTS
            .iter()
            .find(|(_, _, v)| *v == self)
            .map_or(self, |(b, _, _)| *b);
        if base.geometry().va_bits() == bits {
            return Ok(base);
        }
        let choices: Vec<u32> = std::iter::once(base.geometry().va_bits())
            .chain(
                VA_VARIANTS
                    .iter()
                    .filter(|(b, _, _)| *b == base)
                    .map(|(_, n, _)| *n),
            )
            .collect();
        VA_VARIANTS
            .iter()
            .find(|(b, n, _)| *b == base && *n == bits)
            .map(|(_, _, v)| *v)
            .ok_or_else(|| {
                let mut sorted = choices;
                sorted.sort_unstable();
                format!(
                    "--va-bits {bits}: {base} supports {}",
                    sorted
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// The `sizeof(struct page)` values a what-if may use (memdescs, kernel brief §9.9): today's 64
/// bytes and the powers of two on the way to an 8-byte descriptor.
pub const STRUCT_PAGE_SIZES: [u64; 4] = [64, 32, 16, 8];

impl Arch {
    /// This architecture's geometry with `sizeof(struct page)` = `struct_page_size` (one of
    /// [`STRUCT_PAGE_SIZES`]): every what-if geometry is a constant, made at compile time.
    ///
    /// # Panics
    /// On a size not in [`STRUCT_PAGE_SIZES`] (callers validate user input first).
    #[must_use]
    pub fn geometry_with(self, struct_page_size: u64) -> &'static Geometry {
        let size = STRUCT_PAGE_SIZES
            .iter()
            .position(|&s| s == struct_page_size);
        let size = size.unwrap_or_else(|| {
            panic!("struct page size {struct_page_size} is not one of {STRUCT_PAGE_SIZES:?}")
        });
        let base = self.geometry();
        if base.struct_page_size == struct_page_size {
            return base;
        }
        let arch = EVERY_ARCH
            .iter()
            .position(|&a| a == self)
            .expect("EVERY_ARCH lists every variant");
        &WHAT_IFS[arch][size]
    }

    /// The constants of this architecture.
    #[must_use]
    pub const fn geometry(self) -> &'static Geometry {
        match self {
            Arch::X86_64 => &X86_64,
            Arch::X86_64La57 => &X86_64_LA57,
            Arch::Arm64_4k => &ARM64_4K,
            Arch::Arm64_16k => &ARM64_16K,
            Arch::Arm64_64k => &ARM64_64K,
            Arch::Ppc64Radix4k => &PPC64_RADIX_4K,
            Arch::Ppc64Radix64k => &PPC64_RADIX_64K,
            Arch::Ppc64Hash64k => &PPC64_HASH_64K,
            Arch::Riscv64Sv39 => &RISCV64_SV39,
            Arch::Riscv64Sv48 => &RISCV64_SV48,
            Arch::Riscv64Sv57 => &RISCV64_SV57,
            Arch::Arm64_4kVa39 => &ARM64_4K_VA39,
            Arch::Arm64_4kVa52 => &ARM64_4K_VA52,
            Arch::Arm64_16kVa36 => &ARM64_16K_VA36,
            Arch::Arm64_16kVa47 => &ARM64_16K_VA47,
            Arch::Arm64_16kVa52 => &ARM64_16K_VA52,
            Arch::Arm64_64kVa42 => &ARM64_64K_VA42,
            Arch::Arm64_64kVa52 => &ARM64_64K_VA52,
        }
    }
}

/// Every [`Arch`]: the eleven of [`ARCHES`], then the `--va-bits` variants.
pub const EVERY_ARCH: [Arch; ARCHES.len() + VA_VARIANTS.len()] = {
    let mut out = [Arch::X86_64; ARCHES.len() + VA_VARIANTS.len()];
    let mut i = 0;
    while i < ARCHES.len() {
        out[i] = ARCHES[i];
        i += 1;
    }
    while i < out.len() {
        out[i] = VA_VARIANTS[i - ARCHES.len()].2;
        i += 1;
    }
    out
};

/// The memdesc what-if geometries: per arch of [`EVERY_ARCH`], its geometry at each of
/// [`STRUCT_PAGE_SIZES`].
static WHAT_IFS: [[Geometry; STRUCT_PAGE_SIZES.len()]; EVERY_ARCH.len()] = {
    let mut out = [[X86_64; STRUCT_PAGE_SIZES.len()]; EVERY_ARCH.len()];
    let mut a = 0;
    while a < EVERY_ARCH.len() {
        let mut s = 0;
        while s < STRUCT_PAGE_SIZES.len() {
            out[a][s] = Geometry {
                struct_page_size: STRUCT_PAGE_SIZES[s],
                ..*EVERY_ARCH[a].geometry()
            };
            s += 1;
        }
        a += 1;
    }
    out
};

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.geometry().name)
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.replace("x86-64", "x86_64");
        let all = ARCHES.iter().chain(VA_VARIANTS.iter().map(|(_, _, v)| v));
        match all.into_iter().find(|a| a.geometry().name == name) {
            Some(a) => Ok(*a),
            None => Err(format!(
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
    fn what_if_geometries_are_the_arch_with_only_the_struct_page_size_changed() {
        for arch in EVERY_ARCH {
            // Every arch a user can name has its what-ifs.
            assert_eq!(arch.to_string().parse::<Arch>(), Ok(arch));
            for s in STRUCT_PAGE_SIZES {
                let g = arch.geometry_with(s);
                assert_eq!(g.struct_page_size, s, "{arch}");
                assert_eq!(
                    *g,
                    Geometry {
                        struct_page_size: s,
                        ..*arch.geometry()
                    }
                );
                // The same reference every time: machines hold it for their lifetime.
                assert!(std::ptr::eq(g, arch.geometry_with(s)));
            }
        }
    }

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
            assert!(
                g.buddy_max_order >= g.pmd_order(),
                "{}: PMD-sized blocks",
                g.name
            );
            assert!(
                !g.pud_leaves || g.buddy_max_order >= g.pud_order(),
                "{}: gigantic pages",
                g.name
            );
            assert!(g.task_unmapped_base() < g.task_size(), "{}", g.name);
            for l in 1..=g.pt_levels {
                let level = Level::new(l);
                assert!(
                    g.table_bytes(level) >= 8 * g.pt_entries(level),
                    "{}: a level-{l} table holds its entries",
                    g.name
                );
            }
            assert!(g.subsection_shift <= g.section_size_bits, "{}", g.name);
            assert!(g.max_phys().as_u64() > 0);
        }
        assert_eq!(X86_64.tail_mapping(), 0xdead_0000_0000_0400);
        assert_eq!(X86_64.task_size().as_u64(), (1 << 47) - 4096);
    }

    /// The kernel's own figures per arch (arch headers; brief §1.1; docs/research/arch-geometry.md).
    #[test]
    fn arch_geometry_matches_the_kernel_headers() {
        // (arch, PAGE_SIZE, VA bits, PMD leaf, PTE table bytes, pages per section,
        //  subsections per section)
        let rows: [(Arch, u64, u32, ByteSize, u64, u64, u64); 11] = [
            (Arch::X86_64, 4096, 48, ByteSize::mib(2), 4096, 32768, 64),
            (
                Arch::X86_64La57,
                4096,
                57,
                ByteSize::mib(2),
                4096,
                32768,
                64,
            ),
            (Arch::Arm64_4k, 4096, 48, ByteSize::mib(2), 4096, 32768, 64),
            (
                Arch::Arm64_16k,
                16384,
                48,
                ByteSize::mib(32),
                16384,
                8192,
                64,
            ),
            (
                Arch::Arm64_64k,
                65536,
                48,
                ByteSize::mib(512),
                65536,
                8192,
                256,
            ),
            (
                Arch::Ppc64Radix4k,
                4096,
                52,
                ByteSize::mib(2),
                4096,
                4096,
                8,
            ),
            (
                Arch::Ppc64Radix64k,
                65536,
                52,
                ByteSize::mib(2),
                256,
                256,
                8,
            ),
            (
                Arch::Ppc64Hash64k,
                65536,
                52,
                ByteSize::mib(16),
                4096,
                256,
                8,
            ),
            (
                Arch::Riscv64Sv39,
                4096,
                39,
                ByteSize::mib(2),
                4096,
                32768,
                64,
            ),
            (
                Arch::Riscv64Sv48,
                4096,
                48,
                ByteSize::mib(2),
                4096,
                32768,
                64,
            ),
            (
                Arch::Riscv64Sv57,
                4096,
                57,
                ByteSize::mib(2),
                4096,
                32768,
                64,
            ),
        ];
        for (arch, page, va, pmd, pte_table, pps, subs) in rows {
            let g = arch.geometry();
            assert_eq!(g.page_size(), page, "{arch}");
            assert_eq!(g.va_bits(), va, "{arch}");
            assert_eq!(g.pmd_size(), pmd, "{arch}");
            assert_eq!(g.table_bytes(Level::PTE), pte_table, "{arch}");
            assert_eq!(g.pages_per_section(), pps, "{arch}");
            assert_eq!(g.subsections_per_section(), subs, "{arch}");
            assert_eq!(arch.to_string().parse::<Arch>(), Ok(arch));
        }
        // ppc64 radix 4K: a 64 KiB PGD of 8192 entries; radix 64K: 256 PTE fragments a page.
        assert_eq!(PPC64_RADIX_4K.table_bytes(Level::new(4)), 65536);
        assert_eq!(PPC64_RADIX_64K.pt_entries(Level::PTE), 32);
        assert_eq!(PPC64_RADIX_64K.pud_size(), ByteSize::gib(1));
        assert_eq!(PPC64_HASH_64K.pud_size(), ByteSize::gib(16));
        // riscv Sv39's 4 GiB vmemmap describes 256 GiB.
        assert_eq!(RISCV64_SV39.max_phys().as_u64(), 256 << 30);
        // arm64: the vmemmap spans the 128 TiB linear map (VA_BITS_MIN 48).
        assert_eq!(ARM64_64K.max_phys().as_u64(), 1 << 47);
        assert_eq!(ARM64_4K.max_phys().as_u64(), 1 << 47);
        assert!("sparc64".parse::<Arch>().unwrap_err().contains("arm64-16k"));
    }

    #[test]
    fn features_are_dated_by_release() {
        let v = KernelVersion::new;
        assert!(!ARM64_4K.features.dax_dedup(v(7, 1)));
        assert!(ARM64_4K.features.hvo(v(5, 19)));
        assert!(!ARM64_4K.features.hvo(v(6, 12)));
        assert!(!PPC64_RADIX_64K.features.dax_dedup(v(5, 19)));
        assert!(PPC64_RADIX_64K.features.dax_dedup(v(6, 6)));
        assert!(!PPC64_HASH_64K.features.dax_dedup(v(7, 1)));
        assert!(!RISCV64_SV48.features.device_dax(v(6, 10)));
        assert!(RISCV64_SV48.features.device_dax(v(6, 11)));
        assert!(!RISCV64_SV48.features.pud_dax(v(6, 12)));
        assert!(RISCV64_SV48.features.pud_dax(v(6, 15)));
        assert_eq!(
            PPC64_HASH_64K.features.memremap_compat_align,
            ByteSize::mib(16)
        );
    }

    #[test]
    fn pfn_phys_and_struct_page_conversions_shift_by_the_page_size() {
        let g = X86_64;
        // PHYS_PFN drops the offset in the page; PFN_PHYS is the page's first byte.
        assert_eq!(g.phys_to_pfn(PhysAddr::new(0x20_1fff)), Pfn::new(0x201));
        assert_eq!(g.pfn_to_phys(Pfn::new(0x201)), PhysAddr::new(0x20_1000));
        assert_eq!(g.bytes_to_pages(ByteSize::mib(2)), 512);
        assert_eq!(g.pages_to_bytes(512), ByteSize::mib(2));
        // pfn_to_page: 64 bytes per pfn from the vmemmap base, and back.
        let va = g.pfn_to_page_va(Pfn::new(3));
        assert_eq!(va.distance_from(g.vmemmap_base), 192);
        assert_eq!(g.page_va_to_pfn(va), Pfn::new(3));
        assert_eq!(g.page_va_to_pfn(va.offset(63)), Pfn::new(3));
        assert_eq!(g.page_va_to_pfn(va.offset(64)), Pfn::new(4));
    }
}
