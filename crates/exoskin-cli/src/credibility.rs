//! `exoskin credibility --out DIR`: the credibility report of `exoskin_api::credibility`
//! (ASME V&V 40-2018 in shape, for the bundled microneedling scenario's context of use),
//! written as report.md and report.json.

use crate::progress::{with_threads, Progress};
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_api::credibility::{markdown, report};
use std::path::PathBuf;

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

pub fn run_credibility(a: CredibilityArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let bar = Progress::new("credibility");
    let report = with_threads(a.threads, || report(a.members, a.trajectories, &bar))?
        .map_err(crate::api_error)?;
    bar.done();
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
