//! Multi-level page tables stored in simulated frames, in the shape the architecture gives
//! (levels, entries per table). The same code serves the kernel's vmemmap and user address
//! spaces.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::addr::{Pfn, VirtAddr};
use crate::arch::{Geometry, Level};
use crate::machine::frame_store::{Frame, FrameError, FrameStore};

/// A page-table entry in the simulated MMU's format, the same on every architecture: a frame
/// number above bit [`Pte::PFN_SHIFT`] and flag bits below it (positions borrowed from x86-64
/// for familiarity). The architecture decides the table shape (`arch::Geometry`), not the
/// entry encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pte(u64);

impl Pte {
    /// Present.
    pub const PRESENT: u64 = 1 << 0;
    /// Writable.
    pub const RW: u64 = 1 << 1;
    /// User-accessible (`_PAGE_USER`).
    pub const USER: u64 = 1 << 2;
    /// A leaf above the PTE level (`_PAGE_PSE`, a PMD or PUD leaf).
    pub const HUGE: u64 = 1 << 7;
    /// Software bit: this PMD entry points at a page table shared by several PMD entries
    /// (the `next` profile's all-tail PTE table). Such a table is refcounted, not pruned.
    pub const SHARED_TABLE: u64 = 1 << 9;
    /// Software bit (`_PAGE_SPECIAL`, `pmd_special`): a leaf GUP-fast must not touch; 6.15
    /// and 6.16 set it on device-dax PMD/PUD folio leaves.
    pub const SPECIAL: u64 = 1 << 10;
    /// Software bit (`_PAGE_DEVMAP`): a `devmap` pfn mapping of ZONE_DEVICE memory (≤ 6.14).
    pub const DEVMAP: u64 = 1 << 58;
    /// Where the frame number starts in an entry.
    pub const PFN_SHIFT: u32 = 12;
    /// Bits of an entry that hold the frame number (46 bits of frame number).
    const PFN_MASK: u64 = ((1 << 58) - 1) & !((1 << Self::PFN_SHIFT) - 1);

    /// An entry pointing at `pfn` with `flags`.
    #[must_use]
    pub const fn new(pfn: Pfn, flags: u64) -> Pte {
        Pte((pfn.as_u64() << Self::PFN_SHIFT) & Self::PFN_MASK | flags)
    }
    /// The entry as stored in a table.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self.0
    }
    /// The entry stored as `raw`.
    #[must_use]
    pub const fn from_raw(raw: u64) -> Pte {
        Pte(raw)
    }
    /// True if every bit of `flags` is set.
    #[must_use]
    pub const fn has(self, flags: u64) -> bool {
        self.0 & flags == flags
    }
    /// True if present.
    #[must_use]
    pub const fn present(self) -> bool {
        self.has(Self::PRESENT)
    }
    /// True if writable.
    #[must_use]
    pub const fn writable(self) -> bool {
        self.has(Self::RW)
    }
    /// True if a huge leaf.
    #[must_use]
    pub const fn huge(self) -> bool {
        self.has(Self::HUGE)
    }
    /// True if it points at a shared page table.
    #[must_use]
    pub const fn shared_table(self) -> bool {
        self.has(Self::SHARED_TABLE)
    }
    /// The frame it points at.
    #[must_use]
    pub const fn pfn(self) -> Pfn {
        Pfn::new((self.0 & Self::PFN_MASK) >> Self::PFN_SHIFT)
    }
}

/// A translation: the base-page frame that backs an address and how it is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    pfn: Pfn,
    level: Level,
    entry: Pte,
}

impl Leaf {
    /// The base-page frame holding the address.
    #[must_use]
    pub const fn pfn(&self) -> Pfn {
        self.pfn
    }
    /// The level of the leaf entry.
    #[must_use]
    pub const fn level(&self) -> Level {
        self.level
    }
    /// The leaf entry itself.
    #[must_use]
    pub const fn entry(&self) -> Pte {
        self.entry
    }
}

/// Page-table errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PtError {
    #[error("{va} is already mapped by a level-{} leaf", level.get())]
    LeafInTheWay { va: VirtAddr, level: Level },
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A page-table tree, named by its root (PGD) frame. Operations go through a [`PageTables`]
/// view from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTable {
    root: Pfn,
}

impl PageTable {
    /// The root frame.
    #[must_use]
    pub const fn root(&self) -> Pfn {
        self.root
    }
}

/// One page-table tree of a machine, with the frames and geometry it lives in: the interface
/// mm code uses to map, unmap and look up (`pgd_offset` .. `pte_offset`, `lookup_address`).
#[derive(Debug, Clone, Copy)]
pub struct PageTables<'m> {
    fs: &'m FrameStore,
    g: &'static Geometry,
    pt: PageTable,
}

/// Slot `i` of the table at `table`; a table larger than a frame (the 64 KiB ppc64 PGD on 4 KiB
/// pages) continues in the next frames.
#[inline]
fn slot(fs: &FrameStore, table: Pfn, i: usize) -> &AtomicU64 {
    let per_frame = fs.frame_words();
    if i < per_frame {
        // The common case: a table within one frame, one frame look-up.
        return &table_frame(fs, table)[i];
    }
    &table_frame(fs, table.add((i / per_frame) as u64))[i % per_frame]
}

/// The body of a page-table frame.
fn table_frame(fs: &FrameStore, table: Pfn) -> &Frame {
    fs.frame(table).expect("page-table frames are backed")
}

/// The slots of the table at `table` from `from` on, up to the table's end or the end of the
/// frame holding slot `from`, whichever comes first.
fn slots_from<'a>(
    fs: &'a FrameStore,
    g: &Geometry,
    table: Pfn,
    level: Level,
    from: usize,
) -> &'a [AtomicU64] {
    let per_frame = fs.frame_words();
    let frame = table_frame(fs, table.add((from / per_frame) as u64));
    let end = usize::try_from(g.pt_entries(level))
        .unwrap_or(usize::MAX)
        .min((from / per_frame + 1) * per_frame);
    &frame[from % per_frame..end - (from / per_frame) * per_frame]
}

impl<'m> PageTables<'m> {
    /// A new, empty tree in `fs` (allocates the root).
    pub(crate) fn create(fs: &'m FrameStore, g: &'static Geometry) -> Result<Self, FrameError> {
        let root = fs.alloc_table(g.table_bytes(g.root_level()))?;
        Ok(PageTables {
            fs,
            g,
            pt: PageTable { root },
        })
    }

    /// The view of an existing tree.
    pub(crate) const fn of(fs: &'m FrameStore, g: &'static Geometry, pt: PageTable) -> Self {
        PageTables { fs, g, pt }
    }

    /// The tree this view operates on.
    #[must_use]
    pub const fn table(&self) -> PageTable {
        self.pt
    }

    /// The entry for `va` at `level` if every table above it exists; `None` if the walk ends
    /// earlier (a missing table, or a leaf above `level`).
    #[must_use]
    pub fn entry(&self, va: VirtAddr, level: Level) -> Option<&'m AtomicU64> {
        self.entry_run(va, level).map(|run| &run[0])
    }

    /// Like [`entry`](Self::entry), but returns the slots for `va` and every later address of
    /// the same table, so a caller walking consecutive addresses walks from the root once per
    /// table.
    #[must_use]
    pub fn entry_run(&self, va: VirtAddr, level: Level) -> Option<&'m [AtomicU64]> {
        let g = self.g;
        let mut table = self.pt.root;
        let mut l = g.root_level();
        while l > level {
            let e = Pte(slot(self.fs, table, g.pt_index(va, l)).load(Ordering::Acquire));
            if !e.present() || e.huge() {
                return None;
            }
            table = e.pfn();
            l = l.below()?;
        }
        Some(slots_from(self.fs, g, table, level, g.pt_index(va, level)))
    }

    /// A lockless walk to the leaf mapping `va`: the leaf's slot (for a later re-check), its
    /// value and its level. `None` if nothing is mapped. The caller must keep the tables alive
    /// (the GUP-fast gate).
    #[must_use]
    pub fn walk_leaf(&self, va: VirtAddr) -> Option<(&'m AtomicU64, Pte, Level)> {
        self.walk(va).map(|(s, e, level, _)| (s, e, level))
    }

    /// The walk behind [`walk_leaf`](Self::walk_leaf), also returning the table that holds the
    /// leaf entry.
    fn walk(&self, va: VirtAddr) -> Option<(&'m AtomicU64, Pte, Level, Pfn)> {
        let g = self.g;
        let mut table = self.pt.root;
        let mut level = g.root_level();
        loop {
            let s = slot(self.fs, table, g.pt_index(va, level));
            let e = Pte(s.load(Ordering::Acquire));
            if !e.present() {
                return None;
            }
            if level == Level::PTE || e.huge() {
                return Some((s, e, level, table));
            }
            table = e.pfn();
            level = level.below()?;
        }
    }

    /// Like [`lookup`](Self::lookup), and also the PTE table holding the leaf when the leaf is a
    /// PTE: what a paging-structure cache keeps, so that the next miss under the same PMD reads
    /// one entry ([`lookup_in_pte_table`](Self::lookup_in_pte_table)) instead of walking from
    /// the root.
    #[must_use]
    pub fn lookup_with_pte_table(&self, va: VirtAddr) -> Option<(Leaf, Option<Pfn>)> {
        let (_, e, level, table) = self.walk(va)?;
        Some((
            self.leaf(va, e, level),
            (level == Level::PTE).then_some(table),
        ))
    }

    /// The leaf for `va` in the PTE table `table`, which the PMD entry for `va` points at (a
    /// paging-structure cache hit): one entry read.
    #[must_use]
    pub fn lookup_in_pte_table(&self, table: Pfn, va: VirtAddr) -> Option<Leaf> {
        let e = Pte(slot(self.fs, table, self.g.pt_index(va, Level::PTE)).load(Ordering::Acquire));
        e.present().then(|| self.leaf(va, e, Level::PTE))
    }

    fn leaf(&self, va: VirtAddr, e: Pte, level: Level) -> Leaf {
        let g = self.g;
        let within = (va.as_u64() & (g.level_span(level) - 1)) >> g.page_shift;
        Leaf {
            pfn: e.pfn().add(within),
            level,
            entry: e,
        }
    }

    /// Walks to the leaf mapping `va` (`lookup_address`).
    #[must_use]
    #[doc(alias = "lookup_address")]
    pub fn lookup(&self, va: VirtAddr) -> Option<Leaf> {
        // Acquire in the walk pairs with the Release store that published each entry, so the
        // table or frame it points at is seen initialised.
        let (_, e, level) = self.walk_leaf(va)?;
        Some(self.leaf(va, e, level))
    }

    /// The slot for `va` at `level`, allocating zeroed page-table frames for missing levels
    /// above it (`vmemmap_pgd_populate` .. `vmemmap_pmd_populate`). Returns the slot and how
    /// many table frames were allocated.
    pub fn ensure(&self, va: VirtAddr, level: Level) -> Result<(&'m AtomicU64, u64), PtError> {
        self.ensure_run(va, level).map(|(run, n)| (&run[0], n))
    }

    /// Like [`ensure`](Self::ensure), but returns the slots for `va` and every later address of
    /// the same table.
    pub fn ensure_run(
        &self,
        va: VirtAddr,
        level: Level,
    ) -> Result<(&'m [AtomicU64], u64), PtError> {
        let (fs, g) = (self.fs, self.g);
        let mut table = self.pt.root;
        let mut allocated = 0;
        let mut l = g.root_level();
        while l > level {
            let s = slot(fs, table, g.pt_index(va, l));
            let e = Pte(s.load(Ordering::Acquire));
            let below = l.below().expect("above `level` ≥ PTE");
            table = if !e.present() {
                let t = self.alloc_table(below)?;
                allocated += 1;
                // Release: the zeroed table is visible before the entry that points at it.
                s.store(Pte::new(t, Pte::PRESENT | Pte::RW).0, Ordering::Release);
                t
            } else if e.huge() {
                return Err(PtError::LeafInTheWay { va, level: l });
            } else {
                e.pfn()
            };
            l = below;
        }
        Ok((
            slots_from(fs, g, table, level, g.pt_index(va, level)),
            allocated,
        ))
    }

    /// Frees every page-table frame below the root that maps nothing inside `[start, end)`
    /// and whose entries are all clear (`free_pte_table`, `free_pmd_table`, ...), bottom up.
    /// Tables marked shared are left to their owner. Returns the number of frames freed. Only
    /// for trees no lockless walker reads; otherwise [`unlink_empty`](Self::unlink_empty), wait
    /// out the walkers, then [`free_tables`](Self::free_tables).
    #[doc(alias = "free_pte_table")]
    pub fn prune(&self, start: VirtAddr, end: VirtAddr) -> u64 {
        let unlinked = self.unlink_empty(start, end);
        self.free_tables(&unlinked);
        unlinked.len() as u64
    }

    /// Detaches, bottom up, every page-table frame below the root that maps nothing inside
    /// `[start, end)` (its parent entry is cleared) and returns them, still allocated: a
    /// lockless walker that loaded the parent entry earlier may still be reading them
    /// (`free_pgtables` before `tlb_remove_table`).
    #[must_use]
    pub fn unlink_empty(&self, start: VirtAddr, end: VirtAddr) -> Vec<(Pfn, Level)> {
        let g = self.g;
        // Work on addresses with the sign-extension bits stripped, so table bases and the range
        // compare as plain numbers.
        let mask = (1u64 << g.va_bits()) - 1;
        let range = (start.as_u64() & mask, (end.as_u64() - 1) & mask);
        let mut out = Vec::new();
        self.unlink_table(self.pt.root, g.root_level(), 0, range, &mut out);
        out
    }

    /// Frees page-table frames unlinked by [`unlink_empty`](Self::unlink_empty).
    pub fn free_tables(&self, tables: &[(Pfn, Level)]) {
        for &(t, level) in tables {
            self.free_table(t, level);
        }
    }

    /// Frees the root of a tree whose lower tables are all gone.
    pub fn free_root(self) -> Result<(), FrameError> {
        self.fs
            .free_table(self.pt.root, self.g.table_bytes(self.g.root_level()))
    }

    /// Allocates a zeroed table for `level` of this tree (`pte_alloc_one`, `pmd_alloc_one`;
    /// fragments where the table is smaller than a page, `pte_fragment_alloc`).
    #[doc(alias = "pte_fragment_alloc")]
    pub fn alloc_table(&self, level: Level) -> Result<Pfn, FrameError> {
        self.fs.alloc_table(self.g.table_bytes(level))
    }

    /// Frees a table of `level` that nothing points at any more.
    pub fn free_table(&self, table: Pfn, level: Level) {
        self.fs
            .free_table(table, self.g.table_bytes(level))
            .expect("page table was allocated");
    }

    /// Every slot of the table at `table`, a table of `level` no bigger than a frame.
    #[must_use]
    pub fn table_entries(&self, table: Pfn, level: Level) -> &'m [AtomicU64] {
        slots_from(self.fs, self.g, table, level, 0)
    }

    /// Unlinks empty tables below `table` (at `level`, mapping from masked address `base`)
    /// within the inclusive masked range.
    fn unlink_table(
        &self,
        table: Pfn,
        level: Level,
        base: u64,
        range: (u64, u64),
        out: &mut Vec<(Pfn, Level)>,
    ) {
        let (fs, g) = (self.fs, self.g);
        let Some(child_level) = level.below() else {
            return;
        };
        let span = g.level_span(level);
        let (lo, hi) = (
            range.0.max(base),
            range.1.min(base + span * g.pt_entries(level) - 1),
        );
        if lo > hi {
            return;
        }
        for i in g.pt_index(VirtAddr::new(lo), level)..=g.pt_index(VirtAddr::new(hi), level) {
            let s = slot(fs, table, i);
            let e = Pte(s.load(Ordering::Acquire));
            if !e.present() || e.huge() || e.shared_table() {
                continue;
            }
            self.unlink_table(e.pfn(), child_level, base + span * i as u64, range, out);
            if self
                .table_entries(e.pfn(), child_level)
                .iter()
                .all(|w| w.load(Ordering::Relaxed) == 0)
            {
                s.store(0, Ordering::Release);
                out.push((e.pfn(), child_level));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ByteSize;
    use crate::arch::X86_64;
    use crate::machine::frame_store::FrameKind;
    use crate::machine::phys_map::PhysMap;

    #[test]
    fn map_lookup_and_prune_back_to_the_root() {
        let fs = FrameStore::new(
            &PhysMap::standard(&X86_64, ByteSize::gib(4), ByteSize::gib(1)).unwrap(),
            &X86_64,
        );
        let pt = PageTables::create(&fs, &X86_64).unwrap();
        let va = VirtAddr::new(0xffff_ea00_1234_5000);
        let frame = fs.alloc(0, FrameKind::Memmap).unwrap();
        let (s, n) = pt.ensure(va, Level::PTE).unwrap();
        assert_eq!(n, 3, "PUD, PMD and PTE tables below the PGD");
        s.store(Pte::new(frame, Pte::PRESENT | Pte::RW).0, Ordering::Release);
        let leaf = pt.lookup(va.offset(0x10)).unwrap();
        assert_eq!((leaf.pfn(), leaf.level()), (frame, Level::PTE));
        assert!(pt.lookup(va.offset(0x1000)).is_none());
        assert_eq!(fs.usage().pagetable(), 4);
        assert_eq!(pt.prune(va, va.offset(0x1000)), 0, "still mapped");
        s.store(0, Ordering::Release);
        assert_eq!(pt.prune(va, va.offset(0x1000)), 3);
        assert_eq!(fs.usage().pagetable(), 1);
    }

    #[test]
    fn huge_leaf_translates_every_4k_inside_and_blocks_lower_levels() {
        let fs = FrameStore::new(
            &PhysMap::standard(&X86_64, ByteSize::gib(4), ByteSize::gib(1)).unwrap(),
            &X86_64,
        );
        let pt = PageTables::create(&fs, &X86_64).unwrap();
        let va = VirtAddr::new(0xffff_ea00_0020_0000);
        let block = fs.alloc(9, FrameKind::Memmap).unwrap();
        let (s, _) = pt.ensure(va, Level::PMD).unwrap();
        s.store(
            Pte::new(block, Pte::PRESENT | Pte::RW | Pte::HUGE).0,
            Ordering::Release,
        );
        let leaf = pt.lookup(va.offset(5 * 4096 + 8)).unwrap();
        assert_eq!((leaf.pfn(), leaf.level()), (block.add(5), Level::PMD));
        assert_eq!(
            pt.ensure(va, Level::PTE).unwrap_err(),
            PtError::LeafInTheWay {
                va,
                level: Level::PMD
            }
        );
    }
}
