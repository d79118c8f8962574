//! The planner of dax_kmem and ZONE_DEVICE memory against an independent oracle:
//! `tools/oracle/device_memory.py`, written from device-memory.md §4 and the kernel sources
//! (its FACTS.md says what was read where) without reading this code. Its cases are the CSV
//! files in `tests/data/`; every row is checked, refusals included.
//!
//! The oracle's machine has no RAM above 4 GiB; ours has (x86-64 keeps RAM from 4 GiB up), so
//! every kmem start moves up by 1 TiB: a multiple of every block and huge page size, which
//! changes no count.

use vmemdiet::addr::{ByteSize, PhysAddr};
use vmemdiet::arch::{Arch, KernelVersion};
use vmemdiet::mm::memory_hotplug::MemmapOnMemory;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::kmem::{plan_kmem, KmemConfig, KmemError, KmemSource};
use vmemdiet::plan::zone_device::{plan_zone_device, ZoneDeviceConfig, ZoneDeviceType};
use vmemdiet::plan::PlanError;

const SHIFT: u64 = 1 << 40;
const RAM: ByteSize = ByteSize::gib(4);

/// The rows of a CSV file of the oracle, as (column → value) maps.
fn rows(name: &str) -> Vec<std::collections::HashMap<String, String>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::HashMap<String, String>, key: &str) -> u64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key}={} in {row:?}", row[key]))
}

fn profile(kernel: &str) -> Profile {
    Profile::release(KernelVersion::parse(kernel).expect("a release"))
}

/// The config of one kmem row: its pmem rows give the dax range after the namespace reserve,
/// which is what an hmem device is (same memmap_on_memory default, 0).
fn kmem_config(row: &std::collections::HashMap<String, String>) -> KmemConfig {
    let source = match row["source"].as_str() {
        "pmem" | "hmem" => KmemSource::Hmem,
        _ => KmemSource::Cxl,
    };
    KmemConfig {
        size: ByteSize::new(num(row, "size")),
        start: Some(PhysAddr::new(num(row, "start") + SHIFT)),
        source,
        param: row["param"]
            .parse::<MemmapOnMemory>()
            .expect("n, y or force"),
        device_mom: match row["device_mom"].as_str() {
            "default" => None,
            v => Some(v == "1"),
        },
        block_size: Some(ByteSize::new(num(row, "block_size"))),
        arch: row["arch"].parse::<Arch>().expect("an arch"),
        ram_size: RAM,
        profile: profile(&row["kernel"]),
        ..KmemConfig::new(ByteSize::new(0))
    }
}

/// Which refusal the oracle's keyword stands for.
fn refused_as(keyword: &str, e: &PlanError) -> bool {
    matches!(
        (keyword, e),
        ("too-small", PlanError::Kmem(KmemError::TooSmall { .. }))
            | ("block-size", PlanError::Kmem(KmemError::BlockSize(..)))
            | (
                "force-needs-6.6",
                PlanError::Kmem(KmemError::ForceTooOld(_))
            )
            | ("no-knob", PlanError::Kmem(KmemError::NoKnob(_)))
            | (
                "knob-eopnotsupp",
                PlanError::Kmem(KmemError::KnobUnsupported(_))
            )
    )
}

#[test]
fn kmem_matches_the_oracle_on_every_case() {
    let cases = rows("kmem_cases.csv");
    assert!(
        cases.len() > 250,
        "the oracle's matrix: {} rows",
        cases.len()
    );
    let mut wrong = Vec::new();
    for row in &cases {
        let cfg = kmem_config(row);
        match (row["error"].as_str(), plan_kmem(&cfg)) {
            ("", Ok(p)) => {
                let got = [
                    u64::from(p.memmap_on_memory),
                    p.usable_bytes,
                    p.memmap_bytes,
                    p.device_bytes,
                    p.blocks,
                    p.hugetlb_2m_pages.unwrap_or(0),
                    p.hugetlb_1g_pages.unwrap_or(0),
                    u64::from(p.hvo),
                ];
                // The oracle's hvo says whether self-hosting skips HVO; whether the arch has HVO
                // at that release is the arch model's (arm64 lost it in 6.2, 060a2c92d1b6).
                let arch_hvo = cfg.geometry().features.hvo(cfg.profile.kernel());
                let mut want = [
                    "effective_mom",
                    "usable_bytes",
                    "dram_memmap_bytes",
                    "device_bytes",
                    "blocks",
                    "hugetlb_2m_pages",
                    "hugetlb_1g_pages",
                    "hvo",
                ]
                .map(|k| num(row, k));
                want[7] &= u64::from(arch_hvo);
                if got != want {
                    wrong.push(format!("{row:?}\n  got  {got:?}\n  want {want:?}"));
                }
            }
            ("", Err(e)) => wrong.push(format!("{row:?}\n  refused: {e}")),
            (k, Ok(_)) => wrong.push(format!("{row:?}\n  accepted, the oracle says {k}")),
            (k, Err(e)) if !refused_as(k, &e) => {
                wrong.push(format!("{row:?}\n  refused as {e}, the oracle says {k}"));
            }
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn zone_device_matches_the_oracle_on_every_case() {
    let cases = rows("zone_device_cases.csv");
    assert!(
        cases.len() > 50,
        "the oracle's matrix: {} rows",
        cases.len()
    );
    let mut wrong = Vec::new();
    for row in &cases {
        let ty = match row["type"].as_str() {
            "device-private" => ZoneDeviceType::Private,
            "device-coherent" => ZoneDeviceType::Coherent,
            _ => ZoneDeviceType::P2pdma,
        };
        let cfg = ZoneDeviceConfig {
            ty,
            size: ByteSize::new(num(row, "size")),
            // The oracle's device-private starts are where request_free_mem_region puts them:
            // ours must find the same.
            start: (ty != ZoneDeviceType::Private).then(|| PhysAddr::new(num(row, "start"))),
            folio: None,
            profile: Profile::default(),
            arch: row["arch"].parse::<Arch>().expect("an arch"),
            ram_size: RAM,
        };
        match (row["error"].as_str(), plan_zone_device(&cfg)) {
            ("", Ok(p)) => {
                let got = [p.start, p.registered_bytes, p.memmap_bytes];
                let want = ["start", "registered_bytes", "dram_memmap_bytes"].map(|k| num(row, k));
                if got != want {
                    wrong.push(format!("{row:?}\n  got  {got:?}\n  want {want:?}"));
                }
            }
            ("", Err(e)) => wrong.push(format!("{row:?}\n  refused: {e}")),
            (k, Ok(p)) => wrong.push(format!("{row:?}\n  accepted ({p:?}), the oracle says {k}")),
            (_, Err(_)) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
