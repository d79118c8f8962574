//! `vmemdiet probe`: what a running system shows beside what the model predicts for it. Reads
//! the kernel's sysfs ABI (`Documentation/ABI/testing/sysfs-bus-nvdimm`: a namespace's `size`,
//! `mode` and `resource`; its `daxX.Y` claim's `mode` (ram/pmem), `align`, `size`, `namespace`;
//! `sysfs-bus-dax`: the device-dax device's `size` and `align`), `/proc/vmstat`
//! (`nr_memmap_pages`, `nr_memmap_boot_pages`), the HugeTLB pools
//! (`/sys/kernel/mm/hugepages/hugepages-*kB/nr_hugepages`),
//! `/proc/sys/vm/hugetlb_optimize_vmemmap` and `/proc/sys/kernel/osrelease`; or the JSON of
//! `ndctl list -N -v` / `daxctl list` (`ndctl/json.c` `util_namespace_to_json`). A missing or
//! malformed input is an error that names the file.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::MapMode;
use crate::drivers::nd_pfn;
use crate::mm::profile::{MemmapAccounting, Profile};
use crate::ndctl::Region;
use crate::plan::{plan, smallest_namespace, Kind, PlanConfig};

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

/// `daxX.Y` (not `dax_region`).
fn is_dax_dev(name: &str) -> bool {
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

/// Reads a live system, or a copy of its `/sys` and `/proc` under `root`.
pub fn read_root(root: &Path) -> Result<System, ProbeError> {
    let nd = root.join("sys/bus/nd/devices");
    let mut namespaces = Vec::new();
    let claims: Vec<(String, PathBuf)> = entries(&nd, "dax")?
        .into_iter()
        .chain(entries(&nd, "pfn")?)
        .filter(|(n, _)| is_dax_dev(n) || n.starts_with("pfn"))
        .collect();
    for (name, dir) in entries(&nd, "namespace")? {
        let size_path = dir.join("size");
        let raw = read_num(&size_path)?;
        if raw == 0 {
            continue; // a seed namespace, not configured
        }
        let kmode = read_req(&dir.join("mode"))?;
        let mut ns = Namespace {
            name: name.clone(),
            mode: match kmode.as_str() {
                "dax" => "devdax".into(),
                "memory" => "fsdax".into(),
                "safe" => "sector".into(),
                other => other.into(),
            },
            raw_bytes: Some(raw),
            map: None,
            align: None,
            start: read_opt(&dir.join("resource"))?
                .map(|s| number(&dir.join("resource"), &s))
                .transpose()?,
            usable_bytes: None,
            chardev: None,
        };
        // The claim (nd_dax or nd_pfn) whose `namespace` is this one.
        for (_, cdir) in &claims {
            if read_opt(&cdir.join("namespace"))?.as_deref() != Some(name.as_str()) {
                continue;
            }
            let mp = cdir.join("mode");
            ns.map = Some(pfn_mode(&mp, &read_req(&mp)?)?);
            ns.align = Some(read_num(&cdir.join("align"))?);
            ns.usable_bytes = read_opt(&cdir.join("size"))?
                .map(|s| number(&cdir.join("size"), &s))
                .transpose()?;
            // The device-dax device is a child of its nd_dax (sysfs-bus-dax: daxX.Y/size).
            for (dev, ddir) in entries(cdir, "dax")? {
                if is_dax_dev(&dev) && ddir.is_dir() {
                    ns.usable_bytes = Some(read_num(&ddir.join("size"))?);
                    ns.chardev = Some(dev);
                }
            }
        }
        namespaces.push(ns);
    }
    // Device-dax devices without an nvdimm namespace (hmem, CXL: /sys/bus/dax/devices).
    let known: Vec<String> = namespaces
        .iter()
        .filter_map(|n| n.chardev.clone())
        .collect();
    for (name, dir) in entries(&root.join("sys/bus/dax/devices"), "dax")? {
        if known.contains(&name) || !is_dax_dev(&name) {
            continue;
        }
        namespaces.push(Namespace {
            name: name.clone(),
            mode: "devdax".into(),
            raw_bytes: None,
            map: Some(MapMode::Mem),
            align: Some(read_num(&dir.join("align"))?),
            start: None,
            usable_bytes: Some(read_num(&dir.join("size"))?),
            chardev: Some(name),
        });
    }
    let vmstat_path = root.join("proc/vmstat");
    let (mut nr, mut boot) = (None, None);
    if let Some(text) = read_opt(&vmstat_path)? {
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(k), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            let slot = match k {
                "nr_memmap_pages" => &mut nr,
                "nr_memmap_boot_pages" => &mut boot,
                _ => continue,
            };
            *slot = Some(
                v.parse::<u64>()
                    .map_err(|_| attr_err(&vmstat_path, format!("{k}: not a number: '{v}'")))?,
            );
        }
    }
    let mut pools = Vec::new();
    for (name, dir) in entries(&root.join("sys/kernel/mm/hugepages"), "hugepages-")? {
        let kb = name
            .strip_prefix("hugepages-")
            .and_then(|s| s.strip_suffix("kB"))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| attr_err(&dir, "not a hugepages-<size>kB directory"))?;
        pools.push(Pool {
            page_size: kb * 1024,
            nr_hugepages: read_num(&dir.join("nr_hugepages"))?,
        });
    }
    let hvo_path = root.join("proc/sys/vm/hugetlb_optimize_vmemmap");
    let hvo = read_opt(&hvo_path)?
        .map(|s| match s.as_str() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(attr_err(&hvo_path, format!("'{s}' is not 0 or 1"))),
        })
        .transpose()?;
    Ok(System {
        source: root.display().to_string(),
        namespaces,
        nr_memmap_pages: nr,
        nr_memmap_boot_pages: boot,
        pools,
        hugetlb_optimize_vmemmap: hvo,
        osrelease: read_opt(&root.join("proc/sys/kernel/osrelease"))?,
    })
}

/// A JSON number, or a clear error for ndctl's human form (`-u`).
fn json_u64(
    path: &Path,
    tool: &'static str,
    v: &serde_json::Value,
    key: &str,
) -> Result<Option<u64>, ProbeError> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            n.as_u64().map(Some).ok_or_else(|| ProbeError::Json {
                path: path.to_path_buf(),
                tool,
                reason: format!("\"{key}\": {n} is not a byte count"),
            })
        }
        Some(other) => Err(ProbeError::Json {
            path: path.to_path_buf(),
            tool,
            reason: format!("\"{key}\": {other} is not a number (list without -u/--human)"),
        }),
    }
}

fn json_list(
    path: &Path,
    tool: &'static str,
    text: &str,
) -> Result<Vec<serde_json::Value>, ProbeError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ProbeError::Json {
        path: path.to_path_buf(),
        tool,
        reason: e.to_string(),
    })?;
    match v {
        serde_json::Value::Array(a) => Ok(a),
        o @ serde_json::Value::Object(_) => Ok(vec![o]),
        other => Err(ProbeError::Json {
            path: path.to_path_buf(),
            tool,
            reason: format!("expected an object or an array, found {other}"),
        }),
    }
}

fn json_str(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|s| s.as_str()).map(str::to_string)
}

/// The output of `ndctl list -N -v` (a namespace object or an array of them): `dev`, `mode`,
/// `map`, `size` (the dax/pfn device's size, the usable one), `align`, and the device-dax
/// `chardev` (directly, or in `daxregion.devices`). The raw size is not in it.
pub fn read_ndctl_json(path: &Path) -> Result<System, ProbeError> {
    const TOOL: &str = "ndctl list -N -v";
    let text = fs::read_to_string(path).map_err(|e| attr_err(path, format!("cannot read: {e}")))?;
    let mut namespaces = Vec::new();
    for v in json_list(path, TOOL, &text)? {
        let bad = |reason: String| ProbeError::Json {
            path: path.to_path_buf(),
            tool: TOOL,
            reason,
        };
        let name =
            json_str(&v, "dev").ok_or_else(|| bad(format!("a namespace without \"dev\": {v}")))?;
        let mode = json_str(&v, "mode").ok_or_else(|| bad(format!("{name}: no \"mode\"")))?;
        let map = match json_str(&v, "map").as_deref() {
            None => None,
            Some("mem") => Some(MapMode::Mem),
            Some("dev") => Some(MapMode::Dev),
            Some(m) => return Err(bad(format!("{name}: \"map\": '{m}' is not mem or dev"))),
        };
        let chardev = json_str(&v, "chardev").or_else(|| {
            v.get("daxregion")
                .and_then(|r| r.get("devices"))
                .and_then(|d| d.get(0))
                .and_then(|d| json_str(d, "chardev"))
        });
        namespaces.push(Namespace {
            name,
            mode,
            raw_bytes: None,
            map,
            align: json_u64(path, TOOL, &v, "align")?,
            start: None,
            usable_bytes: json_u64(path, TOOL, &v, "size")?,
            chardev,
        });
    }
    Ok(System {
        source: path.display().to_string(),
        namespaces,
        nr_memmap_pages: None,
        nr_memmap_boot_pages: None,
        pools: Vec::new(),
        hugetlb_optimize_vmemmap: None,
        osrelease: None,
    })
}

/// The output of `daxctl list` (a device object or an array): `chardev`, `size`, `align`
/// (when the daxctl prints it), `mode`.
pub fn read_daxctl_json(path: &Path) -> Result<System, ProbeError> {
    const TOOL: &str = "daxctl list";
    let text = fs::read_to_string(path).map_err(|e| attr_err(path, format!("cannot read: {e}")))?;
    let mut namespaces = Vec::new();
    for v in json_list(path, TOOL, &text)? {
        let name = json_str(&v, "chardev").ok_or_else(|| ProbeError::Json {
            path: path.to_path_buf(),
            tool: TOOL,
            reason: format!("a device without \"chardev\": {v}"),
        })?;
        namespaces.push(Namespace {
            name: name.clone(),
            mode: json_str(&v, "mode").unwrap_or_else(|| "devdax".into()),
            raw_bytes: None,
            map: None,
            align: json_u64(path, TOOL, &v, "align")?,
            start: None,
            usable_bytes: json_u64(path, TOOL, &v, "size")?,
            chardev: Some(name),
        });
    }
    Ok(System {
        source: path.display().to_string(),
        namespaces,
        nr_memmap_pages: None,
        nr_memmap_boot_pages: None,
        pools: Vec::new(),
        hugetlb_optimize_vmemmap: None,
        osrelease: None,
    })
}

/// The profile of a kernel release (`6.12.0-55.el10.x86_64` → `v6.12`): before 5.19 no DAX
/// dedup (`v5.10`), 5.19–6.10 dedup without the vmstat counters (`v5.19`), 6.11–6.14 the
/// counters counting the full span (`v6.12`), 6.15 on DAX folios (`v6.15`). The 2026 mm
/// series (`mm-2026`) is not told by a version number.
#[must_use]
pub fn profile_for_release(release: &str) -> Option<Profile> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = it.next()?.parse().ok()?;
    let minor: u32 = it.next()?.parse().ok()?;
    Some(match (major, minor) {
        (..=4, _) | (5, ..=18) => Profile::V5_10,
        (5, _) | (6, ..=10) => Profile::V5_19,
        (6, ..=14) => Profile::V6_12,
        _ => Profile::V6_15,
    })
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
        self.namespaces.is_empty()
    }
}

/// Compares `sys` with the model under `profile` (or the one its release maps to).
#[must_use]
pub fn compare(sys: &System, profile: Option<Profile>) -> Report {
    let g: &Geometry = Arch::X86_64.geometry();
    let profile = profile
        .or_else(|| sys.osrelease.as_deref().and_then(profile_for_release))
        .unwrap_or_default();
    let region = Region::with_default_align(g, 1, ByteSize::new(u64::MAX)).unwrap_or(Region {
        align: ByteSize::mib(16),
        ways: 1,
    });
    let mut notes = Vec::new();
    let mut namespaces = Vec::new();
    let (mut memmap_total, mut nr_total, mut nr_known) = (0u64, 0u64, true);
    for ns in &sys.namespaces {
        let mut r = NamespaceReport {
            live: ns.clone(),
            model_raw_bytes: None,
            model_usable_bytes: None,
            usable_diff_bytes: None,
            model_memmap_bytes: None,
            model_nr_memmap_pages: None,
            note: None,
        };
        let (Some(align), true) = (ns.align, ns.mode == "devdax" || ns.mode == "fsdax") else {
            r.note = Some(format!("{} mode: no dax device to model", ns.mode));
            namespaces.push(r);
            continue;
        };
        let align = ByteSize::new(align);
        // A device-dax device without a namespace (hmem/CXL) has no info block: its memmap
        // covers the device, all of it usable.
        let map = ns.map.unwrap_or(MapMode::Mem);
        let raw = match (ns.raw_bytes, ns.usable_bytes, ns.map) {
            (Some(raw), _, _) => Some(raw),
            (None, Some(u), Some(_)) => {
                let tmpl = PlanConfig::new(ByteSize::new(0), align, map, profile);
                let s = smallest_namespace(&tmpl, &region, ByteSize::new(u))
                    .ok()
                    .map(ByteSize::bytes);
                r.model_raw_bytes = s;
                s
            }
            (None, Some(u), None) => Some(u),
            (None, None, _) => None,
        };
        if let (Some(raw), Some(_)) = (ns.raw_bytes, ns.map) {
            let start = ns
                .start
                .map_or_else(|| PhysAddr::new(0x40_0000_0000), PhysAddr::new);
            match nd_pfn::nd_pfn_init(g, start, ByteSize::new(raw), align, map, None) {
                Ok(sb) => {
                    let model = sb.usable().bytes();
                    r.model_usable_bytes = Some(model);
                    if let Some(live) = ns.usable_bytes {
                        let d = i128::from(live) - i128::from(model);
                        r.usable_diff_bytes = Some(d);
                        if d != 0 {
                            notes.push(format!(
                                "{}: the dax device is {} bytes {} than nd_pfn_init predicts (an info block written by another kernel or with another align; `ndctl list -N -v` shows the align it was created with)",
                                ns.name,
                                d.unsigned_abs(),
                                if d > 0 { "larger" } else { "smaller" }
                            ));
                        }
                    }
                }
                Err(e) => r.note = Some(e.to_string()),
            }
        } else if ns.map.is_some() {
            r.model_usable_bytes = ns.usable_bytes;
        }
        if let Some(raw) = raw {
            let mut cfg = PlanConfig::new(ByteSize::new(raw), align, map, profile);
            cfg.kind = Kind::Devdax;
            match plan(&cfg) {
                Ok(c) => {
                    r.model_memmap_bytes = Some(c.memmap_bytes);
                    r.model_nr_memmap_pages = c.nr_memmap_pages;
                    memmap_total += c.memmap_bytes;
                    match c.nr_memmap_pages {
                        Some(n) => nr_total += n,
                        None => nr_known = false,
                    }
                }
                Err(e) => {
                    r.note = Some(e.to_string());
                    nr_known = false;
                }
            }
        }
        namespaces.push(r);
    }
    // HugeTLB pools: their memmap is boot memmap; HVO (when on) moves it to the hot counter.
    let hvo_off = sys.hugetlb_optimize_vmemmap == Some(false);
    for pool in &sys.pools {
        if pool.nr_hugepages == 0 {
            continue;
        }
        let p = if hvo_off {
            profile.with_switches(["hvo=off"]).unwrap_or(profile)
        } else {
            profile
        };
        let cfg = PlanConfig::new(
            ByteSize::new(pool.page_size * pool.nr_hugepages),
            ByteSize::new(pool.page_size),
            MapMode::Mem,
            p,
        )
        .hugetlb();
        if let Ok(c) = plan(&cfg) {
            memmap_total += c.memmap_bytes;
            match c.nr_memmap_pages {
                Some(n) => nr_total += n,
                None => nr_known = false,
            }
        }
    }
    let model_nr = (nr_known && profile.switches().memmap_accounting != MemmapAccounting::Absent)
        .then_some(nr_total);
    if let (Some(live), Some(model)) = (sys.nr_memmap_pages, model_nr) {
        let d = i128::from(live) - i128::from(model);
        if d != 0 {
            notes.push(format!(
                "nr_memmap_pages: live {live}, model {model} ({}{} pages, {}); other hot-added memory (kmem, virtio-mem, hotplugged DIMMs) counts there too",
                if d > 0 { "+" } else { "-" },
                d.unsigned_abs(),
                ByteSize::new(u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX).saturating_mul(g.page_size()))
            ));
        }
    }
    if profile.switches().memmap_accounting == MemmapAccounting::FullSpan && !namespaces.is_empty()
    {
        notes.push(format!(
            "nr_memmap_pages misleads on this kernel ({profile}): before Muchun Song's 2026 fix it counts the unoptimized span, size/64 for every device, also with vmemmap dedup and with --map=dev; the memmap really in RAM is {} by the model",
            ByteSize::new(memmap_total)
        ));
    }
    Report {
        source: sys.source.clone(),
        osrelease: sys.osrelease.clone(),
        profile,
        namespaces,
        pools: sys.pools.clone(),
        hugetlb_optimize_vmemmap: sys.hugetlb_optimize_vmemmap,
        live_nr_memmap_pages: sys.nr_memmap_pages,
        live_nr_memmap_boot_pages: sys.nr_memmap_boot_pages,
        model_nr_memmap_pages: model_nr,
        model_memmap_bytes: memmap_total,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_map_to_profiles() {
        assert_eq!(
            profile_for_release("5.4.0-150-generic"),
            Some(Profile::V5_10)
        );
        assert_eq!(profile_for_release("6.1.0-18-amd64"), Some(Profile::V5_19));
        assert_eq!(
            profile_for_release("6.12.0-55.el10.x86_64"),
            Some(Profile::V6_12)
        );
        assert_eq!(profile_for_release("6.17.2"), Some(Profile::V6_15));
        assert_eq!(profile_for_release("garbage"), None);
    }
}
