//! `exoskin label FILE|-` and `exoskin label --product FILE`: decode an ingredient list, or
//! check a product file for red flags. `--json` prints one JSON document with `ingredients`
//! and `flags` (and `evidence`, `summary`, `product`).

use crate::bad_input;
use clap::Args as ClapArgs;
use exoskin_labels::{Date, Decoder, LabelError, Product};
use std::io::{Read, Write};

#[derive(ClapArgs)]
pub struct Args {
    /// Ingredient text file (the list as printed on the label), or - for stdin.
    pub file: Option<String>,
    /// Check a product file (TOML: name, region, ingredients, claims, directions,
    /// batch_number, expiry_date, certifications) instead of a bare list; - for stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub product: Option<String>,
    /// Print one JSON document to stdout instead of the readable report.
    #[arg(long)]
    pub json: bool,
    /// The date for the expiry check, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

/// Read a file, or stdin for "-", as UTF-8 text.
fn read_input(path: &str) -> anyhow::Result<(String, String)> {
    let (bytes, name) = if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| bad_input(format!("cannot read standard input: {e}")))?;
        (buf, "<stdin>".to_string())
    } else {
        let buf = std::fs::read(path).map_err(|e| {
            bad_input(format!(
                "cannot read {path}: {e}; check the path (use - to read from standard input)"
            ))
        })?;
        (buf, path.to_string())
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        bad_input(format!(
            "{name}: not UTF-8 text (invalid byte at offset {}); save the file as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok((text, name))
}

fn parse_today(s: &Option<String>) -> anyhow::Result<Date> {
    let Some(s) = s else {
        return Ok(exoskin_labels::today_utc());
    };
    let parts: Vec<&str> = s.trim().split('-').collect();
    let date = match parts.as_slice() {
        [y, m, d] => match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => exoskin_labels::date(y, m, d),
            _ => None,
        },
        _ => None,
    };
    date.ok_or_else(|| {
        bad_input(format!(
            "--today {s}: not a date; use YYYY-MM-DD, e.g. 2026-11-23"
        ))
    })
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let decoder = Decoder::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    let report =
        match (&a.product, &a.file) {
            (Some(path), _) => {
                let today = parse_today(&a.today)?;
                let (text, name) = read_input(path)?;
                let product = Product::from_toml_str(&text).map_err(|e| match e {
                    LabelError::Product {
                        line,
                        column,
                        message,
                    } => bad_input(format!(
                        "{name}: line {line}, column {column}: {message}. See README \
                     \"Ingredient labels\" for the product file format"
                    )),
                    other => bad_input(format!("{name}: {other}")),
                })?;
                decoder.check_product(&product, Some(today))
            }
            (None, Some(path)) => {
                let (text, name) = read_input(path)?;
                decoder.decode_label(&text).map_err(|e| {
                    bad_input(format!(
                        "{name}: {e}. Give the ingredient list as printed on the label, e.g. \
                     \"Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes\"; for a \
                     whole product with claims and batch data use --product FILE"
                    ))
                })?
            }
            (None, None) => return Err(bad_input(
                "give an ingredient list file (or - for stdin): exoskin label FILE, or a product \
                 file: exoskin label --product FILE",
            )),
        };
    let mut text = if a.json {
        serde_json::to_string_pretty(&report)?
    } else {
        report.to_text()
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`exoskin label f --json | head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("writing the report to stdout: {e}"))
        }
        _ => Ok(0),
    }
}
