//! The JSON of `ndctl list -N -v` and `daxctl list` (`ndctl/json.c`).

use std::fs;
use std::path::Path;

use crate::drivers::dax::MapMode;

use super::{attr_err, Namespace, ProbeError, System};

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
            align: json_align(path, TOOL, &v)?,
            start: None,
            usable_bytes: json_size(path, TOOL, &v)?,
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
