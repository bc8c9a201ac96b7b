//! The skin's response to a procedure and to delivered vesicles, and the outcomes a person
//! sees.
//!
//! Layout: [`params`] (typed parameters from the data files and the calibration fit),
//! [`injury`] (a procedure as an injury of a size, and its clocks), [`signal`] (active
//! vesicles in keratinocytes and fibroblasts from the transport run, and the one
//! dose-response per cell), [`wound`] (the re-epithelialization front), [`tissue`] (the
//! outcome equations), [`culture`] (in-vitro experiments), [`evidence`] (the peer-reviewed
//! calibration and validation data), [`calibrate`] (the fit) and [`claims`] (the seed
//! articles' claims, tested).
//!
//! Coupling: microneedle channels close on their own physical clock (measured, longer under
//! occlusion), which transport uses; laser zones stay open to vesicles until the epidermis
//! covers them, so transport uses the re-epithelialization curve, which the vesicle signal
//! in the epidermis speeds. [`simulate_in_vivo`] runs transport and wound in turn until the
//! closure time changes by less than 1 % (at most 4 passes); a procedure whose channel does
//! not depend on the wound needs one transport pass.

pub mod calibrate;
pub mod claims;
pub mod culture;
pub mod evidence;
pub mod injury;
pub mod params;
pub mod posterior;
pub mod signal;
pub mod tissue;
pub mod wound;

pub use injury::Injury;
pub use params::{ResponseError, ResponseParams};
pub use tissue::Series;
pub use wound::WoundCurve;

use exoskin_model::scenario::InVivo;
use exoskin_model::{Stop, TransportParams};
use exoskin_transport::invivo::{self, Closure, InVivoResult};
use serde::Serialize;
use signal::effect;
pub use signal::Signal;

/// What a person sees: percent changes from their own baseline over time, and the wound.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcomes {
    #[serde(flatten)]
    pub series: Series,
    /// Time to 95 % re-epithelialization of the procedure wounds, h (None without a wound).
    pub wound_closure_h: Option<f64>,
    /// Time to 95 % closure of the channels vesicles enter by, h (microneedle pores close on
    /// their own clock; laser zones with the epidermis; None without channels).
    pub channel_closure_h: Option<f64>,
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
    /// Re-epithelialization of the procedure wounds.
    pub wound: Option<WoundCurve>,
    /// The channel closure transport used.
    pub channel: Option<WoundCurve>,
    pub outcomes: Outcomes,
}

impl Simulation {
    /// Outcomes under other response parameters with this run's transport held fixed
    /// (calibration, claims): the wound is recomputed from the vesicle signal; microneedle
    /// channels keep their physical clock, laser channels follow the new wound.
    pub fn respond_with(&self, v: &InVivo, rp: &ResponseParams) -> Outcomes {
        self.respond_given_wound(v, rp, wound_for(v, Some(&self.transport), rp))
    }

    /// [`Simulation::respond_with`], reusing the wound curve of `memo` when the parameters
    /// it depends on are unchanged (repeated evaluations of one run: fits, MCMC).
    pub fn respond_with_memo(&self, v: &InVivo, rp: &ResponseParams, memo: &WoundMemo) -> Outcomes {
        let wound = match wound_key(v, rp) {
            None => None,
            Some(key) => {
                let hit = memo.0.lock().ok().and_then(|g| {
                    g.as_ref()
                        .filter(|(k, _)| *k == key)
                        .map(|(_, w)| w.clone())
                });
                match hit {
                    Some(w) => w,
                    None => {
                        let w = wound_for(v, Some(&self.transport), rp);
                        if let Ok(mut g) = memo.0.lock() {
                            *g = Some((key, w.clone()));
                        }
                        w
                    }
                }
            }
        };
        self.respond_given_wound(v, rp, wound)
    }

    fn respond_given_wound(
        &self,
        v: &InVivo,
        rp: &ResponseParams,
        wound: Option<WoundCurve>,
    ) -> Outcomes {
        let physical = Injury::of(&v.procedure).is_some_and(|i| i.microneedle);
        let channel = if physical {
            self.channel.as_ref()
        } else {
            wound.as_ref()
        };
        respond(v, &self.transport, wound.as_ref(), channel, 1.0, rp)
    }
}

/// The last wound curve of a run and the key of the parameters it was made with.
#[derive(Debug, Default)]
pub struct WoundMemo(std::sync::Mutex<Option<([u64; 6], Option<WoundCurve>)>>);

/// Everything [`wound_for`] reads from `rp` for a fixed transport run: equal keys give the
/// same curve. Where vesicles do not speed closure (`speed` 0, e.g. vehicle arms) the signal
/// does not enter, so its parameters are left out. None without an open wound.
fn wound_key(v: &InVivo, rp: &ResponseParams) -> Option<[u64; 6]> {
    let inj = Injury::of(&v.procedure).filter(Injury::is_wound)?;
    let half = injury::reepithelialization_half_life_h(&inj, v.skin.age_years, &rp.v);
    let speed = rp.v.closure_speedup * rp.potency(&v.product.source).migration;
    let p = &rp.v;
    let signal = if speed == 0.0 {
        [0.0; 4]
    } else {
        [
            p.tissue_delivery_factor,
            p.signal_half_life_h,
            p.keratinocytes_per_cm2,
            p.half_effect_vesicles_per_cell,
        ]
    };
    Some([half, speed, signal[0], signal[1], signal[2], signal[3]].map(f64::to_bits))
}

/// Per-cell vesicle effects in keratinocytes and fibroblasts of a transport run;
/// `delivery_scale` multiplies the uptake (virtual participants whose skin lets more or fewer
/// vesicles through).
pub struct CellEffects {
    keratinocyte: Signal,
    fibroblast: Signal,
    per_keratinocyte: f64,
    per_fibroblast: f64,
    half: f64,
}

impl CellEffects {
    pub fn new(tr: &InVivoResult, rp: &ResponseParams, delivery_scale: f64) -> CellEffects {
        let r = &tr.run;
        let v = &rp.v;
        let hl = v.signal_half_life_h;
        let scale = delivery_scale * v.tissue_delivery_factor;
        CellEffects {
            keratinocyte: Signal::new(&r.times_h, &r.sinks_per_cm2[0], hl, scale),
            fibroblast: Signal::new(&r.times_h, &r.sinks_per_cm2[1], hl, scale),
            per_keratinocyte: 1.0 / v.keratinocytes_per_cm2,
            per_fibroblast: 1.0 / v.fibroblasts_per_cm2,
            half: v.half_effect_vesicles_per_cell,
        }
    }
    /// Effect in keratinocytes at time t (h).
    pub fn keratinocyte(&self, t: f64) -> f64 {
        effect(self.keratinocyte.at(t) * self.per_keratinocyte, self.half)
    }
    /// Effect in fibroblasts at time t (h).
    pub fn fibroblast(&self, t: f64) -> f64 {
        effect(self.fibroblast.at(t) * self.per_fibroblast, self.half)
    }
    /// The signal in keratinocytes (per cm2 of skin) and vesicles-per-cell factor.
    pub fn keratinocyte_signal(&self) -> (&Signal, f64) {
        (&self.keratinocyte, self.per_keratinocyte)
    }
    /// The signal in fibroblasts (per cm2 of skin) and vesicles-per-cell factor.
    pub fn fibroblast_signal(&self) -> (&Signal, f64) {
        (&self.fibroblast, self.per_fibroblast)
    }
    /// Active vesicles per keratinocyte at time t (h).
    pub fn per_keratinocyte(&self, t: f64) -> f64 {
        self.keratinocyte.at(t) * self.per_keratinocyte
    }
}

fn open_of(curve: Option<&WoundCurve>, sessions_h: &[f64], t: f64) -> f64 {
    match curve {
        Some(w) => sessions_h
            .iter()
            .filter(|&&s| s <= t)
            .map(|&s| w.open_at(t - s))
            .fold(0.0, f64::max),
        None => 0.0,
    }
}

/// The output grid of an in-vivo run: (duration, reporting interval), d.
pub fn output_grid_d(v: &InVivo) -> (f64, f64) {
    let duration_d = v.experiment.duration_h / 24.0;
    let every = if duration_d <= 7.0 {
        (duration_d / 96.0).max(1.0 / 96.0)
    } else {
        0.25
    };
    (duration_d, every)
}

/// Build the tissue drivers of an in-vivo run and hand them to `f`.
fn with_drivers<R>(
    v: &InVivo,
    tr: &InVivoResult,
    wound: Option<&WoundCurve>,
    channel: Option<&WoundCurve>,
    delivery_scale: f64,
    rp: &ResponseParams,
    f: impl FnOnce(&tissue::Drivers) -> R,
) -> R {
    let cells = CellEffects::new(tr, rp, delivery_scale);
    let sessions = v.sessions_h.clone();
    let open = |t: f64| open_of(wound, &sessions, t);
    let channel_open = |t: f64| open_of(channel, &sessions, t);
    let ek = |t: f64| cells.keratinocyte(t);
    let ef = |t: f64| cells.fibroblast(t);
    let drivers = tissue::Drivers {
        keratinocyte: &ek,
        fibroblast: &ef,
        open: &open,
        channel: &channel_open,
        sessions_h: &v.sessions_h,
        injury: Injury::of(&v.procedure),
        potency: rp.potency(&v.product.source),
        age_years: v.skin.age_years,
    };
    f(&drivers)
}

/// Outcomes of an in-vivo scenario given its transport run and its wound (if any).
pub fn respond(
    v: &InVivo,
    tr: &InVivoResult,
    wound: Option<&WoundCurve>,
    channel: Option<&WoundCurve>,
    delivery_scale: f64,
    rp: &ResponseParams,
) -> Outcomes {
    let (duration_d, every) = output_grid_d(v);
    let series = with_drivers(v, tr, wound, channel, delivery_scale, rp, |d| {
        tissue::integrate(d, &rp.v, duration_d, every)
    });
    let idx = tissue::age_factor(v.skin.age_years, &rp.v);
    Outcomes {
        series,
        wound_closure_h: wound.and_then(|w| w.closure_h),
        channel_closure_h: channel.and_then(|w| w.closure_h),
        baseline: Baseline {
            collagen_index: idx,
            elastin_index: idx,
        },
    }
}

/// The response of a simulation solved to tolerances `rtol`, `atol` by
/// [`tissue::integrate_reference`] (same inputs, output times and jumps as [`respond`]): the
/// accurate trajectory of the continuous model, with its states, for comparison with other
/// solvers (the SBML export).
pub fn respond_reference(
    v: &InVivo,
    sim: &Simulation,
    rp: &ResponseParams,
    rtol: f64,
    atol: f64,
) -> Result<tissue::Reference, ResponseError> {
    let (duration_d, every) = output_grid_d(v);
    with_drivers(
        v,
        &sim.transport,
        sim.wound.as_ref(),
        sim.channel.as_ref(),
        1.0,
        rp,
        |d| tissue::integrate_reference(d, &rp.v, duration_d, every, rtol, atol),
    )
}

/// Re-epithelialization of the procedure's wounds, sped by the epidermal vesicle signal of a
/// transport run (None: no vesicles yet). None without an open wound.
pub fn wound_for(v: &InVivo, tr: Option<&InVivoResult>, rp: &ResponseParams) -> Option<WoundCurve> {
    let inj = Injury::of(&v.procedure).filter(Injury::is_wound)?;
    let half = injury::reepithelialization_half_life_h(&inj, v.skin.age_years, &rp.v);
    let speed = rp.v.closure_speedup * rp.potency(&v.product.source).migration;
    let cells = tr.map(|t| CellEffects::new(t, rp, 1.0));
    let boost = |t: f64| 1.0 + speed * cells.as_ref().map(|c| c.keratinocyte(t)).unwrap_or(0.0);
    Some(wound::wound_curve(
        half,
        injury::FRONT_CHEM_DIFFUSIVITY,
        injury::FRONT_CHEM_GAIN,
        &boost,
    ))
}

/// The physical closure of microneedle channels (their own clock, not sped by vesicles):
/// first order, the form in which the human half-lives were estimated (PMC8259462).
pub fn microneedle_channel(v: &InVivo, tp: &TransportParams) -> Option<WoundCurve> {
    let inj = Injury::of(&v.procedure)?;
    let half = injury::microneedle_channel_half_life_h(&inj, tp)?;
    Some(wound::first_order_curve(half))
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
    try_simulate_in_vivo_until(v, tp, rp, &Stop::never())
}

/// Most transport passes [`try_simulate_in_vivo`] makes: one, or four where the channel
/// closure comes from the wound model and is iterated to a fixed point (see there).
pub fn transport_passes(v: &InVivo, tp: &TransportParams, rp: &ResponseParams) -> u64 {
    if microneedle_channel(v, tp).is_none() && wound_for(v, None, rp).is_some() {
        1 + WOUND_ITERATIONS as u64
    } else {
        1
    }
}

/// The cost of [`try_simulate_in_vivo`]: the transport's, times its passes.
pub fn cost(v: &InVivo, tp: &TransportParams, rp: &ResponseParams) -> exoskin_transport::Cost {
    let mut c = exoskin_transport::cost::in_vivo(v, tp);
    c.scale_passes(transport_passes(v, tp, rp));
    c
}

/// Re-runs of the transport after the first, to bring the wound's closure time and the
/// transport it drives to agreement within [`WOUND_TOLERANCE`].
const WOUND_ITERATIONS: usize = 3;
/// Relative change of the closure time below which the fixed point has converged.
const WOUND_TOLERANCE: f64 = 0.01;

/// [`try_simulate_in_vivo`], stopping with `TransportError::Stopped` once `stop` says so.
pub fn try_simulate_in_vivo_until(
    v: &InVivo,
    tp: &TransportParams,
    rp: &ResponseParams,
    stop: &Stop,
) -> Result<Simulation, exoskin_transport::TransportError> {
    if let Some(ch) = microneedle_channel(v, tp) {
        // The channel clock is physical: one transport pass, then the wound from its signal.
        let transport = invivo::simulate_until(v, tp, Some(&closure_of(&ch)), stop)?;
        let wound = wound_for(v, Some(&transport), rp);
        let outcomes = respond(v, &transport, wound.as_ref(), Some(&ch), 1.0, rp);
        return Ok(Simulation {
            transport,
            wound,
            channel: Some(ch),
            outcomes,
        });
    }
    let mut wound = wound_for(v, None, rp);
    let mut transport =
        invivo::simulate_until(v, tp, wound.as_ref().map(closure_of).as_ref(), stop)?;
    if wound.is_some() {
        for _ in 0..WOUND_ITERATIONS {
            let next = wound_for(v, Some(&transport), rp);
            let changed = match (
                wound.as_ref().and_then(|w| w.closure_h),
                next.as_ref().and_then(|w| w.closure_h),
            ) {
                (Some(a), Some(b)) => ((a - b) / a).abs() >= WOUND_TOLERANCE,
                _ => false,
            };
            wound = next;
            if !changed {
                break;
            }
            transport =
                invivo::simulate_until(v, tp, wound.as_ref().map(closure_of).as_ref(), stop)?;
        }
    }
    let outcomes = respond(v, &transport, wound.as_ref(), wound.as_ref(), 1.0, rp);
    Ok(Simulation {
        transport,
        channel: wound.clone(),
        wound,
        outcomes,
    })
}
