//! The namespace bootstrap benchmark: time to create and destroy a devdax device, i.e.
//! `memremap_pages` (vmemmap populate + memmap init) and `memunmap_pages` (seeds: ~750 ms →
//! ~190 ms at 2M → ≤ 1 ms at 1G).

use std::time::Instant;

use serde::Serialize;

use crate::addr::ByteSize;
use crate::arch::Arch;
use crate::drivers::dax::{DaxRegion, DevDaxSpec, MapMode};
use crate::machine::MachineConfig;
use crate::mm::profile::Profile;
use crate::mm::sparse_vmemmap::vmemmap_entries_of;
use crate::mm::Kernel;
use crate::plan::PlanConfig;
use crate::simulate::{self, SimError};
use crate::workload::limit::MemLimit;
use crate::workload::median::median_us;

/// One bootstrap configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapConfig {
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    /// The architecture of the simulated machine.
    pub arch: Arch,
    /// Timed runs (after one untimed warm-up run).
    pub runs: u32,
}

impl BootstrapConfig {
    /// The plan of this device: the devdax rules it must pass.
    #[must_use]
    pub fn plan_config(&self) -> PlanConfig {
        PlanConfig::new(self.size, self.align, self.map, self.profile).on_arch(self.arch)
    }
}

/// Medians over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapResult {
    pub size: u64,
    pub align: u64,
    pub map: MapMode,
    pub profile: Profile,
    pub runs: u32,
    /// Median time to create the device (`memremap_pages`).
    pub create_us: f64,
    /// Median time to destroy it (`memunmap_pages`).
    pub destroy_us: f64,
    /// Median time to write `struct_pages_initialized × 64` bytes with plain stores.
    pub limit_us: f64,
    /// Median time to write `vmemmap_entries × 8` bytes with plain stores and to take
    /// `vmemmap_reuse_refs` references on one word: the page-table entries populate stores and
    /// the `get_page` each reused frame's PTE costs, the floor where memmap init writes little
    /// (1G).
    pub limit_pte_us: f64,
    /// `create_us / (limit_us + limit_pte_us)`: how far creation is from the stores it must do.
    pub create_over_limit: f64,
    pub struct_pages_initialized: u64,
    /// Page-table entries mapping the device's struct pages (a shared table counted once).
    pub vmemmap_entries: u64,
    /// Of those, the entries that map a frame an earlier entry maps (each took a `get_page`
    /// on the reused frame).
    pub vmemmap_reuse_refs: u64,
    pub memmap_bytes: u64,
}

/// Runs one configuration; `tick` is called after every run (for progress bars).
pub fn run(cfg: &BootstrapConfig, tick: &mut dyn FnMut()) -> Result<BootstrapResult, SimError> {
    let plan_cfg = cfg.plan_config();
    let need = simulate::host_bytes_needed(&plan_cfg)?;
    let budget = simulate::host_budget();
    if need > budget {
        return Err(SimError::TooBigForHost {
            need,
            budget,
            advice: "give a smaller --size",
        });
    }
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(plan_cfg.arch)
            .with_struct_page_size(plan_cfg.struct_page_size)
            .with_ram(plan_cfg.ram_size)
            .with_device(cfg.size),
        cfg.profile,
    )?;
    let mut region = DaxRegion::new(&k)?;
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.align,
        map: cfg.map,
        at: None,
        driver: crate::drivers::dax::DaxDriver::Device,
    };
    let mut limit = MemLimit::new();
    let (mut create, mut destroy, mut limits) = (Vec::new(), Vec::new(), Vec::new());
    let mut pte_limits = Vec::new();
    let mut cost = None;
    let (mut entries, mut reuse_refs) = (0, 0);
    for run in 0..=cfg.runs {
        let t = Instant::now();
        let dev = region.create(&k, spec)?;
        let c = t.elapsed();
        let (id, this_cost) = (dev.id, dev.cost);
        if run == 0 {
            // Every run builds the same device at the same place: count its entries once.
            let (first, nr) = (dev.pgmap.ranges[0].0, dev.pgmap.nr_pages());
            (entries, reuse_refs) = vmemmap_entries_of(&k, first, nr);
        }
        let t = Instant::now();
        region.destroy(&k, id)?;
        let d = t.elapsed();
        let l =
            limit.write(this_cost.struct_pages_initialized * k.machine.geometry().struct_page_size);
        let lp = limit.write(entries * 8) + limit.atomics(reuse_refs);
        if run > 0 {
            create.push(c);
            destroy.push(d);
            limits.push(l);
            pte_limits.push(lp);
            tick();
        }
        cost = Some(this_cost);
    }
    let cost = cost.unwrap_or_default();
    let (create_us, destroy_us, limit_us) =
        (median_us(create), median_us(destroy), median_us(limits));
    let limit_pte_us = median_us(pte_limits);
    Ok(BootstrapResult {
        size: cfg.size.bytes(),
        align: cfg.align.bytes(),
        map: cfg.map,
        profile: cfg.profile,
        runs: cfg.runs,
        create_us,
        destroy_us,
        limit_us,
        limit_pte_us,
        create_over_limit: if limit_us + limit_pte_us > 0.0 {
            create_us / (limit_us + limit_pte_us)
        } else {
            0.0
        },
        struct_pages_initialized: cost.struct_pages_initialized,
        vmemmap_entries: entries,
        vmemmap_reuse_refs: reuse_refs,
        memmap_bytes: cost.memmap_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::configs::{expand, Options};

    /// The warm-up run is neither timed nor ticked: the progress bar and the medians see
    /// exactly `--runs` runs.
    #[test]
    fn only_the_timed_runs_tick() {
        let cfgs = expand::<BootstrapConfig>(&Options {
            sizes: vec![ByteSize::mib(4)],
            aligns: vec![ByteSize::mib(2)],
            runs: 3,
            ..Options::default()
        })
        .unwrap();
        let mut ticks = 0;
        let r = run(&cfgs[0], &mut || ticks += 1).unwrap();
        assert_eq!((ticks, r.runs), (3, 3));
    }
}
