//! Units that cannot be mixed: page frame numbers, physical and virtual addresses, compound
//! orders and byte sizes.
//!
//! Most bugs in this field are unit mix-ups (pfn vs index vs byte, head vs tail), so every
//! quantity that crosses a module boundary has its own type. Conversions that depend on the
//! page size go through [`crate::arch::Geometry`].

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A physical page frame number (`pfn` in the kernel): physical address >> PAGE_SHIFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pfn(pub u64);

impl Pfn {
    /// The frame `n` frames after this one.
    #[must_use]
    pub const fn add(self, n: u64) -> Pfn {
        Pfn(self.0 + n)
    }

    /// Frames from `earlier` to `self`.
    #[must_use]
    pub const fn distance_from(self, earlier: Pfn) -> u64 {
        self.0 - earlier.0
    }

    /// True if the pfn is a multiple of `n` frames.
    #[must_use]
    pub const fn is_aligned(self, n: u64) -> bool {
        self.0.is_multiple_of(n)
    }
}

impl fmt::Display for Pfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pfn {:#x}", self.0)
    }
}

/// A simulated physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct PhysAddr(pub u64);

impl fmt::Display for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Add<ByteSize> for PhysAddr {
    type Output = PhysAddr;
    fn add(self, rhs: ByteSize) -> PhysAddr {
        PhysAddr(self.0 + rhs.0)
    }
}

impl Sub for PhysAddr {
    type Output = ByteSize;
    fn sub(self, rhs: PhysAddr) -> ByteSize {
        ByteSize(self.0 - rhs.0)
    }
}

/// A simulated kernel virtual address. A `struct page *` is one of these (see
/// [`crate::mm::page::PagePtr`]): dereferencing it walks the kernel page tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtAddr(pub u64);

impl VirtAddr {
    /// The address `bytes` further on.
    #[must_use]
    pub const fn offset(self, bytes: u64) -> VirtAddr {
        VirtAddr(self.0.wrapping_add(bytes))
    }
}

impl fmt::Display for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A compound order: a compound page spans `1 << order` base pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Order(pub u32);

impl Order {
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
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const KIB: u64 = 1 << 10;
    pub const MIB: u64 = 1 << 20;
    pub const GIB: u64 = 1 << 30;
    pub const TIB: u64 = 1 << 40;

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

    /// True if this size is a whole multiple of `unit`.
    #[must_use]
    pub const fn is_multiple_of(self, unit: ByteSize) -> bool {
        unit.0 != 0 && self.0.is_multiple_of(unit.0)
    }

    /// Rounded down to a multiple of `unit` (a power of two).
    #[must_use]
    pub const fn align_down(self, unit: ByteSize) -> ByteSize {
        ByteSize(self.0 & !(unit.0 - 1))
    }

    /// Rounded up to a multiple of `unit` (a power of two).
    #[must_use]
    pub const fn align_up(self, unit: ByteSize) -> ByteSize {
        ByteSize((self.0 + unit.0 - 1) & !(unit.0 - 1))
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
}
