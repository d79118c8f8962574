//! A machine of several devices in one answer (`plan --device KIND:SIZE[:OPTION...]`): each
//! device's DRAM memmap, the device capacity it loses and what stays usable, the totals, and
//! the memmap's share of the machine's DRAM. Devices are placed one after another in the
//! machine's device region (device-private ranges from the top of the direct map down, as
//! `request_free_mem_region` finds them).

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::machine::phys_map::device_region_start;
use crate::mm::memory_hotplug::{MemmapOnMemory, OnlineZone};
use crate::mm::profile::Profile;

use crate::plan::kmem::{plan_kmem, KmemConfig, KmemPlan, KmemSource};
use crate::plan::zone_device::{
    direct_map_end, plan_zone_device, ZoneDeviceConfig, ZoneDevicePlan, ZoneDeviceType,
};
use crate::plan::PlanError;

/// What one `--device` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A pmem namespace in devdax mode.
    Devdax {
        align: Option<ByteSize>,
        map: MapMode,
    },
    /// A dax device onlined as System RAM.
    Kmem {
        source: KmemSource,
        device_mom: Option<bool>,
        zone: OnlineZone,
    },
    /// Device memory the firmware made plain System RAM at boot (memmap on its node).
    BootRam,
    /// GPU or PCI memory registered with `memremap_pages`.
    ZoneDevice {
        ty: ZoneDeviceType,
        folio: Option<ByteSize>,
    },
}

/// One `--device KIND:SIZE[:OPTION...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub kind: DeviceKind,
    /// The size of one device.
    pub size: ByteSize,
    /// How many identical devices (`x8`).
    pub count: u64,
    /// Where the first lies (`start=ADDR`).
    pub start: Option<PhysAddr>,
    /// As the user wrote it.
    pub text: String,
}

impl std::str::FromStr for DeviceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |what: String| format!("{what}; give KIND:SIZE[:OPTION...] (see --help)");
        let mut parts = s.split(':');
        let kind_text = parts.next().unwrap_or_default();
        let size_text = parts.next().ok_or_else(|| bad("no size".into()))?;
        let size: ByteSize = size_text.parse().map_err(|e| bad(format!("{e}")))?;
        let mut kind = match kind_text {
            "kmem" => DeviceKind::Kmem {
                source: KmemSource::Cxl,
                device_mom: None,
                zone: OnlineZone::Movable,
            },
            "ram" => DeviceKind::BootRam,
            "devdax" => DeviceKind::Devdax {
                align: None,
                map: MapMode::Dev,
            },
            "device-private" | "device-coherent" | "p2pdma" => DeviceKind::ZoneDevice {
                ty: match kind_text {
                    "device-private" => ZoneDeviceType::Private,
                    "device-coherent" => ZoneDeviceType::Coherent,
                    _ => ZoneDeviceType::P2pdma,
                },
                folio: None,
            },
            k => return Err(bad(format!("unknown kind '{k}'"))),
        };
        let mut spec = DeviceSpec {
            kind,
            size,
            count: 1,
            start: None,
            text: s.to_string(),
        };
        for opt in parts {
            apply_option(&mut spec, &mut kind, opt).map_err(bad)?;
        }
        spec.kind = kind;
        Ok(spec)
    }
}

/// One `:OPTION` of a `--device`.
fn apply_option(spec: &mut DeviceSpec, kind: &mut DeviceKind, opt: &str) -> Result<(), String> {
    if let Some(n) = opt.strip_prefix('x') {
        spec.count = n
            .parse::<u64>()
            .ok()
            .filter(|&n| (1..=4096).contains(&n))
            .ok_or_else(|| format!("count '{opt}': give x1 to x4096"))?;
        return Ok(());
    }
    if let Some(a) = opt.strip_prefix("start=") {
        let v = crate::ndctl::parse_size64(a).map_err(|e| format!("start '{a}': {e}"))?;
        spec.start = Some(PhysAddr::new(v.bytes.bytes()));
        return Ok(());
    }
    match kind {
        DeviceKind::Kmem {
            source,
            device_mom,
            zone,
        } => match opt {
            "mom=0" => *device_mom = Some(false),
            "mom=1" => *device_mom = Some(true),
            _ => {
                if let Ok(s) = opt.parse() {
                    *source = s;
                } else {
                    *zone = opt
                        .parse()
                        .map_err(|_| format!("unknown kmem option '{opt}'"))?;
                }
            }
        },
        DeviceKind::Devdax { align, map } => {
            if let Ok(m) = opt.parse() {
                *map = m;
            } else {
                *align = Some(
                    opt.parse()
                        .map_err(|_| format!("unknown devdax option '{opt}'"))?,
                );
            }
        }
        DeviceKind::BootRam => return Err(format!("unknown ram option '{opt}'")),
        DeviceKind::ZoneDevice { folio, .. } => {
            let f = opt
                .strip_prefix("folio=")
                .ok_or_else(|| format!("unknown option '{opt}'"))?;
            *folio = Some(f.parse().map_err(|e| format!("folio '{f}': {e}"))?);
        }
    }
    Ok(())
}

/// The machine the devices are added to.
#[derive(Debug, Clone)]
pub struct MachineRequest {
    pub devices: Vec<DeviceSpec>,
    pub arch: Arch,
    pub profile: Profile,
    pub ram: ByteSize,
    /// `memory_hotplug.memmap_on_memory`.
    pub param: MemmapOnMemory,
    pub block_size: Option<ByteSize>,
    pub vm: bool,
    pub simulate: bool,
}

/// One device of the answer; byte counts are for all `count` devices together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceRow {
    pub device: String,
    pub kind: String,
    pub count: u64,
    /// The size of one device.
    pub size: u64,
    pub profile: Profile,
    /// The boot parameter `memory_hotplug.memmap_on_memory` of the machine.
    pub memmap_on_memory: MemmapOnMemory,
    /// What the memory gives its user: MemTotal gained (kmem), the dax device (devdax), the
    /// registered range (ZONE_DEVICE).
    pub usable_bytes: u64,
    /// Struct pages in DRAM.
    pub memmap_bytes: u64,
    /// Device capacity lost: `size − usable` (reserve, alignment, self-hosted memmap).
    pub device_bytes: u64,
    pub pagetable_bytes: u64,
    pub simulated: bool,
    /// The kmem plan of one device (null for other kinds).
    pub kmem: Option<KmemPlan>,
    /// The ZONE_DEVICE plan of one device (null for other kinds).
    pub zone_device: Option<ZoneDevicePlan>,
}

/// The answer for a machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineAnswer {
    pub arch: Arch,
    pub ram_bytes: u64,
    pub memmap_on_memory: MemmapOnMemory,
    pub rows: Vec<DeviceRow>,
    pub usable_bytes: u64,
    pub memmap_bytes: u64,
    pub device_bytes: u64,
    pub pagetable_bytes: u64,
    /// `memmap_bytes / ram_bytes`.
    pub memmap_share_of_ram: f64,
    /// kmem memory onlined movable over the RAM left for the kernel zones (RAM less the DRAM
    /// memmap): the kernel's guide keeps it at 3:1 or 4:1 (device-memory.md §1.6, rule 8).
    pub movable_to_kernel: f64,
}

/// Where the next device of the machine goes: up from the device region's start, and for
/// device-private ranges down from the direct map's end.
struct Cursor {
    up: u64,
    down: u64,
}

impl Cursor {
    /// The start of a device of `size` at 1 GiB alignment (or where the user put it).
    fn next_up(&mut self, given: Option<PhysAddr>, size: ByteSize) -> PhysAddr {
        let start = given.map_or(self.up.next_multiple_of(1 << 30), PhysAddr::as_u64);
        self.up = self.up.max(start.saturating_add(size.bytes()));
        PhysAddr::new(start)
    }
}

/// Plans (or simulates) every device of the machine.
///
/// # Errors
/// The first device the kernel or the planner refuses, named by its `--device` text.
pub fn answer_machine(
    req: &MachineRequest,
    on_done: &mut dyn FnMut(&str),
) -> Result<MachineAnswer, MachineError> {
    let g = req.arch.geometry();
    let mut cursor = Cursor {
        up: device_region_start(g, req.ram).map_or(u64::MAX, PhysAddr::as_u64),
        down: direct_map_end(g, req.ram).as_u64(),
    };
    let mut rows = Vec::new();
    for spec in &req.devices {
        let row = device_row(req, spec, &mut cursor).map_err(|error| MachineError::Device {
            device: spec.text.clone(),
            error,
        })?;
        on_done(&spec.text);
        rows.push(row);
    }
    let sum = |f: fn(&DeviceRow) -> u64| rows.iter().map(f).sum::<u64>();
    let memmap = sum(|r| r.memmap_bytes);
    let movable: u64 = req
        .devices
        .iter()
        .zip(&rows)
        .filter(|(d, _)| {
            matches!(
                d.kind,
                DeviceKind::Kmem {
                    zone: OnlineZone::Movable,
                    ..
                }
            )
        })
        .map(|(_, r)| r.usable_bytes)
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let (share, movable_to_kernel) = (
        memmap as f64 / req.ram.bytes().max(1) as f64,
        movable as f64 / req.ram.bytes().saturating_sub(memmap).max(1) as f64,
    );
    Ok(MachineAnswer {
        arch: req.arch,
        ram_bytes: req.ram.bytes(),
        memmap_on_memory: req.param,
        usable_bytes: sum(|r| r.usable_bytes),
        memmap_bytes: memmap,
        device_bytes: sum(|r| r.device_bytes),
        pagetable_bytes: sum(|r| r.pagetable_bytes),
        memmap_share_of_ram: share,
        movable_to_kernel,
        rows,
    })
}

/// What a machine's device cannot be.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("{device}: {error}")]
    Device {
        device: String,
        #[source]
        error: DeviceError,
    },
}

/// Why one device failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Planner(#[from] Box<super::PlannerError>),
    #[error(transparent)]
    Simulate(#[from] crate::simulate::SimError),
}

/// One device's row: every instance placed and planned (or simulated), then summed.
fn device_row(
    req: &MachineRequest,
    spec: &DeviceSpec,
    cursor: &mut Cursor,
) -> Result<DeviceRow, DeviceError> {
    let mut row = DeviceRow {
        device: spec.text.clone(),
        kind: kind_name(spec.kind),
        count: spec.count,
        size: spec.size.bytes(),
        profile: req.profile,
        memmap_on_memory: req.param,
        usable_bytes: 0,
        memmap_bytes: 0,
        device_bytes: 0,
        pagetable_bytes: 0,
        simulated: req.simulate,
        kmem: None,
        zone_device: None,
    };
    for i in 0..spec.count {
        let given = spec.start.filter(|_| i == 0);
        let (usable, memmap, lost, tables) = match spec.kind {
            DeviceKind::Kmem { .. } => {
                let p = kmem_instance(req, spec, cursor.next_up(given, spec.size))?;
                let counts = (
                    p.usable_bytes,
                    p.memmap_bytes,
                    p.device_bytes,
                    p.pagetable_bytes,
                );
                row.kmem = Some(p);
                counts
            }
            DeviceKind::ZoneDevice { ty, folio } => {
                let start = match (given, ty) {
                    (Some(s), _) => s,
                    (None, ZoneDeviceType::Private) => {
                        let reg = spec.size.align_up(req.arch.geometry().section_size());
                        cursor.down = cursor.down.saturating_sub(reg.bytes());
                        PhysAddr::new(cursor.down)
                    }
                    (None, _) => cursor.next_up(None, spec.size),
                };
                let p = zone_device_instance(req, spec.size, ty, folio, start)?;
                let counts = (p.registered_bytes, p.memmap_bytes, 0, p.pagetable_bytes);
                row.zone_device = Some(p);
                counts
            }
            DeviceKind::Devdax { align, map } => devdax_instance(req, spec.size, align, map)?,
            DeviceKind::BootRam => {
                let p = crate::plan::boot_ram::plan_boot_ram(req.arch, spec.size);
                (p.usable_bytes, 0, p.memmap_on_node_bytes, 0)
            }
        };
        row.usable_bytes += usable;
        row.memmap_bytes += memmap;
        row.device_bytes += lost;
        row.pagetable_bytes += tables;
    }
    Ok(row)
}

fn kind_name(kind: DeviceKind) -> String {
    match kind {
        DeviceKind::Devdax { .. } => "devdax".into(),
        DeviceKind::BootRam => "boot RAM".into(),
        DeviceKind::Kmem { source, .. } => format!("kmem ({source})"),
        DeviceKind::ZoneDevice { ty, .. } => ty.to_string(),
    }
}

fn kmem_instance(
    req: &MachineRequest,
    spec: &DeviceSpec,
    start: PhysAddr,
) -> Result<KmemPlan, DeviceError> {
    let DeviceKind::Kmem {
        source,
        device_mom,
        zone,
    } = spec.kind
    else {
        unreachable!("called for kmem devices only");
    };
    let cfg = KmemConfig {
        start: Some(start),
        source,
        param: req.param,
        device_mom,
        block_size: req.block_size,
        vm: req.vm,
        zone,
        profile: req.profile,
        arch: req.arch,
        ram_size: req.ram,
        ..KmemConfig::new(spec.size)
    };
    Ok(if req.simulate {
        crate::simulate::device::simulate_kmem(&cfg)?
    } else {
        plan_kmem(&cfg)?
    })
}

fn zone_device_instance(
    req: &MachineRequest,
    size: ByteSize,
    ty: ZoneDeviceType,
    folio: Option<ByteSize>,
    start: PhysAddr,
) -> Result<ZoneDevicePlan, DeviceError> {
    let cfg = ZoneDeviceConfig {
        ty,
        size,
        start: Some(start),
        folio,
        profile: req.profile,
        arch: req.arch,
        ram_size: req.ram,
    };
    Ok(if req.simulate {
        crate::simulate::device::simulate_zone_device(&cfg)?
    } else {
        plan_zone_device(&cfg)?
    })
}

/// A devdax namespace through the namespace planner: (usable, DRAM memmap, lost, tables).
fn devdax_instance(
    req: &MachineRequest,
    size: ByteSize,
    align: Option<ByteSize>,
    map: MapMode,
) -> Result<(u64, u64, u64, u64), DeviceError> {
    let r = super::Request {
        sizes: vec![crate::ndctl::parse_size_arg(&size.bytes().to_string())
            .map_err(|e| Box::new(e.into()))?],
        aligns: align.into_iter().collect(),
        maps: vec![map],
        profiles: vec![req.profile],
        arches: vec![req.arch],
        ram: Some(req.ram),
        simulate: req.simulate,
        ..super::Request::default()
    };
    let a = super::answer(&r, &mut |_| {}).map_err(Box::new)?;
    let row = a.rows[0].row;
    let usable = row.usable_bytes.unwrap_or(0);
    Ok((
        usable,
        row.memmap_bytes,
        size.bytes() - usable,
        row.pagetable_bytes,
    ))
}
