//! Priors of the uncertain parameters: every parameter of the data files that has a `range`
//! also names its `prior`, and ensembles, sensitivity analyses and virtual trials draw from
//! it.
//!
//! The kinds, all with median `value` and support `range = [lo, hi]`:
//! - `log-normal`: normal in ln(x), `lo` and `hi` 1.96 standard deviations from the median
//!   on their own side (a split normal when the range is not symmetric about the median in
//!   log space), truncated to the range. For positive quantities known to a factor.
//! - `normal`: the same in x itself, for quantities whose range includes or nears zero.
//! - `uniform` / `log-uniform`: flat in x / in ln(x) over the range (the median is then the
//!   range's (geometric) centre, and `value` must be it within 1 %).
//!
//! Truncation at the range keeps every draw inside the span the data file documents; the
//! median stays `value` because equal mass is cut from each side. A draw is made from a
//! point `u` of the unit interval by the quantile function, so quasi-random (Sobol) points
//! map onto the prior directly.

use crate::Param;
use serde::{Deserialize, Serialize};

/// The shape of a prior (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorKind {
    LogNormal,
    Normal,
    Uniform,
    LogUniform,
}

impl PriorKind {
    pub fn name(self) -> &'static str {
        match self {
            PriorKind::LogNormal => "log-normal",
            PriorKind::Normal => "normal",
            PriorKind::Uniform => "uniform",
            PriorKind::LogUniform => "log-uniform",
        }
    }
}

/// A prior distribution on `[lo, hi]` with median `median`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prior {
    pub kind: PriorKind,
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Why a prior cannot be built: each names the parameter (`what`) and says how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriorError {
    /// `lo <= value <= hi` fails or a number is not finite.
    #[error("{what}: the prior needs lo <= value <= hi with finite numbers, got value {median} and range [{lo}, {hi}]")]
    Bounds {
        what: String,
        median: f64,
        lo: f64,
        hi: f64,
    },
    /// A log-space prior over a range that reaches zero or below.
    #[error("{what}: a {} prior needs a positive range, got [{lo}, {hi}]; use prior = \"normal\" or \"uniform\"", .kind.name())]
    NonPositiveRange {
        what: String,
        kind: PriorKind,
        lo: f64,
        hi: f64,
    },
    /// A flat prior whose `value` is not the range's (geometric) centre.
    #[error("{what}: a {} prior's median is the range's centre {centre}, but value is {median}; use a (log-)normal prior or centre the range", .kind.name())]
    OffCentre {
        what: String,
        kind: PriorKind,
        centre: f64,
        median: f64,
    },
    /// A data-file parameter names a `prior` but gives no `range`.
    #[error("{name}: a prior needs a `range`")]
    NoRange { name: String },
    /// A parameter that must have a prior (a fitted one) names none.
    #[error("{name}: a fitted parameter needs a prior")]
    Missing { name: String },
}

/// The central 95 % of a standard normal: the range ends sit this many SDs from the median.
const Z95: f64 = 1.959963984540054;

impl Prior {
    /// Check and build a prior. `what` names the parameter in the message.
    pub fn new(
        kind: PriorKind,
        median: f64,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> Result<Prior, PriorError> {
        if !(lo.is_finite() && hi.is_finite() && median.is_finite() && lo <= median && median <= hi)
        {
            return Err(PriorError::Bounds {
                what: what.to_string(),
                median,
                lo,
                hi,
            });
        }
        let log = matches!(kind, PriorKind::LogNormal | PriorKind::LogUniform);
        if log && lo <= 0.0 {
            return Err(PriorError::NonPositiveRange {
                what: what.to_string(),
                kind,
                lo,
                hi,
            });
        }
        let centre = match kind {
            PriorKind::Uniform => Some((lo + hi) / 2.0),
            PriorKind::LogUniform => Some((lo * hi).sqrt()),
            _ => None,
        };
        if let Some(c) = centre {
            if (median - c).abs() > 0.01 * c.abs().max(f64::MIN_POSITIVE) {
                return Err(PriorError::OffCentre {
                    what: what.to_string(),
                    kind,
                    centre: c,
                    median,
                });
            }
        }
        Ok(Prior {
            kind,
            median,
            lo,
            hi,
        })
    }

    /// The prior of a data-file parameter, if it has one.
    pub fn of(name: &str, p: &Param) -> Option<Result<Prior, PriorError>> {
        let kind = p.prior?;
        Some(match p.range {
            Some([lo, hi]) => Prior::new(kind, p.value, lo, hi, name),
            None => Err(PriorError::NoRange {
                name: name.to_string(),
            }),
        })
    }

    /// A log-normal prior centred on `median` with log-space standard deviation `sigma`,
    /// truncated at 1.96 sigma (fitted parameters' Laplace posteriors).
    pub fn log_normal_sd(median: f64, sigma: f64) -> Prior {
        let f = (Z95 * sigma.max(0.0)).exp();
        Prior {
            kind: PriorKind::LogNormal,
            median,
            lo: median / f,
            hi: median * f,
        }
    }

    /// A normal prior centred on `median` with standard deviation `sd`, truncated at 1.96
    /// sd (fitted signed parameters' Laplace posteriors, which may sit at or below zero).
    pub fn normal_sd(median: f64, sd: f64) -> Prior {
        let half = Z95 * sd.max(0.0);
        Prior {
            kind: PriorKind::Normal,
            median,
            lo: median - half,
            hi: median + half,
        }
    }

    /// The same prior with its spread multiplied by `factor` about the median (0 = a point
    /// mass at the median, 1 = itself); for checks that bands shrink with priors.
    pub fn scaled(&self, factor: f64) -> Prior {
        let f = factor.clamp(0.0, 1.0);
        let (lo, hi) = match self.kind {
            PriorKind::LogNormal | PriorKind::LogUniform => (
                self.median * (self.lo / self.median).powf(f),
                self.median * (self.hi / self.median).powf(f),
            ),
            _ => (
                self.median + (self.lo - self.median) * f,
                self.median + (self.hi - self.median) * f,
            ),
        };
        Prior { lo, hi, ..*self }
    }

    /// The value at quantile `u` in [0, 1] (the inverse of the prior's CDF).
    pub fn quantile(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let x = match self.kind {
            PriorKind::Uniform => self.lo + u * (self.hi - self.lo),
            PriorKind::LogUniform => self.lo * (self.hi / self.lo).powf(u),
            PriorKind::LogNormal | PriorKind::Normal => {
                // truncated to the central 95 %: u maps onto [0.025, 0.975] of the normal
                let z = inverse_normal_cdf(0.025 + 0.95 * u);
                let log = self.kind == PriorKind::LogNormal;
                let (m, end) = if z >= 0.0 {
                    (self.median, self.hi)
                } else {
                    (self.median, self.lo)
                };
                let t = z.abs() / Z95;
                if log {
                    m * (end / m).powf(t)
                } else {
                    m + (end - m) * t
                }
            }
        };
        x.clamp(self.lo, self.hi)
    }

    /// "log-normal, median 10, range [5, 20]".
    pub fn describe(&self) -> String {
        format!(
            "{}, median {}, range [{}, {}]",
            self.kind.name(),
            self.median,
            self.lo,
            self.hi
        )
    }
}

/// The standard normal quantile (statrs' inverse CDF).
pub fn inverse_normal_cdf(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_ends_and_quantiles_are_where_the_file_says() {
        let p = Prior::new(PriorKind::LogNormal, 10.0, 5.0, 40.0, "x").unwrap();
        assert!((p.quantile(0.5) - 10.0).abs() < 1e-9);
        assert!((p.quantile(0.0) - 5.0).abs() < 1e-9);
        assert!((p.quantile(1.0) - 40.0).abs() < 1e-9);
        // the untruncated 84.1 % point (z = 1) is hi^(1/1.96) of the way up in log space;
        // truncation maps u = (Phi(1) - 0.025) / 0.95 onto it.
        let u = (0.841344746068543 - 0.025) / 0.95;
        let expect = 10.0 * (4.0f64).powf(1.0 / Z95);
        assert!(
            (p.quantile(u) - expect).abs() < 1e-6 * expect,
            "{}",
            p.quantile(u)
        );
        let n = Prior::new(PriorKind::Normal, 0.3, 0.0, 1.0, "y").unwrap();
        assert!((n.quantile(0.5) - 0.3).abs() < 1e-12);
        let un = Prior::new(PriorKind::Uniform, 0.5, 0.0, 1.0, "z").unwrap();
        assert!((un.quantile(0.25) - 0.25).abs() < 1e-12);
        let lu = Prior::new(PriorKind::LogUniform, 10.0, 1.0, 100.0, "w").unwrap();
        assert!((lu.quantile(0.75) - 31.622776601683793).abs() < 1e-9);
    }

    #[test]
    fn quantiles_are_monotone_and_inside_the_range() {
        for p in [
            Prior::new(PriorKind::LogNormal, 2.0, 0.5, 3.0, "a").unwrap(),
            Prior::new(PriorKind::Normal, 0.0, 0.0, 2.0, "b").unwrap(),
            Prior::log_normal_sd(5.0, 0.7),
        ] {
            let mut last = f64::NEG_INFINITY;
            for i in 0..=1000 {
                let x = p.quantile(i as f64 / 1000.0);
                assert!(x >= last && x >= p.lo && x <= p.hi, "{p:?} {x}");
                last = x;
            }
        }
    }

    #[test]
    fn scaling_shrinks_towards_the_median() {
        let p = Prior::new(PriorKind::LogNormal, 10.0, 1.0, 50.0, "a").unwrap();
        let h = p.scaled(0.5);
        assert!(h.lo > p.lo && h.hi < p.hi && h.median == p.median);
        let z = p.scaled(0.0);
        assert_eq!((z.lo, z.hi), (10.0, 10.0));
        assert_eq!(z.quantile(0.9), 10.0);
    }

    #[test]
    fn bad_priors_are_refused_with_the_reason() {
        let e = Prior::new(PriorKind::LogNormal, 1.0, 0.0, 2.0, "k").unwrap_err();
        assert!(
            matches!(&e, PriorError::NonPositiveRange { what, kind: PriorKind::LogNormal, .. } if what == "k"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "k: a log-normal prior needs a positive range, got [0, 2]; use prior = \"normal\" or \"uniform\""
        );
        let e = Prior::new(PriorKind::Uniform, 0.2, 0.0, 1.0, "k").unwrap_err();
        assert!(
            matches!(e, PriorError::OffCentre { centre, .. } if centre == 0.5),
            "{e:?}"
        );
        assert!(e.to_string().contains("centre"), "{e}");
        let e = Prior::new(PriorKind::Normal, 3.0, 0.0, 1.0, "k").unwrap_err();
        assert!(e.to_string().contains("lo <= value <= hi"), "{e}");
    }
}
