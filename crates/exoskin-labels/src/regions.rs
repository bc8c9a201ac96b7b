//! Regional rules on human-derived cosmetic ingredients (`data/labels/regions.toml`).

use crate::cosing::{Annex, Annexes};
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

/// Whether the EU CosIng annexes (`data/labels/cosing_annexes.csv`) are a region's law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnexScope {
    /// Regulation (EC) No 1223/2009 applies there: annex flags are that region's rules.
    EuLaw,
    /// The region has its own lists, which the bundled file does not cover: annex flags are
    /// shown as EU rules, for information.
    OwnLists,
}

/// One region of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// Codes a product file may use for it.
    pub codes: Vec<String>,
    /// Its name.
    pub name: String,
    /// The rule's status.
    pub status: RegionStatus,
    /// How sure the table is.
    pub certainty: Certainty,
    /// The rule in a sentence (for a rule taken from an annex entry, written from that entry).
    pub rule: String,
    /// Where it comes from.
    pub source: String,
    /// The annex entry the human-origin rule is ("II/416"), when it is one of the EU annexes.
    pub annex_entry: Option<String>,
    /// Whether the EU annexes are this region's law (absent: they are not).
    pub annexes: Option<AnnexScope>,
    /// What to say about the annexes there: why they are its law (appended to the source of
    /// an annex-entry rule), or that the region has its own lists.
    pub annexes_note: Option<String>,
}

impl Region {
    /// True when the EU CosIng annexes are this region's law.
    pub fn eu_annexes_apply(&self) -> bool {
        self.annexes == Some(AnnexScope::EuLaw)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionToml {
    codes: Vec<String>,
    name: String,
    status: RegionStatus,
    certainty: Certainty,
    rule: Option<String>,
    source: Option<String>,
    annex_entry: Option<String>,
    annexes: Option<AnnexScope>,
    annexes_note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsToml {
    region: Vec<RegionToml>,
}

/// The region table.
#[derive(Debug, Clone)]
pub struct Regions(Vec<Region>);

impl Regions {
    /// Read and check the table: every region has codes, and a rule and a source unless its
    /// rule is an annex entry (`annex_entry`), whose rule and source
    /// [`Regions::resolve_annex_entries`] writes from the annex file.
    pub fn from_toml_str(text: &str) -> Result<Regions, LabelError> {
        let err = |message: String| LabelError::Data {
            file: "data/labels/regions.toml",
            message,
        };
        let raw: RegionsToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::with_capacity(raw.region.len());
        for r in raw.region {
            let rule = r.rule.unwrap_or_default();
            let source = r.source.unwrap_or_default();
            if r.codes.is_empty() {
                return Err(err(format!("region \"{}\" needs codes", r.name)));
            }
            match &r.annex_entry {
                None if rule.trim().is_empty() || source.trim().is_empty() => {
                    return Err(err(format!(
                        "region \"{}\" needs a rule and a source (or an annex_entry such as \
                         \"II/416\")",
                        r.name
                    )));
                }
                Some(_) if !rule.is_empty() || !source.is_empty() => {
                    return Err(err(format!(
                        "region \"{}\": give either annex_entry or rule and source, not both \
                         (the rule of an annex entry is written from the annex file)",
                        r.name
                    )));
                }
                _ => {}
            }
            out.push(Region {
                codes: r.codes,
                name: r.name,
                status: r.status,
                certainty: r.certainty,
                rule,
                source,
                annex_entry: r.annex_entry,
                annexes: r.annexes,
                annexes_note: r.annexes_note,
            });
        }
        Ok(Regions(out))
    }

    /// Write the rule and source of every region whose rule is an annex entry from that
    /// entry of the annexes; fails when the entry is not there or not on Annex II.
    pub fn resolve_annex_entries(&mut self, annexes: &Annexes) -> Result<(), LabelError> {
        let last_update = &annexes.provenance().last_update;
        for r in &mut self.0 {
            let Some(reference) = &r.annex_entry else {
                continue;
            };
            let (_, e) = annexes
                .find(reference)
                .filter(|(_, e)| e.annex == Annex::II)
                .ok_or_else(|| LabelError::Data {
                    file: "data/labels/regions.toml",
                    message: format!(
                        "region \"{}\": annex_entry \"{reference}\" is not an Annex II entry of \
                         data/labels/cosing_annexes.csv",
                        r.name
                    ),
                })?;
            r.rule = format!(
                "{} may not be used in cosmetic products (Annex II/{}).",
                e.chemical_name, e.entry
            );
            r.source = format!(
                "Regulation (EC) No 1223/2009 on cosmetic products, Annex II (list of prohibited \
                 substances), entry {}, as in the Commission's CosIng export (last update \
                 {last_update}; data/labels/cosing_annexes.csv)",
                e.entry
            );
            if let Some(note) = r.annexes_note.as_deref().filter(|_| r.eu_annexes_apply()) {
                // Why the EU annexes are this region's law (Northern Ireland).
                r.source.push_str("; ");
                r.source.push_str(note.trim_end_matches('.'));
            }
        }
        Ok(())
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
