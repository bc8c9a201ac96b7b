//! `exoskin sweep SPEC --out DIR [--shard I] [--threads N] [--engine local|slurm|dask]` and
//! `exoskin sweep merge DIR [--out FILE.parquet]` (the library is `exoskin_sweep`).

use crate::bad_input;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use exoskin_sweep::{Spec, SweepError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    if e.is_bad_input() {
        bad_input(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
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
    if a.engine != Engine::Dask && a.scheduler.is_some() {
        return Err(bad_input("--scheduler goes with --engine dask"));
    }
    match a.engine {
        Engine::Local => local(&spec, &dir, a.shard, a.threads),
        Engine::Slurm => slurm(&spec, &spec_path, &dir, a.shard),
        Engine::Dask => dask(&spec_path, &dir, a.shard, a.scheduler.as_deref(), false),
    }
}

pub(crate) fn progress_bar(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, ETA {eta}")
    {
        pb.set_style(style);
    }
    pb
}

fn local(spec: &Spec, dir: &Path, shard: Option<usize>, threads: usize) -> anyhow::Result<u8> {
    if let Some(i) = shard {
        let pb = progress_bar(spec.shard_rows(i).len());
        let p = exoskin_sweep::run_shard_with(spec, i, dir, threads, &|n| pb.inc(n as u64))
            .map_err(sweep_error)?;
        pb.finish_and_clear();
        eprintln!("shard {i}: {}", p.display());
        return Ok(0);
    }
    let todo = exoskin_sweep::pending(spec, dir);
    let rows: usize = todo.iter().map(|i| spec.shard_range(*i).len()).sum();
    let pb = progress_bar(rows);
    let run =
        exoskin_sweep::run_local(spec, dir, threads, &|n| pb.inc(n as u64)).map_err(sweep_error)?;
    pb.finish_and_clear();
    eprintln!(
        "{} shard(s) run, {} already done ({} rows in all) in {}; merge with: exoskin sweep merge {}",
        run.ran.len(),
        run.skipped.len(),
        spec.row_count(),
        dir.display(),
        dir.display()
    );
    Ok(0)
}

pub(crate) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn slurm(spec: &Spec, spec_path: &Path, dir: &Path, shard: Option<usize>) -> anyhow::Result<u8> {
    if shard.is_some() {
        return Err(bad_input(
            "--shard runs one shard here; --engine slurm writes the scripts for all of them",
        ));
    }
    exoskin_sweep::prepare(spec, dir).map_err(sweep_error)?;
    write_slurm(spec, spec_path, dir, None)?;
    Ok(0)
}

/// Write `DIR/sweep.sbatch` and `DIR/merge.sbatch` (the merge followed by `then`) and say
/// how to submit them.
pub(crate) fn write_slurm(
    spec: &Spec,
    spec_path: &Path,
    dir: &Path,
    then: Option<&str>,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("exoskin"));
    let (sweep, merge) =
        exoskin_sweep::slurm::scripts(spec, &exe, &absolute(spec_path), &absolute(dir), then);
    for (name, text) in [("sweep.sbatch", sweep), ("merge.sbatch", merge)] {
        let p = dir.join(name);
        exoskin_model::fsutil::write_atomic(&p, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?;
    }
    let d = dir.display();
    println!(
        "wrote {d}/sweep.sbatch (array 0-{}) and {d}/merge.sbatch; submit with:\n  \
         jobid=$(sbatch --parsable {d}/sweep.sbatch)\n  \
         sbatch --dependency=afterok:$jobid {d}/merge.sbatch",
        spec.shards - 1
    );
    Ok(())
}

/// The `exoskin` binary's path, quoted for a shell.
pub(crate) fn exe_word() -> String {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("exoskin"));
    exoskin_sweep::slurm::sh(&exe.display().to_string())
}

pub(crate) fn dask(
    spec_path: &Path,
    dir: &Path,
    shard: Option<usize>,
    scheduler: Option<&str>,
    to_stderr: bool,
) -> anyhow::Result<u8> {
    if shard.is_some() {
        return Err(bad_input(
            "--shard runs one shard here; drop it with --engine dask",
        ));
    }
    let Some(addr) = scheduler else {
        return Err(bad_input(
            "--engine dask needs --scheduler ADDR, e.g. --scheduler tcp://127.0.0.1:8786",
        ));
    };
    let python = std::env::var("EXOSKIN_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import exoskin.dask_sweep"])
        .output();
    if !matches!(&found, Ok(o) if o.status.success()) {
        return Err(bad_input(format!(
            "--engine dask runs the shards through the Python package, which {python} cannot \
             import (exoskin.dask_sweep); install it with `pip install ./crates/exoskin-py \
             dask distributed`, or set EXOSKIN_PYTHON to a Python that has it"
        )));
    }
    let mut cmd = Command::new(&python);
    if to_stderr {
        // an analysis prints its own document on stdout
        cmd.stdout(std::process::Stdio::from(std::io::stderr()));
    }
    let status = cmd
        .args(["-m", "exoskin.dask_sweep"])
        .arg(spec_path)
        .arg("--out")
        .arg(dir)
        .args(["--scheduler", addr])
        .status()
        .map_err(|e| anyhow::anyhow!("starting {python}: {e}"))?;
    Ok(match status.code() {
        Some(0) => 0,
        Some(2) => 2,
        _ => 1,
    })
}
