//! "Nice" tick values: steps of 1, 2 or 5 times a power of ten, and their labels.

/// Mantissas of the allowed steps.
const MANTISSAS: [f64; 3] = [1.0, 2.0, 5.0];

/// Most candidate steps tried, from the smallest upward (about 13 decades).
const MAX_CANDIDATES: usize = 40;

/// Ticks that cover `[min, max]`: the first is at or below `min`, the last at or above `max`
/// (a value within a billionth of a step of a tick counts as on it),
/// the step is 1, 2 or 5 times a power of ten, and there are at most `max_ticks` of them
/// (at least 2 are allowed whatever `max_ticks` says). Returns an empty vector when `min` or
/// `max` is not finite, `min > max`, or the range is too small to subdivide (`min == max`).
///
/// ```
/// assert_eq!(exoskin_plot::nice_ticks(0.0, 97.0, 6), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
/// ```
pub fn nice_ticks(min: f64, max: f64, max_ticks: usize) -> Vec<f64> {
    ticks_with(min, max, max_ticks, false, Placement::Cover)
}

/// Ticks inside `[min, max]` (both ends included) with a 1-2-5 step, at most `max_ticks`
/// of them where a step allows at least 2; as [`nice_ticks`] for bad input.
///
/// ```
/// assert_eq!(exoskin_plot::nice_ticks_inside(-0.04, 1.04, 6), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
/// ```
pub fn nice_ticks_inside(min: f64, max: f64, max_ticks: usize) -> Vec<f64> {
    ticks_with(min, max, max_ticks, false, Placement::Inside)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    Cover,
    Inside,
}

/// The integer multiples `(k_first, k_last)` of `step` that the placement gives; a value
/// within a billionth of a step of a multiple counts as on it (floating-point noise).
fn span_of(min: f64, max: f64, step: f64, placement: Placement) -> (f64, f64) {
    const EPS: f64 = 1e-9;
    match placement {
        Placement::Cover => ((min / step + EPS).floor(), (max / step - EPS).ceil()),
        Placement::Inside => ((min / step - EPS).ceil(), (max / step + EPS).floor()),
    }
}

/// A tick step: `mantissa` (1, 2 or 5) times ten to the `exponent`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    mantissa: f64,
    exponent: i32,
}

impl Step {
    pub(crate) fn value(self) -> f64 {
        self.mantissa * 10f64.powi(self.exponent)
    }

    /// `k` steps, as the double nearest to the decimal value (0.6, not 0.6).
    fn times(self, k: i64) -> f64 {
        let units = k as f64 * self.mantissa;
        if self.exponent >= 0 {
            units * 10f64.powi(self.exponent)
        } else {
            units / 10f64.powi(-self.exponent)
        }
    }
}

/// The step between ticks for a range, or `None` for bad input. `integer`: the step is at
/// least 1 (counts).
pub(crate) fn nice_step(
    min: f64,
    max: f64,
    max_ticks: usize,
    integer: bool,
    placement: Placement,
) -> Option<Step> {
    if !min.is_finite() || !max.is_finite() || min >= max {
        return None;
    }
    let span = max - min;
    if !span.is_finite() || span <= 0.0 {
        return None;
    }
    let max_ticks = max_ticks.max(2) as f64;
    // Start one decade below the step that would give exactly max_ticks intervals.
    let raw = span / max_ticks;
    let mut exponent = raw.log10().floor() as i32 - 1;
    if integer {
        exponent = exponent.max(0);
    }
    let mut previous: Option<Step> = None;
    for i in 0..MAX_CANDIDATES {
        let candidate = Step {
            mantissa: MANTISSAS[i % MANTISSAS.len()],
            exponent: exponent + (i / MANTISSAS.len()) as i32,
        };
        let step = candidate.value();
        if !step.is_finite() || step <= 0.0 {
            continue;
        }
        let (k0, k1) = span_of(min, max, step, placement);
        let count = k1 - k0 + 1.0;
        if count <= max_ticks {
            // Inside placement can leave fewer than 2 ticks with a step near the span: the
            // previous (smaller) step is then the better choice.
            if count < 2.0 && previous.is_some() {
                return previous;
            }
            return Some(candidate);
        }
        previous = Some(candidate);
    }
    previous
}

pub(crate) fn ticks_with(
    min: f64,
    max: f64,
    max_ticks: usize,
    integer: bool,
    placement: Placement,
) -> Vec<f64> {
    let Some(step) = nice_step(min, max, max_ticks, integer, placement) else {
        return Vec::new();
    };
    let (k0, k1) = span_of(min, max, step.value(), placement);
    // Bounded: the step was chosen so that k1 - k0 is small; guard anyway.
    if !(k1 - k0).is_finite() || k1 - k0 > 1000.0 {
        return Vec::new();
    }
    let k0 = k0 as i64;
    let k1 = k1 as i64;
    (k0..=k1).map(|k| step.times(k)).collect()
}

/// Labels for ticks spaced `step` apart, all in the same notation: plain decimals with as many
/// places as the step needs, or scientific notation (`2.5e6`) when values reach a million or
/// the step is below 0.0001.
///
/// ```
/// assert_eq!(exoskin_plot::format_ticks(&[0.0, 0.5, 1.0], 0.5), vec!["0", "0.5", "1.0"]);
/// assert_eq!(exoskin_plot::format_ticks(&[0.0, 2e6, 4e6], 2e6), vec!["0", "2e6", "4e6"]);
/// ```
pub fn format_ticks(ticks: &[f64], step: f64) -> Vec<String> {
    if !step.is_finite() || step <= 0.0 {
        return ticks.iter().map(|v| format!("{v}")).collect();
    }
    let step_exp = (step.log10() + 1e-9).floor() as i32;
    // Decimal places the step itself needs (2.5 needs 1, 20 needs none, 0.25 needs 2).
    let step_decimals = (-step_exp..-step_exp + 15)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() <= 1e-6 * scaled.abs()
        })
        .unwrap_or(-step_exp);
    let max_abs = ticks
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let scientific = max_abs >= 1e6 || step_exp < -4;
    ticks
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return format!("{v}");
            }
            if v.abs() < step * 1e-6 {
                return "0".to_string();
            }
            if scientific {
                let top_exp = (max_abs.log10() + 1e-9).floor() as i32;
                let digits = (top_exp + step_decimals).clamp(0, 15) as usize;
                format!("{v:.digits$e}")
            } else {
                let digits = step_decimals.clamp(0, 15) as usize;
                format!("{v:.digits$}")
            }
        })
        .collect()
}
