//! `vmemdiet report`: every measurement of the seeds, reproduced side by side on this machine,
//! with the seeds' published figures beside ours (kernel brief §8). Collection only; the CLI
//! renders it.

use serde::Serialize;

use crate::addr::ByteSize;
use crate::drivers::dax::MapMode;
use crate::mm::profile::Profile;
use crate::plan::{plan, Kind, PlanConfig, PlanRow};
use crate::simulate::SimError;
use crate::workload::bootstrap::{self, BootstrapConfig, BootstrapResult};
use crate::workload::gup::{self, GupBenchError, GupConfig, GupOp, GupResult};
use crate::workload::hugetlb_pool::{self, PoolConfig, PoolResult};
use crate::workload::mr::{self, MrConfig, MrResult};

/// How much to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Seconds: small sizes, for tests and CI.
    Quick,
    /// About two minutes on 2 cores.
    Default,
    /// The seeds' sizes: 16 GiB GUP, 5 s MR loops, 1 TiB planner simulation.
    Full,
}

/// The sizes and durations of a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sizes {
    pub bootstrap: ByteSize,
    pub gup: ByteSize,
    pub mr: ByteSize,
    pub mr_seconds: f64,
    pub pool: ByteSize,
    pub runs: u32,
    /// Size of the planner configurations also built on the simulated machine.
    pub simulate: Option<ByteSize>,
}

impl Mode {
    /// The sizes this mode uses.
    #[must_use]
    pub fn sizes(self) -> Sizes {
        match self {
            Mode::Quick => Sizes {
                bootstrap: ByteSize::gib(1),
                gup: ByteSize::gib(1),
                mr: ByteSize::mib(64),
                mr_seconds: 0.05,
                pool: ByteSize::gib(1),
                runs: 1,
                simulate: None,
            },
            Mode::Default => Sizes {
                bootstrap: ByteSize::gib(64),
                gup: ByteSize::gib(16),
                mr: ByteSize::gib(1),
                mr_seconds: 2.0,
                pool: ByteSize::gib(8),
                runs: 3,
                simulate: Some(ByteSize::gib(64)),
            },
            Mode::Full => Sizes {
                bootstrap: ByteSize::gib(128),
                gup: ByteSize::gib(16),
                mr: ByteSize::gib(1),
                mr_seconds: 5.0,
                pool: ByteSize::gib(20),
                runs: 5,
                simulate: Some(ByteSize::tib(1)),
            },
        }
    }
}

/// The profiles every section compares: before, the RFC, the current kernel, ours.
pub const PROFILES: [Profile; 4] = [Profile::V5_10, Profile::Rfc, Profile::V6_15, Profile::Next];

/// A planner row with its kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanEntry {
    pub kind: Kind,
    #[serde(flatten)]
    pub row: PlanRow,
}

/// One before/after comparison with the seeds' figure beside ours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub section: &'static str,
    pub what: String,
    pub unit: &'static str,
    pub before: Profile,
    pub after: Profile,
    pub ours_before: f64,
    pub ours_after: f64,
    /// `ours_before / ours_after`: above 1 means after is cheaper.
    pub ours_ratio: f64,
    pub seeds_before: Option<f64>,
    pub seeds_after: Option<f64>,
    pub seeds_ratio: Option<f64>,
    /// Where the seeds' figure comes from.
    pub seeds_source: &'static str,
    /// Time of the `after` measurement over its limit measured in the same run, if any.
    pub after_over_limit: Option<f64>,
}

/// Everything a report holds.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub sizes: Sizes,
    pub planner: Vec<PlanEntry>,
    pub bootstrap: Vec<BootstrapResult>,
    pub gup: Vec<GupResult>,
    pub mr: Vec<MrResult>,
    pub hugetlb_pool: Vec<PoolResult>,
    pub comparisons: Vec<Comparison>,
}

/// Errors of a report run.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Bench(#[from] GupBenchError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
}

/// Steps a report of `mode` runs (for a progress bar).
#[must_use]
pub fn steps() -> u64 {
    let p = PROFILES.len() as u64;
    // planner + bootstrap (3 aligns) + GUP (2 aligns x 3 ops) + MR (2 kinds x 2 aligns) + pools
    1 + 3 * p + 6 * p + 4 * p + 3
}

const ALIGNS: [ByteSize; 3] = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];

/// Runs the report; `tick` after each step.
pub fn collect(mode: Mode, tick: &mut dyn FnMut(&str)) -> Result<Report, ReportError> {
    let s = mode.sizes();
    // The planner table per TiB: devdax at 4K/2M/1G, HugeTLB at 2M/1G, every profile.
    let mut planner = Vec::new();
    for kind in [Kind::Devdax, Kind::Hugetlb] {
        for profile in crate::mm::profile::ALL_PROFILES {
            for align in ALIGNS {
                if kind == Kind::Hugetlb && align == ByteSize::kib(4) {
                    continue;
                }
                let mut cfg = PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile);
                cfg.kind = kind;
                planner.push(PlanEntry {
                    kind,
                    row: PlanRow::new(&cfg, plan(&cfg)?, false),
                });
            }
        }
    }
    if let Some(size) = s.simulate {
        // Check the planner against the machine on the mode's size (devdax 2M/1G, v6.15).
        for align in [ByteSize::mib(2), ByteSize::gib(1)] {
            let cfg = PlanConfig::new(size, align, MapMode::Mem, Profile::V6_15);
            let measured = crate::simulate::simulate(&cfg)?;
            planner.push(PlanEntry {
                kind: Kind::Devdax,
                row: PlanRow::new(&cfg, measured, true),
            });
        }
    }
    tick("planner");
    let mut boot = Vec::new();
    for profile in PROFILES {
        for align in ALIGNS {
            let cfg = BootstrapConfig {
                size: s.bootstrap,
                align,
                map: MapMode::Mem,
                profile,
                runs: s.runs,
            };
            boot.push(bootstrap::run(&cfg, &mut || {})?);
            tick("bootstrap");
        }
    }
    let mut gups = Vec::new();
    for profile in PROFILES {
        for align in [ByteSize::mib(2), ByteSize::gib(1)] {
            for op in [GupOp::GupFast, GupOp::PinFast, GupOp::PinLongterm] {
                let cfg = GupConfig {
                    op,
                    kind: Kind::Devdax,
                    size: s.gup,
                    align,
                    map: MapMode::Mem,
                    profile,
                    threads: 1,
                    runs: s.runs,
                    nr_per_call: Some(512),
                    write: true,
                };
                gups.push(gup::bench(&cfg, &mut || {})?);
                tick("gup");
            }
        }
    }
    let mut mrs = Vec::new();
    for kind in [Kind::Devdax, Kind::Hugetlb] {
        for profile in PROFILES {
            for align in [ByteSize::mib(2), ByteSize::gib(1)] {
                let size = if align > s.mr { align } else { s.mr };
                let cfg = MrConfig {
                    kind,
                    size,
                    align,
                    map: MapMode::Mem,
                    profile,
                    threads: 1,
                    seconds: s.mr_seconds,
                };
                mrs.push(mr::run(&cfg)?);
                tick("mr");
            }
        }
    }
    let mut pools = Vec::new();
    for profile in [Profile::V5_10, Profile::V6_15, Profile::Next] {
        let cfg = PoolConfig {
            size: s.pool,
            align: ByteSize::mib(2),
            profile,
            runs: s.runs,
        };
        pools.push(hugetlb_pool::run(&cfg, &mut || {})?);
        tick("hugetlb pool");
    }
    let comparisons = compare(&planner, &boot, &gups, &mrs, &pools);
    Ok(Report {
        mode,
        sizes: s,
        planner,
        bootstrap: boot,
        gup: gups,
        mr: mrs,
        hugetlb_pool: pools,
        comparisons,
    })
}

#[allow(clippy::too_many_arguments)]
fn cmp(
    section: &'static str,
    what: String,
    unit: &'static str,
    (before, ours_before): (Profile, f64),
    (after, ours_after): (Profile, f64),
    seeds: Option<(f64, f64)>,
    seeds_source: &'static str,
    after_over_limit: Option<f64>,
) -> Comparison {
    Comparison {
        section,
        what,
        unit,
        before,
        after,
        ours_before,
        ours_after,
        ours_ratio: if ours_after > 0.0 {
            ours_before / ours_after
        } else {
            f64::INFINITY
        },
        seeds_before: seeds.map(|s| s.0),
        seeds_after: seeds.map(|s| s.1),
        seeds_ratio: seeds.map(|s| s.0 / s.1),
        seeds_source,
        after_over_limit,
    }
}

/// The seeds' headline comparisons, ours beside theirs.
#[allow(clippy::cast_precision_loss)]
fn compare(
    planner: &[PlanEntry],
    boot: &[BootstrapResult],
    gups: &[GupResult],
    mrs: &[MrResult],
    pools: &[PoolResult],
) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let plan_of = |kind: Kind, p: Profile, a: ByteSize| {
        planner
            .iter()
            .find(|e| {
                e.kind == kind && e.row.profile == p && e.row.align == a.bytes() && !e.row.simulated
            })
            .map(|e| e.row)
    };
    for (align, seeds, src) in [
        (
            ByteSize::mib(2),
            Some((16384.0, 4096.0)),
            "RFC cover letter: 16G -> 4G per TiB",
        ),
        (
            ByteSize::gib(1),
            Some((16384.0, 40.0)),
            "merged cover letter v5-v9: 16G -> 40MB per TiB",
        ),
    ] {
        if let (Some(b), Some(a)) = (
            plan_of(Kind::Devdax, Profile::V5_10, align),
            plan_of(Kind::Devdax, Profile::V6_15, align),
        ) {
            out.push(cmp(
                "memmap",
                format!("devdax memmap + page tables per TiB, {}", align.short()),
                "MiB",
                (Profile::V5_10, mib(b.memmap_bytes + b.pagetable_bytes)),
                (Profile::V6_15, mib(a.memmap_bytes + a.pagetable_bytes)),
                seeds,
                src,
                None,
            ));
        }
        if let (Some(b), Some(a)) = (
            plan_of(Kind::Hugetlb, Profile::V5_10, align),
            plan_of(Kind::Hugetlb, Profile::V6_15, align),
        ) {
            out.push(cmp(
                "memmap",
                format!("HugeTLB memmap per TiB, {} (HVO)", align.short()),
                "MiB",
                (Profile::V5_10, mib(b.memmap_bytes)),
                (Profile::V6_15, mib(a.memmap_bytes)),
                None,
                "",
                None,
            ));
        }
    }
    let boot_of =
        |p: Profile, a: ByteSize| boot.iter().find(|r| r.profile == p && r.align == a.bytes());
    for (align, seeds) in [
        (ByteSize::mib(2), (750.0, 190.0)),
        (ByteSize::gib(1), (750.0, 1.0)),
    ] {
        for after in [Profile::Rfc, Profile::V6_15] {
            if let (Some(b), Some(a)) = (boot_of(Profile::V5_10, align), boot_of(after, align)) {
                out.push(cmp(
                    "bootstrap",
                    format!(
                        "namespace create, {} {}",
                        ByteSize::new(a.size),
                        align.short()
                    ),
                    "ms",
                    (Profile::V5_10, b.create_us / 1000.0),
                    (after, a.create_us / 1000.0),
                    Some(seeds),
                    "RFC: ~750 ms -> ~190 ms (2M) / <=1 ms (1G), emulated NVDIMMs",
                    Some(a.create_over_limit),
                ));
            }
        }
    }
    let gup_of = |p: Profile, a: ByteSize, op: GupOp| {
        gups.iter()
            .find(|r| r.profile == p && r.align == a.bytes() && r.op == op)
    };
    for (op, align, seeds) in [
        (GupOp::GupFast, ByteSize::mib(2), (75.0, 5.2)),
        (GupOp::GupFast, ByteSize::gib(1), (75.0, 3.2)),
        (GupOp::PinFast, ByteSize::mib(2), (125.0, 5.5)),
        (GupOp::PinFast, ByteSize::gib(1), (125.0, 3.4)),
    ] {
        if let (Some(b), Some(a)) = (
            gup_of(Profile::V5_10, align, op),
            gup_of(Profile::Rfc, align, op),
        ) {
            out.push(cmp(
                "gup",
                format!(
                    "{} get, {} {}",
                    op.test_name(),
                    ByteSize::new(a.size),
                    align.short()
                ),
                "ms",
                (Profile::V5_10, b.get_us / 1000.0),
                (Profile::Rfc, a.get_us / 1000.0),
                Some(seeds),
                "RFC cover letter (16 GiB assumed)",
                Some(a.get_us / a.limit_get_us.max(1e-3)),
            ));
        }
    }
    if let (Some(b), Some(a)) = (
        gup_of(Profile::V5_10, ByteSize::mib(2), GupOp::PinFast),
        gup_of(Profile::V6_15, ByteSize::mib(2), GupOp::PinFast),
    ) {
        out.push(cmp(
            "gup",
            format!("unpin_user_pages, {} 2M", ByteSize::new(a.size)),
            "ms",
            (Profile::V5_10, b.put_us / 1000.0),
            (Profile::V6_15, a.put_us / 1000.0),
            Some((87.6, 27.5)),
            "5.12 unpin series: ~3x",
            Some(a.put_us / a.limit_put_us.max(1e-3)),
        ));
    }
    if let (Some(b), Some(a)) = (
        gup_of(Profile::V5_10, ByteSize::mib(2), GupOp::PinLongterm),
        gup_of(Profile::V6_15, ByteSize::mib(2), GupOp::PinLongterm),
    ) {
        out.push(cmp(
            "gup",
            format!("PIN_LONGTERM get (slow path), {} 2M", ByteSize::new(a.size)),
            "ms",
            (Profile::V5_10, b.get_us / 1000.0),
            (Profile::V6_15, a.get_us / 1000.0),
            None,
            "",
            Some(a.get_us / a.limit_get_us.max(1e-3)),
        ));
    }
    let mr_of = |k: Kind, p: Profile, a: ByteSize| {
        mrs.iter()
            .find(|r| r.kind == k && r.profile == p && r.align == a.bytes())
    };
    for (kind, seeds) in [
        (Kind::Devdax, (31.617_923, 16.426_047)),
        (Kind::Hugetlb, (10.748_456, 4.663_622)),
    ] {
        if let (Some(b), Some(a)) = (
            mr_of(kind, Profile::V5_10, ByteSize::mib(2)),
            mr_of(kind, Profile::Rfc, ByteSize::mib(2)),
        ) {
            out.push(cmp(
                "mr",
                format!(
                    "MR reg+dereg per round, {kind} {} 2M",
                    ByteSize::new(a.size)
                ),
                "ms",
                (Profile::V5_10, b.us_per_round / 1000.0),
                (Profile::Rfc, a.us_per_round / 1000.0),
                Some(seeds),
                "RFC cover letter, 5 s loop",
                None,
            ));
        }
    }
    let pool_of = |p: Profile| pools.iter().find(|r| r.profile == p);
    if let (Some(b), Some(a)) = (pool_of(Profile::V5_10), pool_of(Profile::V6_15)) {
        out.push(cmp(
            "hugetlb",
            format!("HVO memmap of a {} pool of 2M pages", ByteSize::new(a.size)),
            "MiB",
            (Profile::V5_10, mib(b.memmap_bytes)),
            (Profile::V6_15, mib(a.memmap_bytes)),
            // HVO keeps 1 of the 8 vmemmap pages of a 2 MiB page: size/64 before, size/512 after.
            Some((mib(a.size / 64), mib(a.size / 512))),
            "HVO (5.18+): keep 1 of 8 vmemmap pages per 2 MiB page",
            None,
        ));
    }
    out
}
