//! A procedure as an injury of a size: the opened area fraction, the lesion width and depth,
//! the stratum corneum removed, and the clocks that follow from them.
//!
//! Three clocks, each from its own data (see `data/response.toml` and
//! `data/transport.toml`):
//! * the physical channel that lets vesicles in (microneedle pores: their own measured
//!   half-lives, longer under occlusion; laser zones: open until re-epithelialized);
//! * re-epithelialization of a lesion, which grows with lesion width, depth and coverage
//!   (confluent at 100 %) and with age, and is faster under occlusion;
//! * barrier recovery (TEWL, hydration), which starts once the surface is covered and runs on
//!   the measured barrier-repair rate (see [`crate::tissue`]).

use crate::params::Values;
use exoskin_model::scenario::Procedure;
use exoskin_model::TransportParams;

/// Dimensionless shape constants of the Sherratt-Murray front (only the shape of the closure
/// curve; its time scale comes from [`reepithelialization_half_life_h`]).
pub const FRONT_CHEM_DIFFUSIVITY: f64 = 1.0;
pub const FRONT_CHEM_GAIN: f64 = 2.0;

/// What a procedure does to the skin, per session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Injury {
    /// Fraction of the surface opened down through the epidermis (0 for a peel).
    pub open_fraction: f64,
    /// Lesion (channel or microthermal zone) radius, um; 0 without a lesion.
    pub lesion_radius_um: f64,
    /// Lesion depth, um.
    pub depth_um: f64,
    /// Fraction of the stratum corneum removed over the whole surface (peels).
    pub sc_removed_fraction: f64,
    /// Coverage as a fraction (fractional laser), for confluence.
    pub coverage: f64,
    pub occluded: bool,
    pub microneedle: bool,
}

impl Injury {
    pub fn of(p: &Procedure) -> Option<Injury> {
        match *p {
            Procedure::None => None,
            Procedure::Microneedling {
                depth_um,
                channel_width_um,
                channels_per_cm2,
                occluded,
                ..
            } => {
                let r = 0.5 * channel_width_um;
                Some(Injury {
                    open_fraction: (std::f64::consts::PI * (r * 1e-4).powi(2) * channels_per_cm2)
                        .min(1.0),
                    lesion_radius_um: r,
                    depth_um,
                    sc_removed_fraction: 0.0,
                    coverage: 0.0,
                    occluded,
                    microneedle: true,
                })
            }
            Procedure::FractionalCo2 {
                spot_um,
                depth_um,
                coverage_pct,
            } => Some(Injury {
                open_fraction: (coverage_pct / 100.0).min(1.0),
                lesion_radius_um: 0.5 * spot_um,
                depth_um,
                sc_removed_fraction: 0.0,
                coverage: (coverage_pct / 100.0).min(1.0),
                occluded: false,
                microneedle: false,
            }),
            Procedure::ChemicalPeel {
                sc_removed_fraction,
            } => Some(Injury {
                open_fraction: 0.0,
                lesion_radius_um: 0.0,
                depth_um: 0.0,
                sc_removed_fraction,
                coverage: 0.0,
                occluded: false,
                microneedle: false,
            }),
        }
    }

    /// Injury index: opened area fraction times depth in units of 100 um, plus a superficial
    /// term for stratum corneum removal (a full SC removal counts as a 10 um-deep opening of
    /// the whole surface).
    pub fn index(&self) -> f64 {
        self.open_fraction * self.depth_um / 100.0 + 0.1 * self.sc_removed_fraction
    }

    /// Inflammatory (and vascular) load in [0, 1): the index saturating at
    /// `injury_half_saturation`.
    pub fn load(&self, v: &Values) -> f64 {
        let i = self.index();
        i / (i + v.injury_half_saturation)
    }

    /// Barrier deficit right after the session, in [0, 1]: the disturbed area (opened area
    /// times the halo factor), or for a peel the deficit whose TEWL equals that of the
    /// thinned stratum corneum (flux ~ 1 / remaining thickness).
    pub fn barrier_deficit(&self, v: &Values) -> f64 {
        let wound = (v.barrier_halo_factor * self.open_fraction).min(1.0);
        let f = self.sc_removed_fraction.clamp(0.0, 0.99);
        let peel = ((1.0 / (1.0 - f) - 1.0) / (v.disrupted_tewl_ratio - 1.0)).min(1.0);
        1.0 - (1.0 - wound) * (1.0 - peel)
    }

    /// Time constant (d) of the inflammatory stimulus once the surface is covered: its own
    /// clock per procedure class (needle, ablative laser zone, peel), each fitted to or
    /// sourced from that class's data.
    pub fn resolution_d(&self, v: &Values) -> f64 {
        if self.microneedle {
            v.damage_resolution_needle_d
        } else if self.is_wound() {
            v.damage_resolution_ablative_d
        } else {
            v.damage_resolution_peel_d
        }
    }

    /// Share of the injury that reaches the dermis, in [0, 1]: the part of each lesion
    /// deeper than the epidermis (`epidermal_thickness_um`), weighted by the lesions' share
    /// of the injury index. Removing stratum corneum (a superficial peel, tape stripping)
    /// injures no dermis, so it inflames and disrupts the barrier but drives no dermal
    /// remodelling.
    pub fn dermal_fraction(&self, v: &Values) -> f64 {
        let i = self.index();
        if i <= 0.0 || self.depth_um <= 0.0 {
            return 0.0;
        }
        let lesion = self.open_fraction * self.depth_um / 100.0;
        let below = ((self.depth_um - v.epidermal_thickness_um) / self.depth_um).clamp(0.0, 1.0);
        below * lesion / i
    }

    /// Whether the lesion opens the epidermis (a wound that must re-epithelialize).
    pub fn is_wound(&self) -> bool {
        self.open_fraction > 0.0 && self.lesion_radius_um > 0.0
    }
}

/// Age factor of a process slowing by `per_year` after 30 (1 at or below 30).
pub fn age_slowing(age_years: f64, per_year: f64) -> f64 {
    1.0 + per_year * (age_years - crate::tissue::AGEING_FROM_YEARS).max(0.0)
}

/// Half-life of re-epithelialization (h) without vesicles: a lag, then a front crossing the
/// 29 % of the lesion radius that halves the open area (r / sqrt 2), slowed by depth, by
/// confluence (coverage^4, so that full-field ablation heals in days, fractional zones in
/// hours) and by age, and sped by occlusion.
pub fn reepithelialization_half_life_h(inj: &Injury, age_years: f64, v: &Values) -> f64 {
    let travel = (1.0 - std::f64::consts::FRAC_1_SQRT_2) * inj.lesion_radius_um;
    let base = v.reepithelialization_lag_h + travel / v.keratinocyte_migration_um_per_h;
    let depth = 1.0 + v.depth_slowing_per_mm * inj.depth_um / 1000.0;
    let confluence = 1.0 + v.confluence_slowing * inj.coverage.powi(4);
    let occl = if inj.occluded {
        v.occlusion_speedup
    } else {
        1.0
    };
    base * depth * confluence * age_slowing(age_years, v.reepithelialization_age_slowing_per_year)
        / occl
}

/// Half-life of the physical channel that lets vesicles in (h), for microneedle pores (from
/// data/transport.toml: occluded or not). Laser zones have no separate channel clock: they
/// stay open until re-epithelialized.
pub fn microneedle_channel_half_life_h(inj: &Injury, tp: &TransportParams) -> Option<f64> {
    inj.microneedle.then(|| {
        if inj.occluded {
            tp.microneedle_closure_half_life_occluded_h.v()
        } else {
            tp.microneedle_closure_half_life_h.v()
        }
    })
}
