//! Global sensitivity of one output to every uncertain parameter (`exoskin sensitivity`):
//! Sobol first-order and total indices (Saltelli design, Jansen estimators, bootstrap 95 %
//! intervals) or Morris elementary-effects screening, over the space of
//! [`crate::uncertainty::Space`]. The estimators are `exoskin_uq`'s.
//!
//! Cost: a Sobol analysis with `N` base rows over `d` parameters needs `N (d + 2)` model
//! runs; Morris with `r` trajectories `r (d + 1)`. Where the scenario's transport does not
//! depend on the response (intact skin, microneedle channels on their own clock), rows that
//! differ from another only in response, fitted or potency parameters share its transport
//! run and only re-run the response, which is three orders of magnitude cheaper.

use crate::simulate::{run_with, Run};
use crate::uncertainty::{Control, Space};
use crate::ApiError;
use exoskin_model::Scenario;
use exoskin_response::{try_simulate_in_vivo, Injury};
use exoskin_transport::Transport;
use exoskin_uq::{MorrisDesign, SaltelliDesign};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The analysis to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Sobol indices with `samples` base rows and `bootstrap` resamples.
    Sobol { samples: usize, bootstrap: usize },
    /// Morris screening with `trajectories` on a `levels`-level grid.
    Morris { trajectories: usize, levels: usize },
}

/// The model runs of a design: the output at each point, with transport shared between
/// rows that differ only in response-side parameters where that is exact.
fn evaluate(
    scenario: &Scenario,
    name: &str,
    space: &Space,
    points: &[Vec<f64>],
    output: &str,
    control: &Control,
) -> Result<(Vec<f64>, usize), ApiError> {
    let shareable = match scenario {
        Scenario::InVivo(v) => Injury::of(&v.procedure).is_none_or(|i| i.microneedle),
        _ => false,
    };
    let transport_dims: Vec<usize> = (0..space.dim())
        .filter(|&j| !space.is_response_only(j))
        .collect();
    // rows grouped by their transport coordinates (bit patterns: exact equality)
    let mut groups: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
    for (k, u) in points.iter().enumerate() {
        let key: Vec<u64> = if shareable {
            transport_dims.iter().map(|&j| u[j].to_bits()).collect()
        } else {
            vec![k as u64]
        };
        groups.entry(key).or_default().push(k);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let total = points.len();
    let done = AtomicUsize::new(0);
    let tick = |n: usize| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(p) = control.progress {
            p(d, total);
        }
    };
    let pick = |r: &Run, k: usize| -> Result<f64, ApiError> {
        let y = crate::output::output(&r.json(), output)?;
        if y.is_finite() {
            Ok(y)
        } else {
            Err(ApiError::bad(format!(
                "output `{output}` is {y} at design row {k}"
            )))
        }
    };
    let results: Vec<Result<Vec<(usize, f64)>, ApiError>> = groups
        .par_iter()
        .map(|rows| {
            if control.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(ApiError::bad("the analysis was cancelled"));
            }
            let mut out = Vec::with_capacity(rows.len());
            let row_error = |k: usize, e: ApiError| {
                ApiError::bad(format!(
                    "design row {k} ({}): {e}",
                    describe(space, &points[k])
                ))
            };
            if let (true, Scenario::InVivo(v)) = (shareable && rows.len() > 1, scenario) {
                let (tp, rp0) = space.at(&points[rows[0]])?;
                let sim = try_simulate_in_vivo(v, &tp, &rp0)
                    .map_err(|e| row_error(rows[0], ApiError::bad(e.to_string())))?;
                for &k in rows {
                    let (_, rp) = space.at(&points[k])?;
                    let outcomes = sim.respond_with(v, &rp);
                    let r = Run {
                        scenario: scenario.clone(),
                        name: name.to_string(),
                        transport: Some(Transport::InVivo(sim.transport.clone())),
                        outcomes: Some(outcomes),
                    };
                    out.push((k, pick(&r, k).map_err(|e| row_error(k, e))?));
                }
            } else {
                for &k in rows {
                    let (tp, rp) = space.at(&points[k])?;
                    let r =
                        run_with(scenario.clone(), name, &tp, &rp).map_err(|e| row_error(k, e))?;
                    out.push((k, pick(&r, k).map_err(|e| row_error(k, e))?));
                }
            }
            tick(rows.len());
            Ok(out)
        })
        .collect();
    let mut y = vec![f64::NAN; total];
    for r in results {
        for (k, v) in r? {
            y[k] = v;
        }
    }
    Ok((y, groups.len()))
}

/// The parameters of a failing design row that sit in their prior's outer 5 % on either
/// side (the likeliest culprits), at most four, for the error message.
fn describe(space: &Space, u: &[f64]) -> String {
    let vals = space.values(u);
    let shown: Vec<String> = space
        .params
        .iter()
        .zip(u.iter().zip(&vals))
        .filter(|(_, (&q, _))| !(0.05..=0.95).contains(&q))
        .take(4)
        .map(|(p, (_, x))| format!("{} = {x:.3e}", p.name))
        .collect();
    if shown.is_empty() {
        "parameters near their medians".into()
    } else {
        format!("extremes: {}", shown.join(", "))
    }
}

/// Run the analysis and return its JSON document (`indices[]` ranked by importance).
pub fn analyze(
    scenario: &Scenario,
    name: &str,
    space: &Space,
    output: &str,
    method: Method,
    seed: u64,
    control: &Control,
) -> Result<Value, ApiError> {
    if space.dim() == 0 {
        return Err(ApiError::bad("no uncertain parameters to analyse"));
    }
    // the output must exist before thousands of runs are spent on it
    let nominal = crate::simulate::run(scenario.clone(), name)?;
    let y0 = crate::output::output(&nominal.json(), output)?;
    let uq = |e: exoskin_uq::UqError| ApiError::bad(e.to_string());
    let params = &space.params;
    let (rows, runs, transport_runs) = match method {
        Method::Sobol { samples, bootstrap } => {
            let design = SaltelliDesign::new(samples, space.dim(), seed).map_err(uq)?;
            let (y, transport_runs) =
                evaluate(scenario, name, space, design.points(), output, control)?;
            let idx = design.indices(&y, bootstrap, seed ^ 0x5eed).map_err(uq)?;
            let mut rows: Vec<Value> = params
                .iter()
                .zip(idx)
                .map(|(p, s)| {
                    json!({
                        "parameter": p.name,
                        "group": p.group,
                        "prior": p.prior,
                        "first_order": s.first_order,
                        "first_order_ci95": s.first_order_ci95,
                        "total_order": s.total_order,
                        "total_order_ci95": s.total_order_ci95,
                    })
                })
                .collect();
            rows.sort_by(|a, b| {
                b["total_order"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["total_order"].as_f64().unwrap_or(0.0))
            });
            (rows, y.len(), transport_runs)
        }
        Method::Morris {
            trajectories,
            levels,
        } => {
            let design = MorrisDesign::new(trajectories, space.dim(), levels, seed).map_err(uq)?;
            let (y, transport_runs) =
                evaluate(scenario, name, space, design.points(), output, control)?;
            let idx = design.indices(&y).map_err(uq)?;
            let mut rows: Vec<Value> = params
                .iter()
                .zip(idx)
                .map(|(p, m)| {
                    json!({
                        "parameter": p.name,
                        "group": p.group,
                        "prior": p.prior,
                        "mu": m.mu,
                        "mu_star": m.mu_star,
                        "mu_star_ci95": m.mu_star_ci95,
                        "sigma": m.sigma,
                    })
                })
                .collect();
            rows.sort_by(|a, b| {
                b["mu_star"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["mu_star"].as_f64().unwrap_or(0.0))
            });
            (rows, y.len(), transport_runs)
        }
    };
    let (method_name, settings) = match method {
        Method::Sobol { samples, bootstrap } => (
            "sobol",
            json!({"samples": samples, "bootstrap": bootstrap, "design": "Saltelli (A, B, AB_i) on Owen-scrambled Sobol points", "estimators": "Jansen (1999) first-order and total, percentile bootstrap 95 % intervals"}),
        ),
        Method::Morris {
            trajectories,
            levels,
        } => (
            "morris",
            json!({"trajectories": trajectories, "levels": levels, "units": "elementary effects per unit of the prior's quantile (unit cube)"}),
        ),
    };
    Ok(json!({
        "scenario": {"file": name, "name": scenario.experiment().name},
        "output": output,
        "nominal_output": y0,
        "method": method_name,
        "settings": settings,
        "seed": seed,
        "parameters": params.len(),
        "model_runs": runs,
        "transport_runs": transport_runs,
        "indices": rows,
    }))
}
