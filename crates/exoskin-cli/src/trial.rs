//! `exoskin trial FILE [--json] [--out DIR]` and `exoskin power [FILE] ...`: virtual
//! clinical trials and their sample size.

use crate::bad_input;
use crate::progress::{with_threads, Progress};
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_plot::{save_titled, typeset_units, Chart, Histogram, Panel, Series, Style};
use exoskin_trials::analysis::{changes, course, flow, EndpointResult};
use exoskin_trials::power::PowerResult;
use exoskin_trials::sim::Readings;
use exoskin_trials::spec::{Analysis, Design, Multiplicity, ResponseMode, Trial};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(ClapArgs)]
pub struct TrialArgs {
    /// Trial file (TOML); see trials/ and docs/trial-files.md.
    pub file: PathBuf,
    /// Print one JSON document to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write participants.csv, results.json and plots (one PNG per endpoint) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override the number of participants (per arm in parallel designs).
    #[arg(long, value_name = "N")]
    pub participants: Option<usize>,
    /// Override the trial's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Response runs: auto, exact (one per participant and side) or grid (interpolated).
    #[arg(long, value_name = "MODE")]
    pub response: Option<String>,
}

#[derive(ClapArgs)]
pub struct PowerArgs {
    /// Trial file: the sample size by simulation over the model (its primary endpoint at the
    /// last visit). Without it, give --effect-size (or --difference and --sd) for the
    /// analytic t-test answer.
    pub file: Option<PathBuf>,
    /// Target power (default 0.8, or the file's [power] target).
    #[arg(long)]
    pub power: Option<f64>,
    /// Significance level (default 0.05, or the file's alpha).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Standardized effect size (Cohen's d_z for paired, d for two-sample).
    #[arg(long, value_name = "D")]
    pub effect_size: Option<f64>,
    /// Expected mean difference (with --sd instead of --effect-size).
    #[arg(long)]
    pub difference: Option<f64>,
    /// SD of the paired differences (paired) or within groups (two-sample).
    #[arg(long)]
    pub sd: Option<f64>,
    /// Analytic test: paired or two-sample.
    #[arg(long, default_value = "paired")]
    pub test: String,
    /// Analytic hypothesis: superiority, equivalence (TOST) or non_inferiority.
    #[arg(long)]
    pub analysis: Option<String>,
    /// Equivalence (symmetric, -M to M) or non-inferiority margin, in the unit of
    /// --difference (SD units with --effect-size).
    #[arg(long)]
    pub margin: Option<f64>,
    /// Equivalence: the lower margin (with --margin-high).
    #[arg(long, allow_negative_numbers = true)]
    pub margin_low: Option<f64>,
    /// Equivalence: the upper margin (with --margin-low).
    #[arg(long, allow_negative_numbers = true)]
    pub margin_high: Option<f64>,
    /// Two-sample: the second group's size over the first's (default 1).
    #[arg(long)]
    pub ratio: Option<f64>,
    /// Simulated trials per sample size (default 1000, or the file's [power] replicates).
    #[arg(long)]
    pub replicates: Option<usize>,
    /// Largest sample size searched (default 2000).
    #[arg(long, value_name = "N")]
    pub max_participants: Option<usize>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Model draws for assurance (power averaged over the model's uncertain parameters);
    /// 0 reports conventional power only.
    #[arg(long, value_name = "M", default_value_t = exoskin_api::trial::DEFAULT_ASSURANCE_DRAWS)]
    pub assurance_draws: usize,
    /// Run the simulated trials as sweeps of K shards under --out DIR, one sweep per round
    /// of the sample-size search (DIR/round-NN, each on the sweep's shard contract).
    #[arg(long, value_name = "K", requires = "out")]
    pub shards: Option<usize>,
    /// The directory of a sharded power analysis (with --shards).
    #[arg(long, value_name = "DIR", requires = "shards")]
    pub out: Option<PathBuf>,
    /// Where the shards run (with --shards or --from): here, on Dask, or as Slurm job
    /// arrays, each round's merge step submitting the next (`exoskin power --from DIR`).
    #[arg(long, value_enum, default_value_t = crate::sweep::Engine::Local)]
    pub engine: crate::sweep::Engine,
    /// The Dask scheduler's address (with --engine dask).
    #[arg(long, value_name = "ADDR")]
    pub scheduler: Option<String>,
    /// Draw the power curve (and assurance) with their 95 % bands to a PNG or SVG file.
    #[arg(long, value_name = "FILE.png", conflicts_with_all = ["shards", "from"])]
    pub plot: Option<PathBuf>,
    /// Continue (or report) the sharded power analysis in DIR.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "shards"])]
    pub from: Option<PathBuf>,
    /// With --engine slurm: submit the next round's job array (sbatch) instead of only
    /// writing its scripts.
    #[arg(long)]
    pub submit: bool,
}

/// The power curve and the assurance curve, each with its 95 % Wilson band, against the
/// participants enrolled (per arm in parallel designs), with the target as a dashed line.
fn power_plot(
    path: &std::path::Path,
    trial: &Trial,
    result: &PowerResult,
    doc: &serde_json::Value,
) -> anyhow::Result<()> {
    use exoskin_plot::{save_titled, Chart, Panel, Series, Style};
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "png" && ext != "svg" {
        return Err(bad_input(format!(
            "--plot {}: use a file name ending in .png or .svg",
            path.display()
        )));
    }
    let n: Vec<f64> = result.curve.iter().map(|p| p.n as f64).collect();
    let mut series = vec![Series {
        name: "power (95 % band)".into(),
        x: n.clone(),
        y: result.curve.iter().map(|p| p.power.rate).collect(),
        band: Some((
            result.curve.iter().map(|p| p.power.ci95_low).collect(),
            result.curve.iter().map(|p| p.power.ci95_high).collect(),
        )),
        style: Style::LinePoints,
    }];
    if let Some(curve) = doc["assurance"]["curve"].as_array() {
        let get = |k: &str| -> Vec<f64> {
            curve
                .iter()
                .map(|c| c["assurance"][k].as_f64().unwrap_or(f64::NAN))
                .collect()
        };
        series.push(Series {
            name: "assurance (95 % band)".into(),
            x: n,
            y: get("rate"),
            band: Some((get("ci95_low"), get("ci95_high"))),
            style: Style::LinePoints,
        });
    }
    let unit = if trial.design == Design::Parallel {
        "participants enrolled per arm"
    } else {
        "participants enrolled"
    };
    let chart = Panel::Chart(Chart {
        title: format!(
            "{} at day {} (target {})",
            result.endpoint.replace('_', " "),
            result.visit_day,
            result.target
        ),
        x_label: unit.into(),
        y_label: "probability of a significant result".into(),
        series,
        hline: Some(result.target),
    });
    save_titled(path, &trial.name, &[chart], 1)
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))
}

use crate::api_error as api_err;

fn load(file: &Path) -> anyhow::Result<Trial> {
    exoskin_api::trial::load(file).map_err(api_err)
}

pub fn run_trial(a: TrialArgs) -> anyhow::Result<u8> {
    let mut trial = load(&a.file)?;
    exoskin_api::trial::override_trial(&mut trial, a.participants, a.seed).map_err(api_err)?;
    if let Some(m) = &a.response {
        trial.response = parse_mode(m)?;
    }
    let started = Instant::now();
    let bar = Progress::new("participants");
    let file = a.file.display().to_string();
    let run = with_threads(a.threads, || {
        exoskin_api::trial::run_trial(&trial, &file, &bar)
    })?
    .map_err(api_err)?;
    bar.done();
    let elapsed = started.elapsed().as_secs_f64();
    let exoskin_api::trial::TrialRun {
        readings,
        results,
        grid,
        doc,
    } = run;
    if let Some(dir) = &a.out {
        write_out(dir, &trial, &readings, &results, &doc)
            .with_context(|| format!("writing results into {}", dir.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_table(&trial, &readings, &results, &doc, grid, elapsed);
        if let Some(dir) = &a.out {
            println!(
                "\nwrote {}/participants.csv, results.json and one PNG per endpoint",
                dir.display()
            );
        }
    }
    Ok(0)
}

fn parse_mode(m: &str) -> anyhow::Result<ResponseMode> {
    match m {
        "auto" => Ok(ResponseMode::Auto),
        "exact" => Ok(ResponseMode::Exact),
        "grid" => Ok(ResponseMode::Grid),
        _ => Err(bad_input(format!(
            "--response {m}: use auto, exact or grid"
        ))),
    }
}

fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn print_table(
    trial: &Trial,
    r: &Readings,
    results: &[EndpointResult],
    doc: &serde_json::Value,
    grid: bool,
    elapsed: f64,
) {
    print_trial_header(trial, r, grid, elapsed);
    print_flow(trial, r);
    print_endpoint_tables(trial, results);
    print_repeated(doc);
    print_table_notes(trial, results);
}

/// The trial's name, design, size, seed, alpha, analysis and how responses were made.
fn print_trial_header(trial: &Trial, r: &Readings, grid: bool, elapsed: f64) {
    println!("{}", trial.name);
    println!(
        "{} design{}, {} participants{}, seed {}, alpha {}; analysis {}, multiplicity {}; responses {}; {:.1} s",
        trial.design.name(),
        if trial.design == Design::Crossover {
            format!(" (washout {} days)", trial.washout_days)
        } else {
            String::new()
        },
        r.participants,
        if trial.design == Design::Parallel {
            format!(" ({} per arm)", trial.participants)
        } else {
            String::new()
        },
        trial.seed,
        trial.alpha,
        trial.analysis.name(),
        trial.multiplicity.name(),
        if grid {
            "interpolated on the grid"
        } else {
            "exact"
        },
        elapsed
    );
}

/// The participant flow (CONSORT): enrolled, randomised, and per group allocated, dropped
/// out and analysed.
fn print_flow(trial: &Trial, r: &Readings) {
    let f = flow(trial, r);
    println!(
        "\nparticipant flow: {} enrolled, {} randomised",
        f.enrolled, f.randomised
    );
    for g in &f.groups {
        println!(
            "  {:<40} allocated {:>6}  dropped out {:>6}  analysed (last visit) {:>6}",
            g.name, g.allocated, g.dropped_out, g.analysed
        );
    }
}

/// The name of the decision's p value for the trial's analysis.
fn p_name(trial: &Trial) -> &'static str {
    match trial.analysis {
        Analysis::Superiority => "p",
        Analysis::Equivalence => "TOST p",
        Analysis::NonInferiority => "NI p",
    }
}

/// One table per endpoint: the header for the design and analysis, then a row per visit
/// and comparison.
fn print_endpoint_tables(trial: &Trial, results: &[EndpointResult]) {
    let margins = trial.analysis != Analysis::Superiority;
    let p_name = p_name(trial);
    let level = format!("{:.0}% CI", 100.0 * (1.0 - 2.0 * trial.alpha));
    let several = trial.treatments().len() > 1;
    for ep in &trial.endpoints {
        let rows: Vec<&EndpointResult> = results.iter().filter(|e| e.name == ep.name).collect();
        if rows.is_empty() {
            continue;
        }
        println!(
            "\n{} ({}, {}): treated minus control change from baseline",
            ep.name, ep.instrument.instrument, ep.instrument.unit
        );
        let mut head = format!(
            "{:>6} {:>5} {:>10} {:>22} {:>11} {:>9} {:>9}",
            "day", "n", "difference", "95% CI", "test", p_name, "adj p"
        );
        if margins {
            head += &format!(" {:>22} {:>20}", level, "margins");
        }
        head += &format!(" {:>7} {:>9} {:>6}", "effect", "np p", "resp%");
        match trial.design {
            Design::Parallel => head += &format!(" {:>10} {:>9}", "ANCOVA", "ANCOVA p"),
            Design::Crossover => head += &format!(" {:>9} {:>11}", "period p", "carryover p"),
            Design::SplitFace => {}
        }
        if several {
            head += "  comparison";
        }
        println!("{head}");
        for e in rows {
            println!("{}", endpoint_row(e, margins, several));
        }
    }
}

/// One row of an endpoint's table: a visit and comparison's estimate, interval, tests and
/// effect size (`*` when significant after the multiplicity correction).
fn endpoint_row(e: &EndpointResult, margins: bool, several: bool) -> String {
    let p = e.tost_p_value.or(e.ni_p_value).unwrap_or(e.p_value);
    let mut line = format!(
        "{:>6} {:>5} {:>10.4} {:>22} {:>11} {:>9} {:>9}",
        e.visit_day,
        e.n_treatment,
        e.mean_difference,
        format!("[{:.4}, {:.4}]", e.ci95_low, e.ci95_high),
        e.test,
        fmt_p(p),
        fmt_p(e.adjusted_p_value),
    );
    if margins {
        let ci = e.ci_1_minus_2alpha.unwrap_or([f64::NAN; 2]);
        line += &format!(
            " {:>22} {:>20}",
            format!("[{:.4}, {:.4}]", ci[0], ci[1]),
            format!(
                "[{}, {}]",
                e.margin_low.unwrap_or(f64::NAN),
                e.margin_high.unwrap_or(f64::NAN)
            )
        );
    }
    line += &format!(
        " {:>7.3} {:>9} {:>6.1}",
        e.effect_size,
        fmt_p(e.nonparametric_p_value),
        100.0 * e.responders_treatment.rate
    );
    if let Some(a) = &e.ancova {
        line += &format!(" {:>10.4} {:>9}", a.estimate, fmt_p(a.p_value));
    }
    if let Some(c) = &e.crossover {
        line += &format!(
            " {:>9} {:>11}",
            fmt_p(c.period.p_value),
            fmt_p(c.carryover.p_value)
        );
    }
    if several {
        line += &format!("  {}", e.comparison);
    }
    if e.significant {
        line += " *";
    }
    line
}

/// The mixed model over the repeated visits, per endpoint.
fn print_repeated(doc: &serde_json::Value) {
    if let Some(rep) = doc["repeated_measures"]
        .as_array()
        .filter(|a| !a.is_empty())
    {
        println!(
            "\nrepeated visits: mixed model, change ~ visit + visit:arm + (1 | participant), REML"
        );
        for m in rep {
            let visits: Vec<String> = m["visits"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|x| {
                            format!(
                                "day {}: {:.4} (p {})",
                                x["visit_day"],
                                x["difference"]["estimate"].as_f64().unwrap_or(f64::NAN),
                                fmt_p(x["difference"]["p_value"].as_f64().unwrap_or(f64::NAN))
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "  {:<14} {}; SD participant {:.3}, residual {:.3}",
                m["name"].as_str().unwrap_or(""),
                visits.join(", "),
                m["var_participant"].as_f64().unwrap_or(f64::NAN).sqrt(),
                m["var_residual"].as_f64().unwrap_or(f64::NAN).sqrt()
            );
        }
    }
}

/// What the marks and columns mean (the correction, the decision's test, the effect size and
/// the nonparametric test).
fn print_table_notes(trial: &Trial, results: &[EndpointResult]) {
    let p_name = p_name(trial);
    let correction = if trial.multiplicity == Multiplicity::None {
        "no multiplicity correction".to_string()
    } else {
        format!(
            "{} over the endpoints at each visit",
            trial.multiplicity.name()
        )
    };
    println!(
        "\n* adjusted p < alpha ({correction}). {p_name}: {}; effect: {}; np p: {}; resp%: responders (improve >= the endpoint's responder_pct).",
        match trial.analysis {
            Analysis::Superiority => "two-sided",
            Analysis::Equivalence => "two one-sided tests against the margins; equivalent when the CI at 1 - 2 alpha lies inside them",
            Analysis::NonInferiority => "one-sided against the margin",
        },
        results
            .first()
            .map(|e| e.effect_size_measure.as_str())
            .unwrap_or(""),
        results
            .first()
            .map(|e| e.nonparametric_test.as_str())
            .unwrap_or("")
    );
}

fn write_out(
    dir: &Path,
    trial: &Trial,
    r: &Readings,
    results: &[EndpointResult],
    doc: &serde_json::Value,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    // participants.csv, streamed.
    let mut w = csv::Writer::from_path(dir.join("participants.csv"))?;
    w.write_record(["participant", "arm", "visit_day", "endpoint", "value"])?;
    for p in 0..r.participants {
        for side in 0..r.sides {
            let arm = &trial.arms[r.arm(p, side)].name;
            for (k, day) in trial.visits_days.iter().enumerate() {
                for (e, ep) in trial.endpoints.iter().enumerate() {
                    let v = r.get(p, side, k, e);
                    if v.is_finite() {
                        w.write_record([
                            (p + 1).to_string().as_str(),
                            arm,
                            &day.to_string(),
                            &ep.name,
                            &v.to_string(),
                        ])?;
                    }
                }
            }
        }
    }
    w.flush()?;
    std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(doc)?)?;
    let title = crate::plots::figure_title(&trial.name, None);
    for e in 0..trial.endpoints.len() {
        let panels = endpoint_panels(trial, r, results, e);
        let name = &trial.endpoints[e].name;
        save_titled(&dir.join(format!("{name}.png")), &title, &panels, 2)
            .map_err(|err| anyhow::anyhow!("plot {name}: {err}"))?;
    }
    Ok(())
}

/// One endpoint's figure: each arm's mean reading with its 95 % CI per visit; the difference
/// the test is about (treated minus control change from baseline, paired in split-face
/// trials) with its 95 % CI per visit; and the changes at the last visit, every arm counted
/// in the same bins.
/// An endpoint's name in words for a figure ("pore_area" -> "Pore area").
fn endpoint_words(name: &str) -> String {
    let w = name.replace('_', " ");
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => w,
    }
}

fn endpoint_panels(
    trial: &Trial,
    r: &Readings,
    results: &[EndpointResult],
    e: usize,
) -> Vec<Panel> {
    let ep = &trial.endpoints[e];
    let unit = typeset_units(&ep.instrument.unit);
    let last = trial.visits_days.len() - 1;
    let control = trial.control();
    let words = endpoint_words(&ep.name);
    let mut means = Chart::new(
        format!("{words}: mean with its 95 % CI"),
        "time (d)",
        format!("{} ({unit})", ep.instrument.instrument),
    );
    for (arm, c) in course(trial, r, e).iter().enumerate() {
        let (m, lo, hi): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            c.iter().map(|x| x.0).collect(),
            c.iter().map(|x| x.1).collect(),
            c.iter().map(|x| x.2).collect(),
        );
        means = means.with_series(
            Series::new(
                format!("{} (band: 95 % CI)", trial.arms[arm].name),
                trial.visits_days.clone(),
                m,
            )
            .with_style(Style::LinePoints)
            .with_band(lo, hi),
        );
    }
    let mut difference = Chart::new(
        match trial.design {
            Design::SplitFace => "Paired difference, treated \u{2212} control",
            Design::Crossover => {
                "Within-participant difference (crossover), treated \u{2212} control"
            }
            Design::Parallel => "Difference in mean change vs control",
        },
        "time (d)",
        format!("difference in change ({unit})"),
    )
    .with_hline(0.0);
    for arm in trial.treatments() {
        let comparison = format!("{} vs {}", trial.arms[arm].name, trial.arms[control].name);
        let rows: Vec<&EndpointResult> = results
            .iter()
            .filter(|x| x.name == ep.name && x.comparison == comparison)
            .collect();
        if rows.is_empty() {
            continue;
        }
        // At baseline both changes are zero, and so is their difference.
        let col = |f: fn(&EndpointResult) -> f64| {
            std::iter::once(0.0)
                .chain(rows.iter().map(|x| f(x)))
                .collect::<Vec<f64>>()
        };
        difference = difference.with_series(
            Series::new(
                format!(
                    "{} \u{2212} {} (band: 95 % CI)",
                    trial.arms[arm].name, trial.arms[control].name
                ),
                std::iter::once(trial.visits_days[0])
                    .chain(rows.iter().map(|x| x.visit_day))
                    .collect(),
                col(|x| x.mean_difference),
            )
            .with_style(Style::LinePoints)
            .with_band(col(|x| x.ci95_low), col(|x| x.ci95_high)),
        );
    }
    let mut hist = Histogram::new(
        format!("{words}: change at day {}", trial.visits_days[last]),
        format!("change from baseline ({unit})"),
        0,
    );
    let arms = trial.treatments();
    for &arm in &arms {
        let (x, y, _, _) = changes(r, arm, control, last, e);
        hist = hist.with_group(trial.arms[arm].name.clone(), x);
        if arm == arms[0] {
            hist = hist.with_group(trial.arms[control].name.clone(), y);
        }
    }
    let mut panels = vec![Panel::from(means)];
    if !difference.series.is_empty() {
        panels.push(Panel::from(difference));
    }
    panels.push(Panel::from(hist));
    panels
}

pub fn run_power(a: PowerArgs) -> anyhow::Result<u8> {
    if let Some(dir) = &a.from {
        return power_rounds(&a, dir);
    }
    if a.engine != crate::sweep::Engine::Local && a.shards.is_none() {
        return Err(bad_input(
            "--engine goes with --shards K --out DIR, or --from DIR",
        ));
    }
    if analytic_answer(&a)? {
        return Ok(0);
    }
    let Some(file) = &a.file else {
        return Err(bad_input("give a trial file, or --effect-size (or --difference and --sd) for the analytic answer"));
    };
    simulated_power(&a, file)
}

/// The analytic sample size when the effect is given (`--effect-size`, or `--difference`
/// and `--sd`): printed alone without a trial file (then `true`: the answer is complete),
/// or as a first line before the simulation.
fn analytic_answer(a: &PowerArgs) -> anyhow::Result<bool> {
    let analytic = exoskin_api::trial::analytic_power(&exoskin_api::trial::AnalyticInput {
        effect_size: a.effect_size,
        difference: a.difference,
        sd: a.sd,
        test: &a.test,
        power: a.power,
        alpha: a.alpha,
        analysis: a.analysis.as_deref(),
        margin: a.margin,
        margin_low: a.margin_low,
        margin_high: a.margin_high,
        ratio: a.ratio,
    })
    .map_err(api_err)?;
    if let Some(an) = analytic {
        let (es, alpha, power) = (an.effect_size, an.alpha, an.power);
        if a.file.is_none() {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&an.doc)?);
            } else {
                match an.n {
                    Some(n) => println!("{} t test{}, effect size {es}, alpha {alpha}, power {power}: n = {n:.4} -> {} {}{}", a.test,
                        a.analysis.as_deref().filter(|x| *x != "superiority").map(|x| format!(" ({x})")).unwrap_or_default(),
                        n.ceil(), an.unit,
                        an.doc["n2_rounded_up"].as_u64().map(|n2| format!(", {n2} in the second")).unwrap_or_default()),
                    None => println!("no sample size up to 1e9 reaches power {power}"),
                }
            }
            return Ok(true);
        }
        if !a.json {
            if let Some(n) = an.n {
                println!(
                    "analytic {} t test (effect size {es}): n = {n:.4} -> {} {}\n",
                    a.test,
                    n.ceil(),
                    an.unit
                );
            }
        }
    }
    Ok(false)
}

/// The sample size by simulation of the trial `file`: its settings resolved, run in
/// process (printed as a table, or the document with --json) or as sharded rounds.
fn simulated_power(a: &PowerArgs, file: &Path) -> anyhow::Result<u8> {
    let mut trial = load(file)?;
    let exoskin_api::trial::PowerSettings {
        target,
        replicates,
        max_participants: max_n,
    } = exoskin_api::trial::power_settings(
        &mut trial,
        a.power,
        a.alpha,
        a.replicates,
        a.max_participants,
    )
    .map_err(api_err)?;
    let settings = exoskin_sweep::analysis::PowerSettings {
        target,
        alpha: trial.alpha,
        replicates,
        max_participants: max_n,
        assurance_draws: a.assurance_draws,
    };
    let job = exoskin_sweep::exec::Job::Power {
        file: file.to_path_buf(),
        settings,
    };
    if let (Some(shards), Some(dir)) = (a.shards, &a.out) {
        let placement = exoskin_sweep::exec::Placement::Shards {
            dir: dir.clone(),
            shards,
            engine: crate::sweep::engine(a.engine, a.threads, a.scheduler.as_deref(), a.submit)?,
        };
        check_round_flags(a)?;
        let bar = Progress::new("replicate blocks");
        let finished = exoskin_sweep::exec::execute(&job, &placement, &bar)
            .map_err(crate::sweep::sweep_error)?;
        bar.done();
        return report_rounds(a, dir, finished);
    }
    let bar = Progress::new("power");
    let started = Instant::now();
    let finished = with_threads(a.threads, || {
        exoskin_sweep::exec::execute(&job, &exoskin_sweep::exec::Placement::InProcess, &bar)
    })?
    .map_err(crate::sweep::sweep_error)?;
    bar.done();
    let exoskin_sweep::exec::Finished::Document {
        doc,
        power: Some(result),
        ..
    } = finished
    else {
        anyhow::bail!("an in-process power analysis ended without its result");
    };
    let result: PowerResult = *result;
    if let Some(path) = &a.plot {
        power_plot(path, &trial, &result, &doc)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(0);
    }
    print_power(&trial, &result, &doc, (target, max_n))?;
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    Ok(0)
}

/// The power analysis as text: the settings, the power and assurance table, the effect
/// powered for (and its sign in words), the sample size by simulation and analytically.
fn print_power(
    trial: &Trial,
    result: &PowerResult,
    doc: &serde_json::Value,
    (target, max_n): (f64, usize),
) -> anyhow::Result<()> {
    let unit = if trial.design == Design::Parallel {
        "participants per arm"
    } else {
        "participants"
    };
    println!("{}", trial.name);
    println!(
        "primary endpoint {} at day {} ({}, {}, {}; multiplicity {}), alpha {}, target power {}, {} simulated trials per n, dropout {} %",
        result.endpoint, result.visit_day, result.comparison, result.test, result.analysis, result.multiplicity, result.alpha, result.target, result.replicates, trial.population.dropout_pct
    );
    let assurance = doc["assurance"]["curve"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    println!(
        "\n{:>8} {:>8} {:>18} {:>10} {:>18}",
        "n", "power", "95% CI", "assurance", "95% CI"
    );
    for (k, p) in result.curve.iter().enumerate() {
        let a = assurance.get(k).map(|c| &c["assurance"]);
        let f = |k: &str| a.and_then(|a| a[k].as_f64());
        println!(
            "{:>8} {:>8.3} {:>18} {:>10} {:>18}",
            p.n,
            p.power.rate,
            format!("[{:.3}, {:.3}]", p.power.ci95_low, p.power.ci95_high),
            f("rate").map_or("-".into(), |x| format!("{x:.3}")),
            match (f("ci95_low"), f("ci95_high")) {
                (Some(l), Some(h)) => format!("[{l:.3}, {h:.3}]"),
                _ => "-".into(),
            }
        );
    }
    if !assurance.is_empty() {
        println!(
            "assurance: success averaged over {} model draws of the uncertain parameters (O'Hagan et al. 2005)",
            doc["assurance"]["draws"]
        );
    }
    let (treated, control) = result
        .comparison
        .split_once(" vs ")
        .unwrap_or((result.comparison.as_str(), "the control"));
    let direction = match result.treated_better {
        Some(true) => format!("{treated} is the better side"),
        Some(false) => format!(
            "{treated} is WORSE than {control} in this model: a trial of this size would find harm, not benefit"
        ),
        None => "no difference at all".into(),
    };
    println!(
        "\nthe effect powered for: {treated} minus {control} on {} at day {}: {:+.4} {} (SD {:.4}): {direction}",
        result.endpoint,
        result.visit_day,
        result.difference_estimate,
        result.difference_unit,
        result.sd_estimate
    );
    match result.n_required {
        Some(n) => {
            println!("by simulation: {n} {unit} enrolled reach power {target}");
            if let Some(se) = result.n_required_mc_se {
                println!(
                    "  Monte-Carlo error of that n from {} simulated trials per n: +-{:.1} (1 SE)",
                    result.replicates, se
                );
            }
        }
        None => println!("by simulation: no n up to {max_n} reaches power {target}"),
    }
    let [lo, hi] = result.effect_size_ci95;
    println!(
        "analytic ({} {}, alpha {}, difference {:.4} SD {:.4}, {} = {:.3} [{:.3}, {:.3}] from a simulated trial of {} {unit}): {} completers -> {} enrolled",
        match trial.design {
            Design::SplitFace => "paired",
            Design::Parallel => "two-sample",
            Design::Crossover => "crossover (two-sample on period differences)",
        },
        match trial.analysis {
            Analysis::Superiority => "t test",
            Analysis::Equivalence => "TOST, exact power",
            Analysis::NonInferiority => "one-sided t test against the margin",
        },
        result.analytic_alpha,
        result.difference_estimate,
        result.sd_estimate,
        result.effect_size_measure,
        result.effect_size_estimate,
        lo,
        hi,
        exoskin_trials::power::EFFECT_SIZE_PARTICIPANTS,
        result.analytic_n_completers.map(|n| format!("{n:.1}")).unwrap_or_else(|| "none".into()),
        result.analytic_n_enrolled.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
    );
    if lo <= 0.0 && hi >= 0.0 && trial.analysis == Analysis::Superiority {
        println!("note: the effect is too small to tell from zero even in that simulated trial; the analytic n is only a rough guide");
    }
    Ok(())
}

/// The flags of a sharded power analysis that go together.
fn check_round_flags(a: &PowerArgs) -> anyhow::Result<()> {
    use crate::sweep::Engine;
    if a.engine != Engine::Dask && a.scheduler.is_some() {
        return Err(bad_input("--scheduler goes with --engine dask"));
    }
    if a.submit && a.engine != Engine::Slurm {
        return Err(bad_input("--submit goes with --engine slurm"));
    }
    Ok(())
}

/// Continue (or report) the rounds of a sharded power analysis in `dir` on the chosen
/// engine; print the document when it is finished.
fn power_rounds(a: &PowerArgs, dir: &Path) -> anyhow::Result<u8> {
    check_round_flags(a)?;
    let engine = crate::sweep::engine(a.engine, a.threads, a.scheduler.as_deref(), a.submit)?;
    let bar = Progress::new("replicate blocks");
    let finished =
        exoskin_sweep::exec::resume_power(dir, &engine, &bar).map_err(crate::sweep::sweep_error)?;
    bar.done();
    report_rounds(a, dir, finished)
}

/// What a sharded power analysis's executor run ended with: the Slurm scripts written (or
/// submitted), or the document, written to `DIR/power.json` and printed.
fn report_rounds(
    a: &PowerArgs,
    dir: &Path,
    finished: exoskin_sweep::exec::Finished,
) -> anyhow::Result<u8> {
    use exoskin_sweep::exec::Finished;
    let doc = match finished {
        Finished::Submitted(ran) => {
            if let Some(how) = ran.how_to_submit() {
                println!("{how}");
            }
            return Ok(0);
        }
        Finished::Document { doc, .. } => doc,
    };
    let text = serde_json::to_string_pretty(&doc)?;
    let out = dir.join("power.json");
    exoskin_model::fsutil::write_atomic(&out, format!("{text}\n").as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    if a.json {
        println!("{text}");
    } else {
        println!(
            "{}: n required {} (curve: {}); written to {}",
            doc["trial"].as_str().unwrap_or(""),
            doc["n_required"],
            doc["curve"]
                .as_array()
                .map(|c| c
                    .iter()
                    .map(|p| format!(
                        "n={} power={:.3}",
                        p["n"],
                        p["power"]["rate"].as_f64().unwrap_or(f64::NAN)
                    ))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            out.display()
        );
    }
    Ok(0)
}
