//! Variance-based (Sobol) sensitivity indices from a Saltelli design.
//!
//! **Design.** `N` base rows of a `2 dim`-dimensional scrambled Sobol sequence: the first
//! `dim` coordinates are matrix `A`, the last `dim` matrix `B`. Each base row `i` gives
//! `dim + 2` consecutive model points, in SALib's order (`calc_second_order=False`):
//! `A_i`, then `AB_i^(0) .. AB_i^(dim-1)` (`A_i` with coordinate `j` taken from `B_i`), then
//! `B_i`. So `points()[i * (dim + 2) + k]` is `A_i` for `k = 0`, `AB_i^(k-1)` for
//! `1 <= k <= dim` and `B_i` for `k = dim + 1`.
//!
//! **Estimators** (Saltelli et al. 2010, Table 2), with `V` the population variance of the
//! `2N` outputs at `A` and `B`:
//! * total (Jansen 1999): `S_Tj = mean((f(A) - f(AB^j))^2) / (2 V)`;
//! * first order (Jansen 1999): `S_j = 1 - mean((f(B) - f(AB^j))^2) / (2 V)`, the default;
//! * first order (Saltelli 2010), as SALib computes it: `S_j = mean(f(B) (f(AB^j) - f(A))) / V`
//!   with the outputs first centred on the mean of all `N (dim + 2)` of them
//!   ([`FirstOrderEstimator::Saltelli2010`]).
//!
//! **Intervals.** A percentile bootstrap over base rows: `n_bootstrap` resamples of `N` rows
//! with replacement (each a whole block of `dim + 2` outputs, so the pairing of `A`, `B`
//! and `AB` is kept), every index recomputed on each, and the 2.5 % and 97.5 % quantiles
//! taken. The resamples come from one seeded stream, so the intervals are deterministic.

use crate::error::UqError;
use crate::rng::{below, stream};
use crate::sobol::sobol_points;
use crate::stats::{percentile_ci95, variance};
use serde::Serialize;

/// The fewest bootstrap resamples accepted for a percentile 95 % interval.
pub const MIN_BOOTSTRAP: usize = 100;

/// Sobol first-order and total indices of one input, each with a bootstrap 95 % interval.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SobolIndex {
    pub first_order: f64,
    pub first_order_ci95: [f64; 2],
    pub total_order: f64,
    pub total_order_ci95: [f64; 2],
}

/// Which first-order formula [`SaltelliDesign::indices_with`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FirstOrderEstimator {
    /// Jansen (1999): `1 - mean((f(B) - f(AB^j))^2) / (2V)`.
    #[default]
    Jansen,
    /// Saltelli et al. (2010): `mean(f(B) (f(AB^j) - f(A))) / V` on centred outputs (SALib).
    Saltelli2010,
}

/// A Saltelli design for first and total indices: `N` base rows give `N (dim + 2)` model
/// points (layout in the module documentation).
#[derive(Clone, Debug)]
pub struct SaltelliDesign {
    n: usize,
    dim: usize,
    points: Vec<Vec<f64>>,
}

impl SaltelliDesign {
    /// `n` base rows (2 to 65536; powers of two keep the Sobol net balanced) over `dim`
    /// inputs (1 to 128), scrambled by `seed`.
    pub fn new(n: usize, dim: usize, seed: u64) -> Result<Self, UqError> {
        if n < 2 {
            return Err(UqError::InvalidArgument {
                name: "Saltelli base rows",
                value: n.to_string(),
                allowed: "2 to 65536",
            });
        }
        if dim == 0 || dim > crate::sobol::MAX_DIM / 2 {
            return Err(UqError::InvalidArgument {
                name: "Saltelli dimension",
                value: dim.to_string(),
                allowed: "1 to 128",
            });
        }
        let base = sobol_points(n, 2 * dim, seed)?;
        let mut points = Vec::with_capacity(n * (dim + 2));
        for row in &base {
            let (a, b) = row.split_at(dim);
            points.push(a.to_vec());
            for j in 0..dim {
                let mut ab = a.to_vec();
                ab[j] = b[j];
                points.push(ab);
            }
            points.push(b.to_vec());
        }
        Ok(SaltelliDesign { n, dim, points })
    }

    /// The `N (dim + 2)` points in the open unit cube, to be mapped onto the inputs'
    /// distributions by the caller.
    pub fn points(&self) -> &[Vec<f64>] {
        &self.points
    }

    /// Number of base rows `N`.
    pub fn base_rows(&self) -> usize {
        self.n
    }

    /// Number of inputs.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Jansen estimators for first (`S_i`) and total (`S_Ti`) indices with percentile
    /// bootstrap 95 % intervals, one [`SobolIndex`] per input. `y[k]` is the model output
    /// at `points()[k]`.
    pub fn indices(
        &self,
        y: &[f64],
        n_bootstrap: usize,
        seed: u64,
    ) -> Result<Vec<SobolIndex>, UqError> {
        self.indices_with(y, n_bootstrap, seed, FirstOrderEstimator::Jansen)
    }

    /// [`Self::indices`] with a choice of first-order estimator.
    pub fn indices_with(
        &self,
        y: &[f64],
        n_bootstrap: usize,
        seed: u64,
        first: FirstOrderEstimator,
    ) -> Result<Vec<SobolIndex>, UqError> {
        let step = self.dim + 2;
        check_outputs(y, self.points.len())?;
        if n_bootstrap < MIN_BOOTSTRAP {
            return Err(UqError::InvalidArgument {
                name: "bootstrap resamples",
                value: n_bootstrap.to_string(),
                allowed: "at least 100",
            });
        }
        let centre = match first {
            FirstOrderEstimator::Jansen => 0.0,
            FirstOrderEstimator::Saltelli2010 => y.iter().sum::<f64>() / y.len() as f64,
        };
        let blocks: Vec<&[f64]> = y.chunks_exact(step).collect();
        let all: Vec<usize> = (0..self.n).collect();
        let point = estimate(&blocks, &all, self.dim, first, centre);
        let point = point.ok_or(UqError::ZeroVariance { rows: self.n })?;

        let mut rng = stream(seed, 0x5A17, 0);
        let mut first_boot = vec![Vec::with_capacity(n_bootstrap); self.dim];
        let mut total_boot = vec![Vec::with_capacity(n_bootstrap); self.dim];
        let mut rows = vec![0usize; self.n];
        for _ in 0..n_bootstrap {
            rows.iter_mut().for_each(|r| *r = below(&mut rng, self.n));
            // A resample whose outputs are all equal has no variance to apportion; it
            // contributes the point estimate (only possible for tiny N).
            let est =
                estimate(&blocks, &rows, self.dim, first, centre).unwrap_or_else(|| point.clone());
            for (j, (s, st)) in est.into_iter().enumerate() {
                first_boot[j].push(s);
                total_boot[j].push(st);
            }
        }
        Ok(point
            .into_iter()
            .enumerate()
            .map(|(j, (s, st))| SobolIndex {
                first_order: s,
                first_order_ci95: percentile_ci95(&mut first_boot[j]),
                total_order: st,
                total_order_ci95: percentile_ci95(&mut total_boot[j]),
            })
            .collect())
    }
}

/// Every output finite and one per point.
pub(crate) fn check_outputs(y: &[f64], expected: usize) -> Result<(), UqError> {
    if y.len() != expected {
        return Err(UqError::OutputLength {
            expected,
            got: y.len(),
        });
    }
    match y.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(UqError::NonFiniteOutput { row, value: y[row] }),
        None => Ok(()),
    }
}

/// `(S_j, S_Tj)` for every input over the base rows `rows` (with repetition); `None` when
/// the outputs at `A` and `B` have zero variance.
fn estimate(
    blocks: &[&[f64]],
    rows: &[usize],
    dim: usize,
    first: FirstOrderEstimator,
    centre: f64,
) -> Option<Vec<(f64, f64)>> {
    let n = rows.len() as f64;
    let ab = || {
        rows.iter()
            .flat_map(|&r| [blocks[r][0] - centre, blocks[r][dim + 1] - centre])
    };
    let (lo, hi) = ab().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if hi <= lo {
        return None;
    }
    let var = variance(ab());
    Some(
        (0..dim)
            .map(|j| {
                let (mut tot, mut fst) = (0.0, 0.0);
                for &r in rows {
                    let blk = blocks[r];
                    let (fa, fab, fb) =
                        (blk[0] - centre, blk[j + 1] - centre, blk[dim + 1] - centre);
                    tot += (fa - fab) * (fa - fab);
                    fst += match first {
                        FirstOrderEstimator::Jansen => (fb - fab) * (fb - fab),
                        FirstOrderEstimator::Saltelli2010 => fb * (fab - fa),
                    };
                }
                let s = match first {
                    FirstOrderEstimator::Jansen => 1.0 - fst / (2.0 * n * var),
                    FirstOrderEstimator::Saltelli2010 => fst / (n * var),
                };
                (s, tot / (2.0 * n * var))
            })
            .collect(),
    )
}
