//! `exoskin calibrate`: fit the response parameters to the published figures, write the fit
//! and a report (fitted values with uncertainty, every target against the model, plots).

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_model::TransportParams;
use exoskin_plot::{Chart, Panel, Series, Style};
use exoskin_response::calibrate::{self, Report};
use exoskin_response::ResponseParams;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(ClapArgs)]
pub struct Args {
    /// Directory of the claims scenarios named by data/calibration_targets.toml.
    #[arg(long, default_value = "scenarios/claims")]
    pub claims: PathBuf,
    /// Where to write response_fit.toml, report.md, report.json and report.png.
    #[arg(long, default_value = "calibration")]
    pub out: PathBuf,
    /// Only evaluate the shipped parameters against the targets (no fit).
    #[arg(long)]
    pub check: bool,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if !a.claims.is_dir() {
        return Err(bad_input(format!(
            "--claims {}: no such directory; run from the repository root or pass --claims DIR",
            a.claims.display()
        )));
    }
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let report = if a.check {
        let prepared = calibrate::prepare(&a.claims, tp, rp).map_err(bad_input)?;
        let rows = calibrate::evaluate(&prepared, tp, rp).map_err(|e| anyhow::anyhow!(e))?;
        Report {
            params: rp.fitted.clone(),
            priors: Default::default(),
            rows,
            objective: f64::NAN,
            iterations: 0,
        }
    } else {
        eprintln!("fitting {} parameters to the fit targets (two passes, transport recomputed between them)...", rp.fit_names().len());
        calibrate::fit(&a.claims, tp, rp).map_err(bad_input)?
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if !a.check {
        write_atomic(
            &a.out.join("response_fit.toml"),
            &calibrate::fit_file(&report),
        )?;
    }
    let md = markdown(&report, a.check);
    write_atomic(&a.out.join("report.md"), &md)?;
    write_atomic(
        &a.out.join("report.json"),
        &serde_json::to_string_pretty(&report)?,
    )?;
    plot(&a.out.join("report.png"), &report)?;
    print!("{md}");
    if !a.check {
        println!("\nWrote {}/response_fit.toml. To ship it, copy it to data/response_fit.toml and rebuild.", a.out.display());
    }
    Ok(0)
}

fn markdown(r: &Report, check: bool) -> String {
    let mut s = String::from("# exoskin calibration report\n\n");
    if !check {
        let _ = writeln!(s, "Maximum a posteriori fit, Levenberg-Marquardt in log parameters ({} iterations), objective {:.4}.", r.iterations, r.objective);
        let _ = writeln!(s, "Uncertainty: Laplace approximation (posterior SD).\n");
    }
    s += "## Fitted parameters\n\n| parameter | value | sd | prior median | prior 95 % range |\n|---|---|---|---|---|\n";
    for (k, f) in &r.params {
        let (m, range) = r
            .priors
            .get(k)
            .copied()
            .unwrap_or((f64::NAN, [f64::NAN, f64::NAN]));
        let _ = writeln!(
            s,
            "| {k} | {:.4} | {:.4} | {m:.4} | {:.4} - {:.4} |",
            f.value, f.sd, range[0], range[1]
        );
    }
    s += "\n## Targets\n\n| target | kind | figure | tolerance | model | reproduced | how it was read |\n|---|---|---|---|---|---|---|\n";
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.3} | {} | {} |",
            row.name,
            row.kind,
            row.target,
            row.tolerance,
            row.model,
            if row.reproduced { "yes" } else { "**NO**" },
            row.note
        );
    }
    let missed: Vec<&str> = r
        .rows
        .iter()
        .filter(|x| !x.reproduced)
        .map(|x| x.name.as_str())
        .collect();
    s += "\n## What the model does not reproduce\n\n";
    if missed.is_empty() {
        s += "Every target is reproduced within its tolerance.\n";
    } else {
        for row in r.rows.iter().filter(|x| !x.reproduced) {
            let _ = writeln!(
                s,
                "- **{}**: the claim is \"{}\" ({}); the model gives {:.2} against {} +- {}. {}",
                row.name,
                row.claim,
                row.source,
                row.model,
                row.target,
                row.tolerance,
                explain(&row.name)
            );
        }
    }
    s += "\n## Sources of the targets\n\n";
    for row in &r.rows {
        let _ = writeln!(s, "- {}: {} — {}", row.name, row.source, row.context);
    }
    s
}

fn explain(name: &str) -> &'static str {
    match name {
        "essence_before_serum" => "In the model intact stratum corneum is impermeable to 30-150 nm vesicles and an essence only adds liquid to the film (diluting it); nothing in the transport physics lets a prehydration step raise vesicle absorption by 20 %. The claim comes from unpublished 'preliminary data' and may refer to the absorption of the serum's small molecules, not of vesicles.",
        _ => "See the row above for how the figure was read.",
    }
}

fn plot(path: &Path, r: &Report) -> anyhow::Result<()> {
    let rows: Vec<_> = r.rows.iter().filter(|x| x.kind == "fit").collect();
    if rows.is_empty() {
        return Ok(());
    }
    let idx: Vec<f64> = (0..rows.len()).map(|i| i as f64 + 1.0).collect();
    let norm = |v: f64, t: f64, tol: f64| (v - t) / tol;
    let chart = Chart {
        title: "Fit targets: (model - figure) / tolerance".into(),
        x_label: "target (1 = first fit target in report.md)".into(),
        y_label: "normalized residual".into(),
        series: vec![Series {
            name: "model".into(),
            x: idx.clone(),
            y: rows
                .iter()
                .map(|x| norm(x.model, x.target, x.tolerance))
                .collect(),
            band: Some((vec![-1.0; rows.len()], vec![1.0; rows.len()])),
            style: Style::Points,
        }],
        hline: Some(0.0),
    };
    exoskin_plot::save(path, &[Panel::Chart(chart)], 1)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    exoskin_model::fsutil::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
