//! The time loop shared by every geometry: doses, output times, adaptive steps, uptake
//! saturation, and the bookkeeping that closes the mass balance.

use crate::error::TransportError;
use crate::network::{
    bandwidth_without_first, Accounts, Network, Stepper, N_SINKS, UM_ML_TO_PER_CM2,
};
use serde::Serialize;

/// An amount put into a cell at a time (a product application, a finite donor).
#[derive(Debug, Clone)]
pub struct Dose {
    pub time_h: f64,
    pub cell: usize,
    /// Total over all size classes, `particles/mL * um`.
    pub amount: f64,
}

/// Properties that change with time: called before each step with the step's end time.
pub type Update<'a> = dyn FnMut(f64, &mut [Network]) + 'a;

/// What the engine needs: one network per size class (same topology), the class weights,
/// names of compartments, doses and the time grid.
pub struct Setup<'a> {
    pub nets: Vec<Network>,
    pub weights: Vec<f64>,
    pub compartments: Vec<String>,
    /// Saturation capacity per cell for uptake, `particles/mL * um` (0 where no cells take up).
    pub uptake_capacity: Vec<f64>,
    /// First-order loss of internalized vesicles (frees capacity), 1/h.
    pub lysosomal_rate_per_h: f64,
    pub doses: Vec<Dose>,
    pub duration_h: f64,
    pub output_interval_h: f64,
    pub dt_initial_h: f64,
    pub dt_max_h: f64,
    /// Largest step once the last dose is more than `quiet_after_h` old (slow phase between
    /// applications); equal to `dt_max_h` to disable.
    pub dt_quiet_max_h: f64,
    pub quiet_after_h: f64,
    pub update: Option<Box<Update<'a>>>,
}

/// Time series and final state of a run; amounts per cm2 of skin.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub times_h: Vec<f64>,
    /// Compartment names, in the order of `amounts_per_cm2`.
    pub compartments: Vec<String>,
    /// `amounts_per_cm2[k][t]`: particles per cm2 in compartment k at output time t.
    pub amounts_per_cm2: Vec<Vec<f64>>,
    /// Cumulative sinks (names in [`SINK_NAMES`]), per cm2, at each output time.
    pub sinks_per_cm2: Vec<Vec<f64>>,
    /// Cumulative amount into the receptor (drains), per cm2.
    pub drained_per_cm2: Vec<f64>,
    /// Cumulative amount applied (doses plus infinite-donor inflow), per cm2.
    pub applied_per_cm2: Vec<f64>,
    /// Cumulative net amount across tracked edges (into the dermis), per cm2.
    pub tracked_per_cm2: Vec<f64>,
    /// Final state: concentration per cell (tissue concentration, particles/mL) and cell
    /// compartment, for profiles.
    pub final_concentration_per_ml: Vec<f64>,
    pub cell_compartment: Vec<usize>,
    pub steps: usize,
}

impl Run {
    /// Total of everything found at the last output over the applied amount; None when
    /// nothing was applied (a vehicle without vesicles).
    pub fn recovery(&self) -> Option<f64> {
        let t = self.times_h.len() - 1;
        let found: f64 = self.amounts_per_cm2.iter().map(|c| c[t]).sum::<f64>()
            + self.sinks_per_cm2.iter().map(|c| c[t]).sum::<f64>()
            + self.drained_per_cm2[t];
        let applied = self.applied_per_cm2[t];
        (applied > 0.0).then(|| found / applied)
    }
}

/// Run the setup to its duration. Fails on a setup with nothing to solve, and when a step
/// cannot keep the state finite (see [`Stepper::step`]); every number of a returned run is
/// finite.
pub fn run(mut s: Setup) -> Result<Run, TransportError> {
    let ncls = s.nets.len();
    let n = s.nets.first().map_or(0, Network::len);
    if ncls == 0 || n == 0 {
        return Err(TransportError::Empty {
            what: "no size classes or no cells",
        });
    }
    for (what, v) in [
        ("duration", s.duration_h),
        ("output interval", s.output_interval_h),
        ("initial time step", s.dt_initial_h),
        ("largest time step", s.dt_max_h),
        ("quiet-phase time step", s.dt_quiet_max_h),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(TransportError::Parameter {
                name: what,
                value: v,
                requirement: "a finite number greater than 0",
            });
        }
    }
    let bw = s.nets.iter().map(|x| x.bandwidth()).max().unwrap_or(0);
    let mut m = vec![vec![0.0; n]; ncls];
    let mut acc = vec![Accounts::default(); ncls];
    let mut internal = vec![0.0; n];
    let mut uptake_step = vec![0.0; n];
    // Without uptake capacity anywhere, saturations stay 0 and nothing is internalized.
    let uptake = s.uptake_capacity.iter().any(|&c| c > 0.0);
    let mut saturation = vec![0.0; n];
    // Cell 0 is solved as a border when the band is then less than half as wide (a grid
    // numbered by columns, whose film touches every column's top cell).
    let bw_rest = s
        .nets
        .iter()
        .map(bandwidth_without_first)
        .max()
        .unwrap_or(0);
    let border = n > 1 && 2 * bw_rest < bw;
    let mut stepper = Stepper::new(n, if border { bw_rest } else { bw }, ncls, border);
    // Without property updates and without saturable uptake (saturation then stays 0 in
    // every cell) the step matrix is a function of the step size alone: reuse its factors.
    stepper.reuse_factors(s.update.is_none() && !uptake);

    let mut applied = 0.0;

    let mut doses = s.doses.clone();
    doses.retain(|d| d.time_h <= s.duration_h);
    doses.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
    let nout = (s.duration_h / s.output_interval_h).round().max(1.0) as usize;
    let out_time = |k: usize| {
        if k == nout {
            s.duration_h
        } else {
            s.output_interval_h * k as f64
        }
    };
    let ncomp = s.compartments.len();
    let mut r = Run {
        times_h: Vec::with_capacity(nout + 1),
        compartments: s.compartments.clone(),
        amounts_per_cm2: (0..ncomp).map(|_| Vec::with_capacity(nout + 1)).collect(),
        sinks_per_cm2: (0..N_SINKS).map(|_| Vec::with_capacity(nout + 1)).collect(),
        drained_per_cm2: Vec::with_capacity(nout + 1),
        applied_per_cm2: Vec::with_capacity(nout + 1),
        tracked_per_cm2: Vec::with_capacity(nout + 1),
        final_concentration_per_ml: vec![],
        cell_compartment: s.nets[0].compartment.clone(),
        steps: 0,
    };

    let eps = 1e-9 * s.duration_h.max(1.0);
    let mut t = 0.0;
    let mut next_dose = 0;
    let mut next_out = 0;
    let mut dt = s.dt_initial_h;
    let mut last_dose = f64::NEG_INFINITY;
    if let Some(u) = s.update.as_mut() {
        u(0.0, &mut s.nets);
    }
    loop {
        while next_dose < doses.len() && doses[next_dose].time_h <= t + eps {
            let d = &doses[next_dose];
            for (mc, w) in m.iter_mut().zip(&s.weights) {
                mc[d.cell] += d.amount * w;
            }
            applied += d.amount;
            next_dose += 1;
            dt = s.dt_initial_h;
            last_dose = t;
        }
        if next_out <= nout && out_time(next_out) <= t + eps {
            record(&mut r, &s.nets[0], &m, &acc, applied, t);
            next_out += 1;
        }
        if t >= s.duration_h - eps {
            break;
        }
        let mut target = out_time(next_out.min(nout));
        if next_dose < doses.len() {
            target = target.min(doses[next_dose].time_h);
        }
        let h = dt.min(target - t).max(eps * 0.5);
        let h = if target - t - h < 1e-3 * h {
            target - t
        } else {
            h
        };
        if let Some(u) = s.update.as_mut() {
            u(t + h, &mut s.nets);
        }
        if uptake {
            for i in 0..n {
                saturation[i] = if s.uptake_capacity[i] > 0.0 {
                    (1.0 - internal[i] / s.uptake_capacity[i]).max(0.0)
                } else {
                    0.0
                };
                uptake_step[i] = 0.0;
            }
        }
        stepper.step(
            &s.nets,
            &mut m,
            h,
            &saturation,
            &mut acc,
            &mut uptake_step,
            t + h,
        )?;
        if uptake {
            let keep = (-s.lysosomal_rate_per_h * h).exp();
            for i in 0..n {
                internal[i] = internal[i] * keep + uptake_step[i];
            }
        }
        t = if (target - (t + h)).abs() <= eps {
            target
        } else {
            t + h
        };
        r.steps += 1;
        let cap = if t - last_dose > s.quiet_after_h {
            s.dt_quiet_max_h
        } else {
            s.dt_max_h
        };
        dt = (dt * 1.3).min(cap);
    }
    let net = &s.nets[0];
    r.final_concentration_per_ml = (0..n)
        .map(|i| {
            let total: f64 = m.iter().map(|mc| mc[i]).sum();
            if net.volume[i] > 0.0 {
                total / net.volume[i]
            } else {
                0.0
            }
        })
        .collect();
    Ok(r)
}

fn record(r: &mut Run, net: &Network, m: &[Vec<f64>], acc: &[Accounts], applied: f64, t: f64) {
    r.times_h.push(t);
    let ncomp = r.compartments.len();
    let mut comp = vec![0.0; ncomp];
    for mc in m {
        for (i, v) in mc.iter().enumerate() {
            comp[net.compartment[i]] += v;
        }
    }
    for (series, v) in r.amounts_per_cm2.iter_mut().zip(&comp) {
        series.push(v * UM_ML_TO_PER_CM2);
    }
    for (s, series) in r.sinks_per_cm2.iter_mut().enumerate() {
        series.push(acc.iter().map(|a| a.sinks[s]).sum::<f64>() * UM_ML_TO_PER_CM2);
    }
    r.drained_per_cm2
        .push(acc.iter().map(|a| a.outflow).sum::<f64>() * UM_ML_TO_PER_CM2);
    r.applied_per_cm2
        .push((applied + acc.iter().map(|a| a.inflow).sum::<f64>()) * UM_ML_TO_PER_CM2);
    r.tracked_per_cm2
        .push(acc.iter().map(|a| a.tracked).sum::<f64>() * UM_ML_TO_PER_CM2);
}
