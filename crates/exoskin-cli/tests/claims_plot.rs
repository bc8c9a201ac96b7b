//! `exoskin claims --plot`: the claims against the model's intervals as forest plots, one
//! panel per unit; a file name that is not .png or .svg exits 2 before anything runs.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use std::path::PathBuf;

/// The bundled scenarios the claims name.
fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/claims")
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn claims_plot_writes_a_png_of_forest_panels() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("claims.png");
    let out = exe()
        .args(["claims", "--draws", "8", "--scenarios"])
        .arg(scenarios())
        .arg("--plot")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table still goes to stdout.
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict"));
    let bytes = std::fs::read(&png).unwrap();
    let (w, h) = png_size(&bytes);
    // Two columns of 640 px panels, at least two rows of them under the title.
    assert_eq!(w, 1280, "{w}x{h}");
    assert!((840..2000).contains(&h), "{w}x{h}");
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());
}

#[test]
fn claims_plot_svg_groups_the_claims_by_unit() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("claims.svg");
    let out = exe()
        .args(["claims", "--draws", "8", "--json", "--scenarios"])
        .arg(scenarios())
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With --json, stdout stays one JSON document.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    assert!(text.contains("claims against the model (90 % intervals)"));
    // Every claim the model gives a value for is a row; one panel per unit.
    let claims = doc["claims"].as_array().expect("claims array");
    let mut units = Vec::new();
    for c in claims.iter().filter(|c| !c["predicted"].is_null()) {
        let id = c["id"].as_str().unwrap();
        assert!(text.contains(&format!(">{id}</text>")), "no row for {id}");
        let unit = c["unit"].as_str().unwrap();
        let head = unit.split(" (").next().unwrap().to_string();
        if !units.contains(&head) {
            units.push(head);
        }
    }
    assert!(units.len() >= 2, "{units:?}");
    assert_eq!(text.matches("<g class=\"panel\"").count(), units.len() + 1);
    assert!(text.contains(">claimed</text>"));
}

#[test]
fn claims_plot_needs_a_png_or_svg_name() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("x.txt");
    let out = exe().args(["claims", "--plot"]).arg(&txt).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("x.txt") && err.contains(".png or .svg"),
        "{err}"
    );
    assert!(!txt.exists());
}
