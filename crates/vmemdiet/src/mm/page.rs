//! `struct page`: the 64-byte metadata record of every page frame, and the compound-page
//! encoding (`include/linux/mm_types.h`, `page-flags.h`; kernel brief §3).
//!
//! A [`Page`] lives in a simulated memmap frame and is reached through a [`PagePtr`], a kernel
//! virtual address in the vmemmap: dereferencing it walks the vmemmap page tables, so tails that
//! alias one frame really are one record.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::addr::{Order, Pfn, VirtAddr};
use crate::arch::Geometry;
use crate::machine::frame_store::Frame;
use crate::machine::tlb::Tlb;
use crate::machine::{Fault, Machine};

/// One `struct page`, as eight 64-bit words (brief §3.1). Word meanings depend on the page's
/// role; the folio fields of a compound page live in its first tail (`page[1]`, brief §3.3).
#[repr(C)]
#[derive(Debug)]
pub struct Page {
    /// Word 0, `flags`: `PG_*` bits, plus the zone in bits 62–63 and the node in bits 52–61.
    /// On `page[1]` of a folio (`_flags_1`) the low byte holds the folio order.
    flags: AtomicU64,
    /// Word 1: `lru.next` on order-0 pages; on tails, `compound_head` (classic: head address
    /// | 1) or `compound_info` (mask encoding: mask | 1). Bit 0 set means "tail" kernel-wide. On a
    /// ZONE_DEVICE head it holds the `pgmap` pointer (an even value).
    compound_info: AtomicU64,
    /// Word 2: `lru.prev` / `zone_device_data`; on `page[1]`, `_large_mapcount`.
    w2: AtomicU64,
    /// Word 3: `mapping`; `TAIL_MAPPING` poison on tails; on `page[1]`, `_entire_mapcount`.
    mapping: AtomicU64,
    /// Word 4: `index`; on `page[1]`, `_nr_pages_mapped`.
    index: AtomicU64,
    /// Word 5: `private`; on `page[1]`, `_pincount` (only large folios keep a pin count: small
    /// folios encode pins in the refcount with `GUP_PIN_COUNTING_BIAS`).
    private: AtomicU64,
    /// Word 6, low half: `_mapcount`, −1 when unmapped.
    mapcount: AtomicI32,
    /// Word 6, high half: `_refcount`. Only heads (and order-0 pages) carry a real count;
    /// tails must read 0 (INV-3).
    refcount: AtomicI32,
    /// Word 7: `memcg_data`; on `page[1]`, `_nr_pages` (64-bit, 6.15+).
    w7: AtomicU64,
}

const _: () = assert!(
    std::mem::size_of::<Page>() == 64,
    "struct page must be 64 bytes"
);

/// The 64 bytes of an initialised struct page, copied into the others by template-copy init.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageTemplate {
    /// Words 0-5 and 7, in order.
    words: [u64; 7],
    mapcount: i32,
    refcount: i32,
}

/// Bytes of the model's struct page record. A geometry with a smaller `sizeof(struct page)` (a
/// memdesc what-if) lays out and counts the memmap at that size but writes no records: the
/// model's record does not fit (see [`writes_records`]).
pub const RECORD_SIZE: u64 = std::mem::size_of::<Page>() as u64;

/// True if struct pages of `g` are real records that memmap init writes; false for a
/// `--struct-page-size` what-if, where init is counted, not performed.
#[must_use]
pub fn writes_records(g: &Geometry) -> bool {
    g.struct_page_size == RECORD_SIZE
}

/// `PG_referenced`.
pub const PG_REFERENCED: u64 = 1 << 2;
/// `PG_dirty`.
pub const PG_DIRTY: u64 = 1 << 4;
/// `PG_head`: set on the first page of a compound page.
pub const PG_HEAD: u64 = 1 << 6;
/// `PG_hugetlb` (a page type in 6.9+; a flag here): the head of a HugeTLB folio.
pub const PG_HUGETLB: u64 = 1 << 20;
/// `PAGE_MAPPING_ANON`: bit 0 of `folio->mapping` marks an anonymous folio.
pub const PAGE_MAPPING_ANON: u64 = 1;
/// `PG_reserved`: set on ZONE_DEVICE pages by `__init_zone_device_page`.
pub const PG_RESERVED: u64 = 1 << 10;
/// Shift of the zone number in `flags`.
pub const ZONES_PGSHIFT: u32 = 62;
/// `ZONE_DEVICE` (zone 3 in this model's numbering: DMA32, NORMAL, MOVABLE, DEVICE).
pub const ZONE_DEVICE: u64 = 3;
/// `ZONE_NORMAL`.
pub const ZONE_NORMAL: u64 = 1;
/// `ZONE_MOVABLE`.
pub const ZONE_MOVABLE: u64 = 2;
/// `PG_vmemmap_self_hosted` (an alias of `PG_owner_priv_1`; the model's own bit): a page of a
/// hot-added block that holds the block's memmap (`mhp_init_memmap_on_memory`), which HugeTLB
/// vmemmap optimization refuses to touch.
pub const PG_VMEMMAP_SELF_HOSTED: u64 = 1 << 11;

/// How a tail records its head (brief §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TailEncoding {
    /// `compound_head = head | 1`: tails of different compound pages differ, so a reuse frame
    /// can only serve one compound page.
    Classic,
    /// `compound_info = mask | 1` (Kiryl Shutsemau, 2026): the head is `tail & mask`; all tails
    /// of one order are byte-identical, so one read-only tail frame serves every compound page
    /// of that order.
    Mask,
}

impl TailEncoding {
    /// The word 1 value of every tail of the compound page whose head is at `head`.
    #[must_use]
    pub fn encode(self, g: &Geometry, head: PagePtr, order: Order) -> u64 {
        match self {
            TailEncoding::Classic => head.0.as_u64() | 1,
            TailEncoding::Mask => mask_for(g, order) | 1,
        }
    }
}

/// The mask of the mask encoding: all ones above bit `order + log2(sizeof(struct page))`.
#[must_use]
pub fn mask_for(g: &Geometry, order: Order) -> u64 {
    !((1u64 << (order.get() + g.struct_page_size.trailing_zeros())) - 1)
}

/// A `struct page *`: the kernel virtual address of a struct page in the vmemmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[doc(alias = "struct page *")]
pub struct PagePtr(pub VirtAddr);

impl PagePtr {
    /// `pfn_to_page`.
    #[must_use]
    pub fn from_pfn(g: &Geometry, pfn: Pfn) -> PagePtr {
        PagePtr(g.pfn_to_page_va(pfn))
    }
    /// `page_to_pfn`.
    #[must_use]
    pub fn pfn(self, g: &Geometry) -> Pfn {
        g.page_va_to_pfn(self.0)
    }
    /// `page + n`: the struct page `n` entries later. Plain pointer arithmetic as in C, on the
    /// hot path of every page array GUP fills: it stays inside the vmemmap by construction, and
    /// debug builds check it for overflow.
    #[must_use]
    #[inline]
    pub fn nth(self, g: &Geometry, n: u64) -> PagePtr {
        PagePtr(VirtAddr::new(self.0.as_u64() + n * g.struct_page_size))
    }
}

/// Reads and writes struct pages through the vmemmap of one machine, using one CPU's TLB.
#[derive(Debug)]
pub struct Memmap<'m> {
    machine: &'m Machine,
    tlb: Tlb,
}

impl<'m> Memmap<'m> {
    /// A view of `machine`'s memmap with a cold TLB.
    #[must_use]
    pub fn new(machine: &'m Machine) -> Memmap<'m> {
        Memmap {
            machine,
            tlb: Tlb::new(machine.geometry()),
        }
    }

    /// The geometry.
    #[must_use]
    pub fn geometry(&self) -> &'static Geometry {
        self.machine.geometry()
    }

    #[inline]
    fn deref(&mut self, p: PagePtr, write: bool) -> Result<&'m Page, Fault> {
        let (frame, word) = self.machine.kernel_frame(&mut self.tlb, p.0, write)?;
        Ok(page_in(frame, word))
    }

    /// The struct page at `p`, for reading.
    #[inline]
    pub fn page(&mut self, p: PagePtr) -> Result<&'m Page, Fault> {
        self.deref(p, false)
    }

    /// The struct page at `p`, for writing: faults, naming the struct page, if the vmemmap maps
    /// it read-only (a shared tail alias).
    #[inline]
    pub fn page_mut(&mut self, p: PagePtr) -> Result<&'m Page, Fault> {
        self.deref(p, true).map_err(|f| match f {
            Fault::ReadOnly(va) => Fault::ReadOnlyStructPage {
                va,
                pfn: p.pfn(self.machine.geometry()).as_u64(),
            },
            f => f,
        })
    }

    /// `compound_head`: the head of the compound page `p` belongs to (`p` itself if it is not a
    /// tail), seeing through HugeTLB fake heads (`page_fixed_fake_head`) once HVO is in use.
    #[inline]
    pub fn compound_head(&mut self, p: PagePtr) -> Result<PagePtr, Fault> {
        let page = self.page(p)?;
        let info = page.compound_info.load(Ordering::Acquire);
        if info & 1 == 1 {
            return Ok(decode_head(p, info));
        }
        // Only while HVO is on (the static key, checked first so heads and order-0 pages pay
        // nothing otherwise) can a page alias a head page.
        if self.machine.fake_heads_possible() {
            return self.fixed_fake_head(p, page);
        }
        Ok(p)
    }

    /// `page_fixed_fake_head`: the real head behind `p` if `p` is a HugeTLB fake head (a
    /// page-aligned struct page whose vmemmap page aliases the head's), else `p`.
    #[inline(never)]
    fn fixed_fake_head(&mut self, p: PagePtr, page: &Page) -> Result<PagePtr, Fault> {
        let g = self.machine.geometry();
        if p.0.as_u64().is_multiple_of(g.page_size()) && page.flags() & PG_HEAD != 0 {
            let next = p.nth(g, 1);
            let w = self.page(next)?.compound_info.load(Ordering::Acquire);
            // A real head's page[1] points back at it; a fake head's names the real one.
            if w & 1 == 1 && decode_head(next, w) != p {
                return Ok(decode_head(next, w));
            }
        }
        Ok(p)
    }

    /// The struct page at `p` through `window`: translated only when `p` lies in another
    /// vmemmap page than the last one read through it. For scans over struct pages that are
    /// pinned (GUP's arrays, scatterlists), whose vmemmap mapping cannot change under the scan;
    /// the hardware equivalent is the TLB entry and the cache lines staying hot.
    #[inline]
    pub fn windowed(
        &mut self,
        window: &mut VmemmapWindow<'m>,
        p: PagePtr,
    ) -> Result<&'m Page, Fault> {
        let g = self.machine.geometry();
        let va = p.0.as_u64();
        if va >> g.page_shift != window.vpn || window.frame.is_empty() {
            window.frame = self.machine.kernel_frame(&mut self.tlb, p.0, false)?.0;
            window.vpn = va >> g.page_shift;
        }
        #[allow(clippy::cast_possible_truncation)]
        let word = ((va & (g.page_size() - 1)) / 8) as usize;
        Ok(page_in(window.frame, word))
    }

    /// `gup_folio_next`'s scan: how many leading entries of `pages` belong to the folio headed
    /// by `head`. Every entry's word 1 is read and decoded, as the kernel does; what is saved
    /// is translation: the vmemmap page under a run of entries is translated once, not per
    /// entry (the struct pages scanned are pinned, so their mapping cannot change under the
    /// scan).
    pub fn folio_run_len(&mut self, pages: &[PagePtr], head: PagePtr) -> Result<usize, Fault> {
        // The word a tail of this folio holds in the classic encoding: compared first, so the
        // common case is a load and a compare, as in the kernel.
        let classic = head.0.as_u64() | 1;
        // The word this folio's tails hold in the mask encoding, once one has been decoded:
        // then a tail is a compare and an AND.
        let mut mask_word = 1;
        let mut window = VmemmapWindow::default();
        for (n, &p) in pages.iter().enumerate() {
            let va = p.0.as_u64();
            let info = self.windowed(&mut window, p)?.compound_info();
            let in_folio = info == classic
                || (info == mask_word && va & info & !1 == head.0.as_u64())
                || if info & 1 == 1 {
                    let h = decode_head(p, info);
                    if h == head && is_mask(info & !1) {
                        mask_word = info;
                    }
                    h == head
                } else {
                    p == head || self.compound_head(p)? == head
                };
            if !in_folio {
                return Ok(n);
            }
        }
        Ok(pages.len())
    }
}

/// One vmemmap page's translation, kept by a scan over struct pages ([`Memmap::windowed`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct VmemmapWindow<'m> {
    vpn: u64,
    frame: &'m Frame,
}

/// Decodes word 1 of the struct page at `p` into its head. Both encodings are decodable without
/// knowing which is in use: a classic head pointer is a vmemmap address, whose top bits are set
/// and whose low bits below the struct page size are clear except bit 0, while a mask has every
/// bit above its cut set and every bit below it clear.
#[must_use]
#[inline]
pub fn decode_head(p: PagePtr, info: u64) -> PagePtr {
    if info & 1 == 0 {
        return p;
    }
    let v = info & !1;
    if is_mask(v) {
        PagePtr(VirtAddr::new(p.0.as_u64() & v))
    } else {
        PagePtr(VirtAddr::new(v))
    }
}

/// True if `v` is of the form 1...10...0, as a mask is; a head address is not (it is a struct
/// page address in the vmemmap whose low bits, below the compound size, are not all zero except
/// for page 0).
#[inline]
const fn is_mask(v: u64) -> bool {
    v != 0 && v | (v - 1) == u64::MAX
}

/// The struct page starting at word `word` of `frame`.
#[inline]
pub(crate) fn page_in(frame: &Frame, word: usize) -> &Page {
    debug_assert!(word.is_multiple_of(8) && word + 8 <= frame.len());
    let ptr = frame[word..word + 8].as_ptr().cast::<Page>();
    // SAFETY: `Page` is `repr(C)`, 64 bytes, 8-aligned and made only of atomics, so any 64
    // initialised bytes at an 8-aligned address are a valid `Page`; the eight words are inside
    // `frame` and live as long as it does.
    unsafe { &*ptr }
}

impl Page {
    /// Reads `flags`.
    #[must_use]
    pub fn flags(&self) -> u64 {
        self.flags.load(Ordering::Acquire)
    }
    /// True if `PG_head` is set.
    #[must_use]
    pub fn is_head(&self) -> bool {
        self.flags() & PG_HEAD != 0
    }
    /// Word 1: `compound_head`/`compound_info` on tails, the pgmap pointer on ZONE_DEVICE
    /// heads, `lru.next` otherwise.
    #[must_use]
    pub fn compound_info(&self) -> u64 {
        self.compound_info.load(Ordering::Acquire)
    }
    /// True if word 1 marks a tail.
    #[must_use]
    pub fn is_tail(&self) -> bool {
        self.compound_info() & 1 != 0
    }
    /// Word 3, `mapping` (`TAIL_MAPPING` on tails).
    #[must_use]
    pub fn mapping(&self) -> u64 {
        self.mapping.load(Ordering::Acquire)
    }
    /// `page_ref_count`.
    #[must_use]
    pub fn ref_count(&self) -> i32 {
        self.refcount.load(Ordering::Acquire)
    }
    /// `_mapcount` (−1 when unmapped).
    #[must_use]
    pub fn mapcount(&self) -> i32 {
        self.mapcount.load(Ordering::Acquire)
    }
    /// The zone number in `flags`.
    #[must_use]
    pub fn zone(&self) -> u64 {
        self.flags() >> ZONES_PGSHIFT
    }

    /// Sets `flag` bits (`SetPageHead`, `SetPageReserved`, ...).
    pub(crate) fn set_flags(&self, flag: u64) {
        // Release: a reader that sees the flag sees the writes of init before it.
        self.flags.fetch_or(flag, Ordering::AcqRel);
    }

    /// Clears `flag` in `flags` (an atomic `clear_bit`).
    pub(crate) fn clear_flags(&self, flag: u64) {
        self.flags.fetch_and(!flag, Ordering::AcqRel);
    }

    /// Clears all eight words (the `memset` of `__init_single_page`).
    pub(crate) fn zero(&self) {
        for w in [
            &self.flags,
            &self.compound_info,
            &self.w2,
            &self.mapping,
            &self.index,
            &self.private,
            &self.w7,
        ] {
            w.store(0, Ordering::Relaxed);
        }
        self.mapcount.store(0, Ordering::Relaxed);
        self.refcount.store(0, Ordering::Relaxed);
    }

    /// `__init_single_page`: zero, zone bits (node 0), `_refcount = 1`, `_mapcount = -1`.
    #[doc(alias = "__init_single_page")]
    /// `SetPageVmemmapSelfHosted`.
    pub(crate) fn set_vmemmap_self_hosted(&self) {
        self.flags
            .fetch_or(PG_VMEMMAP_SELF_HOSTED, Ordering::Relaxed);
    }

    /// `PageVmemmapSelfHosted`.
    #[must_use]
    pub fn vmemmap_self_hosted(&self) -> bool {
        self.flags() & PG_VMEMMAP_SELF_HOSTED != 0
    }

    pub(crate) fn init_single(&self, zone: u64) {
        self.zero();
        self.flags.store(zone << ZONES_PGSHIFT, Ordering::Relaxed);
        self.refcount.store(1, Ordering::Relaxed);
        self.mapcount.store(-1, Ordering::Relaxed);
    }

    /// The struct page as the template of a template-copy init: its words, as a `memcpy`
    /// would read them.
    pub(crate) fn template(&self) -> PageTemplate {
        PageTemplate {
            words: [
                self.flags.load(Ordering::Relaxed),
                self.compound_info.load(Ordering::Relaxed),
                self.w2.load(Ordering::Relaxed),
                self.mapping.load(Ordering::Relaxed),
                self.index.load(Ordering::Relaxed),
                self.private.load(Ordering::Relaxed),
                self.w7.load(Ordering::Relaxed),
            ],
            mapcount: self.mapcount.load(Ordering::Relaxed),
            refcount: self.refcount.load(Ordering::Relaxed),
        }
    }

    /// Li Zhe's template-copy init (v4, June 2026, not merged): the struct page becomes a copy
    /// of `t` in one pass of stores, instead of being zeroed and written field by field.
    pub(crate) fn copy_template(&self, t: &PageTemplate) {
        for (w, v) in [
            &self.flags,
            &self.compound_info,
            &self.w2,
            &self.mapping,
            &self.index,
            &self.private,
            &self.w7,
        ]
        .into_iter()
        .zip(t.words)
        {
            w.store(v, Ordering::Relaxed);
        }
        self.mapcount.store(t.mapcount, Ordering::Relaxed);
        self.refcount.store(t.refcount, Ordering::Release);
    }

    /// The ZONE_DEVICE part of `__init_zone_device_page`: `PG_reserved`, the pgmap pointer in
    /// word 1 (overlaying `lru.next`) and `zone_device_data = NULL` in word 2.
    pub(crate) fn init_zone_device(&self, pgmap_ptr: u64) {
        self.flags.fetch_or(PG_RESERVED, Ordering::Relaxed);
        self.compound_info.store(pgmap_ptr, Ordering::Relaxed);
        self.w2.store(0, Ordering::Release);
    }

    /// `prep_compound_tail`: `mapping = TAIL_MAPPING`, word 1 = the tail encoding,
    /// `_refcount = 0`.
    pub(crate) fn prep_compound_tail(&self, g: &Geometry, info: u64) {
        self.mapping.store(g.tail_mapping(), Ordering::Relaxed);
        self.compound_info.store(info, Ordering::Relaxed);
        self.refcount.store(0, Ordering::Release);
    }

    /// `prep_compound_head` (on `page[1]`): order, `_large_mapcount = -1`,
    /// `_entire_mapcount = -1`, `_nr_pages_mapped = 0`, `_pincount = 0`, `_nr_pages`.
    pub(crate) fn prep_compound_head(&self, order: Order) {
        let flags = self.flags.load(Ordering::Relaxed) & !0xff;
        self.flags
            .store(flags | u64::from(order.get()), Ordering::Relaxed);
        self.w2.store(u64::MAX, Ordering::Relaxed);
        self.mapping.store(u64::MAX, Ordering::Relaxed);
        self.index.store(0, Ordering::Relaxed);
        self.private.store(0, Ordering::Relaxed);
        self.w7.store(order.nr_pages(), Ordering::Release);
    }
}

/// A folio: a head page (or an order-0 page), made only by [`page_folio`], which resolves the
/// head, so "add a pin to a tail" cannot be written. It is the only writer of the counts:
/// `_refcount` and `_mapcount` on the head, `_pincount` in `page[1]` (`struct folio` in
/// `mm_types.h`, which overlays the first struct pages of a compound page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[doc(alias = "struct folio")]
pub struct Folio(PagePtr);

/// `page_folio`: the folio `page` belongs to.
pub fn page_folio(mm: &mut Memmap<'_>, page: PagePtr) -> Result<Folio, Fault> {
    mm.compound_head(page).map(Folio)
}

impl Folio {
    /// The head page.
    #[must_use]
    pub fn head(self) -> PagePtr {
        self.0
    }

    fn head_page<'m>(self, mm: &mut Memmap<'m>) -> Result<&'m Page, Fault> {
        mm.page(self.0)
    }

    fn tail1<'m>(self, mm: &mut Memmap<'m>, write: bool) -> Result<&'m Page, Fault> {
        let g = mm.geometry();
        if write {
            mm.page_mut(self.0.nth(g, 1))
        } else {
            mm.page(self.0.nth(g, 1))
        }
    }

    /// True for a compound (large) folio.
    pub fn is_large(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        Ok(self.head_page(mm)?.is_head())
    }

    /// `folio_order`: the low byte of `_flags_1`.
    pub fn order(self, mm: &mut Memmap<'_>) -> Result<Order, Fault> {
        if !self.is_large(mm)? {
            return Ok(Order::new(0));
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(Order::new((self.tail1(mm, false)?.flags() & 0xff) as u32))
    }

    /// `folio_nr_pages`: `_nr_pages` of `page[1]` (1 for a small folio).
    pub fn nr_pages(self, mm: &mut Memmap<'_>) -> Result<u64, Fault> {
        if !self.is_large(mm)? {
            return Ok(1);
        }
        Ok(self.tail1(mm, false)?.w7.load(Ordering::Acquire))
    }

    /// `folio_ref_count`.
    pub fn ref_count(self, mm: &mut Memmap<'_>) -> Result<i32, Fault> {
        Ok(self.head_page(mm)?.ref_count())
    }

    /// `folio_mapcount` of the head's `_mapcount` (−1 when unmapped).
    pub fn mapcount(self, mm: &mut Memmap<'_>) -> Result<i32, Fault> {
        Ok(self.head_page(mm)?.mapcount())
    }

    /// `folio_pincount`: `_pincount` of `page[1]` (0 for small folios, which have none).
    pub fn pincount(self, mm: &mut Memmap<'_>) -> Result<i64, Fault> {
        if !self.is_large(mm)? {
            return Ok(0);
        }
        #[allow(clippy::cast_possible_wrap)]
        let v = self.tail1(mm, false)?.private.load(Ordering::Acquire) as i64;
        Ok(v)
    }

    /// `folio_test_hugetlb`.
    pub fn is_hugetlb(self, mm: &mut Memmap<'_>) -> Result<bool, Fault> {
        Ok(self.head_page(mm)?.flags() & PG_HUGETLB != 0)
    }

    /// `folio->mapping`: 0, an `address_space` pointer, or an anon pointer with
    /// [`PAGE_MAPPING_ANON`] set.
    pub fn mapping(self, mm: &mut Memmap<'_>) -> Result<u64, Fault> {
        Ok(self.head_page(mm)?.mapping())
    }

    /// Sets `folio->mapping` (`dax_set_mapping`, `folio_add_new_anon_rmap`).
    pub(crate) fn set_mapping(self, mm: &mut Memmap<'_>, mapping: u64) -> Result<(), Fault> {
        mm.page_mut(self.0)?
            .mapping
            .store(mapping, Ordering::Release);
        Ok(())
    }

    /// `folio_ref_try_add`: adds `n` unless the count is 0 (being freed) or would overflow.
    pub(crate) fn ref_try_add(self, mm: &mut Memmap<'_>, n: i32) -> Result<bool, Fault> {
        let page = self.head_page(mm)?;
        // AcqRel: a successful grab orders before the caller's re-check of the page table (the
        // kernel's full barrier after the grab); pairs with the put that drops the count.
        let r = page
            .refcount
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                if c <= 0 {
                    None
                } else {
                    c.checked_add(n)
                }
            });
        Ok(r.is_ok())
    }

    /// `folio_get`: one more reference on a folio the caller already holds one on.
    pub(crate) fn get(self, mm: &mut Memmap<'_>) -> Result<(), Fault> {
        // AcqRel: pairs with the put that may drop the count.
        let old = mm.page_mut(self.0)?.refcount.fetch_add(1, Ordering::AcqRel);
        assert!(old > 0, "folio_get on a free folio {:?}", self.0);
        Ok(())
    }

    /// `folio_ref_sub_return`: drops `n` references and returns the count left. Panics on an
    /// underflow (a model bug: more puts than gets).
    pub(crate) fn ref_sub(self, mm: &mut Memmap<'_>, n: i32) -> Result<i32, Fault> {
        // Release: everything done with the pages happens before the reference is dropped.
        let old = mm.page_mut(self.0)?.refcount.fetch_sub(n, Ordering::AcqRel);
        assert!(old >= n, "refcount underflow on {:?}: {old} - {n}", self.0);
        Ok(old - n)
    }

    /// `folio_set_count`: for a folio nobody else can reach (taken from or returned to a pool,
    /// or a test that sets up an edge case).
    pub fn set_ref_count(self, mm: &mut Memmap<'_>, v: i32) -> Result<(), Fault> {
        mm.page_mut(self.0)?.refcount.store(v, Ordering::Release);
        Ok(())
    }

    /// Adds `n` to `_pincount` of `page[1]` (large folios only).
    pub(crate) fn pincount_add(self, mm: &mut Memmap<'_>, n: u32) -> Result<(), Fault> {
        self.tail1(mm, true)?
            .private
            .fetch_add(u64::from(n), Ordering::AcqRel);
        Ok(())
    }

    /// Subtracts `n` from `_pincount` of `page[1]` (large folios only). Panics on underflow.
    pub(crate) fn pincount_sub(self, mm: &mut Memmap<'_>, n: u32) -> Result<(), Fault> {
        let old = self
            .tail1(mm, true)?
            .private
            .fetch_sub(u64::from(n), Ordering::AcqRel);
        assert!(old >= u64::from(n), "pincount underflow on {:?}", self.0);
        Ok(())
    }

    /// `folio_add_file_rmap_*` for a whole-folio mapping: `_mapcount + 1`.
    pub(crate) fn mapcount_inc(self, mm: &mut Memmap<'_>) -> Result<(), Fault> {
        mm.page_mut(self.0)?.mapcount.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// `folio_remove_rmap_*`: `_mapcount - 1`. Panics below −1 (more unmaps than maps).
    pub(crate) fn mapcount_dec(self, mm: &mut Memmap<'_>) -> Result<(), Fault> {
        let old = mm.page_mut(self.0)?.mapcount.fetch_sub(1, Ordering::AcqRel);
        assert!(old >= 0, "mapcount underflow on {:?}", self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    #[test]
    fn both_tail_encodings_decode_to_the_head() {
        let g = &X86_64;
        for order in [Order::new(9), Order::new(18)] {
            let head = PagePtr::from_pfn(g, Pfn::new(order.nr_pages() * 37));
            for i in [1, 63, 64, 65, 300, order.nr_pages() - 1] {
                let tail = head.nth(g, i);
                for enc in [TailEncoding::Classic, TailEncoding::Mask] {
                    assert_eq!(
                        decode_head(tail, enc.encode(g, head, order)),
                        head,
                        "{enc:?} order {order:?} tail {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn mask_encoding_makes_tails_of_one_order_identical() {
        let g = &X86_64;
        let a = PagePtr::from_pfn(g, Pfn::new(512 * 7));
        let b = PagePtr::from_pfn(g, Pfn::new(512 * 100));
        assert_eq!(
            TailEncoding::Mask.encode(g, a, Order::new(9)),
            TailEncoding::Mask.encode(g, b, Order::new(9))
        );
        assert_ne!(
            TailEncoding::Classic.encode(g, a, Order::new(9)),
            TailEncoding::Classic.encode(g, b, Order::new(9))
        );
    }
}
