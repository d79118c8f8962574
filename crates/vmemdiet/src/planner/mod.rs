//! One request, one answer: "plan this". A [`Request`] holds what a user asks (kinds, raw
//! namespace sizes or a usable size to reach, aligns, maps, profiles, arches, the machine and
//! its region); [`answer`] fills in the defaults, runs ndctl's checks and the kernel's rules
//! on every configuration before any is planned or simulated, and returns the rows with what
//! was not offered. `vmemdiet plan`, `probe` and the report all ask through here; the CLI only
//! parses and renders.
//!
//! ```
//! use vmemdiet::addr::ByteSize;
//! use vmemdiet::drivers::dax::MapMode;
//! use vmemdiet::planner::{answer, Request};
//!
//! // A 1 TiB namespace at 2 MiB alignment, memmap in RAM, on the default kernel.
//! let req = Request {
//!     sizes: vec![vmemdiet::ndctl::parse_size_arg("1T").unwrap()],
//!     aligns: vec![ByteSize::mib(2)],
//!     maps: vec![MapMode::Mem],
//!     ..Request::default()
//! };
//! let a = answer(&req, &mut |_| {}).unwrap();
//! // Compound pages with their tails deduplicated: 4 GiB of struct-page frames, not 16.
//! assert_eq!(a.rows[0].row.memmap_bytes, 4 << 30);
//! ```

pub mod machine;

use crate::addr::ByteSize;
use crate::arch::{Arch, Geometry};
use crate::drivers::dax::{valid_aligns, MapMode, MemmapCost};
use crate::mm::profile::{Profile, SwitchError};
use crate::ndctl::{self, NdctlError, NdctlSize, Region};
use crate::plan::{
    capacity, default_ram, default_size, namespace_capacity, plan, smallest_namespace, Capacity,
    Kind, PlanConfig, PlanError, PlanRow,
};
use crate::simulate::{simulate_namespace, SimError};

/// What to plan. Empty lists take the defaults [`answer`] documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// What the memory is; rows follow this order.
    pub kinds: Vec<Kind>,
    /// Raw namespace sizes as `ndctl create-namespace -s` takes them (the unit is kept for
    /// ndctl's wording of a refusal). Empty: 1 TiB, or on one arch whose reach is smaller the
    /// largest power of two that fits ([`default_size`]).
    pub sizes: Vec<NdctlSize>,
    /// The inverse: the smallest namespace whose dax device holds this much (`sizes` unused).
    pub usable: Option<ByteSize>,
    /// Empty: every align the arch offers when no profile is given either (the headline),
    /// else the arch's PMD size (ndctl's default).
    pub aligns: Vec<ByteSize>,
    /// Empty: both maps (a HugeTLB pool: `mem`).
    pub maps: Vec<MapMode>,
    /// Empty: v5.10 and the default profile in the headline on one arch, else the default.
    pub profiles: Vec<Profile>,
    /// `NAME=VALUE` overrides applied to every profile.
    pub switches: Vec<String>,
    /// The architectures, each once; several make one table across them, where what an arch
    /// does not offer is noted rather than refused.
    pub arches: Vec<Arch>,
    /// arm64's VA size (other arches keep theirs when several are asked).
    pub va_bits: Option<u32>,
    /// System RAM of the machine; `None`: the arch's default machine ([`default_ram`]: 256 GiB
    /// where the arch reaches that far), raised for a HugeTLB pool.
    pub ram: Option<ByteSize>,
    /// `sizeof(struct page)`: 64, or a memdesc what-if.
    pub struct_page_size: u64,
    /// The region's interleave ways and align attribute (`None`: the kernel's default).
    pub interleave_ways: u32,
    pub region_align: Option<ByteSize>,
    /// Build each configuration on the simulated machine instead of the closed form.
    pub simulate: bool,
    /// The namespaces exist already (`probe`): ndctl's creation checks are not asked again,
    /// only the kernel's rules.
    pub existing: bool,
}

impl Default for Request {
    /// A devdax namespace of the default size (1 TiB) on x86-64, every other choice the
    /// default.
    fn default() -> Request {
        Request {
            kinds: vec![Kind::Devdax],
            sizes: Vec::new(),
            usable: None,
            aligns: Vec::new(),
            maps: Vec::new(),
            profiles: Vec::new(),
            switches: Vec::new(),
            arches: vec![Arch::X86_64],
            va_bits: None,
            ram: None,
            struct_page_size: Arch::X86_64.geometry().struct_page_size,
            interleave_ways: 1,
            region_align: None,
            simulate: false,
            existing: false,
        }
    }
}

/// One row of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: Kind,
    pub row: PlanRow,
    /// With [`Request::usable`]: the `ndctl create-namespace` command that makes the namespace.
    pub command: Option<String>,
}

/// The answer: rows in the order of the request's lists (arch, kind, size, profile, map,
/// align), and what an arch did not offer (across architectures only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rows: Vec<Row>,
    pub not_offered: Vec<String>,
}

/// Progress of [`answer`], for a front end's bar.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// Every configuration is checked; this many will be planned or simulated.
    Start(usize),
    /// One configuration is done.
    Done(&'a PlanConfig),
}

/// What a request cannot be answered with.
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    #[error("{0}")]
    VaBits(String),
    #[error(transparent)]
    Switch(#[from] SwitchError),
    #[error("--usable answers for one --arch at a time")]
    UsableOneArch,
    #[error(transparent)]
    Ndctl(#[from] NdctlError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A configuration breaks a rule of its kind.
    #[error("{config}: {error}")]
    Config { config: String, error: PlanError },
    #[error("nothing to plan: {0}")]
    Nothing(String),
    /// Across architectures: the arch a refusal came from.
    #[error("{arch}: {source}")]
    AtArch {
        arch: Arch,
        #[source]
        source: Box<PlannerError>,
    },
    #[error("{config}: a {size} HugeTLB pool needs at least {need} of RAM (the pool, its boot memmap and 8 GiB for the rest); --ram {ram} is too small (leave --ram out to size the machine for the pool)")]
    PoolRam {
        config: String,
        size: ByteSize,
        need: ByteSize,
        ram: ByteSize,
    },
    #[error("simulating {what}")]
    Simulate {
        what: String,
        #[source]
        source: SimError,
    },
}

/// `size` as ndctl's `-s` takes it, in the largest exact unit (`1T`, `128G`).
fn ndctl_size(size: ByteSize) -> Result<NdctlSize, PlannerError> {
    Ok(ndctl::parse_size_arg(&size.short())?)
}

/// `list` with every item once, in the order first given: `--align 2M,2M` is one row.
fn unique<T: PartialEq + Clone>(list: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(list.len());
    for x in list {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// The request with its defaults filled in.
struct Resolved<'r> {
    req: &'r Request,
    kinds: Vec<Kind>,
    arches: Vec<Arch>,
    /// The request's sizes, or the default one.
    sizes: Vec<NdctlSize>,
    profiles: Vec<Profile>,
    maps: Vec<MapMode>,
    /// Several architectures: what one does not offer is noted, not refused.
    across: bool,
    /// No align, profile or usable given: the seeds' headline comparison.
    headline: bool,
}

impl<'r> Resolved<'r> {
    fn new(req: &'r Request) -> Result<Resolved<'r>, PlannerError> {
        let several = req.arches.len() > 1;
        let arches = req
            .arches
            .iter()
            .map(|&arch| match req.va_bits {
                Some(_) if several && !arch.to_string().starts_with("arm64") => Ok(arch),
                None => Ok(arch),
                Some(bits) => arch.with_va_bits(bits).map_err(PlannerError::VaBits),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let headline = req.aligns.is_empty() && req.profiles.is_empty() && req.usable.is_none();
        let base = if !req.profiles.is_empty() {
            req.profiles.clone()
        } else if headline && !several {
            vec![Profile::V5_10, Profile::default()]
        } else {
            vec![Profile::default()]
        };
        let profiles = base
            .iter()
            .map(|p| p.with_switches(req.switches.iter().map(String::as_str)))
            .collect::<Result<Vec<_>, _>>()?;
        let maps = if req.maps.is_empty() {
            vec![MapMode::Mem, MapMode::Dev]
        } else {
            unique(&req.maps)
        };
        let arches = unique(&arches);
        let sizes = match (&req.sizes[..], &arches[..]) {
            ([], [one]) => {
                let g = one.geometry_with(req.struct_page_size);
                let ram = req.ram.unwrap_or_else(|| default_ram(g));
                vec![ndctl_size(default_size(g, ram))?]
            }
            ([], _) => vec![ndctl_size(ByteSize::tib(1))?],
            (given, _) => given.to_vec(),
        };
        Ok(Resolved {
            req,
            kinds: unique(&req.kinds),
            arches,
            sizes,
            profiles: unique(&profiles),
            maps,
            across: several,
            headline,
        })
    }

    /// A fatal error at `arch`: across architectures, named with the arch it came from.
    fn at_arch(&self, arch: Arch, e: PlannerError) -> PlannerError {
        if self.across {
            PlannerError::AtArch {
                arch,
                source: Box::new(e),
            }
        } else {
            e
        }
    }

    fn geometry(&self, arch: Arch) -> &'static Geometry {
        arch.geometry_with(self.req.struct_page_size)
    }

    /// The aligns of a row: the request's, or the arch's own (all it offers in the headline,
    /// else its PMD size, ndctl's default).
    fn aligns(&self, g: &Geometry, profile: Profile) -> Vec<ByteSize> {
        if !self.req.aligns.is_empty() {
            unique(&self.req.aligns)
        } else if self.headline {
            valid_aligns(g, profile.kernel())
        } else {
            vec![g.pmd_size()]
        }
    }

    /// The region a namespace is carved from.
    fn region(&self, g: &Geometry) -> Result<Region, NdctlError> {
        let ways = self.req.interleave_ways;
        match self.req.region_align {
            Some(align) => Region::with_align(g, ways, align),
            None => Region::with_default_align(g, ways, ByteSize::new(u64::MAX)),
        }
    }

    /// The maps of a kind: a HugeTLB pool's memmap is in RAM unless maps were asked.
    fn maps_of(&self, kind: Kind) -> Vec<MapMode> {
        if self.req.maps.is_empty() && kind == Kind::Hugetlb {
            vec![MapMode::Mem]
        } else {
            self.maps.clone()
        }
    }

    fn config(&self, kind: Kind, arch: Arch, profile: Profile) -> PlanConfig {
        PlanConfig {
            size: ByteSize::new(0),
            align: ByteSize::new(0),
            map: MapMode::Mem,
            profile,
            arch,
            ram_size: self
                .req
                .ram
                .unwrap_or_else(|| default_ram(self.geometry(arch))),
            kind,
            struct_page_size: self.req.struct_page_size,
        }
    }
}

/// Answers `req`, reporting progress to `on_step` (not called for [`Request::usable`], whose
/// search is quick).
///
/// # Errors
/// The first configuration that ndctl or the kernel refuses, named with its rule and what
/// would be valid; across architectures, an arch's own limits are noted in
/// [`Answer::not_offered`] instead, and only a request with nothing left is refused.
pub fn answer(req: &Request, on_step: &mut dyn FnMut(Step)) -> Result<Answer, PlannerError> {
    let r = Resolved::new(req)?;
    if let Some(usable) = req.usable {
        return answer_usable(&r, usable);
    }
    let mut checked = Vec::new();
    let mut not_offered = Vec::new();
    for &arch in &r.arches {
        let g = r.geometry(arch);
        let region = r.region(g).map_err(|e| r.at_arch(arch, e.into()))?;
        for &profile in &r.profiles {
            for align in r.aligns(g, profile) {
                match check_align(&r, arch, &region, profile, align) {
                    Ok(found) => checked.extend(found),
                    Err(Refusal::Noted(note)) => {
                        if !not_offered.contains(&note) {
                            not_offered.push(note);
                        }
                    }
                    Err(Refusal::Fatal(e)) => return Err(r.at_arch(arch, e)),
                }
            }
        }
    }
    if checked.is_empty() {
        return Err(PlannerError::Nothing(nothing_left(&r.arches, &not_offered)));
    }
    check_pool_ram(req, &checked)?;
    sort_rows(&r, &mut checked);
    on_step(Step::Start(checked.len()));
    let mut rows = Vec::with_capacity(checked.len());
    for (c, cap) in &checked {
        let (cost, cap) = if req.simulate {
            let what = format!("{} at align {} ({})", c.size, c.align.short(), c.profile);
            simulated(c, what)?
        } else {
            (plan(c)?, *cap)
        };
        rows.push(Row {
            kind: c.kind,
            row: PlanRow::new(c, cost, req.simulate).with_capacity(Some(cap)),
            command: None,
        });
        on_step(Step::Done(c));
    }
    Ok(Answer { rows, not_offered })
}

/// Why one align of one arch and profile gave no rows.
enum Refusal {
    /// Not offered by the arch, across architectures: a note under the table.
    Noted(String),
    Fatal(PlannerError),
}

/// Every configuration at one arch, profile and align, checked: ndctl's checks first, as
/// ndctl runs them before the kernel sees the namespace, then each kind's planner rules.
fn check_align(
    r: &Resolved,
    arch: Arch,
    region: &Region,
    profile: Profile,
    align: ByteSize,
) -> Result<Vec<(PlanConfig, Capacity)>, Refusal> {
    let g = r.geometry(arch);
    if !r.req.existing && r.kinds.iter().any(|&k| k != Kind::Hugetlb) {
        let release = profile.kernel();
        let refused = r.sizes.iter().find_map(|size| {
            ndctl::validate_namespace_options(g, release, size, align, region).err()
        });
        match refused {
            // Across architectures an arch's refusal is its own: noted, the table goes on.
            Some(e) if r.across => {
                return Err(Refusal::Noted(arch_note(arch, &e.to_string())));
            }
            Some(e) => return Err(Refusal::Fatal(e.into())),
            None => {}
        }
    }
    let mut out = Vec::new();
    for &kind in &r.kinds {
        let found = configs_of(r, kind, arch, profile, align).map_err(|e| noted(r, arch, e))?;
        for c in found {
            // The size as the user typed it, for ndctl's wording.
            let given = r
                .req
                .sizes
                .iter()
                .find(|s| s.bytes == c.size)
                .unwrap_or(&r.sizes[0]);
            let cap = if r.req.existing {
                capacity(&c)
            } else {
                namespace_capacity(&c, given, region)
            };
            let cap = cap.map_err(|error| noted(r, arch, config_error(&c, error)))?;
            out.push((c, cap));
        }
    }
    Ok(out)
}

/// The configurations of one kind at one arch, profile and align (size, map), each once,
/// every one checked by its kind's planner before any capacity is asked.
fn configs_of(
    r: &Resolved,
    kind: Kind,
    arch: Arch,
    profile: Profile,
    align: ByteSize,
) -> Result<Vec<PlanConfig>, PlannerError> {
    let mut configs: Vec<PlanConfig> = Vec::new();
    for size in &r.sizes {
        for &map in &r.maps_of(kind) {
            let c = PlanConfig {
                size: size.bytes,
                align,
                map,
                ..r.config(kind, arch, profile)
            };
            if !configs.contains(&c) {
                configs.push(c);
            }
        }
    }
    for c in &configs {
        plan(c).map_err(|error| config_error(c, error))?;
    }
    Ok(configs)
}

fn config_error(c: &PlanConfig, error: PlanError) -> PlannerError {
    PlannerError::Config {
        config: c.to_string(),
        error,
    }
}

/// An error at one arch: across architectures, a configuration the arch refuses (an align
/// it lacks or the size does not divide by, a size beyond its reach, a reserve too short on
/// its geometry, a profile before its device-dax) is a note naming the arch; so, on one arch,
/// is a default profile the arch predates.
fn noted(r: &Resolved, arch: Arch, e: PlannerError) -> Refusal {
    let PlannerError::Config { error, .. } = &e else {
        return Refusal::Fatal(e);
    };
    let note =
        r.across || (matches!(error, PlanError::ArchTooNew { .. }) && r.req.profiles.is_empty());
    if note {
        Refusal::Noted(arch_note(arch, &error.to_string()))
    } else {
        Refusal::Fatal(e)
    }
}

/// Why nothing was left to plan, from the notes of each arch: one refusal said once when
/// every arch gave the same (the size itself is wrong, say), else every note.
fn nothing_left(arches: &[Arch], notes: &[String]) -> String {
    let bare: Vec<&str> = notes
        .iter()
        .filter_map(|n| {
            arches
                .iter()
                .find_map(|a| n.strip_prefix(&format!("{a}: ")))
        })
        .collect();
    match &bare[..] {
        [first, rest @ ..]
            if bare.len() == notes.len() && !rest.is_empty() && rest.iter().all(|b| b == first) =>
        {
            format!("every arch asked refuses it: {first}")
        }
        _ => notes.join("; "),
    }
}

/// A "not offered" note: the arch's name, then the error without naming it again.
fn arch_note(arch: Arch, error: &str) -> String {
    format!("{arch}: {}", error.replace(&format!(" on {arch}"), ""))
}

/// A `--ram` the user gave is honoured: a HugeTLB pool that does not fit in it is refused
/// (without it the machine grows to hold the pool).
fn check_pool_ram(req: &Request, checked: &[(PlanConfig, Capacity)]) -> Result<(), PlannerError> {
    let Some(ram) = req.ram else {
        return Ok(());
    };
    match checked
        .iter()
        .find(|(c, _)| c.kind == Kind::Hugetlb && c.machine_ram() > ram)
    {
        Some((c, _)) => Err(PlannerError::PoolRam {
            config: c.to_string(),
            size: c.size,
            need: c.machine_ram(),
            ram,
        }),
        None => Ok(()),
    }
}

/// Rows in the order of the request's lists: arch, kind, size, profile, map, align.
fn sort_rows(r: &Resolved, rows: &mut [(PlanConfig, Capacity)]) {
    let pos = |list: &[u64], x: u64| list.iter().position(|&y| y == x).unwrap_or(usize::MAX);
    let sizes: Vec<u64> = r.sizes.iter().map(|s| s.bytes.bytes()).collect();
    rows.sort_by_key(|(c, _)| {
        let aligns: Vec<u64> = r
            .aligns(r.geometry(c.arch), c.profile)
            .iter()
            .map(|x| x.bytes())
            .collect();
        (
            r.arches.iter().position(|&x| x == c.arch),
            r.req.kinds.iter().position(|&k| k == c.kind),
            pos(&sizes, c.size.bytes()),
            r.profiles.iter().position(|&p| p == c.profile),
            r.maps.iter().position(|&m| m == c.map),
            pos(&aligns, c.align.bytes()),
        )
    });
}

fn simulated(c: &PlanConfig, what: String) -> Result<(MemmapCost, Capacity), PlannerError> {
    simulate_namespace(c).map_err(|source| PlannerError::Simulate { what, source })
}

/// [`Request::usable`]: per kind, profile, map and align, the smallest namespace that yields
/// `usable`, what it costs, and the `ndctl create-namespace` command that makes it.
fn answer_usable(r: &Resolved, usable: ByteSize) -> Result<Answer, PlannerError> {
    let [arch] = r.arches[..] else {
        return Err(PlannerError::UsableOneArch);
    };
    let g = r.geometry(arch);
    let region = r.region(g)?;
    let aligns = r.aligns(g, r.profiles[r.profiles.len() - 1]);
    let mut rows = Vec::new();
    for &kind in &r.kinds {
        for &profile in &r.profiles {
            for &map in &r.maps {
                for &align in &aligns {
                    let template = PlanConfig {
                        align,
                        map,
                        ..r.config(kind, arch, profile)
                    };
                    rows.push(smallest_row(r, &template, &region, usable)?);
                }
            }
        }
    }
    Ok(Answer {
        rows,
        not_offered: Vec::new(),
    })
}

/// The row of the smallest namespace at `template`'s align, map and profile.
fn smallest_row(
    r: &Resolved,
    template: &PlanConfig,
    region: &Region,
    usable: ByteSize,
) -> Result<Row, PlannerError> {
    let size =
        smallest_namespace(template, region, usable).map_err(|error| PlannerError::Config {
            config: format!(
                "--usable {} at align {} ({}, map={})",
                usable.short(),
                template.align.short(),
                template.profile,
                template.map
            ),
            error,
        })?;
    let c = PlanConfig { size, ..*template };
    let (cost, cap) = if r.req.simulate {
        simulated(&c, c.to_string())?
    } else {
        let text = ndctl_size(size)?;
        let cost = plan(&c)?;
        let cap = if r.req.existing {
            capacity(&c)?
        } else {
            namespace_capacity(&c, &text, region)?
        };
        (cost, cap)
    };
    Ok(Row {
        kind: c.kind,
        row: PlanRow::new(&c, cost, r.req.simulate).with_capacity(Some(cap)),
        command: Some(ndctl::create_namespace_command(size, c.align, c.map)),
    })
}
