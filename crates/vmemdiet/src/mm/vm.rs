//! User address spaces (`struct mm_struct`, VMAs, user page tables), `mmap`/`munmap` of a
//! device-dax device, and the device-dax fault handler (`drivers/dax/device.c`
//! `dev_dax_huge_fault`; kernel brief §2.4).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use crate::addr::{ByteSize, Pfn, VirtAddr};
use crate::arch::{Geometry, Level};
use crate::machine::frame_store::FrameError;
use crate::machine::page_table::{PageTable, PageTables, PtError, Pte};
use crate::machine::Fault;
use crate::mm::folio::{page_folio, RefStats};
use crate::mm::gate::FastGate;
use crate::mm::page::{Memmap, PagePtr};
use crate::mm::Kernel;

/// Errors of mmap, munmap and faults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    #[error("length must be greater than zero (EINVAL)")]
    ZeroLength,
    #[error("{what} {value:#x} is not aligned to the device align {align} (EINVAL)")]
    Misaligned {
        what: &'static str,
        value: u64,
        align: ByteSize,
    },
    #[error("offset {offset:#x} + length {len:#x} exceeds the device's {size} (ENXIO)")]
    BeyondDevice {
        offset: u64,
        len: u64,
        size: ByteSize,
    },
    #[error("no mapping at {0} (EFAULT)")]
    NoVma(VirtAddr),
    #[error(
        "munmap of {start} .. +{len:#x} does not cover whole mappings; unmap each mapping whole"
    )]
    PartialUnmap { start: VirtAddr, len: u64 },
    #[error("write to read-only mapping at {0} (EFAULT)")]
    ReadOnly(VirtAddr),
    #[error("out of memory for page tables: {0}")]
    NoMemory(#[from] FrameError),
    #[error("page table: {0}")]
    PageTable(PtError),
    #[error("struct page access: {0}")]
    Memmap(#[from] Fault),
    #[error(
        "no room for a mapping of {len:#x} bytes below the top of the user address space (ENOMEM)"
    )]
    NoAddressSpace { len: u64 },
    #[error("no free huge page for {0}: the pool is exhausted (SIGBUS); grow nr_hugepages")]
    NoHugePages(VirtAddr),
    /// `VM_FAULT_OOM`: no free page for an anonymous fault at this address.
    #[error("out of memory for an anonymous page at {0} (VM_FAULT_OOM)")]
    NoAnonPage(VirtAddr),
    /// `VM_FAULT_FALLBACK`: a huge fault could not be served at the huge size; the caller
    /// retries with a base page (never returned to users).
    #[error("huge fault at {0} falls back to a base page (VM_FAULT_FALLBACK)")]
    Fallback(VirtAddr),
}

impl From<PtError> for VmError {
    fn from(e: PtError) -> Self {
        match e {
            PtError::Frame(f) => VmError::NoMemory(f),
            e => VmError::PageTable(e),
        }
    }
}

/// `struct vm_operations_struct`: what the owner of a mapping (a driver, or hugetlbfs) does
/// on fault and close. `mm` calls through it and never names the driver.
pub trait VmOperations: std::fmt::Debug + Send + Sync {
    /// `huge_fault` / `fault`: the first frame of the leaf of `size` bytes that maps `offset`
    /// bytes into the mapping (`offset` is aligned to `size`). `addr` is the faulting address,
    /// for errors. A huge fault may answer [`VmError::Fallback`] (`VM_FAULT_FALLBACK`): the
    /// caller then faults a base page.
    fn fault(
        &self,
        k: &Kernel,
        memmap: &mut Memmap<'_>,
        offset: u64,
        size: ByteSize,
        addr: VirtAddr,
    ) -> Result<Pfn, VmError>;

    /// The leaf size a fault at `addr` tries first (`__handle_mm_fault` choosing
    /// `create_huge_pud`/`create_huge_pmd` or `handle_pte_fault`): the mapping's align unless
    /// the owner decides per address (anonymous memory: a THP where a whole aligned PMD fits).
    fn leaf_size(&self, _k: &Kernel, vma: &Vma, _addr: VirtAddr) -> ByteSize {
        vma.align
    }

    /// True if a folio `fault` returns was freshly allocated with the one reference its page
    /// table mapping keeps (anonymous memory, `folio_add_new_anon_rmap`), so the fault takes
    /// no further reference; false if the owner keeps its own (a page cache, a device).
    fn fault_gives_mapping_ref(&self) -> bool {
        false
    }

    /// `vma_is_anonymous`: private anonymous memory (its PMD leaves are THPs).
    fn is_anonymous(&self) -> bool {
        false
    }

    /// True if leaves of one mapping may differ in size (anonymous memory: PMD-mapped THPs
    /// beside PTE-mapped base pages), so munmap walks leaf by leaf.
    fn mixed_leaves(&self) -> bool {
        false
    }

    /// Whether leaves hold a folio reference and a mapcount (`vmf_insert_folio_*`); else they
    /// are `devmap` pfn mappings that hold none.
    fn refcounted(&self, k: &Kernel) -> bool;

    /// True if huge leaves come from `vmf_insert_folio_pmd/pud` (device-dax), which in 6.15 and
    /// 6.16 marked them *special* (the profile's `dax_special`).
    fn inserts_folio_leaves(&self) -> bool {
        false
    }

    /// `close`: the mapping is gone.
    fn close(&self, k: &Kernel, memmap: &mut Memmap<'_>) -> Result<(), VmError>;

    /// `is_vm_hugetlb_page`: a hugetlbfs mapping (GUP's slow path walks it per huge page).
    fn is_hugetlb(&self) -> bool {
        false
    }
}

/// A `vm_area_struct`, `MAP_SHARED`.
#[derive(Debug, Clone)]
pub struct Vma {
    pub start: VirtAddr,
    pub end: VirtAddr,
    /// The leaf size faults install (the device align, or the huge page size).
    pub align: ByteSize,
    pub writable: bool,
    /// The owner's operations (`vm_ops`).
    pub ops: Arc<dyn VmOperations>,
}

impl Vma {
    /// Page-table level of this mapping's leaves: the largest whose entries span no more than
    /// the align.
    #[must_use]
    pub fn leaf_level(&self, g: &Geometry) -> Level {
        let mut level = Level::PTE;
        while level < g.root_level() && g.level_span(level.above()) <= self.align.bytes() {
            level = level.above();
        }
        level
    }
}

/// VMAs by start address, and the next free address.
#[derive(Debug, Default)]
pub struct VmaTree {
    vmas: BTreeMap<u64, Vma>,
    next: u64,
}

impl VmaTree {
    /// `find_vma` containing `addr`.
    #[must_use]
    pub fn find(&self, addr: VirtAddr) -> Option<&Vma> {
        self.vmas
            .range(..=addr.as_u64())
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }
}

/// An address space.
#[derive(Debug)]
pub struct Mm<'k> {
    pub k: &'k Kernel,
    /// The user page tables (`mm->pgd`).
    pub pt: PageTable,
    /// `mmap_lock` protecting the VMA tree.
    mmap_lock: RwLock<VmaTree>,
    /// `page_table_lock`: serialises installing and clearing leaves.
    ptl: Mutex<()>,
    /// `mm->write_protect_seq`: odd while fork write-protects; GUP-fast pins check it.
    pub write_protect_seq: AtomicU64,
    /// The lockless-walk gate.
    pub gate: FastGate,
    /// `mm->pinned_vm`: pages long-term pinned by drivers (RDMA), checked against memlock.
    pub pinned_vm: AtomicU64,
}

impl<'k> Mm<'k> {
    /// The page-table lock (`pmd_lock`, `pte_offset_map_lock`): the model has one per address
    /// space, as kernels without split page-table locks do, so its uncontended cost (an atomic
    /// acquire and a release) is the kernel's, while contention between threads is higher.
    pub fn page_table_lock(&self) -> MutexGuard<'_, ()> {
        self.ptl.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new, empty address space.
    pub fn new(k: &'k Kernel) -> Result<Mm<'k>, VmError> {
        Ok(Mm {
            k,
            pt: k.machine.new_page_table()?,
            mmap_lock: RwLock::new(VmaTree {
                vmas: BTreeMap::new(),
                next: k.machine.geometry().task_unmapped_base().as_u64(),
            }),
            ptl: Mutex::new(()),
            write_protect_seq: AtomicU64::new(0),
            gate: FastGate::default(),
            pinned_vm: AtomicU64::new(0),
        })
    }

    /// The user page tables.
    #[must_use]
    pub fn page_tables(&self) -> PageTables<'k> {
        self.k.machine.page_tables(self.pt)
    }

    /// `mmap_read_lock`.
    pub fn mmap_read(&self) -> RwLockReadGuard<'_, VmaTree> {
        self.mmap_lock
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `mmap(NULL, len, ...)` after the owner checked the request: inserts a VMA of `len`
    /// bytes at an address aligned to `align`, whose faults install `align`-sized leaves
    /// through `ops`.
    pub fn mmap(
        &self,
        len: u64,
        align: ByteSize,
        writable: bool,
        ops: Arc<dyn VmOperations>,
    ) -> Result<VirtAddr, VmError> {
        if len == 0 {
            return Err(VmError::ZeroLength);
        }
        let mut tree = self
            .mmap_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let g = self.k.machine.geometry();
        let start = VirtAddr::new(tree.next).align_up(align.bytes());
        let end = start
            .checked_offset(len)
            .filter(|e| *e <= g.task_size())
            .ok_or(VmError::NoAddressSpace { len })?;
        tree.next = end.as_u64();
        tree.vmas.insert(
            start.as_u64(),
            Vma {
                start,
                end,
                align,
                writable,
                ops,
            },
        );
        Ok(start)
    }

    /// `handle_mm_fault`: installs the leaf (PTE, PMD or PUD per the mapping's align) covering
    /// `addr`, with the frame its owner's fault handler gives. A refcounted mapping takes a
    /// folio reference and a mapcount; a `devmap` pfn mapping (device-dax ≤ 6.14) takes none.
    pub fn fault(
        &self,
        memmap: &mut Memmap<'_>,
        tree: &VmaTree,
        addr: VirtAddr,
        write: bool,
    ) -> Result<(), VmError> {
        let vma = tree.find(addr).ok_or(VmError::NoVma(addr))?;
        if write && !vma.writable {
            return Err(VmError::ReadOnly(addr));
        }
        let k = self.k;
        let g = k.machine.geometry();
        let size = vma.ops.leaf_size(k, vma, addr);
        let mut level = Level::PTE;
        while level < g.root_level() && g.level_span(level.above()) <= size.bytes() {
            level = level.above();
        }
        let _ptl = self.page_table_lock();
        if level > Level::PTE {
            // A table already below this level (base pages after a fallback): fault a PTE.
            if let Some(slot) = self.page_tables().entry(addr, level) {
                let e = Pte::from_raw(slot.load(Ordering::Acquire));
                if e.present() && !e.huge() {
                    level = Level::PTE;
                }
            }
        }
        loop {
            let span = g.level_span(level);
            let leaf_va = addr.align_down(span);
            let (slot, _) = self.page_tables().ensure(leaf_va, level)?;
            if Pte::from_raw(slot.load(Ordering::Acquire)).present() {
                return Ok(());
            }
            let pfn = match vma.ops.fault(
                k,
                memmap,
                leaf_va.distance_from(vma.start),
                ByteSize::new(span),
                addr,
            ) {
                Err(VmError::Fallback(_)) if level > Level::PTE => {
                    level = Level::PTE;
                    continue;
                }
                r => r?,
            };
            let refcounted = vma.ops.refcounted(k);
            let mut flags = Pte::PRESENT | Pte::USER;
            if vma.writable {
                flags |= Pte::RW;
            }
            if level > Level::PTE {
                flags |= Pte::HUGE;
                if vma.ops.inserts_folio_leaves() && k.switches().dax_special {
                    flags |= Pte::SPECIAL;
                }
            }
            if refcounted {
                // vmf_insert_folio_pmd/pud: folio_get + rmap (a new anonymous folio comes with
                // the reference the mapping keeps).
                let folio = page_folio(memmap, PagePtr::from_pfn(g, pfn))?;
                if !vma.ops.fault_gives_mapping_ref() {
                    folio.get(memmap)?;
                }
                folio.mapcount_inc(memmap)?;
            } else {
                flags |= Pte::DEVMAP;
            }
            // Release: the folio reference is taken before a walker can see the leaf.
            slot.store(Pte::new(pfn, flags).raw(), Ordering::Release);
            return Ok(());
        }
    }

    /// Faults in every leaf of `[start, start + len)` (what gup_test does by touching the
    /// buffer from user space).
    pub fn prefault(
        &self,
        memmap: &mut Memmap<'_>,
        start: VirtAddr,
        len: u64,
        write: bool,
    ) -> Result<(), VmError> {
        let tree = self.mmap_read();
        let mut addr = start;
        while addr.as_u64() < start.as_u64() + len {
            self.fault(memmap, &tree, addr, write)?;
            let g = self.k.machine.geometry();
            // The leaf the fault installed (or found): its size decides the next address.
            let span = self
                .page_tables()
                .walk_leaf(addr)
                .map_or(g.page_size(), |(_, _, level)| g.level_span(level));
            addr = addr.align_down(span).offset(span);
        }
        Ok(())
    }

    /// `munmap` of whole mappings: clears their leaves (dropping DAX-folio mapping references),
    /// waits out lockless walkers, then frees the page tables left empty.
    pub fn munmap(
        &self,
        memmap: &mut Memmap<'_>,
        start: VirtAddr,
        len: u64,
    ) -> Result<(), VmError> {
        let k = self.k;
        let g = k.machine.geometry();
        let end = start.offset(len);
        let mut tree = self
            .mmap_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let covered: Vec<u64> = tree
            .vmas
            .range(start.as_u64()..end.as_u64())
            .map(|(s, _)| *s)
            .collect();
        let whole = covered.iter().all(|s| tree.vmas[s].end <= end)
            && tree.find(start).is_none_or(|v| v.start == start)
            && !covered.is_empty();
        if !whole {
            return Err(VmError::PartialUnmap { start, len });
        }
        for s in covered {
            let vma = tree.vmas.remove(&s).expect("listed");
            let level = vma.leaf_level(g);
            let span = g.level_span(level);
            {
                let _ptl = self.page_table_lock();
                if vma.ops.mixed_leaves() {
                    self.zap_mixed(memmap, &vma)?;
                }
                let mut addr = vma.start;
                while addr < vma.end && !vma.ops.mixed_leaves() {
                    if let Some(slot) = self.page_tables().entry(addr, level) {
                        let e = Pte::from_raw(slot.swap(0, Ordering::AcqRel));
                        if e.present() && vma.ops.refcounted(k) {
                            let folio = page_folio(memmap, PagePtr::from_pfn(g, e.pfn()))?;
                            folio.mapcount_dec(memmap)?;
                            folio.put(
                                memmap,
                                1,
                                crate::mm::folio::RefKind::Get,
                                &mut RefStats::default(),
                            )?;
                        }
                    }
                    addr = addr.offset(span);
                }
            }
            // Unlink the emptied tables, wait until no GUP-fast walker can still be inside
            // them (the TLB-shootdown IPI / RCU table freeing), then free them.
            let unlinked = self.page_tables().unlink_empty(vma.start, vma.end);
            self.gate.synchronize();
            self.page_tables().free_tables(&unlinked);
            vma.ops.close(k, memmap)?;
        }
        Ok(())
    }

    /// `zap_pmd_range`/`zap_pte_range` over a mapping whose leaves differ in size: each PMD
    /// slot is a THP leaf (cleared whole), a PTE table (cleared entry by entry) or empty.
    fn zap_mixed(&self, memmap: &mut Memmap<'_>, vma: &Vma) -> Result<(), VmError> {
        let k = self.k;
        let g = k.machine.geometry();
        let pmd_span = g.level_span(Level::PMD);
        let mut addr = vma.start;
        while addr < vma.end {
            let next = addr.addr_end(pmd_span, vma.end);
            let pmd = self
                .page_tables()
                .entry(addr, Level::PMD)
                .map(|s| (s, Pte::from_raw(s.load(Ordering::Acquire))));
            match pmd {
                Some((slot, e)) if e.present() && e.huge() => {
                    slot.store(0, Ordering::Release);
                    self.zap_leaf(memmap, vma, e)?;
                }
                Some((_, e)) if e.present() => {
                    let mut a = addr;
                    while a < next {
                        if let Some(slot) = self.page_tables().entry(a, Level::PTE) {
                            let e = Pte::from_raw(slot.swap(0, Ordering::AcqRel));
                            if e.present() {
                                self.zap_leaf(memmap, vma, e)?;
                            }
                        }
                        a = a.offset(g.page_size());
                    }
                }
                _ => {}
            }
            addr = next;
        }
        Ok(())
    }

    /// Drops what one cleared leaf held: its mapcount and the mapping's folio reference.
    fn zap_leaf(&self, memmap: &mut Memmap<'_>, vma: &Vma, e: Pte) -> Result<(), VmError> {
        if !vma.ops.refcounted(self.k) {
            return Ok(());
        }
        let g = self.k.machine.geometry();
        let folio = page_folio(memmap, PagePtr::from_pfn(g, e.pfn()))?;
        folio.mapcount_dec(memmap)?;
        folio.put(
            memmap,
            1,
            crate::mm::folio::RefKind::Get,
            &mut RefStats::default(),
        )?;
        Ok(())
    }

    /// Unmaps everything (`exit_mmap`).
    pub fn unmap_all(&self, memmap: &mut Memmap<'_>) -> Result<(), VmError> {
        let spans: Vec<(VirtAddr, u64)> = self
            .mmap_read()
            .vmas
            .values()
            .map(|v| (v.start, v.end.distance_from(v.start)))
            .collect();
        for (s, l) in spans {
            self.munmap(memmap, s, l)?;
        }
        Ok(())
    }
}

impl Drop for Mm<'_> {
    fn drop(&mut self) {
        let mut memmap = Memmap::new(&self.k.machine);
        // Unmapping can only fail on a corrupted memmap; there is nothing better to do in drop.
        let _ = self.unmap_all(&mut memmap);
        let g = self.k.machine.geometry();
        let pt = self.page_tables();
        pt.prune(VirtAddr::new(0), VirtAddr::new(1 << g.va_bits()));
        let _ = pt.free_root();
    }
}
