//! Picking one number out of a run's JSON document: the outputs of sweeps, ensembles and
//! sensitivity analyses are named the same way everywhere.
//!
//! A name is a dotted path into the document (`transport.reached_dermis_fraction`,
//! `outcomes.collagen_pct`) or an outcome's short name (`collagen_pct`, looked up under
//! `outcomes` and then `transport`). A time series gives its last value, or its value at a
//! day with `@DAY` (`collagen_pct@90`), linearly interpolated on the series' own times
//! (`outcomes.times_d`, or `transport.times_h` / 24).

use crate::ApiError;
use serde_json::Value;

/// A parsed output name: the path's parts and the day, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputName {
    pub path: Vec<String>,
    pub day: Option<f64>,
}

/// Parse `NAME[@DAY]`; the error says what is wrong with the name.
pub fn parse_name(name: &str) -> Result<OutputName, String> {
    let (path, day) = match name.split_once('@') {
        Some((p, d)) => {
            let day: f64 = d.trim().parse().map_err(|_| {
                format!("output \"{name}\": the day after @ must be a number, e.g. \"{p}@28\"")
            })?;
            if !day.is_finite() || day < 0.0 {
                return Err(format!(
                    "output \"{name}\": the day after @ must be finite and >= 0"
                ));
            }
            (p, Some(day))
        }
        None => (name, None),
    };
    let parts: Vec<String> = path.split('.').map(|s| s.trim().to_string()).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!(
            "output \"{name}\": a dotted path into the run's JSON is needed, \
             e.g. \"transport.reached_dermis_fraction\" or \"outcomes.collagen_pct@28\""
        ));
    }
    Ok(OutputName { path: parts, day })
}

/// The value of the output `spec` (`NAME` or `NAME@DAY`) in a `simulate` document.
pub fn output(doc: &Value, spec: &str) -> Result<f64, ApiError> {
    let (name, day) = match spec.split_once('@') {
        Some((n, d)) => {
            let day: f64 = d.trim().parse().map_err(|_| {
                bad(
                    spec,
                    format!("`{d}` after @ is not a day; write NAME@DAY, e.g. collagen_pct@90"),
                )
            })?;
            if !(day.is_finite() && day >= 0.0) {
                return Err(bad(spec, format!("day {d} must be a number >= 0")));
            }
            (n.trim(), Some(day))
        }
        None => (spec.trim(), None),
    };
    if name.is_empty() {
        return Err(bad(spec, "empty output name".into()));
    }
    let (value, section) = find(doc, name).ok_or_else(|| {
        bad(
            spec,
            format!(
                "no output `{name}` in this run; outputs are {}",
                available(doc).join(", ")
            ),
        )
    })?;
    match value {
        Value::Number(x) => {
            if day.is_some() {
                return Err(bad(
                    spec,
                    format!("`{name}` is one number, not a time series; drop the @DAY"),
                ));
            }
            x.as_f64().ok_or_else(|| bad(spec, "not a number".into()))
        }
        Value::Array(items) => {
            let ys = numbers(items)
                .ok_or_else(|| bad(spec, format!("`{name}` is not a series of numbers")))?;
            if ys.is_empty() {
                return Err(bad(spec, format!("`{name}` is an empty series")));
            }
            match day {
                None => Ok(ys[ys.len() - 1]),
                Some(d) => {
                    let days = times_d(doc, section, ys.len()).ok_or_else(|| {
                        bad(spec, format!("`{name}` has no time axis of its own length"))
                    })?;
                    interpolate(&days, &ys, d).ok_or_else(|| {
                        bad(
                            spec,
                            format!(
                                "day {d} is outside the run (days {} to {}); pick a day inside it",
                                days[0],
                                days[days.len() - 1]
                            ),
                        )
                    })
                }
            }
        }
        Value::Null => Err(bad(
            spec,
            format!("`{name}` is not defined for this run (null)"),
        )),
        _ => Err(bad(
            spec,
            format!("`{name}` is not a number or a series; name one of its numeric members"),
        )),
    }
}

/// Every numeric output name of a document (short paths), for error messages and listings.
pub fn available(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(doc, String::new(), &mut out);
    out
}

fn collect(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "bands" || k == "times_d" || k == "times_h" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect(x, p, out);
            }
        }
        Value::Number(_) => out.push(path),
        Value::Array(items) if !items.is_empty() && numbers(items).is_some() => out.push(path),
        _ => {}
    }
}

fn bad(spec: &str, message: String) -> ApiError {
    ApiError::BadInput {
        field: Some("output".into()),
        message: format!("output `{spec}`: {message}"),
    }
}

fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

/// The value and the section (`outcomes` or `transport`) it lives in.
fn find<'a>(doc: &'a Value, name: &str) -> Option<(&'a Value, &'static str)> {
    for section in ["outcomes", "transport"] {
        if let Some(rest) = name.strip_prefix(section).and_then(|r| r.strip_prefix('.')) {
            return get(doc, section)
                .and_then(|s| get(s, rest))
                .map(|v| (v, section));
        }
    }
    for section in ["outcomes", "transport"] {
        if let Some(v) = get(doc, section).and_then(|s| get(s, name)) {
            return Some((v, section));
        }
    }
    None
}

fn numbers(items: &[Value]) -> Option<Vec<f64>> {
    items.iter().map(Value::as_f64).collect()
}

fn times_d(doc: &Value, section: &str, len: usize) -> Option<Vec<f64>> {
    let (key, scale) = match section {
        "outcomes" => ("times_d", 1.0),
        _ => ("times_h", 1.0 / 24.0),
    };
    let t = numbers(get(doc, section)?.get(key)?.as_array()?)?;
    (t.len() == len).then(|| t.iter().map(|x| x * scale).collect())
}

/// Linear interpolation of (xs, ys) at x; None outside [xs[0], xs[last]] (with a small
/// tolerance for round-off at the ends).
pub fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> Option<f64> {
    let (first, last) = (xs[0], xs[xs.len() - 1]);
    let tol = 1e-9 * (last - first).abs().max(1.0);
    if x < first - tol || x > last + tol {
        return None;
    }
    let x = x.clamp(first, last);
    let k = xs.partition_point(|&t| t < x);
    if k == 0 {
        return Some(ys[0]);
    }
    if k >= xs.len() {
        return Some(ys[ys.len() - 1]);
    }
    let (x0, x1) = (xs[k - 1], xs[k]);
    if x1 == x0 {
        return Some(ys[k]);
    }
    Some(ys[k - 1] + (ys[k] - ys[k - 1]) * (x - x0) / (x1 - x0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "outcomes": {"times_d": [0.0, 1.0, 3.0], "collagen_pct": [0.0, 2.0, 6.0], "wound_closure_h": 24.0},
            "transport": {"times_h": [0.0, 24.0, 48.0], "reached_dermis_per_cm2": [0.0, 10.0, 30.0], "reached_dermis_fraction": 0.25, "channel": null}
        })
    }

    #[test]
    fn names_resolve_to_numbers_last_values_and_interpolated_days() {
        let d = doc();
        assert_eq!(
            output(&d, "transport.reached_dermis_fraction").unwrap(),
            0.25
        );
        assert_eq!(output(&d, "reached_dermis_fraction").unwrap(), 0.25);
        assert_eq!(output(&d, "collagen_pct").unwrap(), 6.0);
        // exact linear interpolation between day 1 (2 %) and day 3 (6 %)
        assert!((output(&d, "collagen_pct@2").unwrap() - 4.0).abs() < 1e-12);
        assert!((output(&d, "outcomes.collagen_pct@0.5").unwrap() - 1.0).abs() < 1e-12);
        // transport series use hours / 24
        assert!((output(&d, "reached_dermis_per_cm2@1.5").unwrap() - 20.0).abs() < 1e-12);
    }

    #[test]
    fn bad_names_say_what_exists() {
        let d = doc();
        let e = output(&d, "colagen_pct").unwrap_err().to_string();
        assert!(
            e.contains("collagen_pct") && e.contains("colagen_pct"),
            "{e}"
        );
        let e = output(&d, "collagen_pct@9").unwrap_err().to_string();
        assert!(e.contains("outside the run"), "{e}");
        let e = output(&d, "collagen_pct@x").unwrap_err().to_string();
        assert!(e.contains("not a day"), "{e}");
        let e = output(&d, "wound_closure_h@2").unwrap_err().to_string();
        assert!(e.contains("drop the @DAY"), "{e}");
        let e = output(&d, "channel").unwrap_err().to_string();
        assert!(e.contains("null"), "{e}");
    }
}
