//! `exoskin calibrate`: fit the response parameters to the peer-reviewed calibration set
//! (data/evidence.toml), validate on the set the fit never sees, and write the fit and a
//! report. `exoskin claims`: test the seed articles' claims with the calibrated model.

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_inference::calibrate::{self, Report};
use exoskin_inference::posterior::{self, Settings};
use exoskin_model::TransportParams;
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
    /// Posterior draws: for the Laplace validation intervals (default 32); with --mcmc, the
    /// kept MCMC draws per chain (default 8000, after 4000 warm-up iterations).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Sample the posterior of the fitted parameters by MCMC (beside the Laplace part):
    /// R-hat, ESS and posterior-predictive checks in the report, draws in
    /// response_posterior.csv.
    #[arg(long)]
    pub mcmc: bool,
    /// Warm-up iterations per chain (with --mcmc), in which the sampler's Gaussian reference
    /// is re-estimated; discarded [default: 4000].
    #[arg(long)]
    pub warmup: Option<usize>,
    /// MCMC chains (with --mcmc).
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// Seed of the MCMC (with --mcmc); the result is the same for a seed on any thread count.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// Laplace draws for the validation intervals.
const LAPLACE_DRAWS: usize = 32;
/// Kept MCMC draws per chain and warm-up iterations by default: with 4 chains, every
/// coordinate of the shipped calibration reaches R-hat <= 1.01 and bulk ESS >= 400
/// (docs/benchmarks.md).
const MCMC_DRAWS: usize = 8000;
const MCMC_WARMUP: usize = 4000;

pub fn run(a: Args) -> anyhow::Result<u8> {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::shipped().map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.mcmc {
        if a.check {
            return Err(bad_input(
                "--mcmc with --check: --check evaluates the shipped parameters without a fit; drop one of them",
            ));
        }
        let draws = a.draws.unwrap_or(MCMC_DRAWS);
        if !(20..=1_000_000).contains(&draws) {
            return Err(bad_input(format!(
                "--draws {draws}: with --mcmc it is the kept draws per chain and must be between 20 and 1000000; {MCMC_DRAWS} (the default) converges on the shipped calibration"
            )));
        }
        if !(2..=64).contains(&a.chains) {
            return Err(bad_input(format!(
                "--chains {}: must be between 2 and 64 (split-R-hat compares chains); 4 is the default",
                a.chains
            )));
        }
        let warmup = a.warmup.unwrap_or(MCMC_WARMUP);
        if !(120..=1_000_000).contains(&warmup) {
            return Err(bad_input(format!(
                "--warmup {warmup}: must be between 120 and 1000000 (the reference is re-estimated in four stages); the default is {MCMC_WARMUP}"
            )));
        }
        let settings = Settings {
            draws,
            chains: a.chains,
            warmup,
            seed: a.seed,
        };
        eprintln!(
            "fitting {} response parameters (with the measurement scales, class potencies and study effects the data need), then sampling their posterior: {} chains x ({} warm-up + {} draws)...",
            rp.fit_names().len(),
            a.chains,
            warmup,
            draws
        );
        let (_, report, sample) =
            calibrate::fit_and_sample(tp, &settings).map_err(|e| anyhow::anyhow!("{e}"))?;
        write_reports(&a.out, &report, false)?;
        write_atomic(
            &a.out.join("response_posterior.csv"),
            &posterior::draws_csv(&sample),
        )?;
        print!("{}", summary(&report));
        println!("wrote {}", a.out.display());
        return Ok(0);
    }
    let draws = a.draws.unwrap_or(LAPLACE_DRAWS);
    check_draws(draws)?;
    let report = if a.check {
        calibrate::check(tp, rp, draws).map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        eprintln!(
            "fitting {} parameters to the calibration set of data/evidence.toml...",
            rp.fit_names().len()
        );
        calibrate::fit(tp, draws)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .1
    };
    write_reports(&a.out, &report, a.check)?;
    print!("{}", summary(&report));
    println!("wrote {}", a.out.display());
    Ok(0)
}

/// response_fit.toml (after a fit), report.md and report.json.
fn write_reports(out: &Path, report: &Report, check: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if !check {
        write_atomic(&out.join("response_fit.toml"), &calibrate::fit_toml(report))?;
    }
    write_atomic(&out.join("report.md"), &calibrate::markdown(report))?;
    write_atomic(
        &out.join("report.json"),
        &serde_json::to_string_pretty(report)?,
    )
}

/// `--draws` must be 1 to 10,000 (posterior draws; each costs one response run per datum).
fn check_draws(draws: usize) -> anyhow::Result<()> {
    exoskin_api::claims::check_draws(draws).map_err(crate::api_error)
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
    if let Some(m) = &r.mcmc {
        let _ = writeln!(
            s,
            "MCMC: {} chains x {} draws, acceptance {:.2}, max split-R-hat {:.3}{}, min bulk ESS {:.0}, min tail ESS {:.0}",
            m.chains,
            m.draws_per_chain,
            m.acceptance,
            m.max_r_hat,
            if m.converged { "" } else { "  NOT CONVERGED: run more draws" },
            m.min_ess_bulk,
            m.min_ess_tail
        );
        for p in &m.params {
            let _ = writeln!(
                s,
                "  {:<42} median {:>10.4}  90 % {:.4} to {:.4}  R-hat {:.3}  ESS {:.0}/{:.0}",
                p.name, p.median, p.p05, p.p95, p.r_hat, p.ess_bulk, p.ess_tail
            );
        }
        for c in &m.coverage {
            let _ = writeln!(
                s,
                "posterior-predictive 90 % coverage, {} set: {} of {}",
                c.set, c.inside, c.total
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
    #[arg(long, default_value_t = exoskin_api::claims::DEFAULT_DRAWS)]
    pub draws: usize,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also draw the claims against the model's 90 % intervals as forest plots, one panel
    /// per unit, to FILE.png or FILE.svg.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

pub fn run_claims(a: ClaimsArgs) -> anyhow::Result<u8> {
    if let Some(path) = &a.plot {
        check_plot_path(path)?;
    }
    if !a.scenarios.is_dir() {
        return Err(bad_input(format!(
            "--scenarios {}: no such directory; run from the repository root or pass --scenarios DIR",
            a.scenarios.display()
        )));
    }
    let bar = crate::progress::Progress::new("claims");
    let rows = exoskin_api::claims::run(&a.scenarios, a.draws, &bar).map_err(crate::api_error)?;
    bar.done();
    if let Some(path) = &a.plot {
        claims_plot(path, &rows)?;
        eprintln!("wrote {}", path.display());
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&exoskin_api::claims::document(&rows))?
        );
        return Ok(0);
    }
    println!(
        "verdict        claim                                model median [90 % interval]; claimed"
    );
    for r in &rows {
        let pred = match r.predicted {
            Some(p) => format!("{:.2} [{:.2}, {:.2}]", p.p50, p.p05, p.p95),
            None => "-".into(),
        };
        println!("{:<14} {:<36} {:<26} {}", r.verdict, r.id, pred, r.claim);
        let judged = if r.difference.is_some() {
            "judged on the paired difference; "
        } else if r.unit.starts_with("ratio") {
            "judged on the two arms' ratio; "
        } else {
            ""
        };
        println!("{:<14} {judged}unit: {}; claimed {}", "", r.unit, r.value);
        println!("{:<14} {}", "", r.reason);
    }
    Ok(0)
}

/// `--plot` must name a .png or .svg file.
fn check_plot_path(path: &Path) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("png" | "svg")) {
        Ok(())
    } else {
        Err(bad_input(format!(
            "--plot {}: use a file name ending in .png or .svg",
            path.display()
        )))
    }
}

/// Title of the claims figure.
const CLAIMS_FIGURE_TITLE: &str = "The seed articles' claims against the model (90 % intervals)";

/// The unit a claim's value is in, without the description of the quantity in parentheses:
/// `% (pore-area change from baseline)` is in `%`.
fn unit_head(unit: &str) -> &str {
    unit.split_once(" (").map_or(unit, |(head, _)| head).trim()
}

/// The value of no effect in a unit: 1 for a ratio, 0 for a difference or a percentage, none
/// for other units (a day has no side of no effect).
fn null_of(head: &str, difference: bool) -> Option<f64> {
    if head.starts_with("ratio") {
        Some(1.0)
    } else if difference || head == "%" || head.starts_with("percentage points") {
        Some(0.0)
    } else {
        None
    }
}

/// A panel's title: the unit, spelled out, and what is compared when every claim in it is
/// judged on the paired difference of two arms.
fn unit_title(head: &str, difference: bool) -> String {
    let name = match head {
        "%" => "Percentages (%)".to_string(),
        "day" => "Days".to_string(),
        "ratio" => "Ratios".to_string(),
        h => {
            let mut c = h.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    };
    if difference {
        format!("{name}, treated minus control")
    } else {
        name
    }
}

/// A claim's numbers as its row label prints them: median [p05, p95] with as many decimals
/// as their size needs, then the claimed value, with a true minus.
fn interval_text(p: &exoskin_inference::claims::Predicted, claimed: f64) -> String {
    let top = p.p05.abs().max(p.p50.abs()).max(p.p95.abs());
    let decimals = if top >= 100.0 {
        0
    } else if top >= 10.0 {
        1
    } else {
        2
    };
    let num = |v: f64| {
        let s = format!("{v:.decimals$}");
        // A value that rounds to zero is printed without a sign.
        let s = if s
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        };
        exoskin_plot::typeset_number(&s)
    };
    format!(
        "{} [{}, {}]; claimed {}",
        num(p.p50),
        num(p.p05),
        num(p.p95),
        exoskin_plot::typeset_number(&claimed.to_string())
    )
}

/// The claims as forest plots, one panel per unit (claims in the same unit share an axis):
/// each row the model's median and 90 % interval of what the claim is judged on (the paired
/// difference for two arms), the claimed value as the reference marker. Claims the model
/// gives no value for are left out.
fn claims_plot(path: &Path, rows: &[exoskin_inference::claims::Evaluated]) -> anyhow::Result<()> {
    use exoskin_plot::{Forest, ForestRow, Panel};
    // Units in order of first appearance, each with its claims.
    let mut groups: Vec<(&str, Vec<&exoskin_inference::claims::Evaluated>)> = Vec::new();
    for r in rows {
        if r.difference.or(r.predicted).is_none() {
            continue;
        }
        let head = unit_head(&r.unit);
        match groups.iter_mut().find(|(h, _)| *h == head) {
            Some((_, g)) => g.push(r),
            None => groups.push((head, vec![r])),
        }
    }
    if groups.is_empty() {
        return Err(bad_input(format!(
            "--plot {}: the model gives no value for any claim; nothing to plot",
            path.display()
        )));
    }
    // The fullest panels first.
    groups.sort_by_key(|(_, g)| std::cmp::Reverse(g.len()));
    let panels: Vec<Panel> = groups
        .iter()
        .map(|(head, claims)| {
            let difference = claims.iter().all(|c| c.difference.is_some());
            let mut units: Vec<&str> = claims.iter().map(|c| c.unit.as_str()).collect();
            units.dedup();
            // One quantity: the axis names it; several: each row's own quantity in this unit.
            let x_label = if units.len() == 1 {
                units[0].to_string()
            } else {
                format!("{head}, of the quantity each claim names")
            };
            let mut forest = Forest::new(
                unit_title(head, difference),
                exoskin_plot::typeset_units(&x_label),
            );
            forest.null = null_of(head, difference);
            for c in claims {
                let Some(p) = c.difference.or(c.predicted) else {
                    continue;
                };
                forest.rows.push(
                    ForestRow::new(
                        format!("{}\n{}", c.id, interval_text(&p, c.value)),
                        p.p05,
                        p.p50,
                        p.p95,
                    )
                    .with_reference(c.value),
                );
            }
            Panel::from(forest)
        })
        .collect();
    exoskin_plot::save_titled(path, CLAIMS_FIGURE_TITLE, &panels, panels.len().min(2))
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    exoskin_model::fsutil::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
