//! Namespace capacity (issue 14): what `ndctl create-namespace -s SIZE` yields by the kernel's
//! rules (`nd_pfn_init`), the inverse question (`plan --usable`), and INV-5 for capacity: the
//! planner's closed form equals the device the simulation builds on a pmem namespace.

use proptest::prelude::*;
use vmemdiet::addr::ByteSize;
use vmemdiet::arch::{Arch, EVERY_ARCH, X86_64};
use vmemdiet::drivers::dax::{valid_aligns, DaxError, MapMode};
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::ndctl::{self, Region};
use vmemdiet::plan::{
    capacity, namespace_capacity, plan, smallest_namespace, PlanConfig, PlanError,
};
use vmemdiet::planner::{answer, Request};
use vmemdiet::simulate::simulate_namespace;

const ALIGNS: [ByteSize; 3] = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];

fn cfg(size: ByteSize, align: ByteSize, map: MapMode, profile: Profile) -> PlanConfig {
    PlanConfig::new(size, align, map, profile)
}

fn usable(size: ByteSize, align: ByteSize, map: MapMode) -> u64 {
    capacity(&cfg(size, align, map, Profile::V6_15))
        .unwrap()
        .usable_bytes
}

#[test]
fn golden_capacities() {
    let (k4, m2, g1) = (ALIGNS[0], ALIGNS[1], ALIGNS[2]);
    // The example: at 1G with --map=mem the info block costs a whole 1 GiB.
    assert_eq!(usable(ByteSize::gib(16), g1, MapMode::Mem), 15 << 30);
    // At 4K and 2M it costs memremap_compat_align(), 2 MiB.
    for a in [k4, m2] {
        assert_eq!(
            usable(ByteSize::gib(16), a, MapMode::Mem),
            (16 << 30) - (2 << 20)
        );
    }
    // --map=dev: 64 B per 4 KiB after the 8 KiB info block, rounded up to the align.
    assert_eq!(
        usable(ByteSize::tib(1), m2, MapMode::Dev),
        (1 << 40) - (16 << 30) - (2 << 20)
    );
    assert_eq!(
        usable(ByteSize::tib(1), g1, MapMode::Dev),
        (1 << 40) - (17 << 30)
    );
    // pmem/ndctl#167 (kernel brief §10): a 1500 GiB namespace comes out as 1476.56 GiB.
    let u = usable(ByteSize::gib(1500), m2, MapMode::Dev);
    assert_eq!(u, 1_511_998 << 20);
    #[allow(clippy::cast_precision_loss)]
    let gib = u as f64 / f64::from(1u32 << 30);
    assert_eq!(format!("{gib:.2}"), "1476.56");
    // reserve = raw − usable, and the device side of it is the --map=dev reserve.
    let c = cfg(ByteSize::tib(1), m2, MapMode::Dev, Profile::V6_15);
    let cap = capacity(&c).unwrap();
    assert_eq!(cap.reserve_bytes, (16 << 30) + (2 << 20));
    assert_eq!(plan(&c).unwrap().device_bytes, cap.reserve_bytes);
}

#[test]
fn too_small_namespaces_name_the_smallest_that_works() {
    let region = Region::with_default_align(&X86_64, 1, ByteSize::tib(1)).unwrap();
    let c = cfg(
        ByteSize::gib(1),
        ByteSize::gib(1),
        MapMode::Mem,
        Profile::V6_15,
    );
    let size = ndctl::parse_size_arg("1G").unwrap();
    let e = namespace_capacity(&c, &size, &region).unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::Dax(DaxError::NamespaceTooSmall { min, .. }) if min == ByteSize::gib(2)
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("smallest valid size is 2 GiB"),
        "{e}"
    );
    // --map=dev at 2M: 16M passes ndctl, but its reserve (8K + 256K → 2M) leaves 14M; fine.
    // At 1G, 1G of memmap reserve rounds to 1 GiB: 2 GiB is the least.
    let c = cfg(
        ByteSize::gib(1),
        ByteSize::gib(1),
        MapMode::Dev,
        Profile::V6_15,
    );
    let e = namespace_capacity(&c, &size, &region).unwrap_err();
    assert!(
        e.to_string().contains("smallest valid size is 2 GiB"),
        "{e}"
    );
    // The named minimum works and one step less does not.
    for map in [MapMode::Mem, MapMode::Dev] {
        for align in ALIGNS {
            let c = cfg(ByteSize::new(0), align, map, Profile::V6_15);
            let min = smallest_namespace(&c, &region, ByteSize::new(1)).unwrap();
            let s = ndctl::parse_size_arg(&min.bytes().to_string()).unwrap();
            assert!(namespace_capacity(&PlanConfig { size: min, ..c }, &s, &region).is_ok());
            let step = region.step(&X86_64, align);
            if let Some(less) = min.checked_sub(step).filter(|l| l.bytes() >= 16 << 20) {
                assert!(
                    capacity(&PlanConfig { size: less, ..c }).is_err(),
                    "{align} {map}"
                );
            }
        }
    }
}

#[test]
fn inv5_capacity_planned_equals_the_device_simulated() {
    let mut compared = 0;
    for profile in ALL_PROFILES {
        for align in ALIGNS {
            for map in [MapMode::Mem, MapMode::Dev] {
                for size in [ByteSize::gib(2), ByteSize::gib(3)] {
                    let c = cfg(size, align, map, profile);
                    let planned = capacity(&c).unwrap();
                    let (cost, simulated) = simulate_namespace(&c).unwrap();
                    assert_eq!(planned, simulated, "{c}");
                    assert_eq!(plan(&c).unwrap(), cost, "{c}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, ALL_PROFILES.len() * 12);
}

fn profiles() -> impl Strategy<Value = Profile> {
    prop::sample::select(vec![
        Profile::V5_10,
        Profile::V6_15,
        Profile::V7_4,
        Profile::NEXT,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The inverse gives a namespace ndctl accepts that yields at least what was asked, and no
    /// smaller valid namespace does.
    #[test]
    fn inverse_is_the_smallest_namespace_that_yields_enough(
        want in 1u64..(64u64 << 40),
        align_idx in 0usize..3,
        dev in any::<bool>(),
        profile in profiles(),
        ways in 1u32..5,
    ) {
        let g = &X86_64;
        let region = Region::with_default_align(g, ways, ByteSize::tib(64)).unwrap();
        let map = if dev { MapMode::Dev } else { MapMode::Mem };
        let align = ALIGNS[align_idx];
        let c = cfg(ByteSize::new(0), align, map, profile);
        let want = ByteSize::new(want);
        let size = match smallest_namespace(&c, &region, want) {
            Ok(size) => size,
            // Near 64 TiB the namespace ends beyond x86-64's 46-bit limit: refused, as the
            // forward plan refuses it.
            Err(PlanError::TooLarge { .. }) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let text = ndctl::parse_size_arg(&size.bytes().to_string()).unwrap();
        let got = namespace_capacity(&PlanConfig { size, ..c }, &text, &region).unwrap();
        prop_assert!(got.usable_bytes >= want.bytes());
        prop_assert_eq!(got.usable_bytes + got.reserve_bytes, size.bytes());
        let step = region.step(g, align);
        if let Some(less) = size.checked_sub(step).filter(|&l| l >= region.min_size(g, align)) {
            let smaller = capacity(&PlanConfig { size: less, ..c });
            prop_assert!(smaller.is_err() || smaller.unwrap().usable_bytes < want.bytes());
        }
    }

    /// Forward then inverse: asking for what a valid namespace yields gives back that
    /// namespace or a smaller one yielding as much.
    #[test]
    fn forward_then_inverse_round_trips(
        steps in 1u64..40_000,
        align_idx in 0usize..3,
        dev in any::<bool>(),
        profile in profiles(),
    ) {
        let g = &X86_64;
        let region = Region::with_default_align(g, 1, ByteSize::tib(64)).unwrap();
        let align = ALIGNS[align_idx];
        let map = if dev { MapMode::Dev } else { MapMode::Mem };
        let size = ByteSize::new(region.step(g, align).bytes() * steps);
        let c = cfg(size, align, map, profile);
        // A size the plan accepts too: the inverse answers only with such sizes.
        if let (Ok(cap), Ok(_)) = (capacity(&c), plan(&c)) {
            let back = smallest_namespace(&c, &region, ByteSize::new(cap.usable_bytes)).unwrap();
            prop_assert!(back <= size);
            let again = capacity(&PlanConfig { size: back, ..c }).unwrap();
            prop_assert!(again.usable_bytes >= cap.usable_bytes);
        }
    }
}

/// The planner's forward check of a namespace, as `plan --size SIZE` asks it (ndctl's
/// validation, the kernel's rules, the capacity): the usable size, or `None` if refused.
fn forward(arch: Arch, align: ByteSize, map: MapMode, p: Profile, size: u64) -> Option<u64> {
    let req = Request {
        sizes: vec![ndctl::parse_size_arg(&size.to_string()).ok()?],
        aligns: vec![align],
        maps: vec![map],
        profiles: vec![p],
        arches: vec![arch],
        ..Request::default()
    };
    let a = answer(&req, &mut |_| {}).ok()?;
    a.rows[0].row.usable_bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `plan --usable` on every arch (its VA variants too), map and align it offers: the
    /// namespace it answers with is one `plan --size` accepts and that yields enough, and one
    /// step less is refused or yields too little. Where the arch cannot reach that much, the
    /// refusal says so.
    #[test]
    fn usable_answers_are_accepted_forward_on_every_arch(
        arch_idx in 0..EVERY_ARCH.len(),
        dev in any::<bool>(),
        align_pick in 0usize..8,
        profile in prop::sample::select(vec![Profile::V6_12, Profile::V7_3, Profile::NEXT]),
        want in (1u64 << 30)..(64u64 << 40),
    ) {
        let arch = EVERY_ARCH[arch_idx];
        let g = arch.geometry();
        let aligns = valid_aligns(g, profile.kernel());
        let align = aligns[align_pick % aligns.len()];
        let map = if dev { MapMode::Dev } else { MapMode::Mem };
        let req = Request {
            usable: Some(ByteSize::new(want)),
            aligns: vec![align],
            maps: vec![map],
            profiles: vec![profile],
            arches: vec![arch],
            ..Request::default()
        };
        let size = match answer(&req, &mut |_| {}) {
            Ok(a) => a.rows[0].row.size,
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.contains("physical address limit"), "{arch} {align}: {e}");
                return Ok(());
            }
        };
        let got = forward(arch, align, map, profile, size);
        prop_assert!(got.is_some_and(|u| u >= want), "{arch} {align} {map}: {size} gives {got:?}");
        let step = Region::with_default_align(g, 1, ByteSize::new(u64::MAX)).unwrap().step(g, align);
        let less = forward(arch, align, map, profile, size - step.bytes());
        prop_assert!(less.is_none_or(|u| u < want), "{arch} {align} {map}: {size} less a step gives {less:?}");
    }
}
