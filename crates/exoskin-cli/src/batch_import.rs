//! `exoskin batch import`: instrument files (NanoSight NTA 3.x Experiment Summary CSV,
//! ZetaView text, FCS 3.1) into the measured characterization of a QC record, with its
//! uncertainty budget. The reading and the arithmetic are `exoskin_batch::import`'s.
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_batch::import::{self, Format, ImportError, Options};
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct ImportArgs {
    /// Instrument files, all of one sample and one format: each video, capture or
    /// acquisition is a replicate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// nta-csv (NanoSight ExperimentSummary.csv), zetaview (ZetaView .txt) or fcs (FCS 3.1);
    /// default: detected from each file's content.
    #[arg(long)]
    format: Option<String>,
    /// A QC record (TOML or JSON) to write the measured figures into: only the measured
    /// characterization fields and characterization.uncertainty change.
    #[arg(long)]
    into: Option<PathBuf>,
    /// Write the result to this file (atomically) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Dilution factor of the measured suspension (>= 1), instead of the one in the files.
    #[arg(long)]
    dilution: Option<f64>,
    /// FCS: the parameter ($PnN or $PnS) holding the particle size.
    #[arg(long)]
    size_channel: Option<String>,
    /// FCS: nanometres per unit of the size parameter, instead of its $PnCALIBRATION.
    #[arg(long)]
    size_nm_per_unit: Option<f64>,
    /// FCS: sample volume analysed per file, in nanolitres, instead of $VOL.
    #[arg(long)]
    volume_nl: Option<f64>,
    /// Print the whole import as JSON (figures, replicates, budget, notes) instead of TOML.
    #[arg(long)]
    json: bool,
    /// With --json: add every FCS event's stored values per parameter (a debugging aid).
    #[arg(long, requires = "json")]
    dump_events: bool,
}

fn err(e: ImportError) -> anyhow::Error {
    if e.is_bad_input() {
        crate::bad_input(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
}

pub fn run(a: ImportArgs) -> anyhow::Result<u8> {
    let opts = Options {
        format: a
            .format
            .as_deref()
            .map(Format::parse)
            .transpose()
            .map_err(err)?,
        dilution: a.dilution,
        size_channel: a.size_channel.clone(),
        size_nm_per_unit: a.size_nm_per_unit,
        volume_nl: a.volume_nl,
    };
    opts.check().map_err(err)?;
    let mut parsed = Vec::new();
    for f in &a.files {
        let meta =
            std::fs::metadata(f).map_err(|e| crate::bad_input(format!("{}: {e}", f.display())))?;
        if meta.len() > import::MAX_FILE_BYTES as u64 {
            return Err(crate::bad_input(format!(
                "{}: {} bytes is more than the {} an instrument file may have",
                f.display(),
                meta.len(),
                import::MAX_FILE_BYTES
            )));
        }
        let bytes =
            std::fs::read(f).map_err(|e| crate::bad_input(format!("{}: {e}", f.display())))?;
        parsed.push(import::parse(&bytes, &f.display().to_string(), &opts).map_err(err)?);
    }
    let imp = import::combine(&parsed, &opts).map_err(err)?;
    for n in &imp.notes {
        eprintln!("note: {n}");
    }
    let text = match &a.into {
        Some(record) => {
            let original = std::fs::read_to_string(record)
                .map_err(|e| crate::bad_input(format!("{}: {e}", record.display())))?;
            let (merged, kept) = import::merge::merge(
                &original,
                &record.display().to_string(),
                &imp.characterization,
            )
            .map_err(err)?;
            if !kept {
                eprintln!(
                    "note: {} was written out again from its data (JSON, or a layout the line edit does not handle): comments are not kept",
                    record.display()
                );
            }
            if a.json {
                let v: serde_json::Value = if original.trim_start().starts_with('{') {
                    serde_json::from_str(&merged)?
                } else {
                    serde_json::to_value(
                        exoskin_batch::record::QcRecord::parse(&merged, "merged record")
                            .map_err(|e| crate::bad_input(e.to_string()))?,
                    )?
                };
                format!("{}\n", serde_json::to_string_pretty(&v)?)
            } else {
                merged
            }
        }
        None if a.json => {
            let mut v = serde_json::to_value(&imp)?;
            if a.dump_events {
                let events: serde_json::Map<String, serde_json::Value> = parsed
                    .iter()
                    .filter_map(|p| p.fcs.as_ref().map(|f| (p.file.clone(), f.events_json())))
                    .collect();
                v["events"] = serde_json::Value::Object(events);
            }
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        None => imp.to_toml(),
    };
    match &a.out {
        Some(path) => {
            exoskin_model::fsutil::write_atomic(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            let c = &imp.characterization;
            eprintln!(
                "{}: {:.3e} particles/mL (U {:.0} %), mode {} nm, D10/D50/D90 {}/{}/{} nm (U {:.1} %), {:.1} % in 30-150 nm; k = 2",
                path.display(),
                c.particle_concentration_per_ml,
                c.uncertainty.concentration_rel * 100.0,
                c.size_mode_nm,
                c.size_d10_nm,
                c.size_d50_nm,
                c.size_d90_nm,
                c.uncertainty.size_rel * 100.0,
                c.fraction_30_150_nm * 100.0
            );
        }
        None => print!("{text}"),
    }
    Ok(0)
}
