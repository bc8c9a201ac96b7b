//! Vesicle size distributions and their binning into size classes.

use serde::Serialize;

/// One size class: a representative diameter and the fraction of particles in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SizeClass {
    pub diameter_nm: f64,
    pub fraction: f64,
}

/// A particle size distribution, as a product sheet or an NTA report gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum SizeDistribution {
    /// Log-normal by its mode (most frequent diameter, as NTA reports) and geometric SD.
    LogNormal { mode_nm: f64, gsd: f64 },
    /// An explicit histogram: bin centres and counts (any scale).
    Histogram {
        diameters_nm: Vec<f64>,
        counts: Vec<f64>,
    },
}

impl SizeDistribution {
    /// Split into at most `n` classes within `[min_nm, max_nm]`, fractions summing to 1.
    ///
    /// Log-normal: `ln d ~ N(mu, s^2)` with `s = ln gsd` and `mode = exp(mu - s^2)`,
    /// restricted to the model's size range. The classes are the `n`-point Gauss quadrature
    /// of that distribution in `ln d` (see [`truncated_normal_gauss`]): a diameter-dependent
    /// quantity averaged over the classes is exact when it is a polynomial in `ln d` of
    /// degree `2n - 1` or less, so a handful of classes carries a smooth size dependence
    /// (Gauss-Hermite, when the range holds the whole distribution). A gsd of 1 is a single
    /// size, the mode. Histogram: used as given (normalized).
    pub fn classes(&self, n: usize, min_nm: f64, max_nm: f64) -> Vec<SizeClass> {
        match self {
            SizeDistribution::LogNormal { mode_nm, gsd } => {
                let s = gsd.ln();
                if s < 1e-9 {
                    return vec![SizeClass {
                        diameter_nm: *mode_nm,
                        fraction: 1.0,
                    }];
                }
                let mu = mode_nm.ln() + s * s;
                let lo = (min_nm.ln() - mu) / s;
                let hi = (max_nm.ln() - mu) / s;
                let mut out: Vec<SizeClass> = truncated_normal_gauss(n.max(1), lo, hi)
                    .into_iter()
                    .map(|(x, w)| SizeClass {
                        diameter_nm: (mu + s * x).exp().clamp(min_nm, max_nm),
                        fraction: w,
                    })
                    .collect();
                normalize(&mut out);
                out
            }
            SizeDistribution::Histogram {
                diameters_nm,
                counts,
            } => {
                let mut out: Vec<SizeClass> = diameters_nm
                    .iter()
                    .zip(counts)
                    .filter(|(_, c)| **c > 0.0)
                    .map(|(d, c)| SizeClass {
                        diameter_nm: *d,
                        fraction: *c,
                    })
                    .collect();
                normalize(&mut out);
                out
            }
        }
    }
}

/// Nodes and weights (summing to 1) of the `n`-point Gauss quadrature for the standard
/// normal distribution restricted to `[lo, hi]` (in standard deviations; beyond 12 the tail
/// is below 1e-32 and ignored).
///
/// Golub-Welsch route, in three small steps written here because they are specific to this
/// one weight and short: the three-term recurrence of the orthonormal polynomials from the
/// discretized Stieltjes procedure (the weight sampled by composite 4-point Gauss-Legendre,
/// 256 panels, exact to rounding for the degrees used); the nodes as the eigenvalues of the
/// Jacobi matrix by Sturm-sequence bisection (robust, to rounding); the weights by the
/// Christoffel formula `1 / sum_k p_k(x)^2`.
pub fn truncated_normal_gauss(n: usize, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let (lo, hi) = (lo.max(-12.0), hi.min(12.0));
    if n <= 1 || hi - lo < 1e-12 {
        // One node at the mean of the restricted distribution.
        let (x, w) = discretized_normal(lo, hi);
        let mass: f64 = w.iter().sum();
        let mean = x.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>() / mass;
        return vec![(mean, 1.0)];
    }
    let (x, w) = discretized_normal(lo, hi);
    let mass: f64 = w.iter().sum();
    // Stieltjes: alpha_k, beta_k of beta_{k+1} p_{k+1} = (x - alpha_k) p_k - beta_k p_{k-1}.
    let mut alpha = vec![0.0; n];
    let mut beta = vec![0.0; n];
    let mut p_prev = vec![0.0; x.len()];
    let mut p = vec![1.0 / mass.sqrt(); x.len()];
    for k in 0..n {
        alpha[k] = x
            .iter()
            .zip(&w)
            .zip(&p)
            .map(|((x, w), p)| w * x * p * p)
            .sum();
        let q: Vec<f64> = (0..x.len())
            .map(|j| (x[j] - alpha[k]) * p[j] - beta[k] * p_prev[j])
            .collect();
        if k + 1 < n {
            let norm = q.iter().zip(&w).map(|(q, w)| w * q * q).sum::<f64>().sqrt();
            beta[k + 1] = norm;
            p_prev = std::mem::replace(&mut p, q.iter().map(|q| q / norm).collect());
        }
    }
    // Nodes: eigenvalues of the Jacobi matrix, by bisection on the Sturm count.
    let below = |t: f64| -> usize {
        let mut count = 0;
        let mut d = 1.0;
        for k in 0..n {
            let b2 = if k == 0 { 0.0 } else { beta[k] * beta[k] };
            d = alpha[k] - t - b2 / d;
            if d == 0.0 {
                d = -1e-300;
            }
            if d < 0.0 {
                count += 1;
            }
        }
        count
    };
    let nodes: Vec<f64> = (0..n)
        .map(|j| {
            // The j-th smallest eigenvalue lies in the interval (bracketed by the support).
            let (mut a, mut b) = (lo - 1.0, hi + 1.0);
            for _ in 0..200 {
                let m = 0.5 * (a + b);
                if m <= a || m >= b {
                    break;
                }
                if below(m) > j {
                    b = m;
                } else {
                    a = m;
                }
            }
            0.5 * (a + b)
        })
        .collect();
    // Weights: Christoffel numbers with the orthonormal polynomials (p_0 = 1 for mass 1).
    nodes
        .iter()
        .map(|&t| {
            let (mut p0, mut p1) = (0.0, 1.0);
            let mut sum = 1.0;
            for k in 0..n - 1 {
                let p2 = ((t - alpha[k]) * p1 - beta[k] * p0) / beta[k + 1];
                sum += p2 * p2;
                (p0, p1) = (p1, p2);
            }
            (t, 1.0 / sum)
        })
        .collect()
}

/// The standard normal density on `[lo, hi]` sampled by composite 4-point Gauss-Legendre
/// (256 panels): abscissae and weights.
fn discretized_normal(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    const GL_X: [f64; 4] = [
        -0.861_136_311_594_052_6,
        -0.339_981_043_584_856_3,
        0.339_981_043_584_856_3,
        0.861_136_311_594_052_6,
    ];
    const GL_W: [f64; 4] = [
        0.347_854_845_137_453_9,
        0.652_145_154_862_546_1,
        0.652_145_154_862_546_1,
        0.347_854_845_137_453_9,
    ];
    const PANELS: usize = 256;
    let h = (hi - lo) / PANELS as f64;
    let mut x = Vec::with_capacity(4 * PANELS);
    let mut w = Vec::with_capacity(4 * PANELS);
    for i in 0..PANELS {
        let c = lo + h * (i as f64 + 0.5);
        for (gx, gw) in GL_X.iter().zip(GL_W) {
            let t = c + 0.5 * h * gx;
            x.push(t);
            w.push(0.5 * h * gw * (-0.5 * t * t).exp());
        }
    }
    (x, w)
}

fn normalize(classes: &mut [SizeClass]) {
    let total: f64 = classes.iter().map(|c| c.fraction).sum();
    for c in classes.iter_mut() {
        c.fraction /= total;
    }
}

/// The error function (`libm`, a port of the FreeBSD/musl implementation: under 1 ulp).
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// Complementary error function (`libm`, under 1 ulp, accurate in the far tail); the
/// transport tests use it for exact solutions and the trials' normal distribution for tails.
pub fn erfc(x: f64) -> f64 {
    libm::erfc(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_tabulated_values() {
        // Reference values: the Maclaurin series of erf summed in 50-digit decimals, rounded.
        let cases = [
            (0.0, 1.0),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028513),
            (1.5, 0.033894853524689273),
            (1.25, 0.07709987174354177),
            (1.9, 0.00720957076474253),
            (2.0, 0.004677734981047266),
            (3.0, 2.209049699858544e-05),
            (-1.0, 1.8427007929497148),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                ((got - want) / want).abs() < 1e-15,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn lognormal_classes_sum_to_one_and_centre_on_the_median() {
        let d = SizeDistribution::LogNormal {
            mode_nm: 100.0,
            gsd: 1.4,
        };
        let c = d.classes(9, 20.0, 1000.0);
        let total: f64 = c.iter().map(|c| c.fraction).sum();
        assert!((total - 1.0).abs() < 1e-12);
        // With a range that cuts nothing (1 nm - 100 um, beyond 11 SD): Gauss-Hermite,
        // symmetric in ln d about the median mode * gsd^(ln gsd) = 112.0 nm. (The model's
        // 20 nm floor, 5.1 SD below, moves the 9-point rule's nodes by up to 0.3 SD: a
        // high-degree rule feels the cut tail.)
        let c = d.classes(9, 1.0, 1e5);
        let median = 100.0 * 1.4f64.powf(1.4f64.ln());
        assert!((c[4].diameter_nm / median - 1.0).abs() < 1e-9, "{:?}", c[4]);
        assert!((c[0].fraction - c[8].fraction).abs() < 1e-12);
        assert_eq!(d.classes(1, 20.0, 1000.0).len(), 1);
    }

    #[test]
    fn an_unrestricted_rule_is_gauss_hermite() {
        // Probabilists' Gauss-Hermite, tabulated: 2 nodes at +-1 (weights 1/2), 3 nodes at 0
        // and +-sqrt(3) (2/3, 1/6), 4 nodes at +-sqrt(3 -+ sqrt(6)) (weights
        // 1 / (4 (3 -+ sqrt 6))).
        let r6 = 6f64.sqrt();
        let cases: [Vec<(f64, f64)>; 3] = [
            vec![(-1.0, 0.5), (1.0, 0.5)],
            vec![
                (-3f64.sqrt(), 1.0 / 6.0),
                (0.0, 2.0 / 3.0),
                (3f64.sqrt(), 1.0 / 6.0),
            ],
            vec![
                (-(3.0 + r6).sqrt(), 1.0 / (4.0 * (3.0 + r6))),
                (-(3.0 - r6).sqrt(), 1.0 / (4.0 * (3.0 - r6))),
                ((3.0 - r6).sqrt(), 1.0 / (4.0 * (3.0 - r6))),
                ((3.0 + r6).sqrt(), 1.0 / (4.0 * (3.0 + r6))),
            ],
        ];
        for want in cases {
            let got = truncated_normal_gauss(want.len(), -20.0, 20.0);
            for ((x, w), (gx, gw)) in want.iter().zip(&got) {
                assert!((x - gx).abs() < 1e-12 && (w - gw).abs() < 1e-12, "{got:?}");
            }
        }
    }

    #[test]
    fn a_restricted_rule_integrates_polynomials_of_degree_2n_minus_1() {
        // Against moments of the restricted normal from a fine composite Simpson rule.
        let (lo, hi) = (-1.3, 2.1);
        let m = 200_000;
        let h = (hi - lo) / m as f64;
        let moment = |p: i32| -> f64 {
            let f = |x: f64| x.powi(p) * (-0.5 * x * x).exp();
            let mut s = f(lo) + f(hi);
            for i in 1..m {
                s += f(lo + h * i as f64) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            s * h / 3.0
        };
        let mass = moment(0);
        for n in [2, 5, 12] {
            let rule = truncated_normal_gauss(n, lo, hi);
            assert!(rule.iter().all(|(x, w)| *x > lo && *x < hi && *w > 0.0));
            for p in 0..(2 * n as i32) {
                let q: f64 = rule.iter().map(|(x, w)| w * x.powi(p)).sum();
                let exact = moment(p) / mass;
                assert!(
                    (q - exact).abs() < 1e-10 * exact.abs().max(1.0),
                    "n {n} degree {p}: {q} vs {exact}"
                );
            }
        }
        // 64 nodes (the size-class reference) stay ordered, inside and positive.
        let rule = truncated_normal_gauss(64, -20.0, 20.0);
        assert!(rule.windows(2).all(|w| w[0].0 < w[1].0));
        assert!((rule.iter().map(|r| r.1).sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
