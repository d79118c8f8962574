//! x86-64 (`arch/x86`): 4- and 5-level paging.

use crate::addr::{ByteSize, VirtAddr};

use super::{ArchFeatures, Geometry, KernelVersion, VmemmapMap, X86_PLATFORM};

/// x86-64 with 4-level paging (the default): 4 KiB pages, 128 MiB sections, 64 TiB of
/// physical address space described by a 1 TiB vmemmap at `0xffffea0000000000`.
pub const X86_64: Geometry = Geometry {
    name: "x86_64",
    page_shift: 12,
    struct_page_size: 64,
    section_size_bits: 27,
    subsection_shift: 21,
    pt_levels: 4,
    level_bits: [9, 9, 9, 9, 0],
    table_shift: [12, 12, 12, 12, 0],
    vmemmap_base: VirtAddr::new(0xffff_ea00_0000_0000),
    vmemmap_size: ByteSize::tib(1),
    max_physmem_bits: 46,
    vmemmap_reserve_nr: 2,
    page_offset: VirtAddr::new(0xffff_8880_0000_0000),
    poison_pointer_delta: 0xdead_0000_0000_0000,
    buddy_max_order: 18,
    pud_leaves: true,
    platform: X86_PLATFORM,
    vmemmap_map: VmemmapMap::SectionLeaves {
        basepages_altmap: false,
    },
    features: ArchFeatures {
        // The profiles themselves say when x86 gained each feature.
        device_dax_since: KernelVersion::ANY,
        dax_dedup_since: Some(KernelVersion::ANY),
        hvo: Some((KernelVersion::ANY, None)),
        pud_dax_since: Some(KernelVersion::ANY),
        memremap_compat_align: ByteSize::mib(2),
    },
    source: "arch/x86/include/asm/pgtable_64_types.h (PGDIR_SHIFT, __VMEMMAP_BASE_L4), \
             asm/sparsemem.h (SECTION_SIZE_BITS 27, MAX_PHYSMEM_BITS 46), \
             mm/init_64.c vmemmap_populate",
};

/// x86-64 with 5-level paging (LA57): same memory model, 4 PiB of physical address space,
/// vmemmap at `0xffd4000000000000`. Use it for devices beyond the 4-level 64 TiB limit.
pub const X86_64_LA57: Geometry = Geometry {
    name: "x86_64-la57",
    pt_levels: 5,
    level_bits: [9, 9, 9, 9, 9],
    table_shift: [12, 12, 12, 12, 12],
    vmemmap_base: VirtAddr::new(0xffd4_0000_0000_0000),
    vmemmap_size: ByteSize::tib(512),
    max_physmem_bits: 52,
    page_offset: VirtAddr::new(0xff11_0000_0000_0000),
    source: "arch/x86/include/asm/pgtable_64_types.h (CONFIG_X86_5LEVEL: PGDIR_SHIFT 48, \
             __VMEMMAP_BASE_L5), asm/sparsemem.h (MAX_PHYSMEM_BITS 52)",
    ..X86_64
};
