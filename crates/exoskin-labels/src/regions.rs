//! Regional rules on human-derived cosmetic ingredients (`data/labels/regions.toml`).

use crate::error::LabelError;
use serde::{Deserialize, Serialize};

/// What a region's cosmetics law says about human-derived ingredients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionStatus {
    /// Banned in cosmetics.
    Prohibited,
    /// Allowed under specific conditions.
    Restricted,
    /// No specific cosmetic rule found.
    Unclear,
}

/// How sure the table is about a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Read in the law itself.
    Established,
    /// Follows from a law known to copy another; check the current text.
    Likely,
    /// Not verified: check before relying on it.
    Uncertain,
}

/// One region of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Codes a product file may use for it.
    pub codes: Vec<String>,
    /// Its name.
    pub name: String,
    /// The rule's status.
    pub status: RegionStatus,
    /// How sure the table is.
    pub certainty: Certainty,
    /// The rule in a sentence.
    pub rule: String,
    /// Where it comes from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsToml {
    region: Vec<Region>,
}

/// The region table.
#[derive(Debug, Clone)]
pub struct Regions(Vec<Region>);

impl Regions {
    /// Read and check the table: every region has codes and a source.
    pub fn from_toml_str(text: &str) -> Result<Regions, LabelError> {
        let err = |message: String| LabelError::Data {
            file: "data/labels/regions.toml",
            message,
        };
        let raw: RegionsToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for r in &raw.region {
            if r.codes.is_empty() || r.source.trim().is_empty() {
                return Err(err(format!(
                    "region \"{}\" needs codes and a source",
                    r.name
                )));
            }
        }
        Ok(Regions(raw.region))
    }

    /// The region with this code (case and surrounding spaces ignored).
    pub fn find(&self, code: &str) -> Option<&Region> {
        let code = code.trim();
        self.0
            .iter()
            .find(|r| r.codes.iter().any(|c| c.eq_ignore_ascii_case(code)))
    }

    /// All regions.
    pub fn all(&self) -> &[Region] {
        &self.0
    }
}
