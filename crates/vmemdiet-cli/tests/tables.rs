//! The human tables of `vmemdiet bench ...` and `vmemdiet plan`: every row has one cell per
//! header, and each cell holds what its header says (a `size` parses as a size, a `kind` is
//! devdax or hugetlb, a time is in us or ms). JSON has its own tests in cli.rs; these read what
//! people read.

use assert_cmd::Command;
use vmemdiet::addr::ByteSize;
use vmemdiet::mm::profile::Profile;
use vmemdiet::workload::gup::GupOp;

/// The command, in a UTF-8 locale: the box-drawing borders these tests read are drawn only
/// there (tests/locale.rs has the ASCII ones).
fn vmemdiet() -> Command {
    let mut c = Command::cargo_bin("vmemdiet").unwrap();
    c.env("LC_ALL", "C.UTF-8");
    c
}

/// Runs `vmemdiet args` and returns the table it prints: the header, then the rows.
fn table(args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let out = vmemdiet()
        // Tables fit 80 columns where no width is given.
        .env_remove("COLUMNS")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // UTF8_FULL_CONDENSED: rows are framed by '│' and cells split by '┆'.
    let mut lines = text.lines().filter(|l| l.starts_with('│')).map(|l| {
        l.trim_start_matches('│')
            .trim_end_matches('│')
            .split('┆')
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    });
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{args:?}: no table in {text}"));
    (header, lines.collect())
}

fn is_uint(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `12`, `1.5`.
fn is_decimal(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    parts.next().is_some_and(is_uint) && parts.next().is_none_or(is_uint)
}

fn with_unit<'a>(s: &'a str, units: &[&str]) -> Option<&'a str> {
    let (n, u) = s.split_once(' ')?;
    units.contains(&u).then_some(n)
}

/// Whether `cell` holds what a column headed `header` should; panics on a header no check
/// knows, so a new column comes with its check.
fn holds(header: &str, cell: &str) -> bool {
    match header {
        "size" => cell.parse::<ByteSize>().is_ok(),
        "align" | "page" => ["4K", "16K", "64K", "2M", "16M", "32M", "512M", "1G"].contains(&cell),
        "arch" => cell.parse::<vmemdiet::arch::Arch>().is_ok(),
        "map" => ["mem", "dev"].contains(&cell),
        "kind" => ["devdax", "hugetlb", "devdax-fsdev"].contains(&cell),
        "profile" => cell.parse::<Profile>().is_ok(),
        "op" => cell.parse::<GupOp>().is_ok(),
        "driver" => ["none", "rxe", "mlx5"].contains(&cell),
        "create" | "destroy" | "limit" | "lim sp" | "lim pte" | "get" | "put" | "round" | "pin"
        | "sg" | "release" | "grow" | "shrink" | "drv" => {
            with_unit(cell, &["us", "ms"]).is_some_and(is_decimal)
        }
        "c/limit" | "get/lim" | "put/lim" => {
            cell == "inf" || cell.strip_suffix('x').is_some_and(is_decimal)
        }
        "init" | "ptes" | "atomics" | "walks" | "slow" | "threads" | "pages" | "sg ents"
        | "drv ents" | "struct pages" | "initialized" => is_uint(cell),
        "nr_memmap_pages" => cell == "-" || is_uint(cell),
        // Counts for people: exact below a million, else 268.4M / 4.29G.
        "vmstat" => {
            cell == "-" || is_uint(cell) || cell.strip_suffix(['M', 'G']).is_some_and(is_decimal)
        }
        "% size" => cell == "<0.0001" || is_decimal(cell),
        "usable" | "namespace" => cell == "-" || cell.parse::<ByteSize>().is_ok(),
        "memmap" | "memmap (RAM)" | "page tables" | "on device" | "tables" | "on dev"
        | "reserve" | "mr page" => {
            cell == "0"
                || with_unit(cell, &["B", "KiB", "MiB", "GiB", "TiB"]).is_some_and(is_decimal)
        }
        "rounds" => cell
            .split_once(" in ")
            .and_then(|(n, t)| Some((n, t.strip_suffix(" s")?)))
            .is_some_and(|(n, t)| is_uint(n) && is_decimal(t)),
        "% of size" => cell.strip_suffix(" %").is_some_and(is_decimal),
        _ => panic!("no check for column {header:?}"),
    }
}

/// Checks a table's shape and cells; returns the cells of column `name`.
fn check(args: &[&str], rows_wanted: usize) -> impl Fn(&str) -> Vec<String> {
    let (header, rows) = table(args);
    assert_eq!(rows.len(), rows_wanted, "{args:?}: rows");
    for row in &rows {
        assert_eq!(
            row.len(),
            header.len(),
            "{args:?}: {row:?} under {header:?}"
        );
        for (h, c) in header.iter().zip(row) {
            assert!(holds(h, c), "{args:?}: column {h:?} holds {c:?}");
        }
    }
    move |name| {
        let i = header.iter().position(|h| h == name).unwrap();
        rows.iter().map(|r| r[i].clone()).collect()
    }
}

#[test]
fn bench_bootstrap_table() {
    let col = check(
        &[
            "bench",
            "bootstrap",
            "--size",
            "64M",
            "--align",
            "4K,2M",
            "--profile",
            "v5.10,v6.15",
            "--runs",
            "1",
            "--wide",
        ],
        4,
    );
    assert!(col("size").iter().all(|s| s == "64 MiB"));
}

#[test]
fn bench_gup_table() {
    let col = check(
        &[
            "bench",
            "gup",
            "--size",
            "64M",
            "--align",
            "2M",
            "--kind",
            "devdax,hugetlb",
            "--profile",
            "v5.10",
            "--op",
            "gup-fast,pin-fast",
            "--runs",
            "1",
            "--wide",
        ],
        4,
    );
    assert_eq!(col("kind"), ["devdax", "devdax", "hugetlb", "hugetlb"]);
    assert_eq!(col("op"), ["gup-fast", "pin-fast", "gup-fast", "pin-fast"]);
    assert!(col("size").iter().all(|s| s == "64 MiB"));
}

#[test]
fn bench_mr_table() {
    let col = check(
        &[
            "bench",
            "mr",
            "--size",
            "64M",
            "--align",
            "2M",
            "--kind",
            "devdax,hugetlb",
            "--profile",
            "v6.15",
            "--seconds",
            "0.05",
        ],
        2,
    );
    assert_eq!(col("kind"), ["devdax", "hugetlb"]);
}

#[test]
fn bench_hugetlb_pool_table() {
    let col = check(
        &[
            "bench",
            "hugetlb-pool",
            "--size",
            "64M",
            "--profile",
            "v5.10,v6.15",
            "--runs",
            "1",
        ],
        2,
    );
    assert_eq!(col("pages"), ["32", "32"]);
}

#[test]
fn plan_tables() {
    // Without --map, rows for the memmap in RAM and on the device (v5.10 then v6.15).
    let col = check(&["plan", "--size", "1TiB"], 12);
    assert_eq!(col("memmap")[..3], ["16 GiB", "16 GiB", "16 GiB"]);
    assert_eq!(col("vmstat")[5..7], ["-", "4.2M"]);
    assert_eq!(col("usable")[..3], ["1048574M", "1048574M", "1023G"]);
    let col = check(&["plan", "--size", "1TiB", "--wide"], 12);
    assert_eq!(col("memmap (RAM)")[..3], ["16 GiB", "16 GiB", "16 GiB"]);
    // The info block rounded to 2M or 1G with the memmap in RAM; 16 GiB + 2 MiB or 17 GiB on it.
    assert_eq!(
        col("reserve")[..6],
        [
            "2 MiB",
            "2 MiB",
            "1 GiB",
            "16.00 GiB",
            "16.00 GiB",
            "17 GiB"
        ]
    );
    let col = check(&["plan", "--usable", "15G", "--align", "1G"], 2);
    assert_eq!(col("namespace"), ["16G", "16G"]);
    let col = check(
        &[
            "plan", "--size", "1TiB", "--kind", "hugetlb", "--align", "2M,1G", "--wide",
        ],
        2,
    );
    assert_eq!(col("kind"), ["hugetlb", "hugetlb"]);
    // Mixed kinds and maps keep their columns in the narrow table.
    let col = check(
        &[
            "plan",
            "--size",
            "1TiB",
            "--kind",
            "devdax,hugetlb",
            "--align",
            "2M",
        ],
        3,
    );
    assert_eq!(col("kind"), ["devdax", "devdax", "hugetlb"]);
    let col = check(
        &[
            "plan", "--size", "1TiB", "--align", "2M", "--map", "mem,dev",
        ],
        2,
    );
    assert_eq!(col("on dev"), ["0", "16.0 GiB"]);
}

#[test]
fn plan_fits_80_columns_without_wide() {
    for args in [
        &["plan", "--size", "1TiB"][..],
        &[
            "plan", "--size", "1TiB", "--arch", "all", "--map", "mem,dev",
        ],
        &[
            "plan",
            "--size",
            "1TiB",
            "--align",
            "2M",
            "--map",
            "mem,dev",
            "--profile",
            "v6.15,next",
        ],
        &[
            "plan",
            "--size",
            "12TiB",
            "--align",
            "2M,1G",
            "--kind",
            "devdax,hugetlb",
        ],
        &[
            "plan",
            "--size",
            "1TiB",
            "--align",
            "1G",
            "--profile",
            "v6.12,mm-2026",
        ],
    ] {
        let out = vmemdiet()
            // Tables fit 80 columns where no width is given.
            .env_remove("COLUMNS")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line:?}");
        }
    }
}

#[test]
fn bench_tables_fit_80_columns_and_name_shared_values() {
    for (args, rows) in [
        (
            &[
                "bench", "gup", "--size", "64M", "--align", "2M", "--runs", "1",
            ][..],
            9,
        ),
        (
            &[
                "bench",
                "mr",
                "--size",
                "64M",
                "--align",
                "2M",
                "--seconds",
                "0.02",
            ][..],
            3,
        ),
        (
            &[
                "bench",
                "mr",
                "--size",
                "64M",
                "--align",
                "2M",
                "--driver",
                "none,rxe,mlx5",
                "--seconds",
                "0.02",
            ][..],
            9,
        ),
        (
            &[
                "bench",
                "bootstrap",
                "--size",
                "64M",
                "--align",
                "4K,2M",
                "--runs",
                "1",
            ][..],
            4,
        ),
        (
            &["bench", "hugetlb-pool", "--size", "64M", "--runs", "1"][..],
            3,
        ),
    ] {
        // Every cell of the narrow table still holds what its header says.
        let _ = check(args, rows);
        let out = vmemdiet()
            // Tables fit 80 columns where no width is given.
            .env_remove("COLUMNS")
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line:?}");
        }
        assert!(
            text.contains("every row: "),
            "{args:?}: shared values named"
        );
        assert!(text.contains("size 64 MiB"), "{args:?}");
    }
}

#[test]
fn plan_uses_the_width_it_has() {
    for (cols, pct_shown) in [("80", false), ("120", true)] {
        for args in [
            &["plan", "--size", "1TiB"][..],
            &["plan", "--size", "1TiB", "--arch", "all"],
        ] {
            let out = vmemdiet().env("COLUMNS", cols).args(args).output().unwrap();
            assert!(out.status.success());
            let text = String::from_utf8(out.stdout).unwrap();
            let limit: usize = cols.parse().unwrap();
            for line in text.lines() {
                assert!(line.chars().count() <= limit, "{cols}: {line}");
            }
            if args.len() == 3 {
                assert_eq!(text.contains("% size"), pct_shown, "{cols}: {text}");
            }
        }
    }
}
