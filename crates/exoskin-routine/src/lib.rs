//! exoskin-routine: from the products on a shelf to a day-by-day plan, and what it predicts.
//!
//! - [`input`]: routine files (TOML): the person, the plan's dates, the products (product
//!   files in the label decoder's format, or inline ingredient lists) and procedure dates.
//!   Every product's actives are decoded from its ingredient list by `exoskin-labels`.
//! - [`rules`]: the planner's rules with reason and source (`data/routine/rules.toml`); a rule
//!   without a source is marked as a convention.
//! - [`planner`]: the AM/PM steps of every day, with waits, alternations, patch tests,
//!   procedure pauses, and warnings.
//! - [`predict`]: the EV-serum part of the plan run through the simulator (transport and
//!   response), with and without the EV serum and with and without the essence step.
//! - [`ics`]: the plan as an iCalendar (RFC 5545) file. The writer is owned: it needs only
//!   VEVENTs with all-day or timed dates, line folding and text escaping.
//! - [`facemap`]: one product or routine per facial zone, drawn as a face map (SVG and PNG).

pub mod facemap;
pub mod ics;
pub mod input;
pub mod planner;
pub mod predict;
pub mod rules;

pub use input::{read_routine, read_routine_file, Routine};
pub use planner::{plan, Plan};

/// Errors of the routine planner.
#[derive(Debug, thiserror::Error)]
pub enum RoutineError {
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
    /// A routine file is malformed or has a value out of range.
    #[error("{file}:{line}:{column}: {key}: {message}")]
    Input {
        file: String,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    /// A product file named by a routine is malformed.
    #[error("{file}: product file {product}: {source}")]
    Product {
        file: String,
        product: String,
        source: exoskin_labels::LabelError,
    },
    /// The bundled rules file is broken (a build defect caught by the tests).
    #[error("data/routine/rules.toml: {0}")]
    Rules(#[from] crate::rules::RulesError),
    /// The label decoder's data did not load.
    #[error(transparent)]
    Labels(#[from] exoskin_labels::LabelError),
    /// A generated scenario was rejected by the model, or the simulator stopped.
    #[error("simulation of {what}: {message}")]
    Simulation { what: String, message: String },
    /// Drawing the face map failed.
    #[error("face map: {0}")]
    Plot(#[from] exoskin_plot::PlotError),
}
