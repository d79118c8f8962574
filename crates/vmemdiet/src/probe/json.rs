//! The JSON of `ndctl list -N -v`, `daxctl list` (`ndctl/json.c`, `daxctl/json.c`) and
//! `cxl list -R` (`cxl/json.c`).

use std::fs;
use std::path::Path;

use crate::drivers::dax::MapMode;

use super::{attr_err, CxlRegion, KmemDevice, Namespace, ProbeError, System};

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
    // ndctl and daxctl print nothing at all when there is nothing to list.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
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

/// `"align"` as the kernel reports one: a power of two from 4 KiB to 16 GiB.
fn json_align(
    path: &Path,
    tool: &'static str,
    v: &serde_json::Value,
) -> Result<Option<u64>, ProbeError> {
    let align = json_u64(path, tool, v, "align")?;
    match align {
        Some(a) if !a.is_power_of_two() || !(4096..=16 << 30).contains(&a) => {
            Err(ProbeError::Json {
                path: path.to_path_buf(),
                tool,
                reason: format!(
                    "\"align\": {a}: no kernel reports it (a power of two from 4096 to 16 GiB)"
                ),
            })
        }
        a => Ok(a),
    }
}

/// `"size"` within any physical address space (2^52 bytes).
fn json_size(
    path: &Path,
    tool: &'static str,
    v: &serde_json::Value,
) -> Result<Option<u64>, ProbeError> {
    match json_u64(path, tool, v, "size")? {
        Some(n) if n > 1 << 52 => Err(ProbeError::Json {
            path: path.to_path_buf(),
            tool,
            reason: format!("\"size\": {n}: beyond any physical address space (2^52 bytes)"),
        }),
        n => Ok(n),
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
        let map = match v.get("map") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(m)) if m == "mem" => Some(MapMode::Mem),
            Some(serde_json::Value::String(m)) if m == "dev" => Some(MapMode::Dev),
            Some(m) => {
                return Err(bad(format!(
                    "{name}: \"map\": {m} is not \"mem\" or \"dev\""
                )))
            }
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
            align: json_align(path, TOOL, &v)?,
            start: None,
            usable_bytes: json_size(path, TOOL, &v)?,
            chardev,
            kmem: false,
        });
    }
    Ok(System {
        namespaces,
        ..System::empty(path.display().to_string())
    })
}

/// The output of `daxctl list` (a device object or an array, or with `-R` regions whose
/// `devices` hold them; `daxctl/json.c` `util_daxctl_dev_to_json`): `chardev`, `size`,
/// `align`, `mode`; a `system-ram` device also has `online_memblocks`, `total_memblocks`,
/// `movable`, and with `-M` its `mappings` give its start.
pub fn read_daxctl_json(path: &Path) -> Result<System, ProbeError> {
    const TOOL: &str = "daxctl list";
    let text = fs::read_to_string(path).map_err(|e| attr_err(path, format!("cannot read: {e}")))?;
    let mut sys = System::empty(path.display().to_string());
    let mut list = json_list(path, TOOL, &text)?;
    // `daxctl list -R -D`: regions, each with its devices.
    if list
        .iter()
        .all(|v| v.get("chardev").is_none() && v.get("devices").is_some())
    {
        list = list
            .iter()
            .filter_map(|r| r.get("devices").and_then(|d| d.as_array()).cloned())
            .flatten()
            .collect();
    }
    for v in list {
        let name = json_str(&v, "chardev").ok_or_else(|| ProbeError::Json {
            path: path.to_path_buf(),
            tool: TOOL,
            reason: format!("a device without \"chardev\": {v}"),
        })?;
        let mode = json_str(&v, "mode").unwrap_or_else(|| "devdax".into());
        if mode == "system-ram" {
            sys.kmem.push(daxctl_kmem(path, &v, name)?);
            continue;
        }
        sys.namespaces.push(Namespace {
            name: name.clone(),
            mode,
            raw_bytes: None,
            map: None,
            align: json_align(path, TOOL, &v)?,
            start: None,
            usable_bytes: json_size(path, TOOL, &v)?,
            chardev: Some(name),
            kmem: false,
        });
    }
    Ok(sys)
}

/// A `system-ram` device of `daxctl list`: its size, block counts, zone and (with `-M`) the
/// start of its first mapping.
fn daxctl_kmem(path: &Path, v: &serde_json::Value, name: String) -> Result<KmemDevice, ProbeError> {
    const TOOL: &str = "daxctl list";
    let bad = |reason: String| ProbeError::Json {
        path: path.to_path_buf(),
        tool: TOOL,
        reason: format!("{name}: {reason}"),
    };
    let size = json_size(path, TOOL, v)?.ok_or_else(|| bad("no \"size\"".into()))?;
    let online = json_u64(path, TOOL, v, "online_memblocks")?;
    let total = json_u64(path, TOOL, v, "total_memblocks")?;
    if let (Some(o), Some(t)) = (online, total) {
        if o > t {
            return Err(bad(format!(
                "{o} online_memblocks of {t}: no daxctl prints it"
            )));
        }
    }
    let movable = match v.get("movable") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(m) => return Err(bad(format!("\"movable\": {m} is not true or false"))),
    };
    let start = match v.get("mappings").and_then(|m| m.get(0)) {
        Some(m) => json_u64(path, TOOL, m, "start")?,
        None => None,
    };
    Ok(KmemDevice {
        start,
        size,
        memmap_on_memory: None,
        pmem: None,
        online_memblocks: online,
        total_memblocks: total,
        movable,
        name,
    })
}

/// The regions of `cxl list -R` (`util_cxl_region_to_json`: `region`, `resource`, `size`,
/// `type`, `interleave_ways`, `decode_state`), also where other listings nest them.
///
/// # Errors
/// The file cannot be read, is not JSON, or a region's value is not of the form cxl prints.
pub fn read_cxl_json(path: &Path) -> Result<Vec<CxlRegion>, ProbeError> {
    const TOOL: &str = "cxl list -R";
    let text = fs::read_to_string(path).map_err(|e| attr_err(path, format!("cannot read: {e}")))?;
    let mut regions = Vec::new();
    let mut todo = json_list(path, TOOL, &text)?;
    while let Some(v) = todo.pop() {
        if v.get("region").is_none() {
            // A bus or decoder object: its arrays (`regions:root0`, …) may hold regions.
            if let Some(o) = v.as_object() {
                todo.extend(o.values().filter_map(|a| a.as_array()).flatten().cloned());
            }
            continue;
        }
        regions.push(cxl_region(path, &v)?);
    }
    regions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(regions)
}

fn cxl_region(path: &Path, v: &serde_json::Value) -> Result<CxlRegion, ProbeError> {
    const TOOL: &str = "cxl list -R";
    let bad = |reason: String| ProbeError::Json {
        path: path.to_path_buf(),
        tool: TOOL,
        reason,
    };
    let name = json_str(v, "region").ok_or_else(|| bad(format!("\"region\" is no name: {v}")))?;
    let committed = match json_str(v, "decode_state").as_deref() {
        None | Some("commit") => true,
        Some("reset") => false,
        Some(s) => {
            return Err(bad(format!(
                "{name}: \"decode_state\": \"{s}\" is not commit or reset"
            )))
        }
    };
    Ok(CxlRegion {
        start: json_u64(path, TOOL, v, "resource")?,
        size: json_size(path, TOOL, v)?,
        kind: json_str(v, "type"),
        committed,
        name,
    })
}
