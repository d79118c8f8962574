//! RDMA registration over device-dax: scatterlist coalescing per profile, release cost, memlock
//! accounting, unwinding on failure (INV-6), concurrent reg/dereg (INV-7), and the HCA
//! driver's own work (rxe's page map, mlx5's page size and MTT).

#![allow(clippy::cast_possible_truncation)]

use std::sync::atomic::Ordering;

use vmemdiet::addr::{ByteSize, Pfn, VirtAddr};
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::{DaxRegion, MapMode};
use vmemdiet::drivers::ib_driver::{Driver, DriverStats};
use vmemdiet::drivers::ib_umem::{ib_umem_get, ib_umem_release, UmemError, UmemOpts, UmemTimes};
use vmemdiet::drivers::ib_verbs::{ib_dereg_mr, ib_reg_mr};
use vmemdiet::mm::folio::page_folio;
use vmemdiet::mm::gup::GupCtx;
use vmemdiet::mm::page::PagePtr;
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::vm::Mm;
use vmemdiet::mm::Kernel;
use vmemdiet::plan::Kind;
use vmemdiet::workload::mapping::{with_mapping, MappingError, MappingSpec};
use vmemdiet_testkit::fixtures::{self, map_prefaulted};

const GIB: u64 = 1 << 30;

/// A kernel on a 4 GiB machine with one devdax device of `size` bytes at `align`.
fn setup(profile: Profile, size: u64, align: ByteSize) -> (Kernel, DaxRegion) {
    fixtures::setup(profile, ByteSize::gib(4), ByteSize::new(size), align)
}

/// Every folio's (refcount, pincount), in pfn order.
fn all_counts(k: &Kernel, r: &DaxRegion, cx: &mut GupCtx<'_>) -> Vec<(i32, i64)> {
    let g = k.machine.geometry();
    let d = r.devices().next().unwrap();
    let first = g.phys_to_pfn(d.layout.start);
    let step = (d.pgmap.vmemmap_nr()).max(1);
    (0..d.layout.size.bytes() / 4096)
        .step_by(step as usize)
        .map(|i| {
            let f = page_folio(
                &mut cx.memmap,
                PagePtr::from_pfn(g, Pfn::new(first.as_u64() + i)),
            )
            .unwrap();
            (
                f.ref_count(&mut cx.memmap).unwrap(),
                f.pincount(&mut cx.memmap).unwrap(),
            )
        })
        .collect()
}

#[test]
fn one_gib_over_1g_pages_is_one_sg_entry_except_the_6_2_to_6_14_pgmap_check() {
    for profile in ALL_PROFILES {
        let (k, r) = setup(profile, GIB, ByteSize::gib(1));
        let mut cx = GupCtx::new(&k);
        let mm = Mm::new(&k).unwrap();
        let va = mm
            .mmap_devdax(r.devices().next().unwrap(), 0, GIB, true)
            .unwrap();
        let mut t = UmemTimes::default();
        let umem = ib_umem_get(&mut cx, &mm, va, GIB, UmemOpts::default(), &mut t).unwrap();
        // v6.12 compares word 1 as the pgmap: the head does not merge with its first tail.
        let want = if profile == Profile::V6_12 { 2 } else { 1 };
        assert_eq!(umem.sgt.len(), want, "{profile}");
        assert_eq!(umem.sgt.iter().map(|e| e.length).sum::<u64>(), GIB);
        assert_eq!(mm.pinned_vm.load(Ordering::Acquire), GIB / 4096);
        ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
        assert_eq!(mm.pinned_vm.load(Ordering::Acquire), 0);
    }
}

#[test]
fn contiguous_2m_pages_coalesce_and_release_costs_one_atomic_per_entry_and_folio() {
    for (profile, entries, release_atomics) in [
        (Profile::V5_10, 1, 262_144),
        (Profile::RFC, 1, 512),
        (Profile::V5_19, 1, 512),
        (Profile::V6_12, 1024, 1024),
        (Profile::V6_15, 1, 512),
        (Profile::NEXT, 1, 512),
    ] {
        let (k, r) = setup(profile, GIB, ByteSize::mib(2));
        let mut cx = GupCtx::new(&k);
        let mm = Mm::new(&k).unwrap();
        let va = mm
            .mmap_devdax(r.devices().next().unwrap(), 0, GIB, true)
            .unwrap();
        let before = all_counts(&k, &r, &mut cx);
        let mut t = UmemTimes::default();
        let umem = ib_umem_get(&mut cx, &mm, va, GIB, UmemOpts::default(), &mut t).unwrap();
        assert_eq!(umem.sgt.len(), entries, "{profile}");
        cx.stats = Default::default();
        ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
        assert_eq!(cx.stats.refs.refcount_atomics, release_atomics, "{profile}");
        drop(mm);
        assert_eq!(all_counts(&k, &r, &mut cx), before, "{profile}: INV-4");
    }
}

#[test]
fn discontiguous_pages_give_one_entry_per_run_and_segments_respect_max_seg() {
    let (k, r) = setup(Profile::V6_15, 2 * GIB, ByteSize::gib(1));
    let dev = r.devices().next().unwrap();
    let mut cx = GupCtx::new(&k);
    let mm = Mm::new(&k).unwrap();
    // Device [1G, 2G) then [0, 1G) at adjacent virtual addresses.
    let a = mm.mmap_devdax(dev, GIB, GIB, true).unwrap();
    let b = mm.mmap_devdax(dev, 0, GIB, true).unwrap();
    assert_eq!(b.as_u64(), a.as_u64() + GIB);
    let mut t = UmemTimes::default();
    let umem = ib_umem_get(&mut cx, &mm, a, 2 * GIB, UmemOpts::default(), &mut t).unwrap();
    assert_eq!(umem.sgt.len(), 2);
    ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
    // The PCI default max segment of 64 KiB: 16 pages a segment, never more.
    let opts = UmemOpts {
        max_seg: 64 << 10,
        ..UmemOpts::default()
    };
    let umem = ib_umem_get(&mut cx, &mm, a, GIB, opts, &mut t).unwrap();
    assert_eq!(umem.sgt.len(), (GIB >> 16) as usize);
    assert!(umem.sgt.iter().all(|e| e.length <= 64 << 10));
    ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
    // A 4 GiB max segment still stops at discontinuities.
    let opts = UmemOpts {
        max_seg: 4 * GIB,
        ..UmemOpts::default()
    };
    let umem = ib_umem_get(&mut cx, &mm, a, 2 * GIB, opts, &mut t).unwrap();
    assert_eq!(umem.sgt.len(), 2);
    ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
}

/// Runs `f` on a prefaulted 64 MiB mapping of a devdax device at 2M under `profile`, then
/// checks that every folio's counts are what they were before `f` (INV-4).
fn on_64m_devdax(profile: Profile, f: impl FnOnce(&mut GupCtx<'_>, &Mm<'_>, VirtAddr)) {
    let (k, r) = setup(profile, 64 << 20, ByteSize::mib(2));
    let mut cx = GupCtx::new(&k);
    let mm = Mm::new(&k).unwrap();
    let va = map_prefaulted(&mm, &mut cx.memmap, r.devices().next().unwrap(), 64 << 20);
    let before = all_counts(&k, &r, &mut cx);
    f(&mut cx, &mm, va);
    assert_eq!(all_counts(&k, &r, &mut cx), before, "{profile}: INV-4");
}

#[test]
fn inv6_failure_midway_restores_every_count_and_pinned_vm() {
    for profile in ALL_PROFILES {
        on_64m_devdax(profile, |cx, mm, va| {
            let mut t = UmemTimes::default();
            // Over the memlock limit: refused before pinning.
            let opts = UmemOpts {
                memlock_pages: Some(1000),
                ..UmemOpts::default()
            };
            let e = ib_umem_get(cx, mm, va, 8 << 20, opts, &mut t).unwrap_err();
            assert!(matches!(e, UmemError::Memlock { npages: 2048, .. }), "{e}");
            // A hole after the mapping: 64 MiB pins, then EFAULT; all of it is unwound.
            let e = ib_umem_get(
                cx,
                mm,
                va,
                (64 << 20) + (4 << 20),
                UmemOpts::default(),
                &mut t,
            )
            .unwrap_err();
            assert!(
                matches!(e, UmemError::Pin { pinned: 16384, .. }),
                "{profile}: {e}"
            );
            let e = ib_umem_get(
                cx,
                mm,
                VirtAddr::new(va.as_u64() + 1),
                0,
                UmemOpts::default(),
                &mut t,
            )
            .unwrap_err();
            assert!(matches!(e, UmemError::BadRegion { .. }));
            assert_eq!(mm.pinned_vm.load(Ordering::Acquire), 0, "{profile}");
        });
    }
}

#[test]
fn inv7_registering_from_threads_while_others_deregister_ends_at_baseline() {
    for profile in [Profile::V5_19, Profile::V6_12, Profile::V6_15] {
        let size = 256u64 << 20;
        let (k, r) = setup(profile, size, ByteSize::mib(2));
        let mm = Mm::new(&k).unwrap();
        let mut cx = GupCtx::new(&k);
        let va = map_prefaulted(&mm, &mut cx.memmap, r.devices().next().unwrap(), size);
        let before = all_counts(&k, &r, &mut cx);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (k, mm) = (&k, &mm);
                s.spawn(move || {
                    let mut cx = GupCtx::new(k);
                    let mut times = UmemTimes::default();
                    let mut held = Vec::new();
                    for i in 0..200u64 {
                        // Overlapping regions on purpose: MRs may share pages.
                        let off = ((t * 7 + i * 13) % 120) << 21;
                        let mr = ib_reg_mr(
                            &mut cx,
                            mm,
                            VirtAddr::new(va.as_u64() + off),
                            4 << 20,
                            UmemOpts::default(),
                            Driver::None,
                            &mut times,
                        )
                        .unwrap();
                        held.push(mr);
                        if held.len() > 3 {
                            ib_dereg_mr(&mut cx, mm, held.remove(0), &mut times).unwrap();
                        }
                    }
                    for mr in held {
                        ib_dereg_mr(&mut cx, mm, mr, &mut times).unwrap();
                    }
                });
            }
        });
        assert_eq!(mm.pinned_vm.load(Ordering::Acquire), 0);
        assert_eq!(all_counts(&k, &r, &mut cx), before, "{profile}");
    }
}

/// Registers and deregisters all of an 8 MiB mapping of `kind` at 2M with `driver`; returns
/// the scatterlist entries, the MTT as registered (CPU order), the rxe page map's agreement
/// with the scatterlist, and the driver's counts.
fn reg_dereg_8m(
    kind: Kind,
    profile: Profile,
    driver: Driver,
) -> (usize, Vec<u64>, bool, DriverStats) {
    let spec = MappingSpec {
        kind,
        size: ByteSize::mib(8),
        align: ByteSize::mib(2),
        map: MapMode::Mem,
        profile,
        arch: Arch::default(),
    };
    with_mapping(&spec, true, |k, mm, va, len| {
        let g = k.machine.geometry();
        let mut cx = GupCtx::new(k);
        let mut t = UmemTimes::default();
        let opts = UmemOpts::default();
        let mr = ib_reg_mr(&mut cx, mm, va, len, opts, driver, &mut t).unwrap();
        let sgt = &mr.umem.sgt;
        // One DMA address per entry: the direct-map address (rxe) or the physical one (mlx5).
        for (e, d) in sgt.iter().zip(&mr.driver.dma) {
            let phys = g.pfn_to_phys(e.pfn).as_u64();
            let want = match driver {
                Driver::Rxe => g.page_offset.as_u64() + phys,
                Driver::None | Driver::Mlx5 => phys,
            };
            assert_eq!(
                (d.addr.0, d.len),
                (want, e.length),
                "{kind} {profile} {driver}"
            );
        }
        let pages: Vec<PagePtr> = sgt
            .iter()
            .flat_map(|e| (0..e.length / 4096).map(|i| e.page.nth(g, i)))
            .collect();
        let map_matches = (0..)
            .zip(&pages)
            .all(|(i, &p)| mr.driver.rxe_page(i) == Some(p));
        let mtt: Vec<u64> = mr.driver.mtt().iter().map(|&e| u64::from_be(e)).collect();
        let n = sgt.len();
        let stats = ib_dereg_mr(&mut cx, mm, mr, &mut t).unwrap();
        assert_eq!(mm.pinned_vm.load(Ordering::Acquire), 0);
        Ok::<_, MappingError>((n, mtt, map_matches, stats))
    })
    .unwrap()
}

#[test]
fn mlx5_writes_one_mtt_entry_per_best_size_page_and_the_6_12_split_forces_4k() {
    // The mapping is 4 MiB-aligned in VA and PA alike, so 4 MiB pages are the best an 8 MiB
    // MR can have; v6.12's [head 4K][tails] entries force 4 KiB (512 per 2 MiB) until 6.15
    // looks only at discontinuities. v5.10's mlx5_ib_cont_pages finds 4 MiB too, but its
    // populate loop walks every 4 KiB page.
    const M4: u64 = 4 << 20;
    for (kind, profile, sg, page_size, entries, steps, page_reads) in [
        (Kind::Devdax, Profile::V5_10, 1, M4, 2, 2048, 0),
        (Kind::Devdax, Profile::RFC, 1, M4, 2, 2, 0),
        (Kind::Devdax, Profile::V6_12, 8, 4096, 2048, 2048, 8),
        (Kind::Devdax, Profile::V6_15, 1, M4, 2, 2, 1),
        (Kind::Devdax, Profile::NEXT, 1, M4, 2, 2, 1),
        (Kind::Hugetlb, Profile::V5_10, 1, M4, 2, 2048, 0),
        (Kind::Hugetlb, Profile::V6_12, 1, M4, 2, 2, 1),
        (Kind::Hugetlb, Profile::V6_15, 1, M4, 2, 2, 1),
    ] {
        let (n, mtt, _, s) = reg_dereg_8m(kind, profile, Driver::Mlx5);
        let what = format!("{kind} {profile}");
        assert_eq!(n, sg, "{what}");
        assert_eq!(
            (s.page_size, s.mtt_entries, s.mtt_steps),
            (page_size, entries, steps),
            "{what}"
        );
        assert_eq!(
            (s.dma_mapped, s.dma_unmapped),
            (sg as u64, sg as u64),
            "{what}"
        );
        assert_eq!(
            s.page_reads, page_reads,
            "{what}: is_pci_p2pdma_page (6.2+)"
        );
        assert_eq!(
            s.device_entries,
            if kind == Kind::Devdax { page_reads } else { 0 },
            "{what}"
        );
        assert_eq!(s.mtt_freed, entries, "{what}");
        assert_eq!((s.pages_stored, s.xa_nodes), (0, 0), "{what}");
        // Consecutive pages of one contiguous region, each with MLX5_IB_MTT_{READ,WRITE}.
        assert_eq!(mtt.len() as u64, entries, "{what}");
        assert!(mtt.iter().all(|e| e & 0b11 == 0b11), "{what}");
        assert!(mtt.windows(2).all(|w| w[1] - w[0] == page_size), "{what}");
    }
}

#[test]
fn rxe_stores_one_map_entry_per_4k_page_and_destroys_the_map_at_dereg() {
    for (profile, sg) in [
        (Profile::V5_10, 1),
        (Profile::V6_12, 8),
        (Profile::V6_15, 1),
    ] {
        let (n, mtt, map_matches, s) = reg_dereg_8m(Kind::Devdax, profile, Driver::Rxe);
        assert_eq!(n, sg, "{profile}");
        assert!(
            map_matches,
            "{profile}: index i holds the i-th page of the scatterlist"
        );
        assert!(mtt.is_empty());
        // 2048 entries: 32 leaf nodes of 64 under one root, all freed by xa_destroy.
        assert_eq!(
            (s.pages_stored, s.xa_nodes, s.xa_nodes_freed, s.page_size),
            (2048, 33, 33, 4096),
            "{profile}"
        );
        // Virt DMA: one address per entry, nothing to unmap, no struct page read.
        assert_eq!(
            (s.dma_mapped, s.dma_unmapped, s.page_reads),
            (sg as u64, 0, 0),
            "{profile}"
        );
        assert_eq!(s.mtt_entries, 0);
    }
}

#[test]
fn driver_none_adds_no_work_and_every_driver_restores_the_counts() {
    let (_, _, _, s) = reg_dereg_8m(Kind::Devdax, Profile::V6_15, Driver::None);
    assert_eq!(s, DriverStats::default());
    // INV-4 with a driver: reg + dereg leaves every folio's counts as they were.
    for driver in [Driver::Rxe, Driver::Mlx5] {
        on_64m_devdax(Profile::V6_12, |cx, mm, va| {
            let mut t = UmemTimes::default();
            let opts = UmemOpts::default();
            let mr = ib_reg_mr(cx, mm, va, 64 << 20, opts, driver, &mut t).unwrap();
            assert_eq!(mr.driver.driver, driver);
            let s = ib_dereg_mr(cx, mm, mr, &mut t).unwrap();
            assert_eq!(s.entries(), 16384, "{driver}: 4 KiB map or MTT entries");
        });
    }
}

/// `sg_alloc_append_table_from_pages` checks every page of a 512-page chunk twice (the counting
/// pass and the building pass); each later chunk first tries to extend the last segment, one
/// check per page it absorbs, plus the one that refuses. Under 6.2–6.14 the pgmap check
/// refuses each head after a tail and each first tail after its head: 1024 entries for 1 GiB
/// of 2M folios.
#[test]
fn scatterlist_building_checks_each_page_as_the_kernel_does() {
    let first_chunk = 511 + 511;
    for (profile, entries, checks) in [
        (Profile::V5_10, 1, first_chunk + 511 * 512),
        (Profile::V6_12, 1024, first_chunk + 511 * (1 + 511 + 511)),
        (Profile::V6_15, 1, first_chunk + 511 * 512),
    ] {
        let (k, r) = setup(profile, GIB, ByteSize::mib(2));
        let mut cx = GupCtx::new(&k);
        let mm = Mm::new(&k).unwrap();
        let va = mm
            .mmap_devdax(r.devices().next().unwrap(), 0, GIB, true)
            .unwrap();
        let mut t = UmemTimes::default();
        let umem = ib_umem_get(&mut cx, &mm, va, GIB, UmemOpts::default(), &mut t).unwrap();
        assert_eq!(umem.sgt.len(), entries, "{profile}");
        assert_eq!(umem.merge_checks, checks, "{profile}");
        ib_umem_release(&mut cx, &mm, umem, &mut t).unwrap();
    }
}
