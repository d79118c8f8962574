//! Consumers of device memory: device-dax, the nvdimm pfn reserve behind `--map=dev`, and RDMA
//! memory registration.

pub mod dax;
pub mod ib_umem;
pub mod nd_pfn;
