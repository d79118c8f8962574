//! ppc64 book3s (`arch/powerpc`): radix with 4K and 64K pages, hash with 64K pages.

use crate::addr::{ByteSize, VirtAddr};

use super::{ArchFeatures, Geometry, KernelVersion, VmemmapMap, PPC64_PLATFORM};

/// ppc64 radix features: DAX dedup and PUD-sized THP from 6.6 (f2b79c0d7968, 27af67f35631),
/// no HVO on powerpc.
const PPC64_RADIX_FEATURES: ArchFeatures = ArchFeatures {
    device_dax_since: KernelVersion::ANY,
    dax_dedup_since: Some(KernelVersion::new(6, 6)),
    hvo: None,
    pud_dax_since: Some(KernelVersion::new(6, 6)),
    memremap_compat_align: ByteSize::mib(2),
};

/// ppc64 book3s radix, 64 KiB pages: index bits 5/9/9/13, so a PTE table is a 256-byte
/// fragment and a PMD table a 4 KiB one; 16 MiB sections; vmemmap at `0xc00c000000000000`.
pub const PPC64_RADIX_64K: Geometry = Geometry {
    name: "ppc64-radix-64k",
    page_shift: 16,
    struct_page_size: 64,
    section_size_bits: 24,
    subsection_shift: 21,
    pt_levels: 4,
    level_bits: [5, 9, 9, 13, 0],
    table_shift: [8, 12, 12, 16, 0],
    vmemmap_base: VirtAddr::new(0xc00c_0000_0000_0000),
    vmemmap_size: ByteSize::tib(512),
    max_physmem_bits: 51,
    vmemmap_reserve_nr: 2,
    page_offset: VirtAddr::new(0xc000_0000_0000_0000),
    poison_pointer_delta: 0x5dea_dbee_f000_0000,
    buddy_max_order: 14,
    pud_leaves: true,
    platform: PPC64_PLATFORM,
    vmemmap_map: VmemmapMap::AlignedLeaves,
    features: PPC64_RADIX_FEATURES,
    source: "arch/powerpc/include/asm/book3s/64/radix-64k.h (RADIX_*_INDEX_SIZE, \
             RADIX_PTE_FRAG_SIZE_SHIFT), radix.h (RADIX_VMEMMAP_START, R_MAX_PHYSMEM_BITS), \
             asm/sparsemem.h (SECTION_SIZE_BITS 24), mm/book3s64/radix_pgtable.c",
};

/// ppc64 book3s radix, 4 KiB pages: index bits 9/9/9/13 (a 64 KiB PGD), x86-like memmap.
pub const PPC64_RADIX_4K: Geometry = Geometry {
    name: "ppc64-radix-4k",
    page_shift: 12,
    level_bits: [9, 9, 9, 13, 0],
    table_shift: [12, 12, 12, 16, 0],
    buddy_max_order: 18,
    source: "arch/powerpc/include/asm/book3s/64/radix-4k.h (RADIX_*_INDEX_SIZE), radix.h, \
             asm/sparsemem.h (SECTION_SIZE_BITS 24), mm/book3s64/radix_pgtable.c",
    ..PPC64_RADIX_64K
};

/// ppc64 book3s hash, 64 KiB pages: index bits 8/10/10/8 (16 MiB PMD, 16 GiB PUD), PTE and
/// PMD tables doubled for hash slot data; the vmemmap is bolted into the hash table in 16 MiB
/// blocks and never deduplicated (`vmemmap_can_optimize` is false without radix);
/// `memremap_compat_align()` is the 16 MiB linear-map page size.
pub const PPC64_HASH_64K: Geometry = Geometry {
    name: "ppc64-hash-64k",
    level_bits: [8, 10, 10, 8, 0],
    table_shift: [12, 14, 14, 11, 0],
    vmemmap_map: VmemmapMap::Bolted,
    buddy_max_order: 18,
    features: ArchFeatures {
        device_dax_since: KernelVersion::ANY,
        dax_dedup_since: None,
        hvo: None,
        pud_dax_since: None,
        memremap_compat_align: ByteSize::mib(16),
    },
    source:
        "arch/powerpc/include/asm/book3s/64/hash-64k.h (H_*_INDEX_SIZE, H_PTE_FRAG_SIZE_SHIFT), \
             hash.h (H_VMEMMAP_START), mm/init_64.c __vmemmap_populate, \
             mm/book3s64/pgtable.c memremap_compat_align",
    ..PPC64_RADIX_64K
};
