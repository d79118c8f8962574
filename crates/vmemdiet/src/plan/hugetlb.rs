//! The closed form of a HugeTLB pool: boot memmap, and what HVO gives back.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Geometry, Level, VmemmapMap};
use crate::drivers::dax::{self, DaxError, MapMode, MemmapCost};
use crate::machine::phys_map::ram_end;
use crate::mm::profile::{Hvo, MemmapAccounting};

use super::blocks::blocks;
use super::{PlanConfig, PlanError};

/// Plans a HugeTLB pool: its memmap exists from boot (S/64); HVO keeps one vmemmap page per
/// huge page (plus, in `next`, the order's shared tail frame) and needs the pool's PMD-mapped
/// vmemmap split into PTE tables.
pub(super) fn plan_hugetlb(cfg: &PlanConfig) -> Result<MemmapCost, PlanError> {
    if cfg.struct_page_size != crate::mm::page::RECORD_SIZE {
        return Err(PlanError::StructPageSizeHugetlb(cfg.struct_page_size));
    }
    let g: &Geometry = cfg.geometry();
    let Some(size) = crate::mm::hugetlb::HugeSize::from_align(cfg.geometry(), cfg.align) else {
        return Err(PlanError::hugetlb_align(cfg.arch, cfg.align));
    };
    if cfg.map != MapMode::Mem {
        return Err(PlanError::HugetlbMap);
    }
    if cfg.size.bytes() == 0 {
        return Err(DaxError::ZeroSize.into());
    }
    if !cfg.size.is_multiple_of(cfg.align) {
        return Err(DaxError::SizeMisaligned {
            size: cfg.size,
            unit: cfg.align,
            align: cfg.align,
            down: cfg.size.align_down(cfg.align).short(),
            up: dax::up_or_none(cfg.size, cfg.align),
        }
        .into());
    }
    let end = ram_end(g, cfg.machine_ram());
    if end.is_none_or(|end| end > g.max_phys()) {
        return Err(PlanError::RamTooLarge {
            what: format!(
                "a {} HugeTLB pool (in {} of RAM)",
                cfg.size,
                cfg.machine_ram()
            ),
            end,
            // The machine grows with the pool: only a smaller pool helps.
            flag: "--size",
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: cfg.arch,
        });
    }
    let page = g.page_size();
    let nr = g.bytes_to_pages(cfg.size);
    let pages = cfg.size.bytes() / size.bytes(cfg.geometry()).bytes();
    let (lo, hi) = cfg.hugetlb_pool();
    // HVO splits each PMD leaf of the pool's vmemmap into a PTE table (none to split where the
    // arch maps the vmemmap with base pages).
    let split_tables = if g.vmemmap_map == VmemmapMap::BasePages {
        0
    } else {
        let va = |pa: PhysAddr| pa.as_u64() / page * g.struct_page_size;
        blocks(va(lo), va(hi), g.pmd_size().bytes()).count() as u64
    };
    // The pool's memmap is boot memmap. HVO (6.11+ counting, brief §9.7) gives every vmemmap
    // page of a huge page back (memmap_boot_pages_add(-1) each) and allocates a fresh head page
    // (memmap_pages_add(1)); the order's shared tail page (7.1+) is RAM but not counted.
    let v = i64::try_from(g.vmemmap_pages_for(size.order(g).nr_pages())).unwrap_or(i64::MAX);
    let pages_i = i64::try_from(pages).unwrap_or(i64::MAX);
    let counters = match cfg.profile.switches_on(cfg.geometry()).memmap_accounting {
        MemmapAccounting::Absent => None,
        MemmapAccounting::FullSpan | MemmapAccounting::Described | MemmapAccounting::Allocated => {
            Some(match cfg.profile.switches_on(cfg.geometry()).hvo {
                Hvo::Off => (0, 0),
                Hvo::KeepOne => (pages, -v * pages_i),
                // The shared tail page is not counted (booted 7.1.13, 7.2.13).
                Hvo::SharedTail => (pages, -v * pages_i),
            })
        }
    };
    let (memmap_frames, tables, extra_init) = match cfg.profile.switches_on(cfg.geometry()).hvo {
        Hvo::Off => (nr * g.struct_page_size / page, 0, 0),
        Hvo::KeepOne => (pages, split_tables, 0),
        Hvo::SharedTail => (pages + 1, split_tables, g.struct_pages_per_page()),
    };

    Ok(MemmapCost {
        memmap_bytes: memmap_frames * page,
        pagetable_bytes: tables * g.table_bytes(Level::PTE),
        device_bytes: 0,
        struct_pages: nr,
        struct_pages_initialized: nr + extra_init,
        nr_memmap_pages: counters.map(|(hot, _)| hot),
        nr_memmap_boot_pages: counters.map(|(_, boot)| boot),
    })
}
