//! `vmemdiet plan`.

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::ndctl::{self, NdctlSize};
use vmemdiet::planner::{self, Request, Step};

use crate::device_cmd::{DeviceArgs, KindArg};
use crate::output::{parse_size, progress, StepLog, SwitchArgs};
use crate::plan_render::{print_rows, print_usable, Shown};

/// Arguments of `vmemdiet plan`.
#[derive(Debug, Args)]
#[command(
    after_help = "With only --size, the table compares 4K/2M/1G under v5.10 and the default profile (the seeds' headline), with the memmap in RAM and on the device.\n--size is the raw namespace size, as ndctl create-namespace -s takes it (ndctl's syntax and checks: 16M at least, a multiple of the region align and of align x interleave ways); usable is the dax device it yields by the kernel's nd_pfn_init rules, reserve the rest. --usable SIZE asks the inverse: the smallest namespace that yields SIZE, and the ndctl command that creates it.\nJSON: an array with one object per configuration, whatever their number; keys: size, align, map, profile, arch, memmap_bytes, pagetable_bytes, device_bytes, struct_pages, struct_pages_initialized, nr_memmap_pages and nr_memmap_boot_pages (how the /proc/vmstat counters change, in pages, as the profile's kernel counts them; null before 6.11), struct_page_size, simulated, usable_bytes (the dax device size), reserve_bytes (size - usable_bytes); with --usable also usable_requested and command.\nDevice memory (--kind kmem, device-private, device-coherent, p2pdma): a list of rows with device, kind, count, size, profile, memmap_on_memory (the boot parameter), usable_bytes, memmap_bytes (struct pages in DRAM), device_bytes (capacity lost), pagetable_bytes, simulated, kmem (range, blocks, block_size, memmap_on_memory in effect, dram_reason, mom_refused, device_memmap_bytes, stranded_bytes, struct_pages, nr_memmap_pages, hugetlb_2m_pages, hugetlb_1g_pages, hvo) and zone_device (start, registered_bytes, memmap_bytes, ...). --device prints one object: arch, ram_bytes, memmap_on_memory, rows, usable_bytes, memmap_bytes, device_bytes, pagetable_bytes, memmap_share_of_ram, movable_to_kernel."
)]
pub struct PlanArgs {
    /// Raw namespace size, as ndctl create-namespace -s takes it: decimal, 0x hex or 0-prefixed octal, with an optional binary suffix k, m, g, t (also KiB..TiB); a comma list gives rows for each.
    /// [default: 1TiB; on an arch that does not reach that far (riscv64-sv39), the largest
    /// power of two that fits]
    #[arg(long, value_parser = parse_ndctl_size, value_delimiter = ',', conflicts_with = "usable")]
    size: Vec<NdctlSize>,
    /// The inverse: the smallest namespace whose dax device holds at least this much, its memmap cost and the ndctl command line [align default: 2M, ndctl's].
    #[arg(long, value_parser = parse_size)]
    usable: Option<ByteSize>,
    /// Interleave ways of the region (its mappings): sizes must be multiples of align x ways.
    #[arg(long, default_value_t = 1)]
    interleave_ways: u32,
    /// The region's align attribute [default: the kernel's default_align, 16M (x ways when 16M does not divide by them)].
    #[arg(long, value_parser = parse_size)]
    region_align: Option<ByteSize>,
    /// Device-dax alignment(s): 4K, 2M, 1G; a comma list gives one row each [default: 2M, or 4K,2M,1G when no --profile is given either].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Where the memmap lives: mem (System RAM) or dev (carved from the device, ndctl --map=dev; ndctl's default); a comma list gives one row each [default: both, so the trade-off shows].
    #[arg(long, value_delimiter = ',')]
    map: Vec<MapMode>,
    /// Kernel profile(s): a release (6.17, 7.3.4+deb13-amd64), rfc or next, with +switch=value overrides [default: v7.3, or v5.10,v7.3 when no --align is given either].
    #[arg(long, value_delimiter = ',', value_parser = crate::output::parse_profile, long_help = crate::output::profiles_help())]
    profile: Vec<Profile>,
    #[command(flatten)]
    switches: SwitchArgs,
    /// What the memory is: devdax (a device-dax device), hugetlb (a HugeTLB pool in RAM),
    /// devdax-fsdev (device-dax bound to the famfs fsdev driver: order-0 folios, no dedup);
    /// device memory beyond device-dax: kmem (a dax device onlined as System RAM: CXL, hmem or
    /// pmem, see --source, --memmap-on-memory), device-private (GPU memory under HMM),
    /// device-coherent (CPU-coherent GPU memory) or p2pdma (a PCI BAR for peer-to-peer DMA);
    /// a comma list gives rows for each, kinds in the order given.
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<KindArg>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Architecture(s): x86_64, x86_64-la57, arm64-4k, arm64-16k, arm64-64k, ppc64-radix-4k,
    /// ppc64-radix-64k, ppc64-hash-64k, riscv64-sv39, riscv64-sv48, riscv64-sv57, a comma
    /// list, or `all` for one table across them (each arch's own aligns unless --align is
    /// given; combinations an arch does not offer are listed under the table).
    #[arg(long, default_value = "x86_64", value_parser = parse_arches)]
    arch: Arches,
    /// arm64 VA size: 39/48/52 with 4K pages, 36/47/48/52 with 16K, 42/48/52 with 64K
    /// [default: 48]; page-table levels and the vmemmap region follow. Across architectures
    /// it applies to the arm64 ones.
    #[arg(long)]
    va_bits: Option<u32>,
    /// System RAM of the simulated machine (places the device region above it).
    /// [default: 256G, or a quarter of the arch's physical reach where that is less
    /// (riscv64-sv39: 64G); for a HugeTLB pool, raised to hold the pool, its memmap and 8 GiB]
    #[arg(long, value_parser = parse_size)]
    ram: Option<ByteSize>,
    /// sizeof(struct page) in bytes: 64 (today) or a memdesc what-if, 32, 16 or 8; the memmap,
    /// what dedup still saves, and nr_memmap_pages follow (device-dax only).
    #[arg(long, default_value_t = 64, value_parser = parse_struct_page_size)]
    struct_page_size: u64,
    /// Build each configuration on the simulated machine and report measured counts.
    #[arg(long)]
    simulate: bool,
    /// Machine-readable output: an array of objects, one per configuration (an array of one
    /// for one), the keys below.
    #[arg(long)]
    json: bool,
    /// Every column (kind, size, map, exact counts): wider than 80 columns.
    #[arg(long)]
    wide: bool,
}

impl PlanArgs {
    /// What `plan` asks of the device planner: the kinds, sizes, profiles and machine given.
    fn device_plan(&self) -> crate::device_cmd::DevicePlan<'_> {
        crate::device_cmd::DevicePlan {
            args: &self.device,
            kinds: &self.kind,
            sizes: self.size.iter().map(|s| s.bytes).collect(),
            aligns: &self.align,
            maps: &self.map,
            profiles: self.profile.clone(),
            switches: &self.switches,
            arches: &self.arch.0,
            ram: self.ram,
            simulate: self.simulate,
            json: self.json,
            wide: self.wide,
        }
    }
}

/// The architectures of `--arch`, in the order given, each once.
#[derive(Debug, Clone)]
struct Arches(Vec<Arch>);

/// `--arch`: one architecture, a comma list, or `all`.
fn parse_arches(s: &str) -> Result<Arches, String> {
    if s == "all" {
        return Ok(Arches(vmemdiet::arch::ARCHES.to_vec()));
    }
    let mut v: Vec<Arch> = Vec::new();
    for a in s.split(',') {
        let a = a.parse()?;
        if !v.contains(&a) {
            v.push(a);
        }
    }
    Ok(Arches(v))
}

/// `--size`: ndctl's syntax ([`ndctl::parse_size_arg`]), keeping the unit for suggestions.
fn parse_ndctl_size(s: &str) -> Result<NdctlSize, String> {
    ndctl::parse_size_arg(s).map_err(|e| e.to_string())
}

/// `--struct-page-size`: one of the sizes the what-if models.
fn parse_struct_page_size(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|n| vmemdiet::arch::STRUCT_PAGE_SIZES.contains(n))
        .ok_or_else(|| format!("'{s}' bytes: give 64 (today), 32, 16 or 8 (memdesc what-ifs)"))
}

impl PlanArgs {
    /// The planner's request: what was given, the library fills in the defaults.
    fn request(&self) -> Request {
        Request {
            kinds: self.kind.iter().filter_map(KindArg::namespace).collect(),
            sizes: self.size.clone(),
            usable: self.usable,
            aligns: self.align.clone(),
            maps: self.map.clone(),
            profiles: self.profile.clone(),
            switches: self.switches.list().to_vec(),
            arches: self.arch.0.clone(),
            va_bits: self.va_bits,
            ram: self.ram,
            struct_page_size: self.struct_page_size,
            interleave_ways: self.interleave_ways,
            region_align: self.region_align,
            simulate: self.simulate,
            existing: false,
        }
    }
}

pub fn run(a: &PlanArgs) -> anyhow::Result<()> {
    if a.device.asked(&a.kind) {
        return crate::device_cmd::run(a.device_plan());
    }
    a.device.check_unused()?;
    let mut pb = None;
    let mut log = StepLog::new(0);
    let answer = planner::answer(&a.request(), &mut |step| match step {
        Step::Start(n) => {
            let what = if a.simulate { "simulating" } else { "planning" };
            pb = Some(progress(n as u64, what));
            log = StepLog::new(if a.simulate { n } else { 0 });
        }
        Step::Done(c) => {
            if let Some(pb) = &pb {
                pb.inc(1);
            }
            log.done(&c.to_string());
        }
    })?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let shown = Shown {
        json: a.json,
        wide: a.wide,
        simulate: a.simulate,
        across: a.arch.0.len() > 1,
    };
    match a.usable {
        Some(usable) => print_usable(&shown, usable, &answer),
        None => print_rows(&shown, &answer),
    }
}
