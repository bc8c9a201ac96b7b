//! Trial bases: a sweep whose `base` is a trial file runs the virtual trial (`exoskin trial
//! FILE --json`) once per row.
//!
//! **Parameters** are dotted keys of the trial file ([`allowed_keys`]): the header's
//! `trial.participants`, `trial.seed`, `trial.alpha`, `trial.response`,
//! `trial.primary_endpoint`, the `population.*` spreads and ages, and each endpoint's
//! instrument overrides as `endpoints[I].noise_cv` and so on. A row sets them on the trial's
//! TOML table, which is then read with every check of the trial file (arm scenarios are
//! read beside the trial file, as `exoskin trial` does).
//!
//! **Seeds.** A row that does not vary `trial.seed` runs with [`row_seed`] of the base
//! trial's seed and the row number: rows are independent replicates, and a row's numbers
//! depend on (spec, row) only, never on the shard or thread that ran it. The seed is below
//! 2^53, so the output `seed` holds it exactly and `exoskin trial FILE --seed S` repeats
//! the row.
//!
//! **Outputs** are paths into the trial's JSON document: its top-level numbers
//! (`participants`, `seed`, `alpha`, `elapsed_s`, `phases_s.*`), `primary.FIELD` (the
//! primary endpoint) and `endpoints.NAME.FIELD`, each at the last visit or at the visit
//! `@DAY`. FIELD is a numeric member of the endpoint's result (`p_value`, `effect_size`,
//! `mean_difference`, `responders_treatment.rate`, ...; `significant` reads 1 or 0). When a
//! parallel trial has several treatment arms the arm is named: `endpoints.NAME.ARM.FIELD`.

use crate::shard::RowOutcome;
use crate::spec::{set_key, Row, Target};
use crate::{RowError, SpecIssue};
use exoskin_trials::Trial;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The base trial of a sweep, as read when the spec is checked.
#[derive(Debug, Clone)]
pub(crate) struct TrialBase {
    /// The folder arm scenarios are read from (the trial file's).
    pub dir: PathBuf,
    /// The base trial's seed (rows derive theirs from it).
    pub seed: u64,
    /// Endpoint names, in the file's order.
    pub endpoints: Vec<String>,
    /// Visit days after the baseline.
    pub visits: Vec<f64>,
    /// The arm scenario files' texts (in the spec hash: an edited arm makes new shards).
    pub arm_texts: Vec<String>,
}

/// Top-level numbers of the trial document (see `exoskin_api::trial::run_trial`).
pub(crate) const TOP: [&str; 5] = ["participants", "seed", "alpha", "elapsed_s", "phases_s"];

/// Header and population keys a sweep may vary (endpoint keys follow, per endpoint).
pub(crate) const KEYS: [&str; 15] = [
    "trial.participants",
    "trial.seed",
    "trial.alpha",
    "trial.response",
    "trial.primary_endpoint",
    "population.site",
    "population.delivery_cv",
    "population.matrix_response_cv",
    "population.barrier_response_cv",
    "population.side_cv",
    "population.dropout_pct",
    "population.age_years.min",
    "population.age_years.max",
    "population.age_years.mean",
    "population.age_years.sd",
];

/// The keys of each `[[endpoints]]` entry a sweep may vary.
pub(crate) const ENDPOINT_KEYS: [&str; 5] = [
    "noise_cv",
    "baseline_mean",
    "baseline_sd",
    "coupling",
    "responder_pct",
];

/// Read a trial file's text as a sweep base; `name` is its path.
pub(crate) fn read(path: &Path, text: &str) -> Result<TrialBase, SpecIssue> {
    let name = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let trial = exoskin_trials::spec::parse_trial(text, &name, &dir)
        .map_err(|e| SpecIssue::BaseTrialFile(Box::new(e)))?;
    let table: toml::Table = toml::from_str(text).map_err(|e| SpecIssue::BaseNotToml {
        name: name.clone(),
        message: e.message().to_string(),
    })?;
    let arm_texts = table
        .get("arms")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("scenario").and_then(toml::Value::as_str))
        .map(|s| std::fs::read_to_string(dir.join(s)).unwrap_or_default())
        .collect();
    Ok(TrialBase {
        dir,
        seed: trial.seed,
        endpoints: trial.endpoints.iter().map(|e| e.name.clone()).collect(),
        visits: trial.visits_days[1..].to_vec(),
        arm_texts,
    })
}

/// Every key of a trial base a sweep may vary.
pub(crate) fn allowed_keys(base: &TrialBase) -> Vec<String> {
    let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
    for i in 0..base.endpoints.len() {
        keys.extend(ENDPOINT_KEYS.iter().map(|k| format!("endpoints[{i}].{k}")));
    }
    keys
}

/// What a parameter name sets on a trial base; the error lists the allowed keys.
pub(crate) fn target(name: &str, base: &TrialBase) -> Result<Target, SpecIssue> {
    let keys = allowed_keys(base);
    if keys.iter().any(|k| k == name) {
        return Ok(Target::Trial(name.to_string()));
    }
    Err(SpecIssue::NotTrialKey {
        name: name.to_string(),
        endpoints: base.endpoints.clone(),
    })
}

/// The trial of a row: the base table with the row's keys set.
fn trial_of(
    table: &toml::Table,
    base: &TrialBase,
    base_name: &str,
    sets: &[(&str, toml::Value)],
) -> Result<Trial, SpecIssue> {
    let mut t = table.clone();
    for (k, v) in sets {
        set_key(&mut t, k, v.clone())?;
    }
    let text = toml::to_string(&t)?;
    exoskin_trials::spec::parse_trial(&text, base_name, &base.dir).map_err(|e| {
        let (field, message) = match e {
            exoskin_trials::TrialError::File { field, message, .. } => (field, message),
            e => (None, e.to_string()),
        };
        SpecIssue::TrialValue {
            base: base_name.to_string(),
            field,
            message,
        }
    })
}

/// Try one value of a key on the base trial: the trial file's own checks decide.
pub(crate) fn probe(
    table: &toml::Table,
    base: &TrialBase,
    base_name: &str,
    key: &str,
    v: toml::Value,
) -> Result<(), SpecIssue> {
    trial_of(table, base, base_name, &[(key, v)]).map(|_| ())
}

/// The seed of row `row` of a sweep over a trial whose own seed is `base_seed`: the first
/// 53 bits of SHA-256 over both, so it is exact as a JSON number and in an f64 column.
pub fn row_seed(base_seed: u64, row: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(b"exoskin-sweep trial row seed\n");
    h.update(base_seed.to_le_bytes());
    h.update(row.to_le_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b) >> 11
}

/// Run one row of a trial sweep and read its outputs.
pub(crate) fn run_row(
    table: &toml::Table,
    base: &TrialBase,
    base_name: &str,
    keys: &[(&str, toml::Value)],
    outputs: &[String],
    row: &Row,
) -> RowOutcome {
    let mut sets = keys.to_vec();
    if !keys.iter().any(|(k, _)| *k == "trial.seed") {
        let s = row_seed(base.seed, row.index);
        sets.push(("trial.seed", toml::Value::Integer(s as i64)));
    }
    let trial = trial_of(table, base, base_name, &sets).map_err(RowError::from)?;
    let run = exoskin_api::trial::run_trial(&trial, base_name, &exoskin_model::Stop::never())?;
    let primary = &trial.endpoints[trial.primary].name;
    outputs
        .iter()
        .map(|o| output(&run.doc, primary, o).map_err(RowError::from))
        .collect()
}

/// Check an output name against the base trial before any row runs.
pub(crate) fn check_output(name: &str, base: &TrialBase) -> Result<(), SpecIssue> {
    let (path, day) = split_day(name)?;
    let parts: Vec<&str> = path.split('.').collect();
    let ok = match parts[0] {
        "primary" => parts.len() >= 2,
        "endpoints" => parts.len() >= 3 && base.endpoints.iter().any(|e| e == parts[1]),
        p => TOP.contains(&p) && day.is_none(),
    };
    if !ok {
        return Err(SpecIssue::NotTrialOutput {
            name: name.to_string(),
            endpoints: base.endpoints.clone(),
            visits: base.visits.clone(),
        });
    }
    if let Some(d) = day {
        visit_at(&base.visits, d).map_err(|m| SpecIssue::TrialOutput {
            name: name.to_string(),
            source: Box::new(m),
        })?;
    }
    Ok(())
}

fn split_day(name: &str) -> Result<(&str, Option<f64>), SpecIssue> {
    match name.split_once('@') {
        None => Ok((name.trim(), None)),
        Some((p, d)) => match d.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok((p.trim(), Some(x))),
            _ => Err(SpecIssue::BadDay {
                name: name.to_string(),
                path: p.to_string(),
            }),
        },
    }
}

/// The visit day equal to `day`, or an error listing the visits.
fn visit_at(visits: &[f64], day: f64) -> Result<f64, SpecIssue> {
    visits
        .iter()
        .copied()
        .find(|v| (v - day).abs() <= 1e-9 * v.abs().max(1.0))
        .ok_or_else(|| SpecIssue::NotAVisit {
            day,
            visits: visits.to_vec(),
        })
}

pub(crate) fn days(visits: &[f64]) -> String {
    visits
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a trial's outputs are, for error messages.
pub(crate) fn what_exists<'a>(
    endpoints: impl Iterator<Item = &'a str>,
    visits: &[f64],
    fields: Option<&[String]>,
) -> String {
    let fields = match fields {
        Some(f) => f.join(", "),
        None => "p_value, effect_size, mean_difference, ... (the numbers of an endpoint's result)"
            .into(),
    };
    format!(
        "the outputs are {}, phases_s.PHASE, primary.FIELD and endpoints.NAME.FIELD with NAME \
         one of {} and FIELD one of {fields}; an endpoint's FIELD is at the last visit, or at \
         a visit with @DAY (days {})",
        TOP[..4].join(", "),
        endpoints.collect::<Vec<_>>().join(", "),
        days(visits)
    )
}

/// The value of output `name` in a trial document whose primary endpoint is `primary`.
pub fn output(doc: &Json, primary: &str, name: &str) -> Result<f64, SpecIssue> {
    let (path, day) = split_day(name)?;
    let results: Vec<&Json> = doc["endpoints"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut visits: Vec<f64> = results
        .iter()
        .filter_map(|r| r["visit_day"].as_f64())
        .collect();
    visits.sort_by(f64::total_cmp);
    visits.dedup();
    let mut names: Vec<String> = results
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    names.dedup();
    let fields: Vec<String> = results
        .first()
        .map(|r| {
            let mut f = Vec::new();
            leaves(r, String::new(), &mut f);
            f
        })
        .unwrap_or_default();
    let missing = || SpecIssue::NoTrialOutput {
        name: name.to_string(),
        endpoints: names.clone(),
        visits: visits.clone(),
        fields: fields.clone(),
    };
    let at_output = |issue: SpecIssue| SpecIssue::RowOutput {
        name: name.to_string(),
        source: Box::new(issue),
    };
    let parts: Vec<&str> = path.split('.').collect();
    let (endpoint, rest) = match parts[0] {
        "primary" => (primary, &parts[1..]),
        "endpoints" if parts.len() >= 2 => (parts[1], &parts[2..]),
        _ => {
            if day.is_some() {
                return Err(at_output(SpecIssue::OnePerTrial {
                    path: path.to_string(),
                }));
            }
            let v = path.split('.').try_fold(doc, |v, k| v.get(k));
            return match v.and_then(number) {
                Some(x) => Ok(x),
                None => Err(missing()),
            };
        }
    };
    let day = match day {
        Some(d) => visit_at(&visits, d).map_err(at_output)?,
        None => *visits.last().ok_or_else(missing)?,
    };
    let at: Vec<&Json> = results
        .iter()
        .copied()
        .filter(|r| r["name"] == endpoint && r["visit_day"].as_f64() == Some(day))
        .collect();
    if at.is_empty() {
        return Err(missing());
    }
    // Several comparisons (parallel trials with more than one treatment arm): name the arm.
    let (result, rest) = if at.len() == 1 {
        (at[0], rest)
    } else {
        let arm = rest.first().copied().unwrap_or_default();
        let found = at.iter().copied().find(|r| {
            r["comparison"]
                .as_str()
                .is_some_and(|c| c.starts_with(&format!("{arm} vs ")))
        });
        let Some(r) = found else {
            let arms: Vec<&str> = at
                .iter()
                .filter_map(|r| r["comparison"].as_str()?.split(" vs ").next())
                .collect();
            return Err(at_output(SpecIssue::NameTheArm {
                count: at.len(),
                endpoint: endpoint.to_string(),
                arms: arms.iter().map(|a| a.to_string()).collect(),
            }));
        };
        (r, &rest[1..])
    };
    if rest.is_empty() {
        return Err(missing());
    }
    rest.iter()
        .try_fold(result, |v, k| v.get(*k))
        .and_then(number)
        .ok_or_else(missing)
}

/// A number, or a boolean as 1 or 0.
fn number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(x) => x.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn leaves(v: &Json, path: String, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, p, out);
            }
        }
        Json::Number(_) | Json::Bool(_) => out.push(path),
        _ => {}
    }
}
