//! Distribution functions for the trial statistics.
//!
//! The Student t distribution, the normal quantile, log-gamma and the regularized incomplete
//! beta come from `statrs`; the normal CDF is `libm::erfc` (statrs's own erfc loses about
//! 1e-10 relative in the tails, where p-values of the asymptotic rank tests live). The noncentral t CDF (sample size and power of t tests) is written
//! here because `statrs` has no noncentral t: it is Lenth's algorithm AS 243 over the
//! `statrs` incomplete beta. All of it is checked against scipy by
//! `scripts/check_stats_reference.py`.
//!
//! Invalid parameters (a NaN or non-positive number of degrees of freedom, as a Welch test
//! of two constant samples gives) yield NaN rather than a panic, so a degenerate comparison
//! shows up as NaN in the results.

use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};
use std::f64::consts::PI;

pub use statrs::function::beta::beta_reg;
pub use statrs::function::gamma::ln_gamma;

/// Regularized incomplete beta I_x(a, b) (argument order as before: x first).
pub fn beta_inc(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    beta_reg(a, b, x)
}

/// Standard normal CDF (through `libm::erfc`, which keeps its relative accuracy in the tail).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal survival function 1 - CDF, accurate in the upper tail.
pub fn norm_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile.
pub fn norm_ppf(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    Normal::standard().inverse_cdf(p)
}

fn students_t(df: f64) -> Option<StudentsT> {
    StudentsT::new(0.0, 1.0, df).ok()
}

/// Student t CDF with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    match students_t(df) {
        Some(d) if !t.is_nan() => d.cdf(t),
        _ => f64::NAN,
    }
}

/// Student t survival function, accurate in the upper tail.
pub fn t_sf(t: f64, df: f64) -> f64 {
    match students_t(df) {
        Some(d) if !t.is_nan() => d.sf(t),
        _ => f64::NAN,
    }
}

/// Student t quantile: `statrs`'s inverse (AS 64 and Newton steps on the incomplete beta,
/// about 1e-11 relative), then one Newton step on the t CDF, which brings it to the CDF's
/// own accuracy (about 1e-13). Computed in the lower tail, where `p` keeps its digits.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    let Some(d) = students_t(df) else {
        return f64::NAN;
    };
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -t_ppf(1.0 - p, df);
    }
    let q = d.inverse_cdf(p);
    let f = d.pdf(q);
    if q.is_finite() && f > 0.0 {
        q - (d.cdf(q) - p) / f
    } else {
        q
    }
}

/// Noncentral t CDF, P(T <= t) for `df` degrees of freedom and noncentrality `delta`
/// (Lenth 1989, Applied Statistics algorithm AS 243; error bound 1e-13).
pub fn nct_cdf(t: f64, df: f64, delta: f64) -> f64 {
    let (tt, del, neg) = if t < 0.0 {
        (-t, -delta, true)
    } else {
        (t, delta, false)
    };
    let mut tnc = 0.0;
    let x = tt * tt / (tt * tt + df);
    if x > 0.0 {
        let lambda = del * del;
        let mut p = 0.5 * (-0.5 * lambda).exp();
        let mut q = (2.0 / PI).sqrt() * p * del;
        let mut s = 0.5 - p;
        let mut a = 0.5;
        let b = 0.5 * df;
        let rxb = (1.0 - x).powf(b);
        let albeta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
        let mut xodd = beta_inc(x, a, b);
        let mut godd = 2.0 * rxb * (a * x.ln() - albeta).exp();
        let mut xeven = 1.0 - rxb;
        let mut geven = b * x * rxb;
        tnc = p * xodd + q * xeven;
        let mut en = 1.0;
        loop {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * en);
            q *= lambda / (2.0 * en + 1.0);
            s -= p;
            en += 1.0;
            tnc += p * xodd + q * xeven;
            let errbd = 2.0 * s * (xodd - godd);
            if errbd.abs() <= 1e-13 || en > 5000.0 {
                break;
            }
        }
    }
    tnc += norm_cdf(-del);
    let tnc = tnc.clamp(0.0, 1.0);
    if neg {
        1.0 - tnc
    } else {
        tnc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-13);
        assert!((norm_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-14);
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        // scipy.stats.norm.sf(8) = 6.220960574271785e-16: the tail keeps its digits.
        assert!((norm_sf(8.0) / 6.220_960_574_271_785e-16 - 1.0).abs() < 1e-12);
        // t(10) 97.5 % quantile 2.2281388519649385 (scipy.stats.t.ppf).
        assert!((t_ppf(0.975, 10.0) - 2.228_138_851_964_938_5).abs() < 1e-10);
        assert!((t_cdf(2.228_138_851_964_938_5, 10.0) - 0.975).abs() < 1e-12);
        // Noncentral t with delta = 0 is the central t.
        for &(t, df) in &[(-1.5, 4.0), (0.3, 9.0), (2.5, 30.0)] {
            assert!((nct_cdf(t, df, 0.0) - t_cdf(t, df)).abs() < 1e-12);
        }
    }

    #[test]
    fn degenerate_parameters_give_nan() {
        assert!(t_cdf(1.0, f64::NAN).is_nan());
        assert!(t_sf(1.0, 0.0).is_nan());
        assert!(t_ppf(0.975, -1.0).is_nan());
        assert!(t_sf(f64::NAN, 5.0).is_nan());
        assert!(norm_ppf(f64::NAN).is_nan());
    }

    #[test]
    fn two_degrees_of_freedom_match_the_closed_form() {
        // t with 2 df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), F^-1(p) = (2p - 1) / sqrt(2p(1-p)).
        for i in 1..2000 {
            let t = -50.0 + 100.0 * i as f64 / 2000.0;
            let tail = t.abs() / (2.0 * (2.0 + t * t).sqrt());
            let f = if t < 0.0 { 0.5 - tail } else { 0.5 + tail };
            assert!((t_cdf(t, 2.0) / f - 1.0).abs() < 1e-12, "F({t})");
            let p = i as f64 / 2000.0;
            let q = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert!(
                (t_ppf(p, 2.0) - q).abs() < 1e-12 * (1.0 + q.abs()),
                "q({p})"
            );
        }
    }

    #[test]
    fn normal_cdf_and_quantile_agree_in_the_tails() {
        for i in 1..2000 {
            let p = i as f64 / 2000.0 * 1e-3;
            assert!((norm_cdf(norm_ppf(p)) / p - 1.0).abs() < 1e-13, "{p}");
        }
    }
}
