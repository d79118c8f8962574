//! The physical memory map (`/proc/iomem` of the simulated machine): System RAM ranges and one
//! device (pmem/CXL) region at realistic x86 addresses.

use serde::Serialize;

use crate::addr::{ByteSize, PhysAddr};
use crate::arch::Geometry;

/// What a physical range holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RangeKind {
    /// Ordinary memory managed by the buddy allocator; its memmap exists from boot.
    SystemRam,
    /// Device memory (persistent memory, CXL): no memmap until `memremap_pages`.
    Device,
}

/// One range of the physical map, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PhysRange {
    start: PhysAddr,
    end: PhysAddr,
    kind: RangeKind,
}

impl PhysRange {
    /// First address.
    #[must_use]
    pub const fn start(&self) -> PhysAddr {
        self.start
    }
    /// One past the last address.
    #[must_use]
    pub const fn end(&self) -> PhysAddr {
        self.end
    }
    /// What the range holds.
    #[must_use]
    pub const fn kind(&self) -> RangeKind {
        self.kind
    }
    /// Size of the range.
    #[must_use]
    pub fn size(&self) -> ByteSize {
        self.end - self.start
    }
    /// True if `[start, end)` overlaps this range.
    #[must_use]
    pub fn intersects(&self, start: PhysAddr, end: PhysAddr) -> bool {
        start < self.end && self.start < end
    }
}

/// Low RAM ends at 2 GiB; 2–4 GiB is the PCI hole, as on most x86 servers.
pub const LOW_RAM_END: PhysAddr = PhysAddr::new(2 << 30);
/// The first MiB is firmware/BIOS territory.
pub const LOW_RAM_START: PhysAddr = PhysAddr::new(1 << 20);
/// High RAM starts above the PCI hole.
pub const HIGH_RAM_START: PhysAddr = PhysAddr::new(4 << 30);
/// Device regions start on a 64 GiB boundary above RAM, the way platform firmware places
/// persistent-memory regions; it also keeps their vmemmap out of the RAM's PMD tables.
pub const DEVICE_REGION_ALIGN: ByteSize = ByteSize::gib(64);

/// The machine's physical map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhysMap {
    ranges: Vec<PhysRange>,
}

impl PhysMap {
    /// The standard layout: System RAM `[1 MiB, 2 GiB)` and `[4 GiB, 2 GiB + ram_size)`, then a
    /// device region of `device_size` at the next 64 GiB boundary.
    #[must_use]
    pub fn standard(ram_size: ByteSize, device_size: ByteSize) -> PhysMap {
        let high_end = PhysAddr::new(LOW_RAM_END.as_u64() + ram_size.bytes());
        let device_start = device_region_start(ram_size);
        let mut ranges = vec![
            PhysRange {
                start: LOW_RAM_START,
                end: LOW_RAM_END,
                kind: RangeKind::SystemRam,
            },
            PhysRange {
                start: HIGH_RAM_START,
                end: high_end,
                kind: RangeKind::SystemRam,
            },
        ];
        if device_size.bytes() > 0 {
            ranges.push(PhysRange {
                start: device_start,
                end: device_start + device_size,
                kind: RangeKind::Device,
            });
        }
        PhysMap { ranges }
    }

    /// Every range, in address order.
    #[must_use]
    pub fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    /// The System RAM ranges.
    pub fn ram(&self) -> impl Iterator<Item = &PhysRange> {
        self.ranges
            .iter()
            .filter(|r| r.kind == RangeKind::SystemRam)
    }

    /// The device region, if the machine has one.
    #[must_use]
    pub fn device_region(&self) -> Option<&PhysRange> {
        self.ranges.iter().find(|r| r.kind == RangeKind::Device)
    }

    /// True if any System RAM intersects `[start, end)`.
    #[must_use]
    pub fn intersects_ram(&self, start: PhysAddr, end: PhysAddr) -> bool {
        self.ram().any(|r| r.intersects(start, end))
    }

    /// The highest physical address of the map.
    #[must_use]
    pub fn end(&self) -> PhysAddr {
        self.ranges.iter().map(|r| r.end).max().unwrap_or_default()
    }

    /// The `[start, end)` section-aligned spans whose memmap boot populates (every section that
    /// holds any RAM), as physical addresses.
    #[must_use]
    pub fn boot_memmap_spans(&self, g: &Geometry) -> Vec<(PhysAddr, PhysAddr)> {
        let sec = g.section_size();
        self.ram()
            .map(|r| {
                (
                    PhysAddr::new(ByteSize::new(r.start.as_u64()).align_down(sec).bytes()),
                    PhysAddr::new(ByteSize::new(r.end.as_u64()).align_up(sec).bytes()),
                )
            })
            .collect()
    }
}

/// Where the device region of a machine with `ram_size` of RAM starts.
#[must_use]
pub fn device_region_start(ram_size: ByteSize) -> PhysAddr {
    PhysAddr::new(
        ByteSize::new(LOW_RAM_END.as_u64() + ram_size.bytes())
            .align_up(DEVICE_REGION_ALIGN)
            .bytes(),
    )
}
