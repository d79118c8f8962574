//! The kernel side, one module per kernel file it mirrors.

pub mod boot;
pub mod folio;
pub mod gate;
pub mod gup;
pub mod hstate;
pub mod hugetlb;
pub mod memory;
pub mod memory_hotplug;
pub mod memremap;
pub mod mm_init;
pub mod mmzone;
pub mod page;
pub mod pagemap;
pub mod profile;
pub mod sparse;
pub mod sparse_vmemmap;
pub mod vm;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::PoisonError;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::addr::Pfn;
use crate::machine::frame_store::FrameError;
use crate::machine::page_table::PtError;
use crate::machine::{Machine, MachineError};
use mmzone::Sparse;
use pagemap::DevPagemap;
use profile::{MemmapAccounting, Profile};

/// Errors of kernel boot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("boot memmap: {0}")]
    Memmap(#[from] PtError),
    #[error("boot memmap: {0}")]
    Frame(#[from] FrameError),
}

/// Counters the kernel keeps (the `/proc/vmstat`-like figures behind our reports).
#[derive(Debug, Default)]
pub struct KernelStats {
    /// Struct pages written by memmap init since boot (device memory only).
    pub struct_pages_initialized: AtomicU64,
    /// Of those, the struct pages written as a copy of a template (`memmap_init=template-copy`).
    pub struct_pages_copied: AtomicU64,
    /// Struct pages made addressable by hot-add (pfns covered by populated memmap).
    pub struct_pages_populated: AtomicU64,
    /// `/proc/vmstat` `nr_memmap_pages` for hot-added memmap, as the profile's kernel counts it.
    pub(crate) nr_memmap_pages: AtomicU64,
    /// `/proc/vmstat` `nr_memmap_boot_pages`: memmap allocated at boot (memblock), less what
    /// HugeTLB vmemmap optimization gave back.
    pub(crate) nr_memmap_boot_pages: AtomicU64,
}

/// The `next` profile's shared read-only tail frame (and all-tail PTE table) of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedTail {
    /// The frame of 64 identical tails.
    pub frame: Pfn,
    /// A PTE table whose 512 entries all map `frame`, shared by PMD entries.
    pub table: Option<Pfn>,
}

/// The simulated kernel: the machine plus the memory-management state that the kernel keeps
/// globally (`mem_section`, the pfn→pgmap xarray, the hotplug lock).
#[derive(Debug)]
pub struct Kernel {
    pub machine: Machine,
    pub profile: Profile,
    pub stats: KernelStats,
    /// HugeTLB pools.
    pub hugetlb: hstate::Hugetlb,
    pub(crate) sparse: Mutex<Sparse>,
    /// Present and managed pages of hot-added memory, per zone.
    pub zones: mmzone::Zones,
    /// `pgmap_array`: start pfn → (end pfn, pgmap).
    pub(crate) pgmaps: RwLock<BTreeMap<u64, (u64, Arc<DevPagemap>)>>,
    /// `next`-profile shared tail frames by (zone, order).
    pub(crate) shared_tails: Mutex<HashMap<(u64, u32), SharedTail>>,
    pub(crate) next_pgmap_id: AtomicU64,
    hotplug: Mutex<()>,
    /// Anonymous and shmem folios whose mapping went away while GUP still held references:
    /// (head pfn, order), freed once their refcount reaches 0 (the kernel frees them from the
    /// final `folio_put`; see [`memory::reap_anon`]).
    pub(crate) anon_deferred: Mutex<Vec<(Pfn, u32)>>,
}

impl Kernel {
    /// The switches in force: the profile's, less what this architecture lacks in that
    /// release ([`Profile::switches_on`]).
    #[must_use]
    pub fn switches(&self) -> profile::Switches {
        self.profile.switches_on(self.machine.geometry())
    }

    /// `mem_hotplug_begin`: serialises memory hot-add and hot-remove.
    pub(crate) fn hotplug_lock(&self) -> MutexGuard<'_, ()> {
        self.hotplug.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `/proc/vmstat` `nr_memmap_pages` of hot-added memmap as this kernel reports it (`None`
    /// before 6.11, which has no such counter).
    #[must_use]
    pub fn nr_memmap_pages(&self) -> Option<u64> {
        match self.switches().memmap_accounting {
            MemmapAccounting::Absent => None,
            MemmapAccounting::FullSpan
            | MemmapAccounting::Described
            | MemmapAccounting::Allocated => {
                Some(self.stats.nr_memmap_pages.load(Ordering::Relaxed))
            }
        }
    }

    /// `/proc/vmstat` `nr_memmap_boot_pages` as this kernel reports it (`None` before 6.11).
    #[must_use]
    pub fn nr_memmap_boot_pages(&self) -> Option<u64> {
        self.nr_memmap_pages()
            .map(|_| self.stats.nr_memmap_boot_pages.load(Ordering::Relaxed))
    }

    /// The struct pages initialised so far.
    #[must_use]
    pub fn struct_pages_initialized(&self) -> u64 {
        self.stats.struct_pages_initialized.load(Ordering::Relaxed)
    }

    /// True if no `next`-profile shared tail frame or table is alive.
    #[must_use]
    pub fn shared_tails_empty(&self) -> bool {
        self.shared_tails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// `get_dev_pagemap` without taking a reference: the pgmap covering `pfn`, if any.
    #[must_use]
    pub fn pgmap_of(&self, pfn: Pfn) -> Option<Arc<DevPagemap>> {
        let map = self.pgmaps.read().unwrap_or_else(PoisonError::into_inner);
        map.range(..=pfn.as_u64())
            .next_back()
            .filter(|(_, (end, _))| pfn.as_u64() < *end)
            .map(|(_, (_, p))| Arc::clone(p))
    }
}
