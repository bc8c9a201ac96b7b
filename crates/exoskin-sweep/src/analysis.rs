//! Sensitivity and power analyses on the shard contract.
//!
//! An analysis spec is a sweep spec with a `design` file (the rows) and an `[analysis]`
//! table (what a row computes and how the merged rows become the result); `exoskin sweep`,
//! its Slurm array and the Python `dask_sweep` run its shards like any other.
//!
//! **Sensitivity** (`kind = "sensitivity"`, base: a scenario). The rows are the points of
//! the Saltelli (Sobol) or Morris design of `exoskin_api::sensitivity`: column
//! `design_row` (the point's place in the design) and one column per uncertain parameter
//! holding its coordinate in the unit cube (the prior's quantile). Rows are ordered so
//! that points sharing a transport run (same transport coordinates, where the scenario's
//! transport does not depend on the response) are adjacent: a shard runs transport once
//! per such group it holds, as the in-process analysis does; a group cut by a shard
//! boundary costs one more transport run. [`sensitivity_report`] reads the merged rows
//! back into design order and computes the indices with the same estimators, so the
//! document equals the in-process one bit for bit.
//!
//! **Power** (`kind = "power"`, base: a trial). The sample-size search doubles and bisects,
//! so it runs in rounds, each a sweep in `DIR/round-NN`: a round holds the sample size the
//! search needs next, its replicates cut into one block per shard (columns `n`,
//! `assurance`, `first`, `count`; outputs `rejections` and `failed_draws`). Replicate `r`
//! of size `n` uses the same participants wherever it runs, and rejections add up over
//! blocks, so the curve equals the in-process one. After the search, one round computes
//! assurance at every size of the curve. [`power_step`] replays the search over the merged
//! rounds and says what to run next, or returns the document of `exoskin power --json`.

use crate::shard::{merge, read_parquet, run_local, RowOutcome, HASH_KEY};
use crate::spec::{write_design, Row, Spec};
use crate::RowError;
use crate::SweepError;
use arrow_array::{Array, Float64Array, RecordBatch, StringArray};
use exoskin_api::sensitivity::{Analysis as Report, Evaluator, Method, Plan};
use exoskin_api::uncertainty::Space;
use exoskin_model::{Observer, Scenario, Tally};
use exoskin_trials::power::{finish_power, search, PowerPoint, Search};
use exoskin_trials::sim::Responder;
use exoskin_trials::stats::wilson;
use exoskin_trials::{ModelResponder, Trial};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What the rows of an analysis spec compute.
#[derive(Debug, Clone, PartialEq)]
pub enum Analysis {
    Sensitivity(SensitivitySettings),
    Power(PowerSettings),
}

/// The settings of a sharded sensitivity analysis (`[analysis]` with kind "sensitivity").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivitySettings {
    /// The scenario as the user named it (reported in the document).
    pub file: String,
    /// "sobol" or "morris".
    pub method: String,
    pub samples: usize,
    pub bootstrap: usize,
    pub trajectories: usize,
    pub levels: usize,
    pub seed: u64,
    /// Only these uncertain parameters (the others stay at their medians).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<String>>,
}

/// A sharded sensitivity analysis's method that is not one it runs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("method \"{method}\": use sobol or morris")]
pub struct UnknownMethod {
    pub method: String,
}

/// A design file whose columns are not the analysis's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignColumns {
    #[error("a sensitivity design's first column is design_row")]
    NoDesignRow,
    #[error("a power design's columns are {}", POWER_COLUMNS.join(","))]
    NotPowerColumns,
}

impl SensitivitySettings {
    /// The method the settings name (`sobol` or `morris`: a sharded analysis's).
    pub fn method(&self) -> Result<Method, UnknownMethod> {
        match self.method.as_str() {
            "sobol" => Ok(Method::Sobol {
                samples: self.samples,
                bootstrap: self.bootstrap,
            }),
            "morris" => Ok(Method::Morris {
                trajectories: self.trajectories,
                levels: self.levels,
            }),
            other => Err(UnknownMethod {
                method: other.to_string(),
            }),
        }
    }
}

/// The settings of a sharded power analysis (`[analysis]` with kind "power"), resolved as
/// `exoskin_api::trial::power_settings` resolves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSettings {
    pub target: f64,
    pub alpha: f64,
    pub replicates: usize,
    pub max_participants: usize,
    pub assurance_draws: usize,
}

/// The design columns of a power round.
const POWER_COLUMNS: [&str; 4] = ["n", "assurance", "first", "count"];
/// The outputs of a power round.
const POWER_OUTPUTS: [&str; 2] = ["rejections", "failed_draws"];

impl Analysis {
    /// Read an `[analysis]` table; the error is (key, what is wrong).
    pub(crate) fn from_table(t: &toml::Table) -> Result<Analysis, (String, String)> {
        let mut rest = t.clone();
        let kind = rest.remove("kind");
        let de = |e: toml::de::Error| (String::new(), e.message().to_string());
        match kind.as_ref().and_then(toml::Value::as_str) {
            Some("sensitivity") => {
                let s: SensitivitySettings = toml::Value::Table(rest).try_into().map_err(de)?;
                s.method()
                    .map_err(|m| ("method".to_string(), m.to_string()))?;
                Ok(Analysis::Sensitivity(s))
            }
            Some("power") => Ok(Analysis::Power(
                toml::Value::Table(rest).try_into().map_err(de)?,
            )),
            _ => Err(("kind".into(), "must be \"sensitivity\" or \"power\"".into())),
        }
    }

    fn to_table(&self) -> toml::Table {
        let (kind, mut t) = match self {
            Analysis::Sensitivity(s) => ("sensitivity", toml::Table::try_from(s)),
            Analysis::Power(p) => ("power", toml::Table::try_from(p)),
        };
        let t = t.as_mut().map(std::mem::take).unwrap_or_default();
        let mut out = toml::Table::new();
        out.insert("kind".into(), kind.into());
        out.extend(t);
        out
    }

    /// Whether the base is a trial file (else a scenario).
    pub(crate) fn base_is_trial(&self) -> bool {
        matches!(self, Analysis::Power(_))
    }

    /// Check the design file's columns.
    pub(crate) fn check_columns(&self, names: &[String]) -> Result<(), DesignColumns> {
        match self {
            Analysis::Sensitivity(_) if names.first().map(String::as_str) != Some("design_row") => {
                Err(DesignColumns::NoDesignRow)
            }
            Analysis::Power(_) if names != POWER_COLUMNS => Err(DesignColumns::NotPowerColumns),
            _ => Ok(()),
        }
    }
}

/// What an analysis's rows need, made once per spec (the scenario and its space, or the
/// trial and its responders).
enum Context {
    Sensitivity {
        scenario: Box<Scenario>,
        name: String,
        space: Box<Space>,
        output: String,
    },
    Power(Arc<PowerContext>),
}

struct PowerContext {
    trial: Trial,
    responder: ModelResponder,
    assurance: OnceLock<Result<(Vec<ModelResponder>, usize), RowError>>,
    draws: usize,
}

/// The per-spec cache of an analysis's [`Context`].
#[derive(Clone, Default)]
pub(crate) struct ContextCell(Arc<OnceLock<Result<Arc<Context>, RowError>>>);

impl std::fmt::Debug for ContextCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextCell")
    }
}

fn context(spec: &Spec) -> Result<Arc<Context>, RowError> {
    spec.context
        .0
        .get_or_init(|| make_context(spec).map(Arc::new))
        .clone()
}

/// What an analysis's rows need; its error is every row's (with the kind: the user's
/// input, or the program's data).
fn make_context(spec: &Spec) -> Result<Context, RowError> {
    match &spec.analysis {
        Some(Analysis::Sensitivity(s)) => {
            let scenario = exoskin_model::read_scenario_file(Path::new(&spec.base_name))
                .map_err(|e| RowError::input(e.to_string()))?;
            let space = sensitivity_space(&scenario, s)?;
            let names: Vec<&str> = space.params.iter().map(|p| p.name.as_str()).collect();
            let cols: Vec<&str> = spec.parameters[1..]
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            if names != cols {
                return Err(RowError::input(format!(
                    "the design's columns ({}) are not the scenario's uncertain parameters ({})",
                    cols.join(", "),
                    names.join(", ")
                )));
            }
            Ok(Context::Sensitivity {
                scenario: Box::new(scenario),
                name: s.file.clone(),
                space: Box::new(space),
                output: spec.outputs[0].clone(),
            })
        }
        Some(Analysis::Power(p)) => Ok(Context::Power(power_context(&spec.base_name, p)?)),
        None => Err(RowError::internal("not an analysis spec")),
    }
}

/// A power analysis's trial and responders, made once per process for each trial file
/// and settings: the rounds of one analysis run in one process share them (a responder
/// is a transport run and a response grid per arm).
fn power_context(base: &str, p: &PowerSettings) -> Result<Arc<PowerContext>, RowError> {
    type Cache = Mutex<BTreeMap<String, Arc<PowerContext>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = format!("{base}\n{p:?}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let trial = power_trial(Path::new(base), p)?;
    let responder = exoskin_api::trial::power_responder(&trial)?;
    let c = Arc::new(PowerContext {
        trial,
        responder,
        assurance: OnceLock::new(),
        draws: p.assurance_draws,
    });
    if let Ok(mut m) = cache.lock() {
        m.insert(key, c.clone());
    }
    Ok(c)
}

fn sensitivity_space(
    scenario: &Scenario,
    s: &SensitivitySettings,
) -> Result<Space, exoskin_api::ApiError> {
    let space = Space::shipped(scenario)?;
    match &s.parameters {
        Some(names) => space.only(names),
        None => Ok(space),
    }
}

fn power_trial(path: &Path, p: &PowerSettings) -> Result<Trial, exoskin_api::ApiError> {
    let mut trial = exoskin_api::trial::load(path)?;
    trial.alpha = p.alpha;
    Ok(exoskin_api::trial::grid_trial(&trial))
}

/// Run the rows of an analysis spec (in the current thread pool), counting them on
/// `tally`; once it says stop, the rows left are skipped (the caller does not write them).
pub(crate) fn run_rows(spec: &Spec, rows: &[Row], tally: &Tally) -> Vec<RowOutcome> {
    let ctx = match context(spec) {
        Ok(c) => c,
        Err(e) => return rows.iter().map(|_| Err(e.clone())).collect(),
    };
    let num = |r: &Row, j: usize| r.values[j].as_f64().unwrap_or(f64::NAN);
    match &*ctx {
        Context::Sensitivity {
            scenario,
            name,
            space,
            output,
        } => {
            let ev = Evaluator::new(scenario, name, space, output);
            let points: Vec<(usize, Vec<f64>)> = rows
                .iter()
                .map(|r| {
                    let u = (1..r.values.len()).map(|j| num(r, j)).collect();
                    (num(r, 0) as usize, u)
                })
                .collect();
            // rows of one transport group, in the order they come
            let mut groups: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
            for (i, (k, u)) in points.iter().enumerate() {
                groups.entry(ev.group_key(*k, u)).or_default().push(i);
            }
            let groups: Vec<Vec<usize>> = groups.into_values().collect();
            let done: Vec<Vec<(usize, RowOutcome)>> = groups
                .par_iter()
                .map(|g| {
                    let items: Vec<(usize, &[f64])> = g
                        .iter()
                        .map(|&i| (points[i].0, points[i].1.as_slice()))
                        .collect();
                    let res = if tally.stopped() {
                        Err(RowError::internal("stopped"))
                    } else {
                        ev.run_group(&items).map_err(RowError::from)
                    };
                    // a stop is seen by the next group, and by the caller
                    let _ = tally.add(g.len());
                    match res {
                        Ok(ys) => g
                            .iter()
                            .zip(ys)
                            .map(|(&i, (_, y))| (i, Ok(vec![y])))
                            .collect(),
                        Err(e) => g.iter().map(|&i| (i, Err(e.clone()))).collect(),
                    }
                })
                .collect();
            let mut out: Vec<RowOutcome> = vec![Err(RowError::internal(String::new())); rows.len()];
            for (i, o) in done.into_iter().flatten() {
                out[i] = o;
            }
            out
        }
        Context::Power(pc) => rows
            .par_iter()
            .map(|r| {
                let (n, a, first, count) = (
                    num(r, 0) as usize,
                    num(r, 1),
                    num(r, 2) as usize,
                    num(r, 3) as usize,
                );
                let PowerContext {
                    trial,
                    responder,
                    assurance,
                    draws,
                } = &**pc;
                let run = || -> RowOutcome {
                    if tally.stopped() {
                        return Err(RowError::internal("stopped"));
                    }
                    if a == 0.0 {
                        let hits = exoskin_trials::power::rejections(
                            trial,
                            &[responder as &dyn Responder],
                            n,
                            first..first + count,
                        );
                        return Ok(vec![hits as f64, 0.0]);
                    }
                    let (built, failed) = assurance
                        .get_or_init(|| {
                            exoskin_api::trial::assurance_responders(trial, *draws)
                                .map_err(RowError::from)
                        })
                        .as_ref()
                        .map_err(Clone::clone)?;
                    let rs: Vec<&dyn Responder> =
                        built.iter().map(|r| r as &dyn Responder).collect();
                    let hits =
                        exoskin_trials::power::rejections(trial, &rs, n, first..first + count);
                    Ok(vec![hits as f64, *failed as f64])
                };
                let out = run();
                let _ = tally.add(1);
                out
            })
            .collect(),
    }
}

fn design_err(message: String) -> SweepError {
    SweepError::Design { message }
}

fn write_spec(
    path: &Path,
    base: &Path,
    shards: usize,
    outputs: &[&str],
    analysis: &Analysis,
) -> Result<Spec, SweepError> {
    let mut t = toml::Table::new();
    t.insert(
        "base".into(),
        std::path::absolute(base)
            .unwrap_or_else(|_| base.to_path_buf())
            .display()
            .to_string()
            .into(),
    );
    t.insert("shards".into(), (shards as i64).into());
    t.insert(
        "outputs".into(),
        toml::Value::Array(outputs.iter().map(|o| (*o).into()).collect()),
    );
    t.insert("design".into(), "design.csv".into());
    t.insert("analysis".into(), toml::Value::Table(analysis.to_table()));
    let text = format!(
        "# An analysis on the sweep's shard contract (written by exoskin; run it with\n\
         # exoskin sweep, its Slurm array or exoskin.dask_sweep).\n{}",
        toml::to_string(&t).map_err(|e| design_err(e.to_string()))?
    );
    exoskin_model::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| SweepError::Io {
        path: path.display().to_string(),
        what: "cannot write".into(),
        source: e,
    })?;
    Spec::from_file(path)
}

/// Write a sharded sensitivity analysis to `dir` (`design.csv`, `spec.toml`, the
/// manifest) and return its spec. The output is checked first with one nominal run.
pub fn prepare_sensitivity(
    dir: &Path,
    scenario_file: &Path,
    output: &str,
    settings: SensitivitySettings,
    shards: usize,
) -> Result<Spec, SweepError> {
    if shards == 0 {
        return Err(design_err("--shards must be at least 1".into()));
    }
    let scenario =
        exoskin_model::read_scenario_file(scenario_file).map_err(|e| design_err(e.to_string()))?;
    let space = sensitivity_space(&scenario, &settings)?;
    let method = settings.method().map_err(|e| design_err(e.to_string()))?;
    let plan = Plan::new(&space, method, settings.seed)?;
    exoskin_api::sensitivity::nominal(&scenario, &settings.file, output)?;
    let ev = Evaluator::new(&scenario, &settings.file, &space, output);
    let points = plan.points();
    let rows: Vec<Vec<f64>> = ev
        .groups(points)
        .into_iter()
        .flatten()
        .map(|k| {
            std::iter::once(k as f64)
                .chain(points[k].iter().copied())
                .collect()
        })
        .collect();
    let mut names = vec!["design_row"];
    names.extend(space.params.iter().map(|p| p.name.as_str()));
    std::fs::create_dir_all(dir).map_err(|e| SweepError::Io {
        path: dir.display().to_string(),
        what: "cannot make the output directory".into(),
        source: e,
    })?;
    write_design(&dir.join("design.csv"), &names, &rows)?;
    let spec = write_spec(
        &dir.join("spec.toml"),
        scenario_file,
        shards,
        &[output],
        &Analysis::Sensitivity(settings),
    )?;
    crate::shard::prepare(&spec, dir)?;
    Ok(spec)
}

/// The spec of an analysis directory, checked to be of the wanted kind.
fn analysis_spec(dir: &Path, kind: &str, file: &str) -> Result<Spec, SweepError> {
    let path = dir.join(file);
    if !path.is_file() {
        return Err(design_err(format!(
            "{}: no {file}; is this the --out directory of `exoskin {kind} ... --shards K`?",
            dir.display()
        )));
    }
    Spec::from_file(&path)
}

/// The merged rows of a sweep directory, merging when the merged file is absent or stale.
fn merged(spec: &Spec, dir: &Path) -> Result<Vec<RecordBatch>, SweepError> {
    let path = dir.join("sweep.parquet");
    let fresh = read_parquet(&path).ok().filter(|(_, kv)| {
        kv.iter()
            .any(|k| k.key == HASH_KEY && k.value.as_deref() == Some(spec.hash()))
    });
    match fresh {
        Some((b, _)) => Ok(b),
        None => {
            merge(dir, None)?;
            Ok(read_parquet(&path)?.0)
        }
    }
}

fn column(b: &RecordBatch, name: &str) -> Result<Vec<f64>, SweepError> {
    let a = b
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
        .ok_or_else(|| design_err(format!("the merged rows lack the column `{name}`")))?;
    Ok((0..a.len())
        .map(|i| if a.is_valid(i) { a.value(i) } else { f64::NAN })
        .collect())
}

/// The first failed row's error, if any.
fn first_failure(batches: &[RecordBatch]) -> Option<String> {
    batches.iter().find_map(|b| {
        let st = b
            .column_by_name("status")?
            .as_any()
            .downcast_ref::<StringArray>()?;
        let er = b
            .column_by_name("error")?
            .as_any()
            .downcast_ref::<StringArray>()?;
        (0..st.len())
            .find(|&i| st.value(i) != "ok")
            .map(|i| er.value(i).to_string())
    })
}

/// The sensitivity document of a finished sharded analysis in `dir` (merging its shards
/// if needed): the same document `exoskin sensitivity --json` prints for the same job.
pub fn sensitivity_report(dir: &Path) -> Result<serde_json::Value, SweepError> {
    let spec = analysis_spec(dir, "sensitivity", "spec.toml")?;
    let Some(Analysis::Sensitivity(s)) = &spec.analysis else {
        return Err(design_err(format!(
            "{}: not a sensitivity analysis (its spec.toml has no [analysis] of kind \"sensitivity\")",
            dir.display()
        )));
    };
    let batches = merged(&spec, dir)?;
    if let Some(e) = first_failure(&batches) {
        return Err(SweepError::Analysis { message: e });
    }
    let output = &spec.outputs[0];
    let mut y = vec![f64::NAN; spec.row_count()];
    for b in &batches {
        for (k, v) in column(b, "design_row")?.into_iter().zip(column(b, output)?) {
            if let Some(slot) = y.get_mut(k as usize) {
                *slot = v;
            }
        }
    }
    let scenario = exoskin_model::read_scenario_file(Path::new(&spec.base_name))
        .map_err(|e| design_err(e.to_string()))?;
    let space = sensitivity_space(&scenario, s)?;
    let method = s.method().map_err(|e| design_err(e.to_string()))?;
    let plan = Plan::new(&space, method, s.seed)?;
    let ev = Evaluator::new(&scenario, &s.file, &space, output);
    let transport_runs = ev.groups(plan.points()).len();
    let y0 = exoskin_api::sensitivity::nominal(&scenario, &s.file, output).map_err(|e| {
        SweepError::Analysis {
            message: e.to_string(),
        }
    })?;
    let report = Report {
        scenario: &scenario,
        name: &s.file,
        space: &space,
        output,
        method,
        seed: s.seed,
    };
    report
        .report(&plan, &y, y0, transport_runs)
        .map_err(|e| SweepError::Analysis {
            message: e.to_string(),
        })
}

/// The job file of a sharded power analysis (`DIR/power.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerJob {
    base: String,
    shards: usize,
    analysis: PowerSettings,
}

/// What a power analysis needs next.
pub enum Step {
    /// Run this round (a sweep: its spec file and directory), merge it, then step again.
    Round {
        spec: Box<Spec>,
        path: PathBuf,
        dir: PathBuf,
    },
    /// Finished: the document of `exoskin power --json` (`elapsed_s` is the time of the
    /// last step).
    Done(serde_json::Value),
}

/// Start a sharded power analysis in `dir`: write its job file (a directory holding
/// another job is refused). Continue with [`power_step`].
pub fn prepare_power(
    dir: &Path,
    trial_file: &Path,
    settings: PowerSettings,
    shards: usize,
) -> Result<(), SweepError> {
    if shards == 0 {
        return Err(design_err("--shards must be at least 1".into()));
    }
    exoskin_api::trial::load(trial_file)?;
    let job = PowerJob {
        base: std::path::absolute(trial_file)
            .unwrap_or_else(|_| trial_file.to_path_buf())
            .display()
            .to_string(),
        shards,
        analysis: settings,
    };
    let text = toml::to_string(&job).map_err(|e| design_err(e.to_string()))?;
    let path = dir.join("power.toml");
    if let Ok(old) = std::fs::read_to_string(&path) {
        if old != text {
            return Err(design_err(format!(
                "{} holds a power analysis with other settings or another trial; give a new --out",
                dir.display()
            )));
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| SweepError::Io {
        path: dir.display().to_string(),
        what: "cannot make the output directory".into(),
        source: e,
    })?;
    exoskin_model::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| SweepError::Io {
        path: path.display().to_string(),
        what: "cannot write".into(),
        source: e,
    })
}

/// Rejections and replicates counted so far, by (n, assurance).
type Counts = BTreeMap<(usize, bool), (usize, usize, usize)>;

/// Replay the power search over the rounds merged in `dir`: the next round to run, or the
/// finished document.
pub fn power_step(dir: &Path) -> Result<Step, SweepError> {
    let jpath = dir.join("power.toml");
    let text = std::fs::read_to_string(&jpath).map_err(|_| {
        design_err(format!(
            "{}: no power.toml; is this the --out directory of `exoskin power TRIAL --shards K`?",
            dir.display()
        ))
    })?;
    let job: PowerJob = toml::from_str(&text)
        .map_err(|e| design_err(format!("{}: {}", jpath.display(), e.message())))?;
    let p = &job.analysis;
    let started = std::time::Instant::now();
    // counts of every merged round
    let mut counts: Counts = BTreeMap::new();
    let mut round = 1;
    loop {
        let rdir = dir.join(format!("round-{round:02}"));
        let Ok(spec) = Spec::from_file(rdir.join("spec.toml")) else {
            break;
        };
        let path = rdir.join("sweep.parquet");
        let fresh = read_parquet(&path).ok().filter(|(_, kv)| {
            kv.iter()
                .any(|k| k.key == HASH_KEY && k.value.as_deref() == Some(spec.hash()))
        });
        let Some((batches, _)) = fresh else { break };
        if let Some(e) = first_failure(&batches) {
            return Err(SweepError::Analysis { message: e });
        }
        for b in &batches {
            let cols: Vec<Vec<f64>> = POWER_COLUMNS
                .iter()
                .chain(&POWER_OUTPUTS)
                .map(|c| column(b, c))
                .collect::<Result<_, _>>()?;
            for row in (0..b.num_rows()).map(|i| cols.iter().map(|c| c[i]).collect::<Vec<f64>>()) {
                let e = counts.entry((row[0] as usize, row[1] != 0.0)).or_default();
                e.0 += row[4] as usize;
                e.1 += row[3] as usize;
                e.2 = row[5] as usize;
            }
        }
        round += 1;
    }
    let complete = |n: usize, a: bool| {
        counts
            .get(&(n, a))
            .filter(|c| c.1 == p.replicates)
            .map(|c| (c.0, c.2))
    };
    let rate = |hits: usize| wilson(hits, p.replicates, 0.05);
    let mut need: Vec<(usize, bool)> = Vec::new();
    let outcome = search(p.target, p.max_participants, &mut |n| {
        complete(n, false).map(|(h, _)| rate(h).rate)
    });
    let (visited, n_required) = match outcome {
        Search::Need(n) => {
            need.push((n, false));
            (Vec::new(), None)
        }
        Search::Done {
            visited,
            n_required,
        } => (visited, n_required),
    };
    if need.is_empty() && p.assurance_draws > 0 {
        need.extend(
            visited
                .iter()
                .filter(|n| complete(**n, true).is_none())
                .map(|n| (*n, true)),
        );
    }
    if !need.is_empty() {
        return power_round(dir, round, &job, &need);
    }
    let pc =
        power_context(&job.base, p).map_err(|e| SweepError::Analysis { message: e.message })?;
    let (trial, responder) = (&pc.trial, &pc.responder);
    let curve: Vec<PowerPoint> = visited
        .iter()
        .map(|&n| PowerPoint {
            n,
            power: rate(complete(n, false).map(|c| c.0).unwrap_or(0)),
        })
        .collect();
    let result = finish_power(trial, responder, p.target, p.replicates, curve, n_required);
    let assurance = (p.assurance_draws > 0).then(|| {
        let rates: Vec<_> = visited
            .iter()
            .map(|&n| rate(complete(n, true).map(|c| c.0).unwrap_or(0)))
            .collect();
        let failed = visited
            .first()
            .and_then(|&n| complete(n, true))
            .map(|c| c.1)
            .unwrap_or(0);
        exoskin_api::trial::assurance_doc(&result, p.assurance_draws, failed, &rates)
    });
    Ok(Step::Done(exoskin_api::trial::power_doc(
        trial,
        &result,
        assurance,
        started.elapsed().as_secs_f64(),
    )))
}

/// Write round `round` of a power analysis: every (n, assurance) in `need`, its replicates
/// cut into one block per shard.
fn power_round(
    dir: &Path,
    round: usize,
    job: &PowerJob,
    need: &[(usize, bool)],
) -> Result<Step, SweepError> {
    let reps = job.analysis.replicates;
    let blocks = job.shards.min(reps).max(1);
    let mut rows = Vec::new();
    for &(n, a) in need {
        for b in 0..blocks {
            let (lo, hi) = (b * reps / blocks, (b + 1) * reps / blocks);
            rows.push(vec![
                n as f64,
                f64::from(u8::from(a)),
                lo as f64,
                (hi - lo) as f64,
            ]);
        }
    }
    let rdir = dir.join(format!("round-{round:02}"));
    std::fs::create_dir_all(&rdir).map_err(|e| SweepError::Io {
        path: rdir.display().to_string(),
        what: "cannot make the round's directory".into(),
        source: e,
    })?;
    write_design(&rdir.join("design.csv"), &POWER_COLUMNS, &rows)?;
    let path = rdir.join("spec.toml");
    let spec = write_spec(
        &path,
        Path::new(&job.base),
        job.shards,
        &POWER_OUTPUTS,
        &Analysis::Power(job.analysis.clone()),
    )?;
    crate::shard::prepare(&spec, &rdir)?;
    Ok(Step::Round {
        spec: Box::new(spec),
        path,
        dir: rdir,
    })
}

/// Run a power analysis's rounds here (shards of a round in parallel, resuming what is
/// done) until it is finished; `observer` hears each round's rows finished and may stop
/// the analysis (the rounds and shards finished are kept).
pub fn power_local(
    dir: &Path,
    threads: usize,
    observer: &dyn Observer,
) -> Result<serde_json::Value, SweepError> {
    loop {
        match power_step(dir)? {
            Step::Round {
                spec, dir: rdir, ..
            } => {
                run_local(&spec, &rdir, threads, observer)?;
                merge(&rdir, None)?;
            }
            Step::Done(doc) => return Ok(doc),
        }
    }
}
