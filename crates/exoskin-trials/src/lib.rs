//! Virtual clinical trials over the exoskin response model.
pub mod dist;
pub mod rng;
pub mod stats;
