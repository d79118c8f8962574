//! The seeds' published figures, as data: what each measured, its value in the unit the source
//! printed, and where it was published (a seed document in `shared/seeds/` and the words that
//! state it, or the kernel patch mail the kernel brief cites). The report puts ours beside
//! these; keeping them in one table keeps every figure next to its source, so a reader can
//! check it, and a figure cannot drift between two copies.

use std::fmt;

/// A figure of the seeds, by a stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedKey {
    /// struct page cost per TiB of device memory, 4 KiB pages (before compound pagemaps).
    MemmapPerTibBefore,
    /// The same with compound pagemaps, 2 MiB align.
    MemmapPerTib2m,
    /// The same with compound pagemaps, 1 GiB align (the merged series' figure).
    MemmapPerTib1g,
    /// NVDIMM namespace bootstrap, before.
    BootstrapBefore,
    /// NVDIMM namespace bootstrap, 2 MiB compound pagemap.
    Bootstrap2m,
    /// NVDIMM namespace bootstrap, 1 GiB compound pagemap.
    Bootstrap1g,
    /// `get_user_pages_fast` of a devdax mapping, before.
    GupFastBefore,
    /// `get_user_pages_fast`, 2 MiB compound pagemap.
    GupFast2m,
    /// `get_user_pages_fast`, 1 GiB compound pagemap.
    GupFast1g,
    /// `pin_user_pages_fast` of a devdax mapping, before.
    PinFastBefore,
    /// `pin_user_pages_fast`, 2 MiB compound pagemap.
    PinFast2m,
    /// `pin_user_pages_fast`, 1 GiB compound pagemap.
    PinFast1g,
    /// `unpin_user_pages` of 16 GiB, before the 5.12 unpin series.
    UnpinBefore,
    /// `unpin_user_pages` of 16 GiB, with it.
    UnpinAfter,
    /// MR reg+dereg per round over device-dax, before.
    MrDevdaxBefore,
    /// MR reg+dereg per round over device-dax, after.
    MrDevdaxAfter,
    /// MR reg+dereg per round over hugetlbfs, before.
    MrHugetlbBefore,
    /// MR reg+dereg per round over hugetlbfs, after.
    MrHugetlbAfter,
    /// Memmap of 1 TiB of HugeTLB pages without HVO.
    HvoPerTibBefore,
    /// Memmap of 1 TiB of 2 MiB HugeTLB pages with HVO keeping one vmemmap page (5.18+).
    HvoPerTib2m,
}

impl SeedKey {
    /// The stable name (kebab case), as report.md lists it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            SeedKey::MemmapPerTibBefore => "memmap-per-tib-before",
            SeedKey::MemmapPerTib2m => "memmap-per-tib-2m",
            SeedKey::MemmapPerTib1g => "memmap-per-tib-1g",
            SeedKey::BootstrapBefore => "bootstrap-before",
            SeedKey::Bootstrap2m => "bootstrap-2m",
            SeedKey::Bootstrap1g => "bootstrap-1g",
            SeedKey::GupFastBefore => "gup-fast-before",
            SeedKey::GupFast2m => "gup-fast-2m",
            SeedKey::GupFast1g => "gup-fast-1g",
            SeedKey::PinFastBefore => "pin-fast-before",
            SeedKey::PinFast2m => "pin-fast-2m",
            SeedKey::PinFast1g => "pin-fast-1g",
            SeedKey::UnpinBefore => "unpin-before",
            SeedKey::UnpinAfter => "unpin-after",
            SeedKey::MrDevdaxBefore => "mr-devdax-before",
            SeedKey::MrDevdaxAfter => "mr-devdax-after",
            SeedKey::MrHugetlbBefore => "mr-hugetlb-before",
            SeedKey::MrHugetlbAfter => "mr-hugetlb-after",
            SeedKey::HvoPerTibBefore => "hvo-per-tib-before",
            SeedKey::HvoPerTib2m => "hvo-per-tib-2m",
        }
    }
}

/// The unit a source printed a figure in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Us,
    Ms,
    MiB,
    GiB,
}

impl Unit {
    /// The unit's symbol.
    #[must_use]
    pub const fn symbol(self) -> &'static str {
        match self {
            Unit::Us => "us",
            Unit::Ms => "ms",
            Unit::MiB => "MiB",
            Unit::GiB => "GiB",
        }
    }

    /// The unit as a dimension (0 time, 1 bytes) and its size in the dimension's base unit.
    const fn scale(self) -> (u8, f64) {
        match self {
            Unit::Us => (0, 1.0),
            Unit::Ms => (0, 1e3),
            Unit::MiB => (1, 1.0),
            Unit::GiB => (1, 1024.0),
        }
    }
}

/// Where a figure was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A seed document in `shared/seeds/` and the words in it that state the figure.
    Seed {
        file: &'static str,
        quote: &'static str,
    },
    /// A kernel patch mail or document outside the seeds, and the section of the kernel brief
    /// (`shared/design/kernel-brief.md`) that quotes it.
    Kernel {
        reference: &'static str,
        brief: &'static str,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Seed { file, quote } => write!(f, "seeds/{file}: \"{quote}\""),
            Source::Kernel { reference, brief } => write!(f, "{reference} (kernel brief {brief})"),
        }
    }
}

/// One published figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedFigure {
    pub key: SeedKey,
    /// What was measured, and how.
    pub what: &'static str,
    /// The value as the source printed it (`~75k us` is 75 000 in [`Unit::Us`]).
    pub value: f64,
    pub unit: Unit,
    pub source: Source,
}

impl SeedFigure {
    /// The value converted to `unit`, or `None` if `unit` measures something else.
    #[must_use]
    pub fn value_in(&self, unit: Unit) -> Option<f64> {
        let ((from_dim, from), (to_dim, to)) = (self.unit.scale(), unit.scale());
        (from_dim == to_dim).then(|| self.value * from / to)
    }
}

/// The figure of `key`.
#[must_use]
pub fn seed(key: SeedKey) -> &'static SeedFigure {
    // SEEDS is indexed by key, as the assertion below checks at compile time.
    &SEEDS[key as usize]
}

const RFC: &str = "000_58ee0360e004a9b6.txt";

/// Every figure, in the order of [`SeedKey`].
pub static SEEDS: [SeedFigure; 20] = [
    SeedFigure {
        key: SeedKey::MemmapPerTibBefore,
        what: "struct page cost per 1 TiB of device memory, 4 KiB pages",
        value: 16.0,
        unit: Unit::GiB,
        source: Source::Seed {
            file: RFC,
            quote: "with 2M pages we lose 4G instead of 16G",
        },
    },
    SeedFigure {
        key: SeedKey::MemmapPerTib2m,
        what: "struct page cost per 1 TiB, compound pagemap at 2M",
        value: 4.0,
        unit: Unit::GiB,
        source: Source::Seed {
            file: RFC,
            quote: "with 2M pages we lose 4G instead of 16G",
        },
    },
    SeedFigure {
        key: SeedKey::MemmapPerTib1g,
        what: "struct page cost per 1 TiB, compound pagemap at 1G, data pages plus PTE tables (the RFC's 8MB counted data pages only)",
        value: 40.0,
        unit: Unit::MiB,
        source: Source::Kernel {
            reference: "[PATCH v9 0/5] sparse-vmemmap: memory savings for compound devmaps (device-dax), lore 20220420155310.9712-1-joao.m.martins@oracle.com",
            brief: "§1.5, §8 #3",
        },
    },
    SeedFigure {
        key: SeedKey::BootstrapBefore,
        what: "NVDIMM namespace bootstrap, emulated NVDIMMs, next-20201208",
        value: 750.0,
        unit: Unit::Ms,
        source: Source::Seed {
            file: RFC,
            quote: "NVDIMM namespace bootstrap improves from ~750ms to ~190ms/<=1ms on emulated NVDIMMs with 2M and 1G respectivally",
        },
    },
    SeedFigure {
        key: SeedKey::Bootstrap2m,
        what: "NVDIMM namespace bootstrap, 2M compound pagemap",
        value: 190.0,
        unit: Unit::Ms,
        source: Source::Seed {
            file: RFC,
            quote: "NVDIMM namespace bootstrap improves from ~750ms to ~190ms/<=1ms on emulated NVDIMMs with 2M and 1G respectivally",
        },
    },
    SeedFigure {
        key: SeedKey::Bootstrap1g,
        what: "NVDIMM namespace bootstrap, 1G compound pagemap (at most)",
        value: 1.0,
        unit: Unit::Ms,
        source: Source::Seed {
            file: RFC,
            quote: "NVDIMM namespace bootstrap improves from ~750ms to ~190ms/<=1ms on emulated NVDIMMs with 2M and 1G respectivally",
        },
    },
    SeedFigure {
        key: SeedKey::GupFastBefore,
        what: "gup_test -u (get_user_pages_fast) of a devdax mapping, size not stated (16 GiB assumed)",
        value: 75_000.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(get_user_pages_fast 1G;2M page size) ~75k us -> ~3.2k ; ~5.2k us",
        },
    },
    SeedFigure {
        key: SeedKey::GupFast2m,
        what: "gup_test -u, 2M compound pagemap",
        value: 5_200.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(get_user_pages_fast 1G;2M page size) ~75k us -> ~3.2k ; ~5.2k us",
        },
    },
    SeedFigure {
        key: SeedKey::GupFast1g,
        what: "gup_test -u, 1G compound pagemap",
        value: 3_200.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(get_user_pages_fast 1G;2M page size) ~75k us -> ~3.2k ; ~5.2k us",
        },
    },
    SeedFigure {
        key: SeedKey::PinFastBefore,
        what: "gup_test -a (pin_user_pages_fast) of a devdax mapping, size not stated (16 GiB assumed)",
        value: 125_000.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(pin_user_pages_fast 1G;2M page size) ~125k us -> ~3.4k ; ~5.5k us",
        },
    },
    SeedFigure {
        key: SeedKey::PinFast2m,
        what: "gup_test -a, 2M compound pagemap",
        value: 5_500.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(pin_user_pages_fast 1G;2M page size) ~125k us -> ~3.4k ; ~5.5k us",
        },
    },
    SeedFigure {
        key: SeedKey::PinFast1g,
        what: "gup_test -a, 1G compound pagemap",
        value: 3_400.0,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "(pin_user_pages_fast 1G;2M page size) ~125k us -> ~3.4k ; ~5.5k us",
        },
    },
    SeedFigure {
        key: SeedKey::UnpinBefore,
        what: "unpin_user_pages (gup_test put) of 16 GiB of hugetlbfs 1G pages, gup_test -m 16384 -r 10 -a -S -n 512 -w, before",
        value: 87_600.0,
        unit: Unit::Us,
        source: Source::Kernel {
            reference: "[PATCH v4 2/4] mm/gup: decrement head page once for group of subpages, lore 20210212130843.13865-3-joao.m.martins@oracle.com (seeds/002_80a006b39edcb6cf.txt: \"unpin_user_pages() for hugetlbfs and THP improves ~3x\")",
            brief: "§8 #10",
        },
    },
    SeedFigure {
        key: SeedKey::UnpinAfter,
        what: "the same with the head page decremented once per group of subpages",
        value: 27_500.0,
        unit: Unit::Us,
        source: Source::Kernel {
            reference: "[PATCH v4 2/4] mm/gup: decrement head page once for group of subpages, lore 20210212130843.13865-3-joao.m.martins@oracle.com (seeds/002_80a006b39edcb6cf.txt: \"unpin_user_pages() for hugetlbfs and THP improves ~3x\")",
            brief: "§8 #10",
        },
    },
    SeedFigure {
        key: SeedKey::MrDevdaxBefore,
        what: "MR reg/unreg loop for 5 s over device-dax, per round (159 rounds in 5.027 s)",
        value: 31_617.923,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "Before: 159 rounds in 5.027 sec: 31617.923 usec / round (device-dax)",
        },
    },
    SeedFigure {
        key: SeedKey::MrDevdaxAfter,
        what: "the same after the series (305 rounds in 5.010 s)",
        value: 16_426.047,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "After: 305 rounds in 5.010 sec: 16426.047 usec / round (device-dax)",
        },
    },
    SeedFigure {
        key: SeedKey::MrHugetlbBefore,
        what: "MR reg/unreg loop for 5 s over hugetlbfs, per round (466 rounds in 5.009 s)",
        value: 10_748.456,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "466 rounds in 5.009 sec: 10748.456 usec / round (hugetlbfs)",
        },
    },
    SeedFigure {
        key: SeedKey::MrHugetlbAfter,
        what: "the same after the series (1073 rounds in 5.004 s)",
        value: 4_663.622,
        unit: Unit::Us,
        source: Source::Seed {
            file: RFC,
            quote: "1073 rounds in 5.004 sec: 4663.622 usec / round (hugetlbfs)",
        },
    },
    SeedFigure {
        key: SeedKey::HvoPerTibBefore,
        what: "memmap of 1 TiB of HugeTLB pages without HVO (8 vmemmap pages per 2 MiB page)",
        value: 16.0,
        unit: Unit::GiB,
        source: Source::Kernel {
            reference: "Documentation/mm/vmemmap_dedup.rst (5.18+), mm/hugetlb_vmemmap.c",
            brief: "§1.4, §1.5",
        },
    },
    SeedFigure {
        key: SeedKey::HvoPerTib2m,
        what: "the same with HVO keeping 1 of the 8 vmemmap pages of each 2 MiB page (5.18+)",
        value: 2.0,
        unit: Unit::GiB,
        source: Source::Kernel {
            reference: "Documentation/mm/vmemmap_dedup.rst (5.18+), mm/hugetlb_vmemmap.c (RESERVE_VMEMMAP_NR = 1)",
            brief: "§1.4, §1.5",
        },
    },
];

// `seed` indexes SEEDS by key: each entry must sit at its key's position.
const _: () = {
    let mut i = 0;
    while i < SEEDS.len() {
        assert!(SEEDS[i].key as usize == i, "SEEDS out of SeedKey order");
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_values_positive() {
        let mut names: Vec<&str> = SEEDS.iter().map(|s| s.key.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SEEDS.len());
        for s in &SEEDS {
            let n = s.key.name();
            assert!(n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(s.value > 0.0, "{n}");
            assert!(std::ptr::eq(seed(s.key), s));
        }
    }

    #[test]
    fn values_convert_within_a_dimension_only() {
        let gup = seed(SeedKey::GupFastBefore);
        assert_eq!(gup.value_in(Unit::Ms), Some(75.0));
        assert_eq!(gup.value_in(Unit::MiB), None);
        assert_eq!(
            seed(SeedKey::MemmapPerTibBefore).value_in(Unit::MiB),
            Some(16384.0)
        );
        assert_eq!(
            seed(SeedKey::MemmapPerTib1g).value_in(Unit::MiB),
            Some(40.0)
        );
    }

    #[test]
    fn seed_quotes_state_their_figures() {
        // A quote from a seed names the figure as the seed printed it.
        for (key, printed) in [
            (SeedKey::BootstrapBefore, "~750ms"),
            (SeedKey::Bootstrap2m, "~190ms"),
            (SeedKey::Bootstrap1g, "<=1ms"),
            (SeedKey::GupFastBefore, "~75k us"),
            (SeedKey::GupFast2m, "~5.2k"),
            (SeedKey::GupFast1g, "~3.2k"),
            (SeedKey::PinFastBefore, "~125k us"),
            (SeedKey::PinFast2m, "~5.5k"),
            (SeedKey::PinFast1g, "~3.4k"),
            (SeedKey::MrDevdaxBefore, "31617.923"),
            (SeedKey::MrDevdaxAfter, "16426.047"),
            (SeedKey::MrHugetlbBefore, "10748.456"),
            (SeedKey::MrHugetlbAfter, "4663.622"),
            (SeedKey::MemmapPerTibBefore, "16G"),
            (SeedKey::MemmapPerTib2m, "4G"),
        ] {
            let Source::Seed { quote, .. } = seed(key).source else {
                panic!("{} is from a seed", key.name());
            };
            assert!(quote.contains(printed), "{}: {quote}", key.name());
        }
    }

    #[test]
    fn units_print_their_symbols_and_convert_by_exact_factors() {
        assert_eq!(
            [Unit::Us, Unit::Ms, Unit::MiB, Unit::GiB].map(Unit::symbol),
            ["us", "ms", "MiB", "GiB"]
        );
        // 75 ms is 75 000 us; 16 GiB is 16 384 MiB and back.
        let gup = seed(SeedKey::GupFastBefore);
        assert_eq!(gup.value_in(Unit::Us), Some(75_000.0));
        assert_eq!(gup.value_in(Unit::GiB), None);
        let memmap = seed(SeedKey::MemmapPerTibBefore);
        assert_eq!(memmap.value_in(Unit::GiB), Some(16.0));
        assert_eq!(memmap.value_in(Unit::Ms), None);
        assert_eq!(
            seed(SeedKey::MemmapPerTib1g).value_in(Unit::GiB),
            Some(40.0 / 1024.0)
        );
    }

    #[test]
    fn sources_print_the_file_and_quote_or_the_reference_and_brief_section() {
        let s = Source::Seed {
            file: "a.txt",
            quote: "x 4G",
        };
        assert_eq!(s.to_string(), "seeds/a.txt: \"x 4G\"");
        let k = Source::Kernel {
            reference: "[PATCH] y",
            brief: "§1",
        };
        assert_eq!(k.to_string(), "[PATCH] y (kernel brief §1)");
        assert_eq!(SeedKey::HvoPerTib2m.name(), "hvo-per-tib-2m");
        assert_eq!(SeedKey::MemmapPerTibBefore.name(), "memmap-per-tib-before");
    }
}
