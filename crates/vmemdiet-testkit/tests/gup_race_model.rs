//! INV-7, model-checked: the GUP-fast grab / re-check / undo protocol against munmap, explored
//! over many thread interleavings with shuttle. The walker gate is the library's own
//! [`FastGate`], run on shuttle's primitives ([`Shuttle`]); the rest of the model mirrors
//! `mm/gup.rs` and `mm/vm.rs`: the walker enters the gate, reads the leaf, grabs `refs` on the
//! head (refusing at 0), re-reads the leaf and undoes on change; munmap clears the leaf, drops the
//! mapping's folio reference (DAX folios), unlinks the emptied page table, synchronizes the gate,
//! then frees it. (An earlier order — synchronize, then unlink and free — let a walker that
//! entered in between read a freed table; this model found it, and
//! [`wrong_order_synchronize_before_unlink_is_caught`] keeps showing that it would.)
//!
//! The test lives in the testkit because only here can it turn on `vmemdiet`'s `shuttle` feature
//! (a dev-dependency with features); the feature only adds [`Shuttle`], so the real-thread tests
//! built alongside keep using `std`.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use shuttle::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use shuttle::sync::Arc;
use shuttle::thread;
use vmemdiet::mm::gate::FastGate;
use vmemdiet::sync::Shuttle;

const LEAF: u64 = 0x1234_5000 | 1;
const REFS: i32 = 512;

/// The order in which munmap retires the emptied page table.
#[derive(Debug, Clone, Copy)]
enum Teardown {
    /// What `mm/vm.rs` does: unlink, synchronize the gate, free.
    UnlinkSynchronizeFree,
    /// The old bug: synchronize, then unlink and free.
    SynchronizeUnlinkFree,
}

struct World {
    /// The parent (PMD) entry that links the page table holding the leaf.
    table_linked: AtomicBool,
    leaf: AtomicU64,
    table_freed: AtomicBool,
    refcount: AtomicI32,
    gate: FastGate<Shuttle>,
}

impl World {
    /// gup_fast on one leaf: returns true if `REFS` references are now held.
    fn gup_fast(&self) -> bool {
        let _walk = self.gate.enter();
        if !self.table_linked.load(Ordering::Acquire) {
            return false;
        }
        assert!(
            !self.table_freed.load(Ordering::SeqCst),
            "walker inside a freed page table"
        );
        let leaf = self.leaf.load(Ordering::Acquire);
        if leaf & 1 == 0 {
            return false;
        }
        let grabbed = self
            .refcount
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                if c <= 0 {
                    None
                } else {
                    Some(c + REFS)
                }
            })
            .is_ok();
        if !grabbed {
            return false;
        }
        if self.leaf.load(Ordering::Acquire) != leaf {
            self.refcount.fetch_sub(REFS, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn munmap(&self, order: Teardown) {
        if self.leaf.swap(0, Ordering::AcqRel) & 1 == 1 {
            // The mapping's folio reference (6.15+ DAX folios).
            self.refcount.fetch_sub(1, Ordering::AcqRel);
        }
        // The table is now empty: unlink it, wait out walkers, free it.
        match order {
            Teardown::UnlinkSynchronizeFree => {
                self.table_linked.store(false, Ordering::Release);
                self.gate.synchronize();
            }
            Teardown::SynchronizeUnlinkFree => {
                self.gate.synchronize();
                self.table_linked.store(false, Ordering::Release);
            }
        }
        self.table_freed.store(true, Ordering::SeqCst);
    }
}

fn scenario(walkers: usize, order: Teardown) {
    // Idle device-dax head: 1, plus 1 for the mapping.
    let w = Arc::new(World {
        table_linked: AtomicBool::new(true),
        leaf: AtomicU64::new(LEAF),
        table_freed: AtomicBool::new(false),
        refcount: AtomicI32::new(2),
        gate: FastGate::default(),
    });
    let mut hs = Vec::new();
    for _ in 0..walkers {
        let w = Arc::clone(&w);
        hs.push(thread::spawn(move || {
            if w.gup_fast() {
                // Pins outlive munmap; the holder releases them later.
                assert!(w.refcount.load(Ordering::Acquire) > REFS);
                w.refcount.fetch_sub(REFS, Ordering::AcqRel);
            }
        }));
    }
    let wm = Arc::clone(&w);
    hs.push(thread::spawn(move || wm.munmap(order)));
    for h in hs {
        h.join().unwrap();
    }
    // No reference lost or doubled: back to the idle count, mapping gone.
    assert_eq!(w.refcount.load(Ordering::SeqCst), 1);
    assert!(w.table_freed.load(Ordering::SeqCst));
}

#[test]
fn inv7_grab_recheck_undo_vs_munmap_random_schedules() {
    shuttle::check_random(|| scenario(2, Teardown::UnlinkSynchronizeFree), 20_000);
}

#[test]
fn inv7_grab_recheck_undo_vs_munmap_pct() {
    shuttle::check_pct(|| scenario(2, Teardown::UnlinkSynchronizeFree), 20_000, 3);
}

/// The model has teeth: with the table unlinked only after the gate is synchronized, a walker
/// that enters in between reads the table after it is freed, and shuttle finds that schedule.
#[test]
#[should_panic(expected = "walker inside a freed page table")]
fn wrong_order_synchronize_before_unlink_is_caught() {
    shuttle::check_pct(|| scenario(2, Teardown::SynchronizeUnlinkFree), 20_000, 3);
}
