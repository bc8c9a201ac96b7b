//! Errors in input files: what is wrong, where (file, line, column, key), how to fix it.
//!
//! [`InputError`] is the error type of every located input (scenarios, QC records, product files, trial files), with the facts as fields (the key in dotted
//! form, the allowed keys or values, the type found and expected). [`ScenarioError`] is the
//! same facts flattened to a message, for callers that assemble located errors of their own
//! (trial files); every [`InputError`] converts into one.

use std::fmt;
use thiserror::Error;

/// A position in a source file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub line: usize,
    pub column: usize,
}

impl SourceLocation {
    /// Line and column (1-based, column in characters) of a byte offset in `text`. An
    /// offset past the end or inside a multi-byte character is moved back to a character
    /// boundary, so any offset is accepted.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |p| p + 1);
        let column = before[line_start..].chars().count() + 1;
        SourceLocation { line, column }
    }
}

/// Where a problem is: the file, the line and column when known, the key when known.
/// Displays as `file:line:col: `key`: ` (the parts that are known), ready for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file's path as given (or `<input>`).
    pub file: String,
    /// Where in the file, when it can be told.
    pub location: Option<SourceLocation>,
    /// The key in dotted form (`membrane.layers[0].thickness_um`), when the error is about one.
    pub key: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(loc) = &self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        Ok(())
    }
}

/// Anything wrong with an input file (scenario, product, trial, QC record), located.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InputError {
    /// The file could not be read; `message` says what was being read and why it failed.
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    /// The text is not valid TOML.
    #[error("{at}{message}")]
    Syntax { at: Place, message: String },
    /// A key is given twice in one table (`at.key` is the dotted key).
    #[error("{at}duplicate key `{name}`: it is given twice in the same table; keep only one")]
    DuplicateKey { at: Place, name: String },
    /// A value of the wrong type (`found` as read, `expected` in words).
    #[error("{at}invalid type: found {found}, expected {expected}")]
    WrongType {
        at: Place,
        found: String,
        expected: String,
    },
    /// A key the table does not have; `allowed` lists the keys it has.
    #[error(
        "{at}unknown field `{name}`; the keys allowed here are: {}; remove or rename the key",
        list(allowed)
    )]
    UnknownKey {
        at: Place,
        name: String,
        allowed: Vec<String>,
    },
    /// A required key is absent.
    #[error("{at}missing field `{name}`; add it to this table")]
    MissingKey { at: Place, name: String },
    /// A value outside a fixed set of names (a kind, a tissue, a formulation); the message
    /// calls it by the key's name (`unknown kind "franz"`).
    #[error(
        "{at}unknown {} \"{value}\"; use one of {}",
        field_name(at),
        list(allowed)
    )]
    UnknownValue {
        at: Place,
        value: String,
        allowed: Vec<String>,
    },
    /// A value out of its allowed range, or keys that do not fit together.
    #[error("{at}{message}")]
    Invalid { at: Place, message: String },
}

/// The last part of the key (`kind` of `procedure.kind`), or "value".
fn field_name(at: &Place) -> &str {
    at.key
        .as_deref()
        .and_then(|k| k.rsplit('.').next())
        .map(|k| k.split('[').next().unwrap_or(k))
        .filter(|k| !k.is_empty())
        .unwrap_or("value")
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

impl InputError {
    /// Where the problem is (none for a file that could not be read).
    pub fn place(&self) -> Option<&Place> {
        match self {
            InputError::Read { .. } => None,
            InputError::Syntax { at, .. }
            | InputError::DuplicateKey { at, .. }
            | InputError::WrongType { at, .. }
            | InputError::UnknownKey { at, .. }
            | InputError::MissingKey { at, .. }
            | InputError::UnknownValue { at, .. }
            | InputError::Invalid { at, .. } => Some(at),
        }
    }

    /// The message without the file, position and key in front.
    pub fn detail(&self) -> String {
        let full = self.to_string();
        match self {
            InputError::Read { message, .. } => message.clone(),
            _ => {
                let prefix = self.place().map(|p| p.to_string()).unwrap_or_default();
                full.strip_prefix(&prefix).unwrap_or(&full).to_string()
            }
        }
    }
}

/// A located error flattened to a message (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file's path as given (or `<input>`).
    pub file: String,
    /// Where in the file, when it can be told.
    pub location: Option<SourceLocation>,
    /// The key in dotted form (`membrane.layers[0].thickness_um`), when the error is about one.
    pub key: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl From<InputError> for ScenarioError {
    fn from(e: InputError) -> Self {
        let message = e.detail();
        match (e.place().cloned(), e) {
            (Some(at), _) => ScenarioError {
                file: at.file,
                location: at.location,
                key: at.key,
                message,
            },
            (None, e) => ScenarioError {
                file: match e {
                    InputError::Read { file, .. } => file,
                    _ => String::new(),
                },
                location: None,
                key: None,
                message,
            },
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = Place {
            file: self.file.clone(),
            location: self.location.clone(),
            key: self.key.clone(),
        };
        write!(f, "{at}{}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A validation problem found before the file position is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Check that `value` is finite and within `[lo, hi]`; the message names the range and unit.
pub fn check_range(key: &str, value: f64, lo: f64, hi: f64, unit: &str) -> Result<f64, Invalid> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(Invalid::new(
            key,
            format!("{value} is outside the allowed range {lo} to {hi} {unit}; give a value in that range"),
        ));
    }
    Ok(value)
}

/// Check that `value` is finite and strictly positive, at most `hi`.
pub fn check_positive(key: &str, value: f64, hi: f64, unit: &str) -> Result<f64, Invalid> {
    if !value.is_finite() || value <= 0.0 || value > hi {
        return Err(Invalid::new(
            key,
            format!("{value} is not allowed: it must be greater than 0 and at most {hi} {unit}"),
        ));
    }
    Ok(value)
}
