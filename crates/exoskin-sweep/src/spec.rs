//! The sweep spec: its TOML keys, their checks, and the rows they make.

use crate::design;
use crate::{SpecIssue, SweepError};
use exoskin_api::output::{parse_name, OutputId};
use exoskin_model::error::Invalid;
use exoskin_model::{input, read_scenario, TransportParams};
use exoskin_response::ResponseParams;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The most rows one spec may make (a grid that large is almost surely a mistake).
pub const MAX_ROWS: usize = 50_000_000;

/// One value of a parameter in a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f64),
    Int(i64),
    Bool(bool),
    Text(String),
}

impl Value {
    /// The value as a number, for numeric columns and model parameters.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub(crate) fn to_toml(&self) -> toml::Value {
        match self {
            Value::Float(x) => toml::Value::Float(*x),
            Value::Int(i) => toml::Value::Integer(*i),
            Value::Bool(b) => toml::Value::Boolean(*b),
            Value::Text(s) => toml::Value::String(s.clone()),
        }
    }
    fn from_toml(v: &toml::Value) -> Option<Value> {
        Some(match v {
            toml::Value::Float(x) => Value::Float(*x),
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::String(s) => Value::Text(s.clone()),
            _ => return None,
        })
    }
    /// The text of a value in a text column.
    pub fn text(&self) -> String {
        match self {
            Value::Float(x) => x.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
    fn hash_into(&self, h: &mut Sha256) {
        match self {
            Value::Float(x) => {
                h.update([0]);
                h.update(x.to_bits().to_le_bytes());
            }
            Value::Int(i) => {
                h.update([1]);
                h.update(i.to_le_bytes());
            }
            Value::Bool(b) => h.update([2, u8::from(*b)]),
            Value::Text(s) => {
                h.update([3]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
}

/// One row of a sweep: its number and one value per parameter, in the spec's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub index: u64,
    pub values: Vec<Value>,
}

/// What a parameter name sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A dotted key of the base scenario (`skin.age_years`, `membrane.layers[0].thickness_um`).
    Scenario(String),
    /// A parameter of `data/transport.toml` (`params.<name>`).
    Transport(String),
    /// A parameter of `data/response.toml` (`params.<name>`).
    Response(String),
    /// A column of an analysis's design, read by the analysis (see [`crate::analysis`]).
    Design,
    /// A dotted key of the base trial file (`trial.participants`, `endpoints[0].noise_cv`).
    Trial(String),
}

/// The column type of a parameter: numbers, or text (strings and booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Float,
    Text,
}

/// A varied parameter: its name as written, what it sets, its column type.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub target: Target,
    pub column: Column,
}

/// A checked sweep: the base scenario, the parameters, the outputs, the shard count and
/// the rows (the design), with the hash that names them.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Where the spec came from (its path, or the name given to [`Spec::from_str`]).
    pub name: String,
    /// The spec's text as read (copied to `DIR/spec.toml`); `None` for a caller's design.
    pub text: Option<String>,
    /// The base scenario's or trial's file, as found.
    pub base_name: String,
    pub(crate) base: toml::Table,
    /// The base trial, when the base is a trial file (else it is a scenario).
    pub(crate) trial: Option<crate::trial::TrialBase>,
    pub parameters: Vec<Parameter>,
    pub outputs: Vec<String>,
    /// The outputs, each parsed once (rows read their runs through these).
    pub(crate) output_ids: Vec<OutputId>,
    pub shards: usize,
    /// The analysis whose design this is (`[analysis]`), if any.
    pub analysis: Option<crate::analysis::Analysis>,
    design: Vec<Vec<Value>>,
    hash: String,
    /// What an analysis's rows need, made once per spec on first use.
    pub(crate) context: crate::analysis::ContextCell,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    base: String,
    shards: usize,
    outputs: Vec<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    parameters: Vec<RawParam>,
    #[serde(default)]
    design: Option<String>,
    #[serde(default)]
    analysis: Option<toml::Table>,
}

/// Most shards a sweep may have (one Slurm array task or one file each; Slurm's default
/// `MaxArraySize` is 1001, sites raise it to tens of thousands).
pub const MAX_SHARDS: usize = 10_000;

/// Shards must be at least 1, at most one per row and at most [`MAX_SHARDS`]: a shard with
/// no rows is work for nothing, and the count sizes every loop over shards.
fn check_shards(shards: usize, rows: usize) -> Result<(), SpecIssue> {
    if shards == 0 {
        return Err(SpecIssue::ZeroShards);
    }
    if shards > rows.max(1) {
        return Err(SpecIssue::ShardsOverRows { shards, rows });
    }
    if shards > MAX_SHARDS {
        return Err(SpecIssue::TooManyShards { shards });
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    name: String,
    #[serde(default)]
    values: Option<Vec<toml::Value>>,
    #[serde(default)]
    range: Option<[f64; 2]>,
    #[serde(default)]
    sample: Option<Sample>,
    #[serde(default)]
    n: Option<usize>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum Sample {
    Sobol,
    Lhs,
}

/// The seed of sampled designs when the spec gives none.
pub const DEFAULT_SEED: u64 = 0;

impl Spec {
    /// Read and check a spec file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Spec, SweepError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::Io {
            path: path.display().to_string(),
            what: "cannot read the sweep spec".into(),
            source: e,
        })?;
        Spec::from_str(&text, &path.display().to_string())
    }

    /// Check a spec given as text; `name` is its file (a relative `base` is looked up beside
    /// it first, then in the working directory) or any label for messages.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, name: &str) -> Result<Spec, SweepError> {
        let mut raw: RawSpec = input::from_toml(text, name)?;
        let src = SpecSource { name, text };
        let analysis = src.analysis(&raw)?;
        let base = src.base(&raw.base, analysis.as_ref())?;
        if raw.shards == 0 {
            return Err(src.at("shards".into(), "must be at least 1".into()));
        }
        src.check_outputs(&raw.outputs, base.trial.as_ref())?;
        if let Some(file) = raw.design.take() {
            return src.spec_from_design_file(&file, raw, base, analysis);
        } else if analysis.is_some() {
            return Err(src.at(
                "design".into(),
                "an [analysis] spec names its design file: design = \"design.csv\"".into(),
            ));
        }
        src.spec_from_parameters(raw, base)
    }

    /// A sweep over a design the caller made (a Saltelli design for sensitivity indices, a
    /// list of virtual participants): `parameters` are names as in a spec file, `design`
    /// one row of values per run in their order. The base is a scenario as in a spec file.
    pub fn with_design(
        base: &Path,
        parameters: &[&str],
        design: Vec<Vec<Value>>,
        outputs: &[&str],
        shards: usize,
    ) -> Result<Spec, SweepError> {
        let bad = |message: String| SweepError::Design { message };
        let base_arg = base.display().to_string();
        let (base_name, base) = read_base(&base_arg, "").map_err(|m| bad(format!("base: {m}")))?;
        if shards == 0 {
            return Err(bad("shards must be at least 1".into()));
        }
        let outputs: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        check_outputs(&outputs).map_err(|(i, m)| bad(format!("outputs[{i}]: {m}")))?;
        let mut params = Vec::new();
        for (j, name) in parameters.iter().enumerate() {
            let target = target(name).map_err(|m| bad(m.to_string()))?;
            let column_vals: Vec<toml::Value> = design
                .iter()
                .map(|r| {
                    r.get(j)
                        .map(Value::to_toml)
                        .unwrap_or(toml::Value::Float(f64::NAN))
                })
                .collect();
            let (column, _) =
                value_list(&column_vals, &target).map_err(|m| bad(format!("{name}: {m}")))?;
            params.push(Parameter {
                name: name.to_string(),
                target,
                column,
            });
        }
        if let Some(i) = design.iter().position(|r| r.len() != parameters.len()) {
            return Err(bad(format!(
                "row {i} has {} values for {} parameters",
                design[i].len(),
                parameters.len()
            )));
        }
        check_shards(shards, design.len()).map_err(|m| bad(format!("shards: {m}")))?;
        Ok(Spec::assemble(
            base_arg, None, base_name, base, None, params, outputs, shards, design, None,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        name: String,
        text: Option<String>,
        base_name: String,
        base: toml::Table,
        trial: Option<crate::trial::TrialBase>,
        parameters: Vec<Parameter>,
        outputs: Vec<String>,
        shards: usize,
        design: Vec<Vec<Value>>,
        analysis: Option<crate::analysis::Analysis>,
    ) -> Spec {
        let mut h = Sha256::new();
        h.update(b"exoskin-sweep 1\n");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(b"\n");
        h.update(toml::to_string(&base).unwrap_or_default().as_bytes());
        if let Some(tb) = &trial {
            for t in &tb.arm_texts {
                h.update(format!("\narm scenario {}\n", t.len()).as_bytes());
                h.update(t.as_bytes());
            }
        }
        for p in &parameters {
            h.update(format!("\nparameter {} {:?}", p.name, p.column).as_bytes());
        }
        for o in &outputs {
            h.update(format!("\noutput {o}").as_bytes());
        }
        if let Some(a) = &analysis {
            h.update(format!("\nanalysis {a:?}").as_bytes());
        }
        h.update(format!("\nshards {}\nrows {}\n", shards, design.len()).as_bytes());
        for row in &design {
            for v in row {
                v.hash_into(&mut h);
            }
        }
        let hash = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        // Every caller checked the names (`check_outputs`); a name that still does not parse
        // is read from the document, where the row's error says what is wrong with it.
        let output_ids = outputs
            .iter()
            .map(|o| OutputId::parse(o).unwrap_or_else(|_| OutputId::document(o)))
            .collect();
        Spec {
            name,
            text,
            base_name,
            base,
            trial,
            parameters,
            outputs,
            output_ids,
            shards,
            analysis,
            design,
            hash,
            context: Default::default(),
        }
    }

    /// The hash of everything that decides the shards' contents (base scenario, parameters,
    /// outputs, shard count, every row's values), as hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The number of rows.
    pub fn row_count(&self) -> usize {
        self.design.len()
    }

    /// Every row, in order.
    pub fn rows(&self) -> Vec<Row> {
        self.rows_in(0..self.design.len())
    }

    /// The rows of shard `i`: a contiguous block, `[i N / S, (i + 1) N / S)` for N rows and
    /// S shards, so shard sizes differ by at most one and shards in order are rows in order.
    pub fn shard_range(&self, i: usize) -> std::ops::Range<usize> {
        let (n, s) = (self.design.len() as u128, self.shards as u128);
        let i = (i as u128).min(s);
        ((i * n / s) as usize)..(((i + 1).min(s) * n / s) as usize)
    }

    /// The rows of shard `i` (empty past the last shard).
    pub fn shard_rows(&self, i: usize) -> Vec<Row> {
        self.rows_in(self.shard_range(i))
    }

    fn rows_in(&self, r: std::ops::Range<usize>) -> Vec<Row> {
        r.map(|k| Row {
            index: k as u64,
            values: self.design[k].clone(),
        })
        .collect()
    }
}

enum Factor {
    /// (parameter position, its values).
    List(usize, Vec<Value>),
    /// The joint sample: (parameter position, lo, hi) for each ranged parameter.
    Sample { ranges: Vec<(usize, f64, f64)> },
}

/// The base a spec names, as read: its file's name, its table and, for a trial, the trial.
struct BaseParts {
    name: String,
    table: toml::Table,
    trial: Option<crate::trial::TrialBase>,
}

impl BaseParts {
    /// What a parameter name sets on this base (a trial's keys, or a scenario's).
    fn target(&self, n: &str) -> Result<Target, SpecIssue> {
        match &self.trial {
            Some(tb) => crate::trial::target(n, tb),
            None => target(n),
        }
    }
}

/// The factors of the product as the `[[parameters]]` are read: a values list each, or the
/// one joint sample of every ranged parameter (at the place of the first one).
#[derive(Default)]
struct Factors {
    parameters: Vec<Parameter>,
    factors: Vec<Factor>,
    /// (method, n, factor index) of the joint sample.
    sampled: Option<(Sample, usize, usize)>,
}

/// A spec's text and name, for errors located at a key.
struct SpecSource<'a> {
    name: &'a str,
    text: &'a str,
}

impl SpecSource<'_> {
    /// The error at `key` of the spec.
    fn at(&self, key: String, message: String) -> SweepError {
        input::invalid(self.name, self.text, Invalid::new(key, message)).into()
    }

    /// The `[analysis]` table, checked, if the spec has one.
    fn analysis(&self, raw: &RawSpec) -> Result<Option<crate::analysis::Analysis>, SweepError> {
        match &raw.analysis {
            None => Ok(None),
            Some(t) => Ok(Some(
                crate::analysis::Analysis::from_table(t)
                    .map_err(|(k, m)| self.at(format!("analysis.{k}"), m))?,
            )),
        }
    }

    /// The base file: a trial or scenario as the analysis wants, else either kind.
    fn base(
        &self,
        base: &str,
        analysis: Option<&crate::analysis::Analysis>,
    ) -> Result<BaseParts, SweepError> {
        let at_base = |m: SpecIssue| self.at("base".into(), m.to_string());
        let (name, table, trial) = match analysis {
            Some(a) if a.base_is_trial() => {
                let (n, t) = read_trial_base(base, self.name).map_err(at_base)?;
                (n, t, None)
            }
            Some(_) => {
                let (n, t) = read_base(base, self.name).map_err(at_base)?;
                (n, t, None)
            }
            None => read_any_base(base, self.name).map_err(at_base)?,
        };
        Ok(BaseParts { name, table, trial })
    }

    /// The output names, and for a trial base that the trial makes each of them.
    fn check_outputs(
        &self,
        outputs: &[String],
        trial: Option<&crate::trial::TrialBase>,
    ) -> Result<(), SweepError> {
        check_outputs(outputs).map_err(|(i, m)| self.at(format!("outputs[{i}]"), m.to_string()))?;
        if let Some(tb) = trial {
            for (i, o) in outputs.iter().enumerate() {
                crate::trial::check_output(o, tb)
                    .map_err(|m| self.at(format!("outputs[{i}]"), m.to_string()))?;
            }
        }
        Ok(())
    }

    /// A spec whose rows are a design file's (`design = "design.csv"`).
    fn spec_from_design_file(
        &self,
        file: &str,
        raw: RawSpec,
        base: BaseParts,
        analysis: Option<crate::analysis::Analysis>,
    ) -> Result<Spec, SweepError> {
        if !raw.parameters.is_empty() || raw.seed.is_some() {
            return Err(self.at(
                "design".into(),
                "a design file gives the rows itself: drop [[parameters]] and seed".into(),
            ));
        }
        let (names, rows) =
            read_design(file, self.name).map_err(|m| self.at("design".into(), m.to_string()))?;
        let mut parameters = Vec::new();
        for n in &names {
            let target = if analysis.is_some() {
                Target::Design
            } else {
                base.target(n)
                    .map_err(|m| self.at("design".into(), format!("column `{n}`: {m}")))?
            };
            parameters.push(Parameter {
                name: n.clone(),
                target,
                column: Column::Float,
            });
        }
        if let Some(a) = &analysis {
            a.check_columns(&names)
                .map_err(|m| self.at("design".into(), m.to_string()))?;
        }
        check_shards(raw.shards, rows.len())
            .map_err(|m| self.at("shards".into(), m.to_string()))?;
        Ok(Spec::assemble(
            self.name.to_string(),
            Some(self.text.to_string()),
            base.name,
            base.table,
            base.trial,
            parameters,
            raw.outputs,
            raw.shards,
            rows,
            analysis,
        ))
    }

    /// A spec whose rows are the product of its `[[parameters]]`.
    fn spec_from_parameters(&self, raw: RawSpec, base: BaseParts) -> Result<Spec, SweepError> {
        if raw.parameters.is_empty() {
            return Err(self.at(
                "parameters".into(),
                "name at least one parameter to vary ([[parameters]] with name and values)".into(),
            ));
        }
        let seed = raw.seed.unwrap_or(DEFAULT_SEED);
        let mut f = Factors::default();
        for (i, p) in raw.parameters.iter().enumerate() {
            self.parameter(&raw.parameters[..i], i, p, &base, &mut f)?;
        }
        let design = build_design(
            &f.factors,
            f.parameters.len(),
            f.sampled.map(|(m, n, _)| (m, n)),
            seed,
        )
        .map_err(|m| self.at("parameters".into(), m.to_string()))?;
        check_shards(raw.shards, design.len())
            .map_err(|m| self.at("shards".into(), m.to_string()))?;
        Ok(Spec::assemble(
            self.name.to_string(),
            Some(self.text.to_string()),
            base.name,
            base.table,
            base.trial,
            f.parameters,
            raw.outputs,
            raw.shards,
            design,
            None,
        ))
    }

    /// Parameter `i` (after `earlier`): its name, then its values list or its range.
    fn parameter(
        &self,
        earlier: &[RawParam],
        i: usize,
        p: &RawParam,
        base: &BaseParts,
        f: &mut Factors,
    ) -> Result<(), SweepError> {
        let key = |k: &str| format!("parameters[{i}].{k}");
        if earlier.iter().any(|q| q.name == p.name) {
            return Err(self.at(
                key("name"),
                format!("`{}` is varied twice; name each parameter once", p.name),
            ));
        }
        let target = base
            .target(&p.name)
            .map_err(|m| self.at(key("name"), m.to_string()))?;
        match (&p.values, p.range) {
            (Some(_), Some(_)) | (None, None) => Err(self.at(
                key("name"),
                "give either `values = [...]` or `range = [lo, hi]` with `sample` and `n`".into(),
            )),
            (Some(vals), None) => self.listed_parameter(i, p, vals, target, base, f),
            (None, Some([lo, hi])) => self.ranged_parameter(i, p, lo, hi, target, base, f),
        }
    }

    /// A parameter with `values = [...]`: one factor of its own.
    fn listed_parameter(
        &self,
        i: usize,
        p: &RawParam,
        vals: &[toml::Value],
        target: Target,
        base: &BaseParts,
        f: &mut Factors,
    ) -> Result<(), SweepError> {
        let key = |k: &str| format!("parameters[{i}].{k}");
        if p.sample.is_some() || p.n.is_some() {
            return Err(self.at(
                key("values"),
                "`sample` and `n` go with `range`, not `values`".into(),
            ));
        }
        let (column, values) =
            value_list(vals, &target).map_err(|m| self.at(key("values"), m.to_string()))?;
        probe(
            &base.table,
            &base.name,
            base.trial.as_ref(),
            &target,
            &values[0],
        )
        .map_err(|m| self.at(key("name"), m.to_string()))?;
        f.parameters.push(Parameter {
            name: p.name.clone(),
            target,
            column,
        });
        f.factors.push(Factor::List(f.parameters.len() - 1, values));
        Ok(())
    }

    /// A parameter with `range = [lo, hi]`: a dimension of the joint sample.
    #[allow(clippy::too_many_arguments)]
    fn ranged_parameter(
        &self,
        i: usize,
        p: &RawParam,
        lo: f64,
        hi: f64,
        target: Target,
        base: &BaseParts,
        f: &mut Factors,
    ) -> Result<(), SweepError> {
        let key = |k: &str| format!("parameters[{i}].{k}");
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(self.at(
                key("range"),
                format!("needs finite lo < hi, got [{lo}, {hi}]"),
            ));
        }
        let Some(method) = p.sample else {
            return Err(self.at(
                key("range"),
                "a range needs `sample = \"sobol\"` or `sample = \"lhs\"`".into(),
            ));
        };
        let Some(n) = p.n.filter(|n| *n >= 1) else {
            return Err(self.at(
                key("range"),
                "a range needs `n`, the number of points (at least 1)".into(),
            ));
        };
        match f.sampled {
            None => {
                f.sampled = Some((method, n, f.factors.len()));
                f.factors.push(Factor::Sample {
                    ranges: vec![(f.parameters.len(), lo, hi)],
                });
            }
            Some((m0, n0, k)) => {
                if m0 != method || n0 != n {
                    return Err(self.at(
                        key("sample"),
                        format!("every ranged parameter is one joint design: use the same `sample` and `n` as the first one ({m0:?}, n = {n0})").to_lowercase(),
                    ));
                }
                if let Factor::Sample { ranges } = &mut f.factors[k] {
                    ranges.push((f.parameters.len(), lo, hi));
                }
            }
        }
        probe(
            &base.table,
            &base.name,
            base.trial.as_ref(),
            &target,
            &Value::Float(lo),
        )
        .map_err(|m| self.at(key("name"), m.to_string()))?;
        f.parameters.push(Parameter {
            name: p.name.clone(),
            target,
            column: Column::Float,
        });
        Ok(())
    }
}

/// The full product of the factors, the last one varying fastest.
fn build_design(
    factors: &[Factor],
    n_params: usize,
    sample: Option<(Sample, usize)>,
    seed: u64,
) -> Result<Vec<Vec<Value>>, SpecIssue> {
    let points = match sample {
        Some((method, n)) => {
            let dims = factors
                .iter()
                .map(|f| match f {
                    Factor::Sample { ranges } => ranges.len(),
                    Factor::List(..) => 0,
                })
                .sum();
            match method {
                Sample::Sobol => {
                    if dims > design::SOBOL_MAX_DIMENSIONS || n > u32::MAX as usize {
                        return Err(SpecIssue::SobolLimits);
                    }
                    if n > MAX_ROWS {
                        return Err(SpecIssue::TooManyPoints { n });
                    }
                    design::sobol(n, dims, seed)
                }
                Sample::Lhs => {
                    if n > MAX_ROWS {
                        return Err(SpecIssue::TooManyPoints { n });
                    }
                    design::lhs(n, dims, seed)
                }
            }
        }
        None => Vec::new(),
    };
    let sizes: Vec<usize> = factors
        .iter()
        .map(|f| match f {
            Factor::List(_, v) => v.len(),
            Factor::Sample { .. } => points.len(),
        })
        .collect();
    let total = sizes.iter().try_fold(1usize, |a, s| a.checked_mul(*s));
    let total = match total {
        Some(t) if t <= MAX_ROWS => t,
        _ => return Err(SpecIssue::TooManyRows { sizes }),
    };
    let mut rows = Vec::with_capacity(total);
    for r in 0..total {
        let mut row = vec![Value::Float(0.0); n_params];
        let mut rest = r;
        let mut digits = vec![0; factors.len()];
        for (f, s) in sizes.iter().enumerate().rev() {
            digits[f] = rest % s;
            rest /= s;
        }
        for (f, factor) in factors.iter().enumerate() {
            match factor {
                Factor::List(p, v) => row[*p] = v[digits[f]].clone(),
                Factor::Sample { ranges } => {
                    for (d, (p, lo, hi)) in ranges.iter().enumerate() {
                        row[*p] = Value::Float(lo + points[digits[f]][d] * (hi - lo));
                    }
                }
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// What a parameter name sets; the error says why it names nothing.
fn target(name: &str) -> Result<Target, SpecIssue> {
    if let Some(p) = name.strip_prefix("params.") {
        let mut tp = TransportParams::defaults().clone();
        if tp.get_mut(p).is_some() {
            return Ok(Target::Transport(p.to_string()));
        }
        if ResponseParams::defaults().value(p).is_ok() {
            return Ok(Target::Response(p.to_string()));
        }
        return Err(SpecIssue::UnknownModelParameter {
            name: p.to_string(),
        });
    }
    if name.is_empty() || name.split('.').any(|s| s.trim().is_empty()) {
        return Err(SpecIssue::NotAKey);
    }
    Ok(Target::Scenario(name.to_string()))
}

/// A `values` list: all numbers, or all text (strings, booleans); model parameters take
/// numbers only.
fn value_list(vals: &[toml::Value], target: &Target) -> Result<(Column, Vec<Value>), SpecIssue> {
    if vals.is_empty() {
        return Err(SpecIssue::NoValues);
    }
    let values: Vec<Value> = vals
        .iter()
        .map(Value::from_toml)
        .collect::<Option<_>>()
        .ok_or(SpecIssue::NotScalar)?;
    let numeric = values.iter().all(|v| v.as_f64().is_some());
    let text = values.iter().all(|v| v.as_f64().is_none());
    if !numeric && !text {
        return Err(SpecIssue::MixedValues);
    }
    if numeric {
        if let Some(x) = values
            .iter()
            .filter_map(Value::as_f64)
            .find(|x| !x.is_finite())
        {
            return Err(SpecIssue::NotFinite { value: x });
        }
    }
    if !numeric && !matches!(target, Target::Scenario(_) | Target::Trial(_)) {
        return Err(SpecIssue::TextForModel);
    }
    Ok((if numeric { Column::Float } else { Column::Text }, values))
}

fn check_outputs(outputs: &[String]) -> Result<(), (usize, SpecIssue)> {
    if outputs.is_empty() {
        return Err((0, SpecIssue::NoOutputs));
    }
    for (i, o) in outputs.iter().enumerate() {
        parse_name(o).map_err(|m| (i, m.into()))?;
        if outputs[..i].contains(o) {
            return Err((i, SpecIssue::OutputTwice { name: o.clone() }));
        }
        if ["row", "status", "error"].contains(&o.as_str()) {
            return Err((i, SpecIssue::ReservedColumn { name: o.clone() }));
        }
    }
    Ok(())
}

/// Find a base file named in a spec (see [`beside_spec`]) and read its text; `what` names the
/// kinds of file the spec wants, for the error when none is found.
fn find_base(
    base: &str,
    spec_name: &str,
    what: &'static str,
) -> Result<(PathBuf, String), SpecIssue> {
    let candidates = beside_spec(base, spec_name);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(SpecIssue::BaseNotFound {
            what,
            base: base.to_string(),
            tried: candidates.iter().map(|p| p.display().to_string()).collect(),
        });
    };
    let text = std::fs::read_to_string(path).map_err(|e| SpecIssue::Read {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok((path.clone(), text))
}

/// Find and read the base scenario: beside the spec first, then in the working directory.
fn read_base(base: &str, spec_name: &str) -> Result<(String, toml::Table), SpecIssue> {
    let (path, text) = find_base(base, spec_name, "scenario file")?;
    let name = path.display().to_string();
    let table: toml::Table = toml::from_str(&text).map_err(|e| SpecIssue::BaseNotToml {
        name: name.clone(),
        message: e.message().to_string(),
    })?;
    if table.contains_key("trial") {
        return Err(SpecIssue::BaseIsTrial { name });
    }
    read_scenario(&text, &name).map_err(|e| SpecIssue::BaseScenario(Box::new(e)))?;
    Ok((name, table))
}

/// A base whose kind the file tells: a trial file (it has a `[trial]` table) or else a
/// scenario; the error names the file when it is neither.
#[allow(clippy::type_complexity)]
fn read_any_base(
    base: &str,
    spec_name: &str,
) -> Result<(String, toml::Table, Option<crate::trial::TrialBase>), SpecIssue> {
    let (path, text) = find_base(base, spec_name, "scenario or trial file")?;
    let name = path.display().to_string();
    let table: toml::Table = toml::from_str(&text).map_err(|e| SpecIssue::BaseNeitherToml {
        name: name.clone(),
        message: e.message().to_string(),
    })?;
    if table.contains_key("trial") {
        let tb = crate::trial::read(&path, &text)?;
        return Ok((name, table, Some(tb)));
    }
    read_scenario(&text, &name).map_err(|e| SpecIssue::BaseNeither {
        name: name.clone(),
        source: Box::new(e),
    })?;
    Ok((name, table, None))
}

/// A path named in a spec: beside the spec first, then as given.
fn beside_spec(file: &str, spec_name: &str) -> Vec<PathBuf> {
    let given = PathBuf::from(file);
    if given.is_absolute() {
        return vec![given];
    }
    let beside = Path::new(spec_name).parent().map(|d| d.join(&given));
    beside.into_iter().chain([given]).collect()
}

/// Find and check a trial file as the base of an analysis (power).
fn read_trial_base(base: &str, spec_name: &str) -> Result<(String, toml::Table), SpecIssue> {
    let (path, text) = find_base(base, spec_name, "trial file")?;
    exoskin_api::trial::load(&path).map_err(|e| SpecIssue::BaseTrial(Box::new(e)))?;
    // The trial's text goes into the spec hash: rounds of an edited trial are not mixed.
    let mut t = toml::Table::new();
    t.insert("trial_text".into(), text.into());
    Ok((path.display().to_string(), t))
}

/// The design file of a spec: a CSV table with a header of column names and one row of
/// numbers per run (written by [`write_design`]; numbers in Rust's shortest round-trip
/// form, so they read back bit for bit).
pub(crate) fn read_design(
    file: &str,
    spec_name: &str,
) -> Result<(Vec<String>, Vec<Vec<Value>>), SpecIssue> {
    let candidates = beside_spec(file, spec_name);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(SpecIssue::NoDesignFile {
            file: file.to_string(),
        });
    };
    let shown = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SpecIssue::Read {
        path: shown(),
        source: e,
    })?;
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    if names.iter().any(String::is_empty) {
        return Err(SpecIssue::DesignHeader { path: shown() });
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != names.len() {
            return Err(SpecIssue::DesignWidth {
                path: shown(),
                line: i + 2,
                cells: cells.len(),
                columns: names.len(),
            });
        }
        let row = cells
            .iter()
            .enumerate()
            .map(|(j, c)| match c.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Value::Float(x)),
                _ => Err(SpecIssue::DesignCell {
                    path: shown(),
                    line: i + 2,
                    column: j + 1,
                    cell: c.to_string(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(SpecIssue::DesignEmpty { path: shown() });
    }
    if rows.len() > MAX_ROWS {
        return Err(SpecIssue::DesignTooLong { path: shown() });
    }
    Ok((names, rows))
}

/// Write a design file (see [`read_design`]).
pub(crate) fn write_design(
    path: &Path,
    names: &[&str],
    rows: &[Vec<f64>],
) -> Result<(), SweepError> {
    let mut text = names.join(",");
    text.push('\n');
    for r in rows {
        let cells: Vec<String> = r.iter().map(|x| format!("{x:?}")).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    exoskin_model::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| SweepError::Io {
        path: path.display().to_string(),
        what: "cannot write".into(),
        source: e,
    })
}

/// Set a dotted key (parts may index arrays: `layers[0]`) on a scenario table; tables on
/// the way are made when missing (the scenario's checks then judge the key).
pub(crate) fn set_key(t: &mut toml::Table, key: &str, v: toml::Value) -> Result<(), SpecIssue> {
    let parts: Vec<&str> = key.split('.').collect();
    set_in(t, &parts, v)
}

fn set_in(t: &mut toml::Table, parts: &[&str], v: toml::Value) -> Result<(), SpecIssue> {
    let (part, rest) = (parts[0], &parts[1..]);
    let (name, index) = match part.split_once('[') {
        Some((n, r)) => {
            let i: usize = r
                .trim_end_matches(']')
                .parse()
                .map_err(|_| SpecIssue::BadIndex {
                    part: part.to_string(),
                })?;
            (n, Some(i))
        }
        None => (part, None),
    };
    let not_table = || SpecIssue::NotATable {
        name: name.to_string(),
    };
    match index {
        None if rest.is_empty() => {
            t.insert(name.to_string(), v);
            Ok(())
        }
        None => {
            let e = t
                .entry(name.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            set_in(e.as_table_mut().ok_or_else(not_table)?, rest, v)
        }
        Some(i) => {
            let arr = t
                .get_mut(name)
                .and_then(toml::Value::as_array_mut)
                .ok_or_else(|| SpecIssue::NotAList {
                    name: name.to_string(),
                })?;
            let len = arr.len();
            let slot = arr.get_mut(i).ok_or_else(|| SpecIssue::PastEnd {
                name: name.to_string(),
                len,
                index: i,
            })?;
            if rest.is_empty() {
                *slot = v;
                Ok(())
            } else {
                set_in(slot.as_table_mut().ok_or_else(not_table)?, rest, v)
            }
        }
    }
}

/// Try one value on the base scenario: the scenario's own checks decide.
fn probe(
    base: &toml::Table,
    base_name: &str,
    trial: Option<&crate::trial::TrialBase>,
    target: &Target,
    v: &Value,
) -> Result<(), SpecIssue> {
    if let (Target::Trial(key), Some(tb)) = (target, trial) {
        return crate::trial::probe(base, tb, base_name, key, v.to_toml());
    }
    let Target::Scenario(key) = target else {
        return Ok(());
    };
    let mut t = base.clone();
    set_key(&mut t, key, v.to_toml())?;
    let text = toml::to_string(&t)?;
    read_scenario(&text, base_name)
        .map(|_| ())
        .map_err(|e| SpecIssue::ScenarioValue {
            base: base_name.to_string(),
            key: e.place().and_then(|p| p.key.clone()),
            detail: e.detail(),
        })
}
