//! `trial` and `power`: a virtual clinical trial and its sample size by simulation, as the
//! documents `exoskin trial --json` and `exoskin power FILE --json` print.

use crate::ApiError;
use exoskin_model::TransportParams;
use exoskin_response::ResponseParams;
use exoskin_trials::analysis::{analyze, EndpointResult};
use exoskin_trials::power::{simulate_power, PowerPoint, PowerResult};
use exoskin_trials::sim::{simulate, ModelResponder, Readings};
use exoskin_trials::spec::{ResponseMode, Trial};
use serde_json::{json, Value};
use std::time::Instant;

/// A finished trial: the readings, the analysis and its JSON document.
pub struct TrialRun {
    pub readings: Readings,
    pub results: Vec<EndpointResult>,
    /// Whether responses were interpolated on the grid (else one exact run per participant).
    pub grid: bool,
    pub doc: Value,
}

/// Run a trial as specified (participants, seed and response mode already set). `file` is
/// reported in the document; `on_message` hears phase changes and `progress` the number of
/// participants done out of the total.
pub fn run_trial(
    trial: &Trial,
    file: &str,
    on_message: &(dyn Fn(&str) + Sync),
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<TrialRun, ApiError> {
    let started = Instant::now();
    on_message(&format!(
        "transport: running {} arm scenario(s) once each ...",
        trial.arms.len()
    ));
    let t0 = Instant::now();
    let responder = ModelResponder::new(
        trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .map_err(|e| ApiError::bad(format!("{file}: {e}")))?;
    let t1 = Instant::now();
    let readings = simulate(trial, trial.participants, trial.seed, &responder, progress);
    let t2 = Instant::now();
    let results = analyze(trial, &readings);
    let phases = json!({
        "transport_and_grid": (t1 - t0).as_secs_f64(),
        "participants": (t2 - t1).as_secs_f64(),
        "analysis": t2.elapsed().as_secs_f64(),
    });
    let grid = responder.uses_grid();
    let doc = json!({
        "trial": trial.name,
        "file": file,
        "design": trial.design.name(),
        "participants": readings.participants,
        "arms": trial.arms.iter().map(|x| json!({"name": x.name, "scenario": x.scenario_file})).collect::<Vec<_>>(),
        "seed": trial.seed,
        "alpha": trial.alpha,
        "response_mode": if grid { "grid" } else { "exact" },
        "elapsed_s": started.elapsed().as_secs_f64(),
        "phases_s": phases,
        "endpoints": results,
    });
    Ok(TrialRun {
        readings,
        results,
        grid,
        doc,
    })
}

/// The sample size by simulation (`exoskin power FILE`): responses are interpolated on the
/// grid; `on_point` hears each sample size as it is finished. Returns the result and its
/// JSON document.
pub fn run_power(
    trial: &Trial,
    target: f64,
    replicates: usize,
    max_n: usize,
    on_message: &(dyn Fn(&str) + Sync),
    on_point: &dyn Fn(&PowerPoint),
) -> Result<(PowerResult, Value), ApiError> {
    let mut trial = trial.clone();
    // Many simulated trials: interpolate responses on the grid.
    trial.response = ResponseMode::Grid;
    let started = Instant::now();
    on_message("transport and response grid ...");
    let responder = ModelResponder::new(
        &trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .map_err(|e| ApiError::bad(format!("{}: {e}", trial.name)))?;
    let result = simulate_power(&trial, &responder, target, replicates, max_n, on_point);
    let mut doc = serde_json::to_value(&result).unwrap_or(Value::Null);
    doc["trial"] = json!(trial.name);
    doc["elapsed_s"] = json!(started.elapsed().as_secs_f64());
    Ok((result, doc))
}
