//! Benchmark workloads, shared by the CLI and `cargo bench`.

pub mod bootstrap;
pub mod gup;
pub mod limit;
pub mod mr;
