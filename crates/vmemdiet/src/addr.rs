//! Units that cannot be mixed: page frame numbers, physical and virtual addresses, compound
//! orders and byte sizes.
//!
//! Most bugs in this field are unit mix-ups (pfn vs index vs byte, head vs tail), so every
//! quantity that crosses a module boundary has its own type, with a private field: values are
//! made with `new` and read with `as_u64` (or `bytes`). Arithmetic is checked: the operators
//! panic on overflow (an overflow there is a bug in the model, never user input), and the
//! `checked_*` forms return `None` for callers that handle user-sized values. Conversions that
//! depend on the page size go through [`crate::arch::Geometry`].

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `x` rounded down to a multiple of `align` (a power of two).
const fn align_down_u64(x: u64, align: u64) -> u64 {
    x & !(align - 1)
}

/// `x` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
const fn checked_align_up_u64(x: u64, align: u64) -> Option<u64> {
    match x.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// A physical page frame number (`pfn` in the kernel): physical address >> PAGE_SHIFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Pfn(u64);

impl Pfn {
    /// The frame with number `n`.
    #[must_use]
    pub const fn new(n: u64) -> Pfn {
        Pfn(n)
    }

    /// The frame number.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The frame `n` frames after this one. Panics on overflow (a model bug).
    #[must_use]
    pub const fn add(self, n: u64) -> Pfn {
        match self.0.checked_add(n) {
            Some(v) => Pfn(v),
            None => panic!("pfn overflow"),
        }
    }

    /// The frame `n` frames after this one, or `None` past `u64::MAX`.
    #[must_use]
    pub const fn checked_add(self, n: u64) -> Option<Pfn> {
        match self.0.checked_add(n) {
            Some(v) => Some(Pfn(v)),
            None => None,
        }
    }

    /// Frames from `earlier` to `self`. Panics if `earlier` is later (a model bug).
    #[must_use]
    pub const fn distance_from(self, earlier: Pfn) -> u64 {
        match self.0.checked_sub(earlier.0) {
            Some(v) => v,
            None => panic!("pfn distance from a later pfn"),
        }
    }

    /// True if the pfn is a multiple of `n` frames (`n` > 0).
    #[must_use]
    pub const fn is_aligned(self, n: u64) -> bool {
        self.0.is_multiple_of(n)
    }

    /// Rounded down to a multiple of `n` frames (a power of two).
    #[must_use]
    pub const fn align_down(self, n: u64) -> Pfn {
        Pfn(align_down_u64(self.0, n))
    }

    /// Rounded up to a multiple of `n` frames (a power of two). Panics on overflow.
    #[must_use]
    pub const fn align_up(self, n: u64) -> Pfn {
        match checked_align_up_u64(self.0, n) {
            Some(v) => Pfn(v),
            None => panic!("pfn overflow"),
        }
    }
}

impl fmt::Display for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pfn {:#x}", self.0)
    }
}

/// A simulated physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct PhysAddr(u64);

impl PhysAddr {
    /// The physical address `a`.
    #[must_use]
    pub const fn new(a: u64) -> PhysAddr {
        PhysAddr(a)
    }

    /// The address as a number.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `self + size`, or `None` past the 64-bit address space.
    #[must_use]
    pub const fn checked_add(self, size: ByteSize) -> Option<PhysAddr> {
        match self.0.checked_add(size.0) {
            Some(v) => Some(PhysAddr(v)),
            None => None,
        }
    }

    /// Bytes from `earlier` to `self`, or `None` if `earlier` is later.
    #[must_use]
    pub const fn checked_sub(self, earlier: PhysAddr) -> Option<ByteSize> {
        match self.0.checked_sub(earlier.0) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// True if a multiple of `align`.
    #[must_use]
    pub const fn is_aligned(self, align: ByteSize) -> bool {
        align.0 != 0 && self.0.is_multiple_of(align.0)
    }

    /// Rounded down to a multiple of `align` (a power of two).
    #[must_use]
    pub const fn align_down(self, align: ByteSize) -> PhysAddr {
        PhysAddr(align_down_u64(self.0, align.0))
    }

    /// Rounded up to a multiple of `align` (a power of two), or `None` on overflow.
    #[must_use]
    pub const fn checked_align_up(self, align: ByteSize) -> Option<PhysAddr> {
        match checked_align_up_u64(self.0, align.0) {
            Some(v) => Some(PhysAddr(v)),
            None => None,
        }
    }

    /// Rounded up to a multiple of `align` (a power of two). Panics on overflow.
    #[must_use]
    pub const fn align_up(self, align: ByteSize) -> PhysAddr {
        match self.checked_align_up(align) {
            Some(v) => v,
            None => panic!("physical address overflow"),
        }
    }
}

impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Panics on overflow: sizes that come from users are checked with
/// [`PhysAddr::checked_add`] before they reach an address.
impl Add<ByteSize> for PhysAddr {
    type Output = PhysAddr;
    fn add(self, rhs: ByteSize) -> PhysAddr {
        self.checked_add(rhs).expect("physical address overflow")
    }
}

/// Panics if `rhs` is the later address.
impl Sub for PhysAddr {
    type Output = ByteSize;
    fn sub(self, rhs: PhysAddr) -> ByteSize {
        self.checked_sub(rhs).expect("physical address underflow")
    }
}

/// Panics past 2^64 bytes: user sizes are combined with [`ByteSize::checked_add`].
impl Add for ByteSize {
    type Output = ByteSize;
    fn add(self, rhs: ByteSize) -> ByteSize {
        self.checked_add(rhs).expect("size overflow")
    }
}

/// Panics below zero.
impl Sub for ByteSize {
    type Output = ByteSize;
    fn sub(self, rhs: ByteSize) -> ByteSize {
        self.checked_sub(rhs).expect("size underflow")
    }
}

/// A simulated virtual address (kernel or user). A `struct page *` is one of these (see
/// [`crate::mm::page::PagePtr`]): dereferencing it walks the kernel page tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtAddr(u64);

impl VirtAddr {
    /// The virtual address `a`.
    #[must_use]
    pub const fn new(a: u64) -> VirtAddr {
        VirtAddr(a)
    }

    /// The address as a number.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The address `bytes` further on. Panics past the top of the address space (a model
    /// bug: user lengths are checked with [`checked_offset`](Self::checked_offset) first).
    #[must_use]
    pub const fn offset(self, bytes: u64) -> VirtAddr {
        match self.checked_offset(bytes) {
            Some(v) => v,
            None => panic!("virtual address overflow"),
        }
    }

    /// The address `bytes` further on, or `None` past the top of the address space.
    #[must_use]
    pub const fn checked_offset(self, bytes: u64) -> Option<VirtAddr> {
        match self.0.checked_add(bytes) {
            Some(v) => Some(VirtAddr(v)),
            None => None,
        }
    }

    /// Bytes from `earlier` to `self`. Panics if `earlier` is later.
    #[must_use]
    pub const fn distance_from(self, earlier: VirtAddr) -> u64 {
        match self.0.checked_sub(earlier.0) {
            Some(v) => v,
            None => panic!("virtual address distance from a later address"),
        }
    }

    /// True if a multiple of `align` bytes (`align` > 0).
    #[must_use]
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0.is_multiple_of(align)
    }

    /// Rounded down to a multiple of `align` bytes (a power of two).
    #[must_use]
    pub const fn align_down(self, align: u64) -> VirtAddr {
        VirtAddr(align_down_u64(self.0, align))
    }

    /// Rounded up to a multiple of `align` bytes (a power of two). Panics on overflow.
    #[must_use]
    pub const fn align_up(self, align: u64) -> VirtAddr {
        match checked_align_up_u64(self.0, align) {
            Some(v) => VirtAddr(v),
            None => panic!("virtual address overflow"),
        }
    }

    /// The kernel's `p?d_addr_end(addr, end)` for an entry spanning `span` bytes: the next
    /// `span` boundary after `self`, or `end` if that comes first. Like the kernel's, it
    /// compares `boundary - 1 < end - 1` so that a boundary or an `end` of 0 (the top of the
    /// address space wrapping) still works.
    #[must_use]
    pub const fn addr_end(self, span: u64, end: VirtAddr) -> VirtAddr {
        let boundary = align_down_u64(self.0.wrapping_add(span), span);
        if boundary.wrapping_sub(1) < end.0.wrapping_sub(1) {
            VirtAddr(boundary)
        } else {
            end
        }
    }
}

impl fmt::Display for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A compound order: a compound page spans `1 << order` base pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Order(u32);

impl Order {
    /// The largest order the model uses (well below 64, so `nr_pages` cannot overflow).
    pub const MAX: u32 = 40;

    /// Order `o`. Panics above [`Order::MAX`] (a model bug).
    #[must_use]
    pub const fn new(o: u32) -> Order {
        assert!(o <= Self::MAX, "compound order out of range");
        Order(o)
    }

    /// The order as a number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Base pages in a compound page of this order.
    #[must_use]
    pub const fn nr_pages(self) -> u64 {
        1 << self.0
    }
}

/// A size in bytes. Parses and prints binary sizes the way ndctl does (`2M` = 2 MiB,
/// `1TiB`, `64G`); a plain number is bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ByteSize(u64);

impl ByteSize {
    pub const KIB: u64 = 1 << 10;
    pub const MIB: u64 = 1 << 20;
    pub const GIB: u64 = 1 << 30;
    pub const TIB: u64 = 1 << 40;

    /// `n` bytes.
    #[must_use]
    pub const fn new(n: u64) -> ByteSize {
        ByteSize(n)
    }
    /// The size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        self.0
    }
    /// `n` KiB.
    #[must_use]
    pub const fn kib(n: u64) -> ByteSize {
        ByteSize(n << 10)
    }
    /// `n` MiB.
    #[must_use]
    pub const fn mib(n: u64) -> ByteSize {
        ByteSize(n << 20)
    }
    /// `n` GiB.
    #[must_use]
    pub const fn gib(n: u64) -> ByteSize {
        ByteSize(n << 30)
    }
    /// `n` TiB.
    #[must_use]
    pub const fn tib(n: u64) -> ByteSize {
        ByteSize(n << 40)
    }

    /// `self + rhs`, or `None` past 2^64 bytes.
    #[must_use]
    pub const fn checked_add(self, rhs: ByteSize) -> Option<ByteSize> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` below zero.
    #[must_use]
    pub const fn checked_sub(self, rhs: ByteSize) -> Option<ByteSize> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// `self × n`, or `None` past 2^64 bytes.
    #[must_use]
    pub const fn checked_mul(self, n: u64) -> Option<ByteSize> {
        match self.0.checked_mul(n) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// True if this size is a whole multiple of `unit`.
    #[must_use]
    pub const fn is_multiple_of(self, unit: ByteSize) -> bool {
        unit.0 != 0 && self.0.is_multiple_of(unit.0)
    }

    /// Rounded down to a multiple of `unit` (a power of two).
    #[must_use]
    pub const fn align_down(self, unit: ByteSize) -> ByteSize {
        ByteSize(align_down_u64(self.0, unit.0))
    }

    /// Rounded up to a multiple of `unit` (a power of two), or `None` past 2^64 bytes.
    #[must_use]
    pub const fn checked_align_up(self, unit: ByteSize) -> Option<ByteSize> {
        match checked_align_up_u64(self.0, unit.0) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// Rounded up to a multiple of `unit` (a power of two). Panics past 2^64 bytes (a model
    /// bug: user sizes use [`checked_align_up`](Self::checked_align_up)).
    #[must_use]
    pub const fn align_up(self, unit: ByteSize) -> ByteSize {
        match self.checked_align_up(unit) {
            Some(v) => v,
            None => panic!("size overflow"),
        }
    }
    /// The short ndctl-style spelling (`2M`, `1G`, `4K`) when exact, else the human form.
    #[must_use]
    pub fn short(self) -> String {
        for (unit, suffix) in [
            (Self::TIB, "T"),
            (Self::GIB, "G"),
            (Self::MIB, "M"),
            (Self::KIB, "K"),
        ] {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return format!("{}{}", self.0 / unit, suffix);
            }
        }
        format!("{}", self.0)
    }
}

/// Prints the largest binary unit that keeps at least one whole unit, with up to two
/// decimals: `16.00 GiB`, `40.06 MiB`, `512 B`.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [
            (Self::TIB, "TiB"),
            (Self::GIB, "GiB"),
            (Self::MIB, "MiB"),
            (Self::KIB, "KiB"),
        ];
        for (unit, name) in units {
            if self.0 >= unit {
                #[allow(clippy::cast_precision_loss)]
                let v = self.0 as f64 / unit as f64;
                return if self.0.is_multiple_of(unit) {
                    write!(f, "{} {}", self.0 / unit, name)
                } else {
                    write!(f, "{v:.2} {name}")
                };
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// Why a size string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeParseError {
    #[error("empty size; give a number with an optional binary suffix, e.g. 64G, 2M, 1TiB")]
    Empty,
    #[error("'{0}' is not a size; give a number with an optional binary suffix (K, M, G, T; KiB, MiB, GiB, TiB), e.g. 64G, 2M, 1TiB")]
    Invalid(String),
    #[error("'{0}' is too large: sizes must fit in 64 bits of bytes")]
    Overflow(String),
}

impl FromStr for ByteSize {
    type Err = SizeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(SizeParseError::Empty);
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, suffix) = t.split_at(split);
        if num.is_empty() {
            return Err(SizeParseError::Invalid(s.to_string()));
        }
        let n: u64 = num
            .parse()
            .map_err(|_| SizeParseError::Overflow(s.to_string()))?;
        let shift = match suffix.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kib" | "kb" => 10,
            "m" | "mib" | "mb" => 20,
            "g" | "gib" | "gb" => 30,
            "t" | "tib" | "tb" => 40,
            "p" | "pib" | "pb" => 50,
            _ => return Err(SizeParseError::Invalid(s.to_string())),
        };
        n.checked_mul(1u64 << shift)
            .map(ByteSize)
            .ok_or_else(|| SizeParseError::Overflow(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ndctl_style_binary_sizes() {
        assert_eq!("2M".parse::<ByteSize>().unwrap(), ByteSize::mib(2));
        assert_eq!("1TiB".parse::<ByteSize>().unwrap(), ByteSize::tib(1));
        assert_eq!("64g".parse::<ByteSize>().unwrap(), ByteSize::gib(64));
        assert_eq!("4096".parse::<ByteSize>().unwrap(), ByteSize(4096));
        assert_eq!("4K".parse::<ByteSize>().unwrap(), ByteSize::kib(4));
    }

    #[test]
    fn rejects_bad_sizes_with_a_reason() {
        assert_eq!("".parse::<ByteSize>(), Err(SizeParseError::Empty));
        assert!(matches!(
            "12Q".parse::<ByteSize>(),
            Err(SizeParseError::Invalid(_))
        ));
        assert!(matches!(
            "G".parse::<ByteSize>(),
            Err(SizeParseError::Invalid(_))
        ));
        assert!(matches!(
            "-1G".parse::<ByteSize>(),
            Err(SizeParseError::Invalid(_))
        ));
        assert!(matches!(
            "99999999T".parse::<ByteSize>(),
            Err(SizeParseError::Overflow(_))
        ));
    }

    #[test]
    fn prints_human_sizes() {
        assert_eq!(ByteSize::gib(16).to_string(), "16 GiB");
        assert_eq!(
            ByteSize(40 * ByteSize::MIB + 64 * 1024).to_string(),
            "40.06 MiB"
        );
        assert_eq!(ByteSize::mib(2).short(), "2M");
        assert_eq!(ByteSize::gib(1).short(), "1G");
    }

    #[test]
    fn alignment_helpers_round_to_powers_of_two() {
        assert_eq!(Pfn::new(1000).align_down(512), Pfn::new(512));
        assert_eq!(Pfn::new(1000).align_up(512), Pfn::new(1024));
        assert_eq!(Pfn::new(1024).align_up(512), Pfn::new(1024));
        assert!(Pfn::new(1024).is_aligned(512));
        assert!(!Pfn::new(1025).is_aligned(512));
        let a = PhysAddr::new(0x20_0001);
        assert_eq!(a.align_down(ByteSize::mib(2)), PhysAddr::new(0x20_0000));
        assert_eq!(a.align_up(ByteSize::mib(2)), PhysAddr::new(0x40_0000));
        assert!(PhysAddr::new(0x40_0000).is_aligned(ByteSize::mib(2)));
        assert!(!a.is_aligned(ByteSize::mib(2)));
        assert!(!a.is_aligned(ByteSize::new(0)));
        let v = VirtAddr::new(0x1234_5678);
        assert_eq!(v.align_down(0x1000), VirtAddr::new(0x1234_5000));
        assert_eq!(v.align_up(0x1000), VirtAddr::new(0x1234_6000));
        assert!(VirtAddr::new(0x1000).is_aligned(0x1000));
        assert!(!v.is_aligned(0x1000));
        assert_eq!(
            ByteSize::new(3000).align_up(ByteSize::kib(4)),
            ByteSize::kib(4)
        );
        assert_eq!(
            ByteSize::new(5000).align_down(ByteSize::kib(4)),
            ByteSize::kib(4)
        );
    }

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        assert_eq!(
            PhysAddr::new(u64::MAX - 1).checked_add(ByteSize::new(2)),
            None
        );
        assert_eq!(
            PhysAddr::new(10).checked_add(ByteSize::new(2)),
            Some(PhysAddr::new(12))
        );
        assert_eq!(PhysAddr::new(1).checked_sub(PhysAddr::new(2)), None);
        assert_eq!(PhysAddr::new(12) - PhysAddr::new(2), ByteSize::new(10));
        assert_eq!(ByteSize::new(u64::MAX).checked_add(ByteSize::new(1)), None);
        assert_eq!(ByteSize::new(u64::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(ByteSize::new(3).checked_mul(2), Some(ByteSize::new(6)));
        assert_eq!(ByteSize::new(1).checked_sub(ByteSize::new(2)), None);
        assert_eq!(
            ByteSize::new(u64::MAX).checked_align_up(ByteSize::kib(4)),
            None
        );
        assert_eq!(
            PhysAddr::new(u64::MAX).checked_align_up(ByteSize::kib(4)),
            None
        );
        assert_eq!(VirtAddr::new(u64::MAX).checked_offset(1), None);
        assert_eq!(Pfn::new(u64::MAX).checked_add(1), None);
        assert_eq!(Pfn::new(7).add(3), Pfn::new(10));
        assert_eq!(Pfn::new(10).distance_from(Pfn::new(7)), 3);
        assert_eq!(VirtAddr::new(10).distance_from(VirtAddr::new(4)), 6);
        assert_eq!(ByteSize::new(5) + ByteSize::new(6), ByteSize::new(11));
        assert_eq!(ByteSize::new(6) - ByteSize::new(5), ByteSize::new(1));
        assert_eq!(Order::new(9).nr_pages(), 512);
        assert_eq!(Order::new(18).get(), 18);
    }

    #[test]
    #[should_panic(expected = "physical address overflow")]
    fn address_overflow_panics_rather_than_wrapping() {
        let _ = PhysAddr::new(u64::MAX) + ByteSize::new(1);
    }

    #[test]
    fn addr_end_stops_at_the_boundary_or_the_end() {
        let pmd = 2 << 20;
        let a = VirtAddr::new(0x20_1000);
        assert_eq!(
            a.addr_end(pmd, VirtAddr::new(0x80_0000)),
            VirtAddr::new(0x40_0000)
        );
        assert_eq!(
            a.addr_end(pmd, VirtAddr::new(0x30_0000)),
            VirtAddr::new(0x30_0000)
        );
        assert_eq!(
            VirtAddr::new(0x40_0000).addr_end(pmd, VirtAddr::new(0x80_0000)),
            VirtAddr::new(0x60_0000)
        );
        // The last PMD of the address space: the boundary wraps to 0 and `end` is returned.
        let top = VirtAddr::new(u64::MAX - pmd + 1);
        assert_eq!(top.addr_end(pmd, VirtAddr::new(0)), VirtAddr::new(0));
    }

    #[test]
    fn addresses_print_in_hex_and_pfns_name_themselves() {
        assert_eq!(Pfn::new(0x1f).to_string(), "pfn 0x1f");
        assert_eq!(PhysAddr::new(0x1000).to_string(), "0x1000");
        assert_eq!(
            VirtAddr::new(0xffff_ea00_0000_0000).to_string(),
            "0xffffea0000000000"
        );
        assert_eq!(ByteSize::new(512).to_string(), "512 B");
        assert_eq!(ByteSize::kib(3).to_string(), "3 KiB");
        assert_eq!(ByteSize::kib(3).short(), "3K");
        assert_eq!(ByteSize::tib(12).short(), "12T");
        assert_eq!(ByteSize::new(1000).short(), "1000");
    }
}
