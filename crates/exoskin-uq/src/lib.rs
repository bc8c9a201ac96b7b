//! Uncertainty quantification for exoskin: quasi-random (Sobol) sampling of the unit cube,
//! global sensitivity indices (Saltelli design, Jansen estimators, bootstrap intervals;
//! Morris screening), and Markov-chain Monte Carlo with its convergence diagnostics.
//!
//! The kernels here are model-agnostic: they see points in the unit cube (or in parameter
//! space) and the model's outputs at them. Mapping the unit cube onto the priors of the
//! data files is the model crates' business.
