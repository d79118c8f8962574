//! `vmemdiet gup-test`: gup_test's command line (`tools/testing/selftests/mm/gup_test.c`) over a
//! simulated device-dax device, printing its `Time: get:N put:N us` lines and exiting with
//! kselftest codes (0 pass, 1 fail, 4 skip).

use std::process::ExitCode;

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::gup::{self, GupConfig, GupOp};

use crate::output::{parse_size, SwitchArgs};

/// Exit code of a kselftest that was skipped.
const KSFT_SKIP: u8 = 4;

/// Arguments of `vmemdiet gup-test` (gup_test's flags, plus our device options).
#[derive(Debug, Args)]
#[command(
    disable_help_flag = false,
    after_help = "The file is a simulated devdax device: choose it with --align/--map/--profile.\nExample (the seeds' command): vmemdiet gup-test -m 16384 -r 10 -S -a -n 512 -w --align 2M --profile v5.10"
)]
pub struct GupTestArgs {
    /// Size of the buffer in MiB.
    #[arg(short = 'm', default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    mib: u64,
    /// Repeats.
    #[arg(short = 'r', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    repeats: u32,
    /// Pages per call; -1 for all pages in one call.
    #[arg(short = 'n', default_value_t = 1, allow_negative_numbers = true)]
    nr: i64,
    /// Threads, each running the whole test.
    #[arg(short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// PIN_FAST_BENCHMARK: pin_user_pages_fast.
    #[arg(short = 'a')]
    pin_fast: bool,
    /// GUP_FAST_BENCHMARK: get_user_pages_fast (the default).
    #[arg(short = 'u')]
    gup_fast: bool,
    /// PIN_LONGTERM_BENCHMARK: pin_user_pages with FOLL_LONGTERM (slow path).
    #[arg(short = 'L')]
    pin_longterm: bool,
    /// GUP_BASIC_TEST: get every page, check, release, check.
    #[arg(short = 'U')]
    gup_basic: bool,
    /// PIN_BASIC_TEST: pin every page, check, release, check.
    #[arg(short = 'b')]
    pin_basic: bool,
    /// FOLL_WRITE.
    #[arg(short = 'w')]
    write: bool,
    /// No FOLL_WRITE (the default).
    #[arg(short = 'W')]
    no_write: bool,
    /// MAP_SHARED (device-dax requires it).
    #[arg(short = 'S')]
    shared: bool,
    /// MAP_HUGETLB: map a HugeTLB pool of --align pages (2M or 1G) instead of a devdax device.
    #[arg(short = 'H')]
    hugetlb: bool,
    /// The file to map (accepted for compatibility; the device is simulated).
    #[arg(short = 'f')]
    file: Option<String>,
    /// Device-dax align of the simulated device: 4K, 2M, 1G.
    #[arg(long, value_parser = parse_size, default_value = "2M")]
    align: ByteSize,
    /// Architecture of the simulated machine (our extension, like --align and --profile).
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// Kernel profile.
    #[arg(long, default_value = "v6.15")]
    profile: Profile,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Memmap location: mem or dev.
    #[arg(long, default_value = "mem")]
    map: MapMode,
}

pub fn run(a: &GupTestArgs) -> anyhow::Result<ExitCode> {
    if a.hugetlb && a.align == ByteSize::kib(4) {
        println!("# SKIP MAP_HUGETLB needs --align 2M or 1G");
        return Ok(ExitCode::from(KSFT_SKIP));
    }
    if !a.shared && !a.hugetlb {
        anyhow::bail!("mmap: device-dax mappings must be MAP_SHARED; add -S");
    }
    let chosen = [
        a.pin_fast,
        a.gup_fast,
        a.pin_longterm,
        a.gup_basic,
        a.pin_basic,
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if chosen > 1 {
        anyhow::bail!("choose one test: -u, -a, -L, -U or -b");
    }
    let op = if a.pin_fast || a.pin_basic {
        GupOp::PinFast
    } else if a.pin_longterm {
        GupOp::PinLongterm
    } else {
        GupOp::GupFast
    };
    let nr_per_call = match a.nr {
        -1 => None,
        n if n >= 1 => Some(u64::try_from(n).unwrap_or(1)),
        n => anyhow::bail!("-n {n}: give a positive number of pages per call, or -1 for all"),
    };
    let size = ByteSize::new(
        a.mib
            .checked_mul(ByteSize::MIB)
            .ok_or_else(|| anyhow::anyhow!("-m {} is too large", a.mib))?,
    );
    let kind = if a.hugetlb {
        Kind::Hugetlb
    } else {
        Kind::Devdax
    };
    let cfg = GupConfig {
        op,
        kind,
        size,
        align: a.align,
        map: a.map,
        profile: a.switches.apply(a.profile)?,
        arch: a.arch,
        threads: a.threads,
        runs: a.repeats,
        nr_per_call,
        write: a.write && !a.no_write,
    };
    vmemdiet::plan::plan(&vmemdiet::plan::PlanConfig::new(
        cfg.size,
        cfg.align,
        cfg.map,
        cfg.profile,
    ))?;
    if a.gup_basic || a.pin_basic {
        let name = if a.pin_basic {
            "PIN_BASIC_TEST"
        } else {
            "GUP_BASIC_TEST"
        };
        let failures = gup::basic_test(&cfg)?;
        for f in &failures {
            println!("# {f}");
        }
        return Ok(if failures.is_empty() {
            println!("ok 1 {name}");
            ExitCode::SUCCESS
        } else {
            println!("not ok 1 {name}");
            ExitCode::from(1)
        });
    }
    println!(
        "# {} on {} of {} ({} align {}, map={})",
        op.test_name(),
        ByteSize::new(size.bytes()),
        kind,
        cfg.profile,
        a.align.short(),
        a.map
    );
    gup::run(&cfg, &mut |_r, _t, s| {
        println!(
            "Time: get:{} put:{} us",
            s.get.as_micros(),
            s.put.as_micros()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
