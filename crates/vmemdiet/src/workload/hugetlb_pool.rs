//! HugeTLB pool growth and shrink time, the cost HVO adds (the HVO v23 cover letter measured
//! `echo 10240 > nr_hugepages` at ~2x slower to allocate and 2–3x slower to free).

use std::time::Instant;

use serde::Serialize;

use crate::addr::ByteSize;
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::machine::MachineConfig;
use crate::mm::hugetlb::{set_nr_hugepages, HugeSize};
use crate::mm::profile::Profile;
use crate::mm::Kernel;
use crate::plan::{PlanConfig, PlanError};
use crate::simulate::{self, SimError};
use crate::workload::median::median_us;

/// One configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub size: ByteSize,
    pub align: ByteSize,
    pub profile: Profile,
    /// The architecture of the simulated machine.
    pub arch: Arch,
    /// Timed runs after one warm-up.
    pub runs: u32,
}

impl PoolConfig {
    /// The plan of this pool: the HugeTLB rules it must pass (2M or 1G pages, memmap in RAM).
    #[must_use]
    pub fn plan_config(&self) -> PlanConfig {
        PlanConfig::new(self.size, self.align, MapMode::Mem, self.profile)
            .hugetlb()
            .on_arch(self.arch)
    }
}

/// Medians over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PoolResult {
    pub size: u64,
    pub align: u64,
    pub profile: Profile,
    pub runs: u32,
    pub pages: u64,
    /// Growing the pool from 0 to `pages`.
    pub alloc_us: f64,
    /// Shrinking it back to 0.
    pub free_us: f64,
    /// Memmap of the pool while it is full, bytes.
    pub memmap_bytes: u64,
}

/// Runs one configuration.
pub fn run(cfg: &PoolConfig, tick: &mut dyn FnMut()) -> Result<PoolResult, SimError> {
    let plan_cfg = cfg.plan_config();
    simulate::check_host(
        simulate::host_bytes_needed(&plan_cfg)?,
        "give a smaller --size",
    )?;
    let size = HugeSize::from_align(plan_cfg.geometry(), cfg.align).ok_or(SimError::Plan(
        PlanError::hugetlb_align(cfg.arch, cfg.align),
    ))?;
    let pages = cfg.size.bytes() / size.bytes(plan_cfg.geometry()).bytes();
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(plan_cfg.arch)
            .with_struct_page_size(plan_cfg.struct_page_size)
            .with_ram(plan_cfg.machine_ram())
            .with_device(ByteSize::new(0)),
        cfg.profile,
    )?;
    let (mut alloc, mut free) = (Vec::new(), Vec::new());
    for run in 0..=cfg.runs {
        let t = Instant::now();
        let got = set_nr_hugepages(&k, size, pages)?;
        let a = t.elapsed();
        if got != pages {
            return Err(SimError::PoolShort { got, want: pages });
        }
        let t = Instant::now();
        set_nr_hugepages(&k, size, 0)?;
        let f = t.elapsed();
        if run > 0 {
            alloc.push(a);
            free.push(f);
            tick();
        }
    }
    let memmap = crate::plan::plan(&plan_cfg)?.memmap_bytes;
    Ok(PoolResult {
        size: cfg.size.bytes(),
        align: cfg.align.bytes(),
        profile: cfg.profile,
        runs: cfg.runs,
        pages,
        alloc_us: median_us(alloc),
        free_us: median_us(free),
        memmap_bytes: memmap,
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
        let cfgs = expand::<PoolConfig>(&Options {
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
