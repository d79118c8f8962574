//! proptest strategies and the configuration grid for `vmemdiet`'s planner and simulation.

use proptest::prelude::*;
use vmemdiet::addr::ByteSize;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::plan::{plan, PlanConfig};

use crate::fixtures::DEVDAX_ALIGNS;

/// A devdax plan of `units` allocation units (2 MiB, or the align when larger) at
/// `DEVDAX_ALIGNS[align_idx]`, `--map=dev` if `dev`, on a machine with `ram_gib` GiB of RAM.
///
/// `None` for configurations the driver rejects (a `--map=dev` reserve with no room left for
/// data): the error tests cover those, the comparison tests want valid ones. Callers that
/// compare should count the `Some`s, so that a change making everything `None` cannot pass
/// silently.
///
/// # Panics
/// If `align_idx` is not below 3.
#[must_use]
pub fn devdax_plan(
    units: u64,
    align_idx: usize,
    dev: bool,
    profile: Profile,
    ram_gib: u64,
) -> Option<PlanConfig> {
    let align = DEVDAX_ALIGNS[align_idx];
    let unit = align.max(ByteSize::mib(2));
    let mut cfg = PlanConfig::new(
        ByteSize::new(unit.bytes() * units),
        align,
        if dev { MapMode::Dev } else { MapMode::Mem },
        profile,
    );
    cfg.ram_size = ByteSize::gib(ram_gib);
    plan(&cfg).ok().map(|_| cfg)
}

/// Random [`devdax_plan`]s: every profile, align and map mode; 1 GiB aligned devices up to
/// 6 GiB, the rest up to ~1.4 GiB; RAM sizes either side of the 64 GiB boundary.
pub fn devdax_plans() -> impl Strategy<Value = Option<PlanConfig>> {
    (
        1u64..700,
        0usize..3,
        any::<bool>(),
        prop::sample::select(ALL_PROFILES.to_vec()),
        prop::sample::select(vec![4u64, 8, 60, 64, 100]),
    )
        .prop_map(|(units, align_idx, dev, profile, ram_gib)| {
            let units = if align_idx == 2 { 1 + units % 6 } else { units };
            devdax_plan(units, align_idx, dev, profile, ram_gib)
        })
}
