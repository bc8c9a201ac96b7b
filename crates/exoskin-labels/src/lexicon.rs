//! The lexicon (`data/labels/lexicon.toml`): known ingredient names and their classes, and the
//! keyword rules that give a best guess for names the lexicon does not know.

use crate::error::LabelError;
use crate::normalize::key;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What kind of material an ingredient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Extracellular vesicles ("exosomes") or vesicle look-alikes made to be EV mimetics.
    Vesicle,
    /// Cell-culture supernatant without a vesicle claim.
    ConditionedMedia,
    /// Extract or lysate of cells (human, animal or plant cell cultures).
    CellExtractOrLysate,
    /// Microbial ferment, filtrate or lysate.
    FermentLysate,
    /// Liposome or liposome building block (phospholipids, cholesterol).
    LiposomeComponent,
    /// Anything else.
    Other,
}

impl Class {
    /// The name used in the data file and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Vesicle => "vesicle",
            Class::ConditionedMedia => "conditioned_media",
            Class::CellExtractOrLysate => "cell_extract_or_lysate",
            Class::FermentLysate => "ferment_lysate",
            Class::LiposomeComponent => "liposome_component",
            Class::Other => "other",
        }
    }
}

/// Where a vesicle (or other biological ingredient) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Human mesenchymal stem/stromal cells (adipose, umbilical cord, bone marrow).
    HumanMsc,
    /// Other human cells (fibroblasts, keratinocytes, placenta).
    HumanOther,
    /// Human platelets (platelet-rich plasma).
    Platelet,
    /// Plants (fruit, root, callus cultures).
    Plant,
    /// Bacteria (and, in this decoder, other microbes such as yeast).
    Bacterial,
    /// Animals (milk, colostrum, other species).
    Animal,
    /// Made, not secreted: synthetic vesicles and EV mimetics (MISEV2023).
    SyntheticMimetic,
    /// A vesicle whose origin the name does not tell (only for best guesses).
    Unknown,
}

impl Source {
    /// The name used in the data file and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::HumanMsc => "human_msc",
            Source::HumanOther => "human_other",
            Source::Platelet => "platelet",
            Source::Plant => "plant",
            Source::Bacterial => "bacterial",
            Source::Animal => "animal",
            Source::SyntheticMimetic => "synthetic_mimetic",
            Source::Unknown => "unknown",
        }
    }

    /// True for human material (human cells and human platelets).
    pub fn is_human(self) -> bool {
        matches!(
            self,
            Source::HumanMsc | Source::HumanOther | Source::Platelet
        )
    }
}

/// How a classification was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// The name (or one of its parts) is in the lexicon.
    Lexicon,
    /// Not in the lexicon; keywords in the name give a best guess.
    Guess,
    /// Not in the lexicon and nothing in the name points to a biological ingredient.
    Unknown,
    /// Named on the EU CosIng annexes, and not in the lexicon (or the lexicon entry the name
    /// hit is not on the same annex entries, so it names another substance).
    Annex,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryToml {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    class: Class,
    origin: Option<Source>,
    human_derived: Option<bool>,
    #[serde(default)]
    tags: Vec<String>,
    note: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassNotes {
    vesicle: String,
    conditioned_media: String,
    cell_extract_or_lysate: String,
    ferment_lysate: String,
    liposome_component: String,
    other: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconToml {
    class_notes: ClassNotes,
    entry: Vec<EntryToml>,
}

/// Tags an entry may carry.
pub const TAGS: &[&str] = &[
    "preservative",
    "paraben",
    "fragrance",
    "fragrance_allergen",
    "colorant",
    "growth_factor",
    "animal",
    // Actives the routine planner schedules (exoskin-routine).
    "retinoid",
    "aha",
    "bha",
    "pha",
    "vitamin_c",
    "benzoyl_peroxide",
    "niacinamide",
    "peptide",
    "silicone",
    "uv_filter",
    "occlusive",
];

/// One lexicon entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name as usually printed.
    pub name: String,
    /// Its class.
    pub class: Class,
    /// Where it comes from, when that is known.
    pub origin: Option<Source>,
    /// True for material of human origin.
    pub human_derived: bool,
    /// Tags from [`TAGS`].
    pub tags: Vec<String>,
    /// Its own note, if any.
    pub note: Option<String>,
    /// The reference the classification rests on.
    pub source: String,
    /// Its name and aliases as written in the lexicon.
    pub names: Vec<String>,
}

/// The result of classifying one name.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The class.
    pub class: Class,
    /// Where it comes from, when known or guessed.
    pub origin: Option<Source>,
    /// True for material of human origin.
    pub human_derived: bool,
    /// Lexicon hit, best guess, or unknown.
    pub matched: Match,
    /// Index of the lexicon entry, for lexicon hits.
    pub entry: Option<usize>,
    /// Plain-language note.
    pub note: String,
}

/// The loaded lexicon with its lookup index.
#[derive(Debug, Clone)]
pub struct Lexicon {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    class_notes: [String; 6],
}

const FILE: &str = "data/labels/lexicon.toml";

fn class_index(c: Class) -> usize {
    match c {
        Class::Vesicle => 0,
        Class::ConditionedMedia => 1,
        Class::CellExtractOrLysate => 2,
        Class::FermentLysate => 3,
        Class::LiposomeComponent => 4,
        Class::Other => 5,
    }
}

impl Lexicon {
    /// Read and check a lexicon: every entry has a source, vesicles have an origin, tags are
    /// known, and no name or alias means two different things.
    pub fn from_toml_str(text: &str) -> Result<Lexicon, LabelError> {
        let err = |message: String| LabelError::Data {
            file: FILE,
            message,
        };
        let raw: LexiconToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let n = raw.class_notes;
        let class_notes = [
            n.vesicle,
            n.conditioned_media,
            n.cell_extract_or_lysate,
            n.ferment_lysate,
            n.liposome_component,
            n.other,
        ];
        let mut entries = Vec::with_capacity(raw.entry.len());
        let mut index = HashMap::new();
        for e in raw.entry {
            if e.source.trim().is_empty() {
                return Err(err(format!("entry \"{}\" has an empty source", e.name)));
            }
            if e.class == Class::Vesicle && e.origin.is_none() {
                return Err(err(format!("vesicle entry \"{}\" has no origin", e.name)));
            }
            if e.origin == Some(Source::Unknown) {
                return Err(err(format!(
                    "entry \"{}\": origin \"unknown\" is for guesses only",
                    e.name
                )));
            }
            if let Some(t) = e.tags.iter().find(|t| !TAGS.contains(&t.as_str())) {
                return Err(err(format!(
                    "entry \"{}\" has unknown tag \"{t}\" (known: {})",
                    e.name,
                    TAGS.join(", ")
                )));
            }
            let i = entries.len();
            for name in std::iter::once(&e.name).chain(e.aliases.iter()) {
                let k = key(name);
                if k.is_empty() {
                    return Err(err(format!("entry \"{}\" has an empty alias", e.name)));
                }
                if let Some(&j) = index.get(&k) {
                    if j != i {
                        let other: &Entry = &entries[j];
                        return Err(err(format!(
                            "\"{name}\" (entry \"{}\") is already a name of entry \"{}\"",
                            e.name, other.name
                        )));
                    }
                }
                index.insert(k, i);
            }
            let human_derived = e
                .human_derived
                .unwrap_or_else(|| e.origin.is_some_and(Source::is_human));
            let names = std::iter::once(e.name.clone()).chain(e.aliases).collect();
            entries.push(Entry {
                name: e.name,
                class: e.class,
                origin: e.origin,
                human_derived,
                tags: e.tags,
                note: e.note,
                source: e.source,
                names,
            });
        }
        Ok(Lexicon {
            entries,
            index,
            class_notes,
        })
    }

    /// All entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// An entry's name and aliases, as written in the lexicon.
    pub fn names_of<'a>(&self, e: &'a Entry) -> impl Iterator<Item = &'a str> {
        e.names.iter().map(String::as_str)
    }

    /// The general note of a class.
    pub fn class_note(&self, c: Class) -> &str {
        &self.class_notes[class_index(c)]
    }

    /// Look one name up exactly (after normalisation).
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.index.get(&key(name)).copied()
    }

    fn entry_classification(&self, i: usize) -> Classification {
        let e = &self.entries[i];
        Classification {
            class: e.class,
            origin: e.origin,
            human_derived: e.human_derived,
            matched: Match::Lexicon,
            entry: Some(i),
            note: e
                .note
                .clone()
                .unwrap_or_else(|| self.class_note(e.class).to_string()),
        }
    }

    /// Classify a printed name: the whole name, then the name without its parenthetical,
    /// then each slash alternative, then each parenthetical; failing those, a best guess from
    /// keywords (reported as [`Match::Guess`]), else [`Class::Other`] with [`Match::Unknown`].
    pub fn classify(&self, name: &str) -> Classification {
        self.classify_keyed(name, &key(name))
    }

    /// [`Lexicon::classify`] with the name's lookup key already computed.
    pub fn classify_keyed(&self, name: &str, full: &str) -> Classification {
        if let Some(&i) = self.index.get(full) {
            return self.entry_classification(i);
        }
        let (outside, insides) = split_parentheticals(name);
        let candidates = std::iter::once(outside.clone())
            .chain(if outside.contains('/') {
                outside.split('/').map(str::to_string).collect::<Vec<_>>()
            } else {
                Vec::new()
            })
            .chain(insides);
        for c in candidates {
            if let Some(&i) = self.index.get(&key(&c)) {
                return self.entry_classification(i);
            }
        }
        match guess(full) {
            Some(g) => {
                let human_derived = g.origin.is_some_and(Source::is_human);
                let origin_text = match g.origin {
                    Some(Source::Unknown) | None => String::new(),
                    Some(o) => format!(", source {}", o.as_str()),
                };
                let mut note = format!(
                    "Not in the lexicon. The name looks like {} (\"{}\"); best guess: {}{}.",
                    g.looks_like,
                    g.keyword,
                    g.class.as_str(),
                    origin_text
                );
                if g.class == Class::Vesicle {
                    note.push_str(
                        " Ask the maker for the INCI name, the cell source, and how the vesicles \
                         were purified and characterised (MISEV2023 minimal information).",
                    );
                    if g.origin == Some(Source::Unknown) {
                        note.push_str(" The name does not say where the vesicles come from.");
                    }
                }
                Classification {
                    class: g.class,
                    origin: g.origin,
                    human_derived,
                    matched: Match::Guess,
                    entry: None,
                    note,
                }
            }
            None => Classification {
                class: Class::Other,
                origin: None,
                human_derived: false,
                matched: Match::Unknown,
                entry: None,
                note: "Not in the lexicon; nothing in the name points to vesicles, cells, \
                       ferments or liposomes."
                    .to_string(),
            },
        }
    }
}

/// The text outside parentheses, and each top-level parenthetical's content.
fn split_parentheticals(name: &str) -> (String, Vec<String>) {
    let mut outside = String::with_capacity(name.len());
    let mut insides = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => {
                if depth > 0 {
                    cur.push(c);
                }
                depth += 1;
                outside.push(' ');
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    insides.push(std::mem::take(&mut cur));
                } else {
                    cur.push(c);
                }
            }
            _ if depth > 0 => cur.push(c),
            _ => outside.push(c),
        }
    }
    (outside, insides)
}

struct Guess {
    class: Class,
    origin: Option<Source>,
    looks_like: &'static str,
    keyword: String,
}

const LIPOSOME_WORDS: &[&str] = &[
    "liposome",
    "nanoliposome",
    "liposomal",
    "proliposome",
    "niosome",
    "ethosome",
    "transfersome",
    "phytosome",
    "nanosome",
    "cerasome",
];
const VESICLE_WORDS: &[&str] = &[
    "exosome",
    "exosomal",
    "vesicle",
    "nanovesicle",
    "microvesicle",
    "ectosome",
    "ev",
    "eln",
    "pden",
    "exosomelike",
    "엑소좀",
    "외泌体",
    "外泌体",
    "エクソソーム",
];
const MICROBE_WORDS: &[&str] = &[
    "lactobacillus",
    "bifida",
    "bifidobacterium",
    "lactococcus",
    "streptococcus",
    "bacillus",
    "saccharomyces",
    "galactomyces",
    "aspergillus",
    "leuconostoc",
    "pediococcus",
    "propionibacterium",
    "cutibacterium",
    "yeast",
    "probiotic",
    "bacteria",
    "bacterial",
    "bacterium",
    "microbial",
    "microbiome",
    "postbiotic",
    "fungal",
];
const SYNTHETIC_WORDS: &[&str] = &["synthetic", "mimetic", "biomimetic", "artificial"];
const ANIMAL_WORDS: &[&str] = &[
    "bovine",
    "porcine",
    "equine",
    "ovine",
    "caprine",
    "milk",
    "colostrum",
    "salmon",
    "fish",
    "snail",
    "horse",
    "pig",
    "cow",
    "sheep",
    "goat",
    "donkey",
    "camel",
    "deer",
    "chicken",
    "egg",
    "animal",
    "murine",
    "mouse",
    "caviar",
];
const PLATELET_WORDS: &[&str] = &["platelet", "prp", "thrombocyte", "plasma"];
const HUMAN_MSC_WORDS: &[&str] = &[
    "msc",
    "hmsc",
    "mesenchymal",
    "adsc",
    "adipose",
    "adipocyte",
    "umbilical",
    "cord",
    "wharton",
    "marrow",
    "hucmsc",
    "ucmsc",
    "ascs",
    "asc",
];
const HUMAN_OTHER_WORDS: &[&str] = &[
    "human",
    "placenta",
    "placental",
    "amniotic",
    "fibroblast",
    "keratinocyte",
    "foreskin",
    "ipsc",
    "endothelial",
    "dermal",
    "papilla",
];
const PLANT_WORDS: &[&str] = &[
    "plant",
    "botanical",
    "phyto",
    "callus",
    "vegan",
    "leaf",
    "fruit",
    "root",
    "flower",
    "seed",
    "sprout",
    "bark",
    "peel",
    "berry",
    "vitis",
    "grape",
    "ginger",
    "zingiber",
    "grapefruit",
    "citrus",
    "lemon",
    "orange",
    "centella",
    "cica",
    "rose",
    "rosa",
    "ginseng",
    "panax",
    "aloe",
    "tea",
    "camellia",
    "tomato",
    "apple",
    "malus",
    "broccoli",
    "wheat",
    "edelweiss",
    "leontopodium",
    "carrot",
    "daucus",
    "lotus",
    "nelumbo",
    "orchid",
    "strawberry",
    "fragaria",
    "blueberry",
    "vaccinium",
    "kale",
    "brassica",
    "rice",
    "oryza",
    "soybean",
    "olive",
    "olea",
    "solanum",
    "cucumber",
    "cucumis",
    "lavender",
    "lavandula",
    "licorice",
    "glycyrrhiza",
    "bamboo",
    "cactus",
    "opuntia",
    "moringa",
    "yuzu",
    "houttuynia",
    "mugwort",
    "artemisia",
    "calendula",
    "chamomile",
    "chamomilla",
    "hibiscus",
    "magnolia",
    "peony",
    "paeonia",
    "lily",
    "lilium",
    "hemp",
    "cannabis",
    "coffee",
    "coffea",
    "cocoa",
    "theobroma",
    "mango",
    "pomegranate",
    "punica",
    "papaya",
    "pineapple",
    "kiwi",
    "watermelon",
    "melon",
    "algae",
    "seaweed",
    "spirulina",
];
const CONDITIONED_PHRASES: &[&str] = &[
    "conditioned media",
    "culture media",
    "culture fluid",
    "culture solution",
    "cultured media",
    "conditioned",
    "secretome",
    "supernatant",
    "culture filtrate",
];

fn find_word<'a>(tokens: &[&'a str], words: &[&str]) -> Option<&'a str> {
    tokens.iter().copied().find(|t| words.contains(t))
}

fn guess_origin(tokens: &[&str]) -> (Source, String) {
    if let Some(w) = find_word(tokens, SYNTHETIC_WORDS) {
        return (Source::SyntheticMimetic, w.to_string());
    }
    if let Some(w) = find_word(tokens, ANIMAL_WORDS) {
        return (Source::Animal, w.to_string());
    }
    if let Some(w) = find_word(tokens, MICROBE_WORDS) {
        return (Source::Bacterial, w.to_string());
    }
    if let Some(w) = find_word(tokens, PLATELET_WORDS) {
        return (Source::Platelet, w.to_string());
    }
    if let Some(w) = find_word(tokens, HUMAN_MSC_WORDS) {
        return (Source::HumanMsc, w.to_string());
    }
    let plant = find_word(tokens, PLANT_WORDS);
    if let Some(w) = find_word(tokens, HUMAN_OTHER_WORDS) {
        // "human stem cell" is MSC in practice; "human" alone is other human cells.
        if tokens.contains(&"stem") {
            return (Source::HumanMsc, "human stem".to_string());
        }
        if w != "dermal" || plant.is_none() {
            return (Source::HumanOther, w.to_string());
        }
    }
    if let Some(w) = plant {
        return (Source::Plant, w.to_string());
    }
    if tokens.contains(&"stem") {
        return (Source::HumanMsc, "stem cell".to_string());
    }
    (Source::Unknown, String::new())
}

/// A best guess for a name the lexicon does not know, from keywords in its lookup key.
fn guess(full: &str) -> Option<Guess> {
    let tokens: Vec<&str> = full.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return None;
    }
    let padded = format!(" {full} ");
    let phrase = |p: &str| padded.contains(&format!(" {p} "));
    if let Some(w) = find_word(&tokens, LIPOSOME_WORDS)
        .or_else(|| phrase("lipid nanoparticle").then_some("lipid nanoparticle"))
    {
        return Some(Guess {
            class: Class::LiposomeComponent,
            origin: None,
            looks_like: "a lipid carrier",
            keyword: w.to_string(),
        });
    }
    let vesicle_word = find_word(&tokens, VESICLE_WORDS)
        .map(str::to_string)
        .or_else(|| {
            tokens
                .iter()
                .find(|t| {
                    t.len() > 3
                        && t.starts_with("exo")
                        && !t.starts_with("exot")
                        && !t.starts_with("exoth")
                        && !t.starts_with("exop")
                })
                .map(|t| t.to_string())
        });
    if let Some(w) = vesicle_word {
        let (origin, _) = guess_origin(&tokens);
        return Some(Guess {
            class: Class::Vesicle,
            origin: Some(origin),
            looks_like: "a vesicle (EV, \"exosome\") ingredient",
            keyword: w,
        });
    }
    let microbe = find_word(&tokens, MICROBE_WORDS);
    if let Some(w) = find_word(&tokens, &["ferment", "fermented", "ferments"]).or_else(|| {
        microbe.filter(|_| {
            tokens
                .iter()
                .any(|t| matches!(*t, "lysate" | "filtrate" | "extract"))
        })
    }) {
        return Some(Guess {
            class: Class::FermentLysate,
            origin: Some(Source::Bacterial),
            looks_like: "a microbial ferment",
            keyword: w.to_string(),
        });
    }
    if let Some(p) = CONDITIONED_PHRASES.iter().find(|p| phrase(p)) {
        let (origin, _) = guess_origin(&tokens);
        return Some(Guess {
            class: Class::ConditionedMedia,
            origin: (origin != Source::Unknown).then_some(origin),
            looks_like: "cell-culture media",
            keyword: p.to_string(),
        });
    }
    let cellish = tokens
        .iter()
        .any(|t| matches!(*t, "cell" | "callus" | "stem" | "stemcell"));
    let extractish = tokens
        .iter()
        .any(|t| matches!(*t, "extract" | "culture" | "lysate" | "lysed"));
    if tokens.contains(&"lysate") || (cellish && extractish) {
        let (origin, _) = guess_origin(&tokens);
        return Some(Guess {
            class: Class::CellExtractOrLysate,
            origin: (origin != Source::Unknown).then_some(origin),
            looks_like: "a cell extract or lysate",
            keyword: if tokens.contains(&"lysate") {
                "lysate".to_string()
            } else {
                "cell ... extract".to_string()
            },
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_parentheticals_nested() {
        let (o, i) = split_parentheticals("A (B (C)) D (E)");
        assert_eq!(o.split_whitespace().collect::<Vec<_>>(), ["A", "D"]);
        assert_eq!(i, ["B (C)", "E"]);
    }

    #[test]
    fn keyword_lists_are_in_lookup_key_form() {
        let lists: [&[&str]; 10] = [
            LIPOSOME_WORDS,
            VESICLE_WORDS,
            MICROBE_WORDS,
            SYNTHETIC_WORDS,
            ANIMAL_WORDS,
            PLATELET_WORDS,
            HUMAN_MSC_WORDS,
            HUMAN_OTHER_WORDS,
            PLANT_WORDS,
            CONDITIONED_PHRASES,
        ];
        let bad: Vec<&str> = lists
            .iter()
            .flat_map(|l| l.iter().copied())
            .filter(|w| key(w) != *w)
            .collect();
        assert!(bad.is_empty(), "keywords that can never match: {bad:?}");
    }

    #[test]
    fn guesses() {
        let g = guess(&key("Hyper Regen Human Adipose Exosome Powder")).unwrap();
        assert_eq!(
            (g.class, g.origin),
            (Class::Vesicle, Some(Source::HumanMsc))
        );
        let g = guess(&key("Snow Lotus Exosome")).unwrap();
        assert_eq!((g.class, g.origin), (Class::Vesicle, Some(Source::Plant)));
        let g = guess(&key("ExoCell Complex")).unwrap();
        assert_eq!((g.class, g.origin), (Class::Vesicle, Some(Source::Unknown)));
        let g = guess(&key("Exosome Liposome Complex")).unwrap();
        assert_eq!(g.class, Class::LiposomeComponent);
        let g = guess(&key("Bacillus/Pumpkin Ferment Filtrate")).unwrap();
        assert_eq!(g.class, Class::FermentLysate);
        let g = guess(&key("Human Neural Stem Cell Culture Fluid")).unwrap();
        assert_eq!(
            (g.class, g.origin),
            (Class::ConditionedMedia, Some(Source::HumanMsc))
        );
        assert!(guess(&key("Sodium Stearoyl Glutamate")).is_none());
        assert!(guess(&key("Exotic Fruit Blend")).is_none());
    }
}
