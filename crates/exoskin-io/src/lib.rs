//! exoskin-io: the small I/O utilities every crate shares, kept apart from the skin model so
//! that plotting, certificates and the web need not depend on it.
//!
//! - [`fsutil`]: atomic file replacement (a reader sees the old file or the new one).
//! - [`escape`]: the one escaper of text for XML and HTML (SVG figures, SBML, QR SVGs,
//!   certificate pages).
//! - [`input`] and [`located`]: reading TOML with errors located at file, line, column and
//!   key, with what is allowed (scenarios, QC records, product files, trial files).

pub mod escape;
pub mod fsutil;
pub mod input;
pub mod located;
