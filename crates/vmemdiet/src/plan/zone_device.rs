//! The closed form of ZONE_DEVICE memory that GPU and PCI drivers register with
//! `memremap_pages` (device-memory.md §3.3–3.5, §4 rule 6): device-private (HMM), device-coherent
//! and PCI peer-to-peer BARs. The memmap is in DRAM for the whole registered range; no driver
//! sets `vmemmap_shift`, so nothing is deduplicated, and large device-private folios (6.19+)
//! change the folio size, not the memmap. Under `next`, a device-private pgmap with a
//! `vmemmap_shift` is the what-if: the device-dax dedup applied to GPU memory.

use serde::Serialize;

use crate::addr::{ByteSize, Order, PhysAddr};
use crate::arch::{Arch, Geometry, KernelVersion};
use crate::drivers::dax::MapMode;
use crate::machine::phys_map::{ram_end, PhysMap};
use crate::mm::profile::{MemmapAccounting, Profile};

use super::{devdax, device_start, Kind, PlanConfig, PlanError};

/// The `MEMORY_DEVICE_*` type a driver registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ZoneDeviceType {
    /// `MEMORY_DEVICE_PRIVATE` (HMM: amdkfd, xe, nouveau, NVIDIA UVM): memmap only, no direct
    /// map; the range is found by `request_free_mem_region`.
    Private,
    /// `MEMORY_DEVICE_COHERENT` (CPU-coherent GPUs): memmap and direct map.
    Coherent,
    /// `MEMORY_DEVICE_PCI_P2PDMA`: a BAR's part given to `pci_p2pdma_add_resource`.
    P2pdma,
}

impl std::fmt::Display for ZoneDeviceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ZoneDeviceType::Private => "device-private",
            ZoneDeviceType::Coherent => "device-coherent",
            ZoneDeviceType::P2pdma => "p2pdma",
        })
    }
}

/// 6.19: device-private folios larger than a page (Balbir Singh's THP migration series).
pub const LARGE_PRIVATE_FOLIOS_SINCE: KernelVersion = KernelVersion::new(6, 19);

/// `CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING`: 10 TiB on x86-64 (distro kernels, KASLR on).
const KASLR_PADDING_TIB: u64 = 10;

/// One registered range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneDeviceConfig {
    pub ty: ZoneDeviceType,
    /// The size the driver asks for.
    pub size: ByteSize,
    /// Where it lies (`None`: for device-private, where `request_free_mem_region` puts it; for
    /// the others, the start of the machine's device region).
    pub start: Option<PhysAddr>,
    /// The folio size (device-private only; a page unless 6.19+ large folios).
    pub folio: Option<ByteSize>,
    pub profile: Profile,
    pub arch: Arch,
    pub ram_size: ByteSize,
}

/// What registering the range costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ZoneDevicePlan {
    pub start: u64,
    /// The range `memremap_pages` registers (device-private: rounded up to a section by
    /// `request_free_mem_region`; the others: to a subsection, as drivers align it).
    pub registered_bytes: u64,
    /// Struct pages in DRAM.
    pub memmap_bytes: u64,
    pub pagetable_bytes: u64,
    pub struct_pages: u64,
    pub nr_memmap_pages: Option<u64>,
    /// The range is in the kernel's direct map (device-coherent and p2pdma).
    pub direct_map: bool,
}

/// A range the kernel would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneDeviceError {
    #[error(
        "{ty} at {start}: not aligned to the {unit} subsection (memremap_pages fails with EINVAL)"
    )]
    Misaligned {
        ty: ZoneDeviceType,
        start: PhysAddr,
        unit: ByteSize,
    },
    #[error("{ty} {size} at {start} ends beyond the direct map's end {limit} (mhp_range_allowed: ERANGE); boot with nokaslr or place it lower")]
    BeyondDirectMap {
        ty: ZoneDeviceType,
        size: ByteSize,
        start: PhysAddr,
        limit: PhysAddr,
    },
    #[error("request_free_mem_region: no free {size} below the direct map's end {limit} (ERANGE)")]
    NoRegion { size: ByteSize, limit: PhysAddr },
    #[error("{ty} at {start} overlaps System RAM (memremap_pages: ENXIO)")]
    OverlapsRam { ty: ZoneDeviceType, start: PhysAddr },
    #[error("--folio {folio}: {}", folio_advice(*ty, *profile))]
    Folio {
        ty: ZoneDeviceType,
        folio: ByteSize,
        profile: Profile,
    },
    #[error("a {0} range: give a positive size")]
    ZeroSize(ZoneDeviceType),
}

fn folio_advice(ty: ZoneDeviceType, profile: Profile) -> String {
    if ty == ZoneDeviceType::Private {
        format!("large device-private folios are PMD sized and exist from Linux 6.19; {profile} has order-0 folios only")
    } else {
        format!("only device-private memory has large folios, not {ty}")
    }
}

/// `DIRECT_MAP_PHYSMEM_END`: on x86-64 with KASLR (distro kernels) the direct map ends at the
/// RAM end rounded up to a TiB plus 10 TiB of padding; elsewhere at the physical limit.
#[must_use]
pub fn direct_map_end(g: &Geometry, ram_size: ByteSize) -> PhysAddr {
    let limit = g.max_phys();
    if !g.name.starts_with("x86_64") {
        return limit;
    }
    let tib = ram_end(g, ram_size).map_or(u64::MAX, |e| e.as_u64().div_ceil(1 << 40));
    tib.checked_add(KASLR_PADDING_TIB)
        .and_then(|t| t.checked_mul(1 << 40))
        .map_or(limit, |e| PhysAddr::new(e).min(limit))
}

/// Plans one registered range.
///
/// # Errors
/// A range the kernel refuses, or a folio size the profile's kernel lacks.
pub fn plan_zone_device(cfg: &ZoneDeviceConfig) -> Result<ZoneDevicePlan, PlanError> {
    let g = cfg.arch.geometry();
    if cfg.size.bytes() == 0 {
        return Err(ZoneDeviceError::ZeroSize(cfg.ty).into());
    }
    let order = folio_order(cfg)?;
    let unit = match cfg.ty {
        ZoneDeviceType::Private => g.section_size(),
        ZoneDeviceType::Coherent | ZoneDeviceType::P2pdma => g.subsection_size(),
    };
    let registered = cfg.size.checked_align_up(unit).ok_or(PlanError::TooLarge {
        size: cfg.size,
        start: PhysAddr::new(0),
        limit: ByteSize::new(g.max_phys().as_u64()),
        arch: cfg.arch,
    })?;
    let start = placed(cfg, registered)?;
    let range = PlanConfig {
        arch: cfg.arch,
        ram_size: cfg.ram_size,
        kind: Kind::Devdax,
        ..PlanConfig::new(
            registered,
            ByteSize::new(g.page_size()),
            MapMode::Mem,
            cfg.profile,
        )
    };
    let (frames, pagetable_bytes) = devdax::range_memmap(&range, start, order)?;
    let nr = registered.bytes() / g.page_size();
    let sw = cfg.profile.switches_on(g);
    Ok(ZoneDevicePlan {
        start: start.as_u64(),
        registered_bytes: registered.bytes(),
        memmap_bytes: frames * g.page_size(),
        pagetable_bytes,
        struct_pages: nr,
        nr_memmap_pages: match sw.memmap_accounting {
            MemmapAccounting::Absent => None,
            MemmapAccounting::FullSpan | MemmapAccounting::Described => {
                let pps = g.pages_per_section();
                Some(nr / pps * g.vmemmap_pages_for(pps) + g.vmemmap_pages_for(nr % pps))
            }
            MemmapAccounting::Allocated => Some(frames),
        },
        direct_map: cfg.ty != ZoneDeviceType::Private,
    })
}

/// The pgmap's `vmemmap_shift`: 0 for every driver; under `next`, a large device-private
/// folio's order (the dedup what-if).
fn folio_order(cfg: &ZoneDeviceConfig) -> Result<Order, PlanError> {
    let g = cfg.arch.geometry();
    let Some(folio) = cfg.folio.filter(|f| f.bytes() != g.page_size()) else {
        return Ok(Order::new(0));
    };
    let refused = ZoneDeviceError::Folio {
        ty: cfg.ty,
        folio,
        profile: cfg.profile,
    };
    if cfg.ty != ZoneDeviceType::Private
        || folio != g.pmd_size()
        || !LARGE_PRIVATE_FOLIOS_SINCE.at_or_before(cfg.profile.kernel())
    {
        return Err(refused.into());
    }
    Ok(Order::new(if cfg.profile.is_next() {
        g.pmd_order()
    } else {
        0
    }))
}

/// Where the range lands, checked against RAM and the direct map.
fn placed(cfg: &ZoneDeviceConfig, registered: ByteSize) -> Result<PhysAddr, PlanError> {
    let g = cfg.arch.geometry();
    let limit = direct_map_end(g, cfg.ram_size);
    let start = match (cfg.start, cfg.ty) {
        (Some(s), _) => s,
        // `get_free_mem_region`: top-down from the direct map's end in section steps; nothing
        // else lies above the machine's RAM and devices here.
        (None, ZoneDeviceType::Private) => {
            PhysAddr::new(limit.as_u64().checked_sub(registered.bytes()).ok_or(
                ZoneDeviceError::NoRegion {
                    size: registered,
                    limit,
                },
            )?)
        }
        (None, _) => {
            let machine = PlanConfig {
                arch: cfg.arch,
                ram_size: cfg.ram_size,
                ..PlanConfig::new(registered, registered, MapMode::Mem, cfg.profile)
            };
            device_start(&machine).unwrap_or(PhysAddr::new(u64::MAX))
        }
    };
    if !start.is_aligned(g.subsection_size()) {
        return Err(ZoneDeviceError::Misaligned {
            ty: cfg.ty,
            start,
            unit: g.subsection_size(),
        }
        .into());
    }
    let end = start.checked_add(registered);
    let beyond = match cfg.ty {
        ZoneDeviceType::Private => end.is_none_or(|e| e > g.max_phys()),
        _ => end.is_none_or(|e| e > limit),
    };
    if beyond {
        return Err(ZoneDeviceError::BeyondDirectMap {
            ty: cfg.ty,
            size: registered,
            start,
            limit: if cfg.ty == ZoneDeviceType::Private {
                g.max_phys()
            } else {
                limit
            },
        }
        .into());
    }
    let map = PhysMap::standard(g, cfg.ram_size, ByteSize::new(0));
    if map.is_some_and(|m| m.intersects_ram(start, end.unwrap_or(start))) {
        return Err(ZoneDeviceError::OverlapsRam { ty: cfg.ty, start }.into());
    }
    Ok(start)
}
