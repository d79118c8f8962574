//! Shared output helpers: list arguments, tables, progress bars, JSON.

use std::io::IsTerminal;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use vmemdiet::addr::ByteSize;

/// Parses a size argument (`2M`, `1TiB`).
pub fn parse_size(s: &str) -> Result<ByteSize, String> {
    s.parse::<ByteSize>().map_err(|e| e.to_string())
}

/// A table in the house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
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

/// Prints one value as a JSON object, several as an array.
pub fn print_json<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<()> {
    let s = if rows.len() == 1 {
        serde_json::to_string_pretty(&rows[0])?
    } else {
        serde_json::to_string_pretty(rows)?
    };
    println!("{s}");
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

/// Microseconds for people.
pub fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.0} us")
    }
}
