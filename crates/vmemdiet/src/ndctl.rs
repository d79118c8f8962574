//! What `ndctl create-namespace` accepts before the kernel sees anything (`pmem/ndctl`:
//! `util/size.c` `__parse_size64`, `ndctl/namespace.c` `validate_namespace_options`), and the
//! command line that creates a planned namespace. The kernel's own rules for what a namespace
//! then yields are in [`crate::drivers::nd_pfn`].

use std::fmt;

use crate::addr::ByteSize;
use crate::arch::{Geometry, KernelVersion};
use crate::drivers::dax::{aligns_text, valid_aligns, MapMode};

/// ndctl refuses smaller fsdax/devdax namespaces ("'--size=' must be >= 16MiB", to match the
/// kernel's restriction, `validate_namespace_options`).
pub const MIN_NAMESPACE: ByteSize = ByteSize::mib(16);

/// `MEMREMAP_COMPAT_ALIGN_MAX` (`drivers/nvdimm/region_devs.c`): the default region align,
/// the largest `memremap_compat_align()` of any arch (ppc64's 16 MiB) so that namespaces move
/// between machines.
pub const MEMREMAP_COMPAT_ALIGN_MAX: ByteSize = ByteSize::mib(16);

/// A `--size` as ndctl reads it: the bytes, and the unit of its suffix (`units` of
/// `__parse_size64`), in which ndctl words its size suggestions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdctlSize {
    pub bytes: ByteSize,
    /// 1 (no suffix), 1 KiB, 1 MiB, 1 GiB or 1 TiB.
    pub units: u64,
    /// What the user typed.
    pub text: String,
}

impl fmt::Display for NdctlSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Errors of ndctl's option validation, each with ndctl's own wording where it has one, the
/// value given and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdctlError {
    #[error("'{0}' is not a size as ndctl parses it: a number (decimal, 0x hex, or octal with a leading 0) with one optional suffix k, m, g or t (binary), e.g. 16G, 0x400000000; vmemdiet also takes KiB, MiB, GiB, TiB")]
    Parse(String),
    #[error("'{0}' is too large: sizes must fit in 64 bits of bytes (below 16 EiB)")]
    Overflow(String),
    #[error("unsupported align: {given}; the kernel offers {valid} on {arch} (nd_pfn_supported_alignments)")]
    UnsupportedAlign {
        given: String,
        valid: String,
        arch: &'static str,
    },
    /// ndctl: "%s: align setting is %#lx size %#llx is misaligned".
    #[error("region0: align setting is {:#x} size {:#x} is misaligned (--size={given}); nearest valid sizes: {down} or {up}", region_align.bytes(), size.bytes())]
    RegionMisaligned {
        given: String,
        size: ByteSize,
        region_align: ByteSize,
        down: String,
        up: String,
    },
    /// ndctl: "'--size=' must align to interleave-width: %d and alignment: %ld\ndid you
    /// intend --size=%lld%s?", on one line.
    #[error("'--size={given}' must align to interleave-width: {ways} and alignment: {}; did you intend --size={suggestion}?", align.bytes())]
    SizeMisaligned {
        given: String,
        ways: u32,
        align: ByteSize,
        suggestion: String,
    },
    /// ndctl: "'--size=' must be >= 16MiB for '%s' mode".
    #[error(
        "'--size={given}' must be >= 16MiB for 'devdax' mode; the smallest valid size is {min}"
    )]
    TooSmall { given: String, min: String },
    #[error("--interleave-ways {0}: give 1 or more")]
    Ways(u32),
    #[error("--region-align {}: give the interleave ways ({ways}) times a power of two of at least the page size (4K), e.g. {}", align.short(), ByteSize::mib(16).checked_mul(u64::from(*ways)).map_or_else(|| "16M".into(), ByteSize::short))]
    RegionAlign { align: ByteSize, ways: u32 },
}

/// `__parse_size64` (`util/size.c`): `strtoull(str, &end, 0)`, so `0x…` is hex and a leading
/// `0` octal, then at most one suffix `k`/`m`/`g`/`t` (either case, binary) and nothing after
/// it. Unlike `strtoull`, leading blanks and signs are refused (ndctl would read `-1` as
/// 2^64 − 1), and overflow is caught exactly rather than by ndctl's `val < check`.
#[doc(alias = "__parse_size64")]
pub fn parse_size64(s: &str) -> Result<NdctlSize, NdctlError> {
    let bad = || NdctlError::Parse(s.to_string());
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let (num, suffix) = digits.split_at(end);
    // "0" alone, or "0k", is a valid zero; "0x" with no digits is not a number.
    if num.is_empty() && !(radix == 8 && s.starts_with('0')) {
        return Err(bad());
    }
    let val = if num.is_empty() {
        0
    } else {
        u64::from_str_radix(num, radix).map_err(|_| NdctlError::Overflow(s.to_string()))?
    };
    let units: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        "t" | "T" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = val
        .checked_mul(units)
        .filter(|&b| b != u64::MAX)
        .ok_or_else(|| NdctlError::Overflow(s.to_string()))?;
    Ok(NdctlSize {
        bytes: ByteSize::new(bytes),
        units,
        text: s.to_string(),
    })
}

/// A `--size` argument: ndctl's syntax ([`parse_size64`]), or vmemdiet's spelled-out binary
/// suffixes (`1TiB`, `64GiB`), whose unit then words the suggestions.
pub fn parse_size_arg(s: &str) -> Result<NdctlSize, NdctlError> {
    match parse_size64(s) {
        Ok(n) => Ok(n),
        Err(NdctlError::Parse(_)) => {
            let lower = s.to_ascii_lowercase();
            let units = [
                ("kib", 1u64 << 10),
                ("mib", 1 << 20),
                ("gib", 1 << 30),
                ("tib", 1 << 40),
            ]
            .iter()
            .find(|(suf, _)| lower.ends_with(suf))
            .map(|&(_, u)| u)
            .ok_or_else(|| NdctlError::Parse(s.to_string()))?;
            let bytes = s.parse::<ByteSize>().map_err(|e| match e {
                crate::addr::SizeParseError::Overflow(_) => NdctlError::Overflow(s.to_string()),
                _ => NdctlError::Parse(s.to_string()),
            })?;
            Ok(NdctlSize {
                bytes,
                units,
                text: s.to_string(),
            })
        }
        Err(e) => Err(e),
    }
}

/// The nvdimm region a namespace is carved from: its `align` attribute and interleave ways
/// (mappings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub align: ByteSize,
    pub ways: u32,
}

impl Region {
    /// A region of `ways` mappings with the kernel's default align (`default_align`,
    /// `drivers/nvdimm/region_devs.c`): `MEMREMAP_COMPAT_ALIGN_MAX`, or the page size for a
    /// region smaller than that, multiplied by the ways when it does not divide by them.
    #[doc(alias = "default_align")]
    pub fn with_default_align(
        g: &Geometry,
        ways: u32,
        region_size: ByteSize,
    ) -> Result<Region, NdctlError> {
        if ways == 0 {
            return Err(NdctlError::Ways(ways));
        }
        let mut align = if region_size < MEMREMAP_COMPAT_ALIGN_MAX {
            ByteSize::new(g.page_size())
        } else {
            MEMREMAP_COMPAT_ALIGN_MAX
        };
        if align.bytes() % u64::from(ways) != 0 {
            align = ByteSize::new(align.bytes() * u64::from(ways));
        }
        Ok(Region { align, ways })
    }

    /// A region with an explicit align (`echo … > regionX/align`), checked as `align_store`
    /// does: the align divided by the mappings is a power of two of at least a page.
    pub fn with_align(g: &Geometry, ways: u32, align: ByteSize) -> Result<Region, NdctlError> {
        if ways == 0 {
            return Err(NdctlError::Ways(ways));
        }
        let w = u64::from(ways);
        let per = align.bytes() / w;
        if !align.bytes().is_multiple_of(w) || !per.is_power_of_two() || per < g.page_size() {
            return Err(NdctlError::RegionAlign { align, ways });
        }
        Ok(Region { align, ways })
    }

    /// The granule of namespace sizes at dax `align`: a multiple of the region align and of
    /// `align × ways` (ndctl), and of `memremap_compat_align()` (the model keeps the end of a
    /// namespace on it, so `end_trunc` only comes from a misaligned start); their least common
    /// multiple.
    #[must_use]
    pub fn step(&self, g: &Geometry, align: ByteSize) -> ByteSize {
        let lcm = |a: u64, b: u64| (a / gcd(a, b)).saturating_mul(b);
        let a = align.bytes().saturating_mul(u64::from(self.ways));
        let compat = crate::drivers::nd_pfn::memremap_compat_align(g).bytes();
        ByteSize::new(lcm(lcm(a, self.align.bytes()), compat))
    }

    /// The smallest size ndctl accepts at `align`: 16 MiB rounded up to [`step`](Self::step).
    #[must_use]
    pub fn min_size(&self, g: &Geometry, align: ByteSize) -> ByteSize {
        let step = self.step(g, align).bytes();
        ByteSize::new(MIN_NAMESPACE.bytes().div_ceil(step).saturating_mul(step))
    }
}

const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `size` in the given `units`, with ndctl's suffix: `1040M` (exact), else bytes.
fn in_units(size: u64, units: u64) -> String {
    let suffix = match units {
        1 => "",
        0x400 => "K",
        0x10_0000 => "M",
        0x4000_0000 => "G",
        _ => "T",
    };
    if size.is_multiple_of(units) {
        format!("{}{suffix}", size / units)
    } else {
        size.to_string()
    }
}

/// `validate_namespace_options` for a new devdax namespace of `size` at dax `align` in
/// `region`, in ndctl's order: the align is one the kernel offers
/// (`nd_pfn_supported_alignments`: page, PMD, PUD), the size is a multiple of the region's
/// align, then of `align × ways` (with ndctl's suggestion, rounded up in the units given),
/// then at least 16 MiB.
pub fn validate_namespace_options(
    g: &Geometry,
    release: KernelVersion,
    size: &NdctlSize,
    align: ByteSize,
    region: &Region,
) -> Result<(), NdctlError> {
    if !valid_aligns(g, release).contains(&align) {
        return Err(NdctlError::UnsupportedAlign {
            given: align.short(),
            valid: aligns_text(g, release),
            arch: g.name,
        });
    }
    let s = size.bytes.bytes();
    let ra = region.align.bytes();
    if !s.is_multiple_of(ra) {
        let down = s / ra * ra;
        let up = (s / ra + 1).checked_mul(ra);
        return Err(NdctlError::RegionMisaligned {
            given: size.text.clone(),
            size: size.bytes,
            region_align: region.align,
            down: if down == 0 {
                "none smaller".into()
            } else {
                in_units(down, size.units)
            },
            up: up.map_or_else(|| "none larger".into(), |up| in_units(up, size.units)),
        });
    }
    let ways = u64::from(region.ways);
    if !s.is_multiple_of(align.bytes().saturating_mul(ways)) {
        // "Make the recommendation in the units of the '--size' option".
        let size_align = size.units.max(align.bytes()).saturating_mul(ways);
        let suggestion = (s / size_align + 1)
            .checked_mul(size_align)
            .map(|up| up / size.units * size.units);
        return Err(NdctlError::SizeMisaligned {
            given: size.text.clone(),
            ways: region.ways,
            align,
            suggestion: suggestion.map_or_else(
                || "none (past 2^64 bytes)".into(),
                |up| in_units(up, size.units),
            ),
        });
    }
    if size.bytes < MIN_NAMESPACE {
        return Err(NdctlError::TooSmall {
            given: size.text.clone(),
            min: region.min_size(g, align).short(),
        });
    }
    Ok(())
}

/// The `ndctl create-namespace` command line that creates a devdax namespace of `size` at
/// `align` with its memmap in `map`.
#[must_use]
pub fn create_namespace_command(size: ByteSize, align: ByteSize, map: MapMode) -> String {
    format!(
        "ndctl create-namespace --mode=devdax --size={} --align={} --map={map}",
        size.short(),
        align.short()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    fn size(s: &str) -> NdctlSize {
        parse_size_arg(s).unwrap()
    }

    #[test]
    fn parses_sizes_as_ndctl_does() {
        assert_eq!(parse_size64("16G").unwrap().bytes, ByteSize::gib(16));
        assert_eq!(parse_size64("16g").unwrap().units, 1 << 30);
        assert_eq!(
            parse_size64("0x400000000").unwrap().bytes,
            ByteSize::gib(16)
        );
        assert_eq!(parse_size64("0x10M").unwrap().bytes, ByteSize::mib(16));
        // strtoull base 0: a leading 0 is octal.
        assert_eq!(parse_size64("010").unwrap().bytes, ByteSize::new(8));
        assert_eq!(parse_size64("0").unwrap().bytes, ByteSize::new(0));
        assert_eq!(parse_size64("4096").unwrap().units, 1);
        for bad in [
            "", "16GiB", "1.5G", "G", "0x", "-1", " 16G", "16G ", "09", "16Q", "2MB",
        ] {
            assert!(
                matches!(parse_size64(bad), Err(NdctlError::Parse(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_size64("16777216T"),
            Err(NdctlError::Overflow(_))
        ));
        assert!(matches!(
            parse_size64("0xffffffffffffffff"),
            Err(NdctlError::Overflow(_))
        ));
        // vmemdiet's spelled-out suffixes still work, with their unit.
        assert_eq!(size("1TiB").bytes, ByteSize::tib(1));
        assert_eq!(size("64GiB").units, 1 << 30);
        assert!(parse_size_arg("1TiBx").is_err());
    }

    #[test]
    fn suggests_what_ndctl_suggests() {
        let g = &X86_64;
        let r = Region::with_default_align(g, 1, ByteSize::tib(1)).unwrap();
        assert_eq!(r.align, ByteSize::mib(16));
        // 1040M is 16M-aligned but not 1G-aligned: ndctl says 2048M.
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("1040M"),
            ByteSize::gib(1),
            &r,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "'--size=1040M' must align to interleave-width: 1 and alignment: 1073741824; did you intend --size=2048M?"
        );
        // In the units given: bytes stay bytes, G stays G.
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("1090519040"),
            ByteSize::gib(1),
            &r,
        )
        .unwrap_err();
        assert!(e.to_string().ends_with("--size=2147483648?"), "{e}");
        // ndctl's LKML example: 6 ways, 2M align, 128m: region align 96M refuses it first.
        let r6 = Region::with_default_align(g, 6, ByteSize::tib(6)).unwrap();
        assert_eq!(r6.align, ByteSize::mib(96));
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("128m"),
            ByteSize::mib(2),
            &r6,
        )
        .unwrap_err();
        assert!(matches!(e, NdctlError::RegionMisaligned { .. }), "{e}");
        assert!(e.to_string().contains("96M or 192M"), "{e}");
        // With a 24K region align (6 × 4K) the ways check speaks, rounding up to 12M.
        let r6 = Region::with_align(g, 6, ByteSize::kib(24)).unwrap();
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("126m"),
            ByteSize::mib(2),
            &r6,
        )
        .unwrap_err();
        assert!(
            e.to_string().ends_with("did you intend --size=132M?"),
            "{e}"
        );
        // Below 16 MiB.
        let r4k = Region::with_align(g, 1, ByteSize::kib(4)).unwrap();
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("8M"),
            ByteSize::mib(2),
            &r4k,
        )
        .unwrap_err();
        assert!(e.to_string().contains("must be >= 16MiB"), "{e}");
        assert!(e.to_string().ends_with("16M"), "{e}");
        // Aligns the arch does not offer.
        let e = validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("1G"),
            ByteSize::kib(64),
            &r,
        )
        .unwrap_err();
        assert!(e.to_string().contains("4K, 2M, 1G"), "{e}");
        assert!(validate_namespace_options(
            g,
            KernelVersion::new(6, 15),
            &size("16G"),
            ByteSize::gib(1),
            &r
        )
        .is_ok());
    }

    #[test]
    fn region_steps_and_minimums() {
        let g = &X86_64;
        let r = Region::with_default_align(g, 1, ByteSize::tib(1)).unwrap();
        assert_eq!(r.step(g, ByteSize::kib(4)), ByteSize::mib(16));
        assert_eq!(r.step(g, ByteSize::gib(1)), ByteSize::gib(1));
        assert_eq!(r.min_size(g, ByteSize::mib(2)), ByteSize::mib(16));
        let r3 = Region::with_default_align(g, 3, ByteSize::tib(3)).unwrap();
        assert_eq!(r3.align, ByteSize::mib(48));
        assert_eq!(r3.step(g, ByteSize::gib(1)), ByteSize::gib(3));
        // A 4K region align still steps by memremap_compat_align().
        let r4k = Region::with_align(g, 1, ByteSize::kib(4)).unwrap();
        assert_eq!(r4k.step(g, ByteSize::kib(4)), ByteSize::mib(2));
        // A tiny region defaults to the page size.
        let small = Region::with_default_align(g, 1, ByteSize::mib(8)).unwrap();
        assert_eq!(small.align, ByteSize::kib(4));
        assert!(Region::with_default_align(g, 0, ByteSize::tib(1)).is_err());
        assert!(Region::with_align(g, 1, ByteSize::mib(3)).is_err());
        assert!(Region::with_align(g, 6, ByteSize::mib(2)).is_err());
        assert!(Region::with_align(g, 6, ByteSize::mib(12)).is_ok());
    }

    #[test]
    fn the_command_line_is_ndctls() {
        assert_eq!(
            create_namespace_command(ByteSize::gib(16), ByteSize::gib(1), MapMode::Mem),
            "ndctl create-namespace --mode=devdax --size=16G --align=1G --map=mem"
        );
        // Every size the command prints parses back to itself.
        for s in [
            ByteSize::mib(1040),
            ByteSize::tib(3),
            ByteSize::new(0x1234_5000),
        ] {
            let cmd = create_namespace_command(s, ByteSize::mib(2), MapMode::Dev);
            let arg = cmd
                .split("--size=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            assert_eq!(parse_size64(arg).unwrap().bytes, s);
        }
    }
}
