//! What exoskin infers from data, with the response model (`exoskin-response`) as its
//! forward problem.
//!
//! Layout: [`evidence`] (the peer-reviewed calibration and validation data: paired
//! differences, how each was measured), [`calibrate`] (the likelihood problem and its
//! Levenberg-Marquardt fit), [`posterior`] (the same problem sampled by MCMC, and the
//! shipped draws), [`effect`] (what the vesicles add over the vehicle arm, under common
//! posterior draws) and [`claims`] (the seed articles' claims, tested against the
//! posterior predictive).

pub mod calibrate;
pub mod claims;
pub mod effect;
pub mod evidence;
pub mod posterior;
