//! The documents exoskin's commands produce. The CLI prints them, the HTTP API serves them,
//! the Python package returns them and sweeps read outputs from them: one producer, so the
//! same input gives the same JSON everywhere.

pub mod certificate;
pub mod claims;
pub mod credibility;
pub mod label;
pub mod output;
pub mod sensitivity;
pub mod simulate;
pub mod trial;
pub mod uncertainty;
pub mod verify;

/// What went wrong, for any front end to show. Its [`ErrorKind`] decides how each front end
/// reports it: the CLI's exit code, the HTTP status and the Python exception class.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is wrong: `field` names it where known, `message` says what and how to fix it.
    #[error("{message}")]
    BadInput {
        field: Option<String>,
        message: String,
    },
    /// The transport solver could not finish a run of valid input (the state stopped being
    /// finite, or a factorization failed): the numerics' limit, with the solver's own account.
    #[error("{name}: the simulation stopped: {error}")]
    Solver {
        name: String,
        error: exoskin_transport::TransportError,
    },
    /// Something the program itself holds is broken (bundled data that does not read): not
    /// the user's to fix.
    #[error("{0}")]
    Internal(String),
    /// The work passed its time limit or was cancelled before it finished.
    #[error("{0}")]
    Stopped(#[from] exoskin_model::Stopped),
}

/// The four kinds of [`ApiError`], as the front ends map them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Fix the input: exit 2, HTTP 422, `exoskin.InputError`.
    Input,
    /// The solver could not finish valid input: exit 3, HTTP 500, `exoskin.SolverError`.
    Solver,
    /// A defect or broken bundled data: exit 4, HTTP 500, `exoskin.InternalError`.
    Internal,
    /// Stopped by a time limit or a cancel: exit 5, HTTP 408 (a job: failed with the
    /// reason), `exoskin.CancelledError`.
    Cancelled,
}

impl ErrorKind {
    /// The name in JSON error bodies (`"kind"`): input, solver, internal, cancelled.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Input => "input",
            ErrorKind::Solver => "solver",
            ErrorKind::Internal => "internal",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// The CLI's exit code (0 success and 1 "not valid" or "not intact" are the commands'
    /// own answers, not errors).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Input => 2,
            ErrorKind::Solver => 3,
            ErrorKind::Internal => 4,
            ErrorKind::Cancelled => 5,
        }
    }

    /// The HTTP status of a request that met it.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Input => 422,
            ErrorKind::Solver | ErrorKind::Internal => 500,
            ErrorKind::Cancelled => 408,
        }
    }

    /// The kind named by [`ErrorKind::as_str`], if it is one.
    pub fn parse(name: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Input,
            ErrorKind::Solver,
            ErrorKind::Internal,
            ErrorKind::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

impl ApiError {
    /// A bad-input error without a known field.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::BadInput {
            field: None,
            message: message.into(),
        }
    }

    /// What kind of error it is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::BadInput { .. } => ErrorKind::Input,
            ApiError::Solver { .. } => ErrorKind::Solver,
            ApiError::Internal(_) => ErrorKind::Internal,
            ApiError::Stopped(_) => ErrorKind::Cancelled,
        }
    }

    /// The field at fault, where known.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadInput { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// A run refused before it started: the key to change, with the estimate and the limit.
    pub fn too_costly(name: &str, e: exoskin_transport::TooCostly) -> ApiError {
        ApiError::BadInput {
            field: Some(e.field.to_string()),
            message: format!("{name}: {e}"),
        }
    }
}
