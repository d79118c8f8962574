//! The user side that `vmemdiet gup-test` and `vmemdiet gup-bench` share. Both drive the
//! simulated gup_test debugfs ioctl ([`vmemdiet::workload::gup_test`]) as the kernel's
//! `gup_test.c` and `gup_bench.c` do, and read their command lines the same way: C's number
//! parsing (`strtol` base 0, `atoi`), GNU getopt over short options, our long-option
//! extensions (`--align`, `--map`, `--profile`, `--switch`, `--arch`), the option letters both
//! tools share, the `open` and `mmap` of `/dev/zero`, `-H`, `-S`, `-t`/`-T` and `/dev/daxX.Y`,
//! and the threads that run the ioctl on the mapping (inside the host-memory budget that
//! [`with_mapping`] enforces).

use std::sync::Mutex;

use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::mm::vm::Mm;
use vmemdiet::mm::Kernel;
use vmemdiet::plan::Kind;
use vmemdiet::workload::gup_test::{gup_test_ioctl, Errno, GupTest, GupTestCmd};
use vmemdiet::workload::mapping::{with_mapping, MappingError, MappingSpec};

use crate::output::parse_size;

/// `MB`.
pub const MB: u64 = 1 << 20;
/// The most threads we start (the C tools start as many as asked).
pub const MAX_THREADS: i32 = 1024;
/// `FOLL_WRITE`, which `-w` (the default) adds to the ioctl's `gup_flags`.
const FOLL_WRITE: u32 = 0x1;

/// C's `strtol(s, NULL, base)` for base 0 (`auto`: `0x` hex, leading-0 octal or decimal) or
/// base 10: optional space and sign, then digits up to the first invalid one; saturates at
/// the `long` range; 0 if none.
fn strtol(s: &str, auto: bool) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if !auto {
        (10, t)
    } else if (t.starts_with("0x") || t.starts_with("0X"))
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

/// C's `strtol(s, NULL, 0)`.
pub fn strtol0(s: &str) -> i64 {
    strtol(s, true)
}

/// C's `atoi`: decimal `strtol`, truncated to `int` as glibc does.
pub fn atoi(s: &str) -> i32 {
    #[allow(clippy::cast_possible_truncation)]
    let int = strtol(s, false) as i32;
    int
}

/// GNU getopt over the short options of `optstring` (options and operands may be mixed, `--`
/// ends options): `on_opt` gets each option letter and its argument (empty for a flag) and may
/// refuse it with a message. Returns the operands, or the message getopt (`prog: invalid
/// option -- 'x'`) or `on_opt` stopped with; an empty message stands for a refusal that prints
/// nothing (the C program's `default:` branch).
pub fn getopt(
    prog: &str,
    optstring: &str,
    args: &[String],
    mut on_opt: impl FnMut(char, String) -> Result<(), String>,
) -> Result<Vec<String>, String> {
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
            let Some(pos) = optstring.find(c).filter(|_| c != ':') else {
                return Err(format!("{prog}: invalid option -- '{c}'"));
            };
            let takes_arg = optstring[pos + c.len_utf8()..].starts_with(':');
            let optarg = if !takes_arg {
                String::new()
            } else if j < chars.len() {
                let v: String = chars[j..].iter().collect();
                j = chars.len();
                v
            } else if i < args.len() {
                i += 1;
                args[i - 1].clone()
            } else {
                return Err(format!("{prog}: option requires an argument -- '{c}'"));
            };
            on_opt(c, optarg)?;
        }
    }
    Ok(operands)
}

/// Our long-option extensions, common to both tools.
#[derive(Debug, Clone)]
pub struct Ext {
    /// `--align`: the device-dax align, or the HugeTLB page size of `-H`.
    pub align: ByteSize,
    /// `--map`: where a device-dax memmap lives.
    pub map: MapMode,
    /// `--profile`, before the `--switch` overrides.
    pub profile: Profile,
    /// `--switch NAME=VALUE`, as given.
    pub switches: Vec<String>,
    /// `--arch`.
    pub arch: Arch,
}

impl Ext {
    /// The profile with the `--switch` overrides applied.
    pub fn profile(&self) -> anyhow::Result<Profile> {
        Ok(self
            .profile
            .with_switches(self.switches.iter().map(String::as_str))?)
    }
}

/// Why the long options stopped the command line.
#[derive(Debug)]
pub enum ExtStop {
    /// `--help`.
    Help,
    /// A long option neither we nor getopt know: getopt's message.
    Unknown(String),
    /// One of our extensions was given a bad or no value: one line naming it.
    Bad(String),
}

/// A long option a tool adds to the common ones: its name and whether it takes a value.
pub type LongOpt = (&'static str, bool);

/// Splits the long options off the command line: ours, the tool's own `extra` ones (returned
/// as name and value, the value empty for a flag), and the rest (the C tool's arguments), in
/// order.
#[allow(clippy::type_complexity)]
pub fn split_ext(
    prog: &str,
    args: &[String],
    extra: &[LongOpt],
) -> Result<(Ext, Vec<(String, String)>, Vec<String>), ExtStop> {
    const COMMON: [&str; 5] = ["align", "map", "profile", "switch", "arch"];
    let mut ext = Ext {
        align: ByteSize::mib(2),
        map: MapMode::Mem,
        profile: Profile::default(),
        switches: Vec::new(),
        arch: Arch::default(),
    };
    let mut extras = Vec::new();
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
            return Err(ExtStop::Help);
        }
        let own = extra.iter().find(|e| e.0 == name);
        if !COMMON.contains(&name) && own.is_none() {
            // getopt (short options only) does not know it either.
            return Err(ExtStop::Unknown(format!(
                "{prog}: unrecognized option '{a}'"
            )));
        }
        if own.is_some_and(|e| !e.1) {
            if inline.is_some() {
                return Err(ExtStop::Bad(format!("--{name} takes no value")));
            }
            extras.push((name.to_string(), String::new()));
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| ExtStop::Bad(format!("--{name} needs a value")))?,
        };
        let bad = |e: String| ExtStop::Bad(format!("--{name} {value}: {e}"));
        match name {
            "align" => ext.align = parse_size(&value).map_err(bad)?,
            "map" => ext.map = value.parse().map_err(|e: String| bad(e))?,
            "profile" => ext.profile = value.parse().map_err(|e: String| bad(e))?,
            "switch" => ext.switches.extend(value.split(',').map(str::to_string)),
            "arch" => ext.arch = value.parse().map_err(|e: String| bad(e))?,
            _ => extras.push((name.to_string(), value)),
        }
    }
    Ok((ext, extras, rest))
}

/// What the C tool's `main` holds after getopt, for the options both tools share.
#[derive(Debug, Clone)]
pub struct RunOpts {
    pub cmd: GupTestCmd,
    /// The ioctl's argument as getopt leaves it (`-F` sets `gup_flags`).
    pub gup: GupTest,
    pub repeats: i32,
    pub size: u64,
    /// Pages per call as the ioctl gets them (a tool resolves "all pages" before running).
    pub nr_pages: i32,
    /// 1 after `-t`, 0 after `-T`, -1 if neither.
    pub thp: i32,
    pub write: bool,
    pub nthreads: i32,
    pub shared: bool,
    pub hugetlb: bool,
    pub file: String,
}

impl Default for RunOpts {
    /// gup_test's defaults, and gup_bench's: GUP_FAST_BENCHMARK, 128 MB, one page per call,
    /// one repeat, one thread, write, private `/dev/zero`, THP untouched.
    fn default() -> RunOpts {
        RunOpts {
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

impl RunOpts {
    /// gup_test's reading of the option letters it shares with gup_bench (`-a -L -u -F -j -m
    /// -r -t -T -w -W -f -S -H`, `atoi` for the numbers); false for any other letter, which
    /// the tool handles itself. (gup_bench checks its numbers: `gup_bench_cmd`'s `option`.)
    pub fn common_opt(&mut self, c: char, optarg: String) -> bool {
        match c {
            'a' => self.cmd = GupTestCmd::PinFastBenchmark,
            'L' => self.cmd = GupTestCmd::PinLongtermBenchmark,
            'u' => self.cmd = GupTestCmd::GupFastBenchmark,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            'F' => self.gup.gup_flags = strtol0(&optarg) as i32 as u32,
            'j' => self.nthreads = atoi(&optarg),
            // int * unsigned long: a negative int wraps, as in C.
            #[allow(clippy::cast_sign_loss)]
            'm' => self.size = (i64::from(atoi(&optarg)) as u64).wrapping_mul(MB),
            'r' => self.repeats = atoi(&optarg),
            't' => self.thp = 1,
            'T' => self.thp = 0,
            'w' => self.write = true,
            'W' => self.write = false,
            'f' => self.file = optarg,
            'S' => self.shared = true,
            'H' => self.hugetlb = true,
            _ => return false,
        }
        true
    }

    /// The pages of the buffer in base pages of `page_size`, as `-n -1` asks for them
    /// (`size / PAGE_SIZE` in an `int`).
    pub fn all_pages(&self, page_size: u64) -> i32 {
        #[allow(clippy::cast_possible_truncation)]
        let whole = (self.size / page_size) as i32;
        whole
    }
}

/// Why `open` or `mmap` did not give a mapping.
#[derive(Debug)]
pub enum Refusal {
    /// A failure, as the C tool reports it (`mmap: Invalid argument`), after an optional note
    /// that the driver or the model prints first.
    Fail { note: Option<String>, msg: String },
    /// Something the model does not map (kselftest's skip).
    Skip(String),
}

/// The failed `mmap` with `errno`.
fn mmap_fail(note: Option<String>, errno: &str) -> Refusal {
    Refusal::Fail {
        note,
        msg: format!("mmap: {errno}"),
    }
}

/// True for a device-dax character device path, `/dev/daxX.Y`.
fn is_devdax_path(f: &str) -> bool {
    f.strip_prefix("/dev/")
        .is_some_and(vmemdiet::probe::is_dax_dev)
}

/// `open(file, O_RDWR | O_CREAT)` then `mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd,
/// 0)`: the memory the flags and the file give, refused as the kernel refuses it.
pub fn mapping(o: &RunOpts, ext: &Ext, profile: Profile) -> Result<MappingSpec, Refusal> {
    let devdax = open(o)?;
    if o.size == 0 {
        return Err(mmap_fail(None, "Invalid argument"));
    }
    let (kind, size) = mmap_kind(o, ext, devdax)?;
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
            return Err(mmap_fail(
                Some(format!("{}: {e}", o.file)),
                "Invalid argument",
            ));
        }
    }
    Ok(spec)
}

/// `open(file, O_RDWR | O_CREAT)`, then what `mmap` makes of the file: the simulated
/// /dev/zero and device-dax devices map; any other file must open read-write as the C tool
/// opens it (a directory fails with EISDIR, as there), a memory character device without an
/// `mmap` method (/dev/null, /dev/full, /dev/urandom) fails `mmap` with ENODEV, and only `-H`
/// (which maps anonymous huge pages whatever the file) maps anything else: page-cache
/// mappings are not modelled. True for a device-dax device.
fn open(o: &RunOpts) -> Result<bool, Refusal> {
    let devdax = is_devdax_path(&o.file);
    if o.file == "/dev/zero" || devdax {
        return Ok(devdax);
    }
    let fail = |msg: String| Refusal::Fail { note: None, msg };
    // Read-write without O_CREAT: a path that does not exist is refused rather than created
    // (the real tool would create it, then die of SIGBUS touching the empty file).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&o.file)
        .map_err(|e| fail(format!("Unable to open {}: {}", o.file, strerror(&e))))?;
    if o.hugetlb {
        return Ok(false);
    }
    if has_no_mmap(&file) {
        return Err(mmap_fail(None, "No such device"));
    }
    Err(Refusal::Skip(format!(
        "{}: file-backed page-cache mappings are not modelled; use /dev/zero, /dev/daxX.Y or -H",
        o.file
    )))
}

/// What C's `strerror` says of `e`: its message without Rust's " (os error N)".
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Whether `file` is one of the memory character devices (major 1, drivers/char/mem.c) whose
/// file operations have no `mmap`, so `mmap` fails with ENODEV: null (1:3), port (1:4), full
/// (1:7), random (1:8), urandom (1:9), kmsg (1:11). mem (1:1) and zero (1:5) map.
fn has_no_mmap(file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        file.metadata().is_ok_and(|m| {
            let rdev = m.rdev();
            m.file_type().is_char_device()
                && libc::major(rdev) == 1
                && [3, 4, 7, 8, 9, 11].contains(&libc::minor(rdev))
        })
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

/// The kind of memory and the mapping's length: `-H` HugeTLB (MAP_HUGETLB | MAP_ANONYMOUS
/// ignores the file, the length rounds up to the huge page), device-dax, `-S` shmem, `-t`
/// THP, else anonymous base pages.
fn mmap_kind(o: &RunOpts, ext: &Ext, devdax: bool) -> Result<(Kind, ByteSize), Refusal> {
    if o.hugetlb {
        if vmemdiet::mm::hugetlb::HugeSize::from_align(ext.arch.geometry(), ext.align).is_none() {
            return Err(Refusal::Skip(format!(
                "MAP_HUGETLB needs a huge page size: --align 2M or 1G, not {}",
                ext.align.short()
            )));
        }
        return match ByteSize::new(o.size).checked_align_up(ext.align) {
            Some(s) => Ok((Kind::Hugetlb, s)),
            None => Err(mmap_fail(None, "Cannot allocate memory")),
        };
    }
    let kind = if devdax {
        // dax_mmap -> check_vma: device-dax refuses private mappings and unaligned lengths.
        if !o.shared {
            let note = format!("{}: fail, attempted private mapping", o.file);
            return Err(mmap_fail(Some(note), "Invalid argument"));
        }
        if !o.size.is_multiple_of(ext.align.bytes()) {
            return Err(mmap_fail(None, "Invalid argument"));
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

/// Runs `thread` on `o.nthreads` threads over a prefaulted mapping of `spec`, each given the
/// ioctl's argument for the buffer (its address, size, pages per call and flags) and a kernel
/// log to append to; the log lines are printed on stderr afterwards as `prog (kernel log): …`.
pub fn run_threads(
    prog: &str,
    spec: &MappingSpec,
    o: &RunOpts,
    thread: impl Fn(&Kernel, &Mm<'_>, GupTest, &mut Vec<String>) + Sync,
) -> Result<(), MappingError> {
    let mut gup = o.gup;
    gup.size = o.size;
    #[allow(clippy::cast_sign_loss)]
    let nr_per_call = o.nr_pages as u32;
    gup.nr_pages_per_call = nr_per_call;
    if o.write {
        gup.gup_flags |= FOLL_WRITE;
    }
    let log = Mutex::new(Vec::<String>::new());
    let result = with_mapping(spec, true, |k, mm, va, _len| -> Result<(), MappingError> {
        gup.addr = va.as_u64();
        std::thread::scope(|s| {
            for _ in 0..o.nthreads {
                let (log, thread) = (&log, &thread);
                s.spawn(move || {
                    let mut kernel_log = Vec::new();
                    thread(k, mm, gup, &mut kernel_log);
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(kernel_log);
                });
            }
        });
        Ok(())
    });
    for l in log
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        eprintln!("{prog} (kernel log): {l}");
    }
    result
}

/// A thread's loop: the ioctl `iterations` times on `gup` (its size reset to `size` each
/// time), `each` after every one that succeeds; the first error ends the loop.
#[allow(clippy::too_many_arguments)]
pub fn repeat_ioctl(
    k: &Kernel,
    mm: &Mm<'_>,
    cmd: GupTestCmd,
    gup: &mut GupTest,
    size: u64,
    iterations: i32,
    log: &mut Vec<String>,
    mut each: impl FnMut(&GupTest),
) -> Result<(), Errno> {
    for _ in 0..iterations.max(0) {
        gup.size = size;
        gup_test_ioctl(k, mm, cmd, gup, log)?;
        each(gup);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_base_0_reads_hex_octal_and_decimal() {
        assert_eq!(strtol0("0x10"), 16);
        assert_eq!(strtol0("010"), 8);
        assert_eq!(strtol0("16"), 16);
        assert_eq!(strtol0("  -0X1f"), -31);
        assert_eq!(strtol0("09"), 0);
        assert_eq!(strtol0("0x"), 0);
        assert_eq!(strtol0("junk"), 0);
        assert_eq!(strtol0("99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn atoi_is_decimal_and_truncates_to_int() {
        assert_eq!(atoi("010"), 10);
        assert_eq!(atoi("-1"), -1);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("4294967297"), 1);
    }

    #[test]
    fn getopt_mixes_clusters_arguments_and_operands() {
        let args: Vec<String> = ["-tm4", "x", "-n", "-1", "--", "-u"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut seen = Vec::new();
        let ops = getopt("t", "m:n:tu", &args, |c, a| {
            seen.push((c, a));
            Ok(())
        })
        .unwrap_or_default();
        assert_eq!(
            seen,
            [
                ('t', String::new()),
                ('m', "4".to_string()),
                ('n', "-1".to_string())
            ]
        );
        assert_eq!(ops, ["x", "-u"]);
        let err = getopt("t", "m:", &["-q".to_string()], |_, _| Ok(()));
        assert_eq!(err, Err("t: invalid option -- 'q'".to_string()));
        let err = getopt("t", "m:", &["-m".to_string()], |_, _| Ok(()));
        assert_eq!(
            err,
            Err("t: option requires an argument -- 'm'".to_string())
        );
    }
}
