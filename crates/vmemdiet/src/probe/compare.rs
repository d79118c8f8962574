//! The model beside what a system shows: per namespace the dax device `nd_pfn_init` predicts
//! and the memmap the planner answers, per HugeTLB pool its memmap, per device onlined as
//! System RAM the blocks `plan_kmem` predicts, and `nr_memmap_pages` summed over all of them
//! against the live counter.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::MapMode;
use crate::drivers::nd_pfn;
use crate::mm::profile::{MemmapAccounting, Profile};
use crate::ndctl;
use crate::plan::{Kind, PlanError};
use crate::planner::{self, PlannerError, Request, Row};

use super::{profile_for_release, Namespace, NamespaceReport, Report, System};

/// The memmap totals over every device and pool modelled.
struct Totals {
    memmap: u64,
    nr: u64,
    /// False once a device's counter is unknown (no counter, or not modelled).
    nr_known: bool,
}

impl Totals {
    fn add(&mut self, row: &crate::plan::PlanRow) {
        self.memmap += row.memmap_bytes;
        match row.nr_memmap_pages {
            Some(n) => self.nr += n,
            None => self.nr_known = false,
        }
    }

    /// A device onlined as System RAM: its memmap in DRAM, and what the counter gains.
    fn add_kmem(&mut self, plan: Option<&crate::plan::kmem::KmemPlan>) {
        let Some(p) = plan else {
            self.nr_known = false;
            return;
        };
        self.memmap += p.memmap_bytes;
        match p.nr_memmap_pages {
            Some(n) => self.nr += n,
            None => self.nr_known = false,
        }
    }
}

/// Compares `sys` with the model under `profile` (or the one its release maps to).
#[must_use]
pub fn compare(sys: &System, profile: Option<Profile>) -> Report {
    let g: &Geometry = Arch::X86_64.geometry();
    let profile = profile
        .or_else(|| sys.osrelease.as_deref().and_then(profile_for_release))
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut totals = Totals {
        memmap: 0,
        nr: 0,
        nr_known: true,
    };
    let namespaces: Vec<NamespaceReport> = sys
        .namespaces
        .iter()
        .map(|ns| namespace(ns, profile, &mut totals, &mut notes))
        .collect();
    let system_ram = super::kmem::system_ram(sys, profile);
    for r in &system_ram {
        totals.add_kmem(r.model.as_ref());
    }
    pools(sys, profile, &mut totals);
    let model_nr = (totals.nr_known
        && profile.switches().memmap_accounting != MemmapAccounting::Absent)
        .then_some(totals.nr);
    if let (Some(live), Some(model)) = (sys.nr_memmap_pages, model_nr) {
        notes.extend(nr_memmap_note(g, live, model));
    }
    if profile.switches().memmap_accounting == MemmapAccounting::FullSpan && !namespaces.is_empty()
    {
        notes.push(format!(
            "nr_memmap_pages misleads on this kernel ({profile}): before Muchun Song's 2026 fix it counts the unoptimized span, size/64 for every device, also with vmemmap dedup and with --map=dev; the memmap really in RAM is {} by the model",
            ByteSize::new(totals.memmap)
        ));
    }
    Report {
        source: sys.source.clone(),
        osrelease: sys.osrelease.clone(),
        profile,
        namespaces,
        system_ram,
        pools: sys.pools.clone(),
        hugetlb_optimize_vmemmap: sys.hugetlb_optimize_vmemmap,
        live_nr_memmap_pages: sys.nr_memmap_pages,
        live_nr_memmap_boot_pages: sys.nr_memmap_boot_pages,
        model_nr_memmap_pages: model_nr,
        model_memmap_bytes: totals.memmap,
        notes,
    }
}

/// One namespace beside the model: its raw size (inferred when the system does not show it),
/// the dax device `nd_pfn_init` predicts, and its memmap.
fn namespace(
    ns: &Namespace,
    profile: Profile,
    totals: &mut Totals,
    notes: &mut Vec<String>,
) -> NamespaceReport {
    let mut r = NamespaceReport {
        live: ns.clone(),
        model_raw_bytes: None,
        model_usable_bytes: None,
        usable_diff_bytes: None,
        model_memmap_bytes: None,
        model_nr_memmap_pages: None,
        note: None,
    };
    if ns.kmem {
        r.note = Some("bound to kmem: System RAM, modelled in its own table".into());
        return r;
    }
    let (Some(align), true) = (ns.align, ns.mode == "devdax" || ns.mode == "fsdax") else {
        r.note = Some(format!("{} mode: no dax device to model", ns.mode));
        return r;
    };
    let align = ByteSize::new(align);
    // A device-dax device without a namespace (hmem/CXL) has no info block: its memmap
    // covers the device, all of it usable.
    let map = ns.map.unwrap_or(MapMode::Mem);
    let request = Request {
        aligns: vec![align],
        maps: vec![map],
        profiles: vec![profile],
        existing: true,
        ..Request::default()
    };
    let raw = match (ns.raw_bytes, ns.usable_bytes, ns.map) {
        (Some(raw), _, _) => Some(raw),
        (None, Some(u), Some(_)) => {
            let usable = Request {
                usable: Some(ByteSize::new(u)),
                ..request.clone()
            };
            let s = planned(&usable).ok().map(|row| row.row.size);
            r.model_raw_bytes = s;
            s
        }
        (None, Some(u), None) => Some(u),
        (None, None, _) => None,
    };
    if let (Some(raw), Some(_)) = (ns.raw_bytes, ns.map) {
        usable_beside(ns, raw, align, map, &mut r, notes);
    } else if ns.map.is_some() {
        r.model_usable_bytes = ns.usable_bytes;
    }
    if let Some(raw) = raw {
        let sized = sized(request, raw);
        match sized.as_ref().map_err(ToString::to_string).and_then(|req| {
            planned(req).map_err(|e| match e {
                PlannerError::Config { error, .. } => error.to_string(),
                e => e.to_string(),
            })
        }) {
            Ok(row) => {
                r.model_memmap_bytes = Some(row.row.memmap_bytes);
                r.model_nr_memmap_pages = row.row.nr_memmap_pages;
                totals.add(&row.row);
            }
            Err(e) => {
                r.note = Some(e);
                totals.nr_known = false;
            }
        }
    }
    r
}

/// `request` for a namespace of `raw` bytes.
fn sized(request: Request, raw: u64) -> Result<Request, ndctl::NdctlError> {
    Ok(Request {
        sizes: vec![ndctl::parse_size_arg(&raw.to_string())?],
        ..request
    })
}

/// The one row of a request for one configuration.
fn planned(request: &Request) -> Result<Row, PlannerError> {
    let answer = planner::answer(request, &mut |_| {})?;
    answer
        .rows
        .into_iter()
        .next()
        .ok_or_else(|| PlannerError::Nothing(answer.not_offered.join("; ")))
}

/// The live dax device beside the one `nd_pfn_init` makes of the raw namespace, with a note
/// where they differ.
fn usable_beside(
    ns: &Namespace,
    raw: u64,
    align: ByteSize,
    map: MapMode,
    r: &mut NamespaceReport,
    notes: &mut Vec<String>,
) {
    let g = Arch::X86_64.geometry();
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
}

/// HugeTLB pools: their memmap is boot memmap; HVO (when on) moves it to the hot counter.
fn pools(sys: &System, profile: Profile, totals: &mut Totals) {
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
        let Some(bytes) = pool.page_size.checked_mul(pool.nr_hugepages) else {
            continue;
        };
        let request = Request {
            kinds: vec![Kind::Hugetlb],
            aligns: vec![ByteSize::new(pool.page_size)],
            maps: vec![MapMode::Mem],
            profiles: vec![p],
            existing: true,
            ..Request::default()
        };
        if let Ok(row) = sized(request, bytes)
            .map_err(|e| PlannerError::Plan(PlanError::Ndctl(e)))
            .and_then(|req| planned(&req))
        {
            totals.add(&row.row);
        }
    }
}

/// The live `nr_memmap_pages` against the model's, when they differ.
fn nr_memmap_note(g: &Geometry, live: u64, model: u64) -> Option<String> {
    let d = i128::from(live) - i128::from(model);
    (d != 0).then(|| format!(
        "nr_memmap_pages: live {live}, model {model} ({}{} pages, {}); other hot-added memory (kmem, virtio-mem, hotplugged DIMMs) counts there too",
        if d > 0 { "+" } else { "-" },
        d.unsigned_abs(),
        ByteSize::new(u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX).saturating_mul(g.page_size()))
    ))
}
