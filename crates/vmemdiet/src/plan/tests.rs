//! The planner's closed-form rules, each from a kernel fact: golden numbers per TiB, the
//! counters by release, the what-ifs and the refusals.

use super::altmap::AltmapBump;
use super::blocks::{new_blocks, new_blocks_of};
use super::*;
use crate::addr::ByteSize;
use crate::arch::Arch;
use crate::drivers::dax::{MapMode, MemmapCost};
use crate::mm::profile::Profile;

#[test]
fn new_blocks_merge_overlapping_and_adjacent_ranges_and_skip_taken_ones() {
    // Blocks of 10: [5, 25) touches 0, 1, 2; [20, 41) touches 2, 3, 4: five blocks.
    assert_eq!(new_blocks_of(&[(5, 25), (20, 41)], 10, &[]), 5);
    // Disjoint ranges with a gap count separately, the gap not at all.
    assert_eq!(new_blocks_of(&[(0, 10), (50, 60)], 10, &[]), 2);
    // Order does not matter.
    assert_eq!(new_blocks_of(&[(50, 60), (0, 10)], 10, &[]), 2);
    // An empty range, even unaligned, touches nothing.
    assert_eq!(new_blocks_of(&[(15, 15)], 10, &[]), 0);
    // Taken blocks are not new; a taken range touching the same block takes it.
    assert_eq!(new_blocks_of(&[(0, 100)], 10, &[(0, 1), (95, 100)]), 8);
    assert_eq!(new_blocks_of(&[(0, 100)], 10, &[(30, 41), (35, 45)]), 8);
}

#[test]
fn altmap_bump_aligns_blocks_to_their_size_and_runs_of_pages_not_at_all() {
    let r = crate::drivers::nd_pfn::PfnReserve {
        offset: ByteSize::mib(2),
        base_pfn: crate::addr::Pfn::new(1000),
        reserve: 3,
        free: 600,
    };
    let mut b = AltmapBump::new(&r);
    // First free pfn 1003; a 512-pfn block starts at the next multiple of 512: 1024.
    assert!(b.alloc(512));
    assert_eq!(b.next, 1536);
    // 67 pfns are left (end 1603): a run of 67 single pages fits exactly, one more does not.
    assert!(b.alloc_pages(67));
    assert_eq!(b.next, 1603);
    assert!(!b.alloc_pages(1));
    assert!(!b.alloc(1));
    // A block that would cross the end is refused and leaves the cursor.
    let mut b = AltmapBump::new(&r);
    assert!(b.alloc_pages(2));
    assert!(!b.alloc(1024));
    assert_eq!(b.next, 1005);
}

fn p(size: ByteSize, align: ByteSize, profile: Profile) -> MemmapCost {
    plan(&PlanConfig::new(size, align, MapMode::Mem, profile)).unwrap()
}

#[test]
fn golden_numbers_per_tib() {
    let tib = ByteSize::tib(1);
    // 16 GiB at 4K (PMD-mapped: 16 PMD tables, 64 KiB).
    let c = p(tib, ByteSize::kib(4), Profile::V6_15);
    assert_eq!(c.memmap_bytes, 16 << 30);
    assert_eq!(c.pagetable_bytes, 16 * 4096);
    // 4 GiB at 2M with 32 MiB of PTE tables plus the 16 PMD tables.
    let c = p(tib, ByteSize::mib(2), Profile::V6_15);
    assert_eq!(c.memmap_bytes, 4 << 30);
    assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
    assert_eq!(c.struct_pages_initialized, (1 << 28) / 512 * 128);
    // 8 MiB at 1G.
    let c = p(tib, ByteSize::gib(1), Profile::V6_15);
    assert_eq!(c.memmap_bytes, 8 << 20);
    assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
    assert_eq!(c.struct_pages_initialized, 1024 * 128);
    // v5.10 pays 16 GiB at every align.
    for a in [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)] {
        assert_eq!(p(tib, a, Profile::V5_10).memmap_bytes, 16 << 30);
        assert_eq!(p(tib, a, Profile::V5_10).struct_pages_initialized, 1 << 28);
    }
}

#[test]
fn next_halves_2m_and_shares_tail_tables_at_1g() {
    let tib = ByteSize::tib(1);
    let c = p(tib, ByteSize::mib(2), Profile::NEXT);
    assert_eq!(c.memmap_bytes, (2 << 30) + 4096);
    let c = p(tib, ByteSize::gib(1), Profile::NEXT);
    assert_eq!(c.memmap_bytes, (4 << 20) + 4096);
    assert_eq!(c.pagetable_bytes, (1024 + 1 + 16) * 4096);
}

#[test]
fn mm_2026_keeps_one_vmemmap_page_per_compound_page_plus_the_shared_tail() {
    // Brief §9.11: 2 GiB at 2M and 4 MiB at 1G per TiB, plus the per-zone shared page; the
    // PTE tables are not shared (32 MiB plus the 16 PMD tables, as in v6.15).
    let tib = ByteSize::tib(1);
    let c = p(tib, ByteSize::mib(2), Profile::V7_4);
    assert_eq!(c.memmap_bytes, (2 << 30) + 4096);
    assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
    let c = p(tib, ByteSize::gib(1), Profile::V7_4);
    assert_eq!(c.memmap_bytes, (4 << 20) + 4096);
    assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
    // 64 struct pages of each head page, and the 64 of the shared tail once.
    assert_eq!(c.struct_pages_initialized, 1024 * 64 + 64);
    // HugeTLB the same.
    let h =
        |align| plan(&PlanConfig::new(tib, align, MapMode::Mem, Profile::V7_4).hugetlb()).unwrap();
    assert_eq!(h(ByteSize::mib(2)).memmap_bytes, (2 << 30) + 4096);
    assert_eq!(h(ByteSize::gib(1)).memmap_bytes, (4 << 20) + 4096);
    // No dedup with the memmap on the device: the reserve is v6.15's.
    let dev = |profile| {
        plan(&PlanConfig::new(
            tib,
            ByteSize::mib(2),
            MapMode::Dev,
            profile,
        ))
        .unwrap()
    };
    assert_eq!(
        dev(Profile::V7_4).device_bytes,
        dev(Profile::V6_15).device_bytes
    );
    assert_eq!(dev(Profile::V7_4).memmap_bytes, 0);
    assert!(dev(Profile::NEXT).device_bytes < dev(Profile::V7_4).device_bytes);
}

#[test]
fn nr_memmap_pages_as_each_kernel_reports_it() {
    let gib16 = ByteSize::gib(16);
    let n = |align, map, profile| {
        plan(&PlanConfig::new(gib16, align, map, profile))
            .unwrap()
            .nr_memmap_pages
    };
    let aligns = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];
    for align in aligns {
        for map in [MapMode::Mem, MapMode::Dev] {
            // No counter before 6.11.
            for p in [Profile::V5_10, Profile::RFC, Profile::V5_19] {
                assert_eq!(n(align, map, p), None);
            }
            // 6.11–2025: the unoptimized span, 16 GiB / 64 = 65536 pages, whatever the align
            // and also with the memmap on the device.
            for p in [Profile::V6_12, Profile::V6_15] {
                assert_eq!(n(align, map, p), Some(65536), "{p} {align} {map}");
            }
        }
    }
    // 6.15-7.1.5 still the span (the fix reached 7.1.6 and 7.2: kernels-2026 §4.1).
    let v7_1_5: Profile = "7.1.5".parse().unwrap();
    assert_eq!(n(ByteSize::mib(2), MapMode::Mem, v7_1_5), Some(65536));
    // 7.2 on, `section_nr_vmemmap_pages` (kernels-2026 §4.2): a section not optimized counts
    // its span (4K, and every --map=dev: an altmap is never optimized); an optimized one
    // VMEMMAP_OPTIMIZATION_PAGES per compound page, 2 with tail dedup (7.2, 7.3): 8192 2M
    // pages and 16 1G pages in 16 GiB.
    for p in [Profile::V7_3, "7.1.6".parse().unwrap(), Profile::V7_4] {
        assert_eq!(n(ByteSize::kib(4), MapMode::Mem, p), Some(65536), "{p}");
        for align in aligns {
            assert_eq!(n(align, MapMode::Dev, p), Some(65536), "{p} {align} dev");
        }
    }
    assert_eq!(
        n(ByteSize::mib(2), MapMode::Mem, Profile::V7_3),
        Some(2 * 8192)
    );
    assert_eq!(
        n(ByteSize::gib(1), MapMode::Mem, Profile::V7_3),
        Some(2 * 16)
    );
    // 7.4: one page per compound page (the shared tail frame is not counted).
    assert_eq!(n(ByteSize::mib(2), MapMode::Mem, Profile::V7_4), Some(8192));
    assert_eq!(n(ByteSize::gib(1), MapMode::Mem, Profile::V7_4), Some(16));
    // next counts the RAM frames really allocated: no device memmap, the shared tail once.
    assert_eq!(
        n(ByteSize::mib(2), MapMode::Mem, Profile::NEXT),
        Some(8192 + 1)
    );
    assert_eq!(
        n(ByteSize::gib(1), MapMode::Mem, Profile::NEXT),
        Some(16 + 1)
    );
    // With the memmap on the device next dedups there too: only the shared tail is in RAM.
    assert_eq!(n(ByteSize::mib(2), MapMode::Dev, Profile::NEXT), Some(1));
}

#[test]
fn struct_page_size_what_ifs_per_tib() {
    let tib = ByteSize::tib(1);
    let w = |align, profile, sps| {
        let mut cfg = PlanConfig::new(tib, align, MapMode::Mem, profile);
        cfg.struct_page_size = sps;
        plan(&cfg).unwrap().memmap_bytes
    };
    let (k4, m2, g1) = (ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1));
    // No dedup: the memmap scales with the struct page (memdesc end state: 2 GiB at 8 B).
    for (sps, gib) in [(64, 16), (32, 8), (16, 4), (8, 2)] {
        assert_eq!(w(k4, Profile::V6_15, sps), gib << 30, "{sps} B at 4K");
        assert_eq!(w(m2, Profile::V5_10, sps), gib << 30, "{sps} B, v5.10");
    }
    // 2M: V = 512 × S / 4096 vmemmap pages per compound page. v6.15 dedups while V > 2
    // (keeping 2): at 32 B V = 4, still 4 GiB; at 16 B V = 2, no dedup, 4 GiB; at 8 B V = 1.
    assert_eq!(w(m2, Profile::V6_15, 32), 4 << 30);
    assert_eq!(w(m2, Profile::V6_15, 16), 4 << 30);
    assert_eq!(w(m2, Profile::V6_15, 8), 2 << 30);
    // mm-2026 keeps 1 page while V > 2.
    assert_eq!(w(m2, Profile::V7_4, 32), (2 << 30) + 4096);
    assert_eq!(w(m2, Profile::V7_4, 16), 4 << 30);
    assert_eq!(w(m2, Profile::V7_4, 8), 2 << 30);
    // 1G: V = 64 × S, dedup survives at every size.
    for sps in [64, 32, 16, 8] {
        assert_eq!(w(g1, Profile::V6_15, sps), 8 << 20, "{sps} B at 1G");
        assert_eq!(w(g1, Profile::V7_4, sps), (4 << 20) + 4096, "{sps} B at 1G");
    }
    let mut bad = PlanConfig::new(tib, m2, MapMode::Mem, Profile::V6_15);
    bad.struct_page_size = 48;
    assert_eq!(plan(&bad), Err(PlanError::StructPageSize(48)));
    bad.struct_page_size = 32;
    assert_eq!(
        plan(&bad.hugetlb()),
        Err(PlanError::StructPageSizeHugetlb(32))
    );
}

#[test]
fn fsdev_keeps_order_0_folios_and_dedups_nothing() {
    // drivers/dax/fsdev.c leaves vmemmap_shift at 0 (brief §9.11): the full memmap at every
    // align and profile, every struct page initialised, PMD-mapped like v5.10.
    let tib = ByteSize::tib(1);
    for profile in [Profile::V6_15, Profile::V7_4, Profile::NEXT] {
        for align in [ByteSize::mib(2), ByteSize::gib(1)] {
            let mut cfg = PlanConfig::new(tib, align, MapMode::Mem, profile);
            cfg.kind = Kind::DevdaxFsdev;
            let c = plan(&cfg).unwrap();
            assert_eq!(c.memmap_bytes, 16 << 30, "{cfg}");
            assert_eq!(c.struct_pages_initialized, 1 << 28, "{cfg}");
            assert_eq!(c.pagetable_bytes, 16 * 4096, "{cfg}");
        }
    }
    assert_eq!("devdax-fsdev".parse::<Kind>(), Ok(Kind::DevdaxFsdev));
    assert_eq!(Kind::DevdaxFsdev.to_string(), "devdax-fsdev");
}

#[test]
fn hugetlb_hvo_moves_memmap_from_the_boot_counter_to_the_hot_one() {
    let h = |align, profile| {
        plan(&PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile).hugetlb()).unwrap()
    };
    let m2 = ByteSize::mib(2);
    // 2^19 huge pages of 8 vmemmap pages: all 2^22 boot pages given back, one fresh head each.
    let c = h(m2, Profile::V6_15);
    assert_eq!(c.nr_memmap_pages, Some(1 << 19));
    assert_eq!(c.nr_memmap_boot_pages, Some(-(1 << 22)));
    // 7.1+ also allocates the order's shared tail page, in RAM but not counted: booted 7.1.13
    // and 7.2.13 add exactly 1 for one 1G page and 128 for 128 2M pages.
    assert_eq!(h(m2, Profile::V7_4).nr_memmap_pages, Some(1 << 19));
    assert_eq!(h(m2, Profile::V7_4).memmap_bytes, ((1 << 19) + 1) * 4096);
    // 1G: 1024 pages of 4096 vmemmap pages.
    let c = h(ByteSize::gib(1), Profile::V6_12);
    assert_eq!(c.nr_memmap_pages, Some(1024));
    assert_eq!(c.nr_memmap_boot_pages, Some(-(1024 * 4096)));
    // No counters before 6.11.
    assert_eq!(h(m2, Profile::V5_19).nr_memmap_boot_pages, None);
    // Devdax hot-add leaves the boot counter alone.
    let d = p(ByteSize::tib(1), m2, Profile::V6_15);
    assert_eq!(d.nr_memmap_boot_pages, Some(0));
}

#[test]
fn too_large_errors_name_the_cause_and_only_valid_advice() {
    let mut cfg = PlanConfig::new(
        ByteSize::tib(100),
        ByteSize::gib(1),
        MapMode::Mem,
        Profile::V6_15,
    );
    let e = plan(&cfg).unwrap_err().to_string();
    assert!(e.contains("use --arch x86_64-la57"), "{e}");
    // Already 5-level, or too large even for it: no advice to switch.
    cfg.arch = Arch::X86_64La57;
    cfg.size = ByteSize::new(4095 << 50);
    let e = plan(&cfg).unwrap_err().to_string();
    assert!(!e.contains("--arch"), "{e}");
    // RAM beyond the limit is said to be the RAM's fault.
    let mut cfg = PlanConfig::new(
        ByteSize::tib(1),
        ByteSize::gib(1),
        MapMode::Mem,
        Profile::V6_15,
    );
    cfg.ram_size = ByteSize::tib(100);
    let e = plan(&cfg).unwrap_err();
    assert!(
        matches!(e, PlanError::RamTooLarge { flag: "--ram", .. }),
        "{e}"
    );
    cfg.ram_size = ByteSize::new(!((128 << 20) - 1));
    assert!(plan(&cfg).unwrap_err().to_string().contains("past 2^64"));
}

#[test]
fn map_dev_moves_the_memmap_to_the_device() {
    let c = plan(&PlanConfig::new(
        ByteSize::tib(1),
        ByteSize::mib(2),
        MapMode::Dev,
        Profile::V6_15,
    ))
    .unwrap();
    assert_eq!(c.memmap_bytes, 0);
    assert_eq!(c.device_bytes, (16 << 30) + (2 << 20));
}

#[test]
fn hugetlb_golden_numbers_per_tib() {
    let h = |align, profile| {
        plan(&PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile).hugetlb()).unwrap()
    };
    let (mib2, gib1) = (ByteSize::mib(2), ByteSize::gib(1));
    assert_eq!(h(mib2, Profile::V5_10).memmap_bytes, 16 << 30);
    assert_eq!(h(mib2, Profile::V5_10).pagetable_bytes, 0);
    assert_eq!(h(mib2, Profile::V6_15).memmap_bytes, 2 << 30);
    assert_eq!(h(gib1, Profile::V6_15).memmap_bytes, 4 << 20);
    assert_eq!(h(gib1, Profile::V6_15).pagetable_bytes, 32 << 20);
    assert_eq!(h(mib2, Profile::NEXT).memmap_bytes, (2 << 30) + 4096);
    assert!(plan(
        &PlanConfig::new(
            ByteSize::tib(1),
            ByteSize::kib(4),
            MapMode::Mem,
            Profile::V6_15
        )
        .hugetlb()
    )
    .is_err());
}

#[test]
fn sixty_four_tib_needs_la57() {
    let mut cfg = PlanConfig::new(
        ByteSize::tib(64),
        ByteSize::gib(1),
        MapMode::Mem,
        Profile::V6_15,
    );
    assert!(matches!(plan(&cfg), Err(PlanError::TooLarge { .. })));
    cfg.arch = Arch::X86_64La57;
    assert_eq!(plan(&cfg).unwrap().memmap_bytes, 64 * 1024 * 2 * 4096);
}

#[test]
fn new_blocks_away_from_zero_with_taken_ranges_at_both_ends_and_adjacent_ranges() {
    // [25, 75) touches blocks 2..8 (6); taken [0, 31) covers 0..4 and [68, 200) 6..20:
    // blocks 4 and 5 are new.
    assert_eq!(new_blocks_of(&[(25, 75)], 10, &[(0, 31), (68, 200)]), 2);
    // The same range with nothing taken: 6 blocks, counted from 2, not from 0.
    assert_eq!(new_blocks_of(&[(25, 75)], 10, &[]), 6);
    // Adjacent ranges share no block at a boundary, one block inside it.
    assert_eq!(new_blocks_of(&[(0, 10), (10, 20)], 10, &[]), 2);
    assert_eq!(new_blocks_of(&[(0, 15), (15, 20)], 10, &[]), 2);
    // A taken range ending at a block boundary does not take the next block; one byte on
    // does.
    assert_eq!(new_blocks_of(&[(10, 20)], 10, &[(0, 10)]), 1);
    assert_eq!(new_blocks_of(&[(10, 20)], 10, &[(0, 11)]), 0);
    // A taken range strictly inside the range, away from both ends.
    assert_eq!(new_blocks_of(&[(100, 200)], 10, &[(130, 150)]), 8);
    // new_blocks on block ranges directly: taken ranges before, inside and after.
    assert_eq!(new_blocks(3..9, &[0..2, 4..6, 8..12]), 3);
    assert_eq!(new_blocks(3..9, &[]), 6);
    assert_eq!(new_blocks(3..9, &[9..12, 20..30]), 6);
}

#[test]
fn the_default_machine_and_size_fit_every_arch() {
    for arch in crate::arch::EVERY_ARCH {
        let g = arch.geometry();
        let ram = default_ram(g);
        let size = default_size(g, ram);
        let cfg =
            PlanConfig::new(size, g.pmd_size(), MapMode::Mem, Profile::default()).on_arch(arch);
        assert_eq!(cfg.ram_size, ram);
        assert!(plan(&cfg).is_ok(), "{cfg}: {:?}", plan(&cfg));
    }
    // 256 GiB and 1 TiB where the arch reaches that far; riscv Sv39 describes 256 GiB in all.
    let x86 = Arch::X86_64.geometry();
    assert_eq!(default_ram(x86), DEFAULT_RAM);
    assert_eq!(default_size(x86, DEFAULT_RAM), ByteSize::tib(1));
    let sv39 = Arch::Riscv64Sv39.geometry();
    assert_eq!(default_ram(sv39), ByteSize::gib(64));
    assert_eq!(default_size(sv39, ByteSize::gib(64)), ByteSize::gib(128));
}
