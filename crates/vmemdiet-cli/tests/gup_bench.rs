//! `vmemdiet gup-bench`, the kernel's tools/mm/gup_bench (kernels-2026.md §8): its line
//! format, its no-argument matrix, its getopt flags and their refusals, over every memory
//! kind gup-test maps. Expected values come from that spec: 4 KiB pages (x86_64), 128 MB
//! buffers (32768 pages) in the matrix and 256 MB (65536 pages) for its HugeTLB runs.

use std::collections::BTreeSet;

use assert_cmd::Command;
use regex_automata::meta::Regex;

/// One output line of gup_bench, read back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    cmd: String,
    nr_pages: u64,
    write: bool,
    shared: bool,
    hugetlb: bool,
    thp: i32,
}

/// `<CMD> (nr_pages=<n> write|read shared|private hugetlb=<…> thp=<…>) time: get:<N> put:<N> us`,
/// CMD the ioctl's name as gup_test prints it.
const LINE: &str = r"^(GUP_FAST|PIN_FAST|PIN_LONGTERM)_BENCHMARK \(nr_pages=([0-9]+) (write|read) (shared|private) hugetlb=([01]) thp=(-1|0|1)\) time: get:([0-9]+) put:([0-9]+) us$";

/// The line's fields, or `None` if it does not have the format.
fn parse(re: &Regex, l: &str) -> Option<Line> {
    let mut caps = re.create_captures();
    re.captures(l, &mut caps);
    let g = |i: usize| caps.get_group(i).map(|s| &l[s.range()]);
    Some(Line {
        cmd: g(1)?.to_string(),
        nr_pages: g(2)?.parse().ok()?,
        write: g(3)? == "write",
        shared: g(4)? == "shared",
        hugetlb: g(5)? == "1",
        thp: g(6)?.parse().ok()?,
    })
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .arg("gup-bench")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of a run that must succeed, each checked against the format.
fn lines(args: &[&str]) -> Vec<Line> {
    let re = Regex::new(LINE).unwrap();
    let (code, out, err) = run(args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    out.lines()
        .map(|l| parse(&re, l).unwrap_or_else(|| panic!("{args:?}: not the format: {l:?}")))
        .collect()
}

/// `--verbose`'s stderr lines: (gup_flags, calls, pages) per ioctl.
fn verbose(err: &str) -> Vec<(String, u64, u64)> {
    err.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("gup_bench: ")?;
            let mut f = rest.split(' ').skip(1);
            let flags = f.next()?.strip_prefix("gup_flags=")?.to_string();
            let calls = f.next()?.strip_prefix("calls=")?.parse().ok()?;
            let pages = f.next()?.strip_prefix("pages=")?.parse().ok()?;
            Some((flags, calls, pages))
        })
        .collect()
}

/// A usage error: exit 2, nothing on stdout, exactly one line on stderr (returned).
fn refused(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, Some(2), "{args:?}: {out}{err}");
    assert_eq!(out, "", "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn each_flag_shows_in_the_line_format() {
    let line = |cmd: &str, nr, write, shared, hugetlb, thp| Line {
        cmd: cmd.to_string(),
        nr_pages: nr,
        write,
        shared,
        hugetlb,
        thp,
    };
    // The defaults: GUP_FAST, one page per call, write, private, THP untouched.
    assert_eq!(
        lines(&["-m", "4"]),
        [line("GUP_FAST", 1, true, false, false, -1)]
    );
    assert_eq!(
        lines(&["-m", "4", "-a", "-W", "-S", "-n", "123", "-t"]),
        [line("PIN_FAST", 123, false, true, false, 1)]
    );
    assert_eq!(
        lines(&["-m", "4", "-L", "-T", "-n", "512", "-w"]),
        [line("PIN_LONGTERM", 512, true, false, false, 0)]
    );
    assert_eq!(
        lines(&["-m", "4", "-H", "-S", "-u"]),
        [line("GUP_FAST", 1, true, true, true, -1)]
    );
    // The last of conflicting flags wins, as getopt leaves them.
    assert_eq!(
        lines(&["-m", "4", "-a", "-u", "-W", "-w", "-t", "-T"]),
        [line("GUP_FAST", 1, true, false, false, 0)]
    );
}

#[test]
fn no_arguments_run_the_96_run_matrix_then_24_hugetlb_runs() {
    let got = lines(&[]);
    assert_eq!(got.len(), 96 + 24);
    let mut want = BTreeSet::new();
    for cmd in ["GUP_FAST", "PIN_FAST", "PIN_LONGTERM"] {
        for write in [true, false] {
            // -n -1 at 128 MB: all 32768 pages in one call.
            for nr in [1, 512, 123, 32768] {
                for shared in [false, true] {
                    for thp in [1, 0] {
                        want.insert(Line {
                            cmd: cmd.to_string(),
                            nr_pages: nr,
                            write,
                            shared,
                            hugetlb: false,
                            thp,
                        });
                    }
                }
            }
            // HugeTLB at 256 MB, shared: -n -1 is 65536 pages.
            for nr in [1, 512, 123, 65536] {
                want.insert(Line {
                    cmd: cmd.to_string(),
                    nr_pages: nr,
                    write,
                    shared: true,
                    hugetlb: true,
                    thp: -1,
                });
            }
        }
    }
    assert_eq!(want.len(), 120);
    // Every run once: no run twice, none missing.
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(got.iter().filter(|l| !l.hugetlb).count(), 96);
}

#[test]
fn long_options_alone_still_run_the_matrix_and_log_progress() {
    let (code, out, err) = run(&["--profile", "v6.18", "--verbose"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 120);
    // Progress on stderr (not a terminal here): one line per run, the last [120/120].
    assert!(err.lines().any(|l| l.starts_with("[120/120] ")), "{err}");
    assert_eq!(verbose(&err).len(), 120);
}

#[test]
fn n_below_minus_one_is_refused_and_minus_one_is_taken() {
    let err = refused(&["-n", "-2"]);
    assert!(err.contains("-n -2"), "{err}");
    refused(&["-m", "4", "-n", "-100"]);
    assert_eq!(lines(&["-m", "4", "-n", "-1"]).len(), 1);
}

#[test]
fn n_minus_1_gets_all_pages_in_one_call() {
    // 4 MB = 1024 pages of 4 KiB.
    for cmd in ["-u", "-a", "-L"] {
        let (code, out, err) = run(&["-m", "4", "-n", "-1", cmd, "--verbose"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("(nr_pages=1024 "), "{out}");
        assert_eq!(verbose(&err), [("0x1".to_string(), 1, 1024)], "{cmd}");
    }
    // Against the same buffer in calls of 512 and 123 pages: 2 and ceil(1024 / 123) = 9.
    for (n, calls) in [("512", 2), ("123", 9), ("1", 1024)] {
        let (_, _, err) = run(&["-m", "4", "-n", n, "--verbose"]);
        assert_eq!(verbose(&err), [("0x1".to_string(), calls, 1024)], "-n {n}");
    }
}

#[test]
fn f_flags_are_read_with_base_0() {
    // 0x10, 010 and 16 are sixteen, 8 and sixteen; -w adds FOLL_WRITE (0x1).
    for (f, want) in [
        ("0x10", "0x11"),
        ("16", "0x11"),
        ("020", "0x11"),
        ("010", "0x9"),
    ] {
        let (code, _, err) = run(&["-m", "2", "-F", f, "--verbose"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(verbose(&err)[0].0, want, "-F {f}");
    }
    let (_, _, err) = run(&["-m", "2", "-W", "-F0X10", "--verbose"]);
    assert_eq!(verbose(&err)[0].0, "0x10");
}

#[test]
fn every_memory_kind_runs_beside_gup_test() {
    // anon, THP, shmem, HugeTLB, device-dax: gup-test maps each and so does gup-bench, over
    // the whole 8 MB buffer (2048 pages), with every command.
    for kind in [
        &[][..],
        &["-t"][..],
        &["-S"][..],
        &["-H"][..],
        &["-f", "/dev/dax0.0", "-S"][..],
    ] {
        let mut test = vec!["gup-test", "-m", "8", "-n", "512", "--output", "classic"];
        test.extend_from_slice(kind);
        let gt = Command::cargo_bin("vmemdiet")
            .unwrap()
            .args(&test)
            .output()
            .unwrap();
        assert_eq!(gt.status.code(), Some(0), "{test:?}");
        for cmd in ["-u", "-a", "-L"] {
            let mut args = vec!["-m", "8", "-n", "512", cmd, "--verbose"];
            args.extend_from_slice(kind);
            let (code, out, err) = run(&args);
            assert_eq!(code, Some(0), "{args:?}: {err}");
            assert_eq!(out.lines().count(), 1, "{args:?}");
            assert!(!out.contains("truncated"), "{args:?}: {out}");
            assert_eq!(verbose(&err), [("0x1".to_string(), 4, 2048)], "{args:?}");
        }
    }
}

#[test]
fn a_devdax_run_maps_dev_dax_shared_only() {
    let got = lines(&["-f", "/dev/dax0.0", "-S", "-m", "4", "-a", "-n", "-1"]);
    assert_eq!(
        got,
        [Line {
            cmd: "PIN_FAST".to_string(),
            nr_pages: 1024,
            write: true,
            shared: true,
            hugetlb: false,
            thp: -1,
        }]
    );
    // Device-dax refuses a private mapping: a failed run, one line, exit 1.
    let (code, out, err) = run(&["-f", "/dev/dax0.0", "-m", "4"]);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        "gup_bench: mmap: Invalid argument (/dev/dax0.0: fail, attempted private mapping)\n"
    );
}

#[test]
fn repeats_and_threads_print_one_line_each() {
    assert_eq!(lines(&["-m", "2", "-r", "3"]).len(), 3);
    assert_eq!(lines(&["-m", "2", "-r", "2", "-j", "3"]).len(), 6);
    refused(&["-m", "2", "-j", "-1"]);
}

#[test]
fn unknown_flags_and_bad_input_are_usage_errors() {
    assert_eq!(refused(&["-x"]), "gup_bench: invalid option -- 'x'\n");
    // gup_test's own flags are not gup_bench's.
    for f in ["-c", "-U", "-b", "-p", "-z", "-h"] {
        refused(&[f]);
    }
    assert_eq!(
        refused(&["-m"]),
        "gup_bench: option requires an argument -- 'm'\n"
    );
    refused(&["--frobnicate"]);
    refused(&["--align", "x"]);
    refused(&["--profile", "bogus"]);
    refused(&["--switch", "nope=1"]);
    refused(&["--verbose=1"]);
    refused(&["-m", "4", "extra"]);
}

#[test]
fn help_explains_every_flag_and_the_unconfirmed_defaults() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for flag in [
        "-u ",
        "-a ",
        "-L ",
        "-H ",
        "-t ",
        "-T ",
        "-w ",
        "-W ",
        "-S ",
        "-f FILE",
        "-m MB",
        "-n NR",
        "-r N",
        "-j N",
        "-F FLAGS",
        "--align",
        "--map",
        "--profile",
        "--switch",
        "--arch",
        "--verbose",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}");
    }
    assert!(out.contains("m:r:n:F:f:aj:tTLuwWSH"));
    // -r/-j defaults and the HugeTLB run count are UNCONFIRMED upstream, and say so.
    assert!(out.matches("UNCONFIRMED").count() >= 3, "{out}");
}
