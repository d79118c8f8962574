//! The setup every GUP-side workload shares: boot a machine sized for the run, create the
//! memory (a devdax device, or a HugeTLB pool), map it shared into a fresh address space and
//! touch every page, as gup_test does before it starts the clock.

use crate::addr::{ByteSize, VirtAddr};
use crate::drivers::dax::{DaxRegion, DevDaxSpec, MapMode};
use crate::machine::MachineConfig;
use crate::mm::gup::GupCtx;
use crate::mm::hugetlb::{set_nr_hugepages, HugeSize};
use crate::mm::profile::Profile;
use crate::mm::vm::Mm;
use crate::mm::Kernel;
use crate::plan::{Kind, PlanConfig, PlanError};
use crate::simulate::{self, SimError};
use crate::workload::gup::GupBenchError;

/// What to map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingSpec {
    pub kind: Kind,
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
}

impl MappingSpec {
    /// The plan of this memory.
    #[must_use]
    pub fn plan_config(&self) -> PlanConfig {
        let cfg = PlanConfig::new(self.size, self.align, self.map, self.profile);
        match self.kind {
            Kind::Devdax => cfg,
            Kind::Hugetlb => cfg.hugetlb(),
        }
    }
}

fn setup_err(e: impl std::fmt::Display) -> GupBenchError {
    GupBenchError::Setup(e.to_string())
}

/// Runs `f` with a prefaulted shared mapping of `spec`: `(kernel, address space, start, len)`.
pub fn with_mapping<R>(
    spec: &MappingSpec,
    write: bool,
    f: impl FnOnce(&Kernel, &Mm<'_>, VirtAddr, u64) -> Result<R, GupBenchError>,
) -> Result<R, GupBenchError> {
    let cfg = spec.plan_config();
    let need = simulate::host_bytes_needed(&cfg).map_err(SimError::from)?;
    let budget = simulate::host_budget();
    if need > budget {
        return Err(SimError::TooBigForHost { need, budget }.into());
    }
    let device_size = if spec.kind == Kind::Devdax {
        spec.size
    } else {
        ByteSize::new(0)
    };
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(cfg.arch)
            .with_ram(cfg.machine_ram())
            .with_device(device_size),
        spec.profile,
    )
    .map_err(SimError::from)?;
    let mut region = None;
    let mm = Mm::new(&k).map_err(setup_err)?;
    let (va, len) = match spec.kind {
        Kind::Devdax => {
            let r = region.insert(DaxRegion::new(&k).map_err(SimError::from)?);
            let dev = r
                .create(
                    &k,
                    DevDaxSpec {
                        size: spec.size,
                        align: spec.align,
                        map: spec.map,
                        at: None,
                    },
                )
                .map_err(SimError::from)?;
            let len = dev.data_size().bytes();
            (mm.mmap_devdax(dev, 0, len, true).map_err(setup_err)?, len)
        }
        Kind::Hugetlb => {
            let size = HugeSize::from_align(spec.align)
                .ok_or(SimError::Plan(PlanError::HugetlbAlign(spec.align)))?;
            let want = spec.size.bytes() / size.bytes().bytes();
            let got = set_nr_hugepages(&k, size, want).map_err(SimError::from)?;
            if got != want {
                return Err(SimError::PoolShort { got, want }.into());
            }
            (
                mm.mmap_hugetlb(size, spec.size.bytes(), true)
                    .map_err(setup_err)?,
                spec.size.bytes(),
            )
        }
    };
    let mut cx = GupCtx::new(&k);
    mm.prefault(&mut cx.memmap, va, len, write)
        .map_err(setup_err)?;
    f(&k, &mm, va, len)
}
