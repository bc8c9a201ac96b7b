//! SBML Level 3 Version 2 (core) export of the response model for one in-vivo scenario.
//!
//! What the file holds (model time in days, as in [`exoskin_response::tissue`]):
//! * one compartment, `skin` (1 cm2 of skin: every quantity is per cm2 or a relative index);
//! * the twelve response states of [`tissue::STATES`] as rate-ruled parameters starting at
//!   rest (those at rest 1 solved as `NAME_excess`, with `NAME = 1 + NAME_excess` a rule), plus the active internalized vesicles in keratinocytes and fibroblasts
//!   (`active_keratinocytes`, `active_fibroblasts`, per cm2), which obey
//!   `dA/dt = tissue_delivery_factor * uptake(t) - ln 2 / signal_half_life_h * A`;
//! * every response parameter the in-vivo model reads, with its value, its unit (unit
//!   definitions) and its source in the notes, and the scenario's derived constants (injury
//!   load and barrier deficits, age factors, source potencies);
//! * the inputs from the scenario's own run: the transport-derived uptake into keratinocytes
//!   and fibroblasts as piecewise-constant rates over the transport output intervals (the
//!   form [`exoskin_response::Signal`] integrates exactly), and the wound and channel closure
//!   curves as piecewise-linear functions of the time since a session (the interpolation of
//!   [`exoskin_response::WoundCurve::open_at`]); these curves are numbers of this run, so
//!   changing a parameter that shapes them (re-epithelialization, transport) needs a new
//!   export;
//! * one event per procedure session (the jumps of the stimulus, vascular redness and
//!   barrier deficit) and the reported outcomes ([`tissue::OUTCOMES`]) as assignment rules.
//!
//! The XML is written here with escaped text (a few fixed element kinds), the MathML from one
//! expression tree ([`math::Expr`]) built from the equations of [`tissue::derivative`].

pub mod math;

use exoskin_model::scenario::InVivo;
use exoskin_model::Scenario;
use exoskin_response::injury::Injury;
use exoskin_response::tissue::{self, Setup};
use exoskin_response::{ResponseParams, Simulation, WoundCurve};
use math::*;
use std::fmt::Write;

/// Errors of the export.
#[derive(Debug, thiserror::Error)]
pub enum SbmlError {
    #[error("parameter `{name}` = {value} cannot be exported: it must be finite")]
    NotFinite { name: String, value: f64 },
    #[error("response parameter `{name}` is missing from data/response.toml")]
    MissingParameter { name: String },
    #[error(
        "[experiment] kind is \"{kind}\"; an SBML export needs kind = \"in_vivo\" (the response \
         model runs on skin in vivo); the bundled ones are scenarios/in_vivo_*.toml"
    )]
    NotInVivo { kind: &'static str },
}

/// The in-vivo scenario an export is made of, or [`SbmlError::NotInVivo`].
pub fn in_vivo(s: &Scenario) -> Result<&InVivo, SbmlError> {
    match s {
        Scenario::InVivo(v) => Ok(v),
        Scenario::FranzCell(_) => Err(SbmlError::NotInVivo { kind: "franz_cell" }),
        Scenario::CellCulture(_) => Err(SbmlError::NotInVivo {
            kind: "cell_culture",
        }),
    }
}

/// Response parameters the cell-culture model alone reads (not exported).
const CULTURE_ONLY: &[&str] = &[
    "culture_uptake_fraction",
    "culture_uptake_time_h",
    "stimulus_lps",
    "stimulus_tnf_alpha",
];

/// One factor of a unit definition: (kind, exponent, scale, multiplier).
type UnitFactor = (&'static str, i32, i32, f64);

/// Unit definitions: id, then its factors.
const UNITS: &[(&str, &[UnitFactor])] = &[
    ("day", &[("second", 1, 0, 86400.0)]),
    ("hour", &[("second", 1, 0, 3600.0)]),
    ("per_day", &[("second", -1, 0, 86400.0)]),
    ("per_hour", &[("second", -1, 0, 3600.0)]),
    ("per_year", &[("second", -1, 0, 31557600.0)]),
    ("per_mm", &[("metre", -1, -3, 1.0)]),
    ("per_cm2", &[("metre", -2, -2, 1.0)]),
    ("cm2", &[("metre", 2, -2, 1.0)]),
    (
        "um_per_hour",
        &[("metre", 1, -6, 1.0), ("second", -1, 0, 3600.0)],
    ),
    (
        "per_cm2_per_hour",
        &[("metre", -2, -2, 1.0), ("second", -1, 0, 3600.0)],
    ),
];

/// The SBML unit of a `data/response.toml` unit text.
pub fn unit_of(text: &str) -> &'static str {
    let head = text.split(" (").next().unwrap_or(text).trim();
    match head {
        "d" => "day",
        "h" => "hour",
        "1/d" => "per_day",
        "um/h" => "um_per_hour",
        "1 per mm of lesion depth" => "per_mm",
        _ if head.contains("per year") => "per_year",
        _ if head.ends_with("per cm2 of skin") => "per_cm2",
        _ => "dimensionless",
    }
}

/// Symbol names of the states, in [`tissue::STATES`] order.
fn st(i: usize) -> Expr {
    var(tissue::STATES[i])
}

// State indices (the order of tissue::STATES).
const D: usize = 0;
const C: usize = 1;
const V: usize = 2;
const R: usize = 3;
const B: usize = 4;
const H: usize = 5;
const F: usize = 6;
const COL: usize = 7;
const EE: usize = 8;
const EF: usize = 9;
const M: usize = 10;
const P: usize = 11;

/// States at rest 1, solved as their excess over rest (`NAME_excess`, rest 0, with `NAME` an
/// assignment rule `1 + NAME_excess`): a small departure from rest then keeps its relative
/// precision instead of being the difference of two numbers near 1, which matters to solvers
/// that scale their error by the state (CVODE stalls on the cancellation noise of
/// `cytokines - 1` when the cytokines sit a hair below rest).
const REST_ONE: [usize; 7] = [C, H, COL, EE, EF, M, P];

/// The excess over rest of a state of [`REST_ONE`].
fn xs(i: usize) -> Expr {
    var(&format!("{}_excess", tissue::STATES[i]))
}

/// Time constant parameter of each relaxing state.
const RELAXING: [(usize, &str); 9] = [
    (C, "cytokine_time_constant_d"),
    (R, "erythema_time_constant_d"),
    (H, "hydration_time_constant_d"),
    (F, "activation_time_constant_d"),
    (COL, "collagen_time_constant_d"),
    (EE, "elastin_time_constant_d"),
    (EF, "elastic_fibre_time_constant_d"),
    (M, "melanin_time_constant_d"),
    (P, "pore_time_constant_d"),
];

/// One parameter of the file.
struct Param {
    id: String,
    value: Option<f64>,
    units: &'static str,
    constant: bool,
    notes: String,
}

/// An event: id, trigger, and (variable, value) assignments.
type Event = (String, Expr, Vec<(String, Expr)>);

/// The model as SBML pieces, before writing.
struct Model {
    params: Vec<Param>,
    functions: Vec<(String, Vec<String>, Expr)>,
    assignments: Vec<(String, Expr)>,
    rates: Vec<(String, Expr)>,
    events: Vec<Event>,
}

impl Model {
    fn constant(&mut self, id: &str, value: f64, units: &'static str, notes: &str) {
        self.params.push(Param {
            id: id.to_string(),
            value: Some(value),
            units,
            constant: true,
            notes: notes.to_string(),
        });
    }
    fn state(&mut self, id: &str, initial: f64, units: &'static str, rate: Expr, notes: &str) {
        self.params.push(Param {
            id: id.to_string(),
            value: Some(initial),
            units,
            constant: false,
            notes: notes.to_string(),
        });
        self.rates.push((id.to_string(), rate));
    }
    fn rule(&mut self, id: &str, units: &'static str, math: Expr, notes: &str) {
        self.params.push(Param {
            id: id.to_string(),
            value: None,
            units,
            constant: false,
            notes: notes.to_string(),
        });
        self.assignments.push((id.to_string(), math));
    }
}

/// Uptake rate (per cm2 per h, before the tissue delivery factor) over each transport output
/// interval: the increase of the cumulative uptake divided by the interval's length (the
/// rates [`exoskin_response::Signal`] integrates exactly).
fn uptake_rates(times_h: &[f64], cumulative: &[f64]) -> Vec<f64> {
    (0..times_h.len().saturating_sub(1))
        .map(|j| {
            let dt = times_h[j + 1] - times_h[j];
            if dt > 0.0 {
                (cumulative[j + 1] - cumulative[j]).max(0.0) / dt
            } else {
                0.0
            }
        })
        .collect()
}

/// Open fraction of a closure curve at time `tau` (h) after a session: the linear
/// interpolation of [`WoundCurve::open_at`], as a function body over `tau`.
fn closure_body(w: &WoundCurve) -> Expr {
    let tau = var("tau");
    let n = w.times_h.len();
    if n == 0 {
        return num(1.0);
    }
    // Before a session the caller's condition gives 0; at tau = 0 the first segment gives
    // open[0] (1 at the session). A piece for tau <= 0 is kept only for curves that start
    // later than the session.
    let mut pieces = Vec::new();
    if w.times_h[0] > 0.0 {
        pieces.push((num(1.0), le(tau.clone(), num(0.0))));
    }
    for k in 1..n {
        let (t0, t1) = (w.times_h[k - 1], w.times_h[k]);
        if t1 <= t0 {
            continue;
        }
        let wgt = div(sub(tau.clone(), num(t0)), num(t1 - t0));
        let value = add(vec![
            mul(vec![num(w.open[k - 1]), sub(num(1.0), wgt.clone())]),
            mul(vec![num(w.open[k]), wgt]),
        ]);
        pieces.push((value, lt(tau.clone(), num(t1))));
    }
    piecewise(pieces, num(w.open[n - 1]))
}

/// The largest open fraction over the sessions that have started (0 before any).
fn open_over_sessions(function: &str, sessions_h: &[f64]) -> Expr {
    let t = var("t_h");
    sessions_h.iter().fold(num(0.0), |acc, &s| {
        let open = call(function, vec![sub(t.clone(), num(s))]);
        // A session at time 0 needs no condition (t >= 0 throughout).
        let term = if s <= 0.0 {
            open
        } else {
            piecewise(vec![(open, le(num(s), t.clone()))], num(0.0))
        };
        max2(acc, term)
    })
}

/// The SBML document (L3V2 core) of the response model for `v` with the inputs of its run
/// `sim` under parameters `rp`. `model_id` must be an SBML SId (letters, digits, `_`).
pub fn export(
    v: &InVivo,
    sim: &Simulation,
    rp: &ResponseParams,
    model_id: &str,
) -> Result<String, SbmlError> {
    let vals = &rp.v;
    let injury = Injury::of(&v.procedure);
    let setup = Setup::of(injury.as_ref(), v.skin.age_years, vals);
    let mut m = Model {
        params: Vec::new(),
        functions: Vec::new(),
        assignments: Vec::new(),
        rates: Vec::new(),
        events: Vec::new(),
    };
    add_parameters(&mut m, v, rp, &setup)?;
    let uptake_steps = add_uptake(&mut m, sim);
    let mut sessions = v.sessions_h.clone();
    sessions.sort_by(f64::total_cmp);
    let physical = injury.as_ref().is_some_and(|i| i.microneedle);
    add_clocks(&mut m, sim, physical, &sessions);
    add_states(&mut m, &setup, vals, injury.is_some(), &sessions);
    add_events(
        &mut m,
        &sim.transport.run.times_h,
        &uptake_steps,
        injury.is_some(),
        &sessions,
    );
    add_outcomes(&mut m);
    Ok(write_document(&m, v, model_id))
}

/// The parameters: every response parameter of the data file (fitted values where the fit
/// replaced them), then the constants this scenario derives from them; all finite.
fn add_parameters(
    m: &mut Model,
    v: &InVivo,
    rp: &ResponseParams,
    setup: &Setup,
) -> Result<(), SbmlError> {
    let potency = rp.potency(&v.product.source);
    // Parameters from the data file (fitted values where the fit replaced them).
    for name in exoskin_response::params::NAMES {
        if CULTURE_ONLY.contains(name) {
            continue;
        }
        let meta = rp
            .meta
            .get(*name)
            .ok_or_else(|| SbmlError::MissingParameter {
                name: name.to_string(),
            })?;
        let value = rp.value(name).map_err(|_| SbmlError::MissingParameter {
            name: name.to_string(),
        })?;
        let fit = if rp.fitted.contains_key(*name) {
            " Fitted value (data/response_fit.toml)."
        } else {
            ""
        };
        let notes = format!("Unit: {}. Source: {}.{fit}", meta.unit, meta.source);
        m.constant(name, value, unit_of(&meta.unit), &notes);
    }
    // Constants of this scenario.
    let derived: [(&str, f64, &str); 12] = [
        ("age_years", v.skin.age_years, "The person's age (scenario), years."),
        (
            "age_factor",
            setup.age,
            "Fibroblast response and baseline matrix relative to age 30: max(0.3, 1 - matrix_decline_per_year (age - 30)+).",
        ),
        (
            "barrier_age_factor",
            setup.barrier_age,
            "Slowing of barrier repair with age: 1 + barrier_age_slowing_per_year (age - 30)+.",
        ),
        (
            "injury_load",
            setup.load,
            "Inflammatory load of one procedure session: index / (index + injury_half_saturation).",
        ),
        (
            "session_barrier_deficit",
            setup.deficit,
            "Barrier deficit a session adds (ablation, peels): B <- 1 - (1 - B)(1 - deficit).",
        ),
        (
            "pore_barrier_deficit",
            setup.holes,
            "Barrier deficit of open microneedle pores (TEWL leak while the channels are open).",
        ),
        (
            "resolution_d",
            setup.resolution_d,
            "Time constant of the inflammatory stimulus once covered, d: the procedure class's own (damage_resolution_needle_d, _ablative_d or _peel_d).",
        ),
        (
            "dermal_fraction",
            setup.dermal,
            "Share of the injury that reaches the dermis and drives remodelling (lesion depth below epidermal_thickness_um; 0 for a stratum-corneum peel).",
        ),
        ("potency_anti_inflammatory", potency.anti_inflammatory, "Source potency (data/potency.toml)."),
        ("potency_matrix", potency.matrix, "Source potency (data/potency.toml)."),
        ("potency_hydration", potency.hydration, "Source potency (data/potency.toml)."),
        ("potency_pigment", potency.pigment, "Source potency (data/potency.toml)."),
    ];
    for (id, value, notes) in derived {
        m.constant(id, value, "dimensionless", notes);
    }
    for p in &m.params {
        if let Some(x) = p.value {
            if !x.is_finite() {
                return Err(SbmlError::NotFinite {
                    name: p.id.clone(),
                    value: x,
                });
            }
        }
    }

    Ok(())
}

/// The inputs: time in hours and the uptake into each cell type booked by the transport
/// run, as piecewise-constant rates (returned per output interval, for the events).
fn add_uptake(m: &mut Model, sim: &Simulation) -> Vec<Vec<f64>> {
    // Inputs.
    m.rule(
        "t_h",
        "hour",
        mul(vec![Expr::Time, num(24.0)]),
        "Time in hours (the inputs are tabulated in hours).",
    );
    let run = &sim.transport.run;
    let mut uptake_steps: Vec<Vec<f64>> = Vec::new();
    for (k, (cell, per)) in [
        ("keratinocytes", "keratinocytes_per_cm2"),
        ("fibroblasts", "fibroblasts_per_cm2"),
    ]
    .into_iter()
    .enumerate()
    {
        let uptake = format!("uptake_{cell}");
        let active = format!("active_{cell}");
        let rates = uptake_rates(&run.times_h, &run.sinks_per_cm2[k]);
        let starts_now = run.times_h.first().is_some_and(|&t0| t0 <= 0.0);
        m.params.push(Param {
            id: uptake.clone(),
            value: Some(if starts_now {
                rates.first().copied().unwrap_or(0.0)
            } else {
                0.0
            }),
            units: "per_cm2_per_hour",
            constant: false,
            notes: format!(
                "Uptake into {cell} booked by this scenario's transport run, per cm2 per h: \
                 constant over each transport output interval (the increase of the cumulative \
                 uptake over the interval divided by its length), switched by the events \
                 uptake_step_*; 0 after the last output."
            ),
        });
        uptake_steps.push(rates);
        let decay = div(num(std::f64::consts::LN_2), var("signal_half_life_h"));
        m.state(
            &active,
            0.0,
            "per_cm2",
            mul(vec![
                num(24.0),
                sub(
                    mul(vec![var("tissue_delivery_factor"), var(&uptake)]),
                    mul(vec![decay, var(&active)]),
                ),
            ]),
            &format!("Active internalized vesicles in {cell}, per cm2 (degraded with signal_half_life_h)."),
        );
        let per_cell = div(var(&active), var(per));
        m.rule(
            &format!("effect_{cell}"),
            "dimensionless",
            div(
                per_cell.clone(),
                add(vec![per_cell, var("half_effect_vesicles_per_cell")]),
            ),
            &format!("Per-cell effect in {cell}: n / (n + half_effect_vesicles_per_cell)."),
        );
    }
    uptake_steps
}

/// The clocks: the open fraction of the wounds and of the channels over the sessions, the
/// covered fraction, the vesicles' inflammatory effect and the pores' barrier leak.
fn add_clocks(m: &mut Model, sim: &Simulation, physical: bool, sessions: &[f64]) {
    let ek = var("effect_keratinocytes");
    let ef = var("effect_fibroblasts");
    let wound = sim.wound.as_ref();
    let channel = if physical {
        sim.channel.as_ref()
    } else {
        wound
    };
    let wound_open = match wound {
        Some(w) => {
            m.functions
                .push(("wound_open".into(), vec!["tau".into()], closure_body(w)));
            open_over_sessions("wound_open", sessions)
        }
        None => num(0.0),
    };
    let channel_open = match (channel, physical) {
        (Some(c), true) => {
            m.functions
                .push(("channel_open".into(), vec!["tau".into()], closure_body(c)));
            open_over_sessions("channel_open", sessions)
        }
        (Some(_), false) => var("wound_open_fraction"),
        (None, _) => num(0.0),
    };
    m.rule(
        "wound_open_fraction",
        "dimensionless",
        wound_open,
        "Open (not re-epithelialized) fraction of the procedure wounds: the largest over the sessions so far of the closure curve at the time since the session.",
    );
    m.rule(
        "channel_open_fraction",
        "dimensionless",
        channel_open,
        "Open fraction of the channels vesicles enter by (microneedle pores: their physical clock; laser zones: the wound).",
    );
    let open = var("wound_open_fraction");
    m.rule(
        "covered",
        "dimensionless",
        sub(num(1.0), sub(pos(open.clone()), pos(sub(open, num(1.0))))),
        "Covered fraction of the wounds, 1 - clamp(open, 0, 1).",
    );
    m.rule(
        "inflammatory_effect",
        "dimensionless",
        mul(vec![
            var("potency_anti_inflammatory"),
            max2(ek.clone(), ef.clone()),
        ]),
        "potency_anti_inflammatory times the larger per-cell effect.",
    );
    let pore = mul(vec![
        var("pore_barrier_deficit"),
        var("channel_open_fraction"),
    ]);
    let leak = match sessions.first() {
        // From time 0 on: no condition (a condition that switches at the initial time stalls
        // some solvers' root finding).
        Some(&s0) if s0 <= 0.0 => pore,
        Some(&s0) => piecewise(vec![(pore, gt(Expr::Time, num(s0 / 24.0)))], num(0.0)),
        None => num(0.0),
    };
    m.rule(
        "pore_leak",
        "dimensionless",
        leak,
        "Barrier deficit of the open microneedle pores, after the first session.",
    );
}

/// The tissue states with their rate rules (per day) and initial values (after a session
/// at time 0, which is in the initial state).
fn add_states(
    m: &mut Model,
    setup: &Setup,
    vals: &exoskin_response::params::Values,
    injured: bool,
    sessions: &[f64],
) {
    let ek = var("effect_keratinocytes");
    let ef = var("effect_fibroblasts");
    let e_inf = var("inflammatory_effect");
    let excess = xs(C);
    // Rate rules (per day).
    let k_res = div(var("covered"), var("resolution_d"));
    let k_bar = div(
        mul(vec![
            var("covered"),
            var("barrier_recovery_per_d"),
            pos(add(vec![
                num(1.0),
                mul(vec![
                    var("ev_barrier_effect"),
                    var("potency_hydration"),
                    ek.clone(),
                ]),
            ])),
        ]),
        var("barrier_age_factor"),
    );
    let notes = [
        "Inflammatory stimulus: + injury_load per session, resolved once the wound is covered.",
        "Cytokines (rest 1).",
        "Vascular erythema (rest 0): + vascular_erythema_max injury_load per session.",
        "Inflammatory erythema (rest 0), lagging the cytokines.",
        "Barrier deficit (rest 0), repaired once covered.",
        "Hyaluronan (rest 1).",
        "Fibroblast activation (rest 0).",
        "Dermal collagen (rest 1).",
        "Elastin expression (rest 1).",
        "Elastic fibres (rest 1).",
        "Melanin (rest 1).",
        "Pore area (rest 1).",
    ];
    // A session at time 0 is in the initial state: the file starts just after it (exoskin
    // reports the value just before a session at the session's time).
    let mut rest = tissue::rest_state();
    if injured {
        for _ in sessions.iter().take_while(|&&s| s <= 0.0) {
            setup.apply_session_to(&mut rest, vals);
        }
    }
    let mut rate = vec![num(0.0); tissue::N_STATES];
    rate[D] = neg(mul(vec![k_res, st(D)]));
    rate[V] = neg(mul(vec![
        div(num(24.0), var("vascular_time_constant_h")),
        st(V),
    ]));
    rate[B] = neg(mul(vec![k_bar, st(B)]));
    let mut target = vec![num(0.0); tissue::N_STATES];
    // Targets of the states at rest 1 are written as excesses over rest (see REST_ONE).
    let uncalmed = mul(vec![var("inflammation_max_excess"), st(D)]);
    target[C] = mul(vec![
        uncalmed.clone(),
        pos(sub(
            num(1.0),
            mul(vec![var("ev_inflammation_effect"), e_inf]),
        )),
    ]);
    target[R] = mul(vec![var("erythema_per_inflammation"), excess.clone()]);
    target[H] = mul(vec![
        var("ev_hydration_effect"),
        var("potency_hydration"),
        ek.clone(),
    ]);
    let kappa = var("inflammation_remodelling_coupling");
    target[F] = add(vec![
        mul(vec![
            var("dermal_fraction"),
            var("fibroblast_activation_per_inflammation"),
            add(vec![
                mul(vec![kappa.clone(), pos(excess.clone())]),
                mul(vec![sub(num(1.0), kappa), uncalmed]),
            ]),
        ]),
        mul(vec![var("ev_matrix_effect"), var("potency_matrix"), ef]),
    ]);
    target[COL] = mul(vec![var("age_factor"), st(F)]);
    target[EE] = mul(vec![
        var("age_factor"),
        var("elastin_expression_per_activation"),
        st(F),
    ]);
    target[EF] = sub(
        mul(vec![var("elastic_fibre_synthesis"), xs(EE)]),
        mul(vec![
            var("elastic_fibre_loss_per_inflammation"),
            pos(excess.clone()),
        ]),
    );
    target[M] = add(vec![
        mul(vec![var("pih_per_inflammation"), pos(excess)]),
        mul(vec![var("ev_pigment_effect"), var("potency_pigment"), ek]),
    ]);
    target[P] = excess_of(exp(sub(
        neg(mul(vec![var("pore_matrix_coupling"), xs(COL)])),
        mul(vec![var("pore_hydration_coupling"), xs(H)]),
    )));
    for (i, tau) in RELAXING {
        let own = if REST_ONE.contains(&i) { xs(i) } else { st(i) };
        rate[i] = div(sub(target[i].clone(), own), var(tau));
    }
    for (i, r) in rate.into_iter().enumerate() {
        let name = tissue::STATES[i];
        if REST_ONE.contains(&i) {
            m.state(
                &format!("{name}_excess"),
                rest[i] - 1.0,
                "dimensionless",
                r,
                &format!("{} Solved as the excess over rest.", notes[i]),
            );
            m.rule(
                name,
                "dimensionless",
                add(vec![num(1.0), xs(i)]),
                &format!("{} 1 + {name}_excess.", notes[i]),
            );
        } else {
            m.state(name, rest[i], "dimensionless", r, notes[i]);
        }
    }
}

/// The events: the uptake's steps at the transport output times, and each later session's
/// jumps of the injured states.
fn add_events(
    m: &mut Model,
    times_h: &[f64],
    uptake_steps: &[Vec<f64>],
    injured: bool,
    sessions: &[f64],
) {
    // The uptake's steps at the transport output times (a later start: its first rate then).
    for (j, &t) in times_h.iter().enumerate() {
        if t <= 0.0 {
            continue;
        }
        let assigns = ["uptake_keratinocytes", "uptake_fibroblasts"]
            .iter()
            .zip(uptake_steps)
            .map(|(id, rates)| (id.to_string(), num(rates.get(j).copied().unwrap_or(0.0))))
            .collect();
        m.events.push((
            format!("uptake_step_{j}"),
            ge(Expr::Time, num(t / 24.0)),
            assigns,
        ));
    }

    // Sessions: the injury's jumps (a session at time 0 is in the initial state: the file
    // starts just after it, where exoskin reports the value just before it).
    if injured {
        for (k, &s) in sessions.iter().enumerate().filter(|(_, &s)| s > 0.0) {
            m.events.push((
                format!("session_{}", k + 1),
                ge(Expr::Time, num(s / 24.0)),
                vec![
                    (
                        tissue::STATES[D].to_string(),
                        add(vec![st(D), var("injury_load")]),
                    ),
                    (
                        tissue::STATES[V].to_string(),
                        add(vec![
                            st(V),
                            mul(vec![var("vascular_erythema_max"), var("injury_load")]),
                        ]),
                    ),
                    (
                        tissue::STATES[B].to_string(),
                        sub(
                            num(1.0),
                            mul(vec![
                                sub(num(1.0), st(B)),
                                sub(num(1.0), var("session_barrier_deficit")),
                            ]),
                        ),
                    ),
                    (
                        tissue::STATES[F].to_string(),
                        add(vec![
                            st(F),
                            mul(vec![
                                var("dermal_fraction"),
                                var("remodelling_per_injury"),
                                var("injury_load"),
                            ]),
                        ]),
                    ),
                ],
            ));
        }
    }
}

/// The outcomes: percent change from the person's own baseline.
fn add_outcomes(m: &mut Model) {
    // Outcomes (percent change from the person's own baseline).
    m.rule(
        "barrier_disruption",
        "dimensionless",
        sub(
            num(1.0),
            mul(vec![sub(num(1.0), st(B)), sub(num(1.0), var("pore_leak"))]),
        ),
        "Barrier disruption: the deficit and the pore leak combined.",
    );
    let pct = |e: Expr| mul(vec![num(100.0), e]);
    let col = xs(COL);
    let efib = xs(EF);
    let barrier = var("barrier_disruption");
    let outcomes = [
        pct(col.clone()),
        pct(xs(EE)),
        pct(efib.clone()),
        pct(mul(vec![
            excess_of(var("disrupted_tewl_ratio")),
            barrier.clone(),
        ])),
        pct(excess_of(mul(vec![
            st(H),
            sub(
                num(1.0),
                mul(vec![var("hydration_barrier_coupling"), barrier]),
            ),
        ]))),
        pct(add(vec![st(V), st(R)])),
        pct(xs(C)),
        pct(xs(P)),
        pct(xs(M)),
        neg(mul(vec![var("wrinkle_per_collagen"), pct(col.clone())])),
        mul(vec![
            var("elasticity_per_matrix"),
            pct(add(vec![
                mul(vec![num(0.7), col]),
                mul(vec![num(0.3), efib]),
            ])),
        ]),
    ];
    let outcome_names = tissue::OUTCOMES;
    for (name, e) in outcome_names.iter().zip(outcomes) {
        m.rule(name, "dimensionless", e, "Outcome, % change from baseline.");
    }
}

/// Escape text for XML content and attribute values (the workspace's one escaper).
pub use exoskin_io::escape::xml as escape;

const MATH_OPEN: &str = "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" xmlns:sbml=\"http://www.sbml.org/sbml/level3/version2/core\">";

fn math(out: &mut String, e: &Expr) {
    out.push_str(MATH_OPEN);
    e.write(out);
    out.push_str("</math>");
}

fn notes(out: &mut String, text: &str) {
    let _ = write!(
        out,
        "<notes><body xmlns=\"http://www.w3.org/1999/xhtml\"><p>{}</p></body></notes>",
        escape(text)
    );
}

fn write_document(m: &Model, v: &InVivo, model_id: &str) -> String {
    let mut o = String::new();
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str("<sbml xmlns=\"http://www.sbml.org/sbml/level3/version2/core\" level=\"3\" version=\"2\">\n");
    let _ = writeln!(
        o,
        "<model id=\"{}\" name=\"{}\" timeUnits=\"day\" extentUnits=\"dimensionless\" substanceUnits=\"dimensionless\">",
        escape(model_id),
        escape(&v.experiment.name)
    );
    notes(
        &mut o,
        &format!(
            "exoskin response model for the in-vivo scenario \"{}\" (time in days). States are \
             relative to the person's own baseline; outcomes are % changes. Inputs (uptake, wound \
             and channel closure) are this scenario's run, tabulated.",
            v.experiment.name
        ),
    );
    o.push('\n');
    if !m.functions.is_empty() {
        o.push_str("<listOfFunctionDefinitions>\n");
        for (id, params, body) in &m.functions {
            let _ = write!(o, "<functionDefinition id=\"{id}\">{MATH_OPEN}<lambda>");
            for p in params {
                let _ = write!(o, "<bvar><ci>{p}</ci></bvar>");
            }
            body.write(&mut o);
            o.push_str("</lambda></math></functionDefinition>\n");
        }
        o.push_str("</listOfFunctionDefinitions>\n");
    }
    o.push_str("<listOfUnitDefinitions>\n");
    for (id, units) in UNITS {
        let _ = write!(o, "<unitDefinition id=\"{id}\"><listOfUnits>");
        for (kind, exponent, scale, multiplier) in units.iter() {
            let _ = write!(
                o,
                "<unit kind=\"{kind}\" exponent=\"{exponent}\" scale=\"{scale}\" multiplier=\"{}\"/>",
                number_text(*multiplier)
            );
        }
        o.push_str("</listOfUnits></unitDefinition>\n");
    }
    o.push_str("</listOfUnitDefinitions>\n");
    o.push_str("<listOfCompartments>\n<compartment id=\"skin\" name=\"1 cm2 of skin\" spatialDimensions=\"2\" size=\"1\" units=\"cm2\" constant=\"true\"/>\n</listOfCompartments>\n");
    o.push_str("<listOfParameters>\n");
    for p in &m.params {
        let _ = write!(o, "<parameter id=\"{}\"", p.id);
        if let Some(x) = p.value {
            let _ = write!(o, " value=\"{}\"", number_text(x));
        }
        let _ = write!(o, " units=\"{}\" constant=\"{}\">", p.units, p.constant);
        notes(&mut o, &p.notes);
        o.push_str("</parameter>\n");
    }
    o.push_str("</listOfParameters>\n<listOfRules>\n");
    for (id, e) in &m.assignments {
        let _ = write!(o, "<assignmentRule variable=\"{id}\">");
        math(&mut o, e);
        o.push_str("</assignmentRule>\n");
    }
    for (id, e) in &m.rates {
        let _ = write!(o, "<rateRule variable=\"{id}\">");
        math(&mut o, e);
        o.push_str("</rateRule>\n");
    }
    o.push_str("</listOfRules>\n");
    if !m.events.is_empty() {
        o.push_str("<listOfEvents>\n");
        for (id, trigger, assigns) in &m.events {
            let _ = write!(
                o,
                "<event id=\"{id}\" useValuesFromTriggerTime=\"true\"><trigger initialValue=\"false\" persistent=\"true\">"
            );
            math(&mut o, trigger);
            o.push_str("</trigger><listOfEventAssignments>");
            for (var, e) in assigns {
                let _ = write!(o, "<eventAssignment variable=\"{var}\">");
                math(&mut o, e);
                o.push_str("</eventAssignment>");
            }
            o.push_str("</listOfEventAssignments></event>\n");
        }
        o.push_str("</listOfEvents>\n");
    }
    o.push_str("</model>\n</sbml>\n");
    o
}

/// A model id from a file stem: letters, digits and `_`, not starting with a digit.
pub fn model_id(stem: &str) -> String {
    let mut id: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert_str(0, "exoskin_");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_of_the_data_file_map_to_definitions() {
        assert_eq!(unit_of("d"), "day");
        assert_eq!(unit_of("d (time constant of the stimulus)"), "day");
        assert_eq!(unit_of("h"), "hour");
        assert_eq!(unit_of("1/d"), "per_day");
        assert_eq!(unit_of("fraction per year after 30"), "per_year");
        assert_eq!(unit_of("dermal fibroblasts per cm2 of skin"), "per_cm2");
        assert_eq!(
            unit_of("1 (fibre gain per unit expression excess)"),
            "dimensionless"
        );
        for meta in ResponseParams::defaults().meta.values() {
            let u = unit_of(&meta.unit);
            assert!(
                u == "dimensionless" || UNITS.iter().any(|(id, _)| *id == u),
                "{u}"
            );
        }
    }

    #[test]
    fn escaping_and_ids() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(model_id("in_vivo-micro.x"), "in_vivo_micro_x");
        assert_eq!(model_id("3d"), "exoskin_3d");
    }
}
