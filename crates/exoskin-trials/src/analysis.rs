//! Trial statistics: change from baseline per endpoint and visit, treated vs control.
//!
//! Split-face: per participant, the treated side's change minus the control side's change;
//! paired t test, Wilcoxon signed-rank (scipy defaults), Cohen's d_z. Parallel: each
//! treatment arm's changes vs the control arm's; Welch t test, Mann-Whitney U (scipy
//! defaults), Hedges' g. Available-case analysis: a participant counts at a visit when
//! they have it and the baseline. A responder improves by at least the endpoint's
//! `responder_pct` of their baseline (over their control side in split-face trials).

use crate::sim::Readings;
use crate::spec::{Design, Trial};
use crate::stats::{self, RankMethod, Rate};
use serde::Serialize;

/// One endpoint at one visit, one comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EndpointResult {
    pub name: String,
    pub instrument: String,
    pub unit: String,
    pub visit_day: f64,
    /// "treatment arm vs control arm".
    pub comparison: String,
    pub n_treatment: usize,
    pub n_control: usize,
    pub mean_change_treatment: f64,
    pub mean_change_control: f64,
    /// Treated minus control change from baseline, instrument units.
    pub mean_difference: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub p_value: f64,
    /// "paired_t" or "welch_t".
    pub test: String,
    pub statistic: f64,
    pub df: f64,
    pub effect_size: f64,
    /// "cohen_dz" or "hedges_g".
    pub effect_size_measure: String,
    pub effect_size_ci95_low: f64,
    pub effect_size_ci95_high: f64,
    /// "wilcoxon" or "mann_whitney".
    pub nonparametric_test: String,
    pub nonparametric_p_value: f64,
    pub responders_treatment: Rate,
    /// Parallel designs only.
    pub responders_control: Option<Rate>,
    pub significant: bool,
}

/// Changes from baseline at `visit` for one endpoint: split-face gives paired vectors
/// (treated, control); parallel gives the arm's and the control's.
pub fn changes(
    r: &Readings,
    arm: usize,
    control: usize,
    visit: usize,
    endpoint: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut x, mut y, mut bx, mut by) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in 0..r.participants {
        match r.design {
            Design::SplitFace => {
                let (t0, t1) = (r.get(p, arm, 0, endpoint), r.get(p, arm, visit, endpoint));
                let (c0, c1) = (
                    r.get(p, control, 0, endpoint),
                    r.get(p, control, visit, endpoint),
                );
                if t1.is_finite() && c1.is_finite() {
                    x.push(t1 - t0);
                    y.push(c1 - c0);
                    bx.push(t0);
                    by.push(c0);
                }
            }
            Design::Parallel => {
                let a = r.arm(p, 0);
                let (v0, v1) = (r.get(p, 0, 0, endpoint), r.get(p, 0, visit, endpoint));
                if !v1.is_finite() {
                    continue;
                }
                if a == arm {
                    x.push(v1 - v0);
                    bx.push(v0);
                } else if a == control {
                    y.push(v1 - v0);
                    by.push(v0);
                }
            }
        }
    }
    (x, y, bx, by)
}

/// p-value of the primary test (paired t or Welch) for one endpoint at one visit; NaN when
/// too few participants remain.
pub fn primary_p(trial: &Trial, r: &Readings, arm: usize, visit: usize, endpoint: usize) -> f64 {
    let (x, y, _, _) = changes(r, arm, trial.control(), visit, endpoint);
    if x.len() < 2 || y.len() < 2 {
        return f64::NAN;
    }
    match r.design {
        Design::SplitFace => stats::paired_t(&x, &y, 0.95).p_value,
        Design::Parallel => stats::welch_t(&x, &y, 0.95).p_value,
    }
}

/// Every endpoint at every visit after baseline, every treatment arm vs the control.
pub fn analyze(trial: &Trial, r: &Readings) -> Vec<EndpointResult> {
    let control = trial.control();
    let mut out = Vec::new();
    for (e, ep) in trial.endpoints.iter().enumerate() {
        let sign = if ep.instrument.higher_is_better {
            1.0
        } else {
            -1.0
        };
        for visit in 1..trial.visits_days.len() {
            for arm in trial.treatments() {
                let (x, y, bx, by) = changes(r, arm, control, visit, e);
                if x.len() < 3 || y.len() < 3 {
                    continue;
                }
                let is_responder =
                    |change: f64, base: f64| sign * change / base * 100.0 >= ep.responder_pct;
                let (t, es, es_name, np, np_name, resp_t, resp_c) = match r.design {
                    Design::SplitFace => {
                        let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
                        let resp = d
                            .iter()
                            .zip(&by)
                            .filter(|(d, b)| is_responder(**d, **b))
                            .count();
                        (
                            stats::paired_t(&x, &y, 0.95),
                            stats::cohen_dz(&d, 0.95),
                            "cohen_dz",
                            stats::wilcoxon(&d, false, RankMethod::Auto),
                            "wilcoxon",
                            stats::wilson(resp, d.len(), 0.05),
                            None,
                        )
                    }
                    Design::Parallel => {
                        let rt = x
                            .iter()
                            .zip(&bx)
                            .filter(|(c, b)| is_responder(**c, **b))
                            .count();
                        let rc = y
                            .iter()
                            .zip(&by)
                            .filter(|(c, b)| is_responder(**c, **b))
                            .count();
                        (
                            stats::welch_t(&x, &y, 0.95),
                            stats::hedges_g(&x, &y, 0.95),
                            "hedges_g",
                            stats::mann_whitney(&x, &y, true, RankMethod::Auto),
                            "mann_whitney",
                            stats::wilson(rt, x.len(), 0.05),
                            Some(stats::wilson(rc, y.len(), 0.05)),
                        )
                    }
                };
                out.push(EndpointResult {
                    name: ep.name.clone(),
                    instrument: ep.instrument.instrument.clone(),
                    unit: ep.instrument.unit.clone(),
                    visit_day: trial.visits_days[visit],
                    comparison: format!("{} vs {}", trial.arms[arm].name, trial.arms[control].name),
                    n_treatment: x.len(),
                    n_control: y.len(),
                    mean_change_treatment: stats::mean(&x),
                    mean_change_control: stats::mean(&y),
                    mean_difference: t.estimate,
                    ci95_low: t.ci95_low,
                    ci95_high: t.ci95_high,
                    p_value: t.p_value,
                    test: if r.design == Design::SplitFace {
                        "paired_t"
                    } else {
                        "welch_t"
                    }
                    .into(),
                    statistic: t.statistic,
                    df: t.df,
                    effect_size: es.value,
                    effect_size_measure: es_name.into(),
                    effect_size_ci95_low: es.ci95_low,
                    effect_size_ci95_high: es.ci95_high,
                    nonparametric_test: np_name.into(),
                    nonparametric_p_value: np.p_value,
                    responders_treatment: resp_t,
                    responders_control: resp_c,
                    significant: t.p_value < trial.alpha,
                });
            }
        }
    }
    out
}

/// Mean reading and its 95 % CI at each visit, per arm: `[arm][visit] = (mean, low, high)`.
pub fn course(trial: &Trial, r: &Readings, endpoint: usize) -> Vec<Vec<(f64, f64, f64)>> {
    (0..trial.arms.len())
        .map(|arm| {
            (0..trial.visits_days.len())
                .map(|visit| {
                    let mut v = Vec::new();
                    for p in 0..r.participants {
                        for side in 0..r.sides {
                            if r.arm(p, side) == arm {
                                let x = r.get(p, side, visit, endpoint);
                                if x.is_finite() {
                                    v.push(x);
                                }
                            }
                        }
                    }
                    if v.len() < 2 {
                        let m = v.first().copied().unwrap_or(f64::NAN);
                        return (m, m, m);
                    }
                    let t = stats::one_sample_t(&v, 0.95);
                    (t.estimate, t.ci95_low, t.ci95_high)
                })
                .collect()
        })
        .collect()
}
