//! The `exoskin` command line: a thin layer over the library crates.
//!
//! Exit codes: 0 success; 1 a command's own "no" (a certificate not valid, a log not
//! intact) or a failure while running (a file that cannot be written); 2 bad input (a file,
//! flag or value the user must fix); 3 the solver could not finish valid input; 4 an internal
//! error (broken bundled data); 5 stopped (a time limit or a cancel). Every subcommand lives
//! in its own module and returns `anyhow::Result`; errors built with [`bad_input`] exit 2,
//! and an [`exoskin_api::ApiError`] kept by [`api_error`] exits by its kind.

use clap::{Parser, Subcommand};
use std::fmt;
use std::process::ExitCode;

mod batch;
mod batch_import;
mod calibrate;
mod credibility;
mod export;
mod label;
mod plots;
mod progress;
#[cfg(feature = "registry")]
mod registry;
mod routine;
mod simulate;
mod status;
mod sweep;
mod trial;
mod uq;

/// An error in what the user gave us: a file, a flag, a value. Exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Build an error that exits with code 2.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// The error of a flag that needs the registry's HTTP client in a build without it
/// (`--no-default-features`): exit 2, saying how to get it and what works `instead`.
#[cfg(not(feature = "registry"))]
pub fn no_registry(what: &str, instead: &str) -> anyhow::Error {
    bad_input(format!(
        "{what}: this build has no registry support; rebuild with --features registry, or {instead}"
    ))
}

/// Keep an API error typed on its way out: it exits by its kind
/// ([`exoskin_api::ErrorKind::exit_code`]).
pub fn api_error(e: exoskin_api::ApiError) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// The exit code of an error that reached `main`.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<BadInput>().is_some() {
        return 2;
    }
    if let Some(a) = e.downcast_ref::<exoskin_api::ApiError>() {
        return a.kind().exit_code();
    }
    // A sweep stopped by a time limit or a cancel exits as cancelled; its other failures
    // while running (a file, Parquet, an engine) are 1 (its bad input is bad input already).
    match e.downcast_ref::<exoskin_sweep::SweepError>() {
        Some(s @ exoskin_sweep::SweepError::Stopped(_)) => s.kind().exit_code(),
        _ => 1,
    }
}

#[derive(Parser)]
#[command(
    name = "exoskin",
    version,
    about = "Exosome skincare, in numbers: simulate, decode labels, certify batches"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress on stderr (it shows only when stderr is a terminal anyway).
    #[arg(long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario file (franz_cell, in_vivo or cell_culture) and report transport and outcomes.
    Simulate(simulate::Args),
    /// Write a credibility report (ASME V&V 40 shape) for the bundled microneedling scenario.
    Credibility(credibility::CredibilityArgs),
    /// Global sensitivity of one output to every uncertain parameter (Sobol indices or Morris).
    Sensitivity(uq::SensitivityArgs),
    /// Fit the response parameters to the peer-reviewed calibration set; validate; write a report.
    Calibrate(calibrate::Args),
    /// Test the seed articles' claims with the calibrated model: prediction, interval, verdict.
    Claims(calibrate::ClaimsArgs),
    /// Decode an ingredient list or check a product file for red flags.
    Label(label::Args),
    /// Batch quality certificates: keygen, assess, issue, verify, uri, publish, revoke, export (UNTP), import (instrument files).
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// Serve the certificate registry and GS1 Digital Link resolver over HTTP.
    #[cfg(feature = "registry")]
    Serve(registry::ServeArgs),
    /// Registry maintenance: check the audit log's hash chain against signed checkpoints.
    #[cfg(feature = "registry")]
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Simulate a virtual clinical trial (split-face or parallel) and test its endpoints.
    Trial(trial::TrialArgs),
    /// Sample size for a trial: by simulation over the model, or the analytic t-test answer.
    Power(trial::PowerArgs),
    /// Plan a skincare routine day by day (AM/PM steps, waits, patch tests, procedures) and predict it.
    Routine(routine::Args),
    /// Export a model for other tools: `exoskin export sbml FILE --out model.xml`.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Run a product or routine on every facial zone and draw the face map (SVG and PNG).
    Facemap(routine::FacemapArgs),
    /// Sweep a scenario or a trial over parameter values (grid, Sobol, LHS) in Parquet shards; merge them.
    Sweep(sweep::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.quiet {
        progress::set_quiet();
    }
    let result = match cli.command {
        Command::Simulate(a) => simulate::run(a),
        Command::Sensitivity(a) => uq::run_sensitivity(a),
        Command::Credibility(a) => credibility::run_credibility(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Claims(a) => calibrate::run_claims(a),
        Command::Label(a) => label::run(a),
        Command::Batch(c) => batch::run(c),
        #[cfg(feature = "registry")]
        Command::Serve(a) => registry::serve(a),
        #[cfg(feature = "registry")]
        Command::Registry(c) => registry::registry(c),
        Command::Trial(a) => trial::run_trial(a),
        Command::Power(a) => trial::run_power(a),
        Command::Routine(a) => routine::run(a),
        Command::Facemap(a) => routine::run_facemap(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Export(c) => export::run(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = exit_code(&e);
            match e.downcast_ref::<BadInput>() {
                Some(b) => eprintln!("error: {b}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exoskin_api::ApiError;

    #[test]
    fn each_kind_of_error_has_its_exit_code() {
        let solver = ApiError::Solver {
            name: "s.toml".into(),
            error: exoskin_transport::TransportError::NonFinite {
                class: 0,
                cell: 3,
                time_h: 1.5,
            },
        };
        let stopped = ApiError::Stopped(exoskin_model::Stopped::Cancelled);
        for (e, code) in [
            (bad_input("x"), 2),
            (api_error(ApiError::bad("x")), 2),
            (api_error(solver), 3),
            (api_error(ApiError::Internal("bundled data".into())), 4),
            (api_error(stopped), 5),
            (
                anyhow::Error::new(exoskin_sweep::SweepError::Stopped(
                    exoskin_model::Stopped::Deadline { limit_s: 1.0 },
                )),
                5,
            ),
            (anyhow::anyhow!("disk full"), 1),
        ] {
            assert_eq!(exit_code(&e), code, "{e}");
        }
        // Context on the way up keeps the kind.
        let e = api_error(ApiError::Internal("y".into())).context("writing the report");
        assert_eq!(exit_code(&e), 4);
    }
}
