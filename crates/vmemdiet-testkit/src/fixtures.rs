//! Fixtures shared by `vmemdiet`'s integration tests: a booted kernel on a small machine, a
//! device-dax device on it, a prefaulted mapping of it, and the brute-force oracle's answer in the
//! library's own type. They build state through the library's public API only, exactly as the
//! tests did when each file carried its own copy.

use vmemdiet::addr::{ByteSize, VirtAddr};
use vmemdiet::drivers::dax::{DaxDriver, DaxRegion, DevDax, DevDaxSpec, MapMode, MemmapCost};
use vmemdiet::machine::MachineConfig;
use vmemdiet::mm::page::Memmap;
use vmemdiet::mm::profile::Profile;
use vmemdiet::mm::vm::Mm;
use vmemdiet::mm::Kernel;
use vmemdiet::plan::PlanConfig;

use crate::oracle::{try_expected_counts, OracleConfig};

/// The device-dax aligns the kernel accepts on x86-64: 4 KiB, 2 MiB, 1 GiB.
pub const DEVDAX_ALIGNS: [ByteSize; 3] = [ByteSize::kib(4), ByteSize::mib(2), ByteSize::gib(1)];

/// Boots `profile` on an x86-64 machine with `ram` of System RAM and a device region of
/// `device` (0 for none). Small machines keep the tests fast.
///
/// # Panics
/// If the machine cannot be built (RAM not a multiple of the section size, or under 4 GiB).
#[must_use]
pub fn boot(profile: Profile, ram: ByteSize, device: ByteSize) -> Kernel {
    Kernel::boot(
        MachineConfig::default().with_ram(ram).with_device(device),
        profile,
    )
    .unwrap()
}

/// `daxctl create-device -s size -a align` on a namespace with `ndctl --map=map`, placed by the
/// driver (`at: None`).
#[must_use]
pub const fn devdax_spec(size: ByteSize, align: ByteSize, map: MapMode) -> DevDaxSpec {
    DevDaxSpec {
        size,
        align,
        map,
        at: None,
        driver: DaxDriver::Device,
    }
}

/// A device-dax region on `k` holding one `map=mem` device of `size` at `align`.
///
/// # Panics
/// If the region cannot be set up or the device cannot be created.
#[must_use]
pub fn devdax(k: &Kernel, size: ByteSize, align: ByteSize) -> DaxRegion {
    let mut r = DaxRegion::new(k).unwrap();
    r.create(k, devdax_spec(size, align, MapMode::Mem)).unwrap();
    r
}

/// [`boot`] with a device region of exactly `size`, then [`devdax`] over all of it.
#[must_use]
pub fn setup(
    profile: Profile,
    ram: ByteSize,
    size: ByteSize,
    align: ByteSize,
) -> (Kernel, DaxRegion) {
    let k = boot(profile, ram, size);
    let r = devdax(&k, size, align);
    (k, r)
}

/// `mmap` of the first `len` bytes of `dev`, writable, with every leaf faulted in (what
/// gup_test does by touching the buffer), so GUP-fast finds the leaves.
///
/// # Panics
/// If the mapping or a fault fails.
pub fn map_prefaulted(mm: &Mm<'_>, memmap: &mut Memmap<'_>, dev: &DevDax, len: u64) -> VirtAddr {
    let va = mm.mmap_devdax(dev, 0, len, true).unwrap();
    mm.prefault(memmap, va, len, true).unwrap();
    va
}

/// The brute-force oracle's counts for `cfg` (a devdax plan, on `cfg.arch`), as the planner's own
/// type. The profile's base name is passed; switch overrides are not modelled by the oracle.
///
/// # Panics
/// If the oracle refuses the configuration ([`try_oracle_cost`] returns the reason).
#[must_use]
pub fn oracle_cost(cfg: &PlanConfig) -> MemmapCost {
    try_oracle_cost(cfg).unwrap_or_else(|e| panic!("oracle refuses {cfg}: {e}"))
}

/// [`oracle_cost`], or why the kernel (as the oracle models it) refuses the configuration.
///
/// # Errors
/// The oracle's reason, e.g. an align the arch does not offer or an altmap that runs out.
pub fn try_oracle_cost(cfg: &PlanConfig) -> Result<MemmapCost, String> {
    let o = try_expected_counts(&OracleConfig {
        size: cfg.size.bytes(),
        align: cfg.align.bytes(),
        map_dev: cfg.map == MapMode::Dev,
        profile: cfg.profile.name(),
        ram_size: cfg.ram_size.bytes(),
        arch: cfg.arch.to_string(),
    })?;
    Ok(MemmapCost {
        memmap_bytes: o.memmap_bytes,
        pagetable_bytes: o.pagetable_bytes,
        device_bytes: o.device_bytes,
        struct_pages: o.struct_pages,
        struct_pages_initialized: o.struct_pages_initialized,
        nr_memmap_pages: o.nr_memmap_pages,
        // Hot-added memmap never changes the boot counter (which exists where the other does).
        nr_memmap_boot_pages: o.nr_memmap_pages.map(|_| 0),
    })
}
