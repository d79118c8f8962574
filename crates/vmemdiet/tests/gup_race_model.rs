//! INV-7, model-checked: the GUP-fast grab / re-check / undo protocol against munmap, explored
//! over many thread interleavings with shuttle. The model mirrors `mm/gup.rs` and `mm/vm.rs`:
//! the walker enters the gate, reads the leaf, grabs `refs` on the head (refusing at 0),
//! re-reads the leaf and undoes on change; munmap clears the leaf, drops the mapping's folio
//! reference (DAX folios), unlinks the emptied page table, synchronizes the gate, then frees it.
//! (An earlier order — synchronize, then unlink and free — let a walker that entered in between
//! read a freed table; this model found it.)

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use shuttle::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use shuttle::sync::Arc;
use shuttle::thread;

const LEAF: u64 = 0x1234_5000 | 1;
const REFS: i32 = 512;

struct World {
    /// The parent (PMD) entry that links the page table holding the leaf.
    table_linked: AtomicBool,
    leaf: AtomicU64,
    table_freed: AtomicBool,
    refcount: AtomicI32,
    phase: AtomicU64,
    readers: [AtomicU64; 2],
}

impl World {
    fn enter(&self) -> usize {
        loop {
            let p = (self.phase.load(Ordering::SeqCst) & 1) as usize;
            self.readers[p].fetch_add(1, Ordering::SeqCst);
            if (self.phase.load(Ordering::SeqCst) & 1) as usize == p {
                return p;
            }
            self.readers[p].fetch_sub(1, Ordering::SeqCst);
        }
    }
    fn exit(&self, p: usize) {
        self.readers[p].fetch_sub(1, Ordering::SeqCst);
    }
    fn synchronize(&self) {
        let old = (self.phase.fetch_add(1, Ordering::SeqCst) & 1) as usize;
        while self.readers[old].load(Ordering::SeqCst) != 0 {
            thread::yield_now();
        }
    }
    /// gup_fast on one leaf: returns true if `REFS` references are now held.
    fn gup_fast(&self) -> bool {
        let p = self.enter();
        let ok = (|| {
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
        })();
        self.exit(p);
        ok
    }
    fn munmap(&self) {
        if self.leaf.swap(0, Ordering::AcqRel) & 1 == 1 {
            // The mapping's folio reference (6.15+ DAX folios).
            self.refcount.fetch_sub(1, Ordering::AcqRel);
        }
        // The table is now empty: unlink it, wait out walkers, free it.
        self.table_linked.store(false, Ordering::Release);
        self.synchronize();
        self.table_freed.store(true, Ordering::SeqCst);
    }
}

fn scenario(walkers: usize) {
    // Idle device-dax head: 1, plus 1 for the mapping.
    let w = Arc::new(World {
        table_linked: AtomicBool::new(true),
        leaf: AtomicU64::new(LEAF),
        table_freed: AtomicBool::new(false),
        refcount: AtomicI32::new(2),
        phase: AtomicU64::new(0),
        readers: [AtomicU64::new(0), AtomicU64::new(0)],
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
    hs.push(thread::spawn(move || wm.munmap()));
    for h in hs {
        h.join().unwrap();
    }
    // No reference lost or doubled: back to the idle count, mapping gone.
    assert_eq!(w.refcount.load(Ordering::SeqCst), 1);
    assert!(w.table_freed.load(Ordering::SeqCst));
}

#[test]
fn inv7_grab_recheck_undo_vs_munmap_random_schedules() {
    shuttle::check_random(|| scenario(2), 20_000);
}

#[test]
fn inv7_grab_recheck_undo_vs_munmap_pct() {
    shuttle::check_pct(|| scenario(2), 20_000, 3);
}
