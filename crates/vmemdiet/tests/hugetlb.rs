//! HugeTLB pools and HVO: memmap per profile, fake heads (INV-3), read-only tails, grow/shrink
//! returning every frame (INV-1) even after a failed restore, planner = simulation (INV-5).

#![allow(clippy::cast_possible_truncation)]

use vmemdiet::addr::{ByteSize, Pfn};
use vmemdiet::arch::X86_64;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::machine::Fault;
use vmemdiet::mm::hugetlb::{set_nr_hugepages, HugeSize, HugetlbError};
use vmemdiet::mm::page::{page_folio, Memmap, PagePtr, PG_HEAD};
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::sparse_vmemmap::memmap_frames_of;
use vmemdiet::mm::Kernel;
use vmemdiet::plan::{plan, PlanConfig};
use vmemdiet::simulate::simulate;
use vmemdiet_testkit::fixtures;

/// The machine every test here boots: 8 GiB of RAM, no device region.
fn boot(profile: Profile) -> Kernel {
    fixtures::boot(profile, ByteSize::gib(8), ByteSize::new(0))
}

/// The pool's pfn range: top of RAM (2 GiB + 8 GiB) down.
fn pool_start(size: HugeSize, pages: u64) -> Pfn {
    Pfn::new(((10u64 << 30) - pages * size.bytes(&X86_64).bytes()) >> 12)
}

#[test]
fn hvo_memmap_per_huge_page_by_profile() {
    for profile in ALL_PROFILES {
        for (size, pages) in [(HugeSize::Pmd, 512u64), (HugeSize::Pud, 2)] {
            let k = boot(profile);
            assert_eq!(set_nr_hugepages(&k, size, pages).unwrap(), pages);
            let n = size.bytes(&X86_64).bytes() / 4096;
            let frames = memmap_frames_of(&k, pool_start(size, pages), pages * n);
            let want = match profile {
                Profile::V5_10 | Profile::RFC => pages * n / 64,
                // 7.1 on (README §2 HVO row) and next: an own head page each, one shared
                // read-only tail page per (zone, order).
                Profile::V7_1 | Profile::V7_3 | Profile::V7_4 | Profile::NEXT => pages + 1,
                _ => pages,
            };
            assert_eq!(frames, want, "{profile} {size:?}");
        }
    }
}

#[test]
fn inv3_every_tail_resolves_to_its_head_through_fake_heads() {
    for profile in ALL_PROFILES {
        for size in [HugeSize::Pmd, HugeSize::Pud] {
            let k = boot(profile);
            set_nr_hugepages(&k, size, 2).unwrap();
            let g = k.machine.geometry();
            let mut mm = Memmap::new(&k.machine);
            let n = size.bytes(&X86_64).bytes() / 4096;
            for hp in 0..2 {
                let head = PagePtr::from_pfn(g, Pfn::new(pool_start(size, 2).as_u64() + hp * n));
                assert!(mm.page(head).unwrap().is_head());
                assert_eq!(
                    page_folio(&mut mm, head)
                        .unwrap()
                        .nr_pages(&mut mm)
                        .unwrap(),
                    n
                );
                let step = if n > 512 { 61 } else { 1 };
                let mut i = 1;
                while i < n {
                    let t = head.nth(g, i);
                    assert_eq!(
                        mm.compound_head(t).unwrap(),
                        head,
                        "{profile} {size:?} tail {i}"
                    );
                    i += step;
                }
                // Tail 64 reads the head's bytes under keep-one HVO: a fake head.
                let fake = mm.page(head.nth(g, 64)).unwrap().flags() & PG_HEAD != 0;
                assert_eq!(
                    fake,
                    // Keep-one HVO, 5.18 to 7.0 (fake heads removed in 7.1).
                    matches!(
                        profile,
                        Profile::V5_19 | Profile::V6_12 | Profile::V6_15 | Profile::V6_18
                    ),
                    "{profile}"
                );
                assert_eq!(mm.compound_head(head.nth(g, 64)).unwrap(), head);
                assert_eq!(mm.compound_head(head).unwrap(), head);
            }
        }
    }
}

#[test]
fn writing_a_tail_through_the_read_only_alias_faults_and_names_the_struct_page() {
    for profile in [Profile::V6_15, Profile::NEXT] {
        let k = boot(profile);
        set_nr_hugepages(&k, HugeSize::Pmd, 1).unwrap();
        let g = k.machine.geometry();
        let mut mm = Memmap::new(&k.machine);
        let head = PagePtr::from_pfn(g, pool_start(HugeSize::Pmd, 1));
        let t = head.nth(g, 100);
        match mm.page_mut(t) {
            Err(Fault::ReadOnlyStructPage { va, pfn }) => {
                assert_eq!((va, pfn), (t.0, t.pfn(g).as_u64()));
                assert!(Fault::ReadOnlyStructPage { va, pfn }
                    .to_string()
                    .contains("read-only"));
            }
            other => panic!("{profile}: expected a read-only fault, got {other:?}"),
        }
        assert!(
            mm.page_mut(head.nth(g, 1)).is_ok(),
            "page[1] (pincount) is in the kept head page"
        );
    }
}

#[test]
fn inv1_grow_then_shrink_returns_every_frame_even_after_a_failed_restore() {
    for profile in ALL_PROFILES {
        for (size, pages) in [(HugeSize::Pmd, 100u64), (HugeSize::Pud, 2)] {
            let k = boot(profile);
            let before = k.machine.frames().usage();
            set_nr_hugepages(&k, size, pages).unwrap();
            assert_eq!(k.hugetlb.nr_hugepages(size), pages);
            let hvo = !matches!(profile, Profile::V5_10 | Profile::RFC);
            if hvo {
                // Memory pressure: the restore cannot allocate; the page stays in the pool.
                k.machine.frames().inject_alloc_failure(Some(0));
                let e = set_nr_hugepages(&k, size, 0).unwrap_err();
                assert!(
                    matches!(e, HugetlbError::RestoreFailed { nr, .. } if nr == pages),
                    "{profile}: {e}"
                );
                assert_eq!(k.hugetlb.nr_hugepages(size), pages);
                k.machine.frames().inject_alloc_failure(None);
            }
            assert_eq!(set_nr_hugepages(&k, size, 0).unwrap(), 0);
            let after = k.machine.frames().usage();
            let split = k
                .hugetlb
                .stats
                .split_pmds
                .load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(
                after.memmap_ram(),
                before.memmap_ram(),
                "{profile} {size:?}"
            );
            assert_eq!(after.data(), before.data());
            assert_eq!(
                after.free() + split,
                before.free(),
                "only the split PTE tables stay allocated"
            );
            assert_eq!(after.pagetable(), before.pagetable() + split);
            assert!(k.shared_tails_empty());
            // And the pool grows again.
            assert_eq!(set_nr_hugepages(&k, size, pages).unwrap(), pages);
        }
    }
}

#[test]
fn inv5_hugetlb_planner_equals_simulation() {
    for profile in ALL_PROFILES {
        for (align, size) in [
            (ByteSize::mib(2), ByteSize::mib(200)),
            (ByteSize::mib(2), ByteSize::gib(1)),
            (ByteSize::gib(1), ByteSize::gib(2)),
        ] {
            let mut cfg = PlanConfig::new(size, align, MapMode::Mem, profile).hugetlb();
            cfg.ram_size = ByteSize::gib(8);
            assert_eq!(
                plan(&cfg).unwrap(),
                simulate(&cfg).unwrap(),
                "{profile} {align} {size}"
            );
        }
    }
}

#[test]
fn gup_over_hugetlbfs_batches_per_huge_page_from_rfc_on_and_returns_pages_to_the_pool() {
    use vmemdiet::addr::VirtAddr;
    use vmemdiet::mm::gup::{
        pin_user_pages, pin_user_pages_fast, unpin_user_pages, GupCtx, GupFlags,
    };
    use vmemdiet::mm::vm::Mm;
    // 4 MiB of 2 MiB pages: 1024 subpages, 2 huge pages; 1 GiB page: 262144 subpages.
    for profile in ALL_PROFILES {
        for (size, pages) in [(HugeSize::Pmd, 2u64), (HugeSize::Pud, 1)] {
            let k = boot(profile);
            set_nr_hugepages(&k, size, pages).unwrap();
            let len = pages * size.bytes(&X86_64).bytes();
            let nr = (len / 4096) as usize;
            let mut cx = GupCtx::new(&k);
            let mm = Mm::new(&k).unwrap();
            let va = mm.mmap_hugetlb(size, len, true).unwrap();
            let mut out = Vec::new();
            // The slow path faults the pages in from the pool.
            assert_eq!(
                pin_user_pages(
                    &mut cx,
                    &mm,
                    va,
                    nr,
                    GupFlags::LONGTERM | GupFlags::WRITE,
                    &mut out
                )
                .unwrap(),
                nr
            );
            assert_eq!(k.hugetlb.free_hugepages(size), 0);
            let batched = profile != Profile::V5_10;
            assert_eq!(
                cx.stats.refs.refcount_atomics,
                if batched { pages } else { nr as u64 },
                "{profile} {size:?}"
            );
            assert_eq!(
                cx.stats.walks,
                pages + pages,
                "{profile}: a walk per huge page, plus one per fault retry"
            );
            unpin_user_pages(&mut cx, &k, &out).unwrap();
            // The fast path grabs once per leaf in every profile, long-term pins included.
            cx.stats = Default::default();
            out.clear();
            assert_eq!(
                pin_user_pages_fast(
                    &mut cx,
                    &mm,
                    VirtAddr::new(va.as_u64() + 4096),
                    nr - 1,
                    GupFlags::LONGTERM,
                    &mut out
                )
                .unwrap(),
                nr - 1
            );
            assert_eq!(
                (cx.stats.refs.refcount_atomics, cx.stats.slow_pages),
                (pages, 0),
                "{profile}"
            );
            unpin_user_pages(&mut cx, &k, &out).unwrap();
            mm.munmap(&mut cx.memmap, va, len).unwrap();
            assert_eq!(
                k.hugetlb.free_hugepages(size),
                pages,
                "{profile}: the file's pages went back to the pool"
            );
            let g = k.machine.geometry();
            let head = PagePtr::from_pfn(g, pool_start(size, pages));
            let mut mm2 = Memmap::new(&k.machine);
            assert_eq!(mm2.page(head).unwrap().ref_count(), 0);
            let f = page_folio(&mut mm2, head).unwrap();
            assert_eq!(f.pincount(&mut mm2).unwrap(), 0);
            drop(mm);
            assert_eq!(set_nr_hugepages(&k, size, 0).unwrap(), 0);
        }
    }
}

/// Huge pages still pinned when their mapping goes away wait, off the free list, until their
/// last pin is gone; the pool's next allocation or resize takes them back (`free_huge_folio`
/// after the final put). Shrinking the pool to zero then frees every page.
#[test]
fn pages_pinned_across_munmap_return_to_the_pool_after_their_last_unpin() {
    use vmemdiet::mm::gup::{pin_user_pages_fast, unpin_user_pages, GupCtx, GupFlags};
    use vmemdiet::mm::hugetlb::{alloc_huge_folio, release_huge_folio};
    use vmemdiet::mm::vm::Mm;
    let k = boot(Profile::V6_15);
    let size = HugeSize::Pmd;
    set_nr_hugepages(&k, size, 2).unwrap();
    let len = 2 * size.bytes(&X86_64).bytes();
    let mut cx = GupCtx::new(&k);
    let mm = Mm::new(&k).unwrap();
    let va = mm.mmap_hugetlb(size, len, true).unwrap();
    let mut pinned = Vec::new();
    pin_user_pages_fast(&mut cx, &mm, va, 1024, GupFlags::WRITE, &mut pinned).unwrap();
    mm.munmap(&mut cx.memmap, va, len).unwrap();
    assert_eq!(k.hugetlb.free_hugepages(size), 0, "both pages are pinned");
    unpin_user_pages(&mut cx, &k, &pinned).unwrap();
    // Nothing has looked at the deferred pages yet; the next allocations reap them.
    let a = alloc_huge_folio(&k, &mut cx.memmap, size)
        .unwrap()
        .expect("reaped");
    let b = alloc_huge_folio(&k, &mut cx.memmap, size)
        .unwrap()
        .expect("reaped");
    assert_ne!(a, b);
    for pfn in [a, b] {
        release_huge_folio(&k, &mut cx.memmap, size, pfn).unwrap();
    }
    assert_eq!(k.hugetlb.free_hugepages(size), 2);
    drop(mm);
    assert_eq!(set_nr_hugepages(&k, size, 0).unwrap(), 0);
}
