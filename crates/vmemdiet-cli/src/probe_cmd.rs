//! `vmemdiet probe`: the live system (or a copy, or ndctl/daxctl JSON) beside the model.

use std::path::PathBuf;

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::Profile;
use vmemdiet::probe::{self, NamespaceReport, Report};

use crate::output::{column_table, wrap, Column};

/// Arguments of `vmemdiet probe`.
#[derive(Debug, Args)]
#[command(
    after_help = "Reads /sys/bus/nd/devices (namespaces and their dax/pfn claims), /sys/bus/dax/devices, /proc/vmstat (nr_memmap_pages, nr_memmap_boot_pages), /sys/kernel/mm/hugepages, /proc/sys/vm/hugetlb_optimize_vmemmap and /proc/sys/kernel/osrelease, and prints the model's prediction beside each value.\nJSON keys: source, osrelease, profile, namespaces (name, mode, raw_bytes, map, align, start, usable_bytes, chardev, model_raw_bytes, model_usable_bytes, usable_diff_bytes, model_memmap_bytes, model_nr_memmap_pages, note), pools, hugetlb_optimize_vmemmap, live_nr_memmap_pages, live_nr_memmap_boot_pages, model_nr_memmap_pages, model_memmap_bytes, notes."
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

pub fn run(a: &ProbeArgs) -> anyhow::Result<()> {
    let sys = if let Some(f) = &a.ndctl_json {
        probe::read_ndctl_json(f)?
    } else if let Some(f) = &a.daxctl_json {
        probe::read_daxctl_json(f)?
    } else {
        probe::read_root(a.root.as_deref().unwrap_or(std::path::Path::new("/")))?
    };
    let r: Report = probe::compare(&sys, a.profile);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if r.is_empty() {
        println!(
            "no device memory: no nvdimm namespace or device-dax device in {}",
            r.source
        );
        return Ok(());
    }
    println!("{}", column_table(COLUMNS, &r.namespaces));
    let mut lines = vec![format!(
        "kernel {} -> model profile {}; usable = the dax device as the system shows it, model = nd_pfn_init's prediction from the namespace size, memmap = RAM the model says its struct pages take.",
        or_dash(r.osrelease.as_deref()),
        r.profile
    )];
    lines.push(format!(
        "/proc/vmstat nr_memmap_pages: live {}, model {}; nr_memmap_boot_pages: live {}.",
        or_dash(r.live_nr_memmap_pages),
        or_dash(r.model_nr_memmap_pages),
        or_dash(r.live_nr_memmap_boot_pages)
    ));
    if !r.pools.is_empty() || r.hugetlb_optimize_vmemmap.is_some() {
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
        lines.push(format!(
            "HugeTLB pools: {}; hugetlb_optimize_vmemmap: {}.",
            if pools.is_empty() {
                "none".into()
            } else {
                pools
            },
            r.hugetlb_optimize_vmemmap
                .map_or("-", |on| if on { "1" } else { "0" })
        ));
    }
    for n in &r.namespaces {
        if let Some(note) = &n.note {
            lines.push(format!("{}: {note}", n.live.name));
        }
    }
    lines.extend(r.notes.iter().cloned());
    for l in lines {
        println!("{}", wrap(&l, 80));
    }
    Ok(())
}
