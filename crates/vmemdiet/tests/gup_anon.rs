//! GUP over anonymous memory (private `/dev/zero`), THP and shmem: what faults install, the
//! counted work per profile (THP slow-path `page_mask` batching from 6.5, kernel brief §4.3),
//! pin arithmetic on order-0 and PMD-sized folios, teardown (INV-1, INV-4) and GUP racing the
//! faults it triggers (INV-7).

use vmemdiet::addr::{ByteSize, VirtAddr};
use vmemdiet::arch::Level;
use vmemdiet::machine::page_table::Pte;
use vmemdiet::mm::folio::page_folio;
use vmemdiet::mm::gup::{
    get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast, put_pages,
    unpin_user_pages, GupCtx, GupFlags,
};
use vmemdiet::mm::memory::{reap_anon, ThpAdvice, ThpEnabled};
use vmemdiet::mm::page::PagePtr;
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::vm::Mm;
use vmemdiet::mm::Kernel;
use vmemdiet_testkit::fixtures::boot;

const MIB2: u64 = 2 << 20;

fn kernel(profile: Profile) -> Kernel {
    boot(profile, ByteSize::gib(4), ByteSize::new(0))
}

/// A private anonymous mapping of `len`, advised `advice`, prefaulted with writes as gup_test
/// does.
fn anon<'k>(k: &'k Kernel, cx: &mut GupCtx<'k>, len: u64, advice: ThpAdvice) -> (Mm<'k>, VirtAddr) {
    let mm = Mm::new(k).unwrap();
    let va = mm
        .mmap_anon(len, false, ThpEnabled::Madvise, advice)
        .unwrap();
    mm.prefault(&mut cx.memmap, va, len, true).unwrap();
    (mm, va)
}

/// The leaf level mapping `va`.
fn leaf_level(mm: &Mm<'_>, va: VirtAddr) -> Level {
    mm.page_tables().walk_leaf(va).unwrap().2
}

#[test]
fn thp_maps_whole_pmds_and_base_pages_where_a_pmd_does_not_fit() {
    let k = kernel(Profile::V6_15);
    let mut cx = GupCtx::new(&k);
    // 5 MiB, PMD-aligned: two THPs and 256 base pages.
    let (mm, va) = anon(&k, &mut cx, 5 << 20, ThpAdvice::Huge);
    assert!(va.is_aligned(MIB2));
    assert_eq!(leaf_level(&mm, va), Level::PMD);
    assert_eq!(leaf_level(&mm, va.offset(MIB2 + 4096)), Level::PMD);
    assert_eq!(leaf_level(&mm, va.offset(2 * MIB2)), Level::PTE);
    let g = k.machine.geometry();
    let (_, leaf, _) = mm.page_tables().walk_leaf(va).unwrap();
    assert!(leaf.huge() && !leaf.has(Pte::DEVMAP));
    let folio = page_folio(&mut cx.memmap, PagePtr::from_pfn(g, leaf.pfn())).unwrap();
    assert_eq!(folio.nr_pages(&mut cx.memmap).unwrap(), 512);
    // One reference: the page table's (a new anonymous folio), mapped once.
    assert_eq!(folio.ref_count(&mut cx.memmap).unwrap(), 1);
    assert_eq!(folio.mapcount(&mut cx.memmap).unwrap(), 0);
    assert_eq!(k.machine.frames().usage().data(), 2 * 512 + 256);
    // MADV_NOHUGEPAGE (and no advice under enabled=madvise): base pages only.
    for advice in [ThpAdvice::NoHuge, ThpAdvice::None] {
        let (mm2, va2) = anon(&k, &mut cx, 4 << 20, advice);
        assert_eq!(leaf_level(&mm2, va2), Level::PTE);
        let (_, leaf, _) = mm2.page_tables().walk_leaf(va2).unwrap();
        let folio = page_folio(&mut cx.memmap, PagePtr::from_pfn(g, leaf.pfn())).unwrap();
        assert!(!folio.is_large(&mut cx.memmap).unwrap());
    }
}

#[test]
fn gup_fast_grabs_a_thp_once_per_call_and_base_pages_once_each() {
    let k = kernel(Profile::V5_10);
    let mut cx = GupCtx::new(&k);
    let len = 8 * MIB2;
    for (advice, want) in [(ThpAdvice::Huge, 8), (ThpAdvice::NoHuge, 4096)] {
        let (mm, va) = anon(&k, &mut cx, len, advice);
        let mut pages = Vec::new();
        cx.stats = Default::default();
        for c in 0..8 {
            let n = pin_user_pages_fast(
                &mut cx,
                &mm,
                va.offset(c * MIB2),
                512,
                GupFlags::WRITE,
                &mut pages,
            )
            .unwrap();
            assert_eq!(n, 512);
        }
        // THP-fast grabs per leaf in every kernel (gup_huge_pmd), not only after 6.15.
        assert_eq!(cx.stats.refs.refcount_atomics, want, "{advice:?}");
        assert_eq!(cx.stats.slow_pages, 0);
        // Pin arithmetic: a large folio counts pins in _pincount, an order-0 one in the bias.
        let f = page_folio(&mut cx.memmap, pages[0]).unwrap();
        if advice == ThpAdvice::Huge {
            assert_eq!(f.pincount(&mut cx.memmap).unwrap(), 512);
            assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 1 + 512);
        } else {
            assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 1 + 1024);
        }
        cx.stats = Default::default();
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
        // v5.10 unpins page by page.
        assert_eq!(cx.stats.refs.refcount_atomics, 4096);
        assert!(!f.maybe_dma_pinned(&mut cx.memmap).unwrap());
        assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 1);
    }
}

#[test]
fn the_thp_slow_path_batches_per_pmd_from_6_5_and_walks_per_page_before() {
    let len = 4 * MIB2;
    for p in ALL_PROFILES {
        let k = kernel(p);
        let mut cx = GupCtx::new(&k);
        let (mm, va) = anon(&k, &mut cx, len, ThpAdvice::Huge);
        let mut pages = Vec::new();
        cx.stats = Default::default();
        let n = pin_user_pages(
            &mut cx,
            &mm,
            va,
            2048,
            GupFlags::WRITE | GupFlags::LONGTERM,
            &mut pages,
        )
        .unwrap();
        assert_eq!(n, 2048);
        let batched = p.kernel() >= vmemdiet::arch::KernelVersion::new(6, 5);
        let (walks, atomics) = if batched { (4, 4) } else { (2048, 2048) };
        assert_eq!(cx.stats.walks, walks, "{p}");
        assert_eq!(cx.stats.refs.refcount_atomics, atomics, "{p}");
        assert_eq!(k.switches().thp_slow_batched, batched, "{p}");
        // Consecutive subpages of each THP, in order.
        let g = k.machine.geometry();
        for (i, w) in pages.windows(2).enumerate() {
            assert_eq!(
                w[1].0.as_u64() - w[0].0.as_u64(),
                g.struct_page_size,
                "{p} page {i}"
            );
            if i % 512 == 510 {
                break;
            }
        }
        unpin_user_pages(&mut cx, &k, &pages).unwrap();
        let f = page_folio(&mut cx.memmap, pages[0]).unwrap();
        assert_eq!(f.pincount(&mut cx.memmap).unwrap(), 0);
    }
}

#[test]
fn slow_gup_faults_in_what_is_missing_and_teardown_returns_every_frame() {
    // INV-1, INV-4.
    let k = kernel(Profile::V6_15);
    let before = k.machine.frames().usage();
    {
        let mut cx = GupCtx::new(&k);
        let mm = Mm::new(&k).unwrap();
        let len = 3 * MIB2 + 8192;
        let va = mm
            .mmap_anon(len, false, ThpEnabled::Madvise, ThpAdvice::Huge)
            .unwrap();
        let mut pages = Vec::new();
        // Nothing is mapped: FOLL_WRITE faults every page in (FOLL_TOUCH semantics).
        let nr = (len / 4096) as usize;
        assert_eq!(
            get_user_pages(&mut cx, &mm, va, nr, GupFlags::WRITE, &mut pages).unwrap(),
            nr
        );
        assert_eq!(k.machine.frames().usage().data(), 3 * 512 + 2);
        put_pages(&mut cx, &pages).unwrap();
        // Pinned across munmap: the THP waits for its unpin, then goes back.
        let mut pinned = Vec::new();
        pin_user_pages_fast(&mut cx, &mm, va, 1, GupFlags::WRITE, &mut pinned).unwrap();
        mm.munmap(&mut cx.memmap, va, len).unwrap();
        assert_eq!(
            k.machine.frames().usage().data(),
            512,
            "only the pinned THP is left"
        );
        assert_eq!(reap_anon(&k).unwrap(), 1);
        unpin_user_pages(&mut cx, &k, &pinned).unwrap();
        assert_eq!(reap_anon(&k).unwrap(), 0);
    }
    let after = k.machine.frames().usage();
    assert_eq!(after.data(), before.data());
    assert_eq!(after.memmap_ram(), before.memmap_ram());
}

#[test]
fn shmem_folios_keep_a_page_cache_reference_and_long_term_write_pins_stay_fast() {
    let k = kernel(Profile::V6_15);
    let mut cx = GupCtx::new(&k);
    let mm = Mm::new(&k).unwrap();
    let len = 2 * MIB2;
    let va = mm
        .mmap_anon(len, true, ThpEnabled::Always, ThpAdvice::Huge)
        .unwrap();
    mm.prefault(&mut cx.memmap, va, len, true).unwrap();
    // shmem_enabled=never: order-0 even with MADV_HUGEPAGE; page cache + mapping references.
    assert_eq!(leaf_level(&mm, va), Level::PTE);
    let mut pages = Vec::new();
    cx.stats = Default::default();
    let flags = GupFlags::WRITE | GupFlags::LONGTERM;
    assert_eq!(
        pin_user_pages_fast(&mut cx, &mm, va, 512, flags, &mut pages).unwrap(),
        512
    );
    // gup_fast_folio_allowed lets shmem (and anon) through: no slow path.
    assert_eq!(cx.stats.slow_pages, 0);
    let f = page_folio(&mut cx.memmap, pages[0]).unwrap();
    assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 2 + 1024);
    unpin_user_pages(&mut cx, &k, &pages).unwrap();
    // get_user_pages_fast without the fast path's pages: a plain get.
    let mut got = Vec::new();
    get_user_pages_fast(&mut cx, &mm, va, 1, GupFlags::NONE, &mut got).unwrap();
    assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 3);
    put_pages(&mut cx, &got).unwrap();
}

#[test]
fn gup_racing_its_own_faults_on_several_threads_grabs_each_page_once_per_call() {
    // INV-7: faults take the page-table lock; GUP-fast sees either nothing (and falls back to
    // the slow path, which faults under the mmap lock) or a published leaf.
    for advice in [ThpAdvice::Huge, ThpAdvice::NoHuge] {
        let k = kernel(Profile::V6_15);
        let mm = Mm::new(&k).unwrap();
        let len = 4 * MIB2;
        let va = mm
            .mmap_anon(len, false, ThpEnabled::Madvise, advice)
            .unwrap();
        let nr = (len / 4096) as usize;
        let results: Vec<Vec<PagePtr>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let (k, mm) = (&k, &mm);
                    s.spawn(move || {
                        let mut cx = GupCtx::new(k);
                        let mut pages = Vec::new();
                        let n =
                            pin_user_pages_fast(&mut cx, mm, va, nr, GupFlags::WRITE, &mut pages)
                                .unwrap();
                        assert_eq!(n, nr);
                        pages
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Every thread saw the same pages: one fault per leaf won.
        for r in &results[1..] {
            assert_eq!(r, &results[0], "{advice:?}");
        }
        let mut cx = GupCtx::new(&k);
        let f = page_folio(&mut cx.memmap, results[0][0]).unwrap();
        if advice == ThpAdvice::Huge {
            assert_eq!(f.pincount(&mut cx.memmap).unwrap(), 4 * 512);
        }
        for r in &results {
            unpin_user_pages(&mut cx, &k, r).unwrap();
        }
        assert_eq!(f.ref_count(&mut cx.memmap).unwrap(), 1, "{advice:?}");
        assert!(!f.maybe_dma_pinned(&mut cx.memmap).unwrap());
        // 8 MiB: four THPs or 2048 base pages, each faulted once.
        assert_eq!(k.machine.frames().usage().data(), 2048, "{advice:?}");
    }
}
