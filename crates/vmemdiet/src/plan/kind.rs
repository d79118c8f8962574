//! What kind of memory a plan describes (`--kind`).

use serde::Serialize;

/// What kind of memory a plan describes (`--kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A device-dax device on device memory.
    #[default]
    Devdax,
    /// A HugeTLB pool carved from System RAM.
    Hugetlb,
    /// A device-dax device bound to the famfs `fsdev` driver: order-0 folios, no dedup.
    #[serde(rename = "devdax-fsdev")]
    DevdaxFsdev,
    /// Anonymous memory in System RAM (private `/dev/zero`, `MADV_NOHUGEPAGE`): order-0
    /// folios whose memmap is the boot memmap of RAM. GUP and MR only; `plan` refuses it.
    Anon,
    /// Anonymous memory advised `MADV_HUGEPAGE`: PMD-mapped THP folios. GUP and MR only.
    Thp,
    /// Shared `/dev/zero` (shmem): order-0 page-cache folios in RAM. GUP and MR only.
    Shmem,
}

impl Kind {
    /// The device-dax driver of a device kind (`Device` for the others, which have none).
    #[must_use]
    pub const fn dax_driver(self) -> crate::drivers::dax::DaxDriver {
        match self {
            Kind::DevdaxFsdev => crate::drivers::dax::DaxDriver::Fsdev,
            Kind::Devdax | Kind::Hugetlb | Kind::Anon | Kind::Thp | Kind::Shmem => {
                crate::drivers::dax::DaxDriver::Device
            }
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Devdax => "devdax",
            Kind::Hugetlb => "hugetlb",
            Kind::DevdaxFsdev => "devdax-fsdev",
            Kind::Anon => "anon",
            Kind::Thp => "thp",
            Kind::Shmem => "shmem",
        })
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "devdax" => Ok(Kind::Devdax),
            "hugetlb" => Ok(Kind::Hugetlb),
            "devdax-fsdev" => Ok(Kind::DevdaxFsdev),
            "anon" => Ok(Kind::Anon),
            "thp" => Ok(Kind::Thp),
            "shmem" => Ok(Kind::Shmem),
            _ => Err(format!(
                "unknown kind '{s}'; valid: devdax, hugetlb, devdax-fsdev, anon, thp, shmem"
            )),
        }
    }
}
