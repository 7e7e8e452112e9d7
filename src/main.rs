//! The tessera binary: parse and validate, start MPI, run the job, map the
//! outcome to an exit code (0 ok, 1 runtime failure, 2 usage/config error).

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use tessera::bench;
use tessera::cli::{BenchCommand, Cli, Command};
use tessera::comm::{current_rank, Comm, Coordinated, MpiComm, PeerFailed};
use tessera::config::UsageError;
use tessera::jobs;
use tessera::scaling;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // under mpirun every rank parses the same arguments: one message is enough
            if current_rank() == 0 {
                let _ = e.print();
            }
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    match cli.command {
        Command::Mc(args) => match args.to_config() {
            Ok(cfg) => {
                let read_seconds = started.elapsed().as_secs_f64();
                with_mpi(|comm| jobs::mc::run(&cfg, comm, read_seconds, &command_line))
            }
            Err(e) => report_before_mpi(e),
        },
        Command::Bench(BenchCommand::Mc(args)) => match bench::BenchMc::from_args(&args) {
            Ok(b) => with_mpi(|comm| bench::mc(&b, comm)),
            Err(e) => report_before_mpi(e),
        },
        // these two start other runs or read files: never MPI themselves
        Command::Scale(args) => without_mpi(
            scaling::study::Study::from_args(&args).and_then(|s| scaling::study::run(&s).map(drop)),
        ),
        Command::Report(args) => without_mpi(
            scaling::report::run(&scaling::report::ReportOptions {
                files: args.files,
                out_dir: args.out_dir,
                cores_per_node: args.cores_per_node,
                title: args.title,
            })
            .map(drop),
        ),
    }
}

fn exit_code_of(e: &anyhow::Error) -> u8 {
    let inner = e.downcast_ref::<Coordinated>().map(|c| &c.0).unwrap_or(e);
    if inner.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

fn without_mpi(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code_of(&e))
        }
    }
}

fn report_before_mpi(e: anyhow::Error) -> ExitCode {
    if current_rank() == 0 {
        eprintln!("error: {e:#}");
    }
    ExitCode::from(exit_code_of(&e))
}

/// Starts MPI, runs `job`, and turns its error into an exit code. An error
/// that the other ranks do not know about (not agreed through
/// `Comm::agree`) aborts the whole job so nobody waits forever.
fn with_mpi(job: impl FnOnce(&MpiComm) -> anyhow::Result<()>) -> ExitCode {
    let comm = match MpiComm::init() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("[rank {}] error: cannot start MPI: {e:#}", current_rank());
            return ExitCode::from(1);
        }
    };
    let result = job(&comm);
    let code = match &result {
        Ok(()) => 0,
        Err(e) if e.downcast_ref::<PeerFailed>().is_some() => 1,
        Err(e) => {
            eprintln!("[rank {}] error: {e:#}", comm.rank());
            let code = exit_code_of(e);
            if e.downcast_ref::<Coordinated>().is_none() && comm.size() > 1 {
                comm.abort(i32::from(code));
            }
            code
        }
    };
    drop(comm);
    ExitCode::from(code)
}
