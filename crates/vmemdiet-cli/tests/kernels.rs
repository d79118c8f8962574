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

/// `function hits` of one GUP mode in a capture's `gup/<mode>.hits` (kprobe counts), less the
/// `fault` mode's, which maps and faults the same buffer without pinning it.
fn hits(step: &Path, mode: &str, function: &str) -> i64 {
    let read = |m: &str| -> i64 {
        let text = std::fs::read_to_string(step.join(format!("gup/{m}.hits"))).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(f, _)| *f == function)
            .map_or(0, |(_, n)| n.trim().parse().unwrap())
    };
    read(mode) - read("fault")
}

/// The model's pins of `size` of devdax at `align` and `map` under `profile`: the grab atomics
/// of PIN-fast (a FOLL_PIN, as O_DIRECT's) and of PIN-longterm (FOLL_LONGTERM, as io_uring's
/// buffer registration), and the pages pinned.
fn model_pins(profile: &str, size: &str, align: &str, map: &str) -> (i64, i64, i64) {
    let out = assert_cmd::Command::cargo_bin("vmemdiet")
        .unwrap()
        .args([
            "bench",
            "gup",
            "--kind",
            "devdax",
            "--op",
            "pin-fast,pin-longterm",
        ])
        .args([
            "--size",
            size,
            "--align",
            align,
            "--map",
            map,
            "--profile",
            profile,
        ])
        .args(["--runs", "1", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let get = |i: usize| rows[i]["get_atomics"].as_i64().unwrap();
    (get(0), get(1), rows[0]["pages"].as_i64().unwrap())
}

/// Paths, not only counts: the GUP steps pinned 8 MiB of a devdax mapping by O_DIRECT
/// (pin_user_pages_fast) and by io_uring buffer registration (FOLL_LONGTERM|FOLL_WRITE) with
/// kprobes on the GUP functions. Per 4 KiB page or per leaf, on the fast path
/// (`try_grab_folio_fast`) and on the slow one (`try_grab_folio`), the kernel and the model of
/// its release take the same path. (The exact slow-path grabs per leaf differ: the kernel's
/// `__get_user_pages` takes two, DESIGN.md says why.)
#[test]
fn gup_paths_on_devdax_equal_the_model_of_each_release() {
    let pages = 8 << 20 >> 12;
    let mut compared = 0;
    for k in kernels() {
        let release = k.file_name().unwrap().to_string_lossy().into_owned();
        for step in steps_of(&k).filter(|s| s.join("gup/odirect.hits").is_file()) {
            let name = step.file_name().unwrap().to_string_lossy().into_owned();
            // `19-gup-dev-2M-dax0.0`: the map and the align.
            let mut parts = name.split('-').skip(2);
            let (map, align) = (parts.next().unwrap(), parts.next().unwrap());
            // The model pins its whole mapping: at least one leaf.
            let size = match (align, map) {
                ("1G", "dev") => "2G",
                ("1G", _) => "1G",
                _ => "8M",
            };
            let (fast, slow, model_pages) = model_pins(&release, size, align, map);
            let kernel_fast = hits(&step, "odirect", "try_grab_folio_fast");
            let kernel_slow = hits(&step, "iouring", "try_grab_folio");
            let at = format!("{release}/{name}");
            assert_eq!(
                kernel_fast == pages,
                fast == model_pages,
                "{at}: O_DIRECT per 4 KiB (kernel {kernel_fast} grabs, model {fast})"
            );
            assert_eq!(
                kernel_slow == pages,
                slow == model_pages,
                "{at}: io_uring per 4 KiB (kernel {kernel_slow} grabs, model {slow})"
            );
            // Long-term write pins of devdax leave the fast path in every release.
            assert!(hits(&step, "iouring", "__gup_longterm_locked") >= 1, "{at}");
            compared += 1;
        }
    }
    assert!(compared >= 16, "{compared} GUP steps compared");
}

/// The probe's own total: on the first steps with a HugeTLB pool and nothing else hot-added
/// (`01-hugetlb-1G-x1-hvo0`, HVO off: nothing counted; `02-hugetlb-1G-x1-hvo1`: the head
/// copy), the live `nr_memmap_pages` is the pool's alone, and the probe's model of the pools
/// it read (with `hugetlb_optimize_vmemmap` as it read it) must say the same.
#[test]
fn the_probe_models_the_pools_it_reads() {
    let mut compared = 0;
    for k in kernels() {
        let first_pools = |n: &String| {
            n.starts_with("01-hugetlb-1G-x1-hvo0") || n.starts_with("02-hugetlb-1G-x1-hvo1")
        };
        for (at, r) in steps(&k).iter().filter(|(n, _)| first_pools(n)) {
            assert!(
                r.pools.iter().any(|p| p.nr_hugepages > 0),
                "{}/{at}: no pool",
                k.display()
            );
            assert_eq!(
                r.model_nr_memmap_pages,
                r.live_nr_memmap_pages,
                "{}/{at}: the probe's model of its pools",
                k.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 12, "{compared} steps compared");
}
