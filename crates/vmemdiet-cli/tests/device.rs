//! `vmemdiet plan` for device memory beyond device-dax (`--kind kmem`, `device-private`,
//! `device-coherent`, `p2pdma`, and `--device` machines). Expected numbers follow from the
//! kernel's rules (device-memory.md §4, tools/oracle/FACTS.md): 64 bytes of struct page per
//! 4 KiB, x86-64's block size probe, one altmap per block.

use assert_cmd::Command;
use serde_json::Value;

const GIB: u64 = 1 << 30;

fn plan(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("vmemdiet")
        .unwrap()
        .arg("plan")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn plan_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (ok, out, err) = plan(&a);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// The one-line error of a refused plan.
fn refused(args: &[&str]) -> String {
    let (ok, out, err) = plan(args);
    assert!(!ok, "{args:?} was accepted: {out}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    err
}

/// 256 GiB of CXL memory on the default machine (256 GiB of RAM, bare metal: 2 GiB blocks):
/// 4 GiB of DRAM memmap, or with memmap_on_memory 32 MiB at the head of each of the 128
/// blocks, which also costs each block its first gigantic page.
#[test]
fn cxl_memory_with_and_without_memmap_on_memory() {
    let v = plan_json(&[
        "--kind",
        "kmem",
        "--size",
        "256G",
        "--memmap-on-memory",
        "n,y",
    ]);
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let (off, on) = (&rows[0], &rows[1]);
    assert_eq!(off["memmap_on_memory"], "n");
    assert_eq!(off["usable_bytes"], 256 * GIB);
    assert_eq!(off["memmap_bytes"], 4 * GIB);
    assert_eq!(off["device_bytes"], 0);
    assert_eq!(off["kmem"]["block_size"], 2 * GIB);
    assert_eq!(off["kmem"]["blocks"], 128);
    assert_eq!(off["kmem"]["hvo"], true);
    assert_eq!(off["kmem"]["hugetlb_1g_pages"], 256);
    assert_eq!(on["usable_bytes"], 252 * GIB);
    assert_eq!(on["memmap_bytes"], 0);
    assert_eq!(on["device_bytes"], 4 * GIB);
    assert_eq!(on["kmem"]["device_memmap_bytes"], 4 * GIB);
    assert_eq!(on["kmem"]["hvo"], false);
    assert_eq!(on["kmem"]["hugetlb_1g_pages"], 128);
    assert_eq!(on["kmem"]["hugetlb_2m_pages"], 128 * (1024 - 16));
}

/// Who asks for memmap_on_memory: the producer's default (CXL 1, hmem 0), the device file
/// (6.9+), and dax_kmem itself only from 6.8.
#[test]
fn the_device_and_the_release_decide_where_the_memmap_goes() {
    let self_hosted = |extra: &[&str]| {
        let mut a = vec!["--kind", "kmem", "--size", "64G", "--memmap-on-memory", "y"];
        a.extend_from_slice(extra);
        plan_json(&a)[0]["kmem"]["memmap_on_memory"]
            .as_bool()
            .unwrap()
    };
    assert!(self_hosted(&[]));
    assert!(!self_hosted(&["--source", "hmem"]));
    assert!(self_hosted(&[
        "--source",
        "hmem",
        "--device-memmap-on-memory",
        "1"
    ]));
    assert!(!self_hosted(&["--device-memmap-on-memory", "0"]));
    assert!(!self_hosted(&["--profile", "6.7"]));
    assert!(self_hosted(&["--profile", "6.8"]));
}

/// x86-64 probes the block size from the end of boot RAM: 128 MiB below 64 GiB; in a VM the
/// largest power of two up to 2 GiB that divides the end (255 GiB of RAM end at 257 GiB).
#[test]
fn the_block_size_follows_the_end_of_boot_ram() {
    let block = |extra: &[&str]| {
        let mut a = vec!["--kind", "kmem", "--size", "16G"];
        a.extend_from_slice(extra);
        plan_json(&a)[0]["kmem"]["block_size"].as_u64().unwrap()
    };
    assert_eq!(block(&[]), 2 * GIB);
    assert_eq!(block(&["--ram", "32G"]), 128 << 20);
    assert_eq!(block(&["--ram", "255G", "--vm"]), GIB);
    assert_eq!(block(&["--ram", "255G"]), 2 * GIB);
    assert_eq!(block(&["--block-size", "256M"]), 256 << 20);
}

/// A start off a block boundary loses the partial blocks at both ends.
#[test]
fn an_unaligned_start_strands_capacity() {
    let v = plan_json(&[
        "--kind",
        "kmem",
        "--size",
        "8G",
        "--block-size",
        "2G",
        "--start",
        "0x5040000000",
    ]);
    // 320 GiB + 1 GiB: [321 G, 329 G) keeps [322 G, 328 G), 3 blocks.
    assert_eq!(v[0]["kmem"]["blocks"], 3);
    assert_eq!(v[0]["usable_bytes"], 6 * GIB);
    assert_eq!(v[0]["kmem"]["stranded_bytes"], 2 * GIB);
}

#[test]
fn bad_combinations_are_one_line_errors() {
    assert!(refused(&["--kind", "kmem", "--size", "1G"]).contains("too small after alignment"));
    assert!(refused(&["--kind", "kmem", "--block-size", "3G"]).contains("power of two"));
    assert!(refused(&["--kind", "kmem", "--block-size", "64M"]).contains("section"));
    assert!(refused(&[
        "--kind",
        "kmem",
        "--memmap-on-memory",
        "force",
        "--profile",
        "6.5"
    ])
    .contains("6.6"));
    assert!(refused(&[
        "--kind",
        "kmem",
        "--device-memmap-on-memory",
        "1",
        "--profile",
        "6.8"
    ])
    .contains("6.9"));
    assert!(refused(&["--kind", "kmem", "--device-memmap-on-memory", "1"]).contains("EOPNOTSUPP"));
    // arm64 with 16K pages: a 128 MiB block's memmap (512 KiB) is no whole PMD (32 MiB).
    assert!(refused(&[
        "--kind",
        "kmem",
        "--arch",
        "arm64-16k",
        "--memmap-on-memory",
        "force"
    ])
    .contains("PMD"));
    assert!(refused(&["--source", "cxl"]).contains("device memory"));
    assert!(refused(&["--kind", "kmem", "--start", "0x1000"]).contains("System RAM"));
    assert!(refused(&[
        "--kind",
        "device-private",
        "--folio",
        "2M",
        "--profile",
        "6.18"
    ])
    .contains("6.19"));
    assert!(refused(&["--kind", "p2pdma", "--start", "0x5000100000"]).contains("subsection"));
    assert!(refused(&["--device", "gpu:1G"]).contains("unknown kind"));
    assert!(refused(&["--device", "kmem:1G:x0"]).contains("x1 to x4096"));
    assert!(refused(&["--device", "kmem:256G", "--profile", "6.12,7.3"]).contains("one --profile"));
    assert!(refused(&["--device", "kmem:256G", "--kind", "kmem"]).contains("cannot be used with"));
}

/// A mixed machine: CXL memory hosting its own memmap, eight 141 GiB GPUs under HMM and a
/// pmem namespace with its memmap on the device: only the GPUs' memmap is in DRAM.
#[test]
fn a_mixed_machine_in_one_command() {
    let v = plan_json(&[
        "--device",
        "kmem:256G:cxl",
        "--device",
        "device-private:141G:x8",
        "--device",
        "devdax:1T:2M",
        "--ram",
        "2T",
        "--memmap-on-memory",
        "y",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["memmap_bytes"], 0);
    assert_eq!(rows[0]["usable_bytes"], 252 * GIB);
    // 141 GiB is a whole number of 128 MiB sections: registered as asked.
    assert_eq!(rows[1]["memmap_bytes"], 8 * 141 * GIB / 64);
    assert_eq!(rows[1]["usable_bytes"], 8 * 141 * GIB);
    // Placed from the top of the direct map (KASLR: RAM end 2 TiB + 2 GiB → 3 TiB, plus 10).
    assert_eq!(
        rows[1]["zone_device"]["start"],
        (13u64 << 40) - 8 * 141 * GIB
    );
    assert_eq!(rows[2]["memmap_bytes"], 0);
    assert_eq!(v["memmap_bytes"], 8 * 141 * GIB / 64);
    let share = v["memmap_share_of_ram"].as_f64().unwrap();
    assert!(
        (share - (8.0 * 141.0 / 64.0) / 2048.0).abs() < 1e-12,
        "{share}"
    );
    let (ok, table, _) = plan(&[
        "--device",
        "kmem:256G:cxl",
        "--device",
        "device-private:141G:x8",
        "--ram",
        "2T",
    ]);
    assert!(ok);
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
    assert!(table.contains("Total: usable"), "{table}");
}

/// The simulation agrees with the closed form through the command line too.
#[test]
fn simulated_kmem_matches_the_plan() {
    let args = [
        "--kind",
        "kmem",
        "--size",
        "4G",
        "--ram",
        "4G",
        "--block-size",
        "128M",
        "--memmap-on-memory",
        "n,y",
    ];
    let planned = plan_json(&args);
    let mut sim_args = args.to_vec();
    sim_args.push("--simulate");
    let mut simulated = plan_json(&sim_args);
    for row in simulated.as_array_mut().unwrap() {
        assert_eq!(row["simulated"], true);
        row["simulated"] = Value::Bool(false);
    }
    assert_eq!(planned, simulated);
}

/// Device memory the firmware made System RAM at boot keeps its memmap on its own node
/// (`sparse_init`, `exact_nid`): nothing in DRAM, 1/64 of it out of MemTotal. And a machine
/// whose movable kmem memory outgrows its kernel zones is told so (the hotplug guide's 3:1).
#[test]
fn boot_ram_on_a_device_node_and_the_movable_ratio() {
    let v = plan_json(&[
        "--device", "ram:512G", "--device", "kmem:1T", "--ram", "128G",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows[0]["memmap_bytes"], 0);
    assert_eq!(rows[0]["device_bytes"], 8 * GIB);
    assert_eq!(rows[0]["usable_bytes"], 504 * GIB);
    // 1 TiB movable over 128 GiB less the 16 GiB of kmem memmap in DRAM.
    let r = v["movable_to_kernel"].as_f64().unwrap();
    assert!((r - 1024.0 / 112.0).abs() < 1e-9, "{r}");
    let (ok, out, _) = plan(&["--device", "kmem:1T", "--ram", "128G"]);
    assert!(ok && out.contains("9.1:1"), "{out}");
    let (ok, out, _) = plan(&["--device", "kmem:1T:normal", "--ram", "128G"]);
    assert!(ok && !out.contains(":1;"), "{out}");
}

/// Where a device lands by default: the machine's device region, which follows its RAM and
/// arch (x86-64: the RAM end, 2 GiB + RAM, rounded up to 64 GiB).
#[test]
fn the_default_start_follows_the_machine() {
    let start = |extra: &[&str]| {
        let mut a = vec!["--kind", "kmem", "--size", "16G"];
        a.extend_from_slice(extra);
        plan_json(&a)[0]["kmem"]["range_start"].as_u64().unwrap()
    };
    assert_eq!(start(&[]), 320 * GIB);
    assert_eq!(start(&["--ram", "32G"]), 64 * GIB);
    assert_eq!(start(&["--ram", "126G"]), 128 * GIB);
    // RAM beyond the arch's reach is the machine's error, named as such.
    assert!(refused(&["--kind", "kmem", "--ram", "100T"]).contains("give a smaller --ram"));
}

/// A pmem namespace bound to kmem (`--source pmem`, ndctl's defaults: map=dev, align 2M):
/// `nd_pfn_init` reserves ALIGN(8 KiB + 64 B x (16 GiB - 8 KiB) / 4 KiB, 2 MiB) = 258 MiB,
/// the dax range starts after it, and dax_kmem then loses the rest of the first 2 GiB block.
#[test]
fn a_pmem_source_starts_after_its_reserve() {
    let v = plan_json(&["--kind", "kmem", "--size", "16G", "--source", "pmem"]);
    let k = &v[0]["kmem"];
    assert_eq!(k["range_start"], 320 * GIB + 258 * (1 << 20));
    assert_eq!(k["range_bytes"], 16 * GIB - 258 * (1 << 20));
    assert_eq!(k["added_start"], 322 * GIB);
    assert_eq!(k["blocks"], 7);
    assert_eq!(k["stranded_bytes"], 2 * GIB);
    assert_eq!(v[0]["memmap_bytes"], 14 * GIB / 64);
}

/// HugeTLB sizes per arch: arm64 makes 2 MiB pages from contiguous PTEs with 64K pages and
/// 1 GiB from contiguous 32 MiB PMDs with 16K pages; 64K pages have no 1 GiB size.
#[test]
fn huge_pages_left_follow_the_arch() {
    let pages = |arch: &str| {
        let v = plan_json(&["--kind", "kmem", "--size", "16G", "--arch", arch]);
        let k = v[0]["kmem"].clone();
        (
            k["hugetlb_2m_pages"].as_u64(),
            k["hugetlb_1g_pages"].as_u64(),
        )
    };
    assert_eq!(pages("arm64-16k"), (Some(8192), Some(16)));
    assert_eq!(pages("arm64-64k"), (Some(8192), None));
    assert_eq!(pages("x86_64"), (Some(8192), Some(16)));
}

/// `bench hotplug` builds what it says (times aside): the blocks of the machine's block size,
/// the memmap where the boot parameter and the release put it.
#[test]
fn bench_hotplug_builds_the_configuration_asked() {
    let run = |extra: &[&str]| {
        let mut a = vec![
            "bench", "hotplug", "--size", "1G", "--ram", "4G", "--runs", "1",
        ];
        a.extend_from_slice(extra);
        a.push("--json");
        let out = Command::cargo_bin("vmemdiet")
            .unwrap()
            .args(&a)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let v = run(&["--memmap-on-memory", "n,y"]);
    // RAM ends at 6 GiB, below 64 GiB: 128 MiB blocks, 2 MiB of memmap each.
    assert_eq!(v[0]["blocks"], 8);
    assert_eq!(
        (v[0]["self_hosted"].clone(), v[0]["memmap_bytes"].clone()),
        (false.into(), (16u64 << 20).into())
    );
    assert_eq!(
        (
            v[1]["self_hosted"].clone(),
            v[1]["device_memmap_bytes"].clone()
        ),
        (true.into(), (16u64 << 20).into())
    );
    let v = run(&[
        "--memmap-on-memory",
        "y",
        "--profile",
        "6.7",
        "--block-size",
        "256M",
    ]);
    assert_eq!(
        (v[0]["blocks"].clone(), v[0]["self_hosted"].clone()),
        (4.into(), false.into())
    );
    let v = run(&["--memmap-on-memory", "y", "--arch", "arm64-64k"]);
    // One 512 MiB section per block; its 512 KiB memmap is no whole 512 MiB PMD: DRAM.
    assert_eq!(
        (v[0]["blocks"].clone(), v[0]["self_hosted"].clone()),
        (2.into(), false.into())
    );
}
