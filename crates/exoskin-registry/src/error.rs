//! The registry's error type: one enum, structured fields, messages that say what to fix.
use exoskin_batch::BatchError;
use thiserror::Error;

/// Everything that can go wrong in the registry. Certificate-domain errors come wrapped.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// A certificate, key, GTIN, lot or date problem from the certificate domain.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// Input the user must fix (a flag, an issuers file, a URL).
    #[error("{message}")]
    Invalid { message: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An audit log entry whose hash or link is wrong.
    #[error("audit entry {seq} {problem}")]
    AuditChain { seq: i64, problem: String },
    /// A certificate or revocation row that is not what the audit log says was written.
    #[error("{table} row {key} {problem}")]
    Tampered {
        table: &'static str,
        key: String,
        problem: String,
    },
    /// The registry's database failed.
    #[error("database: {message}")]
    Store { message: String },
    /// The HTTP client could not complete a request.
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
}

impl RegistryError {
    pub fn invalid(message: impl Into<String>) -> Self {
        RegistryError::Invalid {
            message: message.into(),
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub fn store(message: impl Into<String>) -> Self {
        RegistryError::Store {
            message: message.into(),
        }
    }

    /// Whether the user's input caused this error: the CLI exits 2 for these, 1 otherwise.
    pub fn is_bad_input(&self) -> bool {
        match self {
            RegistryError::Batch(e) => e.is_bad_input(),
            RegistryError::Invalid { .. } | RegistryError::Io { .. } => true,
            RegistryError::AuditChain { .. }
            | RegistryError::Tampered { .. }
            | RegistryError::Store { .. }
            | RegistryError::Http { .. } => false,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
