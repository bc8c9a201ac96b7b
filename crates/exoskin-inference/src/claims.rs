//! The seed articles' claims (`data/claims.toml`), tested with the calibrated model.
//!
//! Each claim names bundled scenarios under `scenarios/claims/` and a metric. The metric is
//! computed under posterior draws of the fitted parameters (transport run once per scenario,
//! the response and wound per draw), giving a median and a 90 % interval, and a verdict:
//! `supported`, `not_supported` (same direction, another size), `contradicted` (the other
//! side of no effect, or no effect at all) or `untestable` (the model cannot compute it).
//!
//! A claim that compares two arms (a `control` scenario) is judged on the paired
//! difference, treated minus control under the same draw (common random numbers), as a
//! controlled trial measures it; the treated arm's dose varies as a new study's would
//! (`study_dose_spread`, as in [`crate::effect`]). Its `difference` holds the percentiles.
//! Every claim states the unit of its value.

use crate::calibrate::{percentiles, posterior_draws};
use crate::evidence;
use exoskin_model::scenario::InVivo;
use exoskin_model::{parse_scenario, Observer, Scenario, TransportParams};
use exoskin_response::params::{ResponseError, ResponseParams};
use exoskin_response::{culture, try_simulate_in_vivo, Outcomes, Simulation};
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
    /// Unit of `value` and of the prediction.
    pub unit: String,
    pub value: f64,
    pub tolerance: f64,
    pub relation: String,
}

/// The shipped claims, by id.
pub fn claims() -> Result<BTreeMap<String, Claim>, ResponseError> {
    let all: BTreeMap<String, Claim> =
        toml::from_str(CLAIMS_TOML).map_err(|e| ResponseError::Data {
            file: "data/claims.toml",
            message: e.to_string(),
        })?;
    for (id, c) in &all {
        if !known_metric(c) {
            return Err(ResponseError::Data {
                file: "data/claims.toml",
                message: format!(
                    "[{id}] metric = \"{}\": not a metric the model computes (an outcome read at a day, `<outcome>_at_<N>d`, or with a control `<outcome>_difference_at_<N>d`; or cytokine_reduction_pct, closure_speed_ratio, collagen_peak_day, essence_absorption_gain_pct)",
                    c.metric
                ),
            });
        }
    }
    Ok(all)
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
    /// Unit of the prediction and the claimed value.
    pub unit: String,
    /// The claimed value.
    pub value: f64,
    /// What the verdict judges: the metric's percentiles over the draws.
    pub predicted: Option<Predicted>,
    /// For a claim on the difference of two arms: the paired difference (treated minus
    /// control under the same draw), the same numbers as `predicted`, named as what they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Predicted>,
    pub verdict: &'static str,
    pub reason: String,
}

struct Run {
    scenario: Scenario,
    sim: Option<Simulation>,
}

/// The outcomes of run `r` under `rp`, an in-vivo product's vesicle dose multiplied by
/// `dose`.
fn outcomes(r: &Run, rp: &ResponseParams, dose: f64) -> Outcomes {
    match (&r.scenario, &r.sim) {
        (Scenario::InVivo(v), Some(s)) => s.respond_with_delivery(v, rp, dose),
        (Scenario::CellCulture(c), _) => culture::simulate_culture(c, rp),
        _ => Outcomes {
            series: Default::default(),
            wound_closure_h: None,
            channel_closure_h: None,
            baseline: exoskin_response::Baseline {
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

/// A metric that reads one outcome at one day: `<outcome>_at_<N>d` (the treated arm) or
/// `<outcome>_difference_at_<N>d` (treated minus control).
fn reading(metric: &str) -> Option<(&str, f64, bool)> {
    let rest = metric.strip_suffix('d')?;
    let (head, day) = rest.rsplit_once("_at_")?;
    let day: f64 = day.parse().ok()?;
    match head.strip_suffix("_difference") {
        Some(name) => Some((name, day, true)),
        None => Some((head, day, false)),
    }
}

/// The metric of a claim under one parameter draw, the treated arm's dose multiplied by
/// `dose` (a new study's).
fn metric(c: &Claim, runs: &BTreeMap<String, Run>, rp: &ResponseParams, dose: f64) -> f64 {
    let Some(a) = runs.get(&c.scenario).map(|r| outcomes(r, rp, dose)) else {
        return f64::NAN;
    };
    let b = c
        .control
        .as_deref()
        .and_then(|n| runs.get(n))
        .map(|r| outcomes(r, rp, 1.0));
    if let Some((name, day, diff)) = reading(&c.metric) {
        return match (diff, &b) {
            (false, _) => read(&a, name, day),
            (true, Some(b)) => read(&a, name, day) - read(b, name, day),
            (true, None) => f64::NAN,
        };
    }
    match c.metric.as_str() {
        // The change of largest size, with its sign: a draw that inflames reduces by a
        // negative amount.
        "cytokine_reduction_pct" => -a
            .series
            .cytokines_pct
            .iter()
            .cloned()
            .fold(0.0, |m: f64, x| if x.abs() > m.abs() { x } else { m }),
        "closure_speed_ratio" => match (a.wound_closure_h, b.and_then(|b| b.wound_closure_h)) {
            (Some(x), Some(y)) if x > 0.0 => y / x,
            _ => f64::NAN,
        },
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

/// Why every draw gives the same value, said with a prediction of zero width.
fn zero_width_note(c: &Claim, p: Predicted) -> String {
    match c.metric.as_str() {
        "essence_absorption_gain_pct" => "; deterministic by construction: transport alone at its nominal parameters (no fitted parameter enters; `exoskin simulate --uncertainty N` samples transport's priors)".into(),
        "collagen_peak_day" => format!(
            "; every draw has its largest collagen change on the same day ({:.0}); when that is the run's last day, the change is still rising there",
            p.p50
        ),
        _ => "; every draw gives the same value".into(),
    }
}

/// Whether the metric of `c` is one the model can compute (checked when the claims are read).
fn known_metric(c: &Claim) -> bool {
    reading(&c.metric).is_some_and(|(name, _, diff)| {
        exoskin_response::tissue::OUTCOMES.contains(&name) && (!diff || c.control.is_some())
    }) || matches!(
        c.metric.as_str(),
        "cytokine_reduction_pct"
            | "closure_speed_ratio"
            | "collagen_peak_day"
            | "essence_absorption_gain_pct"
    )
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
    if c.unit == "day" {
        // A time has no "no effect" side: it is within the claim or not.
        return (
            "not_supported",
            format!(
                "the model predicts day {:.0} (90 %: {lo:.0} to {hi:.0}), outside the claimed day {v} +- {}",
                p.p50, c.tolerance
            ),
        );
    }
    let claimed_up = match c.relation.as_str() {
        "greater" => true,
        "less" => false,
        _ => v > null,
    };
    let opposite = if claimed_up { hi <= null } else { lo >= null };
    // Next to no effect: even the interval's end on the claimed side is under a tenth
    // of the claimed change.
    let favourable = if claimed_up { hi - null } else { null - lo };
    let tiny = favourable < 0.1 * (v - null).abs();
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
    } else if lo < null && hi > null {
        (
            "not_supported",
            format!("the model predicts {:.3} (90 %: {lo:.3} to {hi:.3}): its interval holds no effect and either sign, and does not reach the claimed size ({v})", p.p50),
        )
    } else {
        (
            "not_supported",
            format!("the model predicts {:.3} (90 %: {lo:.3} to {hi:.3}), in the claimed direction but not of the claimed size ({v})", p.p50),
        )
    }
}

/// Evaluate every claim with `draws` posterior draws of `rp`, from the scenarios in
/// `claims_dir`. `observer` hears the claims evaluated so far: `(0, total)` once the
/// scenarios' transport has run, then after each claim; it may stop the work between them.
pub fn evaluate(
    claims_dir: &Path,
    tp: &TransportParams,
    rp: &ResponseParams,
    draws: usize,
    observer: &dyn Observer,
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
    let zs = crate::effect::study_deviates(7, post.len());
    let total = all.len();
    observer.progress(0, total)?;
    all.into_iter()
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
                post.par_iter()
                    .zip(&zs)
                    .map(|(q, z)| metric(&c, &runs, q, (q.v.study_dose_spread * z).exp()))
                    .collect()
            };
            let predicted = percentiles(values).map(|[p05, p50, p95]| Predicted { p05, p50, p95 });
            let (verdict, mut reason) = verdict(&c, predicted);
            if let Some(p) = predicted.filter(|p| p.p05 == p.p95 && verdict != "untestable") {
                reason.push_str(&zero_width_note(&c, p));
            }
            observer.progress(k + 1, total)?;
            Ok(Evaluated {
                id,
                claim: c.claim,
                source: c.source,
                context: c.context,
                unit: c.unit,
                value: c.value,
                predicted,
                difference: if reading(&c.metric).is_some_and(|r| r.2) {
                    predicted
                } else {
                    None
                },
                verdict,
                reason,
            })
        })
        .collect()
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
            unit: "ratio".into(),
            value,
            tolerance: 0.05,
            relation: "within".into(),
        }
    }

    fn at(p05: f64, p50: f64, p95: f64) -> Option<Predicted> {
        Some(Predicted { p05, p50, p95 })
    }

    #[test]
    fn every_shipped_claim_states_its_unit_and_a_metric_the_model_computes() {
        let all = claims().unwrap();
        for (id, c) in &all {
            assert!(!c.unit.trim().is_empty(), "{id} has no unit");
            assert!(known_metric(c), "{id}: {}", c.metric);
        }
        // The split-face pores claim compares two arms: judged on their paired difference.
        let pores = &all["pores_split_face_ev"];
        assert_eq!(reading(&pores.metric), Some(("pore_area_pct", 84.0, true)));
        assert!(pores.control.is_some());
        assert!(pores.unit.starts_with("percentage points"));
    }

    #[test]
    fn metrics_read_an_outcome_at_a_day_and_a_difference_needs_a_control() {
        assert_eq!(
            reading("collagen_pct_difference_at_84d"),
            Some(("collagen_pct", 84.0, true))
        );
        assert_eq!(
            reading("hydration_pct_at_14d"),
            Some(("hydration_pct", 14.0, false))
        );
        assert_eq!(reading("closure_speed_ratio"), None);
        let mut c = claim("pore_area_pct_difference_at_84d", false, -17.0);
        assert!(!known_metric(&c), "a difference without a control");
        c.control = Some("b.toml".into());
        assert!(known_metric(&c));
        assert!(!known_metric(&claim("pore_volume_at_84d", false, 0.0)));
    }

    #[test]
    fn verdicts_follow_the_interval_and_say_when_the_model_cannot_tell() {
        let c = claim("closure_speed_ratio", true, 1.3);
        assert_eq!(verdict(&c, at(1.2, 1.3, 1.4)).0, "supported");
        assert_eq!(verdict(&c, at(0.8, 0.9, 0.95)).0, "contradicted");
        assert_eq!(verdict(&c, at(1.1, 1.12, 1.15)).0, "not_supported");
        // Either sign within the interval, the claimed size out of it.
        let (v, why) = verdict(&c, at(0.8, 0.95, 1.2));
        assert_eq!(v, "not_supported");
        assert!(why.contains("either sign"), "{why}");
        // Even the interval's favourable end is under a tenth of the claimed change.
        let (v, why) = verdict(&c, at(0.99, 1.0, 1.02));
        assert_eq!(v, "contradicted");
        assert!(why.contains("next to no effect"), "{why}");
        // No pathway from the vesicles: every draw gives exactly no difference.
        let (v, why) = verdict(&c, at(1.0, 1.0, 1.0));
        assert_eq!(v, "untestable", "{why}");
        assert!(why.contains("no pathway"), "{why}");
        // Without a control arm, a fixed value is a prediction, not an absence.
        let single = claim("collagen_peak_day", false, 84.0);
        assert_ne!(verdict(&single, at(0.0, 0.0, 0.0)).0, "untestable");
    }
}
