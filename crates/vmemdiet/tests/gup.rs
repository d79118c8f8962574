//! GUP and unpin on device-dax: the kernel's arithmetic, the counted work per profile
//! (kernel brief appendix B), errors, and teardown while pinned. Names cite INV-n.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use vmemdiet::addr::{ByteSize, VirtAddr};
use vmemdiet::drivers::dax::DaxError;
use vmemdiet::drivers::dax::DaxRegion;
use vmemdiet::mm::folio::page_folio;
use vmemdiet::mm::gup::{
    get_user_pages_fast, pin_user_pages, pin_user_pages_fast, put_pages,
    unpin_user_page_range_dirty_lock, unpin_user_pages, GupCtx, GupError, GupFlags,
};
use vmemdiet::mm::memremap::MemremapError;
use vmemdiet::mm::page::PagePtr;
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::vm::Mm;
use vmemdiet::mm::Kernel;
use vmemdiet_testkit::fixtures::{self, boot, devdax, map_prefaulted};

const KIB4: ByteSize = ByteSize::kib(4);
const MIB2: ByteSize = ByteSize::mib(2);
const GIB1: ByteSize = ByteSize::gib(1);

/// The machine every test here boots: 8 GiB of RAM.
const RAM: ByteSize = ByteSize::gib(8);

/// A kernel with one devdax device of `size` at `align`.
fn setup(profile: Profile, size: ByteSize, align: ByteSize) -> (Kernel, DaxRegion) {
    fixtures::setup(profile, RAM, size, align)
}

/// The region's device mapped writable and prefaulted, whole.
fn map<'k>(k: &'k Kernel, r: &DaxRegion, cx: &mut GupCtx<'k>) -> (Mm<'k>, VirtAddr, u64) {
    let dev = r.devices().next().unwrap();
    let len = dev.data_size().bytes();
    let mm = Mm::new(k).unwrap();
    let va = map_prefaulted(&mm, &mut cx.memmap, dev, len);
    (mm, va, len)
}

/// Refcount and pincount of the folio holding `page`.
fn counts(cx: &mut GupCtx<'_>, page: PagePtr) -> (i32, i64) {
    let f = page_folio(&mut cx.memmap, page).unwrap();
    (
        f.ref_count(&mut cx.memmap).unwrap(),
        f.pincount(&mut cx.memmap).unwrap(),
    )
}

#[test]
fn pinning_an_order0_page_three_times_adds_3072() {
    let (k, r) = setup(Profile::V5_10, MIB2, KIB4);
    let mut cx = GupCtx::new(&k);
    let (mm, va, _) = map(&k, &r, &mut cx);
    let mut pages = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            pin_user_pages_fast(&mut cx, &mm, va, 1, GupFlags::WRITE, &mut pages).unwrap(),
            1
        );
    }
    assert_eq!(counts(&mut cx, pages[0]), (1 + 3 * 1024, 0));
    let f = page_folio(&mut cx.memmap, pages[0]).unwrap();
    assert!(f.maybe_dma_pinned(&mut cx.memmap).unwrap());
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
    assert_eq!(counts(&mut cx, pages[0]), (1, 0));
    assert!(!f.maybe_dma_pinned(&mut cx.memmap).unwrap());
}

#[test]
fn pinning_100_subpages_of_a_2m_folio_adds_100_to_refcount_and_pincount() {
    for profile in [
        Profile::RFC,
        Profile::V5_19,
        Profile::V6_12,
        Profile::V6_15,
        Profile::NEXT,
    ] {
        let (k, r) = setup(profile, MIB2, MIB2);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let base = counts(
            &mut cx,
            PagePtr::from_pfn(
                k.machine.geometry(),
                k.machine
                    .geometry()
                    .phys_to_pfn(r.devices().next().unwrap().layout.start),
            ),
        );
        let mut pages = Vec::new();
        let start = VirtAddr::new(va.as_u64() + 7 * 4096);
        assert_eq!(
            pin_user_pages_fast(&mut cx, &mm, start, 100, GupFlags::WRITE, &mut pages).unwrap(),
            100
        );
        assert_eq!(counts(&mut cx, pages[0]), (base.0 + 100, 100), "{profile}");
        assert_eq!(
            counts(&mut cx, pages[99]),
            (base.0 + 100, 100),
            "tails resolve to the same folio"
        );
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
        assert_eq!(counts(&mut cx, pages[0]), base, "{profile}: INV-4");
    }
}

/// Appendix B: pinning 16 GiB of 2 MiB devdax 512 pages per call.
#[test]
fn counted_head_atomics_for_16g_of_2m_devdax_match_appendix_b() {
    let size = ByteSize::gib(16);
    let calls = 8192usize;
    for (profile, pin_atomics, unpin_atomics, lookups) in [
        (Profile::V5_10, 4_194_304, 4_194_304, 4_194_304),
        (Profile::V5_19, 4_194_304, 8192, 4_194_304),
        (Profile::V6_12, 4_194_304, 8192, 4_194_304),
        (Profile::RFC, 8192, 8192, 0),
        (Profile::V6_18, 8192, 8192, 0),
    ] {
        let (k, r) = setup(profile, size, MIB2);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let mut pages = Vec::with_capacity(4 << 20);
        for c in 0..calls {
            let start = VirtAddr::new(va.as_u64() + c as u64 * (2 << 20));
            assert_eq!(
                pin_user_pages_fast(&mut cx, &mm, start, 512, GupFlags::WRITE, &mut pages).unwrap(),
                512
            );
        }
        assert_eq!(cx.stats.refs.refcount_atomics, pin_atomics, "{profile} pin");
        assert_eq!(cx.stats.pgmap_lookups, lookups, "{profile} pgmap lookups");
        assert_eq!(
            cx.stats.slow_pages, 0,
            "{profile}: no fallback without FOLL_LONGTERM"
        );
        cx.stats = Default::default();
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
        assert_eq!(
            cx.stats.refs.refcount_atomics, unpin_atomics,
            "{profile} unpin"
        );
    }
}

#[test]
fn longterm_write_pins_of_devdax_take_the_slow_path_and_batch_per_profile() {
    // 2 GiB at 1G: p = 524288 pages, f = 2 folios. FOLL_LONGTERM|FOLL_WRITE (RDMA): devmap
    // leaves (≤ 6.14) always fall back; 6.15's DAX folios are file-backed, which
    // gup_fast_folio_allowed refuses for long-term write pins, so they fall back too.
    for (profile, fast, walks) in [
        (Profile::V5_10, false, 524_288),
        (Profile::RFC, false, 2),
        (Profile::V5_19, false, 524_288),
        (Profile::V6_12, false, 2), // PUD leaves batched since 6.10
        (Profile::V6_15, false, 2),
        (Profile::NEXT, false, 2),
    ] {
        let (k, r) = setup(profile, ByteSize::gib(2), GIB1);
        let mut cx = GupCtx::new(&k);
        let (mm, va, len) = map(&k, &r, &mut cx);
        let nr = (len / 4096) as usize;
        let mut pages = Vec::new();
        let flags = GupFlags::WRITE | GupFlags::LONGTERM;
        assert_eq!(
            pin_user_pages_fast(&mut cx, &mm, va, nr, flags, &mut pages).unwrap(),
            nr
        );
        assert_eq!(cx.stats.fast_pages == nr as u64, fast, "{profile}");
        assert_eq!(cx.stats.slow_pages == nr as u64, !fast, "{profile}");
        // The fast attempt walks once before bailing out.
        assert_eq!(cx.stats.walks, walks + u64::from(!fast), "{profile}");
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
    }
    // v6.12 PMD leaves: one walk per 4 KiB page.
    let (k, r) = setup(Profile::V6_12, ByteSize::mib(4), MIB2);
    let mut cx = GupCtx::new(&k);
    let (mm, va, _) = map(&k, &r, &mut cx);
    let mut pages = Vec::new();
    pin_user_pages(&mut cx, &mm, va, 1024, GupFlags::LONGTERM, &mut pages).unwrap();
    assert_eq!(cx.stats.walks, 1024);
}

/// GUP-fast on 2M devdax leaves at the three release boundaries (kernels-2026 §2): up to 6.14 a
/// devmap leaf, per 4 KiB a pgmap check and a grab; 6.15-6.16 a special leaf GUP-fast refuses
/// (one walk), the slow path batching per leaf; from 6.17 one grab per folio leaf.
#[test]
fn gup_fast_on_a_2m_devdax_leaf_at_6_14_6_15_and_6_17() {
    // 4 MiB: 2 leaves, 1024 pages, pinned in one call.
    for (release, walks, atomics, lookups, fast, slow) in [
        ("6.14", 2, 1024, 1024, 1024, 0),
        ("6.15", 1 + 2, 2, 0, 0, 1024),
        ("6.16", 1 + 2, 2, 0, 0, 1024),
        ("6.17", 2, 2, 0, 1024, 0),
    ] {
        let profile: Profile = release.parse().unwrap();
        let (k, r) = setup(profile, ByteSize::mib(4), MIB2);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let mut pages = Vec::new();
        cx.stats = Default::default();
        let got = pin_user_pages_fast(&mut cx, &mm, va, 1024, GupFlags::WRITE, &mut pages);
        assert_eq!(got.unwrap(), 1024, "{release}");
        assert_eq!(cx.stats.walks, walks, "{release} walks");
        assert_eq!(cx.stats.refs.refcount_atomics, atomics, "{release} grabs");
        assert_eq!(cx.stats.pgmap_lookups, lookups, "{release} pgmap lookups");
        assert_eq!(cx.stats.fast_pages, fast, "{release} fast");
        assert_eq!(
            cx.stats.slow_pages, slow,
            "{release} fallback to the slow path"
        );
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
    }
}

#[test]
fn v6_18_longterm_pins_of_devdax_are_fast_without_write_and_slow_with_it() {
    // 1 GiB of 2M devdax = 512 folios, 262144 pages.
    let (k, r) = setup(Profile::V6_18, ByteSize::gib(1), MIB2);
    let mut cx = GupCtx::new(&k);
    let (mm, va, len) = map(&k, &r, &mut cx);
    let nr = (len / 4096) as usize;
    let mut pages = Vec::new();
    // Without FOLL_WRITE: the fast path, one grab per leaf.
    cx.stats = Default::default();
    let got = pin_user_pages_fast(&mut cx, &mm, va, nr, GupFlags::LONGTERM, &mut pages).unwrap();
    assert_eq!(got, nr);
    assert_eq!(cx.stats.fast_pages, nr as u64);
    assert_eq!(cx.stats.slow_pages, 0);
    assert_eq!(cx.stats.walks, 512);
    assert_eq!(cx.stats.refs.refcount_atomics, 512);
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
    pages.clear();
    // With FOLL_WRITE: the first leaf is grabbed, refused as file-backed and dropped (one grab,
    // one put), then the slow path walks once per leaf and grabs once per leaf.
    cx.stats = Default::default();
    let flags = GupFlags::LONGTERM | GupFlags::WRITE;
    let got = pin_user_pages_fast(&mut cx, &mm, va, nr, flags, &mut pages).unwrap();
    assert_eq!(got, nr);
    assert_eq!(cx.stats.fast_pages, 0);
    assert_eq!(cx.stats.slow_pages, nr as u64);
    assert_eq!(cx.stats.undone, 512, "one leaf grabbed then dropped");
    assert_eq!(cx.stats.walks, 1 + 512);
    assert_eq!(cx.stats.refs.refcount_atomics, 2 + 512);
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
}

#[test]
fn range_unpin_does_one_atomic_per_folio() {
    let (k, r) = setup(Profile::V6_15, ByteSize::gib(2), GIB1);
    let mut cx = GupCtx::new(&k);
    let (mm, va, len) = map(&k, &r, &mut cx);
    let nr = (len / 4096) as usize;
    let mut pages = Vec::new();
    pin_user_pages_fast(&mut cx, &mm, va, nr, GupFlags::WRITE, &mut pages).unwrap();
    cx.stats = Default::default();
    unpin_user_page_range_dirty_lock(&mut cx, pages[0], nr as u64, true).unwrap();
    assert_eq!(cx.stats.refs.refcount_atomics, 2);
    assert_eq!(cx.stats.refs.dirtied, 2);
    assert_eq!(
        counts(&mut cx, pages[0]),
        (1 + 1, 0),
        "the mapping's folio reference remains (6.15)"
    );
}

#[test]
fn get_user_pages_slow_path_faults_in_and_put_balances() {
    use vmemdiet::mm::gup::get_user_pages;
    for profile in ALL_PROFILES {
        let (k, r) = setup(profile, ByteSize::mib(4), MIB2);
        let mut cx = GupCtx::new(&k);
        let mm = Mm::new(&k).unwrap();
        // Not prefaulted: the slow path faults the leaves in.
        let va = mm
            .mmap_devdax(r.devices().next().unwrap(), 0, 4 << 20, true)
            .unwrap();
        let head = pages_head(&k, &r);
        let mut pages = Vec::new();
        assert_eq!(
            get_user_pages(&mut cx, &mm, va, 1024, GupFlags::WRITE, &mut pages).unwrap(),
            1024
        );
        assert_eq!(pages[1000], head.nth(k.machine.geometry(), 1000));
        let mapped = i32::from(profile.switches().dax_folios);
        let gets = if profile.switches().compound_devmap {
            512
        } else {
            1
        };
        assert_eq!(counts(&mut cx, head), (1 + mapped + gets, 0), "{profile}");
        put_pages(&mut cx, &pages).unwrap();
        assert_eq!(counts(&mut cx, head), (1 + mapped, 0), "{profile}: INV-4");
    }
}

#[test]
fn get_user_pages_fast_then_put_balances() {
    for profile in ALL_PROFILES {
        let (k, r) = setup(profile, ByteSize::mib(4), MIB2);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let head = PagePtr::from_pfn(
            k.machine.geometry(),
            k.machine
                .geometry()
                .phys_to_pfn(r.devices().next().unwrap().layout.start),
        );
        let base = counts(&mut cx, head);
        let mut pages = Vec::new();
        assert_eq!(
            get_user_pages_fast(&mut cx, &mm, va, 1024, GupFlags::NONE, &mut pages).unwrap(),
            1024
        );
        let f = page_folio(&mut cx.memmap, head).unwrap();
        assert!(
            !f.maybe_dma_pinned(&mut cx.memmap).unwrap(),
            "{profile}: gets are not pins"
        );
        put_pages(&mut cx, &pages).unwrap();
        assert_eq!(counts(&mut cx, head), base, "{profile}: INV-4");
    }
}

#[test]
fn inv6_errors_leave_counts_unchanged_and_report_partial_progress() {
    let (k, r) = setup(Profile::V6_15, ByteSize::mib(4), MIB2);
    let mut cx = GupCtx::new(&k);
    let (mm, va, len) = map(&k, &r, &mut cx);
    let head = pages_head(&k, &r);
    let base = counts(&mut cx, head);
    let mut pages = Vec::new();
    assert_eq!(
        pin_user_pages_fast(
            &mut cx,
            &mm,
            VirtAddr::new(0x1000),
            4,
            GupFlags::NONE,
            &mut pages
        ),
        Err(GupError::Fault(VirtAddr::new(0x1000)))
    );
    assert_eq!(
        pin_user_pages_fast(
            &mut cx,
            &mm,
            VirtAddr::new(va.as_u64() + 1),
            4,
            GupFlags::NONE,
            &mut pages
        ),
        Err(GupError::BadRange(VirtAddr::new(va.as_u64() + 1)))
    );
    assert_eq!(
        pin_user_pages_fast(&mut cx, &mm, va, 4, GupFlags::GET, &mut pages),
        Err(GupError::BadFlags)
    );
    assert_eq!(
        get_user_pages_fast(&mut cx, &mm, va, 4, GupFlags::PIN, &mut pages),
        Err(GupError::BadFlags)
    );
    assert!(pages.is_empty());
    assert_eq!(counts(&mut cx, head), base);
    // Asking past the end of the mapping pins what is mapped and says how much.
    let nr = (len / 4096) as usize;
    assert_eq!(
        pin_user_pages_fast(&mut cx, &mm, va, nr + 10, GupFlags::NONE, &mut pages).unwrap(),
        nr
    );
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
    assert_eq!(counts(&mut cx, head), base);
    // A read-only mapping refuses FOLL_WRITE.
    let dev = r.devices().next().unwrap();
    let ro = mm.mmap_devdax(dev, 0, len, false).unwrap();
    let mut pages = Vec::new();
    assert_eq!(
        pin_user_pages_fast(&mut cx, &mm, ro, 4, GupFlags::WRITE, &mut pages),
        Err(GupError::Fault(ro))
    );
    assert_eq!(counts(&mut cx, head), base);
}

fn pages_head(k: &Kernel, r: &DaxRegion) -> PagePtr {
    let g = k.machine.geometry();
    PagePtr::from_pfn(g, g.phys_to_pfn(r.devices().next().unwrap().layout.start))
}

#[test]
fn teardown_while_mapped_or_pinned_is_refused_and_frees_nothing() {
    for profile in ALL_PROFILES {
        let k = boot(profile, RAM, ByteSize::gib(1));
        let lists = k.machine.frames().free_lists();
        let usage = k.machine.frames().usage();
        let mut r = devdax(&k, ByteSize::gib(1), MIB2);
        let id = r.devices().next().unwrap().id;
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        assert!(
            matches!(
                r.destroy(&k, id),
                Err(DaxError::Memremap(MemremapError::Mapped { mappings: 1 }))
            ),
            "{profile}"
        );
        let mut pages = Vec::new();
        pin_user_pages_fast(&mut cx, &mm, va, 600, GupFlags::LONGTERM, &mut pages).unwrap();
        mm.munmap(&mut cx.memmap, va, 1 << 30).unwrap();
        assert!(
            matches!(
                r.destroy(&k, id),
                Err(DaxError::Memremap(MemremapError::Pinned { .. }))
            ),
            "{profile}"
        );
        // The pins still resolve: nothing was freed under them.
        assert_eq!(counts(&mut cx, pages[0]).1 > 0, profile != Profile::V5_10);
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
        drop(mm);
        r.destroy(&k, id).unwrap();
        assert_eq!(k.machine.frames().usage(), usage, "{profile}: INV-1");
        assert_eq!(k.machine.frames().free_lists(), lists, "{profile}: INV-1");
    }
}

#[test]
fn a_pin_that_would_overflow_the_refcount_is_refused_and_changes_nothing() {
    for (profile, align) in [(Profile::V5_10, KIB4), (Profile::V6_15, MIB2)] {
        let (k, r) = setup(profile, MIB2, align);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let head = pages_head(&k, &r);
        let f = page_folio(&mut cx.memmap, head).unwrap();
        f.set_ref_count(&mut cx.memmap, i32::MAX - 100).unwrap();
        let before = counts(&mut cx, head);
        let mut pages = Vec::new();
        // Order-0: one pin adds 1024; 2M: 512 refs in one grab.
        let r = pin_user_pages_fast(&mut cx, &mm, va, 512, GupFlags::NONE, &mut pages);
        assert!(matches!(r, Err(GupError::Overflow(_))), "{profile}: {r:?}");
        assert!(pages.is_empty());
        assert_eq!(counts(&mut cx, head), before, "{profile}");
    }
}

#[test]
fn unpin_dirty_lock_marks_each_folio_dirty_once_per_run() {
    use vmemdiet::mm::gup::unpin_user_pages_dirty_lock;
    let (k, r) = setup(Profile::V6_15, ByteSize::mib(8), MIB2);
    let mut cx = GupCtx::new(&k);
    let (mm, va, _) = map(&k, &r, &mut cx);
    let mut pages = Vec::new();
    pin_user_pages_fast(&mut cx, &mm, va, 2048, GupFlags::WRITE, &mut pages).unwrap();
    cx.stats = Default::default();
    unpin_user_pages_dirty_lock(&mut cx, &k, &pages, true).unwrap();
    assert_eq!(
        cx.stats.refs.refcount_atomics, 4,
        "four 2 MiB folios, one run each"
    );
    assert_eq!(cx.stats.refs.dirtied, 4);
    // Already dirty: no second marking.
    pages.clear();
    pin_user_pages_fast(&mut cx, &mm, va, 2048, GupFlags::WRITE, &mut pages).unwrap();
    cx.stats = Default::default();
    unpin_user_pages_dirty_lock(&mut cx, &k, &pages, true).unwrap();
    assert_eq!(cx.stats.refs.dirtied, 0);
}

#[test]
fn v6_15_longterm_write_pins_of_hugetlbfs_stay_on_the_fast_path() {
    use vmemdiet::drivers::dax::MapMode;
    use vmemdiet::plan::Kind;
    use vmemdiet::workload::mapping::{with_mapping, MappingError, MappingSpec};
    let spec = MappingSpec {
        kind: Kind::Hugetlb,
        size: ByteSize::mib(64),
        align: MIB2,
        map: MapMode::Mem,
        profile: Profile::V6_15,
        arch: vmemdiet::arch::Arch::X86_64,
    };
    with_mapping(&spec, true, |k, mm, va, len| -> Result<(), MappingError> {
        let mut cx = GupCtx::new(k);
        let nr = (len / 4096) as usize;
        let mut pages = Vec::new();
        let flags = GupFlags::LONGTERM | GupFlags::WRITE;
        let got = pin_user_pages_fast(&mut cx, mm, va, nr, flags, &mut pages).unwrap();
        assert_eq!(got, nr);
        assert_eq!(cx.stats.fast_pages, nr as u64, "hugetlb is exempt");
        assert_eq!(cx.stats.undone, 0);
        assert_eq!(cx.stats.refs.refcount_atomics, 32, "one grab per 2M folio");
        unpin_user_pages(&mut cx, k, &pages).unwrap();
        Ok(())
    })
    .unwrap();
}

/// What the slow path does per step under v6.12 (issue 11 item 2): RDMA's long-term write pin
/// of 4 MiB of devdax. GUP-fast bails at the first devmap leaf (one walk); the slow path then
/// takes, per 4 KiB page, a walk, the page-table lock, a cached pgmap check and a grab, and
/// looks the VMA up once. The FOLL_LONGTERM pass checks each folio once.
#[test]
fn v6_12_slow_path_pays_per_4k_walk_lock_pgmap_and_grab() {
    // 2M align: PMD leaves, no FOLL_TOUCH work (touch_pmd is in the entry).
    let (k, r) = setup(Profile::V6_12, ByteSize::mib(4), MIB2);
    let mut cx = GupCtx::new(&k);
    let (mm, va, _) = map(&k, &r, &mut cx);
    let mut pages = Vec::new();
    cx.stats = Default::default();
    let flags = GupFlags::LONGTERM | GupFlags::WRITE;
    assert_eq!(
        pin_user_pages_fast(&mut cx, &mm, va, 1024, flags, &mut pages).unwrap(),
        1024
    );
    let s = cx.stats;
    assert_eq!(
        (s.walks, s.ptl_locks, s.vma_lookups, s.pgmap_lookups),
        (1 + 1024, 1024, 1, 1024)
    );
    assert_eq!(
        (s.refs.refcount_atomics, s.refs.pincount_atomics),
        (1024, 1024)
    );
    assert_eq!(
        s.refs.flag_atomics, 0,
        "PMD leaves are touched in the entry"
    );
    assert_eq!(s.pinnable_checks, 2, "one per folio of the array");
    unpin_user_pages(&mut cx, &k, &pages).unwrap();

    // 4K align: PTE leaves, order-0 folios. The *_fast slow half passes FOLL_TOUCH, so each
    // page is marked accessed; pin_user_pages does not.
    let (k, r) = setup(Profile::V6_12, ByteSize::mib(4), KIB4);
    let mut cx = GupCtx::new(&k);
    let (mm, va, _) = map(&k, &r, &mut cx);
    let mut pages = Vec::new();
    cx.stats = Default::default();
    pin_user_pages_fast(&mut cx, &mm, va, 1024, flags, &mut pages).unwrap();
    let s = cx.stats;
    assert_eq!((s.walks, s.ptl_locks, s.vma_lookups), (1 + 1024, 1024, 1));
    assert_eq!(s.refs.flag_atomics, 1024, "folio_mark_accessed per 4 KiB");
    assert_eq!(s.pinnable_checks, 1024, "every order-0 folio is checked");
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
    pages.clear();
    cx.stats = Default::default();
    pin_user_pages(&mut cx, &mm, va, 1024, GupFlags::LONGTERM, &mut pages).unwrap();
    assert_eq!(
        cx.stats.refs.flag_atomics, 0,
        "pin_user_pages: no FOLL_TOUCH"
    );
    assert_eq!(cx.stats.ptl_locks, 1024);
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
}

/// GUP-fast marks folios referenced (issue 11 item 3): per 4 KiB page on a devmap leaf up to
/// 6.14 (`SetPageReferenced` in `__gup_device_huge`, `folio_set_referenced` in
/// `gup_fast_devmap_leaf`), once per leaf from 6.15 and in the rfc's batched path.
#[test]
fn gup_fast_sets_referenced_per_4k_on_devmap_leaves_and_once_per_folio_leaf() {
    for (profile, flag_atomics) in [
        (Profile::V5_10, 1024),
        (Profile::RFC, 2),
        (Profile::V5_19, 1024),
        (Profile::V6_12, 1024),
        (Profile::V6_18, 2),
        (Profile::NEXT, 2),
    ] {
        let (k, r) = setup(profile, ByteSize::mib(4), MIB2);
        let mut cx = GupCtx::new(&k);
        let (mm, va, _) = map(&k, &r, &mut cx);
        let mut pages = Vec::new();
        cx.stats = Default::default();
        get_user_pages_fast(&mut cx, &mm, va, 1024, GupFlags::NONE, &mut pages).unwrap();
        assert_eq!(cx.stats.fast_pages, 1024, "{profile}");
        assert_eq!(cx.stats.refs.flag_atomics, flag_atomics, "{profile}");
        let head = page_folio(&mut cx.memmap, pages[0]).unwrap().head();
        let flags = cx.memmap.page(head).unwrap().flags();
        assert_ne!(flags & vmemdiet::mm::page::PG_REFERENCED, 0, "{profile}");
        put_pages(&mut cx, &pages).unwrap();
    }
}
