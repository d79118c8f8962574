//! Issue 13: every architecture's geometry, run for real. Golden numbers per arch come from the
//! kernel docs and Kconfig (brief §1.1, §1.6; `Documentation/arch/powerpc/vmemmap_dedup.rst`),
//! not from the code; the planner equals the simulation on every arch (INV-5), which builds
//! each geometry's page tables on the simulated machine.

use vmemdiet::addr::ByteSize;
use vmemdiet::arch::{Arch, ARCHES};
use vmemdiet::drivers::dax::{valid_aligns, MapMode};
use vmemdiet::mm::profile::{Profile, ALL_PROFILES};
use vmemdiet::plan::{plan, PlanConfig, PlanError};
use vmemdiet::simulate::simulate;

fn cfg(arch: Arch, size: ByteSize, align: ByteSize, profile: Profile) -> PlanConfig {
    PlanConfig {
        arch,
        ..PlanConfig::new(size, align, MapMode::Mem, profile)
    }
}

fn memmap(arch: Arch, size: ByteSize, align: ByteSize, profile: Profile) -> u64 {
    plan(&cfg(arch, size, align, profile))
        .unwrap_or_else(|e| panic!("{arch} {size} {align}: {e}"))
        .memmap_bytes
}

const TIB: ByteSize = ByteSize::tib(1);

#[test]
fn one_tib_costs_what_the_kernel_docs_say_per_arch() {
    let (k64, m2, g1) = (ByteSize::kib(64), ByteSize::mib(2), ByteSize::gib(1));
    let p = Profile::V6_12;
    // ppc64 radix 64K: 2M compound = 32 struct pages < one vmemmap page, no dedup; 1G keeps
    // 2 of 16 vmemmap pages (vmemmap_dedup.rst).
    assert_eq!(memmap(Arch::Ppc64Radix64k, TIB, k64, p), 1 << 30);
    assert_eq!(memmap(Arch::Ppc64Radix64k, TIB, m2, p), 1 << 30);
    assert_eq!(memmap(Arch::Ppc64Radix64k, TIB, g1, p), 128 << 20);
    // ...but not before the 2023 series (≈6.6), which also brought PUD-sized THP.
    assert_eq!(
        memmap(Arch::Ppc64Radix4k, TIB, m2, Profile::V5_19),
        16 << 30
    );
    assert!(plan(&cfg(Arch::Ppc64Radix64k, TIB, g1, Profile::V5_19)).is_err());
    // ppc64 radix 4K behaves like x86.
    assert_eq!(memmap(Arch::Ppc64Radix4k, TIB, m2, p), 4 << 30);
    assert_eq!(memmap(Arch::Ppc64Radix4k, TIB, g1, p), 8 << 20);
    // ppc64 hash never deduplicates.
    assert_eq!(
        memmap(Arch::Ppc64Hash64k, TIB, ByteSize::mib(16), p),
        1 << 30
    );
    // arm64 does not select ARCH_WANT_OPTIMIZE_DAX_VMEMMAP.
    assert_eq!(memmap(Arch::Arm64_4k, TIB, m2, p), 16 << 30);
    assert_eq!(memmap(Arch::Arm64_4k, TIB, m2, Profile::V7_4), 16 << 30);
    assert_eq!(memmap(Arch::Arm64_16k, TIB, ByteSize::mib(32), p), 4 << 30);
    assert_eq!(memmap(Arch::Arm64_64k, TIB, ByteSize::mib(512), p), 1 << 30);
    // riscv deduplicates like x86 (6.11+).
    assert_eq!(memmap(Arch::Riscv64Sv48, TIB, m2, p), 4 << 30);
    assert_eq!(memmap(Arch::Riscv64Sv57, TIB, m2, p), 4 << 30);
    // A what-if: arm64 with the dedup Kconfig selected keeps 2 of 8 vmemmap pages.
    let what_if = Profile::V6_12.with_switch("dax_dedup", "tail").unwrap();
    assert_eq!(
        memmap(Arch::Arm64_64k, TIB, ByteSize::mib(512), what_if),
        256 << 20
    );
}

#[test]
fn page_tables_are_counted_as_the_kernel_allocates_them() {
    // ppc64 radix 64K at 1G: the deduplicated vmemmap (1 GiB of VA) is PTE-mapped with one
    // 256-byte fragment per 2 MiB, plus one 4 KiB PMD fragment per GiB of VA.
    let c = plan(&cfg(
        Arch::Ppc64Radix64k,
        TIB,
        ByteSize::gib(1),
        Profile::V6_12,
    ))
    .unwrap();
    assert_eq!(c.pagetable_bytes, 512 * 256 + 4096);
    // x86 at 2M: 32 MiB of PTE tables per TiB (brief §9.4).
    let c = plan(&cfg(Arch::X86_64, TIB, ByteSize::mib(2), Profile::V6_12)).unwrap();
    assert_eq!(c.pagetable_bytes, (32 << 20) + 16 * 4096);
}

#[test]
fn what_an_arch_does_not_offer_is_refused_with_what_it_does() {
    let e = plan(&cfg(Arch::Arm64_4k, TIB, ByteSize::gib(1), Profile::V6_12)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported align 1G: device-dax on arm64-4k (6.12) supports 4K, 2M"
    );
    let e = plan(&cfg(
        Arch::Riscv64Sv48,
        TIB,
        ByteSize::mib(2),
        Profile::V5_19,
    ))
    .unwrap_err();
    assert!(matches!(e, PlanError::ArchTooNew { .. }), "{e}");
    assert!(e.to_string().contains("from Linux 6.11"), "{e}");
    assert!(
        e.to_string()
            .contains("valid profiles there: v6.12, v6.15, v6.18, v7.1, v7.3, v7.4, next"),
        "{e}"
    );
    // riscv 1 GiB device-dax needs PUD-sized THP (6.15).
    assert!(plan(&cfg(
        Arch::Riscv64Sv48,
        TIB,
        ByteSize::gib(1),
        Profile::V6_12
    ))
    .is_err());
    assert!(plan(&cfg(
        Arch::Riscv64Sv48,
        TIB,
        ByteSize::gib(1),
        Profile::V6_15
    ))
    .is_ok());
    // Sv39's vmemmap describes 256 GiB of physical address space.
    let mut c = cfg(Arch::Riscv64Sv39, TIB, ByteSize::mib(2), Profile::V6_12);
    let e = plan(&c).unwrap_err();
    assert!(e.to_string().contains("riscv64-sv39"), "{e}");
    c.size = ByteSize::gib(64);
    c.ram_size = ByteSize::gib(64);
    assert!(plan(&c).is_ok());
}

/// INV-5 on every arch: small devices of one, three and a section-and-a-bit units, both maps,
/// the profiles the arch has device-dax in.
#[test]
fn planner_equals_simulation_on_every_arch() {
    let mut compared = 0;
    for arch in ARCHES {
        let g = arch.geometry();
        for profile in ALL_PROFILES {
            for align in valid_aligns(g, profile.kernel()) {
                let unit = align.max(g.features.memremap_compat_align);
                let sizes = [
                    unit,
                    ByteSize::new(3 * unit.bytes()),
                    ByteSize::new(g.section_size().bytes().max(unit.bytes()) + unit.bytes()),
                ];
                for size in sizes {
                    if size > ByteSize::gib(48) {
                        continue;
                    }
                    for map in [MapMode::Mem, MapMode::Dev] {
                        let mut c = cfg(arch, size, align, profile);
                        c.map = map;
                        c.ram_size = ByteSize::gib(8);
                        let Ok(planned) = plan(&c) else { continue };
                        let simulated = simulate(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
                        assert_eq!(planned, simulated, "{c}");
                        compared += 1;
                    }
                }
            }
        }
    }
    eprintln!("compared {compared}");
    assert!(compared >= 300, "only {compared} compared");
}

/// Every refusal of an arch's limits names the arch, and a profile has device-dax on an arch
/// exactly from the release the arch got it.
#[test]
fn every_profile_names_its_arch_limits() {
    for arch in ARCHES {
        let g = arch.geometry();
        for p in ALL_PROFILES {
            let mut c = cfg(arch, ByteSize::gib(1), g.pmd_size(), p);
            c.ram_size = ByteSize::gib(8);
            match plan(&c) {
                Ok(_) => assert!(g.features.device_dax(p.kernel()), "{c}"),
                Err(e) => {
                    assert!(e.to_string().contains(g.name), "{c}: {e}");
                    assert!(!g.features.device_dax(p.kernel()), "{c}: {e}");
                }
            }
        }
    }
}

/// HugeTLB on every arch: HVO only where the arch selects it in that release (arm64: 5.19
/// until 6.2; never on powerpc), and the planner equals the simulation.
#[test]
fn hugetlb_follows_each_arch_hvo_history() {
    let hugetlb = |arch: Arch, size: ByteSize, align: ByteSize, p: Profile| {
        plan(&cfg(arch, size, align, p).hugetlb())
            .unwrap_or_else(|e| panic!("{arch}: {e}"))
            .memmap_bytes
    };
    let m2 = ByteSize::mib(2);
    // x86 and arm64 (5.19) keep one vmemmap page per 2 MiB page: 16 GiB -> 2 GiB per TiB.
    assert_eq!(hugetlb(Arch::X86_64, TIB, m2, Profile::V6_12), 2 << 30);
    assert_eq!(hugetlb(Arch::Arm64_4k, TIB, m2, Profile::V5_19), 2 << 30);
    // arm64 disabled HVO in 6.2 (break-before-make): the full 16 GiB.
    assert_eq!(hugetlb(Arch::Arm64_4k, TIB, m2, Profile::V6_12), 16 << 30);
    assert_eq!(hugetlb(Arch::Arm64_4k, TIB, m2, Profile::V7_4), 16 << 30);
    // powerpc never selects HVO.
    assert_eq!(
        hugetlb(Arch::Ppc64Radix4k, TIB, m2, Profile::V6_12),
        16 << 30
    );
    // riscv has it.
    assert_eq!(hugetlb(Arch::Riscv64Sv48, TIB, m2, Profile::V6_12), 2 << 30);
    // arm64 16K/64K have no PUD leaves, so no PUD-sized HugeTLB page.
    let e =
        plan(&cfg(Arch::Arm64_64k, TIB, ByteSize::gib(1), Profile::V6_12).hugetlb()).unwrap_err();
    assert_eq!(e.to_string(), "HugeTLB pages on arm64-64k are 512M, not 1G");

    let mut compared = 0;
    for arch in ARCHES {
        let g = arch.geometry();
        let mut sizes = vec![g.pmd_size()];
        if g.pud_leaves && g.pud_size() <= ByteSize::gib(1) {
            sizes.push(g.pud_size());
        }
        for profile in [
            Profile::V5_10,
            Profile::V5_19,
            Profile::V6_12,
            Profile::NEXT,
        ] {
            for &align in &sizes {
                let mut c = cfg(
                    arch,
                    ByteSize::new(2 * align.bytes().max(64 << 20)),
                    align,
                    profile,
                )
                .hugetlb();
                c.ram_size = ByteSize::gib(8);
                let Ok(planned) = plan(&c) else { continue };
                let simulated = simulate(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(planned, simulated, "{c}");
                compared += 1;
            }
        }
    }
    assert!(compared >= 60, "only {compared} compared");
}

/// arm64's other VA sizes: the levels `ARM64_HW_PGTABLE_LEVELS` gives, a vmemmap sized by the
/// linear map, and the planner equal to the simulation on each.
#[test]
fn arm64_va_sizes_change_levels_and_reach() {
    let levels = |a: Arch, bits: u32| a.with_va_bits(bits).unwrap().geometry().pt_levels;
    assert_eq!(levels(Arch::Arm64_4k, 39), 3);
    assert_eq!(levels(Arch::Arm64_4k, 48), 4);
    assert_eq!(levels(Arch::Arm64_4k, 52), 5);
    assert_eq!(levels(Arch::Arm64_16k, 36), 2);
    assert_eq!(levels(Arch::Arm64_16k, 47), 3);
    assert_eq!(levels(Arch::Arm64_16k, 52), 4);
    assert_eq!(levels(Arch::Arm64_64k, 42), 2);
    assert_eq!(levels(Arch::Arm64_64k, 52), 3);
    assert_eq!(Arch::Arm64_4k.with_va_bits(48), Ok(Arch::Arm64_4k));
    assert_eq!(
        Arch::Arm64_16k.with_va_bits(40).unwrap_err(),
        "--va-bits 40: arm64-16k supports 36, 47, 48, 52"
    );
    // VA 39: a 4 GiB vmemmap describes 256 GiB, so 1 TiB does not fit.
    let va39 = Arch::Arm64_4k.with_va_bits(39).unwrap();
    assert!(plan(&cfg(va39, TIB, ByteSize::mib(2), Profile::V6_12)).is_err());
    let mut compared = 0;
    for (base, bits) in [
        (Arch::Arm64_4k, 39),
        (Arch::Arm64_4k, 52),
        (Arch::Arm64_16k, 36),
        (Arch::Arm64_16k, 47),
        (Arch::Arm64_16k, 52),
        (Arch::Arm64_64k, 42),
        (Arch::Arm64_64k, 52),
    ] {
        let arch = base.with_va_bits(bits).unwrap();
        let g = arch.geometry();
        assert_eq!(g.va_bits(), bits);
        for map in [MapMode::Mem, MapMode::Dev] {
            for size in [
                g.pmd_size(),
                ByteSize::new(3 * g.pmd_size().bytes().max(2 << 20)),
            ] {
                let mut c = cfg(arch, size, g.pmd_size(), Profile::V6_12);
                c.map = map;
                c.ram_size = ByteSize::gib(8);
                let Ok(planned) = plan(&c) else { continue };
                assert_eq!(planned, simulate(&c).unwrap(), "{c}");
                compared += 1;
            }
        }
    }
    // 28 tried: the one-unit --map=dev devices leave no room for data (7), and 16K/36-bit
    // describes only 32 GiB, below the 64 GiB device region (3).
    assert!(compared >= 18, "only {compared}");
}

/// Base-page vmemmap carved from the altmap one page at a time (arm64 16K/64K): a 64 GiB device
/// takes 16,384 consecutive pages of its reserve, none of them padded.
#[test]
fn base_page_memmap_on_the_device_fills_the_reserve_in_order() {
    for (arch, align) in [
        (Arch::Arm64_16k, ByteSize::kib(16)),
        (Arch::Arm64_64k, ByteSize::kib(64)),
    ] {
        let mut c = cfg(arch, ByteSize::gib(64), align, Profile::V6_12);
        c.map = MapMode::Dev;
        c.ram_size = ByteSize::gib(8);
        let planned = plan(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(planned.memmap_bytes, 0, "{c}");
        assert_eq!(planned, simulate(&c).unwrap(), "{c}");
    }
}

/// Where each arch's vmemmap starts, from the kernel's layout documents (x86:
/// Documentation/arch/x86/x86_64/mm.rst; riscv: Documentation/arch/riscv/vm-layout.rst; ppc64
/// radix: arch/powerpc/include/asm/book3s/64/radix.h `RADIX_VMEMMAP_START`): pfn 0's struct page.
#[test]
fn vmemmap_starts_where_the_kernel_layouts_put_it() {
    for (name, base) in [
        ("x86_64", 0xffff_ea00_0000_0000_u64),
        ("x86_64-la57", 0xffd4_0000_0000_0000),
        ("ppc64-radix-4k", 0xc00c_0000_0000_0000),
        ("ppc64-radix-64k", 0xc00c_0000_0000_0000),
        ("riscv64-sv39", 0xffff_ffc5_0000_0000),
        ("riscv64-sv48", 0xffff_8d80_0000_0000),
        ("riscv64-sv57", 0xff1c_0000_0000_0000),
    ] {
        let arch: Arch = name.parse().unwrap();
        let g = arch.geometry();
        assert_eq!(g.vmemmap_base.as_u64(), base, "{name}");
        assert_eq!(
            g.pfn_to_page_va(vmemdiet::addr::Pfn::new(0)).as_u64(),
            base,
            "{name}"
        );
    }
}

/// arm64's vmemmap, from `arch/arm64/include/asm/memory.h` for every VA size the kernel builds:
/// `VMEMMAP_START = -SZ_1G - VMEMMAP_SIZE`, where `VMEMMAP_SIZE` describes the linear map
/// `[PAGE_OFFSET, _PAGE_END(VA_BITS_MIN))` at 64 bytes per page and `VA_BITS_MIN` is 48 for
/// 52-bit VA.
#[test]
fn arm64_vmemmap_follows_memory_h_for_every_va_size() {
    for (arch, page_shift, vas) in [
        ("arm64-4k", 12, &[39, 48, 52][..]),
        ("arm64-16k", 14, &[36, 47, 48, 52][..]),
        ("arm64-64k", 16, &[42, 48, 52][..]),
    ] {
        for &va in vas {
            let a = arch.parse::<Arch>().unwrap().with_va_bits(va).unwrap();
            let g = a.geometry();
            let va_min = va.min(48);
            let page_offset = 0u64.wrapping_sub(1 << va);
            let page_end = 0u64.wrapping_sub(1 << (va_min - 1));
            let size = page_end.wrapping_sub(page_offset) >> (page_shift - 6);
            let start = 0u64.wrapping_sub(1 << 30).wrapping_sub(size);
            assert_eq!(g.vmemmap_base.as_u64(), start, "{arch} {va}");
            assert_eq!(g.vmemmap_size.bytes(), size, "{arch} {va}");
        }
    }
}
