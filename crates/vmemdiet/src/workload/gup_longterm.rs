//! gup_longterm-style checks (`tools/testing/selftests/mm/gup_longterm.c`) for the memory the
//! model has: can each kind be pinned with FOLL_LONGTERM, read-only and read/write, through
//! `pin_user_pages_fast` and `pin_user_pages` (the test's `PIN_LONGTERM_TEST_START` with and
//! without `PIN_LONGTERM_TEST_FLAG_USE_FAST`), and which path took the pins.

use crate::addr::ByteSize;
use crate::arch::Arch;
use crate::drivers::dax::MapMode;
use crate::mm::folio::page_folio;
use crate::mm::gup::{pin_user_pages, pin_user_pages_fast, unpin_user_pages, GupCtx, GupFlags};
use crate::mm::profile::Profile;
use crate::plan::Kind;
use crate::workload::mapping::{with_mapping, MappingError, MappingSpec};

/// One check: a kind, R/O or R/W, fast or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongtermCase {
    pub kind: Kind,
    pub write: bool,
    pub fast: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongtermOutcome {
    /// All pages pinned (`pin_longterm_test_start` returned 0).
    pub pinned: bool,
    /// The error of the pin call, if it failed.
    pub error: Option<String>,
    /// Pages the fast path took; the rest took the slow path.
    pub fast_pages: u64,
    pub slow_pages: u64,
    /// Every pinned folio read as pinned and long-term pinnable (`verify_dma_pinned`).
    pub verified: bool,
    /// After the unpin every folio's counts were back (INV-4).
    pub restored: bool,
}

/// Whether the kernel lets `kind` be pinned long-term (`check_vma_flags`,
/// `folio_is_longterm_pinnable`; kernel brief §4.4): anonymous memory, shmem and HugeTLB in
/// normal zones, and device-dax (`MEMORY_DEVICE_GENERIC`), read-only or read/write. Only
/// fsdax (and file systems that need writeback for R/W) refuse; the model maps neither.
#[must_use]
pub fn should_work(kind: Kind, _write: bool) -> bool {
    matches!(
        kind,
        Kind::Anon | Kind::Thp | Kind::Shmem | Kind::Hugetlb | Kind::Devdax
    )
}

/// Maps `size` of `case.kind` under `profile`, pins all of it long-term, checks, unpins.
pub fn check(
    case: LongtermCase,
    profile: Profile,
    arch: Arch,
    size: ByteSize,
) -> Result<LongtermOutcome, MappingError> {
    let g = arch.geometry();
    let align = match case.kind {
        Kind::Devdax | Kind::Hugetlb | Kind::Thp => g.pmd_size(),
        _ => ByteSize::new(g.page_size()),
    };
    let spec = MappingSpec {
        kind: case.kind,
        size,
        align,
        map: MapMode::Mem,
        profile,
        arch,
    };
    with_mapping(&spec, true, |k, mm, va, len| {
        let mut cx = GupCtx::new(k);
        let nr = usize::try_from(len / g.page_size()).unwrap_or(usize::MAX);
        let flags = GupFlags::LONGTERM
            | if case.write {
                GupFlags::WRITE
            } else {
                GupFlags::NONE
            };
        let mut pages = Vec::new();
        let r = if case.fast {
            pin_user_pages_fast(&mut cx, mm, va, nr, flags, &mut pages)
        } else {
            pin_user_pages(&mut cx, mm, va, nr, flags, &mut pages)
        };
        let (pinned, error) = match r {
            Ok(n) => (
                n == nr,
                (n != nr).then(|| format!("pinned {n} of {nr} pages")),
            ),
            Err(e) => (false, Some(e.to_string())),
        };
        let stats = cx.stats;
        let mut verified = true;
        let mut before = Vec::new();
        for &p in &pages {
            let f = page_folio(&mut cx.memmap, p).map_err(crate::mm::vm::VmError::from)?;
            verified &= f
                .maybe_dma_pinned(&mut cx.memmap)
                .map_err(crate::mm::vm::VmError::from)?
                && f.is_longterm_pinnable(&mut cx.memmap)
                    .map_err(crate::mm::vm::VmError::from)?;
            before.push(f);
        }
        unpin_user_pages(&mut cx, k, &pages).map_err(crate::mm::vm::VmError::from)?;
        let mut restored = true;
        for f in before {
            restored &= !f
                .maybe_dma_pinned(&mut cx.memmap)
                .map_err(crate::mm::vm::VmError::from)?;
        }
        Ok(LongtermOutcome {
            pinned,
            error,
            fast_pages: stats.fast_pages,
            slow_pages: stats.slow_pages,
            verified,
            restored,
        })
    })
}
