//! Virtual clinical trials over the exoskin response model: a population of participants,
//! split-face, parallel or crossover designs with a vehicle/placebo/untreated or reference
//! control, instrument readings with measurement noise, superiority, equivalence and
//! non-inferiority analyses with multiplicity corrections, and sample size.
//!
//! Layout: [`spec`] (trial files), [`sim`] (participants; the fast path and determinism are
//! documented there), [`analysis`] (tests per endpoint and visit, the participant flow, the
//! mixed model over visits), [`power`] (sample size), [`stats`], [`equivalence`] (TOST,
//! non-inferiority and their power), [`multiplicity`], [`models`] (ANCOVA, the two-period
//! crossover, the random-intercept mixed model) and [`dist`] (the statistics, checked against
//! scipy/statsmodels/pingouin by `scripts/check_stats_reference.py`), [`rng`]
//! (per-participant random streams). docs/trials.md explains when to use which design.

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
