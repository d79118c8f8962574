//! One configuration to plan: the device (or pool), the machine it is added to and the
//! kernel profile, and where the plan places it.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::{DevDaxSpec, MapMode};
use crate::machine::phys_map::{device_region_start, ram_end};
use crate::mm::profile::Profile;

use super::{Kind, PlanError};

/// One configuration to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanConfig {
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    pub arch: Arch,
    /// System RAM of the machine the device is added to (places the device region).
    pub ram_size: ByteSize,
    /// What the memory is: device-dax (the default) or a HugeTLB pool.
    pub kind: Kind,
    /// `sizeof(struct page)`: the arch's 64, or a memdesc what-if (32, 16, 8).
    pub struct_page_size: u64,
}

impl PlanConfig {
    /// The geometry of this plan: the arch's, with the plan's `sizeof(struct page)`.
    ///
    /// # Panics
    /// On a struct page size `plan` would refuse ([`PlanError::StructPageSize`]).
    #[must_use]
    pub fn geometry(&self) -> &'static Geometry {
        self.arch.geometry_with(self.struct_page_size)
    }

    /// A config with the default machine (256 GiB RAM, x86-64).
    #[must_use]
    pub fn new(size: ByteSize, align: ByteSize, map: MapMode, profile: Profile) -> PlanConfig {
        PlanConfig {
            size,
            align,
            map,
            profile,
            arch: Arch::X86_64,
            ram_size: DEFAULT_RAM,
            kind: Kind::Devdax,
            struct_page_size: Arch::X86_64.geometry().struct_page_size,
        }
    }

    /// The same configuration on `arch`'s default machine ([`default_ram`]).
    #[must_use]
    pub fn on_arch(self, arch: Arch) -> PlanConfig {
        PlanConfig {
            arch,
            ram_size: default_ram(arch.geometry()),
            ..self
        }
    }

    /// The same configuration for a HugeTLB pool.
    #[must_use]
    pub fn hugetlb(mut self) -> PlanConfig {
        self.kind = Kind::Hugetlb;
        self
    }

    /// The RAM of the machine this plan runs on: for a HugeTLB pool or anonymous memory,
    /// raised so the memory, its boot memmap and 8 GiB to spare fit.
    #[must_use]
    pub fn machine_ram(&self) -> ByteSize {
        match self.kind {
            Kind::Devdax | Kind::DevdaxFsdev => self.ram_size,
            Kind::Hugetlb | Kind::Anon | Kind::Thp | Kind::Shmem => {
                let g = self.geometry();
                let memmap = self.size.bytes() / g.page_size() * g.struct_page_size;
                // Saturates: a pool too large for 64 bits is refused by the physical limit.
                let need = self
                    .size
                    .checked_add(ByteSize::new(memmap))
                    .and_then(|n| n.checked_add(ByteSize::gib(8)))
                    .and_then(|n| n.checked_align_up(ByteSize::gib(1)))
                    .unwrap_or(ByteSize::new(u64::MAX).align_down(ByteSize::gib(1)));
                self.ram_size.max(need)
            }
        }
    }

    /// Where a HugeTLB pool of this plan lies: huge pages are taken from the top of RAM down.
    #[must_use]
    pub fn hugetlb_pool(&self) -> (PhysAddr, PhysAddr) {
        let g = self.geometry();
        let end = ram_end(g, self.machine_ram())
            .unwrap_or(PhysAddr::new(u64::MAX))
            .align_down(self.align);
        (
            PhysAddr::new(end.as_u64().saturating_sub(self.size.bytes())),
            end,
        )
    }
}

/// How errors name a configuration: `1 TiB at align 2M (v6.15, map=mem)`, with the kind and
/// architecture when they are not the defaults.
impl std::fmt::Display for PlanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.kind != Kind::Devdax {
            write!(f, "{} ", self.kind)?;
        }
        write!(
            f,
            "{} at align {} ({}, map={}",
            self.size,
            self.align.short(),
            self.profile,
            self.map
        )?;
        if self.arch != Arch::default() {
            write!(f, ", {}", self.arch)?;
        }
        if self.struct_page_size != self.arch.geometry().struct_page_size {
            write!(f, ", {}-byte struct page", self.struct_page_size)?;
        }
        f.write_str(")")
    }
}

/// The RAM of the default machine, where the arch's physical reach allows it
/// ([`default_ram`]).
pub const DEFAULT_RAM: ByteSize = ByteSize::gib(256);

/// The RAM of the default machine on the arch of `g`: [`DEFAULT_RAM`], or a quarter of the
/// physical address space the arch describes with struct pages where that is smaller (riscv
/// Sv39: 64 GiB of its 256 GiB), so RAM, the hole below it and a device region at least as
/// large as RAM all fit. Every command that takes `--arch` starts from this machine.
#[must_use]
pub fn default_ram(g: &Geometry) -> ByteSize {
    let quarter = ByteSize::new(g.max_phys().as_u64() / 4).align_down(g.section_size());
    DEFAULT_RAM.min(quarter.max(g.platform.min_ram))
}

/// The namespace size `plan` asks about by default on the arch of `g` with `ram` of RAM:
/// 1 TiB, or where that ends beyond the arch's reach, the largest power of two that fits in
/// the device region (riscv Sv39: 128 GiB).
#[must_use]
pub fn default_size(g: &Geometry, ram: ByteSize) -> ByteSize {
    let tib = ByteSize::tib(1);
    let room = device_region_start(g, ram).map_or(0, |start| {
        g.max_phys().as_u64().saturating_sub(start.as_u64())
    });
    if room >= tib.bytes() || room == 0 {
        tib
    } else {
        ByteSize::new(1 << room.ilog2())
    }
}

/// The device of a plan, placed at the start of its machine's device region.
pub(super) fn placed(cfg: &PlanConfig) -> Result<(PhysAddr, DevDaxSpec), PlanError> {
    let g = cfg.geometry();
    let start = device_start(cfg).ok_or_else(|| PlanError::RamTooLarge {
        what: format!("--ram {}", cfg.ram_size),
        end: ram_end(g, cfg.ram_size),
        limit: ByteSize::new(g.max_phys().as_u64()),
        arch: cfg.arch,
        flag: "--ram",
    })?;
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.align,
        map: cfg.map,
        at: Some(start),
        driver: cfg.kind.dax_driver(),
    };
    Ok((start, spec))
}

/// Where a plan places the device: at the start of the device region of its machine.
#[must_use]
pub fn device_start(cfg: &PlanConfig) -> Option<PhysAddr> {
    device_region_start(cfg.geometry(), cfg.ram_size)
}
