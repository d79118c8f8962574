//! dax_kmem (`drivers/dax/kmem.c`): a dax device onlined as System RAM. The range is cut to
//! whole memory blocks, hot-added with `MHP_MEMMAP_ON_MEMORY` when the device asks for it and
//! the kernel supports it, and its blocks onlined; unbinding offlines and removes them.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::KernelVersion;
use crate::mm::memory_hotplug::{
    self, add_memory, mhp_supports_memmap_on_memory, HotplugError, MemmapOnMemory, MemoryBlock,
    OnlineZone,
};
use crate::mm::Kernel;

/// Errors of the dax_kmem probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmemProbeError {
    /// `dev_dax_kmem_probe`: "rejecting DAX region without any memory after alignment".
    #[error("dax_kmem: {start} +{len}: rejecting DAX region without any memory after alignment to the {block} memory block (EINVAL)")]
    NothingLeft {
        start: PhysAddr,
        len: ByteSize,
        block: ByteSize,
    },
    #[error(transparent)]
    Hotplug(#[from] HotplugError),
}

/// `dax_kmem_range`: the range rounded in to whole memory blocks (start up, end down), or
/// `None` when that leaves nothing ("too small after alignment").
#[must_use]
pub fn dax_kmem_range(start: PhysAddr, len: u64, block: ByteSize) -> Option<(PhysAddr, u64)> {
    let s = start.as_u64().checked_next_multiple_of(block.bytes())?;
    let end = start.as_u64().checked_add(len)?;
    let e = end - end % block.bytes();
    (e > s).then(|| (PhysAddr::new(s), e - s))
}

/// A dax device bound to kmem: its hot-added memory blocks.
#[derive(Debug)]
pub struct KmemDevice {
    pub blocks: Vec<MemoryBlock>,
    /// memmap_on_memory was in effect for the hot-add.
    pub memmap_on_memory: bool,
}

/// How the kernel was booted and the device set up, as far as dax_kmem cares.
#[derive(Debug, Clone, Copy)]
pub struct KmemSetup {
    pub block: ByteSize,
    /// `memory_hotplug.memmap_on_memory`.
    pub param: MemmapOnMemory,
    /// `dev_dax->memmap_on_memory`.
    pub device_mom: bool,
    pub release: KernelVersion,
}

/// `dev_dax_kmem_probe`: hot-adds the block-aligned part of `[start, start + len)`, asking for
/// memmap_on_memory per the device (6.8+), which `add_memory_resource` grants only where
/// `mhp_supports_memmap_on_memory` does (silently taking DRAM otherwise).
///
/// # Errors
/// Nothing left after alignment, or a hot-add that fails.
pub fn probe(
    k: &Kernel,
    start: PhysAddr,
    len: u64,
    s: &KmemSetup,
) -> Result<KmemDevice, KmemProbeError> {
    let g = k.machine.geometry();
    let (a, n) = dax_kmem_range(start, len, s.block).ok_or(KmemProbeError::NothingLeft {
        start,
        len: ByteSize::new(len),
        block: s.block,
    })?;
    let asked = s.device_mom && memory_hotplug::DAX_KMEM_SINCE.at_or_before(s.release);
    let granted = asked && mhp_supports_memmap_on_memory(g, s.release, s.block, s.param).is_ok();
    let blocks = add_memory(
        k,
        g.phys_to_pfn(a),
        n / g.page_size(),
        s.block,
        granted.then_some(s.param),
    )?;
    Ok(KmemDevice {
        blocks,
        memmap_on_memory: granted,
    })
}

impl KmemDevice {
    /// Onlines every block to `zone` (daxctl's `--mode=system-ram`, movable by default).
    ///
    /// # Errors
    /// A block that cannot be onlined.
    pub fn online(&mut self, k: &Kernel, zone: OnlineZone) -> Result<(), HotplugError> {
        for b in &mut self.blocks {
            memory_hotplug::online(k, b, zone)?;
        }
        Ok(())
    }

    /// `dev_dax_kmem_remove`: offlines every block, then removes the memory.
    ///
    /// # Errors
    /// A block that cannot be offlined.
    pub fn remove(mut self, k: &Kernel) -> Result<(), HotplugError> {
        for b in &mut self.blocks {
            if b.state == memory_hotplug::BlockState::Online {
                memory_hotplug::offline(k, b)?;
            }
        }
        memory_hotplug::remove_memory(k, self.blocks)
    }
}
