//! The closed-form planner: what a devdax device's memmap costs, by arithmetic alone, for any
//! size the architecture can address. It mirrors the simulation rule for rule (one populate
//! strategy per section chunk, the nd_pfn reserve, page tables per level), and a test checks
//! that both agree on every count (INV-5).

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry, Level, VmemmapMap};
use crate::drivers::dax::{self, DaxError, DevDaxSpec, MapMode, MemmapCost};
use crate::machine::phys_map::{device_region_start, ram_end, PhysMap};
use crate::mm::mm_init::compound_nr_pages;
use crate::mm::pagemap::vmemmap_can_optimize;
use crate::mm::profile::{DaxDedup, MemmapAccounting, Profile};
use crate::ndctl;

/// One configuration to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanConfig {
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    pub arch: Arch,
    /// System RAM of the machine the device is added to (places the device region).
    pub ram_size: ByteSize,
    /// What the memory is: device-dax (the default) or a HugeTLB pool.
    pub kind: Kind,
    /// `sizeof(struct page)`: the arch's 64, or a memdesc what-if (32, 16, 8).
    pub struct_page_size: u64,
}

/// What kind of memory a plan describes (`--kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A device-dax device on device memory.
    #[default]
    Devdax,
    /// A HugeTLB pool carved from System RAM.
    Hugetlb,
    /// A device-dax device bound to the famfs `fsdev` driver: order-0 folios, no dedup.
    #[serde(rename = "devdax-fsdev")]
    DevdaxFsdev,
    /// Anonymous memory in System RAM (private `/dev/zero`, `MADV_NOHUGEPAGE`): order-0
    /// folios whose memmap is the boot memmap of RAM. GUP and MR only; `plan` refuses it.
    Anon,
    /// Anonymous memory advised `MADV_HUGEPAGE`: PMD-mapped THP folios. GUP and MR only.
    Thp,
    /// Shared `/dev/zero` (shmem): order-0 page-cache folios in RAM. GUP and MR only.
    Shmem,
}

impl Kind {
    /// The device-dax driver of a device kind (`Device` for the others, which have none).
    #[must_use]
    pub const fn dax_driver(self) -> crate::drivers::dax::DaxDriver {
        match self {
            Kind::DevdaxFsdev => crate::drivers::dax::DaxDriver::Fsdev,
            Kind::Devdax | Kind::Hugetlb | Kind::Anon | Kind::Thp | Kind::Shmem => {
                crate::drivers::dax::DaxDriver::Device
            }
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Devdax => "devdax",
            Kind::Hugetlb => "hugetlb",
            Kind::DevdaxFsdev => "devdax-fsdev",
            Kind::Anon => "anon",
            Kind::Thp => "thp",
            Kind::Shmem => "shmem",
        })
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "devdax" => Ok(Kind::Devdax),
            "hugetlb" => Ok(Kind::Hugetlb),
            "devdax-fsdev" => Ok(Kind::DevdaxFsdev),
            "anon" => Ok(Kind::Anon),
            "thp" => Ok(Kind::Thp),
            "shmem" => Ok(Kind::Shmem),
            _ => Err(format!(
                "unknown kind '{s}'; valid: devdax, hugetlb, devdax-fsdev, anon, thp, shmem"
            )),
        }
    }
}

impl PlanConfig {
    /// The geometry of this plan: the arch's, with the plan's `sizeof(struct page)`.
    ///
    /// # Panics
    /// On a struct page size `plan` would refuse ([`PlanError::StructPageSize`]).
    #[must_use]
    pub fn geometry(&self) -> &'static Geometry {
        self.arch.geometry_with(self.struct_page_size)
    }

    /// A config with the default machine (256 GiB RAM, x86-64).
    #[must_use]
    pub fn new(size: ByteSize, align: ByteSize, map: MapMode, profile: Profile) -> PlanConfig {
        PlanConfig {
            size,
            align,
            map,
            profile,
            arch: Arch::X86_64,
            ram_size: DEFAULT_RAM,
            kind: Kind::Devdax,
            struct_page_size: Arch::X86_64.geometry().struct_page_size,
        }
    }

    /// The same configuration for a HugeTLB pool.
    #[must_use]
    pub fn hugetlb(mut self) -> PlanConfig {
        self.kind = Kind::Hugetlb;
        self
    }

    /// The RAM of the machine this plan runs on: for a HugeTLB pool or anonymous memory,
    /// raised so the memory, its boot memmap and 8 GiB to spare fit.
    #[must_use]
    pub fn machine_ram(&self) -> ByteSize {
        match self.kind {
            Kind::Devdax | Kind::DevdaxFsdev => self.ram_size,
            Kind::Hugetlb | Kind::Anon | Kind::Thp | Kind::Shmem => {
                let g = self.geometry();
                let memmap = self.size.bytes() / g.page_size() * g.struct_page_size;
                // Saturates: a pool too large for 64 bits is refused by the physical limit.
                let need = self
                    .size
                    .checked_add(ByteSize::new(memmap))
                    .and_then(|n| n.checked_add(ByteSize::gib(8)))
                    .and_then(|n| n.checked_align_up(ByteSize::gib(1)))
                    .unwrap_or(ByteSize::new(u64::MAX).align_down(ByteSize::gib(1)));
                self.ram_size.max(need)
            }
        }
    }

    /// Where a HugeTLB pool of this plan lies: huge pages are taken from the top of RAM down.
    #[must_use]
    pub fn hugetlb_pool(&self) -> (PhysAddr, PhysAddr) {
        let g = self.geometry();
        let end = ram_end(g, self.machine_ram())
            .unwrap_or(PhysAddr::new(u64::MAX))
            .align_down(self.align);
        (
            PhysAddr::new(end.as_u64().saturating_sub(self.size.bytes())),
            end,
        )
    }
}

/// How errors name a configuration: `1 TiB at align 2M (v6.15, map=mem)`, with the kind and
/// architecture when they are not the defaults.
impl std::fmt::Display for PlanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.kind != Kind::Devdax {
            write!(f, "{} ", self.kind)?;
        }
        write!(
            f,
            "{} at align {} ({}, map={}",
            self.size,
            self.align.short(),
            self.profile,
            self.map
        )?;
        if self.arch != Arch::default() {
            write!(f, ", {}", self.arch)?;
        }
        if self.struct_page_size != self.arch.geometry().struct_page_size {
            write!(f, ", {}-byte struct page", self.struct_page_size)?;
        }
        f.write_str(")")
    }
}

/// The RAM of the default machine.
pub const DEFAULT_RAM: ByteSize = ByteSize::gib(256);

/// One planned (or simulated) configuration, as `vmemdiet plan --json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    pub size: u64,
    pub align: u64,
    pub map: MapMode,
    pub profile: Profile,
    pub arch: Arch,
    pub memmap_bytes: u64,
    pub pagetable_bytes: u64,
    pub device_bytes: u64,
    pub struct_pages: u64,
    pub struct_pages_initialized: u64,
    /// `/proc/vmstat` `nr_memmap_pages` as the profile's kernel reports it (null: no counter).
    pub nr_memmap_pages: Option<u64>,
    /// How `/proc/vmstat` `nr_memmap_boot_pages` changes (negative: boot memmap given back).
    pub nr_memmap_boot_pages: Option<i64>,
    /// `sizeof(struct page)` the row assumes (64, or a memdesc what-if).
    pub struct_page_size: u64,
    pub simulated: bool,
    /// The dax device a namespace of `size` yields (`nd_pfn_init`; null for a configuration
    /// no pmem namespace can have). A HugeTLB pool is usable whole.
    pub usable_bytes: Option<u64>,
    /// `size − usable_bytes`: info block, alignment padding, end truncation and with
    /// `--map=dev` the memmap.
    pub reserve_bytes: Option<u64>,
}

impl PlanRow {
    /// A row from a config and its counts.
    #[must_use]
    pub fn new(cfg: &PlanConfig, c: MemmapCost, simulated: bool) -> PlanRow {
        PlanRow {
            size: cfg.size.bytes(),
            align: cfg.align.bytes(),
            map: cfg.map,
            profile: cfg.profile,
            arch: cfg.arch,
            memmap_bytes: c.memmap_bytes,
            pagetable_bytes: c.pagetable_bytes,
            device_bytes: c.device_bytes,
            struct_pages: c.struct_pages,
            struct_pages_initialized: c.struct_pages_initialized,
            nr_memmap_pages: c.nr_memmap_pages,
            nr_memmap_boot_pages: c.nr_memmap_boot_pages,
            struct_page_size: cfg.struct_page_size,
            simulated,
            usable_bytes: None,
            reserve_bytes: None,
        }
        .with_capacity(capacity(cfg).ok())
    }

    /// The row with `c` as its capacity (a simulation's measured one, or none).
    #[must_use]
    pub fn with_capacity(mut self, c: Option<Capacity>) -> PlanRow {
        self.usable_bytes = c.map(|c| c.usable_bytes);
        self.reserve_bytes = c.map(|c| c.reserve_bytes);
        self
    }

    /// The counts of this row.
    #[must_use]
    pub fn cost(&self) -> MemmapCost {
        MemmapCost {
            memmap_bytes: self.memmap_bytes,
            pagetable_bytes: self.pagetable_bytes,
            device_bytes: self.device_bytes,
            struct_pages: self.struct_pages,
            struct_pages_initialized: self.struct_pages_initialized,
            nr_memmap_pages: self.nr_memmap_pages,
            nr_memmap_boot_pages: self.nr_memmap_boot_pages,
        }
    }
}

/// Planner errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Dax(#[from] DaxError),
    #[error("{size} at {start} ends beyond the {arch} physical address limit of {limit}{}", la57_advice(*arch, *start, *size))]
    TooLarge {
        size: ByteSize,
        start: PhysAddr,
        limit: ByteSize,
        arch: Arch,
    },
    #[error("{what} needs System RAM up to {}, beyond the {arch} physical address limit of {limit}; give a smaller {flag}", end.map_or_else(|| "past 2^64 bytes".to_string(), |e| e.to_string()))]
    RamTooLarge {
        what: String,
        end: Option<PhysAddr>,
        limit: ByteSize,
        arch: Arch,
        flag: &'static str,
    },
    #[error("RAM size {size} must be at least {min} and a multiple of the {section} section size")]
    BadRam {
        size: ByteSize,
        min: ByteSize,
        section: ByteSize,
    },
    #[error("HugeTLB pages on {arch} are {valid}, not {}", align.short())]
    HugetlbAlign {
        align: ByteSize,
        arch: Arch,
        valid: String,
    },
    #[error("a HugeTLB pool lives in System RAM: its memmap is always in RAM (--map mem)")]
    HugetlbMap,
    #[error("--kind {0}: this memory is System RAM, whose memmap was allocated at boot, so there is nothing to plan; plan takes devdax, hugetlb, devdax-fsdev (bench gup and bench mr take {0})")]
    RamKind(Kind),
    #[error("{arch} has device-dax (ZONE_DEVICE) from Linux {since}; profile {profile} predates it; valid profiles there: {valid}")]
    ArchTooNew {
        arch: Arch,
        since: crate::arch::KernelVersion,
        profile: Profile,
        valid: String,
    },
    #[error("--map dev on {arch}: the {size} namespace's memmap reserve cannot hold a {block} vmemmap block (the kernel fails with ENOMEM); give a larger --size or use --map mem")]
    AltmapShort {
        arch: Arch,
        block: ByteSize,
        size: ByteSize,
    },
    #[error("struct page size {0} B: give one of 64 (today), 32, 16 or 8 (memdesc what-ifs)")]
    StructPageSize(u64),
    #[error("struct page size {0} B: the what-if is modelled for device-dax only (--kind devdax)")]
    StructPageSizeHugetlb(u64),
    #[error(transparent)]
    Ndctl(#[from] ndctl::NdctlError),
    #[error("--usable asks for a namespace size; a HugeTLB pool has none (use --kind devdax)")]
    UsableHugetlb,
    #[error("--usable 0: give a positive size, e.g. 15G")]
    UsableZero,
    #[error("--usable {usable}: no namespace below 2^64 bytes (in steps of {}) yields that much", step.short())]
    UsableTooLarge { usable: ByteSize, step: ByteSize },
}

/// The advice for a device beyond the 4-level limit, given only where 5-level paging would hold
/// it.
fn la57_advice(arch: Arch, start: PhysAddr, size: ByteSize) -> String {
    let fits = start
        .checked_add(size)
        .is_some_and(|end| end <= Arch::X86_64La57.geometry().max_phys());
    if arch == Arch::X86_64 && fits {
        "; use --arch x86_64-la57 (5-level paging) for devices this large".into()
    } else {
        String::new()
    }
}

/// The device of a plan, placed at the start of its machine's device region.
fn placed(cfg: &PlanConfig) -> Result<(PhysAddr, DevDaxSpec), PlanError> {
    let g = cfg.geometry();
    let start = device_start(cfg).ok_or_else(|| PlanError::RamTooLarge {
        what: format!("--ram {}", cfg.ram_size),
        end: ram_end(g, cfg.ram_size),
        limit: ByteSize::new(g.max_phys().as_u64()),
        arch: cfg.arch,
        flag: "--ram",
    })?;
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.align,
        map: cfg.map,
        at: Some(start),
        driver: cfg.kind.dax_driver(),
    };
    Ok((start, spec))
}

/// Where a plan places the device: at the start of the device region of its machine.
#[must_use]
pub fn device_start(cfg: &PlanConfig) -> Option<PhysAddr> {
    device_region_start(cfg.geometry(), cfg.ram_size)
}

/// Number of `block`-sized, `block`-aligned blocks that `[start, end)` touches.
fn blocks(start: u64, end: u64, block: u64) -> std::ops::Range<u64> {
    start / block..end.div_ceil(block)
}

/// Count of blocks touched by `range` and not by any of `taken`.
fn new_blocks(range: std::ops::Range<u64>, taken: &[std::ops::Range<u64>]) -> u64 {
    let mut n = range.end - range.start;
    // `taken` ranges are disjoint and sorted; subtract their overlap with `range`.
    let mut last_end = 0;
    for t in taken {
        let lo = t.start.max(range.start).max(last_end);
        let hi = t.end.min(range.end);
        if hi > lo {
            n -= hi - lo;
            last_end = hi;
        }
    }
    n
}

/// Count of `span`-sized blocks touched by any of `ranges` and by none of `taken`.
fn new_blocks_of(ranges: &[(u64, u64)], span: u64, taken: &[(u64, u64)]) -> u64 {
    let merge = |rs: &[(u64, u64)]| {
        let mut bs: Vec<std::ops::Range<u64>> = rs
            .iter()
            .filter(|(lo, hi)| lo < hi)
            .map(|&(lo, hi)| blocks(lo, hi, span))
            .collect();
        bs.sort_by_key(|r| r.start);
        let mut out: Vec<std::ops::Range<u64>> = Vec::new();
        for r in bs {
            match out.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => out.push(r),
            }
        }
        out
    };
    let taken = merge(taken);
    merge(ranges)
        .into_iter()
        .map(|r| new_blocks(r, &taken))
        .sum()
}

/// The altmap's bump allocator (`altmap_alloc_block_buf`), replayed: allocations of `nr` pfns
/// are aligned to the lowest set bit of `nr`.
struct AltmapBump {
    next: u64,
    end: u64,
}

impl AltmapBump {
    fn new(r: &crate::drivers::nd_pfn::PfnReserve) -> AltmapBump {
        let next = r.base_pfn.as_u64() + r.reserve;
        AltmapBump {
            next,
            end: next + r.free,
        }
    }

    /// `n` order-0 allocations in a row: no padding between them.
    fn alloc_pages(&mut self, n: u64) -> bool {
        if self.next + n > self.end {
            return false;
        }
        self.next += n;
        true
    }

    fn alloc(&mut self, nr: u64) -> bool {
        let start = self.next.next_multiple_of(1 << nr.trailing_zeros());
        if start + nr > self.end {
            return false;
        }
        self.next = start + nr;
        true
    }
}

/// What a namespace of the configuration's size yields: the dax device (`usable_bytes`) and
/// what the rest went to (`reserve_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub usable_bytes: u64,
    pub reserve_bytes: u64,
}

/// The capacity of `cfg` as a pmem namespace (`ndctl create-namespace -m devdax -s size`), by
/// the kernel's rules (`nd_pfn_init`, see [`dax::namespace_layout`]), placed where the plan
/// places it; a namespace left with no data is refused with the smallest multiple of the
/// allocation unit that works. A HugeTLB pool has no namespace: all of it is usable.
pub fn capacity(cfg: &PlanConfig) -> Result<Capacity, PlanError> {
    if cfg.kind == Kind::Hugetlb {
        return Ok(Capacity {
            usable_bytes: cfg.size.bytes(),
            reserve_bytes: 0,
        });
    }
    let g = cfg.geometry();
    let (start, spec) = placed(cfg)?;
    let l = dax::namespace_layout(
        g,
        &cfg.profile.switches_on(g),
        cfg.profile.base().release(),
        &spec,
        start,
    )?;
    let usable = l.info.map_or(cfg.size, |sb| sb.usable());
    Ok(Capacity {
        usable_bytes: usable.bytes(),
        reserve_bytes: cfg.size.bytes() - usable.bytes(),
    })
}

/// [`capacity`] of a namespace that `ndctl` accepts in `region`: a size ndctl refuses is
/// refused with its message, and a namespace too small for its reserve with the smallest size
/// that both ndctl and the kernel accept.
pub fn namespace_capacity(
    cfg: &PlanConfig,
    size: &ndctl::NdctlSize,
    region: &ndctl::Region,
) -> Result<Capacity, PlanError> {
    if cfg.kind != Kind::Hugetlb {
        ndctl::validate_namespace_options(
            cfg.geometry(),
            cfg.profile.base().release(),
            size,
            cfg.align,
            region,
        )?;
    }
    capacity(cfg).map_err(|e| match e {
        PlanError::Dax(DaxError::NamespaceTooSmall {
            size,
            align,
            map,
            reserve,
            unit,
            ..
        }) => {
            let step = region.step(cfg.geometry(), cfg.align);
            let min = dax::smallest_size(step, region.min_size(cfg.geometry(), cfg.align), |s| {
                capacity(&PlanConfig { size: s, ..*cfg }).is_ok()
            })
            .unwrap_or(ByteSize::new(u64::MAX).align_down(step));
            PlanError::Dax(DaxError::NamespaceTooSmall {
                size,
                align,
                map,
                reserve,
                unit,
                min,
            })
        }
        e => e,
    })
}

/// The inverse question: the smallest namespace size, valid for ndctl in `region` and for the
/// kernel, whose dax device holds at least `usable` bytes at `cfg`'s align and map (`cfg.size`
/// is ignored). The usable size never shrinks as the namespace grows by whole steps (the
/// reserve grows by at most the step), so a binary search over multiples of the step finds it.
pub fn smallest_namespace(
    cfg: &PlanConfig,
    region: &ndctl::Region,
    usable: ByteSize,
) -> Result<ByteSize, PlanError> {
    if cfg.kind == Kind::Hugetlb {
        return Err(PlanError::UsableHugetlb);
    }
    if usable.bytes() == 0 {
        return Err(PlanError::UsableZero);
    }
    // The align must be valid before any size is tried (its error names it).
    dax::check_align(cfg.geometry(), cfg.profile.base().release(), cfg.align)?;
    let step = region.step(cfg.geometry(), cfg.align);
    dax::smallest_size(
        step,
        region.min_size(cfg.geometry(), cfg.align).max(usable),
        |s| {
            capacity(&PlanConfig { size: s, ..*cfg })
                .is_ok_and(|c| c.usable_bytes >= usable.bytes())
        },
    )
    .ok_or(PlanError::UsableTooLarge { usable, step })
}

/// Plans one configuration.
pub fn plan(cfg: &PlanConfig) -> Result<MemmapCost, PlanError> {
    plan_frames(cfg).map(|(cost, _)| cost)
}

/// Plans one configuration; also returns the memmap frames that live on the device (altmap),
/// which a simulation must back with host memory too.
pub fn plan_frames(cfg: &PlanConfig) -> Result<(MemmapCost, u64), PlanError> {
    if !crate::arch::STRUCT_PAGE_SIZES.contains(&cfg.struct_page_size) {
        return Err(PlanError::StructPageSize(cfg.struct_page_size));
    }
    if cfg.kind == Kind::Hugetlb {
        return plan_hugetlb(cfg).map(|c| (c, 0));
    }
    if matches!(cfg.kind, Kind::Anon | Kind::Thp | Kind::Shmem) {
        return Err(PlanError::RamKind(cfg.kind));
    }
    let g: &Geometry = cfg.geometry();
    let release = cfg.profile.base().release();
    if !g.features.device_dax(release) {
        return Err(PlanError::ArchTooNew {
            arch: cfg.arch,
            since: g.features.device_dax_since,
            profile: cfg.profile,
            valid: crate::mm::profile::ALL_PROFILES
                .iter()
                .filter(|p| g.features.device_dax(p.base().release()))
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if cfg.ram_size < g.platform.min_ram || !cfg.ram_size.is_multiple_of(g.section_size()) {
        return Err(PlanError::BadRam {
            size: cfg.ram_size,
            min: g.platform.min_ram,
            section: g.section_size(),
        });
    }
    let sw = cfg.profile.switches_on(cfg.geometry());
    let ram_limit = ram_end(g, cfg.ram_size);
    if ram_limit.is_none_or(|end| end > g.max_phys()) {
        return Err(PlanError::RamTooLarge {
            what: format!("--ram {}", cfg.ram_size),
            end: ram_limit,
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
            flag: "--ram",
        });
    }
    let (start, spec) = placed(cfg)?;
    let layout = dax::layout(g, &sw, cfg.profile.base().release(), &spec, start)?;
    if start
        .as_u64()
        .checked_add(cfg.size.bytes())
        .is_none_or(|end| end > g.max_phys().as_u64())
    {
        return Err(PlanError::TooLarge {
            size: cfg.size,
            start,
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
        });
    }
    let page = g.page_size();
    let nr = g.bytes_to_pages(cfg.size);
    let pps = g.pages_per_section();
    let sps = g.struct_page_size;
    let altmap = layout.reserve.is_some();
    let order = layout.order;
    let n = order.nr_pages();
    let dedup = order.get() > 0 && vmemmap_can_optimize(g, &sw, altmap, order);
    let full = nr / pps;
    let pmd = g.pmd_size().bytes();
    let pmd_pages = pmd / page;
    // The device's memmap as vmemmap addresses (below the sign extension), and RAM's.
    let mask = u64::MAX >> (64 - g.va_bits());
    let va = |pa: u64| (g.vmemmap_base.as_u64() + pa / page * sps) & mask;
    let (v0, v1) = (va(start.as_u64()), va(start.as_u64() + cfg.size.bytes()));
    let ram: Vec<(u64, u64)> = PhysMap::standard(g, cfg.ram_size, ByteSize::new(0))
        .map(|m| m.boot_memmap_spans(g))
        .unwrap_or_default()
        .iter()
        .map(|(s, e)| (va(s.as_u64()), va(e.as_u64())))
        .collect();

    let mut memmap_frames = 0u64;
    let mut device_frames = 0u64;
    let mut init_extra = 0u64;
    let mut memmap_pte_tables_shared = None;
    // Vmemmap mapped with base pages (one PTE table per PMD span they touch).
    let mut base_ranges: Vec<(u64, u64)> = Vec::new();
    if dedup {
        let compounds = nr / n;
        base_ranges.push((v0, v1));
        match sw.dax_dedup {
            DaxDedup::SharedTail => {
                if altmap {
                    device_frames += compounds;
                } else {
                    memmap_frames += compounds;
                }
                // The shared tail frame of the order, written once when created.
                memmap_frames += 1;
                init_extra = g.struct_pages_per_page();
                // A PTE table whose whole span maps tails of one compound page is the shared one,
                // decided when it is first needed, however sections split it.
                if n * sps > pmd && sw.pmd_tail_reuse {
                    // Blocks holding a head keep their own table; the all-tail rest share one.
                    base_ranges.clear();
                    memmap_pte_tables_shared = Some(compounds + 1);
                }
            }
            DaxDedup::Tail | DaxDedup::None => memmap_frames = 2 * compounds,
        }
    } else {
        let mut bump = layout.reserve.map(|r| AltmapBump::new(&r));
        // `times` vmemmap allocations of `nr_frames` frames each: from the altmap when `device`
        // (ENOMEM if it is short, unless `fallback`), else from RAM. Order-0 allocations never
        // pad, so a run of them is one bump.
        let mut alloc =
            |nr_frames: u64, times: u64, device: bool, fallback: bool| -> Result<bool, PlanError> {
                if device {
                    let b = bump.as_mut().expect("device allocations have an altmap");
                    let ok = if nr_frames == 1 {
                        b.alloc_pages(times)
                    } else {
                        (0..times).all(|_| b.alloc(nr_frames))
                    };
                    if ok {
                        device_frames += nr_frames * times;
                        return Ok(true);
                    }
                    if fallback {
                        return Ok(false);
                    }
                    return Err(PlanError::AltmapShort {
                        arch: cfg.arch,
                        block: ByteSize::new(nr_frames * page),
                        size: cfg.size,
                    });
                }
                memmap_frames += nr_frames * times;
                Ok(true)
            };
        let pages_in = |lo: u64, hi: u64| blocks(lo, hi, page).count() as u64;
        match g.vmemmap_map {
            VmemmapMap::SectionLeaves { basepages_altmap } => {
                let vf = v0 + full * pps * sps;
                alloc(pmd_pages, blocks(v0, vf, pmd).count() as u64, altmap, false)?;
                if vf < v1 {
                    alloc(1, pages_in(vf, v1), altmap && basepages_altmap, false)?;
                    base_ranges.push((vf, v1));
                }
            }
            VmemmapMap::BasePages => {
                alloc(1, pages_in(v0, v1), altmap, false)?;
                base_ranges.push((v0, v1));
            }
            VmemmapMap::Leaves => {
                alloc(pmd_pages, blocks(v0, v1, pmd).count() as u64, altmap, false)?;
            }
            VmemmapMap::AlignedLeaves | VmemmapMap::Bolted => {
                for b in blocks(v0, v1, pmd) {
                    let (lo, hi) = (b * pmd, (b + 1) * pmd);
                    // The leaf describes only the device's pfns (`altmap_cross_boundary`).
                    let inside = lo >= v0 && hi <= v1;
                    if g.vmemmap_map == VmemmapMap::Bolted {
                        if !(altmap && inside && alloc(pmd_pages, 1, true, true)?) {
                            alloc(pmd_pages, 1, false, false)?;
                        }
                        continue;
                    }
                    // Sections are populated in order, so the first call into a block starts
                    // at its start unless the device starts inside it.
                    let leaf =
                        lo >= v0 && (!altmap || (inside && alloc(pmd_pages, 1, true, true)?));
                    if leaf {
                        if !altmap {
                            alloc(pmd_pages, 1, false, false)?;
                        }
                    } else {
                        let (l, h) = (lo.max(v0), hi.min(v1));
                        for b in blocks(l, h, page) {
                            // `radix__vmemmap_pte_populate`: a page describing pfns outside
                            // the device, or one the altmap cannot supply, comes from RAM.
                            let inside = b * page >= v0 && (b + 1) * page <= v1;
                            if !(altmap && inside && alloc(1, 1, true, true)?) {
                                alloc(1, 1, false, false)?;
                            }
                        }
                        base_ranges.push((l, h));
                    }
                }
            }
        }
    }

    // Page tables: a table at level L covers the span of one level-(L+1) entry; count those
    // the device's vmemmap touches and RAM's boot memmap did not. PTE tables only where the
    // vmemmap is mapped with base pages (RAM's too, on arches that never use leaves).
    let ram_base: Vec<(u64, u64)> = if g.vmemmap_map == VmemmapMap::BasePages {
        ram.clone()
    } else {
        Vec::new()
    };
    let pte_tables = memmap_pte_tables_shared
        .unwrap_or_else(|| new_blocks_of(&base_ranges, g.level_span(Level::PMD), &ram_base));
    let mut pagetable_bytes = pte_tables * g.table_bytes(Level::PTE);
    let mut level = Level::PMD;
    while level < g.root_level() {
        let span = g.level_span(level.above());
        pagetable_bytes += new_blocks_of(&[(v0, v1)], span, &ram) * g.table_bytes(level);
        level = level.above();
    }

    // memmap_init_zone_device starts after `vmem_altmap_offset` = reserve + free pfns, which on
    // pages larger than the 8 KiB info block is one pfn short of the data offset.
    let init_pages = nr - layout.reserve.map_or(0, |r| r.reserve + r.free);
    let struct_pages_initialized = if order.get() == 0 {
        init_pages
    } else {
        init_pages / n * compound_nr_pages(g, &sw, altmap, order) + init_extra
    };
    let nr_memmap_pages = match sw.memmap_accounting {
        MemmapAccounting::Absent => None,
        // Counted per (sub)section call, each rounded up to a page.
        MemmapAccounting::FullSpan => {
            Some(full * g.vmemmap_pages_for(pps) + g.vmemmap_pages_for(nr % pps))
        }
        MemmapAccounting::Allocated => Some(memmap_frames),
    };
    let cost = MemmapCost {
        memmap_bytes: memmap_frames * page,
        pagetable_bytes,
        device_bytes: layout.reserve.map_or(0, |r| r.offset.bytes()),
        struct_pages: nr,
        struct_pages_initialized,
        nr_memmap_pages,
        // Hot-added memmap is never boot memmap.
        nr_memmap_boot_pages: nr_memmap_pages.map(|_| 0),
    };
    Ok((cost, device_frames))
}

impl PlanError {
    /// `align` is no HugeTLB page size of `arch`.
    #[must_use]
    pub fn hugetlb_align(arch: Arch, align: ByteSize) -> PlanError {
        PlanError::HugetlbAlign {
            align,
            arch,
            valid: hugetlb_sizes(arch.geometry()),
        }
    }
}

/// The HugeTLB page sizes of an arch, for messages ("2M or 1G").
fn hugetlb_sizes(g: &Geometry) -> String {
    let mut v = vec![g.pmd_size().short()];
    if g.pud_leaves {
        v.push(g.pud_size().short());
    }
    v.join(" or ")
}

/// Plans a HugeTLB pool: its memmap exists from boot (S/64); HVO keeps one vmemmap page per
/// huge page (plus, in `next`, the order's shared tail frame) and needs the pool's PMD-mapped
/// vmemmap split into PTE tables.
fn plan_hugetlb(cfg: &PlanConfig) -> Result<MemmapCost, PlanError> {
    if cfg.struct_page_size != crate::mm::page::RECORD_SIZE {
        return Err(PlanError::StructPageSizeHugetlb(cfg.struct_page_size));
    }
    let g: &Geometry = cfg.geometry();
    let Some(size) = crate::mm::hugetlb::HugeSize::from_align(cfg.geometry(), cfg.align) else {
        return Err(PlanError::hugetlb_align(cfg.arch, cfg.align));
    };
    if cfg.map != MapMode::Mem {
        return Err(PlanError::HugetlbMap);
    }
    if cfg.size.bytes() == 0 {
        return Err(DaxError::ZeroSize.into());
    }
    if !cfg.size.is_multiple_of(cfg.align) {
        return Err(DaxError::SizeMisaligned {
            size: cfg.size,
            unit: cfg.align,
            align: cfg.align,
            down: cfg.size.align_down(cfg.align).short(),
            up: dax::up_or_none(cfg.size, cfg.align),
        }
        .into());
    }
    let end = ram_end(g, cfg.machine_ram());
    if end.is_none_or(|end| end > g.max_phys()) {
        return Err(PlanError::RamTooLarge {
            what: format!(
                "a {} HugeTLB pool (in {} of RAM)",
                cfg.size,
                cfg.machine_ram()
            ),
            end,
            flag: "--size or --ram",
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
        });
    }
    let page = g.page_size();
    let nr = g.bytes_to_pages(cfg.size);
    let pages = cfg.size.bytes() / size.bytes(cfg.geometry()).bytes();
    let (lo, hi) = cfg.hugetlb_pool();
    // HVO splits each PMD leaf of the pool's vmemmap into a PTE table (none to split where the
    // arch maps the vmemmap with base pages).
    let split_tables = if g.vmemmap_map == VmemmapMap::BasePages {
        0
    } else {
        let va = |pa: PhysAddr| pa.as_u64() / page * g.struct_page_size;
        blocks(va(lo), va(hi), g.pmd_size().bytes()).count() as u64
    };
    // The pool's memmap is boot memmap. HVO (6.11+ counting, brief §9.7) gives every vmemmap
    // page of a huge page back (memmap_boot_pages_add(-1) each) and allocates a fresh head page
    // (memmap_pages_add(1)), plus the order's shared tail page once in the 2026 scheme.
    let v = i64::try_from(g.vmemmap_pages_for(size.order(g).nr_pages())).unwrap_or(i64::MAX);
    let pages_i = i64::try_from(pages).unwrap_or(i64::MAX);
    let counters = match cfg.profile.switches_on(cfg.geometry()).memmap_accounting {
        MemmapAccounting::Absent => None,
        MemmapAccounting::FullSpan | MemmapAccounting::Allocated => {
            Some(match cfg.profile.switches_on(cfg.geometry()).hvo {
                crate::mm::profile::Hvo::Off => (0, 0),
                crate::mm::profile::Hvo::KeepOne => (pages, -v * pages_i),
                crate::mm::profile::Hvo::SharedTail => (pages + 1, -v * pages_i),
            })
        }
    };
    let (memmap_frames, tables, extra_init) = match cfg.profile.switches_on(cfg.geometry()).hvo {
        crate::mm::profile::Hvo::Off => (nr * g.struct_page_size / page, 0, 0),
        crate::mm::profile::Hvo::KeepOne => (pages, split_tables, 0),
        crate::mm::profile::Hvo::SharedTail => (pages + 1, split_tables, g.struct_pages_per_page()),
    };

    Ok(MemmapCost {
        memmap_bytes: memmap_frames * page,
        pagetable_bytes: tables * g.table_bytes(Level::PTE),
        device_bytes: 0,
        struct_pages: nr,
        struct_pages_initialized: nr + extra_init,
        nr_memmap_pages: counters.map(|(hot, _)| hot),
        nr_memmap_boot_pages: counters.map(|(_, boot)| boot),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_blocks_merge_overlapping_and_adjacent_ranges_and_skip_taken_ones() {
        // Blocks of 10: [5, 25) touches 0, 1, 2; [20, 41) touches 2, 3, 4: five blocks.
        assert_eq!(new_blocks_of(&[(5, 25), (20, 41)], 10, &[]), 5);
        // Disjoint ranges with a gap count separately, the gap not at all.
        assert_eq!(new_blocks_of(&[(0, 10), (50, 60)], 10, &[]), 2);
        // Order does not matter.
        assert_eq!(new_blocks_of(&[(50, 60), (0, 10)], 10, &[]), 2);
        // An empty range, even unaligned, touches nothing.
        assert_eq!(new_blocks_of(&[(15, 15)], 10, &[]), 0);
        // Taken blocks are not new; a taken range touching the same block takes it.
        assert_eq!(new_blocks_of(&[(0, 100)], 10, &[(0, 1), (95, 100)]), 8);
        assert_eq!(new_blocks_of(&[(0, 100)], 10, &[(30, 41), (35, 45)]), 8);
    }

    #[test]
    fn altmap_bump_aligns_blocks_to_their_size_and_runs_of_pages_not_at_all() {
        let r = crate::drivers::nd_pfn::PfnReserve {
            offset: ByteSize::mib(2),
            base_pfn: crate::addr::Pfn::new(1000),
            reserve: 3,
            free: 600,
        };
        let mut b = AltmapBump::new(&r);
        // First free pfn 1003; a 512-pfn block starts at the next multiple of 512: 1024.
        assert!(b.alloc(512));
        assert_eq!(b.next, 1536);
        // 67 pfns are left (end 1603): a run of 67 single pages fits exactly, one more does not.
        assert!(b.alloc_pages(67));
        assert_eq!(b.next, 1603);
        assert!(!b.alloc_pages(1));
        assert!(!b.alloc(1));
        // A block that would cross the end is refused and leaves the cursor.
        let mut b = AltmapBump::new(&r);
        assert!(b.alloc_pages(2));
        assert!(!b.alloc(1024));
        assert_eq!(b.next, 1005);
    }

    fn p(size: ByteSize, align: ByteSize, profile: Profile) -> MemmapCost {
        plan(&PlanConfig::new(size, align, MapMode::Mem, profile)).unwrap()
    }

    #[test]
    fn golden_numbers_per_tib() {
        let tib = ByteSize::tib(1);
        // 16 GiB at 4K (PMD-mapped: 16 PMD tables, 64 KiB).
        let c = p(tib, ByteSize::kib(4), Profile::V6_15);
        assert_eq!(c.memmap_bytes, 16 << 30);
        assert_eq!(c.pagetable_bytes, 16 * 4096);
        // 4 GiB at 2M with 32 MiB of PTE tables plus the 16 PMD tables.
        let c = p(tib, ByteSize::mib(2), Profile::V6_15);
        assert_eq!(c.memmap_bytes, 4 << 30);
        assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
        assert_eq!(c.struct_pages_initialized, (1 << 28) / 512 * 128);
        // 8 MiB at 1G.
        let c = p(tib, ByteSize::gib(1), Profile::V6_15);
        assert_eq!(c.memmap_bytes, 8 << 20);
        assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
        assert_eq!(c.struct_pages_initialized, 1024 * 128);
        // v5.10 pays 16 GiB at every align.
        for a in [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)] {
            assert_eq!(p(tib, a, Profile::V5_10).memmap_bytes, 16 << 30);
            assert_eq!(p(tib, a, Profile::V5_10).struct_pages_initialized, 1 << 28);
        }
    }

    #[test]
    fn next_halves_2m_and_shares_tail_tables_at_1g() {
        let tib = ByteSize::tib(1);
        let c = p(tib, ByteSize::mib(2), Profile::NEXT);
        assert_eq!(c.memmap_bytes, (2 << 30) + 4096);
        let c = p(tib, ByteSize::gib(1), Profile::NEXT);
        assert_eq!(c.memmap_bytes, (4 << 20) + 4096);
        assert_eq!(c.pagetable_bytes, (1024 + 1 + 16) * 4096);
    }

    #[test]
    fn mm_2026_keeps_one_vmemmap_page_per_compound_page_plus_the_shared_tail() {
        // Brief §9.11: 2 GiB at 2M and 4 MiB at 1G per TiB, plus the per-zone shared page; the
        // PTE tables are not shared (32 MiB plus the 16 PMD tables, as in v6.15).
        let tib = ByteSize::tib(1);
        let c = p(tib, ByteSize::mib(2), Profile::MM_2026);
        assert_eq!(c.memmap_bytes, (2 << 30) + 4096);
        assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
        let c = p(tib, ByteSize::gib(1), Profile::MM_2026);
        assert_eq!(c.memmap_bytes, (4 << 20) + 4096);
        assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
        // 64 struct pages of each head page, and the 64 of the shared tail once.
        assert_eq!(c.struct_pages_initialized, 1024 * 64 + 64);
        // HugeTLB the same.
        let h = |align| {
            plan(&PlanConfig::new(tib, align, MapMode::Mem, Profile::MM_2026).hugetlb()).unwrap()
        };
        assert_eq!(h(ByteSize::mib(2)).memmap_bytes, (2 << 30) + 4096);
        assert_eq!(h(ByteSize::gib(1)).memmap_bytes, (4 << 20) + 4096);
        // No dedup with the memmap on the device: the reserve is v6.15's.
        let dev = |profile| {
            plan(&PlanConfig::new(
                tib,
                ByteSize::mib(2),
                MapMode::Dev,
                profile,
            ))
            .unwrap()
        };
        assert_eq!(
            dev(Profile::MM_2026).device_bytes,
            dev(Profile::V6_15).device_bytes
        );
        assert_eq!(dev(Profile::MM_2026).memmap_bytes, 0);
        assert!(dev(Profile::NEXT).device_bytes < dev(Profile::MM_2026).device_bytes);
    }

    #[test]
    fn nr_memmap_pages_as_each_kernel_reports_it() {
        let gib16 = ByteSize::gib(16);
        let n = |align, map, profile| {
            plan(&PlanConfig::new(gib16, align, map, profile))
                .unwrap()
                .nr_memmap_pages
        };
        let aligns = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];
        for align in aligns {
            for map in [MapMode::Mem, MapMode::Dev] {
                // No counter before 6.11.
                for p in [Profile::V5_10, Profile::RFC, Profile::V5_19] {
                    assert_eq!(n(align, map, p), None);
                }
                // 6.11–2025: the unoptimized span, 16 GiB / 64 = 65536 pages, whatever the align
                // and also with the memmap on the device.
                for p in [Profile::V6_12, Profile::V6_15] {
                    assert_eq!(n(align, map, p), Some(65536), "{p} {align} {map}");
                }
            }
        }
        // After the fix: the pages really allocated, never page tables, none for the device.
        assert_eq!(
            n(ByteSize::kib(4), MapMode::Mem, Profile::MM_2026),
            Some(65536)
        );
        assert_eq!(
            n(ByteSize::mib(2), MapMode::Mem, Profile::MM_2026),
            Some(8192 + 1)
        );
        assert_eq!(
            n(ByteSize::gib(1), MapMode::Mem, Profile::MM_2026),
            Some(16 + 1)
        );
        assert_eq!(n(ByteSize::mib(2), MapMode::Dev, Profile::MM_2026), Some(0));
        assert_eq!(
            n(ByteSize::gib(1), MapMode::Mem, Profile::NEXT),
            Some(16 + 1)
        );
    }

    #[test]
    fn struct_page_size_what_ifs_per_tib() {
        let tib = ByteSize::tib(1);
        let w = |align, profile, sps| {
            let mut cfg = PlanConfig::new(tib, align, MapMode::Mem, profile);
            cfg.struct_page_size = sps;
            plan(&cfg).unwrap().memmap_bytes
        };
        let (k4, m2, g1) = (ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1));
        // No dedup: the memmap scales with the struct page (memdesc end state: 2 GiB at 8 B).
        for (sps, gib) in [(64, 16), (32, 8), (16, 4), (8, 2)] {
            assert_eq!(w(k4, Profile::V6_15, sps), gib << 30, "{sps} B at 4K");
            assert_eq!(w(m2, Profile::V5_10, sps), gib << 30, "{sps} B, v5.10");
        }
        // 2M: V = 512 × S / 4096 vmemmap pages per compound page. v6.15 dedups while V > 2
        // (keeping 2): at 32 B V = 4, still 4 GiB; at 16 B V = 2, no dedup, 4 GiB; at 8 B V = 1.
        assert_eq!(w(m2, Profile::V6_15, 32), 4 << 30);
        assert_eq!(w(m2, Profile::V6_15, 16), 4 << 30);
        assert_eq!(w(m2, Profile::V6_15, 8), 2 << 30);
        // mm-2026 keeps 1 page while V > 2.
        assert_eq!(w(m2, Profile::MM_2026, 32), (2 << 30) + 4096);
        assert_eq!(w(m2, Profile::MM_2026, 16), 4 << 30);
        assert_eq!(w(m2, Profile::MM_2026, 8), 2 << 30);
        // 1G: V = 64 × S, dedup survives at every size.
        for sps in [64, 32, 16, 8] {
            assert_eq!(w(g1, Profile::V6_15, sps), 8 << 20, "{sps} B at 1G");
            assert_eq!(
                w(g1, Profile::MM_2026, sps),
                (4 << 20) + 4096,
                "{sps} B at 1G"
            );
        }
        let mut bad = PlanConfig::new(tib, m2, MapMode::Mem, Profile::V6_15);
        bad.struct_page_size = 48;
        assert_eq!(plan(&bad), Err(PlanError::StructPageSize(48)));
        bad.struct_page_size = 32;
        assert_eq!(
            plan(&bad.hugetlb()),
            Err(PlanError::StructPageSizeHugetlb(32))
        );
    }

    #[test]
    fn fsdev_keeps_order_0_folios_and_dedups_nothing() {
        // drivers/dax/fsdev.c leaves vmemmap_shift at 0 (brief §9.11): the full memmap at every
        // align and profile, every struct page initialised, PMD-mapped like v5.10.
        let tib = ByteSize::tib(1);
        for profile in [Profile::V6_15, Profile::MM_2026, Profile::NEXT] {
            for align in [ByteSize::mib(2), ByteSize::gib(1)] {
                let mut cfg = PlanConfig::new(tib, align, MapMode::Mem, profile);
                cfg.kind = Kind::DevdaxFsdev;
                let c = plan(&cfg).unwrap();
                assert_eq!(c.memmap_bytes, 16 << 30, "{cfg}");
                assert_eq!(c.struct_pages_initialized, 1 << 28, "{cfg}");
                assert_eq!(c.pagetable_bytes, 16 * 4096, "{cfg}");
            }
        }
        assert_eq!("devdax-fsdev".parse::<Kind>(), Ok(Kind::DevdaxFsdev));
        assert_eq!(Kind::DevdaxFsdev.to_string(), "devdax-fsdev");
    }

    #[test]
    fn hugetlb_hvo_moves_memmap_from_the_boot_counter_to_the_hot_one() {
        let h = |align, profile| {
            plan(&PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile).hugetlb())
                .unwrap()
        };
        let m2 = ByteSize::mib(2);
        // 2^19 huge pages of 8 vmemmap pages: all 2^22 boot pages given back, one fresh head each.
        let c = h(m2, Profile::V6_15);
        assert_eq!(c.nr_memmap_pages, Some(1 << 19));
        assert_eq!(c.nr_memmap_boot_pages, Some(-(1 << 22)));
        // The 2026 scheme also allocates the order's shared tail page.
        assert_eq!(h(m2, Profile::MM_2026).nr_memmap_pages, Some((1 << 19) + 1));
        // 1G: 1024 pages of 4096 vmemmap pages.
        let c = h(ByteSize::gib(1), Profile::V6_12);
        assert_eq!(c.nr_memmap_pages, Some(1024));
        assert_eq!(c.nr_memmap_boot_pages, Some(-(1024 * 4096)));
        // No counters before 6.11.
        assert_eq!(h(m2, Profile::V5_19).nr_memmap_boot_pages, None);
        // Devdax hot-add leaves the boot counter alone.
        let d = p(ByteSize::tib(1), m2, Profile::V6_15);
        assert_eq!(d.nr_memmap_boot_pages, Some(0));
    }

    #[test]
    fn too_large_errors_name_the_cause_and_only_valid_advice() {
        let mut cfg = PlanConfig::new(
            ByteSize::tib(100),
            ByteSize::gib(1),
            MapMode::Mem,
            Profile::V6_15,
        );
        let e = plan(&cfg).unwrap_err().to_string();
        assert!(e.contains("use --arch x86_64-la57"), "{e}");
        // Already 5-level, or too large even for it: no advice to switch.
        cfg.arch = Arch::X86_64La57;
        cfg.size = ByteSize::new(4095 << 50);
        let e = plan(&cfg).unwrap_err().to_string();
        assert!(!e.contains("--arch"), "{e}");
        // RAM beyond the limit is said to be the RAM's fault.
        let mut cfg = PlanConfig::new(
            ByteSize::tib(1),
            ByteSize::gib(1),
            MapMode::Mem,
            Profile::V6_15,
        );
        cfg.ram_size = ByteSize::tib(100);
        let e = plan(&cfg).unwrap_err();
        assert!(
            matches!(e, PlanError::RamTooLarge { flag: "--ram", .. }),
            "{e}"
        );
        cfg.ram_size = ByteSize::new(!((128 << 20) - 1));
        assert!(plan(&cfg).unwrap_err().to_string().contains("past 2^64"));
    }

    #[test]
    fn map_dev_moves_the_memmap_to_the_device() {
        let c = plan(&PlanConfig::new(
            ByteSize::tib(1),
            ByteSize::mib(2),
            MapMode::Dev,
            Profile::V6_15,
        ))
        .unwrap();
        assert_eq!(c.memmap_bytes, 0);
        assert_eq!(c.device_bytes, (16 << 30) + (2 << 20));
    }

    #[test]
    fn hugetlb_golden_numbers_per_tib() {
        let h = |align, profile| {
            plan(&PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile).hugetlb())
                .unwrap()
        };
        let (mib2, gib1) = (ByteSize::mib(2), ByteSize::gib(1));
        assert_eq!(h(mib2, Profile::V5_10).memmap_bytes, 16 << 30);
        assert_eq!(h(mib2, Profile::V5_10).pagetable_bytes, 0);
        assert_eq!(h(mib2, Profile::V6_15).memmap_bytes, 2 << 30);
        assert_eq!(h(gib1, Profile::V6_15).memmap_bytes, 4 << 20);
        assert_eq!(h(gib1, Profile::V6_15).pagetable_bytes, 32 << 20);
        assert_eq!(h(mib2, Profile::NEXT).memmap_bytes, (2 << 30) + 4096);
        assert!(plan(
            &PlanConfig::new(
                ByteSize::tib(1),
                ByteSize::kib(4),
                MapMode::Mem,
                Profile::V6_15
            )
            .hugetlb()
        )
        .is_err());
    }

    #[test]
    fn sixty_four_tib_needs_la57() {
        let mut cfg = PlanConfig::new(
            ByteSize::tib(64),
            ByteSize::gib(1),
            MapMode::Mem,
            Profile::V6_15,
        );
        assert!(matches!(plan(&cfg), Err(PlanError::TooLarge { .. })));
        cfg.arch = Arch::X86_64La57;
        assert_eq!(plan(&cfg).unwrap().memmap_bytes, 64 * 1024 * 2 * 4096);
    }

    #[test]
    fn new_blocks_away_from_zero_with_taken_ranges_at_both_ends_and_adjacent_ranges() {
        // [25, 75) touches blocks 2..8 (6); taken [0, 31) covers 0..4 and [68, 200) 6..20:
        // blocks 4 and 5 are new.
        assert_eq!(new_blocks_of(&[(25, 75)], 10, &[(0, 31), (68, 200)]), 2);
        // The same range with nothing taken: 6 blocks, counted from 2, not from 0.
        assert_eq!(new_blocks_of(&[(25, 75)], 10, &[]), 6);
        // Adjacent ranges share no block at a boundary, one block inside it.
        assert_eq!(new_blocks_of(&[(0, 10), (10, 20)], 10, &[]), 2);
        assert_eq!(new_blocks_of(&[(0, 15), (15, 20)], 10, &[]), 2);
        // A taken range ending at a block boundary does not take the next block; one byte on
        // does.
        assert_eq!(new_blocks_of(&[(10, 20)], 10, &[(0, 10)]), 1);
        assert_eq!(new_blocks_of(&[(10, 20)], 10, &[(0, 11)]), 0);
        // A taken range strictly inside the range, away from both ends.
        assert_eq!(new_blocks_of(&[(100, 200)], 10, &[(130, 150)]), 8);
        // new_blocks on block ranges directly: taken ranges before, inside and after.
        assert_eq!(new_blocks(3..9, &[0..2, 4..6, 8..12]), 3);
        assert_eq!(new_blocks(3..9, &[]), 6);
        assert_eq!(new_blocks(3..9, &[9..12, 20..30]), 6);
    }
}
