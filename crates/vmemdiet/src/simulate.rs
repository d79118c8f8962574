//! `plan --simulate`: build a configuration for real on a simulated machine and measure it.

use crate::addr::ByteSize;
use crate::drivers::dax::{DaxError, DaxRegion, DevDaxSpec, MemmapCost};
use crate::machine::MachineConfig;
use crate::mm::{BootError, Kernel};
use crate::plan::{self, PlanConfig, PlanError};

/// Errors of a simulation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error(transparent)]
    Dax(#[from] DaxError),
    #[error("simulating this needs about {need} of host memory for the memmap, more than the {budget} this machine can spare; drop --simulate to use the planner, or simulate a smaller --size")]
    TooBigForHost { need: ByteSize, budget: ByteSize },
    #[error("teardown left frames behind: {0}")]
    Leak(String),
}

/// Host memory a simulation of `cfg` will make resident: every memmap and page-table frame it
/// backs, on RAM or on the device.
pub fn host_bytes_needed(cfg: &PlanConfig) -> Result<ByteSize, PlanError> {
    let (c, device_frames) = plan::plan_frames(cfg)?;
    // With --map=dev the memmap frames are backed too (they just live at device addresses).
    let page = cfg.arch.geometry().page_size();
    Ok(ByteSize(
        c.memmap_bytes + c.pagetable_bytes + device_frames * page,
    ))
}

/// Host memory this process may use for simulated frames: 3/4 of `MemAvailable`.
#[must_use]
pub fn host_budget() -> ByteSize {
    let avail = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(ByteSize::gib(8), |kb| ByteSize(kb * 1024));
    ByteSize(avail.0 / 4 * 3)
}

/// Boots a machine sized for `cfg`, creates the device, measures it, destroys it and checks
/// that every frame came back (INV-1).
pub fn simulate(cfg: &PlanConfig) -> Result<MemmapCost, SimError> {
    let need = host_bytes_needed(cfg)?;
    let budget = host_budget();
    if need > budget {
        return Err(SimError::TooBigForHost { need, budget });
    }
    let k = Kernel::boot(
        MachineConfig {
            arch: cfg.arch,
            ram_size: cfg.ram_size,
            device_size: cfg.size,
        },
        cfg.profile,
    )?;
    let mut region = DaxRegion::new(&k)?;
    let before = k.machine.frames.free_lists();
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.align,
        map: cfg.map,
        at: None,
    };
    let dev = region.create(&k, spec)?;
    let (id, cost) = (dev.id, dev.cost);
    region.destroy(&k, id)?;
    if k.machine.frames.free_lists() != before {
        return Err(SimError::Leak(format!("{:?}", k.machine.frames.usage())));
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::dax::MapMode;
    use crate::mm::profile::Profile;

    #[test]
    fn host_memory_estimate_counts_device_backed_memmap_frames() {
        let tib = ByteSize::tib(1);
        let cfg = PlanConfig::new(tib, ByteSize::gib(1), MapMode::Dev, Profile::Next);
        // 1024 head frames on the device, one shared tail frame, page tables.
        assert!(host_bytes_needed(&cfg).unwrap() < ByteSize::mib(64));
        let cfg = PlanConfig::new(tib, ByteSize::mib(2), MapMode::Dev, Profile::V6_15);
        assert!(host_bytes_needed(&cfg).unwrap() >= ByteSize::gib(16));
        let cfg = PlanConfig::new(tib, ByteSize::gib(1), MapMode::Mem, Profile::V6_15);
        assert_eq!(
            host_bytes_needed(&cfg).unwrap(),
            ByteSize((8 << 20) + (32 << 20) + 16 * 4096)
        );
    }
}
