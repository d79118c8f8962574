//! `vmemdiet report`: runs every measurement of the seeds and writes the tables and plots.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::bootstrap::BootstrapResult;
use vmemdiet::workload::gup::{GupOp, GupResult};
use vmemdiet::workload::hugetlb_pool::PoolResult;
use vmemdiet::workload::mr::MrResult;
use vmemdiet::workload::report::{self, At, Comparison, Mode, PlanEntry, Report, PROFILES, SINCE};
use vmemdiet::workload::seeds::SEEDS;

use crate::out_dir::OutDir;
use crate::output::{progress, ratio, size_short, table, us, wrap, StepLog};

/// Arguments of `vmemdiet report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes report.json (every figure), report.md (the tables) and memmap.svg, bootstrap.svg, gup.svg, mr.svg and device.svg into --out, each file whole (a temporary file renamed into place); other files there are left alone, and a stopped run (Ctrl-C, SIGTERM) leaves no partial file.\nModes: default about two minutes on 2 cores; --quick seconds (tests, CI); --full the seeds' sizes (16 GiB GUP, 5 s MR loops, 1 TiB simulated)."
)]
pub struct ReportArgs {
    /// Output directory, created if missing; a path that is not a directory is refused.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// Small sizes, a few seconds.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The seeds' sizes (several minutes).
    #[arg(long)]
    full: bool,
}

pub fn run(a: &ReportArgs) -> anyhow::Result<()> {
    let mode = if a.quick {
        Mode::Quick
    } else if a.full {
        Mode::Full
    } else {
        Mode::Default
    };
    // Made (or checked) before any work, so an unusable place fails at once.
    let out = OutDir::create("--out", &a.out)?;
    // Measured on the 2-core machine of BENCHMARKS.md; scale by its speed.
    match mode {
        Mode::Quick => {}
        Mode::Default => eprintln!(
            "report: {} steps, about 1.5 min on 2 cores; --quick takes seconds",
            report::steps()
        ),
        Mode::Full => eprintln!(
            "report --full: {} steps at the seeds' sizes, several minutes and about 20 GiB of host memory",
            report::steps()
        ),
    }
    let pb = progress(report::steps(), "report");
    let mut log = StepLog::new(usize::try_from(report::steps()).unwrap_or(usize::MAX));
    let r = report::collect(mode, &mut |what| {
        pb.set_message(what.to_string());
        pb.inc(1);
        log.done(what);
    })?;
    pb.finish_and_clear();
    out.write("report.json", serde_json::to_string_pretty(&r)?.as_bytes())?;
    out.write("report.md", markdown(&r).as_bytes())?;
    for (name, svg) in plots(&r)? {
        out.write(name, svg.as_bytes())?;
    }
    print_terminal(&r);
    println!(
        "\nwrote {}/:\n{}",
        a.out.display(),
        wrap(&FILES.join(", "), 80)
    );
    Ok(())
}

fn fmt(v: f64, unit: &str) -> String {
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 1.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.3} {unit}")
    }
}

fn comparison_rows(cs: &[Comparison]) -> Vec<Vec<String>> {
    cs.iter()
        .map(|c| {
            vec![
                c.what.clone(),
                format!("{} -> {}", c.before, c.after),
                format!(
                    "{} -> {}",
                    fmt(c.ours_before, c.unit),
                    fmt(c.ours_after, c.unit)
                ),
                ratio(c.ours_ratio),
                match (c.seeds_before, c.seeds_after) {
                    (Some(b), Some(a)) => format!("{} -> {}", fmt(b, c.unit), fmt(a, c.unit)),
                    _ => "-".into(),
                },
                c.seeds_ratio.map_or("-".into(), ratio),
                c.ours_vs_seeds().map_or("-".into(), ratio),
                c.after_over_limit
                    .map_or("-".into(), |x| format!("{x:.1}x")),
            ]
        })
        .collect()
}

/// The comparisons for an 80-column terminal: each cell on up to three short lines, the
/// after/limit figure left to report.md and report.json.
fn comparison_rows_narrow(cs: &[Comparison]) -> Vec<Vec<String>> {
    comparison_rows(cs)
        .into_iter()
        .map(|r| {
            vec![
                format!("{}\n{}", wrap(&r[0], 24), r[1]),
                format!("{}\n{}", r[2].replace(" -> ", " ->\n"), r[3]),
                format!("{}\n{}", r[4].replace(" -> ", " ->\n"), r[5]),
                r[6].clone(),
            ]
        })
        .collect()
}

const HEADER_NARROW: [&str; 4] = ["measurement", "ours", "seeds", "ours/seeds"];

const HEADER: [&str; 8] = [
    "measurement",
    "profiles",
    "ours",
    "ours ratio",
    "seeds",
    "seeds ratio",
    "ours / seeds",
    "after / limit",
];

/// The planner's closed-form row of `kind` at `align` under `p`.
pub(crate) fn planned(r: &Report, kind: Kind, p: Profile, align: ByteSize) -> Option<&PlanEntry> {
    r.find(At::new(kind, p, align))
}

fn print_terminal(r: &Report) {
    println!(
        "vmemdiet report ({:?} mode): the seeds side by side, ours from this machine\n",
        r.mode
    );
    let mut t = table(&HEADER_NARROW);
    for row in comparison_rows_narrow(&r.comparisons) {
        t.add_row(row);
    }
    println!("{t}");
    println!("ratios: before / after; ours/seeds above 1: our speed-up is larger. Time over\nits limit measured in the same run: report.md and report.json.");
    let names: Vec<String> = report::TABLE.iter().map(ToString::to_string).collect();
    let mut header = vec!["align"];
    header.extend(names.iter().map(String::as_str));
    for kind in [Kind::Devdax, Kind::Hugetlb] {
        let mut t = table(&header);
        for align in [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)] {
            let cells: Vec<String> = report::TABLE
                .iter()
                .filter_map(|&p| planned(r, kind, p, align))
                .map(|e| size_short(e.row.memmap_bytes))
                .collect();
            if cells.is_empty() {
                continue;
            }
            let mut row = vec![align.short()];
            row.extend(cells);
            t.add_row(row);
        }
        println!("\n{kind} memmap (struct-page frames in RAM) per TiB, planner:\n{t}");
    }
    let mut t = table(&[
        "align",
        "profile",
        "memmap",
        "nr_memmap_pages",
        "page tables",
    ]);
    for row in kernels_since_rows(r) {
        t.add_row(row);
    }
    println!("\nkernels people run: devdax per TiB, the true RAM cost beside what\n/proc/vmstat nr_memmap_pages reports:\n{t}");
    let mut t = table(&["align", "profile", "64 B struct page", "8 B (memdesc)"]);
    for row in memdesc_rows(r) {
        t.add_row(row);
    }
    println!(
        "\nthe memdesc end state: devdax memmap per TiB, 8-byte descriptor beside today's:\n{t}"
    );
    let mut t = table(&["arch", "align", "memmap", "% size", "page tables"]);
    for row in arch_rows(r) {
        t.add_row(row);
    }
    println!(
        "\ndevdax memmap per TiB by architecture ({}, planner):\n{t}",
        Profile::default()
    );
    let mut t = table(&SINCE_TIMES);
    for row in kernels_since_times(r) {
        t.add_row(row);
    }
    println!(
        "\nkernels people run: 2M devdax, pins of {} (get / put) and MR rounds:\n{t}",
        r.sizes.gup
    );
    crate::report_device::print_terminal(r);
}

/// Devdax memmap per TiB on each architecture.
fn arch_rows(r: &Report) -> Vec<Vec<String>> {
    r.arches
        .iter()
        .map(|e| {
            #[allow(clippy::cast_precision_loss)]
            let pct = e.row.memmap_bytes as f64 * 100.0 / e.row.size as f64;
            vec![
                e.row.arch.to_string(),
                ByteSize::new(e.row.align).short(),
                ByteSize::new(e.row.memmap_bytes).to_string(),
                format!("{pct:.4}"),
                ByteSize::new(e.row.pagetable_bytes).to_string(),
            ]
        })
        .collect()
}

/// Devdax memmap per TiB at 64 bytes (the planner rows) beside the 8-byte memdesc rows.
fn memdesc_rows(r: &Report) -> Vec<Vec<String>> {
    r.memdesc
        .iter()
        .map(|m| {
            let align = ByteSize::new(m.row.align);
            let today = planned(r, Kind::Devdax, m.row.profile, align).map_or_else(
                || "-".into(),
                |e| ByteSize::new(e.row.memmap_bytes).to_string(),
            );
            vec![
                align.short(),
                m.row.profile.to_string(),
                today,
                ByteSize::new(m.row.memmap_bytes).to_string(),
            ]
        })
        .collect()
}

/// The kernels people run, side by side: the LTS kernels, the newest stable release and 7.4.
const KERNELS: [Profile; 4] = [Profile::V6_12, Profile::V6_18, Profile::V7_3, Profile::V7_4];

/// Columns of the timing half of "kernels people run".
const SINCE_TIMES: [&str; 4] = ["profile", "pin-fast", "pin-longterm", "MR round"];

/// The timing rows of "kernels people run": PIN-fast and PIN-longterm get / put and the
/// MR reg+dereg round, 2M devdax, for the kernels people run: v6.12, v6.18, v7.3 and v7.4.
fn kernels_since_times(r: &Report) -> Vec<Vec<String>> {
    let m2 = ByteSize::mib(2);
    let pin = |p, op| {
        r.find::<GupResult>(At::new(Kind::Devdax, p, m2).op(op))
            .map_or_else(
                || "-".into(),
                |g| format!("{} / {}", us(g.get_us), us(g.put_us)),
            )
    };
    KERNELS
        .into_iter()
        .map(|p| {
            vec![
                p.to_string(),
                pin(p, GupOp::PinFast),
                pin(p, GupOp::PinLongterm),
                r.find::<MrResult>(At::new(Kind::Devdax, p, m2))
                    .map_or_else(|| "-".into(), |m| us(m.us_per_round)),
            ]
        })
        .collect()
}

/// The section "kernels people run": devdax memmap per TiB under the kernels people run after the
/// seeds, with `nr_memmap_pages` as each reports it.
fn kernels_since_rows(r: &Report) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for align in [ByteSize::mib(2), ByteSize::gib(1)] {
        for p in KERNELS {
            if let Some(e) = planned(r, Kind::Devdax, p, align) {
                rows.push(vec![
                    align.short(),
                    p.to_string(),
                    ByteSize::new(e.row.memmap_bytes).to_string(),
                    e.row.nr_memmap_pages.map_or_else(
                        || "-".to_string(),
                        |n| format!("{} ({})", n, ByteSize::new(n * 4096)),
                    ),
                    ByteSize::new(e.row.pagetable_bytes).to_string(),
                ]);
            }
        }
    }
    rows
}

/// report.md: a section per part of the report, in the order of the terminal's.
fn markdown(r: &Report) -> String {
    let mut s = String::new();
    md_intro(&mut s, r);
    md_comparisons(&mut s, &r.comparisons);
    md_seeds(&mut s);
    md_planner(&mut s, &r.planner);
    md_kernels_since(&mut s, r);
    md_memdesc(&mut s, r);
    md_arches(&mut s, r);
    md_kernels_since_times(&mut s, r);
    md_bootstrap(&mut s, &r.bootstrap);
    md_gup(&mut s, &r.gup);
    md_mr(&mut s, &r.mr);
    md_hugetlb_pool(&mut s, &r.hugetlb_pool);
    crate::report_device::markdown(&mut s, r);
    s
}

/// The rows of a markdown table.
fn md_rows(s: &mut String, rows: impl IntoIterator<Item = Vec<String>>) {
    for row in rows {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
}

/// The title and the mode's sizes.
fn md_intro(s: &mut String, r: &Report) {
    let z = &r.sizes;
    let _ = writeln!(
        s,
        "# vmemdiet report\n\nMode: {:?}. Bootstrap {}, GUP {}, MR {} for {} s a configuration, HugeTLB pool {}, {} runs per figure{}.\n",
        r.mode,
        z.bootstrap,
        z.gup,
        z.mr,
        z.mr_seconds,
        z.pool,
        z.runs,
        z.simulate.map_or(String::new(), |s| format!(", planner checked by simulating {s}"))
    );
}

/// "The seeds, side by side": every comparison, ours beside theirs.
fn md_comparisons(s: &mut String, cs: &[Comparison]) {
    let _ = writeln!(s, "## The seeds, side by side\n");
    let _ = writeln!(s, "| {} |", HEADER.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(HEADER.len()));
    md_rows(s, comparison_rows(cs));
}

/// "Where the seeds' figures come from": every published figure with its source.
fn md_seeds(s: &mut String) {
    let _ = writeln!(
        s,
        "\n### Where the seeds' figures come from\n\n| key | what | value | source |\n|---|---|---|---|"
    );
    for f in &SEEDS {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} {} | {} |",
            f.key.name(),
            f.what,
            f.value,
            f.unit.symbol(),
            f.source
        );
    }
}

/// "Memmap per TiB (planner)": every planner row, with the namespace's capacity.
fn md_planner(s: &mut String, planner: &[PlanEntry]) {
    let _ = writeln!(s, "\n## Memmap per TiB (planner)\n\nusable = the dax device a namespace of that size yields (`nd_pfn_init`, map {}), reserve = the rest.\n\n| kind | align | profile | memmap | page tables | struct pages written | usable | reserve | simulated |\n|---|---|---|---|---|---|---|---|---|", planner.first().map_or_else(|| "mem".to_string(), |e| e.row.map.to_string()));
    for e in planner {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.kind,
            ByteSize::new(e.row.align).short(),
            e.row.profile,
            ByteSize::new(e.row.memmap_bytes),
            ByteSize::new(e.row.pagetable_bytes),
            e.row.struct_pages_initialized,
            e.row
                .usable_bytes
                .map_or_else(|| "-".into(), |b| ByteSize::new(b).short()),
            e.row
                .reserve_bytes
                .map_or_else(|| "-".into(), |b| ByteSize::new(b).to_string()),
            e.row.simulated
        );
    }
}

/// "Kernels people run": the memmap's true RAM cost beside `nr_memmap_pages`.
fn md_kernels_since(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n## Kernels people run (devdax, per TiB, planner)\n\nThe true RAM cost of the memmap beside what `/proc/vmstat` `nr_memmap_pages` reports: 6.11 to 7.1 count the unoptimized span whatever the dedup; from 7.2 (7.1.6 by backport) the count is the memmap described after dedup, two pages per compound page (one from 7.4), the device's altmap memmap included.\n\n| align | profile | memmap | nr_memmap_pages | page tables |\n|---|---|---|---|---|");
    md_rows(s, kernels_since_rows(r));
}

/// The memdesc end state: 8-byte struct pages beside today's 64.
fn md_memdesc(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\nThe memdesc end state (brief §9.9): devdax memmap per TiB with an 8-byte struct page beside today's 64 bytes. At 2M, dedup has nothing left to save at 8 bytes (a compound page's struct pages fit one vmemmap page).\n\n| align | profile | 64 B struct page | 8 B (memdesc) |\n|---|---|---|---|");
    md_rows(s, memdesc_rows(r));
}

/// "Architectures": devdax memmap per TiB on each.
fn md_arches(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n## Architectures (devdax, per TiB, planner, {})\n\nEach arch at the device-dax aligns it offers: arm64 does not deduplicate device-dax vmemmap, ppc64 radix with 64 KiB pages only at 1G, ppc64 hash never; riscv64 Sv39 cannot describe 1 TiB above its RAM. Page tables in the bytes the kernel allocates (256-byte PTE fragments on ppc64 radix 64K).\n\n| arch | align | memmap | % of size | page tables |\n|---|---|---|---|---|", Profile::default());
    md_rows(s, arch_rows(r));
}

/// The timings of the kernels people run: pins and MR rounds at 2M devdax.
fn md_kernels_since_times(s: &mut String, r: &Report) {
    let _ = writeln!(s, "\n2M devdax, pins of {} (get / put) and MR reg+dereg rounds: v6.12 pins long-term per 4 KiB (devmap PMD), 6.15+ refuse long-term write pins of file-backed DAX folios on the fast path and batch them on the slow path.\n\n| {} |\n|{}", r.sizes.gup, SINCE_TIMES.join(" | "), "---|".repeat(SINCE_TIMES.len()));
    md_rows(s, kernels_since_times(r));
}

/// "Bootstrap": devdax create and destroy times beside their limits.
fn md_bootstrap(s: &mut String, bootstrap: &[BootstrapResult]) {
    let _ = writeln!(s, "\n## Bootstrap (create / destroy a devdax device)\n\n| size | align | profile | create | destroy | limit: struct pages | limit: vmemmap PTEs | create/limits |\n|---|---|---|---|---|---|---|---|");
    for b in bootstrap {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} us | {:.0} us | {:.0} us | {:.0} us | {:.1}x |",
            ByteSize::new(b.size),
            ByteSize::new(b.align).short(),
            b.profile,
            b.create_us,
            b.destroy_us,
            b.limit_us,
            b.limit_pte_us,
            b.create_over_limit
        );
    }
}

/// "GUP and unpin": get and put times beside their limits, and the atomics.
fn md_gup(s: &mut String, gup: &[GupResult]) {
    let _ = writeln!(s, "\n## GUP and unpin\n\n| op | size | align | profile | get | put | get/limit | put/limit | atomics |\n|---|---|---|---|---|---|---|---|---|");
    for g in gup {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} us | {:.0} us | {:.1}x | {:.1}x | {} |",
            g.op.test_name(),
            ByteSize::new(g.size),
            ByteSize::new(g.align).short(),
            g.profile,
            g.get_us,
            g.put_us,
            g.get_us / g.limit_get_us.max(1e-3),
            g.put_us / g.limit_put_us.max(1e-3),
            g.atomics
        );
    }
}

/// "MR reg/unreg": rounds and the time of each phase.
fn md_mr(s: &mut String, mr: &[MrResult]) {
    let _ = writeln!(s, "\n## MR reg/unreg\n\n| kind | size | align | profile | rounds | per round | pin | sg | release |\n|---|---|---|---|---|---|---|---|---|");
    for m in mr {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} in {:.2} s | {:.0} us | {:.0} us | {:.0} us | {:.0} us |",
            m.kind,
            ByteSize::new(m.size),
            ByteSize::new(m.align).short(),
            m.profile,
            m.rounds,
            m.seconds,
            m.us_per_round,
            m.pin_us,
            m.sg_us,
            m.release_us
        );
    }
}

/// "HugeTLB pool grow/shrink": pool times and the memmap HVO leaves.
fn md_hugetlb_pool(s: &mut String, pools: &[PoolResult]) {
    let _ = writeln!(s, "\n## HugeTLB pool grow/shrink (HVO cost)\n\n| size | profile | pages | grow | shrink | memmap |\n|---|---|---|---|---|---|");
    for p in pools {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} us | {:.0} us | {} |",
            ByteSize::new(p.size),
            p.profile,
            p.pages,
            p.alloc_us,
            p.free_us,
            ByteSize::new(p.memmap_bytes)
        );
    }
}

/// Colors per profile, the same in every plot.
fn color(p: Profile) -> RGBColor {
    let all = [
        (Profile::V5_10, RGBColor(120, 120, 120)),
        (Profile::RFC, RGBColor(31, 119, 180)),
        (Profile::V6_12, RGBColor(255, 127, 14)),
        (Profile::V6_18, RGBColor(140, 86, 75)),
        (Profile::V7_3, RGBColor(44, 160, 44)),
        (Profile::V7_4, RGBColor(148, 103, 189)),
        (Profile::NEXT, RGBColor(214, 39, 40)),
    ];
    all.iter()
        .find(|(q, _)| *q == p)
        .map_or(RGBColor(0, 0, 0), |(_, c)| *c)
}

/// One group of bars: its label, a value per profile (none where not measured), and the
/// seeds' published figures as (profile, value).
pub(crate) struct Group {
    pub(crate) label: String,
    pub(crate) values: Vec<Option<f64>>,
    pub(crate) seeds: Vec<(Profile, f64)>,
}

/// A grouped bar chart: one group per label, one bar per profile, the seeds' published figures
/// as black diamonds on the bars they correspond to.
pub(crate) fn bars(
    title: &str,
    y_desc: &str,
    profiles: &[Profile],
    groups: &[Group],
    log: bool,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (1200, 660)).into_drawing_area();
    root.fill(&WHITE)?;
    let chart = BarChart {
        y_desc,
        profiles,
        groups,
    };
    let (minv, maxv) = chart.value_range();
    let x_range = 0f64..chart.x_end();
    let mut b = ChartBuilder::on(&root);
    b.caption(title, ("sans-serif", 26))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(96);
    if log {
        let y_range = ((minv / 2.0)..(maxv * 60.0)).log_scale();
        chart.draw(b.build_cartesian_2d(x_range, y_range)?, minv / 2.0)?;
    } else {
        chart.draw(b.build_cartesian_2d(x_range, 0f64..maxv * 1.6)?, 0.0)?;
    }
    root.present()?;
    drop(root);
    Ok(svg)
}

/// What a [`bars`] chart draws, whatever its y axis: on x, each group takes a slot per
/// profile and one slot of gap.
struct BarChart<'a> {
    y_desc: &'a str,
    profiles: &'a [Profile],
    groups: &'a [Group],
}

impl BarChart<'_> {
    /// Slots per group.
    fn slots(&self) -> usize {
        self.profiles.len() + 1
    }

    /// The end of the x axis (room for one group when there is none).
    #[allow(clippy::cast_precision_loss)]
    fn x_end(&self) -> f64 {
        (self.groups.len().max(1) * self.slots()) as f64
    }

    /// The left edge of profile `pi`'s bar in group `gi`.
    #[allow(clippy::cast_precision_loss)]
    fn bar_x(&self, gi: usize, pi: usize) -> f64 {
        (gi * self.slots() + pi) as f64
    }

    /// Ticks plotters draws on the x axis when asked for one per slot (it rounds the step
    /// to a "nice" one, so they need not fall on a group's middle).
    fn ticks(&self) -> Vec<f64> {
        RangedCoordf64::from(0f64..self.x_end()).key_points(self.x_end_slots())
    }

    fn x_end_slots(&self) -> usize {
        self.groups.len().max(1) * self.slots()
    }

    /// The x-axis label at tick `x`: a group's label at the tick nearest the middle of its
    /// bars, nothing at the others.
    #[allow(clippy::cast_precision_loss)]
    fn label_at(&self, ticks: &[f64], x: &f64) -> String {
        self.groups
            .iter()
            .enumerate()
            .find(|(gi, _)| {
                let centre = (gi * self.slots()) as f64 + self.profiles.len() as f64 / 2.0;
                let nearest = ticks
                    .iter()
                    .copied()
                    .min_by(|a, b| (a - centre).abs().total_cmp(&(b - centre).abs()));
                nearest.is_some_and(|t| (t - x).abs() < 1e-9)
            })
            .map(|(_, g)| g.label.clone())
            .unwrap_or_default()
    }

    /// The smallest positive and the largest value of the bars and the seeds' figures.
    fn value_range(&self) -> (f64, f64) {
        let all = || {
            self.groups.iter().flat_map(|g| {
                g.values
                    .iter()
                    .flatten()
                    .copied()
                    .chain(g.seeds.iter().map(|s| s.1))
            })
        };
        let maxv = all().fold(0.0f64, f64::max).max(1e-3);
        let minv = all()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min)
            .min(maxv);
        (minv, maxv)
    }

    /// Draws the axes, the bars from `base` up, the seeds' diamonds and the legend on `chart`.
    fn draw<'c, 'p: 'c, Y>(
        &self,
        mut chart: ChartContext<'c, SVGBackend<'p>, Cartesian2d<RangedCoordf64, Y>>,
        base: f64,
    ) -> anyhow::Result<()>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let ticks = self.ticks();
        let label_at = |x: &f64| self.label_at(&ticks, x);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(self.x_end_slots())
            .x_label_formatter(&label_at)
            .x_label_style(("sans-serif", 17))
            .y_label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .y_desc(self.y_desc)
            .draw()?;
        for (pi, &p) in self.profiles.iter().enumerate() {
            let c = color(p);
            chart
                .draw_series(self.groups.iter().enumerate().filter_map(|(gi, g)| {
                    let v = (*g.values.get(pi)?)?;
                    let x0 = self.bar_x(gi, pi);
                    Some(Rectangle::new(
                        [(x0 + 0.05, base), (x0 + 0.95, v.max(base))],
                        c.filled(),
                    ))
                }))?
                .label(p.to_string())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        self.draw_seeds(&mut chart)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 17))
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .draw()?;
        Ok(())
    }

    /// The seeds' published figures: a black diamond at the middle of the bar of the profile
    /// each was published for.
    fn draw_seeds<'c, 'p: 'c, Y>(
        &self,
        chart: &mut ChartContext<'c, SVGBackend<'p>, Cartesian2d<RangedCoordf64, Y>>,
    ) -> anyhow::Result<()>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let seeds: Vec<(f64, f64)> = self
            .groups
            .iter()
            .enumerate()
            .flat_map(|(gi, g)| {
                g.seeds.iter().filter_map(move |&(p, v)| {
                    let pi = self.profiles.iter().position(|&q| q == p)?;
                    Some((self.bar_x(gi, pi) + 0.5, v))
                })
            })
            .collect();
        if !seeds.is_empty() {
            chart
                .draw_series(seeds.iter().map(|&(x, v)| {
                    EmptyElement::at((x, v))
                        + Polygon::new(vec![(0, -9), (8, 0), (0, 9), (-8, 0)], BLACK.filled())
                }))?
                .label("seeds (published)")
                .legend(|(x, y)| {
                    EmptyElement::at((x + 7, y))
                        + Polygon::new(vec![(0, -7), (6, 0), (0, 7), (-6, 0)], BLACK.filled())
                });
        }
        Ok(())
    }
}

/// The seeds' published figures of the comparisons in `section` whose `what` passes `wanted`,
/// as (profile, value) in the comparison's unit mapped by `unit`.
fn seeds_of(
    r: &Report,
    section: &str,
    wanted: impl Fn(&str) -> bool,
    unit: impl Fn(f64) -> f64,
) -> Vec<(Profile, f64)> {
    let mut out: Vec<(Profile, f64)> = Vec::new();
    for c in r
        .comparisons
        .iter()
        .filter(|c| c.section == section && wanted(&c.what))
    {
        for (p, v) in [(c.before, c.seeds_before), (c.after, c.seeds_after)] {
            if let Some(v) = v {
                if !out.iter().any(|(q, _)| *q == p) {
                    out.push((p, unit(v)));
                }
            }
        }
    }
    out
}

/// Every file the report writes into `--out`, and nothing else: `--help` and README.md say so.
const FILES: [&str; 7] = [
    "report.json",
    "report.md",
    "memmap.svg",
    "bootstrap.svg",
    "gup.svg",
    "mr.svg",
    "device.svg",
];

/// The SVG plots, one per measured section (memmap, bootstrap, GUP, MR and device memory), as
/// (file name, SVG text).
fn plots(r: &Report) -> anyhow::Result<[(&'static str, String); 5]> {
    // Every profile the report measures, oldest first.
    let mut profiles: Vec<Profile> = PROFILES.iter().chain(SINCE.iter()).copied().collect();
    profiles.sort();
    profiles.dedup();
    Ok([
        (FILES[2], memmap_plot(r, &profiles)?),
        (FILES[3], bootstrap_plot(r, &profiles)?),
        (FILES[4], gup_plot(r, &profiles)?),
        (FILES[5], mr_plot(r, &profiles)?),
        (FILES[6], crate::report_device::plot(r, &report::TABLE)?),
    ])
}

/// memmap.svg: the planner's memmap per TiB, devdax with its vmemmap page tables as the seeds
/// count it, HugeTLB the memmap.
fn memmap_plot(r: &Report, profiles: &[Profile]) -> anyhow::Result<String> {
    let groups: Vec<Group> = [
        (Kind::Devdax, ByteSize::kib(4)),
        (Kind::Devdax, ByteSize::mib(2)),
        (Kind::Devdax, ByteSize::gib(1)),
        (Kind::Hugetlb, ByteSize::mib(2)),
        (Kind::Hugetlb, ByteSize::gib(1)),
    ]
    .iter()
    .map(|&(kind, align)| {
        let a = align.short();
        Group {
            label: format!("{kind} {a}"),
            values: profiles
                .iter()
                .map(|&p| {
                    planned(r, kind, p, align).map(|e| {
                        if kind == Kind::Devdax {
                            report::mib(e.row.memmap_bytes + e.row.pagetable_bytes)
                        } else {
                            report::mib(e.row.memmap_bytes)
                        }
                    })
                })
                .collect(),
            seeds: seeds_of(
                r,
                "memmap",
                |w| {
                    let k = if kind == Kind::Hugetlb {
                        "HugeTLB"
                    } else {
                        "devdax"
                    };
                    w.starts_with(k) && w.contains(&format!(", {a}"))
                },
                |v| v,
            ),
        }
    })
    .collect();
    bars(
        "memmap per TiB (devdax with its page tables; MiB, log scale)",
        "MiB",
        profiles,
        &groups,
        true,
    )
}

/// bootstrap.svg: devdax create time at 4K, 2M and 1G.
fn bootstrap_plot(r: &Report, profiles: &[Profile]) -> anyhow::Result<String> {
    let groups: Vec<Group> = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)]
        .iter()
        .map(|a| Group {
            label: format!("align {}", a.short()),
            values: profiles
                .iter()
                .map(|&p| {
                    r.find::<BootstrapResult>(At::new(Kind::Devdax, p, *a))
                        .map(|b| b.create_us / 1000.0)
                })
                .collect(),
            seeds: seeds_of(r, "bootstrap", |w| w.ends_with(&a.short()), |v| v),
        })
        .collect();
    bars(
        &format!("devdax create time, {} (ms, log scale)", r.sizes.bootstrap),
        "ms",
        profiles,
        &groups,
        true,
    )
}

/// gup.svg: GUP-fast, PIN-fast and PIN-longterm get times and the unpin of PIN-fast, at 2M
/// and 1G.
fn gup_plot(r: &Report, profiles: &[Profile]) -> anyhow::Result<String> {
    let mut groups = Vec::new();
    for (op, what, seeds_key) in [
        (GupOp::GupFast, "GUP-fast", "GUP_FAST"),
        (GupOp::PinFast, "PIN-fast", "PIN_FAST"),
        (GupOp::PinLongterm, "PIN-LT", "PIN_LONGTERM"),
        (GupOp::PinFast, "unpin", "unpin_user_pages"),
    ] {
        for a in [ByteSize::mib(2), ByteSize::gib(1)] {
            groups.push(Group {
                label: format!("{what} {}", a.short()),
                values: profiles
                    .iter()
                    .map(|&p| {
                        r.find::<GupResult>(At::new(Kind::Devdax, p, a).op(op))
                            .map(|g| if what == "unpin" { g.put_us } else { g.get_us } / 1000.0)
                    })
                    .collect(),
                seeds: seeds_of(
                    r,
                    "gup",
                    |w| w.starts_with(seeds_key) && w.ends_with(&a.short()),
                    |v| v,
                ),
            });
        }
    }
    bars(
        &format!("GUP and unpin of {} (ms, log scale)", r.sizes.gup),
        "ms",
        profiles,
        &groups,
        true,
    )
}

/// mr.svg: MR reg+dereg rounds per second of devdax and HugeTLB at 2M and 1G.
fn mr_plot(r: &Report, profiles: &[Profile]) -> anyhow::Result<String> {
    let groups: Vec<Group> = [
        (Kind::Devdax, ByteSize::mib(2)),
        (Kind::Devdax, ByteSize::gib(1)),
        (Kind::Hugetlb, ByteSize::mib(2)),
        (Kind::Hugetlb, ByteSize::gib(1)),
    ]
    .iter()
    .map(|&(kind, a)| Group {
        label: format!("{kind} {}", a.short()),
        values: profiles
            .iter()
            .map(|&p| {
                r.find::<MrResult>(At::new(kind, p, a))
                    .map(|m| 1e6 / m.us_per_round.max(1e-3))
            })
            .collect(),
        // The seeds give ms per round; rounds per second is 1000 / ms.
        seeds: seeds_of(
            r,
            "mr",
            |w| w.contains(&format!("{kind} ")) && w.ends_with(&a.short()),
            |ms| 1000.0 / ms,
        ),
    })
    .collect();
    bars(
        "MR reg+dereg rounds per second (higher is better, log scale)",
        "rounds/s",
        profiles,
        &groups,
        true,
    )
}
