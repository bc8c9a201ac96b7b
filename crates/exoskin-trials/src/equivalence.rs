//! Equivalence (two one-sided tests, TOST) and non-inferiority, with their power.
//!
//! TOST (Schuirmann 1987, J Pharmacokinet Biopharm 15:657): the difference (treated minus
//! control) is declared equivalent when both one-sided nulls, difference <= `low` and
//! difference >= `high`, are rejected at level alpha; the TOST p value is the larger of the two
//! one-sided p values, and the matching confidence interval has level 1 - 2 alpha (statsmodels
//! `ttost_paired`, `ttost_ind`). Non-inferiority is one of those one-sided tests: the treatment
//! is no worse than the control by more than the margin, "worse" taken in the endpoint's
//! direction (lower readings for a higher-is-better endpoint).
//!
//! Power. Non-inferiority is a one-sided t test, its power the noncentral t's (statsmodels
//! `TTestPower`/`TTestIndPower`, `alternative="larger"`). TOST power is exact: given the sample
//! SD s, both tests reject when `low + t_c s f < mean < high - t_c s f` (f the standard error
//! per unit SD), so the power is the normal probability of that interval averaged over the
//! scaled chi distribution of s (the integral Owen's Q function expresses; Owen 1965,
//! Biometrika 52:437), computed here by Gauss-Legendre quadrature. Two-sample designs may have unequal groups (`n1`, `n2`).

use crate::dist::{ln_gamma, nct_cdf, norm_cdf, t_cdf, t_ppf, t_sf};
use crate::stats::{mean, var};
use serde::Serialize;

/// A one-sided t test.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct OneSided {
    pub statistic: f64,
    pub p_value: f64,
    pub df: f64,
}

/// A difference, its standard error and degrees of freedom (the input of TOST and
/// non-inferiority tests).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Difference {
    pub estimate: f64,
    pub se: f64,
    pub df: f64,
}

impl Difference {
    /// Paired differences `x - y`.
    pub fn paired(x: &[f64], y: &[f64]) -> Difference {
        let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
        let n = d.len() as f64;
        Difference {
            estimate: mean(&d),
            se: (var(&d) / n).sqrt(),
            df: n - 1.0,
        }
    }

    /// mean(x) - mean(y), Welch's standard error and Welch-Satterthwaite df.
    pub fn welch(x: &[f64], y: &[f64]) -> Difference {
        let (n1, n2) = (x.len() as f64, y.len() as f64);
        let (v1, v2) = (var(x) / n1, var(y) / n2);
        Difference {
            estimate: mean(x) - mean(y),
            se: (v1 + v2).sqrt(),
            df: (v1 + v2).powi(2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0)),
        }
    }

    /// mean(x) - mean(y) with the pooled variance (df n1 + n2 - 2).
    pub fn pooled(x: &[f64], y: &[f64]) -> Difference {
        let (n1, n2) = (x.len() as f64, y.len() as f64);
        let sp2 = ((n1 - 1.0) * var(x) + (n2 - 1.0) * var(y)) / (n1 + n2 - 2.0);
        Difference {
            estimate: mean(x) - mean(y),
            se: (sp2 * (1.0 / n1 + 1.0 / n2)).sqrt(),
            df: n1 + n2 - 2.0,
        }
    }

    /// The two-sided `level` confidence interval.
    pub fn ci(&self, level: f64) -> (f64, f64) {
        let q = t_ppf(0.5 + 0.5 * level, self.df);
        (self.estimate - q * self.se, self.estimate + q * self.se)
    }

    /// One-sided test of H0: difference <= `value` (alternative: larger).
    pub fn larger_than(&self, value: f64) -> OneSided {
        let t = (self.estimate - value) / self.se;
        OneSided {
            statistic: t,
            p_value: t_sf(t, self.df),
            df: self.df,
        }
    }

    /// One-sided test of H0: difference >= `value` (alternative: smaller).
    pub fn smaller_than(&self, value: f64) -> OneSided {
        let t = (self.estimate - value) / self.se;
        OneSided {
            statistic: t,
            p_value: t_cdf(t, self.df),
            df: self.df,
        }
    }
}

/// The result of TOST.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Tost {
    /// The larger of the two one-sided p values.
    pub p_value: f64,
    /// H0: difference <= low.
    pub lower: OneSided,
    /// H0: difference >= high.
    pub upper: OneSided,
    /// The 1 - 2 alpha confidence interval: equivalence at alpha is this interval inside
    /// (low, high).
    pub ci_low: f64,
    pub ci_high: f64,
}

/// TOST of a difference against the equivalence margins `low < high` at level `alpha`.
pub fn tost(d: &Difference, low: f64, high: f64, alpha: f64) -> Tost {
    let (lower, upper) = (d.larger_than(low), d.smaller_than(high));
    let (ci_low, ci_high) = d.ci(1.0 - 2.0 * alpha);
    Tost {
        p_value: lower.p_value.max(upper.p_value),
        lower,
        upper,
        ci_low,
        ci_high,
    }
}

/// Non-inferiority: H0 the treatment is worse than the control by `margin` (> 0) or more.
/// For a higher-is-better endpoint H0 is difference <= -margin, else difference >= margin.
pub fn non_inferiority(d: &Difference, margin: f64, higher_is_better: bool) -> OneSided {
    if higher_is_better {
        d.larger_than(-margin)
    } else {
        d.smaller_than(margin)
    }
}

/// Power of a one-sided t test with noncentrality `nc` (statsmodels, `alternative="larger"`).
pub fn one_sided_power(nc: f64, df: f64, alpha: f64) -> f64 {
    1.0 - nct_cdf(t_ppf(1.0 - alpha, df), df, nc)
}

/// How a design's standard error and degrees of freedom follow from its size: paired (n
/// pairs) or two samples (n1, n2, pooled variance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    Paired { n: f64 },
    TwoSample { n1: f64, n2: f64 },
}

impl Layout {
    /// Standard error of the difference per unit SD.
    pub fn se_factor(&self) -> f64 {
        match *self {
            Layout::Paired { n } => 1.0 / n.sqrt(),
            Layout::TwoSample { n1, n2 } => (1.0 / n1 + 1.0 / n2).sqrt(),
        }
    }

    pub fn df(&self) -> f64 {
        match *self {
            Layout::Paired { n } => n - 1.0,
            Layout::TwoSample { n1, n2 } => n1 + n2 - 2.0,
        }
    }
}

/// Power of non-inferiority with true difference `delta`, SD `sd` (of the paired differences,
/// or within groups), margin `margin` > 0, one-sided level `alpha`.
pub fn ni_power(
    delta: f64,
    sd: f64,
    margin: f64,
    higher_is_better: bool,
    layout: Layout,
    alpha: f64,
) -> f64 {
    let toward = if higher_is_better { delta } else { -delta };
    one_sided_power(
        (toward + margin) / (sd * layout.se_factor()),
        layout.df(),
        alpha,
    )
}

/// Gauss-Legendre nodes and weights on [-1, 1], 20 points.
const GL20: [(f64, f64); 10] = [
    (0.076_526_521_133_497_33, 0.152_753_387_130_725_85),
    (0.227_785_851_141_645_08, 0.149_172_986_472_603_75),
    (0.373_706_088_715_419_56, 0.142_096_109_318_382_05),
    (0.510_867_001_950_827_1, 0.131_688_638_449_176_63),
    (0.636_053_680_726_515, 0.118_194_531_961_518_42),
    (0.746_331_906_460_150_8, 0.101_930_119_817_240_44),
    (0.839_116_971_822_218_8, 0.083_276_741_576_704_75),
    (0.912_234_428_251_326, 0.062_672_048_334_109_06),
    (0.963_971_927_277_913_8, 0.040_601_429_800_386_94),
    (0.993_128_599_185_094_9, 0.017_614_007_139_152_12),
];

/// Integral of `f` over [a, b]: 20-point Gauss-Legendre on `panels` equal panels.
fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let h = (b - a) / panels as f64;
    let mut total = 0.0;
    for k in 0..panels {
        let c = a + (k as f64 + 0.5) * h;
        for &(x, w) in &GL20 {
            total += w * (f(c - 0.5 * h * x) + f(c + 0.5 * h * x));
        }
    }
    0.5 * h * total
}

/// Exact power of TOST with true difference `delta`, SD `sd`, margins `low < high`, level
/// `alpha`: the probability that both one-sided tests reject.
pub fn tost_power(delta: f64, sd: f64, low: f64, high: f64, layout: Layout, alpha: f64) -> f64 {
    let df = layout.df();
    let f = layout.se_factor();
    let tc = t_ppf(1.0 - alpha, df);
    // u = s / sd: df u^2 is chi-square with df degrees of freedom; its density is
    // 2 df u g(df u^2) with g the chi-square density.
    let ln_norm = (df / 2.0) * (df / 2.0).ln() + std::f64::consts::LN_2 - ln_gamma(df / 2.0);
    let density = |u: f64| {
        if u <= 0.0 {
            0.0
        } else {
            (ln_norm + (df - 1.0) * u.ln() - 0.5 * df * u * u).exp()
        }
    };
    let se = sd * f;
    let inside = |u: f64| {
        let half = tc * u * se;
        let (a, b) = (low + half, high - half);
        if b <= a {
            0.0
        } else {
            (norm_cdf((b - delta) / se) - norm_cdf((a - delta) / se)).max(0.0)
        }
    };
    // Both tests can reject only while s < (high - low) / (2 t_c f); the chi density is
    // negligible beyond 1 + 12 / sqrt(df).
    let u_max = ((high - low) / (2.0 * tc * se)).min(1.0 + 12.0 / (0.5 * df).sqrt().max(0.5));
    if u_max <= 0.0 {
        return 0.0;
    }
    integrate(|u| inside(u) * density(u), 0.0, u_max, 64).clamp(0.0, 1.0)
}

/// Smallest (fractional) size reaching `target` power: `power(n)` for pairs, or per group
/// of the smaller group in two-sample designs.
pub fn solve_size(power: impl Fn(f64) -> f64, target: f64, lo: f64) -> Option<f64> {
    crate::stats::solve_n(power, target, lo)
}

/// Pairs needed for paired TOST.
pub fn tost_paired_n(
    delta: f64,
    sd: f64,
    low: f64,
    high: f64,
    alpha: f64,
    target: f64,
) -> Option<f64> {
    solve_size(
        |n| tost_power(delta, sd, low, high, Layout::Paired { n }, alpha),
        target,
        2.0 + 1e-9,
    )
}

/// Participants in the first group for two-sample TOST with `n2 = ratio n1`.
pub fn tost_two_sample_n(
    delta: f64,
    sd: f64,
    low: f64,
    high: f64,
    ratio: f64,
    alpha: f64,
    target: f64,
) -> Option<f64> {
    solve_size(
        |n| {
            tost_power(
                delta,
                sd,
                low,
                high,
                Layout::TwoSample {
                    n1: n,
                    n2: ratio * n,
                },
                alpha,
            )
        },
        target,
        (2.0 / (1.0 + ratio)).max(1.0) + 1e-9,
    )
}

/// Size (pairs, or the first group with `n2 = ratio n1`) for non-inferiority.
#[allow(clippy::too_many_arguments)]
pub fn ni_n(
    delta: f64,
    sd: f64,
    margin: f64,
    higher_is_better: bool,
    paired: bool,
    ratio: f64,
    alpha: f64,
    target: f64,
) -> Option<f64> {
    let layout = |n: f64| {
        if paired {
            Layout::Paired { n }
        } else {
            Layout::TwoSample {
                n1: n,
                n2: ratio * n,
            }
        }
    };
    let lo = if paired {
        2.0 + 1e-9
    } else {
        (2.0 / (1.0 + ratio)).max(1.0) + 1e-9
    };
    solve_size(
        |n| ni_power(delta, sd, margin, higher_is_better, layout(n), alpha),
        target,
        lo,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tost_p_is_the_larger_one_sided_p_and_ci_decides_alike() {
        let d = Difference {
            estimate: 0.3,
            se: 0.4,
            df: 19.0,
        };
        let r = tost(&d, -1.0, 1.0, 0.05);
        assert_eq!(r.p_value, r.lower.p_value.max(r.upper.p_value));
        // The 90 % CI inside the margins exactly when TOST rejects at 0.05.
        let inside = r.ci_low > -1.0 && r.ci_high < 1.0;
        assert_eq!(inside, r.p_value < 0.05);
        let wide = tost(&d, -0.5, 0.5, 0.05);
        assert!(wide.p_value > 0.05 && !(wide.ci_low > -0.5 && wide.ci_high < 0.5));
    }

    #[test]
    fn tost_power_is_a_probability_that_grows_with_n() {
        let p = |n| tost_power(0.0, 1.0, -0.5, 0.5, Layout::Paired { n }, 0.05);
        let (a, b, c) = (p(10.0), p(40.0), p(200.0));
        assert!(a >= 0.0 && a < b && b < c && c <= 1.0, "{a} {b} {c}");
        assert!(c > 0.99);
        // At the margin the power is at most alpha.
        let at = tost_power(0.5, 1.0, -0.5, 0.5, Layout::Paired { n: 500.0 }, 0.05);
        assert!(at <= 0.05 + 1e-6, "{at}");
        let n = tost_paired_n(0.0, 1.0, -0.5, 0.5, 0.05, 0.8).unwrap();
        assert!((p(n) - 0.8).abs() < 1e-7);
    }
}
