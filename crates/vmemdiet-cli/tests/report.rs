//! `vmemdiet report --quick`: every file is written, the JSON has every section, and every
//! before/after comparison points the right way (after is cheaper).

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn quick_report_writes_every_file_and_after_is_cheaper() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        // Tables fit 80 columns where no width is given.
        .env_remove("COLUMNS")
        .args(["report", "--quick", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&dir.path().display().to_string()),
        "says where the files are"
    );
    for line in stdout.lines().filter(|l| !l.starts_with("wrote ")) {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
    for f in [
        "report.json",
        "report.md",
        "memmap.svg",
        "bootstrap.svg",
        "gup.svg",
        "mr.svg",
    ] {
        let p = dir.path().join(f);
        assert!(
            p.metadata().map(|m| m.len() > 100).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    for f in ["memmap.svg", "gup.svg", "mr.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(f)).unwrap();
        // Every profile the report measures in the legend, the seeds' figures beside ours.
        for p in ["rfc", "v6.12", "v6.18", "v7.4", "next", "seeds (published)"] {
            assert!(svg.contains(p), "{f}: no {p}");
        }
        assert!(
            svg.starts_with("<svg") && svg.contains("v5.10") && svg.contains("v7.3"),
            "{f} has a legend"
        );
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    for section in [
        "planner",
        "bootstrap",
        "gup",
        "mr",
        "hugetlb_pool",
        "comparisons",
    ] {
        assert!(
            v[section].as_array().is_some_and(|a| !a.is_empty()),
            "section {section}"
        );
    }
    let comparisons = v["comparisons"].as_array().unwrap();
    let sections: std::collections::HashSet<&str> = comparisons
        .iter()
        .map(|c| c["section"].as_str().unwrap())
        .collect();
    for s in ["memmap", "bootstrap", "gup", "mr", "hugetlb"] {
        assert!(sections.contains(s), "a comparison for {s}");
    }
    for c in comparisons {
        let r = c["ours_ratio"].as_f64().unwrap_or(f64::INFINITY);
        // Counted figures (memmap sizes) must come out cheaper after; timed ones are measured,
        // not asserted (a loaded machine can invert a quick-mode timing), but must be real.
        if matches!(c["unit"].as_str(), Some("MiB" | "GiB")) {
            assert!(r > 1.0, "after should be cheaper: {c}");
        } else {
            assert!(r.is_finite() && r > 0.0, "a measured ratio: {c}");
        }
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("## The seeds, side by side") && md.contains("| v5.10 -> rfc |"));
}

#[test]
fn report_out_is_checked_first() {
    // A place that cannot be created fails at once, naming it, and leaves nothing.
    let t = std::time::Instant::now();
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        // Tables fit 80 columns where no width is given.
        .env_remove("COLUMNS")
        .args(["report", "--out", "/proc/vmemdiet-nope/r"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/proc/vmemdiet-nope"), "{err}");
    assert!(
        t.elapsed().as_secs() < 5,
        "refused before the default run's work"
    );
    // What --out keeps and what a stopped run leaves: tests/out_safety.rs.
}
