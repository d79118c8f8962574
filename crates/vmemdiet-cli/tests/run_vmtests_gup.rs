//! The kernel's own gup_test lines, run unedited against `vmemdiet gup-test`: every line of
//! `tests/data/run_vmtests_gup.txt` (copied from run_vmtests.sh, Linux v6.18), with
//! `run_gup_matrix`'s loops expanded as bash expands them, must end as `run_test` would report
//! it on a kernel with CONFIG_GUP_TEST run as root: [PASS] (exit 0), [SKIP] (exit 4) or [FAIL],
//! and print what gup_test prints.

use std::process::Command;

use assert_cmd::prelude::*;

const DATA: &str = include_str!("data/run_vmtests_gup.txt");

/// What `run_test` reports for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Exit 0.
    Pass,
    /// Exit 4.
    Skip,
}

/// Bash word splitting of one `for VAR in ...; do` list or command line: unquoted words split
/// on blanks; a double-quoted word is one word; `$name` expands from `vars`, and an unquoted
/// expansion is split again (so `" "` expands to nothing and `"-H -m 256"` to three words).
fn words(line: &str, vars: &[(String, String)]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let subst = |name: &str| {
        vars.iter()
            .find(|(n, _)| n == name)
            .map_or_else(String::new, |(_, v)| v.clone())
    };
    let mut inq = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                inq = !inq;
                quoted = true;
                in_word = true;
            }
            '$' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                cur.push_str(&subst(&name));
                in_word = true;
            }
            ' ' | '\t' if !inq => {
                if in_word {
                    out.push((std::mem::take(&mut cur), quoted));
                }
                quoted = false;
                in_word = false;
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push((cur, quoted));
    }
    out
}

/// The gup_test command lines of the data file, loops expanded in the script's order.
fn command_lines() -> Vec<Vec<String>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut loops: Vec<(String, Vec<String>)> = Vec::new();
    let mut out = Vec::new();
    let lines: Vec<&str> = DATA.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') || line == "done" {
            continue;
        }
        if let Some((name, value)) = line.split_once('=').filter(|_| !line.contains(' ')) {
            vars.push((name.to_string(), value.to_string()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("for ") {
            let (var, list) = rest.split_once(" in ").expect("for VAR in LIST; do");
            let list = list.strip_suffix("; do").expect("; do");
            // A loop list keeps quoted words whole; they split when expanded unquoted later.
            let items = words(list, &vars).into_iter().map(|(w, _)| w).collect();
            loops.push((var.to_string(), items));
            continue;
        }
        let mut cmd = line.to_string();
        while cmd.ends_with('\\') {
            cmd.pop();
            cmd.push(' ');
            cmd.push_str(lines[i].trim());
            i += 1;
        }
        let cmd = cmd
            .strip_prefix("CATEGORY=\"gup_test\" run_test ./gup_test")
            .unwrap_or_else(|| panic!("not a gup_test line: {cmd}"))
            .to_string();
        // Every combination of the enclosing loops, the innermost varying fastest.
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (var, items) in &loops {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    items.iter().map(move |it| {
                        let mut c = c.clone();
                        c.push((var.clone(), it.clone()));
                        c
                    })
                })
                .collect();
        }
        for c in combos {
            let all: Vec<(String, String)> = vars.iter().cloned().chain(c).collect();
            // Unquoted expansions split again on blanks.
            let argv: Vec<String> = words(&cmd, &all)
                .into_iter()
                .flat_map(|(w, quoted)| {
                    if quoted {
                        vec![w]
                    } else {
                        w.split_whitespace().map(str::to_string).collect()
                    }
                })
                .collect();
            out.push(argv);
        }
        loops.clear();
    }
    out
}

/// What the kernel's gup_test does with `args` on a machine run_vmtests.sh prepared (root,
/// CONFIG_GUP_TEST, 256 MiB of free 2 MiB huge pages), and why. Written from gup_test.c and
/// mm/gup_test.c, not from the model.
fn kernel_outcome(args: &[String]) -> (Outcome, String) {
    // The option letters given (skipping the arguments of m: r: n: F: f: j:).
    let mut letters = String::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(cluster) = a.strip_prefix('-') {
            for (i, c) in cluster.char_indices() {
                letters.push(c);
                if "mrnFfj".contains(c) {
                    if i + 1 == cluster.len() {
                        it.next();
                    }
                    break;
                }
            }
        }
    }
    let has = |f: &str| letters.contains(&f[1..]);
    let memory = if has("-H") {
        "MAP_HUGETLB: 2 MiB huge pages from the pool run_vmtests.sh filled (needmem_KB)"
    } else if has("-S") {
        "MAP_SHARED /dev/zero: shmem, order-0 folios"
    } else if has("-t") {
        "MAP_PRIVATE /dev/zero + MADV_HUGEPAGE: anonymous THPs"
    } else {
        "MAP_PRIVATE /dev/zero: anonymous order-0 folios"
    };
    // The mapping succeeds, gup_test writes every page, so every GUP call finds present,
    // writable, long-term pinnable (not ZONE_MOVABLE/CMA) memory: the ioctl returns 0 and
    // gup_test ends in ksft_exit_pass().
    (
        Outcome::Pass,
        format!(
            "{memory}; every page is present and writable, the ioctl returns 0, ksft_exit_pass"
        ),
    )
}

fn run(args: &[String], profile: &str) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .arg("gup-test")
        .args(args)
        .args(["--profile", profile])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The TAP gup_test prints for one thread and one repeat of a command that passed.
fn assert_tap(args: &[String], stdout: &str) {
    let cmd = args
        .iter()
        .filter(|a| a.starts_with('-') && a.len() >= 2 && !a.starts_with("--"))
        .filter_map(|a| {
            a[1..].chars().rev().find_map(|c| match c {
                'u' => Some("GUP_FAST_BENCHMARK"),
                'a' => Some("PIN_FAST_BENCHMARK"),
                'L' => Some("PIN_LONGTERM_BENCHMARK"),
                'U' => Some("GUP_BASIC_TEST"),
                'b' => Some("PIN_BASIC_TEST"),
                'c' => Some("DUMP_USER_PAGES_TEST"),
                _ => None,
            })
        })
        .next_back()
        .unwrap_or("GUP_FAST_BENCHMARK");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "TAP version 13", "{args:?}\n{stdout}");
    assert_eq!(lines[1], "1..1", "{args:?}\n{stdout}");
    if cmd.ends_with("BENCHMARK") {
        let l = lines[2];
        let rest = l
            .strip_prefix(&format!("# {cmd}: Time: get:"))
            .unwrap_or_else(|| panic!("{args:?}: {l}"));
        assert!(
            rest.ends_with(" us# ") && rest.contains(" put:"),
            "{args:?}: {l}"
        );
        assert!(!l.contains("truncated"), "{args:?}: {l}");
    } else {
        assert_eq!(lines[2], format!("# {cmd}: done"), "{args:?}\n{stdout}");
    }
    assert_eq!(lines[3], "ok 1 ioctl status 0", "{args:?}\n{stdout}");
    assert_eq!(
        lines[4], "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0",
        "{args:?}\n{stdout}"
    );
    assert_eq!(lines.len(), 5, "{args:?}\n{stdout}");
}

#[test]
fn the_data_file_expands_to_the_scripts_245_runs() {
    let lines = command_lines();
    assert_eq!(lines.len(), 240 + 4 + 1);
    // The script's order: huge outermost, num innermost; " " expands to no word.
    assert_eq!(lines[0], ["-t", "-u", "-w", "-S", "-n", "1"]);
    assert_eq!(lines[7], ["-t", "-u", "-w", "-n", "-1"]);
    assert_eq!(lines[239], ["-H", "-m", "256", "-L", "-W", "-n", "-1"]);
    assert_eq!(lines[244], ["-ct", "-F", "0x1", "0", "19", "0x1000"]);
}

#[test]
fn every_gup_test_line_of_run_vmtests_ends_as_on_the_kernel() {
    let mut passed = 0;
    for args in command_lines() {
        let (want, reason) = kernel_outcome(&args);
        let (code, stdout, stderr) = run(&args, "v6.15");
        let got = match code {
            Some(0) => Outcome::Pass,
            Some(4) => Outcome::Skip,
            c => panic!("./gup_test {}: exit {c:?} ([FAIL]); the kernel's: {want:?} ({reason})\n{stdout}{stderr}", args.join(" ")),
        };
        assert_eq!(
            got,
            want,
            "./gup_test {}: {reason}\n{stdout}{stderr}",
            args.join(" ")
        );
        if want == Outcome::Pass {
            assert_tap(&args, &stdout);
            passed += 1;
        }
    }
    assert_eq!(passed, 245);
}

#[test]
fn the_default_lines_end_as_on_the_kernel_under_every_profile() {
    let lines = command_lines();
    for profile in ["v5.10", "rfc", "v5.19", "v6.12", "mm-2026", "next"] {
        for args in &lines[240..] {
            let (want, reason) = kernel_outcome(args);
            let (code, stdout, stderr) = run(args, profile);
            assert_eq!(
                code,
                Some(0),
                "{profile} ./gup_test {}: {reason}\n{stderr}",
                args.join(" ")
            );
            assert_eq!(want, Outcome::Pass);
            assert_tap(args, &stdout);
        }
    }
}
