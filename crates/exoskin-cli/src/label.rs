//! `exoskin label FILE|-` and `exoskin label --product FILE`: decode an ingredient list, or
//! check a product file for red flags. `--json` prints one JSON document with `ingredients`
//! and `flags` (and `evidence`, `summary`, `product`).

use crate::bad_input;
use clap::Args as ClapArgs;
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
    /// Where the product is sold (a code of data/labels/regions.toml: EU or a member state,
    /// NI, UK, CH, US, KR, JP, CN), for a bare list: the EU CosIng annex flags are that
    /// region's rules where the EU annexes are its law (EU/EEA, Northern Ireland), and EU
    /// information elsewhere. A product file gives its own `region`.
    #[arg(long, value_name = "CODE", conflicts_with = "product")]
    pub region: Option<String>,
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

use crate::api_error as api_err;

pub fn run(a: Args) -> anyhow::Result<u8> {
    let report =
        match (&a.product, &a.file) {
            (Some(path), _) => {
                let today = exoskin_api::label::parse_today(a.today.as_deref()).map_err(api_err)?;
                let (text, name) = read_input(path)?;
                exoskin_api::label::check_product(&text, &name, today).map_err(api_err)?
            }
            (None, Some(path)) => {
                let (text, name) = read_input(path)?;
                exoskin_api::label::decode_in(&text, &name, a.region.as_deref()).map_err(api_err)?
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
