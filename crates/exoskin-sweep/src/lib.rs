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
        matches!(
            self,
            SweepError::Spec(_)
                | SweepError::Design { .. }
                | SweepError::NoSuchShard { .. }
                | SweepError::MissingShards { .. }
                | SweepError::Manifest { .. }
                | SweepError::Analysis { .. }
        )
    }
}
