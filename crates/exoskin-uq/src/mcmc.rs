//! Adaptive random-walk Metropolis over R^d for a log-density closure, several independent
//! chains, deterministic for a seed.
//!
//! **Proposal.** `x' = x + sqrt(lambda) L z`, `z` standard normal, `L L^T = Sigma`. A
//! proposal is accepted with probability `min(1, p(x') / p(x))`; a proposal whose
//! log-density is not finite (NaN, +-infinity: outside the support, or a model failure)
//! is rejected.
//!
//! **Warm-up** (adaptation; its draws are discarded). `Sigma` starts as
//! `initial_scale^2 I`. The step scale `lambda` follows a Robbins-Monro recursion
//! `log lambda += (t + 1)^-0.6 (alpha - alpha*)` towards the target acceptance `alpha*`
//! (0.44 in one dimension, 0.234 in more: Roberts, Gelman & Gilks 1997). Between 15 % and
//! 90 % of the warm-up, four windows of doubling length (Stan's scheme) each estimate the
//! chain's covariance; at the end of a window `Sigma` becomes that estimate, shrunk towards
//! its own diagonal by `5 / (k + 5)` for `k` draws (so a short window cannot make it
//! singular), `lambda` restarts at `2.38^2 / d` (Haario, Saksman & Tamminen 2001) and the
//! recursion restarts. Over the last 10 % only `lambda` adapts; the sampling phase uses the
//! mean of `log lambda` over that stretch. Then the kernel is fixed, so the draws are a
//! Markov chain with the target as its stationary distribution.
//!
//! **Determinism.** Chain `c` draws from its own stream seeded by `(seed, c)`, and chains
//! share nothing; they run in parallel and the result is bit-identical on any number of
//! threads.
//!
//! **Diagnostics** per parameter: rank-normalized split-R-hat, bulk and tail effective
//! sample sizes ([`crate::diagnostics`]).

use crate::diagnostics::{ess_bulk, ess_tail, split_rhat};
use crate::error::UqError;
use crate::rng::stream;
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rayon::prelude::*;

/// Sampler settings.
#[derive(Clone, Debug, PartialEq)]
pub struct McmcConfig {
    /// Draws kept per chain (at least 4).
    pub draws: usize,
    /// Warm-up (adaptation) iterations per chain, discarded.
    pub warmup: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Keep every `thin`-th draw after warm-up (1: all); `draws` counts kept draws.
    pub thin: usize,
    /// Standard deviation of the first proposal in every coordinate (positive).
    pub initial_scale: f64,
    /// Target acceptance rate in (0, 1); `None`: 0.44 in one dimension, 0.234 in more.
    pub target_acceptance: Option<f64>,
}

impl Default for McmcConfig {
    fn default() -> Self {
        McmcConfig {
            draws: 1000,
            warmup: 1000,
            seed: 0,
            thin: 1,
            initial_scale: 0.1,
            target_acceptance: None,
        }
    }
}

/// Draws and diagnostics.
#[derive(Clone, Debug)]
pub struct McmcResult {
    /// `chains[c][i][j]`: parameter `j` of draw `i` of chain `c`.
    pub chains: Vec<Vec<Vec<f64>>>,
    /// `log_density[c][i]`: the log-density at that draw.
    pub log_density: Vec<Vec<f64>>,
    /// Rank-normalized split-R-hat per parameter.
    pub r_hat: Vec<f64>,
    /// Bulk effective sample size per parameter (all chains together).
    pub ess_bulk: Vec<f64>,
    /// Tail effective sample size per parameter.
    pub ess_tail: Vec<f64>,
    /// Fraction of accepted proposals after warm-up, over all chains.
    pub acceptance: f64,
    /// The same per chain.
    pub acceptance_per_chain: Vec<f64>,
    /// Evaluations of the log-density, warm-up included, over all chains.
    pub evaluations: usize,
}

impl McmcResult {
    /// The result of kept `chains` (`[c][i][j]`) with their log-densities, the diagnostics
    /// computed per parameter.
    pub fn from_chains(
        chains: Vec<Vec<Vec<f64>>>,
        log_density: Vec<Vec<f64>>,
        acceptance: f64,
        acceptance_per_chain: Vec<f64>,
        evaluations: usize,
    ) -> Result<McmcResult, UqError> {
        let d = chains.first().and_then(|c| c.first()).map_or(0, Vec::len);
        let mut result = McmcResult {
            chains,
            log_density,
            r_hat: Vec::with_capacity(d),
            ess_bulk: Vec::with_capacity(d),
            ess_tail: Vec::with_capacity(d),
            acceptance,
            acceptance_per_chain,
            evaluations,
        };
        for j in 0..d {
            let p = result.parameter(j);
            result.r_hat.push(split_rhat(&p)?);
            result.ess_bulk.push(ess_bulk(&p)?);
            result.ess_tail.push(ess_tail(&p)?);
        }
        Ok(result)
    }

    /// The draws of parameter `j`, chain by chain (the input of the diagnostics).
    pub fn parameter(&self, j: usize) -> Vec<Vec<f64>> {
        self.chains
            .iter()
            .map(|c| c.iter().map(|x| x[j]).collect())
            .collect()
    }

    /// All draws of parameter `j`, chains concatenated.
    pub fn pooled(&self, j: usize) -> Vec<f64> {
        self.chains
            .iter()
            .flat_map(|c| c.iter().map(move |x| x[j]))
            .collect()
    }

    /// Posterior mean of every parameter over all draws.
    pub fn mean(&self) -> Vec<f64> {
        let d = self.r_hat.len();
        let n: usize = self.chains.iter().map(Vec::len).sum();
        (0..d)
            .map(|j| self.chains.iter().flatten().map(|x| x[j]).sum::<f64>() / n as f64)
            .collect()
    }
}

/// Runs one chain per initial point of `init` and returns the draws with their
/// diagnostics. `logp` is the log-density up to a constant; a non-finite value rejects.
pub fn sample(
    logp: impl Fn(&[f64]) -> f64 + Sync,
    init: &[Vec<f64>],
    cfg: &McmcConfig,
) -> Result<McmcResult, UqError> {
    sample_preconditioned(logp, init, cfg, None)
}

/// [`sample`], with the proposal's covariance starting at `covariance` (e.g. the Laplace
/// approximation at the mode) instead of `initial_scale^2 I`, and `lambda` at
/// `2.38^2 / d`; adaptation then proceeds as in [`sample`]. A covariance that is not
/// positive definite is refused.
pub fn sample_preconditioned(
    logp: impl Fn(&[f64]) -> f64 + Sync,
    init: &[Vec<f64>],
    cfg: &McmcConfig,
    covariance: Option<&DMatrix<f64>>,
) -> Result<McmcResult, UqError> {
    check_config(init, cfg)?;
    let chol = match covariance {
        None => None,
        Some(c) => {
            let d = init[0].len();
            if c.nrows() != d || c.ncols() != d {
                return Err(UqError::InvalidArgument {
                    name: "covariance",
                    value: format!("{} x {}", c.nrows(), c.ncols()),
                    allowed: "a square matrix with one row per parameter",
                });
            }
            match nalgebra::Cholesky::new(c.clone()) {
                Some(ch) => Some(ch.l()),
                None => {
                    return Err(UqError::InvalidArgument {
                        name: "covariance",
                        value: "not positive definite".into(),
                        allowed: "a symmetric positive-definite matrix",
                    })
                }
            }
        }
    };
    for (chain, x) in init.iter().enumerate() {
        let lp = logp(x);
        if !lp.is_finite() || x.iter().any(|v| !v.is_finite()) {
            return Err(UqError::NonFiniteInitial { chain, logp: lp });
        }
    }
    let runs: Vec<ChainRun> = init
        .par_iter()
        .enumerate()
        .map(|(c, x0)| run_chain(&logp, x0, cfg, c, chol.as_ref()))
        .collect();
    let acceptance_per_chain: Vec<f64> = runs
        .iter()
        .map(|r| r.accepted as f64 / r.proposed as f64)
        .collect();
    let acceptance = runs.iter().map(|r| r.accepted).sum::<usize>() as f64
        / runs.iter().map(|r| r.proposed).sum::<usize>() as f64;
    let evaluations = init.len() * (1 + cfg.warmup + cfg.draws * cfg.thin);
    McmcResult::from_chains(
        runs.iter().map(|r| r.draws.clone()).collect(),
        runs.iter().map(|r| r.logp.clone()).collect(),
        acceptance,
        acceptance_per_chain,
        evaluations,
    )
}

/// The checks every sampler makes of its initial points and kept draws.
pub(crate) fn check_chains(init: &[Vec<f64>], draws: usize) -> Result<(), UqError> {
    let bad = |name, value: String, allowed| {
        Err(UqError::InvalidArgument {
            name,
            value,
            allowed,
        })
    };
    if init.is_empty() {
        return bad(
            "number of chains (initial points)",
            "0".into(),
            "at least 1",
        );
    }
    if init[0].is_empty() {
        return bad("parameters per initial point", "0".into(), "at least 1");
    }
    if draws < 4 {
        return bad("draws", draws.to_string(), "at least 4");
    }
    for (c, x) in init.iter().enumerate() {
        if x.len() != init[0].len() {
            return Err(UqError::DimensionMismatch {
                chain: c,
                expected: init[0].len(),
                got: x.len(),
            });
        }
    }
    Ok(())
}

fn check_config(init: &[Vec<f64>], cfg: &McmcConfig) -> Result<(), UqError> {
    check_chains(init, cfg.draws)?;
    let bad = |name, value: String, allowed| {
        Err(UqError::InvalidArgument {
            name,
            value,
            allowed,
        })
    };
    if cfg.thin == 0 {
        return bad("thin", "0".into(), "at least 1");
    }
    if !(cfg.initial_scale.is_finite() && cfg.initial_scale > 0.0) {
        return bad(
            "initial_scale",
            cfg.initial_scale.to_string(),
            "a positive finite number",
        );
    }
    if let Some(a) = cfg.target_acceptance {
        if !(a > 0.0 && a < 1.0) {
            return bad(
                "target_acceptance",
                a.to_string(),
                "strictly between 0 and 1",
            );
        }
    }
    Ok(())
}

struct ChainRun {
    draws: Vec<Vec<f64>>,
    logp: Vec<f64>,
    accepted: usize,
    proposed: usize,
}

/// The proposal: `sqrt(lambda) L z`.
struct Proposal {
    chol: DMatrix<f64>,
    log_lambda: f64,
}

impl Proposal {
    fn step(&self, z: &DVector<f64>) -> DVector<f64> {
        (&self.chol * z) * (0.5 * self.log_lambda).exp()
    }
}

/// Running mean and co-moment matrix (Welford) of the states within one window.
struct Moments {
    k: usize,
    mean: DVector<f64>,
    m2: DMatrix<f64>,
}

impl Moments {
    fn new(d: usize) -> Self {
        Moments {
            k: 0,
            mean: DVector::zeros(d),
            m2: DMatrix::zeros(d, d),
        }
    }

    fn push(&mut self, x: &DVector<f64>) {
        self.k += 1;
        let delta = x - &self.mean;
        self.mean += &delta / self.k as f64;
        let delta2 = x - &self.mean;
        self.m2 += &delta * delta2.transpose();
    }

    /// The window's covariance shrunk towards its diagonal, factorised; `None` when it is
    /// not positive definite (a chain that never moved).
    fn regularised_cholesky(&self) -> Option<DMatrix<f64>> {
        if self.k < 3 {
            return None;
        }
        let k = self.k as f64;
        let cov = &self.m2 / (k - 1.0);
        let w = k / (k + 5.0);
        let mut shrunk = &cov * w;
        for i in 0..cov.nrows() {
            shrunk[(i, i)] = cov[(i, i)];
        }
        if (0..cov.nrows()).any(|i| !(cov[(i, i)] > 0.0 && cov[(i, i)].is_finite())) {
            return None;
        }
        nalgebra::Cholesky::new(shrunk).map(|c| c.l())
    }
}

/// Iteration numbers (0-based, within warm-up) at which a covariance window ends.
fn window_ends(warmup: usize) -> Vec<usize> {
    let start = warmup * 15 / 100;
    let end = warmup * 90 / 100;
    let span = end - start;
    if span < 20 {
        return Vec::new();
    }
    if span < 75 {
        return vec![end];
    }
    // Four windows of lengths s, 2s, 4s, 8s (the last one takes the remainder).
    let s = span / 15;
    vec![start + s, start + 3 * s, start + 7 * s, end]
}

fn run_chain(
    logp: &(impl Fn(&[f64]) -> f64 + Sync),
    x0: &[f64],
    cfg: &McmcConfig,
    c: usize,
    chol: Option<&DMatrix<f64>>,
) -> ChainRun {
    let d = x0.len();
    let mut rng = stream(cfg.seed, 0x3C3C, c as u64);
    let target = cfg
        .target_acceptance
        .unwrap_or(if d == 1 { 0.44 } else { 0.234 });
    let mut x = DVector::from_column_slice(x0);
    let mut lp = logp(x0);
    let mut proposal = match chol {
        Some(l) => Proposal {
            chol: l.clone(),
            log_lambda: (2.38f64.powi(2) / d as f64).ln(),
        },
        None => Proposal {
            chol: DMatrix::identity(d, d) * cfg.initial_scale,
            log_lambda: 0.0,
        },
    };
    let ends = window_ends(cfg.warmup);
    let window_start = if ends.is_empty() {
        cfg.warmup
    } else {
        cfg.warmup * 15 / 100
    };
    let term_start = ends.last().copied().unwrap_or(cfg.warmup / 2);
    let mut moments = Moments::new(d);
    let mut since_reset = 0usize;
    let (mut term_sum, mut term_n) = (0.0, 0usize);

    let propose = |x: &DVector<f64>,
                   lp: f64,
                   proposal: &Proposal,
                   rng: &mut rand_xoshiro::Xoshiro256PlusPlus| {
        let z = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut *rng)));
        let y = x + proposal.step(&z);
        let lq = logp(y.as_slice());
        let u: f64 = StandardUniform.sample(rng);
        let alpha = if lq.is_finite() {
            (lq - lp).min(0.0).exp()
        } else {
            0.0
        };
        // Comparing u < alpha accepts with probability alpha exactly (u is in [0, 1)).
        (y, lq, alpha, u < alpha && lq.is_finite())
    };

    for t in 0..cfg.warmup {
        let (y, lq, alpha, accept) = propose(&x, lp, &proposal, &mut rng);
        if accept {
            x = y;
            lp = lq;
        }
        proposal.log_lambda += (alpha - target) / ((since_reset + 1) as f64).powf(0.6);
        since_reset += 1;
        if t >= window_start && t < term_start {
            moments.push(&x);
        }
        if ends.contains(&(t + 1)) {
            if let Some(l) = moments.regularised_cholesky() {
                proposal.chol = l;
                proposal.log_lambda = (2.38f64 * 2.38 / d as f64).ln();
                since_reset = 0;
            }
            moments = Moments::new(d);
        }
        if t >= term_start {
            term_sum += proposal.log_lambda;
            term_n += 1;
        }
    }
    if term_n > 0 {
        proposal.log_lambda = term_sum / term_n as f64;
    }

    let mut draws = Vec::with_capacity(cfg.draws);
    let mut lps = Vec::with_capacity(cfg.draws);
    let (mut accepted, mut proposed) = (0usize, 0usize);
    for _ in 0..cfg.draws {
        for _ in 0..cfg.thin {
            let (y, lq, _, accept) = propose(&x, lp, &proposal, &mut rng);
            proposed += 1;
            if accept {
                x = y;
                lp = lq;
                accepted += 1;
            }
        }
        draws.push(x.as_slice().to_vec());
        lps.push(lp);
    }
    ChainRun {
        draws,
        logp: lps,
        accepted,
        proposed,
    }
}
