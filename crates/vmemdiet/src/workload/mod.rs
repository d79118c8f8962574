//! Benchmark workloads, shared by the CLI and `cargo bench`.

pub mod bootstrap;
pub mod configs;
pub mod gup;
pub mod gup_longterm;
pub mod gup_test;
pub mod hotplug;
pub mod hugetlb_pool;
pub mod limit;
pub mod mapping;
pub mod median;
pub mod mr;
pub mod report;
pub mod seeds;
