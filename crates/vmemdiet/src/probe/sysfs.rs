//! A live system, or a copy of its `/sys` and `/proc`: nvdimm namespaces and their claims,
//! device-dax devices without a namespace, the vmstat counters and the HugeTLB pools.

use std::path::{Path, PathBuf};

use crate::drivers::dax::MapMode;

use super::{
    attr_err, entries, is_dax_dev, number, pfn_mode, read_num, read_opt, read_req, Namespace, Pool,
    ProbeError, System,
};

/// Reads a live system, or a copy of its `/sys` and `/proc` under `root`.
pub fn read_root(root: &Path) -> Result<System, ProbeError> {
    let mut namespaces = read_namespaces(root)?;
    namespaces.extend(read_dax_devices(root, &namespaces)?);
    let (nr, boot) = read_vmstat(root)?;
    let pools = read_pools(root)?;
    let hvo = read_hvo(root)?;
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

/// The configured nvdimm namespaces (`/sys/bus/nd/devices/namespaceX.Y`), each with its claim
/// (`daxX.Y` or `pfnX.Y`: the pfn mode, align and the dax device it made).
fn read_namespaces(root: &Path) -> Result<Vec<Namespace>, ProbeError> {
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
    Ok(namespaces)
}

/// Device-dax devices without an nvdimm namespace (hmem, CXL: `/sys/bus/dax/devices`), other
/// than those of `namespaces`.
fn read_dax_devices(root: &Path, namespaces: &[Namespace]) -> Result<Vec<Namespace>, ProbeError> {
    let mut devices = Vec::new();
    let known: Vec<String> = namespaces
        .iter()
        .filter_map(|n| n.chardev.clone())
        .collect();
    for (name, dir) in entries(&root.join("sys/bus/dax/devices"), "dax")? {
        if known.contains(&name) || !is_dax_dev(&name) {
            continue;
        }
        devices.push(Namespace {
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
    Ok(devices)
}

/// `nr_memmap_pages` and `nr_memmap_boot_pages` of `/proc/vmstat` (absent before 6.11).
fn read_vmstat(root: &Path) -> Result<(Option<u64>, Option<u64>), ProbeError> {
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
    Ok((nr, boot))
}

/// The HugeTLB pools (`/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages`).
fn read_pools(root: &Path) -> Result<Vec<Pool>, ProbeError> {
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
    Ok(pools)
}

/// `/proc/sys/vm/hugetlb_optimize_vmemmap` (absent without HVO).
fn read_hvo(root: &Path) -> Result<Option<bool>, ProbeError> {
    let hvo_path = root.join("proc/sys/vm/hugetlb_optimize_vmemmap");
    read_opt(&hvo_path)?
        .map(|s| match s.as_str() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(attr_err(&hvo_path, format!("'{s}' is not 0 or 1"))),
        })
        .transpose()
}
