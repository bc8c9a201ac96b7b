//! Calibration against the peer-reviewed calibration set of `data/evidence.toml`, and
//! validation against the set the fit never sees.
//!
//! **What is fitted.** The coordinates of [`Space`]: the response parameters marked
//! `fit = true` (the procedure's magnitudes and clocks, and the vesicles' signed effects and
//! the inflammation-remodelling coupling), one measurement scale per instrument construct
//! the calibration data use (data/measurement.toml), the potency of each product class
//! other than the reference that a calibration study used, and each calibration study's own
//! standardized effect `z`: the study's product delivers `exp(tau z)` times its class's dose,
//! `tau` the response parameter `study_dose_spread` (hierarchical, non-centred).
//!
//! **Likelihood.** Single data enter as `(scale x model - value) / sigma`. A controlled
//! trial enters as its paired difference (`[[difference]]`: vesicle arm minus control arm,
//! same paper, visit and construct) with its SE; its vesicle arm does not enter on its own,
//! its control arm does (procedure-only data). Priors: each coordinate's, on the scale it
//! is sampled on (log for log-normal priors, linear for normal priors centred on zero,
//! logit for uniform ones), truncated to its range.
//!
//! **Fit.** The maximum a posteriori point by Levenberg-Marquardt (the `levenberg-marquardt`
//! crate, MINPACK's algorithm) with a forward-difference Jacobian; the Laplace covariance
//! there; then MCMC ([`crate::posterior`]) preconditioned with it. Transport runs once per
//! datum: no fitted coordinate changes it.

use crate::evidence::{self, PairedDifference, Prepared};
use exoskin_model::{Prior, PriorKind, TransportParams};
use exoskin_response::params::{Fitted, ParamId, ResponseError, ResponseParams};
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Owned};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a coordinate of the fit sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A response parameter (data/response.toml, `fit = true`), resolved once.
    Response(ParamId),
    /// The measurement scale of a construct (data/measurement.toml).
    Scale(String),
    /// The potency multiplier of a product class (data/potency.toml `range_factor`).
    Class(String),
    /// A study's standardized effect (standard normal prior).
    Study(String),
}

/// One coordinate: its name (as in the draws file), what it sets and its prior. The
/// sampler works on `x`: ln(value) for log-normal priors, the value for normal ones, the
/// logit of the position in the range for uniform ones; a study's `z` is itself.
#[derive(Debug, Clone)]
pub struct Coord {
    pub name: String,
    pub target: Target,
    /// None: standard normal, untruncated (study effects).
    pub prior: Option<Prior>,
}

const Z95: f64 = 1.959963984540054;

/// Growth of a prior's residual per unit of `x` outside its range, for the optimizer only
/// (the sampler gives such points zero density): steep against the data residuals, whose
/// slopes are of order one per unit of `x`, so the optimum stays inside.
const OUTSIDE_PRIOR_SLOPE: f64 = 10.0;

impl Coord {
    /// The coordinate's value at `x`.
    pub fn value(&self, x: f64) -> f64 {
        match &self.prior {
            None => x,
            Some(p) => match p.kind {
                PriorKind::LogNormal | PriorKind::LogUniform => x.exp(),
                PriorKind::Normal => x,
                PriorKind::Uniform => p.lo + (p.hi - p.lo) / (1.0 + (-x).exp()),
            },
        }
    }
    /// `x` at a value.
    pub fn x_of(&self, value: f64) -> f64 {
        match &self.prior {
            None => value,
            Some(p) => match p.kind {
                PriorKind::LogNormal | PriorKind::LogUniform => value.ln(),
                PriorKind::Normal => value,
                PriorKind::Uniform => {
                    let u = ((value - p.lo) / (p.hi - p.lo)).clamp(1e-9, 1.0 - 1e-9);
                    (u / (1.0 - u)).ln()
                }
            },
        }
    }
    /// The prior median's `x`.
    pub fn x_median(&self) -> f64 {
        self.prior.map_or(0.0, |p| self.x_of(p.median))
    }
    /// The prior's term as a residual `r` (`r^2 / 2` is minus the log density in `x` up to
    /// a constant), or None outside the prior's range (zero density).
    pub fn prior_residual(&self, x: f64) -> Option<f64> {
        let Some(p) = &self.prior else {
            return Some(x);
        };
        let v = self.value(x);
        if !(v >= p.lo && v <= p.hi) {
            return None;
        }
        Some(match p.kind {
            // Normal in x (x = ln value for log-normal priors), its SD on each side the
            // distance from the median to that side's range end over 1.96.
            PriorKind::LogNormal | PriorKind::LogUniform | PriorKind::Normal => {
                let (m, lo, hi) = (self.x_of(p.median), self.x_of(p.lo), self.x_of(p.hi));
                let end = if x >= m { hi } else { lo };
                let sd = (end - m).abs() / Z95;
                if sd > 0.0 {
                    (x - m) / sd
                } else {
                    0.0
                }
            }
            // Uniform in the value: in x the density is u (1 - u) = 1 / (4 cosh^2(x / 2)),
            // so -log density + const = 2 ln cosh(x / 2).
            PriorKind::Uniform => x.signum() * 2.0 * (x / 2.0).cosh().ln().max(0.0).sqrt(),
        })
    }
    /// `x` moved into the prior's range (unchanged inside it, and for study effects).
    pub fn clip(&self, x: f64) -> f64 {
        match &self.prior {
            Some(p) => self.x_of(self.value(x).clamp(p.lo, p.hi)),
            None => x,
        }
    }
    /// A draw from the prior.
    pub fn prior_draw(&self, rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> f64 {
        match &self.prior {
            None => StandardNormal.sample(rng),
            Some(p) => {
                let u: f64 = rand_distr::StandardUniform.sample(rng);
                self.x_of(p.quantile(u))
            }
        }
    }
}

/// A point of the fit in natural units: response parameters, measurement scales and each
/// study's delivery multiplier.
#[derive(Debug, Clone)]
pub struct Point {
    pub rp: ResponseParams,
    pub scales: BTreeMap<String, f64>,
    pub study: BTreeMap<String, f64>,
}

impl Point {
    /// The measurement scale of a datum's construct (1: the model's own quantity).
    pub fn scale(&self, d: &evidence::Datum) -> f64 {
        d.construct
            .as_ref()
            .and_then(|c| self.scales.get(c))
            .copied()
            .unwrap_or(1.0)
    }
    /// The delivery multiplier of a datum's study (1 for arms without vesicles and for
    /// studies the fit has no effect for).
    pub fn delivery(&self, d: &evidence::Datum) -> f64 {
        if !d.is_treated() {
            return 1.0;
        }
        self.study
            .get(d.study())
            .map_or(1.0, |z| (self.rp.v.study_dose_spread * z).exp())
    }
}

/// The coordinates of the fit over a calibration set.
#[derive(Debug, Clone)]
pub struct Space {
    pub coords: Vec<Coord>,
    base: ResponseParams,
}

impl Space {
    /// The coordinates that `data` (the calibration set) and `diffs` inform, around `base`
    /// (the data files' priors).
    pub fn new(
        base: &ResponseParams,
        data: &[Prepared],
        constructs: &BTreeMap<String, evidence::Construct>,
    ) -> Result<Space, ResponseError> {
        let mut coords = Vec::new();
        for n in base.fit_names() {
            let m = &base.meta[&n];
            let prior = Prior::of(&n, m)
                .unwrap_or_else(|| Err(exoskin_model::PriorError::Missing { name: n.clone() }))
                .map_err(|e| ResponseError::Data {
                    file: "data/response.toml",
                    message: e.to_string(),
                })?;
            coords.push(Coord {
                target: Target::Response(ParamId::parse(&n)?),
                name: n,
                prior: Some(prior),
            });
        }
        let mut used: Vec<&str> = data
            .iter()
            .filter_map(|p| p.datum.construct.as_deref())
            .filter(|c| constructs.contains_key(*c))
            .collect();
        used.sort();
        used.dedup();
        for c in used {
            coords.push(Coord {
                name: format!("scale.{c}"),
                target: Target::Scale(c.to_string()),
                prior: Some(constructs[c].prior()),
            });
        }
        let treated: Vec<&evidence::Datum> = data
            .iter()
            .map(|p| &p.datum)
            .filter(|d| d.is_treated())
            .collect();
        let mut classes: Vec<&str> = treated
            .iter()
            .filter_map(|d| d.source.as_deref())
            .filter(|s| base.potency_prior(s).is_some())
            .collect();
        classes.sort();
        classes.dedup();
        for c in classes {
            coords.push(Coord {
                name: format!("class.{c}"),
                target: Target::Class(c.to_string()),
                prior: base.potency_prior(c),
            });
        }
        let mut studies: Vec<&str> = treated.iter().map(|d| d.study()).collect();
        studies.sort();
        studies.dedup();
        for st in studies {
            coords.push(Coord {
                name: format!("study.{st}"),
                target: Target::Study(st.to_string()),
                prior: None,
            });
        }
        Ok(Space {
            coords,
            base: base.clone(),
        })
    }

    /// Names of the coordinates (the draws file's columns).
    pub fn names(&self) -> Vec<String> {
        self.coords.iter().map(|c| c.name.clone()).collect()
    }

    /// The prior medians in `x`.
    pub fn x_median(&self) -> Vec<f64> {
        self.coords.iter().map(Coord::x_median).collect()
    }

    /// The point at `x`.
    pub fn point(&self, x: &[f64]) -> Point {
        let mut p = Point {
            rp: self.base.clone(),
            scales: BTreeMap::new(),
            study: BTreeMap::new(),
        };
        for (c, &xi) in self.coords.iter().zip(x) {
            let v = c.value(xi);
            match &c.target {
                // Ids come from the data file and values lie in their range: cannot fail.
                Target::Response(id) => {
                    let _ = p.rp.set_id(*id, v);
                }
                Target::Scale(k) => {
                    p.scales.insert(k.clone(), v);
                }
                Target::Class(k) => {
                    let _ = p.rp.scale_potency(k, v);
                }
                Target::Study(k) => {
                    p.study.insert(k.clone(), v);
                }
            }
        }
        p
    }

    /// Natural values of `x`, coordinate by coordinate.
    pub fn values(&self, x: &[f64]) -> Vec<f64> {
        self.coords
            .iter()
            .zip(x)
            .map(|(c, &v)| c.value(v))
            .collect()
    }
}

pub(crate) struct Problem<'a> {
    data: &'a [Prepared],
    diffs: Vec<(usize, usize, PairedDifference)>,
    /// Data that enter on their own (not the vesicle arm of a difference).
    single: Vec<usize>,
    groups: Vec<Vec<usize>>,
    pub(crate) space: Space,
    x: DVector<f64>,
}

impl<'a> Problem<'a> {
    /// The posterior's residuals over the calibration data `data` and the paired
    /// differences among them; parameters start at `x` (default: the prior medians).
    pub(crate) fn new(
        data: &'a [Prepared],
        base: &ResponseParams,
        x: Option<DVector<f64>>,
    ) -> Result<Problem<'a>, ResponseError> {
        let space = Space::new(base, data, &evidence::constructs()?)?;
        let idx = |id: &str| data.iter().position(|p| p.datum.id == id);
        let diffs: Vec<(usize, usize, PairedDifference)> = evidence::differences()?
            .into_iter()
            .filter_map(|d| Some((idx(&d.treated)?, idx(&d.control)?, d)))
            .collect();
        let single = (0..data.len())
            .filter(|&i| !diffs.iter().any(|(t, _, _)| *t == i))
            .collect();
        let x = x.unwrap_or_else(|| DVector::from_vec(space.x_median()));
        Ok(Problem {
            data,
            diffs,
            single,
            groups: evidence::same_runs(data),
            space,
            x,
        })
    }

    /// The model value of every datum (times its measurement scale) at a point.
    pub(crate) fn values_at(&self, pt: &Point) -> Vec<f64> {
        values_of(self.data, &self.groups, pt)
    }

    /// Data residuals (single data, then differences) at a point.
    pub(crate) fn data_residuals(&self, pt: &Point) -> Vec<f64> {
        let v = self.values_at(pt);
        let mut r: Vec<f64> = self
            .single
            .iter()
            .map(|&i| evidence::residual(&self.data[i].datum, v[i]))
            .collect();
        for (t, c, d) in &self.diffs {
            let m = v[*t] - v[*c];
            r.push(if m.is_finite() {
                (m - d.value) / d.se
            } else {
                evidence::UNREADABLE_RESIDUAL
            });
        }
        r
    }

    /// Residuals with the prior terms (None outside a prior's range).
    pub(crate) fn residuals_checked(&self, x: &[f64]) -> Option<Vec<f64>> {
        let mut pr = Vec::with_capacity(x.len());
        for (c, &xi) in self.space.coords.iter().zip(x) {
            pr.push(c.prior_residual(xi)?);
        }
        let mut r = self.data_residuals(&self.space.point(x));
        r.extend(pr);
        Some(r)
    }

    /// Residuals for Levenberg-Marquardt, which may step outside a prior's range (zero
    /// density): there the prior term is its value at the range's end plus
    /// [`OUTSIDE_PRIOR_SLOPE`] per unit of `x` beyond it, which leads back inside.
    pub(crate) fn residuals_at(&self, x: &DVector<f64>) -> DVector<f64> {
        let mut r = self.data_residuals(&self.space.point(x.as_slice()));
        for (c, &xi) in self.space.coords.iter().zip(x.iter()) {
            let clipped = c.clip(xi);
            let inside = c.prior_residual(clipped).unwrap_or(0.0);
            r.push(inside + (xi - clipped) * OUTSIDE_PRIOR_SLOPE);
        }
        DVector::from_vec(r)
    }

    /// Labels of the residuals, in order (data ids, difference ids, then coordinates).
    pub(crate) fn labels(&self) -> Vec<String> {
        self.single
            .iter()
            .map(|&i| self.data[i].datum.id.clone())
            .chain(self.diffs.iter().map(|(_, _, d)| d.id.clone()))
            .chain(
                self.space
                    .coords
                    .iter()
                    .map(|c| format!("prior of {}", c.name)),
            )
            .collect()
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.x.copy_from(x);
    }
    fn params(&self) -> DVector<f64> {
        self.x.clone()
    }
    fn residuals(&self) -> Option<DVector<f64>> {
        Some(self.residuals_at(&self.x))
    }
    fn jacobian(&self) -> Option<DMatrix<f64>> {
        Some(jacobian(self, &self.x))
    }
}

pub(crate) fn jacobian(p: &Problem, x: &DVector<f64>) -> DMatrix<f64> {
    use rayon::prelude::*;
    let r0 = p.residuals_at(x);
    let cols: Vec<DVector<f64>> = (0..x.len())
        .into_par_iter()
        .map(|k| {
            let mut xk = x.clone();
            let h = 1e-4 * (1.0 + x[k].abs());
            xk[k] += h;
            (p.residuals_at(&xk) - &r0) / h
        })
        .collect();
    let mut j = DMatrix::zeros(r0.len(), x.len());
    for (k, c) in cols.iter().enumerate() {
        j.set_column(k, c);
    }
    j
}

/// One datum of the report: the data, the model's value (and, for validation, its interval).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub set: String,
    pub quantity: String,
    pub value: f64,
    pub sigma: f64,
    pub bound: Option<String>,
    pub model: f64,
    pub p05: Option<f64>,
    pub p95: Option<f64>,
    pub residual: f64,
    /// Within 2 sigma (or the bound holds, or the value lies in the model's 90 % interval).
    pub reproduced: bool,
    pub paper: String,
    pub location: String,
}

/// A controlled trial's paired difference against the model.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub id: String,
    pub treated: String,
    pub control: String,
    pub set: String,
    pub quantity: String,
    pub construct: Option<String>,
    /// Observed vesicle minus control, percentage points, and its SE.
    pub observed: f64,
    pub se: f64,
    pub se_method: String,
    /// The model's difference at the estimate.
    pub model: f64,
    /// The model's difference over the posterior (no measurement noise).
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// The observed difference lies within the posterior-predictive 90 % interval (the
    /// model's difference plus the measurement's SE).
    pub reproduced: bool,
    /// Posterior probability that the vesicle arm is better on this endpoint.
    pub probability_better: Option<f64>,
}

/// Whether a rise of an outcome is an improvement (collagen, hydration, elasticity) or a
/// fall is (TEWL, erythema, cytokines, pores, melanin, wrinkles and scars).
pub fn higher_is_better(quantity: &str) -> bool {
    matches!(
        quantity,
        "collagen_pct" | "elastin_pct" | "elastic_fibre_pct" | "hydration_pct" | "elasticity_pct"
    )
}

/// The model value of every datum of `data` (times its measurement scale) at a point, one
/// response run per group of [`evidence::same_runs`].
fn values_of(data: &[Prepared], groups: &[Vec<usize>], pt: &Point) -> Vec<f64> {
    let mut v = vec![f64::NAN; data.len()];
    for g in groups {
        let delivery = pt.delivery(&data[g[0]].datum);
        for (&i, m) in g
            .iter()
            .zip(evidence::group_values(data, g, &pt.rp, delivery))
        {
            v[i] = pt.scale(&data[i].datum) * m;
        }
    }
    v
}

/// Model values of every datum of `data` at each point (one row per point).
pub(crate) fn values_at_points(data: &[Prepared], points: &[Point]) -> Vec<Vec<f64>> {
    use rayon::prelude::*;
    let groups = evidence::same_runs(data);
    points
        .par_iter()
        .map(|pt| values_of(data, &groups, pt))
        .collect()
}

/// The paired differences of the evidence file among `data`, against the model at `at` and
/// over `points` (posterior draws).
pub(crate) fn differences(
    data: &[Prepared],
    at: &Point,
    points: &[Point],
    seed: u64,
) -> Result<Vec<Difference>, ResponseError> {
    let idx = |id: &str| data.iter().position(|p| p.datum.id == id);
    let at_v = &values_at_points(data, std::slice::from_ref(at))[0];
    let draws = values_at_points(data, points);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    Ok(evidence::differences()?
        .into_iter()
        .filter_map(|d| Some((idx(&d.treated)?, idx(&d.control)?, d)))
        .map(|(t, c, d)| {
            let m: Vec<f64> = draws.iter().map(|v| v[t] - v[c]).collect();
            let band = percentiles(m.clone());
            let predictive = percentiles(
                m.iter()
                    .map(|x| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        x + d.se * z
                    })
                    .collect(),
            );
            let quantity = data[t].datum.quantity.clone();
            let better = |x: f64| {
                if higher_is_better(&quantity) {
                    x > 0.0
                } else {
                    x < 0.0
                }
            };
            let finite: Vec<f64> = m.iter().copied().filter(|x| x.is_finite()).collect();
            Difference {
                id: d.id.clone(),
                treated: d.treated.clone(),
                control: d.control.clone(),
                set: d.set.clone(),
                construct: data[t].datum.construct.clone(),
                quantity: quantity.clone(),
                observed: d.value,
                se: d.se,
                se_method: d.se_method.clone(),
                model: at_v[t] - at_v[c],
                p05: band.map(|b| b[0]),
                p50: band.map(|b| b[1]),
                p95: band.map(|b| b[2]),
                reproduced: predictive.is_some_and(|[lo, _, hi]| lo <= d.value && d.value <= hi),
                probability_better: (!finite.is_empty()).then(|| {
                    finite.iter().filter(|x| better(**x)).count() as f64 / finite.len() as f64
                }),
            }
        })
        .collect())
}

/// A fitted coordinate against its prior.
#[derive(Debug, Clone, Serialize)]
pub struct FitRow {
    pub name: String,
    /// A response parameter (stored in data/response_fit.toml), rather than a measurement
    /// scale, class potency, spread or study effect.
    pub response: bool,
    pub value: f64,
    pub sd: f64,
    pub prior_median: f64,
    pub prior_range: [f64; 2],
    pub inside_prior: bool,
    /// The calibration data that pull hardest on this coordinate at the estimate (largest
    /// |dr_i/dx r_i|, their share of the objective's gradient): why it sits where it is.
    pub pulled_by: Vec<String>,
}

/// The calibration result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Vec<FitRow>,
    pub calibration: Vec<Row>,
    pub validation: Vec<Row>,
    pub not_evaluated: Vec<(String, String)>,
    /// Vesicle arm minus its control arm, where a paper reports both (what split-face and
    /// parallel trials test): observed against the model.
    pub differences: Vec<Difference>,
    pub objective: f64,
    /// Residual evaluations the optimizer made (each Jacobian counts its columns too).
    pub evaluations: usize,
    pub termination: String,
    /// The MCMC posterior sample and the checks of the fit (`--mcmc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcmc: Option<crate::posterior::Summary>,
}

impl Report {
    /// The fitted response parameters as `data/response_fit.toml` stores them.
    pub fn fitted(&self) -> BTreeMap<String, Fitted> {
        self.params
            .iter()
            .filter(|p| p.response)
            .map(|p| {
                (
                    p.name.clone(),
                    Fitted {
                        value: p.value,
                        sd: p.sd,
                    },
                )
            })
            .collect()
    }
}

/// Apply a fit to a parameter set.
pub fn with_fit(base: &ResponseParams, fit: &BTreeMap<String, Fitted>) -> ResponseParams {
    let mut rp = base.clone();
    for (k, f) in fit {
        let _ = rp.set(k, f.value);
        rp.fitted.insert(k.clone(), *f);
    }
    rp
}

/// Posterior draws of the fitted response parameters around `rp`: rows of the shipped MCMC
/// sample (data/response_posterior.csv) evenly spaced, when it holds every fitted
/// parameter; otherwise normal draws with the fit's SDs (in log space for positive
/// parameters, linear for signed ones). Deterministic for a seed.
pub fn posterior_draws(rp: &ResponseParams, n: usize, seed: u64) -> Vec<ResponseParams> {
    if let Ok(d) = crate::posterior::Draws::shipped() {
        if !d.rows.is_empty() && rp.fitted.keys().all(|k| d.names.contains(k)) {
            return d.parameter_sets(rp, n, seed as usize % d.rows.len());
        }
    }
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut d = rp.clone();
            for (k, f) in &rp.fitted {
                let z: f64 = StandardNormal.sample(&mut rng);
                let v = if rp.is_signed(k) || f.value <= 0.0 {
                    f.value + f.sd * z
                } else {
                    f.value * (f.sd / f.value * z).exp()
                };
                let _ = d.set(k, v);
            }
            d
        })
        .collect()
}

/// Percentiles 5, 50 and 95 of finite values (None if there are none).
pub fn percentiles(mut v: Vec<f64>) -> Option<[f64; 3]> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| exoskin_uq::quantile(&v, p);
    Some([q(0.05), q(0.5), q(0.95)])
}

/// Points for predictions of data the fit did not see: each draw's measurement scales of
/// unfitted constructs, potencies of unfitted classes and a new study's effect drawn from
/// their priors (the study's dose then varies by the draw's `study_dose_spread`).
pub(crate) fn for_unseen(
    points: &[Point],
    data: &[Prepared],
    seed: u64,
) -> Result<Vec<Point>, ResponseError> {
    let constructs = evidence::constructs()?;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    Ok(points
        .iter()
        .map(|pt| {
            let mut q = pt.clone();
            for p in data {
                let d = &p.datum;
                if let Some(c) = d.construct.as_ref().filter(|c| constructs.contains_key(*c)) {
                    if !q.scales.contains_key(c) {
                        let u: f64 = rand_distr::StandardUniform.sample(&mut rng);
                        q.scales
                            .insert(c.clone(), constructs[c].prior().quantile(u));
                    }
                }
                if d.is_treated() && !q.study.contains_key(d.study()) {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    q.study.insert(d.study().to_string(), z);
                    if let Some(src) = &d.source {
                        if let Some(prior) = pt.rp.potency_prior(src) {
                            let u: f64 = rand_distr::StandardUniform.sample(&mut rng);
                            let _ = q.rp.scale_potency(src, prior.quantile(u));
                        }
                    }
                }
            }
            q
        })
        .collect())
}

fn rows(data: &[Prepared], at: &Point, points: &[Point]) -> Vec<Row> {
    let at_v = &values_at_points(data, std::slice::from_ref(at))[0];
    let draws = values_at_points(data, points);
    data.iter()
        .enumerate()
        .map(|(i, p)| {
            let d = &p.datum;
            let model = at_v[i];
            let band = if draws.is_empty() {
                None
            } else {
                percentiles(draws.iter().map(|v| v[i]).collect())
            };
            let residual = evidence::residual(d, model);
            let in_band = band.map(|[lo, _, hi]| match d.value_is_bound.as_deref() {
                Some("upper") => lo <= d.value,
                Some("lower") => hi >= d.value,
                _ => lo <= d.value && d.value <= hi,
            });
            Row {
                id: d.id.clone(),
                set: d.set.clone(),
                quantity: d.quantity.clone(),
                value: d.value,
                sigma: d.sigma(),
                bound: d.value_is_bound.clone(),
                model,
                p05: band.map(|b| b[0]),
                p95: band.map(|b| b[2]),
                residual,
                reproduced: residual.abs() <= 2.0 || in_band.unwrap_or(false),
                paper: d.paper.clone(),
                location: d.location.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// The fit's estimate, its Laplace covariance in `x`, and Laplace draws of points.
pub struct Estimate {
    pub space: Space,
    pub x: Vec<f64>,
    pub cov: DMatrix<f64>,
    pub objective: f64,
    pub evaluations: usize,
    pub termination: String,
    pub labels: Vec<String>,
    pub residuals: Vec<f64>,
    pub jacobian: DMatrix<f64>,
}

impl Estimate {
    /// `n` points drawn from the Laplace approximation (within the priors' ranges).
    pub fn laplace_points(&self, n: usize, seed: u64) -> Vec<Point> {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let d = self.x.len();
        let l = nalgebra::Cholesky::new(self.cov.clone())
            .map(|c| c.l())
            .unwrap_or_else(|| {
                DMatrix::from_diagonal(&self.cov.diagonal().map(|v| v.max(0.0).sqrt()))
            });
        (0..n)
            .map(|_| {
                let z = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut rng)));
                let dx = &l * z;
                let x: Vec<f64> = self
                    .space
                    .coords
                    .iter()
                    .enumerate()
                    .map(|(k, c)| c.clip(self.x[k] + dx[k]))
                    .collect();
                self.space.point(&x)
            })
            .collect()
    }

    /// The fitted coordinates against their priors.
    pub fn rows(&self) -> Vec<FitRow> {
        let (r, j) = (&self.residuals, &self.jacobian);
        let n_data = self.labels.len() - self.x.len();
        self.space
            .coords
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let value = c.value(self.x[k]);
                let h = 1e-6 * (1.0 + self.x[k].abs());
                let slope = (c.value(self.x[k] + h) - c.value(self.x[k] - h)) / (2.0 * h);
                let sd = slope.abs() * self.cov[(k, k)].max(0.0).sqrt();
                let (median, range) = match &c.prior {
                    Some(p) => (p.median, [p.lo, p.hi]),
                    None => (0.0, [f64::NEG_INFINITY, f64::INFINITY]),
                };
                let mut pulls: Vec<(f64, usize)> = (0..n_data)
                    .map(|i| ((j[(i, k)] * r[i]).abs(), i))
                    .filter(|(p, _)| *p > 0.0)
                    .collect();
                pulls.sort_by(|a, b| b.0.total_cmp(&a.0));
                FitRow {
                    name: c.name.clone(),
                    response: matches!(c.target, Target::Response(_)),
                    value,
                    sd,
                    prior_median: median,
                    prior_range: range,
                    inside_prior: range[0] <= value && value <= range[1],
                    pulled_by: pulls
                        .iter()
                        .take(2)
                        .map(|&(_, i)| self.labels[i].clone())
                        .collect(),
                }
            })
            .collect()
    }
}

/// The maximum a posteriori point of the calibration set `cal` from the priors of `base`.
pub fn estimate(cal: &[Prepared], base: &ResponseParams) -> Result<Estimate, ResponseError> {
    let problem = Problem::new(cal, base, None)?;
    let (problem, lm) = LevenbergMarquardt::new()
        .with_patience(100)
        .minimize(problem);
    let x = problem.x.clone();
    Ok(estimate_from(
        &problem,
        &x,
        lm.number_of_evaluations,
        format!("{:?}", lm.termination),
    ))
}

/// The estimate at `x`: residuals, Jacobian and the Laplace covariance there.
fn estimate_from(
    problem: &Problem,
    x: &DVector<f64>,
    evaluations: usize,
    termination: String,
) -> Estimate {
    let r = problem.residuals_at(x);
    let j = jacobian(problem, x);
    let d = x.len();
    let cov = (j.transpose() * &j)
        .try_inverse()
        .unwrap_or_else(|| DMatrix::from_diagonal_element(d, d, 1.0));
    Estimate {
        labels: problem.labels(),
        space: problem.space.clone(),
        x: x.as_slice().to_vec(),
        cov,
        objective: r.norm_squared(),
        evaluations,
        termination,
        residuals: r.as_slice().to_vec(),
        jacobian: j,
    }
}

/// Seed of the Laplace draws of a report.
const LAPLACE_SEED: u64 = 2026;

/// Evaluate the shipped fit against both sets without fitting (`exoskin calibrate --check`).
pub fn check(
    tp: &TransportParams,
    rp: &ResponseParams,
    draws: usize,
) -> Result<Report, ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    let mut est = estimate_at(&cal, &base, rp)?;
    est.termination = "not fitted (check of the shipped fit)".into();
    report(&cal, &val, &est, &est.laplace_points(draws, LAPLACE_SEED))
}

/// [`check`] with its intervals over `n` draws spread evenly over the shipped MCMC sample
/// (`data/response_posterior.csv`) instead of Laplace draws: the validation and the paired
/// differences recomputed from the shipped fit and posterior, without sampling again.
pub fn check_posterior(
    tp: &TransportParams,
    rp: &ResponseParams,
    n: usize,
) -> Result<Report, ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    let mut est = estimate_at(&cal, &base, rp)?;
    est.termination = "not fitted (the shipped fit and posterior sample)".into();
    let draws = crate::posterior::Draws::shipped().map_err(|e| ResponseError::Data {
        file: "data/response_posterior.csv",
        message: e.to_string(),
    })?;
    let points = draws.points(&est.space, n)?;
    report(&cal, &val, &est, &points)
}

/// The estimate at the shipped fit's values (coordinates other than response parameters
/// at their prior medians).
fn estimate_at(
    cal: &[Prepared],
    base: &ResponseParams,
    rp: &ResponseParams,
) -> Result<Estimate, ResponseError> {
    let mut problem = Problem::new(cal, base, None)?;
    let x: Vec<f64> = problem
        .space
        .coords
        .iter()
        .map(|c| match &c.target {
            Target::Response(id) => c.x_of(rp.get(*id)),
            _ => c.x_median(),
        })
        .collect();
    let xv = DVector::from_vec(x);
    problem.x = xv.clone();
    let d = xv.len();
    Ok(estimate_from(&problem, &xv, 1 + d, String::new()))
}

/// The report of an estimate, its intervals over the posterior points `post` (Laplace
/// draws, or the MCMC sample).
fn report(
    cal: &[Prepared],
    val: &[Prepared],
    est: &Estimate,
    post: &[Point],
) -> Result<Report, ResponseError> {
    let at = est.space.point(&est.x);
    let unseen = for_unseen(post, val, 2027)?;
    let not_evaluated = evidence::data()?
        .into_iter()
        .filter_map(|d| d.not_evaluated().map(|w| (d.id.clone(), w.to_string())))
        .collect();
    let at_unseen = for_unseen(std::slice::from_ref(&at), val, 2028)?;
    Ok(Report {
        params: est.rows(),
        calibration: rows(cal, &at, &[]),
        validation: rows(val, &at_unseen[0], &unseen),
        not_evaluated,
        differences: differences(cal, &at, post, 2029)?,
        objective: est.objective,
        evaluations: est.evaluations,
        termination: est.termination.clone(),
        mcmc: None,
    })
}

/// The shipped response parameters with the estimate's response coordinates as the fit.
pub fn fitted_params(base: &ResponseParams, est: &Estimate) -> ResponseParams {
    let fit: BTreeMap<String, Fitted> = est
        .rows()
        .into_iter()
        .filter(|r| r.response)
        .map(|r| {
            (
                r.name,
                Fitted {
                    value: r.value,
                    sd: r.sd,
                },
            )
        })
        .collect();
    with_fit(base, &fit)
}

/// Fit the parameters to the calibration set (MAP with Laplace uncertainty), then report
/// both sets. `draws` Laplace draws give the intervals.
pub fn fit(tp: &TransportParams, draws: usize) -> Result<(ResponseParams, Report), ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    let est = estimate(&cal, &base)?;
    let rep = report(&cal, &val, &est, &est.laplace_points(draws, LAPLACE_SEED))?;
    Ok((fitted_params(&base, &est), rep))
}

/// [`fit`], then the posterior by MCMC ([`crate::posterior`]) with the fit's checks
/// (`Report::mcmc`), and its draws; the report's intervals are over the MCMC sample.
pub fn fit_and_sample(
    tp: &TransportParams,
    settings: &crate::posterior::Settings,
) -> Result<(ResponseParams, Report, crate::posterior::Draws), ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    let est = estimate(&cal, &base)?;
    let (summary, sample, points) = crate::posterior::sample_posterior(&cal, &val, &est, settings)?;
    let mut rep = report(&cal, &val, &est, &points)?;
    rep.mcmc = Some(summary);
    Ok((fitted_params(&base, &est), rep, sample))
}

/// The fit file's text (`data/response_fit.toml`).
pub fn fit_toml(rep: &Report) -> String {
    let mut s = String::from(
        "# Written by `exoskin calibrate`; do not edit by hand.\n\
         # value: maximum a posteriori estimate; sd: Laplace-approximation posterior SD.\n",
    );
    s.push_str(&format!(
        "# objective (sum of squared normalized residuals and prior terms): {:.6}\n# optimizer: {} residual evaluations, {}\n[params]\n",
        rep.objective, rep.evaluations, rep.termination
    ));
    for p in rep.params.iter().filter(|p| p.response) {
        s.push_str(&format!(
            "{} = {{ value = {:.6e}, sd = {:.3e} }}\n",
            p.name, p.value, p.sd
        ));
    }
    s
}

/// An interval in a report table ("lo to hi" with `digits` decimals, "-" without one).
pub(crate) fn interval_cell(lo: Option<f64>, hi: Option<f64>, digits: usize) -> String {
    match (lo, hi) {
        (Some(a), Some(b)) => format!("{a:.digits$} to {b:.digits$}"),
        _ => "-".into(),
    }
}

/// A datum's value in a report table, with its kind of bound.
pub(crate) fn data_cell(value: f64, bound: Option<&str>) -> String {
    match bound {
        Some("upper") => format!("<= {value:.3}"),
        Some("lower") => format!(">= {value:.3}"),
        _ => format!("{value:.3}"),
    }
}

/// The report as Markdown.
pub fn markdown(rep: &Report) -> String {
    let mut s = String::from("# Calibration and validation report\n\n");
    s.push_str(&format!(
        "Fit: maximum a posteriori, Levenberg-Marquardt (`levenberg-marquardt` crate): {} residual evaluations, termination `{}`; objective {:.3}.\n\n",
        rep.evaluations, rep.termination, rep.objective
    ));
    s.push_str("## Fitted coordinates\n\nResponse parameters (`fit = true` in data/response.toml), measurement scales (`scale.*`, data/measurement.toml), class potencies (`class.*`), the between-study spread of the delivered dose (`spread`) and each study's standardized effect (`study.*`, standard normal prior). Value: the maximum a posteriori estimate; sd: the Laplace approximation.\n\n| coordinate | value | sd | prior median | prior 95 % range | inside prior |\n|---|---|---|---|---|---|\n");
    for p in &rep.params {
        s.push_str(&format!(
            "| `{}` | {:.4} | {:.3} | {:.4} | {:.3}-{:.3} | {} |\n",
            p.name,
            p.value,
            p.sd,
            p.prior_median,
            p.prior_range[0],
            p.prior_range[1],
            if p.inside_prior { "yes" } else { "**no**" }
        ));
    }
    for p in rep.params.iter().filter(|p| !p.inside_prior) {
        s.push_str(&format!(
            "\n`{}` lies outside its prior range: the calibration data pulling hardest on it are {}. The prior was narrower than these data ask for; either the prior or the model's structure for them needs revisiting.\n",
            p.name,
            p.pulled_by.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(" and ")
        ));
    }
    for (title, rows, band) in [
        (
            "Calibration set (the fit sees these)",
            &rep.calibration,
            false,
        ),
        (
            "Validation set (the fit never sees these)",
            &rep.validation,
            true,
        ),
    ] {
        s.push_str(&format!("\n## {title}\n\n| datum | quantity | data | sigma | model |{} reproduced | source |\n|---|---|---|---|---|{}---|---|\n",
            if band { " model 90 % |" } else { "" }, if band { "---|" } else { "" }));
        for r in rows {
            let data = data_cell(r.value, r.bound.as_deref());
            let bandcol = if band {
                format!(" {} |", interval_cell(r.p05, r.p95, 3))
            } else {
                String::new()
            };
            s.push_str(&format!(
                "| `{}` | {} | {} | {:.3} | {:.3} |{} {} | {} ({}) |\n",
                r.id,
                r.quantity,
                data,
                r.sigma,
                r.model,
                bandcol,
                if r.reproduced { "yes" } else { "**missed**" },
                r.paper.split('.').next().unwrap_or(""),
                r.location
            ));
        }
        let missed: Vec<&str> = rows
            .iter()
            .filter(|r| !r.reproduced)
            .map(|r| r.id.as_str())
            .collect();
        s.push_str(&format!(
            "\nReproduced {} of {}. Missed: {}.\n",
            rows.len() - missed.len(),
            rows.len(),
            if missed.is_empty() {
                "none".to_string()
            } else {
                missed.join(", ")
            }
        ));
    }
    s.push_str("\n## What the vesicles add: vesicle arm minus control arm\n\nWhat controlled trials measure, and what the fit uses for them: the difference between the vesicle (or conditioned-media) arm and its control in the same paper, visit and construct, with its SE. Model: the same difference over the posterior (90 % interval); reproduced when the observed difference lies in the posterior-predictive 90 % interval (model plus the SE); P(better): the posterior probability that the vesicle arm is better.\n\n| difference | quantity (construct) | observed (SE) | model | model 90 % | P(better) | reproduced | SE from |\n|---|---|---|---|---|---|---|---|\n");
    for d in &rep.differences {
        s.push_str(&format!(
            "| `{}` | {} ({}) | {:.1} ({:.1}) | {:.2} | {} | {} | {} | {} |\n",
            d.id,
            d.quantity,
            d.construct.as_deref().unwrap_or("direct"),
            d.observed,
            d.se,
            d.model,
            interval_cell(d.p05, d.p95, 2),
            d.probability_better
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "-".into()),
            if d.reproduced { "yes" } else { "**missed**" },
            d.se_method
        ));
    }
    if let Some(m) = &rep.mcmc {
        s.push_str(&crate::posterior::markdown(m));
    }
    s.push_str("\n## Not evaluated\n\n");
    for (id, why) in &rep.not_evaluated {
        s.push_str(&format!("- `{id}`: {why}\n"));
    }
    s
}
