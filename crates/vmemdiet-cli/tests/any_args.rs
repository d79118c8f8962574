//! Generated argument lists for every subcommand, valid and not, as a careless or hostile user
//! types them: the process ends with 0, 1 or 2 (gup-test and gup-longterm also 4,
//! kselftest's skip), never
//! panics or hangs, and a failure says so
//! in exactly one `error:` line, the last one. Sizes stay small so every run is quick.

use std::time::Duration;

use assert_cmd::Command;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Sizes: small valid ones, and ones that must be refused (zero, negative, junk, overflow).
const SIZES: &[&str] = &[
    "2M",
    "16M",
    "64M",
    "130M",
    "1G",
    "0x4000000",
    "2m",
    "0100000000",
    "0",
    "-1",
    "abc",
    "1.5G",
    "16E",
    "18446744073709551615",
    "99999999999T",
];
const ALIGNS: &[&str] = &["4K", "2M", "1G", "16K", "64K", "16M", "32M", "3M", "0", "x"];
const PROFILES: &[&str] = &[
    "v5.10",
    "rfc",
    "v6.12",
    "v6.15",
    "mm-2026",
    "next",
    "v9.9",
    "v6.15+unpin=per-page",
    "v6.12+dax_dedup=shared-tail",
    "v6.12+nope=1",
];
const ARCHES: &[&str] = &[
    "x86_64",
    "arm64-4k",
    "arm64-64k",
    "ppc64-radix-64k",
    "ppc64-hash-64k",
    "riscv64-sv39",
    "sparc",
];
const KINDS: &[&str] = &["devdax", "hugetlb", "devdax-fsdev", "thing"];
const MAPS: &[&str] = &["mem", "dev", "mem,dev", "both"];

/// Values that must be refused; in each list they come after the valid ones.
const BAD: &[&str] = &[
    "0",
    "-1",
    "abc",
    "1.5G",
    "16E",
    "18446744073709551615",
    "99999999999T",
    "3M",
    "x",
    "v9.9",
    "v6.12+nope=1",
    "sparc",
    "thing",
    "both",
    "7",
    "-3",
    "nan",
    "5000",
    "/nonexistent",
    "gpu",
    "nvme",
    "96M",
    "0x1000",
    "kmem:1G:x0",
    "gpu:1G",
    "kmem",
];

/// One option of a subcommand: its flag and the values to draw from (none: a switch).
type Opt = (&'static str, &'static [&'static str]);

/// Each subcommand, the options it may get, and arguments it always gets (so a run stays
/// short: one run, small sizes).
fn commands() -> Vec<(Vec<&'static str>, Vec<Opt>, Vec<&'static str>)> {
    let common: Vec<Opt> = vec![
        ("--size", SIZES),
        ("--align", ALIGNS),
        ("--profile", PROFILES),
        ("--arch", ARCHES),
        ("--json", &[]),
        ("--wide", &[]),
    ];
    // gup_test's and gup_bench's shared getopt letters, and our extensions to both.
    let gup: Vec<Opt> = vec![
        ("-m", &["1", "2", "16", "0", "-3", "x"]),
        ("-r", &["1", "2", "0"]),
        ("-a", &[]),
        ("-u", &[]),
        ("-L", &[]),
        ("-w", &[]),
        ("-W", &[]),
        ("-S", &[]),
        ("-H", &[]),
        ("--align", ALIGNS),
        ("--profile", PROFILES),
    ];
    let joined = |base: &[Opt], extra: &[Opt]| [base, extra].concat();
    let with = |extra: &[Opt]| joined(&common, extra);
    vec![
        (
            vec!["plan"],
            with(&[
                ("--map", MAPS),
                ("--kind", KINDS),
                ("--ram", &["4G", "8G", "3G", "16E"]),
                ("--struct-page-size", &["64", "8", "7"]),
                ("--va-bits", &["39", "48", "52", "7"]),
                ("--usable", &["1G", "0", "abc"]),
                ("--interleave-ways", &["1", "2", "0"]),
                ("--region-align", &["16M", "2M", "3M"]),
                ("--simulate", &[]),
            ]),
            vec!["--size", "64M"],
        ),
        (
            vec!["plan"],
            vec![
                (
                    "--kind",
                    &[
                        "kmem",
                        "device-private",
                        "p2pdma",
                        "kmem,devdax",
                        "kmem,hugetlb",
                        "gpu",
                    ],
                ),
                ("--size", SIZES),
                ("--memmap-on-memory", &["n", "y", "force", "n,y", "x"]),
                ("--source", &["cxl", "hmem", "pmem", "nvme"]),
                ("--device-memmap-on-memory", &["0", "1", "7"]),
                ("--block-size", &["128M", "2G", "96M", "0"]),
                ("--start", &["0x5000000000", "0x5040000000", "0x1000", "x"]),
                ("--folio", &["2M", "4K", "3M"]),
                ("--zone", &["movable", "normal", "x"]),
                ("--profile", PROFILES),
                ("--arch", ARCHES),
                ("--ram", &["4G", "8G", "3G"]),
                (
                    "--device",
                    &[
                        "kmem:4G",
                        "device-private:1G:x2",
                        "devdax:1G:2M",
                        "p2pdma:64M",
                        "kmem:1G:x0",
                        "gpu:1G",
                        "kmem",
                    ],
                ),
                ("--vm", &[]),
                ("--simulate", &[]),
                ("--json", &[]),
                ("--wide", &[]),
            ],
            vec!["--kind", "kmem", "--size", "4G", "--ram", "4G"],
        ),
        (
            vec!["bench", "hotplug"],
            vec![
                ("--size", SIZES),
                ("--memmap-on-memory", &["n", "y", "force", "x"]),
                ("--block-size", &["128M", "96M"]),
                ("--profile", PROFILES),
                ("--runs", &["1", "0"]),
                ("--json", &[]),
            ],
            vec!["--size", "1G", "--runs", "1", "--ram", "4G"],
        ),
        (
            vec!["bench", "bootstrap"],
            with(&[("--map", MAPS), ("--runs", &["1", "0", "-1"])]),
            vec!["--size", "64M", "--runs", "1"],
        ),
        (
            vec!["bench", "gup"],
            with(&[
                ("--kind", KINDS),
                ("--threads", &["1", "2", "0"]),
                ("--runs", &["1", "0"]),
            ]),
            vec!["--size", "64M", "--runs", "1"],
        ),
        (
            vec!["bench", "mr"],
            with(&[
                ("--kind", KINDS),
                ("--threads", &["1", "2", "0"]),
                ("--seconds", &["0.01", "0", "-1", "nan", "5000"]),
            ]),
            vec!["--size", "64M", "--seconds", "0.01"],
        ),
        (
            vec!["bench", "hugetlb-pool"],
            vec![
                ("--size", SIZES),
                ("--align", ALIGNS),
                ("--profile", PROFILES),
                ("--runs", &["1", "0"]),
                ("--json", &[]),
            ],
            vec!["--size", "64M", "--runs", "1"],
        ),
        (
            vec!["gup-test"],
            joined(
                &gup,
                &[
                    ("-n", &["1", "512", "123", "-1", "0"]),
                    ("-U", &[]),
                    ("-b", &[]),
                ],
            ),
            vec!["-m", "4", "-r", "1"],
        ),
        (
            vec!["gup-bench"],
            joined(
                &gup,
                &[
                    ("-n", &["1", "512", "123", "-1", "0", "-2"]),
                    ("-F", &["0x10", "010", "16", "0x10000"]),
                    ("-j", &["1", "2", "0", "-1", "5000"]),
                    ("-f", &["/dev/dax0.0", "/dev/zero", "/nonexistent"]),
                    ("-t", &[]),
                    ("-T", &[]),
                    ("--verbose", &[]),
                ],
            ),
            vec!["-m", "4", "-r", "1"],
        ),
        (vec!["arches"], vec![("--json", &[])], vec![]),
        (vec!["gup-longterm"], vec![("--profile", PROFILES)], vec![]),
        (
            vec!["probe"],
            vec![
                ("--root", &["/nonexistent", "/"]),
                ("--ndctl-json", &["/nonexistent"]),
                ("--json", &[]),
            ],
            vec![],
        ),
    ]
}

/// An argument list: a subcommand, its fixed arguments, then options drawn with values
/// (later ones override the fixed ones, as flags given twice do), sometimes an unknown word.
fn arg_lists() -> impl Strategy<Value = Vec<String>> {
    let cmds = commands();
    (0..cmds.len()).prop_flat_map(move |i| {
        let (cmd, opts, fixed) = cmds[i].clone();
        let picks = proptest::collection::vec(
            (
                0..opts.len(),
                any::<prop::sample::Index>(),
                prop::bool::weighted(0.15),
            ),
            0..4,
        );
        (Just((cmd, opts, fixed)), picks, prop::bool::weighted(0.1)).prop_map(
            |((cmd, opts, fixed), picks, junk)| {
                let mut args: Vec<String> = cmd.iter().map(ToString::to_string).collect();
                args.extend(fixed.iter().map(ToString::to_string));
                for (o, v, bad) in picks {
                    let (flag, values) = opts[o];
                    args.push(flag.to_string());
                    if !values.is_empty() {
                        // Mostly the valid ones (listed first), sometimes any.
                        let valid = values.iter().take_while(|v| !BAD.contains(v)).count();
                        let pool = if bad || valid == 0 {
                            values
                        } else {
                            &values[..valid]
                        };
                        args.push(v.get(pool).to_string());
                    }
                }
                if junk {
                    args.push("--frobnicate".into());
                }
                args
            },
        )
    })
}

#[test]
fn any_argument_list_ends_cleanly() {
    let codes = std::cell::RefCell::new([0u32; 3]);
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&arg_lists(), |args| {
            let out = Command::cargo_bin("vmemdiet")
                .unwrap()
                .args(&args)
                .timeout(Duration::from_secs(120))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            if let Some(c @ 0..=2) = code {
                codes.borrow_mut()[usize::try_from(c).unwrap_or(0)] += 1;
            }
            // gup-test speaks kselftest: 4 is KSFT_SKIP (a test that does not apply).
            let skip = args[0].starts_with("gup-") && code == Some(4);
            prop_assert!(
                matches!(code, Some(0..=2)) || skip,
                "{args:?}: exit {code:?} (a signal or timeout), stderr {stderr}"
            );
            prop_assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            // gup-test and gup-longterm report as the kernel's tools do (getopt's messages,
            // TAP `Bail out!` lines); everything else says `error:` once, last.
            if code != Some(0) && !args[0].starts_with("gup-") {
                let errors: Vec<&str> =
                    stderr.lines().filter(|l| l.starts_with("error:")).collect();
                prop_assert_eq!(errors.len(), 1, "{:?}: {}", args, stderr);
                prop_assert!(
                    stderr
                        .lines()
                        .last()
                        .is_some_and(|l| l.starts_with("error:")),
                    "{:?}: the error is not the last line: {}",
                    args,
                    stderr
                );
            }
            Ok(())
        })
        .unwrap();
    let [ok, failed, usage] = *codes.borrow();
    eprintln!("exit 0: {ok}, 1: {failed}, 2: {usage}");
    // The generator must reach real work, not only argument errors.
    assert!(
        ok >= 10 && failed >= 5,
        "exit 0: {ok}, 1: {failed}, 2: {usage}"
    );
}
