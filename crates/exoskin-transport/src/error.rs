//! Errors of the transport solvers: one enum, with the facts (which parameter, which size
//! class and cell, at what time) as fields.

use thiserror::Error;

/// What can stop a transport run. Scenario files are checked before they reach a solver
/// (`exoskin_model` validation), so these mean parameters changed by a caller (sensitivity
/// runs, virtual populations) or a state the numerics could not keep finite.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TransportError {
    /// A transport parameter is not a finite number, or not positive where it must be.
    #[error("transport parameter `{name}` is {value}: it must be {requirement}")]
    Parameter {
        name: &'static str,
        value: f64,
        requirement: &'static str,
    },
    /// The setup has nothing to solve (no cells, no size classes, no layers).
    #[error("nothing to simulate: {what}")]
    Empty { what: &'static str },
    /// The implicit step's matrix is not positive definite: a capacity or conductance is
    /// zero, negative or not finite.
    #[error(
        "the transport matrix of size class {class} is not positive definite at cell {cell} \
         (step ending at {time_h} h): a layer property is zero, negative or not finite"
    )]
    NotPositiveDefinite {
        class: usize,
        cell: usize,
        time_h: f64,
    },
    /// The state became non-finite (overflow): refused rather than reported as NaN.
    #[error(
        "the amount in cell {cell} of size class {class} is not finite after the step ending \
         at {time_h} h: the inputs overflow the solver's number range"
    )]
    NonFinite {
        class: usize,
        cell: usize,
        time_h: f64,
    },
    /// The run passed its deadline or was cancelled (a server's time limit, a user's cancel).
    #[error("the simulation stopped at {time_h} h of simulated time: {why}")]
    Stopped {
        why: exoskin_model::Stopped,
        time_h: f64,
    },
    /// The solver's work space could not be allocated. Runs are estimated before they start
    /// ([`crate::cost`]), so this means memory ran short for a run within its budget.
    #[error(
        "could not allocate {bytes} bytes for {what}: the machine has too little free memory \
         for this grid; use fewer cells or size classes"
    )]
    OutOfMemory { what: &'static str, bytes: usize },
}
