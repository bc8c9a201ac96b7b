//! `exoskin sweep SPEC --out DIR [--shard I] [--threads N] [--engine local|slurm|dask]` and
//! `exoskin sweep merge DIR [--out FILE.parquet]` (the library is `exoskin_sweep`).

use crate::bad_input;
use crate::progress::Progress;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use exoskin_sweep::exec::{self, Ran};
use exoskin_sweep::{Spec, SweepError};
use std::path::PathBuf;

#[derive(ClapArgs)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// The sweep spec (TOML): base, shards, outputs, [[parameters]].
    #[arg(required = true)]
    pub spec: Option<PathBuf>,
    /// The directory for the shards, spec.toml and manifest.json.
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,
    /// Run only this shard (for cluster engines); others are left as they are.
    #[arg(long, value_name = "I")]
    pub shard: Option<usize>,
    /// Threads to run rows on (default: every core).
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
    /// Where the shards run: here, as a Slurm job array (scripts written), or on Dask.
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// The Dask scheduler's address (with --engine dask), e.g. tcp://127.0.0.1:8786.
    #[arg(long, value_name = "ADDR")]
    pub scheduler: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    Local,
    Slurm,
    Dask,
}

#[derive(Subcommand)]
pub enum SweepCommand {
    /// Join a sweep's shards into one Parquet file in row order.
    Merge {
        /// The sweep's --out directory.
        dir: PathBuf,
        /// The merged file (default DIR/sweep.parquet).
        #[arg(long, value_name = "FILE.parquet")]
        out: Option<PathBuf>,
    },
}

pub(crate) fn sweep_error(e: SweepError) -> anyhow::Error {
    match e {
        SweepError::Api(a) => crate::api_error(a),
        e if e.is_bad_input() => bad_input(e.to_string()),
        e => anyhow::Error::new(e),
    }
}

/// The executor's engine from the command line's `--engine`, `--threads`, `--scheduler`
/// and `--submit` (the Dask Python from `EXOSKIN_PYTHON`, default python3; the Slurm
/// scripts run this binary).
pub(crate) fn engine(
    kind: Engine,
    threads: Option<usize>,
    scheduler: Option<&str>,
    submit: bool,
) -> anyhow::Result<exec::Engine> {
    if kind != Engine::Dask && scheduler.is_some() {
        return Err(bad_input("--scheduler goes with --engine dask"));
    }
    Ok(match kind {
        Engine::Local => exec::Engine::Local {
            threads: threads.unwrap_or(0),
        },
        Engine::Dask => exec::Engine::Dask {
            scheduler: scheduler
                .ok_or_else(|| {
                    bad_input(
                        "--engine dask needs --scheduler ADDR, e.g. --scheduler tcp://127.0.0.1:8786",
                    )
                })?
                .to_string(),
            python: std::env::var("EXOSKIN_PYTHON").unwrap_or_else(|_| "python3".into()),
        },
        Engine::Slurm => exec::Engine::Slurm {
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("exoskin")),
            submit,
        },
    })
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if let Some(SweepCommand::Merge { dir, out }) = a.command {
        let m = exoskin_sweep::merge(&dir, out.as_deref()).map_err(sweep_error)?;
        eprintln!(
            "merged {} rows ({} failed) into {}",
            m.rows,
            m.failed,
            m.path.display()
        );
        return Ok(0);
    }
    let (Some(spec_path), Some(dir)) = (a.spec, a.out) else {
        return Err(bad_input("exoskin sweep SPEC --out DIR: both are needed"));
    };
    let spec = Spec::from_file(&spec_path).map_err(sweep_error)?;
    let engine = engine(a.engine, Some(a.threads), a.scheduler.as_deref(), false)?;
    let bar = Progress::new("rows");
    let ran = exec::run_shards(&spec, &spec_path, &dir, a.shard, &engine, None, &bar)
        .map_err(sweep_error)?;
    bar.done();
    match ran {
        Ran::Shard(p) => eprintln!("shard {}: {}", a.shard.unwrap_or(0), p.display()),
        Ran::Here(run) => eprintln!(
            "{} shard(s) run, {} already done ({} rows in all) in {}; merge with: exoskin sweep merge {}",
            run.ran.len(),
            run.skipped.len(),
            run.rows,
            dir.display(),
            dir.display()
        ),
        Ran::Dask => {}
        r @ Ran::Slurm { .. } => {
            if let Some(how) = r.how_to_submit() {
                println!("{how}");
            }
        }
    }
    Ok(0)
}
