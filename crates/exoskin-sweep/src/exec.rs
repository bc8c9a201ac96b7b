//! One executor for the analyses: an analysis is described once (a [`Job`]) and run where
//! its [`Placement`] says: in this process, or as the shards of a sweep (the shard
//! contract of this crate) run here, on a Dask cluster or as a Slurm job array ([`Engine`]).
//! One [`Observer`] hears the progress and may stop the work wherever it runs here.
//!
//! The in-process and the sharded runs share the description (the settings types of
//! [`crate::analysis`], which a sharded analysis writes into its spec), the design and the
//! estimators (`exoskin_api::sensitivity`'s plan, evaluator and report; the power search
//! of `exoskin_trials::power`), so their documents are equal; tests hold them to it.
//! A plain sweep spec runs on the same engines through [`run_shards`].

use crate::analysis::{
    power_step, prepare_power, prepare_sensitivity, sensitivity_report, PowerSettings,
    SensitivitySettings, Step,
};
use crate::{merge, run_local, run_shard_with, slurm, LocalRun, Spec, SweepError};
use exoskin_api::sensitivity::Method;
use exoskin_api::uncertainty::Space;
use exoskin_api::ApiError;
use exoskin_model::Observer;
use exoskin_trials::power::PowerResult;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the shards of a sweep run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// Here, on `threads` threads (0: every core); shards and their rows in parallel.
    Local { threads: usize },
    /// On a Dask cluster through the Python package (`exoskin.dask_sweep`), run by
    /// `python` (a program name or path) against the scheduler at `scheduler`.
    Dask { scheduler: String, python: String },
    /// As a Slurm job array: the scripts are written for `exe` (the `exoskin` binary the
    /// cluster runs) and, with `submit`, handed to `sbatch`.
    Slurm { exe: PathBuf, submit: bool },
}

/// What running shards on an engine did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Run here: the shards run now and those found done.
    Here(LocalRun),
    /// One shard run here (`--shard I`), written to this path.
    Shard(PathBuf),
    /// Run on Dask; the shards are in the directory.
    Dask,
    /// Slurm scripts written (`DIR/sweep.sbatch`, an array of `shards` tasks, and
    /// `DIR/merge.sbatch`), submitted with `sbatch` when asked.
    Slurm {
        dir: PathBuf,
        shards: usize,
        submitted: bool,
    },
}

impl Ran {
    /// The commands that submit written Slurm scripts, for the user (None otherwise).
    pub fn how_to_submit(&self) -> Option<String> {
        match self {
            Ran::Slurm {
                dir,
                shards,
                submitted: false,
            } => {
                let d = dir.display();
                Some(format!(
                    "wrote {d}/sweep.sbatch (array 0-{}) and {d}/merge.sbatch; submit with:\n  \
                     jobid=$(sbatch --parsable {d}/sweep.sbatch)\n  \
                     sbatch --dependency=afterok:$jobid {d}/merge.sbatch",
                    shards - 1
                ))
            }
            _ => None,
        }
    }
}

/// Run the shards of `spec` (read from `spec_path`) into `dir` on `engine`: every shard
/// not yet done, or only shard `shard` (here only). `then` is a shell command a Slurm
/// merge job runs after the merge (an analysis's next step).
pub fn run_shards(
    spec: &Spec,
    spec_path: &Path,
    dir: &Path,
    shard: Option<usize>,
    engine: &Engine,
    then: Option<&str>,
    observer: &dyn Observer,
) -> Result<Ran, SweepError> {
    match (engine, shard) {
        (Engine::Local { threads }, Some(i)) => Ok(Ran::Shard(run_shard_with(
            spec, i, dir, *threads, observer,
        )?)),
        (Engine::Local { threads }, None) => Ok(Ran::Here(run_local(spec, dir, *threads, observer)?)),
        (_, Some(_)) => Err(SweepError::Engine {
            message: "--shard runs one shard here; drop it with --engine dask or slurm (they run every shard)".into(),
        }),
        (Engine::Dask { scheduler, python }, None) => {
            dask(spec_path, dir, scheduler, python)?;
            Ok(Ran::Dask)
        }
        (Engine::Slurm { exe, submit }, None) => {
            crate::prepare(spec, dir)?;
            write_slurm(spec, spec_path, dir, exe, then)?;
            if *submit {
                sbatch(dir)?;
            }
            Ok(Ran::Slurm {
                dir: dir.to_path_buf(),
                shards: spec.shards,
                submitted: *submit,
            })
        }
    }
}

/// An analysis, described once whatever runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Global sensitivity of `output` (`NAME[@DAY]`) of the scenario `settings.file`.
    /// `keep` is the screened method's number of parameters kept for the Sobol stage.
    Sensitivity {
        output: String,
        settings: SensitivitySettings,
        keep: usize,
    },
    /// The sample size by simulation of the trial `file`.
    Power {
        file: PathBuf,
        settings: PowerSettings,
    },
}

/// Where an analysis runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In this process, on the current thread pool.
    InProcess,
    /// As a sweep of `shards` shards in `dir`, run by `engine`.
    Shards {
        dir: PathBuf,
        shards: usize,
        engine: Engine,
    },
}

/// An analysis's end.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// The analysis's document (the same JSON wherever it ran). `ran` says what the last
    /// sharded step did (None in process); `power` is a power analysis's typed result where
    /// it ran in process.
    Document {
        doc: Value,
        ran: Option<Ran>,
        power: Option<Box<PowerResult>>,
    },
    /// Handed to Slurm: the merge job runs the next step (the report, or the next round).
    Submitted(Ran),
}

/// Run `job` at `placement`, `observer` hearing the progress of the work run here.
pub fn execute(
    job: &Job,
    placement: &Placement,
    observer: &dyn Observer,
) -> Result<Finished, SweepError> {
    match (job, placement) {
        (
            Job::Sensitivity {
                output,
                settings,
                keep,
            },
            Placement::InProcess,
        ) => Ok(Finished::Document {
            doc: sensitivity_here(output, settings, *keep, observer)?,
            ran: None,
            power: None,
        }),
        (Job::Power { file, settings }, Placement::InProcess) => {
            let (result, doc) = power_here(file, settings, observer)?;
            Ok(Finished::Document {
                doc,
                ran: None,
                power: Some(Box::new(result)),
            })
        }
        (
            Job::Sensitivity {
                output, settings, ..
            },
            Placement::Shards {
                dir,
                shards,
                engine,
            },
        ) => {
            if settings.method == "screened" {
                return Err(SweepError::Engine {
                    message: "--method screened runs its two stages in process; to shard, run --method morris, then --method sobol --parameters with the influential few".into(),
                });
            }
            let spec = prepare_sensitivity(
                dir,
                Path::new(&settings.file),
                output,
                settings.clone(),
                *shards,
            )?;
            let d = slurm::sh(&absolute(dir).display().to_string());
            let then = engine_exe(engine)
                .map(|exe| format!("{exe} sensitivity --from {d} --json > {d}/sensitivity.json"));
            let ran = run_shards(
                &spec,
                &dir.join("spec.toml"),
                dir,
                None,
                engine,
                then.as_deref(),
                observer,
            )?;
            if matches!(ran, Ran::Slurm { .. }) {
                return Ok(Finished::Submitted(ran));
            }
            Ok(Finished::Document {
                doc: sensitivity_report(dir)?,
                ran: Some(ran),
                power: None,
            })
        }
        (
            Job::Power { file, settings },
            Placement::Shards {
                dir,
                shards,
                engine,
            },
        ) => {
            prepare_power(dir, file, settings.clone(), *shards)?;
            resume_power(dir, engine, observer)
        }
    }
}

/// Run (or continue) the rounds of a sharded power analysis in `dir` on `engine` until it
/// is finished (or handed to Slurm, whose merge job continues it with
/// `exoskin power --from DIR --engine slurm --submit`).
pub fn resume_power(
    dir: &Path,
    engine: &Engine,
    observer: &dyn Observer,
) -> Result<Finished, SweepError> {
    let mut last = None;
    loop {
        match power_step(dir)? {
            Step::Done(doc) => {
                return Ok(Finished::Document {
                    doc,
                    ran: last,
                    power: None,
                })
            }
            Step::Round {
                spec,
                path,
                dir: rdir,
            } => {
                let d = slurm::sh(&absolute(dir).display().to_string());
                let then = engine_exe(engine)
                    .map(|exe| format!("exec {exe} power --from {d} --engine slurm --submit"));
                let ran = run_shards(&spec, &path, &rdir, None, engine, then.as_deref(), observer)?;
                match ran {
                    Ran::Slurm { .. } => return Ok(Finished::Submitted(ran)),
                    Ran::Here(_) => {
                        merge(&rdir, None)?;
                    }
                    _ => {}
                }
                last = Some(ran);
            }
        }
    }
}

/// The sensitivity analysis in this process: the scenario read, its uncertain space
/// (restricted to `settings.parameters` when given), the method's design run and the
/// indices estimated.
fn sensitivity_here(
    output: &str,
    settings: &SensitivitySettings,
    keep: usize,
    observer: &dyn Observer,
) -> Result<Value, SweepError> {
    let method = match settings.method.as_str() {
        "screened" => Method::Screened {
            trajectories: settings.trajectories,
            levels: settings.levels,
            samples: settings.samples,
            bootstrap: settings.bootstrap,
            keep,
        },
        _ => settings.method().map_err(|e| SweepError::Analysis {
            message: e.to_string(),
        })?,
    };
    let path = Path::new(&settings.file);
    let scenario = exoskin_model::read_scenario_file(path).map_err(|e| {
        SweepError::Api(ApiError::BadInput {
            field: e.place().and_then(|p| p.key.clone()),
            message: e.to_string(),
        })
    })?;
    let mut space = Space::shipped(&scenario)?;
    if let Some(names) = &settings.parameters {
        space = space.only(names)?;
    }
    Ok(exoskin_api::sensitivity::analyze(
        &scenario,
        &settings.file,
        &space,
        output,
        method,
        settings.seed,
        observer,
    )?)
}

/// The power analysis in this process: the trial read with the settings' alpha, the
/// sample-size search and the assurance draws.
fn power_here(
    file: &Path,
    settings: &PowerSettings,
    observer: &dyn Observer,
) -> Result<(PowerResult, Value), SweepError> {
    let mut trial = exoskin_api::trial::load(file)?;
    trial.alpha = settings.alpha;
    Ok(exoskin_api::trial::run_power_with(
        &trial,
        settings.target,
        settings.replicates,
        settings.max_participants,
        settings.assurance_draws,
        observer,
    )?)
}

/// The `exoskin` binary of a Slurm engine, quoted for a shell.
fn engine_exe(engine: &Engine) -> Option<String> {
    match engine {
        Engine::Slurm { exe, .. } => Some(slurm::sh(&exe.display().to_string())),
        _ => None,
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Write `DIR/sweep.sbatch` and `DIR/merge.sbatch` (the merge followed by `then`).
fn write_slurm(
    spec: &Spec,
    spec_path: &Path,
    dir: &Path,
    exe: &Path,
    then: Option<&str>,
) -> Result<(), SweepError> {
    let (sweep, merge) = slurm::scripts(spec, exe, &absolute(spec_path), &absolute(dir), then);
    for (name, text) in [("sweep.sbatch", sweep), ("merge.sbatch", merge)] {
        let p = dir.join(name);
        exoskin_model::fsutil::write_atomic(&p, text.as_bytes()).map_err(|source| {
            SweepError::Io {
                path: p.display().to_string(),
                what: "cannot write".into(),
                source,
            }
        })?;
    }
    Ok(())
}

/// Submit `DIR/sweep.sbatch`, then `DIR/merge.sbatch` to run after it.
fn sbatch(dir: &Path) -> Result<(), SweepError> {
    let script = dir.join("sweep.sbatch");
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .output()
        .map_err(|source| SweepError::Launch {
            program: "sbatch".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(SweepError::Engine {
            message: format!(
                "sbatch {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let id = String::from_utf8_lossy(&out.stdout);
    let id = id.trim().split(';').next().unwrap_or("");
    let st = Command::new("sbatch")
        .arg(format!("--dependency=afterok:{id}"))
        .arg(dir.join("merge.sbatch"))
        .status()
        .map_err(|source| SweepError::Launch {
            program: "sbatch".into(),
            source,
        })?;
    if !st.success() {
        return Err(SweepError::Engine {
            message: "sbatch of the merge step failed".into(),
        });
    }
    Ok(())
}

/// Run the shards on Dask through the Python package; its own messages go to stderr.
fn dask(spec_path: &Path, dir: &Path, scheduler: &str, python: &str) -> Result<(), SweepError> {
    let found = Command::new(python)
        .args(["-c", "import exoskin.dask_sweep"])
        .output();
    if !matches!(&found, Ok(o) if o.status.success()) {
        return Err(SweepError::NoDask {
            python: python.to_string(),
        });
    }
    let status = Command::new(python)
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .args(["-m", "exoskin.dask_sweep"])
        .arg(spec_path)
        .arg("--out")
        .arg(dir)
        .args(["--scheduler", scheduler])
        .status()
        .map_err(|source| SweepError::Launch {
            program: python.to_string(),
            source,
        })?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(SweepError::DaskFailed { code }),
    }
}
