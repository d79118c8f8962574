//! `vmemdiet probe`: the live system (or a copy, or ndctl/daxctl/cxl JSON) beside the model.

use std::path::{Path, PathBuf};

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::Profile;
use vmemdiet::probe::{self, KmemReport, NamespaceReport, Report, System};

use crate::output::{column_table, wrap, Column};

/// Arguments of `vmemdiet probe`.
#[derive(Debug, Args)]
#[command(
    after_help = "Reads /sys/bus/nd/devices (namespaces and their dax/pfn claims), /sys/bus/dax/devices (with resource, memmap_on_memory and the kmem driver link), /sys/devices/system/memory (block_size_bytes; each block's state, valid_zones, phys_index), /sys/module/memory_hotplug/parameters/memmap_on_memory, /proc/vmstat (nr_memmap_pages, nr_memmap_boot_pages), /sys/kernel/mm/hugepages, /proc/sys/vm/hugetlb_optimize_vmemmap and /proc/sys/kernel/osrelease, and prints the model's prediction beside each value. Dax devices bound to kmem (System RAM) get a second table beside plan_kmem.\nJSON keys: source, osrelease, profile, namespaces (name, mode, raw_bytes, map, align, start, usable_bytes, chardev, kmem, model_raw_bytes, model_usable_bytes, usable_diff_bytes, model_memmap_bytes, model_nr_memmap_pages, note), system_ram (name, source, start, size, block_size, param, device_memmap_on_memory, online_blocks, total_blocks, zones, not_online, self_hosted, usable_bytes, model (plan_kmem: blocks, block_size, memmap_on_memory, dram_reason, usable_bytes, memmap_bytes, device_memmap_bytes, nr_memmap_pages, ...), model_error, notes), pools, hugetlb_optimize_vmemmap, live_nr_memmap_pages, live_nr_memmap_boot_pages, model_nr_memmap_pages, model_memmap_bytes, notes."
)]
pub struct ProbeArgs {
    /// Read a copy of a system's /sys and /proc under DIR instead of the live ones.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["ndctl_json", "daxctl_json"])]
    root: Option<PathBuf>,
    /// Read the output of `ndctl list -N -v` (without -u) instead.
    #[arg(long, value_name = "FILE", conflicts_with = "daxctl_json")]
    ndctl_json: Option<PathBuf>,
    /// Read the output of `daxctl list` instead.
    #[arg(long, value_name = "FILE")]
    daxctl_json: Option<PathBuf>,
    /// Read the output of `cxl list -R`: its ram regions tell CXL devices from hmem ones (with
    /// --root or --daxctl-json), or alone are each modelled as a CXL device onlined as System
    /// RAM (the boot parameter taken as the kernel's default, n).
    #[arg(long, value_name = "FILE")]
    cxl_json: Option<PathBuf>,
    /// Model with this profile rather than the one the kernel release resolves to.
    #[arg(long, value_parser = crate::output::parse_profile)]
    profile: Option<Profile>,
    /// Machine-readable output: one object for the system, its namespaces and pools as
    /// arrays (empty when there are none).
    #[arg(long)]
    json: bool,
}

fn opt_size(b: Option<u64>) -> String {
    b.map_or_else(|| "-".into(), |b| ByteSize::new(b).short())
}

const COLUMNS: &[Column<NamespaceReport>] = &[
    ("device", |r| r.live.name.clone()),
    ("mode", |r| r.live.mode.clone()),
    ("map", |r| {
        r.live.map.map_or_else(|| "-".into(), |m| m.to_string())
    }),
    ("align", |r| opt_size(r.live.align)),
    ("namespace", |r| {
        match (r.live.raw_bytes, r.model_raw_bytes) {
            (Some(b), _) => ByteSize::new(b).short(),
            (None, Some(m)) => format!(">={} (model)", ByteSize::new(m).short()),
            (None, None) => "-".into(),
        }
    }),
    ("usable", |r| opt_size(r.live.usable_bytes)),
    ("model", |r| opt_size(r.model_usable_bytes)),
    ("memmap", |r| {
        r.model_memmap_bytes
            .map_or_else(|| "-".into(), |b| ByteSize::new(b).to_string())
    }),
];

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// The system the arguments name: a JSON listing, a copy of /sys and /proc, the live one, or
/// the ram regions of `cxl list -R` alone; with the CXL regions beside it.
fn read_system(a: &ProbeArgs) -> anyhow::Result<System> {
    let regions = a
        .cxl_json
        .as_deref()
        .map(probe::read_cxl_json)
        .transpose()?;
    let mut sys = if let Some(f) = &a.ndctl_json {
        probe::read_ndctl_json(f)?
    } else if let Some(f) = &a.daxctl_json {
        probe::read_daxctl_json(f)?
    } else if let (None, Some(f), Some(regions)) = (&a.root, &a.cxl_json, &regions) {
        let mut sys = System::empty(f.display().to_string());
        sys.kmem = regions
            .iter()
            .filter_map(probe::CxlRegion::as_kmem)
            .collect();
        sys
    } else {
        probe::read_root(a.root.as_deref().unwrap_or(Path::new("/")))?
    };
    sys.cxl_regions = regions.unwrap_or_default();
    Ok(sys)
}

pub fn run(a: &ProbeArgs) -> anyhow::Result<()> {
    let sys = read_system(a)?;
    let r: Report = probe::compare(&sys, a.profile);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if r.is_empty() {
        println!(
            "no device memory: no nvdimm namespace, device-dax device or System RAM from one in {}",
            r.source
        );
        return Ok(());
    }
    if !r.namespaces.is_empty() {
        println!("{}", column_table(COLUMNS, &r.namespaces));
    }
    let legend = if r.namespaces.is_empty() {
        ""
    } else {
        "; usable = the dax device as the system shows it, model = nd_pfn_init's prediction from the namespace size, memmap = RAM the model says its struct pages take"
    };
    let mut lines = vec![format!(
        "kernel {} -> model profile {}{legend}.",
        or_dash(r.osrelease.as_deref()),
        r.profile
    )];
    lines.push(format!(
        "/proc/vmstat nr_memmap_pages: live {}, model {}; nr_memmap_boot_pages: live {}.",
        or_dash(r.live_nr_memmap_pages),
        or_dash(r.model_nr_memmap_pages),
        or_dash(r.live_nr_memmap_boot_pages)
    ));
    lines.extend(pools_line(&r));
    for n in &r.namespaces {
        if let Some(note) = &n.note {
            lines.push(format!("{}: {note}", n.live.name));
        }
    }
    lines.extend(r.notes.iter().cloned());
    for l in lines {
        println!("{}", wrap(&l, 80));
    }
    if !r.system_ram.is_empty() {
        print_system_ram(&r.system_ram);
    }
    Ok(())
}

/// The HugeTLB pools and the HVO sysctl, when the system shows either.
fn pools_line(r: &Report) -> Option<String> {
    if r.pools.is_empty() && r.hugetlb_optimize_vmemmap.is_none() {
        return None;
    }
    let pools = r
        .pools
        .iter()
        .map(|p| {
            format!(
                "{} x {}",
                p.nr_hugepages,
                ByteSize::new(p.page_size).short()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "HugeTLB pools: {}; hugetlb_optimize_vmemmap: {}.",
        if pools.is_empty() {
            "none".into()
        } else {
            pools
        },
        r.hugetlb_optimize_vmemmap
            .map_or("-", |on| if on { "1" } else { "0" })
    ))
}

fn yes_no(b: Option<bool>) -> String {
    b.map_or_else(|| "-".into(), |b| if b { "yes" } else { "no" }.into())
}

/// The System RAM table: live beside `plan_kmem`, each pair "live | model".
const KMEM_COLUMNS: &[Column<KmemReport>] = &[
    ("device", |r| r.name.clone()),
    ("online", |r| match (r.online_blocks, r.total_blocks) {
        (Some(o), Some(t)) => format!("{o}/{t}"),
        _ => "-".into(),
    }),
    ("model", |r| {
        r.model
            .as_ref()
            .map_or_else(|| "-".into(), |m| format!("{0}/{0}", m.blocks))
    }),
    ("self-hosted", |r| yes_no(r.self_hosted)),
    ("model", |r| {
        yes_no(r.model.as_ref().map(|m| m.memmap_on_memory))
    }),
    ("DRAM", |r| {
        opt_size(r.model.as_ref().map(|m| m.memmap_bytes))
    }),
    ("usable", |r| opt_size(r.usable_bytes)),
    ("model", |r| {
        opt_size(r.model.as_ref().map(|m| m.usable_bytes))
    }),
];

/// The second table, its legend and each device's notes.
fn print_system_ram(rows: &[KmemReport]) {
    println!("\nSystem RAM from device memory");
    println!("{}", column_table(KMEM_COLUMNS, rows));
    let mut lines = vec!["online = blocks online / blocks in the device's range, model = blocks dax_kmem hot-adds (all onlined); self-hosted = each block holds its own memmap (live: inferred from memory_hotplug.memmap_on_memory, the device's memmap_on_memory and the kernel); DRAM = the model's memmap in RAM; usable = online blocks less their self-hosted memmap.".to_string()];
    for r in rows {
        let source = format!("{}: modelled as {}", r.name, r.source);
        lines.push(
            std::iter::once(source)
                .chain(r.notes.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ")
                + ".",
        );
    }
    for l in lines {
        println!("{}", wrap(&l, 80));
    }
}
