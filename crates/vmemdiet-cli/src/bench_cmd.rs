//! `vmemdiet bench ...`.

use clap::{Args, Subcommand};
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::drivers::ib_driver::Driver;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::bootstrap::{self, BootstrapConfig, BootstrapResult};
use vmemdiet::workload::configs::{expand, Options};
use vmemdiet::workload::gup::{self, GupConfig, GupOp, GupResult};
use vmemdiet::workload::hugetlb_pool::{self, PoolConfig, PoolResult};
use vmemdiet::workload::mr::{self, MrConfig, MrResult};

use crate::output::{
    arch_profiles, human, parse_profile, parse_size, profiles_help_for, ratio, us, ArchArgs, Bench,
    Column, SwitchArgs,
};

/// The default profiles of each benchmark (before [`arch_profiles`] adapts them to the arch).
const POOL_PROFILES: [Profile; 3] = [Profile::V5_10, Profile::V7_3, Profile::NEXT];
const MR_PROFILES: [Profile; 3] = [Profile::V5_10, Profile::RFC, Profile::V7_3];
const GUP_PROFILES: [Profile; 3] = [Profile::V5_10, Profile::RFC, Profile::V7_3];
const BOOTSTRAP_PROFILES: [Profile; 2] = [Profile::V5_10, Profile::V7_3];

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time creating and destroying a devdax device (memremap_pages + memmap init, memunmap_pages).
    Bootstrap(BootstrapArgs),
    /// Time GUP-fast, PIN-fast and PIN-longterm of a whole device-dax mapping, and unpin.
    Gup(GupArgs),
    /// The seeds' MR reg/unreg loop: register and deregister an RDMA memory region for a fixed time.
    Mr(MrArgs),
    /// Time growing and shrinking a HugeTLB pool (`nr_hugepages`), with and without HVO.
    HugetlbPool(PoolArgs),
    /// Time hot-adding, onlining and removing device memory through dax_kmem, with and
    /// without memmap_on_memory.
    Hotplug(crate::bench_hotplug::HotplugArgs),
}

/// Arguments of `vmemdiet bench hugetlb-pool`.
#[derive(Debug, Args)]
#[command(
    after_help = "JSON: an array of objects with size, align, profile, runs, pages, alloc_us, free_us (medians), memmap_bytes."
)]
pub struct PoolArgs {
    /// Pool size(s).
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "20GiB")]
    size: Vec<ByteSize>,
    /// Huge page size(s): the arch's PMD and PUD sizes (2M, 1G on x86_64) [default: PMD].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Kernel profile(s): v5.10 has no HVO, 5.18-7.0 keep one vmemmap page, 7.1+ and next
    /// share a tail page.
    #[arg(long, value_delimiter = ',', value_parser = parse_profile, long_help = profiles_help_for(&POOL_PROFILES, false))]
    profile: Vec<Profile>,
    #[command(flatten)]
    machine: ArchArgs,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Timed runs (after one warm-up); medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
    /// Every column (the default table keeps what fits 80 columns).
    #[arg(long)]
    wide: bool,
}

/// Arguments of `vmemdiet bench mr`.
#[derive(Debug, Args)]
#[command(
    after_help = "Drivers (--driver): none adds no work, so rounds are the core's alone (ib_umem_get, ib_umem_release). rxe (Soft-RoCE): maps each sg entry to its kernel address (virt DMA), stores one page-map entry per PAGE_SIZE page (xas_store in rxe_mr_fill_pages_from_sgt), xa_destroy at dereg. mlx5 (ConnectX): maps each sg entry with dma-direct (no IOMMU), picks one page size for the MR (ib_umem_find_best_pgsz over 4K..2G; mlx5_ib_cont_pages in v5.10), writes one 8-byte MTT entry per page of it; 6.2-6.14 devdax lists [head][tails] per folio, which forces 4K until 6.15 looks across entries. Left out: IOMMU, swiotlb, firmware commands and UMR completions (device latency), the mkey cache, ODP.\nJSON: an array of objects with kind, size, align, map, profile, threads, seconds, rounds, us_per_round, pin_us, sg_us, release_us, driver_us (per round), sg_entries, driver, mr_page_size, driver_entries (rxe page-map stores or mlx5 MTT entries per registration)."
)]
pub struct MrArgs {
    /// Region size each thread registers.
    #[arg(long, value_parser = parse_size, default_value = "1GiB")]
    size: ByteSize,
    /// Memory kind(s): devdax, hugetlb (hugetlbfs), anon (base pages), thp (MADV_HUGEPAGE),
    /// shmem (shared /dev/zero). --align does not apply to anon, thp and shmem.
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<Kind>,
    /// Alignment(s): 4K, 2M, 1G on x86_64 (`vmemdiet arches` for others) [default: the arch's
    /// PMD and PUD sizes that divide --size].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', value_parser = parse_profile, long_help = profiles_help_for(&MR_PROFILES, true))]
    profile: Vec<Profile>,
    #[command(flatten)]
    machine: ArchArgs,
    #[command(flatten)]
    switches: SwitchArgs,
    /// The RDMA device's driver(s): none (the core's work only), rxe (a page map per 4 KiB),
    /// mlx5 (best page size, one MTT entry per page of it); see below.
    #[arg(long, value_delimiter = ',', default_value = "none")]
    driver: Vec<Driver>,
    /// Threads, each registering its own region (the 2025 report used 40 threads of 2 MiB MRs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Seconds to loop per configuration.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
    /// Every column (the default table keeps what fits 80 columns).
    #[arg(long)]
    wide: bool,
}

/// Arguments of `vmemdiet bench gup`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each row also times writing (get) and reading (put) 8 bytes per page in the same run: the page-pointer array, the least either can cost.\nJSON: an array of objects with op, kind, size, align, map, profile, threads, runs, nr_per_call, get_us, put_us (medians of the slowest thread), limit_get_us, limit_put_us, pages, atomics (refcount atomics of one get + put), get_atomics, put_atomics, pincount_atomics, walks, pgmap_lookups, slow_pages."
)]
pub struct GupArgs {
    /// Operation(s): gup-fast, pin-fast, pin-longterm.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "gup-fast,pin-fast,pin-longterm"
    )]
    op: Vec<GupOp>,
    /// Memory kind(s): devdax (a device-dax device), hugetlb (a MAP_HUGETLB mapping of a pool),
    /// anon (private /dev/zero, base pages), thp (private /dev/zero with MADV_HUGEPAGE: 2 MiB
    /// THPs), shmem (shared /dev/zero). --align does not apply to anon, thp and shmem (their
    /// rows show the leaf size).
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<Kind>,
    /// Mapping size(s).
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "16GiB")]
    size: Vec<ByteSize>,
    /// Alignment(s): 4K, 2M, 1G on x86_64 (`vmemdiet arches` for others) [default: the arch's
    /// PMD and PUD sizes that divide --size].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', value_parser = parse_profile, long_help = profiles_help_for(&GUP_PROFILES, true))]
    profile: Vec<Profile>,
    #[command(flatten)]
    machine: ArchArgs,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Memmap location(s).
    #[arg(long, value_delimiter = ',', default_value = "mem")]
    map: Vec<MapMode>,
    /// Threads, each getting and putting the whole mapping (gup_test -j).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Runs; medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Pages per call (gup_test -n); 512 is one 2 MiB page per call, as in the seeds.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    nr_per_call: u64,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
    /// Every column (the default table keeps what fits 80 columns).
    #[arg(long)]
    wide: bool,
}

/// Arguments of `vmemdiet bench bootstrap`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each row also times writing struct_pages_initialized x 64 bytes with plain stores in the same run (the limit); create/limit says how close creation is to it.\nJSON: an array of objects with size, align, map, profile, runs, create_us, destroy_us (medians), limit_us, create_over_limit, struct_pages_initialized, memmap_bytes."
)]
pub struct BootstrapArgs {
    /// Device size(s).
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "64GiB")]
    size: Vec<ByteSize>,
    /// Alignment(s): 4K, 2M, 1G on x86_64 (`vmemdiet arches` for others) [default: every
    /// align of the arch that divides --size].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', value_parser = parse_profile, long_help = profiles_help_for(&BOOTSTRAP_PROFILES, true))]
    profile: Vec<Profile>,
    #[command(flatten)]
    machine: ArchArgs,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Memmap location(s): mem, dev.
    #[arg(long, value_delimiter = ',', default_value = "mem")]
    map: Vec<MapMode>,
    /// Timed runs per configuration (after one warm-up run); medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
    /// Every column (the default table keeps what fits 80 columns).
    #[arg(long)]
    wide: bool,
}

pub fn run(cmd: &BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Bootstrap(a) => bootstrap_cmd(a),
        BenchCommand::Gup(a) => gup_cmd(a),
        BenchCommand::Mr(a) => mr_cmd(a),
        BenchCommand::HugetlbPool(a) => pool_cmd(a),
        BenchCommand::Hotplug(a) => crate::bench_hotplug::run(a),
    }
}

const BOOTSTRAP_COLUMNS: &[Column<BootstrapResult>] = &[
    ("size", |r| ByteSize::new(r.size).to_string()),
    ("align", |r| ByteSize::new(r.align).short()),
    ("map", |r| r.map.to_string()),
    ("profile", |r| r.profile.to_string()),
    ("create", |r| us(r.create_us)),
    ("destroy", |r| us(r.destroy_us)),
    ("lim sp", |r| us(r.limit_us)),
    ("lim pte", |r| us(r.limit_pte_us)),
    ("c/limit", |r| ratio(r.create_over_limit)),
    ("init", |r| r.struct_pages_initialized.to_string()),
    ("ptes", |r| r.vmemmap_entries.to_string()),
    ("memmap", |r| human(r.memmap_bytes)),
];

/// Which of an arch's aligns a benchmark defaults to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlignSet {
    /// Base page, PMD and PUD.
    All,
    /// PMD and PUD (huge mappings).
    Huge,
    /// The PMD size only.
    Pmd,
}

/// The aligns a benchmark runs: the user's, or by default those of the arch (in every given
/// profile's release) that divide every size; an align the user never typed is never an error.
fn default_aligns(
    given: &[ByteSize],
    arch: Arch,
    profiles: &[Profile],
    sizes: &[ByteSize],
    set: AlignSet,
) -> Vec<ByteSize> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let g = arch.geometry();
    if set == AlignSet::Pmd {
        return vec![g.pmd_size()];
    }
    let release = profiles
        .iter()
        .map(|p| p.kernel())
        .min()
        .unwrap_or_else(|| Profile::default().kernel());
    let all = vmemdiet::drivers::dax::valid_aligns(g, release);
    let fits: Vec<ByteSize> = all
        .iter()
        .copied()
        .filter(|&al| set == AlignSet::All || al > ByteSize::new(g.page_size()))
        .filter(|&al| {
            let unit = vmemdiet::drivers::dax::unit(g, al);
            sizes.iter().all(|s| s.is_multiple_of(unit))
        })
        .collect();
    if fits.is_empty() {
        // Nothing divides the size: the PMD size, whose error then names the nearest sizes.
        vec![g.pmd_size()]
    } else {
        fits
    }
}

fn bootstrap_cmd(a: &BootstrapArgs) -> anyhow::Result<()> {
    let arch = a.machine.arch()?;
    let profiles = arch_profiles(&a.profile, &BOOTSTRAP_PROFILES, arch, true);
    let configs = expand::<BootstrapConfig>(&Options {
        sizes: a.size.clone(),
        aligns: default_aligns(&a.align, arch, &profiles, &a.size, AlignSet::All),
        maps: a.map.clone(),
        profiles: a.switches.apply_all(&profiles)?,
        arch,
        runs: a.runs,
        ..Options::default()
    })?;
    Bench {
        name: "bootstrap",
        ticks_per_config: u64::from(a.runs),
        run: |c, pb| Ok(bootstrap::run(c, &mut || pb.inc(1))?),
        columns: BOOTSTRAP_COLUMNS,
        narrow: &["size", "align", "profile", "create", "lim sp", "lim pte", "c/limit", "memmap"],
        footer: format!(
            "medians of {} runs; the two floors of create, timed with plain stores on this machine in the same run: lim sp = writing init x 64 bytes of struct pages, lim pte = writing ptes x 8 bytes of vmemmap page-table entries and one get_page atomic per PTE that maps a reused frame; c/limit = create / (lim sp + lim pte); init = struct pages initialized; ptes = vmemmap entries (a shared table once); memmap = struct-page frames in RAM",
            a.runs
        ),
    }
    .run(&configs, a.json, a.wide)
}

const GUP_COLUMNS: &[Column<GupResult>] = &[
    ("op", |r| r.op.to_string()),
    ("kind", |r| r.kind.to_string()),
    ("size", |r| ByteSize::new(r.size).to_string()),
    ("align", |r| ByteSize::new(r.align).short()),
    ("profile", |r| r.profile.to_string()),
    ("get", |r| us(r.get_us)),
    ("put", |r| us(r.put_us)),
    ("get/lim", |r| ratio(r.get_us / r.limit_get_us.max(1e-3))),
    ("put/lim", |r| ratio(r.put_us / r.limit_put_us.max(1e-3))),
    ("atomics", |r| r.atomics.to_string()),
    ("walks", |r| r.walks.to_string()),
    ("slow", |r| r.slow_pages.to_string()),
];

fn gup_cmd(a: &GupArgs) -> anyhow::Result<()> {
    let arch = a.machine.arch()?;
    let profiles = arch_profiles(
        &a.profile,
        &GUP_PROFILES,
        arch,
        a.kind.contains(&Kind::Devdax),
    );
    let configs = expand::<GupConfig>(&Options {
        kinds: a.kind.clone(),
        sizes: a.size.clone(),
        aligns: default_aligns(&a.align, arch, &profiles, &a.size, AlignSet::Huge),
        maps: a.map.clone(),
        profiles: a.switches.apply_all(&profiles)?,
        arch,
        ops: a.op.clone(),
        runs: a.runs,
        threads: a.threads,
        nr_per_call: Some(a.nr_per_call),
        ..Options::default()
    })?;
    Bench {
        name: "gup",
        ticks_per_config: u64::from(a.runs),
        run: |c, pb| {
            let pb = pb.clone();
            Ok(gup::bench(c, &mut move || pb.inc(1))?)
        },
        columns: GUP_COLUMNS,
        narrow: &["op", "kind", "size", "align", "profile", "get", "put", "get/lim", "put/lim"],
        footer: format!(
            "medians of {} runs (slowest of {} thread(s)), {} pages per call; limits (lim): writing/reading 8 bytes per page, same run; atomics = refcount atomics of get + put; slow = pages taken by the slow path{}",
            a.runs,
            a.threads,
            a.nr_per_call,
            if configs.iter().any(|c| c.op == GupOp::GupFast) {
                "; gup-fast's put is put_page per page in every kernel (gup_test's GUP_FAST_BENCHMARK): the series does not change it, so compare it across profiles as unchanged work"
            } else {
                ""
            }
        ),
    }
    .run(&configs, a.json, a.wide)
}

const MR_COLUMNS: &[Column<MrResult>] = &[
    ("kind", |r| r.kind.to_string()),
    ("size", |r| ByteSize::new(r.size).to_string()),
    ("align", |r| ByteSize::new(r.align).short()),
    ("profile", |r| r.profile.to_string()),
    ("driver", |r| r.driver.to_string()),
    ("threads", |r| r.threads.to_string()),
    ("rounds", |r| format!("{} in {:.3} s", r.rounds, r.seconds)),
    ("round", |r| us(r.us_per_round)),
    ("pin", |r| us(r.pin_us)),
    ("sg", |r| us(r.sg_us)),
    ("release", |r| us(r.release_us)),
    ("sg ents", |r| r.sg_entries.to_string()),
    ("drv", |r| us(r.driver_us)),
    ("mr page", |r| human(r.mr_page_size)),
    ("drv ents", |r| r.driver_entries.to_string()),
];

fn mr_cmd(a: &MrArgs) -> anyhow::Result<()> {
    let arch = a.machine.arch()?;
    let profiles = arch_profiles(
        &a.profile,
        &MR_PROFILES,
        arch,
        a.kind.contains(&Kind::Devdax),
    );
    let configs = expand::<MrConfig>(&Options {
        kinds: a.kind.clone(),
        sizes: vec![a.size],
        aligns: default_aligns(&a.align, arch, &profiles, &[a.size], AlignSet::Huge),
        profiles: a.switches.apply_all(&profiles)?,
        arch,
        threads: a.threads,
        seconds: a.seconds,
        drivers: a.driver.clone(),
        ..Options::default()
    })?;
    // Driver columns only when a driver does work.
    let drivers = a.driver.iter().any(|&d| d != Driver::None);
    // Each configuration loops for --seconds after its setup: the least the run takes.
    #[allow(clippy::cast_precision_loss)]
    let least = a.seconds * configs.len() as f64;
    if least >= 30.0 {
        eprintln!(
            "bench mr: {} configurations of {} s each: at least {:.0} min",
            configs.len(),
            a.seconds,
            least / 60.0
        );
    }
    Bench {
        name: "mr",
        ticks_per_config: 1,
        run: |c, pb| {
            let r = mr::run(c)?;
            pb.inc(1);
            Ok(r)
        },
        columns: MR_COLUMNS,
        narrow: if drivers {
            &["kind", "size", "align", "profile", "driver", "round", "pin", "sg", "release", "drv"]
        } else {
            &["kind", "size", "align", "profile", "round", "pin", "sg", "release"]
        },
        footer: if drivers {
            "round = thread-seconds per round; pin, sg, release and drv (the driver's reg + dereg) split each round; sg ents = scatterlist entries of one registration; mr page = the MR's page size; drv ents = page-map or MTT entries written".into()
        } else {
            "round = thread-seconds per round; pin, sg and release split each round; sg ents = scatterlist entries of one registration".into()
        },
    }
    .run(&configs, a.json, a.wide)
}

const POOL_COLUMNS: &[Column<PoolResult>] = &[
    ("size", |r| ByteSize::new(r.size).to_string()),
    ("page", |r| ByteSize::new(r.align).short()),
    ("profile", |r| r.profile.to_string()),
    ("pages", |r| r.pages.to_string()),
    ("grow", |r| us(r.alloc_us)),
    ("shrink", |r| us(r.free_us)),
    ("memmap", |r| human(r.memmap_bytes)),
];

fn pool_cmd(a: &PoolArgs) -> anyhow::Result<()> {
    let arch = a.machine.arch()?;
    let profiles = arch_profiles(&a.profile, &POOL_PROFILES, arch, false);
    let configs = expand::<PoolConfig>(&Options {
        sizes: a.size.clone(),
        aligns: default_aligns(&a.align, arch, &profiles, &a.size, AlignSet::Pmd),
        profiles: a.switches.apply_all(&profiles)?,
        arch,
        runs: a.runs,
        ..Options::default()
    })?;
    Bench {
        name: "hugetlb pool",
        ticks_per_config: u64::from(a.runs),
        run: |c, pb| Ok(hugetlb_pool::run(c, &mut || pb.inc(1))?),
        columns: POOL_COLUMNS,
        narrow: &["size", "page", "profile", "pages", "grow", "shrink", "memmap"],
        footer: format!(
            "medians of {} runs after a warm-up; grow = nr_hugepages 0 -> pages, shrink = back to 0; memmap = struct-page frames in RAM while full",
            a.runs
        ),
    }
    .run(&configs, a.json, a.wide)
}
