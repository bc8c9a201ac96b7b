//! `exoskin label` with the EU CosIng annexes, end to end: JSON fields, text report, `--region`
//! and its errors.

mod common;

use common::{exe, json_of};
use std::path::PathBuf;

fn list_file(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "exoskin-label-cosing-{}-{name}.txt",
        std::process::id()
    ));
    std::fs::write(&p, text).unwrap();
    p
}

fn annex_flags(v: &serde_json::Value, pos: u64) -> Vec<&serde_json::Value> {
    v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["annex"].is_string() && f["positions"] == serde_json::json!([pos]))
        .collect()
}

#[test]
fn tretinoin_is_flagged_annex_ii_375_in_json_and_text() {
    let f = list_file(
        "tretinoin",
        "Ingredients: Aqua, Glycerin, Tretinoin, Phenoxyethanol",
    );
    let v = json_of(&["label", "--json", f.to_str().unwrap()]);
    let ing = &v["ingredients"][2];
    assert_eq!(ing["name"], "Tretinoin");
    assert_ne!(ing["lexicon_name"], "Retinol");
    let t = annex_flags(&v, 3);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["code"], "eu_annex_ii_prohibited");
    assert_eq!(t[0]["severity"], "high");
    assert_eq!(t[0]["annex"], "II");
    assert_eq!(t[0]["entry"], "375");
    assert!(t[0]["message"]
        .as_str()
        .unwrap()
        .contains("prohibited in EU cosmetics: Annex II/375"));
    let p = annex_flags(&v, 4);
    assert_eq!(p[0]["annex"], "V");
    assert_eq!(p[0]["entry"], "29");
    assert_eq!(p[0]["conditions"]["max_concentration"], "1.0%");
    // Aqua and Glycerin: no annex flag, known to the lexicon.
    for pos in [1, 2] {
        assert!(annex_flags(&v, pos).is_empty());
        assert_eq!(v["ingredients"][pos as usize - 1]["match"], "lexicon");
    }
    assert_eq!(v["summary"]["on_eu_annexes"], 2);

    let out = exe().args(["label", f.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[EU Annex II/375]"), "{text}");
    assert!(
        text.contains("[high] eu_annex_ii_prohibited: \"Tretinoin\" (#3) is prohibited in EU cosmetics: Annex II/375"),
        "{text}"
    );
    let _ = std::fs::remove_file(f);
}

#[test]
fn region_outside_the_eu_turns_annex_flags_into_eu_information() {
    let f = list_file("region", "Aqua, Tretinoin");
    let us = json_of(&["label", "--json", "--region", "US", f.to_str().unwrap()]);
    let t = annex_flags(&us, 2);
    assert_eq!(t[0]["severity"], "info");
    assert_eq!(t[0]["applies_in_region"], false);
    assert!(t[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("EU rule, for information (not a rule of United States"));
    let de = json_of(&["label", "--json", "--region", "DE", f.to_str().unwrap()]);
    assert_eq!(annex_flags(&de, 2)[0]["severity"], "high");
    assert_eq!(annex_flags(&de, 2)[0]["applies_in_region"], true);

    let out = exe()
        .args(["label", "--region", "Atlantis", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("region \"Atlantis\" is not in the region table"),
        "{err}"
    );
    let _ = std::fs::remove_file(f);
}
