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
    /// Bin into at most `n` classes within `[min_nm, max_nm]`, fractions summing to 1.
    ///
    /// Log-normal: `ln d ~ N(mu, s^2)` with `s = ln gsd` and `mode = exp(mu - s^2)`; the
    /// support `mu +- 3 s` (clipped to the model's range) is split into `n` equal bins in
    /// `ln d`, each represented by its geometric centre and weighted by its probability mass.
    /// A gsd of 1 is a single size. Histogram: used as given (normalized).
    pub fn classes(&self, n: usize, min_nm: f64, max_nm: f64) -> Vec<SizeClass> {
        match self {
            SizeDistribution::LogNormal { mode_nm, gsd } => {
                let s = gsd.ln();
                if s < 1e-9 || n <= 1 {
                    return vec![SizeClass {
                        diameter_nm: *mode_nm,
                        fraction: 1.0,
                    }];
                }
                let mu = mode_nm.ln() + s * s;
                let lo = (mu - 3.0 * s).max(min_nm.ln());
                let hi = (mu + 3.0 * s).min(max_nm.ln());
                let w = (hi - lo) / n as f64;
                let cdf = |x: f64| 0.5 * (1.0 + erf((x - mu) / (s * std::f64::consts::SQRT_2)));
                let mut out: Vec<SizeClass> = (0..n)
                    .map(|i| {
                        let a = lo + w * i as f64;
                        SizeClass {
                            diameter_nm: (a + 0.5 * w).exp(),
                            fraction: cdf(a + w) - cdf(a),
                        }
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
    fn lognormal_classes_sum_to_one_and_centre_on_the_mode() {
        let d = SizeDistribution::LogNormal {
            mode_nm: 100.0,
            gsd: 1.4,
        };
        let c = d.classes(9, 20.0, 1000.0);
        let total: f64 = c.iter().map(|c| c.fraction).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let peak = c
            .iter()
            .max_by(|a, b| a.fraction.total_cmp(&b.fraction))
            .unwrap();
        // The mode's bin is the most populated one for a log-normal binned in ln d when the
        // bin of the mode sits near the median: median = mode * gsd^(ln gsd) = 112 nm.
        assert!(
            peak.diameter_nm > 90.0 && peak.diameter_nm < 135.0,
            "{peak:?}"
        );
    }
}
