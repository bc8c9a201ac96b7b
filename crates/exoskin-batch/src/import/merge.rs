//! Writing imported figures into an existing QC record.
//!
//! Only the measured keys of `[characterization]` change (concentration and its method,
//! mode, D10/D50/D90, the 30-150 nm fraction) and `characterization.uncertainty` is set;
//! everything else, comments and layout included, stays as it was. The edit is made on the
//! lines of a TOML record and then checked: the edited text must parse to exactly the record
//! with the new figures. When the record is JSON, or its characterization is written in a
//! form the line edit does not handle (dotted keys, inline tables, multi-line values), the
//! whole record is written out again from its data (comments are then lost; the result says
//! so).
use super::{ImportError, Measured};
use crate::record::{QcRecord, Uncertainty};

/// TOML for a float that reads back as a float (never an integer literal).
pub(crate) fn toml_float(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:e}")
    } else {
        format!("{v:?}")
    }
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub(crate) fn measured_lines(c: &Measured) -> Vec<(&'static str, String)> {
    vec![
        (
            "particle_concentration_per_ml",
            toml_float(c.particle_concentration_per_ml),
        ),
        ("concentration_method", toml_string(&c.concentration_method)),
        ("size_mode_nm", toml_float(c.size_mode_nm)),
        ("size_d10_nm", toml_float(c.size_d10_nm)),
        ("size_d50_nm", toml_float(c.size_d50_nm)),
        ("size_d90_nm", toml_float(c.size_d90_nm)),
        ("fraction_30_150_nm", toml_float(c.fraction_30_150_nm)),
    ]
}

pub(crate) fn uncertainty_lines(u: &Uncertainty) -> Vec<(&'static str, String)> {
    vec![
        ("concentration_rel", toml_float(u.concentration_rel)),
        ("size_rel", toml_float(u.size_rel)),
        ("coverage_factor", toml_float(u.coverage_factor)),
        ("source", toml_string(&u.source)),
    ]
}

/// The record with the measured figures in place (its other fields unchanged).
pub fn apply(rec: &QcRecord, m: &Measured) -> QcRecord {
    let mut r = rec.clone();
    let c = &mut r.characterization;
    c.particle_concentration_per_ml = m.particle_concentration_per_ml;
    c.concentration_method = m.concentration_method.clone();
    c.size_mode_nm = m.size_mode_nm;
    c.size_d10_nm = m.size_d10_nm;
    c.size_d50_nm = m.size_d50_nm;
    c.size_d90_nm = m.size_d90_nm;
    c.fraction_30_150_nm = m.fraction_30_150_nm;
    c.uncertainty = Some(m.uncertainty.clone());
    r
}

/// The merged record's text, and whether the original's comments and layout were kept.
pub fn merge(text: &str, what: &str, m: &Measured) -> Result<(String, bool), ImportError> {
    let rec = QcRecord::parse(text, what)?;
    let merged = apply(&rec, m);
    merged.validate().map_err(|e| e.in_field(what))?;
    if !text.trim_start().starts_with('{') {
        if let Some(edited) = edit_lines(text, m) {
            if QcRecord::parse(&edited, what).ok().as_ref() == Some(&merged) {
                return Ok((edited, true));
            }
        }
        let mut out = format!(
            "# {what} with figures from `exoskin batch import`; written out again from its data, so its comments are not kept.\n"
        );
        out.push_str(&toml::to_string(&merged).map_err(|e| {
            crate::BatchError::invalid(format!("cannot write the record as TOML: {e}"))
        })?);
        return Ok((out, false));
    }
    let mut s = serde_json::to_string_pretty(&merged)
        .map_err(|e| crate::BatchError::invalid(e.to_string()))?;
    s.push('\n');
    Ok((s, false))
}

/// A table header line's name (`[a.b]` -> `a.b`), or None.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let t = match t.find('#') {
        Some(i) if !t.starts_with('#') => t[..i].trim(),
        _ => t,
    };
    if t.starts_with("[[") || !t.starts_with('[') || !t.ends_with(']') {
        return None;
    }
    Some(t[1..t.len() - 1].trim().to_string())
}

/// The key of a `key = value` line.
fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    Some(k.trim())
}

/// Replace the measured lines in place; None when the record is not laid out as expected.
fn edit_lines(text: &str, m: &Measured) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let start = lines
        .iter()
        .position(|l| header(l).as_deref() == Some("characterization"))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    for (key, value) in measured_lines(m) {
        let hits: Vec<usize> = (start + 1..end)
            .filter(|&i| key_of(&lines[i]) == Some(key))
            .collect();
        if hits.len() != 1 {
            return None;
        }
        let i = hits[0];
        let indent: String = lines[i].chars().take_while(|c| c.is_whitespace()).collect();
        lines[i] = format!("{indent}{key} = {value}");
    }
    // An inline `uncertainty = {...}` inside the table is replaced by the sub-table below.
    let inline: Vec<usize> = (start + 1..end)
        .filter(|&i| key_of(&lines[i]) == Some("uncertainty"))
        .collect();
    let sub = lines
        .iter()
        .position(|l| header(l).as_deref() == Some("characterization.uncertainty"));
    let block: Vec<String> = std::iter::once("[characterization.uncertainty]".to_string())
        .chain(
            uncertainty_lines(&m.uncertainty)
                .into_iter()
                .map(|(k, v)| format!("{k} = {v}")),
        )
        .collect();
    match (inline.as_slice(), sub) {
        ([], Some(s)) => {
            let e = lines[s + 1..]
                .iter()
                .position(|l| l.trim_start().starts_with('['))
                .map(|i| s + 1 + i)
                .unwrap_or(lines.len());
            // Keep the blank lines and comments before the next table.
            let mut keep_from = e;
            while keep_from > s + 1 && {
                let t = lines[keep_from - 1].trim();
                t.is_empty() || t.starts_with('#')
            } {
                keep_from -= 1;
            }
            lines.splice(s..keep_from, block);
        }
        (&[i], None) => {
            lines.remove(i);
            let mut at = end - 1;
            while at > start && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            let mut b = vec![String::new()];
            b.extend(block);
            lines.splice(at..at, b);
        }
        ([], None) => {
            let mut at = end;
            while at > start + 1 && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            let mut b = vec![String::new()];
            b.extend(block);
            lines.splice(at..at, b);
        }
        _ => return None,
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            particle_concentration_per_ml: 3.3e10,
            concentration_method: "NTA".into(),
            size_mode_nm: 92.5,
            size_d10_nm: 61.2,
            size_d50_nm: 101.4,
            size_d90_nm: 170.0,
            fraction_30_150_nm: 0.815,
            uncertainty: Uncertainty {
                concentration_rel: 0.512,
                size_rel: 0.125,
                coverage_factor: 2.0,
                source: "test \"budget\"".into(),
            },
        }
    }

    fn example() -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/qc/pass_msc_serum.toml");
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn merge_keeps_comments_and_every_other_field() {
        let text = example();
        let (out, kept) = merge(&text, "pass_msc_serum.toml", &measured()).unwrap();
        assert!(kept);
        assert!(
            out.starts_with("# A batch that passes"),
            "the leading comment stays"
        );
        let before = QcRecord::parse(&text, "a").unwrap();
        let after = QcRecord::parse(&out, "b").unwrap();
        assert_eq!(after, apply(&before, &measured()));
        assert_eq!(
            after.characterization.particles_per_ug_protein,
            before.characterization.particles_per_ug_protein
        );
        assert_eq!(
            after.characterization.markers_present,
            before.characterization.markers_present
        );
        assert_eq!(after.safety, before.safety);
        assert_eq!(
            after
                .characterization
                .uncertainty
                .as_ref()
                .unwrap()
                .size_rel,
            0.125
        );
        // Every line but the measured keys' is kept byte for byte, in order.
        let measured_keys = [
            "particle_concentration_per_ml",
            "concentration_method",
            "size_mode_nm",
            "size_d10_nm",
            "size_d50_nm",
            "size_d90_nm",
            "fraction_30_150_nm",
        ];
        let kept_lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                !measured_keys
                    .iter()
                    .any(|k| l.starts_with(&format!("{k} =")))
            })
            .collect();
        let mut it = out.lines();
        for l in &kept_lines {
            assert!(it.any(|o| o == *l), "line `{l}` is missing or out of order");
        }
        // Merging again replaces the uncertainty table instead of adding a second one.
        let mut m2 = measured();
        m2.uncertainty.size_rel = 0.2;
        let (again, kept) = merge(&out, "x", &m2).unwrap();
        assert!(kept);
        assert_eq!(again.matches("[characterization.uncertainty]").count(), 1);
        assert_eq!(
            QcRecord::parse(&again, "x")
                .unwrap()
                .characterization
                .uncertainty
                .unwrap()
                .size_rel,
            0.2
        );
    }

    #[test]
    fn inline_tables_and_json_are_written_whole() {
        let text = example().replace("size_mode_nm = 98.0\n", "").replace(
            "[characterization]\n",
            "[characterization]\nsize_mode_nm = 98.0 # from the report\n",
        );
        let (out, kept) = merge(&text, "r.toml", &measured()).unwrap();
        assert!(kept, "a trailing comment on a replaced line is fine");
        assert_eq!(
            QcRecord::parse(&out, "r")
                .unwrap()
                .characterization
                .size_mode_nm,
            92.5
        );
        let json = serde_json::to_string(&QcRecord::parse(&example(), "e").unwrap()).unwrap();
        let (out, kept) = merge(&json, "r.json", &measured()).unwrap();
        assert!(!kept);
        assert_eq!(
            QcRecord::parse(&out, "r")
                .unwrap()
                .characterization
                .size_d90_nm,
            170.0
        );
        // A characterization with dotted keys elsewhere falls back to the whole record.
        let dotted = example().replace("fraction_30_150_nm = 0.82\n", "");
        assert!(
            merge(&dotted, "d.toml", &measured()).is_err(),
            "a record missing a field does not parse"
        );
    }

    #[test]
    fn a_merge_that_breaks_the_record_is_refused() {
        let mut m = measured();
        m.size_d10_nm = 200.0; // D10 > D50
        let e = merge(&example(), "r.toml", &m).unwrap_err().to_string();
        assert!(e.contains("D10 <= D50 <= D90"), "{e}");
    }

    #[test]
    fn floats_stay_floats() {
        assert_eq!(toml_float(2.4e10), "2.4e10");
        assert_eq!(toml_float(98.0), "98.0");
        assert_eq!(toml_float(0.815), "0.815");
    }
}
