//! What the evidence supports for each kind of vesicle ingredient (`data/labels/evidence.toml`).

use crate::error::LabelError;
use serde::{Deserialize, Serialize};

/// One evidence note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceNote {
    /// A vesicle source (`human_msc`, `plant`, ...) or `conditioned_media`.
    pub key: String,
    /// A short title.
    pub title: String,
    /// What the evidence supports.
    pub supports: String,
    /// What it does not support.
    pub does_not_support: String,
    /// Where it comes from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceToml {
    evidence: Vec<EvidenceNote>,
}

/// Read and check the evidence notes: every note has a source.
pub fn from_toml_str(text: &str) -> Result<Vec<EvidenceNote>, LabelError> {
    let err = |message: String| LabelError::Data {
        file: "data/labels/evidence.toml",
        message,
    };
    let raw: EvidenceToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    if let Some(n) = raw.evidence.iter().find(|n| n.source.trim().is_empty()) {
        return Err(err(format!("evidence note \"{}\" has no source", n.key)));
    }
    Ok(raw.evidence)
}
