//! The simulated hardware: physical memory map, frame store, page tables, TLB.
//!
//! `mm/` code talks to this layer only through a narrow interface: allocate and free frames,
//! map and unmap through page tables, translate an address, flush the TLB.

pub mod frame_store;
pub mod page_table;
pub mod phys_map;
pub mod tlb;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::addr::{ByteSize, Pfn, PhysAddr, VirtAddr};
use crate::arch::{Arch, Geometry};
use frame_store::{Frame, FrameError, FrameStore};
use page_table::{PageTable, PageTables};
use phys_map::PhysMap;
use tlb::Tlb;

/// A simulated machine's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineConfig {
    arch: Arch,
    /// System RAM (a multiple of the section size, at least 4 GiB).
    ram_size: ByteSize,
    /// The device (pmem/CXL) region above RAM; 0 for none.
    device_size: ByteSize,
    /// `sizeof(struct page)`: the arch's 64, or a memdesc what-if.
    struct_page_size: u64,
}

impl MachineConfig {
    /// The same shape on architecture `arch`.
    #[must_use]
    pub const fn with_arch(self, arch: Arch) -> Self {
        MachineConfig { arch, ..self }
    }
    /// The same shape with `ram_size` of System RAM.
    #[must_use]
    pub const fn with_ram(self, ram_size: ByteSize) -> Self {
        MachineConfig { ram_size, ..self }
    }
    /// The same shape with a device region of `device_size` (0: none).
    #[must_use]
    pub const fn with_device(self, device_size: ByteSize) -> Self {
        MachineConfig {
            device_size,
            ..self
        }
    }
    /// The same shape with a `sizeof(struct page)` what-if (one of
    /// [`crate::arch::STRUCT_PAGE_SIZES`]).
    #[must_use]
    pub const fn with_struct_page_size(self, struct_page_size: u64) -> Self {
        MachineConfig {
            struct_page_size,
            ..self
        }
    }
    /// The architecture.
    #[must_use]
    pub const fn arch(&self) -> Arch {
        self.arch
    }
    /// System RAM.
    #[must_use]
    pub const fn ram_size(&self) -> ByteSize {
        self.ram_size
    }
    /// The device region's size.
    #[must_use]
    pub const fn device_size(&self) -> ByteSize {
        self.device_size
    }
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            arch: Arch::X86_64,
            ram_size: ByteSize::gib(256),
            device_size: ByteSize::tib(1),
            struct_page_size: 64,
        }
    }
}

/// Errors building a machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    #[error("RAM size {size} must be at least {min} and a multiple of the {section} section size")]
    BadRamSize {
        size: ByteSize,
        min: ByteSize,
        section: ByteSize,
    },
    #[error("the device region ends {}, beyond the {arch} physical address limit {limit}", end.map_or_else(|| "past 2^64".to_string(), |e| format!("at {e}")))]
    TooLarge {
        end: Option<PhysAddr>,
        limit: ByteSize,
        arch: Arch,
    },
    #[error("struct page size {0} B: give one of 64, 32, 16 or 8")]
    StructPageSize(u64),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A memory access fault raised by the simulated MMU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("unable to handle page fault for address {0}: not mapped")]
    NotMapped(VirtAddr),
    #[error("write to read-only mapping at {0}")]
    ReadOnly(VirtAddr),
    #[error("write to a read-only vmemmap alias: struct page {va} (pfn {pfn:#x}) shares its frame with other struct pages")]
    ReadOnlyStructPage { va: VirtAddr, pfn: u64 },
}

/// The simulated machine. Kernel code reaches its hardware through methods only: frames
/// ([`frames`](Self::frames): allocate, free, reference), page tables
/// ([`kernel_pt`](Self::kernel_pt), [`page_tables`](Self::page_tables): map, unmap, look up)
/// and address translation ([`kernel_frame`](Self::kernel_frame), through a TLB).
#[derive(Debug)]
pub struct Machine {
    geometry: &'static Geometry,
    map: PhysMap,
    frames: FrameStore,
    /// The kernel page tables (`init_mm.pgd`), which map the vmemmap.
    kernel_pt: PageTable,
    tlb_gen: AtomicU64,
    /// Unique per machine in this process, so a TLB never serves one machine's entries to
    /// another.
    id: u64,
    /// `hugetlb_optimize_vmemmap_key`: set once any HugeTLB page had its vmemmap optimized with
    /// fake heads, so struct-page readers must check for them. (A kernel static key; it lives
    /// here because struct-page readers hold only the machine.)
    fake_heads_possible: std::sync::atomic::AtomicBool,
    config: MachineConfig,
}

static NEXT_MACHINE_ID: AtomicU64 = AtomicU64::new(1);

impl Machine {
    /// Powers on a machine: builds the physical map, the frame store and an empty kernel page
    /// table. (The kernel's boot-time work lives in `mm`.)
    pub fn new(config: MachineConfig) -> Result<Machine, MachineError> {
        if !crate::arch::STRUCT_PAGE_SIZES.contains(&config.struct_page_size) {
            return Err(MachineError::StructPageSize(config.struct_page_size));
        }
        let g = config.arch.geometry_with(config.struct_page_size);
        if config.ram_size < g.platform.min_ram || !config.ram_size.is_multiple_of(g.section_size())
        {
            return Err(MachineError::BadRamSize {
                size: config.ram_size,
                min: g.platform.min_ram,
                section: g.section_size(),
            });
        }
        let too_large = |end: Option<PhysAddr>| MachineError::TooLarge {
            end,
            limit: ByteSize::new(g.max_phys().as_u64()),
            arch: config.arch,
        };
        let map = PhysMap::standard(g, config.ram_size, config.device_size)
            .ok_or_else(|| too_large(None))?;
        if map.end() > g.max_phys() {
            return Err(too_large(Some(map.end())));
        }
        let frames = FrameStore::new(&map, g);
        let kernel_pt = PageTables::create(&frames, g)?.table();
        let id = NEXT_MACHINE_ID.fetch_add(1, Ordering::Relaxed);
        Ok(Machine {
            geometry: g,
            map,
            frames,
            kernel_pt,
            tlb_gen: AtomicU64::new(1),
            id,
            fake_heads_possible: std::sync::atomic::AtomicBool::new(false),
            config,
        })
    }

    /// The architecture's geometry.
    #[must_use]
    pub fn geometry(&self) -> &'static Geometry {
        self.geometry
    }

    /// The shape the machine was built with.
    #[must_use]
    pub fn config(&self) -> MachineConfig {
        self.config
    }

    /// The physical memory map.
    #[must_use]
    pub fn phys_map(&self) -> &PhysMap {
        &self.map
    }

    /// The frames: allocation, freeing, per-frame references and accounting.
    #[must_use]
    pub fn frames(&self) -> &FrameStore {
        &self.frames
    }

    /// The kernel page tables (`init_mm`), which map the vmemmap.
    #[must_use]
    pub fn kernel_pt(&self) -> PageTables<'_> {
        PageTables::of(&self.frames, self.geometry, self.kernel_pt)
    }

    /// A new, empty page-table tree (a user address space's `pgd`).
    pub fn new_page_table(&self) -> Result<PageTable, FrameError> {
        PageTables::create(&self.frames, self.geometry).map(|t| t.table())
    }

    /// The view of page-table tree `pt` of this machine.
    #[must_use]
    pub fn page_tables(&self, pt: PageTable) -> PageTables<'_> {
        PageTables::of(&self.frames, self.geometry, pt)
    }

    /// `static_branch_enable(&hugetlb_optimize_vmemmap_key)`: from now on, struct-page readers
    /// must check for HugeTLB fake heads.
    pub fn enable_fake_heads(&self) {
        self.fake_heads_possible.store(true, Ordering::Relaxed);
    }

    /// `static_branch_unlikely(&hugetlb_optimize_vmemmap_key)`.
    #[must_use]
    pub fn fake_heads_possible(&self) -> bool {
        self.fake_heads_possible.load(Ordering::Relaxed)
    }

    /// The current TLB generation.
    #[must_use]
    #[inline]
    pub fn tlb_gen(&self) -> u64 {
        self.tlb_gen.load(Ordering::Acquire)
    }

    /// `flush_tlb_kernel_range`: invalidates every CPU's cached kernel translations.
    pub fn flush_tlb_kernel(&self) {
        self.tlb_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// Translates a kernel virtual address through `tlb` and the kernel page tables.
    pub fn translate(&self, tlb: &mut Tlb, va: VirtAddr, write: bool) -> Result<Pfn, Fault> {
        self.translate_cached(tlb, va, write).map(|c| c.pfn)
    }

    /// The TLB hit path, inline at every struct-page access; a miss walks out of line.
    #[inline]
    fn translate_cached(
        &self,
        tlb: &mut Tlb,
        va: VirtAddr,
        write: bool,
    ) -> Result<tlb::Cached, Fault> {
        let gen = self.tlb_gen();
        if let Some(c) = tlb.lookup(self.id, va, gen, write) {
            return Ok(c);
        }
        self.tlb_miss(tlb, va, write, gen)
    }

    /// A TLB miss: walks the kernel page tables and fills the entry.
    #[cold]
    #[inline(never)]
    fn tlb_miss(
        &self,
        tlb: &mut Tlb,
        va: VirtAddr,
        write: bool,
        gen: u64,
    ) -> Result<tlb::Cached, Fault> {
        let pt = self.kernel_pt();
        let leaf = match tlb.pte_table(self.id, va, gen) {
            Some(table) => pt.lookup_in_pte_table(table, va),
            None => pt.lookup_with_pte_table(va).map(|(leaf, table)| {
                if let Some(table) = table {
                    tlb.fill_pte_table(self.id, va, table, gen);
                }
                leaf
            }),
        }
        .ok_or(Fault::NotMapped(va))?;
        if write && !leaf.entry().writable() {
            return Err(Fault::ReadOnly(va));
        }
        let frame = self.frames.frame(leaf.pfn()).ok_or(Fault::NotMapped(va))?;
        let c = tlb::Cached {
            pfn: leaf.pfn(),
            host: frame.as_ptr() as usize,
        };
        tlb.fill(self.id, va, c, leaf.entry().writable(), gen);
        Ok(c)
    }

    /// 64-bit words in a frame.
    #[inline]
    fn frame_words(&self) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let w = (self.geometry.page_size() / 8) as usize;
        w
    }

    /// The backed frame holding kernel virtual address `va`, and the word index of `va` in it.
    #[inline]
    pub fn kernel_frame(
        &self,
        tlb: &mut Tlb,
        va: VirtAddr,
        write: bool,
    ) -> Result<(&Frame, usize), Fault> {
        let c = self.translate_cached(tlb, va, write)?;
        // SAFETY: `c.host` was taken from `self.frames.frame(..)` of this machine (TLB entries
        // are tagged with the machine id and only this machine fills or reads them with its
        // id); frame bodies are never unmapped while the frame store lives, and `&self` keeps
        // it alive for the returned lifetime. A stale entry (after the frame was freed and
        // before the generation flush) still points at live, all-atomic memory. The frame is
        // `frame_words()` words long, as the store made it.
        let frame: &Frame =
            unsafe { std::slice::from_raw_parts(c.host as *const AtomicU64, self.frame_words()) };
        #[allow(clippy::cast_possible_truncation)]
        let word = ((va.as_u64() & (self.geometry.page_size() - 1)) / 8) as usize;
        Ok((frame, word))
    }
}
