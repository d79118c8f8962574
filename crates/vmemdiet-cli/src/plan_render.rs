//! How `vmemdiet plan` shows an answer: the columns, the 80-column table and its footer, the
//! wide table, JSON, and the `--usable` table with its ndctl commands.

use vmemdiet::addr::ByteSize;
use vmemdiet::plan::{Kind, PlanRow};
use vmemdiet::planner::{self, Answer};

use crate::output::{
    column_table, human, narrow_table, print_json, size_short, term_width, wrap, Column,
};

/// What the user asked to see.
#[derive(Debug)]
pub struct Shown {
    pub json: bool,
    pub wide: bool,
    pub simulate: bool,
    /// Several architectures: the profile may move under the table too.
    pub across: bool,
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

/// The rows of a plan: JSON, every column, or the columns that fit the terminal; then what
/// was not offered.
pub fn print_rows(a: &Shown, answer: &Answer) -> anyhow::Result<()> {
    if a.json {
        let rows: Vec<&PlanRow> = answer.rows.iter().map(|r| &r.row).collect();
        print_json(&rows)?;
        print_not_offered(answer);
        return Ok(());
    }
    let rows: Vec<(Kind, PlanRow)> = answer.rows.iter().map(|r| (r.kind, r.row)).collect();
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
        print_narrow(a, &rows, how);
    }
    print_not_offered(answer);
    Ok(())
}

/// What an arch did not offer, on stderr (beside a table or JSON alike), each naming its arch.
fn print_not_offered(answer: &Answer) {
    if !answer.not_offered.is_empty() {
        eprintln!("Not offered:");
        for n in &answer.not_offered {
            eprintln!("{}", wrap(&format!("  {n}"), 80));
        }
    }
}

/// The table within the terminal's width (80 columns at least): "% size" gives way first
/// (--wide keeps "% of size"), then, in tables that still do not fit (several kinds or
/// architectures), vmstat and the page tables; the footer says what every row shares.
fn print_narrow(a: &Shown, rows: &[(Kind, PlanRow)], how: &str) {
    let width_limit = term_width();
    let mut keep: Vec<&str> = NARROW_COLUMNS.iter().map(|c| c.0).collect();
    let droppable: &[&str] = if a.across {
        &["kind", "arch", "map", "on dev", "profile"]
    } else {
        &["kind", "arch", "map", "on dev"]
    };
    let mut dropped = Vec::new();
    let (t, notes) = loop {
        let (t, notes) = narrow_table(NARROW_COLUMNS, rows, &keep, droppable);
        let width = crate::output::table_width(&t);
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
    println!("{t}");
    let constant = shared_note(&notes);
    let left_out: Vec<&str> = dropped.into_iter().filter(|&c| c != "% size").collect();
    println!(
        "{} namespace{} {constant}, {how}.\nmemmap = struct-page frames in RAM; tables = vmemmap page tables;\non dev = --map=dev reserve; usable = the dax device (nd_pfn_init);\nvmstat = nr_memmap_pages as the kernel reports it (- before 6.11).\n--wide for every column{}, --json for tools.",
        match &sizes(rows)[..] {
            [one] => one.to_string(),
            many => format!("{} sizes,", many.len()),
        },
        if constant.is_empty() { "" } else { "," },
        if left_out.is_empty() {
            String::new()
        } else {
            format!(" ({} left out here)", left_out.join(", "))
        }
    );
}

/// The namespace sizes of `rows`, each once (the footer names one, or counts several).
fn sizes(rows: &[(Kind, PlanRow)]) -> Vec<ByteSize> {
    let mut v: Vec<ByteSize> = Vec::new();
    for (_, r) in rows {
        let s = ByteSize::new(r.size);
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// What every row shares, for the footer: "kind devdax" reads as "devdax", "arch x86_64" as
/// "on x86_64"; nothing on the device needs no mention.
fn shared_note(notes: &[String]) -> String {
    notes
        .iter()
        .filter(|n| n.as_str() != "on dev 0")
        .map(|n| {
            n.strip_prefix("kind ")
                .map(str::to_string)
                .or_else(|| n.strip_prefix("arch ").map(|a| format!("on {a}")))
                .unwrap_or_else(|| n.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `plan --usable`: per align, map and profile, the smallest namespace that yields `usable`,
/// what it costs, and the `ndctl create-namespace` command that makes it.
pub fn print_usable(a: &Shown, usable: ByteSize, answer: &Answer) -> anyhow::Result<()> {
    let command = |r: &planner::Row| r.command.clone().unwrap_or_default();
    if a.json {
        let out = answer
            .rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r.row)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("usable_requested".into(), usable.bytes().into());
                    o.insert("command".into(), command(r).into());
                }
                Ok(v)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        return print_json(&out);
    }
    let table_rows: Vec<(Kind, PlanRow)> = answer.rows.iter().map(|r| (r.kind, r.row)).collect();
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
    let arch = answer.rows.first().map(|r| r.row.arch).unwrap_or_default();
    println!(
        "{}",
        wrap(
            &format!(
                "The smallest namespace yielding at least {usable} of dax device{}{shared}, on {arch}; namespace = ndctl --size, usable = the dax device, memmap = RAM, on dev = --map=dev reserve. Create it with:",
                if shared.is_empty() { "" } else { "; every row: " },
            ),
            80
        )
    );
    let mut seen = Vec::new();
    for r in &answer.rows {
        let cmd = command(r);
        if !seen.contains(&cmd) {
            println!("  {cmd}");
            seen.push(cmd);
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
