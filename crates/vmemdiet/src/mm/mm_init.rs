//! Memmap initialisation for device memory (`mm/mm_init.c`: `memmap_init_zone_device`,
//! `__init_zone_device_page`, `memmap_init_compound`; kernel brief §2.2, §2.3).

use std::sync::atomic::Ordering;

use crate::addr::{Order, Pfn};
use crate::arch::Geometry;
use crate::machine::Fault;
use crate::mm::page::{
    writes_records, Memmap, Page, PagePtr, PageTemplate, TailEncoding, PG_HEAD, ZONE_DEVICE,
};
use crate::mm::pagemap::vmemmap_can_optimize;
use crate::mm::pagemap::DevPagemap;
use crate::mm::profile::{DaxDedup, MemmapInit, Switches};
use crate::mm::Kernel;

/// `__init_single_page` + `__init_zone_device_page`: zero, zone bits, `_refcount = 1`,
/// `_mapcount = -1`, empty `lru`, `PG_reserved`, the pgmap pointer (heads and order-0 pages;
/// a tail's word 1 is overwritten by its encoding right after).
fn init_zone_device_page(page: &Page, pgmap_ptr: u64) {
    page.init_single(ZONE_DEVICE);
    page.init_zone_device(pgmap_ptr);
}

/// `compound_nr_pages`: how many struct pages of a compound page init must write; the rest are
/// aliases of these.
#[must_use]
pub fn compound_nr_pages(g: &Geometry, sw: &Switches, altmap: bool, order: Order) -> u64 {
    if sw.memmap_init == MemmapInit::All || !vmemmap_can_optimize(g, sw, altmap, order) {
        return order.nr_pages();
    }
    match sw.dax_dedup {
        DaxDedup::SharedTail => g.struct_pages_per_page(),
        DaxDedup::Tail => g.vmemmap_reserve_nr * g.struct_pages_per_page(),
        DaxDedup::None => order.nr_pages(),
    }
}

/// `memmap_init_zone_device`: initialises the struct pages of `[start, end)` of `pgmap` (from
/// the first non-memmap pfn when an altmap is used), as compound pages of the pgmap's order.
/// Returns the number of struct pages written.
pub fn memmap_init_zone_device(
    k: &Kernel,
    memmap: &mut Memmap<'_>,
    pgmap: &DevPagemap,
    start: Pfn,
    end: Pfn,
) -> Result<u64, Fault> {
    let g = k.machine.geometry();
    let start = match &pgmap.altmap {
        Some(a) => Pfn::new(a.base_pfn.as_u64() + a.offset()).max(start),
        None => start,
    };
    let n = pgmap.vmemmap_nr();
    let order = pgmap.vmemmap_shift;
    let nr = compound_nr_pages(g, &k.switches(), pgmap.altmap.is_some(), order);
    let encoding = k.switches().tail_encoding;
    let pgmap_ptr = pgmap.pointer(g);
    let mut written = 0;
    let mut pfn = start;
    if !writes_records(g) {
        // A struct page size what-if: the same pages are initialised, but there is no record
        // of that size to write.
        let per = if n > 1 { nr } else { 1 };
        written = end.as_u64().saturating_sub(pfn.as_u64()).div_ceil(n) * per;
        pfn = end;
    }
    let template = k.switches().memmap_init == MemmapInit::TemplateCopy;
    // Template-copy init of order-0 pages: every page is a copy of the first one.
    let mut order0: Option<PageTemplate> = None;
    let mut copied = 0;
    while pfn < end {
        let head = PagePtr::from_pfn(g, pfn);
        match order0 {
            Some(t) if n == 1 => {
                memmap.page_mut(head)?.copy_template(&t);
                copied += 1;
            }
            _ => init_zone_device_page(memmap.page_mut(head)?, pgmap_ptr),
        }
        if template && n == 1 && order0.is_none() {
            order0 = Some(memmap.page_mut(head)?.template());
        }
        written += 1;
        if n > 1 {
            memmap.page_mut(head)?.set_flags(PG_HEAD);
            let info = encoding.encode(g, head, order);
            copied += init_compound_tails(memmap, head, nr, order, pgmap_ptr, info, template)?;
            written += nr - 1;
        }
        pfn = pfn.add(n);
    }
    k.stats
        .struct_pages_initialized
        .fetch_add(written, Ordering::Relaxed);
    k.stats
        .struct_pages_copied
        .fetch_add(copied, Ordering::Relaxed);
    Ok(written)
}

/// `memmap_init_compound`: tails `1..nr` of the compound page at `head`, each initialised and
/// given its encoding, `page[1]` the folio fields; with template-copy, tail 2 is written field
/// by field and every later tail is a copy of it. Returns how many were copied.
fn init_compound_tails(
    memmap: &mut Memmap<'_>,
    head: PagePtr,
    nr: u64,
    order: Order,
    pgmap_ptr: u64,
    info: u64,
    template: bool,
) -> Result<u64, Fault> {
    let g = memmap.geometry();
    let mut tail_template = None;
    let mut copied = 0;
    for i in 1..nr {
        let tail = memmap.page_mut(head.nth(g, i))?;
        // The template is tail 2, so from tail 3 on.
        if let Some(t) = tail_template {
            tail.copy_template(&t);
            copied += 1;
            continue;
        }
        init_zone_device_page(tail, pgmap_ptr);
        tail.prep_compound_tail(g, info);
        if i == 1 {
            tail.prep_compound_head(order);
        } else if template {
            tail_template = Some(tail.template());
        }
    }
    Ok(copied)
}

/// Writes the `next` profile's shared tail frame of `(zone, order)`: 64 generic tails in the
/// mask encoding, identical for every compound page of the order in the zone. Written through
/// the frame itself because the vmemmap maps it read-only.
pub fn init_shared_tail_frame(k: &Kernel, frame: Pfn, zone: u64, order: Order) {
    let g = k.machine.geometry();
    let body = k
        .machine
        .frames()
        .frame(frame)
        .expect("memmap frames are backed");
    let info = TailEncoding::Mask.encode(g, PagePtr::from_pfn(g, Pfn::new(0)), order);
    let per = g.struct_pages_per_page();
    for i in (0..per).filter(|_| writes_records(g)) {
        #[allow(clippy::cast_possible_truncation)]
        let page = crate::mm::page::page_in(body, (i * g.struct_page_size / 8) as usize);
        if zone == ZONE_DEVICE {
            init_zone_device_page(page, 0);
        } else {
            page.init_single(zone);
        }
        page.prep_compound_tail(g, info);
    }
    k.stats
        .struct_pages_initialized
        .fetch_add(per, Ordering::Relaxed);
}
