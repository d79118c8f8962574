//! The kernel side of gup_test (`mm/gup_test.c`, `mm/gup_test.h`): the ioctl that gets or pins
//! the user buffer in calls of `nr_pages_per_call` pages, times that ("get") and the release
//! ("put"), checks pinned state outside the timed region (`verify_dma_pinned`) and dumps the
//! struct pages the user names (`DUMP_USER_PAGES_TEST`). The user side (getopt, mmap, TAP
//! output) is `vmemdiet gup-test` in the CLI.

use std::time::Instant;

use crate::addr::VirtAddr;
use crate::mm::folio::page_folio;
use crate::mm::gup::{
    get_user_pages, get_user_pages_fast, pin_user_pages, pin_user_pages_fast, put_pages,
    unpin_user_pages, GupCtx, GupError, GupFlags,
};
use crate::mm::page::PagePtr;
use crate::mm::vm::Mm;
use crate::mm::Kernel;

/// `GUP_TEST_MAX_PAGES_TO_DUMP`.
pub const GUP_TEST_MAX_PAGES_TO_DUMP: usize = 8;
/// `GUP_TEST_FLAG_DUMP_PAGES_USE_PIN`: the dump test pins instead of getting.
pub const GUP_TEST_FLAG_DUMP_PAGES_USE_PIN: u32 = 0x1;

/// The ioctl commands of `mm/gup_test.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GupTestCmd {
    /// `GUP_FAST_BENCHMARK`: `get_user_pages_fast`, released with `put_page`.
    GupFastBenchmark,
    /// `PIN_FAST_BENCHMARK`: `pin_user_pages_fast`, released with `unpin_user_pages`.
    PinFastBenchmark,
    /// `PIN_LONGTERM_BENCHMARK`: `pin_user_pages(FOLL_LONGTERM)`.
    PinLongtermBenchmark,
    /// `GUP_BASIC_TEST`: `get_user_pages` (the slow path).
    GupBasicTest,
    /// `PIN_BASIC_TEST`: `pin_user_pages` (the slow path).
    PinBasicTest,
    /// `DUMP_USER_PAGES_TEST`: `get_user_pages` or `pin_user_pages`, then `dump_page` of the
    /// pages named in `which_pages`.
    DumpUserPagesTest,
}

impl GupTestCmd {
    /// `cmd_to_str`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            GupTestCmd::GupFastBenchmark => "GUP_FAST_BENCHMARK",
            GupTestCmd::PinFastBenchmark => "PIN_FAST_BENCHMARK",
            GupTestCmd::PinLongtermBenchmark => "PIN_LONGTERM_BENCHMARK",
            GupTestCmd::GupBasicTest => "GUP_BASIC_TEST",
            GupTestCmd::PinBasicTest => "PIN_BASIC_TEST",
            GupTestCmd::DumpUserPagesTest => "DUMP_USER_PAGES_TEST",
        }
    }

    /// True for the `*_BENCHMARK` commands, whose user side prints times per repeat.
    #[must_use]
    pub const fn is_benchmark(self) -> bool {
        matches!(
            self,
            GupTestCmd::GupFastBenchmark
                | GupTestCmd::PinFastBenchmark
                | GupTestCmd::PinLongtermBenchmark
        )
    }

    fn pins(self, test_flags: u32) -> bool {
        match self {
            GupTestCmd::GupFastBenchmark | GupTestCmd::GupBasicTest => false,
            GupTestCmd::PinFastBenchmark
            | GupTestCmd::PinLongtermBenchmark
            | GupTestCmd::PinBasicTest => true,
            GupTestCmd::DumpUserPagesTest => test_flags & GUP_TEST_FLAG_DUMP_PAGES_USE_PIN != 0,
        }
    }
}

/// `struct gup_test`, the ioctl's argument, in and out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GupTest {
    /// Out: microseconds of the get/pin loop.
    pub get_delta_usec: u64,
    /// Out: microseconds of the release.
    pub put_delta_usec: u64,
    /// In: the user buffer.
    pub addr: u64,
    /// In: its size; out: the bytes the loop got through (less if a call came up short).
    pub size: u64,
    /// In: pages per GUP call.
    pub nr_pages_per_call: u32,
    /// In: `FOLL_*` flags as the current kernel numbers them (`FOLL_WRITE` = 0x1).
    pub gup_flags: u32,
    /// In: `GUP_TEST_FLAG_*`.
    pub test_flags: u32,
    /// In: 1-based page indices to dump (0 = none).
    pub which_pages: [u32; GUP_TEST_MAX_PAGES_TO_DUMP],
    /// Out, the model's own (not in `struct gup_test`): the GUP calls the loop made.
    pub calls: u64,
}

/// The errno an ioctl fails with (the user side sees -1 and this in `errno`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Errno {
    /// `EINVAL`: the buffer wraps around the address space.
    #[error("Invalid argument")]
    Inval,
    /// `ENOMEM`: the page array could not be allocated.
    #[error("Cannot allocate memory")]
    NoMem,
}

/// The public `FOLL_*` flags of `include/linux/mm_types.h` (6.2+ numbering) that the model
/// acts on, from the value user space passes (`-F`).
mod foll {
    pub const WRITE: u32 = 1 << 0;
    pub const GET: u32 = 1 << 1;
    pub const LONGTERM: u32 = 1 << 8;
    /// `INTERNAL_GUP_FLAGS`: FOLL_TOUCH, FOLL_TRIED, FOLL_REMOTE, FOLL_PIN, FOLL_FAST_ONLY,
    /// FOLL_UNLOCKABLE, FOLL_MADV_POPULATE (bits 16–22), which callers may not pass.
    pub const INTERNAL: u32 = 0x7f << 16;
}

/// `is_valid_gup_args`' first check, and the translation of the user's `gup_flags` into the
/// model's: `None` (the call fails with `-EINVAL` after a `WARN_ON_ONCE`) if an internal flag
/// is set. Other public flags (FOLL_FORCE, FOLL_NOWAIT, ...) change nothing the model measures
/// on writable anonymous, HugeTLB or device-dax memory and are accepted as given.
#[must_use]
#[doc(alias = "is_valid_gup_args")]
pub fn user_gup_flags(v: u32) -> Option<GupFlags> {
    if v & foll::INTERNAL != 0 {
        return None;
    }
    let mut f = GupFlags::NONE;
    if v & foll::WRITE != 0 {
        f = f | GupFlags::WRITE;
    }
    if v & foll::GET != 0 {
        f = f | GupFlags::GET;
    }
    if v & foll::LONGTERM != 0 {
        f = f | GupFlags::LONGTERM;
    }
    Some(f)
}

/// `dump_page`: the struct page's counts and folio, as the kernel log shows them.
fn dump_page(cx: &mut GupCtx<'_>, k: &Kernel, page: PagePtr, reason: &str) -> Vec<String> {
    let g = k.machine.geometry();
    let mut out = Vec::new();
    let Ok(folio) = page_folio(&mut cx.memmap, page) else {
        out.push(format!(
            "page:{:#x} is not mapped in the vmemmap",
            page.0.as_u64()
        ));
        return out;
    };
    let mm = &mut cx.memmap;
    let head = folio.head();
    let line = (|| -> Result<Vec<String>, crate::machine::Fault> {
        let p = mm.page(page)?;
        let mut v = vec![format!(
            "page: refcount:{} mapcount:{} mapping:{:#018x} index:{:#x} pfn:{:#x}",
            folio.ref_count(mm)?,
            p.mapcount() + 1,
            folio.mapping(mm)?,
            page.pfn(g).distance_from(head.pfn(g)),
            page.pfn(g).as_u64()
        )];
        if folio.is_large(mm)? {
            v.push(format!(
                "head: order:{} pincount:{} pfn:{:#x}",
                folio.order(mm)?.get(),
                folio.pincount(mm)?,
                head.pfn(g).as_u64()
            ));
        }
        v.push(format!("flags: {:#x}(zone {})", p.flags(), p.zone()));
        Ok(v)
    })();
    match line {
        Ok(v) => out.extend(v),
        Err(e) => out.push(format!("page:{:#x} unreadable: {e}", page.0.as_u64())),
    }
    out.push(format!("page dumped because: {reason}"));
    out
}

/// `verify_dma_pinned`: after a pin command, every page's folio must read as pinned (and, for
/// `PIN_LONGTERM_BENCHMARK`, be long-term pinnable); the first that does not is reported.
fn verify_dma_pinned(
    cx: &mut GupCtx<'_>,
    k: &Kernel,
    cmd: GupTestCmd,
    pages: &[PagePtr],
    log: &mut Vec<String>,
) -> Result<(), GupError> {
    if !matches!(
        cmd,
        GupTestCmd::PinFastBenchmark | GupTestCmd::PinBasicTest | GupTestCmd::PinLongtermBenchmark
    ) {
        return Ok(());
    }
    for (i, &p) in pages.iter().enumerate() {
        let folio = page_folio(&mut cx.memmap, p)?;
        let why = if !folio.maybe_dma_pinned(&mut cx.memmap)? {
            Some(format!("pages[{i}] is NOT dma-pinned"))
        } else if cmd == GupTestCmd::PinLongtermBenchmark
            && !folio.is_longterm_pinnable(&mut cx.memmap)?
        {
            Some(format!("pages[{i}] is NOT pinnable but pinned"))
        } else {
            None
        };
        if let Some(why) = why {
            log.push(format!("WARNING: mm/gup_test.c: verify_dma_pinned: {why}"));
            log.extend(dump_page(cx, k, p, "gup_test failure"));
            break;
        }
    }
    Ok(())
}

/// `dump_pages_test`: out-of-range indices are zeroed (and reported), the others dumped.
fn dump_pages_test(
    cx: &mut GupCtx<'_>,
    k: &Kernel,
    gup: &mut GupTest,
    pages: &[PagePtr],
    log: &mut Vec<String>,
) {
    let nr = pages.len() as u64;
    for (i, w) in gup.which_pages.iter_mut().enumerate() {
        if u64::from(*w) > nr {
            log.push(format!(
                "ZEROING due to out of range: .which_pages[{i}]: {w}"
            ));
            *w = 0;
        }
    }
    for &w in &gup.which_pages {
        if w != 0 {
            let idx = w - 1;
            log.push(format!(
                "---- page #{idx}, starting from user virt addr: {:#x}",
                gup.addr
            ));
            log.extend(dump_page(
                cx,
                k,
                pages[idx as usize],
                "gup_test: dump_pages() test",
            ));
        }
    }
}

/// `gup_test_ioctl` -> `__gup_test_ioctl`: runs `cmd` on `gup`, filling in its times and the
/// size reached. A GUP call that fails or comes up short ends the loop, as in the kernel; the
/// ioctl still succeeds (user space sees the truncated size). Kernel log lines (WARNs,
/// `dump_page`) are appended to `log`.
pub fn gup_test_ioctl(
    k: &Kernel,
    mm: &Mm<'_>,
    cmd: GupTestCmd,
    gup: &mut GupTest,
    log: &mut Vec<String>,
) -> Result<(), Errno> {
    let page_size = k.machine.geometry().page_size();
    let end = gup.addr.checked_add(gup.size).ok_or(Errno::Inval)?;
    let nr_pages = gup.size / page_size;
    let mut pages: Vec<PagePtr> = Vec::new();
    pages
        .try_reserve_exact(usize::try_from(nr_pages).map_err(|_| Errno::NoMem)?)
        .map_err(|_| Errno::NoMem)?;
    let mut cx = GupCtx::new(k);
    let user_flags = user_gup_flags(gup.gup_flags);
    let pin = cmd.pins(gup.test_flags);
    let per_call = i64::from(gup.nr_pages_per_call);
    let mut nr = per_call;
    let mut addr = gup.addr;
    gup.calls = 0;
    let start = Instant::now();
    while addr < end {
        if nr != per_call {
            break;
        }
        // nr ≤ u32::MAX pages: the product fits, the sum saturates past the end.
        let mut next = addr.saturating_add(nr.unsigned_abs() * page_size);
        if next > end {
            next = end;
            nr = i64::try_from((next - addr) / page_size).unwrap_or(i64::MAX);
        }
        let n = usize::try_from(nr).unwrap_or(0);
        let va = VirtAddr::new(addr);
        let got = match user_flags {
            None => Err(GupError::BadFlags),
            Some(f) => match cmd {
                GupTestCmd::GupFastBenchmark => {
                    get_user_pages_fast(&mut cx, mm, va, n, f, &mut pages)
                }
                GupTestCmd::PinFastBenchmark => {
                    pin_user_pages_fast(&mut cx, mm, va, n, f, &mut pages)
                }
                GupTestCmd::PinLongtermBenchmark => {
                    pin_user_pages(&mut cx, mm, va, n, f | GupFlags::LONGTERM, &mut pages)
                }
                GupTestCmd::GupBasicTest => get_user_pages(&mut cx, mm, va, n, f, &mut pages),
                GupTestCmd::PinBasicTest => pin_user_pages(&mut cx, mm, va, n, f, &mut pages),
                GupTestCmd::DumpUserPagesTest if pin => {
                    pin_user_pages(&mut cx, mm, va, n, f, &mut pages)
                }
                GupTestCmd::DumpUserPagesTest => get_user_pages(&mut cx, mm, va, n, f, &mut pages),
            },
        };
        gup.calls += 1;
        nr = match got {
            Ok(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Err(_) => -1,
        };
        if nr <= 0 {
            break;
        }
        addr = next;
    }
    gup.get_delta_usec = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    gup.size = addr - gup.addr;
    // Outside the timed region: a failed check is a kernel WARN, not an ioctl error.
    if let Err(e) = verify_dma_pinned(&mut cx, k, cmd, &pages, log) {
        log.push(format!("WARNING: mm/gup_test.c: verify_dma_pinned: {e}"));
    }
    if cmd == GupTestCmd::DumpUserPagesTest {
        dump_pages_test(&mut cx, k, gup, &pages, log);
    }
    let start = Instant::now();
    let put = if pin {
        unpin_user_pages(&mut cx, k, &pages)
    } else {
        put_pages(&mut cx, &pages)
    };
    gup.put_delta_usec = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    if let Err(e) = put {
        log.push(format!("BUG: releasing the pages: {e}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_flags_are_the_current_kernel_numbering_and_internal_ones_are_refused() {
        assert_eq!(user_gup_flags(0x1), Some(GupFlags::WRITE));
        assert_eq!(
            user_gup_flags(0x101),
            Some(GupFlags::WRITE | GupFlags::LONGTERM)
        );
        // FOLL_FORCE (0x8) changes nothing here; FOLL_PIN (1 << 19) is internal.
        assert_eq!(user_gup_flags(0x8), Some(GupFlags::NONE));
        assert_eq!(user_gup_flags(1 << 19), None);
        assert_eq!(user_gup_flags(1 << 16), None);
    }

    #[test]
    fn command_names_are_cmd_to_str_and_only_benchmarks_time_repeats() {
        let cmds = [
            GupTestCmd::GupFastBenchmark,
            GupTestCmd::PinFastBenchmark,
            GupTestCmd::PinLongtermBenchmark,
            GupTestCmd::GupBasicTest,
            GupTestCmd::PinBasicTest,
            GupTestCmd::DumpUserPagesTest,
        ];
        assert_eq!(
            cmds.map(GupTestCmd::name),
            [
                "GUP_FAST_BENCHMARK",
                "PIN_FAST_BENCHMARK",
                "PIN_LONGTERM_BENCHMARK",
                "GUP_BASIC_TEST",
                "PIN_BASIC_TEST",
                "DUMP_USER_PAGES_TEST"
            ]
        );
        assert_eq!(
            cmds.map(GupTestCmd::is_benchmark),
            [true, true, true, false, false, false]
        );
    }
}
