//! The one error type of the crate.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum UqError {
    /// An argument outside its allowed range.
    #[error("{name} = {value} is out of range: allowed {allowed}")]
    InvalidArgument {
        name: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// The model outputs do not match the design's points one to one.
    #[error("{expected} model points but {got} outputs: give one output per row of points()")]
    OutputLength { expected: usize, got: usize },
    /// A model output that is NaN or infinite.
    #[error("model output at row {row} of points() is {value}: every output must be finite")]
    NonFiniteOutput { row: usize, value: f64 },
    /// Every output of a design is the same, so no variance can be apportioned.
    #[error("the model outputs have zero variance over the {rows} base rows: no index is defined")]
    ZeroVariance { rows: usize },
    /// Chains whose draws do not all have the same number of parameters.
    #[error("chain {chain} has {got} parameters where chain 0 has {expected}")]
    DimensionMismatch {
        chain: usize,
        expected: usize,
        got: usize,
    },
    /// A chain's initial point where the log-density is not finite (or the point is not).
    #[error("initial point of chain {chain} has log-density {logp}: start every chain where the density is positive and finite")]
    NonFiniteInitial { chain: usize, logp: f64 },
    /// Chains of unequal length or a draw that is not finite, given to a diagnostic.
    #[error("chain {chain}: {message}")]
    BadChain { chain: usize, message: String },
}
