//! SPARSEMEM sections (`mm/sparse.c`): which (sub)sections have a memmap, boot-time
//! population for System RAM, and hot-add/hot-remove of (sub)sections.

use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use crate::addr::Pfn;
use crate::mm::mmzone::{MemSection, SubsectionMap};
use crate::mm::pagemap::{vmemmap_can_optimize, CompoundCtx, PopulateCtx};
use crate::mm::profile::{DaxDedup, MemmapAccounting, Switches};
use crate::mm::sparse_vmemmap::{self, VmemmapError};
use crate::mm::{BootError, Kernel};

/// Errors of (sub)section hot-add.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SparseError {
    #[error("{pfn} .. +{nr} pages: subsection already has a memmap (EEXIST)")]
    Exists { pfn: Pfn, nr: u64 },
    #[error(transparent)]
    Vmemmap(#[from] VmemmapError),
}

/// `sparse_init`: maps the memmap of every section holding System RAM the way the arch's
/// `vmemmap_populate` does from memblock (one PMD leaf per section on x86), marking the frames
/// as boot memmap.
pub(crate) fn sparse_init(k: &Kernel) -> Result<(), BootError> {
    let m = &k.machine;
    let g = m.geometry();
    let mut sparse = k.sparse.lock().unwrap_or_else(PoisonError::into_inner);
    for (start, end) in m.phys_map().boot_memmap_spans(g) {
        let (first, last) = (
            start.as_u64() >> g.section_size_bits,
            end.as_u64() >> g.section_size_bits,
        );
        for nr in first..last {
            if sparse.sections.contains_key(&nr) {
                continue;
            }
            let va = g.pfn_to_page_va(Pfn::new(nr * g.pages_per_section()));
            let end = va.offset(g.pages_per_section() * g.struct_page_size);
            sparse_vmemmap::populate_boot(k, va, end).map_err(|e| match e {
                VmemmapError::Frame(e) => BootError::Frame(e),
                VmemmapError::PageTable(e) => BootError::Memmap(e),
                e => unreachable!("boot memmap is section aligned with no altmap: {e}"),
            })?;
            // memmap_boot_pages_add(DIV_ROUND_UP(PAGES_PER_SECTION * sizeof(struct page), ..)).
            k.stats.nr_memmap_boot_pages.fetch_add(
                g.vmemmap_pages_for(g.pages_per_section()),
                Ordering::Relaxed,
            );
            sparse.sections.insert(
                nr,
                MemSection {
                    subsection_map: SubsectionMap::range(0, g.subsections_per_section()),
                    early: true,
                },
            );
        }
    }
    Ok(())
}

/// The section number of `pfn` and the `subsection_map` bits of `[pfn, pfn + nr)` in it.
fn section_and_mask(k: &Kernel, pfn: Pfn, nr: u64) -> (u64, SubsectionMap) {
    let g = k.machine.geometry();
    let per = g.pages_per_subsection();
    let first = (pfn.as_u64() % g.pages_per_section()) / per;
    let mask = SubsectionMap::range(first, nr.div_ceil(per));
    (pfn.as_u64() >> (g.section_size_bits - g.page_shift), mask)
}

/// `sparse_add_section` → `section_activate`: marks the subsections of `[pfn, pfn + nr)` (inside
/// one section) active and populates their memmap. On failure nothing stays populated.
pub(crate) fn sparse_add_section(
    k: &Kernel,
    pfn: Pfn,
    nr: u64,
    ctx: &PopulateCtx<'_>,
) -> Result<(), SparseError> {
    let g = k.machine.geometry();
    let (nr_section, mask) = section_and_mask(k, pfn, nr);
    let early = {
        let mut sparse = k.sparse.lock().unwrap_or_else(PoisonError::into_inner);
        let ms = sparse.sections.entry(nr_section).or_default();
        if ms.subsection_map.intersects(&mask) {
            return Err(SparseError::Exists { pfn, nr });
        }
        ms.subsection_map.insert(&mask);
        ms.early
    };
    // An early section already has its whole memmap (section_activate returns early for a
    // sub-section add into it).
    if early && nr < g.pages_per_section() {
        return Ok(());
    }
    let ram_before = k.machine.frames().usage().memmap_ram();
    if let Err(e) = sparse_vmemmap::populate_section_memmap(k, pfn, nr, ctx) {
        section_deactivate(k, pfn, nr, ctx.altmap);
        return Err(e.into());
    }
    let allocated = k.machine.frames().usage().memmap_ram() - ram_before;
    k.stats
        .nr_memmap_pages
        .fetch_add(accounted(k, pfn, nr, ctx, allocated), Ordering::Relaxed);
    k.stats
        .struct_pages_populated
        .fetch_add(nr, Ordering::Relaxed);
    Ok(())
}

/// What `memmap_pages_add` counts for populating (or freeing) the memmap of `[pfn, pfn + nr)`
/// that really allocated (or freed) `allocated` RAM frames (kernel brief §9.7,
/// kernels-2026 §4.2).
fn accounted(k: &Kernel, pfn: Pfn, nr: u64, ctx: &PopulateCtx<'_>, allocated: u64) -> u64 {
    let g = k.machine.geometry();
    match k.switches().memmap_accounting {
        MemmapAccounting::Absent => 0,
        // 6.11–7.1: the unoptimized span, `DIV_ROUND_UP(nr * sizeof(struct page), PAGE_SIZE)`.
        MemmapAccounting::FullSpan => g.vmemmap_pages_for(nr),
        MemmapAccounting::Described => {
            let sw = k.switches();
            let optimized = ctx
                .compound
                .filter(|c| vmemmap_can_optimize(g, &sw, ctx.altmap.is_some(), c.order));
            match optimized {
                None => g.vmemmap_pages_for(nr),
                Some(c) => section_nr_vmemmap_pages(&sw, c, pfn, nr),
            }
        }
        MemmapAccounting::Allocated => allocated,
    }
}

/// `section_nr_vmemmap_pages` of an optimized range: `VMEMMAP_OPTIMIZATION_PAGES` for each
/// compound page whose head lies in `[pfn, pfn + nr)` (so a compound page larger than a
/// section counts only in its head's section).
pub(crate) fn section_nr_vmemmap_pages(sw: &Switches, c: CompoundCtx, pfn: Pfn, nr: u64) -> u64 {
    let n = c.order.nr_pages();
    let first = pfn.as_u64() - c.range_start.as_u64();
    let heads = (first + nr).div_ceil(n) - first.div_ceil(n);
    heads * vmemmap_optimization_pages(sw.dax_dedup)
}

/// `VMEMMAP_OPTIMIZATION_PAGES`: the vmemmap frames a deduplicated compound page keeps of its
/// own (tail dedup: the head page and the reuse page; the shared tail: the head page only).
#[must_use]
pub const fn vmemmap_optimization_pages(dedup: DaxDedup) -> u64 {
    match dedup {
        DaxDedup::None | DaxDedup::Tail => 2,
        DaxDedup::SharedTail => 1,
    }
}

/// `sparse_remove_section` → `section_deactivate`: frees the memmap of `[pfn, pfn + nr)` and
/// clears its subsections.
pub(crate) fn sparse_remove_section(k: &Kernel, pfn: Pfn, nr: u64, ctx: &PopulateCtx<'_>) {
    let ram_before = k.machine.frames().usage().memmap_ram();
    section_deactivate(k, pfn, nr, ctx.altmap);
    let freed = ram_before - k.machine.frames().usage().memmap_ram();
    k.stats
        .nr_memmap_pages
        .fetch_sub(accounted(k, pfn, nr, ctx, freed), Ordering::Relaxed);
    k.stats
        .struct_pages_populated
        .fetch_sub(nr, Ordering::Relaxed);
}

fn section_deactivate(
    k: &Kernel,
    pfn: Pfn,
    nr: u64,
    altmap: Option<&crate::mm::pagemap::VmemAltmap>,
) {
    let g = k.machine.geometry();
    let (nr_section, mask) = section_and_mask(k, pfn, nr);
    let early = {
        let mut sparse = k.sparse.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ms) = sparse.sections.get_mut(&nr_section) else {
            return;
        };
        ms.subsection_map.remove(&mask);
        let early = ms.early;
        if ms.subsection_map.is_empty() && !early {
            sparse.sections.remove(&nr_section);
        }
        early
    };
    if early {
        return;
    }
    let start = g.pfn_to_page_va(pfn);
    let end = start.offset(nr * g.struct_page_size);
    sparse_vmemmap::vmemmap_free(k, start, end, altmap);
}
