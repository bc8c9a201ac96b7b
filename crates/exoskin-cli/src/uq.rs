//! `exoskin sensitivity FILE --output NAME[@DAY]`: which uncertain parameter matters for an
//! output (the analysis itself is `exoskin_api::sensitivity`).

use crate::bad_input;
use crate::progress::{with_threads, Progress};
use crate::sweep::{engine, sweep_error, Engine};
use clap::Args as ClapArgs;
use exoskin_sweep::analysis::{sensitivity_report, SensitivitySettings};
use exoskin_sweep::exec::{execute, Finished, Job, Placement, Ran};
use std::path::{Path, PathBuf};

#[derive(ClapArgs)]
pub struct SensitivityArgs {
    /// Scenario file (TOML).
    #[arg(required_unless_present = "from")]
    pub file: Option<PathBuf>,
    /// The output: an outcome or transport name, optionally at a day (collagen_pct@90,
    /// transport.reached_dermis_fraction, wound_closure_h).
    #[arg(long, value_name = "NAME[@DAY]", required_unless_present = "from")]
    pub output: Option<String>,
    /// Draw the most influential parameters' indices with their 95 % intervals (a forest
    /// plot, largest first) to a PNG or SVG file.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// screened (Morris screening of every parameter, then Sobol indices of the influential
    /// few, the others at their medians), sobol (first-order and total indices of every
    /// parameter) or morris (screening alone).
    #[arg(long, default_value = "screened")]
    pub method: String,
    /// Sobol: base rows N (N x (parameters + 2) model runs); default 256 for the few
    /// parameters a screened analysis keeps, 64 for every parameter (--method sobol).
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Screened: at most this many parameters go on to the Sobol stage (those whose mu* is
    /// at least 5 % of the largest).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub keep: usize,
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
    /// Run the design's model runs as a sweep of K shards written to --out DIR (the
    /// sweep's shard contract: `exoskin sweep DIR/spec.toml --shard I` runs one).
    #[arg(long, value_name = "K", requires = "out")]
    pub shards: Option<usize>,
    /// The sweep's directory (with --shards).
    #[arg(long, value_name = "DIR", requires = "shards")]
    pub out: Option<PathBuf>,
    /// Where the shards run (with --shards): here, on Dask, or as a Slurm job array whose
    /// merge step ends with `exoskin sensitivity --from DIR`.
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// The Dask scheduler's address (with --engine dask).
    #[arg(long, value_name = "ADDR")]
    pub scheduler: Option<String>,
    /// The indices of a finished sharded analysis in DIR (merging its shards if needed).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "shards"])]
    pub from: Option<PathBuf>,
}

pub fn run_sensitivity(a: SensitivityArgs) -> anyhow::Result<u8> {
    if let Some(dir) = &a.from {
        let doc = sensitivity_report(dir).map_err(sweep_error)?;
        return print_doc(&doc, a.json);
    }
    let (Some(file), Some(output)) = (&a.file, &a.output) else {
        return Err(bad_input(
            "exoskin sensitivity FILE --output NAME[@DAY]: both are needed",
        ));
    };
    if !["screened", "sobol", "morris"].contains(&a.method.as_str()) {
        return Err(bad_input(format!(
            "--method {}: use screened, sobol or morris",
            a.method
        )));
    }
    if a.method == "screened" && a.shards.is_some() {
        return Err(bad_input(
            "--method screened runs its two stages in process; to shard, run --method morris, then --method sobol --parameters with the influential few",
        ));
    }
    if a.engine != Engine::Local && a.shards.is_none() {
        return Err(bad_input("--engine goes with --shards K --out DIR"));
    }
    if a.engine != Engine::Dask && a.scheduler.is_some() {
        return Err(bad_input("--scheduler goes with --engine dask"));
    }
    if let Some(p) = &a.plot {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("png") && !ext.eq_ignore_ascii_case("svg") {
            return Err(bad_input(format!(
                "--plot {}: use a file name ending in .png or .svg",
                p.display()
            )));
        }
    }
    let job = Job::Sensitivity {
        output: output.clone(),
        settings: SensitivitySettings {
            file: file.display().to_string(),
            method: a.method.clone(),
            samples: a.samples.unwrap_or(if a.method == "screened" {
                SCREENED_SAMPLES
            } else {
                SOBOL_SAMPLES
            }),
            bootstrap: a.bootstrap,
            trajectories: a.trajectories,
            levels: a.levels,
            seed: a.seed,
            parameters: a.parameters.clone(),
        },
        keep: a.keep,
    };
    let (placement, threads) = match (a.shards, &a.out) {
        (Some(shards), Some(dir)) => (
            Placement::Shards {
                dir: dir.clone(),
                shards,
                engine: engine(a.engine, a.threads, a.scheduler.as_deref(), false)?,
            },
            None,
        ),
        _ => (Placement::InProcess, a.threads),
    };
    let bar = Progress::new("model runs");
    let finished =
        with_threads(threads, || execute(&job, &placement, &bar))?.map_err(sweep_error)?;
    bar.done();
    let doc = match finished {
        Finished::Submitted(ran) => {
            if let Some(how) = ran.how_to_submit() {
                println!("{how}");
            }
            return Ok(0);
        }
        Finished::Document { doc, ran, .. } => {
            if let Some(Ran::Here(run)) = ran {
                eprintln!(
                    "{} shard(s) run, {} already done ({} model runs) in {}",
                    run.ran.len(),
                    run.skipped.len(),
                    run.rows,
                    a.out.as_deref().unwrap_or(Path::new(".")).display()
                );
            }
            doc
        }
    };
    if let Some(p) = &a.plot {
        sensitivity_plot(p, &doc)?;
    }
    print_doc(&doc, a.json)
}

/// Sobol base rows by default: over every parameter, and over the few a screened analysis
/// keeps (where more rows cost little and steady the indices).
const SOBOL_SAMPLES: usize = 64;
const SCREENED_SAMPLES: usize = 256;

/// Parameters drawn in a sensitivity figure: the most influential, largest first.
const PLOT_PARAMETERS: usize = 15;

/// The indices of the most influential parameters with their 95 % intervals: Morris mu*, or
/// Sobol total and first-order indices side by side (ranked by the total index).
fn sensitivity_plot(path: &std::path::Path, doc: &serde_json::Value) -> anyhow::Result<()> {
    use exoskin_plot::{save_titled, Forest, ForestRow, Panel};
    let rows: Vec<&serde_json::Value> = doc["indices"].as_array().into_iter().flatten().collect();
    let num = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let ci = |v: &serde_json::Value, k: &str, i: usize| v[k][i].as_f64().unwrap_or(f64::NAN);
    let panel = |title: &str, x: &str, key: &str, ci_key: &str, order: &[&serde_json::Value]| {
        let mut f = Forest::new(title, x)
            .with_null(0.0)
            .with_interval_name("estimate, 95 % interval");
        for r in order.iter().take(PLOT_PARAMETERS) {
            let mid = num(r, key);
            let (lo, hi) = (ci(r, ci_key, 0).min(mid), ci(r, ci_key, 1).max(mid));
            let label = r["parameter"].as_str().unwrap_or("").replace('_', " ");
            f = f.with_row(ForestRow::new(label, lo, mid, hi));
        }
        Panel::Forest(f)
    };
    let by = |key: &str| {
        let mut v = rows.clone();
        v.sort_by(|a, b| num(b, key).total_cmp(&num(a, key)));
        v
    };
    let output = doc["output"].as_str().unwrap_or("");
    let screening: Vec<&serde_json::Value> =
        doc["screening"].as_array().into_iter().flatten().collect();
    let panels = if doc["method"] == "morris" {
        vec![panel(
            "Morris screening: mu* with its 95 % interval",
            "mu* (output change per prior range)",
            "mu_star",
            "mu_star_ci95",
            &by("mu_star"),
        )]
    } else if doc["method"] == "screened" {
        let order = by("total_order");
        vec![
            panel(
                "1. Morris screening of every parameter: mu* (95 % interval)",
                "mu* (output change per prior range)",
                "mu_star",
                "mu_star_ci95",
                &screening,
            ),
            panel(
                "2. Total-order Sobol index of the parameters kept (95 % bootstrap)",
                "share of the output's variance, with interactions",
                "total_order",
                "total_order_ci95",
                &order,
            ),
            panel(
                "3. First-order Sobol index of the parameters kept (95 % bootstrap)",
                "share of the output's variance, alone",
                "first_order",
                "first_order_ci95",
                &order,
            ),
        ]
    } else {
        let order = by("total_order");
        vec![
            panel(
                "Total-order Sobol index (95 % bootstrap interval)",
                "share of the output's variance, with interactions",
                "total_order",
                "total_order_ci95",
                &order,
            ),
            panel(
                "First-order Sobol index (95 % bootstrap interval)",
                "share of the output's variance, alone",
                "first_order",
                "first_order_ci95",
                &order,
            ),
        ]
    };
    // Three panels (screened) stack in one column; a forest plot needs its width.
    let columns = if panels.len() > 2 { 1 } else { panels.len() };
    let title = if doc["method"] == "screened" {
        format!(
            "Sensitivity of {output}: screening, then Sobol indices of the {} kept",
            doc["kept"].as_array().map_or(0, Vec::len)
        )
    } else {
        format!("Sensitivity of {output}: the {PLOT_PARAMETERS} most influential parameters")
    };
    save_titled(path, &title, &panels, columns)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn print_doc(doc: &serde_json::Value, json: bool) -> anyhow::Result<u8> {
    if json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    println!(
        "sensitivity of {} ({}), {} method, {} parameters, {} model runs ({} transport runs)",
        doc["output"].as_str().unwrap_or(""),
        doc["scenario"]["file"].as_str().unwrap_or(""),
        doc["method"].as_str().unwrap_or(""),
        doc["parameters"],
        doc["model_runs"],
        doc["transport_runs"]
    );
    println!("nominal value: {}", doc["nominal_output"]);
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let ci = |v: &serde_json::Value| format!("[{:.3}, {:.3}]", f(&v[0]), f(&v[1]));
    let rows = doc["indices"].as_array().cloned().unwrap_or_default();
    if doc["method"] == "screened" {
        let kept = doc["kept"].as_array().map_or(0, Vec::len);
        println!(
            "screening (Morris, every parameter) kept {kept} for the Sobol stage ({}); the largest mu* left out is {:.3e}",
            doc["settings"]["criterion"].as_str().unwrap_or(""),
            f(&doc["largest_mu_star_left_out"])
        );
        println!(
            "first-order indices of the kept parameters sum to {:.3} (at most 1 up to sampling error; the rest is interactions and the parameters left out)",
            f(&doc["first_order_sum"])
        );
    }
    if doc["method"] == "sobol" || doc["method"] == "screened" {
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
