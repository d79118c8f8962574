//! The frame store: simulated physical frames, the buddy allocator for System RAM, per-frame
//! reference counts, and accounting by kind.
//!
//! Only frames that hold kernel metadata (memmap, page tables) are *backed* by host memory;
//! data frames (device memory, user pages, huge pages) are tracked but never backed. Backing
//! comes lazily in 32 MiB chunks of anonymous host memory, so describing 1 TiB of device memory costs
//! only its metadata. A frame is one base page of the architecture (`PAGE_SIZE`), seen as
//! 64-bit words. Chunk memory is never returned to the host while the store lives, which is
//! what makes handing out `&Frame` references from `&self` sound.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::PoisonError;
use std::sync::{Mutex, OnceLock};

use crate::addr::Pfn;
use crate::arch::Geometry;
use crate::machine::phys_map::PhysMap;

/// The body of a backed frame (one base page), seen as 64-bit words.
pub type Frame = [AtomicU64];
/// Host memory per backing chunk: large enough that the host allocator always maps it fresh,
/// so untouched frames cost no resident memory.
const CHUNK_BYTES: usize = 32 << 20;
/// Chunks per directory slot (16 TiB of physical address space).
const DIR_CHUNKS: u64 = 512;

/// What a frame is used for; the accounting key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// Holds struct pages (`nr_memmap_pages`). Backed.
    Memmap = 1,
    /// A page-table page. Backed.
    PageTable = 2,
    /// Anything else (user data, huge pages): never backed.
    Data = 3,
}

impl FrameKind {
    const fn backed(self) -> bool {
        !matches!(self, FrameKind::Data)
    }

    /// The kind stored in the side table (0: unused).
    const fn from_raw(v: u8) -> Option<FrameKind> {
        match v {
            1 => Some(FrameKind::Memmap),
            2 => Some(FrameKind::PageTable),
            3 => Some(FrameKind::Data),
            _ => None,
        }
    }
}

/// What the side table says of a backed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameState {
    /// Free, or never backed: no reference may be taken or dropped.
    Unused,
    /// Allocated for `kind`, with `refcount` users (a split or continuation frame may be in use
    /// with a count of 0 until it is handed out).
    Used { kind: FrameKind, refcount: u32 },
}

/// Set in a frame's side-table kind when it is boot (memblock) memory.
const BOOT_FLAG: u8 = 0x80;

/// Per-frame state the simulated kernel keeps outside the frame itself. (In Linux this is the
/// frame's own `struct page` in the boot memmap; modelling it as a side table avoids a memmap for
/// the memmap.)
#[derive(Debug, Default)]
struct FrameInfo {
    /// 0 when free, else a `FrameKind`, with [`BOOT_FLAG`] for boot memory.
    kind: AtomicU8,
    /// `page_ref_count` of the frame: the number of users (for a vmemmap reuse frame: the
    /// number of PTEs that map it, INV-2).
    refcount: AtomicU32,
}

struct Chunk {
    /// Anonymous memory: zero pages the host maps on first touch, so untouched frames cost no
    /// resident memory.
    map: memmap2::MmapMut,
    info: Box<[FrameInfo]>,
}

impl Chunk {
    /// A chunk of `frames` frames, or the host's refusal to map its memory.
    fn new(frames: u64) -> Result<Chunk, FrameError> {
        let map = memmap2::MmapMut::map_anon(CHUNK_BYTES).map_err(|e| FrameError::HostMemory {
            bytes: CHUNK_BYTES as u64,
            reason: e.to_string(),
        })?;
        let info = (0..frames).map(|_| FrameInfo::default()).collect();
        Ok(Chunk { map, info })
    }

    /// Frame `idx` of the chunk, `words` 64-bit words long.
    #[inline]
    fn frame(&self, idx: u64, words: usize) -> &Frame {
        #[allow(clippy::cast_possible_truncation)]
        let offset = idx as usize * words * 8;
        assert!(
            offset + words * 8 <= CHUNK_BYTES,
            "frame index inside the chunk"
        );
        // SAFETY: `[offset, offset + words * 8)` is inside the CHUNK_BYTES-long mapping (checked
        // above), which is page aligned (so every frame is 8-aligned), zero-filled by the host
        // and lives as long as `self`; all-zero bytes are valid `AtomicU64`s and every access
        // goes through atomics, so shared references into it are sound.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(offset).cast::<AtomicU64>(), words)
        }
    }
}

type ChunkDir = Box<[OnceLock<Chunk>]>;

/// Errors of the frame store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("out of memory: no free order-{order} block of System RAM (ENOMEM)")]
    OutOfMemory { order: u32 },
    #[error("{pfn} is not an allocated order-{order} block (bad free)")]
    BadFree { pfn: Pfn, order: u32 },
    #[error("{pfn} is outside the physical map")]
    OutOfRange { pfn: Pfn },
    #[error("the host refused {bytes} bytes of memory for simulated frames ({reason}); simulate a smaller size, or raise the address-space limit (ulimit -v)")]
    HostMemory { bytes: u64, reason: String },
}

/// Frames in use, by kind and location: the raw counts behind every memory figure we report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameUsage {
    /// Struct-page frames in System RAM (`nr_memmap_pages`).
    memmap_ram: u64,
    /// Struct-page frames on the device (altmap).
    memmap_device: u64,
    /// Page-table frames.
    pagetable: u64,
    /// Bytes of page tables as the kernel allocates them (fragments of a page where a table
    /// is smaller than one).
    pagetable_bytes: u64,
    /// Unbacked data frames allocated from RAM.
    data: u64,
    /// Free System RAM frames.
    free: u64,
}

impl FrameUsage {
    /// Struct-page frames in System RAM (`nr_memmap_pages`).
    #[must_use]
    pub const fn memmap_ram(&self) -> u64 {
        self.memmap_ram
    }
    /// Struct-page frames on the device (altmap).
    #[must_use]
    pub const fn memmap_device(&self) -> u64 {
        self.memmap_device
    }
    /// Page-table frames.
    #[must_use]
    pub const fn pagetable(&self) -> u64 {
        self.pagetable
    }
    /// Bytes of page tables as the kernel allocates them: a ppc64 radix 64K PTE table is a
    /// 256-byte fragment, though the model stores each table in a frame of its own.
    #[must_use]
    pub const fn pagetable_bytes(&self) -> u64 {
        self.pagetable_bytes
    }
    /// Unbacked data frames allocated from RAM.
    #[must_use]
    pub const fn data(&self) -> u64 {
        self.data
    }
    /// Free System RAM frames.
    #[must_use]
    pub const fn free(&self) -> u64 {
        self.free
    }
}

#[derive(Debug)]
struct Buddy {
    free: Vec<BTreeSet<u64>>,
    allocated: HashMap<u64, u32>,
    nr_free: u64,
}

impl Buddy {
    /// The largest order a block can have.
    #[allow(clippy::cast_possible_truncation)]
    fn max_order(&self) -> u32 {
        (self.free.len() - 1) as u32
    }

    fn new(ranges: &[(u64, u64)], max_order: u32) -> Buddy {
        let mut b = Buddy {
            free: vec![BTreeSet::new(); max_order as usize + 1],
            allocated: HashMap::new(),
            nr_free: 0,
        };
        for &(start, end) in ranges {
            let mut pfn = start;
            while pfn < end {
                let mut order = max_order;
                while order > 0 && (pfn % (1 << order) != 0 || pfn + (1 << order) > end) {
                    order -= 1;
                }
                b.free[order as usize].insert(pfn);
                b.nr_free += 1 << order;
                pfn += 1 << order;
            }
        }
        b
    }

    fn alloc(&mut self, order: u32) -> Option<u64> {
        let (mut cur, pfn) = (order..=self.max_order())
            .find_map(|o| self.free[o as usize].pop_first().map(|p| (o, p)))?;
        while cur > order {
            cur -= 1;
            self.free[cur as usize].insert(pfn + (1 << cur));
        }
        self.allocated.insert(pfn, order);
        self.nr_free -= 1 << order;
        Some(pfn)
    }

    /// Like `alloc`, but takes the highest free block (the top part when splitting).
    fn alloc_top(&mut self, order: u32) -> Option<u64> {
        let (mut cur, pfn) = (order..=self.max_order())
            .filter_map(|o| self.free[o as usize].last().map(|&p| (o, p)))
            .max_by_key(|&(o, p)| p + (1 << o))?;
        self.free[cur as usize].remove(&pfn);
        let mut pfn = pfn;
        while cur > order {
            cur -= 1;
            self.free[cur as usize].insert(pfn);
            pfn += 1 << cur;
        }
        self.allocated.insert(pfn, order);
        self.nr_free -= 1 << order;
        Some(pfn)
    }

    /// `split_page`: an allocated order-`order` block becomes `2^order` order-0 allocations.
    fn split(&mut self, pfn: u64, order: u32) -> bool {
        if self.allocated.get(&pfn) != Some(&order) {
            return false;
        }
        for i in 0..1u64 << order {
            self.allocated.insert(pfn + i, 0);
        }
        true
    }

    fn free(&mut self, pfn: u64, order: u32) -> bool {
        if self.allocated.get(&pfn) != Some(&order) {
            return false;
        }
        self.allocated.remove(&pfn);
        self.nr_free += 1 << order;
        let (mut pfn, mut order) = (pfn, order);
        while order < self.max_order() {
            let buddy = pfn ^ (1 << order);
            if !self.free[order as usize].remove(&buddy) {
                break;
            }
            pfn = pfn.min(buddy);
            order += 1;
        }
        self.free[order as usize].insert(pfn);
        true
    }
}

/// All frames of the machine.
pub struct FrameStore {
    dir: Box<[OnceLock<ChunkDir>]>,
    buddy: Mutex<Buddy>,
    usage: [AtomicU64; 4],
    memmap_device: AtomicU64,
    pagetable_bytes: AtomicU64,
    chunks: AtomicU64,
    /// Fault injection: allocations left before one fails (negative = never fail).
    fail_after: AtomicI64,
    ram: Vec<(u64, u64)>,
    /// 64-bit words in a frame (`PAGE_SIZE / 8`).
    frame_words: usize,
    /// Frames per backing chunk.
    chunk_frames: u64,
    /// `log2(chunk_frames)`: chunk lookups are on every page-table walk, so they shift and mask
    /// rather than divide.
    chunk_shift: u32,
}

impl std::fmt::Debug for FrameStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameStore")
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

impl FrameStore {
    /// A store covering `map`, all System RAM free, with frames of `g`'s base page size.
    #[must_use]
    pub fn new(map: &PhysMap, g: &Geometry) -> FrameStore {
        let page_shift = g.page_shift;
        #[allow(clippy::cast_possible_truncation)]
        let frame_words = (g.page_size() / 8) as usize;
        let chunk_frames = (CHUNK_BYTES / (frame_words * 8)) as u64;
        assert!(
            chunk_frames.is_power_of_two(),
            "base pages are powers of two"
        );
        let ram: Vec<(u64, u64)> = map
            .ram()
            .map(|r| {
                (
                    r.start().as_u64() >> page_shift,
                    r.end().as_u64() >> page_shift,
                )
            })
            .collect();
        let end_pfn = map.end().as_u64() >> page_shift;
        let slots = end_pfn.div_ceil(chunk_frames * DIR_CHUNKS);
        FrameStore {
            dir: (0..slots).map(|_| OnceLock::new()).collect(),
            buddy: Mutex::new(Buddy::new(&ram, g.buddy_max_order)),
            usage: Default::default(),
            memmap_device: AtomicU64::new(0),
            pagetable_bytes: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            fail_after: AtomicI64::new(-1),
            ram,
            frame_words,
            chunk_frames,
            chunk_shift: chunk_frames.trailing_zeros(),
        }
    }

    /// The index of `pfn` in its chunk.
    #[inline]
    fn chunk_index(&self, pfn: Pfn) -> u64 {
        pfn.as_u64() & (self.chunk_frames - 1)
    }

    #[inline]
    fn chunk(&self, pfn: Pfn) -> Option<&Chunk> {
        let c = pfn.as_u64() >> self.chunk_shift;
        #[allow(clippy::cast_possible_truncation)]
        let slot = self.dir.get((c / DIR_CHUNKS) as usize)?.get()?;
        #[allow(clippy::cast_possible_truncation)]
        slot[(c % DIR_CHUNKS) as usize].get()
    }

    fn chunk_or_create(&self, pfn: Pfn) -> Result<&Chunk, FrameError> {
        let c = pfn.as_u64() >> self.chunk_shift;
        #[allow(clippy::cast_possible_truncation)]
        let slot = self
            .dir
            .get((c / DIR_CHUNKS) as usize)
            .ok_or(FrameError::OutOfRange { pfn })?
            .get_or_init(|| (0..DIR_CHUNKS).map(|_| OnceLock::new()).collect());
        #[allow(clippy::cast_possible_truncation)]
        let cell = &slot[(c % DIR_CHUNKS) as usize];
        if let Some(chunk) = cell.get() {
            return Ok(chunk);
        }
        // Another thread may set the cell first: then ours is dropped and theirs used.
        if cell.set(Chunk::new(self.chunk_frames)?).is_ok() {
            self.chunks.fetch_add(1, Ordering::Relaxed);
        }
        Ok(cell.get().expect("set above or by the racing thread"))
    }

    /// Zeroes a frame and marks it free in the side table.
    fn scrub(&self, pfn: Pfn) {
        if let Some(c) = self.chunk(pfn) {
            let idx = self.chunk_index(pfn);
            for w in c.frame(idx, self.frame_words) {
                w.store(0, Ordering::Relaxed);
            }
            #[allow(clippy::cast_possible_truncation)]
            let info = &c.info[idx as usize];
            info.kind.store(0, Ordering::Relaxed);
            info.refcount.store(0, Ordering::Relaxed);
        }
    }

    fn info(&self, pfn: Pfn) -> Option<&FrameInfo> {
        self.chunk(pfn)
            .map(|c| &c.info[usize::try_from(self.chunk_index(pfn)).unwrap_or(0)])
    }

    /// 64-bit words in a frame (`PAGE_SIZE / 8`).
    #[must_use]
    #[inline]
    pub fn frame_words(&self) -> usize {
        self.frame_words
    }

    /// The body of a backed frame, or `None` if the frame has no host memory.
    #[must_use]
    #[inline]
    pub fn frame(&self, pfn: Pfn) -> Option<&Frame> {
        self.chunk(pfn)
            .map(|c| c.frame(self.chunk_index(pfn), self.frame_words))
    }

    /// True if `pfn` is System RAM.
    #[must_use]
    pub fn is_ram(&self, pfn: Pfn) -> bool {
        self.ram
            .iter()
            .any(|&(s, e)| pfn.as_u64() >= s && pfn.as_u64() < e)
    }

    /// Make every later allocation after the next `n` fail (`None`: never fail). For tests of
    /// unwinding paths.
    pub fn inject_alloc_failure(&self, n: Option<u64>) {
        self.fail_after.store(
            n.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            Ordering::SeqCst,
        );
    }

    fn should_fail(&self) -> bool {
        let left = self.fail_after.load(Ordering::SeqCst);
        if left < 0 {
            return false;
        }
        if left == 0 {
            return true;
        }
        self.fail_after.fetch_sub(1, Ordering::SeqCst);
        false
    }

    fn back(&self, pfn: Pfn, nr: u64, kind: FrameKind) -> Result<(), FrameError> {
        for i in 0..nr {
            let p = pfn.add(i);
            let chunk = self.chunk_or_create(p)?;
            let idx = self.chunk_index(p);
            // Frames are zeroed when freed (and fresh chunks are zero), so a new frame is zero
            // without touching it here: untouched boot memmap costs no host memory.
            #[allow(clippy::cast_possible_truncation)]
            let info = &chunk.info[idx as usize];
            info.kind.store(kind as u8, Ordering::Relaxed);
            info.refcount.store(u32::from(i == 0), Ordering::Release);
        }
        Ok(())
    }

    /// Allocates a zeroed `2^order` block of System RAM for `kind` (`alloc_pages`); the first
    /// frame's reference count is 1.
    #[doc(alias = "alloc_pages")]
    pub fn alloc(&self, order: u32, kind: FrameKind) -> Result<Pfn, FrameError> {
        self.alloc_with(order, kind, Buddy::alloc)
    }

    /// Allocates from the top of System RAM (the highest free block), as gigantic-page and
    /// boot-time huge page allocation effectively do: a HugeTLB pool then fills whole sections
    /// from the top of memory down.
    pub fn alloc_top(&self, order: u32, kind: FrameKind) -> Result<Pfn, FrameError> {
        self.alloc_with(order, kind, Buddy::alloc_top)
    }

    /// Takes a block with `pick`, backs it if `kind` needs host memory, and counts it.
    fn alloc_with(
        &self,
        order: u32,
        kind: FrameKind,
        pick: fn(&mut Buddy, u32) -> Option<u64>,
    ) -> Result<Pfn, FrameError> {
        if self.should_fail() {
            return Err(FrameError::OutOfMemory { order });
        }
        let pfn = {
            let mut b = self.buddy.lock().unwrap_or_else(PoisonError::into_inner);
            Pfn::new(pick(&mut b, order).ok_or(FrameError::OutOfMemory { order })?)
        };
        let nr = 1u64 << order;
        if kind.backed() {
            if let Err(e) = self.back(pfn, nr, kind) {
                self.buddy
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .free(pfn.as_u64(), order);
                return Err(e);
            }
        }
        self.usage[kind as usize].fetch_add(nr, Ordering::Relaxed);
        Ok(pfn)
    }

    /// Allocates a zeroed page table of `bytes` (`pte_alloc_one`, `pte_fragment_alloc`): a
    /// block of frames that holds it, of which the kernel's allocation is `bytes`.
    pub fn alloc_table(&self, bytes: u64) -> Result<Pfn, FrameError> {
        let pfn = self.alloc(self.table_order(bytes), FrameKind::PageTable)?;
        self.pagetable_bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(pfn)
    }

    /// Frees a page table allocated by [`alloc_table`](Self::alloc_table) with the same `bytes`.
    pub fn free_table(&self, pfn: Pfn, bytes: u64) -> Result<(), FrameError> {
        self.free(pfn, self.table_order(bytes), FrameKind::PageTable)?;
        self.pagetable_bytes.fetch_sub(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// The buddy order of the frames that hold a table of `bytes`.
    fn table_order(&self, bytes: u64) -> u32 {
        let frame = (self.frame_words * 8) as u64;
        bytes.div_ceil(frame).next_power_of_two().trailing_zeros()
    }

    /// `split_page`: turns an allocated order-`order` block into order-0 frames that are freed
    /// one by one; each gets a reference count of 1.
    pub fn split(&self, pfn: Pfn, order: u32) -> Result<(), FrameError> {
        if !self
            .buddy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .split(pfn.as_u64(), order)
        {
            return Err(FrameError::BadFree { pfn, order });
        }
        for i in 0..1u64 << order {
            if let Some(info) = self.info(pfn.add(i)) {
                info.refcount.store(1, Ordering::Release);
            }
        }
        Ok(())
    }

    /// Returns a block to the buddy allocator (`__free_pages` with an explicit order).
    #[doc(alias = "__free_pages")]
    pub fn free(&self, pfn: Pfn, order: u32, kind: FrameKind) -> Result<(), FrameError> {
        let ok = self
            .buddy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .free(pfn.as_u64(), order);
        if !ok {
            return Err(FrameError::BadFree { pfn, order });
        }
        if kind.backed() {
            for i in 0..1u64 << order {
                self.scrub(pfn.add(i));
            }
        }
        self.usage[kind as usize].fetch_sub(1 << order, Ordering::Relaxed);
        Ok(())
    }

    /// Backs `nr` device frames at `pfn` to hold struct pages (memmap carved from the device by
    /// the altmap). The first frame's reference count is 1.
    pub fn claim_device(&self, pfn: Pfn, nr: u64) -> Result<(), FrameError> {
        if self.should_fail() {
            return Err(FrameError::OutOfMemory { order: 0 });
        }
        self.back(pfn, nr, FrameKind::Memmap)?;
        self.memmap_device.fetch_add(nr, Ordering::Relaxed);
        Ok(())
    }

    /// Gives device frames back (`vmem_altmap_free`); their host memory stays for reuse.
    pub fn release_device(&self, pfn: Pfn, nr: u64) {
        for i in 0..nr {
            self.scrub(pfn.add(i));
        }
        self.memmap_device.fetch_sub(nr, Ordering::Relaxed);
    }

    /// `get_page` on a backed frame. Panics if the frame is unused (a model bug): references
    /// are only taken on allocated frames (a fresh frame whose allocation reference was handed
    /// over may be at 0, see [`FrameState::Used`]).
    pub fn get(&self, pfn: Pfn) {
        if let Some(i) = self.info(pfn) {
            assert!(
                i.kind.load(Ordering::Relaxed) != 0,
                "get_page on unused {pfn}"
            );
            // Relaxed: a reference is only taken by a holder of another reference (the PTE being
            // copied) or the allocator's owner, as with page_ref_inc.
            i.refcount.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `put_page` on a backed frame; returns the count left (0: the caller frees the frame).
    /// Panics on a frame with no reference left instead of wrapping (a model bug).
    #[must_use]
    pub fn put(&self, pfn: Pfn) -> u32 {
        // AcqRel: pairs with other puts so the last one sees every earlier use of the frame.
        self.info(pfn).map_or(0, |i| {
            let old = i.refcount.fetch_sub(1, Ordering::AcqRel);
            assert!(old > 0, "put_page underflow on {pfn}");
            old - 1
        })
    }

    /// Marks `nr` allocated frames from `pfn` as boot memory (`PageReserved` on memblock pages):
    /// freeing one later is accounted to `nr_memmap_boot_pages`. Cleared when a frame is freed.
    pub fn mark_boot(&self, pfn: Pfn, nr: u64) {
        for i in 0..nr {
            if let Some(info) = self.info(pfn.add(i)) {
                info.kind.fetch_or(BOOT_FLAG, Ordering::Relaxed);
            }
        }
    }

    /// True if the frame was marked boot memory by [`mark_boot`](Self::mark_boot).
    #[must_use]
    pub fn is_boot(&self, pfn: Pfn) -> bool {
        self.info(pfn)
            .is_some_and(|i| i.kind.load(Ordering::Relaxed) & BOOT_FLAG != 0)
    }

    /// The state of a frame: unused, or used for a kind with a reference count.
    #[must_use]
    pub fn state(&self, pfn: Pfn) -> FrameState {
        match self.info(pfn) {
            None => FrameState::Unused,
            Some(i) => match FrameKind::from_raw(i.kind.load(Ordering::Acquire) & !BOOT_FLAG) {
                None => FrameState::Unused,
                Some(kind) => FrameState::Used {
                    kind,
                    refcount: i.refcount.load(Ordering::Acquire),
                },
            },
        }
    }

    /// The reference count of a backed frame (0 if unused or unbacked).
    #[must_use]
    pub fn refcount(&self, pfn: Pfn) -> u32 {
        match self.state(pfn) {
            FrameState::Unused => 0,
            FrameState::Used { refcount, .. } => refcount,
        }
    }

    /// Current usage.
    #[must_use]
    pub fn usage(&self) -> FrameUsage {
        let nr_free = self
            .buddy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .nr_free;
        FrameUsage {
            memmap_ram: self.usage[FrameKind::Memmap as usize].load(Ordering::Relaxed),
            memmap_device: self.memmap_device.load(Ordering::Relaxed),
            pagetable: self.usage[FrameKind::PageTable as usize].load(Ordering::Relaxed),
            pagetable_bytes: self.pagetable_bytes.load(Ordering::Relaxed),
            data: self.usage[FrameKind::Data as usize].load(Ordering::Relaxed),
            free: nr_free,
        }
    }

    /// Host address space reserved for backing frames (32 MiB chunks, resident only where
    /// touched). Chunks are kept for reuse until the store is dropped.
    #[must_use]
    pub fn host_bytes(&self) -> u64 {
        self.chunks.load(Ordering::Relaxed) * CHUNK_BYTES as u64
    }

    /// A fingerprint of the allocator state: free blocks per order. Two equal fingerprints
    /// mean the free lists are identical (INV-1: teardown returns the store to where it
    /// started).
    #[must_use]
    pub fn free_lists(&self) -> Vec<Vec<u64>> {
        let b = self.buddy.lock().unwrap_or_else(PoisonError::into_inner);
        b.free.iter().map(|s| s.iter().copied().collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ByteSize;
    use crate::arch::X86_64;

    fn store() -> FrameStore {
        FrameStore::new(
            &PhysMap::standard(&X86_64, ByteSize::gib(4), ByteSize::gib(1)).unwrap(),
            &X86_64,
        )
    }

    #[test]
    fn buddy_splits_and_coalesces_back_to_the_start() {
        let fs = store();
        let before = fs.free_lists();
        let a = fs.alloc(0, FrameKind::Memmap).unwrap();
        let b = fs.alloc(9, FrameKind::Memmap).unwrap();
        let c = fs.alloc(0, FrameKind::PageTable).unwrap();
        assert_eq!(fs.usage().memmap_ram, 513);
        assert_eq!(fs.usage().pagetable, 1);
        assert!(b.is_aligned(512));
        fs.free(c, 0, FrameKind::PageTable).unwrap();
        fs.free(a, 0, FrameKind::Memmap).unwrap();
        fs.free(b, 9, FrameKind::Memmap).unwrap();
        assert_eq!(fs.free_lists(), before);
        assert_eq!(fs.usage().memmap_ram, 0);
    }

    #[test]
    fn wrong_order_or_double_free_is_refused() {
        let fs = store();
        let a = fs.alloc(3, FrameKind::Memmap).unwrap();
        assert_eq!(
            fs.free(a, 0, FrameKind::Memmap),
            Err(FrameError::BadFree { pfn: a, order: 0 })
        );
        fs.free(a, 3, FrameKind::Memmap).unwrap();
        assert!(fs.free(a, 3, FrameKind::Memmap).is_err());
    }

    #[test]
    fn frames_are_zeroed_on_reuse_and_refcounted() {
        let fs = store();
        let a = fs.alloc(0, FrameKind::Memmap).unwrap();
        fs.frame(a).unwrap()[7].store(42, Ordering::Relaxed);
        fs.get(a);
        assert_eq!(fs.refcount(a), 2);
        assert_eq!(fs.put(a), 1);
        assert_eq!(fs.put(a), 0);
        fs.free(a, 0, FrameKind::Memmap).unwrap();
        let b = fs.alloc(0, FrameKind::Memmap).unwrap();
        assert_eq!(a, b);
        assert_eq!(fs.frame(b).unwrap()[7].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn top_down_allocation_and_split() {
        let fs = store();
        let before = fs.free_lists();
        let a = fs.alloc_top(9, FrameKind::Data).unwrap();
        let b = fs.alloc_top(9, FrameKind::Data).unwrap();
        // RAM ends at 2 GiB + 4 GiB = 6 GiB: the first block is the last 2 MiB below it.
        assert_eq!(a, Pfn::new((6 << 18) - 512));
        assert_eq!(b, Pfn::new(a.as_u64() - 512));
        let m = fs.alloc(9, FrameKind::Memmap).unwrap();
        fs.split(m, 9).unwrap();
        for i in 0..512 {
            assert_eq!(fs.refcount(m.add(i)), 1);
            fs.free(m.add(i), 0, FrameKind::Memmap).unwrap();
        }
        fs.free(a, 9, FrameKind::Data).unwrap();
        fs.free(b, 9, FrameKind::Data).unwrap();
        assert_eq!(fs.free_lists(), before, "split frames coalesce back");
    }

    #[test]
    fn data_frames_are_not_backed() {
        let fs = store();
        let d = fs.alloc(X86_64.buddy_max_order, FrameKind::Data).unwrap();
        assert!(fs.frame(d).is_none());
        assert_eq!(fs.host_bytes(), 0);
    }

    #[test]
    fn injected_failure_fails_the_nth_allocation() {
        let fs = store();
        fs.inject_alloc_failure(Some(1));
        assert!(fs.alloc(0, FrameKind::Memmap).is_ok());
        assert_eq!(
            fs.alloc(0, FrameKind::Memmap),
            Err(FrameError::OutOfMemory { order: 0 })
        );
        fs.inject_alloc_failure(None);
        assert!(fs.alloc(0, FrameKind::Memmap).is_ok());
    }

    #[test]
    fn host_bytes_counts_32_mib_per_chunk_touched_and_keeps_them() {
        let fs = store();
        // One backed frame maps its whole 32 MiB chunk (8192 frames of 4 KiB).
        let a = fs.alloc(0, FrameKind::Memmap).unwrap();
        assert_eq!(fs.host_bytes(), 32 << 20);
        // A second frame of the same chunk costs nothing more.
        let b = fs.alloc(0, FrameKind::PageTable).unwrap();
        assert_eq!(a.as_u64() >> 13, b.as_u64() >> 13);
        assert_eq!(fs.host_bytes(), 32 << 20);
        // A whole chunk's worth elsewhere maps one more.
        let c = fs.alloc(13, FrameKind::Memmap).unwrap();
        assert_ne!(c.as_u64() >> 13, a.as_u64() >> 13);
        assert_eq!(fs.host_bytes(), 64 << 20);
        // Freed frames keep their chunks for reuse.
        fs.free(c, 13, FrameKind::Memmap).unwrap();
        fs.free(b, 0, FrameKind::PageTable).unwrap();
        fs.free(a, 0, FrameKind::Memmap).unwrap();
        assert_eq!(fs.host_bytes(), 64 << 20);
    }
}
