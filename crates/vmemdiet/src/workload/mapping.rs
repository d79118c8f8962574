//! The setup every GUP-side workload shares: boot a machine sized for the run, create the
//! memory (a devdax device, a HugeTLB pool, or anonymous memory: base pages, THP, shmem), map
//! it into a fresh address space and touch every page, as gup_test does before it starts the
//! clock.

use crate::addr::{ByteSize, VirtAddr};
use crate::arch::Arch;
use crate::drivers::dax::{DaxRegion, DevDaxSpec, MapMode};
use crate::machine::MachineConfig;
use crate::mm::gup::GupCtx;
use crate::mm::hugetlb::{set_nr_hugepages, HugeSize};
use crate::mm::memory::{ThpAdvice, ThpEnabled};
use crate::mm::profile::Profile;
use crate::mm::vm::Mm;
use crate::mm::vm::VmError;
use crate::mm::Kernel;
use crate::plan::{Kind, PlanConfig, PlanError};
use crate::simulate::{self, SimError};

/// What to map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingSpec {
    pub kind: Kind,
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    /// The architecture of the simulated machine.
    pub arch: Arch,
}

impl MappingSpec {
    /// The plan of this memory.
    #[must_use]
    pub fn plan_config(&self) -> PlanConfig {
        let cfg = PlanConfig::new(self.size, self.align, self.map, self.profile).on_arch(self.arch);
        match self.kind {
            Kind::Devdax => cfg,
            Kind::Hugetlb => cfg.hugetlb(),
            Kind::DevdaxFsdev | Kind::Anon | Kind::Thp | Kind::Shmem => PlanConfig {
                kind: self.kind,
                ..cfg
            },
        }
    }
}

/// Why the mapping could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The machine, device or pool could not be built.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The address space, mmap or prefault failed.
    #[error("setting up the mapping: {0}")]
    Vm(#[from] VmError),
    /// The kind can be planned and simulated but not mapped for GUP yet.
    #[error("{0}: mappings of this kind are not modelled yet (plan and plan --simulate are); use devdax, hugetlb, anon, thp or shmem")]
    NotModelled(Kind),
}

/// A setup failure as the caller's error type.
fn err<E: From<MappingError>>(e: impl Into<MappingError>) -> E {
    E::from(e.into())
}

/// Runs `f` with a prefaulted shared mapping of `spec`: `(kernel, address space, start, len)`.
pub fn with_mapping<R, E: From<MappingError>>(
    spec: &MappingSpec,
    write: bool,
    f: impl FnOnce(&Kernel, &Mm<'_>, VirtAddr, u64) -> Result<R, E>,
) -> Result<R, E> {
    if spec.kind == Kind::DevdaxFsdev {
        return Err(err(MappingError::NotModelled(spec.kind)));
    }
    let cfg = spec.plan_config();
    check_host_budget(spec, &cfg).map_err(err::<E>)?;
    let k = boot(spec, &cfg).map_err(err::<E>)?;
    // The device's region outlives the address space that maps it.
    let mut region = None;
    let mm = Mm::new(&k).map_err(err::<E>)?;
    let (va, len) = map_memory(spec, &k, &mm, &mut region).map_err(err::<E>)?;
    let mut cx = GupCtx::new(&k);
    mm.prefault(&mut cx.memmap, va, len, write)
        .map_err(err::<E>)?;
    f(&k, &mm, va, len)
}

/// Refuses a run whose simulated memmap and page tables would not fit the host's budget.
fn check_host_budget(spec: &MappingSpec, cfg: &PlanConfig) -> Result<(), MappingError> {
    let anon = matches!(spec.kind, Kind::Anon | Kind::Thp | Kind::Shmem);
    let need = if anon {
        // RAM's memmap is mapped at boot and backed where touched: the struct pages of the
        // memory, plus a page table page per 512 pages of the mapping.
        let g = cfg.geometry();
        let pages = spec.size.bytes() / g.page_size();
        ByteSize::new(
            pages
                .saturating_mul(g.struct_page_size)
                .saturating_add(pages / 512 * g.page_size()),
        )
    } else {
        simulate::host_bytes_needed(cfg).map_err(SimError::from)?
    };
    let budget = simulate::host_budget();
    if need > budget {
        return Err(SimError::TooBigForHost {
            need,
            budget,
            advice: "give a smaller size",
        }
        .into());
    }
    Ok(())
}

/// Boots the machine of `cfg`, with a device region of the mapping's size for devdax and none
/// otherwise.
fn boot(spec: &MappingSpec, cfg: &PlanConfig) -> Result<Kernel, MappingError> {
    let device_size = if spec.kind == Kind::Devdax {
        spec.size
    } else {
        ByteSize::new(0)
    };
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(cfg.arch)
            .with_struct_page_size(cfg.struct_page_size)
            .with_ram(cfg.machine_ram())
            .with_device(device_size),
        spec.profile,
    )
    .map_err(SimError::from)?;
    Ok(k)
}

/// Creates the memory of `spec` and maps it shared into `mm`: `(start, len)`. A devdax
/// device's region is kept in `region`.
fn map_memory(
    spec: &MappingSpec,
    k: &Kernel,
    mm: &Mm<'_>,
    region: &mut Option<DaxRegion>,
) -> Result<(VirtAddr, u64), MappingError> {
    match spec.kind {
        Kind::DevdaxFsdev => Err(MappingError::NotModelled(spec.kind)),
        Kind::Anon | Kind::Thp | Kind::Shmem => {
            let advice = if spec.kind == Kind::Thp {
                ThpAdvice::Huge
            } else {
                ThpAdvice::NoHuge
            };
            let shared = spec.kind == Kind::Shmem;
            Ok((
                mm.mmap_anon(spec.size.bytes(), shared, ThpEnabled::default(), advice)?,
                spec.size.bytes(),
            ))
        }
        Kind::Devdax => {
            let r = region.insert(DaxRegion::new(k).map_err(SimError::from)?);
            let dev = r
                .create(
                    k,
                    DevDaxSpec {
                        size: spec.size,
                        align: spec.align,
                        map: spec.map,
                        at: None,
                        driver: crate::drivers::dax::DaxDriver::Device,
                    },
                )
                .map_err(SimError::from)?;
            let len = dev.data_size().bytes();
            Ok((mm.mmap_devdax(dev, 0, len, true)?, len))
        }
        Kind::Hugetlb => map_hugetlb(spec, k, mm),
    }
}

/// A HugeTLB pool of `spec.size` in pages of `spec.align`, mapped whole.
fn map_hugetlb(
    spec: &MappingSpec,
    k: &Kernel,
    mm: &Mm<'_>,
) -> Result<(VirtAddr, u64), MappingError> {
    let g = k.machine.geometry();
    let size = HugeSize::from_align(g, spec.align)
        .ok_or_else(|| SimError::Plan(PlanError::hugetlb_align(spec.arch, spec.align)))?;
    let want = spec.size.bytes() / size.bytes(g).bytes();
    let got = set_nr_hugepages(k, size, want).map_err(SimError::from)?;
    if got != want {
        return Err(SimError::PoolShort { got, want }.into());
    }
    Ok((
        mm.mmap_hugetlb(size, spec.size.bytes(), true)?,
        spec.size.bytes(),
    ))
}
