//! `vmemdiet`: plan, simulate and benchmark the memmap of device memory.

mod arch_cmd;
mod bench_cmd;
mod bench_hotplug;
mod device_cmd;
mod gup_bench_cmd;
mod gup_longterm_cmd;
mod gup_test_cmd;
mod gup_user;
mod out_dir;
mod output;
mod plan_cmd;
mod plan_render;
mod probe_cmd;
mod report_cmd;
mod report_device;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Plan, simulate and measure the struct-page metadata (memmap, vmemmap) of Linux device
/// memory: pmem, CXL, device-dax, HugeTLB.
///
/// Linux keeps a 64-byte struct page for every 4 KiB page: 16 GiB per TiB. Compound pagemaps
/// and vmemmap deduplication cut that for device-dax to 4 GiB (2M) or 8 MiB (1G) per TiB.
/// vmemdiet plans it in closed form for any size and architecture, builds it for real on a
/// simulated machine with real page tables and atomics, benchmarks GUP/unpin and RDMA memory
/// registration per kernel release, and puts a live system beside the model.
#[derive(Debug, Parser)]
#[command(
    name = "vmemdiet",
    version,
    after_help = "Sizes take binary suffixes like ndctl: 2M = 2 MiB, 64G, 1TiB.\nProfiles: a profile is a release, exact by the change history: --profile 6.17, v7.2 or 7.3.4+deb13-amd64 (uname -r). Named rows: v5.10 (before), rfc, v5.19, v6.12 (LTS), v6.15, v6.18 (LTS), v7.1, v7.3 (default, newest stable), v7.4, next (7.4 plus shared all-tail PTE tables, altmap dedup and RAM-only accounting: no upstream tree has them). A profile can carry switch overrides: v7.3+unpin=per-page (see --switch in each command's --help)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What the memmap of a devdax device costs: RAM, page tables, device capacity, struct
    /// pages written. Closed form for any size; --simulate builds it for real.
    Plan(plan_cmd::PlanArgs),
    /// A live system (or a copy of its /sys and /proc, or ndctl/daxctl JSON) beside the
    /// model: namespace and dax device sizes, memmap, nr_memmap_pages, HugeTLB pools.
    Probe(probe_cmd::ProbeArgs),
    /// Benchmarks, each timed beside its physical limit measured in the same run.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// The main job: every measurement of the seeds, side by side with their published figures,
    /// as terminal tables, report.json, report.md and SVG plots.
    Report(report_cmd::ReportArgs),
    /// gup_test (tools/testing/selftests/mm) unedited: its getopt flags over /dev/zero
    /// (anonymous memory, THP, shmem), -H HugeTLB or /dev/daxX.Y, kselftest TAP and exit codes.
    GupTest(gup_test_cmd::GupTestArgs),
    /// gup_bench (tools/mm/gup_bench.c @11a8f3c57480): GUP_FAST / PIN_FAST / PIN_LONGTERM
    /// timed per run, one line each, over the same memory as gup-test; no options: its
    /// 144-run matrix.
    GupBench(gup_bench_cmd::GupBenchArgs),
    /// gup_longterm-style checks: which memory kinds pin with FOLL_LONGTERM (R/O, R/W), by
    /// which path, per profile, in TAP.
    GupLongterm(gup_longterm_cmd::GupLongtermArgs),
    /// The architectures --arch accepts: page-table shape, sections, leaf sizes, and which
    /// releases deduplicate device-dax vmemmap or optimize HugeTLB vmemmap, with sources.
    Arches(arch_cmd::ArchesArgs),
    /// Shell completions for bash, zsh, fish, elvish or PowerShell, on stdout (README:
    /// "Shell completions and man page" says where to put them).
    Completions(CompletionsArgs),
    /// The man pages (roff): the top page on stdout (`vmemdiet man > vmemdiet.1`), or with
    /// --out DIR one page per command (vmemdiet.1, vmemdiet-plan.1, ...) written into DIR.
    Man(ManArgs),
}

/// Arguments of `vmemdiet man`.
#[derive(Debug, clap::Args)]
struct ManArgs {
    /// Write every page (vmemdiet.1 and one per command) into this directory, created if
    /// missing; other files there are left alone.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Arguments of `vmemdiet completions`.
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// Writes the completions of `shell` to stdout.
fn completions(a: &CompletionsArgs) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "vmemdiet", &mut out);
    write_stdout(&out)
}

/// Writes the top man page to stdout, or every page into `--out`, each whole (see
/// [`out_dir`]), touching nothing else there.
fn man(a: &ManArgs) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let Some(dir) = &a.out else {
        let mut out = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut out)?;
        return write_stdout(&out);
    };
    let dir = out_dir::OutDir::create("--out", dir)?;
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    man_pages(&top, &dir)
}

/// The page of `cmd` and of each of its visible subcommands, recursively, as clap_mangen's
/// `generate_to` names them (vmemdiet-bench-gup.1), written into `dir`.
fn man_pages(cmd: &clap::Command, dir: &out_dir::OutDir) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render(&mut page)?;
    dir.write(&man.get_filename(), &page)
}

/// All of `bytes` on stdout, or an error (a full disk, a closed pipe) instead of a panic.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the output to stdout: {e}"))
}

/// The error and its causes on one line, each cause once: library errors often print their
/// source inside their own message, so a cause already shown by the link before it is skipped.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for link in e.chain() {
        let text = link.to_string();
        if last.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        last = text;
    }
    out.replace('\n', " ")
}

/// Lets a closed pipe end the process quietly (`vmemdiet plan | head`), as it does for C
/// programs, instead of `println!` panicking on EPIPE.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; setting a signal's
    // disposition to SIG_DFL installs no handler code, so nothing can run in signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The message `print!`, `println!` and `eprintln!` panic with when the stream cannot be
/// written (a full disk, `> /dev/full`), if `payload` is one.
fn output_error(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    msg.starts_with("failed printing to std").then_some(msg)
}

/// Every subcommand's output goes through `println!`; one that cannot be written ends the run
/// with exit 1 and one line on stderr (when stderr itself can take it), not a panic.
fn main() -> ExitCode {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if output_error(info.payload()).is_none() {
            hook(info);
        }
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(payload) => match output_error(payload.as_ref()) {
            Some(msg) => {
                let msg = msg.replace("failed printing to", "cannot write the output to");
                let _ = writeln!(std::io::stderr(), "error: {msg}");
                ExitCode::from(1)
            }
            None => std::panic::resume_unwind(payload),
        },
    }
}

fn run() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                if let Err(err) = e.print() {
                    let _ = writeln!(std::io::stderr(), "error: cannot write the help: {err}");
                    return ExitCode::from(1);
                }
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One clear line: clap's first line names the argument and the reason.
            let rendered = e.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Plan(args) => plan_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bench(cmd) => bench_cmd::run(&cmd).map(|()| ExitCode::SUCCESS),
        Command::GupTest(args) => gup_test_cmd::run(&args),
        Command::GupBench(args) => gup_bench_cmd::run(&args),
        Command::GupLongterm(args) => gup_longterm_cmd::run(&args),
        Command::Report(args) => report_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Arches(args) => arch_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Probe(args) => probe_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Completions(args) => completions(&args).map(|()| ExitCode::SUCCESS),
        Command::Man(args) => man(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}
