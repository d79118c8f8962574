//! What a pmem namespace yields (ndctl's and `nd_pfn_init`'s rules), and the inverse: the
//! smallest namespace that yields a given dax device.

use serde::Serialize;

use crate::addr::ByteSize;
use crate::drivers::dax::{self, DaxError};
use crate::ndctl;

use super::{placed, plan, Kind, PlanConfig, PlanError};

/// what the rest went to (`reserve_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub usable_bytes: u64,
    pub reserve_bytes: u64,
}

/// The capacity of `cfg` as a pmem namespace (`ndctl create-namespace -m devdax -s size`), by
/// the kernel's rules (`nd_pfn_init`, see [`dax::namespace_layout`]), placed where the plan
/// places it; a namespace left with no data is refused with the smallest multiple of the
/// allocation unit that works. A HugeTLB pool has no namespace: all of it is usable.
pub fn capacity(cfg: &PlanConfig) -> Result<Capacity, PlanError> {
    if cfg.kind == Kind::Hugetlb {
        return Ok(Capacity {
            usable_bytes: cfg.size.bytes(),
            reserve_bytes: 0,
        });
    }
    let g = cfg.geometry();
    let (start, spec) = placed(cfg)?;
    let l = dax::namespace_layout(
        g,
        &cfg.profile.switches_on(g),
        cfg.profile.kernel(),
        &spec,
        start,
    )?;
    let usable = l.info.map_or(cfg.size, |sb| sb.usable());
    Ok(Capacity {
        usable_bytes: usable.bytes(),
        reserve_bytes: cfg.size.bytes() - usable.bytes(),
    })
}

/// [`capacity`] of a namespace that `ndctl` accepts in `region`: a size ndctl refuses is
/// refused with its message, and a namespace too small for its reserve with the smallest size
/// that both ndctl and the kernel accept.
pub fn namespace_capacity(
    cfg: &PlanConfig,
    size: &ndctl::NdctlSize,
    region: &ndctl::Region,
) -> Result<Capacity, PlanError> {
    if cfg.kind != Kind::Hugetlb {
        ndctl::validate_namespace_options(
            cfg.geometry(),
            cfg.profile.kernel(),
            size,
            cfg.align,
            region,
        )?;
    }
    capacity(cfg).map_err(|e| match e {
        PlanError::Dax(DaxError::NamespaceTooSmall {
            size,
            align,
            map,
            reserve,
            unit,
            ..
        }) => {
            let step = region.step(cfg.geometry(), cfg.align);
            let min = dax::smallest_size(step, region.min_size(cfg.geometry(), cfg.align), |s| {
                capacity(&PlanConfig { size: s, ..*cfg }).is_ok()
            })
            .unwrap_or(ByteSize::new(u64::MAX).align_down(step));
            PlanError::Dax(DaxError::NamespaceTooSmall {
                size,
                align,
                map,
                reserve,
                unit,
                min,
            })
        }
        e => e,
    })
}

/// The inverse question: the smallest namespace size, valid for ndctl in `region` and for the
/// kernel, whose dax device holds at least `usable` bytes at `cfg`'s align and map (`cfg.size`
/// is ignored), and that the forward plan accepts.
///
/// The usable size never shrinks as the namespace grows by whole steps (the reserve grows by
/// at most the step), so a binary search over multiples of the step finds the smallest that
/// yields enough. Whether the plan accepts a size is not monotone: with `--map dev`, the
/// vmemmap blocks carved from the reserve are aligned to their size (arm64, riscv), and the
/// padding can leave a reserve short by one block at one size and not at the next. So from
/// there the search walks up by steps to the first size the plan accepts.
pub fn smallest_namespace(
    cfg: &PlanConfig,
    region: &ndctl::Region,
    usable: ByteSize,
) -> Result<ByteSize, PlanError> {
    if cfg.kind == Kind::Hugetlb {
        return Err(PlanError::UsableHugetlb);
    }
    if usable.bytes() == 0 {
        return Err(PlanError::UsableZero);
    }
    // The align must be valid before any size is tried (its error names it).
    dax::check_align(cfg.geometry(), cfg.profile.kernel(), cfg.align)?;
    let step = region.step(cfg.geometry(), cfg.align);
    let at = |size| PlanConfig { size, ..*cfg };
    let first = dax::smallest_size(
        step,
        region.min_size(cfg.geometry(), cfg.align).max(usable),
        |s| capacity(&at(s)).is_ok_and(|c| c.usable_bytes >= usable.bytes()),
    )
    .ok_or(PlanError::UsableTooLarge { usable, step })?;
    let mut size = first;
    let mut refused = None;
    for _ in 0..ACCEPT_WALK {
        match plan(&at(size)) {
            Ok(_) => return Ok(size),
            // Only a short reserve is made up by a larger namespace.
            Err(e @ PlanError::AltmapShort { .. }) => refused = Some(e),
            Err(e) => return Err(e),
        }
        let Some(next) = size.checked_add(step) else {
            break;
        };
        size = next;
    }
    // No size the plan accepts near the first that yields enough: the plan's refusal.
    Err(refused.unwrap_or(PlanError::UsableTooLarge { usable, step }))
}

/// How many steps past the smallest namespace that yields enough [`smallest_namespace`] tries
/// before it gives up: a reserve short of one vmemmap block is made up within a few steps (a
/// step is at least 16 MiB of namespace, 256 KiB of reserve at 64 B per 4 KiB page).
const ACCEPT_WALK: u32 = 4096;
