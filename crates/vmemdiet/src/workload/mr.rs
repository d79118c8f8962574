//! The MR reg/unreg benchmark of the seeds (RFC cover letter): register and deregister a
//! memory region over device-dax in a loop for a fixed time, reporting rounds, time per round
//! and its split between pinning, scatterlist building, release and the HCA driver's own work
//! (`--driver`: none, rxe, mlx5).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::addr::{ByteSize, VirtAddr};
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::drivers::ib_driver::{Driver, DriverStats};
use crate::drivers::ib_umem::{SgEntry, UmemOpts, UmemTimes};
use crate::drivers::ib_verbs::{ib_dereg_mr, ib_reg_mr};
use crate::mm::gup::GupCtx;
use crate::mm::profile::Profile;
use crate::plan::Kind;
use crate::workload::gup::GupBenchError;
use crate::workload::mapping::{with_mapping, MappingSpec};

/// One configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MrConfig {
    /// Device-dax or hugetlbfs.
    pub kind: Kind,
    /// Region size each thread registers.
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    pub profile: Profile,
    /// The architecture of the simulated machine.
    pub arch: Arch,
    /// Threads, each registering its own region of `size`.
    pub threads: u32,
    /// How long to loop.
    pub seconds: f64,
    /// The RDMA device's driver, whose work each round adds.
    pub driver: Driver,
}

impl MrConfig {
    /// The memory all threads register together (`size x threads`), or `None` if that does
    /// not fit in 64 bits of bytes.
    #[must_use]
    pub fn spec(&self) -> Option<MappingSpec> {
        Some(MappingSpec {
            kind: self.kind,
            size: ByteSize::new(self.size.bytes().checked_mul(u64::from(self.threads))?),
            align: self.align,
            map: self.map,
            profile: self.profile,
            arch: self.arch,
        })
    }
}

impl MrConfig {
    /// Host memory a run makes resident beyond the mapping's simulation, per thread: the
    /// scatterlist (at most two entries per folio of the align: 6.2-6.14 split each into
    /// \[head\]\[tails\]) and the driver's structures (rxe: a page-map entry per page plus its
    /// xarray nodes, one per 64 entries; mlx5: at most one 8-byte MTT entry per page).
    #[must_use]
    pub fn host_bytes_per_thread(&self) -> u64 {
        let g = self.arch.geometry();
        let pages = self.size.bytes() / g.page_size();
        let folios = self.size.bytes() / self.align.bytes().max(g.page_size());
        let sg = folios
            .saturating_mul(2)
            .saturating_mul(std::mem::size_of::<SgEntry>() as u64);
        let driver = match self.driver {
            Driver::None => 0,
            Driver::Rxe => pages.saturating_mul(8 + 576_u64.div_ceil(64)),
            Driver::Mlx5 => pages.saturating_mul(8),
        };
        sg.saturating_add(driver)
    }
}

/// Totals and per-round averages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MrResult {
    pub kind: Kind,
    pub size: u64,
    pub align: u64,
    pub map: MapMode,
    pub profile: Profile,
    pub threads: u32,
    /// Wall time of the loop.
    pub seconds: f64,
    /// Register + deregister rounds, all threads.
    pub rounds: u64,
    /// Thread-seconds per round, in µs (the seeds' "usec / round" for one thread).
    pub us_per_round: f64,
    /// Per round: pinning (`pin_user_pages_fast` in `ib_umem_get`).
    pub pin_us: f64,
    /// Per round: building the scatterlist.
    pub sg_us: f64,
    /// Per round: `ib_umem_release`.
    pub release_us: f64,
    /// Scatterlist entries of one registration.
    pub sg_entries: u64,
    /// The RDMA device's driver.
    pub driver: Driver,
    /// Per round: the driver's registration and deregistration (0 for none).
    pub driver_us: f64,
    /// The MR's page size in bytes: mlx5's best size, rxe's PAGE_SIZE, 0 for none.
    pub mr_page_size: u64,
    /// Entries the driver writes per registration: rxe page-map stores, mlx5 MTT entries.
    pub driver_entries: u64,
}

/// What one thread reports: rounds, times, busy time, scatterlist entries and the driver's
/// counts of its last MR.
type ThreadTotals = (u64, UmemTimes, Duration, u64, DriverStats);

/// Runs one configuration.
pub fn run(cfg: &MrConfig) -> Result<MrResult, GupBenchError> {
    let spec = cfg.spec().ok_or_else(|| {
        GupBenchError::Setup(format!("{} x {} threads overflows", cfg.size, cfg.threads))
    })?;
    with_mapping(&spec, true, |k, mm, va, len| {
        let per_thread = len / u64::from(cfg.threads) / cfg.align.bytes() * cfg.align.bytes();
        let limit = Duration::from_secs_f64(cfg.seconds.max(0.0));
        let start = Instant::now();
        let results: Vec<Result<ThreadTotals, GupBenchError>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..u64::from(cfg.threads))
                .map(|t| {
                    let (k, mm) = (&k, &mm);
                    s.spawn(move || {
                        let mut cx = GupCtx::new(k);
                        let mut times = UmemTimes::default();
                        let addr = VirtAddr::new(va.as_u64() + t * per_thread);
                        let mut rounds = 0;
                        let mut entries = 0;
                        let mut stats = DriverStats::default();
                        let t0 = Instant::now();
                        while rounds == 0 || t0.elapsed() < limit {
                            let mr = ib_reg_mr(
                                &mut cx,
                                mm,
                                addr,
                                cfg.size.bytes().min(per_thread),
                                UmemOpts::default(),
                                cfg.driver,
                                &mut times,
                            )
                            .map_err(|e| GupBenchError::Setup(e.to_string()))?;
                            entries = mr.umem.sgt.len() as u64;
                            stats = ib_dereg_mr(&mut cx, mm, mr, &mut times)
                                .map_err(|e| GupBenchError::Setup(e.to_string()))?;
                            rounds += 1;
                        }
                        Ok((rounds, times, t0.elapsed(), entries, stats))
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(GupBenchError::Setup("MR thread panicked".into())))
                })
                .collect()
        });
        let wall = start.elapsed();
        let mut rounds = 0;
        let mut busy = Duration::ZERO;
        let mut times = UmemTimes::default();
        let mut sg_entries = 0;
        let mut stats = DriverStats::default();
        for r in results {
            let (n, t, b, e, s) = r?;
            rounds += n;
            busy += b;
            times.pin += t.pin;
            times.sg += t.sg;
            times.release += t.release;
            times.driver += t.driver;
            sg_entries = e;
            stats = s;
        }
        #[allow(clippy::cast_precision_loss)]
        let per = |d: Duration| d.as_secs_f64() * 1e6 / rounds.max(1) as f64;
        Ok(MrResult {
            kind: cfg.kind,
            size: cfg.size.bytes(),
            align: cfg.align.bytes(),
            map: cfg.map,
            profile: cfg.profile,
            threads: cfg.threads,
            seconds: wall.as_secs_f64(),
            rounds,
            us_per_round: per(busy),
            pin_us: per(times.pin),
            sg_us: per(times.sg),
            release_us: per(times.release),
            sg_entries,
            driver: cfg.driver,
            driver_us: per(times.driver),
            mr_page_size: stats.page_size,
            driver_entries: stats.entries(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::configs::{expand, Options};

    #[test]
    fn host_estimate_counts_the_scatterlist_and_the_drivers_structures_per_thread() {
        let cfgs = expand::<MrConfig>(&Options {
            sizes: vec![ByteSize::gib(1)],
            aligns: vec![ByteSize::mib(2)],
            drivers: Driver::ALL.to_vec(),
            ..Options::default()
        })
        .unwrap();
        let bytes: Vec<(Driver, u64)> = cfgs
            .iter()
            .map(|c| (c.driver, c.host_bytes_per_thread()))
            .collect();
        // 512 folios x 2 entries x 24 bytes of scatterlist; 262144 pages of 8-byte entries,
        // plus for rxe a 576-byte xarray node per 64 of them.
        let sg = 512 * 2 * 24;
        assert_eq!(
            bytes,
            [
                (Driver::None, sg),
                (Driver::Rxe, sg + 262_144 * 17),
                (Driver::Mlx5, sg + 262_144 * 8)
            ]
        );
    }

    #[test]
    fn a_nanosecond_loop_runs_one_round_per_thread_and_averages_over_all_rounds() {
        // 64 MiB per thread, so that a round's pinning outweighs starting a thread.
        let cfgs = expand::<MrConfig>(&Options {
            sizes: vec![ByteSize::mib(64)],
            aligns: vec![ByteSize::mib(2)],
            threads: 2,
            seconds: 1e-9,
            ..Options::default()
        })
        .unwrap();
        let r = run(&cfgs[0]).unwrap();
        // Every thread registers at least once, and 1 ns is over after that round: 2 rounds.
        assert_eq!(r.rounds, 2);
        assert_eq!((r.size, r.threads), (64 << 20, 2));
        // Per round is thread-time over rounds: all rounds together took at most the 2
        // threads' wall time, and the three phases of a round fit inside one.
        #[allow(clippy::cast_precision_loss)]
        let thread_us = r.us_per_round * r.rounds as f64;
        assert!(thread_us > 0.0);
        assert!(thread_us <= 2.0 * r.seconds * 1e6, "{r:?}");
        assert!(r.pin_us > 0.0 && r.release_us > 0.0, "{r:?}");
        assert!(
            r.pin_us + r.sg_us + r.release_us <= r.us_per_round * (1.0 + 1e-9),
            "{r:?}"
        );
    }
}
