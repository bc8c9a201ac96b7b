//! The skin's response to delivered vesicles, and the outcomes a person sees.
//!
//! Layout: [`params`] (data files and the calibration fit), [`signal`] (active vesicles in
//! keratinocytes and fibroblasts from the transport run), [`wound`] (re-epithelialization of
//! procedure wounds, which also sets the channel closure of the transport engine),
//! [`tissue`] (the outcome equations), [`culture`] (in-vitro experiments) and
//! [`calibrate`] (the fit to the published figures).
//!
//! Coupling: without vesicles the wound closes on the procedure's measured time scale; the
//! vesicle signal in the epidermis speeds it; the closure curve sets the openness of the
//! channels in transport, which sets how many vesicles get in. [`simulate_in_vivo`] runs the
//! two in turn until the closure time changes by less than 1 % (at most 4 passes).

pub mod calibrate;
pub mod culture;
pub mod params;
pub mod signal;
pub mod tissue;
pub mod wound;

pub use params::ResponseParams;
pub use tissue::Series;
pub use wound::WoundCurve;

use exoskin_model::scenario::{InVivo, Procedure};
use exoskin_model::TransportParams;
use exoskin_transport::invivo::{self, Closure, InVivoResult};
use serde::Serialize;
use signal::{effect, Signal};

/// What a person sees: percent changes from their own baseline over time, and the wound.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcomes {
    #[serde(flatten)]
    pub series: Series,
    /// Time to 95 % re-epithelialization of the procedure wounds, h (None without a wound).
    pub wound_closure_h: Option<f64>,
    /// The person's absolute baseline relative to healthy skin at 30 (age lowers it).
    pub baseline: Baseline,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Baseline {
    pub collagen_index: f64,
    pub elastin_index: f64,
}

/// A full in-vivo simulation: transport, wound and outcomes.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub transport: InVivoResult,
    pub wound: Option<WoundCurve>,
    pub outcomes: Outcomes,
}

/// Injury severity of a procedure, normalized to one pass of ablative fractional CO2 at 10 %
/// coverage and 300 um depth (= 1): `sqrt(opened area fraction / 0.1) * depth / 300 um`.
/// The square root (an assumption) keeps dense shallow needling from counting as little as
/// its opened area alone would say; a superficial peel counts 0.2 per unit of SC removed.
pub fn severity(p: &Procedure) -> f64 {
    match *p {
        Procedure::None => 0.0,
        Procedure::Microneedling {
            depth_um,
            channel_width_um,
            channels_per_cm2,
            ..
        } => {
            let area =
                std::f64::consts::PI * (0.5 * channel_width_um * 1e-4).powi(2) * channels_per_cm2;
            (area / 0.1).sqrt() * depth_um / 300.0
        }
        Procedure::FractionalCo2 {
            depth_um,
            coverage_pct,
            ..
        } => (coverage_pct / 100.0 / 0.1).sqrt() * depth_um / 300.0,
        Procedure::ChemicalPeel {
            sc_removed_fraction,
        } => 0.2 * sc_removed_fraction,
    }
}

/// The closure half-life of a procedure's wounds without vesicles (data/transport.toml).
pub fn closure_half_life_h(p: &Procedure, tp: &TransportParams) -> Option<f64> {
    match *p {
        Procedure::Microneedling { occluded, .. } => Some(if occluded {
            tp.microneedle_closure_half_life_occluded_h.v()
        } else {
            tp.microneedle_closure_half_life_h.v()
        }),
        Procedure::FractionalCo2 { .. } => Some(tp.co2_closure_half_life_h.v()),
        _ => None,
    }
}

/// The signals of a transport run; `delivery_scale` multiplies the uptake (virtual
/// participants whose skin lets more or fewer vesicles through).
pub fn signals(tr: &InVivoResult, rp: &ResponseParams, delivery_scale: f64) -> (Signal, Signal) {
    let r = &tr.run;
    let hl = rp.get("signal_half_life_h");
    (
        Signal::new(&r.times_h, &r.sinks_per_cm2[0], hl, delivery_scale),
        Signal::new(&r.times_h, &r.sinks_per_cm2[1], hl, delivery_scale),
    )
}

/// Outcomes of an in-vivo scenario given its transport run (and wound, if any).
pub fn respond(
    v: &InVivo,
    tr: &InVivoResult,
    wound: Option<&WoundCurve>,
    delivery_scale: f64,
    rp: &ResponseParams,
) -> Outcomes {
    let (sk, sf) = signals(tr, rp, delivery_scale);
    let sessions = v.sessions_h.clone();
    let open = |t: f64| -> f64 {
        match wound {
            Some(w) => sessions
                .iter()
                .filter(|&&s| s <= t)
                .map(|&s| w.open_at(t - s))
                .fold(0.0, f64::max),
            None => 0.0,
        }
    };
    let drivers = tissue::Drivers {
        keratinocyte: &sk,
        fibroblast: &sf,
        open: &open,
        sessions_h: &v.sessions_h,
        severity: severity(&v.procedure),
        potency: rp.potency(&v.product.source),
        age_years: v.skin.age_years,
    };
    let duration_d = v.experiment.duration_h / 24.0;
    let every = if duration_d <= 7.0 {
        (duration_d / 96.0).max(1.0 / 96.0)
    } else {
        1.0
    };
    let series = tissue::integrate(&drivers, rp, duration_d, every);
    let idx = tissue::age_factor(v.skin.age_years, rp);
    Outcomes {
        series,
        wound_closure_h: wound.and_then(|w| w.closure_h),
        baseline: Baseline {
            collagen_index: idx,
            elastin_index: idx,
        },
    }
}

/// Wound closure given the epidermal signal of a transport run.
pub fn wound_for(
    v: &InVivo,
    tr: Option<&InVivoResult>,
    tp: &TransportParams,
    rp: &ResponseParams,
) -> Option<WoundCurve> {
    let half = closure_half_life_h(&v.procedure, tp)?;
    let speed = rp.get("closure_speedup") * rp.potency(&v.product.source).migration;
    let sk = tr.map(|t| signals(t, rp, 1.0).0);
    let kk = rp.get("half_effect_keratinocyte_per_cm2");
    let boost = |t: f64| 1.0 + speed * sk.as_ref().map(|s| effect(s.at(t), kk)).unwrap_or(0.0);
    Some(wound::wound_curve(
        half,
        rp.get("wound_chemical_diffusivity"),
        rp.get("wound_chemical_gain"),
        &boost,
    ))
}

fn closure_of(w: &WoundCurve) -> Closure {
    Closure {
        times_h: w.times_h.clone(),
        openness: w.open.clone(),
    }
}

/// Transport, wound healing and outcomes of an in-vivo scenario, coupled. Panics when the
/// transport solver fails, which validated scenarios with finite parameters do not make it
/// do; [`try_simulate_in_vivo`] returns the error instead.
pub fn simulate_in_vivo(v: &InVivo, tp: &TransportParams, rp: &ResponseParams) -> Simulation {
    try_simulate_in_vivo(v, tp, rp).unwrap_or_else(|e| panic!("transport failed: {e}"))
}

/// [`simulate_in_vivo`], with the transport solver's error.
pub fn try_simulate_in_vivo(
    v: &InVivo,
    tp: &TransportParams,
    rp: &ResponseParams,
) -> Result<Simulation, exoskin_transport::TransportError> {
    let mut wound = wound_for(v, None, tp, rp);
    let mut transport = invivo::simulate(v, tp, wound.as_ref().map(closure_of).as_ref())?;
    if wound.is_some() {
        for _ in 0..3 {
            let next = wound_for(v, Some(&transport), tp, rp);
            let (a, b) = (
                wound.as_ref().and_then(|w| w.closure_h),
                next.as_ref().and_then(|w| w.closure_h),
            );
            let converged = match (a, b) {
                (Some(a), Some(b)) => ((a - b) / a).abs() < 0.01,
                _ => true,
            };
            wound = next;
            transport = invivo::simulate(v, tp, wound.as_ref().map(closure_of).as_ref())?;
            if converged {
                break;
            }
        }
    }
    let outcomes = respond(v, &transport, wound.as_ref(), 1.0, rp);
    Ok(Simulation {
        transport,
        wound,
        outcomes,
    })
}
