//! One planned (or simulated) configuration as `vmemdiet plan --json` prints it.

use serde::Serialize;

use crate::arch::Arch;
use crate::drivers::dax::{MapMode, MemmapCost};
use crate::mm::profile::Profile;

use super::{capacity, Capacity, PlanConfig};

/// One planned (or simulated) configuration, as `vmemdiet plan --json` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    pub size: u64,
    pub align: u64,
    pub map: MapMode,
    pub profile: Profile,
    pub arch: Arch,
    pub memmap_bytes: u64,
    pub pagetable_bytes: u64,
    pub device_bytes: u64,
    pub struct_pages: u64,
    pub struct_pages_initialized: u64,
    /// `/proc/vmstat` `nr_memmap_pages` as the profile's kernel reports it (null: no counter).
    pub nr_memmap_pages: Option<u64>,
    /// How `/proc/vmstat` `nr_memmap_boot_pages` changes (negative: boot memmap given back).
    pub nr_memmap_boot_pages: Option<i64>,
    /// `sizeof(struct page)` the row assumes (64, or a memdesc what-if).
    pub struct_page_size: u64,
    pub simulated: bool,
    /// The dax device a namespace of `size` yields (`nd_pfn_init`; null for a configuration
    /// no pmem namespace can have). A HugeTLB pool is usable whole.
    pub usable_bytes: Option<u64>,
    /// `size − usable_bytes`: info block, alignment padding, end truncation and with
    /// `--map=dev` the memmap.
    pub reserve_bytes: Option<u64>,
}

impl PlanRow {
    /// A row from a config and its counts.
    #[must_use]
    pub fn new(cfg: &PlanConfig, c: MemmapCost, simulated: bool) -> PlanRow {
        PlanRow {
            size: cfg.size.bytes(),
            align: cfg.align.bytes(),
            map: cfg.map,
            profile: cfg.profile,
            arch: cfg.arch,
            memmap_bytes: c.memmap_bytes,
            pagetable_bytes: c.pagetable_bytes,
            device_bytes: c.device_bytes,
            struct_pages: c.struct_pages,
            struct_pages_initialized: c.struct_pages_initialized,
            nr_memmap_pages: c.nr_memmap_pages,
            nr_memmap_boot_pages: c.nr_memmap_boot_pages,
            struct_page_size: cfg.struct_page_size,
            simulated,
            usable_bytes: None,
            reserve_bytes: None,
        }
        .with_capacity(capacity(cfg).ok())
    }

    /// The row with `c` as its capacity (a simulation's measured one, or none).
    #[must_use]
    pub fn with_capacity(mut self, c: Option<Capacity>) -> PlanRow {
        self.usable_bytes = c.map(|c| c.usable_bytes);
        self.reserve_bytes = c.map(|c| c.reserve_bytes);
        self
    }

    /// The counts of this row.
    #[must_use]
    pub fn cost(&self) -> MemmapCost {
        MemmapCost {
            memmap_bytes: self.memmap_bytes,
            pagetable_bytes: self.pagetable_bytes,
            device_bytes: self.device_bytes,
            struct_pages: self.struct_pages,
            struct_pages_initialized: self.struct_pages_initialized,
            nr_memmap_pages: self.nr_memmap_pages,
            nr_memmap_boot_pages: self.nr_memmap_boot_pages,
        }
    }
}
