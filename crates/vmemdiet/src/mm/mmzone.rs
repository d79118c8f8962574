//! `mem_section[]`, the SPARSEMEM section table (`include/linux/mmzone.h`): which
//! (sub)sections have a memmap. State only; `mm/sparse.rs` changes it.

use std::collections::HashMap;

/// One `struct mem_section`: which subsections are active, and whether the section came from
/// boot memory (`early_section`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemSection {
    /// `subsection_map`: bit i set when subsection i has a memmap.
    pub subsection_map: u64,
    /// Populated at boot; its memmap is never freed.
    pub early: bool,
}

/// `mem_section[]`: present sections by section number.
#[derive(Debug, Default)]
pub(crate) struct Sparse {
    pub sections: HashMap<u64, MemSection>,
}
