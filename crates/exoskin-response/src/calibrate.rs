//! Calibration against the peer-reviewed calibration set of `data/evidence.toml`, and
//! validation against the set the fit never sees.
//!
//! The fitted parameters (`fit = true` in data/response.toml) are found by maximum a
//! posteriori estimation: residuals `(model - value) / sigma` for every evaluable
//! calibration datum plus log-normal priors `(ln theta - ln median) / s` (95 % of the prior
//! inside the data file's range), minimized in log parameters by the `levenberg-marquardt`
//! crate (MINPACK's algorithm) with a forward-difference Jacobian. Uncertainty is the Laplace
//! approximation: the inverse Gauss-Newton Hessian at the optimum, mapped to each parameter
//! by the delta method (`sd = theta * sqrt(cov_ii)`); posterior draws from it give the
//! intervals of the validation report and of the claims. Transport is held fixed during the
//! fit (only the tissue delivery factor scales the uptake it books).

use crate::evidence::{self, Prepared};
use crate::params::{Fitted, ResponseError, ResponseParams};
use exoskin_model::TransportParams;
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Owned};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use serde::Serialize;
use std::collections::BTreeMap;

/// The log-normal prior of a fitted parameter: median and log-SD from the 95 % range.
pub fn prior(rp: &ResponseParams, name: &str) -> (f64, f64) {
    let m = &rp.meta[name];
    let [lo, hi] = m.range.unwrap_or([m.value / 3.0, m.value * 3.0]);
    (m.value, (hi / lo).ln() / (2.0 * 1.96))
}

pub(crate) struct Problem<'a> {
    data: &'a [Prepared],
    /// Data sharing one run ([`evidence::same_runs`]): outcomes once per group.
    groups: Vec<Vec<usize>>,
    base: ResponseParams,
    pub(crate) names: Vec<String>,
    pub(crate) priors: Vec<(f64, f64)>,
    x: DVector<f64>,
}

impl<'a> Problem<'a> {
    /// The MAP objective's residuals over `data` for the fitted parameters of `base`, with
    /// their log-normal priors; parameters start at `x` (log values).
    pub(crate) fn new(
        data: &'a [Prepared],
        base: &ResponseParams,
        priors_of: &ResponseParams,
        x: Option<DVector<f64>>,
    ) -> Problem<'a> {
        let names = base.fit_names();
        let priors: Vec<(f64, f64)> = names.iter().map(|n| prior(priors_of, n)).collect();
        let x = x.unwrap_or_else(|| {
            DVector::from_iterator(names.len(), priors.iter().map(|(m, _)| m.ln()))
        });
        Problem {
            data,
            groups: evidence::same_runs(data),
            base: base.clone(),
            names,
            priors,
            x,
        }
    }

    pub(crate) fn params_at(&self, x: &DVector<f64>) -> ResponseParams {
        let mut rp = self.base.clone();
        for (n, v) in self.names.iter().zip(x.iter()) {
            // Names come from the data file and values are exp(finite): cannot fail.
            let _ = rp.set(n, v.exp());
        }
        rp
    }

    pub(crate) fn residuals_at(&self, x: &DVector<f64>) -> DVector<f64> {
        use rayon::prelude::*;
        let rp = self.params_at(x);
        let values: Vec<Vec<f64>> = self
            .groups
            .par_iter()
            .map(|g| evidence::group_values(self.data, g, &rp))
            .collect();
        let mut r = vec![0.0; self.data.len()];
        for (g, v) in self.groups.iter().zip(values) {
            for (&i, m) in g.iter().zip(v) {
                r[i] = evidence::residual(&self.data[i].datum, m);
            }
        }
        for (xi, (median, s)) in x.iter().zip(&self.priors) {
            r.push((xi - median.ln()) / s);
        }
        DVector::from_vec(r)
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

fn jacobian(p: &Problem, x: &DVector<f64>) -> DMatrix<f64> {
    let r0 = p.residuals_at(x);
    let mut j = DMatrix::zeros(r0.len(), x.len());
    for k in 0..x.len() {
        let mut xk = x.clone();
        let h = 1e-3;
        xk[k] += h;
        let rk = p.residuals_at(&xk);
        j.set_column(k, &((rk - &r0) / h));
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

/// A vesicle-arm datum minus the control-arm datum of the same paper, quantity and day.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub treated: String,
    pub control: String,
    pub set: String,
    pub quantity: String,
    pub observed: f64,
    pub model: f64,
    pub p05: Option<f64>,
    pub p95: Option<f64>,
    /// The observed difference lies within the model's 90 % interval.
    pub reproduced: bool,
}

fn differences(
    data: &[&Prepared],
    rp: &ResponseParams,
    draws: &[ResponseParams],
) -> Vec<Difference> {
    let is_treated = |p: &Prepared| {
        matches!(
            p.datum.arm.as_deref(),
            Some("ev") | Some("conditioned_media")
        )
    };
    let mut out = Vec::new();
    for t in data.iter().filter(|p| is_treated(p)) {
        let Some(c) = data.iter().find(|c| {
            !is_treated(c)
                && c.datum.paper == t.datum.paper
                && c.datum.quantity == t.datum.quantity
                && c.datum.day == t.datum.day
        }) else {
            continue;
        };
        let diff = |q: &ResponseParams| evidence::model_value(t, q) - evidence::model_value(c, q);
        let band = percentiles(draws.iter().map(diff).collect());
        let observed = t.datum.value - c.datum.value;
        out.push(Difference {
            treated: t.datum.id.clone(),
            control: c.datum.id.clone(),
            set: t.datum.set.clone(),
            quantity: t.datum.quantity.clone(),
            observed,
            model: diff(rp),
            p05: band.map(|b| b[0]),
            p95: band.map(|b| b[2]),
            reproduced: band
                .map(|[lo, _, hi]| lo <= observed && observed <= hi)
                .unwrap_or(false),
        });
    }
    out
}

/// A fitted parameter against its prior.
#[derive(Debug, Clone, Serialize)]
pub struct FitRow {
    pub name: String,
    pub value: f64,
    pub sd: f64,
    pub prior_median: f64,
    pub prior_range: [f64; 2],
    pub inside_prior: bool,
    /// The calibration data that pull hardest on this parameter at the estimate (largest
    /// |dr_i/dln(theta) r_i|, their share of the objective's gradient): why it sits where it is.
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
    /// The MCMC posterior sample beside the Laplace approximation (`--mcmc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcmc: Option<crate::posterior::Summary>,
}

/// The fitted parameters as `data/response_fit.toml` stores them.
impl Report {
    pub fn fitted(&self) -> BTreeMap<String, Fitted> {
        self.params
            .iter()
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

/// Posterior draws of the fitted parameters (log-normal around the fit with its Laplace SD),
/// deterministic for a seed.
pub fn posterior_draws(rp: &ResponseParams, n: usize, seed: u64) -> Vec<ResponseParams> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut d = rp.clone();
            for (k, f) in &rp.fitted {
                let s = if f.value > 0.0 { f.sd / f.value } else { 0.0 };
                let z: f64 = StandardNormal.sample(&mut rng);
                let _ = d.set(k, f.value * (s * z).exp());
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

fn rows(data: &[Prepared], rp: &ResponseParams, draws: &[ResponseParams]) -> Vec<Row> {
    data.iter()
        .map(|p| {
            let d = &p.datum;
            let model = evidence::model_value(p, rp);
            let band = if draws.is_empty() {
                None
            } else {
                percentiles(draws.iter().map(|q| evidence::model_value(p, q)).collect())
            };
            let residual = evidence::residual(d, model);
            let in_band = band.map(|[lo, _, hi]| lo <= d.value && d.value <= hi);
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

/// Evaluate `rp` against both sets without fitting (`exoskin calibrate --check`).
pub fn check(
    tp: &TransportParams,
    rp: &ResponseParams,
    draws: usize,
) -> Result<Report, ResponseError> {
    let cal = evidence::prepare("calibration", tp, rp)?;
    let val = evidence::prepare("validation", tp, rp)?;
    report(
        &cal,
        &val,
        rp,
        draws,
        f64::NAN,
        0,
        "not fitted (check)".into(),
    )
}

fn report(
    cal: &[Prepared],
    val: &[Prepared],
    rp: &ResponseParams,
    draws: usize,
    objective: f64,
    evaluations: usize,
    termination: String,
) -> Result<Report, ResponseError> {
    let post = posterior_draws(rp, draws, 2026);
    let priors = ResponseParams::priors()?;
    let names = rp.fit_names();
    let x0 = DVector::from_iterator(
        names.len(),
        names.iter().map(|n| rp.value(n).unwrap_or(1.0).ln()),
    );
    let problem = Problem::new(cal, rp, &priors, Some(x0));
    let x = problem.x.clone();
    let (r, j) = (problem.residuals_at(&x), jacobian(&problem, &x));
    let pulled_by = |k: usize| -> Vec<String> {
        let mut pulls: Vec<(f64, usize)> = (0..cal.len())
            .map(|i| ((j[(i, k)] * r[i]).abs(), i))
            .filter(|(p, _)| *p > 0.0)
            .collect();
        pulls.sort_by(|a, b| b.0.total_cmp(&a.0));
        pulls
            .iter()
            .take(2)
            .map(|&(_, i)| cal[i].datum.id.clone())
            .collect()
    };
    let params = names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let (median, _) = prior(&priors, n);
            let range = priors.meta[n].range.unwrap_or([median, median]);
            let value = rp.value(n).unwrap_or(f64::NAN);
            FitRow {
                name: n.clone(),
                value,
                sd: rp.fitted.get(n).map(|f| f.sd).unwrap_or(f64::NAN),
                prior_median: median,
                prior_range: range,
                inside_prior: range[0] <= value && value <= range[1],
                pulled_by: pulled_by(k),
            }
        })
        .collect();
    let not_evaluated = evidence::data()?
        .into_iter()
        .filter_map(|d| d.not_evaluated().map(|w| (d.id.clone(), w.to_string())))
        .collect();
    let both: Vec<&Prepared> = cal.iter().chain(val.iter()).collect();
    Ok(Report {
        params,
        calibration: rows(cal, rp, &[]),
        validation: rows(val, rp, &post),
        not_evaluated,
        differences: differences(&both, rp, &post),
        objective,
        evaluations,
        termination,
        mcmc: None,
    })
}

/// Fit the parameters to the calibration set (MAP with Laplace uncertainty), then report
/// both sets. `draws` posterior draws give the validation intervals.
pub fn fit(tp: &TransportParams, draws: usize) -> Result<(ResponseParams, Report), ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    fit_prepared(&cal, &val, &base, draws)
}

/// [`fit`], then a posterior sample by MCMC ([`crate::posterior`]) reported beside the
/// Laplace approximation (`Report::mcmc`), with its draws.
pub fn fit_and_sample(
    tp: &TransportParams,
    draws: usize,
    settings: &crate::posterior::Settings,
) -> Result<(ResponseParams, Report, crate::posterior::Draws), ResponseError> {
    let base = ResponseParams::priors()?;
    let cal = evidence::prepare("calibration", tp, &base)?;
    let val = evidence::prepare("validation", tp, &base)?;
    let (rp, mut rep) = fit_prepared(&cal, &val, &base, draws)?;
    let (summary, sample) = crate::posterior::sample_posterior(&cal, &val, &rp, settings)?;
    rep.mcmc = Some(summary);
    Ok((rp, rep, sample))
}

fn fit_prepared(
    cal: &[Prepared],
    val: &[Prepared],
    base: &ResponseParams,
    draws: usize,
) -> Result<(ResponseParams, Report), ResponseError> {
    let names = base.fit_names();
    let problem = Problem::new(cal, base, base, None);
    let (problem, lm) = LevenbergMarquardt::new()
        .with_patience(60)
        .minimize(problem);
    let x = problem.x.clone();
    let r = problem.residuals_at(&x);
    let j = jacobian(&problem, &x);
    let cov = (j.transpose() * &j)
        .try_inverse()
        .unwrap_or_else(|| DMatrix::from_element(x.len(), x.len(), f64::NAN));
    let mut fitted = BTreeMap::new();
    for (k, n) in names.iter().enumerate() {
        let value = x[k].exp();
        fitted.insert(
            n.clone(),
            Fitted {
                value,
                sd: value * cov[(k, k)].max(0.0).sqrt(),
            },
        );
    }
    let rp = with_fit(base, &fitted);
    let rep = report(
        cal,
        val,
        &rp,
        draws,
        r.norm_squared(),
        lm.number_of_evaluations,
        format!("{:?}", lm.termination),
    )?;
    Ok((rp, rep))
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
    for p in &rep.params {
        s.push_str(&format!(
            "{} = {{ value = {:.6e}, sd = {:.3e} }}\n",
            p.name, p.value, p.sd
        ));
    }
    s
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
    s.push_str("## Fitted parameters\n\n| parameter | value | sd | prior median | prior 95 % range | inside prior |\n|---|---|---|---|---|---|\n");
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
                match (r.p05, r.p95) {
                    (Some(a), Some(b)) => format!(" {a:.3} to {b:.3} |"),
                    _ => " - |".into(),
                }
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
    s.push_str("\n## Vesicle arm minus control arm\n\nWhat controlled trials test: the difference between the vesicle (or conditioned-media) arm and its control in the same paper. Model: the same difference, with its 90 % interval over the posterior.\n\n| treated | control | set | quantity | observed | model | model 90 % | reproduced |\n|---|---|---|---|---|---|---|---|\n");
    for d in &rep.differences {
        s.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {:.2} | {:.2} | {} | {} |\n",
            d.treated,
            d.control,
            d.set,
            d.quantity,
            d.observed,
            d.model,
            match (d.p05, d.p95) {
                (Some(a), Some(b)) => format!("{a:.2} to {b:.2}"),
                _ => "-".into(),
            },
            if d.reproduced { "yes" } else { "**missed**" }
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
