//! Brute-force vmemmap model, per architecture. Every rule cites the kernel source (or the brief
//! section / research note) it models. It is written from those facts, not from the library.
//!
//! Sources: `shared/design/kernel-brief.md` (§…), `docs/research/arch-geometry.md` (research §…),
//! and the Linux sources named at each rule.
// MSRV 1.80 (workspace): `u64::is_multiple_of` is 1.87+.
#![allow(clippy::manual_is_multiple_of)]

use std::collections::{BTreeMap, HashMap, HashSet};

/// `sizeof(struct page)` (brief §1.1; research §0: 64 B on every 64-bit config here).
const STRUCT_PAGE: u64 = 64;
/// `VMEMMAP_RESERVE_NR` (include/linux/mm.h; brief §1.2, 6.5+ rule `V(N) > 2`).
const VMEMMAP_RESERVE_NR: u64 = 2;
/// `SUBSECTION_SHIFT` 21 on every arch (include/linux/mmzone.h; research §0).
const SUBSECTION_SIZE: u64 = 2 << 20;
/// `SZ_8K` as `nd_pfn_init` uses it to size the info block in the reserve
/// (drivers/nvdimm/pfn_devs.c: `offset = ALIGN(start + SZ_8K + page_map_size, align) - start`,
/// `npfns = PHYS_PFN(size - SZ_8K)`).
const SZ_8K: u64 = 8 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A kernel release, `(major, minor)`.
type Release = (u32, u32);

/// One device to create on a fresh machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleConfig {
    /// Device size in bytes (multiple of `max(align, memremap_compat_align())`).
    pub size: u64,
    /// device-dax `align` (power of two, >= PAGE_SIZE); sets `vmemmap_shift` (§1.2).
    pub align: u64,
    /// `true` = `ndctl --map=dev` (memmap in an altmap on the device, §1.3).
    pub map_dev: bool,
    /// Kernel profile: `v5.10`, `rfc`, `v5.19`, `v6.12`, `v6.15`, `mm-2026` or `next` (README §2).
    pub profile: String,
    /// RAM size; where System RAM sits depends on the arch's platform (see `Platform`).
    pub ram_size: u64,
    /// Architecture name (`x86_64`, `x86_64-la57`, `arm64-4k`, `arm64-16k`, `arm64-64k`,
    /// `ppc64-radix-4k`, `ppc64-radix-64k`, `ppc64-hash-64k`, `riscv64-sv39`, `riscv64-sv48`,
    /// `riscv64-sv57`). [`OracleConfig::x86`] builds the x86-64 configuration.
    pub arch: String,
}

impl OracleConfig {
    /// An x86-64 (4-level) configuration: what the oracle modelled before it had arches.
    #[must_use]
    pub fn x86(size: u64, align: u64, map_dev: bool, profile: &str, ram_size: u64) -> Self {
        OracleConfig {
            size,
            align,
            map_dev,
            profile: profile.to_owned(),
            ram_size,
            arch: "x86_64".to_owned(),
        }
    }
}

/// The four counted quantities of README §4, plus the memmap size in struct pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleCounts {
    /// Distinct RAM frames mapped into the device's vmemmap, times PAGE_SIZE.
    pub memmap_bytes: u64,
    /// New page tables needed to map the device's vmemmap, in the bytes the kernel allocates for
    /// each (ppc64 fragments included).
    pub pagetable_bytes: u64,
    /// Bytes of the device reserved for its own memmap (`map=dev` offset; 0 for `map=mem`).
    pub device_bytes: u64,
    /// Struct pages the memmap describes (`size / PAGE_SIZE`).
    pub struct_pages: u64,
    /// Struct pages written by memmap init (§2.3).
    pub struct_pages_initialized: u64,
    /// `/proc/vmstat` `nr_memmap_pages` as the profile's kernel reports it (README §2 last row,
    /// brief §9.7): absent before 6.11; 6.11–2025 `DIV_ROUND_UP(nr_pages * sizeof(struct page),
    /// PAGE_SIZE)` per populated section chunk (mm/sparse.c `section_activate`, also with the
    /// memmap on the device); after the 2026 fix the RAM memmap pages really allocated.
    pub nr_memmap_pages: Option<u64>,
}

// ------------------------------------------------------------------------------------------------
// Geometry, from docs/research/arch-geometry.md (one row per research section).
// ------------------------------------------------------------------------------------------------

/// How the arch's `vmemmap_populate()` maps a range when DAX dedup is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Populate {
    /// arch/x86/mm/init_64.c `vmemmap_populate`: `end - start < PAGES_PER_SECTION *
    /// sizeof(struct page)` → `vmemmap_populate_basepages(start, end, node, NULL)` (never the
    /// altmap), else `vmemmap_populate_hugepages(start, end, node, altmap)`.
    X86,
    /// arch/arm64/mm/mmu.c `vmemmap_populate`: `!IS_ENABLED(CONFIG_ARM64_4K_PAGES) || end - start
    /// < PAGES_PER_SECTION * sizeof(struct page)` → `vmemmap_populate_basepages(…, altmap)`, else
    /// `vmemmap_populate_hugepages(…, altmap)`.
    Arm64,
    /// arch/riscv/mm/init.c `vmemmap_populate`: always `vmemmap_populate_hugepages(…, altmap)`.
    Riscv,
    /// arch/powerpc/mm/book3s64/radix_pgtable.c `radix__vmemmap_populate`.
    Radix,
    /// arch/powerpc/mm/init_64.c `__vmemmap_populate` (hash): bolted `mmu_vmemmap_psize` (16M)
    /// blocks, modelled as PMD-level leaves of the hash Linux page-table geometry.
    Hash,
}

/// Where RAM sits and where the device region goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    /// `[1 MiB, 2 GiB) + [4 GiB, 2 GiB + ram)`.
    X86,
    /// DRAM `[2 GiB, 2 GiB + ram)` (arm64, riscv).
    Dram2G,
    /// `[0, ram)` (ppc64).
    Ppc,
}

#[derive(Debug, Clone, Copy)]
struct Geo {
    name: &'static str,
    page_shift: u32,
    /// `SECTION_SIZE_BITS`.
    section_bits: u32,
    /// Per level, PTE level first: (VA shift an entry maps, index bits, bytes the kernel
    /// allocates for one table). The last level is the root (PGD), which always exists.
    levels: &'static [(u32, u32, u64)],
    vmemmap_start: u64,
    vmemmap_size: u64,
    populate: Populate,
    platform: Platform,
    /// `memremap_compat_align()`.
    compat_align: u64,
    /// `ARCH_WANT_OPTIMIZE_DAX_VMEMMAP` (and the arch's `vmemmap_can_optimize`), from this release.
    dedup_since: Option<Release>,
    /// device-dax PUD-sized align (`HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD`), from this release.
    pud_dax_since: Option<Release>,
    /// device-dax (ZONE_DEVICE) at all, from this release.
    device_dax_since: Release,
}

const K4: u64 = 4096;
/// x86-64 4-level, 9/9/9/9 + 12, every table 4 KiB (research §1, pgtable_64_types.h).
const X86_L4: &[(u32, u32, u64)] = &[(12, 9, K4), (21, 9, K4), (30, 9, K4), (39, 9, K4)];
/// x86-64 LA57, 9/9/9/9/9 + 12 (research §2).
const X86_L5: &[(u32, u32, u64)] = &[
    (12, 9, K4),
    (21, 9, K4),
    (30, 9, K4),
    (39, 9, K4),
    (48, 9, K4),
];
/// arm64 16K pages, VA48, 4 levels 1/11/11/11 + 14; tables one page, PGD 2 entries = 16 B
/// (research §3b, pgtable-hwdef.h).
const ARM64_16K_LV: &[(u32, u32, u64)] = &[
    (14, 11, 16384),
    (25, 11, 16384),
    (36, 11, 16384),
    (47, 1, 16),
];
/// arm64 64K pages, VA48, 3 levels 6/13/13 + 16; PGD 64 entries = 512 B (research §3c).
const ARM64_64K_LV: &[(u32, u32, u64)] = &[(16, 13, 65536), (29, 13, 65536), (42, 6, 512)];
/// ppc64 radix 4K: 13/9/9/9 + 12; PTE/PMD/PUD 4 KiB, PGD 64 KiB (research §4b, radix-4k.h).
const RADIX_4K_LV: &[(u32, u32, u64)] = &[(12, 9, K4), (21, 9, K4), (30, 9, K4), (39, 13, 65536)];
/// ppc64 radix 64K: 13/9/9/5 + 16; PTE table a 256 B fragment, PMD/PUD 4 KiB, PGD 64 KiB
/// (research §4a, radix-64k.h `RADIX_PTE_FRAG_SIZE_SHIFT`).
const RADIX_64K_LV: &[(u32, u32, u64)] = &[(16, 5, 256), (21, 9, K4), (30, 9, K4), (39, 13, 65536)];
/// ppc64 hash 64K: 8/10/10/8 + 16; PTE 4 KiB fragment (2K PTEs + 2K hidx), PMD/PUD 16 KiB,
/// PGD 2 KiB (research §4c, hash-64k.h `H_PTE_FRAG_SIZE_SHIFT`, `H_PMD_TABLE_SIZE`).
const HASH_64K_LV: &[(u32, u32, u64)] =
    &[(16, 8, K4), (24, 10, 16384), (34, 10, 16384), (44, 8, 2048)];
/// riscv Sv39/Sv48/Sv57: 9 bits a level, 4 KiB tables (research §5, pgtable-64.h).
const SV39_LV: &[(u32, u32, u64)] = &[(12, 9, K4), (21, 9, K4), (30, 9, K4)];
const SV48_LV: &[(u32, u32, u64)] = X86_L4;
const SV57_LV: &[(u32, u32, u64)] = X86_L5;

const fn x86_like(
    name: &'static str,
    levels: &'static [(u32, u32, u64)],
    start: u64,
    size: u64,
) -> Geo {
    Geo {
        name,
        page_shift: 12,
        section_bits: 27,
        levels,
        vmemmap_start: start,
        vmemmap_size: size,
        populate: Populate::X86,
        platform: Platform::X86,
        compat_align: SUBSECTION_SIZE,
        // x86 selects ARCH_WANT_OPTIMIZE_DAX_VMEMMAP; the profile decides (README §2).
        dedup_since: Some((0, 0)),
        pud_dax_since: Some((0, 0)),
        device_dax_since: (0, 0),
    }
}

const fn arm64(
    name: &'static str,
    page_shift: u32,
    section_bits: u32,
    levels: &'static [(u32, u32, u64)],
    start: u64,
    size: u64,
) -> Geo {
    Geo {
        name,
        page_shift,
        section_bits,
        levels,
        vmemmap_start: start,
        vmemmap_size: size,
        populate: Populate::Arm64,
        platform: Platform::Dram2G,
        compat_align: SUBSECTION_SIZE,
        // research §3 / §6: no ARCH_WANT_OPTIMIZE_DAX_VMEMMAP, no HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD.
        dedup_since: None,
        pud_dax_since: None,
        device_dax_since: (0, 0),
    }
}

const fn ppc(
    name: &'static str,
    page_shift: u32,
    levels: &'static [(u32, u32, u64)],
    populate: Populate,
) -> Geo {
    let radix = matches!(populate, Populate::Radix);
    Geo {
        name,
        page_shift,
        // arch/powerpc/include/asm/sparsemem.h: SECTION_SIZE_BITS 24.
        section_bits: 24,
        levels,
        // RADIX_VMEMMAP_START = H_VMEMMAP_START = 0xc00c000000000000, 512 TiB (research §4a/§4c).
        vmemmap_start: 0xc00c_0000_0000_0000,
        vmemmap_size: 1 << 49,
        populate,
        platform: Platform::Ppc,
        // book3s64/pgtable.c memremap_compat_align: radix SUBSECTION_SIZE, hash the 16M linear
        // mapping page size.
        compat_align: if radix { SUBSECTION_SIZE } else { 16 * MIB },
        // f2b79c0d7968 (≈6.6) + radix-only vmemmap_can_optimize override; 27af67f35631 PUD THP
        // on radix only (has_transparent_pud_hugepage() is 0 on hash).
        dedup_since: if radix { Some((6, 6)) } else { None },
        pud_dax_since: if radix { Some((6, 6)) } else { None },
        device_dax_since: (0, 0),
    }
}

const fn riscv(
    name: &'static str,
    levels: &'static [(u32, u32, u64)],
    start: u64,
    size: u64,
) -> Geo {
    Geo {
        name,
        page_shift: 12,
        section_bits: 27,
        levels,
        vmemmap_start: start,
        vmemmap_size: size,
        populate: Populate::Riscv,
        platform: Platform::Dram2G,
        compat_align: SUBSECTION_SIZE,
        // 4705c1571ad3 "riscv: Enable DAX VMEMMAP optimization" with hotplug/ZONE_DEVICE (≈6.11);
        // HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD (≈6.15).
        dedup_since: Some((6, 11)),
        pud_dax_since: Some((6, 15)),
        device_dax_since: (6, 11),
    }
}

const GEOS: [Geo; 11] = [
    // __VMEMMAP_BASE_L4, 1 TiB (research §1).
    x86_like("x86_64", X86_L4, 0xffff_ea00_0000_0000, 1 << 40),
    // __VMEMMAP_BASE_L5, 0.5 PiB (research §2).
    x86_like("x86_64-la57", X86_L5, 0xffd4_0000_0000_0000, 1 << 49),
    // VMEMMAP_START computed from memory.h for VA48 (research §3a/b/c).
    arm64("arm64-4k", 12, 27, X86_L4, 0xffff_fdff_c000_0000, 2 << 40),
    arm64(
        "arm64-16k",
        14,
        27,
        ARM64_16K_LV,
        0xffff_ff7f_c000_0000,
        512 << 30,
    ),
    arm64(
        "arm64-64k",
        16,
        29,
        ARM64_64K_LV,
        0xffff_ffdf_c000_0000,
        128 << 30,
    ),
    ppc("ppc64-radix-4k", 12, RADIX_4K_LV, Populate::Radix),
    ppc("ppc64-radix-64k", 16, RADIX_64K_LV, Populate::Radix),
    ppc("ppc64-hash-64k", 16, HASH_64K_LV, Populate::Hash),
    // vm-layout.rst starts; VMEMMAP_SIZE = BIT(VA_BITS - PAGE_SHIFT - 1 + 6) (research §5).
    riscv("riscv64-sv39", SV39_LV, 0xffff_ffc5_0000_0000, 4 << 30),
    riscv("riscv64-sv48", SV48_LV, 0xffff_8d80_0000_0000, 2 << 40),
    riscv("riscv64-sv57", SV57_LV, 0xff1c_0000_0000_0000, 1 << 50),
];

fn geo(name: &str) -> &'static Geo {
    GEOS.iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("unknown arch {name:?}"))
}

impl Geo {
    const fn page(&self) -> u64 {
        1 << self.page_shift
    }
    const fn pmd_size(&self) -> u64 {
        1 << self.levels[1].0
    }
    /// PUD_SIZE: the level above the PMD (folded into the PGD on 3-level configs).
    const fn pud_size(&self) -> u64 {
        1 << self.levels[2].0
    }
    const fn pages_per_section(&self) -> u64 {
        1 << (self.section_bits - self.page_shift)
    }
}

/// The sizes the oracle's geometry gives an arch: `(PAGE_SIZE, PMD_SIZE, PUD_SIZE,
/// memremap_compat_align(), section size)`. For building test grids.
///
/// # Panics
/// On an unknown arch name.
#[must_use]
pub fn arch_sizes(arch: &str) -> (u64, u64, u64, u64, u64) {
    let g = geo(arch);
    (
        g.page(),
        g.pmd_size(),
        g.pud_size(),
        g.compat_align,
        1 << g.section_bits,
    )
}

/// `(release, has_compound, shared_tail, pmd_reuse, altmap_dedup)` of a profile (README §2
/// table: device-dax moved to the shared tail in 7.4; next after all).
fn profile_facts(p: &str) -> (Release, bool, bool, bool, bool) {
    match p {
        "v5.10" => ((5, 10), false, false, false, false),
        "rfc" => ((5, 12), true, false, false, false),
        "v5.19" => ((5, 19), true, false, false, false),
        "v6.12" => ((6, 12), true, false, false, false),
        "v6.15" => ((6, 15), true, false, false, false),
        "v6.18" => ((6, 18), true, false, false, false),
        "v7.1" => ((7, 1), true, false, false, false),
        "v7.3" => ((7, 3), true, false, false, false),
        "v7.4" => ((7, 4), true, true, false, false),
        "next" => ((99, 1), true, true, true, true),
        other => panic!("unknown profile {other:?}"),
    }
}

/// How a profile's kernel counts `nr_memmap_pages` (README §2 last row; kernels-2026 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    /// No counter before 6.11.
    Absent,
    /// 6.11-7.1: `DIV_ROUND_UP(nr * 64, PAGE_SIZE)` per section chunk.
    Span,
    /// 7.2 on: per section chunk, the span when not optimized, else 2 (tail dedup) or 1 (the
    /// shared tail) for each compound head in the chunk.
    Described,
    /// next: the RAM frames really allocated.
    Frames,
}

fn counter(p: &str) -> Counter {
    match p {
        "v5.10" | "rfc" | "v5.19" => Counter::Absent,
        "v6.12" | "v6.15" | "v6.18" | "v7.1" => Counter::Span,
        "v7.3" | "v7.4" => Counter::Described,
        _ => Counter::Frames,
    }
}

// ------------------------------------------------------------------------------------------------
// Entry points.
// ------------------------------------------------------------------------------------------------

/// Brute force: places the device on a fresh machine whose RAM memmap was populated section by
/// section at boot, then replays the kernel's populate for every section chunk of the device,
/// vmemmap page by vmemmap page and table by table. Must be obviously correct, not fast.
///
/// # Panics
/// Where [`try_expected_counts`] returns an error (a configuration the kernel refuses), or on an
/// unknown profile / arch.
#[must_use]
pub fn expected_counts(cfg: &OracleConfig) -> OracleCounts {
    try_expected_counts(cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"))
}

/// [`expected_counts`], with the reasons the kernel refuses a configuration as errors: device-dax
/// not on this arch yet, an align `dax_align_valid()` refuses, a size not a multiple of
/// `max(align, memremap_compat_align())`, a `--map=dev` reserve that leaves no data
/// (`nd_pfn_init` -ENXIO), an altmap that runs out (-ENOMEM) and a vmemmap past `VMEMMAP_END`.
///
/// # Errors
/// As above.
///
/// # Panics
/// On an unknown profile or arch, or if a modelled invariant breaks.
pub fn try_expected_counts(cfg: &OracleConfig) -> Result<OracleCounts, String> {
    let g = geo(&cfg.arch);
    let p = g.page();
    let (release, has_compound, shared_tail, pmd_reuse, altmap_dedup) = profile_facts(&cfg.profile);
    if release < g.device_dax_since {
        return Err(format!(
            "{}: no device-dax before {:?}",
            g.name, g.device_dax_since
        ));
    }
    // drivers/dax/dax-private.h dax_align_valid(): PUD_SIZE with PUD THP, PMD_SIZE with THP,
    // PAGE_SIZE always.
    let pud_ok = g.pud_dax_since.is_some_and(|r| release >= r);
    if !(cfg.align == p || cfg.align == g.pmd_size() || (pud_ok && cfg.align == g.pud_size())) {
        return Err(format!("align {:#x} not offered on {}", cfg.align, g.name));
    }
    // drivers/dax/bus.c alloc_is_aligned(): IS_ALIGNED(size, max(align, memremap_compat_align())).
    if cfg.size == 0 || cfg.size % cfg.align.max(g.compat_align) != 0 {
        return Err(format!("size {:#x} not aligned", cfg.size));
    }

    let n = cfg.align / p; // pfns per compound page, 1 << vmemmap_shift (§1.2)
    let compound = has_compound && n > 1;
    // vmemmap_can_optimize (include/linux/mm.h __vmemmap_can_optimize): the arch selects
    // ARCH_WANT_OPTIMIZE_DAX_VMEMMAP (ppc: radix only), V = (n * S) >> PAGE_SHIFT > 2, no altmap;
    // `next` lifts the altmap restriction (README §2). The x86 profiles without dedup (v5.10,
    // rfc's tail reuse is modelled as on) are covered by `has_compound`.
    let arch_dedup = g.dedup_since.is_some_and(|r| release >= r);
    let dedup = compound
        && arch_dedup
        && n * STRUCT_PAGE / p > VMEMMAP_RESERVE_NR
        && (!cfg.map_dev || altmap_dedup);

    let ram = ram_ranges(g.platform, cfg.ram_size);
    let ram_end = ram.iter().map(|r| r.1).max().unwrap_or(0);
    let start = ram_end.next_multiple_of(64 * GIB);
    let start_pfn = start / p;
    let end_pfn = (start + cfg.size) / p;
    if (end_pfn * STRUCT_PAGE) > g.vmemmap_size {
        return Err(format!("{}: vmemmap ends past VMEMMAP_END", g.name));
    }

    // drivers/nvdimm/pfn_devs.c nd_pfn_init: offset = ALIGN(start + SZ_8K + 64 * npfns,
    // max(align, memremap_compat_align())) - start with npfns = PHYS_PFN(size - SZ_8K);
    // `offset >= size` → -ENXIO. With `next`'s altmap dedup the reserve holds one head
    // vmemmap page per compound page instead.
    let offset = if cfg.map_dev {
        let a = cfg.align.max(g.compat_align);
        let memmap = if altmap_dedup && dedup {
            (cfg.size / cfg.align) * p
        } else {
            STRUCT_PAGE * ((cfg.size - SZ_8K) / p)
        };
        let off = (start + SZ_8K + memmap).next_multiple_of(a) - start;
        if off >= cfg.size {
            return Err("nd_pfn_init: reserve leaves no data (-ENXIO)".into());
        }
        off
    } else {
        0
    };

    let mut sim = Sim {
        g,
        start_pfn,
        end_pfn,
        n,
        order: n.trailing_zeros(),
        pt: PageTables::default(),
        next_ram: 0,
        ram_allocated: 0,
        altmap: None,
        shared_tail: None,
    };

    // Boot: sparse_init populates every present section whole, with the arch's rule and no
    // altmap (mm/sparse.c sparse_init_nid → __populate_section_memmap).
    let pps = g.pages_per_section();
    let mut boot_sections: Vec<u64> = Vec::new();
    for &(a, b) in &ram {
        for s in (a / p / pps)..(b / p).div_ceil(pps) {
            if boot_sections.last() != Some(&s) {
                boot_sections.push(s);
            }
        }
    }
    boot_sections.dedup();
    for s in boot_sections {
        sim.populate_arch(s * pps, (s + 1) * pps, false)
            .expect("boot populate cannot fail from RAM");
    }
    let boot_tables = sim.pt.tables.clone();
    sim.ram_allocated = 0;

    // pfn_devs.c __nvdimm_setup_pfn: altmap base_pfn = start, reserve = nd_info_block_reserve()
    // = ALIGN(SZ_8K, PAGE_SIZE), free = PHYS_PFN(offset - reserve), end_pfn = last pfn.
    if cfg.map_dev {
        let reserve = SZ_8K.div_ceil(p);
        sim.altmap = Some(Altmap {
            next: start_pfn + reserve,
            limit: start_pfn + offset / p,
        });
    }

    // __add_pages: one sparse_add_section per section chunk, ascending (mm/memory_hotplug.c);
    // section_activate → populate_section_memmap → __populate_section_memmap
    // (mm/sparse-vmemmap.c): vmemmap_can_optimize ? compound populate : vmemmap_populate.
    let mut nr_memmap_pages_old = 0;
    let mut nr_memmap_pages_described = 0;
    let mut pfn = start_pfn;
    while pfn < end_pfn {
        let chunk_end = ((pfn / pps + 1) * pps).min(end_pfn);
        // mm/sparse.c section_activate (6.11+): memmap_pages_add(DIV_ROUND_UP(nr_pages *
        // sizeof(struct page), PAGE_SIZE)) per chunk.
        let span = ((chunk_end - pfn) * STRUCT_PAGE).div_ceil(p);
        nr_memmap_pages_old += span;
        // 7.2 section_nr_vmemmap_pages: each compound head in the chunk counts the pages its
        // compound page keeps; a chunk with no head (inside a 1 GiB page) counts nothing.
        nr_memmap_pages_described += if dedup {
            // Heads sit at start_pfn + k*n: those below chunk_end minus those below pfn.
            let heads = (chunk_end - start_pfn).div_ceil(n) - (pfn - start_pfn).div_ceil(n);
            heads * if shared_tail { 1 } else { 2 }
        } else {
            span
        };
        match (dedup, shared_tail) {
            (true, true) => sim.populate_compound_shared(pfn, chunk_end),
            (true, false) if g.populate == Populate::Radix => {
                sim.populate_compound_radix(pfn, chunk_end)
            }
            (true, false) => sim.populate_compound_generic(pfn, chunk_end),
            (false, _) => sim.populate_arch(pfn, chunk_end, cfg.map_dev)?,
        }
        pfn = chunk_end;
    }

    // Every struct page of the device must now be mapped.
    let (va0, va1) = (sim.va(start_pfn), sim.va(end_pfn));
    let mut page = va0 & !(p - 1);
    while page < va1 {
        assert!(sim.pt.frame(g, page).is_some(), "hole at vmemmap {page:#x}");
        page += p;
    }

    // README §2 `next`: an all-tail PTE table (every entry maps the shared tail of one compound
    // page) is the one shared table of this order, mapped at PMD level.
    let mut new_tables: HashSet<Table> = sim.pt.tables.difference(&boot_tables).copied().collect();
    if pmd_reuse && dedup {
        let (s, b, _) = g.levels[0];
        let tail = sim.shared_tail;
        let pte_tables: Vec<Table> = new_tables.iter().filter(|t| t.0 == 0).copied().collect();
        for t in pte_tables {
            let base = t.1 << (s + b);
            let mut compounds = HashSet::new();
            let mut all_tail = true;
            let mut va = base;
            while va < base + (1 << (s + b)) {
                if va < va0 || va >= va1 || tail.is_none() || sim.pt.ptes.get(&va).copied() != tail
                {
                    all_tail = false;
                    break;
                }
                compounds.insert(sim.pfn_of(va) / n);
                va += p;
            }
            if all_tail && compounds.len() == 1 {
                new_tables.remove(&t);
                new_tables.insert(Table(0, u64::MAX - u64::from(sim.order)));
            }
        }
    }
    let pagetable_bytes = new_tables
        .iter()
        .map(|t| g.levels[usize::from(t.0)].2)
        .sum();

    let memmap_bytes = sim.ram_allocated * p;
    let nr_memmap_pages = match counter(&cfg.profile) {
        Counter::Absent => None,
        Counter::Span => Some(nr_memmap_pages_old),
        Counter::Described => Some(nr_memmap_pages_described),
        Counter::Frames => Some(memmap_bytes / p),
    };
    Ok(OracleCounts {
        nr_memmap_pages,
        memmap_bytes,
        pagetable_bytes,
        device_bytes: offset,
        struct_pages: end_pfn - start_pfn,
        struct_pages_initialized: sim.memmap_init(start_pfn + offset / p, end_pfn),
    })
}

/// System RAM by platform (the model's machines; see [`Platform`]).
fn ram_ranges(platform: Platform, ram: u64) -> Vec<(u64, u64)> {
    match platform {
        Platform::X86 => vec![(MIB, 2 * GIB), (4 * GIB, 2 * GIB + ram)],
        Platform::Dram2G => vec![(2 * GIB, 2 * GIB + ram)],
        Platform::Ppc => vec![(0, ram)],
    }
}

// ------------------------------------------------------------------------------------------------
// The simulated machine: page tables (tables, PMD-level leaves, PTEs) and frame allocation.
// ------------------------------------------------------------------------------------------------

/// A simulated physical frame (PAGE_SIZE) backing a vmemmap page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Frame {
    /// Buddy/RAM frame, numbered in allocation order.
    Ram(u64),
    /// Frame carved from the device altmap, named by its device pfn.
    Dev(u64),
}

impl Frame {
    fn plus(self, i: u64) -> Frame {
        match self {
            Frame::Ram(x) => Frame::Ram(x + i),
            Frame::Dev(x) => Frame::Dev(x + i),
        }
    }
}

/// A page table: (level, 0 = PTE table; index = VA >> (shift + bits) of that level). The shared
/// all-tail table of `next` is `(0, u64::MAX - order)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Table(u8, u64);

#[derive(Debug, Default)]
struct PageTables {
    tables: HashSet<Table>,
    /// PMD-level leaves: PMD entry index (VA >> PMD shift) → first frame of the block.
    leaves: HashMap<u64, Frame>,
    /// PTEs: vmemmap page VA → frame.
    ptes: HashMap<u64, Frame>,
}

impl PageTables {
    /// The frame that maps vmemmap page `page`, if any.
    fn frame(&self, g: &Geo, page: u64) -> Option<Frame> {
        let pmd_shift = g.levels[1].0;
        if let Some(f) = self.leaves.get(&(page >> pmd_shift)) {
            let base = (page >> pmd_shift) << pmd_shift;
            return Some(f.plus((page - base) >> g.page_shift));
        }
        self.ptes.get(&page).copied()
    }
}

#[derive(Debug)]
struct Altmap {
    /// Next free pfn (`base_pfn + reserve + alloc + align`).
    next: u64,
    /// First pfn past the free area (`base_pfn + reserve + free`).
    limit: u64,
}

struct Sim {
    g: &'static Geo,
    start_pfn: u64,
    end_pfn: u64,
    /// pfns per compound page.
    n: u64,
    order: u32,
    pt: PageTables,
    next_ram: u64,
    /// RAM frames allocated since the counter was last reset (the device's memmap).
    ram_allocated: u64,
    altmap: Option<Altmap>,
    /// `mm-2026`, `next`: the machine-wide read-only tail frame of this order, allocated
    /// lazily (§9.2, §9.11).
    shared_tail: Option<Frame>,
}

impl Sim {
    fn va(&self, pfn: u64) -> u64 {
        // The model's pfn_to_page: VMEMMAP_START + pfn * sizeof(struct page).
        self.g.vmemmap_start + pfn * STRUCT_PAGE
    }
    fn pfn_of(&self, va: u64) -> u64 {
        (va - self.g.vmemmap_start) / STRUCT_PAGE
    }
    fn page(&self) -> u64 {
        self.g.page()
    }
    fn pmd_size(&self) -> u64 {
        self.g.pmd_size()
    }
    fn pmd_idx(&self, va: u64) -> u64 {
        va >> self.g.levels[1].0
    }
    /// The tables a walk to a leaf at `level` (0 = PTE, 1 = PMD) of `va` needs; allocated on
    /// demand (vmemmap_{p4d,pud,pmd,pte}_populate / *_alloc). The root always exists.
    fn walk(&mut self, va: u64, level: usize) {
        let lv = self.g.levels;
        for (l, &(shift, bits, _)) in lv.iter().enumerate().take(lv.len() - 1).skip(level) {
            let l = u8::try_from(l).expect("few levels");
            self.pt.tables.insert(Table(l, va >> (shift + bits)));
        }
    }
    /// pmd_none(): neither a leaf nor a PTE table under this PMD entry.
    fn pmd_none(&self, va: u64) -> bool {
        let (s, b, _) = self.g.levels[0];
        !self.pt.leaves.contains_key(&self.pmd_idx(va))
            && !self.pt.tables.contains(&Table(0, va >> (s + b)))
    }
    fn ram(&mut self, nr: u64) -> Frame {
        self.next_ram += nr;
        self.ram_allocated += nr;
        Frame::Ram(self.next_ram - nr)
    }
    /// mm/sparse-vmemmap.c altmap_alloc_block_buf: bump allocator, each request aligned to its
    /// own power-of-two size class (lowest set bit of the page count); NULL when
    /// `nr_pfns + nr_align > vmem_altmap_nr_free()`.
    fn altmap_alloc(&mut self, nr: u64) -> Option<Frame> {
        let a = self.altmap.as_mut().expect("altmap alloc without map=dev");
        let at = a.next.next_multiple_of(1 << nr.trailing_zeros());
        if at + nr > a.limit {
            return None;
        }
        a.next = at + nr;
        Some(Frame::Dev(at))
    }
    /// arch/powerpc altmap_cross_boundary(): the pfns whose struct pages `[va, va + size)` holds
    /// are not all inside `[altmap->base_pfn, altmap->end_pfn]`.
    fn cross_boundary(&self, va: u64, size: u64) -> bool {
        let nr_pfn = size / STRUCT_PAGE;
        let pfn = self.pfn_of(va);
        pfn + nr_pfn - 1 > self.end_pfn - 1 || pfn < self.start_pfn
    }
    fn set_pte(&mut self, page: u64, f: Frame) {
        assert!(
            self.pt.ptes.insert(page, f).is_none(),
            "pte {page:#x} set twice"
        );
    }

    /// `vmemmap_populate()` of the arch for `[pfn0, pfn1)` (no dedup), `altmap` if `map=dev`.
    fn populate_arch(&mut self, pfn0: u64, pfn1: u64, altmap: bool) -> Result<(), String> {
        let (start, end) = (self.va(pfn0), self.va(pfn1));
        let section_memmap = self.g.pages_per_section() * STRUCT_PAGE;
        match self.g.populate {
            Populate::X86 => {
                if end - start < section_memmap {
                    self.basepages(start, end, false)
                } else {
                    self.hugepages(start, end, altmap)
                }
            }
            Populate::Arm64 => {
                if self.g.page_shift != 12 || end - start < section_memmap {
                    self.basepages(start, end, altmap)
                } else {
                    self.hugepages(start, end, altmap)
                }
            }
            Populate::Riscv => self.hugepages(start, end, altmap),
            Populate::Radix => {
                self.radix_populate(start, end, altmap);
                Ok(())
            }
            Populate::Hash => {
                self.hash_populate(start, end, altmap);
                Ok(())
            }
        }
    }

    /// mm/sparse-vmemmap.c vmemmap_populate_basepages → vmemmap_populate_range: for each
    /// PAGE_SIZE step, vmemmap_pte_populate allocates a page where the PTE is none, from the
    /// altmap if one is passed (no fallback: vmemmap_alloc_block_buf with an altmap only uses
    /// altmap_alloc_block_buf; NULL → -ENOMEM).
    fn basepages(&mut self, start: u64, end: u64, altmap: bool) -> Result<(), String> {
        let p = self.page();
        let mut addr = start;
        while addr < end {
            let page = addr & !(p - 1);
            self.walk(page, 0);
            if self.pt.frame(self.g, page).is_none() {
                let f = if altmap {
                    self.altmap_alloc(1)
                        .ok_or("altmap exhausted (base page): -ENOMEM")?
                } else {
                    self.ram(1)
                };
                self.set_pte(page, f);
            }
            addr += p;
        }
        Ok(())
    }

    /// mm/sparse-vmemmap.c vmemmap_populate_hugepages: per PMD entry, pmd_none → a PMD_SIZE
    /// block (altmap or RAM; an altmap failure is -ENOMEM, "No fallback"); an existing leaf
    /// (vmemmap_check_pmd) is skipped; a PTE table → vmemmap_populate_basepages(addr, next).
    fn hugepages(&mut self, start: u64, end: u64, altmap: bool) -> Result<(), String> {
        let pmd = self.pmd_size();
        let mut addr = start;
        while addr < end {
            let next = ((addr | (pmd - 1)) + 1).min(end);
            self.walk(addr, 1);
            if self.pmd_none(addr) {
                let nr = pmd / self.page();
                let f = if altmap {
                    self.altmap_alloc(nr)
                        .ok_or("altmap exhausted (PMD block): -ENOMEM")?
                } else {
                    self.ram(nr)
                };
                self.pt.leaves.insert(self.pmd_idx(addr), f);
            } else if !self.pt.leaves.contains_key(&self.pmd_idx(addr)) {
                self.basepages(addr, next, altmap)?;
            }
            addr = next;
        }
        Ok(())
    }

    /// arch/powerpc/mm/book3s64/radix_pgtable.c radix__vmemmap_populate: start aligned down to
    /// PAGE_SIZE; per PMD entry that is none: a PMD_SIZE leaf if `addr` is PMD-aligned and (no
    /// altmap, or !altmap_cross_boundary(addr, PMD_SIZE) and the altmap supplies it), else base
    /// mapping; an existing leaf is skipped; otherwise base mapping, one page at a time:
    /// radix__vmemmap_pte_populate takes the page from the altmap unless it crosses the device
    /// boundary, and falls back to RAM when the altmap fails.
    fn radix_populate(&mut self, start: u64, end: u64, altmap: bool) {
        let (p, pmd) = (self.page(), self.pmd_size());
        let mut addr = start & !(p - 1);
        while addr < end {
            let next = ((addr | (pmd - 1)) + 1).min(end);
            self.walk(addr, 1);
            if self.pmd_none(addr) {
                let aligned = addr % pmd == 0;
                let leaf_ok = aligned && !(altmap && self.cross_boundary(addr, pmd));
                if leaf_ok {
                    let nr = pmd / p;
                    let f = if altmap {
                        self.altmap_alloc(nr)
                    } else {
                        Some(self.ram(nr))
                    };
                    if let Some(f) = f {
                        self.pt.leaves.insert(self.pmd_idx(addr), f);
                        addr = next;
                        continue;
                    }
                }
            } else if self.pt.leaves.contains_key(&self.pmd_idx(addr)) {
                addr = next;
                continue;
            }
            // base_mapping:
            let page = addr & !(p - 1);
            self.walk(page, 0);
            if !self.pt.ptes.contains_key(&page) {
                let from_altmap = altmap && !self.cross_boundary(page, p);
                let f = match from_altmap.then(|| self.altmap_alloc(1)).flatten() {
                    Some(f) => f,
                    None => self.ram(1),
                };
                self.set_pte(page, f);
            }
            addr += p;
        }
    }

    /// arch/powerpc/mm/init_64.c __vmemmap_populate (hash): start aligned down to the 16M
    /// vmemmap page size; each block not yet populated (vmemmap_populated) is allocated from
    /// the altmap when !altmap_cross_boundary(start, page_size) and it succeeds, else from RAM,
    /// and bolted (vmemmap_create_mapping). Modelled as a PMD-level leaf.
    fn hash_populate(&mut self, start: u64, end: u64, altmap: bool) {
        let bs = self.pmd_size();
        let mut addr = start & !(bs - 1);
        while addr < end {
            if !self.pt.leaves.contains_key(&self.pmd_idx(addr)) {
                self.walk(addr, 1);
                let nr = bs / self.page();
                let from_altmap = altmap && !self.cross_boundary(addr, bs);
                let f = match from_altmap.then(|| self.altmap_alloc(nr)).flatten() {
                    Some(f) => f,
                    None => self.ram(nr),
                };
                self.pt.leaves.insert(self.pmd_idx(addr), f);
            }
            addr += bs;
        }
    }

    /// Install a PTE for vmemmap page `page` (walking to a PTE table).
    fn map_pte(&mut self, page: u64, f: Frame) {
        self.walk(page, 0);
        self.set_pte(page, f);
    }

    /// Generic DAX dedup, mm/sparse-vmemmap.c vmemmap_populate_compound_pages (x86, riscv;
    /// §1.2 steps 1-2): each compound page gets a head frame and a reuse frame, the rest of its
    /// vmemmap pages alias the reuse frame; a chunk starting inside a compound larger than a
    /// subsection (reuse_compound_section) maps every page to the frame mapped just before it.
    /// All PAGE_SIZE PTEs. Only 4K-page arches take this path here.
    fn populate_compound_generic(&mut self, pfn0: u64, pfn1: u64) {
        let p = self.page();
        let (va0, va1) = (self.va(pfn0), self.va(pfn1));
        assert!(va0 % p == 0 && va1 % p == 0, "sub-page populate");
        let per_subsection = SUBSECTION_SIZE / p;
        if (pfn0 - self.start_pfn) % self.n != 0 && self.n > per_subsection {
            let prev = self
                .pt
                .frame(self.g, va0 - p)
                .expect("previous vmemmap page mapped");
            let mut va = va0;
            while va < va1 {
                self.map_pte(va, prev);
                va += p;
            }
            return;
        }
        let chunk = (va1 - va0).min(self.n * STRUCT_PAGE);
        let mut reuse = None;
        let mut va = va0;
        while va < va1 {
            if (va - va0) % chunk == 0 {
                let head = self.ram(1);
                reuse = Some(self.ram(1));
                self.map_pte(va, head);
            } else {
                // Page 1 is the reuse frame itself; the rest alias it.
                self.map_pte(va, reuse.expect("chunk starts with a head"));
            }
            va += p;
        }
    }

    /// ppc64 radix DAX dedup, radix_pgtable.c vmemmap_populate_compound_pages, with the pfn of
    /// each slot derived from its address (Muchun Song's 2026 fix "powerpc/mm: Fix wrong addr_pfn
    /// tracking", Cc stable; the behaviour Documentation/arch/powerpc/vmemmap_dedup.rst
    /// describes). Per vmemmap page: an existing leaf skips the PMD, an existing PTE is kept;
    /// pfn_offset 0 → head page and the next page get fresh frames; otherwise the compound's
    /// second vmemmap page (vmemmap_compound_tail_page, populating it and the head first if
    /// absent, unless under a leaf) is reused. All PTEs, no altmap.
    fn populate_compound_radix(&mut self, pfn0: u64, pfn1: u64) {
        let (p, pmd) = (self.page(), self.pmd_size());
        let (start, end) = (self.va(pfn0), self.va(pfn1));
        let mut addr = start;
        while addr < end {
            self.walk(addr, 1);
            if self.pt.leaves.contains_key(&self.pmd_idx(addr)) {
                addr = ((addr | (pmd - 1)) + 1).min(end);
                continue;
            }
            let page = addr & !(p - 1);
            self.walk(page, 0);
            if self.pt.ptes.contains_key(&page) {
                addr += p;
                continue;
            }
            let pfn_offset = self.pfn_of(addr) % self.n;
            if pfn_offset == 0 {
                let f = self.ram(1);
                self.map_pte(page, f);
                self.populate_address(page + p);
                addr += 2 * p;
                continue;
            }
            let map_addr = addr - pfn_offset * STRUCT_PAGE + p;
            let f = match self.compound_tail_page(map_addr) {
                Some(reuse) => reuse,
                None => self.ram(1),
            };
            self.map_pte(page, f);
            addr += p;
        }
    }

    /// radix__vmemmap_populate_address: a fresh page at `va` unless mapped (or under a leaf).
    fn populate_address(&mut self, va: u64) {
        self.walk(va, 1);
        if self.pt.leaves.contains_key(&self.pmd_idx(va)) {
            return;
        }
        if !self.pt.ptes.contains_key(&va) {
            let f = self.ram(1);
            self.map_pte(va, f);
        }
    }

    /// vmemmap_compound_tail_page: the frame of the compound's second vmemmap page at
    /// `map_addr`, populating the head page and it if absent; `None` under a PMD leaf.
    fn compound_tail_page(&mut self, map_addr: u64) -> Option<Frame> {
        self.walk(map_addr, 1);
        if self.pt.leaves.contains_key(&self.pmd_idx(map_addr)) {
            return None;
        }
        if let Some(&f) = self.pt.ptes.get(&map_addr) {
            return Some(f);
        }
        self.populate_address(map_addr - self.page());
        let f = self.ram(1);
        self.map_pte(map_addr, f);
        Some(f)
    }

    /// `mm-2026` / `next` (README §2, brief §9.2/§9.11 applied to DAX): each compound's head
    /// vmemmap page gets its own frame (altmap with `map=dev` under `next`), every other
    /// vmemmap page maps the shared read-only tail frame of this order. All PTEs.
    fn populate_compound_shared(&mut self, pfn0: u64, pfn1: u64) {
        let p = self.page();
        let (va0, va1) = (self.va(pfn0), self.va(pfn1));
        let mut page = va0 & !(p - 1);
        while page < va1 {
            if self.pt.frame(self.g, page).is_none() {
                let first = self.pfn_of(page.max(va0));
                let frame = if first % self.n == 0 {
                    match self.altmap.is_some().then(|| self.altmap_alloc(1)) {
                        Some(f) => f.expect("altmap reserve sized for the heads"),
                        None => self.ram(1),
                    }
                } else if let Some(t) = self.shared_tail {
                    t
                } else {
                    let t = self.ram(1); // on a fresh machine: the first user allocates it
                    self.shared_tail = Some(t);
                    t
                };
                self.map_pte(page, frame);
            }
            page += p;
        }
    }

    /// memmap init (mm/mm_init.c memmap_init_zone_device from `start + offset`,
    /// compound_nr_pages): every distinct writable struct page slot of `[pfn0, pfn1)` is
    /// written once. A slot that aliases an already written frame is not rewritten (classic
    /// dedup stops at 2K per compound), and the shared read-only tail is not written by init
    /// but once when it is allocated.
    fn memmap_init(&self, pfn0: u64, pfn1: u64) -> u64 {
        let p = self.page();
        let k = p / STRUCT_PAGE;
        let (va0, va1) = (self.va(pfn0), self.va(pfn1.max(pfn0)));
        let mut written: BTreeMap<Frame, Vec<(u64, u64)>> = BTreeMap::new();
        let mut page = va0 & !(p - 1);
        while page < va1 {
            let f = self.pt.frame(self.g, page).expect("mapped");
            if Some(f) != self.shared_tail {
                let lo = (page.max(va0) - page) / STRUCT_PAGE;
                let hi = ((page + p).min(va1) - page) / STRUCT_PAGE;
                written.entry(f).or_default().push((lo, hi));
            }
            page += p;
        }
        let mut count = 0;
        for mut iv in written.into_values() {
            iv.sort_unstable();
            let mut cur: Option<(u64, u64)> = None;
            for (lo, hi) in iv {
                match cur {
                    Some((a, b)) if lo <= b => cur = Some((a, b.max(hi))),
                    Some((a, b)) => {
                        count += b - a;
                        cur = Some((lo, hi));
                    }
                    None => cur = Some((lo, hi)),
                }
            }
            count += cur.map_or(0, |(a, b)| b - a);
        }
        count + if self.shared_tail.is_some() { k } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 4096;
    const M2: u64 = 2 * MIB;
    /// nd_pfn info block (SZ_8K) on 4K pages.
    const INFO_BLOCK: u64 = SZ_8K;

    fn counts(size: u64, align: u64, map_dev: bool, profile: &str) -> OracleCounts {
        expected_counts(&OracleConfig::x86(size, align, map_dev, profile, 16 * GIB))
    }

    fn on(
        arch: &str,
        size: u64,
        align: u64,
        map_dev: bool,
        profile: &str,
    ) -> Result<OracleCounts, String> {
        try_expected_counts(&OracleConfig {
            arch: arch.into(),
            ..OracleConfig::x86(size, align, map_dev, profile, 8 * GIB)
        })
    }

    #[test]
    fn one_2m_compound_is_two_frames() {
        let c = counts(M2, M2, false, "v6.15");
        assert_eq!(c.memmap_bytes, 2 * P);
        assert_eq!(c.pagetable_bytes, 2 * P); // own PTE table + new PMD table
        assert_eq!(c.struct_pages_initialized, 128);
        assert_eq!(c.struct_pages, 512);
    }

    #[test]
    fn one_1g_compound_is_two_frames_and_eight_pte_tables() {
        let c = counts(GIB, GIB, false, "v5.19");
        assert_eq!(c.memmap_bytes, 2 * P);
        assert_eq!(c.pagetable_bytes, (8 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 128);
    }

    #[test]
    fn golden_64g() {
        let s = 64 * GIB;
        let c = counts(s, GIB, false, "v6.15");
        assert_eq!(c.memmap_bytes, 64 * 2 * P);
        assert_eq!(c.pagetable_bytes, (512 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 64 * 128);
        let c = counts(s, M2, false, "v6.12");
        assert_eq!(c.memmap_bytes, 32768 * 2 * P);
        assert_eq!(c.struct_pages_initialized, 32768 * 128);
        for align in [P, M2, GIB] {
            let c = counts(s, align, false, "v5.10");
            assert_eq!((c.memmap_bytes, c.pagetable_bytes), (s / 64, P));
            assert_eq!(c.struct_pages_initialized, s / P);
        }
    }

    #[test]
    fn next_shared_tail_and_pmd_reuse() {
        let c = counts(64 * GIB, GIB, false, "next");
        assert_eq!(c.memmap_bytes, (64 + 1) * P);
        assert_eq!(c.pagetable_bytes, (64 + 1 + 1) * P); // own per GiB + shared + PMD
        assert_eq!(c.struct_pages_initialized, 64 * 64 + 64);
        let c = counts(4 * GIB, M2, false, "next");
        assert_eq!(c.memmap_bytes, (2048 + 1) * P);
        assert_eq!(c.pagetable_bytes, (32 + 1) * P); // no section is all-tail
        assert_eq!(c.struct_pages_initialized, 2048 * 64 + 64);
    }

    #[test]
    fn map_dev_classic_is_altmap_pmd_leaves() {
        let s = 64 * GIB;
        let c = counts(s, M2, true, "v6.15");
        let offset = (INFO_BLOCK + 64 * ((s - INFO_BLOCK) / P)).next_multiple_of(M2);
        assert_eq!(offset, GIB + M2);
        assert_eq!(c.device_bytes, offset);
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (0, P));
        assert_eq!(c.struct_pages_initialized, (s - offset) / P);
        let c = counts(s, GIB, true, "v6.15");
        assert_eq!(c.device_bytes, 2 * GIB);
        assert_eq!(c.struct_pages_initialized, (s - 2 * GIB) / P);
    }

    #[test]
    fn map_dev_next_dedups_into_altmap() {
        let c = counts(64 * GIB, GIB, true, "next");
        assert_eq!(c.device_bytes, GIB);
        assert_eq!(c.memmap_bytes, P); // only the shared tail is in RAM
        assert_eq!(c.pagetable_bytes, (64 + 1 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 63 * 64 + 64);
        let c = counts(GIB, M2, true, "next");
        assert_eq!(c.device_bytes, 2 * M2); // 8 KiB + 512 head pages (2 MiB) rounds up to 4 MiB
        assert_eq!(c.memmap_bytes, P);
        assert_eq!(c.struct_pages_initialized, 510 * 64 + 64);
    }

    #[test]
    fn partial_section_uses_base_pages_in_ram() {
        // 64 MiB: one sub-section chunk; x86 ignores the altmap there.
        let c = counts(64 * MIB, P, true, "v5.10");
        assert_eq!(c.memmap_bytes, 64 * MIB / 64);
        assert_eq!(c.pagetable_bytes, 2 * P);
        // 128 MiB + 2 MiB: one altmap PMD leaf + 8 RAM frames in a PTE table.
        let c = counts(130 * MIB, P, true, "v6.15");
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (8 * P, 2 * P));
        assert_eq!(c.device_bytes, 4 * MIB);
    }

    #[test]
    fn pud_table_counted_past_boot_pud() {
        let cfg = |ram_size| OracleConfig::x86(GIB, GIB, false, "rfc", ram_size);
        // RAM ends at 32 TiB: the device's vmemmap starts the second 512 GiB VA block (new PUD).
        assert_eq!(
            expected_counts(&cfg((32 << 40) - 2 * GIB)).pagetable_bytes,
            (8 + 1 + 1) * P
        );
        // RAM ends past 32 TiB: that PUD table pre-exists, only the PMD table is new.
        assert_eq!(expected_counts(&cfg(32 << 40)).pagetable_bytes, (8 + 1) * P);
        assert_eq!(expected_counts(&cfg(GIB)).pagetable_bytes, (8 + 1) * P);
    }

    /// Documentation/arch/powerpc/vmemmap_dedup.rst: radix 64K at 1G keeps 2 of 16 vmemmap
    /// pages, PTE-mapped in 256 B fragments; at 2M (32 struct pages) nothing dedups.
    #[test]
    fn ppc64_radix_64k_per_the_kernel_doc() {
        let c = on("ppc64-radix-64k", 4 * GIB, GIB, false, "v6.12").unwrap();
        assert_eq!(c.memmap_bytes, 4 * 2 * 65536);
        // 4 GiB of pfns = 4 MiB of vmemmap VA = two 256 B PTE fragments (2 MiB each); no new
        // PMD table (RAM's maps 1 GiB of VA, the device's vmemmap starts 64 MiB in).
        assert_eq!(c.pagetable_bytes, 2 * 256);
        assert_eq!(c.struct_pages_initialized, 4 * 2 * 1024);
        // 2M: a 2 MiB PMD leaf from RAM (one leaf describes 2 GiB).
        let c = on("ppc64-radix-64k", 4 * GIB, M2, false, "v6.12").unwrap();
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (2 * M2, 0));
        // Not before ≈6.6.
        assert!(on("ppc64-radix-64k", GIB, GIB, false, "v5.19").is_err());
    }

    #[test]
    fn hash_blocks_come_from_ram_unless_inside_the_device() {
        // A 16 MiB device: its 16 MiB vmemmap block describes 16 GiB, crossing the device
        // boundary, so it comes from RAM even with --map=dev.
        let c = on("ppc64-hash-64k", 48 * MIB, 16 * MIB, true, "v6.12").unwrap();
        assert_eq!(c.memmap_bytes, 16 * MIB);
        assert_eq!(c.pagetable_bytes, 0); // RAM's PMD table maps 16 GiB of VA
    }

    #[test]
    fn riscv_maps_even_a_subsection_with_a_pmd_leaf() {
        let c = on("riscv64-sv48", M2, P, false, "v6.12").unwrap();
        assert_eq!(c.memmap_bytes, M2);
        assert!(on("riscv64-sv48", M2, M2, false, "v5.19").is_err());
    }

    #[test]
    fn arm64_16k_base_pages() {
        // 130 MiB of 16K pages: 8320 pfns → 520 KiB of memmap → 33 vmemmap pages (the last
        // half used), in one new 16 KiB PTE table.
        let c = on("arm64-16k", 130 * MIB, 16384, false, "v6.12").unwrap();
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (33 * 16384, 16384));
        // nr_memmap_pages: DIV_ROUND_UP per section chunk: 32 + 1.
        assert_eq!(c.nr_memmap_pages, Some(33));
    }
}
