//! `vmemdiet probe` on fixture trees and JSON files written from the kernel's ABI documents
//! (`Documentation/ABI/testing/sysfs-bus-nvdimm`, `sysfs-bus-dax`) and ndctl's JSON
//! (`util_namespace_to_json`): predictions beside live values, differences named, bad input
//! refused with the file named.

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/probe/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn probe(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .arg("probe")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn probe_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (ok, out, err) = probe(&a);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_6_12_system_matches_the_model_and_is_told_its_counter_misleads() {
    let root = fixture("pmem-6.12");
    let v = probe_json(&["--root", &root]);
    assert_eq!(v["profile"], "v6.12");
    let ns = v["namespaces"].as_array().unwrap();
    // The seed namespace (size 0) is skipped; the device-dax devices belong to their namespaces.
    assert_eq!(ns.len(), 2);
    assert_eq!(ns[0]["name"], "namespace0.0");
    assert_eq!(ns[0]["map"], "mem");
    assert_eq!(ns[0]["chardev"], "dax0.0");
    assert_eq!(ns[0]["raw_bytes"], 16u64 << 30);
    assert_eq!(ns[0]["usable_bytes"], 15u64 << 30);
    assert_eq!(ns[0]["model_usable_bytes"], 15u64 << 30);
    assert_eq!(ns[0]["usable_diff_bytes"], 0);
    assert_eq!(ns[1]["map"], "dev");
    assert_eq!(ns[1]["model_usable_bytes"], 16126u64 << 20);
    // 6.12 counts 16 GiB / 64 of memmap per device whatever the dedup and the map.
    assert_eq!(v["live_nr_memmap_pages"], 131_072);
    assert_eq!(v["model_nr_memmap_pages"], 131_072);
    assert_eq!(v["live_nr_memmap_boot_pages"], 1_048_576);
    assert_eq!(v["hugetlb_optimize_vmemmap"], true);
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("nr_memmap_pages misleads")),
        "{notes:?}"
    );
    // The table fits 80 columns and names both devices.
    let (ok, text, _) = probe(&["--root", &root]);
    assert!(ok);
    assert!(
        text.contains("namespace0.1") && text.contains("15G"),
        "{text}"
    );
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
}

#[test]
fn differences_are_measured_and_named() {
    let v = probe_json(&["--root", &fixture("mismatch")]);
    let ns = &v["namespaces"][0];
    assert_eq!(ns["usable_diff_bytes"], -(1i64 << 30));
    let notes = v["notes"].to_string();
    assert!(notes.contains("1073741824 bytes smaller"), "{notes}");
    // A profile given overrides the release's, and the counter note follows the profile.
    let v = probe_json(&["--root", &fixture("pmem-6.12"), "--profile", "mm-2026"]);
    // mm-2026 is an alias of 7.4 for one release.
    assert_eq!(v["profile"], "v7.4");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("nr_memmap_pages: live 131072, model"),
        "{notes}"
    );
    assert!(!notes.contains("misleads"), "{notes}");
}

#[test]
fn no_device_memory_is_one_line_and_success() {
    let (ok, out, err) = probe(&["--root", &fixture("empty")]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("no device memory"), "{out}");
}

#[test]
fn missing_or_malformed_attributes_name_the_file() {
    for (tree, file, what) in [
        ("missing-mode", "namespace0.0/mode", "missing"),
        ("bad-size", "namespace0.1/size", "not a number: '16G'"),
        (
            "bad-vmstat",
            "proc/vmstat",
            "nr_memmap_pages: not a number: 'lots'",
        ),
    ] {
        let (ok, _, err) = probe(&["--root", &fixture(tree)]);
        assert!(!ok, "{tree}");
        assert_eq!(err.trim_end().lines().count(), 1, "{tree}: {err}");
        assert!(err.contains(file) && err.contains(what), "{tree}: {err}");
        assert!(!err.contains("panicked"), "{tree}: {err}");
    }
    let (ok, _, err) = probe(&["--root", "/nonexistent/vmemdiet"]);
    assert!(ok, "an absent tree has no device memory: {err}");
}

#[test]
fn ndctl_and_daxctl_json() {
    let v = probe_json(&["--ndctl-json", &fixture("ndctl-list.json")]);
    let ns = v["namespaces"].as_array().unwrap();
    assert_eq!(ns.len(), 2);
    // No raw size in ndctl's JSON: the model infers the smallest namespace that yields it.
    assert_eq!(ns[0]["chardev"], "dax0.0");
    assert_eq!(ns[0]["model_raw_bytes"], 16u64 << 30);
    assert_eq!(ns[1]["mode"], "fsdax");
    assert_eq!(ns[1]["model_raw_bytes"], 16u64 << 30);
    let v = probe_json(&["--daxctl-json", &fixture("daxctl-list.json")]);
    assert_eq!(v["namespaces"][0]["name"], "dax1.0");
    // A device without a namespace has no info block: its memmap covers all of it.
    assert_eq!(v["namespaces"][0]["model_memmap_bytes"], 128u64 << 20);
    // ndctl -u prints sizes as text: refused, naming the file and what to do.
    let (ok, _, err) = probe(&["--ndctl-json", &fixture("ndctl-human.json")]);
    assert!(!ok);
    assert!(
        err.contains("ndctl-human.json") && err.contains("without -u"),
        "{err}"
    );
    let (ok, _, err) = probe(&["--daxctl-json", &fixture("ndctl-list.json")]);
    assert!(!ok && err.contains("chardev"), "{err}");
}
