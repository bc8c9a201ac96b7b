//! `exoskin simulate FILE [--json] [--out DIR]`: run a scenario and report (the documents
//! themselves are made by `exoskin_api::simulate`).

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_api::simulate;
use exoskin_model::read_scenario_file;
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
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let (scenario, name) = match &a.file {
        Some(f) => (
            read_scenario_file(f).map_err(|e| bad_input(e.to_string()))?,
            f.display().to_string(),
        ),
        None => (
            simulate::parse(simulate::DEFAULT_SCENARIO, simulate::DEFAULT_SCENARIO_NAME)
                .map_err(|e| bad_input(e.to_string()))?,
            simulate::DEFAULT_SCENARIO_NAME.to_string(),
        ),
    };
    let run = simulate::run(scenario, &name).map_err(|e| bad_input(e.to_string()))?;
    let doc = run.json();
    if let Some(dir) = &a.out {
        run.write_csv(dir)
            .with_context(|| format!("writing CSV files into {}", dir.display()))?;
    }
    if let Some(path) = &a.plot {
        let title = crate::plots::figure_title(&run.scenario.experiment().name, a.file.as_deref());
        crate::plots::outcomes_plot(path, &title, run.outcomes.as_ref(), run.transport.as_ref())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", run.summary());
    }
    Ok(0)
}
