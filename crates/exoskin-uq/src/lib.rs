//! Uncertainty quantification for exoskin: quasi-random (Sobol) sampling of the unit cube,
//! global sensitivity indices (Saltelli design, Jansen estimators, bootstrap intervals;
//! Morris screening), and Markov-chain Monte Carlo with its convergence diagnostics.
//!
//! The kernels here are model-agnostic: they see points in the unit cube (or in parameter
//! space) and the model's outputs at them. Mapping the unit cube onto the priors of the
//! data files is the model crates' business.
//!
//! **What is owned here and why.** The estimators are a few dozen lines each, and a
//! sensitivity or convergence figure is only worth what its estimator is: we need exact
//! control of which formula is used (Jansen 1999 for first and total indices, with the
//! Saltelli 2010 first-order formula as an option), of the order of the design's rows, and
//! of every random draw, so that a result is bit-identical for a seed on any number of
//! threads. SALib (Herman & Usher 2017) is the reference for the design and the indices and
//! ArviZ (Kumar et al. 2019) for split-R-hat and the effective sample sizes:
//! `scripts/check_salib.py` runs both on the very points, outputs and chains produced here
//! and compares the numbers. The samplers are an adaptive random-walk Metropolis ([`mcmc`])
//! and elliptical slice sampling against a Gaussian reference re-estimated in warm-up
//! ([`elliptical`]: the calibration's, many times more effective per evaluation on its
//! 26-dimensional posterior), each small enough to own and checked against known posteriors.
//!
//! **What comes from crates.** The Sobol sequence and its Owen scrambling are
//! `sobol_burley` (Joe & Kuo direction numbers, Burley 2020 hash-based scrambling); random
//! numbers are `rand_xoshiro` and `rand_distr`; the proposal's Cholesky factor is
//! `nalgebra`'s; the inverse normal distribution function is `statrs`'s; chains run in
//! parallel on `rayon`.
//!
//! Layout: [`sobol`] (points), [`saltelli`] (Sobol indices), [`morris`] (elementary
//! effects), [`stats`] (quantiles), [`mcmc`] and [`elliptical`] (the samplers) and [`diagnostics`] (R-hat, ESS).

pub mod diagnostics;
pub mod elliptical;
pub mod error;
pub mod mcmc;
pub mod morris;
mod rng;
pub mod saltelli;
pub mod sobol;
pub mod stats;

pub use diagnostics::{ess_bulk, ess_mean, ess_tail, split_rhat};
pub use elliptical::{sample_elliptical, EllipticalConfig};
pub use error::UqError;
pub use mcmc::{sample, sample_preconditioned, McmcConfig, McmcResult};
pub use morris::{MorrisDesign, MorrisIndex};
pub use saltelli::{FirstOrderEstimator, SaltelliDesign, SobolIndex};
pub use sobol::sobol_points;
pub use stats::{checked_quantile, normal_quantile, quantile};
