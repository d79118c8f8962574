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
    // An absent tree is no system without device memory: it is refused (issue 26).
    let (ok, _, err) = probe(&["--root", "/nonexistent/vmemdiet"]);
    assert!(!ok && err.contains("no such directory"), "{err}");
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

/// Writes `files` (path, contents) under a fresh directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, text) in files {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// What no copy of a system looks like is refused in one line that names it, instead of
/// "no device memory".
#[test]
fn a_root_that_is_no_system_is_refused() {
    let empty = tempfile::tempdir().unwrap();
    let file = empty.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let missing = empty.path().join("missing");
    for (root, why) in [
        (missing.as_path(), "no such directory"),
        (file.as_path(), "not a directory"),
        (empty.path(), "neither sys/ nor proc/"),
    ] {
        let (ok, out, err) = probe(&["--root", root.to_str().unwrap()]);
        assert!(!ok && out.is_empty(), "{root:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(why) && err.contains(root.to_str().unwrap()),
            "{err}"
        );
    }
}

/// Values no kernel writes are refused with the file and the value, not dropped or wrapped.
#[test]
fn values_no_kernel_writes_are_refused_with_file_and_value() {
    let ns = |align: &str, size: &str| {
        tree(&[
            ("proc/vmstat", "nr_memmap_pages 0\n"),
            ("sys/bus/nd/devices/namespace0.0/size", size),
            ("sys/bus/nd/devices/namespace0.0/mode", "dax"),
            ("sys/bus/nd/devices/dax0.0/namespace", "namespace0.0"),
            ("sys/bus/nd/devices/dax0.0/mode", "ram"),
            ("sys/bus/nd/devices/dax0.0/align", align),
        ])
    };
    for (align, size, file, value) in [
        ("0", "1073741824", "dax0.0/align", "align 0"),
        ("3", "1073741824", "dax0.0/align", "align 3"),
        (
            "2097152",
            "18446744073709551615",
            "namespace0.0/size",
            "size 18446744073709551615",
        ),
    ] {
        let root = ns(align, size);
        let (ok, _, err) = probe(&["--root", root.path().to_str().unwrap()]);
        assert!(!ok, "{align} {size}");
        assert!(err.contains(file) && err.contains(value), "{err}");
    }
    let pool = tree(&[
        ("proc/vmstat", "nr_memmap_pages 0\n"),
        (
            "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
            "9223372036854775808",
        ),
    ]);
    let (ok, _, err) = probe(&["--root", pool.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("nr_hugepages") && err.contains("9223372036854775808"),
        "{err}"
    );
    let json = tree(&[(
        "ns.json",
        r#"[{"dev":"namespace0.0","mode":"devdax","map":true,"size":1073741824,"align":2097152}]"#,
    )]);
    let (ok, _, err) = probe(&[
        "--ndctl-json",
        json.path().join("ns.json").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("\"map\": true"), "{err}");
}

/// `ndctl list` prints nothing when there are no namespaces: that is an answer, not bad JSON.
#[test]
fn empty_ndctl_output_means_no_namespaces() {
    let json = tree(&[("ns.json", "")]);
    let (ok, out, err) = probe(&[
        "--ndctl-json",
        json.path().join("ns.json").to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("no device memory"), "{out}");
}

/// A device-dax device without an nvdimm namespace (hmem, CXL: `/sys/bus/dax` only) has no
/// info block: its memmap covers the device and all of it is usable, so a 7.3 kernel's counter
/// for a 2 GiB device at 2M is 2 pages per compound page, 2048, and there is no mismatch.
#[test]
fn a_dax_device_without_namespace_is_modelled_without_an_info_block() {
    let root = tree(&[
        ("proc/sys/kernel/osrelease", "7.3.4+deb13-amd64\n"),
        (
            "proc/vmstat",
            "nr_memmap_pages 2048\nnr_memmap_boot_pages 16384\n",
        ),
        ("sys/bus/dax/devices/dax1.0/size", "2147483648"),
        ("sys/bus/dax/devices/dax1.0/align", "2097152"),
    ]);
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let ns = &v["namespaces"][0];
    assert_eq!(ns["map"], Value::Null);
    assert_eq!(ns["model_raw_bytes"], Value::Null);
    assert_eq!(v["model_nr_memmap_pages"], 2048);
    let notes = v["notes"].to_string();
    assert!(!notes.contains("nr_memmap_pages: live"), "{notes}");
}

/// A namespace that exists is modelled whatever ndctl would say about creating it now (a size
/// off the region's 16 MiB step, made by another tool or an older ndctl): no refusal, a memmap.
#[test]
fn an_existing_namespace_is_modelled_without_ndctl_creation_checks() {
    let root = tree(&[
        ("proc/sys/kernel/osrelease", "6.12.0\n"),
        ("proc/vmstat", "nr_memmap_pages 0\n"),
        ("sys/bus/nd/devices/namespace0.0/size", "1077936128"),
        ("sys/bus/nd/devices/namespace0.0/mode", "dax"),
        ("sys/bus/nd/devices/dax0.0/namespace", "namespace0.0"),
        ("sys/bus/nd/devices/dax0.0/mode", "ram"),
        ("sys/bus/nd/devices/dax0.0/align", "2097152"),
    ]);
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let ns = &v["namespaces"][0];
    // 1 GiB + 4 MiB at 2M with tail dedup: 514 compound pages of 2 vmemmap pages each.
    assert_eq!(ns["model_memmap_bytes"], 514 * 2 * 4096, "{ns}");
    assert_eq!(ns["note"], Value::Null, "{ns}");
}
