//! Memory hotplug time: a CXL device hot-added through dax_kmem, onlined and removed, with and
//! without memmap_on_memory. Hot-add maps the vmemmap (its frames are not zeroed: x86's
//! `vmemmap_alloc_block` asks for no `__GFP_ZERO`); online initialises every struct page, so
//! its least cost is writing 64 bytes per page, timed in the same run.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::Arch;
use crate::drivers::dax_kmem::{self, KmemSetup};
use crate::mm::memory_hotplug::{MemmapOnMemory, OnlineZone};
use crate::mm::profile::Profile;
use crate::plan::kmem::KmemConfig;
use crate::simulate::device::{boot_for_kmem, check_teardown};
use crate::simulate::SimError;
use crate::workload::limit::MemLimit;
use crate::workload::median::median_us;

/// One configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotplugConfig {
    pub size: ByteSize,
    pub param: MemmapOnMemory,
    pub profile: Profile,
    pub arch: Arch,
    pub ram: ByteSize,
    pub block_size: Option<ByteSize>,
    /// Timed runs after one warm-up.
    pub runs: u32,
}

impl HotplugConfig {
    /// The device: CXL, so memmap_on_memory is asked for wherever the boot parameter allows.
    #[must_use]
    pub fn kmem(&self) -> KmemConfig {
        KmemConfig {
            param: self.param,
            profile: self.profile,
            arch: self.arch,
            ram_size: self.ram,
            block_size: self.block_size,
            ..KmemConfig::new(self.size)
        }
    }
}

impl std::fmt::Display for HotplugConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} memmap_on_memory={} ({})",
            self.size, self.param, self.profile
        )
    }
}

/// Medians over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HotplugResult {
    pub size: u64,
    pub memmap_on_memory: MemmapOnMemory,
    pub profile: Profile,
    pub runs: u32,
    pub blocks: u64,
    /// Each block hosted its own memmap.
    pub self_hosted: bool,
    /// dax_kmem probe: block alignment and hot-add (vmemmap populate).
    pub add_us: f64,
    /// Onlining every block (struct page init, zone counts).
    pub online_us: f64,
    /// Offlining and removing every block (vmemmap freed).
    pub remove_us: f64,
    /// Writing `struct_pages × 64` bytes with plain stores, timed in the same run: the least
    /// online (initialising every struct page) can take.
    pub limit_us: f64,
    pub memmap_bytes: u64,
    pub device_memmap_bytes: u64,
}

/// Runs one configuration; every run gives every frame back (INV-1) or fails.
///
/// # Errors
/// A device the planner refuses, a machine too large for this host, or frames left behind.
pub fn run(cfg: &HotplugConfig, tick: &mut dyn FnMut()) -> Result<HotplugResult, SimError> {
    let kc = cfg.kmem();
    let (plan, k) = boot_for_kmem(&kc)?;
    let g = kc.geometry();
    let setup = KmemSetup {
        block: kc.block(),
        param: cfg.param,
        device_mom: true,
        release: cfg.profile.kernel(),
    };
    let before = k.machine.frames().usage();
    let mut limit = MemLimit::new();
    let (mut add, mut online, mut remove, mut floor) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut self_hosted = false;
    for run in 0..=cfg.runs {
        let t = Instant::now();
        let mut dev = dax_kmem::probe(
            &k,
            PhysAddr::new(plan.range_start),
            plan.range_bytes,
            &setup,
        )
        .map_err(|e| SimError::Capacity(e.to_string()))?;
        let a = t.elapsed();
        let t = Instant::now();
        dev.online(&k, OnlineZone::Movable)
            .map_err(|e| SimError::Capacity(e.to_string()))?;
        let o = t.elapsed();
        self_hosted = dev.memmap_on_memory;
        let t = Instant::now();
        dev.remove(&k)
            .map_err(|e| SimError::Capacity(e.to_string()))?;
        let r = t.elapsed();
        check_teardown(&k, &before)?;
        let l: Duration = limit.write(plan.struct_pages * g.struct_page_size);
        if run > 0 {
            add.push(a);
            online.push(o);
            remove.push(r);
            floor.push(l);
            tick();
        }
    }
    Ok(HotplugResult {
        size: cfg.size.bytes(),
        memmap_on_memory: cfg.param,
        profile: cfg.profile,
        runs: cfg.runs,
        blocks: plan.blocks,
        self_hosted,
        add_us: median_us(add),
        online_us: median_us(online),
        remove_us: median_us(remove),
        limit_us: median_us(floor),
        memmap_bytes: plan.memmap_bytes,
        device_memmap_bytes: plan.device_memmap_bytes,
    })
}
