//! ConnectX's user MR (`drivers/infiniband/hw/mlx5/mr.c`, `mem.c`, `umr.c`): one page size for
//! the whole MR and one 8-byte MTT entry per page of that size.
//!
//! `mlx5_ib_reg_user_mr` picks the page size over the DMA-mapped scatterlist and writes the
//! translation table the device reads: into the `create_mkey` mailbox (`reg_create` →
//! `mlx5_ib_populate_pas`) or into the UMR translation buffer posted to the device
//! (`mlx5r_umr_update_mr_pas`); both write one big-endian `dma_addr | MLX5_IB_MTT_{READ,WRITE}`
//! per block. The model keeps that buffer as the device's copy until dereg, where the kernel's
//! own work is one `destroy_mkey` command or UMR. Left out: the firmware command and UMR
//! post/completion latency, the mkey cache, ODP, and firmware with `umr_log_entity_size_5`
//! (page sizes above 2 GiB).

use crate::addr::VirtAddr;
use crate::drivers::ib_umem::{
    ib_umem_find_best_pgsz, ib_umem_num_dma_blocks, rdma_umem_for_each_dma_block, BestPgszRule,
    DmaSeg, IbUmem,
};

/// `MLX5_ADAPTER_PAGE_SHIFT`: the device's smallest page, 4 KiB whatever the CPU's.
pub const MLX5_ADAPTER_PAGE_SHIFT: u32 = 12;

/// Width of the mkey context's `log_page_size` field: 5 bits, so 2^31 bytes at most.
pub const MKC_LOG_PAGE_SIZE_BITS: u32 = 5;

/// `MLX5_IB_MTT_READ | MLX5_IB_MTT_WRITE`: the access bits of every MTT entry.
pub const MLX5_IB_MTT_PRESENT: u64 = 0b11;

/// How an era's driver picks the page size and fills the MTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mlx5Era {
    /// ≤ 5.10: `mlx5_ib_cont_pages` (runs of contiguous pfns and the start VA's alignment)
    /// and `__mlx5_ib_populate_pas`, which walks every PAGE_SIZE page of every entry.
    ContPages,
    /// 5.11+: `mlx5_umem_find_best_pgsz` → `ib_umem_find_best_pgsz` with `rule`, and
    /// `mlx5_ib_populate_pas` → `rdma_umem_for_each_dma_block`, one step per block.
    BestPgsz(BestPgszRule),
}

/// `__mlx5_log_page_size_to_bitmap(MKC_LOG_PAGE_SIZE_BITS, 0)`: the page sizes an mkey takes,
/// 4 KiB to 2 GiB.
#[must_use]
pub const fn mkc_pgsz_bitmap() -> u64 {
    let largest = (1 << MKC_LOG_PAGE_SIZE_BITS) - 1;
    (u64::MAX >> (63 - largest)) & !((1 << MLX5_ADAPTER_PAGE_SHIFT) - 1)
}

/// `mlx5_ib_cont_pages` (5.10 `mem.c`): the page shift from the alignment of the start VA,
/// of each run of contiguous pfns and of each run's length, capped by `max_page_shift` and by
/// the region's page count rounded up to a power of two.
#[must_use]
pub fn mlx5_ib_cont_pages(dma: &[DmaSeg], addr: VirtAddr, page_shift: u32, max_shift: u32) -> u32 {
    let first_bit = |x: u64| x.trailing_zeros();
    let mut m = first_bit(addr.as_u64() >> page_shift).min(max_shift - page_shift);
    let (mut base, mut p, mut i) = (u64::MAX, 0u64, 0u64);
    for s in dma {
        let len = s.len >> page_shift;
        let pfn = s.addr.0 >> page_shift;
        if base.wrapping_add(p) != pfn {
            let tmp = pfn | p;
            if tmp & ((1 << m) - 1) != 0 {
                m = first_bit(tmp);
            }
            base = pfn;
            p = 0;
        }
        p += len;
        i += len;
    }
    if i == 0 {
        return page_shift;
    }
    page_shift + m.min(i.next_power_of_two().ilog2())
}

/// What registration chose and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MttStats {
    /// The MR's page size, bytes.
    pub page_size: u64,
    /// MTT entries written.
    pub entries: u64,
    /// Steps of the fill loop: PAGE_SIZE pages (≤ 5.10) or blocks (5.11+).
    pub steps: u64,
}

/// `mlx5_ib_reg_user_mr`'s translation work: picks the page size for the MR at IOVA `virt`
/// over `dma` and writes its MTT into `mtt` (cleared first). Returns `None` when no supported
/// page size maps the region (the kernel's `-EINVAL`).
pub fn mlx5_reg_mtt(
    era: Mlx5Era,
    umem: &IbUmem,
    dma: &[DmaSeg],
    page_shift: u32,
    virt: VirtAddr,
    mtt: &mut Vec<u64>,
) -> Option<MttStats> {
    mtt.clear();
    let page_size = 1u64 << page_shift;
    match era {
        Mlx5Era::ContPages => {
            let shift =
                mlx5_ib_cont_pages(dma, virt, page_shift, (1 << MKC_LOG_PAGE_SIZE_BITS) - 1);
            let per = shift - page_shift;
            let mask = (1u64 << per) - 1;
            let npages = umem.npages;
            mtt.reserve(usize::try_from(npages >> per).unwrap_or(0) + 1);
            // `__mlx5_ib_populate_pas`: every page of every entry; an entry at each block start.
            let mut i = 0u64;
            let mut steps = 0;
            'sg: for s in dma {
                for k in 0..s.len >> page_shift {
                    steps += 1;
                    if i & mask == 0 {
                        mtt.push(((s.addr.0 + (k << page_shift)) | MLX5_IB_MTT_PRESENT).to_be());
                    }
                    i += 1;
                    if i >> per >= npages {
                        break 'sg;
                    }
                }
            }
            Some(MttStats {
                page_size: 1 << shift,
                entries: mtt.len() as u64,
                steps,
            })
        }
        Mlx5Era::BestPgsz(rule) => {
            let pgsz = ib_umem_find_best_pgsz(umem, dma, page_size, mkc_pgsz_bitmap(), virt, rule);
            if pgsz == 0 {
                return None;
            }
            let n = ib_umem_num_dma_blocks(umem, virt, pgsz);
            mtt.reserve(usize::try_from(n).unwrap_or(0));
            rdma_umem_for_each_dma_block(dma, pgsz, n, |a| {
                mtt.push((a.0 | MLX5_IB_MTT_PRESENT).to_be());
            });
            Some(MttStats {
                page_size: pgsz,
                entries: mtt.len() as u64,
                steps: mtt.len() as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::ib_umem::DmaAddr;

    const MIB: u64 = 1 << 20;

    fn umem(addr: u64, length: u64) -> IbUmem {
        IbUmem {
            addr: VirtAddr::new(addr),
            length,
            writable: true,
            npages: length / 4096,
            sgt: Vec::new(),
            merge_checks: 0,
        }
    }

    fn seg(addr: u64, len: u64) -> DmaSeg {
        DmaSeg {
            addr: DmaAddr(addr),
            len,
        }
    }

    /// 2 MiB folios split [head 4 KiB][tails] as 6.2–6.14 build them, contiguous.
    fn head_tail_split(pa: u64, folios: u64) -> Vec<DmaSeg> {
        (0..folios)
            .flat_map(|f| {
                let a = pa + f * 2 * MIB;
                [seg(a, 4096), seg(a + 4096, 2 * MIB - 4096)]
            })
            .collect()
    }

    #[test]
    fn the_mkey_takes_4k_to_2g_pages() {
        assert_eq!(mkc_pgsz_bitmap(), 0xffff_f000);
        // 5.10's mlx5_ib_cont_pages is capped the same way: 8 GiB, contiguous and 4 GiB
        // aligned on both sides, still maps with 2 GiB pages.
        let (va, pa, len) = (1 << 42, 1 << 36, 8 << 30);
        let mut mtt = Vec::new();
        let st = mlx5_reg_mtt(
            Mlx5Era::ContPages,
            &umem(va, len),
            &[seg(pa, len)],
            12,
            VirtAddr::new(va),
            &mut mtt,
        )
        .unwrap();
        assert_eq!((st.page_size, st.entries), (2 << 30, 4));
    }

    #[test]
    fn a_head_tail_split_forces_4k_pages_until_6_15_looks_across_entries() {
        let va = 0x7f00_0000_0000;
        let pa = 0x1_0000_0000;
        let u = umem(va, 4 * MIB);
        let dma = head_tail_split(pa, 2);
        let mut mtt = Vec::new();
        let old = Mlx5Era::BestPgsz(BestPgszRule::SgEntries);
        let s = mlx5_reg_mtt(old, &u, &dma, 12, VirtAddr::new(va), &mut mtt).unwrap();
        assert_eq!((s.page_size, s.entries), (4096, 1024));
        assert_eq!(u64::from_be(mtt[1]), (pa + 4096) | MLX5_IB_MTT_PRESENT);
        let new = Mlx5Era::BestPgsz(BestPgszRule::Discontinuities);
        let s = mlx5_reg_mtt(new, &u, &dma, 12, VirtAddr::new(va), &mut mtt).unwrap();
        assert_eq!((s.page_size, s.entries), (4 * MIB, 1));
        assert_eq!(u64::from_be(mtt[0]), pa | MLX5_IB_MTT_PRESENT);
        // VA and PA agree only up to 2 MiB: 2 MiB pages.
        let s = mlx5_reg_mtt(new, &u, &dma, 12, VirtAddr::new(va + 2 * MIB), &mut mtt).unwrap();
        assert_eq!((s.page_size, s.entries), (2 * MIB, 2));
        assert_eq!(u64::from_be(mtt[1]), (pa + 2 * MIB) | MLX5_IB_MTT_PRESENT);
    }

    #[test]
    fn cont_pages_follows_runs_and_walks_every_page() {
        let va = VirtAddr::new(0x7f00_0000_0000);
        let pa = 0x1_0000_0000;
        let u = umem(va.as_u64(), 4 * MIB);
        let mut mtt = Vec::new();
        // One run: a 4 MiB page. Two 2 MiB runs, swapped: 2 MiB pages. Either way the fill
        // loop walks every 4 KiB page.
        let one = [seg(pa, 4 * MIB)];
        let two = [seg(pa + 2 * MIB, 2 * MIB), seg(pa, 2 * MIB)];
        for (dma, page_size, entries, last) in
            [(&one[..], 4 * MIB, 1, pa), (&two[..], 2 * MIB, 2, pa)]
        {
            let s = mlx5_reg_mtt(Mlx5Era::ContPages, &u, dma, 12, va, &mut mtt).unwrap();
            assert_eq!(
                (s.page_size, s.entries, s.steps),
                (page_size, entries, 1024)
            );
            assert_eq!(
                mtt.last().map(|&e| u64::from_be(e)),
                Some(last | MLX5_IB_MTT_PRESENT)
            );
        }
    }
}
