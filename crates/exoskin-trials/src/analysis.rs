//! Trial statistics: change from baseline per endpoint and visit, treated vs control.
//!
//! Split-face: per participant, the treated side's change minus the control side's change;
//! paired t test, Wilcoxon signed-rank (scipy defaults), Cohen's d_z. Parallel: each
//! treatment arm's changes vs the control arm's; Welch t test, Mann-Whitney U (scipy
//! defaults), Hedges' g. Available-case analysis: a participant counts at a visit when
//! they have it and the baseline. A responder improves by at least the endpoint's
//! `responder_pct` of their baseline (over their control side in split-face trials).
//!
//! Crossover: per participant, the change from each period's baseline; the two-period
//! analysis ([`crate::models::crossover`]) gives the treatment effect (its t test is the one
//! reported), the period effect and the carryover check; effect size d_z and Wilcoxon on the
//! within-participant differences treated minus control.
//!
//! Parallel designs also report the ANCOVA on the baseline reading ([`crate::models::ancova`]).
//!
//! The decision. Each endpoint is tested for the trial's `analysis`: superiority (the
//! two-sided p value above), equivalence (TOST against its margins, with the 1 - 2 alpha CI;
//! [`crate::equivalence`]) or non-inferiority (one-sided against its margin), on the same
//! difference and standard error as the t test (paired, Welch or crossover). The decision p
//! values of the endpoints at one visit and comparison form the multiplicity family; their
//! adjusted p values ([`crate::multiplicity`]) decide `significant`.
//!
//! Repeated visits ([`repeated`]): with two or more visits after baseline, a linear mixed
//! model of the changes from baseline with a random intercept per participant, visit and
//! visit x arm fixed effects ([`crate::models::mixed_model`]), reported beside the per-visit
//! tests (split-face and parallel designs).

use crate::equivalence::{self as eq, Difference};
use crate::models::{self, Effect};
use crate::multiplicity;
use crate::sim::Readings;
use crate::spec::{Analysis, Design, Endpoint, Trial};
use crate::stats::{self, RankMethod, Rate};
use serde::Serialize;

/// The crossover's period effect and carryover check at one visit.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CrossoverEffects {
    /// Period 2 minus period 1.
    pub period: Effect,
    /// Carryover of the treatment minus that of the control (sequence totals).
    pub carryover: Effect,
    pub n_treatment_first: usize,
    pub n_control_first: usize,
}

/// One endpoint at one visit, one comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EndpointResult {
    pub name: String,
    pub instrument: String,
    pub unit: String,
    pub visit_day: f64,
    /// "treatment arm vs control arm".
    pub comparison: String,
    /// "superiority", "equivalence" or "non_inferiority".
    pub analysis: String,
    pub n_treatment: usize,
    pub n_control: usize,
    pub mean_change_treatment: f64,
    pub mean_change_control: f64,
    /// Treated minus control change from baseline, instrument units.
    pub mean_difference: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub p_value: f64,
    /// The p value of the analysis (`p_value`, `tost_p_value` or `ni_p_value`) adjusted for
    /// multiplicity over the endpoints at this visit and comparison (equal to it without a
    /// correction).
    pub adjusted_p_value: f64,
    /// Equivalence: the TOST p value (the larger one-sided p).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tost_p_value: Option<f64>,
    /// Non-inferiority: the one-sided p value against the margin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ni_p_value: Option<f64>,
    /// Equivalence and non-inferiority: the margins on the difference (instrument units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_high: Option<f64>,
    /// Equivalence and non-inferiority: the 1 - 2 alpha confidence interval of the difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_1_minus_2alpha: Option<[f64; 2]>,
    /// "paired_t", "welch_t" or "crossover_t".
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
    /// `adjusted_p_value < alpha`.
    pub significant: bool,
    /// Parallel designs: the difference adjusted for the baseline reading (ANCOVA), 95 % CI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancova: Option<Effect>,
    /// Crossover designs: the period effect and the carryover check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crossover: Option<CrossoverEffects>,
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
            Design::Crossover => {
                // Period changes on the treatment (x) and control (y), paired by participant.
                let side_of = |a: usize| (0..2).find(|&s| r.arm(p, s) == a);
                let (Some(st), Some(sc)) = (side_of(arm), side_of(control)) else {
                    continue;
                };
                let (t0, t1) = (r.get(p, st, 0, endpoint), r.get(p, st, visit, endpoint));
                let (c0, c1) = (r.get(p, sc, 0, endpoint), r.get(p, sc, visit, endpoint));
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

/// Period responses `(period 1, period 2)`, one pair per participant.
pub type Periods = Vec<(f64, f64)>;

/// The period responses `(period 1, period 2)` of a crossover's participants who complete
/// `visit` in both periods: those who had `arm` first, then those who had `control` first.
pub fn crossover_periods(
    r: &Readings,
    arm: usize,
    visit: usize,
    endpoint: usize,
) -> (Periods, Periods) {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for p in 0..r.participants {
        let change = |s: usize| r.get(p, s, visit, endpoint) - r.get(p, s, 0, endpoint);
        let (a, b) = (change(0), change(1));
        if !(a.is_finite() && b.is_finite()) {
            continue;
        }
        if r.arm(p, 0) == arm {
            first.push((a, b));
        } else {
            second.push((a, b));
        }
    }
    (first, second)
}

/// The difference a design tests (treated minus control): paired, Welch, or the crossover's
/// treatment effect (with its period and carryover), from the changes of [`changes`].
pub fn difference(
    r: &Readings,
    arm: usize,
    visit: usize,
    endpoint: usize,
    x: &[f64],
    y: &[f64],
) -> Option<(Difference, Option<models::Crossover>)> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    match r.design {
        Design::SplitFace => Some((Difference::paired(x, y), None)),
        Design::Parallel => Some((Difference::welch(x, y), None)),
        Design::Crossover => {
            let (tc, ct) = crossover_periods(r, arm, visit, endpoint);
            let c = models::crossover(&tc, &ct, 0.95)?;
            Some((c.treatment.difference(), Some(c)))
        }
    }
}

/// The p value an endpoint is decided on under the trial's analysis, with the TOST or
/// non-inferiority p value and the 1 - 2 alpha CI where they apply.
pub fn decision(
    trial: &Trial,
    ep: &Endpoint,
    d: &Difference,
) -> (f64, Option<f64>, Option<f64>, Option<[f64; 2]>) {
    let two_sided = || (2.0 * crate::dist::t_sf((d.estimate / d.se).abs(), d.df)).min(1.0);
    let margin = ep.margin;
    match (trial.analysis, margin) {
        (Analysis::Equivalence, Some(m)) => {
            let t = eq::tost(d, m.low, m.high, trial.alpha);
            (
                t.p_value,
                Some(t.p_value),
                None,
                Some([t.ci_low, t.ci_high]),
            )
        }
        (Analysis::NonInferiority, Some(m)) => {
            let o = eq::non_inferiority(d, m.high, ep.instrument.higher_is_better);
            let (lo, hi) = d.ci(1.0 - 2.0 * trial.alpha);
            (o.p_value, None, Some(o.p_value), Some([lo, hi]))
        }
        _ => (two_sided(), None, None, None),
    }
}

/// The decision p value of the primary endpoint at `visit` for treatment `arm`, adjusted for
/// multiplicity over the trial's endpoints when the trial names a correction; NaN when too
/// few participants remain.
pub fn primary_p(trial: &Trial, r: &Readings, arm: usize, visit: usize, endpoint: usize) -> f64 {
    let raw = |e: usize| {
        let (x, y, _, _) = changes(r, arm, trial.control(), visit, e);
        difference(r, arm, visit, e, &x, &y)
            .map(|(d, _)| decision(trial, &trial.endpoints[e], &d).0)
            .unwrap_or(f64::NAN)
    };
    if trial.multiplicity == multiplicity::Multiplicity::None {
        return raw(endpoint);
    }
    let ps: Vec<f64> = (0..trial.endpoints.len()).map(raw).collect();
    if ps[endpoint].is_nan() {
        return f64::NAN;
    }
    multiplicity::adjust(&ps, trial.multiplicity)[endpoint]
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
                let Some((diff, cross)) = difference(r, arm, visit, e, &x, &y) else {
                    continue;
                };
                let is_responder =
                    |change: f64, base: f64| sign * change / base * 100.0 >= ep.responder_pct;
                let paired = r.design != Design::Parallel;
                let (es, es_name, np, np_name, resp_t, resp_c) = if paired {
                    let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
                    let resp = d
                        .iter()
                        .zip(&by)
                        .filter(|(d, b)| is_responder(**d, **b))
                        .count();
                    (
                        stats::cohen_dz(&d, 0.95),
                        "cohen_dz",
                        stats::wilcoxon(&d, false, RankMethod::Auto),
                        "wilcoxon",
                        stats::wilson(resp, d.len(), 0.05),
                        None,
                    )
                } else {
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
                        stats::hedges_g(&x, &y, 0.95),
                        "hedges_g",
                        stats::mann_whitney(&x, &y, true, RankMethod::Auto),
                        "mann_whitney",
                        stats::wilson(rt, x.len(), 0.05),
                        Some(stats::wilson(rc, y.len(), 0.05)),
                    )
                };
                let t = Effect::new(diff.estimate, diff.se, diff.df, 0.95);
                let (p_decision, tost_p, ni_p, ci2) = decision(trial, ep, &diff);
                let (n_t, n_c) = match &cross {
                    Some(c) => (
                        c.n_treatment_first + c.n_control_first,
                        c.n_treatment_first + c.n_control_first,
                    ),
                    None => (x.len(), y.len()),
                };
                out.push(EndpointResult {
                    name: ep.name.clone(),
                    instrument: ep.instrument.instrument.clone(),
                    unit: ep.instrument.unit.clone(),
                    visit_day: trial.visits_days[visit],
                    comparison: format!("{} vs {}", trial.arms[arm].name, trial.arms[control].name),
                    analysis: trial.analysis.name().into(),
                    n_treatment: n_t,
                    n_control: n_c,
                    mean_change_treatment: stats::mean(&x),
                    mean_change_control: stats::mean(&y),
                    mean_difference: t.estimate,
                    ci95_low: t.ci_low,
                    ci95_high: t.ci_high,
                    p_value: t.p_value,
                    adjusted_p_value: p_decision,
                    tost_p_value: tost_p,
                    ni_p_value: ni_p,
                    margin_low: ep
                        .margin
                        .filter(|_| trial.analysis != Analysis::Superiority)
                        .map(|m| m.low),
                    margin_high: ep
                        .margin
                        .filter(|_| trial.analysis != Analysis::Superiority)
                        .map(|m| m.high),
                    ci_1_minus_2alpha: ci2,
                    test: match r.design {
                        Design::SplitFace => "paired_t",
                        Design::Parallel => "welch_t",
                        Design::Crossover => "crossover_t",
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
                    significant: false,
                    ancova: if r.design == Design::Parallel {
                        models::ancova(&x, &bx, &y, &by, 0.95)
                    } else {
                        None
                    },
                    crossover: cross.map(|c| CrossoverEffects {
                        period: c.period,
                        carryover: c.carryover,
                        n_treatment_first: c.n_treatment_first,
                        n_control_first: c.n_control_first,
                    }),
                });
            }
        }
    }
    adjust_families(trial, &mut out);
    out
}

/// Adjust the decision p values (held in `adjusted_p_value`) over each family, the endpoints
/// at one visit and comparison in the trial's endpoint order, and set `significant`.
fn adjust_families(trial: &Trial, out: &mut [EndpointResult]) {
    let mut families: Vec<(f64, String)> = Vec::new();
    for r in out.iter() {
        let key = (r.visit_day, r.comparison.clone());
        if !families.contains(&key) {
            families.push(key);
        }
    }
    for (day, comparison) in families {
        let idx: Vec<usize> = trial
            .endpoints
            .iter()
            .filter_map(|ep| {
                out.iter().position(|r| {
                    r.name == ep.name && r.visit_day == day && r.comparison == comparison
                })
            })
            .collect();
        let p: Vec<f64> = idx.iter().map(|&i| out[i].adjusted_p_value).collect();
        for (&i, a) in idx.iter().zip(multiplicity::adjust(&p, trial.multiplicity)) {
            out[i].adjusted_p_value = a;
            out[i].significant = a < trial.alpha;
        }
    }
}

/// The mixed model of one endpoint and comparison over the visits after baseline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RepeatedResult {
    pub name: String,
    pub unit: String,
    pub comparison: String,
    pub model: String,
    /// Treated minus control change at each visit after baseline (Wald z tests, 95 % CI).
    pub visits: Vec<RepeatedVisit>,
    pub var_participant: f64,
    pub var_residual: f64,
    pub n_observations: usize,
    pub n_participants: usize,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RepeatedVisit {
    pub visit_day: f64,
    pub difference: Effect,
}

/// The mixed model per endpoint and comparison (two or more visits after baseline;
/// split-face and parallel designs): change from baseline = visit + visit x arm + a random
/// intercept per participant + error, over every reading after baseline (participants count
/// with the visits they have).
pub fn repeated(trial: &Trial, r: &Readings) -> Vec<RepeatedResult> {
    let v = trial.visits_days.len() - 1;
    if v < 2 || r.design == Design::Crossover {
        return Vec::new();
    }
    let control = trial.control();
    let p = 2 * v;
    let mut out = Vec::new();
    for (e, ep) in trial.endpoints.iter().enumerate() {
        for arm in trial.treatments() {
            let mut data = models::MixedData::new(p);
            for q in 0..r.participants {
                for side in 0..r.sides {
                    let a = r.arm(q, side);
                    if a != arm && a != control {
                        continue;
                    }
                    let base = r.get(q, side, 0, e);
                    for visit in 1..=v {
                        let val = r.get(q, side, visit, e);
                        if !(val.is_finite() && base.is_finite()) {
                            continue;
                        }
                        // Visit dummy, and the arm's visit dummy for the treated.
                        let cols = [(visit - 1, 1.0), (v + visit - 1, 1.0)];
                        let row = if a == arm { &cols[..] } else { &cols[..1] };
                        data.add(row, val - base);
                    }
                }
                data.end_group();
            }
            let Some(fit) = data.fit() else {
                continue;
            };
            out.push(RepeatedResult {
                name: ep.name.clone(),
                unit: ep.instrument.unit.clone(),
                comparison: format!("{} vs {}", trial.arms[arm].name, trial.arms[control].name),
                model: "change ~ visit + visit:arm + (1 | participant), REML".into(),
                visits: (0..v)
                    .map(|k| RepeatedVisit {
                        visit_day: trial.visits_days[k + 1],
                        difference: Effect::new(
                            fit.beta[v + k],
                            fit.se[v + k],
                            f64::INFINITY,
                            0.95,
                        ),
                    })
                    .collect(),
                var_participant: fit.var_participant,
                var_residual: fit.var_residual,
                n_observations: fit.n_obs,
                n_participants: fit.n_groups,
            });
        }
    }
    out
}

/// The participant flow (CONSORT): per group (arm, or sequence in a crossover; everyone in a
/// split-face trial), those allocated, those who dropped out before the last visit and those
/// analysed at the last visit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Flow {
    pub enrolled: usize,
    pub randomised: usize,
    pub groups: Vec<FlowGroup>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlowGroup {
    pub name: String,
    pub allocated: usize,
    pub dropped_out: usize,
    pub analysed: usize,
}

/// The participant flow of simulated readings.
pub fn flow(trial: &Trial, r: &Readings) -> Flow {
    let last = r.visits - 1;
    let complete = |p: usize| (0..r.sides).all(|s| r.get(p, s, last, 0).is_finite());
    let names: Vec<String> = match r.design {
        Design::SplitFace => vec![format!(
            "both sides ({} / {})",
            trial.arms[0].name, trial.arms[1].name
        )],
        Design::Parallel => trial.arms.iter().map(|a| a.name.clone()).collect(),
        Design::Crossover => {
            let (t, c) = (trial.treatments()[0], trial.control());
            vec![
                format!("{} then {}", trial.arms[t].name, trial.arms[c].name),
                format!("{} then {}", trial.arms[c].name, trial.arms[t].name),
            ]
        }
    };
    let group_of = |p: usize| match r.design {
        Design::SplitFace => 0,
        Design::Parallel => r.arm(p, 0),
        Design::Crossover => usize::from(r.arm(p, 0) != trial.treatments()[0]),
    };
    let mut groups: Vec<FlowGroup> = names
        .into_iter()
        .map(|name| FlowGroup {
            name,
            allocated: 0,
            dropped_out: 0,
            analysed: 0,
        })
        .collect();
    for p in 0..r.participants {
        let g = &mut groups[group_of(p)];
        g.allocated += 1;
        if complete(p) {
            g.analysed += 1;
        } else {
            g.dropped_out += 1;
        }
    }
    Flow {
        enrolled: r.participants,
        randomised: r.participants,
        groups,
    }
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
