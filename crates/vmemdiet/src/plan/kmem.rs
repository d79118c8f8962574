//! The closed form of a dax device onlined as System RAM through dax_kmem (device-memory.md
//! §1, §4 rules 1–3 and 7): block alignment, whether `memmap_on_memory` is in effect, where
//! the memmap lands, and what the onlined blocks can still give HugeTLB.

use serde::Serialize;

use crate::addr::{ByteSize, Order, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::{self, DevDaxSpec, MapMode};
use crate::machine::phys_map::{ram_end, PhysMap};
use crate::mm::hstate::HugeSize;
use crate::mm::memory_hotplug::{
    self, memory_block_memmap_on_memory_pages, mhp_supports_memmap_on_memory, MemmapOnMemory,
    OnlineZone,
};
use crate::mm::profile::{Hvo, MemmapAccounting, Profile};

use super::{devdax, device_start, PlanConfig, PlanError};

/// What produced the dax device (`--source`): it sets the device's `memmap_on_memory` default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KmemSource {
    /// A CXL ram region (`cxl_dax_region_probe`): memmap_on_memory defaults to 1.
    #[default]
    Cxl,
    /// EFI soft-reserved / HMAT memory (`dax_hmem_probe`): defaults to 0.
    Hmem,
    /// A pmem namespace in devdax mode (`__dax_pmem_probe`): defaults to 0, and the dax range
    /// starts after the namespace's reserve.
    Pmem,
}

impl KmemSource {
    /// `dev_dax_data.memmap_on_memory` as the producing driver sets it.
    #[must_use]
    pub const fn default_memmap_on_memory(self) -> bool {
        matches!(self, KmemSource::Cxl)
    }
}

impl std::fmt::Display for KmemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KmemSource::Cxl => "cxl",
            KmemSource::Hmem => "hmem",
            KmemSource::Pmem => "pmem",
        })
    }
}

impl std::str::FromStr for KmemSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cxl" => Ok(KmemSource::Cxl),
            "hmem" => Ok(KmemSource::Hmem),
            "pmem" => Ok(KmemSource::Pmem),
            _ => Err(format!("source '{s}': give cxl, hmem or pmem")),
        }
    }
}

/// One dax device onlined as System RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmemConfig {
    /// The dax device's size (for `pmem`, the namespace's raw size).
    pub size: ByteSize,
    /// Its physical start (`None`: the start of the machine's device region).
    pub start: Option<PhysAddr>,
    pub source: KmemSource,
    /// The boot parameter `memory_hotplug.memmap_on_memory`.
    pub param: MemmapOnMemory,
    /// An explicit write to the device's `memmap_on_memory` file (6.9+); `None`: the source's
    /// default.
    pub device_mom: Option<bool>,
    /// The memory block size (`None`: the arch's rule from the end of boot RAM).
    pub block_size: Option<ByteSize>,
    /// The machine is a VM (x86-64's block size probe differs).
    pub vm: bool,
    pub zone: OnlineZone,
    pub profile: Profile,
    pub arch: Arch,
    pub ram_size: ByteSize,
    /// For `pmem`: the namespace's align and map (ndctl's defaults: the PMD size, dev).
    pub pmem_align: Option<ByteSize>,
    pub pmem_map: MapMode,
}

impl KmemConfig {
    /// A CXL device of `size` on the default machine and kernel, every option the kernel's
    /// default.
    #[must_use]
    pub fn new(size: ByteSize) -> KmemConfig {
        KmemConfig {
            size,
            start: None,
            source: KmemSource::Cxl,
            param: MemmapOnMemory::N,
            device_mom: None,
            block_size: None,
            vm: false,
            zone: OnlineZone::Movable,
            profile: Profile::default(),
            arch: Arch::X86_64,
            ram_size: super::DEFAULT_RAM,
            pmem_align: None,
            pmem_map: MapMode::Dev,
        }
    }

    /// The geometry of the machine.
    #[must_use]
    pub fn geometry(&self) -> &'static Geometry {
        self.arch.geometry()
    }

    /// The memory block size in effect.
    #[must_use]
    pub fn block(&self) -> ByteSize {
        let g = self.geometry();
        self.block_size.unwrap_or_else(|| {
            let end = ram_end(g, self.ram_size).map_or(u64::MAX, PhysAddr::as_u64);
            memory_hotplug::memory_block_size_bytes(g, end, self.vm)
        })
    }
}

/// What dax_kmem does with one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmemPlan {
    /// The dax range: its start and length (for pmem, after the namespace's reserve).
    pub range_start: u64,
    pub range_bytes: u64,
    /// The hot-added part: block aligned at both ends.
    pub added_start: u64,
    pub added_bytes: u64,
    pub block_size: u64,
    pub blocks: u64,
    /// memmap_on_memory in effect: each block hosts its own memmap.
    pub memmap_on_memory: bool,
    /// Why the memmap is in DRAM (`None` when memmap_on_memory is in effect).
    pub dram_reason: Option<String>,
    /// memmap_on_memory was asked for (boot parameter y or force, a device that asks, 6.8+)
    /// and the kernel silently refused it (`mhp_supports_memmap_on_memory`).
    pub mom_refused: Option<crate::mm::memory_hotplug::Unsupported>,
    /// What MemTotal gains once every block is online.
    pub usable_bytes: u64,
    /// Struct pages in DRAM.
    pub memmap_bytes: u64,
    /// Struct pages on the device (the blocks' heads).
    pub device_memmap_bytes: u64,
    /// Device bytes never hot-added: alignment at both ends, and for pmem the namespace's
    /// reserve and end truncation.
    pub stranded_bytes: u64,
    /// `size − usable_bytes`.
    pub device_bytes: u64,
    /// Page tables mapping the new vmemmap.
    pub pagetable_bytes: u64,
    pub struct_pages: u64,
    /// How `/proc/vmstat` `nr_memmap_pages` rises (null before 6.11).
    pub nr_memmap_pages: Option<u64>,
    /// 2 MiB and 1 GiB huge pages the onlined blocks can still give (null: the arch has no
    /// HugeTLB page of that size).
    pub hugetlb_2m_pages: Option<u64>,
    pub hugetlb_1g_pages: Option<u64>,
    /// HugeTLB vmemmap optimization applies to huge pages there.
    pub hvo: bool,
}

/// What dax_kmem refuses, or a configuration the kernel cannot have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmemError {
    #[error("dax_kmem: {size} at {start} is too small after alignment to the {block} memory block size: nothing left to hot-add, the kernel refuses the device (EINVAL); give at least {need} or a start on a block boundary")]
    TooSmall {
        size: ByteSize,
        start: PhysAddr,
        block: ByteSize,
        need: ByteSize,
    },
    #[error("memory block size {0}: give a power of two and a multiple of the {1} section size")]
    BlockSize(ByteSize, ByteSize),
    #[error("memmap_on_memory=force needs Linux 6.6 or later; {0} has only n and y")]
    ForceTooOld(Profile),
    #[error("the per-device memmap_on_memory file exists from Linux 6.9; on {0} the device keeps its source's default (leave the device's value out)")]
    NoKnob(Profile),
    #[error("writing 1 to the device's memmap_on_memory fails (EOPNOTSUPP): {0}")]
    KnobUnsupported(crate::mm::memory_hotplug::Unsupported),
    #[error("start {0} is not page aligned")]
    StartMisaligned(PhysAddr),
    #[error("the device at {start} .. {end} overlaps the machine's System RAM (ends at {ram_end}); give --start at or above it")]
    OverlapsRam {
        start: PhysAddr,
        end: PhysAddr,
        ram_end: PhysAddr,
    },
    #[error("a {0} device: give a positive size")]
    ZeroSize(ByteSize),
}

/// Plans one dax device onlined as System RAM.
///
/// # Errors
/// A device the kernel refuses (nothing left after block alignment), an option the profile's
/// kernel lacks, or a machine the arch cannot address.
pub fn plan_kmem(cfg: &KmemConfig) -> Result<KmemPlan, PlanError> {
    let g = cfg.geometry();
    let release = cfg.profile.kernel();
    check_options(cfg)?;
    let block = cfg.block();
    let (a, len) = dax_range(cfg)?;
    let end = a.as_u64() + len;
    let (a2, e2) = (
        a.as_u64().next_multiple_of(block.bytes()),
        end - end % block.bytes(),
    );
    if e2 <= a2 {
        return Err(KmemError::TooSmall {
            size: ByteSize::new(len),
            start: a,
            block,
            need: ByteSize::new(a2 + block.bytes() - a.as_u64()),
        }
        .into());
    }
    let added = e2 - a2;
    let blocks = added / block.bytes();
    let dram_reason = dram_reason(cfg, block);
    let on = dram_reason.is_none();
    let v = if on {
        memory_block_memmap_on_memory_pages(g, block, cfg.param)
    } else {
        0
    };
    let device_memmap = blocks * v * g.page_size();
    let (frames, pagetable_bytes) = ram_memmap(cfg, a2, added)?;
    let memmap_bytes = if on { 0 } else { frames * g.page_size() };
    let usable = added - device_memmap;
    let sw = cfg.profile.switches_on(g);
    let nr = added / g.page_size();
    Ok(KmemPlan {
        range_start: a.as_u64(),
        range_bytes: len,
        added_start: a2,
        added_bytes: added,
        block_size: block.bytes(),
        blocks,
        memmap_on_memory: on,
        mom_refused: refused(cfg, block),
        dram_reason,
        usable_bytes: usable,
        memmap_bytes,
        device_memmap_bytes: device_memmap,
        stranded_bytes: cfg.size.bytes() - added,
        device_bytes: cfg.size.bytes() - usable,
        pagetable_bytes,
        struct_pages: nr,
        nr_memmap_pages: match sw.memmap_accounting {
            MemmapAccounting::Absent => None,
            // Counted per section whether or not an altmap hosts the memmap (§1.10).
            MemmapAccounting::FullSpan | MemmapAccounting::Described => {
                Some(g.vmemmap_pages_for(nr))
            }
            MemmapAccounting::Allocated => Some(memmap_bytes / g.page_size()),
        },
        hugetlb_2m_pages: huge_pages(g, ByteSize::mib(2), a2, e2, block, v),
        hugetlb_1g_pages: huge_pages(g, ByteSize::gib(1), a2, e2, block, v),
        hvo: !on && g.features.hvo(release) && sw.hvo != Hvo::Off,
    })
}

/// The memmap of `len` bytes hot-added at `start` as `__add_pages` populates it without an
/// altmap (RAM frames, page-table bytes).
fn ram_memmap(cfg: &KmemConfig, start: u64, len: u64) -> Result<(u64, u64), PlanError> {
    let g = cfg.geometry();
    let range = PlanConfig {
        arch: cfg.arch,
        ram_size: cfg.ram_size,
        ..PlanConfig::new(
            ByteSize::new(len),
            ByteSize::new(g.page_size()),
            MapMode::Mem,
            cfg.profile,
        )
    };
    devdax::range_memmap(&range, PhysAddr::new(start), Order::new(0))
}

/// Options the profile's kernel does not have, and a block size no kernel uses.
fn check_options(cfg: &KmemConfig) -> Result<(), PlanError> {
    let g = cfg.geometry();
    let release = cfg.profile.kernel();
    if cfg.size.bytes() == 0 {
        return Err(KmemError::ZeroSize(cfg.size).into());
    }
    if cfg.param == MemmapOnMemory::Force && !memory_hotplug::FORCE_SINCE.at_or_before(release) {
        return Err(KmemError::ForceTooOld(cfg.profile).into());
    }
    if cfg.device_mom.is_some() && !memory_hotplug::DEVICE_KNOB_SINCE.at_or_before(release) {
        return Err(KmemError::NoKnob(cfg.profile).into());
    }
    if let Some(b) = cfg.block_size {
        if !b.bytes().is_power_of_two() || !b.is_multiple_of(g.section_size()) {
            return Err(KmemError::BlockSize(b, g.section_size()).into());
        }
    }
    if cfg.device_mom == Some(true) {
        let block = cfg.block();
        mhp_supports_memmap_on_memory(g, release, block, cfg.param)
            .map_err(KmemError::KnobUnsupported)?;
    }
    let end = ram_end(g, cfg.ram_size);
    if end.is_none_or(|end| end > g.max_phys()) {
        return Err(PlanError::RamTooLarge {
            what: format!("--ram {}", cfg.ram_size),
            end,
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
            flag: "--ram",
        });
    }
    Ok(())
}

/// The dax range `[a, a + len)`: the device, or for pmem what `nd_pfn_init` leaves of the
/// namespace after its reserve.
fn dax_range(cfg: &KmemConfig) -> Result<(PhysAddr, u64), PlanError> {
    let g = cfg.geometry();
    let machine = PlanConfig {
        arch: cfg.arch,
        ram_size: cfg.ram_size,
        ..PlanConfig::new(cfg.size, g.pmd_size(), cfg.pmem_map, cfg.profile)
    };
    let start = match cfg.start {
        Some(s) => s,
        None => device_start(&machine).ok_or_else(|| PlanError::RamTooLarge {
            what: format!("--ram {}", cfg.ram_size),
            end: ram_end(g, cfg.ram_size),
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
            flag: "--ram",
        })?,
    };
    if !start.is_aligned(ByteSize::new(g.page_size())) {
        return Err(KmemError::StartMisaligned(start).into());
    }
    let end = start
        .checked_add(cfg.size)
        .filter(|e| *e <= g.max_phys())
        .ok_or(PlanError::TooLarge {
            size: cfg.size,
            start,
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
        })?;
    let map = PhysMap::standard(g, cfg.ram_size, ByteSize::new(0));
    if map.as_ref().is_some_and(|m| m.intersects_ram(start, end)) {
        return Err(KmemError::OverlapsRam {
            start,
            end,
            ram_end: ram_end(g, cfg.ram_size).unwrap_or(PhysAddr::new(u64::MAX)),
        }
        .into());
    }
    if cfg.source != KmemSource::Pmem {
        return Ok((start, cfg.size.bytes()));
    }
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.pmem_align.unwrap_or(g.pmd_size()),
        map: cfg.pmem_map,
        at: Some(start),
        driver: dax::DaxDriver::Device,
    };
    let sw = cfg.profile.switches_on(g);
    let l = dax::namespace_layout(g, &sw, cfg.profile.kernel(), &spec, start)?;
    let (off, usable) = l.info.map_or((0, cfg.size.bytes()), |sb| {
        (sb.dataoff.bytes(), sb.usable().bytes())
    });
    Ok((PhysAddr::new(start.as_u64() + off), usable))
}

/// Why the memmap goes to DRAM (rule 2), or `None` when memmap_on_memory is in effect.
fn dram_reason(cfg: &KmemConfig, block: ByteSize) -> Option<String> {
    let release = cfg.profile.kernel();
    if !memory_hotplug::DAX_KMEM_SINCE.at_or_before(release) {
        return Some(format!(
            "dax_kmem asks for memmap_on_memory from 6.8 on; {} never does",
            cfg.profile
        ));
    }
    if !cfg
        .device_mom
        .unwrap_or(cfg.source.default_memmap_on_memory())
    {
        return Some(format!(
            "the device's memmap_on_memory is 0 ({})",
            cfg.source
        ));
    }
    mhp_supports_memmap_on_memory(cfg.geometry(), release, block, cfg.param)
        .err()
        .map(|u| u.to_string())
}

/// Does the arch have HugeTLB pages of `size`? PMD and PUD leaves, and arm64's contiguous
/// ones (2 MiB from 64 KiB PTEs on 64K pages, 1 GiB from 32 MiB PMDs on 16K pages).
fn hugetlb_size_offered(g: &Geometry, size: ByteSize) -> bool {
    let arm64_cont = g.name.starts_with("arm64")
        && (size == ByteSize::mib(2) || (size == ByteSize::gib(1) && g.page_shift == 14));
    arm64_cont || HugeSize::from_align(g, size).is_some()
}

/// The rule that refused a memmap_on_memory the boot parameter and the device asked for.
fn refused(cfg: &KmemConfig, block: ByteSize) -> Option<crate::mm::memory_hotplug::Unsupported> {
    let release = cfg.profile.kernel();
    let asked = cfg.param != MemmapOnMemory::N
        && memory_hotplug::DAX_KMEM_SINCE.at_or_before(release)
        && cfg
            .device_mom
            .unwrap_or(cfg.source.default_memmap_on_memory());
    if !asked {
        return None;
    }
    mhp_supports_memmap_on_memory(cfg.geometry(), release, block, cfg.param).err()
}

/// Naturally aligned huge pages of `size` in the onlined memory `[a, e)`: with
/// memmap_on_memory every block's first `v` pages hold its memmap, so a page may not contain a
/// block head (none when pages are larger than blocks). `None`: the arch has no HugeTLB page
/// of that size.
fn huge_pages(
    g: &Geometry,
    size: ByteSize,
    a: u64,
    e: u64,
    block: ByteSize,
    v: u64,
) -> Option<u64> {
    if !hugetlb_size_offered(g, size) {
        return None;
    }
    let s = size.bytes();
    let windows = |lo: u64, hi: u64| (hi / s).saturating_sub(lo.div_ceil(s));
    if v == 0 {
        return Some(windows(a, e));
    }
    if s > block.bytes() {
        return Some(0);
    }
    let per_block = windows(v * g.page_size(), block.bytes());
    Some((e - a) / block.bytes() * per_block)
}
