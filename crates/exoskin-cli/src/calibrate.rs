//! `exoskin calibrate`: fit the response parameters to the peer-reviewed calibration set
//! (data/evidence.toml), validate on the set the fit never sees, and write the fit and a
//! report. `exoskin claims`: test the seed articles' claims with the calibrated model.

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_model::TransportParams;
use exoskin_response::calibrate::{self, Report};
use exoskin_response::claims;
use exoskin_response::ResponseParams;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(ClapArgs)]
pub struct Args {
    /// Where to write response_fit.toml, report.md and report.json.
    #[arg(long, default_value = "calibration")]
    pub out: PathBuf,
    /// Only evaluate the shipped parameters against both sets (no fit).
    #[arg(long)]
    pub check: bool,
    /// Posterior draws for the validation intervals.
    #[arg(long, default_value_t = 32)]
    pub draws: usize,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::shipped().map_err(|e| anyhow::anyhow!("{e}"))?;
    check_draws(a.draws)?;
    let report = if a.check {
        calibrate::check(tp, rp, a.draws).map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        eprintln!(
            "fitting {} parameters to the calibration set of data/evidence.toml...",
            rp.fit_names().len()
        );
        calibrate::fit(tp, a.draws)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .1
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if !a.check {
        write_atomic(
            &a.out.join("response_fit.toml"),
            &calibrate::fit_toml(&report),
        )?;
    }
    write_atomic(&a.out.join("report.md"), &calibrate::markdown(&report))?;
    write_atomic(
        &a.out.join("report.json"),
        &serde_json::to_string_pretty(&report)?,
    )?;
    print!("{}", summary(&report));
    println!("wrote {}", a.out.display());
    Ok(0)
}

/// `--draws` must be 1 to 10,000 (posterior draws; each costs one response run per datum).
fn check_draws(draws: usize) -> anyhow::Result<()> {
    if draws == 0 || draws > 10_000 {
        return Err(bad_input(format!(
            "--draws {draws}: must be between 1 and 10000; 32 (the default) gives 90 % intervals"
        )));
    }
    Ok(())
}

fn summary(r: &Report) -> String {
    let mut s = String::new();
    for p in &r.params {
        let _ = writeln!(
            s,
            "  {:<42} {:>11.4} +- {:<9.3} prior {:.3}-{:.3}{}",
            p.name,
            p.value,
            p.sd,
            p.prior_range[0],
            p.prior_range[1],
            if p.inside_prior {
                ""
            } else {
                "  OUTSIDE PRIOR"
            }
        );
    }
    for (name, rows) in [
        ("calibration", &r.calibration),
        ("validation", &r.validation),
    ] {
        let ok = rows.iter().filter(|x| x.reproduced).count();
        let _ = writeln!(s, "{name} set: {ok} of {} reproduced", rows.len());
        for x in rows.iter().filter(|x| !x.reproduced) {
            let _ = writeln!(
                s,
                "  missed {:<44} data {:>9.3}  model {:>9.3}",
                x.id, x.value, x.model
            );
        }
    }
    for d in &r.differences {
        let _ = writeln!(
            s,
            "vesicle minus control ({}, {}): observed {:.2}, model {:.2}{}",
            d.set,
            d.quantity,
            d.observed,
            d.model,
            if d.reproduced { "" } else { "  MISSED" }
        );
    }
    s
}

#[derive(ClapArgs)]
pub struct ClaimsArgs {
    /// Directory of the scenarios named by data/claims.toml.
    #[arg(long, default_value = "scenarios/claims")]
    pub scenarios: PathBuf,
    /// Posterior draws for the intervals.
    #[arg(long, default_value_t = 32)]
    pub draws: usize,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run_claims(a: ClaimsArgs) -> anyhow::Result<u8> {
    if !a.scenarios.is_dir() {
        return Err(bad_input(format!(
            "--scenarios {}: no such directory; run from the repository root or pass --scenarios DIR",
            a.scenarios.display()
        )));
    }
    check_draws(a.draws)?;
    let tp = TransportParams::defaults();
    let rp = ResponseParams::shipped().map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows =
        claims::evaluate(&a.scenarios, tp, rp, a.draws).map_err(|e| bad_input(e.to_string()))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "claims": rows }))?
        );
        return Ok(0);
    }
    for r in &rows {
        let pred = match r.predicted {
            Some(p) => format!("{:.2} [{:.2}, {:.2}]", p.p50, p.p05, p.p95),
            None => "-".into(),
        };
        println!("{:<14} {:<36} {:<26} {}", r.verdict, r.id, pred, r.claim);
        println!("{:<14} {}", "", r.reason);
    }
    Ok(0)
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    exoskin_model::fsutil::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
