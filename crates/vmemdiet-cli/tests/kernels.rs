//! Real kernels as the oracle: every capture under `tests/data/kernels/<release>/<step>/`
//! (made by `tools/kernel-capture` from Debian's stock kernels booted under QEMU with an
//! emulated NVDIMM) is read by `probe` and the model is asserted equal to what the kernel
//! reported, under the profile the kernel's release resolves to:
//! - every dax device's usable size (what `nd_pfn_init` leaves of the namespace);
//! - the change of `/proc/vmstat` `nr_memmap_pages` when one namespace is created, against the
//!   model's count for it (map mem and dev, 4K/2M/1G, devdax and fsdax);
//! - the change of `nr_memmap_pages` and `nr_memmap_boot_pages` when a HugeTLB pool is
//!   reallocated with vmemmap optimization on (`hugetlb-<size>-x<n>-hvo1` after `…-hvo0`).
//!
//! A mismatch names the capture, the field, the live and the model value. Every kernel must
//! yield comparisons, so a capture the reader stops understanding fails instead of passing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vmemdiet::addr::ByteSize;
use vmemdiet::drivers::dax::MapMode;
use vmemdiet::mm::profile::Profile;
use vmemdiet::plan::{plan, PlanConfig};
use vmemdiet::probe::{self, profile_for_release, Report};

fn kernels() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kernels");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// The step folders of one kernel.
fn steps_of(kernel: &Path) -> impl Iterator<Item = PathBuf> {
    std::fs::read_dir(kernel)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
}

/// The steps of one kernel, in order, each with the probe's report.
fn steps(kernel: &Path) -> Vec<(String, Report)> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(kernel)
        .unwrap()
        .map(|e| e.unwrap().path())
        // Whole snapshots (the GUP path steps keep only their traces and counters).
        .filter(|p| p.join("proc/sys/kernel/osrelease").is_file())
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            let sys = probe::read_root(&p)
                .unwrap_or_else(|e| panic!("{}: the probe cannot read it: {e}", p.display()));
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, probe::compare(&sys, None))
        })
        .collect()
}

/// What was compared and what disagreed, over all captures.
#[derive(Default)]
struct Tally {
    compared: BTreeMap<String, usize>,
    mismatches: Vec<String>,
}

impl Tally {
    fn check(&mut self, kernel: &str, at: &str, field: &str, live: i128, model: i128) {
        *self.compared.entry(kernel.to_string()).or_default() += 1;
        if live != model {
            self.mismatches.push(format!(
                "{kernel}/{at}: {field}: live {live}, model {model}"
            ));
        }
    }
}

/// Every dax device: its usable size as `nd_pfn_init` makes it.
fn usable_sizes(kernel: &str, steps: &[(String, Report)], t: &mut Tally) {
    for (at, r) in steps {
        for ns in &r.namespaces {
            if let (Some(live), Some(model)) = (ns.live.usable_bytes, ns.model_usable_bytes) {
                let field = format!("{} usable bytes", ns.live.name);
                t.check(kernel, at, &field, i128::from(live), i128::from(model));
            }
        }
    }
}

/// Each step that adds exactly one modelled namespace to the previous one: the counter's
/// change against the model's count for that namespace.
fn namespace_counters(kernel: &str, steps: &[(String, Report)], t: &mut Tally) {
    for pair in steps.windows(2) {
        let ((_, before), (at, after)) = (&pair[0], &pair[1]);
        let names = |r: &Report| -> Vec<String> {
            r.namespaces.iter().map(|n| n.live.name.clone()).collect()
        };
        let old = names(before);
        let new: Vec<_> = after
            .namespaces
            .iter()
            .filter(|n| !old.contains(&n.live.name))
            .collect();
        let ([ns], Some(b), Some(a)) = (
            &new[..],
            before.live_nr_memmap_pages,
            after.live_nr_memmap_pages,
        ) else {
            continue;
        };
        if after.namespaces.len() != old.len() + 1 {
            continue;
        }
        let Some(model) = ns.model_nr_memmap_pages else {
            continue;
        };
        let field = format!("nr_memmap_pages change for {}", ns.live.name);
        t.check(
            kernel,
            at,
            &field,
            i128::from(a) - i128::from(b),
            i128::from(model),
        );
    }
}

/// `hugetlb-<size>-x<n>-hvo1` right after `hugetlb-<size>-x<n>-hvo0`: the pool was released
/// and allocated again with vmemmap optimization on, so the counters move by what HVO does to
/// a pool of `n` pages (the plan of that pool with and without HVO).
fn hugetlb_counters(kernel: &str, steps: &[(String, Report)], t: &mut Tally) {
    for pair in steps.windows(2) {
        let ((before_name, before), (at, after)) = (&pair[0], &pair[1]);
        let Some(pool) = at.split_once('-').map(|(_, p)| p) else {
            continue;
        };
        let Some(base) = pool.strip_suffix("-hvo1") else {
            continue;
        };
        if !before_name.ends_with(&format!("{base}-hvo0")) {
            continue;
        }
        // `hugetlb-1G-x1`: the page size and the count.
        let mut parts = base.split('-').skip(1);
        let size: ByteSize = parts.next().unwrap().parse().unwrap();
        let n: u64 = parts
            .next()
            .unwrap()
            .trim_start_matches('x')
            .parse()
            .unwrap();
        let live_pool = after
            .pools
            .iter()
            .find(|p| p.page_size == size.bytes())
            .map_or(0, |p| p.nr_hugepages);
        if live_pool != n {
            // The kernel could not allocate the pool (fragmented memory): nothing to compare.
            continue;
        }
        let cfg = PlanConfig::new(
            ByteSize::new(size.bytes() * n),
            size,
            MapMode::Mem,
            after.profile,
        )
        .hugetlb();
        let model = plan(&cfg).unwrap_or_else(|e| panic!("{kernel}/{at}: {cfg}: {e}"));
        let counters = [
            (
                "nr_memmap_pages",
                before.live_nr_memmap_pages,
                after.live_nr_memmap_pages,
                model.nr_memmap_pages.map(i128::from),
            ),
            (
                "nr_memmap_boot_pages",
                before.live_nr_memmap_boot_pages,
                after.live_nr_memmap_boot_pages,
                model.nr_memmap_boot_pages.map(i128::from),
            ),
        ];
        for (field, b, a, m) in counters {
            if let (Some(b), Some(a), Some(m)) = (b, a, m) {
                let field = format!("{field} change with HVO on {n} x {size}");
                t.check(kernel, at, &field, i128::from(a) - i128::from(b), m);
            }
        }
    }
}

#[test]
fn every_capture_equals_the_model_of_its_release() {
    let mut t = Tally::default();
    let kernels = kernels();
    assert!(
        kernels.len() >= 6,
        "six kernels captured at least: {kernels:?}"
    );
    for k in &kernels {
        let release = k.file_name().unwrap().to_string_lossy().into_owned();
        let steps = steps(k);
        assert!(!steps.is_empty(), "{release}: no step captured");
        // The release resolves through the change history, as the probe did.
        let profile: Profile = profile_for_release(&release).unwrap();
        for (at, r) in &steps {
            assert_eq!(
                r.profile, profile,
                "{release}/{at}: the profile of its osrelease"
            );
        }
        usable_sizes(&release, &steps, &mut t);
        namespace_counters(&release, &steps, &mut t);
        hugetlb_counters(&release, &steps, &mut t);
    }
    assert!(
        t.mismatches.is_empty(),
        "the kernel and the model disagree ({} of {} comparisons):\n  {}",
        t.mismatches.len(),
        t.compared.values().sum::<usize>(),
        t.mismatches.join("\n  ")
    );
    eprintln!("comparisons per kernel: {:?}", t.compared);
    for k in &kernels {
        let release = k.file_name().unwrap().to_string_lossy().into_owned();
        let n = t.compared.get(&release).copied().unwrap_or(0);
        assert!(
            n >= 2,
            "{release}: only {n} comparisons; the captures no longer read"
        );
    }
}
