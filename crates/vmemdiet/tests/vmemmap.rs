//! Vmemmap population, dedup, memmap init and teardown on the simulated machine. Test names
//! cite the design README's invariants (INV-n).

use std::sync::atomic::Ordering;

use vmemdiet::addr::{ByteSize, Order, Pfn, PhysAddr, VirtAddr};
use vmemdiet::drivers::dax::{DaxError, DaxRegion, DevDaxSpec, MapMode};
use vmemdiet::machine::Fault;
use vmemdiet::mm::page::{page_folio, Memmap, PagePtr, PG_HEAD};
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::sparse_vmemmap::ptes_mapping;
use vmemdiet::mm::Kernel;
use vmemdiet_testkit::fixtures::{boot, devdax_spec, DEVDAX_ALIGNS};

/// The machine every test here boots: 8 GiB of RAM.
const RAM: ByteSize = ByteSize::gib(8);

fn vmemmap_range(k: &Kernel, start: PhysAddr, size: ByteSize) -> (VirtAddr, VirtAddr) {
    let g = k.machine.geometry();
    let s = g.pfn_to_page_va(g.phys_to_pfn(start));
    (
        s,
        VirtAddr::new(s.as_u64() + g.bytes_to_pages(size) * g.struct_page_size),
    )
}

/// The frame (pfn) that backs vmemmap page `j` of the compound page starting at `head_pfn`.
fn vmemmap_frame(k: &Kernel, head_pfn: Pfn, j: u64) -> Pfn {
    let g = k.machine.geometry();
    let va = VirtAddr::new(g.pfn_to_page_va(head_pfn).as_u64() + j * g.page_size());
    k.machine.kernel_pt().lookup(va).unwrap().pfn()
}

#[test]
fn golden_2m_compound_page_costs_two_frames_and_the_reuse_frame_has_refcount_7() {
    for profile in [Profile::RFC, Profile::V5_19, Profile::V6_12, Profile::V6_15] {
        let k = boot(profile, RAM, ByteSize::gib(1));
        let mut r = DaxRegion::new(&k).unwrap();
        let dev = r
            .create(
                &k,
                devdax_spec(ByteSize::mib(2), ByteSize::mib(2), MapMode::Mem),
            )
            .unwrap();
        assert_eq!(dev.cost.memmap_bytes, 2 * 4096, "{profile}");
        assert_eq!(dev.cost.struct_pages_initialized, 128);
        assert_eq!(dev.cost.struct_pages, 512);
        let head = k.machine.geometry().phys_to_pfn(dev.layout.start);
        let (h, reuse) = (vmemmap_frame(&k, head, 0), vmemmap_frame(&k, head, 1));
        assert_ne!(h, reuse);
        for j in 2..8 {
            assert_eq!(
                vmemmap_frame(&k, head, j),
                reuse,
                "vmemmap page {j} aliases the reuse frame"
            );
        }
        assert_eq!(k.machine.frames().refcount(h), 1);
        assert_eq!(k.machine.frames().refcount(reuse), 7);
    }
}

#[test]
fn golden_1g_compound_page_spans_eight_sections_with_reuse_refcount_4095() {
    let k = boot(Profile::V6_15, RAM, ByteSize::gib(1));
    let mut r = DaxRegion::new(&k).unwrap();
    let dev = r
        .create(
            &k,
            devdax_spec(ByteSize::gib(1), ByteSize::gib(1), MapMode::Mem),
        )
        .unwrap();
    assert_eq!(dev.cost.memmap_bytes, 2 * 4096);
    // 8 PTE tables plus one PMD table (the device region is 64 GiB aligned, away from RAM's).
    assert_eq!(dev.cost.pagetable_bytes, 9 * 4096);
    assert_eq!(dev.cost.struct_pages_initialized, 128);
    let head = k.machine.geometry().phys_to_pfn(dev.layout.start);
    let reuse = vmemmap_frame(&k, head, 1);
    for j in [2, 511, 512, 513, 4095] {
        assert_eq!(vmemmap_frame(&k, head, j), reuse);
    }
    assert_eq!(k.machine.frames().refcount(reuse), 4095);
    // The bootstrap benchmark's PTE floor: 4096 entries, 4094 of them references on the
    // reused frame.
    let nr = dev.pgmap.nr_pages();
    assert_eq!(
        vmemdiet::mm::sparse_vmemmap::vmemmap_entries_of(&k, head, nr),
        (4096, 4094)
    );
}

/// Without compound pages the vmemmap of a section is one PMD leaf, a frame of its own: 1 GiB
/// takes 8 entries and no references; `next` shares the all-tail PTE table, counted once.
#[test]
fn vmemmap_entries_count_leaves_and_references_on_reused_frames() {
    use vmemdiet::mm::sparse_vmemmap::vmemmap_entries_of;
    for (profile, expect) in [
        (Profile::V5_10, (8, 0)),
        (Profile::V6_15, (4096, 4094)),
        // One private head frame per 1G folio and one table's worth of shared tails: 8 PTE
        // tables, 7 of them the shared one; the first table holds the head and tails.
        (Profile::NEXT, (1024, 1022)),
    ] {
        let k = boot(profile, RAM, ByteSize::gib(1));
        let mut r = DaxRegion::new(&k).unwrap();
        let dev = r
            .create(
                &k,
                devdax_spec(ByteSize::gib(1), ByteSize::gib(1), MapMode::Mem),
            )
            .unwrap();
        let head = k.machine.geometry().phys_to_pfn(dev.layout.start);
        let got = vmemmap_entries_of(&k, head, dev.pgmap.nr_pages());
        assert_eq!(got, expect, "{profile}");
    }
}

#[test]
fn inv2_reuse_frame_refcount_equals_ptes_mapping_it() {
    for profile in ALL_PROFILES {
        for align in [ByteSize::mib(2), ByteSize::gib(1)] {
            let k = boot(profile, RAM, ByteSize::gib(2));
            let mut r = DaxRegion::new(&k).unwrap();
            let dev = r
                .create(&k, devdax_spec(ByteSize::gib(2), align, MapMode::Mem))
                .unwrap();
            let (s, e) = vmemmap_range(&k, dev.layout.start, dev.layout.size);
            let g = k.machine.geometry();
            let first = g.phys_to_pfn(dev.layout.start);
            let n = g.bytes_to_pages(align);
            let mut checked = 0;
            for c in 0..dev.layout.size.bytes() / align.bytes() {
                for j in [0, 1, 2] {
                    let frame = vmemmap_frame(&k, first.add(c * n), j);
                    let ptes = ptes_mapping(&k, frame, s, e);
                    let rc = u64::from(k.machine.frames().refcount(frame));
                    if profile == Profile::V5_10 {
                        // PMD-mapped 2 MiB blocks: one PMD leaf, no PTEs.
                        assert_eq!(ptes, 0);
                    } else {
                        assert_eq!(
                            rc, ptes,
                            "{profile} align {align} compound {c} vmemmap page {j}"
                        );
                        checked += 1;
                    }
                }
            }
            assert!(profile == Profile::V5_10 || checked > 0);
        }
    }
}

#[test]
fn inv3_every_tail_resolves_to_its_head_and_only_heads_carry_counts() {
    for profile in ALL_PROFILES {
        for align in [ByteSize::mib(2), ByteSize::gib(1)] {
            let k = boot(profile, RAM, ByteSize::gib(2));
            let mut r = DaxRegion::new(&k).unwrap();
            let dev = r
                .create(&k, devdax_spec(ByteSize::gib(2), align, MapMode::Mem))
                .unwrap();
            let g = k.machine.geometry();
            let first = g.phys_to_pfn(dev.layout.start);
            let n = g.bytes_to_pages(align);
            let mut mm = Memmap::new(&k.machine);
            let compound = profile != Profile::V5_10;
            for c in 0..dev.layout.size.bytes() / align.bytes() {
                let head = PagePtr::from_pfn(g, first.add(c * n));
                let hp = mm.page(head).unwrap();
                assert_eq!(hp.ref_count(), 1, "{profile}: head refcount");
                assert!(!hp.is_tail());
                assert_eq!(hp.is_head(), compound);
                if compound {
                    let f = page_folio(&mut mm, head).unwrap();
                    assert_eq!(f.order(&mut mm).unwrap(), Order::new(n.trailing_zeros()));
                    assert_eq!(f.nr_pages(&mut mm).unwrap(), n);
                    assert_eq!(f.pincount(&mut mm).unwrap(), 0);
                }
                // Every tail of the first compound page, and a sample of the others.
                let step = if c == 0 { 1 } else { 97 };
                let mut i = 1;
                while i < n {
                    let t = head.nth(g, i);
                    let tp = mm.page(t).unwrap();
                    if compound {
                        assert_eq!(
                            mm.compound_head(t).unwrap(),
                            head,
                            "{profile} align {align} tail {i}"
                        );
                        assert!(tp.is_tail());
                        assert_eq!(tp.flags() & PG_HEAD, 0);
                        assert_eq!(tp.ref_count(), 0, "tails carry no refcount");
                        if i > 1 {
                            assert_eq!(tp.mapping(), g.tail_mapping());
                        }
                    } else {
                        assert_eq!(mm.compound_head(t).unwrap(), t);
                        assert_eq!(tp.ref_count(), 1);
                    }
                    i += step;
                }
            }
        }
    }
}

#[test]
fn inv1_teardown_returns_every_frame_for_every_profile_align_and_map() {
    for profile in ALL_PROFILES {
        for align in DEVDAX_ALIGNS {
            for map in [MapMode::Mem, MapMode::Dev] {
                let k = boot(profile, RAM, ByteSize::gib(4));
                let start = k.machine.frames().free_lists();
                let usage = k.machine.frames().usage();
                let mut r = DaxRegion::new(&k).unwrap();
                // Two devices, one not a whole number of sections, destroyed in creation order.
                let a = r
                    .create(&k, devdax_spec(ByteSize::gib(2), align, map))
                    .unwrap()
                    .id;
                // With --map=dev at 1G the reserve rounds to a whole 1 GiB, so 2 GiB is the least.
                let small = match (align, map) {
                    (a, MapMode::Dev) if a == ByteSize::gib(1) => ByteSize::gib(2),
                    (a, _) if a == ByteSize::gib(1) => ByteSize::gib(1),
                    _ => ByteSize::mib(130),
                };
                let b = r.create(&k, devdax_spec(small, align, map)).unwrap().id;
                assert!(k.machine.frames().usage() != usage);
                r.destroy(&k, a).unwrap();
                r.destroy(&k, b).unwrap();
                assert_eq!(k.machine.frames().usage(), usage, "{profile} {align} {map}");
                assert_eq!(
                    k.machine.frames().free_lists(),
                    start,
                    "{profile} {align} {map}"
                );
                assert!(
                    k.shared_tails_empty(),
                    "{profile}: shared tail frames released"
                );
            }
        }
    }
}

#[test]
fn inv6_bad_input_is_refused_with_state_unchanged() {
    let k = boot(Profile::V6_15, RAM, ByteSize::gib(4));
    let mut r = DaxRegion::new(&k).unwrap();
    r.create(
        &k,
        devdax_spec(ByteSize::gib(1), ByteSize::gib(1), MapMode::Mem),
    )
    .unwrap();
    let usage = k.machine.frames().usage();
    let lists = k.machine.frames().free_lists();
    let bad = [
        (
            devdax_spec(ByteSize::new(0), ByteSize::mib(2), MapMode::Mem),
            "zero",
        ),
        (
            devdax_spec(ByteSize::mib(3), ByteSize::mib(2), MapMode::Mem),
            "misaligned size",
        ),
        (
            devdax_spec(ByteSize::mib(2), ByteSize::mib(4), MapMode::Mem),
            "unsupported align",
        ),
        (
            devdax_spec(ByteSize::gib(8), ByteSize::mib(2), MapMode::Mem),
            "too big",
        ),
        (
            devdax_spec(ByteSize::mib(2), ByteSize::mib(2), MapMode::Dev),
            "reserve too large",
        ),
        (
            DevDaxSpec {
                at: Some(r.start),
                ..devdax_spec(ByteSize::mib(2), ByteSize::mib(2), MapMode::Mem)
            },
            "overlap",
        ),
        (
            DevDaxSpec {
                at: Some(PhysAddr::new(r.start.as_u64() + 4096)),
                ..devdax_spec(ByteSize::mib(2), ByteSize::mib(2), MapMode::Mem)
            },
            "misaligned address",
        ),
    ];
    for (s, what) in bad {
        let e = r.create(&k, s).unwrap_err();
        match (what, &e) {
            ("zero", DaxError::ZeroSize)
            | ("misaligned size", DaxError::SizeMisaligned { .. })
            | ("unsupported align", DaxError::UnsupportedAlign { .. })
            | ("too big", DaxError::TooBig { .. })
            | ("reserve too large", DaxError::ReserveTooLarge { .. })
            | ("overlap", DaxError::Overlap { .. })
            | ("misaligned address", DaxError::AddressMisaligned { .. }) => {}
            _ => panic!("{what}: unexpected error {e}"),
        }
        assert_eq!(k.machine.frames().usage(), usage, "{what}");
        assert_eq!(k.machine.frames().free_lists(), lists, "{what}");
    }
    assert_eq!(r.devices().count(), 1);
    let msg = r
        .create(
            &k,
            devdax_spec(ByteSize::mib(3), ByteSize::mib(2), MapMode::Mem),
        )
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("2M or 4M"),
        "the error suggests valid sizes: {msg}"
    );
}

#[test]
fn inv6_allocation_failure_midway_unwinds_everything() {
    for profile in ALL_PROFILES {
        for align in DEVDAX_ALIGNS {
            for map in [MapMode::Mem, MapMode::Dev] {
                let k = boot(profile, RAM, ByteSize::gib(2));
                let mut r = DaxRegion::new(&k).unwrap();
                let usage = k.machine.frames().usage();
                let lists = k.machine.frames().free_lists();
                let populated = k.stats.struct_pages_populated.load(Ordering::Relaxed);
                // Fail at a few points inside population.
                for n in [0, 1, 3, 40, 300] {
                    k.machine.frames().inject_alloc_failure(Some(n));
                    let res = r.create(&k, devdax_spec(ByteSize::gib(2), align, map));
                    k.machine.frames().inject_alloc_failure(None);
                    if let Ok(d) = res {
                        // Fewer allocations than `n` were needed: undo and go on.
                        let id = d.id;
                        r.destroy(&k, id).unwrap();
                    } else {
                        assert_eq!(r.devices().count(), 0);
                    }
                    assert_eq!(
                        k.machine.frames().usage(),
                        usage,
                        "{profile} {align} {map} fail after {n}"
                    );
                    assert_eq!(k.machine.frames().free_lists(), lists);
                    assert_eq!(
                        k.stats.struct_pages_populated.load(Ordering::Relaxed),
                        populated
                    );
                }
                // And the region still works.
                let id = r
                    .create(&k, devdax_spec(ByteSize::gib(2), align, map))
                    .unwrap()
                    .id;
                r.destroy(&k, id).unwrap();
            }
        }
    }
}

#[test]
fn shared_tail_profiles_map_tails_read_only_and_fault_on_write() {
    // mm-2026 (DAX tails read-only, brief §9.11) and next alike.
    for profile in [Profile::V7_4, Profile::NEXT] {
        let k = boot(profile, RAM, ByteSize::gib(2));
        let mut r = DaxRegion::new(&k).unwrap();
        let a = r
            .create(
                &k,
                devdax_spec(ByteSize::mib(4), ByteSize::mib(2), MapMode::Mem),
            )
            .unwrap();
        assert_eq!(
            a.cost.memmap_bytes,
            3 * 4096,
            "two head frames plus the order's shared tail frame"
        );
        let g = k.machine.geometry();
        let head = g.phys_to_pfn(a.layout.start);
        // Both compound pages' tails (vmemmap pages 1..7) are the same frame.
        let shared = vmemmap_frame(&k, head, 1);
        assert_eq!(vmemmap_frame(&k, head.add(512), 5), shared);
        let mut mm = Memmap::new(&k.machine);
        let tail = PagePtr::from_pfn(g, head.add(300));
        assert_eq!(mm.compound_head(tail).unwrap(), PagePtr::from_pfn(g, head));
        assert_eq!(
            mm.compound_head(PagePtr::from_pfn(g, head.add(812)))
                .unwrap(),
            PagePtr::from_pfn(g, head.add(512))
        );
        match mm.page_mut(tail) {
            Err(Fault::ReadOnlyStructPage { va, pfn }) => {
                assert_eq!(
                    pfn,
                    head.add(300).as_u64(),
                    "{profile}: the fault names the page"
                );
                assert_eq!(va, tail.0);
            }
            other => panic!("{profile}: expected a read-only fault, got {other:?}"),
        }
        assert!(
            mm.page_mut(PagePtr::from_pfn(g, head.add(1))).is_ok(),
            "page[1] holds folio fields: writable"
        );
    }
}

#[test]
fn struct_page_pointers_really_walk_the_vmemmap() {
    let k = boot(Profile::V6_15, RAM, ByteSize::gib(1));
    let g = k.machine.geometry();
    let mut mm = Memmap::new(&k.machine);
    let region_pfn = g.phys_to_pfn(k.machine.phys_map().device_region().unwrap().start());
    assert!(
        matches!(
            mm.page(PagePtr::from_pfn(g, region_pfn)),
            Err(Fault::NotMapped(_))
        ),
        "no memmap before memremap"
    );
    let mut r = DaxRegion::new(&k).unwrap();
    let id = r
        .create(
            &k,
            devdax_spec(ByteSize::mib(2), ByteSize::mib(2), MapMode::Mem),
        )
        .unwrap()
        .id;
    assert!(mm.page(PagePtr::from_pfn(g, region_pfn)).is_ok());
    r.destroy(&k, id).unwrap();
    assert!(
        matches!(
            mm.page(PagePtr::from_pfn(g, region_pfn)),
            Err(Fault::NotMapped(_))
        ),
        "TLB flushed at teardown"
    );
}

#[test]
fn memmap_frames_of_counts_the_distinct_frames_of_exactly_the_pfns_asked() {
    use vmemdiet::mm::sparse_vmemmap::memmap_frames_of;
    // Two 2M compound pages; frames for (no pfn, one pfn, the first compound page, both, the
    // first one's tail pfns 64.. that live in vmemmap pages 1..7).
    for (profile, counts) in [
        // PMD-mapped memmap: every vmemmap page is its own 4 KiB of the leaf.
        (Profile::V5_10, [0, 1, 8, 16, 7]),
        // Head + reuse frame per compound page.
        (Profile::V6_15, [0, 1, 2, 4, 1]),
        // Head per compound page + the order's one shared tail frame.
        (Profile::NEXT, [0, 1, 2, 3, 1]),
    ] {
        let k = boot(profile, RAM, ByteSize::gib(1));
        let mut r = DaxRegion::new(&k).unwrap();
        let dev = r
            .create(
                &k,
                devdax_spec(ByteSize::mib(4), ByteSize::mib(2), MapMode::Mem),
            )
            .unwrap();
        let head = k.machine.geometry().phys_to_pfn(dev.layout.start);
        let got = [
            memmap_frames_of(&k, head, 0),
            memmap_frames_of(&k, head, 1),
            memmap_frames_of(&k, head, 512),
            memmap_frames_of(&k, head, 1024),
            memmap_frames_of(&k, head.add(64), 448),
        ];
        assert_eq!(got, counts, "{profile}");
    }
}

#[test]
fn next_maps_every_tail_vmemmap_page_to_the_one_shared_frame_across_sections() {
    // 256 MiB of 2M pages spans two 128 MiB sections: 128 compound pages, 128 private heads
    // and one shared tail frame, whichever section's call mapped them.
    let k = boot(Profile::NEXT, RAM, ByteSize::gib(1));
    let mut r = DaxRegion::new(&k).unwrap();
    let dev = r
        .create(
            &k,
            devdax_spec(ByteSize::mib(256), ByteSize::mib(2), MapMode::Mem),
        )
        .unwrap();
    let first = k.machine.geometry().phys_to_pfn(dev.layout.start);
    let shared = vmemmap_frame(&k, first, 1);
    let mut heads = std::collections::HashSet::new();
    for c in [0, 1, 62, 63, 64, 65, 127] {
        let head = first.add(c * 512);
        let h = vmemmap_frame(&k, head, 0);
        assert_ne!(h, shared, "compound page {c}: private head frame");
        assert!(heads.insert(h), "compound page {c}: its own head frame");
        for j in 1..8 {
            assert_eq!(
                vmemmap_frame(&k, head, j),
                shared,
                "compound page {c}, vmemmap page {j}"
            );
        }
    }
    assert_eq!(
        vmemdiet::mm::sparse_vmemmap::memmap_frames_of(&k, first, 128 * 512),
        129
    );
    // 1G pages: page 0 private, pages 1..4095 (PTEs, then shared all-tail tables) the tail.
    let k = boot(Profile::NEXT, RAM, ByteSize::gib(1));
    let mut r = DaxRegion::new(&k).unwrap();
    let dev = r
        .create(
            &k,
            devdax_spec(ByteSize::gib(1), ByteSize::gib(1), MapMode::Mem),
        )
        .unwrap();
    let head = k.machine.geometry().phys_to_pfn(dev.layout.start);
    let shared = vmemmap_frame(&k, head, 1);
    assert_ne!(vmemmap_frame(&k, head, 0), shared);
    for j in [2, 511, 512, 513, 1024, 3584, 4095] {
        assert_eq!(vmemmap_frame(&k, head, j), shared, "vmemmap page {j}");
    }
    assert_eq!(
        vmemdiet::mm::sparse_vmemmap::memmap_frames_of(&k, head, 1 << 18),
        2
    );
}

/// A vmemmap address resolves to the frame under it: exactly one base page of 64-bit words,
/// and the word offset of the address within it.
#[test]
fn a_kernel_address_resolves_to_one_page_of_words() {
    use vmemdiet::machine::tlb::Tlb;
    let k = boot(Profile::V6_15, RAM, ByteSize::gib(1));
    let g = k.machine.geometry();
    let ram = k.machine.phys_map().ram().next().unwrap().start();
    let va = g.pfn_to_page_va(g.phys_to_pfn(ram).add(3));
    let mut tlb = Tlb::new(g);
    let (frame, word) = k.machine.kernel_frame(&mut tlb, va, false).unwrap();
    assert_eq!(frame.len(), 512);
    assert_eq!(word as u64, (va.as_u64() & 4095) / 8);
}

/// Li Zhe's template-copy memmap init (a pending series, `memmap_init=template-copy`) is a
/// faster way to the same memmap: every struct page of the device reads as it does after
/// field-by-field init, and the same number of struct pages is written.
#[test]
fn template_copy_init_writes_the_same_struct_pages_as_field_by_field_init() {
    let size = ByteSize::mib(64);
    for align in [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)] {
        let size = size.max(align);
        let words = |profile: Profile| {
            let (k, r) = vmemdiet_testkit::fixtures::setup(profile, ByteSize::gib(4), size, align);
            let g = k.machine.geometry();
            let mut mm = vmemdiet::mm::page::Memmap::new(&k.machine);
            let dev = r.devices().next().unwrap();
            let first = g.phys_to_pfn(dev.data_start());
            let pages: Vec<_> = (0..g.bytes_to_pages(dev.data_size()))
                .map(|i| {
                    let p = mm
                        .page(vmemdiet::mm::page::PagePtr::from_pfn(g, first.add(i)))
                        .unwrap();
                    (
                        p.flags(),
                        p.compound_info(),
                        p.mapping(),
                        p.ref_count(),
                        p.mapcount(),
                    )
                })
                .collect();
            let copied = k.stats.struct_pages_copied.load(Ordering::Relaxed);
            (pages, k.struct_pages_initialized(), copied)
        };
        let field_by_field = words(Profile::V7_3);
        let copied = words(
            Profile::V7_3
                .with_switch("memmap_init", "template-copy")
                .unwrap(),
        );
        assert_eq!(copied.1, field_by_field.1, "{align}: struct pages written");
        assert_eq!(
            field_by_field.2, 0,
            "{align}: nothing copied field by field"
        );
        // Per compound page, the head, page[1] and the template tail are written field by
        // field and the rest of the unique struct pages copied (2M: 2 vmemmap pages = 128
        // struct pages, 1G: the same 128 of 262144 with tail dedup); order-0 pages (4K): all
        // but the first are copies.
        let nr = size.bytes() / align.bytes();
        let want = if align == ByteSize::kib(4) {
            copied.1 - 1
        } else {
            nr * (128 - 3)
        };
        assert_eq!(copied.2, want, "{align}: struct pages copied");
        assert!(
            copied.0 == field_by_field.0,
            "{align}: some struct page differs"
        );
        // Tails really are tails of their head, and heads carry one reference.
        assert_eq!(copied.0[0].3, 1, "{align}: head refcount");
        if align > ByteSize::kib(4) {
            assert_eq!(copied.0[2].1 & 1, 1, "{align}: page 2 is a tail");
        }
    }
}
