//! Device memory the firmware hands over as plain System RAM at boot (device-memory.md §1.8,
//! §4 rule 4; a BIOS "CXL Type 3 Legacy" setting, HBM on its own node): early memory, whose
//! memmap `sparse_init` allocates per present section on the same node (`exact_nid`). So the
//! memmap sits on the device itself, is out of MemTotal, and costs the rest of DRAM nothing.
//! Such memory cannot become device-dax (pmem/ndctl#279).

use serde::Serialize;

use crate::addr::ByteSize;
use crate::arch::Arch;

/// What boot-time RAM on a device node costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootRamPlan {
    /// The memmap, on the device's own node (`nr_memmap_boot_pages`).
    pub memmap_on_node_bytes: u64,
    /// What MemTotal gains: the size less its memmap.
    pub usable_bytes: u64,
}

/// Plans `size` bytes of boot RAM starting on a section boundary: every section it touches
/// gets a whole section's memmap.
#[must_use]
pub fn plan_boot_ram(arch: Arch, size: ByteSize) -> BootRamPlan {
    let g = arch.geometry();
    let sections = size.bytes().div_ceil(g.section_size().bytes());
    let memmap = sections * g.vmemmap_pages_for(g.pages_per_section()) * g.page_size();
    BootRamPlan {
        memmap_on_node_bytes: memmap,
        usable_bytes: size.bytes().saturating_sub(memmap),
    }
}
