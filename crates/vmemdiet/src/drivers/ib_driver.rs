//! The HCA driver's own work in `ib_reg_mr` / `ib_dereg_mr` (`ib_device_ops.reg_user_mr`,
//! `.dereg_mr`), after the core has pinned the region and built its scatterlist.
//!
//! Three devices: `none` (no driver work: the core's figures alone, as before drivers were
//! modelled), `rxe` (Soft-RoCE: a page map with one entry per PAGE_SIZE page, [`super::rxe`])
//! and `mlx5` (ConnectX: one page size for the MR and one MTT entry per page of it,
//! [`super::mlx5`]). Both first DMA-map the scatterlist, one address per entry: rxe through
//! `ib_dma_virt_map_sg` (`drivers/infiniband/core/device.c`: the entry's kernel virtual
//! address), mlx5 through `dma_map_sgtable` → `dma_direct_map_sg` (`kernel/dma/direct.c`:
//! `phys_to_dma`, identity, no IOMMU). In the kernel `ib_umem_get` does that mapping; the model
//! times it as driver work so that `none` keeps the core's figures unchanged. Left out: IOMMU
//! mapping (one IOVA per entry plus IOTLB work), swiotlb bouncing and cache maintenance on
//! non-coherent machines, and the device's own latency (firmware commands, UMR completions).

use serde::Serialize;

use crate::arch::KernelVersion;
use crate::drivers::ib_umem::{BestPgszRule, DmaAddr, DmaSeg, IbUmem, UmemError};
use crate::drivers::mlx5::{mlx5_reg_mtt, Mlx5Era};
use crate::drivers::rxe::{rxe_mr_fill_pages_from_sgt, XArray};
use crate::mm::gup::GupCtx;
use crate::mm::page::ZONE_DEVICE;

/// The RDMA device an MR is registered with (`--driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// No driver work: `ib_reg_mr` is `ib_umem_get` plus a key.
    #[default]
    None,
    /// Soft-RoCE (`rdma_rxe`): a page map per PAGE_SIZE page.
    Rxe,
    /// ConnectX (`mlx5_ib`): best page size and one MTT entry per page of it.
    Mlx5,
}

impl Driver {
    /// Every driver, in the order `--help` lists them.
    pub const ALL: [Driver; 3] = [Driver::None, Driver::Rxe, Driver::Mlx5];
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Driver::None => "none",
            Driver::Rxe => "rxe",
            Driver::Mlx5 => "mlx5",
        })
    }
}

impl std::str::FromStr for Driver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Driver::ALL
            .into_iter()
            .find(|d| d.to_string() == s)
            .ok_or_else(|| format!("unknown driver '{s}'; valid: none, rxe, mlx5"))
    }
}

/// What the driver did for one MR, registration and deregistration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Scatterlist entries DMA-mapped: one per entry.
    pub dma_mapped: u64,
    /// Entries DMA-unmapped (dma-direct; virt DMA has nothing to undo).
    pub dma_unmapped: u64,
    /// Struct pages the DMA map read: `is_pci_p2pdma_page` on each entry's page (6.2+).
    pub page_reads: u64,
    /// Of those, pages in ZONE_DEVICE.
    pub device_entries: u64,
    /// rxe: page-map stores (`xas_store`), one per PAGE_SIZE page.
    pub pages_stored: u64,
    /// rxe: xarray nodes allocated at registration.
    pub xa_nodes: u64,
    /// rxe: xarray nodes freed by `xa_destroy`.
    pub xa_nodes_freed: u64,
    /// The MR's page size in bytes: mlx5's best size, rxe's PAGE_SIZE; 0 for none.
    pub page_size: u64,
    /// mlx5: MTT entries written, one per page of `page_size`.
    pub mtt_entries: u64,
    /// mlx5: steps of the MTT fill loop (PAGE_SIZE pages ≤ 5.10, blocks after).
    pub mtt_steps: u64,
    /// mlx5: MTT entries dropped at dereg (the mkey destroyed).
    pub mtt_freed: u64,
}

impl DriverStats {
    /// The entries the driver wrote per registration: page-map stores or MTT entries.
    #[must_use]
    pub const fn entries(&self) -> u64 {
        self.pages_stored + self.mtt_entries
    }
}

/// The driver's state of one MR.
#[derive(Debug)]
enum State {
    None,
    /// `rxe_mr.page_list`.
    Rxe(XArray),
    /// The MTT as handed to the device.
    Mlx5(Vec<u64>),
}

/// The driver's side of a registered MR: its DMA mapping and its page map or MTT.
#[derive(Debug)]
pub struct DriverMr {
    pub driver: Driver,
    /// `sg_dma_address` / `sg_dma_len` of each scatterlist entry.
    pub dma: Vec<DmaSeg>,
    state: State,
    pub stats: DriverStats,
}

impl DriverMr {
    /// rxe: the page at index `i` of the page map.
    #[must_use]
    pub fn rxe_page(&self, i: u64) -> Option<crate::mm::page::PagePtr> {
        match &self.state {
            State::Rxe(xa) => xa.load(i),
            State::None | State::Mlx5(_) => None,
        }
    }

    /// mlx5: the MTT, big-endian entries as the device reads them.
    #[must_use]
    pub fn mtt(&self) -> &[u64] {
        match &self.state {
            State::Mlx5(m) => m,
            State::None | State::Rxe(_) => &[],
        }
    }
}

/// How the DMA map computes an entry's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DmaOps {
    /// `ib_dma_virt_map_sg`: `sg_virt()`, the page's direct-map address.
    Virt,
    /// `dma_direct_map_sg`: `phys_to_dma(sg_phys())`, identity without an IOMMU.
    Direct,
}

/// `ib_dma_map_sgtable_attrs`: one DMA address per scatterlist entry. dma-direct since 6.2
/// (7c2645a2a30a, "dma-direct: support PCI P2PDMA pages in dma-direct map_sg") first asks
/// `is_pci_p2pdma_page` of each entry's page, which reads its zone in the memmap.
fn dma_map_sgtable(
    cx: &mut GupCtx<'_>,
    umem: &IbUmem,
    ops: DmaOps,
    release: KernelVersion,
    stats: &mut DriverStats,
) -> Result<Vec<DmaSeg>, UmemError> {
    let g = cx.memmap.geometry();
    let mut dma = Vec::with_capacity(umem.sgt.len());
    for e in &umem.sgt {
        let phys = g.pfn_to_phys(e.pfn).as_u64();
        let addr = match ops {
            DmaOps::Virt => g.page_offset.as_u64().wrapping_add(phys),
            DmaOps::Direct => {
                if release >= KernelVersion::new(6, 2) {
                    // `is_zone_device_page`; a device page here is devdax (MEMORY_DEVICE_
                    // GENERIC), never P2PDMA, and maps like any other.
                    let zone = cx.memmap.page(e.page)?.zone();
                    stats.page_reads += 1;
                    stats.device_entries += u64::from(zone == ZONE_DEVICE);
                }
                phys
            }
        };
        dma.push(DmaSeg {
            addr: DmaAddr(addr),
            len: e.length,
        });
    }
    stats.dma_mapped += dma.len() as u64;
    Ok(dma)
}

/// `ib_device_ops.reg_user_mr` after `ib_umem_get` (`rxe_reg_user_mr` → `rxe_mr_init_user`;
/// `mlx5_ib_reg_user_mr` → `create_real_mr`), for a kernel of `release`. The IOVA is the
/// region's user address, as `ibv_reg_mr` passes it.
pub fn reg_user_mr(
    cx: &mut GupCtx<'_>,
    umem: &IbUmem,
    driver: Driver,
    release: KernelVersion,
) -> Result<DriverMr, UmemError> {
    let g = cx.memmap.geometry();
    let mut stats = DriverStats::default();
    let (dma, state) = match driver {
        Driver::None => (Vec::new(), State::None),
        Driver::Rxe => {
            let dma = dma_map_sgtable(cx, umem, DmaOps::Virt, release, &mut stats)?;
            let mut xa = XArray::default();
            stats.pages_stored = rxe_mr_fill_pages_from_sgt(g, umem, &mut xa);
            stats.xa_nodes = xa.nodes();
            stats.page_size = g.page_size();
            (dma, State::Rxe(xa))
        }
        Driver::Mlx5 => {
            let dma = dma_map_sgtable(cx, umem, DmaOps::Direct, release, &mut stats)?;
            let era = if release < KernelVersion::new(5, 11) {
                Mlx5Era::ContPages
            } else if release < KernelVersion::new(6, 15) {
                Mlx5Era::BestPgsz(BestPgszRule::SgEntries)
            } else {
                Mlx5Era::BestPgsz(BestPgszRule::Discontinuities)
            };
            let mut mtt = Vec::new();
            let s = mlx5_reg_mtt(era, umem, &dma, g.page_shift, umem.addr, &mut mtt).ok_or(
                UmemError::PageSize {
                    addr: umem.addr,
                    size: umem.length,
                },
            )?;
            stats.page_size = s.page_size;
            stats.mtt_entries = s.entries;
            stats.mtt_steps = s.steps;
            (dma, State::Mlx5(mtt))
        }
    };
    Ok(DriverMr {
        driver,
        dma,
        state,
        stats,
    })
}

/// `ib_device_ops.dereg_mr` before `ib_umem_release`: mlx5 destroys the mkey (its MTT) and
/// dma-direct unmaps each entry (`dma_direct_unmap_sg`); rxe's `rxe_mr_cleanup` destroys the
/// page map (`xa_destroy`, in the kernel just after the release) and virt DMA has nothing to
/// unmap. Returns the MR's counts, registration and deregistration.
pub fn dereg_mr(mut mr: DriverMr) -> DriverStats {
    match &mut mr.state {
        State::None => {}
        State::Rxe(xa) => {
            mr.stats.xa_nodes_freed = xa.destroy();
        }
        State::Mlx5(mtt) => {
            mr.stats.mtt_freed = mtt.len() as u64;
            mtt.clear();
            mtt.shrink_to_fit();
            // `dma_direct_unmap_page` per entry: on a coherent machine without swiotlb there
            // is nothing to sync or bounce back.
            mr.stats.dma_unmapped = mr.dma.len() as u64;
            mr.dma.clear();
        }
    }
    mr.stats
}
