//! The closed form of a device-dax device, as the kernel builds it: per section chunk,
//! populate the vmemmap by the arch's map (PMD leaves, base pages, or compound pages with
//! their tails deduplicated), take the frames from the altmap's bump allocator with
//! `--map=dev`, then count the page tables the new vmemmap needs and the counters the
//! profile's kernel reports.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Geometry, Level, VmemmapMap};
use crate::drivers::dax::{self, MemmapCost};
use crate::machine::phys_map::{ram_end, PhysMap};
use crate::mm::mm_init::compound_nr_pages;
use crate::mm::pagemap::vmemmap_can_optimize;
use crate::mm::profile::{DaxDedup, MemmapAccounting, Switches};

use super::altmap::{AltmapBump, VmemmapAlloc};
use super::blocks::{blocks, new_blocks_of};
use super::{placed, PlanConfig, PlanError};

/// Refuses a device-dax configuration the arch, the profile or the machine cannot have.
fn check(cfg: &PlanConfig) -> Result<(), PlanError> {
    let g: &Geometry = cfg.geometry();
    let release = cfg.profile.kernel();
    if !g.features.device_dax(release) {
        return Err(PlanError::ArchTooNew {
            arch: cfg.arch,
            since: g.features.device_dax_since,
            profile: cfg.profile,
            valid: crate::mm::profile::ALL_PROFILES
                .iter()
                .filter(|p| g.features.device_dax(p.kernel()))
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
    Ok(())
}

/// The device's memmap as vmemmap addresses, and RAM's boot memmap beside it.
struct Span {
    /// The device's memmap: `[v0, v1)`.
    v0: u64,
    v1: u64,
    /// RAM's boot memmap, already mapped at boot.
    ram: Vec<(u64, u64)>,
}

impl Span {
    fn new(cfg: &PlanConfig, start: PhysAddr) -> Span {
        let g = cfg.geometry();
        let (page, sps) = (g.page_size(), g.struct_page_size);
        // Below the sign extension.
        let mask = u64::MAX >> (64 - g.va_bits());
        let va = |pa: u64| (g.vmemmap_base.as_u64() + pa / page * sps) & mask;
        let ram = PhysMap::standard(g, cfg.ram_size, ByteSize::new(0))
            .map(|m| m.boot_memmap_spans(g))
            .unwrap_or_default()
            .iter()
            .map(|(s, e)| (va(s.as_u64()), va(e.as_u64())))
            .collect();
        Span {
            v0: va(start.as_u64()),
            v1: va(start.as_u64() + cfg.size.bytes()),
            ram,
        }
    }
}

/// What populating the vmemmap allocated.
#[derive(Default)]
struct Populated {
    /// Memmap frames in RAM.
    memmap_frames: u64,
    /// Memmap frames on the device (altmap).
    device_frames: u64,
    /// Struct pages written beyond the device's own (the shared tail frame's).
    init_extra: u64,
    /// PTE tables when every all-tail table is the one shared table.
    shared_pte_tables: Option<u64>,
    /// Vmemmap mapped with base pages: one PTE table per PMD span they touch.
    base_ranges: Vec<(u64, u64)>,
}

/// Plans a device-dax device; also returns the memmap frames that live on the device.
pub(super) fn plan_devdax(cfg: &PlanConfig) -> Result<(MemmapCost, u64), PlanError> {
    check(cfg)?;
    let g: &Geometry = cfg.geometry();
    let sw = cfg.profile.switches_on(g);
    let (start, spec) = placed(cfg)?;
    let layout = dax::layout(g, &sw, cfg.profile.kernel(), &spec, start)?;
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
    let span = Span::new(cfg, start);
    let altmap = layout.reserve.is_some();
    let order = layout.order;
    let nr = g.bytes_to_pages(cfg.size);
    let dedup = order.get() > 0 && vmemmap_can_optimize(g, &sw, altmap, order);
    let populated = if dedup {
        populate_compound(
            g,
            &sw,
            &span,
            altmap,
            order.nr_pages(),
            nr / order.nr_pages(),
        )
    } else {
        let bump = layout.reserve.map(|r| AltmapBump::new(&r));
        populate_by_map(cfg, &span, VmemmapAlloc::new(bump, cfg))?
    };
    let pagetable_bytes = pagetable_bytes(g, &span, &populated);
    // memmap_init_zone_device starts after `vmem_altmap_offset` = reserve + free pfns, which on
    // pages larger than the 8 KiB info block is one pfn short of the data offset.
    let init_pages = nr - layout.reserve.map_or(0, |r| r.reserve + r.free);
    let struct_pages_initialized = if order.get() == 0 {
        init_pages
    } else {
        init_pages / order.nr_pages() * compound_nr_pages(g, &sw, altmap, order)
            + populated.init_extra
    };
    let compounds = dedup.then(|| nr / order.nr_pages());
    let nr_memmap_pages = nr_memmap_pages(g, &sw, nr, compounds, populated.memmap_frames);
    let cost = MemmapCost {
        memmap_bytes: populated.memmap_frames * g.page_size(),
        pagetable_bytes,
        device_bytes: layout.reserve.map_or(0, |r| r.offset.bytes()),
        struct_pages: nr,
        struct_pages_initialized,
        nr_memmap_pages,
        // Hot-added memmap is never boot memmap.
        nr_memmap_boot_pages: nr_memmap_pages.map(|_| 0),
    };
    Ok((cost, populated.device_frames))
}

/// The vmemmap of `cfg.size` bytes at `start` with no altmap, as `__add_pages` populates it
/// for hot-added System RAM and for the ZONE_DEVICE memory of GPU and PCI drivers: RAM frames
/// by the arch's map (compound pages of `order` with their tails deduplicated where the
/// profile can), and the page tables it needs. Returns (memmap frames, page-table bytes).
pub(super) fn range_memmap(
    cfg: &PlanConfig,
    start: PhysAddr,
    order: crate::addr::Order,
) -> Result<(u64, u64), PlanError> {
    let g = cfg.geometry();
    let sw = cfg.profile.switches_on(g);
    let span = Span::new(cfg, start);
    let populated = if order.get() > 0 && vmemmap_can_optimize(g, &sw, false, order) {
        let n = order.nr_pages();
        populate_compound(g, &sw, &span, false, n, g.bytes_to_pages(cfg.size) / n)
    } else {
        populate_by_map(cfg, &span, VmemmapAlloc::new(None, cfg))?
    };
    Ok((
        populated.memmap_frames,
        pagetable_bytes(g, &span, &populated),
    ))
}

/// `vmemmap_populate_compound_pages`: each of `compounds` compound pages of `nr_pages` keeps
/// its own vmemmap page(s) and its tails map a reused frame, per the profile's dedup scheme.
fn populate_compound(
    g: &Geometry,
    sw: &Switches,
    span: &Span,
    altmap: bool,
    nr_pages: u64,
    compounds: u64,
) -> Populated {
    let mut p = Populated {
        base_ranges: vec![(span.v0, span.v1)],
        ..Populated::default()
    };
    match sw.dax_dedup {
        DaxDedup::SharedTail => {
            if altmap {
                p.device_frames += compounds;
            } else {
                p.memmap_frames += compounds;
            }
            // The shared tail frame of the order, written once when created.
            p.memmap_frames += 1;
            p.init_extra = g.struct_pages_per_page();
            // A PTE table whose whole span maps tails of one compound page is the shared one,
            // decided when it is first needed, however sections split it. Blocks holding a
            // head keep their own table; the all-tail rest share one.
            if nr_pages * g.struct_page_size > g.pmd_size().bytes() && sw.pmd_tail_reuse {
                p.base_ranges.clear();
                p.shared_pte_tables = Some(compounds + 1);
            }
        }
        DaxDedup::Tail | DaxDedup::None => p.memmap_frames = 2 * compounds,
    }
    p
}

/// `vmemmap_populate` without dedup, by the arch's vmemmap map: PMD leaves, base pages, or
/// leaves where a whole aligned block lies inside the device (radix, hash).
fn populate_by_map(
    cfg: &PlanConfig,
    span: &Span,
    mut a: VmemmapAlloc,
) -> Result<Populated, PlanError> {
    let g = cfg.geometry();
    let (page, pmd) = (g.page_size(), g.pmd_size().bytes());
    let pmd_pages = pmd / page;
    let (v0, v1) = (span.v0, span.v1);
    let pages_in = |lo: u64, hi: u64| blocks(lo, hi, page).count() as u64;
    let mut base_ranges = Vec::new();
    match g.vmemmap_map {
        VmemmapMap::SectionLeaves { basepages_altmap } => {
            // Full sections get leaves; a partial one at either end, base pages.
            let sec = g.pages_per_section() * g.struct_page_size;
            let (f0, f1) = (v0.next_multiple_of(sec).min(v1), (v1 - v1 % sec).max(v0));
            let (f0, f1) = if f0 < f1 { (f0, f1) } else { (v1, v1) };
            if f0 < f1 {
                a.alloc(pmd_pages, blocks(f0, f1, pmd).count() as u64, false)?;
            }
            for (lo, hi) in [(v0, f0.min(v1)), (f1.max(f0), v1)] {
                if lo < hi {
                    a.alloc_in(1, pages_in(lo, hi), basepages_altmap, false)?;
                    base_ranges.push((lo, hi));
                }
            }
        }
        VmemmapMap::BasePages => {
            a.alloc(1, pages_in(v0, v1), false)?;
            base_ranges.push((v0, v1));
        }
        VmemmapMap::Leaves => {
            a.alloc(pmd_pages, blocks(v0, v1, pmd).count() as u64, false)?;
        }
        VmemmapMap::AlignedLeaves | VmemmapMap::Bolted => {
            for b in blocks(v0, v1, pmd) {
                if let Some(range) = populate_block(g, span, b, &mut a)? {
                    base_ranges.push(range);
                }
            }
        }
    }
    Ok(Populated {
        memmap_frames: a.memmap_frames,
        device_frames: a.device_frames,
        base_ranges,
        ..Populated::default()
    })
}

/// One PMD block of the vmemmap on radix (`AlignedLeaves`) or hash (`Bolted`): a leaf, or
/// base pages (returned as the range they map).
fn populate_block(
    g: &Geometry,
    span: &Span,
    b: u64,
    a: &mut VmemmapAlloc,
) -> Result<Option<(u64, u64)>, PlanError> {
    let (page, pmd) = (g.page_size(), g.pmd_size().bytes());
    let pmd_pages = pmd / page;
    let (v0, v1) = (span.v0, span.v1);
    let altmap = a.has_altmap();
    let (lo, hi) = (b * pmd, (b + 1) * pmd);
    // The leaf describes only the device's pfns (`altmap_cross_boundary`).
    let inside = lo >= v0 && hi <= v1;
    if g.vmemmap_map == VmemmapMap::Bolted {
        if !(altmap && inside && a.alloc_device(pmd_pages, 1, true)?) {
            a.alloc_ram(pmd_pages, 1);
        }
        return Ok(None);
    }
    // Sections are populated in order, so the first call into a block starts at its start
    // unless the device starts inside it.
    let leaf = lo >= v0 && (!altmap || (inside && a.alloc_device(pmd_pages, 1, true)?));
    if leaf {
        if !altmap {
            a.alloc_ram(pmd_pages, 1);
        }
        return Ok(None);
    }
    let (l, h) = (lo.max(v0), hi.min(v1));
    for b in blocks(l, h, page) {
        // `radix__vmemmap_pte_populate`: a page describing pfns outside the device, or one
        // the altmap cannot supply, comes from RAM.
        let inside = b * page >= v0 && (b + 1) * page <= v1;
        if !(altmap && inside && a.alloc_device(1, 1, true)?) {
            a.alloc_ram(1, 1);
        }
    }
    Ok(Some((l, h)))
}

/// Page tables: a table at level L covers the span of one level-(L+1) entry; count those the
/// device's vmemmap touches and RAM's boot memmap did not. PTE tables only where the vmemmap
/// is mapped with base pages (RAM's too, on arches that never use leaves).
fn pagetable_bytes(g: &Geometry, span: &Span, p: &Populated) -> u64 {
    let ram_base: &[(u64, u64)] = if g.vmemmap_map == VmemmapMap::BasePages {
        &span.ram
    } else {
        &[]
    };
    let pte_tables = p
        .shared_pte_tables
        .unwrap_or_else(|| new_blocks_of(&p.base_ranges, g.level_span(Level::PMD), ram_base));
    let mut bytes = pte_tables * g.table_bytes(Level::PTE);
    let mut level = Level::PMD;
    while level < g.root_level() {
        let span_above = g.level_span(level.above());
        bytes += new_blocks_of(&[(span.v0, span.v1)], span_above, &span.ram) * g.table_bytes(level);
        level = level.above();
    }
    bytes
}

/// `/proc/vmstat` `nr_memmap_pages` for the device, as the profile's kernel counts it;
/// `compounds` is the number of compound pages when the vmemmap is deduplicated.
fn nr_memmap_pages(
    g: &Geometry,
    sw: &Switches,
    nr: u64,
    compounds: Option<u64>,
    memmap_frames: u64,
) -> Option<u64> {
    let pps = g.pages_per_section();
    // Counted per (sub)section call, each rounded up to a page.
    let span = nr / pps * g.vmemmap_pages_for(pps) + g.vmemmap_pages_for(nr % pps);
    match sw.memmap_accounting {
        MemmapAccounting::Absent => None,
        MemmapAccounting::FullSpan => Some(span),
        // Optimized sections count the frames each compound page keeps, in its head's section.
        MemmapAccounting::Described => Some(compounds.map_or(span, |c| {
            c * crate::mm::sparse::vmemmap_optimization_pages(sw.dax_dedup)
        })),
        MemmapAccounting::Allocated => Some(memmap_frames),
    }
}
