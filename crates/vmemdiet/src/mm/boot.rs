//! Booting the simulated kernel: the memory part of `start_kernel` (`setup_arch` ->
//! `paging_init` -> `sparse_init` on x86).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, RwLock};

use crate::machine::{Machine, MachineConfig};
use crate::mm::hstate::Hugetlb;
use crate::mm::mmzone::Sparse;
use crate::mm::profile::Profile;
use crate::mm::{sparse, BootError, Kernel, KernelStats};

impl Kernel {
    /// Powers on a machine and boots: maps the memmap of System RAM (`sparse_init`, PMD-mapped
    /// vmemmap on x86). RAM struct pages are initialised lazily by their users (as with
    /// `DEFERRED_STRUCT_PAGE_INIT`), so booting costs no host memory for them.
    pub fn boot(config: MachineConfig, profile: Profile) -> Result<Kernel, BootError> {
        let machine = Machine::new(config)?;
        let k = Kernel {
            machine,
            profile,
            stats: KernelStats::default(),
            hugetlb: Hugetlb::default(),
            sparse: Mutex::new(Sparse::default()),
            zones: crate::mm::mmzone::Zones::default(),
            pgmaps: RwLock::new(BTreeMap::new()),
            shared_tails: Mutex::new(HashMap::new()),
            next_pgmap_id: AtomicU64::new(1),
            hotplug: Mutex::new(()),
            anon_deferred: Mutex::new(Vec::new()),
        };
        sparse::sparse_init(&k)?;
        Ok(k)
    }
}
