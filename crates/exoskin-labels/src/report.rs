//! Decoded ingredients, red flags and the report the CLI prints (text or JSON).

use crate::cosing::{Annex, AnnexMatch, Conditions, MatchedBy};
use crate::evidence::EvidenceNote;
use crate::lexicon::{Class, Match, Source};
use serde::Serialize;

/// One decoded ingredient. JSON fields: `name`, `position`, `class`, `source` (vesicles only),
/// `note`, then `match` and the optional extras.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ingredient {
    /// The name as printed, tidied.
    pub name: String,
    /// 1-based position in the list.
    pub position: usize,
    /// Its class.
    pub class: Class,
    /// Where the vesicles come from (vesicles only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Plain-language note.
    pub note: String,
    /// Lexicon hit, best guess, or unknown.
    #[serde(rename = "match")]
    pub matched: Match,
    /// Where a non-vesicle biological ingredient comes from (conditioned media, cell extracts,
    /// ferments), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Source>,
    /// The lexicon entry's name, for lexicon hits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexicon_name: Option<String>,
    /// True for material of human origin.
    #[serde(skip_serializing_if = "is_false")]
    pub human_derived: bool,
    /// Lexicon tags (preservative, fragrance, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A printed percentage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// Listed after "may contain" / `+/-`.
    #[serde(skip_serializing_if = "is_false")]
    pub may_contain: bool,
    /// The branded blend it was listed under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blend: Option<String>,
    /// The EU CosIng annex entries the name matches (`annex`, `entry`, `matched_by`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annexes: Vec<AnnexMatch>,
    /// True when the note is specific to this ingredient (not the class's general note).
    #[serde(skip)]
    pub own_note: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Ingredient {
    /// Where the material comes from, vesicle or not.
    pub fn any_origin(&self) -> Option<Source> {
        self.source.or(self.origin)
    }

    /// True when the lexicon gave this ingredient the tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// How serious a flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Do not buy or use as sold.
    High,
    /// Ask questions before buying or using.
    Medium,
    /// Worth knowing.
    Low,
    /// A note, not a problem with this product.
    Info,
}

impl Severity {
    /// The name used in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// Flag codes. Stable: scripts may match on them.
pub mod codes {
    /// Marketed as exosome/EV, but no vesicle ingredient in the list.
    pub const NO_VESICLE_INGREDIENT: &str = "no_vesicle_ingredient";
    /// A liposome presented as an exosome, or liposomes where exosomes are claimed.
    pub const LIPOSOME_AS_EXOSOME: &str = "liposome_as_exosome";
    /// Synthetic vesicles / EV mimetics sold as exosomes.
    pub const MIMETIC_AS_EXOSOME: &str = "mimetic_as_exosome";
    /// Plant vesicles claimed to be human-like or equivalent.
    pub const PLANT_CLAIMED_AS_HUMAN_EQUIVALENT: &str = "plant_claimed_as_human_equivalent";
    /// Directions or claims suggesting injection or needle use.
    pub const INJECTION_OR_NEEDLE_USE: &str = "injection_or_needle_use";
    /// Treats, cures, heals a disease, regrows hair.
    pub const DRUG_CLAIM: &str = "drug_claim";
    /// Claims of FDA approval or clearance.
    pub const APPROVAL_CLAIM: &str = "approval_claim";
    /// No batch (lot) number.
    pub const NO_BATCH_NUMBER: &str = "no_batch_number";
    /// No expiry date, or one that cannot be read.
    pub const NO_EXPIRY_DATE: &str = "no_expiry_date";
    /// Expiry date in the past.
    pub const EXPIRED: &str = "expired";
    /// No GMP certificate or third-party purity report.
    pub const NO_QUALITY_DOCUMENTATION: &str = "no_quality_documentation";
    /// Human-derived ingredient where the region's cosmetics law prohibits it.
    pub const HUMAN_DERIVED_NOT_ALLOWED_IN_REGION: &str = "human_derived_not_allowed_in_region";
    /// Human-derived ingredient where the region allows it only under conditions.
    pub const HUMAN_DERIVED_RESTRICTED_IN_REGION: &str = "human_derived_restricted_in_region";
    /// Human-derived ingredient where the region's position is unclear.
    pub const HUMAN_DERIVED_STATUS_UNCLEAR: &str = "human_derived_status_unclear";
    /// Human-derived ingredient, region not given or not in the table.
    pub const HUMAN_DERIVED_INGREDIENT: &str = "human_derived_ingredient";
    /// Claims that contradict the ingredient list or each other.
    pub const CONTRADICTORY_CLAIMS: &str = "contradictory_claims";
    /// No reproductive-toxicology data (pregnancy).
    pub const PREGNANCY_NO_DATA: &str = "pregnancy_no_data";
    /// A name that looks like a vesicle ingredient but is not in the lexicon.
    pub const UNRECOGNISED_VESICLE_NAME: &str = "unrecognised_vesicle_name";
    /// A product file without an ingredient list.
    pub const NO_INGREDIENT_LIST: &str = "no_ingredient_list";
    /// A product's ingredient text that does not read as a list.
    pub const INGREDIENT_LIST_UNREADABLE: &str = "ingredient_list_unreadable";
    /// On EU Annex II: prohibited in cosmetic products.
    pub const EU_ANNEX_II_PROHIBITED: &str = "eu_annex_ii_prohibited";
    /// On EU Annex III: allowed only under the annex's restrictions.
    pub const EU_ANNEX_III_RESTRICTED: &str = "eu_annex_iii_restricted";
    /// On EU Annex IV: an allowed colourant (with its conditions).
    pub const EU_ANNEX_IV_COLOURANT: &str = "eu_annex_iv_colourant";
    /// On EU Annex V: an allowed preservative (with its maximum concentration).
    pub const EU_ANNEX_V_PRESERVATIVE: &str = "eu_annex_v_preservative";
    /// On EU Annex VI: an allowed UV filter (with its maximum concentration).
    pub const EU_ANNEX_VI_UV_FILTER: &str = "eu_annex_vi_uv_filter";
    /// A printed percentage above the highest maximum concentration of its EU annex entry.
    pub const EU_ANNEX_MAX_EXCEEDED: &str = "eu_annex_max_exceeded";
}

/// The EU annex entry a flag rests on. JSON (flattened into the flag): `annex` ("II".."VI"),
/// `entry` ("375"), `substance` (chemical name / INN), `matched_name` and `matched_by` (how
/// the printed name was found), `conditions` (product type, maximum concentration, other,
/// warnings, as worded there), `annex_updated` (the entry's update date), `jurisdiction`
/// ("EU") and `applies_in_region` (true where the annexes are the product's region's law,
/// false where they are not, absent when no region was given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnexFlag {
    /// Which annex.
    pub annex: Annex,
    /// Its reference number.
    pub entry: String,
    /// Chemical name / INN of the entry.
    pub substance: String,
    /// The printed name that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_name: Option<String>,
    /// How it matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    /// The entry's conditions.
    #[serde(skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
    /// The entry's update date (YYYY-MM-DD).
    pub annex_updated: String,
    /// Whose law the annex is: always "EU".
    pub jurisdiction: &'static str,
    /// Whether the annex is the law of the product's region (absent: no region given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies_in_region: Option<bool>,
}

/// A red flag (or a note).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// A code from [`codes`].
    pub code: &'static str,
    /// How serious.
    pub severity: Severity,
    /// What is wrong, in plain language.
    pub message: String,
    /// Ingredient positions it is about, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<usize>,
    /// The source the flag rests on.
    pub reference: &'static str,
    /// The EU annex entry, for flags that rest on one.
    #[serde(flatten)]
    pub annex: Option<AnnexFlag>,
}

/// Counts for the report's headline.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Ingredients decoded.
    pub ingredients: usize,
    /// Of which vesicles.
    pub vesicles: usize,
    /// Found in the lexicon.
    pub in_lexicon: usize,
    /// Best guesses.
    pub guessed: usize,
    /// Unknown names.
    pub unknown: usize,
    /// Named on the EU CosIng annexes (whether in the lexicon or not).
    pub on_eu_annexes: usize,
    /// Flags of high severity.
    pub high_flags: usize,
}

/// The product fields echoed in a product report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductSummary {
    /// Product name.
    pub name: String,
    /// Brand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Region code as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The region's name in the table, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    /// True when the name or claims sell it as exosomes/EVs.
    pub marketed_as_exosome: bool,
}

/// The whole decoding result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Product fields (product files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductSummary>,
    /// Decoded ingredients in list order.
    pub ingredients: Vec<Ingredient>,
    /// Red flags and notes, most serious first.
    pub flags: Vec<Flag>,
    /// Evidence notes for the vesicle kinds present.
    pub evidence: Vec<EvidenceNote>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// Build a report: sorts flags by severity (stable) and fills the summary.
    pub fn new(
        product: Option<ProductSummary>,
        ingredients: Vec<Ingredient>,
        mut flags: Vec<Flag>,
        evidence: Vec<EvidenceNote>,
    ) -> Report {
        flags.sort_by_key(|f| f.severity);
        let count = |m: Match| ingredients.iter().filter(|i| i.matched == m).count();
        let summary = Summary {
            ingredients: ingredients.len(),
            vesicles: ingredients
                .iter()
                .filter(|i| i.class == Class::Vesicle)
                .count(),
            in_lexicon: count(Match::Lexicon),
            guessed: count(Match::Guess),
            unknown: count(Match::Unknown),
            on_eu_annexes: ingredients.iter().filter(|i| !i.annexes.is_empty()).count(),
            high_flags: flags
                .iter()
                .filter(|f| f.severity == Severity::High)
                .count(),
        };
        Report {
            product,
            ingredients,
            flags,
            evidence,
            summary,
        }
    }

    /// True when a flag with this code was raised.
    pub fn has_flag(&self, code: &str) -> bool {
        self.flags.iter().any(|f| f.code == code)
    }

    /// A readable plain-text report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let Some(p) = &self.product {
            s.push_str(&format!("Product: {}", p.name));
            if let Some(b) = &p.brand {
                s.push_str(&format!(" ({b})"));
            }
            s.push('\n');
            match (&p.region, &p.region_name) {
                (Some(r), Some(n)) => s.push_str(&format!("Region: {r} ({n})\n")),
                (Some(r), None) => s.push_str(&format!("Region: {r} (not in the region table)\n")),
                _ => s.push_str("Region: not given\n"),
            }
            s.push_str(&format!(
                "Sold as an exosome/EV product: {}\n\n",
                if p.marketed_as_exosome { "yes" } else { "no" }
            ));
        }
        let m = &self.summary;
        s.push_str(&format!(
            "Ingredients: {} ({} vesicle, {} in the lexicon, {} best guess, {} unknown; {} on \
             the EU annexes)\n",
            m.ingredients, m.vesicles, m.in_lexicon, m.guessed, m.unknown, m.on_eu_annexes
        ));
        let width = self
            .ingredients
            .iter()
            .map(|i| i.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, 48);
        for i in &self.ingredients {
            let mut name: String = i.name.chars().take(width).collect();
            if i.name.chars().count() > width {
                name.pop();
                name.push('~');
            }
            let mut what = i.class.as_str().to_string();
            if let Some(src) = i.any_origin() {
                what.push_str(&format!(" / {}", src.as_str()));
            }
            let mut extra = Vec::new();
            match i.matched {
                Match::Guess => extra.push("best guess".to_string()),
                Match::Unknown => extra.push("not in lexicon".to_string()),
                Match::Lexicon | Match::Annex => {}
            }
            for a in &i.annexes {
                extra.push(format!("EU Annex {}/{}", a.annex.as_str(), a.entry));
            }
            if let Some(p) = i.percent {
                extra.push(format!("{p}%"));
            }
            if i.may_contain {
                extra.push("may contain".to_string());
            }
            if let Some(b) = &i.blend {
                extra.push(format!("in {b}"));
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!("  [{}]", extra.join(", "))
            };
            s.push_str(&format!(
                "{:>3}  {:<width$}  {}{}\n",
                i.position, name, what, extra
            ));
        }
        let notable: Vec<&Ingredient> = self
            .ingredients
            .iter()
            .filter(|i| i.class != Class::Other || i.matched == Match::Guess || i.own_note)
            .collect();
        if !notable.is_empty() {
            s.push_str("\nNotes:\n");
            for i in notable {
                s.push_str(&format!("{:>3}  {}: {}\n", i.position, i.name, i.note));
            }
        }
        s.push_str("\nFlags:\n");
        if self.flags.is_empty() {
            s.push_str("  none\n");
        }
        for f in &self.flags {
            s.push_str(&format!(
                "  [{}] {}: {}\n",
                f.severity.as_str(),
                f.code,
                f.message
            ));
        }
        if !self.evidence.is_empty() {
            s.push_str("\nWhat the evidence says:\n");
            for e in &self.evidence {
                s.push_str(&format!(
                    "  {}\n    supports: {}\n    does not support: {}\n    source: {}\n",
                    e.title, e.supports, e.does_not_support, e.source
                ));
            }
        }
        s
    }
}
