//! `exoskin credibility --out DIR`: a credibility report in the shape of ASME V&V 40-2018
//! ("Assessing Credibility of Computational Modeling through Verification and Validation:
//! Application to Medical Devices") for one stated context of use: the bundled microneedling
//! scenario.
//!
//! Every figure in the report is computed when the command runs (code verification against
//! exact solutions and conservation, calculation verification by refining the grid, the
//! time step and the size quadrature, uncertainty by an ensemble, sensitivity by Morris
//! screening), except the validation set, which is the committed calibration report
//! (`docs/calibration/report.json`, written by `exoskin calibrate`) and the statistics
//! check against scipy, which needs Python and is run by the test command
//! (`scripts/check_stats_reference.py`); the report says which is which.

use crate::bad_input;
use crate::progress::{with_threads, Progress};
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_api::sensitivity::{analyze, Method};
use exoskin_api::simulate::{parse, run, DEFAULT_SCENARIO};
use exoskin_api::uncertainty::{ensemble, Control, Space};
use exoskin_model::Scenario;
use exoskin_transport::Transport;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The calibration and validation report `exoskin calibrate` wrote.
const CALIBRATION_REPORT: &str = include_str!("../../../docs/calibration/report.json");
const FRANZ_SINGLE: &str = include_str!("../../../scenarios/franz_cell_single_layer.toml");
const FRANZ_MULTI: &str = include_str!("../../../scenarios/franz_cell_multilayer.toml");
const ALL_SCENARIOS: &[(&str, &str)] = &[
    ("franz_cell_single_layer", FRANZ_SINGLE),
    ("franz_cell_multilayer", FRANZ_MULTI),
    (
        "in_vivo_intact_forearm",
        include_str!("../../../scenarios/in_vivo_intact_forearm.toml"),
    ),
    ("in_vivo_microneedling", DEFAULT_SCENARIO),
    (
        "in_vivo_fractional_co2",
        include_str!("../../../scenarios/in_vivo_fractional_co2.toml"),
    ),
    (
        "in_vivo_chemical_peel",
        include_str!("../../../scenarios/in_vivo_chemical_peel.toml"),
    ),
];

const CONTEXT_OF_USE: &str = "Question of interest: for an adipose-MSC vesicle serum applied \
after a 1 mm microneedling pass on the cheek (the bundled scenario \
scenarios/in_vivo_microneedling.toml), what fraction of the applied vesicles reaches the \
dermis, and how large and how lasting are the skin's changes (inflammation, erythema, barrier, \
matrix) over the first 2 days? Context of use: to compare products and procedures and to \
plan trials (which endpoint, how many participants), as consumer and research information. \
Not for clinical decisions about a patient. Model influence: the model is the only \
quantitative evidence for vesicle delivery into living skin (no measurement exists), so its \
influence is high; decision consequence: low (a wrong answer misleads a product choice or a \
trial plan, it does not harm a patient). Model risk: moderate.";

#[derive(ClapArgs)]
pub struct CredibilityArgs {
    /// Directory for report.md and report.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Ensemble members for the uncertainty section.
    #[arg(long, default_value_t = 128)]
    pub members: usize,
    /// Morris trajectories for the sensitivity section.
    #[arg(long, default_value_t = 4)]
    pub trajectories: usize,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

/// Code verification: Franz cells against their exact steady flux and lag time, and mass
/// conservation of every bundled scenario.
fn code_verification() -> anyhow::Result<Value> {
    let mut exact = Vec::new();
    for (name, text) in [
        ("franz_cell_single_layer", FRANZ_SINGLE),
        ("franz_cell_multilayer", FRANZ_MULTI),
    ] {
        let s = parse(text, name).map_err(|e| bad_input(e.to_string()))?;
        let r = run(s, name).map_err(|e| bad_input(e.to_string()))?;
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
        let s = parse(text, name).map_err(|e| bad_input(e.to_string()))?;
        let r = run(s, name).map_err(|e| bad_input(e.to_string()))?;
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
fn calculation_verification() -> anyhow::Result<Value> {
    let base = parse(DEFAULT_SCENARIO, "microneedling").map_err(|e| bad_input(e.to_string()))?;
    let outputs = [
        "transport.reached_dermis_fraction",
        "collagen_pct@2",
        "erythema_pct@1",
        "cytokines_pct@0.5",
    ];
    let measure = |s: Scenario| -> anyhow::Result<Vec<f64>> {
        let doc = run(s, "microneedling")
            .map_err(|e| bad_input(e.to_string()))?
            .json();
        outputs
            .iter()
            .map(|o| exoskin_api::output::output(&doc, o).map_err(|e| bad_input(e.to_string())))
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

pub fn run_credibility(a: CredibilityArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let bar = Progress::new("credibility");
    bar.message("code verification ...");
    let code = with_threads(a.threads, code_verification)??;
    bar.message("calculation verification ...");
    let calc = with_threads(a.threads, calculation_verification)??;
    let scenario = parse(DEFAULT_SCENARIO, "scenarios/in_vivo_microneedling.toml")
        .map_err(|e| bad_input(e.to_string()))?;
    let space = Space::shipped(&scenario).map_err(|e| bad_input(e.to_string()))?;
    let progress = |d: usize, t: usize| bar.show(d, t);
    let control = Control {
        progress: Some(&progress),
        cancel: None,
    };
    bar.message("uncertainty ...");
    let ens = with_threads(a.threads, || {
        ensemble(
            &scenario,
            "scenarios/in_vivo_microneedling.toml",
            &space,
            a.members,
            20261202,
            &control,
        )
    })?
    .map_err(|e| bad_input(e.to_string()))?;
    bar.message("sensitivity ...");
    let mut sens = Vec::new();
    for output in [
        "transport.reached_dermis_fraction",
        "erythema_pct@1",
        "collagen_pct@2",
    ] {
        let doc = with_threads(a.threads, || {
            analyze(
                &scenario,
                "scenarios/in_vivo_microneedling.toml",
                &space,
                output,
                Method::Morris {
                    trajectories: a.trajectories,
                    levels: 4,
                },
                20261202,
                &control,
            )
        })?
        .map_err(|e| bad_input(e.to_string()))?;
        let top: Vec<Value> = doc["indices"]
            .as_array()
            .map(|r| r.iter().take(5).map(|x| json!({"parameter": x["parameter"], "mu_star": x["mu_star"], "mu_star_ci95": x["mu_star_ci95"]})).collect())
            .unwrap_or_default();
        sens.push(json!({"output": output, "method": "morris", "trajectories": a.trajectories, "model_runs": doc["model_runs"], "top": top}));
    }
    bar.done();
    let calibration: Value =
        serde_json::from_str(CALIBRATION_REPORT).context("docs/calibration/report.json")?;
    let validation = calibration["validation"].clone();
    let val_rows = validation.as_array().cloned().unwrap_or_default();
    let reproduced = val_rows
        .iter()
        .filter(|r| r["reproduced"] == json!(true))
        .count();
    let bands = &ens.doc["outcomes"]["bands"];
    let tb = &ens.doc["transport"]["bands"]["reached_dermis_fraction"];
    let last = |v: &Value| {
        v.as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let uncertainty = json!({
        "members": ens.members,
        "failed_members": ens.failed,
        "parameters": space.dim(),
        "reached_dermis_fraction": {"nominal": ens.doc["transport"]["reached_dermis_fraction"], "p05": last(&tb["p05"]), "p50": last(&tb["p50"]), "p95": last(&tb["p95"])},
        "outcomes_at_end": bands.as_object().map(|m| m.iter().map(|(k, b)| {
            let pick = |q: &str| if b[q].is_array() { last(&b[q]) } else { b[q].as_f64().unwrap_or(f64::NAN) };
            (k.clone(), json!({"p05": pick("p05"), "p50": pick("p50"), "p95": pick("p95")}))
        }).collect::<serde_json::Map<_, _>>()),
    });
    let applicability = json!([
        {"conclusion": "Vesicles reach the dermis through microneedle channels (fraction of the applied dose)", "applicable": "within the 90 % band for this product, needle depth and cheek skin; the band is wide because no measurement of vesicle transport in living skin exists (every transport parameter is a prior)", "limit": "not validated against any in-vivo vesicle measurement; only the Franz exact solutions and conservation are verified"},
        {"conclusion": "Redness and inflammation after the procedure, and their resolution over days", "applicable": "magnitudes and time courses as calibrated and validated on the peer-reviewed set (see validation)", "limit": "human micropore closure times are missed (channel_closure_h rows of the validation table): channel timing after needling is uncertain beyond the band"},
        {"conclusion": "A vesicle-specific benefit over the same procedure without vesicles", "applicable": "none found: every vesicle-minus-control difference of the calibration set is missed, and power analyses find the effect tiny", "limit": "the model cannot support claims of vesicle-specific benefit; assurance of a trial is low"},
        {"conclusion": "Trial planning (sample size, assurance)", "applicable": "relative comparisons of designs and endpoints", "limit": "instrument noise and between-person spread are assumptions with ranges; absolute sample sizes are only as good as the effect the model predicts"}
    ]);
    let report = json!({
        "standard": "ASME V&V 40-2018 (risk-informed credibility assessment)",
        "context_of_use": CONTEXT_OF_USE,
        "code_verification": code,
        "calculation_verification": calc,
        "validation": {
            "source": "docs/calibration/report.json (exoskin calibrate): peer-reviewed data the fit never saw",
            "data": val_rows.len(),
            "reproduced": reproduced,
            "rows": validation,
            "vesicle_minus_control": calibration["differences"],
        },
        "uncertainty": uncertainty,
        "sensitivity": sens,
        "applicability": applicability,
    });
    let md = markdown(&report);
    exoskin_model::fsutil::write_atomic(
        &a.out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )
    .with_context(|| format!("writing {}", a.out.join("report.json").display()))?;
    exoskin_model::fsutil::write_atomic(&a.out.join("report.md"), md.as_bytes())
        .with_context(|| format!("writing {}", a.out.join("report.md").display()))?;
    println!("wrote {}/report.md and report.json", a.out.display());
    Ok(0)
}

fn markdown(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.3e}"));
    let mut o = String::new();
    let _ = writeln!(o, "# Credibility of exoskin for one context of use\n");
    let _ = writeln!(o, "In the shape of {}. Written by `exoskin credibility`; every figure except the validation set (the committed calibration report) is computed by that command.\n", r["standard"].as_str().unwrap_or(""));
    let _ = writeln!(
        o,
        "## Context of use\n\n{}\n",
        r["context_of_use"].as_str().unwrap_or("")
    );
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
            f(&e["steady_flux_per_cm2_h"]),
            f(&e["exact_steady_flux_per_cm2_h"]),
            f(&e["relative_error_flux"]),
            f(&e["lag_time_h"]),
            f(&e["exact_lag_time_h"]),
            f(&e["relative_error_lag"])
        );
    }
    let _ = writeln!(o, "\nMass balance (applied = in the skin + in every sink), |recovery - 1|:\n\n| scenario | error |\n|---|---|");
    for e in r["code_verification"]["mass_balance"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            o,
            "| {} | {} |",
            e["scenario"].as_str().unwrap_or(""),
            f(&e["error"])
        );
    }
    let _ = writeln!(
        o,
        "\nStatistics: {}.\n",
        r["code_verification"]["statistics"].as_str().unwrap_or("")
    );
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
        let cells: Vec<String> = outs.iter().map(|k| f(&row["relative_change"][k])).collect();
        let _ = writeln!(
            o,
            "| {} | {} |",
            row["refinement"].as_str().unwrap_or(""),
            cells.join(" | ")
        );
    }
    let v = &r["validation"];
    let _ = writeln!(o, "\n## Validation\n\n{} of {} validation data reproduced (model 90 % interval from the fit's posterior within the datum's uncertainty); source: {}.\n", v["reproduced"], v["data"], v["source"].as_str().unwrap_or(""));
    let _ = writeln!(o, "| datum | quantity | observed | model | 90 % interval | reproduced |\n|---|---|---|---|---|---|");
    for row in v["rows"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | [{}, {}] | {} |",
            row["id"].as_str().unwrap_or(""),
            row["quantity"].as_str().unwrap_or(""),
            f(&row["value"]),
            f(&row["model"]),
            f(&row["p05"]),
            f(&row["p95"]),
            row["reproduced"]
        );
    }
    let u = &r["uncertainty"];
    let _ = writeln!(o, "\n## Uncertainty\n\nEnsemble of {} members ({} failed) over {} uncertain parameters (priors of the data files, a joint draw of the fitted parameters from the MCMC sample (data/response_posterior.csv), the source's potency).\n", u["members"], u["failed_members"], u["parameters"]);
    let d = &u["reached_dermis_fraction"];
    let _ = writeln!(
        o,
        "Reached the dermis: nominal {}, median {} [90 %: {}, {}].\n",
        f(&d["nominal"]),
        f(&d["p50"]),
        f(&d["p05"]),
        f(&d["p95"])
    );
    let _ = writeln!(
        o,
        "| outcome at the end (% change) | p05 | p50 | p95 |\n|---|---|---|---|"
    );
    for (k, b) in u["outcomes_at_end"].as_object().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {k} | {} | {} | {} |",
            f(&b["p05"]),
            f(&b["p50"]),
            f(&b["p95"])
        );
    }
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
                    f(&t["mu_star"])
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        o,
        "\n## Applicability and limits\n\n| conclusion | applicable | limit |\n|---|---|---|"
    );
    for a in r["applicability"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            a["conclusion"].as_str().unwrap_or(""),
            a["applicable"].as_str().unwrap_or(""),
            a["limit"].as_str().unwrap_or("")
        );
    }
    o
}
