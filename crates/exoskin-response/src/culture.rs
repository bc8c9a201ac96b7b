//! In-vitro experiments: vesicles dosed onto cultured cells under an inflammatory stimulus.
//!
//! Cells take up the vesicles within hours (Heusermann 2016): the signal rises as
//! `E(t) = E_dose (1 - exp(-t / t_up))` (t_up = culture_uptake_time_h, 2 h) with `E_dose = dose / (dose + half-effect dose)`.
//! The stimulus raises cytokines to `1 + S` (S = stimulus_lps or stimulus_tnf_alpha of
//! data/response.toml, 0 without);
//! vesicles lower them by `cytokine_max_reduction * potency * E`. `cytokines_pct` is reported
//! against the stimulated control without vesicles, as in-vitro papers report it.

use crate::params::ResponseParams;
use crate::{Baseline, Outcomes, Series};
use exoskin_model::scenario::CellCulture;

fn stimulus_strength(s: &str, rp: &ResponseParams) -> f64 {
    match s {
        "lps" => rp.get("stimulus_lps"),
        "tnf_alpha" => rp.get("stimulus_tnf_alpha"),
        _ => 0.0,
    }
}

/// Outcomes of a cell-culture scenario: only `cytokines_pct` applies (other series empty).
pub fn simulate_culture(c: &CellCulture, rp: &ResponseParams) -> Outcomes {
    let half = rp.get("half_effect_vesicles_per_cell");
    let e_dose = c.vesicles_per_cell / (c.vesicles_per_cell + half);
    let p = rp.potency(&c.source).anti_inflammatory;
    let s = stimulus_strength(&c.stimulus, rp);
    let rise_h = rp.get("culture_uptake_time_h");
    let tau = rp.get("cytokine_time_constant_d") * 24.0;
    let duration = c.experiment.duration_h;
    let n = 96;
    let mut series = Series::default();
    // Treated and control both start at baseline when the stimulus is added with the dose.
    let (mut x, mut ctl) = (1.0f64, 1.0f64);
    let dt = duration / (n as f64 * 20.0);
    series.times_d.push(0.0);
    series.cytokines_pct.push(0.0);
    let mut t = 0.0;
    for k in 1..=n {
        let t_end = duration * k as f64 / n as f64;
        while t < t_end - 1e-12 {
            let h = dt.min(t_end - t);
            let e = e_dose * (1.0 - (-(t + 0.5 * h) / rise_h).exp());
            let target = (1.0 + s) * (1.0 - rp.get("cytokine_max_reduction") * p * e);
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
        baseline: Baseline {
            collagen_index: 1.0,
            elastin_index: 1.0,
        },
    }
}
