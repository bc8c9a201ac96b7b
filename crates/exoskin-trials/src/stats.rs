//! Hypothesis tests, effect sizes, responder rates and analytic power.
//!
//! Conventions follow scipy.stats and statsmodels so the two can be compared
//! (`scripts/check_stats_reference.py`): two-sided p-values; sample variances with ddof 1;
//! Wilcoxon drops zero differences (`zero_method="wilcox"`); Mann-Whitney reports U of the
//! first sample.

use crate::dist::{ln_gamma, nct_cdf, norm_ppf, norm_sf, t_ppf, t_sf};
use serde::Serialize;

/// Result of a test of a difference (treated minus control).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
    /// Degrees of freedom (t tests) or NaN.
    pub df: f64,
    /// Mean difference (t tests) or the Hodges-Lehmann-free location: NaN for rank tests.
    pub estimate: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// How a rank test computed its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankMethod {
    /// Exact null distribution if allowed (no ties or zeros, small n), else asymptotic:
    /// scipy's `method="auto"` (where scipy would run a permutation test for tied
    /// Wilcoxon data with n <= 13, we use the normal approximation).
    Auto,
    Exact,
    Asymptotic,
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (ddof 1).
pub fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

pub fn sd(x: &[f64]) -> f64 {
    var(x).sqrt()
}

/// One-sample t test of mean zero (a paired t test on the differences); the CI is the
/// `level` (e.g. 0.95) interval of the mean.
pub fn one_sample_t(d: &[f64], level: f64) -> TestResult {
    let n = d.len() as f64;
    let m = mean(d);
    let se = sd(d) / n.sqrt();
    t_result(m, se, n - 1.0, level)
}

/// A t test of `estimate` with standard error `se` and `df` degrees of freedom: two-sided p
/// and the `level` CI.
fn t_result(estimate: f64, se: f64, df: f64, level: f64) -> TestResult {
    let t = estimate / se;
    let q = t_ppf(0.5 + 0.5 * level, df);
    TestResult {
        statistic: t,
        p_value: (2.0 * t_sf(t.abs(), df)).min(1.0),
        df,
        estimate,
        ci95_low: estimate - q * se,
        ci95_high: estimate + q * se,
    }
}

/// Paired t test of `x - y` (scipy.stats.ttest_rel).
pub fn paired_t(x: &[f64], y: &[f64], level: f64) -> TestResult {
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    one_sample_t(&d, level)
}

/// Welch's t test of mean(x) - mean(y) (scipy.stats.ttest_ind, equal_var=False), with the
/// Welch-Satterthwaite degrees of freedom.
pub fn welch_t(x: &[f64], y: &[f64], level: f64) -> TestResult {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let (v1, v2) = (var(x) / n1, var(y) / n2);
    let se = (v1 + v2).sqrt();
    let df = (v1 + v2).powi(2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
    t_result(mean(x) - mean(y), se, df, level)
}

/// Average ranks (1-based) and the sizes of the tie groups.
fn rank_average(v: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && v[idx[j]] == v[idx[i]] {
            j += 1;
        }
        let r = 0.5 * ((i + 1) as f64 + j as f64);
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        ties.push((j - i) as f64);
        i = j;
    }
    (ranks, ties)
}

/// Exact null distribution of the Wilcoxon signed-rank statistic: counts of each rank sum.
fn wilcoxon_counts(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut c = vec![0.0; max + 1];
    c[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            c[s] += c[s - k];
        }
    }
    c
}

/// Wilcoxon signed-rank test of the differences `d` (scipy.stats.wilcoxon with
/// `zero_method="wilcox"`; `correction` is the continuity correction of the normal
/// approximation, scipy's default is false). The statistic is min(R+, R-).
pub fn wilcoxon(d: &[f64], correction: bool, method: RankMethod) -> TestResult {
    let nz: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let n_zero = d.len() - nz.len();
    let n = nz.len();
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let (r, ties) = rank_average(&abs);
    let r_plus: f64 = nz
        .iter()
        .zip(&r)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let r_minus = total - r_plus;
    let has_ties = ties.iter().any(|t| *t > 1.0);
    let exact = match method {
        RankMethod::Exact => true,
        RankMethod::Asymptotic => false,
        RankMethod::Auto => d.len() <= 50 && !has_ties && n_zero == 0,
    };
    let p = if n == 0 {
        f64::NAN
    } else if exact {
        let c = wilcoxon_counts(n);
        let all = 2f64.powi(n as i32);
        let lo = r_plus.ceil() as usize;
        let hi = r_plus.floor() as usize;
        let cdf: f64 = c[..=lo.min(c.len() - 1)].iter().sum::<f64>() / all;
        let sf: f64 = c[hi.min(c.len() - 1)..].iter().sum::<f64>() / all;
        (2.0 * cdf.min(sf)).clamp(0.0, 1.0)
    } else {
        let nf = n as f64;
        let mn = nf * (nf + 1.0) * 0.25;
        let tie: f64 = ties.iter().map(|t| t * t * t - t).sum();
        let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie / 2.0) / 24.0).sqrt();
        let mut z = (r_plus - mn) / se;
        if correction {
            z -= z.signum() * 0.5 / se;
        }
        (2.0 * norm_sf(z.abs())).min(1.0)
    };
    TestResult {
        statistic: r_plus.min(r_minus),
        p_value: p,
        df: f64::NAN,
        estimate: f64::NAN,
        ci95_low: f64::NAN,
        ci95_high: f64::NAN,
    }
}

/// Exact null distribution of Mann-Whitney U for sizes n1, n2: counts of each U.
fn mwu_counts(n1: usize, n2: usize) -> Vec<f64> {
    // f[i][j][u]: arrangements of i x's and j y's with statistic u; roll over i.
    let max = n1 * n2;
    let mut prev: Vec<Vec<f64>> = vec![vec![0.0; max + 1]; n2 + 1];
    for row in prev.iter_mut() {
        row[0] = 1.0;
    }
    for i in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = vec![vec![0.0; max + 1]; n2 + 1];
        cur[0][0] = 1.0;
        for j in 1..=n2 {
            for u in 0..=i * j {
                // Last element is an x (larger than j y's: adds j) or a y.
                let a = if u >= j { prev[j][u - j] } else { 0.0 };
                let b = cur[j - 1][u];
                cur[j][u] = a + b;
            }
        }
        prev = cur;
    }
    prev[n2].clone()
}

/// Mann-Whitney U test (scipy.stats.mannwhitneyu; `use_continuity` defaults to true there).
/// The statistic is U of `x`.
pub fn mann_whitney(x: &[f64], y: &[f64], use_continuity: bool, method: RankMethod) -> TestResult {
    let (n1, n2) = (x.len(), y.len());
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let (r, ties) = rank_average(&all);
    let r1: f64 = r[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let u = u1.max(u2);
    let has_ties = ties.iter().any(|t| *t > 1.0);
    let exact = match method {
        RankMethod::Exact => true,
        RankMethod::Asymptotic => false,
        // scipy: exact unless both groups exceed 8, and never with ties.
        RankMethod::Auto => !has_ties && (n1 <= 8 || n2 <= 8),
    };
    let p = if exact {
        let c = mwu_counts(n1, n2);
        let total: f64 = c.iter().sum();
        let k = u as usize;
        let sf: f64 = c[k.min(c.len() - 1)..].iter().sum::<f64>() / total;
        (2.0 * sf).clamp(0.0, 1.0)
    } else {
        let (a, b) = (n1 as f64, n2 as f64);
        let n = a + b;
        let tie: f64 = ties.iter().map(|t| t * t * t - t).sum();
        let s = (a * b / 12.0 * ((n + 1.0) - tie / (n * (n - 1.0)))).sqrt();
        let mut num = u - a * b / 2.0;
        if use_continuity {
            num -= 0.5;
        }
        (2.0 * norm_sf(num / s)).clamp(0.0, 1.0)
    };
    TestResult {
        statistic: u1,
        p_value: p,
        df: f64::NAN,
        estimate: f64::NAN,
        ci95_low: f64::NAN,
        ci95_high: f64::NAN,
    }
}

/// A standardized effect size with an approximate CI.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct EffectSize {
    pub value: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

fn with_se(value: f64, se: f64, level: f64) -> EffectSize {
    let z = norm_ppf(0.5 + 0.5 * level);
    EffectSize {
        value,
        ci95_low: value - z * se,
        ci95_high: value + z * se,
    }
}

/// Cohen's d_z of paired differences: mean(d) / sd(d); SE sqrt(1/n + dz^2 / (2n))
/// (large-sample normal approximation).
pub fn cohen_dz(d: &[f64], level: f64) -> EffectSize {
    let n = d.len() as f64;
    let dz = mean(d) / sd(d);
    with_se(dz, (1.0 / n + dz * dz / (2.0 * n)).sqrt(), level)
}

/// Cohen's d of two groups with the pooled SD; SE sqrt((n1+n2)/(n1 n2) + d^2/(2(n1+n2)))
/// (Hedges & Olkin 1985).
pub fn cohen_d(x: &[f64], y: &[f64], level: f64) -> EffectSize {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let sp = (((n1 - 1.0) * var(x) + (n2 - 1.0) * var(y)) / (n1 + n2 - 2.0)).sqrt();
    let d = (mean(x) - mean(y)) / sp;
    with_se(
        d,
        ((n1 + n2) / (n1 * n2) + d * d / (2.0 * (n1 + n2))).sqrt(),
        level,
    )
}

/// Hedges' small-sample correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)).
pub fn hedges_j(df: f64) -> f64 {
    (ln_gamma(df / 2.0) - (df / 2.0).ln() * 0.5 - ln_gamma((df - 1.0) / 2.0)).exp()
}

/// Hedges' g: Cohen's d times J(n1 + n2 - 2), CI scaled the same way.
pub fn hedges_g(x: &[f64], y: &[f64], level: f64) -> EffectSize {
    let d = cohen_d(x, y, level);
    let j = hedges_j(x.len() as f64 + y.len() as f64 - 2.0);
    EffectSize {
        value: d.value * j,
        ci95_low: d.ci95_low * j,
        ci95_high: d.ci95_high * j,
    }
}

/// A proportion with its Wilson score interval (statsmodels proportion_confint, "wilson").
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Rate {
    pub count: usize,
    pub n: usize,
    pub rate: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

pub fn wilson(count: usize, n: usize, alpha: f64) -> Rate {
    let (k, nf) = (count as f64, n as f64);
    let p = k / nf;
    let z = norm_ppf(1.0 - alpha / 2.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Rate {
        count,
        n,
        rate: p,
        ci95_low: center - half,
        ci95_high: center + half,
    }
}

/// Power of a two-sided t test with `df` degrees of freedom and noncentrality `nc`
/// (statsmodels `ttest_power`).
pub fn t_power(nc: f64, df: f64, alpha: f64) -> f64 {
    let crit = t_ppf(1.0 - alpha / 2.0, df);
    (1.0 - nct_cdf(crit, df, nc)) + nct_cdf(-crit, df, nc)
}

/// Power of a two-sided paired (one-sample) t test: effect size d_z, n pairs
/// (statsmodels TTestPower).
pub fn paired_power(effect_size: f64, n: f64, alpha: f64) -> f64 {
    t_power(effect_size * n.sqrt(), n - 1.0, alpha)
}

/// Power of a two-sided two-sample t test (pooled variance, n per group, ratio 1):
/// statsmodels TTestIndPower.
pub fn two_sample_power(effect_size: f64, n_per_group: f64, alpha: f64) -> f64 {
    let n_eff = 1.0 / (2.0 / n_per_group);
    t_power(effect_size * n_eff.sqrt(), 2.0 * n_per_group - 2.0, alpha)
}

/// Smallest real n (as statsmodels solve_power returns) with power(n) = target; `lo` is the
/// smallest n the test allows. Bisection to 1e-10.
pub fn solve_n(power: impl Fn(f64) -> f64, target: f64, lo: f64) -> Option<f64> {
    let mut hi = lo.max(2.0) * 2.0;
    while power(hi) < target {
        hi *= 2.0;
        if hi > 1e9 {
            return None;
        }
    }
    let mut lo = lo;
    if power(lo) >= target {
        return Some(lo);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if power(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-11 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Pairs needed for a paired t test (statsmodels TTestPower().solve_power).
pub fn paired_n(effect_size: f64, alpha: f64, power: f64) -> Option<f64> {
    solve_n(|n| paired_power(effect_size, n, alpha), power, 2.0 + 1e-9)
}

/// Participants per group for a two-sample t test (statsmodels TTestIndPower().solve_power).
pub fn two_sample_n(effect_size: f64, alpha: f64, power: f64) -> Option<f64> {
    solve_n(
        |n| two_sample_power(effect_size, n, alpha),
        power,
        1.5 + 1e-9,
    )
}

/// Participants in the first group for a two-sample t test with `n2 = ratio n1`
/// (statsmodels TTestIndPower().solve_power with `ratio`).
pub fn two_sample_n_ratio(effect_size: f64, ratio: f64, alpha: f64, power: f64) -> Option<f64> {
    solve_n(
        |n1| {
            let n2 = ratio * n1;
            t_power(
                effect_size * (n1 * n2 / (n1 + n2)).sqrt(),
                n1 + n2 - 2.0,
                alpha,
            )
        },
        power,
        (2.0 / (1.0 + ratio)).max(1.0) + 1e-9,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilcoxon_exact_distribution_sums_to_two_to_the_n() {
        for n in 1..20 {
            let c = wilcoxon_counts(n);
            assert_eq!(c.iter().sum::<f64>(), 2f64.powi(n as i32));
        }
        let c = mwu_counts(3, 4);
        assert_eq!(c.iter().sum::<f64>(), 35.0);
        assert_eq!(c.len(), 13);
    }

    #[test]
    fn paired_t_textbook() {
        // Differences 1..=5: mean 3, sd sqrt(2.5), t = 3 / (sqrt(2.5)/sqrt(5)) = 4.2426.
        let r = one_sample_t(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert!((r.statistic - 18f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.df, 4.0);
    }

    #[test]
    fn power_rises_with_n_and_solves_back() {
        let p10 = paired_power(0.5, 10.0, 0.05);
        let p40 = paired_power(0.5, 40.0, 0.05);
        assert!(p40 > p10);
        let n = paired_n(0.5, 0.05, 0.8).unwrap();
        assert!((paired_power(0.5, n, 0.05) - 0.8).abs() < 1e-9);
        // statsmodels TTestPower().solve_power(0.5, alpha=0.05, power=0.8) = 33.367...
        assert!((n - 33.367).abs() < 0.01, "{n}");
        let m = two_sample_n(0.5, 0.05, 0.8).unwrap();
        // statsmodels TTestIndPower: 63.7656...
        assert!((m - 63.77).abs() < 0.01, "{m}");
    }
}
