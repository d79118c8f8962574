//! A live system, or a copy of its `/sys` and `/proc`: nvdimm namespaces and their claims,
//! device-dax devices without a namespace, the dax devices bound to kmem and the memory
//! blocks, the vmstat counters and the HugeTLB pools.

use std::path::{Path, PathBuf};

use super::memory::{bound_to_kmem, read_kmem_device, read_memory};
use super::{
    attr_err, entries, is_dax_dev, number, pfn_mode, read_num, read_opt, read_req, KmemDevice,
    MemoryBlocks, Namespace, Pool, ProbeError, System,
};

/// Reads a live system, or a copy of its `/sys` and `/proc` under `root`.
pub fn read_root(root: &Path) -> Result<System, ProbeError> {
    check_root(root)?;
    let mut namespaces = read_namespaces(root)?;
    let memory = read_memory(root)?;
    let (devices, kmem) = read_dax_devices(root, &mut namespaces, memory.as_ref())?;
    namespaces.extend(devices);
    let (nr, boot) = read_vmstat(root)?;
    Ok(System {
        namespaces,
        nr_memmap_pages: nr,
        nr_memmap_boot_pages: boot,
        pools: read_pools(root)?,
        hugetlb_optimize_vmemmap: read_hvo(root)?,
        osrelease: read_opt(&root.join("proc/sys/kernel/osrelease"))?,
        memory,
        kmem,
        ..System::empty(root.display().to_string())
    })
}

/// Refuses a root that is no copy of a system: missing, not a directory, or with neither
/// `sys/` nor `proc/` in it (an empty answer there would read as "no device memory").
fn check_root(root: &Path) -> Result<(), ProbeError> {
    if !root.exists() {
        return Err(attr_err(root, "no such directory"));
    }
    if !root.is_dir() {
        return Err(attr_err(
            root,
            "not a directory; give the root of a copy of /sys and /proc",
        ));
    }
    if !root.join("sys").is_dir() && !root.join("proc").is_dir() {
        return Err(attr_err(
            root,
            "neither sys/ nor proc/ in it: not a copy of a system's /sys and /proc",
        ));
    }
    Ok(())
}

/// An alignment as the kernel writes one (`align` of a dax or pfn device): a power of two of
/// at least 4 KiB and at most 16 GiB (the largest page any arch maps a dax device with).
fn read_align(path: &Path) -> Result<u64, ProbeError> {
    let v = read_num(path)?;
    if !v.is_power_of_two() || !(4096..=16 << 30).contains(&v) {
        return Err(attr_err(
            path,
            format!("align {v}: no kernel writes it (a power of two from 4096 to 16 GiB)"),
        ));
    }
    Ok(v)
}

/// A size as the kernel writes one: at most 2^52 bytes (4 PiB, the most physical address
/// space x86-64 with 5-level paging describes).
fn read_size(path: &Path) -> Result<u64, ProbeError> {
    let v = read_num(path)?;
    if v > 1 << 52 {
        return Err(attr_err(
            path,
            format!("size {v}: beyond any physical address space (2^52 bytes)"),
        ));
    }
    Ok(v)
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
        let raw = read_size(&size_path)?;
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
            kmem: false,
        };
        // The claim (nd_dax or nd_pfn) whose `namespace` is this one.
        for (_, cdir) in &claims {
            if read_opt(&cdir.join("namespace"))?.as_deref() != Some(name.as_str()) {
                continue;
            }
            let mp = cdir.join("mode");
            ns.map = Some(pfn_mode(&mp, &read_req(&mp)?)?);
            ns.align = Some(read_align(&cdir.join("align"))?);
            ns.usable_bytes = read_opt(&cdir.join("size"))?
                .map(|_| read_size(&cdir.join("size")))
                .transpose()?;
            // The device-dax device is a child of its nd_dax (sysfs-bus-dax: daxX.Y/size).
            for (dev, ddir) in entries(cdir, "dax")? {
                if is_dax_dev(&dev) && ddir.is_dir() {
                    ns.usable_bytes = Some(read_size(&ddir.join("size"))?);
                    ns.chardev = Some(dev);
                }
            }
        }
        namespaces.push(ns);
    }
    Ok(namespaces)
}

/// The device-dax devices of `/sys/bus/dax/devices`: those bound to kmem (System RAM, with the
/// namespace behind them marked), and those without an nvdimm namespace (hmem, CXL).
fn read_dax_devices(
    root: &Path,
    namespaces: &mut [Namespace],
    memory: Option<&MemoryBlocks>,
) -> Result<(Vec<Namespace>, Vec<KmemDevice>), ProbeError> {
    let (mut devices, mut kmem) = (Vec::new(), Vec::new());
    for (name, dir) in entries(&root.join("sys/bus/dax/devices"), "dax")? {
        if !is_dax_dev(&name) {
            continue;
        }
        let ns = namespaces
            .iter_mut()
            .find(|n| n.chardev.as_deref() == Some(name.as_str()));
        if bound_to_kmem(root, &name, &dir, memory)? {
            let size = read_size(&dir.join("size"))?;
            kmem.push(read_kmem_device(&name, &dir, size, ns.as_deref())?);
            if let Some(ns) = ns {
                ns.kmem = true;
            }
            continue;
        }
        if ns.is_some() {
            continue;
        }
        // No namespace, so no pfn claim and no info block (hmem, CXL): the memmap covers the
        // device in RAM and all of it is usable, as the model of a device without `map`.
        devices.push(Namespace {
            name: name.clone(),
            mode: "devdax".into(),
            raw_bytes: None,
            map: None,
            align: Some(read_align(&dir.join("align"))?),
            start: None,
            usable_bytes: Some(read_size(&dir.join("size"))?),
            chardev: Some(name),
            kmem: false,
        });
    }
    Ok((devices, kmem))
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
        let page_size = kb
            .checked_mul(1024)
            .filter(|b| b.is_power_of_two() && *b >= 4096)
            .ok_or_else(|| attr_err(&dir, format!("{kb} kB: no huge page size")))?;
        let nr_path = dir.join("nr_hugepages");
        let nr_hugepages = read_num(&nr_path)?;
        if nr_hugepages
            .checked_mul(page_size)
            .is_none_or(|b| b > 1 << 52)
        {
            return Err(attr_err(
                &nr_path,
                format!("{nr_hugepages} pages of {kb} kB: beyond any physical address space"),
            ));
        }
        pools.push(Pool {
            page_size,
            nr_hugepages,
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
