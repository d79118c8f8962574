//! INV-5 across architectures against the independent oracle: for every arch, the planner's
//! counts equal `vmemdiet-testkit`'s brute-force oracle, which models each arch's
//! `vmemmap_populate()` from the kernel sources (not from the library). Both sides must also
//! agree on which configurations the kernel refuses.

use vmemdiet::addr::ByteSize;
use vmemdiet::arch::ARCHES;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::ALL_PROFILES;
use vmemdiet::plan::{plan, PlanConfig};
use vmemdiet_testkit::arch_sizes;
use vmemdiet_testkit::fixtures::try_oracle_cost;

/// Configurations compared (planner and oracle both accept) today; a change that made
/// configurations fail wholesale would drop below it.
const MIN_COMPARED: usize = 300;

#[test]
fn planner_equals_oracle_on_every_arch() {
    let (mut compared, mut refused) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for arch in ARCHES {
        let name = arch.to_string();
        let (page, pmd, pud, compat, section) = arch_sizes(&name);
        for profile in ALL_PROFILES {
            for align in [page, pmd, pud] {
                let unit = align.max(compat);
                for size in [unit, 3 * unit, section.max(unit) + unit] {
                    if size > 48 << 30 {
                        continue;
                    }
                    for map in [MapMode::Mem, MapMode::Dev] {
                        let mut c = PlanConfig {
                            arch,
                            ..PlanConfig::new(
                                ByteSize::new(size),
                                ByteSize::new(align),
                                map,
                                profile,
                            )
                        };
                        c.ram_size = ByteSize::gib(8);
                        match (plan(&c), try_oracle_cost(&c)) {
                            (Ok(planned), Ok(oracle)) => {
                                if planned != oracle {
                                    disagreements.push(format!(
                                        "{c}\n    planner {planned:?}\n    oracle  {oracle:?}"
                                    ));
                                }
                                compared += 1;
                            }
                            (Ok(planned), Err(e)) => disagreements.push(format!(
                                "{c}\n    planner accepts {planned:?}\n    oracle refuses: {e}"
                            )),
                            (Err(e), Ok(oracle)) => disagreements.push(format!(
                                "{c}\n    planner refuses: {e}\n    oracle accepts {oracle:?}"
                            )),
                            (Err(_), Err(_)) => refused += 1,
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "compared {compared}, both refused {refused}, disagreements {}",
        disagreements.len()
    );
    for d in &disagreements {
        eprintln!("DISAGREE {d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements",
        disagreements.len()
    );
    assert!(compared >= MIN_COMPARED, "only {compared} compared");
}
