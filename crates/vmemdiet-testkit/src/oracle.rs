//! Brute-force vmemmap model. Every rule cites the brief section it models.
// MSRV 1.80 (workspace): `u64::is_multiple_of` is 1.87+.
#![allow(clippy::manual_is_multiple_of)]

use std::collections::{HashMap, HashSet};

/// 4 KiB base page (§1.1).
const PAGE: u64 = 4096;
/// `sizeof(struct page)` (§1.1).
const STRUCT_PAGE: u64 = 64;
/// Struct pages per vmemmap page, `K = P/S` (§1.1 notation).
const K: u64 = PAGE / STRUCT_PAGE;
/// `PAGES_PER_SECTION` for `SECTION_SIZE_BITS = 27` (§1.1).
const PAGES_PER_SECTION: u64 = 32768;
/// `PAGES_PER_SUBSECTION` (§1.1).
const PAGES_PER_SUBSECTION: u64 = 512;
/// `VMEMMAP_RESERVE_NR` (§1.2, 6.5+ rule `V(N) > 2`).
const VMEMMAP_RESERVE_NR: u64 = 2;
/// x86-64 `vmemmap_base`; struct page of pfn `p` lives at `VMEMMAP_BASE + p * 64`.
const VMEMMAP_BASE: u64 = 0xffff_ea00_0000_0000;
/// VA shift of the span one PTE table / PMD table / PUD table maps (2 MiB / 1 GiB / 512 GiB).
const PTE_TABLE_SHIFT: u32 = 21;
const PMD_TABLE_SHIFT: u32 = 30;
const PUD_TABLE_SHIFT: u32 = 39;
/// nd_pfn info block reserved at the start of a `map=dev` namespace (§1.3, `nd_pfn_init`).
const INFO_BLOCK: u64 = 8 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// One device to create on a fresh machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleConfig {
    /// Device size in bytes (multiple of 2 MiB and of `align`).
    pub size: u64,
    /// device-dax `align` (power of two, >= 4 KiB); sets `vmemmap_shift` (§1.2).
    pub align: u64,
    /// `true` = `ndctl --map=dev` (memmap in an altmap on the device, §1.3).
    pub map_dev: bool,
    /// Kernel profile: `v5.10`, `rfc`, `v5.19`, `v6.12`, `v6.15`, `mm-2026` or `next` (README §2).
    pub profile: String,
    /// RAM size; System RAM is `[1 MiB, 2 GiB)` and `[4 GiB, 2 GiB + ram_size)`.
    pub ram_size: u64,
}

/// The four counted quantities of README §4, plus the memmap size in struct pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleCounts {
    /// Distinct RAM frames mapped into the device's vmemmap, times 4 KiB.
    pub memmap_bytes: u64,
    /// New page-table frames (PTE, PMD, PUD tables) needed to map the device's vmemmap, times 4 KiB.
    pub pagetable_bytes: u64,
    /// Bytes of the device reserved for its own memmap (`map=dev` offset; 0 for `map=mem`).
    pub device_bytes: u64,
    /// Struct pages the memmap describes (`size / 4096`).
    pub struct_pages: u64,
    /// Struct pages written by memmap init (§2.3).
    pub struct_pages_initialized: u64,
    /// `/proc/vmstat` `nr_memmap_pages` as the profile's kernel reports it (README §2 last row,
    /// brief §9.7): absent before 6.11; 6.11–2025 the unoptimized span `pfns × 64 / 4096`, also
    /// with the memmap on the device; after the 2026 fix the RAM memmap pages really allocated.
    pub nr_memmap_pages: Option<u64>,
}

/// A simulated physical frame backing a vmemmap page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Frame {
    /// Buddy/RAM frame, numbered in allocation order.
    Ram(u64),
    /// Frame carved from the device altmap, named by its device pfn.
    Dev(u64),
}

/// A page-table page, named by the VA block it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Pte(u64),
    Pmd(u64),
    Pud(u64),
    /// `next`: the one all-tail PTE table per compound order (PMD-level reuse).
    SharedPte(u32),
}

/// Brute force: enumerates every vmemmap page / page-table slot of the device. Intended for sizes
/// up to a few GiB (and 1 GiB-aligned up to ~64 GiB); must be obviously correct, not fast.
///
/// # Panics
/// On an unknown profile or a malformed geometry (size not a multiple of 2 MiB or of `align`,
/// `align` not a power of two >= 4 KiB), and if a modelled invariant breaks (a vmemmap page mapped
/// twice, altmap exhausted).
#[must_use]
pub fn expected_counts(cfg: &OracleConfig) -> OracleCounts {
    let ok = cfg.align.is_power_of_two() && cfg.align >= PAGE && cfg.size % cfg.align == 0;
    assert!(
        ok && cfg.size > 0 && cfg.size % (2 * MIB) == 0,
        "bad geometry {cfg:?}"
    );
    // README §2 table: `mm-2026` shares one read-only tail page per order; `next` adds PMD-level
    // reuse of all-tail PTE tables and altmap dedup.
    let (has_compound, shared_tail, pmd_reuse, altmap_dedup) = match cfg.profile.as_str() {
        "v5.10" => (false, false, false, false),
        "rfc" | "v5.19" | "v6.12" | "v6.15" => (true, false, false, false),
        "mm-2026" => (true, true, false, false),
        "next" => (true, true, true, true),
        other => panic!("unknown profile {other:?}"),
    };
    let n = cfg.align / PAGE; // pfns per compound page, 1 << vmemmap_shift (§1.2)
    let compound = has_compound && n > 1;
    // vmemmap_can_optimize (§1.2, 6.5+ row): V(N) = n*S/P > VMEMMAP_RESERVE_NR and no altmap
    // (§1.3 "Altmap disables dedup entirely"); `next` lifts the altmap restriction (README §2).
    let dedup =
        compound && n * STRUCT_PAGE / PAGE > VMEMMAP_RESERVE_NR && (!cfg.map_dev || altmap_dedup);

    let start = (2 * GIB + cfg.ram_size).next_multiple_of(64 * GIB);
    let start_pfn = start / PAGE;
    let end_pfn = (start + cfg.size) / PAGE;

    // §1.3 nd_pfn_init: reserve = info block + memmap, rounded up to max(align, 2 MiB).
    let offset = if cfg.map_dev {
        let a = cfg.align.max(2 * MIB);
        let memmap = if altmap_dedup && dedup {
            (cfg.size / cfg.align) * PAGE // one head vmemmap page per compound page
        } else {
            STRUCT_PAGE * ((cfg.size - INFO_BLOCK) / PAGE)
        };
        (start + INFO_BLOCK + memmap).next_multiple_of(a) - start
    } else {
        0
    };

    let mut sim = Sim {
        start_pfn,
        n,
        order: n.trailing_zeros(),
        boot: boot_tables(cfg.ram_size),
        tables: HashSet::new(),
        vmemmap: HashMap::new(),
        next_ram: 0,
        altmap: cfg
            .map_dev
            .then_some((start_pfn + INFO_BLOCK / PAGE, start_pfn + offset / PAGE)),
        shared_tail: None,
        pmd_reuse,
    };

    // __add_pages: one populate call per 128 MiB section chunk, ascending (§1.2, §2.1).
    let mut pfn = start_pfn;
    while pfn < end_pfn {
        let chunk_end = ((pfn / PAGES_PER_SECTION + 1) * PAGES_PER_SECTION).min(end_pfn);
        match (dedup, shared_tail) {
            (true, false) => sim.populate_compound_classic(pfn, chunk_end),
            (true, true) => sim.populate_compound_shared(pfn, chunk_end),
            (false, _) => sim.populate_arch(pfn, chunk_end),
        }
        pfn = chunk_end;
    }

    // Every pfn of the device must now have its struct page mapped.
    assert_eq!(
        to_u64(sim.vmemmap.len()),
        (end_pfn - start_pfn) / K,
        "holes"
    );
    let ram_frames: HashSet<&Frame> = sim
        .vmemmap
        .values()
        .filter(|f| matches!(f, Frame::Ram(_)))
        .collect();

    let memmap_bytes = to_u64(ram_frames.len()) * PAGE;
    let nr_memmap_pages = match cfg.profile.as_str() {
        "v5.10" | "rfc" | "v5.19" => None,
        "v6.12" | "v6.15" => Some((end_pfn - start_pfn) * STRUCT_PAGE / PAGE),
        _ => Some(memmap_bytes / PAGE),
    };
    OracleCounts {
        nr_memmap_pages,
        memmap_bytes,
        pagetable_bytes: to_u64(sim.tables.len()) * PAGE,
        device_bytes: offset,
        struct_pages: end_pfn - start_pfn,
        struct_pages_initialized: sim.memmap_init((start + offset) / PAGE, end_pfn),
    }
}

fn to_u64(x: usize) -> u64 {
    u64::try_from(x).expect("usize fits u64")
}

fn vmemmap_va(pfn: u64) -> u64 {
    VMEMMAP_BASE + pfn * STRUCT_PAGE
}

/// The VAs of the 4 KiB vmemmap pages describing pfns `[pfn0, pfn1)`.
fn vmemmap_pages(pfn0: u64, pfn1: u64) -> impl Iterator<Item = u64> {
    let va0 = vmemmap_va(pfn0);
    assert!(va0 % PAGE == 0 && pfn1 % K == 0, "sub-page populate");
    (0..(pfn1 - pfn0) / K).map(move |i| va0 + i * PAGE)
}

/// Page-table pages that exist before the device: the boot memmap maps every 128 MiB section
/// containing System RAM with one 2 MiB PMD leaf (§9.4), so the PMD and PUD tables covering those
/// vmemmap VAs exist (no PTE tables). The PGD root is never counted.
fn boot_tables(ram_size: u64) -> HashSet<Table> {
    let ram = [(MIB, 2 * GIB), (4 * GIB, 2 * GIB + ram_size)];
    let section = PAGES_PER_SECTION * PAGE;
    let top = ram.iter().map(|r| r.1).max().unwrap_or(0);
    let mut boot = HashSet::new();
    for s in 0..top.div_ceil(section) {
        let (lo, hi) = (s * section, (s + 1) * section);
        if ram.iter().any(|&(a, b)| a < b && a < hi && lo < b) {
            let va = vmemmap_va(lo / PAGE);
            boot.insert(Table::Pmd(va >> PMD_TABLE_SHIFT));
            boot.insert(Table::Pud(va >> PUD_TABLE_SHIFT));
        }
    }
    boot
}

struct Sim {
    start_pfn: u64,
    /// pfns per compound page.
    n: u64,
    order: u32,
    boot: HashSet<Table>,
    /// Page-table pages newly allocated for the device.
    tables: HashSet<Table>,
    /// The device's vmemmap: 4 KiB vmemmap page VA -> frame its PTE / PMD leaf maps.
    vmemmap: HashMap<u64, Frame>,
    next_ram: u64,
    /// Altmap bump allocator `(next free pfn, first pfn past the reserve)`, `map=dev` only.
    altmap: Option<(u64, u64)>,
    /// `mm-2026`, `next`: the machine-wide read-only tail frame of this order, allocated
    /// lazily (§9.2, §9.11).
    shared_tail: Option<Frame>,
    /// `next`: a PTE table that maps only tails is one table shared at PMD level.
    pmd_reuse: bool,
}

impl Sim {
    /// `nr` new frames, contiguous: from RAM, or (`from_altmap`) from the altmap bump allocator,
    /// aligned to the request's size class and bounded by the reserve (§1.3 `vmem_altmap`).
    fn alloc(&mut self, nr: u64, from_altmap: bool) -> Vec<Frame> {
        if from_altmap {
            let (next, end) = self.altmap.as_mut().expect("altmap alloc without map=dev");
            let at = next.next_multiple_of(1 << nr.trailing_zeros());
            assert!(at + nr <= *end, "altmap exhausted: reserve too small");
            *next = at + nr;
            (at..at + nr).map(Frame::Dev).collect()
        } else {
            self.next_ram += nr;
            (self.next_ram - nr..self.next_ram)
                .map(Frame::Ram)
                .collect()
        }
    }

    fn need(&mut self, t: Table) {
        if !self.boot.contains(&t) {
            self.tables.insert(t);
        }
    }

    /// Install a mapping for vmemmap page `va`: the walk needs the PUD and PMD tables covering it,
    /// plus `pte` (the PTE table holding its entry; `None` for a PMD leaf).
    fn map(&mut self, va: u64, frame: Frame, pte: Option<Table>) {
        self.need(Table::Pud(va >> PUD_TABLE_SHIFT));
        self.need(Table::Pmd(va >> PMD_TABLE_SHIFT));
        if let Some(t) = pte {
            self.need(t);
        }
        assert!(
            self.vmemmap.insert(va, frame).is_none(),
            "vmemmap page {va:#x} mapped twice"
        );
    }

    /// Classic DAX dedup, `vmemmap_populate_compound_pages` (§1.2 steps 1-2, appendix A.1/A.2):
    /// each compound page gets a head frame and a reuse frame, the rest of its vmemmap pages alias
    /// the reuse frame; a chunk starting inside a compound larger than a subsection (continuation)
    /// maps every page to the frame mapped just before it. All 4 KiB PTEs.
    fn populate_compound_classic(&mut self, pfn0: u64, pfn1: u64) {
        let pte = Some(Table::Pte(vmemmap_va(pfn0) >> PTE_TABLE_SHIFT));
        if (pfn0 - self.start_pfn) % self.n != 0 && self.n > PAGES_PER_SUBSECTION {
            let prev = self.vmemmap[&(vmemmap_va(pfn0) - PAGE)];
            for va in vmemmap_pages(pfn0, pfn1) {
                self.map(va, prev, pte);
            }
            return;
        }
        let chunk = (vmemmap_va(pfn1) - vmemmap_va(pfn0)).min(self.n * STRUCT_PAGE);
        let mut reuse = None;
        for va in vmemmap_pages(pfn0, pfn1) {
            if (va - vmemmap_va(pfn0)) % chunk == 0 {
                // Head vmemmap page; the next one is the reuse page, aliased by the rest.
                let f = self.alloc(2, false);
                reuse = Some(f[1]);
                self.map(va, f[0], pte);
            } else {
                self.map(va, reuse.expect("chunk starts with a head"), pte);
            }
        }
    }

    /// `next` (README §2, §9.2 applied to DAX): each compound's head vmemmap page gets its own
    /// frame (altmap with `map=dev`), every other vmemmap page maps the shared read-only tail
    /// frame of this order. A section whose whole 2 MiB VA block holds only non-head vmemmap pages
    /// of one compound uses the shared all-tail PTE table of this order instead of its own.
    fn populate_compound_shared(&mut self, pfn0: u64, pfn1: u64) {
        let start_pfn = self.start_pfn;
        let index = move |va: u64| (va - VMEMMAP_BASE) / STRUCT_PAGE - start_pfn; // pfn offset
        let full_block = pfn0 % PAGES_PER_SECTION == 0 && pfn1 - pfn0 == PAGES_PER_SECTION;
        let compounds: HashSet<u64> = vmemmap_pages(pfn0, pfn1)
            .map(|va| index(va) / self.n)
            .collect();
        let has_head = vmemmap_pages(pfn0, pfn1).any(|va| index(va) % self.n == 0);
        let pte = if self.pmd_reuse && full_block && compounds.len() == 1 && !has_head {
            Table::SharedPte(self.order)
        } else {
            Table::Pte(vmemmap_va(pfn0) >> PTE_TABLE_SHIFT)
        };
        for va in vmemmap_pages(pfn0, pfn1) {
            let frame = if index(va) % self.n == 0 {
                let from_altmap = self.altmap.is_some();
                self.alloc(1, from_altmap)[0]
            } else if let Some(t) = self.shared_tail {
                t
            } else {
                let t = self.alloc(1, false)[0]; // on a fresh machine: first user allocates it
                self.shared_tail = Some(t);
                t
            };
            self.map(va, frame, Some(pte));
        }
    }

    /// No dedup: x86 `vmemmap_populate` (§1.2 per-section table, §9.4). A full section gets one
    /// 2 MiB PMD leaf (512 frames, from the altmap if any); a partial (sub-section) chunk gets
    /// base pages from RAM, ignoring the altmap, in a PTE table of its own.
    fn populate_arch(&mut self, pfn0: u64, pfn1: u64) {
        if pfn0 % PAGES_PER_SECTION == 0 && pfn1 - pfn0 == PAGES_PER_SECTION {
            let from_altmap = self.altmap.is_some();
            let frames = self.alloc(PAGES_PER_SECTION / K, from_altmap);
            for (va, f) in vmemmap_pages(pfn0, pfn1).zip(frames) {
                self.map(va, f, None);
            }
        } else {
            for va in vmemmap_pages(pfn0, pfn1) {
                let f = self.alloc(1, false)[0];
                self.map(va, f, Some(Table::Pte(va >> PTE_TABLE_SHIFT)));
            }
        }
    }

    /// memmap init (§2.3, `memmap_init_zone_device` from `start + offset`): every distinct
    /// writable struct page of `[pfn0, pfn1)` is written once. A struct page whose slot aliases an
    /// already written frame is not rewritten (classic dedup stops at 2K = 128 per compound), and
    /// the shared read-only tail of `next` is not written by init but once when it is allocated.
    fn memmap_init(&self, pfn0: u64, pfn1: u64) -> u64 {
        let mut written = HashSet::new();
        let mut count = 0;
        for va in vmemmap_pages(pfn0, pfn1.max(pfn0)) {
            let f = self.vmemmap[&va];
            if Some(f) != self.shared_tail && written.insert(f) {
                count += K;
            }
        }
        count + if self.shared_tail.is_some() { K } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(size: u64, align: u64, map_dev: bool, profile: &str) -> OracleCounts {
        let profile = profile.to_owned();
        expected_counts(&OracleConfig {
            size,
            align,
            map_dev,
            profile,
            ram_size: 16 * GIB,
        })
    }

    const M2: u64 = 2 * MIB;
    const P: u64 = PAGE;

    #[test]
    fn one_2m_compound_is_two_frames() {
        let c = counts(M2, M2, false, "v6.15");
        assert_eq!(c.memmap_bytes, 2 * P);
        assert_eq!(c.pagetable_bytes, 2 * P); // own PTE table + new PMD table
        assert_eq!(c.struct_pages_initialized, 128);
        assert_eq!(c.struct_pages, 512);
    }

    #[test]
    fn one_1g_compound_is_two_frames_and_eight_pte_tables() {
        let c = counts(GIB, GIB, false, "v5.19");
        assert_eq!(c.memmap_bytes, 2 * P);
        assert_eq!(c.pagetable_bytes, (8 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 128);
    }

    #[test]
    fn golden_64g() {
        let s = 64 * GIB;
        let c = counts(s, GIB, false, "v6.15");
        assert_eq!(c.memmap_bytes, 64 * 2 * P);
        assert_eq!(c.pagetable_bytes, (512 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 64 * 128);
        let c = counts(s, M2, false, "v6.12");
        assert_eq!(c.memmap_bytes, 32768 * 2 * P);
        assert_eq!(c.struct_pages_initialized, 32768 * 128);
        for align in [P, M2, GIB] {
            let c = counts(s, align, false, "v5.10");
            assert_eq!((c.memmap_bytes, c.pagetable_bytes), (s / 64, P));
            assert_eq!(c.struct_pages_initialized, s / P);
        }
        // 512 KiB: V = 2, not optimized; PMD leaves, every struct page written.
        let c = counts(s, 512 << 10, false, "v6.15");
        assert_eq!(
            (c.memmap_bytes, c.struct_pages_initialized),
            (s / 64, s / P)
        );
    }

    #[test]
    fn next_shared_tail_and_pmd_reuse() {
        let c = counts(64 * GIB, GIB, false, "next");
        assert_eq!(c.memmap_bytes, (64 + 1) * P);
        assert_eq!(c.pagetable_bytes, (64 + 1 + 1) * P); // own per GiB + shared + PMD
        assert_eq!(c.struct_pages_initialized, 64 * 64 + 64);
        let c = counts(4 * GIB, M2, false, "next");
        assert_eq!(c.memmap_bytes, (2048 + 1) * P);
        assert_eq!(c.pagetable_bytes, (32 + 1) * P); // no section is all-tail
        assert_eq!(c.struct_pages_initialized, 2048 * 64 + 64);
    }

    #[test]
    fn map_dev_classic_is_altmap_pmd_leaves() {
        let s = 64 * GIB;
        let c = counts(s, M2, true, "v6.15");
        let offset = (INFO_BLOCK + 64 * ((s - INFO_BLOCK) / P)).next_multiple_of(M2);
        assert_eq!(offset, GIB + M2);
        assert_eq!(c.device_bytes, offset);
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (0, P));
        assert_eq!(c.struct_pages_initialized, (s - offset) / P);
        let c = counts(s, GIB, true, "v6.15");
        assert_eq!(c.device_bytes, 2 * GIB);
        assert_eq!(c.struct_pages_initialized, (s - 2 * GIB) / P);
    }

    #[test]
    fn map_dev_next_dedups_into_altmap() {
        let c = counts(64 * GIB, GIB, true, "next");
        assert_eq!(c.device_bytes, GIB);
        assert_eq!(c.memmap_bytes, P); // only the shared tail is in RAM
        assert_eq!(c.pagetable_bytes, (64 + 1 + 1) * P);
        assert_eq!(c.struct_pages_initialized, 63 * 64 + 64);
        let c = counts(GIB, M2, true, "next");
        assert_eq!(c.device_bytes, 2 * M2); // 8 KiB + 512 head pages (2 MiB) rounds up to 4 MiB
        assert_eq!(c.memmap_bytes, P);
        assert_eq!(c.struct_pages_initialized, 510 * 64 + 64);
    }

    #[test]
    fn partial_section_uses_base_pages_in_ram() {
        // 64 MiB: one sub-section chunk; x86 ignores the altmap there.
        let c = counts(64 * MIB, P, true, "v5.10");
        assert_eq!(c.memmap_bytes, 64 * MIB / 64);
        assert_eq!(c.pagetable_bytes, 2 * P);
        // 128 MiB + 2 MiB: one altmap PMD leaf + 8 RAM frames in a PTE table.
        let c = counts(130 * MIB, P, true, "v6.15");
        assert_eq!((c.memmap_bytes, c.pagetable_bytes), (8 * P, 2 * P));
        assert_eq!(c.device_bytes, 4 * MIB);
    }

    #[test]
    fn pud_table_counted_past_boot_pud() {
        let cfg = |ram_size| OracleConfig {
            size: GIB,
            align: GIB,
            map_dev: false,
            profile: "rfc".into(),
            ram_size,
        };
        // RAM ends at 32 TiB: the device's vmemmap starts the second 512 GiB VA block (new PUD).
        assert_eq!(
            expected_counts(&cfg((32 << 40) - 2 * GIB)).pagetable_bytes,
            (8 + 1 + 1) * P
        );
        // RAM ends past 32 TiB: that PUD table pre-exists, only the PMD table is new.
        assert_eq!(expected_counts(&cfg(32 << 40)).pagetable_bytes, (8 + 1) * P);
        assert_eq!(expected_counts(&cfg(GIB)).pagetable_bytes, (8 + 1) * P);
    }
}
