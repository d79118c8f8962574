//! Independent reference model ("test oracle") for vmemdiet, and the fixtures its tests share.
//!
//! [`expected_counts`] computes the memory that creating one device-dax namespace costs on a fresh
//! simulated machine of any of the eleven architectures by *brute force*: it boots the machine's
//! RAM memmap section by section, walks every section chunk of the device,
//! replays what the kernel's vmemmap populate does for it page by page (recording, per
//! vmemmap page, which simulated frame it maps and which page-table pages the walk needs, in hash
//! sets), then replays memmap init over the resulting vmemmap. It deliberately shares no code and no
//! closed formula with the planner in `crates/vmemdiet`; the two must agree (README §6 INV-5).
//! [`refmodel`] is the same idea for GUP reference counts.
//!
//! [`fixtures`] and [`strategies`] are the other half: helpers that drive the library under test
//! (boot a small machine, create and map a devdax device, generate plan configurations). They use
//! `vmemdiet`'s public API; the oracle and the reference model do not.
//!
//! Section references (`§1.2` …) are to `shared/design/kernel-brief.md`.

pub mod fixtures;
mod oracle;
pub mod refmodel;
pub mod strategies;

pub use oracle::{arch_sizes, expected_counts, try_expected_counts, OracleConfig, OracleCounts};
