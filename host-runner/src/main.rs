//! `podsec`: the Pod Security Standards, as one WebAssembly policy module and its host.

use clap::{Parser, Subcommand};
use podsec::commands::{bench::Bench, check::Check, exit, fix::Fix, run::Run, serve::Serve};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// podsec: the Kubernetes Pod Security Standards (baseline and restricted, every version
/// v1.0 to v1.37) as one WebAssembly policy, with Pod Security Admission's messages.
#[derive(Debug, Parser)]
#[command(name = "podsec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(Check),
    Fix(Fix),
    Run(Run),
    Serve(Serve),
    Bench(Bench),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(check) => check.execute(),
        Command::Fix(fix) => fix.execute(),
        Command::Run(run) => run.execute(),
        Command::Serve(serve) => serve.execute(),
        Command::Bench(bench) => bench.execute(),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("podsec: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
