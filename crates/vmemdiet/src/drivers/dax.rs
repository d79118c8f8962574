//! device-dax (`drivers/dax/`): a region of device memory carved into devdax devices, each with
//! a size, an align (4K/2M/1G) and a memmap location (`--map=mem|dev`), as ndctl/daxctl create
//! them (kernel brief §2.4, §10).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::addr::{ByteSize, Order, Pfn, PhysAddr, VirtAddr};
use crate::arch::{Geometry, KernelVersion};
use crate::drivers::nd_pfn::{self, PfnError, PfnReserve, PfnSb};
use crate::machine::frame_store::FrameUsage;
use crate::mm::memremap::{self, DevPagemap, MemremapError, PagemapParams, VmemAltmap};
use crate::mm::page::{page_folio, Memmap, PagePtr};
use crate::mm::pagemap::vmemmap_can_optimize;
use crate::mm::profile::Switches;
use crate::mm::vm::{Mm, VmError, VmOperations};
use crate::mm::Kernel;

/// Where the memmap lives; the nvdimm pfn `mode` (defined with the info block).
pub use crate::drivers::nd_pfn::MapMode;

/// The device-dax alignments of an arch in a release (`dax_align_valid`,
/// `nd_pfn_supported_alignments`): base pages, PMD, and PUD where the arch has PUD-sized THP
/// (4K, 2M and 1G on x86-64; no 1G on arm64).
#[must_use]
pub fn valid_aligns(g: &Geometry, release: KernelVersion) -> Vec<ByteSize> {
    let mut v = vec![ByteSize::new(g.page_size()), g.pmd_size()];
    if g.pud_leaves && g.features.pud_dax(release) {
        v.push(g.pud_size());
    }
    v
}

/// The aligns of [`valid_aligns`] for messages: "4K, 2M, 1G".
#[must_use]
pub fn aligns_text(g: &Geometry, release: KernelVersion) -> String {
    valid_aligns(g, release)
        .iter()
        .map(|a| a.short())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses an align the arch does not offer in `release`, naming those it does.
pub fn check_align(g: &Geometry, release: KernelVersion, align: ByteSize) -> Result<(), DaxError> {
    if valid_aligns(g, release).contains(&align) {
        return Ok(());
    }
    Err(DaxError::UnsupportedAlign {
        align,
        valid: aligns_text(g, release),
        arch: g.name,
        release,
    })
}

/// Which device-dax driver binds the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DaxDriver {
    /// `drivers/dax/device.c`: compound pages of the align (`vmemmap_shift`), deduplicated per
    /// profile.
    #[default]
    Device,
    /// `drivers/dax/fsdev.c` (famfs, 2026; kernel brief §9.11): leaves `vmemmap_shift` at 0, so
    /// every page is an order-0 folio and nothing is deduplicated, whatever the align.
    Fsdev,
}

/// What the user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevDaxSpec {
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    /// A fixed physical start; `None` places the device at the lowest free aligned address.
    pub at: Option<PhysAddr>,
    /// The driver that binds it.
    pub driver: DaxDriver,
}

/// Errors creating or destroying devdax devices. Each says what would be valid; a failed call
/// changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaxError {
    #[error("size must be greater than zero")]
    ZeroSize,
    #[error("unsupported align {}: device-dax on {arch} ({release}) supports {valid}", align.short())]
    UnsupportedAlign {
        align: ByteSize,
        valid: String,
        arch: &'static str,
        release: KernelVersion,
    },
    #[error("size {} is not a multiple of {unit} (align {align}); nearest valid sizes: {down} or {up}", size.short())]
    SizeMisaligned {
        size: ByteSize,
        unit: ByteSize,
        align: ByteSize,
        down: String,
        up: String,
    },
    #[error("address {at} is not aligned to {unit}; nearest valid addresses: {down} or {up}")]
    AddressMisaligned {
        at: PhysAddr,
        unit: ByteSize,
        down: PhysAddr,
        up: PhysAddr,
    },
    #[error("{size} at {at} is outside the device region {start} .. {end}")]
    OutsideRegion {
        size: ByteSize,
        at: PhysAddr,
        start: PhysAddr,
        end: PhysAddr,
    },
    #[error("{size} does not fit: the region has {available} free at {unit} alignment (region size {region})")]
    TooBig {
        size: ByteSize,
        available: ByteSize,
        unit: ByteSize,
        region: ByteSize,
    },
    #[error("{at} .. +{size} overlaps {other}")]
    Overlap {
        at: PhysAddr,
        size: ByteSize,
        other: String,
    },
    #[error("with --map=dev the memmap reserve takes {reserve} of {size}, leaving less than one {align} page for data; the smallest valid size is {min}")]
    ReserveTooLarge {
        size: ByteSize,
        reserve: ByteSize,
        align: ByteSize,
        min: ByteSize,
    },
    /// A pmem namespace (`ndctl create-namespace`) whose info block and reserve leave no data
    /// (`nd_pfn_init`: "unable to satisfy requested alignment").
    #[error("a {size} namespace at align {} with --map={map} leaves no data: the reserve (info block{}, padding to {}) takes {reserve}; the smallest valid size is {min}", align.short(), if matches!(map, MapMode::Dev) { ", memmap" } else { "" }, unit.short())]
    NamespaceTooSmall {
        size: ByteSize,
        align: ByteSize,
        map: MapMode,
        reserve: ByteSize,
        unit: ByteSize,
        min: ByteSize,
    },
    #[error("{0}")]
    Pfn(#[from] nd_pfn::PfnError),
    #[error("no device dax0.{0}")]
    NoDevice(u32),
    #[error("the machine has no device region")]
    NoRegion,
    #[error(transparent)]
    Memremap(#[from] MemremapError),
}

/// Display helper for "no smaller valid size".
/// The next multiple of `unit` above `s` for messages, or "none larger" past 2^64 bytes.
#[must_use]
pub fn up_or_none(s: ByteSize, unit: ByteSize) -> String {
    s.checked_align_up(unit)
        .map_or_else(|| "none larger".into(), ByteSize::short)
}

fn size_or_none(s: ByteSize) -> String {
    if s.bytes() == 0 {
        "none smaller".into()
    } else {
        s.short()
    }
}

/// A validated device layout: everything the driver and the planner derive from a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevDaxLayout {
    pub start: PhysAddr,
    pub size: ByteSize,
    pub align: ByteSize,
    pub map: MapMode,
    /// `vmemmap_shift` (0: no compound pages).
    pub order: Order,
    /// The `--map=dev` reserve.
    pub reserve: Option<PfnReserve>,
    /// The nvdimm pfn info block (`nd_pfn_init`): always with `--map=dev` (the altmap needs
    /// it), and with `--map=mem` when the device sits on a pmem namespace
    /// ([`namespace_layout`]); `None` for a device carved from a dax region without one
    /// (`daxctl create-device` on an hmem/CXL region), whose data starts at its start.
    pub info: Option<PfnSb>,
}

/// The allocation granularity of a device: its align, and at least `memremap_compat_align()`
/// (2 MiB, 16 MiB on ppc64 hash).
#[must_use]
pub fn unit(g: &Geometry, align: ByteSize) -> ByteSize {
    align.max(g.features.memremap_compat_align)
}

/// Checks a spec placed at `start` and derives its layout: valid align, size a positive
/// multiple of the unit, a `--map=dev` reserve that leaves at least one aligned page of data.
pub fn layout(
    g: &Geometry,
    sw: &Switches,
    release: KernelVersion,
    spec: &DevDaxSpec,
    start: PhysAddr,
) -> Result<DevDaxLayout, DaxError> {
    check_align(g, release, spec.align)?;
    if spec.size.bytes() == 0 {
        return Err(DaxError::ZeroSize);
    }
    let unit = unit(g, spec.align);
    if !spec.size.is_multiple_of(unit) {
        return Err(DaxError::SizeMisaligned {
            size: spec.size,
            unit,
            align: spec.align,
            down: size_or_none(spec.size.align_down(unit)),
            up: up_or_none(spec.size, unit),
        });
    }
    let compound = sw.compound_devmap && spec.driver == DaxDriver::Device;
    let order = if compound && spec.align > ByteSize::new(g.page_size()) {
        Order::new(g.bytes_to_pages(spec.align).trailing_zeros())
    } else {
        Order::new(0)
    };
    let (reserve, info) = match spec.map {
        MapMode::Mem => (None, None),
        MapMode::Dev => match dev_info(g, sw, start, spec.size, spec.align, order) {
            Ok(sb) => (Some(nd_pfn::altmap(g, start, &sb)), Some(sb)),
            Err(PfnError::NoData { dataoff, .. }) => {
                let min = smallest_size(unit, unit, |s| {
                    dev_info(g, sw, start, s, spec.align, order).is_ok()
                })
                .unwrap_or(ByteSize::new(u64::MAX).align_down(unit));
                return Err(DaxError::ReserveTooLarge {
                    size: spec.size,
                    reserve: dataoff,
                    align: spec.align,
                    min,
                });
            }
            Err(e) => return Err(pfn_error(e, unit)),
        },
    };
    Ok(DevDaxLayout {
        start,
        size: spec.size,
        align: spec.align,
        map: spec.map,
        order,
        reserve,
        info,
    })
}

/// [`layout`] for a device on a pmem namespace (`ndctl create-namespace -m devdax`,
/// `drivers/dax/pmem.c`): with `--map=mem` too, `nd_pfn_init` writes an info block and the data
/// starts at `dataoff` (the info block rounded up to `max(align, memremap_compat_align())`), so
/// the device is smaller than the namespace; a namespace left with no data is refused with
/// the smallest size that works.
pub fn namespace_layout(
    g: &Geometry,
    sw: &Switches,
    release: KernelVersion,
    spec: &DevDaxSpec,
    start: PhysAddr,
) -> Result<DevDaxLayout, DaxError> {
    let unit = unit(g, spec.align);
    let mut l = layout(g, sw, release, spec, start).map_err(|e| match e {
        DaxError::ReserveTooLarge {
            size,
            reserve,
            align,
            min,
        } => DaxError::NamespaceTooSmall {
            size,
            align,
            map: MapMode::Dev,
            reserve,
            unit,
            min,
        },
        e => e,
    })?;
    if l.info.is_none() {
        let init = |s| nd_pfn::nd_pfn_init(g, start, s, spec.align, MapMode::Mem, None);
        match init(spec.size) {
            Ok(sb) => l.info = Some(sb),
            Err(PfnError::NoData { dataoff, .. }) => {
                let min = smallest_size(unit, unit, |s| init(s).is_ok())
                    .unwrap_or(ByteSize::new(u64::MAX).align_down(unit));
                return Err(DaxError::NamespaceTooSmall {
                    size: spec.size,
                    align: spec.align,
                    map: MapMode::Mem,
                    reserve: dataoff,
                    unit,
                    min,
                });
            }
            Err(e) => return Err(pfn_error(e, unit)),
        }
    }
    Ok(l)
}

/// A refused namespace start as the driver's address error.
fn pfn_error(e: PfnError, unit: ByteSize) -> DaxError {
    match e {
        PfnError::StartMisaligned {
            start, down, up, ..
        } => DaxError::AddressMisaligned {
            at: start,
            unit,
            down,
            up,
        },
        e => DaxError::Pfn(e),
    }
}

/// The smallest multiple of `step`, at least `from`, for which `ok` holds, given that `ok` is
/// monotone (false up to some size, true from there on): an exponential then a binary search,
/// so any size up to 2^64 bytes takes at most ~128 calls. `None` when no such size fits in 64
/// bits.
pub fn smallest_size(
    step: ByteSize,
    from: ByteSize,
    ok: impl Fn(ByteSize) -> bool,
) -> Option<ByteSize> {
    let step = step.bytes().max(1);
    let at = |k: u64| k.checked_mul(step).map(ByteSize::new);
    let mut lo = from.bytes().div_ceil(step).max(1);
    if ok(at(lo)?) {
        return at(lo);
    }
    // ok(lo) is false; find hi with ok(hi) true.
    let mut hi = lo;
    loop {
        hi = hi.checked_mul(2)?;
        if ok(at(hi)?) {
            break;
        }
        lo = hi;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(at(mid)?) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
}

/// The info block of a `--map=dev` namespace: the reserve sized for the kernel's full memmap
/// (`MAX_STRUCT_PAGE_SIZE` per pfn), or for one vmemmap frame per compound page when the
/// profile deduplicates on the device.
fn dev_info(
    g: &Geometry,
    sw: &Switches,
    start: PhysAddr,
    size: ByteSize,
    align: ByteSize,
    order: Order,
) -> Result<PfnSb, PfnError> {
    let memmap = (order.get() > 0 && vmemmap_can_optimize(g, sw, true, order))
        .then(|| size.bytes() / align.bytes() * g.page_size());
    nd_pfn::nd_pfn_init(g, start, size, align, MapMode::Dev, memmap)
}

/// What creating a device cost, measured on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MemmapCost {
    /// RAM frames of struct pages, in bytes.
    pub memmap_bytes: u64,
    /// Page-table frames mapping the vmemmap, in bytes.
    pub pagetable_bytes: u64,
    /// Device capacity given to the memmap reserve (`--map=dev`), in bytes.
    pub device_bytes: u64,
    /// Struct pages made addressable.
    pub struct_pages: u64,
    /// Struct pages written by memmap init.
    pub struct_pages_initialized: u64,
    /// What `/proc/vmstat` `nr_memmap_pages` rises by, in pages, as the profile's kernel counts
    /// it (`None`: the counter does not exist in that kernel, or is not modelled for the kind).
    pub nr_memmap_pages: Option<u64>,
    /// What `/proc/vmstat` `nr_memmap_boot_pages` changes by (negative: boot memmap given back,
    /// as HugeTLB vmemmap optimization does); `None` where the counter does not exist.
    pub nr_memmap_boot_pages: Option<i64>,
}

/// `now − then` of a counter both kernels report, signed.
#[must_use]
pub fn delta(now: Option<u64>, then: Option<u64>) -> Option<i64> {
    let (now, then) = (now?, then?);
    let d = i128::from(now) - i128::from(then);
    i64::try_from(d).ok()
}

/// One devdax device (`daxX.Y` with its pfn namespace).
#[derive(Debug)]
pub struct DevDax {
    pub id: u32,
    pub layout: DevDaxLayout,
    pub pgmap: Arc<DevPagemap>,
    pub cost: MemmapCost,
}

impl DevDax {
    /// `dax0.N`.
    #[must_use]
    pub fn name(&self) -> String {
        format!("dax0.{}", self.id)
    }
    /// Bytes usable for data: the dax device's size (the namespace minus its info block,
    /// padding, `--map=dev` reserve and end truncation; see [`PfnSb::usable`]).
    #[must_use]
    pub fn data_size(&self) -> ByteSize {
        self.layout.info.map_or(self.layout.size, |sb| sb.usable())
    }

    /// Where the data starts: `dataoff` past the namespace start (`__dax_pmem_probe` moves
    /// the dax range start by it).
    #[must_use]
    pub fn data_start(&self) -> PhysAddr {
        self.layout.start
            + self
                .layout
                .info
                .map_or(ByteSize::new(0), |sb| sb.start_pad + sb.dataoff)
    }
}

/// The device region (`region0`) and its devices.
#[derive(Debug)]
pub struct DaxRegion {
    pub start: PhysAddr,
    pub size: ByteSize,
    devices: BTreeMap<u32, DevDax>,
    next_id: u32,
}

impl DaxRegion {
    /// The region of `k`'s machine.
    pub fn new(k: &Kernel) -> Result<DaxRegion, DaxError> {
        let r = k
            .machine
            .phys_map()
            .device_region()
            .ok_or(DaxError::NoRegion)?;
        Ok(DaxRegion {
            start: r.start(),
            size: r.size(),
            devices: BTreeMap::new(),
            next_id: 0,
        })
    }

    fn end(&self) -> PhysAddr {
        self.start + self.size
    }

    /// The devices, by id.
    pub fn devices(&self) -> impl Iterator<Item = &DevDax> {
        self.devices.values()
    }

    /// A device by id.
    #[must_use]
    pub fn device(&self, id: u32) -> Option<&DevDax> {
        self.devices.get(&id)
    }

    fn overlapping(&self, at: PhysAddr, size: ByteSize) -> Option<&DevDax> {
        self.devices.values().find(|d| {
            at.as_u64() < d.layout.start.as_u64() + d.layout.size.bytes()
                && d.layout.start.as_u64() < at.as_u64() + size.bytes()
        })
    }

    /// The lowest `unit`-aligned address where `size` fits, or the largest free aligned extent.
    fn place(&self, size: ByteSize, unit: ByteSize) -> Result<PhysAddr, ByteSize> {
        let mut spans: Vec<(u64, u64)> = self
            .devices
            .values()
            .map(|d| {
                (
                    d.layout.start.as_u64(),
                    d.layout.start.as_u64() + d.layout.size.bytes(),
                )
            })
            .collect();
        spans.sort_unstable();
        let mut cursor = self.start.as_u64();
        let mut largest = 0;
        for (s, e) in spans
            .into_iter()
            .chain(std::iter::once((self.end().as_u64(), self.end().as_u64())))
        {
            let at = ByteSize::new(cursor).align_up(unit).bytes();
            if at <= s {
                if s - at >= size.bytes() {
                    return Ok(PhysAddr::new(at));
                }
                largest = largest.max(s - at);
            }
            cursor = cursor.max(e);
        }
        Err(ByteSize::new(
            ByteSize::new(largest).align_down(unit).bytes(),
        ))
    }

    /// Creates a device (`ndctl create-namespace -m devdax`): validates, places it, maps its
    /// memmap with `memremap_pages`, and measures what that cost.
    pub fn create(&mut self, k: &Kernel, spec: DevDaxSpec) -> Result<&DevDax, DaxError> {
        self.create_with(k, spec, layout)
    }

    /// Creates a device on a pmem namespace of `spec.size` (`ndctl create-namespace -m devdax`):
    /// as [`create`](Self::create), with the namespace's info block also under `--map=mem`
    /// ([`namespace_layout`]), so the device is `dataoff` smaller than the namespace.
    pub fn create_namespace(&mut self, k: &Kernel, spec: DevDaxSpec) -> Result<&DevDax, DaxError> {
        self.create_with(k, spec, namespace_layout)
    }

    /// [`create`](Self::create) and [`create_namespace`](Self::create_namespace) with their
    /// `layout`: checks the shape, places the device, maps its memmap and keeps the device.
    fn create_with(
        &mut self,
        k: &Kernel,
        spec: DevDaxSpec,
        layout: fn(
            &Geometry,
            &Switches,
            KernelVersion,
            &DevDaxSpec,
            PhysAddr,
        ) -> Result<DevDaxLayout, DaxError>,
    ) -> Result<&DevDax, DaxError> {
        let g = k.machine.geometry();
        let sw = k.switches();
        let release = k.profile.kernel();
        // Validate the shape before placing so the error names the real problem.
        layout(g, &sw, release, &spec, spec.at.unwrap_or(self.start))?;
        let unit = unit(g, spec.align);
        let at = match spec.at {
            Some(at) => self.check_at(at, spec.size, unit)?,
            None => self
                .place(spec.size, unit)
                .map_err(|available| DaxError::TooBig {
                    size: spec.size,
                    available,
                    unit,
                    region: self.size,
                })?,
        };
        let layout = layout(g, &sw, release, &spec, at)?;
        let (pgmap, cost) = memremap_measured(k, &layout, at, spec.size)?;
        let id = self.next_id;
        self.next_id += 1;
        self.devices.insert(
            id,
            DevDax {
                id,
                layout,
                pgmap,
                cost,
            },
        );
        Ok(&self.devices[&id])
    }

    /// A device of `size` asked for at `at` (`--at`): the address must be on a `unit`
    /// boundary, inside the region and clear of every other device.
    fn check_at(&self, at: PhysAddr, size: ByteSize, unit: ByteSize) -> Result<PhysAddr, DaxError> {
        if !ByteSize::new(at.as_u64()).is_multiple_of(unit) {
            return Err(DaxError::AddressMisaligned {
                at,
                unit,
                down: PhysAddr::new(ByteSize::new(at.as_u64()).align_down(unit).bytes()),
                up: PhysAddr::new(ByteSize::new(at.as_u64()).align_up(unit).bytes()),
            });
        }
        if at < self.start || at.as_u64() + size.bytes() > self.end().as_u64() {
            return Err(DaxError::OutsideRegion {
                size,
                at,
                start: self.start,
                end: self.end(),
            });
        }
        if let Some(d) = self.overlapping(at, size) {
            return Err(DaxError::Overlap {
                at,
                size,
                other: d.name(),
            });
        }
        Ok(at)
    }

    /// Destroys a device (`ndctl destroy-namespace`): `memunmap_pages`, which fails while its
    /// pages are in use.
    pub fn destroy(&mut self, k: &Kernel, id: u32) -> Result<(), DaxError> {
        let dev = self.devices.get(&id).ok_or(DaxError::NoDevice(id))?;
        memremap::memunmap_pages(k, &dev.pgmap)?;
        self.devices.remove(&id);
        Ok(())
    }
}

/// `memremap_pages` of the `size` bytes at `at` with `layout`'s compound order and altmap,
/// and what it cost: the counters it moved, read before and after.
fn memremap_measured(
    k: &Kernel,
    layout: &DevDaxLayout,
    at: PhysAddr,
    size: ByteSize,
) -> Result<(Arc<DevPagemap>, MemmapCost), DaxError> {
    let g = k.machine.geometry();
    let start_pfn = g.phys_to_pfn(at);
    let end_pfn = start_pfn.add(g.bytes_to_pages(size));
    let altmap = layout
        .reserve
        .map(|r| VmemAltmap::new(r.base_pfn, r.reserve, r.free, end_pfn));
    let before = MemmapCounters::read(k);
    let pgmap = memremap::memremap_pages(
        k,
        PagemapParams {
            ty: crate::mm::pagemap::MemoryType::Generic,
            ranges: vec![(start_pfn, end_pfn)],
            vmemmap_shift: layout.order,
            altmap,
        },
    )?;
    let device_bytes = layout.reserve.map_or(0, |r| r.offset.bytes());
    Ok((pgmap, before.cost_since(k, device_bytes)))
}

/// The counters a memmap moves: frames by kind, struct pages populated and written, and
/// `/proc/vmstat`'s `nr_memmap_pages` and `nr_memmap_boot_pages`.
struct MemmapCounters {
    usage: FrameUsage,
    initialized: u64,
    populated: u64,
    nr_memmap_pages: Option<u64>,
    nr_memmap_boot_pages: Option<u64>,
}

impl MemmapCounters {
    /// The counters of `k` now.
    fn read(k: &Kernel) -> MemmapCounters {
        MemmapCounters {
            usage: k.machine.frames().usage(),
            initialized: k.struct_pages_initialized(),
            populated: k
                .stats
                .struct_pages_populated
                .load(std::sync::atomic::Ordering::Relaxed),
            nr_memmap_pages: k.nr_memmap_pages(),
            nr_memmap_boot_pages: k.nr_memmap_boot_pages(),
        }
    }

    /// What `k`'s counters moved since these were read, with `device_bytes` of the device
    /// given to the memmap.
    fn cost_since(&self, k: &Kernel, device_bytes: u64) -> MemmapCost {
        let now = MemmapCounters::read(k);
        MemmapCost {
            memmap_bytes: (now.usage.memmap_ram() - self.usage.memmap_ram())
                * k.machine.geometry().page_size(),
            pagetable_bytes: now.usage.pagetable_bytes() - self.usage.pagetable_bytes(),
            device_bytes,
            struct_pages: now.populated - self.populated,
            struct_pages_initialized: now.initialized - self.initialized,
            nr_memmap_pages: now
                .nr_memmap_pages
                .zip(self.nr_memmap_pages)
                .map(|(now, then)| now - then),
            nr_memmap_boot_pages: delta(now.nr_memmap_boot_pages, self.nr_memmap_boot_pages),
        }
    }
}

/// A shared mapping of (part of) a device-dax device (`dax_vm_ops`): device pages from `pfn`
/// on, described by `pgmap`.
#[derive(Debug)]
struct DaxMapping {
    pfn: Pfn,
    pgmap: Arc<DevPagemap>,
    /// The device file's `address_space` (its simulated kernel address).
    file_mapping: u64,
}

impl VmOperations for DaxMapping {
    /// `dev_dax_huge_fault`: the device frame at `offset`; no allocation, the memory is there.
    /// A DAX folio is tied to the device file on first fault (`dax_set_mapping`), which makes
    /// it file-backed for GUP-fast's long-term write check.
    fn fault(
        &self,
        k: &Kernel,
        memmap: &mut Memmap<'_>,
        offset: u64,
        _size: ByteSize,
        _addr: VirtAddr,
    ) -> Result<Pfn, VmError> {
        let g = k.machine.geometry();
        let pfn = self.pfn.add(offset >> g.page_shift);
        if self.refcounted(k) {
            let folio = page_folio(memmap, PagePtr::from_pfn(g, pfn))?;
            if folio.mapping(memmap)? == 0 {
                folio.set_mapping(memmap, self.file_mapping)?;
            }
        }
        Ok(pfn)
    }

    /// DAX pages are ordinary folios from 6.15 (`vmf_insert_folio_*`); before, `devmap` pfn
    /// mappings (`vmf_insert_pfn_*`) that hold no reference.
    fn refcounted(&self, k: &Kernel) -> bool {
        k.switches().dax_folios
    }

    fn inserts_folio_leaves(&self) -> bool {
        true
    }

    fn close(&self, _k: &Kernel, _memmap: &mut Memmap<'_>) -> Result<(), VmError> {
        self.pgmap.map_put();
        Ok(())
    }
}

impl Mm<'_> {
    /// `mmap(NULL, len, PROT_READ[|PROT_WRITE], MAP_SHARED, devdax_fd, offset)`
    /// (`dax_mmap` + `check_vma`): the offset and length must be multiples of the device's
    /// align; the address is chosen aligned to it.
    pub fn mmap_devdax(
        &self,
        dev: &DevDax,
        offset: u64,
        len: u64,
        writable: bool,
    ) -> Result<VirtAddr, VmError> {
        let align = dev.layout.align;
        if len == 0 {
            return Err(VmError::ZeroLength);
        }
        for (what, value) in [("offset", offset), ("length", len)] {
            if value % align.bytes() != 0 {
                return Err(VmError::Misaligned { what, value, align });
            }
        }
        let data = dev.data_size();
        if offset.checked_add(len).is_none_or(|e| e > data.bytes()) {
            return Err(VmError::BeyondDevice {
                offset,
                len,
                size: data,
            });
        }
        let g = self.k.machine.geometry();
        let data_start = dev.data_start();
        let pfn = g.phys_to_pfn(data_start + ByteSize::new(offset));
        let ops = Arc::new(DaxMapping {
            pfn,
            pgmap: Arc::clone(&dev.pgmap),
            // Any even kernel address unique to the device: the inode's i_mapping.
            file_mapping: dev.pgmap.pointer(g) + 0x100,
        });
        let va = self.mmap(len, align, writable, ops)?;
        dev.pgmap.map_get();
        Ok(va)
    }
}
