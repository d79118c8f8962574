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

    #[test]
    fn pfn_predicates_and_rounding_are_exact() {
        // is_aligned: a multiple of n, not "any pfn".
        assert!(Pfn::new(0).is_aligned(8));
        assert!(Pfn::new(24).is_aligned(8));
        assert!(!Pfn::new(12).is_aligned(8));
        assert!(!Pfn::new(1).is_aligned(2));
        // align_down/align_up on and off a boundary (n = 1 is the identity).
        assert_eq!(Pfn::new(513).align_down(512), Pfn::new(512));
        assert_eq!(Pfn::new(511).align_down(512), Pfn::new(0));
        assert_eq!(Pfn::new(512).align_down(512), Pfn::new(512));
        assert_eq!(Pfn::new(1).align_up(512), Pfn::new(512));
        assert_eq!(Pfn::new(0).align_up(512), Pfn::new(0));
        assert_eq!(Pfn::new(7).align_up(1), Pfn::new(7));
        // add/checked_add/distance_from at the top of the range.
        assert_eq!(
            Pfn::new(u64::MAX - 1).checked_add(1),
            Some(Pfn::new(u64::MAX))
        );
        assert_eq!(Pfn::new(u64::MAX - 1).add(1), Pfn::new(u64::MAX));
        assert_eq!(Pfn::new(5).distance_from(Pfn::new(5)), 0);
        assert_eq!(Pfn::new(5).as_u64(), 5);
    }

    #[test]
    #[should_panic(expected = "pfn overflow")]
    fn pfn_add_past_the_top_panics() {
        let _ = Pfn::new(u64::MAX).add(1);
    }

    #[test]
    #[should_panic(expected = "pfn overflow")]
    fn pfn_align_up_past_the_top_panics() {
        let _ = Pfn::new(u64::MAX - 3).align_up(8);
    }

    #[test]
    #[should_panic(expected = "pfn distance from a later pfn")]
    fn pfn_distance_from_a_later_pfn_panics() {
        let _ = Pfn::new(3).distance_from(Pfn::new(4));
    }

    #[test]
    fn phys_addr_arithmetic_is_exact() {
        // + and - between addresses and sizes, and the checked forms at the edges.
        assert_eq!(
            PhysAddr::new(0x1000) + ByteSize::new(0x2000),
            PhysAddr::new(0x3000)
        );
        assert_eq!(
            PhysAddr::new(u64::MAX - 1).checked_add(ByteSize::new(1)),
            Some(PhysAddr::new(u64::MAX))
        );
        assert_eq!(
            PhysAddr::new(7).checked_sub(PhysAddr::new(7)),
            Some(ByteSize::new(0))
        );
        assert_eq!(
            PhysAddr::new(9).checked_sub(PhysAddr::new(2)),
            Some(ByteSize::new(7))
        );
        // Rounding on a boundary stays put; 1 byte below rounds to the boundary.
        let two_m = ByteSize::mib(2);
        assert_eq!(
            PhysAddr::new(0x20_0000).align_up(two_m),
            PhysAddr::new(0x20_0000)
        );
        assert_eq!(
            PhysAddr::new(0x1f_ffff).align_up(two_m),
            PhysAddr::new(0x20_0000)
        );
        assert_eq!(PhysAddr::new(0x1f_ffff).align_down(two_m), PhysAddr::new(0));
        assert_eq!(
            PhysAddr::new(0x1f_ffff).checked_align_up(two_m),
            Some(PhysAddr::new(0x20_0000))
        );
        assert!(PhysAddr::new(0).is_aligned(two_m));
        assert_eq!(PhysAddr::new(0xabc).as_u64(), 0xabc);
    }

    #[test]
    #[should_panic(expected = "physical address underflow")]
    fn phys_addr_minus_a_later_address_panics() {
        let _ = PhysAddr::new(1) - PhysAddr::new(2);
    }

    #[test]
    #[should_panic(expected = "physical address overflow")]
    fn phys_addr_align_up_past_the_top_panics() {
        let _ = PhysAddr::new(u64::MAX).align_up(ByteSize::kib(4));
    }

    #[test]
    fn virt_addr_arithmetic_is_exact() {
        let v = VirtAddr::new(0xffff_ea00_0000_0000);
        assert_eq!(v.offset(0x40), VirtAddr::new(0xffff_ea00_0000_0040));
        assert_eq!(v.checked_offset(0), Some(v));
        assert_eq!(
            VirtAddr::new(u64::MAX - 1).checked_offset(1),
            Some(VirtAddr::new(u64::MAX))
        );
        assert_eq!(v.offset(0x40).distance_from(v), 0x40);
        assert_eq!(v.distance_from(v), 0);
        assert_eq!(v.as_u64(), 0xffff_ea00_0000_0000);
        // is_aligned is exact both ways, at 1 and at a larger power of two.
        assert!(VirtAddr::new(0x3000).is_aligned(0x1000));
        assert!(!VirtAddr::new(0x3001).is_aligned(0x1000));
        assert!(!VirtAddr::new(0x800).is_aligned(0x1000));
        assert!(VirtAddr::new(0x3001).is_aligned(1));
        assert_eq!(
            VirtAddr::new(0x1fff).align_down(0x1000),
            VirtAddr::new(0x1000)
        );
        assert_eq!(
            VirtAddr::new(0x2000).align_up(0x1000),
            VirtAddr::new(0x2000)
        );
        assert_eq!(
            VirtAddr::new(0x2001).align_up(0x1000),
            VirtAddr::new(0x3000)
        );
    }

    #[test]
    #[should_panic(expected = "virtual address overflow")]
    fn virt_addr_offset_past_the_top_panics() {
        let _ = VirtAddr::new(u64::MAX).offset(1);
    }

    #[test]
    #[should_panic(expected = "virtual address overflow")]
    fn virt_addr_align_up_past_the_top_panics() {
        let _ = VirtAddr::new(u64::MAX - 1).align_up(0x1000);
    }

    #[test]
    #[should_panic(expected = "virtual address distance from a later address")]
    fn virt_addr_distance_from_a_later_address_panics() {
        let _ = VirtAddr::new(1).distance_from(VirtAddr::new(2));
    }

    #[test]
    fn addr_end_from_an_aligned_start_and_an_end_before_or_on_the_boundary() {
        let pmd = 2 << 20;
        // An aligned start's next boundary is one whole span on, not the start itself.
        assert_eq!(
            VirtAddr::new(0).addr_end(pmd, VirtAddr::new(0x100_0000)),
            VirtAddr::new(0x20_0000)
        );
        // An end exactly on the boundary, one byte before it, and one byte after it.
        let a = VirtAddr::new(0x20_1000);
        assert_eq!(
            a.addr_end(pmd, VirtAddr::new(0x40_0000)),
            VirtAddr::new(0x40_0000)
        );
        assert_eq!(
            a.addr_end(pmd, VirtAddr::new(0x3f_ffff)),
            VirtAddr::new(0x3f_ffff)
        );
        assert_eq!(
            a.addr_end(pmd, VirtAddr::new(0x40_0001)),
            VirtAddr::new(0x40_0000)
        );
        // An end of 0 is the top of the address space: the boundary comes first.
        assert_eq!(a.addr_end(pmd, VirtAddr::new(0)), VirtAddr::new(0x40_0000));
    }

    #[test]
    fn order_counts_its_pages_and_refuses_past_max() {
        assert_eq!(Order::new(0).nr_pages(), 1);
        assert_eq!(Order::new(1).nr_pages(), 2);
        assert_eq!(Order::new(Order::MAX).nr_pages(), 1 << 40);
        assert_eq!(Order::default().get(), 0);
    }

    #[test]
    #[should_panic(expected = "compound order out of range")]
    fn order_past_max_panics() {
        let _ = Order::new(Order::MAX + 1);
    }

    #[test]
    fn byte_size_constructors_shift_by_their_unit() {
        // Each constructor is n << 10/20/30/40, and the constants are those powers.
        assert_eq!(ByteSize::kib(5).bytes(), 5 * 1024);
        assert_eq!(ByteSize::mib(5).bytes(), 5 * 1024 * 1024);
        assert_eq!(ByteSize::gib(5).bytes(), 5 * 1024 * 1024 * 1024);
        assert_eq!(ByteSize::tib(5).bytes(), 5 * 1024 * 1024 * 1024 * 1024);
        assert_eq!(
            [ByteSize::KIB, ByteSize::MIB, ByteSize::GIB, ByteSize::TIB],
            [1 << 10, 1 << 20, 1 << 30, 1 << 40]
        );
    }

    #[test]
    fn byte_size_arithmetic_and_multiples_are_exact() {
        assert_eq!(
            ByteSize::new(u64::MAX - 1).checked_add(ByteSize::new(1)),
            Some(ByteSize::new(u64::MAX))
        );
        assert_eq!(
            ByteSize::new(7).checked_sub(ByteSize::new(7)),
            Some(ByteSize::new(0))
        );
        assert_eq!(
            ByteSize::new(u64::MAX).checked_mul(1),
            Some(ByteSize::new(u64::MAX))
        );
        assert_eq!(
            ByteSize::new(0).checked_mul(u64::MAX),
            Some(ByteSize::new(0))
        );
        // is_multiple_of: exact, and never of a zero unit.
        assert!(ByteSize::gib(1).is_multiple_of(ByteSize::mib(2)));
        assert!(!ByteSize::mib(3).is_multiple_of(ByteSize::mib(2)));
        assert!(!ByteSize::mib(1).is_multiple_of(ByteSize::mib(2)));
        assert!(!ByteSize::mib(2).is_multiple_of(ByteSize::new(0)));
        assert!(ByteSize::new(0).is_multiple_of(ByteSize::mib(2)));
        // Rounding on and off a boundary.
        let four_k = ByteSize::kib(4);
        assert_eq!(ByteSize::kib(8).align_up(four_k), ByteSize::kib(8));
        assert_eq!(ByteSize::kib(8).align_down(four_k), ByteSize::kib(8));
        assert_eq!(ByteSize::new(4095).align_down(four_k), ByteSize::new(0));
        assert_eq!(
            ByteSize::new(4097).checked_align_up(four_k),
            Some(ByteSize::kib(8))
        );
    }

    #[test]
    #[should_panic(expected = "size overflow")]
    fn byte_size_plus_past_2_64_panics() {
        let _ = ByteSize::new(u64::MAX) + ByteSize::new(1);
    }

    #[test]
    #[should_panic(expected = "size underflow")]
    fn byte_size_minus_below_zero_panics() {
        let _ = ByteSize::new(1) - ByteSize::new(2);
    }

    #[test]
    #[should_panic(expected = "size overflow")]
    fn byte_size_align_up_past_2_64_panics() {
        let _ = ByteSize::new(u64::MAX).align_up(ByteSize::kib(4));
    }

    #[test]
    fn byte_size_prints_exact_strings_at_unit_boundaries() {
        // One byte below a unit stays in the smaller one; exactly one unit is "1 <unit>".
        assert_eq!(ByteSize::new(0).to_string(), "0 B");
        assert_eq!(ByteSize::new(1023).to_string(), "1023 B");
        assert_eq!(ByteSize::kib(1).to_string(), "1 KiB");
        assert_eq!(ByteSize::new(1536).to_string(), "1.50 KiB");
        assert_eq!(ByteSize::mib(1).to_string(), "1 MiB");
        assert_eq!(ByteSize::new(ByteSize::MIB - 1).to_string(), "1024.00 KiB");
        assert_eq!(ByteSize::gib(1).to_string(), "1 GiB");
        assert_eq!(ByteSize::tib(1).to_string(), "1 TiB");
        assert_eq!(ByteSize::tib(2048).to_string(), "2048 TiB");
        assert_eq!(
            ByteSize::new(3 * ByteSize::GIB + ByteSize::GIB / 4).to_string(),
            "3.25 GiB"
        );
        // short(): the exact ndctl suffix, else plain bytes.
        assert_eq!(ByteSize::kib(1).short(), "1K");
        assert_eq!(ByteSize::mib(1).short(), "1M");
        assert_eq!(ByteSize::new(1536).short(), "1536");
        assert_eq!(ByteSize::mib(1536).short(), "1536M");
        assert_eq!(ByteSize::new(0).short(), "0");
        assert_eq!(ByteSize::new(1023).short(), "1023");
    }

    #[test]
    fn addresses_print_exact_hex() {
        assert_eq!(Pfn::new(0).to_string(), "pfn 0x0");
        assert_eq!(Pfn::new(u64::MAX).to_string(), "pfn 0xffffffffffffffff");
        assert_eq!(PhysAddr::new(0).to_string(), "0x0");
        assert_eq!(VirtAddr::new(0x1000).to_string(), "0x1000");
    }

    #[test]
    fn parses_every_suffix_spelling_and_surrounding_space() {
        let p = |s: &str| s.parse::<ByteSize>().unwrap().bytes();
        assert_eq!(p(" 2M "), 2 << 20);
        assert_eq!(p("2 MiB"), 2 << 20);
        assert_eq!(p("3kb"), 3 << 10);
        assert_eq!(p("3b"), 3);
        assert_eq!(p("5MB"), 5 << 20);
        assert_eq!(p("6gb"), 6 << 30);
        assert_eq!(p("7tb"), 7 << 40);
        assert_eq!(p("1P"), 1 << 50);
        assert_eq!(p("1pib"), 1 << 50);
        assert_eq!(p("0"), 0);
        // The largest P that fits, and one past it.
        assert_eq!(p("16383P"), 16383 << 50);
        assert!(matches!(
            "16384P".parse::<ByteSize>(),
            Err(SizeParseError::Overflow(_))
        ));
        assert!(matches!(
            "18446744073709551616".parse::<ByteSize>(),
            Err(SizeParseError::Overflow(_))
        ));
        assert_eq!("   ".parse::<ByteSize>(), Err(SizeParseError::Empty));
    }

    #[test]
    fn serialises_as_plain_numbers() {
        // Reports carry pfns, addresses and sizes as JSON numbers, not objects.
        assert_eq!(serde_json::to_string(&Pfn::new(42)).unwrap(), "42");
        assert_eq!(serde_json::to_string(&PhysAddr::new(4096)).unwrap(), "4096");
        assert_eq!(serde_json::to_string(&ByteSize::kib(2)).unwrap(), "2048");
        assert_eq!(
            serde_json::from_str::<ByteSize>("2048").unwrap(),
            ByteSize::kib(2)
        );
    }
}
