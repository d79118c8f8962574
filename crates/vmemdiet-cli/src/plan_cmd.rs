//! `vmemdiet plan`.

use anyhow::Context;
use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::{plan, Kind, PlanConfig, PlanRow, DEFAULT_RAM};
use vmemdiet::simulate::simulate;
use vmemdiet::workload::configs::{expand, Options};

use crate::output::{
    column_table, human, narrow_table, parse_size, print_json, progress, size_short, Column,
    StepLog, SwitchArgs,
};

/// Arguments of `vmemdiet plan`.
#[derive(Debug, Args)]
#[command(
    after_help = "With only --size, the table compares 4K/2M/1G under v5.10 and the default profile (the seeds' headline).\nJSON keys: size, align, map, profile, arch, memmap_bytes, pagetable_bytes, device_bytes, struct_pages, struct_pages_initialized, nr_memmap_pages and nr_memmap_boot_pages (how the /proc/vmstat counters change, in pages, as the profile's kernel counts them; null before 6.11), struct_page_size, simulated."
)]
pub struct PlanArgs {
    /// Device size (binary suffixes: 2M, 64G, 1TiB).
    #[arg(long, value_parser = parse_size, default_value = "1TiB")]
    size: ByteSize,
    /// Device-dax alignment(s): 4K, 2M, 1G; a comma list gives one row each [default: 2M, or 4K,2M,1G when no --profile is given either].
    #[arg(long, value_parser = parse_size, value_delimiter = ',')]
    align: Vec<ByteSize>,
    /// Where the memmap lives: mem (System RAM) or dev (carved from the device, ndctl --map=dev); a comma list gives one row each.
    #[arg(long, value_delimiter = ',', default_value = "mem")]
    map: Vec<MapMode>,
    /// Kernel profile(s): v5.10, rfc, v5.19, v6.12, v6.15, mm-2026, next, each optionally with +switch=value overrides [default: v6.15, or v5.10,v6.15 when no --align is given either].
    #[arg(long, value_delimiter = ',')]
    profile: Vec<Profile>,
    #[command(flatten)]
    switches: SwitchArgs,
    /// What the memory is: devdax (a device-dax device), hugetlb (a HugeTLB pool in RAM) or
    /// devdax-fsdev (device-dax bound to the famfs fsdev driver: order-0 folios, no dedup); a
    /// comma list gives rows for each, kinds in the order given.
    #[arg(long, value_delimiter = ',', default_value = "devdax")]
    kind: Vec<Kind>,
    /// Architecture geometry: x86_64 (4-level paging, 64 TiB) or x86_64-la57 (5-level).
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// System RAM of the simulated machine (places the device region above it).
    #[arg(long, value_parser = parse_size, default_value_t = DEFAULT_RAM)]
    ram: ByteSize,
    /// sizeof(struct page) in bytes: 64 (today) or a memdesc what-if, 32, 16 or 8; the memmap,
    /// what dedup still saves, and nr_memmap_pages follow (device-dax only).
    #[arg(long, default_value_t = 64, value_parser = parse_struct_page_size)]
    struct_page_size: u64,
    /// Build each configuration on the simulated machine and report measured counts.
    #[arg(long)]
    simulate: bool,
    /// Machine-readable output: an object for one configuration, an array for several.
    #[arg(long)]
    json: bool,
    /// Every column (kind, size, map, exact counts): wider than 80 columns.
    #[arg(long)]
    wide: bool,
}

/// The columns that fit an 80-column terminal; a column whose value is the same on every row
/// is dropped to the line under the table (see [`narrow_table`]).
const NARROW_COLUMNS: &[Column<(Kind, PlanRow)>] = &[
    ("kind", |(k, _)| k.to_string()),
    ("align", |(_, r)| ByteSize::new(r.align).short()),
    ("map", |(_, r)| r.map.to_string()),
    ("profile", |(_, r)| r.profile.to_string()),
    ("memmap", |(_, r)| size_short(r.memmap_bytes)),
    ("% size", |(_, r)| {
        #[allow(clippy::cast_precision_loss)]
        let pct = r.memmap_bytes as f64 * 100.0 / r.size as f64;
        match pct {
            0.0 => "0".into(),
            p if p < 0.0001 => "<0.0001".into(),
            p if p < 0.01 => format!("{p:.4}"),
            p => format!("{p:.2}"),
        }
    }),
    ("tables", |(_, r)| size_short(r.pagetable_bytes)),
    ("on dev", |(_, r)| size_short(r.device_bytes)),
    ("vmstat", |(_, r)| {
        r.nr_memmap_pages.map_or_else(|| "-".into(), count)
    }),
];

/// A count for people: exact below a million, else `268.4M` / `4.29G`.
fn count(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n < 1_000_000 {
        n.to_string()
    } else if n < 1_000_000_000 {
        format!("{:.1}M", f / 1e6)
    } else {
        format!("{:.2}G", f / 1e9)
    }
}

/// Every column, for `--wide`.
const PLAN_COLUMNS: &[Column<(Kind, PlanRow)>] = &[
    ("kind", |(k, _)| k.to_string()),
    ("size", |(_, r)| ByteSize::new(r.size).to_string()),
    ("align", |(_, r)| ByteSize::new(r.align).short()),
    ("map", |(_, r)| r.map.to_string()),
    ("profile", |(_, r)| r.profile.to_string()),
    ("memmap (RAM)", |(_, r)| human(r.memmap_bytes)),
    ("% of size", |(_, r)| {
        #[allow(clippy::cast_precision_loss)]
        let pct = r.memmap_bytes as f64 * 100.0 / r.size as f64;
        format!("{pct:.4} %")
    }),
    ("page tables", |(_, r)| human(r.pagetable_bytes)),
    ("on device", |(_, r)| human(r.device_bytes)),
    ("struct pages", |(_, r)| r.struct_pages.to_string()),
    ("initialized", |(_, r)| {
        r.struct_pages_initialized.to_string()
    }),
    // As /proc/vmstat reports it: "-" where the kernel has no such counter.
    ("nr_memmap_pages", |(_, r)| {
        r.nr_memmap_pages
            .map_or_else(|| "-".into(), |n| n.to_string())
    }),
];

/// `--struct-page-size`: one of the sizes the what-if models.
fn parse_struct_page_size(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|n| vmemdiet::arch::STRUCT_PAGE_SIZES.contains(n))
        .ok_or_else(|| format!("'{s}' bytes: give 64 (today), 32, 16 or 8 (memdesc what-ifs)"))
}

pub fn run(a: &PlanArgs) -> anyhow::Result<()> {
    let headline = a.align.is_empty() && a.profile.is_empty();
    let aligns = if !a.align.is_empty() {
        a.align.clone()
    } else if headline {
        vec![ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)]
    } else {
        vec![ByteSize::mib(2)]
    };
    let profiles = a.switches.apply_all(&if !a.profile.is_empty() {
        a.profile.clone()
    } else if headline {
        vec![Profile::V5_10, Profile::default()]
    } else {
        vec![Profile::default()]
    })?;
    // Every configuration is checked before any is simulated.
    let configs = expand::<PlanConfig>(&Options {
        kinds: a.kind.clone(),
        sizes: vec![a.size],
        aligns,
        maps: a.map.clone(),
        profiles,
        arch: a.arch,
        ram: a.ram,
        struct_page_size: a.struct_page_size,
        ..Options::default()
    })?;
    let pb = progress(
        configs.len() as u64,
        if a.simulate { "simulating" } else { "planning" },
    );
    let mut rows = Vec::new();
    let mut log = StepLog::new(if a.simulate { configs.len() } else { 0 });
    for c in &configs {
        let cost = if a.simulate {
            simulate(c).with_context(|| {
                format!(
                    "simulating {} at align {} ({})",
                    c.size,
                    c.align.short(),
                    c.profile
                )
            })?
        } else {
            plan(c)?
        };
        rows.push(PlanRow::new(c, cost, a.simulate));
        pb.inc(1);
        log.done(&c.to_string());
    }
    pb.finish_and_clear();
    if a.json {
        return print_json(&rows);
    }
    let rows: Vec<(Kind, PlanRow)> = configs.iter().map(|c| c.kind).zip(rows).collect();
    let how = if a.simulate {
        "measured on the simulated machine"
    } else {
        "planned (closed form)"
    };
    if a.wide {
        println!("{}", column_table(PLAN_COLUMNS, &rows));
        println!(
            "{how} on {}: memmap = struct-page frames in RAM; page tables = vmemmap page-table frames; on device = --map=dev reserve.",
            a.arch
        );
    } else {
        let keep: Vec<&str> = NARROW_COLUMNS.iter().map(|c| c.0).collect();
        let (t, notes) = narrow_table(NARROW_COLUMNS, &rows, &keep, &["kind", "map", "on dev"]);
        // "kind devdax" reads as "devdax"; nothing on the device needs no mention.
        let constant = notes
            .iter()
            .filter(|n| n.as_str() != "on dev 0")
            .map(|n| n.strip_prefix("kind ").unwrap_or(n).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        println!("{t}");
        println!(
            "{} {constant} on {}, {how}.\nmemmap = struct-page frames in RAM; % of the device; tables = vmemmap page\ntables; on dev = --map=dev reserve; vmstat = nr_memmap_pages as the kernel\nreports it (- before 6.11). --wide for every column, --json for tools.",
            a.size, a.arch
        );
    }
    Ok(())
}
