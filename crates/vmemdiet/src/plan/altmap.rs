//! The altmap: vmemmap frames carved from the device itself (`--map=dev`), and the
//! vmemmap allocations of a plan, from the altmap or from RAM.

use crate::addr::ByteSize;

use super::{PlanConfig, PlanError};

/// The altmap's bump allocator (`altmap_alloc_block_buf`), replayed: allocations of `nr` pfns
/// are aligned to the lowest set bit of `nr`.
pub(super) struct AltmapBump {
    pub(super) next: u64,
    end: u64,
}

impl AltmapBump {
    pub(super) fn new(r: &crate::drivers::nd_pfn::PfnReserve) -> AltmapBump {
        let next = r.base_pfn.as_u64() + r.reserve;
        AltmapBump {
            next,
            end: next + r.free,
        }
    }

    /// `n` order-0 allocations in a row: no padding between them.
    pub(super) fn alloc_pages(&mut self, n: u64) -> bool {
        if self.next + n > self.end {
            return false;
        }
        self.next += n;
        true
    }

    /// One allocation of `nr` pfns, aligned to the lowest set bit of `nr`.
    pub(super) fn alloc(&mut self, nr: u64) -> bool {
        let start = self.next.next_multiple_of(1 << nr.trailing_zeros());
        if start + nr > self.end {
            return false;
        }
        self.next = start + nr;
        true
    }
}

/// The vmemmap allocations of one plan (`vmemmap_alloc_block_buf`): from the altmap when the
/// namespace has one, else from RAM, counted by where they landed.
pub(super) struct VmemmapAlloc {
    bump: Option<AltmapBump>,
    /// Frames taken from RAM.
    pub(super) memmap_frames: u64,
    /// Frames taken from the device.
    pub(super) device_frames: u64,
    /// For the refusal: the arch, the page size and the namespace size.
    arch: crate::arch::Arch,
    page: u64,
    size: ByteSize,
}

impl VmemmapAlloc {
    pub(super) fn new(bump: Option<AltmapBump>, cfg: &PlanConfig) -> VmemmapAlloc {
        VmemmapAlloc {
            bump,
            memmap_frames: 0,
            device_frames: 0,
            arch: cfg.arch,
            page: cfg.geometry().page_size(),
            size: cfg.size,
        }
    }

    /// Whether allocations may come from the device.
    pub(super) fn has_altmap(&self) -> bool {
        self.bump.is_some()
    }

    /// `times` allocations of `nr_frames` frames: from the altmap if there is one.
    pub(super) fn alloc(
        &mut self,
        nr_frames: u64,
        times: u64,
        fallback: bool,
    ) -> Result<bool, PlanError> {
        self.alloc_in(nr_frames, times, true, fallback)
    }

    /// As [`Self::alloc`], from the device only where `device_ok` too.
    pub(super) fn alloc_in(
        &mut self,
        nr_frames: u64,
        times: u64,
        device_ok: bool,
        fallback: bool,
    ) -> Result<bool, PlanError> {
        if self.has_altmap() && device_ok {
            return self.alloc_device(nr_frames, times, fallback);
        }
        self.alloc_ram(nr_frames, times);
        Ok(true)
    }

    /// `times` allocations of `nr_frames` frames from the altmap: ENOMEM when it is short,
    /// unless `fallback` (then `false`, and the caller takes RAM). Order-0 allocations never
    /// pad, so a run of them is one bump.
    pub(super) fn alloc_device(
        &mut self,
        nr_frames: u64,
        times: u64,
        fallback: bool,
    ) -> Result<bool, PlanError> {
        let b = self
            .bump
            .as_mut()
            .expect("device allocations have an altmap");
        let ok = if nr_frames == 1 {
            b.alloc_pages(times)
        } else {
            (0..times).all(|_| b.alloc(nr_frames))
        };
        if ok {
            self.device_frames += nr_frames * times;
            return Ok(true);
        }
        if fallback {
            return Ok(false);
        }
        Err(PlanError::AltmapShort {
            arch: self.arch,
            block: ByteSize::new(nr_frames * self.page),
            size: self.size,
        })
    }

    /// `times` allocations of `nr_frames` frames from RAM.
    pub(super) fn alloc_ram(&mut self, nr_frames: u64, times: u64) {
        self.memmap_frames += nr_frames * times;
    }
}
