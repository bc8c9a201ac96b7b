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
//!
//! ```
//! let d = exoskin_labels::Decoder::embedded().unwrap();
//! let r = d.decode_label("Ingredients: Aqua, Glycerin, Platelet Exosome Filtrate").unwrap();
//! assert_eq!(r.ingredients[2].class, exoskin_labels::Class::Vesicle);
//! assert_eq!(r.ingredients[2].source, Some(exoskin_labels::Source::Platelet));
//! ```

pub mod error;
pub mod evidence;
pub mod lexicon;
mod normalize;
pub mod parse;
pub mod product;
pub mod regions;
pub mod report;

pub use error::LabelError;
pub use evidence::EvidenceNote;
pub use lexicon::{Class, Classification, Lexicon, Match, Source};
pub use parse::{parse, ParsedIngredient};
pub use product::{date, parse_expiry, today_utc, Date, Product};
pub use regions::{Region, Regions};
pub use report::{codes, Flag, Ingredient, Report, Severity};

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
}

impl Decoder {
    /// Build a decoder from the three data files' text.
    pub fn new(lexicon: &str, regions: &str, evidence: &str) -> Result<Decoder, LabelError> {
        Ok(Decoder {
            lexicon: Lexicon::from_toml_str(lexicon)?,
            regions: Regions::from_toml_str(regions)?,
            evidence: evidence::from_toml_str(evidence)?,
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

    /// All evidence notes.
    pub fn evidence(&self) -> &[EvidenceNote] {
        &self.evidence
    }

    /// Parse and classify; never fails (an empty list when nothing was found).
    pub fn ingredients(&self, text: &str) -> Vec<Ingredient> {
        parse(text).into_iter().map(|p| self.classify(p)).collect()
    }

    fn classify(&self, p: ParsedIngredient) -> Ingredient {
        let c = self.lexicon.classify_keyed(&p.name, &p.key);
        let entry = c.entry.map(|i| &self.lexicon.entries()[i]);
        let (source, origin) = if c.class == Class::Vesicle {
            (c.origin, None)
        } else {
            (None, c.origin)
        };
        let own_note = entry.is_some_and(|e| e.note.is_some());
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
            own_note,
        }
    }

    /// Decode bare ingredient text: the ingredients, the flags that follow from the list
    /// alone, and the evidence notes. Fails on empty text or text that does not read as an
    /// ingredient list.
    pub fn decode_label(&self, text: &str) -> Result<Report, LabelError> {
        let ingredients = self.ingredients(text);
        check_readable(text, &ingredients)?;
        let flags = product::list_flags(&ingredients, None);
        let evidence = self.evidence_for(&ingredients);
        Ok(Report::new(None, ingredients, flags, evidence))
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
