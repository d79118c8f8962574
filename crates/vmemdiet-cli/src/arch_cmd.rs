//! `vmemdiet arches`: the architecture table, with the kernel sources of every number.

use clap::Args;
use serde::Serialize;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::{Arch, Geometry, KernelVersion, Level, VmemmapMap, ARCHES};

use crate::output::{column_table, print_json, Column};

/// Arguments of `vmemdiet arches`.
#[derive(Debug, Args)]
#[command(
    after_help = "JSON keys: arch, page_size, levels, level_bits (PTE level first), table_bytes (per level, as the kernel allocates them), section_bytes, subsection_bytes, pmd_leaf, pud_leaf (null: none), max_phys_bytes, vmemmap_base, vmemmap_map, device_dax_since, dax_dedup_since, hvo_since, hvo_until, pud_dax_since, memremap_compat_align, source. Releases are \"major.minor\"; \"0.0\" means every release (the profile decides); null means never."
)]
pub struct ArchesArgs {
    /// Machine-readable output: an array of objects.
    #[arg(long)]
    json: bool,
}

/// One architecture as tools read it.
#[derive(Debug, Serialize)]
struct ArchRow {
    arch: Arch,
    page_size: u64,
    levels: u32,
    level_bits: Vec<u32>,
    table_bytes: Vec<u64>,
    section_bytes: u64,
    subsection_bytes: u64,
    pmd_leaf: u64,
    pud_leaf: Option<u64>,
    max_phys_bytes: u64,
    vmemmap_base: String,
    vmemmap_map: VmemmapMap,
    device_dax_since: String,
    dax_dedup_since: Option<String>,
    hvo_since: Option<String>,
    hvo_until: Option<String>,
    pud_dax_since: Option<String>,
    memremap_compat_align: u64,
    source: &'static str,
}

fn row(arch: Arch) -> ArchRow {
    let g: &Geometry = arch.geometry();
    let levels = (1..=g.pt_levels).map(Level::new);
    let f = &g.features;
    let v = |k: KernelVersion| k.to_string();
    ArchRow {
        arch,
        page_size: g.page_size(),
        levels: g.pt_levels,
        level_bits: levels.clone().map(|l| g.level_bits_of(l)).collect(),
        table_bytes: levels.map(|l| g.table_bytes(l)).collect(),
        section_bytes: g.section_size().bytes(),
        subsection_bytes: g.subsection_size().bytes(),
        pmd_leaf: g.pmd_size().bytes(),
        pud_leaf: g.pud_leaves.then(|| g.pud_size().bytes()),
        max_phys_bytes: g.max_phys().as_u64(),
        vmemmap_base: g.vmemmap_base.to_string(),
        vmemmap_map: g.vmemmap_map,
        device_dax_since: v(f.device_dax_since),
        dax_dedup_since: f.dax_dedup_since.map(v),
        hvo_since: f.hvo.map(|(s, _)| v(s)),
        hvo_until: f.hvo.and_then(|(_, u)| u).map(v),
        pud_dax_since: f.pud_dax_since.map(v),
        memremap_compat_align: f.memremap_compat_align.bytes(),
        source: g.source,
    }
}

/// "any" for the oldest release the model knows, else the release.
fn since(s: &Option<String>) -> String {
    match s.as_deref() {
        None => "never".into(),
        Some("0.0") => "yes".into(),
        Some(v) => format!("{v}+"),
    }
}

const COLUMNS: &[Column<ArchRow>] = &[
    ("arch", |r| r.arch.to_string()),
    ("page", |r| ByteSize::new(r.page_size).short()),
    ("bits", |r| {
        r.level_bits
            .iter()
            .rev()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }),
    ("PTE tbl", |r| ByteSize::new(r.table_bytes[0]).short()),
    ("PMD/PUD", |r| {
        format!(
            "{}/{}",
            ByteSize::new(r.pmd_leaf).short(),
            r.pud_leaf.map_or("-".into(), |b| ByteSize::new(b).short())
        )
    }),
    ("dedup", |r| since(&r.dax_dedup_since)),
    ("HVO", |r| match (&r.hvo_since, &r.hvo_until) {
        (Some(s), Some(u)) => format!("{s}-{u}"),
        (s, _) => since(s),
    }),
];

pub fn run(a: &ArchesArgs) -> anyhow::Result<()> {
    let rows: Vec<ArchRow> = ARCHES.iter().map(|&a| row(a)).collect();
    if a.json {
        return print_json(&rows);
    }
    println!("{}", column_table(COLUMNS, &rows));
    println!(
        "bits: index bits per level, root first; PTE tbl: bytes of one PTE table as the\nkernel allocates it (256-byte fragments on ppc64 radix 64K); dedup (device-dax\nvmemmap) and HVO: the releases that have them (yes: whenever the profile does).\nSections, limits, vmemmap layout and the kernel sources: --json."
    );
    Ok(())
}
