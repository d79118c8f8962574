//! `vmemdiet`: plan, simulate and benchmark the memmap of device memory.

mod arch_cmd;
mod bench_cmd;
mod gup_longterm_cmd;
mod gup_test_cmd;
mod output;
mod plan_cmd;
mod plan_render;
mod probe_cmd;
mod report_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Understand, measure and improve how Linux describes device memory (struct page, vmemmap,
/// compound pagemaps), on a simulated machine.
#[derive(Debug, Parser)]
#[command(name = "vmemdiet", version, about, long_about = None, after_help = "Sizes take binary suffixes like ndctl: 2M = 2 MiB, 64G, 1TiB.\nProfiles: v5.10 (before), rfc, v5.19, v6.12 (LTS), v6.15 (default), mm-2026 (the mm tree of 2026), next (shared all-tail PTE tables and altmap dedup on top: no upstream tree has them). A profile can carry switch overrides: v6.15+unpin=per-page (see --switch in each command's --help).")]
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
    /// gup_longterm-style checks: which memory kinds pin with FOLL_LONGTERM (R/O, R/W), by
    /// which path, per profile, in TAP.
    GupLongterm(gup_longterm_cmd::GupLongtermArgs),
    /// The architectures --arch accepts: page-table shape, sections, leaf sizes, and which
    /// releases deduplicate device-dax vmemmap or optimize HugeTLB vmemmap, with sources.
    Arches(arch_cmd::ArchesArgs),
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

fn main() -> ExitCode {
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
                let _ = e.print();
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
        Command::GupLongterm(args) => gup_longterm_cmd::run(&args),
        Command::Report(args) => report_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Arches(args) => arch_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Probe(args) => probe_cmd::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}
