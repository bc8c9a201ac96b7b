//! What the vesicles add: a scenario's vesicle arm minus its control arm (the vehicle after
//! the same procedure, with the same regimen), under draws of the posterior.
//!
//! The two arms share the transport run (a vehicle carries no vesicle cargo, so its
//! response is the same run with no potency) and each draw's parameters (common random
//! numbers): the difference carries only what separates the arms. Each draw also gives the
//! product a new study-level dose multiplier `exp(study_dose_spread z)`, `z` standard normal
//! and the spread from the same draw, because a new product's potency and dose vary around
//! its class's as the calibration studies' did.

use crate::calibrate::higher_is_better;
use crate::posterior::Draws;
use exoskin_model::scenario::InVivo;
use exoskin_model::{Stop, Stopped};
use exoskin_response::params::ResponseParams;
use exoskin_response::tissue::OUTCOMES;
use exoskin_response::Simulation;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use serde::Serialize;
use std::collections::BTreeMap;

/// Posterior draws an effect uses by default.
pub const EFFECT_DRAWS: usize = 200;

/// Operations of one step of the response integration, for cost estimates at
/// `exoskin_transport::cost::OPERATIONS_PER_S`: the response alone over 12 weeks (4,200
/// steps) takes 0.69 ms (`response/respond_only_12_weeks`, docs/benchmarks.md), about 160
/// operations a step; 1,000 leaves a margin of 6 for slower machines.
pub const RESPONSE_STEP_OPERATIONS: f64 = 1000.0;

/// Estimated seconds (one core) of the effect of `v` over `draws` draws: two response runs
/// a draw (the vesicle arm and its control) on the shared transport run.
pub fn cost_seconds(v: &InVivo, draws: usize) -> f64 {
    let (duration_d, every_d) = exoskin_response::output_grid_d(v);
    let steps = exoskin_response::tissue::step_count(duration_d, every_d, v.sessions_h.len());
    2.0 * draws as f64 * steps as f64 * RESPONSE_STEP_OPERATIONS
        / exoskin_transport::cost::OPERATIONS_PER_S
}

/// One outcome's difference (vesicle minus control, percentage points) at each output time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Band {
    pub p05: Vec<f64>,
    pub p50: Vec<f64>,
    pub p95: Vec<f64>,
}

/// The vesicle arm minus its control arm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Effect {
    /// What the control arm is.
    pub control: String,
    /// What the interval covers.
    pub covers: String,
    /// Draws behind the percentiles.
    pub draws: usize,
    /// What a draw is, in words ("posterior draws", "ensemble members").
    pub draws_are: String,
    /// Output times, d (those of `outcomes.times_d`).
    pub times_d: Vec<f64>,
    /// Per outcome: the difference's 5th, 50th and 95th percentiles at each time.
    pub outcomes: BTreeMap<String, Band>,
    /// Per outcome: posterior probability that the vesicle arm is better at the last time
    /// (higher collagen, elastin, hydration, elasticity; lower TEWL, redness, cytokines,
    /// pores, melanin, wrinkles).
    pub probability_better: BTreeMap<String, f64>,
}

/// One draw's difference: per outcome of [`OUTCOMES`] (in that order), the vesicle arm minus
/// its control at each output time, percentage points.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub times_d: Vec<f64>,
    pub per_outcome: Vec<Vec<f64>>,
}

/// The control arm of `v`: the same scenario with the vehicle (no vesicles).
pub fn control_arm(v: &InVivo) -> InVivo {
    let mut control = v.clone();
    control.product.source = "vehicle".into();
    control
}

pub use exoskin_response::carries_vesicles;

/// The difference under one parameter set `q`, the vesicle arm's dose multiplied by a new
/// study's `exp(study_dose_spread z)`; `control` is [`control_arm`] of `v`. Both arms share
/// `sim`'s transport run.
pub fn difference(
    v: &InVivo,
    control: &InVivo,
    sim: &Simulation,
    q: &ResponseParams,
    z: f64,
) -> Difference {
    let ev = sim.respond_with_delivery(v, q, (q.v.study_dose_spread * z).exp());
    let ctl = sim.respond_with(control, q);
    let per_outcome = OUTCOMES
        .iter()
        .map(|n| {
            let (a, b) = (
                ev.series.get(n).unwrap_or(&[]),
                ctl.series.get(n).unwrap_or(&[]),
            );
            a.iter().zip(b).map(|(x, y)| x - y).collect()
        })
        .collect();
    Difference {
        times_d: ev.series.times_d.clone(),
        per_outcome,
    }
}

/// `n` standard normal numbers (the new-study dose deviates) from `seed`.
pub fn study_deviates(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

/// The vesicle arm of `v` (run as `sim`) minus its control arm under each parameter set of
/// `sets`; None when the product carries no vesicles (a control itself). `stop` is checked
/// before each draw.
pub fn effect(
    v: &InVivo,
    sim: &Simulation,
    sets: &[ResponseParams],
    covers: &str,
    seed: u64,
    stop: &Stop,
) -> Result<Option<Effect>, Stopped> {
    use rayon::prelude::*;
    let Some(first) = sets.first() else {
        return Ok(None);
    };
    if !carries_vesicles(v, first) {
        return Ok(None);
    }
    let control = control_arm(v);
    let zs = study_deviates(seed, sets.len());
    let diffs: Vec<Difference> = sets
        .par_iter()
        .zip(&zs)
        .map(|(q, z)| {
            stop.check()?;
            Ok(difference(v, &control, sim, q, *z))
        })
        .collect::<Result<_, Stopped>>()?;
    Ok(summarise(v, &diffs, covers, "posterior draws"))
}

/// The effect of `v` from the differences of its draws (all on the same output times);
/// None without draws or when their times differ.
pub fn summarise(
    v: &InVivo,
    diffs: &[Difference],
    covers: &str,
    draws_are: &str,
) -> Option<Effect> {
    let times_d = diffs.first()?.times_d.clone();
    if times_d.is_empty() || diffs.iter().any(|d| d.times_d != times_d) {
        return None;
    }
    let mut outcomes = BTreeMap::new();
    let mut probability_better = BTreeMap::new();
    for (k, name) in OUTCOMES.iter().enumerate() {
        let mut band = Band {
            p05: Vec::with_capacity(times_d.len()),
            p50: Vec::with_capacity(times_d.len()),
            p95: Vec::with_capacity(times_d.len()),
        };
        for t in 0..times_d.len() {
            let mut col: Vec<f64> = diffs.iter().map(|d| d.per_outcome[k][t]).collect();
            col.sort_by(f64::total_cmp);
            band.p05.push(exoskin_uq::quantile(&col, 0.05));
            band.p50.push(exoskin_uq::quantile(&col, 0.5));
            band.p95.push(exoskin_uq::quantile(&col, 0.95));
        }
        let last = times_d.len() - 1;
        let up = higher_is_better(name);
        let better = diffs
            .iter()
            .filter(|d| {
                let x = d.per_outcome[k][last];
                if up {
                    x > 0.0
                } else {
                    x < 0.0
                }
            })
            .count();
        probability_better.insert(name.to_string(), better as f64 / diffs.len() as f64);
        outcomes.insert(name.to_string(), band);
    }
    Some(Effect {
        control: format!(
            "the vehicle (no vesicles) after the same procedure ({}), with the same regimen",
            procedure_name(v)
        ),
        covers: covers.to_string(),
        draws: diffs.len(),
        draws_are: draws_are.to_string(),
        times_d,
        outcomes,
        probability_better,
    })
}

/// The effect under the shipped posterior ([`EFFECT_DRAWS`] draws of
/// data/response_posterior.csv), with the shipped parameters elsewhere; None without a
/// readable sample or for a product without vesicles.
pub fn shipped_effect(
    v: &InVivo,
    sim: &Simulation,
    rp: &ResponseParams,
    stop: &Stop,
) -> Result<Option<Effect>, Stopped> {
    let Ok(draws) = Draws::shipped() else {
        return Ok(None);
    };
    let sets = draws.parameter_sets(rp, EFFECT_DRAWS.min(draws.rows.len()), 0);
    effect(
        v,
        sim,
        &sets,
        "the posterior of the calibrated parameters (the vesicles' signed effects, the inflammation-remodelling coupling and the procedure's fitted magnitudes and clocks, data/response_posterior.csv) and a new product's dose around its class's (`study_dose_spread`); transport and the unfitted parameters at their values (exoskin simulate --uncertainty N samples those too)",
        2026,
        stop,
    )
}

fn procedure_name(v: &InVivo) -> &'static str {
    use exoskin_model::scenario::Procedure;
    match v.procedure {
        Procedure::None => "none",
        Procedure::Microneedling { .. } => "microneedling",
        Procedure::FractionalCo2 { .. } => "fractional CO2",
        Procedure::ChemicalPeel { .. } => "chemical peel",
    }
}
