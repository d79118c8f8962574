//! INV-7 on the implementation: GUP-fast pinners and unpinners on several threads against a
//! thread that keeps unmapping and remapping the device. Every thread ends with what it
//! pinned released; afterwards every refcount and pincount is at its baseline and every frame
//! is back (INV-1).

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use vmemdiet::addr::{ByteSize, Pfn, VirtAddr};
use vmemdiet::mm::folio::page_folio;
use vmemdiet::mm::gup::{
    get_user_pages_fast, pin_user_pages_fast, put_pages, unpin_user_pages, GupCtx, GupFlags,
};
use vmemdiet::mm::page::PagePtr;
use vmemdiet::mm::profile::Profile;
use vmemdiet::mm::vm::Mm;
use vmemdiet_testkit::fixtures::{boot, devdax, map_prefaulted};

const SIZE: u64 = 64 << 20;

fn stress(profile: Profile, align: ByteSize) {
    let k = boot(profile, ByteSize::gib(4), ByteSize::new(SIZE));
    let lists = k.machine.frames().free_lists();
    let mut region = devdax(&k, ByteSize::new(SIZE), align);
    let id = region.devices().next().unwrap().id;
    let dev = region.device(id).unwrap();
    let mm = Mm::new(&k).unwrap();
    let current = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let pinned_total = AtomicU64::new(0);
    {
        let mut cx = GupCtx::new(&k);
        let va = map_prefaulted(&mm, &mut cx.memmap, dev, SIZE);
        current.store(va.as_u64(), Ordering::Release);
    }
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (k, mm, current, stop, pinned_total) = (&k, &mm, &current, &stop, &pinned_total);
            s.spawn(move || {
                let mut cx = GupCtx::new(k);
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                let mut held: Vec<(Vec<PagePtr>, bool)> = Vec::new();
                let mut rounds = 0;
                while !stop.load(Ordering::Acquire) || rounds < 50 {
                    rounds += 1;
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let page = seed % (SIZE / 4096);
                    let n = 1 + (seed >> 20) % 1500;
                    let start = VirtAddr::new(current.load(Ordering::Acquire) + page * 4096);
                    let mut pages = Vec::new();
                    let pin = seed & 1 == 0;
                    let r = if pin {
                        pin_user_pages_fast(
                            &mut cx,
                            mm,
                            start,
                            n as usize,
                            GupFlags::NONE,
                            &mut pages,
                        )
                    } else {
                        get_user_pages_fast(
                            &mut cx,
                            mm,
                            start,
                            n as usize,
                            GupFlags::NONE,
                            &mut pages,
                        )
                    };
                    // Racing munmap may make any of these fail or come up short.
                    if let Ok(got) = r {
                        assert_eq!(got, pages.len());
                        pinned_total.fetch_add(got as u64, Ordering::Relaxed);
                    } else {
                        assert!(pages.is_empty(), "an error leaves nothing grabbed");
                    }
                    held.push((pages, pin));
                    if held.len() > 4 || seed & 6 == 0 {
                        let (pages, pin) = held.remove(0);
                        if pin {
                            unpin_user_pages(&mut cx, k, &pages).unwrap();
                        } else {
                            put_pages(&mut cx, &pages).unwrap();
                        }
                    }
                }
                for (pages, pin) in held {
                    if pin {
                        unpin_user_pages(&mut cx, k, &pages).unwrap();
                    } else {
                        put_pages(&mut cx, &pages).unwrap();
                    }
                }
            });
        }
        let (k, mm, current, stop) = (&k, &mm, &current, &stop);
        s.spawn(move || {
            let mut cx = GupCtx::new(k);
            for _ in 0..60 {
                let va = VirtAddr::new(current.load(Ordering::Acquire));
                mm.munmap(&mut cx.memmap, va, SIZE).unwrap();
                let nva = map_prefaulted(mm, &mut cx.memmap, dev, SIZE);
                current.store(nva.as_u64(), Ordering::Release);
                std::thread::yield_now();
            }
            stop.store(true, Ordering::Release);
        });
    });
    assert!(
        pinned_total.load(Ordering::Relaxed) > 0,
        "the race was exercised"
    );
    let mut cx = GupCtx::new(&k);
    mm.unmap_all(&mut cx.memmap).unwrap();
    drop(mm);
    let g = k.machine.geometry();
    let first = g.phys_to_pfn(region.device(id).unwrap().layout.start);
    let step = if profile.switches().compound_devmap {
        align.bytes() / 4096
    } else {
        1
    };
    let mut pfn = first.as_u64();
    while pfn < first.as_u64() + SIZE / 4096 {
        let f = page_folio(&mut cx.memmap, PagePtr::from_pfn(g, Pfn::new(pfn))).unwrap();
        assert_eq!(
            f.ref_count(&mut cx.memmap).unwrap(),
            1,
            "{profile}: refcount of {pfn:#x}"
        );
        assert_eq!(
            f.pincount(&mut cx.memmap).unwrap(),
            0,
            "{profile}: pincount of {pfn:#x}"
        );
        pfn += step;
    }
    region.destroy(&k, id).unwrap();
    assert_eq!(k.machine.frames().free_lists(), lists, "{profile}: INV-1");
}

#[test]
fn inv7_pin_unpin_vs_munmap_v6_15_2m() {
    stress(Profile::V6_15, ByteSize::mib(2));
}

#[test]
fn inv7_pin_unpin_vs_munmap_v5_19_2m() {
    stress(Profile::V5_19, ByteSize::mib(2));
}

#[test]
fn inv7_pin_unpin_vs_munmap_v5_10_4k() {
    stress(Profile::V5_10, ByteSize::kib(4));
}

#[test]
fn inv7_pin_unpin_vs_munmap_next_2m() {
    stress(Profile::NEXT, ByteSize::mib(2));
}
