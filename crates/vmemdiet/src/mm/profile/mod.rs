//! Kernel profiles: which kernel behaviour a run models (design README §2). A profile is a
//! release: the switches in force at that release follow from the change history
//! ([`history::HISTORY`]), so `--profile 6.17`, `v7.2` or `7.3.4+deb13-amd64` (as `uname -r`
//! prints it) are all exact, point releases with their stable backports included. Two
//! profiles are not releases: `rfc`, the seed RFC as posted, and `next`, ours: 7.4 plus what no
//! tree has (shared all-tail PTE tables, dedup with the memmap on the device, `nr_memmap_pages`
//! counting only RAM frames).
//!
//! Each switch selects one of two (or three) small strategies at one place in the code.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::arch::{Geometry, KernelVersion};
use crate::mm::page::TailEncoding;

pub mod history;

/// What a profile stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileName {
    /// A kernel release: its switches are the change history's at that release.
    Release,
    /// The seed RFC (Dec 2020, on next-20201208), including its unmerged GUP patches.
    Rfc,
    /// Beyond any upstream tree: 7.4 plus what no tree has, shared all-tail PTE tables
    /// (PMD-level reuse), dedup with the memmap on the device (`--map dev`), and an
    /// `nr_memmap_pages` that counts only the RAM frames really allocated.
    Next,
}

/// What a run models: a release's (or `rfc`'s, or `next`'s) switches, possibly with some
/// overridden (`v7.3+unpin=per-page`). Printed and parsed as the name followed by the
/// overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Profile {
    name: ProfileName,
    /// The release the profile stands for (`rfc`: its base, 5.12; `next`: after every one).
    release: KernelVersion,
    switches: Switches,
    /// The [`ARCH_GATED`] switches the user set, by index in [`ARCH_GATED`], even to the named
    /// profile's value: what-ifs an architecture's Kconfig does not take away
    /// ([`Profile::switches_on`]).
    set: u32,
}

/// Switches an architecture's Kconfig can take away from a profile; setting one explicitly
/// (`v6.12+dax_dedup=tail` on arm64) makes it a what-if that stands.
pub const ARCH_GATED: [&str; 2] = ["dax_dedup", "hvo"];

/// The rows tables and the report show, oldest first: the seeds' baseline, the RFC, the
/// release that merged it, the long-term kernels (6.12, 6.18), each release that changed
/// something for these subjects, the newest stable release (7.3) and `next`.
pub const ALL_PROFILES: [Profile; 10] = [
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

/// `mm-2026`, the name of the mm tree's 2026 series before its parts were released, stays an
/// alias for one release: it is this release now.
pub const MM_2026_IS: KernelVersion = KernelVersion::new(7, 4);

/// How device-dax vmemmap is deduplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemmapInit {
    /// Every struct page of the range.
    All,
    /// Only the distinct ones (`compound_nr_pages`): the rest alias them.
    UniqueOnly,
    /// The distinct ones, each tail (and each order-0 page) a copy of one template struct
    /// page written field by field (Li Zhe, "template-copy ZONE_DEVICE memmap init" v4, June
    /// 2026: not merged; first bind of a 100 GB 2M device 313 -> 117 ms).
    TemplateCopy,
}

/// How many `dev_pagemap` references memremap takes up front (brief §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgmapRefs {
    /// One per page (≤ 5.16).
    PerPage,
    /// One per compound page (5.17–6.14).
    PerCompound,
    /// None: pages are refcounted folios (6.15+).
    None,
}

/// How GUP-fast handles a device-dax leaf (PMD/PUD/PTE) (brief §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FastLeaf {
    /// `__gup_device_huge`: per 4 KiB subpage, a `get_dev_pagemap` range check and one grab of
    /// one reference (on the page itself, or on its head when compound).
    PerPage,
    /// One `try_grab_folio_fast(head, refs)` per leaf (RFC patch 6, THP, DAX folios in 6.15).
    PerLeaf,
}

/// How the slow path (`__get_user_pages`) walks device-dax leaves (brief §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlowLeaf {
    /// `follow_devmap_pmd/pud`: one page-table walk and one grab per 4 KiB page.
    PerPage,
    /// PMD leaves per 4 KiB, PUD leaves batched (`follow_huge_pud` sets a PUD `page_mask`, 6.10+).
    PudBatched,
    /// One walk and one grab per leaf (`page_mask` batching; RFC `follow_devmap_page`).
    Batched,
}

/// How `unpin_user_pages` releases an array (brief §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unpin {
    /// One `unpin_user_page` (one atomic) per entry (≤ 5.11).
    PerPage,
    /// One atomic per run of entries in the same folio (`gup_folio_next`, 5.12+).
    PerFolioRun,
}

/// How `ib_umem` releases a registration (brief §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// What `/proc/vmstat` `nr_memmap_pages` reports for hot-added memmap (kernel brief §9.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemmapAccounting {
    /// The counter does not exist (before 6.11).
    Absent,
    /// 6.11–2025: every populate adds the unoptimized memmap of its span (`nr × 64 / 4096`),
    /// whatever the dedup and also when the memmap lives on the device: an over-count.
    FullSpan,
    /// 7.2 on (7.1.6 by backport), Muchun Song's fix (`section_nr_vmemmap_pages`): the memmap
    /// each section describes, after dedup: a section not optimized counts its span, an
    /// optimized one `VMEMMAP_OPTIMIZATION_PAGES` per compound page (the frames a compound
    /// page keeps: 2 with tail dedup, 1 with the shared tail), a compound page larger than a
    /// section only in the section of its head. An altmap is never optimized, so memmap on the
    /// device counts its span too; page tables and the shared tail frame are not counted.
    Described,
    /// `next`: the memmap pages really allocated from RAM (optimized pages only; the device's
    /// altmap pages and page-table pages are not counted).
    Allocated,
}

/// The switches of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// The slow path takes one walk and one batched reference per THP PMD leaf (`page_mask`
    /// set by `follow_huge_pmd` and kept with a page array: Peter Xu, "mm/gup: accelerate thp
    /// gup even for pages != NULL", 6.5) instead of one per 4 KiB subpage.
    pub thp_slow_batched: bool,
    /// Device-dax leaves are ordinary folio mappings (6.15+): a mapping holds a folio reference
    /// and a mapcount, and FOLL_LONGTERM pins take the fast path unless they also write (DAX
    /// folios are file-backed, which `gup_fast_folio_allowed` refuses for long-term write pins);
    /// before, they are `devmap` pfn mappings with no reference, whose long-term pins always
    /// fall back to the slow path.
    pub dax_folios: bool,
    /// How `nr_memmap_pages` counts hot-added memmap.
    pub memmap_accounting: MemmapAccounting,
    /// 6.15–6.16: device-dax PMD/PUD leaves inserted by `vmf_insert_folio_pmd/pud` are marked
    /// *special*, so GUP-fast refuses them and the slow path does the work (fixed in 6.17,
    /// "mm/huge_memory: don't mark refcounted folios special").
    pub dax_special: bool,
}

impl Profile {
    /// Linux 5.10: no compound devmaps, no dedup; the seeds' "before".
    pub const V5_10: Profile = Profile::release(KernelVersion::new(5, 10));
    /// The seed RFC.
    pub const RFC: Profile = Profile {
        name: ProfileName::Rfc,
        release: KernelVersion::new(5, 12),
        switches: history::RFC,
        set: 0,
    };
    /// Linux 5.19: compound devmaps with tail dedup, as merged.
    pub const V5_19: Profile = Profile::release(KernelVersion::new(5, 19));
    /// Linux 6.12 LTS.
    pub const V6_12: Profile = Profile::release(KernelVersion::new(6, 12));
    /// Linux 6.15: DAX pages are refcounted folios, their leaves marked special.
    pub const V6_15: Profile = Profile::release(KernelVersion::new(6, 15));
    /// Linux 6.18 LTS: devmap gone (6.17), one grab per devdax leaf on the fast path.
    pub const V6_18: Profile = Profile::release(KernelVersion::new(6, 18));
    /// Linux 7.1: HugeTLB vmemmap optimization without fake heads.
    pub const V7_1: Profile = Profile::release(KernelVersion::new(7, 1));
    /// Linux 7.3, the newest stable release (the default): `nr_memmap_pages` fixed in 7.2.
    pub const V7_3: Profile = Profile::release(KernelVersion::new(7, 3));
    /// Linux 7.4-rc: device-dax with one vmemmap frame per compound page and a shared tail.
    pub const V7_4: Profile = Profile::release(KernelVersion::new(7, 4));
    /// Ours, beyond the kernel.
    pub const NEXT: Profile = Profile {
        name: ProfileName::Next,
        release: KernelVersion::with_patch(u32::MAX, 0, 0),
        switches: history::NEXT,
        set: 0,
    };

    /// The profile of a kernel release: the change history's switches at `release`.
    #[must_use]
    pub const fn release(release: KernelVersion) -> Profile {
        Profile {
            name: ProfileName::Release,
            release,
            switches: history::switches_at(release),
            set: 0,
        }
    }

    /// The profile of a release string as `uname -r` prints it (`7.3.4+deb13-amd64`), or as
    /// users write it (`6.17`, `v7.2`); `None` when it names no release or one before the
    /// history's start, 5.10 (the seeds' baseline).
    #[must_use]
    pub fn for_release(s: &str) -> Option<Profile> {
        KernelVersion::parse(s)
            .filter(|v| KernelVersion::new(5, 10).at_or_before(*v))
            .map(Profile::release)
    }

    /// What the profile stands for.
    #[must_use]
    pub const fn base(self) -> ProfileName {
        self.name
    }

    /// The release the profile stands for, compared with the releases in which an
    /// architecture gained a feature (`arch::ArchFeatures`): `rfc` is the seed RFC's base
    /// (5.12), `next` comes after every release.
    #[must_use]
    pub const fn kernel(self) -> KernelVersion {
        self.release
    }

    /// True for `next`, the what-ifs in no tree.
    #[must_use]
    pub const fn is_next(self) -> bool {
        matches!(self.name, ProfileName::Next)
    }

    /// The name users type: `v7.3`, `v7.1.6`, `rfc`, `next`.
    #[must_use]
    pub fn name(self) -> String {
        match self.name {
            ProfileName::Release => format!("v{}", self.release),
            ProfileName::Rfc => "rfc".into(),
            ProfileName::Next => "next".into(),
        }
    }

    /// The switches in force.
    #[must_use]
    pub const fn switches(self) -> Switches {
        self.switches
    }

    /// How `given` (what a user typed) resolved, when it is not this profile's own name:
    /// `7.3.4+deb13-amd64 is v7.3.4, the switches of v7.3`, or the `mm-2026` alias.
    #[must_use]
    pub fn resolution(self, given: &str) -> Option<String> {
        let name = self.to_string();
        if given == name || format!("v{given}") == name {
            return None;
        }
        if given.split('+').next() == Some("mm-2026") {
            return Some(format!(
                "profile mm-2026 is {name} now: its parts were released (an alias for one more release)"
            ));
        }
        let row = ALL_PROFILES
            .iter()
            .filter(|p| p.base() == ProfileName::Release && p.kernel() <= self.kernel())
            .rfind(|p| p.switches() == self.base_switches())
            .map_or_else(String::new, |p| format!(", the switches of {p}"));
        Some(format!("profile {given} is {name}{row}"))
    }

    /// The switches of the profile this one starts from, without overrides.
    #[must_use]
    pub const fn base_switches(self) -> Switches {
        match self.name {
            ProfileName::Release => history::switches_at(self.release),
            ProfileName::Rfc => history::RFC,
            ProfileName::Next => history::NEXT,
        }
    }

    /// The switches in force on the architecture of `g`: what its Kconfig lacks in this
    /// release (device-dax vmemmap dedup, HVO) is off, unless the user set that switch as a
    /// what-if ("if arm64 selected ARCH_WANT_OPTIMIZE_DAX_VMEMMAP").
    #[must_use]
    pub fn switches_on(self, g: &Geometry) -> Switches {
        let mut sw = self.switches;
        let v = self.release;
        if !g.features.dax_dedup(v) && !self.is_set("dax_dedup") {
            sw.dax_dedup = DaxDedup::None;
            sw.pmd_tail_reuse = false;
            sw.altmap_dedup = false;
        }
        if !g.features.hvo(v) && !self.is_set("hvo") {
            sw.hvo = Hvo::Off;
        }
        sw
    }

    /// The profile with switch `name` set to `value` (`--switch name=value`); the combination
    /// must be one the model can run.
    pub fn with_switch(self, name: &str, value: &str) -> Result<Profile, SwitchError> {
        self.with_switches([format!("{name}={value}").as_str()])
    }

    /// The profile with every `name=value` of `overrides` applied.
    pub fn with_switches<'a>(
        self,
        overrides: impl IntoIterator<Item = &'a str>,
    ) -> Result<Profile, SwitchError> {
        let mut switches = self.switches;
        let mut set = self.set;
        for o in overrides {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| SwitchError::NotAssignment(o.to_string()))?;
            switches.set(k, v)?;
            if let Some(i) = ARCH_GATED.iter().position(|&n| n == k) {
                set |= 1 << i;
            }
        }
        // Checked once all are set, so their order does not matter.
        switches.check()?;
        Ok(Profile {
            switches,
            set,
            ..self
        })
    }

    /// The switches the user set or that differ from the named profile, as `(name, value)`.
    #[must_use]
    pub fn overrides(self) -> Vec<(&'static str, &'static str)> {
        let base = self.base_switches();
        switch_list()
            .into_iter()
            .filter_map(|(name, _, _)| {
                let v = self.switches.get(name)?;
                (base.get(name) != Some(v) || self.is_set(name)).then_some((name, v))
            })
            .collect()
    }

    /// Whether the user set the [`ARCH_GATED`] switch `name`.
    fn is_set(self, name: &str) -> bool {
        ARCH_GATED
            .iter()
            .position(|&n| n == name)
            .is_some_and(|i| self.set & (1 << i) != 0)
    }
}

impl Default for Profile {
    /// The newest stable release.
    fn default() -> Self {
        Profile::V7_3
    }
}

/// The profile as users write it: the name, then `+switch=value` for each override
/// (`v6.15+unpin=per-page+hvo=off`).
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        for (k, v) in self.overrides() {
            write!(f, "+{k}={v}")?;
        }
        Ok(())
    }
}

impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Profile {
    type Err = String;
    /// A release (`6.17`, `v7.2`, `7.3.4+deb13-amd64`), `rfc`, `next` or the alias `mm-2026`,
    /// then `+switch=value` overrides. A `+` part without `=` belongs to the release string
    /// (`uname -r` suffixes).
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('+').collect();
        let n = parts
            .iter()
            .position(|p| p.contains('='))
            .unwrap_or(parts.len());
        let name = parts[..n].join("+");
        let base = match name.as_str() {
            "rfc" => Profile::RFC,
            "next" => Profile::NEXT,
            "mm-2026" => Profile::release(MM_2026_IS),
            other => Profile::for_release(other).ok_or_else(|| {
                format!(
                    "unknown profile '{other}'; give a release from 5.10 on (6.17, v7.2, 7.3.4+deb13-amd64 as uname -r prints it) or one of: {}",
                    ALL_PROFILES.map(Profile::name).join(", ")
                )
            })?,
        };
        base.with_switches(parts[n..].iter().copied())
            .map_err(|e| format!("profile '{s}': {e}"))
    }
}

/// A value of a switch, named as `--switch` spells it.
pub trait SwitchValue: Copy + Sized {
    /// Every value, as users write them.
    const NAMES: &'static [&'static str];
    /// This value's name.
    fn value_name(self) -> &'static str;
    /// The value named `s`.
    fn parse_value(s: &str) -> Option<Self>;
}

impl SwitchValue for bool {
    const NAMES: &'static [&'static str] = &["on", "off"];
    fn value_name(self) -> &'static str {
        if self {
            "on"
        } else {
            "off"
        }
    }
    fn parse_value(s: &str) -> Option<bool> {
        match s {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        }
    }
}

/// Names the values of a switch enum (exhaustively: a new variant needs a name).
macro_rules! switch_values {
    ($ty:ty { $($var:path => $name:literal),+ $(,)? }) => {
        impl SwitchValue for $ty {
            const NAMES: &'static [&'static str] = &[$($name),+];
            fn value_name(self) -> &'static str {
                match self {
                    $($var => $name),+
                }
            }
            fn parse_value(s: &str) -> Option<Self> {
                [$($var),+].into_iter().find(|v| v.value_name() == s)
            }
        }
    };
}

switch_values!(DaxDedup { DaxDedup::None => "none", DaxDedup::Tail => "tail", DaxDedup::SharedTail => "shared-tail" });
switch_values!(MemmapInit { MemmapInit::All => "all", MemmapInit::UniqueOnly => "unique-only", MemmapInit::TemplateCopy => "template-copy" });
switch_values!(PgmapRefs { PgmapRefs::PerPage => "per-page", PgmapRefs::PerCompound => "per-compound", PgmapRefs::None => "none" });
switch_values!(TailEncoding { TailEncoding::Classic => "classic", TailEncoding::Mask => "mask" });
switch_values!(FastLeaf { FastLeaf::PerPage => "per-page", FastLeaf::PerLeaf => "per-leaf" });
switch_values!(SlowLeaf { SlowLeaf::PerPage => "per-page", SlowLeaf::PudBatched => "pud-batched", SlowLeaf::Batched => "batched" });
switch_values!(Unpin { Unpin::PerPage => "per-page", Unpin::PerFolioRun => "per-folio-run" });
switch_values!(UmemRelease { UmemRelease::PerPage => "per-page", UmemRelease::PerSgFolioRuns => "per-sg-folio-runs", UmemRelease::PerSgRange => "per-sg-range" });
switch_values!(SgMerge { SgMerge::Contiguous => "contiguous", SgMerge::PgmapWord1 => "pgmap-word1", SgMerge::FolioPgmap => "folio-pgmap" });
switch_values!(MemmapAccounting { MemmapAccounting::Absent => "absent", MemmapAccounting::FullSpan => "full-span", MemmapAccounting::Described => "described", MemmapAccounting::Allocated => "allocated" });
switch_values!(Hvo { Hvo::Off => "off", Hvo::KeepOne => "keep-one", Hvo::SharedTail => "shared-tail" });

/// Why a switch override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    #[error("unknown switch '{0}'; valid: {valid}", valid = switch_list().iter().map(|s| s.0).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    #[error("switch {name} has no value '{value}'; valid: {valid}")]
    BadValue {
        name: &'static str,
        value: String,
        valid: String,
    },
    #[error("'{0}' is not a switch assignment; give name=value, e.g. unpin=per-page")]
    NotAssignment(String),
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// The switch table: field, value type, and what it selects. One line per switch, so
/// `--help`, parsing and printing cannot drift apart.
macro_rules! switch_table {
    ($($field:ident : $ty:ty => $help:literal),+ $(,)?) => {
        /// One switch set to one value: a cell of the change history ([`history::HISTORY`]).
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Set {
            $($field($ty)),+
        }

        impl Set {
            /// Sets the switch in `s`.
            pub const fn apply(self, s: &mut Switches) {
                match self {
                    $(Set::$field(v) => s.$field = v,)+
                }
            }

            /// The switch's name.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $(Set::$field(_) => stringify!($field),)+
                }
            }

            /// The value, as users write it.
            #[must_use]
            pub fn value(self) -> &'static str {
                match self {
                    $(Set::$field(v) => v.value_name(),)+
                }
            }
        }

        /// Every switch: its name, what it selects, and its values.
        #[must_use]
        pub fn switch_list() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
            vec![$((stringify!($field), $help, <$ty as SwitchValue>::NAMES)),+]
        }

        impl Switches {
            /// The value of switch `name`, as users write it.
            #[must_use]
            pub fn get(&self, name: &str) -> Option<&'static str> {
                match name {
                    $(stringify!($field) => Some(self.$field.value_name()),)+
                    _ => None,
                }
            }

            /// Sets switch `name` to the value named `value`.
            pub fn set(&mut self, name: &str, value: &str) -> Result<(), SwitchError> {
                match name {
                    $(stringify!($field) => {
                        self.$field = <$ty as SwitchValue>::parse_value(value).ok_or_else(|| {
                            SwitchError::BadValue {
                                name: stringify!($field),
                                value: value.to_string(),
                                valid: <$ty as SwitchValue>::NAMES.join(", "),
                            }
                        })?;
                        Ok(())
                    })+
                    _ => Err(SwitchError::Unknown(name.to_string())),
                }
            }
        }
    };
}

switch_table! {
    compound_devmap: bool => "vmemmap_shift from the device-dax align (compound ZONE_DEVICE pages)",
    dax_dedup: DaxDedup => "device-dax vmemmap dedup scheme",
    pmd_tail_reuse: bool => "share PTE tables that map only tails (PMD-level reuse)",
    altmap_dedup: bool => "dedup also with the memmap on the device (--map dev)",
    memmap_init: MemmapInit => "which struct pages memmap init writes",
    pgmap_refs: PgmapRefs => "dev_pagemap references memremap takes up front",
    tail_encoding: TailEncoding => "how a tail records its head (head|1, or mask|1)",
    reserve_nr_rule: bool => "vmemmap_can_optimize needs more than VMEMMAP_RESERVE_NR pages (6.5+)",
    fast_leaf: FastLeaf => "GUP-fast on a device-dax leaf",
    slow_leaf: SlowLeaf => "the GUP slow path on device-dax leaves",
    unpin: Unpin => "unpin_user_pages: per page or per folio run",
    umem_release: UmemRelease => "RDMA ib_umem release",
    sg_merge: SgMerge => "scatterlist merge rule for device pages",
    hvo: Hvo => "HugeTLB vmemmap optimization",
    hugetlb_slow_batched: bool => "slow-path GUP on HugeTLB takes one reference per huge page",
    thp_slow_batched: bool => "slow-path GUP on a THP takes one walk and reference per PMD (6.5+)",
    dax_folios: bool => "device-dax leaves are refcounted folio mappings (6.15+)",
    memmap_accounting: MemmapAccounting => "what /proc/vmstat nr_memmap_pages counts for hot-added memmap",
    dax_special: bool => "device-dax PMD/PUD leaves are marked special: GUP-fast refuses them (6.15-6.16)",
}

impl Switches {
    /// Refuses combinations the model cannot run: a shared tail frame is only possible when
    /// every tail of an order is identical (mask encoding); all-tail tables need shared tails.
    pub fn check(&self) -> Result<(), SwitchError> {
        let shared = self.dax_dedup == DaxDedup::SharedTail || self.hvo == Hvo::SharedTail;
        if shared && self.tail_encoding != TailEncoding::Mask {
            return Err(SwitchError::Inconsistent(
                "dax_dedup=shared-tail and hvo=shared-tail need tail_encoding=mask (tails must be identical to share a frame)",
            ));
        }
        if self.pmd_tail_reuse && self.dax_dedup != DaxDedup::SharedTail {
            return Err(SwitchError::Inconsistent(
                "pmd_tail_reuse=on needs dax_dedup=shared-tail (only shared tails make all-tail tables identical)",
            ));
        }
        if self.dax_dedup != DaxDedup::None && !self.compound_devmap {
            return Err(SwitchError::Inconsistent(
                "dax_dedup needs compound_devmap=on (dedup works on compound pages)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_profiles_print_and_parse_as_their_names() {
        for p in ALL_PROFILES {
            assert!(p.overrides().is_empty());
            assert_eq!(p.to_string().parse::<Profile>().unwrap(), p);
        }
        assert_eq!(Profile::default(), Profile::V7_3);
        assert_eq!(Profile::RFC.to_string(), "rfc");
    }

    #[test]
    fn overrides_print_after_the_name_and_parse_back() {
        let p = Profile::V6_15
            .with_switches(["unpin=per-page", "hvo=off"])
            .unwrap();
        assert_eq!(p.to_string(), "v6.15+unpin=per-page+hvo=off");
        assert_eq!(p.switches().unpin, Unpin::PerPage);
        assert_eq!(p.switches().hvo, Hvo::Off);
        assert_eq!(p.kernel(), KernelVersion::new(6, 15));
        assert_eq!(p.to_string().parse::<Profile>().unwrap(), p);
        // Setting a switch to the profile's own value is no override.
        let same = Profile::V6_15
            .with_switch("unpin", "per-folio-run")
            .unwrap();
        assert_eq!(same, Profile::V6_15);
        assert_eq!(same.to_string(), "v6.15");
        // ...except for a switch an arch can take away: set, it is a what-if that stands.
        let what_if = Profile::V6_12.with_switch("dax_dedup", "tail").unwrap();
        assert_eq!(what_if.to_string(), "v6.12+dax_dedup=tail");
        assert_eq!(what_if.to_string().parse::<Profile>().unwrap(), what_if);
        let arm64 = crate::arch::ARM64_64K;
        assert_eq!(Profile::V6_12.switches_on(&arm64).dax_dedup, DaxDedup::None);
        assert_eq!(what_if.switches_on(&arm64).dax_dedup, DaxDedup::Tail);
        assert_eq!(Profile::V5_19.switches_on(&arm64).hvo, Hvo::KeepOne);
        assert_eq!(Profile::V6_12.switches_on(&arm64).hvo, Hvo::Off);
    }

    #[test]
    fn bad_overrides_are_refused_with_the_valid_choices() {
        let e = Profile::V6_15.with_switch("nope", "on").unwrap_err();
        assert!(matches!(e, SwitchError::Unknown(_)));
        assert!(e.to_string().contains("dax_folios"), "{e}");
        let e = Profile::V6_15.with_switch("hvo", "maybe").unwrap_err();
        assert_eq!(
            e.to_string(),
            "switch hvo has no value 'maybe'; valid: off, keep-one, shared-tail"
        );
        let e = Profile::V6_15.with_switches(["unpin"]).unwrap_err();
        assert!(matches!(e, SwitchError::NotAssignment(_)));
        assert!(matches!(
            Profile::NEXT.with_switch("tail_encoding", "classic"),
            Err(SwitchError::Inconsistent(_))
        ));
        assert!(matches!(
            Profile::V6_15.with_switch("pmd_tail_reuse", "on"),
            Err(SwitchError::Inconsistent(_))
        ));
        assert!(matches!(
            Profile::V6_15.with_switch("compound_devmap", "off"),
            Err(SwitchError::Inconsistent(_))
        ));
        let e = "v-nine".parse::<Profile>().unwrap_err();
        assert!(
            e.contains("give a release") && e.contains("one of: v5.10"),
            "{e}"
        );
    }

    #[test]
    fn every_switch_is_listed_settable_and_readable() {
        let list = switch_list();
        assert_eq!(list.len(), 19);
        let mut s = Profile::V5_10.switches();
        for (name, help, values) in list {
            assert!(!help.is_empty());
            for v in values {
                s.set(name, v).unwrap();
                assert_eq!(s.get(name), Some(*v), "{name}={v}");
            }
        }
    }
}
