//! The EU CosIng annexes (data/labels/cosing_annexes.csv): the bundled file against its
//! provenance block, exact matching, annex flags by region, and the lexicon's precedence rule.

use exoskin_labels::cosing::COSING_CSV;
use exoskin_labels::{
    codes, Annex, Annexes, Decoder, Flag, LabelError, Match, Report, Severity, EVIDENCE_TOML,
    LEXICON_TOML, REGIONS_TOML,
};
use std::collections::BTreeMap;

fn decode(text: &str) -> Report {
    Decoder::embedded().unwrap().decode_label(text).unwrap()
}

/// The annex flags (any of the five annex codes) on ingredient position `pos`.
fn annex_flags(r: &Report, pos: usize) -> Vec<&Flag> {
    r.flags
        .iter()
        .filter(|f| f.annex.is_some() && f.positions == [pos])
        .collect()
}

fn refs(flags: &[&Flag]) -> Vec<String> {
    flags
        .iter()
        .map(|f| {
            let a = f.annex.as_ref().unwrap();
            format!("{}/{}", a.annex.as_str(), a.entry)
        })
        .collect()
}

#[test]
fn row_counts_match_the_provenance_block() {
    // The provenance block as the update script wrote it, read here with its own parser.
    let mut declared: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = None;
    for line in COSING_CSV.lines().take_while(|l| l.starts_with('#')) {
        let l = line.trim_start_matches("# ");
        if let Some(rest) = l.strip_prefix("annex ") {
            let (numeral, rest) = rest.split_once(": ").unwrap();
            let n: usize = rest.split(' ').next().unwrap().parse().unwrap();
            declared.insert(numeral.to_string(), n);
        }
        if let Some(n) = l.strip_prefix("rows: ") {
            total = Some(n.trim().parse::<usize>().unwrap());
        }
    }
    assert_eq!(declared.len(), 5, "{declared:?}");
    // Rows of the file, counted with the CSV reader (multi-line fields are one row).
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(COSING_CSV.as_bytes());
    for rec in rdr.records() {
        *counted.entry(rec.unwrap()[0].to_string()).or_default() += 1;
    }
    assert_eq!(counted, declared);
    assert_eq!(total, Some(declared.values().sum()));
    // And the loaded annexes hold every row.
    let a = Annexes::embedded().unwrap();
    assert_eq!(Some(a.entries().len()), total);
    for annex in Annex::ALL {
        let n = a.entries().iter().filter(|e| e.annex == annex).count();
        assert_eq!(n, declared[annex.as_str()], "annex {}", annex.as_str());
    }
    assert_eq!(a.provenance().last_update, "28/08/2026");
    assert!(COSING_CSV.contains("CC BY 4.0") && COSING_CSV.contains("2011/833/EU"));
    assert!(COSING_CSV.contains("scripts/update_cosing.py"));
}

#[test]
fn a_file_whose_counts_disagree_is_rejected() {
    let bad = COSING_CSV.replacen("annex VI: 34 rows", "annex VI: 35 rows", 1);
    assert_ne!(bad, COSING_CSV);
    let e = Annexes::from_csv_str(&bad).unwrap_err();
    assert!(
        matches!(&e, LabelError::Data { message, .. } if message.contains("annex VI: 34 rows, the provenance block says 35")),
        "{e}"
    );
    let bad = COSING_CSV.replacen("\nVI,2,", "\nVII,2,", 1);
    let e = Annexes::from_csv_str(&bad).unwrap_err();
    assert!(e.to_string().contains("annex \"VII\""), "{e}");
}

#[test]
fn tretinoin_is_annex_ii_375_and_not_retinol() {
    let r = decode("Aqua, Tretinoin, Retinoic Acid, Glycerin");
    for pos in [2, 3] {
        let i = &r.ingredients[pos - 1];
        assert_ne!(i.lexicon_name.as_deref(), Some("Retinol"), "{i:?}");
        let f = annex_flags(&r, pos);
        assert_eq!(refs(&f), ["II/375"], "{}", i.name);
        assert_eq!(f[0].code, codes::EU_ANNEX_II_PROHIBITED);
        assert_eq!(f[0].severity, Severity::High);
        assert!(
            f[0].message
                .contains("is prohibited in EU cosmetics: Annex II/375 (Tretinoin (INN)"),
            "{}",
            f[0].message
        );
    }
    // The JSON carries the structured fields.
    let v = serde_json::to_value(&r).unwrap();
    let f = v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "eu_annex_ii_prohibited")
        .unwrap();
    assert_eq!(f["annex"], "II");
    assert_eq!(f["entry"], "375");
    assert_eq!(f["jurisdiction"], "EU");
    assert_eq!(
        f["substance"],
        "Tretinoin (INN) (retinoic acid and its salts)"
    );
    assert_eq!(v["ingredients"][1]["annexes"][0]["entry"], "375");
}

#[test]
fn an_annex_match_overrides_a_lexicon_alias_of_another_substance() {
    // The lexicon as it was: tretinoin an alias of Retinol. The annex match still wins.
    let old = LEXICON_TOML
        .replacen(
            "aliases = [\"retinyl palmitate\",",
            "aliases = [\"tretinoin\", \"retinyl palmitate\",",
            1,
        )
        .replacen(
            "name = \"Tretinoin\"\naliases = [\"retinoic acid\", \"all-trans retinoic acid\"]",
            "name = \"Tretinoin (drug)\"",
            1,
        );
    assert_ne!(old, LEXICON_TOML);
    let d = Decoder::new(&old, REGIONS_TOML, EVIDENCE_TOML).unwrap();
    assert_eq!(
        d.lexicon()
            .classify("Tretinoin")
            .entry
            .map(|i| d.lexicon().entries()[i].name.as_str()),
        Some("Retinol"),
        "the altered lexicon maps tretinoin to Retinol"
    );
    let r = d.decode_label("Aqua, Tretinoin").unwrap();
    let i = &r.ingredients[1];
    assert_eq!(i.lexicon_name, None);
    assert_eq!(i.matched, Match::Annex);
    assert!(i.note.contains("Annex II/375"), "{}", i.note);
    assert!(r.has_flag(codes::EU_ANNEX_II_PROHIBITED));
    // Retinol itself keeps its lexicon entry (and its Annex III entry).
    let r = d.decode_label("Aqua, Retinol").unwrap();
    assert_eq!(r.ingredients[1].lexicon_name.as_deref(), Some("Retinol"));
    assert!(r.has_flag(codes::EU_ANNEX_III_RESTRICTED));
}

#[test]
fn no_lexicon_alias_names_a_substance_on_other_annex_entries() {
    // Every name of a lexicon entry that is on the annexes shares an annex entry with the
    // entry's own name: an alias never stands for a different annex substance.
    let d = Decoder::embedded().unwrap();
    let a = d.annexes();
    let rows = |n: &str| -> Vec<usize> { a.match_name(n).iter().map(|m| m.row).collect() };
    let refs = |n: &str| -> Vec<String> {
        a.match_name(n)
            .iter()
            .map(|m| format!("{}/{}", m.annex.as_str(), m.entry))
            .collect()
    };
    let mut bad = Vec::new();
    for e in d.lexicon().entries() {
        let own = rows(&e.name);
        for alias in d.lexicon().names_of(e) {
            let r = rows(alias);
            if !r.is_empty() && !r.iter().any(|x| own.contains(x)) {
                bad.push(format!(
                    "{alias} {:?} (entry {} {:?})",
                    refs(alias),
                    e.name,
                    refs(&e.name)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "aliases on other annex entries: {bad:?}");
}

#[test]
fn salicylic_acid_is_restricted_with_its_maximum_and_a_preservative() {
    let r = decode("Aqua, Salicylic Acid 2%, Glycerin");
    // 2 % is above Annex V's 0.5 % for a preservative but within Annex III's 3 %: no alarm.
    assert!(!r.has_flag(codes::EU_ANNEX_MAX_EXCEEDED), "{:?}", r.flags);
    let f = annex_flags(&r, 2);
    assert_eq!(refs(&f), ["III/98", "V/3"]);
    let iii = f[0];
    assert_eq!(iii.code, codes::EU_ANNEX_III_RESTRICTED);
    let c = &iii.annex.as_ref().unwrap().conditions;
    assert_eq!(
        c.max_concentration.as_deref(),
        Some("(a) 3.0% (b) 2.0% (c) 0.5%")
    );
    assert!(c
        .product_type
        .as_deref()
        .unwrap()
        .contains("Rinse-off hair products"));
    assert!(
        iii.message.contains("(a) 3.0% (b) 2.0% (c) 0.5%"),
        "{}",
        iii.message
    );
    // Above the highest maximum for any product type: flagged.
    let r = decode("Aqua, Salicylic Acid 5%, Glycerin");
    let over: Vec<&Flag> = r
        .flags
        .iter()
        .filter(|f| f.code == codes::EU_ANNEX_MAX_EXCEEDED)
        .collect();
    assert_eq!(refs(&over), ["III/98"], "one flag, on the highest limit");
    assert_eq!(over[0].severity, Severity::High);
    assert!(over[0].message.contains("above 3 %"), "{}", over[0].message);
    assert!(
        over[0]
            .message
            .contains("Annex V/3: Salicylic acid: 0,5 % (acid)"),
        "{}",
        over[0].message
    );
}

#[test]
fn phenoxyethanol_is_an_annex_v_preservative_at_1_percent() {
    let r = decode("Aqua, Glycerin, Phenoxyethanol");
    let f = annex_flags(&r, 3);
    assert_eq!(refs(&f), ["V/29"]);
    assert_eq!(f[0].code, codes::EU_ANNEX_V_PRESERVATIVE);
    assert_eq!(f[0].severity, Severity::Info);
    let a = f[0].annex.as_ref().unwrap();
    assert_eq!(a.conditions.max_concentration.as_deref(), Some("1.0%"));
    assert_eq!(
        r.ingredients[2].lexicon_name.as_deref(),
        Some("Phenoxyethanol")
    );
    assert!(f[0]
        .message
        .contains("a preservative allowed in EU cosmetics: Annex V/29"));
}

#[test]
fn uv_filters_and_colourants() {
    let r = decode("Aqua, Octocrylene, Butyl Methoxydibenzoylmethane, CI 77491, Zinc Oxide");
    assert_eq!(refs(&annex_flags(&r, 2)), ["VI/10"]);
    assert_eq!(annex_flags(&r, 2)[0].code, codes::EU_ANNEX_VI_UV_FILTER);
    assert_eq!(
        annex_flags(&r, 2)[0]
            .annex
            .as_ref()
            .unwrap()
            .conditions
            .max_concentration
            .as_deref(),
        Some("a) 9% b) 10% Footnote (*3): Benzophenone as an impurity and/or degradation product of Octocrylene shall be kept at trace level.")
    );
    assert_eq!(refs(&annex_flags(&r, 3)), ["VI/8"]);
    let ci = annex_flags(&r, 4);
    assert_eq!(refs(&ci), ["IV/135"]);
    assert_eq!(ci[0].code, codes::EU_ANNEX_IV_COLOURANT);
    assert!(ci[0]
        .message
        .contains("a colourant allowed in EU cosmetics: Annex IV/135 (Iron Oxide red)"));
    // Zinc oxide: a colourant (CI 77947) and a UV filter; not the nano entry.
    assert_eq!(refs(&annex_flags(&r, 5)), ["IV/144", "VI/30"]);
    // A CAS number printed with a name matches by CAS.
    let r = decode("Aqua, Sunscreen agent (CAS 6197-30-4)");
    let f = annex_flags(&r, 2);
    assert_eq!(refs(&f), ["VI/10"]);
    assert_eq!(
        f[0].annex.as_ref().unwrap().matched_by,
        Some(exoskin_labels::MatchedBy::Cas)
    );
}

#[test]
fn plain_ingredients_get_no_annex_flag_and_are_known() {
    let r = decode("Aqua, Glycerin, Butylene Glycol, Sodium Hyaluronate, Niacinamide");
    assert!(r.flags.iter().all(|f| f.annex.is_none()), "{:?}", r.flags);
    for i in &r.ingredients {
        assert!(i.annexes.is_empty(), "{}", i.name);
        assert_eq!(i.matched, Match::Lexicon, "{}", i.name);
    }
    assert_eq!(r.summary.unknown, 0);
    assert_eq!(r.summary.on_eu_annexes, 0);
}

#[test]
fn a_substance_on_annex_ii_and_iii_is_reported_on_both() {
    // Hydroquinone: prohibited (II/1339) except in artificial nail systems (III/14).
    let r = decode("Aqua, Hydroquinone");
    let f = annex_flags(&r, 2);
    assert_eq!(refs(&f), ["II/1339", "III/14"]);
    assert_eq!(r.ingredients[1].matched, Match::Annex);
    assert_eq!(r.summary.unknown, 0);
}

#[test]
fn outside_the_eu_annex_flags_are_eu_information() {
    let d = Decoder::embedded().unwrap();
    let text = "Aqua, Tretinoin, Phenoxyethanol";
    let eu = d.decode_label_in(text, Some("fr")).unwrap();
    let f = annex_flags(&eu, 2);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].annex.as_ref().unwrap().applies_in_region, Some(true));
    let ni = d.decode_label_in(text, Some("NI")).unwrap();
    assert_eq!(annex_flags(&ni, 2)[0].severity, Severity::High);
    for code in ["US", "UK", "KR"] {
        let r = d.decode_label_in(text, Some(code)).unwrap();
        for f in r.flags.iter().filter(|f| f.annex.is_some()) {
            assert_eq!(f.severity, Severity::Info, "{code}: {}", f.message);
            assert!(
                f.message
                    .starts_with("EU rule, for information (not a rule of"),
                "{}",
                f.message
            );
            assert_eq!(f.annex.as_ref().unwrap().applies_in_region, Some(false));
        }
        assert_eq!(refs(&annex_flags(&r, 2)), ["II/375"]);
    }
    let uk = d.decode_label_in(text, Some("UK")).unwrap();
    assert!(annex_flags(&uk, 2)[0]
        .message
        .contains("does not cover them"));
    let e = d.decode_label_in(text, Some("XX")).unwrap_err();
    assert!(matches!(e, LabelError::UnknownRegion { .. }), "{e}");
    assert!(e.to_string().contains("EU"), "{e}");
}

#[test]
fn the_human_origin_rule_comes_from_annex_ii_416() {
    let d = Decoder::embedded().unwrap();
    let eu = d.regions().find("EU").unwrap();
    assert_eq!(eu.annex_entry.as_deref(), Some("II/416"));
    assert!(eu
        .rule
        .starts_with("Cells, tissues or products of human origin may not be used"));
    assert!(eu.source.contains("Annex II") && eu.source.contains("entry 416"));
    let ni = d.regions().find("NI").unwrap();
    assert_eq!(ni.rule, eu.rule);
    assert!(ni.source.contains("Windsor Framework"), "{}", ni.source);
    let (_, e) = d.human_origin_entry().unwrap();
    assert_eq!(e.reference(), "II/416");
    // A product sold in the EU with a human-derived vesicle: the region flag, with its annex.
    let p = exoskin_labels::Product::from_toml_str(
        "name = \"X\"\nregion = \"EU\"\ningredients = \"Aqua, Human Adipose Stem Cell Exosomes\"",
    )
    .unwrap();
    let r = d.check_product(&p, None);
    let f = r
        .flags
        .iter()
        .find(|f| f.code == codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION)
        .unwrap();
    assert_eq!(f.severity, Severity::High);
    let a = f.annex.as_ref().unwrap();
    assert_eq!((a.annex, a.entry.as_str()), (Annex::II, "416"));
    // A human-derived name that is on II/416 itself gets no second, duplicate flag.
    let r = d.decode_label("Aqua, Human Keratinocytes").unwrap();
    if r.ingredients[1].human_derived {
        assert!(!r.has_flag(codes::EU_ANNEX_II_PROHIBITED), "{:?}", r.flags);
        assert!(r.has_flag(codes::HUMAN_DERIVED_INGREDIENT));
    } else {
        assert!(r.has_flag(codes::EU_ANNEX_II_PROHIBITED));
    }
    // A region table whose annex entry is not on Annex II is rejected.
    let bad = REGIONS_TOML.replacen("annex_entry = \"II/416\"", "annex_entry = \"III/98\"", 1);
    let e = Decoder::new(LEXICON_TOML, &bad, EVIDENCE_TOML).unwrap_err();
    assert!(e.to_string().contains("not an Annex II entry"), "{e}");
}
