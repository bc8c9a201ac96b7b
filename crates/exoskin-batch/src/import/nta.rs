//! Malvern NanoSight NTA 3.x "Experiment Summary" CSV (`ExperimentSummary.csv`).
//!
//! The layout read (comma-separated, one record per line, fields optionally in double
//! quotes): settings as `key,value` lines before `[Results]` (the one used here is
//! `Dilution factor`); `[Results]` with one column per video, where the row
//! `Concentration (Particles / ml)` gives each video's concentration; `[Size Data]` with the
//! rows `Mean`, `Mode`, `SD`, `D10`, `D50`, `D90` per video (the instrument's own figures,
//! kept for comparison); then a `Graph Data` line, a header line starting `Bin centre (nm)`
//! with one `Concentration (particles / ml)` column per video (columns such as
//! `Concentration average` and `Standard Error` are ignored), and one line per bin until a
//! blank line, a `Percentile` line or the end of the file. Each video is a replicate.
use super::dist::Distribution;
use super::{ImportError, Parsed, Replicate};
use std::collections::BTreeMap;

/// The fields of one CSV line (quotes removed, `""` inside quotes as `"`), or the column
/// (1-based) of an unterminated quote.
pub(crate) fn split_csv(line: &str) -> Result<Vec<String>, usize> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.char_indices().peekable();
    let mut quoted = false;
    let mut quote_at = 0;
    while let Some((i, ch)) = chars.next() {
        if quoted {
            if ch == '"' {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(ch);
            }
        } else if ch == '"' && cur.trim().is_empty() {
            cur.clear();
            quoted = true;
            quote_at = i + 1;
        } else if ch == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    if quoted {
        return Err(quote_at);
    }
    out.push(cur);
    Ok(out.into_iter().map(|f| f.trim().to_string()).collect())
}

fn key_of(f: &str) -> String {
    f.trim().trim_end_matches(':').trim().to_ascii_lowercase()
}

pub(crate) fn number(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

#[derive(PartialEq)]
enum Section {
    Settings,
    Results,
    SizeData,
    Other,
}

/// An error at a 1-based line of `file`.
fn line_err(file: &str, line: usize, message: String) -> ImportError {
    ImportError::Line {
        file: file.into(),
        line,
        message,
    }
}

/// What the lines before `Graph Data` give.
struct Preamble {
    dilution: Option<f64>,
    /// The `[Results]` concentration line's number and its per-video values.
    results_conc: Option<(usize, Vec<f64>)>,
    reported: BTreeMap<String, f64>,
    /// The line number of `Graph Data`.
    graph_at: usize,
}

/// The distribution header: its line number, its columns, and the video columns' indices.
struct GraphHeader {
    header_ln: usize,
    cols: Vec<String>,
    video_cols: Vec<usize>,
}

pub fn parse(text: &str, file: &str) -> Result<Parsed, ImportError> {
    let lines: Vec<&str> = text.lines().collect();
    let Preamble {
        dilution,
        results_conc,
        mut reported,
        graph_at,
    } = read_preamble(&lines, file)?;
    let header = read_graph_header(&lines, graph_at, file)?;
    let (centres, weights) = read_bins(&lines, &header, file)?;
    check_video_count(&results_conc, &header, file)?;
    let replicates = build_replicates(centres, weights, &results_conc, file)?;
    if let Some((_, c)) = &results_conc {
        reported.insert(
            "Concentration (Particles / ml)".into(),
            c.iter().sum::<f64>() / c.len() as f64,
        );
    }
    Ok(Parsed {
        file: file.into(),
        format: super::Format::NtaCsv,
        replicates,
        dilution_in_file: dilution,
        reported,
        fcs: None,
    })
}

/// The settings, `[Results]` and `[Size Data]` sections, up to the `Graph Data` line.
fn read_preamble(lines: &[&str], file: &str) -> Result<Preamble, ImportError> {
    let mut section = Section::Settings;
    let mut dilution: Option<f64> = None;
    let mut results_conc: Option<(usize, Vec<f64>)> = None;
    let mut reported: BTreeMap<String, f64> = BTreeMap::new();
    let mut graph_at = None;
    for (i, raw) in lines.iter().enumerate() {
        let ln = i + 1;
        let fields = split_csv(raw).map_err(|col| {
            line_err(
                file,
                ln,
                format!("unterminated quote starting at column {col}"),
            )
        })?;
        let key = key_of(&fields[0]);
        match key.as_str() {
            "[results]" => {
                section = Section::Results;
                continue;
            }
            "[size data]" => {
                section = Section::SizeData;
                continue;
            }
            "graph data" => {
                graph_at = Some(ln);
                break;
            }
            k if k.starts_with('[') && k.ends_with(']') => {
                section = Section::Other;
                continue;
            }
            _ => {}
        }
        let values = &fields[1..];
        match section {
            Section::Settings if key == "dilution factor" => {
                let v = values.first().map(|s| s.as_str()).unwrap_or("");
                if !v.is_empty() {
                    let d = number(v)
                        .filter(|d| *d >= 1.0)
                        .ok_or_else(|| ImportError::Field {
                            file: file.into(),
                            field: format!("Dilution factor (line {ln})"),
                            message: format!("`{v}` is not a dilution factor (a number >= 1)"),
                        })?;
                    dilution = Some(d);
                }
            }
            Section::Results if key == "concentration (particles / ml)" => {
                let v = read_results_concentrations(values, ln, file)?;
                if results_conc.is_none() {
                    results_conc = Some((ln, v));
                }
            }
            Section::SizeData => {
                let name = fields[0].trim().trim_end_matches(':').to_string();
                if ["Mean", "Mode", "SD", "D10", "D50", "D90"].contains(&name.as_str()) {
                    let nums: Vec<f64> = values.iter().filter_map(|c| number(c)).collect();
                    if !nums.is_empty() && !reported.contains_key(&name) {
                        reported.insert(name, nums.iter().sum::<f64>() / nums.len() as f64);
                    }
                }
            }
            _ => {}
        }
    }
    let graph_at = graph_at.ok_or_else(|| ImportError::File {
        file: file.into(),
        message: "no `Graph Data` line: not a NanoSight NTA 3.x Experiment Summary (export it with the size distribution)".into(),
    })?;
    Ok(Preamble {
        dilution,
        results_conc,
        reported,
        graph_at,
    })
}

/// The per-video values of the `[Results]` concentration line `ln` (empty cells skipped).
fn read_results_concentrations(
    values: &[String],
    ln: usize,
    file: &str,
) -> Result<Vec<f64>, ImportError> {
    let mut v = Vec::new();
    for (j, cell) in values.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        v.push(number(cell).filter(|x| *x >= 0.0).ok_or_else(|| {
            line_err(
                file,
                ln,
                format!(
                    "Concentration (Particles / ml) of video {} is `{cell}`, not a number >= 0",
                    j + 1
                ),
            )
        })?);
    }
    Ok(v)
}

/// The header line after `Graph Data` (line `graph_at`) and its video columns.
fn read_graph_header(
    lines: &[&str],
    graph_at: usize,
    file: &str,
) -> Result<GraphHeader, ImportError> {
    // The header follows the `Graph Data` line.
    let header_ln = graph_at + 1;
    let header = lines
        .get(header_ln - 1)
        .ok_or_else(|| line_err(file, header_ln, "the file ends after `Graph Data`; expected the header `Bin centre (nm),Concentration (particles / ml),...`".into()))?;
    let cols = split_csv(header)
        .map_err(|c| line_err(file, header_ln, format!("unterminated quote at column {c}")))?;
    if !cols[0].eq_ignore_ascii_case("Bin centre (nm)") {
        return Err(line_err(
            file,
            header_ln,
            format!(
                "the distribution header starts with `{}`, expected `Bin centre (nm)`",
                cols[0]
            ),
        ));
    }
    let video_cols: Vec<usize> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.to_ascii_lowercase()
                .starts_with("concentration (particles / ml)")
        })
        .map(|(j, _)| j)
        .collect();
    if video_cols.is_empty() {
        return Err(line_err(
            file,
            header_ln,
            "no `Concentration (particles / ml)` column: the distribution has no video".into(),
        ));
    }
    Ok(GraphHeader {
        header_ln,
        cols,
        video_cols,
    })
}

/// The bin lines after the header: bin centres and each video's weights (at least 2 bins).
fn read_bins(
    lines: &[&str],
    header: &GraphHeader,
    file: &str,
) -> Result<(Vec<f64>, Vec<Vec<f64>>), ImportError> {
    let GraphHeader {
        header_ln,
        cols,
        video_cols,
    } = header;
    let header_ln = *header_ln;
    let mut centres = Vec::new();
    let mut weights: Vec<Vec<f64>> = vec![Vec::new(); video_cols.len()];
    for (i, raw) in lines.iter().enumerate().skip(header_ln) {
        let ln = i + 1;
        let f = split_csv(raw)
            .map_err(|c| line_err(file, ln, format!("unterminated quote at column {c}")))?;
        if f.iter().all(|c| c.is_empty()) || f[0].eq_ignore_ascii_case("Percentile") {
            break;
        }
        let c = number(&f[0]).filter(|c| *c >= 0.0).ok_or_else(|| {
            line_err(
                file,
                ln,
                format!("bin centre `{}` is not a size in nm (a number >= 0)", f[0]),
            )
        })?;
        if let Some(prev) = centres.last() {
            if c <= *prev {
                return Err(line_err(
                    file,
                    ln,
                    format!("bin centre {c} nm does not follow {prev} nm: bins must increase"),
                ));
            }
        }
        centres.push(c);
        for (v, &j) in video_cols.iter().enumerate() {
            let cell = f.get(j).map(|s| s.as_str()).unwrap_or("");
            let w = number(cell).filter(|w| *w >= 0.0).ok_or_else(|| {
                line_err(
                    file,
                    ln,
                    format!(
                        "`{}` of video {} is `{cell}`, not a concentration >= 0",
                        cols[j],
                        v + 1
                    ),
                )
            })?;
            weights[v].push(w);
        }
    }
    if centres.len() < 2 {
        return Err(line_err(
            file,
            header_ln + 1,
            format!(
                "{} bin(s) after the header; a size distribution needs at least 2",
                centres.len()
            ),
        ));
    }
    Ok((centres, weights))
}

/// `[Results]` must give one concentration per video column of the distribution.
fn check_video_count(
    results_conc: &Option<(usize, Vec<f64>)>,
    header: &GraphHeader,
    file: &str,
) -> Result<(), ImportError> {
    if let Some((ln, v)) = results_conc {
        if v.len() != header.video_cols.len() {
            return Err(line_err(
                file,
                *ln,
                format!(
                    "{} video concentration(s) in [Results] but {} video column(s) in Graph Data (line {})",
                    v.len(),
                    header.video_cols.len(),
                    header.header_ln
                ),
            ));
        }
    }
    Ok(())
}

/// One replicate per video: its distribution and concentration (`[Results]`, else the total).
fn build_replicates(
    centres: Vec<f64>,
    weights: Vec<Vec<f64>>,
    results_conc: &Option<(usize, Vec<f64>)>,
    file: &str,
) -> Result<Vec<Replicate>, ImportError> {
    let mut replicates = Vec::new();
    for (v, w) in weights.into_iter().enumerate() {
        let label = format!("video {}", v + 1);
        let dist = Distribution::new(centres.clone(), w, &format!("{file} ({label})"))?;
        let conc = match results_conc {
            Some((_, c)) => c[v],
            None => dist.total(),
        };
        replicates.push(Replicate {
            label,
            dist,
            concentration_per_ml: conc,
            events: None,
        });
    }
    Ok(replicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "NTA Version,NTA 3.4 Build 3.4.4\nSample Name,EV lot 12\nDilution factor,100\n\n[Results]\n,Video 1,Video 2\nConcentration (Particles / ml),2.0E+08,4.0E+08\n[Size Data]\nMean,91.0,93.0\nD50,88.0,90.0\n\nGraph Data\nBin centre (nm),Concentration (particles / ml),Concentration (particles / ml),Concentration average,Standard Error\n50,1.0E+07,2.0E+07,1.5E+07,0\n70,2.0E+07,4.0E+07,3.0E+07,0\n90,4.0E+07,8.0E+07,6.0E+07,0\n110,3.0E+07,6.0E+07,4.5E+07,0\n\nPercentile,Size\n";

    #[test]
    fn reads_videos_dilution_and_reported_figures() {
        let p = parse(SAMPLE, "s.csv").unwrap();
        assert_eq!(p.dilution_in_file, Some(100.0));
        assert_eq!(p.replicates.len(), 2);
        assert_eq!(p.replicates[1].concentration_per_ml, 4.0e8);
        assert_eq!(
            p.replicates[0].dist.centres_nm,
            vec![50.0, 70.0, 90.0, 110.0]
        );
        assert_eq!(p.replicates[1].dist.weights[2], 8.0e7);
        assert_eq!(p.reported["D50"], 89.0);
        // Same shape as the hand-computed distribution in dist.rs: D50 = 90 nm.
        assert!((p.replicates[0].dist.percentile(0.5) - 90.0).abs() < 1e-9);
    }

    #[test]
    fn quoted_fields_and_escaped_quotes() {
        assert_eq!(
            split_csv("\"a,b\",\"c\"\"d\", e ").unwrap(),
            vec!["a,b", "c\"d", "e"]
        );
        assert_eq!(split_csv("\"open,x").unwrap_err(), 1);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let bad = SAMPLE.replace("90,4.0E+07", "90,4.0E+0x");
        let e = parse(&bad, "s.csv").unwrap_err().to_string();
        assert!(e.starts_with("s.csv:16:"), "{e}");
        let bad = SAMPLE.replace("110,3.0E+07", "80,3.0E+07");
        let e = parse(&bad, "s.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("s.csv:17:") && e.contains("must increase"),
            "{e}"
        );
        let bad = SAMPLE.replace("2.0E+08,4.0E+08", "2.0E+08");
        let e = parse(&bad, "s.csv").unwrap_err().to_string();
        assert!(
            e.starts_with("s.csv:7:") && e.contains("1 video concentration"),
            "{e}"
        );
        let bad = SAMPLE.replace("Dilution factor,100", "Dilution factor,abc");
        let e = parse(&bad, "s.csv").unwrap_err().to_string();
        assert!(e.contains("Dilution factor (line 3)"), "{e}");
        let e = parse("a,b\n", "s.csv").unwrap_err().to_string();
        assert!(e.contains("Graph Data"), "{e}");
    }
}
