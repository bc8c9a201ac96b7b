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
//! * `exact`: one response run per participant and side (about 2 ms each in release
//!   builds), the arm's transport held fixed and the wound healing at the participant's age.
//! * `grid`: where age enters the model only through `age_factor`, which multiplies the
//!   matrix gains, a participant is fully described by three numbers: log uptake, effective
//!   matrix multiplier (`matrix x age_factor(age) / age_factor(template age)`) and barrier
//!   multiplier. Where age also slows wound healing or barrier recovery (checked per arm at
//!   the ends of the population's ages, not assumed), age is a fourth axis of
//!   [`AGE_NODES`] nodes instead. Response runs on a 13 x 9 x 9 (x 5) grid spanning +-4.5 SD
//!   of these, and participants are interpolated multilinearly; the cost no longer grows with
//!   the number of participants. The tests bound the interpolation error against exact runs
//!   on every bundled trial.
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
use exoskin_model::{Observer, Stopped, Tally};
use exoskin_response::tissue::{age_factor, AGEING_FROM_YEARS};
use exoskin_response::{try_simulate_in_vivo, ParamId, ResponseParams, Series, Simulation};
use rayon::prelude::*;

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
pub const MATRIX_GAINS: [ParamId; 3] = [
    ParamId::remodelling_per_injury,
    ParamId::fibroblast_activation_per_inflammation,
    ParamId::ev_matrix_effect,
];
/// Barrier gains scaled together.
pub const BARRIER_GAINS: [ParamId; 2] = [ParamId::ev_hydration_effect, ParamId::ev_barrier_effect];

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

/// Grid axes: log uptake, matrix multiplier (with the age factor folded in where `folds`),
/// barrier multiplier, age (one node where `folds`).
struct Grid {
    axes: [Vec<f64>; 4],
    folds: bool,
    /// `[node][visit][driver]`, nodes in row-major order of the axes.
    values: Vec<VisitPcts>,
}

/// Nodes per grid axis (log uptake, matrix, barrier).
pub const GRID_NODES: [usize; 3] = [13, 9, 9];

/// Nodes on the age axis, for an arm whose age acts beyond the matrix gains' age factor
/// (wound healing and barrier recovery slow with age: linear in age, so few nodes do).
pub const AGE_NODES: usize = 5;

/// Nodes per grid axis for the model draws of assurance, each a responder of its own: a
/// sixth of the runs of [`GRID_NODES`]. Its interpolation error on the bundled trials'
/// participants is measured against exact runs in the tests and stays far below the
/// instrument noise and the spread of power between draws that assurance averages over.
pub const ASSURANCE_GRID_NODES: [usize; 3] = [7, 5, 5];

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
        Self::new_study_on(trial, tp, rp, z, GRID_NODES)
    }

    /// [`ModelResponder::new_study`] with `nodes` per grid axis where it uses a grid.
    pub fn new_study_on(
        trial: &Trial,
        tp: &TransportParams,
        rp: &ResponseParams,
        z: f64,
        nodes: [usize; 3],
    ) -> Result<ModelResponder, exoskin_transport::TransportError> {
        let templates = Self::arm_runs(trial, tp, rp)?;
        Ok(Self::from_runs(trial, templates, rp, z, nodes))
    }

    /// Whether every arm's transport run depends on the transport parameters alone (intact
    /// skin, or microneedle channels on their own clock), not on the response parameters (a
    /// laser's or a peel's wound, whose healing the response parameters set, closes the
    /// channels): then [`ModelResponder::arm_runs`] made under one set of response parameters
    /// serve any other exactly.
    pub fn transport_ignores_response(trial: &Trial) -> bool {
        trial.arms.iter().all(|a| {
            exoskin_response::Injury::of(&a.scenario.procedure).is_none_or(|i| i.microneedle)
        })
    }

    /// Each arm's scenario with its transport run under `tp` (and `rp`'s wound): what a
    /// responder is built from ([`ModelResponder::from_runs`]).
    pub fn arm_runs(
        trial: &Trial,
        tp: &TransportParams,
        rp: &ResponseParams,
    ) -> Result<Vec<(InVivo, Simulation)>, exoskin_transport::TransportError> {
        let carries: Vec<bool> = trial
            .arms
            .iter()
            .map(|a| exoskin_inference::effect::carries_vesicles(&a.scenario, rp))
            .collect();
        // Transport runs for the arms whose products carry vesicles; an arm without (the
        // vehicle, standard care) has a response that does not read one, so it borrows the
        // first vesicle arm's run instead of solving its own (the outcomes are the same bit
        // for bit: `Simulation::without_vesicles`).
        let donor = carries.iter().position(|&c| c);
        let runs: Vec<Option<Simulation>> = trial
            .arms
            .par_iter()
            .zip(&carries)
            .map(|(a, &c)| {
                if donor.is_some() && !c {
                    return Ok(None);
                }
                try_simulate_in_vivo(&a.scenario, tp, rp).map(Some)
            })
            .collect::<Result<_, exoskin_transport::TransportError>>()?;
        let donor_run = donor
            .and_then(|d| runs[d].as_ref())
            .map(|s| s.transport.clone());
        let templates: Vec<(InVivo, Simulation)> = trial
            .arms
            .iter()
            .zip(runs)
            .map(|(a, run)| {
                let sim = match run {
                    Some(sim) => sim,
                    None => match donor_run
                        .as_ref()
                        .and_then(|d| Simulation::without_vesicles(&a.scenario, tp, rp, d))
                    {
                        Some(sim) => sim,
                        None => try_simulate_in_vivo(&a.scenario, tp, rp)?,
                    },
                };
                Ok((a.scenario.clone(), sim))
            })
            .collect::<Result<_, exoskin_transport::TransportError>>()?;
        Ok(templates)
    }

    /// The responder of `trial` from its arms' runs ([`ModelResponder::arm_runs`]) under
    /// response parameters `rp`, a new study's dose deviate `z` and `nodes` per grid axis.
    /// Each response run recomputes the wound where `rp` heals it differently, so runs made
    /// under other response parameters serve exactly where
    /// [`ModelResponder::transport_ignores_response`].
    pub fn from_runs(
        trial: &Trial,
        templates: Vec<(InVivo, Simulation)>,
        rp: &ResponseParams,
        z: f64,
        nodes: [usize; 3],
    ) -> ModelResponder {
        let dose = (rp.v.study_dose_spread * z).exp();
        let arm_dose = trial
            .arms
            .iter()
            .map(|a| {
                if exoskin_inference::effect::carries_vesicles(&a.scenario, rp) {
                    dose
                } else {
                    1.0
                }
            })
            .collect();
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
            m.build_grid(trial, nodes);
        }
        m
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
        // The factors are positive and finite (log-normal participant factors), so a scaled
        // value is valid wherever the shipped one is: set_id cannot fail here.
        debug_assert!(matrix.is_finite() && matrix > 0.0 && barrier.is_finite() && barrier > 0.0);
        for g in MATRIX_GAINS {
            let _ = rp.set_id(g, self.rp.get(g) * matrix);
        }
        for g in BARRIER_GAINS {
            let _ = rp.set_id(g, self.rp.get(g) * barrier);
        }
        rp
    }

    /// One response run for a participant (what the grid interpolates): the arm's transport
    /// held fixed, the wound healing at the participant's own age.
    pub fn exact(&self, arm: usize, f: &Factors) -> VisitPcts {
        let (v, sim) = &self.templates[arm];
        let mut v = v.clone();
        v.skin.age_years = f.age_years;
        let rp = self.params(f.matrix, f.barrier);
        let o = sim.respond_with_delivery(&v, &rp, f.delivery * self.arm_dose[arm]);
        let sessions_d: Vec<f64> = v.sessions_h.iter().map(|h| h / 24.0).collect();
        self.visits
            .iter()
            .map(|&d| at_visit(&o.series, &sessions_d, d))
            .collect()
    }

    /// Whether age acts on `arm` only through the matrix gains' [`age_factor`], so that it
    /// folds into the matrix multiplier: checked at both ends of the population's ages, not
    /// assumed (a wound that heals more slowly with age, or a barrier that recovers more
    /// slowly, needs an age axis of its own). The fold may err by at most `tolerance`
    /// percentage points on any outcome.
    fn age_folds(&self, arm: usize, ages: (f64, f64), tolerance: f64) -> bool {
        let t_age = self.templates[arm].0.skin.age_years;
        [ages.0, ages.1].iter().all(|&a| {
            let at = |age_years: f64, matrix: f64| {
                self.exact(
                    arm,
                    &Factors {
                        age_years,
                        delivery: 1.0,
                        matrix,
                        barrier: 1.0,
                    },
                )
            };
            let ratio = age_factor(a, &self.rp.v) / age_factor(t_age, &self.rp.v);
            let (direct, folded) = (at(a, 1.0), at(t_age, ratio));
            direct
                .iter()
                .flatten()
                .zip(folded.iter().flatten())
                .all(|(x, y)| (x - y).abs() <= tolerance)
        })
    }

    fn build_grid(&mut self, trial: &Trial, nodes: [usize; 3]) {
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
        // Age folds into the matrix multiplier where doing so errs by at most 2 % of the
        // least noisy instrument's noise (in percentage points of its outcome).
        let fold_tolerance = 0.02
            * trial
                .endpoints
                .iter()
                .map(|e| 100.0 * e.instrument.noise_cv / e.instrument.coupling.abs().max(1e-9))
                .fold(f64::INFINITY, f64::min)
                .min(100.0);
        let grids: Vec<Grid> = (0..self.templates.len())
            .map(|arm| {
                let t_age = self.templates[arm].0.skin.age_years;
                let ratio = |a: f64| age_factor(a, &self.rp.v) / age_factor(t_age, &self.rp.v);
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
                let folds =
                    amax - amin < 1e-12 || self.age_folds(arm, (amin, amax), fold_tolerance);
                let (matrix_axis, age_axis) = if folds {
                    let (r1, r2) = (ratio(amin), ratio(amax));
                    (
                        axis(mlo * r1.min(r2), mhi * r1.max(r2), nodes[1]),
                        vec![t_age],
                    )
                } else {
                    // Evenly spaced, and a node on the kink where ageing begins.
                    let mut ages = axis(amin, amax, AGE_NODES);
                    if amin < AGEING_FROM_YEARS && AGEING_FROM_YEARS < amax {
                        ages.push(AGEING_FROM_YEARS);
                        ages.sort_by(f64::total_cmp);
                    }
                    (axis(mlo, mhi, nodes[1]), ages)
                };
                let axes = [
                    if moves {
                        axis(dlo, dhi, nodes[0])
                    } else {
                        vec![mu_del]
                    },
                    matrix_axis,
                    axis(blo, bhi, nodes[2]),
                    age_axis,
                ];
                let mut points: Vec<[f64; 4]> = Vec::new();
                for &a in &axes[0] {
                    for &b in &axes[1] {
                        for &c in &axes[2] {
                            for &d in &axes[3] {
                                points.push([a, b, c, d]);
                            }
                        }
                    }
                }
                let values: Vec<VisitPcts> = points
                    .par_iter()
                    .map(|n| {
                        self.exact(
                            arm,
                            &Factors {
                                age_years: n[3],
                                delivery: n[0].exp(),
                                matrix: n[1],
                                barrier: n[2],
                            },
                        )
                    })
                    .collect();
                Grid {
                    axes,
                    folds,
                    values,
                }
            })
            .collect();
        self.grid = Some(grids);
    }

    fn interpolate(&self, g: &Grid, arm: usize, f: &Factors) -> VisitPcts {
        let t_age = self.templates[arm].0.skin.age_years;
        let x = if g.folds {
            [
                f.delivery.ln(),
                f.matrix * age_factor(f.age_years, &self.rp.v) / age_factor(t_age, &self.rp.v),
                f.barrier,
                t_age,
            ]
        } else {
            [f.delivery.ln(), f.matrix, f.barrier, f.age_years]
        };
        // Lower node and weight of the upper node on each axis (clamped at the ends).
        let mut idx = [(0usize, 0.0f64); 4];
        for k in 0..4 {
            let a = &g.axes[k];
            if a.len() == 1 {
                continue;
            }
            let j = a.partition_point(|&v| v <= x[k]).clamp(1, a.len() - 1);
            let w = ((x[k] - a[j - 1]) / (a[j] - a[j - 1])).clamp(0.0, 1.0);
            idx[k] = (j - 1, w);
        }
        let len = |k: usize| g.axes[k].len();
        let mut out = vec![[0.0; N_DRIVERS]; self.visits.len()];
        // The 16 corners of the cell; an axis with one node contributes its node once.
        for corner in 0..16usize {
            let mut w = 1.0;
            let mut node = 0usize;
            for (k, &(lo, wk)) in idx.iter().enumerate() {
                let upper = corner >> k & 1 == 1;
                if len(k) == 1 && upper {
                    w = 0.0;
                    break;
                }
                w *= if upper { wk } else { 1.0 - wk };
                node = node * len(k) + lo + usize::from(upper);
            }
            if w == 0.0 {
                continue;
            }
            for (o, v) in out.iter_mut().zip(&g.values[node]) {
                for d in 0..N_DRIVERS {
                    o[d] += w * v[d];
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
    participant_reading(trial, seed, index, arm_of, responder, None, out)
}

/// The readings an analysis reads: the endpoints and the visits (of each period) it uses.
/// The others are left NaN without being drawn, and their random numbers are skipped, not
/// computed, so the readings kept are those of a full simulation bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct Needed {
    pub endpoints: Vec<bool>,
    pub visits: Vec<bool>,
}

impl Needed {
    /// What [`crate::analysis::primary_p`] reads at `visit`: the baseline and that visit, of
    /// the primary endpoint (of every endpoint when a multiplicity adjustment needs them).
    pub fn primary(trial: &Trial, visit: usize) -> Needed {
        let all = trial.multiplicity != crate::multiplicity::Multiplicity::None;
        Needed {
            endpoints: (0..trial.endpoints.len())
                .map(|e| all || e == trial.primary)
                .collect(),
            visits: (0..trial.visits_days.len())
                .map(|k| k == 0 || k == visit)
                .collect(),
        }
    }
}

fn participant_reading(
    trial: &Trial,
    seed: u64,
    index: usize,
    arm_of: usize,
    responder: &dyn Responder,
    needed: Option<&Needed>,
    out: &mut [f64],
) {
    let wants_endpoint = |e: usize| needed.is_none_or(|n| n.endpoints[e]);
    let wants = |k: usize, e: usize| needed.is_none_or(|n| n.visits[k] && n.endpoints[e]);
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
        .enumerate()
        .map(|(k, e)| {
            if wants_endpoint(k) {
                e.instrument.baseline_mean + e.instrument.baseline_sd * r.normal()
            } else {
                r.skip_normal();
                f64::NAN
            }
        })
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
            .enumerate()
            .map(|(k, (e, b))| {
                if wants_endpoint(k) {
                    (b + e.instrument.side_sd * r.normal()).max(0.05 * e.instrument.baseline_mean)
                } else {
                    r.skip_normal();
                    f64::NAN
                }
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
            for (ei, (e, b)) in trial.endpoints.iter().zip(&base).enumerate() {
                let slot = slot.next().expect("out holds sides x visits x endpoints");
                if !wants(k, ei) {
                    noise.skip_normal();
                    *slot = f64::NAN;
                    continue;
                }
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
                *slot = if offset + k < completed {
                    reading
                } else {
                    f64::NAN
                };
            }
        }
    }
}

/// Simulate every participant of `trial` (with `participants` per arm or per trial, and
/// `seed`), in parallel.
pub fn simulate(
    trial: &Trial,
    participants: usize,
    seed: u64,
    responder: &dyn Responder,
) -> Readings {
    draw(trial, participants, seed, responder, None, None)
}

/// [`simulate`], telling `observer` how many participants are done (out of the total) and
/// stopping when it says so.
pub fn simulate_observed(
    trial: &Trial,
    participants: usize,
    seed: u64,
    responder: &dyn Responder,
    observer: &dyn Observer,
) -> Result<Readings, Stopped> {
    let total = participants_of(trial, participants).0;
    let tally = Tally::new(observer, total);
    let readings = draw(trial, participants, seed, responder, None, Some(&tally));
    observer.stop().check()?;
    Ok(readings)
}

/// [`simulate`], drawing only the readings in `needed`; the others are NaN.
pub fn simulate_needed(
    trial: &Trial,
    participants: usize,
    seed: u64,
    responder: &dyn Responder,
    needed: &Needed,
) -> Readings {
    draw(trial, participants, seed, responder, Some(needed), None)
}

/// The participants simulated in all, and the sides each is read on.
fn participants_of(trial: &Trial, participants: usize) -> (usize, usize) {
    match trial.design {
        Design::SplitFace | Design::Crossover => (participants, 2),
        Design::Parallel => (participants * trial.arms.len(), 1),
    }
}

/// The participants' readings (only those in `needed` where given), counted on `tally`
/// where given: once it says stop, the participants left are skipped (their readings stay
/// 0; the caller discards them).
fn draw(
    trial: &Trial,
    participants: usize,
    seed: u64,
    responder: &dyn Responder,
    needed: Option<&Needed>,
    tally: Option<&Tally>,
) -> Readings {
    let (total, sides) = participants_of(trial, participants);
    let arm_of: Vec<u8> = match trial.design {
        Design::SplitFace => Vec::new(),
        Design::Parallel => (0..total).map(|i| (i % trial.arms.len()) as u8).collect(),
        Design::Crossover => {
            let (t, c) = (trial.treatments()[0] as u8, trial.control() as u8);
            (0..total).map(|i| if i % 2 == 0 { t } else { c }).collect()
        }
    };
    let stride = sides * trial.visits_days.len() * trial.endpoints.len();
    let mut values = vec![0.0; total * stride];
    values
        .par_chunks_mut(stride.max(1))
        .enumerate()
        .for_each(|(i, row)| {
            if tally.is_some_and(Tally::stopped) {
                return;
            }
            let a = arm_of.get(i).copied().unwrap_or(0) as usize;
            participant_reading(trial, seed, i, a, responder, needed, row);
            if let Some(t) = tally {
                // a stop is seen by the next participant, and by the caller at the end
                let _ = t.add(1);
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
