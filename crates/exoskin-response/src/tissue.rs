//! Tissue outcomes over days: inflammation and erythema, barrier (TEWL) and hydration,
//! collagen and elastin, pore area. Each state relaxes to a target set by the vesicle
//! signals, the procedure's wound and remodeling, and age (first-order, integrated exactly
//! over each step with the targets held at their mid-step values).
//!
//! States are relative to the person's own baseline (1 = homeostasis); untreated skin has
//! every target at 1 and so does not drift. Collagen synthesis after micro-injury follows the
//! inflammation-driven structure of Segal, Diegelmann, Ward & Reynolds (2012, Bull Math
//! Biol 74:2165), here as a remodeling drive that peaks weeks after the procedure.

use crate::params::{Potency, ResponseParams};
use crate::signal::{effect, Signal};

/// Everything that drives the tissue, as functions of time in hours.
pub struct Drivers<'a> {
    pub keratinocyte: &'a Signal,
    pub fibroblast: &'a Signal,
    /// Open fraction of the procedure wounds at time t (h), all sessions combined.
    pub open: &'a dyn Fn(f64) -> f64,
    /// Session start times, h.
    pub sessions_h: &'a [f64],
    /// Injury severity (1 = one 10 % coverage, 300 um deep fractional CO2 pass).
    pub severity: f64,
    pub potency: Potency,
    pub age_years: f64,
}

/// Outcome time series (percent change from baseline).
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct Series {
    pub times_d: Vec<f64>,
    pub collagen_pct: Vec<f64>,
    pub elastin_pct: Vec<f64>,
    pub tewl_pct: Vec<f64>,
    pub hydration_pct: Vec<f64>,
    pub erythema_pct: Vec<f64>,
    pub cytokines_pct: Vec<f64>,
    pub pore_area_pct: Vec<f64>,
}

/// How strongly an older person's fibroblasts respond, and their baseline matrix, relative
/// to age 30 (about 1 % a year decline; floor 0.3).
pub fn age_factor(age_years: f64, rp: &ResponseParams) -> f64 {
    (1.0 - rp.get("matrix_decline_per_year") * (age_years - 30.0).max(0.0)).max(0.3)
}

/// Integrate the outcomes from 0 to `duration_d`, reporting every `every_d` days.
pub fn integrate(d: &Drivers, rp: &ResponseParams, duration_d: f64, every_d: f64) -> Series {
    let g = |n: &str| rp.get(n);
    let (kk, kf) = (
        g("half_effect_keratinocyte_per_cm2"),
        g("half_effect_fibroblast_per_cm2"),
    );
    let age = age_factor(d.age_years, rp);
    let tau_r = g("remodeling_time_constant_d");
    let remodel = |t_h: f64| -> f64 {
        d.sessions_h
            .iter()
            .filter(|&&s| s <= t_h)
            .map(|&s| {
                let x = (t_h - s) / 24.0 / tau_r;
                d.severity * x * (1.0 - x).exp()
            })
            .sum()
    };
    let taus = [
        g("cytokine_time_constant_d"),
        g("erythema_time_constant_d"),
        g("barrier_time_constant_d"),
        g("hydration_time_constant_d"),
        g("collagen_time_constant_d"),
        g("elastin_time_constant_d"),
        g("pore_time_constant_d"),
    ];
    // State: cytokines, erythema, barrier, hyaluronan, collagen, elastin, pore area.
    let mut x = [1.0f64; 7];
    let mut out = Series::default();
    let dt = (every_d / 4.0).min(0.02).max(1e-4);
    let record = |out: &mut Series, t_d: f64, x: &[f64; 7]| {
        let injury = 1.0 + g("injury_tewl") * d.severity * (d.open)(t_d * 24.0);
        out.times_d.push(t_d);
        out.cytokines_pct.push(100.0 * (x[0] - 1.0));
        out.erythema_pct.push(100.0 * (x[1] - 1.0));
        out.tewl_pct.push(100.0 * (injury / x[2] - 1.0));
        out.hydration_pct
            .push(100.0 * (x[3] * (x[2] / injury).sqrt() - 1.0));
        out.collagen_pct.push(100.0 * (x[4] - 1.0));
        out.elastin_pct.push(100.0 * (x[5] - 1.0));
        out.pore_area_pct.push(100.0 * (x[6] - 1.0));
    };
    record(&mut out, 0.0, &x);
    let nout = (duration_d / every_d).round().max(1.0) as usize;
    let mut t = 0.0;
    for k in 1..=nout {
        let t_end = if k == nout {
            duration_d
        } else {
            every_d * k as f64
        };
        while t < t_end - 1e-12 {
            let h = dt.min(t_end - t);
            let tm = (t + 0.5 * h) * 24.0;
            let ek = effect(d.keratinocyte.at(tm), kk);
            let ef = effect(d.fibroblast.at(tm), kf);
            let open = (d.open)(tm);
            let r = remodel(tm);
            let p = &d.potency;
            let cy = (1.0 + g("injury_inflammation") * d.severity * open)
                * (1.0 - g("cytokine_max_reduction") * p.anti_inflammatory * ek.max(ef));
            let targets = [
                cy,
                x[0],
                1.0 + g("ceramide_gain") * p.hydration * ek,
                1.0 + g("hyaluronan_gain") * p.hydration * ek,
                1.0 + age
                    * (g("collagen_gain") * p.matrix * ef + g("procedure_collagen_induction") * r),
                1.0 + age
                    * (g("elastin_gain") * p.matrix * ef + g("procedure_collagen_induction") * r),
                (-g("pore_matrix_coupling") * (0.5 * (x[4] + x[5]) - 1.0)
                    - g("pore_hydration_coupling") * (x[3] - 1.0))
                    .exp(),
            ];
            for i in 0..7 {
                let e = (-h / taus[i]).exp();
                x[i] = targets[i] + (x[i] - targets[i]) * e;
            }
            t += h;
        }
        t = t_end;
        record(&mut out, t, &x);
    }
    out
}
