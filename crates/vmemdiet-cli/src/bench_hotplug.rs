//! `vmemdiet bench hotplug`: dax_kmem hot-add, online and remove times.

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::memory_hotplug::MemmapOnMemory;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::default_ram;
use vmemdiet::workload::hotplug::{self, HotplugConfig, HotplugResult};

use crate::output::{
    human, parse_profile, parse_size, profiles_help, ratio, us, ArchArgs, Bench, Column, SwitchArgs,
};

/// Arguments of `vmemdiet bench hotplug`.
#[derive(Debug, Args)]
#[command(
    after_help = "A CXL device (memmap_on_memory asked for by the device) hot-added through dax_kmem on the simulated machine, every block onlined movable, then offlined and removed; every run checks that every frame came back.\nJSON: an array of objects with size, memmap_on_memory, profile, runs, blocks, self_hosted, add_us, online_us, remove_us (medians), limit_us (writing 64 bytes per struct page, timed in the same run), memmap_bytes (DRAM), device_memmap_bytes."
)]
pub struct HotplugArgs {
    /// Device size(s).
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "16GiB")]
    size: Vec<ByteSize>,
    /// The boot parameter memory_hotplug.memmap_on_memory: n, y, force; a comma list.
    #[arg(long, value_delimiter = ',', default_value = "n,y")]
    memmap_on_memory: Vec<MemmapOnMemory>,
    /// Memory block size [default: x86-64's probe from the end of boot RAM].
    #[arg(long, value_parser = parse_size)]
    block_size: Option<ByteSize>,
    /// System RAM of the simulated machine [default: 256G, or a quarter of what the arch
    /// reaches where that is less].
    #[arg(long, value_parser = parse_size)]
    ram: Option<ByteSize>,
    /// Kernel profile(s) (dax_kmem asks for memmap_on_memory from 6.8).
    #[arg(long, value_delimiter = ',', default_value = "v7.3", value_parser = parse_profile, long_help = profiles_help())]
    profile: Vec<Profile>,
    #[command(flatten)]
    machine: ArchArgs,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Timed runs (after one warm-up); medians are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
    /// Every column (the default table keeps what fits 80 columns).
    #[arg(long)]
    wide: bool,
}

const COLUMNS: &[Column<HotplugResult>] = &[
    ("size", |r| ByteSize::new(r.size).short()),
    ("mom", |r| r.memmap_on_memory.to_string()),
    ("profile", |r| r.profile.to_string()),
    ("blocks", |r| r.blocks.to_string()),
    ("self-host", |r| {
        if r.self_hosted { "yes" } else { "no" }.into()
    }),
    ("hot-add", |r| us(r.add_us)),
    ("online", |r| us(r.online_us)),
    ("remove", |r| us(r.remove_us)),
    ("limit", |r| us(r.limit_us)),
    ("online/limit", |r| ratio(r.online_us / r.limit_us)),
    ("DRAM memmap", |r| human(r.memmap_bytes)),
    ("on device", |r| human(r.device_memmap_bytes)),
];

pub fn run(a: &HotplugArgs) -> anyhow::Result<()> {
    let arch = a.machine.arch()?;
    let profiles = a.switches.apply_all(&a.profile)?;
    let mut configs = Vec::new();
    for &size in &a.size {
        for &profile in &profiles {
            for &param in &a.memmap_on_memory {
                configs.push(HotplugConfig {
                    size,
                    param,
                    profile,
                    arch,
                    ram: a.ram.unwrap_or_else(|| default_ram(arch.geometry())),
                    block_size: a.block_size,
                    runs: a.runs,
                });
            }
        }
    }
    Bench {
        name: "hotplug",
        ticks_per_config: u64::from(a.runs),
        run: |c, pb| Ok(hotplug::run(c, &mut || pb.inc(1))?),
        columns: COLUMNS,
        narrow: &["size", "mom", "profile", "self-host", "hot-add", "online", "remove", "online/limit"],
        footer: format!(
            "medians of {} runs after a warm-up; hot-add = dax_kmem probe (vmemmap populate), online = every block onlined movable (struct page init), remove = offline + remove; limit = writing 64 B per struct page in the same run",
            a.runs
        ),
    }
    .run(&configs, a.json, a.wide)
}
