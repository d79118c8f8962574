//! Memory onlined as System RAM, as a system shows it: the memory blocks of
//! `/sys/devices/system/memory` (`Documentation/ABI/testing/sysfs-devices-memory`), the boot
//! parameter `memory_hotplug.memmap_on_memory`, the dax devices bound to kmem
//! (`sysfs-bus-dax`: `resource`, `size`, `memmap_on_memory`) and the CXL regions of
//! `cxl list -R`. Values no kernel writes are refused with the file and the value.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::drivers::dax::MapMode;
use crate::mm::memory_hotplug::MemmapOnMemory;

use super::{attr_err, entries, number, read_opt, read_req, Namespace, ProbeError};

/// The state of a memory block as `memoryN/state` reads it (`state_show`: `online`,
/// `offline`, `going-offline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockState {
    Online,
    Offline,
    GoingOffline,
}

/// One memory block (`/sys/devices/system/memory/memoryN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryBlock {
    /// N: the block's physical address / the block size (`phys_index`).
    pub index: u64,
    pub state: BlockState,
    /// `valid_zones`: an online block's zone (`Movable`, `Normal`); for an offline one the
    /// zones it may be onlined to.
    pub valid_zones: Option<String>,
}

impl MemoryBlock {
    /// `memoryN`, as sysfs names the block.
    #[must_use]
    pub fn name(&self) -> String {
        format!("memory{}", self.index)
    }
}

/// `/sys/devices/system/memory` with the boot parameter that decides where hot-added memmap
/// goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryBlocks {
    /// `block_size_bytes`.
    pub block_size: u64,
    /// `/sys/module/memory_hotplug/parameters/memmap_on_memory` (`None`: absent, a kernel
    /// without CONFIG_MHP_MEMMAP_ON_MEMORY, which behaves as `N`).
    pub param: Option<MemmapOnMemory>,
    pub blocks: Vec<MemoryBlock>,
}

impl MemoryBlocks {
    /// The blocks whose physical range lies inside `[start, start + size)`.
    pub fn within(&self, start: u64, size: u64) -> impl Iterator<Item = &MemoryBlock> {
        let end = start.saturating_add(size);
        self.blocks.iter().filter(move |b| {
            let a = b.index.saturating_mul(self.block_size);
            a >= start && a.saturating_add(self.block_size) <= end
        })
    }
}

/// The pmem namespace behind a kmem device (the model needs its raw size and reserve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PmemBacking {
    pub raw_bytes: u64,
    pub start: Option<u64>,
    pub align: u64,
    pub map: MapMode,
}

/// A dax device onlined as System RAM (bound to kmem), or a CXL ram region to model as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmemDevice {
    /// `dax0.0`, or `region0` for a region of `cxl list`.
    pub name: String,
    /// The device's physical start (`resource`; `None` when unreadable: root only).
    pub start: Option<u64>,
    pub size: u64,
    /// The device's `memmap_on_memory` (6.8+; `None`: absent or not in the source).
    pub memmap_on_memory: Option<bool>,
    pub pmem: Option<PmemBacking>,
    /// daxctl's `online_memblocks`, `total_memblocks` and `movable`.
    pub online_memblocks: Option<u64>,
    pub total_memblocks: Option<u64>,
    pub movable: Option<bool>,
}

/// One region of `cxl list -R` (`cxl/json.c` `util_cxl_region_to_json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CxlRegion {
    pub name: String,
    /// `resource` and `size`: the region's host physical range.
    pub start: Option<u64>,
    pub size: Option<u64>,
    /// `type`: `ram`, `pmem` (absent from older cxl-cli).
    pub kind: Option<String>,
    /// `decode_state` is `commit`.
    pub committed: bool,
}

impl CxlRegion {
    /// A committed ram region whose range holds `[start, start + size)`.
    #[must_use]
    pub fn covers(&self, start: u64, size: u64) -> bool {
        let (Some(s), Some(n)) = (self.start, self.size) else {
            return false;
        };
        self.kind.as_deref() == Some("ram")
            && self.committed
            && s <= start
            && start.saturating_add(size) <= s.saturating_add(n)
    }

    /// The region as a kmem device to model (`None`: not a committed ram region with a range).
    #[must_use]
    pub fn as_kmem(&self) -> Option<KmemDevice> {
        let (Some(start), Some(size)) = (self.start, self.size) else {
            return None;
        };
        self.covers(start, size).then(|| KmemDevice {
            name: self.name.clone(),
            start: Some(start),
            size,
            memmap_on_memory: None,
            pmem: None,
            online_memblocks: None,
            total_memblocks: None,
            movable: None,
        })
    }
}

/// Hex as `%lx` writes it: digits only, no `0x`.
fn bare_hex(path: &Path, what: &str, s: &str) -> Result<u64, ProbeError> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(attr_err(
            path,
            format!("{what} '{s}': not the bare hex the kernel writes (%lx, no 0x)"),
        ));
    }
    u64::from_str_radix(s, 16).map_err(|_| attr_err(path, format!("{what} '{s}': beyond 64 bits")))
}

/// `/sys/devices/system/memory` and the boot parameter; `None` when the directory is absent.
pub(super) fn read_memory(root: &Path) -> Result<Option<MemoryBlocks>, ProbeError> {
    let dir = root.join("sys/devices/system/memory");
    if !dir.is_dir() {
        return Ok(None);
    }
    let bs_path = dir.join("block_size_bytes");
    let text = read_req(&bs_path)?;
    let block_size = bare_hex(&bs_path, "block size", &text)?;
    if !block_size.is_power_of_two() {
        return Err(attr_err(
            &bs_path,
            format!("block size '{text}': no kernel uses it (a power of two)"),
        ));
    }
    let mut blocks = Vec::new();
    for (name, bdir) in entries(&dir, "memory")? {
        let Some(n) = name
            .strip_prefix("memory")
            .and_then(|d| d.parse::<u64>().ok())
        else {
            continue;
        };
        blocks.push(read_block(&bdir, n)?);
    }
    if blocks.is_empty() {
        blocks = read_blocks_txt(&dir.join("blocks.txt"))?;
    }
    blocks.sort_by_key(|b| b.index);
    Ok(Some(MemoryBlocks {
        block_size,
        param: read_param(root)?,
        blocks,
    }))
}

/// One `memoryN`: its `state`, `phys_index` (which the ABI says equals N) and `valid_zones`.
fn read_block(dir: &Path, n: u64) -> Result<MemoryBlock, ProbeError> {
    let sp = dir.join("state");
    let pp = dir.join("phys_index");
    Ok(MemoryBlock {
        index: phys_index(&pp, &read_req(&pp)?, n)?,
        state: block_state(&sp, &read_req(&sp)?)?,
        valid_zones: read_opt(&dir.join("valid_zones"))?,
    })
}

/// `state_show`'s words.
fn block_state(path: &Path, s: &str) -> Result<BlockState, ProbeError> {
    match s {
        "online" => Ok(BlockState::Online),
        "offline" => Ok(BlockState::Offline),
        "going-offline" => Ok(BlockState::GoingOffline),
        _ => Err(attr_err(
            path,
            format!("'{s}' is not a block state (online, offline, going-offline)"),
        )),
    }
}

/// `phys_index` (`%08lx`), which must name the block `memoryN` itself.
fn phys_index(path: &Path, text: &str, n: u64) -> Result<u64, ProbeError> {
    let index = bare_hex(path, "phys_index", text)?;
    if index != n {
        return Err(attr_err(
            path,
            format!("phys_index '{text}' is block {index}, not memory{n}'s: no kernel writes it"),
        ));
    }
    Ok(index)
}

/// A capture's summary of the `memoryN/` directories (`tools/kernel-capture`), one line per
/// block: `memoryN phys_index=… state=… online=… valid_zones=… removable=… node=…`, each value
/// as the kernel wrote it; none when the file is absent.
fn read_blocks_txt(path: &Path) -> Result<Vec<MemoryBlock>, ProbeError> {
    let Some(text) = read_opt(path)? else {
        return Ok(Vec::new());
    };
    let mut blocks = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let n = words
            .next()
            .and_then(|w| w.strip_prefix("memory"))
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| attr_err(path, format!("'{line}': not memoryN key=value …")))?;
        let kv: Vec<(&str, &str)> = words.filter_map(|w| w.split_once('=')).collect();
        let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let need = |k: &str| get(k).ok_or_else(|| attr_err(path, format!("memory{n}: no {k}=")));
        blocks.push(MemoryBlock {
            index: phys_index(path, need("phys_index")?, n)?,
            state: block_state(path, need("state")?)?,
            valid_zones: get("valid_zones").map(str::to_string),
        });
    }
    Ok(blocks)
}

/// `memory_hotplug.memmap_on_memory` as the kernel prints it: `Y`/`N` (`param_get_bool`) or
/// `force` (6.6+).
fn read_param(root: &Path) -> Result<Option<MemmapOnMemory>, ProbeError> {
    let p = root.join("sys/module/memory_hotplug/parameters/memmap_on_memory");
    read_opt(&p)?
        .map(|s| match s.as_str() {
            "Y" => Ok(MemmapOnMemory::Y),
            "N" => Ok(MemmapOnMemory::N),
            "force" => Ok(MemmapOnMemory::Force),
            _ => Err(attr_err(&p, format!("'{s}' is not Y, N or force"))),
        })
        .transpose()
}

/// Is `daxX.Y` bound to kmem? Its `driver` link ends in `kmem`, or the kmem driver's
/// directory links it (a copy that dereferenced links keeps that name), or, in a copy that
/// kept no links, memory blocks lie in its range: only kmem hot-adds a dax range as blocks.
pub(super) fn bound_to_kmem(
    root: &Path,
    name: &str,
    dir: &Path,
    memory: Option<&MemoryBlocks>,
) -> Result<bool, ProbeError> {
    if let Ok(target) = fs::read_link(dir.join("driver")) {
        return Ok(target.file_name().is_some_and(|f| f == "kmem"));
    }
    if fs::symlink_metadata(root.join("sys/bus/dax/drivers/kmem").join(name)).is_ok() {
        return Ok(true);
    }
    let (Some(m), Some(size)) = (memory, read_opt(&dir.join("size"))?) else {
        return Ok(false);
    };
    let size = number(&dir.join("size"), &size)?;
    let rp = dir.join("resource");
    Ok(match fs::read_to_string(&rp) {
        Ok(s) => m.within(number(&rp, s.trim())?, size).next().is_some(),
        Err(_) => false,
    })
}

/// A dax device bound to kmem: its range, its `memmap_on_memory`, and the namespace behind it
/// when there is one.
pub(super) fn read_kmem_device(
    name: &str,
    dir: &Path,
    size: u64,
    ns: Option<&Namespace>,
) -> Result<KmemDevice, ProbeError> {
    let mp = dir.join("memmap_on_memory");
    let memmap_on_memory = read_opt(&mp)?
        .map(|s| match s.as_str() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(attr_err(&mp, format!("'{s}' is not 0 or 1"))),
        })
        .transpose()?;
    let pmem = ns.and_then(|ns| {
        Some(PmemBacking {
            raw_bytes: ns.raw_bytes?,
            start: ns.start,
            align: ns.align?,
            map: ns.map?,
        })
    });
    Ok(KmemDevice {
        name: name.to_string(),
        start: read_resource(&dir.join("resource"))?,
        size,
        memmap_on_memory,
        pmem,
        online_memblocks: None,
        total_memblocks: None,
        movable: None,
    })
}

/// `daxX.Y/resource` (`%#llx`, mode 0400): `None` when only root may read it.
fn read_resource(path: &Path) -> Result<Option<u64>, ProbeError> {
    match fs::read_to_string(path) {
        Ok(s) => number(path, s.trim()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(attr_err(
            path,
            "missing (the kernel's ABI documents it since 5.3)",
        )),
        Err(e) => Err(attr_err(path, format!("cannot read: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn online(index: u64) -> MemoryBlock {
        MemoryBlock {
            index,
            state: BlockState::Online,
            valid_zones: Some("Movable".into()),
        }
    }

    /// With 2 GiB blocks, block N spans [N × 2 GiB, (N + 1) × 2 GiB): an 8 GiB device at
    /// 66 GiB holds blocks 33–36, and one that starts 2 MiB in holds none of its first block.
    #[test]
    fn blocks_inside_a_range() {
        let m = MemoryBlocks {
            block_size: 2 * GIB,
            param: None,
            blocks: (32..=37).map(online).collect(),
        };
        let ids = |s, n| m.within(s, n).map(|b| b.index).collect::<Vec<_>>();
        assert_eq!(ids(66 * GIB, 8 * GIB), vec![33, 34, 35, 36]);
        assert_eq!(ids(66 * GIB + (2 << 20), 8 * GIB), vec![34, 35, 36]);
        assert_eq!(online(35).name(), "memory35");
    }

    /// Only a committed ram region with a range covers a device, and only within its range.
    #[test]
    fn ram_regions_cover_devices() {
        let r = CxlRegion {
            name: "region0".into(),
            start: Some(66 * GIB),
            size: Some(8 * GIB),
            kind: Some("ram".into()),
            committed: true,
        };
        assert!(r.covers(66 * GIB, 8 * GIB));
        assert!(!r.covers(66 * GIB, 8 * GIB + 1));
        assert_eq!(r.as_kmem().map(|k| k.size), Some(8 * GIB));
        for other in [
            CxlRegion {
                kind: Some("pmem".into()),
                ..r.clone()
            },
            CxlRegion {
                committed: false,
                ..r.clone()
            },
            CxlRegion {
                start: None,
                ..r.clone()
            },
        ] {
            assert!(!other.covers(66 * GIB, GIB) && other.as_kmem().is_none());
        }
    }
}
