//! `vmemdiet plan`.

use anyhow::Context;
use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::{plan, Kind, PlanConfig, PlanRow, DEFAULT_RAM};
use vmemdiet::simulate::simulate;
use vmemdiet::drivers::dax::{valid_aligns, DaxError};
use vmemdiet::plan::PlanError;
use vmemdiet::workload::configs::{expand, ConfigError, Options};

use crate::output::{
    at_va_bits,
    column_table, human, narrow_table, parse_size, print_json, progress, size_short, wrap,
    Column, StepLog, SwitchArgs,
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
    ("arch", |(_, r)| r.arch.to_string()),
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
    ("arch", |(_, r)| r.arch.to_string()),
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

/// `--struct-page-size`: one of the sizes the what-if models.
fn parse_struct_page_size(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|n| vmemdiet::arch::STRUCT_PAGE_SIZES.contains(n))
        .ok_or_else(|| format!("'{s}' bytes: give 64 (today), 32, 16 or 8 (memdesc what-ifs)"))
}

pub fn run(a: &PlanArgs) -> anyhow::Result<()> {
    let arches: Vec<Arch> = a
        .arch
        .0
        .iter()
        .map(|&arch| match a.va_bits {
            Some(_) if a.arch.0.len() > 1 && !arch.to_string().starts_with("arm64") => Ok(arch),
            _ => at_va_bits(arch, a.va_bits),
        })
        .collect::<anyhow::Result<_>>()?;
    let across = arches.len() > 1;
    let headline = a.align.is_empty() && a.profile.is_empty();
    let profiles = a.switches.apply_all(&if !a.profile.is_empty() {
        a.profile.clone()
    } else if headline && !across {
        vec![Profile::V5_10, Profile::default()]
    } else {
        vec![Profile::default()]
    })?;
    // Every configuration is checked before any is simulated. Across architectures, what an
    // arch does not offer (an align, a profile before its device-dax) is noted, not fatal.
    let mut configs = Vec::new();
    let mut not_offered = Vec::new();
    for &arch in &arches {
        let g = arch.geometry();
        for &profile in &profiles {
            let aligns = if !a.align.is_empty() {
                a.align.clone()
            } else if headline {
                valid_aligns(g, profile.base().release())
            } else {
                vec![g.pmd_size()]
            };
            for &align in &aligns {
                let o = Options {
                    kinds: a.kind.clone(),
                    sizes: vec![a.size],
                    aligns: vec![align],
                    maps: a.map.clone(),
                    profiles: vec![profile],
                    arch,
                    ram: a.ram,
                    struct_page_size: a.struct_page_size,
                    ..Options::default()
                };
                let e = match expand::<PlanConfig>(&o) {
                    Ok(c) => {
                        configs.extend(c);
                        continue;
                    }
                    Err(e) => e,
                };
                // What the arch lacks is noted, not fatal, where we chose the value (a default
                // profile) or the user asked across architectures.
                let noted = match &e {
                    ConfigError::Plan { error, .. } => match error {
                        PlanError::Dax(DaxError::UnsupportedAlign { .. }) => across,
                        PlanError::ArchTooNew { .. } => across || a.profile.is_empty(),
                        PlanError::TooLarge { .. } | PlanError::RamTooLarge { .. } => across,
                        _ => false,
                    },
                    _ => false,
                };
                if !noted {
                    return Err(e.into());
                }
                let ConfigError::Plan { error, .. } = e else {
                    unreachable!("matched above")
                };
                let note = format!("{arch}: {error}");
                if !not_offered.contains(&note) {
                    not_offered.push(note);
                }
            }
        }
    }
    if configs.is_empty() {
        anyhow::bail!("nothing to plan: {}", not_offered.join("; "));
    }
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
            "{how}: memmap = struct-page frames in RAM; page tables = vmemmap page tables in the bytes the kernel allocates; on device = --map=dev reserve."
        );
    } else {
        // Across architectures the arch column takes the room of the vmstat one (in --wide
        // and --json), and a profile every row shares goes under the table.
        let keep: Vec<&str> = NARROW_COLUMNS
            .iter()
            .map(|c| c.0)
            .filter(|&c| !(across && c == "vmstat"))
            .collect();
        let droppable: &[&str] = if across {
            &["kind", "arch", "map", "on dev", "profile"]
        } else {
            &["kind", "arch", "map", "on dev"]
        };
        let (t, notes) = narrow_table(NARROW_COLUMNS, &rows, &keep, droppable);
        // "kind devdax" reads as "devdax", "arch x86_64" as "on x86_64"; nothing on the device
        // needs no mention.
        let constant = notes
            .iter()
            .filter(|n| n.as_str() != "on dev 0")
            .map(|n| {
                n.strip_prefix("kind ")
                    .map(str::to_string)
                    .or_else(|| n.strip_prefix("arch ").map(|a| format!("on {a}")))
                    .unwrap_or_else(|| n.clone())
            })
            .collect::<Vec<_>>()
            .join(", ");
        println!("{t}");
        println!(
            "{} {constant}, {how}.\nmemmap = struct-page frames in RAM; % of the device; tables = vmemmap page\ntables; on dev = --map=dev reserve; vmstat = nr_memmap_pages as the kernel\nreports it (- before 6.11). --wide for every column, --json for tools.",
            a.size
        );
    }
    if !not_offered.is_empty() {
        eprintln!("Not offered:");
        for n in &not_offered {
            eprintln!("{}", wrap(&format!("  {n}"), 80));
        }
    }
    Ok(())
}
