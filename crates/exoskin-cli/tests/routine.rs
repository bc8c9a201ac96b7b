//! `exoskin routine` and `exoskin facemap` end to end: output fields and exit codes.

mod common;

use common::{exe, json_of};
use std::path::PathBuf;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/routines")
        .join(name)
}

/// A fresh directory under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "exoskin-routine-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn routine_json_has_the_issue_fields() {
    let file = example("pregnant_sensitive.toml");
    let v = json_of(&["routine", "--json", file.to_str().unwrap()]);
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 14);
    assert_eq!(days[0]["date"], "2027-03-01");
    let step = &days[3]["am"][0];
    for k in ["product", "action", "wait_s", "reason", "source"] {
        assert!(!step[k].is_null(), "step lacks {k}: {step}");
    }
    assert!(days[3]["pm"].is_array());
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "pregnancy_retinoid"));
    let runs = v["prediction"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        runs[0]["outcomes"]["collagen_pct"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn bad_routine_exits_2_with_the_place() {
    let f = scratch("bad").join("r.toml");
    std::fs::write(
        &f,
        "[person]\nage_years = 300\nskin_type = \"normal\"\n[plan]\nstart = \"2027-01-04\"\nweeks = 2\n",
    )
    .unwrap();
    let out = exe().arg("routine").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("r.toml:2:13: person.age_years") && err.contains("12 to 110"),
        "{err}"
    );
}

#[test]
fn facemap_writes_svg_and_png_with_every_zone() {
    let stem = scratch("map").join("map");
    let file = example("adsc_ev_serum.toml");
    let v = json_of(&[
        "facemap",
        "--json",
        "--out",
        stem.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["zones"].as_array().unwrap().len(), 7);
    let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
    for z in [
        "forehead",
        "nose",
        "cheek",
        "chin",
        "perioral",
        "periorbital",
        "neck",
    ] {
        assert!(svg.contains(z), "{z} missing from the map");
    }
    let png = std::fs::read(stem.with_extension("png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}
