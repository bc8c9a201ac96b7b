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

/// Why an output name does not parse; each says which name and how to write it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputNameError {
    /// The text after `@` is not a number.
    #[error("output \"{name}\": the day after @ must be a number, e.g. \"{path}@28\"")]
    DayNotANumber { name: String, path: String },
    /// The day after `@` is negative or not finite.
    #[error("output \"{name}\": the day after @ must be finite and >= 0")]
    DayOutOfRange { name: String },
    /// The path is empty or has an empty part (`a..b`, `.x`).
    #[error(
        "output \"{name}\": a dotted path into the run's JSON is needed, \
         e.g. \"transport.reached_dermis_fraction\" or \"outcomes.collagen_pct@28\""
    )]
    EmptyPath { name: String },
}

impl From<OutputNameError> for ApiError {
    /// A bad output name is the user's input, in the field `output`.
    fn from(e: OutputNameError) -> ApiError {
        ApiError::BadInput {
            field: Some("output".into()),
            message: e.to_string(),
        }
    }
}

/// Parse `NAME[@DAY]`; the error says what is wrong with the name.
pub fn parse_name(name: &str) -> Result<OutputName, OutputNameError> {
    let (path, day) = match name.split_once('@') {
        Some((p, d)) => {
            let day: f64 = d
                .trim()
                .parse()
                .map_err(|_| OutputNameError::DayNotANumber {
                    name: name.to_string(),
                    path: p.to_string(),
                })?;
            if !day.is_finite() || day < 0.0 {
                return Err(OutputNameError::DayOutOfRange {
                    name: name.to_string(),
                });
            }
            (p, Some(day))
        }
        None => (name, None),
    };
    let parts: Vec<String> = path.split('.').map(|s| s.trim().to_string()).collect();
    if parts.iter().any(String::is_empty) {
        return Err(OutputNameError::EmptyPath {
            name: name.to_string(),
        });
    }
    Ok(OutputName { path: parts, day })
}

/// An output name parsed once: a sweep, an ensemble or a sensitivity analysis reads each
/// run through it without parsing or looking the name up again. Outcome series
/// (`collagen_pct`, `outcomes.collagen_pct@90`) are read from the run's typed outcomes;
/// other names from its document ([`output`]), which is then made once per run.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputId {
    /// The name as written (`collagen_pct@90`).
    pub text: String,
    /// The day after `@`, if any.
    pub day: Option<f64>,
    /// Position in [`exoskin_response::tissue::OUTCOMES`] when the name is an outcome series.
    outcome: Option<usize>,
}

impl OutputId {
    /// Parse `NAME[@DAY]` ([`parse_name`]); the error names the output and what is wrong.
    pub fn parse(text: &str) -> Result<OutputId, ApiError> {
        let n = parse_name(text)?;
        let short = match n.path.as_slice() {
            [x] => Some(x.as_str()),
            [s, x] if s == "outcomes" => Some(x.as_str()),
            _ => None,
        };
        // Only a name the document reader would resolve to the same series (no inner
        // spaces that `output` keeps) is read from the typed outcomes.
        let raw = text.split('@').next().unwrap_or("").trim();
        let outcome = short
            .filter(|x| raw == *x || raw == format!("outcomes.{x}"))
            .and_then(|x| {
                exoskin_response::tissue::OUTCOMES
                    .iter()
                    .position(|o| o == &x)
            });
        Ok(OutputId {
            text: text.to_string(),
            day: n.day,
            outcome,
        })
    }

    /// A name read from the run's document only, as [`output`] reads it (its errors
    /// included).
    pub fn document(text: &str) -> OutputId {
        OutputId {
            text: text.to_string(),
            day: None,
            outcome: None,
        }
    }

    /// The value in a finished run; `doc` holds the run's document once some output needed
    /// it (pass `&mut None` for a new run). Equal, bit for bit, to [`output`] on
    /// `run.json()`, errors included.
    pub fn value(
        &self,
        run: &crate::simulate::Run,
        doc: &mut Option<Value>,
    ) -> Result<f64, ApiError> {
        if let Some(x) = self.outcome.and_then(|k| self.typed(run, k)) {
            return Ok(x);
        }
        output(doc.get_or_insert_with(|| run.json()), &self.text)
    }

    /// The outcome series' value where the document would give the same number; None where
    /// the document must answer (no outcomes, a non-finite value, a day outside the run).
    fn typed(&self, run: &crate::simulate::Run, k: usize) -> Option<f64> {
        let s = &run.outcomes.as_ref()?.series;
        let ys = s.at(k)?;
        if ys.is_empty() || s.times_d.len() != ys.len() || !ys.iter().all(|y| y.is_finite()) {
            return None;
        }
        match self.day {
            None => Some(ys[ys.len() - 1]),
            Some(d) => interpolate(&s.times_d, ys, d),
        }
    }
}

/// Every output of a run, each parsed once ([`OutputId`]), its document made at most once.
pub fn values(ids: &[OutputId], run: &crate::simulate::Run) -> Vec<Result<f64, ApiError>> {
    let mut doc = None;
    ids.iter().map(|o| o.value(run, &mut doc)).collect()
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
    fn parsed_ids_read_a_run_exactly_as_its_document_does() {
        let scenario = crate::simulate::parse(
            crate::simulate::DEFAULT_SCENARIO,
            crate::simulate::DEFAULT_SCENARIO_NAME,
        )
        .unwrap();
        let run = crate::simulate::run(scenario, "default").unwrap();
        let doc = run.json();
        let mut names: Vec<String> = Vec::new();
        for o in exoskin_response::tissue::OUTCOMES {
            for suffix in ["", "@0", "@1.5", "@28", "@90", "@84", "@100000"] {
                names.push(format!("{o}{suffix}"));
                names.push(format!("outcomes.{o}{suffix}"));
            }
        }
        names.extend(
            [
                "transport.reached_dermis_fraction",
                "reached_dermis_per_cm2@1",
                "wound_closure_h",
                "outcomes. collagen_pct",
                "colagen_pct",
                "collagen_pct@x",
            ]
            .map(String::from),
        );
        let mut typed = 0;
        let mut cache = None;
        for n in &names {
            let id = match OutputId::parse(n) {
                Ok(id) => id,
                Err(_) => OutputId::document(n),
            };
            typed += usize::from(id.outcome.is_some());
            let a = id.value(&run, &mut cache).map_err(|e| e.to_string());
            let b = output(&doc, n).map_err(|e| e.to_string());
            match (&a, &b) {
                (Ok(x), Ok(y)) => assert_eq!(x.to_bits(), y.to_bits(), "{n}"),
                _ => assert_eq!(a, b, "{n}"),
            }
        }
        // the outcome series were read from the typed run, not the document
        assert_eq!(typed, 2 * 7 * exoskin_response::tissue::OUTCOMES.len());
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

    #[test]
    fn bad_output_names_are_typed_input_errors_in_the_output_field() {
        let e = parse_name("collagen_pct@x").unwrap_err();
        assert_eq!(
            e,
            OutputNameError::DayNotANumber {
                name: "collagen_pct@x".into(),
                path: "collagen_pct".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "output \"collagen_pct@x\": the day after @ must be a number, e.g. \"collagen_pct@28\""
        );
        assert!(matches!(
            parse_name("a@-1"),
            Err(OutputNameError::DayOutOfRange { .. })
        ));
        let e = OutputId::parse("a..b").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Input);
        assert!(
            matches!(&e, ApiError::BadInput { field: Some(f), message } if f == "output" && message.contains("a dotted path into the run's JSON is needed, e.g.")),
            "{e:?}"
        );
    }
}
