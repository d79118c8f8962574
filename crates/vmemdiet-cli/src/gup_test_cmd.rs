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
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::gup_test::{
    gup_test_ioctl, GupTest, GupTestCmd, GUP_TEST_FLAG_DUMP_PAGES_USE_PIN,
    GUP_TEST_MAX_PAGES_TO_DUMP,
};
use vmemdiet::workload::mapping::{with_mapping, MappingError, MappingSpec};

use crate::output::parse_size;

/// kselftest exit codes (`kselftest.h`).
const KSFT_PASS: u8 = 0;
const KSFT_FAIL: u8 = 1;
const KSFT_SKIP: u8 = 4;

/// gup_test's getopt string.
const OPTSTRING: &str = "m:r:n:F:f:abcj:tTLUuwWSHpz";
/// `MB`.
const MB: u64 = 1 << 20;
/// The most threads we start (gup_test starts as many as asked).
const MAX_THREADS: i32 = 1024;

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

/// Our long-option extensions.
#[derive(Debug, Clone)]
struct Ext {
    align: ByteSize,
    map: MapMode,
    profile: Profile,
    switches: Vec<String>,
    arch: Arch,
    output: Output,
}

/// What gup_test's `main` holds after getopt.
#[derive(Debug, Clone)]
struct Opts {
    cmd: GupTestCmd,
    gup: GupTest,
    repeats: i32,
    size: u64,
    nr_pages: i32,
    thp: i32,
    write: bool,
    nthreads: i32,
    shared: bool,
    hugetlb: bool,
    file: String,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            cmd: GupTestCmd::GupFastBenchmark,
            gup: GupTest::default(),
            repeats: 1,
            size: 128 * MB,
            nr_pages: 1,
            thp: -1,
            write: true,
            nthreads: 1,
            shared: false,
            hugetlb: false,
            file: "/dev/zero".to_string(),
        }
    }
}

/// C's `strtol(s, NULL, 0)`: optional space and sign, then `0x` hex, leading-0 octal or
/// decimal, stopping at the first invalid digit; saturates at the `long` range; 0 if none.
fn strtol0(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if (t.starts_with("0x") || t.starts_with("0X"))
        && t[2..].starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, &t[2..])
    } else if t.starts_with('0') {
        (8, t)
    } else {
        (10, t)
    };
    let mut v: i128 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        v = (v * i128::from(radix) + i128::from(d)).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    i64::try_from(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(0)
}

/// C's `atoi`: decimal `strtol`, truncated to `int` as glibc does.
fn atoi(s: &str) -> i32 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i128 = 0;
    for c in t.chars() {
        let Some(d) = c.to_digit(10) else { break };
        v = (v * 10 + i128::from(d)).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    let long = i64::try_from(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(0);
    #[allow(clippy::cast_possible_truncation)]
    let int = long as i32;
    int
}

/// Why parsing stopped before the test could start.
enum Stop {
    /// `ksft_exit_fail_msg("Wrong argument\n")` after getopt's own message on stderr.
    WrongArgument(String),
    /// One of our extensions was given a bad value: one line naming it.
    Ext(String),
    Help,
}

/// Splits our long options off, keeping gup_test's arguments in order.
fn split_ext(args: &[String]) -> Result<(Ext, Vec<String>), Stop> {
    let mut ext = Ext {
        align: ByteSize::mib(2),
        map: MapMode::Mem,
        profile: Profile::default(),
        switches: Vec::new(),
        arch: Arch::default(),
        output: Output::Tap,
    };
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.push(a.clone());
            rest.extend(it.cloned());
            break;
        }
        let Some(long) = a.strip_prefix("--") else {
            rest.push(a.clone());
            continue;
        };
        let (name, inline) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (long, None),
        };
        if name == "help" {
            return Err(Stop::Help);
        }
        if !["align", "map", "profile", "switch", "arch", "output"].contains(&name) {
            // getopt (short options only) does not know it either.
            return Err(Stop::WrongArgument(format!(
                "gup_test: unrecognized option '{a}'"
            )));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| Stop::Ext(format!("--{name} needs a value")))?,
        };
        let bad = |e: String| Stop::Ext(format!("--{name} {value}: {e}"));
        match name {
            "align" => ext.align = parse_size(&value).map_err(bad)?,
            "map" => ext.map = value.parse().map_err(|e: String| bad(e))?,
            "profile" => ext.profile = value.parse().map_err(|e: String| bad(e))?,
            "switch" => ext.switches.extend(value.split(',').map(str::to_string)),
            "arch" => ext.arch = value.parse().map_err(|e: String| bad(e))?,
            "output" => {
                ext.output = match value.as_str() {
                    "tap" => Output::Tap,
                    "classic" => Output::Classic,
                    _ => return Err(bad("valid: tap, classic".to_string())),
                }
            }
            _ => {}
        }
    }
    Ok((ext, rest))
}

/// gup_test's getopt loop (GNU getopt: options and operands may be mixed, `--` ends options)
/// and the positional page indices of `-c`.
fn getopt(args: &[String], page_size: u64) -> Result<Opts, Stop> {
    let mut o = Opts::default();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            operands.push(a.clone());
            continue;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            let Some(pos) = OPTSTRING.find(c).filter(|_| c != ':') else {
                return Err(Stop::WrongArgument(format!(
                    "gup_test: invalid option -- '{c}'"
                )));
            };
            let takes_arg = OPTSTRING[pos + c.len_utf8()..].starts_with(':');
            let optarg = if takes_arg {
                if j < chars.len() {
                    let v: String = chars[j..].iter().collect();
                    j = chars.len();
                    v
                } else if i < args.len() {
                    i += 1;
                    args[i - 1].clone()
                } else {
                    return Err(Stop::WrongArgument(format!(
                        "gup_test: option requires an argument -- '{c}'"
                    )));
                }
            } else {
                String::new()
            };
            match c {
                'a' => o.cmd = GupTestCmd::PinFastBenchmark,
                'b' => o.cmd = GupTestCmd::PinBasicTest,
                'L' => o.cmd = GupTestCmd::PinLongtermBenchmark,
                'c' => {
                    o.cmd = GupTestCmd::DumpUserPagesTest;
                    // Dump page 0 (index 1), unless page indices follow.
                    o.gup.which_pages[0] = 1;
                }
                'p' => o.gup.test_flags |= GUP_TEST_FLAG_DUMP_PAGES_USE_PIN,
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                'F' => o.gup.gup_flags = strtol0(&optarg) as i32 as u32,
                'j' => o.nthreads = atoi(&optarg),
                // int * unsigned long: a negative int wraps, as in C.
                #[allow(clippy::cast_sign_loss)]
                'm' => o.size = (i64::from(atoi(&optarg)) as u64).wrapping_mul(MB),
                'r' => o.repeats = atoi(&optarg),
                'n' => {
                    o.nr_pages = atoi(&optarg);
                    if o.nr_pages < 0 {
                        #[allow(clippy::cast_possible_truncation)]
                        let whole = (o.size / page_size) as i32;
                        o.nr_pages = whole;
                    }
                }
                't' => o.thp = 1,
                'T' => o.thp = 0,
                'U' => o.cmd = GupTestCmd::GupBasicTest,
                'u' => o.cmd = GupTestCmd::GupFastBenchmark,
                'w' => o.write = true,
                'W' => o.write = false,
                'f' => o.file = optarg,
                'S' => o.shared = true,
                'H' => o.hugetlb = true,
                // 'z' is in the string but has no case: the kernel's default branch.
                _ => return Err(Stop::WrongArgument(String::new())),
            }
        }
    }
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

/// True for a device-dax character device path, `/dev/daxX.Y`.
fn is_devdax_path(f: &str) -> bool {
    f.strip_prefix("/dev/dax")
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

/// What the next step of gup_test's `main` needs, or the exit code it ended with (its
/// output printed).
type Step<T> = Result<T, ExitCode>;

/// gup_test's `main`: parse the command line, print the plan, open and map the file, then
/// run the threads.
pub fn run(a: &GupTestArgs) -> anyhow::Result<ExitCode> {
    let (ext, rest) = match split_ext(&a.args) {
        Ok(v) => v,
        // Before the extensions are read the output is TAP.
        Err(stop) => return stopped(stop, Output::Tap),
    };
    let profile = ext
        .profile
        .with_switches(ext.switches.iter().map(String::as_str))?;
    let o = match getopt(&rest, ext.arch.geometry().page_size()) {
        Ok(o) => o,
        Err(stop) => return stopped(stop, ext.output),
    };
    let ksft = match start(&o, ext.output)? {
        Ok(ksft) => ksft,
        Err(code) => return Ok(code),
    };
    let spec = open(&o, &ksft).and_then(|devdax| mmap(&o, &ext, profile, devdax, &ksft));
    Ok(match spec {
        Ok(spec) => run_threads(&o, &spec, &ksft),
        Err(code) => code,
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
fn start(o: &Opts, output: Output) -> anyhow::Result<Step<Ksft>> {
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

/// `open(file, O_RDWR | O_CREAT)`: the simulated /dev/zero and device-dax devices exist; any
/// other file must, and only `-H` maps one (page-cache mappings are not modelled). True for a
/// device-dax device.
fn open(o: &Opts, ksft: &Ksft) -> Step<bool> {
    let devdax = is_devdax_path(&o.file);
    if o.file == "/dev/zero" || devdax {
        return Ok(devdax);
    }
    match std::fs::metadata(&o.file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ksft.bail(&format!(
            "Unable to open {}: No such file or directory",
            o.file
        ))),
        Err(e) => Err(ksft.bail(&format!("Unable to open {}: {e}", o.file))),
        Ok(_) if !o.hugetlb => Err(ksft.skip(&format!(
            "{}: file-backed page-cache mappings are not modelled; use /dev/zero, /dev/daxX.Y or -H",
            o.file
        ))),
        Ok(_) => Ok(false),
    }
}

/// `mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0)`: the memory the flags and the
/// file give, refused as the kernel refuses it.
fn mmap(o: &Opts, ext: &Ext, profile: Profile, devdax: bool, ksft: &Ksft) -> Step<MappingSpec> {
    if o.size == 0 {
        return Err(ksft.mmap_fail("Invalid argument"));
    }
    let (kind, size) = mmap_kind(o, ext, devdax, ksft)?;
    let spec = MappingSpec {
        kind,
        size,
        align: ext.align,
        map: ext.map,
        profile,
        arch: ext.arch,
    };
    if kind == Kind::Devdax {
        if let Err(e) = vmemdiet::plan::plan(&spec.plan_config()) {
            eprintln!("{}: {e}", o.file);
            return Err(ksft.mmap_fail("Invalid argument"));
        }
    }
    Ok(spec)
}

/// The kind of memory and the mapping's length: `-H` HugeTLB (MAP_HUGETLB | MAP_ANONYMOUS
/// ignores the file, the length rounds up to the huge page), device-dax, `-S` shmem, `-t`
/// THP, else anonymous base pages.
fn mmap_kind(o: &Opts, ext: &Ext, devdax: bool, ksft: &Ksft) -> Step<(Kind, ByteSize)> {
    if o.hugetlb {
        if vmemdiet::mm::hugetlb::HugeSize::from_align(ext.arch.geometry(), ext.align).is_none() {
            return Err(ksft.skip(&format!(
                "MAP_HUGETLB needs a huge page size: --align 2M or 1G, not {}",
                ext.align.short()
            )));
        }
        return match ByteSize::new(o.size).checked_align_up(ext.align) {
            Some(s) => Ok((Kind::Hugetlb, s)),
            None => Err(ksft.mmap_fail("Cannot allocate memory")),
        };
    }
    let kind = if devdax {
        // dax_mmap -> check_vma: device-dax refuses private mappings and unaligned lengths.
        if !o.shared || !o.size.is_multiple_of(ext.align.bytes()) {
            if !o.shared {
                eprintln!("{}: fail, attempted private mapping", o.file);
            }
            return Err(ksft.mmap_fail("Invalid argument"));
        }
        Kind::Devdax
    } else if o.shared {
        Kind::Shmem
    } else if o.thp == 1 {
        Kind::Thp
    } else {
        Kind::Anon
    };
    Ok((kind, ByteSize::new(o.size)))
}

/// The threads on the mapping of `spec` (each a [`gup_thread`]), then the kernel log and the
/// totals.
fn run_threads(o: &Opts, spec: &MappingSpec, ksft: &Ksft) -> ExitCode {
    let mut gup = o.gup;
    gup.size = o.size;
    #[allow(clippy::cast_sign_loss)]
    let nr_per_call = o.nr_pages as u32;
    gup.nr_pages_per_call = nr_per_call;
    if o.write {
        gup.gup_flags |= 0x1;
    }
    let log = Mutex::new(Vec::<String>::new());
    let result = with_mapping(spec, true, |k, mm, va, _len| -> Result<(), MappingError> {
        gup.addr = va.as_u64();
        std::thread::scope(|s| {
            for _ in 0..o.nthreads {
                let log = &log;
                s.spawn(move || gup_thread(k, mm, o, gup, ksft, log));
            }
        });
        Ok(())
    });
    for l in log
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        eprintln!("gup_test (kernel log): {l}");
    }
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
    o: &Opts,
    mut gup: GupTest,
    ksft: &Ksft,
    log: &Mutex<Vec<String>>,
) {
    let mut kernel_log = Vec::new();
    let mut status = 0;
    let name = o.cmd.name();
    let iterations = if o.cmd.is_benchmark() {
        o.repeats.max(0)
    } else {
        1
    };
    for _ in 0..iterations {
        gup.size = o.size;
        if let Err(e) = gup_test_ioctl(k, mm, o.cmd, &mut gup, &mut kernel_log) {
            status = -1;
            if ksft.output == Output::Classic {
                eprintln!("ioctl: {e}");
            }
            break;
        }
        // The print mutex: one thread's lines stay together.
        let guard = ksft
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let truncated = gup.size != o.size;
        match (ksft.output, o.cmd.is_benchmark()) {
            (Output::Tap, true) => {
                let mut line = format!(
                    "# {name}: Time: get:{} put:{} us",
                    gup.get_delta_usec, gup.put_delta_usec
                );
                if truncated {
                    line.push_str(&format!("# , truncated (size: {})", gup.size));
                }
                // ksft_print_msg("\n") prints its own "# " before the newline.
                println!("{line}# ");
            }
            (Output::Tap, false) => {
                println!("# {name}: done");
                if truncated {
                    println!("# Truncated (size: {})", gup.size);
                }
            }
            (Output::Classic, true) => {
                let mut line = format!(
                    "{name}: Time: get:{} put:{} us",
                    gup.get_delta_usec, gup.put_delta_usec
                );
                if truncated {
                    line.push_str(&format!(", truncated (size: {})", gup.size));
                }
                println!("{line}");
            }
            (Output::Classic, false) => {
                println!("{name}: done");
                if truncated {
                    println!("Truncated (size: {})", gup.size);
                }
            }
        }
        drop(guard);
    }
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
    drop(st);
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(kernel_log);
}
