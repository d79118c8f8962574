//! INV-5: the closed-form planner, the simulation and the independent brute-force oracle of
//! `vmemdiet-testkit` agree on every count, for many configurations.

use proptest::prelude::*;
use vmemdiet::mm::profile::ALL_PROFILES;
use vmemdiet::plan::{plan, PlanConfig};
use vmemdiet::simulate::simulate;
use vmemdiet_testkit::fixtures::oracle_cost;
use vmemdiet_testkit::strategies::{devdax_plan, devdax_plans};

fn check(cfg: &PlanConfig) {
    let planned = plan(cfg).unwrap();
    let simulated = simulate(cfg).unwrap();
    assert_eq!(planned, simulated, "planner vs simulation for {cfg:?}");
    assert_eq!(planned, oracle_cost(cfg), "planner vs oracle for {cfg:?}");
}

#[test]
fn inv5_planner_equals_simulation_on_a_grid() {
    for profile in ALL_PROFILES {
        for align_idx in 0..3 {
            for dev in [false, true] {
                let units: &[u64] = if align_idx == 2 {
                    &[1, 3]
                } else {
                    &[1, 64, 65, 130]
                };
                for &u in units {
                    if let Some(cfg) = devdax_plan(u, align_idx, dev, profile, 8) {
                        check(&cfg);
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn inv5_planner_equals_simulation_generated(cfg in devdax_plans()) {
        if let Some(cfg) = cfg {
            check(&cfg);
        }
    }
}
