//! Every architecture works with every command's defaults: `vmemdiet arches --json` lists
//! them, and each subcommand that takes `--arch` exits 0 on each with nothing else changed but
//! what keeps a run short (a 1 GiB benchmark, one run, a 2 MiB gup_bench buffer), sizes every
//! arch's PMD divides; the commands with `--va-bits` also at arm64's other VA sizes. The default machine, sizes and profiles come from the arch (riscv64-sv39
//! reaches 256 GiB; riscv's device-dax starts at 6.11). And where a size is beyond an arch's
//! reach, the error never advises a flag the command does not have.

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn vmemdiet() -> Command {
    let mut c = Command::cargo_bin("vmemdiet").unwrap();
    c.env_remove("COLUMNS");
    c
}

/// Every arch `--arch` accepts, as `arches --json` lists them.
fn arches() -> Vec<String> {
    let out = vmemdiet().args(["arches", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["arch"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    assert!(names.iter().any(|a| a == "riscv64-sv39"), "{names:?}");
    names
}

/// arm64's other VA sizes (`--va-bits`), each a machine of its own: 16K at VA 36 reaches only
/// 32 GiB.
const VA_VARIANTS: [(&str, &str); 7] = [
    ("arm64-4k", "39"),
    ("arm64-4k", "52"),
    ("arm64-16k", "36"),
    ("arm64-16k", "47"),
    ("arm64-16k", "52"),
    ("arm64-64k", "42"),
    ("arm64-64k", "52"),
];

/// Runs `args --arch A` on every arch (and with `va`, at every `--va-bits` variant); each
/// must exit 0.
fn every_arch_exits_0(args: &[&str], va: bool) {
    let mut runs: Vec<Vec<String>> = arches()
        .into_iter()
        .map(|a| vec!["--arch".into(), a])
        .collect();
    if va {
        runs.extend(VA_VARIANTS.iter().map(|(a, b)| {
            vec![
                "--arch".into(),
                a.to_string(),
                "--va-bits".into(),
                b.to_string(),
            ]
        }));
    }
    for arch in runs {
        let out = vmemdiet().args(args).args(&arch).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} {arch:?}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn plan_defaults_run_on_every_arch() {
    every_arch_exits_0(&["plan"], true);
    every_arch_exits_0(&["plan", "--json"], true);
}

#[test]
fn bench_defaults_run_on_every_arch() {
    every_arch_exits_0(&["bench", "bootstrap", "--size", "1G", "--runs", "1"], true);
    every_arch_exits_0(&["bench", "gup", "--size", "1G", "--runs", "1"], true);
    every_arch_exits_0(&["bench", "mr", "--size", "1G", "--seconds", "0.01"], true);
    every_arch_exits_0(
        &["bench", "hugetlb-pool", "--size", "1G", "--runs", "1"],
        true,
    );
}

#[test]
fn gup_tools_defaults_run_on_every_arch() {
    every_arch_exits_0(&["gup-test"], false);
    every_arch_exits_0(&["gup-bench", "-m", "2"], false);
    every_arch_exits_0(&["gup-longterm"], false);
}

/// The `--flags` a text names.
fn flags(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("--") {
        let name: String = text[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push(format!("--{name}"));
        }
    }
    out
}

#[test]
fn beyond_an_archs_reach_the_advice_names_only_the_commands_flags() {
    for args in [
        &["plan", "--size", "200G"][..],
        &["plan", "--kind", "hugetlb", "--size", "250G"],
        &["bench", "bootstrap", "--size", "200G"],
        &["bench", "gup", "--size", "200G"],
        &["bench", "mr", "--size", "200G"],
        &["bench", "hugetlb-pool", "--size", "250G"],
        &["gup-longterm", "--size", "200G"],
    ] {
        let out = vmemdiet()
            .args(args)
            .args(["--arch", "riscv64-sv39"])
            .output()
            .unwrap();
        // gup-longterm reports in TAP, on stdout.
        let err = String::from_utf8(out.stderr).unwrap() + &String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("riscv64-sv39"), "{args:?}: {err}");
        let cmd = &args[..if args[0] == "bench" { 2 } else { 1 }];
        let help = vmemdiet().args(cmd).arg("--help").output().unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        for flag in flags(&err) {
            assert!(
                help.contains(&flag),
                "{args:?} advises {flag}, which {cmd:?} lacks: {err}"
            );
        }
    }
}
