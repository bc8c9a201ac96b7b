//! Errors in scenario files: what is wrong, where (file, line, column, key), how to fix it.

use std::fmt;

/// A position in a source file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub line: usize,
    pub column: usize,
}

impl SourceLocation {
    /// Line and column (1-based, column in characters) of a byte offset in `text`.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let mut line = 1;
        let mut line_start = 0;
        for (i, b) in text.bytes().enumerate() {
            if i >= offset {
                break;
            }
            if b == b'\n' {
                line += 1;
                line_start = i + 1;
            }
        }
        let column = text
            .get(line_start..offset)
            .map(|s| s.chars().count() + 1)
            .unwrap_or(1);
        SourceLocation { line, column }
    }
}

/// Anything wrong with a scenario file.
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

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(loc) = &self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
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
