//! INV-5: the closed-form planner, the simulation and the independent brute-force oracle of
//! `vmemdiet-testkit` agree on every count, for many configurations.
//!
//! Configurations the driver rejects are skipped (the error tests cover them), so each test
//! counts the configurations it actually compared and asserts a floor: a change that made every
//! configuration fail to build would otherwise pass by comparing nothing.

use std::cell::Cell;

use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use vmemdiet::mm::profile::ALL_PROFILES;
use vmemdiet::plan::{plan, PlanConfig};
use vmemdiet::simulate::simulate;
use vmemdiet_testkit::fixtures::oracle_cost;
use vmemdiet_testkit::strategies::{devdax_plan, devdax_plans};

/// Of the grid's 120 configurations, 102 are valid today (the 18 skipped are the one-unit
/// `--map=dev` devices, whose memmap reserve leaves no room for data); the floor leaves no slack,
/// so losing any of them fails.
const GRID_MIN_COMPARED: u32 = 102;
/// Generated cases per run.
const GENERATED_CASES: u32 = 200;
/// The share of generated cases that must be valid and compared. Over the whole strategy space
/// 97.2% are valid (122,280 of 125,820), so a run of 200 compares about 194 ± 2.3; 90% is six
/// standard deviations below that, so a valid build never flakes, while anything that makes
/// configurations fail wholesale does.
const GENERATED_MIN_COMPARED_PERCENT: u32 = 90;

fn check(cfg: &PlanConfig) {
    let planned = plan(cfg).unwrap();
    let simulated = simulate(cfg).unwrap();
    assert_eq!(planned, simulated, "planner vs simulation for {cfg:?}");
    assert_eq!(planned, oracle_cost(cfg), "planner vs oracle for {cfg:?}");
}

#[test]
fn inv5_planner_equals_simulation_on_a_grid() {
    let (mut tried, mut compared) = (0u32, 0u32);
    for profile in ALL_PROFILES {
        for align_idx in 0..3 {
            for dev in [false, true] {
                let units: &[u64] = if align_idx == 2 {
                    &[1, 3]
                } else {
                    &[1, 64, 65, 130]
                };
                for &u in units {
                    tried += 1;
                    if let Some(cfg) = devdax_plan(u, align_idx, dev, profile, 8) {
                        check(&cfg);
                        compared += 1;
                    }
                }
            }
        }
    }
    eprintln!("grid: compared {compared} of {tried}");
    assert!(
        compared >= GRID_MIN_COMPARED,
        "only {compared} of {tried} grid configurations were valid and compared \
         (floor {GRID_MIN_COMPARED}): did building configurations start failing?"
    );
}

#[test]
fn inv5_planner_equals_simulation_generated() {
    let compared = Cell::new(0u32);
    // What `proptest!` expands to, run by hand so the count can be checked after all cases.
    let mut runner = TestRunner::new(ProptestConfig {
        cases: GENERATED_CASES,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let result = runner.run(&devdax_plans(), |cfg| {
        if let Some(cfg) = cfg {
            check(&cfg);
            compared.set(compared.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    let compared = compared.get();
    eprintln!("generated: compared {compared} of {GENERATED_CASES}");
    assert!(
        compared * 100 >= GENERATED_MIN_COMPARED_PERCENT * GENERATED_CASES,
        "only {compared} of {GENERATED_CASES} generated configurations were valid and compared \
         (floor {GENERATED_MIN_COMPARED_PERCENT}%): did building configurations start failing?"
    );
}

#[test]
fn inv5_planner_equals_simulation_with_switch_overrides() {
    use vmemdiet::addr::ByteSize;
    use vmemdiet::drivers::dax::MapMode;
    use vmemdiet::mm::profile::Profile;
    let mut compared = 0;
    for profile in [
        "v6.15+dax_dedup=none",
        "v6.15+memmap_init=all",
        "v6.12+reserve_nr_rule=off",
        "next+pmd_tail_reuse=off",
        "next+altmap_dedup=off",
        "v5.19+compound_devmap=off+dax_dedup=none",
    ] {
        let profile: Profile = profile.parse().unwrap();
        for (align, map) in [
            (ByteSize::mib(2), MapMode::Mem),
            (ByteSize::gib(1), MapMode::Mem),
            (ByteSize::mib(2), MapMode::Dev),
        ] {
            let cfg = PlanConfig::new(ByteSize::gib(4), align, map, profile);
            let planned = plan(&cfg).unwrap();
            assert_eq!(planned, simulate(&cfg).unwrap(), "{cfg}");
            compared += 1;
        }
    }
    assert_eq!(compared, 18);
    // An override changes what is counted: v6.15 without dedup costs what v5.10's memmap costs.
    let p = |s: &str| {
        plan(&PlanConfig::new(
            ByteSize::gib(4),
            ByteSize::mib(2),
            MapMode::Mem,
            s.parse().unwrap(),
        ))
        .unwrap()
    };
    assert_eq!(
        p("v6.15+dax_dedup=none").memmap_bytes,
        p("v5.10").memmap_bytes
    );
    assert!(p("v6.15").memmap_bytes < p("v5.10").memmap_bytes);
}

#[test]
fn inv5_planner_equals_simulation_for_struct_page_size_what_ifs() {
    use vmemdiet::addr::ByteSize;
    use vmemdiet::drivers::dax::MapMode;
    use vmemdiet::mm::profile::Profile;
    let mut compared = 0;
    for sps in [32, 16, 8] {
        for profile in [Profile::V5_10, Profile::V6_15, Profile::V7_4, Profile::NEXT] {
            for (align, map) in [
                (ByteSize::kib(4), MapMode::Mem),
                (ByteSize::mib(2), MapMode::Mem),
                (ByteSize::gib(1), MapMode::Mem),
                (ByteSize::mib(2), MapMode::Dev),
            ] {
                let mut cfg = PlanConfig::new(ByteSize::gib(4), align, map, profile);
                cfg.struct_page_size = sps;
                let planned = plan(&cfg).unwrap();
                assert_eq!(planned, simulate(&cfg).unwrap(), "{cfg} at {sps} B");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 48);
}

#[test]
fn inv5_planner_equals_simulation_for_fsdev() {
    use vmemdiet::addr::ByteSize;
    use vmemdiet::drivers::dax::MapMode;
    use vmemdiet::plan::Kind;
    let mut compared = 0;
    for profile in ALL_PROFILES {
        for (align, map) in [
            (ByteSize::mib(2), MapMode::Mem),
            (ByteSize::gib(1), MapMode::Mem),
            (ByteSize::mib(2), MapMode::Dev),
        ] {
            let mut cfg = PlanConfig::new(ByteSize::gib(2), align, map, profile);
            cfg.kind = Kind::DevdaxFsdev;
            assert_eq!(plan(&cfg).unwrap(), simulate(&cfg).unwrap(), "{cfg}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3 * ALL_PROFILES.len());
}
