//! Consumers of device memory: device-dax and the nvdimm pfn reserve behind `--map=dev`.

pub mod dax;
pub mod nd_pfn;
