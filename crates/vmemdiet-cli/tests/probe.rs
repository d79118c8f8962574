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

/// Copies a fixture tree (its `driver` links kept as links) to a fresh directory.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dst = to.join(e.file_name());
            let kind = e.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                std::os::unix::fs::symlink(target, dst).unwrap();
            } else if kind.is_dir() {
                copy(&e.path(), &dst);
            } else {
                std::fs::copy(e.path(), dst).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(std::path::Path::new(&fixture(name)), dir.path());
    dir
}

/// The fixture kmem-cxl-7.3 with `files` (path, contents) written over it.
fn kmem_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = copy_fixture("kmem-cxl-7.3");
    for (p, text) in files {
        std::fs::write(dir.path().join(p), text).unwrap();
    }
    dir
}

const MEMORY: &str = "sys/devices/system/memory";
const PARAM: &str = "sys/module/memory_hotplug/parameters/memmap_on_memory";
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// An 8 GiB CXL-like dax device at 0x10_8000_0000 (block 33 of 2 GiB blocks) bound to kmem,
/// all 4 blocks online movable, memmap_on_memory=Y and the device's file 1 on 7.3: each block
/// hosts its memmap, 2 GiB / 4096 × 64 = 32 MiB, so 8 GiB − 4 × 32 MiB is usable, and the
/// model agrees.
#[test]
fn a_kmem_device_with_memmap_on_memory_hosts_its_memmap() {
    let root = fixture("kmem-cxl-7.3");
    let v = probe_json(&["--root", &root]);
    assert_eq!(v["namespaces"], serde_json::json!([]), "kmem is no devdax");
    let d = &v["system_ram"][0];
    assert_eq!(d["name"], "dax0.0");
    assert_eq!(d["source"], "hmem");
    assert_eq!(d["start"], 0x10_8000_0000u64);
    assert_eq!(d["block_size"], 2 * GIB);
    assert_eq!(d["param"], "y");
    assert_eq!(d["device_memmap_on_memory"], true);
    assert_eq!(
        (d["online_blocks"].clone(), d["total_blocks"].clone()),
        (4.into(), 4.into())
    );
    assert_eq!(d["zones"], serde_json::json!(["Movable"]));
    assert_eq!(d["self_hosted"], true);
    assert_eq!(d["usable_bytes"], 8 * GIB - 4 * 32 * MIB);
    let m = &d["model"];
    assert_eq!(m["blocks"], 4);
    assert_eq!(m["memmap_on_memory"], true);
    assert_eq!(m["dram_reason"], Value::Null);
    assert_eq!(m["memmap_bytes"], 0);
    assert_eq!(m["device_memmap_bytes"], 4 * 32 * MIB);
    assert_eq!(m["usable_bytes"], 8 * GIB - 4 * 32 * MIB);
    let notes = d["notes"].to_string();
    assert!(notes.contains("sysfs does not tell a CXL"), "{notes}");
    // The second table, 80 columns wide: 8064M usable, live and model.
    let (ok, text, err) = probe(&["--root", &root]);
    assert!(ok, "{err}");
    assert!(text.contains("System RAM from device memory"), "{text}");
    let row = text.lines().find(|l| l.contains("dax0.0 ")).unwrap();
    assert_eq!(row.matches("8064M").count(), 2, "{row}");
    assert!(row.contains("4/4"), "{row}");
    for l in text.lines() {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
    // A CXL ram region over the range makes it a CXL device: its 1 is the driver's default.
    let v = probe_json(&[
        "--root",
        &root,
        "--cxl-json",
        &fixture("cxl-list-regions.json"),
    ]);
    let d = &v["system_ram"][0];
    assert_eq!(d["source"], "cxl");
    assert_eq!(d["model"]["usable_bytes"], 8 * GIB - 4 * 32 * MIB);
    assert!(!d["notes"].to_string().contains("hmem"), "{d}");
}

/// The same device on a boot with memory_hotplug.memmap_on_memory=N: the device still reads 1
/// (only the CXL driver's default can, as writing 1 fails there), and the memmap goes to DRAM:
/// 8 GiB / 4096 × 64 = 128 MiB; all 8 GiB usable.
#[test]
fn the_parameter_n_puts_the_memmap_in_dram_and_says_so() {
    let root = kmem_tree(&[(PARAM, "N\n")]);
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let d = &v["system_ram"][0];
    assert_eq!(d["self_hosted"], false);
    assert_eq!(d["usable_bytes"], 8 * GIB);
    assert_eq!(d["source"], "cxl");
    let m = &d["model"];
    assert_eq!(m["memmap_on_memory"], false);
    assert_eq!(m["memmap_bytes"], 128 * MIB);
    assert_eq!(m["device_memmap_bytes"], 0);
    assert_eq!(m["usable_bytes"], 8 * GIB);
    let notes = d["notes"].to_string();
    assert!(
        notes.contains("in DRAM (128 MiB)") && notes.contains("memmap_on_memory is n"),
        "{notes}"
    );
    // The memmap in DRAM counts in the probe's total.
    assert_eq!(v["model_memmap_bytes"], 128 * MIB);
}

/// One of the 4 blocks offline: 3 online, usable 3 × (2 GiB − 32 MiB), and the note names it.
#[test]
fn an_offline_block_is_named() {
    let root = kmem_tree(&[(&format!("{MEMORY}/memory35/state"), "offline\n")]);
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let d = &v["system_ram"][0];
    assert_eq!(d["online_blocks"], 3);
    assert_eq!(d["total_blocks"], 4);
    assert_eq!(d["not_online"], serde_json::json!(["memory35"]));
    assert_eq!(d["usable_bytes"], 3 * (2 * GIB - 32 * MIB));
    assert_eq!(d["model"]["blocks"], 4);
    let notes = d["notes"].to_string();
    assert!(
        notes.contains("3 of the model's 4 blocks online (memory35"),
        "{notes}"
    );
    let (ok, text, _) = probe(&["--root", root.path().to_str().unwrap()]);
    assert!(ok && text.contains("3/4"), "{text}");
}

/// Before 6.8 dax_kmem never asks for memmap_on_memory (and the device has no file): DRAM,
/// 128 MiB; the kmem binding read from the driver's directory rather than the device's link.
#[test]
fn before_6_8_dax_kmem_never_asks() {
    let root = kmem_tree(&[("proc/sys/kernel/osrelease", "6.6.30\n")]);
    let dax = root.path().join("sys/bus/dax/devices/dax0.0");
    std::fs::remove_file(dax.join("memmap_on_memory")).unwrap();
    std::fs::remove_file(dax.join("driver")).unwrap();
    let kmem = root.path().join("sys/bus/dax/drivers/kmem");
    std::fs::create_dir_all(&kmem).unwrap();
    std::os::unix::fs::symlink("../../devices/dax0.0", kmem.join("dax0.0")).unwrap();
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let d = &v["system_ram"][0];
    assert_eq!(d["device_memmap_on_memory"], Value::Null);
    assert_eq!(d["self_hosted"], false);
    assert_eq!(d["usable_bytes"], 8 * GIB);
    assert_eq!(d["model"]["memmap_bytes"], 128 * MIB);
    assert!(
        d["model"]["dram_reason"].as_str().unwrap().contains("6.8"),
        "{d}"
    );
}

/// Values the kernel never writes in the memory block and kmem files are refused in one line
/// naming the file and the value.
#[test]
fn kmem_values_no_kernel_writes_are_refused() {
    let bs = format!("{MEMORY}/block_size_bytes");
    let state = format!("{MEMORY}/memory34/state");
    let index = format!("{MEMORY}/memory34/phys_index");
    let mom = "sys/bus/dax/devices/dax0.0/memmap_on_memory";
    for (file, value, why) in [
        (bs.as_str(), "0x80000000", "no 0x"),
        (bs.as_str(), "60000000", "a power of two"),
        (bs.as_str(), "0", "a power of two"),
        (state.as_str(), "onlined", "not a block state"),
        (index.as_str(), "0x22", "no 0x"),
        (index.as_str(), "00000023", "not memory34's"),
        (mom, "2", "not 0 or 1"),
        (PARAM, "1", "not Y, N or force"),
    ] {
        let root = kmem_tree(&[(file, &format!("{value}\n"))]);
        let (ok, out, err) = probe(&["--root", root.path().to_str().unwrap()]);
        assert!(!ok && out.is_empty(), "{file}={value}: {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(file) && err.contains(&format!("'{value}'")) && err.contains(why),
            "{file}={value}: {err}"
        );
    }
}

/// `daxctl list -M` with a system-ram device (`daxctl/json.c`: online_memblocks,
/// total_memblocks, movable, mappings): 4 blocks of 8 GiB / 4 = 2 GiB, movable. The boot
/// parameter is not in the JSON, so the model takes the default n: DRAM, 128 MiB.
#[test]
fn daxctl_system_ram_and_cxl_regions() {
    let daxctl = fixture("daxctl-system-ram.json");
    let cxl = fixture("cxl-list-regions.json");
    let v = probe_json(&["--daxctl-json", &daxctl]);
    assert_eq!(v["namespaces"].as_array().unwrap().len(), 1, "dax1.0 only");
    let d = &v["system_ram"][0];
    assert_eq!(d["name"], "dax0.0");
    assert_eq!(d["start"], 0x10_8000_0000u64);
    assert_eq!(d["block_size"], 2 * GIB);
    assert_eq!(
        (d["online_blocks"].clone(), d["total_blocks"].clone()),
        (4.into(), 4.into())
    );
    assert_eq!(d["zones"], serde_json::json!(["Movable"]));
    assert_eq!(d["self_hosted"], Value::Null);
    assert_eq!(d["source"], "hmem");
    assert_eq!(d["model"]["blocks"], 4);
    assert_eq!(d["model"]["memmap_bytes"], 128 * MIB);
    assert!(d["model"]["dram_reason"]
        .as_str()
        .unwrap()
        .contains("is 0 (hmem)"));
    assert!(d["notes"].to_string().contains("default, n"), "{d}");
    // With the CXL regions: the device is in region0, a CXL device, refused by the parameter.
    let v = probe_json(&["--daxctl-json", &daxctl, "--cxl-json", &cxl]);
    let d = &v["system_ram"][0];
    assert_eq!(d["source"], "cxl");
    assert!(d["model"]["dram_reason"].as_str().unwrap().contains("is n"));
    // cxl list alone: the committed ram region only (not the pmem one, not the reset one).
    let v = probe_json(&["--cxl-json", &cxl]);
    let r = v["system_ram"].as_array().unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["name"], "region0");
    assert_eq!(r[0]["source"], "cxl");
    assert_eq!(r[0]["model"]["blocks"], 4);
    assert_eq!(r[0]["model"]["memmap_bytes"], 128 * MIB);
    assert_eq!(r[0]["model"]["usable_bytes"], 8 * GIB);
    let bad = tree(&[(
        "r.json",
        r#"[{"region":"region0","resource":70866960384,"size":8589934592,"type":"ram","decode_state":"committed"}]"#,
    )]);
    let f = bad.path().join("r.json");
    let (ok, _, err) = probe(&["--cxl-json", f.to_str().unwrap()]);
    assert!(
        !ok && err.contains("r.json") && err.contains("\"committed\""),
        "{err}"
    );
}

/// A system without System RAM from device memory prints no second table.
#[test]
fn no_kmem_device_no_second_table() {
    let (ok, text, _) = probe(&["--root", &fixture("pmem-6.12")]);
    assert!(ok && !text.contains("System RAM"), "{text}");
    let v = probe_json(&["--root", &fixture("pmem-6.12")]);
    assert_eq!(v["system_ram"], serde_json::json!([]));
}

/// A 16 GiB pmem namespace at 256 GiB in devdax mode (map=mem, align 2M: the info block takes
/// the first 2 MiB) bound to kmem on 6.12 with 2 GiB blocks: dax_kmem rounds the start up to
/// 258 GiB, so 7 blocks (memory129–135) are hot-added and 2 GiB strands; the device's
/// memmap_on_memory is 0 (the pmem driver's default), so 7 × 32 MiB of memmap go to DRAM. The
/// namespace is no devdax mapping now: its row models no memmap.
#[test]
fn a_pmem_namespace_bound_to_kmem_is_system_ram() {
    let mut files = vec![
        ("proc/sys/kernel/osrelease", "6.12.0\n".to_string()),
        (PARAM, "Y\n".into()),
        (
            "sys/devices/system/memory/block_size_bytes",
            "80000000\n".into(),
        ),
        (
            "sys/bus/nd/devices/namespace0.0/size",
            "17179869184\n".into(),
        ),
        ("sys/bus/nd/devices/namespace0.0/mode", "dax\n".into()),
        (
            "sys/bus/nd/devices/namespace0.0/resource",
            "0x4000000000\n".into(),
        ),
        (
            "sys/bus/nd/devices/dax0.1/namespace",
            "namespace0.0\n".into(),
        ),
        ("sys/bus/nd/devices/dax0.1/mode", "ram\n".into()),
        ("sys/bus/nd/devices/dax0.1/align", "2097152\n".into()),
        (
            "sys/bus/nd/devices/dax0.1/dax0.0/size",
            "17177772032\n".into(),
        ),
        ("sys/bus/dax/devices/dax0.0/size", "17177772032\n".into()),
        (
            "sys/bus/dax/devices/dax0.0/resource",
            "0x4000200000\n".into(),
        ),
        ("sys/bus/dax/devices/dax0.0/align", "2097152\n".into()),
        ("sys/bus/dax/devices/dax0.0/memmap_on_memory", "0\n".into()),
    ];
    let blocks: Vec<(String, String, String)> = (129..=135)
        .map(|n| {
            let d = format!("{MEMORY}/memory{n}");
            (
                d.clone() + "/state",
                d.clone() + "/phys_index",
                format!("{n:08x}\n"),
            )
        })
        .collect();
    for (state, index, hex) in &blocks {
        files.push((state.as_str(), "online\n".into()));
        files.push((index.as_str(), hex.clone()));
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let root = tree(&files);
    let dax = root.path().join("sys/bus/dax/devices/dax0.0/driver");
    std::os::unix::fs::symlink("../../../../bus/dax/drivers/kmem", dax).unwrap();
    let v = probe_json(&["--root", root.path().to_str().unwrap()]);
    let ns = &v["namespaces"][0];
    assert_eq!(ns["kmem"], true);
    assert_eq!(ns["model_memmap_bytes"], Value::Null);
    let d = &v["system_ram"][0];
    assert_eq!(d["source"], "pmem");
    assert_eq!(
        (d["online_blocks"].clone(), d["total_blocks"].clone()),
        (7.into(), 7.into())
    );
    assert_eq!(d["self_hosted"], false);
    assert_eq!(d["usable_bytes"], 14 * GIB);
    let m = &d["model"];
    assert_eq!(m["blocks"], 7);
    assert_eq!(m["added_start"], 258 * GIB);
    assert_eq!(m["stranded_bytes"], 2 * GIB);
    assert_eq!(m["memmap_bytes"], 7 * 32 * MIB);
    assert_eq!(m["usable_bytes"], 14 * GIB);
    assert!(
        m["dram_reason"].as_str().unwrap().contains("is 0 (pmem)"),
        "{m}"
    );
}

/// `MemTotal` of a capture's `/proc/meminfo`, in bytes.
fn mem_total(step: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(step.join("proc/meminfo")).unwrap();
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// The real kernels' kmem steps (`tools/kernel-capture`: a pmem namespace in devdax mode
/// onlined as System RAM, memmap_on_memory off and on): the memory blocks the kernel shows in
/// the device's range are the ones the model hot-adds, all online, what `MemTotal` gained
/// over the step before is both the live usable and the model's, and `nr_memmap_pages` moved
/// by what the model's total did.
#[test]
fn real_kernels_kmem_steps_equal_the_model() {
    let kernels = format!("{}/tests/data/kernels", env!("CARGO_MANIFEST_DIR"));
    let mut compared = 0;
    for k in std::fs::read_dir(&kernels).unwrap() {
        let k = k.unwrap().path();
        if !k.is_dir() {
            continue;
        }
        let mut steps: Vec<_> = std::fs::read_dir(&k)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("proc/meminfo").is_file())
            .collect();
        steps.sort();
        for pair in steps.windows(2) {
            let name = pair[1].file_name().unwrap().to_string_lossy().into_owned();
            if !(name.contains("kmem") && name.contains("online")) {
                continue;
            }
            let v = probe_json(&["--root", pair[1].to_str().unwrap()]);
            let d = &v["system_ram"][0];
            let gained = mem_total(&pair[1]) - mem_total(&pair[0]);
            let at = format!("{}/{name}", k.display());
            assert_eq!(d["online_blocks"], d["model"]["blocks"], "{at}: {d}");
            assert_eq!(d["total_blocks"], d["model"]["blocks"], "{at}: {d}");
            assert_eq!(d["usable_bytes"], gained, "{at}: {d}");
            assert_eq!(d["model"]["usable_bytes"], gained, "{at}: {d}");
            // nr_memmap_pages moves as the model's total does (the device-dax mapping goes,
            // the blocks' memmap comes).
            let before = probe_json(&["--root", pair[0].to_str().unwrap()]);
            let change = |key: &str| v[key].as_i64().unwrap() - before[key].as_i64().unwrap();
            assert_eq!(
                change("live_nr_memmap_pages"),
                change("model_nr_memmap_pages"),
                "{at}"
            );
            compared += 1;
        }
    }
    // 6.12, 6.18, 7.2 and 7.3: 6 steps each (6.19 and 7.1 were captured without modules).
    assert_eq!(compared, 24, "kmem steps compared");
}
