//! Consumers of device memory: device-dax, dax_kmem (device memory onlined as System RAM), the nvdimm pfn reserve behind `--map=dev`, and RDMA
//! memory registration with the HCA driver's own work (rxe, mlx5).

pub mod dax;
pub mod dax_kmem;
pub mod ib_driver;
pub mod ib_umem;
pub mod ib_verbs;
pub mod mlx5;
pub mod nd_pfn;
pub mod rxe;
