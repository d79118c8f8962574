//! `vmemdiet report`: every measurement of the seeds, reproduced side by side on this machine,
//! with the seeds' published figures beside ours (kernel brief §8). Collection only; the CLI
//! renders it.

use serde::Serialize;

use crate::addr::ByteSize;
use crate::drivers::dax::MapMode;
use crate::mm::memory_hotplug::MemmapOnMemory;
use crate::mm::profile::Profile;
use crate::ndctl;
use crate::plan::zone_device::LARGE_PRIVATE_FOLIOS_SINCE;
use crate::plan::{Kind, PlanConfig, PlanRow};
use crate::planner::machine::{answer_machine, DeviceKind, DeviceSpec, MachineRequest};
use crate::planner::{self, PlannerError, Request};
use crate::simulate::SimError;
use crate::workload::bootstrap::{self, BootstrapConfig, BootstrapResult};
use crate::workload::configs::{expand, ConfigError, Options};
use crate::workload::gup::{self, GupBenchError, GupConfig, GupOp, GupResult};
use crate::workload::hugetlb_pool::{self, PoolConfig, PoolResult};
use crate::workload::mr::{self, MrConfig, MrResult};
use crate::workload::seeds::{seed, SeedKey, Unit};

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

/// The profiles every section compares: before, the RFC, the newest stable release, ours.
pub const PROFILES: [Profile; 4] = [Profile::V5_10, Profile::RFC, Profile::V7_3, Profile::NEXT];

/// The kernels people run that [`PROFILES`] lacks: the two LTS kernels (6.12, 6.18) and 7.4.
/// "Kernels people run" shows them beside v7.3 at 2M devdax.
pub const SINCE: [Profile; 3] = [Profile::V6_12, Profile::V6_18, Profile::V7_4];

/// The columns of the planner tables: before, the RFC, the LTS kernels, the newest stable
/// release, 7.4 and ours.
pub const TABLE: [Profile; 7] = [
    Profile::V5_10,
    Profile::RFC,
    Profile::V6_12,
    Profile::V6_18,
    Profile::V7_3,
    Profile::V7_4,
    Profile::NEXT,
];

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
    /// Where the seeds' figures come from (see [`crate::workload::seeds`]).
    pub seeds_source: String,
    /// Time of the `after` measurement over its limit measured in the same run, if any.
    pub after_over_limit: Option<f64>,
}

/// Everything a report holds.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub sizes: Sizes,
    pub planner: Vec<PlanEntry>,
    /// The memdesc end state: devdax per TiB with an 8-byte struct page (brief §9.9), beside
    /// the 64-byte rows of `planner`.
    pub memdesc: Vec<PlanEntry>,
    /// Devdax memmap per TiB on every architecture that can hold it, at each of its aligns
    /// (planner, the default profile): the fleet-sizing question.
    pub arches: Vec<PlanEntry>,
    pub bootstrap: Vec<BootstrapResult>,
    pub gup: Vec<GupResult>,
    pub mr: Vec<MrResult>,
    pub hugetlb_pool: Vec<PoolResult>,
    /// Device memory per TiB beyond device-dax (kmem with and without memmap_on_memory, GPU
    /// memory under HMM), every profile of [`TABLE`], closed form.
    pub device: Vec<DeviceEntry>,
    pub comparisons: Vec<Comparison>,
}

/// One device-memory configuration per TiB at one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceEntry {
    /// `kmem mom=n`, `device-private 2M folio`, ...
    pub label: &'static str,
    pub profile: Profile,
    /// Struct pages in DRAM.
    pub memmap_bytes: u64,
    pub pagetable_bytes: u64,
    /// Device capacity lost (memmap hosted on the device).
    pub device_bytes: u64,
    pub usable_bytes: u64,
}

/// The device-memory configurations of the report: (label, `--device` text, boot parameter).
pub const DEVICE_CONFIGS: [(&str, &str, MemmapOnMemory); 4] = [
    ("kmem mom=n", "kmem:1T:cxl", MemmapOnMemory::N),
    ("kmem mom=y", "kmem:1T:cxl", MemmapOnMemory::Y),
    ("device-private", "device-private:1T", MemmapOnMemory::N),
    (
        "dev-private 2M folio",
        "device-private:1T:folio=2M",
        MemmapOnMemory::N,
    ),
];

/// [`DEVICE_CONFIGS`] per TiB at every profile of [`TABLE`] that has them (large device-private
/// folios from 6.19), closed form, on the default machine.
fn device_rows() -> Result<Vec<DeviceEntry>, ReportError> {
    let mut rows = Vec::new();
    for (label, text, param) in DEVICE_CONFIGS {
        let spec: DeviceSpec = text.parse().map_err(ReportError::Device)?;
        for profile in TABLE {
            let folio = matches!(spec.kind, DeviceKind::ZoneDevice { folio: Some(_), .. });
            if folio && !LARGE_PRIVATE_FOLIOS_SINCE.at_or_before(profile.kernel()) {
                continue;
            }
            let req = MachineRequest {
                devices: vec![spec.clone()],
                arch: crate::arch::Arch::X86_64,
                profile,
                ram: crate::plan::DEFAULT_RAM,
                param,
                block_size: None,
                vm: false,
                simulate: false,
            };
            let a = answer_machine(&req, &mut |_| {})
                .map_err(|e| ReportError::Device(e.to_string()))?;
            rows.push(DeviceEntry {
                label,
                profile,
                memmap_bytes: a.memmap_bytes,
                pagetable_bytes: a.pagetable_bytes,
                device_bytes: a.device_bytes,
                usable_bytes: a.usable_bytes,
            });
        }
    }
    Ok(rows)
}

/// Errors of a report run.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Bench(#[from] GupBenchError),
    #[error(transparent)]
    Planner(#[from] PlannerError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Device(String),
}

/// The seed RFC without its patch 9 (`follow_devmap_page`, slow-path batching): what its MR
/// reg/unreg "after" figures measured (patches 1-8; the cover letter says patch 9 then brings
/// device-dax to parity with hugetlbfs).
#[must_use]
pub fn rfc_patches_1_to_8() -> Profile {
    Profile::RFC
        .with_switch("slow_leaf", "per-page")
        .expect("slow_leaf=per-page is a valid switch")
}

/// Steps a report of `mode` runs (for a progress bar).
#[must_use]
pub fn steps() -> u64 {
    let p = PROFILES.len() as u64;
    let since = SINCE.len() as u64;
    // planner + bootstrap (3 aligns) + GUP (2 aligns x 3 ops) + MR (2 kinds x 2 aligns, and
    // the RFC's patches 1-8 at 2M) + pools + the kernels since the series (GUP: 2 ops, MR: 1 at
    // 2M each)
    1 + 3 * p + 6 * p + 4 * p + 2 + 3 + 3 * since
}

const ALIGNS: [ByteSize; 3] = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];

/// Runs the report; `tick` after each step.
pub fn collect(mode: Mode, tick: &mut dyn FnMut(&str)) -> Result<Report, ReportError> {
    let s = mode.sizes();
    let mut planner = planner_rows()?;
    if let Some(size) = s.simulate {
        planner.extend(simulated_rows(size)?);
    }
    let memdesc = memdesc_rows()?;
    let arches = arch_rows()?;
    let device = device_rows()?;
    tick("planner");
    // The benchmarks: every profile of PROFILES, 16 GiB-style devdax at the seeds' aligns.
    let base = Options {
        profiles: PROFILES.to_vec(),
        runs: s.runs,
        ..Options::default()
    };
    let bootstrap = bootstrap_runs(&base, &s, tick)?;
    let mut gup = gup_runs(&base, &s, tick)?;
    let mut mr = mr_runs(&base, &s, tick)?;
    let (since_gup, since_mr) = since_runs(&base, &s, tick)?;
    gup.extend(since_gup);
    mr.extend(since_mr);
    let hugetlb_pool = pool_runs(base, &s, tick)?;
    let mut report = Report {
        mode,
        sizes: s,
        planner,
        memdesc,
        arches,
        bootstrap,
        gup,
        mr,
        hugetlb_pool,
        device,
        comparisons: Vec::new(),
    };
    report.comparisons = compare(&report);
    Ok(report)
}

/// The planner's closed-form rows of `req` for 1 TiB namespaces (pools) with the memmap in
/// RAM, as `vmemdiet plan` answers them.
fn planned(req: Request) -> Result<Vec<PlanEntry>, ReportError> {
    let req = Request {
        sizes: vec![ndctl::parse_size_arg("1TiB").expect("1TiB is a valid size")],
        maps: vec![MapMode::Mem],
        ..req
    };
    let answer = planner::answer(&req, &mut |_| {})?;
    Ok(answer
        .rows
        .into_iter()
        .map(|r| PlanEntry {
            kind: r.kind,
            row: r.row,
        })
        .collect())
}

/// The planner table per TiB: devdax at 4K/2M/1G, HugeTLB at 2M/1G, every profile.
fn planner_rows() -> Result<Vec<PlanEntry>, ReportError> {
    let profiles = TABLE.to_vec();
    let mut rows = planned(Request {
        aligns: ALIGNS.to_vec(),
        profiles: profiles.clone(),
        ..Request::default()
    })?;
    rows.extend(planned(Request {
        kinds: vec![Kind::Hugetlb],
        aligns: vec![ByteSize::mib(2), ByteSize::gib(1)],
        profiles,
        ..Request::default()
    })?);
    Ok(rows)
}

/// The planner checked against the machine on the mode's `size` (devdax 2M/1G, v7.3). A
/// direct call of [`crate::simulate::simulate`], not a planner request: the planner simulates
/// a pmem namespace ([`crate::simulate::simulate_namespace`]: the device is created under an
/// info block and its capacity measured), while these rows build the bare device whose
/// closed form the planner table gives.
fn simulated_rows(size: ByteSize) -> Result<Vec<PlanEntry>, ReportError> {
    let mut rows = Vec::new();
    for align in [ByteSize::mib(2), ByteSize::gib(1)] {
        let cfg = PlanConfig::new(size, align, MapMode::Mem, Profile::V7_3);
        let measured = crate::simulate::simulate(&cfg)?;
        rows.push(PlanEntry {
            kind: Kind::Devdax,
            row: PlanRow::new(&cfg, measured, true),
        });
    }
    Ok(rows)
}

/// The memdesc end state: devdax per TiB with an 8-byte struct page (brief §9.9), v7.3 and
/// the mm tree of 2026.
fn memdesc_rows() -> Result<Vec<PlanEntry>, ReportError> {
    planned(Request {
        aligns: ALIGNS.to_vec(),
        profiles: vec![Profile::V7_3, Profile::V7_4],
        struct_page_size: 8,
        ..Request::default()
    })
}

/// Devdax memmap per TiB on every architecture, at each align it offers, on the default
/// profile (the planner's headline across architectures). An arch whose vmemmap cannot
/// describe 1 TiB above the RAM (riscv Sv39) has no row.
fn arch_rows() -> Result<Vec<PlanEntry>, ReportError> {
    planned(Request {
        arches: crate::arch::ARCHES.to_vec(),
        ..Request::default()
    })
}

/// Namespace creation (bootstrap) at 4K/2M/1G.
fn bootstrap_runs(
    base: &Options,
    s: &Sizes,
    tick: &mut dyn FnMut(&str),
) -> Result<Vec<BootstrapResult>, ReportError> {
    let mut out = Vec::new();
    for cfg in expand::<BootstrapConfig>(&Options {
        sizes: vec![s.bootstrap],
        aligns: ALIGNS.to_vec(),
        ..base.clone()
    })? {
        out.push(bootstrap::run(&cfg, &mut || {})?);
        tick("bootstrap");
    }
    Ok(out)
}

/// gup_test's GUP_FAST, PIN_FAST and PIN_LONGTERM benchmarks at 2M/1G, 512 pages a call.
fn gup_runs(
    base: &Options,
    s: &Sizes,
    tick: &mut dyn FnMut(&str),
) -> Result<Vec<GupResult>, ReportError> {
    let mut out = Vec::new();
    for cfg in expand::<GupConfig>(&Options {
        sizes: vec![s.gup],
        aligns: vec![ByteSize::mib(2), ByteSize::gib(1)],
        ops: vec![GupOp::GupFast, GupOp::PinFast, GupOp::PinLongterm],
        nr_per_call: Some(512),
        ..base.clone()
    })? {
        out.push(gup::bench(&cfg, &mut || {})?);
        tick("gup");
    }
    Ok(out)
}

/// RDMA memory-region registration rounds of devdax and HugeTLB at 2M/1G, then the RFC as
/// its MR figures were taken, without its patch 9.
fn mr_runs(
    base: &Options,
    s: &Sizes,
    tick: &mut dyn FnMut(&str),
) -> Result<Vec<MrResult>, ReportError> {
    let mut out = Vec::new();
    for align in [ByteSize::mib(2), ByteSize::gib(1)] {
        // Each thread registers at least one page of the align.
        for cfg in expand::<MrConfig>(&Options {
            kinds: vec![Kind::Devdax, Kind::Hugetlb],
            sizes: vec![s.mr.max(align)],
            aligns: vec![align],
            seconds: s.mr_seconds,
            ..base.clone()
        })? {
            out.push(mr::run(&cfg)?);
            tick("mr");
        }
    }
    for cfg in expand::<MrConfig>(&Options {
        profiles: vec![rfc_patches_1_to_8()],
        kinds: vec![Kind::Devdax, Kind::Hugetlb],
        sizes: vec![s.mr.max(ByteSize::mib(2))],
        aligns: vec![ByteSize::mib(2)],
        seconds: s.mr_seconds,
        ..base.clone()
    })? {
        out.push(mr::run(&cfg)?);
        tick("mr");
    }
    Ok(out)
}

/// Kernels since the series ([`SINCE`]): long-term and plain pins and MR rounds at 2M devdax.
fn since_runs(
    base: &Options,
    s: &Sizes,
    tick: &mut dyn FnMut(&str),
) -> Result<(Vec<GupResult>, Vec<MrResult>), ReportError> {
    let mut gups = Vec::new();
    for cfg in expand::<GupConfig>(&Options {
        profiles: SINCE.to_vec(),
        sizes: vec![s.gup],
        aligns: vec![ByteSize::mib(2)],
        ops: vec![GupOp::PinFast, GupOp::PinLongterm],
        nr_per_call: Some(512),
        ..base.clone()
    })? {
        gups.push(gup::bench(&cfg, &mut || {})?);
        tick("gup");
    }
    let mut mrs = Vec::new();
    for cfg in expand::<MrConfig>(&Options {
        profiles: SINCE.to_vec(),
        sizes: vec![s.mr.max(ByteSize::mib(2))],
        aligns: vec![ByteSize::mib(2)],
        seconds: s.mr_seconds,
        ..base.clone()
    })? {
        mrs.push(mr::run(&cfg)?);
        tick("mr");
    }
    Ok((gups, mrs))
}

/// HugeTLB pools with and without vmemmap optimization: v5.10, v7.3 and next.
fn pool_runs(
    base: Options,
    s: &Sizes,
    tick: &mut dyn FnMut(&str),
) -> Result<Vec<PoolResult>, ReportError> {
    let mut out = Vec::new();
    for cfg in expand::<PoolConfig>(&Options {
        sizes: vec![s.pool],
        profiles: vec![Profile::V5_10, Profile::V7_3, Profile::NEXT],
        ..base
    })? {
        out.push(hugetlb_pool::run(&cfg, &mut || {})?);
        tick("hugetlb pool");
    }
    Ok(out)
}

/// Where a measurement sits in a report: the coordinates its sections share. A section
/// without one (bootstrap has no op) has it absent (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub kind: Kind,
    pub profile: Profile,
    pub align: ByteSize,
    pub op: Option<GupOp>,
}

impl At {
    /// The measurement of `kind` under `profile` at `align`.
    #[must_use]
    pub const fn new(kind: Kind, profile: Profile, align: ByteSize) -> At {
        At {
            kind,
            profile,
            align,
            op: None,
        }
    }

    /// The same, of GUP operation `op`.
    #[must_use]
    pub const fn op(self, op: GupOp) -> At {
        At {
            op: Some(op),
            ..self
        }
    }

    /// The same under another profile.
    #[must_use]
    pub const fn under(self, profile: Profile) -> At {
        At { profile, ..self }
    }
}

/// A section of a report whose rows are found by [`At`].
pub trait Section: Sized {
    /// The section's rows in `r`.
    fn rows(r: &Report) -> &[Self];
    /// Where this row sits; `None` for rows no lookup should see (the simulated planner rows,
    /// which only check the closed form).
    fn at(&self) -> Option<At>;
}

impl Section for PlanEntry {
    fn rows(r: &Report) -> &[Self] {
        &r.planner
    }
    fn at(&self) -> Option<At> {
        (!self.row.simulated).then_some(At::new(
            self.kind,
            self.row.profile,
            ByteSize::new(self.row.align),
        ))
    }
}

impl Section for BootstrapResult {
    fn rows(r: &Report) -> &[Self] {
        &r.bootstrap
    }
    fn at(&self) -> Option<At> {
        Some(At::new(
            Kind::Devdax,
            self.profile,
            ByteSize::new(self.align),
        ))
    }
}

impl Section for GupResult {
    fn rows(r: &Report) -> &[Self] {
        &r.gup
    }
    fn at(&self) -> Option<At> {
        Some(At::new(self.kind, self.profile, ByteSize::new(self.align)).op(self.op))
    }
}

impl Section for MrResult {
    fn rows(r: &Report) -> &[Self] {
        &r.mr
    }
    fn at(&self) -> Option<At> {
        Some(At::new(self.kind, self.profile, ByteSize::new(self.align)))
    }
}

impl Section for PoolResult {
    fn rows(r: &Report) -> &[Self] {
        &r.hugetlb_pool
    }
    fn at(&self) -> Option<At> {
        Some(At::new(
            Kind::Hugetlb,
            self.profile,
            ByteSize::new(self.align),
        ))
    }
}

impl Report {
    /// The measurement of section `S` at `at`.
    #[must_use]
    pub fn find<S: Section>(&self, at: At) -> Option<&S> {
        S::rows(self).iter().find(|r| r.at() == Some(at))
    }

    /// The measurements of section `S` at `at` under `before` and under `after`.
    #[must_use]
    pub fn pair<S: Section>(&self, at: At, before: Profile, after: Profile) -> Option<(&S, &S)> {
        Some((self.find(at.under(before))?, self.find(at.under(after))?))
    }
}

impl Comparison {
    /// How our improvement compares with the seeds': `ours_ratio / seeds_ratio` (1 = the same
    /// factor; above 1, ours improves more).
    #[must_use]
    pub fn ours_vs_seeds(&self) -> Option<f64> {
        self.seeds_ratio.map(|s| self.ours_ratio / s)
    }
}

/// The seeds' before and after figures of a comparison, scaled by `scale` (a per-TiB figure
/// compared with a pool of another size).
#[derive(Debug, Clone, Copy)]
struct Theirs {
    before: SeedKey,
    after: SeedKey,
    scale: f64,
}

impl Theirs {
    const fn of(before: SeedKey, after: SeedKey) -> Theirs {
        Theirs {
            before,
            after,
            scale: 1.0,
        }
    }
}

/// One comparison of ours (in `unit`) with theirs.
#[allow(clippy::too_many_arguments)]
fn cmp(
    section: &'static str,
    what: String,
    unit: Unit,
    (before, ours_before): (Profile, f64),
    (after, ours_after): (Profile, f64),
    theirs: Option<Theirs>,
    after_over_limit: Option<f64>,
) -> Comparison {
    let value = |k: SeedKey, scale: f64| seed(k).value_in(unit).map(|v| v * scale);
    let seeds_before = theirs.and_then(|t| value(t.before, t.scale));
    let seeds_after = theirs.and_then(|t| value(t.after, t.scale));
    let seeds_source = theirs.map_or_else(String::new, |t| {
        let (b, a) = (seed(t.before).source, seed(t.after).source);
        if b == a {
            a.to_string()
        } else {
            format!("before: {b}; after: {a}")
        }
    });
    Comparison {
        section,
        what,
        unit: unit.symbol(),
        before,
        after,
        ours_before,
        ours_after,
        ours_ratio: if ours_after > 0.0 {
            ours_before / ours_after
        } else {
            f64::INFINITY
        },
        seeds_before,
        seeds_after,
        seeds_ratio: seeds_before.zip(seeds_after).map(|(b, a)| b / a),
        seeds_source,
        after_over_limit,
    }
}

/// The seeds' headline comparisons, ours beside theirs: the memmap per TiB, namespace
/// creation, GUP and pins, MR registration and HugeTLB pools, in that order.
fn compare(r: &Report) -> Vec<Comparison> {
    [
        memmap_comparisons(r),
        bootstrap_comparisons(r),
        gup_fast_comparisons(r),
        pin_comparisons(r),
        mr_comparisons(r),
        hugetlb_comparisons(r),
    ]
    .concat()
}

/// Bytes in MiB, the unit of the report's memory figures.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

/// Memmap per TiB at 2M and 1G, v5.10 against v7.3: devdax memmap and its page tables, and
/// HugeTLB memmap after HVO (the seeds give the 2M pool's figure).
fn memmap_comparisons(r: &Report) -> Vec<Comparison> {
    use SeedKey as K;
    let (v5_10, v7_3) = (Profile::V5_10, Profile::V7_3);
    let mut out = Vec::new();
    for (align, after_key) in [
        (ByteSize::mib(2), K::MemmapPerTib2m),
        (ByteSize::gib(1), K::MemmapPerTib1g),
    ] {
        let at = At::new(Kind::Devdax, v5_10, align);
        if let Some((b, a)) = r.pair::<PlanEntry>(at, v5_10, v7_3) {
            out.push(cmp(
                "memmap",
                format!("devdax memmap + page tables per TiB, {}", align.short()),
                Unit::MiB,
                (v5_10, mib(b.row.memmap_bytes + b.row.pagetable_bytes)),
                (v7_3, mib(a.row.memmap_bytes + a.row.pagetable_bytes)),
                Some(Theirs::of(K::MemmapPerTibBefore, after_key)),
                None,
            ));
        }
        let at = At::new(Kind::Hugetlb, v5_10, align);
        if let Some((b, a)) = r.pair::<PlanEntry>(at, v5_10, v7_3) {
            out.push(cmp(
                "memmap",
                format!("HugeTLB memmap per TiB, {} (HVO)", align.short()),
                Unit::MiB,
                (v5_10, mib(b.row.memmap_bytes)),
                (v7_3, mib(a.row.memmap_bytes)),
                (align == ByteSize::mib(2))
                    .then_some(Theirs::of(K::HvoPerTibBefore, K::HvoPerTib2m)),
                None,
            ));
        }
    }
    out
}

/// Namespace creation at 2M and 1G: v5.10 against the RFC and against v7.3.
fn bootstrap_comparisons(r: &Report) -> Vec<Comparison> {
    use SeedKey as K;
    let v5_10 = Profile::V5_10;
    let mut out = Vec::new();
    for (align, after_key) in [
        (ByteSize::mib(2), K::Bootstrap2m),
        (ByteSize::gib(1), K::Bootstrap1g),
    ] {
        for after in [Profile::RFC, Profile::V7_3] {
            let at = At::new(Kind::Devdax, v5_10, align);
            if let Some((b, a)) = r.pair::<BootstrapResult>(at, v5_10, after) {
                out.push(cmp(
                    "bootstrap",
                    format!(
                        "namespace create, {} {}",
                        ByteSize::new(a.size),
                        align.short()
                    ),
                    Unit::Ms,
                    (v5_10, b.create_us / 1000.0),
                    (after, a.create_us / 1000.0),
                    Some(Theirs::of(K::BootstrapBefore, after_key)),
                    Some(a.create_over_limit),
                ));
            }
        }
    }
    out
}

/// GUP on devdax at 2M and 1G, v5.10 against the RFC: the get of GUP_FAST and PIN_FAST.
fn gup_fast_comparisons(r: &Report) -> Vec<Comparison> {
    use SeedKey as K;
    let (v5_10, rfc) = (Profile::V5_10, Profile::RFC);
    let mut out = Vec::new();
    for (op, align, before_key, after_key) in [
        (
            GupOp::GupFast,
            ByteSize::mib(2),
            K::GupFastBefore,
            K::GupFast2m,
        ),
        (
            GupOp::GupFast,
            ByteSize::gib(1),
            K::GupFastBefore,
            K::GupFast1g,
        ),
        (
            GupOp::PinFast,
            ByteSize::mib(2),
            K::PinFastBefore,
            K::PinFast2m,
        ),
        (
            GupOp::PinFast,
            ByteSize::gib(1),
            K::PinFastBefore,
            K::PinFast1g,
        ),
    ] {
        let at = At::new(Kind::Devdax, v5_10, align).op(op);
        if let Some((b, a)) = r.pair::<GupResult>(at, v5_10, rfc) {
            out.push(cmp(
                "gup",
                format!(
                    "{} get, {} {}",
                    op.test_name(),
                    ByteSize::new(a.size),
                    align.short()
                ),
                Unit::Ms,
                (v5_10, b.get_us / 1000.0),
                (rfc, a.get_us / 1000.0),
                Some(Theirs::of(before_key, after_key)),
                Some(a.get_us / a.limit_get_us.max(1e-3)),
            ));
        }
    }
    out
}

/// Pins of 2M devdax, v5.10 against v7.3: unpin_user_pages of PIN_FAST, and the get of
/// PIN_LONGTERM (the slow path), for which the seeds give no figure.
fn pin_comparisons(r: &Report) -> Vec<Comparison> {
    let (v5_10, v7_3) = (Profile::V5_10, Profile::V7_3);
    let mut out = Vec::new();
    let at = At::new(Kind::Devdax, v5_10, ByteSize::mib(2));
    if let Some((b, a)) = r.pair::<GupResult>(at.op(GupOp::PinFast), v5_10, v7_3) {
        out.push(cmp(
            "gup",
            format!("unpin_user_pages, {} 2M", ByteSize::new(a.size)),
            Unit::Ms,
            (v5_10, b.put_us / 1000.0),
            (v7_3, a.put_us / 1000.0),
            Some(Theirs::of(SeedKey::UnpinBefore, SeedKey::UnpinAfter)),
            Some(a.put_us / a.limit_put_us.max(1e-3)),
        ));
    }
    if let Some((b, a)) = r.pair::<GupResult>(at.op(GupOp::PinLongterm), v5_10, v7_3) {
        out.push(cmp(
            "gup",
            format!("PIN_LONGTERM get (slow path), {} 2M", ByteSize::new(a.size)),
            Unit::Ms,
            (v5_10, b.get_us / 1000.0),
            (v7_3, a.get_us / 1000.0),
            None,
            Some(a.get_us / a.limit_get_us.max(1e-3)),
        ));
    }
    out
}

/// MR registration rounds at 2M devdax and HugeTLB, v5.10 against the RFC: as its MR figures
/// were taken (patches 1-8, beside the seeds), then with patch 9 as well, for which the seeds
/// give no figure, only "parity with hugetlbfs".
fn mr_comparisons(r: &Report) -> Vec<Comparison> {
    use SeedKey as K;
    let v5_10 = Profile::V5_10;
    let mut out = Vec::new();
    for (kind, before_key, after_key) in [
        (Kind::Devdax, K::MrDevdaxBefore, K::MrDevdaxAfter),
        (Kind::Hugetlb, K::MrHugetlbBefore, K::MrHugetlbAfter),
    ] {
        let at = At::new(kind, v5_10, ByteSize::mib(2));
        for (after, theirs, with) in [
            (
                rfc_patches_1_to_8(),
                Some(Theirs::of(before_key, after_key)),
                "",
            ),
            (Profile::RFC, None, ", with patch 9"),
        ] {
            if let Some((b, a)) = r.pair::<MrResult>(at, v5_10, after) {
                out.push(cmp(
                    "mr",
                    format!(
                        "MR reg+dereg per round, {kind} {} 2M{with}",
                        ByteSize::new(a.size)
                    ),
                    Unit::Ms,
                    (v5_10, b.us_per_round / 1000.0),
                    (after, a.us_per_round / 1000.0),
                    theirs,
                    None,
                ));
            }
        }
    }
    out
}

/// The HVO memmap of a HugeTLB pool of 2M pages, v5.10 against v7.3, beside the seeds'
/// per-TiB figures scaled to the pool.
#[allow(clippy::cast_precision_loss)]
fn hugetlb_comparisons(r: &Report) -> Vec<Comparison> {
    let v5_10 = Profile::V5_10;
    let at = At::new(Kind::Hugetlb, v5_10, ByteSize::mib(2));
    let Some((b, a)) = r.pair::<PoolResult>(at, v5_10, Profile::V7_3) else {
        return Vec::new();
    };
    vec![cmp(
        "hugetlb",
        format!("HVO memmap of a {} pool of 2M pages", ByteSize::new(a.size)),
        Unit::MiB,
        (v5_10, mib(b.memmap_bytes)),
        (Profile::V7_3, mib(a.memmap_bytes)),
        Some(Theirs {
            scale: a.size as f64 / ByteSize::tib(1).bytes() as f64,
            ..Theirs::of(SeedKey::HvoPerTibBefore, SeedKey::HvoPerTib2m)
        }),
        None,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::ib_driver::Driver;
    use crate::plan::plan;

    /// A report with the planner's rows and made-up benchmark rows: before costs 10, after 1.
    fn fake() -> Report {
        let mut planner = Vec::new();
        for kind in [Kind::Devdax, Kind::Hugetlb] {
            for profile in PROFILES {
                for align in [ByteSize::mib(2), ByteSize::gib(1)] {
                    let mut cfg = PlanConfig::new(ByteSize::tib(1), align, MapMode::Mem, profile);
                    cfg.kind = kind;
                    let row = PlanRow::new(&cfg, plan(&cfg).unwrap(), false);
                    planner.push(PlanEntry { kind, row });
                }
            }
        }
        let t = |p: Profile| {
            if p == Profile::V5_10 {
                10_000.0
            } else {
                1_000.0
            }
        };
        let (mut bootstrap, mut gup, mut mr, mut hugetlb_pool) = (vec![], vec![], vec![], vec![]);
        for profile in PROFILES {
            for align in [ByteSize::mib(2), ByteSize::gib(1)] {
                bootstrap.push(BootstrapResult {
                    size: 1 << 30,
                    align: align.bytes(),
                    map: MapMode::Mem,
                    profile,
                    runs: 1,
                    create_us: t(profile),
                    destroy_us: 1.0,
                    limit_us: 1.0,
                    limit_pte_us: 1.0,
                    create_over_limit: 2.5,
                    struct_pages_initialized: 1,
                    vmemmap_entries: 1,
                    vmemmap_reuse_refs: 0,
                    memmap_bytes: 1,
                });
                for op in [GupOp::GupFast, GupOp::PinFast, GupOp::PinLongterm] {
                    gup.push(GupResult {
                        op,
                        kind: Kind::Devdax,
                        size: 1 << 30,
                        align: align.bytes(),
                        map: MapMode::Mem,
                        profile,
                        threads: 1,
                        runs: 1,
                        nr_per_call: 512,
                        get_us: t(profile),
                        put_us: t(profile),
                        limit_get_us: 4.0,
                        limit_put_us: 4.0,
                        pages: 1,
                        atomics: 1,
                        get_atomics: 1,
                        put_atomics: 0,
                        pincount_atomics: 0,
                        walks: 1,
                        pgmap_lookups: 0,
                        slow_pages: 0,
                    });
                }
                // The RFC's MR rows come with and without its patch 9 (2 000 us without).
                let mr_profiles = if profile == Profile::RFC {
                    vec![profile, rfc_patches_1_to_8()]
                } else {
                    vec![profile]
                };
                for (kind, profile) in [Kind::Devdax, Kind::Hugetlb]
                    .into_iter()
                    .flat_map(|k| mr_profiles.iter().map(move |&p| (k, p)))
                {
                    mr.push(MrResult {
                        kind,
                        size: 1 << 30,
                        align: align.bytes(),
                        map: MapMode::Mem,
                        profile,
                        threads: 1,
                        seconds: 1.0,
                        rounds: 1,
                        us_per_round: if profile == rfc_patches_1_to_8() {
                            2_000.0
                        } else {
                            t(profile)
                        },
                        pin_us: 0.0,
                        sg_us: 0.0,
                        release_us: 0.0,
                        sg_entries: 1,
                        driver: Driver::None,
                        driver_us: 0.0,
                        mr_page_size: 0,
                        driver_entries: 0,
                    });
                }
            }
            hugetlb_pool.push(PoolResult {
                size: 1 << 30,
                align: 2 << 20,
                profile,
                runs: 1,
                pages: 512,
                alloc_us: 1.0,
                free_us: 1.0,
                memmap_bytes: if profile == Profile::V5_10 {
                    1 << 24
                } else {
                    1 << 21
                },
            });
        }
        let mut r = Report {
            mode: Mode::Quick,
            sizes: Mode::Quick.sizes(),
            planner,
            memdesc: Vec::new(),
            arches: Vec::new(),
            bootstrap,
            gup,
            mr,
            hugetlb_pool,
            device: Vec::new(),
            comparisons: Vec::new(),
        };
        r.comparisons = compare(&r);
        r
    }

    #[test]
    fn find_and_pair_look_up_by_section_and_configuration() {
        let r = fake();
        let at = At::new(Kind::Devdax, Profile::V5_10, ByteSize::mib(2));
        let g: &GupResult = r.find(at.op(GupOp::PinFast)).unwrap();
        assert_eq!(
            (g.op, g.profile, g.align),
            (GupOp::PinFast, Profile::V5_10, 2 << 20)
        );
        assert!(r.find::<GupResult>(at).is_none(), "a GUP row has an op");
        let (b, a) = r
            .pair::<PlanEntry>(at, Profile::V5_10, Profile::V7_3)
            .unwrap();
        assert_eq!(
            (b.row.memmap_bytes, a.row.memmap_bytes),
            (16 << 30, 4 << 30)
        );
        let p: &PoolResult = r
            .find(At::new(Kind::Hugetlb, Profile::NEXT, ByteSize::mib(2)))
            .unwrap();
        assert_eq!(p.profile, Profile::NEXT);
        assert!(r.find::<MrResult>(at.under(Profile::V6_12)).is_none());
    }

    #[test]
    fn comparisons_carry_the_seeds_figures_in_their_unit() {
        let r = fake();
        let by = |what: &str| {
            r.comparisons
                .iter()
                .find(|c| c.what.starts_with(what))
                .unwrap()
        };
        let c = by("devdax memmap + page tables per TiB, 2M");
        assert_eq!(
            (c.seeds_before, c.seeds_after),
            (Some(16384.0), Some(4096.0))
        );
        let c = by("namespace create, 1 GiB 2M");
        assert_eq!((c.seeds_before, c.seeds_after), (Some(750.0), Some(190.0)));
        assert!(c.seeds_source.contains("seeds/000_58ee0360e004a9b6.txt"));
        let c = by("GUP_FAST_BENCHMARK get, 1 GiB 1G");
        assert_eq!((c.seeds_before, c.seeds_after), (Some(75.0), Some(3.2)));
        assert_eq!(c.ours_ratio, 10.0);
        let vs = c.ours_vs_seeds().unwrap();
        assert!((vs - 10.0 / (75.0 / 3.2)).abs() < 1e-9);
        let c = by("MR reg+dereg per round, hugetlb");
        assert!((c.seeds_before.unwrap() - 10.748_456).abs() < 1e-9);
        // Per TiB figures scaled to a 1 GiB pool: 16 MiB -> 2 MiB.
        let c = by("HVO memmap of a 1 GiB pool");
        assert_eq!((c.seeds_before, c.seeds_after), (Some(16.0), Some(2.0)));
        let unseeded: Vec<&str> = r
            .comparisons
            .iter()
            .filter(|c| c.seeds_ratio.is_none())
            .map(|c| c.what.as_str())
            .collect();
        assert_eq!(
            unseeded,
            [
                "HugeTLB memmap per TiB, 1G (HVO)",
                "PIN_LONGTERM get (slow path), 1 GiB 2M",
                "MR reg+dereg per round, devdax 1 GiB 2M, with patch 9",
                "MR reg+dereg per round, hugetlb 1 GiB 2M, with patch 9"
            ]
        );
    }

    #[test]
    fn every_comparison_has_the_exact_figures_ratios_and_limit_ratios() {
        // fake() times before at 10 000 us and after at 1 000 us, GUP limits at 4 us, and
        // creation at 2.5 times its limit.
        let r = fake();
        let by = |what: &str| {
            r.comparisons
                .iter()
                .find(|c| c.what == what)
                .unwrap_or_else(|| panic!("no comparison {what}"))
        };
        for c in &r.comparisons {
            // The ratios are the quotients of the figures beside them.
            let ratio = c.ours_before / c.ours_after;
            assert!((c.ours_ratio - ratio).abs() < 1e-12, "{}", c.what);
            if let (Some(b), Some(a)) = (c.seeds_before, c.seeds_after) {
                assert_eq!(c.seeds_ratio, Some(b / a), "{}", c.what);
            }
        }
        for what in [
            "GUP_FAST_BENCHMARK get, 1 GiB 2M",
            "GUP_FAST_BENCHMARK get, 1 GiB 1G",
            "PIN_FAST_BENCHMARK get, 1 GiB 2M",
            "PIN_FAST_BENCHMARK get, 1 GiB 1G",
            "unpin_user_pages, 1 GiB 2M",
            "PIN_LONGTERM get (slow path), 1 GiB 2M",
        ] {
            let c = by(what);
            assert_eq!((c.ours_before, c.ours_after), (10.0, 1.0), "{what}");
            assert_eq!(c.ours_ratio, 10.0, "{what}");
            assert_eq!(c.after_over_limit, Some(250.0), "{what}");
            assert_eq!(c.unit, "ms");
        }
        for what in ["namespace create, 1 GiB 2M", "namespace create, 1 GiB 1G"] {
            let rows: Vec<_> = r.comparisons.iter().filter(|c| c.what == what).collect();
            // Before v5.10, after the RFC and v7.3.
            assert_eq!(
                rows.iter().map(|c| c.after).collect::<Vec<_>>(),
                [Profile::RFC, Profile::V7_3]
            );
            for c in rows {
                assert_eq!(
                    (c.ours_before, c.ours_after, c.ours_ratio),
                    (10.0, 1.0, 10.0)
                );
                assert_eq!(c.after_over_limit, Some(2.5));
            }
        }
        // Beside the seeds: the RFC without patch 9 (2 000 us); with it: 1 000 us.
        for kind in ["devdax", "hugetlb"] {
            let c = by(&format!("MR reg+dereg per round, {kind} 1 GiB 2M"));
            assert_eq!(
                (c.ours_before, c.ours_after, c.ours_ratio),
                (10.0, 2.0, 5.0)
            );
            assert_eq!(c.after, rfc_patches_1_to_8());
            assert_eq!(c.after_over_limit, None);
            let c = by(&format!(
                "MR reg+dereg per round, {kind} 1 GiB 2M, with patch 9"
            ));
            assert_eq!(
                (c.ours_before, c.ours_after, c.ours_ratio),
                (10.0, 1.0, 10.0)
            );
            assert_eq!((c.after, c.seeds_ratio), (Profile::RFC, None));
        }
        // The pool's memmap in MiB: 16 MiB before, 2 MiB after.
        let c = by("HVO memmap of a 1 GiB pool of 2M pages");
        assert_eq!(
            (c.ours_before, c.ours_after, c.ours_ratio),
            (16.0, 2.0, 8.0)
        );
        assert_eq!(c.seeds_ratio, Some(8.0));
        assert_eq!(c.unit, "MiB");
        // The planner's 2M devdax rows in MiB: 16 GiB of memmap + 64 KiB of PMD tables before;
        // 4 GiB + 32 MiB of PTE tables + the same PMD tables after.
        let c = by("devdax memmap + page tables per TiB, 2M");
        assert_eq!((c.ours_before, c.ours_after), (16384.0625, 4128.0625));
        assert_eq!(c.seeds_ratio, Some(4.0));
        // Both figures quote the same words of the RFC: the source is named once.
        assert_eq!(
            c.seeds_source,
            "seeds/000_58ee0360e004a9b6.txt: \"with 2M pages we lose 4G instead of 16G\""
        );
    }

    #[test]
    fn cmp_divides_before_by_after_and_names_both_sources_when_they_differ() {
        let c = cmp(
            "gup",
            "x".into(),
            Unit::Ms,
            (Profile::V5_10, 9.0),
            (Profile::RFC, 0.0),
            None,
            None,
        );
        // A free "after" is an infinite improvement, not a division by zero.
        assert_eq!(c.ours_ratio, f64::INFINITY);
        assert_eq!(
            (c.seeds_before, c.seeds_after, c.seeds_ratio),
            (None, None, None)
        );
        assert_eq!(c.seeds_source, "");
        assert_eq!(c.ours_vs_seeds(), None);
        let c = cmp(
            "gup",
            "x".into(),
            Unit::Us,
            (Profile::V5_10, 125_000.0),
            (Profile::RFC, 5_500.0),
            Some(Theirs::of(SeedKey::PinFastBefore, SeedKey::UnpinAfter)),
            Some(3.0),
        );
        let (b, a) = (seed(SeedKey::PinFastBefore), seed(SeedKey::UnpinAfter));
        assert_eq!(
            c.seeds_source,
            format!("before: {}; after: {}", b.source, a.source)
        );
        assert_eq!(c.seeds_before, Some(125_000.0));
        assert_eq!(
            c.ours_vs_seeds(),
            Some(c.ours_ratio / c.seeds_ratio.unwrap())
        );
        assert_eq!(c.after_over_limit, Some(3.0));
        // Scaled seeds: a per-TiB figure for a 1/4 TiB pool.
        let c = cmp(
            "hugetlb",
            "y".into(),
            Unit::MiB,
            (Profile::V5_10, 4096.0),
            (Profile::V7_3, 512.0),
            Some(Theirs {
                scale: 0.25,
                ..Theirs::of(SeedKey::MemmapPerTibBefore, SeedKey::MemmapPerTib2m)
            }),
            None,
        );
        assert_eq!(
            (c.seeds_before, c.seeds_after),
            (Some(4096.0), Some(1024.0))
        );
        assert_eq!(c.ours_ratio, 8.0);
    }

    #[test]
    fn quick_collect_ticks_steps_times_and_plans_every_kind_profile_and_align() {
        let mut ticks = 0u64;
        let r = collect(Mode::Quick, &mut |_| ticks += 1).unwrap();
        // The progress bar's length is the number of ticks.
        assert_eq!(ticks, steps());
        assert_eq!(steps(), 67); // the kernels people run add 3 profiles x (2 pins + 1 MR)
                                 // Devdax at 4K/2M/1G and HugeTLB at 2M/1G for every profile (no simulated rows).
        let n = TABLE.len();
        assert_eq!(r.planner.len(), 5 * n);
        let count = |k: Kind, a: ByteSize| {
            r.planner
                .iter()
                .filter(|e| e.kind == k && e.row.align == a.bytes())
                .count()
        };
        assert_eq!(count(Kind::Devdax, ByteSize::kib(4)), n);
        assert_eq!(count(Kind::Hugetlb, ByteSize::kib(4)), 0);
        assert_eq!(count(Kind::Hugetlb, ByteSize::gib(1)), n);
        assert_eq!(r.memdesc.len(), 6);
    }
}
