//! `trial` and `power`: a virtual clinical trial and its sample size by simulation, as the
//! documents `exoskin trial --json` and `exoskin power FILE --json` print.

use crate::ApiError;
use exoskin_model::{Observer, TransportParams};
use exoskin_response::ResponseParams;
use exoskin_trials::analysis::{analyze, flow, repeated, EndpointResult};
use exoskin_trials::power::{simulate_power, PowerResult};
use exoskin_trials::sim::{simulate_observed, ModelResponder, Readings, ASSURANCE_GRID_NODES};
use exoskin_trials::spec::{ResponseMode, Trial, MAX_PARTICIPANTS};
use exoskin_trials::stats::Rate;
use exoskin_trials::TrialError;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// A trial error as bad input, naming the key when the error is about one.
pub fn trial_error(e: TrialError) -> ApiError {
    let field = match &e {
        TrialError::File { field, .. } => field.clone(),
        TrialError::Input(m) => m.place().and_then(|p| p.key.clone()),
        TrialError::Scenario(s) => s.key.clone(),
        TrialError::Read { .. } => None,
    };
    ApiError::BadInput {
        field,
        message: e.to_string(),
    }
}

/// Read and validate a trial file (arm scenarios relative to its folder).
pub fn load(path: &Path) -> Result<Trial, ApiError> {
    let t = exoskin_trials::spec::load_trial(path).map_err(trial_error)?;
    check_arm_costs(&t, &path.display().to_string())?;
    Ok(t)
}

/// Read and validate trial text; `name` names it in errors, arm scenarios are read relative
/// to `base`.
pub fn parse(text: &str, name: &str, base: &Path) -> Result<Trial, ApiError> {
    let t = exoskin_trials::spec::parse_trial(text, name, base).map_err(trial_error)?;
    check_arm_costs(&t, name)?;
    Ok(t)
}

/// Every arm's transport run within the default budget (each arm's transport runs once per
/// trial; participants then vary the response alone), refused before any run otherwise.
fn check_arm_costs(t: &Trial, name: &str) -> Result<(), ApiError> {
    let tp = TransportParams::defaults();
    for (i, arm) in t.arms.iter().enumerate() {
        exoskin_response::cost(&arm.scenario, tp)
            .check(&exoskin_transport::Budget::DEFAULT)
            .map_err(|e| ApiError::BadInput {
                field: Some(format!("arms[{i}].scenario")),
                message: format!("{name}: arm `{}` ({}): {e}", arm.name, arm.scenario_file),
            })?;
    }
    Ok(())
}

fn option_error(field: &str, message: String) -> ApiError {
    ApiError::BadInput {
        field: Some(field.to_string()),
        message,
    }
}

/// Override the number of participants (per arm in parallel designs) and the seed.
pub fn override_trial(
    trial: &mut Trial,
    participants: Option<usize>,
    seed: Option<u64>,
) -> Result<(), ApiError> {
    if let Some(n) = participants {
        if !(2..=MAX_PARTICIPANTS).contains(&n) {
            return Err(option_error(
                "participants",
                format!("--participants {n} is outside the allowed range 2 to {MAX_PARTICIPANTS}"),
            ));
        }
        trial.participants = n;
    }
    if let Some(s) = seed {
        trial.seed = s;
    }
    Ok(())
}

/// Check a target power (`--power`).
pub fn check_power_target(p: f64) -> Result<(), ApiError> {
    if (0.05..1.0).contains(&p) {
        Ok(())
    } else {
        Err(option_error(
            "power",
            format!("--power {p} is outside the allowed range 0.05 to 0.999"),
        ))
    }
}

/// Check a significance level (`--alpha`).
pub fn check_alpha(alpha: f64) -> Result<(), ApiError> {
    if (1e-6..=0.5).contains(&alpha) {
        Ok(())
    } else {
        Err(option_error(
            "alpha",
            format!("--alpha {alpha} is outside the allowed range 1e-6 to 0.5"),
        ))
    }
}

/// The inputs of the analytic sample size (`exoskin power` without a trial file): the
/// effect size, or the difference and its SD, the test, the target power and alpha.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyticInput<'a> {
    pub effect_size: Option<f64>,
    pub difference: Option<f64>,
    pub sd: Option<f64>,
    /// `paired` or `two-sample` (`two_sample` too).
    pub test: &'a str,
    pub power: Option<f64>,
    pub alpha: Option<f64>,
    /// `superiority` (default), `equivalence` (TOST) or `non_inferiority`.
    pub analysis: Option<&'a str>,
    /// Equivalence: the symmetric margin (-M to M); non-inferiority: how much worse still
    /// counts as not inferior. In the difference's unit (SD units with an effect size).
    pub margin: Option<f64>,
    /// Equivalence: asymmetric margins instead of `margin`.
    pub margin_low: Option<f64>,
    pub margin_high: Option<f64>,
    /// Two-sample: the second group's size over the first's (default 1).
    pub ratio: Option<f64>,
}

/// The analytic t-test answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytic {
    pub effect_size: f64,
    pub alpha: f64,
    pub power: f64,
    /// The exact (fractional) sample size; `None` when none up to 1e9 reaches the power.
    /// Two-sample designs: the first group (the second is `ratio` times it).
    pub n: Option<f64>,
    /// What `n` counts: pairs or participants per group.
    pub unit: &'static str,
    /// The document `exoskin power --effect-size D --json` prints.
    pub doc: Value,
}

/// Check the analytic inputs (and `power` and `alpha` whether or not they are used
/// analytically) and, when an effect size is given (or a difference and an SD), the sample
/// size of the paired or two-sample t test at that power and alpha (defaults 0.8 and 0.05).
/// `Ok(None)` when no effect size is given.
pub fn analytic_power(a: &AnalyticInput) -> Result<Option<Analytic>, ApiError> {
    let es = match (a.effect_size, a.difference, a.sd) {
        (Some(es), None, None) => Some(es),
        (None, Some(d), Some(sd)) => {
            if !(sd > 0.0 && sd.is_finite()) {
                return Err(option_error(
                    "sd",
                    format!("--sd {sd} must be a positive number"),
                ));
            }
            Some(d / sd)
        }
        (None, None, None) => None,
        (es, d, _) => {
            let field = if es.is_some() || d.is_none() {
                "effect_size"
            } else {
                "sd"
            };
            return Err(option_error(
                field,
                "give either --effect-size, or both --difference and --sd".into(),
            ));
        }
    };
    if let Some(p) = a.power {
        check_power_target(p)?;
    }
    if let Some(al) = a.alpha {
        check_alpha(al)?;
    }
    let analysis = a.analysis.unwrap_or("superiority");
    if !["superiority", "equivalence", "non_inferiority"].contains(&analysis) {
        return Err(option_error(
            "analysis",
            format!("--analysis {analysis}: use superiority, equivalence or non_inferiority"),
        ));
    }
    // Margins in SD units (the difference's unit divided by the SD).
    let scale = a.sd.unwrap_or(1.0);
    let margins = analytic_margins(a, analysis)?.map(|(lo, hi)| (lo / scale, hi / scale));
    let ratio = a.ratio.unwrap_or(1.0);
    if !(ratio.is_finite() && (0.01..=100.0).contains(&ratio)) {
        return Err(option_error(
            "ratio",
            format!("--ratio {ratio} is outside the allowed range 0.01 to 100 (the second group's size over the first's)"),
        ));
    }
    let Some(es) = es else {
        return Ok(None);
    };
    if !es.is_finite() || (analysis == "superiority" && es == 0.0) {
        return Err(option_error(
            "effect_size",
            "the effect size must be a finite number other than 0".into(),
        ));
    }
    let power = a.power.unwrap_or(0.8);
    let alpha = a.alpha.unwrap_or(0.05);
    let paired = match a.test {
        "paired" => true,
        "two-sample" | "two_sample" => false,
        other => {
            return Err(option_error(
                "test",
                format!("--test {other}: use paired or two-sample"),
            ))
        }
    };
    use exoskin_trials::equivalence as eq;
    let n = match (analysis, margins) {
        ("equivalence", Some((lo, hi))) if paired => {
            eq::tost_paired_n(es, 1.0, lo, hi, alpha, power)
        }
        ("equivalence", Some((lo, hi))) => {
            eq::tost_two_sample_n(es, 1.0, lo, hi, ratio, alpha, power)
        }
        ("non_inferiority", Some((_, m))) => {
            eq::ni_n(es, 1.0, m, true, paired, ratio, alpha, power)
        }
        _ if paired => exoskin_trials::stats::paired_n(es.abs(), alpha, power),
        _ => exoskin_trials::stats::two_sample_n_ratio(es.abs(), ratio, alpha, power),
    };
    let unit = if paired {
        "pairs (participants in a split-face trial)"
    } else if ratio == 1.0 {
        "participants per group"
    } else {
        "participants in the first group"
    };
    let mut doc = json!({"test": a.test, "effect_size": es, "alpha": alpha, "power": power, "n": n, "n_rounded_up": n.map(|x| x.ceil() as u64)});
    if analysis != "superiority" || a.ratio.is_some() {
        doc["analysis"] = json!(analysis);
        if let Some((lo, hi)) = margins {
            doc["margins_sd_units"] = json!([lo, hi]);
        }
        if !paired {
            doc["ratio"] = json!(ratio);
            doc["n2"] = json!(n.map(|x| x * ratio));
            doc["n2_rounded_up"] = json!(n.map(|x| (x.ceil() * ratio).ceil() as u64));
        }
    }
    Ok(Some(Analytic {
        effect_size: es,
        alpha,
        power,
        n,
        unit,
        doc,
    }))
}

/// The margins of an analytic equivalence or non-inferiority answer, in the difference's
/// unit: `(low, high)`; `None` for superiority.
fn analytic_margins(a: &AnalyticInput, analysis: &str) -> Result<Option<(f64, f64)>, ApiError> {
    let positive = |k: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(option_error(
                k,
                format!("--{} {v} must be a positive number", k.replace('_', "-")),
            ))
        }
    };
    match (analysis, a.margin, a.margin_low, a.margin_high) {
        ("superiority", None, None, None) => Ok(None),
        ("superiority", ..) => Err(option_error(
            "margin",
            "margins go with --analysis equivalence or non_inferiority".into(),
        )),
        ("equivalence", Some(m), None, None) => {
            let m = positive("margin", m)?;
            Ok(Some((-m, m)))
        }
        ("equivalence", None, Some(lo), Some(hi)) => {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(option_error(
                    "margin_low",
                    format!("--margin-low {lo} must be below --margin-high {hi}"),
                ));
            }
            Ok(Some((lo, hi)))
        }
        ("equivalence", ..) => Err(option_error(
            "margin",
            "equivalence needs --margin M (symmetric) or both --margin-low and --margin-high"
                .into(),
        )),
        (_, Some(m), None, None) => {
            let m = positive("margin", m)?;
            Ok(Some((-m, m)))
        }
        _ => Err(option_error(
            "margin",
            "non_inferiority needs one --margin M (how much worse still counts as not inferior)"
                .into(),
        )),
    }
}

/// The settings of a power analysis by simulation, each from the caller or else the trial
/// file (its alpha and `[power]` table).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerSettings {
    pub target: f64,
    pub replicates: usize,
    pub max_participants: usize,
}

/// Apply `alpha` to the trial and resolve and range-check the power settings.
pub fn power_settings(
    trial: &mut Trial,
    power: Option<f64>,
    alpha: Option<f64>,
    replicates: Option<usize>,
    max_participants: Option<usize>,
) -> Result<PowerSettings, ApiError> {
    if let Some(p) = power {
        check_power_target(p)?;
    }
    if let Some(al) = alpha {
        check_alpha(al)?;
        trial.alpha = al;
    }
    let replicates = replicates.unwrap_or(trial.power.replicates);
    if !(100..=100_000).contains(&replicates) {
        return Err(option_error(
            "replicates",
            format!("--replicates {replicates} is outside the allowed range 100 to 100000"),
        ));
    }
    let max_n = max_participants.unwrap_or(trial.power.max_participants);
    if !(4..=100_000).contains(&max_n) {
        return Err(option_error(
            "max_participants",
            format!("--max-participants {max_n} is outside the allowed range 4 to 100000"),
        ));
    }
    Ok(PowerSettings {
        target: power.unwrap_or(trial.power.target),
        replicates,
        max_participants: max_n,
    })
}

/// A finished trial: the readings, the analysis and its JSON document.
pub struct TrialRun {
    pub readings: Readings,
    pub results: Vec<EndpointResult>,
    /// Whether responses were interpolated on the grid (else one exact run per participant).
    pub grid: bool,
    pub doc: Value,
}

/// Run a trial as specified (participants, seed and response mode already set). `file` is
/// reported in the document; `observer` hears the phases and the number of participants
/// done out of the total, and may stop the run.
pub fn run_trial(trial: &Trial, file: &str, observer: &dyn Observer) -> Result<TrialRun, ApiError> {
    let started = Instant::now();
    observer.message(&format!(
        "transport: running {} arm scenario(s) once each ...",
        trial.arms.len()
    ))?;
    let t0 = Instant::now();
    let responder = ModelResponder::new(
        trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .map_err(|e| ApiError::bad(format!("{file}: {e}")))?;
    let t1 = Instant::now();
    let readings = simulate_observed(trial, trial.participants, trial.seed, &responder, observer)?;
    let t2 = Instant::now();
    // Each phase is announced before it starts, which is where a caller's deadline or
    // cancel flag is checked (the web's jobs): the analyses of a large trial take seconds.
    observer.message(&format!(
        "analysis: {} endpoint(s) of {} participants ...",
        trial.endpoints.len(),
        readings.participants
    ))?;
    let results = analyze(trial, &readings);
    observer.message("analysis: repeated measures (mixed model) ...")?;
    let repeated = repeated(trial, &readings);
    let flow = flow(trial, &readings);
    observer.message("analysis: done")?;
    let phases = json!({
        "transport_and_grid": (t1 - t0).as_secs_f64(),
        "participants": (t2 - t1).as_secs_f64(),
        "analysis": t2.elapsed().as_secs_f64(),
    });
    let grid = responder.uses_grid();
    let mut doc = json!({
        "trial": trial.name,
        "file": file,
        "design": trial.design.name(),
        "analysis": trial.analysis.name(),
        "multiplicity": trial.multiplicity.name(),
        "participants": readings.participants,
        "arms": trial.arms.iter().map(|x| json!({"name": x.name, "scenario": x.scenario_file})).collect::<Vec<_>>(),
        "seed": trial.seed,
        "alpha": trial.alpha,
        "response_mode": if grid { "grid" } else { "exact" },
        "elapsed_s": started.elapsed().as_secs_f64(),
        "phases_s": phases,
        "endpoints": results,
        "flow": flow,
        "tables": endpoint_tables(trial, &results),
        "repeated_measures": repeated,
    });
    if trial.design == exoskin_trials::spec::Design::Crossover {
        doc["washout_days"] = json!(trial.washout_days);
    }
    Ok(TrialRun {
        readings,
        results,
        grid,
        doc,
    })
}

/// One table per endpoint: per visit and comparison, the estimate (treated minus control
/// change), its 95 % CI, the test, the decision's p value (superiority, TOST or
/// non-inferiority), its multiplicity-adjusted p value and the decision; for equivalence and
/// non-inferiority also the margins and the 1 - 2 alpha CI. Parallel designs add the
/// baseline-adjusted (ANCOVA) estimate.
pub fn endpoint_tables(trial: &Trial, results: &[EndpointResult]) -> Value {
    let tables: Vec<Value> = trial
        .endpoints
        .iter()
        .map(|ep| {
            let rows: Vec<Value> = results
                .iter()
                .filter(|r| r.name == ep.name)
                .map(|r| {
                    let p = r.tost_p_value.or(r.ni_p_value).unwrap_or(r.p_value);
                    let mut row = json!({
                        "visit_day": r.visit_day,
                        "comparison": r.comparison,
                        "estimate": r.mean_difference,
                        "ci95": [r.ci95_low, r.ci95_high],
                        "test": r.test,
                        "p_value": p,
                        "adjusted_p_value": r.adjusted_p_value,
                        "significant": r.significant,
                    });
                    if let Some(ci) = r.ci_1_minus_2alpha {
                        row["ci_1_minus_2alpha"] = json!(ci);
                        row["margin"] = json!([r.margin_low, r.margin_high]);
                    }
                    if let Some(a) = &r.ancova {
                        row["ancova"] = json!({"estimate": a.estimate, "ci95": [a.ci_low, a.ci_high], "p_value": a.p_value});
                    }
                    row
                })
                .collect();
            json!({
                "endpoint": ep.name,
                "instrument": ep.instrument.instrument,
                "unit": ep.instrument.unit,
                "analysis": trial.analysis.name(),
                "p_value_of": match trial.analysis {
                    exoskin_trials::spec::Analysis::Superiority => "two-sided t test",
                    exoskin_trials::spec::Analysis::Equivalence => "TOST (the larger one-sided p)",
                    exoskin_trials::spec::Analysis::NonInferiority => "one-sided test against the margin",
                },
                "multiplicity": trial.multiplicity.name(),
                "rows": rows,
            })
        })
        .collect();
    json!(tables)
}

/// The sample size by simulation (`exoskin power FILE`): responses are interpolated on the
/// grid; `observer` hears the phases and each sample size as it is finished, and may stop
/// the search between them. Returns the result and its JSON document.
pub fn run_power(
    trial: &Trial,
    target: f64,
    replicates: usize,
    max_n: usize,
    observer: &dyn Observer,
) -> Result<(PowerResult, Value), ApiError> {
    run_power_with(
        trial,
        target,
        replicates,
        max_n,
        DEFAULT_ASSURANCE_DRAWS,
        observer,
    )
}

/// Model draws for assurance by default (`exoskin power --assurance-draws`).
pub const DEFAULT_ASSURANCE_DRAWS: usize = 16;

/// The most model draws for assurance: each builds and keeps its own transport and response
/// grid.
pub const MAX_ASSURANCE_DRAWS: usize = 1000;

/// Check a number of model draws for assurance (`--assurance-draws`): 0 (none) to
/// [`MAX_ASSURANCE_DRAWS`].
pub fn check_assurance_draws(draws: usize) -> Result<(), ApiError> {
    if draws > MAX_ASSURANCE_DRAWS {
        return Err(option_error(
            "assurance_draws",
            format!(
                "--assurance-draws {draws} is outside the allowed range 0 to {MAX_ASSURANCE_DRAWS}; {DEFAULT_ASSURANCE_DRAWS} (the default) suits a first look"
            ),
        ));
    }
    Ok(())
}

/// [`run_power`] with a number of model draws for assurance (0: none). Each draw is one
/// quasi-random point of the uncertain parameters (priors and the fit's posterior, as for
/// `simulate --uncertainty`) and a new study's vesicle dose around its class's
/// (`study_dose_spread`), with its own transport and response grid; simulated trial `r`
/// uses draw `r mod draws`, and assurance is computed at every sample size of the power
/// curve.
pub fn run_power_with(
    trial: &Trial,
    target: f64,
    replicates: usize,
    max_n: usize,
    assurance_draws: usize,
    observer: &dyn Observer,
) -> Result<(PowerResult, Value), ApiError> {
    check_assurance_draws(assurance_draws)?;
    let trial = grid_trial(trial);
    let started = Instant::now();
    observer.message("transport and response grid ...")?;
    let responder = power_responder(&trial)?;
    let result = simulate_power(&trial, &responder, target, replicates, max_n, observer)?;
    let mut assurance = None;
    if assurance_draws > 0 {
        observer.message(&format!("assurance: {assurance_draws} model draws ..."))?;
        let (built, failed) = assurance_responders(&trial, assurance_draws)?;
        let responders: Vec<&dyn exoskin_trials::sim::Responder> = built
            .iter()
            .map(|r| r as &dyn exoskin_trials::sim::Responder)
            .collect();
        let rates: Vec<Rate> = result
            .curve
            .iter()
            .map(|p| {
                observer.stop().check()?;
                let hits =
                    exoskin_trials::power::rejections(&trial, &responders, p.n, 0..replicates);
                Ok(exoskin_trials::stats::wilson(hits, replicates, 0.05))
            })
            .collect::<Result<_, ApiError>>()?;
        assurance = Some(assurance_doc(&result, assurance_draws, failed, &rates));
    }
    let doc = power_doc(&trial, &result, assurance, started.elapsed().as_secs_f64());
    Ok((result, doc))
}

/// The trial as a power analysis simulates it: responses interpolated on the grid.
pub fn grid_trial(trial: &Trial) -> Trial {
    let mut trial = trial.clone();
    trial.response = ResponseMode::Grid;
    trial
}

/// The responder of a power analysis: the shipped parameters (call with [`grid_trial`]).
pub fn power_responder(trial: &Trial) -> Result<ModelResponder, ApiError> {
    ModelResponder::new(
        trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .map_err(|e| ApiError::bad(format!("{}: {e}", trial.name)))
}

/// The document of `exoskin power FILE --json`: the result, its assurance, the trial's
/// name and the time taken.
pub fn power_doc(
    trial: &Trial,
    result: &PowerResult,
    assurance: Option<Value>,
    elapsed_s: f64,
) -> Value {
    let mut doc = serde_json::to_value(result).unwrap_or(Value::Null);
    if let Some(a) = assurance {
        doc["assurance"] = a;
    }
    doc["trial"] = json!(trial.name);
    doc["elapsed_s"] = json!(elapsed_s);
    doc
}

/// The model draws of assurance (see [`run_power_with`]): the responders of the draws that
/// built, in draw order, and how many failed; an error when more than a tenth failed. Each
/// draw interpolates on the coarser [`ASSURANCE_GRID_NODES`] grid (its error against exact
/// runs is bounded in the trials' tests, far below the instrument noise).
pub fn assurance_responders(
    trial: &Trial,
    draws: usize,
) -> Result<(Vec<ModelResponder>, usize), ApiError> {
    use crate::uncertainty::Space;
    use rayon::prelude::*;
    let arm = trial.treatments()[0];
    let scenario = exoskin_model::Scenario::InVivo(trial.arms[arm].scenario.clone());
    let space = Space::shipped(&scenario)?;
    // One coordinate beyond the space's: the new study's dose deviate of the draw.
    let points = exoskin_uq::sobol_points(draws, space.dim() + 1, trial.seed)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    // Where the arms' transport depends on the transport parameters alone, draws come in
    // pairs that share their transport coordinates (those of the pair's first point) and
    // each keep their own response coordinates: the same joint distribution, sampled with
    // one transport run for two draws (the transport parameters move the outcome little
    // next to the response posterior; docs/trial-files.md).
    let pair = if ModelResponder::transport_ignores_response(trial) {
        2
    } else {
        1
    };
    let dim = space.dim();
    let coords = |i: usize| -> Vec<f64> {
        let first = &points[i - i % pair];
        (0..dim)
            .map(|j| {
                if space.is_response_only(j) {
                    points[i][j]
                } else {
                    first[j]
                }
            })
            .collect()
    };
    let groups: Vec<Vec<usize>> = (0..draws)
        .collect::<Vec<_>>()
        .chunks(pair)
        .map(<[usize]>::to_vec)
        .collect();
    // A draw's failure, shared by the draws of its pair (they share its transport runs).
    type Failure = std::sync::Arc<ApiError>;
    let built: Vec<Result<ModelResponder, Failure>> = groups
        .par_iter()
        .map(|group| -> Vec<Result<ModelResponder, Failure>> {
            let params: Vec<Result<(TransportParams, ResponseParams), Failure>> = group
                .iter()
                .map(|&i| space.at(&coords(i)).map_err(Failure::new))
                .collect();
            let runs = match &params[0] {
                Ok((tp, rp)) => ModelResponder::arm_runs(trial, tp, rp)
                    .map_err(|e| Failure::new(crate::simulate::solver("assurance draw", e))),
                Err(e) => Err(e.clone()),
            };
            group
                .iter()
                .zip(params)
                .map(|(&i, p)| {
                    let (_, rp) = p?;
                    let runs = runs.clone()?;
                    let z = exoskin_uq::normal_quantile(points[i][dim]);
                    Ok(ModelResponder::from_runs(
                        trial,
                        runs,
                        &rp,
                        z,
                        ASSURANCE_GRID_NODES,
                    ))
                })
                .collect()
        })
        .flatten()
        .collect();
    let first = built
        .iter()
        .find_map(|r| r.as_ref().err())
        .map(ToString::to_string);
    let responders: Vec<ModelResponder> = built.into_iter().filter_map(Result::ok).collect();
    let failed = draws - responders.len();
    if responders.is_empty() || failed * 10 > draws {
        return Err(ApiError::bad(format!(
            "assurance: {failed} of {draws} model draws failed (first: {})",
            first.unwrap_or_default()
        )));
    }
    Ok((responders, failed))
}

/// The `assurance` part of the power document: `rates[i]` is the assurance at the curve's
/// i-th sample size.
pub fn assurance_doc(result: &PowerResult, draws: usize, failed: usize, rates: &[Rate]) -> Value {
    let curve: Vec<Value> = result
        .curve
        .iter()
        .zip(rates)
        .map(|(p, a)| json!({"n": p.n, "power": p.power.rate, "assurance": a}))
        .collect();
    let at_n = result.n_required.and_then(|n| {
        curve
            .iter()
            .find(|c| c["n"].as_u64() == Some(n as u64))
            .map(|c| c["assurance"].clone())
    });
    json!({
        "definition": "probability of success averaged over the model's uncertain parameters (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187): one model draw per simulated trial",
        "draws": draws,
        "failed_draws": failed,
        "at_n_required": at_n,
        "curve": curve,
    })
}
