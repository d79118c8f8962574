//! Anonymous memory: what gup_test maps by default, `/dev/zero` with `MAP_PRIVATE`
//! (`mmap_zero` makes it anonymous, `vma_set_anonymous`). Base pages are faulted by
//! `do_anonymous_page` (`mm/memory.c`); where THP is allowed (`thp_vma_allowable_order`,
//! `/sys/kernel/mm/transparent_hugepage/enabled` and `MADV_HUGEPAGE`/`MADV_NOHUGEPAGE`) and a
//! whole aligned PMD fits in the mapping, `do_huge_pmd_anonymous_page` (`mm/huge_memory.c`)
//! maps a PMD-sized folio, falling back to base pages when none can be allocated
//! (`VM_FAULT_FALLBACK`). `MAP_SHARED` of `/dev/zero` is shmem (`shmem_zero_setup`): order-0
//! page-cache folios here (`shmem_enabled` is `never` by default).
//!
//! The folios come from System RAM, whose memmap exists from boot: their struct pages are
//! initialised by the fault (`prep_new_page`, `prep_compound_page`), nothing is populated.
//!
//! Simplifications (documented in docs/DESIGN.md): a read fault allocates as a write fault does
//! (no shared zero page: gup_test writes every page before it starts the clock, so its runs
//! never see one); `MADV_HUGEPAGE` is given with the mmap (gup_test advises the whole mapping
//! before the first touch); mappings of at least a PMD start PMD-aligned, as
//! `thp_get_unmapped_area` places anonymous mappings since 6.7.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use crate::addr::{ByteSize, Order, Pfn, VirtAddr};
use crate::arch::Level;
use crate::machine::frame_store::FrameKind;
use crate::machine::Fault;
use crate::mm::page::{page_folio, Memmap, PagePtr, PAGE_MAPPING_ANON, PG_HEAD, ZONE_NORMAL};
use crate::mm::vm::{Mm, VmError, VmOperations, Vma};
use crate::mm::Kernel;

/// `/sys/kernel/mm/transparent_hugepage/enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThpEnabled {
    /// `always`: every anonymous mapping not advised `MADV_NOHUGEPAGE`.
    Always,
    /// `madvise`: only mappings advised `MADV_HUGEPAGE` (the model's default, as most
    /// distributions ship it).
    #[default]
    Madvise,
    /// `never`.
    Never,
}

/// What the mapping was advised (`madvise(2)`), gup_test's `-t`/`-T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThpAdvice {
    /// No advice (gup_test without `-t` or `-T`).
    #[default]
    None,
    /// `MADV_HUGEPAGE` (`VM_HUGEPAGE`).
    Huge,
    /// `MADV_NOHUGEPAGE` (`VM_NOHUGEPAGE`).
    NoHuge,
}

/// `thp_vma_allowable_order` for an anonymous VMA at the PMD order: the sysfs mode and the
/// VMA's advice.
#[must_use]
pub fn thp_allowed(enabled: ThpEnabled, advice: ThpAdvice) -> bool {
    match (enabled, advice) {
        (_, ThpAdvice::NoHuge) | (ThpEnabled::Never, _) => false,
        (ThpEnabled::Always, _) | (ThpEnabled::Madvise, ThpAdvice::Huge) => true,
        (ThpEnabled::Madvise, ThpAdvice::None) => false,
    }
}

/// Base of the simulated kernel addresses that stand for shmem `address_space`s: the model
/// tells a shmem folio by its mapping's address, as the kernel tells it by
/// `mapping->a_ops == &shmem_aops` (`shmem_mapping`).
const SHMEM_MAPPING_BASE: u64 = 0xffff_8881_0000_0000;
/// Base of the simulated `anon_vma` addresses.
const ANON_VMA_BASE: u64 = 0xffff_8882_0000_0000;

/// `shmem_mapping`: true if `mapping` (a folio's `mapping` word) is a shmem file's.
#[must_use]
pub fn shmem_mapping(mapping: u64) -> bool {
    mapping & PAGE_MAPPING_ANON == 0 && (SHMEM_MAPPING_BASE..ANON_VMA_BASE).contains(&mapping)
}

/// The owner of an anonymous (or `/dev/zero` shared, shmem) mapping: the folios its faults
/// allocated.
#[derive(Debug)]
pub struct AnonMapping {
    /// `MAP_SHARED` of `/dev/zero`: a shmem file, whose page cache keeps a reference.
    shared: bool,
    /// THP allowed for this VMA.
    thp: bool,
    /// The `folio->mapping` word of every folio: `anon_vma | PAGE_MAPPING_ANON`, or the shmem
    /// file's `address_space`.
    mapping: u64,
    /// (head pfn, order) of every folio faulted in.
    folios: Mutex<Vec<(Pfn, u32)>>,
}

impl AnonMapping {
    /// True if faults here may map PMD-sized THPs.
    #[must_use]
    pub fn thp(&self) -> bool {
        self.thp
    }
}

/// Initialises the struct pages of a new folio of `order` at `pfn` in the RAM memmap
/// (`prep_new_page` -> `set_page_refcounted`, and `prep_compound_page` for a THP): refcount 1,
/// unmapped, tails pointing at the head, folio fields in `page[1]`, `mapping` set.
#[doc(alias = "prep_new_page")]
fn prep_new_folio(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    pfn: Pfn,
    order: Order,
    mapping: u64,
) -> Result<(), Fault> {
    let g = k.machine.geometry();
    let h = PagePtr::from_pfn(g, pfn);
    memmap.page_mut(h)?.init_single(ZONE_NORMAL);
    if order.get() > 0 {
        let info = k.switches().tail_encoding.encode(g, h, order);
        memmap.page_mut(h)?.set_flags(PG_HEAD);
        for i in 1..order.nr_pages() {
            let t = memmap.page_mut(h.nth(g, i))?;
            t.init_single(ZONE_NORMAL);
            t.prep_compound_tail(g, info);
            if i == 1 {
                t.prep_compound_head(order);
            }
        }
    }
    page_folio(memmap, h)?.set_mapping(memmap, mapping)
}

/// Frees a folio whose last reference is gone (`free_unref_folios` -> the buddy allocator):
/// its struct pages are cleared for the next user.
fn free_folio(k: &Kernel, memmap: &mut Memmap<'_>, pfn: Pfn, order: u32) -> Result<(), VmError> {
    let g = k.machine.geometry();
    let h = PagePtr::from_pfn(g, pfn);
    for i in 0..Order::new(order).nr_pages() {
        memmap.page_mut(h.nth(g, i))?.zero();
    }
    k.machine.frames().free(pfn, order, FrameKind::Data)?;
    Ok(())
}

/// Frees the anonymous and shmem folios whose mappings went away while GUP held them, once
/// their last reference is gone (the kernel does it in the final `folio_put`/unpin). Returns
/// how many are still held.
pub fn reap_anon(k: &Kernel) -> Result<usize, VmError> {
    let mut memmap = Memmap::new(&k.machine);
    let mut list = k
        .anon_deferred
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let g = k.machine.geometry();
    let mut keep = Vec::new();
    for (pfn, order) in list.drain(..) {
        if memmap.page(PagePtr::from_pfn(g, pfn))?.ref_count() == 0 {
            free_folio(k, &mut memmap, pfn, order)?;
        } else {
            keep.push((pfn, order));
        }
    }
    *list = keep;
    Ok(list.len())
}

impl VmOperations for AnonMapping {
    /// `do_anonymous_page` (a base page) or `do_huge_pmd_anonymous_page` (a PMD-sized THP,
    /// `VM_FAULT_FALLBACK` when no such block is free); `shmem_fault` for shared `/dev/zero`.
    fn fault(
        &self,
        k: &Kernel,
        memmap: &mut Memmap<'_>,
        _offset: u64,
        size: ByteSize,
        addr: VirtAddr,
    ) -> Result<Pfn, VmError> {
        let g = k.machine.geometry();
        let order = (size.bytes() / g.page_size()).trailing_zeros();
        let Ok(pfn) = k.machine.frames().alloc(order, FrameKind::Data) else {
            return Err(if order > 0 {
                VmError::Fallback(addr)
            } else {
                VmError::NoAnonPage(addr)
            });
        };
        if let Err(e) = prep_new_folio(k, memmap, pfn, Order::new(order), self.mapping) {
            k.machine.frames().free(pfn, order, FrameKind::Data)?;
            return Err(e.into());
        }
        self.folios
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((pfn, order));
        Ok(pfn)
    }

    /// A PMD where THP is allowed and the whole aligned PMD lies in the mapping; else a page.
    fn leaf_size(&self, k: &Kernel, vma: &Vma, addr: VirtAddr) -> ByteSize {
        let g = k.machine.geometry();
        let pmd = g.level_span(Level::PMD);
        let start = addr.align_down(pmd);
        if self.thp
            && k.machine.geometry().buddy_max_order >= g.pmd_order()
            && start >= vma.start
            && start.checked_offset(pmd).is_some_and(|e| e <= vma.end)
        {
            ByteSize::new(pmd)
        } else {
            ByteSize::new(g.page_size())
        }
    }

    fn refcounted(&self, _k: &Kernel) -> bool {
        true
    }

    /// A new anonymous folio's reference is the page table's; a shmem folio's first is the
    /// page cache's, and the mapping takes one more.
    fn fault_gives_mapping_ref(&self) -> bool {
        !self.shared
    }

    fn mixed_leaves(&self) -> bool {
        true
    }

    fn is_anonymous(&self) -> bool {
        !self.shared
    }

    /// The mapping is gone (its leaves were zapped): shmem drops the page cache's references;
    /// folios nobody holds go back to the buddy allocator, pinned ones when they are released.
    fn close(&self, k: &Kernel, memmap: &mut Memmap<'_>) -> Result<(), VmError> {
        let g = k.machine.geometry();
        let folios =
            std::mem::take(&mut *self.folios.lock().unwrap_or_else(PoisonError::into_inner));
        let mut held = Vec::new();
        for (pfn, order) in folios {
            let folio = page_folio(memmap, PagePtr::from_pfn(g, pfn))?;
            let left = if self.shared {
                folio.ref_sub(memmap, 1)?
            } else {
                folio.ref_count(memmap)?
            };
            if left == 0 {
                free_folio(k, memmap, pfn, order)?;
            } else {
                held.push((pfn, order));
            }
        }
        k.anon_deferred
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(held);
        Ok(())
    }
}

impl Mm<'_> {
    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_SHARED, "/dev/zero", 0)`
    /// followed by `madvise(advice)`: private anonymous memory (THPs where `enabled` and
    /// `advice` allow), or with `shared` a shmem mapping of order-0 folios.
    pub fn mmap_anon(
        &self,
        len: u64,
        shared: bool,
        enabled: ThpEnabled,
        advice: ThpAdvice,
    ) -> Result<VirtAddr, VmError> {
        let g = self.k.machine.geometry();
        if len == 0 {
            return Err(VmError::ZeroLength);
        }
        let len = ByteSize::new(len)
            .checked_align_up(ByteSize::new(g.page_size()))
            .ok_or(VmError::NoAddressSpace { len })?
            .bytes();
        reap_anon(self.k)?;
        let pmd = g.level_span(Level::PMD);
        // thp_get_unmapped_area (6.7+): anonymous mappings of a PMD or more start on a PMD.
        let align = if len >= pmd { pmd } else { g.page_size() };
        let id = self.k.next_pgmap_id.fetch_add(1, Ordering::Relaxed);
        let mapping = if shared {
            SHMEM_MAPPING_BASE + (id << 12)
        } else {
            (ANON_VMA_BASE + (id << 12)) | PAGE_MAPPING_ANON
        };
        let ops = AnonMapping {
            shared,
            thp: !shared && thp_allowed(enabled, advice),
            mapping,
            folios: Mutex::new(Vec::new()),
        };
        self.mmap(len, ByteSize::new(align), true, Arc::new(ops))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thp_follows_the_sysfs_mode_and_the_advice() {
        use ThpAdvice::{Huge, NoHuge, None as NoAdvice};
        use ThpEnabled::{Always, Madvise, Never};
        assert!(thp_allowed(Always, NoAdvice) && thp_allowed(Always, Huge));
        assert!(!thp_allowed(Always, NoHuge));
        assert!(thp_allowed(Madvise, Huge) && !thp_allowed(Madvise, NoAdvice));
        assert!(!thp_allowed(Never, Huge) && !thp_allowed(Madvise, NoHuge));
    }

    #[test]
    fn shmem_and_anon_mappings_are_told_apart() {
        assert!(shmem_mapping(SHMEM_MAPPING_BASE + 4096));
        assert!(!shmem_mapping(ANON_VMA_BASE | PAGE_MAPPING_ANON));
        assert!(!shmem_mapping(0));
    }
}
