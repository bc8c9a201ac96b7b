//! The skin's response to a procedure and to delivered vesicles, and the outcomes a person
//! sees.
//!
//! Layout: [`params`] (typed parameters from the data files and the calibration fit),
//! [`injury`] (a procedure as an injury of a size, and its clocks), [`signal`] (active
//! vesicles in keratinocytes and fibroblasts from the transport run, and the one
//! dose-response per cell), [`wound`] (the re-epithelialization front), [`tissue`] (the
//! outcome equations) and [`culture`] (in-vitro experiments). What is inferred from data
//! (the evidence, the fit, the posterior, the seed articles' claims and what the vesicles
//! add over the vehicle) lives in `exoskin-inference`, which uses this model as its forward
//! problem.
//!
//! Coupling: microneedle channels close on their own physical clock (measured, longer under
//! occlusion), which transport uses; laser zones stay open to vesicles until the epidermis
//! covers them, so transport uses the re-epithelialization curve. Neither clock depends on
//! the vesicles (no controlled human measurement of closure with and without them exists),
//! so [`try_simulate_in_vivo`] runs the wound, then one transport pass, then the response.

pub mod culture;
pub mod injury;
pub mod params;
pub mod signal;
pub mod tissue;
pub mod wound;

pub use injury::Injury;
pub use params::{ParamId, ResponseError, ResponseParams};
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
    /// (calibration, claims, effects): the wound is reused while the parameters it depends
    /// on are unchanged, and recomputed otherwise; microneedle channels keep their physical
    /// clock, laser channels follow the wound.
    pub fn respond_with(&self, v: &InVivo, rp: &ResponseParams) -> Outcomes {
        self.respond_with_delivery(v, rp, 1.0)
    }

    /// [`Simulation::respond_with`] with the vesicle uptake multiplied by `delivery_scale`
    /// (a study's or a product's own potency and dose around its class's).
    pub fn respond_with_delivery(
        &self,
        v: &InVivo,
        rp: &ResponseParams,
        delivery_scale: f64,
    ) -> Outcomes {
        let fresh;
        let wound = if self.wound_is_current(v, rp) {
            self.wound.as_ref()
        } else {
            fresh = wound_for(v, rp);
            fresh.as_ref()
        };
        let physical = Injury::of(&v.procedure).is_some_and(|i| i.microneedle);
        let channel = if physical {
            self.channel.as_ref()
        } else {
            wound
        };
        respond(v, &self.transport, wound, channel, delivery_scale, rp)
    }

    /// Whether the stored wound curve is the one `rp` gives for `v` (its half-life).
    fn wound_is_current(&self, v: &InVivo, rp: &ResponseParams) -> bool {
        self.wound.as_ref().map(|w| w.half_life_h)
            == Injury::of(&v.procedure)
                .filter(Injury::is_wound)
                .map(|i| injury::reepithelialization_half_life_h(&i, v.skin.age_years, &rp.v))
    }

    /// The wound's and the channels' closure times under `rp` without the tissue
    /// response: what [`Simulation::respond_with`] books in `wound_closure_h` and
    /// `channel_closure_h`, for readings that need nothing else.
    pub fn closures_with(&self, v: &InVivo, rp: &ResponseParams) -> (Option<f64>, Option<f64>) {
        let wound = if self.wound_is_current(v, rp) {
            self.wound.clone()
        } else {
            wound_for(v, rp)
        };
        let physical = Injury::of(&v.procedure).is_some_and(|i| i.microneedle);
        let channel = if physical {
            self.channel.as_ref().and_then(|c| c.closure_h)
        } else {
            wound.as_ref().and_then(|w| w.closure_h)
        };
        (wound.and_then(|w| w.closure_h), channel)
    }
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
    /// [`CellEffects::keratinocyte`] for forward-moving times ([`Signal::at_from`]).
    pub fn keratinocyte_from(&self, t: f64, hint: &std::cell::Cell<usize>) -> f64 {
        effect(
            self.keratinocyte.at_from(t, hint) * self.per_keratinocyte,
            self.half,
        )
    }
    /// [`CellEffects::fibroblast`] for forward-moving times ([`Signal::at_from`]).
    pub fn fibroblast_from(&self, t: f64, hint: &std::cell::Cell<usize>) -> f64 {
        effect(
            self.fibroblast.at_from(t, hint) * self.per_fibroblast,
            self.half,
        )
    }
    /// Active vesicles per keratinocyte at time t (h).
    pub fn per_keratinocyte(&self, t: f64) -> f64 {
        self.keratinocyte.at(t) * self.per_keratinocyte
    }
}

/// The open fraction at `t` (h) of the most open wound of the sessions so far; `places`
/// holds each session's place in the curve ([`WoundCurve::open_at_from`]).
fn open_from(
    curve: Option<&WoundCurve>,
    sessions_h: &[f64],
    t: f64,
    places: &[std::cell::Cell<usize>],
) -> f64 {
    match curve {
        Some(w) => sessions_h
            .iter()
            .zip(places)
            .filter(|(&s, _)| s <= t)
            .map(|(&s, p)| w.open_at_from(t - s, p))
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
    let potency = rp.potency(&v.product.source);
    // A product without vesicles has nothing taken up: every uptake term of the tissue model
    // is multiplied by a zero potency, so its response does not read the transport run at
    // all (which lets a trial's vehicle arm skip its own; see [`Simulation::without_vesicles`]).
    let cells =
        (potency != params::Potency::NONE).then(|| CellEffects::new(tr, rp, delivery_scale));
    let sessions = v.sessions_h.clone();
    // One place per session in each curve: the integrators ask for forward-moving times.
    let places = || -> Vec<std::cell::Cell<usize>> {
        sessions.iter().map(|_| std::cell::Cell::new(0)).collect()
    };
    let (wound_places, channel_places) = (places(), places());
    let open = |t: f64| open_from(wound, &sessions, t, &wound_places);
    let channel_open = |t: f64| open_from(channel, &sessions, t, &channel_places);
    // The integrators ask for forward-moving times: each signal keeps its place.
    let (hk, hf) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let ek = |t: f64| cells.as_ref().map_or(0.0, |c| c.keratinocyte_from(t, &hk));
    let ef = |t: f64| cells.as_ref().map_or(0.0, |c| c.fibroblast_from(t, &hf));
    let drivers = tissue::Drivers {
        keratinocyte: &ek,
        fibroblast: &ef,
        open: &open,
        channel: &channel_open,
        sessions_h: &v.sessions_h,
        injury: Injury::of(&v.procedure),
        potency,
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

/// Re-epithelialization of the procedure's wounds. None without an open wound.
pub fn wound_for(v: &InVivo, rp: &ResponseParams) -> Option<WoundCurve> {
    let inj = Injury::of(&v.procedure).filter(Injury::is_wound)?;
    let half = injury::reepithelialization_half_life_h(&inj, v.skin.age_years, &rp.v);
    Some(wound::front_curve(half))
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

/// Transport, wound healing and outcomes of an in-vivo scenario, coupled; the transport
/// solver's error when it cannot finish.
pub fn try_simulate_in_vivo(
    v: &InVivo,
    tp: &TransportParams,
    rp: &ResponseParams,
) -> Result<Simulation, exoskin_transport::TransportError> {
    try_simulate_in_vivo_until(v, tp, rp, &Stop::never())
}

/// The cost of [`try_simulate_in_vivo`]: one transport pass.
pub fn cost(v: &InVivo, tp: &TransportParams) -> exoskin_transport::Cost {
    exoskin_transport::cost::in_vivo(v, tp)
}

impl Simulation {
    /// The simulation of `v`, whose product carries no vesicles under `rp`, without a
    /// transport run of its own: its response does not read one (every uptake term has a
    /// zero potency), so `donor`'s run stands in for it, and the wound, the channels and the
    /// outcomes are `v`'s own. `None` when `v`'s product carries vesicles. The outcomes are
    /// those of [`try_simulate_in_vivo`] bit for bit (tested); `transport` is the donor's and
    /// says nothing of `v`.
    pub fn without_vesicles(
        v: &InVivo,
        tp: &TransportParams,
        rp: &ResponseParams,
        donor: &InVivoResult,
    ) -> Option<Simulation> {
        if carries_vesicles(v, rp) {
            return None;
        }
        let wound = wound_for(v, rp);
        let channel = microneedle_channel(v, tp).or_else(|| wound.clone());
        let outcomes = respond(v, donor, wound.as_ref(), channel.as_ref(), 1.0, rp);
        Some(Simulation {
            transport: donor.clone(),
            wound,
            channel,
            outcomes,
        })
    }
}

/// [`try_simulate_in_vivo`], stopping with `TransportError::Stopped` once `stop` says so.
pub fn try_simulate_in_vivo_until(
    v: &InVivo,
    tp: &TransportParams,
    rp: &ResponseParams,
    stop: &Stop,
) -> Result<Simulation, exoskin_transport::TransportError> {
    let wound = wound_for(v, rp);
    let channel = microneedle_channel(v, tp).or_else(|| wound.clone());
    let transport = invivo::simulate_until(v, tp, channel.as_ref().map(closure_of).as_ref(), stop)?;
    let outcomes = respond(v, &transport, wound.as_ref(), channel.as_ref(), 1.0, rp);
    Ok(Simulation {
        transport,
        wound,
        channel,
        outcomes,
    })
}

/// Whether `v`'s product carries vesicles under `rp` (a product without has no effect).
pub fn carries_vesicles(v: &InVivo, rp: &ResponseParams) -> bool {
    rp.potency(&v.product.source) != params::Potency::NONE
}
