//! Particle Metrix ZetaView text exports (`*_size_*.txt`, tab-separated).
//!
//! The layout read: header lines `Key: value` (the key before the first colon; ZetaView
//! writes the dilution as `Dilution:: 1000.00`, so extra colons before the value are
//! dropped); a line `Size Distribution`; the table header, tab-separated, starting
//! `Size / nm` and holding a `Concentration / cm-3` column (particles per mL in each bin);
//! then one line per bin (numbers such as `1.250E+2`; a decimal comma is read as a point)
//! until a blank line, the `-1.000E+0` line that separates the linear from the logarithmic
//! section (not read), or a line that is not numeric. One file is one replicate; its
//! concentration is the sum of the table's `Concentration / cm-3` column.
use super::dist::Distribution;
use super::nta::number;
use super::{ImportError, Parsed, Replicate};
use std::collections::BTreeMap;

fn num(cell: &str) -> Option<f64> {
    let c = cell.trim();
    if c.contains(',') && !c.contains('.') {
        number(&c.replace(',', "."))
    } else {
        number(c)
    }
}

pub fn parse(text: &str, file: &str) -> Result<Parsed, ImportError> {
    let line_err = |line: usize, message: String| ImportError::Line {
        file: file.into(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut dilution = None;
    let mut table_at = None;
    for (i, raw) in lines.iter().enumerate() {
        let ln = i + 1;
        let t = raw.trim();
        if t.eq_ignore_ascii_case("Size Distribution") {
            table_at = Some(ln);
            break;
        }
        if let Some((k, v)) = t.split_once(':') {
            if k.trim().eq_ignore_ascii_case("Dilution") {
                let v = v.trim_start_matches(':').trim();
                let v = v.split_whitespace().next().unwrap_or("");
                if !v.is_empty() {
                    let d = num(v)
                        .filter(|d| *d >= 1.0)
                        .ok_or_else(|| ImportError::Field {
                            file: file.into(),
                            field: format!("Dilution (line {ln})"),
                            message: format!("`{v}` is not a dilution factor (a number >= 1)"),
                        })?;
                    dilution = Some(d);
                }
            }
        }
    }
    let table_at = table_at.ok_or_else(|| ImportError::File {
        file: file.into(),
        message: "no `Size Distribution` line: not a ZetaView size export".into(),
    })?;
    // The header: the next non-blank line.
    let (header_ln, header) = lines
        .iter()
        .enumerate()
        .skip(table_at)
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, *l))
        .ok_or_else(|| line_err(table_at, "the file ends after `Size Distribution`; expected the header `Size / nm<TAB>Number<TAB>Concentration / cm-3...`".into()))?;
    let cols: Vec<&str> = header.split('\t').map(str::trim).collect();
    if !cols[0].eq_ignore_ascii_case("Size / nm") {
        return Err(line_err(
            header_ln,
            format!(
                "the table header starts with `{}`, expected `Size / nm` (tab-separated)",
                cols[0]
            ),
        ));
    }
    let conc_col = cols
        .iter()
        .position(|c| c.eq_ignore_ascii_case("Concentration / cm-3"))
        .ok_or_else(|| {
            line_err(
                header_ln,
                "no `Concentration / cm-3` column in the table header".into(),
            )
        })?;
    let mut centres = Vec::new();
    let mut weights = Vec::new();
    for (i, raw) in lines.iter().enumerate().skip(header_ln) {
        let ln = i + 1;
        if raw.trim().is_empty() {
            break;
        }
        let f: Vec<&str> = raw.split('\t').map(str::trim).collect();
        let Some(size) = num(f[0]) else {
            if centres.is_empty() {
                return Err(line_err(ln, format!("size `{}` is not a number", f[0])));
            }
            break;
        };
        if size == -1.0 {
            break; // the separator before the logarithmic section
        }
        if size < 0.0 {
            return Err(line_err(ln, format!("size {size} nm is negative")));
        }
        if let Some(prev) = centres.last() {
            if size <= *prev {
                return Err(line_err(
                    ln,
                    format!("size {size} nm does not follow {prev} nm: bins must increase"),
                ));
            }
        }
        let cell = f.get(conc_col).copied().unwrap_or("");
        let w = num(cell).filter(|w| *w >= 0.0).ok_or_else(|| {
            line_err(
                ln,
                format!("`Concentration / cm-3` is `{cell}`, not a concentration >= 0"),
            )
        })?;
        centres.push(size);
        weights.push(w);
    }
    if centres.len() < 2 {
        return Err(line_err(
            header_ln + 1,
            format!(
                "{} bin(s) after the header; a size distribution needs at least 2",
                centres.len()
            ),
        ));
    }
    let dist = Distribution::new(centres, weights, file)?;
    let conc = dist.total();
    Ok(Parsed {
        file: file.into(),
        format: super::Format::ZetaView,
        replicates: vec![Replicate {
            label: "capture".into(),
            dist,
            concentration_per_ml: conc,
            events: None,
        }],
        dilution_in_file: dilution,
        reported: BTreeMap::new(),
        fcs: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Original File: C:\\ZetaView\\x.avi\tSection: 1\nSample: EV lot 12\nDilution:: 500.00\nTemperature: 23.10 sensed\n\nSize Distribution\nSize / nm\tNumber\tConcentration / cm-3\tVolume / nm^3\tArea / nm^2\n5.000E+1\t10\t1.000E+6\t0\t0\n7.000E+1\t20\t2.000E+6\t0\t0\n9.000E+1\t40\t4.000E+6\t0\t0\n1.100E+2\t30\t3.000E+6\t0\t0\n-1.000E+0\t-1.000E+0\t-1.000E+0\t-1.000E+0\t-1.000E+0\n1.000E+0\t99\t9.9E+9\t0\t0\n";

    #[test]
    fn reads_header_and_linear_table() {
        let p = parse(SAMPLE, "z.txt").unwrap();
        assert_eq!(p.dilution_in_file, Some(500.0));
        let r = &p.replicates[0];
        assert_eq!(r.dist.centres_nm, vec![50.0, 70.0, 90.0, 110.0]);
        assert_eq!(
            r.concentration_per_ml, 1.0e7,
            "the log section after -1 is not read"
        );
        assert!((r.dist.percentile(0.5) - 90.0).abs() < 1e-9);
    }

    #[test]
    fn decimal_commas_and_errors_with_lines() {
        let comma = SAMPLE.replace("4.000E+6", "4,000E+6");
        assert!(parse(&comma, "z.txt").is_ok());
        let bad = SAMPLE.replace("9.000E+1\t40\t4.000E+6", "9.000E+1\t40\tmany");
        let e = parse(&bad, "z.txt").unwrap_err().to_string();
        assert!(e.starts_with("z.txt:10:"), "{e}");
        let bad = SAMPLE.replace("Dilution:: 500.00", "Dilution:: 0.5");
        let e = parse(&bad, "z.txt").unwrap_err().to_string();
        assert!(e.contains("Dilution (line 3)"), "{e}");
        let bad = SAMPLE.replace("Concentration / cm-3", "Conc");
        let e = parse(&bad, "z.txt").unwrap_err().to_string();
        assert!(e.starts_with("z.txt:7:"), "{e}");
    }
}
