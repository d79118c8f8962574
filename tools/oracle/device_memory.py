#!/usr/bin/env python3
"""
Independent oracle for vmemdiet device-memory rules (stdlib only).

README.  Every number below is computed from rules read in the Linux sources
(see FACTS.md for file/function/commit); no vmemdiet code is used.

Rule K1  dax_kmem_range() (drivers/dax/kmem.c): start = ALIGN(start, B),
         end = ALIGN_DOWN(end+1, B) - 1; start >= end -> range skipped
         ("mapping%d: %#llx-%#llx too small after alignment"); nothing left ->
         probe fails -EINVAL ("rejecting DAX region without any memory after
         alignment").  -> error "too-small".
Rule K2  memory_dev_init() (drivers/base/memory.c): block size must be a power of
         two and >= MIN_MEMORY_BLOCK_SIZE (one section) else panic
         ("Memory block size not suitable").  -> error "block-size".
Rule K3  mm/memory_hotplug.c: memory_block_memmap_size() = (B/P)*S;
         memory_block_memmap_on_memory_pages() = PFN_UP(that), pageblock_align()ed
         in "force" mode.  mhp_supports_memmap_on_memory(): param != N; memmap
         size PAGE aligned; pages pageblock aligned; pages != B/P;
         arch_supports_memmap_on_memory(size) (generic: IS_ALIGNED(size, PMD_SIZE);
         only powerpc overrides).  add_memory_resource(): flag && supported ->
         one altmap per block (create_altmaps_and_memory_blocks), else DRAM.
Rule K4  dax kmem passes MHP_MEMMAP_ON_MEMORY iff dev_dax->memmap_on_memory
         (since 6.8; before 6.8 never).  Defaults: cxl 1, hmem 0, pmem 0.
         Per-device sysfs knob since 6.9 (v7 series dated Jan 2024); writing 1
         when !mhp_supports_memmap_on_memory() -> -EOPNOTSUPP.
Rule K5  "force" value of memory_hotplug.memmap_on_memory exists since 6.6;
         earlier the parameter is a bool and "force" does not parse (-> N).
Rule K6  memory_block_online(): the altmap->free vmemmap pages go to
         mhp_init_memmap_on_memory() (never freed to buddy) and are added to
         *present* only; online_pages() frees the rest -> managed.  MemTotal
         (managed) gains H - nblocks*vmemmap.
Rule K7  x86-64 vmemmap_populate(): a range < PAGES_PER_SECTION*sizeof(struct
         page) uses base pages; otherwise PMD (2 MiB) blocks.  A full 128 MiB
         section -> one 2 MiB page; a sub-section piece -> distinct 4 KiB pages.
Rule K8  request_free_mem_region() (kernel/resource.c get_free_mem_region):
         size = ALIGN(size, 1<<PA_SECTION_SHIFT); descending from
         min(base->end, DIRECT_MAP_PHYSMEM_END) - size + 1, step 128 MiB.
Rule K9  ZONE_DEVICE (memremap_pages -> __add_pages): pfn and nr_pages must be
         PAGES_PER_SUBSECTION (2 MiB) aligned (check_pfn_span) else -EINVAL.
Rule K10 HVO is skipped for a folio whose vmemmap is PageVmemmapSelfHosted.

Output: kmem_cases.csv, zone_device_cases.csv next to this script.
"""
import csv
import os

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

# ---------------------------------------------------------------- arch params
ARCH = {
    # page size, struct page size, section size, pageblock order, PMD size,
    # has 1 GiB hugetlb size
    "x86_64":    dict(P=4 * KiB,  S=64, SEC=128 * MiB, PB_ORDER=9,  PMD=2 * MiB,   HP1G=True),
    "arm64-4k":  dict(P=4 * KiB,  S=64, SEC=128 * MiB, PB_ORDER=9,  PMD=2 * MiB,   HP1G=True),
    "arm64-64k": dict(P=64 * KiB, S=64, SEC=512 * MiB, PB_ORDER=13, PMD=512 * MiB, HP1G=False),
}


def kver(k):
    a, b = k.split(".")
    return (int(a), int(b))


def align_up(x, a):
    return (x + a - 1) // a * a


def align_down(x, a):
    return x // a * a


def is_pow2(x):
    return x > 0 and (x & (x - 1)) == 0


def vmemmap_pages_per_block(arch, B, mode):
    """memory_block_memmap_on_memory_pages() in pages (mode 'y' or 'force')."""
    a = ARCH[arch]
    size = (B // a["P"]) * a["S"]
    pages = -(-size // a["P"])  # PFN_UP
    if mode == "force":
        pages = align_up(pages, 1 << a["PB_ORDER"])
    return size, pages


def mhp_supports(arch, B, mode):
    """mhp_supports_memmap_on_memory() for x86/arm64 (generic arch hook)."""
    if mode == "n":
        return False
    a = ARCH[arch]
    size, pages = vmemmap_pages_per_block(arch, B, mode)
    if size % a["P"]:
        return False
    if pages % (1 << a["PB_ORDER"]):
        return False
    if pages == B // a["P"]:
        return False
    return size % a["PMD"] == 0  # generic arch_supports_memmap_on_memory


def count_aligned(lo, hi, g):
    """naturally aligned g-sized pages wholly inside [lo, hi)."""
    first = align_up(lo, g)
    last = align_down(hi, g)
    return max(0, (last - first) // g)


SOURCE_DEFAULT = {"cxl": 1, "hmem": 0, "pmem": 0}


def kmem_case(arch, kernel, source, param, device_mom, B, start, size):
    a = ARCH[arch]
    kv = kver(kernel)
    row = dict(arch=arch, kernel=kernel, source=source, param=param,
               device_mom=device_mom, block_size=B, start=start, size=size)
    zero = dict(effective_mom=0, usable_bytes=0, dram_memmap_bytes=0,
                device_bytes=size, blocks=0, hugetlb_2m_pages=0,
                hugetlb_1g_pages=0, hvo=0)
    # K2
    if not is_pow2(B) or B < a["SEC"]:
        row.update(zero, error="block-size")
        return row
    # K1
    s2 = align_up(start, B)
    e2 = align_down(start + size, B)
    if s2 >= e2:
        row.update(zero, error="too-small")
        return row
    H = e2 - s2
    nblk = H // B
    error = ""
    # K5: boot parameter value actually in force
    eff_param = param
    if param == "force" and kv < (6, 6):
        eff_param = "n"
        error = "force-needs-6.6"
    supported = mhp_supports(arch, B, eff_param)
    # K4: device flag
    dev_flag = SOURCE_DEFAULT[source]
    if kv < (6, 8):
        dev_flag = 0                      # kmem never passes the flag
        if device_mom != "default" and not error:
            error = "no-knob"
    elif kv < (6, 9):
        if device_mom != "default" and not error:
            error = "no-knob"             # file absent; default kept
    else:
        if device_mom == "0":
            dev_flag = 0
        elif device_mom == "1":
            if supported:
                dev_flag = 1
            elif not error:
                error = "knob-eopnotsupp"  # write fails, default kept
    eff = 1 if (dev_flag and supported) else 0
    if eff:
        _, vpages = vmemmap_pages_per_block(arch, B, eff_param)
        v = vpages * a["P"]
        usable = H - nblk * v
        dram = 0
        hp2 = nblk * count_aligned(v, B, 2 * MiB)  # per block, blocks aligned
        hp1 = nblk * count_aligned(v, B, GiB) if a["HP1G"] else 0
        hvo = 0
    else:
        usable = H
        dram = (H // a["P"]) * a["S"]  # full sections: one PMD page each on x86
        hp2 = count_aligned(s2, e2, 2 * MiB)
        hp1 = count_aligned(s2, e2, GiB) if a["HP1G"] else 0
        hvo = 1
    row.update(effective_mom=eff, usable_bytes=usable, dram_memmap_bytes=dram,
               device_bytes=size - usable, blocks=nblk, hugetlb_2m_pages=hp2,
               hugetlb_1g_pages=hp1, hvo=hvo, error=error)
    return row


KMEM_COLS = ["arch", "kernel", "source", "param", "device_mom", "block_size",
             "start", "size", "effective_mom", "usable_bytes",
             "dram_memmap_bytes", "device_bytes", "blocks", "hugetlb_2m_pages",
             "hugetlb_1g_pages", "hvo", "error"]


def kmem_matrix():
    rows = []
    # 1) full policy cross product on one aligned geometry (135 rows)
    for kernel in ["6.5", "6.7", "6.8", "6.9", "7.3"]:
        for source in ["cxl", "hmem", "pmem"]:
            for param in ["n", "y", "force"]:
                for dm in ["default", "0", "1"]:
                    rows.append(kmem_case("x86_64", kernel, source, param, dm,
                                          128 * MiB, 4 * GiB, 4 * GiB))
    # 2) geometry edge cases
    geoms = [
        (128 * MiB, 4 * GiB, 4 * GiB),                 # aligned
        (128 * MiB, 4 * GiB + 2 * MiB, 4 * GiB),       # unaligned start: one block lost
        (128 * MiB, 4 * GiB, 64 * MiB),                # smaller than a block
        (128 * MiB, 4 * GiB, 128 * MiB),               # exactly one block
        (128 * MiB, 4 * GiB + 64 * MiB, 128 * MiB),    # one block long, straddles
        (128 * MiB, 4 * GiB + 64 * MiB, 4 * GiB - 64 * MiB),  # pmem after 64M reserve
        (128 * MiB, 4 * GiB + 2 * MiB, 4 * GiB - 2 * MiB),    # pmem after 2M reserve
        (256 * MiB, 16 * GiB, 16 * GiB),
        (256 * MiB, 16 * GiB + 128 * MiB, 1 * GiB),
        (256 * MiB, 16 * GiB, 256 * MiB),
        (1 * GiB, 64 * GiB, 8 * GiB),
        (1 * GiB, 64 * GiB + 512 * MiB, 2 * GiB),
        (1 * GiB, 64 * GiB, 512 * MiB),
        (2 * GiB, 64 * GiB, 64 * GiB),
        (2 * GiB, 66 * GiB, 6 * GiB),
        (2 * GiB, 64 * GiB, 1 * GiB),
        (2 * GiB, 65 * GiB, 4 * GiB),
        (2 * GiB, 1 * TiB, 256 * GiB),
        (2 * GiB, 1 * TiB + 1 * GiB, 3 * GiB),         # exactly one block left
        (64 * MiB, 4 * GiB, 4 * GiB),                  # below a section
        (384 * MiB, 4 * GiB, 4 * GiB),                 # not a power of two
    ]
    for (B, st, sz) in geoms:
        for kernel, src, param, dm in [
            ("7.3", "cxl", "n", "default"),
            ("7.3", "cxl", "y", "default"),
            ("7.3", "cxl", "force", "default"),
            ("7.3", "hmem", "y", "default"),
            ("7.3", "hmem", "y", "1"),
            ("6.8", "cxl", "y", "default"),
            ("6.7", "cxl", "y", "default"),
        ]:
            rows.append(kmem_case("x86_64", kernel, src, param, dm, B, st, sz))
    # 3) arm64 rows (facts confirmed: section sizes, pageblock order, generic
    #    arch hook; arm64 selects ARCH_MHP_MEMMAP_ON_MEMORY_ENABLE)
    for arch, B in [("arm64-4k", 128 * MiB), ("arm64-64k", 512 * MiB)]:
        for param in ["n", "y", "force"]:
            for st, sz in [(4 * GiB, 4 * GiB), (4 * GiB + 2 * MiB, 4 * GiB)]:
                rows.append(kmem_case(arch, "7.3", "cxl", param, "default", B, st, sz))
    return rows


# ---------------------------------------------------------------- ZONE_DEVICE
SUBSEC = 2 * MiB
SEC = 128 * MiB
P = 4 * KiB
S = 64
# Stated machine for device-private placement: direct-map end (exclusive) = 11 TiB
# (x86-64 4-level, KASLR on, boot RAM end <= 1 TiB, RANDOMIZE_MEMORY_PHYSICAL_PADDING
# 0xa -> DIRECT_MAP_PHYSMEM_END = 11 TiB - 1) and nothing else in iomem up there.
DIRECT_MAP_END = 11 * TiB


def x86_vmemmap_dram(start, length):
    """Rule K7: bytes of vmemmap backing pages for [start, start+length)."""
    total = 0
    pos = start
    end = start + length
    while pos < end:
        sec_base = align_down(pos, SEC)
        piece_end = min(end, sec_base + SEC)
        if pos == sec_base and piece_end == sec_base + SEC:
            total += 2 * MiB
        else:
            lo = (pos - sec_base) // P * S
            hi = (piece_end - sec_base) // P * S
            total += (-(-hi // P) - lo // P) * P
        pos = piece_end
    return total


def zd_case(typ, size, start=None):
    row = dict(arch="x86_64", type=typ, size=size)
    if typ == "device-private":
        reg = align_up(size, SEC)            # get_free_mem_region: ALIGN(size, section)
        st = DIRECT_MAP_END - reg            # first descending candidate, free space
        row.update(start=st, registered_bytes=reg,
                   dram_memmap_bytes=x86_vmemmap_dram(st, reg), error="")
        return row
    reg = align_up(size, SUBSEC)
    if start % SUBSEC:
        row.update(start=start, registered_bytes=0, dram_memmap_bytes=0,
                   error="misaligned")
        return row
    row.update(start=start, registered_bytes=reg,
               dram_memmap_bytes=x86_vmemmap_dram(start, reg), error="")
    return row


ZD_COLS = ["arch", "type", "size", "start", "registered_bytes",
           "dram_memmap_bytes", "error"]


def zd_matrix():
    rows = []
    for sz in [2 * MiB, 3 * MiB, 64 * MiB, 128 * MiB, 130 * MiB, 1 * GiB,
               16 * GiB, 16 * GiB + 2 * MiB, 24 * GiB, 80 * GiB, 192 * GiB]:
        rows.append(zd_case("device-private", sz))
    base = 4 * TiB
    starts = [base, base + 2 * MiB, base + 64 * MiB, base + 126 * MiB,
              base + 1 * MiB]
    sizes = [2 * MiB, 3 * MiB, 4 * MiB, 64 * MiB, 128 * MiB, 130 * MiB,
             256 * MiB, 1 * GiB, 16 * GiB + 2 * MiB, 32 * GiB]
    for typ in ["device-coherent", "p2pdma"]:
        for st in starts:
            for sz in sizes:
                rows.append(zd_case(typ, sz, st))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    k = kmem_matrix()
    with open(os.path.join(here, "kmem_cases.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=KMEM_COLS, lineterminator="\n")
        w.writeheader()
        w.writerows(k)
    z = zd_matrix()
    with open(os.path.join(here, "zone_device_cases.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=ZD_COLS, lineterminator="\n")
        w.writeheader()
        w.writerows(z)
    print(f"kmem_cases.csv: {len(k)} rows; zone_device_cases.csv: {len(z)} rows")


if __name__ == "__main__":
    main()
