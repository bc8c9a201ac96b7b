//! `exoskin simulate FILE [--json] [--out DIR]`: run a scenario and report (the documents
//! themselves are made by `exoskin_api::simulate`).

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_api::simulate;
use exoskin_api::uncertainty::{self, Control, Space};
use exoskin_model::{read_scenario_file, Stop, TransportParams};
use exoskin_response::ResponseParams;
use exoskin_transport::Budget;
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// Scenario file (TOML). Without it, the bundled microneedling scenario runs.
    pub file: Option<PathBuf>,
    /// Print one JSON document to stdout instead of the readable summary.
    #[arg(long)]
    pub json: bool,
    /// Also write time series and profiles as CSV files into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Draw the outcome curves (or, for a Franz cell, the receptor curve) to a PNG or SVG file.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Run an ensemble of N quasi-random draws over the parameters' priors and the fit's
    /// posterior: JSON gains `outcomes.bands` and `transport.bands`, plots draw the 90 % band.
    /// Overrides the scenario's `[uncertainty]` table.
    #[arg(long, value_name = "N")]
    pub uncertainty: Option<usize>,
    /// Seed of the ensemble (default: the scenario's, or 20261202).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads for the ensemble (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Refuse, before it starts, a run whose solver would need more memory than this (MiB).
    /// The estimate counts the grid, the size classes and the band factors.
    #[arg(long, value_name = "MIB", default_value_t = 2048.0)]
    pub max_memory_mib: f64,
    /// Refuse, before it starts, a run whose estimated compute time exceeds this (seconds on
    /// one core; the estimate counts the exact time steps and the band work).
    #[arg(long, value_name = "S", default_value_t = 600.0)]
    pub max_seconds: f64,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let (scenario, name) = match &a.file {
        Some(f) => (
            read_scenario_file(f).map_err(|e| bad_input(e.to_string()))?,
            f.display().to_string(),
        ),
        None => (
            simulate::parse(simulate::DEFAULT_SCENARIO, simulate::DEFAULT_SCENARIO_NAME)
                .map_err(crate::api_error)?,
            simulate::DEFAULT_SCENARIO_NAME.to_string(),
        ),
    };
    let from_file = scenario.experiment().uncertainty;
    let members = a.uncertainty.or(from_file.map(|u| u.members));
    let seed = a
        .seed
        .or(from_file.map(|u| u.seed))
        .unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED);
    let (run, doc, text) = match members {
        None => {
            let budget = budget(a.max_memory_mib, a.max_seconds)?;
            let run = simulate::run_with_effect(
                scenario,
                &name,
                TransportParams::defaults(),
                ResponseParams::defaults(),
                &budget,
                &Stop::never(),
            )
            .map_err(crate::api_error)?;
            let doc = run.json();
            let text = run.summary();
            (run, doc, text)
        }
        Some(n) => {
            let space = Space::shipped(&scenario).map_err(crate::api_error)?;
            let bar = crate::progress::Progress::new("members");
            let progress = |d: usize, t: usize| bar.show(d, t);
            let control = Control {
                progress: Some(&progress),
                cancel: None,
            };
            let e = crate::progress::with_threads(a.threads, || {
                uncertainty::ensemble(&scenario, &name, &space, n, seed, &control)
            })?
            .map_err(|e| bad_input(format!("--uncertainty {n}: {e}")))?;
            bar.done();
            let text = e.summary();
            (e.nominal, e.doc, text)
        }
    };
    if let Some(dir) = &a.out {
        run.write_csv(dir)
            .with_context(|| format!("writing CSV files into {}", dir.display()))?;
    }
    if let Some(path) = &a.plot {
        let title = crate::plots::figure_title(&run.scenario.experiment().name, a.file.as_deref());
        crate::plots::outcomes_plot(
            path,
            &title,
            run.outcomes.as_ref(),
            run.transport.as_ref(),
            doc.get("outcomes").and_then(|o| o.get("bands")),
            run.effect.as_ref(),
        )?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{text}");
    }
    Ok(0)
}

/// The budget of `--max-memory-mib` and `--max-seconds`.
fn budget(memory_mib: f64, seconds: f64) -> anyhow::Result<Budget> {
    for (flag, v) in [("--max-memory-mib", memory_mib), ("--max-seconds", seconds)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(bad_input(format!("{flag} {v}: give a positive number")));
        }
    }
    Ok(Budget {
        memory_bytes: memory_mib * 1024.0 * 1024.0,
        seconds,
    })
}
