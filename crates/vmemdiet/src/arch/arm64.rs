//! arm64 (`arch/arm64`): 4K, 16K and 64K pages at each VA size the kernel offers.

use crate::addr::{ByteSize, VirtAddr};

use super::{ArchFeatures, Geometry, KernelVersion, VmemmapMap, DRAM_AT_2G_PLATFORM, MAX_LEVELS};

/// arm64 features: no DAX dedup (arm64 does not select `ARCH_WANT_OPTIMIZE_DAX_VMEMMAP`), HVO
/// from 5.19 (1e63ac088f20) until 6.2 (060a2c92d1b6, break-before-make), no PUD-sized THP so
/// no 1 GiB device-dax.
const ARM64_FEATURES: ArchFeatures = ArchFeatures {
    device_dax_since: KernelVersion::ANY,
    dax_dedup_since: None,
    hvo: Some((KernelVersion::new(5, 19), Some(KernelVersion::new(6, 2)))),
    pud_dax_since: None,
    memremap_compat_align: ByteSize::mib(2),
};

/// arm64, 4 KiB pages, 48-bit VA (4 levels, the defconfig): x86-like memmap; vmemmap
/// `VMEMMAP_END - VMEMMAP_SIZE` with `VMEMMAP_END = -1 GiB`.
pub const ARM64_4K: Geometry = Geometry {
    name: "arm64-4k",
    page_shift: 12,
    struct_page_size: 64,
    section_size_bits: 27,
    subsection_shift: 21,
    pt_levels: 4,
    level_bits: [9, 9, 9, 9, 0],
    table_shift: [12, 12, 12, 12, 0],
    vmemmap_base: VirtAddr::new(0xffff_fdff_c000_0000),
    vmemmap_size: ByteSize::tib(2),
    max_physmem_bits: 48,
    vmemmap_reserve_nr: 2,
    page_offset: VirtAddr::new(0xffff_0000_0000_0000),
    poison_pointer_delta: 0xdead_0000_0000_0000,
    buddy_max_order: 18,
    pud_leaves: true,
    platform: DRAM_AT_2G_PLATFORM,
    vmemmap_map: VmemmapMap::SectionLeaves {
        basepages_altmap: true,
    },
    features: ARM64_FEATURES,
    source: "arch/arm64/include/asm/pgtable-hwdef.h (ARM64_HW_PGTABLE_LEVEL_SHIFT), \
             asm/sparsemem.h (SECTION_SIZE_BITS 27), asm/memory.h (VMEMMAP_START), \
             mm/mmu.c vmemmap_populate",
};

/// arm64, 16 KiB pages, 48-bit VA: 4 levels of 11 index bits under a 2-entry PGD; the
/// memmap is always mapped with 16 KiB base pages.
pub const ARM64_16K: Geometry = Geometry {
    name: "arm64-16k",
    page_shift: 14,
    level_bits: [11, 11, 11, 1, 0],
    table_shift: [14, 14, 14, 4, 0],
    vmemmap_base: VirtAddr::new(0xffff_ff7f_c000_0000),
    vmemmap_size: ByteSize::gib(512),
    buddy_max_order: 11,
    pud_leaves: false,
    vmemmap_map: VmemmapMap::BasePages,
    source: "arch/arm64/include/asm/pgtable-hwdef.h (16K: 11 bits/level, PGD 1 bit at VA 48), \
             asm/sparsemem.h (SECTION_SIZE_BITS 27), mm/mmu.c vmemmap_populate (base pages)",
    ..ARM64_4K
};

/// arm64, 64 KiB pages, 48-bit VA: 3 levels (13/13 and a 64-entry PGD), 512 MiB sections,
/// memmap always mapped with 64 KiB base pages.
pub const ARM64_64K: Geometry = Geometry {
    name: "arm64-64k",
    page_shift: 16,
    section_size_bits: 29,
    pt_levels: 3,
    level_bits: [13, 13, 6, 0, 0],
    table_shift: [16, 16, 9, 0, 0],
    vmemmap_base: VirtAddr::new(0xffff_ffdf_c000_0000),
    vmemmap_size: ByteSize::gib(128),
    buddy_max_order: 13,
    pud_leaves: false,
    vmemmap_map: VmemmapMap::BasePages,
    source: "arch/arm64/include/asm/pgtable-hwdef.h (64K: 13 bits/level, PGD 6 bits at VA 48), \
             asm/sparsemem.h (SECTION_SIZE_BITS 29), mm/mmu.c vmemmap_populate (base pages)",
    ..ARM64_4K
};

/// arm64 at another VA size (`CONFIG_ARM64_VA_BITS`): the levels the kernel builds for it
/// (`ARM64_HW_PGTABLE_LEVELS(va) = (va - 4) / (PAGE_SHIFT - 3)`), every level a full page of
/// entries except the PGD, which gets the remaining bits; the vmemmap spans the linear map,
/// `_PAGE_END(VA_BITS_MIN) - PAGE_OFFSET` (`VMEMMAP_RANGE`, `VMEMMAP_END = -1 GiB`); 52-bit VA
/// comes with 52-bit physical addresses (LPA2 / LVA).
const fn arm64_va(base: Geometry, name: &'static str, va_bits: u32) -> Geometry {
    let per = base.page_shift - 3;
    let levels = (va_bits - 4) / per;
    let mut level_bits = [0; MAX_LEVELS];
    let mut table_shift = [0; MAX_LEVELS];
    let mut i = 0;
    while i < (levels - 1) as usize {
        level_bits[i] = per;
        table_shift[i] = base.page_shift;
        i += 1;
    }
    let top = va_bits - base.page_shift - per * (levels - 1);
    level_bits[i] = top;
    table_shift[i] = top + 3;
    let va_min = if va_bits < 48 { va_bits } else { 48 };
    let linear = (1u64 << va_bits) - (1u64 << (va_min - 1));
    let vmemmap_size = (linear >> base.page_shift) * 64;
    Geometry {
        name,
        pt_levels: levels,
        level_bits,
        table_shift,
        vmemmap_size: ByteSize::new(vmemmap_size),
        vmemmap_base: VirtAddr::new(0u64.wrapping_sub(1 << 30).wrapping_sub(vmemmap_size)),
        page_offset: VirtAddr::new(0u64.wrapping_sub(1 << va_bits)),
        max_physmem_bits: if va_bits == 52 { 52 } else { 48 },
        pud_leaves: base.pud_leaves && levels >= 3,
        ..base
    }
}

/// arm64 4K with 39-bit VA (3 levels; Android GKI, the pre-6.9 default).
pub const ARM64_4K_VA39: Geometry = arm64_va(ARM64_4K, "arm64-4k-va39", 39);
/// arm64 4K with 52-bit VA (5 levels, LPA2).
pub const ARM64_4K_VA52: Geometry = arm64_va(ARM64_4K, "arm64-4k-va52", 52);
/// arm64 16K with 36-bit VA (2 levels).
pub const ARM64_16K_VA36: Geometry = arm64_va(ARM64_16K, "arm64-16k-va36", 36);
/// arm64 16K with 47-bit VA (3 levels, the pre-6.9 default).
pub const ARM64_16K_VA47: Geometry = arm64_va(ARM64_16K, "arm64-16k-va47", 47);
/// arm64 16K with 52-bit VA (4 levels, LPA2).
pub const ARM64_16K_VA52: Geometry = arm64_va(ARM64_16K, "arm64-16k-va52", 52);
/// arm64 64K with 42-bit VA (2 levels, the pre-6.9 default).
pub const ARM64_64K_VA42: Geometry = arm64_va(ARM64_64K, "arm64-64k-va42", 42);
/// arm64 64K with 52-bit VA (3 levels, LVA).
pub const ARM64_64K_VA52: Geometry = arm64_va(ARM64_64K, "arm64-64k-va52", 52);
