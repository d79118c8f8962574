//! `vmemdiet plan` for device memory beyond device-dax: `--kind kmem`, `device-private`,
//! `device-coherent`, `p2pdma`, and a machine of several devices (`--device`). Parses the
//! options, asks the library's machine planner, and renders its rows.

use anyhow::bail;
use clap::Args;
use vmemdiet::addr::{ByteSize, PhysAddr};
use vmemdiet::arch::Arch;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::memory_hotplug::{MemmapOnMemory, OnlineZone};
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::kmem::KmemSource;
use vmemdiet::plan::zone_device::ZoneDeviceType;
use vmemdiet::plan::{default_ram, default_size, Kind};
use vmemdiet::planner::machine::{
    answer_machine, DeviceKind, DeviceRow, DeviceSpec, MachineAnswer, MachineRequest,
};

use crate::output::{
    column_table, narrow_table, parse_size, print_json, progress, size_short, term_width,
    SwitchArgs,
};

/// One `--kind` of `plan`: a namespace kind of the namespace planner, or device memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindArg {
    Namespace(Kind),
    Kmem,
    ZoneDevice(ZoneDeviceType),
}

impl KindArg {
    /// The namespace kind, for the namespace planner.
    pub fn namespace(&self) -> Option<Kind> {
        match self {
            KindArg::Namespace(k) => Some(*k),
            _ => None,
        }
    }
}

impl std::str::FromStr for KindArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "kmem" => KindArg::Kmem,
            "device-private" => KindArg::ZoneDevice(ZoneDeviceType::Private),
            "device-coherent" => KindArg::ZoneDevice(ZoneDeviceType::Coherent),
            "p2pdma" => KindArg::ZoneDevice(ZoneDeviceType::P2pdma),
            _ => KindArg::Namespace(s.parse().map_err(|e: String| {
                format!("{e}, kmem, device-private, device-coherent, p2pdma")
            })?),
        })
    }
}

/// The options of device memory (`plan --kind kmem|device-private|... `, `plan --device`).
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// A machine in one command: one --device per device (repeat it), as KIND:SIZE[:OPTION...]
    /// (kmem:256G:cxl, device-private:141G:x8, devdax:1T:2M, p2pdma:32G); one table with each
    /// device's DRAM memmap, capacity lost and usable, the total and its share of --ram.
    #[arg(long = "device", value_name = "KIND:SIZE[:OPT...]", long_help = DEVICE_HELP,
          conflicts_with_all = ["kind", "size", "usable", "align", "map"])]
    devices: Vec<DeviceSpec>,
    /// kmem: what produced the dax device: cxl (a CXL ram region; memmap_on_memory 1 by
    /// default), hmem (EFI soft-reserved; 0) or pmem (a devdax namespace; 0, and the dax range
    /// starts after the namespace reserve) [default: cxl].
    #[arg(long)]
    source: Option<KmemSource>,
    /// kmem: the boot parameter memory_hotplug.memmap_on_memory: n (the kernel's default), y,
    /// force (6.6+); a comma list gives rows for each [default: n].
    #[arg(long, value_delimiter = ',')]
    memmap_on_memory: Vec<MemmapOnMemory>,
    /// kmem: write 0 or 1 to the device's memmap_on_memory file first (6.9+; writing 1
    /// fails where the kernel cannot host the memmap) [default: the source's].
    #[arg(long, value_parser = parse_bit)]
    device_memmap_on_memory: Option<bool>,
    /// kmem: the memory block size [default: x86-64's probe from the end of boot RAM (128M
    /// below 64 GiB, else 2G on bare metal, see --vm); one section on other arches].
    #[arg(long, value_parser = parse_size)]
    block_size: Option<ByteSize>,
    /// kmem: the machine is a VM (x86-64's block size is then the largest power of two up to
    /// 2G that divides the end of boot RAM).
    #[arg(long)]
    vm: bool,
    /// kmem, device-coherent, p2pdma, device-private: the device's physical start [default:
    /// the machine's device region; device-private: where request_free_mem_region puts it].
    #[arg(long, value_parser = parse_addr)]
    start: Option<PhysAddr>,
    /// kmem: the zone the blocks are onlined to: movable (daxctl's default) or normal.
    #[arg(long)]
    zone: Option<OnlineZone>,
    /// device-private: the folio size, 2M for 6.19+ large folios (they save no memmap; under
    /// --profile next the pgmap is compound and its vmemmap deduplicated: the what-if).
    #[arg(long, value_parser = parse_size)]
    folio: Option<ByteSize>,
}

const DEVICE_HELP: &str = "A machine in one command: one --device per device (repeat it).\nSyntax: KIND:SIZE[:OPTION...]. KIND: kmem, devdax, device-private, device-coherent, p2pdma, ram (device memory the firmware made System RAM at boot: its memmap sits on it).\nOptions: xN (N identical devices), start=ADDR; kmem: cxl|hmem|pmem, mom=0|1, movable|normal; devdax: 4K|2M|1G, mem|dev; device-private: folio=2M.\nExample: --device kmem:256G:cxl --device device-private:141G:x8 --device devdax:1T:2M --ram 2T\nOne table: each device's DRAM memmap, device capacity lost and usable, the total, and the memmap's share of --ram. --memmap-on-memory, --block-size, --vm, --profile apply to the whole machine.";

fn parse_bit(s: &str) -> Result<bool, String> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("'{s}': give 0 or 1")),
    }
}

/// A physical address: decimal or 0x hex, with an optional binary suffix.
fn parse_addr(s: &str) -> Result<PhysAddr, String> {
    vmemdiet::ndctl::parse_size64(s)
        .map(|v| PhysAddr::new(v.bytes.bytes()))
        .map_err(|e| e.to_string())
}

impl DeviceArgs {
    /// Does `plan` ask about device memory?
    pub fn asked(&self, kinds: &[KindArg]) -> bool {
        !self.devices.is_empty() || kinds.iter().any(|k| k.namespace().is_none())
    }

    /// The device-memory options given, by flag.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--source", self.source.is_some()),
            ("--memmap-on-memory", !self.memmap_on_memory.is_empty()),
            (
                "--device-memmap-on-memory",
                self.device_memmap_on_memory.is_some(),
            ),
            ("--block-size", self.block_size.is_some()),
            ("--vm", self.vm),
            ("--start", self.start.is_some()),
            ("--zone", self.zone.is_some()),
            ("--folio", self.folio.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, on)| on.then_some(f))
        .collect()
    }

    /// Refuses device-memory options on a plan without device memory.
    pub fn check_unused(&self) -> anyhow::Result<()> {
        if let Some(flag) = self.given().first() {
            bail!("{flag} applies to device memory: give --kind kmem, device-private, device-coherent or p2pdma, or --device");
        }
        Ok(())
    }
}

/// What `plan` passes on for device memory.
pub struct DevicePlan<'a> {
    pub args: &'a DeviceArgs,
    pub kinds: &'a [KindArg],
    pub sizes: Vec<ByteSize>,
    pub aligns: &'a [ByteSize],
    pub maps: &'a [MapMode],
    pub profiles: Vec<Profile>,
    pub switches: &'a SwitchArgs,
    pub arches: &'a [Arch],
    pub ram: Option<ByteSize>,
    pub simulate: bool,
    pub json: bool,
    pub wide: bool,
}

/// Plans the device memory `plan` was asked about: one machine (`--device`), or a row per
/// kind, size, profile and boot parameter, each device alone on its machine.
pub fn run(mut p: DevicePlan) -> anyhow::Result<()> {
    let [arch] = p.arches[..] else {
        bail!("device memory is planned for one --arch at a time");
    };
    let profiles = if p.profiles.is_empty() {
        vec![Profile::default()]
    } else {
        p.profiles.clone()
    };
    let profiles = p.switches.apply_all(&profiles)?;
    let params = if p.args.memmap_on_memory.is_empty() {
        vec![MemmapOnMemory::N]
    } else {
        p.args.memmap_on_memory.clone()
    };
    let base = MachineRequest {
        devices: Vec::new(),
        arch,
        profile: profiles[0],
        ram: p.ram.unwrap_or_else(|| default_ram(arch.geometry())),
        param: params[0],
        block_size: p.args.block_size,
        vm: p.args.vm,
        simulate: p.simulate,
    };
    if !p.args.devices.is_empty() {
        if profiles.len() > 1 || params.len() > 1 {
            bail!("--device plans one machine: give one --profile and one --memmap-on-memory");
        }
        return run_machine(&p, base);
    }
    if p.sizes.is_empty() {
        p.sizes = vec![default_size(arch.geometry(), base.ram)];
    }
    let mut requests = Vec::new();
    for spec in specs_of(&p)? {
        for &profile in &profiles {
            for &param in &params {
                requests.push(MachineRequest {
                    devices: vec![spec.clone()],
                    profile,
                    param,
                    ..base.clone()
                });
            }
        }
    }
    run_rows(&p, &requests)
}

/// `--device`: one machine, one table with its totals.
fn run_machine(p: &DevicePlan, base: MachineRequest) -> anyhow::Result<()> {
    for (flag, given) in [
        ("--start", p.args.start.is_some()),
        ("--folio", p.args.folio.is_some()),
    ] {
        if given {
            bail!("{flag}: with --device, give it per device (start=ADDR, folio=2M)");
        }
    }
    let req = MachineRequest {
        devices: p.args.devices.clone(),
        ..base
    };
    refuse_silent_fallback(
        std::slice::from_ref(&req),
        p.args.memmap_on_memory.is_empty(),
    )?;
    let answer = machine(&req)?;
    print_machine(&answer, p.json, p.wide)
}

/// `--kind`: every request answered (a progress bar while simulating), the rows in one table.
fn run_rows(p: &DevicePlan, requests: &[MachineRequest]) -> anyhow::Result<()> {
    refuse_silent_fallback(requests, p.args.memmap_on_memory.is_empty())?;
    let pb = p
        .simulate
        .then(|| progress(requests.len() as u64, "simulating"));
    let mut rows = Vec::new();
    for r in requests {
        rows.extend(answer_machine(r, &mut |_| {})?.rows);
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    print_rows(&rows, p.json, p.wide, p.simulate)
}

/// A memmap_on_memory the user asked for that the kernel would silently refuse (keeping the
/// memmap in DRAM) is an error naming the rule, not a quiet row.
fn refuse_silent_fallback(requests: &[MachineRequest], default: bool) -> anyhow::Result<()> {
    if default {
        return Ok(());
    }
    for r in requests {
        let mut plain = r.clone();
        plain.simulate = false;
        let Ok(a) = answer_machine(&plain, &mut |_| {}) else {
            continue;
        };
        if let Some(why) = a.rows.iter().find_map(|row| row.kmem.as_ref()?.mom_refused) {
            bail!(
                "--memmap-on-memory {} on {} ({}): {why}; the kernel would silently keep the memmap in DRAM (plan that with --memmap-on-memory n)",
                r.param, r.arch, r.profile
            );
        }
    }
    Ok(())
}

/// Answers a machine, with a progress bar while it simulates.
fn machine(req: &MachineRequest) -> anyhow::Result<MachineAnswer> {
    let pb = req
        .simulate
        .then(|| progress(req.devices.len() as u64, "simulating"));
    let answer = answer_machine(req, &mut |_| {
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    })?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(answer)
}

/// One device per kind and size of `--kind` (devdax at the first --align and --map given).
fn specs_of(p: &DevicePlan) -> anyhow::Result<Vec<DeviceSpec>> {
    let a = p.args;
    let mut specs = Vec::new();
    for &kind in p.kinds {
        let kind = match kind {
            KindArg::Kmem => DeviceKind::Kmem {
                source: a.source.unwrap_or_default(),
                device_mom: a.device_memmap_on_memory,
                zone: a.zone.unwrap_or_default(),
            },
            KindArg::ZoneDevice(ty) => DeviceKind::ZoneDevice { ty, folio: a.folio },
            KindArg::Namespace(Kind::Devdax) => DeviceKind::Devdax {
                align: p.aligns.first().copied(),
                map: p.maps.first().copied().unwrap_or(MapMode::Dev),
            },
            KindArg::Namespace(k) => bail!(
                "--kind {k} cannot share a table with device memory kinds; plan it on its own"
            ),
        };
        for &size in &p.sizes {
            specs.push(DeviceSpec {
                kind,
                size,
                count: 1,
                start: a.start,
                text: kind_text(kind),
            });
        }
    }
    Ok(specs)
}

fn kind_text(kind: DeviceKind) -> String {
    match kind {
        DeviceKind::Kmem { source, .. } => format!("kmem {source}"),
        DeviceKind::ZoneDevice { ty, .. } => ty.to_string(),
        DeviceKind::BootRam => "boot RAM".into(),
        DeviceKind::Devdax { align, map } => format!(
            "devdax {} {map}",
            align.map_or_else(|| "PMD".into(), ByteSize::short)
        ),
    }
}

type Column = crate::output::Column<DeviceRow>;

const COLUMNS: &[Column] = &[
    ("device", |r| r.device.clone()),
    ("size", |r| ByteSize::new(r.size).short()),
    ("profile", |r| r.profile.to_string()),
    ("mom", |r| r.memmap_on_memory.to_string()),
    ("usable", |r| size_short(r.usable_bytes)),
    ("DRAM memmap", |r| size_short(r.memmap_bytes)),
    ("lost", |r| size_short(r.device_bytes)),
    ("blocks", |r| {
        r.kmem.as_ref().map_or_else(
            || "-".into(),
            |k| format!("{} x {}", k.blocks, ByteSize::new(k.block_size).short()),
        )
    }),
    ("self-host", |r| {
        r.kmem
            .as_ref()
            .map_or_else(|| "-".into(), |k| yes_no(k.memmap_on_memory))
    }),
    ("HVO", |r| {
        r.kmem
            .as_ref()
            .map_or_else(|| "-".into(), |k| yes_no(k.hvo))
    }),
    ("tables", |r| size_short(r.pagetable_bytes)),
    ("2M pages", |r| huge(r, |k| k.hugetlb_2m_pages)),
    ("1G pages", |r| huge(r, |k| k.hugetlb_1g_pages)),
];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn huge(r: &DeviceRow, f: fn(&vmemdiet::plan::kmem::KmemPlan) -> Option<u64>) -> String {
    r.kmem
        .as_ref()
        .and_then(f)
        .map_or_else(|| "-".into(), |n| n.to_string())
}

const FOOTER: &str = "usable = what MemTotal gains (kmem), the dax device (devdax), the range
(GPU, P2P); DRAM memmap = struct pages in DRAM; lost = device capacity not
usable (reserve, block alignment, memmap on the device); mom = boot parameter
memory_hotplug.memmap_on_memory; self-host = each block hosts its own memmap;
HVO = HugeTLB vmemmap optimization applies there. --wide for every column
(page tables, huge pages left), --json for tools.";

/// The rows of `--kind` device memory: JSON (a list of rows), every column, or those that fit.
fn print_rows(rows: &[DeviceRow], json: bool, wide: bool, simulate: bool) -> anyhow::Result<()> {
    if json {
        return print_json(rows);
    }
    print_table(rows, wide);
    println!(
        "{} row{}, {}.\n{FOOTER}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if simulate {
            "measured on the simulated machine"
        } else {
            "planned (closed form)"
        }
    );
    print_reasons(rows);
    Ok(())
}

fn print_table(rows: &[DeviceRow], wide: bool) {
    if wide {
        println!("{}", column_table(COLUMNS, rows));
        return;
    }
    let mut keep = vec![
        "device",
        "size",
        "profile",
        "mom",
        "usable",
        "DRAM memmap",
        "lost",
        "blocks",
        "self-host",
        "HVO",
    ];
    if rows.iter().all(|r| r.kmem.is_none()) {
        keep.retain(|c| !["mom", "blocks", "self-host", "HVO"].contains(c));
    }
    // Given up in this order until the table fits the terminal.
    let mut spare = ["HVO", "self-host", "size", "blocks"].into_iter();
    loop {
        let (t, notes) = narrow_table(COLUMNS, rows, &keep, &["device", "size", "profile", "mom"]);
        let width = crate::output::table_width(&t);
        match spare.next() {
            Some(c) if width > term_width() => keep.retain(|&k| k != c),
            _ => {
                println!("{t}");
                if !notes.is_empty() {
                    println!("{}", notes.join(", "));
                }
                return;
            }
        }
    }
}

/// Why each kmem memmap is in DRAM, once per reason.
fn print_reasons(rows: &[DeviceRow]) {
    let mut seen: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(why) = r.kmem.as_ref().and_then(|k| k.dram_reason.as_deref()) {
            if !seen.contains(&why) {
                println!("memmap in DRAM ({}): {why}", r.profile);
                seen.push(why);
            }
        }
    }
}

/// A machine: JSON (an object with its rows and totals), or the table with a total line.
fn print_machine(a: &MachineAnswer, json: bool, wide: bool) -> anyhow::Result<()> {
    if json {
        // One machine: one object, its devices in `rows`.
        println!("{}", serde_json::to_string_pretty(a)?);
        return Ok(());
    }
    print_table(&a.rows, wide);
    println!(
        "Total: usable {}, DRAM memmap {} ({:.2} % of {} RAM), lost {}.\n{FOOTER}",
        size_short(a.usable_bytes),
        size_short(a.memmap_bytes),
        a.memmap_share_of_ram * 100.0,
        size_short(a.ram_bytes),
        size_short(a.device_bytes),
    );
    print_reasons(&a.rows);
    if a.movable_to_kernel > 3.0 {
        println!(
            "ZONE_MOVABLE:kernel zones is {:.1}:1; the kernel's memory-hotplug guide: 3:1 or 4:1\nare fine, 63:1 definitely impossible (online some blocks with --zone normal).",
            a.movable_to_kernel
        );
    }
    Ok(())
}
