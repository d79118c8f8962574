//! The `--map=dev` reserve of an nvdimm pfn/dax namespace (`drivers/nvdimm/pfn_devs.c`:
//! `nd_pfn_init`, `init_altmap_base`, `init_altmap_reserve`; kernel brief §1.3).

use serde::Serialize;

use crate::addr::{ByteSize, Pfn, PhysAddr};
use crate::arch::Geometry;

/// The info block at the start of a pfn namespace (`nd_info_block_reserve`).
pub const INFO_BLOCK: ByteSize = ByteSize::kib(8);

/// Where a `--map=dev` namespace's data starts and how its altmap is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PfnReserve {
    /// `dataoff`: bytes from the namespace start to the first data page; the device capacity
    /// the memmap reserve costs.
    pub offset: ByteSize,
    /// `altmap.base_pfn`: the namespace start rounded down to a subsection.
    pub base_pfn: Pfn,
    /// `altmap.reserve`: pfns before the memmap (info block plus start padding).
    pub reserve: u64,
    /// `altmap.free`: pfns available for the memmap.
    pub free: u64,
}

/// Computes the reserve of a namespace `[start, start + size)` whose dax align is `align`.
/// `memmap_bytes` is what the reserve must hold: `64 × npfns` in the kernel
/// (`MAX_STRUCT_PAGE_SIZE`), or less when the memmap on the device is deduplicated.
#[must_use]
#[doc(alias = "nd_pfn_init")]
pub fn reserve(g: &Geometry, start: PhysAddr, align: ByteSize, memmap_bytes: u64) -> PfnReserve {
    // `max(nd_pfn->align, memremap_compat_align())`: 16 MiB on ppc64 hash.
    let a = align.max(g.features.memremap_compat_align);
    let end = ByteSize::new(start.as_u64() + INFO_BLOCK.bytes() + memmap_bytes).align_up(a);
    let offset = ByteSize::new(end.bytes() - start.as_u64());
    let start_pfn = g.phys_to_pfn(start);
    let base_pfn = start_pfn.align_down(g.pages_per_subsection());
    // `nd_info_block_reserve()`: the info block rounded up to a page (one 16 or 64 KiB page).
    let info = INFO_BLOCK.align_up(ByteSize::new(g.page_size()));
    PfnReserve {
        offset,
        base_pfn,
        reserve: g.bytes_to_pages(info) + start_pfn.distance_from(base_pfn),
        free: g.bytes_to_pages(ByteSize::new(offset.bytes() - info.bytes())),
    }
}

/// The kernel's reserve size: `MAX_STRUCT_PAGE_SIZE × npfns` with `npfns = (size − 8K) / 4K`.
#[must_use]
pub fn kernel_memmap_bytes(g: &Geometry, size: ByteSize) -> u64 {
    g.bytes_to_pages(ByteSize::new(size.bytes() - INFO_BLOCK.bytes())) * g.struct_page_size
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    #[test]
    fn one_gib_namespace_at_2m_reserves_18_mib() {
        let g = &X86_64;
        let start = PhysAddr::new(320 << 30);
        let r = reserve(
            g,
            start,
            ByteSize::mib(2),
            kernel_memmap_bytes(g, ByteSize::gib(1)),
        );
        // 8 KiB + 16 MiB − 128 B of memmap, rounded up to 2 MiB.
        assert_eq!(r.offset, ByteSize::mib(18));
        assert_eq!(r.reserve, 2);
        assert_eq!(r.free, (18 << 8) - 2);
        // At 1 GiB align the reserve rounds to a whole 1 GiB.
        let r = reserve(
            g,
            start,
            ByteSize::gib(1),
            kernel_memmap_bytes(g, ByteSize::gib(4)),
        );
        assert_eq!(r.offset, ByteSize::gib(1));
    }
}
