//! The nvdimm pfn info block of a namespace in fsdax/devdax mode (`drivers/nvdimm/pfn_devs.c`:
//! `nd_pfn_init`, `__nvdimm_setup_pfn`, `init_altmap_base`, `init_altmap_reserve`; kernel
//! brief §1.3): where the data of a namespace starts (`dataoff`), what its end loses to
//! alignment (`end_trunc`), and, with `--map=dev`, the altmap that holds its memmap. What is
//! left is the dax device (`drivers/dax/pmem.c` `__dax_pmem_probe`).

use serde::Serialize;

use crate::addr::{ByteSize, Pfn, PhysAddr};
use crate::arch::Geometry;
use std::fmt;
use std::str::FromStr;

/// Where the memmap of a namespace lives (`ndctl create-namespace --map`), the info block's
/// `mode`: `PFN_MODE_RAM` (`mem`) or `PFN_MODE_PMEM` (`dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MapMode {
    /// In System RAM.
    #[default]
    Mem,
    /// On the device itself (altmap).
    Dev,
}

impl fmt::Display for MapMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapMode::Mem => "mem",
            MapMode::Dev => "dev",
        })
    }
}

impl FromStr for MapMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mem" => Ok(MapMode::Mem),
            "dev" => Ok(MapMode::Dev),
            _ => Err(format!(
                "unknown map mode '{s}'; valid: mem (memmap in RAM), dev (memmap on the device)"
            )),
        }
    }
}

/// The info block at the start of a pfn namespace: `nd_pfn_init` places the memmap and data
/// after `SZ_8K` (the label space and the `nd_pfn_sb` at 4 KiB).
pub const INFO_BLOCK: ByteSize = ByteSize::kib(8);

/// `MAX_STRUCT_PAGE_SIZE` (`drivers/nvdimm/nd.h`, "max struct page size independent of kernel
/// config"): `nd_pfn_init` sizes the `--map=dev` reserve at 64 bytes per pfn whatever
/// `sizeof(struct page)` is, so that a namespace stays usable by kernels with another config
/// (it only refuses a larger struct page, or records it with `page_struct_override`).
pub const MAX_STRUCT_PAGE_SIZE: u64 = 64;

/// The smallest alignment `memremap_pages()` accepts for a namespace start and for the pfn
/// data offset (`memremap_compat_align()`, `mm/memremap.c`): `SUBSECTION_SIZE` (2 MiB)
/// generically; ppc64 overrides it (16 MiB with the hash MMU, `arch::ArchFeatures`).
#[must_use]
pub const fn memremap_compat_align(g: &Geometry) -> ByteSize {
    g.features.memremap_compat_align
}

/// `nd_info_block_reserve()` (`drivers/nvdimm/nd.h`): the 8 KiB info block rounded up to a
/// page, the pfns `init_altmap_reserve` keeps out of the altmap.
#[must_use]
#[doc(alias = "nd_info_block_reserve")]
pub const fn info_block_reserve(g: &Geometry) -> ByteSize {
    INFO_BLOCK.align_up(ByteSize::new(g.page_size()))
}

/// What `nd_pfn_init` writes into the info block (`struct nd_pfn_sb`) of a new namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[doc(alias = "nd_pfn_sb")]
pub struct PfnSb {
    /// `mode`: `PFN_MODE_RAM` (`--map=mem`) or `PFN_MODE_PMEM` (`--map=dev`).
    pub map: MapMode,
    /// `align`: the dax align the user asked for (`nd_pfn->align`).
    pub align: ByteSize,
    /// `dataoff`: bytes from the namespace start to the first data page.
    pub dataoff: ByteSize,
    /// `start_pad`: always 0 for a new namespace (`nd_pfn_init` refuses a misaligned start
    /// instead of padding it).
    pub start_pad: ByteSize,
    /// `end_trunc`: bytes past the last `max(align, memremap_compat_align())` boundary.
    pub end_trunc: ByteSize,
    /// `npfns`: data pages, `PHYS_PFN(size - dataoff - end_trunc)`.
    pub npfns: u64,
    /// The raw namespace size the block was written for.
    pub size: ByteSize,
}

impl PfnSb {
    /// The dax device's size: the namespace minus `start_pad`, `end_trunc` and `dataoff`
    /// (`size_show` of `pfn_devs.c`; `__dax_pmem_probe` moves the dax range start by
    /// `dataoff` and gives the device `range_len`).
    #[must_use]
    #[doc(alias = "size_show")]
    pub const fn usable(&self) -> ByteSize {
        ByteSize::new(
            self.size.bytes()
                - self.start_pad.bytes()
                - self.end_trunc.bytes()
                - self.dataoff.bytes(),
        )
    }

    /// Raw minus usable: the info block, alignment padding, and with `--map=dev` the memmap.
    #[must_use]
    pub const fn reserve(&self) -> ByteSize {
        ByteSize::new(self.size.bytes() - self.usable().bytes())
    }
}

/// Why `nd_pfn_init` refuses a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PfnError {
    /// `-EINVAL`: "start %pa misaligned to %#lx".
    #[error("namespace start {start} is misaligned to {compat} (memremap_compat_align); nearest valid starts: {down} or {up}")]
    StartMisaligned {
        start: PhysAddr,
        compat: ByteSize,
        down: PhysAddr,
        up: PhysAddr,
    },
    /// `-ENXIO`: "unable to satisfy requested alignment" (the data would be empty).
    #[error("a {size} namespace at align {} with --map={map} leaves no data: its reserve takes {dataoff} (info block, padding{}) and the end loses {end_trunc}", align.short(), if matches!(map, MapMode::Dev) { ", memmap" } else { "" })]
    NoData {
        size: ByteSize,
        align: ByteSize,
        map: MapMode,
        dataoff: ByteSize,
        end_trunc: ByteSize,
    },
    /// The arithmetic left 64 bits (a size near 2^64 bytes).
    #[error("a {size} namespace at {start}: the info block arithmetic overflows 64 bits")]
    Overflow { size: ByteSize, start: PhysAddr },
}

/// `nd_pfn_init` for a new namespace `[start, start + size)` in mode `map` at dax align
/// `align`: the data offset is the info block (`SZ_8K`), plus for `--map=dev` the memmap
/// (`page_map_size`, `MAX_STRUCT_PAGE_SIZE × PHYS_PFN(size − SZ_8K)` in the kernel; a
/// deduplicating profile passes what it really stores), rounded up to
/// `max(align, memremap_compat_align())` from the namespace start; the end is truncated to the
/// same alignment (`end_trunc`). Refuses a start misaligned to `memremap_compat_align()` and a
/// namespace whose data would be empty.
pub fn nd_pfn_init(
    g: &Geometry,
    start: PhysAddr,
    size: ByteSize,
    align: ByteSize,
    map: MapMode,
    page_map_size: Option<u64>,
) -> Result<PfnSb, PfnError> {
    let compat = memremap_compat_align(g);
    if !start.is_aligned(compat) {
        return Err(PfnError::StartMisaligned {
            start,
            compat,
            down: start.align_down(compat),
            up: start
                .checked_align_up(compat)
                .unwrap_or(start.align_down(compat)),
        });
    }
    let overflow = PfnError::Overflow { size, start };
    let a = align.max(compat);
    let end = start.checked_add(size).ok_or(overflow)?;
    let end_trunc = end.checked_sub(end.align_down(a)).ok_or(overflow)?;
    let npfns = g.bytes_to_pages(size.checked_sub(INFO_BLOCK).ok_or(PfnError::NoData {
        size,
        align,
        map,
        dataoff: INFO_BLOCK,
        end_trunc,
    })?);
    let metadata = match map {
        MapMode::Mem => INFO_BLOCK,
        MapMode::Dev => {
            let memmap = match page_map_size {
                Some(b) => b,
                None => MAX_STRUCT_PAGE_SIZE.checked_mul(npfns).ok_or(overflow)?,
            };
            INFO_BLOCK
                .checked_add(ByteSize::new(memmap))
                .ok_or(overflow)?
        }
    };
    let data = start
        .checked_add(metadata)
        .and_then(|p| p.checked_align_up(a))
        .ok_or(overflow)?;
    let dataoff = data.checked_sub(start).ok_or(overflow)?;
    // `offset >= size - end_trunc` would make a zero-size device.
    if dataoff.bytes() >= size.bytes() - end_trunc.bytes() {
        return Err(PfnError::NoData {
            size,
            align,
            map,
            dataoff,
            end_trunc,
        });
    }
    Ok(PfnSb {
        map,
        align,
        dataoff,
        start_pad: ByteSize::new(0),
        end_trunc,
        npfns: g.bytes_to_pages(ByteSize::new(
            size.bytes() - dataoff.bytes() - end_trunc.bytes(),
        )),
        size,
    })
}

/// The altmap of a `--map=dev` namespace, as `__nvdimm_setup_pfn` derives it from the info
/// block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PfnReserve {
    /// `dataoff`: bytes from the namespace start to the first data page; the device capacity
    /// the memmap reserve costs.
    pub offset: ByteSize,
    /// `altmap.base_pfn`: the namespace start rounded down to a subsection
    /// (`init_altmap_base`).
    pub base_pfn: Pfn,
    /// `altmap.reserve`: pfns before the memmap, the info block plus the start's distance from
    /// `base_pfn` (`init_altmap_reserve`).
    pub reserve: u64,
    /// `altmap.free`: pfns available for the memmap, `PHYS_PFN(dataoff − reserve)`.
    pub free: u64,
}

/// The altmap `__nvdimm_setup_pfn` builds for the namespace at `start` from its info block:
/// `base_pfn = SUBSECTION_ALIGN_DOWN(start)`, `reserve` = info block pfns + the distance to
/// it, `free = PHYS_PFN(dataoff − nd_info_block_reserve())`; device pages start at
/// `base_pfn + reserve + free`, the first data pfn.
#[must_use]
#[doc(alias = "__nvdimm_setup_pfn")]
#[doc(alias = "init_altmap_base")]
#[doc(alias = "init_altmap_reserve")]
pub fn altmap(g: &Geometry, start: PhysAddr, sb: &PfnSb) -> PfnReserve {
    let start_pfn = g.phys_to_pfn(start + sb.start_pad);
    let base_pfn = start_pfn.align_down(g.pages_per_subsection());
    let info = info_block_reserve(g);
    PfnReserve {
        offset: sb.dataoff,
        base_pfn,
        reserve: g.bytes_to_pages(info) + start_pfn.distance_from(base_pfn),
        free: g.bytes_to_pages(ByteSize::new(sb.dataoff.bytes() - info.bytes())),
    }
}

/// The kernel's `--map=dev` reserve: `MAX_STRUCT_PAGE_SIZE × npfns` with
/// `npfns = PHYS_PFN(size − SZ_8K)` (`nd_pfn_init`).
#[must_use]
pub fn kernel_memmap_bytes(g: &Geometry, size: ByteSize) -> u64 {
    g.bytes_to_pages(ByteSize::new(
        size.bytes().saturating_sub(INFO_BLOCK.bytes()),
    )) * MAX_STRUCT_PAGE_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    const START: PhysAddr = PhysAddr::new(320 << 30);

    fn init(size: ByteSize, align: ByteSize, map: MapMode) -> Result<PfnSb, PfnError> {
        nd_pfn_init(&X86_64, START, size, align, map, None)
    }

    /// A size that is not a whole number of aligns loses its tail (`end_trunc`), and the
    /// device's pfns are what lies between the data offset and that truncated end.
    #[test]
    fn a_ragged_end_is_truncated_to_the_align_and_not_counted() {
        let sb = init(ByteSize::mib(1025), ByteSize::mib(2), MapMode::Mem).unwrap();
        assert_eq!(
            (sb.dataoff, sb.end_trunc),
            (ByteSize::mib(2), ByteSize::mib(1))
        );
        assert_eq!(sb.npfns, (1024 - 2) << 8);
        assert_eq!(sb.usable(), ByteSize::mib(1022));
    }

    #[test]
    fn one_gib_namespace_at_2m_reserves_18_mib() {
        let g = &X86_64;
        let sb = init(ByteSize::gib(1), ByteSize::mib(2), MapMode::Dev).unwrap();
        // 8 KiB + 16 MiB − 128 B of memmap, rounded up to 2 MiB.
        assert_eq!(sb.dataoff, ByteSize::mib(18));
        assert_eq!(sb.usable(), ByteSize::mib(1024 - 18));
        assert_eq!(sb.npfns, (1024 - 18) << 8);
        let r = altmap(g, START, &sb);
        assert_eq!(r.reserve, 2);
        assert_eq!(r.free, (18 << 8) - 2);
        // The first data pfn is where the altmap ends.
        assert_eq!(
            r.base_pfn.add(r.reserve + r.free),
            g.phys_to_pfn(START + sb.dataoff)
        );
        // At 1 GiB align the reserve rounds to a whole 1 GiB.
        let sb = init(ByteSize::gib(4), ByteSize::gib(1), MapMode::Dev).unwrap();
        assert_eq!(sb.dataoff, ByteSize::gib(1));
    }

    #[test]
    fn map_mem_pays_the_info_block_rounded_to_the_align() {
        // The example: 16 GiB at 1G with --map=mem yields 15 GiB.
        let sb = init(ByteSize::gib(16), ByteSize::gib(1), MapMode::Mem).unwrap();
        assert_eq!(sb.usable(), ByteSize::gib(15));
        assert_eq!(sb.reserve(), ByteSize::gib(1));
        // At 4K and 2M the info block rounds to memremap_compat_align(), 2 MiB.
        for align in [ByteSize::kib(4), ByteSize::mib(2)] {
            let sb = init(ByteSize::gib(16), align, MapMode::Mem).unwrap();
            assert_eq!(sb.dataoff, ByteSize::mib(2), "{align}");
            assert_eq!(sb.end_trunc, ByteSize::new(0));
        }
        // A namespace of one aligned unit has no room for data.
        let e = init(ByteSize::gib(1), ByteSize::gib(1), MapMode::Mem).unwrap_err();
        assert!(matches!(e, PfnError::NoData { .. }), "{e}");
    }

    #[test]
    fn end_truncation_and_start_alignment() {
        // A start 2 MiB past a 1 GiB boundary: data starts at the next 1 GiB, the end loses
        // the 2 MiB past the last boundary.
        let start = PhysAddr::new((320 << 30) + (2 << 20));
        let sb = nd_pfn_init(
            &X86_64,
            start,
            ByteSize::gib(4),
            ByteSize::gib(1),
            MapMode::Mem,
            None,
        )
        .unwrap();
        assert_eq!(sb.dataoff, ByteSize::mib(1022));
        assert_eq!(sb.end_trunc, ByteSize::mib(2));
        assert_eq!(sb.usable(), ByteSize::gib(3));
        // Not on a 2 MiB boundary: refused, naming the nearest valid starts.
        let e = nd_pfn_init(
            &X86_64,
            PhysAddr::new((320 << 30) + 4096),
            ByteSize::gib(4),
            ByteSize::mib(2),
            MapMode::Mem,
            None,
        )
        .unwrap_err();
        assert!(matches!(e, PfnError::StartMisaligned { .. }));
        assert!(e.to_string().contains("0x5000200000"), "{e}");
    }

    #[test]
    fn the_reserve_is_sized_for_64_byte_struct_pages_whatever_the_config() {
        let g = crate::arch::Arch::X86_64.geometry_with(8);
        let a = nd_pfn_init(
            g,
            START,
            ByteSize::gib(1),
            ByteSize::mib(2),
            MapMode::Dev,
            None,
        );
        assert_eq!(a.unwrap().dataoff, ByteSize::mib(18));
    }
}
