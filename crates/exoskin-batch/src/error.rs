//! The crate's error type: one enum, structured fields, messages that say what to fix.
use thiserror::Error;

/// Everything that can go wrong in this crate. Messages tell the user what to fix.
#[derive(Debug, Error)]
pub enum BatchError {
    /// Input the user must fix that has no finer variant below.
    #[error("{message}")]
    Invalid { message: String },
    /// A record or list that does not parse, at `file:line:column`.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A TOML record that does not read (syntax, wrong type, unknown or duplicate key),
    /// located and named by the workspace's one TOML reader ([`exoskin_io::input`]).
    #[error(transparent)]
    Input(Box<exoskin_io::located::InputError>),
    /// A named field (`batch.expires`, `product.gtin`, a flag) holds a bad value.
    #[error("{field}: {source}")]
    Field {
        field: String,
        #[source]
        source: Box<BatchError>,
    },
    /// Text that is not a date or timestamp of the accepted forms.
    #[error("`{input}` is not a {expected}")]
    DateSyntax {
        input: String,
        expected: &'static str,
    },
    /// A well-formed date that does not exist or lies outside years 1..=9999.
    #[error("date {input} does not exist ({reason})")]
    DateRange { input: String, reason: String },
    /// A GTIN of the wrong length or with a wrong check digit.
    #[error("GTIN `{gtin}` {reason}")]
    Gtin { gtin: String, reason: String },
    /// A batch/lot number GS1 AI (10) does not allow.
    #[error("lot `{lot}` {reason}")]
    Lot { lot: String, reason: String },
    /// A `%` not followed by two hex digits, in a Digital Link path.
    #[error("malformed percent-escape `{escape}` at byte {offset} of `{input}`: `%` must be followed by two hex digits (0-9, A-F)")]
    PercentEscape {
        input: String,
        offset: usize,
        escape: String,
    },
    /// A path that is not a GS1 Digital Link path with a GTIN as its primary key: an
    /// unknown or misplaced AI, a missing value, trailing segments.
    #[error("`{path}` is not a GS1 Digital Link path /01/<GTIN>[/22/<variant>][/10/<lot>][/21/<serial>]: {reason}")]
    DigitalLinkPath { path: String, reason: String },
    /// Percent-decoded bytes that are not UTF-8.
    #[error("`{input}` does not percent-decode to UTF-8 text")]
    NotUtf8 { input: String },
    /// An encoded value longer than any valid one; rejected before decoding.
    #[error("{what} is {len} characters long; at most {max} are accepted ({hint})")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
        hint: &'static str,
    },
    /// A key file or key identifier that is not an Ed25519 key of the accepted forms.
    #[error("{what}: {reason}")]
    Key { what: String, reason: String },
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
    /// A JSON value RFC 8785 cannot serialize.
    #[error("cannot canonicalize JSON: {reason}")]
    Canonicalization { reason: String },
    /// The operating system gave no randomness.
    #[error("no system randomness: {reason}")]
    Randomness { reason: String },
}

impl BatchError {
    pub fn invalid(message: impl Into<String>) -> Self {
        BatchError::Invalid {
            message: message.into(),
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        BatchError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// This error, attributed to `field`.
    pub fn in_field(self, field: impl Into<String>) -> Self {
        BatchError::Field {
            field: field.into(),
            source: Box::new(self),
        }
    }

    /// Whether the user's input (a file, a flag, a value) caused this error: the CLI exits 2
    /// for these and 1 for the rest.
    pub fn is_bad_input(&self) -> bool {
        match self {
            BatchError::Field { source, .. } => source.is_bad_input(),
            BatchError::Verification(_)
            | BatchError::Canonicalization { .. }
            | BatchError::Randomness { .. } => false,
            _ => true,
        }
    }
}

pub type Result<T, E = BatchError> = std::result::Result<T, E>;

impl From<exoskin_io::located::InputError> for BatchError {
    fn from(e: exoskin_io::located::InputError) -> Self {
        BatchError::Input(Box::new(e))
    }
}
