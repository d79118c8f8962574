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

/// The machine's physical map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhysMap {
    ranges: Vec<PhysRange>,
}

impl PhysMap {
    /// The standard layout of `g`'s platform (on x86-64: System RAM `[1 MiB, 2 GiB)` and
    /// `[4 GiB, 2 GiB + ram_size)`), then a device region of `device_size` at the next
    /// device-region boundary. `None` if the layout does not fit in 64 bits of address.
    #[must_use]
    pub fn standard(g: &Geometry, ram_size: ByteSize, device_size: ByteSize) -> Option<PhysMap> {
        let p = &g.platform;
        let (low_start, low_end) = p.low_ram;
        let high_end = ram_end(g, ram_size)?;
        let device_start = device_region_start(g, ram_size)?;
        let mut ranges = vec![
            PhysRange {
                start: low_start,
                end: low_end,
                kind: RangeKind::SystemRam,
            },
            PhysRange {
                start: p.high_ram_start,
                end: high_end,
                kind: RangeKind::SystemRam,
            },
        ];
        if device_size.bytes() > 0 {
            ranges.push(PhysRange {
                start: device_start,
                end: device_start.checked_add(device_size)?,
                kind: RangeKind::Device,
            });
        }
        Some(PhysMap { ranges })
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
            .map(|r| (r.start.align_down(sec), r.end.align_up(sec)))
            .collect()
    }
}

/// Where System RAM of `ram_size` ends (the hole below the high RAM counts as RAM missing
/// below 4 GiB, as on x86 servers), or `None` past 64 bits.
#[must_use]
pub fn ram_end(g: &Geometry, ram_size: ByteSize) -> Option<PhysAddr> {
    g.platform.low_ram.1.checked_add(ram_size)
}

/// Where the device region of a machine with `ram_size` of RAM starts, or `None` past 64 bits.
#[must_use]
pub fn device_region_start(g: &Geometry, ram_size: ByteSize) -> Option<PhysAddr> {
    ram_end(g, ram_size)?.checked_align_up(device_region_align(g))
}

/// The boundary device regions start on: the platform's (64 GiB), or on an arch that
/// describes less than four of those (arm64 16K at VA 36: 32 GiB in all), a quarter of its
/// physical reach, so RAM and a device region both fit below the limit.
#[must_use]
pub fn device_region_align(g: &Geometry) -> ByteSize {
    let quarter = g.max_phys().as_u64() / 4;
    let cap = ByteSize::new(1 << quarter.max(1).ilog2());
    g.platform.device_region_align.min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half-open ranges overlap when each starts before the other ends; touching is not
    /// overlapping.
    #[test]
    fn ranges_intersect_only_where_they_overlap() {
        let r = PhysRange {
            start: PhysAddr::new(0x1000),
            end: PhysAddr::new(0x2000),
            kind: RangeKind::SystemRam,
        };
        let hit = |s: u64, e: u64| r.intersects(PhysAddr::new(s), PhysAddr::new(e));
        assert!(hit(0x800, 0x1800));
        assert!(hit(0x1800, 0x3000));
        assert!(hit(0x1100, 0x1200));
        assert!(hit(0, 0x3000));
        assert!(!hit(0, 0x1000), "ends where r starts");
        assert!(!hit(0x2000, 0x3000), "starts where r ends");
        assert!(!hit(0x3000, 0x4000));
        assert_eq!(r.size(), ByteSize::new(0x1000));
    }
}
