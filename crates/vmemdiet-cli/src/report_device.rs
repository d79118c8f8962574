//! The report's device-memory section: DRAM memmap per TiB for each kind of device memory and
//! option (devdax 4K/2M/1G, kmem with and without memmap_on_memory, device-private, and
//! `next`'s compound device-private what-if) across profiles, as a table and `device.svg`.

use std::fmt::Write as _;

use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::report::{self, Report, DEVICE_CONFIGS};

use crate::output::{size_short, table};
use crate::report_cmd::{bars, planned, Group};

/// The profiles of the terminal table (80 columns); report.md has every one of `TABLE`.
const TERMINAL: [Profile; 4] = [Profile::V5_10, Profile::V6_12, Profile::V7_3, Profile::NEXT];

const DEVDAX: [ByteSize; 3] = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];

/// A configuration's (DRAM memmap, page tables, device bytes) at `p`, if the profile has it.
fn cost(r: &Report, label: &str, p: Profile) -> Option<(u64, u64, u64)> {
    if let Some(align) = DEVDAX.iter().find(|a| label == devdax_label(**a)) {
        return planned(r, Kind::Devdax, p, *align)
            .map(|e| (e.row.memmap_bytes, e.row.pagetable_bytes, 0));
    }
    r.device
        .iter()
        .find(|d| d.label == label && d.profile == p)
        .map(|d| (d.memmap_bytes, d.pagetable_bytes, d.device_bytes))
}

fn devdax_label(align: ByteSize) -> String {
    format!("devdax {} mem", align.short())
}

/// Every row label, devdax first.
fn labels() -> Vec<String> {
    DEVDAX
        .iter()
        .map(|&a| devdax_label(a))
        .chain(DEVICE_CONFIGS.iter().map(|c| c.0.to_string()))
        .collect()
}

/// The cell of one configuration: DRAM memmap, and what it puts on the device.
fn cell(r: &Report, label: &str, p: Profile) -> String {
    match cost(r, label, p) {
        None => "-".into(),
        Some((dram, _, 0)) => size_short(dram),
        Some((dram, _, dev)) => format!("{}+{} dev", size_short(dram), size_short(dev)),
    }
}

fn rows(r: &Report, profiles: &[Profile]) -> Vec<Vec<String>> {
    labels()
        .iter()
        .map(|l| {
            let mut row = vec![l.clone()];
            row.extend(profiles.iter().map(|&p| cell(r, l, p)));
            row
        })
        .collect()
}

/// The terminal table.
pub fn print_terminal(r: &Report) {
    let mut header = vec!["per TiB".to_string()];
    header.extend(TERMINAL.iter().map(ToString::to_string));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = table(&header);
    for row in rows(r, &TERMINAL) {
        t.add_row(row);
    }
    println!(
        "\ndevice memory: DRAM memmap per TiB (+ capacity the memmap takes on the device):\n{t}"
    );
}

/// The markdown section.
pub fn markdown(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "\n## Device memory beyond device-dax (per TiB, planner)\n\nDRAM memmap per TiB, and after `+` what the memmap takes on the device: devdax with its memmap in RAM; a CXL device onlined as System RAM (kmem, 2 GiB blocks) with `memory_hotplug.memmap_on_memory` n and y (dax_kmem asks for it from 6.8: before, y changes nothing); GPU memory registered device-private (rounded to sections by `request_free_mem_region`); and with 6.19's 2 MiB device-private folios, which save nothing unless the pgmap is compound (`next`: the device-dax dedup applied to GPU memory, a what-if in no tree). Plot: device.svg.\n"
    );
    let mut header = String::from("| per TiB |");
    for p in report::TABLE {
        let _ = write!(header, " {p} |");
    }
    let _ = writeln!(s, "{header}\n|---|{}", "---|".repeat(report::TABLE.len()));
    for row in rows(r, &report::TABLE) {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
}

/// device.svg: DRAM memmap with its vmemmap page tables per TiB (MiB, log scale).
pub fn plot(r: &Report, profiles: &[Profile]) -> anyhow::Result<String> {
    let groups: Vec<Group> = labels()
        .iter()
        .map(|l| Group {
            label: l.clone(),
            values: profiles
                .iter()
                .map(|&p| cost(r, l, p).map(|(dram, tables, _)| report::mib(dram + tables)))
                .collect(),
            seeds: Vec::new(),
        })
        .collect();
    bars(
        "device memory: DRAM memmap + vmemmap page tables per TiB (MiB, log scale)",
        "MiB",
        profiles,
        &groups,
        true,
    )
}
