//! Populating and freeing the vmemmap (`mm/sparse-vmemmap.c`, x86 `arch/x86/mm/init_64.c`;
//! kernel brief §1.2, §7, appendix A).
//!
//! Three ways to back a (sub)section's memmap:
//! - x86 `vmemmap_populate`: a whole section gets one 2 MiB PMD leaf (from RAM or the altmap);
//!   a sub-section gets 4 KiB base pages from RAM;
//! - `vmemmap_populate_compound_pages` (5.19+): per compound page a head frame and a reuse
//!   frame, every other PTE aliasing the reuse frame;
//! - the `next` scheme: per compound page only a head frame, every other PTE mapping one
//!   read-only tail frame shared by all compound pages of the order, and all-tail PTE tables
//!   shared at PMD level.
//!
//! Every frame mapped here is refcounted by the PTEs that map it (INV-2) and freed by the last
//! PTE removal in [`vmemmap_free`].

use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use crate::addr::{Order, Pfn, VirtAddr};
use crate::arch::{Level, VmemmapMap};
use crate::machine::frame_store::{FrameError, FrameKind};
use crate::machine::page_table::{PtError, Pte};
use crate::mm::mm_init;
use crate::mm::page::ZONE_DEVICE;
use crate::mm::pagemap::{vmemmap_can_optimize, CompoundCtx, PopulateCtx, VmemAltmap};
use crate::mm::profile::DaxDedup;
use crate::mm::{Kernel, SharedTail};

/// Errors of vmemmap population.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmemmapError {
    #[error("vmemmap: {0}")]
    Frame(#[from] FrameError),
    #[error("vmemmap: {0}")]
    PageTable(#[from] PtError),
    #[error("vmemmap: altmap exhausted: the device reserve is too small for the memmap (ENOMEM)")]
    AltmapFull,
    #[error("vmemmap: {pfn} .. +{nr} pages is not subsection aligned")]
    Misaligned { pfn: Pfn, nr: u64 },
    #[error("vmemmap: the compound page continued from before {0} has no mapped tail page")]
    NoContinuation(VirtAddr),
}

/// `__populate_section_memmap`: maps the memmap of `[pfn, pfn + nr)`, which lies inside one
/// section and is subsection aligned. On error, part of the range may be mapped; the caller
/// frees it with [`vmemmap_free`].
#[doc(alias = "__populate_section_memmap")]
pub fn populate_section_memmap(
    k: &Kernel,
    pfn: Pfn,
    nr: u64,
    ctx: &PopulateCtx<'_>,
) -> Result<(), VmemmapError> {
    let g = k.machine.geometry();
    let per = g.pages_per_subsection();
    if !pfn.is_aligned(per) || !nr.is_multiple_of(per) || nr == 0 {
        return Err(VmemmapError::Misaligned { pfn, nr });
    }
    let start = g.pfn_to_page_va(pfn);
    let end = start.offset(nr * g.struct_page_size);
    match ctx.compound {
        Some(cc) if vmemmap_can_optimize(g, &k.switches(), ctx.altmap.is_some(), cc.order) => {
            populate_compound_pages(k, pfn, start, end, cc, ctx.altmap)
        }
        _ => vmemmap_populate(k, start, end, ctx.altmap),
    }
}

/// Boot-time population of System RAM's memmap `[start, end)` (from memblock): the arch's
/// `vmemmap_populate`, with every frame it maps marked as boot memmap.
pub(crate) fn populate_boot(
    k: &Kernel,
    start: VirtAddr,
    end: VirtAddr,
) -> Result<(), VmemmapError> {
    vmemmap_populate(k, start, end, None)?;
    let m = &k.machine;
    let g = m.geometry();
    let mut addr = start.align_down(g.page_size());
    while addr < end {
        let leaf = m.kernel_pt().lookup(addr).expect("just populated");
        let span = g.level_span(leaf.level());
        let within = (addr.as_u64() & (span - 1)) >> g.page_shift;
        let first = Pfn::new(leaf.pfn().as_u64() - within);
        if !m.frames().is_boot(first) {
            m.frames().mark_boot(first, span / g.page_size());
        }
        addr = addr.align_down(span).offset(span);
    }
    Ok(())
}

/// The arch's `vmemmap_populate` ([`VmemmapMap`]): PMD leaves, base pages, or a mix, per
/// architecture.
fn vmemmap_populate(
    k: &Kernel,
    start: VirtAddr,
    end: VirtAddr,
    altmap: Option<&VmemAltmap>,
) -> Result<(), VmemmapError> {
    let g = k.machine.geometry();
    match g.vmemmap_map {
        VmemmapMap::SectionLeaves { basepages_altmap } => {
            if end.distance_from(start) < g.pages_per_section() * g.struct_page_size {
                return populate_basepages(k, start, end, altmap.filter(|_| basepages_altmap));
            }
            populate_leaves(k, start, end, altmap)
        }
        VmemmapMap::BasePages => populate_basepages(k, start, end, altmap),
        VmemmapMap::Leaves | VmemmapMap::AlignedLeaves | VmemmapMap::Bolted => {
            populate_leaves(k, start, end, altmap)
        }
    }
}

/// Where a PMD leaf of vmemmap for `addr` comes from, per the arch's rule; `Ok(None)` means
/// map this PMD's range with base pages instead.
fn leaf_block(
    k: &Kernel,
    addr: VirtAddr,
    altmap: Option<&VmemAltmap>,
) -> Result<Option<Pfn>, VmemmapError> {
    let m = &k.machine;
    let g = m.geometry();
    let pmd = g.pmd_size().bytes();
    let nr = pmd >> g.page_shift;
    let ram = || m.frames().alloc(g.pmd_order(), FrameKind::Memmap);
    // The pfns this leaf's struct pages describe.
    let inside =
        |a: &VmemAltmap| !a.crosses_boundary(g.page_va_to_pfn(addr), pmd / g.struct_page_size);
    Ok(match (g.vmemmap_map, altmap) {
        // `vmemmap_populate_hugepages`: an altmap that cannot supply the leaf is ENOMEM.
        (VmemmapMap::SectionLeaves { .. } | VmemmapMap::Leaves, Some(a)) => {
            Some(altmap_alloc_block_buf(k, a, nr)?)
        }
        (VmemmapMap::SectionLeaves { .. } | VmemmapMap::Leaves | VmemmapMap::BasePages, None) => {
            ram().ok()
        }
        (VmemmapMap::BasePages, Some(_)) => None,
        // `radix__vmemmap_populate`: only PMD-aligned, only describing the device's own pfns.
        (VmemmapMap::AlignedLeaves, a) => {
            if !addr.is_aligned(pmd) || a.is_some_and(|a| !inside(a)) {
                None
            } else if let Some(a) = a {
                altmap_alloc_block_buf(k, a, nr).ok()
            } else {
                ram().ok()
            }
        }
        // `__vmemmap_populate`: a bolted block, from the device when it describes only the
        // device, else (or when the altmap is short) from RAM; there is no base-page fallback.
        (VmemmapMap::Bolted, a) => {
            let from_device = a
                .filter(|a| inside(a))
                .and_then(|a| altmap_alloc_block_buf(k, a, nr).ok());
            Some(match from_device {
                Some(p) => p,
                None => ram()?,
            })
        }
    })
}

/// `vmemmap_populate_hugepages` and its arch variants: a PMD leaf per empty PMD where the
/// arch's rule gives one ([`leaf_block`]), existing leaves kept (`vmemmap_check_pmd`), base
/// pages elsewhere.
#[doc(alias = "vmemmap_populate_hugepages")]
fn populate_leaves(
    k: &Kernel,
    start: VirtAddr,
    end: VirtAddr,
    altmap: Option<&VmemAltmap>,
) -> Result<(), VmemmapError> {
    let m = &k.machine;
    let g = m.geometry();
    let pmd = g.pmd_size().bytes();
    let basepages_altmap = match g.vmemmap_map {
        VmemmapMap::SectionLeaves { basepages_altmap } => basepages_altmap,
        VmemmapMap::BasePages
        | VmemmapMap::Leaves
        | VmemmapMap::AlignedLeaves
        | VmemmapMap::Bolted => true,
    };
    let mut addr = match g.vmemmap_map {
        VmemmapMap::Bolted => start.align_down(pmd),
        _ => start,
    };
    while addr < end {
        let next = addr.addr_end(pmd, end);
        let (slot, _) = m.kernel_pt().ensure(addr, Level::PMD)?;
        let e = Pte::from_raw(slot.load(Ordering::Acquire));
        if !e.present() {
            if let Some(block) = leaf_block(k, addr.align_down(pmd), altmap)? {
                slot.store(
                    Pte::new(block, Pte::PRESENT | Pte::RW | Pte::HUGE).raw(),
                    Ordering::Release,
                );
                addr = next;
                continue;
            }
        } else if e.huge() {
            addr = next;
            continue;
        }
        // No leaf here (or a PTE table is already there): base pages.
        populate_basepages(k, addr, next, altmap.filter(|_| basepages_altmap))?;
        addr = next;
    }
    Ok(())
}

/// `vmemmap_populate_basepages`: one fresh frame per vmemmap page, from the altmap if given.
#[doc(alias = "vmemmap_populate_basepages")]
fn populate_basepages(
    k: &Kernel,
    start: VirtAddr,
    end: VirtAddr,
    altmap: Option<&VmemAltmap>,
) -> Result<(), VmemmapError> {
    let p = k.machine.geometry().page_size();
    let mut addr = start.align_down(p);
    while addr < end {
        populate_address(k, addr, altmap)?;
        addr = addr.offset(p);
    }
    Ok(())
}

/// `vmemmap_populate_address`: the PTE for `addr`, mapping a fresh zeroed frame (from the altmap
/// if given) if it was empty. Returns the mapped frame.
#[doc(alias = "vmemmap_populate_address")]
fn populate_address(
    k: &Kernel,
    addr: VirtAddr,
    altmap: Option<&VmemAltmap>,
) -> Result<Pfn, VmemmapError> {
    let m = &k.machine;
    let (slot, _) = m.kernel_pt().ensure(addr, Level::PTE)?;
    let e = Pte::from_raw(slot.load(Ordering::Acquire));
    if e.present() {
        return Ok(e.pfn());
    }
    let g = m.geometry();
    let frame = match (g.vmemmap_map, altmap) {
        // `radix__vmemmap_pte_populate`: a page describing pfns outside the device takes no
        // altmap frame (`altmap_cross_boundary`), and a short altmap falls back to RAM.
        (VmemmapMap::AlignedLeaves, Some(a)) => {
            let page = addr.align_down(g.page_size());
            if a.crosses_boundary(g.page_va_to_pfn(page), g.struct_pages_per_page()) {
                alloc_vmemmap_frame(k, None)?
            } else {
                match altmap_alloc_block_buf(k, a, 1) {
                    Ok(f) => f,
                    Err(_) => alloc_vmemmap_frame(k, None)?,
                }
            }
        }
        _ => alloc_vmemmap_frame(k, altmap)?,
    };
    slot.store(
        Pte::new(frame, Pte::PRESENT | Pte::RW).raw(),
        Ordering::Release,
    );
    Ok(frame)
}

/// `altmap_alloc_block_buf`: `nr` pfns of the device aligned to the lowest set bit of `nr`,
/// backed as memmap frames on the device.
pub(crate) fn altmap_alloc_block_buf(
    k: &Kernel,
    altmap: &VmemAltmap,
    nr: u64,
) -> Result<Pfn, VmemmapError> {
    let (alloc, align) = altmap.bump_state();
    let next = altmap.base_pfn.as_u64() + altmap.reserve + alloc + align;
    let class = 1u64 << nr.trailing_zeros();
    let pad = next.next_multiple_of(class) - next;
    let nr_free = altmap.free.saturating_sub(alloc + align);
    if nr + pad > nr_free {
        return Err(VmemmapError::AltmapFull);
    }
    let pfn = Pfn::new(next + pad);
    k.machine.frames().claim_device(pfn, nr)?;
    altmap.bump(nr, pad);
    Ok(pfn)
}

/// `vmemmap_alloc_block_buf` for one page: from the altmap if given, else from RAM.
fn alloc_vmemmap_frame(k: &Kernel, altmap: Option<&VmemAltmap>) -> Result<Pfn, VmemmapError> {
    Ok(match altmap {
        Some(a) => altmap_alloc_block_buf(k, a, 1)?,
        None => k.machine.frames().alloc(0, FrameKind::Memmap)?,
    })
}

/// `vmemmap_populate_compound_pages`, for both dedup schemes.
fn populate_compound_pages(
    k: &Kernel,
    start_pfn: Pfn,
    start: VirtAddr,
    end: VirtAddr,
    cc: CompoundCtx,
    altmap: Option<&VmemAltmap>,
) -> Result<(), VmemmapError> {
    match k.switches().dax_dedup {
        DaxDedup::SharedTail => populate_shared_tail(k, start_pfn, start, end, cc, altmap),
        DaxDedup::Tail => populate_tail_reuse(k, start, end, cc),
        DaxDedup::None => vmemmap_populate(k, start, end, altmap),
    }
}

/// The 5.19 scheme (brief §1.2): head frame + reuse frame per compound page. Each vmemmap
/// page's place in its compound page follows from its address, as in the ppc64 radix version
/// (`radix__vmemmap_populate_compound_pages`), so a section whose memmap is smaller than a page
/// (16 KiB on ppc64 64K) or starts inside a compound page needs nothing from the call before;
/// pages already mapped by an earlier section are left alone.
#[doc(alias = "vmemmap_populate_compound_pages")]
fn populate_tail_reuse(
    k: &Kernel,
    start: VirtAddr,
    end: VirtAddr,
    cc: CompoundCtx,
) -> Result<(), VmemmapError> {
    let m = &k.machine;
    let g = m.geometry();
    let p = g.page_size();
    let compound = cc.order.nr_pages() * g.struct_page_size;
    let base = g.pfn_to_page_va(cc.range_start);
    let mut addr = start.align_down(p);
    // The current compound page's reuse frame (its vmemmap page 1), once known.
    let mut reuse: Option<(VirtAddr, Pfn)> = None;
    while addr < end {
        let (run, _) = m.kernel_pt().ensure_run(addr, Level::PTE)?;
        for slot in run {
            if addr >= end {
                break;
            }
            // The vmemmap page's index within its compound page (masks where the sizes are
            // powers of two, as they are but for a struct-page-size what-if).
            let d = addr.distance_from(base);
            let idx = if compound.is_power_of_two() {
                (d & (compound - 1)) >> g.page_shift
            } else {
                (d % compound) / p
            };
            let head = VirtAddr::new(addr.as_u64() - idx * p);
            if !Pte::from_raw(slot.load(Ordering::Acquire)).present() {
                if idx < 2 {
                    let frame = alloc_vmemmap_frame(k, None)?;
                    slot.store(
                        Pte::new(frame, Pte::PRESENT | Pte::RW).raw(),
                        Ordering::Release,
                    );
                } else {
                    let frame = match reuse {
                        Some((h, f)) if h == head => f,
                        _ => {
                            let f = m
                                .kernel_pt()
                                .lookup(head.offset(p))
                                .ok_or(VmemmapError::NoContinuation(addr))?
                                .pfn();
                            reuse = Some((head, f));
                            f
                        }
                    };
                    m.frames().get(frame);
                    slot.store(
                        Pte::new(frame, Pte::PRESENT | Pte::RW).raw(),
                        Ordering::Release,
                    );
                }
            }
            addr = addr.offset(p);
        }
    }
    Ok(())
}

/// The `next` scheme: a private head frame per compound page; every other vmemmap page maps the
/// order's shared read-only tail frame; a PTE table with no head maps is replaced by the order's
/// shared all-tail table.
fn populate_shared_tail(
    k: &Kernel,
    start_pfn: Pfn,
    start: VirtAddr,
    end: VirtAddr,
    cc: CompoundCtx,
    altmap: Option<&VmemAltmap>,
) -> Result<(), VmemmapError> {
    let m = &k.machine;
    let g = m.geometry();
    let p = g.page_size();
    let pmd = g.pmd_size().bytes();
    let vmemmap_per_compound = g.vmemmap_pages_for(cc.order.nr_pages());
    let pages_per_vpage = g.struct_pages_per_page();
    let first_index = start_pfn.distance_from(cc.range_start) / pages_per_vpage;
    let base = g.pfn_to_page_va(cc.range_start);
    let pmd_tail_reuse = k.switches().pmd_tail_reuse;
    let mut addr = start;
    while addr < end {
        // A whole PTE table's worth of vmemmap pages with no head among them: the block is
        // decided when first met, whichever section's call reaches it first.
        let block = addr.align_down(pmd);
        let block_in_compound =
            (block.as_u64().wrapping_sub(base.as_u64()) / p) % vmemmap_per_compound;
        let table_pages = pmd / p;
        if block >= base
            && block_in_compound != 0
            && block_in_compound + table_pages <= vmemmap_per_compound
            && pmd_tail_reuse
        {
            // Page tables first, so a failure cannot strand a fresh shared frame.
            let (slot, _) = m.kernel_pt().ensure(addr, Level::PMD)?;
            let e = Pte::from_raw(slot.load(Ordering::Acquire));
            if !e.present() {
                let table = shared_tail(k, ZONE_DEVICE, cc.order, true)?
                    .table
                    .expect("requested");
                m.frames().get(table);
                slot.store(
                    Pte::new(table, Pte::PRESENT | Pte::SHARED_TABLE).raw(),
                    Ordering::Release,
                );
            }
            // A private table already there is filled page by page below.
            if !e.present() || e.shared_table() {
                addr = addr.addr_end(pmd, end);
                continue;
            }
        }
        // The rest of this PTE table, one slot per vmemmap page.
        let (run, _) = m.kernel_pt().ensure_run(addr, Level::PTE)?;
        let mut tail = None;
        for slot in run {
            if addr >= end {
                break;
            }
            let in_compound = (first_index + addr.distance_from(start) / p) % vmemmap_per_compound;
            if !Pte::from_raw(slot.load(Ordering::Acquire)).present() {
                if in_compound == 0 {
                    let frame = alloc_vmemmap_frame(k, altmap)?;
                    slot.store(
                        Pte::new(frame, Pte::PRESENT | Pte::RW).raw(),
                        Ordering::Release,
                    );
                } else {
                    let t = match tail {
                        Some(t) => t,
                        None => *tail.insert(shared_tail(k, ZONE_DEVICE, cc.order, false)?.frame),
                    };
                    m.frames().get(t);
                    // Read-only: tails are a template shared by every compound page of the order.
                    slot.store(Pte::new(t, Pte::PRESENT).raw(), Ordering::Release);
                }
            }
            addr = addr.offset(p);
        }
    }
    Ok(())
}

/// The shared tail frame (and, if `with_table`, the all-tail PTE table) of `(zone, order)`,
/// created on first use. The frame's refcount counts the PTEs that map it, the table's the PMD
/// entries.
pub(crate) fn shared_tail(
    k: &Kernel,
    zone: u64,
    order: Order,
    with_table: bool,
) -> Result<SharedTail, VmemmapError> {
    let m = &k.machine;
    let mut tails = k
        .shared_tails
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let key = (zone, order.get());
    let mut st = match tails.get(&key) {
        Some(st) => *st,
        None => {
            let frame = m.frames().alloc(0, FrameKind::Memmap)?;
            // The allocation reference is handed to the first PTE.
            let _ = m.frames().put(frame);
            mm_init::init_shared_tail_frame(k, frame, zone, order);
            SharedTail { frame, table: None }
        }
    };
    if with_table && st.table.is_none() {
        let table = match m.kernel_pt().alloc_table(Level::PTE) {
            Ok(t) => t,
            Err(e) => {
                if !tails.contains_key(&key) {
                    m.frames()
                        .free(st.frame, 0, FrameKind::Memmap)
                        .expect("just allocated");
                }
                return Err(e.into());
            }
        };
        let _ = m.frames().put(table);
        let entries = m.kernel_pt().table_entries(table, Level::PTE);
        for e in entries {
            m.frames().get(st.frame);
            e.store(Pte::new(st.frame, Pte::PRESENT).raw(), Ordering::Release);
        }
        st.table = Some(table);
    }
    tails.insert(key, st);
    Ok(st)
}

/// Drops one reference on a vmemmap data frame mapped by a PTE; frees it at zero (device
/// frames go back to the altmap).
pub(crate) fn put_vmemmap_frame(k: &Kernel, pfn: Pfn, altmap: Option<&VmemAltmap>) {
    let fs = k.machine.frames();
    if !fs.is_ram(pfn) {
        let a = altmap.expect("device-backed memmap frames come from an altmap");
        a.free_block(1);
        fs.release_device(pfn, 1);
        return;
    }
    if fs.put(pfn) != 0 {
        return;
    }
    let mut tails = k
        .shared_tails
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    tails.retain(|_, st| st.frame != pfn);
    fs.free(pfn, 0, FrameKind::Memmap)
        .expect("vmemmap frame was allocated");
}

/// Drops one PMD reference on a shared all-tail table; at zero, unmaps it and frees it.
fn put_shared_table(k: &Kernel, table: Pfn) {
    let fs = k.machine.frames();
    if fs.put(table) != 0 {
        return;
    }
    {
        let mut tails = k
            .shared_tails
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for st in tails.values_mut() {
            if st.table == Some(table) {
                st.table = None;
            }
        }
    }
    let entries = k.machine.kernel_pt().table_entries(table, Level::PTE);
    let mut tail = None;
    for e in entries {
        let pte = Pte::from_raw(e.swap(0, Ordering::AcqRel));
        if pte.present() {
            tail = Some(pte.pfn());
        }
    }
    k.machine.kernel_pt().free_table(table, Level::PTE);
    if let Some(tail) = tail {
        for _ in 0..entries.len() - 1 {
            let left = fs.put(tail);
            debug_assert!(left > 0);
        }
        put_vmemmap_frame(k, tail, None);
    }
}

/// `vmemmap_free` (x86 `remove_pagetable` for the vmemmap): unmaps `[start, end)`, dropping a
/// reference on every mapped frame (PMD leaves are freed whole, at PMD order, or returned to the
/// altmap), then frees page-table frames left empty.
#[doc(alias = "remove_pagetable")]
pub fn vmemmap_free(k: &Kernel, start: VirtAddr, end: VirtAddr, altmap: Option<&VmemAltmap>) {
    let m = &k.machine;
    let g = m.geometry();
    let fs = m.frames();
    let pmd = g.pmd_size().bytes();
    let p = g.page_size();
    // Whether vmemmap `[lo, hi)`, which reaches outside `[start, end)`, still describes pfns
    // with a memmap (their subsections were cleared before this call).
    let in_use = |lo: VirtAddr, hi: VirtAddr| {
        (lo < start || hi > end)
            && k.sparse
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .memmap_in_use(g, g.page_va_to_pfn(lo), g.page_va_to_pfn(hi))
    };
    let mut addr = start;
    while addr < end {
        let next = addr.addr_end(pmd, end);
        let Some(pmd_slot) = m.kernel_pt().entry(addr, Level::PMD) else {
            addr = next;
            continue;
        };
        let e = Pte::from_raw(pmd_slot.load(Ordering::Acquire));
        if !e.present() {
        } else if e.huge() {
            let block = addr.align_down(pmd);
            if !in_use(block, block.offset(pmd)) {
                pmd_slot.store(0, Ordering::Release);
                if fs.is_ram(e.pfn()) {
                    fs.free(e.pfn(), g.pmd_order(), FrameKind::Memmap)
                        .expect("PMD vmemmap block was allocated");
                } else {
                    let a = altmap.expect("device PMD leaves come from an altmap");
                    a.free_block(pmd / p);
                    fs.release_device(e.pfn(), pmd / p);
                }
            }
        } else if e.shared_table() {
            let block = addr.align_down(pmd);
            if !in_use(block, block.offset(pmd)) {
                pmd_slot.store(0, Ordering::Release);
                put_shared_table(k, e.pfn());
            }
        } else {
            let first = addr.align_down(p);
            if let Some(run) = m.kernel_pt().entry_run(first, Level::PTE) {
                // At most the rest of this PTE table (`next` is at most a PMD boundary away).
                let n = usize::try_from(next.distance_from(first).div_ceil(p))
                    .map_or(run.len(), |n| n.min(run.len()));
                for (i, slot) in run[..n].iter().enumerate() {
                    let page = first.offset(i as u64 * p);
                    if in_use(page, page.offset(p)) {
                        continue;
                    }
                    let pte = Pte::from_raw(slot.swap(0, Ordering::AcqRel));
                    if pte.present() {
                        put_vmemmap_frame(k, pte.pfn(), altmap);
                    }
                }
            }
        }
        addr = next;
    }
    m.flush_tlb_kernel();
    // Freed page tables are flushed again (x86 `remove_pagetable` ends in `flush_tlb_all`):
    // a walk between the two flushes may have cached one of them.
    if m.kernel_pt().prune(start, end) > 0 {
        m.flush_tlb_kernel();
    }
}

/// The number of PTEs in the kernel page tables that map `frame` within `[start, end)` of the
/// vmemmap, counting a shared table's entries once. For checking INV-2.
#[must_use]
pub fn ptes_mapping(k: &Kernel, frame: Pfn, start: VirtAddr, end: VirtAddr) -> u64 {
    let m = &k.machine;
    let g = m.geometry();
    let mut n = 0;
    let mut seen_tables = std::collections::HashSet::new();
    let mut addr = start;
    while addr < end {
        let pmd = g.pmd_size().bytes();
        let next = addr.addr_end(pmd, end);
        if let Some(s) = m.kernel_pt().entry(addr, Level::PMD) {
            let e = Pte::from_raw(s.load(Ordering::Acquire));
            if e.present() && e.shared_table() {
                if seen_tables.insert(e.pfn()) {
                    let t = m.frames().frame(e.pfn()).expect("backed");
                    n += t
                        .iter()
                        .filter(|w| Pte::from_raw(w.load(Ordering::Relaxed)).pfn() == frame)
                        .count() as u64;
                }
                addr = next;
                continue;
            }
        }
        if let Some(s) = m.kernel_pt().entry(addr, Level::PTE) {
            let e = Pte::from_raw(s.load(Ordering::Acquire));
            if e.present() && e.pfn() == frame {
                n += 1;
            }
        }
        addr = addr.offset(g.page_size());
    }
    n
}

/// The page-table entries populate stored to map the struct pages of `[start, start + nr)`
/// (one per leaf: PTE, or PMD where the vmemmap is mapped by PMD leaves; a PTE table shared
/// between PMDs counted once) and how many of them map a frame an earlier entry already maps
/// (each such entry took a `get_page` on it). The other floor of creating a device, beside
/// the struct pages memmap init writes.
#[must_use]
pub fn vmemmap_entries_of(k: &Kernel, start: Pfn, nr: u64) -> (u64, u64) {
    let m = &k.machine;
    let g = m.geometry();
    let first = g.pfn_to_page_va(start);
    let end = first.offset(nr * g.struct_page_size);
    let (mut entries, mut frames) = (0, std::collections::HashSet::new());
    let mut seen_tables = std::collections::HashSet::new();
    let mut addr = first.align_down(g.page_size());
    while addr < end {
        let pt = m.kernel_pt();
        let step = match pt.lookup_with_pte_table(addr) {
            Some((_, Some(table))) if pmd_shared(k, addr) => {
                if seen_tables.insert(table) {
                    for e in pt.table_entries(table, Level::PTE) {
                        entries += 1;
                        frames.insert(Pte::from_raw(e.load(Ordering::Acquire)).pfn());
                    }
                }
                g.pmd_size().bytes()
            }
            Some((leaf, _)) => {
                entries += 1;
                frames.insert(leaf.entry().pfn());
                g.level_span(leaf.level())
            }
            None => g.page_size(),
        };
        addr = addr.align_down(step).offset(step);
    }
    (entries, entries - frames.len() as u64)
}

/// True if the PMD entry over `addr` points at a PTE table shared between PMDs.
fn pmd_shared(k: &Kernel, addr: VirtAddr) -> bool {
    k.machine
        .kernel_pt()
        .entry(addr, Level::PMD)
        .is_some_and(|s| Pte::from_raw(s.load(Ordering::Acquire)).shared_table())
}

/// The distinct frames that back the struct pages of `[start, start + nr)`: the memmap those
/// pfns really cost, however it is mapped (PMD leaf, own pages, aliases, shared frames).
#[must_use]
pub fn memmap_frames_of(k: &Kernel, start: Pfn, nr: u64) -> u64 {
    let m = &k.machine;
    let g = m.geometry();
    let p = g.page_size();
    let first = g.pfn_to_page_va(start);
    let last = first.offset(nr * g.struct_page_size);
    let mut frames = std::collections::HashSet::new();
    let mut addr = first.align_down(p);
    while addr < last {
        if let Some(leaf) = m.kernel_pt().lookup(addr) {
            frames.insert(leaf.pfn());
        }
        addr = addr.offset(p);
    }
    frames.len() as u64
}
