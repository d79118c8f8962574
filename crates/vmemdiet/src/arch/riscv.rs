//! riscv64 (`arch/riscv`): Sv39, Sv48 and Sv57.

use crate::addr::{ByteSize, VirtAddr};

use super::{ArchFeatures, Geometry, KernelVersion, VmemmapMap, DRAM_AT_2G_PLATFORM};

/// riscv features: ZONE_DEVICE and DAX dedup from 6.11 (memory hotplug series, 4705c1571ad3),
/// HVO before that, PUD-sized THP (1 GiB device-dax) from 6.15.
const RISCV_FEATURES: ArchFeatures = ArchFeatures {
    device_dax_since: KernelVersion::new(6, 11),
    dax_dedup_since: Some(KernelVersion::new(6, 11)),
    hvo: Some((KernelVersion::new(6, 1), None)),
    pud_dax_since: Some(KernelVersion::new(6, 15)),
    memremap_compat_align: ByteSize::mib(2),
};

/// riscv64 Sv48 (4 levels of 9 bits, the usual server mode): x86-like memmap, but every
/// range, even a subsection, gets PMD leaves.
pub const RISCV64_SV48: Geometry = Geometry {
    name: "riscv64-sv48",
    page_shift: 12,
    struct_page_size: 64,
    section_size_bits: 27,
    subsection_shift: 21,
    pt_levels: 4,
    level_bits: [9, 9, 9, 9, 0],
    table_shift: [12, 12, 12, 12, 0],
    vmemmap_base: VirtAddr::new(0xffff_8d80_0000_0000),
    vmemmap_size: ByteSize::tib(2),
    max_physmem_bits: 56,
    vmemmap_reserve_nr: 2,
    page_offset: VirtAddr::new(0xffff_af80_0000_0000),
    poison_pointer_delta: 0xdead_0000_0000_0000,
    buddy_max_order: 18,
    pud_leaves: true,
    platform: DRAM_AT_2G_PLATFORM,
    vmemmap_map: VmemmapMap::Leaves,
    features: RISCV_FEATURES,
    source: "arch/riscv/include/asm/pgtable-64.h (PGDIR_SHIFT_L4), pgtable.h (VMEMMAP_SHIFT), \
             asm/sparsemem.h (SECTION_SIZE_BITS 27, MAX_PHYSMEM_BITS 56), mm/init.c \
             vmemmap_populate, Documentation/arch/riscv/vm-layout.rst",
};

/// riscv64 Sv39 (3 levels): a 4 GiB vmemmap, so at most 256 GiB of physical address space
/// has struct pages.
pub const RISCV64_SV39: Geometry = Geometry {
    name: "riscv64-sv39",
    pt_levels: 3,
    level_bits: [9, 9, 9, 0, 0],
    table_shift: [12, 12, 12, 0, 0],
    vmemmap_base: VirtAddr::new(0xffff_ffc5_0000_0000),
    vmemmap_size: ByteSize::gib(4),
    page_offset: VirtAddr::new(0xffff_ffd8_0000_0000),
    source: "arch/riscv/include/asm/pgtable-64.h (PGDIR_SHIFT_L3), pgtable.h (VMEMMAP_SHIFT), \
             Documentation/arch/riscv/vm-layout.rst (sv39)",
    ..RISCV64_SV48
};

/// riscv64 Sv57 (5 levels).
pub const RISCV64_SV57: Geometry = Geometry {
    name: "riscv64-sv57",
    pt_levels: 5,
    level_bits: [9, 9, 9, 9, 9],
    table_shift: [12, 12, 12, 12, 12],
    vmemmap_base: VirtAddr::new(0xff1c_0000_0000_0000),
    vmemmap_size: ByteSize::tib(1024),
    page_offset: VirtAddr::new(0xff60_0000_0000_0000),
    source: "arch/riscv/include/asm/pgtable-64.h (PGDIR_SHIFT_L5), pgtable.h (VMEMMAP_SHIFT), \
             Documentation/arch/riscv/vm-layout.rst (sv57)",
    ..RISCV64_SV48
};
