//! Errors of the label decoder: one enum, with the facts a user needs to fix the input.

use thiserror::Error;

/// What can go wrong when decoding a label or reading a product file.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LabelError {
    /// The text holds no ingredient names at all.
    #[error("no ingredients found: {detail}")]
    Empty {
        /// What was seen instead (empty text, a header with nothing after it, ...).
        detail: String,
    },
    /// The text has words but does not read as an ingredient list.
    #[error("this does not look like an ingredient list: {reason}")]
    NotALabel {
        /// Why the decoder thinks so.
        reason: String,
    },
    /// A product file that is not valid TOML or does not match the product format.
    #[error("line {line}, column {column}: {message}")]
    Product {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem (in characters).
        column: usize,
        /// What is wrong, from the TOML reader or the product checks.
        message: String,
    },
    /// A region code that is not in the region table.
    #[error("region \"{code}\" is not in the region table (data/labels/regions.toml); use one of: {known} (member-state codes such as FR count as EU)")]
    UnknownRegion {
        /// The code as given.
        code: String,
        /// The first code of each region in the table.
        known: String,
    },
    /// The provenance block of the bundled CosIng annex file does not read: a bug in exoskin.
    #[error("bundled data file {file} is invalid: {0}", file = crate::cosing::FILE)]
    Provenance(#[from] crate::cosing::ProvenanceError),
    /// A bundled data file (lexicon, regions, evidence) failed to load: a bug in exoskin.
    #[error("bundled data file {file} is invalid: {message}")]
    Data {
        /// Which data file.
        file: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
