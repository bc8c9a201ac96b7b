//! exoskin-labels: decode cosmetic ingredient lists (INCI) for exosome (extracellular
//! vesicle, EV) skincare, and check product files for red flags.
//!
//! - [`parse`]: label text as printed to ingredient names with positions (never fails).
//! - [`lexicon`]: the bundled lexicon (`data/labels/lexicon.toml`) classifies each name as a
//!   `vesicle` (with its source), `conditioned_media`, `cell_extract_or_lysate`,
//!   `ferment_lysate`, `liposome_component` or `other`; names it does not know that look like
//!   vesicle ingredients get a best guess.
//! - [`product`]: product files (TOML) and their red flags with codes ([`report::codes`]).
//! - [`evidence`] and [`regions`]: evidence notes per vesicle source and the regional table for
//!   human-derived ingredients, each with its sources.
//! - [`cosing`]: the EU CosIng annexes II-VI of Regulation (EC) No 1223/2009
//!   (`data/labels/cosing_annexes.csv`); each ingredient named on them is flagged with its
//!   annex, entry and conditions, as the region's rule where the annexes are its law and as
//!   EU information elsewhere.
//!
//! ```
//! let d = exoskin_labels::Decoder::embedded().unwrap();
//! let r = d.decode_label("Ingredients: Aqua, Glycerin, Platelet Exosome Filtrate").unwrap();
//! assert_eq!(r.ingredients[2].class, exoskin_labels::Class::Vesicle);
//! assert_eq!(r.ingredients[2].source, Some(exoskin_labels::Source::Platelet));
//! ```

pub mod cosing;
pub mod error;
pub mod evidence;
pub mod lexicon;
mod normalize;
pub mod parse;
pub mod product;
pub mod regions;
pub mod report;

pub use cosing::{Annex, AnnexEntry, AnnexMatch, Annexes, Conditions, MatchedBy};
pub use error::LabelError;
pub use evidence::EvidenceNote;
pub use lexicon::{Class, Classification, Lexicon, Match, Source};
pub use parse::{parse, ParsedIngredient};
pub use product::{date, parse_expiry, today_utc, Date, Product};
pub use regions::{AnnexScope, Region, Regions};
pub use report::{codes, AnnexFlag, Flag, Ingredient, Report, Severity};

use std::sync::OnceLock;

/// The bundled lexicon, embedded in the binary.
pub const LEXICON_TOML: &str = include_str!("../../../data/labels/lexicon.toml");
/// The bundled region table.
pub const REGIONS_TOML: &str = include_str!("../../../data/labels/regions.toml");
/// The bundled evidence notes.
pub const EVIDENCE_TOML: &str = include_str!("../../../data/labels/evidence.toml");

/// Items with more words than this read as sentences, not ingredient names.
const MAX_NAME_WORDS: usize = 10;

/// Lexicon, regions and evidence notes: everything needed to decode labels.
#[derive(Debug, Clone)]
pub struct Decoder {
    lexicon: Lexicon,
    regions: Regions,
    evidence: Vec<EvidenceNote>,
    annexes: &'static Annexes,
}

impl Decoder {
    /// Build a decoder from the three data files' text, with the bundled EU annexes
    /// (`data/labels/cosing_annexes.csv`).
    pub fn new(lexicon: &str, regions: &str, evidence: &str) -> Result<Decoder, LabelError> {
        let annexes = Annexes::embedded()?;
        let mut regions = Regions::from_toml_str(regions)?;
        regions.resolve_annex_entries(annexes)?;
        Ok(Decoder {
            lexicon: Lexicon::from_toml_str(lexicon)?,
            regions,
            evidence: evidence::from_toml_str(evidence)?,
            annexes,
        })
    }

    /// The decoder over the bundled data, built once.
    pub fn embedded() -> Result<&'static Decoder, LabelError> {
        static CELL: OnceLock<Result<Decoder, LabelError>> = OnceLock::new();
        CELL.get_or_init(|| Decoder::new(LEXICON_TOML, REGIONS_TOML, EVIDENCE_TOML))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The region table.
    pub fn regions(&self) -> &Regions {
        &self.regions
    }

    /// The EU CosIng annexes.
    pub fn annexes(&self) -> &Annexes {
        self.annexes
    }

    /// All evidence notes.
    pub fn evidence(&self) -> &[EvidenceNote] {
        &self.evidence
    }

    /// Parse and classify; never fails (an empty list when nothing was found).
    pub fn ingredients(&self, text: &str) -> Vec<Ingredient> {
        parse(text).into_iter().map(|p| self.classify(p)).collect()
    }

    /// The annex entries (file rows) a name matches.
    fn annex_rows(&self, name: &str) -> Vec<usize> {
        self.annexes
            .match_name(name)
            .iter()
            .map(|m| m.row)
            .collect()
    }

    fn classify(&self, p: ParsedIngredient) -> Ingredient {
        let annexes = self.annexes.match_name(&p.name);
        let mut c = self.lexicon.classify_keyed(&p.name, &p.key);
        if !annexes.is_empty() {
            // The annexes take precedence: a lexicon hit stands only when the lexicon entry's
            // own name is on one of the same annex entries (the same substance). "Tretinoin"
            // is never reported as the lexicon's "Retinol".
            if let Some(i) = c.entry {
                let own = self.annex_rows(&self.lexicon.entries()[i].name);
                if !annexes.iter().any(|m| own.contains(&m.row)) {
                    c.entry = None;
                    c.matched = Match::Annex;
                    c.class = Class::Other;
                    c.origin = None;
                    c.human_derived = false;
                }
            } else if c.matched == Match::Unknown {
                c.matched = Match::Annex;
            }
            if c.matched == Match::Annex {
                let refs: Vec<String> = annexes
                    .iter()
                    .map(|m| {
                        let e = &self.annexes.entries()[m.row];
                        format!(
                            "Annex {}/{} ({})",
                            e.annex.as_str(),
                            e.entry,
                            e.chemical_name
                        )
                    })
                    .collect();
                c.note = format!(
                    "Not in the lexicon; named on the EU CosIng annexes: {} (see the flags).",
                    refs.join("; ")
                );
            }
        }
        let entry = c.entry.map(|i| &self.lexicon.entries()[i]);
        let (source, origin) = if c.class == Class::Vesicle {
            (c.origin, None)
        } else {
            (None, c.origin)
        };
        let own_note = entry.is_some_and(|e| e.note.is_some()) || c.matched == Match::Annex;
        let mut note = c.note;
        if c.class == Class::Vesicle && c.matched == Match::Lexicon && !own_note {
            // Say which kind of EV: the evidence note's title for the source.
            if let Some(e) = source.and_then(|s| self.evidence.iter().find(|e| e.key == s.as_str()))
            {
                note.push_str(&format!(" Kind: {}.", e.title));
            }
        }
        Ingredient {
            name: p.name,
            position: p.position,
            class: c.class,
            source,
            note,
            matched: c.matched,
            origin,
            lexicon_name: entry.map(|e| e.name.clone()),
            human_derived: c.human_derived,
            tags: entry.map(|e| e.tags.clone()).unwrap_or_default(),
            percent: p.percent,
            may_contain: p.may_contain,
            blend: p.blend,
            annexes,
            own_note,
        }
    }

    /// Decode bare ingredient text: the ingredients, the flags that follow from the list
    /// alone, and the evidence notes. Fails on empty text or text that does not read as an
    /// ingredient list.
    pub fn decode_label(&self, text: &str) -> Result<Report, LabelError> {
        self.decode_label_in(text, None)
    }

    /// [`Decoder::decode_label`] for a product sold in `region` (a code of the region table):
    /// the EU annex flags are that region's rules where the annexes are its law, and EU
    /// information elsewhere. Fails, besides, on a region code not in the table.
    pub fn decode_label_in(&self, text: &str, region: Option<&str>) -> Result<Report, LabelError> {
        let region = match region {
            None => None,
            Some(code) => Some(self.regions.find(code).ok_or_else(|| {
                let known: Vec<&str> = self
                    .regions
                    .all()
                    .iter()
                    .filter_map(|r| r.codes.first().map(String::as_str))
                    .collect();
                LabelError::UnknownRegion {
                    code: code.to_string(),
                    known: known.join(", "),
                }
            })?),
        };
        let ingredients = self.ingredients(text);
        check_readable(text, &ingredients)?;
        let mut flags = product::list_flags(&ingredients, None, self.human_origin_entry());
        flags.extend(self.annex_flags(&ingredients, region));
        let evidence = self.evidence_for(&ingredients);
        Ok(Report::new(None, ingredients, flags, evidence))
    }

    /// The EU annex entry of the human-origin rule (the `annex_entry` of the first region whose
    /// law the annexes are), if the region table names one.
    pub fn human_origin_entry(&self) -> Option<(usize, &AnnexEntry)> {
        self.regions
            .all()
            .iter()
            .filter(|r| r.eu_annexes_apply())
            .find_map(|r| r.annex_entry.as_deref())
            .and_then(|reference| self.annexes.find(reference))
    }

    /// Evidence notes for the vesicle sources (and conditioned media) present, in list order.
    pub fn evidence_for(&self, ingredients: &[Ingredient]) -> Vec<EvidenceNote> {
        let mut keys: Vec<&str> = Vec::new();
        for i in ingredients {
            let k = match (i.class, i.source) {
                (Class::Vesicle, Some(s)) => s.as_str(),
                (Class::ConditionedMedia, _) => "conditioned_media",
                _ => continue,
            };
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.iter()
            .filter_map(|k| self.evidence.iter().find(|e| e.key == *k).cloned())
            .collect()
    }
}

/// Words of running text that ingredient names do not contain.
const PROSE_WORDS: &[&str] = &[
    "the", "is", "are", "was", "were", "you", "your", "we", "our", "i", "my", "me", "how", "what",
    "that", "this", "these", "those", "will", "can", "be", "it", "its", "they", "their", "them",
    "because", "about", "into", "when", "which", "who", "why", "not", "but", "if", "so", "than",
    "then", "an", "to", "has", "have", "had", "or", "such", "like", "there", "here", "more",
    "most", "also", "just", "very", "do", "does", "should", "would", "could", "been", "every",
];

/// An item of three or more words with a word of running text, or a question or exclamation.
fn reads_as_prose(name: &str) -> bool {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.len() >= 3
        && (name.contains(['?', '!']) || words.iter().any(|w| PROSE_WORDS.contains(&w.as_str())))
}

/// Reject empty text and text that does not read as an ingredient list.
pub fn check_readable(text: &str, ingredients: &[Ingredient]) -> Result<(), LabelError> {
    if text.trim().is_empty() {
        return Err(LabelError::Empty {
            detail: "the text is empty".to_string(),
        });
    }
    if ingredients.is_empty() {
        return Err(LabelError::Empty {
            detail: "the text has no ingredient names (only headers, punctuation or section \
                     text such as directions)"
                .to_string(),
        });
    }
    let long = ingredients
        .iter()
        .filter(|i| i.name.split_whitespace().count() > MAX_NAME_WORDS)
        .count();
    if long * 2 > ingredients.len() {
        return Err(LabelError::NotALabel {
            reason: format!(
                "{long} of {} items read as sentences (more than {MAX_NAME_WORDS} words); an \
                 ingredient list is names separated by commas, semicolons, bullets or line breaks",
                ingredients.len()
            ),
        });
    }
    let prose = ingredients
        .iter()
        .filter(|i| reads_as_prose(&i.name))
        .count();
    if prose * 3 >= ingredients.len() && prose > 0 {
        return Err(LabelError::NotALabel {
            reason: format!(
                "{prose} of {} items read as prose (sentences with words such as \"the\", \"you\", \
                 \"are\"), not ingredient names",
                ingredients.len()
            ),
        });
    }
    if ingredients.iter().all(|i| i.matched == Match::Unknown) {
        let first: String = ingredients[0].name.chars().take(60).collect();
        return Err(LabelError::NotALabel {
            reason: format!(
                "none of the {} items is a known ingredient or looks like one (first: \"{first}\"); \
                 expected INCI names such as \"Aqua, Glycerin, Human Adipose Stem Cell Exosomes\"",
                ingredients.len()
            ),
        });
    }
    Ok(())
}
