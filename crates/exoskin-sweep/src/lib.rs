//! Parameter sweeps of exoskin scenarios, cut into deterministic shards written as Parquet.
//!
//! **Spec.** A TOML file ([`Spec::from_file`]) names a base scenario (`base`), the shard
//! count (`shards`), the outputs (`outputs`, each `NAME[@DAY]` as read by
//! [`exoskin_api::output::output`] from the run's JSON document) and the parameters
//! (`[[parameters]]` with `name` and either `values = [...]` or `range = [lo, hi]` with
//! `sample = "sobol" | "lhs"` and `n`; an optional top-level `seed` seeds sampled designs).
//! A name is a dotted scenario key (set on the base scenario, which is then read with every
//! scenario check) or `params.<name>`, a parameter of `data/transport.toml` or
//! `data/response.toml`. The rows are the product of the `values` lists and the one joint
//! sample of all ranged parameters, in the order the parameters are written, the last one
//! varying fastest. A `base` that is a trial file runs the virtual trial per row instead,
//! with trial keys as parameters, a seed per row and paths into the trial's document as
//! outputs (see [`trial`]).
//!
//! **Shard contract.** Rows are numbered from 0. Shard `i` of `S` holds the contiguous
//! block `[i N / S, (i + 1) N / S)` ([`Spec::shard_rows`]); [`run_shard`] runs it (rows in
//! parallel) and writes `DIR/shard-0000i.parquet` atomically, with the columns `row` (u64),
//! each parameter (f64, or utf8 for text and booleans), each output (f64, null when the row
//! failed), `status` (`ok` or `failed`) and `error` (why, or null). The file's metadata
//! holds the spec hash ([`Spec::hash`]: base scenario, parameters, outputs, shard count and
//! every row's values) and the shard number, so a shard is done exactly when its file
//! carries both; re-runs skip done shards. `DIR/manifest.json` holds the hash, the shard
//! count and the rows per shard; [`merge`] checks every shard against it and joins them in
//! row order. Any engine (local threads, Slurm array tasks, Dask workers through the Python
//! package) runs shards by number through this contract and gets the same bytes.
//!
//! **Other designs.** A spec may name a `design` file instead of `[[parameters]]` (a CSV
//! table of numbers, one row per run, in the spec hash), and an `[analysis]` table saying
//! what its rows compute: [`analysis`] runs the sensitivity analysis's design and the
//! power analysis's simulated trials this way, so their shards run through the same
//! engines and the results equal the in-process ones. [`Spec::with_design`] takes a design
//! in code.
//!
//! Sobol points come from `sobol_burley`; the Latin hypercube is ours (a few lines, see
//! [`design`]), seeded so that a spec always makes the same rows.

pub mod analysis;
pub mod design;
pub mod exec;
mod shard;
pub mod slurm;
mod spec;
pub mod trial;

pub use shard::{
    merge, pending, prepare, read_parquet, run_local, run_row, run_shard, run_shard_with, schema,
    shard_done, shard_path, shard_stamp, LocalRun, Merged, RowOutcome, HASH_KEY, SHARD_KEY,
};

/// Why one row failed: the kind of failure (the row's input, the solver, a defect) and the
/// account that the shard's `error` column holds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct RowError {
    pub kind: exoskin_api::ErrorKind,
    pub message: String,
}

impl RowError {
    /// The row's values or the spec's outputs do not fit this run.
    pub fn input(message: impl Into<String>) -> RowError {
        RowError {
            kind: exoskin_api::ErrorKind::Input,
            message: message.into(),
        }
    }
    /// A defect: the model stopped in a way it should not.
    pub fn internal(message: impl Into<String>) -> RowError {
        RowError {
            kind: exoskin_api::ErrorKind::Internal,
            message: message.into(),
        }
    }
}

impl From<exoskin_api::ApiError> for RowError {
    fn from(e: exoskin_api::ApiError) -> RowError {
        RowError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}
pub use spec::{Column, Parameter, Row, Spec, Target, Value, DEFAULT_SEED, MAX_ROWS};

/// What is wrong with one part of a sweep (a key's value, the base file, the design file,
/// an output name, a key set on a row): the message of a located spec error
/// ([`SweepError::Spec`], placed at its key) or of a row's error ([`RowError`]). Every one
/// is the user's to fix ([`SpecIssue::kind`]) except [`SpecIssue::Serialize`].
#[derive(Debug, thiserror::Error)]
pub enum SpecIssue {
    /// `shards = 0`.
    #[error("must be at least 1")]
    ZeroShards,
    /// More shards than rows.
    #[error("{shards} shards for {rows} rows: use at most {} (one row per shard at the most)", at_least_one(.rows))]
    ShardsOverRows { shards: usize, rows: usize },
    /// More shards than [`spec::MAX_SHARDS`].
    #[error(
        "{shards} shards is more than the maximum of {}; group rows into fewer shards",
        spec::MAX_SHARDS
    )]
    TooManyShards { shards: usize },
    /// A Sobol design past the generator's dimensions or points.
    #[error(
        "a Sobol design takes at most {} ranged parameters and 2^32 points",
        design::SOBOL_MAX_DIMENSIONS
    )]
    SobolLimits,
    /// A sample of more than [`MAX_ROWS`] points.
    #[error("n = {n} is more than {MAX_ROWS} rows")]
    TooManyPoints { n: usize },
    /// The product of the factors' sizes (`sizes`) passes [`MAX_ROWS`].
    #[error("the product of the parameters' values has more than {MAX_ROWS} rows ({sizes:?}); vary fewer values or sample instead")]
    TooManyRows { sizes: Vec<usize> },
    /// `params.<name>` names no model parameter.
    #[error("`{name}` is not a parameter of data/transport.toml or data/response.toml; use a name from those files, e.g. params.sc_pore_radius_nm")]
    UnknownModelParameter { name: String },
    /// A parameter name that is no dotted key (empty, or with an empty part).
    #[error("a dotted scenario key is needed, e.g. \"skin.age_years\", or params.<name>")]
    NotAKey,
    /// `values = []`.
    #[error("give at least one value")]
    NoValues,
    /// A value that is an array, a table or a date.
    #[error("values must be numbers, strings or booleans")]
    NotScalar,
    /// Numbers and text in one `values` list.
    #[error("mixes numbers and text; one parameter's values are all numbers or all text")]
    MixedValues,
    /// A value that is infinite or NaN.
    #[error("{value} is not a finite number")]
    NotFinite { value: f64 },
    /// Text for a model parameter.
    #[error("a model parameter takes numbers")]
    TextForModel,
    /// An output name that does not parse.
    #[error(transparent)]
    OutputName(#[from] exoskin_api::output::OutputNameError),
    /// `outputs = []`.
    #[error("name at least one output, e.g. outputs = [\"transport.reached_dermis_fraction\"]")]
    NoOutputs,
    /// The same output twice.
    #[error("output \"{name}\" is named twice")]
    OutputTwice { name: String },
    /// An output named like one of the shard's own columns.
    #[error("\"{name}\" is a column of its own; name a value of the run")]
    ReservedColumn { name: String },
    /// The base file is not at any of the places tried; `what` names the kinds wanted.
    #[error("no {what} \"{base}\" (looked at {})", .tried.join(" and "))]
    BaseNotFound {
        what: &'static str,
        base: String,
        tried: Vec<String>,
    },
    /// A file named by the spec could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The base scenario is not TOML.
    #[error("{name} is not valid TOML: {message}")]
    BaseNotToml { name: String, message: String },
    /// A scenario sweep (an analysis) names a trial file as its base.
    #[error("{name} is a trial file; this sweep's rows are scenario runs: name a scenario file, e.g. scenarios/in_vivo_microneedling.toml")]
    BaseIsTrial { name: String },
    /// The base scenario fails the scenario checks.
    #[error("the base scenario does not read: {0}")]
    BaseScenario(#[source] Box<exoskin_model::ModelError>),
    /// A base of either kind that is not TOML.
    #[error("{name} is neither a scenario nor a trial file: it is not valid TOML ({message})")]
    BaseNeitherToml { name: String, message: String },
    /// A base without `[trial]` that fails the scenario checks.
    #[error("{name} is neither a trial file (it has no [trial] table) nor a scenario that reads: {source}; name a file like scenarios/in_vivo_microneedling.toml or trials/microneedling_split_face.toml")]
    BaseNeither {
        name: String,
        #[source]
        source: Box<exoskin_model::ModelError>,
    },
    /// The base trial fails the trial checks (as `exoskin trial` reads it).
    #[error("the base trial does not read: {0}")]
    BaseTrial(#[source] Box<exoskin_api::ApiError>),
    /// The base trial fails the trial file's checks (as a sweep base).
    #[error("the base trial does not read: {0}")]
    BaseTrialFile(#[source] Box<exoskin_trials::TrialError>),
    /// No design file at the places tried.
    #[error("no design file \"{file}\"")]
    NoDesignFile { file: String },
    /// The design's header has an empty column name.
    #[error("{path}: line 1 must name every column (comma-separated)")]
    DesignHeader { path: String },
    /// A design line with the wrong number of cells.
    #[error("{path}:{line}: {cells} values for {columns} columns")]
    DesignWidth {
        path: String,
        line: usize,
        cells: usize,
        columns: usize,
    },
    /// A design cell that is not a finite number (1-based line and column).
    #[error("{path}:{line}:{column}: `{cell}` is not a finite number")]
    DesignCell {
        path: String,
        line: usize,
        column: usize,
        cell: String,
    },
    /// A design with a header only.
    #[error("{path}: the design has no rows")]
    DesignEmpty { path: String },
    /// A design of more than [`MAX_ROWS`] rows.
    #[error("{path}: more than {MAX_ROWS} rows")]
    DesignTooLong { path: String },
    /// A key part `name[i]` whose index is not a whole number.
    #[error("`{part}`: the index must be a whole number")]
    BadIndex { part: String },
    /// A dotted key through a value that is not a table.
    #[error("`{name}` is not a table in the base scenario")]
    NotATable { name: String },
    /// An indexed key on a value that is not a list.
    #[error("`{name}` is not a list in the base scenario")]
    NotAList { name: String },
    /// An index past the list's end.
    #[error("`{name}` has {len} entries in the base scenario; index {index} is past them")]
    PastEnd {
        name: String,
        len: usize,
        index: usize,
    },
    /// A table with a row's values set could not be written back as TOML (a defect).
    #[error(transparent)]
    Serialize(#[from] toml::ser::Error),
    /// A value the base scenario's checks refuse (at `key`, where known).
    #[error("on the base scenario {base}{}: {detail}", at_key(.key))]
    ScenarioValue {
        base: String,
        key: Option<String>,
        detail: String,
    },
    /// A value the base trial's checks refuse (at `field`, where known).
    #[error("on the base trial {base}{}: {message}", at_key(.field))]
    TrialValue {
        base: String,
        field: Option<String>,
        message: String,
    },
    /// A parameter of a trial sweep that is not one of [`trial::allowed_keys`].
    #[error("`{name}` is not a key a sweep of a trial can vary; the keys are {}, and endpoints[I].{{{}}} for the endpoints I ({})", trial::KEYS.join(", "), trial::ENDPOINT_KEYS.join(", "), numbered(.endpoints))]
    NotTrialKey {
        name: String,
        endpoints: Vec<String>,
    },
    /// The text after `@` of a trial output is not a number.
    #[error("output \"{name}\": the day after @ must be a visit day, e.g. \"{path}@28\"")]
    BadDay { name: String, path: String },
    /// A day that is not one of the trial's visits.
    #[error("day {day} is not a visit; the visits are days {}", trial::days(.visits))]
    NotAVisit { day: f64, visits: Vec<f64> },
    /// A trial output name that no trial result has.
    #[error("output \"{name}\" is not in a trial's results; {}", trial::what_exists(.endpoints.iter().map(String::as_str), .visits, None))]
    NotTrialOutput {
        name: String,
        endpoints: Vec<String>,
        visits: Vec<f64>,
    },
    /// An output checked against the base trial, with what is wrong with it.
    #[error("output \"{name}\": {source}")]
    TrialOutput {
        name: String,
        #[source]
        source: Box<SpecIssue>,
    },
    /// An output that a row's trial document does not hold; `fields` are its endpoints'.
    #[error("no output `{name}` in this trial's results; {}", trial::what_exists(.endpoints.iter().map(String::as_str), .visits, Some(.fields.as_slice())))]
    NoTrialOutput {
        name: String,
        endpoints: Vec<String>,
        visits: Vec<f64>,
        fields: Vec<String>,
    },
    /// An output read from a row's trial document, with what is wrong with it.
    #[error("output `{name}`: {source}")]
    RowOutput {
        name: String,
        #[source]
        source: Box<SpecIssue>,
    },
    /// `@DAY` on a number the trial has once.
    #[error("`{path}` is one number per trial; drop the @DAY")]
    OnePerTrial { path: String },
    /// A field of a trial with several treatment arms that does not name the arm.
    #[error("this trial compares {count} treatment arms with the control; name one: endpoints.{endpoint}.ARM.FIELD with ARM one of {}", .arms.join(", "))]
    NameTheArm {
        count: usize,
        endpoint: String,
        arms: Vec<String>,
    },
}

fn at_least_one(n: &usize) -> usize {
    (*n).max(1)
}

fn at_key(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!(", `{k}`")).unwrap_or_default()
}

fn numbered(endpoints: &[String]) -> String {
    endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{i} = {e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SpecIssue {
    /// Input (the spec, its files or a row's values), except a table that cannot be
    /// written back as TOML, which is a defect.
    pub fn kind(&self) -> exoskin_api::ErrorKind {
        match self {
            SpecIssue::Serialize(_) => exoskin_api::ErrorKind::Internal,
            SpecIssue::TrialOutput { source, .. } | SpecIssue::RowOutput { source, .. } => {
                source.kind()
            }
            _ => exoskin_api::ErrorKind::Input,
        }
    }
}

impl From<SpecIssue> for RowError {
    fn from(e: SpecIssue) -> RowError {
        RowError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// What can go wrong in a sweep. [`SweepError::is_bad_input`] tells the user's mistakes
/// (exit code 2 in the CLI) from failures while running.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The spec file is wrong: located (file:line:col, the key) with what is allowed.
    #[error(transparent)]
    Spec(Box<exoskin_model::ModelError>),
    /// A caller's design is wrong ([`Spec::with_design`]).
    #[error("{message}")]
    Design { message: String },
    /// A shard number past the spec's shards.
    #[error(
        "shard {shard} does not exist: the spec has {shards} shard(s), numbered 0 to {}",
        shards - 1
    )]
    NoSuchShard { shard: usize, shards: usize },
    /// Merging found shards missing or from another spec.
    #[error(
        "{dir}: {} of {shards} shard(s) are not done for this spec{}{}; run `exoskin sweep SPEC --out {dir}` (it runs only what is not done) or each with --shard I",
        missing.len() + stale.len(),
        list("missing", missing),
        list("from another spec", stale)
    )]
    MissingShards {
        dir: String,
        shards: usize,
        missing: Vec<usize>,
        stale: Vec<usize>,
    },
    /// The output directory's manifest is absent or unreadable.
    #[error("{dir}: {message}")]
    Manifest { dir: String, message: String },
    /// An analysis's rows ran but its result cannot be computed (a failed model run).
    #[error("{message}")]
    Analysis { message: String },
    /// A file could not be read or written: `what` was being done to `path`.
    #[error("{path}: {what}: {source}")]
    Io {
        path: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The worker threads could not be started.
    #[error("cannot start {threads} threads: {source}")]
    Threads {
        threads: usize,
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// A Parquet file could not be made or read.
    #[error("{path}: Parquet: {message}")]
    Parquet { path: String, message: String },
    /// The run was cancelled or passed its time limit (the shards it finished are kept;
    /// the one it was in is not written).
    #[error(transparent)]
    Stopped(#[from] exoskin_model::Stopped),
    /// An analysis run in process failed (its input, the solver, bundled data): the
    /// API's error, with its kind.
    #[error(transparent)]
    Api(#[from] exoskin_api::ApiError),
    /// The engine was asked for what it does not do (e.g. one shard on Dask).
    #[error("{message}")]
    Engine { message: String },
    /// A program the engine runs (`sbatch`, Python) could not be started.
    #[error("cannot start {program}: {source}")]
    Launch {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The Python that runs Dask shards cannot import the package.
    #[error("--engine dask runs the shards through the Python package, which {python} cannot import (exoskin.dask_sweep); install it with `pip install ./crates/exoskin-py dask distributed`, or set EXOSKIN_PYTHON to a Python that has it")]
    NoDask { python: String },
    /// The Dask run ended with an error (its messages are above); exit status `code`.
    #[error("the Dask run failed (exit status {}); its messages are above", .code.map_or("none: killed by a signal".to_string(), |c| c.to_string()))]
    DaskFailed { code: Option<i32> },
}

impl From<exoskin_model::ModelError> for SweepError {
    fn from(e: exoskin_model::ModelError) -> Self {
        SweepError::Spec(Box::new(e))
    }
}

fn list(what: &str, items: &[usize]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = items.iter().take(20).map(|i| i.to_string()).collect();
    let more = if items.len() > 20 {
        format!(" and {} more", items.len() - 20)
    } else {
        String::new()
    };
    format!("; {what}: {}{more}", shown.join(", "))
}

impl SweepError {
    /// Whether the user must fix something they gave (spec, design, shard number, directory).
    pub fn is_bad_input(&self) -> bool {
        self.kind() == exoskin_api::ErrorKind::Input
    }

    /// The error's kind, as the front ends map it (exit code, HTTP status, exception).
    pub fn kind(&self) -> exoskin_api::ErrorKind {
        use exoskin_api::ErrorKind;
        match self {
            SweepError::Spec(_)
            | SweepError::Design { .. }
            | SweepError::NoSuchShard { .. }
            | SweepError::MissingShards { .. }
            | SweepError::Manifest { .. }
            | SweepError::Analysis { .. }
            | SweepError::Engine { .. }
            | SweepError::NoDask { .. }
            | SweepError::DaskFailed { code: Some(2) } => ErrorKind::Input,
            SweepError::Api(e) => e.kind(),
            SweepError::Stopped(_) => ErrorKind::Cancelled,
            SweepError::Io { .. }
            | SweepError::Threads { .. }
            | SweepError::Parquet { .. }
            | SweepError::Launch { .. }
            | SweepError::DaskFailed { .. } => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exoskin_api::ErrorKind;

    #[test]
    fn spec_issues_keep_their_words_and_map_to_the_right_kind() {
        let e = SpecIssue::ShardsOverRows { shards: 2, rows: 0 };
        assert_eq!(
            e.to_string(),
            "2 shards for 0 rows: use at most 1 (one row per shard at the most)"
        );
        assert_eq!(e.kind(), ErrorKind::Input);
        // A key set on a row that the base does not have is the row's input error.
        let mut t: toml::Table = toml::from_str("layers = 3").unwrap();
        let e = spec::set_key(&mut t, "layers[0].x", 1.into()).unwrap_err();
        assert!(
            matches!(&e, SpecIssue::NotAList { name } if name == "layers"),
            "{e:?}"
        );
        let r = RowError::from(e);
        assert_eq!(r.kind, ErrorKind::Input);
        assert_eq!(r.message, "`layers` is not a list in the base scenario");
        let e = spec::set_key(&mut t, "a.b[x]", 1.into()).unwrap_err();
        assert_eq!(e.to_string(), "`b[x]`: the index must be a whole number");
        // A wrapped output problem says which output, and keeps its kind.
        let e = SpecIssue::RowOutput {
            name: "primary.p_value@3".into(),
            source: Box::new(SpecIssue::NotAVisit {
                day: 3.0,
                visits: vec![7.0, 28.0],
            }),
        };
        assert_eq!(
            e.to_string(),
            "output `primary.p_value@3`: day 3 is not a visit; the visits are days 7, 28"
        );
        assert_eq!(RowError::from(e).kind, ErrorKind::Input);
        // A table that cannot be written back as TOML is a defect, wrapped or not.
        let ser = toml::to_string(&1u8).unwrap_err();
        let e = SpecIssue::RowOutput {
            name: "x".into(),
            source: Box::new(SpecIssue::Serialize(ser)),
        };
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(RowError::from(e).kind, ErrorKind::Internal);
        let e = SpecIssue::ScenarioValue {
            base: "b.toml".into(),
            key: Some("skin.age_years".into()),
            detail: "too old".into(),
        };
        assert_eq!(
            e.to_string(),
            "on the base scenario b.toml, `skin.age_years`: too old"
        );
        let e = SpecIssue::TrialValue {
            base: "t.toml".into(),
            field: None,
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "on the base trial t.toml: bad");
    }
}
