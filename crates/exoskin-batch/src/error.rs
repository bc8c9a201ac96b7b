//! The crate's error type.
use thiserror::Error;

/// Everything that can go wrong in this crate. Messages tell the user what to fix.
#[derive(Debug, Error)]
pub enum BatchError {
    /// Input the user must fix: a file, a field, a value.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A certificate failed verification; the reason says which check.
    #[error("certificate is not valid: {0}")]
    Verification(#[from] crate::cert::VerifyError),
    /// The registry's database failed.
    #[error("database: {0}")]
    Store(String),
}

impl BatchError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        BatchError::Invalid(msg.into())
    }
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        BatchError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = BatchError> = std::result::Result<T, E>;
