//! The credibility report (`exoskin credibility --out DIR`): a credibility report in the shape of ASME V&V 40-2018
//! ("Assessing Credibility of Computational Modeling through Verification and Validation:
//! Application to Medical Devices") for one stated context of use: the bundled microneedling
//! scenario.
//!
//! The credibility factors, each with its activity and acceptance criterion, are fixed in
//! this file ([`FACTORS`]) before any result is computed; the report states them first and
//! judges each result against them at the end. Every figure is computed when the command
//! runs: code verification against exact solutions and conservation, calculation
//! verification by refining the grid, the time step and the size quadrature and by an
//! adaptive reference for the response integrator, validation recomputed from the shipped
//! fit and posterior sample against the held-out data, a delivery comparator, uncertainty by
//! an ensemble over every uncertain quantity, sensitivity by Morris screening. Only the
//! statistics check against scipy needs Python and is run by the test command
//! (`scripts/check_stats_reference.py`); the report says so.

use crate::sensitivity::{analyze, Method};
use crate::simulate::{parse, run, DEFAULT_SCENARIO};
use crate::uncertainty::{ensemble, Space};
use crate::ApiError;
use exoskin_model::{Observer, Scenario};
use exoskin_transport::Transport;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// A document that cannot be made JSON: a defect, not the user's to fix.
fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(format!("the credibility report: {e}"))
}

const FRANZ_SINGLE: &str = include_str!("../../../scenarios/franz_cell_single_layer.toml");
const FRANZ_MULTI: &str = include_str!("../../../scenarios/franz_cell_multilayer.toml");
/// The delivery comparator's scenario.
const FRACTIONAL_CO2: &str = include_str!("../../../scenarios/in_vivo_fractional_co2.toml");
const ALL_SCENARIOS: &[(&str, &str)] = &[
    ("franz_cell_single_layer", FRANZ_SINGLE),
    ("franz_cell_multilayer", FRANZ_MULTI),
    (
        "in_vivo_intact_forearm",
        include_str!("../../../scenarios/in_vivo_intact_forearm.toml"),
    ),
    ("in_vivo_microneedling", DEFAULT_SCENARIO),
    ("in_vivo_fractional_co2", FRACTIONAL_CO2),
    (
        "in_vivo_chemical_peel",
        include_str!("../../../scenarios/in_vivo_chemical_peel.toml"),
    ),
    (
        "in_vivo_intact_forehead",
        include_str!("../../../scenarios/in_vivo_intact_forehead.toml"),
    ),
    (
        "in_vivo_daily_12_weeks",
        include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml"),
    ),
];

const CONTEXT_OF_USE: &str = "Question of interest: for an adipose-MSC vesicle serum applied \
after a 1 mm microneedling pass on the cheek (the bundled scenario \
scenarios/in_vivo_microneedling.toml), what fraction of the applied vesicles reaches the \
dermis, how large and how lasting are the skin's changes (inflammation, erythema, barrier, \
matrix), and what do the vesicles add over the same procedure with the vehicle alone? \
Context of use: to compare products and procedures and to plan trials (which endpoint, how \
many participants), as consumer and research information. Not for clinical decisions about a \
patient. Model influence: the model is the only quantitative evidence for vesicle delivery \
into living skin (no measurement exists), so its influence is high; decision consequence: low \
(a wrong answer misleads a product choice or a trial plan, it does not harm a patient). Model \
risk: moderate.";

/// A credibility factor of V&V 40 with the activity that assesses it and its acceptance
/// criterion, fixed here before any result is computed (the goals follow from the model risk
/// of [`CONTEXT_OF_USE`]).
struct Factor {
    id: &'static str,
    factor: &'static str,
    activity: &'static str,
    criterion: &'static str,
}

/// Acceptance thresholds of [`FACTORS`], in the order they are stated there.
const FLUX_TOL: f64 = 1e-6;
const LAG_TOL: f64 = 1e-2;
const BALANCE_TOL: f64 = 1e-9;
const REFINE_TOL: f64 = 1e-2;
/// The response integrator's stated bound (module docs of `exoskin_response::tissue`): each
/// outcome within this fraction of its largest magnitude over the run.
const INTEGRATOR_TOL: f64 = 0.05;
const HELD_OUT_SHARE: f64 = 0.75;
/// Liposome (324 nm) permeation through CO2-fractional-laser-treated Yucatan micropig skin in
/// Franz cells: 4-40 % of the dose (OVA-FITC liposomes, dose-dependent on the laser energy).
/// Fujimoto T, Wang J, Baba K, Oki Y, Hiruta Y, Ito M, Ito S, Kanazawa H. Transcutaneous drug
/// delivery by liposomes using fractional laser technology. Abstract (Results), as indexed at
/// https://keio.elsevierpure.com/en/publications/transcutaneous-drug-delivery-by-liposomes-using-fractional-laser-
const DELIVERY_COMPARATOR: [f64; 2] = [0.04, 0.40];
/// The factor each way the comparator's range is widened by: another species, a larger
/// particle, excised skin in a Franz cell against living skin with clearance.
const DELIVERY_WIDEN: f64 = 3.0;

const FACTORS: &[Factor] = &[
    Factor {
        id: "exact_solutions",
        factor: "Code verification: numerical code verification",
        activity: "Franz cells at infinite dose against the exact steady flux C / sum(h / (K D)) and the single-layer lag time h^2 / (6 D)",
        criterion: "relative error of the steady flux <= 1e-6 and of the lag time <= 1e-2",
    },
    Factor {
        id: "mass_balance",
        factor: "Code verification: numerical code verification",
        activity: "conservation on every bundled transport scenario (applied = in the skin + every sink)",
        criterion: "abs(recovery - 1) <= 1e-9 on each",
    },
    Factor {
        id: "statistics",
        factor: "Code verification: software quality assurance",
        activity: "trial statistics against scipy and statsmodels (scripts/check_stats_reference.py, 548 numbers), the UQ estimators against SALib and ArviZ (scripts/check_salib.py); run by the test command on every change, not by this command",
        criterion: "agreement to 1e-6 on fixed data sets (the test command fails otherwise)",
    },
    Factor {
        id: "discretization",
        factor: "Calculation verification: discretization error",
        activity: "the context-of-use scenario with each refinement alone: depth cells x2, radial cells x2, time step / 2, size nodes 6 -> 12",
        criterion: "every reported output moves by <= 1 % (relative)",
    },
    Factor {
        id: "response_integrator",
        factor: "Calculation verification: numerical solver error",
        activity: "the response integrator against an adaptive Dormand-Prince 5(4) reference (rtol 1e-10, atol 1e-12) on every bundled in-vivo scenario, shipped parameters",
        criterion: "every outcome within 5 % of its largest magnitude over the run (the integrator's stated bound)",
    },
    Factor {
        id: "held_out",
        factor: "Validation: comparator and output comparison",
        activity: "the held-out peer-reviewed human data (validation set of data/evidence.toml, never fitted), recomputed from the shipped fit and posterior sample",
        criterion: ">= 75 % of the data reproduced (the datum within 2 of its SDs of the model, or inside the model's 90 % interval)",
    },
    Factor {
        id: "controlled_differences",
        factor: "Validation: output comparison (calibration consistency)",
        activity: "the paired differences (vesicle or conditioned-media arm minus control) of the controlled human trials the fit used",
        criterion: "every difference reproduced (inside the posterior-predictive 90 % interval); consistency only, since the fit saw them",
    },
    Factor {
        id: "delivery",
        factor: "Validation: comparator (delivery)",
        activity: "the fraction of the applied vesicles that passes the epidermis after ablative fractional CO2 (scenarios/in_vivo_fractional_co2.toml) against liposome permeation after CO2 fractional laser (Fujimoto et al., Franz cells, 4-40 %)",
        criterion: "the model's fraction within the comparator's range widened by a factor of 3 each way (1.3 % to 100 %) for species, particle size and excised against living skin",
    },
    Factor {
        id: "uncertainty",
        factor: "Validation: uncertainty quantification",
        activity: "an ensemble over every uncertain quantity (the fitted posterior and every assumption's prior) on the context-of-use scenario, with what the vesicles add",
        criterion: "no failed member; every outcome and the vesicle effect given with a 90 % interval",
    },
];

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// Code verification: Franz cells against their exact steady flux and lag time, and mass
/// conservation of every bundled scenario.
fn code_verification() -> Result<Value, ApiError> {
    let mut exact = Vec::new();
    for (name, text) in [
        ("franz_cell_single_layer", FRANZ_SINGLE),
        ("franz_cell_multilayer", FRANZ_MULTI),
    ] {
        let s = parse(text, name)?;
        let r = run(s, name)?;
        if let Some(Transport::Franz(f)) = &r.transport {
            if let Some(fit) = &f.fit {
                exact.push(json!({
                    "scenario": name,
                    "steady_flux_per_cm2_h": fit.steady_flux_per_cm2_h,
                    "exact_steady_flux_per_cm2_h": f.theoretical_steady_flux_per_cm2_h,
                    "relative_error_flux": rel(fit.steady_flux_per_cm2_h, f.theoretical_steady_flux_per_cm2_h),
                    "lag_time_h": fit.lag_time_h,
                    "exact_lag_time_h": f.theoretical_lag_time_h,
                    "relative_error_lag": f.theoretical_lag_time_h.map(|t| rel(fit.lag_time_h, t)),
                }));
            }
        }
    }
    let mut balance = Vec::new();
    for (name, text) in ALL_SCENARIOS {
        let s = parse(text, name)?;
        let r = run(s, name)?;
        if let Some(t) = &r.transport {
            let rec = t.run().recovery();
            balance.push(
                json!({"scenario": name, "recovery": rec, "error": rec.map(|x| (x - 1.0).abs())}),
            );
        }
    }
    Ok(json!({
        "exact_solutions": exact,
        "mass_balance": balance,
        "statistics": "exoskin-trials' tests, p-values, intervals, distributions, power and sample sizes are compared with scipy and statsmodels on fixed data sets to 1e-6 by scripts/check_stats_reference.py (548 numbers), which the test command runs on every change; the estimators of exoskin-uq with SALib and ArviZ by scripts/check_salib.py",
    }))
}

/// Calculation verification: refine the depth grid, the radial grid, the time step and the
/// size quadrature of the microneedling scenario, one at a time.
fn calculation_verification() -> Result<Value, ApiError> {
    let base = parse(DEFAULT_SCENARIO, "microneedling")?;
    let outputs = [
        "transport.reached_dermis_fraction",
        "collagen_pct@2",
        "erythema_pct@1",
        "cytokines_pct@0.5",
    ];
    let measure = |s: Scenario| -> Result<Vec<f64>, ApiError> {
        let doc = run(s, "microneedling")?.json();
        outputs
            .iter()
            .map(|o| crate::output::output(&doc, o))
            .collect()
    };
    let y0 = measure(base.clone())?;
    let mut rows = Vec::new();
    type Refine = fn(&mut exoskin_model::InVivo);
    let refinements: [(&str, Refine); 4] = [
        ("depth cells x2", |v| v.numerics.cells_per_layer *= 2),
        ("radial cells x2", |v| v.numerics.radial_cells *= 2),
        ("time step / 2", |v| {
            v.numerics.dt_max_h /= 2.0;
            v.numerics.dt_initial_h /= 2.0;
            v.numerics.dt_quiet_max_h /= 2.0;
        }),
        ("size nodes 6 -> 12", |v| v.product.size_classes *= 2),
    ];
    for (what, f) in refinements {
        let mut s = base.clone();
        if let Scenario::InVivo(v) = &mut s {
            f(v);
        }
        let y = measure(s)?;
        let changes: serde_json::Map<String, Value> = outputs
            .iter()
            .zip(y0.iter().zip(&y))
            .map(|(o, (a, b))| (o.to_string(), json!((b - a).abs() / a.abs().max(1e-12))))
            .collect();
        rows.push(json!({"refinement": what, "relative_change": changes}));
    }
    Ok(json!({"outputs": outputs, "nominal": y0, "refinements": rows}))
}

/// The response integrator against the adaptive reference on every bundled in-vivo
/// scenario: per scenario, the worst outcome's largest deviation as a fraction of that
/// outcome's largest magnitude over the run.
fn response_integrator() -> Result<Value, ApiError> {
    let tp = exoskin_model::TransportParams::defaults();
    let rp = exoskin_response::ResponseParams::defaults();
    let mut rows = Vec::new();
    for (name, text) in ALL_SCENARIOS {
        let Scenario::InVivo(v) = parse(text, name)? else {
            continue;
        };
        let sim = exoskin_response::try_simulate_in_vivo(&v, tp, rp)
            .map_err(|e| crate::simulate::solver(name, e))?;
        let reference = exoskin_response::respond_reference(&v, &sim, rp, 1e-10, 1e-12)
            .map_err(|e| ApiError::Internal(format!("{name}: reference integrator: {e}")))?;
        let mut worst = (0.0f64, "");
        for ((outcome, r), (_, x)) in reference
            .series
            .named()
            .into_iter()
            .zip(sim.outcomes.series.named())
        {
            let peak = r.iter().fold(0.0f64, |m, y| m.max(y.abs()));
            let dev = r
                .iter()
                .zip(x)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            // Below 1e-9 % an outcome is nothing: no share of it to speak of.
            let share = if peak > 1e-9 { dev / peak } else { 0.0 };
            if share >= worst.0 {
                worst = (share, outcome);
            }
        }
        rows.push(json!({
            "scenario": name,
            "worst_outcome": worst.1,
            "deviation_share_of_peak": worst.0,
            "reference_steps": reference.steps,
        }));
    }
    Ok(json!({"rtol": 1e-10, "atol": 1e-12, "bound": INTEGRATOR_TOL, "scenarios": rows}))
}

/// The delivery comparator: the fraction that passes the epidermis after ablative
/// fractional CO2, nominal and over the transport priors.
fn delivery(members: usize, observer: &dyn Observer) -> Result<Value, ApiError> {
    let name = "scenarios/in_vivo_fractional_co2.toml";
    let scenario = parse(FRACTIONAL_CO2, name)?;
    let space = Space::shipped(&scenario)?;
    let ens = ensemble(&scenario, name, &space, members, 20261207, observer)?;
    let nominal = ens.doc["transport"]["reached_dermis_fraction"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let band = &ens.doc["transport"]["bands"]["reached_dermis_fraction"];
    let last = |q: &str| {
        band[q]
            .as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let [lo, hi] = DELIVERY_COMPARATOR;
    Ok(json!({
        "scenario": name,
        "quantity": "transport.reached_dermis_fraction",
        "model": nominal,
        "p05": last("p05"), "p50": last("p50"), "p95": last("p95"),
        "members": ens.members,
        "comparator": {
            "range": [lo, hi],
            "what": "permeation of 324 nm OVA-FITC liposomes through Yucatan micropig skin after CO2 fractional laser, Franz cells, dose-dependent on the laser energy",
            "source": "Fujimoto T, Wang J, Baba K, Oki Y, Hiruta Y, Ito M, Ito S, Kanazawa H. Transcutaneous drug delivery by liposomes using fractional laser technology. Abstract (Results), as indexed at https://keio.elsevierpure.com/en/publications/transcutaneous-drug-delivery-by-liposomes-using-fractional-laser-",
        },
        "accepted_range": [lo / DELIVERY_WIDEN, (hi * DELIVERY_WIDEN).min(1.0)],
        "no_comparator": "Microneedling: no sourced measurement of the fraction of a vesicle- or liposome-sized particle reaching the viable skin after microneedling was found; the context-of-use scenario's delivery is therefore not validated",
    }))
}

/// Posterior draws the validation is recomputed over (as many as the calibration report's
/// predictive intervals use).
const VALIDATION_DRAWS: usize = exoskin_inference::posterior::PREDICTIVE_DRAWS;

/// The computed sections, judged against [`FACTORS`].
struct Results<'a> {
    code: &'a Value,
    calc: &'a Value,
    integrator: &'a Value,
    held_out: (usize, usize),
    differences: &'a [exoskin_inference::calibrate::Difference],
    delivery: &'a Value,
    uncertainty: &'a Value,
}

/// The largest of the numbers at `key` in the rows of `rows` (NaN when one is missing, so
/// that a missing result never passes).
fn worst(rows: &Value, key: &str) -> f64 {
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|r| r[key].as_f64().unwrap_or(f64::NAN))
        // `f64::max` drops a NaN, so a missing result is carried explicitly and never passes.
        .fold(0.0, |m: f64, x| {
            if m.is_nan() || x.is_nan() {
                f64::NAN
            } else {
                m.max(x)
            }
        })
}

impl Results<'_> {
    /// A factor's result in words and whether it meets its criterion (None: assessed
    /// elsewhere, by the test command).
    fn judge(&self, id: &str) -> (String, Option<bool>) {
        match id {
            "exact_solutions" => {
                let rows = &self.code["exact_solutions"];
                let flux = worst(rows, "relative_error_flux");
                let lag = rows
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["relative_error_lag"].as_f64())
                    .fold(0.0f64, f64::max);
                (
                    format!("largest relative error: steady flux {flux:.1e}, lag time {lag:.1e}"),
                    Some(flux <= FLUX_TOL && lag <= LAG_TOL),
                )
            }
            "mass_balance" => {
                let e = worst(&self.code["mass_balance"], "error");
                let n = self.code["mass_balance"].as_array().map_or(0, Vec::len);
                (
                    format!("largest abs(recovery - 1) over {n} scenarios: {e:.1e}"),
                    Some(e <= BALANCE_TOL),
                )
            }
            "statistics" => (
                "run by the test command on every change (scripts/check_stats_reference.py, scripts/check_salib.py), not by this command".into(),
                None,
            ),
            "discretization" => {
                let mut w = (0.0f64, String::new());
                for row in self.calc["refinements"].as_array().into_iter().flatten() {
                    for (k, v) in row["relative_change"].as_object().into_iter().flatten() {
                        let x = v.as_f64().unwrap_or(f64::NAN);
                        if x.is_nan() || x > w.0 {
                            w = (x, format!("{k}, {}", row["refinement"].as_str().unwrap_or("")));
                        }
                    }
                }
                (
                    format!("largest relative change {:.1e} ({})", w.0, w.1),
                    Some(w.0 <= REFINE_TOL),
                )
            }
            "response_integrator" => {
                let rows = &self.integrator["scenarios"];
                let e = worst(rows, "deviation_share_of_peak");
                let at = rows
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["deviation_share_of_peak"].as_f64() == Some(e))
                    .map(|r| {
                        format!(
                            "{}, {}",
                            r["worst_outcome"].as_str().unwrap_or(""),
                            r["scenario"].as_str().unwrap_or("")
                        )
                    })
                    .unwrap_or_default();
                (
                    format!("largest deviation {:.2} % of the outcome's peak ({at})", 100.0 * e),
                    Some(e <= INTEGRATOR_TOL),
                )
            }
            "held_out" => {
                let (k, n) = self.held_out;
                let share = if n == 0 { 0.0 } else { k as f64 / n as f64 };
                (
                    format!("{k} of {n} reproduced ({:.0} %)", 100.0 * share),
                    Some(n > 0 && share >= HELD_OUT_SHARE),
                )
            }
            "controlled_differences" => {
                let k = self.differences.iter().filter(|d| d.reproduced).count();
                let n = self.differences.len();
                (
                    format!("{k} of {n} paired differences reproduced"),
                    Some(n > 0 && k == n),
                )
            }
            "delivery" => {
                let m = self.delivery["model"].as_f64().unwrap_or(f64::NAN);
                let [lo, hi] = [0, 1].map(|i| {
                    self.delivery["accepted_range"][i]
                        .as_f64()
                        .unwrap_or(f64::NAN)
                });
                (
                    format!(
                        "model {:.1} % (90 % over the transport priors: {:.1} to {:.1} %); accepted {:.1} to {:.0} %",
                        100.0 * m,
                        100.0 * self.delivery["p05"].as_f64().unwrap_or(f64::NAN),
                        100.0 * self.delivery["p95"].as_f64().unwrap_or(f64::NAN),
                        100.0 * lo,
                        100.0 * hi
                    ),
                    Some(m >= lo && m <= hi),
                )
            }
            "uncertainty" => {
                let failed = self.uncertainty["failed_members"].as_u64().unwrap_or(u64::MAX);
                let effect = self.uncertainty["effect_at_end"].is_object();
                (
                    format!(
                        "{} members, {failed} failed; vesicle effect {}",
                        self.uncertainty["members"],
                        if effect { "given" } else { "missing" }
                    ),
                    Some(failed == 0 && effect),
                )
            }
            _ => ("no assessment".into(), Some(false)),
        }
    }
}

/// What the context of use may and may not conclude, with the numbers behind each line.
fn applicability(
    uncertainty: &Value,
    checked: &exoskin_inference::calibrate::Report,
    delivery: &Value,
) -> Value {
    let pct = |v: &Value| {
        v.as_f64()
            .map_or("-".to_string(), |x| format!("{:.1} %", 100.0 * x))
    };
    let d = &uncertainty["reached_dermis_fraction"];
    let missed: Vec<String> = checked
        .validation
        .iter()
        .filter(|r| !r.reproduced)
        .map(|r| format!("{} ({})", r.id, r.quantity))
        .collect();
    let effect_line = |k: &str, words: &str| -> Option<String> {
        let e = &uncertainty["effect_at_end"][k];
        Some(format!(
            "{words} {:+.2} pp [90 %: {:+.2}, {:+.2}], P(better) {:.2}",
            e["p50"].as_f64()?,
            e["p05"].as_f64()?,
            e["p95"].as_f64()?,
            e["probability_better"].as_f64()?
        ))
    };
    let effects: Vec<String> = [
        ("collagen_pct", "collagen"),
        ("erythema_pct", "redness"),
        ("pore_area_pct", "pore area"),
    ]
    .iter()
    .filter_map(|(k, w)| effect_line(k, w))
    .collect();
    let diffs: Vec<String> = checked
        .differences
        .iter()
        .map(|x| {
            format!(
                "{} {:+.1} (model {:+.1} [{:+.1}, {:+.1}])",
                x.id,
                x.observed,
                x.p50.unwrap_or(f64::NAN),
                x.p05.unwrap_or(f64::NAN),
                x.p95.unwrap_or(f64::NAN)
            )
        })
        .collect();
    json!([
        {
            "conclusion": "Vesicles reach the dermis through microneedle channels (fraction of the applied dose)",
            "may": format!("compare products and procedures by it: {} nominal, {} to {} over every uncertain quantity (90 %)", pct(&d["nominal"]), pct(&d["p05"]), pct(&d["p95"])),
            "may_not": format!("take the number as measured: the only comparator is liposome permeation after a fractional CO2 laser ({}); for microneedling none was found", delivery["comparator"]["what"].as_str().unwrap_or("")),
        },
        {
            "conclusion": "Redness, barrier and inflammation after the procedure, and their resolution over days",
            "may": "the shape of the time course and the ranking of procedures (calibrated on procedure-only and control arms)",
            "may_not": format!("rely on the data the validation missed: {}", if missed.is_empty() { "none".to_string() } else { missed.join(", ") }),
        },
        {
            "conclusion": "What the vesicles add over the same procedure with the vehicle",
            "may": format!("state it with its interval, from the controlled human trials the fit used ({}); on this scenario at its last day: {}", diffs.join("; "), effects.join("; ")),
            "may_not": "generalise it beyond the product classes, procedures and constructs of those trials (a handful of small studies, one of conditioned media), or read a benefit where the interval holds either sign",
        },
        {
            "conclusion": "Trial planning (sample size, assurance)",
            "may": "compare designs and endpoints; assurance over the posterior of the effect",
            "may_not": "take absolute sample sizes as exact: instrument noise and between-person spread are assumptions with ranges, and the effect is only as good as the trials behind it",
        },
        {
            "conclusion": "Clinical decisions about a patient",
            "may": "nothing",
            "may_not": "outside the context of use (low decision consequence was assumed)",
        }
    ])
}

/// The credibility report's document (`report.json`): the factors, every section computed
/// now, the assessment against the factors' criteria and what the context of use may
/// conclude. `members` ensemble members for the uncertainty and delivery sections,
/// `trajectories` Morris trajectories for the sensitivity section; `observer` hears each
/// section begin and the ensemble's members, and may stop the work.
pub fn report(
    members: usize,
    trajectories: usize,
    observer: &dyn Observer,
) -> Result<Value, ApiError> {
    observer.message("code verification ...")?;
    let code = code_verification()?;
    observer.message("calculation verification ...")?;
    let calc = calculation_verification()?;
    let scenario = parse(DEFAULT_SCENARIO, "scenarios/in_vivo_microneedling.toml")?;
    let space = Space::shipped(&scenario)?;
    observer.message("uncertainty ...")?;
    let ens = ensemble(
        &scenario,
        "scenarios/in_vivo_microneedling.toml",
        &space,
        members,
        20261202,
        observer,
    )?;
    observer.message("sensitivity ...")?;
    let mut sens = Vec::new();
    for output in [
        "transport.reached_dermis_fraction",
        "erythema_pct@1",
        "collagen_pct@2",
    ] {
        let doc = analyze(
            &scenario,
            "scenarios/in_vivo_microneedling.toml",
            &space,
            output,
            Method::Morris {
                trajectories,
                levels: 4,
            },
            20261202,
            observer,
        )?;
        let top: Vec<Value> = doc["indices"]
            .as_array()
            .map(|r| r.iter().take(5).map(|x| json!({"parameter": x["parameter"], "mu_star": x["mu_star"], "mu_star_ci95": x["mu_star_ci95"]})).collect())
            .unwrap_or_default();
        sens.push(json!({"output": output, "method": "morris", "trajectories": trajectories, "model_runs": doc["model_runs"], "top": top}));
    }
    observer.message("response integrator against its reference ...")?;
    let integrator = response_integrator()?;
    observer.message("validation from the shipped fit and posterior ...")?;
    let tp = exoskin_model::TransportParams::defaults();
    let rp = exoskin_response::ResponseParams::defaults();
    let checked = exoskin_inference::calibrate::check_posterior(tp, rp, VALIDATION_DRAWS)
        .map_err(|e| ApiError::Internal(format!("validation: {e}")))?;
    observer.message("delivery comparator ...")?;
    let delivery = delivery(members, observer)?;
    let validation = serde_json::to_value(&checked.validation).map_err(internal)?;
    let differences = serde_json::to_value(&checked.differences).map_err(internal)?;
    let reproduced = checked.validation.iter().filter(|r| r.reproduced).count();
    let bands = &ens.doc["outcomes"]["bands"];
    let tb = &ens.doc["transport"]["bands"]["reached_dermis_fraction"];
    let last = |v: &Value| {
        v.as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let effect = &ens.doc["effect"];
    let uncertainty = json!({
        "members": ens.members,
        "failed_members": ens.failed,
        "parameters": space.dim(),
        "reached_dermis_fraction": {"nominal": ens.doc["transport"]["reached_dermis_fraction"], "p05": last(&tb["p05"]), "p50": last(&tb["p50"]), "p95": last(&tb["p95"])},
        "outcomes_at_end": bands.as_object().map(|m| m.iter().map(|(k, b)| {
            let pick = |q: &str| if b[q].is_array() { last(&b[q]) } else { b[q].as_f64().unwrap_or(f64::NAN) };
            (k.clone(), json!({"p05": pick("p05"), "p50": pick("p50"), "p95": pick("p95")}))
        }).collect::<serde_json::Map<_, _>>()),
        "effect_at_end": effect["outcomes"].as_object().map(|m| m.iter().map(|(k, b)| {
            (k.clone(), json!({"p05": last(&b["p05"]), "p50": last(&b["p50"]), "p95": last(&b["p95"]), "probability_better": effect["probability_better"][k]}))
        }).collect::<serde_json::Map<_, _>>()),
        "effect_control": effect["control"],
    });
    let results = Results {
        code: &code,
        calc: &calc,
        integrator: &integrator,
        held_out: (reproduced, checked.validation.len()),
        differences: &checked.differences,
        delivery: &delivery,
        uncertainty: &uncertainty,
    };
    let assessment: Vec<Value> = FACTORS
        .iter()
        .map(|f| {
            let (result, met) = results.judge(f.id);
            json!({"id": f.id, "factor": f.factor, "result": result, "met": met})
        })
        .collect();
    let applicability = applicability(&uncertainty, &checked, &delivery);
    let report = json!({
        "standard": "ASME V&V 40-2018 (risk-informed credibility assessment)",
        "context_of_use": CONTEXT_OF_USE,
        "credibility_factors": FACTORS.iter().map(|f| json!({"id": f.id, "factor": f.factor, "activity": f.activity, "criterion": f.criterion})).collect::<Vec<_>>(),
        "code_verification": code,
        "calculation_verification": calc,
        "response_integrator": integrator,
        "validation": {
            "source": "recomputed by this command from the shipped fit (data/response_fit.toml) and posterior sample (data/response_posterior.csv) against the validation set of data/evidence.toml: peer-reviewed data the fit never saw",
            "draws": VALIDATION_DRAWS,
            "data": checked.validation.len(),
            "reproduced": reproduced,
            "rows": validation,
            "vesicle_minus_control": differences,
        },
        "delivery": delivery,
        "uncertainty": uncertainty,
        "sensitivity": sens,
        "assessment": assessment,
        "applicability": applicability,
    });
    Ok(report)
}

/// The report (the document of [`report`]) as Markdown, section by section.
pub fn markdown(r: &Value) -> String {
    let mut o = String::new();
    md_heading(&mut o, r);
    md_factors(&mut o, r);
    md_code_verification(&mut o, r);
    md_calculation_verification(&mut o, r);
    md_validation(&mut o, r);
    md_delivery(&mut o, r);
    md_uncertainty(&mut o, r);
    md_sensitivity(&mut o, r);
    md_assessment(&mut o, r);
    md_applicability(&mut o, r);
    o
}

/// A number in scientific notation with three decimals (`1.234e-5`), `-` when it is not one.
fn e3(v: &Value) -> String {
    v.as_f64().map_or("-".to_string(), |x| format!("{x:.3e}"))
}

/// The title, the standard the report follows and the context of use.
fn md_heading(o: &mut String, r: &Value) {
    let _ = writeln!(o, "# Credibility of exoskin for one context of use\n");
    let _ = writeln!(o, "In the shape of {}. Written by `exoskin credibility`; every figure is computed by that command (the statistics check against scipy is run by the test command).\n", r["standard"].as_str().unwrap_or(""));
    let _ = writeln!(
        o,
        "## Context of use\n\n{}\n",
        r["context_of_use"].as_str().unwrap_or("")
    );
}

/// The credibility factors with their activities and acceptance criteria, set before any result.
fn md_factors(o: &mut String, r: &Value) {
    let _ = writeln!(o, "## Credibility factors, activities and acceptance criteria\n\nSet from the model risk before any result below was computed; the results are judged against them under Assessment.\n\n| factor | activity | acceptance criterion |\n|---|---|---|");
    for c in r["credibility_factors"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            c["factor"].as_str().unwrap_or(""),
            c["activity"].as_str().unwrap_or(""),
            c["criterion"].as_str().unwrap_or("")
        );
    }
    let _ = writeln!(o);
}

/// Code verification: exact solutions, mass balance, the statistics check.
fn md_code_verification(o: &mut String, r: &Value) {
    let _ = writeln!(o, "## Code verification\n\nExact solutions (Franz cells, infinite dose: steady flux C / sum(h / (K D)); single-layer lag time h^2 / (6 D)):\n");
    let _ = writeln!(o, "| scenario | steady flux | exact | rel. error | lag time (h) | exact | rel. error |\n|---|---|---|---|---|---|---|");
    for e in r["code_verification"]["exact_solutions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            e["scenario"].as_str().unwrap_or(""),
            e3(&e["steady_flux_per_cm2_h"]),
            e3(&e["exact_steady_flux_per_cm2_h"]),
            e3(&e["relative_error_flux"]),
            e3(&e["lag_time_h"]),
            e3(&e["exact_lag_time_h"]),
            e3(&e["relative_error_lag"])
        );
    }
    let _ = writeln!(o, "\nMass balance (applied = in the skin + in every sink), abs(recovery - 1):\n\n| scenario | error |\n|---|---|");
    for e in r["code_verification"]["mass_balance"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            o,
            "| {} | {} |",
            e["scenario"].as_str().unwrap_or(""),
            e3(&e["error"])
        );
    }
    let _ = writeln!(
        o,
        "\nStatistics: {}.\n",
        r["code_verification"]["statistics"].as_str().unwrap_or("")
    );
}

/// Calculation verification: each refinement's relative change per output, and the response integrator against its adaptive reference.
fn md_calculation_verification(o: &mut String, r: &Value) {
    let c = &r["calculation_verification"];
    let _ = writeln!(o, "## Calculation verification\n\nMicroneedling scenario, each refinement alone; relative change of each output:\n");
    let outs: Vec<String> = c["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect();
    let _ = writeln!(
        o,
        "| refinement | {} |\n|---|{}",
        outs.join(" | "),
        "---|".repeat(outs.len())
    );
    for row in c["refinements"].as_array().into_iter().flatten() {
        let cells: Vec<String> = outs
            .iter()
            .map(|k| e3(&row["relative_change"][k]))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} |",
            row["refinement"].as_str().unwrap_or(""),
            cells.join(" | ")
        );
    }
    let ri = &r["response_integrator"];
    let _ = writeln!(o, "\nResponse integrator against an adaptive Dormand-Prince 5(4) reference (rtol {}, atol {}), shipped parameters; the worst outcome per scenario, its largest deviation as a share of its largest magnitude over the run:\n\n| scenario | worst outcome | deviation / peak | reference steps |\n|---|---|---|---|", ri["rtol"], ri["atol"]);
    for row in ri["scenarios"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            row["scenario"].as_str().unwrap_or(""),
            row["worst_outcome"].as_str().unwrap_or(""),
            e3(&row["deviation_share_of_peak"]),
            row["reference_steps"]
        );
    }
}

/// Validation: each datum against the model, then the vesicle-minus-control differences.
fn md_validation(o: &mut String, r: &Value) {
    let v = &r["validation"];
    let _ = writeln!(o, "\n## Validation\n\n{} of {} validation data reproduced (the datum within 2 of its SDs of the model at the fit, or inside the model's 90 % interval over {} posterior draws); {}.\n", v["reproduced"], v["data"], v["draws"], v["source"].as_str().unwrap_or(""));
    let _ = writeln!(o, "| datum | quantity | observed | model | 90 % interval | reproduced |\n|---|---|---|---|---|---|");
    for row in v["rows"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | [{}, {}] | {} |",
            row["id"].as_str().unwrap_or(""),
            row["quantity"].as_str().unwrap_or(""),
            e3(&row["value"]),
            e3(&row["model"]),
            e3(&row["p05"]),
            e3(&row["p95"]),
            row["reproduced"]
        );
    }
    let _ = writeln!(o, "\nVesicle arm minus control arm in the controlled human trials the fit used (consistency with the calibration, not independent validation):\n\n| difference | quantity | observed (SE) | model p50 | 90 % interval | P(better) | reproduced |\n|---|---|---|---|---|---|---|");
    for d in v["vesicle_minus_control"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} ({}) | {} | [{}, {}] | {} | {} |",
            d["id"].as_str().unwrap_or(""),
            d["quantity"].as_str().unwrap_or(""),
            e3(&d["observed"]),
            e3(&d["se"]),
            e3(&d["p50"]),
            e3(&d["p05"]),
            e3(&d["p95"]),
            d["probability_better"]
                .as_f64()
                .map_or("-".into(), |p| format!("{p:.2}")),
            d["reproduced"]
        );
    }
}

/// The delivery comparator: the model's range against the comparator's.
fn md_delivery(o: &mut String, r: &Value) {
    let dl = &r["delivery"];
    let _ = writeln!(
        o,
        "\n### Delivery comparator\n\n`{}` of {}: model {} (90 % over the transport priors, {} members: {} to {}). Comparator ({}): {} to {}; source: {}. Accepted range: {} to {}. {}.\n",
        dl["quantity"].as_str().unwrap_or(""),
        dl["scenario"].as_str().unwrap_or(""),
        e3(&dl["model"]),
        dl["members"],
        e3(&dl["p05"]),
        e3(&dl["p95"]),
        dl["comparator"]["what"].as_str().unwrap_or(""),
        e3(&dl["comparator"]["range"][0]),
        e3(&dl["comparator"]["range"][1]),
        dl["comparator"]["source"].as_str().unwrap_or(""),
        e3(&dl["accepted_range"][0]),
        e3(&dl["accepted_range"][1]),
        dl["no_comparator"].as_str().unwrap_or("")
    );
}

/// Uncertainty: the ensemble, delivery to the dermis, the outcomes and the vesicles' effect at the end.
fn md_uncertainty(o: &mut String, r: &Value) {
    let u = &r["uncertainty"];
    let _ = writeln!(o, "\n## Uncertainty\n\nEnsemble of {} members ({} failed) over {} uncertain parameters (priors of the data files, a joint draw of the fitted parameters from the MCMC sample (data/response_posterior.csv), the source's potency).\n", u["members"], u["failed_members"], u["parameters"]);
    let d = &u["reached_dermis_fraction"];
    let _ = writeln!(
        o,
        "Reached the dermis: nominal {}, median {} [90 %: {}, {}].\n",
        e3(&d["nominal"]),
        e3(&d["p50"]),
        e3(&d["p05"]),
        e3(&d["p95"])
    );
    let _ = writeln!(
        o,
        "| outcome at the end (% change) | p05 | p50 | p95 |\n|---|---|---|---|"
    );
    for (k, b) in u["outcomes_at_end"].as_object().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {k} | {} | {} | {} |",
            e3(&b["p05"]),
            e3(&b["p50"]),
            e3(&b["p95"])
        );
    }
    let _ = writeln!(
        o,
        "\nWhat the vesicles add at the end ({}; percentage points, over the same members):\n\n| outcome | p05 | p50 | p95 | P(better) |\n|---|---|---|---|---|",
        u["effect_control"].as_str().unwrap_or("")
    );
    for (k, b) in u["effect_at_end"].as_object().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {k} | {} | {} | {} | {} |",
            e3(&b["p05"]),
            e3(&b["p50"]),
            e3(&b["p95"]),
            b["probability_better"]
                .as_f64()
                .map_or("-".into(), |p| format!("{p:.2}"))
        );
    }
}

/// Sensitivity: the most influential parameters per output (Morris screening).
fn md_sensitivity(o: &mut String, r: &Value) {
    let _ = writeln!(o, "\n## Sensitivity\n\nMorris screening (mu* in output units per unit of the prior's quantile); the five most influential parameters per output:\n");
    for s in r["sensitivity"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "- `{}` ({} runs): {}",
            s["output"].as_str().unwrap_or(""),
            s["model_runs"],
            s["top"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| format!(
                    "{} ({})",
                    t["parameter"].as_str().unwrap_or(""),
                    e3(&t["mu_star"])
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Assessment: each factor's result against its criterion.
fn md_assessment(o: &mut String, r: &Value) {
    let _ = writeln!(
        o,
        "\n## Assessment\n\n| factor | criterion | result | met |\n|---|---|---|---|"
    );
    for (a, c) in r["assessment"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(r["credibility_factors"].as_array().into_iter().flatten())
    {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            a["factor"].as_str().unwrap_or(""),
            c["criterion"].as_str().unwrap_or(""),
            a["result"].as_str().unwrap_or(""),
            match a["met"].as_bool() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "by the test command",
            }
        );
    }
}

/// What the context of use may and may not conclude.
fn md_applicability(o: &mut String, r: &Value) {
    let _ = writeln!(
        o,
        "\n## What the context of use may and may not conclude\n\n| conclusion | may | may not |\n|---|---|---|"
    );
    for a in r["applicability"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            a["conclusion"].as_str().unwrap_or(""),
            a["may"].as_str().unwrap_or(""),
            a["may_not"].as_str().unwrap_or("")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::worst;
    use serde_json::json;

    /// A row without its number makes the worst value NaN wherever it stands, so the
    /// criterion it is judged by cannot pass.
    #[test]
    fn a_missing_result_never_passes() {
        assert!(worst(&json!([{}, {"e": 1e-3}]), "e").is_nan());
        assert!(worst(&json!([{"e": 1e-3}, {}]), "e").is_nan());
        assert_eq!(worst(&json!([{"e": 1e-3}, {"e": 2e-3}]), "e"), 2e-3);
    }
}
