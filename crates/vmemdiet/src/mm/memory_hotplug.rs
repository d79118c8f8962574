//! Memory hotplug (`mm/memory_hotplug.c`, `drivers/base/memory.c`): the `memmap_on_memory`
//! rules that decide whether a hot-added memory block hosts its own memmap, and the memory
//! blocks themselves as the simulated kernel adds, onlines, offlines and removes them
//! (device-memory.md §1.1, §1.3).
//!
//! Onlined pages are counted as the zone's present and managed pages; they are not handed to
//! the simulated buddy allocator, which serves the machine's boot RAM only.

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::addr::{ByteSize, Pfn};
use crate::arch::{Geometry, KernelVersion};
use crate::mm::memremap::MemremapError;
pub use crate::mm::mmzone::OnlineZone;
use crate::mm::page::{Memmap, PagePtr};
use crate::mm::pagemap::{PopulateCtx, VmemAltmap};
use crate::mm::sparse;
use crate::mm::Kernel;

/// `memory_hotplug.memmap_on_memory`: the boot parameter (0444, boot time only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemmapOnMemory {
    /// The kernel's default: every hot-added memmap comes from the page allocator (DRAM).
    #[default]
    N,
    /// A block may host its memmap when the vmemmap is a whole number of pageblocks.
    Y,
    /// As `Y`, padding the vmemmap up to a pageblock (6.6+; "will waste … pages").
    Force,
}

impl std::fmt::Display for MemmapOnMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MemmapOnMemory::N => "n",
            MemmapOnMemory::Y => "y",
            MemmapOnMemory::Force => "force",
        })
    }
}

impl std::str::FromStr for MemmapOnMemory {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "n" | "0" | "off" | "no" => Ok(MemmapOnMemory::N),
            "y" | "1" | "on" | "yes" => Ok(MemmapOnMemory::Y),
            "force" => Ok(MemmapOnMemory::Force),
            _ => Err(format!(
                "memmap_on_memory '{s}': give n (the kernel's default), y or force"
            )),
        }
    }
}

/// 6.6 (2d1f649c7c08): `memmap_on_memory=force`.
pub const FORCE_SINCE: KernelVersion = KernelVersion::new(6, 6);
/// 6.8 (6b8f0798b85a, 4eca0ef49af9): requests split per block; dax_kmem passes
/// `MHP_MEMMAP_ON_MEMORY` per `dev_dax->memmap_on_memory`. Before, dax_kmem never asked.
pub const DAX_KMEM_SINCE: KernelVersion = KernelVersion::new(6, 8);
/// 6.9 (73954d379efd): the per-device `memmap_on_memory` sysfs attribute.
pub const DEVICE_KNOB_SINCE: KernelVersion = KernelVersion::new(6, 9);

/// `pageblock_nr_pages`: `pageblock_order = min(HUGETLB_PAGE_ORDER, PAGE_BLOCK_MAX_ORDER)`,
/// the PMD order on every modelled arch (with CONFIG_HUGETLB_PAGE, as distro kernels build).
#[must_use]
pub const fn pageblock_nr_pages(g: &Geometry) -> u64 {
    1 << g.pmd_order()
}

/// `memory_block_memmap_size`: the bytes of struct pages of one memory block.
#[must_use]
pub fn memory_block_memmap_size(g: &Geometry, block: ByteSize) -> u64 {
    block.bytes() / g.page_size() * g.struct_page_size
}

/// `memory_block_memmap_on_memory_pages`: the block's first pages that hold its memmap,
/// padded to a pageblock in `force` mode.
#[must_use]
pub fn memory_block_memmap_on_memory_pages(
    g: &Geometry,
    block: ByteSize,
    param: MemmapOnMemory,
) -> u64 {
    let pages = memory_block_memmap_size(g, block).div_ceil(g.page_size());
    match param {
        MemmapOnMemory::Force => pages.next_multiple_of(pageblock_nr_pages(g)),
        MemmapOnMemory::N | MemmapOnMemory::Y => pages,
    }
}

/// Why `mhp_supports_memmap_on_memory` says no; the kernel then takes the DRAM path silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unsupported {
    /// The boot parameter is `n`.
    ParamOff,
    /// The arch has no `ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE`.
    Arch,
    /// The memmap of a block is not a whole number of pages.
    NotPageAligned,
    /// The vmemmap pages are not a whole number of pageblocks (`y`; `force` pads them).
    NotPageblockAligned,
    /// The vmemmap would fill the whole block.
    WholeBlock,
    /// `arch_supports_memmap_on_memory`: the generic rule wants whole PMDs of memmap.
    NotPmdAligned,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsupported::ParamOff => "memory_hotplug.memmap_on_memory is n",
            Unsupported::Arch => "the arch does not support memmap_on_memory",
            Unsupported::NotPageAligned => "a block's memmap is not a whole number of pages",
            Unsupported::NotPageblockAligned => {
                "a block's memmap is not a whole number of pageblocks (force pads it)"
            }
            Unsupported::WholeBlock => "a block's memmap would fill the whole block",
            Unsupported::NotPmdAligned => "a block's memmap is not a whole number of PMDs",
        })
    }
}

/// Does the arch select `ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE`? x86-64 and arm64 do; powerpc
/// from 6.6, and its `arch_supports_memmap_on_memory` refuses hash; riscv64 (`64BIT && MMU`)
/// from 6.11, with its memory hotplug (that release is inferred, not read in a tagged tree).
#[must_use]
pub fn arch_mhp_memmap_on_memory(g: &Geometry, release: KernelVersion) -> bool {
    match g.name {
        n if n.starts_with("ppc64-hash") => false,
        n if n.starts_with("ppc64") => KernelVersion::new(6, 6).at_or_before(release),
        n if n.starts_with("riscv") => KernelVersion::new(6, 11).at_or_before(release),
        _ => true,
    }
}

/// `mhp_supports_memmap_on_memory`: can a block of `block` bytes host its own memmap?
///
/// # Errors
/// The first rule it breaks, in the kernel's order.
pub fn mhp_supports_memmap_on_memory(
    g: &Geometry,
    release: KernelVersion,
    block: ByteSize,
    param: MemmapOnMemory,
) -> Result<(), Unsupported> {
    if param == MemmapOnMemory::N {
        return Err(Unsupported::ParamOff);
    }
    if !arch_mhp_memmap_on_memory(g, release) {
        return Err(Unsupported::Arch);
    }
    let size = memory_block_memmap_size(g, block);
    let pages = memory_block_memmap_on_memory_pages(g, block, param);
    if !size.is_multiple_of(g.page_size()) {
        return Err(Unsupported::NotPageAligned);
    }
    if !pages.is_multiple_of(pageblock_nr_pages(g)) {
        return Err(Unsupported::NotPageblockAligned);
    }
    if pages == block.bytes() / g.page_size() {
        return Err(Unsupported::WholeBlock);
    }
    if !arch_supports_memmap_on_memory(g, size) {
        return Err(Unsupported::NotPmdAligned);
    }
    Ok(())
}

/// `arch_supports_memmap_on_memory`: the generic rule wants whole PMDs of memmap (the unpadded
/// size, so `force` cannot rescue it); powerpc's override (radix) asks that only with 4K pages.
fn arch_supports_memmap_on_memory(g: &Geometry, vmemmap_size: u64) -> bool {
    (g.name.starts_with("ppc64-radix") && g.page_shift > 12)
        || vmemmap_size.is_multiple_of(g.pmd_size().bytes())
}

/// The largest memory block x86-64 probes (`MAX_BLOCK_SIZE`).
const X86_MAX_BLOCK: ByteSize = ByteSize::gib(2);
/// Below this boot RAM end x86-64 keeps the smallest block (`MEM_SIZE_FOR_LARGE_BLOCK`).
const X86_LARGE_BLOCK_RAM: u64 = 64 << 30;

/// `memory_block_size_bytes`: x86-64's `probe_memory_block_size` from the end of boot RAM
/// (`max_pfn << PAGE_SHIFT`, not its amount): 128 MiB below 64 GiB; else 2 GiB on bare metal;
/// in a VM the largest power of two up to 2 GiB that divides that end. Other arches keep the
/// generic `MIN_MEMORY_BLOCK_SIZE`, one section (platform code may set more: give it).
#[must_use]
#[doc(alias = "probe_memory_block_size")]
pub fn memory_block_size_bytes(g: &Geometry, boot_mem_end: u64, vm: bool) -> ByteSize {
    let min = g.section_size();
    if !g.name.starts_with("x86_64") || boot_mem_end < X86_LARGE_BLOCK_RAM {
        return min;
    }
    if !vm {
        return X86_MAX_BLOCK;
    }
    let mut bz = X86_MAX_BLOCK.bytes();
    while bz > min.bytes() && !boot_mem_end.is_multiple_of(bz) {
        bz >>= 1;
    }
    ByteSize::new(bz)
}

/// The state of a memory block (`memoryN/state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockState {
    Offline,
    Online,
}

/// One memory block (`struct memory_block`): its pfns, its altmap when it hosts its memmap,
/// and its state.
#[derive(Debug)]
pub struct MemoryBlock {
    /// `memoryN`: the block's index, physical address / block size.
    pub id: u64,
    pub start: Pfn,
    pub nr_pages: u64,
    /// memmap_on_memory: the block's own first pages hold its memmap.
    pub altmap: Option<VmemAltmap>,
    pub state: BlockState,
    pub zone: OnlineZone,
}

impl MemoryBlock {
    /// Pages that hold the block's memmap (`altmap->free`): 0 without memmap_on_memory.
    #[must_use]
    pub fn vmemmap_pages(&self) -> u64 {
        self.altmap.as_ref().map_or(0, |a| a.free)
    }

    /// Pages the buddy allocator gets when the block is online (what MemTotal gains).
    #[must_use]
    pub fn managed_pages(&self) -> u64 {
        self.nr_pages - self.vmemmap_pages()
    }
}

/// Errors of memory hot-add, online, offline and remove.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HotplugError {
    #[error(
        "add_memory: {start} +{nr} pages is not aligned to the {block} memory block size (EINVAL)"
    )]
    Misaligned {
        start: Pfn,
        nr: u64,
        block: ByteSize,
    },
    #[error("add_memory: {0}")]
    Memremap(#[from] MemremapError),
    #[error("memory{id}: is {state:?}, cannot {what}")]
    State {
        id: u64,
        state: BlockState,
        what: &'static str,
    },
    #[error("memory{0}: struct page of the block faulted while onlining: {1}")]
    Init(u64, String),
}

/// `add_memory_resource` → `create_altmaps_and_memory_blocks` / `arch_add_memory`: adds
/// `[start, start + nr)` block by block, each with an altmap over its own head when
/// `memmap_on_memory` is in effect, and registers the blocks offline. On failure the blocks
/// added so far are removed again.
///
/// # Errors
/// A range not block aligned, or one whose memmap cannot be populated.
pub fn add_memory(
    k: &Kernel,
    start: Pfn,
    nr: u64,
    block: ByteSize,
    memmap_on_memory: Option<MemmapOnMemory>,
) -> Result<Vec<MemoryBlock>, HotplugError> {
    let g = k.machine.geometry();
    let per = block.bytes() / g.page_size();
    if !start.is_aligned(per) || !nr.is_multiple_of(per) || nr == 0 {
        return Err(HotplugError::Misaligned { start, nr, block });
    }
    let _hotplug = k.hotplug_lock();
    let mut blocks: Vec<MemoryBlock> = Vec::new();
    for i in 0..nr / per {
        let pfn = start.add(i * per);
        let altmap = memmap_on_memory.map(|param| {
            let free = memory_block_memmap_on_memory_pages(g, block, param);
            VmemAltmap::new(pfn, 0, free, pfn.add(per))
        });
        if let Err(e) = add_pages(k, pfn, per, altmap.as_ref()) {
            for b in blocks.iter().rev() {
                remove_pages(k, b);
            }
            return Err(e);
        }
        blocks.push(MemoryBlock {
            id: g.pfn_to_phys(pfn).as_u64() / block.bytes(),
            start: pfn,
            nr_pages: per,
            altmap,
            state: BlockState::Offline,
            zone: OnlineZone::default(),
        });
    }
    Ok(blocks)
}

/// `arch_add_memory` → `__add_pages`: the block's memmap, section by section.
fn add_pages(
    k: &Kernel,
    pfn: Pfn,
    nr: u64,
    altmap: Option<&VmemAltmap>,
) -> Result<(), HotplugError> {
    let per = k.machine.geometry().pages_per_section();
    let ctx = PopulateCtx {
        altmap,
        compound: None,
    };
    let mut done = 0;
    while done < nr {
        let n = per.min(nr - done);
        if let Err(e) = sparse::sparse_add_section(k, pfn.add(done), n, &ctx) {
            let mut back = 0;
            while back < done {
                sparse::sparse_remove_section(k, pfn.add(back), per.min(done - back), &ctx);
                back += per;
            }
            return Err(MemremapError::Sparse(e).into());
        }
        done += n;
    }
    Ok(())
}

/// `arch_remove_memory` → `__remove_pages`: frees the block's memmap (INV-1).
fn remove_pages(k: &Kernel, b: &MemoryBlock) {
    let per = k.machine.geometry().pages_per_section();
    let ctx = PopulateCtx {
        altmap: b.altmap.as_ref(),
        compound: None,
    };
    let mut done = 0;
    while done < b.nr_pages {
        sparse::sparse_remove_section(k, b.start.add(done), per.min(b.nr_pages - done), &ctx);
        done += per;
    }
}

/// `memory_block_online`: `mhp_init_memmap_on_memory` for the block's vmemmap pages (marked
/// `PageVmemmapSelfHosted`, counted present but not managed), then `online_pages` for the
/// rest: each struct page initialised in the zone (`memmap_init_range`, MEMINIT_HOTPLUG).
///
/// # Errors
/// A block already online, or a struct page that cannot be reached.
pub fn online(k: &Kernel, b: &mut MemoryBlock, zone: OnlineZone) -> Result<(), HotplugError> {
    if b.state != BlockState::Offline {
        return Err(HotplugError::State {
            id: b.id,
            state: b.state,
            what: "online",
        });
    }
    let _hotplug = k.hotplug_lock();
    let g = k.machine.geometry();
    let zone_nr = match zone {
        OnlineZone::Movable => crate::mm::page::ZONE_MOVABLE,
        OnlineZone::Normal => crate::mm::page::ZONE_NORMAL,
    };
    let mut memmap = Memmap::new(&k.machine);
    let self_hosted = b.vmemmap_pages();
    for i in 0..b.nr_pages {
        let page = memmap
            .page_mut(PagePtr::from_pfn(g, b.start.add(i)))
            .map_err(|f| HotplugError::Init(b.id, f.to_string()))?;
        page.init_single(zone_nr);
        if i < self_hosted {
            page.set_vmemmap_self_hosted();
        }
    }
    k.stats
        .struct_pages_initialized
        .fetch_add(b.nr_pages, Ordering::Relaxed);
    k.zones.online(zone, b.nr_pages, b.managed_pages());
    b.state = BlockState::Online;
    b.zone = zone;
    Ok(())
}

/// `memory_block_offline`: the zone gives the block's pages back.
///
/// # Errors
/// A block that is not online.
pub fn offline(k: &Kernel, b: &mut MemoryBlock) -> Result<(), HotplugError> {
    if b.state != BlockState::Online {
        return Err(HotplugError::State {
            id: b.id,
            state: b.state,
            what: "offline",
        });
    }
    let _hotplug = k.hotplug_lock();
    k.zones.offline(b.zone, b.nr_pages, b.managed_pages());
    b.state = BlockState::Offline;
    Ok(())
}

/// `remove_memory`: every block must be offline; frees their memmap.
///
/// # Errors
/// A block still online (the kernel's `-EBUSY`).
pub fn remove_memory(k: &Kernel, blocks: Vec<MemoryBlock>) -> Result<(), HotplugError> {
    if let Some(b) = blocks.iter().find(|b| b.state != BlockState::Offline) {
        return Err(HotplugError::State {
            id: b.id,
            state: b.state,
            what: "remove (offline it first)",
        });
    }
    let _hotplug = k.hotplug_lock();
    for b in blocks.iter().rev() {
        remove_pages(k, b);
    }
    Ok(())
}
