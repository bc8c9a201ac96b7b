//! A product on living skin: the layered slab with a follicular shunt (intact skin, peels),
//! or an axisymmetric unit cell around one micro-channel (microneedling, fractional CO2).
//!
//! Geometry choices (see the model brief):
//! - Intact skin: 1D stack film / stratum corneum / viable epidermis / dermis, and beside it a
//!   follicle column (orifice area fraction of the site) from the surface to the follicle
//!   depth, exchanging with the tissue at the same depth through the follicle wall below
//!   the epidermis (the upper infundibulum is cornified like the SC). Cells are ordered by
//!   depth, tissue and follicle interleaved, so the system is banded with width 2.
//! - Micro-channels: a cylinder of radius `R = 1 / sqrt(pi n)` around one channel (n per cm2,
//!   the classic unit-cell approach), zero flux on its side by symmetry. The channel lumen is
//!   free fluid while open and turns into the surrounding tissue as it closes, with an
//!   openness `exp(-ln 2 t / t_half)` whose half-life depends on the procedure and occlusion.
//! - Uptake by keratinocytes (viable epidermis) and fibroblasts (dermis) saturates with the
//!   vesicles the cells already hold, which they degrade in lysosomes. Dermal clearance,
//!   tissue and surface degradation, surface removal, desquamation and follicular purging
//!   are first-order sinks.

use crate::engine::{self, Dose, Run, Setup};
use crate::error::TransportError;
use crate::network::{faces, Edge, Network, Segment, Sink, N_SINKS};
use crate::physics::{
    follicle_wall_permeability_um_per_h, free_diffusivity_um2_per_s, tissue_properties,
};
use exoskin_model::params::TransportParams;
use exoskin_model::scenario::{Formulation, InVivo, Procedure, Tissue};
use exoskin_model::Stop;
use serde::Serialize;
use std::f64::consts::{LN_2, PI};

/// Compartments of an in-vivo run, in this order.
pub const COMPARTMENTS: [&str; 6] = [
    "film",
    "stratum_corneum",
    "viable_epidermis",
    "dermis",
    "follicles",
    "channels",
];
const FILM: usize = 0;
const SC: usize = 1;
const VE: usize = 2;
const DERMIS: usize = 3;
const FOLLICLE: usize = 4;
const CHANNEL: usize = 5;

/// Results of an in-vivo run.
#[derive(Debug, Clone, Serialize)]
pub struct InVivoResult {
    pub run: Run,
    /// "layered_1d" or "axisymmetric_unit_cell".
    pub geometry: &'static str,
    /// Fraction of the vesicles left intact after storage (first-order loss).
    pub storage_retained_fraction: f64,
    /// Particles per cm2 put on the skin at each application (after storage loss).
    pub dose_per_application_per_cm2: f64,
    /// Fraction of the applied vesicles that entered the dermis over the run.
    pub reached_dermis_fraction: f64,
    pub size_classes: Vec<(f64, f64)>,
    /// Unit cell and channel, for the axisymmetric geometry.
    pub channel: Option<ChannelGeometry>,
    /// Depth (and radius, 2D) of each cell centre, um, for profiles.
    pub cell_depth_um: Vec<f64>,
    pub cell_radius_um: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelGeometry {
    pub unit_cell_radius_um: f64,
    pub channel_radius_um: f64,
    pub channel_depth_um: f64,
    pub closure_half_life_h: f64,
}

/// First-order storage half-life, days, by formulation and temperature: log-linear
/// (Arrhenius-like) interpolation between the 4 C and 25 C values of the data file.
pub fn storage_half_life_d(form: Formulation, temp_c: f64, p: &TransportParams) -> f64 {
    let (h4, h25) = match form {
        Formulation::Liquid => (
            p.storage_half_life_liquid_4c_d.v(),
            p.storage_half_life_liquid_25c_d.v(),
        ),
        Formulation::Lyophilized => (
            p.storage_half_life_lyophilized_4c_d.v(),
            p.storage_half_life_lyophilized_25c_d.v(),
        ),
    };
    (h4.ln() + (temp_c - 4.0) / 21.0 * (h25.ln() - h4.ln())).exp()
}

fn rates(comp: usize, p: &TransportParams) -> [f64; N_SINKS] {
    let mut r = [0.0; N_SINKS];
    let hl = |x: f64| LN_2 / x;
    match comp {
        FILM => {
            r[Sink::Degraded as usize] = hl(p.surface_degradation_half_life_h.v());
            r[Sink::Removed as usize] = hl(p.surface_removal_half_life_h.v());
        }
        SC => r[Sink::Removed as usize] = 1.0 / (p.sc_turnover_days.v() * 24.0),
        VE => {
            r[Sink::UptakeKeratinocytes as usize] = p.uptake_rate_per_h.v();
            r[Sink::Degraded as usize] = hl(p.tissue_degradation_half_life_h.v());
        }
        DERMIS => {
            r[Sink::UptakeFibroblasts as usize] = p.uptake_rate_per_h.v();
            r[Sink::Cleared as usize] = hl(p.dermal_clearance_half_life_h.v());
            r[Sink::Degraded as usize] = hl(p.tissue_degradation_half_life_h.v());
        }
        FOLLICLE => r[Sink::Removed as usize] = hl(p.follicle_residence_half_life_h.v()),
        _ => r[Sink::Degraded as usize] = hl(p.tissue_degradation_half_life_h.v()),
    }
    r
}

fn tissue_of(comp: usize) -> Tissue {
    match comp {
        SC => Tissue::StratumCorneum,
        VE => Tissue::ViableEpidermis,
        _ => Tissue::Dermis,
    }
}

/// Depth segments with their compartment; `extra` adds break points (follicle or channel depth).
fn depth_segments(
    sc: f64,
    ve: f64,
    dermis: f64,
    extra: Option<f64>,
    cpl: usize,
    cap_per_segment: bool,
) -> (Vec<Segment>, Vec<usize>) {
    let total = sc + ve + dermis;
    let mut bps = vec![0.0, sc, sc + ve, total];
    if let Some(x) = extra {
        if x > 1e-6 && x < total - 1e-6 {
            bps.push(x);
        }
    }
    bps.sort_by(f64::total_cmp);
    bps.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    let mut segs = Vec::new();
    let mut comp = Vec::new();
    for w in bps.windows(2) {
        let (a, b) = (w[0], w[1]);
        let c = if a < sc - 1e-9 {
            SC
        } else if a < sc + ve - 1e-9 {
            VE
        } else {
            DERMIS
        };
        let cells = match c {
            SC => (cpl / 4).max(3),
            VE => (cpl / 2).max(4),
            _ if cap_per_segment => ((cpl as f64 * (b - a) / 400.0).round() as usize).clamp(4, cpl),
            _ => (cpl / 2).max(4),
        };
        segs.push(Segment {
            thickness_um: b - a,
            cells,
        });
        comp.extend(std::iter::repeat_n(c, cells));
    }
    (segs, comp)
}

/// Film volume (um of liquid) at time t after applications at `apps`: each dries to a
/// residual fraction and is removed from the surface at the removal rate.
fn film_volume_um(t: f64, apps: &[f64], dose_um: f64, p: &TransportParams) -> f64 {
    let fres = p.film_residual_fraction.v();
    let tau = p.film_evaporation_time_h.v();
    let krm = LN_2 / p.surface_removal_half_life_h.v();
    let v: f64 = apps
        .iter()
        .filter(|&&ta| ta <= t + 1e-12)
        .map(|&ta| {
            let s = t - ta;
            dose_um * (fres + (1.0 - fres) * (-s / tau).exp()) * (-krm * s).exp()
        })
        .sum();
    v.max(1e-3 * dose_um)
}

/// Openness of procedure channels over time (1 open, 0 closed), from the wound-healing model;
/// linear between points, constant after the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Closure {
    pub times_h: Vec<f64>,
    pub openness: Vec<f64>,
}

impl Closure {
    /// Openness at time t.
    pub fn at(&self, t: f64) -> f64 {
        let n = self.times_h.len();
        if n == 0 {
            return 0.0;
        }
        if t <= self.times_h[0] {
            return self.openness[0];
        }
        let k = self.times_h.partition_point(|&x| x <= t);
        if k >= n {
            return self.openness[n - 1];
        }
        let (t0, t1) = (self.times_h[k - 1], self.times_h[k]);
        let w = (t - t0) / (t1 - t0);
        (self.openness[k - 1] * (1.0 - w) + self.openness[k] * w).clamp(0.0, 1.0)
    }
}

/// Hours after the last application from which steps may grow to `dt_quiet_max_h`.
pub(crate) const QUIET_AFTER_H: f64 = 6.0;

/// Simulate an in-vivo scenario. `closure` replaces the first-order channel closure of the
/// data file by a curve (the wound-healing module supplies it).
pub fn simulate(
    v: &InVivo,
    p: &TransportParams,
    closure: Option<&Closure>,
) -> Result<InVivoResult, TransportError> {
    simulate_until(v, p, closure, &Stop::never())
}

/// [`simulate`], stopping with [`TransportError::Stopped`] once `stop` says so.
pub fn simulate_until(
    v: &InVivo,
    p: &TransportParams,
    closure: Option<&Closure>,
    stop: &Stop,
) -> Result<InVivoResult, TransportError> {
    crate::check_params(p)?;
    if v.numerics.cells_per_layer == 0 || v.numerics.radial_cells == 0 {
        return Err(TransportError::Empty {
            what: "a grid without cells (numerics)",
        });
    }
    let pr = &v.product;
    let classes: Vec<(f64, f64)> = pr
        .size
        .classes(
            pr.size_classes,
            exoskin_model::MIN_DIAMETER_NM,
            exoskin_model::MAX_DIAMETER_NM,
        )
        .iter()
        .map(|c| (c.diameter_nm, c.fraction))
        .collect();
    let half_life_d = storage_half_life_d(pr.formulation, pr.storage.temperature_c, p);
    let retained = (-LN_2 * pr.storage.age_days / half_life_d).exp();
    let dose_um = pr.dose_ul_per_cm2 * exoskin_model::UM_PER_UL_PER_CM2;
    // The film's liquid volume per application: the product plus any essence before it.
    let film_um = dose_um + v.regimen.essence_ul_per_cm2 * exoskin_model::UM_PER_UL_PER_CM2;
    // Amount per application in particles/mL * um (converted to per cm2 on output).
    let amount = pr.particles_per_ml * retained * dose_um;
    let apps = v.application_times_h();
    let doses: Vec<Dose> = apps
        .iter()
        .map(|&t| Dose {
            time_h: t,
            cell: 0,
            amount,
        })
        .collect();

    let (nets, capacity, update, geometry, channel, depth, radius): Built<'_> =
        match channels(&v.procedure, p) {
            Some((r_ch, depth_ch, density, t_half)) => {
                let (geo, depth_ch, rr) = unit_cell(v, p, r_ch, depth_ch, density);
                let props: Vec<ClassTissue> =
                    classes.iter().map(|c| ClassTissue::new(c.0, p)).collect();
                let nets: Vec<Network> = props
                    .iter()
                    .map(|ct| geo.build(ct, 1.0, film_um, p))
                    .collect();
                let opening = geo.opening(&nets[0]);
                let cap = geo.uptake_capacity(p);
                let (depth, radius) = geo.centres();
                let pp = p.clone();
                let apps2 = apps.clone();
                // The half-life reported with the channel: the closure curve's (time at which it
                // is half open) when one is given, else the data file's first-order value.
                let half_open = closure
                    .and_then(|c| {
                        c.times_h
                            .iter()
                            .zip(&c.openness)
                            .find(|(_, &o)| o <= 0.5)
                            .map(|(&t, _)| t)
                    })
                    .unwrap_or(t_half);
                let closure = closure.cloned();
                let sessions = v.sessions_h.clone();
                let update: Box<engine::Update> = Box::new(move |t, nets: &mut [Network]| {
                    // Each session opens the channels again; the most open one counts.
                    let s = sessions
                        .iter()
                        .filter(|&&ts| ts <= t)
                        .map(|&ts| match &closure {
                            Some(c) => c.at(t - ts),
                            None => (-LN_2 * (t - ts) / t_half).exp(),
                        })
                        .fold(0.0, f64::max);
                    let film = film_volume_um(t, &apps2, film_um, &pp);
                    for (net, ct) in nets.iter_mut().zip(&props) {
                        geo.reopen(net, ct, s, film, &opening);
                    }
                });
                let ch = ChannelGeometry {
                    unit_cell_radius_um: rr,
                    channel_radius_um: r_ch,
                    channel_depth_um: depth_ch,
                    closure_half_life_h: half_open,
                };
                (
                    nets,
                    cap,
                    update,
                    "axisymmetric_unit_cell",
                    Some(ch),
                    depth,
                    radius,
                )
            }
            None => {
                let geo = layered(v, p);
                let nets: Vec<Network> = classes
                    .iter()
                    .map(|c| geo.build(&ClassTissue::new(c.0, p), p))
                    .collect();
                let cap = geo.uptake_capacity(&nets[0], p);
                let depth = geo.centres();
                let pp = p.clone();
                let apps2 = apps.clone();
                let update: Box<engine::Update> = Box::new(move |t, nets: &mut [Network]| {
                    let film = film_volume_um(t, &apps2, film_um, &pp);
                    for net in nets.iter_mut() {
                        net.capacity[0] = film;
                        net.volume[0] = film;
                    }
                });
                (nets, cap, update, "layered_1d", None, depth, vec![])
            }
        };
    let run = engine::run(Setup {
        nets,
        weights: classes.iter().map(|c| c.1).collect(),
        compartments: COMPARTMENTS.iter().map(|s| s.to_string()).collect(),
        uptake_capacity: capacity,
        lysosomal_rate_per_h: LN_2 / p.lysosomal_half_life_h.v(),
        doses,
        duration_h: v.experiment.duration_h,
        output_interval_h: v.experiment.output_interval_h,
        dt_initial_h: v.numerics.dt_initial_h,
        dt_max_h: v.numerics.dt_max_h,
        dt_quiet_max_h: v.numerics.dt_quiet_max_h,
        quiet_after_h: QUIET_AFTER_H,
        update: Some(update),
        stop: stop.clone(),
    })?;
    let last = run.times_h.len() - 1;
    let applied = run.applied_per_cm2[last];
    Ok(InVivoResult {
        reached_dermis_fraction: if applied > 0.0 {
            run.tracked_per_cm2[last] / applied
        } else {
            0.0
        },
        run,
        geometry,
        storage_retained_fraction: retained,
        dose_per_application_per_cm2: amount * crate::network::UM_ML_TO_PER_CM2,
        size_classes: classes,
        channel,
        cell_depth_um: depth,
        cell_radius_um: radius,
    })
}

/// The axisymmetric unit cell around one channel of radius `r_ch` and depth `depth_ch` (um)
/// at `density` channels per cm2, with the depth (at most 90 % of the skin) and the unit
/// cell's radius it uses.
fn unit_cell(
    v: &InVivo,
    p: &TransportParams,
    r_ch: f64,
    depth_ch: f64,
    density: f64,
) -> (Axisym, f64, f64) {
    let skin = &v.skin;
    let total = skin.sc_thickness_um + skin.ve_thickness_um + skin.dermis_thickness_um;
    let depth_ch = depth_ch.min(total * 0.9);
    // At (near) full coverage the channels touch: the unit cell keeps a rim of intact skin
    // of at least 5 % of the channel radius so the geometry stays non-degenerate (full-field
    // ablation then opens 91 % of the surface).
    let rr = (1e4 / (PI * density).sqrt()).max(1.05 * r_ch);
    let geo = Axisym::new(
        skin.sc_thickness_um,
        skin.ve_thickness_um,
        skin.dermis_thickness_um,
        r_ch,
        depth_ch,
        rr,
        v.numerics.cells_per_layer,
        v.numerics.radial_cells,
        skin,
        p,
    );
    (geo, depth_ch, rr)
}

/// The layered slab of a scenario without channels (a peel thins the stratum corneum).
fn layered(v: &InVivo, p: &TransportParams) -> Layered {
    let skin = &v.skin;
    let sc = match v.procedure {
        Procedure::ChemicalPeel {
            sc_removed_fraction,
        } => skin.sc_thickness_um * (1.0 - sc_removed_fraction),
        _ => skin.sc_thickness_um,
    };
    Layered::new(
        sc,
        skin.ve_thickness_um,
        skin.dermis_thickness_um,
        skin,
        v.numerics.cells_per_layer,
        p,
    )
}

/// Cells and band half-width of the grid [`simulate`] builds for `v`, without building it
/// (for the cost estimate, [`crate::cost`]). The band is the one the engine factors: by
/// rows, a cell's radial rings plus its follicle cell (`nr + 1`); by columns, the depth
/// rows (`nz`), the film then solved as a border; the layered slab interleaves tissue and
/// follicle cells (2).
pub(crate) fn grid_shape(v: &InVivo, p: &TransportParams) -> (usize, usize) {
    match channels(&v.procedure, p) {
        Some((r_ch, depth_ch, density, _)) => {
            let (geo, _, _) = unit_cell(v, p, r_ch, depth_ch, density);
            let bw = if geo.by_columns {
                geo.zcomp.len()
            } else {
                geo.nr() + 1
            };
            (geo.n_cells, bw)
        }
        None => {
            let geo = layered(v, p);
            (1 + geo.comp.len() + geo.n_fol, 2)
        }
    }
}

/// What a geometry hands the engine: networks, uptake capacity, the time-dependent update,
/// the geometry's name, the channel, and the cell centres (depth, radius).
type Built<'a> = (
    Vec<Network>,
    Vec<f64>,
    Box<engine::Update<'a>>,
    &'static str,
    Option<ChannelGeometry>,
    Vec<f64>,
    Vec<f64>,
);

/// Channel radius and depth (um), channels per cm2 and closure half-life (h) of a procedure
/// that opens channels; `None` for the others.
fn channels(procedure: &Procedure, p: &TransportParams) -> Option<(f64, f64, f64, f64)> {
    match *procedure {
        Procedure::Microneedling {
            depth_um,
            channel_width_um,
            channels_per_cm2,
            occluded,
            ..
        } => Some((
            0.5 * channel_width_um,
            depth_um,
            channels_per_cm2,
            if occluded {
                p.microneedle_closure_half_life_occluded_h.v()
            } else {
                p.microneedle_closure_half_life_h.v()
            },
        )),
        Procedure::FractionalCo2 {
            spot_um,
            depth_um,
            coverage_pct,
        } => {
            let r = 0.5 * spot_um;
            Some((
                r,
                depth_um,
                coverage_pct / 100.0 / (PI * (r * 1e-4).powi(2)),
                p.co2_closure_half_life_h.v(),
            ))
        }
        Procedure::None | Procedure::ChemicalPeel { .. } => None,
    }
}

/// Per-size-class tissue properties: (K, K D in um^2/h) by compartment, and the follicle.
struct ClassTissue {
    k: [f64; 4],
    kd: [f64; 4],
    free_d: f64,
    follicle_kd: f64,
    wall_p: f64,
}

impl ClassTissue {
    fn new(d_nm: f64, p: &TransportParams) -> Self {
        let mut k = [1.0; 4];
        let mut kd = [0.0; 4];
        for c in [SC, VE, DERMIS] {
            let (kk, dd) = tissue_properties(tissue_of(c), d_nm, p);
            k[c] = kk;
            kd[c] = kk * dd * 3600.0;
        }
        ClassTissue {
            k,
            kd,
            free_d: free_diffusivity_um2_per_s(d_nm, p) * 3600.0,
            follicle_kd: p.follicle_effective_diffusivity_um2_per_s.v() * 3600.0,
            wall_p: follicle_wall_permeability_um_per_h(d_nm, p),
        }
    }
}

/// Follicle orifice area fraction, the number of depth rows (cell faces `zf`) above the
/// follicle depth, and the follicle wall area per cm2 of skin per um of depth. The orifice
/// radius follows from density and area fraction: `frac = n pi r^2`.
fn follicle_layout(skin: &exoskin_model::Skin, zf: &[f64], fdepth: f64) -> (f64, usize, f64) {
    if skin.follicles_per_cm2 <= 0.0 || skin.follicle_orifice_fraction <= 0.0 {
        return (0.0, 0, 0.0);
    }
    let frac = skin.follicle_orifice_fraction;
    let rows = (0..zf.len() - 1)
        .take_while(|&k| 0.5 * (zf[k] + zf[k + 1]) < fdepth)
        .count();
    let r_f_cm = (frac / (PI * skin.follicles_per_cm2)).sqrt();
    (
        frac,
        rows,
        skin.follicles_per_cm2 * 2.0 * PI * r_f_cm * 1e-4,
    )
}

/// The layered slab with a follicle column.
struct Layered {
    fc: Vec<f64>,
    comp: Vec<usize>,
    n_fol: usize,
    frac: f64,
    /// Follicle wall area per cm2 of skin per um of depth.
    wall_per_um: f64,
    epi_bottom: f64,
    tis_idx: Vec<usize>,
    fol_idx: Vec<usize>,
}

impl Layered {
    fn new(
        sc: f64,
        ve: f64,
        dermis: f64,
        skin: &exoskin_model::Skin,
        cpl: usize,
        p: &TransportParams,
    ) -> Self {
        let total = sc + ve + dermis;
        let fdepth = p.follicle_depth_um.v().min(total);
        let (segs, comp) = depth_segments(sc, ve, dermis, Some(fdepth), cpl, false);
        let fc = faces(&segs);
        let (frac, n_fol, wall_per_um) = follicle_layout(skin, &fc, fdepth);
        let mut tis_idx = Vec::new();
        let mut fol_idx = Vec::new();
        let mut next = 1;
        for k in 0..comp.len() {
            tis_idx.push(next);
            next += 1;
            if k < n_fol {
                fol_idx.push(next);
                next += 1;
            }
        }
        Layered {
            fc,
            comp,
            n_fol,
            frac,
            wall_per_um,
            epi_bottom: sc + ve,
            tis_idx,
            fol_idx,
        }
    }

    fn centres(&self) -> Vec<f64> {
        let mut d = vec![0.0];
        for k in 0..self.comp.len() {
            let z = 0.5 * (self.fc[k] + self.fc[k + 1]);
            d.push(z);
            if k < self.n_fol {
                d.push(z);
            }
        }
        d
    }

    fn build(&self, ct: &ClassTissue, p: &TransportParams) -> Network {
        let mut net = Network::default();
        let f = self.frac;
        net.push_cell(1.0, 1.0, FILM, rates(FILM, p));
        let nz = self.comp.len();
        let h = |k: usize| self.fc[k + 1] - self.fc[k];
        for k in 0..nz {
            let c = self.comp[k];
            net.push_cell(ct.k[c] * (1.0 - f) * h(k), (1.0 - f) * h(k), c, rates(c, p));
            if k < self.n_fol {
                net.push_cell(f * h(k), f * h(k), FOLLICLE, rates(FOLLICLE, p));
            }
        }
        let rt = |k: usize| 0.5 * h(k) / ct.kd[self.comp[k]];
        let rf = |k: usize| 0.5 * h(k) / ct.follicle_kd;
        net.edges.push(Edge {
            a: 0,
            b: self.tis_idx[0],
            g: (1.0 - f) / rt(0),
            tracked: false,
        });
        if self.n_fol > 0 {
            net.edges.push(Edge {
                a: 0,
                b: self.fol_idx[0],
                g: f / rf(0),
                tracked: false,
            });
        }
        for k in 0..nz - 1 {
            let into_dermis = self.comp[k] != DERMIS && self.comp[k + 1] == DERMIS;
            net.edges.push(Edge {
                a: self.tis_idx[k],
                b: self.tis_idx[k + 1],
                g: (1.0 - f) / (rt(k) + rt(k + 1)),
                tracked: into_dermis,
            });
            if k + 1 < self.n_fol {
                net.edges.push(Edge {
                    a: self.fol_idx[k],
                    b: self.fol_idx[k + 1],
                    g: f / (rf(k) + rf(k + 1)),
                    tracked: false,
                });
            }
        }
        for k in 0..self.n_fol {
            let z = 0.5 * (self.fc[k] + self.fc[k + 1]);
            if z > self.epi_bottom {
                let g = self.wall_per_um * h(k) * ct.wall_p;
                net.edges.push(Edge {
                    a: self.fol_idx[k],
                    b: self.tis_idx[k],
                    g,
                    tracked: self.comp[k] == DERMIS,
                });
            }
        }
        net
    }

    fn uptake_capacity(&self, net: &Network, p: &TransportParams) -> Vec<f64> {
        (0..net.len())
            .map(|i| match net.compartment[i] {
                VE => p.keratinocyte_capacity_per_ml.v() * net.volume[i],
                DERMIS => p.fibroblast_capacity_per_ml.v() * net.volume[i],
                _ => 0.0,
            })
            .collect()
    }
}

/// The axisymmetric unit cell around one channel, with the site's follicles as a lumen
/// column beside the outermost ring (follicles are spread over the skin, far from any one
/// channel). Index 0 is the film. The grid is numbered along its shorter direction, so that
/// the banded factorization costs `n min(nr, nz)^2` instead of growing with the cube of the
/// radial count: by rows (each depth row's radial rings, then its follicle cell while the
/// row lies above the follicle depth) when the rings are fewer than the rows, else by
/// columns (each ring's cells from the surface down, then the follicle column), with the
/// film then solved as the band's border (see `network::Stepper::new`).
/// What a channel's openness changes in an (r, z) network (see [`Axisym::opening`]).
struct Opening {
    /// Lumen cells with their (row, ring).
    cells: Vec<(usize, (usize, usize))>,
    /// Edges touching a lumen cell, by index, with their geometry.
    edges: Vec<(usize, EdgeGeometry)>,
}

/// An edge's conductance is `area / (length_a / kd_a + length_b / kd_b)`: the film (no
/// `upper` cell, nothing on its side) or the upper or inner cell `a`, and the other cell.
struct EdgeGeometry {
    area: f64,
    upper: Option<(usize, usize)>,
    length_a: f64,
    lower: (usize, usize),
    length_b: f64,
}

struct Axisym {
    zf: Vec<f64>,
    zcomp: Vec<usize>,
    rf: Vec<f64>,
    n_in: usize,
    depth: f64,
    big_r: f64,
    /// Follicle orifice area fraction (0 without follicles) and rows holding a follicle cell.
    frac: f64,
    n_fol: usize,
    wall_per_um: f64,
    epi_bottom: f64,
    /// Numbered by columns (see above); `row_start` is used when numbered by rows.
    by_columns: bool,
    row_start: Vec<usize>,
    n_cells: usize,
}

impl Axisym {
    #[allow(clippy::too_many_arguments)]
    fn new(
        sc: f64,
        ve: f64,
        dermis: f64,
        r_ch: f64,
        depth: f64,
        big_r: f64,
        cpl: usize,
        nr: usize,
        skin: &exoskin_model::Skin,
        p: &TransportParams,
    ) -> Self {
        let total = sc + ve + dermis;
        let fdepth = p.follicle_depth_um.v().min(total);
        let (segs, zcomp) = depth_segments(sc, ve, dermis, Some(depth), cpl, true);
        let zf = faces(&segs);
        let n_in = (nr / 4).max(3);
        let n_out = nr - n_in;
        let rf = faces(&[
            Segment {
                thickness_um: r_ch,
                cells: n_in,
            },
            Segment {
                thickness_um: big_r - r_ch,
                cells: n_out,
            },
        ]);
        let (frac, n_fol, wall_per_um) = follicle_layout(skin, &zf, fdepth);
        let mut row_start = Vec::with_capacity(zcomp.len());
        let mut next = 1;
        for k in 0..zcomp.len() {
            row_start.push(next);
            next += nr + usize::from(k < n_fol);
        }
        // Bandwidths: nr + 1 by rows (a cell to the one below it, past the follicle cell),
        // nz by columns (a cell to the one beside it).
        let by_columns = zcomp.len() < nr + 1;
        #[cfg(test)]
        let by_columns = by_columns && !tests::BY_ROWS.with(|b| b.get());
        Axisym {
            zf,
            zcomp,
            rf,
            n_in,
            depth,
            big_r,
            frac,
            n_fol,
            wall_per_um,
            epi_bottom: sc + ve,
            by_columns,
            row_start,
            n_cells: next,
        }
    }

    fn nr(&self) -> usize {
        self.rf.len() - 1
    }

    fn idx(&self, k: usize, i: usize) -> usize {
        if self.by_columns {
            1 + i * self.zcomp.len() + k
        } else {
            self.row_start[k] + i
        }
    }

    /// The follicle cell of row k (only for k < n_fol).
    fn fol(&self, k: usize) -> usize {
        if self.by_columns {
            1 + self.nr() * self.zcomp.len() + k
        } else {
            self.row_start[k] + self.nr()
        }
    }

    fn is_lumen(&self, k: usize, i: usize) -> bool {
        i < self.n_in && 0.5 * (self.zf[k] + self.zf[k + 1]) < self.depth
    }

    fn ring_volume(&self, k: usize, i: usize) -> f64 {
        let r2 = self.big_r * self.big_r;
        (1.0 - self.frac) * (self.rf[i + 1].powi(2) - self.rf[i].powi(2)) / r2
            * (self.zf[k + 1] - self.zf[k])
    }

    fn centres(&self) -> (Vec<f64>, Vec<f64>) {
        let mut d = vec![0.0; self.n_cells];
        let mut r = vec![0.0; self.n_cells];
        for k in 0..self.zcomp.len() {
            let z = 0.5 * (self.zf[k] + self.zf[k + 1]);
            for i in 0..self.nr() {
                d[self.idx(k, i)] = z;
                r[self.idx(k, i)] = 0.5 * (self.rf[i] + self.rf[i + 1]);
            }
            if k < self.n_fol {
                d[self.fol(k)] = z;
                r[self.fol(k)] = self.big_r;
            }
        }
        (d, r)
    }

    /// (K, K D) of a ring cell at openness s.
    fn props(&self, ct: &ClassTissue, k: usize, i: usize, s: f64) -> (f64, f64) {
        let c = self.zcomp[k];
        if self.is_lumen(k, i) {
            (
                s + (1.0 - s) * ct.k[c],
                s * ct.free_d + (1.0 - s) * ct.kd[c],
            )
        } else {
            (ct.k[c], ct.kd[c])
        }
    }

    fn build(&self, ct: &ClassTissue, s: f64, film: f64, p: &TransportParams) -> Network {
        let mut net = Network::default();
        for _ in 0..self.n_cells {
            net.push_cell(0.0, 0.0, FILM, [0.0; N_SINKS]);
        }
        net.capacity[0] = film;
        net.volume[0] = film;
        net.sink_rate[0] = rates(FILM, p);
        for k in 0..self.zcomp.len() {
            let h = self.zf[k + 1] - self.zf[k];
            for i in 0..self.nr() {
                let id = self.idx(k, i);
                let c = if self.is_lumen(k, i) {
                    CHANNEL
                } else {
                    self.zcomp[k]
                };
                net.volume[id] = self.ring_volume(k, i);
                net.compartment[id] = c;
                net.sink_rate[id] = rates(c, p);
            }
            if k < self.n_fol {
                let id = self.fol(k);
                net.volume[id] = self.frac * h;
                net.capacity[id] = self.frac * h;
                net.compartment[id] = FOLLICLE;
                net.sink_rate[id] = rates(FOLLICLE, p);
            }
        }
        self.refresh(&mut net, ct, s, film);
        net
    }

    /// Recompute capacities and conductances for openness `s` and film volume. Edges are
    /// rebuilt in the same order every time (the batched solver relies on it).
    fn refresh(&self, net: &mut Network, ct: &ClassTissue, s: f64, film: f64) {
        let nr = self.nr();
        let nz = self.zcomp.len();
        let r2 = self.big_r * self.big_r;
        let ring = 1.0 - self.frac;
        net.capacity[0] = film;
        net.volume[0] = film;
        net.edges.clear();
        let rc: Vec<f64> = (0..nr)
            .map(|i| 0.5 * (self.rf[i] + self.rf[i + 1]))
            .collect();
        let dermis_tissue = |k: usize, i: usize| self.zcomp[k] == DERMIS && !self.is_lumen(k, i);
        for k in 0..nz {
            let h = self.zf[k + 1] - self.zf[k];
            for i in 0..nr {
                let (kk, kd) = self.props(ct, k, i, s);
                let id = self.idx(k, i);
                net.capacity[id] = kk * net.volume[id];
                let area = ring * (self.rf[i + 1].powi(2) - self.rf[i].powi(2)) / r2;
                if k == 0 {
                    net.edges.push(Edge {
                        a: 0,
                        b: id,
                        g: area / (0.5 * h / kd),
                        tracked: false,
                    });
                }
                if k + 1 < nz {
                    let h2 = self.zf[k + 2] - self.zf[k + 1];
                    let (_, kd2) = self.props(ct, k + 1, i, s);
                    let tracked = !dermis_tissue(k, i) && dermis_tissue(k + 1, i);
                    net.edges.push(Edge {
                        a: id,
                        b: self.idx(k + 1, i),
                        g: area / (0.5 * h / kd + 0.5 * h2 / kd2),
                        tracked,
                    });
                }
                if i + 1 < nr {
                    let (_, kd2) = self.props(ct, k, i + 1, s);
                    let face = self.rf[i + 1];
                    let a = ring * 2.0 * face * h / r2;
                    let tracked = !dermis_tissue(k, i) && dermis_tissue(k, i + 1);
                    net.edges.push(Edge {
                        a: id,
                        b: self.idx(k, i + 1),
                        g: a / ((face - rc[i]) / kd + (rc[i + 1] - face) / kd2),
                        tracked,
                    });
                }
            }
            if k < self.n_fol {
                let f = self.frac;
                let rfh = |k: usize| 0.5 * (self.zf[k + 1] - self.zf[k]) / ct.follicle_kd;
                if k == 0 {
                    net.edges.push(Edge {
                        a: 0,
                        b: self.fol(0),
                        g: f / rfh(0),
                        tracked: false,
                    });
                }
                if k + 1 < self.n_fol {
                    net.edges.push(Edge {
                        a: self.fol(k),
                        b: self.fol(k + 1),
                        g: f / (rfh(k) + rfh(k + 1)),
                        tracked: false,
                    });
                }
                let z = 0.5 * (self.zf[k] + self.zf[k + 1]);
                // The wall only passes vesicles below the epidermis (a zero conductance above
                // keeps the edge list the same at every refresh).
                let g = if z > self.epi_bottom {
                    self.wall_per_um * h * ct.wall_p
                } else {
                    0.0
                };
                net.edges.push(Edge {
                    a: self.fol(k),
                    b: self.idx(k, nr - 1),
                    g,
                    tracked: dermis_tissue(k, nr - 1),
                });
            }
        }
    }

    /// The cells and edges whose properties depend on the channel's openness (the lumen
    /// cells and every edge touching one), with each edge's geometry, for
    /// [`reopen`](Self::reopen); found on a network built by [`build`](Self::build).
    fn opening(&self, net: &Network) -> Opening {
        let mut at = vec![None; net.len()];
        for k in 0..self.zcomp.len() {
            for i in 0..self.nr() {
                at[self.idx(k, i)] = Some((k, i));
            }
        }
        let lumen = |c: usize| at[c].is_some_and(|(k, i)| self.is_lumen(k, i));
        let r2 = self.big_r * self.big_r;
        let ring = 1.0 - self.frac;
        let h = |k: usize| self.zf[k + 1] - self.zf[k];
        let rc = |i: usize| 0.5 * (self.rf[i] + self.rf[i + 1]);
        let mut edges = Vec::new();
        for (e, edge) in net.edges.iter().enumerate() {
            if !(lumen(edge.a) || lumen(edge.b)) {
                continue;
            }
            let (Some((k, i)), b) = (at[edge.b], at[edge.a]) else {
                continue; // follicle edges never touch the lumen
            };
            // Edges run from the film, from a cell to the one below it, or to its outer
            // neighbour; `a` is the film or the upper/inner cell.
            let geo = match b {
                None => EdgeGeometry {
                    area: ring * (self.rf[i + 1].powi(2) - self.rf[i].powi(2)) / r2,
                    upper: None,
                    length_a: 0.0,
                    lower: (k, i),
                    length_b: 0.5 * h(k),
                },
                Some((ka, ia)) if ia == i => EdgeGeometry {
                    area: ring * (self.rf[i + 1].powi(2) - self.rf[i].powi(2)) / r2,
                    upper: Some((ka, ia)),
                    length_a: 0.5 * h(ka),
                    lower: (k, i),
                    length_b: 0.5 * h(k),
                },
                Some((ka, ia)) => {
                    let face = self.rf[ia + 1];
                    EdgeGeometry {
                        area: ring * 2.0 * face * h(ka) / r2,
                        upper: Some((ka, ia)),
                        length_a: face - rc(ia),
                        lower: (k, i),
                        length_b: rc(i) - face,
                    }
                }
            };
            edges.push((e, geo));
        }
        let cells = (0..net.len())
            .filter(|&c| lumen(c))
            .map(|c| (c, at[c].unwrap()))
            .collect();
        Opening { cells, edges }
    }

    /// [`refresh`](Self::refresh) for a network built by [`build`](Self::build), touching
    /// only what openness and the film change: the same values to the last bit at a fraction
    /// of the cost (checked by a test).
    fn reopen(&self, net: &mut Network, ct: &ClassTissue, s: f64, film: f64, o: &Opening) {
        net.capacity[0] = film;
        net.volume[0] = film;
        for &(c, (k, i)) in &o.cells {
            let (kk, _) = self.props(ct, k, i, s);
            net.capacity[c] = kk * net.volume[c];
        }
        for (e, g) in &o.edges {
            let (_, kd_b) = self.props(ct, g.lower.0, g.lower.1, s);
            net.edges[*e].g = match g.upper {
                None => g.area / (g.length_b / kd_b),
                Some((k, i)) => {
                    let (_, kd_a) = self.props(ct, k, i, s);
                    g.area / (g.length_a / kd_a + g.length_b / kd_b)
                }
            };
        }
    }

    fn uptake_capacity(&self, p: &TransportParams) -> Vec<f64> {
        let mut cap = vec![0.0; self.n_cells];
        for k in 0..self.zcomp.len() {
            for i in 0..self.nr() {
                let v = self.ring_volume(k, i);
                cap[self.idx(k, i)] = match (self.is_lumen(k, i), self.zcomp[k]) {
                    (false, VE) => p.keratinocyte_capacity_per_ml.v() * v,
                    (false, DERMIS) => p.fibroblast_capacity_per_ml.v() * v,
                    _ => 0.0,
                };
            }
        }
        cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Number the unit cell by rows whatever its shape (the reference ordering).
        pub(super) static BY_ROWS: Cell<bool> = const { Cell::new(false) };
    }

    #[test]
    fn reopening_changes_what_a_full_refresh_changes_bit_for_bit() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/in_vivo_microneedling.toml"
        ))
        .unwrap();
        let exoskin_model::Scenario::InVivo(v) =
            exoskin_model::parse_scenario(&text, "t.toml").unwrap()
        else {
            panic!("an in-vivo scenario")
        };
        let p = TransportParams::defaults();
        let (r_ch, depth, density, _) = channels(&v.procedure, p).unwrap();
        let sk = &v.skin;
        for nr in [24, 60] {
            let geo = Axisym::new(
                sk.sc_thickness_um,
                sk.ve_thickness_um,
                sk.dermis_thickness_um,
                r_ch,
                depth,
                1e4 / (PI * density).sqrt(),
                v.numerics.cells_per_layer,
                nr,
                sk,
                p,
            );
            let ct = ClassTissue::new(90.0, p);
            let built = geo.build(&ct, 1.0, 20.0, p);
            let opening = geo.opening(&built);
            assert!(!opening.cells.is_empty() && opening.edges.len() > opening.cells.len());
            for (s, film) in [(0.7, 13.0), (0.02, 0.5), (0.0, 20.0), (1.0, 3.0)] {
                let mut full = built.clone();
                geo.refresh(&mut full, &ct, s, film);
                let mut part = built.clone();
                geo.reopen(&mut part, &ct, s, film, &opening);
                assert_eq!(full.capacity, part.capacity, "nr {nr}, s {s}");
                assert_eq!(full.volume, part.volume);
                for (a, b) in full.edges.iter().zip(&part.edges) {
                    assert_eq!(
                        (a.a, a.b, a.g.to_bits()),
                        (b.a, b.b, b.g.to_bits()),
                        "nr {nr}, s {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn numbering_by_columns_gives_the_row_numbered_solution() {
        // 48 rings over 41 depth rows: numbered by columns (band 41 instead of 49, the film as
        // the band's border). The same cells solved in the other order must agree to rounding.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/in_vivo_microneedling.toml"
        ))
        .unwrap()
        .replace("duration_h = 48.0", "duration_h = 12.0")
            + "\n[numerics]\nradial_cells = 48\n";
        let sc = exoskin_model::parse_scenario(&text, "t.toml").unwrap();
        let exoskin_model::Scenario::InVivo(v) = sc else {
            panic!("an in-vivo scenario")
        };
        let p = TransportParams::defaults();
        let cols = simulate(&v, p, None).unwrap();
        BY_ROWS.with(|b| b.set(true));
        let rows = simulate(&v, p, None).unwrap();
        BY_ROWS.with(|b| b.set(false));
        let (a, b) = (&cols.run, &rows.run);
        let scale = a.applied_per_cm2.last().copied().unwrap();
        let mut worst: f64 = 0.0;
        for (x, y) in a
            .amounts_per_cm2
            .iter()
            .flatten()
            .zip(b.amounts_per_cm2.iter().flatten())
        {
            worst = worst.max((x - y).abs() / scale);
        }
        for (x, y) in a.tracked_per_cm2.iter().zip(&b.tracked_per_cm2) {
            worst = worst.max((x - y).abs() / scale);
        }
        assert!(worst < 1e-12, "largest difference {worst:e} of the dose");
        // The same cells: equal centres, in their own order.
        let mut ca: Vec<(u64, u64)> = cols
            .cell_depth_um
            .iter()
            .zip(&cols.cell_radius_um)
            .map(|(d, r)| (d.to_bits(), r.to_bits()))
            .collect();
        let mut cb: Vec<(u64, u64)> = rows
            .cell_depth_um
            .iter()
            .zip(&rows.cell_radius_um)
            .map(|(d, r)| (d.to_bits(), r.to_bits()))
            .collect();
        assert_ne!(ca, cb, "the two runs should number the cells differently");
        ca.sort_unstable();
        cb.sort_unstable();
        assert_eq!(ca, cb);
        assert!((cols.reached_dermis_fraction / rows.reached_dermis_fraction - 1.0).abs() < 1e-11);
    }
}
