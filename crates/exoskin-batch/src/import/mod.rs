//! Instrument files into the measured part of a QC record's characterization.
//!
//! Three formats, each read into replicates (a video, a capture, an acquisition) that carry
//! a binned number-weighted size distribution and a particle concentration:
//!
//! - [`nta`]: Malvern NanoSight NTA 3.x "Experiment Summary" CSV (`ExperimentSummary.csv`):
//!   the settings block (`Dilution factor`), the `[Results]` block with
//!   `Concentration (Particles / ml)` per video, `[Size Data]` (Mean, Mode, SD, D10, D50,
//!   D90 per video) and `Graph Data` (`Bin centre (nm)` and one
//!   `Concentration (particles / ml)` column per video);
//! - [`zetaview`]: Particle Metrix ZetaView text exports: `Key: value` header lines
//!   (`Dilution::`, `Sample:`, ...) and the `Size Distribution` table
//!   (`Size / nm`, `Number`, `Concentration / cm-3`, ...), linear section;
//! - [`fcs`]: Flow Cytometry Standard 3.1 (HEADER, TEXT, DATA) from a nanoFCM or other flow
//!   instrument: a size parameter calibrated to nm and the events per volume analysed.
//!
//! Every statistic comes from the binned distribution by one method ([`dist`]); the
//! concentration is multiplied by the dilution factor. The expanded uncertainty
//! ([`budget`]) combines the spread of the replicates (Type A) with cited Type B terms, as
//! the GUM (JCGM 100:2008) does, with k = 2. [`merge`] writes the result into a record.
pub mod budget;
pub mod dist;
pub mod fcs;
pub mod merge;
pub mod nta;
pub mod zetaview;

use crate::record::Uncertainty;
use dist::{Distribution, SizeStats};
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// The largest instrument file read (the server's request limit is lower).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// What can go wrong reading an instrument file; every variant says where.
#[derive(Debug, Error)]
pub enum ImportError {
    /// A text file's line that does not read.
    #[error("{file}:{line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    /// A named field (a header key, an FCS keyword) missing or holding a bad value.
    #[error("{file}: {field}: {message}")]
    Field {
        file: String,
        field: String,
        message: String,
    },
    /// A distribution table that cannot be used.
    #[error("{what}: {message}")]
    Table { what: String, message: String },
    /// An FCS file whose structure is broken at a byte offset.
    #[error("{file}: byte {offset}: {message}")]
    Fcs {
        file: String,
        offset: usize,
        message: String,
    },
    /// A whole file that is not of the expected kind.
    #[error("{file}: {message}")]
    File { file: String, message: String },
    /// A bad option (flag or query parameter).
    #[error("{option}: {message}")]
    Option { option: String, message: String },
    /// The merged record does not validate or cannot be written.
    #[error(transparent)]
    Record(#[from] crate::BatchError),
}

impl ImportError {
    /// The field, line, byte or option an error points at, for an API's `field`.
    pub fn location(&self) -> Option<String> {
        match self {
            ImportError::Line { line, .. } => Some(format!("line {line}")),
            ImportError::Field { field, .. } => Some(field.clone()),
            ImportError::Fcs { offset, .. } => Some(format!("byte {offset}")),
            ImportError::Option { option, .. } => Some(option.clone()),
            ImportError::Table { .. } | ImportError::File { .. } => None,
            ImportError::Record(_) => Some("record".into()),
        }
    }

    /// Whether the input caused it (always, but an I/O failure while writing a record).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Record(e) => e.is_bad_input(),
            _ => true,
        }
    }

    pub(crate) fn option(option: &str, message: impl Into<String>) -> Self {
        ImportError::Option {
            option: option.into(),
            message: message.into(),
        }
    }
}

/// The instrument file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "nta-csv")]
    NtaCsv,
    #[serde(rename = "zetaview")]
    ZetaView,
    #[serde(rename = "fcs")]
    Fcs,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, ImportError> {
        match s {
            "nta-csv" => Ok(Format::NtaCsv),
            "zetaview" => Ok(Format::ZetaView),
            "fcs" => Ok(Format::Fcs),
            other => Err(ImportError::option(
                "format",
                format!("`{other}` is not a format; allowed: nta-csv, zetaview, fcs"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::NtaCsv => "nta-csv",
            Format::ZetaView => "zetaview",
            Format::Fcs => "fcs",
        }
    }

    /// The format of a file from its first bytes, or `None`.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"FCS3.") || bytes.starts_with(b"FCS2.") {
            return Some(Format::Fcs);
        }
        let head = &bytes[..bytes.len().min(1 << 20)];
        let text = String::from_utf8_lossy(head);
        if text.contains("Bin centre (nm)") || text.contains("NTA Version") {
            Some(Format::NtaCsv)
        } else if text.contains("Size / nm") || text.contains("ZetaView") {
            Some(Format::ZetaView)
        } else {
            None
        }
    }
}

/// Choices the user makes (flags of `exoskin batch import`, query parameters of the API).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Format of every file; detected from the content when `None`.
    pub format: Option<Format>,
    /// Dilution factor (>= 1) applied to every file, instead of the file's own.
    pub dilution: Option<f64>,
    /// FCS: the parameter ($PnN or $PnS) holding the particle size.
    pub size_channel: Option<String>,
    /// FCS: nanometres per unit of the size parameter's scale value, instead of its
    /// `$PnCALIBRATION`.
    pub size_nm_per_unit: Option<f64>,
    /// FCS: sample volume analysed per file in nanolitres, instead of `$VOL`.
    pub volume_nl: Option<f64>,
}

impl Options {
    /// Range checks on the numbers given.
    pub fn check(&self) -> Result<(), ImportError> {
        if let Some(d) = self.dilution {
            if !(d.is_finite() && d >= 1.0) {
                return Err(ImportError::option(
                    "dilution",
                    format!(
                        "{d} is not a dilution factor; it must be a number >= 1 (1 for undiluted)"
                    ),
                ));
            }
        }
        for (name, v) in [
            ("size-nm-per-unit", self.size_nm_per_unit),
            ("volume-nl", self.volume_nl),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(ImportError::option(
                        name,
                        format!("{v} must be a number > 0"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One replicate measurement read from a file.
#[derive(Debug, Clone)]
pub struct Replicate {
    /// `Video 2`, `capture`, the file name.
    pub label: String,
    pub dist: Distribution,
    /// Particles per mL as measured (before the dilution factor).
    pub concentration_per_ml: f64,
    /// FCS: the events with a valid size.
    pub events: Option<u64>,
}

/// One file, read.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub file: String,
    pub format: Format,
    pub replicates: Vec<Replicate>,
    /// The dilution factor the file states, if any.
    pub dilution_in_file: Option<f64>,
    /// The instrument's own figures (mean over its replicates), to compare with ours.
    pub reported: BTreeMap<String, f64>,
    /// FCS: the parameters and the raw events, for `--dump-events`.
    pub fcs: Option<fcs::FcsData>,
}

/// Read one file of `bytes`, named `file` in messages.
pub fn parse(bytes: &[u8], file: &str, opts: &Options) -> Result<Parsed, ImportError> {
    opts.check()?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::File {
            file: file.into(),
            message: format!(
                "{} bytes is more than the {MAX_FILE_BYTES} an instrument file may have",
                bytes.len()
            ),
        });
    }
    let format = match opts.format {
        Some(f) => f,
        None => Format::detect(bytes).ok_or_else(|| ImportError::File {
            file: file.into(),
            message: "cannot tell the format (not FCS, no NanoSight `Bin centre (nm)` table, no ZetaView `Size / nm` table); give --format nta-csv|zetaview|fcs".into(),
        })?,
    };
    match format {
        Format::NtaCsv => nta::parse(&text(bytes, file)?, file),
        Format::ZetaView => zetaview::parse(&text(bytes, file)?, file),
        Format::Fcs => fcs::parse(bytes, file, opts),
    }
}

/// Instrument text exports are UTF-8 or Windows-1252 (Latin-1 for the characters they use:
/// `°`, `µ`): decode UTF-8 when valid, else byte for byte as Latin-1.
fn text(bytes: &[u8], _file: &str) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    Ok(match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    })
}

/// The measured characterization fields, rounded as they go into a record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measured {
    pub particle_concentration_per_ml: f64,
    pub concentration_method: String,
    pub size_mode_nm: f64,
    pub size_d10_nm: f64,
    pub size_d50_nm: f64,
    pub size_d90_nm: f64,
    pub fraction_30_150_nm: f64,
    pub uncertainty: Uncertainty,
}

/// Per replicate, what it gave (after dilution).
#[derive(Debug, Clone, Serialize)]
pub struct ReplicateSummary {
    pub file: String,
    pub label: String,
    pub dilution: f64,
    pub concentration_per_ml: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    pub stats: SizeStats,
}

/// The whole import: what goes into the record and how it was reached.
#[derive(Debug, Clone, Serialize)]
pub struct Import {
    pub format: Format,
    pub files: Vec<String>,
    pub characterization: Measured,
    /// Unrounded: the statistics of the mean distribution and the mean concentration
    /// (dilution applied).
    pub computed: Computed,
    pub replicates: Vec<ReplicateSummary>,
    pub budget: budget::Budget,
    /// The instrument's own figures per file, beside ours.
    pub instrument_reported: BTreeMap<String, BTreeMap<String, f64>>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Computed {
    pub concentration_per_ml: f64,
    #[serde(flatten)]
    pub stats: SizeStats,
    /// The mean distribution: bin centres (nm) and weights (per mL after dilution, or
    /// events per mL for FCS).
    pub bins_nm: Vec<f64>,
    pub weights: Vec<f64>,
}

/// A replicate with its file's name and the dilution factor applied to it.
type DilutedReplicate<'a> = (String, &'a Replicate, f64);

/// Combine the files (all of one format) into one characterization.
pub fn combine(parsed: &[Parsed], opts: &Options) -> Result<Import, ImportError> {
    opts.check()?;
    let first = parsed
        .first()
        .ok_or_else(|| ImportError::option("FILE", "no file given"))?;
    let format = first.format;
    let mut notes = Vec::new();
    let reps = diluted_replicates(parsed, first, opts, &mut notes)?;
    let template = common_bins(&reps);
    let Summed {
        sum,
        summaries,
        concs,
    } = sum_replicates(&reps, format, &template)?;
    let n = reps.len() as f64;
    let weights: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mean_dist = Distribution::new(template.clone(), weights.clone(), "the mean distribution")?;
    let stats = mean_dist.stats();
    let concentration = concs.iter().sum::<f64>() / n;
    let events: Option<u64> = if format == Format::Fcs {
        Some(reps.iter().filter_map(|(_, r, _)| r.events).sum())
    } else {
        None
    };
    let budget = budget::evaluate(
        format,
        &summaries,
        &stats,
        concentration,
        events,
        &mut notes,
    );
    let u = budget.uncertainty(format, parsed.len(), reps.len())?;
    let method = concentration_method(first);
    let instrument_reported = instrument_reports(parsed, &mut notes);
    let characterization = Measured {
        particle_concentration_per_ml: round_sig(concentration, 3),
        concentration_method: method,
        size_mode_nm: round_to(stats.mode_nm, 1),
        size_d10_nm: round_to(stats.d10_nm, 1),
        size_d50_nm: round_to(stats.d50_nm, 1),
        size_d90_nm: round_to(stats.d90_nm, 1),
        fraction_30_150_nm: round_to(stats.fraction_30_150_nm, 3),
        uncertainty: u,
    };
    Ok(Import {
        format,
        files: parsed.iter().map(|p| p.file.clone()).collect(),
        characterization,
        computed: Computed {
            concentration_per_ml: concentration,
            stats,
            bins_nm: template,
            weights,
        },
        replicates: summaries,
        budget,
        instrument_reported,
        notes,
    })
}

/// Every file's replicates with its dilution factor; all files must share `first`'s format.
fn diluted_replicates<'a>(
    parsed: &'a [Parsed],
    first: &Parsed,
    opts: &Options,
    notes: &mut Vec<String>,
) -> Result<Vec<DilutedReplicate<'a>>, ImportError> {
    let format = first.format;
    let mut reps: Vec<DilutedReplicate<'a>> = Vec::new();
    for p in parsed {
        if p.format != format {
            return Err(ImportError::option(
                "FILE",
                format!(
                    "{} is {} but {} is {}: import one format at a time",
                    p.file,
                    p.format.name(),
                    first.file,
                    format.name()
                ),
            ));
        }
        let dilution = file_dilution(p, opts, notes)?;
        for r in &p.replicates {
            reps.push((p.file.clone(), r, dilution));
        }
    }
    Ok(reps)
}

/// The dilution factor of file `p` (`--dilution`, else the file's, else 1), with a note.
fn file_dilution(p: &Parsed, opts: &Options, notes: &mut Vec<String>) -> Result<f64, ImportError> {
    let dilution = match (opts.dilution, p.dilution_in_file) {
        (Some(d), Some(f)) if (d - f).abs() > 1e-9 * d => {
            notes.push(format!(
                "{}: dilution {d} from --dilution replaces the file's {f}",
                p.file
            ));
            d
        }
        (Some(d), _) => d,
        (None, Some(f)) => {
            notes.push(format!("{}: dilution factor {f} from the file", p.file));
            f
        }
        (None, None) => {
            notes.push(format!(
                "{}: the file states no dilution factor; 1 assumed (give --dilution F)",
                p.file
            ));
            1.0
        }
    };
    if !(dilution.is_finite() && dilution >= 1.0) {
        return Err(ImportError::Field {
            file: p.file.clone(),
            field: "dilution factor".into(),
            message: format!(
                "{dilution} is not a dilution factor (a number >= 1); give --dilution F"
            ),
        });
    }
    Ok(dilution)
}

/// The bin centres of the (first) replicate with the most bins.
fn common_bins(reps: &[DilutedReplicate]) -> Vec<f64> {
    // FCS histograms start at the same bin and differ only in length: pad with empty bins.
    let longest = reps
        .iter()
        .map(|(_, r, _)| r.dist.centres_nm.len())
        .max()
        .unwrap_or(0);
    reps.iter()
        .find(|(_, r, _)| r.dist.centres_nm.len() == longest)
        .map(|(_, r, _)| r.dist.centres_nm.clone())
        .unwrap_or_default()
}

/// The replicates added up: summed weights (per mL undiluted), and each one's summary
/// and concentration.
struct Summed {
    sum: Vec<f64>,
    summaries: Vec<ReplicateSummary>,
    concs: Vec<f64>,
}

/// The replicates added up; every replicate must share the `template` bins.
fn sum_replicates(
    reps: &[DilutedReplicate],
    format: Format,
    template: &[f64],
) -> Result<Summed, ImportError> {
    let longest = template.len();
    let mut sum = vec![0.0; longest];
    let mut summaries = Vec::new();
    let mut concs = Vec::new();
    for (file, r, dil) in reps {
        let c = &r.dist.centres_nm;
        let same = if format == Format::Fcs {
            template[..c.len()] == c[..]
        } else {
            c.len() == longest
                && c.iter()
                    .zip(template)
                    .all(|(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
        };
        if !same {
            return Err(ImportError::Table {
                what: format!("{file} ({})", r.label),
                message: format!(
                    "its bins ({} from {} nm) are not those of the other replicates ({} from {} nm); replicates must share their bins",
                    c.len(),
                    c[0],
                    template.len(),
                    template[0]
                ),
            });
        }
        // Weights in particles/mL of the undiluted sample; FCS counts are scaled to the
        // replicate's concentration.
        let scale = if format == Format::Fcs {
            r.concentration_per_ml * dil / r.dist.total()
        } else {
            *dil
        };
        for (i, w) in r.dist.weights.iter().enumerate() {
            sum[i] += w * scale;
        }
        let conc = r.concentration_per_ml * dil;
        concs.push(conc);
        summaries.push(ReplicateSummary {
            file: file.clone(),
            label: r.label.clone(),
            dilution: *dil,
            concentration_per_ml: conc,
            events: r.events,
            stats: r.dist.stats(),
        });
    }
    Ok(Summed {
        sum,
        summaries,
        concs,
    })
}

/// `NTA`, or for FCS the method the first file's `$CYT` names.
fn concentration_method(first: &Parsed) -> String {
    match first.format {
        Format::NtaCsv | Format::ZetaView => "NTA".to_string(),
        Format::Fcs => first
            .fcs
            .as_ref()
            .map(|f| f.method())
            .unwrap_or_else(|| "flow cytometry".into()),
    }
}

/// The instrument's own figures per file, noting where its D50 is over 10 % from ours.
fn instrument_reports(
    parsed: &[Parsed],
    notes: &mut Vec<String>,
) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut instrument_reported = BTreeMap::new();
    for p in parsed {
        if !p.reported.is_empty() {
            instrument_reported.insert(p.file.clone(), p.reported.clone());
        }
        if let Some(d50) = p.reported.get("D50") {
            let ours = p
                .replicates
                .iter()
                .map(|r| r.dist.percentile(0.5))
                .sum::<f64>()
                / p.replicates.len() as f64;
            if (ours - d50).abs() > 0.1 * d50 {
                notes.push(format!(
                    "{}: the instrument reports D50 {d50:.1} nm, the binned table gives {ours:.1} nm (more than 10 % apart: check the export)",
                    p.file
                ));
            }
        }
    }
    instrument_reported
}

/// `v` rounded to `decimals` places.
pub(crate) fn round_to(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// `v` rounded to `sig` significant digits.
pub(crate) fn round_sig(v: f64, sig: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = v.abs().log10().floor() as i32;
    let f = 10f64.powi(sig - 1 - mag);
    let r = (v * f).round() / f;
    // Print-clean: parse the shortest decimal form back.
    format!("{:.*e}", (sig - 1).max(0) as usize, r)
        .parse()
        .unwrap_or(r)
}

impl Import {
    /// The measured block as TOML: `[characterization]` with the measured keys and
    /// `[characterization.uncertainty]`.
    pub fn to_toml(&self) -> String {
        let c = &self.characterization;
        let mut s = String::new();
        s.push_str(&format!(
            "# Measured by `exoskin batch import` from {} ({}). particles_per_ug_protein, the markers\n# and morphology come from other assays: add them to make a whole characterization.\n",
            self.files.join(", "),
            self.format.name()
        ));
        s.push_str("[characterization]\n");
        for (k, v) in merge::measured_lines(c) {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s.push_str("\n[characterization.uncertainty]\n");
        for (k, v) in merge::uncertainty_lines(&c.uncertainty) {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_print_clean() {
        assert_eq!(round_sig(2.4049e10, 3), 2.4e10);
        assert_eq!(round_sig(123456.0, 3), 123000.0);
        assert_eq!(round_to(104.26, 1), 104.3);
    }

    #[test]
    fn format_detection_and_names() {
        assert_eq!(Format::detect(b"FCS3.1    ..."), Some(Format::Fcs));
        assert_eq!(
            Format::detect(b"Graph Data\nBin centre (nm),Concentration (particles / ml)\n"),
            Some(Format::NtaCsv)
        );
        assert_eq!(
            Format::detect(b"Size / nm\tNumber\n"),
            Some(Format::ZetaView)
        );
        assert_eq!(Format::detect(b"hello"), None);
        assert!(Format::parse("xlsx")
            .unwrap_err()
            .to_string()
            .contains("nta-csv"));
    }
}
