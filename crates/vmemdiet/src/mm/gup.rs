//! get/pin_user_pages, fast and slow, and unpin (`mm/gup.c`; kernel brief §4, §5, appendix B).
//!
//! Every strategy that changed across the series is selected by the profile: GUP-fast on a
//! device-dax leaf per 4 KiB page (with a pgmap lookup each) or one grab per leaf; FOLL_LONGTERM
//! through the fast path or not; the slow path one walk per 4 KiB page or per leaf; unpin one
//! atomic per page or per folio run.

use std::ops::BitOr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::addr::{Pfn, VirtAddr};
use crate::arch::Level;
use crate::machine::page_table::{Leaf, Pte};
use crate::machine::Fault;
use crate::mm::folio::{page_folio, Folio, RefKind, RefStats};
use crate::mm::page::{Memmap, PagePtr, PAGE_MAPPING_ANON};
use crate::mm::pagemap::DevPagemap;
use crate::mm::profile::{FastLeaf, SlowLeaf, Unpin};
use crate::mm::vm::{Mm, VmError, Vma, VmaTree};
use crate::mm::Kernel;

/// `FOLL_*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GupFlags(u32);

impl GupFlags {
    /// `FOLL_WRITE`.
    pub const WRITE: GupFlags = GupFlags(1 << 0);
    /// `FOLL_TOUCH`: mark what the slow path finds accessed. Internal: `get_user_pages` and the
    /// slow half of the `*_fast` calls set it; `pin_user_pages` does not.
    pub const TOUCH: GupFlags = GupFlags(1 << 1);
    /// `FOLL_GET`: take plain references (released with `put_page`).
    pub const GET: GupFlags = GupFlags(1 << 2);
    /// `FOLL_LONGTERM`: the pin may last indefinitely (RDMA).
    pub const LONGTERM: GupFlags = GupFlags(1 << 16);
    /// `FOLL_PIN`: take pins (released with `unpin_user_pages`).
    pub const PIN: GupFlags = GupFlags(1 << 18);
    /// `FOLL_FAST_ONLY`: never fall back to the slow path.
    pub const FAST_ONLY: GupFlags = GupFlags(1 << 19);
    /// No flags.
    pub const NONE: GupFlags = GupFlags(0);

    /// True if every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: GupFlags) -> bool {
        self.0 & other.0 == other.0
    }

    fn kind(self) -> RefKind {
        if self.contains(GupFlags::PIN) {
            RefKind::Pin
        } else {
            RefKind::Get
        }
    }
}

impl BitOr for GupFlags {
    type Output = GupFlags;
    fn bitor(self, rhs: GupFlags) -> GupFlags {
        GupFlags(self.0 | rhs.0)
    }
}

/// GUP errors (the errno the kernel returns when nothing at all was pinned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GupError {
    #[error("invalid flags: exactly one of FOLL_GET and FOLL_PIN, pin_* calls take no FOLL_GET, and FOLL_LONGTERM only with pins (EINVAL)")]
    BadFlags,
    #[error("start {0} is not page aligned or the range overflows (EINVAL)")]
    BadRange(VirtAddr),
    #[error("{0} is not mapped, or the mapping does not allow the access (EFAULT)")]
    Fault(VirtAddr),
    #[error("the folio at {0} cannot take more references (refcount overflow, ENOMEM)")]
    Overflow(Pfn),
    #[error(transparent)]
    Vm(#[from] VmError),
    #[error("struct page access: {0}")]
    Memmap(#[from] Fault),
}

/// Work counted by GUP and unpin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GupStats {
    /// Struct-page atomics.
    pub refs: RefStats,
    /// Page-table walks (fast path: one per leaf; slow path: one per `follow_page_mask`).
    pub walks: u64,
    /// `get_dev_pagemap` calls (a cached range check or an xarray lookup).
    pub pgmap_lookups: u64,
    /// Pages the fast path grabbed.
    pub fast_pages: u64,
    /// Pages the slow path grabbed.
    pub slow_pages: u64,
    /// Grabs undone after a failed re-check.
    pub undone: u64,
    /// Page-table lock acquisitions (`pmd_lock`, `pte_offset_map_lock`, `huge_pte_lock`): one
    /// per slow-path step.
    pub ptl_locks: u64,
    /// VMA look-ups of the slow path (`vma_lookup` when an address passes `vm_end`).
    pub vma_lookups: u64,
    /// `folio_is_longterm_pinnable` calls of the FOLL_LONGTERM pass
    /// (`check_and_migrate_movable_pages`): one per distinct folio in a row of the array.
    pub pinnable_checks: u64,
}

/// One CPU doing GUP: its TLB-backed view of the memmap and its counters.
#[derive(Debug)]
pub struct GupCtx<'k> {
    pub memmap: Memmap<'k>,
    pub stats: GupStats,
}

impl<'k> GupCtx<'k> {
    /// A context on `k`'s machine.
    #[must_use]
    pub fn new(k: &'k Kernel) -> GupCtx<'k> {
        GupCtx {
            memmap: Memmap::new(&k.machine),
            stats: GupStats::default(),
        }
    }
}

fn check_args(k: &Kernel, start: VirtAddr, nr: usize) -> Result<u64, GupError> {
    let p = k.machine.geometry().page_size();
    let len = (nr as u64)
        .checked_mul(p)
        .ok_or(GupError::BadRange(start))?;
    if !start.as_u64().is_multiple_of(p) || start.as_u64().checked_add(len).is_none() {
        return Err(GupError::BadRange(start));
    }
    Ok(len)
}

/// Undoes grabs of `pages` one page at a time (GUP-fast's undo of a per-page leaf).
fn undo_pages(cx: &mut GupCtx<'_>, pages: &[PagePtr], kind: RefKind) -> Result<(), Fault> {
    for &p in pages {
        let f = page_folio(&mut cx.memmap, p)?;
        f.put(&mut cx.memmap, 1, kind, &mut cx.stats.refs)?;
        cx.stats.undone += 1;
    }
    Ok(())
}

/// The pgmap a walk holds a `get_dev_pagemap` reference on; dropping it is the walk's final
/// `put_dev_pagemap`.
#[derive(Debug, Default)]
struct PgmapRef(Option<Arc<DevPagemap>>);

impl Drop for PgmapRef {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.put();
        }
    }
}

/// `get_dev_pagemap(pfn, cached)`: the cached pgmap if it covers `pfn`, else a lookup that
/// takes a reference on the new pgmap and drops the one on the old.
fn get_dev_pagemap(k: &Kernel, pfn: Pfn, cached: &mut PgmapRef, st: &mut GupStats) -> bool {
    st.pgmap_lookups += 1;
    if let Some(p) = &cached.0 {
        if p.ranges.iter().any(|&(s, e)| pfn >= s && pfn < e) {
            return true;
        }
    }
    *cached = PgmapRef(k.pgmap_of(pfn).inspect(|p| p.get()));
    cached.0.is_some()
}

/// `gup_fast_folio_allowed`: GUP-fast may not long-term pin a file-backed folio for writing
/// (the file system cannot track it dirty), except HugeTLB and shmem; it refuses after the grab,
/// and the slow path decides. Device-dax folios are file-backed (`dax_set_mapping`), so from 6.15
/// on RDMA and io_uring pins of devdax go to the slow path while hugetlbfs stays fast.
fn gup_fast_folio_allowed(
    mm: &mut Memmap<'_>,
    folio: Folio,
    flags: GupFlags,
) -> Result<bool, Fault> {
    let reject_file_backed = flags.contains(GupFlags::PIN | GupFlags::LONGTERM | GupFlags::WRITE);
    if !reject_file_backed || folio.is_hugetlb(mm)? {
        return Ok(true);
    }
    // No mapping (truncated): cannot tell, fall back. Anonymous and shmem folios are fine.
    let mapping = folio.mapping(mm)?;
    Ok(mapping & PAGE_MAPPING_ANON != 0 || crate::mm::memory::shmem_mapping(mapping))
}

/// GUP-fast on one leaf covering `[addr, next)`. Returns false to stop the fast walk (the
/// caller falls back); on false nothing of this leaf stays grabbed.
#[allow(clippy::too_many_arguments)]
fn gup_fast_leaf(
    cx: &mut GupCtx<'_>,
    k: &Kernel,
    slot: &std::sync::atomic::AtomicU64,
    leaf: Pte,
    level: Level,
    addr: VirtAddr,
    next: VirtAddr,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<bool, Fault> {
    let g = k.machine.geometry();
    let sw = k.switches();
    if flags.contains(GupFlags::WRITE) && !leaf.writable() {
        return Ok(false);
    }
    if leaf.has(Pte::SPECIAL) {
        // `pmd_special`/`pud_special`: 6.15-6.16 device-dax leaves; the slow path takes them.
        return Ok(false);
    }
    let devmap = leaf.has(Pte::DEVMAP);
    if flags.contains(GupFlags::LONGTERM) && devmap {
        // ≤ 6.14: every long-term pin of a devmap leaf goes to the slow path.
        return Ok(false);
    }
    let span = g.level_span(level);
    let first = leaf.pfn().add((addr.as_u64() & (span - 1)) >> g.page_shift);
    let refs = next.distance_from(addr) >> g.page_shift;
    let kind = flags.kind();
    let recorded = pages.len();
    if devmap && sw.fast_leaf == FastLeaf::PerPage {
        // __gup_device_huge: one pgmap check and one grab per 4 KiB page.
        let mut cached = PgmapRef::default();
        for i in 0..refs {
            let pfn = first.add(i);
            let page = PagePtr::from_pfn(g, pfn);
            let grabbed = if get_dev_pagemap(k, pfn, &mut cached, &mut cx.stats) {
                let folio = page_folio(&mut cx.memmap, page)?;
                folio
                    .try_grab(&mut cx.memmap, 1, kind, &mut cx.stats.refs)?
                    .then_some(folio)
            } else {
                None
            };
            let Some(folio) = grabbed else {
                let grabbed: Vec<PagePtr> = pages.drain(recorded..).collect();
                undo_pages(cx, &grabbed, kind)?;
                return Ok(false);
            };
            folio.set_referenced(&mut cx.memmap, &mut cx.stats.refs)?;
            pages.push(page);
        }
        // Re-check the leaf after the grabs (the kernel's full barrier is in the grab).
        if slot.load(Ordering::Acquire) != leaf.raw() {
            let grabbed: Vec<PagePtr> = pages.drain(recorded..).collect();
            undo_pages(cx, &grabbed, kind)?;
            return Ok(false);
        }
    } else {
        let page = PagePtr::from_pfn(g, first);
        let folio = page_folio(&mut cx.memmap, page)?;
        let refs32 = u32::try_from(refs).expect("a leaf spans fewer than 2^32 pages");
        if !folio.try_grab(&mut cx.memmap, refs32, kind, &mut cx.stats.refs)? {
            return Ok(false);
        }
        if slot.load(Ordering::Acquire) != leaf.raw()
            || !gup_fast_folio_allowed(&mut cx.memmap, folio, flags)?
        {
            folio.put(&mut cx.memmap, refs32, kind, &mut cx.stats.refs)?;
            cx.stats.undone += refs;
            return Ok(false);
        }
        // Pages are recorded only after the checks pass (record_subpages removal, 2025).
        pages.extend((0..refs).map(|i| page.nth(g, i)));
        folio.set_referenced(&mut cx.memmap, &mut cx.stats.refs)?;
    }
    cx.stats.fast_pages += refs;
    Ok(true)
}

/// `gup_fast`: the lockless walk. Grabs what it can from `start` on and returns how many pages.
fn gup_fast(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, Fault> {
    let k = mm.k;
    let g = k.machine.geometry();
    let pin = flags.contains(GupFlags::PIN);
    let seq = mm.write_protect_seq.load(Ordering::Acquire);
    if pin && seq & 1 == 1 {
        return Ok(0);
    }
    let before = pages.len();
    {
        let _irqs_off = mm.gate.enter();
        let end = start.as_u64() + nr as u64 * g.page_size();
        let mut addr = start;
        while addr.as_u64() < end {
            cx.stats.walks += 1;
            let Some((slot, leaf, level)) = mm.page_tables().walk_leaf(addr) else {
                break;
            };
            let span = g.level_span(level);
            let next = addr.addr_end(span, VirtAddr::new(end));
            if !gup_fast_leaf(cx, k, slot, leaf, level, addr, next, flags, pages)? {
                break;
            }
            addr = next;
        }
    }
    if pin && mm.write_protect_seq.load(Ordering::Acquire) != seq {
        let grabbed: Vec<PagePtr> = pages.drain(before..).collect();
        unpin_runs(cx, &grabbed, Unpin::PerFolioRun, false)?;
        return Ok(0);
    }
    Ok(pages.len() - before)
}

/// `__get_user_pages`: the slow path under `mmap_read_lock`, faulting in what is missing.
fn gup_slow(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    let g = mm.k.machine.geometry();
    let tree = mm.mmap_read();
    let mut walk = SlowWalk {
        tree: &tree,
        vma: None,
        pgmap: PgmapRef::default(),
    };
    let mut i = 0usize;
    while i < nr {
        let addr = VirtAddr::new(start.as_u64() + i as u64 * g.page_size());
        match walk.step(cx, mm, addr, nr - i, flags, pages)? {
            SlowStep::Grabbed(increm) => i += usize::try_from(increm).unwrap_or(nr),
            SlowStep::FaultedIn => {}
            // What was grabbed so far is the answer; the error only when nothing was.
            SlowStep::Stop(e) => return if i > 0 { Ok(i) } else { Err(e) },
        }
    }
    Ok(nr)
}

/// What one step of the slow walk did.
enum SlowStep {
    /// Grabbed this many pages from the address on.
    Grabbed(u64),
    /// Nothing was mapped: the fault handler installed a leaf, and the step is taken again.
    FaultedIn,
    /// The walk stops here (`-EFAULT`, `-ENOMEM`).
    Stop(GupError),
}

/// The state `__get_user_pages` keeps across its steps: the VMA tree under `mmap_read_lock`,
/// the VMA of the last step and the pgmap reference of the last device-dax leaf.
struct SlowWalk<'t> {
    tree: &'t VmaTree,
    vma: Option<&'t Vma>,
    pgmap: PgmapRef,
}

impl<'t> SlowWalk<'t> {
    /// One step at `addr` (`follow_page_mask`, or `faultin_page` when nothing is mapped),
    /// grabbing at most `left` pages, under the leaf's page-table lock (`pmd_lock` in
    /// follow_devmap_pmd/follow_huge_pmd, `pte_offset_map_lock` in follow_page_pte).
    fn step(
        &mut self,
        cx: &mut GupCtx<'_>,
        mm: &Mm<'_>,
        addr: VirtAddr,
        left: usize,
        flags: GupFlags,
        pages: &mut Vec<PagePtr>,
    ) -> Result<SlowStep, GupError> {
        let k = mm.k;
        let g = k.machine.geometry();
        let write = flags.contains(GupFlags::WRITE);
        let vma = match self.vma_at(cx, addr, write) {
            Ok(vma) => vma,
            Err(e) => return Ok(SlowStep::Stop(e)),
        };
        cx.stats.walks += 1;
        let ptl = mm.page_table_lock();
        cx.stats.ptl_locks += 1;
        let Some(leaf) = mm.page_tables().lookup(addr) else {
            drop(ptl);
            return Ok(match mm.fault(&mut cx.memmap, self.tree, addr, write) {
                Ok(()) => SlowStep::FaultedIn,
                Err(e) => SlowStep::Stop(e.into()),
            });
        };
        let devmap = leaf.entry().has(Pte::DEVMAP);
        if devmap && !get_dev_pagemap(k, leaf.pfn(), &mut self.pgmap, &mut cx.stats) {
            return Ok(SlowStep::Stop(GupError::Fault(addr)));
        }
        let page_mask = slow_page_mask(k, vma, leaf);
        let increm = (1 + (!(addr.as_u64() >> g.page_shift) & page_mask)).min(left as u64);
        let page = PagePtr::from_pfn(g, leaf.pfn());
        let folio: Folio = page_folio(&mut cx.memmap, page)?;
        // Before 5.12 follow_hugetlb_page took one reference per subpage.
        let per_subpage = vma.ops.is_hugetlb() && !k.switches().hugetlb_slow_batched;
        if !slow_grab(cx, folio, increm, per_subpage, flags.kind())? {
            return Ok(SlowStep::Stop(GupError::Overflow(leaf.pfn())));
        }
        // follow_page_pte marks the page accessed under FOLL_TOUCH; a huge leaf is touched in
        // its entry (touch_pmd), which the model's entries do not carry.
        if flags.contains(GupFlags::TOUCH) && leaf.level() == Level::PTE {
            folio.mark_accessed(&mut cx.memmap, &mut cx.stats.refs)?;
        }
        drop(ptl);
        pages.extend((0..increm).map(|j| page.nth(g, j)));
        cx.stats.slow_pages += increm;
        Ok(SlowStep::Grabbed(increm))
    }

    /// The VMA holding `addr`, looked up again (`vma_lookup`) only once the walk passes the
    /// end of the last one; `-EFAULT` if there is none or it refuses the write.
    fn vma_at(
        &mut self,
        cx: &mut GupCtx<'_>,
        addr: VirtAddr,
        write: bool,
    ) -> Result<&'t Vma, GupError> {
        if let Some(v) = self.vma.filter(|v| addr < v.end) {
            return Ok(v);
        }
        cx.stats.vma_lookups += 1;
        let v = self.tree.find(addr).ok_or(GupError::Fault(addr))?;
        if write && !v.writable {
            return Err(GupError::Fault(addr));
        }
        Ok(*self.vma.insert(v))
    }
}

/// `follow_page_mask`'s `page_mask` on `leaf`: how many pages past the first one step takes.
/// follow_hugetlb_page walks once per huge page; a THP (a refcounted PMD leaf that is not
/// devmap) per the profile's page_mask (follow_huge_pmd, 6.5+; before, __get_user_pages reset
/// page_mask to 0 whenever it filled a page array); device-dax per the profile.
fn slow_page_mask(k: &Kernel, vma: &Vma, leaf: Leaf) -> u64 {
    let g = k.machine.geometry();
    let sw = k.switches();
    let span_pages = g.level_span(leaf.level()) >> g.page_shift;
    let thp = leaf.level() == Level::PMD && vma.ops.is_anonymous();
    if vma.ops.is_hugetlb() || (thp && sw.thp_slow_batched) {
        span_pages - 1
    } else if thp || leaf.level() == Level::PTE {
        0
    } else {
        match sw.slow_leaf {
            SlowLeaf::Batched => span_pages - 1,
            SlowLeaf::PudBatched if leaf.level() == Level::PUD => span_pages - 1,
            SlowLeaf::PudBatched | SlowLeaf::PerPage => 0,
        }
    }
}

/// `try_grab_folio` for one slow step's `increm` pages of `folio`: one batched grab, or one
/// per page when `per_subpage`. False on a refcount overflow, with the grabs of this step
/// undone.
fn slow_grab(
    cx: &mut GupCtx<'_>,
    folio: Folio,
    increm: u64,
    per_subpage: bool,
    kind: RefKind,
) -> Result<bool, Fault> {
    let grabs = if per_subpage { increm } else { 1 };
    let refs = u32::try_from(increm / grabs).expect("a leaf spans fewer than 2^32 pages");
    for done in 0..grabs {
        if !folio.try_grab(&mut cx.memmap, refs, kind, &mut cx.stats.refs)? {
            if done > 0 {
                folio.put(
                    &mut cx.memmap,
                    u32::try_from(done).expect("done < grabs ≤ pages of a leaf") * refs,
                    kind,
                    &mut cx.stats.refs,
                )?;
            }
            return Ok(false);
        }
    }
    Ok(true)
}

fn validate(flags: GupFlags, pin_call: bool) -> Result<GupFlags, GupError> {
    let both = flags.contains(GupFlags::GET) && flags.contains(GupFlags::PIN);
    // is_valid_gup_args: FOLL_GET and FOLL_PIN are exclusive, callers pass neither, and
    // FOLL_LONGTERM can only be specified when pinning.
    if both
        || (pin_call && flags.contains(GupFlags::GET))
        || (!pin_call && flags.contains(GupFlags::PIN))
        || (!pin_call && flags.contains(GupFlags::LONGTERM))
    {
        return Err(GupError::BadFlags);
    }
    Ok(flags
        | if pin_call {
            GupFlags::PIN
        } else {
            GupFlags::GET
        })
}

/// `gup_fast_fallback`: the fast path, then the slow path for the rest unless FAST_ONLY.
fn fast_fallback(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    check_args(mm.k, start, nr)?;
    if nr == 0 {
        return Ok(0);
    }
    let n = gup_fast(cx, mm, start, nr, flags, pages)?;
    if n == nr || flags.contains(GupFlags::FAST_ONLY) {
        return Ok(n);
    }
    let rest = VirtAddr::new(start.as_u64() + n as u64 * mm.k.machine.geometry().page_size());
    match gup_longterm_locked(cx, mm, rest, nr - n, flags | GupFlags::TOUCH, pages) {
        Ok(m) => Ok(n + m),
        Err(_) if n > 0 => Ok(n),
        Err(e) => Err(e),
    }
}

/// `__gup_longterm_locked`: the slow path, then for FOLL_LONGTERM the pass of
/// `check_and_migrate_movable_pages` over what it pinned: `page_folio` of every entry and
/// `folio_is_longterm_pinnable` of each new folio. Migration is not modelled: a folio that is
/// not pinnable stays pinned where it is (`vmemdiet gup-longterm` reports which kinds those are).
fn gup_longterm_locked(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    let before = pages.len();
    let n = gup_slow(cx, mm, start, nr, flags, pages)?;
    if flags.contains(GupFlags::LONGTERM) {
        let pinned = &pages[before..];
        let mut i = 0;
        while i < pinned.len() {
            let folio = page_folio(&mut cx.memmap, pinned[i])?;
            cx.stats.pinnable_checks += 1;
            folio.is_longterm_pinnable(&mut cx.memmap)?;
            i += 1 + cx.memmap.folio_run_len(&pinned[i + 1..], folio.head())?;
        }
    }
    Ok(n)
}

/// `get_user_pages_fast`: FOLL_GET references on `nr` pages from `start`, appended to `pages`.
/// Returns how many (possibly fewer than asked) or an error if none.
pub fn get_user_pages_fast(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    let flags = validate(flags, false)?;
    fast_fallback(cx, mm, start, nr, flags, pages)
}

/// `pin_user_pages_fast`: FOLL_PIN.
pub fn pin_user_pages_fast(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    let flags = validate(flags, true)?;
    fast_fallback(cx, mm, start, nr, flags, pages)
}

/// `get_user_pages`: the slow path only.
pub fn get_user_pages(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    slow_only(
        cx,
        mm,
        start,
        nr,
        validate(flags, false)? | GupFlags::TOUCH,
        pages,
    )
}

/// The slow path alone, after argument checks (`__gup_longterm_locked`).
fn slow_only(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    check_args(mm.k, start, nr)?;
    if nr == 0 {
        return Ok(0);
    }
    gup_longterm_locked(cx, mm, start, nr, flags, pages)
}

/// `pin_user_pages`: the slow path only (gup_test's PIN_LONGTERM_BENCHMARK with FOLL_LONGTERM).
pub fn pin_user_pages(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    start: VirtAddr,
    nr: usize,
    flags: GupFlags,
    pages: &mut Vec<PagePtr>,
) -> Result<usize, GupError> {
    slow_only(cx, mm, start, nr, validate(flags, true)?, pages)
}

fn unpin_runs(
    cx: &mut GupCtx<'_>,
    pages: &[PagePtr],
    strategy: Unpin,
    dirty: bool,
) -> Result<(), Fault> {
    let mut i = 0;
    while i < pages.len() {
        let folio = page_folio(&mut cx.memmap, pages[i])?;
        let mut j = i + 1;
        if strategy == Unpin::PerFolioRun {
            // gup_folio_next: extend the run while entries are in the same folio (a run is at
            // most what one refcount subtraction can drop: the array may repeat a page).
            let rest = &pages[j..pages.len().min(i + MAX_REFS_PER_PUT)];
            j += cx.memmap.folio_run_len(rest, folio.head())?;
        }
        if dirty {
            folio.mark_dirty(&mut cx.memmap, &mut cx.stats.refs)?;
        }
        let n = u32::try_from(j - i).expect("runs are capped at MAX_REFS_PER_PUT");
        folio.put(&mut cx.memmap, n, RefKind::Pin, &mut cx.stats.refs)?;
        i = j;
    }
    Ok(())
}

/// The most references one `gup_put_folio` drops: what an `i32` refcount can hold.
#[allow(clippy::cast_sign_loss)]
const MAX_REFS_PER_PUT: usize = i32::MAX as usize;

/// `unpin_user_pages`: per page (≤ 5.11) or one atomic per run of the same folio.
pub fn unpin_user_pages(cx: &mut GupCtx<'_>, k: &Kernel, pages: &[PagePtr]) -> Result<(), Fault> {
    unpin_runs(cx, pages, k.switches().unpin, false)
}

/// `unpin_user_pages_dirty_lock`: as [`unpin_user_pages`], marking each folio dirty once per run.
pub fn unpin_user_pages_dirty_lock(
    cx: &mut GupCtx<'_>,
    k: &Kernel,
    pages: &[PagePtr],
    make_dirty: bool,
) -> Result<(), Fault> {
    unpin_runs(cx, pages, k.switches().unpin, make_dirty)
}

/// `unpin_user_page_range_dirty_lock`: `n` physically contiguous pages from `first`, one atomic
/// per folio they span (`gup_folio_range_next`: pure arithmetic, no array).
pub fn unpin_user_page_range_dirty_lock(
    cx: &mut GupCtx<'_>,
    first: PagePtr,
    n: u64,
    make_dirty: bool,
) -> Result<(), Fault> {
    let g = cx.memmap.geometry();
    let mut i = 0;
    while i < n {
        let page = first.nth(g, i);
        let folio = page_folio(&mut cx.memmap, page)?;
        let ntails = if folio.is_large(&mut cx.memmap)? {
            let index = page.pfn(g).distance_from(folio.head().pfn(g));
            (n - i).min(folio.nr_pages(&mut cx.memmap)? - index)
        } else {
            1
        };
        if make_dirty {
            folio.mark_dirty(&mut cx.memmap, &mut cx.stats.refs)?;
        }
        let ntails32 = u32::try_from(ntails).expect("a folio has fewer than 2^32 pages");
        folio.put(&mut cx.memmap, ntails32, RefKind::Pin, &mut cx.stats.refs)?;
        i += ntails;
    }
    Ok(())
}

/// `put_page` for each FOLL_GET reference.
pub fn put_pages(cx: &mut GupCtx<'_>, pages: &[PagePtr]) -> Result<(), Fault> {
    for &p in pages {
        let f = page_folio(&mut cx.memmap, p)?;
        f.put(&mut cx.memmap, 1, RefKind::Get, &mut cx.stats.refs)?;
    }
    Ok(())
}
