//! `vmemdiet gup-bench`: the kernel's GUP microbenchmark, `tools/mm/gup_bench.c` as linux-mm
//! commit 11a8f3c57480 has it (Sarthak Sharma's series that splits benchmarking out of
//! gup_test), over the simulated machine: its getopt string `m:r:n:F:f:aj:tTLuwWSH` and
//! argument checks, its label and line per ioctl, and with no arguments its 144-run matrix.
//! It maps memory and times the gup_test ioctl exactly as `vmemdiet gup-test` does (the
//! shared user side is [`crate::gup_user`]).

use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::workload::gup_test::{Errno, GupTestCmd};

use crate::gup_user::{
    self, mapping, repeat_ioctl, split_ext, strtol0, Ext, ExtStop, Refusal, RunOpts, MAX_THREADS,
    MB,
};
use crate::output::{progress, StepLog};

/// gup_bench's getopt string.
const OPTSTRING: &str = "m:r:n:F:f:aj:tTLuwWSH";
/// The name its getopt messages carry.
const PROG: &str = "gup_bench";
/// gup_bench's `exit(1)`: a bad argument, or a run that failed.
const FAIL: u8 = 1;

const USAGE: &str = "\
usage: vmemdiet gup-bench [gup_bench options] [extensions]

The kernel's GUP microbenchmark over the simulated machine. It follows
tools/mm/gup_bench.c @11a8f3c57480 (linux-mm; Sarthak Sharma's series): it maps the memory,
advises it (-t, -T), writes every page from user space, then times the gup_test ioctl (get,
then put) exactly as `vmemdiet gup-test` does, and prints one line per ioctl (each repeat of
each thread):

  <CMD> (nr_pages=<n> write|read shared|private hugetlb=on|off thp=on|off|default) time: get:<N> put:<N> us

CMD is cmd_to_str's: GUP_FAST_BENCHMARK, PIN_FAST_BENCHMARK or PIN_LONGTERM_BENCHMARK.
nr_pages is the pages per call the ioctl got (\"%-4u\": left-aligned, padded to 4 columns;
-n -1 shows the buffer's page count). thp is on after -t, off after -T, default with neither,
and always off with -H. A run whose GUP came up short ends its line with
`, truncated (size: <bytes>)`.

Options (getopt \"m:r:n:F:f:aj:tTLuwWSH\"; of conflicting flags the last wins):
  -u        GUP_FAST: get_user_pages_fast, released with put_page (the default command)
  -a        PIN_FAST: pin_user_pages_fast, released with unpin_user_pages
  -L        PIN_LONGTERM: pin_user_pages with FOLL_LONGTERM (the slow path)
  -w        write: FOLL_WRITE (the default)
  -W        read: no FOLL_WRITE
  -S        MAP_SHARED: shmem on /dev/zero; needed for /dev/daxX.Y
  -H        MAP_HUGETLB | MAP_ANONYMOUS (MAP_PRIVATE unless -S): a HugeTLB pool of --align
            pages (2M by default); the length rounds up to the huge page size
  -t        THP on: MADV_HUGEPAGE (anonymous memory follows transparent_hugepage/enabled=madvise)
  -T        THP off: MADV_NOHUGEPAGE
  -f FILE   file to map (default /dev/zero; /dev/daxX.Y is the simulated device-dax device)
  -m MB     buffer size in MiB (default 128): a whole decimal number, at least 1
  -n NR     pages per GUP call (default 1): a whole decimal number; -1: all pages in one
            call; below -1 refused
  -r N      repeats (default 1): a whole decimal number, at least 1
  -j N      threads, each running the repeats (default 1): a whole decimal number, at least 1
            (gup_bench allows up to INT_MAX; vmemdiet runs at most 1024)
  -F FLAGS  extra gup_flags, read as strtol base 0 (0x10 = 020 = 16) without checks; the
            current kernel's FOLL_* numbering (FOLL_WRITE 0x1, FOLL_LONGTERM 0x100); internal
            flags fail the GUP

A bad number ends it with `Invalid size '<arg>'` (-m), `Invalid page count '<arg>'` (-n),
`Invalid repeat count '<arg>'` (-r) or `Invalid thread count '<arg>'` (-j); an unknown option
or a missing argument with getopt's line, then `Wrong argument`. All exit 1.

With no arguments at all it runs its matrix, 144 runs in this order: for each of -u, -a, -L;
-W, -w; private, -S: first -t, then -T, each with -n 1, 512, 123, -1 at 128 MB; then -H
with -n 1, 512, 123, -1 at 256 MB. The status is 1 if any run failed (each failure says so in
one line on stderr, after the label of the run it failed). Progress goes to stderr.

Memory kinds: /dev/zero private = anonymous base pages (-t: THP), -S = shmem, -H = HugeTLB,
-f /dev/daxX.Y -S = device-dax.

Extensions (long options only; given alone they apply to the matrix):
  --align SIZE    device-dax align, or the HugeTLB page size of -H (4K, 2M, 1G; default 2M)
  --map mem|dev   device-dax memmap location (default mem)
  --profile P     kernel profile (default v7.3)    --switch NAME=VALUE (see vmemdiet --help)
  --arch A        architecture (default x86_64)
  --verbose       after each line, on stderr: the ioctl's gup_flags, the GUP calls it made
                  and the pages it reached (`gup_bench: <CMD> gup_flags=0x1 calls=1 pages=32768`)

Beyond gup_bench: a failed ioctl says `ioctl: <error>` (gup_bench only sets its status), and
a bad extension or -j above 1024 is refused in one line.

Exit codes: 0 done; 1 a bad argument or a failed run (gup_bench's exit(1)).";

/// Arguments of `vmemdiet gup-bench`: gup_bench's own command line, parsed as its getopt
/// does.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, after_help = USAGE)]
pub struct GupBenchArgs {
    /// gup_bench's options and our long-option extensions (--help for all).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    args: Vec<String>,
}

/// The command line, read: the runs to make and how.
#[derive(Debug)]
struct Bench {
    ext: Ext,
    verbose: bool,
    /// True for the no-argument matrix (a failure then names its run).
    matrix: bool,
    runs: Vec<RunOpts>,
}

/// How the command ends before any run: help, or a message and `exit(1)`.
enum Stop {
    Help,
    /// getopt's own line (an unknown option, a missing argument), then `Wrong argument`.
    WrongArgument(String),
    /// One line: gup_bench's `Invalid ... '<arg>'`, or one of our extensions refused.
    Error(String),
}

/// The matrix of `run_matrix`: for each command, read then write, private then shared, the
/// THP runs (on, then off, each with every page count) at 128 MB, then the HugeTLB runs at
/// 256 MB; 144 in all.
fn matrix() -> Vec<RunOpts> {
    const CMDS: [GupTestCmd; 3] = [
        GupTestCmd::GupFastBenchmark,
        GupTestCmd::PinFastBenchmark,
        GupTestCmd::PinLongtermBenchmark,
    ];
    /// `bench_thp_modes`: on, off.
    const THP_MODES: [i32; 2] = [1, 0];
    /// `bench_nr_pages_list`.
    const NRS: [i32; 4] = [1, 512, 123, -1];
    let base = RunOpts::default();
    let mut runs = Vec::new();
    for cmd in CMDS {
        for write in [false, true] {
            for shared in [false, true] {
                for thp in THP_MODES {
                    for nr_pages in NRS {
                        runs.push(RunOpts {
                            cmd,
                            write,
                            shared,
                            thp,
                            nr_pages,
                            ..base.clone()
                        });
                    }
                }
                // hugetlb: 256M to match run_gup_matrix() in run_vmtests.sh
                for nr_pages in NRS {
                    runs.push(RunOpts {
                        cmd,
                        write,
                        shared,
                        thp: -1,
                        hugetlb: true,
                        nr_pages,
                        size: 256 * MB,
                        ..base.clone()
                    });
                }
            }
        }
    }
    runs
}

/// `parse_long_arg`: `strtol(arg, &end, 10)`, taken only if it read digits, reached the end
/// of the string and did not overflow a `long` (`errno`); else `Invalid <name> '<arg>'`.
fn parse_long_arg(arg: &str, name: &str) -> Result<i64, String> {
    let invalid = || format!("Invalid {name} '{arg}'");
    // C's isspace, then an optional sign, then decimal digits only.
    let t = arg.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let v: i128 = digits
        .bytes()
        .try_fold(0i128, |v, b| {
            let v = v * 10 + i128::from(b - b'0');
            (v <= i128::from(i64::MAX) + 1).then_some(v)
        })
        .ok_or_else(invalid)?;
    i64::try_from(if neg { -v } else { v }).map_err(|_| invalid())
}

/// `parse_positive_long_arg`: [`parse_long_arg`], at least 1.
fn parse_positive_long_arg(arg: &str, name: &str) -> Result<i64, String> {
    let v = parse_long_arg(arg, name)?;
    if v < 1 {
        return Err(format!("Invalid {name} '{arg}'"));
    }
    Ok(v)
}

/// gup_bench's `switch (opt)` for one option: `o` as `main`'s `run` and `repeats` hold it;
/// a bad argument gives gup_bench's message.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn option(o: &mut RunOpts, c: char, optarg: String) -> Result<(), String> {
    match c {
        'u' => o.cmd = GupTestCmd::GupFastBenchmark,
        'a' => o.cmd = GupTestCmd::PinFastBenchmark,
        'L' => o.cmd = GupTestCmd::PinLongtermBenchmark,
        'H' => o.hugetlb = true,
        't' => o.thp = 1,
        'T' => o.thp = 0,
        'w' => o.write = true,
        'W' => o.write = false,
        'S' => o.shared = true,
        'f' => o.file = optarg,
        // long * unsigned long: wraps, as in C.
        'm' => o.size = (parse_positive_long_arg(&optarg, "size")? as u64).wrapping_mul(MB),
        'n' => {
            // Into an int, then checked.
            o.nr_pages = parse_long_arg(&optarg, "page count")? as i32;
            if o.nr_pages < -1 {
                return Err(format!("Invalid page count '{optarg}'"));
            }
        }
        // `repeats` is an int.
        'r' => o.repeats = parse_positive_long_arg(&optarg, "repeat count")? as i32,
        'j' => {
            let v = parse_positive_long_arg(&optarg, "thread count")?;
            o.nthreads =
                i32::try_from(v).map_err(|_| format!("Invalid thread count '{optarg}'"))?;
        }
        // strtol, so you can pass flags in hex form; a long into an unsigned int.
        'F' => o.gup.gup_flags = strtol0(&optarg) as u32,
        _ => return Err(String::new()),
    }
    Ok(())
}

/// Reads the command line: the extensions, then gup_bench's getopt loop. No arguments at all
/// (`argc == 1`; our long options aside) gives the matrix.
fn parse(args: &[String]) -> Result<Bench, Stop> {
    let (ext, extras, rest) =
        split_ext(PROG, args, &[("verbose", false)]).map_err(|e| match e {
            ExtStop::Help => Stop::Help,
            ExtStop::Unknown(msg) => Stop::WrongArgument(msg),
            ExtStop::Bad(msg) => Stop::Error(format!("{PROG}: {msg}")),
        })?;
    let verbose = !extras.is_empty();
    if rest.is_empty() {
        return Ok(Bench {
            ext,
            verbose,
            matrix: true,
            runs: matrix(),
        });
    }
    let mut o = RunOpts::default();
    let mut invalid = None;
    // Operands are left where getopt leaves them: gup_bench reads none.
    gup_user::getopt(PROG, OPTSTRING, &rest, |c, optarg| {
        option(&mut o, c, optarg).map_err(|msg| {
            if msg.is_empty() {
                // The default branch: getopt's '?' (it printed nothing of its own here).
                msg
            } else {
                invalid = Some(msg);
                String::new()
            }
        })
    })
    .map_err(|getopt_msg| match invalid.take() {
        Some(msg) => Stop::Error(msg),
        None => Stop::WrongArgument(getopt_msg),
    })?;
    if o.nthreads > MAX_THREADS {
        return Err(Stop::Error(format!(
            "{PROG}: -j {}: vmemdiet runs at most {MAX_THREADS} threads",
            o.nthreads
        )));
    }
    Ok(Bench {
        ext,
        verbose,
        matrix: false,
        runs: vec![o],
    })
}

/// The run as gup_bench's options (for the progress log).
fn describe(o: &RunOpts) -> String {
    let cmd = match o.cmd {
        GupTestCmd::PinFastBenchmark => "-a",
        GupTestCmd::PinLongtermBenchmark => "-L",
        _ => "-u",
    };
    let mut s = format!("{cmd} {}", if o.write { "-w" } else { "-W" });
    for (on, flag) in [(o.shared, " -S"), (o.hugetlb, " -H")] {
        if on {
            s.push_str(flag);
        }
    }
    match o.thp {
        1 => s.push_str(" -t"),
        0 => s.push_str(" -T"),
        _ => {}
    }
    s.push_str(&format!(" -n {} -m {}", o.nr_pages, o.size / MB));
    s
}

/// `run_bench`'s label: `"%s (nr_pages=%-4u %s %s %s %s)"` of the command, the pages per
/// call the ioctl gets, and the flags.
fn label(o: &RunOpts, nr_pages_per_call: u32) -> String {
    let thp = if o.hugetlb {
        "thp=off"
    } else {
        match o.thp {
            1 => "thp=on",
            0 => "thp=off",
            _ => "thp=default",
        }
    };
    format!(
        "{} (nr_pages={nr_pages_per_call:<4} {} {} {} {thp})",
        o.cmd.name(),
        if o.write { "write" } else { "read" },
        if o.shared { "shared" } else { "private" },
        if o.hugetlb {
            "hugetlb=on"
        } else {
            "hugetlb=off"
        },
    )
}

/// gup_thread's line of one ioctl: `"%s time: get:%lld put:%lld us"`, then
/// `", truncated (size: %lld)"` if the GUP came up short of `size`.
fn line(label: &str, size: u64, gup: &vmemdiet::workload::gup_test::GupTest) -> String {
    let mut s = format!(
        "{label} time: get:{} put:{} us",
        gup.get_delta_usec, gup.put_delta_usec
    );
    if gup.size != size {
        s.push_str(&format!(", truncated (size: {})", gup.size));
    }
    s
}

/// gup_bench's `main`: read the options, then make the run or the matrix.
pub fn run(a: &GupBenchArgs) -> anyhow::Result<ExitCode> {
    let b = match parse(&a.args) {
        Ok(b) => b,
        Err(Stop::Help) => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(Stop::WrongArgument(getopt_msg)) => {
            if !getopt_msg.is_empty() {
                eprintln!("{getopt_msg}");
            }
            eprintln!("Wrong argument");
            return Ok(ExitCode::from(FAIL));
        }
        Err(Stop::Error(msg)) => {
            eprintln!("{msg}");
            return Ok(ExitCode::from(FAIL));
        }
    };
    let profile = match b.ext.profile() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{PROG}: --switch: {e}");
            return Ok(ExitCode::from(FAIL));
        }
    };
    let pb = if b.runs.len() > 1 {
        progress(b.runs.len() as u64, "gup-bench")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut log = StepLog::new(b.runs.len());
    // `ret |= run_bench(&run)`: every run is made, whatever the ones before it did.
    let mut failed = false;
    for o in &b.runs {
        if let Err(msg) = run_bench(&b, o, profile) {
            failed = true;
            pb.suspend(|| eprintln!("{msg}"));
        }
        pb.inc(1);
        log.done(&describe(o));
    }
    pb.finish_and_clear();
    Ok(if failed {
        ExitCode::from(FAIL)
    } else {
        ExitCode::SUCCESS
    })
}

/// `run_bench`: map the memory (the length rounded up to the huge page with -H), compute the
/// pages per call and the label, then the threads' ioctls, one line each. A failure is the
/// line gup_bench prints (in the matrix, after the run's label).
fn run_bench(
    b: &Bench,
    o: &RunOpts,
    profile: vmemdiet::mm::profile::Profile,
) -> Result<(), String> {
    let page_size = b.ext.arch.geometry().page_size();
    let mut o = o.clone();
    // The label as gup_bench has it before it opens and maps (with -H, the rounded length).
    let mut rounded = o.clone();
    if o.hugetlb {
        if let Some(s) = ByteSize::new(o.size).checked_align_up(b.ext.align) {
            rounded.size = s.bytes();
        }
    }
    let unmapped_label = label(&o, nr_pages_per_call(&rounded, page_size));
    let fail = |msg: String, label: &str| {
        if b.matrix {
            format!("{label}: {msg}")
        } else {
            msg
        }
    };
    let spec = mapping(&o, &b.ext, profile).map_err(|r| {
        fail(
            match r {
                Refusal::Fail { note: Some(n), msg } => format!("{msg} ({n})"),
                Refusal::Fail { note: None, msg } | Refusal::Skip(msg) => msg,
            },
            &unmapped_label,
        )
    })?;
    // -H: `size = (size + hp_size - 1) & ~(hp_size - 1)`, for the ioctl and its check too.
    o.size = spec.size.bytes();
    let per_call = nr_pages_per_call(&o, page_size);
    #[allow(clippy::cast_possible_wrap)]
    {
        o.nr_pages = per_call as i32;
    }
    let label = label(&o, per_call);
    let error = Mutex::new(None::<Errno>);
    gup_user::run_threads(PROG, &spec, &o, |k, mm, mut gup, kernel_log| {
        let result = repeat_ioctl(k, mm, o.cmd, &mut gup, o.size, o.repeats, kernel_log, |g| {
            println!("{}", line(&label, o.size, g));
            if b.verbose {
                eprintln!(
                    "{PROG}: {} gup_flags={:#x} calls={} pages={}",
                    o.cmd.name(),
                    g.gup_flags,
                    g.calls,
                    g.size / page_size
                );
            }
        });
        if let Err(e) = result {
            *error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
        }
    })
    .map_err(|e| fail(format!("{}: {e}", o.file), &label))?;
    if let Some(e) = error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(fail(format!("ioctl: {e}"), &label));
    }
    Ok(())
}

/// `nr_pages < 0 ? size / psize() : nr_pages`, as the ioctl's `__u32` gets it.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn nr_pages_per_call(o: &RunOpts, page_size: u64) -> u32 {
    if o.nr_pages < 0 {
        (o.size / page_size) as u32
    } else {
        o.nr_pages as u32
    }
}
