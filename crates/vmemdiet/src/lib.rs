//! vmemdiet: a faithful userspace model of how Linux describes device memory — compound
//! ZONE_DEVICE pagemaps, vmemmap deduplication, and the memmap they cost — on a simulated
//! machine with real frames, real page tables and real atomics.
//!
//! Layers, bottom to top: [`addr`] (units), [`arch`] (geometry), [`machine`] (simulated
//! hardware), [`mm`] (the kernel side), [`drivers`] (device-dax), [`plan`] (closed form),
//! [`workload`] (benchmarks shared by the CLI and `cargo bench`). [`sync`] lets lock-free code
//! run on `std` or under the shuttle model checker.

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
