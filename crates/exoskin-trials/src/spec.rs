//! Trial files (TOML): design, arms, population, visits, endpoints and their instruments.
//!
//! Errors are [`TrialError`]s: file, line, column, key, the allowed values or range, and how
//! to fix it; an error inside an arm's scenario is that scenario's [`ScenarioError`]. Each arm names an `in_vivo` scenario file (product, procedure, regimen),
//! relative to the trial file; its errors point into that file. docs/trial-files.md is
//! the key reference; `trials/` holds examples.

use crate::error::TrialError;
pub use crate::multiplicity::Multiplicity;
use exoskin_model::error::{check_range, Invalid};
use exoskin_model::scenario::locate;
use exoskin_model::{parse_scenario, InVivo, Scenario, ScenarioError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const INSTRUMENTS_TOML: &str = include_str!("../../../data/trials/instruments.toml");
const POPULATION_TOML: &str = include_str!("../../../data/trials/population.toml");

/// Most participants per arm (or per split-face trial).
pub const MAX_PARTICIPANTS: usize = 1_000_000;
/// Most visits.
pub const MAX_VISITS: usize = 100;

// ---------------------------------------------------------------- data files

/// Which model outcome drives an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Hydration,
    Tewl,
    Erythema,
    PoreArea,
    /// Mean of collagen and elastin.
    Matrix,
    Collagen,
    Elastin,
    Melanin,
    Elasticity,
    Wrinkle,
    /// No model pathway (reads baseline and noise).
    None,
}

impl Driver {
    fn parse(s: &str) -> Option<Driver> {
        Some(match s {
            "hydration_pct" => Driver::Hydration,
            "tewl_pct" => Driver::Tewl,
            "erythema_pct" => Driver::Erythema,
            "pore_area_pct" => Driver::PoreArea,
            "matrix" => Driver::Matrix,
            "collagen_pct" => Driver::Collagen,
            "elastin_pct" => Driver::Elastin,
            "melanin_pct" => Driver::Melanin,
            "elasticity_pct" => Driver::Elasticity,
            "wrinkle_pct" => Driver::Wrinkle,
            "none" => Driver::None,
            _ => return None,
        })
    }
}

/// An endpoint's instrument model (data/trials/instruments.toml, with trial overrides).
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    pub instrument: String,
    pub unit: String,
    pub driver: Driver,
    /// % reading change per % driver change.
    pub coupling: f64,
    /// True when a higher reading is an improvement.
    pub higher_is_better: bool,
    pub baseline_mean: f64,
    pub baseline_sd: f64,
    pub side_sd: f64,
    /// Repeatability, coefficient of variation of a reading.
    pub noise_cv: f64,
    pub source: String,
}

#[derive(Deserialize)]
struct RawInstrument {
    instrument: String,
    unit: String,
    driver: String,
    coupling: f64,
    better: String,
    baseline_mean: f64,
    baseline_sd: f64,
    side_sd: f64,
    noise_cv: f64,
    source: String,
}

/// The shipped endpoint table, by endpoint name.
pub fn instruments() -> &'static BTreeMap<String, Instrument> {
    static I: std::sync::OnceLock<BTreeMap<String, Instrument>> = std::sync::OnceLock::new();
    I.get_or_init(|| {
        let raw: BTreeMap<String, toml::Value> =
            toml::from_str(INSTRUMENTS_TOML).expect("data/trials/instruments.toml parses");
        raw.into_iter()
            .map(|(k, v)| {
                let r: RawInstrument = v
                    .try_into()
                    .unwrap_or_else(|e| panic!("data/trials/instruments.toml [{k}]: {e}"));
                let driver = Driver::parse(&r.driver).unwrap_or_else(|| {
                    panic!(
                        "data/trials/instruments.toml [{k}]: unknown driver {}",
                        r.driver
                    )
                });
                (
                    k,
                    Instrument {
                        instrument: r.instrument,
                        unit: r.unit,
                        driver,
                        coupling: r.coupling,
                        higher_is_better: r.better == "higher",
                        baseline_mean: r.baseline_mean,
                        baseline_sd: r.baseline_sd,
                        side_sd: r.side_sd,
                        noise_cv: r.noise_cv,
                        source: r.source,
                    },
                )
            })
            .collect()
    })
}

#[derive(Deserialize)]
struct DefaultParam {
    value: f64,
    range: [f64; 2],
}

fn population_defaults() -> &'static BTreeMap<String, DefaultParam> {
    static P: std::sync::OnceLock<BTreeMap<String, DefaultParam>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let raw: BTreeMap<String, toml::Value> =
            toml::from_str(POPULATION_TOML).expect("data/trials/population.toml parses");
        raw.into_iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.try_into()
                        .unwrap_or_else(|e| panic!("data/trials/population.toml [{k}]: {e}")),
                )
            })
            .collect()
    })
}

// ---------------------------------------------------------------- raw (serde) structure

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrial {
    trial: RawHeader,
    arms: Vec<RawArm>,
    population: Option<RawPopulation>,
    endpoints: Vec<RawEndpoint>,
    power: Option<RawPower>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Option<String>,
    description: Option<String>,
    source: Option<String>,
    design: String,
    participants: i64,
    seed: i64,
    visits_days: Vec<f64>,
    #[serde(default = "alpha")]
    alpha: f64,
    #[serde(default = "auto")]
    response: String,
    primary_endpoint: Option<String>,
    #[serde(default = "superiority")]
    analysis: String,
    #[serde(default = "none")]
    multiplicity: String,
    washout_days: Option<f64>,
}

fn superiority() -> String {
    "superiority".into()
}

fn none() -> String {
    "none".into()
}

fn alpha() -> f64 {
    0.05
}

fn auto() -> String {
    "auto".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArm {
    name: String,
    role: String,
    scenario: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    age_years: Option<RawAge>,
    site: Option<String>,
    delivery_cv: Option<f64>,
    matrix_response_cv: Option<f64>,
    barrier_response_cv: Option<f64>,
    side_cv: Option<f64>,
    dropout_pct: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAge {
    min: f64,
    max: f64,
    mean: Option<f64>,
    sd: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    name: String,
    instrument: String,
    noise_cv: Option<f64>,
    baseline_mean: Option<f64>,
    baseline_sd: Option<f64>,
    coupling: Option<f64>,
    #[serde(default = "five")]
    responder_pct: f64,
    margin: Option<f64>,
    margin_low: Option<f64>,
    margin_high: Option<f64>,
}

fn five() -> f64 {
    5.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPower {
    target: Option<f64>,
    replicates: Option<i64>,
    max_participants: Option<i64>,
}

// ---------------------------------------------------------------- validated trial

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Each participant has both products, one per face side.
    SplitFace,
    /// Each participant gets one arm.
    Parallel,
    /// Each participant gets both arms, one per period (AB or BA, alternately), with a
    /// washout between the periods.
    Crossover,
}

impl Design {
    pub fn name(&self) -> &'static str {
        match self {
            Design::SplitFace => "split_face",
            Design::Parallel => "parallel",
            Design::Crossover => "crossover",
        }
    }

    /// Readings per participant and visit: sides (split-face), periods (crossover) or 1.
    pub fn sides(&self) -> usize {
        match self {
            Design::Parallel => 1,
            Design::SplitFace | Design::Crossover => 2,
        }
    }
}

/// The hypothesis each endpoint is tested for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// Two-sided test of no difference.
    Superiority,
    /// TOST against the endpoint's margins.
    Equivalence,
    /// One-sided test against the endpoint's margin.
    NonInferiority,
}

impl Analysis {
    pub fn name(&self) -> &'static str {
        match self {
            Analysis::Superiority => "superiority",
            Analysis::Equivalence => "equivalence",
            Analysis::NonInferiority => "non_inferiority",
        }
    }
}

/// An endpoint's margins on the difference treated minus control (instrument units): the
/// equivalence interval `(low, high)`; for non-inferiority `low = -margin`, `high = margin`
/// and the side used follows the endpoint's direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margin {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Treatment,
    Vehicle,
    Placebo,
    Untreated,
    /// An active comparator: the product an equivalence or non-inferiority trial compares
    /// the treatment with.
    Reference,
}

impl Role {
    pub fn is_control(&self) -> bool {
        *self != Role::Treatment
    }
}

/// How per-participant responses are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// `exact` when it needs no more response runs than the grid, else `grid`.
    Auto,
    /// One response run per participant and side.
    Exact,
    /// Response runs on a grid of participant factors, interpolated (see [`crate::sim`]).
    Grid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub name: String,
    pub role: Role,
    /// The scenario path as written in the trial file.
    pub scenario_file: String,
    /// The scenario, its duration set to the last visit (and site to the population's).
    pub scenario: InVivo,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AgeDistribution {
    Uniform {
        min: f64,
        max: f64,
    },
    /// Normal, truncated to [min, max].
    Normal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub age_years: AgeDistribution,
    pub delivery_cv: f64,
    pub matrix_response_cv: f64,
    pub barrier_response_cv: f64,
    pub side_cv: f64,
    pub dropout_pct: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub instrument: Instrument,
    /// A responder improves by at least this percent of baseline (over the control side in
    /// split-face designs).
    pub responder_pct: f64,
    /// Margins (equivalence and non-inferiority analyses).
    pub margin: Option<Margin>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PowerSpec {
    pub target: f64,
    pub replicates: usize,
    pub max_participants: usize,
}

/// A validated trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub name: String,
    pub description: String,
    pub source: String,
    pub design: Design,
    /// Participants (split-face) or participants per arm (parallel).
    pub participants: usize,
    pub seed: u64,
    /// Visit days, ascending, the first is the baseline (day 0).
    pub visits_days: Vec<f64>,
    pub alpha: f64,
    pub response: ResponseMode,
    pub analysis: Analysis,
    pub multiplicity: Multiplicity,
    /// Days between the last visit of period 1 and the first of period 2 (crossover; 0
    /// otherwise).
    pub washout_days: f64,
    /// Index into `endpoints` of the primary endpoint (power is computed for it).
    pub primary: usize,
    pub arms: Vec<Arm>,
    pub population: Population,
    pub endpoints: Vec<Endpoint>,
    pub power: PowerSpec,
}

impl Trial {
    /// Index of the control arm.
    pub fn control(&self) -> usize {
        self.arms
            .iter()
            .position(|a| a.role.is_control())
            .expect("validated: one control arm")
    }

    /// Indices of the treatment arms.
    pub fn treatments(&self) -> Vec<usize> {
        (0..self.arms.len())
            .filter(|&i| !self.arms[i].role.is_control())
            .collect()
    }

    /// Participants in the whole trial.
    pub fn total_participants(&self) -> usize {
        match self.design {
            Design::SplitFace | Design::Crossover => self.participants,
            Design::Parallel => self.participants * self.arms.len(),
        }
    }

    /// Length of a period (the last visit day).
    pub fn period_days(&self) -> f64 {
        self.visits_days.last().copied().unwrap_or(0.0)
    }

    /// The day period 2 starts (crossover): period 1, then the washout.
    pub fn period2_start_days(&self) -> f64 {
        self.period_days() + self.washout_days
    }
}

// ---------------------------------------------------------------- parsing

/// Read and validate a trial file; arm scenarios are read relative to its folder.
pub fn load_trial(path: &Path) -> Result<Trial, TrialError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TrialError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_trial(&text, &file, base)
}

/// Parse and validate trial text; `file` names it in errors, `base` is the folder arm
/// scenario paths are relative to.
pub fn parse_trial(text: &str, file: &str, base: &Path) -> Result<Trial, TrialError> {
    let raw: RawTrial = exoskin_model::input::from_toml(text, file)?;
    let at = |inv: Invalid| {
        let location = locate(text, &inv.key);
        TrialError::File {
            file: file.to_string(),
            line: location.as_ref().map(|l| l.line as u32),
            column: location.as_ref().map(|l| l.column as u32),
            allowed: allowed_for(&inv.key).into(),
            field: Some(inv.key),
            message: inv.message,
        }
    };
    let mut trial = validate(&raw).map_err(at)?;
    for (i, a) in raw.arms.iter().enumerate() {
        let arm = load_arm(a, i, &trial, base, &raw.population).map_err(|e| match e {
            ArmError::Scenario(e) => TrialError::Scenario(e),
            ArmError::Here(inv) => at(inv),
        })?;
        trial.arms.push(arm);
    }
    check_arms(&trial).map_err(at)?;
    Ok(trial)
}

/// The values of each choice key.
const DESIGNS: [(&str, Design); 3] = [
    ("split_face", Design::SplitFace),
    ("parallel", Design::Parallel),
    ("crossover", Design::Crossover),
];
const ANALYSES: [(&str, Analysis); 3] = [
    ("superiority", Analysis::Superiority),
    ("equivalence", Analysis::Equivalence),
    ("non_inferiority", Analysis::NonInferiority),
];
const MULTIPLICITY: [(&str, Multiplicity); 5] = [
    ("none", Multiplicity::None),
    ("holm", Multiplicity::Holm),
    ("hochberg", Multiplicity::Hochberg),
    ("bonferroni", Multiplicity::Bonferroni),
    ("fixed_sequence", Multiplicity::FixedSequence),
];
const RESPONSE_MODES: [(&str, ResponseMode); 3] = [
    ("auto", ResponseMode::Auto),
    ("exact", ResponseMode::Exact),
    ("grid", ResponseMode::Grid),
];
const ROLES: [(&str, Role); 5] = [
    ("treatment", Role::Treatment),
    ("vehicle", Role::Vehicle),
    ("placebo", Role::Placebo),
    ("untreated", Role::Untreated),
    ("reference", Role::Reference),
];

/// The value of choice key `key` named `value`, or an error listing the allowed names.
fn choose<T: Copy>(
    key: &str,
    what: &str,
    value: &str,
    options: &[(&str, T)],
    note: &str,
) -> Result<T, Invalid> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            Invalid::new(
                key,
                format!(
                    "unknown {what} \"{value}\"; use one of {}{note}",
                    names.join(", ")
                ),
            )
        })
}

/// The values allowed for a choice key (empty for other keys).
fn allowed_for(key: &str) -> Vec<String> {
    let names = |o: &[&str]| o.iter().map(|s| s.to_string()).collect();
    let last = key.rsplit('.').next().unwrap_or(key);
    match (key, last) {
        ("trial.design", _) => names(&DESIGNS.map(|(n, _)| n)),
        ("trial.response", _) => names(&RESPONSE_MODES.map(|(n, _)| n)),
        ("trial.analysis", _) => names(&ANALYSES.map(|(n, _)| n)),
        ("trial.multiplicity", _) => names(&MULTIPLICITY.map(|(n, _)| n)),
        (k, "role") if k.starts_with("arms[") => names(&ROLES.map(|(n, _)| n)),
        (k, "name") if k.starts_with("endpoints[") => instruments().keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn validate(raw: &RawTrial) -> Result<Trial, Invalid> {
    let h = &raw.trial;
    let design = choose(
        "trial.design",
        "design",
        &h.design,
        &DESIGNS,
        " (split_face: each participant is their own control; parallel: one arm per participant; crossover: both arms in two periods with a washout)",
    )?;
    let analysis = choose(
        "trial.analysis",
        "analysis",
        &h.analysis,
        &ANALYSES,
        " (superiority: a difference; equivalence: TOST within each endpoint's margins; non_inferiority: no worse than each endpoint's margin)",
    )?;
    let multiplicity = choose(
        "trial.multiplicity",
        "correction",
        &h.multiplicity,
        &MULTIPLICITY,
        " (fixed_sequence tests the endpoints in the order they are listed)",
    )?;
    let washout_days = validate_washout(design, h.washout_days)?;
    let participants = check_range(
        "trial.participants",
        h.participants as f64,
        2.0,
        MAX_PARTICIPANTS as f64,
        "participants",
    )? as usize;
    if h.seed < 0 {
        return Err(Invalid::new(
            "trial.seed",
            format!("{} is negative; give a seed from 0 to {}", h.seed, i64::MAX),
        ));
    }
    validate_visits(&h.visits_days)?;
    let alpha = check_range("trial.alpha", h.alpha, 1e-6, 0.5, "(significance level)")?;
    let response = choose("trial.response", "mode", &h.response, &RESPONSE_MODES, "")?;
    validate_arm_count(design, raw.arms.len())?;
    let population = validate_population(raw.population.as_ref())?;
    let endpoints = validate_endpoints(&raw.endpoints, analysis)?;
    let primary = validate_primary(h.primary_endpoint.as_deref(), &endpoints)?;
    let power = validate_power(raw.power.as_ref())?;
    Ok(Trial {
        name: h.name.clone().unwrap_or_else(|| "virtual trial".into()),
        description: h.description.clone().unwrap_or_default(),
        source: h.source.clone().unwrap_or_default(),
        design,
        participants,
        seed: h.seed as u64,
        visits_days: h.visits_days.clone(),
        alpha,
        response,
        analysis,
        multiplicity,
        washout_days,
        primary,
        arms: Vec::new(),
        population,
        endpoints,
        power,
    })
}

/// The washout between a crossover's periods (days): required for a crossover, refused for
/// other designs (0 there).
fn validate_washout(design: Design, washout_days: Option<f64>) -> Result<f64, Invalid> {
    Ok(match (design, washout_days) {
        (Design::Crossover, None) => {
            return Err(Invalid::new(
                "trial.washout_days",
                "a crossover trial needs the washout between its periods; add washout_days = 28 (days, 0 or more) under [trial]",
            ))
        }
        (Design::Crossover, Some(w)) => {
            if w < 0.0 {
                return Err(Invalid::new(
                    "trial.washout_days",
                    format!("{w} is negative; give the days between the periods, 0 or more (e.g. 28)"),
                ));
            }
            check_range("trial.washout_days", w, 0.0, 3650.0, "days")?
        }
        (_, Some(_)) => {
            return Err(Invalid::new(
                "trial.washout_days",
                format!("washout_days is for design = \"crossover\"; remove it from this {} trial", design.name()),
            ))
        }
        (_, None) => 0.0,
    })
}

/// The visit days: 2 to [`MAX_VISITS`] of them, the first 0 (baseline), increasing.
fn validate_visits(visits_days: &[f64]) -> Result<(), Invalid> {
    if visits_days.len() < 2 || visits_days.len() > MAX_VISITS {
        return Err(Invalid::new("trial.visits_days", format!("has {} visits; give 2 to {MAX_VISITS} days, the first 0 (baseline), e.g. [0, 28, 56, 84]", visits_days.len())));
    }
    for (i, &d) in visits_days.iter().enumerate() {
        check_range(&format!("trial.visits_days[{i}]"), d, 0.0, 3650.0, "days")?;
        if i == 0 && d != 0.0 {
            return Err(Invalid::new(
                "trial.visits_days[0]",
                format!("{d} is not allowed: the first visit is the baseline, day 0"),
            ));
        }
        if i > 0 && d <= visits_days[i - 1] {
            return Err(Invalid::new(format!("trial.visits_days[{i}]"), format!("{d} does not come after the previous visit ({}); list visits in increasing order", visits_days[i - 1])));
        }
    }
    Ok(())
}

/// The number of arms the design allows: 2 for split-face and crossover, 2 to 8 for
/// parallel.
fn validate_arm_count(design: Design, n_arms: usize) -> Result<(), Invalid> {
    let message = match design {
        Design::SplitFace if n_arms != 2 => {
            format!("a split-face trial has exactly 2 arms (one per face side), not {n_arms}")
        }
        Design::Parallel if !(2..=8).contains(&n_arms) => {
            format!("a parallel trial has 2 to 8 arms, not {n_arms}")
        }
        Design::Crossover if n_arms != 2 => format!(
            "a crossover trial has exactly 2 arms (AB/BA: one treatment, one control), not \
             {n_arms}; use design = \"parallel\" for more arms"
        ),
        _ => return Ok(()),
    };
    Err(Invalid::new("arms", message))
}

/// The endpoints, at least one, each known, measured by its instrument and listed once.
fn validate_endpoints(raw: &[RawEndpoint], analysis: Analysis) -> Result<Vec<Endpoint>, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new(
            "endpoints",
            "no endpoints; add at least one [[endpoints]] table with name and instrument",
        ));
    }
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (i, e) in raw.iter().enumerate() {
        let endpoint = validate_endpoint(e, i, analysis, &endpoints)?;
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

/// Endpoint `i`: its instrument from the shipped table with the trial's overrides, its
/// responder threshold and its margins; `earlier` are the endpoints before it.
fn validate_endpoint(
    e: &RawEndpoint,
    i: usize,
    analysis: Analysis,
    earlier: &[Endpoint],
) -> Result<Endpoint, Invalid> {
    let table = instruments();
    let key = |k: &str| format!("endpoints[{i}].{k}");
    let Some(base) = table.get(&e.name) else {
        let names: Vec<&str> = table.keys().map(|s| s.as_str()).collect();
        return Err(Invalid::new(
            key("name"),
            format!(
                "unknown endpoint \"{}\"; use one of: {}",
                e.name,
                names.join(", ")
            ),
        ));
    };
    if e.instrument != base.instrument {
        return Err(Invalid::new(
            key("instrument"),
            format!(
                "\"{}\" does not measure {}; use instrument = \"{}\"",
                e.instrument, e.name, base.instrument
            ),
        ));
    }
    if earlier.iter().any(|x| x.name == e.name) {
        return Err(Invalid::new(
            key("name"),
            format!("endpoint \"{}\" is listed twice", e.name),
        ));
    }
    let mut inst = base.clone();
    if let Some(v) = e.noise_cv {
        inst.noise_cv = check_range(&key("noise_cv"), v, 0.0, 1.0, "(coefficient of variation)")?;
    }
    if let Some(v) = e.baseline_mean {
        inst.baseline_mean = check_range(&key("baseline_mean"), v, 1e-9, 1e6, &inst.unit)?;
    }
    if let Some(v) = e.baseline_sd {
        inst.baseline_sd =
            check_range(&key("baseline_sd"), v, 0.0, inst.baseline_mean, &inst.unit)?;
    }
    if let Some(v) = e.coupling {
        inst.coupling = check_range(&key("coupling"), v, -5.0, 5.0, "% per % driver change")?;
    }
    let responder_pct = check_range(
        &key("responder_pct"),
        e.responder_pct,
        0.0,
        100.0,
        "% of baseline",
    )?;
    let margin = validate_margin(analysis, e, i, &inst.unit)?;
    Ok(Endpoint {
        name: e.name.clone(),
        instrument: inst,
        responder_pct,
        margin,
    })
}

/// The index of the primary endpoint (the first when none is named).
fn validate_primary(primary: Option<&str>, endpoints: &[Endpoint]) -> Result<usize, Invalid> {
    match primary {
        None => Ok(0),
        Some(p) => endpoints.iter().position(|e| e.name == p).ok_or_else(|| {
            let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
            Invalid::new(
                "trial.primary_endpoint",
                format!(
                    "\"{p}\" is not one of this trial's endpoints ({})",
                    names.join(", ")
                ),
            )
        }),
    }
}

/// The `[power]` table, or its defaults (power 0.8, 1000 replicates, up to 2000
/// participants).
fn validate_power(p: Option<&RawPower>) -> Result<PowerSpec, Invalid> {
    Ok(match p {
        None => PowerSpec {
            target: 0.8,
            replicates: 1000,
            max_participants: 2000,
        },
        Some(p) => PowerSpec {
            target: check_range(
                "power.target",
                p.target.unwrap_or(0.8),
                0.5,
                0.999,
                "(power, a fraction)",
            )?,
            replicates: check_range(
                "power.replicates",
                p.replicates.unwrap_or(1000) as f64,
                100.0,
                100_000.0,
                "simulated trials per sample size",
            )? as usize,
            max_participants: check_range(
                "power.max_participants",
                p.max_participants.unwrap_or(2000) as f64,
                4.0,
                100_000.0,
                "participants",
            )? as usize,
        },
    })
}

/// An endpoint's margins for the trial's analysis.
fn validate_margin(
    analysis: Analysis,
    e: &RawEndpoint,
    i: usize,
    unit: &str,
) -> Result<Option<Margin>, Invalid> {
    let key = |k: &str| format!("endpoints[{i}].{k}");
    let finite = |k: &str, v: f64| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Invalid::new(
                key(k),
                format!("{v} is not a finite number; give the margin in {unit}"),
            ))
        }
    };
    match analysis {
        Analysis::Superiority => {
            let given = [("margin", e.margin), ("margin_low", e.margin_low), ("margin_high", e.margin_high)];
            if let Some((k, _)) = given.iter().find(|(_, v)| v.is_some()) {
                return Err(Invalid::new(
                    key(k),
                    format!("margins are for analysis = \"equivalence\" or \"non_inferiority\"; set that under [trial] or remove {k} from endpoint \"{}\"", e.name),
                ));
            }
            Ok(None)
        }
        Analysis::Equivalence => match (e.margin, e.margin_low, e.margin_high) {
            (Some(m), None, None) => {
                let m = finite("margin", m)?;
                if m <= 0.0 {
                    return Err(Invalid::new(key("margin"), format!("{m} is not positive; the equivalence margin is the largest difference (in {unit}) that still counts as equivalent, e.g. margin = 2.0 for -2 to +2")));
                }
                Ok(Some(Margin { low: -m, high: m }))
            }
            (None, Some(lo), Some(hi)) => {
                let (lo, hi) = (finite("margin_low", lo)?, finite("margin_high", hi)?);
                if lo >= hi {
                    return Err(Invalid::new(key("margin_low"), format!("margin_low ({lo}) must be below margin_high ({hi}); they bound the equivalence interval of the difference treated minus control, in {unit}")));
                }
                Ok(Some(Margin { low: lo, high: hi }))
            }
            (None, None, None) => Err(Invalid::new(key("margin"), format!("analysis = \"equivalence\" needs a margin for endpoint \"{}\": add margin = M (the interval -M to M, in {unit}) or margin_low and margin_high", e.name))),
            (Some(_), _, _) => Err(Invalid::new(key("margin"), "give either margin (symmetric) or margin_low and margin_high, not both")),
            (None, lo, _) => Err(Invalid::new(key(if lo.is_some() { "margin_high" } else { "margin_low" }), "give both margin_low and margin_high (or one symmetric margin)")),
        },
        Analysis::NonInferiority => {
            if e.margin_low.is_some() || e.margin_high.is_some() {
                let k = if e.margin_low.is_some() { "margin_low" } else { "margin_high" };
                return Err(Invalid::new(key(k), format!("non_inferiority takes one margin (how much worse than the control still counts as not inferior, in {unit}); use margin = M")));
            }
            match e.margin {
                None => Err(Invalid::new(key("margin"), format!("analysis = \"non_inferiority\" needs a margin for endpoint \"{}\": add margin = M (how much worse than the control still counts as not inferior, in {unit})", e.name))),
                Some(m) => {
                    let m = finite("margin", m)?;
                    if m <= 0.0 {
                        return Err(Invalid::new(key("margin"), format!("{m} is not positive; the non-inferiority margin is how much worse than the control (in {unit}) still counts as not inferior")));
                    }
                    Ok(Some(Margin { low: -m, high: m }))
                }
            }
        }
    }
}

fn validate_population(p: Option<&RawPopulation>) -> Result<Population, Invalid> {
    let defaults = population_defaults();
    let get = |name: &str, v: Option<f64>, unit: &str| -> Result<f64, Invalid> {
        let d = &defaults[name];
        match v {
            None => Ok(d.value),
            Some(v) => check_range(
                &format!("population.{name}"),
                v,
                d.range[0],
                d.range[1],
                unit,
            ),
        }
    };
    let age = match p.and_then(|p| p.age_years.as_ref()) {
        None => AgeDistribution::Uniform {
            min: 25.0,
            max: 65.0,
        },
        Some(a) => {
            let min = check_range("population.age_years.min", a.min, 18.0, 100.0, "years")?;
            let max = check_range("population.age_years.max", a.max, min, 100.0, "years")?;
            match (a.mean, a.sd) {
                (None, None) => AgeDistribution::Uniform { min, max },
                (Some(mean), Some(sd)) => AgeDistribution::Normal {
                    mean: check_range("population.age_years.mean", mean, min, max, "years")?,
                    sd: check_range("population.age_years.sd", sd, 0.0, 50.0, "years")?,
                    min,
                    max,
                },
                _ => return Err(Invalid::new("population.age_years", "give both mean and sd (a truncated normal) or neither (uniform from min to max)")),
            }
        }
    };
    let cv = "(coefficient of variation)";
    Ok(Population {
        age_years: age,
        delivery_cv: get("delivery_cv", p.and_then(|p| p.delivery_cv), cv)?,
        matrix_response_cv: get(
            "matrix_response_cv",
            p.and_then(|p| p.matrix_response_cv),
            cv,
        )?,
        barrier_response_cv: get(
            "barrier_response_cv",
            p.and_then(|p| p.barrier_response_cv),
            cv,
        )?,
        side_cv: get("side_cv", p.and_then(|p| p.side_cv), cv)?,
        dropout_pct: get("dropout_pct", p.and_then(|p| p.dropout_pct), "%")?,
    })
}

enum ArmError {
    Scenario(ScenarioError),
    Here(Invalid),
}

fn load_arm(
    a: &RawArm,
    i: usize,
    trial: &Trial,
    base: &Path,
    pop: &Option<RawPopulation>,
) -> Result<Arm, ArmError> {
    let key = |k: &str| format!("arms[{i}].{k}");
    let role = choose(&key("role"), "role", &a.role, &ROLES, "").map_err(ArmError::Here)?;
    let path = base.join(&a.scenario);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ArmError::Here(Invalid::new(
            key("scenario"),
            format!("cannot read {}: {e}", path.display()),
        ))
    })?;
    let shown = path.display().to_string();
    match parse_scenario(&text, &shown).map_err(ArmError::Scenario)? {
        Scenario::InVivo(_) => {}
        _ => return Err(ArmError::Here(Invalid::new(key("scenario"), format!("{} is not an in_vivo scenario; an arm needs kind = \"in_vivo\" (product, skin, procedure, regimen)", a.scenario)))),
    }
    // Run the scenario to the last visit, at the population's site.
    let mut doc: toml::Table = toml::from_str(&text)
        .map_err(|e| ArmError::Here(Invalid::new(key("scenario"), e.to_string())))?;
    // A crossover runs on through the washout and period 2, for the carryover.
    let last_h = match trial.design {
        Design::Crossover => (trial.period2_start_days() + trial.period_days()) * 24.0,
        _ => trial.period_days() * 24.0,
    };
    if let Some(toml::Value::Table(e)) = doc.get_mut("experiment") {
        e.insert("duration_h".into(), toml::Value::Float(last_h.max(1.0)));
    }
    let site = pop.as_ref().and_then(|p| p.site.clone());
    if let (Some(site), Some(toml::Value::Table(s))) = (&site, doc.get_mut("skin")) {
        s.insert("site".into(), toml::Value::String(site.clone()));
    }
    let rewritten = toml::to_string(&doc)
        .map_err(|e| ArmError::Here(Invalid::new(key("scenario"), e.to_string())))?;
    let scenario = match parse_scenario(&rewritten, &shown) {
        Ok(Scenario::InVivo(v)) => v,
        Ok(_) => unreachable!("kind checked above"),
        Err(e) => {
            let k = if site.is_some() && e.key.as_deref().is_some_and(|k| k.starts_with("skin")) {
                "population.site".to_string()
            } else {
                "trial.visits_days".to_string()
            };
            return Err(ArmError::Here(Invalid::new(
                k,
                format!("arm \"{}\" ({}): {}", a.name, a.scenario, e.message),
            )));
        }
    };
    Ok(Arm {
        name: a.name.clone(),
        role,
        scenario_file: a.scenario.clone(),
        scenario,
    })
}

fn check_arms(t: &Trial) -> Result<(), Invalid> {
    let controls = t.arms.iter().filter(|a| a.role.is_control()).count();
    if controls != 1 {
        return Err(Invalid::new("arms", format!("{controls} control arms; give exactly one arm with role \"vehicle\", \"placebo\", \"untreated\" or \"reference\" (an active comparator) and the others role \"treatment\"")));
    }
    for (i, a) in t.arms.iter().enumerate() {
        if t.arms[..i].iter().any(|b| b.name == a.name) {
            return Err(Invalid::new(
                format!("arms[{i}].name"),
                format!("arm name \"{}\" is used twice", a.name),
            ));
        }
    }
    if t.design == Design::Crossover {
        let period_h = t.period_days() * 24.0;
        for (i, a) in t.arms.iter().enumerate() {
            let last = a
                .scenario
                .application_times_h()
                .into_iter()
                .chain(a.scenario.sessions_h.iter().copied())
                .fold(0.0, f64::max);
            if last > period_h + 1e-9 {
                return Err(Invalid::new(format!("arms[{i}].scenario"), format!("arm \"{}\" ({}) still applies its product or procedure on day {:.1}, after its period ends (day {}, the last visit); in a crossover each period's regimen must end by its last visit: shorten [regimen] days", a.name, a.scenario_file, last / 24.0, t.period_days())));
            }
        }
    }
    if t.design == Design::SplitFace {
        let (a, b) = (&t.arms[0].scenario, &t.arms[1].scenario);
        if a.procedure != b.procedure || a.sessions_h != b.sessions_h || a.skin != b.skin {
            return Err(Invalid::new("arms[1].scenario", "the two sides of a split-face trial must share the procedure, its sessions and the skin (only the product and regimen differ); check the [procedure] and [skin] tables of both scenarios"));
        }
    }
    Ok(())
}
