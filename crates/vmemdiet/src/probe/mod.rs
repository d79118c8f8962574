//! `vmemdiet probe`: what a running system shows beside what the model predicts for it. Reads
//! the kernel's sysfs ABI (`Documentation/ABI/testing/sysfs-bus-nvdimm`: a namespace's `size`,
//! `mode` and `resource`; its `daxX.Y` claim's `mode` (ram/pmem), `align`, `size`, `namespace`;
//! `sysfs-bus-dax`: the device-dax device's `size` and `align`), `/proc/vmstat`
//! (`nr_memmap_pages`, `nr_memmap_boot_pages`), the HugeTLB pools
//! (`/sys/kernel/mm/hugepages/hugepages-*kB/nr_hugepages`),
//! `/proc/sys/vm/hugetlb_optimize_vmemmap` and `/proc/sys/kernel/osrelease`; or the JSON of
//! `ndctl list -N -v` / `daxctl list` (`ndctl/json.c` `util_namespace_to_json`). A missing or
//! malformed input is an error that names the file.
//!
//! Memory onlined as System RAM is read too: the memory blocks
//! (`Documentation/ABI/testing/sysfs-devices-memory`: `block_size_bytes`, each block's
//! `state`, `valid_zones` and `phys_index`), the boot parameter
//! `memory_hotplug.memmap_on_memory`, and each dax device bound to kmem (`sysfs-bus-dax`:
//! `resource`, `size`, `memmap_on_memory`); or `daxctl list`'s system-ram devices and
//! `cxl list -R`'s regions. Each is put beside [`crate::plan::kmem::plan_kmem`].

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::drivers::dax::MapMode;
use crate::mm::profile::Profile;

mod compare;
mod json;
mod kmem;
mod memory;
mod sysfs;

pub use compare::compare;
pub use json::{read_cxl_json, read_daxctl_json, read_ndctl_json};
pub use kmem::KmemReport;
pub use memory::{BlockState, CxlRegion, KmemDevice, MemoryBlock, MemoryBlocks, PmemBacking};
pub use sysfs::read_root;

/// Why a probe could not read the system.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{}: {reason}", path.display())]
    Attr { path: PathBuf, reason: String },
    #[error("{}: not the JSON of `{tool}`: {reason}", path.display())]
    Json {
        path: PathBuf,
        tool: &'static str,
        reason: String,
    },
}

fn attr_err(path: &Path, reason: impl Into<String>) -> ProbeError {
    ProbeError::Attr {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A sysfs attribute, trimmed; `None` when the file does not exist.
fn read_opt(path: &Path) -> Result<Option<String>, ProbeError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(attr_err(path, format!("cannot read: {e}"))),
    }
}

fn read_req(path: &Path) -> Result<String, ProbeError> {
    read_opt(path)?.ok_or_else(|| attr_err(path, "missing (the kernel's ABI documents it)"))
}

/// A number as the kernel prints it: decimal, or `0x` hex (`resource`).
fn number(path: &Path, s: &str) -> Result<u64, ProbeError> {
    let parsed = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| attr_err(path, format!("not a number: '{s}'")))
}

fn read_num(path: &Path) -> Result<u64, ProbeError> {
    let s = read_req(path)?;
    number(path, &s)
}

/// One namespace (or device-dax device) as the system shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Namespace {
    /// `namespace0.0`, or `dax0.0` for a device without one.
    pub name: String,
    /// ndctl's mode: devdax, fsdax, raw, sector.
    pub mode: String,
    /// The raw namespace size (`namespaceX.Y/size`), when known (ndctl's JSON omits it).
    pub raw_bytes: Option<u64>,
    /// Where the memmap lives (the pfn `mode`: ram = mem, pmem = dev).
    pub map: Option<MapMode>,
    pub align: Option<u64>,
    /// The namespace's physical start (`resource`, admin-only).
    pub start: Option<u64>,
    /// The dax device's size (what the system made usable).
    pub usable_bytes: Option<u64>,
    /// The device-dax character device (`dax0.0`).
    pub chardev: Option<String>,
    /// The device-dax device is bound to kmem: System RAM, modelled in
    /// [`Report::system_ram`], not as a device-dax mapping.
    pub kmem: bool,
}

/// A HugeTLB pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pool {
    pub page_size: u64,
    pub nr_hugepages: u64,
}

/// Everything a probe read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct System {
    /// Where it came from (a root directory or a JSON file).
    pub source: String,
    pub namespaces: Vec<Namespace>,
    pub nr_memmap_pages: Option<u64>,
    pub nr_memmap_boot_pages: Option<u64>,
    pub pools: Vec<Pool>,
    pub hugetlb_optimize_vmemmap: Option<bool>,
    pub osrelease: Option<String>,
    /// `/sys/devices/system/memory` (`None`: absent, or not in the source).
    pub memory: Option<MemoryBlocks>,
    /// Dax devices onlined as System RAM (bound to kmem), or CXL ram regions to model.
    pub kmem: Vec<KmemDevice>,
    /// `cxl list -R`'s regions: they tell a CXL device from an hmem one, which sysfs does not.
    pub cxl_regions: Vec<CxlRegion>,
}

impl System {
    /// A system read from `source` with nothing in it yet.
    #[must_use]
    pub fn empty(source: String) -> System {
        System {
            source,
            namespaces: Vec::new(),
            nr_memmap_pages: None,
            nr_memmap_boot_pages: None,
            pools: Vec::new(),
            hugetlb_optimize_vmemmap: None,
            osrelease: None,
            memory: None,
            kmem: Vec::new(),
            cxl_regions: Vec::new(),
        }
    }
}

/// Sorted directory entries whose names start with `prefix`; none when the directory is absent.
fn entries(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>, ProbeError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(attr_err(dir, format!("cannot list: {e}"))),
    };
    let mut v: Vec<(String, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix).then(|| (name, e.path()))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// `daxX.Y` (not `dax_region`): a device-dax device's name, in sysfs and under `/dev`.
#[must_use]
pub fn is_dax_dev(name: &str) -> bool {
    name.strip_prefix("dax")
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

/// The pfn mode of a `daxX.Y`/`pfnX.Y` claim: `ram` is `--map=mem`, `pmem` `--map=dev`.
fn pfn_mode(path: &Path, s: &str) -> Result<MapMode, ProbeError> {
    match s {
        "ram" => Ok(MapMode::Mem),
        "pmem" => Ok(MapMode::Dev),
        _ => Err(attr_err(
            path,
            format!("'{s}' is not a pfn mode (ram or pmem)"),
        )),
    }
}

/// The profile of a live kernel's release, exactly by the change history
/// (`6.12.0-55.el10.x86_64` → `v6.12`, `7.1.13+deb13-amd64` → `v7.1.13`, with the stable
/// backports up to that point release); a release before the history's start (5.10) is
/// modelled as 5.10, the seeds' "before", which it matches in every switch the model has.
#[must_use]
pub fn profile_for_release(release: &str) -> Option<Profile> {
    let v = crate::arch::KernelVersion::parse(release)?;
    Some(Profile::release(
        v.max(crate::arch::KernelVersion::new(5, 10)),
    ))
}

/// One namespace: what the system shows and what the model says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceReport {
    #[serde(flatten)]
    pub live: Namespace,
    /// The raw size the model infers when the system does not show it (the smallest namespace
    /// that yields the live usable size; the real one may be larger by a whole reserve step).
    pub model_raw_bytes: Option<u64>,
    /// The dax device the model predicts from the raw size (`nd_pfn_init`).
    pub model_usable_bytes: Option<u64>,
    /// `live − model` usable bytes.
    pub usable_diff_bytes: Option<i128>,
    /// RAM the memmap really takes, and what `nr_memmap_pages` counts for it, per the model.
    pub model_memmap_bytes: Option<u64>,
    pub model_nr_memmap_pages: Option<u64>,
    /// What could not be modelled, in a sentence.
    pub note: Option<String>,
}

/// The whole probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub source: String,
    pub osrelease: Option<String>,
    pub profile: Profile,
    pub namespaces: Vec<NamespaceReport>,
    /// Device memory onlined as System RAM, beside `plan_kmem`.
    pub system_ram: Vec<KmemReport>,
    pub pools: Vec<Pool>,
    pub hugetlb_optimize_vmemmap: Option<bool>,
    pub live_nr_memmap_pages: Option<u64>,
    pub live_nr_memmap_boot_pages: Option<u64>,
    /// The model's `nr_memmap_pages` for the devices and pools found (other hot-added memory,
    /// e.g. kmem or virtio-mem, adds to the live figure).
    pub model_nr_memmap_pages: Option<u64>,
    /// What the memmap of the devices and pools really takes in RAM, per the model.
    pub model_memmap_bytes: u64,
    /// Sentences on differences and on counters known to mislead.
    pub notes: Vec<String>,
}

impl Report {
    /// True when the system has no device memory to speak of.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.system_ram.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_profiles() {
        let name = |r: &str| profile_for_release(r).map(|p| p.to_string());
        assert_eq!(name("5.4.0-150-generic").as_deref(), Some("v5.10"));
        assert_eq!(name("6.1.0-18-amd64").as_deref(), Some("v6.1"));
        assert_eq!(
            profile_for_release("6.12.0-55.el10.x86_64"),
            Some(Profile::V6_12)
        );
        assert_eq!(profile_for_release("6.15.0"), Some(Profile::V6_15));
        // 6.17 has 6.18's switches (README §2: the 6.17 column holds for 6.18).
        let p = profile_for_release("6.17.2").unwrap();
        assert_eq!(p.to_string(), "v6.17.2");
        assert_eq!(p.switches(), Profile::V6_18.switches());
        assert_eq!(profile_for_release("garbage"), None);
    }
}
