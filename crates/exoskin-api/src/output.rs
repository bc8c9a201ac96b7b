//! One number out of a run's JSON document, by name: what sweeps (and later sensitivity and
//! power analyses) record per run.
//!
//! A name is a dotted path into the document of `exoskin simulate --json`
//! (`transport.reached_dermis_fraction`, `outcomes.collagen_pct`,
//! `transport.compartments_per_cm2.dermis`), optionally followed by `@DAY`:
//!
//! - a path that ends at a number gives that number (`@DAY` is then an error);
//! - a path that ends at a time series gives its value at day `DAY`, linearly interpolated on
//!   the series' own time axis (`outcomes.times_d` in days for outcome series,
//!   `transport.times_h` in hours for transport series, so `@2` is hour 48 there); without
//!   `@DAY` it gives the last value (the end of the run). A day outside the run is an error.

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

/// The value of output `name` (`NAME[@DAY]`, see the module doc) in a run's document.
pub fn output(doc: &Value, name: &str) -> Result<f64, ApiError> {
    let bad = |message: String| ApiError::BadInput {
        field: Some(name.to_string()),
        message,
    };
    let parsed = parse_name(name).map_err(bad)?;
    let mut at = doc;
    for (k, part) in parsed.path.iter().enumerate() {
        let here = parsed.path[..k].join(".");
        at = match at {
            Value::Object(m) => match m.get(part) {
                Some(v) => v,
                None => {
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    return Err(bad(format!(
                        "output \"{name}\": `{part}` is not in {}; the keys there are: {}",
                        if here.is_empty() {
                            "the run's document"
                        } else {
                            &here
                        },
                        keys.join(", ")
                    )));
                }
            },
            Value::Null => {
                return Err(bad(format!(
                    "output \"{name}\": this run has no `{here}` (a scenario of another kind)"
                )))
            }
            _ => {
                return Err(bad(format!(
                    "output \"{name}\": `{here}` is a value, it has no `{part}`"
                )))
            }
        };
    }
    match (at, parsed.day) {
        (Value::Number(n), None) => number(n.as_f64(), name),
        (Value::Number(_), Some(_)) => Err(bad(format!(
            "output \"{name}\": this is a single number, not a time series; drop the @DAY"
        ))),
        (Value::Array(series), day) => {
            let ys: Vec<f64> = series
                .iter()
                .map(|v| v.as_f64().ok_or(()))
                .collect::<Result<_, _>>()
                .map_err(|_| bad(format!("output \"{name}\": not a series of numbers")))?;
            let Some(day) = day else {
                return number(ys.last().copied(), name);
            };
            let (axis, per_day) = match parsed.path[0].as_str() {
                "outcomes" => ("times_d", 1.0),
                "transport" => ("times_h", 24.0),
                _ => {
                    return Err(bad(format!(
                        "output \"{name}\": no time axis for this series"
                    )))
                }
            };
            let ts: Vec<f64> = doc[parsed.path[0].as_str()][axis]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            if ts.len() != ys.len() {
                return Err(bad(format!(
                    "output \"{name}\": not a time series (its length differs from `{}.{axis}`); \
                     drop the @DAY",
                    parsed.path[0]
                )));
            }
            interpolate(&ts, &ys, day * per_day).ok_or_else(|| {
                bad(format!(
                    "output \"{name}\": day {day} is outside this run (days {} to {})",
                    ts.first().map_or(0.0, |t| t / per_day),
                    ts.last().map_or(0.0, |t| t / per_day)
                ))
            })
        }
        (Value::Null, _) => Err(bad(format!(
            "output \"{name}\": this run has no value there (null)"
        ))),
        _ => Err(bad(format!(
            "output \"{name}\": not a number or a time series; name a number inside it"
        ))),
    }
}

fn number(x: Option<f64>, name: &str) -> Result<f64, ApiError> {
    x.filter(|x| x.is_finite())
        .ok_or_else(|| ApiError::BadInput {
            field: Some(name.to_string()),
            message: format!("output \"{name}\": no finite number there"),
        })
}

/// Linear interpolation of (ts, ys) at t; None outside [ts[0], ts[last]]. ts ascending.
fn interpolate(ts: &[f64], ys: &[f64], t: f64) -> Option<f64> {
    let (first, last) = (*ts.first()?, *ts.last()?);
    let tol = 1e-9 * last.abs().max(1.0);
    if t < first - tol || t > last + tol {
        return None;
    }
    let t = t.clamp(first, last);
    let k = ts.partition_point(|x| *x < t);
    if k < ts.len() && ts[k] == t {
        return Some(ys[k]);
    }
    if k == 0 {
        return Some(ys[0]);
    }
    let (t0, t1, y0, y1) = (ts[k - 1], ts[k], ys[k - 1], ys[k]);
    Some(y0 + (y1 - y0) * (t - t0) / (t1 - t0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "transport": {"times_h": [0.0, 24.0, 48.0], "reached_dermis_fraction": 0.25,
                          "compartments_per_cm2": {"dermis": [0.0, 2.0, 4.0]}},
            "outcomes": {"times_d": [0.0, 1.0, 2.0], "collagen_pct": [0.0, 1.0, 3.0]},
            "other": null
        })
    }

    #[test]
    fn scalars_series_and_days() {
        let d = doc();
        assert_eq!(
            output(&d, "transport.reached_dermis_fraction").unwrap(),
            0.25
        );
        assert_eq!(output(&d, "outcomes.collagen_pct").unwrap(), 3.0);
        assert_eq!(output(&d, "outcomes.collagen_pct@1").unwrap(), 1.0);
        assert_eq!(output(&d, "outcomes.collagen_pct@1.5").unwrap(), 2.0);
        // Transport series are in hours: day 0.5 is hour 12.
        assert_eq!(
            output(&d, "transport.compartments_per_cm2.dermis@0.5").unwrap(),
            1.0
        );
    }

    #[test]
    fn bad_names_say_what_is_there() {
        let d = doc();
        let e = output(&d, "transport.reached").unwrap_err().to_string();
        assert!(e.contains("reached_dermis_fraction"), "{e}");
        let e = output(&d, "outcomes.collagen_pct@3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside this run (days 0 to 2)"), "{e}");
        let e = output(&d, "transport.reached_dermis_fraction@1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("drop the @DAY"), "{e}");
        assert!(parse_name("a.b@x").is_err());
        assert!(parse_name("a..b").is_err());
        let e = output(&d, "other.x").unwrap_err().to_string();
        assert!(e.contains("no `other`"), "{e}");
    }
}
