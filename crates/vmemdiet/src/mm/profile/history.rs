//! The change history (design README §2): for each switch, the release from which each value
//! holds. A release's profile is 5.10's switches with every change up to it applied, in order;
//! a stable point release carries the fixes backported to its series (`7.1.6` has the 7.2
//! accounting fix, `7.1.0` does not, and neither does `7.0.9`). Sources and confidence: `kernel-brief.md` (to 6.12) and
//! `kernels-2026.md` (6.15 on); an *inferred* or *unconfirmed* change stands until a booted
//! kernel settles it, and then the kernel wins.

use crate::arch::KernelVersion;
use crate::mm::page::TailEncoding;

use super::{
    DaxDedup, FastLeaf, Hvo, MemmapAccounting, MemmapInit, PgmapRefs, Set, SgMerge, SlowLeaf,
    Switches, UmemRelease, Unpin,
};

/// How sure the history is of a change's release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// A direct source ties the change to the release.
    Confirmed,
    /// Derived from tree flow (mm-stable pulls, stable backports, versioned docs).
    Inferred,
    /// Posted or in mm-unstable/linux-next only.
    Unconfirmed,
}

impl Confidence {
    /// As the help and the design notes print it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Inferred => "inferred",
            Confidence::Unconfirmed => "unconfirmed",
        }
    }
}

/// One cell of the history: from mainline release `since` on, `set` holds, and in the stable
/// series that took it as a backport from the point release named in `backports`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub since: KernelVersion,
    pub set: Set,
    pub confidence: Confidence,
    /// The commit, series or document that says so.
    pub source: &'static str,
    /// Stable point releases of older series that carry the change (`7.1.6`).
    pub backports: &'static [KernelVersion],
}

impl Change {
    /// Whether `release` has this change: a mainline release from `since` on, or a point
    /// release of a series that took the backport, from that point release on.
    #[must_use]
    pub const fn in_release(&self, release: KernelVersion) -> bool {
        if self.since.at_or_before(release) {
            return true;
        }
        let mut i = 0;
        while i < self.backports.len() {
            let b = self.backports[i];
            if b.series().at_or_before(release.series())
                && release.series().at_or_before(b.series())
                && b.at_or_before(release)
            {
                return true;
            }
            i += 1;
        }
        false
    }
}

const fn change(
    since: KernelVersion,
    set: Set,
    confidence: Confidence,
    source: &'static str,
) -> Change {
    Change {
        since,
        set,
        confidence,
        source,
        backports: &[],
    }
}

const fn v(major: u32, minor: u32) -> KernelVersion {
    KernelVersion::new(major, minor)
}

use Confidence::{Confirmed, Inferred};

/// Linux 5.10, the seeds' "before": no compound devmaps, no dedup, per-page everything.
pub const BASELINE: Switches = Switches {
    compound_devmap: false,
    dax_dedup: DaxDedup::None,
    pmd_tail_reuse: false,
    altmap_dedup: false,
    memmap_init: MemmapInit::All,
    pgmap_refs: PgmapRefs::PerPage,
    tail_encoding: TailEncoding::Classic,
    reserve_nr_rule: false,
    fast_leaf: FastLeaf::PerPage,
    slow_leaf: SlowLeaf::PerPage,
    unpin: Unpin::PerPage,
    umem_release: UmemRelease::PerPage,
    sg_merge: SgMerge::Contiguous,
    hvo: Hvo::Off,
    hugetlb_slow_batched: false,
    thp_slow_batched: false,
    dax_folios: false,
    memmap_accounting: MemmapAccounting::Absent,
    dax_special: false,
};

/// Every change after 5.10, oldest first.
pub const HISTORY: &[Change] = &[
    change(v(5, 12), Set::unpin(Unpin::PerFolioRun), Confirmed, "unpin_user_pages folio runs (gup_folio_next), brief §5"),
    change(v(5, 12), Set::hugetlb_slow_batched(true), Confirmed, "follow_hugetlb_page batching, brief §4.3"),
    change(v(5, 17), Set::pgmap_refs(PgmapRefs::PerCompound), Confirmed, "one pgmap reference per compound page, brief §2.1"),
    change(v(5, 18), Set::hvo(Hvo::KeepOne), Confirmed, "HugeTLB vmemmap optimization keeps one page (fake heads), brief §1.4"),
    change(v(5, 19), Set::compound_devmap(true), Confirmed, "compound devmaps (Joao Martins), brief §2"),
    change(v(5, 19), Set::dax_dedup(DaxDedup::Tail), Confirmed, "device-dax vmemmap dedup, 2 frames per compound page, brief §3.1"),
    change(v(5, 19), Set::memmap_init(MemmapInit::UniqueOnly), Confirmed, "memmap_init_compound writes the unique struct pages, brief §3.3"),
    change(v(5, 19), Set::umem_release(UmemRelease::PerSgRange), Confirmed, "ib_umem_release unpins per sg range, brief §6.2"),
    change(v(6, 2), Set::sg_merge(SgMerge::PgmapWord1), Confirmed, "1567b49d1a40: ZONE_DEVICE pages merge only with the same pgmap, brief §6.1"),
    change(v(6, 5), Set::reserve_nr_rule(true), Confirmed, "vmemmap_can_optimize needs more than VMEMMAP_RESERVE_NR pages, brief §3.1"),
    change(v(6, 5), Set::thp_slow_batched(true), Confirmed, "mm/gup: accelerate thp gup even for pages != NULL (Peter Xu)"),
    change(v(6, 10), Set::slow_leaf(SlowLeaf::PudBatched), Confirmed, "follow_huge_pud sets page_mask, brief §4.3"),
    change(v(6, 11), Set::memmap_accounting(MemmapAccounting::FullSpan), Confirmed, "NR_MEMMAP and NR_MEMMAP_BOOT in /proc/vmstat, brief §9.7"),
    change(v(6, 15), Set::pgmap_refs(PgmapRefs::None), Confirmed, "7851bf649d42 DAX pages are refcounted folios, kernels-2026 §1"),
    change(v(6, 15), Set::dax_folios(true), Confirmed, "7851bf649d42 vmf_insert_folio_pmd/pud, kernels-2026 §1"),
    change(v(6, 15), Set::sg_merge(SgMerge::FolioPgmap), Confirmed, "the pgmap lives in the folio, kernels-2026 §1"),
    change(v(6, 15), Set::dax_special(true), Confirmed, "DAX leaves marked special: GUP-fast falls back to GUP-slow (fix's message), kernels-2026 §2.1"),
    change(v(6, 15), Set::slow_leaf(SlowLeaf::Batched), Inferred, "follow_huge_pmd/pud + page_mask on folio leaves, kernels-2026 §2.1"),
    change(v(6, 17), Set::dax_special(false), Confirmed, "don't mark refcounted folios special (David Hildenbrand), mm-stable-2025-07-30, kernels-2026 §2.2"),
    change(v(6, 17), Set::fast_leaf(FastLeaf::PerLeaf), Confirmed, "devmap removal: devdax leaves are folio leaves, one grab per leaf, kernels-2026 §2.2"),
    change(v(7, 1), Set::tail_encoding(TailEncoding::Mask), Confirmed, "compound_info mask encoding (Kiryl Shutsemau), kernels-2026 §3"),
    change(v(7, 1), Set::hvo(Hvo::SharedTail), Confirmed, "HVO without fake heads: shared read-only tail per (zone, order), kernels-2026 §3"),
    Change {
        backports: &[KernelVersion::with_patch(7, 1, 6), KernelVersion::with_patch(6, 12, 117)],
        ..change(v(7, 2), Set::memmap_accounting(MemmapAccounting::Described), Inferred, "fix DAX vmemmap accounting with optimization (Muchun Song, Cc stable), mainline 7.2 (kernels-2026 §4.1-4.2); stable 7.1.6 (7.1.6-rc1); booted 6.12.117 and 7.2.13 count by it, booted 6.18.15 not (the first 6.12.y with it is not known: 117 at the latest)")
    },
    change(v(7, 4), Set::dax_dedup(DaxDedup::SharedTail), Inferred, "device-dax section-based shared tail (Muchun Song), v7.4-rc1 docs, kernels-2026 §4.3"),
];

/// The switches in force at `release`: [`BASELINE`] with every change up to it applied.
#[must_use]
pub const fn switches_at(release: KernelVersion) -> Switches {
    let mut s = BASELINE;
    let mut i = 0;
    while i < HISTORY.len() {
        let c = HISTORY[i];
        if c.in_release(release) {
            c.set.apply(&mut s);
        }
        i += 1;
    }
    s
}

/// The seed RFC (Dec 2020, on next-20201208): 5.19's compound devmaps and tail dedup with its
/// unmerged GUP patches (one grab per leaf, batched slow path, release per sg entry in folio
/// runs), without HVO (5.18).
pub const RFC: Switches = {
    let mut s = switches_at(v(5, 19));
    Set::fast_leaf(FastLeaf::PerLeaf).apply(&mut s);
    Set::slow_leaf(SlowLeaf::Batched).apply(&mut s);
    Set::umem_release(UmemRelease::PerSgFolioRuns).apply(&mut s);
    Set::hvo(Hvo::Off).apply(&mut s);
    s
};

/// `next`: 7.4 plus what no tree has.
pub const NEXT: Switches = {
    let mut s = switches_at(v(7, 4));
    Set::pmd_tail_reuse(true).apply(&mut s);
    Set::altmap_dedup(true).apply(&mut s);
    Set::memmap_accounting(MemmapAccounting::Allocated).apply(&mut s);
    s
};

/// The changes whose release is not confirmed, for `--help` and the design notes: what a
/// booted kernel has yet to settle.
#[must_use]
pub fn unsettled() -> Vec<&'static Change> {
    HISTORY
        .iter()
        .filter(|c| c.confidence != Confidence::Confirmed)
        .collect()
}
