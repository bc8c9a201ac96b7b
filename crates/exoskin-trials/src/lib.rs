//! Virtual clinical trials over the exoskin response model: a population of participants,
//! split-face or parallel designs with a vehicle/placebo/untreated control, instrument
//! readings with measurement noise, statistics and sample size.
//!
//! Layout: [`spec`] (trial files), [`sim`] (participants; the fast path and determinism are
//! documented there), [`analysis`] (tests per endpoint and visit), [`power`] (sample size),
//! [`stats`] and [`dist`] (the statistics, checked against scipy/statsmodels by
//! `scripts/check_stats_reference.py`), [`rng`] (per-participant random streams).

pub mod analysis;
pub mod dist;
pub mod equivalence;
pub mod error;
pub mod models;
pub mod multiplicity;
pub mod power;
pub mod rng;
pub mod sim;
pub mod spec;
pub mod stats;

pub use analysis::{analyze, course, EndpointResult};
pub use error::TrialError;
pub use power::{simulate_power, PowerResult};
pub use sim::{simulate, ModelResponder, Readings, Responder};
pub use spec::{load_trial, parse_trial, Design, Trial};
