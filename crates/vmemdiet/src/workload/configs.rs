//! From the option lists a user gives (`--size 1G,2G --align 2M,1G --profile v5.10,v6.15`) to
//! the benchmark configurations they mean: the cartesian product, each configuration checked
//! with the rules of its kind (devdax by the devdax planner, HugeTLB by the HugeTLB one) before
//! any of them runs, so a bad value fails in a second with a message that names it, not after
//! an hour of benchmarks.

use std::fmt;

use crate::addr::ByteSize;
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::drivers::ib_driver::Driver;
use crate::mm::profile::Profile;
use crate::plan::{plan, Kind, PlanError};
use crate::workload::bootstrap::BootstrapConfig;
use crate::workload::gup::{GupConfig, GupOp};
use crate::workload::hugetlb_pool::PoolConfig;
use crate::workload::mr::MrConfig;

/// The options of a benchmark run, one list per option that varies. A benchmark ignores the
/// lists it has no use for (a pool has no `ops`); [`Options::default`] holds one value in each.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub kinds: Vec<Kind>,
    pub sizes: Vec<ByteSize>,
    pub aligns: Vec<ByteSize>,
    pub maps: Vec<MapMode>,
    pub profiles: Vec<Profile>,
    pub ops: Vec<GupOp>,
    /// MR: the RDMA device's driver.
    pub drivers: Vec<Driver>,
    /// Timed runs of each configuration.
    pub runs: u32,
    /// Threads (GUP: each does the whole mapping; MR: each registers `size`).
    pub threads: u32,
    /// GUP pages per call (gup_test `-n`); `None` = all in one call.
    pub nr_per_call: Option<u64>,
    /// MR: seconds to loop.
    pub seconds: f64,
    /// The architecture of the simulated machine.
    pub arch: Arch,
    /// Plan: System RAM of the machine (places the device region above it); `None`: the
    /// arch's default machine ([`crate::plan::default_ram`]).
    pub ram: Option<ByteSize>,
    /// Plan: `sizeof(struct page)` (64, or a memdesc what-if).
    pub struct_page_size: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kinds: vec![Kind::Devdax],
            sizes: vec![ByteSize::gib(1)],
            aligns: vec![ByteSize::mib(2)],
            maps: vec![MapMode::Mem],
            profiles: vec![Profile::default()],
            ops: vec![GupOp::GupFast],
            drivers: vec![Driver::None],
            runs: 1,
            threads: 1,
            nr_per_call: Some(512),
            seconds: 1.0,
            arch: Arch::default(),
            ram: None,
            struct_page_size: Arch::default().geometry().struct_page_size,
        }
    }
}

/// One point of the product of the option lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub kind: Kind,
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    pub op: GupOp,
    pub driver: Driver,
}

/// Why options do not make valid configurations. Each names the value the user gave.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("--{0}: give at least one value")]
    Empty(&'static str),
    #[error("--{option} {value}: give at least 1")]
    Zero { option: &'static str, value: u64 },
    #[error("--seconds {0}: give a duration between 0 and 3600")]
    Seconds(f64),
    /// The configuration breaks a planner rule of its kind.
    #[error("{config}: {error}")]
    Plan { config: String, error: PlanError },
    /// The host cannot hold the simulation.
    #[error("{config}: {error}")]
    Host {
        config: String,
        error: crate::simulate::SimError,
    },
    #[error("{config}: --size {size} x --threads {threads} exceeds 2^64 bytes (16 EiB), the most a mapping can hold")]
    Overflow {
        config: String,
        size: String,
        threads: u32,
    },
    #[error("{config}: GUP and MR over {kind} mappings are not modelled yet (plan and plan --simulate are); use --kind devdax, hugetlb, anon, thp or shmem")]
    NotMapped { config: String, kind: Kind },
    #[error("{config}: --size {} is not a multiple of the {} page size (nearest valid: {} or {})", size.short(), page.short(), size.align_down(*page).short(), crate::drivers::dax::up_or_none(*size, *page))]
    RamSize {
        config: String,
        size: ByteSize,
        page: ByteSize,
    },
    #[error("{config}: each thread registers whole {align} pages; --size {size} is not a multiple of {align} (nearest valid: {down} or {up})")]
    MrSize {
        config: String,
        size: String,
        align: String,
        down: String,
        up: String,
    },
}

/// A benchmark configuration: built at one point of the options, checked by its kind's rules.
pub trait Expand: Sized + PartialEq + fmt::Display {
    /// The configuration at `p`.
    fn at(p: Point, o: &Options) -> Self;
    /// Checks it with the rules of its kind, before anything runs.
    fn check(&self) -> Result<(), ConfigError>;
}

/// Expands `o` into every configuration of kind `C` it names (the cartesian product, in the
/// order kind, size, profile, map, align, op, driver; lists `C` ignores collapse) and checks each one
/// before returning; the first invalid one is the error.
pub fn expand<C: Expand>(o: &Options) -> Result<Vec<C>, ConfigError> {
    for (name, empty) in [
        ("kind", o.kinds.is_empty()),
        ("size", o.sizes.is_empty()),
        ("align", o.aligns.is_empty()),
        ("map", o.maps.is_empty()),
        ("profile", o.profiles.is_empty()),
        ("op", o.ops.is_empty()),
        ("driver", o.drivers.is_empty()),
    ] {
        if empty {
            return Err(ConfigError::Empty(name));
        }
    }
    for (option, value) in [
        ("runs", u64::from(o.runs)),
        ("threads", u64::from(o.threads)),
        ("nr-per-call", o.nr_per_call.unwrap_or(1)),
    ] {
        if value == 0 {
            return Err(ConfigError::Zero { option, value });
        }
    }
    let mut configs: Vec<C> = Vec::new();
    for &kind in &o.kinds {
        for &size in &o.sizes {
            // The one place profiles are expanded.
            for &profile in &o.profiles {
                for &map in &o.maps {
                    for &align in &o.aligns {
                        let ops = o.ops.iter();
                        for (&op, &driver) in
                            ops.flat_map(|op| o.drivers.iter().map(move |d| (op, d)))
                        {
                            let c = C::at(
                                Point {
                                    kind,
                                    size,
                                    align,
                                    map,
                                    profile,
                                    op,
                                    driver,
                                },
                                o,
                            );
                            if !configs.contains(&c) {
                                configs.push(c);
                            }
                        }
                    }
                }
            }
        }
    }
    for c in &configs {
        c.check()?;
    }
    Ok(configs)
}

/// Checks `config` against the planner rules of `cfg`.
/// Refuses kinds the GUP and MR workloads cannot map yet.
fn mappable(config: &impl fmt::Display, kind: Kind) -> Result<(), ConfigError> {
    match kind {
        Kind::Devdax | Kind::Hugetlb | Kind::Anon | Kind::Thp | Kind::Shmem => Ok(()),
        Kind::DevdaxFsdev => Err(ConfigError::NotMapped {
            config: config.to_string(),
            kind,
        }),
    }
}

fn planned(config: &impl fmt::Display, cfg: &crate::plan::PlanConfig) -> Result<(), ConfigError> {
    plan(cfg).map(|_| ()).map_err(|error| ConfigError::Plan {
        config: config.to_string(),
        error,
    })
}

impl Expand for crate::plan::PlanConfig {
    fn at(p: Point, o: &Options) -> Self {
        crate::plan::PlanConfig {
            size: p.size,
            align: p.align,
            map: p.map,
            profile: p.profile,
            arch: o.arch,
            ram_size: o
                .ram
                .unwrap_or_else(|| crate::plan::default_ram(o.arch.geometry())),
            kind: p.kind,
            struct_page_size: o.struct_page_size,
        }
    }
    fn check(&self) -> Result<(), ConfigError> {
        planned(self, self)
    }
}

impl Expand for BootstrapConfig {
    fn at(p: Point, o: &Options) -> Self {
        BootstrapConfig {
            size: p.size,
            align: p.align,
            map: p.map,
            profile: p.profile,
            arch: o.arch,
            runs: o.runs,
        }
    }
    fn check(&self) -> Result<(), ConfigError> {
        planned(self, &self.plan_config())
    }
}

impl fmt::Display for BootstrapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bootstrap of {} at align {} ({}, map={})",
            self.size.short(),
            self.align.short(),
            self.profile,
            self.map
        )
    }
}

/// The align of a point: anonymous memory has none of its own, so its rows show the leaf
/// its faults install (a page, or a PMD for THP) and one row stands for every `--align`.
fn kind_align(p: &Point, o: &Options) -> ByteSize {
    let g = o.arch.geometry();
    match p.kind {
        Kind::Anon | Kind::Shmem => ByteSize::new(g.page_size()),
        Kind::Thp => g.pmd_size(),
        Kind::Devdax | Kind::Hugetlb | Kind::DevdaxFsdev => p.align,
    }
}

/// Checks a configuration of anonymous memory: a whole number of pages, at least one (the
/// planner has nothing to say about RAM's boot memmap).
fn ram_checked(config: &impl fmt::Display, size: ByteSize, arch: Arch) -> Result<(), ConfigError> {
    let page = ByteSize::new(arch.geometry().page_size());
    if size.bytes() == 0 || !size.is_multiple_of(page) {
        return Err(ConfigError::RamSize {
            config: config.to_string(),
            size,
            page,
        });
    }
    Ok(())
}

fn is_ram_kind(kind: Kind) -> bool {
    matches!(kind, Kind::Anon | Kind::Thp | Kind::Shmem)
}

impl Expand for GupConfig {
    fn at(p: Point, o: &Options) -> Self {
        GupConfig {
            op: p.op,
            kind: p.kind,
            size: p.size,
            align: kind_align(&p, o),
            map: p.map,
            profile: p.profile,
            arch: o.arch,
            threads: o.threads,
            runs: o.runs,
            nr_per_call: o.nr_per_call,
            // gup_test -w, as the seeds ran it.
            write: true,
        }
    }
    fn check(&self) -> Result<(), ConfigError> {
        mappable(self, self.kind)?;
        if is_ram_kind(self.kind) {
            ram_checked(self, self.size, self.arch)?;
        } else {
            planned(self, &self.spec().plan_config())?;
        }
        let need = self
            .host_bytes_needed()
            .map_err(|error| ConfigError::Plan {
                config: self.to_string(),
                error,
            })?;
        fits_host(self, need, "give a smaller --size or fewer --threads (each holds a page array of the whole mapping)")
    }
}

/// Refuses a configuration whose simulation the host cannot hold, before anything runs.
fn fits_host(
    config: &impl fmt::Display,
    need: ByteSize,
    advice: &'static str,
) -> Result<(), ConfigError> {
    let budget = crate::simulate::host_budget();
    if need > budget {
        return Err(ConfigError::Host {
            config: config.to_string(),
            error: crate::simulate::SimError::TooBigForHost {
                need,
                budget,
                advice,
            },
        });
    }
    Ok(())
}

impl fmt::Display for GupConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} {} at align {} ({}, map={})",
            self.op,
            self.kind,
            self.size.short(),
            self.align.short(),
            self.profile,
            self.map
        )
    }
}

impl Expand for MrConfig {
    fn at(p: Point, o: &Options) -> Self {
        MrConfig {
            kind: p.kind,
            size: p.size,
            align: kind_align(&p, o),
            map: p.map,
            profile: p.profile,
            arch: o.arch,
            threads: o.threads,
            seconds: o.seconds,
            driver: p.driver,
        }
    }
    fn check(&self) -> Result<(), ConfigError> {
        if !(self.seconds.is_finite() && self.seconds > 0.0 && self.seconds <= 3600.0) {
            return Err(ConfigError::Seconds(self.seconds));
        }
        mappable(self, self.kind)?;
        let spec = self.spec().ok_or_else(|| ConfigError::Overflow {
            config: self.to_string(),
            size: self.size.short(),
            threads: self.threads,
        })?;
        // Anonymous memory's memmap is RAM's boot memmap, which the simulation does not back.
        let sim = if is_ram_kind(self.kind) {
            ram_checked(self, spec.size, self.arch)?;
            ByteSize::new(0)
        } else {
            planned(self, &spec.plan_config())?;
            crate::simulate::host_bytes_needed(&spec.plan_config()).map_err(|error| {
                ConfigError::Plan {
                    config: self.to_string(),
                    error,
                }
            })?
        };
        let need = sim.bytes().saturating_add(
            self.host_bytes_per_thread()
                .saturating_mul(u64::from(self.threads)),
        );
        fits_host(
            self,
            ByteSize::new(need),
            "give a smaller --size or fewer --threads (each registers --size)",
        )?;
        if !self.size.is_multiple_of(self.align) {
            return Err(ConfigError::MrSize {
                config: self.to_string(),
                size: self.size.short(),
                align: self.align.short(),
                down: self.size.align_down(self.align).short(),
                up: crate::drivers::dax::up_or_none(self.size, self.align),
            });
        }
        Ok(())
    }
}

impl fmt::Display for MrConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MR loop on {} {} x {} thread(s) at align {} ({}, map={}, driver {})",
            self.kind,
            self.size.short(),
            self.threads,
            self.align.short(),
            self.profile,
            self.map,
            self.driver
        )
    }
}

impl Expand for PoolConfig {
    fn at(p: Point, o: &Options) -> Self {
        PoolConfig {
            size: p.size,
            align: p.align,
            profile: p.profile,
            arch: o.arch,
            runs: o.runs,
        }
    }
    fn check(&self) -> Result<(), ConfigError> {
        planned(self, &self.plan_config())
    }
}

impl fmt::Display for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} HugeTLB pool of {} pages ({})",
            self.size.short(),
            self.align.short(),
            self.profile
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_has_one_config_per_combination_and_collapses_unused_lists() {
        let o = Options {
            kinds: vec![Kind::Devdax, Kind::Hugetlb],
            sizes: vec![ByteSize::gib(1), ByteSize::gib(2)],
            aligns: vec![ByteSize::mib(2), ByteSize::gib(1)],
            profiles: vec![Profile::V5_10, Profile::RFC, Profile::V6_15],
            ops: vec![GupOp::GupFast, GupOp::PinFast],
            ..Options::default()
        };
        let gup: Vec<GupConfig> = expand(&o).unwrap();
        assert_eq!(gup.len(), 2 * 2 * 2 * 3 * 2);
        assert_eq!(gup[0].profile, Profile::V5_10);
        assert_eq!(gup[0].op, GupOp::GupFast);
        assert_eq!(gup[1].op, GupOp::PinFast);
        // Bootstrap has no kind or op; a pool has no kind, map or op.
        assert_eq!(expand::<BootstrapConfig>(&o).unwrap().len(), 2 * 2 * 3);
        assert_eq!(expand::<PoolConfig>(&o).unwrap().len(), 2 * 2 * 3);
        assert_eq!(expand::<MrConfig>(&o).unwrap().len(), 2 * 2 * 2 * 3);
    }

    #[test]
    fn hugetlb_configs_are_checked_by_the_hugetlb_rules() {
        let o = Options {
            kinds: vec![Kind::Hugetlb],
            sizes: vec![ByteSize::mib(64)],
            aligns: vec![ByteSize::mib(2), ByteSize::kib(4)],
            ..Options::default()
        };
        // 4K is a devdax align, not a HugeTLB page size: the error names the value given.
        let e = expand::<GupConfig>(&o).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Plan {
                    error: PlanError::HugetlbAlign { align, .. },
                    ..
                } if align == ByteSize::kib(4)
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("align 4K") && msg.contains("hugetlb"), "{msg}");
        let e = expand::<PoolConfig>(&o).unwrap_err();
        assert!(e.to_string().contains("of 4K pages"), "{e}");
        // A HugeTLB pool's memmap is in RAM: map=dev is refused for hugetlb, not for devdax.
        let o = Options {
            kinds: vec![Kind::Hugetlb],
            sizes: vec![ByteSize::gib(1)],
            maps: vec![MapMode::Dev],
            ..Options::default()
        };
        assert!(matches!(
            expand::<GupConfig>(&o),
            Err(ConfigError::Plan {
                error: PlanError::HugetlbMap,
                ..
            })
        ));
        let o = Options {
            kinds: vec![Kind::Devdax],
            ..o
        };
        assert!(expand::<GupConfig>(&o).is_ok());
    }

    #[test]
    fn mr_size_times_threads_cannot_wrap() {
        let o = Options {
            sizes: vec![ByteSize::new(1 << 62)],
            threads: 8,
            ..Options::default()
        };
        let e = expand::<MrConfig>(&o).unwrap_err();
        assert!(
            matches!(e, ConfigError::Overflow { threads: 8, .. }),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("--size 4194304T") && msg.contains("16 EiB"),
            "{msg}"
        );
    }

    #[test]
    fn bad_scalars_and_empty_lists_name_the_option() {
        let e = expand::<MrConfig>(&Options {
            seconds: -1.0,
            ..Options::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--seconds -1: give a duration between 0 and 3600"
        );
        let e = expand::<GupConfig>(&Options {
            nr_per_call: Some(0),
            ..Options::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("--nr-per-call 0"), "{e}");
        let e = expand::<BootstrapConfig>(&Options {
            profiles: vec![],
            ..Options::default()
        })
        .unwrap_err();
        assert_eq!(e, ConfigError::Empty("profile"));
        let e = expand::<MrConfig>(&Options {
            sizes: vec![ByteSize::mib(3)],
            threads: 2,
            ..Options::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("--size 3M is not a multiple of 2M"),
            "{e}"
        );
    }
}
