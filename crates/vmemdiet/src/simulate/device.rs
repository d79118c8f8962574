//! `plan --simulate` for device memory beyond device-dax: dax_kmem hot-add and online, and
//! `memremap_pages` of GPU and PCI memory, performed on a simulated machine, measured, and
//! torn down with every frame given back (INV-1).

use crate::addr::{ByteSize, Pfn, PhysAddr};
use crate::drivers::dax_kmem::{self, KmemSetup};
use crate::machine::phys_map::device_region_start;
use crate::machine::MachineConfig;
use crate::mm::memremap::{memremap_pages, memunmap_pages, MemoryType, PagemapParams};
use crate::mm::page::{Memmap, PagePtr};
use crate::mm::Kernel;
use crate::plan::kmem::{plan_kmem, KmemConfig, KmemPlan};
use crate::plan::zone_device::{
    plan_zone_device, ZoneDeviceConfig, ZoneDevicePlan, ZoneDeviceType,
};

use super::SimError;

/// Bytes of host memory per simulated frame the frame store tracks for RAM.
const FRAME_INFO_BYTES: u64 = 8;

/// Refuses a simulation whose memmap, page tables and RAM bookkeeping exceed the host budget.
pub(crate) fn check_budget(
    memmap: u64,
    tables: u64,
    ram: ByteSize,
    g: &crate::arch::Geometry,
) -> Result<(), SimError> {
    let bookkeeping = ram.bytes() / g.page_size() * FRAME_INFO_BYTES;
    let need = ByteSize::new(memmap.saturating_add(tables).saturating_add(bookkeeping));
    super::check_host(
        need,
        "drop --simulate to use the planner, or give a smaller --size or --ram",
    )
}

/// The plan of a kmem device and a booted machine whose device region holds it.
///
/// # Errors
/// What the planner refuses, or a machine too large for this host.
pub(crate) fn boot_for_kmem(cfg: &KmemConfig) -> Result<(KmemPlan, Kernel), SimError> {
    let plan = plan_kmem(cfg)?;
    check_budget(
        plan.memmap_bytes + plan.device_memmap_bytes,
        plan.pagetable_bytes,
        cfg.ram_size,
        cfg.geometry(),
    )?;
    let end = plan.range_start + plan.range_bytes;
    let k = boot_for(cfg.arch, cfg.ram_size, plan.range_start, end, cfg.profile)?;
    Ok((plan, k))
}

/// A machine whose device region reaches `end`, for devices placed at or above its start.
fn boot_for(
    cfg_arch: crate::arch::Arch,
    ram: ByteSize,
    start: u64,
    end: u64,
    profile: crate::mm::profile::Profile,
) -> Result<Kernel, SimError> {
    let g = cfg_arch.geometry();
    let region = device_region_start(g, ram).map_or(u64::MAX, PhysAddr::as_u64);
    if start < region {
        return Err(SimError::Capacity(format!(
            "the simulated machine keeps devices in its device region from {}; give a start at or above it",
            PhysAddr::new(region)
        )));
    }
    let config = MachineConfig::default()
        .with_arch(cfg_arch)
        .with_ram(ram)
        .with_device(ByteSize::new(end - region));
    Ok(Kernel::boot(config, profile)?)
}

/// Simulates dax_kmem on `cfg`: probe (block alignment, hot-add per block with an altmap
/// where memmap_on_memory is in effect), online every block, measure, then offline and
/// remove, checking that every frame came back.
///
/// # Errors
/// What the planner refuses, a machine too large for this host, or frames left behind.
pub fn simulate_kmem(cfg: &KmemConfig) -> Result<KmemPlan, SimError> {
    let (plan, k) = boot_for_kmem(cfg)?;
    let g = cfg.geometry();
    let before = k.machine.frames().usage();
    let counter = k.nr_memmap_pages();
    let setup = KmemSetup {
        block: cfg.block(),
        param: cfg.param,
        device_mom: cfg
            .device_mom
            .unwrap_or(cfg.source.default_memmap_on_memory()),
        release: cfg.profile.kernel(),
    };
    let mut dev = dax_kmem::probe(
        &k,
        PhysAddr::new(plan.range_start),
        plan.range_bytes,
        &setup,
    )
    .map_err(|e| SimError::Capacity(e.to_string()))?;
    dev.online(&k, cfg.zone)
        .map_err(|e| SimError::Capacity(e.to_string()))?;
    let after = k.machine.frames().usage();
    let usable = k.zones.managed(cfg.zone) * g.page_size();
    let (first, nr) = dev.blocks.first().map_or((Pfn::new(0), 0), |b| {
        (b.start, dev.blocks.len() as u64 * b.nr_pages)
    });
    let (h2, h1) = (
        plan.hugetlb_2m_pages
            .map(|_| free_windows(&k, first, nr, ByteSize::mib(2))),
        plan.hugetlb_1g_pages
            .map(|_| free_windows(&k, first, nr, ByteSize::gib(1))),
    );
    // Every count from the machine; only the driver's input range and the planner's
    // explanations are the plan's, so planner = simulation compares what was measured.
    let measured = KmemPlan {
        range_start: plan.range_start,
        range_bytes: plan.range_bytes,
        added_start: g.pfn_to_phys(first).as_u64(),
        added_bytes: nr * g.page_size(),
        block_size: setup.block.bytes(),
        blocks: dev.blocks.len() as u64,
        memmap_on_memory: dev.memmap_on_memory,
        dram_reason: plan.dram_reason.clone(),
        mom_refused: plan.mom_refused,
        usable_bytes: usable,
        memmap_bytes: (after.memmap_ram() - before.memmap_ram()) * g.page_size(),
        device_memmap_bytes: (after.memmap_device() - before.memmap_device()) * g.page_size(),
        stranded_bytes: cfg.size.bytes() - nr * g.page_size(),
        device_bytes: cfg.size.bytes() - usable,
        pagetable_bytes: after.pagetable_bytes() - before.pagetable_bytes(),
        struct_pages: k.struct_pages_initialized(),
        nr_memmap_pages: crate::drivers::dax::delta(k.nr_memmap_pages(), counter)
            .and_then(|d| u64::try_from(d).ok()),
        hugetlb_2m_pages: h2,
        hugetlb_1g_pages: h1,
        hvo: !vmemmap_self_hosted(&k, first)
            && g.features.hvo(cfg.profile.kernel())
            && cfg.profile.switches_on(g).hvo != crate::mm::profile::Hvo::Off,
    };
    dev.remove(&k)
        .map_err(|e| SimError::Capacity(e.to_string()))?;
    check_teardown(&k, &before)?;
    Ok(measured)
}

/// `vmemmap_pmd_entry`'s test: is the frame that holds the struct page of `pfn` itself a
/// self-hosted vmemmap page (so HVO skips every folio there)?
fn vmemmap_self_hosted(k: &Kernel, pfn: Pfn) -> bool {
    let g = k.machine.geometry();
    let va = g.pfn_to_page_va(pfn);
    let Some(leaf) = k.machine.kernel_pt().lookup(va.align_down(g.page_size())) else {
        return false;
    };
    let mut memmap = Memmap::new(&k.machine);
    memmap
        .page(PagePtr::from_pfn(g, leaf.pfn()))
        .is_ok_and(|p| p.vmemmap_self_hosted())
}

/// Naturally aligned windows of `size` in `[first, first + nr)` whose every struct page is
/// online memory the buddy got (not a self-hosted vmemmap page): the huge pages the blocks
/// can still give. Reads each struct page through the vmemmap.
fn free_windows(k: &Kernel, first: Pfn, nr: u64, size: ByteSize) -> u64 {
    let g = k.machine.geometry();
    let per = size.bytes() / g.page_size();
    let mut memmap = Memmap::new(&k.machine);
    let mut count = 0;
    let mut pfn = first.align_up(per);
    while pfn.as_u64() + per <= first.as_u64() + nr {
        let free = (0..per).all(|i| {
            memmap
                .page(PagePtr::from_pfn(g, pfn.add(i)))
                .is_ok_and(|p| !p.vmemmap_self_hosted())
        });
        count += u64::from(free);
        pfn = pfn.add(per);
    }
    count
}

/// INV-1: after teardown every memmap and page-table frame is back.
pub(crate) fn check_teardown(
    k: &Kernel,
    before: &crate::machine::frame_store::FrameUsage,
) -> Result<(), SimError> {
    let end = k.machine.frames().usage();
    if end.memmap_ram() != before.memmap_ram()
        || end.memmap_device() != before.memmap_device()
        || end.pagetable() != before.pagetable()
    {
        return Err(SimError::Leak(format!("before {before:?}, after {end:?}")));
    }
    Ok(())
}

/// Simulates a driver registering `cfg` with `memremap_pages`, measures its memmap, and
/// unregisters it.
///
/// # Errors
/// What the planner refuses, a range `memremap_pages` refuses, or frames left behind.
pub fn simulate_zone_device(cfg: &ZoneDeviceConfig) -> Result<ZoneDevicePlan, SimError> {
    let plan = plan_zone_device(cfg)?;
    let g = cfg.arch.geometry();
    check_budget(plan.memmap_bytes, plan.pagetable_bytes, cfg.ram_size, g)?;
    let end = plan.start + plan.registered_bytes;
    let config = MachineConfig::default()
        .with_arch(cfg.arch)
        .with_ram(cfg.ram_size)
        .with_device(ByteSize::new(0));
    let k = Kernel::boot(config, cfg.profile)?;
    let before = k.machine.frames().usage();
    let counter = k.nr_memmap_pages();
    let ty = match cfg.ty {
        ZoneDeviceType::Private => MemoryType::Private,
        ZoneDeviceType::Coherent => MemoryType::Coherent,
        ZoneDeviceType::P2pdma => MemoryType::PciP2pdma,
    };
    let order = if cfg.profile.is_next() && cfg.folio.is_some_and(|f| f == g.pmd_size()) {
        crate::addr::Order::new(g.pmd_order())
    } else {
        crate::addr::Order::new(0)
    };
    let pgmap = memremap_pages(
        &k,
        PagemapParams {
            ty,
            ranges: vec![(
                Pfn::new(plan.start / g.page_size()),
                Pfn::new(end / g.page_size()),
            )],
            vmemmap_shift: order,
            altmap: None,
        },
    )
    .map_err(|e| SimError::Capacity(e.to_string()))?;
    let after = k.machine.frames().usage();
    let measured = ZoneDevicePlan {
        start: g.pfn_to_phys(pgmap.ranges[0].0).as_u64(),
        registered_bytes: pgmap.nr_pages() * g.page_size(),
        memmap_bytes: (after.memmap_ram() - before.memmap_ram()) * g.page_size(),
        pagetable_bytes: after.pagetable_bytes() - before.pagetable_bytes(),
        struct_pages: pgmap.nr_pages(),
        nr_memmap_pages: crate::drivers::dax::delta(k.nr_memmap_pages(), counter)
            .and_then(|d| u64::try_from(d).ok()),
        direct_map: pgmap.ty != MemoryType::Private,
    };
    memunmap_pages(&k, &pgmap).map_err(|e| SimError::Capacity(e.to_string()))?;
    check_teardown(&k, &before)?;
    Ok(measured)
}
