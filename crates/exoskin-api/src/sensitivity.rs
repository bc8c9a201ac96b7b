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
use crate::uncertainty::Space;
use crate::ApiError;
use exoskin_model::{Observer, Scenario, Tally};
use exoskin_response::{try_simulate_in_vivo, Injury};
use exoskin_transport::Transport;
use exoskin_uq::{MorrisDesign, SaltelliDesign};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The analysis to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Sobol indices with `samples` base rows and `bootstrap` resamples.
    Sobol { samples: usize, bootstrap: usize },
    /// Morris screening with `trajectories` on a `levels`-level grid.
    Morris { trajectories: usize, levels: usize },
    /// Morris screening of every parameter, then Sobol indices of the influential few (at
    /// most `keep`, each with mu* at least [`SCREEN_SHARE`] of the largest), the others held
    /// at their medians: a few parameters' indices estimated well instead of many estimated
    /// as noise ([`analyze`]).
    Screened {
        trajectories: usize,
        levels: usize,
        samples: usize,
        bootstrap: usize,
        keep: usize,
    },
}

/// A screened parameter goes on to the Sobol stage when its Morris mu* is at least this
/// share of the largest mu*.
pub const SCREEN_SHARE: f64 = 0.05;

/// How the model runs of a design are made: the scenario, the space, the output, and
/// whether transport is shared between rows that differ only in response-side parameters
/// (exact where the scenario's transport does not depend on the response).
pub struct Evaluator<'a> {
    scenario: &'a Scenario,
    name: &'a str,
    space: &'a Space,
    output: &'a str,
    /// `output`, parsed once.
    output_id: crate::output::OutputId,
    shareable: bool,
    transport_dims: Vec<usize>,
}

impl<'a> Evaluator<'a> {
    pub fn new(scenario: &'a Scenario, name: &'a str, space: &'a Space, output: &'a str) -> Self {
        let shareable = match scenario {
            Scenario::InVivo(v) => Injury::of(&v.procedure).is_none_or(|i| i.microneedle),
            _ => false,
        };
        let transport_dims = (0..space.dim())
            .filter(|&j| !space.is_response_only(j))
            .collect();
        Evaluator {
            scenario,
            name,
            space,
            output,
            // A name that does not parse is read from the document, whose error names it.
            output_id: crate::output::OutputId::parse(output)
                .unwrap_or_else(|_| crate::output::OutputId::document(output)),
            shareable,
            transport_dims,
        }
    }

    /// The key of the rows that may share point `k`'s transport run (its transport
    /// coordinates' bit patterns; the row itself where nothing is shared).
    pub fn group_key(&self, k: usize, u: &[f64]) -> Vec<u64> {
        if self.shareable {
            self.transport_dims
                .iter()
                .map(|&j| u[j].to_bits())
                .collect()
        } else {
            vec![k as u64]
        }
    }

    /// The points grouped by [`Evaluator::group_key`], groups in key order, rows ascending.
    pub fn groups(&self, points: &[Vec<f64>]) -> Vec<Vec<usize>> {
        let mut groups: BTreeMap<Vec<u64>, Vec<usize>> = BTreeMap::new();
        for (k, u) in points.iter().enumerate() {
            groups.entry(self.group_key(k, u)).or_default().push(k);
        }
        groups.into_values().collect()
    }

    /// The output at each of a group's points (`(design row, point)`, all with one
    /// group key): one transport run for the group where it is shared. A point's value
    /// depends on the point alone, not on the group it is run with.
    pub fn run_group(&self, rows: &[(usize, &[f64])]) -> Result<Vec<(usize, f64)>, ApiError> {
        let output = self.output;
        let pick = |r: &Run, k: usize| -> Result<f64, ApiError> {
            let y = self.output_id.value(r, &mut None)?;
            if y.is_finite() {
                Ok(y)
            } else {
                Err(ApiError::bad(format!(
                    "output `{output}` is {y} at design row {k}"
                )))
            }
        };
        let row_error = |k: usize, u: &[f64], e: ApiError| {
            ApiError::bad(format!("design row {k} ({}): {e}", describe(self.space, u)))
        };
        let mut out = Vec::with_capacity(rows.len());
        let Some(&(k0, u0)) = rows.first() else {
            return Ok(out);
        };
        if let (true, Scenario::InVivo(v)) = (self.shareable, self.scenario) {
            let (tp, rp0) = self.space.at(u0)?;
            let sim = try_simulate_in_vivo(v, &tp, &rp0)
                .map_err(|e| row_error(k0, u0, ApiError::bad(e.to_string())))?;
            for &(k, u) in rows {
                let (_, rp) = self.space.at(u)?;
                let outcomes = sim.respond_with(v, &rp);
                let r = Run {
                    scenario: self.scenario.clone(),
                    name: self.name.to_string(),
                    transport: Some(Transport::InVivo(sim.transport.clone())),
                    outcomes: Some(outcomes),
                    clocks: None,
                    effect: None,
                };
                out.push((k, pick(&r, k).map_err(|e| row_error(k, u, e))?));
            }
        } else {
            for &(k, u) in rows {
                let (tp, rp) = self.space.at(u)?;
                let r = run_with(self.scenario.clone(), self.name, &tp, &rp)
                    .map_err(|e| row_error(k, u, e))?;
                out.push((k, pick(&r, k).map_err(|e| row_error(k, u, e))?));
            }
        }
        Ok(out)
    }
}

/// The model runs of a design: the output at each point, with transport shared between
/// rows that differ only in response-side parameters where that is exact.
fn evaluate(
    ev: &Evaluator,
    points: &[Vec<f64>],
    observer: &dyn Observer,
) -> Result<(Vec<f64>, usize), ApiError> {
    let groups = ev.groups(points);
    let total = points.len();
    let tally = Tally::new(observer, total);
    let results: Vec<Result<Vec<(usize, f64)>, ApiError>> = groups
        .par_iter()
        .map(|rows| {
            observer.stop().check()?;
            let items: Vec<(usize, &[f64])> =
                rows.iter().map(|&k| (k, points[k].as_slice())).collect();
            let out = ev.run_group(&items)?;
            tally.add(rows.len())?;
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

/// The design of an analysis: its points in the unit cube of the space, in order.
pub enum Plan {
    Sobol {
        design: SaltelliDesign,
        bootstrap: usize,
    },
    Morris(MorrisDesign),
}

impl Plan {
    /// The design of `method` over `space` (seeded: the same arguments make the same points).
    pub fn new(space: &Space, method: Method, seed: u64) -> Result<Plan, ApiError> {
        if space.dim() == 0 {
            return Err(ApiError::bad("no uncertain parameters to analyse"));
        }
        let uq = |e: exoskin_uq::UqError| ApiError::bad(e.to_string());
        Ok(match method {
            Method::Screened { .. } => {
                return Err(ApiError::bad(
                    "a screened analysis runs in two stages, each its own design: run it in process, or shard its stages as --method morris and --method sobol --parameters ...",
                ))
            }
            Method::Sobol { samples, bootstrap } => Plan::Sobol {
                design: SaltelliDesign::new(samples, space.dim(), seed).map_err(uq)?,
                bootstrap,
            },
            Method::Morris {
                trajectories,
                levels,
            } => Plan::Morris(
                MorrisDesign::new(trajectories, space.dim(), levels, seed).map_err(uq)?,
            ),
        })
    }

    /// Every model run's point, in design order.
    pub fn points(&self) -> &[Vec<f64>] {
        match self {
            Plan::Sobol { design, .. } => design.points(),
            Plan::Morris(d) => d.points(),
        }
    }
}

/// The output at the scenario's nominal parameters; fails when the output does not exist
/// (checked before thousands of runs are spent on it).
pub fn nominal(scenario: &Scenario, name: &str, output: &str) -> Result<f64, ApiError> {
    let nominal = crate::simulate::run(scenario.clone(), name)?;
    crate::output::output(&nominal.json(), output)
}

/// Run the analysis and return its JSON document (`indices[]` ranked by importance). A
/// screened analysis's document is the Sobol stage's, with `method` "screened", the Morris
/// stage's rows as `screening`, the parameters kept as `kept`, and the runs of both stages.
pub fn analyze(
    scenario: &Scenario,
    name: &str,
    space: &Space,
    output: &str,
    method: Method,
    seed: u64,
    observer: &dyn Observer,
) -> Result<Value, ApiError> {
    if let Method::Screened {
        trajectories,
        levels,
        samples,
        bootstrap,
        keep,
    } = method
    {
        if keep == 0 {
            return Err(ApiError::BadInput {
                field: Some("keep".into()),
                message: "keep 0: screening must keep at least one parameter".into(),
            });
        }
        let screen = Method::Morris {
            trajectories,
            levels,
        };
        let sobol = Method::Sobol { samples, bootstrap };
        return screened(
            scenario,
            name,
            space,
            output,
            (screen, sobol, keep),
            seed,
            observer,
        );
    }
    let plan = Plan::new(space, method, seed)?;
    let y0 = nominal(scenario, name, output)?;
    let ev = Evaluator::new(scenario, name, space, output);
    let (y, transport_runs) = evaluate(&ev, plan.points(), observer)?;
    let analysis = Analysis {
        scenario,
        name,
        space,
        output,
        method,
        seed,
    };
    analysis.report(&plan, &y, y0, transport_runs)
}

/// Morris over `space`, then Sobol over the parameters it keeps (see [`Method::Screened`]).
fn screened(
    scenario: &Scenario,
    name: &str,
    space: &Space,
    output: &str,
    (screen, sobol, keep): (Method, Method, usize),
    seed: u64,
    observer: &dyn Observer,
) -> Result<Value, ApiError> {
    let morris = analyze(scenario, name, space, output, screen, seed, observer)?;
    let rows = morris["indices"].as_array().cloned().unwrap_or_default();
    let mu = |r: &Value| r["mu_star"].as_f64().unwrap_or(0.0);
    let top = rows.first().map_or(0.0, mu);
    // Rows are ranked by mu*, largest first.
    let kept: Vec<String> = rows
        .iter()
        .take(keep)
        .filter(|r| top > 0.0 && mu(r) >= SCREEN_SHARE * top)
        .filter_map(|r| r["parameter"].as_str().map(str::to_string))
        .collect();
    let left_out = rows.get(kept.len()).map_or(0.0, mu);
    let criterion = format!(
        "mu* at least {} % of the largest, at most {keep} parameters",
        SCREEN_SHARE * 100.0
    );
    let mut doc = if kept.is_empty() {
        // Nothing moves the output: no variance to share out.
        let mut d = morris.clone();
        d["indices"] = json!([]);
        d
    } else {
        analyze(
            scenario,
            name,
            &space.only(&kept)?,
            output,
            sobol,
            seed,
            observer,
        )?
    };
    let sum = |k: &str| -> f64 {
        doc["indices"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r[k].as_f64().unwrap_or(0.0))
            .sum()
    };
    let first_order_sum = sum("first_order");
    let runs = |d: &Value, k: &str| d[k].as_u64().unwrap_or(0);
    let (model_runs, transport_runs) = if kept.is_empty() {
        (runs(&morris, "model_runs"), runs(&morris, "transport_runs"))
    } else {
        (
            runs(&morris, "model_runs") + runs(&doc, "model_runs"),
            runs(&morris, "transport_runs") + runs(&doc, "transport_runs"),
        )
    };
    let sobol_settings = doc["settings"].clone();
    doc["method"] = json!("screened");
    doc["settings"] = json!({
        "screening": morris["settings"],
        "sobol": if kept.is_empty() { Value::Null } else { sobol_settings },
        "keep": keep,
        "criterion": criterion,
        "others": "held at their prior medians in the Sobol stage",
    });
    doc["parameters"] = json!(space.params.len());
    doc["kept"] = json!(kept);
    doc["largest_mu_star_left_out"] = json!(left_out);
    doc["first_order_sum"] = json!(first_order_sum);
    doc["model_runs"] = json!(model_runs);
    doc["transport_runs"] = json!(transport_runs);
    doc["screening"] = json!(rows);
    Ok(doc)
}

/// What an analysis's document names: the scenario (and its file), the space, the output,
/// the method and the seed.
pub struct Analysis<'a> {
    pub scenario: &'a Scenario,
    pub name: &'a str,
    pub space: &'a Space,
    pub output: &'a str,
    pub method: Method,
    pub seed: u64,
}

impl Analysis<'_> {
    /// The document of an analysis from the outputs `y` at the plan's points (design
    /// order), the nominal output and the number of transport runs.
    pub fn report(
        &self,
        plan: &Plan,
        y: &[f64],
        y0: f64,
        transport_runs: usize,
    ) -> Result<Value, ApiError> {
        let (scenario, name, output, method, seed) = (
            self.scenario,
            self.name,
            self.output,
            self.method,
            self.seed,
        );
        let uq = |e: exoskin_uq::UqError| ApiError::bad(e.to_string());
        let params = &self.space.params;
        let (rows, runs) = match plan {
            Plan::Sobol { design, bootstrap } => {
                let idx = design.indices(y, *bootstrap, seed ^ 0x5eed).map_err(uq)?;
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
                rank_by(&mut rows, "total_order");
                (rows, y.len())
            }
            Plan::Morris(design) => {
                let idx = design.indices(y).map_err(uq)?;
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
                rank_by(&mut rows, "mu_star");
                (rows, y.len())
            }
        };
        let (method_name, settings) = match method {
            Method::Screened { .. } => ("screened", json!({})),
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
}

/// Sort index rows by `key`, largest first (a missing value counts as 0).
fn rank_by(rows: &mut [Value], key: &str) {
    rows.sort_by(|a, b| {
        b[key]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a[key].as_f64().unwrap_or(0.0))
    });
}
