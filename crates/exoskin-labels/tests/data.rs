//! The bundled data files: every entry has a source, the tables are complete, and broken data
//! is rejected with a message.

use exoskin_labels::{Class, Decoder, Lexicon, Source, EVIDENCE_TOML, LEXICON_TOML, REGIONS_TOML};

#[test]
fn every_lexicon_entry_has_a_known_reference() {
    let lex = Lexicon::from_toml_str(LEXICON_TOML).unwrap();
    assert!(lex.entries().len() >= 80, "{} entries", lex.entries().len());
    let refs = ["seed00", "MISEV2023", "INCI", "EU1223", "KCIA"];
    for e in lex.entries() {
        assert!(
            refs.iter().any(|r| e.source.contains(r)),
            "entry {:?} cites none of {refs:?}: {:?}",
            e.name,
            e.source
        );
        if e.class == Class::Vesicle {
            assert!(e.origin.is_some(), "vesicle {:?} without origin", e.name);
        }
        if e.human_derived {
            assert!(
                e.source.contains("EU1223"),
                "human-derived {:?} should cite EU1223",
                e.name
            );
        }
    }
}

#[test]
fn every_vesicle_source_appears_in_lexicon_and_evidence() {
    let d = Decoder::embedded().unwrap();
    for s in [
        Source::HumanMsc,
        Source::HumanOther,
        Source::Platelet,
        Source::Plant,
        Source::Bacterial,
        Source::Animal,
        Source::SyntheticMimetic,
    ] {
        assert!(
            d.lexicon()
                .entries()
                .iter()
                .any(|e| e.class == Class::Vesicle && e.origin == Some(s)),
            "no vesicle entry with source {s:?}"
        );
        let note = d.evidence().iter().find(|n| n.key == s.as_str());
        let note = note.unwrap_or_else(|| panic!("no evidence note for {s:?}"));
        assert!(!note.supports.is_empty() && !note.does_not_support.is_empty());
    }
    assert!(d.evidence().iter().any(|n| n.key == "unknown"));
    assert!(d.evidence().iter().any(|n| n.key == "conditioned_media"));
}

#[test]
fn evidence_for_msc_says_post_procedure_and_not_retinoid_equivalent() {
    let d = Decoder::embedded().unwrap();
    let msc = d.evidence().iter().find(|n| n.key == "human_msc").unwrap();
    assert!(msc.supports.contains("microneedling"));
    assert!(msc.does_not_support.contains("tretinoin") || msc.does_not_support.contains("retinol"));
}

#[test]
fn region_table_has_the_eu_annex_entry() {
    let d = Decoder::embedded().unwrap();
    let eu = d.regions().find("eu").unwrap();
    assert!(eu.source.contains("Annex II") && eu.source.contains("416"));
    assert_eq!(d.regions().find(" FR ").unwrap().name, eu.name);
    assert!(d.regions().find("XX").is_none());
    for r in d.regions().all() {
        assert!(!r.source.is_empty() && !r.rule.is_empty());
    }
}

#[test]
fn broken_data_is_rejected() {
    let no_source = LEXICON_TOML.replacen(
        "source = \"INCI (Aqua); KCIA (Korean name)\"",
        "source = \"\"",
        1,
    );
    assert_ne!(no_source, LEXICON_TOML);
    let e = Lexicon::from_toml_str(&no_source).unwrap_err();
    assert!(e.to_string().contains("empty source"), "{e}");
    let dup = LEXICON_TOML.replacen(
        "aliases = [\"glycerine\"",
        "aliases = [\"water\", \"glycerine\"",
        1,
    );
    assert_ne!(dup, LEXICON_TOML);
    let e = Lexicon::from_toml_str(&dup).unwrap_err();
    assert!(e.to_string().contains("already a name"), "{e}");
    assert!(Decoder::new(LEXICON_TOML, "region = 3", EVIDENCE_TOML).is_err());
    assert!(Decoder::new(LEXICON_TOML, REGIONS_TOML, EVIDENCE_TOML).is_ok());
}
