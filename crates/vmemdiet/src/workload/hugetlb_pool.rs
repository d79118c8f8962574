//! HugeTLB pool growth and shrink time, the cost HVO adds (the HVO v23 cover letter measured
//! `echo 10240 > nr_hugepages` at ~2x slower to allocate and 2–3x slower to free).

use std::time::{Duration, Instant};

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
        PlanConfig {
            arch: self.arch,
            ..PlanConfig::new(self.size, self.align, MapMode::Mem, self.profile).hugetlb()
        }
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

fn median_us(mut v: Vec<Duration>) -> f64 {
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let mid = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    };
    mid.as_secs_f64() * 1e6
}

/// Runs one configuration.
pub fn run(cfg: &PoolConfig, tick: &mut dyn FnMut()) -> Result<PoolResult, SimError> {
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

    /// The median of runs of `v` microseconds, in microseconds.
    fn of(v: &[u64]) -> f64 {
        median_us(v.iter().map(|&n| Duration::from_micros(n)).collect())
    }

    fn assert_near(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-6, "{got} != {want}");
    }

    #[test]
    fn median_of_runs_in_us_for_odd_even_unsorted_and_no_runs() {
        // Odd count: the middle run after sorting, not the middle of the input order.
        assert_near(of(&[5, 1, 3]), 3.0);
        assert_near(of(&[7]), 7.0);
        // Even count: the mean of the two middle runs, as the other benchmarks report it.
        assert_near(of(&[4, 1, 3, 2]), 2.5);
        assert_near(of(&[1000, 1]), 500.5);
        assert_near(of(&[]), 0.0);
    }
}
