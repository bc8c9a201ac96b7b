//! Every answer with its uncertainty: the space of uncertain parameters, ensembles over it
//! and the bands they give.
//!
//! The space holds every parameter of `data/transport.toml` and `data/response.toml` with
//! a `prior` (see [`exoskin_model::prior`]), the fitted response parameters with their
//! posterior, and the potency multiplier of the scenario's vesicle source where
//! `data/potency.toml` gives it a `range_factor`. A point `u` of the unit cube maps onto
//! parameter values by each prior's quantile function, so quasi-random (Sobol) points cover
//! the priors evenly.
//!
//! The shipped space ([`Space::shipped`]) takes the fitted parameters jointly from the MCMC
//! sample (`data/response_posterior.csv`, 2,000 draws): one dimension, `response.posterior`,
//! picks a draw, so the fit's correlations and heavy tails are kept (the Laplace
//! approximation understates them: `tissue_delivery_factor` spans 0.010-2,079 in the
//! sample). [`Space::new`] keeps the Laplace posterior (log-normal about the fit with its
//! SD, `data/response_fit.toml`), one dimension per fitted parameter.
//!
//! An ensemble runs the scenario once per point; bands are the 5th, 50th and 95th
//! percentiles across members at every output time. Members are computed independently
//! and collected in order, so results are the same for any number of threads.

use crate::simulate::{run, run_until, Run};
use crate::ApiError;
use exoskin_model::{Observer, Prior, Scenario, Tally, TransportParams};
use exoskin_response::ResponseParams;
use exoskin_transport::Transport;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Which parameter a dimension of the space sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// `data/transport.toml`.
    Transport,
    /// `data/response.toml` (not fitted).
    Response,
    /// A fitted response parameter (Laplace posterior).
    Fitted,
    /// A draw of all fitted response parameters together from the MCMC sample.
    Posterior,
    /// The potency multiplier of a vesicle source.
    Potency,
    /// A measured input of the product (a batch certificate's particle concentration or
    /// size mode), drawn about the measured value with its measurement uncertainty
    /// ([`Space::with_measurements`]).
    Measurement,
}

/// One uncertain parameter.
#[derive(Debug, Clone, Serialize)]
pub struct Uncertain {
    /// `transport.<name>`, `response.<name>` or `potency.<source>`.
    pub name: String,
    pub group: Group,
    pub prior: Prior,
    /// Where the prior comes from (the data file's source, or the fit).
    pub source: String,
    #[serde(skip)]
    key: String,
}

impl Uncertain {
    /// A measured product input: `key` is `particles_per_ml` or `size.mode_nm` (what
    /// [`Space::scenario_at`] sets), named `product.<key>`.
    pub fn measured(key: &str, prior: Prior, source: impl Into<String>) -> Uncertain {
        Uncertain {
            name: format!("product.{key}"),
            group: Group::Measurement,
            prior,
            source: source.into(),
            key: key.to_string(),
        }
    }
}

/// The uncertain parameters of a scenario and the base values they perturb.
#[derive(Debug, Clone)]
pub struct Space {
    pub params: Vec<Uncertain>,
    tp: TransportParams,
    rp: ResponseParams,
    /// The posterior sample a `Posterior` dimension draws from.
    draws: Option<&'static exoskin_inference::posterior::Draws>,
    /// Spread of the drawn fitted values about the fit, in log space (1: the sample itself;
    /// see [`Space::scaled`]).
    draw_spread: f64,
}

impl Space {
    /// The shipped parameters' space for a scenario, the fitted parameters drawn jointly from
    /// the shipped MCMC sample.
    pub fn shipped(scenario: &Scenario) -> Result<Space, ApiError> {
        let rp = ResponseParams::shipped().map_err(|e| ApiError::bad(e.to_string()))?;
        let draws = exoskin_inference::posterior::Draws::shipped()
            .map_err(|e| ApiError::bad(e.to_string()))?;
        Space::new(scenario, TransportParams::defaults(), rp)?.with_draws(draws)
    }

    /// Replace the fitted parameters' Laplace dimensions by one dimension that picks a row of
    /// a posterior sample (all fitted parameters at once). The sample must hold every fitted
    /// parameter (its other columns, the calibration's measurement scales and study effects,
    /// are not used).
    pub fn with_draws(
        mut self,
        draws: &'static exoskin_inference::posterior::Draws,
    ) -> Result<Space, ApiError> {
        if self.rp.fitted.keys().any(|k| !draws.names.contains(k)) {
            return Err(ApiError::bad(format!(
                "the posterior sample's parameters ({}) are not the fitted ones ({}); run `exoskin calibrate --mcmc` again",
                draws.names.join(", "),
                self.rp.fitted.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let at = self
            .params
            .iter()
            .position(|p| p.group == Group::Fitted)
            .unwrap_or(self.params.len());
        self.params.retain(|p| p.group != Group::Fitted);
        self.params.insert(
            at.min(self.params.len()),
            Uncertain {
                name: "response.posterior".into(),
                group: Group::Posterior,
                prior: Prior::new(exoskin_model::PriorKind::Uniform, 0.5, 0.0, 1.0, "draw")
                    .map_err(|e| ApiError::bad(e.to_string()))?,
                source: format!(
                    "a draw of the {} fitted parameters ({}) from the {} posterior draws of data/response_posterior.csv (exoskin calibrate --mcmc); the coordinate picks the row",
                    draws.names.len(),
                    draws.names.join(", "),
                    draws.rows.len()
                ),
                key: String::new(),
            },
        );
        self.draws = Some(draws);
        Ok(self)
    }

    /// The space around given parameters.
    pub fn new(
        scenario: &Scenario,
        tp: &TransportParams,
        rp: &ResponseParams,
    ) -> Result<Space, ApiError> {
        let mut params = Vec::new();
        let data = |e: exoskin_model::PriorError| ApiError::bad(format!("data files: {e}"));
        for (name, p) in tp.entries() {
            if let Some(prior) = Prior::of(name, p) {
                params.push(Uncertain {
                    name: format!("transport.{name}"),
                    group: Group::Transport,
                    prior: prior.map_err(data)?,
                    source: p.source.clone(),
                    key: name.to_string(),
                });
            }
        }
        for (name, m) in &rp.meta {
            if let Some(f) = rp.fitted.get(name) {
                // Signed parameters (the vesicle effects) are normal about the fit, clipped
                // to their range; positive ones log-normal.
                let prior = if rp.is_signed(name) || f.value <= 0.0 {
                    let [lo, hi] = m.range.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
                    let p = Prior::normal_sd(f.value, f.sd);
                    Prior {
                        lo: p.lo.max(lo),
                        hi: p.hi.min(hi),
                        ..p
                    }
                } else {
                    Prior::log_normal_sd(f.value, f.sd / f.value)
                };
                params.push(Uncertain {
                    name: format!("response.{name}"),
                    group: Group::Fitted,
                    prior,
                    source: format!(
                        "posterior of the fit (data/response_fit.toml): {} with SD {}",
                        f.value, f.sd
                    ),
                    key: name.clone(),
                });
            } else if let Some(prior) = Prior::of(name, m) {
                params.push(Uncertain {
                    name: format!("response.{name}"),
                    group: Group::Response,
                    prior: prior.map_err(data)?,
                    source: m.source.clone(),
                    key: name.clone(),
                });
            }
        }
        let source = match scenario {
            Scenario::InVivo(v) => Some(v.product.source.as_str()),
            Scenario::CellCulture(c) => Some(c.source.as_str()),
            Scenario::FranzCell(_) => None,
        };
        if let Some(s) = source {
            if let Some(prior) = rp.potency_prior(s) {
                params.push(Uncertain {
                    name: format!("potency.{s}"),
                    group: Group::Potency,
                    prior,
                    source: "data/potency.toml range_factor".into(),
                    key: s.to_string(),
                });
            }
        }
        Ok(Space {
            params,
            tp: tp.clone(),
            rp: rp.clone(),
            draws: None,
            draw_spread: 1.0,
        })
    }

    /// The same space with measured product inputs added as dimensions after the others
    /// (see [`Uncertain::measured`]); an ensemble then draws the product's values per member.
    pub fn with_measurements(mut self, inputs: Vec<Uncertain>) -> Space {
        self.params.extend(inputs);
        self
    }

    /// The scenario at a point of the unit cube: its product's measured inputs set from the
    /// `Measurement` dimensions (the scenario itself where there are none, or for a kind
    /// without a product).
    pub fn scenario_at(&self, scenario: &Scenario, u: &[f64]) -> Scenario {
        let mut s = scenario.clone();
        if let Scenario::InVivo(v) = &mut s {
            for (p, &x) in self.params.iter().zip(u) {
                if p.group != Group::Measurement {
                    continue;
                }
                let x = p.prior.quantile(x);
                match (p.key.as_str(), &mut v.product.size) {
                    ("particles_per_ml", _) => v.product.particles_per_ml = x,
                    (
                        "size.mode_nm",
                        exoskin_model::SizeDistribution::LogNormal { mode_nm, .. },
                    ) => *mode_nm = x,
                    _ => {}
                }
            }
        }
        s
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.params.len()
    }

    /// The same space with every prior's spread scaled by `factor` (0..1) about its median.
    /// A posterior sample's draws move towards the fit in log space by the same factor.
    pub fn scaled(&self, factor: f64) -> Space {
        let mut s = self.clone();
        for p in &mut s.params {
            if p.group != Group::Posterior {
                p.prior = p.prior.scaled(factor);
            }
        }
        s.draw_spread *= factor.clamp(0.0, 1.0);
        s
    }

    /// Keep only the named parameters (full names, or the part after the group's dot).
    pub fn only(&self, names: &[String]) -> Result<Space, ApiError> {
        let mut s = self.clone();
        let mut keep = Vec::new();
        for n in names {
            let hit = self
                .params
                .iter()
                .find(|p| p.name == *n || p.key == *n)
                .ok_or_else(|| ApiError::BadInput {
                    field: Some("parameters".into()),
                    message: format!(
                        "`{n}` is not an uncertain parameter of this scenario; they are: {}",
                        self.params
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            if !keep.iter().any(|k: &Uncertain| k.name == hit.name) {
                keep.push(hit.clone());
            }
        }
        s.params = keep;
        Ok(s)
    }

    /// Parameter values at a point of the unit cube (one coordinate per dimension).
    pub fn values(&self, u: &[f64]) -> Vec<f64> {
        self.params
            .iter()
            .zip(u)
            .map(|(p, &x)| p.prior.quantile(x))
            .collect()
    }

    /// The transport and response parameters at a point of the unit cube.
    pub fn at(&self, u: &[f64]) -> Result<(TransportParams, ResponseParams), ApiError> {
        let mut tp = self.tp.clone();
        let mut rp = self.rp.clone();
        for (p, x) in self.params.iter().zip(self.values(u)) {
            match p.group {
                Group::Transport => {
                    if let Some(slot) = tp.get_mut(&p.key) {
                        slot.value = x;
                    }
                }
                Group::Response | Group::Fitted => rp
                    .set(&p.key, x)
                    .map_err(|e| ApiError::bad(e.to_string()))?,
                Group::Posterior => {
                    let Some(d) = self.draws else { continue };
                    let row = ((x * d.rows.len() as f64) as usize).min(d.rows.len() - 1);
                    for (name, &v) in d.names.iter().zip(&d.rows[row].3) {
                        // Measurement scales, class potencies and study effects of the
                        // calibration read its data; they are not parameters of a prediction.
                        let Some(fit) = self.rp.fitted.get(name).map(|f| f.value) else {
                            continue;
                        };
                        let v = if self.draw_spread == 1.0 {
                            v
                        } else if self.rp.is_signed(name) || fit <= 0.0 {
                            fit + (v - fit) * self.draw_spread
                        } else {
                            fit * (v / fit).powf(self.draw_spread)
                        };
                        rp.set(name, v).map_err(|e| ApiError::bad(e.to_string()))?;
                    }
                }
                Group::Potency => rp
                    .scale_potency(&p.key, x)
                    .map_err(|e| ApiError::bad(e.to_string()))?,
                // Product inputs set the scenario, not the parameters ([`Space::scenario_at`]).
                Group::Measurement => {}
            }
        }
        Ok((tp, rp))
    }

    /// Whether dimension `j` leaves transport unchanged (response, fitted or potency).
    pub fn is_response_only(&self, j: usize) -> bool {
        !matches!(self.params[j].group, Group::Transport | Group::Measurement)
    }
}

/// What an ensemble found at every output time: the member series by name.
struct MemberSeries {
    /// Outcome series (`outcomes.<name>`) and scalars as one-element series.
    outcomes: Vec<(String, Vec<f64>)>,
    /// Cumulative fraction of the applied dose that reached the dermis, at transport times.
    reached_dermis_fraction: Option<Vec<f64>>,
    /// The member's vesicle arm minus its control arm (in-vivo products with vesicles).
    difference: Option<exoskin_inference::effect::Difference>,
}

fn member_series(r: &Run) -> MemberSeries {
    // The typed outcomes, as the document would give them: series with every value finite
    // (a non-finite value is null there) and the closure times where known.
    let mut outcomes = Vec::new();
    if let Some(o) = &r.outcomes {
        for (k, ys) in o.series.named() {
            if ys.iter().all(|y| y.is_finite()) {
                outcomes.push((k.to_string(), ys.to_vec()));
            }
        }
        for (k, x) in [
            ("wound_closure_h", o.wound_closure_h),
            ("channel_closure_h", o.channel_closure_h),
        ] {
            if let Some(x) = x.filter(|x| x.is_finite()) {
                outcomes.push((k.to_string(), vec![x]));
            }
        }
    }
    let reached_dermis_fraction = r.transport.as_ref().and_then(|t| match t {
        Transport::InVivo(v) => {
            let run = &v.run;
            let applied = *run.applied_per_cm2.last()?;
            Some(
                run.tracked_per_cm2
                    .iter()
                    .map(|x| if applied > 0.0 { x / applied } else { 0.0 })
                    .collect(),
            )
        }
        _ => None,
    });
    MemberSeries {
        outcomes,
        reached_dermis_fraction,
        difference: None,
    }
}

/// The difference of member `r` (run with `rp`), its new study's dose deviate `z`: the
/// vesicle arm minus the control arm on the member's own transport run.
fn member_difference(
    r: &Run,
    rp: &ResponseParams,
    z: f64,
) -> Option<exoskin_inference::effect::Difference> {
    use exoskin_inference::effect::{carries_vesicles, control_arm, difference};
    match (&r.scenario, r.simulation()) {
        (Scenario::InVivo(v), Some(sim)) if carries_vesicles(v, rp) => {
            Some(difference(v, &control_arm(v), &sim, rp, z))
        }
        _ => None,
    }
}

/// An ensemble's result: the nominal run, its document with bands, and the counts.
pub struct Ensemble {
    pub nominal: Run,
    /// The nominal run's JSON with `outcomes.bands`, `transport.bands` and `uncertainty`.
    pub doc: Value,
    pub members: usize,
    pub failed: usize,
}

/// Percentiles 5, 50, 95 of one time's member values.
fn band_at(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    [
        exoskin_uq::quantile(values, 0.05),
        exoskin_uq::quantile(values, 0.5),
        exoskin_uq::quantile(values, 0.95),
    ]
}

/// Bands of equal-length member series (None if lengths differ).
fn bands(series: &[&Vec<f64>]) -> Option<[Vec<f64>; 3]> {
    let len = series.first()?.len();
    if series.iter().any(|s| s.len() != len) {
        return None;
    }
    let mut out = [
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
    ];
    let mut col = vec![0.0; series.len()];
    for t in 0..len {
        for (c, s) in col.iter_mut().zip(series) {
            *c = s[t];
        }
        let b = band_at(&mut col);
        for k in 0..3 {
            out[k].push(b[k]);
        }
    }
    Some(out)
}

fn band_json(b: [Vec<f64>; 3], scalar: bool) -> Value {
    if scalar {
        json!({"p05": b[0][0], "p50": b[1][0], "p95": b[2][0]})
    } else {
        let [p05, p50, p95] = b;
        json!({"p05": p05, "p50": p50, "p95": p95})
    }
}

/// What an ensemble's effect covers.
pub const EFFECT_COVERS: &str = "every uncertain quantity of the ensemble: the posterior of the calibrated parameters (data/response_posterior.csv), every other parameter's prior (transport and response), the source's potency range and a new product's dose around its class's (`study_dose_spread`); each member's two arms share its transport run and parameters";

/// Run the scenario at its nominal parameters and as an ensemble of `members` Sobol draws
/// over `space` (seeded), and return the nominal document with bands and, for an in-vivo
/// product with vesicles, the `effect` over every member (vesicle arm minus its control on
/// the member's own transport run and parameters).
pub fn ensemble(
    scenario: &Scenario,
    name: &str,
    space: &Space,
    members: usize,
    seed: u64,
    observer: &dyn Observer,
) -> Result<Ensemble, ApiError> {
    use exoskin_model::scenario::{MAX_MEMBERS, MIN_MEMBERS};
    if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&members) {
        return Err(ApiError::BadInput {
            field: Some("uncertainty".into()),
            message: format!(
                "{members} ensemble members is outside the allowed range {MIN_MEMBERS} to {MAX_MEMBERS}"
            ),
        });
    }
    let nominal = run(scenario.clone(), name)?;
    let mut doc = nominal.json();
    // One coordinate beyond the space's: a new study's dose deviate for the effect. Sobol
    // coordinates are scrambled independently, so the space's own are those of a point set
    // without it.
    let points = exoskin_uq::sobol_points(members, space.dim() + 1, seed)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let tally = Tally::new(observer, members);
    let results: Vec<Result<MemberSeries, ApiError>> = points
        .par_iter()
        .map(|u| {
            tally.check()?;
            let out = space.at(u).and_then(|(tp, rp)| {
                let r = run_until(
                    space.scenario_at(scenario, u),
                    name,
                    &tp,
                    &rp,
                    observer.stop(),
                )?;
                let mut m = member_series(&r);
                // The new study's dose deviate: the normal quantile of the member's
                // own coordinate beyond the space's (independent of every prior).
                let z = exoskin_uq::normal_quantile(u[space.dim()]);
                m.difference = member_difference(&r, &rp, z);
                Ok(m)
            });
            // a stop is seen by the next member, and below
            let _ = tally.add(1);
            out
        })
        .collect();
    observer.stop().check()?;
    let ok: Vec<&MemberSeries> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed = members - ok.len();
    let first_error = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .map(ToString::to_string);
    // Too many failed members would bias the bands: refuse rather than report them.
    if ok.len() < MIN_MEMBERS || failed * 10 > members {
        return Err(ApiError::bad(format!(
            "{failed} of {members} ensemble members failed (first: {}); the bands would be biased",
            first_error.clone().unwrap_or_default()
        )));
    }
    if let Some(Value::Object(o)) = doc.get_mut("outcomes") {
        let mut b = Map::new();
        for (k, nominal_series) in ok[0].outcomes.iter() {
            let series: Vec<&Vec<f64>> = ok
                .iter()
                .filter_map(|m| m.outcomes.iter().find(|(n, _)| n == k).map(|(_, s)| s))
                .collect();
            if series.len() != ok.len() {
                continue; // defined in some members only (e.g. a closure time): no band
            }
            if let Some(x) = bands(&series) {
                b.insert(
                    k.clone(),
                    band_json(
                        x,
                        nominal_series.len() == 1 && o.get(k).is_some_and(|v| !v.is_array()),
                    ),
                );
            }
        }
        o.insert("bands".into(), Value::Object(b));
    }
    if let Some(Value::Object(t)) = doc.get_mut("transport") {
        let series: Vec<&Vec<f64>> = ok
            .iter()
            .filter_map(|m| m.reached_dermis_fraction.as_ref())
            .collect();
        if series.len() == ok.len() {
            if let Some(x) = bands(&series) {
                t.insert(
                    "bands".into(),
                    json!({"reached_dermis_fraction": band_json(x, false)}),
                );
            }
        }
    }
    let diffs: Vec<exoskin_inference::effect::Difference> =
        ok.iter().filter_map(|m| m.difference.clone()).collect();
    let mut nominal = nominal;
    if let Scenario::InVivo(v) = scenario {
        if !diffs.is_empty() && diffs.len() == ok.len() {
            nominal.effect = exoskin_inference::effect::summarise(
                v,
                &diffs,
                EFFECT_COVERS,
                "ensemble members (every uncertain quantity)",
            );
        }
    }
    if let (Some(e), Some(m)) = (&nominal.effect, doc.as_object_mut()) {
        m.insert(
            "effect".into(),
            serde_json::to_value(e).unwrap_or(Value::Null),
        );
    }
    doc["uncertainty"] = json!({
        "members": members,
        "failed_members": failed,
        "first_failure": first_error,
        "seed": seed,
        "sampling": "Owen-scrambled Sobol points mapped through each prior's quantile function",
        "band": "5th to 95th percentile across members (90 %)",
        "parameters": space.params,
    });
    Ok(Ensemble {
        nominal,
        doc,
        members,
        failed,
    })
}

impl Ensemble {
    /// The nominal run's summary followed by the ensemble's 90 % intervals.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut o = self.nominal.summary();
        let _ = writeln!(
            o,
            "\nUncertainty: {} members over {} uncertain parameters ({} failed); median [90 % interval]",
            self.members,
            self.doc["uncertainty"]["parameters"]
                .as_array()
                .map_or(0, Vec::len),
            self.failed
        );
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        if let Some(b) = self.doc["transport"]["bands"]["reached_dermis_fraction"].as_object() {
            let last = |k: &str| {
                b[k].as_array()
                    .and_then(|a| a.last())
                    .map(f)
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                o,
                "  reached the dermis (fraction of applied): {:.3e} [{:.3e}, {:.3e}]",
                last("p50"),
                last("p05"),
                last("p95")
            );
        }
        let bands = &self.doc["outcomes"]["bands"];
        let times: Vec<f64> = self.doc["outcomes"]["times_d"]
            .as_array()
            .map(|a| a.iter().map(f).collect())
            .unwrap_or_default();
        if let (Some(bm), Some(&end)) = (bands.as_object(), times.last()) {
            let mut days: Vec<f64> = [14.0, 28.0, 84.0]
                .into_iter()
                .filter(|d| *d <= end + 1e-9)
                .collect();
            if days.last().is_none_or(|d| (end - d).abs() > 1e-6) {
                days.push(end);
            }
            for (k, b) in bm {
                if let Some(p50) = b["p50"].as_f64() {
                    let _ = writeln!(
                        o,
                        "  {k:<28} {:.1} [{:.1}, {:.1}]",
                        p50,
                        f(&b["p05"]),
                        f(&b["p95"])
                    );
                    continue;
                }
                let at = |q: &str, d: f64| -> f64 {
                    let ys: Vec<f64> = b[q]
                        .as_array()
                        .map(|a| a.iter().map(f).collect())
                        .unwrap_or_default();
                    if ys.len() != times.len() {
                        return f64::NAN;
                    }
                    crate::output::interpolate(&times, &ys, d).unwrap_or(f64::NAN)
                };
                let _ = write!(o, "  {k:<28}");
                for &d in &days {
                    let _ = write!(
                        o,
                        " day {}: {:+.2} [{:+.2}, {:+.2}]",
                        d,
                        at("p50", d),
                        at("p05", d),
                        at("p95", d)
                    );
                }
                let _ = writeln!(o);
            }
        }
        o
    }
}
