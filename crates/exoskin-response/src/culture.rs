//! In-vitro experiments: vesicles dosed onto cultured cells under an inflammatory stimulus,
//! on the same per-cell dose-response as tissue ([`crate::signal::effect`]).
//!
//! Cells internalize a fraction of the dose within hours (Heusermann et al. 2016): the
//! internalized vesicles per cell rise as `n(t) = f_up dose (1 - exp(-t / t_up))`
//! (`culture_uptake_fraction`, `culture_uptake_time_h`), and the effect is
//! `E = n / (n + half_effect_vesicles_per_cell)`, the same half-effect as in skin. The
//! stimulus raises cytokines to `1 + S` (S = stimulus_lps or stimulus_tnf_alpha, 0 without);
//! as in tissue, vesicles remove (or, with a negative sign, add) a share of the excess
//! (`ev_inflammation_effect`, signed, its prior centred on zero); an unstimulated culture
//! has no excess and stays at rest. `cytokines_pct` is reported against
//! the stimulated control without vesicles, as in-vitro papers report it.

use crate::params::ResponseParams;
use crate::signal::effect;
use crate::{Baseline, Outcomes, Series};
use exoskin_model::scenario::CellCulture;

fn stimulus_strength(s: &str, rp: &ResponseParams) -> f64 {
    match s {
        "lps" => rp.v.stimulus_lps,
        "tnf_alpha" => rp.v.stimulus_tnf_alpha,
        _ => 0.0,
    }
}

/// Outcomes of a cell-culture scenario: only `cytokines_pct` applies (other series empty).
pub fn simulate_culture(c: &CellCulture, rp: &ResponseParams) -> Outcomes {
    let v = &rp.v;
    let p = rp.potency(&c.source).anti_inflammatory;
    let s = stimulus_strength(&c.stimulus, rp);
    let taken = v.culture_uptake_fraction * c.vesicles_per_cell;
    let tau = v.cytokine_time_constant_d * 24.0;
    let duration = c.experiment.duration_h;
    let n = 96;
    let mut series = Series::default();
    // Treated and control both start at rest when the stimulus is added with the dose.
    let (mut x, mut ctl) = (1.0f64, 1.0f64);
    let dt = duration / (n as f64 * 20.0);
    series.times_d.push(0.0);
    series.cytokines_pct.push(0.0);
    let mut t = 0.0;
    for k in 1..=n {
        let t_end = duration * k as f64 / n as f64;
        while t < t_end - 1e-12 {
            let h = dt.min(t_end - t);
            let per_cell = taken * (1.0 - (-(t + 0.5 * h) / v.culture_uptake_time_h).exp());
            let e = p * effect(per_cell, v.half_effect_vesicles_per_cell);
            let target = 1.0 + s * (1.0 - v.ev_inflammation_effect * e).max(0.0);
            let decay = (-h / tau).exp();
            x = target + (x - target) * decay;
            ctl = (1.0 + s) + (ctl - (1.0 + s)) * decay;
            t += h;
        }
        series.times_d.push(t_end / 24.0);
        series.cytokines_pct.push(100.0 * (x / ctl - 1.0));
    }
    Outcomes {
        series,
        wound_closure_h: None,
        channel_closure_h: None,
        baseline: Baseline {
            collagen_index: 1.0,
            elastin_index: 1.0,
        },
    }
}
