//! `exoskin simulate FILE [--json] [--out DIR]`: run a scenario and report (the documents
//! themselves are made by `exoskin_api::simulate`).

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_api::certificate;
use exoskin_api::simulate;
use exoskin_api::uncertainty::{self, Space};
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
    /// Simulate the batch of this signed certificate (certificate.json from `batch issue`):
    /// it is verified first, and its measured concentration, size, storage form and
    /// temperature and its age replace the scenario's [product]. Runs an ensemble (default
    /// 64 members) that also samples the measured concentration and size mode.
    #[arg(long, value_name = "CERT.json")]
    pub certificate: Option<PathBuf>,
    /// The issuer's public key to trust for --certificate (PEM from keygen, or a file holding
    /// its did:key); without it the signature is checked against the issuer's own did:key.
    #[arg(long, value_name = "KEY", requires = "certificate")]
    pub pubkey: Option<PathBuf>,
    /// A revocation list for --certificate (JSON from the registry's GET /api/v1/revocations).
    #[arg(long, value_name = "FILE", requires = "certificate")]
    pub revocations: Option<PathBuf>,
    /// The day the batch is used (YYYY-MM-DD): its storage age and expiry are taken on it.
    /// Default: today (UTC).
    #[arg(long, value_name = "DATE", requires = "certificate")]
    pub on: Option<String>,
    /// Simulate a certificate that does not verify (marked unverified, with a warning).
    #[arg(long, requires = "certificate")]
    pub allow_unverified: bool,
    /// Simulate a batch past its expiry date.
    #[arg(long, requires = "certificate")]
    pub allow_expired: bool,
}

/// `--certificate`: read, verify and turn it into a batch to simulate.
fn read_batch(a: &Args, cert: &std::path::Path) -> anyhow::Result<certificate::BatchInput> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .map_err(|e| bad_input(format!("cannot read {}: {e}", p.display())))
    };
    let text = read(cert)?;
    let key = a.pubkey.as_deref().map(read).transpose()?;
    let revs = a.revocations.as_deref().map(read).transpose()?;
    let key_name = a.pubkey.as_ref().map(|p| p.display().to_string());
    let revs_name = a.revocations.as_ref().map(|p| p.display().to_string());
    let opts = certificate::CertificateOptions {
        pubkey: key.as_deref().zip(key_name.as_deref()),
        revocations: revs.as_deref().zip(revs_name.as_deref()),
        on: a.on.as_deref(),
        allow_unverified: a.allow_unverified,
        allow_expired: a.allow_expired,
    };
    let batch = certificate::read_certificate(&text, &opts)
        .map_err(|e| bad_input(format!("{}: {e}", cert.display())))?;
    for w in &batch.warnings {
        eprintln!("{w}");
    }
    Ok(batch)
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
    let batch = match &a.certificate {
        Some(c) => Some(read_batch(&a, c)?),
        None => None,
    };
    let members = a.uncertainty.or(from_file.map(|u| u.members)).or(batch
        .as_ref()
        .map(|_| certificate::DEFAULT_CERTIFICATE_MEMBERS));
    let seed = a
        .seed
        .or(from_file.map(|u| u.seed))
        .unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED);
    let (run, doc, text) = match (members, &batch) {
        (Some(n), Some(b)) => {
            let bar = crate::progress::Progress::new("members");
            let e = crate::progress::with_threads(a.threads, || {
                certificate::simulate(scenario, &name, b, n, seed, &bar)
            })?
            .map_err(crate::api_error)?;
            bar.done();
            let text = b.summary() + &e.summary();
            (e.nominal, e.doc, text)
        }
        (None, _) => {
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
        (Some(n), None) => {
            let space = Space::shipped(&scenario).map_err(crate::api_error)?;
            let bar = crate::progress::Progress::new("members");
            let e = crate::progress::with_threads(a.threads, || {
                uncertainty::ensemble(&scenario, &name, &space, n, seed, &bar)
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
