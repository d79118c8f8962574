//! `plan --simulate`: build a configuration for real on a simulated machine and measure it.

pub mod device;

use crate::addr::ByteSize;
use crate::drivers::dax::{DaxError, DaxRegion, DevDax, DevDaxSpec, MemmapCost};
use crate::machine::MachineConfig;
use crate::mm::hugetlb::{set_nr_hugepages, HugeSize, HugetlbError};
use crate::mm::sparse_vmemmap::memmap_frames_of;
use crate::mm::vm::Mm;
use crate::mm::{BootError, Kernel};
use crate::plan::{self, Capacity, Kind, PlanConfig, PlanError};

/// Errors of a simulation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error(transparent)]
    Dax(#[from] DaxError),
    #[error("this needs about {need} of host memory, more than the {budget} this machine can spare (3/4 of MemAvailable); {advice}")]
    TooBigForHost {
        need: ByteSize,
        budget: ByteSize,
        advice: &'static str,
    },
    #[error("teardown left frames behind: {0}")]
    Leak(String),
    #[error(transparent)]
    Hugetlb(#[from] HugetlbError),
    #[error("the pool reached {got} of {want} huge pages")]
    PoolShort { got: u64, want: u64 },
    #[error("the device's capacity does not match its mappings: {0}")]
    Capacity(String),
}

/// Bytes of bookkeeping the frame store keeps per frame it tracks (`FrameInfo`).
const FRAME_INFO_BYTES: u64 = 8;

/// Host memory a simulation of `cfg` will make resident: every memmap and page-table frame it
/// backs, on RAM or on the device, and the frame store's bookkeeping for the boot memmap of
/// the machine's RAM (a few bytes per frame, which grows with `--ram`).
pub fn host_bytes_needed(cfg: &PlanConfig) -> Result<ByteSize, PlanError> {
    let (c, device_frames) = plan::plan_frames(cfg)?;
    let g = cfg.geometry();
    let page = g.page_size();
    let boot_memmap_frames = cfg.machine_ram().bytes() / page * g.struct_page_size / page;
    let bookkeeping = boot_memmap_frames.saturating_mul(FRAME_INFO_BYTES);
    let frames = if cfg.kind == Kind::Hugetlb {
        // Every struct page of the pool is written before HVO frees most of their frames.
        c.struct_pages.saturating_mul(g.struct_page_size)
    } else {
        // With --map=dev the memmap frames are backed too (at device addresses).
        c.memmap_bytes
            .saturating_add(device_frames.saturating_mul(page))
    };
    Ok(ByteSize::new(
        frames
            .saturating_add(c.pagetable_bytes)
            .saturating_add(bookkeeping),
    ))
}

/// Refuses a simulation that needs more host memory than [`host_budget`], with `advice`.
pub(crate) fn check_host(need: ByteSize, advice: &'static str) -> Result<(), SimError> {
    let budget = host_budget();
    if need > budget {
        return Err(SimError::TooBigForHost {
            need,
            budget,
            advice,
        });
    }
    Ok(())
}

/// Host memory this process may use for simulated frames: 3/4 of `MemAvailable`.
#[must_use]
pub fn host_budget() -> ByteSize {
    budget_of_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default())
}

/// 3/4 of the `MemAvailable` line of a `/proc/meminfo` text; 3/4 of 8 GiB if it has none.
fn budget_of_meminfo(meminfo: &str) -> ByteSize {
    let avail = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok()?.checked_mul(1024))
        .map_or(ByteSize::gib(8), ByteSize::new);
    ByteSize::new(avail.bytes() / 4 * 3)
}

/// Boots a machine sized for `cfg`, creates the device, measures it, destroys it and checks
/// that every frame came back (INV-1).
pub fn simulate(cfg: &PlanConfig) -> Result<MemmapCost, SimError> {
    simulate_with(cfg, DaxRegion::create, false).map(|(c, _)| c)
}

/// [`simulate`] with the device on a pmem namespace of `cfg.size`
/// ([`DaxRegion::create_namespace`]), also returning the capacity of the device built: its
/// data size, checked by mapping all of it and by failing to map one align page more.
pub fn simulate_namespace(cfg: &PlanConfig) -> Result<(MemmapCost, Capacity), SimError> {
    if cfg.kind == Kind::Hugetlb {
        let c = simulate(cfg)?;
        return Ok((
            c,
            Capacity {
                usable_bytes: cfg.size.bytes(),
                reserve_bytes: 0,
            },
        ));
    }
    let (c, cap) = simulate_with(cfg, DaxRegion::create_namespace, true)?;
    Ok((
        c,
        cap.ok_or_else(|| SimError::Leak("no device measured".into()))?,
    ))
}

type Create = for<'r> fn(&'r mut DaxRegion, &Kernel, DevDaxSpec) -> Result<&'r DevDax, DaxError>;

/// `map_check`: map the whole device and fail to map more (only where the struct pages are
/// real records: the memdesc what-ifs count memmap init without performing it, so their folios
/// cannot be mapped).
fn simulate_with(
    cfg: &PlanConfig,
    create: Create,
    map_check: bool,
) -> Result<(MemmapCost, Option<Capacity>), SimError> {
    check_host(
        host_bytes_needed(cfg)?,
        "drop --simulate to use the planner, or give a smaller --size or --ram",
    )?;
    if cfg.kind == Kind::Hugetlb {
        return simulate_hugetlb(cfg).map(|c| (c, None));
    }
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(cfg.arch)
            .with_struct_page_size(cfg.struct_page_size)
            .with_ram(cfg.ram_size)
            .with_device(cfg.size),
        cfg.profile,
    )?;
    let mut region = DaxRegion::new(&k)?;
    let before = k.machine.frames().free_lists();
    let spec = DevDaxSpec {
        size: cfg.size,
        align: cfg.align,
        map: cfg.map,
        at: None,
        driver: cfg.kind.dax_driver(),
    };
    let dev = create(&mut region, &k, spec)?;
    let (id, cost) = (dev.id, dev.cost);
    let usable = dev.data_size();
    // The device is exactly as large as it says: all of it maps, one align page more does not.
    if map_check && cfg.struct_page_size == crate::mm::page::RECORD_SIZE {
        let mm = Mm::new(&k).map_err(|e| SimError::Capacity(e.to_string()))?;
        if usable.bytes() > 0 {
            mm.mmap_devdax(dev, 0, usable.bytes(), false)
                .map_err(|e| SimError::Capacity(e.to_string()))?;
        }
        let more = usable.bytes() + dev.layout.align.bytes();
        if mm.mmap_devdax(dev, 0, more, false).is_ok() {
            return Err(SimError::Capacity(format!(
                "{more} bytes mapped on a device of {usable}"
            )));
        }
        // Unmaps (exit_mmap) before the device goes.
        drop(mm);
    }
    let capacity = Capacity {
        usable_bytes: usable.bytes(),
        reserve_bytes: cfg.size.bytes() - usable.bytes(),
    };
    region.destroy(&k, id)?;
    if k.machine.frames().free_lists() != before {
        return Err(SimError::Leak(format!("{:?}", k.machine.frames().usage())));
    }
    Ok((cost, Some(capacity)))
}

/// Grows a HugeTLB pool of `cfg.size` on a machine sized for it, measures the memmap of the
/// pool's range, shrinks the pool to zero and checks that every frame came back (the PTE tables
/// of split vmemmap PMDs stay, as in the kernel).
fn simulate_hugetlb(cfg: &PlanConfig) -> Result<MemmapCost, SimError> {
    let k = Kernel::boot(
        MachineConfig::default()
            .with_arch(cfg.arch)
            .with_struct_page_size(cfg.struct_page_size)
            .with_ram(cfg.machine_ram())
            .with_device(ByteSize::new(0)),
        cfg.profile,
    )?;
    let g = k.machine.geometry();
    let size = HugeSize::from_align(cfg.geometry(), cfg.align)
        .ok_or(PlanError::hugetlb_align(cfg.arch, cfg.align))?;
    let want = cfg.size.bytes() / size.bytes(cfg.geometry()).bytes();
    let before = k.machine.frames().usage();
    let init = k.struct_pages_initialized();
    let counters = (k.nr_memmap_pages(), k.nr_memmap_boot_pages());
    let got = set_nr_hugepages(&k, size, want)?;
    if got != want {
        return Err(SimError::PoolShort { got, want });
    }
    let (lo, _) = cfg.hugetlb_pool();
    let nr = g.bytes_to_pages(cfg.size);
    let after = k.machine.frames().usage();
    let cost = MemmapCost {
        memmap_bytes: memmap_frames_of(&k, g.phys_to_pfn(lo), nr) * g.page_size(),
        pagetable_bytes: after.pagetable_bytes() - before.pagetable_bytes(),
        device_bytes: 0,
        struct_pages: nr,
        struct_pages_initialized: k.struct_pages_initialized() - init,
        nr_memmap_pages: crate::drivers::dax::delta(k.nr_memmap_pages(), counters.0)
            .and_then(|d| u64::try_from(d).ok()),
        nr_memmap_boot_pages: crate::drivers::dax::delta(k.nr_memmap_boot_pages(), counters.1),
    };
    set_nr_hugepages(&k, size, 0)?;
    let end = k.machine.frames().usage();
    let split = k
        .hugetlb
        .stats
        .split_pmds
        .load(std::sync::atomic::Ordering::Relaxed);
    if end.memmap_ram() != before.memmap_ram()
        || end.data() != before.data()
        || end.pagetable() != before.pagetable() + split
    {
        return Err(SimError::Leak(format!(
            "before {before:?}, after {end:?}, {split} split PMDs"
        )));
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::dax::MapMode;
    use crate::mm::profile::Profile;

    #[test]
    fn the_budget_is_three_quarters_of_mem_available() {
        let meminfo = "MemTotal: 25165824 kB\nMemFree: 1000 kB\nMemAvailable: 16777216 kB\n";
        assert_eq!(budget_of_meminfo(meminfo), ByteSize::gib(12));
        // No MemAvailable, or one that does not fit in bytes: 3/4 of 8 GiB.
        assert_eq!(budget_of_meminfo("MemTotal: 1 kB\n"), ByteSize::gib(6));
        assert_eq!(
            budget_of_meminfo("MemAvailable: 18446744073709551615 kB\n"),
            ByteSize::gib(6)
        );
    }

    #[test]
    fn host_memory_estimate_counts_device_backed_memmap_frames() {
        let tib = ByteSize::tib(1);
        let cfg = PlanConfig::new(tib, ByteSize::gib(1), MapMode::Dev, Profile::NEXT);
        // 1024 head frames on the device, one shared tail frame, page tables.
        assert!(host_bytes_needed(&cfg).unwrap() < ByteSize::mib(64));
        let cfg = PlanConfig::new(tib, ByteSize::mib(2), MapMode::Dev, Profile::V6_15);
        assert!(host_bytes_needed(&cfg).unwrap() >= ByteSize::gib(16));
        let cfg = PlanConfig::new(tib, ByteSize::gib(1), MapMode::Mem, Profile::V6_15);
        // 8 MiB of memmap, 32 MiB + 16 tables of page tables, and 8 bytes of frame
        // bookkeeping per boot memmap frame of the 256 GiB of RAM (256 GiB / 64 / 4 KiB).
        assert_eq!(
            host_bytes_needed(&cfg).unwrap(),
            ByteSize::new((8 << 20) + (32 << 20) + 16 * 4096 + (256 << 30) / 64 / 4096 * 8)
        );
        // The bookkeeping grows with the RAM.
        let big = PlanConfig {
            ram_size: ByteSize::tib(32),
            ..cfg
        };
        assert_eq!(
            host_bytes_needed(&big).unwrap().bytes() - host_bytes_needed(&cfg).unwrap().bytes(),
            ((32 << 40) - (256 << 30)) / 64 / 4096 * 8
        );
    }
}
