//! Franz diffusion cell (OECD TG 428): donor, layered membrane, perfect-sink receptor.

use crate::engine::{self, Dose, Run, Setup};
use crate::error::TransportError;
use crate::network::{faces, Edge, Link, Network, Segment, N_SINKS};
use crate::physics::tissue_properties;
use exoskin_model::params::TransportParams;
use exoskin_model::scenario::{FranzCell, LayerTransport};
use exoskin_model::Stop;
use serde::Serialize;

/// Results of a Franz-cell run.
#[derive(Debug, Clone, Serialize)]
pub struct FranzResult {
    pub run: Run,
    /// Layer properties used per size class: (diameter nm, fraction, [(K, D um^2/s)]).
    pub classes: Vec<ClassProps>,
    /// Steady flux and lag time from the linear part of the cumulative curve (infinite dose).
    pub fit: Option<LinearFit>,
    /// Steady flux from the exact series-resistance formula `C / sum(h / (K D))`, per cm2 per h.
    pub theoretical_steady_flux_per_cm2_h: f64,
    /// Exact lag time `h^2 / (6 D)` when the membrane is a single layer, h.
    pub theoretical_lag_time_h: Option<f64>,
    /// Depth of each cell centre, um (for profiles).
    pub cell_depth_um: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassProps {
    pub diameter_nm: f64,
    pub fraction: f64,
    pub partition: Vec<f64>,
    pub diffusivity_um2_per_s: Vec<f64>,
}

/// OECD TG 428 reporting: a straight line through the late cumulative curve.
#[derive(Debug, Clone, Serialize)]
pub struct LinearFit {
    pub steady_flux_per_cm2_h: f64,
    pub lag_time_h: f64,
    /// Whether the slopes of the two halves of the fitted window agree within 1 %.
    pub steady_state_reached: bool,
    pub window_start_h: f64,
}

fn layer_props(f: &FranzCell, d_nm: f64, p: &TransportParams) -> (Vec<f64>, Vec<f64>) {
    f.layers
        .iter()
        .map(|l| match l.transport {
            LayerTransport::Explicit {
                diffusivity_um2_per_s,
                partition,
            } => (partition, diffusivity_um2_per_s),
            LayerTransport::Tissue {
                tissue,
                diffusivity_um2_per_s,
                partition,
            } => {
                let (k, d) = tissue_properties(tissue, d_nm, p);
                (partition.unwrap_or(k), diffusivity_um2_per_s.unwrap_or(d))
            }
        })
        .unzip()
}

/// Diameter (nm) and number fraction of each size class (one 100 nm class without a size).
pub(crate) fn size_classes(f: &FranzCell) -> Vec<(f64, f64)> {
    match &f.size {
        Some(s) => s
            .classes(
                f.size_classes,
                exoskin_model::MIN_DIAMETER_NM,
                exoskin_model::MAX_DIAMETER_NM,
            )
            .iter()
            .map(|c| (c.diameter_nm, c.fraction))
            .collect(),
        None => vec![(100.0, 1.0)],
    }
}

/// The largest time step, h. Time accuracy: steps no longer than 2 % of the slowest layer's
/// diffusion time h^2/D (which sets the lag), and at most a million steps over the run.
pub(crate) fn largest_step_h(f: &FranzCell, classes: &[(f64, f64)], p: &TransportParams) -> f64 {
    let mut dt_char: f64 = 0.0;
    for &(d_nm, _) in classes {
        let (_, ds) = layer_props(f, d_nm, p);
        for (l, layer) in f.layers.iter().enumerate() {
            dt_char = dt_char.max(layer.thickness_um.powi(2) / (ds[l] * 3600.0));
        }
    }
    f.numerics
        .dt_max_h
        .min(0.02 * dt_char)
        .max(f.experiment.duration_h * 1e-6)
}

/// Simulate a Franz cell.
pub fn simulate(f: &FranzCell, p: &TransportParams) -> Result<FranzResult, TransportError> {
    simulate_until(f, p, &Stop::never())
}

/// [`simulate`], stopping with [`TransportError::Stopped`] once `stop` says so.
pub fn simulate_until(
    f: &FranzCell,
    p: &TransportParams,
    stop: &Stop,
) -> Result<FranzResult, TransportError> {
    crate::check_params(p)?;
    if f.layers.is_empty() || f.numerics.cells_per_layer == 0 {
        return Err(TransportError::Empty {
            what: "a Franz cell without membrane layers or cells",
        });
    }
    let classes = size_classes(f);
    let segs: Vec<Segment> = f
        .layers
        .iter()
        .map(|l| Segment {
            thickness_um: l.thickness_um,
            cells: f.numerics.cells_per_layer,
        })
        .collect();
    let fc = faces(&segs);
    let ncell = fc.len() - 1;
    let layer_of: Vec<usize> = (0..f.layers.len())
        .flat_map(|l| std::iter::repeat_n(l, f.numerics.cells_per_layer))
        .collect();
    let finite = !f.donor.infinite;
    let off = usize::from(finite);
    let mut compartments: Vec<String> = Vec::new();
    if finite {
        compartments.push("donor".into());
    }
    compartments.extend(f.layers.iter().map(|l| l.name.clone()));
    let conc = f.donor.concentration_per_ml;

    let mut nets = Vec::new();
    let mut props = Vec::new();
    let mut resistance_sum = 0.0; // weighted flux numerator for the theory
    for &(d_nm, w) in &classes {
        let (ks, ds) = layer_props(f, d_nm, p);
        let mut net = Network::default();
        if finite {
            let v = f.donor.volume_ul_per_cm2.unwrap_or(0.0) * exoskin_model::UM_PER_UL_PER_CM2;
            net.push_cell(v, v, 0, [0.0; N_SINKS]);
        }
        let half_res: Vec<f64> = (0..ncell)
            .map(|i| {
                let l = layer_of[i];
                0.5 * (fc[i + 1] - fc[i]) / (ks[l] * ds[l] * 3600.0)
            })
            .collect();
        for i in 0..ncell {
            let l = layer_of[i];
            let h = fc[i + 1] - fc[i];
            net.push_cell(ks[l] * h, h, off + l, [0.0; N_SINKS]);
        }
        for i in 0..ncell.saturating_sub(1) {
            net.edges.push(Edge {
                a: off + i,
                b: off + i + 1,
                g: 1.0 / (half_res[i] + half_res[i + 1]),
                tracked: false,
            });
        }
        if finite {
            net.edges.push(Edge {
                a: 0,
                b: 1,
                g: 1.0 / half_res[0],
                tracked: false,
            });
        } else {
            net.sources.push(Link {
                cell: off,
                g: 1.0 / half_res[0],
                value: conc,
            });
        }
        net.drains.push(Link {
            cell: off + ncell - 1,
            g: 1.0 / half_res[ncell - 1],
            value: 0.0,
        });
        let r: f64 = f
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| layer.thickness_um / (ks[l] * ds[l] * 3600.0))
            .sum();
        resistance_sum += w / r;
        props.push(ClassProps {
            diameter_nm: d_nm,
            fraction: w,
            partition: ks,
            diffusivity_um2_per_s: ds,
        });
        nets.push(net);
    }
    let doses = if finite {
        vec![Dose {
            time_h: 0.0,
            cell: 0,
            amount: conc
                * f.donor.volume_ul_per_cm2.unwrap_or(0.0)
                * exoskin_model::UM_PER_UL_PER_CM2,
        }]
    } else {
        vec![]
    };
    let n = nets[0].len();
    let dt_max = largest_step_h(f, &classes, p);
    let run = engine::run(Setup {
        nets,
        weights: classes.iter().map(|c| c.1).collect(),
        compartments,
        uptake_capacity: vec![0.0; n],
        lysosomal_rate_per_h: 0.0,
        doses,
        duration_h: f.experiment.duration_h,
        output_interval_h: f.experiment.output_interval_h,
        dt_initial_h: f.numerics.dt_initial_h.min(dt_max),
        dt_max_h: dt_max,
        dt_quiet_max_h: dt_max,
        quiet_after_h: f64::INFINITY,
        update: None,
        stop: stop.clone(),
    })?;
    let fit = if f.donor.infinite {
        linear_fit(&run.times_h, &run.drained_per_cm2)
    } else {
        None
    };
    let theoretical_lag_time_h = if f.layers.len() == 1 {
        // h^2 / (6 D) holds for one layer and one size (or explicitly given properties).
        (props.len() == 1).then(|| {
            f.layers[0].thickness_um.powi(2) / (6.0 * props[0].diffusivity_um2_per_s[0] * 3600.0)
        })
    } else {
        None
    };
    let mut cell_depth_um: Vec<f64> = if finite { vec![0.0] } else { vec![] };
    cell_depth_um.extend((0..ncell).map(|i| 0.5 * (fc[i] + fc[i + 1])));
    Ok(FranzResult {
        run,
        classes: props,
        fit,
        theoretical_steady_flux_per_cm2_h: conc * resistance_sum * crate::network::UM_ML_TO_PER_CM2,
        theoretical_lag_time_h,
        cell_depth_um,
    })
}

/// Least-squares line through the last 40 % of the cumulative curve: slope = steady flux,
/// time-axis intercept = lag time (OECD TG 428 / Guidance Document 28 practice).
pub fn linear_fit(t: &[f64], q: &[f64]) -> Option<LinearFit> {
    let n = t.len();
    if n < 6 {
        return None;
    }
    let start = (n as f64 * 0.6) as usize;
    let line = |a: usize, b: usize| -> Option<(f64, f64)> {
        let k = (b - a) as f64;
        let (mt, mq) = (
            t[a..b].iter().sum::<f64>() / k,
            q[a..b].iter().sum::<f64>() / k,
        );
        let sxx: f64 = t[a..b].iter().map(|x| (x - mt).powi(2)).sum();
        let sxy: f64 = t[a..b]
            .iter()
            .zip(&q[a..b])
            .map(|(x, y)| (x - mt) * (y - mq))
            .sum();
        if sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        Some((slope, mq - slope * mt))
    };
    let (slope, icpt) = line(start, n)?;
    if slope.is_nan() || slope <= 0.0 {
        return None;
    }
    let mid = (start + n) / 2;
    let s1 = line(start, mid.max(start + 2)).map(|x| x.0).unwrap_or(0.0);
    let s2 = line(mid.min(n - 2), n).map(|x| x.0).unwrap_or(0.0);
    Some(LinearFit {
        steady_flux_per_cm2_h: slope,
        lag_time_h: -icpt / slope,
        steady_state_reached: ((s1 - s2) / slope).abs() < 0.01,
        window_start_h: t[start],
    })
}
