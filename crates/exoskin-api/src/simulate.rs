//! `simulate`: run a scenario, and the documents of a run (JSON, readable summary, CSV).
//! The CLI, the HTTP API, the Python package and sweeps all produce their output here, so
//! the same input gives the same JSON everywhere.

use crate::ApiError;
use exoskin_inference::effect::Effect;
use exoskin_model::{read_scenario, Scenario, Stop, TransportParams};
use exoskin_response::{
    culture, try_simulate_in_vivo_until, Outcomes, ResponseParams, Simulation, WoundCurve,
};
use exoskin_transport::network::SINK_NAMES;
use exoskin_transport::{simulate_until, Budget, Cost, Transport, TransportError};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// The scenario run when no file is given (also in `scenarios/`).
pub const DEFAULT_SCENARIO: &str = include_str!("../../../scenarios/in_vivo_microneedling.toml");
/// The name under which [`DEFAULT_SCENARIO`] is reported.
pub const DEFAULT_SCENARIO_NAME: &str = "<bundled in_vivo_microneedling.toml>";

/// One finished run of a scenario.
pub struct Run {
    pub scenario: Scenario,
    /// The file (or other name) the scenario came from, as reported in `scenario.file`.
    pub name: String,
    pub transport: Option<Transport>,
    pub outcomes: Option<Outcomes>,
    /// The wound and channel curves of an in-vivo run (what [`Run::with_effect`] re-responds).
    pub clocks: Option<(Option<WoundCurve>, Option<WoundCurve>)>,
    /// What the vesicles add over the control arm ([`Run::with_effect`]).
    pub effect: Option<Effect>,
}

/// Read a scenario from TOML text; `name` says where it came from in error messages.
pub fn parse(text: &str, name: &str) -> Result<Scenario, ApiError> {
    read_scenario(text, name).map_err(|e| ApiError::BadInput {
        field: e.place().and_then(|p| p.key.clone()),
        message: e.to_string(),
    })
}

/// Run a scenario with the shipped parameters.
pub fn run(scenario: Scenario, name: &str) -> Result<Run, ApiError> {
    run_with(
        scenario,
        name,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
}

/// Run a scenario with the given parameters (ensembles, sensitivity and sweeps), within the
/// default budget ([`Budget::DEFAULT`]) and without a deadline.
pub fn run_with(
    scenario: Scenario,
    name: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
) -> Result<Run, ApiError> {
    run_limited(scenario, name, tp, rp, &Budget::DEFAULT, &Stop::never())
}

/// [`run_with`], stopping with [`ApiError::Stopped`] once `stop` says so.
pub fn run_until(
    scenario: Scenario,
    name: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
    stop: &Stop,
) -> Result<Run, ApiError> {
    run_limited(scenario, name, tp, rp, &Budget::DEFAULT, stop)
}

/// The cost of running `scenario` (`None` for kinds without transport, which cost
/// microseconds), refused with the key to change when it exceeds `budget`. The response
/// parameters do not change it (kept so that every caller states what it runs with).
pub fn check_cost(
    scenario: &Scenario,
    name: &str,
    tp: &TransportParams,
    _rp: &ResponseParams,
    budget: &Budget,
) -> Result<Option<Cost>, ApiError> {
    let cost = match scenario {
        Scenario::InVivo(v) => Some(exoskin_response::cost(v, tp)),
        s => exoskin_transport::cost::estimate(s, tp),
    };
    if let Some(c) = &cost {
        c.check(budget).map_err(|e| ApiError::too_costly(name, e))?;
    }
    Ok(cost)
}

/// Run a scenario: its cost checked against `budget` before it starts, and `stop` checked
/// at every transport step while it runs.
pub fn run_limited(
    scenario: Scenario,
    name: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
    budget: &Budget,
    stop: &Stop,
) -> Result<Run, ApiError> {
    check_cost(&scenario, name, tp, rp, budget)?;
    run_checked(scenario, name, tp, rp, stop)
}

/// Run a scenario whose cost the caller has checked, `stop` checked at every transport step.
fn run_checked(
    scenario: Scenario,
    name: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
    stop: &Stop,
) -> Result<Run, ApiError> {
    let (transport, outcomes, clocks) = match &scenario {
        Scenario::InVivo(v) => {
            let sim = try_simulate_in_vivo_until(v, tp, rp, stop).map_err(|e| solver(name, e))?;
            (
                Some(Transport::InVivo(sim.transport)),
                Some(sim.outcomes),
                Some((sim.wound, sim.channel)),
            )
        }
        Scenario::CellCulture(c) => (None, Some(culture::simulate_culture(c, rp)), None),
        Scenario::FranzCell(_) => (
            simulate_until(&scenario, tp, stop).map_err(|e| solver(name, e))?,
            None,
            None,
        ),
    };
    Ok(Run {
        scenario,
        name: name.to_string(),
        transport,
        outcomes,
        clocks,
        effect: None,
    })
}

/// Estimated seconds (one core) of the effect a run of `scenario` adds ([`Run::with_effect`]):
/// none for kinds without one.
pub fn effect_cost_seconds(scenario: &Scenario) -> f64 {
    match scenario {
        Scenario::InVivo(v) => {
            exoskin_inference::effect::cost_seconds(v, exoskin_inference::effect::EFFECT_DRAWS)
        }
        _ => 0.0,
    }
}

/// A run with what the vesicles add ([`Run::with_effect`]), as `exoskin simulate`, the API
/// and Python answer: its cost, transport and effect together, checked against `budget`
/// before it starts, and `stop` checked while it runs.
pub fn run_with_effect(
    scenario: Scenario,
    name: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
    budget: &Budget,
    stop: &Stop,
) -> Result<Run, ApiError> {
    if let Some(mut c) = check_cost(&scenario, name, tp, rp, budget)? {
        c.add_seconds(effect_cost_seconds(&scenario));
        c.check(budget).map_err(|e| ApiError::too_costly(name, e))?;
    }
    run_checked(scenario, name, tp, rp, stop)?.with_effect(rp, stop)
}

/// [`run_with_effect`] with the shipped parameters, the default budget and no deadline
/// (the Python package).
pub fn run_answer(scenario: Scenario, name: &str) -> Result<Run, ApiError> {
    run_with_effect(
        scenario,
        name,
        TransportParams::defaults(),
        ResponseParams::defaults(),
        &Budget::DEFAULT,
        &Stop::never(),
    )
}

/// A transport error as the front ends report it: a run stopped by its deadline or a cancel
/// is [`ApiError::Stopped`]; a parameter the solver refuses is bad input; any other solver
/// failure on validated input is [`ApiError::Solver`], the typed error kept.
pub fn solver(name: &str, e: TransportError) -> ApiError {
    match e {
        TransportError::Stopped { why, .. } => ApiError::Stopped(why),
        e @ (TransportError::Parameter { .. } | TransportError::Empty { .. }) => {
            ApiError::BadInput {
                field: None,
                message: format!("{name}: {e}; check the scenario's values"),
            }
        }
        error => ApiError::Solver {
            name: name.to_string(),
            error,
        },
    }
}

impl Run {
    /// Add what the vesicles add over the control arm (the vehicle after the same
    /// procedure) under the shipped posterior ([`exoskin_inference::effect`]), for an in-vivo
    /// run of a product with vesicles; the transport run is shared, so this costs response
    /// runs only ([`effect_cost_seconds`]). `stop` is checked before each draw.
    pub fn with_effect(mut self, rp: &ResponseParams, stop: &Stop) -> Result<Run, ApiError> {
        if let (Scenario::InVivo(v), Some(sim)) = (&self.scenario, self.simulation()) {
            self.effect = exoskin_inference::effect::shipped_effect(v, &sim, rp, stop)
                .map_err(ApiError::Stopped)?;
        }
        Ok(self)
    }
    /// The in-vivo simulation behind this run (transport, clocks and outcomes), which the
    /// response can be re-run on; None for other kinds.
    pub fn simulation(&self) -> Option<Simulation> {
        match (&self.transport, &self.outcomes, &self.clocks) {
            (Some(Transport::InVivo(t)), Some(o), Some((w, c))) => Some(Simulation {
                transport: t.clone(),
                wound: w.clone(),
                channel: c.clone(),
                outcomes: o.clone(),
            }),
            _ => None,
        }
    }
    /// The JSON document (`exoskin simulate --json`).
    pub fn json(&self) -> Value {
        let mut doc = report_json(
            &self.scenario,
            &self.name,
            self.transport.as_ref(),
            self.outcomes.as_ref(),
        );
        if let (Some(e), Some(m)) = (&self.effect, doc.as_object_mut()) {
            m.insert(
                "effect".into(),
                serde_json::to_value(e).unwrap_or(Value::Null),
            );
        }
        doc
    }
    /// The readable summary (`exoskin simulate`): what the vesicles add first, when known.
    pub fn summary(&self) -> String {
        summary_with(
            &self.scenario,
            &self.name,
            self.transport.as_ref(),
            self.outcomes.as_ref(),
            self.effect.as_ref(),
        )
    }
    /// Time series and profiles as CSV files in `dir` (`exoskin simulate --out DIR`).
    pub fn write_csv(&self, dir: &Path) -> std::io::Result<()> {
        write_csv(dir, self.transport.as_ref(), self.outcomes.as_ref())
    }
}

fn mass_balance(t: &Transport) -> Value {
    let r = t.run();
    let last = r.times_h.len() - 1;
    let mut comps = Map::new();
    for (k, name) in r.compartments.iter().enumerate() {
        comps.insert(name.clone(), json!(r.amounts_per_cm2[k][last]));
    }
    for (s, name) in SINK_NAMES.iter().enumerate() {
        if r.sinks_per_cm2[s][last] != 0.0 {
            comps.insert(name.to_string(), json!(r.sinks_per_cm2[s][last]));
        }
    }
    if matches!(t, Transport::Franz(_)) {
        comps.insert("receptor".into(), json!(r.drained_per_cm2[last]));
    }
    json!({
        "applied_per_cm2": r.applied_per_cm2[last],
        "compartments_per_cm2": comps,
        "recovery": r.recovery(),
    })
}

/// The JSON document of a run.
pub fn report_json(s: &Scenario, file: &str, t: Option<&Transport>, o: Option<&Outcomes>) -> Value {
    let e = s.experiment();
    json!({
        "scenario": {
            "file": file,
            "kind": kind_name(s),
            "name": e.name,
            "duration_h": e.duration_h,
        },
        "transport": t.map(transport_json),
        "outcomes": o.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)),
    })
}

/// The outcomes the summary reads, with their words.
pub const READ_OUTCOMES: [(&str, &str); 8] = [
    ("collagen_pct", "collagen"),
    ("wrinkle_pct", "wrinkle depth"),
    ("pore_area_pct", "pore area"),
    ("elasticity_pct", "elasticity"),
    ("erythema_pct", "redness"),
    ("tewl_pct", "water loss (TEWL)"),
    ("hydration_pct", "hydration"),
    ("melanin_pct", "melanin"),
];

/// The days a summary reads: 2, 4 and 12 weeks where the run reaches them, and its end.
fn reading_days(end: f64) -> Vec<f64> {
    let mut days: Vec<f64> = [14.0, 28.0, 84.0]
        .into_iter()
        .filter(|d| *d <= end + 1e-9)
        .collect();
    if days.last().map(|d| (end - d).abs() > 1e-6).unwrap_or(true) {
        days.push(end);
    }
    days
}

/// `v` (at `times_d`) as a reading on `day` sees it: on the day of a session (after the
/// first), just before that session (the left limit, extrapolated from the two outputs
/// before it), as a clinic reads before treating; otherwise the output at that day (or the
/// last one).
fn read_at(times_d: &[f64], v: &[f64], sessions_d: &[f64], day: f64) -> f64 {
    let on_session = day > 1e-6 && sessions_d.iter().any(|s| (s - day).abs() < 1e-6);
    if on_session {
        let k = times_d.partition_point(|t| *t < day - 1e-9);
        if k >= 2 {
            let (t0, t1) = (times_d[k - 2], times_d[k - 1]);
            let slope = (v[k - 1] - v[k - 2]) / (t1 - t0);
            return v[k - 1] + slope * (day - t1);
        }
    }
    let k = times_d
        .iter()
        .position(|t| (t - day).abs() < 1e-6)
        .unwrap_or(times_d.len().saturating_sub(1));
    v.get(k).copied().unwrap_or(f64::NAN)
}

/// A number of percentage points with a sign and a precision that suits its size (0.1 pp
/// from 10 pp up, 0.01 pp below; what rounds to zero is written 0.00).
pub fn pp(x: f64) -> String {
    if x.abs() >= 10.0 {
        format!("{x:+.1}")
    } else if x.abs() < 0.005 {
        "0.00".into()
    } else {
        format!("{x:+.2}")
    }
}

/// Differences under this many percentage points at every percentile are too small to show.
const NEGLIGIBLE_PP: f64 = 0.01;

/// How a difference between the arms reads, from its 90 % interval and the probability that
/// the vesicle arm is better (the summary's sentence and the web's cards say the same).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// The same in every draw (nothing uncertain moves it).
    Same,
    /// Every percentile under [`NEGLIGIBLE_PP`].
    Negligible,
    /// P(better) at least 0.9.
    Better,
    /// P(better) at most 0.1.
    Worse,
    /// Either sign is plausible.
    EitherSign,
}

/// The [`Reading`] of a difference with 90 % interval `lo..hi` and P(better) `p`.
pub fn reading(lo: f64, hi: f64, p: f64) -> Reading {
    if hi == lo {
        Reading::Same
    } else if lo.abs().max(hi.abs()) < NEGLIGIBLE_PP {
        Reading::Negligible
    } else if p >= 0.9 {
        Reading::Better
    } else if p <= 0.1 {
        Reading::Worse
    } else {
        Reading::EitherSign
    }
}

/// The session days of an in-vivo scenario (none for other kinds).
fn sessions_d(s: &Scenario) -> Vec<f64> {
    match s {
        Scenario::InVivo(v) => v.sessions_h.iter().map(|h| h / 24.0).collect(),
        _ => Vec::new(),
    }
}

/// The readable lines of an effect: first, in one sentence, what the vesicles add over the
/// control at the last reading, with the 90 % interval and the probability that the
/// vesicle arm is better; then the table at 2, 4 and 12 weeks.
pub fn effect_summary(e: &Effect, sessions_d: &[f64]) -> String {
    let mut o = String::new();
    let end = e.times_d.last().copied().unwrap_or(0.0);
    let days = reading_days(end);
    let at = |b: &[f64], d: f64| read_at(&e.times_d, b, sessions_d, d);
    // The sentence: the outcomes with a clear sign, then those without, then those with
    // next to no difference or none by construction.
    let mut clear = Vec::new();
    let mut unclear = Vec::new();
    let mut tiny = Vec::new();
    let mut fixed = Vec::new();
    for (name, label) in READ_OUTCOMES {
        let (Some(b), Some(p)) = (e.outcomes.get(name), e.probability_better.get(name)) else {
            continue;
        };
        let (lo, mid, hi) = (at(&b.p05, end), at(&b.p50, end), at(&b.p95, end));
        match reading(lo, hi, *p) {
            Reading::Same => fixed.push(label),
            Reading::Negligible => tiny.push(label),
            Reading::EitherSign => unclear.push(label),
            r => clear.push(format!(
                "{label} {} pp (90 %: {} to {}; {} with probability {:.2})",
                pp(mid),
                pp(lo),
                pp(hi),
                if r == Reading::Better {
                    "better"
                } else {
                    "worse"
                },
                if r == Reading::Better { *p } else { 1.0 - p }
            )),
        }
    }
    let mut sentence = format!(
        "At day {}, compared with {}, the vesicles add: ",
        fmt_day(end),
        e.control
    );
    if clear.is_empty() {
        sentence.push_str("no outcome with a clear difference");
    } else {
        sentence.push_str(&clear.join("; "));
    }
    if !unclear.is_empty() {
        let _ = write!(
            sentence,
            ". Either sign is plausible for {}",
            unclear.join(", ")
        );
    }
    if !tiny.is_empty() {
        let _ = write!(
            sentence,
            ". Next to nothing (under {NEGLIGIBLE_PP} pp) for {}",
            tiny.join(", ")
        );
    }
    if !fixed.is_empty() {
        let _ = write!(
            sentence,
            ". The same in every draw for {} (nothing uncertain moves it at these days)",
            fixed.join(", ")
        );
    }
    sentence.push('.');
    let _ = writeln!(o, "{}", wrap(&sentence, 96, ""));
    let _ = writeln!(
        o,
        "\nVesicle arm minus control (percentage points of change from baseline; median [90 % interval] over {} {}):",
        e.draws, e.draws_are
    );
    let _ = write!(o, "  {:<18}", "");
    for d in &days {
        let _ = write!(o, "{:>22}", format!("day {}", fmt_day(*d)));
    }
    let _ = writeln!(o, "   P(better) at day {}", fmt_day(end));
    for (name, label) in READ_OUTCOMES {
        let (Some(b), Some(p)) = (e.outcomes.get(name), e.probability_better.get(name)) else {
            continue;
        };
        let _ = write!(o, "  {label:<18}");
        let mut moves = false;
        for d in &days {
            let (lo, mid, hi) = (at(&b.p05, *d), at(&b.p50, *d), at(&b.p95, *d));
            let cell = if hi == lo {
                pp(mid)
            } else {
                moves = true;
                format!("{} [{}, {}]", pp(mid), pp(lo), pp(hi))
            };
            let _ = write!(o, "{cell:>22}");
        }
        if moves {
            let _ = writeln!(o, "   {p:.2}");
        } else {
            let _ = writeln!(o, "   - (the same in every draw)");
        }
    }
    if days
        .iter()
        .any(|d| *d > 1e-6 && sessions_d.iter().any(|s| (s - d).abs() < 1e-6))
    {
        let _ = writeln!(
            o,
            "  (a reading on a session day is taken just before that session)"
        );
    }
    o
}

/// `text` broken into lines of at most `width` characters, each after the first starting
/// with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    // A unit sign stays with its number ("90 %"): such pairs are one token.
    let mut tokens: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match tokens.last_mut() {
            Some(last) if word.starts_with('%') => {
                last.push(' ');
                last.push_str(word);
            }
            _ => tokens.push(word.to_string()),
        }
    }
    let mut out = String::new();
    let mut line = String::new();
    for word in tokens {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.is_empty() && line != indent {
            line.push(' ');
        }
        line.push_str(&word);
    }
    out.push_str(&line);
    out
}

fn kind_name(s: &Scenario) -> &'static str {
    match s {
        Scenario::FranzCell(_) => "franz_cell",
        Scenario::InVivo(_) => "in_vivo",
        Scenario::CellCulture(_) => "cell_culture",
    }
}

fn transport_json(t: &Transport) -> Value {
    let r = t.run();
    let mut tr = Map::new();
    tr.insert("times_h".into(), json!(r.times_h));
    let mut series = Map::new();
    for (k, name) in r.compartments.iter().enumerate() {
        series.insert(name.clone(), json!(r.amounts_per_cm2[k]));
    }
    tr.insert("compartments_per_cm2".into(), Value::Object(series));
    tr.insert("mass_balance".into(), mass_balance(t));
    tr.insert("steps".into(), json!(r.steps));
    match t {
        Transport::Franz(f) => {
            tr.insert(
                "cumulative_receptor_per_cm2".into(),
                json!(r.drained_per_cm2),
            );
            tr.insert(
                "steady_flux_per_cm2_h".into(),
                json!(f.fit.as_ref().map(|x| x.steady_flux_per_cm2_h)),
            );
            tr.insert(
                "lag_time_h".into(),
                json!(f.fit.as_ref().map(|x| x.lag_time_h)),
            );
            tr.insert(
                "steady_state_reached".into(),
                json!(f.fit.as_ref().map(|x| x.steady_state_reached)),
            );
            tr.insert(
                "theoretical_steady_flux_per_cm2_h".into(),
                json!(f.theoretical_steady_flux_per_cm2_h),
            );
            tr.insert(
                "theoretical_lag_time_h".into(),
                json!(f.theoretical_lag_time_h),
            );
            tr.insert("size_classes".into(), json!(f.classes));
        }
        Transport::InVivo(v) => {
            tr.insert("geometry".into(), json!(v.geometry));
            tr.insert(
                "reached_dermis_fraction".into(),
                json!(v.reached_dermis_fraction),
            );
            tr.insert("reached_dermis_per_cm2".into(), json!(r.tracked_per_cm2));
            tr.insert(
                "storage_retained_fraction".into(),
                json!(v.storage_retained_fraction),
            );
            tr.insert(
                "dose_per_application_per_cm2".into(),
                json!(v.dose_per_application_per_cm2),
            );
            let mut sinks = Map::new();
            for (k, name) in SINK_NAMES.iter().enumerate() {
                sinks.insert(name.to_string(), json!(r.sinks_per_cm2[k]));
            }
            tr.insert("cumulative_sinks_per_cm2".into(), Value::Object(sinks));
            tr.insert(
                "size_classes".into(),
                json!(v
                    .size_classes
                    .iter()
                    .map(|(d, w)| json!({"diameter_nm": d, "fraction": w}))
                    .collect::<Vec<_>>()),
            );
            tr.insert("channel".into(), json!(v.channel));
        }
    }
    Value::Object(tr)
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.3e}")
    }
}

/// The readable summary.
pub fn summary(s: &Scenario, file: &str, t: Option<&Transport>, oc: Option<&Outcomes>) -> String {
    summary_with(s, file, t, oc, None)
}

/// The readable summary, led (after the scenario's name) by what the vesicles add.
fn summary_with(
    s: &Scenario,
    file: &str,
    t: Option<&Transport>,
    oc: Option<&Outcomes>,
    effect: Option<&Effect>,
) -> String {
    let e = s.experiment();
    let mut o = String::new();
    let _ = writeln!(o, "exoskin simulate: {file}");
    if !e.name.is_empty() {
        let _ = writeln!(o, "  {}", e.name);
    }
    if let Some(effect) = effect {
        o.push('\n');
        o.push_str(&effect_summary(effect, &sessions_d(s)));
    }
    if let Some(oc) = oc {
        o.push('\n');
        outcomes_summary(&mut o, s, oc);
    }
    if let Some(t) = t {
        o.push('\n');
        transport_summary(&mut o, s, t);
    }
    o
}

/// Outcome values at 2, 4 and 12 weeks (or at the end, for shorter runs).
fn outcomes_summary(o: &mut String, s: &Scenario, oc: &Outcomes) {
    let x = &oc.series;
    if let Scenario::CellCulture(c) = s {
        let low = x
            .cytokines_pct
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            o,
            "Cell culture: {} EVs on {} cells ({} stimulus), {} vesicles per cell",
            c.source, c.cell_type, c.stimulus, c.vesicles_per_cell
        );
        let _ = writeln!(
            o,
            "  cytokines vs stimulated control: {:+.1} % at {} h (lowest {:+.1} %)",
            x.cytokines_pct.last().copied().unwrap_or(0.0),
            c.experiment.duration_h,
            low
        );
        return;
    }
    let end = *x.times_d.last().unwrap_or(&0.0);
    let days = reading_days(end);
    let sessions = sessions_d(s);
    let _ = write!(o, "Outcomes of this product (% change from baseline)");
    for d in &days {
        let _ = write!(o, "{:>10}", format!("day {}", fmt_day(*d)));
    }
    let _ = writeln!(o);
    let rows: [(&str, &Vec<f64>); 11] = [
        ("collagen", &x.collagen_pct),
        ("elastin expression", &x.elastin_pct),
        ("elastic fibres", &x.elastic_fibre_pct),
        ("hydration", &x.hydration_pct),
        ("TEWL", &x.tewl_pct),
        ("erythema", &x.erythema_pct),
        ("cytokines", &x.cytokines_pct),
        ("melanin", &x.melanin_pct),
        ("pore area", &x.pore_area_pct),
        ("wrinkle depth", &x.wrinkle_pct),
        ("elasticity", &x.elasticity_pct),
    ];
    for (name, v) in rows {
        let _ = write!(o, "  {name:<48}");
        for d in &days {
            let _ = write!(
                o,
                "{:>10}",
                format!("{:+.2}", read_at(&x.times_d, v, &sessions, *d))
            );
        }
        let _ = writeln!(o);
    }
    match oc.wound_closure_h {
        Some(h) => {
            let _ = writeln!(o, "  wound closure (95 % re-epithelialized): {h:.1} h");
        }
        None => {
            let _ = writeln!(o, "  wound closure: no wound");
        }
    }
    if let Some(h) = oc.channel_closure_h {
        let _ = writeln!(
            o,
            "  channels closed (95 %), what vesicles enter by: {h:.1} h"
        );
    }
    let _ = writeln!(
        o,
        "  baseline collagen index at this age: {:.2} (1 = healthy skin at 30)",
        oc.baseline.collagen_index
    );
}

pub fn fmt_day(d: f64) -> String {
    if (d - d.round()).abs() < 1e-9 {
        format!("{}", d.round())
    } else {
        format!("{d:.2}")
    }
}

fn transport_summary(o: &mut String, s: &Scenario, t: &Transport) {
    let r = t.run();
    let last = r.times_h.len() - 1;
    let e = s.experiment();
    match (s, t) {
        (Scenario::FranzCell(f), Transport::Franz(res)) => {
            let _ = writeln!(
                o,
                "Franz cell (OECD TG 428), {} layer(s), {} dose, {} h",
                f.layers.len(),
                if f.donor.infinite {
                    "infinite"
                } else {
                    "finite"
                },
                e.duration_h
            );
            let _ = writeln!(
                o,
                "  cumulative in receptor at {} h: {} per cm2",
                r.times_h[last],
                sci(r.drained_per_cm2[last])
            );
            if let Some(fit) = &res.fit {
                let _ = writeln!(
                    o,
                    "  steady flux (fit):    {} per cm2 per h{}",
                    sci(fit.steady_flux_per_cm2_h),
                    if fit.steady_state_reached {
                        ""
                    } else {
                        "  (steady state NOT reached: run longer)"
                    }
                );
                let _ = writeln!(o, "  lag time (fit):       {:.4} h", fit.lag_time_h);
            }
            let _ = writeln!(
                o,
                "  steady flux (theory): {} per cm2 per h",
                sci(res.theoretical_steady_flux_per_cm2_h)
            );
            if let Some(l) = res.theoretical_lag_time_h {
                let _ = writeln!(o, "  lag time (theory):    {l:.4} h");
            }
        }
        (Scenario::InVivo(v), Transport::InVivo(res)) => {
            let sessions = v.sessions_h.len();
            let _ = writeln!(
                o,
                "Delivery: {} on the {} ({} y), {}{}, {} application(s) a day for {} day(s){}; {} h",
                v.product.source,
                v.skin.site,
                v.skin.age_years,
                v.procedure.name(),
                if sessions > 1 { format!(" x {sessions} sessions") } else { String::new() },
                v.regimen.applications_per_day,
                v.regimen.days,
                if v.regimen.per_session && sessions > 1 { " after each session" } else { "" },
                e.duration_h
            );
            let _ = writeln!(
                o,
                "  each application: {} vesicles per cm² ({:.1} % intact after storage)",
                count(res.dose_per_application_per_cm2),
                100.0 * res.storage_retained_fraction
            );
            let _ = writeln!(
                o,
                "  reached the dermis: {} of the applied vesicles ({} per cm²)",
                share(res.reached_dermis_fraction),
                count(r.tracked_per_cm2[last])
            );
            if let Some(ch) = &res.channel {
                let _ = writeln!(o, "  channels: radius {:.1} µm, depth {:.0} µm, one per {:.0} µm radius of skin, closing with a half-life of {:.1} h", ch.channel_radius_um, ch.channel_depth_um, ch.unit_cell_radius_um, ch.closure_half_life_h);
            }
        }
        _ => {}
    }
    let applied = r.applied_per_cm2[last];
    let _ = writeln!(
        o,
        "Mass balance: where the {} vesicles applied per cm² are at {} h",
        count(applied),
        r.times_h[last]
    );
    let mut rows: Vec<(String, f64)> = r
        .compartments
        .iter()
        .enumerate()
        .map(|(k, name)| (place(name), r.amounts_per_cm2[k][last]))
        .collect();
    for (k, name) in SINK_NAMES.iter().enumerate() {
        if r.sinks_per_cm2[k][last] != 0.0 {
            rows.push((place(name), r.sinks_per_cm2[k][last]));
        }
    }
    if matches!(t, Transport::Franz(_)) {
        rows.push(("receptor fluid".into(), r.drained_per_cm2[last]));
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, x) in rows {
        let _ = writeln!(
            o,
            "  {name:<34}{:>14}{:>10}",
            count(x),
            if applied > 0.0 {
                share(x / applied)
            } else {
                "-".into()
            }
        );
    }
    match r.recovery() {
        Some(x) => {
            let _ = writeln!(o, "  recovery (all of the above / applied) {x:.12}");
        }
        None => {
            let _ = writeln!(o, "  recovery: n/a (nothing applied)");
        }
    }
}

/// A compartment's or sink's name in words (the summary's and the web page's).
pub fn place(name: &str) -> String {
    match name {
        "film" => "on the surface (film)",
        "stratum_corneum" => "stratum corneum",
        "viable_epidermis" => "viable epidermis",
        "follicles" => "hair follicles",
        "channels" => "procedure channels",
        "taken_up_keratinocytes" => "taken up by keratinocytes",
        "taken_up_fibroblasts" => "taken up by fibroblasts",
        "cleared" => "cleared (lymph and blood)",
        "degraded" => "degraded",
        "removed" => "removed (washed or wiped off)",
        other => other,
    }
    .replace('_', " ")
}

/// A count of vesicles in readable notation: whole numbers up to 10^5, then
/// `1.74 × 10⁸`, and `< 0.01` for traces.
pub fn count(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() < 0.01 {
        return "< 0.01".into();
    }
    if x.abs() < 1e5 {
        let digits = if x.abs() < 10.0 { 2 } else { 0 };
        return format!("{x:.digits$}");
    }
    let e = x.abs().log10().floor() as i32;
    let m = x / 10f64.powi(e);
    let sup: String = e
        .to_string()
        .chars()
        .map(|c| match c {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            _ => '⁻',
        })
        .collect();
    format!("{m:.2} × 10{sup}")
}

/// A fraction as a percentage with a precision that suits it.
pub fn share(f: f64) -> String {
    let p = 100.0 * f;
    if p == 0.0 {
        "0 %".into()
    } else if p.abs() >= 1.0 {
        format!("{p:.1} %")
    } else if p.abs() >= 0.01 {
        format!("{p:.2} %")
    } else {
        "< 0.01 %".into()
    }
}

fn write_csv(dir: &Path, t: Option<&Transport>, oc: Option<&Outcomes>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if let Some(oc) = oc {
        let x = &oc.series;
        // Every outcome series, named as in the JSON, in the model's output order.
        let named = x.named();
        let mut s = String::from("time_d");
        for (name, _) in &named {
            let _ = write!(s, ",{name}");
        }
        s.push('\n');
        for i in 0..x.times_d.len() {
            let _ = write!(s, "{}", x.times_d[i]);
            for (_, v) in &named {
                let _ = write!(
                    s,
                    ",{}",
                    v.get(i).map(|y| y.to_string()).unwrap_or_default()
                );
            }
            s.push('\n');
        }
        write_atomic(&dir.join("outcomes.csv"), &s)?;
    }
    let Some(t) = t else { return Ok(()) };
    let r = t.run();
    let mut s = String::from("time_h");
    for c in &r.compartments {
        let _ = write!(s, ",{c}_per_cm2");
    }
    for n in SINK_NAMES {
        let _ = write!(s, ",{n}_per_cm2");
    }
    s.push_str(",receptor_per_cm2,reached_dermis_per_cm2,applied_per_cm2\n");
    for i in 0..r.times_h.len() {
        let _ = write!(s, "{}", r.times_h[i]);
        for c in &r.amounts_per_cm2 {
            let _ = write!(s, ",{:e}", c[i]);
        }
        for c in &r.sinks_per_cm2 {
            let _ = write!(s, ",{:e}", c[i]);
        }
        let _ = writeln!(
            s,
            ",{:e},{:e},{:e}",
            r.drained_per_cm2[i], r.tracked_per_cm2[i], r.applied_per_cm2[i]
        );
    }
    write_atomic(&dir.join("timeseries.csv"), &s)?;
    let (depth, radius): (&[f64], &[f64]) = match t {
        Transport::Franz(f) => (&f.cell_depth_um, &[]),
        Transport::InVivo(v) => (&v.cell_depth_um, &v.cell_radius_um),
    };
    let mut p = String::from("cell,compartment,depth_um,radius_um,concentration_per_ml\n");
    for (i, c) in r.final_concentration_per_ml.iter().enumerate() {
        let _ = writeln!(
            p,
            "{i},{},{},{},{c:e}",
            r.compartments[r.cell_compartment[i]],
            depth.get(i).map(|x| x.to_string()).unwrap_or_default(),
            radius.get(i).map(|x| x.to_string()).unwrap_or_default()
        );
    }
    write_atomic(&dir.join("profile_final.csv"), &p)
}

/// Write to a temporary file and rename, so a crash never leaves a half-written file.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    exoskin_model::fsutil::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_on_a_session_day_is_the_left_limit_and_others_the_sample() {
        // A ramp 0, 1, 2, 3 at days 0..3 that jumps to 10 at the session on day 2.
        let t = [0.0, 1.0, 1.5, 2.0, 3.0];
        let v = [0.0, 1.0, 1.5, 10.0, 9.0];
        assert_eq!(read_at(&t, &v, &[0.0, 2.0], 2.0), 2.0);
        assert_eq!(read_at(&t, &v, &[0.0], 2.0), 10.0);
        assert_eq!(read_at(&t, &v, &[0.0, 2.0], 3.0), 9.0);
        // Day 0 is the baseline, read as it is.
        assert_eq!(read_at(&t, &v, &[0.0, 2.0], 0.0), 0.0);
    }

    #[test]
    fn numbers_read_with_their_units_and_no_raw_notation() {
        assert_eq!(count(1.737e8), "1.74 × 10⁸");
        assert_eq!(count(4531.2), "4531");
        assert_eq!(count(0.0178), "0.02");
        assert_eq!(count(3e-6), "< 0.01");
        assert_eq!(share(0.634), "63.4 %");
        assert_eq!(share(0.0007), "0.07 %");
        assert_eq!(share(1e-9), "< 0.01 %");
        assert_eq!(pp(12.41), "+12.4");
        assert_eq!(pp(-0.27), "-0.27");
        assert_eq!(pp(-0.001), "0.00");
        let w = wrap("a 90 % b", 4, "");
        assert!(w.contains("90 %"), "{w}");
    }
}
