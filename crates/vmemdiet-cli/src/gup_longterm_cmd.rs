//! `vmemdiet gup-longterm`: gup_longterm-style checks (`tools/testing/selftests/mm/
//! gup_longterm.c`) of which memory kinds the model can pin with FOLL_LONGTERM, read-only and
//! read/write, fast and slow, per profile, in kselftest TAP.

use std::process::ExitCode;

use clap::Args;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::Arch;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::Kind;
use vmemdiet::workload::gup_longterm::{check, should_work, LongtermCase};

use crate::output::{arch_profiles, parse_size, SwitchArgs};

/// The default profiles (before [`arch_profiles`] adapts them to the arch).
const PROFILES: [Profile; 4] = [
    Profile::V5_10,
    Profile::V6_12,
    Profile::V6_15,
    Profile::V6_18,
];

/// Arguments of `vmemdiet gup-longterm`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each check maps --size of the kind, pins all of it with FOLL_LONGTERM (R/O, then R/W) through pin_user_pages_fast and pin_user_pages, checks every folio reads pinned and long-term pinnable, unpins and checks the counts are back. \"ok\" when the outcome is the kernel's (all these kinds are long-term pinnable); the line says which path took the pins.\nExit codes as kselftest's ksft_finished: 0 when every check passed, 1 otherwise."
)]
pub struct GupLongtermArgs {
    /// Kernel profile(s) [default: v5.10, v6.12 and the 6.15/6.17 boundary].
    #[arg(long, value_delimiter = ',', value_parser = crate::output::parse_profile, long_help = crate::output::profiles_help_for(&PROFILES, true))]
    profile: Vec<Profile>,
    #[command(flatten)]
    switches: SwitchArgs,
    /// Memory kind(s): anon, thp, shmem, hugetlb (2 MiB pages), devdax (2 MiB align).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "anon,thp,shmem,hugetlb,devdax"
    )]
    kind: Vec<Kind>,
    /// Size of each mapping [default: 8M, or the arch's PMD size where that is larger].
    #[arg(long, value_parser = parse_size)]
    size: Option<ByteSize>,
    /// Architecture of the simulated machine.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
}

pub fn run(a: &GupLongtermArgs) -> anyhow::Result<ExitCode> {
    let devdax = a.kind.contains(&Kind::Devdax);
    let profiles = a
        .switches
        .apply_all(&arch_profiles(&a.profile, &PROFILES, a.arch, devdax))?;
    for &kind in &a.kind {
        if !matches!(
            kind,
            Kind::Anon | Kind::Thp | Kind::Shmem | Kind::Hugetlb | Kind::Devdax
        ) {
            anyhow::bail!("--kind {kind}: GUP over it is not modelled; valid: anon, thp, shmem, hugetlb, devdax");
        }
    }
    let pmd = a.arch.geometry().pmd_size();
    let size = a.size.unwrap_or(pmd.max(ByteSize::mib(8)));
    if size.bytes() == 0 || !size.is_multiple_of(pmd) {
        anyhow::bail!(
            "--size {}: give a non-zero multiple of the {} PMD size (devdax, hugetlb and thp map whole PMDs)",
            size.short(),
            pmd.short()
        );
    }
    let plan = profiles.len() * a.kind.len() * 4;
    println!("TAP version 13");
    println!("1..{plan}");
    let (mut pass, mut fail, mut n) = (0u32, 0u32, 0u32);
    for &profile in &profiles {
        for &kind in &a.kind {
            for write in [false, true] {
                for fast in [true, false] {
                    n += 1;
                    let rw = if write { "R/W" } else { "R/O" };
                    let call = if fast {
                        "pin_user_pages_fast"
                    } else {
                        "pin_user_pages"
                    };
                    println!("# [RUN] {rw} longterm GUP pin ({call}) ... with {kind} ({profile})");
                    let want = should_work(kind, write);
                    let case = LongtermCase { kind, write, fast };
                    let line = match check(case, profile, a.arch, size) {
                        Err(e) => Err(format!("setting up {kind}: {e}")),
                        Ok(o) => {
                            let worked = o.pinned && o.verified && o.restored;
                            let path = format!(
                                "fast path {} pages, slow path {}",
                                o.fast_pages, o.slow_pages
                            );
                            if worked == want {
                                Ok(if worked {
                                    format!("Pinned: {path}")
                                } else {
                                    format!("Refused as expected: {}", o.error.unwrap_or_default())
                                })
                            } else if want {
                                Err(format!(
                                    "Should have worked: {}",
                                    o.error.unwrap_or_else(
                                        || "pins not verified or not restored".into()
                                    )
                                ))
                            } else {
                                Err(format!("Should have failed: {path}"))
                            }
                        }
                    };
                    match line {
                        Ok(l) => {
                            pass += 1;
                            println!("ok {n} {l}");
                        }
                        Err(l) => {
                            fail += 1;
                            println!("not ok {n} {l}");
                        }
                    }
                }
            }
        }
    }
    println!("# Totals: pass:{pass} fail:{fail} xfail:0 xpass:0 skip:0 error:0");
    Ok(ExitCode::from(u8::from(fail > 0)))
}
