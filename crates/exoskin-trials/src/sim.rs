//! Simulating the participants of a trial.
//!
//! **Fast path.** The transport PDE runs once per arm (the arm's scenario at the population's
//! site, run to the last visit). Each participant then differs by age, a log-normal multiplier
//! on vesicle uptake (`delivery_cv`: barrier and follicles; times `side_cv` per face side), and
//! log-normal multipliers on the matrix gains (`remodelling_per_injury`,
//! `fibroblast_activation_per_inflammation`, `ev_matrix_effect`: every source of fibroblast
//! activation, so that age, which multiplies activation, and the matrix multiplier combine
//! into one number; `matrix_response_cv`) and the vesicles' barrier gains
//! (`ev_hydration_effect`, `ev_barrier_effect`; `barrier_response_cv`; a multiplier scales
//! an effect's size, never its sign). Their outcomes come from
//! [`exoskin_response::respond`] (the response ODEs only), in one of two modes:
//!
//! * `exact`: one `respond` run per participant and side (about 2 ms each in release builds).
//! * `grid`: age enters the model only through `age_factor`, which multiplies the matrix
//!   gains, so a participant is fully described by three numbers: log uptake, effective matrix
//!   multiplier (`matrix x age_factor(age) / age_factor(template age)`) and barrier multiplier.
//!   `respond` runs on a 13 x 9 x 9 grid spanning +-4.5 SD of these, and participants are
//!   interpolated trilinearly; the cost no longer grows with the number of participants. The
//!   test `grid_matches_exact` bounds the interpolation error.
//!
//! Only the outcome values at the visit days are kept (interpolated from the daily series),
//! never the series, so memory is participants x sides x visits x endpoints numbers.
//!
//! **Visit timing.** A visit is read before anything else happens that day: the day-0 visit
//! reads the person's baseline, before the first procedure or application (0 % change), and
//! a visit on the day of a later session reads the skin just before that session (the
//! series' left limit, [`at_visit`]).
//!
//! **Crossover.** Each participant has both arms, one per period, in the sequence
//! treatment-control (even participants) or control-treatment (odd); each period reads its own
//! baseline (the person's baseline plus a period-to-period deviation of `side_sd`). The arms'
//! scenarios run on through the washout and period 2, so a product's effect that has not
//! worn off by then carries over: period 2 adds, in percent of its baseline, what remains of the
//! period-1 product's effect at each period-2 visit (the physiology decides whether any does;
//! effects add in percent, an approximation for small residues). The regimen of each arm ends
//! within its period (checked when the trial is read). The model has no period effect.
//!
//! **Determinism.** Participant `i` draws from its own stream `(seed, i)` ([`Rng`]); results
//! are collected in participant order, so they are the same for any thread count.

use crate::rng::Rng;
use crate::spec::{AgeDistribution, Design, Driver, ResponseMode, Trial};
use exoskin_model::{InVivo, TransportParams};
use exoskin_response::tissue::age_factor;
use exoskin_response::{respond, try_simulate_in_vivo, ResponseParams, Series, Simulation};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Model outcomes an endpoint can read, as percent changes at one visit.
pub const N_DRIVERS: usize = 9;
const HYDRATION: usize = 0;
const TEWL: usize = 1;
const ERYTHEMA: usize = 2;
const PORE: usize = 3;
const COLLAGEN: usize = 4;
const ELASTIN: usize = 5;
const MELANIN: usize = 6;
const ELASTICITY: usize = 7;
const WRINKLE: usize = 8;

/// Percent changes at each visit: `[visit][driver]`.
pub type VisitPcts = Vec<[f64; N_DRIVERS]>;

/// What makes one participant (or one face side) respond differently.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    pub age_years: f64,
    /// Multiplier on vesicle uptake (person times side).
    pub delivery: f64,
    /// Multiplier on the matrix gains (not including age).
    pub matrix: f64,
    /// Multiplier on the barrier gains.
    pub barrier: f64,
}

/// Gives the percent changes at the visits of an arm for a participant.
pub trait Responder: Sync {
    fn visit_pcts(&self, arm: usize, f: &Factors) -> VisitPcts;
}

/// Matrix gains scaled together (and by age).
pub const MATRIX_GAINS: [&str; 3] = [
    "remodelling_per_injury",
    "fibroblast_activation_per_inflammation",
    "ev_matrix_effect",
];
/// Barrier gains scaled together.
pub const BARRIER_GAINS: [&str; 2] = ["ev_hydration_effect", "ev_barrier_effect"];

/// The series at `day`, linearly interpolated between its samples.
fn sample_at(s: &Series, day: f64) -> [f64; N_DRIVERS] {
    let t = &s.times_d;
    let j = t
        .partition_point(|&x| x <= day)
        .clamp(1, t.len().max(2) - 1);
    let (t0, t1) = (t[j - 1], t[j]);
    let w = if t1 > t0 {
        ((day - t0) / (t1 - t0)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    drivers_at(s, |v| v[j - 1] + w * (v[j] - v[j - 1]))
}

/// The outcomes, each read from its series by `at`.
fn drivers_at(s: &Series, at: impl Fn(&[f64]) -> f64) -> [f64; N_DRIVERS] {
    [
        at(&s.hydration_pct),
        at(&s.tewl_pct),
        at(&s.erythema_pct),
        at(&s.pore_area_pct),
        at(&s.collagen_pct),
        at(&s.elastin_pct),
        at(&s.melanin_pct),
        at(&s.elasticity_pct),
        at(&s.wrinkle_pct),
    ]
}

/// Two times closer than this (days, about 0.1 s) are the same time.
const SAME_TIME_D: f64 = 1e-6;

/// The series just before `day` (its left limit), for a reading taken before a session that
/// starts at `day`. Before the first sample nothing has happened yet: the baseline, 0 %. A
/// series that records a jump as two samples at the same time gives the first of them;
/// otherwise the limit is extrapolated linearly from the last two samples before `day`
/// (second-order accurate where the outcome is smooth before the session), or is the last
/// sample when only one precedes `day` or a session falls between the two.
fn left_limit(s: &Series, sessions_d: &[f64], day: f64) -> [f64; N_DRIVERS] {
    let t = &s.times_d;
    // First sample at or after `day`.
    let j = t.partition_point(|&x| x < day - SAME_TIME_D);
    if j + 1 < t.len()
        && (t[j] - day).abs() <= SAME_TIME_D
        && (t[j + 1] - t[j]).abs() <= SAME_TIME_D
    {
        return drivers_at(s, |v| v[j]);
    }
    if j == 0 {
        return [0.0; N_DRIVERS];
    }
    let last = j - 1;
    let smooth_before = last >= 1
        && t[last] - t[last - 1] > SAME_TIME_D
        && !sessions_d
            .iter()
            .any(|&d| d > t[last - 1] + SAME_TIME_D && d <= t[last] + SAME_TIME_D);
    if !smooth_before {
        return drivers_at(s, |v| v[last]);
    }
    let slope = (day - t[last]) / (t[last] - t[last - 1]);
    drivers_at(s, |v| v[last] + slope * (v[last] - v[last - 1]))
}

/// The outcomes a reading on `day` sees. Readings are taken before the procedure: the day-0
/// visit reads the person's baseline (0 %), and a visit on the day of a session reads the
/// skin just before that session.
pub fn at_visit(s: &Series, sessions_d: &[f64], day: f64) -> [f64; N_DRIVERS] {
    let on_session = sessions_d.iter().any(|&d| (d - day).abs() <= SAME_TIME_D);
    if day <= SAME_TIME_D || on_session {
        left_limit(s, sessions_d, day)
    } else {
        sample_at(s, day)
    }
}

/// The response model over a trial's arms: one transport run per arm.
pub struct ModelResponder {
    templates: Vec<(InVivo, Simulation)>,
    /// Per arm, the multiplier of its vesicle delivery: a new study's product dose around
    /// its class's ([`ModelResponder::new_study`]); 1 for the shipped parameters and for
    /// arms without vesicles.
    arm_dose: Vec<f64>,
    rp: ResponseParams,
    visits: Vec<f64>,
    grid: Option<Vec<Grid>>,
}

/// Grid axes: log uptake, effective matrix multiplier, barrier multiplier.
struct Grid {
    axes: [Vec<f64>; 3],
    /// `[node][visit][driver]`, nodes in row-major order of the axes.
    values: Vec<VisitPcts>,
}

/// Nodes per grid axis (log uptake, matrix, barrier).
pub const GRID_NODES: [usize; 3] = [13, 9, 9];

impl ModelResponder {
    /// Run the transport of every arm (in parallel); `mode` picks exact or grid responses.
    pub fn new(
        trial: &Trial,
        tp: &TransportParams,
        rp: &ResponseParams,
    ) -> Result<ModelResponder, exoskin_transport::TransportError> {
        Self::new_study(trial, tp, rp, 0.0)
    }

    /// [`ModelResponder::new`] for one new study: every arm whose product carries vesicles
    /// has its delivery multiplied by `exp(study_dose_spread z)`, as a new product's dose
    /// and potency vary around its class's (`z` standard normal; 0 gives [`Self::new`]).
    pub fn new_study(
        trial: &Trial,
        tp: &TransportParams,
        rp: &ResponseParams,
        z: f64,
    ) -> Result<ModelResponder, exoskin_transport::TransportError> {
        let dose = (rp.v.study_dose_spread * z).exp();
        let arm_dose = trial
            .arms
            .iter()
            .map(|a| {
                if exoskin_response::effect::carries_vesicles(&a.scenario, rp) {
                    dose
                } else {
                    1.0
                }
            })
            .collect();
        let templates: Vec<(InVivo, Simulation)> = trial
            .arms
            .par_iter()
            .map(|a| {
                Ok((
                    a.scenario.clone(),
                    try_simulate_in_vivo(&a.scenario, tp, rp)?,
                ))
            })
            .collect::<Result<_, exoskin_transport::TransportError>>()?;
        let mut visits = trial.visits_days.clone();
        if trial.design == Design::Crossover {
            // Period 2's visits on the period-1 product's clock: its carryover.
            let start = trial.period2_start_days();
            visits.extend(trial.visits_days.iter().map(|d| start + d));
        }
        let mut m = ModelResponder {
            templates,
            arm_dose,
            rp: rp.clone(),
            visits,
            grid: None,
        };
        let sides = match trial.design {
            Design::SplitFace | Design::Crossover => 2 * trial.participants,
            Design::Parallel => trial.participants,
        };
        let grid_cost: usize = GRID_NODES.iter().product();
        let use_grid = match trial.response {
            ResponseMode::Exact => false,
            ResponseMode::Grid => true,
            ResponseMode::Auto => sides > grid_cost,
        };
        if use_grid {
            m.build_grid(trial);
        }
        Ok(m)
    }

    /// Whether participants are interpolated on the grid.
    pub fn uses_grid(&self) -> bool {
        self.grid.is_some()
    }

    /// Response runs the grid took, all arms together (0 without a grid).
    pub fn grid_runs(&self) -> usize {
        self.grid
            .as_ref()
            .map_or(0, |g| g.iter().map(|x| x.values.len()).sum())
    }

    fn params(&self, matrix: f64, barrier: f64) -> ResponseParams {
        let mut rp = self.rp.clone();
        for g in MATRIX_GAINS {
            rp.set(g, self.rp.value(g).unwrap_or(0.0) * matrix)
                .expect("known parameter");
        }
        for g in BARRIER_GAINS {
            rp.set(g, self.rp.value(g).unwrap_or(0.0) * barrier)
                .expect("known parameter");
        }
        rp
    }

    /// One `respond` run for a participant (what the grid interpolates).
    pub fn exact(&self, arm: usize, f: &Factors) -> VisitPcts {
        let (v, sim) = &self.templates[arm];
        let mut v = v.clone();
        v.skin.age_years = f.age_years;
        let rp = self.params(f.matrix, f.barrier);
        let o = respond(
            &v,
            &sim.transport,
            sim.wound.as_ref(),
            sim.channel.as_ref(),
            f.delivery * self.arm_dose[arm],
            &rp,
        );
        let sessions_d: Vec<f64> = v.sessions_h.iter().map(|h| h / 24.0).collect();
        self.visits
            .iter()
            .map(|&d| at_visit(&o.series, &sessions_d, d))
            .collect()
    }

    fn build_grid(&mut self, trial: &Trial) {
        let p = &trial.population;
        let sig = |cv: f64| (1.0 + cv * cv).ln().sqrt();
        let span = 4.5;
        let sd_del = (sig(p.delivery_cv).powi(2) + sig(p.side_cv).powi(2)).sqrt();
        let mu_del = -0.5 * (sig(p.delivery_cv).powi(2) + sig(p.side_cv).powi(2));
        let (amin, amax) = match p.age_years {
            AgeDistribution::Uniform { min, max } | AgeDistribution::Normal { min, max, .. } => {
                (min, max)
            }
        };
        let axis = |lo: f64, hi: f64, n: usize| -> Vec<f64> {
            if hi - lo < 1e-12 {
                vec![lo]
            } else {
                (0..n)
                    .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
                    .collect()
            }
        };
        let lognormal_range = |cv: f64| {
            let s = sig(cv);
            (
                (-span * s - 0.5 * s * s).exp(),
                (span * s - 0.5 * s * s).exp(),
            )
        };
        let (mlo, mhi) = lognormal_range(p.matrix_response_cv);
        let (blo, bhi) = lognormal_range(p.barrier_response_cv);
        let grids: Vec<Grid> = (0..self.templates.len())
            .map(|arm| {
                let t_age = self.templates[arm].0.skin.age_years;
                let ratio = |a: f64| age_factor(a, &self.rp.v) / age_factor(t_age, &self.rp.v);
                let (r1, r2) = (ratio(amin), ratio(amax));
                let (dlo, dhi) = (mu_del - span * sd_del, mu_del + span * sd_del);
                // An arm whose response does not move with the delivery (no vesicles: the
                // vehicle, standard care) needs one node on that axis, not 13: checked, not
                // assumed, by the two ends of the axis giving the same response to the bit.
                let at = |d: f64| {
                    self.exact(
                        arm,
                        &Factors {
                            age_years: t_age,
                            delivery: d.exp(),
                            matrix: 1.0,
                            barrier: 1.0,
                        },
                    )
                };
                let moves = at(dlo) != at(dhi);
                let axes = [
                    if moves {
                        axis(dlo, dhi, GRID_NODES[0])
                    } else {
                        vec![mu_del]
                    },
                    axis(mlo * r1.min(r2), mhi * r1.max(r2), GRID_NODES[1]),
                    axis(blo, bhi, GRID_NODES[2]),
                ];
                let mut nodes: Vec<[f64; 3]> = Vec::new();
                for &a in &axes[0] {
                    for &b in &axes[1] {
                        for &c in &axes[2] {
                            nodes.push([a, b, c]);
                        }
                    }
                }
                let values: Vec<VisitPcts> = nodes
                    .par_iter()
                    .map(|n| {
                        self.exact(
                            arm,
                            &Factors {
                                age_years: t_age,
                                delivery: n[0].exp(),
                                matrix: n[1],
                                barrier: n[2],
                            },
                        )
                    })
                    .collect();
                Grid { axes, values }
            })
            .collect();
        self.grid = Some(grids);
    }

    fn interpolate(&self, g: &Grid, arm: usize, f: &Factors) -> VisitPcts {
        let t_age = self.templates[arm].0.skin.age_years;
        let x = [
            f.delivery.ln(),
            f.matrix * age_factor(f.age_years, &self.rp.v) / age_factor(t_age, &self.rp.v),
            f.barrier,
        ];
        // Index and weight on each axis (clamped at the ends).
        let mut idx = [(0usize, 0usize, 0.0f64); 3];
        for k in 0..3 {
            let a = &g.axes[k];
            if a.len() == 1 {
                idx[k] = (0, 0, 0.0);
                continue;
            }
            let j = a.partition_point(|&v| v <= x[k]).clamp(1, a.len() - 1);
            let w = ((x[k] - a[j - 1]) / (a[j] - a[j - 1])).clamp(0.0, 1.0);
            idx[k] = (j - 1, j, w);
        }
        let (n1, n2) = (g.axes[1].len(), g.axes[2].len());
        let mut out = vec![[0.0; N_DRIVERS]; self.visits.len()];
        for (i0, w0) in [(idx[0].0, 1.0 - idx[0].2), (idx[0].1, idx[0].2)] {
            for (i1, w1) in [(idx[1].0, 1.0 - idx[1].2), (idx[1].1, idx[1].2)] {
                for (i2, w2) in [(idx[2].0, 1.0 - idx[2].2), (idx[2].1, idx[2].2)] {
                    let w = w0 * w1 * w2;
                    if w == 0.0 {
                        continue;
                    }
                    let node = &g.values[(i0 * n1 + i1) * n2 + i2];
                    for (o, v) in out.iter_mut().zip(node) {
                        for d in 0..N_DRIVERS {
                            o[d] += w * v[d];
                        }
                    }
                }
            }
        }
        out
    }
}

impl Responder for ModelResponder {
    fn visit_pcts(&self, arm: usize, f: &Factors) -> VisitPcts {
        match &self.grid {
            Some(g) => self.interpolate(&g[arm], arm, f),
            None => self.exact(arm, f),
        }
    }
}

/// Readings of all participants: `values[((participant * sides + side) * visits + visit) *
/// endpoints + endpoint]`, NaN after a dropout. In a crossover a "side" is a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings {
    pub design: Design,
    pub participants: usize,
    /// 2 for split-face (side = arm) and crossover (side = period), 1 for parallel.
    pub sides: usize,
    pub visits: usize,
    pub endpoints: usize,
    /// Arm of each participant (parallel), arm of the first period (crossover) or empty
    /// (split-face).
    pub arm_of: Vec<u8>,
    pub values: Vec<f64>,
}

impl Readings {
    pub fn get(&self, participant: usize, side: usize, visit: usize, endpoint: usize) -> f64 {
        self.values
            [((participant * self.sides + side) * self.visits + visit) * self.endpoints + endpoint]
    }

    /// The arm a participant's side belongs to.
    pub fn arm(&self, participant: usize, side: usize) -> usize {
        match self.design {
            Design::SplitFace => side,
            Design::Parallel => self.arm_of[participant] as usize,
            // Two arms, 0 and 1: period 2 has the other.
            Design::Crossover => (self.arm_of[participant] as usize + side) % 2,
        }
    }
}

fn draw_age(r: &mut Rng, a: &AgeDistribution) -> f64 {
    match *a {
        AgeDistribution::Uniform { min, max } => min + (max - min) * r.uniform(),
        AgeDistribution::Normal { mean, sd, min, max } => {
            for _ in 0..1000 {
                let x = mean + sd * r.normal();
                if (min..=max).contains(&x) {
                    return x;
                }
            }
            mean
        }
    }
}

/// Simulate one participant: the readings of their sides (`[side][visit][endpoint]`).
pub fn participant(
    trial: &Trial,
    seed: u64,
    index: usize,
    arm_of: usize,
    responder: &dyn Responder,
) -> Vec<f64> {
    let sides = trial.design.sides();
    let mut out = vec![0.0; sides * trial.visits_days.len() * trial.endpoints.len()];
    participant_into(trial, seed, index, arm_of, responder, &mut out);
    out
}

/// [`participant`], writing into `out` (`sides x visits x endpoints` values).
pub fn participant_into(
    trial: &Trial,
    seed: u64,
    index: usize,
    arm_of: usize,
    responder: &dyn Responder,
    out: &mut [f64],
) {
    let p = &trial.population;
    let mut r = Rng::for_participant(seed, index as u64, 0);
    let age = draw_age(&mut r, &p.age_years);
    let delivery = r.lognormal_cv(p.delivery_cv);
    let matrix = r.lognormal_cv(p.matrix_response_cv);
    let barrier = r.lognormal_cv(p.barrier_response_cv);
    let v = trial.visits_days.len();
    // Visits over the whole trial (both periods of a crossover).
    let all_visits = v * if trial.design == Design::Crossover {
        2
    } else {
        1
    };
    let completed = if r.uniform() * 100.0 < p.dropout_pct {
        1 + r.below(all_visits - 1)
    } else {
        all_visits
    };
    let person_base: Vec<f64> = trial
        .endpoints
        .iter()
        .map(|e| e.instrument.baseline_mean + e.instrument.baseline_sd * r.normal())
        .collect();
    let sides: Vec<usize> = match trial.design {
        Design::SplitFace => vec![0, 1],
        Design::Parallel => vec![arm_of],
        Design::Crossover => vec![arm_of, 1 - arm_of],
    };
    let mut slot = out.iter_mut();
    let mut noise = Rng::for_participant(seed, index as u64, 1);
    // The period-1 product's effect at the period-2 visits (crossover).
    let mut carryover: Option<VisitPcts> = None;
    for (period, &arm) in sides.iter().enumerate() {
        let side_delivery = r.lognormal_cv(p.side_cv);
        let base: Vec<f64> = trial
            .endpoints
            .iter()
            .zip(&person_base)
            .map(|(e, b)| {
                (b + e.instrument.side_sd * r.normal()).max(0.05 * e.instrument.baseline_mean)
            })
            .collect();
        let mut pcts = responder.visit_pcts(
            arm,
            &Factors {
                age_years: age,
                delivery: delivery * side_delivery,
                matrix,
                barrier,
            },
        );
        if trial.design == Design::Crossover {
            let later = pcts.split_off(v.min(pcts.len()));
            if let Some(c) = &carryover {
                for (pc, add) in pcts.iter_mut().zip(c) {
                    for d in 0..N_DRIVERS {
                        pc[d] += add[d];
                    }
                }
            }
            if period == 0 && later.len() == v {
                carryover = Some(later);
            }
        }
        // Visits before this period's (crossover: period 2 follows period 1's visits).
        let offset = if trial.design == Design::Crossover {
            period * v
        } else {
            0
        };
        for (k, pc) in pcts.iter().enumerate() {
            for (e, b) in trial.endpoints.iter().zip(&base) {
                let i = &e.instrument;
                let driver = match i.driver {
                    Driver::Hydration => pc[HYDRATION],
                    Driver::Tewl => pc[TEWL],
                    Driver::Erythema => pc[ERYTHEMA],
                    Driver::PoreArea => pc[PORE],
                    Driver::Collagen => pc[COLLAGEN],
                    Driver::Elastin => pc[ELASTIN],
                    Driver::Melanin => pc[MELANIN],
                    Driver::Elasticity => pc[ELASTICITY],
                    Driver::Wrinkle => pc[WRINKLE],
                    Driver::Matrix => 0.5 * (pc[COLLAGEN] + pc[ELASTIN]),
                    Driver::None => 0.0,
                };
                let z = noise.normal();
                let reading = b
                    * (1.0 + i.coupling * driver / 100.0).max(0.0)
                    * (1.0 + i.noise_cv * z).max(0.0);
                *slot.next().expect("out holds sides x visits x endpoints") =
                    if offset + k < completed {
                        reading
                    } else {
                        f64::NAN
                    };
            }
        }
    }
}

/// Simulate every participant of `trial` (with `participants` per arm or per trial, and
/// `seed`), in parallel; `progress(done, total)` is called as participants finish.
pub fn simulate(
    trial: &Trial,
    participants: usize,
    seed: u64,
    responder: &dyn Responder,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Readings {
    let (total, sides) = match trial.design {
        Design::SplitFace | Design::Crossover => (participants, 2),
        Design::Parallel => (participants * trial.arms.len(), 1),
    };
    let arm_of: Vec<u8> = match trial.design {
        Design::SplitFace => Vec::new(),
        Design::Parallel => (0..total).map(|i| (i % trial.arms.len()) as u8).collect(),
        Design::Crossover => {
            let (t, c) = (trial.treatments()[0] as u8, trial.control() as u8);
            (0..total).map(|i| if i % 2 == 0 { t } else { c }).collect()
        }
    };
    let done = AtomicUsize::new(0);
    let step = (total / 200).max(1);
    let stride = sides * trial.visits_days.len() * trial.endpoints.len();
    let mut values = vec![0.0; total * stride];
    values
        .par_chunks_mut(stride.max(1))
        .enumerate()
        .for_each(|(i, row)| {
            let a = arm_of.get(i).copied().unwrap_or(0) as usize;
            participant_into(trial, seed, i, a, responder, row);
            if let Some(p) = progress {
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                #[allow(clippy::manual_is_multiple_of)] // MSRV 1.85
                let report = d % step == 0 || d == total;
                if report {
                    p(d, total);
                }
            }
        });
    Readings {
        design: trial.design,
        participants: total,
        sides,
        visits: trial.visits_days.len(),
        endpoints: trial.endpoints.len(),
        arm_of,
        values,
    }
}
