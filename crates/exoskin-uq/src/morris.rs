//! Morris elementary-effects screening (Morris 1991; `mu_star` of Campolongo et al. 2007).
//!
//! **Grid.** Each input takes `levels` (an even number `p`) values, the midpoints of `p`
//! equal cells of (0, 1): `x = (k + 1/2) / p`, `k = 0 .. p - 1`. Midpoints rather than
//! Morris's `k / (p - 1)` keep every point strictly inside the unit cube, so the caller can
//! map it through any inverse distribution function (a normal prior has no value at 0 or
//! 1). A step moves one input by `p / 2` levels, `Delta = 1/2` in the unit cube, so that
//! every level is visited with the same probability (Morris's choice of `Delta`).
//!
//! **Trajectories.** Each of the `r` trajectories draws a base level `b_j` in
//! `0 .. p/2 - 1` and a direction for every input, and an order of the inputs; it starts at
//! `b_j` (upward inputs) or `b_j + p/2` (downward ones) and then moves the inputs one at a
//! time in that order, so a trajectory is `dim + 1` consecutive rows of `points()`, each row
//! differing from the one before in exactly one input. This is the standard construction
//! (Morris's `B*` matrix) written directly.
//!
//! **Indices** per input, over its `r` elementary effects
//! `EE = (f(x + Delta e_j) - f(x)) / Delta` (unit-cube units): `mu` (mean), `mu_star` (mean
//! of absolute values), `sigma` (standard deviation, `r - 1` in the denominator, as SALib),
//! and a percentile bootstrap 95 % interval of `mu_star` over trajectories (1000 resamples
//! from a stream seeded by the design's seed).

use crate::error::UqError;
use crate::rng::{below, stream};
use crate::saltelli::check_outputs;
use crate::stats::percentile_ci95;
use serde::Serialize;

/// Bootstrap resamples for the `mu_star` interval.
pub const MORRIS_BOOTSTRAP: usize = 1000;

/// Elementary-effect statistics of one input (unit-cube units).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct MorrisIndex {
    pub mu: f64,
    pub mu_star: f64,
    pub sigma: f64,
    pub mu_star_ci95: [f64; 2],
}

/// Morris elementary-effects screening: `r` trajectories on a `levels`-level grid.
#[derive(Clone, Debug)]
pub struct MorrisDesign {
    trajectories: usize,
    dim: usize,
    levels: usize,
    seed: u64,
    points: Vec<Vec<f64>>,
    /// For trajectory `t` and step `s`, the input that moves and its direction (+1 or -1).
    moves: Vec<Vec<(usize, f64)>>,
}

impl MorrisDesign {
    /// `trajectories` (at least 2) trajectories over `dim` inputs (at least 1) on a grid of
    /// `levels` values per input (an even number, at least 2), drawn from `seed`.
    pub fn new(trajectories: usize, dim: usize, levels: usize, seed: u64) -> Result<Self, UqError> {
        if trajectories < 2 {
            return Err(UqError::InvalidArgument {
                name: "Morris trajectories",
                value: trajectories.to_string(),
                allowed: "at least 2",
            });
        }
        if dim == 0 {
            return Err(UqError::InvalidArgument {
                name: "Morris dimension",
                value: "0".into(),
                allowed: "at least 1",
            });
        }
        if levels < 2 || levels % 2 != 0 {
            return Err(UqError::InvalidArgument {
                name: "Morris levels",
                value: levels.to_string(),
                allowed: "an even number, at least 2",
            });
        }
        let half = levels / 2;
        let value = |k: usize| (k as f64 + 0.5) / levels as f64;
        let mut points = Vec::with_capacity(trajectories * (dim + 1));
        let mut moves = Vec::with_capacity(trajectories);
        for t in 0..trajectories {
            let mut rng = stream(seed, 0x3022_1500, t as u64);
            let mut level: Vec<usize> = Vec::with_capacity(dim);
            let mut dir: Vec<f64> = Vec::with_capacity(dim);
            for _ in 0..dim {
                let base = below(&mut rng, half);
                if below(&mut rng, 2) == 0 {
                    level.push(base);
                    dir.push(1.0);
                } else {
                    level.push(base + half);
                    dir.push(-1.0);
                }
            }
            // Fisher-Yates shuffle of the order in which the inputs move.
            let mut order: Vec<usize> = (0..dim).collect();
            for i in (1..dim).rev() {
                order.swap(i, below(&mut rng, i + 1));
            }
            points.push(level.iter().map(|&k| value(k)).collect());
            let mut steps = Vec::with_capacity(dim);
            for &j in &order {
                level[j] = if dir[j] > 0.0 {
                    level[j] + half
                } else {
                    level[j] - half
                };
                points.push(level.iter().map(|&k| value(k)).collect());
                steps.push((j, dir[j]));
            }
            moves.push(steps);
        }
        Ok(MorrisDesign {
            trajectories,
            dim,
            levels,
            seed,
            points,
            moves,
        })
    }

    /// The `trajectories (dim + 1)` points in the open unit cube, trajectory by trajectory.
    pub fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// The step of one move in unit-cube units (`1/2`).
    pub fn delta(&self) -> f64 {
        (self.levels / 2) as f64 / self.levels as f64
    }

    /// Number of inputs.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The elementary effects, `ee[j][t]` for input `j` and trajectory `t`, from outputs
    /// `y[k]` at `points()[k]`.
    pub fn elementary_effects(&self, y: &[f64]) -> Result<Vec<Vec<f64>>, UqError> {
        check_outputs(y, self.points.len())?;
        let delta = self.delta();
        let mut ee = vec![vec![0.0; self.trajectories]; self.dim];
        for (t, steps) in self.moves.iter().enumerate() {
            let rows = &y[t * (self.dim + 1)..(t + 1) * (self.dim + 1)];
            for (s, &(j, sign)) in steps.iter().enumerate() {
                ee[j][t] = (rows[s + 1] - rows[s]) / (sign * delta);
            }
        }
        Ok(ee)
    }

    /// `mu`, `mu_star`, `sigma` and the bootstrap interval of `mu_star` for every input.
    pub fn indices(&self, y: &[f64]) -> Result<Vec<MorrisIndex>, UqError> {
        let ee = self.elementary_effects(y)?;
        let r = self.trajectories;
        let mut rng = stream(self.seed, 0x3022_1501, 0);
        let mut boot = vec![Vec::with_capacity(MORRIS_BOOTSTRAP); self.dim];
        let mut pick = vec![0usize; r];
        for _ in 0..MORRIS_BOOTSTRAP {
            pick.iter_mut().for_each(|p| *p = below(&mut rng, r));
            for (j, e) in ee.iter().enumerate() {
                boot[j].push(pick.iter().map(|&t| e[t].abs()).sum::<f64>() / r as f64);
            }
        }
        Ok(ee
            .iter()
            .zip(boot.iter_mut())
            .map(|(e, b)| {
                let mu = e.iter().sum::<f64>() / r as f64;
                let mu_star = e.iter().map(|v| v.abs()).sum::<f64>() / r as f64;
                let sigma =
                    (e.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / (r - 1) as f64).sqrt();
                MorrisIndex {
                    mu,
                    mu_star,
                    sigma,
                    mu_star_ci95: percentile_ci95(b),
                }
            })
            .collect())
    }
}
