//! The posterior of the fit's coordinates by Markov-chain Monte Carlo, and the checks that
//! the fit is honest.
//!
//! **Target.** `exp(-S(x) / 2)` in the sampler's coordinates `x` ([`crate::calibrate::Space`]):
//! `S` sums the squared normalized residuals of the calibration set (single data and the
//! controlled trials' paired differences) and the prior terms, truncated to each prior's
//! range; the MAP estimate is its mode. Transport runs once per datum
//! ([`evidence::prepare`]); an evaluation re-responds those fixed runs, once per group of
//! data that share a scenario and study ([`evidence::same_runs`]).
//!
//! **Sampler.** `exoskin_uq::sample_elliptical`: elliptical slice sampling against a
//! Gaussian reference that starts as the Laplace approximation at the MAP and is
//! re-estimated from the pooled chains during warm-up (SDs widened by
//! [`REFERENCE_INFLATION`]); chains in parallel, deterministic for a seed. (The random-walk
//! Metropolis it replaced needed 20,000 warm-up and 20,000 kept iterations a chain to come
//! near R-hat 1.01 on this 26-dimensional posterior.) Chains start dispersed around the MAP (`x_map + 2 L z`
//! with `L` the Laplace factor), so split-R-hat can see chains that have not mixed.
//!
//! **Checks** (each in the calibration report):
//! * *prior predictive*: each controlled difference's 90 % interval under the prior (with
//!   the difference's SE) must hold both 0 and the observed difference: the priors neither
//!   rule out "no effect" nor the data;
//! * *leave-one-study-out*: each study's paired differences predicted from the posterior
//!   without that study, by truncated importance sampling of the posterior draws (weights
//!   `1 / p(study's data | x)`, truncated at `mean x sqrt(S)`: Ionides 2008, J Comput Graph
//!   Stat 17:295); the effective sample size of the weights is reported;
//! * *simulation-based calibration* of the sampler (Talts et al. 2018, arXiv:1804.06788) on
//!   the fit's linearization at the MAP: parameters drawn from a Gaussian prior, synthetic
//!   data from the linear model plus noise, the sampler run on each, and the rank of the true
//!   value among thinned draws; the rank histograms are flat for a correct sampler;
//! * the posterior of the between-study spread, and per controlled endpoint the posterior
//!   probability that the vesicle arm is better.

use crate::calibrate::{
    data_cell, differences, for_unseen, higher_is_better, interval_cell, percentiles,
    values_at_points, Estimate, Point, Problem,
};
use crate::evidence::{self, Prepared};
use exoskin_response::params::{ResponseError, ResponseParams};
use exoskin_uq::{sample_elliptical, EllipticalConfig, McmcResult};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use serde::Serialize;

/// Sampler settings (`exoskin calibrate --mcmc --draws N --chains C --seed S`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Draws kept per chain.
    pub draws: usize,
    /// Independent chains.
    pub chains: usize,
    /// Warm-up (adaptation) iterations per chain, discarded.
    pub warmup: usize,
    pub seed: u64,
}

/// Split-R-hat above this for any parameter: not converged.
pub const R_HAT_LIMIT: f64 = 1.01;
/// Bulk ESS below this for any parameter: too few effective draws.
pub const ESS_TARGET: f64 = 400.0;
/// Posterior draws the predictive checks use (evenly thinned from all chains).
pub const PREDICTIVE_DRAWS: usize = 400;
/// Rows of the draws file at most (evenly thinned).
pub const FILE_DRAWS: usize = 2000;
/// Prior draws of the prior predictive check.
pub const PRIOR_DRAWS: usize = 300;
/// Replicates of the simulation-based calibration, and the draws each ranks among.
pub const SBC_REPLICATES: usize = 100;
pub const SBC_RANKS: usize = 19;

/// One coordinate's posterior beside its MAP and Laplace SD.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSummary {
    pub name: String,
    pub map: f64,
    pub laplace_sd: f64,
    pub mean: f64,
    pub median: f64,
    pub p05: f64,
    pub p95: f64,
    pub r_hat: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
}

/// A datum against its posterior-predictive interval.
#[derive(Debug, Clone, Serialize)]
pub struct Predictive {
    pub id: String,
    pub set: String,
    pub quantity: String,
    pub value: f64,
    pub sigma: f64,
    pub bound: Option<String>,
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// The 90 % predictive interval holds the datum (a bound: reaches its allowed side).
    pub inside: bool,
}

/// Fraction of a set's data inside their 90 % predictive intervals (0.9 expected).
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub set: String,
    pub inside: usize,
    pub total: usize,
    pub fraction: f64,
}

/// A controlled difference under the prior, or predicted without its own study.
#[derive(Debug, Clone, Serialize)]
pub struct DifferenceCheck {
    pub id: String,
    pub study: String,
    pub observed: f64,
    pub se: f64,
    /// 90 % predictive interval (model plus the SE).
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// Prior check: the interval holds both 0 and the observed difference. Leave-one-out:
    /// it holds the observed difference.
    pub pass: bool,
    /// Leave-one-out: effective sample size of the importance weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights_ess: Option<f64>,
    /// Leave-one-out: probability that the vesicle arm is better.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability_better: Option<f64>,
}

/// Simulation-based calibration of the sampler.
#[derive(Debug, Clone, Serialize)]
pub struct Sbc {
    pub replicates: usize,
    /// Ranks run from 0 to `ranks` (the true value's rank among `ranks` thinned draws).
    pub ranks: usize,
    /// Per coordinate: name, histogram of ranks in `bins` bins, and the chi-square
    /// statistic against flat with its p value.
    pub histograms: Vec<SbcHistogram>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SbcHistogram {
    pub name: String,
    pub counts: Vec<usize>,
    pub chi_square: f64,
    pub p_value: f64,
}

/// The MCMC part of the calibration report, with the checks.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub sampler: String,
    pub chains: usize,
    pub draws_per_chain: usize,
    pub warmup: usize,
    pub seed: u64,
    pub acceptance: f64,
    /// Every coordinate's split-R-hat is at most [`R_HAT_LIMIT`] and bulk ESS at least
    /// [`ESS_TARGET`].
    pub converged: bool,
    pub max_r_hat: f64,
    pub min_ess_bulk: f64,
    pub min_ess_tail: f64,
    pub params: Vec<ParamSummary>,
    pub predictive_draws: usize,
    pub predictive: Vec<Predictive>,
    pub coverage: Vec<Coverage>,
    pub prior_check: Vec<DifferenceCheck>,
    pub leave_one_study_out: Vec<DifferenceCheck>,
    pub sbc: Sbc,
    /// Log-posterior evaluations and the wall time of the sampling.
    pub evaluations: usize,
    pub sampling_seconds: f64,
    /// Wall time of the whole calibration from the prepared transport runs.
    pub total_seconds: f64,
}

/// The posterior draws in natural units (`data/response_posterior.csv`).
#[derive(Debug, Clone)]
pub struct Draws {
    pub names: Vec<String>,
    /// (chain, draw within chain, log-posterior up to a constant, coordinate values).
    pub rows: Vec<(usize, usize, f64, Vec<f64>)>,
    pub header: String,
}

/// The log-posterior of the calibration over the fit's coordinates (up to a constant).
pub struct LogPosterior<'a> {
    problem: Problem<'a>,
}

impl<'a> LogPosterior<'a> {
    pub fn new(cal: &'a [Prepared]) -> Result<LogPosterior<'a>, ResponseError> {
        let priors = ResponseParams::priors()?;
        Ok(LogPosterior {
            problem: Problem::new(cal, &priors, None)?,
        })
    }
    /// Names of the coordinates, in the order of `x`.
    pub fn names(&self) -> Vec<String> {
        self.problem.space.names()
    }
    /// The prior medians in `x`: the starting point of the fit.
    pub fn prior_medians(&self) -> Vec<f64> {
        self.problem.space.x_median()
    }
    /// `-S(x) / 2` (minus infinity outside a prior's range).
    pub fn at(&self, x: &[f64]) -> f64 {
        match self.problem.residuals_checked(x) {
            Some(r) => -0.5 * r.iter().map(|v| v * v).sum::<f64>(),
            None => f64::NEG_INFINITY,
        }
    }
    /// The point at `x`.
    pub fn point(&self, x: &[f64]) -> Point {
        self.problem.space.point(x)
    }
}

/// Chains started at `x_map + 2 L z`, `L L^T` = `cov`.
fn dispersed_starts(x_map: &[f64], l: &DMatrix<f64>, chains: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5EED_C4A1);
    let d = x_map.len();
    (0..chains)
        .map(|_| {
            let z = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut rng)));
            let dx = l * z * 2.0;
            x_map.iter().zip(dx.iter()).map(|(m, v)| m + v).collect()
        })
        .collect()
}

fn factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    nalgebra::Cholesky::new(cov.clone())
        .map(|c| c.l())
        .unwrap_or_else(|| DMatrix::from_diagonal(&cov.diagonal().map(|v| v.max(1e-12).sqrt())))
}

/// Samples `exp(-|r(x)|^2 / 2)` (None: outside the support) from chains started dispersed
/// around `x_map`, preconditioned by `cov`.
pub fn sample_least_squares(
    residuals: impl Fn(&[f64]) -> Option<Vec<f64>> + Sync,
    x_map: &[f64],
    cov: &DMatrix<f64>,
    s: &Settings,
) -> Result<McmcResult, exoskin_uq::UqError> {
    let l = factor(cov);
    let mut init = dispersed_starts(x_map, &l, s.chains, s.seed);
    let logp = |x: &[f64]| match residuals(x) {
        Some(r) => -0.5 * r.iter().map(|v| v * v).sum::<f64>(),
        None => f64::NEG_INFINITY,
    };
    // A dispersed start outside a prior's range starts at the MAP instead.
    for x in init.iter_mut() {
        if !logp(x).is_finite() {
            x.copy_from_slice(x_map);
        }
    }
    let cfg = EllipticalConfig {
        draws: s.draws,
        warmup: s.warmup,
        seed: s.seed,
        inflation: REFERENCE_INFLATION,
    };
    let cov = &l * l.transpose();
    sample_elliptical(logp, &init, &cfg, x_map, &cov)
}

/// Factor on the sampler's re-estimated reference SDs ([`exoskin_uq::elliptical`]): wider
/// than the posterior, so that the ratio of target to reference stays bounded in the tails.
/// On the calibration at 4 x (4,000 + 4,000) iterations, min bulk ESS was 87 with 1.25, 328
/// with 1.5, 314 with 1.75 and 208 with 2 (docs/benchmarks.md).
pub const REFERENCE_INFLATION: f64 = 1.5;

/// Samples the posterior of the fit's coordinates around the estimate `est`, checks it
/// against both sets and runs the checks of the module doc. Returns the summary, the draws
/// file and the thinned posterior points.
pub fn sample_posterior(
    cal: &[Prepared],
    val: &[Prepared],
    est: &Estimate,
    s: &Settings,
) -> Result<(Summary, Draws, Vec<Point>), ResponseError> {
    let started_all = std::time::Instant::now();
    let priors = ResponseParams::priors()?;
    let problem = Problem::new(cal, &priors, None)?;
    let space = &est.space;
    let names = space.names();
    let map = space.values(&est.x);
    let rows_fit = est.rows();
    let started = std::time::Instant::now();
    let res = sample_least_squares(|x| problem.residuals_checked(x), &est.x, &est.cov, s)?;
    let sampling_seconds = started.elapsed().as_secs_f64();
    let params: Vec<ParamSummary> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let c = &space.coords[j];
            let v: Vec<f64> = res.pooled(j).iter().map(|&x| c.value(x)).collect();
            let q = percentiles(v.clone()).unwrap_or([f64::NAN; 3]);
            ParamSummary {
                name: n.clone(),
                map: map[j],
                laplace_sd: rows_fit[j].sd,
                mean: v.iter().sum::<f64>() / v.len() as f64,
                median: q[1],
                p05: q[0],
                p95: q[2],
                r_hat: res.r_hat[j],
                ess_bulk: res.ess_bulk[j],
                ess_tail: res.ess_tail[j],
            }
        })
        .collect();
    let pooled: Vec<(usize, usize, f64, Vec<f64>)> = res
        .chains
        .iter()
        .enumerate()
        .flat_map(|(c, ch)| {
            let lp = &res.log_density[c];
            ch.iter()
                .enumerate()
                .map(move |(i, x)| (c, i, lp[i], x.clone()))
        })
        .collect();
    let thinned = |k: usize| -> Vec<&(usize, usize, f64, Vec<f64>)> {
        let n = pooled.len();
        let k = k.min(n);
        (0..k).map(|i| &pooled[i * n / k]).collect()
    };
    let xs: Vec<Vec<f64>> = thinned(PREDICTIVE_DRAWS)
        .iter()
        .map(|r| r.3.clone())
        .collect();
    let points: Vec<Point> = xs.iter().map(|x| space.point(x)).collect();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(s.seed ^ 0x9E3B_1E55);
    let mut predictive = Vec::new();
    let mut coverage = Vec::new();
    let unseen = for_unseen(&points, val, s.seed ^ 0x77)?;
    for (set, data, pts) in [("calibration", cal, &points), ("validation", val, &unseen)] {
        let rows = predictive_checks(data, pts, &mut rng);
        let inside = rows.iter().filter(|r| r.inside).count();
        coverage.push(Coverage {
            set: set.into(),
            inside,
            total: rows.len(),
            fraction: if rows.is_empty() {
                f64::NAN
            } else {
                inside as f64 / rows.len() as f64
            },
        });
        predictive.extend(rows);
    }
    let prior_check = prior_check(cal, &problem, s.seed)?;
    let leave_one_study_out = leave_one_study_out(cal, &problem, &xs, s.seed)?;
    let sbc = sbc(est, s);
    let max_r_hat = res.r_hat.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min_ess_bulk = res.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min);
    let summary = Summary {
        sampler: format!("elliptical slice sampling (Murray, Adams & MacKay 2010) against a Gaussian reference: the Laplace approximation at the MAP, re-estimated from the pooled chains in four warm-up stages of doubling length, SDs x {REFERENCE_INFLATION} (exoskin_uq::sample_elliptical)"),
        chains: s.chains,
        draws_per_chain: s.draws,
        warmup: s.warmup,
        seed: s.seed,
        acceptance: res.acceptance,
        converged: max_r_hat <= R_HAT_LIMIT && min_ess_bulk >= ESS_TARGET,
        max_r_hat,
        min_ess_bulk,
        min_ess_tail: res.ess_tail.iter().cloned().fold(f64::INFINITY, f64::min),
        params,
        predictive_draws: points.len(),
        predictive,
        coverage,
        prior_check,
        leave_one_study_out,
        sbc,
        evaluations: res.evaluations,
        sampling_seconds,
        total_seconds: started_all.elapsed().as_secs_f64(),
    };
    let file_rows: Vec<(usize, usize, f64, Vec<f64>)> = thinned(FILE_DRAWS)
        .into_iter()
        .map(|(c, i, lp, x)| (*c, *i, *lp, space.values(x)))
        .collect();
    let header = format!(
        "Posterior draws of the calibration's coordinates (response parameters with fit = true, \
         measurement scales scale.*, class potencies class.* and each study's standardized \
         effect study.*), written by `exoskin calibrate --mcmc`.\n\
         Target: the calibration set's normalized residuals (single data and the controlled \
         trials' paired differences) and the priors; sampler: elliptical slice sampling against \
         a Gaussian reference (the Laplace approximation, re-estimated in warm-up), {} chains \
         x {} kept draws after {} warm-up iterations, seed {}, chains started around the \
         MAP.\n\
         Rows: {} draws evenly thinned from all chains; values in natural units; \
         log_posterior is -S/2 up to a constant.\n\
         Convergence: max split-R-hat {:.3}, min bulk ESS {:.0}, min tail ESS {:.0} ({}).",
        s.chains,
        s.draws,
        s.warmup,
        s.seed,
        file_rows.len(),
        max_r_hat,
        summary.min_ess_bulk,
        summary.min_ess_tail,
        if summary.converged {
            "converged"
        } else {
            "NOT converged: run more draws"
        },
    );
    Ok((
        summary,
        Draws {
            names,
            rows: file_rows,
            header,
        },
        points,
    ))
}

fn predictive_checks(
    data: &[Prepared],
    points: &[Point],
    rng: &mut rand_xoshiro::Xoshiro256PlusPlus,
) -> Vec<Predictive> {
    let values = values_at_points(data, points);
    data.iter()
        .enumerate()
        .map(|(i, p)| {
            let d = &p.datum;
            let sigma = d.sigma();
            let sample: Vec<f64> = values
                .iter()
                .map(|v| {
                    let z: f64 = StandardNormal.sample(&mut *rng);
                    v[i] + sigma * z
                })
                .collect();
            let band = percentiles(sample);
            let inside = band.is_some_and(|[lo, _, hi]| match d.value_is_bound.as_deref() {
                Some("upper") => lo <= d.value,
                Some("lower") => hi >= d.value,
                _ => lo <= d.value && d.value <= hi,
            });
            Predictive {
                id: d.id.clone(),
                set: d.set.clone(),
                quantity: d.quantity.clone(),
                value: d.value,
                sigma,
                bound: d.value_is_bound.clone(),
                p05: band.map(|b| b[0]),
                p50: band.map(|b| b[1]),
                p95: band.map(|b| b[2]),
                inside,
            }
        })
        .collect()
}

/// Each controlled difference's 90 % interval under the prior (with its SE).
fn prior_check(
    cal: &[Prepared],
    problem: &Problem,
    seed: u64,
) -> Result<Vec<DifferenceCheck>, ResponseError> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x0123);
    let points: Vec<Point> = (0..PRIOR_DRAWS)
        .map(|_| {
            let x: Vec<f64> = problem
                .space
                .coords
                .iter()
                .map(|c| c.prior_draw(&mut rng))
                .collect();
            problem.space.point(&x)
        })
        .collect();
    let at = points[0].clone();
    let diffs = differences(cal, &at, &points, seed ^ 0x4567)?;
    let values = values_at_points(cal, &points);
    let idx = |id: &str| cal.iter().position(|p| p.datum.id == id);
    Ok(diffs
        .into_iter()
        .filter_map(|d| {
            let (t, c) = (idx(&d.treated)?, idx(&d.control)?);
            let sample: Vec<f64> = values
                .iter()
                .map(|v| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    v[t] - v[c] + d.se * z
                })
                .collect();
            let [lo, mid, hi] = percentiles(sample)?;
            Some(DifferenceCheck {
                study: cal[t].datum.study().to_string(),
                pass: lo <= 0.0 && 0.0 <= hi && lo <= d.observed && d.observed <= hi,
                id: d.id,
                observed: d.observed,
                se: d.se,
                p05: lo,
                p50: mid,
                p95: hi,
                weights_ess: None,
                probability_better: None,
            })
        })
        .collect())
}

/// Each study's paired differences predicted from the posterior without that study
/// (truncated importance sampling of the draws `xs`).
fn leave_one_study_out(
    cal: &[Prepared],
    problem: &Problem,
    xs: &[Vec<f64>],
    seed: u64,
) -> Result<Vec<DifferenceCheck>, ResponseError> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x89AB);
    let points: Vec<Point> = xs.iter().map(|x| problem.space.point(x)).collect();
    let values = values_at_points(cal, &points);
    let idx = |id: &str| cal.iter().position(|p| p.datum.id == id);
    let diffs = evidence::differences()?;
    let mut studies: Vec<String> = diffs
        .iter()
        .filter_map(|d| idx(&d.treated).map(|t| cal[t].datum.study().to_string()))
        .collect();
    studies.sort();
    studies.dedup();
    let mut out = Vec::new();
    for st in studies {
        // log p(study's data | x): its single data and its differences.
        let loglik: Vec<f64> = values
            .iter()
            .map(|v| {
                let mut s2 = 0.0;
                for (i, p) in cal.iter().enumerate() {
                    let in_diff = diffs.iter().any(|d| d.treated == p.datum.id);
                    if p.datum.study() == st && !in_diff {
                        s2 += evidence::residual(&p.datum, v[i]).powi(2);
                    }
                }
                for d in &diffs {
                    if let (Some(t), Some(c)) = (idx(&d.treated), idx(&d.control)) {
                        if cal[t].datum.study() == st {
                            s2 += ((v[t] - v[c] - d.value) / d.se).powi(2);
                        }
                    }
                }
                -0.5 * s2
            })
            .collect();
        let (w, ess) = truncated_weights(&loglik);
        let wsum: f64 = w.iter().sum();
        for d in diffs.iter() {
            let (Some(t), Some(c)) = (idx(&d.treated), idx(&d.control)) else {
                continue;
            };
            if cal[t].datum.study() != st {
                continue;
            }
            // Resample the weighted draws, add the SE.
            let n = 2000;
            let mut cum = Vec::with_capacity(w.len());
            let mut acc = 0.0;
            for x in &w {
                acc += x / wsum;
                cum.push(acc);
            }
            let mut sample = Vec::with_capacity(n);
            let mut better = 0usize;
            let q = &cal[t].datum.quantity;
            for _ in 0..n {
                let u: f64 = rand_distr::StandardUniform.sample(&mut rng);
                let k = cum.partition_point(|&c| c < u).min(w.len() - 1);
                let m = values[k][t] - values[k][c];
                if (higher_is_better(q) && m > 0.0) || (!higher_is_better(q) && m < 0.0) {
                    better += 1;
                }
                let z: f64 = StandardNormal.sample(&mut rng);
                sample.push(m + d.se * z);
            }
            let Some([lo, mid, hi]) = percentiles(sample) else {
                continue;
            };
            out.push(DifferenceCheck {
                id: d.id.clone(),
                study: st.clone(),
                observed: d.value,
                se: d.se,
                p05: lo,
                p50: mid,
                p95: hi,
                pass: lo <= d.value && d.value <= hi,
                weights_ess: Some(ess),
                probability_better: Some(better as f64 / n as f64),
            });
        }
    }
    Ok(out)
}

/// Importance weights `1 / p(data | x_k)` of posterior draws with log-likelihoods `loglik`
/// (leaving those data out), truncated at `mean x sqrt(S)` (Ionides 2008), and their
/// effective sample size. Scaled by the largest weight before exponentiating, so that no
/// weight overflows.
pub fn truncated_weights(loglik: &[f64]) -> (Vec<f64>, f64) {
    let lowest = loglik.iter().cloned().fold(f64::INFINITY, f64::min);
    let raw: Vec<f64> = loglik.iter().map(|l| (lowest - l).exp()).collect();
    let mean = raw.iter().sum::<f64>() / raw.len() as f64;
    let cap = mean * (raw.len() as f64).sqrt();
    let w: Vec<f64> = raw.iter().map(|x| x.min(cap)).collect();
    let wsum: f64 = w.iter().sum();
    let ess = wsum * wsum / w.iter().map(|x| x * x).sum::<f64>();
    (w, ess)
}

/// Simulation-based calibration of the sampler on the fit's linearization at the MAP:
/// `r(x) = J (x - x_map) + r_map` has an exactly Gaussian posterior; synthetic data move
/// its data part, the sampler runs on each replicate with the calibration's warm-up (2
/// chains, 40 kept draws per rank), and the rank of the true value among [`SBC_RANKS`]
/// thinned draws is tallied per coordinate.
pub fn sbc(est: &Estimate, settings: &Settings) -> Sbc {
    let seed = settings.seed;
    let started = std::time::Instant::now();
    let d = est.x.len();
    let j = &est.jacobian;
    let n_res = j.nrows();
    let n_prior = d;
    let n_data = n_res - n_prior;
    // Prior part of the linearization: rows of J for the prior terms; data part the rest.
    let jd = j.rows(0, n_data).into_owned();
    let jp = j.rows(n_data, n_prior).into_owned();
    let jp_inv = jp.clone().try_inverse();
    let ranks = SBC_RANKS;
    let bins = 5usize;
    let mut counts = vec![vec![0usize; bins]; d];
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5BC0);
    let Some(jp_inv) = jp_inv else {
        return Sbc {
            replicates: 0,
            ranks,
            histograms: Vec::new(),
            seconds: 0.0,
        };
    };
    for rep in 0..SBC_REPLICATES {
        // theta ~ prior (Gaussian in the linearization): jp (theta - 0) = e, e ~ N(0, I).
        let e = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut rng)));
        let theta = &jp_inv * e;
        let noise =
            DVector::from_iterator(n_data, (0..n_data).map(|_| StandardNormal.sample(&mut rng)));
        // Synthetic data: residual r_d(x) = jd (x - theta) - noise.
        let b = &jd * &theta + noise;
        let residuals = |x: &[f64]| {
            let xv = DVector::from_column_slice(x);
            let mut r: Vec<f64> = (&jd * &xv - &b).as_slice().to_vec();
            r.extend((&jp * &xv).iter());
            Some(r)
        };
        let ata = j.transpose() * j;
        let cov = ata.try_inverse().unwrap_or_else(|| DMatrix::identity(d, d));
        let mean = &cov * (jd.transpose() * &b);
        let s = Settings {
            draws: 40 * ranks,
            chains: 2,
            warmup: settings.warmup,
            seed: seed.wrapping_add(rep as u64),
        };
        let Ok(res) = sample_least_squares(residuals, mean.as_slice(), &cov, &s) else {
            continue;
        };
        for (k, cnt) in counts.iter_mut().enumerate() {
            let all = res.pooled(k);
            let step = all.len() / ranks;
            let rank = (0..ranks).filter(|&i| all[i * step] < theta[k]).count();
            cnt[(rank * bins / (ranks + 1)).min(bins - 1)] += 1;
        }
    }
    let histograms = counts
        .into_iter()
        .zip(&est.space.coords)
        .map(|(c, coord)| {
            let n: usize = c.iter().sum();
            let expect = n as f64 / bins as f64;
            let chi: f64 = c
                .iter()
                .map(|&k| (k as f64 - expect).powi(2) / expect.max(1e-12))
                .sum();
            let p = chi_square_sf(chi, (bins - 1) as f64);
            SbcHistogram {
                name: coord.name.clone(),
                counts: c,
                chi_square: chi,
                p_value: p,
            }
        })
        .collect();
    Sbc {
        replicates: SBC_REPLICATES,
        ranks,
        histograms,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn chi_square_sf(x: f64, k: f64) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    ChiSquared::new(k).map(|c| c.sf(x)).unwrap_or(f64::NAN)
}

/// The shipped posterior sample, `data/response_posterior.csv` (written by
/// `exoskin calibrate --mcmc`).
pub const POSTERIOR_CSV: &str = include_str!("../../../data/response_posterior.csv");

impl Draws {
    /// Read a draws file (see [`draws_csv`]); `file` names it in errors.
    pub fn parse(text: &str, file: &'static str) -> Result<Draws, ResponseError> {
        let bad = |line: usize, message: String| ResponseError::Data {
            file,
            message: format!("line {line}: {message}"),
        };
        let mut header = String::new();
        let mut names: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if let Some(h) = line.strip_prefix('#') {
                header.push_str(h.trim_start());
                header.push('\n');
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let Some(names) = &names else {
                if cells.len() < 4 || cells[..3] != ["chain", "draw", "log_posterior"] {
                    return Err(bad(
                        line_no,
                        "the header must be `chain,draw,log_posterior,<parameter names>`".into(),
                    ));
                }
                names = Some(cells[3..].iter().map(|c| c.to_string()).collect());
                continue;
            };
            if cells.len() != names.len() + 3 {
                return Err(bad(
                    line_no,
                    format!("{} values, expected {}", cells.len(), names.len() + 3),
                ));
            }
            let int = |c: &str| {
                c.parse::<usize>()
                    .map_err(|_| bad(line_no, format!("`{c}` is not a whole number")))
            };
            let num = |c: &str| match c.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(bad(line_no, format!("`{c}` is not a finite number"))),
            };
            let values = cells[3..]
                .iter()
                .map(|c| num(c))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push((int(cells[0])?, int(cells[1])?, num(cells[2])?, values));
        }
        let names = names.ok_or_else(|| bad(0, "no header line".into()))?;
        if rows.is_empty() {
            return Err(bad(0, "no draws".into()));
        }
        Ok(Draws {
            names,
            rows,
            header,
        })
    }

    /// The shipped draws ([`POSTERIOR_CSV`]; checked by the test suite, so an error here is a
    /// build defect that callers report).
    pub fn shipped() -> Result<&'static Draws, &'static ResponseError> {
        static D: std::sync::OnceLock<Result<Draws, ResponseError>> = std::sync::OnceLock::new();
        D.get_or_init(|| Draws::parse(POSTERIOR_CSV, "data/response_posterior.csv"))
            .as_ref()
    }
}

impl Draws {
    /// `rp` with the fitted parameters of `n` draws spread evenly over the rows, starting
    /// at row `offset` (the other columns, which read the calibration data, are not
    /// parameters of a prediction).
    pub fn parameter_sets(
        &self,
        rp: &ResponseParams,
        n: usize,
        offset: usize,
    ) -> Vec<ResponseParams> {
        let len = self.rows.len();
        if len == 0 {
            return Vec::new();
        }
        (0..n)
            .map(|i| {
                let row = &self.rows[(offset + i * len / n.max(1)) % len];
                let mut q = rp.clone();
                for (name, &v) in self.names.iter().zip(&row.3) {
                    if rp.fitted.contains_key(name) {
                        // A fitted name and a value the sampler kept inside its range.
                        let _ = q.set(name, v);
                    }
                }
                q
            })
            .collect()
    }
}

impl Draws {
    /// `n` draws spread evenly over the rows as points of `space` (every coordinate of the
    /// space must be a column of the draws: a sample written for another evidence base is
    /// refused by name).
    pub fn points(
        &self,
        space: &crate::calibrate::Space,
        n: usize,
    ) -> Result<Vec<Point>, ResponseError> {
        let columns = space
            .coords
            .iter()
            .map(|c| {
                self.names
                    .iter()
                    .position(|k| *k == c.name)
                    .ok_or_else(|| ResponseError::Data {
                        file: "data/response_posterior.csv",
                        message: format!(
                            "no column `{}`: the sample was drawn for another evidence base; run `exoskin calibrate --mcmc` again",
                            c.name
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let len = self.rows.len();
        let n = n.clamp(1, len.max(1));
        Ok((0..n)
            .map(|i| {
                let row = &self.rows[i * len / n].3;
                let x: Vec<f64> = space
                    .coords
                    .iter()
                    .zip(&columns)
                    .map(|(c, &j)| c.x_of(row[j]))
                    .collect();
                space.point(&x)
            })
            .collect())
    }
}

/// The draws file's text: `#` header lines, then `chain,draw,log_posterior,<parameters>`.
pub fn draws_csv(d: &Draws) -> String {
    let mut s: String = d.header.lines().map(|l| format!("# {l}\n")).collect();
    s.push_str("chain,draw,log_posterior");
    for n in &d.names {
        s.push(',');
        s.push_str(n);
    }
    s.push('\n');
    for (c, i, lp, x) in &d.rows {
        s.push_str(&format!("{c},{i},{lp:.6}"));
        for v in x {
            s.push_str(&format!(",{v:.6e}"));
        }
        s.push('\n');
    }
    s
}

/// The report's MCMC section (Markdown).
pub fn markdown(m: &Summary) -> String {
    let mut s = String::from("\n## Posterior sample (MCMC)\n\n");
    s.push_str(&format!(
        "Sampler: {}; {} chains x {} kept draws after {} warm-up iterations each, seed {}, chains started dispersed around the MAP (2 Laplace SDs); fraction of iterations that moved {:.2}; {} log-posterior evaluations in {:.1} s; the whole calibration from the prepared transport runs (fit, sampling and every check below) in {:.1} s. The target is the MAP objective itself (same likelihood, same priors, truncated to their ranges), so the MAP is its mode.\n\n",
        m.sampler, m.chains, m.draws_per_chain, m.warmup, m.seed, m.acceptance, m.evaluations, m.sampling_seconds, m.total_seconds
    ));
    if m.converged {
        s.push_str(&format!(
            "Convergence: every split-R-hat is at most {R_HAT_LIMIT} (largest {:.3}) and every bulk ESS at least {ESS_TARGET} (smallest {:.0}; smallest tail ESS {:.0}).\n\n",
            m.max_r_hat, m.min_ess_bulk, m.min_ess_tail
        ));
    } else {
        let bad: Vec<String> = m
            .params
            .iter()
            .filter(|p| p.r_hat > R_HAT_LIMIT || p.ess_bulk < ESS_TARGET)
            .map(|p| {
                format!(
                    "`{}` (R-hat {:.3}, bulk ESS {:.0})",
                    p.name, p.r_hat, p.ess_bulk
                )
            })
            .collect();
        s.push_str(&format!(
            "**Not converged**: split-R-hat above {R_HAT_LIMIT} or bulk ESS below {ESS_TARGET} for {}. The intervals below are provisional; run more draws (`exoskin calibrate --mcmc --draws N` with a larger N).\n\n",
            bad.join(", ")
        ));
    }
    s.push_str("| coordinate | MAP | Laplace sd | posterior median | posterior 90 % | R-hat | bulk ESS | tail ESS |\n|---|---|---|---|---|---|---|---|\n");
    for p in &m.params {
        s.push_str(&format!(
            "| `{}` | {:.4} | {:.3} | {:.4} | {:.3} to {:.3} | {:.3} | {:.0} | {:.0} |\n",
            p.name, p.map, p.laplace_sd, p.median, p.p05, p.p95, p.r_hat, p.ess_bulk, p.ess_tail
        ));
    }
    s.push_str(&format!(
        "\n### Posterior-predictive checks\n\n90 % intervals of the model's value over {} posterior draws plus the datum's measurement uncertainty (normal, the sigma of the likelihood). A bound is inside when the interval reaches its allowed side.\n\n",
        m.predictive_draws
    ));
    for c in &m.coverage {
        s.push_str(&format!(
            "- {} set: {} of {} inside ({:.0} %; 90 % expected if the model and the stated uncertainties were right).\n",
            c.set,
            c.inside,
            c.total,
            100.0 * c.fraction
        ));
    }
    s.push_str("\n| datum | set | quantity | data | sigma | predictive 90 % | inside |\n|---|---|---|---|---|---|---|\n");
    for r in &m.predictive {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {:.3} | {} | {} |\n",
            r.id,
            r.set,
            r.quantity,
            data_cell(r.value, r.bound.as_deref()),
            r.sigma,
            interval_cell(r.p05, r.p95, 3),
            if r.inside { "yes" } else { "**no**" }
        ));
    }
    s.push_str("\n### Prior predictive check of the controlled differences\n\nEach paired difference's 90 % interval over prior draws of every coordinate (plus the difference's SE) must hold both 0 (the priors allow no effect) and the observed difference (they allow the data).\n\n| difference | observed | prior 90 % | holds 0 and the data |\n|---|---|---|---|\n");
    for c in &m.prior_check {
        s.push_str(&format!(
            "| `{}` | {:.1} | {:.1} to {:.1} | {} |\n",
            c.id,
            c.observed,
            c.p05,
            c.p95,
            if c.pass { "yes" } else { "**no**" }
        ));
    }
    s.push_str("\n### Leave one study out\n\nEach study's paired differences predicted from the posterior of the other studies (truncated importance sampling of the posterior draws; weights' ESS shown): the prediction a new trial of that kind would get.\n\n| difference | study | observed | predicted 90 % | inside | P(better) | weights ESS |\n|---|---|---|---|---|---|---|\n");
    for c in &m.leave_one_study_out {
        s.push_str(&format!(
            "| `{}` | {} | {:.1} | {:.1} to {:.1} | {} | {:.2} | {:.0} |\n",
            c.id,
            c.study,
            c.observed,
            c.p05,
            c.p95,
            if c.pass { "yes" } else { "**no**" },
            c.probability_better.unwrap_or(f64::NAN),
            c.weights_ess.unwrap_or(f64::NAN)
        ));
    }
    if let Some(p) = m.params.iter().find(|p| p.name == "study_dose_spread") {
        s.push_str(&format!(
            "\n### Between-study spread\n\n`study_dose_spread`, the SD of ln(delivered dose) between studies of one class: posterior median {:.2}, 90 % {:.2} to {:.2} (MAP {:.2}; prior in data/response.toml). With {} studies the data say little about it: its posterior stays near its prior, and predictions for a new product carry it.\n",
            p.median,
            p.p05,
            p.p95,
            p.map,
            m.params.iter().filter(|q| q.name.starts_with("study.")).count()
        ));
    }
    let sbc = &m.sbc;
    s.push_str(&format!(
        "\n### Simulation-based calibration of the sampler\n\n{} replicates on the fit's linearization at the MAP (exact Gaussian posterior): the true value's rank among {} thinned draws, in 5 bins, per coordinate, with the chi-square test against flat (4 degrees of freedom; a correct sampler gives p values spread over [0, 1], about 1 in 20 below 0.05). {:.1} s.\n\n| coordinate | rank histogram | chi-square | p |\n|---|---|---|---|\n",
        sbc.replicates, sbc.ranks, sbc.seconds
    ));
    for h in &sbc.histograms {
        s.push_str(&format!(
            "| `{}` | {} | {:.1} | {:.2} |\n",
            h.name,
            h.counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            h.chi_square,
            h.p_value
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    #[test]
    fn the_shipped_draws_parse_round_trip_and_name_the_fitted_parameters() {
        let d = Draws::shipped().unwrap();
        assert_eq!(d.rows.len(), 2000);
        let rp = ResponseParams::shipped().unwrap();
        for k in rp.fitted.keys() {
            assert!(
                d.names.contains(k),
                "the draws hold every fitted parameter: {k}"
            );
        }
        // Positive coordinates stay positive; signed ones (the vesicle effects, study
        // effects) take both signs.
        for (j, n) in d.names.iter().enumerate() {
            if !(rp.is_signed(n) || n.starts_with("study.")) {
                assert!(d.rows.iter().all(|r| r.3[j] > 0.0), "{n}");
            }
        }
        // written again, the file reads back to the same numbers
        let again = Draws::parse(&draws_csv(d), "again").unwrap();
        assert_eq!(again.names, d.names);
        for (a, b) in again.rows.iter().zip(&d.rows) {
            assert_eq!((a.0, a.1), (b.0, b.1));
            for (x, y) in a.3.iter().zip(&b.3) {
                assert!((x / y - 1.0).abs() < 1e-6, "{x} vs {y}");
            }
        }
    }

    /// Equal likelihoods give equal weights (ESS = S); a draw that fits the left-out data
    /// far worse weighs more, but at most mean x sqrt(S) before normalizing; none is NaN.
    #[test]
    fn leave_one_out_weights_are_finite_and_truncated() {
        let (w, ess) = truncated_weights(&[-3.0; 100]);
        assert!(w.iter().all(|x| *x == 1.0));
        assert!((ess - 100.0).abs() < 1e-9);
        let mut ll = vec![-1.0; 100];
        ll[7] = -40.0;
        let (w, ess) = truncated_weights(&ll);
        assert!(w.iter().all(|x| x.is_finite() && *x > 0.0));
        let mean_raw = (1.0 + 99.0 * (-39.0f64).exp()) / 100.0;
        assert!((w[7] - mean_raw * 10.0).abs() < 1e-12, "{}", w[7]);
        assert!(ess > 1.0 && ess < 100.0, "{ess}");
    }

    #[test]
    fn a_broken_draws_file_names_its_line() {
        let e = Draws::parse("chain,draw,log_posterior,a\n0,0,-1.0,abc\n", "f.csv").unwrap_err();
        assert!(
            e.to_string().contains("f.csv: line 2") && e.to_string().contains("abc"),
            "{e}"
        );
        let e = Draws::parse("x,y\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
        let e = Draws::parse("chain,draw,log_posterior,a\n0,0,-1.0\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("3 values, expected 4"), "{e}");
    }

    /// A linear-Gaussian least-squares problem: `r = A x - b` (data rows and prior rows, as
    /// the calibration's residuals are). Its posterior is exactly normal with mean
    /// `(A^T A)^-1 A^T b` and covariance `(A^T A)^-1`; the sampler must recover both within
    /// Monte-Carlo error.
    #[test]
    fn linear_gaussian_posterior_is_recovered() {
        #[rustfmt::skip]
        let a = DMatrix::from_row_slice(5, 2, &[
            1.0, 0.5,
            0.8, -1.2,
            2.0, 0.3,
            1.0 / 0.7, 0.0, // prior on x0, sd 0.7
            0.0, 1.0 / 1.5, // prior on x1, sd 1.5
        ]);
        let b = DVector::from_vec(vec![1.0, -0.4, 2.2, 0.3 / 0.7, -1.0 / 1.5]);
        let ata = a.transpose() * &a;
        let cov = ata.clone().try_inverse().unwrap();
        let mean = &cov * a.transpose() * &b;
        let residuals = |x: &[f64]| {
            Some(
                (&a * DVector::from_column_slice(x) - &b)
                    .as_slice()
                    .to_vec(),
            )
        };
        let laplace_sd = [cov[(0, 0)].sqrt(), cov[(1, 1)].sqrt()];
        let s = Settings {
            draws: 4000,
            chains: 4,
            warmup: 2000,
            seed: 11,
        };
        let res = sample_least_squares(residuals, mean.as_slice(), &cov, &s).unwrap();
        for j in 0..2 {
            let v = res.pooled(j);
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
            let ess = res.ess_bulk[j];
            assert!(res.r_hat[j] < R_HAT_LIMIT, "R-hat {}", res.r_hat[j]);
            assert!(ess > 400.0, "ESS {ess}");
            // Monte-Carlo standard errors: of the mean sd/sqrt(ESS); of the SD about
            // sd/sqrt(2 ESS). Four of them is a 1-in-15,000 miss for a correct sampler.
            let se_mean = laplace_sd[j] / ess.sqrt();
            assert!(
                (m - mean[j]).abs() < 4.0 * se_mean,
                "mean {m} vs exact {} (se {se_mean})",
                mean[j]
            );
            let se_sd = laplace_sd[j] / (2.0 * ess).sqrt();
            assert!(
                (sd - laplace_sd[j]).abs() < 4.0 * se_sd,
                "sd {sd} vs exact {} (se {se_sd})",
                laplace_sd[j]
            );
        }
        // The chains start dispersed, not at the mode: a start equal to the MAP everywhere
        // would hide a sampler that never moves.
        let firsts: Vec<f64> = res.chains.iter().map(|c| c[0][0]).collect();
        assert!(firsts.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn draws_file_has_its_header_and_columns() {
        let d = Draws {
            names: vec!["a".into(), "b".into()],
            rows: vec![(0, 0, -1.5, vec![1.0, 2.0]), (1, 3, -2.0, vec![0.5, 4.0])],
            header: "how they were made\nsecond line".into(),
        };
        let text = draws_csv(&d);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# how they were made");
        assert_eq!(lines[1], "# second line");
        assert_eq!(lines[2], "chain,draw,log_posterior,a,b");
        assert_eq!(lines[4], "1,3,-2.000000,5.000000e-1,4.000000e0");
        assert_eq!(lines.len(), 5);
    }
}
