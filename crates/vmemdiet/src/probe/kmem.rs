//! Device memory onlined as System RAM beside the model: per dax device bound to kmem (or CXL
//! ram region), the blocks its range holds and their states, whether its memmap is
//! self-hosted as the boot parameter, the device's `memmap_on_memory` and the kernel decide,
//! and what [`plan_kmem`] predicts from the live block size, parameter, device and range.

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::mm::memory_hotplug::{
    self, memory_block_memmap_on_memory_pages, mhp_supports_memmap_on_memory, MemmapOnMemory,
    OnlineZone,
};
use crate::mm::profile::Profile;
use crate::plan::kmem::{plan_kmem, KmemConfig, KmemPlan, KmemSource};
use crate::plan::DEFAULT_RAM;

use super::{BlockState, KmemDevice, System};

/// One device onlined as System RAM: what the system shows and what the model says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmemReport {
    pub name: String,
    /// What the model takes it for (sysfs does not tell CXL from hmem).
    pub source: KmemSource,
    pub start: Option<u64>,
    pub size: u64,
    /// The live memory block size (`block_size_bytes`).
    pub block_size: Option<u64>,
    /// `memory_hotplug.memmap_on_memory` on this boot (no file: a kernel without
    /// CONFIG_MHP_MEMMAP_ON_MEMORY, which behaves as `n`).
    pub param: Option<MemmapOnMemory>,
    /// The device's `memmap_on_memory` file.
    pub device_memmap_on_memory: Option<bool>,
    /// Blocks online, and blocks present, in the device's range.
    pub online_blocks: Option<u64>,
    pub total_blocks: Option<u64>,
    /// The zones its online blocks are in.
    pub zones: Vec<String>,
    /// Its blocks that are not online (`memoryN`).
    pub not_online: Vec<String>,
    /// Whether its blocks host their own memmap, inferred from the parameter, the device's
    /// file and the kernel (`None`: not known from the source).
    pub self_hosted: Option<bool>,
    /// Online blocks × block size less their self-hosted memmap.
    pub usable_bytes: Option<u64>,
    /// What `plan_kmem` predicts for it.
    pub model: Option<KmemPlan>,
    pub model_error: Option<String>,
    /// Differences and guesses, in sentences.
    pub notes: Vec<String>,
}

/// Every kmem device of `sys` beside the model under `profile`.
pub(super) fn system_ram(sys: &System, profile: Profile) -> Vec<KmemReport> {
    sys.kmem.iter().map(|d| device(sys, d, profile)).collect()
}

/// One device: the live side, the source and inputs the model gets, the plan, the notes.
fn device(sys: &System, d: &KmemDevice, profile: Profile) -> KmemReport {
    let g = Arch::X86_64.geometry();
    let mut notes = Vec::new();
    let block = block_size(sys, d);
    let param = sys
        .memory
        .as_ref()
        .map(|m| m.param.unwrap_or(MemmapOnMemory::N));
    let source = source(sys, d, profile, block, param, &mut notes);
    let mut r = KmemReport {
        name: d.name.clone(),
        source,
        start: d.start,
        size: d.size,
        block_size: block,
        param,
        device_memmap_on_memory: d.memmap_on_memory,
        online_blocks: None,
        total_blocks: None,
        zones: Vec::new(),
        not_online: Vec::new(),
        self_hosted: None,
        usable_bytes: None,
        model: None,
        model_error: None,
        notes: Vec::new(),
    };
    blocks(sys, d, &mut r);
    r.self_hosted = self_hosted(g, profile, &r);
    r.usable_bytes = live_usable(g, &r);
    match plan_kmem(&config(g, d, &r, profile, &mut notes)) {
        Ok(plan) => r.model = Some(plan),
        Err(e) => r.model_error = Some(e.to_string()),
    }
    notes.extend(differences(&r));
    r.notes = notes;
    r
}

/// The live block size: sysfs's, or for daxctl's JSON a block-aligned device's size over its
/// block count (`None`: the model probes it).
fn block_size(sys: &System, d: &KmemDevice) -> Option<u64> {
    if let Some(m) = &sys.memory {
        return Some(m.block_size);
    }
    let t = d.total_memblocks.filter(|t| *t > 0)?;
    (d.size.is_multiple_of(t) && (d.size / t).is_power_of_two()).then(|| d.size / t)
}

/// CXL when a `cxl list` ram region covers the device; pmem when a namespace is behind it;
/// else hmem, unless its `memmap_on_memory` reads 1 where no write could have set it, which
/// only `cxl_dax_region_probe`'s default does.
fn source(
    sys: &System,
    d: &KmemDevice,
    profile: Profile,
    block: Option<u64>,
    param: Option<MemmapOnMemory>,
    notes: &mut Vec<String>,
) -> KmemSource {
    if d.pmem.is_some() {
        return KmemSource::Pmem;
    }
    if let Some(start) = d.start {
        if let Some(reg) = sys.cxl_regions.iter().find(|r| r.covers(start, d.size)) {
            if reg.name != d.name {
                notes.push(format!("in CXL ram region {}", reg.name));
            }
            return KmemSource::Cxl;
        }
    }
    let release = profile.kernel();
    let write_fails = !memory_hotplug::DEVICE_KNOB_SINCE.at_or_before(release)
        || block.zip(param).is_some_and(|(b, p)| {
            mhp_supports_memmap_on_memory(Arch::X86_64.geometry(), release, ByteSize::new(b), p)
                .is_err()
        });
    if d.memmap_on_memory == Some(true) && write_fails {
        notes.push(
            "memmap_on_memory reads 1, which no write can set on this boot: the CXL driver's \
             default (cxl_dax_region_probe), so modelled as CXL"
                .into(),
        );
        return KmemSource::Cxl;
    }
    notes.push(
        "sysfs does not tell a CXL dax device from an hmem one (--cxl-json with \
         `cxl list -R` does)"
            .into(),
    );
    KmemSource::Hmem
}

/// The device's blocks: from sysfs those inside its range, else daxctl's counts.
fn blocks(sys: &System, d: &KmemDevice, r: &mut KmemReport) {
    if let (Some(m), Some(start)) = (&sys.memory, d.start) {
        let mut online = 0;
        let mut total = 0;
        for b in m.within(start, d.size) {
            total += 1;
            if b.state == BlockState::Online {
                online += 1;
                let z = b.valid_zones.clone().unwrap_or_else(|| "?".into());
                if !r.zones.contains(&z) {
                    r.zones.push(z);
                }
            } else {
                r.not_online.push(b.name());
            }
        }
        (r.online_blocks, r.total_blocks) = (Some(online), Some(total));
        return;
    }
    (r.online_blocks, r.total_blocks) = (d.online_memblocks, d.total_memblocks);
    if let Some(m) = d.movable {
        r.zones.push(if m { "Movable" } else { "Normal" }.into());
    }
}

/// Self-hosted memmap as the kernel grants it: Linux 6.8+, the boot parameter Y or force, the
/// device's `memmap_on_memory` 1, and a block size `mhp_supports_memmap_on_memory` accepts.
fn self_hosted(g: &Geometry, profile: Profile, r: &KmemReport) -> Option<bool> {
    let release = profile.kernel();
    if !memory_hotplug::DAX_KMEM_SINCE.at_or_before(release) || r.param == Some(MemmapOnMemory::N) {
        return Some(false);
    }
    let asks = match (r.device_memmap_on_memory, r.source) {
        (Some(v), _) => v,
        // Without the file, the source's default decides, and hmem may be a guess.
        (None, KmemSource::Hmem) => return None,
        (None, s) => s.default_memmap_on_memory(),
    };
    let (param, block) = (r.param?, r.block_size?);
    Some(asks && mhp_supports_memmap_on_memory(g, release, ByteSize::new(block), param).is_ok())
}

/// Online blocks × block size, less each block's self-hosted memmap.
fn live_usable(g: &Geometry, r: &KmemReport) -> Option<u64> {
    let (online, block) = (r.online_blocks?, r.block_size?);
    let per = if r.self_hosted? {
        memory_block_memmap_on_memory_pages(g, ByteSize::new(block), r.param?) * g.page_size()
    } else {
        0
    };
    Some(online * (block - per.min(block)))
}

/// What the model gets: the live range, block size, parameter, zone and the device's
/// `memmap_on_memory` where a write set it (a value equal to the source's default is none).
fn config(
    g: &Geometry,
    d: &KmemDevice,
    r: &KmemReport,
    profile: Profile,
    notes: &mut Vec<String>,
) -> KmemConfig {
    let knob = memory_hotplug::DEVICE_KNOB_SINCE.at_or_before(profile.kernel());
    let device_mom = match d.memmap_on_memory {
        Some(v) if v != r.source.default_memmap_on_memory() && knob => Some(v),
        Some(v) if v != r.source.default_memmap_on_memory() => {
            notes.push(format!(
                "memmap_on_memory reads {}, but {profile} has no such file by the model (6.9+): \
                 modelled with the {} default",
                u8::from(v),
                r.source
            ));
            None
        }
        _ => None,
    };
    let (size, start) = match d.pmem {
        Some(p) => (p.raw_bytes, p.start),
        None => (d.size, d.start),
    };
    KmemConfig {
        start: start.map(PhysAddr::new),
        source: r.source,
        param: r.param.unwrap_or(MemmapOnMemory::N),
        device_mom,
        block_size: r.block_size.map(ByteSize::new),
        zone: if r.zones.iter().any(|z| z == "Normal") {
            OnlineZone::Normal
        } else {
            OnlineZone::Movable
        },
        profile,
        ram_size: ram_below(g, start),
        pmem_align: d.pmem.map(|p| ByteSize::new(p.align)),
        pmem_map: d.pmem.map_or(crate::drivers::dax::MapMode::Dev, |p| p.map),
        ..KmemConfig::new(ByteSize::new(size))
    }
}

/// Boot RAM for the model that ends at or below the device (a live device never overlaps
/// System RAM), at most the planner's default: only the overlap check reads it, as the block
/// size is the live one.
fn ram_below(g: &Geometry, start: Option<u64>) -> ByteSize {
    let low_end = g.platform.low_ram.1.as_u64();
    start.map_or(DEFAULT_RAM, |s| {
        ByteSize::new(s.saturating_sub(low_end))
            .align_down(ByteSize::gib(1))
            .min(DEFAULT_RAM)
    })
}

/// Where the live side and the model differ, in sentences.
fn differences(r: &KmemReport) -> Vec<String> {
    let mut notes = Vec::new();
    if r.start.is_none() && r.online_blocks.is_none() {
        notes.push("no resource (root may read it): its memory blocks are not matched".into());
    }
    if r.param.is_none() {
        notes.push(
            "memory_hotplug.memmap_on_memory is not in the source: modelled as the kernel's \
             default, n"
                .into(),
        );
    }
    if r.block_size.is_none() {
        notes.push(
            "no block size in the source: the model probes x86-64's, boot RAM ending below \
             the device"
                .into(),
        );
    }
    if let Some(e) = &r.model_error {
        notes.push(format!("not modelled: {e}"));
    }
    let Some(m) = &r.model else {
        return notes;
    };
    if let Some(t) = r.total_blocks.filter(|t| *t != m.blocks) {
        notes.push(format!(
            "{t} memory blocks lie in its range; dax_kmem hot-adds {} by the model",
            m.blocks
        ));
    }
    if let Some(o) = r.online_blocks.filter(|o| *o < m.blocks) {
        let which = if r.not_online.is_empty() {
            String::new()
        } else {
            format!(" ({} not online)", r.not_online.join(", "))
        };
        notes.push(format!(
            "{o} of the model's {} blocks online{which}: usable is short by {}",
            m.blocks,
            ByteSize::new(m.usable_bytes.saturating_sub(r.usable_bytes.unwrap_or(0)))
        ));
    }
    if r.device_memmap_on_memory == Some(true) && !m.memmap_on_memory {
        notes.push(format!(
            "the device asks for memmap_on_memory (1), but its memmap is in DRAM ({}): {}",
            ByteSize::new(m.memmap_bytes),
            m.dram_reason.as_deref().unwrap_or("-")
        ));
    }
    if let Some(live) = r.self_hosted.filter(|l| *l != m.memmap_on_memory) {
        notes.push(format!(
            "self-hosted memmap: {} by the live values, {} by the model",
            yes_no(live),
            yes_no(m.memmap_on_memory)
        ));
    }
    notes
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
