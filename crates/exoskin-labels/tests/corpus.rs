//! The label corpus (tests/corpus/labels.toml): every list decodes to the expected classes.

use exoskin_labels::{Decoder, LabelError, Match};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    #[allow(dead_code)]
    note: String,
    text: String,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
    #[serde(default)]
    flags: Vec<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

fn corpus() -> Corpus {
    toml::from_str(include_str!("corpus/labels.toml")).expect("corpus parses")
}

#[test]
fn corpus_has_at_least_40_labels() {
    let c = corpus();
    let labels = c.case.iter().filter(|c| c.error.is_none()).count();
    assert!(labels >= 40, "only {labels} label cases");
    let mut ids: Vec<&str> = c.case.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), c.case.len(), "duplicate case ids");
}

#[test]
fn corpus_decodes_as_expected() {
    let d = Decoder::embedded().unwrap();
    let mut failures = Vec::new();
    for case in corpus().case {
        let result = d.decode_label(&case.text);
        if let Some(kind) = &case.error {
            let ok = matches!(
                (kind.as_str(), &result),
                ("empty", Err(LabelError::Empty { .. }))
                    | ("not_a_label", Err(LabelError::NotALabel { .. }))
            );
            if !ok {
                failures.push(format!(
                    "{}: expected error {kind}, got {:?}",
                    case.id,
                    result.map(|r| r.ingredients.len())
                ));
            }
            continue;
        }
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: unexpected error {e}", case.id));
                continue;
            }
        };
        let got: Vec<String> = report
            .ingredients
            .iter()
            .map(|i| {
                let mut s = i.class.as_str().to_string();
                if let Some(src) = i.any_origin() {
                    s.push('/');
                    s.push_str(src.as_str());
                }
                if i.matched == Match::Guess {
                    s.push('?');
                }
                s
            })
            .collect();
        // A lexicon hit where a guess is not demanded, or a guess where one is: compare exactly.
        if got != case.classes {
            let names: Vec<&str> = report.ingredients.iter().map(|i| i.name.as_str()).collect();
            failures.push(format!(
                "{}:\n    expected {:?}\n    got      {:?}\n    names    {:?}",
                case.id, case.classes, got, names
            ));
        }
        for (pos, name) in &case.names {
            let pos: usize = pos.parse().unwrap();
            let actual = report.ingredients.get(pos - 1).map(|i| i.name.as_str());
            if actual != Some(name.as_str()) {
                failures.push(format!(
                    "{}: name #{pos} expected {name:?}, got {actual:?}",
                    case.id
                ));
            }
        }
        for code in &case.flags {
            if !report.has_flag(code) {
                let codes: Vec<&str> = report.flags.iter().map(|f| f.code).collect();
                failures.push(format!("{}: flag {code} missing (got {codes:?})", case.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
