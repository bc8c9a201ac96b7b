//! Tissue outcomes over days: inflammation and erythema, barrier (TEWL) and hydration,
//! collagen, elastin expression and elastic fibres, wrinkles, elasticity, pores and melanin.
//!
//! Rest is the floor of the story: every state is relative to the person's own baseline
//! (1, or 0 for the excess states) and untreated skin, with no procedure and no vesicles,
//! has every target at rest, so nothing drifts. A procedure session is an injury of a size
//! ([`Injury`]): it adds an inflammatory stimulus `D` (its saturating load), an immediate
//! vascular redness `V`, and a barrier deficit `B`. The stimulus persists while the wound is
//! open and resolves once it is covered; cytokines `C` follow it; erythema is the vascular
//! part plus an inflammatory part lagging `C`. The barrier deficit recovers once the surface
//! is covered, at the measured barrier-repair rate (slower with age). Remodelling follows the
//! structure of Segal, Diegelmann, Ward & Reynolds (2012, Bull Math Biol 74:2165):
//! inflammation activates fibroblasts `F` over weeks, and collagen follows `F` over months;
//! elastin expression follows `F` within days while elastic-fibre content changes slowly,
//! gained from expression and lost to inflammatory proteases. Melanin rises with
//! inflammation (post-inflammatory hyperpigmentation) and falls with the epidermal signal.
//!
//! Vesicles act through the per-cell effects `E` (one dose-response, [`crate::signal`]),
//! each pathway with a *signed* effect whose prior is centred on zero, so the data decide
//! its sign: a share of the inflammatory excess removed (or added), fibroblast activation
//! added (or removed), barrier repair sped (or slowed), hydration and melanin raised or
//! lowered. Calming inflammation costs remodelling only in part: fibroblasts are driven by
//! `kappa` times the actual inflammatory excess plus `1 - kappa` times the excess the injury
//! would have caused without the vesicles (`inflammation_remodelling_coupling` = `kappa`,
//! fitted between "costs nothing", 0, and "costs all", 1). Only the part of an injury that
//! reaches the dermis drives remodelling ([`Injury::dermal_fraction`]), and the stimulus
//! resolves on its procedure class's own clock ([`Injury::resolution_d`]). A dermal wound
//! also activates fibroblasts directly, whatever its redness (`remodelling_per_injury`, a
//! jump of `F` per session in proportion to the injury's dermal load): needling remodels
//! though its redness is gone in days.
//!
//! Each state relaxes to its target, first order, integrated exactly over steps of at most
//! 0.02 d with the targets held at their mid-step values; steps end on every session time,
//! where the injury is applied as a jump. The error of these steps is first order in the step:
//! against [`integrate_reference`] (the continuous model solved to tight tolerances) every
//! outcome of the bundled in-vivo scenarios stays within 5e-2 of its largest magnitude over
//! the run, or 1e-9 % (tested in the exoskin-sbml crate).

use crate::injury::{age_slowing, Injury};
use crate::params::{Potency, ResponseError, Values};

/// Everything that drives the tissue, as functions of time in hours.
pub struct Drivers<'a> {
    /// Per-cell effect of the vesicle signal in keratinocytes, in [0, 1).
    pub keratinocyte: &'a dyn Fn(f64) -> f64,
    /// Per-cell effect in dermal fibroblasts, in [0, 1).
    pub fibroblast: &'a dyn Fn(f64) -> f64,
    /// Open (not yet re-epithelialized) fraction of the procedure wounds at time t (h).
    pub open: &'a dyn Fn(f64) -> f64,
    /// Open fraction of the channels (microneedle pores: their physical clock) at time t (h).
    pub channel: &'a dyn Fn(f64) -> f64,
    /// Session start times, h.
    pub sessions_h: &'a [f64],
    pub injury: Option<Injury>,
    pub potency: Potency,
    pub age_years: f64,
}

macro_rules! series {
    ($($name:ident: $doc:literal),* $(,)?) => {
        /// Outcome time series (percent change from the person's own baseline).
        #[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
        pub struct Series {
            pub times_d: Vec<f64>,
            $(#[doc = $doc] pub $name: Vec<f64>,)*
        }

        impl Series {
            /// Every outcome series by name (in output order).
            pub fn named(&self) -> Vec<(&'static str, &[f64])> {
                vec![$((stringify!($name), self.$name.as_slice()),)*]
            }
            /// The outcome series at position `k` of [`OUTCOMES`] (a name resolved once).
            pub fn at(&self, k: usize) -> Option<&[f64]> {
                [$(self.$name.as_slice(),)*].get(k).copied()
            }
            /// An outcome series by its name.
            pub fn get(&self, name: &str) -> Option<&[f64]> {
                match name { $(stringify!($name) => Some(self.$name.as_slice()),)* _ => None }
            }
            fn push(&mut self, t: f64, o: &[f64; N_OUT]) {
                self.times_d.push(t);
                let mut i = 0;
                $(self.$name.push(o[i]); i += 1;)*
                let _ = i;
            }
        }

        /// Names of the outcome series.
        pub const OUTCOMES: &[&str] = &[$(stringify!($name),)*];
    };
}

series!(
    collagen_pct: "Dermal collagen (content), %.",
    elastin_pct: "Elastin expression (tropoelastin synthesis), %.",
    elastic_fibre_pct: "Elastic-fibre content (histology), %.",
    tewl_pct: "Transepidermal water loss, %.",
    hydration_pct: "Stratum corneum hydration (capacitance), %.",
    erythema_pct: "Erythema index, %.",
    cytokines_pct: "Pro-inflammatory cytokines, %.",
    pore_area_pct: "Pore area, %.",
    melanin_pct: "Melanin index, %.",
    wrinkle_pct: "Wrinkle (and atrophic-scar) depth, %.",
    elasticity_pct: "Skin elasticity (e.g. Cutometer R2), %.",
);

const N_OUT: usize = 11;

/// The age (years) after which the model's ageing begins: the matrix declines
/// ([`age_factor`]) and wounds and the barrier recover more slowly
/// ([`crate::injury::age_slowing`]). Each is linear in age above it and flat below, with a
/// kink here (a trial's grid puts a node on it).
pub const AGEING_FROM_YEARS: f64 = 30.0;

/// How strongly an older person's fibroblasts respond, and their baseline matrix, relative
/// to age 30 (`matrix_decline_per_year` from 30; floor 0.3).
pub fn age_factor(age_years: f64, v: &Values) -> f64 {
    (1.0 - v.matrix_decline_per_year * (age_years - AGEING_FROM_YEARS).max(0.0)).max(0.3)
}

// State indices.
const D: usize = 0; // inflammatory stimulus
const C: usize = 1; // cytokines (rest 1)
const V: usize = 2; // vascular erythema (rest 0)
const R: usize = 3; // inflammatory erythema (rest 0)
const B: usize = 4; // barrier deficit (rest 0)
const H: usize = 5; // hyaluronan (rest 1)
const F: usize = 6; // fibroblast activation (rest 0)
const COL: usize = 7; // collagen (rest 1)
const EE: usize = 8; // elastin expression (rest 1)
const EF: usize = 9; // elastic fibres (rest 1)
const M: usize = 10; // melanin (rest 1)
const P: usize = 11; // pore area (rest 1)
const N: usize = 12;

fn rest() -> [f64; N] {
    let mut x = [0.0; N];
    for i in [C, H, COL, EE, EF, M, P] {
        x[i] = 1.0;
    }
    x
}

/// The reported outcomes. Wrinkle depth follows collagen; elasticity weighs collagen 0.7 and
/// elastic fibres 0.3 (collagen carries most of the dermis's load: an assumption, its scale
/// `elasticity_per_matrix` fitted); `leak` is the TEWL through open microneedle pores.
fn outputs(x: &[f64; N], leak: f64, v: &Values) -> [f64; N_OUT] {
    let col = x[COL] - 1.0;
    let barrier = 1.0 - (1.0 - x[B]) * (1.0 - leak);
    let ef = x[EF] - 1.0;
    [
        100.0 * col,
        100.0 * (x[EE] - 1.0),
        100.0 * ef,
        100.0 * (v.disrupted_tewl_ratio - 1.0) * barrier,
        100.0 * (x[H] * (1.0 - v.hydration_barrier_coupling * barrier) - 1.0),
        100.0 * (x[V] + x[R]),
        100.0 * (x[C] - 1.0),
        100.0 * (x[P] - 1.0),
        100.0 * (x[M] - 1.0),
        -v.wrinkle_per_collagen * 100.0 * col,
        v.elasticity_per_matrix * 100.0 * (0.7 * col + 0.3 * ef),
    ]
}

/// Names of the twelve states, in index order (the continuous model of [`derivative`]).
pub const STATES: [&str; N] = [
    "damage_stimulus",
    "cytokines",
    "vascular_erythema",
    "inflammatory_erythema",
    "barrier_deficit",
    "hyaluronan",
    "fibroblast_activation",
    "collagen",
    "elastin_expression",
    "elastic_fibres",
    "melanin",
    "pore_area",
];

/// Number of states.
pub const N_STATES: usize = N;

/// The state at rest (every target met on untreated skin).
pub fn rest_state() -> [f64; N] {
    rest()
}

/// The constants of a run that do not change over time: the injury's jumps per session, the
/// age factors and the time constants. [`integrate`], [`derivative`] and exports read these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setup {
    /// Age factor of fibroblast response and matrix ([`age_factor`]).
    pub age: f64,
    /// Slowing of barrier repair with age ([`age_slowing`]).
    pub barrier_age: f64,
    /// Inflammatory load a session adds to the stimulus `D` (and, times
    /// `vascular_erythema_max`, to `V`).
    pub load: f64,
    /// Barrier deficit a session adds (`B <- 1 - (1 - B)(1 - deficit)`).
    pub deficit: f64,
    /// Barrier deficit of the open microneedle pores (TEWL leak, times the channel's open
    /// fraction).
    pub holes: f64,
    /// Relaxation time constants, d, per state (1 for the states that have none).
    pub taus: [f64; N],
    /// Time constant of the inflammatory stimulus once covered, d (its procedure class's).
    pub resolution_d: f64,
    /// Share of the injury that reaches the dermis (drives remodelling), in [0, 1].
    pub dermal: f64,
}

impl Setup {
    pub fn new(d: &Drivers, v: &Values) -> Setup {
        Setup::of(d.injury.as_ref(), d.age_years, v)
    }

    /// The constants of a procedure's injury (None: no procedure) at an age.
    pub fn of(injury: Option<&Injury>, age_years: f64, v: &Values) -> Setup {
        // Microneedle pores leak water while they are open (TEWL through the holes, on the
        // channel clock); ablation and peels deplete the barrier, which then recovers at the
        // measured barrier-repair rate once the surface is covered.
        let (load, deficit, holes) = match injury {
            Some(inj) if inj.microneedle => (inj.load(v), 0.0, inj.barrier_deficit(v)),
            Some(inj) => (inj.load(v), inj.barrier_deficit(v), 0.0),
            None => (0.0, 0.0, 0.0),
        };
        let mut taus = [1.0; N];
        taus[C] = v.cytokine_time_constant_d;
        taus[R] = v.erythema_time_constant_d;
        taus[H] = v.hydration_time_constant_d;
        taus[F] = v.activation_time_constant_d;
        taus[COL] = v.collagen_time_constant_d;
        taus[EE] = v.elastin_time_constant_d;
        taus[EF] = v.elastic_fibre_time_constant_d;
        taus[M] = v.melanin_time_constant_d;
        taus[P] = v.pore_time_constant_d;
        Setup {
            age: age_factor(age_years, v),
            barrier_age: age_slowing(age_years, v.barrier_age_slowing_per_year),
            load,
            deficit,
            holes,
            taus,
            resolution_d: injury.map_or(v.damage_resolution_peel_d, |i| i.resolution_d(v)),
            dermal: injury.map_or(0.0, |i| i.dermal_fraction(v)),
        }
    }

    /// A session's jump of the state.
    pub fn apply_session_to(&self, x: &mut [f64; N], v: &Values) {
        self.apply_session(x, v)
    }

    fn apply_session(&self, x: &mut [f64; N], v: &Values) {
        x[D] += self.load;
        x[F] += self.dermal * v.remodelling_per_injury * self.load;
        x[V] += v.vascular_erythema_max * self.load;
        x[B] = 1.0 - (1.0 - x[B]) * (1.0 - self.deficit);
    }
}

/// First-order rate constants (per d) of the sinks `D`, `V` and `B` and the inflammatory
/// effect `e_inf`, at time `t_h` (h).
struct Sinks {
    k_res: f64,
    k_vas: f64,
    k_bar: f64,
    ek: f64,
    ef: f64,
    e_inf: f64,
}

fn sinks(d: &Drivers, v: &Values, p: &Potency, s: &Setup, t_h: f64) -> Sinks {
    let ek = (d.keratinocyte)(t_h);
    let ef = (d.fibroblast)(t_h);
    let e_inf = p.anti_inflammatory * ek.max(ef);
    let covered = 1.0 - (d.open)(t_h).clamp(0.0, 1.0);
    Sinks {
        k_res: covered / s.resolution_d,
        k_vas: 24.0 / v.vascular_time_constant_h,
        k_bar: covered
            * v.barrier_recovery_per_d
            * (1.0 + v.ev_barrier_effect * p.hydration * ek).max(0.0)
            / s.barrier_age,
        ek,
        ef,
        e_inf,
    }
}

/// Targets of the relaxing states (entries of `D`, `V`, `B` unused).
fn targets(x: &[f64; N], v: &Values, p: &Potency, s: &Setup, k: &Sinks) -> [f64; N] {
    let (ek, ef, e_inf, age) = (k.ek, k.ef, k.e_inf, s.age);
    let excess = x[C] - 1.0;
    // The excess the injury causes without vesicles (the stimulus's target), and with them.
    let uncalmed = v.inflammation_max_excess * x[D];
    let mut target = [0.0; N];
    target[C] = 1.0 + uncalmed * (1.0 - v.ev_inflammation_effect * e_inf).max(0.0);
    target[R] = v.erythema_per_inflammation * excess;
    target[H] = 1.0 + v.ev_hydration_effect * p.hydration * ek;
    let kappa = v.inflammation_remodelling_coupling;
    target[F] = s.dermal
        * v.fibroblast_activation_per_inflammation
        * (kappa * excess.max(0.0) + (1.0 - kappa) * uncalmed)
        + v.ev_matrix_effect * p.matrix * ef;
    target[COL] = 1.0 + age * x[F];
    target[EE] = 1.0 + age * v.elastin_expression_per_activation * x[F];
    target[EF] = 1.0 + v.elastic_fibre_synthesis * (x[EE] - 1.0)
        - v.elastic_fibre_loss_per_inflammation * excess.max(0.0);
    target[M] =
        1.0 + v.pih_per_inflammation * excess.max(0.0) + v.ev_pigment_effect * p.pigment * ek;
    target[P] =
        (-v.pore_matrix_coupling * (x[COL] - 1.0) - v.pore_hydration_coupling * (x[H] - 1.0)).exp();
    target
}

const RELAXING: [usize; 9] = [C, R, H, F, COL, EE, EF, M, P];

/// The continuous model: d x / d t (per d) at time `t_d` (d), between sessions. [`integrate`]
/// steps it with exact decays over short steps; exports and the reference integrator use it
/// as written.
pub fn derivative(x: &[f64; N], d: &Drivers, v: &Values, s: &Setup, t_d: f64) -> [f64; N] {
    let p = &d.potency;
    let k = sinks(d, v, p, s, t_d * 24.0);
    let target = targets(x, v, p, s, &k);
    let mut dx = [0.0; N];
    dx[D] = -k.k_res * x[D];
    dx[V] = -k.k_vas * x[V];
    dx[B] = -k.k_bar * x[B];
    for i in RELAXING {
        dx[i] = (target[i] - x[i]) / s.taus[i];
    }
    dx
}

/// Output times (d) of a run of `duration_d` reported every `every_d` days.
fn output_times(duration_d: f64, every_d: f64) -> Vec<f64> {
    let nout = (duration_d / every_d).round().max(1.0) as usize;
    (0..=nout)
        .map(|k| {
            if k == nout {
                duration_d
            } else {
                every_d * k as f64
            }
        })
        .collect()
}

fn sorted_sessions_d(d: &Drivers) -> Vec<f64> {
    let mut sessions: Vec<f64> = d.sessions_h.iter().map(|s| s / 24.0).collect();
    sessions.sort_by(f64::total_cmp);
    sessions
}

/// The reported outcomes at an output time `t_end` (d), `sessions_applied` sessions in.
fn outputs_at(
    x: &[f64; N],
    d: &Drivers,
    v: &Values,
    s: &Setup,
    t_end: f64,
    sessions_applied: usize,
) -> [f64; N_OUT] {
    let leak = if sessions_applied > 0 {
        s.holes * (d.channel)(t_end * 24.0)
    } else {
        0.0
    };
    outputs(x, leak, v)
}

/// The longest step of [`integrate`] for outputs every `every_d` days, d.
fn max_step_d(every_d: f64) -> f64 {
    (every_d / 4.0).clamp(1e-4, 0.02)
}

/// Steps [`integrate`] takes over `duration_d` reporting every `every_d` days with
/// `sessions` sessions, at most (each session may cut one step short).
pub fn step_count(duration_d: f64, every_d: f64, sessions: usize) -> u64 {
    (duration_d / max_step_d(every_d)).ceil() as u64
        + output_times(duration_d, every_d).len() as u64
        + sessions as u64
}

/// Integrate the outcomes from 0 to `duration_d`, reporting every `every_d` days. The value
/// reported at a session time is the one just before the session (the visit is read first).
pub fn integrate(d: &Drivers, v: &Values, duration_d: f64, every_d: f64) -> Series {
    let s = Setup::new(d, v);
    let p = &d.potency;
    let sessions = sorted_sessions_d(d);
    let mut next_session = 0usize;
    let mut x = rest();
    let mut out = Series::default();
    let dt_max = max_step_d(every_d);
    let mut t = 0.0;
    let mut decay = Decay::new(v, &s, dt_max);
    for t_end in output_times(duration_d, every_d) {
        while t < t_end - 1e-12 {
            // Apply a session due now.
            while next_session < sessions.len() && sessions[next_session] <= t + 1e-12 {
                s.apply_session(&mut x, v);
                next_session += 1;
            }
            let mut h = dt_max.min(t_end - t);
            if next_session < sessions.len() {
                h = h.min((sessions[next_session] - t).max(1e-9));
            }
            if h != decay.h {
                decay = Decay::new(v, &s, h);
            }
            step(&mut x, d, v, p, &s, t, &mut decay);
            t += h;
        }
        t = t_end;
        out.push(t_end, &outputs_at(&x, d, v, &s, t_end, next_session));
    }
    out
}

/// `exp(a)`, remembering the last argument: the sinks' rates repeat from step to step
/// once the skin is covered, and the same argument gives the same value.
struct LastExp {
    arg: f64,
    value: f64,
}

impl LastExp {
    fn new() -> LastExp {
        LastExp {
            arg: 0.0,
            value: 1.0,
        }
    }
    fn exp(&mut self, a: f64) -> f64 {
        if a.to_bits() != self.arg.to_bits() {
            self.arg = a;
            self.value = a.exp();
        }
        self.value
    }
}

/// The decay factors of a step of size `h` that depend on `h` and the parameters only
/// (most steps have the same size, so they are computed once per size).
struct Decay {
    h: f64,
    vascular: f64,
    relaxing: [f64; RELAXING.len()],
    resolution: LastExp,
    barrier: LastExp,
}

impl Decay {
    fn new(v: &Values, s: &Setup, h: f64) -> Decay {
        let mut relaxing = [0.0; RELAXING.len()];
        for (e, &i) in relaxing.iter_mut().zip(&RELAXING) {
            *e = (-h / s.taus[i]).exp();
        }
        Decay {
            h,
            vascular: (-h * 24.0 / v.vascular_time_constant_h).exp(),
            relaxing,
            resolution: LastExp::new(),
            barrier: LastExp::new(),
        }
    }
}

fn step(x: &mut [f64; N], d: &Drivers, v: &Values, p: &Potency, s: &Setup, t: f64, e: &mut Decay) {
    let h = e.h;
    let k = sinks(d, v, p, s, (t + 0.5 * h) * 24.0);
    // Exact decays of the first-order sinks.
    x[D] *= e.resolution.exp(-k.k_res * h);
    x[V] *= e.vascular;
    x[B] *= e.barrier.exp(-k.k_bar * h);
    let target = targets(x, v, p, s, &k);
    for (&i, &f) in RELAXING.iter().zip(&e.relaxing) {
        x[i] = target[i] + (x[i] - target[i]) * f;
    }
}

/// A trajectory of the continuous model solved to a tolerance: the outcomes and the states
/// at the output times.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub series: Series,
    /// `states[k]`: the state at output time k.
    pub states: Vec<[f64; N]>,
    /// Accepted steps.
    pub steps: usize,
}

/// Solve the continuous model ([`derivative`], with the session jumps) to the relative and
/// absolute tolerances `rtol`, `atol` by the Dormand-Prince 5(4) pair with error control,
/// at the output times of [`integrate`]. [`integrate`]'s exact-decay steps converge to this
/// solution as their size goes to zero (first order in the step); this is the accurate
/// solution an export to another solver is compared with. Owned here (rather than taken from
/// an ODE crate) because it must step on exactly the model's own session and output times
/// with the same jumps; it is a textbook method of some 60 lines.
pub fn integrate_reference(
    d: &Drivers,
    v: &Values,
    duration_d: f64,
    every_d: f64,
    rtol: f64,
    atol: f64,
) -> Result<Reference, ResponseError> {
    if !(rtol > 0.0 && atol > 0.0 && rtol.is_finite() && atol.is_finite()) {
        return Err(ResponseError::BadTolerance { rtol, atol });
    }
    let s = Setup::new(d, v);
    let sessions = sorted_sessions_d(d);
    let mut next_session = 0usize;
    let mut x = rest();
    let mut series = Series::default();
    let mut states = Vec::new();
    let mut t = 0.0;
    let mut h = 1e-4;
    let mut steps = 0usize;
    for t_end in output_times(duration_d, every_d) {
        while t < t_end - 1e-12 {
            while next_session < sessions.len() && sessions[next_session] <= t + 1e-12 {
                s.apply_session(&mut x, v);
                next_session += 1;
            }
            let mut stop = t_end;
            if next_session < sessions.len() {
                stop = stop.min(sessions[next_session].max(t + 1e-9));
            }
            let f = |t: f64, x: &[f64; N]| derivative(x, d, v, &s, t);
            steps += dopri_to(&f, &mut x, t, stop, &mut h, rtol, atol)?;
            t = stop;
        }
        t = t_end;
        series.push(t_end, &outputs_at(&x, d, v, &s, t_end, next_session));
        states.push(x);
    }
    Ok(Reference {
        series,
        states,
        steps,
    })
}

/// Dormand-Prince 5(4) from `t0` to `t1` with step-size control; returns accepted steps.
fn dopri_to(
    f: &dyn Fn(f64, &[f64; N]) -> [f64; N],
    x: &mut [f64; N],
    t0: f64,
    t1: f64,
    h: &mut f64,
    rtol: f64,
    atol: f64,
) -> Result<usize, ResponseError> {
    const A: [[f64; 6]; 6] = [
        [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
        [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
        [
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
            0.0,
            0.0,
        ],
        [
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
            0.0,
        ],
        [
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ];
    const CT: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
    // Fifth-order weights are A[5] (with 0 for the last stage); error weights b5 - b4.
    const E: [f64; 7] = [
        71.0 / 57600.0,
        0.0,
        -71.0 / 16695.0,
        71.0 / 1920.0,
        -17253.0 / 339200.0,
        22.0 / 525.0,
        -1.0 / 40.0,
    ];
    let mut t = t0;
    let mut accepted = 0usize;
    while t < t1 {
        let last = *h >= t1 - t;
        let hs = if last { t1 - t } else { *h };
        if hs < 1e-14 * t1.abs().max(1.0) {
            return Err(ResponseError::StepSizeTooSmall { time: t });
        }
        let mut k = [[0.0; N]; 7];
        k[0] = f(t, x);
        for st in 1..7 {
            let mut y = *x;
            for (i, yi) in y.iter_mut().enumerate() {
                for (j, kj) in k.iter().enumerate().take(st) {
                    *yi += hs * A[st - 1][j] * kj[i];
                }
            }
            k[st] = f(t + CT[st] * hs, &y);
        }
        let mut y5 = *x;
        let mut err = 0.0f64;
        for i in 0..N {
            for (j, kj) in k.iter().enumerate().take(6) {
                y5[i] += hs * A[5][j] * kj[i];
            }
            let e: f64 = (0..7).map(|j| E[j] * k[j][i]).sum::<f64>() * hs;
            let sc = atol + rtol * x[i].abs().max(y5[i].abs());
            err = err.max((e / sc).abs());
        }
        if !err.is_finite() {
            *h = 0.25 * hs;
            continue;
        }
        if err <= 1.0 {
            *x = y5;
            t = if last { t1 } else { t + hs };
            accepted += 1;
        }
        let fac = if err == 0.0 {
            5.0
        } else {
            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
        };
        let next = hs * fac;
        if !(last && err <= 1.0) {
            *h = next;
        }
    }
    Ok(accepted)
}

/// Value of a series at a day (linear between outputs).
pub fn at_day(times: &[f64], s: &[f64], day: f64) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    let j = times
        .partition_point(|&x| x <= day)
        .clamp(1, times.len().max(2) - 1);
    if times.len() < 2 {
        return s[0];
    }
    let (t0, t1) = (times[j - 1], times[j]);
    let w = if t1 > t0 {
        ((day - t0) / (t1 - t0)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    s[j - 1] + w * (s[j] - s[j - 1])
}
