//! Linear models of trial data: ANCOVA on the baseline (parallel designs), the two-period
//! crossover (AB/BA) and a linear mixed model with a random intercept per participant
//! (repeated visits).
//!
//! * ANCOVA: ordinary least squares of the change from baseline on an intercept, the
//!   treatment indicator and the baseline reading; the treatment coefficient is the
//!   baseline-adjusted difference (statsmodels `OLS`).
//! * Crossover (Grizzle 1965, Biometrics 21:467): with period responses `y1`, `y2` of each
//!   participant, the treatment effect is half the difference between the sequences' mean
//!   period differences `y1 - y2`, the period effect half their sum (with the sign of period 2
//!   minus period 1), both with the pooled two-sample t on the differences; the carryover check
//!   compares the sequences' mean totals `y1 + y2` (a pooled two-sample t; it has little power,
//!   and a significant carryover makes the within-participant estimate biased). The estimates
//!   equal OLS with participant, period and treatment effects.
//! * Mixed model: `y = X beta + b_participant + e` with `b ~ N(0, s_b^2)` and `e ~ N(0, s^2)`,
//!   fitted by restricted maximum likelihood (REML; Patterson & Thompson 1971, Biometrika
//!   58:545): for a ratio `g = s_b^2 / s^2`, the
//!   covariance of a participant's `n` rows is `s^2 (I + g J)`, whose inverse and determinant
//!   are closed-form, so beta and s^2 are profiled out and the REML criterion is maximised over
//!   `g` alone (a grid over log g, then golden-section search). Fixed-effect standard errors
//!   are `s^2 (X' V^-1 X)^-1` and tests are Wald z tests, as statsmodels `MixedLM` (reml=True)
//!   reports them.

use crate::dist::{norm_ppf, norm_sf, t_ppf, t_sf};
use crate::equivalence::Difference;
use crate::stats::mean;
use serde::Serialize;

/// An estimated effect with its two-sided test and confidence interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Effect {
    pub estimate: f64,
    pub se: f64,
    /// Degrees of freedom of the t test; infinite for a Wald z test.
    pub df: f64,
    pub statistic: f64,
    pub p_value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl Effect {
    /// A t test (or z test when `df` is infinite) of `estimate` with its `level` CI.
    pub fn new(estimate: f64, se: f64, df: f64, level: f64) -> Effect {
        let t = estimate / se;
        let (p, q) = if df.is_finite() {
            (2.0 * t_sf(t.abs(), df), t_ppf(0.5 + 0.5 * level, df))
        } else {
            (2.0 * norm_sf(t.abs()), norm_ppf(0.5 + 0.5 * level))
        };
        Effect {
            estimate,
            se,
            df,
            statistic: t,
            p_value: p.min(1.0),
            ci_low: estimate - q * se,
            ci_high: estimate + q * se,
        }
    }

    pub fn difference(&self) -> Difference {
        Difference {
            estimate: self.estimate,
            se: self.se,
            df: self.df,
        }
    }
}

/// Cholesky factor (lower, row-major) of a symmetric positive definite `p x p` matrix;
/// None when it is not positive definite.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Some(l)
}

/// Solve `L L' x = b` in place.
fn chol_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// Diagonal of the inverse from a Cholesky factor.
fn chol_inverse_diag(l: &[f64], p: usize) -> Vec<f64> {
    (0..p)
        .map(|j| {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            chol_solve(l, p, &mut e);
            e[j]
        })
        .collect()
}

/// ANCOVA of a two-group comparison: `x` and `y` are the changes from baseline of the treated
/// and control groups, `bx` and `by` their baselines. The baseline-adjusted difference (treated
/// minus control) with its t test (df n - 3) and `level` CI; None when the model is singular.
pub fn ancova(x: &[f64], bx: &[f64], y: &[f64], by: &[f64], level: f64) -> Option<Effect> {
    let n = x.len() + y.len();
    if n < 4 {
        return None;
    }
    let rows = x
        .iter()
        .zip(bx)
        .map(|(v, b)| (*v, 1.0, *b))
        .chain(y.iter().zip(by).map(|(v, b)| (*v, 0.0, *b)));
    // Centre the baseline for conditioning (the treatment coefficient does not change).
    let bmean = mean(&bx.iter().chain(by).copied().collect::<Vec<_>>());
    let mut xtx = [0.0; 9];
    let mut xty = [0.0; 3];
    let mut yty = 0.0;
    for (v, g, b) in rows {
        let r = [1.0, g, b - bmean];
        for i in 0..3 {
            for j in 0..3 {
                xtx[i * 3 + j] += r[i] * r[j];
            }
            xty[i] += r[i] * v;
        }
        yty += v * v;
    }
    let l = cholesky(&xtx, 3)?;
    let mut beta = xty;
    chol_solve(&l, 3, &mut beta);
    let rss = yty - beta.iter().zip(&xty).map(|(b, c)| b * c).sum::<f64>();
    let df = n as f64 - 3.0;
    let s2 = rss.max(0.0) / df;
    let inv = chol_inverse_diag(&l, 3);
    Some(Effect::new(beta[1], (s2 * inv[1]).sqrt(), df, level))
}

/// The two-period, two-sequence crossover analysis.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Crossover {
    /// Treatment minus control, within participants.
    pub treatment: Effect,
    /// Period 2 minus period 1.
    pub period: Effect,
    /// Carryover of the treatment minus carryover of the control (sequence totals).
    pub carryover: Effect,
    pub n_treatment_first: usize,
    pub n_control_first: usize,
}

/// The crossover analysis of period responses `(period 1, period 2)` of the participants who
/// had the treatment first (`tc`) and the control first (`ct`); None with fewer than 2 in a
/// sequence.
pub fn crossover(tc: &[(f64, f64)], ct: &[(f64, f64)], level: f64) -> Option<Crossover> {
    if tc.len() < 2 || ct.len() < 2 {
        return None;
    }
    let d1: Vec<f64> = tc.iter().map(|(a, b)| a - b).collect();
    let d2: Vec<f64> = ct.iter().map(|(a, b)| a - b).collect();
    let s1: Vec<f64> = tc.iter().map(|(a, b)| a + b).collect();
    let s2: Vec<f64> = ct.iter().map(|(a, b)| a + b).collect();
    let d = Difference::pooled(&d1, &d2);
    let half_se = 0.5 * d.se;
    let treatment = Effect::new(0.5 * (mean(&d1) - mean(&d2)), half_se, d.df, level);
    let period = Effect::new(-0.5 * (mean(&d1) + mean(&d2)), half_se, d.df, level);
    let c = Difference::pooled(&s1, &s2);
    let carryover = Effect::new(c.estimate, c.se, c.df, level);
    Some(Crossover {
        treatment,
        period,
        carryover,
        n_treatment_first: tc.len(),
        n_control_first: ct.len(),
    })
}

/// A fitted random-intercept mixed model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixedFit {
    /// Fixed effects, in the columns' order.
    pub beta: Vec<f64>,
    /// Their standard errors.
    pub se: Vec<f64>,
    /// Random-intercept variance s_b^2.
    pub var_participant: f64,
    /// Residual variance s^2.
    pub var_residual: f64,
    /// The REML criterion at the optimum (up to a constant).
    pub reml_criterion: f64,
    pub n_obs: usize,
    pub n_groups: usize,
}

/// Sums over the groups of one size: X'1 1'X, X'1 1'y, (1'y)^2 and their count (the
/// covariance of a group depends on the data only through its size).
#[derive(Clone)]
struct SizeSums {
    size: f64,
    groups: f64,
    xx: Vec<f64>,
    xy: Vec<f64>,
    yy: f64,
}

/// The sufficient statistics of the model for the REML profile: the data enter only through
/// X'X, X'y, y'y and, per group size, the sums of [`SizeSums`], so memory and the cost of
/// each step of the search do not grow with the number of participants.
#[derive(Clone)]
pub struct MixedData {
    p: usize,
    n: usize,
    n_groups: usize,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    yty: f64,
    by_size: Vec<SizeSums>,
    /// The open group: its size, X'1 (sparse: column, value) and 1'y.
    open: (f64, Vec<(usize, f64)>, f64),
}

impl MixedData {
    /// No data yet, `p` fixed-effect columns.
    pub fn new(p: usize) -> MixedData {
        MixedData {
            p,
            n: 0,
            n_groups: 0,
            xtx: vec![0.0; p * p],
            xty: vec![0.0; p],
            yty: 0.0,
            by_size: Vec::new(),
            open: (0.0, Vec::new(), 0.0),
        }
    }

    /// Add a row of the current group: its nonzero columns `(column, value)` and response.
    pub fn add(&mut self, row: &[(usize, f64)], y: f64) {
        let p = self.p;
        for &(i, a) in row {
            for &(j, b) in row {
                self.xtx[i * p + j] += a * b;
            }
            self.xty[i] += a * y;
            match self.open.1.iter_mut().find(|(k, _)| *k == i) {
                Some(e) => e.1 += a,
                None => self.open.1.push((i, a)),
            }
        }
        self.yty += y * y;
        self.n += 1;
        self.open.0 += 1.0;
        self.open.2 += y;
    }

    /// Close the current group (a participant); the next rows start a new one.
    pub fn end_group(&mut self) {
        let (size, xs, ys) = std::mem::replace(&mut self.open, (0.0, Vec::new(), 0.0));
        if size == 0.0 {
            return;
        }
        self.n_groups += 1;
        let p = self.p;
        let k = match self.by_size.iter().position(|s| s.size == size) {
            Some(k) => k,
            None => {
                self.by_size.push(SizeSums {
                    size,
                    groups: 0.0,
                    xx: vec![0.0; p * p],
                    xy: vec![0.0; p],
                    yy: 0.0,
                });
                self.by_size.len() - 1
            }
        };
        let s = &mut self.by_size[k];
        s.groups += 1.0;
        for &(i, a) in &xs {
            for &(j, b) in &xs {
                s.xx[i * p + j] += a * b;
            }
            s.xy[i] += a * ys;
        }
        s.yy += ys * ys;
    }

    /// X' V^-1 X, X' V^-1 y and y' V^-1 y (all times s^2) and sum log(1 + n_i g) at ratio g.
    fn at(&self, g: f64) -> (Vec<f64>, Vec<f64>, f64, f64) {
        let mut a = self.xtx.clone();
        let mut b = self.xty.clone();
        let mut yy = self.yty;
        let mut logdet = 0.0;
        for s in &self.by_size {
            let c = g / (1.0 + s.size * g);
            for (x, v) in a.iter_mut().zip(&s.xx) {
                *x -= c * v;
            }
            for (x, v) in b.iter_mut().zip(&s.xy) {
                *x -= c * v;
            }
            yy -= c * s.yy;
            logdet += s.groups * (s.size * g).ln_1p();
        }
        (a, b, yy, logdet)
    }

    /// Minus twice the profiled REML log-likelihood at ratio g (up to a constant); None
    /// when X' V^-1 X is singular.
    fn criterion(&self, g: f64) -> Option<f64> {
        let p = self.p;
        let (a, b, yy, logdet) = self.at(g);
        let l = cholesky(&a, p)?;
        let mut beta = b.clone();
        chol_solve(&l, p, &mut beta);
        let rss = yy - beta.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>();
        let m = (self.n - p) as f64;
        let s2 = rss / m;
        if s2.is_nan() || s2 <= 0.0 {
            return None;
        }
        let logdet_a: f64 = (0..p).map(|i| 2.0 * l[i * p + i].ln()).sum();
        Some(m * s2.ln() + logdet + logdet_a)
    }

    /// Fit by REML; None when the fixed-effects design is singular or there are no more rows
    /// than columns.
    pub fn fit(mut self) -> Option<MixedFit> {
        self.end_group();
        if self.n <= self.p {
            return None;
        }
        fit_reml(&self)
    }
}

/// Fit `y = X beta + b_group + e` by REML. `x` is row-major (`y.len()` rows of `p`
/// columns), `group` the participant of each row. None when the fixed-effects design is
/// singular or there are no more rows than columns.
pub fn mixed_model(y: &[f64], x: &[f64], p: usize, group: &[usize]) -> Option<MixedFit> {
    let n = y.len();
    if n <= p || x.len() != n * p || group.len() != n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&r| group[r]);
    let mut data = MixedData::new(p);
    for (k, &r) in order.iter().enumerate() {
        if k > 0 && group[r] != group[order[k - 1]] {
            data.end_group();
        }
        let row: Vec<(usize, f64)> = x[r * p..(r + 1) * p]
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, v)| (i, *v))
            .collect();
        data.add(&row, y[r]);
    }
    data.fit()
}

fn fit_reml(sums: &MixedData) -> Option<MixedFit> {
    let (p, n) = (sums.p, sums.n);
    // Grid over log g, then golden section between the neighbours of the best point.
    let f = |lg: f64| sums.criterion(lg.exp()).unwrap_or(f64::INFINITY);
    let grid: Vec<f64> = (0..=96).map(|k| -12.0 + 0.25 * k as f64).collect();
    let (mut best, mut best_v) = (0usize, f64::INFINITY);
    for (k, &lg) in grid.iter().enumerate() {
        let v = f(lg);
        if v < best_v {
            best = k;
            best_v = v;
        }
    }
    let (mut a, mut b) = (
        grid[best.saturating_sub(1)],
        grid[(best + 1).min(grid.len() - 1)],
    );
    let phi = 0.5 * (5f64.sqrt() - 1.0);
    let (mut c, mut d) = (b - phi * (b - a), a + phi * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if (b - a).abs() < 1e-12 {
            break;
        }
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    let lg = 0.5 * (a + b);
    let mut g = lg.exp();
    // A boundary optimum: the random-intercept variance is zero.
    if best == 0 && sums.criterion(0.0)? <= f(lg) {
        g = 0.0;
    }
    let (am, bv, yy, _) = sums.at(g);
    let l = cholesky(&am, p)?;
    let mut beta = bv.clone();
    chol_solve(&l, p, &mut beta);
    let rss = yy - beta.iter().zip(&bv).map(|(x, y)| x * y).sum::<f64>();
    let s2 = rss / (n - p) as f64;
    let se = chol_inverse_diag(&l, p)
        .iter()
        .map(|v| (s2 * v).sqrt())
        .collect();
    Some(MixedFit {
        beta,
        se,
        var_participant: g * s2,
        var_residual: s2,
        reml_criterion: sums.criterion(g)?,
        n_obs: n,
        n_groups: sums.n_groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancova_without_baseline_effect_is_close_to_the_difference() {
        // Baselines unrelated to the change: the adjusted difference is near the raw one.
        let x = [1.0, 2.0, 3.0, 2.5, 1.5];
        let bx = [10.0, 11.0, 9.0, 10.0, 10.0];
        let y = [0.0, 1.0, 0.5, -0.5, 0.2];
        let by = [10.0, 9.0, 11.0, 10.0, 10.0];
        let e = ancova(&x, &bx, &y, &by, 0.95).unwrap();
        assert!((e.estimate - (mean(&x) - mean(&y))).abs() < 0.5);
        assert_eq!(e.df, 7.0);
        assert!(e.ci_low < e.estimate && e.estimate < e.ci_high);
    }

    #[test]
    fn crossover_recovers_effects_without_noise() {
        // y = 1 (base) + 2 (treatment) + 0.5 (period 2); participant offsets cancel.
        let tc: Vec<(f64, f64)> = (0..5).map(|i| (3.0 + i as f64, 1.5 + i as f64)).collect();
        let ct: Vec<(f64, f64)> = (0..6)
            .map(|i| (1.0 + 0.3 * i as f64, 3.5 + 0.3 * i as f64))
            .collect();
        let mut tc = tc;
        tc[0].0 += 1e-3; // avoid a zero variance
        let c = crossover(&tc, &ct, 0.95).unwrap();
        assert!((c.treatment.estimate - 2.0).abs() < 1e-3);
        assert!((c.period.estimate - 0.5).abs() < 1e-3);
    }

    #[test]
    fn mixed_model_finds_a_large_random_intercept() {
        // 30 participants, 3 rows each; intercept SD 2, residual SD ~0.3 (deterministic).
        let mut y = Vec::new();
        let mut x = Vec::new();
        let mut g = Vec::new();
        for i in 0..30 {
            let b = 2.0 * ((i as f64 * 1.7).sin());
            for j in 0..3 {
                let e = 0.3 * ((i * 3 + j) as f64 * 2.3).cos();
                y.push(1.0 + 0.5 * j as f64 + b + e);
                x.extend_from_slice(&[1.0, j as f64]);
                g.push(i);
            }
        }
        let f = mixed_model(&y, &x, 2, &g).unwrap();
        assert!((f.beta[1] - 0.5).abs() < 0.1, "{f:?}");
        assert!(f.var_participant > 1.0 && f.var_residual < 0.2, "{f:?}");
    }
}
