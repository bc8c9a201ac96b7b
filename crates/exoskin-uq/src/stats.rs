//! Small statistics shared by the kernels and by ensemble bands.

use crate::error::UqError;

/// Quantile `q` of ascending `sorted` values with linear interpolation between order
/// statistics (numpy's default, Hyndman & Fan type 7): position `h = (n - 1) q`, value
/// `x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`.
///
/// Preconditions: `sorted` is non-empty and ascending, `0 <= q <= 1`. Out of them the result
/// is NaN (empty input or a `q` outside [0, 1]); [`checked_quantile`] returns an error instead.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    checked_quantile(sorted, q).unwrap_or(f64::NAN)
}

/// [`quantile`] with its preconditions checked.
pub fn checked_quantile(sorted: &[f64], q: f64) -> Result<f64, UqError> {
    if sorted.is_empty() {
        return Err(UqError::InvalidArgument {
            name: "number of values for a quantile",
            value: "0".into(),
            allowed: "at least 1",
        });
    }
    if !(0.0..=1.0).contains(&q) {
        return Err(UqError::InvalidArgument {
            name: "quantile level",
            value: q.to_string(),
            allowed: "0 to 1",
        });
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    Ok(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// The 2.5 % and 97.5 % quantiles of `values` (sorted in place): a percentile 95 % interval.
pub(crate) fn percentile_ci95(values: &mut [f64]) -> [f64; 2] {
    values.sort_by(f64::total_cmp);
    [quantile(values, 0.025), quantile(values, 0.975)]
}

/// Population (divide by n) variance.
pub(crate) fn variance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let (n, sum) = values
        .clone()
        .fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    let mean = sum / n as f64;
    values.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64
}

/// The standard normal quantile of `u` in (0, 1) (`statrs`'s inverse distribution function);
/// NaN outside.
pub fn normal_quantile(u: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    if !(u > 0.0 && u < 1.0) {
        return f64::NAN;
    }
    Normal::standard().inverse_cdf(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear() {
        // numpy.quantile([1, 2, 4, 8, 16], [0, 0.1, 0.25, 0.5, 0.9, 1])
        // = [1, 1.4, 2, 4, 12.8, 16]
        let x = [1.0, 2.0, 4.0, 8.0, 16.0];
        for (q, want) in [
            (0.0, 1.0),
            (0.1, 1.4),
            (0.25, 2.0),
            (0.5, 4.0),
            (0.9, 12.8),
            (1.0, 16.0),
        ] {
            assert!((quantile(&x, q) - want).abs() < 1e-12, "q {q}");
        }
        assert_eq!(quantile(&[3.5], 0.3), 3.5);
    }

    #[test]
    fn bad_input() {
        assert!(quantile(&[], 0.5).is_nan());
        assert!(checked_quantile(&[], 0.5).is_err());
        assert!(checked_quantile(&[1.0], 1.5).is_err());
        assert!(checked_quantile(&[1.0], f64::NAN).is_err());
    }
}
