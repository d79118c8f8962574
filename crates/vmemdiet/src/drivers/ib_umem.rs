//! RDMA memory registration (`drivers/infiniband/core/umem.c`: `ib_umem_get`,
//! `__ib_umem_release`; `lib/scatterlist.c` `sg_alloc_append_table_from_pages`; kernel brief §6).
//!
//! Registration pins the region with FOLL_LONGTERM in chunks of one page of page pointers (512),
//! builds a scatterlist that coalesces physically contiguous pages, and accounts the pages
//! against the memlock limit. Release unpins per the profile. The DMA side a driver uses (DMA
//! segments, `ib_umem_find_best_pgsz`, DMA blocks) is here too; the driver's own work is in
//! [`super::ib_driver`], and `ib_reg_mr` / `ib_dereg_mr` in [`super::ib_verbs`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::addr::{Pfn, VirtAddr};
use crate::machine::Fault;
use crate::mm::gup::{
    pin_user_pages_fast, unpin_user_page_range_dirty_lock, unpin_user_pages_dirty_lock, GupCtx,
    GupError, GupFlags,
};
use crate::mm::page::{decode_head, Memmap, PagePtr, VmemmapWindow, ZONE_DEVICE};
use crate::mm::profile::{SgMerge, UmemRelease};
use crate::mm::vm::Mm;

/// `ib_dma_max_seg_size` default the RDMA core sets: 2 GiB.
pub const DEFAULT_MAX_SEG: u64 = 2 << 30;

/// One scatterlist entry: `length` bytes of physically contiguous pages from `page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgEntry {
    pub page: PagePtr,
    pub pfn: Pfn,
    pub length: u64,
}

/// Registration options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UmemOpts {
    /// `IB_ACCESS_*` write access: pin with FOLL_WRITE and dirty on release.
    pub writable: bool,
    /// `RLIMIT_MEMLOCK` in pages; `None` = `CAP_IPC_LOCK` (unlimited).
    pub memlock_pages: Option<u64>,
    /// The DMA device's maximum segment size, bytes.
    pub max_seg: u64,
}

impl Default for UmemOpts {
    fn default() -> Self {
        UmemOpts {
            writable: true,
            memlock_pages: None,
            max_seg: DEFAULT_MAX_SEG,
        }
    }
}

/// Errors of registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UmemError {
    #[error("invalid region {addr} + {size:#x}: zero, overflowing, or over 2^32 pages (EINVAL)")]
    BadRegion { addr: VirtAddr, size: u64 },
    #[error("registering {npages} pages would pin {total} pages, over the memlock limit of {limit} (ENOMEM); raise RLIMIT_MEMLOCK")]
    Memlock { npages: u64, total: u64, limit: u64 },
    #[error("pinning failed after {pinned} of {npages} pages: {source}")]
    Pin {
        pinned: u64,
        npages: u64,
        source: GupError,
    },
    #[error("struct page access: {0}")]
    Memmap(#[from] Fault),
    #[error("no page size the device supports maps {addr} + {size:#x} (EINVAL)")]
    PageSize { addr: VirtAddr, size: u64 },
}

/// Time spent in each phase of a registration or release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UmemTimes {
    pub pin: Duration,
    pub sg: Duration,
    pub release: Duration,
    /// The driver's own work at registration and deregistration.
    pub driver: Duration,
}

/// A registered region (`struct ib_umem`).
#[derive(Debug)]
pub struct IbUmem {
    pub addr: VirtAddr,
    pub length: u64,
    pub writable: bool,
    /// Pages accounted in `pinned_vm`.
    pub npages: u64,
    /// The scatterlist.
    pub sgt: Vec<SgEntry>,
    /// `pages_are_mergeable` calls made building it.
    pub merge_checks: u64,
}

/// `pages_are_mergeable(b, a)` (`lib/scatterlist.c`): `b` may extend a segment ending in `a`
/// if it is the next pfn and, from 6.2, both are ZONE_DEVICE pages of the same pgmap or both
/// are not (`zone_device_pages_have_same_pgmap`). Every call reads the words the kernel reads
/// (`flags` of both, then `a->pgmap` and `b->pgmap`, or from 6.15 `page_folio(x)->pgmap`),
/// through windows on the vmemmap: the pages are pinned and adjacent, so the words are hot.
#[derive(Debug, Default)]
struct MergeCheck<'m> {
    pages: VmemmapWindow<'m>,
    heads: VmemmapWindow<'m>,
    /// Calls made, for tests of the two-pass structure.
    calls: u64,
}

impl<'m> MergeCheck<'m> {
    #[inline]
    fn mergeable(
        &mut self,
        memmap: &mut Memmap<'m>,
        rule: SgMerge,
        a: PagePtr,
        b: PagePtr,
    ) -> Result<bool, Fault> {
        self.calls += 1;
        // `page_to_pfn(b) == page_to_pfn(a) + 1`: in a virtually contiguous memmap, `b == a + 1`.
        if b != a.nth(memmap.geometry(), 1) {
            return Ok(false);
        }
        if rule == SgMerge::Contiguous {
            return Ok(true);
        }
        let pa = memmap.windowed(&mut self.pages, a)?;
        let pb = memmap.windowed(&mut self.pages, b)?;
        let dev_a = pa.zone() == ZONE_DEVICE;
        if dev_a != (pb.zone() == ZONE_DEVICE) {
            return Ok(false);
        }
        if !dev_a {
            return Ok(true);
        }
        let (wa, wb) = (pa.compound_info(), pb.compound_info());
        Ok(match rule {
            // `a->pgmap == b->pgmap` with pgmap overlaying word 1: a head's pgmap against its
            // tails' compound_head differs, so each folio splits into [head][tails].
            SgMerge::PgmapWord1 | SgMerge::Contiguous => wa == wb,
            SgMerge::FolioPgmap => {
                // `page_pgmap()`: the pgmap kept in each folio's head, decoded from the word
                // already loaded; one folio's head is read once.
                let (ha, hb) = (decode_head(a, wa), decode_head(b, wb));
                ha == hb
                    || memmap.windowed(&mut self.heads, ha)?.compound_info()
                        == memmap.windowed(&mut self.heads, hb)?.compound_info()
            }
        })
    }

    /// Where the segment of `pages` starting at `cur` ends: the first page that does not
    /// merge with the one before it, or that would take the segment to `max_seg`.
    fn seg_end(
        &mut self,
        memmap: &mut Memmap<'m>,
        rule: SgMerge,
        pages: &[PagePtr],
        cur: usize,
        max_seg: u64,
    ) -> Result<usize, Fault> {
        let p = memmap.geometry().page_size();
        let mut len = 0;
        for j in cur + 1..pages.len() {
            len += p;
            if len >= max_seg || !self.mergeable(memmap, rule, pages[j - 1], pages[j])? {
                return Ok(j);
            }
        }
        Ok(pages.len())
    }
}

/// `sg_alloc_append_table_from_pages`, in the kernel's three steps: pages that continue the
/// previous chunk's last segment extend it; a first pass counts the new segments; a second
/// builds them, checking every page against the one before again. A segment ends where a page
/// is not the next pfn, the merge rule refuses it, or it would exceed `max_seg`.
fn sg_append<'k>(
    cx: &mut GupCtx<'k>,
    rule: SgMerge,
    sgt: &mut Vec<SgEntry>,
    pages: &[PagePtr],
    max_seg: u64,
) -> Result<u64, Fault> {
    let g = cx.memmap.geometry();
    let p = g.page_size();
    let mut check: MergeCheck<'k> = MergeCheck::default();
    let mut pages = pages;
    if let Some(prv) = sgt.last_mut() {
        let mut last_pg = prv.page.nth(g, prv.length / p - 1);
        while let Some((&first, rest)) = pages.split_first() {
            if !check.mergeable(&mut cx.memmap, rule, last_pg, first)? || prv.length + p > max_seg {
                break;
            }
            prv.length += p;
            last_pg = first;
            pages = rest;
        }
    }
    if pages.is_empty() {
        return Ok(check.calls);
    }
    let mut chunks = 0;
    let mut cur = 0;
    while cur < pages.len() {
        cur = check.seg_end(&mut cx.memmap, rule, pages, cur, max_seg)?;
        chunks += 1;
    }
    sgt.reserve(chunks);
    let mut cur = 0;
    while cur < pages.len() {
        let end = check.seg_end(&mut cx.memmap, rule, pages, cur, max_seg)?;
        sgt.push(SgEntry {
            page: pages[cur],
            pfn: pages[cur].pfn(g),
            length: (end - cur) as u64 * p,
        });
        cur = end;
    }
    Ok(check.calls)
}

/// `__ib_umem_release`: unpins every page per the profile (one per 4 KiB page; each entry's
/// pages as folio runs; or one range unpin per entry), dirtying if asked.
fn release_pages(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    sgt: &[SgEntry],
    dirty: bool,
) -> Result<(), Fault> {
    let g = cx.memmap.geometry();
    let p = g.page_size();
    let k = mm.k;
    match k.switches().umem_release {
        UmemRelease::PerPage => {
            for e in sgt {
                for i in 0..e.length / p {
                    unpin_user_pages_dirty_lock(cx, k, &[e.page.nth(g, i)], dirty)?;
                }
            }
        }
        UmemRelease::PerSgFolioRuns => {
            for e in sgt {
                let pages: Vec<PagePtr> = (0..e.length / p).map(|i| e.page.nth(g, i)).collect();
                unpin_user_pages_dirty_lock(cx, k, &pages, dirty)?;
            }
        }
        UmemRelease::PerSgRange => {
            for e in sgt {
                unpin_user_page_range_dirty_lock(cx, e.page, e.length / p, dirty)?;
            }
        }
    }
    Ok(())
}

/// `ib_umem_get`: pins `[addr, addr + size)` and builds its scatterlist. On any failure
/// everything pinned so far is released and `pinned_vm` restored.
pub fn ib_umem_get(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    addr: VirtAddr,
    size: u64,
    opts: UmemOpts,
    times: &mut UmemTimes,
) -> Result<IbUmem, UmemError> {
    let g = mm.k.machine.geometry();
    let p = g.page_size();
    let end = addr
        .as_u64()
        .checked_add(size)
        .filter(|_| size > 0)
        .ok_or(UmemError::BadRegion { addr, size })?;
    let first = addr.as_u64() & !(p - 1);
    let npages = (end.div_ceil(p) * p - first) / p;
    if npages > u64::from(u32::MAX) {
        return Err(UmemError::BadRegion { addr, size });
    }
    let total = mm.pinned_vm.fetch_add(npages, Ordering::AcqRel) + npages;
    if let Some(limit) = opts.memlock_pages {
        if total > limit {
            mm.pinned_vm.fetch_sub(npages, Ordering::AcqRel);
            return Err(UmemError::Memlock {
                npages,
                total,
                limit,
            });
        }
    }
    let chunk = usize::try_from(p / 8).unwrap_or(512);
    let rule = mm.k.switches().sg_merge;
    let mut flags = GupFlags::LONGTERM;
    if opts.writable {
        flags = flags | GupFlags::WRITE;
    }
    let mut sgt = Vec::new();
    let mut merge_checks = 0;
    let mut page_list: Vec<PagePtr> = Vec::with_capacity(chunk);
    let mut cur = first;
    let mut left = npages;
    while left > 0 {
        page_list.clear();
        let want = usize::try_from(left).unwrap_or(chunk).min(chunk);
        let t = Instant::now();
        let r = pin_user_pages_fast(cx, mm, VirtAddr::new(cur), want, flags, &mut page_list);
        times.pin += t.elapsed();
        let pinned = match r {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(_) => {
                let source = r.err().unwrap_or(GupError::Fault(VirtAddr::new(cur)));
                let t = Instant::now();
                release_pages(cx, mm, &sgt, false)?;
                times.release += t.elapsed();
                mm.pinned_vm.fetch_sub(npages, Ordering::AcqRel);
                return Err(UmemError::Pin {
                    pinned: npages - left,
                    npages,
                    source,
                });
            }
        };
        let t = Instant::now();
        merge_checks += sg_append(cx, rule, &mut sgt, &page_list, opts.max_seg)?;
        times.sg += t.elapsed();
        cur += pinned as u64 * p;
        left -= pinned as u64;
    }
    Ok(IbUmem {
        addr,
        length: size,
        writable: opts.writable,
        npages,
        sgt,
        merge_checks,
    })
}

/// `ib_umem_release`: unpins (dirtying writable regions) and gives back `pinned_vm`.
pub fn ib_umem_release(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    umem: IbUmem,
    times: &mut UmemTimes,
) -> Result<(), Fault> {
    let t = Instant::now();
    release_pages(cx, mm, &umem.sgt, umem.writable)?;
    times.release += t.elapsed();
    mm.pinned_vm.fetch_sub(umem.npages, Ordering::AcqRel);
    Ok(())
}

/// A bus address as the device sees it (`dma_addr_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DmaAddr(pub u64);

/// A DMA-mapped scatterlist entry (`sg_dma_address`, `sg_dma_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaSeg {
    pub addr: DmaAddr,
    pub len: u64,
}

/// Where `ib_umem_find_best_pgsz` lets a page of the MR start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BestPgszRule {
    /// 5.11–6.14: at every scatterlist entry, contiguous or not: each entry's end must be
    /// aligned to the page size (`mask |= va` after every entry but the last), so a 4 KiB
    /// head entry in front of its tails (6.2–6.14 devdax) forces 4 KiB pages.
    SgEntries,
    /// 6.15+ (486055f5e09d, "RDMA/core: Fix best page size finding when it can cross SG
    /// entries"; stable 6.12.y took it in May 2025): only at physical discontinuities.
    Discontinuities,
}

/// `ib_umem_find_best_pgsz` (`drivers/infiniband/core/umem.c`): the largest page size of
/// `pgsz_bitmap` that maps the region at IOVA `virt` onto the DMA segments `dma` with one
/// page size, or 0 if none does. Bits where VA and DMA address differ at a page start, and
/// (per `rule`) the VA where a new page must start, cap the size; so does the MR's length.
#[must_use]
pub fn ib_umem_find_best_pgsz(
    umem: &IbUmem,
    dma: &[DmaSeg],
    page_size: u64,
    pgsz_bitmap: u64,
    virt: VirtAddr,
    rule: BestPgszRule,
) -> u64 {
    // `rdma_for_each_block()` cannot split below the umem's page size.
    let mut bitmap = pgsz_bitmap & !(page_size - 1);
    let va0 = virt.as_u64();
    let mut va = va0;
    // The largest page the VA bits that never change across the MR allow:
    // `GENMASK(BITS_PER_LONG - 1, bits_per((length - 1 + virt) ^ virt))`.
    let span = umem.length.wrapping_sub(1).wrapping_add(va0) ^ va0;
    let bits = (u64::BITS - span.leading_zeros()).max(1);
    let mut mask = bitmap & u64::MAX.checked_shl(bits).unwrap_or(0);
    let mut pgoff = umem.addr.as_u64() & (page_size - 1);
    let (mut curr_base, mut curr_len) = (u64::MAX, 0u64);
    for (i, s) in dma.iter().enumerate() {
        let a = s.addr.0;
        match rule {
            BestPgszRule::SgEntries => {
                mask |= (a + pgoff) ^ va;
                va += s.len - pgoff;
                if i + 1 != dma.len() {
                    mask |= va;
                }
            }
            BestPgszRule::Discontinuities => {
                if curr_base.checked_add(curr_len) != Some(a) {
                    curr_base = a;
                    curr_len = 0;
                    mask |= (curr_base + pgoff) ^ va;
                    if i != 0 {
                        mask |= va;
                    }
                }
                curr_len += s.len;
                va += s.len - pgoff;
            }
        }
        pgoff = 0;
    }
    if mask != 0 {
        // `GENMASK(count_trailing_zeros(mask), 0)`.
        let tz = mask.trailing_zeros();
        bitmap &= u64::MAX >> (63 - tz);
    }
    // `rounddown_pow_of_two`.
    bitmap.checked_ilog2().map_or(0, |b| 1 << b)
}

/// `ib_umem_num_dma_blocks`: the `pgsz` blocks that cover the MR at its IOVA.
#[must_use]
pub fn ib_umem_num_dma_blocks(umem: &IbUmem, virt: VirtAddr, pgsz: u64) -> u64 {
    let start = virt.as_u64() & !(pgsz - 1);
    let end = (virt.as_u64() + umem.length).div_ceil(pgsz) * pgsz;
    (end - start) / pgsz
}

/// `rdma_umem_for_each_dma_block` (`include/rdma/ib_umem.h`, `__rdma_block_iter_next` in
/// `core/verbs.c` as of 6.15, whose blocks may cross entries): calls `f` with the aligned DMA
/// address of each of the `nblocks` `pgsz` blocks of `dma`, in order.
pub fn rdma_umem_for_each_dma_block(
    dma: &[DmaSeg],
    pgsz: u64,
    nblocks: u64,
    mut f: impl FnMut(DmaAddr),
) {
    let (mut sg, mut advance, mut left) = (0, 0, nblocks);
    while sg < dma.len() && left > 0 {
        let addr = dma[sg].addr.0 + advance;
        let mut delta = pgsz - (addr & (pgsz - 1));
        f(DmaAddr(addr & !(pgsz - 1)));
        left -= 1;
        while sg < dma.len() && dma[sg].len - advance <= delta {
            delta -= dma[sg].len - advance;
            advance = 0;
            sg += 1;
        }
        advance += delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4 MiB MR at IOVA 1 GiB over two DMA segments, the second 4 KiB past a 2 MiB boundary.
    fn split_mr() -> (IbUmem, [DmaSeg; 2]) {
        let umem = IbUmem {
            addr: VirtAddr::new(1 << 30),
            length: 4 << 20,
            writable: true,
            npages: 1024,
            sgt: Vec::new(),
            merge_checks: 0,
        };
        let dma = [
            DmaSeg {
                addr: DmaAddr(1 << 32),
                len: 2 << 20,
            },
            DmaSeg {
                addr: DmaAddr((2 << 32) + 0x1000),
                len: 2 << 20,
            },
        ];
        (umem, dma)
    }

    /// The second segment's offset allows only 4 KiB pages: a device that offers 4K and 2M
    /// gets 4K, one that offers only 2M gets none (0); never a size below the umem's page.
    #[test]
    fn best_page_size_is_capped_by_misalignment_and_never_below_a_page() {
        let (umem, dma) = split_mr();
        let virt = VirtAddr::new(1 << 30);
        for rule in [BestPgszRule::SgEntries, BestPgszRule::Discontinuities] {
            let best = |bitmap| ib_umem_find_best_pgsz(&umem, &dma, 4096, bitmap, virt, rule);
            assert_eq!(best(0x1000 | 0x20_0000), 4096, "{rule:?}");
            assert_eq!(best(0x20_0000), 0, "{rule:?}");
            assert_eq!(best(0x800 | 0x1000), 4096, "{rule:?}: 2K is below the page");
        }
    }
}
