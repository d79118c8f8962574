//! What the planner refuses, each with what would be valid.

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::DaxError;
use crate::mm::profile::Profile;
use crate::ndctl;

use super::Kind;

/// Planner errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Dax(#[from] DaxError),
    #[error("{size} at {start} ends beyond the {arch} physical address limit of {limit}{}", la57_advice(*arch, *start, *size))]
    TooLarge {
        size: ByteSize,
        start: PhysAddr,
        limit: ByteSize,
        arch: Arch,
    },
    #[error("{what} needs System RAM up to {}, beyond the {arch} physical address limit of {limit}; give a smaller {flag}", end.map_or_else(|| "past 2^64 bytes".to_string(), |e| e.to_string()))]
    RamTooLarge {
        what: String,
        end: Option<PhysAddr>,
        limit: ByteSize,
        arch: Arch,
        flag: &'static str,
    },
    #[error("RAM size {size} must be at least {min} and a multiple of the {section} section size")]
    BadRam {
        size: ByteSize,
        min: ByteSize,
        section: ByteSize,
    },
    #[error("HugeTLB pages on {arch} are {valid}, not {}", align.short())]
    HugetlbAlign {
        align: ByteSize,
        arch: Arch,
        valid: String,
    },
    #[error("a HugeTLB pool lives in System RAM: its memmap is always in RAM (--map mem)")]
    HugetlbMap,
    #[error("--kind {0}: this memory is System RAM, whose memmap was allocated at boot, so there is nothing to plan; plan takes devdax, hugetlb, devdax-fsdev (bench gup and bench mr take {0})")]
    RamKind(Kind),
    #[error("{arch} has device-dax (ZONE_DEVICE) from Linux {since}; profile {profile} predates it; valid profiles there: {valid}")]
    ArchTooNew {
        arch: Arch,
        since: crate::arch::KernelVersion,
        profile: Profile,
        valid: String,
    },
    #[error("--map dev on {arch}: the {size} namespace's memmap reserve cannot hold a {block} vmemmap block (the kernel fails with ENOMEM); give a larger --size or use --map mem")]
    AltmapShort {
        arch: Arch,
        block: ByteSize,
        size: ByteSize,
    },
    #[error("struct page size {0} B: give one of 64 (today), 32, 16 or 8 (memdesc what-ifs)")]
    StructPageSize(u64),
    #[error("struct page size {0} B: the what-if is modelled for device-dax only (--kind devdax)")]
    StructPageSizeHugetlb(u64),
    #[error(transparent)]
    Ndctl(#[from] ndctl::NdctlError),
    #[error(transparent)]
    Kmem(#[from] super::kmem::KmemError),
    #[error(transparent)]
    ZoneDevice(#[from] super::zone_device::ZoneDeviceError),
    #[error("--usable asks for a namespace size; a HugeTLB pool has none (use --kind devdax)")]
    UsableHugetlb,
    #[error("--usable 0: give a positive size, e.g. 15G")]
    UsableZero,
    #[error("--usable {usable}: no namespace below 2^64 bytes (in steps of {}) yields that much", step.short())]
    UsableTooLarge { usable: ByteSize, step: ByteSize },
}

/// The advice for a device beyond the 4-level limit, given only where 5-level paging would hold
/// it.
fn la57_advice(arch: Arch, start: PhysAddr, size: ByteSize) -> String {
    let fits = start
        .checked_add(size)
        .is_some_and(|end| end <= Arch::X86_64La57.geometry().max_phys());
    if arch == Arch::X86_64 && fits {
        "; use --arch x86_64-la57 (5-level paging) for devices this large".into()
    } else {
        String::new()
    }
}

impl PlanError {
    /// `align` is no HugeTLB page size of `arch`.
    #[must_use]
    pub fn hugetlb_align(arch: Arch, align: ByteSize) -> PlanError {
        PlanError::HugetlbAlign {
            align,
            arch,
            valid: hugetlb_sizes(arch.geometry()),
        }
    }
}

/// The HugeTLB page sizes of an arch, for messages ("2M or 1G").
fn hugetlb_sizes(g: &Geometry) -> String {
    let mut v = vec![g.pmd_size().short()];
    if g.pud_leaves {
        v.push(g.pud_size().short());
    }
    v.join(" or ")
}
