//! The one error type of the crate: what is wrong with a trial file, and where.

use exoskin_model::ScenarioError;

/// Anything wrong with a trial file (or an arm's scenario file).
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The trial file cannot be read.
    #[error("{file}: cannot read the trial file: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A problem in the trial file: its place, the key, the values allowed (for a choice;
    /// ranges are in the message) and how to fix it.
    #[error("{file}{}: {}{message}", place(*line, *column), key_prefix(field.as_deref()))]
    File {
        file: String,
        line: Option<u32>,
        column: Option<u32>,
        /// The key in dotted form (`trial.participants`, `arms[1].role`).
        field: Option<String>,
        /// The values the key may take, when it is a choice.
        allowed: Box<[String]>,
        message: String,
    },
    /// The trial file is not valid TOML, or a key has the wrong type, is unknown or is given
    /// twice: located and named by the workspace's one TOML reader
    /// ([`exoskin_model::input`]).
    #[error(transparent)]
    Input(Box<exoskin_model::ModelError>),
    /// A problem inside an arm's scenario file, located in that file.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

fn place(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        _ => String::new(),
    }
}

fn key_prefix(field: Option<&str>) -> String {
    field.map(|f| format!("`{f}`: ")).unwrap_or_default()
}

impl From<exoskin_model::ModelError> for TrialError {
    fn from(e: exoskin_model::ModelError) -> Self {
        TrialError::Input(Box::new(e))
    }
}
