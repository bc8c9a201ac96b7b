//! `exoskin export sbml FILE --out model.xml`: the response model of an in-vivo scenario as
//! SBML Level 3 Version 2 (see the exoskin-sbml crate for what the file holds).

use crate::bad_input;
use anyhow::Context;
use clap::{Args, Subcommand};
use exoskin_model::{read_scenario_file, TransportParams};
use exoskin_response::{try_simulate_in_vivo, ResponseParams};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write the response model of an in-vivo scenario (with its run's uptake and wound
    /// closure as inputs) as SBML Level 3 Version 2.
    Sbml(SbmlArgs),
}

#[derive(Args)]
pub struct SbmlArgs {
    /// In-vivo scenario file (TOML).
    pub file: PathBuf,
    /// Where to write the SBML document.
    #[arg(long, value_name = "model.xml")]
    pub out: PathBuf,
}

pub fn run(c: ExportCommand) -> anyhow::Result<u8> {
    match c {
        ExportCommand::Sbml(a) => sbml(a),
    }
}

fn sbml(a: SbmlArgs) -> anyhow::Result<u8> {
    let scenario = read_scenario_file(&a.file).map_err(|e| bad_input(e.to_string()))?;
    let v = exoskin_sbml::in_vivo(&scenario)
        .map_err(|e| bad_input(format!("{}: {e}", a.file.display())))?;
    let rp = ResponseParams::shipped().map_err(|e| anyhow::anyhow!("{e}"))?;
    let sim = try_simulate_in_vivo(v, TransportParams::defaults(), rp)
        .map_err(|e| bad_input(format!("{}: transport failed: {e}", a.file.display())))?;
    let stem = a
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "exoskin".into());
    let xml = exoskin_sbml::export(v, &sim, rp, &exoskin_sbml::model_id(&stem))
        .map_err(|e| bad_input(format!("{}: {e}", a.file.display())))?;
    std::fs::write(&a.out, xml).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("wrote {}", a.out.display());
    Ok(0)
}
