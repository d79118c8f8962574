//! Multi-level page tables (x86-64 layout: 512 eight-byte entries a level) stored in simulated
//! frames. The same code serves the kernel's vmemmap and, later, user address spaces.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::addr::{Pfn, VirtAddr};
use crate::arch::Geometry;
use crate::machine::frame_store::{FrameError, FrameKind, FrameStore};

/// An x86-64 style page-table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pte(pub u64);

impl Pte {
    /// `_PAGE_PRESENT`.
    pub const PRESENT: u64 = 1 << 0;
    /// `_PAGE_RW`.
    pub const RW: u64 = 1 << 1;
    /// `_PAGE_PSE`: a leaf at PMD or PUD level.
    pub const HUGE: u64 = 1 << 7;
    /// Software bit 9: this PMD entry points at a page table shared by several PMD entries
    /// (the `next` profile's all-tail PTE table). Such a table is refcounted, not pruned.
    pub const SHARED_TABLE: u64 = 1 << 9;
    const PFN_MASK: u64 = ((1 << 52) - 1) & !0xfff;

    /// An entry pointing at `pfn` with `flags`.
    #[must_use]
    pub const fn new(pfn: Pfn, flags: u64) -> Pte {
        Pte((pfn.as_u64() << 12) & Self::PFN_MASK | flags)
    }
    /// True if present.
    #[must_use]
    pub const fn present(self) -> bool {
        self.0 & Self::PRESENT != 0
    }
    /// True if writable.
    #[must_use]
    pub const fn writable(self) -> bool {
        self.0 & Self::RW != 0
    }
    /// True if a huge leaf.
    #[must_use]
    pub const fn huge(self) -> bool {
        self.0 & Self::HUGE != 0
    }
    /// True if it points at a shared page table.
    #[must_use]
    pub const fn shared_table(self) -> bool {
        self.0 & Self::SHARED_TABLE != 0
    }
    /// The frame it points at.
    #[must_use]
    pub const fn pfn(self) -> Pfn {
        Pfn::new((self.0 & Self::PFN_MASK) >> 12)
    }
}

/// A translation: the 4 KiB frame that backs an address and how it is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// The 4 KiB frame holding the address.
    pub pfn: Pfn,
    /// The level of the leaf entry (1 = PTE, 2 = PMD leaf, 3 = PUD leaf).
    pub level: u32,
    /// The leaf entry itself.
    pub entry: Pte,
}

/// Page-table errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PtError {
    #[error("{va} is already mapped by a level-{level} leaf")]
    LeafInTheWay { va: VirtAddr, level: u32 },
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A page-table tree: its root (PGD) frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTable {
    pub root: Pfn,
}

fn index(g: &Geometry, va: VirtAddr, level: u32) -> usize {
    #[allow(clippy::cast_possible_truncation)]
    let i = ((va.as_u64() >> (g.page_shift + g.pt_index_bits * (level - 1))) & (g.pt_entries() - 1))
        as usize;
    i
}

fn slot(fs: &FrameStore, table: Pfn, i: usize) -> &AtomicU64 {
    let frame = fs.frame(table).expect("page-table frames are backed");
    &frame[i]
}

impl PageTable {
    /// A new, empty tree (allocates the root).
    pub fn new(fs: &FrameStore) -> Result<PageTable, FrameError> {
        Ok(PageTable {
            root: fs.alloc(0, FrameKind::PageTable)?,
        })
    }

    /// The entry for `va` at `level` if every table above it exists; `None` if the walk ends
    /// earlier (a missing table, or a leaf above `level`).
    #[must_use]
    pub fn entry<'f>(
        &self,
        fs: &'f FrameStore,
        g: &Geometry,
        va: VirtAddr,
        level: u32,
    ) -> Option<&'f AtomicU64> {
        self.entry_run(fs, g, va, level).map(|run| &run[0])
    }

    /// Like [`entry`](Self::entry), but returns the slots for `va` and every later address of
    /// the same table, so a caller walking consecutive addresses walks from the root once per
    /// table.
    #[must_use]
    pub fn entry_run<'f>(
        &self,
        fs: &'f FrameStore,
        g: &Geometry,
        va: VirtAddr,
        level: u32,
    ) -> Option<&'f [AtomicU64]> {
        let mut table = self.root;
        for l in (level + 1..=g.pt_levels).rev() {
            let e = Pte(slot(fs, table, index(g, va, l)).load(Ordering::Acquire));
            if !e.present() || e.huge() {
                return None;
            }
            table = e.pfn();
        }
        Some(&fs.frame(table).expect("page-table frames are backed")[index(g, va, level)..])
    }

    /// A lockless walk to the leaf mapping `va`: the leaf's slot (for a later re-check), its
    /// value and its level. `None` if nothing is mapped. The caller must keep the tables alive
    /// (the GUP-fast gate).
    #[must_use]
    pub fn walk_leaf<'f>(
        &self,
        fs: &'f FrameStore,
        g: &Geometry,
        va: VirtAddr,
    ) -> Option<(&'f AtomicU64, Pte, u32)> {
        let mut table = self.root;
        for level in (1..=g.pt_levels).rev() {
            let s = slot(fs, table, index(g, va, level));
            let e = Pte(s.load(Ordering::Acquire));
            if !e.present() {
                return None;
            }
            if level == 1 || e.huge() {
                return Some((s, e, level));
            }
            table = e.pfn();
        }
        None
    }

    /// Walks to the leaf mapping `va` (`lookup_address`).
    #[must_use]
    #[doc(alias = "lookup_address")]
    pub fn lookup(&self, fs: &FrameStore, g: &Geometry, va: VirtAddr) -> Option<Leaf> {
        let mut table = self.root;
        for level in (1..=g.pt_levels).rev() {
            // Acquire: pairs with the Release store that published the entry, so the table or
            // frame it points at is seen initialised.
            let e = Pte(slot(fs, table, index(g, va, level)).load(Ordering::Acquire));
            if !e.present() {
                return None;
            }
            if level == 1 || e.huge() {
                let within = (va.as_u64() & (g.level_span(level) - 1)) >> g.page_shift;
                return Some(Leaf {
                    pfn: e.pfn().add(within),
                    level,
                    entry: e,
                });
            }
            table = e.pfn();
        }
        None
    }

    /// The slot for `va` at `level`, allocating zeroed page-table frames for missing levels
    /// above it (`vmemmap_pgd_populate` .. `vmemmap_pmd_populate`). Returns the slot and how
    /// many table frames were allocated.
    pub fn ensure<'f>(
        &self,
        fs: &'f FrameStore,
        g: &Geometry,
        va: VirtAddr,
        level: u32,
    ) -> Result<(&'f AtomicU64, u64), PtError> {
        self.ensure_run(fs, g, va, level)
            .map(|(run, n)| (&run[0], n))
    }

    /// Like [`ensure`](Self::ensure), but returns the slots for `va` and every later address of
    /// the same table.
    pub fn ensure_run<'f>(
        &self,
        fs: &'f FrameStore,
        g: &Geometry,
        va: VirtAddr,
        level: u32,
    ) -> Result<(&'f [AtomicU64], u64), PtError> {
        let mut table = self.root;
        let mut allocated = 0;
        for l in (level + 1..=g.pt_levels).rev() {
            let s = slot(fs, table, index(g, va, l));
            let e = Pte(s.load(Ordering::Acquire));
            table = if !e.present() {
                let t = fs.alloc(0, FrameKind::PageTable)?;
                allocated += 1;
                // Release: the zeroed table is visible before the entry that points at it.
                s.store(Pte::new(t, Pte::PRESENT | Pte::RW).0, Ordering::Release);
                t
            } else if e.huge() {
                return Err(PtError::LeafInTheWay { va, level: l });
            } else {
                e.pfn()
            };
        }
        Ok((
            &fs.frame(table).expect("page-table frames are backed")[index(g, va, level)..],
            allocated,
        ))
    }

    /// Frees every page-table frame below the root that maps nothing inside `[start, end)`
    /// and whose entries are all clear (`free_pte_table`, `free_pmd_table`, ...), bottom up.
    /// Tables marked shared are left to their owner. Returns the number of frames freed. Only
    /// for trees no lockless walker reads; otherwise [`unlink_empty`](Self::unlink_empty), wait
    /// out the walkers, then [`free_tables`].
    #[doc(alias = "free_pte_table")]
    pub fn prune(&self, fs: &FrameStore, g: &Geometry, start: VirtAddr, end: VirtAddr) -> u64 {
        let unlinked = self.unlink_empty(fs, g, start, end);
        free_tables(fs, &unlinked);
        unlinked.len() as u64
    }

    /// Detaches, bottom up, every page-table frame below the root that maps nothing inside
    /// `[start, end)` (its parent entry is cleared) and returns them, still allocated: a
    /// lockless walker that loaded the parent entry earlier may still be reading them
    /// (`free_pgtables` before `tlb_remove_table`).
    #[must_use]
    pub fn unlink_empty(
        &self,
        fs: &FrameStore,
        g: &Geometry,
        start: VirtAddr,
        end: VirtAddr,
    ) -> Vec<Pfn> {
        // Work on addresses with the sign-extension bits stripped, so table bases and the range
        // compare as plain numbers.
        let mask = (1u64 << (g.page_shift + g.pt_index_bits * g.pt_levels)) - 1;
        let range = (start.as_u64() & mask, (end.as_u64() - 1) & mask);
        let mut out = Vec::new();
        unlink_table(fs, g, self.root, g.pt_levels, 0, range, &mut out);
        out
    }
}

/// Frees page-table frames unlinked by [`PageTable::unlink_empty`].
pub fn free_tables(fs: &FrameStore, tables: &[Pfn]) {
    for &t in tables {
        // Zero again: a detached table is empty by construction, but scrub before reuse.
        fs.free(t, 0, FrameKind::PageTable)
            .expect("page-table frame was allocated");
    }
}

/// Unlinks empty tables below `table` (at `level`, mapping from masked address `base`) within
/// the inclusive masked range.
fn unlink_table(
    fs: &FrameStore,
    g: &Geometry,
    table: Pfn,
    level: u32,
    base: u64,
    range: (u64, u64),
    out: &mut Vec<Pfn>,
) {
    if level == 1 {
        return;
    }
    let span = g.level_span(level);
    let (lo, hi) = (
        range.0.max(base),
        range.1.min(base + span * g.pt_entries() - 1),
    );
    if lo > hi {
        return;
    }
    for i in index(g, VirtAddr::new(lo), level)..=index(g, VirtAddr::new(hi), level) {
        let s = slot(fs, table, i);
        let e = Pte(s.load(Ordering::Acquire));
        if !e.present() || e.huge() || e.shared_table() {
            continue;
        }
        unlink_table(
            fs,
            g,
            e.pfn(),
            level - 1,
            base + span * i as u64,
            range,
            out,
        );
        let child = fs.frame(e.pfn()).expect("page-table frames are backed");
        if child.iter().all(|w| w.load(Ordering::Relaxed) == 0) {
            s.store(0, Ordering::Release);
            out.push(e.pfn());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ByteSize;
    use crate::arch::X86_64;
    use crate::machine::phys_map::PhysMap;

    #[test]
    fn map_lookup_and_prune_back_to_the_root() {
        let fs = FrameStore::new(&PhysMap::standard(ByteSize::gib(4), ByteSize::gib(1)), 12);
        let g = &X86_64;
        let pt = PageTable::new(&fs).unwrap();
        let va = VirtAddr::new(0xffff_ea00_1234_5000);
        let frame = fs.alloc(0, FrameKind::Memmap).unwrap();
        let (s, n) = pt.ensure(&fs, g, va, 1).unwrap();
        assert_eq!(n, 3, "PUD, PMD and PTE tables below the PGD");
        s.store(Pte::new(frame, Pte::PRESENT | Pte::RW).0, Ordering::Release);
        let leaf = pt.lookup(&fs, g, va.offset(0x10)).unwrap();
        assert_eq!((leaf.pfn, leaf.level), (frame, 1));
        assert!(pt.lookup(&fs, g, va.offset(0x1000)).is_none());
        assert_eq!(fs.usage().pagetable, 4);
        assert_eq!(pt.prune(&fs, g, va, va.offset(0x1000)), 0, "still mapped");
        s.store(0, Ordering::Release);
        assert_eq!(pt.prune(&fs, g, va, va.offset(0x1000)), 3);
        assert_eq!(fs.usage().pagetable, 1);
    }

    #[test]
    fn huge_leaf_translates_every_4k_inside_and_blocks_lower_levels() {
        let fs = FrameStore::new(&PhysMap::standard(ByteSize::gib(4), ByteSize::gib(1)), 12);
        let g = &X86_64;
        let pt = PageTable::new(&fs).unwrap();
        let va = VirtAddr::new(0xffff_ea00_0020_0000);
        let block = fs.alloc(9, FrameKind::Memmap).unwrap();
        let (s, _) = pt.ensure(&fs, g, va, 2).unwrap();
        s.store(
            Pte::new(block, Pte::PRESENT | Pte::RW | Pte::HUGE).0,
            Ordering::Release,
        );
        let leaf = pt.lookup(&fs, g, va.offset(5 * 4096 + 8)).unwrap();
        assert_eq!((leaf.pfn, leaf.level), (block.add(5), 2));
        assert_eq!(
            pt.ensure(&fs, g, va, 1).unwrap_err(),
            PtError::LeafInTheWay { va, level: 2 }
        );
    }
}
