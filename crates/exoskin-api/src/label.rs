//! `label`: decode an ingredient list or check a product file, as `exoskin label --json`
//! prints it, with the CLI's messages for bad input.

use crate::ApiError;
use exoskin_labels::{Date, Decoder, LabelError, Product, Report};

fn decoder() -> Result<&'static Decoder, ApiError> {
    Decoder::embedded().map_err(|e| ApiError::bad(format!("the ingredient table: {e}")))
}

/// Decode an ingredient list as printed on a label; `name` says where the text came from.
pub fn decode(text: &str, name: &str) -> Result<Report, ApiError> {
    decode_in(text, name, None)
}

/// [`decode`] for a product sold in `region` (a code of the region table): EU annex flags
/// are that region's rules where the EU annexes are its law, EU information elsewhere.
pub fn decode_in(text: &str, name: &str, region: Option<&str>) -> Result<Report, ApiError> {
    decoder()?
        .decode_label_in(text, region)
        .map_err(|e| match e {
            LabelError::UnknownRegion { .. } => ApiError::BadInput {
                field: Some("region".into()),
                message: format!("--region: {e}"),
            },
            e => ApiError::BadInput {
                field: Some("text".into()),
                message: format!(
                    "{name}: {e}. Give the ingredient list as printed on the label, e.g. \
                 \"Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes\"; for a \
                 whole product with claims and batch data use --product FILE"
                ),
            },
        })
}

/// Check a product file (TOML) for red flags as of `today`.
pub fn check_product(text: &str, name: &str, today: Date) -> Result<Report, ApiError> {
    let product = Product::from_toml_str(text).map_err(|e| ApiError::BadInput {
        field: Some("product".into()),
        message: match e {
            LabelError::Product {
                line,
                column,
                message,
            } => format!(
                "{name}: line {line}, column {column}: {message}. See docs/labels.md \
                 (\"Product files\") for the product file format"
            ),
            other => format!("{name}: {other}"),
        },
    })?;
    Ok(decoder()?.check_product(&product, Some(today)))
}

/// A `YYYY-MM-DD` date for the expiry check (`--today`); `None` is today, UTC.
pub fn parse_today(s: Option<&str>) -> Result<Date, ApiError> {
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
    date.ok_or_else(|| ApiError::BadInput {
        field: Some("today".into()),
        message: format!("--today {s}: not a date; use YYYY-MM-DD, e.g. 2026-11-23"),
    })
}
