//! vmemdiet: a faithful userspace model of how Linux describes device memory — compound
//! ZONE_DEVICE pagemaps, vmemmap deduplication, and the memmap they cost — on a simulated
//! machine with real frames, real page tables and real atomics.
//!
//! Layers, bottom to top: [`addr`] (units), [`arch`] (geometry), [`machine`] (simulated
//! hardware), [`mm`] (the kernel side), [`drivers`] (device-dax), [`plan`] (closed form),
//! [`workload`] (benchmarks shared by the CLI and `cargo bench`). [`sync`] lets lock-free code
//! run on `std` or under the shuttle model checker. [`planner`] is the one call that answers
//! "plan this" (closed form or simulated); [`probe`] puts a live system beside it.
//!
//! Plan a device, simulate it, compare: a 4 GiB device-dax namespace at 2 MiB alignment,
//! memmap in RAM. Without dedup its memmap is 64 MiB (64 bytes per 4 KiB page); with compound
//! pages and their tails deduplicated each 2 MiB page keeps two vmemmap pages, 16 MiB in all
//! (the seeds' 16 GiB to 4 GiB per TiB). The simulation builds it on the simulated machine
//! and counts the frames it really allocated.
//!
//! ```
//! use vmemdiet::addr::ByteSize;
//! use vmemdiet::drivers::dax::MapMode;
//! use vmemdiet::mm::profile::Profile;
//! use vmemdiet::planner::{answer, Request};
//!
//! let req = Request {
//!     sizes: vec![vmemdiet::ndctl::parse_size_arg("4G").unwrap()],
//!     aligns: vec![ByteSize::mib(2)],
//!     maps: vec![MapMode::Mem],
//!     profiles: vec![Profile::V5_10, Profile::V6_15],
//!     ..Request::default()
//! };
//! let planned = answer(&req, &mut |_| {}).unwrap();
//! let simulated = answer(&Request { simulate: true, ..req }, &mut |_| {}).unwrap();
//! let memmap = |a: &vmemdiet::planner::Answer| -> Vec<u64> {
//!     a.rows.iter().map(|r| r.row.memmap_bytes).collect()
//! };
//! assert_eq!(memmap(&planned), [64 << 20, 16 << 20]);
//! assert_eq!(memmap(&simulated), memmap(&planned));
//! ```

pub mod addr;
pub mod arch;
pub mod drivers;
pub mod machine;
pub mod mm;
pub mod ndctl;
pub mod plan;
pub mod planner;
pub mod probe;
pub mod simulate;
pub mod sync;
pub mod workload;
