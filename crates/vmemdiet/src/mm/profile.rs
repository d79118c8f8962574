//! Kernel profiles: which kernel behaviour a run models (design README §2).
//!
//! A profile is data: a set of switches, each selecting one of two (or three) small strategies
//! at one place in the code. `v5.10` is the baseline the seeds measured against, `v6.12` the
//! long-term kernel most machines run, `next` our own proposal beyond the kernel.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::mm::page::TailEncoding;

/// A named kernel profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub enum Profile {
    /// Linux 5.10: no compound devmaps, no dedup; the seeds' "before".
    #[serde(rename = "v5.10")]
    V5_10,
    /// The seed RFC (Dec 2020, on next-20201208), including its unmerged GUP patches.
    #[serde(rename = "rfc")]
    Rfc,
    /// Linux 5.19: compound devmaps with tail dedup, as merged.
    #[serde(rename = "v5.19")]
    V5_19,
    /// Linux 6.12 LTS.
    #[serde(rename = "v6.12")]
    V6_12,
    /// Linux 6.15: DAX pages are ordinary folios.
    #[serde(rename = "v6.15")]
    #[default]
    V6_15,
    /// Beyond the kernel: mask-encoded tails with one shared read-only tail frame per order,
    /// shared all-tail PTE tables, dedup with the altmap too.
    #[serde(rename = "next")]
    Next,
}

/// Every profile, oldest first.
pub const ALL_PROFILES: [Profile; 6] = [
    Profile::V5_10,
    Profile::Rfc,
    Profile::V5_19,
    Profile::V6_12,
    Profile::V6_15,
    Profile::Next,
];

/// How device-dax vmemmap is deduplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaxDedup {
    /// Every vmemmap page is its own frame.
    None,
    /// 5.19: each compound page keeps a head frame and a reuse frame; its other vmemmap pages
    /// alias the reuse frame.
    Tail,
    /// `next`: each compound page keeps only its head frame; all other vmemmap pages map one
    /// read-only tail frame shared by every compound page of the order.
    SharedTail,
}

/// Which struct pages `memmap_init_zone_device` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemmapInit {
    /// Every struct page of the range.
    All,
    /// Only the distinct ones (`compound_nr_pages`): the rest alias them.
    UniqueOnly,
}

/// How many `dev_pagemap` references memremap takes up front (brief §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgmapRefs {
    /// One per page (≤ 5.16).
    PerPage,
    /// One per compound page (5.17–6.14).
    PerCompound,
    /// None: pages are refcounted folios (6.15+).
    None,
}

/// How GUP-fast handles a device-dax leaf (PMD/PUD/PTE) (brief §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastLeaf {
    /// `__gup_device_huge`: per 4 KiB subpage, a `get_dev_pagemap` range check and one grab of
    /// one reference (on the page itself, or on its head when compound).
    PerPage,
    /// One `try_grab_folio_fast(head, refs)` per leaf (RFC patch 6, THP, DAX folios in 6.15).
    PerLeaf,
}

/// How the slow path (`__get_user_pages`) walks device-dax leaves (brief §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowLeaf {
    /// `follow_devmap_pmd/pud`: one page-table walk and one grab per 4 KiB page.
    PerPage,
    /// PMD leaves per 4 KiB, PUD leaves batched (`follow_huge_pud` sets a PUD `page_mask`, 6.10+).
    PudBatched,
    /// One walk and one grab per leaf (`page_mask` batching; RFC `follow_devmap_page`).
    Batched,
}

/// How `unpin_user_pages` releases an array (brief §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpin {
    /// One `unpin_user_page` (one atomic) per entry (≤ 5.11).
    PerPage,
    /// One atomic per run of entries in the same folio (`gup_folio_next`, 5.12+).
    PerFolioRun,
}

/// How `ib_umem` releases a registration (brief §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UmemRelease {
    /// One unpin per 4 KiB page.
    PerPage,
    /// The pages of each scatterlist entry unpinned as one batch of folio runs.
    PerSgFolioRuns,
    /// One `unpin_user_page_range_dirty_lock` per scatterlist entry.
    PerSgRange,
}

/// Which pages `sg_alloc_append_table_from_pages` may merge into one segment besides
/// requiring pfn + 1 (brief §6.1 step 6, §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgMerge {
    /// ≤ 6.1: any physically contiguous pages.
    Contiguous,
    /// 6.2–6.14 (1567b49d1a40): ZONE_DEVICE pages only if `a->pgmap == b->pgmap`, which on
    /// compound devmap pages reads word 1: the pgmap pointer on a head, `head | 1` on a tail.
    /// A head never merges with its tails, nor a tail with the next compound page.
    PgmapWord1,
    /// 6.15+: the pgmap lives in the folio; pages of one pgmap merge.
    FolioPgmap,
}

/// HugeTLB Vmemmap Optimization (brief §1.4, §3.2, §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hvo {
    /// Every vmemmap page of a huge page stays its own frame.
    Off,
    /// 5.18+: keep one vmemmap page (a fresh copy of the head page); the other PTEs map it
    /// read-only, so tails at page boundaries read as fake heads.
    KeepOne,
    /// `next` (Kiryl Shutsemau's 2026 scheme): keep an own head page; the other PTEs map one
    /// read-only mask-encoded tail frame shared per (zone, order). No fake heads.
    SharedTail,
}

/// The switches of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// `vmemmap_shift` derived from the device-dax align.
    pub compound_devmap: bool,
    /// The device-dax vmemmap dedup scheme.
    pub dax_dedup: DaxDedup,
    /// A PTE table that only maps tails is shared between PMD entries.
    pub pmd_tail_reuse: bool,
    /// Dedup also applies when the memmap lives on the device (altmap).
    pub altmap_dedup: bool,
    /// Which struct pages memmap init writes.
    pub memmap_init: MemmapInit,
    /// Up-front pgmap references.
    pub pgmap_refs: PgmapRefs,
    /// How tails point at their head.
    pub tail_encoding: TailEncoding,
    /// `vmemmap_can_optimize` requires more than `VMEMMAP_RESERVE_NR` vmemmap pages per
    /// compound page (6.5+) instead of more than one (5.19).
    pub reserve_nr_rule: bool,
    /// GUP-fast on a device-dax leaf.
    pub fast_leaf: FastLeaf,
    /// The slow path on device-dax leaves.
    pub slow_leaf: SlowLeaf,
    /// `unpin_user_pages` strategy.
    pub unpin: Unpin,
    /// `ib_umem` release strategy.
    pub umem_release: UmemRelease,
    /// Scatterlist merge rule for device pages.
    pub sg_merge: SgMerge,
    /// HugeTLB vmemmap optimization.
    pub hvo: Hvo,
    /// The slow path takes one reference per huge page (`follow_hugetlb_page` batching, 5.12+)
    /// instead of one per 4 KiB subpage.
    pub hugetlb_slow_batched: bool,
    /// Device-dax leaves are ordinary folio mappings (6.15+): a mapping holds a folio reference
    /// and a mapcount, and FOLL_LONGTERM pins may take the fast path; before, they are `devmap`
    /// pfn mappings with no reference, whose long-term pins always fall back to the slow path.
    pub dax_folios: bool,
}

impl Profile {
    /// The switches this profile sets.
    #[must_use]
    pub const fn switches(self) -> Switches {
        let merged = Switches {
            compound_devmap: true,
            dax_dedup: DaxDedup::Tail,
            pmd_tail_reuse: false,
            altmap_dedup: false,
            memmap_init: MemmapInit::UniqueOnly,
            pgmap_refs: PgmapRefs::PerCompound,
            tail_encoding: TailEncoding::Classic,
            reserve_nr_rule: false,
            fast_leaf: FastLeaf::PerPage,
            slow_leaf: SlowLeaf::PerPage,
            unpin: Unpin::PerFolioRun,
            umem_release: UmemRelease::PerSgRange,
            sg_merge: SgMerge::Contiguous,
            hvo: Hvo::KeepOne,
            hugetlb_slow_batched: true,
            dax_folios: false,
        };
        match self {
            Profile::V5_10 => Switches {
                compound_devmap: false,
                dax_dedup: DaxDedup::None,
                memmap_init: MemmapInit::All,
                pgmap_refs: PgmapRefs::PerPage,
                unpin: Unpin::PerPage,
                umem_release: UmemRelease::PerPage,
                hvo: Hvo::Off,
                hugetlb_slow_batched: false,
                ..merged
            },
            Profile::Rfc => Switches {
                fast_leaf: FastLeaf::PerLeaf,
                slow_leaf: SlowLeaf::Batched,
                umem_release: UmemRelease::PerSgFolioRuns,
                hvo: Hvo::Off,
                ..merged
            },
            Profile::V5_19 => merged,
            Profile::V6_12 => Switches {
                reserve_nr_rule: true,
                sg_merge: SgMerge::PgmapWord1,
                slow_leaf: SlowLeaf::PudBatched,
                ..merged
            },
            Profile::V6_15 => Switches {
                reserve_nr_rule: true,
                pgmap_refs: PgmapRefs::None,
                fast_leaf: FastLeaf::PerLeaf,
                slow_leaf: SlowLeaf::Batched,
                sg_merge: SgMerge::FolioPgmap,
                dax_folios: true,
                ..merged
            },
            Profile::Next => Switches {
                dax_dedup: DaxDedup::SharedTail,
                pmd_tail_reuse: true,
                altmap_dedup: true,
                pgmap_refs: PgmapRefs::None,
                tail_encoding: TailEncoding::Mask,
                hvo: Hvo::SharedTail,
                reserve_nr_rule: true,
                fast_leaf: FastLeaf::PerLeaf,
                slow_leaf: SlowLeaf::Batched,
                sg_merge: SgMerge::FolioPgmap,
                dax_folios: true,
                ..merged
            },
        }
    }

    /// The name users type.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Profile::V5_10 => "v5.10",
            Profile::Rfc => "rfc",
            Profile::V5_19 => "v5.19",
            Profile::V6_12 => "v6.12",
            Profile::V6_15 => "v6.15",
            Profile::Next => "next",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL_PROFILES
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown profile '{s}'; valid: {}",
                    ALL_PROFILES
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}
