//! `dev_pagemap`, the altmap and `memremap_pages` / `memunmap_pages` (`mm/memremap.c`,
//! `include/linux/memremap.h`; kernel brief §1.3, §2.1, §7).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::PoisonError;

use crate::addr::{ByteSize, Pfn};
use crate::mm::mm_init;
use crate::mm::page::Memmap;
pub use crate::mm::pagemap::{
    CompoundCtx, DevPagemap, MemoryType, PagemapParams, PopulateCtx, VmemAltmap,
};
use crate::mm::profile::PgmapRefs;
use crate::mm::sparse::{self, SparseError};
use crate::mm::sparse_vmemmap::VmemmapError;
use crate::mm::Kernel;

/// Errors of `memremap_pages` / `memunmap_pages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemremapError {
    #[error("range {start} .. {end} conflicts with an existing dev_pagemap (EBUSY)")]
    Conflict { start: Pfn, end: Pfn },
    #[error("range {start} .. {end} intersects System RAM (ENXIO)")]
    IntersectsRam { start: Pfn, end: Pfn },
    #[error("range {start} .. {end} is not aligned to the {granularity} memremap granularity (the subsection size) (EINVAL)")]
    Misaligned {
        start: Pfn,
        end: Pfn,
        granularity: ByteSize,
    },
    #[error("an altmap is only supported for a single range (EINVAL)")]
    AltmapMultipleRanges,
    #[error("memremap: {0}")]
    Sparse(#[from] SparseError),
    #[error("memremap: {0}")]
    Init(String),
    #[error("dev_pagemap {id} is busy: {extra} references beyond its own are held")]
    Busy { id: u64, extra: u64 },
    #[error(
        "device pages are busy: {mappings} user mapping(s) still exist; munmap them first (EBUSY)"
    )]
    Mapped { mappings: u64 },
    #[error("device pages are busy: {pfn} is still referenced (refcount {refcount}, pincount {pincount}); unpin it first (EBUSY)")]
    Pinned {
        pfn: Pfn,
        refcount: i32,
        pincount: i64,
    },
}

impl From<VmemmapError> for MemremapError {
    fn from(e: VmemmapError) -> Self {
        MemremapError::Sparse(SparseError::Vmemmap(e))
    }
}

/// Splits `[start, end)` at section boundaries (`__add_pages`).
fn section_chunks(k: &Kernel, start: Pfn, end: Pfn) -> impl Iterator<Item = (Pfn, u64)> {
    let per = k.machine.geometry().pages_per_section();
    let mut pfn = start.as_u64();
    std::iter::from_fn(move || {
        if pfn >= end.as_u64() {
            return None;
        }
        let n = (end.as_u64() - pfn).min((pfn / per + 1) * per - pfn);
        let chunk = (Pfn::new(pfn), n);
        pfn += n;
        Some(chunk)
    })
}

/// `memremap_pages`: gives device memory a memmap. Per range: checks for conflicts, registers
/// the pgmap, populates the vmemmap section by section, initialises the struct pages
/// (`memmap_init_zone_device`), and takes the up-front pgmap references. On failure every
/// range added so far is removed again (INV-6).
///
/// Deviation: the kernel's `__add_pages` leaves sections populated before a failing one in
/// place; we unwind them so that a failed call leaves no trace.
pub fn memremap_pages(k: &Kernel, params: PagemapParams) -> Result<Arc<DevPagemap>, MemremapError> {
    let g = k.machine.geometry();
    let per = g.pages_per_subsection();
    if params.altmap.is_some() && params.ranges.len() > 1 {
        return Err(MemremapError::AltmapMultipleRanges);
    }
    for &(start, end) in &params.ranges {
        if !start.is_aligned(per) || !end.is_aligned(per) || end <= start {
            return Err(MemremapError::Misaligned {
                start,
                end,
                granularity: k.machine.geometry().subsection_size(),
            });
        }
        if k.machine
            .phys_map()
            .intersects_ram(g.pfn_to_phys(start), g.pfn_to_phys(end))
        {
            return Err(MemremapError::IntersectsRam { start, end });
        }
    }
    let _hotplug = k.hotplug_lock();
    {
        let map = k.pgmaps.read().unwrap_or_else(PoisonError::into_inner);
        for &(start, end) in &params.ranges {
            if map
                .range(..end.as_u64())
                .next_back()
                .is_some_and(|(_, (e, _))| *e > start.as_u64())
            {
                return Err(MemremapError::Conflict { start, end });
            }
        }
    }
    let pgmap = Arc::new(DevPagemap::new(
        k.next_pgmap_id.fetch_add(1, Ordering::Relaxed),
        params,
    ));
    for i in 0..pgmap.ranges.len() {
        if let Err(e) = pagemap_range(k, &pgmap, i) {
            unmap_ranges(k, &pgmap, i);
            return Err(e);
        }
        pgmap.nr_range.store(i + 1, Ordering::Release);
    }
    Ok(pgmap)
}

/// What populate and depopulate of the range of `pgmap` starting at `start` need: its altmap
/// and, with a `vmemmap_shift`, its compound order.
fn populate_ctx(pgmap: &DevPagemap, start: Pfn) -> PopulateCtx<'_> {
    PopulateCtx {
        altmap: pgmap.altmap.as_ref(),
        compound: (pgmap.vmemmap_shift.get() > 0).then_some(CompoundCtx {
            order: pgmap.vmemmap_shift,
            range_start: start,
        }),
    }
}

/// `pagemap_range`: onlines range `i` of `pgmap`.
fn pagemap_range(k: &Kernel, pgmap: &Arc<DevPagemap>, i: usize) -> Result<(), MemremapError> {
    let (start, end) = pgmap.ranges[i];
    k.pgmaps
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(start.as_u64(), (end.as_u64(), Arc::clone(pgmap)));
    let ctx = populate_ctx(pgmap, start);
    let mut done = Vec::new();
    for (pfn, nr) in section_chunks(k, start, end) {
        if let Err(e) = sparse::sparse_add_section(k, pfn, nr, &ctx) {
            for &(p, n) in done.iter().rev() {
                sparse::sparse_remove_section(k, p, n, &ctx);
            }
            k.pgmaps
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&start.as_u64());
            return Err(e.into());
        }
        done.push((pfn, nr));
    }
    let mut memmap = Memmap::new(&k.machine);
    if let Err(f) = mm_init::memmap_init_zone_device(k, &mut memmap, pgmap, start, end) {
        unmap_ranges(k, pgmap, i + 1);
        return Err(MemremapError::Init(f.to_string()));
    }
    let refs = match k.switches().pgmap_refs {
        PgmapRefs::PerPage => end.distance_from(start),
        PgmapRefs::PerCompound => end.distance_from(start) >> pgmap.vmemmap_shift.get(),
        PgmapRefs::None => 0,
    };
    pgmap.refs.fetch_add(refs, Ordering::AcqRel);
    pgmap.base_refs.fetch_add(refs, Ordering::AcqRel);
    Ok(())
}

/// Removes ranges `0..n` of `pgmap`: frees their memmap section by section and unregisters them.
fn unmap_ranges(k: &Kernel, pgmap: &DevPagemap, n: usize) {
    for &(start, end) in pgmap.ranges[..n].iter().rev() {
        let ctx = populate_ctx(pgmap, start);
        for (pfn, nr) in section_chunks(k, start, end) {
            sparse::sparse_remove_section(k, pfn, nr, &ctx);
        }
        k.pgmaps
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&start.as_u64());
    }
}

/// Fails if any folio of `pgmap` holds references beyond its idle one (a pin or a get outlived
/// the user mapping). Walks heads only, so it costs one struct page per folio.
fn check_unpinned(k: &Kernel, pgmap: &DevPagemap) -> Result<(), MemremapError> {
    let g = k.machine.geometry();
    let mut memmap = Memmap::new(&k.machine);
    let n = pgmap.vmemmap_nr();
    for &(start, end) in &pgmap.ranges {
        let first = pgmap.altmap.as_ref().map_or(start, |a| {
            Pfn::new(a.base_pfn.as_u64() + a.offset()).max(start)
        });
        let mut pfn = first;
        while pfn < end {
            let head = crate::mm::page::PagePtr::from_pfn(g, pfn);
            let folio = crate::mm::folio::page_folio(&mut memmap, head)
                .map_err(|f| MemremapError::Init(f.to_string()))?;
            let refcount = folio
                .ref_count(&mut memmap)
                .map_err(|f| MemremapError::Init(f.to_string()))?;
            let pincount = folio
                .pincount(&mut memmap)
                .map_err(|f| MemremapError::Init(f.to_string()))?;
            if refcount != 1 || pincount != 0 {
                return Err(MemremapError::Pinned {
                    pfn,
                    refcount,
                    pincount,
                });
            }
            pfn = pfn.add(n);
        }
    }
    Ok(())
}

/// `memunmap_pages`: refuses while anyone holds a pgmap reference beyond memremap's own (we
/// fail with `Busy` rather than wait: a simulation that waits on itself would hang), else drops
/// the up-front references and frees every range's memmap (INV-1).
pub fn memunmap_pages(k: &Kernel, pgmap: &Arc<DevPagemap>) -> Result<(), MemremapError> {
    let _hotplug = k.hotplug_lock();
    let base = pgmap.base_refs.load(Ordering::Acquire);
    let now = pgmap.refs();
    if now > base {
        return Err(MemremapError::Busy {
            id: pgmap.id,
            extra: now - base,
        });
    }
    let mappings = pgmap.mappings.load(Ordering::Acquire);
    if mappings > 0 {
        return Err(MemremapError::Mapped { mappings });
    }
    if pgmap.ever_mapped.load(Ordering::Acquire) {
        check_unpinned(k, pgmap)?;
    }
    pgmap.refs.fetch_sub(base, Ordering::AcqRel);
    pgmap.base_refs.store(0, Ordering::Release);
    unmap_ranges(k, pgmap, pgmap.nr_range.load(Ordering::Acquire));
    pgmap.nr_range.store(0, Ordering::Release);
    if let Some(a) = &pgmap.altmap {
        debug_assert_eq!(
            a.allocated(),
            0,
            "memunmap_pages: failed to free all reserved pages"
        );
    }
    Ok(())
}
