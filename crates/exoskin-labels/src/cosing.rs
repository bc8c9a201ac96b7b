//! The EU CosIng annexes (`data/labels/cosing_annexes.csv`): Annexes II-VI of Regulation (EC)
//! No 1223/2009 on cosmetic products as the European Commission exports them (CC BY 4.0,
//! Commission Decision 2011/833/EU), one entry per row of the Commission's files, written by
//! `scripts/update_cosing.py`.
//!
//! Matching is exact after normalisation ([`crate::normalize::key`]: case, accents, spacing,
//! hyphens and punctuation, plurals): a printed name matches an entry when the name itself,
//! the name without its parentheticals, one of its slash alternatives or one of its
//! parentheticals has the key of one of the entry's INCI / identified-ingredient names or of
//! its chemical name / INN (without parenthesised qualifiers such as "(INN)" and without
//! "and its salts"-style tails), or when the printed name carries a CAS number (check digit
//! valid) of the entry. There is no similarity matching against the annexes.

use crate::error::LabelError;
use crate::normalize::key;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The bundled annex file.
pub const COSING_CSV: &str = include_str!("../../../data/labels/cosing_annexes.csv");

pub(crate) const FILE: &str = "data/labels/cosing_annexes.csv";

/// One annex of Regulation (EC) No 1223/2009.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Annex {
    /// Substances prohibited in cosmetic products.
    #[serde(rename = "II")]
    II,
    /// Substances allowed only under the restrictions laid down.
    #[serde(rename = "III")]
    III,
    /// Colourants allowed.
    #[serde(rename = "IV")]
    IV,
    /// Preservatives allowed.
    #[serde(rename = "V")]
    V,
    /// UV filters allowed.
    #[serde(rename = "VI")]
    VI,
}

impl Annex {
    /// All annexes, in order.
    pub const ALL: [Annex; 5] = [Annex::II, Annex::III, Annex::IV, Annex::V, Annex::VI];

    /// The Roman numeral.
    pub fn as_str(self) -> &'static str {
        match self {
            Annex::II => "II",
            Annex::III => "III",
            Annex::IV => "IV",
            Annex::V => "V",
            Annex::VI => "VI",
        }
    }

    /// The annex with this numeral.
    pub fn parse(s: &str) -> Option<Annex> {
        Annex::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }

    /// What being on this annex means, as "X is ... in EU cosmetics".
    pub fn meaning(self) -> &'static str {
        match self {
            Annex::II => "prohibited in EU cosmetics",
            Annex::III => "restricted in EU cosmetics (allowed only under the annex's conditions)",
            Annex::IV => "a colourant allowed in EU cosmetics",
            Annex::V => "a preservative allowed in EU cosmetics",
            Annex::VI => "a UV filter allowed in EU cosmetics",
        }
    }
}

/// One row of the annexes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnexEntry {
    /// Which annex.
    pub annex: Annex,
    /// The reference number within the annex ("375", "1a"); not unique in the Commission's
    /// files (a few numbers carry two rows).
    pub entry: String,
    /// Chemical name / INN.
    pub chemical_name: String,
    /// INCI (glossary) and identified-ingredient names.
    pub inci: Vec<String>,
    /// CAS numbers.
    pub cas: Vec<String>,
    /// EC numbers.
    pub ec: Vec<String>,
    /// Product type, body parts.
    pub product_type: String,
    /// Maximum concentration in the ready-for-use preparation.
    pub max_concentration: String,
    /// Other restrictions.
    pub other: String,
    /// Wording of conditions of use and warnings.
    pub warnings: String,
    /// The row's update date (YYYY-MM-DD).
    pub updated: String,
}

impl AnnexEntry {
    /// "II/375".
    pub fn reference(&self) -> String {
        format!("{}/{}", self.annex.as_str(), self.entry)
    }

    /// The highest percentage written in the maximum-concentration field (decimal commas
    /// read as points), if it has one: the most the annex allows in any product type.
    pub fn max_percent(&self) -> Option<f64> {
        let s = &self.max_concentration;
        let b = s.as_bytes();
        let mut best: Option<f64> = None;
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_digit()
                        || ((b[i] == b'.' || b[i] == b',')
                            && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
                {
                    i += 1;
                }
                let num = s[start..i].replace(',', ".");
                let rest = s[i..].trim_start();
                if rest.starts_with('%') {
                    if let Ok(v) = num.parse::<f64>() {
                        best = Some(best.map_or(v, |b: f64| b.max(v)));
                    }
                }
            } else {
                i += 1;
            }
        }
        best
    }

    /// The conditions of use, empty fields left out.
    pub fn conditions(&self) -> Conditions {
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        Conditions {
            product_type: opt(&self.product_type),
            max_concentration: opt(&self.max_concentration),
            other: opt(&self.other),
            warnings: opt(&self.warnings),
        }
    }
}

/// The conditions of an annex entry, as the Commission words them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conditions {
    /// Product type, body parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    /// Maximum concentration in the ready-for-use preparation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concentration: Option<String>,
    /// Other restrictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    /// Wording of conditions of use and warnings to print.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<String>,
}

impl Conditions {
    /// True when the entry states no condition.
    pub fn is_empty(&self) -> bool {
        self.product_type.is_none()
            && self.max_concentration.is_none()
            && self.other.is_none()
            && self.warnings.is_none()
    }
}

/// How a printed name was found on the annexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// One of the entry's INCI or identified-ingredient names.
    Inci,
    /// The entry's chemical name / INN.
    ChemicalName,
    /// A CAS number printed with the name.
    Cas,
}

/// One annex entry a printed name matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnexMatch {
    /// Which annex.
    pub annex: Annex,
    /// The reference number.
    pub entry: String,
    /// How it matched.
    pub matched_by: MatchedBy,
    /// Row of the entry in the bundled file (0-based, data rows only).
    #[serde(skip)]
    pub row: usize,
}

/// The provenance block of the bundled file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Provenance {
    /// The Commission's file creation date(s), as written there (DD/MM/YYYY).
    pub file_creation_date: String,
    /// The Commission's last-update date(s) (DD/MM/YYYY).
    pub last_update: String,
    /// Rows per annex, as the update script counted them.
    pub rows: Vec<(Annex, usize)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    annex: String,
    entry: String,
    chemical_name: String,
    inci: String,
    cas: String,
    ec: String,
    product_type: String,
    max_concentration: String,
    other: String,
    warnings: String,
    updated: String,
}

/// The loaded annexes with their name and CAS indexes.
#[derive(Debug, Clone)]
pub struct Annexes {
    entries: Vec<AnnexEntry>,
    by_key: HashMap<String, Vec<(usize, MatchedBy)>>,
    by_cas: HashMap<String, Vec<usize>>,
    provenance: Provenance,
}

/// Tails of chemical names that widen a substance to its salts or esters, or limit its use;
/// the name before them is the substance's own name.
const CHEMICAL_TAILS: &[&str] = &[
    " and its ",
    " and their ",
    ", its ",
    ", their ",
    " its salts",
    ", when ",
    " when used",
    ", with the exception",
    " with the exception",
];

/// Parenthesised words in chemical names that qualify the name and are not a name.
const QUALIFIERS: &[&str] = &["inn", "usan ban", "see note", "powder"];

/// Remove the text inside () and [] from a name; return the rest and the insides.
fn split_brackets(s: &str) -> (String, Vec<String>) {
    let mut outside = String::with_capacity(s.len());
    let mut insides = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '[' => {
                if depth > 0 {
                    cur.push(c);
                }
                depth += 1;
                outside.push(' ');
            }
            ')' | ']' if depth > 0 => {
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

fn cut_tail(s: &str) -> &str {
    // ASCII lower case keeps byte offsets, so the cut falls at the same place in `s`.
    let lower = s.to_ascii_lowercase();
    let cut = CHEMICAL_TAILS
        .iter()
        .filter_map(|t| lower.find(t))
        .min()
        .unwrap_or(s.len());
    &s[..cut]
}

/// The lookup keys a chemical name / INN stands for: each " / " or ";" alternative without
/// parenthesised qualifiers and without "and its salts"-style tails, and the names in its
/// parentheses that are names (not "INN", "nano" or notes).
fn chemical_keys(name: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for alt in name.split(" / ").flat_map(|a| a.split(';')) {
        let (outside, insides) = split_brackets(alt);
        let mut own = key(cut_tail(&outside));
        let mut names = Vec::new();
        for inside in insides {
            let k = key(cut_tail(&inside));
            if k == "nano" {
                // The nano form is its own entry: "Zinc oxide (nano)" is not "Zinc oxide".
                own.push_str(" nano");
            } else if !QUALIFIERS.iter().any(|q| k == *q || k.starts_with("see ")) {
                names.push(k);
            }
        }
        keys.push(own);
        keys.extend(names);
    }
    keys.retain(|k| k.len() >= 3 && !k.chars().all(|c| c.is_ascii_digit() || c == ' '));
    keys
}

/// True when a CAS registry number's check digit is right (CAS REGISTRY: the check digit is
/// the sum of each other digit times its position from the right, modulo 10).
pub fn cas_check_digit_ok(cas: &str) -> bool {
    let digits: Vec<u32> = cas.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some((&check, rest)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = rest
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| (i as u32 + 1) * d)
        .sum();
    sum % 10 == check
}

/// CAS numbers written in a text (NNNNNNN-NN-N with a valid check digit).
pub fn cas_numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            let mut groups = vec![0usize];
            while i < chars.len() {
                if chars[i].is_ascii_digit() {
                    if let Some(g) = groups.last_mut() {
                        *g += 1;
                    }
                } else if chars[i] == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    groups.push(0);
                } else {
                    break;
                }
                i += 1;
            }
            let end_ok = chars.get(i).is_none_or(|c| !c.is_ascii_alphanumeric());
            if end_ok
                && groups.len() == 3
                && (2..=7).contains(&groups[0])
                && groups[1] == 2
                && groups[2] == 1
            {
                let s: String = chars[start..i].iter().collect();
                if cas_check_digit_ok(&s) {
                    out.push(s);
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

fn split_list(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Why the provenance block (the `#` lines on top of the annex file) does not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProvenanceError {
    /// An `annex` line without the `N: R rows` form.
    #[error("provenance line \"{line}\": expected \"annex N: R rows; ...\"")]
    Malformed { line: String },
    /// An `annex` line naming an annex other than II to VI.
    #[error("provenance line \"{line}\": unknown annex \"{numeral}\"")]
    UnknownAnnex { line: String, numeral: String },
    /// An `annex` line without a row count.
    #[error("provenance line \"{line}\": no row count")]
    NoRowCount { line: String },
    /// A date line or an annex line is missing.
    #[error(
        "the provenance block (the # lines on top) needs \"file creation date:\", \
         \"last update:\" and one \"annex N: R rows\" line per annex II-VI; rebuild \
         the file with scripts/update_cosing.py"
    )]
    Incomplete,
}

fn parse_provenance(text: &str) -> Result<Provenance, ProvenanceError> {
    let mut p = Provenance::default();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let l = line.trim_start_matches('#').trim();
        if let Some(v) = l.strip_prefix("file creation date:") {
            p.file_creation_date = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("last update:") {
            p.last_update = v.trim().to_string();
        } else if let Some(rest) = l.strip_prefix("annex ") {
            let (numeral, rest) =
                rest.split_once(':')
                    .ok_or_else(|| ProvenanceError::Malformed {
                        line: l.to_string(),
                    })?;
            let annex = Annex::parse(numeral).ok_or_else(|| ProvenanceError::UnknownAnnex {
                line: l.to_string(),
                numeral: numeral.to_string(),
            })?;
            let n = rest
                .trim()
                .split_once(" rows")
                .and_then(|(n, _)| n.trim().parse::<usize>().ok())
                .ok_or_else(|| ProvenanceError::NoRowCount {
                    line: l.to_string(),
                })?;
            p.rows.push((annex, n));
        }
    }
    if p.last_update.is_empty() || p.file_creation_date.is_empty() || p.rows.len() != 5 {
        return Err(ProvenanceError::Incomplete);
    }
    Ok(p)
}

impl Annexes {
    /// Read and check an annex file: the columns, each row's annex, and the row count of each
    /// annex against the provenance block.
    pub fn from_csv_str(text: &str) -> Result<Annexes, LabelError> {
        let err = |message: String| LabelError::Data {
            file: FILE,
            message,
        };
        let provenance = parse_provenance(text)?;
        let mut rdr = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut entries = Vec::new();
        for (n, rec) in rdr.deserialize::<Row>().enumerate() {
            let line = |e: &csv::Error| {
                e.position()
                    .map_or(String::new(), |p| format!("line {}: ", p.line()))
            };
            let r = rec.map_err(|e| err(format!("{}{e}", line(&e))))?;
            let annex = Annex::parse(&r.annex).ok_or_else(|| {
                err(format!(
                    "data row {}: annex \"{}\" is not one of II, III, IV, V, VI",
                    n + 1,
                    r.annex
                ))
            })?;
            if r.entry.trim().is_empty() {
                return Err(err(format!("data row {}: empty entry number", n + 1)));
            }
            entries.push(AnnexEntry {
                annex,
                entry: r.entry,
                chemical_name: r.chemical_name,
                inci: split_list(&r.inci),
                cas: split_list(&r.cas),
                ec: split_list(&r.ec),
                product_type: r.product_type,
                max_concentration: r.max_concentration,
                other: r.other,
                warnings: r.warnings,
                updated: r.updated,
            });
        }
        for &(annex, n) in &provenance.rows {
            let got = entries.iter().filter(|e| e.annex == annex).count();
            if got != n {
                return Err(err(format!(
                    "annex {}: {got} rows, the provenance block says {n}; rebuild the file with \
                     scripts/update_cosing.py",
                    annex.as_str()
                )));
            }
        }
        let mut by_key: HashMap<String, Vec<(usize, MatchedBy)>> = HashMap::new();
        let mut by_cas: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.inci.is_empty()
                && e.cas.is_empty()
                && e.chemical_name.starts_with("Moved or deleted")
            {
                continue;
            }
            let inci = e.inci.iter().map(|n| (key(n), MatchedBy::Inci));
            let chem = chemical_keys(&e.chemical_name)
                .into_iter()
                .map(|k| (k, MatchedBy::ChemicalName));
            for (k, by) in inci.chain(chem) {
                if k.is_empty() {
                    continue;
                }
                let v = by_key.entry(k).or_default();
                if !v.iter().any(|(j, _)| *j == i) {
                    v.push((i, by));
                }
            }
            for c in &e.cas {
                let v = by_cas.entry(c.clone()).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
        Ok(Annexes {
            entries,
            by_key,
            by_cas,
            provenance,
        })
    }

    /// The bundled annexes, read once.
    pub fn embedded() -> Result<&'static Annexes, LabelError> {
        static CELL: OnceLock<Result<Annexes, LabelError>> = OnceLock::new();
        CELL.get_or_init(|| Annexes::from_csv_str(COSING_CSV))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// All entries, in the Commission's order.
    pub fn entries(&self) -> &[AnnexEntry] {
        &self.entries
    }

    /// The provenance block.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The first entry with this reference ("II/416"), if any.
    pub fn find(&self, reference: &str) -> Option<(usize, &AnnexEntry)> {
        let (a, n) = reference.split_once('/')?;
        let annex = Annex::parse(a)?;
        self.entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.annex == annex && e.entry == n.trim())
    }

    /// Entries whose names have exactly this lookup key.
    fn by_key(&self, k: &str) -> &[(usize, MatchedBy)] {
        self.by_key.get(k).map_or(&[], Vec::as_slice)
    }

    /// The entries a printed name matches (see the module notes), each once, in annex order
    /// then file order.
    pub fn match_name(&self, name: &str) -> Vec<AnnexMatch> {
        let mut found: Vec<(usize, MatchedBy)> = Vec::new();
        let mut add = |i: usize, by: MatchedBy| {
            if !found.iter().any(|(j, _)| *j == i) {
                found.push((i, by));
            }
        };
        let (outside, insides) = split_brackets(name);
        let mut candidates = vec![name.to_string(), outside.clone()];
        if outside.contains('/') {
            candidates.extend(outside.split('/').map(str::to_string));
        }
        candidates.extend(insides);
        for c in &candidates {
            let k = key(c);
            if k.is_empty() {
                continue;
            }
            for &(i, by) in self.by_key(&k) {
                add(i, by);
            }
        }
        for cas in cas_numbers(name) {
            for &i in self.by_cas.get(&cas).map_or(&[][..], Vec::as_slice) {
                add(i, MatchedBy::Cas);
            }
        }
        found.sort_by_key(|&(i, _)| (self.entries[i].annex, i));
        found
            .into_iter()
            .map(|(i, by)| AnnexMatch {
                annex: self.entries[i].annex,
                entry: self.entries[i].entry.clone(),
                matched_by: by,
                row: i,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chemical_names_drop_qualifiers_and_tails() {
        assert_eq!(
            chemical_keys("Tretinoin (INN) (retinoic acid and its salts)"),
            ["tretinoin", "retinoic acid"]
        );
        assert_eq!(
            chemical_keys("2-Hydroxy-4-methoxybenzophenone / Oxybenzone"),
            ["2 hydroxy 4 methoxybenzophenone", "oxybenzone"]
        );
        assert_eq!(chemical_keys("Spironolactone (INN)"), ["spironolactone"]);
        assert_eq!(chemical_keys("Zinc oxide (nano)"), ["zinc oxide nano"]);
        // A comma that is part of the name is kept: not "benzoic acid".
        assert_eq!(
            chemical_keys("Benzoic acid, 2-hydroxy-"),
            ["benzoic acid 2 hydroxy"]
        );
    }

    #[test]
    fn cas_numbers_need_a_valid_check_digit() {
        assert_eq!(cas_numbers("Tretinoin (CAS 302-79-4)"), ["302-79-4"]);
        assert!(cas_numbers("302-79-5").is_empty());
        assert!(cas_numbers("Lot 2026-01-1").is_empty());
        assert_eq!(
            cas_numbers("122-99-6, 7732-18-5"),
            ["122-99-6", "7732-18-5"]
        );
    }

    #[test]
    fn max_percent_reads_the_highest_percentage() {
        let mut e = AnnexEntry {
            annex: Annex::III,
            entry: "98".into(),
            chemical_name: String::new(),
            inci: Vec::new(),
            cas: Vec::new(),
            ec: Vec::new(),
            product_type: String::new(),
            max_concentration: "(a) 3.0% (b) 2.0% (c) 0,5 %".into(),
            other: String::new(),
            warnings: String::new(),
            updated: String::new(),
        };
        assert_eq!(e.max_percent(), Some(3.0));
        e.max_concentration = "5 ppm".into();
        assert_eq!(e.max_percent(), None);
        e.max_concentration = "7,34 %".into();
        assert_eq!(e.max_percent(), Some(7.34));
    }

    #[test]
    fn a_broken_provenance_block_is_a_typed_data_error() {
        let bad = COSING_CSV.replacen("# annex VI:", "# annex VII:", 1);
        assert_ne!(bad, COSING_CSV);
        let e = Annexes::from_csv_str(&bad).unwrap_err();
        assert!(
            matches!(&e, LabelError::Provenance(ProvenanceError::UnknownAnnex { numeral, .. }) if numeral == "VII"),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("bundled data file data/labels/cosing_annexes.csv is invalid: provenance line \"annex VII:"),
            "{e}"
        );
        let bare: String = COSING_CSV
            .lines()
            .filter(|l| !l.starts_with("# last update:"))
            .collect::<Vec<_>>()
            .join("\n");
        let e = Annexes::from_csv_str(&bare).unwrap_err();
        assert_eq!(e, LabelError::Provenance(ProvenanceError::Incomplete));
    }
}
