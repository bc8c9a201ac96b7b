//! The documents exoskin's commands produce. The CLI prints them, the HTTP API serves them,
//! the Python package returns them and sweeps read outputs from them: one producer, so the
//! same input gives the same JSON everywhere.

pub mod claims;
pub mod label;
pub mod output;
pub mod sensitivity;
pub mod simulate;
pub mod trial;
pub mod uncertainty;
pub mod verify;

/// What went wrong, for any front end to show (the CLI exits 2 on `BadInput`; the HTTP API
/// answers 422, and 408 for work stopped by its time limit).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is wrong: `field` names it where known, `message` says what and how to fix it.
    #[error("{message}")]
    BadInput {
        field: Option<String>,
        message: String,
    },
    /// The work passed its time limit or was cancelled before it finished.
    #[error("{0}")]
    Stopped(exoskin_model::Stopped),
}

impl ApiError {
    /// A bad-input error without a known field.
    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::BadInput {
            field: None,
            message: message.into(),
        }
    }

    /// The field at fault, where known.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadInput { field, .. } => field.as_deref(),
            ApiError::Stopped(_) => None,
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
