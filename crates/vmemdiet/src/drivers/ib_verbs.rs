//! The verbs an application registers memory with (`drivers/infiniband/core/verbs.c`
//! `ib_reg_user_mr` / `ib_dereg_mr_user`, reached from `ibv_reg_mr` / `ibv_dereg_mr` through
//! `uverbs_cmd.c`): the core's `ib_umem_get` / `ib_umem_release` ([`super::ib_umem`]) around
//! the HCA driver's own work ([`super::ib_driver`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::addr::VirtAddr;
use crate::drivers::ib_driver::{dereg_mr, reg_user_mr, Driver, DriverMr, DriverStats};
use crate::drivers::ib_umem::{
    ib_umem_get, ib_umem_release, IbUmem, UmemError, UmemOpts, UmemTimes,
};
use crate::machine::Fault;
use crate::mm::gup::GupCtx;
use crate::mm::vm::Mm;

/// A memory region (`ib_reg_mr`): a registered umem with its keys and the driver's state.
#[derive(Debug)]
pub struct Mr {
    pub lkey: u32,
    pub umem: IbUmem,
    pub driver: DriverMr,
}

/// `ib_reg_mr` / `ibv_reg_mr`: registers `[addr, addr + len)` of `mm` with `ib_umem_get`,
/// then runs `driver`'s registration; if that fails the umem is released.
#[doc(alias = "ib_reg_user_mr")]
pub fn ib_reg_mr(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    addr: VirtAddr,
    len: u64,
    opts: UmemOpts,
    driver: Driver,
    times: &mut UmemTimes,
) -> Result<Mr, UmemError> {
    static NEXT_KEY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let umem = ib_umem_get(cx, mm, addr, len, opts, times)?;
    // `none` is not timed, so its rounds stay the core's alone.
    let t = (driver != Driver::None).then(Instant::now);
    let driver = reg_user_mr(cx, &umem, driver, mm.k.profile.kernel());
    times.driver += t.map_or(Duration::ZERO, |t| t.elapsed());
    match driver {
        Ok(driver) => Ok(Mr {
            lkey: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            umem,
            driver,
        }),
        Err(e) => {
            ib_umem_release(cx, mm, umem, times)?;
            Err(e)
        }
    }
}

/// `ib_dereg_mr`: the driver's deregistration, then `ib_umem_release`. Returns the driver's
/// counts for the MR.
#[doc(alias = "ib_dereg_mr_user")]
pub fn ib_dereg_mr(
    cx: &mut GupCtx<'_>,
    mm: &Mm<'_>,
    mr: Mr,
    times: &mut UmemTimes,
) -> Result<DriverStats, Fault> {
    let t = (mr.driver.driver != Driver::None).then(Instant::now);
    let stats = dereg_mr(mr.driver);
    times.driver += t.map_or(Duration::ZERO, |t| t.elapsed());
    ib_umem_release(cx, mm, mr.umem, times)?;
    Ok(stats)
}
