//! HugeTLB pools and the HugeTLB Vmemmap Optimization (`mm/hugetlb.c`, `mm/hugetlb_vmemmap.c`;
//! kernel brief §1.4, §3.2, §7, §9.1–9.2).
//!
//! Huge pages come from System RAM, whose memmap exists from boot (PMD-mapped on x86). HVO
//! splits that mapping on demand into PTEs, keeps one vmemmap page per huge page and remaps the
//! rest onto it read-only (or onto one shared tail frame in `next`), freeing the originals; it
//! must allocate them again before the huge page can go back to the buddy allocator, which can
//! fail under memory pressure (the page then stays in the pool).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use crate::addr::{ByteSize, Order, Pfn, VirtAddr};
use crate::arch::Level;
use crate::machine::frame_store::{Frame, FrameError, FrameKind};
use crate::machine::page_table::Pte;
use crate::machine::Fault;
use crate::mm::hstate::Hstate;
pub use crate::mm::hstate::{HugeSize, Hugetlb, HugetlbStats};
use crate::mm::page::{page_folio, Memmap, PagePtr, PG_HEAD, PG_HUGETLB, ZONE_NORMAL};
use crate::mm::profile::Hvo;
use crate::mm::sparse_vmemmap::{put_vmemmap_frame, shared_tail, VmemmapError};
use crate::mm::vm::{Mm, VmError, VmOperations};
use crate::mm::Kernel;

/// Errors of the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HugetlbError {
    #[error("restoring the vmemmap of the huge page at {pfn} needs {need} free pages and the allocation failed; it stays in the pool (pool now {nr} pages). Free memory and retry")]
    RestoreFailed { pfn: Pfn, need: u64, nr: u64 },
    #[error("struct page access: {0}")]
    Memmap(#[from] Fault),
}

fn copy_frame(dst: &Frame, src: &Frame) {
    for (d, s) in dst.iter().zip(src) {
        d.store(s.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// The vmemmap range `[start, end)` of the huge page at `head`.
fn vmemmap_range(k: &Kernel, head: Pfn, order: Order) -> (VirtAddr, VirtAddr) {
    let g = k.machine.geometry();
    let start = g.pfn_to_page_va(head);
    (start, start.offset(order.nr_pages() * g.struct_page_size))
}

/// `vmemmap_split_pmd`: replaces the PMD leaf mapping `addr`'s 2 MiB of vmemmap with a PTE
/// table mapping the same frames. A no-op if already split.
fn split_pmd(k: &Kernel, addr: VirtAddr) -> Result<(), VmemmapError> {
    let m = &k.machine;
    let g = m.geometry();
    let (slot, _) = m.kernel_pt().ensure(addr, Level::PMD)?;
    let e = Pte::from_raw(slot.load(Ordering::Acquire));
    if !e.present() || !e.huge() {
        return Ok(());
    }
    let table = m.kernel_pt().alloc_table(Level::PTE)?;
    m.frames().split(e.pfn(), g.pmd_order())?;
    let entries = m.kernel_pt().table_entries(table, Level::PTE);
    for (i, pte) in entries.iter().enumerate() {
        pte.store(
            Pte::new(e.pfn().add(i as u64), Pte::PRESENT | Pte::RW).raw(),
            Ordering::Relaxed,
        );
    }
    // Release: the filled table is visible before the PMD points at it.
    slot.store(
        Pte::new(table, Pte::PRESENT | Pte::RW).raw(),
        Ordering::Release,
    );
    m.flush_tlb_kernel();
    k.hugetlb.stats.split_pmds.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// `hugetlb_vmemmap_optimize_folio`: per the profile, keep one vmemmap page (a fresh copy of the
/// head page) and map the others onto it read-only, or onto the shared tail frame of the order.
fn vmemmap_optimize(k: &Kernel, head: Pfn, order: Order, mode: Hvo) -> Result<(), VmemmapError> {
    if mode == Hvo::Off {
        return Ok(());
    }
    let m = &k.machine;
    let g = m.geometry();
    let p = g.page_size();
    let (start, end) = vmemmap_range(k, head, order);
    let mut addr = start;
    while addr < end {
        split_pmd(k, addr)?;
        addr = addr
            .align_down(g.pmd_size().bytes())
            .offset(g.pmd_size().bytes());
    }
    let h = m.frames().alloc(0, FrameKind::Memmap)?;
    let first = m.kernel_pt().lookup(start).expect("mapped at boot").pfn();
    copy_frame(
        m.frames().frame(h).expect("backed"),
        m.frames().frame(first).expect("backed"),
    );
    let tail = match mode {
        Hvo::SharedTail => match shared_tail(k, ZONE_NORMAL, order, false) {
            Ok(st) => st.frame,
            Err(e) => {
                m.frames().free(h, 0, FrameKind::Memmap)?;
                return Err(e);
            }
        },
        Hvo::KeepOne | Hvo::Off => h,
    };
    let mut old = Vec::new();
    let mut addr = start;
    while addr < end {
        let run = m
            .kernel_pt()
            .entry_run(addr, Level::PTE)
            .expect("split above");
        for slot in run {
            if addr >= end {
                break;
            }
            let (target, flags) = if addr == start {
                (h, Pte::PRESENT | Pte::RW)
            } else {
                m.frames().get(tail);
                (tail, Pte::PRESENT)
            };
            let prev = Pte::from_raw(slot.swap(Pte::new(target, flags).raw(), Ordering::AcqRel));
            old.push(prev.pfn());
            addr = addr.offset(p);
        }
    }
    if mode == Hvo::KeepOne {
        // The page's own allocation reference was counted by `get` for every PTE but the first.
        m.enable_fake_heads();
    }
    m.flush_tlb_kernel();
    // vmemmap_remap_free: the new head page is memmap_pages_add(1); a newly created shared
    // tail page is not counted (booted 7.1.13 and 7.2.13: one 1G page adds 1, 128 2M pages
    // add 128); every page given back is counted where it came from.
    k.stats.nr_memmap_pages.fetch_add(1, Ordering::Relaxed);
    for f in old {
        if m.frames().put(f) == 0 {
            free_vmemmap_page(k, f)?;
        }
    }
    k.hugetlb.stats.optimized.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// `free_vmemmap_page`: gives a vmemmap frame back, counting it off `nr_memmap_boot_pages`
/// when it was boot memory (`PageReserved`), else off `nr_memmap_pages`.
fn free_vmemmap_page(k: &Kernel, f: Pfn) -> Result<(), FrameError> {
    let counter = if k.machine.frames().is_boot(f) {
        &k.stats.nr_memmap_boot_pages
    } else {
        &k.stats.nr_memmap_pages
    };
    counter.fetch_sub(1, Ordering::Relaxed);
    k.machine.frames().free(f, 0, FrameKind::Memmap)
}

/// `hugetlb_vmemmap_restore_folio`: gives the huge page back its own vmemmap pages (V − 1 fresh
/// frames, each a copy of the tails), all or nothing.
fn vmemmap_restore(k: &Kernel, head: Pfn, order: Order) -> Result<(), FrameError> {
    let m = &k.machine;
    let g = m.geometry();
    let p = g.page_size();
    let (start, end) = vmemmap_range(k, head, order);
    let v = end.distance_from(start) / p;
    let mut fresh = Vec::new();
    // alloc_vmemmap_page_list: memmap_pages_add(nr) once all are there.
    for _ in 1..v {
        match m.frames().alloc(0, FrameKind::Memmap) {
            Ok(f) => fresh.push(f),
            Err(e) => {
                for f in fresh {
                    m.frames().free(f, 0, FrameKind::Memmap)?;
                }
                return Err(e);
            }
        }
    }
    k.stats
        .nr_memmap_pages
        .fetch_add(fresh.len() as u64, Ordering::Relaxed);
    // The template: what page 1 maps now, with the first three struct pages reset to a copy of
    // the fourth (`reset_struct_pages`: a kept head page holds the head and folio fields there).
    let src = m.kernel_pt().lookup(start.offset(p)).expect("mapped").pfn();
    let per = usize::try_from(g.struct_page_size / 8).unwrap_or(8);
    let mut fresh = fresh.into_iter();
    let mut addr = start.offset(p);
    while addr < end {
        let run = m.kernel_pt().entry_run(addr, Level::PTE).expect("split");
        for slot in run {
            if addr >= end {
                break;
            }
            let f = fresh.next().expect("one per page");
            let body = m.frames().frame(f).expect("backed");
            copy_frame(body, m.frames().frame(src).expect("backed"));
            for sp in 0..3 {
                for w in 0..per {
                    body[sp * per + w]
                        .store(body[3 * per + w].load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
            let prev = Pte::from_raw(
                slot.swap(Pte::new(f, Pte::PRESENT | Pte::RW).raw(), Ordering::AcqRel),
            );
            // What pages 1.. mapped is the kept head copy (still page 0's) or the shared tail,
            // which was never counted: nothing here leaves nr_memmap_pages (booted 7.1.13:
            // releasing 128 optimized 2M pages adds 128 x 7 and takes nothing off).
            put_vmemmap_frame(k, prev.pfn(), None);
            addr = addr.offset(p);
        }
    }
    m.flush_tlb_kernel();
    k.hugetlb.stats.optimized.fetch_sub(1, Ordering::Relaxed);
    Ok(())
}

/// `prep_compound_page` for a new huge page: every struct page initialised (ZONE_NORMAL), the
/// head marked, tails pointing at it, folio fields in page[1]; free huge pages have refcount 0.
fn prep_compound(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    head: Pfn,
    order: Order,
) -> Result<(), Fault> {
    let g = k.machine.geometry();
    let h = PagePtr::from_pfn(g, head);
    let info = k.switches().tail_encoding.encode(g, h, order);
    let hp = memmap.page_mut(h)?;
    hp.init_single(ZONE_NORMAL);
    hp.set_flags(PG_HEAD | PG_HUGETLB);
    for i in 1..order.nr_pages() {
        let t = memmap.page_mut(h.nth(g, i))?;
        t.init_single(ZONE_NORMAL);
        t.prep_compound_tail(g, info);
        if i == 1 {
            t.prep_compound_head(order);
        }
    }
    // A pool page is free: nobody holds a reference until it is allocated.
    page_folio(memmap, h)?.set_ref_count(memmap, 0)?;
    k.stats
        .struct_pages_initialized
        .fetch_add(order.nr_pages(), Ordering::Relaxed);
    Ok(())
}

/// Allocates, prepares and (per profile) optimizes one huge page for the pool.
fn alloc_pool_page(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    size: HugeSize,
) -> Result<Option<Pfn>, HugetlbError> {
    let order = size.order(k.machine.geometry());
    let Ok(pfn) = k.machine.frames().alloc_top(order.get(), FrameKind::Data) else {
        return Ok(None);
    };
    prep_compound(k, memmap, pfn, order)?;
    let mode = k.switches().hvo;
    if mode != Hvo::Off {
        // Like the kernel, a page whose vmemmap cannot be optimized is used unoptimized.
        let _ = vmemmap_optimize(k, pfn, order, mode);
    }
    Ok(Some(pfn))
}

/// True if the huge page at `head` has an optimized vmemmap.
fn is_optimized(k: &Kernel, head: Pfn) -> bool {
    let m = &k.machine;
    let g = m.geometry();
    let va = g.pfn_to_page_va(head).offset(g.page_size());
    m.kernel_pt()
        .lookup(va)
        .is_some_and(|l| !l.entry().writable())
}

/// Gives a free huge page back to the buddy allocator: restore its vmemmap (may fail), destroy
/// the compound page, free the frames.
fn free_pool_page(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    pfn: Pfn,
    size: HugeSize,
) -> Result<(), FrameError> {
    let order = size.order(k.machine.geometry());
    if is_optimized(k, pfn) {
        vmemmap_restore(k, pfn, order)?;
    }
    let g = k.machine.geometry();
    let h = PagePtr::from_pfn(g, pfn);
    for i in 0..order.nr_pages() {
        if let Ok(p) = memmap.page_mut(h.nth(g, i)) {
            p.zero();
        }
    }
    k.machine.frames().free(pfn, order.get(), FrameKind::Data)
}

/// Moves deferred pages whose last reference is gone back to the free list.
fn reap(k: &Kernel, memmap: &mut Memmap<'_>, hs: &mut Hstate) -> Result<(), Fault> {
    let g = k.machine.geometry();
    let mut keep = Vec::new();
    for pfn in hs.deferred.drain(..) {
        if memmap.page(PagePtr::from_pfn(g, pfn))?.ref_count() == 0 {
            hs.free.push(pfn);
        } else {
            keep.push(pfn);
        }
    }
    hs.deferred = keep;
    Ok(())
}

/// `echo N > nr_hugepages`: grows the pool (stopping quietly when RAM runs out, as the kernel
/// does) or shrinks it by freeing free huge pages. Returns the pool size reached. Shrinking
/// fails if a page's vmemmap cannot be restored; that page stays in the pool.
pub fn set_nr_hugepages(k: &Kernel, size: HugeSize, target: u64) -> Result<u64, HugetlbError> {
    let mut memmap = Memmap::new(&k.machine);
    let mut pools = k
        .hugetlb
        .pools
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let hs = pools.entry(size).or_default();
    reap(k, &mut memmap, hs)?;
    while hs.nr < target {
        let Some(pfn) = alloc_pool_page(k, &mut memmap, size)? else {
            break;
        };
        hs.free.push(pfn);
        hs.nr += 1;
    }
    while hs.nr > target {
        let Some(pfn) = hs.free.pop() else { break };
        if free_pool_page(k, &mut memmap, pfn, size).is_err() {
            hs.free.push(pfn);
            let need = k
                .machine
                .geometry()
                .vmemmap_pages_for(size.order(k.machine.geometry()).nr_pages())
                - 1;
            return Err(HugetlbError::RestoreFailed {
                pfn,
                need,
                nr: hs.nr,
            });
        }
        hs.nr -= 1;
    }
    Ok(hs.nr)
}

/// Takes a free huge page for a mapping (`alloc_hugetlb_folio`): its refcount becomes 1.
pub fn alloc_huge_folio(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    size: HugeSize,
) -> Result<Option<Pfn>, Fault> {
    let mut pools = k
        .hugetlb
        .pools
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let hs = pools.entry(size).or_default();
    reap(k, memmap, hs)?;
    let Some(pfn) = hs.free.pop() else {
        return Ok(None);
    };
    page_folio(memmap, PagePtr::from_pfn(k.machine.geometry(), pfn))?.set_ref_count(memmap, 1)?;
    Ok(Some(pfn))
}

/// The hugetlbfs file behind a `MAP_HUGETLB` shared mapping: its pages, allocated from the pool
/// on first fault, one per huge page of the mapping (`hugetlb_vm_ops`).
#[derive(Debug)]
pub struct HugetlbFile {
    size: HugeSize,
    pages: Mutex<Vec<Option<Pfn>>>,
}

impl HugetlbFile {
    /// An empty file of `slots` huge pages of `size`.
    #[must_use]
    pub fn new(size: HugeSize, slots: usize) -> HugetlbFile {
        HugetlbFile {
            size,
            pages: Mutex::new(vec![None; slots]),
        }
    }
}

impl VmOperations for HugetlbFile {
    /// `hugetlb_fault` -> `hugetlb_no_page`: the file's page at `offset`, taken from the pool
    /// on first touch and held by the file from then on.
    fn fault(
        &self,
        k: &Kernel,
        memmap: &mut Memmap<'_>,
        offset: u64,
        _size: ByteSize,
        addr: VirtAddr,
    ) -> Result<Pfn, VmError> {
        let g = k.machine.geometry();
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = usize::try_from(offset / self.size.bytes(g).bytes())
            .ok()
            .and_then(|idx| pages.get_mut(idx))
            .ok_or(VmError::NoVma(addr))?;
        if let Some(p) = *slot {
            return Ok(p);
        }
        let p = alloc_huge_folio(k, memmap, self.size)?.ok_or(VmError::NoHugePages(addr))?;
        *slot = Some(p);
        Ok(p)
    }

    fn refcounted(&self, _k: &Kernel) -> bool {
        true
    }

    /// The file goes with its last mapping: its pages go back to the pool (or wait there for
    /// outstanding pins).
    fn close(&self, k: &Kernel, memmap: &mut Memmap<'_>) -> Result<(), VmError> {
        let pages = std::mem::take(&mut *self.pages.lock().unwrap_or_else(PoisonError::into_inner));
        for p in pages.into_iter().flatten() {
            release_huge_folio(k, memmap, self.size, p)?;
        }
        Ok(())
    }

    fn is_hugetlb(&self) -> bool {
        true
    }
}

impl Mm<'_> {
    /// `mmap(NULL, len, ..., MAP_SHARED | MAP_HUGETLB | MAP_HUGE_2MB/1GB, -1, 0)`: a mapping of
    /// `len` (a multiple of the huge page size) whose pages come from the HugeTLB pool on fault.
    pub fn mmap_hugetlb(
        &self,
        size: HugeSize,
        len: u64,
        writable: bool,
    ) -> Result<VirtAddr, VmError> {
        let align = size.bytes(self.k.machine.geometry());
        if len == 0 {
            return Err(VmError::ZeroLength);
        }
        if !len.is_multiple_of(align.bytes()) {
            return Err(VmError::Misaligned {
                what: "length",
                value: len,
                align,
            });
        }
        let slots =
            usize::try_from(len / align.bytes()).map_err(|_| VmError::NoAddressSpace { len })?;
        let file = HugetlbFile::new(size, slots);
        self.mmap(len, align, writable, Arc::new(file))
    }
}

/// Drops the page-cache reference of a huge page when its file goes away: back to the free list
/// at refcount 0, or deferred until pins on it are released (`free_huge_folio`).
pub fn release_huge_folio(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    size: HugeSize,
    pfn: Pfn,
) -> Result<(), Fault> {
    let folio = page_folio(memmap, PagePtr::from_pfn(k.machine.geometry(), pfn))?;
    let left = folio.ref_sub(memmap, 1)?;
    let mut pools = k
        .hugetlb
        .pools
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let hs = pools.entry(size).or_default();
    if left == 0 {
        hs.free.push(pfn);
    } else {
        hs.deferred.push(pfn);
    }
    Ok(())
}
