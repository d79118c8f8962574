//! The `vmemdiet` command as users run it.

use assert_cmd::Command;
use serde_json::Value;

fn vmemdiet() -> Command {
    let mut c = Command::cargo_bin("vmemdiet").unwrap();
    // Tables fit 80 columns where no width is given.
    c.env_remove("COLUMNS");
    c
}

const KEYS: [&str; 16] = [
    "size",
    "align",
    "map",
    "profile",
    "arch",
    "memmap_bytes",
    "pagetable_bytes",
    "device_bytes",
    "struct_pages",
    "struct_pages_initialized",
    "nr_memmap_pages",
    "nr_memmap_boot_pages",
    "struct_page_size",
    "simulated",
    "usable_bytes",
    "reserve_bytes",
];

/// Runs `vmemdiet args`, which must succeed, and returns the JSON array it prints.
fn json_rows(args: &[&str]) -> Vec<Value> {
    let out = vmemdiet().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

/// Runs `vmemdiet args`, which must succeed with exactly one row, and returns that row: JSON
/// is an array whatever the number of rows, one row included.
fn json_row(args: &[&str]) -> Value {
    let mut rows = json_rows(args);
    assert_eq!(rows.len(), 1, "{args:?}: {rows:?}");
    rows.remove(0)
}

/// Every `--json` that lists rows prints an array, for one row as for several, so a tool
/// parses one configuration and many the same way; `plan --help` says so.
#[test]
fn json_is_an_array_for_one_row_and_for_several() {
    let quick = ["--runs", "1", "--json"];
    for (one, several) in [
        (
            vec![
                "plan", "--size", "1T", "--align", "2M", "--map", "mem", "--json",
            ],
            vec![
                "plan", "--size", "1T", "--align", "2M,1G", "--map", "mem", "--json",
            ],
        ),
        (
            vec![
                "plan", "--usable", "15G", "--align", "1G", "--map", "mem", "--json",
            ],
            vec![
                "plan", "--usable", "15G", "--align", "2M,1G", "--map", "mem", "--json",
            ],
        ),
        (
            [
                &[
                    "bench",
                    "bootstrap",
                    "--size",
                    "64M",
                    "--align",
                    "2M",
                    "--profile",
                    "v7.3",
                ][..],
                &quick,
            ]
            .concat(),
            [
                &[
                    "bench",
                    "bootstrap",
                    "--size",
                    "64M",
                    "--align",
                    "2M,4K",
                    "--profile",
                    "v7.3",
                ][..],
                &quick,
            ]
            .concat(),
        ),
        (
            [
                &[
                    "bench",
                    "hugetlb-pool",
                    "--size",
                    "64M",
                    "--profile",
                    "v7.3",
                ][..],
                &quick,
            ]
            .concat(),
            [&["bench", "hugetlb-pool", "--size", "64M"][..], &quick].concat(),
        ),
    ] {
        assert_eq!(json_rows(&one).len(), 1, "{one:?}");
        assert!(json_rows(&several).len() > 1, "{several:?}");
    }
    assert_eq!(json_rows(&["arches", "--json"]).len(), 11);
    let help = vmemdiet().args(["plan", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("an array of objects, one per configuration"),
        "{help}"
    );
}

#[test]
fn plan_json_has_exactly_the_documented_keys_and_golden_numbers() {
    let v = json_row(&[
        "plan", "--size", "1TiB", "--align", "2M", "--map", "mem", "--json",
    ]);
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["memmap_bytes"], 4u64 << 30);
    // The default is the newest stable release, 7.3, whose counter (fixed in 7.2) reports
    // VMEMMAP_OPTIMIZATION_PAGES = 2 per 2 MiB compound page: 4 GiB of memmap per TiB.
    assert_eq!(v["nr_memmap_pages"], 2 * (1u64 << 40) / (2 << 20));
    assert_eq!(v["profile"], "v7.3");
    assert_eq!(v["map"], "mem");
    assert_eq!(v["simulated"], false);
    // The namespace's info block, rounded up to 2 MiB, is what it loses with the memmap in RAM.
    assert_eq!(v["usable_bytes"], (1u64 << 40) - (2 << 20));
    assert_eq!(v["reserve_bytes"], 2u64 << 20);
}

#[test]
fn plan_lists_give_one_row_per_combination() {
    let out = vmemdiet()
        .args([
            "plan",
            "--size",
            "1TiB",
            "--align",
            "4K,2M,1G",
            "--profile",
            "v5.10,v6.15",
            "--map",
            "mem",
            "--json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let gib = |r: &Value| r["memmap_bytes"].as_u64().unwrap();
    assert!(rows
        .iter()
        .filter(|r| r["profile"] == "v5.10")
        .all(|r| gib(r) == 16 << 30));
    let v615: Vec<u64> = rows
        .iter()
        .filter(|r| r["profile"] == "v6.15")
        .map(gib)
        .collect();
    assert_eq!(v615, vec![16 << 30, 4 << 30, 8 << 20]);
}

#[test]
fn plan_simulate_measures_what_the_planner_computes() {
    let args = [
        "plan",
        "--size",
        "4GiB",
        "--align",
        "4K,2M,1G",
        "--profile",
        "v5.10,v6.12,next",
        "--map",
        "mem,dev",
        "--json",
    ];
    let planned: Value =
        serde_json::from_slice(&vmemdiet().args(args).output().unwrap().stdout).unwrap();
    let out = vmemdiet().args(args).arg("--simulate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let simulated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (p, s) = (planned.as_array().unwrap(), simulated.as_array().unwrap());
    assert_eq!(p.len(), 18);
    for (p, s) in p.iter().zip(s) {
        assert_eq!(s["simulated"], true);
        for k in [
            "memmap_bytes",
            "pagetable_bytes",
            "device_bytes",
            "struct_pages",
            "struct_pages_initialized",
        ] {
            assert_eq!(p[k], s[k], "{k} for {p}");
        }
    }
}

#[test]
fn headline_table_compares_v5_10_with_the_default() {
    let out = vmemdiet()
        .args(["plan", "--size", "1TiB"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("v5.10") && text.contains("v7.3"));
    assert!(text.contains("16 GiB") && text.contains("4 GiB") && text.contains("8 MiB"));
}

#[test]
fn without_map_both_rows_show_and_size_is_the_raw_namespace() {
    let out = vmemdiet()
        .args(["plan", "--size", "16G", "--align", "1G", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let maps: Vec<_> = rows.iter().map(|r| r["map"].as_str().unwrap()).collect();
    assert_eq!(maps, ["mem", "dev"]);
    // 16 GiB at 1G: data starts at 1 GiB either way (the 8 KiB info block, or 8 KiB + 256 MiB
    // of memmap, rounded up to the align).
    for r in rows {
        assert_eq!(r["size"], 16u64 << 30);
        assert_eq!(r["usable_bytes"], 15u64 << 30);
        assert_eq!(r["reserve_bytes"], 1u64 << 30);
    }
    let help =
        String::from_utf8(vmemdiet().args(["plan", "--help"]).output().unwrap().stdout).unwrap();
    assert!(help.contains("ndctl's default"), "{help}");
}

#[test]
fn sizes_parse_and_are_checked_as_ndctl_does() {
    let err = |args: &[&str]| {
        let out = vmemdiet().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // ndctl's own suggestion, in the units given.
    let e = err(&["plan", "--size", "1040M", "--align", "1G"]);
    assert!(e.contains("did you intend --size=2048M?"), "{e}");
    let e = err(&["plan", "--size", "1000m"]);
    assert!(e.contains("region0: align setting is 0x1000000"), "{e}");
    assert!(e.contains("992M or 1008M"), "{e}");
    let e = err(&["plan", "--size", "8M", "--region-align", "2M"]);
    assert!(e.contains("must be >= 16MiB"), "{e}");
    let e = err(&["plan", "--size", "1G", "--align", "1G", "--map", "mem"]);
    assert!(e.contains("smallest valid size is 2 GiB"), "{e}");
    let e = err(&["plan", "--size", "16GB"]);
    assert!(e.contains("'16GB' is not a size as ndctl parses it"), "{e}");
    // Hex, as strtoull reads it.
    let v = json_row(&[
        "plan",
        "--size",
        "0x400000000",
        "--align",
        "2M",
        "--map",
        "dev",
        "--json",
    ]);
    assert_eq!(v["size"], 16u64 << 30);
}

#[test]
fn usable_asks_the_inverse_and_prints_the_ndctl_command() {
    let v = json_row(&[
        "plan", "--usable", "15G", "--align", "1G", "--map", "mem", "--json",
    ]);
    assert_eq!(v["size"], 16u64 << 30);
    assert_eq!(v["usable_bytes"], 15u64 << 30);
    assert_eq!(v["usable_requested"], 15u64 << 30);
    assert_eq!(
        v["command"],
        "ndctl create-namespace --mode=devdax --size=16G --align=1G --map=mem"
    );
    // The table names the command line too, and the forward plan of that size agrees.
    let out = vmemdiet()
        .args(["plan", "--usable", "100G"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let cmd = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("ndctl create-namespace") && l.contains("--map=dev"))
        .unwrap();
    let size = cmd
        .split("--size=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let v = json_row(&[
        "plan", "--size", size, "--align", "2M", "--map", "dev", "--json",
    ]);
    assert!(v["usable_bytes"].as_u64().unwrap() >= 100 << 30);
    let e = vmemdiet()
        .args(["plan", "--usable", "1G", "--kind", "hugetlb"])
        .output()
        .unwrap();
    assert!(!e.status.success());
}

#[test]
fn bad_input_exits_nonzero_with_one_clear_line() {
    let cases: &[&[&str]] = &[
        &["plan", "--size", "3Q"],
        &["plan", "--size", "3M"],
        &["plan", "--size", "1T", "--align", "8K"],
        &["plan", "--size", "0"],
        &["plan", "--size", "1T", "--profile", "v4.0"],
        &["plan", "--size", "1T", "--map", "disk"],
        &["plan", "--size", "64T", "--align", "1G"],
        &["plan", "--size", "2M", "--map", "dev"],
        &["plan", "--ram", "3G"],
        &["plan", "--size", "1040M", "--align", "1G"],
        &["plan", "--size", "0x"],
        &["plan", "--size", "1G", "--align", "1G"],
        &["plan", "--usable", "0"],
        &["plan", "--usable", "16E"],
        &["plan", "--size", "1T", "--interleave-ways", "0"],
        &["plan", "--size", "1T", "--region-align", "3M"],
        &["bench", "bootstrap", "--runs", "0"],
        &["bench", "bootstrap", "--size", "3M"],
        &["frobnicate"],
    ];
    for args in cases {
        let out = vmemdiet().args(*args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err:?}"
        );
        assert!(err.starts_with("error:"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn bench_bootstrap_json_has_the_documented_keys() {
    let out = vmemdiet()
        .args([
            "bench",
            "bootstrap",
            "--size",
            "2G",
            "--align",
            "2M,1G",
            "--profile",
            "v5.10,v6.15",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        for k in [
            "size",
            "align",
            "profile",
            "runs",
            "create_us",
            "destroy_us",
            "limit_us",
            "limit_pte_us",
            "vmemmap_entries",
        ] {
            assert!(r.get(k).is_some(), "missing {k}");
        }
        assert!(r["create_us"].as_f64().unwrap() > 0.0);
    }
    let init = |p: &str, a: u64| {
        rows.iter()
            .find(|r| r["profile"] == p && r["align"] == a)
            .unwrap()["struct_pages_initialized"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(init("v5.10", 2 << 20), 524_288);
    assert_eq!(init("v6.15", 2 << 20), 1024 * 128);
    assert_eq!(init("v6.15", 1 << 30), 2 * 128);
}

/// `-f` of a file gup_test cannot map fails as tools/testing/selftests/mm/gup_test.c does,
/// never a skip: `open(O_RDWR)` of a directory (EISDIR) and `mmap` of /dev/null or another
/// memory device without an mmap method (ENODEV) end in `ksft_exit_fail_msg`, "Bail out!" and
/// exit 1; gup_bench prints the same message and exits 1. With -H the file is only opened
/// (MAP_HUGETLB maps anonymous huge pages), so /dev/null works and a directory still fails.
#[test]
fn gup_test_of_a_file_it_cannot_map_fails_as_the_kernel_test_does() {
    let run = |tool: &str, args: &[&str]| {
        let out = vmemdiet().arg(tool).args(args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
        (out.status.code(), text)
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap().to_string();
    for (args, msg) in [
        (vec!["-f", "/dev/null"], "mmap: No such device".to_string()),
        (
            vec!["-f", "/dev/full", "-S"],
            "mmap: No such device".to_string(),
        ),
        (
            vec!["-f", &dir],
            format!("Unable to open {dir}: Is a directory"),
        ),
        (
            vec!["-f", &dir, "-H"],
            format!("Unable to open {dir}: Is a directory"),
        ),
    ] {
        let (code, text) = run("gup-test", &args);
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains(&format!("Bail out! {msg}\n")),
            "{args:?}: {text}"
        );
        assert!(!text.contains("SKIP"), "{args:?}: {text}");
        let (code, text) = run("gup-bench", &args);
        assert_eq!(
            (code, text.as_str()),
            (Some(1), format!("{msg}\n").as_str()),
            "{args:?}"
        );
    }
    let (code, text) = run(
        "gup-test",
        &["-f", "/dev/null", "-H", "-m", "2", "--align", "2M"],
    );
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn gup_test_prints_time_lines_and_uses_kselftest_exit_codes() {
    let stdout = |args: &[&str]| {
        let out = vmemdiet().arg("gup-test").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // The seeds' device-dax command: one "# CMD: Time:" line per repeat, in TAP.
    let (code, text, err) = stdout(&[
        "-f",
        "/dev/dax0.0",
        "-m",
        "64",
        "-r",
        "3",
        "-S",
        "-a",
        "-n",
        "512",
        "-w",
        "--align",
        "2M",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let times: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("# PIN_FAST_BENCHMARK: Time: get:"))
        .collect();
    assert_eq!(times.len(), 3, "{text}");
    assert!(times
        .iter()
        .all(|l| l.ends_with(" us# ") && l.contains(" put:")));
    assert!(text.starts_with("TAP version 13\n1..1\n"), "{text}");
    assert!(
        text.ends_with(
            "ok 1 ioctl status 0\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
        ),
        "{text}"
    );
    // -j 2: a line per thread and repeat, a result per thread.
    let (code, text, _) = stdout(&["-m", "8", "-r", "2", "-j", "2", "-u", "-n", "-1"]);
    assert_eq!(code, Some(0));
    assert_eq!(text.lines().filter(|l| l.contains(": Time:")).count(), 4);
    assert!(
        text.contains("1..2\n") && text.contains("ok 2 ioctl status 0"),
        "{text}"
    );
    // Basic tests print "done".
    for (flag, name) in [("-U", "GUP_BASIC_TEST"), ("-b", "PIN_BASIC_TEST")] {
        let (code, text, _) = stdout(&["-m", "4", "-S", flag, "--profile", "v5.10"]);
        assert_eq!(code, Some(0));
        assert!(text.contains(&format!("# {name}: done\n")), "{text}");
    }
    // -n 0 gets nothing: the size comes back truncated, the test still passes as in the kernel.
    let (code, text, _) = stdout(&["-m", "4", "-n", "0"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("us# , truncated (size: 0)# \n"), "{text}");
    // hugetlbfs (-H) over a HugeTLB pool; a 4K "huge page" is skipped (4).
    let (code, _, err) = stdout(&["-H", "-m", "64", "-a", "-n", "512", "--align", "2M"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, text, _) = stdout(&["-H", "--align", "4K"]);
    assert_eq!(code, Some(4));
    assert!(text.contains("ok 1 # SKIP "), "{text}");
    // Errors as the kernel's gup_test prints them: getopt's line, then Bail out, exit 1.
    let (code, text, err) = stdout(&["-z"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        text,
        "Bail out! Wrong argument\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
    );
    assert!(err.is_empty(), "{err}");
    let (code, _, err) = stdout(&["-x"]);
    assert_eq!(code, Some(1));
    assert_eq!(err, "gup_test: invalid option -- 'x'\n");
    let (code, _, err) = stdout(&["-m"]);
    assert_eq!(code, Some(1));
    assert_eq!(err, "gup_test: option requires an argument -- 'm'\n");
    let (code, text, _) = stdout(&["-f", "/nonexistent/dir/file"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains(
            "Bail out! Unable to open /nonexistent/dir/file: No such file or directory\n"
        ),
        "{text}"
    );
    // A private mapping of device-dax fails in mmap (EINVAL), as check_vma refuses it.
    let (code, text, _) = stdout(&["-f", "/dev/dax0.0", "-m", "8"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("Bail out! mmap: Invalid argument\n"),
        "{text}"
    );
    // -m 0: mmap of nothing.
    let (code, text, _) = stdout(&["-m", "0"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("Bail out! mmap: Invalid argument\n"),
        "{text}"
    );
    // --output classic: the plain lines of 5.11-6.5.
    let (code, text, _) = stdout(&["-m", "4", "-a", "--output", "classic"]);
    assert_eq!(code, Some(0));
    assert!(
        text.starts_with("PIN_FAST_BENCHMARK: Time: get:") && text.lines().count() == 1,
        "{text}"
    );
    // Our extensions are checked and named.
    let (code, _, err) = stdout(&["--profile", "v9"]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: --profile v9:") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn bench_gup_json_has_the_documented_keys_and_counts() {
    let out = vmemdiet()
        .args([
            "bench",
            "gup",
            "--size",
            "64M",
            "--align",
            "2M",
            "--profile",
            "v5.19,v6.15",
            "--op",
            "pin-fast,pin-longterm",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        for k in [
            "op",
            "kind",
            "size",
            "align",
            "profile",
            "threads",
            "runs",
            "get_us",
            "put_us",
            "limit_get_us",
            "limit_put_us",
            "pages",
            "atomics",
        ] {
            assert!(r.get(k).is_some(), "missing {k}");
        }
        assert_eq!(r["pages"], 16384);
        assert_eq!(r["kind"], "devdax");
    }
    let row = |p: &str, op: &str| {
        rows.iter()
            .find(|r| r["profile"] == p && r["op"] == op)
            .unwrap()
    };
    // 32 leaves of 2 MiB, 512 pages per call: v5.19 grabs per page, v6.15 per leaf; unpin per folio run.
    assert_eq!(row("v5.19", "pin-fast")["get_atomics"], 16384);
    assert_eq!(row("v6.15", "pin-fast")["get_atomics"], 32);
    assert_eq!(row("v5.19", "pin-fast")["put_atomics"], 32);
    // gup_test -L is the slow path: per 4 KiB walks in v5.19, per leaf in v6.15.
    assert_eq!(row("v5.19", "pin-longterm")["walks"], 16384);
    assert_eq!(row("v6.15", "pin-longterm")["walks"], 32);
}

#[test]
fn bench_mr_json_has_the_documented_keys() {
    let out = vmemdiet()
        .args([
            "bench",
            "mr",
            "--size",
            "64M",
            "--align",
            "2M",
            "--profile",
            "v5.10,v6.15",
            "--seconds",
            "0.1",
            "--threads",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        for k in [
            "kind",
            "size",
            "align",
            "profile",
            "threads",
            "seconds",
            "rounds",
            "us_per_round",
            "pin_us",
            "sg_us",
            "release_us",
        ] {
            assert!(r.get(k).is_some(), "missing {k}");
        }
        assert!(
            r["rounds"].as_u64().unwrap() >= 2,
            "each thread does at least one round"
        );
        assert_eq!(r["sg_entries"], 1);
    }
    let bad = vmemdiet()
        .args(["bench", "mr", "--seconds", "-1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert_eq!(String::from_utf8(bad.stderr).unwrap().lines().count(), 1);
}

#[test]
fn bench_mr_driver_adds_the_driver_keys_and_counts() {
    let rows = json_rows(&[
        "bench",
        "mr",
        "--size",
        "8M",
        "--align",
        "2M",
        "--profile",
        "v6.12,v6.15",
        "--driver",
        "none,rxe,mlx5",
        "--seconds",
        "0.05",
        "--json",
    ]);
    assert_eq!(rows.len(), 6);
    let row = |profile: &str, driver: &str| {
        rows.iter()
            .find(|r| r["profile"] == profile && r["driver"] == driver)
            .unwrap()
    };
    for r in &rows {
        assert!(r["driver_us"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(row("v6.15", "none")["driver_us"], 0.0);
    assert_eq!(row("v6.15", "none")["driver_entries"], 0);
    // rxe: one map entry per 4 KiB page.
    assert_eq!(row("v6.12", "rxe")["driver_entries"], 2048);
    assert_eq!(row("v6.12", "rxe")["mr_page_size"], 4096);
    // mlx5: v6.12's [head][tails] entries force 4 KiB pages; 6.15 maps the 4 MiB-aligned
    // region with 4 MiB pages.
    assert_eq!(row("v6.12", "mlx5")["sg_entries"], 8);
    assert_eq!(row("v6.12", "mlx5")["mr_page_size"], 4096);
    assert_eq!(row("v6.12", "mlx5")["driver_entries"], 2048);
    assert_eq!(row("v6.15", "mlx5")["mr_page_size"], 4u64 << 20);
    assert_eq!(row("v6.15", "mlx5")["driver_entries"], 2);
    let bad = vmemdiet()
        .args(["bench", "mr", "--driver", "mlx4"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8(bad.stderr)
        .unwrap()
        .contains("none, rxe, mlx5"));
}

#[test]
fn hugetlb_kind_in_plan_and_benches() {
    let out = vmemdiet()
        .args([
            "plan", "--size", "1TiB", "--kind", "hugetlb", "--align", "2M,1G", "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    // 7.3 (the default): HVO keeps one page per huge page plus, since 7.1, one shared
    // read-only tail page per (zone, order).
    assert_eq!(rows[0]["memmap_bytes"], (2u64 << 30) + 4096);
    assert_eq!(rows[1]["memmap_bytes"], (4u64 << 20) + 4096);
    assert_eq!(
        rows[0].as_object().unwrap().len(),
        KEYS.len(),
        "the same keys as devdax"
    );
    let out = vmemdiet()
        .args([
            "plan", "--size", "1TiB", "--kind", "hugetlb", "--align", "4K",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("2M or 1G"));
    let out = vmemdiet()
        .args([
            "bench",
            "hugetlb-pool",
            "--size",
            "1G",
            "--profile",
            "v5.10,v6.15",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["pages"], 512);
    assert_eq!(v[1]["memmap_bytes"], 512 * 4096);
    let out = vmemdiet()
        .args([
            "bench",
            "gup",
            "--kind",
            "hugetlb",
            "--size",
            "64M",
            "--align",
            "2M",
            "--profile",
            "v5.10",
            "--op",
            "pin-longterm",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["kind"], "hugetlb");
    assert_eq!(v[0]["walks"], 32, "one walk per huge page");
    assert_eq!(
        v[0]["get_atomics"], 16384,
        "one grab per 4 KiB page before 5.12"
    );
}

#[test]
#[cfg(unix)]
fn simulating_under_an_address_space_limit_ends_in_one_clear_line() {
    // 2 GB of address space: enough to start, not enough to back 1 TiB at 2M.
    let bin = assert_cmd::cargo::cargo_bin("vmemdiet");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 2000000 && exec '{}' plan --size 1TiB --align 2M --simulate",
            bin.display()
        ))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("the host refused"), "{err}");
    assert!(err.contains("ulimit -v"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn plan_across_architectures_answers_the_fleet_question() {
    // "What does 1 TiB of CXL memory cost in memmap on our arm64 vs x86 fleet?"
    let out = vmemdiet()
        .args([
            "plan",
            "--size",
            "1TiB",
            "--arch",
            "x86_64,arm64-4k,arm64-64k",
            "--map",
            "mem",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, u64, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["arch"].as_str().unwrap().to_string(),
                r["align"].as_u64().unwrap(),
                r["memmap_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    // Each arch's own aligns: x86 4K/2M/1G, arm64 4K/2M (no PUD THP), arm64-64k 64K/512M.
    assert_eq!(
        rows,
        vec![
            ("x86_64".into(), 4 << 10, 16 << 30),
            ("x86_64".into(), 2 << 20, 4 << 30),
            ("x86_64".into(), 1 << 30, 8 << 20),
            ("arm64-4k".into(), 4 << 10, 16 << 30),
            ("arm64-4k".into(), 2 << 20, 16 << 30),
            ("arm64-64k".into(), 64 << 10, 1 << 30),
            ("arm64-64k".into(), 512 << 20, 1 << 30),
        ]
    );
    // `all` notes what an arch cannot do instead of failing the whole table.
    let out = vmemdiet()
        .args(["plan", "--size", "1TiB", "--arch", "all", "--align", "1G"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("ppc64-radix-64k") && stdout.contains("riscv64-sv57"));
    assert!(
        stderr.contains("arm64-4k: unsupported align: 1G"),
        "{stderr}"
    );
    assert!(stderr.contains("ppc64-hash-64k"), "{stderr}");
    // One arch that cannot: an error, one line, naming what is valid there.
    let out = vmemdiet()
        .args([
            "plan",
            "--size",
            "1TiB",
            "--arch",
            "arm64-16k",
            "--align",
            "2M",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("offers 16K, 32M on arm64-16k"), "{err}");
    let out = vmemdiet()
        .args(["plan", "--arch", "sparc64"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("riscv64-sv48"));
}

/// `plan --arch all` never drops the whole table for what one arch refuses, and says which
/// arch refused what: a size one arch's align does not divide, a reserve too short on one
/// arch's geometry, a HugeTLB page size one arch lacks. A refusal that is every arch's is one
/// line; one that ends the run names the arch.
#[test]
fn plan_across_arches_notes_each_archs_refusal_by_name() {
    let json_arches = |out: &std::process::Output| -> Vec<String> {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut a: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["arch"].as_str().unwrap().to_string())
            .collect();
        a.dedup();
        a
    };
    for (args, refusing, why) in [
        // 64M is no multiple of the 1G align that x86_64 offers (and 512M of arm64-64k).
        (&["--size", "64M"][..], "x86_64", "must align to"),
        // The 2M vmemmap blocks of riscv do not fit a 32M namespace's reserve.
        (
            &["--size", "32M", "--map", "dev", "--align", "2M"],
            "riscv64-sv39",
            "cannot hold a 2 MiB vmemmap block",
        ),
        // arm64 16K has no 2M HugeTLB pages.
        (
            &["--size", "64G", "--kind", "hugetlb", "--align", "2M"],
            "arm64-16k",
            "arm64-16k: HugeTLB pages are 32M, not 2M",
        ),
    ] {
        let out = vmemdiet()
            .args(["plan", "--arch", "all", "--json"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        let shown = json_arches(&out);
        assert!(shown.len() > 1, "{args:?}: the others' rows: {shown:?}");
        assert!(
            err.lines()
                .any(|l| l.trim_start().starts_with(&format!("{refusing}:"))),
            "{args:?}: a note names {refusing}: {err}"
        );
        // Notes wrap at 80 columns.
        let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(why), "{args:?}: {err}");
    }
    // What every arch refuses: one line, said once.
    let out = vmemdiet()
        .args(["plan", "--arch", "all", "--size", "100M"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("misaligned").count(), 1, "{err}");
    // A refusal that ends the run names the arch it came from.
    let out = vmemdiet()
        .args(["plan", "--arch", "arm64-64k,x86_64", "--region-align", "3M"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: arm64-64k: --region-align 3M"),
        "{err}"
    );
}

#[test]
fn arches_lists_every_arch_with_its_sources() {
    let out = vmemdiet().args(["arches", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 11);
    let radix64 = rows
        .iter()
        .find(|r| r["arch"] == "ppc64-radix-64k")
        .unwrap();
    assert_eq!(radix64["table_bytes"][0], 256);
    assert_eq!(radix64["level_bits"], serde_json::json!([5, 9, 9, 13]));
    assert_eq!(radix64["dax_dedup_since"], "6.6");
    assert!(radix64["source"].as_str().unwrap().contains("radix-64k.h"));
    let arm64 = rows.iter().find(|r| r["arch"] == "arm64-64k").unwrap();
    assert_eq!(arm64["dax_dedup_since"], Value::Null);
    assert_eq!(arm64["pud_leaf"], Value::Null);
    assert_eq!(arm64["hvo_until"], "6.2");
    let out = vmemdiet().args(["arches"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn benches_refuse_what_the_host_cannot_hold_before_running() {
    // 64 threads, each with a page array of a 16 TiB mapping (32 GiB apiece): refused at
    // once with the estimate, never an OOM kill.
    for args in [
        &[
            "bench",
            "gup",
            "--size",
            "16T",
            "--align",
            "1G",
            "--threads",
            "64",
        ][..],
        &[
            "bench",
            "mr",
            "--size",
            "4T",
            "--align",
            "1G",
            "--threads",
            "8",
        ][..],
    ] {
        let out = vmemdiet().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("of host memory, more than"), "{err}");
        assert!(err.contains("fewer --threads"), "{err}");
    }
}

#[test]
fn bench_defaults_never_fail_on_an_align_the_user_did_not_type() {
    // 64 MiB is no multiple of 1 GiB: the default aligns keep 2M only.
    let out = vmemdiet()
        .args([
            "bench",
            "mr",
            "--size",
            "64M",
            "--seconds",
            "0.01",
            "--profile",
            "v6.15",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let aligns: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["align"].as_u64().unwrap())
        .collect();
    assert_eq!(aligns, [2 << 20]);
    // Another arch's own aligns by default: arm64 64K pages, 512M PMD leaves.
    let out = vmemdiet()
        .args([
            "bench",
            "gup",
            "--size",
            "1G",
            "--arch",
            "arm64-64k",
            "--profile",
            "v6.15",
            "--runs",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["align"] == 512u64 << 20));
}

#[test]
fn an_explicit_ram_is_honoured_for_hugetlb_pools() {
    let out = vmemdiet()
        .args([
            "plan", "--kind", "hugetlb", "--size", "64G", "--align", "2M", "--ram", "8G",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("needs at least 73 GiB of RAM") && err.contains("--ram 8 GiB"),
        "{err}"
    );
    // Without --ram the machine is sized for the pool.
    let out = vmemdiet()
        .args([
            "plan", "--kind", "hugetlb", "--size", "64G", "--align", "2M", "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn gup_longterm_pins_every_kind_and_reports_the_path_per_profile() {
    let out = vmemdiet()
        .args([
            "gup-longterm",
            "--profile",
            "v6.12,v6.15,v6.18",
            "--size",
            "4M",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("TAP version 13\n1..60\n"), "{text}");
    assert!(text.ends_with("# Totals: pass:60 fail:0 xfail:0 xpass:0 skip:0 error:0\n"));
    // The result line after the [RUN] line of (rw, call, kind, profile).
    let result = |rw: &str, call: &str, kind: &str, p: &str| {
        let run = format!("# [RUN] {rw} longterm GUP pin ({call}) ... with {kind} ({p})");
        let mut it = text.lines().skip_while(|l| *l != run);
        it.next().unwrap_or_else(|| panic!("no {run}"));
        it.next().unwrap().to_string()
    };
    let fast = "Pinned: fast path 1024 pages, slow path 0";
    let slow = "Pinned: fast path 0 pages, slow path 1024";
    for kind in ["anon", "thp", "shmem", "hugetlb"] {
        for p in ["v6.12", "v6.15", "v6.18"] {
            assert!(
                result("R/W", "pin_user_pages_fast", kind, p).ends_with(fast),
                "{kind} {p}"
            );
        }
    }
    // Device-dax: every long-term pin is slow up to 6.14 (devmap) and in 6.15-6.16 (special
    // leaves, kernels-2026 §2.1); from 6.17 only R/W ones (file-backed folios,
    // gup_fast_folio_allowed).
    assert!(result("R/O", "pin_user_pages_fast", "devdax", "v6.12").ends_with(slow));
    assert!(result("R/O", "pin_user_pages_fast", "devdax", "v6.15").ends_with(slow));
    assert!(result("R/O", "pin_user_pages_fast", "devdax", "v6.18").ends_with(fast));
    assert!(result("R/W", "pin_user_pages_fast", "devdax", "v6.18").ends_with(slow));
    assert!(result("R/O", "pin_user_pages", "thp", "v6.15").ends_with(slow));
    // What cannot be mapped is named.
    let out = vmemdiet()
        .args(["gup-longterm", "--kind", "devdax-fsdev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("--kind devdax-fsdev"));
}

#[test]
fn the_largest_sizes_are_refused_with_exact_values_never_a_panic() {
    let max = "18446744073709551615";
    let near = "18446744073709551614";
    for args in [
        &["plan", "--size", near, "--align", "2M", "--map", "mem"][..],
        &["bench", "gup", "--size", max],
        &["bench", "gup", "--size", max, "--kind", "anon"],
        &["bench", "mr", "--size", max],
        &["bench", "bootstrap", "--size", max],
        &["bench", "hugetlb-pool", "--size", max],
    ] {
        let out = vmemdiet().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        // The nearest larger size does not exist: said so, not a wrapped or saturated number.
        assert!(
            !err.contains("18446744073709551615 or") && !err.contains("or 0"),
            "{err}"
        );
    }
}

/// gup_test's DUMP_USER_PAGES_TEST (`-c`) dumps the pages asked for into the kernel log, and
/// zeroes (and reports) indices past the pages pinned.
#[test]
fn gup_test_dump_pages_writes_the_asked_pages_to_the_kernel_log() {
    let out = vmemdiet()
        .args(["gup-test", "-c", "-m", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let log: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("gup_test (kernel log): "))
        .collect();
    assert!(
        log[0].starts_with("---- page #0, starting from user virt addr: 0x"),
        "{err}"
    );
    assert!(log[1].starts_with("page: refcount:"), "{err}");
    assert_eq!(log[3], "page dumped because: gup_test: dump_pages() test");
    let out = vmemdiet()
        .args(["gup-test", "-c", "9999", "-m", "4"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("gup_test (kernel log): ZEROING due to out of range: .which_pages[0]: 10000"),
        "{err}"
    );
    assert!(!err.contains("---- page #"), "{err}");
}

#[test]
fn completions_and_man_page_name_every_subcommand() {
    let subcommands = [
        "plan",
        "probe",
        "bench",
        "report",
        "gup-test",
        "gup-longterm",
        "arches",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = vmemdiet().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in subcommands {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
        // Options of a subcommand complete too.
        assert!(text.contains("struct-page-size"), "{shell}");
    }
    let out = vmemdiet().arg("man").output().unwrap();
    assert!(out.status.success());
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.starts_with(".ie") && roff.contains(".TH vmemdiet 1"),
        "{roff}"
    );
    for sub in subcommands {
        assert!(
            roff.contains(&format!("vmemdiet\\-{}", sub.replace('-', "\\-"))),
            "man lacks {sub}"
        );
    }
    // An unknown shell is refused in one line that names the valid ones.
    let out = vmemdiet().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn top_level_help_says_what_vmemdiet_is() {
    let out = vmemdiet().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Plan, simulate and measure the struct-page metadata"),
        "{text}"
    );
    assert!(text.contains("16 GiB per TiB"), "{text}");
}

#[test]
fn man_out_writes_one_page_per_command_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.txt"), "keep").unwrap();
    let out = vmemdiet()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in [
        "vmemdiet.1",
        "vmemdiet-plan.1",
        "vmemdiet-bench-gup.1",
        "mine.txt",
    ] {
        assert!(names.contains(&page.to_string()), "{names:?}");
    }
    assert!(
        names.iter().all(|n| n.ends_with(".1") || n == "mine.txt"),
        "{names:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.txt")).unwrap(),
        "keep"
    );
    // Not a directory: one line, nothing written.
    let file = dir.path().join("mine.txt");
    let out = vmemdiet()
        .args(["man", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

/// Output that cannot be written (`> /dev/full`, a full disk) ends every subcommand with exit 1
/// and one line that says so, never a panic (exit 101); the help too, which used to exit 0.
#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // no /dev/full on this system
    };
    let fixture = format!(
        "{}/tests/fixtures/probe/pmem-6.12",
        env!("CARGO_MANIFEST_DIR")
    );
    for args in [
        vec!["plan", "--size", "1T"],
        vec!["plan", "--size", "1T", "--json"],
        vec!["arches"],
        vec!["probe", "--root", &fixture],
        vec!["completions", "bash"],
        vec!["--help"],
        vec!["plan", "--help"],
    ] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("vmemdiet"))
            .args(&args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("cannot write") && err.contains("No space left"),
            "{args:?}: {err}"
        );
    }
}

/// A list item given twice is one row, whichever list it is in (`--align 2M,2M`).
#[test]
fn duplicate_list_items_give_one_row() {
    let rows = |args: &[&str]| {
        let out = vmemdiet().args(args).arg("--json").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().map_or(1, Vec::len)
    };
    let base = [
        "plan",
        "--size",
        "1T",
        "--align",
        "2M",
        "--map",
        "mem",
        "--profile",
        "v7.3",
    ];
    assert_eq!(rows(&base), 1);
    for (i, twice) in [(4, "2M,2M"), (6, "mem,mem"), (8, "v7.3,7.3")] {
        let mut args = base.to_vec();
        args[i] = twice;
        assert_eq!(rows(&args), 1, "{twice}");
    }
    assert_eq!(
        rows(
            &[
                &base[..],
                &["--kind", "devdax,devdax", "--arch", "x86_64,x86_64"]
            ]
            .concat()
        ),
        1
    );
    assert_eq!(
        rows(&["plan", "--size", "1T,1T", "--align", "2M,1G", "--map", "mem"]),
        2
    );
}
