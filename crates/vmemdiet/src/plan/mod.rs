//! The closed-form planner: what a device's (or a HugeTLB pool's) memmap costs, by arithmetic
//! alone, for any size the architecture can address. It mirrors the simulation rule for rule
//! (one populate strategy per section chunk, the nd_pfn reserve, page tables per level), and a
//! test checks that both agree on every count (INV-5).
//!
//! One module per kind ([`devdax`](self) for device-dax and its fsdev variant, `hugetlb` for a
//! HugeTLB pool) and per rule shared between kinds: `capacity` (ndctl and `nd_pfn_init`),
//! `altmap` (the `--map=dev` bump allocator), `blocks` (page-table spans). The request/answer
//! API over it, which also simulates, is [`crate::planner`].

mod altmap;
mod blocks;
pub mod boot_ram;
mod capacity;
mod config;
mod devdax;
mod error;
mod hugetlb;
mod kind;
pub mod kmem;
mod row;
pub mod zone_device;

pub use capacity::{capacity, namespace_capacity, smallest_namespace, Capacity};
use config::placed;
pub use config::{default_ram, default_size, device_start, PlanConfig, DEFAULT_RAM};
pub use error::PlanError;
pub use kind::Kind;
pub use row::PlanRow;

use crate::drivers::dax::MemmapCost;

/// Plans one configuration.
pub fn plan(cfg: &PlanConfig) -> Result<MemmapCost, PlanError> {
    plan_frames(cfg).map(|(cost, _)| cost)
}

/// Plans one configuration; also returns the memmap frames that live on the device (altmap),
/// which a simulation must back with host memory too.
pub fn plan_frames(cfg: &PlanConfig) -> Result<(MemmapCost, u64), PlanError> {
    if !crate::arch::STRUCT_PAGE_SIZES.contains(&cfg.struct_page_size) {
        return Err(PlanError::StructPageSize(cfg.struct_page_size));
    }
    match cfg.kind {
        Kind::Hugetlb => hugetlb::plan_hugetlb(cfg).map(|c| (c, 0)),
        Kind::Anon | Kind::Thp | Kind::Shmem => Err(PlanError::RamKind(cfg.kind)),
        Kind::Devdax | Kind::DevdaxFsdev => devdax::plan_devdax(cfg),
    }
}

#[cfg(test)]
mod tests;
