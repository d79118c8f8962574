//! `mem_section[]`, the SPARSEMEM section table (`include/linux/mmzone.h`): which
//! (sub)sections have a memmap. State only; `mm/sparse.rs` changes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::addr::Pfn;
use crate::arch::Geometry;

/// One `struct mem_section`: which subsections are active, and whether the section came from
/// boot memory (`early_section`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemSection {
    /// `subsection_map`: bit i set when subsection i has a memmap.
    pub subsection_map: SubsectionMap,
    /// Populated at boot; its memmap is never freed.
    pub early: bool,
}

/// `mem_section[]`: present sections by section number.
#[derive(Debug, Default)]
pub(crate) struct Sparse {
    pub sections: HashMap<u64, MemSection>,
}

impl Sparse {
    /// Whether any pfn of `[lo, hi)` has a memmap (`pfn_valid` over a range): what the
    /// architectures check before freeing a vmemmap page or leaf that also describes pfns
    /// outside the range being removed (`vmemmap_pmd_is_unused`, `vmemmap_page_is_unused`).
    pub(crate) fn memmap_in_use(&self, g: &Geometry, lo: Pfn, hi: Pfn) -> bool {
        let pps = g.pages_per_section();
        let per = g.pages_per_subsection();
        (lo.as_u64() / pps..hi.as_u64().div_ceil(pps)).any(|nr| {
            self.sections.get(&nr).is_some_and(|ms| {
                let base = nr * pps;
                let first = lo.as_u64().max(base) - base;
                let last = hi.as_u64().min(base + pps) - base;
                ms.early
                    || ms.subsection_map.intersects(&SubsectionMap::range(
                        first / per,
                        last.div_ceil(per) - first / per,
                    ))
            })
        })
    }
}

/// The most subsections a section has on any architecture (`SUBSECTIONS_PER_SECTION`: 64 on
/// x86-64, 256 on arm64 with 64 KiB pages and 512 MiB sections).
pub(crate) const MAX_SUBSECTIONS: u64 = 256;

/// `subsection_map`: a bitmap of [`MAX_SUBSECTIONS`] bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubsectionMap([u64; 4]);

impl SubsectionMap {
    /// Bits `[first, first + count)` set (clipped to the bitmap).
    pub(crate) fn range(first: u64, count: u64) -> SubsectionMap {
        let mut m = SubsectionMap::default();
        for i in first..(first + count).min(MAX_SUBSECTIONS) {
            #[allow(clippy::cast_possible_truncation)]
            let w = (i / 64) as usize;
            m.0[w] |= 1 << (i % 64);
        }
        m
    }
    /// True if any bit is set in both.
    pub(crate) fn intersects(&self, other: &SubsectionMap) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
    /// Sets the bits of `other`.
    pub(crate) fn insert(&mut self, other: &SubsectionMap) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    /// Clears the bits of `other`.
    pub(crate) fn remove(&mut self, other: &SubsectionMap) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= !b;
        }
    }
    /// True if no bit is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subsection bitmap sets exactly the bits asked for, across word boundaries and
    /// clipped at the end; intersection, insertion and removal are bitwise.
    #[test]
    fn subsection_ranges_set_exactly_their_bits() {
        let m = SubsectionMap::range(62, 4);
        assert_eq!(m.0, [3 << 62, 0b11, 0, 0]);
        assert_eq!(SubsectionMap::range(250, 10).0, [0, 0, 0, 0b11_1111 << 58]);
        assert!(SubsectionMap::range(0, 0).is_empty());
        assert!(m.intersects(&SubsectionMap::range(65, 1)));
        assert!(!m.intersects(&SubsectionMap::range(66, 100)));
        let mut all = SubsectionMap::range(0, MAX_SUBSECTIONS);
        assert_eq!(all.0, [u64::MAX; 4]);
        all.remove(&m);
        assert_eq!(all.0, [!(3 << 62), !0b11, u64::MAX, u64::MAX]);
        all.insert(&m);
        assert_eq!(all.0, [u64::MAX; 4]);
    }
}

/// The zone a block is onlined to (`online_movable` / `online_kernel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnlineZone {
    /// ZONE_MOVABLE: daxctl's default.
    #[default]
    Movable,
    /// ZONE_NORMAL (`daxctl --no-movable`).
    Normal,
}

impl std::fmt::Display for OnlineZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OnlineZone::Movable => "movable",
            OnlineZone::Normal => "normal",
        })
    }
}

impl std::str::FromStr for OnlineZone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "movable" => Ok(OnlineZone::Movable),
            "normal" | "kernel" => Ok(OnlineZone::Normal),
            _ => Err(format!("zone '{s}': give movable or normal")),
        }
    }
}

/// The present and managed pages of the zones hot-added memory is onlined to
/// (`zone->present_pages`, `zone_managed_pages`): a block's self-hosted memmap is present but
/// not managed, so it is not in MemTotal.
#[derive(Debug, Default)]
pub struct Zones {
    present: [AtomicU64; 2],
    managed: [AtomicU64; 2],
}

impl Zones {
    fn index(zone: OnlineZone) -> usize {
        match zone {
            OnlineZone::Normal => 0,
            OnlineZone::Movable => 1,
        }
    }

    pub(crate) fn online(&self, zone: OnlineZone, present: u64, managed: u64) {
        let i = Self::index(zone);
        self.present[i].fetch_add(present, Ordering::Relaxed);
        self.managed[i].fetch_add(managed, Ordering::Relaxed);
    }

    pub(crate) fn offline(&self, zone: OnlineZone, present: u64, managed: u64) {
        let i = Self::index(zone);
        self.present[i].fetch_sub(present, Ordering::Relaxed);
        self.managed[i].fetch_sub(managed, Ordering::Relaxed);
    }

    /// Hot-added pages present in `zone`.
    #[must_use]
    pub fn present(&self, zone: OnlineZone) -> u64 {
        self.present[Self::index(zone)].load(Ordering::Relaxed)
    }

    /// Hot-added pages the buddy allocator manages in `zone` (what MemTotal gained).
    #[must_use]
    pub fn managed(&self, zone: OnlineZone) -> u64 {
        self.managed[Self::index(zone)].load(Ordering::Relaxed)
    }
}
