//! INV-4 and INV-6 against the reference model: generated sequences of pin, get, unpin, put,
//! munmap and remap, fast and slow, on every profile; after every step each folio's refcount
//! and pincount equal the model's, and `folio_maybe_dma_pinned` is true exactly while pins are
//! held.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use proptest::prelude::*;
use vmemdiet::addr::{ByteSize, VirtAddr};
use vmemdiet::mm::folio::page_folio;
use vmemdiet::mm::gup::{
    get_user_pages_fast, pin_user_pages, pin_user_pages_fast, put_pages, unpin_user_pages, GupCtx,
    GupFlags,
};
use vmemdiet::mm::page::PagePtr;
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::mm::vm::Mm;
use vmemdiet_testkit::fixtures::{boot, devdax, map_prefaulted};
use vmemdiet_testkit::refmodel::RefModel;

const DEVICE: u64 = 8 << 20;

#[derive(Debug, Clone)]
enum Op {
    PinFast {
        page: u64,
        n: u64,
        longterm: bool,
    },
    PinSlow {
        page: u64,
        n: u64,
    },
    GetFast {
        page: u64,
        n: u64,
    },
    /// Release the i-th outstanding batch (modulo how many there are).
    Release {
        i: usize,
    },
    /// munmap the mapping and map the device again, prefaulted.
    Remap,
}

fn op() -> impl Strategy<Value = Op> {
    let pages = DEVICE / 4096;
    prop_oneof![
        (0..pages, 1..1200u64, any::<bool>()).prop_map(|(page, n, longterm)| Op::PinFast {
            page,
            n,
            longterm
        }),
        (0..pages, 1..700u64).prop_map(|(page, n)| Op::PinSlow { page, n }),
        (0..pages, 1..700u64).prop_map(|(page, n)| Op::GetFast { page, n }),
        (0..8usize).prop_map(|i| Op::Release { i }),
        Just(Op::Remap),
    ]
}

struct Batch {
    pages: Vec<PagePtr>,
    pin: bool,
}

fn run(profile: Profile, align: ByteSize, ops: &[Op]) {
    let k = boot(profile, ByteSize::gib(4), ByteSize::new(DEVICE));
    let lists = k.machine.frames().free_lists();
    let mut region = devdax(&k, ByteSize::new(DEVICE), align);
    let id = region.devices().next().unwrap().id;
    let g = k.machine.geometry();
    let first = g.phys_to_pfn(region.device(id).unwrap().layout.start);
    let folio_pages = if profile.switches().compound_devmap {
        align.bytes() / 4096
    } else {
        1
    };
    let dax_folios = profile.switches().dax_folios;
    let mut model = RefModel::new(first.as_u64(), DEVICE / 4096, folio_pages, 1);
    let mut cx = GupCtx::new(&k);
    let mm = Mm::new(&k).unwrap();
    let dev = region.device(id).unwrap();
    let map = |cx: &mut GupCtx<'_>, model: &mut RefModel| {
        let va = map_prefaulted(&mm, &mut cx.memmap, dev, DEVICE);
        if dax_folios {
            // One leaf per align-sized block maps its folio.
            for leaf in 0..DEVICE / align.bytes() {
                model.map(first.as_u64() + leaf * align.bytes() / 4096, 1);
            }
        }
        va
    };
    let mut va = map(&mut cx, &mut model);
    let mut batches: Vec<Batch> = Vec::new();
    let check = |cx: &mut GupCtx<'_>, model: &RefModel, step: &str| {
        for head in model.heads() {
            let f = page_folio(
                &mut cx.memmap,
                PagePtr::from_pfn(g, vmemdiet::addr::Pfn::new(head)),
            )
            .unwrap();
            let got = (
                i64::from(f.ref_count(&mut cx.memmap).unwrap()),
                f.pincount(&mut cx.memmap).unwrap(),
            );
            assert_eq!(
                got,
                model.expected(head),
                "{profile} align {align} after {step}: folio {head:#x}"
            );
            assert_eq!(
                f.maybe_dma_pinned(&mut cx.memmap).unwrap(),
                model.maybe_dma_pinned(head)
            );
        }
    };
    for op in ops {
        match *op {
            Op::PinFast { page, n, longterm } => {
                let mut pages = Vec::new();
                let flags = if longterm {
                    GupFlags::LONGTERM
                } else {
                    GupFlags::NONE
                };
                let start = VirtAddr::new(va.as_u64() + page * 4096);
                let got = pin_user_pages_fast(&mut cx, &mm, start, n as usize, flags, &mut pages)
                    .unwrap();
                assert_eq!(
                    got as u64,
                    n.min(DEVICE / 4096 - page),
                    "partial progress is the mapped part"
                );
                model.pin(&pages.iter().map(|p| p.pfn(g).as_u64()).collect::<Vec<_>>());
                batches.push(Batch { pages, pin: true });
            }
            Op::PinSlow { page, n } => {
                let mut pages = Vec::new();
                let start = VirtAddr::new(va.as_u64() + page * 4096);
                pin_user_pages(
                    &mut cx,
                    &mm,
                    start,
                    n as usize,
                    GupFlags::LONGTERM | GupFlags::WRITE,
                    &mut pages,
                )
                .unwrap();
                model.pin(&pages.iter().map(|p| p.pfn(g).as_u64()).collect::<Vec<_>>());
                batches.push(Batch { pages, pin: true });
            }
            Op::GetFast { page, n } => {
                let mut pages = Vec::new();
                let start = VirtAddr::new(va.as_u64() + page * 4096);
                get_user_pages_fast(&mut cx, &mm, start, n as usize, GupFlags::NONE, &mut pages)
                    .unwrap();
                model.get(&pages.iter().map(|p| p.pfn(g).as_u64()).collect::<Vec<_>>());
                batches.push(Batch { pages, pin: false });
            }
            Op::Release { i } => {
                if batches.is_empty() {
                    continue;
                }
                let b = batches.remove(i % batches.len());
                let pfns: Vec<u64> = b.pages.iter().map(|p| p.pfn(g).as_u64()).collect();
                if b.pin {
                    unpin_user_pages(&mut cx, &k, &b.pages).unwrap();
                    model.unpin(&pfns);
                } else {
                    put_pages(&mut cx, &b.pages).unwrap();
                    model.put(&pfns);
                }
            }
            Op::Remap => {
                mm.munmap(&mut cx.memmap, va, DEVICE).unwrap();
                if dax_folios {
                    for leaf in 0..DEVICE / align.bytes() {
                        model.map(first.as_u64() + leaf * align.bytes() / 4096, -1);
                    }
                }
                va = map(&mut cx, &mut model);
            }
        }
        check(&mut cx, &model, &format!("{op:?}"));
    }
    for b in batches.drain(..) {
        let pfns: Vec<u64> = b.pages.iter().map(|p| p.pfn(g).as_u64()).collect();
        if b.pin {
            unpin_user_pages(&mut cx, &k, &b.pages).unwrap();
            model.unpin(&pfns);
        } else {
            put_pages(&mut cx, &b.pages).unwrap();
            model.put(&pfns);
        }
    }
    mm.munmap(&mut cx.memmap, va, DEVICE).unwrap();
    drop(mm);
    let baseline = RefModel::new(first.as_u64(), DEVICE / 4096, folio_pages, 1);
    check(&mut cx, &baseline, "releasing everything");
    region.destroy(&k, id).unwrap();
    assert_eq!(
        k.machine.frames().free_lists(),
        lists,
        "INV-1 after the sequence"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn inv4_refcounts_follow_the_reference_model(
        profile in prop::sample::select(ALL_PROFILES.to_vec()),
        align in prop::sample::select(vec![ByteSize::kib(4), ByteSize::mib(2)]),
        ops in prop::collection::vec(op(), 1..24),
    ) {
        run(profile, align, &ops);
    }
}
