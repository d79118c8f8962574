//! `vmemdiet gup-test`: the user side of gup_test (`tools/testing/selftests/mm/gup_test.c`,
//! the getopt version of Linux 6.18) over the simulated machine: the same getopt string
//! `m:r:n:F:f:abcj:tTLUuwWSHpz` with the same meanings and defaults, the same mapping
//! (`/dev/zero` private by default: anonymous memory; `-S` shared: shmem; `-t`/`-T`
//! MADV_HUGEPAGE/MADV_NOHUGEPAGE; `-H` MAP_HUGETLB; `-f /dev/daxX.Y` the simulated device-dax
//! device), the same kselftest TAP output and exit codes (`tools/testing/selftests/kselftest.h`).
//! Our extensions are long options: `--align`, `--map`, `--profile`, `--switch`, `--arch` and
//! `--output classic` (the plain format of 5.11–6.5, before the kselftest conversion).

use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use vmemdiet::workload::gup_test::{
    GupTest, GupTestCmd, GUP_TEST_FLAG_DUMP_PAGES_USE_PIN, GUP_TEST_MAX_PAGES_TO_DUMP,
};
use vmemdiet::workload::mapping::MappingSpec;

use crate::gup_user::{
    self, atoi, mapping, repeat_ioctl, split_ext, strtol0, Ext, ExtStop, Refusal, RunOpts,
    MAX_THREADS,
};

/// kselftest exit codes (`kselftest.h`).
const KSFT_PASS: u8 = 0;
const KSFT_FAIL: u8 = 1;
const KSFT_SKIP: u8 = 4;

/// gup_test's getopt string.
const OPTSTRING: &str = "m:r:n:F:f:abcj:tTLUuwWSHpz";
/// The name getopt's messages and the kernel log lines carry.
const PROG: &str = "gup_test";

const USAGE: &str = "\
usage: vmemdiet gup-test [gup_test options] [page indices for -c] [extensions]

gup_test's options (getopt \"m:r:n:F:f:abcj:tTLUuwWSHpz\", as in the kernel's gup_test.c):
  -m MiB   buffer size (default 128)      -r N   repeats (default 1)
  -n N     pages per call (default 1; negative: the whole buffer, computed when -n is read)
  -F FLAGS gup_flags (strtol base 0; FOLL_WRITE=0x1, FOLL_LONGTERM=0x100)
  -f FILE  file to map (default /dev/zero; /dev/daxX.Y: the simulated device-dax device)
  -j N     threads (default 1)
  -u GUP_FAST_BENCHMARK (default)  -a PIN_FAST_BENCHMARK  -L PIN_LONGTERM_BENCHMARK
  -U GUP_BASIC_TEST  -b PIN_BASIC_TEST  -c DUMP_USER_PAGES_TEST (pages: positional, 0-based)
  -p pin for -c    -w FOLL_WRITE (default)  -W no FOLL_WRITE (the last of -w/-W wins)
  -t MADV_HUGEPAGE  -T MADV_NOHUGEPAGE  -S MAP_SHARED  -H MAP_HUGETLB
  Several commands: the last one wins.

Extensions (long options only):
  --align SIZE    device-dax align, or the HugeTLB page size of -H (4K, 2M, 1G; default 2M)
  --map mem|dev   device-dax memmap location (default mem)
  --profile P     kernel profile (default v7.3)    --switch NAME=VALUE (see vmemdiet --help)
  --arch A        architecture (default x86_64)
  --output tap|classic   kselftest TAP (default) or the plain output of 5.11-6.5

Anonymous memory follows transparent_hugepage/enabled=madvise: THPs with -t only.
Exit codes: 0 pass (gup_test exits 0 whenever it gets to run its threads), 1 fail (Bail out),
4 skip.";

/// Arguments of `vmemdiet gup-test`: gup_test's own command line, parsed as its getopt does.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, after_help = USAGE)]
pub struct GupTestArgs {
    /// gup_test's options and page indices, and our long-option extensions (--help for all).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    args: Vec<String>,
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Tap,
    Classic,
}

/// Why parsing stopped before the test could start.
enum Stop {
    /// `ksft_exit_fail_msg("Wrong argument\n")` after getopt's own message on stderr.
    WrongArgument(String),
    /// One of our extensions was given a bad value: one line naming it.
    Ext(String),
    Help,
}

impl From<ExtStop> for Stop {
    fn from(e: ExtStop) -> Stop {
        match e {
            ExtStop::Help => Stop::Help,
            ExtStop::Unknown(msg) => Stop::WrongArgument(msg),
            ExtStop::Bad(msg) => Stop::Ext(msg),
        }
    }
}

/// Splits our long options off, keeping gup_test's arguments in order: the common ones and
/// `--output`.
fn split_args(args: &[String]) -> Result<(Ext, Output, Vec<String>), Stop> {
    let (ext, extras, rest) = split_ext(PROG, args, &[("output", true)])?;
    let mut output = Output::Tap;
    for (name, value) in extras {
        output = match value.as_str() {
            "tap" => Output::Tap,
            "classic" => Output::Classic,
            _ => return Err(Stop::Ext(format!("--{name} {value}: valid: tap, classic"))),
        };
    }
    Ok((ext, output, rest))
}

/// gup_test's getopt loop and the positional page indices of `-c`.
fn getopt(args: &[String], page_size: u64) -> Result<RunOpts, Stop> {
    let mut o = RunOpts::default();
    let operands = gup_user::getopt(PROG, OPTSTRING, args, |c, optarg| {
        match c {
            'b' => o.cmd = GupTestCmd::PinBasicTest,
            'c' => {
                o.cmd = GupTestCmd::DumpUserPagesTest;
                // Dump page 0 (index 1), unless page indices follow.
                o.gup.which_pages[0] = 1;
            }
            'p' => o.gup.test_flags |= GUP_TEST_FLAG_DUMP_PAGES_USE_PIN,
            'n' => {
                o.nr_pages = atoi(&optarg);
                if o.nr_pages < 0 {
                    o.nr_pages = o.all_pages(page_size);
                }
            }
            'U' => o.cmd = GupTestCmd::GupBasicTest,
            // 'z' is in the string but has no case: the kernel's default branch.
            _ if !o.common_opt(c, optarg) => return Err(String::new()),
            _ => {}
        }
        Ok(())
    })
    .map_err(Stop::WrongArgument)?;
    // At most GUP_TEST_MAX_PAGES_TO_DUMP indices are read; the rest are ignored.
    for (slot, arg) in o
        .gup
        .which_pages
        .iter_mut()
        .zip(operands.iter().take(GUP_TEST_MAX_PAGES_TO_DUMP))
    {
        // 1-based, so that zero can mean "do nothing"; stored in a __u32.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = strtol0(arg).wrapping_add(1) as u32;
        *slot = v;
    }
    Ok(o)
}

/// kselftest's counters and printing (`kselftest.h`), or the classic plain output.
struct Ksft {
    output: Output,
    /// The test plan: one test per thread.
    plan: u32,
    state: Mutex<(u32, u32)>,
}

impl Ksft {
    fn totals(&self) {
        if self.output == Output::Classic {
            return;
        }
        let (pass, fail) = *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.plan != pass + fail {
            println!(
                "# Planned tests != run tests ({} != {})",
                self.plan,
                pass + fail
            );
        }
        println!("# Totals: pass:{pass} fail:{fail} xfail:0 xpass:0 skip:0 error:0");
    }
    /// `ksft_exit_fail_msg`.
    fn bail(&self, msg: &str) -> ExitCode {
        match self.output {
            Output::Tap => {
                println!("Bail out! {msg}");
                self.totals();
            }
            Output::Classic => eprintln!("{msg}"),
        }
        ExitCode::from(KSFT_FAIL)
    }
    /// `ksft_exit_fail_msg("mmap: %s\n", strerror(errno))`: the mapping failed.
    fn mmap_fail(&self, errno: &str) -> ExitCode {
        self.bail(&format!("mmap: {errno}"))
    }
    /// An `open` or `mmap` that gave no mapping: its note on stderr, then bail out or skip.
    fn refused(&self, r: Refusal) -> ExitCode {
        match r {
            Refusal::Fail { note, msg } => {
                if let Some(note) = note {
                    eprintln!("{note}");
                }
                self.bail(&msg)
            }
            Refusal::Skip(msg) => self.skip(&msg),
        }
    }
    /// `ksft_exit_skip` after the plan was printed.
    fn skip(&self, msg: &str) -> ExitCode {
        match self.output {
            Output::Tap => {
                println!("ok 1 # SKIP {msg}");
                println!("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0");
            }
            Output::Classic => eprintln!("skipped: {msg}"),
        }
        ExitCode::from(KSFT_SKIP)
    }
}

/// What the next step of gup_test's `main` needs, or the exit code it ended with (its
/// output printed).
type Step<T> = Result<T, ExitCode>;

/// gup_test's `main`: parse the command line, print the plan, open and map the file, then
/// run the threads.
pub fn run(a: &GupTestArgs) -> anyhow::Result<ExitCode> {
    let (ext, output, rest) = match split_args(&a.args) {
        Ok(v) => v,
        // Before the extensions are read the output is TAP.
        Err(stop) => return stopped(stop, Output::Tap),
    };
    let profile = ext.profile()?;
    let o = match getopt(&rest, ext.arch.geometry().page_size()) {
        Ok(o) => o,
        Err(stop) => return stopped(stop, output),
    };
    let ksft = match start(&o, output)? {
        Ok(ksft) => ksft,
        Err(code) => return Ok(code),
    };
    Ok(match mapping(&o, &ext, profile) {
        Ok(spec) => run_threads(&o, &spec, &ksft),
        Err(r) => ksft.refused(r),
    })
}

/// The end of a command line that stopped parsing: `--help`, a bad extension (an error), or
/// gup_test's "Wrong argument" after getopt's own message.
fn stopped(stop: Stop, output: Output) -> anyhow::Result<ExitCode> {
    match stop {
        Stop::Help => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Stop::Ext(e) => anyhow::bail!(e),
        Stop::WrongArgument(getopt_msg) => {
            if !getopt_msg.is_empty() {
                eprintln!("{getopt_msg}");
            }
            Ok(match output {
                Output::Tap => {
                    println!("Bail out! Wrong argument");
                    println!("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0");
                    ExitCode::from(KSFT_FAIL)
                }
                // The older gup_test returned -1 from main.
                Output::Classic => ExitCode::from(255),
            })
        }
    }
}

/// The kselftest header and plan (one test per thread), once the thread count is known to be
/// one we can run.
fn start(o: &RunOpts, output: Output) -> anyhow::Result<Step<Ksft>> {
    if o.nthreads > MAX_THREADS {
        anyhow::bail!(
            "-j {}: vmemdiet runs at most {MAX_THREADS} threads",
            o.nthreads
        );
    }
    #[allow(clippy::cast_sign_loss)]
    let plan = o.nthreads as u32;
    if output == Output::Tap {
        if std::env::var_os("KSFT_TAP_LEVEL").is_none() {
            println!("TAP version 13");
        }
        println!("1..{plan}");
    }
    if o.nthreads < 0 {
        // malloc(sizeof(pthread_t) * nthreads) fails and assert(tid) aborts.
        eprintln!("gup_test: gup_test.c: main: Assertion `tid' failed.");
        return Ok(Err(ExitCode::from(134)));
    }
    Ok(Ok(Ksft {
        output,
        plan,
        state: Mutex::new((0, 0)),
    }))
}

/// The threads on the mapping of `spec` (each a [`gup_thread`]), then the kernel log and the
/// totals.
fn run_threads(o: &RunOpts, spec: &MappingSpec, ksft: &Ksft) -> ExitCode {
    let result = gup_user::run_threads(PROG, spec, o, |k, mm, gup, log| {
        gup_thread(k, mm, o, gup, ksft, log);
    });
    if let Err(e) = result {
        eprintln!("{}: {e}", o.file);
        return ksft.mmap_fail("Cannot allocate memory");
    }
    ksft.totals();
    ExitCode::from(KSFT_PASS)
}

/// `gup_thread`: the ioctl per repeat (benchmarks) or once (tests), then the TAP result.
fn gup_thread(
    k: &vmemdiet::mm::Kernel,
    mm: &vmemdiet::mm::vm::Mm<'_>,
    o: &RunOpts,
    mut gup: GupTest,
    ksft: &Ksft,
    kernel_log: &mut Vec<String>,
) {
    let name = o.cmd.name();
    let iterations = if o.cmd.is_benchmark() { o.repeats } else { 1 };
    let result = repeat_ioctl(
        k,
        mm,
        o.cmd,
        &mut gup,
        o.size,
        iterations,
        kernel_log,
        |gup| {
            // The print mutex: one thread's lines stay together.
            let guard = ksft
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let truncated = gup.size != o.size;
            // TAP lines are kselftest messages: "# " first; ksft_print_msg("\n") prints its own
            // "# " before the newline.
            let (pre, sep) = match ksft.output {
                Output::Tap => ("# ", "# "),
                Output::Classic => ("", ""),
            };
            if o.cmd.is_benchmark() {
                let mut line = format!(
                    "{pre}{name}: Time: get:{} put:{} us",
                    gup.get_delta_usec, gup.put_delta_usec
                );
                if truncated {
                    line.push_str(&format!("{sep}, truncated (size: {})", gup.size));
                }
                println!("{line}{sep}");
            } else {
                println!("{pre}{name}: done");
                if truncated {
                    println!("{pre}Truncated (size: {})", gup.size);
                }
            }
            drop(guard);
        },
    );
    let status = if let Err(e) = result {
        if ksft.output == Output::Classic {
            eprintln!("ioctl: {e}");
        }
        -1
    } else {
        0
    };
    let mut st = ksft
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if ksft.output == Output::Tap {
        let n = st.0 + st.1 + 1;
        if status == 0 {
            println!("ok {n} ioctl status {status}");
        } else {
            println!("not ok {n} ioctl status {status}");
        }
    }
    if status == 0 {
        st.0 += 1;
    } else {
        st.1 += 1;
    }
}
