//! INV-5 for device memory: the closed form of dax_kmem and of ZONE_DEVICE ranges equals the
//! simulation (probe, hot-add per block, online, measure, offline, remove; `memremap_pages`)
//! on every count, over a matrix of sizes, block sizes, starts, options and profiles; and
//! teardown gives every frame back (the simulation fails otherwise).

use vmemdiet::addr::{ByteSize, PhysAddr};
use vmemdiet::machine::phys_map::device_region_start;
use vmemdiet::mm::memory_hotplug::MemmapOnMemory;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::kmem::{plan_kmem, KmemConfig, KmemSource};
use vmemdiet::plan::zone_device::{plan_zone_device, ZoneDeviceConfig, ZoneDeviceType};
use vmemdiet::simulate::device::{simulate_kmem, simulate_zone_device};

const RAM: ByteSize = ByteSize::gib(4);

#[test]
fn kmem_planner_equals_simulation() {
    let g = vmemdiet::arch::Arch::X86_64.geometry();
    let region = device_region_start(g, RAM).unwrap().as_u64();
    let mut checked = 0;
    for size in [ByteSize::mib(4096 + 64), ByteSize::gib(6)] {
        for block in [ByteSize::mib(128), ByteSize::gib(2)] {
            for offset in [0, 64 << 20] {
                for param in [MemmapOnMemory::N, MemmapOnMemory::Y, MemmapOnMemory::Force] {
                    for source in [KmemSource::Cxl, KmemSource::Hmem] {
                        for profile in [
                            Profile::release(vmemdiet::arch::KernelVersion::new(6, 7)),
                            Profile::V7_3,
                            Profile::NEXT,
                        ] {
                            let cfg = KmemConfig {
                                start: Some(PhysAddr::new(region + offset)),
                                block_size: Some(block),
                                param,
                                source,
                                profile,
                                ram_size: RAM,
                                ..KmemConfig::new(size)
                            };
                            let plan = plan_kmem(&cfg).unwrap();
                            let sim =
                                simulate_kmem(&cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
                            assert_eq!(plan, sim, "{cfg:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 144);
}

#[test]
fn zone_device_planner_equals_simulation() {
    for ty in [
        ZoneDeviceType::Private,
        ZoneDeviceType::Coherent,
        ZoneDeviceType::P2pdma,
    ] {
        for size in [ByteSize::mib(2), ByteSize::mib(130), ByteSize::gib(1)] {
            for (profile, folio) in [
                (Profile::V7_3, None),
                (Profile::NEXT, Some(ByteSize::mib(2))),
            ] {
                let folio = folio.filter(|_| ty == ZoneDeviceType::Private);
                let cfg = ZoneDeviceConfig {
                    ty,
                    size,
                    start: None,
                    folio,
                    profile,
                    arch: vmemdiet::arch::Arch::X86_64,
                    ram_size: RAM,
                };
                let plan = plan_zone_device(&cfg).unwrap();
                let sim = simulate_zone_device(&cfg).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
                assert_eq!(plan, sim, "{cfg:?}");
            }
        }
    }
}

/// What `next`'s what-if saves: a 1 GiB device-private range with PMD folios keeps one
/// vmemmap frame per folio plus the shared tail (512 + 1 frames), against 16 MiB.
#[test]
fn next_dedups_large_device_private_folios() {
    let cfg = |profile, folio| ZoneDeviceConfig {
        ty: ZoneDeviceType::Private,
        size: ByteSize::gib(1),
        start: None,
        folio,
        profile,
        arch: vmemdiet::arch::Arch::X86_64,
        ram_size: RAM,
    };
    let today = plan_zone_device(&cfg(Profile::V7_3, Some(ByteSize::mib(2)))).unwrap();
    assert_eq!(today.memmap_bytes, (1 << 30) / 64);
    let next = plan_zone_device(&cfg(Profile::NEXT, Some(ByteSize::mib(2)))).unwrap();
    assert_eq!(next.memmap_bytes, (512 + 1) * 4096);
    // Before 6.19 there are no large device-private folios to ask for.
    let old = cfg(Profile::V6_18, Some(ByteSize::mib(2)));
    assert!(plan_zone_device(&old)
        .unwrap_err()
        .to_string()
        .contains("6.19"));
}
