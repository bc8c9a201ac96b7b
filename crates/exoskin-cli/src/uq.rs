//! `exoskin sensitivity FILE --output NAME[@DAY]`: which uncertain parameter matters for an
//! output (the analysis itself is `exoskin_api::sensitivity`).

use crate::bad_input;
use crate::progress::{with_threads, Progress};
use clap::Args as ClapArgs;
use exoskin_api::sensitivity::{analyze, Method};
use exoskin_api::uncertainty::{Control, Space};
use exoskin_model::read_scenario_file;
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct SensitivityArgs {
    /// Scenario file (TOML).
    pub file: PathBuf,
    /// The output: an outcome or transport name, optionally at a day (collagen_pct@90,
    /// transport.reached_dermis_fraction, wound_closure_h).
    #[arg(long, value_name = "NAME[@DAY]")]
    pub output: String,
    /// sobol (first-order and total indices) or morris (cheap screening).
    #[arg(long, default_value = "sobol")]
    pub method: String,
    /// Sobol: base rows N (N x (parameters + 2) model runs).
    #[arg(long, default_value_t = 64)]
    pub samples: usize,
    /// Sobol: bootstrap resamples for the 95 % intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Morris: trajectories (trajectories x (parameters + 1) model runs).
    #[arg(long, default_value_t = 20)]
    pub trajectories: usize,
    /// Morris: grid levels per parameter (even).
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// Only these parameters (comma-separated names as listed in the output); the others
    /// stay at their medians.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub parameters: Option<Vec<String>>,
    /// Seed of the design and the bootstrap.
    #[arg(long, default_value_t = exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED)]
    pub seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn run_sensitivity(a: SensitivityArgs) -> anyhow::Result<u8> {
    let scenario = read_scenario_file(&a.file).map_err(|e| bad_input(e.to_string()))?;
    let name = a.file.display().to_string();
    let method = match a.method.as_str() {
        "sobol" => Method::Sobol {
            samples: a.samples,
            bootstrap: a.bootstrap,
        },
        "morris" => Method::Morris {
            trajectories: a.trajectories,
            levels: a.levels,
        },
        other => return Err(bad_input(format!("--method {other}: use sobol or morris"))),
    };
    let mut space = Space::shipped(&scenario).map_err(|e| bad_input(e.to_string()))?;
    if let Some(names) = &a.parameters {
        space = space.only(names).map_err(|e| bad_input(e.to_string()))?;
    }
    let bar = Progress::new("model runs");
    let progress = |d: usize, t: usize| bar.show(d, t);
    let control = Control {
        progress: Some(&progress),
        cancel: None,
    };
    let doc = with_threads(a.threads, || {
        analyze(
            &scenario, &name, &space, &a.output, method, a.seed, &control,
        )
    })?
    .map_err(|e| bad_input(e.to_string()))?;
    bar.done();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    println!(
        "sensitivity of {} ({}), {} method, {} parameters, {} model runs ({} transport runs)",
        a.output,
        name,
        doc["method"].as_str().unwrap_or(""),
        doc["parameters"],
        doc["model_runs"],
        doc["transport_runs"]
    );
    println!("nominal value: {}", doc["nominal_output"]);
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let ci = |v: &serde_json::Value| format!("[{:.3}, {:.3}]", f(&v[0]), f(&v[1]));
    let rows = doc["indices"].as_array().cloned().unwrap_or_default();
    if a.method == "sobol" {
        println!(
            "\n{:<52} {:>8} {:>18} {:>8} {:>18}",
            "parameter (ranked by total index)", "S_i", "95% CI", "S_Ti", "95% CI"
        );
        for r in &rows {
            println!(
                "{:<52} {:>8.3} {:>18} {:>8.3} {:>18}",
                r["parameter"].as_str().unwrap_or(""),
                f(&r["first_order"]),
                ci(&r["first_order_ci95"]),
                f(&r["total_order"]),
                ci(&r["total_order_ci95"])
            );
        }
    } else {
        println!(
            "\n{:<52} {:>10} {:>22} {:>10}",
            "parameter (ranked by mu*)", "mu*", "95% CI", "sigma"
        );
        for r in &rows {
            println!(
                "{:<52} {:>10.3e} {:>22} {:>10.3e}",
                r["parameter"].as_str().unwrap_or(""),
                f(&r["mu_star"]),
                format!(
                    "[{:.2e}, {:.2e}]",
                    f(&r["mu_star_ci95"][0]),
                    f(&r["mu_star_ci95"][1])
                ),
                f(&r["sigma"])
            );
        }
    }
    Ok(0)
}
