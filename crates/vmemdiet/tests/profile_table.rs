//! An independent oracle for the design brief's profile table: every switch of every named
//! profile, written down from the brief (design README §2 and kernel brief, mainly appendix C),
//! compared with `Profile::switches()`.
//!
//! The expected values below are not copied from `mm/profile.rs`; each carries the brief section
//! it comes from. Rows of the README §2 table map to switches as follows:
//!
//! | README §2 row                                | switch(es)                         |
//! |----------------------------------------------|------------------------------------|
//! | compound devmap pages (`vmemmap_shift`)       | `compound_devmap`                  |
//! | devdax vmemmap dedup                          | `dax_dedup`                        |
//! | all-tail PTE tables shared (PMD-level reuse)  | `pmd_tail_reuse`                   |
//! | altmap (`--map=dev`) dedup                    | `altmap_dedup`                     |
//! | memmap init                                   | `memmap_init`                      |
//! | GUP-fast on devdax leaf                       | `fast_leaf`                        |
//! | FOLL_LONGTERM on devdax                       | `dax_folios`                       |
//! | GUP slow path on devdax                       | `slow_leaf`                        |
//! | `unpin_user_pages`                            | `unpin`                            |
//! | RDMA `ib_umem` release                        | `umem_release`                     |
//! | HugeTLB vmemmap (HVO)                         | `hvo` (and `tail_encoding`)        |
//! | `nr_memmap_pages` as /proc/vmstat reports it  | `memmap_accounting`                |
//!
//! The switches that are no row of that table come from the kernel brief: `pgmap_refs` (§2.1,
//! §9.5), `tail_encoding` (§3.2, §9.2), `reserve_nr_rule` (§1.2), `sg_merge` (§6.1 step 6, §3.4,
//! appendix C), `hugetlb_slow_batched` (§4.3, appendix C) and `thp_slow_batched` (§4.3 "THP
//! PMD ... ~6.5+", appendix C "THP slow-GUP page_mask batching with pages != NULL ≈6.5": off
//! up to v5.19 and in the rfc, whose base tree is 5.12, on from v6.12).
//!
//! The `rfc` profile is the seed RFC of December 2020 on next-20201208 ([SEED-RFC], brief §12):
//! its README column gives the rows above; the other switches take the era of its base tree
//! (before 5.12 and 5.17), except where the RFC's own patches changed them.

use vmemdiet::mm::page::TailEncoding;
use vmemdiet::mm::profile::{
    DaxDedup, FastLeaf, Hvo, MemmapAccounting, MemmapInit, PgmapRefs, Profile, ProfileName,
    SgMerge, SlowLeaf, Switches, UmemRelease, Unpin, ALL_PROFILES,
};

/// `v5.10`, the baseline before any of the series.
const BRIEF_V5_10: Switches = Switches {
    // README §2 row "compound devmap pages": off (compound devmaps are 5.17, appendix C).
    compound_devmap: false,
    // README §2 "devdax vmemmap dedup": none.
    dax_dedup: DaxDedup::None,
    // README §2 "all-tail PTE tables shared": off.
    pmd_tail_reuse: false,
    // README §2 "altmap dedup": no.
    altmap_dedup: false,
    // README §2 "memmap init": every struct page.
    memmap_init: MemmapInit::All,
    // Kernel brief §2.1: one pgmap reference per page up to 5.16.
    pgmap_refs: PgmapRefs::PerPage,
    // Kernel brief §3.2: classic `head | 1` encoding until the 2026 mask encoding.
    tail_encoding: TailEncoding::Classic,
    // Kernel brief §1.2: the `V > VMEMMAP_RESERVE_NR` rule is 6.5/6.6; 5.10 has no dedup at all.
    reserve_nr_rule: false,
    // README §2 "GUP-fast on devdax leaf": per 4 KiB, pgmap lookup + 1 atomic.
    fast_leaf: FastLeaf::PerPage,
    // README §2 "GUP slow path on devdax": one walk + grab per 4 KiB.
    slow_leaf: SlowLeaf::PerPage,
    // README §2 "unpin_user_pages": one atomic per page (kernel brief §5.2: batching is 5.12).
    unpin: Unpin::PerPage,
    // README §2 "RDMA ib_umem release": per page (kernel brief §6.2: ≤ 5.11).
    umem_release: UmemRelease::PerPage,
    // Kernel brief §6.1 step 6 / appendix C: the ZONE_DEVICE pgmap check is 6.2; ≤ 6.1 merges
    // any pfn-contiguous pages.
    sg_merge: SgMerge::Contiguous,
    // README §2 "HugeTLB vmemmap (HVO)": off (HVO is 5.14, appendix C).
    hvo: Hvo::Off,
    // Kernel brief §4.3 / appendix C: `follow_hugetlb_page` batched grab is 5.12.
    hugetlb_slow_batched: false,
    thp_slow_batched: false,
    // README §2 "FOLL_LONGTERM on devdax": slow path (devmap pfn mappings; DAX folios are 6.15).
    dax_folios: false,
    // README §2 row "nr_memmap_pages": counter absent before 6.11 (kernel brief §9.7).
    memmap_accounting: MemmapAccounting::Absent,
    // kernels-2026 §2: leaves are devmap entries before 6.15, never special.
    dax_special: false,
};

/// `rfc`, the seed RFC (Dec 2020, next-20201208) with all nine of its patches.
const BRIEF_RFC: Switches = Switches {
    // README §2: on (RFC patches 1 and 5, compound pagemaps for device-dax).
    compound_devmap: true,
    // README §2: tail, 2 pages per folio (RFC patch 3).
    dax_dedup: DaxDedup::Tail,
    // README §2: off.
    pmd_tail_reuse: false,
    // README §2: no.
    altmap_dedup: false,
    // README §2: unique only (RFC patch 4).
    memmap_init: MemmapInit::UniqueOnly,
    // Kernel brief §2.1: one reference per page up to 5.16, one per compound page from 5.17
    // (`pfn_len >> vmemmap_shift`), which came with compound pagemaps (appendix C, c4386bd8ee3a);
    // the RFC's compound-pagemap patch is the early form of that change, so its pgmap takes one
    // reference per compound page. (A judgement: the brief does not date the RFC's count.)
    pgmap_refs: PgmapRefs::PerCompound,
    // Kernel brief §3.2: classic (≤ 2025).
    tail_encoding: TailEncoding::Classic,
    // Kernel brief §1.2: the RESERVE_NR rule is 6.5/6.6, long after the RFC.
    reserve_nr_rule: false,
    // README §2: one grab per leaf (RFC patch 6, kernel brief §4.2).
    fast_leaf: FastLeaf::PerLeaf,
    // README §2: batched per leaf, `follow_devmap_page` (RFC patch 9, kernel brief §4.3).
    slow_leaf: SlowLeaf::Batched,
    // README §2: one per folio run (RFC patch 7).
    unpin: Unpin::PerFolioRun,
    // README §2: per sg entry, folio runs (RFC patch 8).
    umem_release: UmemRelease::PerSgFolioRuns,
    // Kernel brief §6.1 step 6: ≤ 6.1 any pfn-contiguous pages.
    sg_merge: SgMerge::Contiguous,
    // README §2: off (HVO is 5.14).
    hvo: Hvo::Off,
    // Kernel brief §8 #8: the seed's RFC measurement of hugetlbfs MR reg/unreg went 10.7 → 4.7
    // ms per round (466 → 1073 rounds), which needs the batched `follow_hugetlb_page` grab and
    // batched unpin of Joao's companion series (appendix C: merged in 5.12, [S37b]) in the
    // measured "after" kernel; the profile reproduces that measurement.
    hugetlb_slow_batched: true,
    thp_slow_batched: false,
    // README §2 "FOLL_LONGTERM on devdax": slow path.
    dax_folios: false,
    // README §2 row "nr_memmap_pages": "—", the counter is 6.11 (kernel brief §9.7).
    memmap_accounting: MemmapAccounting::Absent,
    // kernels-2026 §2: leaves are devmap entries before 6.15, never special.
    dax_special: false,
};

/// `v5.19`, the series as merged.
const BRIEF_V5_19: Switches = Switches {
    // README §2: on.
    compound_devmap: true,
    // README §2: tail.
    dax_dedup: DaxDedup::Tail,
    // README §2: off.
    pmd_tail_reuse: false,
    // README §2: no.
    altmap_dedup: false,
    // README §2: unique only (128 per folio).
    memmap_init: MemmapInit::UniqueOnly,
    // Kernel brief §2.1: one per compound page in 5.17–6.14.
    pgmap_refs: PgmapRefs::PerCompound,
    // Kernel brief §3.2: classic.
    tail_encoding: TailEncoding::Classic,
    // Kernel brief §1.2: 5.19 optimizes when `pgmap_vmemmap_nr > 1`.
    reserve_nr_rule: false,
    // README §2: per 4 KiB atomic on head.
    fast_leaf: FastLeaf::PerPage,
    // README §2: per 4 KiB.
    slow_leaf: SlowLeaf::PerPage,
    // README §2: one per folio run.
    unpin: Unpin::PerFolioRun,
    // README §2: per sg range.
    umem_release: UmemRelease::PerSgRange,
    // Kernel brief §6.1 step 6: ≤ 6.1 contiguous.
    sg_merge: SgMerge::Contiguous,
    // README §2: keep 1 page (fake heads), kernel brief §1.4 (5.18+).
    hvo: Hvo::KeepOne,
    // Kernel brief appendix C: 5.12+.
    hugetlb_slow_batched: true,
    thp_slow_batched: false,
    // README §2 "FOLL_LONGTERM on devdax": slow path.
    dax_folios: false,
    // README §2 row "nr_memmap_pages": "—", the counter is 6.11 (kernel brief §9.7).
    memmap_accounting: MemmapAccounting::Absent,
    // kernels-2026 §2: leaves are devmap entries before 6.15, never special.
    dax_special: false,
};

/// `v6.12`, the long-term kernel.
const BRIEF_V6_12: Switches = Switches {
    // README §2: on.
    compound_devmap: true,
    // README §2: tail.
    dax_dedup: DaxDedup::Tail,
    // README §2: off.
    pmd_tail_reuse: false,
    // README §2: no.
    altmap_dedup: false,
    // README §2: unique only.
    memmap_init: MemmapInit::UniqueOnly,
    // Kernel brief §2.1: one per compound page in 5.17–6.14.
    pgmap_refs: PgmapRefs::PerCompound,
    // Kernel brief §3.2: classic.
    tail_encoding: TailEncoding::Classic,
    // Kernel brief §1.2: `V(N) > VMEMMAP_RESERVE_NR` from 6.5/6.6.
    reserve_nr_rule: true,
    // README §2: per 4 KiB atomic on head.
    fast_leaf: FastLeaf::PerPage,
    // README §2: PMD per 4 KiB, PUD batched (kernel brief §4.3: `follow_huge_pud` 6.10+).
    slow_leaf: SlowLeaf::PudBatched,
    // README §2: one per folio run.
    unpin: Unpin::PerFolioRun,
    // README §2: per sg range.
    umem_release: UmemRelease::PerSgRange,
    // Kernel brief §6.1 step 6, §3.4, appendix C (1567b49d1a40, 6.2): pgmap compare, which reads
    // word 1 of compound devmap pages in 6.2–6.14.
    sg_merge: SgMerge::PgmapWord1,
    // README §2: keep 1 page.
    hvo: Hvo::KeepOne,
    // Kernel brief appendix C: 5.12+.
    hugetlb_slow_batched: true,
    thp_slow_batched: true,
    // README §2 "FOLL_LONGTERM on devdax": slow path.
    dax_folios: false,
    // README §2 row "nr_memmap_pages": full size/64, also for altmap and dedup (kernel brief §9.7, §7).
    memmap_accounting: MemmapAccounting::FullSpan,
    // kernels-2026 §2: leaves are devmap entries before 6.15, never special.
    dax_special: false,
};

/// `v6.15`, DAX pages as ordinary folios.
const BRIEF_V6_15: Switches = Switches {
    // README §2: on.
    compound_devmap: true,
    // README §2: tail.
    dax_dedup: DaxDedup::Tail,
    // README §2: off.
    pmd_tail_reuse: false,
    // README §2: no.
    altmap_dedup: false,
    // README §2: unique only.
    memmap_init: MemmapInit::UniqueOnly,
    // Kernel brief §2.1, §9.5: per-compound pgmap refs dropped in 6.15.
    pgmap_refs: PgmapRefs::None,
    // Kernel brief §3.2: classic.
    tail_encoding: TailEncoding::Classic,
    // Kernel brief §1.2: 6.5+ rule.
    reserve_nr_rule: true,
    // README §2 6.15: GUP-fast refuses the (special) leaf; the devmap per-4 KiB code is still
    // in the tree (kernels-2026 §2.2: removed in 6.17), unused since DAX leaves are folios.
    fast_leaf: FastLeaf::PerPage,
    // README §2: batched (`page_mask`).
    slow_leaf: SlowLeaf::Batched,
    // README §2: one per folio run.
    unpin: Unpin::PerFolioRun,
    // README §2: per sg range.
    umem_release: UmemRelease::PerSgRange,
    // Kernel brief §3.4, §9.5: pgmap lives in the folio from 6.15.
    sg_merge: SgMerge::FolioPgmap,
    // README §2: keep 1 page.
    hvo: Hvo::KeepOne,
    // Kernel brief appendix C: 5.12+.
    hugetlb_slow_batched: true,
    thp_slow_batched: true,
    // README §2 "FOLL_LONGTERM on devdax": fast path without FOLL_WRITE (DAX folios, 6.15).
    dax_folios: true,
    // README §2 row "nr_memmap_pages": full size/64.
    memmap_accounting: MemmapAccounting::FullSpan,
    // README §2 6.15: refuses the leaf (marked special) → slow path (kernels-2026 §2.1).
    dax_special: true,
};

/// `v6.18` (6.17 on, the 2025 LTS): README §2 column 6.17 (kernels-2026 §2.2).
const BRIEF_V6_18: Switches = Switches {
    // README §2 6.17: one grab per leaf (no devmap bits, no pgmap lookup).
    fast_leaf: FastLeaf::PerLeaf,
    // README §2 6.17: leaves are plain folio leaves again.
    dax_special: false,
    ..BRIEF_V6_15
};

/// `v7.1`: README §2 column 7.1, HVO without fake heads (kernels-2026 §3).
const BRIEF_V7_1: Switches = Switches {
    // README §2 7.1: 1 page + shared RO tail per (zone, order).
    hvo: Hvo::SharedTail,
    // README §2 7.1: mask-encoded `compound_info`.
    tail_encoding: TailEncoding::Mask,
    ..BRIEF_V6_18
};

/// `v7.3` (7.2 on): README §2 column 7.2 (7.3), the NR_MEMMAP accounting fix (kernels-2026
/// §4.2).
const BRIEF_V7_3: Switches = Switches {
    // README §2 7.2: described memmap after dedup; altmap-hosted memmap still counted.
    memmap_accounting: MemmapAccounting::Described,
    ..BRIEF_V7_1
};

/// `v7.4`: README §2 column 7.4, device-dax on the section-based shared tail (kernels-2026
/// §4.3, inferred).
const BRIEF_V7_4: Switches = Switches {
    // README §2 7.4: shared tail per (zone, order), 1 frame per compound page.
    dax_dedup: DaxDedup::SharedTail,
    // README §2 7.4: all-tail PTE tables not shared, no altmap dedup.
    pmd_tail_reuse: false,
    altmap_dedup: false,
    ..BRIEF_V7_3
};

/// `next`, ours: 7.4 plus PMD-level reuse, altmap dedup and RAM-only accounting.
const BRIEF_NEXT: Switches = Switches {
    // README §2: on.
    compound_devmap: true,
    // README §2: as mm-2026.
    dax_dedup: DaxDedup::SharedTail,
    // README §2: on (devdax and HugeTLB).
    pmd_tail_reuse: true,
    // README §2: yes.
    altmap_dedup: true,
    // README §2: unique only.
    memmap_init: MemmapInit::UniqueOnly,
    // Kernel brief §2.1: none from 6.15.
    pgmap_refs: PgmapRefs::None,
    // Kernel brief §3.2: mask (README §2 HVO row "as mm-2026").
    tail_encoding: TailEncoding::Mask,
    // Kernel brief §1.2: 6.5+ rule, as mm-2026.
    reserve_nr_rule: true,
    // README §2: one grab per leaf.
    fast_leaf: FastLeaf::PerLeaf,
    // README §2: batched.
    slow_leaf: SlowLeaf::Batched,
    // README §2: one per folio run.
    unpin: Unpin::PerFolioRun,
    // README §2: per sg range.
    umem_release: UmemRelease::PerSgRange,
    // Kernel brief §3.4, §9.5: 6.15+ folio pgmap.
    sg_merge: SgMerge::FolioPgmap,
    // README §2: as mm-2026.
    hvo: Hvo::SharedTail,
    // Kernel brief appendix C: 5.12+.
    hugetlb_slow_batched: true,
    thp_slow_batched: true,
    // README §2 "FOLL_LONGTERM on devdax": as v6.15.
    dax_folios: true,
    // README §2 row "nr_memmap_pages": as mm-2026.
    memmap_accounting: MemmapAccounting::Allocated,
    // README §2: as 7.4 (special only in 6.15-6.16).
    dax_special: false,
};

/// Compares the listed switches of `$code` with `$brief`, naming every one that differs, and
/// fails once with all of them.
macro_rules! compare_switches {
    ($profile:expr, $code:expr, $brief:expr, [$($field:ident),+ $(,)?]) => {{
        let profile: &str = $profile;
        let code: Switches = $code;
        let brief: Switches = $brief;
        let mut diffs: Vec<String> = Vec::new();
        $(
            if code.$field != brief.$field {
                diffs.push(format!(
                    "switch {}: code {:?}, design brief {:?}",
                    stringify!($field),
                    code.$field,
                    brief.$field
                ));
            }
        )+
        assert!(
            diffs.is_empty(),
            "profile {profile} disagrees with the design table:\n  {}",
            diffs.join("\n  ")
        );
    }};
}

/// Asserts every switch of `profile` against the brief's `expected` row.
fn assert_matches_brief(profile: Profile, expected: Switches) {
    let code = profile.switches();
    // Exhaustive on purpose: a new switch must be added to the table above before this compiles.
    let Switches {
        compound_devmap: _,
        dax_dedup: _,
        pmd_tail_reuse: _,
        altmap_dedup: _,
        memmap_init: _,
        pgmap_refs: _,
        tail_encoding: _,
        reserve_nr_rule: _,
        fast_leaf: _,
        slow_leaf: _,
        unpin: _,
        umem_release: _,
        sg_merge: _,
        hvo: _,
        hugetlb_slow_batched: _,
        thp_slow_batched: _,
        dax_folios: _,
        memmap_accounting: _,
        dax_special: _,
    } = code;
    compare_switches!(
        &profile.to_string(),
        code,
        expected,
        [
            compound_devmap,
            dax_dedup,
            pmd_tail_reuse,
            altmap_dedup,
            memmap_init,
            pgmap_refs,
            tail_encoding,
            reserve_nr_rule,
            fast_leaf,
            slow_leaf,
            unpin,
            umem_release,
            sg_merge,
            hvo,
            hugetlb_slow_batched,
            thp_slow_batched,
            dax_folios,
            memmap_accounting,
            dax_special,
        ]
    );
}

#[test]
fn v5_10_switches_match_the_design_table() {
    assert_matches_brief(Profile::V5_10, BRIEF_V5_10);
}

#[test]
fn rfc_switches_match_the_design_table() {
    assert_matches_brief(Profile::RFC, BRIEF_RFC);
}

#[test]
fn v5_19_switches_match_the_design_table() {
    assert_matches_brief(Profile::V5_19, BRIEF_V5_19);
}

#[test]
fn v6_12_switches_match_the_design_table() {
    assert_matches_brief(Profile::V6_12, BRIEF_V6_12);
}

#[test]
fn v6_15_switches_match_the_design_table() {
    assert_matches_brief(Profile::V6_15, BRIEF_V6_15);
}

#[test]
fn v6_18_switches_match_the_design_table() {
    assert_matches_brief(Profile::V6_18, BRIEF_V6_18);
}

#[test]
fn v7_1_switches_match_the_design_table() {
    assert_matches_brief(Profile::V7_1, BRIEF_V7_1);
}

#[test]
fn v7_3_switches_match_the_design_table() {
    assert_matches_brief(Profile::V7_3, BRIEF_V7_3);
}

#[test]
fn v7_4_switches_match_the_design_table() {
    assert_matches_brief(Profile::V7_4, BRIEF_V7_4);
}

/// Releases between the named rows resolve by the history: an empty cell keeps the value to
/// its left (README §2), and a stable point release carries what was backported to it.
#[test]
fn releases_between_columns_take_the_row_to_their_left() {
    let at = |s: &str| s.parse::<Profile>().unwrap().switches();
    assert_eq!(at("6.14"), BRIEF_V6_12);
    assert_eq!(at("6.16"), BRIEF_V6_15);
    assert_eq!(at("6.17"), BRIEF_V6_18);
    assert_eq!(at("7.0"), BRIEF_V6_18);
    assert_eq!(at("7.1.0"), BRIEF_V7_1);
    // The NR_MEMMAP fix reached 7.1.6 (kernels-2026 §4.1).
    assert_eq!(at("7.1.5").memmap_accounting, MemmapAccounting::FullSpan);
    assert_eq!(at("7.1.6"), BRIEF_V7_3);
    // Booted: 6.12.117 counts by the fix, 6.18.15 does not (tests/data/kernels); a backport
    // reaches its own series only.
    let acc = |r: &str| at(r).memmap_accounting;
    assert_eq!(acc("6.12.117+deb13-amd64"), MemmapAccounting::Described);
    assert_eq!(acc("6.18.15+deb13-amd64"), MemmapAccounting::FullSpan);
    assert_eq!(acc("6.13"), MemmapAccounting::FullSpan);
    assert_eq!(acc("7.0.9"), MemmapAccounting::FullSpan);
    assert_eq!(at("7.1.13"), BRIEF_V7_3);
    assert_eq!(at("7.2"), BRIEF_V7_3);
    assert_eq!(at("7.3.4+deb13-amd64"), BRIEF_V7_3);
    assert_eq!(at("v7.2"), BRIEF_V7_3);
    // mm-2026 is an alias of 7.4 for one release.
    assert_eq!(at("mm-2026"), BRIEF_V7_4);
    assert_eq!("mm-2026".parse::<Profile>().unwrap().to_string(), "v7.4");
    // A release prints as given in numbers; overrides after a uname suffix still parse.
    let p: Profile = "7.3.4+deb13-amd64+unpin=per-page".parse().unwrap();
    assert_eq!(p.to_string(), "v7.3.4+unpin=per-page");
    assert_eq!(p.switches().unpin, Unpin::PerPage);
    assert!("seven".parse::<Profile>().is_err());
    assert!("mm-2027".parse::<Profile>().is_err());
    // The default is the newest stable release.
    assert_eq!(Profile::default(), Profile::V7_3);
}

#[test]
fn next_switches_match_the_design_table() {
    assert_matches_brief(Profile::NEXT, BRIEF_NEXT);
}

/// The named rows, oldest first (the releases issue's list).
#[test]
fn all_profiles_are_the_named_rows_in_order() {
    let expected = [
        Profile::V5_10,
        Profile::RFC,
        Profile::V5_19,
        Profile::V6_12,
        Profile::V6_15,
        Profile::V6_18,
        Profile::V7_1,
        Profile::V7_3,
        Profile::V7_4,
        Profile::NEXT,
    ];
    assert_eq!(ALL_PROFILES, expected, "ALL_PROFILES order");
    for p in ALL_PROFILES {
        assert!(
            p.overrides().is_empty(),
            "{p} is a named profile without overrides"
        );
        assert_eq!(
            p.base() == ProfileName::Release,
            !matches!(p.to_string().as_str(), "rfc" | "next")
        );
    }
}

/// Names as the rows print.
#[test]
fn profile_names_print_as_the_rows() {
    let names: Vec<String> = ALL_PROFILES.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        ["v5.10", "rfc", "v5.19", "v6.12", "v6.15", "v6.18", "v7.1", "v7.3", "v7.4", "next"],
        "profile names"
    );
    for p in ALL_PROFILES {
        assert_eq!(p.name(), p.to_string(), "name of {p}");
    }
}
