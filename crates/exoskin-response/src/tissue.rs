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
//! Vesicles act through the per-cell effects `E` (one dose-response, [`crate::signal`]):
//! they remove part of the inflammatory *excess* and speed its resolution, speed barrier
//! repair, raise hyaluronan and fibroblast activation and lower melanogenesis. On resting
//! skin they can lower cytokines, and through them erythema, by at most `ev_resting_bound`.
//!
//! Each state relaxes to its target, first order, integrated exactly over steps of at most
//! 0.02 d with the targets held at their mid-step values; steps end on every session time,
//! where the injury is applied as a jump.

use crate::injury::{age_slowing, Injury};
use crate::params::{Potency, Values};

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

/// How strongly an older person's fibroblasts respond, and their baseline matrix, relative
/// to age 30 (`matrix_decline_per_year` from 30; floor 0.3).
pub fn age_factor(age_years: f64, v: &Values) -> f64 {
    (1.0 - v.matrix_decline_per_year * (age_years - 30.0).max(0.0)).max(0.3)
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

/// Integrate the outcomes from 0 to `duration_d`, reporting every `every_d` days. The value
/// reported at a session time is the one just before the session (the visit is read first).
pub fn integrate(d: &Drivers, v: &Values, duration_d: f64, every_d: f64) -> Series {
    let age = age_factor(d.age_years, v);
    let barrier_age = age_slowing(d.age_years, v.barrier_age_slowing_per_year);
    // Microneedle pores leak water while they are open (TEWL through the holes, on the
    // channel clock); ablation and peels deplete the barrier, which then recovers at the
    // measured barrier-repair rate once the surface is covered.
    let (load, deficit, holes) = match &d.injury {
        Some(inj) if inj.microneedle => (inj.load(v), 0.0, inj.barrier_deficit(v)),
        Some(inj) => (inj.load(v), inj.barrier_deficit(v), 0.0),
        None => (0.0, 0.0, 0.0),
    };
    let p = &d.potency;
    let taus = {
        let mut t = [1.0; N];
        t[C] = v.cytokine_time_constant_d;
        t[R] = v.erythema_time_constant_d;
        t[H] = v.hydration_time_constant_d;
        t[F] = v.activation_time_constant_d;
        t[COL] = v.collagen_time_constant_d;
        t[EE] = v.elastin_time_constant_d;
        t[EF] = v.elastic_fibre_time_constant_d;
        t[M] = v.melanin_time_constant_d;
        t[P] = v.pore_time_constant_d;
        t
    };
    let mut sessions: Vec<f64> = d.sessions_h.iter().map(|s| s / 24.0).collect();
    sessions.sort_by(f64::total_cmp);
    let mut next_session = 0usize;
    let mut x = rest();
    let mut out = Series::default();
    let dt_max = (every_d / 4.0).clamp(1e-4, 0.02);
    let nout = (duration_d / every_d).round().max(1.0) as usize;
    let mut t = 0.0;
    for k in 0..=nout {
        let t_end = if k == nout {
            duration_d
        } else {
            every_d * k as f64
        };
        while t < t_end - 1e-12 {
            // Apply a session due now.
            while next_session < sessions.len() && sessions[next_session] <= t + 1e-12 {
                x[D] += load;
                x[V] += v.vascular_erythema_max * load;
                x[B] = 1.0 - (1.0 - x[B]) * (1.0 - deficit);
                next_session += 1;
            }
            let mut h = dt_max.min(t_end - t);
            if next_session < sessions.len() {
                h = h.min((sessions[next_session] - t).max(1e-9));
            }
            step(&mut x, d, v, p, &taus, age, barrier_age, t, h);
            t += h;
        }
        t = t_end;
        let leak = if next_session > 0 {
            holes * (d.channel)(t_end * 24.0)
        } else {
            0.0
        };
        out.push(t_end, &outputs(&x, leak, v));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn step(
    x: &mut [f64; N],
    d: &Drivers,
    v: &Values,
    p: &Potency,
    taus: &[f64; N],
    age: f64,
    barrier_age: f64,
    t: f64,
    h: f64,
) {
    let tm = (t + 0.5 * h) * 24.0;
    let ek = (d.keratinocyte)(tm);
    let ef = (d.fibroblast)(tm);
    let e_inf = p.anti_inflammatory * ek.max(ef);
    let covered = 1.0 - (d.open)(tm).clamp(0.0, 1.0);
    // Exact decays of the first-order sinks.
    let k_res = covered * (1.0 + v.ev_resolution_speedup * e_inf) / v.damage_resolution_d;
    x[D] *= (-k_res * h).exp();
    x[V] *= (-h * 24.0 / v.vascular_time_constant_h).exp();
    let k_bar = covered * v.barrier_recovery_per_d * (1.0 + v.ceramide_gain * p.hydration * ek)
        / barrier_age;
    x[B] *= (-k_bar * h).exp();
    let excess = x[C] - 1.0;
    let mut target = [0.0; N];
    target[C] = 1.0
        + v.inflammation_max_excess * x[D] * (1.0 - v.ev_inflammation_reduction * e_inf)
        - v.ev_resting_bound * e_inf;
    target[R] = v.erythema_per_inflammation * excess;
    target[H] = 1.0 + v.hyaluronan_gain * p.hydration * ek;
    target[F] = v.fibroblast_activation_per_inflammation * excess.max(0.0)
        + v.ev_matrix_gain * p.matrix * ef;
    target[COL] = 1.0 + age * x[F];
    target[EE] = 1.0 + age * v.elastin_expression_per_activation * x[F];
    target[EF] = 1.0 + v.elastic_fibre_synthesis * (x[EE] - 1.0)
        - v.elastic_fibre_loss_per_inflammation * excess.max(0.0);
    target[M] =
        1.0 + v.pih_per_inflammation * excess.max(0.0) - v.ev_melanin_reduction * p.pigment * ek;
    target[P] =
        (-v.pore_matrix_coupling * (x[COL] - 1.0) - v.pore_hydration_coupling * (x[H] - 1.0)).exp();
    for i in [C, R, H, F, COL, EE, EF, M, P] {
        let e = (-h / taus[i]).exp();
        x[i] = target[i] + (x[i] - target[i]) * e;
    }
}
