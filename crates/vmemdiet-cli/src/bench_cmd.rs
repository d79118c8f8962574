//! `vmemdiet bench ...`.

use anyhow::Context;
use clap::{Args, Subcommand};
use vmemdiet::addr::ByteSize;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::bootstrap::{self, BootstrapConfig};
use vmemdiet::workload::gup::{self, GupConfig, GupOp};
use vmemdiet::workload::hugetlb_pool::{self, PoolConfig};
use vmemdiet::workload::mr::{self, MrConfig};

use crate::output::{human, parse_size, progress, table, us};

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
    /// Huge page size(s): 2M, 1G.
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "2M")]
    align: Vec<ByteSize>,
    /// Kernel profile(s): v5.10 has no HVO, v5.19+ keep one vmemmap page, next shares tails.
    #[arg(long, value_delimiter = ',', default_value = "v5.10,v6.15,next")]
    profile: Vec<Profile>,
    /// Timed runs (after one warm-up); medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
}

/// Arguments of `vmemdiet bench mr`.
#[derive(Debug, Args)]
#[command(
    after_help = "JSON: an array of objects with kind, size, align, map, profile, threads, seconds, rounds, us_per_round, pin_us, sg_us, release_us (per round), sg_entries."
)]
pub struct MrArgs {
    /// Region size each thread registers.
    #[arg(long, value_parser = parse_size, default_value = "1GiB")]
    size: ByteSize,
    /// Memory kind(s): devdax, hugetlb (hugetlbfs).
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<Kind>,
    /// Alignment(s): 4K, 2M, 1G.
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "2M,1G")]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', default_value = "v5.10,rfc,v6.15")]
    profile: Vec<Profile>,
    /// Threads, each registering its own region (the 2025 report used 40 threads of 2 MiB MRs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Seconds to loop per configuration.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
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
    /// Memory kind(s): devdax (a device-dax device), hugetlb (a MAP_HUGETLB mapping of a pool).
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<Kind>,
    /// Mapping size(s).
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "16GiB")]
    size: Vec<ByteSize>,
    /// Alignment(s): 4K, 2M, 1G.
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "2M,1G")]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', default_value = "v5.10,rfc,v6.15")]
    profile: Vec<Profile>,
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
    /// Alignment(s): 4K, 2M, 1G.
    #[arg(long, value_parser = parse_size, value_delimiter = ',', default_value = "4K,2M,1G")]
    align: Vec<ByteSize>,
    /// Kernel profile(s).
    #[arg(long, value_delimiter = ',', default_value = "v5.10,v6.15")]
    profile: Vec<Profile>,
    /// Memmap location(s): mem, dev.
    #[arg(long, value_delimiter = ',', default_value = "mem")]
    map: Vec<MapMode>,
    /// Timed runs per configuration (after one warm-up run); medians are reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Machine-readable output (an array).
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: &BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Bootstrap(a) => bootstrap_cmd(a),
        BenchCommand::Gup(a) => gup_cmd(a),
        BenchCommand::Mr(a) => mr_cmd(a),
        BenchCommand::HugetlbPool(a) => pool_cmd(a),
    }
}

fn bootstrap_cmd(a: &BootstrapArgs) -> anyhow::Result<()> {
    let mut configs = Vec::new();
    for &size in &a.size {
        for &profile in &a.profile {
            for &map in &a.map {
                for &align in &a.align {
                    configs.push(BootstrapConfig {
                        size,
                        align,
                        map,
                        profile,
                        runs: a.runs,
                    });
                }
            }
        }
    }
    for c in &configs {
        vmemdiet::plan::plan(&vmemdiet::plan::PlanConfig::new(
            c.size, c.align, c.map, c.profile,
        ))
        .with_context(|| format!("{} at align {} ({})", c.size, c.align.short(), c.profile))?;
    }
    let pb = progress(configs.len() as u64 * u64::from(a.runs), "bootstrap");
    let mut rows = Vec::new();
    for c in &configs {
        let r = bootstrap::run(c, &mut || pb.inc(1)).with_context(|| {
            format!(
                "bootstrap {} at align {} ({})",
                c.size,
                c.align.short(),
                c.profile
            )
        })?;
        rows.push(r);
    }
    pb.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut t = table(&[
        "size",
        "align",
        "map",
        "profile",
        "create",
        "destroy",
        "limit",
        "create/limit",
        "initialized",
        "memmap (RAM)",
    ]);
    for r in &rows {
        t.add_row(vec![
            ByteSize::new(r.size).to_string(),
            ByteSize::new(r.align).short(),
            r.map.to_string(),
            r.profile.to_string(),
            us(r.create_us),
            us(r.destroy_us),
            us(r.limit_us),
            format!("{:.1}x", r.create_over_limit),
            r.struct_pages_initialized.to_string(),
            human(r.memmap_bytes),
        ]);
    }
    println!("{t}");
    println!("medians of {} runs; limit = time to write initialized x 64 bytes with plain stores on this machine, same run", a.runs);
    Ok(())
}

fn gup_cmd(a: &GupArgs) -> anyhow::Result<()> {
    let mut configs = Vec::new();
    for &kind in &a.kind {
        for &size in &a.size {
            for &profile in &a.profile {
                for &map in &a.map {
                    for &align in &a.align {
                        for &op in &a.op {
                            configs.push(GupConfig {
                                op,
                                kind,
                                size,
                                align,
                                map,
                                profile,
                                threads: a.threads,
                                runs: a.runs,
                                nr_per_call: Some(a.nr_per_call),
                                write: true,
                            });
                        }
                    }
                }
            }
        }
    }
    for c in &configs {
        vmemdiet::plan::plan(&vmemdiet::plan::PlanConfig::new(
            c.size, c.align, c.map, c.profile,
        ))
        .with_context(|| format!("{} at align {} ({})", c.size, c.align.short(), c.profile))?;
    }
    let pb = progress(configs.len() as u64 * u64::from(a.runs), "gup");
    let mut rows = Vec::new();
    for c in &configs {
        let pb2 = pb.clone();
        let r = gup::bench(c, &mut move || pb2.inc(1)).with_context(|| {
            format!(
                "{:?} on {} at align {} ({})",
                c.op,
                c.size,
                c.align.short(),
                c.profile
            )
        })?;
        rows.push(r);
    }
    pb.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut t = table(&[
        "op",
        "size",
        "align",
        "profile",
        "get",
        "put",
        "get/limit",
        "put/limit",
        "atomics get+put",
        "walks",
        "slow pages",
    ]);
    for r in &rows {
        t.add_row(vec![
            format!("{:?}", r.op),
            r.kind.to_string(),
            ByteSize::new(r.size).to_string(),
            ByteSize::new(r.align).short(),
            r.profile.to_string(),
            us(r.get_us),
            us(r.put_us),
            format!("{:.1}x", r.get_us / r.limit_get_us.max(1e-3)),
            format!("{:.1}x", r.put_us / r.limit_put_us.max(1e-3)),
            r.atomics.to_string(),
            r.walks.to_string(),
            r.slow_pages.to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "medians of {} runs (slowest of {} thread(s)), {} pages per call; limits: writing/reading 8 bytes per page, same run",
        a.runs, a.threads, a.nr_per_call
    );
    Ok(())
}

fn mr_cmd(a: &MrArgs) -> anyhow::Result<()> {
    if !(a.seconds.is_finite() && a.seconds > 0.0 && a.seconds <= 3600.0) {
        anyhow::bail!(
            "--seconds {}: give a duration between 0 and 3600",
            a.seconds
        );
    }
    let mut configs = Vec::new();
    for &kind in &a.kind {
        for &profile in &a.profile {
            for &align in &a.align {
                configs.push(MrConfig {
                    kind,
                    size: a.size,
                    align,
                    map: MapMode::Mem,
                    profile,
                    threads: a.threads,
                    seconds: a.seconds,
                });
            }
        }
    }
    for c in &configs {
        let total = ByteSize::new(c.size.bytes() * u64::from(c.threads));
        let spec = vmemdiet::workload::mapping::MappingSpec {
            kind: c.kind,
            size: total,
            align: c.align,
            map: c.map,
            profile: c.profile,
        };
        vmemdiet::plan::plan(&spec.plan_config()).with_context(|| {
            format!(
                "{} {} x {} at align {} ({})",
                c.kind,
                c.threads,
                c.size,
                c.align.short(),
                c.profile
            )
        })?;
    }
    let pb = progress(configs.len() as u64, "mr");
    let mut rows = Vec::new();
    for c in &configs {
        rows.push(mr::run(c).with_context(|| {
            format!(
                "MR loop on {} at align {} ({})",
                c.size,
                c.align.short(),
                c.profile
            )
        })?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut t = table(&[
        "kind",
        "size",
        "align",
        "profile",
        "threads",
        "rounds",
        "per round",
        "pin",
        "sg",
        "release",
        "sg entries",
    ]);
    for r in &rows {
        t.add_row(vec![
            r.kind.to_string(),
            ByteSize::new(r.size).to_string(),
            ByteSize::new(r.align).short(),
            r.profile.to_string(),
            r.threads.to_string(),
            format!("{} in {:.3} s", r.rounds, r.seconds),
            us(r.us_per_round),
            us(r.pin_us),
            us(r.sg_us),
            us(r.release_us),
            r.sg_entries.to_string(),
        ]);
    }
    println!("{t}");
    println!("per round = thread-seconds / rounds; pin, sg and release split each round");
    Ok(())
}

fn pool_cmd(a: &PoolArgs) -> anyhow::Result<()> {
    let mut configs = Vec::new();
    for &size in &a.size {
        for &align in &a.align {
            for &profile in &a.profile {
                configs.push(PoolConfig {
                    size,
                    align,
                    profile,
                    runs: a.runs,
                });
            }
        }
    }
    for c in &configs {
        vmemdiet::plan::plan(
            &vmemdiet::plan::PlanConfig::new(c.size, c.align, MapMode::Mem, c.profile).hugetlb(),
        )
        .with_context(|| {
            format!(
                "a {} pool of {} pages ({})",
                c.size,
                c.align.short(),
                c.profile
            )
        })?;
    }
    let pb = progress(configs.len() as u64 * u64::from(a.runs), "hugetlb pool");
    let mut rows = Vec::new();
    for c in &configs {
        rows.push(
            hugetlb_pool::run(c, &mut || pb.inc(1))
                .with_context(|| format!("pool of {} ({})", c.size, c.profile))?,
        );
    }
    pb.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut t = table(&[
        "size",
        "page",
        "profile",
        "pages",
        "grow",
        "shrink",
        "memmap (RAM)",
    ]);
    for r in &rows {
        t.add_row(vec![
            ByteSize::new(r.size).to_string(),
            ByteSize::new(r.align).short(),
            r.profile.to_string(),
            r.pages.to_string(),
            us(r.alloc_us),
            us(r.free_us),
            human(r.memmap_bytes),
        ]);
    }
    println!("{t}");
    println!(
        "medians of {} runs after a warm-up; grow = nr_hugepages 0 -> pages, shrink = back to 0",
        a.runs
    );
    Ok(())
}
