//! Product files and their red flags.
//!
//! A product file is TOML with these top-level keys (only `name` is required):
//!
//! ```toml
//! name = "ExoGlow Recovery Serum"        # product name as sold
//! brand = "Example Labs"                 # optional
//! region = "EU"                          # where it is sold: EU (or a member state), NI, UK,
//!                                        # CH, US, KR, JP, CN; see data/labels/regions.toml
//! ingredients = "Aqua, Glycerin, ..."    # the ingredient list as printed
//! claims = ["Clinically proven", "..."]  # marketing claims as printed (a string or a list)
//! directions = "Apply after cleansing."  # directions for use
//! batch_number = "EX24-0917"             # lot/batch number (string or integer)
//! expiry_date = "2027-09"                # YYYY-MM, YYYY-MM-DD, MM/YYYY or a TOML date
//! certifications = ["GMP (ISO 22716)", "Third-party purity report"]
//! ```
//!
//! Unknown keys are an error (a typo such as `batch = ...` would otherwise hide a batch
//! number), reported with line and column.

use crate::cosing::{Annex, AnnexEntry, MatchedBy};
use crate::error::LabelError;
use crate::lexicon::{Class, Match, Source};
use crate::normalize::key;
use crate::regions::{Region, RegionStatus};
use crate::report::{codes, AnnexFlag, Flag, Ingredient, ProductSummary, Report, Severity};
use crate::Decoder;
use serde::Deserialize;
use std::ops::Range;

/// A calendar date: `jiff`'s civil date, the date type of the batch certificates too.
pub use jiff::civil::Date;

fn days_in_month(year: i32, month: u32) -> u32 {
    date(year, month, 1).map_or(0, |d| d.days_in_month() as u32)
}

/// A valid date, or `None`.
pub fn date(year: i32, month: u32, day: u32) -> Option<Date> {
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Today in UTC, from the system clock.
pub fn today_utc() -> Date {
    jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

/// Read an expiry date as printed: `2027-09-30`, `2027-09`, `2027/09`, `09/2027`,
/// `30/09/2027`, `Sep 2027`, with an optional "EXP" in front. A month without a day means
/// the end of that month. Ambiguous day/month orders take the earlier date.
pub fn parse_expiry(text: &str) -> Option<Date> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = text.to_ascii_lowercase();
    let mut nums: Vec<u32> = Vec::new();
    let mut month_word = None;
    for part in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
        if part.is_empty() {
            continue;
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            nums.push(part.parse().ok().filter(|_| part.len() <= 4)?);
        } else if let Some(m) = MONTHS.iter().position(|m| part.starts_with(m)) {
            month_word = Some(m as u32 + 1);
        } else if !matches!(
            part,
            "exp" | "expiry" | "expires" | "best" | "before" | "use" | "by" | "bb" | "date" | "end"
        ) {
            return None;
        }
    }
    let end_of = |y: u32, m: u32| date(y as i32, m, days_in_month(y as i32, m));
    let is_year = |n: u32| (1900..=2200).contains(&n);
    match (month_word, nums.as_slice()) {
        (Some(m), [y]) if is_year(*y) => end_of(*y, m),
        (Some(m), [d, y]) if is_year(*y) => date(*y as i32, m, *d),
        (None, [y, m]) if is_year(*y) => end_of(*y, *m),
        (None, [m, y]) if is_year(*y) => end_of(*y, *m),
        (None, [y, m, d]) if is_year(*y) => date(*y as i32, *m, *d),
        (None, [a, b, y]) if is_year(*y) => {
            let dm = date(*y as i32, *b, *a);
            let md = date(*y as i32, *a, *b);
            match (dm, md) {
                (Some(x), Some(z)) => Some(x.min(z)),
                (x, z) => x.or(z),
            }
        }
        _ => None,
    }
}

/// A product to check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Product {
    /// Product name as sold.
    pub name: String,
    /// Brand.
    pub brand: Option<String>,
    /// Region code where it is sold.
    pub region: Option<String>,
    /// Ingredient list as printed.
    pub ingredients: String,
    /// Marketing claims as printed.
    pub claims: Vec<String>,
    /// Directions for use.
    pub directions: Option<String>,
    /// Batch (lot) number.
    pub batch_number: Option<String>,
    /// Expiry date as printed.
    pub expiry_date: Option<String>,
    /// Certificates and reports the maker provides.
    pub certifications: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductToml {
    name: String,
    brand: Option<String>,
    region: Option<String>,
    #[serde(default)]
    ingredients: String,
    claims: Option<toml::Spanned<OneOrManyValue>>,
    directions: Option<String>,
    batch_number: Option<toml::Spanned<toml::Value>>,
    expiry_date: Option<toml::Spanned<toml::Value>>,
    certifications: Option<toml::Spanned<OneOrManyValue>>,
}

/// Claims and certifications: a string or a list of strings (checked after reading, so the
/// error can name the field and place).
#[derive(Deserialize)]
#[serde(transparent)]
struct OneOrManyValue(toml::Value);

fn product_error(text: &str, span: Option<Range<usize>>, message: String) -> LabelError {
    let (line, column) = span.map_or((1, 1), |s| {
        let at = exoskin_io::located::SourceLocation::from_offset(text, s.start);
        (at.line, at.column)
    });
    LabelError::Product {
        line,
        column,
        message,
    }
}

fn value_to_string(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        _ => None,
    }
}

fn string_list(
    text: &str,
    field: &str,
    v: Option<toml::Spanned<OneOrManyValue>>,
) -> Result<Vec<String>, LabelError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let span = v.span();
    let bad = || {
        product_error(
            text,
            Some(span.clone()),
            format!("`{field}` must be a string or a list of strings, e.g. {field} = [\"...\", \"...\"]"),
        )
    };
    let parsed = match v.into_inner().0 {
        toml::Value::String(s) => OneOrMany::One(s),
        toml::Value::Array(a) => OneOrMany::Many(
            a.into_iter()
                .map(|x| match x {
                    toml::Value::String(s) => Ok(s),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(bad()),
    };
    Ok(parsed.into_vec())
}

fn scalar(
    text: &str,
    field: &str,
    example: &str,
    v: Option<toml::Spanned<toml::Value>>,
) -> Result<Option<String>, LabelError> {
    let Some(v) = v else { return Ok(None) };
    let span = v.span();
    value_to_string(v.get_ref()).map(Some).ok_or_else(|| {
        product_error(
            text,
            Some(span),
            format!("`{field}` must be a string, e.g. {field} = \"{example}\""),
        )
    })
}

impl Product {
    /// Read a product file. Errors carry the line and column and say how to fix the file.
    pub fn from_toml_str(text: &str) -> Result<Product, LabelError> {
        // The located reading error of every input file kind: the key, the type expected,
        // the duplicated key, the allowed keys.
        let raw: ProductToml = exoskin_io::input::from_toml(text, "").map_err(|e| {
            let (line, column) = e
                .place()
                .and_then(|p| p.location.as_ref())
                .map_or((1, 1), |l| (l.line, l.column));
            let key = e.place().and_then(|p| p.key.clone());
            let mut message = match key {
                Some(k) => format!("`{k}`: {}", e.detail()),
                None => e.detail(),
            };
            if matches!(&e, exoskin_io::located::InputError::MissingKey { name, .. } if name == "name") {
                message.push_str(" (add a line: name = \"Product name\")");
            }
            LabelError::Product {
                line,
                column,
                message,
            }
        })?;
        Ok(Product {
            name: raw.name,
            brand: raw.brand,
            region: raw.region,
            ingredients: raw.ingredients,
            claims: string_list(text, "claims", raw.claims)?,
            directions: raw.directions,
            batch_number: scalar(text, "batch_number", "EX24-0917", raw.batch_number)?,
            expiry_date: scalar(text, "expiry_date", "2027-09", raw.expiry_date)?,
            certifications: string_list(text, "certifications", raw.certifications)?,
        })
    }
}

/// Normalised text for phrase matching (lookup-key form, padded with spaces).
struct Text(String);

impl Text {
    fn new<'a>(parts: impl IntoIterator<Item = &'a str>) -> Text {
        let mut s = String::from(" ");
        for p in parts {
            s.push_str(&key(p));
            s.push_str(" | ");
        }
        Text(s)
    }

    fn find<'p>(&self, phrases: &[&'p str]) -> Option<&'p str> {
        phrases.iter().copied().find(|p| {
            let mut pat = String::with_capacity(p.len() + 2);
            pat.push(' ');
            pat.push_str(p);
            pat.push(' ');
            self.0.contains(&pat)
        })
    }

    fn has(&self, phrases: &[&str]) -> bool {
        self.find(phrases).is_some()
    }

    /// A token starting with `prefix` (brand names such as "ExoGlow").
    fn has_prefix(&self, prefix: &str, not: &[&str]) -> Option<String> {
        self.0
            .split(' ')
            .find(|t| {
                t.len() > prefix.len() + 1
                    && t.starts_with(prefix)
                    && !not.iter().any(|n| t.starts_with(n))
            })
            .map(str::to_string)
    }
}

const REF_SEED000: &str = "seed000 (Exosome Skincare Science: questions to ask, red flags)";
const REF_MISEV: &str = "MISEV2023 (Welsh et al. 2024, J Extracell Vesicles 13:e12404)";
const REF_ANNEXES: &str =
    "Regulation (EC) No 1223/2009, Annexes II-VI, as in the European Commission's \
     CosIng export (CC BY 4.0): data/labels/cosing_annexes.csv";

const EXOSOME_WORDS: &[&str] = &[
    "exosome",
    "exosomal",
    "extracellular vesicle",
    "vesicle",
    "nanovesicle",
    "ev",
    "exo",
    "엑소좀",
    "外泌体",
];
/// Phrases below are in lookup-key form (see `normalize::key`: lower case, plural "s" dropped
/// from long words, filler words "of", "the", "from", "derived" dropped); a test checks it.
const DRUG_STRONG: &[&str] = &[
    "treat",
    "treating",
    "treated",
    "cure",
    "cured",
    "curing",
    "regrow",
    "regrowth",
    "regrowing",
    "hair growth",
    "stop hair loss",
    "reverse hair loss",
    "prevent hair loss",
    "alopecia",
    "eczema",
    "psoriasis",
    "dermatitis",
    "rosacea",
    "vitiligo",
    "melasma",
    "keloid",
    "lupus",
    "cancer",
    "infection",
    "disease",
    "wound",
    "ulcer",
    "scleroderma",
    "hyperhidrosis",
    "arthritis",
];
const DRUG_SOFT: &[&str] = &[
    "heal",
    "healing",
    "healed",
    "anti inflammatory",
    "antiinflammatory",
];
const INJECTION_WORDS: &[&str] = &[
    "inject",
    "injected",
    "injecting",
    "injection",
    "injectable",
    "mesotherapy",
    "meso therapy",
    "intradermal",
    "intradermally",
    "subcutaneous",
    "subcutaneously",
    "intramuscular",
    "intravenous",
    "iv drip",
    "syringe",
    "skin booster",
    "skinbooster",
    "filler",
    "hydra pen",
    "hydrapen",
];
const NEEDLE_WORDS: &[&str] = &[
    "microneedling",
    "micro needling",
    "microneedle",
    "micro needle",
    "needle",
    "needling",
    "dermaroller",
    "derma roller",
    "dermapen",
    "derma pen",
    "mts",
    "dermastamp",
    "derma stamp",
];
const QUALITY_WORDS: &[&str] = &[
    "gmp",
    "cgmp",
    "22716",
    "third party",
    "3rd party",
    "purity",
    "certificate analysis",
    "coa",
    "sterility",
    "endotoxin",
    "nta",
    "independent lab",
    "independent laboratory",
];
const VEGAN_WORDS: &[&str] = &[
    "vegan",
    "plant based",
    "animal free",
    "no animal",
    "100 plant",
    "cruelty free vegan",
];
const HUMAN_FREE_WORDS: &[&str] = &[
    "no human",
    "human free",
    "without human",
    "non human",
    "not human",
];
const PLANT_EXOSOME_CLAIMS: &[&str] = &[
    "plant exosome",
    "plant based exosome",
    "vegan exosome",
    "botanical exosome",
    "phyto exosome",
    "plant ev",
    "plant extracellular vesicle",
];
const HUMAN_CLAIM_WORDS: &[&str] = &["human", "bioidentical", "bio identical", "skin identical"];
const EQUIVALENCE_WORDS: &[&str] = &[
    "identical",
    "equivalent",
    "same as",
    "as effective as",
    "just like",
    "comparable",
    "as good as",
    "as powerful as",
];
const PLANT_CONTEXT: &[&str] = &[
    "plant stem cell",
    "callus",
    "apple stem cell",
    "plant",
    "botanical",
];
const PREGNANCY_WORDS: &[&str] = &["pregnancy", "pregnant", "breastfeeding", "nursing mother"];
const APPROVAL_WORDS: &[&str] = &[
    "fda approved",
    "fda cleared",
    "approved by fda",
    "fda approval",
    "cleared by fda",
];

fn positions(ings: &[Ingredient], pred: impl Fn(&Ingredient) -> bool) -> Vec<usize> {
    ings.iter()
        .filter(|i| pred(i))
        .map(|i| i.position)
        .collect()
}

fn names_at(ings: &[Ingredient], pos: &[usize]) -> String {
    let names: Vec<String> = ings
        .iter()
        .filter(|i| pos.contains(&i.position))
        .take(4)
        .map(|i| format!("\"{}\" (#{})", i.name, i.position))
        .collect();
    let more = pos.len().saturating_sub(4);
    if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    }
}

fn is_bio(i: &Ingredient) -> bool {
    matches!(
        i.class,
        Class::Vesicle | Class::ConditionedMedia | Class::CellExtractOrLysate
    )
}

/// Flags that follow from the ingredient list alone. `product` is `None` for bare lists (then
/// the "no vesicle" and human-origin notes are informational).
pub(crate) fn list_flags(
    ings: &[Ingredient],
    product: Option<&ProductContext>,
    human_rule: Option<(usize, &AnnexEntry)>,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    for i in ings
        .iter()
        .filter(|i| i.class == Class::Vesicle && i.matched == Match::Guess)
    {
        let src = i.source.unwrap_or(Source::Unknown).as_str();
        flags.push(Flag {
            code: codes::UNRECOGNISED_VESICLE_NAME,
            severity: Severity::Low,
            message: format!(
                "\"{}\" (#{}) is not in the lexicon but looks like a vesicle ingredient; best \
                 guess: source {src}. Ask the maker for the INCI name, the cell source and a \
                 purity report.",
                i.name, i.position
            ),
            positions: vec![i.position],
            reference: REF_MISEV,
            annex: None,
        });
    }
    // A lipid carrier whose printed name says exosome or vesicle.
    let named = positions(ings, |i| {
        i.class == Class::LiposomeComponent && {
            let k = key(&i.name);
            k.contains("exosom") || k.contains("vesicle")
        }
    });
    if !named.is_empty() {
        flags.push(Flag {
            code: codes::LIPOSOME_AS_EXOSOME,
            severity: Severity::High,
            message: format!(
                "{} is a liposome (lipid carrier) whose name borrows \"exosome\"/\"vesicle\": a \
                 synthetic lipid vesicle is not a cell-derived EV.",
                names_at(ings, &named)
            ),
            positions: named,
            reference: "seed000 (\"nano liposome\" alone is not an exosome); MISEV2023",
            annex: None,
        });
    }
    let has_vesicle = ings.iter().any(|i| i.class == Class::Vesicle);
    if !has_vesicle && product.is_none() {
        flags.push(Flag {
            code: codes::NO_VESICLE_INGREDIENT,
            severity: Severity::Info,
            message: format!(
                "No vesicle (EV, \"exosome\") ingredient in this list{}. If the product is sold as \
                 an exosome product, that is a red flag.",
                look_alikes(ings)
            ),
            positions: Vec::new(),
            reference: REF_SEED000,
            annex: None,
        });
    }
    let marketed = product.is_some_and(|p| p.marketed.is_some());
    if ings.iter().any(is_bio) || marketed {
        let safe_claim = product.is_some_and(|p| p.claims.has(PREGNANCY_WORDS));
        flags.push(Flag {
            code: codes::PREGNANCY_NO_DATA,
            severity: if safe_claim {
                Severity::Medium
            } else {
                Severity::Info
            },
            message: if safe_claim {
                "The claims mention pregnancy or breastfeeding, but no reproductive-toxicology \
                 data exist for exosome (EV) ingredients; physicians advise pregnancy-safe \
                 actives with a track record instead."
                    .to_string()
            } else {
                "Pregnancy: no reproductive-toxicology data exist for exosome (EV) ingredients; \
                 physicians advise sticking to tried-and-tested pregnancy-safe actives."
                    .to_string()
            },
            positions: Vec::new(),
            reference: "seed000 (FAQ: \"We do not yet have reproductive-toxicology data\")",
            annex: None,
        });
    }
    let human = positions(ings, |i| i.human_derived);
    let region_known = product.is_some_and(|p| p.region_found);
    if !human.is_empty() && !region_known {
        let what_to_do = match product.and_then(|p| p.region_given.as_deref()) {
            Some(r) => format!(
                "region \"{r}\" is not in the region table (data/labels/regions.toml), so the \
                 rules there were not checked"
            ),
            None => "give the product's region to check it".to_string(),
        };
        let (rule, annex) = match human_rule {
            Some((_, e)) => (
                format!(
                    "{} are prohibited in cosmetics in the EU (Annex II/{})",
                    e.chemical_name, e.entry
                ),
                Some(annex_flag(e, None, None)),
            ),
            None => (
                "human-origin material is prohibited in cosmetics in the EU (Regulation (EC) \
                 No 1223/2009, Annex II)"
                    .to_string(),
                None,
            ),
        };
        flags.push(Flag {
            code: codes::HUMAN_DERIVED_INGREDIENT,
            severity: Severity::Info,
            message: format!(
                "{} is of human origin. {rule}; {what_to_do}.",
                names_at(ings, &human)
            ),
            positions: human,
            reference: REF_ANNEXES,
            annex,
        });
    }
    flags
}

/// The annex fields of a flag on entry `e`, matched as `m` (name and how), in a region where
/// the annexes apply or not (`None`: no region given).
fn annex_flag(
    e: &AnnexEntry,
    m: Option<(&str, MatchedBy)>,
    applies_in_region: Option<bool>,
) -> AnnexFlag {
    AnnexFlag {
        annex: e.annex,
        entry: e.entry.clone(),
        substance: e.chemical_name.clone(),
        matched_name: m.map(|(n, _)| n.to_string()),
        matched_by: m.map(|(_, b)| b),
        conditions: e.conditions(),
        annex_updated: e.updated.clone(),
        jurisdiction: "EU",
        applies_in_region,
    }
}

/// The conditions of an entry in a sentence or two ("" when it states none).
fn conditions_text(e: &AnnexEntry) -> String {
    let mut parts = Vec::new();
    for (label, v) in [
        ("product type, body parts", &e.product_type),
        (
            "maximum concentration in the ready-for-use product",
            &e.max_concentration,
        ),
        ("other", &e.other),
        ("conditions of use and warnings to print", &e.warnings),
    ] {
        let v = v.trim_end_matches(['.', ';', ' ']);
        if !v.is_empty() {
            parts.push(format!("{label}: {v}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" Conditions: {}.", parts.join("; "))
    }
}

impl Decoder {
    /// One flag per ingredient and EU annex entry its name is on (and one more where a printed
    /// percentage is above the entry's highest maximum concentration). `region`: where the
    /// product is sold; where the annexes are not its law the flags are information (severity
    /// info) about the EU rule. Human-derived ingredients on the human-origin entry are left to
    /// the human-origin flags.
    pub(crate) fn annex_flags(&self, ings: &[Ingredient], region: Option<&Region>) -> Vec<Flag> {
        let human_row = self.human_origin_entry().map(|(i, _)| i);
        let applies = region.map(Region::eu_annexes_apply);
        let (prefix, suffix) = match region {
            Some(r) if !r.eu_annexes_apply() => (
                format!(
                    "EU rule, for information (not a rule of {}; its own law was not checked): ",
                    r.name
                ),
                r.annexes_note
                    .as_deref()
                    .map_or(String::new(), |n| format!(" {n}")),
            ),
            _ => (String::new(), String::new()),
        };
        let mut flags = Vec::new();
        for i in ings {
            for m in &i.annexes {
                if i.human_derived && Some(m.row) == human_row {
                    continue;
                }
                let e = &self.annexes().entries()[m.row];
                let (code, eu_severity) = match e.annex {
                    Annex::II => (codes::EU_ANNEX_II_PROHIBITED, Severity::High),
                    Annex::III => (codes::EU_ANNEX_III_RESTRICTED, Severity::Low),
                    Annex::IV => (codes::EU_ANNEX_IV_COLOURANT, Severity::Info),
                    Annex::V => (codes::EU_ANNEX_V_PRESERVATIVE, Severity::Info),
                    Annex::VI => (codes::EU_ANNEX_VI_UV_FILTER, Severity::Info),
                };
                let severity = if applies == Some(false) {
                    Severity::Info
                } else {
                    eu_severity
                };
                let how = match m.matched_by {
                    MatchedBy::Inci => "",
                    MatchedBy::ChemicalName => " (matched by its chemical name / INN)",
                    MatchedBy::Cas => " (matched by the CAS number printed with it)",
                };
                flags.push(Flag {
                    code,
                    severity,
                    message: format!(
                        "{prefix}\"{}\" (#{}) is {}: Annex {}/{} ({}){how}.{}{suffix}",
                        i.name,
                        i.position,
                        e.annex.meaning(),
                        e.annex.as_str(),
                        e.entry,
                        e.chemical_name,
                        conditions_text(e)
                    ),
                    positions: vec![i.position],
                    reference: REF_ANNEXES,
                    annex: Some(annex_flag(e, Some((&i.name, m.matched_by)), applies)),
                });
            }
            // A printed percentage above every maximum the ingredient's entries allow (the
            // same substance may be allowed higher on one annex than on another).
            let limits: Vec<(f64, usize)> = i
                .annexes
                .iter()
                .filter(|m| m.annex != Annex::II)
                .filter_map(|m| {
                    self.annexes().entries()[m.row]
                        .max_percent()
                        .map(|v| (v, m.row))
                })
                .collect();
            let highest = limits
                .iter()
                .copied()
                .fold(None, |best: Option<(f64, usize)>, x| match best {
                    Some(b) if b.0 >= x.0 => Some(b),
                    _ => Some(x),
                });
            if let (Some(p), Some((max, row))) = (i.percent, highest) {
                if p > max + 1e-9 {
                    let e = &self.annexes().entries()[row];
                    let by = i
                        .annexes
                        .iter()
                        .find(|m| m.row == row)
                        .map_or(MatchedBy::Inci, |m| m.matched_by);
                    let all: Vec<String> = limits
                        .iter()
                        .map(|&(_, r)| {
                            let e = &self.annexes().entries()[r];
                            format!(
                                "Annex {}/{}: {}",
                                e.annex.as_str(),
                                e.entry,
                                e.max_concentration
                            )
                        })
                        .collect();
                    flags.push(Flag {
                        code: codes::EU_ANNEX_MAX_EXCEEDED,
                        severity: if applies == Some(false) {
                            Severity::Info
                        } else {
                            Severity::High
                        },
                        message: format!(
                            "{prefix}\"{}\" (#{}) is printed at {p} %, above {max} %, the highest \
                             maximum concentration its EU annex entries allow in any product type \
                             ({}).{suffix}",
                            i.name,
                            i.position,
                            all.join("; ")
                        ),
                        positions: vec![i.position],
                        reference: REF_ANNEXES,
                        annex: Some(annex_flag(e, Some((&i.name, by)), applies)),
                    });
                }
            }
        }
        flags
    }
}

/// " (it has ...)" listing liposome components, conditioned media and cell extracts.
fn look_alikes(ings: &[Ingredient]) -> String {
    let mut parts = Vec::new();
    for (class, what) in [
        (Class::LiposomeComponent, "liposome components"),
        (Class::ConditionedMedia, "conditioned media"),
        (Class::CellExtractOrLysate, "cell extracts or lysates"),
        (Class::FermentLysate, "ferment lysates"),
    ] {
        let pos = positions(ings, |i| i.class == class);
        if !pos.is_empty() {
            parts.push(format!("{what}: {}", names_at(ings, &pos)));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            " (look-alikes present, which are not EVs: {})",
            parts.join("; ")
        )
    }
}

/// What the product checks need besides the ingredients.
pub(crate) struct ProductContext {
    /// The phrase that sells it as exosomes, if any.
    marketed: Option<String>,
    /// Claims and name.
    claims: Text,
    /// True when the region is in the table.
    region_found: bool,
    /// The region code as given.
    region_given: Option<String>,
}

fn marketed_as_exosome(p: &Product) -> Option<String> {
    let t = Text::new(std::iter::once(p.name.as_str()).chain(p.claims.iter().map(String::as_str)));
    if let Some(w) = t.find(EXOSOME_WORDS) {
        return Some(w.to_string());
    }
    t.has_prefix("exo", &["exot", "exoth", "exop", "exoti"])
}

fn first_claim_with<'a>(texts: &'a [&'a str], phrases: &[&str]) -> Option<(&'a str, String)> {
    texts
        .iter()
        .find_map(|c| Text::new([*c]).find(phrases).map(|p| (*c, p.to_string())))
}

/// Every text that holds one of the phrases, quoted with the phrase found.
fn all_claims_with(texts: &[&str], phrases: &[&str]) -> Vec<String> {
    texts
        .iter()
        .filter_map(|c| {
            Text::new([*c])
                .find(phrases)
                .map(|p| format!("{} (\"{p}\")", quote(c)))
        })
        .collect()
}

fn quote(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        format!("\"{short}...\"")
    } else {
        format!("\"{short}\"")
    }
}

impl Decoder {
    /// Check a product: decode its ingredients and raise every red flag.
    /// `today` is used for the expiry check (none: no expiry-in-the-past check).
    pub fn check_product(&self, p: &Product, today: Option<Date>) -> Report {
        let ings = self.ingredients(&p.ingredients);
        let region = p.region.as_deref().and_then(|r| self.regions().find(r));
        let marketed = marketed_as_exosome(p);
        let claim_texts: Vec<&str> = std::iter::once(p.name.as_str())
            .chain(p.claims.iter().map(String::as_str))
            .collect();
        let ctx = ProductContext {
            marketed: marketed.clone(),
            claims: Text::new(claim_texts.iter().copied()),
            region_found: region.is_some(),
            region_given: p.region.clone(),
        };
        let mut check = ProductCheck {
            p,
            ings: &ings,
            marketed: marketed.as_deref(),
            vesicles: ings.iter().filter(|i| i.class == Class::Vesicle).collect(),
            claim_texts,
            flags: Vec::new(),
        };
        check.ingredient_list();
        check.sold_as_exosome();
        check.plant_sold_as_human();
        check.injection_and_needles();
        check.drug_and_approval_claims();
        check.batch_and_expiry(today);
        check.quality_documentation();
        check.region_rule(region);
        check.contradictions();
        let mut flags = check.flags;
        self.region_rule_annex_fields(&mut flags, region);
        flags.extend(list_flags(&ings, Some(&ctx), self.human_origin_entry()));
        flags.extend(self.annex_flags(&ings, region));
        let summary = ProductSummary {
            name: p.name.clone(),
            brand: p.brand.clone(),
            region: p.region.clone(),
            region_name: region.map(|r| r.name.clone()),
            marketed_as_exosome: marketed.is_some(),
        };
        let evidence = self.evidence_for(&ings);
        Report::new(Some(summary), ings, flags, evidence)
    }

    /// The human-origin rule of a region whose rule is an EU annex entry: its annex fields,
    /// set on the region's not-allowed flags.
    fn region_rule_annex_fields(&self, flags: &mut [Flag], region: Option<&Region>) {
        if let Some((_, e)) = region
            .and_then(|r| r.annex_entry.as_deref())
            .and_then(|reference| self.annexes().find(reference))
        {
            let applies = region.map(Region::eu_annexes_apply);
            for f in flags
                .iter_mut()
                .filter(|f| f.code == codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION)
            {
                f.annex = Some(annex_flag(e, None, applies));
            }
        }
    }
}

/// A product under check: what its rules read, and the flags they have raised so far.
struct ProductCheck<'a> {
    /// The product file.
    p: &'a Product,
    /// Its decoded ingredients.
    ings: &'a [Ingredient],
    /// The phrase that sells it as exosomes, if any.
    marketed: Option<&'a str>,
    /// The ingredients that are vesicles.
    vesicles: Vec<&'a Ingredient>,
    /// The name, then each claim.
    claim_texts: Vec<&'a str>,
    /// Flags raised so far, in rule order.
    flags: Vec<Flag>,
}

/// Whether a batch number or expiry date is missing or a placeholder ("n/a", "TBD", ...).
fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| {
        let k = key(s);
        k.is_empty()
            || matches!(
                k.as_str(),
                "n a" | "na" | "none" | "unknown" | "tbd" | "see packaging"
            )
    })
}

impl ProductCheck<'_> {
    /// Raise a flag that rests on no EU annex entry.
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        message: String,
        positions: Vec<usize>,
        reference: &'static str,
    ) {
        self.flags.push(Flag {
            code,
            severity,
            message,
            positions,
            reference,
            annex: None,
        })
    }

    /// Whether a vesicle ingredient comes from `s`.
    fn has_vesicle_from(&self, s: Source) -> bool {
        self.vesicles.iter().any(|i| i.source == Some(s))
    }

    /// Whether a vesicle ingredient is of human origin.
    fn human_vesicle(&self) -> bool {
        self.vesicles
            .iter()
            .any(|i| i.source.is_some_and(Source::is_human))
    }

    /// Whether there are vesicle ingredients and all of them come from `s`.
    fn only_vesicles_from(&self, s: Source) -> bool {
        !self.vesicles.is_empty() && self.vesicles.iter().all(|i| i.source == Some(s))
    }

    /// The ingredient list itself: missing, or not readable as a list.
    fn ingredient_list(&mut self) {
        if self.p.ingredients.trim().is_empty() {
            self.push(
                codes::NO_INGREDIENT_LIST,
                Severity::High,
                "The product has no ingredient list. Cosmetics must list their ingredients \
                 (EU Regulation 1223/2009 Art. 19; US 21 CFR 701.3)."
                    .to_string(),
                Vec::new(),
                "Regulation (EC) 1223/2009 Art. 19(1)(g); 21 CFR 701.3",
            );
        } else if let Err(e) = crate::check_readable(&self.p.ingredients, self.ings) {
            self.push(
                codes::INGREDIENT_LIST_UNREADABLE,
                Severity::Medium,
                format!("The ingredient text could not be read as a list: {e}."),
                Vec::new(),
                "INCI labelling conventions",
            );
        }
    }

    /// Sold as exosomes: without any vesicle ingredient (liposomes only), or with made
    /// vesicles only.
    fn sold_as_exosome(&mut self) {
        let ings = self.ings;
        let Some(word) = self.marketed else { return };
        if self.vesicles.is_empty() {
            self.push(
                codes::NO_VESICLE_INGREDIENT,
                Severity::High,
                format!(
                    "Sold as an exosome/EV product (\"{word}\"), but no vesicle ingredient is in \
                     the list{}.",
                    look_alikes(ings)
                ),
                Vec::new(),
                REF_SEED000,
            );
            let lipo = positions(ings, |i| i.class == Class::LiposomeComponent);
            if !lipo.is_empty() {
                self.push(
                    codes::LIPOSOME_AS_EXOSOME,
                    Severity::High,
                    format!(
                        "Sold as exosomes, but the only vesicle-like ingredients are liposome \
                         components ({}): \"nano liposome\" alone is a generic lipid carrier, \
                         not an exosome.",
                        names_at(ings, &lipo)
                    ),
                    lipo,
                    "seed000 (\"If you spot 'nano liposome' alone, keep scrolling\"); MISEV2023",
                );
            }
        } else if self.only_vesicles_from(Source::SyntheticMimetic) {
            self.push(
                codes::MIMETIC_AS_EXOSOME,
                Severity::Low,
                "Sold as exosomes, but the vesicles are synthetic (EV mimetics): MISEV2023 does \
                 not count made vesicles as EVs. A fine choice for avoiding biological \
                 sources, but not an exosome."
                    .to_string(),
                positions(ings, |i| i.class == Class::Vesicle),
                REF_MISEV,
            );
        }
    }

    /// Plant vesicles sold as human-like.
    fn plant_sold_as_human(&mut self) {
        let ings = self.ings;
        if !self.has_vesicle_from(Source::Plant) || self.human_vesicle() {
            return;
        }
        let human_claim = self.claim_texts.iter().find_map(|c| {
            let t = Text::new([*c]);
            if t.has(HUMAN_FREE_WORDS) {
                return None;
            }
            let stem = t.has(&["stem cell"]) && !t.has(PLANT_CONTEXT);
            let equiv = t.has(EQUIVALENCE_WORDS)
                && t.has(&["exosome", "stem", "human", "clinic", "professional"]);
            (t.has(HUMAN_CLAIM_WORDS) || stem || equiv).then_some(*c)
        });
        if let Some(c) = human_claim {
            self.push(
                codes::PLANT_CLAIMED_AS_HUMAN_EQUIVALENT,
                Severity::High,
                format!(
                    "The vesicles are plant-derived ({}), but the claim {} presents them as \
                     human or stem-cell equivalent. Plant EVs are not equivalent to human \
                     stem-cell EVs: they lack the collagen-boosting miRNAs.",
                    names_at(ings, &positions(ings, |i| i.source == Some(Source::Plant))),
                    quote(c)
                ),
                positions(ings, |i| i.source == Some(Source::Plant)),
                "seed000 (FAQ); seed002 (\"not equivalent to human stem cell-derived exosomes\")",
            );
        }
    }

    /// Injection and needles, in the claims or the directions.
    fn injection_and_needles(&mut self) {
        let mut use_texts = self.claim_texts.clone();
        if let Some(d) = &self.p.directions {
            use_texts.push(d);
        }
        if let Some((c, w)) = first_claim_with(&use_texts, INJECTION_WORDS) {
            self.push(
                codes::INJECTION_OR_NEEDLE_USE,
                Severity::High,
                format!(
                    "{} suggests injection (\"{w}\"). Exosome products are for topical use only; \
                     there are no FDA-approved indications for injectable exosomes. \"If someone \
                     offers to inject exosomes into your skin or scalp, run.\"",
                    quote(c)
                ),
                Vec::new(),
                "seed001 (Dr. Gohara); seed002 (FDA warning letters); FDA Public Safety Notification on Exosome Products (2019)",
            );
        } else if let Some((c, w)) = first_claim_with(&use_texts, NEEDLE_WORDS) {
            self.push(
                codes::INJECTION_OR_NEEDLE_USE,
                Severity::Medium,
                format!(
                    "{} mentions needles (\"{w}\"). The best evidence for exosomes is after \
                     microneedling, but only with a sterile, single-use product applied by a \
                     professional; a retail bottle is not made or tested for use through needle \
                     channels.",
                    quote(c)
                ),
                Vec::new(),
                "seed001 (sterile, single-use vials); seed002 (post-procedure evidence)",
            );
        }
    }

    /// Drug claims (every claim that reads as one), and FDA approval claimed for an
    /// exosome product.
    fn drug_and_approval_claims(&mut self) {
        let strong = all_claims_with(&self.claim_texts, DRUG_STRONG);
        let soft = all_claims_with(&self.claim_texts, DRUG_SOFT);
        if !strong.is_empty() {
            self.push(
                codes::DRUG_CLAIM,
                Severity::High,
                format!(
                    "Drug claims: {}. A cosmetic may not claim to treat, cure or heal a disease \
                     or regrow hair; in the US such products are unapproved drugs.",
                    strong.join("; ")
                ),
                Vec::new(),
                "seed002 (FDA warning letters for exosome products marketed as drugs); seed000 (\"anything hinting at systemic effect crosses into drug territory\")",
            );
        } else if !soft.is_empty() {
            self.push(
                codes::DRUG_CLAIM,
                Severity::Medium,
                format!(
                    "Medical-sounding claims: {}. Healing and anti-inflammatory claims move a \
                     cosmetic towards drug territory.",
                    soft.join("; ")
                ),
                Vec::new(),
                "seed000 (\"anything hinting at systemic effect crosses into drug territory\"); seed002",
            );
        }
        if self.marketed.is_some() || !self.vesicles.is_empty() {
            if let Some((c, w)) = first_claim_with(&self.claim_texts, APPROVAL_WORDS) {
                self.push(
                    codes::APPROVAL_CLAIM,
                    Severity::High,
                    format!(
                        "{} claims FDA approval (\"{w}\"): the FDA has approved no exosome \
                         product, and cosmetics are not FDA-approved.",
                        quote(c)
                    ),
                    Vec::new(),
                    "FDA Public Safety Notification on Exosome Products (2019); seed001",
                );
            }
        }
    }

    /// Batch number and expiry date: missing, not a date, or past `today`.
    fn batch_and_expiry(&mut self, today: Option<Date>) {
        let p = self.p;
        if blank(&p.batch_number) {
            self.push(
                codes::NO_BATCH_NUMBER,
                Severity::High,
                "No batch (lot) number: a recall or a purity question cannot be traced. Avoid \
                 products lacking a batch number."
                    .to_string(),
                Vec::new(),
                REF_SEED000,
            );
        }
        if blank(&p.expiry_date) {
            self.push(
                codes::NO_EXPIRY_DATE,
                Severity::High,
                "No expiry date: vesicles degrade with time and storage. Avoid products lacking an \
                 expiry date."
                    .to_string(),
                Vec::new(),
                REF_SEED000,
            );
        } else if let Some(text) = &p.expiry_date {
            match parse_expiry(text) {
                None => self.push(
                    codes::NO_EXPIRY_DATE,
                    Severity::High,
                    format!(
                        "The expiry date \"{text}\" is not a date (expected e.g. 2027-09 or \
                         2027-09-30): treat it as missing."
                    ),
                    Vec::new(),
                    REF_SEED000,
                ),
                Some(d) if today.is_some_and(|t| t > d) => self.push(
                    codes::EXPIRED,
                    Severity::High,
                    format!(
                        "Expired on {d} (today is {}). Do not use.",
                        today.map(|t| t.to_string()).unwrap_or_default()
                    ),
                    Vec::new(),
                    REF_SEED000,
                ),
                Some(_) => {}
            }
        }
    }

    /// A biological or exosome product without a GMP certificate or purity report.
    fn quality_documentation(&mut self) {
        let bio = self.ings.iter().any(is_bio);
        if (bio || self.marketed.is_some())
            && !self
                .p
                .certifications
                .iter()
                .any(|c| Text::new([c.as_str()]).has(QUALITY_WORDS))
        {
            self.push(
                codes::NO_QUALITY_DOCUMENTATION,
                Severity::Medium,
                "No GMP certificate or third-party purity report is given. Ask for GMP \
                 certification or a third-party purity report (sterility, endotoxin, particle \
                 characterisation) before use, above all on treated skin."
                    .to_string(),
                Vec::new(),
                REF_SEED000,
            );
        }
    }

    /// The region's rule on human-derived ingredients.
    fn region_rule(&mut self, region: Option<&Region>) {
        let ings = self.ings;
        let human = positions(ings, |i| i.human_derived);
        let (Some(r), false) = (region, human.is_empty()) else {
            return;
        };
        let certainty = match r.certainty {
            crate::regions::Certainty::Established => "",
            crate::regions::Certainty::Likely => " (likely; check the current text)",
            crate::regions::Certainty::Uncertain => {
                " (uncertain: this entry of the region table is not verified)"
            }
        };
        let names = names_at(ings, &human);
        let (code, severity, lead) = match r.status {
            RegionStatus::Prohibited => (
                codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION,
                if r.certainty == crate::regions::Certainty::Uncertain {
                    Severity::Medium
                } else {
                    Severity::High
                },
                "is of human origin, which is not allowed in cosmetics in",
            ),
            RegionStatus::Restricted => (
                codes::HUMAN_DERIVED_RESTRICTED_IN_REGION,
                Severity::Medium,
                "is of human origin, allowed only under conditions in",
            ),
            RegionStatus::Unclear => (
                codes::HUMAN_DERIVED_STATUS_UNCLEAR,
                Severity::Low,
                "is of human origin; the position is unclear in",
            ),
        };
        self.push(
            code,
            severity,
            format!(
                "{names} {lead} {}{certainty}: {} Source: {}.",
                r.name, r.rule, r.source
            ),
            human,
            "data/labels/regions.toml (see its sources)",
        );
    }

    /// Claims that the ingredient list contradicts, raised together as one flag.
    fn contradictions(&mut self) {
        let contradictions = self.contradicted_claims();
        if !contradictions.is_empty() {
            self.push(
                codes::CONTRADICTORY_CLAIMS,
                Severity::High,
                format!(
                    "Claims contradict the ingredient list: {}.",
                    contradictions.join("; ")
                ),
                Vec::new(),
                "seed000 (plant or synthetic as the vegan choice); seed003",
            );
        }
    }

    /// Each claim the ingredient list contradicts, with what contradicts it: vegan or
    /// human-free with human or animal ingredients, plant exosomes or human exosomes that
    /// the vesicles are not, and free-from claims with what they are to be free from.
    fn contradicted_claims(&self) -> Vec<String> {
        let ings = self.ings;
        let claim_texts = &self.claim_texts;
        let human_vesicle = self.human_vesicle();
        let mut contradictions = Vec::new();
        let animal = positions(ings, |i| {
            i.any_origin() == Some(Source::Animal) || i.has_tag("animal")
        });
        let human_all = positions(ings, |i| i.human_derived);
        if let Some((c, _)) = first_claim_with(claim_texts, VEGAN_WORDS) {
            if !human_all.is_empty() || !animal.is_empty() {
                let mut pos = human_all.clone();
                pos.extend(&animal);
                contradictions.push(format!(
                    "{} but the list has human- or animal-derived {}",
                    quote(c),
                    names_at(ings, &pos)
                ));
            }
        }
        if let Some((c, _)) = first_claim_with(claim_texts, HUMAN_FREE_WORDS) {
            if !human_all.is_empty() {
                contradictions.push(format!(
                    "{} but the list has human-derived {}",
                    quote(c),
                    names_at(ings, &human_all)
                ));
            }
        }
        if let Some((c, _)) = first_claim_with(claim_texts, PLANT_EXOSOME_CLAIMS) {
            if human_vesicle {
                contradictions.push(format!(
                    "{} but the vesicles are human-derived ({})",
                    quote(c),
                    names_at(
                        ings,
                        &positions(ings, |i| i.class == Class::Vesicle && i.human_derived)
                    )
                ));
            }
        }
        if !self.vesicles.is_empty() && !human_vesicle && !self.has_vesicle_from(Source::Plant) {
            let human_claim = claim_texts.iter().find(|c| {
                let t = Text::new([**c]);
                !t.has(HUMAN_FREE_WORDS) && t.has(&["human", "human stem cell"])
            });
            if let Some(c) = human_claim {
                contradictions.push(format!(
                    "{} but no vesicle in the list is human-derived",
                    quote(c)
                ));
            }
        }
        for (claim_words, tag, what) in [
            (
                &["fragrance free", "unscented", "parfum free", "no fragrance"][..],
                "fragrance",
                "fragrance",
            ),
            (
                &["preservative free", "no preservative", "free preservative"][..],
                "preservative",
                "preservatives",
            ),
            (&["paraben free", "no paraben"][..], "paraben", "parabens"),
        ] {
            if let Some((c, _)) = first_claim_with(claim_texts, claim_words) {
                let pos = positions(ings, |i| i.has_tag(tag));
                if !pos.is_empty() {
                    contradictions.push(format!(
                        "{} but the list has {what}: {}",
                        quote(c),
                        names_at(ings, &pos)
                    ));
                }
            }
        }
        contradictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(2028, 2, 29).unwrap().to_string(), "2028-02-29");
        assert_eq!(date(2027, 2, 29), None);
        assert_eq!(date(2027, 13, 1), None);
        assert_eq!(parse_expiry("2027-09"), date(2027, 9, 30));
        assert_eq!(parse_expiry("EXP 02/2028"), date(2028, 2, 29));
        assert_eq!(parse_expiry("2027-09-15"), date(2027, 9, 15));
        assert_eq!(parse_expiry("Sep 2027"), date(2027, 9, 30));
        assert_eq!(parse_expiry("05/06/2027"), date(2027, 5, 6));
        assert_eq!(parse_expiry("soon"), None);
        assert_eq!(parse_expiry("2027-13"), None);
    }

    #[test]
    fn phrases_are_in_lookup_key_form() {
        let lists: [&[&str]; 16] = [
            EXOSOME_WORDS,
            DRUG_STRONG,
            DRUG_SOFT,
            INJECTION_WORDS,
            NEEDLE_WORDS,
            QUALITY_WORDS,
            VEGAN_WORDS,
            HUMAN_FREE_WORDS,
            PLANT_EXOSOME_CLAIMS,
            HUMAN_CLAIM_WORDS,
            EQUIVALENCE_WORDS,
            PLANT_CONTEXT,
            PREGNANCY_WORDS,
            APPROVAL_WORDS,
            &["fragrance free", "unscented", "parfum free", "no fragrance"],
            &[
                "preservative free",
                "no preservative",
                "paraben free",
                "no paraben",
            ],
        ];
        let bad: Vec<(&str, String)> = lists
            .iter()
            .flat_map(|l| l.iter())
            .filter(|p| key(p) != **p)
            .map(|p| (*p, key(p)))
            .collect();
        assert!(bad.is_empty(), "phrases that can never match: {bad:?}");
    }
}
