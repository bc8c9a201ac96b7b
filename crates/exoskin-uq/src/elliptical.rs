//! Elliptical slice sampling against a Gaussian reference, several independent chains,
//! deterministic for a seed.
//!
//! **Kernel** (Murray, Adams & MacKay 2010, Proc. AISTATS, JMLR W&CP 9:541-548). The target
//! `p(x)` is written as `N(x; mu, Sigma) L(x)` with `L = p / N`. From the current `x`, draw
//! `nu ~ N(0, Sigma)` and a level `log y = log L(x) + log u`; points
//! `x'(theta) = mu + (x - mu) cos theta + nu sin theta` lie on an ellipse through `x`, and the
//! kernel takes the first point of a shrinking bracket of angles whose `log L` is above the
//! level. Every iteration moves, no step size is tuned, and the kernel leaves `p` invariant
//! for any positive-definite reference; the closer `N(mu, Sigma)` is to `p`, the closer the
//! draws are to independent (for a Gaussian `p` equal to the reference they are). A point
//! whose log-density is not finite (outside the support, a model failure) is below every
//! level and shrinks the bracket.
//!
//! **Reference.** The caller gives a first reference (for a posterior, the Laplace
//! approximation at the mode). The warm-up has four stages of doubling length (1, 2, 4 and 8
//! fifteenths of it, as Stan's adaptation windows); after each, the reference becomes the mean and covariance of the second half of that stage's draws,
//! pooled over all chains, the covariance shrunk towards its diagonal by `5 / (k + 5)` for
//! `k` draws and multiplied by `inflation^2` (a reference wider than the target keeps
//! `L` bounded in the tails, where a narrower one would make `L` grow). The chains run each
//! stage in parallel and meet between stages; the sampling phase then uses a fixed
//! reference, so its draws are a Markov chain with the target as its stationary law.
//!
//! **Cost.** The quadratic form of the reference is carried along the ellipse in whitened
//! coordinates (`w' = w cos theta + z sin theta`), so an evaluation of `log L` costs one of
//! `log p`. [`McmcResult::evaluations`] counts them.
//!
//! **Determinism.** Chain `c` draws from its own stream seeded by `(seed, c)` throughout;
//! the pooled reference is computed in chain order, so results are bit-identical on any
//! number of threads.

use crate::error::UqError;
use crate::mcmc::{check_chains, McmcResult};
use crate::rng::stream;
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Settings of [`sample_elliptical`].
#[derive(Clone, Debug, PartialEq)]
pub struct EllipticalConfig {
    /// Draws kept per chain (at least 4).
    pub draws: usize,
    /// Warm-up iterations per chain (four stages of doubling length; from 120 on; a
    /// shorter warm-up is one stage).
    pub warmup: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Factor on the re-estimated reference's standard deviations (at least 1).
    pub inflation: f64,
}

impl Default for EllipticalConfig {
    fn default() -> Self {
        EllipticalConfig {
            draws: 1000,
            warmup: 1000,
            seed: 0,
            inflation: 1.5,
        }
    }
}

/// The most bracket shrinks of one iteration; the bracket reaches the current point long
/// before (its width halves on average at each shrink), so hitting it means the target
/// is not finite around the current point: the chain then stays there.
const MAX_SHRINKS: usize = 200;

/// Lengths of the warm-up's stages: four of doubling length (1, 2, 4, 8 fifteenths), or one
/// stage when the warm-up is too short to split.
fn stages(warmup: usize) -> Vec<usize> {
    let s = warmup / 15;
    if s < 8 {
        return vec![warmup];
    }
    vec![s, 2 * s, 4 * s, warmup - 7 * s]
}

/// A Gaussian reference: mean and Cholesky factor of its covariance.
#[derive(Clone)]
struct Reference {
    mean: DVector<f64>,
    chol: DMatrix<f64>,
}

impl Reference {
    fn new(mean: &[f64], cov: &DMatrix<f64>) -> Option<Reference> {
        let chol = nalgebra::Cholesky::new(cov.clone())?.l();
        Some(Reference {
            mean: DVector::from_column_slice(mean),
            chol,
        })
    }

    /// `L^-1 (x - mu)`.
    fn whiten(&self, x: &DVector<f64>) -> DVector<f64> {
        self.chol
            .solve_lower_triangular(&(x - &self.mean))
            .unwrap_or_else(|| DVector::zeros(x.len()))
    }
}

struct Chain {
    x: DVector<f64>,
    lp: f64,
    rng: Xoshiro256PlusPlus,
    draws: Vec<Vec<f64>>,
    logp: Vec<f64>,
    evaluations: usize,
    stuck: usize,
}

impl Chain {
    /// One elliptical slice iteration.
    fn step(&mut self, logp: &(impl Fn(&[f64]) -> f64 + Sync), r: &Reference) {
        let d = self.x.len();
        let w = r.whiten(&self.x);
        let log_l = self.lp + 0.5 * w.norm_squared();
        let z = DVector::from_iterator(d, (0..d).map(|_| StandardNormal.sample(&mut self.rng)));
        let u: f64 = StandardUniform.sample(&mut self.rng);
        // 1 - u lies in (0, 1]: its log is finite.
        let level = log_l + (1.0 - u).ln();
        let two_pi = std::f64::consts::TAU;
        let t: f64 = StandardUniform.sample(&mut self.rng);
        let mut theta = two_pi * t;
        let (mut lo, mut hi) = (theta - two_pi, theta);
        for _ in 0..MAX_SHRINKS {
            let (s, c) = theta.sin_cos();
            let w1 = &w * c + &z * s;
            let x1 = &r.mean + &r.chol * &w1;
            let lq = logp(x1.as_slice());
            self.evaluations += 1;
            if lq.is_finite() && lq + 0.5 * w1.norm_squared() > level {
                self.x = x1;
                self.lp = lq;
                return;
            }
            if theta < 0.0 {
                lo = theta;
            } else {
                hi = theta;
            }
            let v: f64 = StandardUniform.sample(&mut self.rng);
            theta = lo + (hi - lo) * v;
        }
        self.stuck += 1;
    }
}

/// Mean and covariance of the states of every chain, pooled in chain order; the covariance shrunk towards its diagonal and scaled by `inflation^2`. None
/// when it is not positive definite.
fn pooled_reference(states: &[&[Vec<f64>]], inflation: f64) -> Option<Reference> {
    let d = states.first()?.first()?.len();
    let k: usize = states.iter().map(|s| s.len()).sum();
    if k < 3 {
        return None;
    }
    let mut mean = DVector::zeros(d);
    for x in states.iter().flat_map(|s| s.iter()) {
        mean += DVector::from_column_slice(x);
    }
    mean /= k as f64;
    let mut cov = DMatrix::zeros(d, d);
    for x in states.iter().flat_map(|s| s.iter()) {
        let e = DVector::from_column_slice(x) - &mean;
        cov += &e * e.transpose();
    }
    cov /= (k - 1) as f64;
    let w = k as f64 / (k as f64 + 5.0);
    let mut shrunk = &cov * w;
    for i in 0..d {
        if !(cov[(i, i)] > 0.0 && cov[(i, i)].is_finite()) {
            return None;
        }
        shrunk[(i, i)] = cov[(i, i)];
    }
    shrunk *= inflation * inflation;
    Reference::new(mean.as_slice(), &shrunk)
}

/// Runs one chain per initial point of `init` with the first reference `N(mean,
/// covariance)`, re-estimated during warm-up as the module doc says, and returns the kept
/// draws with their diagnostics. `logp` is the log-density up to a constant; a non-finite
/// value is outside the support.
pub fn sample_elliptical(
    logp: impl Fn(&[f64]) -> f64 + Sync,
    init: &[Vec<f64>],
    cfg: &EllipticalConfig,
    mean: &[f64],
    covariance: &DMatrix<f64>,
) -> Result<McmcResult, UqError> {
    check_chains(init, cfg.draws)?;
    let d = init[0].len();
    let bad = |name, value: String, allowed| {
        Err(UqError::InvalidArgument {
            name,
            value,
            allowed,
        })
    };
    if !(cfg.inflation.is_finite() && cfg.inflation >= 1.0) {
        return bad(
            "inflation",
            cfg.inflation.to_string(),
            "a number of at least 1",
        );
    }
    if mean.len() != d || mean.iter().any(|v| !v.is_finite()) {
        return bad(
            "reference mean",
            format!("{} values", mean.len()),
            "one finite value per parameter",
        );
    }
    if covariance.nrows() != d || covariance.ncols() != d {
        return bad(
            "covariance",
            format!("{} x {}", covariance.nrows(), covariance.ncols()),
            "a square matrix with one row per parameter",
        );
    }
    let Some(mut reference) = Reference::new(mean, covariance) else {
        return bad(
            "covariance",
            "not positive definite".into(),
            "a symmetric positive-definite matrix",
        );
    };
    let mut chains = Vec::with_capacity(init.len());
    for (c, x0) in init.iter().enumerate() {
        let lp = logp(x0);
        if !lp.is_finite() || x0.iter().any(|v| !v.is_finite()) {
            return Err(UqError::NonFiniteInitial { chain: c, logp: lp });
        }
        chains.push(Chain {
            x: DVector::from_column_slice(x0),
            lp,
            rng: stream(cfg.seed, 0xE111, c as u64),
            draws: Vec::new(),
            logp: Vec::new(),
            evaluations: 1,
            stuck: 0,
        });
    }
    // Warm-up: stages of doubling length; each keeps its states to re-estimate the
    // reference.
    for len in stages(cfg.warmup) {
        chains.par_iter_mut().for_each(|ch| {
            ch.draws.clear();
            for _ in 0..len {
                ch.step(&logp, &reference);
                ch.draws.push(ch.x.as_slice().to_vec());
            }
        });
        if len >= 4 {
            let halves: Vec<&[Vec<f64>]> = chains.iter().map(|c| &c.draws[len / 2..]).collect();
            if let Some(r) = pooled_reference(&halves, cfg.inflation) {
                reference = r;
            }
        }
    }
    let warm: Vec<(usize, usize)> = chains.iter().map(|c| (c.evaluations, c.stuck)).collect();
    chains.par_iter_mut().for_each(|ch| {
        ch.draws = Vec::with_capacity(cfg.draws);
        ch.logp = Vec::with_capacity(cfg.draws);
        for _ in 0..cfg.draws {
            ch.step(&logp, &reference);
            ch.draws.push(ch.x.as_slice().to_vec());
            ch.logp.push(ch.lp);
        }
    });
    // "Acceptance": the fraction of sampling iterations that moved.
    let moved: Vec<f64> = chains
        .iter()
        .zip(&warm)
        .map(|(c, w)| 1.0 - (c.stuck - w.1) as f64 / cfg.draws as f64)
        .collect();
    let acceptance = moved.iter().sum::<f64>() / moved.len() as f64;
    let evaluations = chains.iter().map(|c| c.evaluations).sum();
    McmcResult::from_chains(
        chains.iter().map(|c| c.draws.clone()).collect(),
        chains.iter().map(|c| c.logp.clone()).collect(),
        acceptance,
        moved,
        evaluations,
    )
}
