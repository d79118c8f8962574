//! Shared output helpers: list arguments, tables, progress bars, JSON, and the runner every
//! benchmark command shares.

use std::fmt::Display;
use std::io::IsTerminal;

use anyhow::Context;

use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::{switch_list, Profile};

/// Parses a size argument (`2M`, `1TiB`).
pub fn parse_size(s: &str) -> Result<ByteSize, String> {
    s.parse::<ByteSize>().map_err(|e| e.to_string())
}

/// A table in the house style. Cells are never wrapped, so no number is split across lines:
/// the narrow tables are built to fit [`term_width`], and `--wide` ones are wide on purpose.
/// Box-drawing borders where the locale is UTF-8, `+ - |` where it is not ([`utf8_locale`]).
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    let preset = if utf8_locale() {
        UTF8_FULL_CONDENSED
    } else {
        ASCII_FULL_CONDENSED
    };
    t.load_preset(preset)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Whether the locale's character set is UTF-8, as setlocale(LC_CTYPE, "") decides it: the
/// first of LC_ALL, LC_CTYPE and LANG that is set and not empty names the locale, and UTF-8
/// when it says so (`C.UTF-8`, `en_US.utf8`). None set is the C locale, which is ASCII: a
/// terminal or file that cannot show box-drawing characters never gets them.
pub fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .into_iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let v = v.to_string_lossy().to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// Whether stderr can show a progress bar: a terminal that is not `TERM=dumb` (which has no
/// cursor movement, so a bar's redraws would print as escape codes).
pub fn draws_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// The width tables must fit: the terminal's when stdout is one, else `COLUMNS`, else 80;
/// never less than 80, the width every table is designed for.
pub fn term_width() -> usize {
    let tty = Table::new().width().map(usize::from);
    let env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok());
    tty.or(env).unwrap_or(80).max(80)
}

/// A table column: its header and how to print a row's cell. Keeping the two together is what
/// keeps every row as wide as the header.
pub type Column<R> = (&'static str, fn(&R) -> String);

/// The widest line of a rendered table, in characters (the box borders are one each).
pub fn table_width(t: &Table) -> usize {
    t.to_string()
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

/// A table of `rows` with `columns`.
pub fn column_table<R>(columns: &[Column<R>], rows: &[R]) -> Table {
    let header: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let mut t = table(&header);
    for r in rows {
        t.add_row(columns.iter().map(|c| (c.1)(r)).collect::<Vec<_>>());
    }
    t
}

/// A table for an 80-column terminal: only the `keep` columns, and of those the `droppable`
/// ones whose value every row shares are left out and returned as `name value` notes for the
/// line under the table.
pub fn narrow_table<R>(
    columns: &[Column<R>],
    rows: &[R],
    keep: &[&str],
    droppable: &[&str],
) -> (Table, Vec<String>) {
    let mut notes = Vec::new();
    let mut shown = Vec::new();
    for &(name, cell) in columns.iter().filter(|c| keep.contains(&c.0)) {
        let same = rows
            .first()
            .map(cell)
            .filter(|v| droppable.contains(&name) && rows.iter().all(|r| &cell(r) == v));
        match same {
            Some(v) => notes.push(format!("{name} {v}")),
            None => shown.push((name, cell)),
        }
    }
    (column_table(&shown, rows), notes)
}

/// A benchmark command after its options are expanded: how to run one configuration and how
/// to print the results.
pub struct Bench<C, R: 'static> {
    /// Shown on the progress bar.
    pub name: &'static str,
    /// Progress-bar steps one configuration makes (its runs).
    pub ticks_per_config: u64,
    /// Runs one configuration; advances the bar by `ticks_per_config`.
    pub run: fn(&C, &ProgressBar) -> anyhow::Result<R>,
    pub columns: &'static [Column<R>],
    /// The columns an 80-column table keeps (`--wide` shows every one).
    pub narrow: &'static [&'static str],
    /// Printed under the table: what the columns mean.
    pub footer: String,
}

/// Columns that may move under a narrow table when every row has the same value.
const SHARED_COLUMNS: [&str; 8] = [
    "op", "kind", "size", "align", "page", "map", "profile", "driver",
];

impl<C: Display, R: serde::Serialize + 'static> Bench<C, R> {
    /// Runs every configuration under one progress bar, then prints the rows as a JSON array
    /// (`json`) or as a table followed by the footer.
    pub fn run(&self, configs: &[C], json: bool, wide: bool) -> anyhow::Result<()> {
        let pb = progress(configs.len() as u64 * self.ticks_per_config, self.name);
        let mut log = StepLog::new(configs.len());
        let mut rows = Vec::with_capacity(configs.len());
        for c in configs {
            rows.push((self.run)(c, &pb).with_context(|| c.to_string())?);
            log.done(&c.to_string());
        }
        pb.finish_and_clear();
        if json {
            print_json(&rows)?;
        } else if wide {
            println!("{}", column_table(self.columns, &rows));
            println!("{}", self.footer);
        } else {
            let (t, notes) = narrow_table(self.columns, &rows, self.narrow, &SHARED_COLUMNS);
            println!("{t}");
            if !notes.is_empty() {
                println!("every row: {}", notes.join(", "));
            }
            for line in self.footer.lines() {
                println!("{}", wrap(line, 80));
            }
            println!("--wide for every column, --json for tools.");
        }
        Ok(())
    }
}

/// Progress for a log rather than a terminal: when stderr cannot show a bar (CI, a pipe, a
/// file, `TERM=dumb`), one line per finished step with the time so far and an estimate of the
/// rest.
#[derive(Debug)]
pub struct StepLog {
    total: usize,
    done: usize,
    start: std::time::Instant,
    enabled: bool,
}

impl StepLog {
    /// A log of `total` steps; silent where a progress bar shows progress ([`draws_progress`]).
    pub fn new(total: usize) -> StepLog {
        StepLog {
            total,
            done: 0,
            start: std::time::Instant::now(),
            enabled: !draws_progress(),
        }
    }

    /// Records a finished step named `what`.
    pub fn done(&mut self, what: &str) {
        self.done += 1;
        if !self.enabled || self.total < 2 {
            return;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let left = elapsed / self.done as f64 * (self.total - self.done) as f64;
        eprintln!(
            "[{}/{}] {what}: {elapsed:.1} s so far, about {left:.0} s left",
            self.done, self.total
        );
    }
}

/// A progress bar on stderr, drawn only where it can be ([`draws_progress`]); elsewhere
/// hidden, and [`StepLog`] prints a line per step instead.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !draws_progress() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Prints rows as a JSON array, whatever their number (one row is an array of one): every
/// `--json` that lists rows (plan, bench, arches) has this one shape, so a tool parses it the
/// same way for one configuration or many.
pub fn print_json<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

/// A byte count for people: `4 GiB`, or `0`.
pub fn human(bytes: u64) -> String {
    if bytes == 0 {
        "0".into()
    } else {
        ByteSize::new(bytes).to_string()
    }
}

/// A ratio for people: `3.2x`, or `inf`.
pub fn ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.1}x")
    } else {
        "inf".into()
    }
}

/// A size for a narrow cell: `16 GiB` when exact, else one decimal (`32.1 MiB`), or `0`.
pub fn size_short(bytes: u64) -> String {
    let b = ByteSize::new(bytes);
    for (unit, name) in [
        (ByteSize::TIB, "TiB"),
        (ByteSize::GIB, "GiB"),
        (ByteSize::MIB, "MiB"),
        (ByteSize::KIB, "KiB"),
    ] {
        if bytes >= unit {
            #[allow(clippy::cast_precision_loss)]
            let v = bytes as f64 / unit as f64;
            return if b.is_multiple_of(ByteSize::new(unit)) {
                format!("{} {name}", bytes / unit)
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    bytes.to_string()
}

/// `text` broken at spaces into lines of at most `width` characters.
pub fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines.join("\n")
}

/// Microseconds for people.
pub fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.0} us")
    }
}

/// `--switch NAME=VALUE`: switch overrides applied to every profile of a run.
#[derive(Debug, clap::Args)]
pub struct SwitchArgs {
    /// Override a switch of every profile: NAME=VALUE, repeatable or comma-separated (e.g.
    /// --switch unpin=per-page). `--help` lists the switches; a single profile can carry its
    /// own overrides too, as v6.15+unpin=per-page.
    #[arg(long = "switch", value_name = "NAME=VALUE", value_delimiter = ',', long_help = switches_help())]
    switches: Vec<String>,
}

impl SwitchArgs {
    /// `profile` with the overrides applied.
    pub fn apply(&self, profile: Profile) -> anyhow::Result<Profile> {
        Ok(profile.with_switches(self.switches.iter().map(String::as_str))?)
    }

    /// The overrides as given (`NAME=VALUE`).
    pub fn list(&self) -> &[String] {
        &self.switches
    }

    /// Every profile of `profiles` with the overrides applied.
    pub fn apply_all(&self, profiles: &[Profile]) -> anyhow::Result<Vec<Profile>> {
        profiles.iter().map(|&p| self.apply(p)).collect()
    }
}

/// The long help of `--switch`: every switch, what it selects and its values, and each named
/// profile's settings are in docs/DESIGN.md and the design brief's table.
fn switches_help() -> String {
    let mut s = String::from(
        "Override a switch of every profile of the run: NAME=VALUE, repeatable or comma-separated. \
         Outputs name the profile with its overrides (v6.15+unpin=per-page); a profile given \
         with --profile can carry its own the same way.\n\nSwitches (values; the first listed \
         name is not necessarily the default):",
    );
    for (name, help, values) in switch_list() {
        s.push_str(&format!(
            "\n  {name}: {help}\n      [{}]",
            values.join(", ")
        ));
    }
    s
}

/// `--profile`: a release (`6.17`, `7.3.4+deb13-amd64`), `rfc` or `next`, with overrides; says
/// on stderr what a release string or an alias resolved to.
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    let p: Profile = s.parse()?;
    if let Some(note) = p.resolution(s) {
        eprintln!("note: {note}");
    }
    Ok(p)
}

/// The long help of `--profile`: what a profile is, the named rows, and the changes of the
/// history a booted kernel has yet to settle.
pub fn profiles_help() -> String {
    use vmemdiet::mm::profile::{history, ALL_PROFILES};
    let rows: Vec<String> = ALL_PROFILES.iter().map(ToString::to_string).collect();
    let mut s = format!(
        "Kernel profile(s): a release, exact by the change history (6.17, v7.2, 7.1.13, or \
         7.3.4+deb13-amd64 as uname -r prints it; point releases carry their stable \
         backports), rfc (the seed RFC) or next (7.4 plus what no tree has), each optionally \
         with +switch=value overrides; mm-2026 is an alias of v7.4 for one release.\n\
         Named rows: {}; the default is {}, the newest stable release.\n\n\
         Changes not yet settled by a booted kernel (the kernel wins once one is captured):",
        rows.join(", "),
        Profile::default()
    );
    for c in history::unsettled() {
        s.push_str(&format!(
            "\n  from {}: {}={}, {} ({})",
            c.since,
            c.set.name(),
            c.set.value(),
            c.confidence.name(),
            c.source
        ));
    }
    s
}

/// The profiles a command runs on `arch`: the user's, as given, or the command's `defaults`
/// where, when `devdax` memory is among what it runs, a release that predates the arch's
/// device-dax gives way to the arch's oldest named profile that has it (riscv: v6.12 for
/// v5.10 and rfc), each once; so the defaults run on every arch.
pub fn arch_profiles(
    given: &[Profile],
    defaults: &[Profile],
    arch: vmemdiet::arch::Arch,
    devdax: bool,
) -> Vec<Profile> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let has = |p: &Profile| arch.geometry().features.device_dax(p.kernel());
    let oldest = vmemdiet::mm::profile::ALL_PROFILES
        .into_iter()
        .find(|p| has(p))
        .unwrap_or_default();
    let mut out: Vec<Profile> = Vec::new();
    for &p in defaults {
        let p = if !devdax || has(&p) { p } else { oldest };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The long help of a `--profile` whose default is `defaults` as [`arch_profiles`] adapts
/// them (`devdax`: the command runs device-dax memory).
pub fn profiles_help_for(defaults: &[Profile], devdax: bool) -> String {
    let list: Vec<String> = defaults.iter().map(ToString::to_string).collect();
    let adapt = if devdax {
        "; on an arch whose device-dax came later (riscv), a release before it gives way to \
         the arch's oldest that has it (v6.12)"
    } else {
        ""
    };
    format!(
        "{}\n\n[default: {}{adapt}]",
        profiles_help(),
        list.join(",")
    )
}

/// `--arch` at `--va-bits` (arm64's other VA sizes); `None` keeps the arch's default.
pub fn at_va_bits(
    arch: vmemdiet::arch::Arch,
    va_bits: Option<u32>,
) -> anyhow::Result<vmemdiet::arch::Arch> {
    match va_bits {
        None => Ok(arch),
        Some(bits) => arch.with_va_bits(bits).map_err(anyhow::Error::msg),
    }
}

/// `--arch` and `--va-bits` of a command that runs one architecture.
#[derive(Debug, Clone, clap::Args)]
pub struct ArchArgs {
    /// Architecture of the simulated machine (`vmemdiet arches` lists them).
    #[arg(long, default_value = "x86_64")]
    arch: vmemdiet::arch::Arch,
    /// arm64 VA size: 39/48/52 (4K), 36/47/48/52 (16K), 42/48/52 (64K) [default: 48].
    #[arg(long)]
    va_bits: Option<u32>,
}

impl ArchArgs {
    /// The architecture at the VA size given.
    pub fn arch(&self) -> anyhow::Result<vmemdiet::arch::Arch> {
        at_va_bits(self.arch, self.va_bits)
    }
}
