//! `vmemdiet plan`.

use anyhow::Context;
use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::drivers::dax::{valid_aligns, DaxError};
use vmemdiet::mm::profile::Profile;
use vmemdiet::ndctl::{self, NdctlSize, Region};
use vmemdiet::plan::{
    namespace_capacity, plan, smallest_namespace, Capacity, Kind, PlanConfig, PlanError, PlanRow,
    DEFAULT_RAM,
};
use vmemdiet::simulate::simulate_namespace;
use vmemdiet::workload::configs::{expand, ConfigError, Options};

use crate::output::{
    at_va_bits, column_table, human, narrow_table, parse_size, print_json, progress, size_short,
    term_width, wrap, Column, StepLog, SwitchArgs,
};

/// Arguments of `vmemdiet plan`.
#[derive(Debug, Args)]
#[command(
    after_help = "With only --size, the table compares 4K/2M/1G under v5.10 and the default profile (the seeds' headline), with the memmap in RAM and on the device.\n--size is the raw namespace size, as ndctl create-namespace -s takes it (ndctl's syntax and checks: 16M at least, a multiple of the region align and of align x interleave ways); usable is the dax device it yields by the kernel's nd_pfn_init rules, reserve the rest. --usable SIZE asks the inverse: the smallest namespace that yields SIZE, and the ndctl command that creates it.\nJSON keys: size, align, map, profile, arch, memmap_bytes, pagetable_bytes, device_bytes, struct_pages, struct_pages_initialized, nr_memmap_pages and nr_memmap_boot_pages (how the /proc/vmstat counters change, in pages, as the profile's kernel counts them; null before 6.11), struct_page_size, simulated, usable_bytes (the dax device size), reserve_bytes (size - usable_bytes); with --usable also usable_requested and command."
)]
pub struct PlanArgs {
    /// Raw namespace size, as ndctl create-namespace -s takes it: decimal, 0x hex or 0-prefixed octal, with an optional binary suffix k, m, g, t (also KiB..TiB); a comma list gives rows for each.
    #[arg(long, value_parser = parse_ndctl_size, value_delimiter = ',', default_value = "1TiB", conflicts_with = "usable")]
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
    /// [default: 256G; for a HugeTLB pool, raised to hold the pool, its memmap and 8 GiB]
    #[arg(long, value_parser = parse_size)]
    ram: Option<ByteSize>,
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
    // Exact, in ndctl's short form (1048574M): capacity is what users provision by.
    ("usable", |(_, r)| {
        r.usable_bytes
            .map_or_else(|| "-".into(), |b| ByteSize::new(b).short())
    }),
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
    // Exact (1048574M): a rounded "1024.00 GiB" would overstate it.
    ("usable", |(_, r)| {
        r.usable_bytes
            .map_or_else(|| "-".into(), |b| ByteSize::new(b).short())
    }),
    ("reserve", |(_, r)| {
        r.reserve_bytes.map_or_else(|| "-".into(), human)
    }),
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
    let headline = a.align.is_empty() && a.profile.is_empty() && a.usable.is_none();
    let profiles = a.switches.apply_all(&if !a.profile.is_empty() {
        a.profile.clone()
    } else if headline && !across {
        vec![Profile::V5_10, Profile::default()]
    } else {
        vec![Profile::default()]
    })?;
    let maps = if a.map.is_empty() {
        vec![MapMode::Mem, MapMode::Dev]
    } else {
        a.map.clone()
    };
    // The aligns of a row: the user's, or the arch's own (all it offers in the headline, else
    // its PMD size, ndctl's default).
    let aligns_of = |g: &vmemdiet::arch::Geometry, profile: Profile| {
        if !a.align.is_empty() {
            a.align.clone()
        } else if headline {
            valid_aligns(g, profile.base().release())
        } else {
            vec![g.pmd_size()]
        }
    };
    if let Some(usable) = a.usable {
        let [arch] = arches[..] else {
            anyhow::bail!("--usable answers for one --arch at a time");
        };
        let g = arch.geometry_with(a.struct_page_size);
        let region = region_of(a, g)?;
        let aligns = aligns_of(g, profiles[profiles.len() - 1]);
        return run_usable(a, arch, usable, &region, aligns, maps, profiles);
    }
    // Every configuration is checked before any is simulated: ndctl's checks first, as ndctl
    // runs them before the kernel sees the namespace. Across architectures, what an arch does
    // not offer (an align, a profile before its device-dax, a size beyond its reach) is noted,
    // not fatal; so is a default profile an arch predates.
    let mut configs = Vec::new();
    let mut capacities = Vec::new();
    let mut not_offered = Vec::new();
    for &arch in &arches {
        let g = arch.geometry_with(a.struct_page_size);
        let region = region_of(a, g)?;
        for &profile in &profiles {
            for align in aligns_of(g, profile) {
                // ndctl's checks come first, as ndctl runs them before the kernel sees the
                // namespace; an align this arch does not offer is noted across architectures.
                if a.kind.iter().any(|&k| k != Kind::Hugetlb) {
                    let release = profile.base().release();
                    let refused = a.size.iter().find_map(|size| {
                        ndctl::validate_namespace_options(g, release, size, align, &region).err()
                    });
                    match refused {
                        Some(e @ ndctl::NdctlError::UnsupportedAlign { .. }) if across => {
                            let note = arch_note(arch, &e.to_string());
                            if !not_offered.contains(&note) {
                                not_offered.push(note);
                            }
                            continue;
                        }
                        Some(e) => return Err(e.into()),
                        None => {}
                    }
                }
                let checked = (|| -> Result<Vec<(PlanConfig, Capacity)>, ConfigError> {
                    let mut out = Vec::new();
                    for &kind in &a.kind {
                        let found = expand::<PlanConfig>(&Options {
                            kinds: vec![kind],
                            sizes: a.size.iter().map(|s| s.bytes).collect(),
                            aligns: vec![align],
                            maps: if a.map.is_empty() && kind == Kind::Hugetlb {
                                vec![MapMode::Mem]
                            } else {
                                maps.clone()
                            },
                            profiles: vec![profile],
                            arch,
                            ram: a.ram.unwrap_or(DEFAULT_RAM),
                            struct_page_size: a.struct_page_size,
                            ..Options::default()
                        })?;
                        for c in found {
                            // The size as the user typed it, for ndctl's wording.
                            let given = a
                                .size
                                .iter()
                                .find(|s| s.bytes == c.size)
                                .unwrap_or(&a.size[0]);
                            let cap = namespace_capacity(&c, given, &region).map_err(|error| {
                                ConfigError::Plan {
                                    config: c.to_string(),
                                    error,
                                }
                            })?;
                            out.push((c, cap));
                        }
                    }
                    Ok(out)
                })();
                let e = match checked {
                    Ok(found) => {
                        for (c, cap) in found {
                            configs.push(c);
                            capacities.push(cap);
                        }
                        continue;
                    }
                    Err(e) => e,
                };
                let noted = match &e {
                    ConfigError::Plan { error, .. } => match error {
                        PlanError::Dax(DaxError::UnsupportedAlign { .. })
                        | PlanError::TooLarge { .. }
                        | PlanError::RamTooLarge { .. } => across,
                        PlanError::ArchTooNew { .. } => across || a.profile.is_empty(),
                        _ => false,
                    },
                    _ => false,
                };
                let ConfigError::Plan { error, .. } = &e else {
                    return Err(e.into());
                };
                if !noted {
                    return Err(e.into());
                }
                let note = arch_note(arch, &error.to_string());
                if !not_offered.contains(&note) {
                    not_offered.push(note);
                }
            }
        }
    }
    if configs.is_empty() {
        anyhow::bail!("nothing to plan: {}", not_offered.join("; "));
    }
    // A --ram the user gave is honoured: a HugeTLB pool that does not fit in it is refused
    // (without --ram the machine grows to hold the pool).
    if let Some(ram) = a.ram {
        if let Some(c) = configs
            .iter()
            .find(|c| c.kind == Kind::Hugetlb && c.machine_ram() > ram)
        {
            anyhow::bail!(
                "{c}: a {} HugeTLB pool needs at least {} of RAM (the pool, its boot memmap and 8 GiB for the rest); --ram {ram} is too small (leave --ram out to size the machine for the pool)",
                c.size,
                c.machine_ram()
            );
        }
    }
    // Rows in the order of the option lists: arch, kind, size, profile, map, align.
    let pos = |list: &[u64], x: u64| list.iter().position(|&y| y == x).unwrap_or(usize::MAX);
    let mut pairs: Vec<(PlanConfig, Capacity)> = configs.into_iter().zip(capacities).collect();
    pairs.sort_by_key(|(c, _)| {
        let g = c.arch.geometry_with(a.struct_page_size);
        let aligns: Vec<u64> = aligns_of(g, c.profile).iter().map(|x| x.bytes()).collect();
        (
            arches.iter().position(|&x| x == c.arch),
            a.kind.iter().position(|&k| k == c.kind),
            pos(
                &a.size.iter().map(|s| s.bytes.bytes()).collect::<Vec<_>>(),
                c.size.bytes(),
            ),
            profiles.iter().position(|&p| p == c.profile),
            maps.iter().position(|&m| m == c.map),
            pos(&aligns, c.align.bytes()),
        )
    });
    let (configs, capacities): (Vec<PlanConfig>, Vec<Capacity>) = pairs.into_iter().unzip();
    let pb = progress(
        configs.len() as u64,
        if a.simulate { "simulating" } else { "planning" },
    );
    let mut rows = Vec::new();
    let mut log = StepLog::new(if a.simulate { configs.len() } else { 0 });
    for (c, &cap) in configs.iter().zip(&capacities) {
        let (cost, cap) = if a.simulate {
            simulate_namespace(c).with_context(|| {
                format!(
                    "simulating {} at align {} ({})",
                    c.size,
                    c.align.short(),
                    c.profile
                )
            })?
        } else {
            (plan(c)?, cap)
        };
        rows.push(PlanRow::new(c, cost, a.simulate).with_capacity(Some(cap)));
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
            "{how}: memmap = struct-page frames in RAM; page tables = vmemmap page tables in the bytes the kernel allocates; on device = --map=dev reserve; usable = the dax device the namespace yields; reserve = size - usable."
        );
    } else {
        // Within the terminal's width (80 columns at least): "% size" gives way first (--wide
        // keeps "% of size"), then, in tables that still do not fit (several kinds or
        // architectures), vmstat and the page tables.
        let width_limit = term_width();
        let mut keep: Vec<&str> = NARROW_COLUMNS.iter().map(|c| c.0).collect();
        let droppable: &[&str] = if across {
            &["kind", "arch", "map", "on dev", "profile"]
        } else {
            &["kind", "arch", "map", "on dev"]
        };
        let mut dropped = Vec::new();
        let (t, notes) = loop {
            let (t, notes) = narrow_table(NARROW_COLUMNS, &rows, &keep, droppable);
            let width = t
                .to_string()
                .lines()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0);
            match ["% size", "vmstat", "tables"]
                .into_iter()
                .find(|c| !dropped.contains(c))
            {
                Some(c) if width > width_limit => {
                    keep.retain(|&k| k != c);
                    dropped.push(c);
                }
                _ => break (t, notes),
            }
        };
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
            "{} namespace{} {constant}, {how}.\nmemmap = struct-page frames in RAM; tables = vmemmap page tables;\non dev = --map=dev reserve; usable = the dax device (nd_pfn_init);\nvmstat = nr_memmap_pages as the kernel reports it (- before 6.11).\n--wide for every column{}, --json for tools.",
            match a.size.as_slice() {
                [one] => one.bytes.to_string(),
                many => format!("{} sizes,", many.len()),
            },
            if constant.is_empty() { "" } else { "," },
            {
                let shown: Vec<&str> = dropped
                    .iter()
                    .copied()
                    .filter(|&c| c != "% size")
                    .collect();
                if shown.is_empty() {
                    String::new()
                } else {
                    format!(" ({} left out here)", shown.join(", "))
                }
            }
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

/// A "not offered" note: the arch's name, then the error without naming it again.
fn arch_note(arch: Arch, error: &str) -> String {
    format!("{arch}: {}", error.replace(&format!(" on {arch}"), ""))
}

/// The region a namespace is carved from: `--region-align`, or the kernel's default for it.
fn region_of(a: &PlanArgs, g: &vmemdiet::arch::Geometry) -> anyhow::Result<Region> {
    Ok(match a.region_align {
        Some(align) => Region::with_align(g, a.interleave_ways, align)?,
        None => Region::with_default_align(g, a.interleave_ways, ByteSize::new(u64::MAX))?,
    })
}

/// `plan --usable`: per align, map and profile, the smallest namespace that yields `usable`,
/// what it costs, and the `ndctl create-namespace` command that makes it.
fn run_usable(
    a: &PlanArgs,
    arch: Arch,
    usable: ByteSize,
    region: &Region,
    aligns: Vec<ByteSize>,
    maps: Vec<MapMode>,
    profiles: Vec<Profile>,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for &kind in &a.kind {
        for &profile in &profiles {
            for &map in &maps {
                for &align in &aligns {
                    let template = PlanConfig {
                        size: ByteSize::new(0),
                        align,
                        map,
                        profile,
                        arch,
                        ram_size: a.ram.unwrap_or(DEFAULT_RAM),
                        kind,
                        struct_page_size: a.struct_page_size,
                    };
                    let size = smallest_namespace(&template, region, usable).map_err(|error| {
                        ConfigError::Plan {
                            config: format!(
                                "--usable {} at align {} ({profile}, map={map})",
                                usable.short(),
                                align.short()
                            ),
                            error,
                        }
                    })?;
                    let c = PlanConfig { size, ..template };
                    let (cost, cap) = if a.simulate {
                        simulate_namespace(&c).with_context(|| format!("simulating {c}"))?
                    } else {
                        let text = ndctl::parse_size_arg(&size.bytes().to_string())?;
                        (plan(&c)?, namespace_capacity(&c, &text, region)?)
                    };
                    rows.push((
                        kind,
                        PlanRow::new(&c, cost, a.simulate).with_capacity(Some(cap)),
                        ndctl::create_namespace_command(size, align, map),
                    ));
                }
            }
        }
    }
    if a.json {
        let out = rows
            .iter()
            .map(|(_, r, cmd)| {
                let mut v = serde_json::to_value(r)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("usable_requested".into(), usable.bytes().into());
                    o.insert("command".into(), cmd.clone().into());
                }
                Ok(v)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        return print_json(&out);
    }
    let table_rows: Vec<(Kind, PlanRow)> = rows.iter().map(|(k, r, _)| (*k, *r)).collect();
    let keep = [
        "kind",
        "align",
        "map",
        "profile",
        "namespace",
        "usable",
        "memmap",
        "on dev",
    ];
    let (t, notes) = narrow_table(
        USABLE_COLUMNS,
        &table_rows,
        &keep,
        &["kind", "align", "map", "profile"],
    );
    println!("{t}");
    let shared = notes.join(", ");
    println!(
        "{}",
        crate::output::wrap(
            &format!(
                "The smallest namespace yielding at least {usable} of dax device{}{shared}, on {}; namespace = ndctl --size, usable = the dax device, memmap = RAM, on dev = --map=dev reserve. Create it with:",
                if shared.is_empty() { "" } else { "; every row: " },
                arch
            ),
            80
        )
    );
    let mut seen = Vec::new();
    for (_, _, cmd) in &rows {
        if !seen.contains(cmd) {
            println!("  {cmd}");
            seen.push(cmd.clone());
        }
    }
    Ok(())
}

/// The columns of `plan --usable`.
const USABLE_COLUMNS: &[Column<(Kind, PlanRow)>] = &[
    ("kind", |(k, _)| k.to_string()),
    ("align", |(_, r)| ByteSize::new(r.align).short()),
    ("map", |(_, r)| r.map.to_string()),
    ("profile", |(_, r)| r.profile.to_string()),
    ("namespace", |(_, r)| ByteSize::new(r.size).short()),
    ("usable", |(_, r)| {
        r.usable_bytes
            .map_or_else(|| "-".into(), |b| ByteSize::new(b).short())
    }),
    ("memmap", |(_, r)| size_short(r.memmap_bytes)),
    ("on dev", |(_, r)| size_short(r.device_bytes)),
];
