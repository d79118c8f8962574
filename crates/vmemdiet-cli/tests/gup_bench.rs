//! `vmemdiet gup-bench`, the kernel's tools/mm/gup_bench.c (linux-mm 11a8f3c57480): its
//! label and line, its no-argument matrix, its getopt flags and their refusals, over every
//! memory kind gup-test maps. Expected values come from that source: 4 KiB pages (x86_64),
//! 128 MB buffers (32768 pages) in the matrix and 256 MB (65536 pages) for its HugeTLB runs.

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
    /// `on`, `off` or `default`.
    thp: String,
}

/// `"%s (nr_pages=%-4u %s %s %s %s)"` then `" time: get:%lld put:%lld us"`: the command as
/// cmd_to_str names it, the pages per call left-aligned in 4 columns (the spaces are checked
/// by [`parse`]), then the flags.
const LINE: &str = r"^(GUP_FAST|PIN_FAST|PIN_LONGTERM)_BENCHMARK \(nr_pages=([0-9]+)( *) (write|read) (shared|private) hugetlb=(on|off) thp=(on|off|default)\) time: get:([0-9]+) put:([0-9]+) us$";

/// The line's fields, or `None` if it does not have the format (`%-4u` included).
fn parse(re: &Regex, l: &str) -> Option<Line> {
    let mut caps = re.create_captures();
    re.captures(l, &mut caps);
    let g = |i: usize| caps.get_group(i).map(|s| &l[s.range()]);
    let (digits, pad) = (g(2)?, g(3)?);
    if format!("{digits:<4}") != format!("{digits}{pad}") {
        return None;
    }
    Some(Line {
        cmd: g(1)?.to_string(),
        nr_pages: digits.parse().ok()?,
        write: g(4)? == "write",
        shared: g(5)? == "shared",
        hugetlb: g(6)? == "on",
        thp: g(7)?.to_string(),
    })
}

fn line(cmd: &str, nr_pages: u64, write: bool, shared: bool, hugetlb: bool, thp: &str) -> Line {
    Line {
        cmd: cmd.to_string(),
        nr_pages,
        write,
        shared,
        hugetlb,
        thp: thp.to_string(),
    }
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

/// A bad argument: gup_bench's `exit(1)`, nothing on stdout, its message on stderr
/// (returned).
fn refused(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, Some(1), "{args:?}: {out}{err}");
    assert_eq!(out, "", "{args:?}");
    assert!(matches!(err.lines().count(), 1 | 2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn lines_are_the_sources_label_with_nr_pages_padded_to_four() {
    let (code, out, err) = run(&["-m", "4"]);
    assert_eq!(code, Some(0), "{err}");
    let re = Regex::new(
        r"^GUP_FAST_BENCHMARK \(nr_pages=1    write private hugetlb=off thp=default\) time: get:[0-9]+ put:[0-9]+ us\n$",
    )
    .unwrap();
    assert!(re.is_match(&out), "{out:?}");
    // 512: one space of padding and the separator; 32768 (-1 at 128 MB): the separator only.
    let (_, out, _) = run(&["-m", "4", "-a", "-W", "-S", "-t", "-n", "512"]);
    assert!(
        out.starts_with(
            "PIN_FAST_BENCHMARK (nr_pages=512  read shared hugetlb=off thp=on) time: get:"
        ),
        "{out:?}"
    );
    let (_, out, _) = run(&["-L", "-T", "-n", "-1"]);
    assert!(
        out.starts_with(
            "PIN_LONGTERM_BENCHMARK (nr_pages=32768 write private hugetlb=off thp=off) time: get:"
        ),
        "{out:?}"
    );
    // -H: hugetlb=on and thp=off, whatever -t says; the length rounds up to 2 MiB first,
    // so -n -1 of 3 MB is 1024 pages, and the GUP of all 4 MiB is not truncated.
    let (_, out, _) = run(&["-m", "3", "-H", "-t", "-n", "-1", "-u"]);
    assert!(
        out.starts_with(
            "GUP_FAST_BENCHMARK (nr_pages=1024 write private hugetlb=on thp=off) time: get:"
        ),
        "{out:?}"
    );
    assert!(!out.contains("truncated"), "{out:?}");
    let (_, out, _) = run(&["-m", "4", "-n", "123", "-S"]);
    assert!(
        out.contains("(nr_pages=123  write shared hugetlb=off thp=default)"),
        "{out:?}"
    );
}

#[test]
fn each_flag_shows_in_the_line_format() {
    // The defaults: GUP_FAST, one page per call (nr_pages = 1), write, private, THP untouched.
    assert_eq!(
        lines(&["-m", "4"]),
        [line("GUP_FAST", 1, true, false, false, "default")]
    );
    assert_eq!(
        lines(&["-m", "4", "-a", "-W", "-S", "-n", "123", "-t"]),
        [line("PIN_FAST", 123, false, true, false, "on")]
    );
    assert_eq!(
        lines(&["-m", "4", "-L", "-T", "-n", "512", "-w"]),
        [line("PIN_LONGTERM", 512, true, false, false, "off")]
    );
    assert_eq!(
        lines(&["-m", "4", "-H", "-S", "-u"]),
        [line("GUP_FAST", 1, true, true, true, "off")]
    );
    // The last of conflicting flags wins, as getopt leaves them.
    assert_eq!(
        lines(&["-m", "4", "-a", "-u", "-W", "-w", "-t", "-T"]),
        [line("GUP_FAST", 1, true, false, false, "off")]
    );
    // Operands are ignored (argc > 1: one run with the defaults).
    assert_eq!(
        lines(&["-m", "4", "extra"]),
        [line("GUP_FAST", 1, true, false, false, "default")]
    );
}

/// `run_matrix`'s runs in its order: command, then read/write, then private/shared; in each,
/// THP on then off with every page count at 128 MB, then HugeTLB with every page count.
fn matrix_order() -> Vec<Line> {
    let mut want = Vec::new();
    for cmd in ["GUP_FAST", "PIN_FAST", "PIN_LONGTERM"] {
        for write in [false, true] {
            for shared in [false, true] {
                for thp in ["on", "off"] {
                    // -n -1 at 128 MB: all 32768 pages in one call.
                    for nr in [1, 512, 123, 32768] {
                        want.push(line(cmd, nr, write, shared, false, thp));
                    }
                }
                // HugeTLB at 256 MB: -n -1 is 65536 pages; thp=off.
                for nr in [1, 512, 123, 65536] {
                    want.push(line(cmd, nr, write, shared, true, "off"));
                }
            }
        }
    }
    want
}

#[test]
fn no_arguments_run_the_144_run_matrix_in_the_sources_order() {
    let got = lines(&[]);
    let want = matrix_order();
    assert_eq!(want.len(), 144);
    assert_eq!(got.len(), 144);
    assert_eq!(got, want);
    // Spelled out: the first runs and the last.
    let first: Vec<String> = got[..13]
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {}",
                l.cmd, l.nr_pages, l.write, l.hugetlb, l.thp
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            "GUP_FAST 1 false false on",
            "GUP_FAST 512 false false on",
            "GUP_FAST 123 false false on",
            "GUP_FAST 32768 false false on",
            "GUP_FAST 1 false false off",
            "GUP_FAST 512 false false off",
            "GUP_FAST 123 false false off",
            "GUP_FAST 32768 false false off",
            "GUP_FAST 1 false true off",
            "GUP_FAST 512 false true off",
            "GUP_FAST 123 false true off",
            "GUP_FAST 65536 false true off",
            "GUP_FAST 1 false false on",
        ]
    );
    assert!(!got[11].shared && got[12].shared);
    assert_eq!(
        got[139..],
        [
            line("PIN_LONGTERM", 32768, true, true, false, "off"),
            line("PIN_LONGTERM", 1, true, true, true, "off"),
            line("PIN_LONGTERM", 512, true, true, true, "off"),
            line("PIN_LONGTERM", 123, true, true, true, "off"),
            line("PIN_LONGTERM", 65536, true, true, true, "off"),
        ]
    );
    // The counts: 48 per command, 72 read and 72 write, 72 private and 72 shared, 36
    // HugeTLB runs of each of private and shared, 48 THP on and 48 off.
    let count = |f: &dyn Fn(&Line) -> bool| got.iter().filter(|l| f(l)).count();
    assert_eq!(count(&|l| l.cmd == "PIN_FAST"), 48);
    assert_eq!(count(&|l| l.write), 72);
    assert_eq!(count(&|l| l.shared), 72);
    assert_eq!(count(&|l| l.hugetlb), 48);
    assert_eq!(count(&|l| l.hugetlb && !l.shared), 24);
    assert_eq!(count(&|l| !l.hugetlb && l.thp == "on"), 48);
    assert_eq!(count(&|l| !l.hugetlb && l.thp == "off"), 48);
}

#[test]
fn long_options_alone_still_run_the_matrix_and_log_progress() {
    let (code, out, err) = run(&["--profile", "v6.18", "--verbose"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 144);
    // Progress on stderr (not a terminal here): one line per run, the last [144/144].
    assert!(err.lines().any(|l| l.starts_with("[144/144] ")), "{err}");
    assert_eq!(verbose(&err).len(), 144);
}

#[test]
fn a_failed_matrix_run_does_not_stop_the_others_and_the_status_is_1() {
    // No HugeTLB page of 4K: the 48 -H runs fail, one line each naming the run; the 96
    // others run.
    let (code, out, err) = run(&["--align", "4K"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out.lines().count(), 96);
    let failures: Vec<&str> = err.lines().filter(|l| !l.starts_with('[')).collect();
    assert_eq!(failures.len(), 48, "{err}");
    assert!(
        failures[0]
            .starts_with("GUP_FAST_BENCHMARK (nr_pages=1    read private hugetlb=on thp=off): "),
        "{}",
        failures[0]
    );
}

#[test]
fn bad_numbers_exit_1_with_the_sources_messages() {
    for (args, msg) in [
        (&["-n", "-2"][..], "Invalid page count '-2'"),
        (&["-m", "4", "-n", "-100"][..], "Invalid page count '-100'"),
        (&["-n", "5x"][..], "Invalid page count '5x'"),
        (&["-n", ""][..], "Invalid page count ''"),
        (&["-m", "0"][..], "Invalid size '0'"),
        (&["-m", "-3"][..], "Invalid size '-3'"),
        (&["-m", "x"][..], "Invalid size 'x'"),
        (&["-m", "4M"][..], "Invalid size '4M'"),
        (
            &["-m", "99999999999999999999"][..],
            "Invalid size '99999999999999999999'",
        ),
        (&["-r", "0"][..], "Invalid repeat count '0'"),
        (&["-j", "0"][..], "Invalid thread count '0'"),
        (&["-j", "-1"][..], "Invalid thread count '-1'"),
        (
            &["-j", "2147483648"][..],
            "Invalid thread count '2147483648'",
        ),
    ] {
        assert_eq!(refused(args), format!("{msg}\n"), "{args:?}");
    }
    // strtol base 10 reads space and a sign before the digits; -n -1 is taken.
    assert_eq!(lines(&["-m", " +2", "-n", "-1"]).len(), 1);
    assert_eq!(lines(&["-m", "2", "-n", "010"])[0].nr_pages, 10);
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
    // 0x10, 16 and 020 are sixteen, 010 is eight; -w adds FOLL_WRITE (0x1).
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
    // No validation: junk is 0.
    let (code, _, err) = run(&["-m", "2", "-F", "junk", "--verbose"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(verbose(&err)[0].0, "0x1");
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
    assert_eq!(got, [line("PIN_FAST", 1024, true, true, false, "default")]);
    // Device-dax refuses a private mapping: a failed run, gup_bench's mmap line (the
    // driver's note after it), exit 1.
    let (code, out, err) = run(&["-f", "/dev/dax0.0", "-m", "4"]);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        "mmap: Invalid argument (/dev/dax0.0: fail, attempted private mapping)\n"
    );
    let (code, _, err) = run(&["-f", "/nonexistent/file", "-m", "4"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "Unable to open /nonexistent/file: No such file or directory\n"
    );
}

#[test]
fn repeats_and_threads_print_one_line_each() {
    assert_eq!(lines(&["-m", "2", "-r", "3"]).len(), 3);
    assert_eq!(lines(&["-m", "2", "-r", "2", "-j", "3"]).len(), 6);
    // Beyond gup_bench, which starts up to INT_MAX threads: vmemdiet's limit, one line.
    assert_eq!(
        refused(&["-m", "2", "-j", "5000"]),
        "gup_bench: -j 5000: vmemdiet runs at most 1024 threads\n"
    );
}

#[test]
fn unknown_flags_are_getopts_line_then_wrong_argument() {
    assert_eq!(
        refused(&["-x"]),
        "gup_bench: invalid option -- 'x'\nWrong argument\n"
    );
    // gup_test's own flags are not gup_bench's.
    for f in ["-c", "-U", "-b", "-p", "-z", "-h"] {
        assert!(refused(&[f]).ends_with("'\nWrong argument\n"), "{f}");
    }
    assert_eq!(
        refused(&["-m"]),
        "gup_bench: option requires an argument -- 'm'\nWrong argument\n"
    );
    assert_eq!(
        refused(&["--frobnicate"]),
        "gup_bench: unrecognized option '--frobnicate'\nWrong argument\n"
    );
    // Our extensions' bad values: one line, exit 1 too.
    for args in [
        &["--align", "x"][..],
        &["--profile", "bogus"][..],
        &["--switch", "nope=1"][..],
        &["--verbose=1"][..],
    ] {
        let err = refused(args);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("gup_bench: --"), "{args:?}: {err}");
    }
}

#[test]
fn help_explains_every_flag_and_names_the_source() {
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
    assert!(out.contains("tools/mm/gup_bench.c"), "{out}");
    assert!(out.contains("11a8f3c57480"), "{out}");
    assert!(out.contains("144 runs"), "{out}");
    assert!(!out.contains("UNCONFIRMED"), "{out}");
    assert!(!out.contains("kernels-2026"), "{out}");
}
