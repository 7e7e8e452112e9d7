//! The tessera binary: parse and validate, start MPI, run the job, map the
//! outcome to an exit code (0 ok, 1 runtime failure, 2 usage/config error).

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use tessera::cli::{BenchCommand, Cli, Command, GpuCommand, IngestCommand, SynthCommand};
use tessera::comm::{Comm, Coordinated, MpiComm, PeerFailed};
use tessera::config::usage;
use tessera::config::UsageError;
use tessera::io::cleanup::{Stopped, EXIT_RESUMABLE};
use tessera::jobs;
use tessera::jobs::bench;
use tessera::rank::current_rank;
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
        Command::Mc(args) => match args
            .to_config()
            .and_then(|cfg| with_backend(cfg, |c| c.backend))
        {
            Ok((cfg, backend)) => {
                let read_seconds = started.elapsed().as_secs_f64();
                with_mpi(|comm| jobs::mc::run_on(&cfg, &backend, comm, read_seconds, &command_line))
            }
            Err(e) => report_before_mpi(e),
        },
        Command::Gpu(GpuCommand::Info) => {
            print!("{}", tessera::gpu::probe().report());
            ExitCode::SUCCESS
        }
        Command::Gpu(GpuCommand::CompileKernels { arch }) => compile_kernels(arch),
        Command::Gpu(GpuCommand::Selftest) => gpu_selftest(),
        Command::Gpu(GpuCommand::Compare {
            got,
            reference,
            tol,
        }) => gpu_compare(&got, &reference, &tol),
        Command::Bench(BenchCommand::Gpu(args)) => match bench::gpu(&args.to_options()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(exit_code_of(&e))
            }
        },
        Command::Image(args) => match args
            .to_config()
            .and_then(|cfg| with_backend(cfg, |c| c.backend))
        {
            Ok((cfg, backend)) => {
                let read_seconds = started.elapsed().as_secs_f64();
                with_mpi(|comm| {
                    jobs::image::run_on(&cfg, &backend, comm, read_seconds, &command_line)
                })
            }
            Err(e) => report_before_mpi(e),
        },
        // a serial tool: under mpirun only rank 0 writes
        Command::Synth(SynthCommand::Image(args)) => {
            match args.to_synth().and_then(|s| {
                if current_rank() == 0 {
                    jobs::image::synth::synth(&s)
                } else {
                    Ok(())
                }
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => report_before_mpi(e),
            }
        }
        Command::Bench(BenchCommand::Image(args)) => {
            match bench::BenchImage::new(&args.to_options()) {
                Ok(b) => with_mpi(|comm| bench::image(&b, comm)),
                Err(e) => report_before_mpi(e),
            }
        }
        Command::Bench(BenchCommand::Mc(args)) => match bench::BenchMc::new(&args.to_options()) {
            Ok(b) => with_mpi(|comm| bench::mc(&b, comm)),
            Err(e) => report_before_mpi(e),
        },
        Command::Bench(BenchCommand::Lightcurves(args)) => {
            with_mpi(|comm| bench::lightcurves(&args.to_options(), comm))
        }
        Command::Lightcurves(args) => match args
            .to_config()
            .and_then(|cfg| with_backend(cfg, |c| c.backend))
        {
            Ok((cfg, backend)) => {
                let read_seconds = started.elapsed().as_secs_f64();
                with_mpi(|comm| {
                    jobs::lightcurves::run_on(&cfg, &backend, comm, read_seconds, &command_line)
                })
            }
            Err(e) => report_before_mpi(e),
        },
        Command::Ingest(IngestCommand::Csv(a)) => {
            with_mpi(|comm| jobs::lcfiles::ingest(comm, &a.dir, &a.out, a.skip_bad, &command_line))
        }
        Command::Ingest(IngestCommand::Table(a)) => match a.column_spec() {
            Ok(spec) => with_mpi(|comm| {
                jobs::lcfiles::ingest_table(
                    comm,
                    &a.input,
                    &a.out,
                    &spec,
                    a.reject_flags,
                    &command_line,
                    a.progress_interval,
                )
            }),
            Err(e) => report_before_mpi(e),
        },
        Command::Synth(SynthCommand::Lightcurves(a)) => match a.to_params() {
            Ok((p, n)) => with_mpi(|comm| {
                jobs::lcfiles::synth(comm, &p, n, &a.out, &command_line, a.progress_interval)
            }),
            Err(e) => report_before_mpi(e),
        },
        Command::Export(a) => with_mpi(|comm| {
            jobs::export::export(
                comm,
                &a.input,
                a.csv.as_deref(),
                a.parquet.as_deref(),
                a.hats.as_deref(),
                a.progress_interval,
            )
        }),
        // a serial tool over files: no MPI
        Command::Plot(args) => without_mpi(
            args.to_options()
                .and_then(|o| jobs::plot::run(&o).map(drop)),
        ),
        // these two start other runs or read files: never MPI themselves
        Command::Scale(args) => without_mpi(
            scaling::study::Study::new(args.to_options())
                .and_then(|s| scaling::study::run(&s).map(drop)),
        ),
        Command::Report(args) => without_mpi(scaling::report::run(&args.to_options()).map(drop)),
        Command::Plan(args) => without_mpi(
            args.to_options()
                .and_then(|o| scaling::plan::run(&o))
                .map(drop),
        ),
    }
}

/// Resolves a job's `--backend` against the GPU probe, before MPI starts:
/// `gpu` without a usable device is a usage error (exit 2) naming what is
/// missing, and nothing is written.
fn with_backend<C>(
    cfg: C,
    requested: impl Fn(&C) -> tessera::gpu::Backend,
) -> anyhow::Result<(C, tessera::gpu::Resolved)> {
    let backend = tessera::gpu::resolve_backend(requested(&cfg)).map_err(usage)?;
    Ok((cfg, backend))
}

/// `tessera gpu compare`: no MPI; exit 2 on a bad --tol.
fn gpu_compare(got: &std::path::Path, reference: &std::path::Path, tol: &[String]) -> ExitCode {
    use tessera::gpu::compare::{compare, table, Tolerance};
    let tols: Result<Vec<Tolerance>, String> = tol.iter().map(|t| t.parse()).collect();
    let tols = match tols {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match compare(got, reference, &tols) {
        Ok(diffs) => {
            print!("{}", table(&diffs));
            if diffs.iter().all(|d| d.ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: gpu compare: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `tessera gpu selftest`: no MPI; exit 2 without a usable device.
fn gpu_selftest() -> ExitCode {
    if let Err(e) = tessera::gpu::memory_cap_from_env() {
        eprintln!("error: gpu selftest: {e}");
        return ExitCode::from(2);
    }
    let p = tessera::gpu::probe();
    if let Some(why) = p.missing() {
        eprintln!("error: gpu selftest: no usable GPU: {why}");
        eprint!("{}", p.report());
        return ExitCode::from(2);
    }
    let mut dev = match tessera::gpu::GpuDevice::for_rank(0, 1) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: gpu selftest: no usable GPU: {e:#}");
            return ExitCode::from(2);
        }
    };
    for l in &p.libraries {
        println!("library: {l}");
    }
    println!("gpu selftest on {}", dev.describe());
    let rows = tessera::gpu::selftest::run(&mut dev, &mut |r| {
        print!("{}", tessera::gpu::selftest::line(r));
        let _ = std::io::Write::flush(&mut std::io::stdout());
    });
    match rows {
        Ok(rows) => {
            println!("\n{}", tessera::gpu::selftest::table(&rows));
            if rows.iter().all(|r| r.ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: gpu selftest: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `tessera gpu compile-kernels`: NVRTC only, no device and no MPI.
fn compile_kernels(arch: Option<String>) -> ExitCode {
    let arch: Option<&'static str> = arch.map(|a| &*Box::leak(a.into_boxed_str()));
    match tessera::gpu::kernels::compile_all(arch) {
        Ok(reports) => {
            let p = tessera::gpu::probe();
            if let Some((a, b)) = p.nvrtc_version {
                println!("NVRTC {a}.{b}, arch {}", arch.unwrap_or("default"));
            }
            for r in reports {
                println!(
                    "kernels/{}: {} bytes of {}, entry points {} ({:.2} s)",
                    r.file,
                    r.ptx_bytes,
                    if r.cubin { "cubin" } else { "PTX" },
                    r.entry_points_found.join(", "),
                    r.seconds
                );
            }
            println!("all kernels compiled");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
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
        // every rank stopped at a signal with its work durable: no abort
        Err(e) if e.downcast_ref::<Stopped>().is_some() => {
            if comm.rank() == 0 {
                eprintln!("{e}");
            }
            EXIT_RESUMABLE
        }
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
