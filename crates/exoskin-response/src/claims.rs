//! The seed articles' claims (`data/claims.toml`), tested with the calibrated model.
//!
//! Each claim names bundled scenarios under `scenarios/claims/` and a metric. The metric is
//! computed under posterior draws of the fitted parameters (transport run once per scenario,
//! the response and wound per draw), giving a median and a 90 % interval, and a verdict:
//! `supported`, `not_supported` (same direction, another size), `contradicted` (the other
//! side of no effect, or no effect at all) or `untestable` (the model cannot compute it).

use crate::calibrate::{percentiles, posterior_draws};
use crate::params::{ResponseError, ResponseParams};
use crate::{culture, evidence, try_simulate_in_vivo, Outcomes, Simulation};
use exoskin_model::scenario::InVivo;
use exoskin_model::{parse_scenario, Scenario, TransportParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const CLAIMS_TOML: &str = include_str!("../../../data/claims.toml");

/// One claim of the seeds.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub claim: String,
    pub context: String,
    pub source: String,
    pub metric: String,
    pub scenario: String,
    #[serde(default)]
    pub control: Option<String>,
    pub value: f64,
    pub tolerance: f64,
    pub relation: String,
}

/// The shipped claims, by id.
pub fn claims() -> Result<BTreeMap<String, Claim>, ResponseError> {
    toml::from_str(CLAIMS_TOML).map_err(|e| ResponseError::Data {
        file: "data/claims.toml",
        message: e.to_string(),
    })
}

/// The model's prediction with its interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Predicted {
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

/// One line of `exoskin claims`.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    pub id: String,
    pub claim: String,
    pub source: String,
    pub context: String,
    pub predicted: Option<Predicted>,
    pub verdict: &'static str,
    pub reason: String,
}

struct Run {
    scenario: Scenario,
    sim: Option<Simulation>,
}

fn outcomes(r: &Run, rp: &ResponseParams) -> Outcomes {
    match (&r.scenario, &r.sim) {
        (Scenario::InVivo(v), Some(s)) => s.respond_with(v, rp),
        (Scenario::CellCulture(c), _) => culture::simulate_culture(c, rp),
        _ => Outcomes {
            series: Default::default(),
            wound_closure_h: None,
            channel_closure_h: None,
            baseline: crate::Baseline {
                collagen_index: 1.0,
                elastin_index: 1.0,
            },
        },
    }
}

fn read(o: &Outcomes, name: &str, day: f64) -> f64 {
    o.series
        .get(name)
        .map(|s| evidence::at_day(&o.series.times_d, s, day))
        .unwrap_or(f64::NAN)
}

fn delivered(v: &InVivo, tp: &TransportParams, essence: f64) -> f64 {
    let mut w = v.clone();
    w.regimen.essence_ul_per_cm2 = essence;
    w.regimen.days = w.regimen.days.min(14);
    w.experiment.duration_h = w.experiment.duration_h.min(14.0 * 24.0);
    match exoskin_transport::invivo::simulate(&w, tp, None) {
        Ok(r) => r.run.tracked_per_cm2.last().copied().unwrap_or(0.0),
        Err(_) => f64::NAN,
    }
}

/// The metric of a claim under one parameter draw.
fn metric(c: &Claim, runs: &BTreeMap<String, Run>, rp: &ResponseParams) -> f64 {
    let get = |n: &str| runs.get(n).map(|r| outcomes(r, rp));
    let (Some(a), b) = (get(&c.scenario), c.control.as_deref().and_then(get)) else {
        return f64::NAN;
    };
    match c.metric.as_str() {
        "cytokine_reduction_pct" => -a
            .series
            .cytokines_pct
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min),
        "closure_speed_ratio" => match (a.wound_closure_h, b.and_then(|b| b.wound_closure_h)) {
            (Some(x), Some(y)) if x > 0.0 => y / x,
            _ => f64::NAN,
        },
        "elastin_pct_difference_at_84d" => b
            .map(|b| read(&a, "elastin_pct", 84.0) - read(&b, "elastin_pct", 84.0))
            .unwrap_or(f64::NAN),
        "collagen_pct_difference_at_84d" => b
            .map(|b| read(&a, "collagen_pct", 84.0) - read(&b, "collagen_pct", 84.0))
            .unwrap_or(f64::NAN),
        "pore_area_pct_at_84d" => read(&a, "pore_area_pct", 84.0),
        "pore_area_pct_at_28d" => read(&a, "pore_area_pct", 28.0),
        "hydration_pct_at_14d" => read(&a, "hydration_pct", 14.0),
        "collagen_peak_day" => {
            let s = &a.series;
            let (i, m) = s
                .collagen_pct
                .iter()
                .enumerate()
                .fold(
                    (0, 0.0),
                    |acc, (i, &x)| if x > acc.1 { (i, x) } else { acc },
                );
            if m < 0.1 {
                f64::NAN
            } else {
                s.times_d[i]
            }
        }
        _ => f64::NAN,
    }
}

fn verdict(c: &Claim, p: Option<Predicted>) -> (&'static str, String) {
    let Some(p) = p else {
        return (
            "untestable",
            "the model gives no value for it (no effect to date, or no such output)".into(),
        );
    };
    let (lo, hi) = (p.p05, p.p95);
    let v = c.value;
    // The direction of no effect: 1 for ratios, 0 otherwise.
    let null = if c.metric.ends_with("ratio") {
        1.0
    } else {
        0.0
    };
    if c.control.is_some() && lo == hi && p.p50 == null {
        return (
            "untestable",
            format!("every posterior draw gives exactly no difference ({null}): the model has no pathway from the vesicles to this outcome (deterministic by construction), so it can neither support nor contradict the claim"),
        );
    }
    let supported = match c.relation.as_str() {
        "greater" => lo > v,
        "less" => hi < v,
        _ => hi >= v - c.tolerance && lo <= v + c.tolerance,
    };
    if supported {
        return (
            "supported",
            format!("the model's 90 % interval {lo:.3} to {hi:.3} meets the claim ({v})"),
        );
    }
    let claimed_up = match c.relation.as_str() {
        "greater" => true,
        "less" => false,
        _ => v > null,
    };
    let tiny = (p.p50 - null).abs() < 0.1 * (v - null).abs().max(1.0);
    let opposite = if claimed_up { hi <= null } else { lo >= null };
    if opposite || tiny {
        (
            "contradicted",
            format!(
                "the model predicts {:.3} (90 %: {lo:.3} to {hi:.3}): {} where the claim says {v}",
                p.p50,
                if opposite {
                    "the other direction or none"
                } else {
                    "next to no effect"
                }
            ),
        )
    } else {
        (
            "not_supported",
            format!("the model predicts {:.3} (90 %: {lo:.3} to {hi:.3}), in the claimed direction but not of the claimed size ({v})", p.p50),
        )
    }
}

/// Evaluate every claim with `draws` posterior draws of `rp`, from the scenarios in
/// `claims_dir`. `progress(done, total)` hears the claims evaluated so far: `(0, total)`
/// once the scenarios' transport has run, then after each claim.
pub fn evaluate(
    claims_dir: &Path,
    tp: &TransportParams,
    rp: &ResponseParams,
    draws: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Evaluated>, ResponseError> {
    use rayon::prelude::*;
    let all = claims()?;
    let mut names: Vec<String> = all
        .values()
        .flat_map(|c| std::iter::once(c.scenario.clone()).chain(c.control.clone()))
        .collect();
    names.sort();
    names.dedup();
    let runs: BTreeMap<String, Run> = names
        .par_iter()
        .map(|n| {
            let path = claims_dir.join(n);
            let text = std::fs::read_to_string(&path).map_err(|e| ResponseError::Evidence {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            let scenario = parse_scenario(&text, &path.display().to_string()).map_err(|e| {
                ResponseError::Evidence {
                    file: path.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            let sim = match &scenario {
                Scenario::InVivo(v) => Some(try_simulate_in_vivo(v, tp, rp)?),
                _ => None,
            };
            Ok((n.clone(), Run { scenario, sim }))
        })
        .collect::<Result<_, ResponseError>>()?;
    let post = posterior_draws(rp, draws.max(1), 7);
    let total = all.len();
    progress(0, total);
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(k, (id, c))| {
            let values: Vec<f64> = if c.metric == "essence_absorption_gain_pct" {
                // Transport alone: the response parameters do not enter.
                match runs.get(&c.scenario).map(|r| &r.scenario) {
                    Some(Scenario::InVivo(v)) => {
                        let (base, with) = (delivered(v, tp, 0.0), delivered(v, tp, 2.0));
                        vec![100.0 * (with / base - 1.0)]
                    }
                    _ => vec![],
                }
            } else {
                post.par_iter().map(|q| metric(&c, &runs, q)).collect()
            };
            let predicted = percentiles(values).map(|[p05, p50, p95]| Predicted { p05, p50, p95 });
            let (verdict, reason) = verdict(&c, predicted);
            progress(k + 1, total);
            Evaluated {
                id,
                claim: c.claim,
                source: c.source,
                context: c.context,
                predicted,
                verdict,
                reason,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(metric: &str, control: bool, value: f64) -> Claim {
        Claim {
            claim: String::new(),
            context: String::new(),
            source: String::new(),
            metric: metric.into(),
            scenario: "a.toml".into(),
            control: control.then(|| "b.toml".into()),
            value,
            tolerance: 0.05,
            relation: "within".into(),
        }
    }

    fn at(p05: f64, p50: f64, p95: f64) -> Option<Predicted> {
        Some(Predicted { p05, p50, p95 })
    }

    #[test]
    fn verdicts_follow_the_interval_and_say_when_the_model_cannot_tell() {
        let c = claim("closure_speed_ratio", true, 1.3);
        assert_eq!(verdict(&c, at(1.2, 1.3, 1.4)).0, "supported");
        assert_eq!(verdict(&c, at(0.8, 0.9, 0.95)).0, "contradicted");
        assert_eq!(verdict(&c, at(1.1, 1.12, 1.15)).0, "not_supported");
        // No pathway from the vesicles: every draw gives exactly no difference.
        let (v, why) = verdict(&c, at(1.0, 1.0, 1.0));
        assert_eq!(v, "untestable", "{why}");
        assert!(why.contains("no pathway"), "{why}");
        // Without a control arm, a fixed value is a prediction, not an absence.
        let single = claim("collagen_peak_day", false, 84.0);
        assert_ne!(verdict(&single, at(0.0, 0.0, 0.0)).0, "untestable");
    }
}
