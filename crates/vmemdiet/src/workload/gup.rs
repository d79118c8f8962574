//! The GUP benchmark, as gup_test runs it (`mm/gup_test.c`; kernel brief §8): map `size` of a
//! device-dax device, touch it, then per repeat time getting or pinning every page in calls of
//! `nr_per_call` pages ("get"), and releasing them all ("put").

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::addr::{ByteSize, VirtAddr};
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::mm::gup::{
    get_user_pages_fast, pin_user_pages, pin_user_pages_fast, put_pages, unpin_user_pages, GupCtx,
    GupError, GupFlags, GupStats,
};
use crate::mm::page::PagePtr;
use crate::mm::profile::Profile;
use crate::mm::vm::Mm;
use crate::mm::Kernel;
use crate::plan::Kind;
use crate::simulate::SimError;
use crate::workload::limit::MemLimit;
use crate::workload::mapping::{with_mapping, MappingError, MappingSpec};
use crate::workload::median::median_us;

/// What the benchmark calls (gup_test's commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GupOp {
    /// `GUP_FAST_BENCHMARK` (`-u`): `get_user_pages_fast`, released with `put_page`.
    GupFast,
    /// `PIN_FAST_BENCHMARK` (`-a`): `pin_user_pages_fast`, released with `unpin_user_pages`.
    PinFast,
    /// `PIN_LONGTERM_BENCHMARK` (`-L`): `pin_user_pages(FOLL_LONGTERM)` under the mmap lock.
    PinLongterm,
}

impl GupOp {
    /// The name gup_test prints.
    #[must_use]
    pub const fn test_name(self) -> &'static str {
        match self {
            GupOp::GupFast => "GUP_FAST_BENCHMARK",
            GupOp::PinFast => "PIN_FAST_BENCHMARK",
            GupOp::PinLongterm => "PIN_LONGTERM_BENCHMARK",
        }
    }
    /// The name `--op` takes.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            GupOp::GupFast => "gup-fast",
            GupOp::PinFast => "pin-fast",
            GupOp::PinLongterm => "pin-longterm",
        }
    }
    fn pins(self) -> bool {
        self != GupOp::GupFast
    }
}

impl std::fmt::Display for GupOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for GupOp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gup-fast" => Ok(GupOp::GupFast),
            "pin-fast" => Ok(GupOp::PinFast),
            "pin-longterm" => Ok(GupOp::PinLongterm),
            _ => Err(format!(
                "unknown op '{s}'; valid: gup-fast, pin-fast, pin-longterm"
            )),
        }
    }
}

/// One benchmark configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GupConfig {
    pub op: GupOp,
    /// Device-dax or HugeTLB.
    pub kind: Kind,
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    /// The architecture of the simulated machine.
    pub arch: Arch,
    /// Threads each doing the whole get/put (gup_test `-j`).
    pub threads: u32,
    /// Repeats (gup_test `-r`).
    pub runs: u32,
    /// Pages per call (gup_test `-n`); `None` = all in one call.
    pub nr_per_call: Option<u64>,
    /// FOLL_WRITE (gup_test `-w`).
    pub write: bool,
}

impl GupConfig {
    /// The memory this benchmark maps.
    #[must_use]
    pub fn spec(&self) -> MappingSpec {
        MappingSpec {
            kind: self.kind,
            size: self.size,
            align: self.align,
            map: self.map,
            profile: self.profile,
            arch: self.arch,
        }
    }
}

/// One repeat of one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GupSample {
    pub get: Duration,
    pub put: Duration,
    pub pages: u64,
    /// Work counted during get and put.
    pub get_stats: GupStats,
    pub put_stats: GupStats,
}

/// Errors of the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum GupBenchError {
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Gup(#[from] GupError),
    #[error("{op:?} got {got} of {want} pages")]
    Short { op: GupOp, got: u64, want: u64 },
    #[error("setting up the mapping: {0}")]
    Setup(String),
    #[error("the host refused a page array of {bytes} (one per thread, {threads} threads); use fewer threads or a smaller size")]
    PageArray { bytes: ByteSize, threads: u32 },
}

impl GupConfig {
    /// Host memory a run makes resident: the simulated memmap and page tables, a page array of
    /// the whole mapping per thread (gup_test's `kvcalloc`), and the limit meter's buffer.
    pub fn host_bytes_needed(&self) -> Result<ByteSize, crate::plan::PlanError> {
        let spec = self.spec();
        let g = spec.plan_config().geometry();
        // Anonymous memory's memmap is the boot memmap of RAM, which the simulation does not
        // back; only device and HugeTLB memmap is built for real.
        let sim = if matches!(self.kind, Kind::Anon | Kind::Thp | Kind::Shmem) {
            ByteSize::new(0)
        } else {
            crate::simulate::host_bytes_needed(&spec.plan_config())?
        };
        let pages = spec.size.bytes() / g.page_size();
        let array = pages.saturating_mul(std::mem::size_of::<PagePtr>() as u64);
        Ok(ByteSize::new(
            sim.bytes()
                .saturating_add(array.saturating_mul(u64::from(self.threads)))
                .saturating_add(array.min(crate::workload::limit::MAX_BYTES)),
        ))
    }

    /// Refuses a run the host cannot hold, before anything is built.
    pub fn check_host(&self) -> Result<(), GupBenchError> {
        let need = self
            .host_bytes_needed()
            .map_err(|e| GupBenchError::Setup(e.to_string()))?;
        let budget = crate::simulate::host_budget();
        if need > budget {
            return Err(GupBenchError::Sim(SimError::TooBigForHost {
                need,
                budget,
                advice: "give a smaller size or fewer threads (each holds a page array of the whole mapping)",
            }));
        }
        Ok(())
    }
}

/// Runs `cfg`: boots a machine, creates and maps the device, then calls `sample` for every
/// (repeat, thread) with the measured sample.
pub fn run(
    cfg: &GupConfig,
    sample: &mut (dyn FnMut(u32, u32, &GupSample) + Send),
) -> Result<(), GupBenchError> {
    cfg.check_host()?;
    with_mapping(&cfg.spec(), cfg.write, |k, mm, va, len| {
        let nr = len / k.machine.geometry().page_size();
        let sample = std::sync::Mutex::new(sample);
        for r in 0..cfg.runs {
            std::thread::scope(|s| -> Result<(), GupBenchError> {
                let handles: Vec<_> = (0..cfg.threads)
                    .map(|t| {
                        let sample = &sample;
                        s.spawn(move || -> Result<(), GupBenchError> {
                            let smp = one_pass(k, mm, cfg, va, nr)?;
                            let mut f = sample
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            (*f)(r, t, &smp);
                            Ok(())
                        })
                    })
                    .collect();
                for h in handles {
                    h.join()
                        .map_err(|_| GupBenchError::Setup("benchmark thread panicked".into()))??;
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// One gup_test ioctl: get/pin every page in calls of `nr_per_call`, then release them all.
fn one_pass(
    k: &Kernel,
    mm: &Mm<'_>,
    cfg: &GupConfig,
    va: VirtAddr,
    nr: u64,
) -> Result<GupSample, GupBenchError> {
    let mut cx = GupCtx::new(k);
    let per_call = cfg.nr_per_call.unwrap_or(nr).clamp(1, nr);
    // gup_test allocates the page array zeroed (kvcalloc) before it starts the clock; the host
    // may refuse one that large (-j threads each hold one).
    let bytes = nr.saturating_mul(std::mem::size_of::<PagePtr>() as u64);
    let refused = || GupBenchError::PageArray {
        bytes: ByteSize::new(bytes),
        threads: cfg.threads,
    };
    let mut pages: Vec<PagePtr> = Vec::new();
    pages
        .try_reserve_exact(usize::try_from(nr).map_err(|_| refused())?)
        .map_err(|_| refused())?;
    pages.resize(pages.capacity(), PagePtr(VirtAddr::new(0)));
    pages.clear();
    let mut flags = if cfg.write {
        GupFlags::WRITE
    } else {
        GupFlags::NONE
    };
    if cfg.op == GupOp::PinLongterm {
        flags = flags | GupFlags::LONGTERM;
    }
    let p = k.machine.geometry().page_size();
    let t = Instant::now();
    let mut i = 0;
    while i < nr {
        let n = usize::try_from(per_call.min(nr - i)).unwrap_or(usize::MAX);
        let start = va.offset(i * p);
        let got = match cfg.op {
            GupOp::GupFast => get_user_pages_fast(&mut cx, mm, start, n, flags, &mut pages)?,
            GupOp::PinFast => pin_user_pages_fast(&mut cx, mm, start, n, flags, &mut pages)?,
            GupOp::PinLongterm => pin_user_pages(&mut cx, mm, start, n, flags, &mut pages)?,
        };
        if got != n {
            return Err(GupBenchError::Short {
                op: cfg.op,
                got: i + got as u64,
                want: nr,
            });
        }
        i += n as u64;
    }
    let get = t.elapsed();
    let get_stats = std::mem::take(&mut cx.stats);
    let t = Instant::now();
    if cfg.op.pins() {
        unpin_user_pages(&mut cx, k, &pages).map_err(GupError::from)?;
    } else {
        put_pages(&mut cx, &pages).map_err(GupError::from)?;
    }
    let put = t.elapsed();
    Ok(GupSample {
        get,
        put,
        pages: nr,
        get_stats,
        put_stats: cx.stats,
    })
}

/// Medians over runs of the slowest thread, with the section-5 limits measured in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GupResult {
    pub op: GupOp,
    pub kind: Kind,
    pub size: u64,
    pub align: u64,
    pub map: MapMode,
    pub profile: Profile,
    pub threads: u32,
    pub runs: u32,
    pub nr_per_call: u64,
    pub get_us: f64,
    pub put_us: f64,
    /// Writing 8 bytes per page (the output array).
    pub limit_get_us: f64,
    /// Reading 8 bytes per page (the input array).
    pub limit_put_us: f64,
    pub pages: u64,
    /// Refcount atomics of one get plus one put, per thread.
    pub atomics: u64,
    pub get_atomics: u64,
    pub put_atomics: u64,
    pub pincount_atomics: u64,
    pub walks: u64,
    pub pgmap_lookups: u64,
    pub slow_pages: u64,
}

/// Runs `cfg` and summarises it; `tick` after every run.
pub fn bench(cfg: &GupConfig, tick: &mut (dyn FnMut() + Send)) -> Result<GupResult, GupBenchError> {
    let runs = cfg.runs as usize;
    let mut get = vec![Duration::ZERO; runs];
    let mut put = vec![Duration::ZERO; runs];
    let mut last: Option<GupSample> = None;
    let mut seen = vec![0u32; runs];
    run(cfg, &mut |r, _t, s| {
        let r = r as usize;
        get[r] = get[r].max(s.get);
        put[r] = put[r].max(s.put);
        last = Some(*s);
        seen[r] += 1;
        if seen[r] == cfg.threads {
            tick();
        }
    })?;
    let s = last.unwrap_or(GupSample {
        get: Duration::ZERO,
        put: Duration::ZERO,
        pages: 0,
        get_stats: GupStats::default(),
        put_stats: GupStats::default(),
    });
    let mut limit = MemLimit::new();
    let (mut lg, mut lp) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        lg.push(limit.write(s.pages * 8));
        lp.push(limit.read(s.pages * 8));
    }
    Ok(GupResult {
        op: cfg.op,
        kind: cfg.kind,
        size: cfg.size.bytes(),
        align: cfg.align.bytes(),
        map: cfg.map,
        profile: cfg.profile,
        threads: cfg.threads,
        runs: cfg.runs,
        nr_per_call: cfg.nr_per_call.unwrap_or(s.pages),
        get_us: median_us(get),
        put_us: median_us(put),
        limit_get_us: median_us(lg),
        limit_put_us: median_us(lp),
        pages: s.pages,
        atomics: s.get_stats.refs.refcount_atomics + s.put_stats.refs.refcount_atomics,
        get_atomics: s.get_stats.refs.refcount_atomics,
        put_atomics: s.put_stats.refs.refcount_atomics,
        pincount_atomics: s.get_stats.refs.pincount_atomics + s.put_stats.refs.pincount_atomics,
        walks: s.get_stats.walks,
        pgmap_lookups: s.get_stats.pgmap_lookups,
        slow_pages: s.get_stats.slow_pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_are_gup_tests_and_the_cli_spellings() {
        // test_name is what gup_test prints; name/Display/FromStr are `--op`.
        let ops = [GupOp::GupFast, GupOp::PinFast, GupOp::PinLongterm];
        assert_eq!(
            ops.map(GupOp::test_name),
            [
                "GUP_FAST_BENCHMARK",
                "PIN_FAST_BENCHMARK",
                "PIN_LONGTERM_BENCHMARK"
            ]
        );
        assert_eq!(
            ops.map(GupOp::name),
            ["gup-fast", "pin-fast", "pin-longterm"]
        );
        for op in ops {
            assert_eq!(op.to_string(), op.name());
            assert_eq!(op.name().parse::<GupOp>(), Ok(op));
        }
        assert_eq!(
            "pin".parse::<GupOp>(),
            Err("unknown op 'pin'; valid: gup-fast, pin-fast, pin-longterm".to_string())
        );
        // Only gup-fast is released with put_page; the others pin.
        assert_eq!(ops.map(GupOp::pins), [false, true, true]);
    }
}
