//! `vmemdiet gup-bench`: the kernel's GUP microbenchmark (`tools/mm/gup_bench.c`, Sarthak
//! Sharma's series that splits benchmarking out of gup_test; a 7.4 candidate, linux-mm commit
//! 11a8f3c57480, mainline UNCONFIRMED) over the simulated machine: its getopt string
//! `m:r:n:F:f:aj:tTLuwWSH`, one line per run, and with no options its matrix of runs. It maps
//! memory and times the gup_test ioctl exactly as `vmemdiet gup-test` does (the shared user
//! side is [`crate::gup_user`]).

use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use vmemdiet::workload::gup_test::{Errno, GupTest, GupTestCmd};

use crate::gup_user::{
    self, atoi, mapping, repeat_ioctl, split_ext, Ext, ExtStop, Refusal, RunOpts, MAX_THREADS, MB,
};
use crate::output::{progress, StepLog};

/// gup_bench's getopt string.
const OPTSTRING: &str = "m:r:n:F:f:aj:tTLuwWSH";
/// The name its messages carry.
const PROG: &str = "gup_bench";
/// Exit code of a usage error (as getopt-driven tools and clap use).
const USAGE_ERROR: u8 = 2;

const USAGE: &str = "\
usage: vmemdiet gup-bench [gup_bench options] [extensions]

The kernel's GUP microbenchmark, tools/mm/gup_bench.c (Sarthak Sharma's series, a 7.4
candidate; mainline UNCONFIRMED), over the simulated machine. It maps the memory and times
the gup_test ioctl (get, then put) exactly as `vmemdiet gup-test` does, and prints one line
per ioctl (each repeat of each thread):

  <CMD> (nr_pages=<n> write|read shared|private hugetlb=<0|1> thp=<-1|0|1>) time: get:<N> put:<N> us

CMD is the ioctl as gup_test names it: GUP_FAST_BENCHMARK, PIN_FAST_BENCHMARK or
PIN_LONGTERM_BENCHMARK. nr_pages is the pages per call the ioctl got (-n -1 shows the
buffer's page count); thp is 1 after -t, 0 after -T, -1 with neither. A run whose GUP came up
short ends its line with `, truncated (size: <bytes>)`, as gup_test's does.

Options (getopt \"m:r:n:F:f:aj:tTLuwWSH\"; of conflicting flags the last wins):
  -u        GUP_FAST: get_user_pages_fast, released with put_page (the default command)
  -a        PIN_FAST: pin_user_pages_fast, released with unpin_user_pages
  -L        PIN_LONGTERM: pin_user_pages with FOLL_LONGTERM (the slow path)
  -w        write: FOLL_WRITE (the default)
  -W        read: no FOLL_WRITE
  -S        MAP_SHARED: shmem on /dev/zero; needed for /dev/daxX.Y
  -H        MAP_HUGETLB: a HugeTLB pool of --align pages (2M by default; the length rounds up)
  -t        THP on: MADV_HUGEPAGE (anonymous memory follows transparent_hugepage/enabled=madvise)
  -T        THP off: MADV_NOHUGEPAGE
  -f FILE   file to map (default /dev/zero; /dev/daxX.Y is the simulated device-dax device)
  -m MB     buffer size in MiB (default 128)
  -n NR     pages per GUP call (default 1); -1: all pages in one call; below -1: refused
  -r N      repeats (default 1, gup_test's: gup_bench's default is UNCONFIRMED upstream)
  -j N      threads, each running the repeats (default 1, gup_test's: gup_bench's default is
            UNCONFIRMED upstream; at most 1024)
  -F FLAGS  extra gup_flags, read as strtol base 0 (0x10 = 020 = 16); the current kernel's
            FOLL_* numbering (FOLL_WRITE 0x1, FOLL_LONGTERM 0x100); internal flags fail the GUP

With none of these options it runs its matrix: -u, -a, -L x -w, -W x private, -S x -t, -T
x -n 1, 512, 123, -1 at 128 MB (96 runs), then HugeTLB runs at 256 MB: -u, -a, -L x -w, -W x
-n 1, 512, 123, -1 with -H -S (24 runs: how many upstream runs is UNCONFIRMED; this set is
our choice). Progress goes to stderr.

Memory kinds: /dev/zero private = anonymous base pages (-t: THP), -S = shmem, -H = HugeTLB,
-f /dev/daxX.Y -S = device-dax.

Extensions (long options only; given alone they apply to the matrix):
  --align SIZE    device-dax align, or the HugeTLB page size of -H (4K, 2M, 1G; default 2M)
  --map mem|dev   device-dax memmap location (default mem)
  --profile P     kernel profile (default v7.3)    --switch NAME=VALUE (see vmemdiet --help)
  --arch A        architecture (default x86_64)
  --verbose       after each line, on stderr: the ioctl's gup_flags, the GUP calls it made
                  and the pages it reached (`gup_bench: <CMD> gup_flags=0x1 calls=1 pages=32768`)

Exit codes: 0 done; 1 a run failed (one line on stderr); 2 a usage error (one line on stderr).";

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
    runs: Vec<RunOpts>,
}

/// How the command ends early: help, or an error line and its exit code.
enum Stop {
    Help,
    Error(String, u8),
}

impl Stop {
    fn usage(msg: String) -> Stop {
        Stop::Error(msg, USAGE_ERROR)
    }
}

/// The matrix of runs gup_bench makes without options: 96 at 128 MB, then 24 HugeTLB runs at
/// 256 MB.
fn matrix() -> Vec<RunOpts> {
    const CMDS: [GupTestCmd; 3] = [
        GupTestCmd::GupFastBenchmark,
        GupTestCmd::PinFastBenchmark,
        GupTestCmd::PinLongtermBenchmark,
    ];
    const NRS: [i32; 4] = [1, 512, 123, -1];
    let base = RunOpts::default();
    let mut runs = Vec::new();
    for cmd in CMDS {
        for write in [true, false] {
            for shared in [false, true] {
                for thp in [1, 0] {
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
            }
        }
    }
    for cmd in CMDS {
        for write in [true, false] {
            for nr_pages in NRS {
                runs.push(RunOpts {
                    cmd,
                    write,
                    shared: true,
                    hugetlb: true,
                    nr_pages,
                    size: 256 * MB,
                    ..base.clone()
                });
            }
        }
    }
    runs
}

/// Reads the command line: the extensions, then gup_bench's getopt loop; no options at all
/// gives the matrix.
fn parse(args: &[String]) -> Result<Bench, Stop> {
    let (ext, extras, rest) =
        split_ext(PROG, args, &[("verbose", false)]).map_err(|e| match e {
            ExtStop::Help => Stop::Help,
            ExtStop::Unknown(msg) => Stop::usage(msg),
            ExtStop::Bad(msg) => Stop::usage(format!("{PROG}: {msg}")),
        })?;
    let verbose = !extras.is_empty();
    let mut o = RunOpts::default();
    let mut options = 0;
    let operands = gup_user::getopt(PROG, OPTSTRING, &rest, |c, optarg| {
        options += 1;
        if c == 'n' {
            o.nr_pages = atoi(&optarg);
            if o.nr_pages < -1 {
                return Err(format!(
                    "{PROG}: -n {optarg}: pages per call must be -1 (all pages in one call) or more"
                ));
            }
        } else if !o.common_opt(c, optarg) {
            return Err(format!("{PROG}: invalid option -- '{c}'"));
        }
        Ok(())
    })
    .map_err(Stop::usage)?;
    if let Some(op) = operands.first() {
        return Err(Stop::usage(format!(
            "{PROG}: unexpected argument '{op}' (gup_bench takes options only)"
        )));
    }
    if !(0..=MAX_THREADS).contains(&o.nthreads) {
        return Err(Stop::usage(format!(
            "{PROG}: -j {}: threads must be 0 to {MAX_THREADS}",
            o.nthreads
        )));
    }
    let runs = if options == 0 { matrix() } else { vec![o] };
    Ok(Bench { ext, verbose, runs })
}

/// The run as gup_bench's options (for progress lines and errors).
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

/// The line of one ioctl.
fn line(o: &RunOpts, gup: &GupTest) -> String {
    let mut s = format!(
        "{} (nr_pages={} {} {} hugetlb={} thp={}) time: get:{} put:{} us",
        o.cmd.name(),
        gup.nr_pages_per_call,
        if o.write { "write" } else { "read" },
        if o.shared { "shared" } else { "private" },
        u8::from(o.hugetlb),
        o.thp,
        gup.get_delta_usec,
        gup.put_delta_usec
    );
    if gup.size != o.size {
        s.push_str(&format!(", truncated (size: {})", gup.size));
    }
    s
}

/// gup_bench's `main`: read the options, then make each run.
pub fn run(a: &GupBenchArgs) -> anyhow::Result<ExitCode> {
    let stop = match parse(&a.args).and_then(|b| run_all(&b)) {
        Ok(()) => return Ok(ExitCode::SUCCESS),
        Err(stop) => stop,
    };
    Ok(match stop {
        Stop::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Stop::Error(msg, code) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    })
}

/// Every run of `b`, under a progress bar and log when there are several; the first failure
/// ends them.
fn run_all(b: &Bench) -> Result<(), Stop> {
    let profile = b
        .ext
        .profile()
        .map_err(|e| Stop::usage(format!("{PROG}: --switch: {e}")))?;
    let page_size = b.ext.arch.geometry().page_size();
    let pb = if b.runs.len() > 1 {
        progress(b.runs.len() as u64, "gup-bench")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut log = StepLog::new(b.runs.len());
    for o in &b.runs {
        let what = describe(o);
        let mut o = o.clone();
        if o.nr_pages == -1 {
            o.nr_pages = o.all_pages(page_size);
        }
        // One run alone fails with the tool's message; a matrix run names itself.
        let fail = |msg: String| {
            let at = if b.runs.len() > 1 {
                format!("{what}: ")
            } else {
                String::new()
            };
            Stop::Error(format!("{PROG}: {at}{msg}"), 1)
        };
        let spec = mapping(&o, &b.ext, profile).map_err(|r| {
            fail(match r {
                Refusal::Fail { note: Some(n), msg } => format!("{msg} ({n})"),
                Refusal::Fail { note: None, msg } => msg,
                Refusal::Skip(msg) => msg,
            })
        })?;
        let error = Mutex::new(None::<Errno>);
        gup_user::run_threads(PROG, &spec, &o, |k, mm, mut gup, kernel_log| {
            let result = repeat_ioctl(k, mm, o.cmd, &mut gup, o.size, o.repeats, kernel_log, |g| {
                println!("{}", line(&o, g));
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
        .map_err(|e| fail(format!("{}: {e}", o.file)))?;
        if let Some(e) = error
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            return Err(fail(format!("ioctl: {e}")));
        }
        pb.inc(1);
        log.done(&what);
    }
    pb.finish_and_clear();
    Ok(())
}
